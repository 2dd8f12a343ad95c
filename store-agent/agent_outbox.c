/* agent_outbox: the store's durable buffer of records, in the agent's LMDB
 * (agent_db: the "records" database and the outbox's keys in "meta").
 *
 * Invariants:
 *  - A record gets its seq and is committed (fsync) before anyone is told it
 *    was accepted; seqs are 1, 2, 3... with no holes, per data directory.
 *  - The epoch is drawn when the data directory is created: a reinstalled
 *    store (new directory) starts a new epoch. It changes only by a reepoch
 *    (outbox_txn_reepoch, for a directory that was rolled back), which moves
 *    the unacknowledged records into the new epoch in one transaction.
 *  - An unacknowledged record is never deleted. Acknowledged ones are kept
 *    for retention_ms so a hub restored from an old backup can get them back,
 *    but they give way, oldest first, when the disk budget needs the room.
 *  - used_bytes counts the outbox's share of the one disk budget: for each
 *    kept record its packed size plus key and a fixed per-entry overhead.
 *    The other databases' share is their pages (agent_db_other_bytes). When
 *    a new record does not fit in what is left after evicting acknowledged
 *    ones, it is refused ("buffer full"): nothing is ever dropped silently.
 * In-memory fields change only after a commit succeeded, because a write body
 * may be replayed (map growth) or abandoned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_fs.h"
#include "ss_time.h"

#define ENTRY_OVERHEAD_BYTES 24u  /* key (8) + LMDB node header and slack */
#define PRUNE_MAX_PER_TXN 20000u
#define OTHER_REMEASURE 64u      /* appends between measures of the other databases */

/* Creates the identity of a fresh data directory: store id and epoch. */
static int init_meta(MDB_txn *txn, void *arg)
{
	struct agent_outbox *ob = arg;
	MDB_val k = { 8, "store_id" }, d = { strlen(ob->store_id), ob->store_id };
	int rc = mdb_put(txn, ob->db->meta, &k, &d, 0);

	if (rc == 0)
		rc = agent_db_meta_put(ob->db, txn, "epoch", ob->epoch);
	return rc;
}

static int load_meta(struct agent_outbox *ob, const struct agent_config *cfg, char *err,
	size_t errlen)
{
	MDB_txn *txn;
	MDB_val k = { 8, "store_id" }, d;
	int rc = ss_lmdb_read_begin(&ob->db->lmdb, &txn);

	if (rc != 0) {
		snprintf(err, errlen, "outbox: %s", mdb_strerror(rc));
		return SS_EIO;
	}
	if (mdb_get(txn, ob->db->meta, &k, &d) == 0) {
		snprintf(ob->store_id, sizeof ob->store_id, "%.*s", (int)d.mv_size,
			(const char *)d.mv_data);
		agent_db_meta_get(ob->db, txn, "epoch", &ob->epoch);
		agent_db_meta_get(ob->db, txn, "last_seq", &ob->last_seq);
		agent_db_meta_get(ob->db, txn, "acked", &ob->acked_seq);
		agent_db_meta_get(ob->db, txn, "used", &ob->used_bytes);
		ob->first_seq = ob->last_seq + 1;
		agent_db_meta_get(ob->db, txn, "first_seq", &ob->first_seq);
	}
	ss_lmdb_read_end(&ob->db->lmdb, txn);
	ob->acked_durable = ob->acked_seq;
	if (ob->epoch != 0 && cfg->store_id[0] && strcmp(cfg->store_id, ob->store_id) != 0) {
		snprintf(err, errlen, "data directory %s belongs to store %s, not %s",
			cfg->data_dir, ob->store_id, cfg->store_id);
		return SS_EINVAL;
	}
	return SS_OK;
}

