/* test_commit_failure: a round the hub cannot commit changes nothing.
 *
 * A hub at its LMDB budget cannot commit a round that needs more room: the
 * store is told (an Error, "retry later"), and nothing of that round may
 * count, not in LMDB and not in anything the writer keeps in memory for
 * the next round (the round's store states are freed, and read again).
 * A state that kept the failed round's high-water mark would take the
 * store's resent records for duplicates: acknowledged, never applied,
 * lost (a writer that kept its states between rounds, tried on
 * 2026-12-02, fails here when it keeps a failed round's). Here the store fills the hub's 16 MB budget until a batch fails,
 * then sends the first records of that batch again, fewer of them: they
 * must be applied, once, and acknowledged exactly through their last seq. */
#include <stdio.h>
#include <stdlib.h>

#include "testlib.h"

#define EPOCH 0x0badc0ffee000001ull
#define BATCH 2000
#define RETRY 5
#define MAX_BATCHES 200   /* 400,000 records: far past 16 MB */

static int64_t fen(uint64_t seq)
{
	return 100 + (int64_t)(seq % 7);
}

/* The next Ack's through_seq, or 0 when the hub answered with an Error
 * (checked to be its commit failure). */
static uint64_t ack_or_failure(struct tl_link *l)
{
	for (;;) {
		Storesync__LinkMessage *m = tl_link_recv(l, 20000);
		uint64_t through = 0;
		int done = 1;

		ck_assert_msg(m != NULL, "no answer to a batch");
		if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ACK)
			through = m->ack->through_seq;
		else if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ERROR)
			ck_assert_msg(m->error->code == STORESYNC__ERROR_CODE__ERR_INTERNAL,
				"error %d: %s", (int)m->error->code, m->error->reason);
		else
			done = 0;   /* a heartbeat or an update: not the answer */
		storesync__link_message__free_unpacked(m, NULL);
		if (done)
			return through;
	}
}

START_TEST(records_of_a_round_that_failed_are_applied_when_sent_again)
{
	struct tl_env e;
	struct tl_link l;
	uint64_t next = 1, through = 0, failed_at = 0;
	int64_t sum = 0;
	pid_t hub;

	tl_env_init(&e);
	hub = tl_start_hub(&e, "--budget", "16M", NULL);
	tl_link_open(&l, e.hub_listen);
	ck_assert_int_eq(tl_link_hello(&l, "S1", EPOCH), 0);
	for (int i = 0; i < MAX_BATCHES && !failed_at; i++) {
		tl_link_batch(&l, "S1", EPOCH, next, BATCH, fen);
		if ((through = ack_or_failure(&l)) == 0) {
			failed_at = next;
			break;
		}
		ck_assert_uint_eq(through, next + BATCH - 1);
		next += BATCH;
	}
	ck_assert_msg(failed_at > 1, "the budget never filled (or the first batch failed)");
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), (int64_t)failed_at - 1);

	/* The start of the failed batch again, small enough to fit. */
	tl_link_batch(&l, "S1", EPOCH, failed_at, RETRY, fen);
	ck_assert_uint_eq(ack_or_failure(&l), failed_at + RETRY - 1);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"),
		(int64_t)(failed_at + RETRY - 1));
	for (uint64_t s = 1; s < failed_at + RETRY; s++)
		sum += fen(s);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "amount_fen"), sum);
	tl_link_close(&l);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { records_of_a_round_that_failed_are_applied_when_sent_again };

	return tl_run("commit_failure", tests, sizeof tests / sizeof tests[0], 120);
}
