/* An agent in conflict can be recovered (issue 10, part 6; store-agent/
 * agent_reepoch.c). A store's data directory is rolled back to a copy
 * taken while two of its records were not yet acknowledged; the hub had
 * them, and four more, by then. The rolled-back agent stops sending
 * (conflict), says so in its log every interval, and the hub shows it in
 * `stores`; the tills go on, and one of them retries a sale the hub already
 * holds. `storectl reepoch --confirm` moves every record the hub did not
 * acknowledge into a new epoch, and the hub ends with every record exactly
 * once: the counts and sums below are worked out by hand from what was
 * sold. Afterwards the agent numbers on in the new epoch, survives a
 * restart, and still knows every receipt (a retry is a duplicate). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define WAIT_MS 20000

struct fx {
	struct tl_env e;
	char local[320], data[320], agent_log[320], hub_log[320], out[320], err[320];
	int64_t t_ms;              /* every sale's time: a retry is the same record */
};

static uint64_t sale(struct fx *f, const char *receipt, int64_t fen)
{
	return tl_submit_jsonf(f->local, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\","
		"\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price_fen\":%lld}],"
		"\"total_fen\":%lld,\"payment_method\":\"cash\",\"cashier\":\"C1\"}",
		(long long)f->t_ms, receipt, (long long)fen, (long long)fen);
}

static struct tl_result sale_again(struct fx *f, const char *receipt, int64_t fen)
{
	return tl_submit_json_result(f->local, "{\"type\":\"sale\",\"time_ms\":%lld,"
		"\"receipt_no\":\"%s\",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":1,"
		"\"unit_price_fen\":%lld}],\"total_fen\":%lld,\"payment_method\":\"cash\","
		"\"cashier\":\"C1\"}", (long long)f->t_ms, receipt, (long long)fen, (long long)fen);
}

static int storectl(struct fx *f, const char *args)
{
	return tl_sh("'%s/storectl' --agent '%s' %s >'%s' 2>'%s'", SS_BIN_DIR, f->local, args,
		f->out, f->err);
}

static Storesync__StatusReply *status(struct fx *f)
{
	Storesync__StatusReply *st = tl_status(f->local, 2000);

	ck_assert_msg(st != NULL, "the agent does not answer");
	return st;
}

static void wait_link(struct fx *f, const char *state)
{
	int64_t deadline = ss_mono_ms() + WAIT_MS;

	for (;;) {
		Storesync__StatusReply *st = status(f);
		int same = st->link_state && strcmp(st->link_state, state) == 0;

		tl_status_free(st);
		if (same)
			return;
		ck_assert_msg(ss_mono_ms() < deadline, "link never %s", state);
		ss_sleep_ms(50);
	}
}

static pid_t start_agent(struct fx *f)
{
	return tl_start_agent(&f->e, "S1", "--log-interval-ms", "500", NULL);
}

/* receipts and sales of S1 at the hub, summed over its days. */
static void hub_sales(struct fx *f, int64_t *receipts, int64_t *fen)
{
	Storesync__QueryReply *r = tl_query_ok(f->e.hub_query, "sales", "store", "S1", NULL);

	*receipts = *fen = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		*receipts += tl_cell_int(r, (int)i, "receipts");
		*fen += tl_cell_int(r, (int)i, "sales_fen");
	}
	tl_query_free(r);
}

static void expect_hub(struct fx *f, int64_t records, int64_t fen, int64_t biz_duplicates)
{
	int64_t receipts, sales_fen;

	ck_assert_int_eq(tl_wait_records(f->e.hub_query, "S1", records, WAIT_MS), records);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "amount_fen"), fen);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "biz_duplicates"), biz_duplicates);
	hub_sales(f, &receipts, &sales_fen);
	ck_assert_int_eq(receipts, records);
	ck_assert_int_eq(sales_fen, fen);
}

/* The hub's stores row of S1 as JSON (a new reference). */
static json_t *hub_store_json(struct fx *f)
{
	json_error_t jerr;
	json_t *doc, *row;

	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' stores --json >'%s'", SS_BIN_DIR,
		f->e.hub_query, f->out), 0);
	doc = json_load_file(f->out, 0, &jerr);
	ck_assert_ptr_nonnull(doc);
	row = json_incref(json_array_get(doc, 0));
	json_decref(doc);
	return row;
}

