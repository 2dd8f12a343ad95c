/* An agent whose data directory was restored from an older copy (a VM
 * snapshot rolled back): the hub already holds seqs of that epoch that the
 * outbox no longer has. Sending new records under those seqs would make the
 * hub drop them as duplicates, silently. The agent must notice at Hello,
 * stop sending, keep accepting (records stay durable in the outbox), and say
 * so in its status; the hub must be left exactly as it was. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"
#include "ss_time.h"

#define WAIT_MS 20000

static const char *link_state(const char *local)
{
	static char state[32];
	Storesync__StatusReply *st = tl_status(local, 2000);

	ck_assert_ptr_nonnull(st);
	snprintf(state, sizeof state, "%s", st->link_state ? st->link_state : "");
	tl_status_free(st);
	return state;
}

START_TEST(rolled_back_agent_stops_instead_of_reusing_seqs)
{
	char local[320], data[320];
	struct tl_env e;
	pid_t hub, agent;
	int64_t deadline;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(tl_submit_sales(local, 5, 100, "A", 1, NULL, 5000), 5);
	ck_assert_int_eq(tl_wait_drained(local, WAIT_MS), 5);
	tl_stop(agent);
	ck_assert_int_eq(tl_sh("cp -a '%s' '%s.snapshot'", data, data), 0);
	agent = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(tl_submit_sales(local, 5, 200, "B", 1, NULL, 5000), 5);
	ck_assert_int_eq(tl_wait_drained(local, WAIT_MS), 10);
	tl_stop(agent);
	/* Roll the store back to the snapshot taken at seq 5. */
	ck_assert_int_eq(tl_sh("rm -rf '%s' && mv '%s.snapshot' '%s'", data, data, data), 0);
	agent = tl_start_agent(&e, "S1", NULL);
	deadline = ss_mono_ms() + WAIT_MS;
	while (strcmp(link_state(local), "conflict") != 0 && ss_mono_ms() < deadline)
		ss_sleep_ms(50);
	ck_assert_str_eq(link_state(local), "conflict");
	/* New records are still accepted and kept, but not sent under reused seqs. */
	ck_assert_int_eq(tl_submit_sales(local, 3, 5000, "C", 1, NULL, 5000), 3);
	ck_assert_str_eq(link_state(local), "conflict");
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), 10);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "amount_fen"), 5 * 100 + 5 * 200);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "high_water_seq"), 10);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { rolled_back_agent_stops_instead_of_reusing_seqs };

	return tl_run("agent_restore", tests, 1, 60);
}
