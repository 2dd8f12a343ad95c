/* test_views: the hub's views and operators' queries, end to end. Real
 * hq-hub and store-agent daemons; records go in as JSON Lines through the
 * agents, answers come out of the hub's query endpoint (what hqctl asks).
 *
 * Every expected figure below is a literal worked out by hand from the
 * records (the arithmetic is in the comments), never computed by hub code.
 * Records carry fixed past times (2026); the query parameter `at` is the
 * test clock: ages and deadlines are evaluated at that moment, so nothing
 * sleeps to age data. Business day = the store's local calendar day:
 * floor((time_ms + utc_offset_min * 60000) / 86400000); each agent is given
 * its offset explicitly (--utc-offset). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

struct views_env {
	struct tl_env e;
	pid_t hub, agent[2];
	char local[2][320];
	int n;
};

/* Hub plus n agents S1 (, S2), each with the given UTC offset in minutes. */
static void setup(struct views_env *v, int n, const char *offset)
{
	char data[320];
	static const char *const ids[] = { "S1", "S2" };

	memset(v, 0, sizeof *v);
	tl_env_init(&v->e);
	v->hub = tl_start_hub(&v->e, NULL);
	v->n = n;
	for (int i = 0; i < n; i++) {
		tl_agent_paths(&v->e, ids[i], v->local[i], sizeof v->local[i], data, sizeof data);
		v->agent[i] = tl_start_agent(&v->e, ids[i], "--utc-offset", offset, NULL);
	}
}

static void teardown(struct views_env *v)
{
	for (int i = 0; i < v->n; i++)
		tl_stop(v->agent[i]);
	tl_stop(v->hub);
	tl_env_cleanup(&v->e);
}

/* Waits until the hub has committed everything the agent holds. */
static void drained(const char *local)
{
	ck_assert_msg(tl_wait_drained(local, 10000) >= 0, "agent %s did not drain", local);
}

/* Decimal text of ms, for the `at` parameter (a few live at once). */
static const char *ms(int64_t t)
{
	static char buf[8][24];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof buf[0], "%lld", (long long)t);
	return b;
}

static void sale(const char *local, int64_t t, const char *receipt, int64_t fen,
	const char *method)
{
	tl_submit_jsonf(local, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\","
		"\"lines\":[{\"sku\":\"TEA-1\",\"quantity\":1,\"unit_price_fen\":%lld}],"
		"\"total_fen\":%lld,\"payment_method\":\"%s\",\"cashier\":\"C1\"}",
		(long long)t, receipt, (long long)fen, (long long)fen, method);
}

static void contract(const char *local, int64_t t, const char *no, int64_t total,
	int64_t deposit)
{
	tl_submit_jsonf(local, "{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":\"%s\","
		"\"customer\":\"CUST-%s\",\"total_fen\":%lld,\"deposit_fen\":%lld,"
		"\"deposit_method\":\"card\",\"signer\":\"S-LI\"}",
		(long long)t, no, no, (long long)total, (long long)deposit);
}

/* Slip numbers of payments and moves: business keys, one per record. */
static int next_slip(void)
{
	static int slip;

	return ++slip;
}

static void payment(const char *local, int64_t t, const char *account, int64_t fen,
	const char *method)
{
	tl_submit_jsonf(local, "{\"type\":\"payment\",\"time_ms\":%lld,\"payment_no\":\"P-%d\","
		"\"account\":\"%s\",\"amount_fen\":%lld,\"method\":\"%s\"}", (long long)t, next_slip(),
		account, (long long)fen, method);
}

static void complaint(const char *local, int64_t t, const char *case_no, const char *severity)
{
	tl_submit_jsonf(local, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":\"%s\","
		"\"customer\":\"CUST-9\",\"channel\":\"phone\",\"category\":\"delivery\","
		"\"severity\":\"%s\"}", (long long)t, case_no, severity);
}

static void step(const char *local, int64_t t, const char *case_no, const char *what,
	const char *extra)
{
	tl_submit_jsonf(local, "{\"type\":\"complaint_progress\",\"time_ms\":%lld,"
		"\"case_no\":\"%s\",\"step\":\"%s\"%s}", (long long)t, case_no, what, extra);
}

static void move(const char *local, int64_t t, const char *kind, const char *sku, int64_t qty)
{
	tl_submit_jsonf(local, "{\"type\":\"inventory\",\"time_ms\":%lld,\"move_no\":\"M-%d\","
		"\"kind\":\"%s\",\"sku\":\"%s\",\"quantity\":%lld%s}", (long long)t, next_slip(), kind,
		sku, (long long)qty,
		strcmp(kind, "adjustment") == 0 ? ",\"reason\":\"broken in storage\"" : "");
}

/* The one row matching (column, text) pairs; fails when there is none. */
#define ROW(r, ...) row_or_fail((r), tl_row_find((r), __VA_ARGS__, NULL), #__VA_ARGS__)

static int row_or_fail(const Storesync__QueryReply *r, int row, const char *what)
{
	ck_assert_msg(row >= 0, "no row with %s (%zu rows)", what, r->n_rows);
	return row;
}

/* ------------------------------------------------------------------ */

/* A contract with a deposit and three payments taken at two stores. */
START_TEST(contract_payments_two_stores)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;
	/* T0 = 2026-11-02T02:00:00Z = 1793584800000: 10:00 local at UTC+8,
	 * business day 2026-11-02. */
	const int64_t t0 = 1793584800000LL;

	setup(&v, 2, "480");
	/* S2 takes its payments first: they reach the hub before the contract
	 * that opens the account (the balance is negative for a while). */
	payment(v.local[1], t0 + DAY_MS, "CT-1", 150000, "mobile");      /* 2026-11-03 10:00 local */
	payment(v.local[1], t0 + 2 * DAY_MS, "CT-1", 50000, "cash");     /* 2026-11-04 10:00 local */
	drained(v.local[1]);
	contract(v.local[0], t0, "CT-1", 1000000, 200000);               /* deposit by card */
	payment(v.local[0], t0 + HOUR_MS, "CT-1", 100000, "cash");       /* 2026-11-02 11:00 local */
	drained(v.local[0]);

	/* Account, 10 days after the last payment (1793757600000 + 10 d =
	 * 1794621600000). received = 200,000 + 100,000 + 150,000 + 50,000 =
	 * 500,000; balance = 1,000,000 - 500,000 = 500,000. */
	r = tl_query_ok(v.e.hub_query, "accounts", "at", ms(1794621600000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "account", "CT-1");
	ck_assert_str_eq(tl_cell_str(r, row, "owner_store"), "S1");
	ck_assert_str_eq(tl_cell_str(r, row, "contract_no"), "CT-1");
	ck_assert_str_eq(tl_cell_str(r, row, "customer"), "CUST-CT-1");
	ck_assert_int_eq(tl_cell_int(r, row, "contract_total_fen"), 1000000);
	ck_assert_int_eq(tl_cell_int(r, row, "charged_fen"), 1000000);
	ck_assert_int_eq(tl_cell_int(r, row, "received_fen"), 500000);
	ck_assert_int_eq(tl_cell_int(r, row, "refunded_fen"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 500000);
	/* latest payment: S2's at t0 + 2 d = 1793757600000 */
	ck_assert_int_eq(tl_cell_int(r, row, "last_payment_ms"), 1793757600000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), 1793757600000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "age_days"), 10);
	ck_assert_str_eq(tl_cell_str(r, row, "aging"), "0-30");
	ck_assert_int_eq(tl_cell_int(r, row, "stale"), 0);
	tl_query_free(r);

	/* The owning store is S1: --store S1 lists it, --store S2 does not. */
	r = tl_query_ok(v.e.hub_query, "accounts", "store", "S1", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "accounts", "store", "S2", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);

	/* Sales by day: S1 2026-11-02 has the contract (deposit 200,000 by card)
	 * and the 100,000 cash payment; S2 has one payment on each of its days. */
	r = tl_query_ok(v.e.hub_query, "sales", NULL);
	ck_assert_uint_eq(r->n_rows, 3);
	row = ROW(r, "store_id", "S1", "period", "2026-11-02");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "contracts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "contract_total_fen"), 1000000);
	ck_assert_int_eq(tl_cell_int(r, row, "deposits_fen"), 200000);
	ck_assert_int_eq(tl_cell_int(r, row, "payments_fen"), 100000);
	ck_assert_int_eq(tl_cell_int(r, row, "card_fen"), 200000);
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 100000);
	ck_assert_int_eq(tl_cell_int(r, row, "mobile_fen"), 0);
	row = ROW(r, "store_id", "S2", "period", "2026-11-03");
	ck_assert_int_eq(tl_cell_int(r, row, "payments_fen"), 150000);
	ck_assert_int_eq(tl_cell_int(r, row, "mobile_fen"), 150000);
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "contracts"), 0);
	row = ROW(r, "store_id", "S2", "period", "2026-11-04");
	ck_assert_int_eq(tl_cell_int(r, row, "payments_fen"), 50000);
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 50000);
	tl_query_free(r);

	/* Money moved per store: S1 200,000 + 100,000; S2 150,000 + 50,000. */
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "amount_fen"), 300000);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S2", "amount_fen"), 200000);
	teardown(&v);
}
END_TEST

