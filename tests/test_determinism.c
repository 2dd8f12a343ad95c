/* test_determinism: guarantees 4 and 9. The same set of records, delivered
 * to separate hubs in different interleavings of stores, with duplicates,
 * gaps and a hub restart in between, gives byte-identical views: the hubs'
 * `dump` tables (every view as view, key, value) are equal row for row. So
 * does one store's set of records in different seq orders (the event log,
 * keyed by seq, then holds the same records under other seqs).
 *
 * The records go through a test peer that speaks the link protocol itself
 * (DEALER to the hub's link endpoint: Hello, Batch, wait for the Ack), so
 * the interleaving is exactly the one the test chooses. Everything a record
 * carries is fixed: epochs, time_ms, recorded_ms, utc_offset_min. Three
 * stores; an account paid at several stores (and claimed by two contracts
 * signed at the same moment), complaints, a refused record, inventory. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define N_STORES 3
#define HOUR_MS 3600000LL

/* Records of each store, in seq order. T = 2026-11-10T02:00:00Z =
 * 1794276000000; hours after it are written out. */
static const char *const recs_da[] = {
	/* T: contract CT-9, 900,000, deposit 100,000 */
	"{\"type\":\"contract_sale\",\"time_ms\":1794276000000,\"contract_no\":\"CT-9\","
	"\"customer\":\"CUST-9\",\"total_fen\":900000,\"deposit_fen\":100000,"
	"\"deposit_method\":\"cash\",\"signer\":\"S-LI\"}",
	"{\"type\":\"sale\",\"time_ms\":1794279600000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"LAMP-1\",\"quantity\":1,\"unit_price_fen\":30000}],\"total_fen\":30000,"
	"\"payment_method\":\"card\"}",
	"{\"type\":\"refund\",\"time_ms\":1794283200000,\"refund_no\":\"RF-1\","
	"\"original_receipt\":\"R-1\",\"amount_fen\":5000,\"reason\":\"scratched\","
	"\"method\":\"card\"}",
	"{\"type\":\"complaint\",\"time_ms\":1794286800000,\"case_no\":\"DA-202611-1\","
	"\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"high\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794290400000,\"case_no\":\"DA-202611-1\","
	"\"step\":\"responded\"}",
	"{\"type\":\"inventory\",\"time_ms\":1794294000000,\"move_no\":\"M-6\","
	"\"kind\":\"stocktake\",\"sku\":\"LAMP-1\","
	"\"quantity\":10}",
	"{\"type\":\"inventory\",\"time_ms\":1794297600000,\"move_no\":\"M-7\","
	"\"kind\":\"sale\",\"sku\":\"LAMP-1\","
	"\"quantity\":4}",
	/* T + 7 h: payment 50,000 */
	"{\"type\":\"payment\",\"time_ms\":1794301200000,\"payment_no\":\"P-1\","
	"\"account\":\"CT-9\",\"amount_fen\":50000,"
	"\"method\":\"cash\"}",
	/* T + 8 h: 20,000 charged to the account */
	"{\"type\":\"sale\",\"time_ms\":1794304800000,\"receipt_no\":\"R-2\",\"lines\":[{\"sku\":"
	"\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":20000}],\"total_fen\":20000,"
	"\"payment_method\":\"on_account\",\"account\":\"CT-9\"}",
	/* the same case registered again: refused at the hub */
	"{\"type\":\"complaint\",\"time_ms\":1794308400000,\"case_no\":\"DA-202611-1\","
	"\"channel\":\"counter\",\"category\":\"price\",\"severity\":\"low\"}",
};

