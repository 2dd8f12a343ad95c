/* test_query_time: time in operators' queries (issue 8 §5, docs/records.md
 * "Time in queries"). --at T judges as at T: views that can be cut at a
 * moment count no record dated after T (test_business_time shows stock,
 * cases and accounts); those kept by whole days or as received (sales,
 * price mismatches, stores) refuse a T some records are dated after, with a
 * reason, and answer a later one. T may carry an offset. `stores` tells
 * when the last record arrived apart from when the store was last heard.
 *
 * Records go through a test peer on the link, at UTC+8. */
#include <stdio.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define EPOCH 0x7177ull

/* 2026-11-10 10:00 local (1794276000000): a sale and a complaint;
 * 2026-11-12 10:00 local (1794448800000): a sale. */
static const char *const lines[] = {
	"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":1000}],\"total_fen\":1000,"
	"\"payment_method\":\"cash\"}",
	"{\"type\":\"complaint\",\"time_ms\":1794276000000,\"case_no\":\"S1-202611-1\","
	"\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"high\"}",
	"{\"type\":\"sale\",\"time_ms\":1794448800000,\"receipt_no\":\"R-2\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":2000}],\"total_fen\":2000,"
	"\"payment_method\":\"cash\"}",
};

struct fx {
	struct tl_env e;
	pid_t hub;
	struct tl_link l;
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	/* What a heartbeat says is written within a second (hub_live.c). */
	f->hub = tl_start_hub(&f->e, "--state-flush-ms", "1000", NULL);
	tl_link_open(&f->l, f->e.hub_listen);
	tl_link_hello(&f->l, "S1", EPOCH);
	ck_assert_uint_eq(tl_link_send_json(&f->l, "S1", EPOCH, 1, 480, lines, 3), 3);
}

static void fx_stop(struct fx *f)
{
	tl_link_close(&f->l);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static void refused(struct fx *f, const char *what, const char *at, const char *want)
{
	Storesync__QueryReply *r = tl_query(f->e.hub_query, what, "at", at, NULL);

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->error && strcmp(r->error, want) == 0, "%s --at %s: %s", what, at,
		r->error ? r->error : "answered");
	tl_query_free(r);
}

/* The 11-12 sale is dated after 2026-11-11: a day's or a store's figures
 * cannot leave it out, so they refuse; at 2026-11-13 nothing is later. */
START_TEST(whole_days_refuse_a_past_moment)
{
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f);
	refused(&f, "sales", "2026-11-11T00:00+08:00", "sales: figures are of whole store-local "
		"days and some records are dated after --at; ask with --to DAY instead of --at");
	refused(&f, "price mismatches", "2026-11-11", "price mismatches: counted by whole "
		"store-local days and some records are dated after --at; ask with --to DAY instead "
		"of --at");
	refused(&f, "stores", "1794400000000", "stores: records and amounts count every record "
		"received and some are dated after --at; ask without --at, or --at a later moment");
	r = tl_query_ok(f.e.hub_query, "sales", "to", "2026-11-11", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "sales_fen"), 1000);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "sales", "at", "2026-11-13T00:00+08:00", NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "stores", "at", "2026-11-13", NULL);
	ck_assert_int_eq(tl_cell_int(r, 0, "records"), 3);
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

/* The case is due at R + 24 h = 2026-11-11 10:00 local = 02:00Z: overdue
 * after it, however the moment is written. */
START_TEST(at_with_an_offset)
{
	static const struct {
		const char *at;
		size_t overdue;
	} at[] = {
		{ "2026-11-11T10:00+08:00", 0 }, { "2026-11-11T10:01+08:00", 1 },
		{ "2026-11-11T10:01:00+0800", 1 }, { "2026-11-11T09:59+08", 0 },
		{ "2026-11-11T02:01Z", 1 }, { "2026-11-11T02:00", 0 },
		{ "2026-11-10T21:01-05:00", 1 },
	};
	struct fx f;

	fx_start(&f);
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		Storesync__QueryReply *r = tl_query_ok(f.e.hub_query, "complaints", "overdue", "",
			"at", at[i].at, NULL);

		ck_assert_msg(r->n_rows == at[i].overdue, "at %s: %zu overdue", at[i].at, r->n_rows);
		tl_query_free(r);
	}
	fx_stop(&f);
}
END_TEST

/* last_record_ms moves when records arrive, not when the store is only
 * heard from (a heartbeat, whose word stores shows once the hub's state
 * flush has written it). */
START_TEST(last_record_apart_from_last_seen)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	struct fx f;
	int64_t seen, record;

	fx_start(&f);
	record = tl_store_field(f.e.hub_query, "S1", "last_record_ms");
	seen = tl_store_field(f.e.hub_query, "S1", "last_seen_ms");
	ck_assert_int_gt(record, 0);
	ck_assert_int_eq(record, seen);
	ss_sleep_ms(20);
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	tl_link_send(&f.l, &m);
	storesync__link_message__free_unpacked(
		tl_link_expect(&f.l, STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT, 5000), NULL);
	for (int64_t t0 = ss_mono_ms(); tl_store_field(f.e.hub_query, "S1", "last_seen_ms") <= seen
		&& ss_mono_ms() - t0 < 5000; )
		ss_sleep_ms(100);
	ck_assert_int_gt(tl_store_field(f.e.hub_query, "S1", "last_seen_ms"), seen);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "last_record_ms"), record);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { whole_days_refuse_a_past_moment, at_with_an_offset,
		last_record_apart_from_last_seen };

	return tl_run("query_time", tests, sizeof tests / sizeof tests[0], 30);
}
