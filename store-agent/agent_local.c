/* agent_local: the local endpoint where tills and storectl talk to the agent.
 *
 * Every request waiting on the ROUTER is read first, then each kind goes to
 * its own handler through one table: submits are collected and committed
 * together (agent_submit: group commit, one fsync for all), queries answer
 * from LMDB read transactions. A request that is malformed, of another
 * protocol version, or of a kind not in the table (unset, or a newer
 * client's) is refused with a one-line error reply, never treated as
 * another kind. Every reply to a REQ client carries the empty delimiter
 * frame, error replies included, or REQ would drop it.
 *
 * How many clients: at most max_local_clients connections at once, so the
 * agent's memory has a bound (docs/security.md: each connection may park
 * 9 frames in libzmq). The socket's monitor reports each accepted
 * connection with its descriptor and each closed one; past the cap the new
 * connection is shut down at once (ss_admit, as the hub does for
 * max_stores), counted in local_clients_refused and logged once per
 * interval. The client sees its handshake end, which storectl reports as
 * the refusal (ss_client.c).
 *
 * Before the agent reads a connection's ACCEPTED (during a long round),
 * libzmq's I/O thread would finish its handshake and take in its
 * requests, up to 9 frames. So the socket has a ZAP domain: the NULL
 * handshake waits for the agent's ZAP answer, which it gives after
 * reading the monitor, where that connection's ACCEPTED already waits
 * (libzmq reports it before the handshake starts). A refused connection
 * is shut down before its handshake can end, so nothing of it is read.
 * The answer is always yes (the socket file's mode decides who may
 * connect); ZAP is only the wait. Each request's descriptor (ZMQ_SRCFD) is
 * still checked as it is read, and a refused connection's requests are
 * dropped unanswered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_arena.h"
#include "ss_link.h"
#include "ss_log.h"
#include "ss_time.h"

#define LOCAL_MAX_REQUESTS 512
/* What the requests of one round may hold unpacked before reading stops;
 * with the last one read (SS_LOCAL_UNPACKED_MAX_BYTES at most) the round's
 * bound in docs/security.md. */
#define LOCAL_ROUND_MAX_UNPACKED_BYTES ((size_t)64 << 20)
#define LOG_INTERVAL_MS 10000

struct local_handler {
	Storesync__LocalRequest__KindCase kind;
	/* Called as the request is read (a submit hands its records to the
	 * round); NULL when the kind needs nothing before answering. Returns 0 or
	 * -1 (out of memory). */
	int (*collect)(struct agent *a, struct local_request *p);
	/* Answers the request with local_reply, after the submit round committed. */
	void (*answer)(struct agent *a, struct local_request *p);
};

static const struct local_handler handlers[] = {
	{ STORESYNC__LOCAL_REQUEST__KIND_SUBMIT, submit_collect, submit_answer },
	{ STORESYNC__LOCAL_REQUEST__KIND_STATUS, NULL, status_answer },
	{ STORESYNC__LOCAL_REQUEST__KIND_PRICE, NULL, query_price_answer },
	{ STORESYNC__LOCAL_REQUEST__KIND_POLICY, NULL, query_policy_answer },
	{ STORESYNC__LOCAL_REQUEST__KIND_NOTICES, NULL, query_notices_answer },
	{ STORESYNC__LOCAL_REQUEST__KIND_REQUESTS, NULL, query_requests_answer },
	{ STORESYNC__LOCAL_REQUEST__KIND_REEPOCH, NULL, reepoch_answer },
};

struct local_round {
	struct local_request reqs[LOCAL_MAX_REQUESTS];
	size_t n;
	/* Every request of the round unpacked here, not with a malloc per
	 * field (a tenth of the agent's intake), let go at the round's end. */
	struct ss_arena arena;
};

static const struct local_handler *handler_of(Storesync__LocalRequest__KindCase kind)
{
	for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (handlers[i].kind == kind)
			return &handlers[i];
	return NULL;
}

/* Unpacks a request body and finds its handler, or sets p->error. */
static void parse_body(struct ss_arena *arena, struct local_request *p, zmq_msg_t *body)
{
	enum ss_proto_verdict v = ss_arena_unpack_limited(arena,
		&storesync__local_request__descriptor, zmq_msg_data(body), zmq_msg_size(body),
		&ss_limits_local, (ProtobufCMessage **)&p->req, &p->cost_bytes);

	if (v == SS_PROTO_TOO_LARGE_UNPACKED)
		p->error = "request too large once unpacked (send fewer records per request)";
	else if (v != SS_PROTO_OK)
		p->error = v == SS_PROTO_MALFORMED ? "malformed request: not a LocalRequest"
			: ss_proto_verdict_text(v);
	else if (p->req->proto_version != SS_PROTO_VERSION)
		p->error = "unsupported proto_version (this agent speaks 1)";
	else if (!(p->handler = handler_of(p->req->kind_case)))
		p->error = "unknown request kind (this agent answers submit, status, price, policy, "
			"notices, requests, reepoch)";
}