int outbox_open(struct agent_outbox *ob, struct agent_db *db, const struct agent_config *cfg,
	char *err, size_t errlen)
{
	int rc;

	memset(ob, 0, sizeof *ob);
	ob->db = db;
	ob->retention_ms = cfg->retention_ms;
	if ((rc = load_meta(ob, cfg, err, errlen)) != 0)
		return rc;
	if (ob->epoch != 0)
		return SS_OK;
	if (!cfg->store_id[0]) {
		snprintf(err, errlen, "new data directory %s needs --store-id", cfg->data_dir);
		return SS_EINVAL;
	}
	snprintf(ob->store_id, sizeof ob->store_id, "%s", cfg->store_id);
	while (ob->epoch == 0)
		if (ss_fs_random64(&ob->epoch) != 0) {
			snprintf(err, errlen, "cannot draw a random epoch");
			return SS_EIO;
		}
	ob->first_seq = 1;
	return ss_lmdb_write(&db->lmdb, init_meta, ob, err, errlen);
}

void outbox_txn_begin(struct outbox_txn *t, struct agent_outbox *ob, MDB_txn *txn,
	int64_t now_ms)
{
	t->ob = ob;
	t->txn = txn;
	t->now_ms = now_ms;
	t->epoch = ob->epoch;
	t->acked_seq = ob->acked_seq;
	t->last_seq = ob->last_seq;
	t->first_seq = ob->first_seq;
	t->used_bytes = ob->used_bytes;
	t->pruned = 0;
	t->other_age = OTHER_REMEASURE;
}

/* Deletes the oldest kept record; only called when it is acknowledged. */
static int evict_oldest(struct outbox_txn *t)
{
	MDB_txn *txn = t->txn;
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	int rc;

	ss_be64_put(key, t->first_seq);
	rc = mdb_get(txn, t->ob->db->records, &k, &d);
	if (rc == 0) {
		uint64_t cost = d.mv_size + ENTRY_OVERHEAD_BYTES;

		t->used_bytes = t->used_bytes > cost ? t->used_bytes - cost : 0;
		rc = mdb_del(txn, t->ob->db->records, &k, NULL);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	t->first_seq++;
	t->pruned++;
	return 0;
}

int outbox_txn_end(struct outbox_txn *t)
{
	struct agent_db *db = t->ob->db;
	int rc = agent_db_meta_put(db, t->txn, "last_seq", t->last_seq);

	if (rc == 0)
		rc = agent_db_meta_put(db, t->txn, "first_seq", t->first_seq);
	if (rc == 0)
		rc = agent_db_meta_put(db, t->txn, "used", t->used_bytes);
	if (rc == 0)
		rc = agent_db_meta_put(db, t->txn, "acked", t->acked_seq);
	if (rc == 0 && t->epoch != t->ob->epoch)
		rc = agent_db_meta_put(db, t->txn, "epoch", t->epoch);
	return rc;
}

/* Record seq, unpacked (NULL when absent or unreadable: *rc says which). */
static Storesync__Record *record_get(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, int *rc)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	Storesync__Record *r;

	ss_be64_put(key, seq);
	if ((*rc = mdb_get(txn, dbi, &k, &d)) != 0)
		return NULL;
	r = (Storesync__Record *)ss_proto_unpack(&storesync__record__descriptor, d.mv_data,
		d.mv_size, SS_MAX_MSG_BYTES);
	*rc = r ? 0 : SS_EIO;
	return r;
}

static int record_put(MDB_txn *txn, MDB_dbi dbi, const Storesync__Record *r, uint64_t *bytes)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	int rc;

	ss_be64_put(key, r->seq);
	d.mv_size = storesync__record__get_packed_size(r);
	if ((rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE)) != 0)
		return rc;
	storesync__record__pack(r, d.mv_data);
	*bytes = d.mv_size;
	return 0;
}