/* A sale of 30,000 and a refund of 5,000 on the same local day. */
START_TEST(refund_same_day)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;

	setup(&v, 2, "480");
	/* 2026-11-05T03:00Z = 1793847600000 = 11:00 local (UTC+8) */
	tl_submit_jsonf(v.local[0], "{\"type\":\"sale\",\"time_ms\":1793847600000,"
		"\"receipt_no\":\"R-100\",\"lines\":[{\"sku\":\"TEA-1\",\"quantity\":2,"
		"\"unit_price_fen\":15000}],\"total_fen\":30000,\"payment_method\":\"cash\"}");
	/* + 3 h = 1793858400000 = 14:00 local, same day */
	tl_submit_jsonf(v.local[0], "{\"type\":\"refund\",\"time_ms\":1793858400000,"
		"\"refund_no\":\"RF-100\",\"original_receipt\":\"R-100\",\"amount_fen\":5000,"
		"\"reason\":\"damaged box\",\"approver\":\"M-WANG\",\"method\":\"cash\"}");
	/* S2: 2026-11-05T16:30Z = 1793896200000 is 2026-11-06 00:30 local: its
	 * business day is the 6th, not the UTC 5th. */
	sale(v.local[1], 1793896200000LL, "R-200", 7000, "card");
	drained(v.local[0]);
	drained(v.local[1]);

	r = tl_query_ok(v.e.hub_query, "sales", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "store_id", "S1", "period", "2026-11-05");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 30000);
	ck_assert_int_eq(tl_cell_int(r, row, "refunds"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "refunds_fen"), 5000);
	ck_assert_int_eq(tl_cell_int(r, row, "net_fen"), 25000);    /* 30,000 - 5,000 */
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 25000);   /* paid back in cash */
	row = ROW(r, "store_id", "S2", "period", "2026-11-06");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "card_fen"), 7000);
	ck_assert_int_eq(tl_row_find(r, "store_id", "S2", "period", "2026-11-05", NULL), -1);
	tl_query_free(r);

	/* A refund without an account touches no receivable. */
	r = tl_query_ok(v.e.hub_query, "accounts", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "amount_fen"), 25000);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "records"), 2);
	teardown(&v);
}
END_TEST

/* Complaint deadlines: first response 24 h, investigation report 3 days. */
START_TEST(complaint_deadlines)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;
	/* R = 2026-11-10T02:00:00Z = 1794276000000 */
	const int64_t reg = 1794276000000LL;
	const char *a = "S1-202611-1", *b = "S1-202611-2";

	setup(&v, 1, "480");
	complaint(v.local[0], reg, a, "high");
	complaint(v.local[0], reg, b, "medium");
	step(v.local[0], reg + 2 * HOUR_MS, b, "responded", "");   /* R + 2 h: in time */
	drained(v.local[0]);

	/* At R + 3 h: A is open with its deadlines from the default policy, B
	 * answered (at R + 2 h: a query at R + 1 h would see it open). */
	r = tl_query_ok(v.e.hub_query, "complaints", "at", ms(1794286800000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "open");
	ck_assert_str_eq(tl_cell_str(r, row, "store_id"), "S1");
	ck_assert_str_eq(tl_cell_str(r, row, "channel"), "phone");
	ck_assert_str_eq(tl_cell_str(r, row, "category"), "delivery");
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "high");
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 1794276000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1794362400000LL);  /* R + 24 h */
	ck_assert_int_eq(tl_cell_int(r, row, "report_by_ms"), 1794535200000LL);   /* R + 72 h */
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
	row = ROW(r, "case_no", b);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "responded");
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), 1794283200000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 0);
	tl_query_free(r);

	/* One minute before the response deadline (R + 24 h - 1 min =
	 * 1794362340000) nothing is overdue; one minute after (1794362460000) A
	 * is, for its response, and B (answered after 2 h) is not. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794362340000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794362460000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "response");
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(1794362460000LL), NULL);
	ck_assert_uint_eq(tl_row_count(r, "kind", "complaint", NULL), 1);
	row = ROW(r, "kind", "complaint", "id", a);
	ck_assert_str_eq(tl_cell_str(r, row, "store_id"), "S1");
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), 1794362400000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "age_ms"), 60000);
	ck_assert_msg(strstr(tl_cell_str(r, row, "reason"), "first response") != NULL,
		"reason: %s", tl_cell_str(r, row, "reason"));
	ck_assert_uint_eq(r->n_rows, 1);   /* no stale account, S1 heard just now */
	tl_query_free(r);

	/* A is answered 25 h after registration (1794366000000): late. */
	step(v.local[0], reg + 25 * HOUR_MS, a, "responded", "");
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "complaints", "at", ms(1794366060000LL), NULL);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "responded");
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), 1794366000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 1);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
	tl_query_free(r);
	/* As at R + 24 h + 1 min A was still overdue: its answer is dated later. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794362460000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "case_no", a), "overdue"), "response");
	tl_query_free(r);

	/* B's report comes at R + 48 h (1794448800000), before R + 72 h. */
	step(v.local[0], reg + 48 * HOUR_MS, b, "investigated", "");
	drained(v.local[0]);
	/* At R + 72 h + 1 min (1794535260000) A's report is overdue, B's is not. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794535260000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "report");
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(1794535260000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "kind", "complaint", "id", a);
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), 1794535200000LL);
	ck_assert_msg(strstr(tl_cell_str(r, row, "reason"), "investigation report") != NULL,
		"reason: %s", tl_cell_str(r, row, "reason"));
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "complaints", "at", ms(1794535260000LL), NULL);
	row = ROW(r, "case_no", b);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "investigating");
	ck_assert_int_eq(tl_cell_int(r, row, "investigated_ms"), 1794448800000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
	tl_query_free(r);

	/* A: investigated at R + 80 h (late), resolved at R + 90 h with a 2,000
	 * refund, closed at R + 100 h. State after each step. */
	step(v.local[0], reg + 80 * HOUR_MS, a, "investigated", "");
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "complaints", "at", ms(1794564060000LL), NULL);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "investigating");
	ck_assert_int_eq(tl_cell_int(r, row, "investigated_ms"), 1794564000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 1);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794564060000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);

	step(v.local[0], reg + 90 * HOUR_MS, a, "resolved",
		",\"resolution\":\"refund\",\"amount_fen\":2000,\"approver\":\"M-WANG\"");
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "complaints", NULL);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "resolved");
	ck_assert_int_eq(tl_cell_int(r, row, "resolved_ms"), 1794600000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "compensation_fen"), 2000);
	tl_query_free(r);

	step(v.local[0], reg + 100 * HOUR_MS, a, "closed", "");
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "complaints", NULL);
	row = ROW(r, "case_no", a);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "closed");
	ck_assert_int_eq(tl_cell_int(r, row, "closed_ms"), 1794636000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 1);
	tl_query_free(r);

	/* State filter. */
	r = tl_query_ok(v.e.hub_query, "complaints", "state", "closed", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ROW(r, "case_no", a);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "complaints", "state", "investigating", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ROW(r, "case_no", b);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "complaints", "state", "open", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	/* B's report is done and A is closed: nothing is overdue, however late. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1796000000000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);

	/* The 2,000 compensation is money out of S1 on R + 90 h =
	 * 2026-11-13T20:00Z = 2026-11-14 04:00 local. */
	r = tl_query_ok(v.e.hub_query, "sales", "store", "S1", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "period", "2026-11-14");
	ck_assert_int_eq(tl_cell_int(r, row, "compensation_fen"), 2000);
	tl_query_free(r);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "amount_fen"), -2000);
	teardown(&v);
}
END_TEST

