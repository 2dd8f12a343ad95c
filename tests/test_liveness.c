/* test_liveness: a link that dies is seen dead within its documented time,
 * without ZeroMQ's own heartbeats (off since issue 14, ss_link.h).
 *
 * A hub that goes silent without closing the connection (here: stopped
 * with SIGSTOP, so TCP stays up and the kernel still queues connections):
 * the agent shows its link "down" within three heartbeat intervals, drops
 * the link after hub_timeout_ms, and when the hub answers again it says
 * Hello on a new connection and its records flow as before. */
#include <signal.h>
#include <string.h>

#include "testlib.h"
#include "ss_time.h"

#define HEARTBEAT_MS 300            /* what tl_start_agent gives the agent */
#define HUB_TIMEOUT_MS 1500           /* the agent's --hub-timeout-ms below */
#define SLACK_MS 700
#define SETTLE_MS 20000

static int link_is(const char *local, const char *state)
{
	Storesync__StatusReply *st = tl_status(local, 1000);
	int is = st && st->link_state && strcmp(st->link_state, state) == 0;

	tl_status_free(st);
	return is;
}

/* Milliseconds until the agent's link shows state, or -1 after limit_ms. */
static int64_t wait_link(const char *local, const char *state, int64_t limit_ms)
{
	int64_t t0 = ss_mono_ms();

	while (ss_mono_ms() - t0 < limit_ms) {
		if (link_is(local, state))
			return ss_mono_ms() - t0;
		ss_sleep_ms(50);
	}
	return -1;
}

START_TEST(silent_hub_is_shown_down_dropped_and_rejoined)
{
	struct tl_env e;
	char local[320], data[320];
	int64_t hellos, down_ms;
	pid_t hub, agent;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "S1", "--hub-timeout-ms", "1500", NULL);
	ck_assert_int_eq(tl_submit_sales(local, 10, 100, "S1", 1, NULL, 5000), 10);
	ck_assert_int_eq(tl_wait_drained(local, SETTLE_MS), 10);
	ck_assert_int_ge(wait_link(local, "up", SETTLE_MS), 0);
	hellos = tl_hub_stat(e.hub_query, "hellos");

	kill(hub, SIGSTOP);
	down_ms = wait_link(local, "down", 3 * HEARTBEAT_MS + SLACK_MS);
	ck_assert_msg(down_ms >= 0, "link not shown down within 3 heartbeats of the hub's silence");
	/* Past hub_timeout_ms the agent has dropped the link and dialled again. */
	ss_sleep_ms(HUB_TIMEOUT_MS + SLACK_MS);
	ck_assert_int_eq(tl_submit_sales(local, 10, 100, "S1", 11, NULL, 5000), 10);
	kill(hub, SIGCONT);

	ck_assert_int_eq(tl_wait_drained(local, SETTLE_MS), 20);
	ck_assert_int_ge(wait_link(local, "up", SETTLE_MS), 0);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), 20);
	ck_assert_msg(tl_hub_stat(e.hub_query, "hellos") > hellos,
		"the agent did not say Hello on a new connection after the hub's silence");
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { silent_hub_is_shown_down_dropped_and_rejoined };

	return tl_run("liveness", tests, sizeof tests / sizeof tests[0], 60);
}