/* Deletes every record keyed above seq. */
static int drop_above(MDB_txn *txn, MDB_dbi dbi, uint64_t seq)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);

	if (rc != 0)
		return rc;
	ss_be64_put(key, seq + 1);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int outbox_txn_reepoch(struct outbox_txn *t, uint64_t new_epoch, uint64_t from_seq,
	int (*moved)(void *arg, const Storesync__Record *r, uint64_t old_seq), void *arg,
	uint64_t *dropped)
{
	MDB_dbi dbi = t->ob->db->records;
	uint64_t shift = from_seq - 1, n = 0, used = 0;
	int rc = 0;

	/* In seq order, record k goes to k - shift: that key held a record
	 * that leaves (before from_seq) or one moved already, never one still
	 * to move. What lies above the new last seq goes afterwards. */
	for (uint64_t k = from_seq; k <= t->last_seq && rc == 0; k++) {
		Storesync__Record *r = record_get(t->txn, dbi, k, &rc);
		uint64_t bytes = 0;

		if (!r)
			return rc == MDB_NOTFOUND ? SS_EIO : rc;
		r->seq = k - shift;
		r->has_seq = 1;
		if ((rc = record_put(t->txn, dbi, r, &bytes)) == 0)
			rc = moved(arg, r, k);
		used += bytes + ENTRY_OVERHEAD_BYTES;
		n++;
		storesync__record__free_unpacked(r, NULL);
	}
	if (rc == 0)
		rc = drop_above(t->txn, dbi, n);
	if (rc != 0)
		return rc;
	*dropped = from_seq > t->first_seq ? from_seq - t->first_seq : 0;
	t->epoch = new_epoch;
	t->last_seq = n;
	t->first_seq = 1;
	t->acked_seq = 0;
	t->used_bytes = used;
	return 0;
}

/* The budget left for records: what the other databases do not occupy,
 * less what the caller will add to them. Measuring those databases takes a
 * walk over all of them, and between two records they grow by at most the
 * pages one record adds (reserve_bytes), so while the room left exceeds
 * OTHER_REMEASURE records' growth and cost they are measured only every
 * OTHER_REMEASURE appends: a record is refused or evicts exactly when
 * measuring at every append would (issue 7: 4 % of the agent's intake). */
static uint64_t records_budget(struct outbox_txn *t, uint64_t reserve_bytes, uint64_t cost)
{
	uint64_t budget = t->ob->db->budget_bytes, taken;
	uint64_t margin = OTHER_REMEASURE * (reserve_bytes + cost);

	taken = t->other_bytes + reserve_bytes;
	if (t->other_age >= OTHER_REMEASURE || taken + t->used_bytes + margin >= budget) {
		t->other_bytes = agent_db_other_bytes(t->ob->db, t->txn);
		t->other_age = 0;
		taken = t->other_bytes + reserve_bytes;
	}
	t->other_age++;
	return taken < budget ? budget - taken : 0;
}

int outbox_txn_append(struct outbox_txn *t, struct outbox_slot *s, uint64_t reserve_bytes)
{
	uint64_t budget, cost;
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	int rc;

	s->seq = 0;
	s->full = 0;
	s->packed = NULL;
	s->packed_len = 0;
	s->record->seq = t->last_seq + 1;
	s->record->has_seq = 1;
	s->record->recorded_ms = t->now_ms;
	s->record->has_recorded_ms = 1;
	d.mv_size = storesync__record__get_packed_size(s->record);
	cost = d.mv_size + ENTRY_OVERHEAD_BYTES;
	budget = records_budget(t, reserve_bytes, cost);
	/* When the other databases leave no room for this record even with
	 * every record gone, evicting would only lose the retained copies a
	 * restored hub may need: refuse at once. */
	while (cost <= budget && t->used_bytes + cost > budget && t->first_seq <= t->ob->acked_seq
		&& t->first_seq <= t->last_seq)
		if ((rc = evict_oldest(t)) != 0)
			return rc;
	if (t->used_bytes + cost > budget) {
		s->full = 1;
		return 0;
	}
	ss_be64_put(key, s->record->seq);
	/* Keys only grow, so MDB_APPEND is safe; MDB_RESERVE packs in place. */
	rc = mdb_put(t->txn, t->ob->db->records, &k, &d, MDB_APPEND | MDB_RESERVE);
	if (rc != 0)
		return rc;
	storesync__record__pack(s->record, d.mv_data);
	t->used_bytes += cost;
	t->last_seq = s->record->seq;
	s->seq = s->record->seq;
	s->packed = d.mv_data;
	s->packed_len = d.mv_size;
	return 0;
}

