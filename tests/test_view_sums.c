/* test_view_sums: checked arithmetic in the views (issue 8 §4). Every sum a
 * view keeps stays inside int64: a record that would take any sum past it is
 * refused in a view's check, with a reason (kept in the log, no effect),
 * never wrapped; a query whose sum of days would pass it refuses to answer.
 *
 * The hub's own apply path (hub_store_apply: event log, business key, views)
 * runs in this process on a data directory of the test, in transactions of
 * 25,000 records, as the writer's group commits would: a million sales go
 * through in seconds. Views a test needs near the ceiling are written
 * directly first. Expected figures are worked out by hand in the comments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_query.h"
#include "testlib.h"

#define CEILING_FEN 10000000000000LL     /* 10^13, the per-record ceiling */
#define PER_TXN 25000
#define T_MS 1794276000000LL             /* 2026-11-10T02:00:00Z */
#define DAY 20767                        /* 2026-11-10: 1794276000000 / 86400000 */

struct fx {
	struct tl_env e;
	struct hub h;
};

static void fx_open(struct fx *f)
{
	char err[256] = "";

	memset(f, 0, sizeof *f);
	tl_env_init(&f->e);
	snprintf(f->h.cfg.data_dir, sizeof f->h.cfg.data_dir, "%s/hub", f->e.dir);
	f->h.cfg.budget_bytes = 2LL << 30;
	ck_assert_msg(hub_open_db(&f->h, err, sizeof err) == 0, "%s", err);
}

static void fx_close(struct fx *f)
{
	ss_lmdb_close(&f->h.db);
	tl_env_cleanup(&f->e);
}

/* Sales of CEILING_FEN, paid cash, at T_MS, receipts R-<first>...: one
 * record reused, its receipt number rewritten. */
struct sales_run {
	struct hub *h;
	uint64_t first, n;
};

static int apply_sales(MDB_txn *txn, void *arg)
{
	struct sales_run *run = arg;
	Storesync__Record *r = tl_sale(CEILING_FEN, "R-0");
	struct hub_store s;
	int rc = hub_store_load(run->h, txn, "S1", 1, &s);

	r->time_ms = T_MS;
	r->recorded_ms = T_MS;       /* what the agent stamps; the hub refuses a record without */
	r->has_recorded_ms = 1;
	for (uint64_t i = 0; rc == 0 && i < run->n; i++) {
		free(r->sale->receipt_no);
		ck_assert(asprintf(&r->sale->receipt_no, "R-%llu",
			(unsigned long long)(run->first + i)) > 0);
		rc = hub_store_apply(run->h, txn, &s, r);
	}
	if (rc == 0)
		rc = hub_store_save(run->h, txn, &s);
	hub_store_release(&s);
	storesync__record__free_unpacked(r, NULL);
	return rc;
}

static Storesync__StoreState *store_state(struct hub *h)
{
	MDB_val k = { 2, "S1" }, d;
	Storesync__StoreState *s = NULL;
	MDB_txn *txn;

	ck_assert_int_eq(ss_lmdb_read_begin(&h->db, &txn), 0);
	if (mdb_get(txn, h->stores, &k, &d) == 0)
		s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data);
	ss_lmdb_read_end(&h->db, txn);
	ck_assert_ptr_nonnull(s);
	return s;
}

