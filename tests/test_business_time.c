/* test_business_time: guarantee 9, views follow business time (issue 8 §2,
 * docs/records.md "What the views say"). Three stores receive the same
 * records, each in another seq order (as tills key them in late and out of
 * order); each store's views must say what the rules say, worked out by hand
 * below from the records' own times. A view that followed arrival order
 * would differ between the stores, and from the figures.
 *
 * Records go through test peers on the link, each store at UTC+8, so the
 * test chooses the seq order exactly. Local times are written in comments;
 * 2026-11-01T00:00+08:00 is 1793462400000. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"

#define N(a) (sizeof (a) / sizeof (a)[0])
#define N_STORES 3

static const char *const stores[N_STORES] = { "S1", "S2", "S3" };

struct fx {
	struct tl_env e;
	pid_t hub;
	struct tl_link l[N_STORES];
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, NULL);
	for (int i = 0; i < N_STORES; i++) {
		tl_link_open(&f->l[i], f->e.hub_listen);
		tl_link_hello(&f->l[i], stores[i], 0x100 + (uint64_t)i);
	}
}

static void fx_stop(struct fx *f)
{
	for (int i = 0; i < N_STORES; i++)
		tl_link_close(&f->l[i]);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

/* Store i gets lines in the order order[i] (indexes into lines). */
static void feed(struct fx *f, const char *const *lines, size_t n, const size_t orders[][16])
{
	for (int i = 0; i < N_STORES; i++) {
		const char *ordered[16];

		ck_assert_uint_le(n, 16);
		for (size_t j = 0; j < n; j++)
			ordered[j] = lines[orders[i][j]];
		ck_assert_uint_eq(tl_link_send_json(&f->l[i], stores[i], 0x100 + (uint64_t)i, 1, 480,
			ordered, n), n);
		ck_assert_int_eq(tl_store_field(f->e.hub_query, stores[i], "refused"), 0);
	}
}

/* Store i gets templates (each with one %s: the store id) in order[i]. */
static void feed_per_store(struct fx *f, const char *const *templates, size_t n,
	const size_t orders[][16])
{
	static char text[N_STORES][16][512];
	const char *lines[N_STORES][16];

	ck_assert_uint_le(n, 16);
	for (int i = 0; i < N_STORES; i++)
		for (size_t j = 0; j < n; j++) {
			snprintf(text[i][j], sizeof text[i][j], templates[orders[i][j]], stores[i]);
			lines[i][j] = text[i][j];
		}
	for (int i = 0; i < N_STORES; i++) {
		ck_assert_uint_eq(tl_link_send_json(&f->l[i], stores[i], 0x100 + (uint64_t)i, 1, 480,
			lines[i], n), n);
		ck_assert_int_eq(tl_store_field(f->e.hub_query, stores[i], "refused"), 0);
	}
}

/* ---- inventory ---- */

#define MOVE(t, no, kind, sku, q, extra) "{\"type\":\"inventory\",\"time_ms\":" t \
	",\"move_no\":\"" no "\",\"kind\":\"" kind "\",\"sku\":\"" sku "\",\"quantity\":" q extra "}"

static const char *const moves[] = {
	/* 0 */ MOVE("1793491200000", "M-1", "receipt", "LAMP-1", "10", ""),    /* 11-01 08:00 */
	/* 1 */ MOVE("1793494800000", "M-3", "stocktake", "LAMP-1", "20", ""),  /* 11-01 09:00 */
	/* 2 */ MOVE("1793516400000", "M-2", "sale", "LAMP-1", "3", ""),        /* 11-01 15:00 */
	/* 3 */ MOVE("1793584800000", "M-4", "sale", "LAMP-1", "17", ""),       /* 11-02 10:00 */
	/* 4 */ MOVE("1793674800000", "M-6", "sale", "LAMP-1", "2", ""),        /* 11-03 11:00 */
	/* 5 */ MOVE("1793764800000", "M-5", "adjustment", "LAMP-1", "5",
		",\"reason\":\"found\""),                                           /* 11-04 12:00 */
	/* two counts at one moment: the greater move_no, M-8, is the count */
	/* 6 */ MOVE("1793786400000", "M-8", "stocktake", "LAMP-1", "6", ""),   /* 11-04 18:00 */
	/* 7 */ MOVE("1793786400000", "M-7", "stocktake", "LAMP-1", "4", ""),   /* 11-04 18:00 */
	/* a sale at the very moment of the count is in the count */
	/* 8 */ MOVE("1793786400000", "M-9", "sale", "LAMP-1", "1", ""),        /* 11-04 18:00 */
	/* 9 */ MOVE("1793584800000", "M-10", "stocktake", "VASE-3", "0", ""),  /* 11-02 10:00 */
	/* 10 */ MOVE("1793667600000", "M-12", "receipt", "VASE-3", "2", ""),   /* 11-03 09:00 */
	/* 11 */ MOVE("1793692800000", "M-13", "sale", "VASE-3", "2", ""),      /* 11-03 16:00 */
};

