/* test_money: money adds up, and every amount has one home (issue 8 §3,
 * docs/records.md "What the views say"). For every store-day of a mixed day
 * of records:
 *
 *   cash + card + mobile + on_account = sales + deposits + payments - refunds
 *
 * (compensation is reported apart: its method is not recorded). A refund
 * is paid back by a method or credited to an account, never both; a deposit
 * is money in hand (it has a method, not on_account). Records that break
 * these rules, or whose case number names another month than the store-local
 * one of registration, are refused at the hub as at the agent: kept, no
 * effect, counted.
 *
 * Records go through a test peer on the link, with each store's UTC offset
 * stamped as its agent would; every figure is worked out by hand below. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"

#define EPOCH 0x00000000000000a1ull
#define N(a) (sizeof (a) / sizeof (a)[0])

/* S1 at UTC+8. T0 = 2026-11-10T02:00:00Z = 1794276000000 = 10:00 local on
 * 2026-11-10; hours after it are written out. T0 + 15 h is 01:00 on the 11th. */
static const char *const s1_lines[] = {
	"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":20000}],\"total_fen\":20000,"
	"\"payment_method\":\"cash\"}",
	"{\"type\":\"sale\",\"time_ms\":1794279600000,\"receipt_no\":\"R-2\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":15000}],\"total_fen\":15000,"
	"\"payment_method\":\"card\"}",
	"{\"type\":\"sale\",\"time_ms\":1794283200000,\"receipt_no\":\"R-3\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":7000}],\"total_fen\":7000,"
	"\"payment_method\":\"mobile\"}",
	"{\"type\":\"sale\",\"time_ms\":1794286800000,\"receipt_no\":\"R-4\",\"lines\":[{\"sku\":"
	"\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":50000}],\"total_fen\":50000,"
	"\"payment_method\":\"on_account\",\"account\":\"ACC-1\"}",
	"{\"type\":\"contract_sale\",\"time_ms\":1794290400000,\"contract_no\":\"CT-1\","
	"\"customer\":\"CUST-1\",\"total_fen\":300000,\"deposit_fen\":100000,"
	"\"deposit_method\":\"card\"}",
	"{\"type\":\"contract_sale\",\"time_ms\":1794294000000,\"contract_no\":\"CT-2\","
	"\"customer\":\"CUST-2\",\"total_fen\":80000,\"deposit_fen\":0}",
	"{\"type\":\"payment\",\"time_ms\":1794297600000,\"payment_no\":\"P-1\",\"account\":\"CT-1\","
	"\"amount_fen\":30000,\"method\":\"cash\"}",
	/* paid back in cash */
	"{\"type\":\"refund\",\"time_ms\":1794301200000,\"refund_no\":\"F-1\",\"original_receipt\":"
	"\"R-1\",\"amount_fen\":5000,\"reason\":\"scratched\",\"method\":\"cash\"}",
	/* credited to the account it was charged to */
	"{\"type\":\"refund\",\"time_ms\":1794304800000,\"refund_no\":\"F-2\",\"original_receipt\":"
	"\"R-4\",\"amount_fen\":10000,\"reason\":\"price adjusted\",\"account\":\"ACC-1\"}",
	"{\"type\":\"refund\",\"time_ms\":1794308400000,\"refund_no\":\"F-3\",\"original_receipt\":"
	"\"CT-1\",\"amount_fen\":2000,\"reason\":\"late\",\"account\":\"CT-1\","
	"\"method\":\"on_account\"}",
	"{\"type\":\"complaint\",\"time_ms\":1794279600000,\"case_no\":\"S1-202611-1\","
	"\"channel\":\"counter\",\"category\":\"delivery\",\"severity\":\"low\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794312000000,\"case_no\":\"S1-202611-1\","
	"\"step\":\"resolved\",\"resolution\":\"refund\",\"amount_fen\":1000}",
	/* 2026-11-11 local */
	"{\"type\":\"sale\",\"time_ms\":1794330000000,\"receipt_no\":\"R-5\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":9000}],\"total_fen\":9000,"
	"\"payment_method\":\"cash\"}",
	"{\"type\":\"payment\",\"time_ms\":1794333600000,\"payment_no\":\"P-2\",\"account\":\"ACC-1\","
	"\"amount_fen\":4000,\"method\":\"mobile\"}",
};

