/* Guarantee 2, exactly-once effect, at volume: 100,000 records submitted
 * to three store agents at once all reach the hub, each applied once: per
 * store, the hub's record count and money total equal exactly what the
 * agents said they accepted, and its high-water mark equals the agent's
 * last seq. A hub that applied a resent batch twice, or lost one, fails. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "testlib.h"
#include "ss_time.h"

#define TOTAL_RECORDS 100000
#define STORES 3
#define PER_REQUEST 500

struct feeder {
	char local[320];
	const char *store;
	long want, accepted;
	int64_t amount_fen;
	int failed;
	pthread_t thread;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	Storesync__Record *recs[PER_REQUEST];
	uint64_t seqs[PER_REQUEST];
	char receipt[64];

	for (long done = 0; done < f->want && !f->failed;) {
		size_t n = f->want - done < PER_REQUEST ? (size_t)(f->want - done) : PER_REQUEST;

		for (size_t i = 0; i < n; i++) {
			snprintf(receipt, sizeof receipt, "%s-R%ld", f->store, done + (long)i);
			recs[i] = tl_sale(100 + (done + (long)i) % 997, receipt);
		}
		if (tl_submit(f->local, recs, n, seqs, NULL, 30000) != 0)
			f->failed = 1;
		for (size_t i = 0; i < n; i++) {
			if (!f->failed && seqs[i] > 0) {
				f->accepted++;
				f->amount_fen += recs[i]->sale->total_fen;
			}
			storesync__record__free_unpacked(recs[i], NULL);
		}
		done += (long)n;
	}
	return NULL;
}

START_TEST(hundred_thousand_records_from_three_stores_arrive_exactly_once)
{
	static const char *stores[STORES] = { "S1", "S2", "S3" };
	struct feeder f[STORES];
	pid_t agents[STORES], hub;
	struct tl_env e;
	char data[320];
	long total = 0;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	for (int i = 0; i < STORES; i++) {
		/* Small batches and a short ack timeout make the agent resend
		 * often, so the hub's duplicate suppression is exercised. */
		agents[i] = tl_start_agent(&e, stores[i], "--batch", "300", "--window", "4", NULL);
		f[i] = (struct feeder){ .store = stores[i],
			.want = TOTAL_RECORDS / STORES + (i < TOTAL_RECORDS % STORES) };
		tl_agent_paths(&e, stores[i], f[i].local, sizeof f[i].local, data, sizeof data);
	}
	for (int i = 0; i < STORES; i++)
		pthread_create(&f[i].thread, NULL, feed, &f[i]);
	for (int i = 0; i < STORES; i++)
		pthread_join(f[i].thread, NULL);
	for (int i = 0; i < STORES; i++) {
		Storesync__StatusReply *st;

		ck_assert_msg(!f[i].failed, "agent %s stopped answering", stores[i]);
		ck_assert_int_eq(f[i].accepted, f[i].want);
		total += f[i].accepted;
		ck_assert_int_eq(tl_wait_records(e.hub_query, stores[i], f[i].accepted, 60000),
			f[i].accepted);
		ck_assert_int_eq(tl_store_field(e.hub_query, stores[i], "amount_fen"), f[i].amount_fen);
		st = tl_status(f[i].local, 2000);
		ck_assert_ptr_nonnull(st);
		ck_assert_int_eq(tl_store_field(e.hub_query, stores[i], "high_water_seq"),
			(int64_t)st->last_seq);
		tl_status_free(st);
	}
	ck_assert_int_eq(total, TOTAL_RECORDS);
	/* Still exactly once after everything settled (no late duplicate). */
	ss_sleep_ms(500);
	for (int i = 0; i < STORES; i++) {
		ck_assert_int_eq(tl_store_field(e.hub_query, stores[i], "records"), f[i].accepted);
		tl_stop(agents[i]);
	}
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { hundred_thousand_records_from_three_stores_arrive_exactly_once };

	return tl_run("exactly_once", tests, 1, 300);
}
