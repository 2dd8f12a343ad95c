/* test_enforce: HQ's policies enforced by the agent at submit, offline
 * (store-agent/agent_enforce.c), with the real agent and a test hub peer
 * that sends the PolicySets. Each rule refuses what passes its value by one
 * and accepts its value exactly, with a reason naming the policy and its
 * value; each uses the policy in force at the record's own time; records
 * of one request are judged in order, each seeing the ones before. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ss_time.h"
#include "testlib.h"

#define WAIT_MS 10000
#define DAY_MS (24 * 3600 * 1000LL)

struct fx {
	struct tl_env e;
	struct tl_fakehub hub;
	pid_t agent;
	char local[320], data[320];
	uint64_t update_id;
};

static void fx_start(struct fx *f)
{
	memset(f, 0, sizeof *f);
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S1", f->local, sizeof f->local, f->data, sizeof f->data);
	tl_fakehub_open(&f->hub, f->e.hub_listen);
	f->agent = tl_start_agent(&f->e, "S1", NULL);
	ck_assert_uint_eq(tl_fakehub_hello(&f->hub, WAIT_MS), 0);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->agent);
	tl_fakehub_close(&f->hub);
	tl_env_cleanup(&f->e);
}

/* HQ sets name = value from effective_ms on. */
static void set_policy(struct fx *f, const char *name, int64_t value, int64_t effective_ms)
{
	Storesync__Update *u = tl_update(f->update_id + 1, f->update_id);

	tl_update_policy(u, effective_ms, name, value);
	ck_assert_uint_eq(tl_fakehub_apply(&f->hub, u), f->update_id + 1);
	storesync__update__free_unpacked(u, NULL);
	f->update_id++;
}

static void accepted(struct tl_result r)
{
	ck_assert_msg(r.error[0] == '\0', "refused: %s", r.error);
	ck_assert(r.seq > 0 && !r.duplicate);
}

static void refused(struct tl_result r, const char *want)
{
	ck_assert_uint_eq(r.seq, 0);
	ck_assert_str_eq(r.error, want);
}

#define REFUND "{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"%s\",\"original_receipt\":" \
	"\"R-0\",\"amount_fen\":%lld,\"reason\":\"defect\",\"method\":\"cash\"%s}"

START_TEST(refund_above_authority_needs_approval)
{
	long long now = (long long)ss_now_ms();
	struct fx f;

	fx_start(&f);
	/* The default authority: 50,000 fen. */
	accepted(tl_submit_json_result(f.local, REFUND, now, "F-1", 50000LL, ""));
	refused(tl_submit_json_result(f.local, REFUND, now, "F-2", 50001LL, ""),
		"refund: amount_fen 50001 is above store_refund_authority_fen 50000: needs an "
		"approval reference");
	set_policy(&f, "store_refund_authority_fen", 10000, 1);
	accepted(tl_submit_json_result(f.local, REFUND, now, "F-3", 10000LL, ""));
	refused(tl_submit_json_result(f.local, REFUND, now, "F-4", 10001LL, ""),
		"refund: amount_fen 10001 is above store_refund_authority_fen 10000: needs an "
		"approval reference");
	accepted(tl_submit_json_result(f.local, REFUND, now, "F-4", 10001LL,
		",\"approval\":\"HQ-2026-118\""));
	fx_stop(&f);
}
END_TEST

#define PROGRESS "{\"type\":\"complaint_progress\",\"time_ms\":%lld,\"case_no\":\"S1-%s-%d\"," \
	"\"step\":\"resolved\",\"resolution\":\"refund\",\"amount_fen\":%lld%s}"

/* Compensation is approved by amount as a refund is (the manuals' authority
 * limits): a complaint's step paying more than the store's authority needs
 * HQ's approval reference. */
