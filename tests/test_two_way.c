/* test_two_way: the down-flow end to end, as operators and tills use it:
 * real hq-hub and store-agents, hqctl and storectl as commands.
 *   a price list pushed to a region reaches that region's tills (storectl
 *     price), and no other store; rollout counts it;
 *   a CSV with bad lines is refused whole, every bad line numbered, and
 *     nothing is pushed;
 *   a list effective later switches at the agent at its moment, offline;
 *   an agent killed (-9) repeatedly while lists stream ends with the hub's
 *     prices, having applied every update once;
 *   a policy set for one store is enforced at that till and no other;
 *   notices and replenishment decisions reach the owning store's storectl. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define DAY_MS 86400000LL

struct fx {
	struct tl_env e;
	pid_t hub, a1, a2;
	char l1[320], l2[320], d1[320], d2[320], out[320], err[320], csv[320];
};

static int hqctl(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hqctl(struct fx *f, const char *fmt, ...)
{
	char args[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	return tl_sh("'%s/hqctl' --hub '%s' %s >'%s' 2>'%s'", SS_BIN_DIR, f->e.hub_query, args,
		f->out, f->err);
}

static int storectl(struct fx *f, const char *local, const char *args)
{
	return tl_sh("'%s/storectl' --agent '%s' %s >'%s' 2>'%s'", SS_BIN_DIR, local, args,
		f->out, f->err);
}

static int file_has(const char *path, const char *ere)
{
	return tl_sh("grep -E -q -e '%s' '%s'", ere, path) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A hub, and S1 (region north) and S2 (south) registered from a CSV. */
static void fx_start(struct fx *f, const char *hub_extra)
{
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S1", f->l1, sizeof f->l1, f->d1, sizeof f->d1);
	tl_agent_paths(&f->e, "S2", f->l2, sizeof f->l2, f->d2, sizeof f->d2);
	snprintf(f->out, sizeof f->out, "%s/out", f->e.dir);
	snprintf(f->err, sizeof f->err, "%s/err", f->e.dir);
	snprintf(f->csv, sizeof f->csv, "%s/in.csv", f->e.dir);
	f->hub = hub_extra ? tl_start_hub(&f->e, "--notice-scan-ms", hub_extra, NULL)
		: tl_start_hub(&f->e, NULL);
	write_file(f->csv, "store_id,name,region\nS1,朝阳店,north\nS2,\"Pudong, East\",south\n");
	ck_assert_int_eq(hqctl(f, "store import '%s'", f->csv), 0);
	f->a1 = tl_start_agent(&f->e, "S1", NULL);
	f->a2 = tl_start_agent(&f->e, "S2", NULL);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->a1);
	tl_stop(f->a2);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

/* Polls until the agent has the price (or -1 for none) of sku now. */
static int64_t wait_price(const char *local, const char *sku, int64_t want, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms, v = -2;

	while (ss_mono_ms() < deadline && (v = tl_price_fen(local, sku, 0)) != want)
		ss_sleep_ms(50);
	return v;
}

START_TEST(a_regional_push_reaches_its_tills_only)
{
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f, NULL);
	write_file(f.csv, "sku,price_fen,name\nSOFA-3S,459900,\"Sofa, 3 seats\"\nLAMP-1,12900,\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s' --region north --dry-run", f.csv), 0);
	ck_assert(file_has(f.out, "dry run"));
	ck_assert_int_eq(hqctl(&f, "price push '%s' --region north", f.csv), 0);
	ck_assert_int_eq(wait_price(f.l1, "SOFA-3S", 459900, 10000), 459900);
	ck_assert_int_eq(storectl(&f, f.l1, "price SOFA-3S"), 0);
	ck_assert(file_has(f.out, "4,599\\.00"));
	ck_assert(file_has(f.out, "Sofa, 3 seats"));
	ss_sleep_ms(500);
	ck_assert_int_eq(tl_price_fen(f.l2, "SOFA-3S", 0), -1);
	ck_assert_int_eq(storectl(&f, f.l2, "price SOFA-3S"), 1);
	/* Rollout: one store targeted, and it applied the list. */
	for (int i = 0; i < 100; i++) {
		r = tl_query_ok(f.e.hub_query, "rollout", "kind", "price", NULL);
		if (r->n_rows == 1 && tl_cell_int(r, 0, "pending") == 0)
			break;
		tl_query_free(r);
		r = NULL;
		ss_sleep_ms(50);
	}
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(tl_cell_int(r, 0, "targeted"), 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "applied"), 1);
	ck_assert_str_eq(tl_cell_str(r, 0, "target"), "region north");
	tl_query_free(r);
	ck_assert_int_eq(hqctl(&f, "rollout"), 0);
	ck_assert(file_has(f.out, "region north"));
	ck_assert_int_eq(hqctl(&f, "price show SOFA-3S --store S1"), 0);
	ck_assert(file_has(f.out, "¥4,599\\.00"));
	ck_assert_int_eq(hqctl(&f, "stores --json"), 0);
	ck_assert(file_has(f.out, "\"name\": \"朝阳店\""));
	/* An import with S1's name and region left empty changes neither: S1
	 * stays in the north, and the north's next list reaches it. */
	write_file(f.csv, "store_id,name,region\nS1,,\n");
	ck_assert_int_eq(hqctl(&f, "store import '%s'", f.csv), 0);
	ck_assert_int_eq(hqctl(&f, "store list --store S1 --csv"), 0);
	ck_assert(file_has(f.out, "^S1,朝阳店,north,"));
	write_file(f.csv, "sku,price_fen\nCHAIR-1,9900\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s' --region north", f.csv), 0);
	ck_assert_int_eq(wait_price(f.l1, "CHAIR-1", 9900, 10000), 9900);
	fx_stop(&f);
}
END_TEST

