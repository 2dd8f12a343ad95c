/* fleet_store: one simulated store's link to the hub, doing what
 * agent_sender.c does, message for message and timer for timer: Hello on
 * every connection (and every second until welcomed), batches of
 * consecutive records from sent_seq + 1 within the window, cumulative
 * acks, a rewind to what the hub holds on a Welcome, a Resend, an Error or
 * an ack timeout, a Heartbeat every heartbeat_ms once welcomed, and (unless
 * legacy) a silent hub dropped after hub_timeout_ms, or a refused
 * handshake, dialled again after a fully jittered, doubling delay
 * (ss_link_backoff_ms), as agent_sender's link_drop does. Updates are
 * applied by the agent's apply_update into the store's own LMDB and
 * answered with the agent's UpdateAck.
 *
 * Where it differs from the agent, on purpose: records live in memory,
 * created on a Poisson clock at the driver's rate (a till's submits), and
 * the time from a record's creation to the ack that covers it is what the
 * histogram holds. The store's LMDB is opened with the store, before any
 * measurement, from a copy of an empty one (fleet_ctx.db_seed), and commits
 * without fsync unless sync_apply: here thousands of stores share one disk
 * with the hub being measured, where in a chain each has its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "ss_fs.h"
#include "ss_link.h"
#include "ss_time.h"

#define HELLO_RETRY_MS 1000           /* agent_sender.c */
#define MAX_BATCH_BYTES (4u << 20)    /* agent_sender.c */
#define RING_INITIAL 64
#define APPLY_BUDGET_BYTES (16 << 20)
#define DISK_FREE_BYTES (1ull << 30)
#define NEVER INT64_MAX

static uint64_t next_random(struct fleet_store *s)
{
	/* xorshift64*: stores differ, runs repeat. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The agent's DEALER, as ss_link makes it, or as it was before issue 14. */
static void *link_socket(struct fleet_ctx *x, char *err, size_t errlen)
{
	struct ss_link_store_opts lo = { .reconnect_ms = x->o->reconnect_ms,
		.reconnect_max_ms = x->o->reconnect_max_ms };
	int hb = x->o->heartbeat_ms, dead = 3 * x->o->heartbeat_ms;
	void *s;

	if (!x->o->legacy)
		return ss_link_store_socket(x->zctx, ZMQ_DEALER, &lo, err, errlen);
	/* Then: ZMTP heartbeats, the link dead after three, libzmq's default
	 * reconnect (ss_link_socket's 100 ms doubling to 5 s). */
	if (!(s = ss_link_socket(x->zctx, ZMQ_DEALER, err, errlen)))
		return NULL;
	zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb);
	zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &dead, sizeof dead);
	zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &dead, sizeof dead);
	return s;
}

/* The hub's endpoint as this store dials it: a tcp hub on the loopback
 * from the store's own address, 127.1.(index / 250).(index % 250 + 1), so
 * the hub's door keeper sees one address per store, as in a chain (its
 * limits per address would otherwise see the whole fleet as one flood). */
static void store_endpoint(const struct fleet_opts *o, int index, char *out, size_t len)
{
	if (strncmp(o->hub, "tcp://127.", 10) == 0 && index < 250 * 256)
		snprintf(out, len, "tcp://127.1.%d.%d:0;%s", index / 250, index % 250 + 1,
			o->hub + 6);
	else
		snprintf(out, len, "%s", o->hub);
}

/* The store's data.mdb starts as a copy of the seed, with every database
 * made: opening it then writes nothing. */