START_TEST(compensation_above_authority_needs_approval)
{
	long long now = (long long)ss_now_ms();
	time_t t = (time_t)(now / 1000);
	char month[8];
	struct tm tm;
	struct fx f;

	gmtime_r(&t, &tm);
	strftime(month, sizeof month, "%Y%m", &tm);
	fx_start(&f);
	accepted(tl_submit_json_result(f.local, PROGRESS, now, month, 1, 50000LL, ""));
	refused(tl_submit_json_result(f.local, PROGRESS, now, month, 2, 50001LL, ""),
		"complaint_progress: amount_fen 50001 is above store_refund_authority_fen 50000: "
		"needs an approval reference");
	set_policy(&f, "store_refund_authority_fen", 80000, 1);
	accepted(tl_submit_json_result(f.local, PROGRESS, now, month, 2, 80000LL, ""));
	refused(tl_submit_json_result(f.local, PROGRESS, now, month, 3, 9000000LL, ""),
		"complaint_progress: amount_fen 9000000 is above store_refund_authority_fen 80000: "
		"needs an approval reference");
	accepted(tl_submit_json_result(f.local, PROGRESS, now, month, 3, 9000000LL,
		",\"approval\":\"HQ-2026-119\""));
	/* A step without money needs nothing. */
	accepted(tl_submit_json_result(f.local, PROGRESS, now, month, 4, 0LL, ""));
	fx_stop(&f);
}
END_TEST

#define SALE_LINES "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\",\"lines\":[%s]," \
	"\"total_fen\":%lld,\"payment_method\":\"card\"}"
#define LINE "{\"sku\":\"SOFA-3S\",\"quantity\":%d,\"unit_price_fen\":%d,\"discount_fen\":%d}"

/* A sale of one line; total computed. */
static struct tl_result sale_line(struct fx *f, long long t, const char *receipt, int qty,
	int price, int discount)
{
	char line[256];

	snprintf(line, sizeof line, LINE, qty, price, discount);
	return tl_submit_json_result(f->local, SALE_LINES, t, receipt, line,
		(long long)qty * price - discount);
}

START_TEST(discount_beyond_the_maximum_refused)
{
	long long now = (long long)ss_now_ms();
	char lines[512];
	struct fx f;

	fx_start(&f);
	accepted(sale_line(&f, now, "R-1", 2, 5000, 3000));   /* default 30% of 10,000 */
	refused(sale_line(&f, now, "R-2", 2, 5000, 3001), "sale: line 1: discount_fen 3001 is "
		"above max_discount_percent 30 of the line's 10000 (at most 3000)");
	set_policy(&f, "max_discount_percent", 10, 1);
	accepted(sale_line(&f, now, "R-3", 2, 5000, 1000));
	refused(sale_line(&f, now, "R-4", 2, 5000, 1001), "sale: line 1: discount_fen 1001 is "
		"above max_discount_percent 10 of the line's 10000 (at most 1000)");
	/* 10% of 999 is 99.9: 99 fen may go, 100 may not. */
	accepted(sale_line(&f, now, "R-5", 1, 999, 99));
	refused(sale_line(&f, now, "R-6", 1, 999, 100), "sale: line 1: discount_fen 100 is "
		"above max_discount_percent 10 of the line's 999 (at most 99)");
	/* The line at fault is named. */
	snprintf(lines, sizeof lines, LINE "," LINE, 1, 1000, 0, 3, 1000, 301);
	refused(tl_submit_json_result(f.local, SALE_LINES, now, "R-7", lines, 3699LL),
		"sale: line 2: discount_fen 301 is above max_discount_percent 10 of the line's "
		"3000 (at most 300)");
	fx_stop(&f);
}
END_TEST

/* A policy from later on does not judge a record of now, and does judge
 * one of then (a record may be dated up to 24 h ahead). */
START_TEST(policy_in_force_at_the_record_time)
{
	long long now = (long long)ss_now_ms(), later = now + 3600000;
	struct fx f;

	fx_start(&f);
	set_policy(&f, "max_discount_percent", 10, later);
	accepted(sale_line(&f, now, "R-1", 1, 10000, 2000));
	accepted(sale_line(&f, later - 1, "R-2", 1, 10000, 2000));
	refused(sale_line(&f, later, "R-3", 1, 10000, 2000), "sale: line 1: discount_fen 2000 is "
		"above max_discount_percent 10 of the line's 10000 (at most 1000)");
	fx_stop(&f);
}
END_TEST

