/* agent_submit: the local endpoint where tills and storectl hand in records.
 *
 * Invariant: a client hears "accepted, seq N" only after record N is
 * committed (fsync) in the outbox. Every request waiting on the socket is
 * read first and all their valid records go into one write transaction
 * (group commit), so many tills submitting at once share one fsync.
 * Each record gets its own answer: a refused record (invalid, or buffer
 * full) does not take the others down with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "ss_link.h"
#include "ss_log.h"
#include "ss_time.h"
#include "ss_validate.h"

#define SUBMIT_MAX_REQUESTS 512
#define SUBMIT_MAX_RECORDS 100000
#define LOG_INTERVAL_MS 10000

struct pending {
	zmq_msg_t id;
	int delimited;                   /* REQ client: an empty frame before the body */
	Storesync__LocalRequest *req;    /* NULL when malformed */
	const char *error;               /* request-level refusal */
	size_t first_slot;               /* this request's records in the slot array */
	char **reasons;                  /* per record: refusal reason or NULL */
};

struct submit_round {
	struct pending reqs[SUBMIT_MAX_REQUESTS];
	size_t n_reqs;
	struct outbox_slot *slots;       /* every submitted record, valid or not */
	size_t n_slots, cap_slots;
};

static int ensure_slots(struct submit_round *r, size_t extra)
{
	size_t want = r->n_slots + extra;
	struct outbox_slot *s;

	if (want <= r->cap_slots)
		return 0;
	s = realloc(r->slots, want * 2 * sizeof *s);
	if (!s)
		return -1;
	r->slots = s;
	r->cap_slots = want * 2;
	return 0;
}

/* Reads one request into p; returns 0 when one was read, -1 when none waits. */
static int read_request(struct agent *a, struct pending *p)
{
	zmq_msg_t f[3];
	int n = ss_link_recv(a->local, f, 3, ZMQ_DONTWAIT);
	zmq_msg_t *body;

	if (n < 0)
		return -1;
	memset(p, 0, sizeof *p);
	zmq_msg_init(&p->id);
	zmq_msg_move(&p->id, &f[0]);
	if (n == 3 && zmq_msg_size(&f[1]) == 0) {
		p->delimited = 1;
		body = &f[2];
	} else if (n == 2) {
		body = &f[1];
	} else {
		p->error = "malformed request: expected one body frame";
		ss_link_close_frames(f, n < 3 ? n : 3);
		return 0;
	}
	p->req = (Storesync__LocalRequest *)ss_proto_unpack(&storesync__local_request__descriptor,
		zmq_msg_data(body), zmq_msg_size(body), SS_MAX_MSG_BYTES);
	if (!p->req)
		p->error = "malformed request: not a LocalRequest";
	else if (p->req->proto_version != SS_PROTO_VERSION)
		p->error = "unsupported proto_version (this agent speaks 1)";
	else if (p->req->kind_case == STORESYNC__LOCAL_REQUEST__KIND__NOT_SET)
		p->error = "unknown request kind";
	ss_link_close_frames(f, n);
	return 0;
}

/* The store's offset from UTC at t: fixed by configuration, or the system
 * zone's (which follows daylight saving). */
static int32_t offset_at(const struct agent *a, int64_t t_ms)
{
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;

	if (!a->cfg.auto_offset || !localtime_r(&t, &tm))
		return a->cfg.utc_offset_min;
	return (int32_t)(tm.tm_gmtoff / 60);
}

static int collect_records(struct agent *a, struct submit_round *r, struct pending *p)
{
	Storesync__SubmitRequest *sub = p->req->submit;
	int64_t now_ms = ss_now_ms();
	char reason[256];

	if (ensure_slots(r, sub->n_records) != 0)
		return -1;
	p->reasons = calloc(sub->n_records ? sub->n_records : 1, sizeof *p->reasons);
	if (!p->reasons)
		return -1;
	p->first_slot = r->n_slots;
	for (size_t i = 0; i < sub->n_records; i++) {
		struct outbox_slot *s = &r->slots[r->n_slots++];

		memset(s, 0, sizeof *s);
		s->record = sub->records[i];
		if (ss_validate_record(s->record, a->outbox.store_id, now_ms, reason, sizeof reason) != 0) {
			p->reasons[i] = strdup(reason);
			s->record = NULL;
			continue;
		}
		s->record->utc_offset_min = offset_at(a, s->record->time_ms);
		s->record->has_utc_offset_min = 1;
	}
	return 0;
}

