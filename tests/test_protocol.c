/* test_protocol: the upstream link protocol against a real hq-hub, spoken
 * directly by a test peer (a DEALER on the hub's ROUTER). Checks
 *   guarantee 2 (exactly-once effect): duplicated and overlapping batches,
 *     and any order of delivery, apply each (store, epoch, seq) once;
 *   guarantee 3 (order per store): the hub never applies past a gap and asks
 *     for a resend from its high-water mark;
 *   guarantee 7 for records: a semantically invalid record inside a valid
 *     batch is refused alone, counted, and has no effect;
 *   the session rules: Hello/Welcome high-water, cumulative Ack, a Batch for
 *     another store than the link's is refused, epochs have their own seqs.
 * Outcomes are read from the hub's own views (`stores`) and counters (`stats`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define EPOCH_A 0x1111222233334444ull
#define EPOCH_B 0x5555666677778888ull

struct fx {
	struct tl_env e;
	pid_t hub;
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, NULL);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

/* Distinct amounts per seq, so a missing or doubled record shows in the sum. */
static int64_t amount_a(uint64_t seq)
{
	return 1000 + (int64_t)seq * 37;
}

static int64_t amount_b(uint64_t seq)
{
	return 50000 + (int64_t)((seq * 7919) % 1000);
}

static int64_t sum(int64_t (*amount)(uint64_t), uint64_t from, uint64_t to)
{
	int64_t s = 0;

	for (uint64_t q = from; q <= to; q++)
		s += amount(q);
	return s;
}

static int64_t field(struct fx *f, const char *store, const char *col)
{
	return tl_store_field(f->e.hub_query, store, col);
}

static int64_t hub_stat(struct fx *f, const char *counter)
{
	return tl_hub_stat(f->e.hub_query, counter);
}

static uint64_t batch_acked(struct tl_link *l, const char *store, uint64_t epoch, uint64_t first,
	size_t n, int64_t (*amount)(uint64_t))
{
	tl_link_batch(l, store, epoch, first, n, amount);
	return tl_link_ack(l);
}

START_TEST(hello_reports_high_water)
{
	struct fx f;
	struct tl_link l, l2;

	fx_start(&f);
	tl_link_open(&l, f.e.hub_listen);
	ck_assert_uint_eq(tl_link_hello(&l, "S1", EPOCH_A), 0);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 10, amount_a), 10);
	tl_link_close(&l);
	/* A new connection (a reconnecting agent) learns where to resume. */
	tl_link_open(&l2, f.e.hub_listen);
	ck_assert_uint_eq(tl_link_hello(&l2, "S1", EPOCH_A), 10);
	tl_link_close(&l2);
	ck_assert_int_eq(field(&f, "S1", "records"), 10);
	ck_assert_int_eq(field(&f, "S1", "high_water_seq"), 10);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), sum(amount_a, 1, 10));
	fx_stop(&f);
}
END_TEST

START_TEST(duplicates_applied_once)
{
	struct fx f;
	struct tl_link l;

	fx_start(&f);
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH_A);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 10, amount_a), 10);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 10, amount_a), 10);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 5, 11, amount_a), 15);
	/* Cumulative: an old batch is acknowledged with everything held. */
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 5, amount_a), 15);
	tl_link_close(&l);
	ck_assert_int_eq(field(&f, "S1", "records"), 15);
	ck_assert_int_eq(field(&f, "S1", "high_water_seq"), 15);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), sum(amount_a, 1, 15));
	ck_assert_int_eq(hub_stat(&f, "duplicates"), 10 + 6 + 5);
	ck_assert_int_eq(hub_stat(&f, "records_applied"), 15);
	fx_stop(&f);
}
END_TEST

START_TEST(gap_never_applied_past)
{
	struct fx f;
	struct tl_link l;
	Storesync__LinkMessage *m;

	fx_start(&f);
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH_A);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 11, 10, amount_a), 0);
	m = tl_link_expect(&l, STORESYNC__LINK_MESSAGE__KIND_RESEND, 5000);
	ck_assert_uint_eq(m->resend->from_seq, 1);
	ck_assert_uint_eq(m->resend->epoch, EPOCH_A);
	storesync__link_message__free_unpacked(m, NULL);
	ck_assert_int_eq(field(&f, "S1", "records"), 0);
	ck_assert_int_eq(field(&f, "S1", "high_water_seq"), 0);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), 0);
	ck_assert_int_eq(hub_stat(&f, "gaps"), 1);
	/* The resend fills the gap; the later batch then applies. */
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 10, amount_a), 10);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 11, 10, amount_a), 20);
	tl_link_close(&l);
	ck_assert_int_eq(field(&f, "S1", "records"), 20);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), sum(amount_a, 1, 20));
	fx_stop(&f);
}
END_TEST

#define SHUF_N 60
#define SHUF_MAX_BATCHES 32

struct range {
	uint64_t first;
	size_t n;
};

/* The in-order batches, repeats of some, and random overlapping ranges,
 * shuffled with a fixed seed. Returns how many. */