static int seed_db(struct fleet_ctx *x, const char *dir, char *err, size_t errlen)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (ss_fs_mkdirs(dir, 0750) != 0 || !(f = fopen(path, "wb"))) {
		snprintf(err, errlen, "cannot create %s", path);
		return -1;
	}
	if (fwrite(x->db_seed, 1, x->db_seed_len, f) != x->db_seed_len) {
		fclose(f);
		snprintf(err, errlen, "cannot write %s", path);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static struct agent_db *open_db(struct fleet_ctx *x, struct fleet_store *s, char *err,
	size_t errlen)
{
	char dir[640];
	struct agent_db *db = calloc(1, sizeof *db);

	snprintf(dir, sizeof dir, "%s/stores/%s", x->o->dir, s->id);
	if (!db || (x->db_seed && seed_db(x, dir, err, errlen) != 0)
		|| agent_db_open(db, dir, APPLY_BUDGET_BYTES, err, errlen) != 0) {
		free(db);
		return NULL;
	}
	if (apply_open(&s->apply, db, err, errlen) != 0) {
		agent_db_close(db);
		free(db);
		return NULL;
	}
	if (!x->o->sync_apply)
		mdb_env_set_flags(db->lmdb.env, MDB_NOSYNC, 1);
	return db;
}

void fleet_store_name(int index, char *out, size_t len)
{
	snprintf(out, len, "F%05d", index);
}

int fleet_store_open(struct fleet_ctx *x, struct fleet_store *s, int index, char *err,
	size_t errlen)
{
	char mon[64];
	int on = 1;

	memset(s, 0, sizeof *s);
	fleet_store_name(index, s->id, sizeof s->id);
	s->rng = x->o->run_id * 0x9E3779B97F4A7C15ull + (uint64_t)index * 0xBF58476D1CE4E5B9ull + 1;
	s->epoch = next_random(s) | 1;
	s->ring_cap = RING_INITIAL;
	s->created_us = calloc(s->ring_cap, sizeof *s->created_us);
	s->time_ms = calloc(s->ring_cap, sizeof *s->time_ms);
	snprintf(mon, sizeof mon, "inproc://fleet-monitor-%d", index);
	store_endpoint(x->o, index, s->endpoint, sizeof s->endpoint);
	if (!s->created_us || !s->time_ms || !(s->sock = link_socket(x, err, errlen)))
		return -1;
	if (!x->o->insecure && ss_curve_client(s->sock, &x->o->keys[index], x->o->hub_key) != 0) {
		snprintf(err, errlen, "store %s: CurveZMQ: %s", s->id, zmq_strerror(errno));
		return -1;
	}
	if (!(s->db = open_db(x, s, err, errlen)))
		return -1;
	zmq_setsockopt(s->sock, ZMQ_IMMEDIATE, &on, sizeof on);
	if (zmq_socket_monitor(s->sock, mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED
		| ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
		| ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 || !(s->monitor = zmq_socket(x->zctx, ZMQ_PAIR))
		|| zmq_connect(s->monitor, mon) != 0) {
		snprintf(err, errlen, "store %s: monitor: %s", s->id, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

void fleet_store_close(struct fleet_store *s)
{
	if (s->sock) {
		zmq_socket_monitor(s->sock, NULL, 0);
		zmq_close(s->sock);
	}
	if (s->monitor)
		zmq_close(s->monitor);
	if (s->db) {
		agent_db_close(s->db);
		free(s->db);
	}
	free(s->created_us);
	free(s->time_ms);
	memset(s, 0, sizeof *s);
}

static int send_msg(struct fleet_store *s, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	s->sent = 1;
	return ss_proto_send(s->sock, &m->base, ZMQ_DONTWAIT);
}

static void send_hello(struct fleet_ctx *x, struct fleet_store *s)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;

	h.store_id = s->id;
	h.epoch = s->epoch;
	h.has_epoch = 1;
	h.agent_version = SS_VERSION;
	h.proto_version = SS_PROTO_VERSION;
	h.has_proto_version = 1;
	h.last_seq = s->last_seq;
	h.has_last_seq = 1;
	h.applied_update_id = s->apply.ids.applied;
	h.has_applied_update_id = 1;
	h.heartbeat_ms = (uint32_t)x->o->heartbeat_ms;
	h.has_heartbeat_ms = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	s->welcomed = 0;
	s->hello_mono = ss_mono_ms();
	x->c->hellos++;
	send_msg(s, &m);
}

static void send_heartbeat(struct fleet_ctx *x, struct fleet_store *s, int64_t now)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	uint64_t backlog = s->last_seq - s->acked_seq;

	hb.sent_ms = ss_now_ms();
	hb.has_sent_ms = 1;
	hb.backlog = backlog;
	hb.has_backlog = 1;
	hb.oldest_unsent_age_ms = backlog ? hb.sent_ms - s->time_ms[(s->acked_seq + 1)
		% s->ring_cap] : 0;
	hb.has_oldest_unsent_age_ms = 1;
	hb.disk_free_bytes = DISK_FREE_BYTES;
	hb.has_disk_free_bytes = 1;
	hb.agent_version = SS_VERSION;
	hb.last_seq = s->last_seq;
	hb.has_last_seq = 1;
	hb.applied_update_id = s->apply.ids.applied;
	hb.has_applied_update_id = 1;
	hb.price_update_id = s->apply.ids.price;
	hb.has_price_update_id = 1;
	hb.policy_update_id = s->apply.ids.policy;
	hb.has_policy_update_id = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	s->heartbeat_mono = now;
	x->c->heartbeats++;
	send_msg(s, &m);
}

int fleet_store_connect(struct fleet_ctx *x, struct fleet_store *s)
{
	if (zmq_connect(s->sock, s->endpoint) != 0)
		return -1;
	send_hello(x, s);
	return 0;
}

/* ---- records ---- */

/* Room in the ring for every unacknowledged record and one more. */
static int ring_fit(struct fleet_store *s)
{
	size_t cap = s->ring_cap * 2;
	int64_t *c, *t;

	if (s->last_seq + 1 - s->acked_seq < s->ring_cap)
		return 0;
	if (!(c = calloc(cap, sizeof *c)) || !(t = calloc(cap, sizeof *t))) {
		free(c);
		return -1;
	}
	for (uint64_t q = s->acked_seq + 1; q <= s->last_seq; q++) {
		c[q % cap] = s->created_us[q % s->ring_cap];
		t[q % cap] = s->time_ms[q % s->ring_cap];
	}
	free(s->created_us);
	free(s->time_ms);
	s->created_us = c;
	s->time_ms = t;
	s->ring_cap = cap;
	return 0;
}

static void create_record(struct fleet_ctx *x, struct fleet_store *s)
{
	if (ring_fit(s) != 0)
		return;
	s->last_seq++;
	s->created_us[s->last_seq % s->ring_cap] = now_us();
	s->time_ms[s->last_seq % s->ring_cap] = ss_now_ms();
	x->c->created++;
}

/* Poisson arrivals: exponential gaps at the store's rate. */
static int64_t next_arrival(struct fleet_ctx *x, struct fleet_store *s, int64_t from)
{
	double u = ((double)(next_random(s) >> 11) + 0.5) / 9007199254740992.0;

	if (x->rate_per_store <= 0)
		return 0;
	return from + 1 + (int64_t)(-log(u) / x->rate_per_store * 1000.0);
}

void fleet_store_rate(struct fleet_ctx *x, struct fleet_store *s, int64_t now)
{
	s->next_record_mono = next_arrival(x, s, now);
}

/* A one-line sale, as a till would submit it, with what the agent adds
 * (seq, recorded_ms, utc_offset_min). Strings point into bufs. */
struct sale_bufs {
	Storesync__Record r;
	Storesync__Sale sale;
	Storesync__SaleLine line;
	Storesync__SaleLine *lines[1];
	char receipt[40];
};

static void make_sale(const struct fleet_store *s, uint64_t seq, struct sale_bufs *b)
{
	storesync__record__init(&b->r);
	storesync__sale__init(&b->sale);
	storesync__sale_line__init(&b->line);
	snprintf(b->receipt, sizeof b->receipt, "%s-%llu", s->id, (unsigned long long)seq);
	b->line.sku = "SKU-0001";
	b->line.quantity = 1;
	b->line.has_quantity = 1;
	b->line.unit_price_fen = 1250;
	b->line.has_unit_price_fen = 1;
	b->lines[0] = &b->line;
	b->sale.receipt_no = b->receipt;
	b->sale.lines = b->lines;
	b->sale.n_lines = 1;
	b->sale.total_fen = 1250;
	b->sale.has_total_fen = 1;
	b->sale.payment_method = STORESYNC__PAYMENT_METHOD__PAY_CARD;
	b->sale.has_payment_method = 1;
	b->sale.cashier = "C01";
	b->r.time_ms = s->time_ms[seq % s->ring_cap];
	b->r.has_time_ms = 1;
	b->r.recorded_ms = b->r.time_ms;
	b->r.has_recorded_ms = 1;
	b->r.utc_offset_min = 0;
	b->r.has_utc_offset_min = 1;
	b->r.seq = seq;
	b->r.has_seq = 1;
	b->r.body_case = STORESYNC__RECORD__BODY_SALE;
	b->r.sale = &b->sale;
}

/* Sends one batch from sent_seq + 1; returns the records sent. */
static size_t send_batch(struct fleet_ctx *x, struct fleet_store *s, size_t max)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	size_t n = s->last_seq - s->sent_seq < max ? s->last_seq - s->sent_seq : max;
	struct sale_bufs *bufs = calloc(n, sizeof *bufs);
	Storesync__Record **recs = calloc(n, sizeof *recs);
	size_t bytes = 0;

	if (!bufs || !recs)
		n = 0;
	for (size_t i = 0; i < n; i++, b.n_records++) {
		make_sale(s, s->sent_seq + 1 + i, &bufs[i]);
		recs[i] = &bufs[i].r;
		bytes += storesync__record__get_packed_size(recs[i]);
		if (i > 0 && bytes > MAX_BATCH_BYTES)
			break;
	}
	b.store_id = s->id;
	b.epoch = s->epoch;
	b.has_epoch = 1;
	b.first_seq = s->sent_seq + 1;
	b.has_first_seq = 1;
	b.records = recs;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	if (b.n_records && send_msg(s, &m) == 0) {
		s->sent_seq += b.n_records;
		x->c->batches++;
	} else {
		b.n_records = 0;
	}
	free(bufs);
	free(recs);
	return b.n_records;
}

/* ---- what the hub says ---- */

/* The hub holds every record through seq: those newly covered count as
 * acknowledged, their latency from creation. */
static void acked_through(struct fleet_ctx *x, struct fleet_store *s, uint64_t seq)
{
	int64_t t = now_us();

	for (uint64_t q = s->acked_seq + 1; q <= seq && q <= s->last_seq; q++) {
		fleet_hist_add(x->ack, t - s->created_us[q % s->ring_cap]);
		x->c->acked++;
	}
	if (seq > s->acked_seq)
		s->acked_seq = seq < s->last_seq ? seq : s->last_seq;
}

/* Below what was acked when the hub was restored: the records go again. */
static void rewind_to(struct fleet_store *s, uint64_t hub_has)
{
	s->acked_seq = hub_has;
	s->sent_seq = s->acked_seq;
	s->progress_mono = ss_mono_ms();
}

static void on_welcome(struct fleet_ctx *x, struct fleet_store *s, const Storesync__Welcome *w)
{
	if (w->high_water_seq > s->last_seq)
		return;   /* not ours (another run's store of this id): stay unwelcomed */
	acked_through(x, s, w->high_water_seq);
	rewind_to(s, w->high_water_seq);
	s->welcomed = 1;
	s->ever_welcomed = 1;
	s->welcomed_since_mark = 1;
	s->drops = 0;
}

static void on_ack(struct fleet_ctx *x, struct fleet_store *s, const Storesync__Ack *a)
{
	if (a->epoch != s->epoch || a->through_seq <= s->acked_seq)
		return;
	acked_through(x, s, a->through_seq);
	if (s->sent_seq < s->acked_seq)
		s->sent_seq = s->acked_seq;
	s->progress_mono = ss_mono_ms();
}

static void on_update(struct fleet_ctx *x, struct fleet_store *s, const Storesync__Update *u)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__UpdateAck ack = STORESYNC__UPDATE_ACK__INIT;

	x->c->updates++;
	if (!apply_update(&s->apply, u, 0)) {
		x->c->apply_failures += s->apply.failures ? 1 : 0;
		return;
	}
	apply_ack_fill(&s->apply, &ack);
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK;
	m.update_ack = &ack;
	x->c->update_acks++;
	send_msg(s, &m);
}

static void on_message(struct fleet_ctx *x, struct fleet_store *s, const Storesync__LinkMessage *m)
{
	switch (m->kind_case) {
	case STORESYNC__LINK_MESSAGE__KIND_WELCOME:
		on_welcome(x, s, m->welcome);
		break;
	case STORESYNC__LINK_MESSAGE__KIND_ACK:
		on_ack(x, s, m->ack);
		break;
	case STORESYNC__LINK_MESSAGE__KIND_RESEND:
		if (m->resend->epoch == s->epoch && m->resend->from_seq > 0) {
			x->c->resends++;
			rewind_to(s, m->resend->from_seq - 1);
		}
		break;
	case STORESYNC__LINK_MESSAGE__KIND_ERROR:
		x->c->hub_errors++;
		s->welcomed = 0;
		s->hello_mono = ss_mono_ms();
		break;
	case STORESYNC__LINK_MESSAGE__KIND_UPDATE:
		on_update(x, s, m->update);
		break;
	default:
		break;
	}
}

/* The agent's link_drop: disconnect, and connect again after a fully
 * jittered delay that doubles per drop since the last Welcome. */
static void link_drop(struct fleet_ctx *x, struct fleet_store *s, int64_t now)
{
	zmq_disconnect(s->sock, s->endpoint);
	s->linked = s->welcomed = 0;
	s->reconnect_mono = now + 1 + ss_link_backoff_ms(x->o->reconnect_ms,
		x->o->reconnect_max_ms, s->drops++);
	x->c->reconnects++;
}

static void read_monitor(struct fleet_ctx *x, struct fleet_store *s)
{
	zmq_msg_t f[2];
	int n;

	while ((n = ss_link_recv(s->monitor, f, 2, ZMQ_DONTWAIT)) > 0) {
		uint16_t event = 0;

		if (zmq_msg_size(&f[0]) >= 2)
			memcpy(&event, zmq_msg_data(&f[0]), sizeof event);
		ss_link_close_frames(f, n < 2 ? n : 2);
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			s->linked = 1;
			s->linked_mono = ss_mono_ms();
			send_hello(x, s);
		} else if (event == ZMQ_EVENT_DISCONNECTED) {
			s->linked = 0;
			s->welcomed = 0;
		} else if (!x->o->legacy) {
			/* Refused (a key the hub does not know yet, its door keeper):
			 * libzmq gives the endpoint up; the agent dials again. */
			x->c->refusals++;
			link_drop(x, s, ss_mono_ms());
		}
	}
}

