/* test_local_limit: the agent's local endpoint admits max_local_clients
 * connections at once (agent_local.c, ss_admit.c).
 *
 * With --max-local-clients 3 and three clients connected and idle, a
 * fourth is refused at once: its request gets no answer, and the client
 * (ss_client, storectl) says why well within its reply timeout; the
 * refusal is counted in status local_clients_refused and logged once per
 * interval. The three
 * are still served; once one leaves, a new client is. And while the three
 * send the worst local frames, one after another without waiting, with a
 * refused client trying too, the agent's peak RSS stays under the bound
 * docs/security.md states for three clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "ss_client.h"
#include "ss_link.h"
#include "ss_proto.h"
#include "ss_time.h"

#define MAX_CLIENTS 3
#define WAIT_MS 5000
/* Well under the clients' reply timeout (5 s), which is what a refusal
 * nobody heard would take; the machine may be busy. */
#define REFUSED_WITHIN_MS 2500

/* A raw client: a DEALER in a context of its own, as a till's. */
struct client {
	void *ctx, *sock;
};

static void client_open(struct client *c, const char *ep)
{
	int linger = 0;

	c->ctx = zmq_ctx_new();
	c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
	ck_assert_ptr_nonnull(c->sock);
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
	ck_assert_int_eq(zmq_connect(c->sock, ep), 0);
}

static void client_close(struct client *c)
{
	zmq_close(c->sock);
	zmq_ctx_term(c->ctx);
	c->sock = c->ctx = NULL;
}

static void client_send_raw(struct client *c, const void *buf, size_t len)
{
	ck_assert_int_eq(zmq_send(c->sock, "", 0, ZMQ_SNDMORE), 0);
	ck_assert_int_eq(zmq_send(c->sock, buf, len, 0), (int)len);
}

/* The next reply, or NULL within timeout_ms. */
static Storesync__LocalReply *client_reply(struct client *c, int timeout_ms)
{
	zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
	Storesync__LocalReply *r;
	zmq_msg_t f[2];
	int n;

	if (zmq_poll(&it, 1, timeout_ms) != 1)
		return NULL;
	n = ss_link_recv(c->sock, f, 2, 0);
	ck_assert_int_eq(n, 2);
	r = storesync__local_reply__unpack(NULL, zmq_msg_size(&f[1]), zmq_msg_data(&f[1]));
	ss_link_close_frames(f, 2);
	return r;
}

/* A status request's answer, or NULL when none came within timeout_ms. */
static Storesync__LocalReply *client_status(struct client *c, int timeout_ms)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__StatusRequest st = STORESYNC__STATUS_REQUEST__INIT;
	Storesync__LocalReply *r;
	uint8_t buf[64];
	size_t len;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_STATUS;
	req.status = &st;
	len = storesync__local_request__pack(&req, buf);
	client_send_raw(c, buf, len);
	r = client_reply(c, timeout_ms);
	if (r && r->kind_case != STORESYNC__LOCAL_REPLY__KIND_STATUS) {
		storesync__local_reply__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

static int client_served(struct client *c, int timeout_ms)
{
	Storesync__LocalReply *r = client_status(c, timeout_ms);

	if (r)
		storesync__local_reply__free_unpacked(r, NULL);
	return r != NULL;
}

/* A status figure, asked on c (a new connection would need a place). */
static int64_t status_field(struct client *c, const char *what)
{
	Storesync__LocalReply *r = client_status(c, WAIT_MS);
	int64_t v = -1;

	if (!r)
		return -1;
	if (strcmp(what, "local_clients") == 0)
		v = (int64_t)r->status->local_clients;
	else if (strcmp(what, "local_clients_refused") == 0)
		v = (int64_t)r->status->local_clients_refused;
	else if (strcmp(what, "max_local_clients") == 0)
		v = (int64_t)r->status->max_local_clients;
	storesync__local_reply__free_unpacked(r, NULL);
	return v;
}

static int64_t wait_field(struct client *c, const char *what, int64_t want)
{
	int64_t v = -1;

	for (int64_t t0 = ss_mono_ms(); ss_mono_ms() - t0 < WAIT_MS; ss_sleep_ms(50))
		if ((v = status_field(c, what)) == want)
			break;
	return v;
}

static const struct ss_client_kind agent_kind = {
	.prog = "storectl", .key = "agent", .env = "STORESYNC_AGENT", .def = "",
	.service = SS_SERVICE_AGENT, .what = "store agent",
	.closed_at_handshake = "the agent refused the connection: too many local clients",
};

/* A fourth client: refused at once, with the reason (ss_client's path). */
static void expect_refused(const char *local)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__StatusRequest st = STORESYNC__STATUS_REQUEST__INIT;
	Storesync__LocalReply *reply = NULL;
	struct ss_client c = { 0 };
	char err[512] = "";
	int64_t t0;
	int rc;

	ck_assert_int_eq(ss_client_init(&c, &agent_kind, local, NULL, err, sizeof err), SS_EXIT_OK);
	ck_assert_int_eq(ss_client_open(&c, err, sizeof err), SS_EXIT_OK);
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_STATUS;
	req.status = &st;
	t0 = ss_mono_ms();
	rc = ss_client_local(&c, &req, &reply, err, sizeof err);
	printf("local_limit: refused in %lld ms: %s\n", (long long)(ss_mono_ms() - t0), err);
	ck_assert_int_lt(ss_mono_ms() - t0, REFUSED_WITHIN_MS);
	ck_assert_int_eq(rc, SS_EXIT_UNREACHABLE);
	ck_assert_ptr_null(reply);
	ck_assert_msg(strstr(err, "too many local clients"), "the client said: %s", err);
	ss_client_close(&c);
}

