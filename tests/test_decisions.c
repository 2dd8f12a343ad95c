/* test_decisions: what HQ decides, judged at the hub from records that test
 * peers send on the store link (with the times an agent would stamp).
 *   policy history: a complaint's deadlines come from the policy in force
 *     for its store at its own business time, as HQ had issued it when the
 *     store recorded it, whatever the order the records arrive in;
 *   collection notices go to the owning store only, once per stale
 *     episode; a payment that moves the account's age starts a new episode;
 *   replenishment decisions reach only the requesting store, once;
 *   price discipline: a sale line at another price than the one in force at
 *     the store at the sale's time is kept and counted as a mismatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define EPOCH 0x5eed000000000001ull
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

struct fx {
	struct tl_env e;
	pid_t hub;
};

static void fx_start(struct fx *f, const char *scan_ms)
{
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, "--notice-scan-ms", scan_ms, NULL);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static void store_add(struct fx *f, const char *store, const char *region)
{
	Storesync__QueryReply *r = tl_query(f->e.hub_query, "store add", "store", store, "region",
		region, NULL);

	ck_assert_str_eq(tl_answer(r, "result"), "added");
	tl_query_free(r);
}

/* Sends one record (JSON Lines) as the store's seq, stamped as recorded at
 * recorded_ms, and waits for its ack. */
static void send_record(struct tl_link *l, const char *store, uint64_t seq, int64_t recorded_ms,
	const char *json)
{
	Storesync__Record *r = tl_json_record(json);

	r->recorded_ms = recorded_ms;
	r->has_recorded_ms = 1;
	tl_link_batch_records(l, store, EPOCH, seq, &r, 1);
	ck_assert_uint_eq(tl_link_ack(l), seq);
	storesync__record__free_unpacked(r, NULL);
}

static int64_t case_field(struct fx *f, const char *case_no, const char *col)
{
	Storesync__QueryReply *r = tl_query_ok(f->e.hub_query, "complaints", NULL);
	int row = tl_row_find(r, "case_no", case_no, NULL);
	int64_t v;

	ck_assert_msg(row >= 0, "no case %s", case_no);
	v = tl_cell_int(r, row, col);
	tl_query_free(r);
	return v;
}