/* An emergency must be answered within 60 minutes, a high case in 24 h. */
START_TEST(emergency_deadline)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;
	/* E = 2026-11-12T08:00:00Z = 1794470400000 */
	const int64_t e = 1794470400000LL;

	setup(&v, 1, "0");
	complaint(v.local[0], e, "S1-202611-3", "emergency");
	complaint(v.local[0], e, "S1-202611-4", "high");
	drained(v.local[0]);

	r = tl_query_ok(v.e.hub_query, "complaints", NULL);
	row = ROW(r, "case_no", "S1-202611-3");
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "emergency");
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1794474000000LL);  /* E + 60 min */
	ck_assert_int_eq(tl_cell_int(r, row, "report_by_ms"), 1794729600000LL);   /* E + 3 d */
	row = ROW(r, "case_no", "S1-202611-4");
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1794556800000LL);  /* E + 24 h */
	tl_query_free(r);

	/* E + 59 min = 1794473940000: nothing overdue. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794473940000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	/* E + 61 min = 1794474060000: the emergency only. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794474060000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "case_no", "S1-202611-3");
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "response");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* A case with both deadlines past is listed once by --overdue, even when
 * another case's deadline falls between its two. */
START_TEST(overdue_listed_once)
{
	struct views_env v;
	Storesync__QueryReply *r;
	/* R = 2026-11-10T02:00:00Z = 1794276000000 */
	const int64_t reg = 1794276000000LL;

	setup(&v, 1, "0");
	/* A at R: response due R + 24 h, report due R + 72 h.
	 * B at R + 30 h (1794384000000): response due R + 54 h, report R + 102 h. */
	complaint(v.local[0], reg, "S1-202611-1", "high");
	complaint(v.local[0], reg + 30 * HOUR_MS, "S1-202611-2", "high");
	drained(v.local[0]);

	/* At R + 80 h = 1794564000000: A has both deadlines past, B its response. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(1794564000000LL), NULL);
	ck_assert_uint_eq(tl_row_count(r, "case_no", "S1-202611-1", NULL), 1);
	ck_assert_uint_eq(tl_row_count(r, "case_no", "S1-202611-2", NULL), 1);
	ck_assert_uint_eq(r->n_rows, 2);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "case_no", "S1-202611-1"), "overdue"),
		"response,report");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "case_no", "S1-202611-2"), "overdue"), "response");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* A deadline is met by a step dated at it: a step is late when dated after
 * its deadline (docs/records.md, Complaint cases), and a case is overdue
 * only past it. R = 2026-11-10T02:00:00Z = 1794276000000, UTC offset 0,
 * the default policy. High cases: respond by R + 24 h = 1794362400000,
 * report by R + 72 h = 1794535200000; emergencies respond by R + 60 min =
 * 1794279600000.
 *   case 1 (high): responded at R + 24 h, investigated at R + 72 h: on time.
 *   case 2 (high): each 1 ms later: both late.
 *   case 3 (emergency): responded at R + 60 min: on time.
 *   case 4 (emergency): responded at R + 60 min + 1 ms: late.
 *   (3 and 4 investigated at R + 2 h, in time.)
 *   case 5 (high): no step. */
START_TEST(late_means_dated_after_the_deadline)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;
	const int64_t reg = 1794276000000LL, respond_by = 1794362400000LL,
		report_by = 1794535200000LL, emergency_by = 1794279600000LL;

	setup(&v, 1, "0");
	complaint(v.local[0], reg, "S1-202611-1", "high");
	complaint(v.local[0], reg, "S1-202611-2", "high");
	complaint(v.local[0], reg, "S1-202611-3", "emergency");
	complaint(v.local[0], reg, "S1-202611-4", "emergency");
	complaint(v.local[0], reg, "S1-202611-5", "high");
	step(v.local[0], respond_by, "S1-202611-1", "responded", "");
	step(v.local[0], report_by, "S1-202611-1", "investigated", "");
	step(v.local[0], respond_by + 1, "S1-202611-2", "responded", "");
	step(v.local[0], report_by + 1, "S1-202611-2", "investigated", "");
	step(v.local[0], emergency_by, "S1-202611-3", "responded", "");
	step(v.local[0], emergency_by + 1, "S1-202611-4", "responded", "");
	step(v.local[0], reg + 2 * HOUR_MS, "S1-202611-3", "investigated", "");
	step(v.local[0], reg + 2 * HOUR_MS, "S1-202611-4", "investigated", "");
	drained(v.local[0]);

	r = tl_query_ok(v.e.hub_query, "complaints", NULL);
	ck_assert_uint_eq(r->n_rows, 5);
	row = ROW(r, "case_no", "S1-202611-1");
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), respond_by);
	ck_assert_int_eq(tl_cell_int(r, row, "report_by_ms"), report_by);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), respond_by);
	ck_assert_int_eq(tl_cell_int(r, row, "investigated_ms"), report_by);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
	row = ROW(r, "case_no", "S1-202611-2");
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), respond_by + 1);
	ck_assert_int_eq(tl_cell_int(r, row, "investigated_ms"), report_by + 1);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 1);
	row = ROW(r, "case_no", "S1-202611-3");
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), emergency_by);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
	row = ROW(r, "case_no", "S1-202611-4");
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
	tl_query_free(r);

	/* --late, at 2026-11-20T00:00Z (1795132800000): 2 and 4 answered late,
	 * 5 never answered; not 1 nor 3. */
	r = tl_query_ok(v.e.hub_query, "complaints", "late", "", "at", ms(1795132800000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 3);
	ROW(r, "case_no", "S1-202611-2");
	ROW(r, "case_no", "S1-202611-4");
	ROW(r, "case_no", "S1-202611-5");
	tl_query_free(r);

	/* Overdue: at R + 24 h no response deadline is past (cases 2 and 5 are
	 * unanswered, due at that very ms); 1 ms later case 5 is overdue, and
	 * case 2 is not: its answer is dated at that moment, which counts. */
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(respond_by), NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "complaints", "overdue", "", "at", ms(respond_by + 1), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "case_no", "S1-202611-5"), "overdue"), "response");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* Aging buckets at exactly 30/31/60/61/90/91 days before `at`. */
START_TEST(aging_buckets)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;
	/* AT = 2026-11-20T00:00:00Z = 1795132800000; one day = 86,400,000 ms. */
	const char *at = "1795132800000";
	static const struct {
		const char *account;
		int64_t days, balance;
		const char *aging;
		int stale;
	} want[] = {
		{ "A30", 30, 100000, "0-30", 0 },
		{ "A31", 31, 100000, "31-60", 1 },
		{ "A60", 60, 300000, "31-60", 1 },
		{ "A61", 61, 300000, "61-90", 1 },
		{ "A90", 90, 400000, "61-90", 1 },
		{ "A91", 91, 600000, "over 90", 1 },
	};

	setup(&v, 1, "0");
	/* A30: contract 100,000, no deposit, at AT - 30 d = 1792540800000. */
	contract(v.local[0], 1792540800000LL, "A30", 100000, 0);
	/* A31: contract 200,000 with deposit 50,000 at AT - 100 d = 1786492800000,
	 * payment 50,000 at AT - 31 d = 1792454400000: balance 100,000. */
	contract(v.local[0], 1786492800000LL, "A31", 200000, 50000);
	payment(v.local[0], 1792454400000LL, "A31", 50000, "cash");
	/* A60: contract 300,000, no deposit, at AT - 60 d = 1789948800000. */
	contract(v.local[0], 1789948800000LL, "A60", 300000, 0);
	/* A61: contract 400,000, deposit 100,000 (the last payment) at AT - 61 d
	 * = 1789862400000: balance 300,000. */
	contract(v.local[0], 1789862400000LL, "A61", 400000, 100000);
	/* A90: contract 500,000 at AT - 200 d = 1777852800000, payment 100,000
	 * at AT - 90 d = 1787356800000: balance 400,000. */
	contract(v.local[0], 1777852800000LL, "A90", 500000, 0);
	payment(v.local[0], 1787356800000LL, "A90", 100000, "card");
	/* A91: contract 600,000, no deposit, at AT - 91 d = 1787270400000. */
	contract(v.local[0], 1787270400000LL, "A91", 600000, 0);
	/* PAID: 50,000 paid in full at signing, AT - 120 d = 1784764800000. */
	contract(v.local[0], 1784764800000LL, "PAID", 50000, 50000);
	drained(v.local[0]);

	r = tl_query_ok(v.e.hub_query, "accounts", "at", at, NULL);
	ck_assert_uint_eq(r->n_rows, 7);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		row = ROW(r, "account", want[i].account);
		ck_assert_int_eq(tl_cell_int(r, row, "age_days"), want[i].days);
		ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), want[i].balance);
		ck_assert_msg(strcmp(tl_cell_str(r, row, "aging"), want[i].aging) == 0,
			"%s: aging %s, want %s", want[i].account, tl_cell_str(r, row, "aging"),
			want[i].aging);
		ck_assert_int_eq(tl_cell_int(r, row, "stale"), want[i].stale);
		ck_assert_str_eq(tl_cell_str(r, row, "owner_store"), "S1");
	}
	row = ROW(r, "account", "PAID");
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "aging"), "");
	ck_assert_int_eq(tl_cell_int(r, row, "stale"), 0);
	tl_query_free(r);

	/* --stale: older than 30 days, with a balance: 31, 60, 61, 90, 91. */
	r = tl_query_ok(v.e.hub_query, "accounts", "stale", "", "at", at, NULL);
	ck_assert_uint_eq(r->n_rows, 5);
	for (size_t i = 1; i < sizeof want / sizeof want[0]; i++)
		ROW(r, "account", want[i].account);
	ck_assert_int_eq(tl_row_find(r, "account", "A30", NULL), -1);
	ck_assert_int_eq(tl_row_find(r, "account", "PAID", NULL), -1);
	tl_query_free(r);

	/* --aging: 0-30: A30 (1, 100,000); 31-60: A31 + A60 (2, 100,000 +
	 * 300,000 = 400,000); 61-90: A61 + A90 (2, 300,000 + 400,000 = 700,000);
	 * over 90: A91 (1, 600,000). PAID has no balance: in no bucket. */
	r = tl_query_ok(v.e.hub_query, "accounts", "aging", "", "at", at, NULL);
	ck_assert_uint_eq(r->n_rows, 4);
	row = ROW(r, "aging", "0-30");
	ck_assert_int_eq(tl_cell_int(r, row, "accounts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 100000);
	row = ROW(r, "aging", "31-60");
	ck_assert_int_eq(tl_cell_int(r, row, "accounts"), 2);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 400000);
	row = ROW(r, "aging", "61-90");
	ck_assert_int_eq(tl_cell_int(r, row, "accounts"), 2);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 700000);
	row = ROW(r, "aging", "over 90");
	ck_assert_int_eq(tl_cell_int(r, row, "accounts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 600000);
	tl_query_free(r);

	/* stale: the same five accounts, kind "account", owner S1; nothing else
	 * (S1 was heard just now, long after AT). */
	r = tl_query_ok(v.e.hub_query, "stale", "at", at, NULL);
	ck_assert_uint_eq(r->n_rows, 5);
	ck_assert_uint_eq(tl_row_count(r, "kind", "account", "store_id", "S1", NULL), 5);
	row = ROW(r, "kind", "account", "id", "A31");
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), 1792454400000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "age_ms"), 2678400000LL);    /* 31 d */
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* Case numbers are per store and month: S1-202610-1 and S1-202611-1 are two
 * cases; S1-202611-1 registered again is refused at the hub. */
