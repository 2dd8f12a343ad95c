/* hub_ingest: the hub's writer thread, and the upstream protocol.
 *
 * One round: read every link message waiting (up to a group limit), refuse
 * the malformed ones at once with a reason, then apply hellos, batches and
 * heartbeats from all stores in ONE LMDB write transaction (group commit),
 * commit (fsync), and only then send Welcome/Ack/Resend. An Ack therefore
 * never runs ahead of the disk: a hub killed at any moment has every record
 * it acknowledged.
 *
 * Per store the rule is hub_store's: apply seq == high-water + 1, skip
 * seq <= high-water (duplicate), stop at seq > high-water + 1 (gap) and ask
 * for a resend from high-water + 1. */
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "hub.h"
#include "ss_link.h"
#include "ss_time.h"
#include "ss_validate.h"

#define GROUP_MAX_MSGS 512
#define LOG_INTERVAL_MS 10000
#define RESEND_REPEAT_MS 1000
#define PEER_IDLE_MS (10 * 60 * 1000)
#define MAX_BATCH_RECORDS 100000

/* One connection, by ZeroMQ routing id. */
struct hub_peer {
	UT_hash_handle hh;
	uint8_t id[256];
	size_t id_len;
	char store_id[33];         /* learnt from Hello/Batch; "" until then */
	struct ss_lograte rate;    /* complaints about this peer: one line per interval */
	int64_t seen_mono;
	uint64_t resend_from;      /* last Resend asked, to avoid asking on every batch */
	int64_t resend_mono;
};

struct group_item {
	struct hub_peer *peer;
	Storesync__LinkMessage *msg;
	const char *store_id;
	uint64_t epoch;
	uint64_t through;          /* out: high-water after this item */
	uint64_t resend_from;      /* out: gap seen, resend from here (0: none) */
};

struct hub_group {
	struct group_item items[GROUP_MAX_MSGS];
	size_t n, records;
	struct hub_store stores[GROUP_MAX_MSGS];
	size_t n_stores;
	int64_t now_ms;
	uint64_t duplicates, gaps;
	struct hub_policy policy;  /* in force for this transaction */
	struct ss_lograte commit_log;
};

static struct hub_peer *peer_get(struct hub *h, zmq_msg_t *id)
{
	struct hub_peer *p;
	size_t len = zmq_msg_size(id);

	HASH_FIND(hh, h->peers, zmq_msg_data(id), len, p);
	if (!p && len <= sizeof p->id && (p = calloc(1, sizeof *p)) != NULL) {
		memcpy(p->id, zmq_msg_data(id), len);
		p->id_len = len;
		HASH_ADD(hh, h->peers, id, len, p);
	}
	if (p)
		p->seen_mono = ss_mono_ms();
	return p;
}

static void peers_sweep(struct hub *h)
{
	struct hub_peer *p, *tmp;
	int64_t now = ss_mono_ms();

	HASH_ITER(hh, h->peers, p, tmp)
		if (now - p->seen_mono > PEER_IDLE_MS) {
			HASH_DEL(h->peers, p);
			free(p);
		}
}

void ingest_free_peers(struct hub *h)
{
	struct hub_peer *p, *tmp;

	HASH_ITER(hh, h->peers, p, tmp) {
		HASH_DEL(h->peers, p);
		free(p);
	}
}