/* S2 at UTC-5: T0 is 21:00 on 2026-11-09 local; T0 + 4 h is 01:00 on the 10th. */
static const char *const s2_lines[] = {
	"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":12000}],\"total_fen\":12000,"
	"\"payment_method\":\"mobile\"}",
	/* S1's contract paid at S2 */
	"{\"type\":\"payment\",\"time_ms\":1794279600000,\"payment_no\":\"P-9\",\"account\":\"CT-1\","
	"\"amount_fen\":6000,\"method\":\"card\"}",
	"{\"type\":\"refund\",\"time_ms\":1794290400000,\"refund_no\":\"F-1\",\"original_receipt\":"
	"\"R-1\",\"amount_fen\":3000,\"reason\":\"broken\",\"method\":\"mobile\"}",
	"{\"type\":\"sale\",\"time_ms\":1794294000000,\"receipt_no\":\"R-2\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":8000}],\"total_fen\":8000,"
	"\"payment_method\":\"on_account\",\"account\":\"ACC-2\"}",
};

/* What an agent refuses, sent by a broken one: the hub refuses it too. */
static const char *const s1_refused[] = {
	/* paid back in cash and credited: the customer would get it twice */
	"{\"type\":\"refund\",\"time_ms\":1794308400000,\"refund_no\":\"F-9\",\"original_receipt\":"
	"\"R-4\",\"amount_fen\":10000,\"reason\":\"twice\",\"account\":\"ACC-1\","
	"\"method\":\"cash\"}",
	/* neither paid back nor credited: money in no column */
	"{\"type\":\"refund\",\"time_ms\":1794308400000,\"refund_no\":\"F-8\",\"original_receipt\":"
	"\"R-2\",\"amount_fen\":1000,\"reason\":\"nowhere\"}",
	/* a deposit on account is no money in hand */
	"{\"type\":\"contract_sale\",\"time_ms\":1794290400000,\"contract_no\":\"CT-9\","
	"\"customer\":\"CUST-9\",\"total_fen\":90000,\"deposit_fen\":10000,"
	"\"deposit_method\":\"on_account\"}",
	/* a deposit that says not how it was paid */
	"{\"type\":\"contract_sale\",\"time_ms\":1794290400000,\"contract_no\":\"CT-8\","
	"\"customer\":\"CUST-8\",\"total_fen\":90000,\"deposit_fen\":5000}",
	/* registered on 2026-11-10 local, numbered in October */
	"{\"type\":\"complaint\",\"time_ms\":1794276000000,\"case_no\":\"S1-202610-2\","
	"\"channel\":\"counter\",\"category\":\"price\",\"severity\":\"low\"}",
};

struct day_want {
	const char *store, *day;
	int64_t sales, deposits, payments, refunds, cash, card, mobile, on_account;
};

static const struct day_want days[] = {
	/* S1 11-10: sales 20,000 + 15,000 + 7,000 + 50,000 = 92,000; deposit
	 * 100,000; payment 30,000; refunds 5,000 + 10,000 + 2,000 = 17,000.
	 * cash 20,000 + 30,000 - 5,000 = 45,000; card 15,000 + 100,000 =
	 * 115,000; mobile 7,000; on_account 50,000 - 10,000 - 2,000 = 38,000.
	 * 45,000 + 115,000 + 7,000 + 38,000 = 205,000 = 92,000 + 100,000 +
	 * 30,000 - 17,000. */
	{ "S1", "2026-11-10", 92000, 100000, 30000, 17000, 45000, 115000, 7000, 38000 },
	/* S1 11-11: 9,000 cash + 4,000 mobile. */
	{ "S1", "2026-11-11", 9000, 0, 4000, 0, 9000, 0, 4000, 0 },
	/* S2 11-09: 12,000 mobile + 6,000 card. */
	{ "S2", "2026-11-09", 12000, 0, 6000, 0, 0, 6000, 12000, 0 },
	/* S2 11-10: 8,000 on account, 3,000 paid back by mobile. */
	{ "S2", "2026-11-10", 8000, 0, 0, 3000, 0, 0, -3000, 8000 },
};

