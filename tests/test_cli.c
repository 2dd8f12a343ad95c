/* The command lines as people and scripts use them: for every hqctl query,
 * the text form is for reading (narrow columns, times in TZ with the zone in
 * the header, money as yuan, flags yes/no, a total under sales; --wide for
 * all columns), and --json and --csv carry the same figures in machine
 * units (the --json field names of `stores` are a stable contract), with
 * null for never, booleans and lists. Usage errors exit 2 with one line on
 * stderr and change nothing, and storectl status --json reports the agent's
 * state. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "ss_query_spec.h"
#include "ss_time.h"
#include "testlib.h"

struct fx {
	struct tl_env e;
	pid_t hub, agent;
	char local[320], data[320], out[320], err[320];
};

/* The hub with one flag (NULL: none) and S7's agent, with 4 sales of
 * SKU-1 at ¥25.00. */
static void fx_start_with(struct fx *f, const char *hub_flag, const char *value)
{
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S7", f->local, sizeof f->local, f->data, sizeof f->data);
	snprintf(f->out, sizeof f->out, "%s/out", f->e.dir);
	snprintf(f->err, sizeof f->err, "%s/err", f->e.dir);
	f->hub = tl_start_hub(&f->e, hub_flag, value, NULL);
	f->agent = tl_start_agent(&f->e, "S7", NULL);
	ck_assert_int_eq(tl_submit_sales(f->local, 4, 2500, "R", 1, NULL, 5000), 4);
	ck_assert_int_eq(tl_wait_drained(f->local, 20000), 4);
}

static void fx_start(struct fx *f)
{
	fx_start_with(f, NULL, NULL);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->agent);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static int hqctl(struct fx *f, const char *args)
{
	return tl_sh("'%s/hqctl' --hub '%s' %s >'%s' 2>'%s'", SS_BIN_DIR, f->e.hub_query, args,
		f->out, f->err);
}

static json_t *load_out(struct fx *f)
{
	json_error_t jerr;
	json_t *j = json_load_file(f->out, 0, &jerr);

	ck_assert_msg(j != NULL, "output is not JSON: %s", jerr.text);
	return j;
}

/* 1 when the output matches the extended regular expression. */
static int out_has(struct fx *f, const char *ere)
{
	return tl_sh("grep -E -q -e '%s' '%s'", ere, f->out) == 0;
}

#define DAY_MS (24 * 3600 * 1000LL)

/* Beyond the fixture's sales: a contract 40 days old with its deposit the
 * only payment (a stale account), a complaint nobody answered for 4 days
 * (both deadlines missed) and a stocktake. Waits until the hub has all. */
static void fx_business(struct fx *f)
{
	long long now = (long long)ss_now_ms();
	time_t reg = (time_t)((now - 4 * DAY_MS) / 1000);
	char case_no[32];
	struct tm tm;

	/* Numbered in the month of its registration, local to the agent (which
	 * runs in this machine's zone). */
	localtime_r(&reg, &tm);
	strftime(case_no, sizeof case_no, "S7-%Y%m-1", &tm);

	tl_submit_jsonf(f->local, "{\"type\":\"contract_sale\",\"time_ms\":%lld,"
		"\"contract_no\":\"CT-1\",\"customer\":\"张三\",\"total_fen\":1000000,"
		"\"deposit_fen\":100000,\"deposit_method\":\"card\",\"signer\":\"S-LI\","
		"\"account\":\"CT-1\"}", now - 40 * DAY_MS);
	tl_submit_jsonf(f->local, "{\"type\":\"complaint\",\"time_ms\":%lld,"
		"\"case_no\":\"%s\",\"customer\":\"CUST-9\",\"channel\":\"phone\","
		"\"category\":\"delivery\",\"severity\":\"high\"}", now - 4 * DAY_MS, case_no);
	tl_submit_jsonf(f->local, "{\"type\":\"inventory\",\"time_ms\":%lld,"
		"\"kind\":\"stocktake\",\"sku\":\"SKU-9\",\"quantity\":3,\"move_no\":\"M-1\"}",
		now - 1000);
	ck_assert_int_eq(tl_wait_drained(f->local, 20000), 7);
	/* The backlog column is the agent's word in its heartbeats: wait for
	 * one sent after the last ack. */
	ck_assert_int_eq(tl_wait_hub_backlog_zero(f->e.hub_query, "S7", 10000), 0);
	setenv("TZ", "UTC", 1);
}

