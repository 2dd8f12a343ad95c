/* test_lmdb: common/ss_lmdb on real LMDB in a temporary directory. Checks that
 * ss_lmdb_write commits what its body wrote and nothing when the body fails;
 * that MDB_MAP_FULL grows the map and replays the body from scratch; that
 * past the maximum it returns SS_EFULL with a reason and leaves earlier
 * commits as they were (and the database usable); that a grown map is kept
 * on reopen; and that the big-endian key helpers sort numerically, as bytes
 * and as LMDB keys. */
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_lmdb.h"
#include "testlib.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* What a write body does: put keys from..from+count-1 with value_bytes each
 * (fill byte = key's low byte), then return rc_after. */
struct put_job {
	MDB_dbi dbi;
	uint64_t from, count;
	size_t value_bytes;
	int rc_after;
	int calls;
};

static int put_body(MDB_txn *txn, void *arg)
{
	struct put_job *j = arg;
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	int rc;

	j->calls++;
	for (uint64_t i = 0; i < j->count; i++) {
		ss_be64_put(key, j->from + i);
		d.mv_size = j->value_bytes;
		/* NOOVERWRITE: a replay that saw a previous attempt's puts would fail. */
		if ((rc = mdb_put(txn, j->dbi, &k, &d, MDB_NOOVERWRITE | MDB_RESERVE)) != 0)
			return rc;
		memset(d.mv_data, (int)((j->from + i) & 0xff), j->value_bytes);
	}
	return j->rc_after;
}

static void open_db(struct ss_lmdb *db, MDB_dbi *dbi, const struct tl_env *e, size_t initial,
	size_t max)
{
	char dir[320], err[256] = "";

	snprintf(dir, sizeof dir, "%s/db", e->dir);
	ck_assert_msg(ss_lmdb_open(db, dir, 2, initial, max, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(ss_lmdb_dbi(db, "t", 0, dbi, err, sizeof err) == 0, "%s", err);
}

static int write_job(struct ss_lmdb *db, struct put_job *j, char *err, size_t errlen)
{
	err[0] = '\0';
	return ss_lmdb_write(db, put_body, j, err, errlen);
}

static size_t entries(struct ss_lmdb *db, MDB_dbi dbi)
{
	MDB_txn *txn;
	MDB_stat st;

	ck_assert_int_eq(ss_lmdb_read_begin(db, &txn), 0);
	ck_assert_int_eq(mdb_stat(txn, dbi, &st), 0);
	ss_lmdb_read_end(db, txn);
	return st.ms_entries;
}

/* Asserts keys from..from+count-1 hold their values of value_bytes. */
static void expect_keys(struct ss_lmdb *db, MDB_dbi dbi, uint64_t from, uint64_t count,
	size_t value_bytes)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	MDB_txn *txn;

	ck_assert_int_eq(ss_lmdb_read_begin(db, &txn), 0);
	for (uint64_t i = 0; i < count; i++) {
		ss_be64_put(key, from + i);
		ck_assert_int_eq(mdb_get(txn, dbi, &k, &d), 0);
		ck_assert_uint_eq(d.mv_size, value_bytes);
		ck_assert_uint_eq(((uint8_t *)d.mv_data)[value_bytes - 1], (from + i) & 0xff);
	}
	ss_lmdb_read_end(db, txn);
}

START_TEST(write_commits_what_the_body_wrote)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job j = { .from = 1, .count = 10, .value_bytes = 16 };
	char err[256];

	tl_env_init(&e);
	open_db(&db, &dbi, &e, MIB, 4 * MIB);
	j.dbi = dbi;
	ck_assert_msg(write_job(&db, &j, err, sizeof err) == SS_OK, "%s", err);
	ck_assert_int_eq(j.calls, 1);
	ck_assert_uint_eq(entries(&db, dbi), 10);
	ss_lmdb_close(&db);
	open_db(&db, &dbi, &e, MIB, 4 * MIB);
	expect_keys(&db, dbi, 1, 10, 16);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(failing_body_aborts)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job j = { .from = 1, .count = 10, .value_bytes = 16, .rc_after = SS_EINVAL };
	char err[256];

	tl_env_init(&e);
	open_db(&db, &dbi, &e, MIB, 4 * MIB);
	j.dbi = dbi;
	ck_assert_int_eq(write_job(&db, &j, err, sizeof err), SS_EINVAL);
	ck_assert_int_eq(j.calls, 1);
	ck_assert_uint_eq(entries(&db, dbi), 0);
	/* An LMDB error from the body: SS_EIO with LMDB's reason. */
	j.rc_after = MDB_KEYEXIST;
	ck_assert_int_eq(write_job(&db, &j, err, sizeof err), SS_EIO);
	ck_assert_msg(strstr(err, mdb_strerror(MDB_KEYEXIST)) != NULL, "reason: %s", err);
	ck_assert_uint_eq(entries(&db, dbi), 0);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(map_full_grows_and_replays)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job j = { .from = 1, .value_bytes = 1000 };
	size_t map0;
	char err[256];

	tl_env_init(&e);
	open_db(&db, &dbi, &e, 64 * KIB, 8 * MIB);
	map0 = db.map_bytes;
	ck_assert_uint_lt(map0, 8 * MIB);
	/* One transaction of twice the map's size. */
	j.dbi = dbi;
	j.count = 2 * map0 / j.value_bytes;
	ck_assert_msg(write_job(&db, &j, err, sizeof err) == SS_OK, "%s", err);
	ck_assert_uint_gt(db.map_bytes, map0);
	ck_assert_uint_le(db.map_bytes, 8 * MIB);
	ck_assert_int_ge(j.calls, 2);
	ck_assert_uint_eq(entries(&db, dbi), j.count);
	expect_keys(&db, dbi, 1, j.count, j.value_bytes);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(past_max_is_full_and_keeps_earlier_commits)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job small = { .from = 1, .count = 50, .value_bytes = 100 };
	struct put_job big = { .from = 1000, .count = 8 * MIB / 1000, .value_bytes = 1000 };
	char err[256];

	tl_env_init(&e);
	open_db(&db, &dbi, &e, 64 * KIB, 4 * MIB);
	small.dbi = big.dbi = dbi;
	ck_assert_msg(write_job(&db, &small, err, sizeof err) == SS_OK, "%s", err);
	ck_assert_int_eq(write_job(&db, &big, err, sizeof err), SS_EFULL);
	ck_assert_msg(strstr(err, "budget") != NULL, "reason: %s", err);
	ck_assert_uint_eq(db.map_bytes, 4 * MIB);
	ck_assert_uint_eq(entries(&db, dbi), 50);
	expect_keys(&db, dbi, 1, 50, 100);
	/* Still usable for writes that fit. */
	small.from = 100;
	ck_assert_msg(write_job(&db, &small, err, sizeof err) == SS_OK, "%s", err);
	ck_assert_uint_eq(entries(&db, dbi), 100);
	ss_lmdb_close(&db);
	open_db(&db, &dbi, &e, 64 * KIB, 4 * MIB);
	expect_keys(&db, dbi, 1, 50, 100);
	expect_keys(&db, dbi, 100, 50, 100);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

/* Many modest commits until full: every commit before the refusal stays. */
START_TEST(filling_by_small_commits_stops_cleanly)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job j = { .count = 100, .value_bytes = 1000 };
	uint64_t committed = 0;
	char err[256];
	int rc = SS_OK;

	tl_env_init(&e);
	open_db(&db, &dbi, &e, 64 * KIB, 2 * MIB);
	j.dbi = dbi;
	for (int i = 0; i < 1000 && rc == SS_OK; i++) {
		j.from = committed + 1;
		rc = write_job(&db, &j, err, sizeof err);
		if (rc == SS_OK)
			committed += j.count;
	}
	ck_assert_int_eq(rc, SS_EFULL);
	ck_assert_uint_gt(committed, 0);
	ck_assert_uint_eq(entries(&db, dbi), committed);
	expect_keys(&db, dbi, 1, committed, j.value_bytes);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(grown_map_kept_on_reopen)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job j = { .from = 1, .value_bytes = 1000 };
	size_t grown;
	char err[256];

	tl_env_init(&e);
	open_db(&db, &dbi, &e, 64 * KIB, 8 * MIB);
	j.dbi = dbi;
	j.count = 2 * db.map_bytes / j.value_bytes;
	ck_assert_msg(write_job(&db, &j, err, sizeof err) == SS_OK, "%s", err);
	grown = db.map_bytes;
	ss_lmdb_close(&db);
	open_db(&db, &dbi, &e, 64 * KIB, 8 * MIB);
	ck_assert_uint_ge(db.map_bytes, grown);
	expect_keys(&db, dbi, 1, j.count, j.value_bytes);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

static const uint64_t samples[] = {
	0, 1, 255, 256, 65535, 65536, 1ULL << 32, (1ULL << 32) + 1, 1ULL << 56,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, UINT64_MAX - 1, UINT64_MAX,
};
#define N_SAMPLES (sizeof samples / sizeof samples[0])

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

START_TEST(big_endian_sorts_numerically)
{
	uint8_t a[8], b[8];

	for (size_t i = 0; i < N_SAMPLES; i++) {
		ss_be64_put(a, samples[i]);
		ck_assert_uint_eq(ss_be64_get(a), samples[i]);
		for (size_t k = 0; k < N_SAMPLES; k++) {
			int want = (samples[i] > samples[k]) - (samples[i] < samples[k]);

			ss_be64_put(b, samples[k]);
			ck_assert_int_eq(sign(memcmp(a, b, 8)), want);
		}
	}
	ss_be64_put(a, 0x0102030405060708ULL);
	ck_assert_uint_eq(a[0], 1);
	ck_assert_uint_eq(a[7], 8);
}
END_TEST

/* Keys put in scrambled order come back from a cursor in numeric order. */
START_TEST(lmdb_cursor_follows_numeric_order)
{
	struct tl_env e;
	struct ss_lmdb db;
	MDB_dbi dbi;
	struct put_job j = { .count = 1, .value_bytes = 8 };
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, d;
	size_t n = 0;
	char err[256];

	tl_env_init(&e);
	open_db(&db, &dbi, &e, MIB, 4 * MIB);
	j.dbi = dbi;
	for (size_t i = 0; i < N_SAMPLES; i++) {
		j.from = samples[(i * 5) % N_SAMPLES];  /* 5 is prime to 13: a permutation */
		ck_assert_msg(write_job(&db, &j, err, sizeof err) == SS_OK, "%s", err);
	}
	ck_assert_int_eq(ss_lmdb_read_begin(&db, &txn), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		ck_assert_uint_lt(n, N_SAMPLES);
		ck_assert_uint_eq(ss_be64_get(k.mv_data), samples[n]);
		n++;
	}
	mdb_cursor_close(cur);
	ss_lmdb_read_end(&db, txn);
	ck_assert_uint_eq(n, N_SAMPLES);
	ss_lmdb_close(&db);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		write_commits_what_the_body_wrote, failing_body_aborts, map_full_grows_and_replays,
		past_max_is_full_and_keeps_earlier_commits, filling_by_small_commits_stops_cleanly,
		grown_map_kept_on_reopen, big_endian_sorts_numerically,
		lmdb_cursor_follows_numeric_order,
	};

	return tl_run("lmdb", tests, sizeof tests / sizeof tests[0], 60);
}