static const char *const recs_db[] = {
	/* T: contract CT-9B on account CT-9, 300,000, no deposit: signed at the
	 * same moment as DA's, so DA (the smaller store id) owns the account. */
	"{\"type\":\"contract_sale\",\"time_ms\":1794276000000,\"contract_no\":\"CT-9B\","
	"\"customer\":\"CUST-9B\",\"total_fen\":300000,\"deposit_fen\":0,\"account\":\"CT-9\"}",
	/* T + 1 h: payment 200,000 */
	"{\"type\":\"payment\",\"time_ms\":1794279600000,\"payment_no\":\"P-2\","
	"\"account\":\"CT-9\",\"amount_fen\":200000,"
	"\"method\":\"mobile\"}",
	"{\"type\":\"sale\",\"time_ms\":1794283200000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"TEA-1\",\"quantity\":3,\"unit_price_fen\":4000}],\"total_fen\":12000,"
	"\"payment_method\":\"cash\"}",
	"{\"type\":\"complaint\",\"time_ms\":1794286800000,\"case_no\":\"DB-202611-1\","
	"\"channel\":\"counter\",\"category\":\"product_quality\",\"severity\":\"emergency\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794294000000,\"case_no\":\"DB-202611-1\","
	"\"step\":\"resolved\",\"resolution\":\"explanation\",\"amount_fen\":1000}",
	"{\"type\":\"inventory\",\"time_ms\":1794297600000,\"move_no\":\"M-8\","
	"\"kind\":\"stocktake\",\"sku\":\"VASE-3\","
	"\"quantity\":0}",
	"{\"type\":\"inventory\",\"time_ms\":1794384000000,\"move_no\":\"M-9\","
	"\"kind\":\"receipt\",\"sku\":\"VASE-3\","
	"\"quantity\":3}",
	/* T + 31 h = 1794387600000: payment 25,000, the latest on CT-9 */
	"{\"type\":\"payment\",\"time_ms\":1794387600000,\"payment_no\":\"P-3\","
	"\"account\":\"CT-9\",\"amount_fen\":25000,"
	"\"method\":\"card\"}",
};

static const char *const recs_dc[] = {
	/* T: payment 75,000 (may reach the hub before the account is opened) */
	"{\"type\":\"payment\",\"time_ms\":1794276000000,\"payment_no\":\"P-4\","
	"\"account\":\"CT-9\",\"amount_fen\":75000,"
	"\"method\":\"cash\"}",
	"{\"type\":\"sale\",\"time_ms\":1794279600000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"CUP-2\",\"quantity\":1,\"unit_price_fen\":9900}],\"total_fen\":9900,"
	"\"payment_method\":\"mobile\"}",
	"{\"type\":\"complaint\",\"time_ms\":1794283200000,\"case_no\":\"DC-202611-1\","
	"\"channel\":\"online\",\"category\":\"price\",\"severity\":\"low\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794286800000,\"case_no\":\"DC-202611-1\","
	"\"step\":\"investigated\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794290400000,\"case_no\":\"DC-202611-1\","
	"\"step\":\"closed\"}",
	/* progress for a case not registered: kept in the case, which waits
	 * for its complaint (state unregistered) */
	"{\"type\":\"complaint_progress\",\"time_ms\":1794294000000,\"case_no\":\"DC-202611-7\","
	"\"step\":\"responded\"}",
	"{\"type\":\"payment\",\"time_ms\":1794297600000,\"payment_no\":\"P-5\","
	"\"account\":\"ACC-X\",\"amount_fen\":10000,"
	"\"method\":\"cash\"}",
};

static const struct {
	const char *id;
	uint64_t epoch;
	int32_t utc_offset_min;
	const char *const *lines;
	size_t n;
} stores[N_STORES] = {
	{ "DA", 0x1111222233334444ull, 480, recs_da, sizeof recs_da / sizeof recs_da[0] },
	{ "DB", 0x5555666677778888ull, 0, recs_db, sizeof recs_db / sizeof recs_db[0] },
	{ "DC", 0x99990000aaaabbbbull, -300, recs_dc, sizeof recs_dc / sizeof recs_dc[0] },
};

/* One hub being fed. */
struct feed {
	struct tl_env e;
	pid_t hub;
	struct tl_link link[N_STORES];
	Storesync__Record **recs[N_STORES];
	size_t n[N_STORES];        /* records this hub is given (may be one fewer) */
	uint64_t hw[N_STORES];     /* acknowledged through */
	int duplicates, gaps, restarts;
};

static void feed_connect(struct feed *f)
{
	for (int i = 0; i < N_STORES; i++) {
		tl_link_open(&f->link[i], f->e.hub_listen);
		/* What was acknowledged survives a restart. */
		ck_assert_uint_eq(tl_link_hello(&f->link[i], stores[i].id, stores[i].epoch), f->hw[i]);
	}
}

