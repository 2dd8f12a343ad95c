/* test_outbox: the agent's LMDB outbox (store-agent/agent_outbox.c) on real
 * LMDB in a temporary directory. Checks identity (epoch drawn once, kept on
 * reopen, a directory refuses another store), seqs 1, 2, 3... committed with
 * their content, the disk budget (refuses in order, never loses a record
 * that got a seq, evicts only acknowledged records, oldest first, and
 * counts the agent's other databases too), retention
 * (drops only acknowledged records older than retention_ms, persists the
 * acknowledgement), an acknowledgement moving back (restored hub), and the
 * age of the oldest unacknowledged record. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "testlib.h"

#define SMALL_BUDGET (64 * 1024)
#define BIG_BUDGET (64LL << 20)

/* The amount a test gives the record that gets seq: lets reads check content. */
static int64_t amount_of(uint64_t seq)
{
	return 100 + (int64_t)seq * 7;
}

static void cfg_init(struct agent_config *c, const struct tl_env *e, const char *store,
	int64_t budget, int64_t retention_ms)
{
	memset(c, 0, sizeof *c);
	snprintf(c->store_id, sizeof c->store_id, "%s", store);
	snprintf(c->data_dir, sizeof c->data_dir, "%s/outbox", e->dir);
	c->budget_bytes = budget;
	c->retention_ms = retention_ms;
	c->retention_days = 1;
}

/* Opens the agent's databases (owned by the test through ob->db) and the
 * outbox on them. */
static void open_ok(struct agent_outbox *ob, const struct agent_config *c)
{
	struct agent_db *db = calloc(1, sizeof *db);
	char err[512] = "";

	ck_assert_ptr_nonnull(db);
	ck_assert_msg(agent_db_open(db, c->data_dir, c->budget_bytes, err, sizeof err) == 0,
		"agent_db_open: %s", err);
	ck_assert_msg(outbox_open(ob, db, c, err, sizeof err) == 0, "outbox_open: %s", err);
}

static void close_ok(struct agent_outbox *ob)
{
	agent_db_close(ob->db);
	free(ob->db);
	ob->db = NULL;
}

/* outbox_open's code on c's directory (the databases open and close here). */
static int open_code(struct agent_outbox *ob, const struct agent_config *c, char *err,
	size_t errlen)
{
	struct agent_db db;
	int rc;

	ck_assert_int_eq(agent_db_open(&db, c->data_dir, c->budget_bytes, err, errlen), 0);
	rc = outbox_open(ob, &db, c, err, errlen);
	agent_db_close(&db);
	return rc;
}

static void free_slots(struct outbox_slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(s[i].record, NULL);
	free(s);
}

/* Appends n sales in one call; the i-th is made for seq last_seq + 1 + i.
 * Returns the slots (records included) for the caller to inspect. */
static struct outbox_slot *append_sales(struct agent_outbox *ob, size_t n, int64_t now_ms)
{
	struct outbox_slot *s = calloc(n, sizeof *s);
	char err[512] = "", receipt[32];

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = ob->last_seq + 1 + i;

		snprintf(receipt, sizeof receipt, "R%llu", (unsigned long long)seq);
		s[i].record = tl_sale(amount_of(seq), receipt);
	}
	ck_assert_msg(outbox_append(ob, s, n, now_ms, err, sizeof err) == 0, "append: %s", err);
	return s;
}

/* Appends n and checks they all got seqs; returns nothing to free. */
static void append_ok(struct agent_outbox *ob, size_t n, int64_t now_ms)
{
	uint64_t first = ob->last_seq + 1;
	struct outbox_slot *s = append_sales(ob, n, now_ms);

	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(s[i].full, 0);
		ck_assert_uint_eq(s[i].seq, first + i);
	}
	ck_assert_uint_eq(ob->last_seq, first + n - 1);
	free_slots(s, n);
}