/* Beyond fx_business, what HQ decides, so that every query has a row: a
 * price list (SKU-1 at ¥20.00) and a policy (emergency_response_minutes
 * 90), a sale charged at the old ¥25.00 after it (a price mismatch), a
 * replenishment request approved for 4 of 5, an operator, and the notice
 * for the stale account CT-1 (the hub must scan often: fx_start_with). */
static void fx_decisions(struct fx *f)
{
	char csv[320];
	FILE *fp;

	snprintf(csv, sizeof csv, "%s/prices.csv", f->e.dir);
	ck_assert_ptr_nonnull(fp = fopen(csv, "w"));
	fputs("sku,price_fen\nSKU-1,2000\n", fp);
	fclose(fp);
	ck_assert_msg(tl_sh("'%s/hqctl' --hub '%s' price push '%s' >/dev/null", SS_BIN_DIR,
		f->e.hub_query, csv) == 0, "price push");
	ck_assert_msg(tl_sh("'%s/hqctl' --hub '%s' policy set emergency_response_minutes=90 "
		">/dev/null", SS_BIN_DIR, f->e.hub_query) == 0, "policy set");
	tl_submit_jsonf(f->local, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-M\","
		"\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price_fen\":2500}],"
		"\"total_fen\":2500,\"payment_method\":\"cash\"}", (long long)ss_now_ms());
	tl_submit_jsonf(f->local, "{\"type\":\"replenishment\",\"time_ms\":%lld,"
		"\"request_no\":\"RQ-1\",\"sku\":\"SKU-1\",\"quantity\":5,\"reason\":\"event\"}",
		(long long)ss_now_ms());
	ck_assert_int_eq(tl_wait_drained(f->local, 20000), 9);
	ck_assert_msg(tl_sh("'%s/hqctl' --hub '%s' replenish approve S7:RQ-1 --qty 4 >/dev/null",
		SS_BIN_DIR, f->e.hub_query) == 0, "replenish approve");
	ck_assert_int_eq(tl_sh("'%s/hqctl' keygen '%s/viewer.key' >/dev/null", SS_BIN_DIR,
		f->e.dir), 0);
	ck_assert_msg(tl_sh("'%s/hqctl' --hub '%s' operator add viewer --key '%s/viewer.key.pub' "
		"--role read >/dev/null", SS_BIN_DIR, f->e.hub_query, f->e.dir) == 0, "operator add");
	/* The notice scan runs every 200 ms; the store says it has it. */
	for (int i = 0; i < 100 && !(hqctl(f, "notices --csv") == 0
		&& out_has(f, "^CT-1,S7,.*,true$")); i++)
		ss_sleep_ms(100);
	ck_assert_msg(out_has(f, "^CT-1,S7,.*,true$"), "no notice delivered for CT-1");
}

/* The first object of the JSON array in the output (a new reference). */
static json_t *first_row(struct fx *f)
{
	json_t *doc = load_out(f), *row;

	ck_assert_msg(json_is_array(doc) && json_array_size(doc) >= 1, "no rows");
	row = json_incref(json_array_get(doc, 0));
	json_decref(doc);
	return row;
}