void fleet_store_readable(struct fleet_ctx *x, struct fleet_store *s)
{
	read_monitor(x, s);
	fleet_store_read_link(x, s);
}

void fleet_store_read_link(struct fleet_ctx *x, struct fleet_store *s)
{
	zmq_msg_t f[1];
	int n;

	s->sent = 0;
	while ((n = ss_link_recv(s->sock, f, 1, ZMQ_DONTWAIT)) > 0) {
		Storesync__LinkMessage *m = n == 1 ? (Storesync__LinkMessage *)ss_proto_unpack(
			&storesync__link_message__descriptor, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
			SS_MAX_MSG_BYTES) : NULL;

		ss_link_close_frames(f, 1);
		s->heard_mono = ss_mono_ms();
		if (m) {
			on_message(x, s, m);
			storesync__link_message__free_unpacked(m, NULL);
		}
	}
}

/* ---- timers ---- */

static int64_t earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The agent's check_link: after a drop the store waits, then dials again;
 * a silent hub is dropped. */
static int link_busy(struct fleet_ctx *x, struct fleet_store *s, int64_t now, int64_t *next)
{
	int64_t last = s->heard_mono > s->linked_mono ? s->heard_mono : s->linked_mono;

	if (x->o->legacy)
		return 0;
	if (s->reconnect_mono) {
		if (now < s->reconnect_mono) {
			*next = earliest(*next, s->reconnect_mono);
			return 1;
		}
		s->reconnect_mono = 0;
		zmq_connect(s->sock, s->endpoint);
		return 1;
	}
	if (s->linked && now - last >= x->o->hub_timeout_ms) {
		link_drop(x, s, now);
		*next = earliest(*next, s->reconnect_mono);
		return 1;
	}
	if (s->linked)
		*next = earliest(*next, last + x->o->hub_timeout_ms);
	return 0;
}

