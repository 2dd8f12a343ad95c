/* agent_keys: where a record is recognised as one the store already has
 * (guarantee 8: retries are safe).
 *
 * Every record kind has a business key within the store: receipt_no (sale),
 * contract_no, payment_no, refund_no, case_no (complaint), case_no + step
 * (complaint progress), request_no (replenishment), move_no (inventory).
 *
 *   keys     kind (1 byte: the Record body) key [ '\0' step ]
 *            -> seq (u64 BE), time_ms (u64 BE), content hash (32 bytes)
 *   key_age  key_base + seq (u64 BE) -> recorded_ms (u64 BE), the keys key
 *
 * Key and content hash (BLAKE2b-256 of what the till sent) are computed by
 * common/ss_bizkey.c, the definition the hub shares.
 *
 * Invariants:
 *  - A key and its record are committed in the same transaction, so a key
 *    exists exactly when its record got a seq. A record whose key exists with
 *    the same hash is the same record: the submit answers the original seq
 *    and writes nothing. The same key with another hash is refused. Checks
 *    run inside the submit transaction, which also holds the keys written by
 *    earlier records of the round, so two records with one key in one
 *    request are judged like a resubmission.
 *  - A reepoch (agent_reepoch.c) renumbers the records it moves: their keys
 *    name the new seqs, their age entries move past every older one
 *    (key_base), so the age index still runs oldest first.
 *  - Keys live at least as long as the outbox keeps records (retention),
 *    the return window in force, and key_days: key_age is walked oldest
 *    first and only entries older than the largest of those go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_time.h"

#define ENTRY_BYTES (8 + 8 + SS_BIZKEY_HASH_BYTES)
#define PRUNE_MAX_PER_TXN 20000u

int keys_check(struct agent_db *db, MDB_txn *txn, const struct ss_bizkey *k,
	const Storesync__Record *r, uint64_t *seq, char *reason, size_t len)
{
	MDB_val key = { k->len, (void *)k->bytes }, d;
	char text[SS_BIZKEY_ID_MAX + 48];
	uint8_t hash[SS_BIZKEY_HASH_BYTES];
	int rc = mdb_get(txn, db->keys, &key, &d);

	if (rc == MDB_NOTFOUND)
		return KEYS_NEW;
	if (rc != 0)
		return rc;
	if (d.mv_size != ENTRY_BYTES)
		return SS_EIO;
	*seq = ss_be64_get(d.mv_data);
	/* Only a key the store has needs r's hash: a new record's comes from
	 * its packing in the outbox (keys_put's caller), without a second. */
	if (ss_bizkey_hash(r, hash) != 0)
		return SS_EIO;
	if (memcmp((const uint8_t *)d.mv_data + 16, hash, SS_BIZKEY_HASH_BYTES) == 0)
		return KEYS_SAME;
	ss_bizkey_text(k, text, sizeof text);
	snprintf(reason, len, "%s already recorded as seq %llu with different content", text,
		(unsigned long long)*seq);
	return KEYS_CONFLICT;
}

int keys_put(struct agent_db *db, MDB_txn *txn, const struct ss_bizkey *k,
	const uint8_t hash[SS_BIZKEY_HASH_BYTES], const Storesync__Record *r)
{
	uint8_t entry[ENTRY_BYTES], seq[8], age[8 + SS_BIZKEY_MAX];
	MDB_val key = { k->len, (void *)k->bytes }, d = { sizeof entry, entry };
	MDB_val ak = { 8, seq }, ad = { 8 + k->len, age };
	int rc;

	ss_be64_put(entry, r->seq);
	ss_be64_put(entry + 8, (uint64_t)r->time_ms);
	memcpy(entry + 16, hash, SS_BIZKEY_HASH_BYTES);
	if ((rc = mdb_put(txn, db->keys, &key, &d, 0)) != 0)
		return rc;
	ss_be64_put(seq, db->key_base + r->seq);
	ss_be64_put(age, (uint64_t)r->recorded_ms);
	memcpy(age + 8, k->bytes, k->len);
	/* Seqs only grow (and a reepoch raises key_base past every entry):
	 * MDB_APPEND keeps the age index cheap to write. */
	return mdb_put(txn, db->key_age, &ak, &ad, MDB_APPEND);
}