static int from_refused(struct agent *a, zmq_msg_t *id)
{
	int fd = zmq_msg_get(id, ZMQ_SRCFD);

	/* Accepted since the round began: its event is waiting. */
	if (ss_admit_state(&a->local_admit, fd) == SS_ADMIT_UNKNOWN)
		local_on_monitor(a);
	return ss_admit_state(&a->local_admit, fd) == SS_ADMIT_REFUSED;
}

/* Reads one request into p; returns 0 when one was read, 1 when it was a
 * refused connection's (dropped), -1 when none waits.
 * A REQ client's request starts with the empty delimiter, which its answer
 * must carry too, even when the request is refused for its frames: REQ
 * drops a reply without it. */
static int read_request(struct agent *a, struct ss_arena *arena, struct local_request *p)
{
	zmq_msg_t f[3];
	int n = ss_link_recv(a->local, f, 3, ZMQ_DONTWAIT);

	if (n < 0)
		return -1;
	if (n > 0 && from_refused(a, &f[0])) {
		ss_link_close_frames(f, n < 3 ? n : 3);
		return 1;
	}
	memset(p, 0, sizeof *p);
	p->received_us = ss_mono_us();
	zmq_msg_init(&p->id);
	zmq_msg_move(&p->id, &f[0]);
	p->delimited = n >= 3 && zmq_msg_size(&f[1]) == 0;
	if (n == 3 && p->delimited)
		parse_body(arena, p, &f[2]);
	else if (n == 2)
		parse_body(arena, p, &f[1]);
	else
		p->error = "malformed request: expected one body frame";
	ss_link_close_frames(f, n < 3 ? n : 3);
	return 0;
}

