/* agent_submit: records handed in by tills and storectl (the submit kind of
 * the local endpoint, agent_local.c).
 *
 * Invariant: a client hears "accepted, seq N" only after record N is
 * committed (fsync) in the outbox. The records of every submit read in one
 * round go into one write transaction (group commit), so many tills
 * submitting at once share one fsync. Records are judged in order, each
 * seeing what the earlier ones of the round did: a record whose business
 * key the store already has is a duplicate (same content: the original's
 * seq, nothing written) or refused (other content), agent_keys; a new one
 * must pass HQ's policies in force at its time, agent_enforce. Each record
 * gets its own answer: a refused record (invalid, a key conflict, a policy,
 * buffer full) does not take the others down with it. Everything decided inside
 * the transaction is decided again when ss_lmdb_write replays the body
 * after growing the map: the body starts each run from the committed state
 * and resets every slot's verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ss_log.h"
#include "ss_time.h"
#include "ss_record.h"
#include "ss_validate.h"

#define SUBMIT_MAX_RECORDS 100000
/* Pages a record's key (keys, key_age) and request state may add: a page
 * split in each, up a tree of a few levels. The budget keeps this free. */
#define RECORD_RESERVE_PAGES 8u

/* One submitted record and what became of it. */
struct submit_slot {
	struct outbox_slot ob;      /* ob.record NULL when refused before the transaction */
	char *reason;               /* refused by validation (malloc'd) */
	struct ss_bizkey key;
	/* Verdicts of the transaction, reset at the start of every run: */
	uint64_t dup_of;            /* > 0: the same record as this seq */
	char *verdict;              /* refused in the transaction (malloc'd) */
};

struct submit_round {
	struct submit_slot *slots;  /* every submitted record of the round, in order */
	size_t n_slots, cap_slots;
	struct outbox_txn t;
	int64_t now_ms;
	int rc;                     /* of the commit: 0, or nothing was stored */
	char err[256];
};

static int ensure_slots(struct submit_round *r, size_t extra)
{
	size_t want = r->n_slots + extra;
	struct submit_slot *s;

	if (want <= r->cap_slots)
		return 0;
	s = realloc(r->slots, want * 2 * sizeof *s);
	if (!s)
		return -1;
	r->slots = s;
	r->cap_slots = want * 2;
	return 0;
}

void submit_begin(struct agent *a)
{
	if (!a->submit && !(a->submit = calloc(1, sizeof *a->submit)))
		return;
	a->submit->n_slots = 0;
	a->submit->rc = 0;
	a->submit->err[0] = '\0';
}