START_TEST(case_numbers_per_month)
{
	struct views_env v;
	Storesync__QueryReply *r;
	struct tl_result res;
	int row;

	setup(&v, 1, "480");
	complaint(v.local[0], 1792029600000LL, "S1-202610-1", "low");    /* 2026-10-15T02:00Z */
	complaint(v.local[0], 1793671200000LL, "S1-202611-1", "high");   /* 2026-11-03T02:00Z */
	drained(v.local[0]);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "refused"), 0);
	/* A second registration (2026-11-04T02:00Z) is refused by the agent: the
	 * store has the case (its business key). The hub's own refusal of one
	 * is in test_determinism, which talks to the hub directly. */
	res = tl_submit_json_result(v.local[0], "{\"type\":\"complaint\",\"time_ms\":"
		"1793757600000,\"case_no\":\"S1-202611-1\",\"customer\":\"CUST-9\",\"channel\":"
		"\"phone\",\"category\":\"delivery\",\"severity\":\"emergency\"}");
	ck_assert_str_eq(res.error, "case S1-202611-1 already recorded as seq 2 with different "
		"content");
	drained(v.local[0]);

	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "refused"), 0);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "records"), 2);
	ck_assert_int_eq(tl_store_field(v.e.hub_query, "S1", "high_water_seq"), 2);
	r = tl_query_ok(v.e.hub_query, "complaints", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "case_no", "S1-202610-1");
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 1792029600000LL);
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "low");
	row = ROW(r, "case_no", "S1-202611-1");
	/* unchanged by the refused second registration */
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 1793671200000LL);
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "high");
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1793757600000LL); /* + 24 h */
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* Stock on hand and out-of-stock days. */
START_TEST(inventory_on_hand)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;
	/* L = 2026-11-01T10:00:00Z = 1793527200000 (UTC offset 0) */
	const int64_t l = 1793527200000LL;

	setup(&v, 2, "0");
	move(v.local[0], l, "stocktake", "LAMP-1", 10);                /* 11-01: 10 */
	move(v.local[0], l + DAY_MS, "receipt", "LAMP-1", 5);          /* 11-02: 15 */
	move(v.local[0], l + 2 * DAY_MS, "sale", "LAMP-1", 12);        /* 11-03: 3 */
	move(v.local[0], l + 4 * DAY_MS, "adjustment", "LAMP-1", -3);  /* 11-05: 0 */
	move(v.local[0], l, "stocktake", "VASE-3", 0);                 /* 11-01: out */
	move(v.local[0], l + 3 * DAY_MS, "receipt", "VASE-3", 2);      /* 11-04: back, 3 days */
	move(v.local[0], l, "stocktake", "CHAIR-2", 4);
	move(v.local[1], l, "stocktake", "LAMP-1", 7);                 /* S2's own stock */
	drained(v.local[0]);
	drained(v.local[1]);

	/* At 2026-11-08T12:00Z = 1794139200000. LAMP-1 at S1: 10 + 5 - 12 - 3 =
	 * 0 since 2026-11-05: 3 days (5th -> 8th). VASE-3: out 11-01 -> 11-04 =
	 * 3 completed days, 2 on hand. */
	r = tl_query_ok(v.e.hub_query, "inventory", "store", "S1", "at", ms(1794139200000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 3);
	row = ROW(r, "sku", "LAMP-1");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 3);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-05");
	ck_assert_int_eq(tl_cell_int(r, row, "moves"), 4);
	ck_assert_int_eq(tl_cell_int(r, row, "last_stocktake_ms"), 1793527200000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "last_move_ms"), 1793872800000LL);  /* L + 4 d */
	row = ROW(r, "sku", "VASE-3");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 2);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 3);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "");
	row = ROW(r, "sku", "CHAIR-2");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 4);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
	tl_query_free(r);

	/* The day it hit 0 counts from the next midnight. */
	r = tl_query_ok(v.e.hub_query, "inventory", "store", "S1", "sku", "LAMP-1",
		"at", "2026-11-05T23:59:59", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "out_of_stock_days"), 0);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "inventory", "store", "S1", "sku", "LAMP-1",
		"at", "2026-11-06T00:00", NULL);
	ck_assert_int_eq(tl_cell_int(r, 0, "out_of_stock_days"), 1);
	tl_query_free(r);

	/* --below 1: only S1's LAMP-1 (S2 has 7 of it). --below 3 adds VASE-3. */
	r = tl_query_ok(v.e.hub_query, "inventory", "below", "1", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ROW(r, "store_id", "S1", "sku", "LAMP-1");
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "inventory", "store", "S1", "below", "3", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	ROW(r, "sku", "VASE-3");
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "inventory", "sku", "LAMP-1", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "store_id", "S2");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 7);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* A store heard now is silent at now + 31 min, not at now + 29 min. */
START_TEST(silent_store)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int64_t now, seen;

	setup(&v, 1, "0");
	sale(v.local[0], ss_now_ms() - HOUR_MS, "R-1", 1000, "cash");
	drained(v.local[0]);
	tl_stop(v.agent[0]);     /* nothing more from S1 from here on */
	v.n = 0;
	now = ss_now_ms();
	seen = tl_store_field(v.e.hub_query, "S1", "last_seen_ms");
	ck_assert_int_gt(seen, now - 10000);
	ck_assert_int_le(seen, now);

	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(now + 29 * MIN_MS), NULL);
	ck_assert_int_eq(tl_row_find(r, "kind", "store", NULL), -1);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(now + 31 * MIN_MS), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ROW(r, "kind", "store", "id", "S1", "store_id", "S1");
	ck_assert_int_eq(tl_cell_int(r, 0, "since_ms"), seen);
	ck_assert_int_eq(tl_cell_int(r, 0, "age_ms"), now + 31 * MIN_MS - seen);
	/* Whole minutes since: 31 min and under 10 s. The policy by its key, as
	 * an operator would change it. */
	ck_assert_str_eq(tl_cell_str(r, 0, "reason"),
		"no records for 31 minutes (policy store_silence_minutes 30)");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* The silence index may lag a store's progress by up to a minute (it moves
 * once a minute for a busy store); what is silent is judged by the progress
 * itself: progress 50 s after the indexed moment, then 29.5 min of silence,
 * is not silent; 31 min is, since that progress. */