START_TEST(a_rolled_back_store_recovers_with_every_record_once)
{
	struct fx f;
	Storesync__StatusReply *st;
	struct tl_result res;
	json_t *row;
	uint64_t old_epoch;
	size_t lines;
	char name[16];
	pid_t hub, agent;

	tl_env_init(&f.e);
	tl_agent_paths(&f.e, "S1", f.local, sizeof f.local, f.data, sizeof f.data);
	snprintf(f.agent_log, sizeof f.agent_log, "%s/agent-S1.log", f.e.dir);
	snprintf(f.hub_log, sizeof f.hub_log, "%s/hub.log", f.e.dir);
	snprintf(f.out, sizeof f.out, "%s/out", f.e.dir);
	snprintf(f.err, sizeof f.err, "%s/err", f.e.dir);
	f.t_ms = ss_now_ms() - 3600 * 1000;

	/* A1..A5 at 100 reach the hub (seq 1..5). */
	hub = tl_start_hub(&f.e, NULL);
	agent = start_agent(&f);
	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof name, "A%d", i);
		sale(&f, name, 100);
	}
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 5);
	/* X1, X2 at 50 while the hub is down (seq 6, 7); the copy is taken then. */
	tl_stop(hub);
	sale(&f, "X1", 50);
	sale(&f, "X2", 50);
	tl_stop(agent);
	ck_assert_int_eq(tl_sh("cp -a '%s' '%s.copy'", f.data, f.data), 0);
	/* The hub gets X1, X2, then B1..B4 at 200 (seq 8..11). */
	hub = tl_start_hub(&f.e, NULL);
	agent = start_agent(&f);
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "B%d", i);
		sale(&f, name, 200);
	}
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 11);
	expect_hub(&f, 11, 5 * 100 + 2 * 50 + 4 * 200, 0);
	tl_stop(agent);

	/* Rolled back to the copy: it ends at seq 7, acknowledged through 5. */
	ck_assert_int_eq(tl_sh("rm -rf '%s' && mv '%s.copy' '%s'", f.data, f.data, f.data), 0);
	agent = start_agent(&f);
	wait_link(&f, "conflict");
	/* The tills go on: C1..C3 at 1000 take seqs 8..10, which the hub holds
	 * for B1..B3; a till retries B1, which this copy never knew (seq 11). */
	ck_assert_uint_eq(sale(&f, "C1", 1000), 8);
	sale(&f, "C2", 1000);
	sale(&f, "C3", 1000);
	ck_assert_uint_eq(sale(&f, "B1", 200), 11);
	res = sale_again(&f, "X1", 50);
	ck_assert_msg(res.duplicate && res.seq == 6, "X1 again: seq %llu, %s",
		(unsigned long long)res.seq, res.error);
	st = status(&f);
	ck_assert_str_eq(st->link_state, "conflict");
	ck_assert(st->has_conflict_hub_seq);
	ck_assert_uint_eq(st->conflict_hub_seq, 11);
	ck_assert_uint_eq(st->last_seq, 11);
	old_epoch = st->epoch;
	tl_status_free(st);

	/* Nothing is sent, and everyone is told. */
	tl_log_wait(f.agent_log, "\\[error\\] conflict: the hub holds seq 11 of epoch [0-9a-f]{16} "
		"but this outbox ends at 7 .*storectl reepoch --confirm", 1, WAIT_MS);
	tl_log_wait(f.agent_log, "\\[error\\] conflict for [0-9.]+s: the hub holds seq 11 .*, this "
		"outbox ends at 11; 6 records wait and none is sent", 2, WAIT_MS);
	tl_log_wait(f.hub_log, "\\[error\\] store S1 is in conflict: its Hello says epoch "
		"[0-9a-f]{16} ends at seq 7, the hub holds it through 11", 1, WAIT_MS);
	row = hub_store_json(&f);
	ck_assert(json_is_true(json_object_get(row, "conflict")));
	ck_assert(json_is_integer(json_object_get(row, "conflict_since_ms")));
	json_decref(row);
	expect_hub(&f, 11, 1400, 0);

	/* Without --confirm: the plan, nothing changes. */
	ck_assert_int_eq(storectl(&f, "reepoch"), 1);
	ck_assert_int_eq(tl_sh("grep -q 'would move 6 records (seq 6..11) to a new epoch as seqs "
		"1..6; 5 acknowledged records would leave' '%s'", f.out), 0);
	ck_assert_int_eq(tl_sh("grep -q 'reepoch --confirm' '%s'", f.err), 0);
	wait_link(&f, "conflict");

	ck_assert_int_eq(storectl(&f, "reepoch --confirm"), 0);
	ck_assert_int_eq(tl_sh("grep -q 'moved 6 records (seq 6..11) to epoch [0-9a-f]* as seqs "
		"1..6; 5 acknowledged records left' '%s'", f.out), 0);
	/* X1, X2 and the retried B1 the hub holds: once. C1..C3 are new. */
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 6);
	expect_hub(&f, 14, 5 * 100 + 2 * 50 + 4 * 200 + 3 * 1000, 3);
	st = status(&f);
	ck_assert_str_eq(st->link_state, "up");
	ck_assert_uint_ne(st->epoch, old_epoch);
	ck_assert(!st->has_conflict_hub_seq);
	tl_status_free(st);
	row = hub_store_json(&f);
	ck_assert(json_is_false(json_object_get(row, "conflict")));
	ck_assert_int_eq(json_integer_value(json_object_get(row, "high_water_seq")), 6);
	json_decref(row);
	tl_log_wait(f.agent_log, "\\[info\\] conflict over after [0-9.]+s: reepoch: 6 records "
		"moved from epoch", 1, WAIT_MS);
	tl_log_wait(f.hub_log, "store S1 changed epoch from [0-9a-f]{16} to [0-9a-f]{16}", 1,
		WAIT_MS);
	lines = tl_log_count(f.agent_log, "conflict for");
	ss_sleep_ms(1200);   /* over: no more lines about it */
	ck_assert_uint_eq(tl_log_count(f.agent_log, "conflict for"), lines);

	/* The new epoch numbers on, across a restart; every receipt is known. */
	ck_assert_uint_eq(sale(&f, "D1", 7), 7);
	tl_stop(agent);
	agent = start_agent(&f);
	res = sale_again(&f, "C1", 1000);
	ck_assert_msg(res.duplicate && res.seq == 3, "C1 again: seq %llu, %s",
		(unsigned long long)res.seq, res.error);
	res = sale_again(&f, "A1", 100);
	ck_assert_msg(res.duplicate, "A1 again: %s", res.error);
	ck_assert_uint_eq(sale(&f, "D2", 8), 8);
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 8);
	expect_hub(&f, 16, 4400 + 7 + 8, 3);
	/* No conflict now: a reepoch is refused. */
	ck_assert_int_eq(storectl(&f, "reepoch --confirm"), 1);
	ck_assert_int_eq(tl_sh("grep -q 'not in conflict' '%s'", f.err), 0);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { a_rolled_back_store_recovers_with_every_record_once };

	return tl_run("reepoch", tests, sizeof tests / sizeof tests[0], 120);
}
