/* agent_db: the store agent's one LMDB environment and every named database
 * in it. The agent owns the environment; each module works on its own dbis:
 *
 *   records   seq (u64 BE) -> packed Record                    agent_outbox
 *   meta      name -> u64 BE (store_id: its text)              outbox, apply
 *             "format": the directory's on-disk format         agent_db
 *   price_lists  effective (u64 BE) update (u64 BE) -> a sorted list (agent_prices.c)
 *             -> packed DatedPrice                             agent_dated
 *   policies  name '\0' effective update -> DatedPolicy        agent_dated
 *   notices   account '\0' since_ms (u64 BE)
 *             -> packed CollectionNotice                       agent_apply
 *   requests  request_no -> packed RequestState                agent_requests
 *   staging   part (u32 BE) -> packed Snapshot                 agent_apply
 *   keys      kind, business key -> seq, time_ms, hash         agent_keys
 *   key_age   key_base + seq (u64 BE) -> recorded_ms, key       agent_keys
 *   balances  account -> balance_fen (i64 BE)                  agent_enforce
 *
 * Budget invariant: one disk budget covers every database. The outbox counts
 * its records exactly (packed size + key + a fixed per-entry overhead, the
 * outbox's used_bytes), because it evicts acknowledged records one by one to
 * make room. Every other database is counted by the pages it occupies, as
 * the transaction at hand sees them (mdb_stat: branch + leaf + overflow
 * pages times the page size): agent_db_other_bytes. A submit is refused
 * ("buffer full") when the outbox's bytes plus the other databases' bytes
 * plus the new record, plus room for the pages its business key and
 * request state may add to the other databases, would pass the budget; an
 * update from the hub is not applied (nor acknowledged) when it would take
 * the sum past the budget. The map may grow to twice the
 * budget plus slack, for B-tree and copy-on-write pages neither count sees. */
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "ss_format.h"

/* Every database by name and where its handle lives in struct agent_db. */
static const struct {
	const char *name;
	size_t offset;
} tables[] = {
	{ "records", offsetof(struct agent_db, records) },
	{ "meta", offsetof(struct agent_db, meta) },
	{ "price_lists", offsetof(struct agent_db, prices) },
	{ "policies", offsetof(struct agent_db, policies) },
	{ "notices", offsetof(struct agent_db, notices) },
	{ "requests", offsetof(struct agent_db, requests) },
	{ "staging", offsetof(struct agent_db, staging) },
	{ "keys", offsetof(struct agent_db, keys) },
	{ "key_age", offsetof(struct agent_db, key_age) },
	{ "balances", offsetof(struct agent_db, balances) },
};

#define N_TABLES (sizeof tables / sizeof tables[0])
static_assert(N_TABLES <= AGENT_DB_MAX_DBS, "room for every database");

/* The migrations: migrations[n] turns format n into n + 1, in the start's
 * one write transaction (arg: the struct agent_db). None yet: format 1 is
 * 0.1.0's, which stamping alone makes current. */
static const ss_format_step_fn migrations[AGENT_DB_FORMAT] = { NULL };

static MDB_dbi *dbi_of(struct agent_db *db, size_t i)
{
	return (MDB_dbi *)((char *)db + tables[i].offset);
}

/* key_base as the last reepoch left it (0 when none). */
static int load_key_base(struct agent_db *db, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = ss_lmdb_read_begin(&db->lmdb, &txn);

	if (rc != 0) {
		snprintf(err, errlen, "cannot read %s: %s", "meta", mdb_strerror(rc));
		ss_lmdb_close(&db->lmdb);
		return SS_EIO;
	}
	agent_db_meta_get(db, txn, "key_base", &db->key_base);
	ss_lmdb_read_end(&db->lmdb, txn);
	return SS_OK;
}

int agent_db_open(struct agent_db *db, const char *dir, int64_t budget_bytes, char *err,
	size_t errlen)
{
	size_t max_map = (size_t)budget_bytes * 2 + (64u << 20);
	size_t initial = max_map < (256u << 20) ? max_map : (256u << 20);
	struct ss_format format = { .program = "store-agent", .dir = dir, .meta = "meta",
		.current = AGENT_DB_FORMAT, .steps = migrations, .arg = db };
	uint64_t found;
	MDB_stat st;
	int rc;

	memset(db, 0, sizeof *db);
	db->budget_bytes = (uint64_t)budget_bytes;
	rc = ss_lmdb_open(&db->lmdb, dir, AGENT_DB_MAX_DBS, initial, max_map, err, errlen);
	/* A newer format is refused before a database is created in it. */
	if (rc == 0)
		rc = ss_format_check(&db->lmdb, &format, &found, err, errlen);
	for (size_t i = 0; rc == 0 && i < N_TABLES; i++)
		rc = ss_lmdb_dbi(&db->lmdb, tables[i].name, 0, dbi_of(db, i), err, errlen);
	if (rc == 0)
		rc = ss_format_migrate(&db->lmdb, db->meta, &format, found, err, errlen);
	if (rc != 0) {
		ss_lmdb_close(&db->lmdb);
		return rc;
	}
	mdb_env_stat(db->lmdb.env, &st);
	db->page_bytes = st.ms_psize;
	return load_key_base(db, err, errlen);
}

void agent_db_close(struct agent_db *db)
{
	ss_lmdb_close(&db->lmdb);
}

uint64_t agent_db_other_bytes(struct agent_db *db, MDB_txn *txn)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < N_TABLES; i++) {
		MDB_stat st;

		if (dbi_of(db, i) == &db->records || mdb_stat(txn, *dbi_of(db, i), &st) != 0)
			continue;
		bytes += (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages)
			* st.ms_psize;
	}
	return bytes;
}

int agent_db_other_bytes_now(struct agent_db *db, uint64_t *bytes)
{
	MDB_txn *txn;
	int rc = ss_lmdb_read_begin(&db->lmdb, &txn);

	if (rc != 0)
		return SS_EIO;
	*bytes = agent_db_other_bytes(db, txn);
	ss_lmdb_read_end(&db->lmdb, txn);
	return SS_OK;
}

int agent_db_meta_get(struct agent_db *db, MDB_txn *txn, const char *name, uint64_t *v)
{
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc = mdb_get(txn, db->meta, &k, &d);

	if (rc == 0 && d.mv_size == 8)
		*v = ss_be64_get(d.mv_data);
	return rc;
}

int agent_db_meta_put(struct agent_db *db, MDB_txn *txn, const char *name, uint64_t v)
{
	uint8_t buf[8];
	MDB_val k = { strlen(name), (void *)name }, d = { 8, buf };

	ss_be64_put(buf, v);
	return mdb_put(txn, db->meta, &k, &d, 0);
}