static void feed_start(struct feed *f, int one_fewer)
{
	memset(f, 0, sizeof *f);
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, NULL);
	for (int i = 0; i < N_STORES; i++) {
		f->n[i] = stores[i].n;
		f->recs[i] = calloc(stores[i].n, sizeof *f->recs[i]);
		ck_assert_ptr_nonnull(f->recs[i]);
		for (size_t j = 0; j < stores[i].n; j++) {
			Storesync__Record *r = tl_json_record(stores[i].lines[j]);

			/* What the agent would stamp, fixed here. */
			r->recorded_ms = r->time_ms + 1500;
			r->has_recorded_ms = 1;
			r->utc_offset_min = stores[i].utc_offset_min;
			r->has_utc_offset_min = 1;
			f->recs[i][j] = r;
		}
	}
	if (one_fewer)
		f->n[N_STORES - 1]--;   /* DC's last record (ACC-X) never arrives */
	feed_connect(f);
}

static void feed_close_links(struct feed *f)
{
	for (int i = 0; i < N_STORES; i++)
		tl_link_close(&f->link[i]);
}

/* Sends store i's records first..first+count-1 (clipped to what this hub is
 * given) as one Batch and checks the Ack: a batch that starts past the
 * high-water mark + 1 leaves a gap and applies nothing. */
static void feed_send(struct feed *f, int i, uint64_t first, uint64_t count)
{
	uint64_t last = first + count - 1, want = f->hw[i];

	if (last > f->n[i])
		last = f->n[i];
	if (first < 1 || first > last)
		return;
	if (first <= f->hw[i])
		f->duplicates++;
	if (first > f->hw[i] + 1)
		f->gaps++;
	else if (last > want)
		want = last;
	tl_link_batch_records(&f->link[i], stores[i].id, stores[i].epoch, first,
		f->recs[i] + (first - 1), (size_t)(last - first + 1));
	ck_assert_uint_eq(tl_link_ack(&f->link[i]), want);
	f->hw[i] = want;
}

static void feed_restart(struct feed *f)
{
	feed_close_links(f);
	tl_stop(f->hub);
	f->hub = tl_start_hub(&f->e, NULL);
	feed_connect(f);
	f->restarts++;
}

static int feed_done(const struct feed *f)
{
	for (int i = 0; i < N_STORES; i++)
		if (f->hw[i] < f->n[i])
			return 0;
	return 1;
}

/* The hub's dump, one "view\tkey\tvalue" line per row, in its order. */
struct dump {
	char **rows;
	size_t n;
};

/* The store registry is left out: it is what operators entered (each run
 * registers its stores with keys of its own), not a function of records. */
static void dump_of(const char *query_ep, struct dump *d)
{
	Storesync__QueryReply *r = tl_query_ok(query_ep, "dump", NULL);

	d->n = 0;
	d->rows = calloc(r->n_rows ? r->n_rows : 1, sizeof *d->rows);
	ck_assert_ptr_nonnull(d->rows);
	for (size_t i = 0; i < r->n_rows; i++) {
		const char *view = tl_cell_str(r, (int)i, "view"), *key = tl_cell_str(r, (int)i, "key");
		const char *value = tl_cell_str(r, (int)i, "value");
		size_t len = strlen(view) + strlen(key) + strlen(value) + 3;

		if (strcmp(view, "registry") == 0)
			continue;
		d->rows[d->n] = malloc(len);
		ck_assert_ptr_nonnull(d->rows[d->n]);
		snprintf(d->rows[d->n++], len, "%s\t%s\t%s", view, key, value);
	}
	tl_query_free(r);
}

static void dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->rows[i]);
	free(d->rows);
}

static size_t dump_count(const struct dump *d, const char *view)
{
	size_t n = 0, len = strlen(view);

	for (size_t i = 0; i < d->n; i++)
		n += strncmp(d->rows[i], view, len) == 0 && d->rows[i][len] == '\t';
	return n;
}

static int cmp_rows(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index of the first differing row, or -1 when the dumps are equal. */
static long dump_diff(const struct dump *a, const struct dump *b)
{
	size_t n = a->n < b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++)
		if (strcmp(a->rows[i], b->rows[i]) != 0)
			return (long)i;
	return a->n == b->n ? -1 : (long)n;
}

static void assert_same(const struct dump *a, const struct dump *b, const char *what)
{
	long i = dump_diff(a, b);

	ck_assert_msg(i < 0, "%s: dumps differ at row %ld:\n  %s\n  %s", what, i,
		(size_t)i < a->n ? a->rows[i] : "(none)", (size_t)i < b->n ? b->rows[i] : "(none)");
}

