/* test_business_keys_hub: guarantee 8 at the hub (hq-hub/hub_keys.c). A
 * record whose business key the hub already holds from its store, with the
 * same content, is kept in the event log with no effect and counted in the
 * store's biz_duplicates and in `stats`, even when it comes from a new epoch
 * (the store was reinstalled, its agent's own index is empty). With other
 * content it is refused, with a reason naming the key and the original. A
 * record the hub refused holds no key: its correction is applied.
 *
 * The records go through a test peer on the link (Hello, Batch, Ack), so
 * the test chooses epochs and seqs itself, as a reinstalled or broken
 * agent would send them. Every expected figure is worked out by hand in the
 * comments. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"

#define EPOCH_A 0x1111222233334444ull
#define EPOCH_B 0x5555666677778888ull

/* 2026-11-10T02:00:00Z = 1794276000000, 10:00 at UTC+8: business day
 * 2026-11-10. */
static const char *const first_install[] = {
	"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":2,\"unit_price_fen\":5000}],\"total_fen\":10000,"
	"\"payment_method\":\"cash\"}",
	"{\"type\":\"payment\",\"time_ms\":1794279600000,\"payment_no\":\"P-1\",\"account\":"
	"\"ACC-1\",\"amount_fen\":5000,\"method\":\"card\"}",
	"{\"type\":\"complaint\",\"time_ms\":1794283200000,\"case_no\":\"S1-202611-1\","
	"\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"high\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794286800000,\"case_no\":\"S1-202611-1\","
	"\"step\":\"responded\",\"note\":\"called back\"}",
};

struct fx {
	struct tl_env e;
	pid_t hub;
	struct tl_link l;
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, NULL);
	tl_link_open(&f->l, f->e.hub_listen);
}

static void fx_stop(struct fx *f)
{
	tl_link_close(&f->l);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static uint64_t send(struct fx *f, uint64_t epoch, uint64_t first_seq, const char *const *lines,
	size_t n)
{
	return tl_link_send_json(&f->l, "S1", epoch, first_seq, 480, lines, n);
}

#define N(a) (sizeof (a) / sizeof (a)[0])

START_TEST(reinstalled_store_resending_applies_once)
{
	static const char *const r2[] = {
		"{\"type\":\"sale\",\"time_ms\":1794290400000,\"receipt_no\":\"R-2\",\"lines\":[{\"sku\":"
		"\"TEA-1\",\"quantity\":1,\"unit_price_fen\":3000}],\"total_fen\":3000,"
		"\"payment_method\":\"mobile\"}",
	};
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f);
	tl_link_hello(&f.l, "S1", EPOCH_A);
	ck_assert_uint_eq(send(&f, EPOCH_A, 1, first_install, N(first_install)), 4);
	/* Reinstalled: a new epoch, seqs from 1, and the till retries all four
	 * (its answers were lost with the old installation), then goes on. */
	ck_assert_uint_eq(tl_link_hello(&f.l, "S1", EPOCH_B), 0);
	ck_assert_uint_eq(send(&f, EPOCH_B, 1, first_install, N(first_install)), 4);
	ck_assert_uint_eq(send(&f, EPOCH_B, 5, r2, 1), 5);
	/* A broken agent sending R-2 once more in the same epoch: the same. */
	ck_assert_uint_eq(send(&f, EPOCH_B, 6, r2, 1), 6);

	/* Applied: R-1, P-1, the case, its step (epoch A) and R-2: 5 records.
	 * Duplicates: 4 from epoch B's retry + 1 = 5. Money: 10,000 + 5,000 +
	 * 3,000 = 18,000 (not 10,000 + 5,000 more). */
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 5);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "biz_duplicates"), 5);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "refused"), 0);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 18000);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "high_water_seq"), 6);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "biz_duplicates"), 5);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "records_applied"), 5);

	r = tl_query_ok(f.e.hub_query, "sales", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "receipts"), 2);
	ck_assert_int_eq(tl_cell_int(r, 0, "sales_fen"), 13000);   /* 10,000 + 3,000 */
	ck_assert_int_eq(tl_cell_int(r, 0, "payments_fen"), 5000);
	ck_assert_int_eq(tl_cell_int(r, 0, "card_fen"), 5000);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "accounts", NULL);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "account", "ACC-1", NULL), "received_fen"),
		5000);
	tl_query_free(r);
	/* The case is registered once; the retry did not make it "registered
	 * twice", and its step counts once. */
	r = tl_query_ok(f.e.hub_query, "complaints", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "responded_ms"), 1794286800000LL);
	tl_query_free(r);
	/* Every record is in the log, duplicates included: 4 + 6. */
	r = tl_query_ok(f.e.hub_query, "dump", NULL);
	ck_assert_uint_eq(tl_row_count(r, "view", "events", NULL), 10);
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

