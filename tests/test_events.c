/* Logs that help (issue 10, part 5): conditions that last are logged when
 * they start, with the reason, once per interval while they last, and when
 * they end, with how long they lasted; nothing is logged per attempt.
 * Agent: the hub unreachable (no socket, refused, DNS, a failed handshake)
 * and reachable again, the buffer full and clearing (store-agent/
 * agent_events.c). Hub: a new store, a store connecting, disconnecting and
 * changing its epoch (hq-hub/hub_events.c). Each test reads the daemon's
 * log file (its stderr) as an operator would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "ss_time.h"
#include "testlib.h"

#define WAIT_MS 15000
#define PER_REQUEST 100

struct fx {
	struct tl_env e;
	char local[320], data[320], agent_log[320], hub_log[320];
};

static void fx_init(struct fx *f, const char *store)
{
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, store, f->local, sizeof f->local, f->data, sizeof f->data);
	snprintf(f->agent_log, sizeof f->agent_log, "%s/agent-%s.log", f->e.dir, store);
	snprintf(f->hub_log, sizeof f->hub_log, "%s/hub.log", f->e.dir);
}

/* The store link on TCP, on a port nothing listens on yet. */
static void fx_tcp(struct fx *f)
{
	snprintf(f->e.hub_listen, sizeof f->e.hub_listen, "tcp://127.0.0.1:%d", tl_free_port());
}

START_TEST(agent_names_a_missing_hub_and_says_when_it_is_back)
{
	struct fx f;
	pid_t agent, hub;
	size_t still;

	fx_init(&f, "S1");
	agent = tl_start_agent(&f.e, "S1", "--log-interval-ms", "500", NULL);
	tl_log_wait(f.agent_log, "\\[warn\\] hub ipc://.*unreachable since start: no socket at .*"
		"hub\\.sock \\(is the hub running\\?\\); records stay in the outbox", 1, WAIT_MS);
	ck_assert_int_eq(tl_submit_sales(f.local, 3, 100, "A", 1, NULL, 5000), 3);
	tl_log_wait(f.agent_log, "still unreachable after [0-9.]+s: no socket at .* \\([0-9]+ "
		"failed attempts?\\); 3 records wait", 1, WAIT_MS);
	ss_sleep_ms(1200);
	hub = tl_start_hub(&f.e, NULL);
	/* The last failure is the missing socket, or, when the agent dialled
	 * between the hub's start and its registering the test's store keys,
	 * the hub refusing the key it did not know yet. */
	tl_log_wait(f.agent_log, "\\[info\\] hub .* reachable again after [0-9.]+s \\([0-9]+ failed "
		"attempts?; the last: (no socket at|handshake failed: the hub refused this agent)", 1,
		WAIT_MS);
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 3);
	/* One line to start the outage and one per interval, not one per attempt. */
	ck_assert_uint_eq(tl_log_count(f.agent_log, "unreachable since start"), 1);
	still = tl_log_count(f.agent_log, "still unreachable");
	ck_assert_uint_ge(still, 2);
	ck_assert_uint_le(still, 12);

	/* A killed hub leaves its socket file: nobody listens there. */
	tl_kill9(hub);
	tl_log_wait(f.agent_log, "\\[warn\\] hub .* link down: connection lost", 1, WAIT_MS);
	tl_log_wait(f.agent_log, "still unreachable after .*: connection refused: nobody listens "
		"on .*hub\\.sock", 1, WAIT_MS);
	hub = tl_start_hub(&f.e, NULL);
	tl_log_wait(f.agent_log, "reachable again after [0-9.]+s .*the last: connection refused",
		1, WAIT_MS);
	ck_assert_uint_eq(tl_log_count(f.agent_log, "link down"), 1);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

/* Outages close together: the start of the second may be held back (one
 * outage line per interval), but an outage is never left unlogged for
 * longer than an interval, and each one ends with "reachable again". */