/* Asserts seqs from..to are all kept, consecutive, with their content. */
static void expect_kept(struct agent_outbox *ob, uint64_t from, uint64_t to)
{
	size_t want = (size_t)(to - from + 1), n = 0;
	Storesync__Record **recs = NULL;

	ck_assert_int_eq(outbox_read(ob, from, want + 5, &recs, &n), 0);
	ck_assert_msg(n == want, "read from %llu: %zu records, want %zu",
		(unsigned long long)from, n, want);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(recs[i]->seq, from + i);
		ck_assert(recs[i]->has_recorded_ms);
		ck_assert_int_eq(recs[i]->body_case, STORESYNC__RECORD__BODY_SALE);
		ck_assert_int_eq(recs[i]->sale->total_fen, amount_of(from + i));
		storesync__record__free_unpacked(recs[i], NULL);
	}
	free(recs);
}

/* Asserts record seq is gone (nothing readable from it). */
static void expect_gone(struct agent_outbox *ob, uint64_t seq)
{
	Storesync__Record **recs = NULL;
	size_t n = 99;

	ck_assert_int_eq(outbox_read(ob, seq, 10, &recs, &n), 0);
	ck_assert_msg(n == 0, "seq %llu still readable", (unsigned long long)seq);
	free(recs);
}

static void maintain_ok(struct agent_outbox *ob, int64_t now_ms)
{
	char err[512] = "";

	ck_assert_msg(outbox_maintain(ob, now_ms, err, sizeof err) == 0, "maintain: %s", err);
}

static void reopen(struct agent_outbox *ob, const struct agent_config *c)
{
	close_ok(ob);
	open_ok(ob, c);
}

START_TEST(fresh_directory_gets_an_epoch)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	ck_assert_uint_ne(ob.epoch, 0);
	ck_assert_uint_eq(ob.last_seq, 0);
	ck_assert_uint_eq(ob.acked_seq, 0);
	ck_assert_str_eq(ob.store_id, "S1");
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 0);
	expect_gone(&ob, 1);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(another_directory_another_epoch)
{
	struct tl_env e1, e2;
	struct agent_config c1, c2;
	struct agent_outbox a, b;

	tl_env_init(&e1);
	tl_env_init(&e2);
	cfg_init(&c1, &e1, "S1", BIG_BUDGET, 1000);
	cfg_init(&c2, &e2, "S1", BIG_BUDGET, 1000);
	open_ok(&a, &c1);
	open_ok(&b, &c2);
	ck_assert_uint_ne(a.epoch, b.epoch);
	close_ok(&a);
	close_ok(&b);
	tl_env_cleanup(&e1);
	tl_env_cleanup(&e2);
}
END_TEST