/* Slots of one outbox_append call. */
struct append_args {
	struct outbox_txn t;
	struct agent_outbox *ob;
	struct outbox_slot *slots;
	size_t n;
	int64_t now_ms;
};

static int append_body(MDB_txn *txn, void *arg)
{
	struct append_args *a = arg;
	int full = 0, rc;

	outbox_txn_begin(&a->t, a->ob, txn, a->now_ms);
	for (size_t i = 0; i < a->n; i++) {
		struct outbox_slot *s = &a->slots[i];

		s->seq = 0;
		s->full = full;
		if (full)
			continue;
		if ((rc = outbox_txn_append(&a->t, s, 0)) != 0)
			return rc;
		/* Keep order: once one record does not fit, later ones do not go in
		 * ahead of it. */
		full = s->full;
	}
	return outbox_txn_end(&a->t);
}

void outbox_txn_adopt(const struct outbox_txn *t)
{
	t->ob->epoch = t->epoch;
	t->ob->last_seq = t->last_seq;
	t->ob->first_seq = t->first_seq;
	t->ob->used_bytes = t->used_bytes;
	t->ob->acked_seq = t->ob->acked_durable = t->acked_seq;
}

int outbox_append(struct agent_outbox *ob, struct outbox_slot *slots, size_t n, int64_t now_ms,
	char *err, size_t errlen)
{
	struct append_args a = { .ob = ob, .slots = slots, .n = n, .now_ms = now_ms };
	int rc = ss_lmdb_write(&ob->db->lmdb, append_body, &a, err, errlen);

	if (rc != 0) {
		/* Nothing is stored: no slot may claim a seq or a budget verdict
		 * from the abandoned transaction. */
		for (size_t i = 0; i < n; i++) {
			slots[i].seq = 0;
			slots[i].full = 0;
		}
		return rc;
	}
	outbox_txn_adopt(&a.t);
	return SS_OK;
}

void outbox_set_acked(struct agent_outbox *ob, uint64_t seq)
{
	ob->acked_seq = seq > ob->last_seq ? ob->last_seq : seq;
}

/* recorded_ms of record seq, or -1 when it is not kept. */
static int64_t recorded_ms_of(MDB_txn *txn, MDB_dbi dbi, uint64_t seq)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	Storesync__Record *r;
	int64_t ms = -1;

	ss_be64_put(key, seq);
	if (mdb_get(txn, dbi, &k, &d) != 0)
		return -1;
	r = (Storesync__Record *)ss_proto_unpack(&storesync__record__descriptor, d.mv_data,
		d.mv_size, SS_MAX_MSG_BYTES);
	if (r) {
		ms = r->recorded_ms;
		storesync__record__free_unpacked(r, NULL);
	}
	return ms;
}

/* One outbox_maintain run. */
struct maintain_args {
	struct outbox_txn t;
	struct agent_outbox *ob;
	int64_t now_ms;
};

static int maintain_body(MDB_txn *txn, void *arg)
{
	struct maintain_args *a = arg;
	struct outbox_txn *t = &a->t;
	int64_t horizon_ms = a->now_ms - a->ob->retention_ms;
	int rc;

	outbox_txn_begin(t, a->ob, txn, a->now_ms);
	while (t->first_seq <= t->ob->acked_seq && t->pruned < PRUNE_MAX_PER_TXN) {
		int64_t ms = recorded_ms_of(txn, t->ob->db->records, t->first_seq);

		if (ms >= horizon_ms)
			break;
		if ((rc = evict_oldest(t)) != 0)
			return rc;
	}
	return outbox_txn_end(t);
}