static void send_to(struct hub *h, struct hub_peer *p, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	/* ROUTER_MANDATORY: a peer that left gives EHOSTUNREACH; it will
	 * reconnect, say Hello and be resent from its high-water mark. */
	if (zmq_send(h->router, p->id, p->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
	ss_proto_send(h->router, &m->base, ZMQ_DONTWAIT);
}

/* Refuses a message with a reason: counted, answered, logged once per
 * peer per interval. */
static void refuse(struct hub *h, struct hub_peer *p, Storesync__ErrorCode code,
	atomic_uint_fast64_t *counter, const char *reason)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Error e = STORESYNC__ERROR__INIT;
	uint64_t held = 0;

	atomic_fetch_add(counter, 1);
	if (!p)
		return;
	if (ss_lograte_allow(&p->rate, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("peer %s: refused: %s (%llu more since last line)",
			p->store_id[0] ? p->store_id : "(no hello yet)", reason,
			(unsigned long long)held);
	e.code = code;
	e.has_code = 1;
	e.reason = (char *)reason;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_ERROR;
	m.error = &e;
	send_to(h, p, &m);
}

/* Checks the store a message claims; fills the item. 0 when acceptable. */
static int claim_store(struct hub *h, struct group_item *it, const char *store_id,
	uint64_t epoch)
{
	if (!store_id || ss_validate_store_id(store_id) != 0 || epoch == 0) {
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_INVALID, &h->stats.invalid,
			"missing or invalid store_id or epoch");
		return -1;
	}
	if (it->peer->store_id[0] && strcmp(it->peer->store_id, store_id) != 0) {
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_WRONG_STORE, &h->stats.invalid,
			"message claims another store than this link's");
		return -1;
	}
	snprintf(it->peer->store_id, sizeof it->peer->store_id, "%s", store_id);
	it->store_id = it->peer->store_id;
	it->epoch = epoch;
	return 0;
}

static int check_batch(struct hub *h, struct group_item *it)
{
	const Storesync__Batch *b = it->msg->batch;

	if (b->n_records == 0 || b->n_records > MAX_BATCH_RECORDS || b->first_seq == 0) {
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_INVALID, &h->stats.invalid,
			"batch needs first_seq >= 1 and 1..100000 records");
		return -1;
	}
	for (size_t i = 0; i < b->n_records; i++)
		if (b->records[i]->has_seq && b->records[i]->seq != b->first_seq + i) {
			refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_INVALID, &h->stats.invalid,
				"batch records are not consecutive from first_seq");
			return -1;
		}
	return claim_store(h, it, b->store_id, b->epoch);
}

/* Sorts one parsed message into the group; 0 when it joined the group. */
static int admit(struct hub *h, struct group_item *it)
{
	Storesync__LinkMessage *m = it->msg;

	if (m->proto_version != SS_PROTO_VERSION) {
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_VERSION, &h->stats.bad_version,
			"unsupported proto_version (this hub speaks 1)");
		return -1;
	}
	switch (m->kind_case) {
	case STORESYNC__LINK_MESSAGE__KIND_HELLO:
		return claim_store(h, it, m->hello->store_id, m->hello->epoch);
	case STORESYNC__LINK_MESSAGE__KIND_BATCH:
		return check_batch(h, it);
	case STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT:
		if (!it->peer->store_id[0]) {
			refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_NEED_HELLO, &h->stats.invalid,
				"heartbeat before hello");
			return -1;
		}
		it->store_id = it->peer->store_id;
		it->epoch = 0;   /* whatever epoch the store's state holds */
		return 0;
	default:
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_UNKNOWN_KIND, &h->stats.unknown_kind,
			"unknown or unexpected message kind");
		return -1;
	}
}

/* Reads one message; returns 1 when it joined the group, 0 when it was
 * refused, -1 when nothing is waiting. */
static int read_one(struct hub *h, struct hub_group *g)
{
	zmq_msg_t f[2];
	int n = ss_link_recv(h->router, f, 2, ZMQ_DONTWAIT);
	struct group_item *it = &g->items[g->n];

	if (n < 0)
		return -1;
	memset(it, 0, sizeof *it);
	it->peer = peer_get(h, &f[0]);
	if (n == 2 && zmq_msg_size(&f[1]) > SS_MAX_MSG_BYTES) {
		ss_link_close_frames(f, 2);
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_MALFORMED, &h->stats.oversized,
			"message larger than the 16 MiB limit");
		return 0;
	}
	if (n == 2)
		it->msg = (Storesync__LinkMessage *)ss_proto_unpack(&storesync__link_message__descriptor,
			zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SS_MAX_MSG_BYTES);
	ss_link_close_frames(f, n < 2 ? n : 2);
	if (!it->msg) {
		refuse(h, it->peer, STORESYNC__ERROR_CODE__ERR_MALFORMED, &h->stats.malformed,
			n == 2 ? "message does not parse as a LinkMessage" : "expected exactly one frame");
		return 0;
	}
	if (!it->peer || admit(h, it) != 0) {
		storesync__link_message__free_unpacked(it->msg, NULL);
		return 0;
	}
	if (it->msg->kind_case == STORESYNC__LINK_MESSAGE__KIND_BATCH)
		g->records += it->msg->batch->n_records;
	g->n++;
	return 1;
}

static void group_reset_stores(struct hub_group *g)
{
	for (size_t i = 0; i < g->n_stores; i++)
		hub_store_release(&g->stores[i]);
	g->n_stores = 0;
	g->duplicates = g->gaps = 0;
}

static int store_for(struct hub *h, MDB_txn *txn, struct hub_group *g, struct group_item *it,
	struct hub_store **out)
{
	int rc;