START_TEST(append_assigns_consecutive_seqs)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	struct outbox_slot *s;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	s = append_sales(&ob, 3, 123456);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(s[i].seq, (uint64_t)i + 1);
		ck_assert_int_eq(s[i].full, 0);
		ck_assert(s[i].record->has_seq && s[i].record->seq == (uint64_t)i + 1);
		ck_assert(s[i].record->has_recorded_ms);
		ck_assert_int_eq(s[i].record->recorded_ms, 123456);
	}
	free_slots(s, 3);
	ck_assert_uint_eq(ob.last_seq, 3);
	expect_kept(&ob, 1, 3);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(reopen_keeps_epoch_and_records)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	Storesync__Record **recs = NULL;
	uint64_t epoch, used;
	size_t n = 0;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 3, 5000);
	epoch = ob.epoch;
	used = ob.used_bytes;
	reopen(&ob, &c);
	ck_assert_uint_eq(ob.epoch, epoch);
	ck_assert_uint_eq(ob.last_seq, 3);
	ck_assert_uint_eq(ob.used_bytes, used);
	expect_kept(&ob, 1, 3);
	ck_assert_int_eq(outbox_read(&ob, 2, 1, &recs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(recs[0]->seq, 2);
	ck_assert_int_eq(recs[0]->recorded_ms, 5000);
	ck_assert_str_eq(recs[0]->sale->receipt_no, "R2");
	storesync__record__free_unpacked(recs[0], NULL);
	free(recs);
	append_ok(&ob, 1, 6000);
	ck_assert_uint_eq(ob.last_seq, 4);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(other_store_id_refused)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	char err[512] = "";

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	close_ok(&ob);
	snprintf(c.store_id, sizeof c.store_id, "S2");
	ck_assert_int_ne(open_code(&ob, &c, err, sizeof err), 0);
	ck_assert_msg(strstr(err, "S1") && strstr(err, "S2"), "reason: %s", err);
	/* Without a store id the directory's own is used. */
	c.store_id[0] = '\0';
	open_ok(&ob, &c);
	ck_assert_str_eq(ob.store_id, "S1");
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(new_directory_needs_store_id)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	char err[512] = "";

	tl_env_init(&e);
	cfg_init(&c, &e, "", BIG_BUDGET, 1000);
	ck_assert_int_ne(open_code(&ob, &c, err, sizeof err), 0);
	ck_assert_msg(strstr(err, "store-id") != NULL, "reason: %s", err);
	tl_env_cleanup(&e);
}
END_TEST

/* Appends in calls of 50 until slots come back full; checks the order rule
 * on the way: after the first full slot of a call, all later ones are full. */
static void fill_to_budget(struct agent_outbox *ob, int64_t now_ms)
{
	for (int call = 0; call < 1000; call++) {
		uint64_t first = ob->last_seq + 1;
		struct outbox_slot *s = append_sales(ob, 50, now_ms);
		int seen_full = 0;

		for (size_t i = 0; i < 50; i++) {
			if (s[i].full) {
				seen_full = 1;
				ck_assert_uint_eq(s[i].seq, 0);
			} else {
				ck_assert_msg(!seen_full, "slot %zu accepted after a full one", i);
				ck_assert_uint_eq(s[i].seq, first + i);
			}
		}
		free_slots(s, 50);
		ck_assert_uint_le(ob->used_bytes, ob->db->budget_bytes);
		if (seen_full)
			return;
	}
	ck_abort_msg("budget never reached");
}

START_TEST(full_budget_refuses_and_loses_nothing)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	struct outbox_slot *s;
	uint64_t last;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", SMALL_BUDGET, 1000);
	open_ok(&ob, &c);
	fill_to_budget(&ob, 1000);
	last = ob.last_seq;
	ck_assert_uint_gt(last, 100);
	expect_kept(&ob, 1, last);
	/* Still full: nothing acknowledged, nothing may give way. */
	s = append_sales(&ob, 5, 2000);
	for (int i = 0; i < 5; i++)
		ck_assert(s[i].full && s[i].seq == 0);
	free_slots(s, 5);
	ck_assert_uint_eq(ob.last_seq, last);
	reopen(&ob, &c);
	ck_assert_uint_eq(ob.last_seq, last);
	expect_kept(&ob, 1, last);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(acknowledged_give_way_oldest_first)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	uint64_t last, half;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", SMALL_BUDGET, 1000000);
	open_ok(&ob, &c);
	fill_to_budget(&ob, 1000);
	last = ob.last_seq;
	half = last / 2;
	outbox_set_acked(&ob, half);
	append_ok(&ob, 20, 2000);
	/* The oldest went, only acknowledged ones, the rest all kept. */
	ck_assert_uint_gt(ob.first_seq, 1);
	ck_assert_uint_le(ob.first_seq, half + 1);
	expect_gone(&ob, 1);
	expect_gone(&ob, ob.first_seq - 1);
	expect_kept(&ob, ob.first_seq, ob.last_seq);
	/* Without more acks it fills again once the acknowledged are gone. */
	fill_to_budget(&ob, 3000);
	ck_assert_uint_eq(ob.first_seq, half + 1);
	expect_kept(&ob, half + 1, ob.last_seq);
	/* Everything acknowledged: room again. */
	outbox_set_acked(&ob, ob.last_seq);
	last = ob.last_seq;
	append_ok(&ob, 50, 4000);
	expect_kept(&ob, ob.first_seq, ob.last_seq);
	ck_assert_uint_le(ob.first_seq, last + 1);
	ck_assert_uint_le(ob.used_bytes, ob.db->budget_bytes);
	last = ob.last_seq;
	reopen(&ob, &c);
	ck_assert_uint_eq(ob.last_seq, last);
	expect_kept(&ob, ob.first_seq, last);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(retention_drops_only_old_acknowledged)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 3, 1000);   /* seqs 1..3 */
	append_ok(&ob, 3, 5000);   /* seqs 4..6 */
	outbox_set_acked(&ob, 4);
	maintain_ok(&ob, 5500);    /* horizon 4500: 1..3 old and acknowledged */
	expect_gone(&ob, 3);
	expect_kept(&ob, 4, 6);
	maintain_ok(&ob, 100000);  /* everything old: only 4 is acknowledged */
	expect_gone(&ob, 4);
	expect_kept(&ob, 5, 6);
	reopen(&ob, &c);
	ck_assert_uint_eq(ob.acked_seq, 4);
	ck_assert_uint_eq(ob.first_seq, 5);
	ck_assert_uint_eq(ob.last_seq, 6);
	expect_kept(&ob, 5, 6);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(acked_persists_without_pruning)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 5, 1000);
	outbox_set_acked(&ob, 2);
	maintain_ok(&ob, 1500);    /* nothing old yet */
	expect_kept(&ob, 1, 5);
	reopen(&ob, &c);
	ck_assert_uint_eq(ob.acked_seq, 2);
	outbox_set_acked(&ob, 99); /* never past what exists */
	ck_assert_uint_eq(ob.acked_seq, 5);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(acked_moving_back_protects_records)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 6, 1000);
	outbox_set_acked(&ob, 6);
	maintain_ok(&ob, 1500);    /* persisted, nothing old yet */
	outbox_set_acked(&ob, 2);  /* the hub was restored */
	ck_assert_uint_eq(ob.acked_seq, 2);
	maintain_ok(&ob, 100000);
	expect_gone(&ob, 2);
	expect_kept(&ob, 3, 6);
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 1000);
	reopen(&ob, &c);
	ck_assert_uint_eq(ob.acked_seq, 2);
	maintain_ok(&ob, 200000);
	expect_kept(&ob, 3, 6);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(oldest_unacked_ms_follows_acks)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 0);
	append_ok(&ob, 2, 1000);
	append_ok(&ob, 1, 2000);
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 1000);
	outbox_set_acked(&ob, 2);
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 2000);
	outbox_set_acked(&ob, 3);
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 0);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