START_TEST(deadlines_follow_the_policy_at_business_time)
{
	struct fx f;
	struct tl_link l;
	Storesync__QueryReply *r;
	char json[512], case_1[32], case_2[32], case_3[32], case_4[32], case_5[32];
	int64_t p, t4;

	fx_start(&f, "60000");
	store_add(&f, "S1", "r1");
	r = tl_query_ok(f.e.hub_query, "policy set", "set", "first_response_hours=48", NULL);
	p = atoll(tl_answer(r, "effective_ms"));   /* issued and effective now */
	tl_query_free(r);
	/* Case numbers name the month of registration (UTC: offset 0 here). */
	tl_case_no(case_1, sizeof case_1, "S1", 1, p - 2 * HOUR_MS, 0);
	tl_case_no(case_2, sizeof case_2, "S1", 2, p + 1000, 0);
	tl_case_no(case_3, sizeof case_3, "S1", 3, p - 2 * HOUR_MS, 0);
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH);
	/* B: after the change, so 48 h. It arrives first. */
	snprintf(json, sizeof json, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":"
		"\"%s\",\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"low\"}",
		(long long)(p + 1000), case_2);
	send_record(&l, "S1", 1, p + 1000, json);
	/* A: registered offline 2 h before the change, recorded 1 h before it,
	 * arrives after B: keeps the old 24 h. */
	snprintf(json, sizeof json, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":"
		"\"%s\",\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"low\"}",
		(long long)(p - 2 * HOUR_MS), case_1);
	send_record(&l, "S1", 2, p - HOUR_MS, json);
	/* C: business time before the change, keyed in after it: the policy in
	 * force at its own time is the old one. */
	snprintf(json, sizeof json, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":"
		"\"%s\",\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"low\"}",
		(long long)(p - 2 * HOUR_MS), case_3);
	send_record(&l, "S1", 3, p + 2000, json);
	/* D: dated an hour after the change (ahead, as a record may be by up
	 * to 24 h) but recorded a minute before HQ issued it: the store could
	 * not know it, so the old 24 h. Its own time alone would give 48 h. */
	tl_case_no(case_5, sizeof case_5, "S1", 5, p + HOUR_MS, 0);
	snprintf(json, sizeof json, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":"
		"\"%s\",\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"low\"}",
		(long long)(p + HOUR_MS), case_5);
	send_record(&l, "S1", 4, p - 60000, json);
	ck_assert_int_eq(case_field(&f, case_2, "respond_by_ms"), p + 1000 + 48 * HOUR_MS);
	ck_assert_int_eq(case_field(&f, case_1, "respond_by_ms"), p - 2 * HOUR_MS + 24 * HOUR_MS);
	ck_assert_int_eq(case_field(&f, case_3, "respond_by_ms"), p - 2 * HOUR_MS + 24 * HOUR_MS);
	ck_assert_int_eq(case_field(&f, case_5, "respond_by_ms"), p + HOUR_MS + 24 * HOUR_MS);
	/* A policy for another region does not touch S1. */
	store_add(&f, "S2", "r2");
	r = tl_query_ok(f.e.hub_query, "policy set", "set", "first_response_hours=2", "region", "r2",
		NULL);
	tl_query_free(r);
	t4 = ss_now_ms();
	tl_case_no(case_4, sizeof case_4, "S1", 4, t4, 0);
	snprintf(json, sizeof json, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":"
		"\"%s\",\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"low\"}",
		(long long)t4, case_4);
	send_record(&l, "S1", 5, t4, json);
	ck_assert_int_eq(case_field(&f, case_4, "respond_by_ms")
		- case_field(&f, case_4, "registered_ms"), 48 * HOUR_MS);
	/* policy show names the value in force for a store, with its scope. */
	r = tl_query_ok(f.e.hub_query, "policy show", "store", "S2", NULL);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "name", "first_response_hours", NULL),
		"value"), 2);
	ck_assert_str_eq(tl_cell_str(r, tl_row_find(r, "name", "first_response_hours", NULL),
		"scope"), "region r2");
	tl_query_free(r);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

/* The next notice on l, acked; NULL when none comes. A store's first
 * update is the snapshot a new store gets, which carries the notices it
 * has not applied; it is returned as a notice update. */
static Storesync__LinkMessage *next_notice(struct tl_link *l, int ms)
{
	Storesync__LinkMessage *m;

	while ((m = tl_link_update(l, ms)) != NULL) {
		Storesync__Update *u = m->update;

		tl_link_update_ack(l, u->update_id);
		if (u->body_case == STORESYNC__UPDATE__BODY_SNAPSHOT && u->snapshot->n_notices == 1) {
			Storesync__CollectionNotice *n = u->snapshot->notices[0];

			u->snapshot->n_notices = 0;
			storesync__snapshot__free_unpacked(u->snapshot, NULL);
			u->body_case = STORESYNC__UPDATE__BODY_NOTICE;
			u->notice = n;
		}
		if (u->body_case == STORESYNC__UPDATE__BODY_NOTICE)
			return m;
		storesync__link_message__free_unpacked(m, NULL);
	}
	return NULL;
}