START_TEST(silent_store_judged_by_its_progress_not_the_index)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int64_t first, last;

	setup(&v, 1, "0");
	sale(v.local[0], ss_now_ms() - HOUR_MS, "R-1", 1000, "cash");
	drained(v.local[0]);
	first = tl_store_field(v.e.hub_query, "S1", "last_progress_ms");
	tl_stop(v.hub);
	/* The same hub 50 s later by its clock: S1 makes progress again. */
	v.hub = tl_start_hub(&v.e, "--clock-offset-ms", "50000", NULL);
	sale(v.local[0], ss_now_ms() - HOUR_MS, "R-2", 1000, "cash");
	drained(v.local[0]);
	tl_stop(v.agent[0]);
	v.n = 0;
	last = tl_store_field(v.e.hub_query, "S1", "last_progress_ms");
	ck_assert_int_ge(last - first, 50000);
	ck_assert_int_lt(last - first, 60000);   /* within the index's lag */

	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(last + 29 * MIN_MS + 30000), NULL);
	ck_assert_int_eq(tl_row_find(r, "kind", "store", NULL), -1);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(last + 31 * MIN_MS), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ROW(r, "kind", "store", "id", "S1");
	ck_assert_int_eq(tl_cell_int(r, 0, "since_ms"), last);
	ck_assert_int_eq(tl_cell_int(r, 0, "age_ms"), 31 * MIN_MS);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* Weekly and monthly figures are sums of days, across a month boundary. */
START_TEST(sales_week_month)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;

	setup(&v, 2, "0");
	sale(v.local[0], 1793361600000LL, "R-1", 10000, "cash");    /* 2026-10-30 (Fri) 12:00Z */
	sale(v.local[0], 1793448000000LL, "R-2", 20000, "card");    /* 2026-10-31 (Sat) */
	sale(v.local[0], 1793534400000LL, "R-3", 40000, "mobile");  /* 2026-11-01 (Sun) */
	sale(v.local[0], 1793620800000LL, "R-4", 80000, "cash");    /* 2026-11-02 (Mon) */
	sale(v.local[1], 1793448000000LL, "R-1", 5000, "cash");     /* S2, 2026-10-31 */
	drained(v.local[0]);
	drained(v.local[1]);

	r = tl_query_ok(v.e.hub_query, "sales", "store", "S1", NULL);
	ck_assert_uint_eq(r->n_rows, 4);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "period", "2026-10-30"), "sales_fen"), 10000);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "period", "2026-10-31"), "sales_fen"), 20000);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "period", "2026-11-01"), "sales_fen"), 40000);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "period", "2026-11-02"), "sales_fen"), 80000);
	tl_query_free(r);

	/* Months: 2026-10 = 10,000 + 20,000 = 30,000 (cash 10,000, card 20,000);
	 * 2026-11 = 40,000 + 80,000 = 120,000 (mobile 40,000, cash 80,000). */
	r = tl_query_ok(v.e.hub_query, "sales", "store", "S1", "by", "month", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "period", "2026-10");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 2);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 30000);
	ck_assert_int_eq(tl_cell_int(r, row, "net_fen"), 30000);
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 10000);
	ck_assert_int_eq(tl_cell_int(r, row, "card_fen"), 20000);
	row = ROW(r, "period", "2026-11");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 2);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 120000);
	ck_assert_int_eq(tl_cell_int(r, row, "mobile_fen"), 40000);
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 80000);
	tl_query_free(r);

	/* ISO weeks: Mon 2026-10-26 .. Sun 2026-11-01 is 2026-W44 (week 1 began
	 * Mon 2025-12-29; 2026-10-26 is 301 days = 43 weeks later): 10,000 +
	 * 20,000 + 40,000 = 70,000 in 3 receipts; Mon 2026-11-02 starts W45. */
	r = tl_query_ok(v.e.hub_query, "sales", "store", "S1", "by", "week", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "period", "2026-W44");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 3);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 70000);
	row = ROW(r, "period", "2026-W45");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 80000);
	tl_query_free(r);

	/* from 2026-10-31 to 2026-11-01, by month: one day on each side. */
	r = tl_query_ok(v.e.hub_query, "sales", "store", "S1", "by", "month",
		"from", "2026-10-31", "to", "2026-11-01", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "period", "2026-10");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 20000);
	row = ROW(r, "period", "2026-11");
	ck_assert_int_eq(tl_cell_int(r, row, "receipts"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 40000);
	tl_query_free(r);

	/* Every store, same window, by day: S1 31st and 1st, S2 31st. */
	r = tl_query_ok(v.e.hub_query, "sales", "from", "2026-10-31", "to", "2026-11-01", NULL);
	ck_assert_uint_eq(r->n_rows, 3);
	ROW(r, "store_id", "S1", "period", "2026-10-31");
	ROW(r, "store_id", "S1", "period", "2026-11-01");
	row = ROW(r, "store_id", "S2", "period", "2026-10-31");
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 5000);
	tl_query_free(r);

	/* By month for every store: S2's October stays its own. */
	r = tl_query_ok(v.e.hub_query, "sales", "by", "month", NULL);
	ck_assert_uint_eq(r->n_rows, 3);
	row = ROW(r, "store_id", "S2", "period", "2026-10");
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 5000);
	row = ROW(r, "store_id", "S1", "period", "2026-10");
	ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), 30000);
	tl_query_free(r);

	/* A bad filter is refused with a reason. */
	r = tl_query(v.e.hub_query, "sales", "by", "year", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(r->error);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* An account paid off long ago and charged again yesterday is one day old,
 * not "no payment for 100 days": age counts from the later of the last
 * payment and the oldest charge the credits have not covered. */
START_TEST(aging_restarts_with_a_new_debt)
{
	struct views_env v;
	Storesync__QueryReply *r;
	const int64_t at = 1795132800000LL;   /* 2026-11-20T00:00Z */
	int row;

	setup(&v, 1, "0");
	contract(v.local[0], at - 120 * DAY_MS, "CT-A", 100000, 0);
	payment(v.local[0], at - 100 * DAY_MS, "CT-A", 100000, "card");     /* paid off */
	tl_submit_jsonf(v.local[0], "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-9\","
		"\"lines\":[{\"sku\":\"TEA-1\",\"quantity\":1,\"unit_price_fen\":50000}],"
		"\"total_fen\":50000,\"payment_method\":\"on_account\",\"account\":\"CT-A\","
		"\"cashier\":\"C1\"}", (long long)(at - DAY_MS));
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "accounts", "at", ms(at), NULL);
	row = ROW(r, "account", "CT-A");
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 50000);
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), at - DAY_MS);
	ck_assert_int_eq(tl_cell_int(r, row, "age_days"), 1);
	ck_assert_str_eq(tl_cell_str(r, row, "aging"), "0-30");
	ck_assert_int_eq(tl_cell_int(r, row, "stale"), 0);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "at", ms(at), NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "account", NULL), 0);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* An account opened by on-account sales alone belongs to the store of the
 * earliest one; a contract sale, whenever it arrives, takes precedence. */