/* S1: keyed in as they come, counts late (the 09:00 count after the 15:00
 * sale); S2: everything backwards; S3: by business time. */
static const size_t move_orders[N_STORES][16] = {
	{ 0, 2, 3, 1, 5, 4, 8, 10, 7, 11, 6, 9 },
	{ 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 },
	{ 0, 1, 2, 3, 9, 10, 4, 11, 5, 6, 7, 8 },
};

/* LAMP-1, day by day: 11-01: the 09:00 count of 20 holds the 08:00 receipt,
 * less the 15:00 sale of 3: 17. 11-02: 17 - 17 = 0 (out). 11-03: 0 - 2 = -2
 * (out). 11-04: the 18:00 count M-8 of 6; the 12:00 adjustment is before it,
 * the 18:00 sale in it: 6. On hand 6; out-of-stock days 11-02 and 11-03: 2;
 * in stock now.
 * VASE-3: counted 0 on 11-02 (out); 11-03: 0 + 2 - 2 = 0 (out), the last
 * day. At 11-06 12:00 local, the days that ended out of stock are 11-02,
 * 11-03, 11-04 and 11-05: 4, since 2026-11-02. */
START_TEST(stock_by_business_time)
{
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f);
	feed(&f, moves, N(moves), move_orders);
	r = tl_query_ok(f.e.hub_query, "inventory", "at", "1793937600000", NULL);  /* 11-06 12:00 */
	ck_assert_uint_eq(r->n_rows, 2 * N_STORES);
	for (int i = 0; i < N_STORES; i++) {
		int row = tl_row_find(r, "store_id", stores[i], "sku", "LAMP-1", NULL);

		ck_assert_int_ge(row, 0);
		ck_assert_msg(tl_cell_int(r, row, "on_hand") == 6, "%s: on hand %lld", stores[i],
			(long long)tl_cell_int(r, row, "on_hand"));
		ck_assert_msg(tl_cell_int(r, row, "out_of_stock_days") == 2, "%s: %lld days", stores[i], (long long)tl_cell_int(r, row, "out_of_stock_days"));
		ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "");
		ck_assert_int_eq(tl_cell_int(r, row, "moves"), 9);
		ck_assert_int_eq(tl_cell_int(r, row, "last_stocktake_ms"), 1793786400000LL);
		ck_assert_int_eq(tl_cell_int(r, row, "last_move_ms"), 1793786400000LL);
		row = tl_row_find(r, "store_id", stores[i], "sku", "VASE-3", NULL);
		ck_assert_int_ge(row, 0);
		ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
		ck_assert_msg(tl_cell_int(r, row, "out_of_stock_days") == 4, "%s: %lld days",
			stores[i], (long long)tl_cell_int(r, row, "out_of_stock_days"));
		ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-02");
	}
	tl_query_free(r);

	/* As at 11-02 12:00 (1793592000000) the moves dated later do not count:
	 * LAMP-1 has 17 - 17 = 0 since 10:00 (out since 11-02, no day ended out
	 * yet), 4 moves; VASE-3 its count of 0, 1 move. As at 11-01 12:00
	 * (1793505600000): LAMP-1 holds its 09:00 count of 20 (the 08:00 receipt
	 * in it, the 15:00 sale to come), 2 moves; VASE-3 had nothing yet. */
	r = tl_query_ok(f.e.hub_query, "inventory", "at", "1793592000000", NULL);
	ck_assert_uint_eq(r->n_rows, 2 * N_STORES);
	for (int i = 0; i < N_STORES; i++) {
		int row = tl_row_find(r, "store_id", stores[i], "sku", "LAMP-1", NULL);

		ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
		ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), 0);
		ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-02");
		ck_assert_int_eq(tl_cell_int(r, row, "moves"), 4);
		ck_assert_int_eq(tl_cell_int(r, row, "last_stocktake_ms"), 1793494800000LL);
		ck_assert_int_eq(tl_cell_int(r, row, "last_move_ms"), 1793584800000LL);
		row = tl_row_find(r, "store_id", stores[i], "sku", "VASE-3", NULL);
		ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
		ck_assert_int_eq(tl_cell_int(r, row, "moves"), 1);
	}
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "inventory", "at", "1793505600000", NULL);
	ck_assert_uint_eq(r->n_rows, N_STORES);
	for (int i = 0; i < N_STORES; i++) {
		int row = tl_row_find(r, "store_id", stores[i], "sku", "LAMP-1", NULL);

		ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 20);
		ck_assert_int_eq(tl_cell_int(r, row, "moves"), 2);
	}
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