START_TEST(notices_go_to_the_owner_once_per_episode)
{
	struct fx f;
	struct tl_link s1, s2;
	Storesync__LinkMessage *m;
	Storesync__QueryReply *r;
	char json[512];
	int64_t now = ss_now_ms(), t0 = now - 40 * DAY_MS, since1;

	fx_start(&f, "200");
	store_add(&f, "S1", "r1");
	store_add(&f, "S2", "r1");
	tl_link_open(&s1, f.e.hub_listen);
	tl_link_open(&s2, f.e.hub_listen);
	tl_link_hello(&s1, "S1", EPOCH);
	tl_link_hello(&s2, "S2", EPOCH);
	/* S1 signs a contract 40 days ago and nobody pays: stale (policy 30). */
	snprintf(json, sizeof json, "{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":"
		"\"CT-1\",\"customer\":\"C-1\",\"total_fen\":100000,\"account\":\"ACC-1\"}",
		(long long)t0);
	send_record(&s1, "S1", 1, t0, json);
	m = next_notice(&s1, 3000);
	ck_assert_msg(m != NULL, "S1 got no notice");
	ck_assert_str_eq(m->update->notice->account, "ACC-1");
	ck_assert_int_eq(m->update->notice->balance_fen, 100000);
	ck_assert_int_eq(m->update->notice->since_ms, t0);
	ck_assert_int_eq(m->update->notice->stale_days, 30);
	since1 = m->update->notice->since_ms;
	storesync__link_message__free_unpacked(m, NULL);
	/* Further scans: the same episode gets no second notice; S2 never one. */
	ck_assert_ptr_null(next_notice(&s1, 1000));
	ck_assert_ptr_null(next_notice(&s2, 200));
	/* A payment at S2, 35 days ago: the age now counts from it, still
	 * stale: a new episode, a new notice, to the owner S1, not to S2. */
	snprintf(json, sizeof json, "{\"type\":\"payment\",\"time_ms\":%lld,\"account\":\"ACC-1\","
		"\"amount_fen\":1000,\"method\":\"cash\",\"payment_no\":\"P-1\"}",
		(long long)(now - 35 * DAY_MS));
	send_record(&s2, "S2", 1, now - 35 * DAY_MS, json);
	m = next_notice(&s1, 3000);
	ck_assert_msg(m != NULL, "S1 got no notice for the new episode");
	ck_assert_int_eq(m->update->notice->since_ms, now - 35 * DAY_MS);
	ck_assert_int_ne(m->update->notice->since_ms, since1);
	ck_assert_int_eq(m->update->notice->balance_fen, 99000);
	storesync__link_message__free_unpacked(m, NULL);
	ck_assert_ptr_null(next_notice(&s2, 300));
	ss_sleep_ms(200);
	r = tl_query_ok(f.e.hub_query, "notices", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	ck_assert_uint_eq(tl_row_count(r, "store_id", "S1", "delivered", "1", NULL), 2);
	tl_query_free(r);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "notices_issued"), 2);
	tl_link_close(&s1);
	tl_link_close(&s2);
	fx_stop(&f);
}
END_TEST

