/* agent_sender: ships the outbox to the hub and learns what the hub holds.
 * It also hands the hub's Updates to agent_apply and tells the hub, in Hello
 * and Heartbeat, which updates are applied here.
 *
 * Invariants:
 *  - Records leave in seq order, in batches of consecutive seqs; at most
 *    window_batches batches are unacknowledged at a time.
 *  - acked_seq moves only on the hub's word: a cumulative Ack, or a Welcome
 *    (which may move it back when the hub was restored from a backup; the
 *    records are still in the outbox, so they are simply sent again).
 *  - Anything that casts doubt on what is in flight (timeout without ack
 *    progress, Resend, an Error from the hub, a Welcome) rewinds sent_seq to
 *    what the hub holds; duplicates that causes are the hub's to ignore.
 * Liveness: the hub says something at least every second heartbeat
 * interval (an Ack, an Update, or its own Heartbeat in answer to ours), so
 * a link that carries no word from the hub for hub_timeout_ms is dead even when TCP
 * says otherwise (a hub that hangs, a path that drops without a reset):
 * the agent drops it and connects again after a delay with full jitter,
 * doubling per drop, so a fleet that loses a hub at once does not come
 * back at once; a refused handshake takes the same way back (link_drop).
 * A link the kernel or the hub closes is reconnected by
 * libzmq, with the jittered backoff ss_link sets. ZMTP heartbeats stay off
 * (ss_link.h says why). ZMQ_IMMEDIATE keeps batches from queueing on a link
 * that is not up. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_arena.h"
#include "ss_link.h"
#include "ss_log.h"
#include "ss_time.h"

#define HELLO_RETRY_MS 1000
#define MAX_BATCH_BYTES (4u << 20)

int sender_send(struct agent *a, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	return ss_proto_send(a->sender.sock, &m->base, ZMQ_DONTWAIT);
}

static void send_hello(struct agent *a)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;

	h.store_id = a->outbox.store_id;
	h.epoch = a->outbox.epoch;
	h.has_epoch = 1;
	h.agent_version = SS_VERSION;
	h.proto_version = SS_PROTO_VERSION;
	h.has_proto_version = 1;
	h.last_seq = a->outbox.last_seq;
	h.has_last_seq = 1;
	h.applied_update_id = a->apply.ids.applied;
	h.has_applied_update_id = 1;
	h.heartbeat_ms = (uint32_t)a->cfg.heartbeat_ms;
	h.has_heartbeat_ms = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	a->sender.welcomed = 0;
	a->sender.hello_mono = ss_mono_ms();
	sender_send(a, &m);
}

static void send_heartbeat(struct agent *a)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	Storesync__StatusReply st = STORESYNC__STATUS_REPLY__INIT;

	status_fill(a, &st);
	hb.sent_ms = ss_now_ms();
	hb.has_sent_ms = 1;
	hb.backlog = st.backlog;
	hb.has_backlog = 1;
	hb.oldest_unsent_age_ms = st.oldest_unsent_age_ms;
	hb.has_oldest_unsent_age_ms = 1;
	hb.budget_left_bytes = st.budget_bytes > st.used_bytes ? st.budget_bytes - st.used_bytes : 0;
	hb.has_budget_left_bytes = 1;
	hb.disk_free_bytes = st.disk_free_bytes;
	hb.has_disk_free_bytes = st.has_disk_free_bytes;
	hb.agent_version = SS_VERSION;
	hb.last_seq = a->outbox.last_seq;
	hb.has_last_seq = 1;
	hb.applied_update_id = st.applied_update_id;
	hb.has_applied_update_id = 1;
	hb.price_update_id = st.price_update_id;
	hb.has_price_update_id = 1;
	hb.policy_update_id = st.policy_update_id;
	hb.has_policy_update_id = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	a->sender.heartbeat_mono = ss_mono_ms();
	sender_send(a, &m);
}

int sender_start(struct agent *a, char *err, size_t errlen)
{
	int on = 1;

	struct ss_link_store_opts lo = { .reconnect_ms = (int)a->cfg.reconnect_ms,
		.reconnect_max_ms = (int)a->cfg.reconnect_max_ms };

	memset(&a->sender, 0, sizeof a->sender);
	a->sender.sock = ss_link_store_socket(a->zctx, ZMQ_DEALER, &lo, err, errlen);
	if (!a->sender.sock)
		return -1;
	zmq_setsockopt(a->sender.sock, ZMQ_IMMEDIATE, &on, sizeof on);
	if (!a->cfg.insecure
		&& ss_curve_client(a->sender.sock, &a->cfg.curve, a->cfg.hub_public) != 0) {
		snprintf(err, errlen, "cannot set CurveZMQ on the hub link: %s", zmq_strerror(errno));
		zmq_close(a->sender.sock);
		return -1;
	}
	if (!(a->sender.monitor = ss_link_monitor(a->zctx, a->sender.sock,
		"inproc://agent-link-monitor", AGENT_LINK_EVENTS))) {
		snprintf(err, errlen, "cannot monitor the hub link: %s", zmq_strerror(errno));
		return -1;
	}
	if (zmq_connect(a->sender.sock, a->cfg.hub) != 0) {
		snprintf(err, errlen, "cannot connect to hub %s: %s", a->cfg.hub, zmq_strerror(errno));
		zmq_close(a->sender.sock);
		return -1;
	}
	a->sender.sent_seq = a->outbox.acked_seq;
	send_hello(a);
	return 0;
}

void sender_stop(struct agent *a)
{
	ss_link_close_watched(a->sender.sock, a->sender.monitor);
	a->sender.sock = a->sender.monitor = NULL;
}

void sender_restart(struct agent *a)
{
	a->sender.conflict = 0;
	a->sender.hub_seq = 0;
	a->sender.sent_seq = a->outbox.acked_seq;
	a->sender.progress_mono = ss_mono_ms();
	send_hello(a);
}

/* Drops the link and connects again after a delay with full jitter,
 * doubling per drop since the last Welcome (ss_link_backoff_ms, from
 * reconnect_ms up to reconnect_max_ms), so a fleet dropped at once does
 * not come back at once. The one way back for both reasons the agent
 * drops a link itself: the hub refused the handshake (libzmq 4.3 gives
 * such an endpoint up for good), or it has said nothing on an open link
 * for hub_timeout_ms. Returns the delay. */