/* The size of the file system holding dir. */
static int64_t disk_size_bytes(const char *dir)
{
	struct statvfs vfs;

	ck_assert_int_eq(statvfs(dir, &vfs), 0);
	return (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
}

START_TEST(stores_json_has_the_stable_fields)
{
	static const char *const fields[] = { "store_id", "epoch", "high_water_seq",
		"last_seen_ms", "backlog", "records", "amount_fen" };
	struct fx f;
	json_t *doc, *row;

	fx_start(&f);
	ck_assert_int_eq(hqctl(&f, "stores --json"), 0);
	doc = load_out(&f);
	ck_assert_int_eq(json_array_size(doc), 1);
	row = json_array_get(doc, 0);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		ck_assert_msg(json_object_get(row, fields[i]) != NULL, "no field %s", fields[i]);
	ck_assert_str_eq(json_string_value(json_object_get(row, "store_id")), "S7");
	ck_assert_int_eq(json_integer_value(json_object_get(row, "records")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(row, "amount_fen")), 10000);
	ck_assert_int_eq(json_integer_value(json_object_get(row, "high_water_seq")), 4);
	json_decref(doc);
	fx_stop(&f);
}
END_TEST

START_TEST(text_and_csv_say_the_same)
{
	struct fx f;

	fx_start(&f);
	ck_assert_int_eq(hqctl(&f, "sales --csv"), 0);
	ck_assert_int_eq(tl_sh("head -1 '%s' | grep -q '^store_id,period,receipts,sales_fen,'",
		f.out), 0);
	ck_assert_int_eq(tl_sh("grep -q '^S7,[0-9-]*,4,10000,' '%s'", f.out), 0);
	ck_assert_int_eq(hqctl(&f, "sales"), 0);
	ck_assert_int_eq(tl_sh("grep -E -q '^S7 +[0-9-]+ +4 +¥100.00 ' '%s'", f.out), 0);
	ck_assert_int_eq(hqctl(&f, "policy show --csv"), 0);
	ck_assert_int_eq(tl_sh("grep -q '^stale_account_days,30,days,default,' '%s'", f.out), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(usage_errors_exit_2_with_one_line)
{
	static const char *const bad[] = { "", "bogus", "sales --by year", "sales --from 2026-13-01",
		"stale --sku SKU-1", "inventory --below many", "policy", "policy set x=1",
		"complaints --state lost", "stores extra",
		/* --at on a write, or on what answers only as it is now: refused,
		 * never ignored (a policy "as at" 2030 would take effect now). */
		"policy set max_discount_percent=5 --at 2030-01-01", "audit --at 2030-01-01",
		"store list --at 2030-01-01", "stats --at 2030-01-01",
		"sales --from 2026-12-05 --to 2026-12-01" };
	struct fx f;

	fx_start(&f);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(hqctl(&f, bad[i]) == 2, "hqctl %s did not exit 2", bad[i]);
		if (bad[i][0])
			ck_assert_msg(tl_sh("test $(wc -l < '%s') = 1", f.err) == 0,
				"hqctl %s: stderr is not one line", bad[i]);
	}
	ck_assert_int_eq(hqctl(&f, "--help"), 0);
	/* One command's help: its lines and its filters only; a first word
	 * shared by several commands gives each of them. */
	ck_assert_int_eq(hqctl(&f, "sales --help"), 0);
	ck_assert_int_eq(tl_sh("grep -q -e '--by day|week|month ' '%s'", f.out), 0);
	ck_assert_int_eq(tl_sh("! grep -q '^  stores' '%s'", f.out), 0);
	ck_assert_int_eq(hqctl(&f, "help price"), 0);
	ck_assert_int_eq(tl_sh("test $(grep -c '^  price ' '%s') = 3", f.out), 0);
	ck_assert_int_eq(hqctl(&f, "help bogus"), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S7", "records"), 4);
	fx_stop(&f);
}
END_TEST

/* storectl's usage errors: exit 2, one line on stderr, nothing sent. */
START_TEST(storectl_usage_errors_exit_2_with_one_line)
{
	static const char *const bad[] = { "--bogus status", "status --zzz", "-x status",
		"status --batch 5", "price SKU-1 --batch 5", "submit --batch 10x", "submit --batch 0",
		"price SKU-1 --at", "status --at 2026-02-30", "frobnicate", "status extra" };
	char cmd[1200];
	struct fx f;

	fx_start(&f);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cmd, sizeof cmd, "'%s/storectl' --agent '%s' %s </dev/null 2>'%s'",
			SS_BIN_DIR, f.local, bad[i], f.err);
		ck_assert_msg(tl_sh("%s", cmd) == 2, "storectl %s did not exit 2", bad[i]);
		ck_assert_msg(tl_sh("test $(wc -l < '%s') = 1", f.err) == 0,
			"storectl %s: stderr is not one line", bad[i]);
	}
	/* The daemons and hqctl too: getopt's one line, not the whole usage. */
	for (size_t i = 0; i < 3; i++) {
		static const char *const prog[] = { "store-agent", "hq-hub", "hqctl" };

		ck_assert_int_eq(tl_sh("'%s/%s' --bogus 2>'%s'", SS_BIN_DIR, prog[i], f.err), 2);
		ck_assert_msg(tl_sh("test $(wc -l < '%s') = 1", f.err) == 0,
			"%s --bogus: stderr is not one line", prog[i]);
	}
	ck_assert_int_eq(tl_sh("'%s/store-agent' keygen --help | grep -q '^Usage: store-agent "
		"keygen FILE'", SS_BIN_DIR), 0);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S7", "records"), 4);
	fx_stop(&f);
}
END_TEST

START_TEST(storectl_status_json)
{
	struct fx f;
	json_t *doc;

	fx_start(&f);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' status --json >'%s'", SS_BIN_DIR,
		f.local, f.out), 0);
	doc = load_out(&f);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "store_id")), "S7");
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "last_seq")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "backlog")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "link_state")), "up");
	ck_assert_int_eq(strlen(json_string_value(json_object_get(doc, "epoch"))), 16);
	/* The 4 records went up in at least one batch, with no hub error. */
	ck_assert_int_ge(json_integer_value(json_object_get(doc, "batches_sent")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "hub_errors")), 0);
	json_decref(doc);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' status extra 2>/dev/null", SS_BIN_DIR,
		f.local), 2);
	ck_assert_int_eq(tl_sh("'%s/storectl' frobnicate 2>/dev/null", SS_BIN_DIR), 2);
	fx_stop(&f);
}
END_TEST

