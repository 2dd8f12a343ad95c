/* test_hub_restore: guarantee 1 for "a hub restored from an older backup" (and
 * 2: nothing applied twice). Two stores send batch A; the hub's data directory
 * is copied while it runs (mdb_copy); the stores send batch B; the hub is
 * kill -9'd and its directory replaced by the copy, which knows only A. The
 * agents are idle by then (the hub acknowledged B), so B comes back only if
 * the agents kept acknowledged records and resend from the restored hub's
 * high-water mark, which they learn from Hello/Welcome on reconnection. */
#include <stdio.h>

#include "testlib.h"

#define N_STORES 2
#define BATCH_RECORDS 2000
#define REQ_RECORDS 500
#define SETTLE_TIMEOUT_MS 30000

struct store {
	const char *id;
	char local[320], data[320];
	int64_t accepted, amount;
	uint64_t next_no;
};

/* BATCH_RECORDS sales to s, amount fen each, all of which must be accepted. */
static void submit_batch(struct store *s, int64_t amount)
{
	for (int i = 0; i < BATCH_RECORDS / REQ_RECORDS; i++) {
		int64_t a = amount + i;
		int n = tl_submit_sales(s->local, REQ_RECORDS, a, s->id, s->next_no, NULL, 10000);

		ck_assert_int_eq(n, REQ_RECORDS);
		s->next_no += REQ_RECORDS;
		s->accepted += n;
		s->amount += n * a;
	}
}

/* Waits until the hub holds and has acknowledged all of s, exactly. */
static void settle(const struct tl_env *e, const struct store *s)
{
	ck_assert_int_ge(tl_wait_records(e->hub_query, s->id, s->accepted, SETTLE_TIMEOUT_MS),
		s->accepted);
	ck_assert_int_eq(tl_wait_drained(s->local, SETTLE_TIMEOUT_MS), s->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "records"), s->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "amount_fen"), s->amount);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "high_water_seq"), s->accepted);
}

START_TEST(restored_hub_recovers_newer_records_from_agents)
{
	struct store stores[N_STORES] = { { .id = "S1", .next_no = 1 }, { .id = "S2", .next_no = 1 } };
	pid_t hub, agents[N_STORES];
	char backup[320];
	struct tl_env e;

	tl_env_init(&e);
	snprintf(backup, sizeof backup, "%s/hub-backup", e.dir);
	hub = tl_start_hub(&e, NULL);
	for (int i = 0; i < N_STORES; i++) {
		tl_agent_paths(&e, stores[i].id, stores[i].local, sizeof stores[i].local,
			stores[i].data, sizeof stores[i].data);
		agents[i] = tl_start_agent(&e, stores[i].id, NULL);
	}
	for (int i = 0; i < N_STORES; i++)
		submit_batch(&stores[i], 100 + 10 * i);                 /* batch A */
	for (int i = 0; i < N_STORES; i++)
		settle(&e, &stores[i]);
	ck_assert_int_eq(tl_sh("mkdir '%s' && mdb_copy '%s' '%s'", backup, e.hub_data, backup), 0);
	for (int i = 0; i < N_STORES; i++)
		submit_batch(&stores[i], 1000 + 10 * i);                /* batch B */
	for (int i = 0; i < N_STORES; i++)
		settle(&e, &stores[i]);
	tl_kill9(hub);
	ck_assert_int_eq(tl_sh("rm -rf '%s' && mv '%s' '%s'", e.hub_data, backup, e.hub_data), 0);
	hub = tl_start_hub(&e, NULL);
	for (int i = 0; i < N_STORES; i++)
		settle(&e, &stores[i]);
	/* This hub process applied B again (it had lost it), and only B. */
	ck_assert_int_eq(tl_hub_stat(e.hub_query, "records_applied"), N_STORES * BATCH_RECORDS);
	for (int i = 0; i < N_STORES; i++)
		tl_stop(agents[i]);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { restored_hub_recovers_newer_records_from_agents };

	return tl_run("hub_restore", tests, 1, 120);
}