static int put_ballast(MDB_txn *txn, void *arg)
{
	struct agent_db *db = arg;
	static uint8_t bytes[SMALL_BUDGET / 2];
	MDB_val k = { 7, "ballast" }, d = { sizeof bytes, bytes };

	return mdb_put(txn, db->meta, &k, &d, 0);
}

/* One budget covers every database: what the other tables hold leaves that
 * much less room for records. */
START_TEST(budget_counts_the_other_databases)
{
	struct tl_env e1, e2;
	struct agent_config c1, c2;
	struct agent_outbox empty, ballast;
	uint64_t other = 0;
	char err[512] = "";

	tl_env_init(&e1);
	tl_env_init(&e2);
	cfg_init(&c1, &e1, "S1", SMALL_BUDGET, 1000);
	cfg_init(&c2, &e2, "S1", SMALL_BUDGET, 1000);
	open_ok(&empty, &c1);
	fill_to_budget(&empty, 1000);
	open_ok(&ballast, &c2);
	ck_assert_msg(ss_lmdb_write(&ballast.db->lmdb, put_ballast, ballast.db, err,
		sizeof err) == 0, "ballast: %s", err);
	fill_to_budget(&ballast, 1000);
	ck_assert_int_eq(agent_db_other_bytes_now(ballast.db, &other), 0);
	ck_assert_uint_ge(other, SMALL_BUDGET / 2);
	ck_assert_uint_le(ballast.used_bytes + other, SMALL_BUDGET);
	/* Half the budget taken: at most about half the records fit. */
	ck_assert_msg(ballast.last_seq * 10 < empty.last_seq * 6, "%llu records with ballast, "
		"%llu without", (unsigned long long)ballast.last_seq,
		(unsigned long long)empty.last_seq);
	close_ok(&empty);
	close_ok(&ballast);
	tl_env_cleanup(&e1);
	tl_env_cleanup(&e2);
}
END_TEST

/* One transaction of appends, each followed by up to its reserve written to
 * another table (as a submit writes a record's key), until the budget is
 * reached: no record is taken that leaves less than its reserve free, and
 * the first refused one truly did not fit. The outbox measures the other
 * tables only now and then while far from the budget (records_budget): a
 * stale measure near it would overshoot here. */