/* "Today" for a SKU is the day in the offset of its latest move by business
 * time; of two moves at one millisecond, the greater utc_offset_min
 * (docs/records.md, Stock). One store's moves carry two offsets (its agent
 * moved from UTC+8 to UTC-5), each store gets them in another order, so
 * neither the first nor the last to arrive decides.
 *   MUG-2: counted 0 at 2026-11-20T02:00Z stamped +08:00 (11-20 10:00
 *     local), sold 1 at 20:00Z stamped -05:00 (11-20 15:00 local): -1 at
 *     the end of 11-20, out since 11-20. Today in -05:00 (the sale is the
 *     latest): 11-20 ends at 11-21T05:00Z, not at 11-20T16:00Z.
 *   MUG-3: sold 1 at 20:00Z stamped -05:00 (day 11-20) and adjusted -1 at
 *     the same ms stamped +08:00 (11-21 04:00 local, day 11-21): -1 at the
 *     end of 11-20, -2 on 11-21; out since 11-20, one day ended (11-20)
 *     before 11-21. Today in +08:00, the greater offset: 11-21 ends at
 *     11-21T16:00Z (in -05:00 it would end at 11-22T05:00Z). */
#define MUG2_COUNT MOVE("1795140000000", "M-20", "stocktake", "MUG-2", "0", "")
#define MUG2_SALE MOVE("1795204800000", "M-21", "sale", "MUG-2", "1", "")
#define MUG3_SALE MOVE("1795204800000", "M-30", "sale", "MUG-3", "1", "")
#define MUG3_ADJ MOVE("1795204800000", "M-31", "adjustment", "MUG-3", "-1", \
	",\"reason\":\"broken\"")