START_TEST(every_store_day_adds_up)
{
	struct tl_env e;
	struct tl_link l1, l2;
	Storesync__QueryReply *r;
	pid_t hub;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	tl_link_open(&l1, e.hub_listen);
	tl_link_open(&l2, e.hub_listen);
	tl_link_hello(&l1, "S1", EPOCH);
	ck_assert_uint_eq(tl_link_send_json(&l1, "S1", EPOCH, 1, 480, s1_lines, N(s1_lines)),
		N(s1_lines));
	ck_assert_uint_eq(tl_link_send_json(&l1, "S1", EPOCH, N(s1_lines) + 1, 480, s1_refused,
		N(s1_refused)), N(s1_lines) + N(s1_refused));
	tl_link_hello(&l2, "S2", EPOCH);
	ck_assert_uint_eq(tl_link_send_json(&l2, "S2", EPOCH, 1, -300, s2_lines, N(s2_lines)),
		N(s2_lines));
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "refused"), (int64_t)N(s1_refused));
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), (int64_t)N(s1_lines));

	r = tl_query_ok(e.hub_query, "sales", NULL);
	ck_assert_uint_eq(r->n_rows, N(days));
	for (size_t i = 0; i < r->n_rows; i++) {
		int64_t columns = tl_cell_int(r, (int)i, "cash_fen") + tl_cell_int(r, (int)i, "card_fen")
			+ tl_cell_int(r, (int)i, "mobile_fen") + tl_cell_int(r, (int)i, "on_account_fen");
		int64_t money = tl_cell_int(r, (int)i, "sales_fen") + tl_cell_int(r, (int)i,
			"deposits_fen") + tl_cell_int(r, (int)i, "payments_fen")
			- tl_cell_int(r, (int)i, "refunds_fen");

		ck_assert_msg(columns == money, "%s %s: columns %lld, money %lld",
			tl_cell_str(r, (int)i, "store_id"), tl_cell_str(r, (int)i, "period"),
			(long long)columns, (long long)money);
	}
	for (size_t i = 0; i < N(days); i++) {
		int row = tl_row_find(r, "store_id", days[i].store, "period", days[i].day, NULL);

		ck_assert_msg(row >= 0, "no row %s %s", days[i].store, days[i].day);
		ck_assert_int_eq(tl_cell_int(r, row, "sales_fen"), days[i].sales);
		ck_assert_int_eq(tl_cell_int(r, row, "deposits_fen"), days[i].deposits);
		ck_assert_int_eq(tl_cell_int(r, row, "payments_fen"), days[i].payments);
		ck_assert_int_eq(tl_cell_int(r, row, "refunds_fen"), days[i].refunds);
		ck_assert_int_eq(tl_cell_int(r, row, "cash_fen"), days[i].cash);
		ck_assert_int_eq(tl_cell_int(r, row, "card_fen"), days[i].card);
		ck_assert_int_eq(tl_cell_int(r, row, "mobile_fen"), days[i].mobile);
		ck_assert_int_eq(tl_cell_int(r, row, "on_account_fen"), days[i].on_account);
	}
	/* Compensation is apart: 1,000 on S1's 11-10 (T0 + 10 h = 20:00 local). */
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "store_id", "S1", "period", "2026-11-10",
		NULL), "compensation_fen"), 1000);
	tl_query_free(r);

	/* Credits count once. CT-1: charged 300,000; received 100,000 (deposit)
	 * + 30,000 + 6,000 (at S2) = 136,000; credited 2,000: balance 162,000.
	 * ACC-1: 50,000 - 4,000 received - 10,000 credited = 36,000. */
	r = tl_query_ok(e.hub_query, "accounts", NULL);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "account", "CT-1", NULL), "balance_fen"),
		162000);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "account", "CT-1", NULL), "received_fen"),
		136000);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "account", "ACC-1", NULL), "balance_fen"),
		36000);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "account", "ACC-1", NULL), "refunded_fen"),
		10000);
	ck_assert_int_eq(tl_row_find(r, "account", "CT-9", NULL), -1);
	ck_assert_int_eq(tl_row_find(r, "account", "CT-8", NULL), -1);
	tl_query_free(r);
	tl_link_close(&l1);
	tl_link_close(&l2);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* The agent refuses the same records at the till, with the reason. */
START_TEST(agent_refuses_what_has_no_home)
{
	static const char *const want[] = {
		"refund: give method (money paid back) or account (a credit to the account), not both",
		"refund: method is required (how the money was paid back), or account for a credit "
		"to the account",
		"contract_sale: deposit_method must not be on_account (a deposit is money in hand)",
		"contract_sale: deposit_method is required when deposit_fen is given (how the deposit "
		"was paid)",
		"complaint: case_no month 202610 is not 202611, the store-local month of time_ms",
	};
	struct tl_env e;
	char local[320], data[320];
	pid_t agent;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	agent = tl_start_agent(&e, "S1", "--utc-offset", "480", NULL);
	for (size_t i = 0; i < N(s1_refused); i++) {
		struct tl_result res = tl_submit_json_result(local, "%s", s1_refused[i]);

		ck_assert_str_eq(res.error, want[i]);
	}
	tl_stop(agent);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { every_store_day_adds_up, agent_refuses_what_has_no_home };

	return tl_run("money", tests, sizeof tests / sizeof tests[0], 30);
}