static void feed_stop(struct feed *f)
{
	feed_close_links(f);
	tl_stop(f->hub);
	for (int i = 0; i < N_STORES; i++) {
		for (size_t j = 0; j < stores[i].n; j++)
			storesync__record__free_unpacked(f->recs[i][j], NULL);
		free(f->recs[i]);
	}
	tl_env_cleanup(&f->e);
}

/* Interleaving 1: each store whole, in store order, then DA's whole batch
 * again (all duplicates). */
static void deliver_in_order(struct feed *f)
{
	for (int i = 0; i < N_STORES; i++)
		feed_send(f, i, 1, f->n[i]);
	feed_send(f, 0, 1, f->n[0]);
}

/* Interleaving 2: stores in reverse order, one new record per round, each
 * batch resending the store's records from seq 1 (so every batch but the
 * first duplicates); the hub restarts after round 4. */
static void deliver_round_robin(struct feed *f)
{
	for (uint64_t k = 1; !feed_done(f); k++) {
		for (int i = N_STORES - 1; i >= 0; i--)
			feed_send(f, i, 1, k);
		if (k == 4)
			feed_restart(f);
	}
}

/* Interleaving 3: a seeded random schedule: random store, batches of 1..3
 * starting at the next seq, one before it (duplicate) or one after it (a
 * gap the hub must not apply past), after one certain gap; one restart
 * halfway. */
static void deliver_random(struct feed *f, uint64_t seed)
{
	size_t total = 0, acked;

	for (int i = 0; i < N_STORES; i++)
		total += f->n[i];
	feed_send(f, 1, 3, 2);   /* DB's 3..4 before anything: a gap, applies nothing */
	while (!feed_done(f)) {
		int i = (int)(tl_rand(&seed) % N_STORES);
		uint64_t pick = tl_rand(&seed) % 6, count = 1 + tl_rand(&seed) % 3;
		uint64_t first = f->hw[i] + 1;

		if (pick == 0 && f->hw[i] > 0)
			first = f->hw[i];          /* overlaps what the hub has */
		else if (pick == 1)
			first = f->hw[i] + 2;      /* skips one: a gap */
		feed_send(f, i, first, count);
		acked = 0;
		for (int j = 0; j < N_STORES; j++)
			acked += f->hw[j];
		if (!f->restarts && acked * 2 >= total)
			feed_restart(f);
	}
}

/* The figures of account CT-9 after every record, worked out by hand:
 * charged = 900,000 (CT-9) + 300,000 (CT-9B) + 20,000 (on account) =
 * 1,220,000; received = 100,000 (deposit) + 50,000 (DA) + 200,000 (DB) +
 * 25,000 (DB) + 75,000 (DC) = 450,000; balance 770,000; owner DA (the two
 * contracts tie on time, "DA" < "DB"); last payment T + 31 h. */
static void check_business(struct feed *f)
{
	Storesync__QueryReply *r = tl_query_ok(f->e.hub_query, "accounts", NULL);
	int row = tl_row_find(r, "account", "CT-9", NULL);

	ck_assert_int_ge(row, 0);
	ck_assert_str_eq(tl_cell_str(r, row, "owner_store"), "DA");
	ck_assert_str_eq(tl_cell_str(r, row, "contract_no"), "CT-9");
	ck_assert_str_eq(tl_cell_str(r, row, "customer"), "CUST-9");
	ck_assert_int_eq(tl_cell_int(r, row, "contract_total_fen"), 1200000);
	ck_assert_int_eq(tl_cell_int(r, row, "charged_fen"), 1220000);
	ck_assert_int_eq(tl_cell_int(r, row, "received_fen"), 450000);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), 770000);
	ck_assert_int_eq(tl_cell_int(r, row, "last_payment_ms"), 1794387600000LL);
	row = tl_row_find(r, "account", "ACC-X", NULL);
	ck_assert_int_ge(row, 0);
	ck_assert_int_eq(tl_cell_int(r, row, "balance_fen"), -10000);
	tl_query_free(r);
	/* One refused record at DA (its case registered again with other
	 * content: a business-key conflict); DA applied 9 of 10. DC's progress
	 * for a case it has not registered is kept, waiting for the complaint. */
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "DA", "refused"), 1);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "DA", "records"), 9);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "DB", "refused"), 0);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "DC", "refused"), 0);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "DC", "records"), 7);
}