START_TEST(past_max_local_clients_a_client_is_refused_at_once)
{
	struct client in[MAX_CLIENTS], late;
	struct tl_env e;
	char local[320], data[320], log[320], out[400];
	int64_t t0, refused;
	pid_t agent;

	tl_env_init(&e);
	agent = tl_start_agent(&e, "S1", "--max-local-clients", "3", NULL);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(log, sizeof log, "%s/agent-S1.log", e.dir);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		client_open(&in[i], local);
		ck_assert_msg(client_served(&in[i], WAIT_MS), "client %d not served", i);
	}
	ck_assert_int_eq(status_field(&in[0], "max_local_clients"), MAX_CLIENTS);
	/* tl_start_agent's probes have gone: the three hold every place. */
	ck_assert_int_eq(wait_field(&in[0], "local_clients", MAX_CLIENTS), MAX_CLIENTS);

	/* Full: a fourth is told at once, and counted. */
	expect_refused(local);
	snprintf(out, sizeof out, "%s/storectl.err", e.dir);
	t0 = ss_mono_ms();
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' status 2>'%s'", SS_BIN_DIR, local, out),
		SS_EXIT_UNREACHABLE);
	printf("local_limit: storectl refused in %lld ms\n", (long long)(ss_mono_ms() - t0));
	ck_assert_int_lt(ss_mono_ms() - t0, REFUSED_WITHIN_MS);
	ck_assert_int_eq((int)tl_log_count(out, "the agent refused the connection: too many local clients"),
		1);
	for (int i = 0; i < MAX_CLIENTS; i++)
		ck_assert_msg(client_served(&in[i], WAIT_MS), "client %d not served while full", i);
	ck_assert_int_le((int)tl_log_count(log, "max_local_clients 3\\): a new connection refused"), 1);
	ck_assert_int_ge((int)tl_log_count(log, "max_local_clients 3\\): a new connection refused"), 1);

	/* One leaves: a new client gets its place; the others are still served. */
	client_close(&in[0]);
	ck_assert_int_eq(wait_field(&in[1], "local_clients", MAX_CLIENTS - 1), MAX_CLIENTS - 1);
	refused = status_field(&in[1], "local_clients_refused");
	ck_assert_int_ge(refused, 2);        /* ss_client's and storectl's, at least */
	client_open(&late, local);
	ck_assert(client_served(&late, WAIT_MS));
	for (int i = 1; i < MAX_CLIENTS; i++)
		ck_assert(client_served(&in[i], WAIT_MS));
	client_close(&late);
	for (int i = 1; i < MAX_CLIENTS; i++)
		client_close(&in[i]);
	ck_assert(tl_alive(agent));
	tl_stop(agent);
	tl_env_cleanup(&e);
}
END_TEST