START_TEST(same_key_other_content_is_refused)
{
	static const char *const other[] = {
		/* R-1 again, for 12,000 */
		"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
		"\"TEA-1\",\"quantity\":2,\"unit_price_fen\":6000}],\"total_fen\":12000,"
		"\"payment_method\":\"cash\"}",
		/* the same step of the same case, with another note */
		"{\"type\":\"complaint_progress\",\"time_ms\":1794286800000,\"case_no\":\"S1-202611-1\","
		"\"step\":\"responded\",\"note\":\"visited\"}",
	};
	struct fx f;
	Storesync__QueryReply *r;
	char want[160];

	fx_start(&f);
	tl_link_hello(&f.l, "S1", EPOCH_A);
	ck_assert_uint_eq(send(&f, EPOCH_A, 1, first_install, N(first_install)), 4);
	tl_link_hello(&f.l, "S1", EPOCH_B);
	ck_assert_uint_eq(send(&f, EPOCH_B, 1, other, 1), 1);
	snprintf(want, sizeof want, "seq 1: receipt R-1 already recorded as seq 1 of epoch "
		"%016llx with different content", (unsigned long long)EPOCH_A);
	r = tl_query_ok(f.e.hub_query, "stores", NULL);
	ck_assert_str_eq(tl_cell_str(r, 0, "last_refused"), want);
	tl_query_free(r);
	ck_assert_uint_eq(send(&f, EPOCH_B, 2, other + 1, 1), 2);
	r = tl_query_ok(f.e.hub_query, "stores", NULL);
	ck_assert_str_eq(tl_cell_str(r, 0, "last_refused"), "seq 2: case S1-202611-1 step "
		"responded already recorded as seq 4 of epoch 1111222233334444 with different content");
	tl_query_free(r);

	/* Both refused: kept, no effect. Sales stay 10,000; the step's time is
	 * the first one's. */
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "refused"), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 4);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "biz_duplicates"), 0);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "refused_records"), 2);
	r = tl_query_ok(f.e.hub_query, "sales", NULL);
	ck_assert_int_eq(tl_cell_int(r, 0, "sales_fen"), 10000);
	ck_assert_int_eq(tl_cell_int(r, 0, "cash_fen"), 10000);
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

/* A record the hub refused never took its key: the corrected record with
 * the same number is applied, not refused as a conflict. */
START_TEST(refused_record_holds_no_key)
{
	static const char *const lines[] = {
		/* total 9,000 but the line says 10,000: refused by validation */
		"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-7\",\"lines\":[{\"sku\":"
		"\"TEA-1\",\"quantity\":2,\"unit_price_fen\":5000}],\"total_fen\":9000,"
		"\"payment_method\":\"cash\"}",
		"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-7\",\"lines\":[{\"sku\":"
		"\"TEA-1\",\"quantity\":2,\"unit_price_fen\":5000}],\"total_fen\":10000,"
		"\"payment_method\":\"cash\"}",
	};
	struct fx f;

	fx_start(&f);
	tl_link_hello(&f.l, "S1", EPOCH_A);
	ck_assert_uint_eq(send(&f, EPOCH_A, 1, lines, 2), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "refused"), 1);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 1);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 10000);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { reinstalled_store_resending_applies_once,
		same_key_other_content_is_refused, refused_record_holds_no_key };

	return tl_run("business_keys_hub", tests, sizeof tests / sizeof tests[0], 30);
}