static size_t shuffled_ranges(struct range *r)
{
	uint64_t rng = 20261129;
	size_t n = 0;

	for (uint64_t first = 1; first <= SHUF_N; first += 10)
		r[n++] = (struct range){ first, 10 };
	for (int i = 0; i < 3; i++)
		r[n++] = r[i * 2];
	for (int i = 0; i < 10; i++) {
		uint64_t first = 1 + tl_rand(&rng) % SHUF_N;
		size_t len = 1 + tl_rand(&rng) % 15;

		r[n++] = (struct range){ first, first + len - 1 > SHUF_N ? SHUF_N - first + 1 : len };
	}
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = tl_rand(&rng) % (i + 1);
		struct range t = r[i];

		r[i] = r[j];
		r[j] = t;
	}
	return n;
}

/* Sends every batch without waiting, then reads one Ack per batch; then
 * resends from the high-water mark, as an agent does, until all is held. */
static void deliver(struct tl_link *l, const char *store, const struct range *r, size_t n)
{
	uint64_t hw = 0;

	for (size_t i = 0; i < n; i++)
		tl_link_batch(l, store, EPOCH_A, r[i].first, r[i].n, amount_b);
	for (size_t i = 0; i < n; i++)
		hw = tl_link_ack(l);
	while (hw < SHUF_N)
		hw = batch_acked(l, store, EPOCH_A, hw + 1, hw + 10 > SHUF_N ? SHUF_N - hw : 10,
			amount_b);
}

START_TEST(any_delivery_order_same_views)
{
	static const char *const cols[] = { "records", "amount_fen", "high_water_seq", "refused" };
	struct range inorder[SHUF_N / 10], shuffled[SHUF_MAX_BATCHES];
	size_t n_shuffled = shuffled_ranges(shuffled);
	struct tl_link a, b;
	struct fx f;

	for (size_t i = 0; i < SHUF_N / 10; i++)
		inorder[i] = (struct range){ 1 + i * 10, 10 };
	fx_start(&f);
	tl_link_open(&a, f.e.hub_listen);
	tl_link_open(&b, f.e.hub_listen);
	tl_link_hello(&a, "INORDER", EPOCH_A);
	tl_link_hello(&b, "SHUFFLED", EPOCH_A);
	deliver(&a, "INORDER", inorder, SHUF_N / 10);
	deliver(&b, "SHUFFLED", shuffled, n_shuffled);
	tl_link_close(&a);
	tl_link_close(&b);
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
		ck_assert_int_eq(field(&f, "SHUFFLED", cols[i]), field(&f, "INORDER", cols[i]));
	ck_assert_int_eq(field(&f, "SHUFFLED", "records"), SHUF_N);
	ck_assert_int_eq(field(&f, "SHUFFLED", "amount_fen"), sum(amount_b, 1, SHUF_N));
	ck_assert_int_gt(hub_stat(&f, "duplicates"), 0);
	ck_assert_int_eq(hub_stat(&f, "records_applied"), 2 * SHUF_N);
	fx_stop(&f);
}
END_TEST

/* Batch 6..10 whose seq 8 charges one fen more than its lines add up to. */
static void send_total_mismatch_batch(struct tl_link *l)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record *recs[5];
	char receipt[32];

	for (size_t i = 0; i < 5; i++) {
		snprintf(receipt, sizeof receipt, "R-%zu", 6 + i);
		recs[i] = tl_sale(amount_a(6 + i), receipt);
		recs[i]->recorded_ms = recs[i]->time_ms;   /* as the agent stamps it */
		recs[i]->has_recorded_ms = 1;
	}
	recs[2]->sale->total_fen += 1;
	b.store_id = "S1";
	b.epoch = EPOCH_A;
	b.has_epoch = 1;
	b.first_seq = 6;
	b.has_first_seq = 1;
	b.records = recs;
	b.n_records = 5;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	tl_link_send(l, &m);
	for (size_t i = 0; i < 5; i++)
		storesync__record__free_unpacked(recs[i], NULL);
}

/* Seq 3 has a negative unit price (tl_sale of a negative amount). */
static int64_t amount_bad3(uint64_t seq)
{
	return seq == 3 ? -500 : amount_a(seq);
}