START_TEST(three_interleavings_identical_dumps)
{
	struct feed f;
	struct dump d[3];

	feed_start(&f, 0);
	deliver_in_order(&f);
	ck_assert_int_gt(f.duplicates, 0);
	check_business(&f);
	dump_of(f.e.hub_query, &d[0]);
	feed_stop(&f);

	feed_start(&f, 0);
	deliver_round_robin(&f);
	ck_assert_int_gt(f.duplicates, 0);
	ck_assert_int_eq(f.restarts, 1);
	check_business(&f);
	dump_of(f.e.hub_query, &d[1]);
	feed_stop(&f);

	feed_start(&f, 0);
	deliver_random(&f, 20261110);
	ck_assert_int_gt(f.duplicates, 0);
	ck_assert_int_gt(f.gaps, 0);
	ck_assert_int_eq(f.restarts, 1);
	check_business(&f);
	dump_of(f.e.hub_query, &d[2]);
	feed_stop(&f);

	/* Non-trivial: every record is in the event log; sales days of the three
	 * stores, both accounts, the three cases and the two SKUs are there. */
	ck_assert_uint_eq(dump_count(&d[0], "events"), 10 + 8 + 7);
	/* Sales days: DA (UTC+8) everything on 11-10 local; DB (UTC) 11-10 and
	 * 11-11 (payment at T + 31 h); DC (UTC-5) 11-09 (T and T + 1 h are 21:00
	 * and 22:00 on the 9th) and 11-10 (ACC-X at T + 6 h = 03:00 local). */
	ck_assert_uint_eq(dump_count(&d[0], "sales"), 1 + 2 + 2);
	ck_assert_uint_eq(dump_count(&d[0], "accounts"), 2);
	ck_assert_uint_eq(dump_count(&d[0], "cases"), 4);   /* DC-202611-7 unregistered */
	ck_assert_uint_eq(dump_count(&d[0], "inventory"), 2);
	ck_assert_uint_eq(dump_count(&d[0], "stores"), 3);

	assert_same(&d[0], &d[1], "in order vs round robin with restart");
	assert_same(&d[0], &d[2], "in order vs random with gaps and restart");
	for (int i = 0; i < 3; i++)
		dump_free(&d[i]);
}
END_TEST

/* The comparison can fail: a hub that misses one record dumps differently. */
START_TEST(one_record_fewer_differs)
{
	struct feed f;
	struct dump all, fewer;

	feed_start(&f, 0);
	deliver_random(&f, 7);
	dump_of(f.e.hub_query, &all);
	feed_stop(&f);

	feed_start(&f, 1);
	deliver_random(&f, 7);
	dump_of(f.e.hub_query, &fewer);
	feed_stop(&f);

	ck_assert_msg(dump_diff(&all, &fewer) >= 0, "a hub missing a record dumps the same");
	/* The missing payment is the whole of account ACC-X. */
	ck_assert_uint_eq(dump_count(&all, "accounts"), 2);
	ck_assert_uint_eq(dump_count(&fewer, "accounts"), 1);
	dump_free(&all);
	dump_free(&fewer);
}
END_TEST

/* ---- guarantee 9: any seq order of one store's records ---- */

/* Store DS at UTC+8, 2026-11-10 (local times in the comments; 10:00 =
 * 1794276000000): records whose effect on the views depends on their
 * business times only, keyed in here in an order the tills could have. */