START_TEST(stores_forms)
{
	struct fx f;
	json_t *row;

	fx_start(&f);
	fx_business(&f);
	ck_assert_int_eq(hqctl(&f, "stores"), 0);
	/* The last record's arrival beside the last word from the store, and
	 * whether it is silent (yes/no) beside for how long; no update applied
	 * yet is "-". */
	ck_assert(out_has(&f, "^store_id +records +amount +backlog .*last_seen \\(\\+00:00\\) "
		"+last_record \\(\\+00:00\\) +silent_for +agent_version +name +applied_update_id +silent +status "
		"+link +conflict$"));
	ck_assert(out_has(&f, "^S7 +7 +¥1,100\\.00 +0 +- +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} "
		"+20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} +[0-9]+s +" SS_VERSION " +- +- +no +active +curve +no$"));
	ck_assert(!out_has(&f, "epoch"));
	ck_assert_int_eq(hqctl(&f, "stores --wide"), 0);
	ck_assert(out_has(&f, "epoch.*budget_left +disk_free +agent_version +name +region"));
	ck_assert(out_has(&f, " [0-9.]+ (B|KiB|MiB|GiB) +[0-9.]+ "));
	ck_assert_int_eq(hqctl(&f, "stores --json"), 0);
	row = first_row(&f);
	ck_assert(json_is_integer(json_object_get(row, "last_seen_ms")));
	ck_assert(json_is_integer(json_object_get(row, "last_record_ms")));
	ck_assert(json_is_false(json_object_get(row, "silent")));
	ck_assert(json_is_null(json_object_get(row, "oldest_unsent_age_ms")));
	/* What the agent reports is what every program's --version prints
	 * (test_daemon checks that side). */
	ck_assert_str_eq(json_string_value(json_object_get(row, "agent_version")), SS_VERSION);
	/* The budget left (1 GiB less what the agent holds) and the free space
	 * of the file system the data directory is on are two figures. */
	ck_assert_int_gt(json_integer_value(json_object_get(row, "budget_left_bytes")), 0);
	ck_assert_int_lt(json_integer_value(json_object_get(row, "budget_left_bytes")), 1LL << 30);
	ck_assert_int_gt(json_integer_value(json_object_get(row, "disk_free_bytes")), 0);
	ck_assert_int_le(json_integer_value(json_object_get(row, "disk_free_bytes")),
		disk_size_bytes(f.data));
	json_decref(row);
	ck_assert_int_eq(hqctl(&f, "stores --csv"), 0);
	ck_assert(out_has(&f, "^store_id,epoch,high_water_seq,records,amount_fen,.*,budget_left_bytes,disk_free_bytes,agent_version,name,region,registered,applied_update_id,price_update_id,policy_update_id,silent,status,link,conflict,conflict_since_ms$"));
	ck_assert(out_has(&f, "^S7,[0-9a-f]{16},7,7,110000,0,0,,[0-9]+,"));
	fx_stop(&f);
}
END_TEST