START_TEST(today_in_the_offset_of_the_latest_move)
{
	static const char *const plus8[] = { MUG2_COUNT, MUG3_ADJ };
	static const char *const minus5[] = { MUG2_SALE, MUG3_SALE };
	static const char *const minus5_a[] = { MUG2_SALE }, *const minus5_b[] = { MUG3_SALE };
	static const struct {
		const char *at;
		int64_t mug2, mug3;
	} want[] = {
		{ "1795237199999", 0, 1 },   /* 11-21T04:59:59.999Z: 11-20 23:59 at -05:00 */
		{ "1795237200000", 1, 1 },   /* 11-21T05:00Z: 11-21 00:00 at -05:00 */
		{ "1795276799999", 1, 1 },   /* 11-21T15:59:59.999Z: 11-21 23:59 at +08:00 */
		{ "1795276800000", 1, 2 },   /* 11-21T16:00Z: 11-22 00:00 at +08:00 */
	};
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f);
	/* S1: the -05:00 sale of MUG-2 first, then the +08:00 moves, then
	 * MUG-3's -05:00 sale; S2: the +08:00 moves first; S3: -05:00 first. */
	ck_assert_uint_eq(tl_link_send_json(&f.l[0], "S1", 0x100, 1, -300, minus5_a, 1), 1);
	ck_assert_uint_eq(tl_link_send_json(&f.l[0], "S1", 0x100, 2, 480, plus8, 2), 3);
	ck_assert_uint_eq(tl_link_send_json(&f.l[0], "S1", 0x100, 4, -300, minus5_b, 1), 4);
	ck_assert_uint_eq(tl_link_send_json(&f.l[1], "S2", 0x101, 1, 480, plus8, 2), 2);
	ck_assert_uint_eq(tl_link_send_json(&f.l[1], "S2", 0x101, 3, -300, minus5, 2), 4);
	ck_assert_uint_eq(tl_link_send_json(&f.l[2], "S3", 0x102, 1, -300, minus5, 2), 2);
	ck_assert_uint_eq(tl_link_send_json(&f.l[2], "S3", 0x102, 3, 480, plus8, 2), 4);
	for (size_t w = 0; w < N(want); w++) {
		r = tl_query_ok(f.e.hub_query, "inventory", "at", want[w].at, NULL);
		ck_assert_uint_eq(r->n_rows, 2 * N_STORES);
		for (int i = 0; i < N_STORES; i++) {
			int row = tl_row_find(r, "store_id", stores[i], "sku", "MUG-2", NULL);

			ck_assert_int_ge(row, 0);
			ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), -1);
			ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-20");
			ck_assert_msg(tl_cell_int(r, row, "out_of_stock_days") == want[w].mug2,
				"%s MUG-2 at %s: %lld days", stores[i], want[w].at,
				(long long)tl_cell_int(r, row, "out_of_stock_days"));
			row = tl_row_find(r, "store_id", stores[i], "sku", "MUG-3", NULL);
			ck_assert_int_ge(row, 0);
			ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), -2);
			ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-20");
			ck_assert_msg(tl_cell_int(r, row, "out_of_stock_days") == want[w].mug3,
				"%s MUG-3 at %s: %lld days", stores[i], want[w].at,
				(long long)tl_cell_int(r, row, "out_of_stock_days"));
		}
		tl_query_free(r);
	}
	/* As at 11-20T16:00Z, before the -05:00 sale: only the +08:00 count is
	 * dated, so today is in +08:00, and 11-20 (at 0) has just ended there:
	 * one day out of stock, none a millisecond before. MUG-3 has no move
	 * dated yet. */
	for (int ms = 0; ms < 2; ms++) {
		r = tl_query_ok(f.e.hub_query, "inventory", "at", ms ? "1795190400000" : "1795190399999",
			NULL);
		ck_assert_uint_eq(r->n_rows, N_STORES);
		for (int i = 0; i < N_STORES; i++) {
			int row = tl_row_find(r, "store_id", stores[i], "sku", "MUG-2", NULL);

			ck_assert_int_ge(row, 0);
			ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 0);
			ck_assert_str_eq(tl_cell_str(r, row, "out_of_stock_since"), "2026-11-20");
			ck_assert_int_eq(tl_cell_int(r, row, "out_of_stock_days"), ms);
		}
		tl_query_free(r);
	}
	for (int i = 0; i < N_STORES; i++)
		ck_assert_int_eq(tl_store_field(f.e.hub_query, stores[i], "refused"), 0);
	fx_stop(&f);
}
END_TEST

/* ---- complaint cases ---- */

#define CASE(t, serial, sev) "{\"type\":\"complaint\",\"time_ms\":" t ",\"case_no\":" \
	"\"%s-202611-" serial "\",\"channel\":\"phone\",\"category\":\"delivery\"," \
	"\"severity\":\"" sev "\"}"
#define STEP(t, serial, step, extra) "{\"type\":\"complaint_progress\",\"time_ms\":" t \
	",\"case_no\":\"%s-202611-" serial "\",\"step\":\"" step "\"" extra "}"

/* R = 2026-11-10 10:00 local = 1794276000000; R + 1 h = 1794279600000, + 2 h
 * = 1794283200000, + 20 h = 1794348000000, + 25 h = 1794366000000, + 26 h =
 * 1794369600000, + 30 h = 1794384000000, + 50 h = 1794456000000. */
static const char *const case_records[] = {
	/* 0 */ CASE("1794276000000", "1", "high"),
	/* the report came first, the "responded" slip was typed later */
	/* 1 */ STEP("1794348000000", "1", "investigated", ""),
	/* 2 */ STEP("1794384000000", "1", "responded", ""),
	/* 3 */ STEP("1794456000000", "1", "resolved",
		",\"resolution\":\"discount\",\"amount_fen\":3000"),
	/* 4 */ CASE("1794279600000", "2", "low"),
	/* 5 */ STEP("1794283200000", "2", "responded", ""),
	/* 6 */ CASE("1794276000000", "3", "medium"),
	/* 7 */ CASE("1794276000000", "4", "high"),
	/* 8 */ STEP("1794366000000", "4", "responded", ""),
	/* 9 */ STEP("1794369600000", "4", "investigated", ""),
};

/* S1: case 2's step before its complaint, case 1's "responded" before its
 * report; S2: backwards (progress before every complaint); S3: in order. */
