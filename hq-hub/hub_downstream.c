/* hub_downstream: the update log, delivered to every connected store.
 *
 * Per store connection the writer keeps where the store stands (applied,
 * from Hello, UpdateAck and heartbeats) and what it sent (sent_through,
 * in flight). It sends, in order, each update after sent_through whose
 * target includes the store, naming the one before it (after_id), so the
 * agent applies only in turn.
 *
 * Flow control, so a store far behind floods neither its link nor the
 * hub's memory: at most DOWN_WINDOW updates and DOWN_WINDOW_BYTES in flight
 * per store (an UpdateAck opens the window again), and at most
 * DOWN_QUEUE_BYTES of update bytes held by ZeroMQ across all stores (the
 * bytes are counted until ZeroMQ has written them and frees the buffer).
 * The frame of an update is built once per after_id and handed to every
 * store it fits by reference (struct frame): in a rollout every store
 * follows the same update, so 200 stores share one 1.6 MB frame instead of
 * 200 copies (each malloc'd, faulted in and counted against the bound).
 * A store that is new, or behind the log's floor (pruned), gets a Snapshot
 * of what is in force for it, then the log after the snapshot's position.
 *
 * Nothing here writes LMDB: delivery state lives in memory and is rebuilt
 * from each Hello; what a store has applied is recorded by the UpdateAck
 * handler in the writer's transaction. Runs on the writer thread only. */
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "hub_registry.h"
#include "hub_updates.h"
#include "hub_work.h"
#include "ss_time.h"

#define DOWN_WINDOW 8
#define DOWN_WINDOW_BYTES (8u << 20)
#define DOWN_QUEUE_BYTES (128u << 20)
#define DOWN_ACK_TIMEOUT_MS 15000
#define SNAPSHOT_PART_ENTRIES 20000
#define CACHE_SLOTS 4

struct frame;
struct hub_down_cache;
static void cache_drop_frames(struct hub_down_cache *c);

/* Packed updates (without after_id, which is per store), shared by the
 * stores that get the same update in one pump, each with the frame last
 * built of it (for one after_id), held until the pump ends. */
struct hub_down_cache {
	struct { uint64_t id; uint8_t *buf; size_t len; struct frame *frame; } slot[CACHE_SLOTS];
	unsigned next;
};

static void pending_add(struct hub *h, struct hub_down *d)
{
	if (!d->pending && d->ready) {
		DL_APPEND(h->down_pending, d);
		d->pending = 1;
	}
}

static void pending_del(struct hub *h, struct hub_down *d)
{
	if (d->pending) {
		DL_DELETE(h->down_pending, d);
		d->pending = 0;
	}
}

static void inflight_clear(struct hub_down *d)
{
	d->n_inflight = 0;
	d->inflight_bytes = 0;
}

static void unhash(struct hub *h, struct hub_down *d)
{
	if (d->key[0]) {
		HASH_DEL(h->store_peers, d);
		d->key[0] = '\0';
	}
}

void hub_down_hello(struct hub *h, struct hub_peer *p, const char *region, uint64_t applied)
{
	struct hub_down *d = &p->down, *old;

	HASH_FIND_STR(h->store_peers, p->store_id, old);
	if (old && old != d) {
		/* The store reconnected: only its newest connection gets updates. */
		old->ready = 0;
		pending_del(h, old);
		unhash(h, old);
	}
	if (!d->key[0]) {
		snprintf(d->key, sizeof d->key, "%s", p->store_id);
		HASH_ADD_STR(h->store_peers, key, d);
	}
	d->peer = p;
	d->ready = 1;
	snprintf(d->region, sizeof d->region, "%s", region);
	d->applied = d->sent_through = applied;
	inflight_clear(d);
	d->progress_mono = ss_mono_ms();
	pending_add(h, d);
}

