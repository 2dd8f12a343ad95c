/* agent_local: the local endpoint where tills and storectl talk to the agent.
 *
 * Every request waiting on the ROUTER is read first, then each kind goes to
 * its own handler through one table: submits are collected and committed
 * together (agent_submit: group commit, one fsync for all), queries answer
 * from LMDB read transactions. A request that is malformed, of another
 * protocol version, or of a kind not in the table (unset, or a newer
 * client's) is refused with a one-line error reply, never treated as
 * another kind. Every reply to a REQ client carries the empty delimiter
 * frame, error replies included, or REQ would drop it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
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
};

static const struct local_handler *handler_of(Storesync__LocalRequest__KindCase kind)
{
	for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (handlers[i].kind == kind)
			return &handlers[i];
	return NULL;
}

/* Unpacks a request body and finds its handler, or sets p->error. */
static void parse_body(struct local_request *p, zmq_msg_t *body)
{
	enum ss_proto_verdict v = ss_proto_unpack_limited(&storesync__local_request__descriptor,
		zmq_msg_data(body), zmq_msg_size(body), &ss_limits_local, (ProtobufCMessage **)&p->req,
		&p->cost_bytes);

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

/* Reads one request into p; returns 0 when one was read, -1 when none waits.
 * A REQ client's request starts with the empty delimiter, which its answer
 * must carry too, even when the request is refused for its frames: REQ
 * drops a reply without it. */
static int read_request(struct agent *a, struct local_request *p)
{
	zmq_msg_t f[3];
	int n = ss_link_recv(a->local, f, 3, ZMQ_DONTWAIT);

	if (n < 0)
		return -1;
	memset(p, 0, sizeof *p);
	p->received_us = ss_mono_us();
	zmq_msg_init(&p->id);
	zmq_msg_move(&p->id, &f[0]);
	p->delimited = n >= 3 && zmq_msg_size(&f[1]) == 0;
	if (n == 3 && p->delimited)
		parse_body(p, &f[2]);
	else if (n == 2)
		parse_body(p, &f[1]);
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
		ss_warn("local: refused a request: %s (%llu more since last line)", p->error,
			(unsigned long long)held);
	reply.error = (char *)p->error;
	local_reply(a, p, &reply);
}

static void release(struct local_request *p)
{
	if (p->req)
		storesync__local_request__free_unpacked(p->req, NULL);
	zmq_msg_close(&p->id);
}

void local_on_readable(struct agent *a)
{
	struct local_round *r;
	size_t unpacked = 0;

	/* Reused between rounds: the agent has one thread. */
	if (!a->local_round && !(a->local_round = calloc(1, sizeof *a->local_round))) {
		ss_error("local: out of memory");
		return;
	}
	r = a->local_round;
	r->n = 0;
	submit_begin(a);
	while (r->n < LOCAL_MAX_REQUESTS && !submit_round_full(a)
		&& unpacked < LOCAL_ROUND_MAX_UNPACKED_BYTES) {
		struct local_request *p = &r->reqs[r->n];

		if (read_request(a, p) != 0)
			break;
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
}

void local_free(struct agent *a)
{
	free(a->local_round);
	a->local_round = NULL;
	submit_free(a);
}