START_TEST(agent_logs_every_outage_once_even_when_they_come_close)
{
	struct fx f;
	pid_t agent, hub;

	fx_init(&f, "S1");
	hub = tl_start_hub(&f.e, NULL);
	agent = tl_start_agent(&f.e, "S1", "--log-interval-ms", "5000", NULL);
	tl_kill9(hub);
	tl_log_wait(f.agent_log, "hub .* link down: connection lost", 1, WAIT_MS);
	hub = tl_start_hub(&f.e, NULL);
	tl_log_wait(f.agent_log, "reachable again after", 1, WAIT_MS);
	tl_kill9(hub);
	/* At once, or after an interval when the limit held its start back. */
	tl_log_wait(f.agent_log, "hub [^ ]* (link down: connection lost|unreachable after "
		"[0-9.]+s: connection refused)", 2, WAIT_MS);
	hub = tl_start_hub(&f.e, NULL);
	tl_log_wait(f.agent_log, "reachable again after", 2, WAIT_MS);
	ck_assert_uint_eq(tl_log_count(f.agent_log, "hub [^ ]* (link down|unreachable after)"), 2);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

START_TEST(agent_names_a_refused_connection_and_a_name_that_does_not_resolve)
{
	struct fx f, g;
	pid_t refused, dns;

	fx_init(&f, "S1");
	fx_tcp(&f);
	refused = tl_start_agent(&f.e, "S1", "--log-interval-ms", "500", NULL);
	fx_init(&g, "S2");
	dns = tl_start_agent(&g.e, "S2", "--hub", "tcp://no-such-hub.invalid:7701",
		"--log-interval-ms", "500", NULL);
	tl_log_wait(f.agent_log, "hub tcp://127\\.0\\.0\\.1:[0-9]+ unreachable since start: "
		"connection refused; records stay", 1, WAIT_MS);
	tl_log_wait(g.agent_log, "hub tcp://no-such-hub\\.invalid:7701 unreachable since start: "
		"cannot resolve no-such-hub\\.invalid \\(DNS failure\\)", 1, WAIT_MS);
	tl_log_wait(g.agent_log, "still unreachable after .*DNS failure", 1, WAIT_MS);
	tl_stop(dns);
	tl_stop(refused);
	tl_env_cleanup(&g.e);
	tl_env_cleanup(&f.e);
}
END_TEST

/* A peer that wants CurveZMQ: the agent's handshake fails at once. */
static void *curve_peer(void *ctx, const char *endpoint)
{
	char pub[41], sec[41];
	void *s = zmq_socket(ctx, ZMQ_ROUTER);
	int on = 1, linger = 0;

	ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
	ck_assert_int_eq(zmq_bind(s, endpoint), 0);
	return s;
}

/* libzmq does not reconnect after a failed handshake: the agent dials
 * again itself, so it finds the hub once the hub is right. A hub that
 * refuses this store's key is named as such. */
START_TEST(agent_names_a_failed_handshake_and_dials_again)
{
	struct fx f;
	void *ctx = zmq_ctx_new(), *peer;
	Storesync__QueryReply *r;
	pid_t agent, hub;

	fx_init(&f, "S1");
	fx_tcp(&f);
	peer = curve_peer(ctx, f.e.hub_listen);
	agent = tl_start_agent(&f.e, "S1", "--log-interval-ms", "500", NULL);
	tl_log_wait(f.agent_log, "unreachable since start: handshake failed", 1, WAIT_MS);
	ck_assert_int_eq(tl_submit_sales(f.local, 2, 700, "H", 1, NULL, 5000), 2);
	tl_log_wait(f.agent_log, "still unreachable after .*: handshake failed", 1, WAIT_MS);
	zmq_close(peer);
	zmq_ctx_term(ctx);
	hub = tl_start_hub(&f.e, NULL);
	/* The last failure is the handshake, or a dial between the peer's end
	 * and the hub's start. */
	tl_log_wait(f.agent_log, "reachable again after [0-9.]+s \\([0-9]+ failed attempts?; the "
		"last: (handshake failed|connection refused)", 1, WAIT_MS);
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 1400);
	tl_stop(agent);

	/* A key the hub's door keeper refuses (revoked): said, with what to check. */
	r = tl_query(f.e.hub_query, "store revoke", "store", "S1", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(!r->error, "store revoke: %s", r->error);
	tl_query_free(r);
	agent = tl_start_agent(&f.e, "S1", "--log-interval-ms", "500", NULL);
	tl_log_wait(f.agent_log, "unreachable since start: handshake failed: the hub refused this "
		"agent \\(ZAP status 400\\): is this store's key registered at the hub", 1, WAIT_MS);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

/* One request of PER_REQUEST sales; returns how many were refused as
 * buffer full (every other answer must be a seq). */
static size_t submit_request(const char *local, uint64_t *receipt)
{
	Storesync__Record *recs[PER_REQUEST];
	uint64_t seqs[PER_REQUEST];
	char *errors[PER_REQUEST], no[32];
	size_t refused = 0;

	for (size_t i = 0; i < PER_REQUEST; i++) {
		snprintf(no, sizeof no, "R%llu", (unsigned long long)++*receipt);
		recs[i] = tl_sale(100, no);
	}
	ck_assert_int_eq(tl_submit(local, recs, PER_REQUEST, seqs, errors, 10000), 0);
	for (size_t i = 0; i < PER_REQUEST; i++) {
		if (!seqs[i]) {
			ck_assert_str_eq(errors[i], "buffer full");
			refused++;
		}
		free(errors[i]);
		storesync__record__free_unpacked(recs[i], NULL);
	}
	return refused;
}

START_TEST(agent_logs_buffer_full_once_then_counts_then_when_it_clears)
{
	struct fx f;
	uint64_t receipt = 0, refused = 0;
	char ere[160];
	pid_t agent, hub;
	size_t lines;

	fx_init(&f, "S1");
	agent = tl_start_agent(&f.e, "S1", "--budget", "1M", "--log-interval-ms", "500", NULL);
	for (int i = 0; i < 500 && refused == 0; i++)
		refused += submit_request(f.local, &receipt);
	ck_assert_uint_gt(refused, 0);
	tl_log_wait(f.agent_log, "\\[error\\] buffer full: refusing records \\([0-9]+ in this "
		"request\\); [0-9]+ records wait for the hub", 1, WAIT_MS);
	/* Refusals go on: counted once per interval, not one line each. */
	for (int i = 0; i < 3; i++)
		refused += submit_request(f.local, &receipt);
	tl_log_wait(f.agent_log, "\\[error\\] buffer full for [0-9.]+s: [0-9]+ more records "
		"refused \\([0-9]+ in all\\)", 1, WAIT_MS);
	ss_sleep_ms(1200);
	lines = tl_log_count(f.agent_log, "buffer full");
	ck_assert_uint_ge(lines, 2);
	ck_assert_uint_le(lines, 4);
	ss_sleep_ms(1200);   /* nothing new refused: nothing new to say */
	ck_assert_uint_eq(tl_log_count(f.agent_log, "buffer full"), lines);
	ck_assert_uint_eq(tl_log_count(f.agent_log, "buffer has room again"), 0);

	/* The hub takes the backlog; acknowledged records give way. */
	hub = tl_start_hub(&f.e, NULL);
	ck_assert_int_gt(tl_wait_drained(f.local, WAIT_MS * 2), 0);
	ck_assert_uint_eq(submit_request(f.local, &receipt), 0);
	snprintf(ere, sizeof ere, "\\[info\\] buffer has room again: accepting records after "
		"[0-9.]+[smhd].*; %llu were refused as buffer full", (unsigned long long)refused);
	tl_log_wait(f.agent_log, ere, 1, WAIT_MS);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

/* The hub's account of its stores: a store new to it, connecting,
 * disconnecting (silent for three heartbeats), connecting again, and
 * coming back with a new epoch (a new data directory). */
START_TEST(hub_logs_stores_appearing_connecting_leaving_and_changing_epoch)
{
	struct fx f;
	Storesync__QueryReply *r;
	char s2_local[320], s2_data[320];
	pid_t hub, agent, s2;

	fx_init(&f, "S1");
	hub = tl_start_hub(&f.e, NULL);
	agent = tl_start_agent(&f.e, "S1", NULL);
	/* Registered with its key only (testlib), before it connects. */
	tl_log_wait(f.hub_log, "\\[info\\] new store S1: first heard from \\(epoch [0-9a-f]{16}, "
		"agent [0-9.]+, registered, no region\\)", 1, WAIT_MS);
	tl_log_wait(f.hub_log, "\\[info\\] store S1 connected \\(epoch [0-9a-f]{16}, the hub holds "
		"through seq 0, agent [0-9.]+\\)", 1, WAIT_MS);
	ck_assert_int_eq(tl_submit_sales(f.local, 2, 100, "A", 1, NULL, 5000), 2);
	ck_assert_int_eq(tl_wait_drained(f.local, WAIT_MS), 2);
	/* Idle past its silence (5 s at least): its heartbeats, answered from
	 * memory, are still heard. */
	ss_sleep_ms(6500);
	ck_assert_uint_eq(tl_log_count(f.hub_log, "disconnected"), 0);

	tl_stop(agent);
	tl_log_wait(f.hub_log, "\\[info\\] store S1 disconnected: nothing heard for [0-9.]+s",
		1, WAIT_MS);
	agent = tl_start_agent(&f.e, "S1", NULL);
	tl_log_wait(f.hub_log, "store S1 connected \\(epoch [0-9a-f]{16}, the hub holds through "
		"seq 2,", 1, WAIT_MS);
	tl_stop(agent);

	/* Reinstalled: a new data directory, a new epoch, the same store. */
	ck_assert_int_eq(tl_sh("mv '%s' '%s.old'", f.data, f.data), 0);
	agent = tl_start_agent(&f.e, "S1", NULL);
	tl_log_wait(f.hub_log, "\\[warn\\] store S1 changed epoch from [0-9a-f]{16} to "
		"[0-9a-f]{16} \\(a new data directory, or storectl reepoch\\)", 1, WAIT_MS);
	/* Back before the hub took it as gone: a new connection of the store. */
	tl_log_wait(f.hub_log, "store S1 (connected|reconnected on a new connection) \\(epoch", 3,
		WAIT_MS);
	ck_assert_uint_eq(tl_log_count(f.hub_log, "new store S1"), 1);
	ck_assert_uint_eq(tl_log_count(f.hub_log, "store S1 disconnected"), 1);

	/* A store HQ registered before it ever connected says so. */
	r = tl_query(f.e.hub_query, "store add", "store", "S2", "name", "Two", "region", "north",
		NULL);
	ck_assert_str_eq(tl_answer(r, "result"), "added");
	tl_query_free(r);
	tl_agent_paths(&f.e, "S2", s2_local, sizeof s2_local, s2_data, sizeof s2_data);
	s2 = tl_start_agent(&f.e, "S2", NULL);
	tl_log_wait(f.hub_log, "new store S2: first heard from \\(.*registered as \"Two\", "
		"region north\\)", 1, WAIT_MS);
	tl_stop(s2);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		agent_names_a_missing_hub_and_says_when_it_is_back,
		agent_logs_every_outage_once_even_when_they_come_close,
		agent_names_a_refused_connection_and_a_name_that_does_not_resolve,
		agent_names_a_failed_handshake_and_dials_again,
		agent_logs_buffer_full_once_then_counts_then_when_it_clears,
		hub_logs_stores_appearing_connecting_leaving_and_changing_epoch,
	};

	return tl_run("events", tests, sizeof tests / sizeof tests[0], 90);
}