/* A record dated before the latest change is judged by the value in force
 * at its time, not by the latest nor by the built-in default (30): HQ set
 * 10 % three hours ago and 40 % one hour ago. The agent keeps what it has
 * superseded (without, the record of two hours ago passed at 30 %). */
START_TEST(an_older_record_judged_by_the_policy_then_in_force)
{
	long long now = (long long)ss_now_ms(), hour = 3600000;
	struct fx f;

	fx_start(&f);
	set_policy(&f, "max_discount_percent", 10, now - 3 * hour);
	set_policy(&f, "max_discount_percent", 40, now - hour);
	/* Two hours ago: 10 % of 10,000 is 1,000. */
	accepted(sale_line(&f, now - 2 * hour, "R-1", 1, 10000, 1000));
	refused(sale_line(&f, now - 2 * hour, "R-2", 1, 10000, 1001), "sale: line 1: discount_fen "
		"1001 is above max_discount_percent 10 of the line's 10000 (at most 1000)");
	/* From an hour ago on: 40 %. */
	accepted(sale_line(&f, now - hour, "R-3", 1, 10000, 4000));
	accepted(sale_line(&f, now, "R-4", 1, 10000, 4000));
	refused(sale_line(&f, now, "R-5", 1, 10000, 4001), "sale: line 1: discount_fen 4001 is "
		"above max_discount_percent 40 of the line's 10000 (at most 4000)");
	/* Before HQ set anything: the default, 30 %. */
	accepted(sale_line(&f, now - 4 * hour, "R-6", 1, 10000, 3000));
	refused(sale_line(&f, now - 4 * hour, "R-7", 1, 10000, 3001), "sale: line 1: discount_fen "
		"3001 is above max_discount_percent 30 of the line's 10000 (at most 3000)");
	fx_stop(&f);
}
END_TEST

#define RETURN "{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"%s\",\"original_receipt\":" \
	"\"%s\",\"lines\":[{\"sku\":\"SOFA-3S\",\"quantity\":1,\"unit_price_fen\":900}]," \
	"\"amount_fen\":900,\"reason\":\"wrong colour\",\"method\":\"card\"%s}"