	for (size_t i = 0; i < g->n_stores; i++)
		if (strcmp(g->stores[i].store_id, it->store_id) == 0) {
			*out = &g->stores[i];
			return it->epoch ? hub_store_switch_epoch(h, txn, *out, it->epoch) : 0;
		}
	*out = &g->stores[g->n_stores];
	rc = hub_store_load(h, txn, it->store_id, it->epoch, *out);
	g->n_stores++;
	if (rc == 0 && it->epoch == 0)
		rc = hub_store_switch_epoch(h, txn, *out, (*out)->state->epoch);
	return rc;
}

static int apply_batch(struct hub *h, MDB_txn *txn, struct hub_group *g, struct hub_store *s,
	struct group_item *it)
{
	const Storesync__Batch *b = it->msg->batch;
	int rc;

	for (size_t i = 0; i < b->n_records; i++) {
		uint64_t seq = b->first_seq + i;

		if (seq <= s->hw) {
			g->duplicates++;
			continue;
		}
		if (seq > s->hw + 1) {
			/* Never apply past a gap: ask for what is missing. */
			it->resend_from = s->hw + 1;
			g->gaps++;
			break;
		}
		if ((rc = hub_store_apply(h, txn, s, b->records[i], &g->policy)) != 0)
			return rc;
	}
	return 0;
}

static void note_hello(struct hub_store *s, const Storesync__Hello *hello)
{
	if (hello->agent_version && strlen(hello->agent_version) < 64) {
		free(s->state->agent_version);
		s->state->agent_version = strdup(hello->agent_version);
	}
}

static void seen(struct hub_store *s, int64_t now_ms)
{
	s->state->last_seen_ms = now_ms;
	s->state->has_last_seen_ms = 1;
	if (!s->state->has_first_seen_ms) {
		s->state->first_seen_ms = now_ms;
		s->state->has_first_seen_ms = 1;
		/* Silence counts from first contact until records arrive. */
		s->state->last_progress_ms = now_ms;
		s->state->has_last_progress_ms = 1;
	}
	s->dirty = 1;
}

/* A store makes progress when its records arrive, or when it says it has
 * nothing left to send. Heartbeats over a stuck backlog are not progress:
 * such a store's records stopped arriving, and it will be listed as silent. */
static int made_progress(const struct group_item *it, const struct hub_store *s,
	uint64_t hw_before)
{
	const Storesync__LinkMessage *m = it->msg;

	switch (m->kind_case) {
	case STORESYNC__LINK_MESSAGE__KIND_BATCH:
		return s->hw > hw_before;
	case STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT:
		return m->heartbeat->backlog == 0;
	default:
		return m->hello->last_seq <= s->hw;
	}
}

/* The write transaction of one group. Replayable: it starts from the
 * database every time (group_reset_stores) and keeps results in the items. */
static int group_body(MDB_txn *txn, void *arg)
{
	struct hub *h = arg;
	struct hub_group *g = h->group;
	int rc = 0;

	group_reset_stores(g);
	rc = hub_policy_load(h, txn, &g->policy);
	for (size_t i = 0; i < g->n && rc == 0; i++) {
		struct group_item *it = &g->items[i];
		struct hub_store *s;
		uint64_t hw_before;

		it->resend_from = 0;
		if ((rc = store_for(h, txn, g, it, &s)) != 0)
			break;
		seen(s, g->now_ms);
		hw_before = s->hw;
		if (it->msg->kind_case == STORESYNC__LINK_MESSAGE__KIND_BATCH)
			rc = apply_batch(h, txn, g, s, it);
		else if (it->msg->kind_case == STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT)
			hub_store_heartbeat(s, it->msg->heartbeat);
		else
			note_hello(s, it->msg->hello);
		if (made_progress(it, s, hw_before)) {
			s->state->last_progress_ms = g->now_ms;
			s->state->has_last_progress_ms = 1;
		}
		it->through = s->hw;
	}
	for (size_t i = 0; i < g->n_stores && rc == 0; i++)
		if (g->stores[i].dirty)
			rc = hub_store_save(h, txn, &g->stores[i]);
	return rc;
}