#define GROW_BUDGET (16u << 20)
#define GROW_RESERVE (8u * 4096u)
#define GROW_BALLAST 12000u

struct grow_args {
	struct agent_outbox *ob;
	struct outbox_txn t;
	uint64_t accepted;
	uint64_t room_at_refusal;  /* budget - everything, when the first was refused */
	size_t refused_size;       /* its packed size */
};

static int grow_body(MDB_txn *txn, void *arg)
{
	struct grow_args *g = arg;
	struct agent_db *db = g->ob->db;
	static uint8_t ballast[GROW_BALLAST];
	struct outbox_txn *t = &g->t;
	int rc = 0;

	outbox_txn_begin(t, g->ob, txn, 1000);
	for (uint64_t i = 1; rc == 0; i++) {
		struct outbox_slot slot = { 0 };
		char receipt[32];
		uint8_t key[9] = { 'B' };
		MDB_val k = { sizeof key, key }, d = { sizeof ballast, ballast };
		uint64_t other, taken;

		snprintf(receipt, sizeof receipt, "R%llu", (unsigned long long)i);
		slot.record = tl_sale(amount_of(i), receipt);
		rc = outbox_txn_append(t, &slot, GROW_RESERVE);
		other = agent_db_other_bytes(db, txn);
		taken = t->used_bytes + other + GROW_RESERVE;
		if (rc == 0 && slot.full) {
			g->room_at_refusal = GROW_BUDGET > taken ? GROW_BUDGET - taken : 0;
			g->refused_size = storesync__record__get_packed_size(slot.record);
			storesync__record__free_unpacked(slot.record, NULL);
			break;
		}
		storesync__record__free_unpacked(slot.record, NULL);
		ck_assert_msg(taken <= GROW_BUDGET, "record %llu taken with %llu of %u bytes used",
			(unsigned long long)i, (unsigned long long)taken, GROW_BUDGET);
		g->accepted++;
		ss_be64_put(key + 1, i);
		if (rc == 0)
			rc = mdb_put(txn, db->keys, &k, &d, 0);
	}
	return rc ? rc : outbox_txn_end(t);
}

START_TEST(budget_exact_while_other_tables_grow)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	struct grow_args g = { .ob = &ob };
	char err[512] = "";

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", GROW_BUDGET, 1000);
	open_ok(&ob, &c);
	ck_assert_msg(ss_lmdb_write(&ob.db->lmdb, grow_body, &g, err, sizeof err) == 0,
		"append: %s", err);
	outbox_txn_adopt(&g.t);
	/* About 16 MB at some 12 kB (ballast and record) each. */
	ck_assert_uint_gt(g.accepted, 500);
	ck_assert_msg(g.room_at_refusal < g.refused_size + 64, "refused with %llu bytes free "
		"for a record of %zu", (unsigned long long)g.room_at_refusal, g.refused_size);
	ck_assert_uint_eq(ob.last_seq, g.accepted);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

/* A hub restored to before what retention still keeps: the oldest record
 * the hub lacks and the agent still has is the oldest unacknowledged one. */
START_TEST(oldest_unacked_ms_after_restore_past_retention)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 5, 1000);
	outbox_set_acked(&ob, 5);
	maintain_ok(&ob, 10000);   /* 1..5 pruned */
	expect_gone(&ob, 5);
	append_ok(&ob, 2, 20000);  /* 6, 7 */
	outbox_set_acked(&ob, 2);
	ck_assert_int_eq(outbox_oldest_unacked_ms(&ob), 20000);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

/* outbox_read cannot start a read transaction (every reader slot taken):
 * it fails, and its outputs say "nothing" rather than hold garbage that the
 * sender would free. */
START_TEST(read_failure_sets_outputs)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	MDB_txn *held[200];
	Storesync__Record **recs = (Storesync__Record **)&held;   /* garbage */
	size_t n = 99, n_held = 0;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 3, 1000);
	while (n_held < 200 && mdb_txn_begin(ob.db->lmdb.env, NULL, MDB_RDONLY,
		&held[n_held]) == 0)
		n_held++;
	ck_assert_uint_lt(n_held, 200);   /* the slots ran out: MDB_READERS_FULL */
	ck_assert_int_eq(outbox_read(&ob, 1, 10, &recs, &n), SS_EIO);
	ck_assert_ptr_null(recs);
	ck_assert_uint_eq(n, 0);
	while (n_held > 0)
		mdb_txn_abort(held[--n_held]);
	expect_kept(&ob, 1, 3);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