START_TEST(sales_forms)
{
	struct fx f;
	json_t *row;

	fx_start(&f);
	fx_business(&f);
	ck_assert_int_eq(hqctl(&f, "sales"), 0);
	ck_assert(out_has(&f, "^store_id +period +receipts +sales +refunds +net +contract_total$"));
	ck_assert(out_has(&f, "^S7 +[0-9-]+ +4 +¥100\\.00 +¥0\\.00 +¥100\\.00 +¥0\\.00$"));
	ck_assert(out_has(&f, "^S7 +[0-9-]+ +0 +¥0\\.00 +¥0\\.00 +¥10,000\\.00 +¥10,000\\.00$"));
	ck_assert(out_has(&f, "^-+  -+  "));
	ck_assert(out_has(&f, "^total +4 +¥100\\.00 +¥0\\.00 +¥10,100\\.00 +¥10,000\\.00$"));
	ck_assert_int_eq(hqctl(&f, "sales --wide"), 0);
	ck_assert(out_has(&f, " refunds +refunds_fen "));
	ck_assert_int_eq(hqctl(&f, "sales --json"), 0);
	row = first_row(&f);
	ck_assert_int_eq(json_integer_value(json_object_get(row, "contract_total_fen")), 1000000);
	json_decref(row);
	ck_assert_int_eq(hqctl(&f, "sales --csv"), 0);
	ck_assert(!out_has(&f, "^total|¥"));
	ck_assert(out_has(&f, "^S7,[0-9-]+,4,10000,0,0,10000,"));
	fx_stop(&f);
}
END_TEST

START_TEST(complaints_forms)
{
	struct fx f;
	json_t *row, *overdue;

	fx_start(&f);
	fx_business(&f);
	ck_assert_int_eq(hqctl(&f, "complaints"), 0);
	ck_assert(out_has(&f, "^case_no +store_id +state +category +registered \\(\\+00:00\\) "
		"+respond_by \\(\\+00:00\\) +report_by \\(\\+00:00\\) +overdue$"));
	ck_assert(out_has(&f, "^S7-[0-9]{6}-1 +S7 +open +delivery +[0-9: -]+ +response,report$"));
	ck_assert_int_eq(hqctl(&f, "complaints --wide"), 0);
	ck_assert(out_has(&f, " responded +investigated +resolved +closed +overdue +responded_late "
		"+reported_late +compensation$"));
	ck_assert(out_has(&f, " - +- +- +- +response,report +no +no +¥0\\.00$"));
	ck_assert_int_eq(hqctl(&f, "complaints --json"), 0);
	row = first_row(&f);
	overdue = json_object_get(row, "overdue");
	ck_assert(json_is_array(overdue) && json_array_size(overdue) == 2);
	ck_assert_str_eq(json_string_value(json_array_get(overdue, 0)), "response");
	ck_assert(json_is_null(json_object_get(row, "responded_ms")));
	ck_assert(json_is_false(json_object_get(row, "responded_late")));
	ck_assert(json_is_integer(json_object_get(row, "registered_ms")));
	json_decref(row);
	ck_assert_int_eq(hqctl(&f, "complaints --csv"), 0);
	ck_assert(out_has(&f, "^S7-[0-9]{6}-1,S7,open,phone,delivery,high,[0-9]+,[0-9]+,[0-9]+,,,,,"
		"response;report,false,false,0$"));
	fx_stop(&f);
}
END_TEST

