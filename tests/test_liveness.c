/* test_liveness: a link that dies is seen dead within its documented time,
 * without ZeroMQ's own heartbeats (off since issue 14, ss_link.h).
 *
 * A hub that goes silent without closing the connection (here: stopped
 * with SIGSTOP, so TCP stays up and the kernel still queues connections):
 * the agent shows its link "down" within four heartbeat intervals, drops
 * the link after hub_timeout_ms, and when the hub answers again it says
 * Hello on a new connection and its records flow as before.
 *
 * At the hub, heartbeats cost no write (hub_live.c): between two flushes
 * of what they said, stores that only heartbeat make no commit; a live idle
 * store's progress still reaches LMDB every state_flush_ms, so when a
 * store's link dies (its agent killed -9) it is the one listed silent once
 * store_silence_minutes have passed since its last progress, and the live
 * one is not. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"
#include "ss_time.h"

#define HEARTBEAT_MS 300            /* what tl_start_agent gives the agent */
#define HUB_TIMEOUT_MS 2000           /* the agent's --hub-timeout-ms below */
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
	agent = tl_start_agent(&e, "S1", "--hub-timeout-ms", "2000", NULL);
	ck_assert_int_eq(tl_submit_sales(local, 10, 100, "S1", 1, NULL, 5000), 10);
	ck_assert_int_eq(tl_wait_drained(local, SETTLE_MS), 10);
	ck_assert_int_ge(wait_link(local, "up", SETTLE_MS), 0);
	hellos = tl_hub_stat(e.hub_query, "hellos");

	kill(hub, SIGSTOP);
	down_ms = wait_link(local, "down", 4 * HEARTBEAT_MS + SLACK_MS);
	ck_assert_msg(down_ms >= 0, "link not shown down within 4 heartbeats of the hub's silence");
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

/* Starts S1 (and S2) with a few records each and waits until all is acked. */
static pid_t start_drained(struct tl_env *e, const char *store, char *local, size_t len)
{
	char data[320];
	pid_t pid;

	tl_agent_paths(e, store, local, len, data, sizeof data);
	pid = tl_start_agent(e, store, NULL);
	ck_assert_int_eq(tl_submit_sales(local, 5, 100, store, 1, NULL, 5000), 5);
	ck_assert_int_eq(tl_wait_drained(local, SETTLE_MS), 5);
	return pid;
}

START_TEST(heartbeats_commit_nothing_between_flushes)
{
	struct tl_env e;
	char local[320];
	int64_t commits, held;
	pid_t hub, agent;

	tl_env_init(&e);
	hub = tl_start_hub(&e, "--state-flush-ms", "600000", "--notice-scan-ms", "600000", NULL);
	agent = start_drained(&e, "S1", local, sizeof local);
	ss_sleep_ms(3 * HEARTBEAT_MS);   /* the heartbeat saying "backlog 0" is written */
	commits = tl_hub_stat(e.hub_query, "commits");
	held = tl_hub_stat(e.hub_query, "heartbeats_held");
	ss_sleep_ms(10 * HEARTBEAT_MS);
	ck_assert_int_eq(tl_hub_stat(e.hub_query, "commits"), commits);
	ck_assert_int_ge(tl_hub_stat(e.hub_query, "heartbeats_held"), held + 5);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* The hub answers a heartbeat only when it has sent the store nothing
 * since the store's previous one: an idle store (nothing else flows to it)
 * hears every second heartbeat, whichever millisecond the answers go in. */
START_TEST(idle_store_hears_every_second_heartbeat)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT, *in;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	struct tl_env e;
	struct tl_link l;
	int answers = 0, others = 0;
	pid_t hub;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "S1", 7);
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	hb.has_backlog = 1;   /* backlog 0 */
	for (int i = 0; i < 10; i++) {
		tl_link_send(&l, &m);
		/* Everything the hub says to it until the next heartbeat. */
		for (int64_t t0 = ss_mono_ms(); ss_mono_ms() - t0 < 200; ) {
			if (!(in = tl_link_recv(&l, 50)))
				continue;
			if (in->kind_case == STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT)
				answers++;
			else
				others++;
			storesync__link_message__free_unpacked(in, NULL);
		}
	}
	ck_assert_int_eq(others, 0);
	ck_assert_int_eq(answers, 5);   /* the 1st (a connection's first), 3rd, 5th, ... */
	tl_link_close(&l);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(dead_link_goes_silent_live_idle_store_does_not)
{
	struct tl_env e;
	char local1[320], local2[320], at[32];
	int64_t dead_at, progress1, progress2;
	Storesync__QueryReply *r;
	pid_t hub, a1, a2;

	tl_env_init(&e);
	hub = tl_start_hub(&e, "--state-flush-ms", "1000", NULL);
	a1 = start_drained(&e, "S1", local1, sizeof local1);
	a2 = start_drained(&e, "S2", local2, sizeof local2);
	ss_sleep_ms(3 * HEARTBEAT_MS);
	tl_kill9(a2);
	dead_at = ss_now_ms();
	ss_sleep_ms(4000);
	/* The live one's progress reached LMDB within the flush interval. */
	progress1 = tl_store_field(e.hub_query, "S1", "last_progress_ms");
	progress2 = tl_store_field(e.hub_query, "S2", "last_progress_ms");
	ck_assert_int_ge(progress1, ss_now_ms() - 1000 - HEARTBEAT_MS - SLACK_MS);
	ck_assert_int_le(progress2, dead_at);
	/* Just past the dead store's silence (default 30 minutes), only it is silent. */
	snprintf(at, sizeof at, "%lld", (long long)(progress2 + 30 * 60000 + 1000));
	r = tl_query_ok(e.hub_query, "stale", "at", at, NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "store", "id", "S2", NULL), 1);
	ck_assert_int_eq(tl_row_count(r, "kind", "store", "id", "S1", NULL), 0);
	tl_query_free(r);
	tl_stop(a1);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { silent_hub_is_shown_down_dropped_and_rejoined,
		heartbeats_commit_nothing_between_flushes, idle_store_hears_every_second_heartbeat,
		dead_link_goes_silent_live_idle_store_does_not };

	return tl_run("liveness", tests, sizeof tests / sizeof tests[0], 60);
}