START_TEST(account_owner_without_contract)
{
	struct views_env v;
	Storesync__QueryReply *r;
	const int64_t t0 = 1793700000000LL;
	const char *fmt = "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-%d\","
		"\"lines\":[{\"sku\":\"TEA-1\",\"quantity\":1,\"unit_price_fen\":7000}],"
		"\"total_fen\":7000,\"payment_method\":\"on_account\",\"account\":\"ACC-X\","
		"\"customer\":\"CUST-X\",\"cashier\":\"C1\"}";

	setup(&v, 2, "0");
	tl_submit_jsonf(v.local[1], fmt, (long long)(t0 + HOUR_MS), 2);   /* S2, later */
	drained(v.local[1]);
	tl_submit_jsonf(v.local[0], fmt, (long long)t0, 1);               /* S1, earlier */
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "accounts", NULL);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "owner_store"), "S1");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "customer"), "CUST-X");
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "account", "ACC-X"), "balance_fen"), 14000);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "store", "S1", "at", ms(t0 + 40 * DAY_MS), NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "account", "id", "ACC-X", NULL), 1);
	/* Owed since the oldest charge, t0 (no payment at all): 40 days. */
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "id", "ACC-X"), "reason"),
		"balance ¥140.00 owed for 40 days (policy stale_account_days 30)");
	tl_query_free(r);
	/* A contract on the account at S2, even dated later, makes S2 the owner. */
	tl_submit_jsonf(v.local[1], "{\"type\":\"contract_sale\",\"time_ms\":%lld,"
		"\"contract_no\":\"K-1\",\"account\":\"ACC-X\",\"customer\":\"CUST-K\","
		"\"total_fen\":100000,\"deposit_fen\":0,\"signer\":\"S-LI\"}",
		(long long)(t0 + 2 * HOUR_MS));
	drained(v.local[1]);
	r = tl_query_ok(v.e.hub_query, "accounts", NULL);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "owner_store"), "S2");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "contract_no"), "K-1");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "customer"), "CUST-K");
	tl_query_free(r);
	/* As at t0 + 1 h the contract is not dated yet: only records dated by
	 * then count, so the owner is the earliest on-account sale's store,
	 * S1, with no contract, the sale's customer, and both sales owed. */
	r = tl_query_ok(v.e.hub_query, "accounts", "at", ms(t0 + HOUR_MS), NULL);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "owner_store"), "S1");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "contract_no"), "");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-X"), "customer"), "CUST-X");
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "account", "ACC-X"), "balance_fen"), 14000);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "accounts", "store", "S1", "at", ms(t0 + HOUR_MS), NULL);
	ck_assert_int_eq(tl_row_count(r, "account", "ACC-X", NULL), 1);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "accounts", "store", "S2", "at", ms(t0 + HOUR_MS), NULL);
	ck_assert_int_eq(tl_row_count(r, "account", "ACC-X", NULL), 0);
	tl_query_free(r);
	/* Forty days on, the contract is dated by then: S2's, in stale too. */
	r = tl_query_ok(v.e.hub_query, "stale", "store", "S2", "at", ms(t0 + 40 * DAY_MS), NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "account", "id", "ACC-X", NULL), 1);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "stale", "store", "S1", "at", ms(t0 + 40 * DAY_MS), NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "account", "id", "ACC-X", NULL), 0);
	tl_query_free(r);
	/* Before any charge: no account at all. */
	r = tl_query_ok(v.e.hub_query, "accounts", "at", ms(t0 - 1), NULL);
	ck_assert_int_eq(tl_row_count(r, "account", "ACC-X", NULL), 0);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* An account the way a hub before sale_owner_* left it: the claim of its
 * earliest on-account sale and the mark that it is known taken out. */
static void as_an_older_hub_wrote(ProtobufCMessage *m)
{
	Storesync__AccountView *a = (Storesync__AccountView *)m;

	ck_assert(a->sale_owner_known && a->sale_owner_store);
	free(a->sale_owner_store);
	free(a->sale_owner_key);
	free(a->sale_customer);
	a->sale_owner_store = a->sale_owner_key = a->sale_customer = NULL;
	a->has_sale_owner_since_ms = a->has_sale_owner_known = 0;
	a->sale_owner_known = 0;
}

/* An account an older hub left owned by an on-account sale (S1, t0) takes
 * a contract after the upgrade (S2, t0 + 2 h): as at t0 + 1 h it is still
 * S1's, as it was, not the contract's store. */
START_TEST(account_from_an_older_hub_keeps_its_sale_owner)
{
	struct views_env v;
	Storesync__QueryReply *r;
	const int64_t t0 = 1793700000000LL;

	setup(&v, 2, "0");
	tl_submit_jsonf(v.local[0], "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-1\","
		"\"lines\":[{\"sku\":\"TEA-1\",\"quantity\":1,\"unit_price_fen\":7000}],"
		"\"total_fen\":7000,\"payment_method\":\"on_account\",\"account\":\"ACC-U\","
		"\"customer\":\"CUST-U\",\"cashier\":\"C1\"}", (long long)t0);
	drained(v.local[0]);
	tl_stop(v.hub);
	tl_hub_edit(v.e.hub_data, "accounts", "ACC-U", &storesync__account_view__descriptor,
		as_an_older_hub_wrote);
	v.hub = tl_start_hub(&v.e, NULL);
	tl_submit_jsonf(v.local[1], "{\"type\":\"contract_sale\",\"time_ms\":%lld,"
		"\"contract_no\":\"K-9\",\"account\":\"ACC-U\",\"customer\":\"CUST-K\","
		"\"total_fen\":100000,\"deposit_fen\":0,\"signer\":\"S-LI\"}",
		(long long)(t0 + 2 * HOUR_MS));
	drained(v.local[1]);
	r = tl_query_ok(v.e.hub_query, "accounts", "at", ms(t0 + HOUR_MS), NULL);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-U"), "owner_store"), "S1");
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-U"), "customer"), "CUST-U");
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "accounts", NULL);
	ck_assert_str_eq(tl_cell_str(r, ROW(r, "account", "ACC-U"), "owner_store"), "S2");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* Money paid back comes off its method's column, and net counts contracts:
 * a full cash refund leaves no cash; a contract refund does not make the
 * day's net negative. */
START_TEST(refunds_by_method_and_net)
{
	struct views_env v;
	Storesync__QueryReply *r;
	const int64_t t0 = 1793700000000LL;   /* 2026-11-03T10:00Z */
	int row;

	setup(&v, 1, "0");
	sale(v.local[0], t0, "R-1", 10000, "cash");
	tl_submit_jsonf(v.local[0], "{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"F-1\","
		"\"original_receipt\":\"R-1\",\"amount_fen\":10000,\"reason\":\"defect\","
		"\"method\":\"cash\"}", (long long)(t0 + HOUR_MS));
	contract(v.local[0], t0, "CT-9", 3850000, 0);
	/* Above the store's refund authority: approved by HQ. */
	tl_submit_jsonf(v.local[0], "{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"F-2\","
		"\"original_receipt\":\"CT-9\",\"amount_fen\":500000,\"reason\":\"scratched\","
		"\"account\":\"CT-9\",\"approval\":\"HQ-77\"}", (long long)(t0 + HOUR_MS));
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "sales", NULL);
	row = ROW(r, "period", "2026-11-03");
	ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "refunds_fen"), 510000);
	/* net = 10,000 + 3,850,000 - 510,000 */
	ck_assert_int_eq(tl_cell_int(r, row, "net_fen"), 3350000);
	ck_assert_int_eq(tl_cell_int(r, row, "on_account_fen"), -500000);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "accounts", NULL);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "account", "CT-9"), "balance_fen"), 3350000);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* A stocktake already counts every move made before it: a sale entered
 * late, dated before the count, changes nothing. */
START_TEST(late_move_before_stocktake_ignored)
{
	struct views_env v;
	Storesync__QueryReply *r;
	const int64_t t = 1793700000000LL;
	int row;

	setup(&v, 1, "0");
	move(v.local[0], t, "stocktake", "SKU-7", 10);
	move(v.local[0], t - HOUR_MS, "sale", "SKU-7", 3);
	move(v.local[0], t + HOUR_MS, "sale", "SKU-7", 2);
	drained(v.local[0]);
	r = tl_query_ok(v.e.hub_query, "inventory", "sku", "SKU-7", NULL);
	row = ROW(r, "sku", "SKU-7");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 8);
	ck_assert_int_eq(tl_cell_int(r, row, "last_move_ms"), t + HOUR_MS);
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* docs/records.md, Stock: an out-of-stock day is a store-local day, and
 * "today" is the day in the offset of the SKU's latest move. The store is
 * at UTC-5 (local = UTC - 5 h), and every move below is in the local
 * evening or night, when the UTC date is already the next one, so a UTC
 * calendar gives other days (in the comments: what it would say).
 *   RUG-5: counted 2 at 11-10 10:00 local (15:00Z), sold 2 at 11-10 21:00
 *     local (11-11T02:00Z): local 11-10 ends at 0, out since 11-10 (UTC:
 *     since 11-11). No move on 11-11: out. Received 5 at 11-12 01:00 local
 *     (11-12T06:00Z): 5 on hand, the days that ended out 11-10 and 11-11: 2
 *     (UTC: only 11-11, 1).
 *   MAT-6: counted 1 at 11-10 20:00 local (11-11T01:00Z), sold 1 at 20:30
 *     local (11-11T01:30Z): out since 11-10 (UTC: 11-11), and stays out. */