static int64_t link_drop(struct agent *a, int64_t now)
{
	struct agent_sender *s = &a->sender;
	int64_t delay = ss_link_backoff_ms(a->cfg.reconnect_ms, a->cfg.reconnect_max_ms,
		s->drops++);

	zmq_disconnect(s->sock, a->cfg.hub);
	s->linked = 0;
	s->welcomed = 0;
	s->reconnect_mono = now + delay + 1;
	return delay;
}

void sender_on_monitor(struct agent *a)
{
	uint16_t event;
	int32_t value;

	while (ss_link_monitor_event(a->sender.monitor, &event, &value)) {
		events_link(a, event, value);   /* the log: outages and their reasons */
		/* Not ZMQ_EVENT_CONNECTED: with ZMQ_IMMEDIATE a message sent
		 * before the handshake completes has no pipe to go to. */
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			a->sender.linked = 1;
			a->sender.linked_mono = ss_mono_ms();
			send_hello(a);
		} else if (event == ZMQ_EVENT_DISCONNECTED) {
			a->sender.linked = 0;
			a->sender.welcomed = 0;
		} else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
			| ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
			/* The hub would not have us: our key is not registered (or
			 * revoked), or we speak Curve to a plaintext hub or the other
			 * way round. Records stay in the outbox and we keep trying, so
			 * a store registered (or re-keyed) a moment later comes in
			 * without a restart; agent_events logs it, with the reason and
			 * what to check, as the outage it is. */
			link_drop(a, ss_mono_ms());
		}
	}
}

static void free_batch_buf(void *data, void *hint)
{
	(void)data;
	free(hint);
}

/* Sends b's frame; zmq owns its buffer from here (on success). */
static int send_frame(struct agent *a, struct agent_batch *b)
{
	zmq_msg_t zm;

	zmq_msg_init_data(&zm, b->buf + b->start, b->len, free_batch_buf, b->buf);
	if (zmq_msg_send(&zm, a->sender.sock, ZMQ_DONTWAIT) < 0) {
		/* Not sent: closing the message frees the buffer. */
		zmq_msg_close(&zm);
		return -1;
	}
	return 0;
}

/* Sends one batch from sent_seq + 1; returns records sent (0: none or busy). */
static size_t send_batch(struct agent *a)
{
	struct agent_batch b;
	size_t n;

	/* Records are at most SS_MAX_RECORD_BYTES, so a batch stays well below
	 * the link's message limit: it stops before the one that would pass
	 * 4 MiB. */
	if (batch_build(&a->outbox, a->sender.sent_seq + 1, (size_t)a->cfg.batch_records,
		MAX_BATCH_BYTES, &b) != SS_OK || b.n_records == 0) {
		uint64_t held;

		if (b.n_records == 0 && a->sender.sent_seq + 1 < a->outbox.first_seq
			&& ss_lograte_allow(&a->sender.pruned_log, ss_mono_ms(), 60000, &held))
			ss_error("hub wants seq %llu but records before %llu were pruned (retention "
				"or disk budget): this store's stream is stalled until an operator acts",
				(unsigned long long)a->sender.sent_seq + 1,
				(unsigned long long)a->outbox.first_seq);
		batch_free(&b);
		return 0;
	}
	n = b.n_records;
	if (send_frame(a, &b) != 0)
		return 0;
	a->sender.sent_seq += n;
	a->sender.batches_sent++;
	return n;
}