/* What the sender put on the link before agent_batch: the records read
 * back unpacked, packed again in a LinkMessage by protobuf-c. */
static uint8_t *batch_the_old_way(struct agent_outbox *ob, uint64_t from, size_t n,
	size_t *len)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record **recs = NULL;
	size_t got = 0;
	uint8_t *buf;

	ck_assert_int_eq(outbox_read(ob, from, n, &recs, &got), 0);
	ck_assert_uint_eq(got, n);
	b.store_id = ob->store_id;
	b.epoch = ob->epoch;
	b.has_epoch = 1;
	b.first_seq = from;
	b.has_first_seq = 1;
	b.n_records = n;
	b.records = recs;
	m.proto_version = SS_PROTO_VERSION;
	m.has_proto_version = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	buf = ss_proto_pack(&m.base, len);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(recs[i], NULL);
	free(recs);
	return buf;
}

static void expect_batch_as_packed(struct agent_outbox *ob, uint64_t from, size_t max,
	size_t max_bytes, size_t want)
{
	struct agent_batch b;
	size_t len;
	uint8_t *old;

	ck_assert_int_eq(batch_build(ob, from, max, max_bytes, &b), SS_OK);
	ck_assert_uint_eq(b.n_records, want);
	old = batch_the_old_way(ob, from, want, &len);
	ck_assert_uint_eq(b.len, len);
	ck_assert_msg(memcmp(b.buf + b.start, old, len) == 0,
		"batch from %llu differs from protobuf-c's packing", (unsigned long long)from);
	free(old);
	batch_free(&b);
}

/* agent_batch frames the stored records byte for byte as protobuf-c packs
 * the LinkMessage holding them (one, many, a batch past 127 and 16,383
 * bytes, whose lengths take two and three varint bytes), stops at
 * max_records and, past the first record, before max_bytes; none to send
 * is no frame. */
START_TEST(batch_frame_is_protobuf_packing)
{
	struct tl_env e;
	struct agent_config c;
	struct agent_outbox ob;
	struct agent_batch b;

	tl_env_init(&e);
	cfg_init(&c, &e, "S1", BIG_BUDGET, 1000);
	open_ok(&ob, &c);
	append_ok(&ob, 600, 1000);
	expect_batch_as_packed(&ob, 1, 1, 4u << 20, 1);
	expect_batch_as_packed(&ob, 1, 2, 4u << 20, 2);
	expect_batch_as_packed(&ob, 7, 500, 4u << 20, 500);
	expect_batch_as_packed(&ob, 590, 500, 4u << 20, 11);   /* the outbox ends at 600 */
	expect_batch_as_packed(&ob, 1, 500, 1, 1);              /* the first always goes */
	ck_assert_int_eq(batch_build(&ob, 1, 500, 300, &b), SS_OK);
	ck_assert_uint_gt(b.n_records, 1);
	ck_assert_uint_lt(b.n_records, 10);
	batch_free(&b);
	ck_assert_int_eq(batch_build(&ob, 601, 500, 4u << 20, &b), SS_OK);
	ck_assert_uint_eq(b.n_records, 0);
	batch_free(&b);
	close_ok(&ob);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		fresh_directory_gets_an_epoch, another_directory_another_epoch,
		append_assigns_consecutive_seqs, reopen_keeps_epoch_and_records,
		other_store_id_refused, new_directory_needs_store_id,
		full_budget_refuses_and_loses_nothing, budget_counts_the_other_databases,
		budget_exact_while_other_tables_grow,
		acknowledged_give_way_oldest_first,
		retention_drops_only_old_acknowledged, acked_persists_without_pruning,
		acked_moving_back_protects_records, oldest_unacked_ms_follows_acks,
		oldest_unacked_ms_after_restore_past_retention, read_failure_sets_outputs,
		batch_frame_is_protobuf_packing,
	};

	return tl_run("outbox", tests, sizeof tests / sizeof tests[0], 60);
}