/* ---- memory: the allowed clients' worst, a refused one's too ---- */

/* docs/security.md, "Worst case per daemon": base 10, one local round 128,
 * each connection's queue (TL_CONN_QUEUE_KIB; no hub here: its message is
 * not counted). */
#define BASE_KIB ((int64_t)10 * 1024)
#define LOCAL_ROUND_KIB ((int64_t)128 * 1024)
#define FRAMES_EACH 4

/* A LocalRequest of SS_MAX_MSG_BYTES whose submit is empty records: the
 * costliest shape per byte once unpacked (as test_hostile's). */
static uint8_t *worst_local(size_t *len)
{
	size_t bytes = SS_MAX_MSG_BYTES, n = (bytes - 16) / 2, body = 2 * n, p = 0;
	uint8_t *buf = malloc(bytes);

	ck_assert_ptr_nonnull(buf);
	buf[p++] = 0x08;
	buf[p++] = 0x01;
	buf[p++] = 0x12;
	for (; body >= 0x80; body >>= 7)
		buf[p++] = (uint8_t)(body | 0x80);
	buf[p++] = (uint8_t)body;
	for (size_t i = 0; i < n; i++) {
		buf[p++] = 0x0a;
		buf[p++] = 0x00;
	}
	*len = p;
	return buf;
}

START_TEST(allowed_clients_worst_frames_stay_within_the_bound)
{
	struct client in[MAX_CLIENTS], out;
	struct tl_env e;
	char local[320], data[320];
	int64_t hwm0, hwm1, bound;
	size_t len;
	uint8_t *frame = worst_local(&len);
	pid_t agent;

	tl_env_init(&e);
	agent = tl_start_agent(&e, "S1", "--max-local-clients", "3", NULL);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		client_open(&in[i], local);
		ck_assert(client_served(&in[i], WAIT_MS));
	}
	hwm0 = tl_vm_hwm_kib(agent);
	/* The refused one sends its worst too: none of it is read. */
	client_open(&out, local);
	client_send_raw(&out, frame, len);
	for (int k = 0; k < FRAMES_EACH; k++)
		for (int i = 0; i < MAX_CLIENTS; i++)
			client_send_raw(&in[i], frame, len);
	for (int k = 0; k < FRAMES_EACH; k++)
		for (int i = 0; i < MAX_CLIENTS; i++) {
			Storesync__LocalReply *r = client_reply(&in[i], 20000);

			ck_assert_msg(r && r->error && strstr(r->error, "too large once unpacked"),
				"client %d frame %d: %s", i, k, r && r->error ? r->error : "no answer");
			storesync__local_reply__free_unpacked(r, NULL);
		}
	ck_assert_ptr_null(client_reply(&out, 200));
	hwm1 = tl_vm_hwm_kib(agent);
	bound = TL_RSS_SCALE(BASE_KIB + LOCAL_ROUND_KIB + MAX_CLIENTS * TL_CONN_QUEUE_KIB) + TL_RSS_SLACK_KIB;
	printf("local_limit: %d clients x %d worst frames: agent %lld -> %lld KiB (bound %lld)\n",
		MAX_CLIENTS, FRAMES_EACH, (long long)hwm0, (long long)hwm1, (long long)bound);
	ck_assert_int_gt(hwm0, 0);
	ck_assert_int_lt(hwm1, bound);
	ck_assert_int_ge(status_field(&in[0], "local_clients_refused"), 1);
	ck_assert_int_eq(status_field(&in[0], "local_clients"), MAX_CLIENTS);
	for (int i = 0; i < MAX_CLIENTS; i++)
		ck_assert(client_served(&in[i], WAIT_MS));
	client_close(&out);
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(&in[i]);
	free(frame);
	ck_assert(tl_alive(agent));
	tl_stop(agent);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { past_max_local_clients_a_client_is_refused_at_once,
		allowed_clients_worst_frames_stay_within_the_bound };

	return tl_run("local_limit", tests, sizeof tests / sizeof tests[0], 60);
}