/* Sent only after the update's commit (agent_apply): an UpdateAck never
 * runs ahead of the disk. */
static void send_update_ack(struct agent *a)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__UpdateAck ack = STORESYNC__UPDATE_ACK__INIT;

	apply_ack_fill(&a->apply, &ack);
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK;
	m.update_ack = &ack;
	sender_send(a, &m);
}

void sender_on_update(struct agent *a, const Storesync__Update *u)
{
	if (apply_update(&a->apply, u, a->outbox.used_bytes))
		send_update_ack(a);
}

/* A price list read in place (agent_price_wire.c), answered the same way. */
static void on_price_wire(struct agent *a, const struct price_wire *w)
{
	if (apply_price_wire(&a->apply, w, a->outbox.used_bytes))
		send_update_ack(a);
}

static void rewind_to(struct agent *a, uint64_t hub_has)
{
	outbox_set_acked(&a->outbox, hub_has);
	a->sender.sent_seq = a->outbox.acked_seq;
	a->sender.progress_mono = ss_mono_ms();
}

static void on_ack(struct agent *a, const Storesync__Ack *ack)
{
	if (ack->epoch != a->outbox.epoch || ack->through_seq <= a->outbox.acked_seq)
		return;
	outbox_set_acked(&a->outbox, ack->through_seq);
	if (a->sender.sent_seq < a->outbox.acked_seq)
		a->sender.sent_seq = a->outbox.acked_seq;
	a->sender.progress_mono = ss_mono_ms();
	a->sender.last_ack_ms = ss_now_ms();
	ss_debug("hub acked through seq %llu of epoch %llu; %llu in flight",
		(unsigned long long)ack->through_seq, (unsigned long long)ack->epoch,
		(unsigned long long)(a->sender.sent_seq - a->outbox.acked_seq));
}

static void on_message(struct agent *a, const Storesync__LinkMessage *m)
{
	switch (m->kind_case) {
	case STORESYNC__LINK_MESSAGE__KIND_WELCOME:
		if (m->welcome->high_water_seq > a->outbox.last_seq) {
			/* The hub holds seqs of this epoch we never wrote: this data
			 * directory was rolled back. Sending would reuse those seqs for
			 * other records, which the hub would drop as duplicates.
			 * Heartbeats go on, so the hub sees a live store in conflict;
			 * agent_reepoch.c is the way out. */
			events_conflict(a, m->welcome->high_water_seq);
			a->sender.conflict = 1;
			a->sender.hub_seq = m->welcome->high_water_seq;
			break;
		}
		if (m->welcome->high_water_seq < a->outbox.acked_seq)
			ss_warn("hub holds only through seq %llu (we had ack for %llu): resending",
				(unsigned long long)m->welcome->high_water_seq,
				(unsigned long long)a->outbox.acked_seq);
		rewind_to(a, m->welcome->high_water_seq);
		a->sender.welcomed = 1;
		a->sender.drops = 0;
		a->sender.last_ack_ms = ss_now_ms();
		break;
	case STORESYNC__LINK_MESSAGE__KIND_ACK:
		on_ack(a, m->ack);
		break;
	case STORESYNC__LINK_MESSAGE__KIND_RESEND:
		if (m->resend->epoch == a->outbox.epoch && m->resend->from_seq > 0) {
			a->sender.resends++;
			rewind_to(a, m->resend->from_seq - 1);
		}
		break;
	case STORESYNC__LINK_MESSAGE__KIND_ERROR:
		a->sender.hub_errors++;
		ss_warn("hub refused: %s", m->error->reason ? m->error->reason : "(no reason)");
		/* Start over with a Hello, after the retry interval: a hub that
		 * cannot commit is not hammered. */
		a->sender.welcomed = 0;
		a->sender.hello_mono = ss_mono_ms();
		break;
	case STORESYNC__LINK_MESSAGE__KIND_UPDATE:
		sender_on_update(a, m->update);
		break;
	case STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT:
		break;
	default:
		ss_warn("hub sent an unknown message kind %d", (int)m->kind_case);
		break;
	}
}