int keys_renumber(struct agent_db *db, MDB_txn *txn, const Storesync__Record *r,
	uint64_t old_seq, uint64_t base_old, uint64_t base_new)
{
	uint8_t entry[ENTRY_BYTES], old_age[8], new_age[8], value[8 + SS_BIZKEY_MAX];
	MDB_val ak = { 8, old_age }, nk = { 8, new_age }, key, d;
	struct ss_bizkey k;
	int rc;

	if (ss_bizkey_of(r, &k) != 0)
		return 0;
	key = (MDB_val){ k.len, k.bytes };
	if ((rc = mdb_get(txn, db->keys, &key, &d)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (d.mv_size != ENTRY_BYTES || ss_be64_get(d.mv_data) != old_seq)
		return 0;   /* not this record's entry */
	memcpy(entry, d.mv_data, ENTRY_BYTES);
	ss_be64_put(entry, r->seq);
	d = (MDB_val){ sizeof entry, entry };
	if ((rc = mdb_put(txn, db->keys, &key, &d, 0)) != 0)
		return rc;
	ss_be64_put(old_age, base_old + old_seq);
	if ((rc = mdb_get(txn, db->key_age, &ak, &d)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0 || d.mv_size > sizeof value)
		return rc ? rc : SS_EIO;
	memcpy(value, d.mv_data, d.mv_size);
	d.mv_data = value;
	if ((rc = mdb_del(txn, db->key_age, &ak, NULL)) != 0)
		return rc;
	ss_be64_put(new_age, base_new + r->seq);
	return mdb_put(txn, db->key_age, &nk, &d, MDB_APPEND);
}

int keys_find_sale(struct agent_db *db, MDB_txn *txn, const char *receipt_no, uint64_t *seq,
	int64_t *time_ms)
{
	struct ss_bizkey k;
	size_t n = strlen(receipt_no);
	MDB_val key, d;
	int rc;

	if (n == 0 || n > SS_BIZKEY_ID_MAX)
		return MDB_NOTFOUND;
	k.bytes[0] = STORESYNC__RECORD__BODY_SALE;
	memcpy(k.bytes + 1, receipt_no, n);
	key = (MDB_val){ n + 1, k.bytes };
	if ((rc = mdb_get(txn, db->keys, &key, &d)) != 0)
		return rc;
	if (d.mv_size != ENTRY_BYTES)
		return SS_EIO;
	*seq = ss_be64_get(d.mv_data);
	*time_ms = (int64_t)ss_be64_get((const uint8_t *)d.mv_data + 8);
	return 0;
}

/* How long keys are kept: the longest of key_days, retention and the
 * return window in force now (a return must find its receipt). */
static int64_t horizon_ms(struct agent *a, MDB_txn *txn, int64_t now_ms)
{
	struct policy_in_force window;
	int64_t days = a->cfg.key_days > a->cfg.retention_days ? a->cfg.key_days
		: a->cfg.retention_days;

	if (dated_policy_at(&a->db, txn, SS_POL_RETURN_WINDOW_DAYS, now_ms, &window) == 0
		&& window.value + 1 > days)
		days = window.value + 1;
	return now_ms - days * SS_DAY_MS;
}

struct prune_args {
	struct agent *a;
	int64_t now_ms;
	uint64_t pruned;
};

static int prune_body(MDB_txn *txn, void *arg)
{
	struct prune_args *p = arg;
	struct agent_db *db = &p->a->db;
	int64_t before_ms = horizon_ms(p->a, txn, p->now_ms);
	MDB_cursor *c;
	MDB_val k, d;
	int rc = mdb_cursor_open(txn, db->key_age, &c);

	p->pruned = 0;
	if (rc != 0)
		return rc;
	while (p->pruned < PRUNE_MAX_PER_TXN && (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST)) == 0
		&& d.mv_size > 8 && (int64_t)ss_be64_get(d.mv_data) < before_ms) {
		MDB_val key = { d.mv_size - 8, (uint8_t *)d.mv_data + 8 };

		if ((rc = mdb_del(txn, db->keys, &key, NULL)) != 0 && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		p->pruned++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* recorded_ms of the oldest key, or -1 when there is none. */
static int64_t oldest_ms(struct agent *a, int64_t now_ms, int64_t *before_ms)
{
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_val k, d;
	int64_t ms = -1;

	if (ss_lmdb_read_begin(&a->db.lmdb, &txn) != 0)
		return -1;
	*before_ms = horizon_ms(a, txn, now_ms);
	if (mdb_cursor_open(txn, a->db.key_age, &c) == 0) {
		if (mdb_cursor_get(c, &k, &d, MDB_FIRST) == 0 && d.mv_size > 8)
			ms = (int64_t)ss_be64_get(d.mv_data);
		mdb_cursor_close(c);
	}
	ss_lmdb_read_end(&a->db.lmdb, txn);
	return ms;
}

int keys_maintain(struct agent *a, int64_t now_ms, char *err, size_t errlen)
{
	struct prune_args p = { .a = a, .now_ms = now_ms };
	int64_t before_ms = 0, oldest = oldest_ms(a, now_ms, &before_ms);

	/* No write transaction (and no fsync) unless a key is due. */
	if (oldest < 0 || oldest >= before_ms)
		return SS_OK;
	return ss_lmdb_write(&a->db.lmdb, prune_body, &p, err, errlen);
}