START_TEST(inventory_days_are_store_local)
{
	struct views_env v;
	Storesync__QueryReply *r;
	int row;

	setup(&v, 1, "-300");
	move(v.local[0], 1794322800000LL, "stocktake", "RUG-5", 2);   /* 11-10 10:00 local */
	move(v.local[0], 1794362400000LL, "sale", "RUG-5", 2);        /* 11-10 21:00 local */
	move(v.local[0], 1794463200000LL, "receipt", "RUG-5", 5);     /* 11-12 01:00 local */
	move(v.local[0], 1794358800000LL, "stocktake", "MAT-6", 1);   /* 11-10 20:00 local */
	move(v.local[0], 1794360600000LL, "sale", "MAT-6", 1);        /* 11-10 20:30 local */
	drained(v.local[0]);

	/* 11-10 23:59:59.999 local (1794373199999): RUG-5 at 0 since 11-10,
	 * whose end has not come: 0 days. MAT-6 the same. */
	r = tl_query_ok(v.e.hub_query, "inventory", "at", ms(1794373199999LL), NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	row = ROW(r, "sku", "RUG-5");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-10");
	row = ROW(r, "sku", "MAT-6");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-10");
	tl_query_free(r);

	/* 11-11 00:00 local (1794373200000, 05:00Z): local 11-10 has ended at
	 * 0: 1 day each (UTC: the run began 11-11, still in progress: 0). */
	r = tl_query_ok(v.e.hub_query, "inventory", "at", ms(1794373200000LL), NULL);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "sku", "RUG-5"), "out_of_stock_days"), 1);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "sku", "MAT-6"), "out_of_stock_days"), 1);
	tl_query_free(r);

	/* 11-11 23:00 local (1794456000000 = 11-12T04:00Z, a UTC day later):
	 * 11-11 has not ended for the store: still 1 (a UTC "today" would say
	 * 2 for MAT-6, whose last move is before this moment). */
	r = tl_query_ok(v.e.hub_query, "inventory", "at", ms(1794456000000LL), NULL);
	row = ROW(r, "sku", "MAT-6");
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 1);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-10");
	row = ROW(r, "sku", "RUG-5");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 1);
	tl_query_free(r);

	/* 11-12 00:00 local (1794459600000): MAT-6 out on 11-10 and 11-11: 2.
	 * At 00:59 (1794463140000) RUG-5 is still at 0, 2 days, since 11-10. */
	r = tl_query_ok(v.e.hub_query, "inventory", "sku", "MAT-6", "at", ms(1794459600000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "out_of_stock_days"), 2);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "inventory", "sku", "RUG-5", "at", ms(1794463140000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "on_hand"), 0);
	ck_assert_int_eq(tl_cell_int(r, 0, "out_of_stock_days"), 2);
	ck_assert_str_eq(tl_cell_str(r, 0, "out_of_stock_since"), "2026-11-10");
	tl_query_free(r);

	/* After every move, at 11-20 00:00 local (1795150800000): RUG-5 holds
	 * 5, in stock, 2 days out (11-10, 11-11). MAT-6 out 11-10 .. 11-19: 10
	 * ended days, since 11-10. */
	r = tl_query_ok(v.e.hub_query, "inventory", "at", ms(1795150800000LL), NULL);
	row = ROW(r, "sku", "RUG-5");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 5);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 2);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "");
	ck_assert_int_eq(tl_cell_int(r, row, "last_move_ms"), 1794463200000LL);
	row = ROW(r, "sku", "MAT-6");
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 10);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-10");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* docs/records.md, Stock: before the SKU's first stocktake it counts from
 * 0. L = 2026-11-01T10:00:00Z = 1793527200000, UTC offset 0.
 *   BOWL-1: received 5 (11-01), sold 2 (11-02): 0 + 5 - 2 = 3, never out.
 *   CUP-2: sold 1 first (11-01): 0 - 1 = -1, out; nothing on 11-02: out;
 *     received 4 (11-03): 3. Out 11-01 and 11-02: 2 days.
 *   JUG-3: adjusted -2 (11-01 10:00) and received 3 (11:00): 1 at the end
 *     of 11-01; counted 10 on 11-02 10:00, sold 4 at 11:00: 6. */
START_TEST(inventory_counts_from_zero_before_a_stocktake)
{
	struct views_env v;
	Storesync__QueryReply *r;
	const int64_t l = 1793527200000LL;
	int row;

	setup(&v, 1, "0");
	move(v.local[0], l, "receipt", "BOWL-1", 5);
	move(v.local[0], l + DAY_MS, "sale", "BOWL-1", 2);
	move(v.local[0], l, "sale", "CUP-2", 1);
	move(v.local[0], l + 2 * DAY_MS, "receipt", "CUP-2", 4);
	move(v.local[0], l, "adjustment", "JUG-3", -2);
	move(v.local[0], l + HOUR_MS, "receipt", "JUG-3", 3);
	move(v.local[0], l + DAY_MS, "stocktake", "JUG-3", 10);
	move(v.local[0], l + DAY_MS + HOUR_MS, "sale", "JUG-3", 4);
	drained(v.local[0]);

	/* At 2026-11-08T12:00Z = 1794139200000, after every move. */
	r = tl_query_ok(v.e.hub_query, "inventory", "at", ms(1794139200000LL), NULL);
	ck_assert_uint_eq(r->n_rows, 3);
	row = ROW(r, "sku", "BOWL-1");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 3);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "");
	ck_assert_int_eq(tl_cell_int(r, row, "last_stocktake_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "moves"), 2);
	row = ROW(r, "sku", "CUP-2");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 3);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 2);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "");
	row = ROW(r, "sku", "JUG-3");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 6);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "last_stocktake_ms"), l + DAY_MS);
	tl_query_free(r);

	/* As at 11-02 10:00 (L + 1 d): BOWL-1 5 - 2 = 3; CUP-2 -1, out since
	 * 11-01, which has ended: 1 day; JUG-3 its count of 10 (the day before
	 * ended at 1: not out). As at 11-01 10:30: JUG-3 0 - 2 = -2, out since
	 * 11-01, 0 days. */
	r = tl_query_ok(v.e.hub_query, "inventory", "at", ms(l + DAY_MS), NULL);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "sku", "BOWL-1"), "on_hand"), 3);
	row = ROW(r, "sku", "CUP-2");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), -1);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 1);
	ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-01");
	row = ROW(r, "sku", "JUG-3");
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 10);
	ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
	tl_query_free(r);
	r = tl_query_ok(v.e.hub_query, "inventory", "sku", "JUG-3", "at", ms(l + 30 * MIN_MS), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "on_hand"), -2);
	ck_assert_int_eq(tl_cell_int(r, 0, "out_of_stock_days"), 0);
	ck_assert_str_eq(tl_cell_str(r, 0, "out_of_stock_since"), "2026-11-01");
	tl_query_free(r);
	teardown(&v);
}
END_TEST

/* Hello from a store that holds records through last_seq. */
static void hello_holding(struct tl_link *l, const char *store, uint64_t epoch, uint64_t last_seq)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;

	h.store_id = (char *)store;
	h.epoch = epoch;
	h.has_epoch = 1;
	h.last_seq = last_seq;
	h.has_last_seq = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	tl_link_send(l, &m);
	storesync__link_message__free_unpacked(
		tl_link_expect(l, STORESYNC__LINK_MESSAGE__KIND_WELCOME, 5000), NULL);
}

/* A heartbeat the hub need not answer (it does not when it has sent the
 * store something since the previous one, its own answer included). */
static void heartbeat_send(struct tl_link *l, uint64_t backlog)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;

	hb.backlog = backlog;
	hb.has_backlog = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	tl_link_send(l, &m);
}