void hub_down_ack(struct hub *h, struct hub_peer *p, uint64_t applied)
{
	struct hub_down *d = &p->down;
	size_t keep = 0;

	if (!d->ready)
		return;
	if (applied <= d->applied && d->n_inflight) {
		/* An ack that does not move: the store could not apply what came
		 * next (not its turn, or lost). Resend from where it stands. */
		d->sent_through = applied;
		inflight_clear(d);
	} else {
		for (size_t i = 0; i < d->n_inflight; i++)
			if (d->inflight[i].id > applied)
				d->inflight[keep++] = d->inflight[i];
			else
				d->inflight_bytes -= d->inflight[i].bytes;
		d->n_inflight = keep;
		if (applied > d->sent_through)
			d->sent_through = applied;
	}
	d->applied = applied;
	d->progress_mono = ss_mono_ms();
	pending_add(h, d);
}

void hub_down_heard(struct hub *h, struct hub_peer *p, uint64_t applied)
{
	(void)h;
	if (p->down.ready && applied > p->down.applied)
		p->down.applied = applied;
}

void hub_down_wake_store(struct hub *h, const char *store_id)
{
	struct hub_down *d, *tmp;

	if (store_id) {
		HASH_FIND_STR(h->store_peers, store_id, d);
		if (d)
			pending_add(h, d);
		return;
	}
	HASH_ITER(hh, h->store_peers, d, tmp)
		pending_add(h, d);
}

void hub_down_region(struct hub *h, const char *store_id, const char *region)
{
	struct hub_down *d;

	HASH_FIND_STR(h->store_peers, store_id, d);
	if (d) {
		snprintf(d->region, sizeof d->region, "%s", region);
		pending_add(h, d);
	}
}

void hub_down_forget(struct hub *h, struct hub_peer *p)
{
	pending_del(h, &p->down);
	unhash(h, &p->down);
	free(p->down.inflight);
	memset(&p->down, 0, sizeof p->down);
}

int hub_down_busy(struct hub *h)
{
	return h->down_pending != NULL;
}

void hub_down_free(struct hub *h)
{
	if (!h->down_cache)
		return;
	cache_drop_frames(h->down_cache);
	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		free(h->down_cache->slot[i].buf);
	free(h->down_cache);
	h->down_cache = NULL;
}

/* ---- sending ---- */

/* A LinkMessage frame, shared by every zmq_msg sent of it and by the
 * cache; counted in down_queued_bytes once, until the last of them lets go
 * (ZeroMQ does on its I/O thread, hence the atomic count). */
struct frame {
	struct hub *h;
	atomic_uint refs;
	uint64_t after;
	size_t len;
	uint8_t bytes[];
};

static void frame_release(struct frame *f)
{
	if (f && atomic_fetch_sub(&f->refs, 1) == 1) {
		atomic_fetch_sub(&f->h->down_queued_bytes, f->len);
		free(f);
	}
}

static void frame_free(void *data, void *hint)
{
	(void)data;
	frame_release(hint);
}

static void cache_drop_frames(struct hub_down_cache *c)
{
	for (unsigned i = 0; c && i < CACHE_SLOTS; i++) {
		frame_release(c->slot[i].frame);
		c->slot[i].frame = NULL;
	}
}

static size_t varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

/* The frame LinkMessage{proto_version, update} whose Update is `packed`
 * (an Update without after_id) followed by after_id: protobuf takes fields
 * in any order, so the bulk is packed once and framed per after_id. One
 * reference, the caller's. */
static struct frame *frame_build(struct hub *h, const uint8_t *packed, size_t len,
	uint64_t after_id)
{
	uint8_t after[11], head[16];
	size_t alen = 0, hlen = 0, inner;
	struct frame *f;

	after[alen++] = 0x10;                          /* field 2 (after_id), varint */
	alen += varint(after + alen, after_id);
	inner = len + alen;
	head[hlen++] = 0x08;                           /* field 1 (proto_version) */
	hlen += varint(head + hlen, SS_PROTO_VERSION);
	head[hlen++] = 0x4a;                           /* field 9 (update), length-delimited */
	hlen += varint(head + hlen, inner);
	if (!(f = malloc(sizeof *f + hlen + inner)))
		return NULL;
	f->h = h;
	atomic_init(&f->refs, 1);
	f->after = after_id;
	f->len = hlen + inner;
	memcpy(f->bytes, head, hlen);
	memcpy(f->bytes + hlen, packed, len);
	memcpy(f->bytes + hlen + len, after, alen);
	atomic_fetch_add(&h->down_queued_bytes, f->len);
	return f;
}