START_TEST(decisions_reach_only_the_requesting_store)
{
	struct fx f;
	struct tl_link s1, s2;
	Storesync__LinkMessage *m;
	Storesync__QueryReply *r;
	char json[512];
	int64_t now = ss_now_ms();

	fx_start(&f, "60000");
	store_add(&f, "S1", "r1");
	store_add(&f, "S2", "r1");
	tl_link_open(&s1, f.e.hub_listen);
	tl_link_open(&s2, f.e.hub_listen);
	tl_link_hello(&s1, "S1", EPOCH);
	tl_link_hello(&s2, "S2", EPOCH);
	/* Both stores use the request number RQ-1: two requests. */
	for (int i = 0; i < 2; i++) {
		snprintf(json, sizeof json, "{\"type\":\"replenishment\",\"time_ms\":%lld,"
			"\"request_no\":\"RQ-1\",\"sku\":\"SOFA-%d\",\"quantity\":5,\"reason\":\"wedding\"}",
			(long long)now, i);
		send_record(i ? &s2 : &s1, i ? "S2" : "S1", 1, now, json);
	}
	r = tl_query_ok(f.e.hub_query, "replenish list", "state", "pending", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	tl_query_free(r);
	/* A quantity past the record limit: refused with the range. */
	r = tl_query(f.e.hub_query, "replenish approve", "id", "S1:RQ-1", "qty", "1000000001",
		NULL);
	ck_assert_ptr_nonnull(r->error);
	ck_assert_str_eq(r->error, "--qty must be a whole number in 1..1000000000");
	tl_query_free(r);
	r = tl_query(f.e.hub_query, "replenish approve", "id", "S1:RQ-1", "qty", "3", NULL);
	ck_assert_str_eq(tl_answer(r, "decision"), "approved");
	tl_query_free(r);
	/* S1 is new to the down-flow: the decision comes in its first snapshot. */
	m = tl_link_update(&s1, 3000);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->update->body_case, STORESYNC__UPDATE__BODY_SNAPSHOT);
	ck_assert_uint_eq(m->update->snapshot->n_decisions, 1);
	ck_assert_str_eq(m->update->snapshot->decisions[0]->request_no, "RQ-1");
	ck_assert_int_eq(m->update->snapshot->decisions[0]->quantity, 3);
	tl_link_update_ack(&s1, m->update->update_id);
	storesync__link_message__free_unpacked(m, NULL);
	ck_assert_ptr_null(tl_link_update(&s2, 500));
	/* Decided once. */
	r = tl_query(f.e.hub_query, "replenish refuse", "id", "S1:RQ-1", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->error && strstr(r->error, "already approved"), "%s",
		r->error ? r->error : "(accepted)");
	tl_query_free(r);
	ss_sleep_ms(200);
	r = tl_query_ok(f.e.hub_query, "replenish list", NULL);
	ck_assert_int_ge(tl_row_find(r, "id", "S1:RQ-1", "state", "approved",
		"approved_quantity", "3", "delivered", "1", NULL), 0);
	ck_assert_int_ge(tl_row_find(r, "id", "S2:RQ-1", "state", "pending", NULL), 0);
	tl_query_free(r);
	/* The same number again from S1 is refused at the hub (kept, no effect). */
	snprintf(json, sizeof json, "{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":"
		"\"RQ-1\",\"sku\":\"SOFA-9\",\"quantity\":1,\"reason\":\"again\"}", (long long)now);
	send_record(&s1, "S1", 2, now, json);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "refused"), 1);
	/* S1, in sync now, gets its next decision as a decision update. */
	snprintf(json, sizeof json, "{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":"
		"\"RQ-2\",\"sku\":\"SOFA-2\",\"quantity\":2,\"reason\":\"event\"}", (long long)now);
	send_record(&s1, "S1", 3, now, json);
	r = tl_query(f.e.hub_query, "replenish refuse", "id", "S1:RQ-2", "note", "no stock", NULL);
	ck_assert_str_eq(tl_answer(r, "decision"), "refused");
	tl_query_free(r);
	m = tl_link_update(&s1, 3000);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->update->body_case, STORESYNC__UPDATE__BODY_DECISION);
	ck_assert_str_eq(m->update->decision->request_no, "RQ-2");
	ck_assert_int_eq(m->update->decision->decision, STORESYNC__DECISION__DECISION_REFUSED);
	ck_assert_str_eq(m->update->decision->note, "no stock");
	storesync__link_message__free_unpacked(m, NULL);
	ck_assert_ptr_null(tl_link_update(&s2, 300));
	tl_link_close(&s1);
	tl_link_close(&s2);
	fx_stop(&f);
}
END_TEST

static int64_t price_1500(size_t i)
{
	(void)i;
	return 1500;
}

START_TEST(a_sale_at_another_price_is_kept_and_counted)
{
	struct fx f;
	struct tl_link l;
	Storesync__QueryReply *r;
	char json[512];
	int64_t p;

	fx_start(&f, "60000");
	store_add(&f, "S1", "r1");
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH);
	/* Before any price list: nothing to compare with. */
	snprintf(json, sizeof json, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R0\","
		"\"lines\":[{\"sku\":\"SKU-0\",\"quantity\":1,\"unit_price_fen\":1400}],"
		"\"total_fen\":1400,\"payment_method\":\"cash\"}", (long long)ss_now_ms());
	send_record(&l, "S1", 1, ss_now_ms(), json);
	r = tl_price_push(f.e.hub_query, "SKU", 1, price_1500, NULL);   /* SKU-0 = 1500 */
	p = atoll(tl_answer(r, "effective_ms"));
	tl_query_free(r);
	/* After it: one line at the wrong price, one at the right one. */
	snprintf(json, sizeof json, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R1\","
		"\"lines\":[{\"sku\":\"SKU-0\",\"quantity\":2,\"unit_price_fen\":1400},{\"sku\":\"SKU-0\","
		"\"quantity\":1,\"unit_price_fen\":1500}],\"total_fen\":4300,\"payment_method\":\"cash\"}",
		(long long)(p + 1000));
	send_record(&l, "S1", 2, p + 1000, json);
	/* A sale made before the push, arriving after it: judged by what HQ had
	 * issued when it was recorded (nothing). */
	snprintf(json, sizeof json, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R2\","
		"\"lines\":[{\"sku\":\"SKU-0\",\"quantity\":1,\"unit_price_fen\":1300}],"
		"\"total_fen\":1300,\"payment_method\":\"cash\"}", (long long)(p - 5000));
	send_record(&l, "S1", 3, p - 4000, json);
	r = tl_query_ok(f.e.hub_query, "price mismatches", "store", "S1", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_str_eq(tl_cell_str(r, 0, "sku"), "SKU-0");
	ck_assert_int_eq(tl_cell_int(r, 0, "lines"), 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "charged_fen"), 1400);
	ck_assert_int_eq(tl_cell_int(r, 0, "expected_fen"), 1500);
	ck_assert_str_eq(tl_cell_str(r, 0, "last_receipt"), "R1");
	tl_query_free(r);
	/* Every sale counts in the sales view all the same. */
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 3);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

