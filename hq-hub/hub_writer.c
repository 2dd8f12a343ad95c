/* hub_writer: the hub's one writer thread.
 *
 * One round: read every item waiting on the store link and on the
 * operators' inproc socket (up to the round's limits), let each kind's
 * handler admit or refuse it, then apply them all in ONE LMDB write
 * transaction (group commit), commit (fsync), and only then let each
 * handler answer. An Ack therefore never runs ahead of the disk: a hub
 * killed at any moment has every record it acknowledged, and an operator
 * told "pushed" has the push on disk. Nothing else in the process writes
 * LMDB, so there are no write locks to take.
 *
 * A commit costs pages no matter how few records it carries (the meta
 * page, the free list, the path from each touched database's root), so a
 * hub that is not busy would commit each record alone: at 1,200 records a
 * second from 10,000 stores, 40 KB of disk writes per record. A round
 * therefore starts at least commit_interval_ms after the previous commit
 * (default 10 ms): what arrives meanwhile shares the next fsync, for 40%
 * fewer bytes there at up to that much more ack latency. A busy hub's
 * rounds take longer than that and never wait. */
#include <stdlib.h>
#include <string.h>

#include "hub_work.h"
#include "hub_auth.h"
#include "hub_query.h"
#include "hub_table.h"
#include "hub_updates.h"
#include "ss_link.h"
#include "ss_time.h"

#define LOG_INTERVAL_MS 10000
#define ROUND_MAX_BYTES (64u << 20)   /* packed bytes of the items of one round */
/* What the items of one round may hold unpacked before reading stops: with
 * the one item read last (at most SS_LINK_UNPACKED_MAX_BYTES) the bound of
 * a round in docs/security.md. */
#define ROUND_MAX_UNPACKED_BYTES ((size_t)256 << 20)
#define SWEEP_EVERY_MS 60000
#define DOWN_TICK_MS 1000

/* ---- the stores a round touches ---- */

/* The slot of store_id in the round's index: its own, or the free one
 * where it goes (FNV-1a, linear probing; the index is never full). */
static uint32_t *store_slot(struct hub_round *r, const char *store_id)
{
	uint32_t hash = 2166136261u, i;

	for (const char *p = store_id; *p; p++)
		hash = (hash ^ (uint8_t)*p) * 16777619u;
	for (i = hash & (HUB_ROUND_STORE_SLOTS - 1); r->store_slot[i];
		i = (i + 1) & (HUB_ROUND_STORE_SLOTS - 1))
		if (strcmp(r->stores[r->store_slot[i] - 1].store_id, store_id) == 0)
			break;
	return &r->store_slot[i];
}

int hub_round_store(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w,
	struct hub_store **out)
{
	uint32_t *slot = store_slot(r, w->store_id);
	int rc;

	if (*slot) {
		*out = &r->stores[*slot - 1];
		return w->epoch ? hub_store_switch_epoch(h, txn, *out, w->epoch) : 0;
	}
	*out = &r->stores[r->n_stores];
	rc = hub_store_load(h, txn, w->store_id, w->epoch, *out);
	*slot = (uint32_t)++r->n_stores;
	if (rc == 0 && w->epoch == 0)
		rc = hub_store_switch_epoch(h, txn, *out, (*out)->state->epoch);
	/* Written anyway: with what heartbeats said since the last write. */
	if (rc == 0)
		hub_live_merge(h, *out);
	return rc;
}

void hub_round_seen(struct hub_store *s, int64_t now_ms)
{
	s->state->last_seen_ms = now_ms;
	s->state->has_last_seen_ms = 1;
	if (!s->state->has_first_seen_ms) {
		s->state->first_seen_ms = now_ms;
		s->state->has_first_seen_ms = 1;
		/* Silence counts from first contact until records arrive. */
		hub_round_progress(s, now_ms);
	}
	s->dirty = 1;
}

void hub_round_progress(struct hub_store *s, int64_t now_ms)
{
	s->state->last_progress_ms = now_ms;
	s->state->has_last_progress_ms = 1;
	s->dirty = 1;
}

static void round_release_stores(struct hub_round *r)
{
	for (size_t i = 0; i < r->n_stores; i++)
		hub_store_release(&r->stores[i]);
	if (r->n_stores)
		memset(r->store_slot, 0, sizeof r->store_slot);
	r->n_stores = 0;
	r->duplicates = r->gaps = 0;
}