START_TEST(return_after_the_window_refused)
{
	long long sold = (long long)ss_now_ms() - 10 * DAY_MS;
	time_t sold_s = (time_t)(sold / 1000);
	char when[40], want[256];
	struct tm tm;
	struct fx f;

	gmtime_r(&sold_s, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(want, sizeof want, "refund: original receipt R-A (seq 1) was sold %s, more than "
		"return_window_days 3 before this return", when);
	fx_start(&f);
	set_policy(&f, "return_window_days", 3, 1);
	/* A wider window from tomorrow on does not reopen returns of today. */
	set_policy(&f, "return_window_days", 30, (long long)ss_now_ms() + DAY_MS);
	accepted(sale_line(&f, sold, "R-A", 1, 900, 0));
	accepted(tl_submit_json_result(f.local, RETURN, sold + 3 * DAY_MS, "F-1", "R-A", ""));
	refused(tl_submit_json_result(f.local, RETURN, sold + 3 * DAY_MS + 1, "F-2", "R-A", ""),
		want);
	fx_stop(&f);
}
END_TEST

START_TEST(return_of_an_unknown_receipt_needs_approval)
{
	long long now = (long long)ss_now_ms();
	struct tl_result r;
	struct fx f;

	fx_start(&f);
	refused(tl_submit_json_result(f.local, RETURN, now, "F-1", "R-ELSEWHERE", ""),
		"refund: original receipt R-ELSEWHERE is not known to this store: a return needs "
		"an approval reference");
	accepted(tl_submit_json_result(f.local, RETURN, now, "F-1", "R-ELSEWHERE",
		",\"approval\":\"HQ-5\""));
	/* A refund without goods coming back is not a return. */
	r = tl_submit_json_result(f.local, REFUND, now, "F-2", 900LL, "");
	accepted(r);
	fx_stop(&f);
}
END_TEST

#define ON_ACCOUNT "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\",\"lines\":[{\"sku\":" \
	"\"SOFA-3S\",\"quantity\":1,\"unit_price_fen\":%lld}],\"total_fen\":%lld,\"payment_method\":" \
	"\"on_account\",\"account\":\"%s\"}"

static struct tl_result on_account(struct fx *f, const char *receipt, long long fen,
	const char *account)
{
	return tl_submit_json_result(f->local, ON_ACCOUNT, (long long)ss_now_ms(), receipt, fen,
		fen, account);
}

START_TEST(on_account_sale_past_the_credit_limit_refused)
{
	Storesync__Record *recs[2];
	struct tl_result res[2];
	char line[512];
	struct fx f;

	fx_start(&f);
	set_policy(&f, "credit_limit_fen", 100000, 1);
	accepted(on_account(&f, "R-1", 60000, "ACC-1"));
	/* In one request: the second sees the first. */
	snprintf(line, sizeof line, ON_ACCOUNT, (long long)ss_now_ms(), "R-2", 30000LL, 30000LL,
		"ACC-1");
	recs[0] = tl_json_record(line);
	snprintf(line, sizeof line, ON_ACCOUNT, (long long)ss_now_ms(), "R-3", 10001LL, 10001LL,
		"ACC-1");
	recs[1] = tl_json_record(line);
	ck_assert_int_eq(tl_submit_results(f.local, recs, 2, res, WAIT_MS), 0);
	accepted(res[0]);
	refused(res[1], "sale: account ACC-1: balance 90000 fen + 10001 fen would pass "
		"credit_limit_fen 100000");
	storesync__record__free_unpacked(recs[0], NULL);
	storesync__record__free_unpacked(recs[1], NULL);
	accepted(on_account(&f, "R-3", 10000, "ACC-1"));   /* exactly the limit */
	refused(on_account(&f, "R-4", 1, "ACC-1"), "sale: account ACC-1: balance 100000 fen + 1 "
		"fen would pass credit_limit_fen 100000");
	/* A payment makes room; another account has its own. */
	accepted(tl_submit_json_result(f.local, "{\"type\":\"payment\",\"time_ms\":%lld,"
		"\"payment_no\":\"P-1\",\"account\":\"ACC-1\",\"amount_fen\":50000,\"method\":\"cash\"}",
		(long long)ss_now_ms()));
	accepted(on_account(&f, "R-4", 50000, "ACC-1"));
	accepted(on_account(&f, "R-5", 100000, "ACC-2"));
	fx_stop(&f);
}
END_TEST

/* A contract is its own credit decision, but what it leaves open counts;
 * a refund on the account credits it. */
START_TEST(contracts_and_refunds_move_the_balance)
{
	struct fx f;

	fx_start(&f);
	set_policy(&f, "credit_limit_fen", 100000, 1);
	accepted(tl_submit_json_result(f.local, "{\"type\":\"contract_sale\",\"time_ms\":%lld,"
		"\"contract_no\":\"CT-1\",\"customer\":\"CUST-1\",\"total_fen\":250000,\"deposit_fen\":"
		"50000,\"deposit_method\":\"cash\"}", (long long)ss_now_ms()));
	refused(on_account(&f, "R-1", 1, "CT-1"), "sale: account CT-1: balance 200000 fen + 1 fen "
		"would pass credit_limit_fen 100000");
	accepted(tl_submit_json_result(f.local, "{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":"
		"\"F-1\",\"original_receipt\":\"CT-1\",\"amount_fen\":150000,\"reason\":\"price "
		"adjusted\",\"account\":\"CT-1\",\"approval\":\"HQ-9\"}", (long long)ss_now_ms()));
	accepted(on_account(&f, "R-1", 50000, "CT-1"));
	refused(on_account(&f, "R-2", 1, "CT-1"), "sale: account CT-1: balance 100000 fen + 1 fen "
		"would pass credit_limit_fen 100000");
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		refund_above_authority_needs_approval, compensation_above_authority_needs_approval,
		discount_beyond_the_maximum_refused,
		policy_in_force_at_the_record_time, an_older_record_judged_by_the_policy_then_in_force,
		return_after_the_window_refused,
		return_of_an_unknown_receipt_needs_approval,
		on_account_sale_past_the_credit_limit_refused, contracts_and_refunds_move_the_balance,
	};

	return tl_run("enforce", tests, sizeof tests / sizeof tests[0], 60);
}