START_TEST(a_csv_with_bad_lines_is_refused_whole)
{
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f, NULL);
	write_file(f.csv, "sku,price_fen,name\nGOOD-1,100,\nbad sku,100,\nGOOD-2,12.5,\n"
		"GOOD-1,200,\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s'", f.csv), 1);
	ck_assert(file_has(f.err, "in.csv: line 3: sku \"bad sku\""));
	ck_assert(file_has(f.err, "in.csv: line 4: price_fen \"12.5\""));
	ck_assert(file_has(f.err, "in.csv: line 5: GOOD-1 is listed again \\(first on line 2\\)"));
	ck_assert(file_has(f.err, "3 bad lines; nothing pushed"));
	r = tl_query_ok(f.e.hub_query, "rollout", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	ck_assert_int_eq(tl_price_fen(f.l1, "GOOD-1", 0), -1);
	/* Usage errors are caught before anything is sent. */
	ck_assert_int_eq(hqctl(&f, "policy set first_response_hours=9999"), 2);
	ck_assert(file_has(f.err, "first_response_hours must be 1\\.\\.720"));
	ck_assert_int_eq(hqctl(&f, "price push '%s' --region 'bad region'", f.csv), 2);
	ck_assert_int_eq(hqctl(&f, "rollout --kind lunch"), 2);
	fx_stop(&f);
}
END_TEST

START_TEST(a_later_list_switches_at_its_moment_offline)
{
	struct fx f;
	int64_t now = ss_now_ms(), later = now + 3600 * 1000;
	char at[32];

	fx_start(&f, NULL);
	write_file(f.csv, "sku,price_fen\nTEA-1,1000\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s'", f.csv), 0);
	ck_assert_int_eq(wait_price(f.l1, "TEA-1", 1000, 10000), 1000);
	write_file(f.csv, "sku,price_fen\nTEA-1,1200\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s' --effective %lld", f.csv, (long long)later), 0);
	/* Delivered (applied id moves), not yet in force. */
	for (int i = 0; i < 100 && tl_price_fen(f.l1, "TEA-1", later) != 1200; i++)
		ss_sleep_ms(50);
	ck_assert_int_eq(tl_price_fen(f.l1, "TEA-1", later), 1200);
	/* The hub goes away: the agent answers from its own tables. */
	tl_kill9(f.hub);
	ck_assert_int_eq(tl_price_fen(f.l1, "TEA-1", 0), 1000);
	ck_assert_int_eq(tl_price_fen(f.l1, "TEA-1", later - 1), 1000);
	ck_assert_int_eq(tl_price_fen(f.l1, "TEA-1", later), 1200);
	snprintf(at, sizeof at, "%lld", (long long)later);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' price TEA-1 --at %s --json | grep -q "
		"'\"price_fen\": 1200'", SS_BIN_DIR, f.l1, at), 0);
	f.hub = tl_start_hub(&f.e, NULL);
	fx_stop(&f);
}
END_TEST

/* Lists of n SKUs "K-<i>" at base + i, pushed to all stores. */
static void push_list(struct fx *f, int n, int base)
{
	FILE *fp = fopen(f->csv, "w");

	ck_assert_ptr_nonnull(fp);
	fputs("sku,price_fen\n", fp);
	for (int i = 0; i < n; i++)
		fprintf(fp, "K-%d,%d\n", i, base + i);
	fclose(fp);
	ck_assert_int_eq(hqctl(f, "price push '%s'", f->csv), 0);
}