START_TEST(invalid_record_refused_alone)
{
	struct fx f;
	struct tl_link l;

	fx_start(&f);
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH_A);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 5, amount_bad3), 5);
	ck_assert_int_eq(hub_stat(&f, "refused_records"), 1);
	ck_assert_int_eq(field(&f, "S1", "refused"), 1);
	send_total_mismatch_batch(&l);
	ck_assert_uint_eq(tl_link_ack(&l), 10);
	tl_link_close(&l);
	ck_assert_int_eq(hub_stat(&f, "refused_records"), 2);
	ck_assert_int_eq(field(&f, "S1", "refused"), 2);
	ck_assert_int_eq(field(&f, "S1", "records"), 8);
	ck_assert_int_eq(field(&f, "S1", "high_water_seq"), 10);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"),
		sum(amount_a, 1, 10) - amount_a(3) - amount_a(8));
	ck_assert_int_eq(hub_stat(&f, "invalid"), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(batch_for_another_store_refused)
{
	struct fx f;
	struct tl_link l;
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;

	fx_start(&f);
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH_A);
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 1, 5, amount_a), 5);
	tl_link_batch(&l, "S2", EPOCH_A, 1, 5, amount_a);
	tl_link_expect_error(&l, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	h.store_id = "S2";
	h.epoch = EPOCH_A;
	h.has_epoch = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	tl_link_send(&l, &m);
	tl_link_expect_error(&l, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	/* The link's key is S1's: a claim for S2 is an impersonation. */
	ck_assert_int_eq(hub_stat(&f, "impersonations"), 2);
	ck_assert_int_eq(field(&f, "S2", "records"), -1);   /* no such store */
	ck_assert_int_eq(field(&f, "S1", "records"), 5);
	ck_assert_int_eq(field(&f, "S1", "high_water_seq"), 5);
	/* The link still serves its own store. */
	ck_assert_uint_eq(batch_acked(&l, "S1", EPOCH_A, 6, 5, amount_a), 10);
	tl_link_close(&l);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), sum(amount_a, 1, 10));
	ck_assert_int_eq(hub_stat(&f, "records_applied"), 10);
	fx_stop(&f);
}
END_TEST

START_TEST(new_epoch_has_own_seqs)
{
	struct fx f;
	struct tl_link old, fresh;

	fx_start(&f);
	tl_link_open(&old, f.e.hub_listen);
	tl_link_hello(&old, "S1", EPOCH_A);
	ck_assert_uint_eq(batch_acked(&old, "S1", EPOCH_A, 1, 10, amount_a), 10);
	/* The reinstalled store: a new epoch, seqs from 1 again. */
	tl_link_open(&fresh, f.e.hub_listen);
	ck_assert_uint_eq(tl_link_hello(&fresh, "S1", EPOCH_B), 0);
	ck_assert_uint_eq(batch_acked(&fresh, "S1", EPOCH_B, 1, 5, amount_b), 5);
	ck_assert_int_eq(field(&f, "S1", "records"), 15);
	ck_assert_int_eq(field(&f, "S1", "high_water_seq"), 5);
	/* The old epoch kept its own mark, and its records stay applied once. */
	ck_assert_uint_eq(tl_link_hello(&old, "S1", EPOCH_A), 10);
	ck_assert_uint_eq(batch_acked(&old, "S1", EPOCH_A, 1, 10, amount_a), 10);
	ck_assert_uint_eq(batch_acked(&fresh, "S1", EPOCH_B, 6, 3, amount_b), 8);
	tl_link_close(&old);
	tl_link_close(&fresh);
	ck_assert_int_eq(field(&f, "S1", "records"), 18);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), sum(amount_a, 1, 10) + sum(amount_b, 1, 8));
	ck_assert_int_eq(hub_stat(&f, "duplicates"), 10);
	fx_stop(&f);
}
END_TEST

/* Guarantee 4 for validation: "time in the future" is judged against the
 * agent's acceptance time carried in the record (recorded_ms), never the
 * hub's clock, so a record gets the same verdict whenever it arrives. Here
 * the records are stamped years ahead of the hub's clock. */
START_TEST(future_judged_at_recorded_time)
{
	const int64_t recorded_ms = 1893456000000LL;   /* 2030-01-01 */
	const int64_t hour_ms = 3600000;
	Storesync__Record *recs[2];
	struct fx f;
	struct tl_link l;

	fx_start(&f);
	tl_link_open(&l, f.e.hub_listen);
	tl_link_hello(&l, "S1", EPOCH_A);
	recs[0] = tl_sale(700, "R-1");
	recs[1] = tl_sale(900, "R-2");
	for (int i = 0; i < 2; i++) {
		recs[i]->recorded_ms = recorded_ms;
		recs[i]->has_recorded_ms = 1;
		recs[i]->time_ms = recorded_ms + (i == 0 ? 23 : 25) * hour_ms;
	}
	tl_link_batch_records(&l, "S1", EPOCH_A, 1, recs, 2);
	ck_assert_uint_eq(tl_link_ack(&l), 2);
	tl_link_close(&l);
	ck_assert_int_eq(field(&f, "S1", "records"), 1);
	ck_assert_int_eq(field(&f, "S1", "refused"), 1);
	ck_assert_int_eq(field(&f, "S1", "amount_fen"), 700);
	for (int i = 0; i < 2; i++)
		storesync__record__free_unpacked(recs[i], NULL);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		future_judged_at_recorded_time,
		hello_reports_high_water, duplicates_applied_once, gap_never_applied_past,
		any_delivery_order_same_views, invalid_record_refused_alone,
		batch_for_another_store_refused, new_epoch_has_own_seqs,
	};

	return tl_run("protocol", tests, sizeof tests / sizeof tests[0], 20);
}
