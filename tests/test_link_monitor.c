/* test_link_monitor: a socket's monitor never stops its I/O thread
 * (ss_link_monitor, ss_link_close_watched; common/ss_link.c).
 *
 * libzmq 4.3.4 sends a monitor event from the I/O thread with a blocking
 * send, holding the monitor's lock. With a bounded pipe (the default 1,000
 * events) a reader that stops reading, as a daemon does while it stops,
 * blocks that thread: every connection it serves stalls, and stopping the
 * monitor waits on the lock for ever. A hub with 10,000 stores hung at
 * SIGTERM that way. Here more than a pipe's worth of events are left
 * unread: every peer must still get through, and the close must return
 * (the runner's timeout fails the test if it hangs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "testlib.h"
#include "ss_link.h"
#include "ss_time.h"

/* Two events a peer (accepted, handshake), so 2,400 events: past the
 * 2,000 a default pipe holds (1,000 each end). Two descriptors a peer here. */
#define PEERS 1200
#define FDS_NEEDED (2 * PEERS + 200)
#define EVENTS (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)
#define WAIT_MS 20000

static void raise_fd_limit(void)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= FDS_NEEDED)
		return;
	ck_assert_msg(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= FDS_NEEDED,
		"the open files hard limit %llu is below the %d this test needs",
		(unsigned long long)rl.rlim_max, FDS_NEEDED);
	rl.rlim_cur = FDS_NEEDED;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Receives one message from each of the peers on router; how many came. */
static int count_peers(void *router, int peers)
{
	int got = 0, timeout = 200;

	zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	for (int64_t t0 = ss_mono_ms(); got < peers && ss_mono_ms() - t0 < WAIT_MS; ) {
		zmq_msg_t f[2];
		int n = ss_link_recv(router, f, 2, 0);

		if (n == 2)
			got++;
		if (n > 0)
			ss_link_close_frames(f, n);
	}
	return got;
}

START_TEST(unread_events_stall_neither_the_peers_nor_the_close)
{
	struct tl_env e;
	char err[256], ep[300];
	void *ctx, *router, *pair, **peers = calloc(PEERS, sizeof *peers);
	uint16_t event;
	int32_t value;
	int events = 0;

	ck_assert_ptr_nonnull(peers);
	raise_fd_limit();
	tl_env_init(&e);
	snprintf(ep, sizeof ep, "ipc://%s/monitored.sock", e.dir);
	ctx = zmq_ctx_new();
	ck_assert_int_eq(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, PEERS + 16), 0);
	router = ss_link_socket(ctx, ZMQ_ROUTER, err, sizeof err);
	ck_assert_msg(router != NULL, "%s", err);
	ck_assert_int_eq(zmq_bind(router, ep), 0);
	pair = ss_link_monitor(ctx, router, "inproc://test-monitor", EVENTS);
	ck_assert_ptr_nonnull(pair);

	/* Nobody reads the monitor from here on. */
	for (int i = 0; i < PEERS; i++) {
		peers[i] = ss_link_socket(ctx, ZMQ_DEALER, err, sizeof err);
		ck_assert_msg(peers[i] != NULL, "%s", err);
		ck_assert_int_eq(zmq_connect(peers[i], ep), 0);
		ck_assert_int_eq(zmq_send(peers[i], "hi", 2, 0), 2);
	}
	ck_assert_int_eq(count_peers(router, PEERS), PEERS);

	/* Stopping the monitor and closing the socket return; what the monitor
	 * holds is every event, none lost to a full pipe. */
	ss_link_close_watched(router, NULL);
	while (ss_link_monitor_event(pair, &event, &value))
		events++;
	ck_assert_int_ge(events, 2 * PEERS);
	zmq_close(pair);
	for (int i = 0; i < PEERS; i++)
		zmq_close(peers[i]);
	zmq_ctx_term(ctx);
	free(peers);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { unread_events_stall_neither_the_peers_nor_the_close };

	return tl_run("link_monitor", tests, sizeof tests / sizeof tests[0], 60);
}