static void reply_item(struct hub *h, struct group_item *it)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Welcome w = STORESYNC__WELCOME__INIT;
	Storesync__Ack ack = STORESYNC__ACK__INIT;
	Storesync__Resend rs = STORESYNC__RESEND__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	int64_t now = ss_mono_ms();

	switch (it->msg->kind_case) {
	case STORESYNC__LINK_MESSAGE__KIND_HELLO:
		w.high_water_seq = it->through;
		w.has_high_water_seq = 1;
		w.hub_time_ms = ss_now_ms();
		w.has_hub_time_ms = 1;
		m.kind_case = STORESYNC__LINK_MESSAGE__KIND_WELCOME;
		m.welcome = &w;
		it->peer->resend_from = 0;
		break;
	case STORESYNC__LINK_MESSAGE__KIND_BATCH:
		ack.epoch = it->epoch;
		ack.has_epoch = 1;
		ack.through_seq = it->through;
		ack.has_through_seq = 1;
		m.kind_case = STORESYNC__LINK_MESSAGE__KIND_ACK;
		m.ack = &ack;
		send_to(h, it->peer, &m);
		if (!it->resend_from || (it->peer->resend_from == it->resend_from
			&& now - it->peer->resend_mono < RESEND_REPEAT_MS))
			return;
		it->peer->resend_from = rs.from_seq = it->resend_from;
		it->peer->resend_mono = now;
		rs.has_from_seq = 1;
		rs.epoch = it->epoch;
		rs.has_epoch = 1;
		m.kind_case = STORESYNC__LINK_MESSAGE__KIND_RESEND;
		m.resend = &rs;
		break;
	default:
		hb.sent_ms = ss_now_ms();
		hb.has_sent_ms = 1;
		m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
		m.heartbeat = &hb;
		break;
	}
	send_to(h, it->peer, &m);
}

static void count_round(struct hub *h, struct hub_group *g)
{
	atomic_fetch_add(&h->stats.commits, 1);
	atomic_fetch_add(&h->stats.duplicates, g->duplicates);
	atomic_fetch_add(&h->stats.gaps, g->gaps);
	for (size_t i = 0; i < g->n_stores; i++) {
		atomic_fetch_add(&h->stats.records_applied, g->stores[i].applied_now);
		atomic_fetch_add(&h->stats.refused_records, g->stores[i].refused_now);
	}
	for (size_t i = 0; i < g->n; i++) {
		Storesync__LinkMessage__KindCase k = g->items[i].msg->kind_case;

		if (k == STORESYNC__LINK_MESSAGE__KIND_BATCH)
			atomic_fetch_add(&h->stats.batches, 1);
		else if (k == STORESYNC__LINK_MESSAGE__KIND_HELLO)
			atomic_fetch_add(&h->stats.hellos, 1);
		else
			atomic_fetch_add(&h->stats.heartbeats, 1);
	}
}

static void group_round(struct hub *h)
{
	struct hub_group *g = h->group;
	char err[256];
	int rc;

	g->n = g->records = 0;
	while (g->n < GROUP_MAX_MSGS && g->records < (size_t)h->cfg.group_records)
		if (read_one(h, g) < 0)
			break;
	if (g->n == 0)
		return;
	g->now_ms = ss_now_ms();
	rc = ss_lmdb_write(&h->db, group_body, h, err, sizeof err);
	if (rc == 0) {
		count_round(h, g);
		for (size_t i = 0; i < g->n; i++)
			reply_item(h, &g->items[i]);
	} else {
		/* Nothing of this round is committed, so nothing is acked: the
		 * agents keep the records and send them again. */
		uint64_t held = 0;

		if (ss_lograte_allow(&g->commit_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
			ss_error("group commit failed: %s (%llu more since last line)", err,
				(unsigned long long)held);
		for (size_t i = 0; i < g->n; i++)
			refuse(h, g->items[i].peer, STORESYNC__ERROR_CODE__ERR_INTERNAL,
				&h->stats.commit_failures, "hub could not commit; retry later");
	}
	group_reset_stores(g);
	for (size_t i = 0; i < g->n; i++)
		storesync__link_message__free_unpacked(g->items[i].msg, NULL);
}

int ingest_run(struct hub *h, char *err, size_t errlen)
{
	int64_t next_sweep = ss_mono_ms() + 60000;

	h->group = calloc(1, sizeof *h->group);
	if (!h->group) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (!atomic_load(&h->stopping)) {
		zmq_pollitem_t items[] = { { h->router, 0, ZMQ_POLLIN, 0 } };

		if (zmq_poll(items, 1, 200) < 0 && zmq_errno() != EINTR) {
			snprintf(err, errlen, "zmq_poll: %s", zmq_strerror(zmq_errno()));
			free(h->group);
			h->group = NULL;
			return -1;
		}
		if (items[0].revents & ZMQ_POLLIN)
			group_round(h);
		if (ss_mono_ms() >= next_sweep) {
			peers_sweep(h);
			next_sweep = ss_mono_ms() + 60000;
		}
	}
	free(h->group);
	h->group = NULL;
	return 0;
}