void sender_on_readable(struct agent *a)
{
	zmq_msg_t f[1];
	int n;

	while ((n = ss_link_recv(a->sender.sock, f, 1, ZMQ_DONTWAIT)) > 0) {
		Storesync__LinkMessage *m = NULL;
		struct ss_arena arena;
		struct price_wire w;

		/* A price list is read where it lies, not unpacked. */
		if (n == 1 && price_wire_read(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &w)) {
			a->sender.heard_mono = ss_mono_ms();
			on_price_wire(a, &w);
			ss_link_close_frames(f, 1);
			continue;
		}

		/* A price list unpacks into tens of thousands of fields: from an
		 * arena, in a few allocations, released at once. */
		ss_arena_init(&arena, 0);
		if (n == 1)
			m = (Storesync__LinkMessage *)ss_arena_unpack(&arena,
				&storesync__link_message__descriptor, zmq_msg_data(&f[0]),
				zmq_msg_size(&f[0]), SS_MAX_MSG_BYTES);
		ss_link_close_frames(f, 1);
		a->sender.heard_mono = ss_mono_ms();
		if (!m)
			ss_warn("hub sent a malformed message");
		else
			on_message(a, m);
		ss_arena_release(&arena);
	}
}

/* The last word from the hub on this link (coming up counts as one). */
static int64_t last_word_mono(const struct agent_sender *s)
{
	return s->heard_mono > s->linked_mono ? s->heard_mono : s->linked_mono;
}

/* Returns 1 while the link is being re-established by us (nothing to
 * send): the delay after a drop runs, or the hub has just been found
 * silent for hub_timeout_ms on an open link and is dropped now. */
static int check_link(struct agent *a, int64_t now)
{
	struct agent_sender *s = &a->sender;
	int64_t last = last_word_mono(s);

	if (s->reconnect_mono) {
		if (now < s->reconnect_mono)
			return 1;
		s->reconnect_mono = 0;
		if (zmq_connect(s->sock, a->cfg.hub) != 0) {
			ss_error("cannot connect to hub %s: %s", a->cfg.hub, zmq_strerror(errno));
			s->reconnect_mono = now + a->cfg.reconnect_max_ms;
		}
		return 1;
	}
	if (s->linked && now - last >= a->cfg.hub_timeout_ms) {
		ss_warn("no word from hub %s for %lld ms: reconnecting in %lld ms", a->cfg.hub,
			(long long)(now - last), (long long)link_drop(a, now));
		return 1;
	}
	return 0;
}

void sender_tick(struct agent *a)
{
	struct agent_sender *s = &a->sender;
	int64_t now = ss_mono_ms();
	uint64_t window = (uint64_t)(a->cfg.batch_records * a->cfg.window_batches);

	if (check_link(a, now))
		return;
	if (s->conflict) {
		if (now - s->heartbeat_mono >= a->cfg.heartbeat_ms)
			send_heartbeat(a);
		return;
	}
	if (!s->welcomed) {
		if (now - s->hello_mono >= HELLO_RETRY_MS)
			send_hello(a);
		return;
	}
	if (s->sent_seq > a->outbox.acked_seq && now - s->progress_mono >= a->cfg.ack_timeout_ms) {
		/* No ack for too long: the link or the hub lost our batches. Ask
		 * again where the hub stands; the Welcome rewinds sent_seq. */
		s->resends++;
		send_hello(a);
		return;
	}
	if (s->sent_seq == a->outbox.acked_seq)
		s->progress_mono = now;
	while (s->sent_seq < a->outbox.last_seq && s->sent_seq - a->outbox.acked_seq < window)
		if (send_batch(a) == 0)
			break;
	if (now - s->heartbeat_mono >= a->cfg.heartbeat_ms)
		send_heartbeat(a);
}

/* When sender_tick has something to do next. Only the deadline of what the
 * link's state does: a heartbeat is due only once welcomed (or in
 * conflict), a Hello retry only before. Counting the heartbeat while not
 * welcomed made the loop spin at full speed for as long as the hub was
 * away, an offline store burning a core. */
int64_t sender_next_timeout_ms(const struct agent *a)
{
	const struct agent_sender *s = &a->sender;
	int64_t now = ss_mono_ms(), due;

	if (s->reconnect_mono)
		due = s->reconnect_mono;
	else if (!s->conflict && !s->welcomed)
		due = s->hello_mono + HELLO_RETRY_MS;
	else
		due = s->heartbeat_mono + a->cfg.heartbeat_ms;
	if (!s->conflict && s->welcomed && s->sent_seq > a->outbox.acked_seq
		&& s->progress_mono + a->cfg.ack_timeout_ms < due)
		due = s->progress_mono + a->cfg.ack_timeout_ms;
	if (!s->reconnect_mono && s->linked && last_word_mono(s) + a->cfg.hub_timeout_ms < due)
		due = last_word_mono(s) + a->cfg.hub_timeout_ms;
	return due > now ? due - now : 0;
}

const char *sender_link_state(const struct agent *a)
{
	if (a->sender.conflict)
		return "conflict";
	if (a->sender.heard_mono == 0)
		return "connecting";
	/* An idle link hears from the hub every second interval: down after
	 * two of those missed. */
	if (ss_mono_ms() - a->sender.heard_mono > 4 * a->cfg.heartbeat_ms)
		return "down";
	return a->sender.welcomed ? "up" : "connecting";
}
