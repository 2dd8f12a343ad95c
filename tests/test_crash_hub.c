/* test_crash_hub: guarantees 1 and 2 across hub crashes. The hub is kill -9'd
 * and restarted (same data directory) again and again while two agents
 * stream records to it. The agents are never killed, so every submit is
 * answered and the accepted records and their amounts are known exactly.
 * At the end the hub must hold exactly those records: none lost (an ack that
 * ran ahead of the hub's commit would lose some), none applied twice (a
 * duplicate check outside the ingest transaction would apply some twice). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ss_time.h"
#include "testlib.h"

#define N_STORES 2
#define REQ_RECORDS 200
#define CRASHES 10
#define SUBMIT_TIMEOUT_MS 10000
#define SETTLE_TIMEOUT_MS 30000

struct store {
	const char *id;
	char local[320], data[320];
	int64_t accepted, amount; /* what the agent acknowledged */
	uint64_t next_no;         /* next receipt number */
};

/* One request of REQ_RECORDS sales to store s; amounts vary per request. */
static void submit_request(struct store *s)
{
	int64_t amount = 1 + (int64_t)((s->next_no * 7919) % 100000);
	int n = tl_submit_sales(s->local, REQ_RECORDS, amount, s->id, s->next_no, NULL,
		SUBMIT_TIMEOUT_MS);

	ck_assert_msg(n == REQ_RECORDS, "agent %s answered %d of %d (it is never killed)",
		s->id, n, REQ_RECORDS);
	s->next_no += REQ_RECORDS;
	s->accepted += n;
	s->amount += n * amount;
}

/* Submits to every store in turn for ms milliseconds. */
static void submit_for(struct store *stores, int ms)
{
	int64_t until = ss_mono_ms() + ms;

	do
		for (int i = 0; i < N_STORES; i++)
			submit_request(&stores[i]);
	while (ss_mono_ms() < until);
}

static void check_store(const struct tl_env *e, const struct store *s)
{
	int64_t last = tl_wait_drained(s->local, SETTLE_TIMEOUT_MS);

	ck_assert_msg(last >= 0, "agent %s still has a backlog", s->id);
	ck_assert_int_eq(last, s->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "records"), s->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "amount_fen"), s->amount);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "high_water_seq"), last);
}

START_TEST(hub_kill9_mid_stream_loses_nothing_applies_nothing_twice)
{
	struct store stores[N_STORES] = { { .id = "S1", .next_no = 1 }, { .id = "S2", .next_no = 1 } };
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	struct tl_env e;
	pid_t hub, agents[N_STORES];

	fprintf(stderr, "crash_hub: seed %u\n", seed);
	srand(seed);
	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	for (int i = 0; i < N_STORES; i++) {
		tl_agent_paths(&e, stores[i].id, stores[i].local, sizeof stores[i].local,
			stores[i].data, sizeof stores[i].data);
		agents[i] = tl_start_agent(&e, stores[i].id, "--batch", "100", NULL);
	}
	for (int c = 0; c < CRASHES; c++) {
		submit_for(stores, 100 + rand() % 400);   /* hub up, streaming */
		tl_kill9(hub);
		submit_for(stores, rand() % 200);         /* hub down, agents buffer */
		hub = tl_start_hub(&e, NULL);
	}
	submit_for(stores, 200);
	for (int i = 0; i < N_STORES; i++) {
		ck_assert_int_ge(tl_wait_records(e.hub_query, stores[i].id, stores[i].accepted,
			SETTLE_TIMEOUT_MS), stores[i].accepted);
		check_store(&e, &stores[i]);
	}
	fprintf(stderr, "crash_hub: %lld + %lld records, hub saw %lld duplicates\n",
		(long long)stores[0].accepted, (long long)stores[1].accepted,
		(long long)tl_hub_stat(e.hub_query, "duplicates"));
	for (int i = 0; i < N_STORES; i++)
		tl_stop(agents[i]);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { hub_kill9_mid_stream_loses_nothing_applies_nothing_twice };

	return tl_run("crash_hub", tests, 1, 120);
}