int outbox_maintain(struct agent_outbox *ob, int64_t now_ms, char *err, size_t errlen)
{
	struct maintain_args a = { .ob = ob, .now_ms = now_ms };
	struct ss_lmdb *lmdb = &ob->db->lmdb;
	MDB_txn *txn;
	int64_t oldest = -1;
	int rc;

	/* Skip the fsync when there is nothing to persist or prune. */
	if (ob->first_seq <= ob->acked_seq && ss_lmdb_read_begin(lmdb, &txn) == 0) {
		oldest = recorded_ms_of(txn, ob->db->records, ob->first_seq);
		ss_lmdb_read_end(lmdb, txn);
	}
	if (ob->acked_durable == ob->acked_seq && (oldest < 0 || oldest >= now_ms - ob->retention_ms))
		return SS_OK;
	rc = ss_lmdb_write(lmdb, maintain_body, &a, err, errlen);
	if (rc == 0)
		outbox_txn_adopt(&a.t);
	return rc;
}

int outbox_each_packed(struct agent_outbox *ob, uint64_t from_seq, size_t max,
	outbox_packed_fn fn, void *arg, size_t *n_out)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	MDB_cursor *cur;
	MDB_txn *txn;
	size_t n = 0;
	int rc, took = 0;

	*n_out = 0;
	if (ss_lmdb_read_begin(&ob->db->lmdb, &txn) != 0)
		return SS_EIO;
	if (mdb_cursor_open(txn, ob->db->records, &cur) != 0) {
		ss_lmdb_read_end(&ob->db->lmdb, txn);
		return SS_EIO;
	}
	ss_be64_put(key, from_seq);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0 && n < max;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (ss_be64_get(k.mv_data) != from_seq + n || (took = fn(arg, d.mv_data, d.mv_size)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(cur);
	ss_lmdb_read_end(&ob->db->lmdb, txn);
	*n_out = n;
	return took < 0 ? SS_EIO : SS_OK;
}

/* outbox_read's collector: each record unpacked into its array. */
struct read_args {
	Storesync__Record **recs;
	size_t n;
};

static int read_one(void *arg, const void *data, size_t len)
{
	struct read_args *r = arg;
	Storesync__Record *rec = (Storesync__Record *)ss_proto_unpack(
		&storesync__record__descriptor, data, len, SS_MAX_MSG_BYTES);

	if (!rec)
		return 1;   /* stop before it: unreadable */
	r->recs[r->n++] = rec;
	return 0;
}

int outbox_read(struct agent_outbox *ob, uint64_t from_seq, size_t max,
	Storesync__Record ***out, size_t *n_out)
{
	struct read_args r = { calloc(max ? max : 1, sizeof *r.recs), 0 };
	size_t n;
	int rc;

	/* Set first: a caller frees *out whatever the outcome. */
	*out = NULL;
	*n_out = 0;
	if (!r.recs)
		return SS_EIO;
	if ((rc = outbox_each_packed(ob, from_seq, max, read_one, &r, &n)) != SS_OK) {
		for (size_t i = 0; i < r.n; i++)
			storesync__record__free_unpacked(r.recs[i], NULL);
		free(r.recs);
		return rc;
	}
	*out = r.recs;
	*n_out = r.n;
	return SS_OK;
}

int64_t outbox_oldest_unacked_ms(struct agent_outbox *ob)
{
	/* After a restore the hub may lack records already pruned here: the
	 * oldest one still kept is then the oldest it will get. */
	uint64_t oldest = ob->acked_seq + 1 > ob->first_seq ? ob->acked_seq + 1 : ob->first_seq;
	MDB_txn *txn;
	int64_t ms;

	if (ob->acked_seq >= ob->last_seq || ss_lmdb_read_begin(&ob->db->lmdb, &txn) != 0)
		return 0;
	ms = recorded_ms_of(txn, ob->db->records, oldest);
	ss_lmdb_read_end(&ob->db->lmdb, txn);
	return ms < 0 ? 0 : ms;
}