static const char *const recs_ds[] = {
	/* sales, a refund paid back and one credited, a contract */
	"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"LAMP-1\",\"quantity\":1,\"unit_price_fen\":30000}],\"total_fen\":30000,"
	"\"payment_method\":\"card\"}",
	"{\"type\":\"sale\",\"time_ms\":1794272400000,\"receipt_no\":\"R-2\",\"lines\":[{\"sku\":"
	"\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":50000}],\"total_fen\":50000,"
	"\"payment_method\":\"on_account\",\"account\":\"ACC-D\",\"customer\":\"CUST-A\"}",
	"{\"type\":\"sale\",\"time_ms\":1794272400000,\"receipt_no\":\"R-0\",\"lines\":[{\"sku\":"
	"\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":10000}],\"total_fen\":10000,"
	"\"payment_method\":\"on_account\",\"account\":\"ACC-D\",\"customer\":\"CUST-B\"}",
	"{\"type\":\"payment\",\"time_ms\":1794283200000,\"payment_no\":\"P-1\","
	"\"account\":\"ACC-D\",\"amount_fen\":60000,\"method\":\"cash\"}",
	"{\"type\":\"sale\",\"time_ms\":1794304800000,\"receipt_no\":\"R-3\",\"lines\":[{\"sku\":"
	"\"SOFA-1\",\"quantity\":1,\"unit_price_fen\":30000}],\"total_fen\":30000,"
	"\"payment_method\":\"on_account\",\"account\":\"ACC-D\",\"customer\":\"CUST-A\"}",
	"{\"type\":\"refund\",\"time_ms\":1794312000000,\"refund_no\":\"F-1\","
	"\"original_receipt\":\"R-3\",\"amount_fen\":5000,\"reason\":\"scratch\","
	"\"account\":\"ACC-D\"}",
	"{\"type\":\"refund\",\"time_ms\":1794283200000,\"refund_no\":\"F-2\","
	"\"original_receipt\":\"R-1\",\"amount_fen\":1000,\"reason\":\"dent\","
	"\"method\":\"card\"}",
	"{\"type\":\"contract_sale\",\"time_ms\":1794290400000,\"contract_no\":\"CT-D\","
	"\"customer\":\"CUST-C\",\"total_fen\":200000,\"deposit_fen\":50000,"
	"\"deposit_method\":\"mobile\"}",
	/* stock: a 09:00 count keyed in after the 15:00 sale, a day out of stock */
	"{\"type\":\"inventory\",\"time_ms\":1794294000000,\"move_no\":\"M-2\","
	"\"kind\":\"sale\",\"sku\":\"LAMP-1\",\"quantity\":3}",
	"{\"type\":\"inventory\",\"time_ms\":1794272400000,\"move_no\":\"M-1\","
	"\"kind\":\"stocktake\",\"sku\":\"LAMP-1\",\"quantity\":3}",
	"{\"type\":\"inventory\",\"time_ms\":1794445200000,\"move_no\":\"M-3\","
	"\"kind\":\"receipt\",\"sku\":\"LAMP-1\",\"quantity\":8}",
	"{\"type\":\"inventory\",\"time_ms\":1794369600000,\"move_no\":\"M-4\","
	"\"kind\":\"adjustment\",\"sku\":\"LAMP-1\",\"quantity\":-1,\"reason\":\"broken\"}",
	/* a case answered on time whose "responded" slip came after the report,
	 * and a case whose progress comes before its complaint */
	"{\"type\":\"complaint\",\"time_ms\":1794276000000,\"case_no\":\"DS-202611-1\","
	"\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"high\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794384000000,\"case_no\":\"DS-202611-1\","
	"\"step\":\"responded\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794348000000,\"case_no\":\"DS-202611-1\","
	"\"step\":\"investigated\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794456000000,\"case_no\":\"DS-202611-1\","
	"\"step\":\"resolved\",\"resolution\":\"discount\",\"amount_fen\":2000}",
	"{\"type\":\"complaint\",\"time_ms\":1794279600000,\"case_no\":\"DS-202611-2\","
	"\"channel\":\"online\",\"category\":\"price\",\"severity\":\"low\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1794283200000,\"case_no\":\"DS-202611-2\","
	"\"step\":\"responded\"}",
	"{\"type\":\"replenishment\",\"time_ms\":1794280000000,\"request_no\":\"RQ-1\","
	"\"sku\":\"LAMP-1\",\"quantity\":10,\"reason\":\"event\"}",
	/* a till's retry of R-1: the same record again */
	"{\"type\":\"sale\",\"time_ms\":1794276000000,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":"
	"\"LAMP-1\",\"quantity\":1,\"unit_price_fen\":30000}],\"total_fen\":30000,"
	"\"payment_method\":\"card\"}",
};

#define N_DS (sizeof recs_ds / sizeof recs_ds[0])

/* A payment on DS's account taken at store DT, the same in every run. */
static const char *const recs_dt[] = {
	"{\"type\":\"payment\",\"time_ms\":1794290000000,\"payment_no\":\"P-9\","
	"\"account\":\"ACC-D\",\"amount_fen\":7000,\"method\":\"card\"}",
};

/* DS's records in `order` as one Batch on a fresh hub, DT's before or after
 * them; the hub's dump. */