static Storesync__SalesDay *sales_day(struct hub *h, int32_t day)
{
	uint8_t key[40];
	Storesync__SalesDay *d;
	MDB_txn *txn;
	int rc;

	ck_assert_int_eq(ss_lmdb_read_begin(&h->db, &txn), 0);
	d = (Storesync__SalesDay *)hub_view_get(txn, h->sales, key,
		hub_key_store_day(key, "S1", day), &storesync__sales_day__descriptor, &rc);
	ss_lmdb_read_end(&h->db, txn);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* A million sales at the ceiling on one day. INT64_MAX is
 * 9,223,372,036,854,775,807: 922,337 sales of 10^13 make
 * 9,223,370,000,000,000,000, and one more would pass it. So 922,337 are
 * applied and the other 77,663 refused, in the day's sales and cash, and in
 * the store's amount_fen alike. */
START_TEST(million_sales_at_the_ceiling_do_not_wrap)
{
	const int64_t total = 922337LL * CEILING_FEN;
	struct fx f;
	struct sales_run run;
	Storesync__StoreState *st;
	Storesync__SalesDay *d;
	char err[256] = "";

	fx_open(&f);
	run.h = &f.h;
	for (run.first = 1; run.first <= 1000000; run.first += PER_TXN) {
		run.n = PER_TXN;
		ck_assert_msg(ss_lmdb_write(&f.h.db, apply_sales, &run, err, sizeof err) == 0, "%s", err);
	}
	st = store_state(&f.h);
	ck_assert_uint_eq(st->high_water_seq, 1000000);
	ck_assert_uint_eq(st->records, 922337);
	ck_assert_uint_eq(st->refused, 77663);
	ck_assert_int_eq(st->amount_fen, total);
	ck_assert_str_eq(st->last_refused, "seq 1000000: sales of S1 on 2026-11-10: sales_fen "
		"would pass 9223372036854775807");
	storesync__store_state__free_unpacked(st, NULL);
	d = sales_day(&f.h, DAY);
	ck_assert_uint_eq(d->receipts, 922337);
	ck_assert_int_eq(d->sales_fen, total);
	ck_assert_int_eq(d->cash_fen, total);
	storesync__sales_day__free_unpacked(d, NULL);
	fx_close(&f);
}
END_TEST

/* Sums of days are checked too: two days of 5 * 10^18 each make a month of
 * 10^19, past INT64_MAX. By day the answer is right; by month it is refused. */
static int seed_two_days(MDB_txn *txn, void *arg)
{
	struct hub *h = arg;
	Storesync__SalesDay d = STORESYNC__SALES_DAY__INIT;
	Storesync__StoreState st = STORESYNC__STORE_STATE__INIT;
	uint8_t key[40];
	int rc = 0;

	d.sales_fen = 5000000000000000000LL;
	d.has_sales_fen = 1;
	for (int32_t day = DAY; day <= DAY + 1 && rc == 0; day++)
		rc = hub_view_put(txn, h->sales, key, hub_key_store_day(key, "S1", day), &d.base);
	if (rc == 0)
		rc = hub_view_put(txn, h->stores, "S1", 2, &st.base);
	return rc;
}

/* The hub's answer to `sales --by BY` (free with table_free). */
static void ask(struct hub *h, const char *by, struct table *t)
{
	Storesync__QueryParam p = STORESYNC__QUERY_PARAM__INIT, *ps[1] = { &p };
	Storesync__QueryRequest q = STORESYNC__QUERY_REQUEST__INIT;

	p.key = "by";
	p.value = (char *)by;
	q.proto_version = SS_PROTO_VERSION;
	q.has_proto_version = 1;
	q.what = "sales";
	q.params = ps;
	q.n_params = 1;
	table_clear(t);
	query_answer(h, &q, t);
}

START_TEST(sums_of_days_refused_not_wrapped)
{
	struct fx f;
	struct table t;
	char err[256] = "";

	fx_open(&f);
	ck_assert_msg(ss_lmdb_write(&f.h.db, seed_two_days, &f.h, err, sizeof err) == 0, "%s", err);
	ask(&f.h, "day", &t);
	ck_assert_ptr_null(t.reply.error);
	ck_assert_uint_eq(t.reply.n_rows, 2);
	table_free(&t);
	ask(&f.h, "month", &t);
	ck_assert_ptr_nonnull(t.reply.error);
	ck_assert_str_eq(t.reply.error, "sales: a sum of S1 for 2026-11 passes 9223372036854775807 "
		"fen; ask for shorter periods");
	table_free(&t);
	fx_close(&f);
}
END_TEST

/* A view already near the limit, written directly, then one record through
 * the apply path. */
struct near_limit {
	struct hub *h;
	Storesync__Record *r;
};

static int seed_account_and_item(MDB_txn *txn, void *arg)
{
	struct hub *h = arg;
	Storesync__AccountView a = STORESYNC__ACCOUNT_VIEW__INIT;
	Storesync__InventoryItem it = STORESYNC__INVENTORY_ITEM__INIT;
	uint8_t key[80];
	int rc;

	/* ACC-1 charged INT64_MAX - 5 * 10^12 (9,223,367,036,854,775,807). */
	a.account = "ACC-1";
	a.charged_fen = INT64_MAX - 5000000000000LL;
	a.has_charged_fen = 1;
	if ((rc = hub_view_put(txn, h->accounts, "ACC-1", 5, &a.base)) != 0)
		return rc;
	/* LAMP-1 at S1: units moved INT64_MAX - 10. */
	it.units_moved = INT64_MAX - 10;
	it.has_units_moved = 1;
	return hub_view_put(txn, h->inventory, key, hub_key_store_sku(key, "S1", "LAMP-1"), &it.base);
}

static int apply_one(MDB_txn *txn, void *arg)
{
	struct near_limit *n = arg;
	struct hub_store s;
	int rc = hub_store_load(n->h, txn, "S1", 1, &s);

	if (rc == 0)
		rc = hub_store_apply(n->h, txn, &s, n->r);
	if (rc == 0)
		rc = hub_store_save(n->h, txn, &s);
	hub_store_release(&s);
	return rc;
}

static void apply_json(struct fx *f, const char *line)
{
	struct near_limit n = { &f->h, tl_json_record(line) };
	char err[256] = "";

	n.r->recorded_ms = n.r->time_ms;
	n.r->has_recorded_ms = 1;
	ck_assert_msg(ss_lmdb_write(&f->h.db, apply_one, &n, err, sizeof err) == 0, "%s", err);
	storesync__record__free_unpacked(n.r, NULL);
}

/* 10^13 more on ACC-1 would pass INT64_MAX (5 * 10^12 left): refused by the
 * accounts view, and nothing else moved (the day's sales stay empty). A
 * move of 11 units at LAMP-1 would take units_moved past it too; one of 10
 * fits exactly. */
START_TEST(accounts_and_stock_refuse_what_would_wrap)
{
	struct fx f;
	Storesync__StoreState *st;
	Storesync__SalesDay *d;
	char err[256] = "";

	fx_open(&f);
	ck_assert_msg(ss_lmdb_write(&f.h.db, seed_account_and_item, &f.h, err, sizeof err) == 0,
		"%s", err);
	apply_json(&f, "{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\","
		"\"lines\":[{\"sku\":\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":10000000000000}],"
		"\"total_fen\":10000000000000,\"payment_method\":\"on_account\",\"account\":\"ACC-1\"}");
	st = store_state(&f.h);
	ck_assert_uint_eq(st->refused, 1);
	ck_assert_uint_eq(st->records, 0);
	ck_assert_str_eq(st->last_refused, "seq 1: account ACC-1: its charges or credits would pass "
		"9223372036854775807 fen");
	storesync__store_state__free_unpacked(st, NULL);
	d = sales_day(&f.h, DAY);
	ck_assert_uint_eq(d->receipts, 0);
	storesync__sales_day__free_unpacked(d, NULL);
	apply_json(&f, "{\"type\":\"inventory\",\"time_ms\":1794276000000,\"move_no\":\"M-1\","
		"\"kind\":\"receipt\",\"sku\":\"LAMP-1\",\"quantity\":11}");
	apply_json(&f, "{\"type\":\"inventory\",\"time_ms\":1794276000000,\"move_no\":\"M-2\","
		"\"kind\":\"receipt\",\"sku\":\"LAMP-1\",\"quantity\":10}");
	st = store_state(&f.h);
	ck_assert_uint_eq(st->refused, 2);
	ck_assert_uint_eq(st->records, 1);
	ck_assert_str_eq(st->last_refused, "seq 2: inventory: units moved of LAMP-1 at S1 would "
		"pass 9223372036854775807");
	storesync__store_state__free_unpacked(st, NULL);
	/* A refused record holds no business key: the till's correction of
	 * receipt R-1 (paid in cash, not on the full account) is applied, not
	 * refused as "R-1 already recorded with different content". */
	apply_json(&f, "{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\","
		"\"lines\":[{\"sku\":\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":10000000000000}],"
		"\"total_fen\":10000000000000,\"payment_method\":\"cash\"}");
	st = store_state(&f.h);
	ck_assert_uint_eq(st->refused, 2);
	ck_assert_uint_eq(st->records, 2);
	storesync__store_state__free_unpacked(st, NULL);
	fx_close(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { million_sales_at_the_ceiling_do_not_wrap,
		sums_of_days_refused_not_wrapped, accounts_and_stock_refuse_what_would_wrap };

	return tl_run("view_sums", tests, sizeof tests / sizeof tests[0], 120);
}