static const size_t case_orders[N_STORES][16] = {
	{ 5, 0, 2, 1, 3, 4, 6, 7, 9, 8 },
	{ 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 },
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 },
};

static int case_row(const Storesync__QueryReply *r, const char *store, int serial)
{
	char no[32];
	int row;

	snprintf(no, sizeof no, "%s-202611-%d", store, serial);
	row = tl_row_find(r, "case_no", no, NULL);
	ck_assert_msg(row >= 0, "no case %s", no);
	return row;
}

/* At T = R + 100 h = 1794636000000, by the rules:
 * case 1: first response = the earliest dated step, the report at R + 20 h
 *   (before R + 24 h: on time); report on time; resolved at R + 50 h, 3,000
 *   compensation; state resolved.
 * case 2: registered R + 1 h, answered R + 2 h; report due R + 73 h, never
 *   made: overdue (27 h at T), so late.
 * case 3: nothing: both deadlines missed (76 h and 28 h at T), one stale row.
 * case 4: answered at R + 25 h, an hour late; reported R + 26 h, on time;
 *   state investigating; late, not overdue. */
START_TEST(cases_by_business_time)
{
	static const char *const t = "1794636000000";
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f);
	feed_per_store(&f, case_records, N(case_records), case_orders);
	r = tl_query_ok(f.e.hub_query, "complaints", "at", t, NULL);
	ck_assert_uint_eq(r->n_rows, 4 * N_STORES);
	for (int i = 0; i < N_STORES; i++) {
		int row = case_row(r, stores[i], 1);

		ck_assert_msg(tl_cell_int(r, row, "responded_ms") == 1794348000000LL, "%s: %lld",
			stores[i], (long long)tl_cell_int(r, row, "responded_ms"));
		ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 0);
		ck_assert_int_eq(tl_cell_int(r, row, "investigated_ms"), 1794348000000LL);
		ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
		ck_assert_int_eq(tl_cell_int(r, row, "resolved_ms"), 1794456000000LL);
		ck_assert_int_eq(tl_cell_int(r, row, "compensation_fen"), 3000);
		ck_assert_str_eq(tl_cell_str(r, row, "state"), "resolved");
		ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1794362400000LL);
		row = case_row(r, stores[i], 2);
		ck_assert_str_eq(tl_cell_str(r, row, "state"), "responded");
		ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 1794279600000LL);
		ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), 1794283200000LL);
		ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "report");
		row = case_row(r, stores[i], 3);
		ck_assert_str_eq(tl_cell_str(r, row, "state"), "open");
		ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "response,report");
		row = case_row(r, stores[i], 4);
		ck_assert_str_eq(tl_cell_str(r, row, "state"), "investigating");
		ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 1);
		ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
		ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
	}
	tl_query_free(r);

	/* --late: cases 2, 3 and 4 of each store (4 was answered, late). */
	r = tl_query_ok(f.e.hub_query, "complaints", "late", "", "at", t, NULL);
	ck_assert_uint_eq(r->n_rows, 3 * N_STORES);
	for (int i = 0; i < N_STORES; i++) {
		case_row(r, stores[i], 2);
		case_row(r, stores[i], 3);
		case_row(r, stores[i], 4);
	}
	tl_query_free(r);

	/* stale: one row per overdue case, both misses in one reason. */
	r = tl_query_ok(f.e.hub_query, "stale", "store", "S2", "at", t, NULL);
	ck_assert_uint_eq(r->n_rows, 2);
	ck_assert_str_eq(tl_cell_str(r, tl_row_find(r, "id", "S2-202611-3", NULL), "reason"),
		"first response overdue by 76 hours, investigation report overdue by 28 hours "
		"(state open)");
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "id", "S2-202611-3", NULL), "since_ms"),
		1794362400000LL);
	ck_assert_str_eq(tl_cell_str(r, tl_row_find(r, "id", "S2-202611-2", NULL), "reason"),
		"investigation report overdue by 27 hours (state responded)");
	tl_query_free(r);

	/* As at R + 22 h (1794355200000) the records dated later do not count:
	 * case 1 has its report only (state investigating, first response the
	 * report's time); case 4 is open, due at R + 24 h, not overdue yet. */
	r = tl_query_ok(f.e.hub_query, "complaints", "store", "S1", "at", "1794355200000", NULL);
	ck_assert_str_eq(tl_cell_str(r, case_row(r, "S1", 1), "state"), "investigating");
	ck_assert_int_eq(tl_cell_int(r, case_row(r, "S1", 1), "resolved_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, case_row(r, "S1", 1), "compensation_fen"), 0);
	ck_assert_str_eq(tl_cell_str(r, case_row(r, "S1", 4), "state"), "open");
	ck_assert_str_eq(tl_cell_str(r, case_row(r, "S1", 4), "overdue"), "");
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

/* Progress before its complaint (docs/records.md, Complaint cases): the
 * case is kept, state unregistered, with no deadlines and never overdue,
 * until the complaint comes; then it counts as if they had come in order.
 * Case S1-202611-7: "responded" at R + 2 h arrives first (seq 1), the high
 * complaint dated R comes later (seq 3). A record dated 2026-12-01
 * (1796083200000) comes between, so a moment before it is judged by the
 * full scan, and 2027-01-01 (1798761600000) by the deadline index.
 * Far past every deadline the case would have: T = R + 100 h
 * (1794636000000); R + 72 h, the latest, is 1794535200000. */
START_TEST(progress_before_its_complaint_is_unregistered)
{
	static const char *const step[] = { STEP("1794283200000", "7", "responded", "") };
	static const char *const later[] = { MOVE("1796083200000", "M-40", "receipt", "PEN-1",
		"1", "") };
	static const char *const complaint[] = { CASE("1794276000000", "7", "high") };
	static const char *const far[] = { "1794636000000", "1798761600000" };
	static const char *const early_step[] = { STEP("1794272400000", "8", "responded", "") };
	static const char *const complaint8[] = { CASE("1794276000000", "8", "high") };
	char line[512];
	const char *one[1] = { line };
	struct fx f;
	Storesync__QueryReply *r;
	int row;

	fx_start(&f);
	snprintf(line, sizeof line, step[0], "S1");
	ck_assert_uint_eq(tl_link_send_json(&f.l[0], "S1", 0x100, 1, 480, one, 1), 1);
	ck_assert_uint_eq(tl_link_send_json(&f.l[0], "S1", 0x100, 2, 480, later, 1), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "refused"), 0);

	r = tl_query_ok(f.e.hub_query, "complaints", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = case_row(r, "S1", 7);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "unregistered");
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "report_by_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), 1794283200000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "reported_late"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "complaints", "state", "unregistered", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	tl_query_free(r);
	for (size_t i = 0; i < N(far); i++) {
		r = tl_query_ok(f.e.hub_query, "complaints", "at", far[i], NULL);
		ck_assert_uint_eq(r->n_rows, 1);
		row = case_row(r, "S1", 7);
		ck_assert_str_eq(tl_cell_str(r, row, "state"), "unregistered");
		ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "");
		tl_query_free(r);
		r = tl_query_ok(f.e.hub_query, "complaints", "overdue", "", "at", far[i], NULL);
		ck_assert_msg(r->n_rows == 0, "overdue at %s: %zu rows", far[i], r->n_rows);
		tl_query_free(r);
		r = tl_query_ok(f.e.hub_query, "complaints", "late", "", "at", far[i], NULL);
		ck_assert_msg(r->n_rows == 0, "late at %s: %zu rows", far[i], r->n_rows);
		tl_query_free(r);
		r = tl_query_ok(f.e.hub_query, "stale", "at", far[i], NULL);
		ck_assert_msg(tl_row_count(r, "kind", "complaint", NULL) == 0, "stale at %s", far[i]);
		tl_query_free(r);
	}

	/* The complaint: deadlines from R, R + 24 h (1794362400000) and R + 72 h;
	 * the step at R + 2 h answered it in time; no report, so at T the
	 * report is overdue by 28 h, and at 2027-01-01 by (1798761600000 -
	 * 1794535200000) / 3600000 = 1174 h. */
	snprintf(line, sizeof line, complaint[0], "S1");
	ck_assert_uint_eq(tl_link_send_json(&f.l[0], "S1", 0x100, 3, 480, one, 1), 3);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "refused"), 0);
	r = tl_query_ok(f.e.hub_query, "complaints", "at", far[0], NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = case_row(r, "S1", 7);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "responded");
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "high");
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 1794276000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1794362400000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "report_by_ms"), 1794535200000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), 1794283200000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_late"), 0);
	ck_assert_str_eq(tl_cell_str(r, row, "overdue"), "report");
	tl_query_free(r);
	for (size_t i = 0; i < N(far); i++) {
		r = tl_query_ok(f.e.hub_query, "complaints", "overdue", "", "at", far[i], NULL);
		ck_assert_uint_eq(r->n_rows, 1);
		ck_assert_str_eq(tl_cell_str(r, case_row(r, "S1", 7), "overdue"), "report");
		tl_query_free(r);
		r = tl_query_ok(f.e.hub_query, "complaints", "late", "", "at", far[i], NULL);
		ck_assert_uint_eq(r->n_rows, 1);
		tl_query_free(r);
	}
	r = tl_query_ok(f.e.hub_query, "stale", "at", far[0], NULL);
	ck_assert_uint_eq(tl_row_count(r, "kind", "complaint", NULL), 1);
	row = tl_row_find(r, "kind", "complaint", "id", "S1-202611-7", NULL);
	ck_assert_int_ge(row, 0);
	ck_assert_int_eq(tl_cell_int(r, row, "since_ms"), 1794535200000LL);
	ck_assert_str_eq(tl_cell_str(r, row, "reason"),
		"investigation report overdue by 28 hours (state responded)");
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "stale", "at", far[1], NULL);
	row = tl_row_find(r, "kind", "complaint", "id", "S1-202611-7", NULL);
	ck_assert_int_ge(row, 0);
	ck_assert_str_eq(tl_cell_str(r, row, "reason"),
		"investigation report overdue by 1174 hours (state responded)");
	tl_query_free(r);

	/* S2's case 8: "responded" dated R - 1 h, its complaint R. As at
	 * R - 30 min only the step is dated: unregistered, and nothing of the
	 * complaint shows (no severity, no deadlines); as at R, both. */
	snprintf(line, sizeof line, early_step[0], "S2");
	ck_assert_uint_eq(tl_link_send_json(&f.l[1], "S2", 0x101, 1, 480, one, 1), 1);
	snprintf(line, sizeof line, complaint8[0], "S2");
	ck_assert_uint_eq(tl_link_send_json(&f.l[1], "S2", 0x101, 2, 480, one, 1), 2);
	r = tl_query_ok(f.e.hub_query, "complaints", "store", "S2", "at", "1794274200000", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	row = case_row(r, "S2", 8);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "unregistered");
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "");
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "report_by_ms"), 0);
	ck_assert_int_eq(tl_cell_int(r, row, "responded_ms"), 1794272400000LL);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "complaints", "store", "S2", "at", "1794276000000", NULL);
	row = case_row(r, "S2", 8);
	ck_assert_str_eq(tl_cell_str(r, row, "state"), "responded");
	ck_assert_str_eq(tl_cell_str(r, row, "severity"), "high");
	ck_assert_int_eq(tl_cell_int(r, row, "registered_ms"), 1794276000000LL);
	ck_assert_int_eq(tl_cell_int(r, row, "respond_by_ms"), 1794362400000LL);
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