static void send_reply(struct agent *a, struct pending *p, const Storesync__LocalReply *reply)
{
	((Storesync__LocalReply *)reply)->service = (char *)SS_SERVICE_AGENT; /* callers' locals */
	zmq_msg_send(&p->id, a->local, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	if (p->delimited)
		zmq_send(a->local, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	if (ss_proto_send(a->local, &reply->base, ZMQ_DONTWAIT) != 0)
		ss_warn("local: reply lost: %s", zmq_strerror(zmq_errno()));
}

static void answer_submit(struct agent *a, struct submit_round *r, struct pending *p,
	const char *commit_error)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__SubmitReply sub = STORESYNC__SUBMIT_REPLY__INIT;
	size_t n = p->req->submit->n_records;
	Storesync__SubmitResult *res = calloc(n ? n : 1, sizeof *res);
	Storesync__SubmitResult **ptrs = calloc(n ? n : 1, sizeof *ptrs);

	if (!res || !ptrs)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct outbox_slot *s = &r->slots[p->first_slot + i];

		storesync__submit_result__init(&res[i]);
		ptrs[i] = &res[i];
		if (p->reasons[i])
			res[i].error = p->reasons[i];
		else if (s->full)
			res[i].error = "buffer full";
		else if (s->seq == 0)
			res[i].error = (char *)(commit_error ? commit_error : "not stored");
		else {
			res[i].seq = s->seq;
			res[i].has_seq = 1;
		}
	}
	sub.n_results = n;
	sub.results = ptrs;
	reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_SUBMIT;
	reply.submit = &sub;
	send_reply(a, p, &reply);
done:
	free(res);
	free(ptrs);
}

/* Guarantee 7: a refused request is logged, one line per interval. */
static void log_refusal(const char *reason)
{
	static struct ss_lograte rate;   /* the agent has one thread */
	uint64_t held = 0;

	if (ss_lograte_allow(&rate, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("local: refused a request: %s (%llu more since last line)", reason,
			(unsigned long long)held);
}

static void answer(struct agent *a, struct submit_round *r, struct pending *p,
	const char *commit_error)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__StatusReply st = STORESYNC__STATUS_REPLY__INIT;

	if (p->error) {
		a->refused_requests++;
		log_refusal(p->error);
		reply.error = (char *)p->error;
		send_reply(a, p, &reply);
	} else if (p->req->kind_case == STORESYNC__LOCAL_REQUEST__KIND_STATUS) {
		status_fill(a, &st);
		reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_STATUS;
		reply.status = &st;
		send_reply(a, p, &reply);
	} else {
		answer_submit(a, r, p, commit_error);
	}
}

static void release(struct pending *p)
{
	if (p->reasons && p->req)
		for (size_t i = 0; i < p->req->submit->n_records; i++)
			free(p->reasons[i]);
	free(p->reasons);
	if (p->req)
		storesync__local_request__free_unpacked(p->req, NULL);
	zmq_msg_close(&p->id);
}

/* Moves the valid slots to the front for outbox_append, then back. */
static int commit_round(struct agent *a, struct submit_round *r, char *err, size_t errlen)
{
	struct outbox_slot *valid = malloc((r->n_slots ? r->n_slots : 1) * sizeof *valid);
	size_t nv = 0;
	int rc;

	if (!valid) {
		snprintf(err, errlen, "out of memory");
		return SS_EIO;
	}
	for (size_t i = 0; i < r->n_slots; i++)
		if (r->slots[i].record)
			valid[nv++] = r->slots[i];
	rc = nv ? outbox_append(&a->outbox, valid, nv, ss_now_ms(), err, errlen) : 0;
	nv = 0;
	for (size_t i = 0; i < r->n_slots; i++)
		if (r->slots[i].record)
			r->slots[i] = valid[nv++];
	free(valid);
	return rc;
}

void submit_free(struct agent *a)
{
	if (a->submit)
		free(a->submit->slots);
	free(a->submit);
	a->submit = NULL;
}

void submit_on_readable(struct agent *a)
{
	struct submit_round *r;
	char err[256] = "";
	int rc;

	/* Reused between rounds: the agent has one thread. */
	if (!a->submit && !(a->submit = calloc(1, sizeof *a->submit))) {
		ss_error("local: out of memory");
		return;
	}
	r = a->submit;
	r->n_reqs = r->n_slots = 0;
	while (r->n_reqs < SUBMIT_MAX_REQUESTS && r->n_slots < SUBMIT_MAX_RECORDS) {
		struct pending *p = &r->reqs[r->n_reqs];

		if (read_request(a, p) != 0)
			break;
		r->n_reqs++;
		if (!p->error && p->req->kind_case == STORESYNC__LOCAL_REQUEST__KIND_SUBMIT
			&& collect_records(a, r, p) != 0)
			p->error = "out of memory";
	}
	rc = commit_round(a, r, err, sizeof err);
	if (rc == SS_EFULL)
		snprintf(err, sizeof err, "buffer full");
	else if (rc != 0)
		ss_error("outbox commit failed: %s", err);
	for (size_t i = 0; i < r->n_reqs; i++) {
		answer(a, r, &r->reqs[i], rc ? err : NULL);
		release(&r->reqs[i]);
	}
}