/* One sale line of SKU-0 at price, dated t and recorded at recorded_ms. */
static void sale_of(struct tl_link *l, uint64_t seq, const char *receipt, int64_t t,
	int64_t recorded_ms, int price)
{
	char json[512];

	snprintf(json, sizeof json, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\","
		"\"lines\":[{\"sku\":\"SKU-0\",\"quantity\":1,\"unit_price_fen\":%d}],"
		"\"total_fen\":%d,\"payment_method\":\"cash\"}", (long long)t, receipt, price, price);
	send_record(l, "S1", seq, recorded_ms, json);
}

/* The mismatch row of S1's SKU-0: lines, charged_fen, last_receipt, last_ms. */
static void mismatch_is(struct fx *f, int64_t lines, int64_t charged, const char *receipt,
	int64_t last_ms)
{
	Storesync__QueryReply *r = tl_query_ok(f->e.hub_query, "price mismatches", "store", "S1",
		NULL);

	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "lines"), lines);
	ck_assert_int_eq(tl_cell_int(r, 0, "charged_fen"), charged);
	ck_assert_int_eq(tl_cell_int(r, 0, "expected_fen"), 1500);
	ck_assert_str_eq(tl_cell_str(r, 0, "last_receipt"), receipt);
	ck_assert_int_eq(tl_cell_int(r, 0, "last_ms"), last_ms);
	tl_query_free(r);
}

/* The line shown is the latest by (time_ms, receipt_no, line), not the last
 * to arrive; a sale dated after the price's moment but recorded before HQ
 * issued it is not judged by it. SKU-0 is 1500 from p on. */
START_TEST(the_latest_mismatch_by_business_time_is_shown)
{
	struct fx f;
	struct tl_link l;
	Storesync__QueryReply *r;
	int64_t p, issued;

	fx_start(&f, "60000");
	store_add(&f, "S1", "r1");
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH);
	issued = ss_now_ms();
	r = tl_price_push(f.e.hub_query, "SKU", 1, price_1500, NULL);
	p = atoll(tl_answer(r, "effective_ms"));
	tl_query_free(r);
	/* Dated 2 s after p, recorded before the push existed: no mismatch. */
	sale_of(&l, 1, "R-EARLY", p + 2000, issued - 60000, 1300);
	r = tl_query_ok(f.e.hub_query, "price mismatches", "store", "S1", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	sale_of(&l, 2, "R-3", p + 3000, p + 3000, 1450);
	mismatch_is(&f, 1, 1450, "R-3", p + 3000);
	/* Earlier by time, arriving later: counted, not shown. */
	sale_of(&l, 3, "R-1", p + 1000, p + 1000, 1350);
	mismatch_is(&f, 2, 1450, "R-3", p + 3000);
	/* The same moment: the greater receipt_no is the later. */
	sale_of(&l, 4, "R-2", p + 3000, p + 3000, 1420);
	mismatch_is(&f, 3, 1450, "R-3", p + 3000);
	sale_of(&l, 5, "R-4", p + 3000, p + 3000, 1460);
	mismatch_is(&f, 4, 1460, "R-4", p + 3000);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { deadlines_follow_the_policy_at_business_time,
		notices_go_to_the_owner_once_per_episode, decisions_reach_only_the_requesting_store,
		a_sale_at_another_price_is_kept_and_counted, the_latest_mismatch_by_business_time_is_shown };

	return tl_run("decisions", tests, sizeof tests / sizeof tests[0], 120);
}