/* ---- accounts ---- */

#define ON_ACCOUNT(t, receipt, fen, customer) "{\"type\":\"sale\",\"time_ms\":" t \
	",\"receipt_no\":\"" receipt "\",\"lines\":[{\"sku\":\"SOFA-1\",\"quantity\":1," \
	"\"unit_price_fen\":" fen "}],\"total_fen\":" fen ",\"payment_method\":\"on_account\"," \
	"\"account\":\"%s-ACC\",\"customer\":\"" customer "\"}"

/* 2026-11-10 local: 09:00 = 1794272400000, 12:00 = 1794283200000, 18:00 =
 * 1794304800000, 20:00 = 1794312000000 (all on one UTC day too). */
static const char *const account_records[] = {
	/* 0 */ ON_ACCOUNT("1794272400000", "R-1", "50000", "CUST-A"),
	/* 1 */ "{\"type\":\"payment\",\"time_ms\":1794283200000,\"payment_no\":\"P-1\","
		"\"account\":\"%s-ACC\",\"amount_fen\":60000,\"method\":\"cash\"}",
	/* 2 */ ON_ACCOUNT("1794304800000", "R-2", "30000", "CUST-A"),
	/* the same moment as R-1: the owning charge is the smaller receipt */
	/* 3 */ ON_ACCOUNT("1794272400000", "R-0", "10000", "CUST-B"),
	/* 4 */ "{\"type\":\"refund\",\"time_ms\":1794312000000,\"refund_no\":\"F-1\","
		"\"original_receipt\":\"R-2\",\"amount_fen\":5000,\"reason\":\"scratch\","
		"\"account\":\"%s-ACC\"}",
};