START_TEST(accounts_and_stale_forms)
{
	struct fx f;
	json_t *row;

	fx_start(&f);
	fx_business(&f);
	ck_assert_int_eq(hqctl(&f, "accounts"), 0);
	/* The customer's Chinese name is 4 columns wide, not 6 bytes. */
	ck_assert(out_has(&f, "^account +owner_store +customer +balance +last_payment \\(\\+00:00\\) "
		"+age_days +aging +stale$"));
	ck_assert(out_has(&f, "^CT-1 +S7 +张三 +¥9,000\\.00 +[0-9: -]+ +40 +31-60 +yes$"));
	ck_assert(out_has(&f, "^account  owner_store  customer    balance  "));
	ck_assert(out_has(&f, "^CT-1     S7           张三      ¥9,000.00  "));
	ck_assert_int_eq(hqctl(&f, "accounts --json"), 0);
	row = first_row(&f);
	ck_assert(json_is_true(json_object_get(row, "stale")));
	ck_assert_int_eq(json_integer_value(json_object_get(row, "balance_fen")), 900000);
	json_decref(row);
	ck_assert_int_eq(hqctl(&f, "accounts --aging"), 0);
	ck_assert(out_has(&f, "^31-60 +1 +¥9,000\\.00$"));
	ck_assert_int_eq(hqctl(&f, "stale"), 0);
	ck_assert(out_has(&f, "^kind +id +store_id +age +reason$"));
	ck_assert(out_has(&f, "^account +CT-1 +S7 +40d( [0-9]+h)? +balance"));
	ck_assert(out_has(&f, "^complaint +S7-[0-9]{6}-1 +S7 +[34]d( [0-9]+h)? +"));
	ck_assert_int_eq(hqctl(&f, "stale --csv"), 0);
	ck_assert(out_has(&f, "^kind,id,store_id,since_ms,age_ms,reason$"));
	ck_assert(out_has(&f, "^account,CT-1,S7,[0-9]+,[0-9]+,"));
	fx_stop(&f);
}
END_TEST

START_TEST(inventory_forms)
{
	struct fx f;
	json_t *row;

	fx_start(&f);
	fx_business(&f);
	ck_assert_int_eq(hqctl(&f, "inventory --sku SKU-9"), 0);
	ck_assert(out_has(&f, "^store_id +sku +on_hand +out_of_stock_days +last_move \\(\\+00:00\\)$"));
	ck_assert(out_has(&f, "^S7 +SKU-9 +3 +0 +20[0-9: -]+$"));
	ck_assert_int_eq(hqctl(&f, "inventory --sku SKU-9 --wide"), 0);
	ck_assert(out_has(&f, "^store_id +sku +on_hand +out_of_stock_days +out_of_stock_since "));
	ck_assert(out_has(&f, "^S7 +SKU-9 +3 +0 +- +20[0-9: -]+ +20[0-9: -]+ +[0-9]+$"));
	ck_assert_int_eq(hqctl(&f, "inventory --sku SKU-9 --json"), 0);
	row = first_row(&f);
	ck_assert_int_eq(json_integer_value(json_object_get(row, "on_hand")), 3);
	ck_assert(json_is_integer(json_object_get(row, "last_stocktake_ms")));
	/* In stock: no out-of-stock run, null as for never. */
	ck_assert(json_is_null(json_object_get(row, "out_of_stock_since")));
	json_decref(row);
	fx_stop(&f);
}
END_TEST

/* A cell every read query's text shows for fx_business and fx_decisions
 * (an extended regular expression on one line). */