static void heartbeat(struct tl_link *l, uint64_t backlog)
{
	heartbeat_send(l, backlog);
	storesync__link_message__free_unpacked(
		tl_link_expect(l, STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT, 5000), NULL);
}

/* "Silent" means records stopped arriving: a store that keeps heartbeating
 * over a stuck backlog is silent; one heartbeating with nothing to send is
 * not. The hub's test clock moves 31 minutes on between the two visits. */
START_TEST(heartbeat_over_stuck_backlog_is_silent)
{
	struct tl_env e;
	struct tl_link stuck, idle;
	Storesync__QueryReply *r;
	pid_t hub;
	const char *at;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	at = ms(ss_now_ms() + 32 * MIN_MS);
	tl_link_open(&stuck, e.hub_listen);
	tl_link_open(&idle, e.hub_listen);
	hello_holding(&stuck, "S8", 8, 5);
	tl_link_hello(&idle, "S9", 9);
	tl_link_close(&stuck);
	tl_link_close(&idle);
	tl_stop(hub);
	hub = tl_start_hub(&e, "--clock-offset-ms", "1860000", NULL);   /* +31 min */
	tl_link_open(&stuck, e.hub_listen);
	tl_link_open(&idle, e.hub_listen);
	hello_holding(&stuck, "S8", 8, 5);   /* holds 5 records it cannot deliver */
	tl_link_hello(&idle, "S9", 9);
	heartbeat(&stuck, 5);
	heartbeat(&idle, 0);
	r = tl_query_ok(e.hub_query, "stale", "at", at, NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "store", "id", "S8", NULL), 1);
	ck_assert_int_eq(tl_row_count(r, "kind", "store", "id", "S9", NULL), 0);
	tl_query_free(r);
	tl_link_close(&stuck);
	tl_link_close(&idle);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

static int64_t fen_100(uint64_t seq)
{
	(void)seq;
	return 100;
}

/* A store in conflict (its data directory rolled back: its Hello holds
 * less of its epoch than the hub has) makes no progress whatever it says,
 * so it goes silent (docs/records.md, Time in queries, Stores). S7 sends
 * seqs 1..5; 31 minutes later by the hub's clock it says Hello holding
 * through seq 2, then heartbeats: backlog 3, then 0 (each a change the
 * round writes), then 0 again (kept in memory, written by the next
 * sweep: --state-flush-ms 1000). S9, idle and in no conflict, says Hello
 * and heartbeats with nothing to send. At 32 minutes S7 is silent since
 * its batch, S9 not. */
START_TEST(store_in_conflict_goes_silent)
{
	struct tl_env e;
	struct tl_link rolled, idle;
	Storesync__QueryReply *r;
	int64_t progress, seen, deadline;
	pid_t hub;
	const char *at;
	int row;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	at = ms(ss_now_ms() + 32 * MIN_MS);
	tl_link_open(&rolled, e.hub_listen);
	tl_link_open(&idle, e.hub_listen);
	tl_link_hello(&rolled, "S7", 7);
	tl_link_batch(&rolled, "S7", 7, 1, 5, fen_100);
	ck_assert_uint_eq(tl_link_ack(&rolled), 5);
	tl_link_hello(&idle, "S9", 9);
	progress = tl_store_field(e.hub_query, "S7", "last_progress_ms");
	ck_assert_int_gt(progress, 0);
	tl_link_close(&rolled);
	tl_link_close(&idle);
	tl_stop(hub);
	hub = tl_start_hub(&e, "--clock-offset-ms", "1860000", "--state-flush-ms", "1000", NULL);
	tl_link_open(&rolled, e.hub_listen);
	tl_link_open(&idle, e.hub_listen);
	hello_holding(&rolled, "S7", 7, 2);   /* the hub has 5: a conflict */
	heartbeat(&rolled, 3);
	heartbeat_send(&rolled, 0);           /* not answered: the hub just spoke */
	ck_assert_int_eq(tl_wait_hub_backlog_zero(e.hub_query, "S7", 5000), 0);
	seen = tl_store_field(e.hub_query, "S7", "last_seen_ms");
	heartbeat(&rolled, 0);                /* no change: held, then swept */
	deadline = ss_now_ms() + 10000;
	while (tl_store_field(e.hub_query, "S7", "last_seen_ms") <= seen && ss_now_ms() < deadline)
		tl_sh("sleep 0.1");
	ck_assert_int_gt(tl_store_field(e.hub_query, "S7", "last_seen_ms"), seen);
	tl_link_hello(&idle, "S9", 9);
	heartbeat(&idle, 0);

	r = tl_query_ok(e.hub_query, "stores", "at", at, NULL);
	row = ROW(r, "store_id", "S7");
	ck_assert_int_eq(tl_cell_int(r, row, "conflict"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "last_progress_ms"), progress);
	ck_assert_int_eq(tl_cell_int(r, row, "silent"), 1);
	row = ROW(r, "store_id", "S9");
	ck_assert_int_eq(tl_cell_int(r, row, "conflict"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "silent"), 0);
	tl_query_free(r);
	r = tl_query_ok(e.hub_query, "stale", "at", at, NULL);
	ck_assert_uint_eq(tl_row_count(r, "kind", "store", "id", "S7", NULL), 1);
	ck_assert_int_eq(tl_cell_int(r, ROW(r, "kind", "store", "id", "S7"), "since_ms"), progress);
	ck_assert_uint_eq(tl_row_count(r, "kind", "store", "id", "S9", NULL), 0);
	tl_query_free(r);
	tl_link_close(&rolled);
	tl_link_close(&idle);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* A store HQ registered but never heard from has made no progress at
 * all: it is silent since its registration, in `stores` and in `stale`
 * alike, by the same policy (30 minutes by default). */
START_TEST(registered_store_never_heard_from_is_silent_since_registration)
{
	struct tl_env e;
	Storesync__QueryReply *r;
	int64_t added;
	pid_t hub;
	int row;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	r = tl_query(e.hub_query, "store add", "store", "S5", "name", "New", NULL);
	ck_assert_str_eq(tl_answer(r, "result"), "added");
	tl_query_free(r);
	r = tl_query_ok(e.hub_query, "store list", NULL);
	added = tl_cell_int(r, ROW(r, "store_id", "S5"), "added_ms");
	tl_query_free(r);

	r = tl_query_ok(e.hub_query, "stores", "at", ms(added + 29 * MIN_MS), NULL);
	row = ROW(r, "store_id", "S5");
	ck_assert_int_eq(tl_cell_int(r, row, "silent_ms"), 29 * MIN_MS);
	ck_assert_int_eq(tl_cell_int(r, row, "silent"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "last_progress_ms"), 0);
	tl_query_free(r);
	r = tl_query_ok(e.hub_query, "stale", "at", ms(added + 29 * MIN_MS), NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);

	r = tl_query_ok(e.hub_query, "stores", "at", ms(added + 31 * MIN_MS), NULL);
	row = ROW(r, "store_id", "S5");
	ck_assert_int_eq(tl_cell_int(r, row, "silent_ms"), 31 * MIN_MS);
	ck_assert_int_eq(tl_cell_int(r, row, "silent"), 1);
	tl_query_free(r);
	r = tl_query_ok(e.hub_query, "stale", "at", ms(added + 31 * MIN_MS), NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = ROW(r, "kind", "store", "id", "S5");
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), added);
	ck_assert_int_eq(tl_cell_int(r, row, "age_ms"), 31 * MIN_MS);
	ck_assert_str_eq(tl_cell_str(r, row, "reason"),
		"never heard from: registered 31 minutes ago (policy store_silence_minutes 30)");
	tl_query_free(r);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { contract_payments_two_stores, refund_same_day,
		complaint_deadlines, late_means_dated_after_the_deadline, emergency_deadline,
		overdue_listed_once, aging_buckets, case_numbers_per_month,
		inventory_on_hand, silent_store, silent_store_judged_by_its_progress_not_the_index,
		sales_week_month, aging_restarts_with_a_new_debt,
		account_owner_without_contract, account_from_an_older_hub_keeps_its_sale_owner,
		refunds_by_method_and_net,
		late_move_before_stocktake_ignored, inventory_days_are_store_local,
		inventory_counts_from_zero_before_a_stocktake, heartbeat_over_stuck_backlog_is_silent,
		store_in_conflict_goes_silent,
		registered_store_never_heard_from_is_silent_since_registration };

	return tl_run("views", tests, sizeof tests / sizeof tests[0], 30);
}