static const size_t account_orders[N_STORES][16] = {
	{ 0, 1, 2, 3, 4 }, { 4, 3, 2, 1, 0 }, { 2, 4, 1, 3, 0 },
};

static int account_row(const Storesync__QueryReply *r, const char *store)
{
	char id[32];
	int row;

	snprintf(id, sizeof id, "%s-ACC", store);
	row = tl_row_find(r, "account", id, NULL);
	ck_assert_msg(row >= 0, "no account %s", id);
	return row;
}

/* Charges 10,000 + 50,000 at 09:00 and 30,000 at 18:00; credits 60,000 paid
 * at 12:00 and 5,000 credited at 20:00: balance 90,000 - 65,000 = 25,000.
 * Credits pay the oldest charges first: the 09:00 ones are paid, the 18:00
 * one is not, so the account ages from 18:00 (later than the last payment),
 * not from the morning. On 2026-12-11 at 14:00 it is 30 days 20 h old: 30,
 * not stale (policy 30); at 19:00, 31 days: stale. Owner: S's, by R-0
 * (same moment as R-1, the smaller receipt), customer CUST-B. */
START_TEST(accounts_by_business_time)
{
	struct fx f;
	Storesync__QueryReply *r;

	fx_start(&f);
	feed_per_store(&f, account_records, N(account_records), account_orders);
	r = tl_query_ok(f.e.hub_query, "accounts", "at", "1796968800000", NULL);
	ck_assert_uint_eq(r->n_rows, N_STORES);
	for (int i = 0; i < N_STORES; i++) {
		int row = account_row(r, stores[i]);

		ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 25000);
		ck_assert_int_eq(tl_cell_int(r, row, "charged_fen"), 90000);
		ck_assert_int_eq(tl_cell_int(r, row, "received_fen"), 60000);
		ck_assert_int_eq(tl_cell_int(r, row, "refunded_fen"), 5000);
		ck_assert_int_eq(tl_cell_int(r, row, "last_payment_ms"), 1794283200000LL);
		ck_assert_msg(tl_cell_int(r, row, "since_ms") == 1794304800000LL, "%s: since %lld",
			stores[i], (long long)tl_cell_int(r, row, "since_ms"));
		ck_assert_int_eq(tl_cell_int(r, row, "age_days"), 30);
		ck_assert_int_eq(tl_cell_int(r, row, "stale"), 0);
		ck_assert_str_eq(tl_cell_str(r, row, "owner_store"), stores[i]);
		ck_assert_str_eq(tl_cell_str(r, row, "customer"), "CUST-B");
	}
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "accounts", "stale", "", "at", "1796986800000", NULL);
	ck_assert_uint_eq(r->n_rows, N_STORES);
	tl_query_free(r);

	/* As at 15:00 that day: the 18:00 charge and the 20:00 credit do not
	 * count yet. 60,000 charged, 60,000 paid: nothing owed, no age. */
	r = tl_query_ok(f.e.hub_query, "accounts", "at", "1794294000000", NULL);
	for (int i = 0; i < N_STORES; i++) {
		int row = account_row(r, stores[i]);

		ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 0);
		ck_assert_int_eq(tl_cell_int(r, row, "charged_fen"), 60000);
		ck_assert_int_eq(tl_cell_int(r, row, "refunded_fen"), 0);
		ck_assert_int_eq(tl_cell_int(r, row, "age_days"), 0);
		ck_assert_str_eq(tl_cell_str(r, row, "aging"), "");
	}
	tl_query_free(r);
	/* As at 10:00: owed 60,000 since 09:00, 0 days old (never negative), and
	 * in the 0-30 bucket; the later payment does not lower it. */
	r = tl_query_ok(f.e.hub_query, "accounts", "aging", "", "at", "1794276000000", NULL);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "aging", "0-30", NULL), "accounts"), N_STORES);
	ck_assert_int_eq(tl_cell_int(r, tl_row_find(r, "aging", "0-30", NULL), "balance_fen"),
		N_STORES * 60000);
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { stock_by_business_time, today_in_the_offset_of_the_latest_move,
		cases_by_business_time, progress_before_its_complaint_is_unregistered,
		accounts_by_business_time };

	return tl_run("business_time", tests, sizeof tests / sizeof tests[0], 30);
}