static const struct {
	const char *what, *ere;
} known[] = {
	{ "stores", "^S7 +9 +¥1,125\\.00 " },
	{ "sales", "^total +5 +¥125\\.00 " },
	{ "inventory", "^S7 +SKU-9 +3 +0 " },
	{ "complaints", "^S7-[0-9]{6}-1 +S7 +open +delivery " },
	{ "accounts", "^CT-1 +S7 +张三 +¥9,000\\.00 " },
	{ "stale", "^account +CT-1 +S7 +40d" },
	{ "policy show", "^emergency_response_minutes +90 +minutes " },
	{ "price show", "^SKU-1 +¥20\\.00 " },
	{ "price mismatches", "^S7 +[0-9-]+ +SKU-1 +1 +¥25\\.00 +¥20\\.00 +R-M " },
	{ "rollout", "^ *[0-9]+ +price +[0-9: -]+ +all +1 +1 +0 " },
	{ "notices", "^CT-1 +S7 +¥9,000\\.00 .* yes$" },
	{ "replenish list", "^S7:RQ-1 +SKU-1 +5 +event +approved +4 " },
	{ "store list", "^S7 +- +- +active " },
	{ "operator list", "^viewer +read +active " },
	{ "audit", " local +admin +replenish approve " },
	{ "stats", "^records_applied +9$" },
	{ "export status", "^ *9 .* never reported$" },
	{ "export report", "^ *9$" },
	{ "dump", "^replenishment +[0-9a-f]+ +.*approved" },
};

static const char *known_cell(const char *what)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(known[i].what, what) == 0)
			return known[i].ere;
	return NULL;
}

/* Every read query of the command table, in its three forms: the text
 * answers with at least one row, a cell of which is known; the JSON is a
 * non-empty array of objects and the CSV header names exactly the JSON's
 * fields. A query added to the table fails here until the fixture gives
 * it a row and known[] a cell. */
START_TEST(every_query_has_its_three_forms)
{
	struct fx f;
	json_error_t jerr;
	char args[96], *header = NULL;
	size_t cap = 0;

	fx_start_with(&f, "--notice-scan-ms", "200");
	fx_business(&f);
	fx_decisions(&f);
	for (size_t i = 0; i < ss_n_commands; i++) {
		const struct ss_command *c = &ss_commands[i];
		const char *ere = known_cell(c->what);
		json_t *doc, *row;
		FILE *csv;
		ssize_t n;
		size_t cols = 1;

		if (c->write)
			continue;
		ck_assert_msg(ere != NULL, "%s: no known cell in this test", c->what);
		snprintf(args, sizeof args, "%s%s", c->what, c->operand ? " SKU-1" : "");
		ck_assert_msg(hqctl(&f, args) == 0, "hqctl %s", args);
		ck_assert_msg(tl_sh("test $(wc -l < '%s') -ge 2", f.out) == 0, "hqctl %s: no row",
			args);
		ck_assert_msg(out_has(&f, ere), "hqctl %s: no line matches %s", args, ere);
		snprintf(args, sizeof args, "%s%s --json", c->what, c->operand ? " SKU-1" : "");
		ck_assert_msg(hqctl(&f, args) == 0, "hqctl %s", args);
		doc = json_load_file(f.out, 0, &jerr);
		ck_assert_msg(json_is_array(doc), "hqctl %s: not a JSON array", args);
		snprintf(args, sizeof args, "%s%s --csv", c->what, c->operand ? " SKU-1" : "");
		ck_assert_msg(hqctl(&f, args) == 0, "hqctl %s", args);
		ck_assert_ptr_nonnull(csv = fopen(f.out, "r"));
		ck_assert_msg((n = getline(&header, &cap, csv)) > 0, "hqctl %s: no header", args);
		fclose(csv);
		for (char *p = header; *p; p++)
			cols += *p == ',';
		ck_assert_msg((row = json_array_get(doc, 0)) != NULL, "hqctl %s: no row", args);
		ck_assert_msg(json_object_size(row) == cols, "%s: %zu JSON fields, %zu CSV columns",
			c->what, json_object_size(row), cols);
		for (char *name = strtok(header, ",\r\n"); name; name = strtok(NULL, ",\r\n"))
			ck_assert_msg(json_object_get(row, name) != NULL, "%s: CSV column %s is not "
				"a JSON field", c->what, name);
		json_decref(doc);
	}
	free(header);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { stores_json_has_the_stable_fields, text_and_csv_say_the_same,
		usage_errors_exit_2_with_one_line, storectl_usage_errors_exit_2_with_one_line,
		storectl_status_json, stores_forms, sales_forms,
		complaints_forms, accounts_and_stale_forms, inventory_forms,
		every_query_has_its_three_forms };

	return tl_run("cli", tests, sizeof tests / sizeof tests[0], 30);
}
