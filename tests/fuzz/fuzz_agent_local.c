/* fuzz_agent_local: the agent's handling of one request on its local
 * endpoint (submit, status, price, policy, notices, requests, reepoch), as a REQ
 * till sends it, on a scratch LMDB.
 * Invariants beyond "no crash":
 *  - exactly one answer comes back, after the empty delimiter, and parses
 *    as a LocalReply that says it is the agent's;
 *  - a submit gets one result per record; the seqs of new records follow
 *    the outbox's last seq one by one, and the outbox grew by exactly them;
 *  - what the agent made durable is what the hub will accept: every new
 *    record in the outbox passes the hub's checks (stamped, valid). */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "ss_link.h"
#include "ss_validate.h"

#define RESET_EVERY 5000

static struct fz_agent ag;
static unsigned runs;

static Storesync__LocalReply *the_answer(void)
{
	zmq_msg_t f[3];
	int n = fz_recv(ag.till, f, 3);
	Storesync__LocalReply *r;

	FZ_CHECK(n == 2 && zmq_msg_size(&f[0]) == 0, "answered with %d frames", n);
	r = (Storesync__LocalReply *)ss_proto_unpack(&storesync__local_reply__descriptor,
		zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SIZE_MAX);
	FZ_CHECK(r != NULL, "the answer does not parse");
	FZ_CHECK(r->service && strcmp(r->service, SS_SERVICE_AGENT) == 0, "service");
	ss_link_close_frames(f, 2);
	FZ_CHECK(fz_recv(ag.till, f, 3) == 0, "a second answer");
	return r;
}

/* The hub's judgement of the outbox's record seq. */
static void hub_would_accept(uint64_t seq)
{
	Storesync__Record **recs;
	size_t n;
	char why[256];

	FZ_CHECK(outbox_read(&ag.a.outbox, seq, 1, &recs, &n) == 0 && n == 1, "seq %llu",
		(unsigned long long)seq);
	FZ_CHECK(ss_validate_recorded(recs[0], why, sizeof why) == 0
		&& ss_validate_record(recs[0], ag.a.outbox.store_id, recs[0]->recorded_ms, why,
		sizeof why) == 0, "stored seq %llu is refused by the hub: %s",
		(unsigned long long)seq, why);
	storesync__record__free_unpacked(recs[0], NULL);
	free(recs);
}

static void submit_answered(const Storesync__SubmitRequest *sub,
	const Storesync__LocalReply *r, uint64_t last_before)
{
	uint64_t next = last_before + 1;

	if (r->error) {
		/* Refused whole (too large, budget): nothing of it was kept. */
		FZ_CHECK(ag.a.outbox.last_seq == last_before, "refused submit moved the outbox "
			"from %llu to %llu", (unsigned long long)last_before,
			(unsigned long long)ag.a.outbox.last_seq);
		return;
	}
	FZ_CHECK(r->kind_case == STORESYNC__LOCAL_REPLY__KIND_SUBMIT, "kind %d", r->kind_case);
	FZ_CHECK(r->submit->n_results == sub->n_records, "%zu results for %zu records",
		r->submit->n_results, sub->n_records);
	for (size_t i = 0; i < r->submit->n_results; i++) {
		const Storesync__SubmitResult *res = r->submit->results[i];

		if (res->error || res->duplicate)
			continue;
		FZ_CHECK(res->seq == next, "record %zu got seq %llu, want %llu", i,
			(unsigned long long)res->seq, (unsigned long long)next);
		hub_would_accept(next++);
	}
	FZ_CHECK(ag.a.outbox.last_seq == next - 1, "outbox at %llu, answers say %llu",
		(unsigned long long)ag.a.outbox.last_seq, (unsigned long long)(next - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Storesync__LocalRequest *req = NULL;
	Storesync__LocalReply *r;
	uint64_t last_before;

	if (runs++ % RESET_EVERY == 0) {
		if (runs > 1)
			fz_agent_close(&ag);
		fz_agent_open(&ag);
	}
	last_before = ag.a.outbox.last_seq;
	ss_proto_unpack_limited(&storesync__local_request__descriptor, data, size,
		&ss_limits_local, (ProtobufCMessage **)&req, NULL);
	zmq_send(ag.till, "", 0, ZMQ_SNDMORE);
	zmq_send(ag.till, data, size, 0);
	local_on_readable(&ag.a);
	r = the_answer();
	if (req && req->kind_case == STORESYNC__LOCAL_REQUEST__KIND_SUBMIT
		&& req->proto_version == SS_PROTO_VERSION)
		submit_answered(req->submit, r, last_before);
	else
		FZ_CHECK(ag.a.outbox.last_seq == last_before, "a non-submit added records");
	storesync__local_reply__free_unpacked(r, NULL);
	if (req)
		storesync__local_request__free_unpacked(req, NULL);
	return 0;
}