START_TEST(an_agent_killed_mid_apply_ends_with_the_hubs_prices)
{
	struct fx f;
	int lists = 8, n = 3000;

	fx_start(&f, NULL);
	for (int i = 0; i < lists; i++) {
		push_list(&f, n, 1000 * (i + 1));
		ss_sleep_ms(30 + 20 * (i % 3));
		tl_kill9(f.a1);
		f.a1 = tl_start_agent(&f.e, "S1", NULL);
	}
	/* After the last restart S1 catches up and holds exactly the hub's
	 * prices: every SKU at the last list's price. */
	ck_assert_int_eq(wait_price(f.l1, "K-0", 1000 * lists, 20000), 1000 * lists);
	for (int i = 0; i < n; i += 97) {
		char sku[16];

		snprintf(sku, sizeof sku, "K-%d", i);
		ck_assert_int_eq(tl_price_fen(f.l1, sku, 0), 1000 * lists + i);
		ck_assert_int_eq(tl_price_fen(f.l2, sku, 0), 1000 * lists + i);
	}
	ck_assert_int_eq(hqctl(&f, "price show K-2999 --store S1 --csv"), 0);
	ck_assert(file_has(f.out, "^K-2999,10999,.*,true$"));
	/* Each store applied every update once, in order: its applied id is
	 * the hub's newest. */
	{
		Storesync__QueryReply *r = tl_query_ok(f.e.hub_query, "rollout", NULL);
		int64_t newest = tl_cell_int(r, 0, "update_id");

		tl_query_free(r);
		for (int i = 0; i < 100 && tl_store_field(f.e.hub_query, "S1", "applied_update_id")
			!= newest; i++)
			ss_sleep_ms(50);
		ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "applied_update_id"), newest);
	}
	fx_stop(&f);
}
END_TEST

START_TEST(a_policy_for_one_store_is_enforced_at_its_till)
{
	struct fx f;
	struct tl_result r1, r2;
	const char *sale = "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\",\"lines\":"
		"[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price_fen\":10000,\"discount_fen\":2000}],"
		"\"total_fen\":8000,\"payment_method\":\"cash\"}";

	fx_start(&f, NULL);
	ck_assert_int_eq(hqctl(&f, "policy set max_discount_percent=10 --stores S1"), 0);
	for (int i = 0; i < 200 && tl_policy_value(f.l1, "max_discount_percent", 0) != 10; i++)
		ss_sleep_ms(50);
	ck_assert_int_eq(tl_policy_value(f.l1, "max_discount_percent", 0), 10);
	r1 = tl_submit_json_result(f.l1, sale, (long long)ss_now_ms(), "R-1");
	r2 = tl_submit_json_result(f.l2, sale, (long long)ss_now_ms(), "R-1");
	ck_assert_msg(strstr(r1.error, "max_discount_percent 10"), "S1: %s", r1.error);
	ck_assert_str_eq(r2.error, "");   /* S2 keeps the default 30 % */
	ck_assert_int_eq(storectl(&f, f.l1, "policy --json"), 0);
	ck_assert(file_has(f.out, "\"max_discount_percent\""));
	ck_assert_int_eq(hqctl(&f, "policy show --store S1 --csv"), 0);
	ck_assert(file_has(f.out, "^max_discount_percent,10,percent,stores S1,"));
	fx_stop(&f);
}
END_TEST

START_TEST(notices_and_decisions_reach_the_owning_store)
{
	struct fx f;
	long long now = (long long)ss_now_ms();

	fx_start(&f, "200");
	tl_submit_jsonf(f.l1, "{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":"
		"\"CT-9\",\"customer\":\"王五\",\"total_fen\":500000,\"account\":\"ACC-9\"}",
		now - 45 * DAY_MS);
	tl_submit_jsonf(f.l1, "{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":"
		"\"RQ-1\",\"sku\":\"SOFA-3S\",\"quantity\":4,\"reason\":\"wedding\"}", now);
	for (int i = 0; i < 200 && storectl(&f, f.l1, "notices --json") == 0
		&& !file_has(f.out, "ACC-9"); i++)
		ss_sleep_ms(50);
	ck_assert(file_has(f.out, "\"account\": \"ACC-9\""));
	ck_assert_int_eq(storectl(&f, f.l2, "notices --json"), 0);
	ck_assert(!file_has(f.out, "ACC-9"));
	ck_assert_int_eq(tl_wait_drained(f.l1, 10000), 2);
	ck_assert_int_eq(hqctl(&f, "replenish list --state pending"), 0);
	ck_assert(file_has(f.out, "S1:RQ-1"));
	ck_assert_int_eq(hqctl(&f, "replenish approve S1:RQ-1 --qty 2 --note 'from the DC'"), 0);
	for (int i = 0; i < 200 && storectl(&f, f.l1, "requests --json") == 0
		&& !file_has(f.out, "approved"); i++)
		ss_sleep_ms(50);
	ck_assert(file_has(f.out, "\"state\": \"approved\""));
	ck_assert(file_has(f.out, "\"approved_quantity\": 2"));
	ck_assert_int_eq(hqctl(&f, "notices --csv"), 0);
	ck_assert(file_has(f.out, "^ACC-9,S1,王五,500000,"));
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { a_regional_push_reaches_its_tills_only,
		a_csv_with_bad_lines_is_refused_whole, a_later_list_switches_at_its_moment_offline,
		an_agent_killed_mid_apply_ends_with_the_hubs_prices,
		a_policy_for_one_store_is_enforced_at_its_till,
		notices_and_decisions_reach_the_owning_store };

	return tl_run("two_way", tests, sizeof tests / sizeof tests[0], 180);
}