static void make_due_records(struct fleet_ctx *x, struct fleet_store *s, int64_t now)
{
	while (s->next_record_mono && now >= s->next_record_mono) {
		create_record(x, s);
		s->next_record_mono = next_arrival(x, s, s->next_record_mono);
	}
}

int64_t fleet_store_tick(struct fleet_ctx *x, struct fleet_store *s, int64_t now)
{
	uint64_t window = (uint64_t)x->o->batch_records * (uint64_t)x->o->window_batches;
	int64_t next = NEVER;

	make_due_records(x, s, now);
	if (s->next_record_mono)
		next = s->next_record_mono;
	if (link_busy(x, s, now, &next))
		return next;
	if (!s->welcomed) {
		if (now - s->hello_mono >= HELLO_RETRY_MS)
			send_hello(x, s);
		return earliest(next, s->hello_mono + HELLO_RETRY_MS);
	}
	if (s->sent_seq > s->acked_seq && now - s->progress_mono >= x->o->ack_timeout_ms) {
		x->c->resends++;
		send_hello(x, s);
		return earliest(next, s->hello_mono + HELLO_RETRY_MS);
	}
	if (s->sent_seq == s->acked_seq)
		s->progress_mono = now;
	while (s->sent_seq < s->last_seq && s->sent_seq - s->acked_seq < window)
		if (send_batch(x, s, (size_t)x->o->batch_records) == 0)
			break;
	if (now - s->heartbeat_mono >= x->o->heartbeat_ms)
		send_heartbeat(x, s, now);
	next = earliest(next, s->heartbeat_mono + x->o->heartbeat_ms);
	if (s->sent_seq > s->acked_seq)
		next = earliest(next, s->progress_mono + x->o->ack_timeout_ms);
	return next;
}

void fleet_store_mark(struct fleet_store *s)
{
	s->mark_seq = s->last_seq;
	s->welcomed_since_mark = 0;
}

int fleet_store_recovered(const struct fleet_store *s)
{
	return s->welcomed_since_mark && s->acked_seq >= s->mark_seq;
}