void local_reply(struct agent *a, struct local_request *p, const Storesync__LocalReply *reply)
{
	/* Says who answers, so a client pointed at the wrong endpoint can tell. */
	((Storesync__LocalReply *)reply)->service = (char *)SS_SERVICE_AGENT; /* callers' locals */
	zmq_msg_send(&p->id, a->local, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	if (p->delimited)
		zmq_send(a->local, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	if (ss_proto_send(a->local, &reply->base, ZMQ_DONTWAIT) != 0)
		ss_warn("local: reply lost: %s", zmq_strerror(zmq_errno()));
}

/* Guarantee 7: a refused request is logged, one line per interval. */
static void refuse(struct agent *a, struct local_request *p)
{
	static struct ss_lograte rate;   /* the agent has one thread */
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	uint64_t held = 0;

	a->refused_requests++;
	if (ss_lograte_allow(&rate, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("local: refused a request: %s%s", p->error,
			ss_lograte_note(held));
	reply.error = (char *)p->error;
	local_reply(a, p, &reply);
}

/* The request's memory goes with the round's arena. */
static void release(struct local_request *p)
{
	zmq_msg_close(&p->id);
}

/* ---- admission ---- */

#define LOCAL_MONITOR_ENDPOINT "inproc://agent-local-monitor"
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "local"
#define ZAP_FRAMES 8

int local_watch(struct agent *a, char *err, size_t errlen)
{
	int linger = 0;

	if (ss_admit_init(&a->local_admit, a->cfg.max_local_clients, a->local_bound) != 0) {
		snprintf(err, errlen, "cannot keep the local endpoint's admission: %s",
			strerror(errno));
		return -1;
	}
	if (!(a->local_monitor = ss_link_monitor(a->zctx, a->local, LOCAL_MONITOR_ENDPOINT,
		ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED))) {
		snprintf(err, errlen, "cannot monitor the local endpoint: %s",
			zmq_strerror(zmq_errno()));
		return -1;
	}
	if (!(a->local_zap = zmq_socket(a->zctx, ZMQ_REP))
		|| zmq_setsockopt(a->local_zap, ZMQ_LINGER, &linger, sizeof linger) != 0
		|| zmq_bind(a->local_zap, ZAP_ENDPOINT) != 0
		|| zmq_setsockopt(a->local, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0) {
		snprintf(err, errlen, "cannot bind the local endpoint's ZAP handler: %s",
			zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static void client_accepted(struct agent *a, int fd)
{
	uint64_t held = 0;

	if (ss_admit_accepted(&a->local_admit, fd))
		return;
	a->local_clients_refused++;
	if (ss_lograte_allow(&a->local_refused_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("local: %lld clients connected (max_local_clients %lld): a new connection "
			"refused%s", (long long)a->local_admit.admitted,
			(long long)a->cfg.max_local_clients, ss_lograte_note(held));
}

/* Every event waiting: [event u16, value u32][endpoint]. */
void local_on_monitor(struct agent *a)
{
	uint16_t event;
	int32_t value;

	while (a->local_monitor && ss_link_monitor_event(a->local_monitor, &event, &value)) {
		if (event == ZMQ_EVENT_ACCEPTED)
			client_accepted(a, value);
		else if (event == ZMQ_EVENT_DISCONNECTED)
			ss_admit_closed(&a->local_admit, value);
	}
}

/* ZAP (RFC 27): [version, request id, domain, address, identity,
 * mechanism, credentials...] -> [version, request id, status, text, user
 * id, metadata]. */
void local_on_zap(struct agent *a)
{
	zmq_msg_t f[ZAP_FRAMES];
	int n;

	while (a->local_zap && (n = ss_link_recv(a->local_zap, f, ZAP_FRAMES, ZMQ_DONTWAIT)) >= 0) {
		/* Only the local socket's handshakes are ours to let through: the
		 * handler serves the whole context, and a server socket added to it
		 * later must not be admitted by a handler that always says yes. */
		int ours = n >= 3 && zmq_msg_size(&f[2]) == strlen(ZAP_DOMAIN)
			&& memcmp(zmq_msg_data(&f[2]), ZAP_DOMAIN, strlen(ZAP_DOMAIN)) == 0;

		/* A connection past the cap is shut down before it may go on. */
		local_on_monitor(a);
		zmq_send(a->local_zap, "1.0", 3, ZMQ_SNDMORE);
		if (n >= 2)
			zmq_msg_send(&f[1], a->local_zap, ZMQ_SNDMORE);
		else
			zmq_send(a->local_zap, "", 0, ZMQ_SNDMORE);
		zmq_send(a->local_zap, ours ? "200" : "400", 3, ZMQ_SNDMORE);
		zmq_send(a->local_zap, ours ? "OK" : "unknown ZAP domain", ours ? 2 : 18,
			ZMQ_SNDMORE);
		zmq_send(a->local_zap, "", 0, ZMQ_SNDMORE);
		zmq_send(a->local_zap, "", 0, 0);
		ss_link_close_frames(f, n < ZAP_FRAMES ? n : ZAP_FRAMES);
	}
}

/* ---- requests ---- */

void local_on_readable(struct agent *a)
{
	struct local_round *r;
	size_t unpacked = 0;

	/* Reused between rounds: the agent has one thread. */
	if (!a->local_round) {
		if (!(a->local_round = calloc(1, sizeof *a->local_round))) {
			ss_error("local: out of memory");
			return;
		}
		ss_arena_init(&a->local_round->arena, 0);
	}
	r = a->local_round;
	r->n = 0;
	/* Connections past the cap go before their requests are read. */
	local_on_monitor(a);
	submit_begin(a);
	while (r->n < LOCAL_MAX_REQUESTS && !submit_round_full(a)
		&& unpacked < LOCAL_ROUND_MAX_UNPACKED_BYTES) {
		struct local_request *p = &r->reqs[r->n];
		int rc = read_request(a, &r->arena, p);

		if (rc < 0)
			break;
		if (rc > 0)
			continue;
		r->n++;
		unpacked += p->cost_bytes;
		if (!p->error && p->handler->collect && p->handler->collect(a, p) != 0)
			p->error = "out of memory";
	}
	submit_commit(a);
	for (size_t i = 0; i < r->n; i++) {
		struct local_request *p = &r->reqs[i];

		if (p->error)
			refuse(a, p);
		else
			p->handler->answer(a, p);
		release(p);
	}
	ss_arena_rewind(&r->arena, &(struct ss_arena_mark){ 0 });
}

void local_free(struct agent *a)
{
	if (a->local_round)
		ss_arena_release(&a->local_round->arena);
	free(a->local_round);
	a->local_round = NULL;
	submit_free(a);
	ss_admit_free(&a->local_admit);
}