static void dump_in_order(const size_t *order, int dt_first, struct dump *d)
{
	const char *lines[N_DS];
	struct tl_env e;
	struct tl_link ds, dt;
	pid_t hub;

	for (size_t i = 0; i < N_DS; i++)
		lines[i] = recs_ds[order[i]];
	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	tl_link_open(&ds, e.hub_listen);
	tl_link_open(&dt, e.hub_listen);
	tl_link_hello(&ds, "DS", 0x0d5);
	tl_link_hello(&dt, "DT", 0x0d7);
	if (dt_first)
		ck_assert_uint_eq(tl_link_send_json(&dt, "DT", 0x0d7, 1, 480, recs_dt, 1), 1);
	ck_assert_uint_eq(tl_link_send_json(&ds, "DS", 0x0d5, 1, 480, lines, N_DS), N_DS);
	if (!dt_first)
		ck_assert_uint_eq(tl_link_send_json(&dt, "DT", 0x0d7, 1, 480, recs_dt, 1), 1);
	ck_assert_int_eq(tl_store_field(e.hub_query, "DS", "refused"), 0);
	ck_assert_int_eq(tl_store_field(e.hub_query, "DS", "biz_duplicates"), 1);
	ck_assert_int_eq(tl_store_field(e.hub_query, "DS", "records"), (int64_t)N_DS - 1);
	dump_of(e.hub_query, d);
	tl_link_close(&ds);
	tl_link_close(&dt);
	tl_stop(hub);
	tl_env_cleanup(&e);
}

/* The event log's records with their seqs taken out, sorted: the same
 * multiset whatever the order (the log's keys are seqs by design). */
static void events_without_seqs(struct dump *d, struct dump *events)
{
	events->rows = calloc(d->n ? d->n : 1, sizeof *events->rows);
	events->n = 0;
	ck_assert_ptr_nonnull(events->rows);
	for (size_t i = 0; i < d->n; i++) {
		const char *value = strrchr(d->rows[i], '\t');
		json_t *j;

		if (strncmp(d->rows[i], "events\t", 7) != 0)
			continue;
		j = json_loads(value + 1, 0, NULL);
		ck_assert_ptr_nonnull(j);
		json_object_del(j, "seq");
		events->rows[events->n++] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
	}
	qsort(events->rows, events->n, sizeof *events->rows, cmp_rows);
}

/* The dump without the event log. */
static void views_only(struct dump *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (strncmp(d->rows[i], "events\t", 7) == 0)
			free(d->rows[i]);
		else
			d->rows[n++] = d->rows[i];
	}
	d->n = n;
}

START_TEST(seq_orders_within_a_store_identical_dumps)
{
	size_t order[3][N_DS];
	struct dump d[3], ev[3];
	uint64_t seed = 20261111;

	for (size_t i = 0; i < N_DS; i++) {
		order[0][i] = i;
		order[1][i] = N_DS - 1 - i;
		order[2][i] = i;
	}
	for (size_t i = N_DS - 1; i > 0; i--) {   /* Fisher-Yates, seeded */
		size_t j = (size_t)(tl_rand(&seed) % (i + 1)), x = order[2][i];

		order[2][i] = order[2][j];
		order[2][j] = x;
	}
	for (int k = 0; k < 3; k++) {
		dump_in_order(order[k], k == 1, &d[k]);
		events_without_seqs(&d[k], &ev[k]);
		views_only(&d[k]);
	}
	/* Non-trivial: sales, stock by day, cases (one of them waited for its
	 * complaint), the account and the request are there. */
	ck_assert_uint_eq(dump_count(&d[0], "inv_days"), 3);
	ck_assert_uint_eq(dump_count(&d[0], "cases"), 2);
	ck_assert_uint_eq(dump_count(&d[0], "accounts"), 2);
	ck_assert_uint_eq(dump_count(&d[0], "replenishment"), 1);
	ck_assert_uint_eq(ev[0].n, N_DS + 1);
	for (int k = 1; k < 3; k++) {
		assert_same(&d[0], &d[k], k == 1 ? "in order vs backwards" : "in order vs shuffled");
		assert_same(&ev[0], &ev[k], "the event log's records");
	}
	for (int k = 0; k < 3; k++) {
		dump_free(&d[k]);
		dump_free(&ev[k]);
	}
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { three_interleavings_identical_dumps,
		one_record_fewer_differs, seq_orders_within_a_store_identical_dumps };

	return tl_run("determinism", tests, sizeof tests / sizeof tests[0], 30);
}