/* Sends f to d's store, with a reference of its own for ZeroMQ. */
static int send_frame(struct hub *h, struct hub_down *d, struct frame *f)
{
	zmq_msg_t m;

	atomic_fetch_add(&f->refs, 1);
	zmq_msg_init_data(&m, f->bytes, f->len, frame_free, f);
	if (zmq_send(h->router, d->peer->id, d->peer->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
		|| zmq_msg_send(&m, h->router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);   /* gives ZeroMQ's reference back through frame_free */
		return -1;
	}
	d->peer->sent_since_heartbeat = 1;   /* a word from the hub (hub_handle_heartbeat) */
	return 0;
}

/* A frame used once (a snapshot's part). */
static int send_packed(struct hub *h, struct hub_down *d, const uint8_t *packed, size_t len)
{
	struct frame *f = frame_build(h, packed, len, d->sent_through);
	int rc = f ? send_frame(h, d, f) : -1;

	frame_release(f);
	return rc;
}

static int note_sent(struct hub_down *d, uint64_t id, size_t bytes)
{
	if (d->n_inflight == d->cap_inflight) {
		size_t cap = d->cap_inflight ? d->cap_inflight * 2 : 16;
		struct hub_down_sent *a = realloc(d->inflight, cap * sizeof *a);

		if (!a)
			return -1;
		d->inflight = a;
		d->cap_inflight = cap;
	}
	if (d->n_inflight == 0)
		d->progress_mono = ss_mono_ms();
	d->inflight[d->n_inflight++] = (struct hub_down_sent){ id, bytes };
	d->inflight_bytes += bytes;
	return 0;
}

/* The cache slot of update id, its packed form read from the log when it
 * was not there; -1 when the log has no such update (or out of memory). */
static int cache_slot(struct hub *h, MDB_txn *txn, uint64_t id)
{
	struct hub_down_cache *c = h->down_cache;
	MDB_val v;
	unsigned slot;

	if (!c && !(c = h->down_cache = calloc(1, sizeof *c)))
		return -1;
	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		if (c->slot[i].buf && c->slot[i].id == id)
			return (int)i;
	if (hub_updates_bytes(h, txn, id, &v) != 0)
		return -1;
	slot = c->next++ % CACHE_SLOTS;
	free(c->slot[slot].buf);
	frame_release(c->slot[slot].frame);
	c->slot[slot].frame = NULL;
	c->slot[slot].id = 0;
	if (!(c->slot[slot].buf = malloc(v.mv_size ? v.mv_size : 1)))
		return -1;
	memcpy(c->slot[slot].buf, v.mv_data, v.mv_size);
	c->slot[slot].len = v.mv_size;
	c->slot[slot].id = id;
	return (int)slot;
}

/* The frame of update id after d's sent_through: the one built for the
 * store before, when it followed the same update. */
static struct frame *update_frame(struct hub *h, MDB_txn *txn, struct hub_down *d,
	uint64_t id, size_t *packed_len)
{
	int i = cache_slot(h, txn, id);
	struct hub_down_cache *c = h->down_cache;

	if (i < 0)
		return NULL;
	*packed_len = c->slot[i].len;
	if (!c->slot[i].frame || c->slot[i].frame->after != d->sent_through) {
		frame_release(c->slot[i].frame);
		c->slot[i].frame = frame_build(h, c->slot[i].buf, c->slot[i].len, d->sent_through);
	}
	return c->slot[i].frame;
}

static int send_update(struct hub *h, MDB_txn *txn, struct hub_down *d, uint64_t id)
{
	size_t len;
	struct frame *f = update_frame(h, txn, d, id, &len);

	if (!f || send_frame(h, d, f) != 0)
		return -1;
	d->sent_through = id;
	return note_sent(d, id, len);
}

/* ---- snapshots ---- */

struct snap {
	struct hub *h;
	MDB_txn *txn;
	struct hub_down *d;
	int64_t now_ms;
	Storesync__DatedPrice **prices;
	size_t n_prices, cap_prices;
	Storesync__DatedPolicy **policies;
	size_t n_policies, cap_policies;
};

static int grow(void ***arr, size_t *cap, size_t n)
{
	void **a;

	if (n < *cap)
		return 0;
	a = realloc(*arr, (*cap ? *cap * 2 : 256) * sizeof *a);
	if (!a)
		return -1;
	*arr = a;
	*cap = *cap ? *cap * 2 : 256;
	return 0;
}

static int add_price(struct snap *s, const char *sku, const struct hub_dated *e)
{
	Storesync__DatedPrice *dp;
	Storesync__PriceEntry *pe;

	if (grow((void ***)&s->prices, &s->cap_prices, s->n_prices) != 0
		|| !(dp = calloc(1, sizeof *dp + sizeof *pe)))
		return -1;
	pe = (Storesync__PriceEntry *)(dp + 1);
	storesync__dated_price__init(dp);
	storesync__price_entry__init(pe);
	pe->sku = strdup(sku);
	pe->price_fen = e->value;
	pe->has_price_fen = 1;
	pe->name = e->label[0] ? strdup(e->label) : NULL;
	dp->update_id = e->update_id;
	dp->has_update_id = 1;
	dp->effective_ms = e->effective_ms;
	dp->has_effective_ms = 1;
	dp->price = pe;
	s->prices[s->n_prices++] = dp;
	return 0;
}

static int add_policy(struct snap *s, const char *name, const struct hub_dated *e)
{
	Storesync__DatedPolicy *dp;
	Storesync__PolicyEntry *pe;

	if (grow((void ***)&s->policies, &s->cap_policies, s->n_policies) != 0
		|| !(dp = calloc(1, sizeof *dp + sizeof *pe)))
		return -1;
	pe = (Storesync__PolicyEntry *)(dp + 1);
	storesync__dated_policy__init(dp);
	storesync__policy_entry__init(pe);
	pe->name = strdup(name);
	pe->value = e->value;
	pe->has_value = 1;
	dp->update_id = e->update_id;
	dp->has_update_id = 1;
	dp->effective_ms = e->effective_ms;
	dp->has_effective_ms = 1;
	dp->policy = pe;
	s->policies[s->n_policies++] = dp;
	return 0;
}

/* Of one name's entries (oldest first), those that matter for the store:
 * for a price, the one in force now (the last before now that targets it)
 * and every later-dated one; for a policy, every one that targets it, as
 * the agent judges a record by the value in force at the record's own time
 * (agent_dated.c), however long ago. */
struct pick {
	struct snap *s;
	const char *name;
	int price;
	struct hub_dated now;
	int have_now;
};

static int pick_entry(void *arg, const struct hub_dated *e)
{
	struct pick *p = arg;
	struct snap *s = p->s;

	if (!hub_update_includes(s->h, s->txn, &s->h->tcache, e->update_id, s->d->key,
		s->d->region))
		return 0;
	if (p->price && e->effective_ms <= s->now_ms) {
		p->now = *e;
		p->have_now = 1;
		return 0;
	}
	return p->price ? add_price(s, p->name, e) : add_policy(s, p->name, e);
}

/* Walks every name of a dated table (prices: every SKU). */
static int snap_table(struct snap *s, MDB_dbi dbi, int price)
{
	MDB_cursor *cur;
	MDB_val k, d;
	char name[80];
	int rc;

	if ((rc = mdb_cursor_open(s->txn, dbi, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		const char *key = k.mv_data;
		size_t n = strnlen(key, k.mv_size);
		struct pick p = { .s = s, .name = name, .price = price };
		uint8_t next[81];
		MDB_val nk = { n + 1, next };

		if (n >= sizeof name)
			break;
		memcpy(name, key, n);
		name[n] = '\0';
		/* A price's in force one (policies have each added by pick_entry). */
		if ((rc = hub_dated_each(s->txn, dbi, name, pick_entry, &p)) == 0 && p.have_now)
			rc = add_price(s, name, &p.now);
		if (rc != 0)
			break;
		/* On to the next name: the first key after name '\1'. */
		memcpy(next, name, n);
		next[n] = 1;
		rc = mdb_cursor_get(cur, &nk, &d, MDB_SET_RANGE);
		k = nk;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n_prices; i++) {
		free(s->prices[i]->price->sku);
		free(s->prices[i]->price->name);
		free(s->prices[i]);
	}
	for (size_t i = 0; i < s->n_policies; i++) {
		free(s->policies[i]->policy->name);
		free(s->policies[i]);
	}
	free(s->prices);
	free(s->policies);
}

/* Notices and decisions for the store that it has not applied. */
struct snap_items {
	Storesync__NoticeState **nstates;
	size_t n_notices, cap_notices;
	Storesync__ReplenishState **rstates;
	size_t n_decisions, cap_decisions;
	Storesync__CollectionNotice **notices;      /* views into the states, for the part */
	Storesync__ReplenishmentDecision **decisions;
};

static void collect_notices(struct snap *s, struct snap_items *it)
{
	MDB_cursor *cur;
	MDB_val k, d;

	if (mdb_cursor_open(s->txn, s->h->notices, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__NoticeState *ns = storesync__notice_state__unpack(NULL, d.mv_size,
			d.mv_data);

		if (ns && ns->notice && ns->store_id && strcmp(ns->store_id, s->d->key) == 0
			&& ns->update_id > s->d->applied
			&& grow((void ***)&it->nstates, &it->cap_notices, it->n_notices) == 0)
			it->nstates[it->n_notices++] = ns;
		else if (ns)
			storesync__notice_state__free_unpacked(ns, NULL);
	}
	mdb_cursor_close(cur);
}

static void collect_decisions(struct snap *s, struct snap_items *it)
{
	size_t plen = strlen(s->d->key) + 1;
	MDB_val k = { plen, s->d->key }, d;   /* the id with its NUL: the key prefix */
	MDB_cursor *cur;

	if (mdb_cursor_open(s->txn, s->h->replenishment, &cur) != 0)
		return;
	for (int rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Storesync__ReplenishState *rs;

		if (k.mv_size < plen || memcmp(k.mv_data, s->d->key, plen) != 0)
			break;
		rs = storesync__replenish_state__unpack(NULL, d.mv_size, d.mv_data);
		if (rs && rs->decision && rs->update_id > s->d->applied
			&& grow((void ***)&it->rstates, &it->cap_decisions, it->n_decisions) == 0)
			it->rstates[it->n_decisions++] = rs;
		else if (rs)
			storesync__replenish_state__free_unpacked(rs, NULL);
	}
	mdb_cursor_close(cur);
}

static int snap_items_collect(struct snap *s, struct snap_items *it)
{
	memset(it, 0, sizeof *it);
	collect_notices(s, it);
	collect_decisions(s, it);
	it->notices = calloc(it->n_notices + 1, sizeof *it->notices);
	it->decisions = calloc(it->n_decisions + 1, sizeof *it->decisions);
	if (!it->notices || !it->decisions)
		return -1;
	for (size_t i = 0; i < it->n_notices; i++)
		it->notices[i] = it->nstates[i]->notice;
	for (size_t i = 0; i < it->n_decisions; i++)
		it->decisions[i] = it->rstates[i]->decision;
	return 0;
}

static void snap_items_free(struct snap_items *it)
{
	for (size_t i = 0; i < it->n_notices; i++)
		storesync__notice_state__free_unpacked(it->nstates[i], NULL);
	for (size_t i = 0; i < it->n_decisions; i++)
		storesync__replenish_state__free_unpacked(it->rstates[i], NULL);
	free(it->notices);
	free(it->nstates);
	free(it->decisions);
	free(it->rstates);
}

/* Sends the snapshot of what is in force for d as of update head, in
 * parts; d->sent_through becomes head. */
static int send_snapshot(struct hub *h, MDB_txn *txn, struct hub_down *d, uint64_t head)
{
	struct snap s = { h, txn, d, ss_now_ms(), NULL, 0, 0, NULL, 0, 0 };
	struct snap_items it;
	size_t parts = 1, done = 0;
	uint64_t after = d->sent_through;
	int rc = snap_table(&s, h->prices, 1);

	if (rc == 0)
		rc = snap_table(&s, h->policy_history, 0);
	if (snap_items_collect(&s, &it) != 0)
		rc = -1;
	if (s.n_prices > SNAPSHOT_PART_ENTRIES)
		parts = (s.n_prices + SNAPSHOT_PART_ENTRIES - 1) / SNAPSHOT_PART_ENTRIES;
	for (size_t part = 1; rc == 0 && part <= parts; part++) {
		Storesync__Update u = STORESYNC__UPDATE__INIT;
		Storesync__Snapshot sn = STORESYNC__SNAPSHOT__INIT;
		size_t n = s.n_prices - done < SNAPSHOT_PART_ENTRIES ? s.n_prices - done
			: SNAPSHOT_PART_ENTRIES;
		size_t len;
		uint8_t *buf;

		sn.part = (uint32_t)part;
		sn.has_part = 1;
		sn.parts = (uint32_t)parts;
		sn.has_parts = 1;
		sn.prices = s.prices + done;
		sn.n_prices = n;
		if (part == parts) {
			sn.policies = s.policies;
			sn.n_policies = s.n_policies;
			sn.notices = it.notices;
			sn.n_notices = it.n_notices;
			sn.decisions = it.decisions;
			sn.n_decisions = it.n_decisions;
		}
		u.update_id = head;
		u.has_update_id = 1;
		u.created_ms = s.now_ms;
		u.has_created_ms = 1;
		u.body_case = STORESYNC__UPDATE__BODY_SNAPSHOT;
		u.snapshot = &sn;
		d->sent_through = after;   /* every part follows the same position */
		if (!(buf = ss_proto_pack(&u.base, &len)) || send_packed(h, d, buf, len) != 0)
			rc = -1;
		else
			rc = note_sent(d, head, len);
		free(buf);
		done += n;
	}
	d->sent_through = rc == 0 ? head : after;
	snap_items_free(&it);
	snap_free(&s);
	return rc;
}

/* Sends d what its window allows; 0 when d has nothing more to send now. */
static int pump_one(struct hub *h, MDB_txn *txn, struct hub_down *d, uint64_t head,
	uint64_t floor)
{
	while (d->n_inflight < DOWN_WINDOW && d->inflight_bytes < DOWN_WINDOW_BYTES) {
		uint64_t next;

		if (atomic_load(&h->down_queued_bytes) >= DOWN_QUEUE_BYTES)
			return 1;   /* memory bound: later */
		if (d->sent_through < floor || (d->sent_through == 0 && head > 0)) {
			if (d->n_inflight)
				return 0;   /* a snapshot goes on an empty window */
			if (send_snapshot(h, txn, d, head) != 0)
				return 1;
			continue;
		}
		if (!(next = hub_updates_next_for(h, txn, d->key, d->region, d->sent_through)))
			return 0;
		if (send_update(h, txn, d, next) != 0)
			return 1;
	}
	return 0;
}

void hub_down_pump(struct hub *h)
{
	struct hub_down *d, *tmp, *again = NULL;
	uint64_t head, floor;
	MDB_txn *txn;

	if (!h->down_pending || ss_lmdb_read_begin(&h->db, &txn) != 0)
		return;
	head = hub_updates_head(h, txn);
	floor = hub_updates_floor(h, txn);
	DL_FOREACH_SAFE(h->down_pending, d, tmp) {
		pending_del(h, d);
		if (pump_one(h, txn, d, head, floor)) {
			DL_APPEND(again, d);
			d->pending = 1;
		}
	}
	DL_CONCAT(h->down_pending, again);
	/* Frames live as long as ZeroMQ holds them, not in the cache. */
	cache_drop_frames(h->down_cache);
	ss_lmdb_read_end(&h->db, txn);
	hub_target_cache_clear(&h->tcache);
}

void hub_down_tick(struct hub *h)
{
	struct hub_down *d, *tmp;
	int64_t now = ss_mono_ms();

	HASH_ITER(hh, h->store_peers, d, tmp)
		if (d->ready && d->n_inflight && now - d->progress_mono > DOWN_ACK_TIMEOUT_MS) {
			d->sent_through = d->applied;
			inflight_clear(d);
			d->progress_mono = now;
			pending_add(h, d);
		}
}