/* ---- reading items ---- */

/* The CurveZMQ key the ZAP handler admitted for the connection a message
 * came on (its User-Id, read from a body frame), or "". */
static const char *link_key(zmq_msg_t *body)
{
	const char *key = zmq_msg_gets(body, "User-Id");

	return key ? key : "";
}

/* Takes one link message (n frames as ss_link_recv counts them, the first
 * two in f, closed here) into r; 1 when it joined, 0 when it was refused.
 * What a message costs unpacked counts against the round (ss_proto bounds
 * each one). */
static int take_link(struct hub *h, struct hub_round *r, zmq_msg_t *f, int n)
{
	int kind, admitted;
	struct hub_work *w = &r->items[r->n];
	size_t bytes = n == 2 ? zmq_msg_size(&f[1]) : 0, cost = 0;
	enum ss_proto_verdict v = SS_PROTO_MALFORMED;
	/* A message that does not join the round gives its memory back at
	 * once, so refused or held ones (heartbeats) never pile up in it. */
	struct ss_arena_mark mark = ss_arena_mark(&r->arena);

	memset(w, 0, sizeof *w);
	w->peer = hub_peer_get(h, &f[0]);
	/* Who sent it comes first: a revoked key's message is not even read. */
	if (n == 2 && w->peer && hub_link_authorize(h, w->peer, link_key(&f[1])) != 0) {
		ss_link_close_frames(f, 2);
		return 0;
	}
	if (n == 2)
		v = ss_arena_unpack_limited(&r->arena, &storesync__link_message__descriptor,
			zmq_msg_data(&f[1]), bytes, &ss_limits_link, (ProtobufCMessage **)&w->msg,
			&cost);
	ss_link_close_frames(f, n < 2 ? n : 2);
	if (v != SS_PROTO_OK) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_MALFORMED,
			hub_stats_refused(&h->stats, v),
			n == 2 ? ss_proto_verdict_text(v) : "expected exactly one frame");
		return 0;
	}
	if (!w->peer)
		goto drop;
	if (w->msg->proto_version != SS_PROTO_VERSION) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_VERSION, &h->stats.bad_version,
			"unsupported proto_version (this hub speaks 1)");
		goto drop;
	}
	if ((kind = hub_link_work_kind(w->msg->kind_case)) < 0) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_UNKNOWN_KIND,
			&h->stats.unknown_kind, "unknown or unexpected message kind");
		goto drop;
	}
	w->kind = (enum hub_work_kind)kind;
	/* Heard also when admit answers it at once (a heartbeat held in
	 * memory): an idle store sends little else. */
	if ((admitted = hub_handlers[w->kind]->admit(h, w)) >= 0)
		hub_events_heard(h, w->peer);
	if (admitted != 0)
		goto drop;
	if (w->kind == HUB_WORK_BATCH) {
		r->records += w->msg->batch->n_records;
		ss_histo_observe(&h->stats.batch_records, &ss_histo_size, w->msg->batch->n_records);
	}
	r->bytes += bytes;
	r->unpacked_bytes += cost;
	r->n++;
	return 1;
drop:
	w->msg = NULL;
	ss_arena_rewind(&r->arena, &mark);
	return 0;
}

/* Reads one link message into r: as take_link, or -1 when none is waiting. */
static int read_link(struct hub *h, struct hub_round *r)
{
	zmq_msg_t f[2];
	int n = ss_link_recv(h->router, f, 2, ZMQ_DONTWAIT);

	return n < 0 ? -1 : take_link(h, r, f, n);
}