int submit_round_full(const struct agent *a)
{
	return a->submit && a->submit->n_slots >= SUBMIT_MAX_RECORDS;
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

int submit_collect(struct agent *a, struct local_request *p)
{
	struct submit_round *r = a->submit;
	Storesync__SubmitRequest *sub = p->req->submit;
	int64_t now_ms = ss_now_ms();
	char reason[256];

	if (!r || ensure_slots(r, sub->n_records) != 0)
		return -1;
	p->first_slot = r->n_slots;
	for (size_t i = 0; i < sub->n_records; i++) {
		struct submit_slot *s = &r->slots[r->n_slots++];

		memset(s, 0, sizeof *s);
		s->ob.record = sub->records[i];
		/* Stamped first: a rule may need the store-local time (a case
		 * number names the local month of its registration). */
		s->ob.record->utc_offset_min = offset_at(a, s->ob.record->time_ms);
		s->ob.record->has_utc_offset_min = 1;
		if (ss_validate_record(s->ob.record, a->outbox.store_id, now_ms, reason,
			sizeof reason) != 0) {
			s->reason = strdup(reason);
			s->ob.record = NULL;
			continue;
		}
		ss_record_drop_defaults(s->ob.record);
		if (ss_bizkey_of(s->ob.record, &s->key) != 0) {
			s->reason = strdup("record has no business key");
			s->ob.record = NULL;
		}
	}
	return 0;
}

/* What an accepted record changes at the store besides the outbox, in the
 * same transaction. */
static int record_effects(struct agent *a, MDB_txn *txn, struct submit_slot *s)
{
	uint8_t hash[SS_BIZKEY_HASH_BYTES];
	int rc;

	/* The hash of what the till sent, from the packing just stored. */
	if (ss_bizkey_hash_packed(s->ob.record, s->ob.packed, s->ob.packed_len, hash) != 0)
		return SS_EIO;
	rc = keys_put(&a->db, txn, &s->key, hash, s->ob.record);
	if (rc == 0)
		rc = enforce_apply(a, txn, s->ob.record);
	if (rc == 0 && s->ob.record->body_case == STORESYNC__RECORD__BODY_REPLENISHMENT)
		rc = requests_put_pending(&a->db, txn, s->ob.record);
	return rc;
}

static void reset_verdict(struct submit_slot *s)
{
	s->ob.seq = 0;
	s->ob.full = 0;
	s->dup_of = 0;
	free(s->verdict);
	s->verdict = NULL;
}

/* 0 when the policies let s in; ENFORCE_REFUSED with s->verdict set. */
static int judge_policies(struct agent *a, MDB_txn *txn, struct submit_slot *s)
{
	char reason[256];
	int rc = enforce_check(a, txn, s->ob.record, reason, sizeof reason);

	if (rc == ENFORCE_REFUSED && !(s->verdict = strdup(reason)))
		return SS_EIO;
	return rc;
}

/* Is s one the store has (KEYS_SAME, KEYS_CONFLICT) or new (KEYS_NEW)? */
static int judge_key(struct agent *a, MDB_txn *txn, struct submit_slot *s)
{
	char reason[256];
	int rc = keys_check(&a->db, txn, &s->key, s->ob.record, &s->dup_of, reason,
		sizeof reason);

	if (rc == KEYS_CONFLICT) {
		s->dup_of = 0;
		if (!(s->verdict = strdup(reason)))
			return SS_EIO;
	}
	return rc;
}

static int commit_body(MDB_txn *txn, void *arg)
{
	struct agent *a = arg;
	struct submit_round *r = a->submit;
	int full = 0, rc;

	outbox_txn_begin(&r->t, &a->outbox, txn, r->now_ms);
	for (size_t i = 0; i < r->n_slots; i++) {
		struct submit_slot *s = &r->slots[i];

		if (!s->ob.record)
			continue;
		reset_verdict(s);
		if ((rc = judge_key(a, txn, s)) != KEYS_NEW) {
			if (rc == KEYS_SAME || rc == KEYS_CONFLICT)
				continue;
			return rc;
		}
		/* Keep order: once one record does not fit, later new ones do not
		 * go in ahead of it. */
		if ((s->ob.full = full))
			continue;
		if ((rc = judge_policies(a, txn, s)) != 0) {
			if (rc == ENFORCE_REFUSED)
				continue;
			return rc;
		}
		if ((rc = outbox_txn_append(&r->t, &s->ob,
			(uint64_t)RECORD_RESERVE_PAGES * a->db.page_bytes)) != 0)
			return rc;
		full = s->ob.full;
		if (s->ob.seq && (rc = record_effects(a, txn, s)) != 0)
			return rc;
	}
	return outbox_txn_end(&r->t);
}

/* Test-only (agent.h): the agent dies between the fsync and the answer.
 * Read once; unset, nothing happens. */
static void test_exit_after_commit(void)
{
	static long left = -1;
	const char *v;

	if (left < 0)
		left = (v = getenv(AGENT_TEST_EXIT_ENV)) && atol(v) > 0 ? atol(v) : 0;
	if (left > 0 && --left == 0)
		_exit(AGENT_TEST_EXIT_CODE);
}

void submit_commit(struct agent *a)
{
	struct submit_round *r = a->submit;
	size_t valid = 0;

	if (!r)
		return;
	for (size_t i = 0; i < r->n_slots; i++)
		valid += r->slots[i].ob.record != NULL;
	if (valid == 0)
		return;
	r->now_ms = ss_now_ms();
	r->rc = ss_lmdb_write(&a->db.lmdb, commit_body, a, r->err, sizeof r->err);
	if (r->rc == 0) {
		uint64_t full = 0, accepted = 0;

		test_exit_after_commit();
		outbox_txn_adopt(&r->t);
		for (size_t i = 0; i < r->n_slots; i++) {
			full += r->slots[i].ob.full;
			accepted += r->slots[i].ob.seq > 0;
		}
		events_buffer(a, full, accepted);
		return;
	}
	if (r->rc == SS_EFULL) {
		snprintf(r->err, sizeof r->err, "buffer full");
		events_buffer(a, valid, 0);
	} else
		ss_error("outbox commit failed: %s", r->err);
	/* Nothing is stored: no slot may claim a seq, a duplicate or a verdict
	 * from the abandoned transaction. */
	for (size_t i = 0; i < r->n_slots; i++)
		reset_verdict(&r->slots[i]);
}

static void fill_result(const struct submit_round *r, const struct submit_slot *s,
	Storesync__SubmitResult *res)
{
	storesync__submit_result__init(res);
	if (s->reason)
		res->error = s->reason;
	else if (r->rc)
		res->error = (char *)r->err;
	else if (s->verdict)
		res->error = s->verdict;
	else if (s->dup_of) {
		res->seq = s->dup_of;
		res->has_seq = 1;
		res->duplicate = 1;
		res->has_duplicate = 1;
	} else if (s->ob.full)
		res->error = "buffer full";
	else if (s->ob.seq == 0)
		res->error = "not stored";
	else {
		res->seq = s->ob.seq;
		res->has_seq = 1;
	}
}

void submit_answer(struct agent *a, struct local_request *p)
{
	struct submit_round *r = a->submit;
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__SubmitReply sub = STORESYNC__SUBMIT_REPLY__INIT;
	size_t n = p->req->submit->n_records;
	Storesync__SubmitResult *res = calloc(n ? n : 1, sizeof *res);
	Storesync__SubmitResult **ptrs = calloc(n ? n : 1, sizeof *ptrs);

	if (res && ptrs) {
		for (size_t i = 0; i < n; i++) {
			fill_result(r, &r->slots[p->first_slot + i], &res[i]);
			ptrs[i] = &res[i];
			a->metrics.refused_records += res[i].error != NULL;
		}
		sub.n_results = n;
		sub.results = ptrs;
		reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_SUBMIT;
		reply.submit = &sub;
	} else {
		reply.error = "out of memory";
	}
	local_reply(a, p, &reply);
	a->metrics.submits++;
	a->metrics.submitted_records += n;
	ss_histo_observe(&a->metrics.submit_latency, &ss_histo_latency,
		(uint64_t)(ss_mono_us() - p->received_us));
	for (size_t i = 0; i < n; i++) {
		struct submit_slot *s = &r->slots[p->first_slot + i];

		free(s->reason);
		free(s->verdict);
		s->reason = s->verdict = NULL;
	}
	free(res);
	free(ptrs);
}

void submit_free(struct agent *a)
{
	if (a->submit)
		free(a->submit->slots);
	free(a->submit);
	a->submit = NULL;
}
