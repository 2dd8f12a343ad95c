/* The command lines as scripts use them: hqctl's three output forms carry
 * the same figures (the --json field names of `stores` are a stable
 * contract), usage errors exit 2 with one line on stderr and change nothing,
 * and storectl status --json reports the agent's state. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

struct fx {
	struct tl_env e;
	pid_t hub, agent;
	char local[320], data[320], out[320], err[320];
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S7", f->local, sizeof f->local, f->data, sizeof f->data);
	snprintf(f->out, sizeof f->out, "%s/out", f->e.dir);
	snprintf(f->err, sizeof f->err, "%s/err", f->e.dir);
	f->hub = tl_start_hub(&f->e, NULL);
	f->agent = tl_start_agent(&f->e, "S7", NULL);
	ck_assert_int_eq(tl_submit_sales(f->local, 4, 2500, "R", 1, NULL, 5000), 4);
	ck_assert_int_eq(tl_wait_drained(f->local, 20000), 4);
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
	ck_assert_int_eq(tl_sh("grep -E -q '^S7 +[0-9-]+ +4 +10000 ' '%s'", f.out), 0);
	ck_assert_int_eq(hqctl(&f, "policy show --csv"), 0);
	ck_assert_int_eq(tl_sh("grep -q '^stale_account_days,30,days,default,' '%s'", f.out), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(usage_errors_exit_2_with_one_line)
{
	static const char *const bad[] = { "", "bogus", "sales --by year", "sales --from 2026-13-01",
		"stale --sku SKU-1", "inventory --below many", "policy", "policy set x=1",
		"complaints --state lost", "stores extra" };
	struct fx f;

	fx_start(&f);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(hqctl(&f, bad[i]) == 2, "hqctl %s did not exit 2", bad[i]);
		if (bad[i][0])
			ck_assert_msg(tl_sh("test $(wc -l < '%s') = 1", f.err) == 0,
				"hqctl %s: stderr is not one line", bad[i]);
	}
	ck_assert_int_eq(hqctl(&f, "--help"), 0);
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

int main(void)
{
	const TTest *const tests[] = { stores_json_has_the_stable_fields, text_and_csv_say_the_same,
		usage_errors_exit_2_with_one_line, storectl_status_json };

	return tl_run("cli", tests, sizeof tests / sizeof tests[0], 30);
}