void hub_op_answer(struct hub *h, struct hub_work *w)
{
	w->answer->reply.service = (char *)SS_SERVICE_HUB;
	/* [worker, "", answer]: the query worker waits on a REQ socket. */
	if (zmq_msg_send(&w->op_route, h->ops, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0
		&& zmq_send(h->ops, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
		table_send(h->ops, w->answer, ZMQ_DONTWAIT);
}

void hub_op_fail(struct hub *h, struct hub_work *w, const char *reason)
{
	table_free(w->answer);
	table_fail(w->answer, reason);
	hub_op_answer(h, w);
}

/* Takes one operator write handed over by a query worker:
 * [worker, "", user, packed QueryRequest]. Same returns as take_link. A
 * write refused as read (bad input) still joins the round, so that its
 * audit entry is written; it is not applied. */
static int take_op(struct hub *h, struct hub_round *r, zmq_msg_t *f, int n)
{
	int kind = -1;
	struct hub_work *w = &r->items[r->n];
	size_t cost = 0;
	char why[256];

	memset(w, 0, sizeof *w);
	zmq_msg_init(&w->op_route);
	zmq_msg_move(&w->op_route, &f[0]);
	w->is_op = 1;
	if (n == 4 && zmq_msg_size(&f[2]) < sizeof w->user) {
		memcpy(w->user, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
		ss_proto_unpack_limited(&storesync__query_request__descriptor, zmq_msg_data(&f[3]),
			zmq_msg_size(&f[3]), &ss_limits_query, (ProtobufCMessage **)&w->req, &cost);
	}
	ss_link_close_frames(f, n < 4 ? n : 4);
	if (!(w->answer = calloc(1, sizeof *w->answer)))
		goto drop;
	table_clear(w->answer);
	if (w->req)
		kind = hub_op_work_kind(w->req->what);
	if (kind < 0) {
		atomic_fetch_add(&h->stats.operator_refused, 1);
		hub_op_fail(h, w, "unknown operator write");
		goto drop;
	}
	w->kind = (enum hub_work_kind)kind;
	if (query_check(w->req, why, sizeof why) != 0) {
		table_fail(w->answer, why);
		w->op_refused = 1;
	} else if (hub_handlers[w->kind]->admit(h, w) != 0) {
		w->op_refused = 1;
	}
	r->unpacked_bytes += cost;
	r->n++;
	return 1;
drop:
	hub_work_release(w);
	return 0;
}

static int read_op(struct hub *h, struct hub_round *r)
{
	zmq_msg_t f[4];
	int n = ss_link_recv(h->ops, f, 4, ZMQ_DONTWAIT);

	return n < 0 ? -1 : take_op(h, r, f, n);
}

void hub_work_release(struct hub_work *w)
{
	/* w->msg is the round's arena's: it goes with the round. */
	if (w->req)
		storesync__query_request__free_unpacked(w->req, NULL);
	if (w->is_op)
		zmq_msg_close(&w->op_route);
	if (w->answer) {
		table_free(w->answer);
		free(w->answer);
	}
	memset(w, 0, sizeof *w);
}

/* ---- the round ---- */

/* The write transaction of one round. Replayable: it starts from the
 * database every time and keeps results in the items. */
static int round_body(MDB_txn *txn, void *arg)
{
	struct hub *h = arg;
	struct hub_round *r = h->round;
	int rc;

	round_release_stores(r);
	/* Targets are cached only within one body: a failed or replayed round
	 * must not leave behind a target of an update that never committed. */
	hub_target_cache_clear(&h->tcache);
	rc = 0;
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		struct hub_work *w = &r->items[i];
		const struct hub_handler *hd = hub_handlers[w->kind];

		w->resend_from = 0;
		if (w->is_op) {
			/* An operator write: its user's role first, the audit entry
			 * after, done or refused, in this same transaction. */
			if (!w->op_refused && hub_auth_check_write(h, txn, w) == 0)
				rc = hd->apply(h, r, txn, w);
			if (rc == 0)
				rc = hub_audit_write(h, r, txn, w);
		} else if (hd->apply) {
			rc = hd->apply(h, r, txn, w);
		}
	}
	for (size_t i = 0; i < r->n_stores && rc == 0; i++)
		if (r->stores[i].dirty)
			rc = hub_store_save(h, txn, &r->stores[i]);
	return rc;
}

static void count_round(struct hub *h, struct hub_round *r, int64_t commit_us)
{
	uint64_t applied = 0;

	atomic_fetch_add(&h->stats.commits, 1);
	atomic_fetch_add(&h->stats.duplicates, r->duplicates);
	atomic_fetch_add(&h->stats.gaps, r->gaps);
	for (size_t i = 0; i < r->n_stores; i++) {
		applied += r->stores[i].applied_now;
		atomic_fetch_add(&h->stats.refused_records, r->stores[i].refused_now);
	}
	atomic_fetch_add(&h->stats.records_applied, applied);
	ss_histo_observe(&h->stats.commit_seconds, &ss_histo_latency, (uint64_t)commit_us);
	if (applied)
		ss_histo_observe(&h->stats.commit_records, &ss_histo_size, applied);
}

/* Nothing of a failed round is committed, so nothing is acked: agents keep
 * their records and send them again; operators are told to retry. */
static void round_failed(struct hub *h, struct hub_round *r, const char *err)
{
	uint64_t held = 0;

	if (ss_lograte_allow(&r->commit_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_error("group commit failed: %s%s", err,
			ss_lograte_note(held));
	for (size_t i = 0; i < r->n; i++) {
		struct hub_work *w = &r->items[i];

		if (w->kind == HUB_WORK_LIVE_FLUSH) {
			hub_live_flush_failed(h);
		} else if (w->is_op) {
			atomic_fetch_add(&h->stats.commit_failures, 1);
			hub_op_fail(h, w, "hub could not commit; retry later");
		} else {
			hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_INTERNAL,
				&h->stats.commit_failures, "hub could not commit; retry later");
		}
	}
}

#define PRUNE_EVERY_MS (3600 * 1000)

static void add_timed(struct hub_round *r, enum hub_work_kind kind)
{
	memset(&r->items[r->n], 0, sizeof r->items[0]);
	r->items[r->n++].kind = kind;
}

/* Work of the writer's own that falls due: the notice scan, log pruning,
 * the flush of what heartbeats said. */
static void round_add_timed(struct hub *h, struct hub_round *r)
{
	int64_t now = ss_mono_ms();

	if (r->n < HUB_ROUND_MAX_ITEMS && (now >= h->next_notice_scan_mono || h->notice_scan_again)) {
		add_timed(r, HUB_WORK_NOTICE_SCAN);
		h->notice_scan_again = 0;
		h->next_notice_scan_mono = now + h->cfg.notice_scan_ms;
	}
	if (r->n < HUB_ROUND_MAX_ITEMS && now >= h->next_prune_mono) {
		add_timed(r, HUB_WORK_LOG_PRUNE);
		h->next_prune_mono = now + PRUNE_EVERY_MS;
	}
	if (r->n < HUB_ROUND_MAX_ITEMS && hub_live_flush_due(h, now))
		add_timed(r, HUB_WORK_LIVE_FLUSH);
}

/* A round that would follow the last commit too closely waits for more.
 * Not after a round whose apply and commit alone took that long (a busy
 * hub): what waits now has gathered since that round stopped reading, as
 * long as the wait is for, and waiting more would only add latency (issue
 * 14: at 12,000 one-record batches a second, 3 % of the writer's time). */
static void pace_round(struct hub *h)
{
	int64_t wait = h->last_commit_mono + h->cfg.commit_interval_ms - ss_mono_ms();

	if (wait > 0 && !h->round->gathered)
		ss_sleep_ms(wait);
}

/* After a committed round with operator writes: links check their key
 * again at their next message, and if keys were retired or stores revoked,
 * every bound link now. */
static void round_keys_changed(struct hub *h, struct hub_round *r)
{
	int ops = 0, cut = 0;

	for (size_t i = 0; i < r->n; i++) {
		enum hub_work_kind k = r->items[i].kind;

		ops |= r->items[i].is_op;
		cut |= k == HUB_WORK_OP_STORE_REKEY || k == HUB_WORK_OP_STORE_RETIRE
			|| k == HUB_WORK_OP_STORE_REVOKE;
	}
	if (ops)
		h->registry_gen++;
	if (cut)
		hub_link_revalidate(h);
}

/* Applies, commits and answers the items read into the round. */
static void round_finish(struct hub *h, struct hub_round *r)
{
	char err[256];
	int64_t start_us;
	int rc;

	round_add_timed(h, r);
	if (r->n == 0) {
		ss_arena_rewind(&r->arena, &(struct ss_arena_mark){ 0 });
		return;
	}
	r->now_ms = ss_now_ms();
	start_us = ss_mono_us();
	rc = ss_lmdb_write(&h->db, round_body, h, err, sizeof err);
	h->last_commit_mono = ss_mono_ms();
	r->gathered = h->last_commit_mono - r->read_end_mono >= h->cfg.commit_interval_ms;
	if (rc == 0) {
		count_round(h, r, ss_mono_us() - start_us);
		for (size_t i = 0; i < r->n_stores; i++)
			hub_live_written(h, &r->stores[i]);
		for (size_t i = 0; i < r->n; i++)
			hub_handlers[r->items[i].kind]->reply(h, &r->items[i]);
		round_keys_changed(h, r);
	} else {
		round_failed(h, r, err);
	}
	round_release_stores(r);
	for (size_t i = 0; i < r->n; i++)
		hub_work_release(&r->items[i]);
	r->n = 0;
	ss_arena_rewind(&r->arena, &(struct ss_arena_mark){ 0 });
}

static void round_run(struct hub *h)
{
	struct hub_round *r = h->round;
	int link_open = 1, ops_open = 1;

	r->n = r->records = r->bytes = r->unpacked_bytes = 0;
	/* Alternate the two sources so operators are not starved by a busy
	 * link, and stop at the round's limits. */
	while ((link_open || ops_open) && r->n < HUB_ROUND_MAX_ITEMS
		&& r->records < (size_t)h->cfg.group_records && r->bytes < ROUND_MAX_BYTES
		&& r->unpacked_bytes < ROUND_MAX_UNPACKED_BYTES) {
		if (link_open && read_link(h, r) < 0)
			link_open = 0;
		if (ops_open && r->n < HUB_ROUND_MAX_ITEMS && read_op(h, r) < 0)
			ops_open = 0;
	}
	r->read_end_mono = ss_mono_ms();
	round_finish(h, r);
}

void hub_writer_handle_frames(struct hub *h, int from_ops, zmq_msg_t *frames, int n)
{
	struct hub_round *r = h->round;

	r->n = r->records = r->bytes = r->unpacked_bytes = 0;
	if (from_ops)
		take_op(h, r, frames, n);
	else
		take_link(h, r, frames, n);
	round_finish(h, r);
}

int hub_writer_open(struct hub *h, char *err, size_t errlen)
{
	h->ops = ss_link_socket(h->zctx, ZMQ_ROUTER, err, errlen);
	if (!h->ops || zmq_bind(h->ops, HUB_OPS_ENDPOINT) != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", HUB_OPS_ENDPOINT, zmq_strerror(errno));
		return -1;
	}
	h->round = calloc(1, sizeof *h->round);
	if (!h->round) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ss_arena_init(&h->round->arena, 0);
	return 0;
}

void hub_writer_close(struct hub *h)
{
	if (h->ops)
		zmq_close(h->ops);
	h->ops = NULL;
	if (h->round)
		ss_arena_release(&h->round->arena);
	free(h->round);
	h->round = NULL;
	hub_peers_free(h);
	hub_down_free(h);
	hub_live_free(h);
	hub_events_free(h);
	hub_target_cache_clear(&h->tcache);
}

int hub_writer_run(struct hub *h, char *err, size_t errlen)
{
	int64_t next_sweep = ss_mono_ms() + SWEEP_EVERY_MS;

	int64_t next_tick = ss_mono_ms() + DOWN_TICK_MS;

	while (!atomic_load(&h->stopping)) {
		zmq_pollitem_t items[] = { { h->router, 0, ZMQ_POLLIN, 0 },
			{ h->ops, 0, ZMQ_POLLIN, 0 } };

		/* Updates waiting for room (window, memory bound) are retried soon. */
		int ready = zmq_poll(items, 2, hub_down_busy(h) ? 5 : 200);

		if (ready < 0 && zmq_errno() != EINTR) {
			snprintf(err, errlen, "zmq_poll: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (ready > 0)
			pace_round(h);
		round_run(h);
		/* After the commit and the answers: what flows down. */
		hub_down_pump(h);
		if (ss_mono_ms() >= next_tick) {
			hub_down_tick(h);
			hub_events_tick(h);
			next_tick = ss_mono_ms() + DOWN_TICK_MS;
		}
		/* Between rounds no transaction of the writer is open: the one
		 * moment the map may grow without waiting (ss_lmdb). */
		hub_writer_maybe_grow(h);
		if (h->between_rounds)
			h->between_rounds(h);
		if (ss_mono_ms() >= next_sweep) {
			hub_peers_sweep(h);
			next_sweep = ss_mono_ms() + SWEEP_EVERY_MS;
		}
	}
	return 0;
}

void hub_writer_maybe_grow(struct hub *h)
{
	int rc = ss_lmdb_pregrow(&h->db);

	if (rc < 0)
		atomic_fetch_add(&h->stats.map_grows_deferred, 1);
	atomic_store(&h->stats.map_grows, h->db.grows);
	atomic_store(&h->stats.map_grows_when_full, h->db.grows_full);
	atomic_store(&h->stats.map_bytes, h->db.map_bytes);
	atomic_store(&h->stats.map_used_bytes, ss_lmdb_used_bytes(&h->db));
}
