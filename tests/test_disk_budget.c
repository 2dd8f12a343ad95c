/* test_disk_budget: guarantee 5 end to end, with the real daemons. An agent
 * with a 1 MiB budget and no hub takes records until its buffer is full; from
 * then on every refused record gets exactly "buffer full" and no seq, in
 * order (nothing accepted after a refusal), and the agent's backlog equals
 * what it accepted. When the hub comes, every accepted record arrives (count
 * and amount exactly); once acknowledged, those records give way and new
 * submits are accepted again, with seqs continuing where they stopped, and
 * reach the hub too. The budget is the whole agent's: price lists HQ sends
 * down fill it as records do, and once they have, submits get "buffer
 * full" (and the price list that did not fit is not acknowledged). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define PER_REQUEST 100

/* What the agent accepted so far, as the till saw it. */
struct tally {
	uint64_t accepted;
	uint64_t last_seq;
	int64_t amount_fen;
	uint64_t refused;
	uint64_t receipts;  /* receipts handed out, accepted or not */
};

/* Submits one request of PER_REQUEST sales and checks every answer: accepted
 * ones get the next seqs, refused ones "buffer full" and no seq, and nothing
 * is accepted after a refusal. Returns how many were refused. */
static size_t submit_request(const char *local, struct tally *t)
{
	Storesync__Record *recs[PER_REQUEST];
	int64_t amount[PER_REQUEST];
	uint64_t seqs[PER_REQUEST];
	char *errors[PER_REQUEST], receipt[32];
	size_t refused = 0;

	for (size_t i = 0; i < PER_REQUEST; i++) {
		t->receipts++;
		amount[i] = 100 + (int64_t)(t->receipts % 997);
		snprintf(receipt, sizeof receipt, "R%llu", (unsigned long long)t->receipts);
		recs[i] = tl_sale(amount[i], receipt);
	}
	ck_assert_int_eq(tl_submit(local, recs, PER_REQUEST, seqs, errors, 10000), 0);
	for (size_t i = 0; i < PER_REQUEST; i++) {
		if (seqs[i] > 0) {
			ck_assert_msg(refused == 0, "record %zu accepted after a refused one", i);
			ck_assert_ptr_null(errors[i]);
			ck_assert_uint_eq(seqs[i], t->last_seq + 1);
			t->last_seq = seqs[i];
			t->accepted++;
			t->amount_fen += amount[i];
		} else {
			ck_assert_msg(errors[i] != NULL, "record %zu: no seq and no error", i);
			ck_assert_str_eq(errors[i], "buffer full");
			refused++;
		}
		free(errors[i]);
		storesync__record__free_unpacked(recs[i], NULL);
	}
	t->refused += refused;
	return refused;
}

/* Submits until some record is refused; returns how many requests it took. */
static int fill_buffer(const char *local, struct tally *t)
{
	for (int n = 1; n <= 500; n++)
		if (submit_request(local, t) > 0)
			return n;
	ck_abort_msg("no \"buffer full\" after %llu records", (unsigned long long)t->receipts);
	return -1;
}

static Storesync__StatusReply *status(const char *local)
{
	Storesync__StatusReply *st = tl_status(local, 2000);

	ck_assert_msg(st != NULL, "agent does not answer status");
	return st;
}

/* Waits until the agent has every record acknowledged. */
static void wait_acked(const char *local, uint64_t want, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms;
	uint64_t acked = 0;

	while (ss_mono_ms() < deadline) {
		Storesync__StatusReply *st = status(local);

		acked = st->acked_seq;
		tl_status_free(st);
		if (acked >= want)
			return;
		ss_sleep_ms(100);
	}
	ck_abort_msg("agent acked through %llu, want %llu", (unsigned long long)acked,
		(unsigned long long)want);
}

/* The hub holds exactly what the agent accepted: count and amount. */
static void expect_hub_has(const struct tl_env *e, const struct tally *t, int timeout_ms)
{
	int64_t got = tl_wait_records(e->hub_query, "S1", (int64_t)t->accepted, timeout_ms);

	ck_assert_int_eq(got, (int64_t)t->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, "S1", "amount_fen"), t->amount_fen);
}

START_TEST(buffer_full_is_honest_and_recovers)
{
	struct tl_env e;
	struct tally t = { 0 };
	Storesync__StatusReply *st;
	char local[320], data[320];
	uint64_t before;
	pid_t agent, hub;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	agent = tl_start_agent(&e, "S1", "--budget", "1M", NULL);
	fill_buffer(local, &t);
	ck_assert_uint_gt(t.accepted, 1000);
	/* Full stays full: whole requests refused, no seq handed out. */
	before = t.refused;
	ck_assert_uint_eq(submit_request(local, &t), PER_REQUEST);
	ck_assert_uint_eq(t.refused - before, PER_REQUEST);
	st = status(local);
	ck_assert_uint_eq(st->last_seq, t.accepted);
	ck_assert_uint_eq(st->backlog, t.accepted);
	ck_assert_uint_eq(st->acked_seq, 0);
	ck_assert_uint_eq(st->budget_bytes, 1 << 20);
	ck_assert_uint_le(st->used_bytes, st->budget_bytes);
	tl_status_free(st);

	hub = tl_start_hub(&e, NULL);
	expect_hub_has(&e, &t, 20000);
	wait_acked(local, t.accepted, 10000);
	/* Acknowledged records give way: accepted again, seqs continue. */
	before = t.accepted;
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(submit_request(local, &t), 0);
	ck_assert_uint_eq(t.accepted, before + 3 * PER_REQUEST);
	expect_hub_has(&e, &t, 10000);
	st = status(local);
	ck_assert_uint_le(st->used_bytes, st->budget_bytes);
	tl_status_free(st);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* A budget lowered below what the store's keys alone hold (10,000 sales'
 * keys, about 2 MB, under 1 MiB): every submit is refused, and the retained
 * copies of acknowledged records stay, since evicting them all would not
 * make room; the agent says so at start. */
START_TEST(budget_below_the_keys_keeps_the_retained_records)
{
	struct tl_env e;
	struct tally t = { 0 };
	Storesync__StatusReply *st;
	char local[320], data[320];
	uint64_t retained;
	pid_t agent, hub;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "S1", "--budget", "8M", NULL);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(submit_request(local, &t), 0);
	wait_acked(local, t.accepted, 20000);
	st = status(local);
	retained = st->retained;
	ck_assert_uint_eq(retained, t.accepted);
	tl_status_free(st);
	tl_stop(agent);

	agent = tl_start_agent(&e, "S1", "--budget", "1M", NULL);
	ck_assert_int_eq(tl_sh("grep -q 'every record is refused (buffer full) until the budget "
		"is raised' '%s/agent-S1.log'", e.dir), 0);
	ck_assert_uint_eq(submit_request(local, &t), PER_REQUEST);
	st = status(local);
	ck_assert_uint_eq(st->retained, retained);
	ck_assert_uint_eq(st->last_seq, t.accepted);
	tl_status_free(st);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

#define SKUS_PER_LIST 300

/* Price lists of new SKUs until the agent stops acknowledging them; returns
 * how many it applied. */
static uint64_t fill_with_prices(struct tl_fakehub *hub)
{
	for (uint64_t id = 1; id <= 400; id++) {
		Storesync__Update *u = tl_update(id, id - 1);
		Storesync__LinkMessage *ack;
		char sku[32];

		for (int i = 0; i < SKUS_PER_LIST; i++) {
			snprintf(sku, sizeof sku, "P%03llu-%03d", (unsigned long long)id, i);
			tl_update_price(u, 1000, sku, 100 + i);
		}
		ck_assert_int_eq(tl_fakehub_send(hub, u), 0);
		storesync__update__free_unpacked(u, NULL);
		ack = tl_fakehub_next(hub, STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK, 3000);
		if (!ack)
			return id - 1;
		ck_assert_uint_eq(ack->update_ack->applied_update_id, id);
		storesync__link_message__free_unpacked(ack, NULL);
	}
	ck_abort_msg("the agent took 400 price lists into a 1 MiB budget");
	return 0;
}

START_TEST(prices_share_the_budget)
{
	struct tl_env e;
	struct tl_fakehub hub;
	struct tally t = { 0 };
	Storesync__StatusReply *st;
	char local[320], data[320];
	uint64_t lists;
	pid_t agent;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	tl_fakehub_open(&hub, e.hub_listen);
	agent = tl_start_agent(&e, "S1", "--budget", "1M", NULL);
	ck_assert_uint_eq(tl_fakehub_hello(&hub, 10000), 0);
	lists = fill_with_prices(&hub);
	ck_assert_uint_gt(lists, 3);
	st = status(local);
	ck_assert_uint_eq(st->price_update_id, lists);
	ck_assert_uint_le(st->used_bytes, st->budget_bytes);
	ck_assert_uint_gt(st->used_bytes, st->budget_bytes * 8 / 10);
	tl_status_free(st);
	ck_assert_int_eq(tl_sh("grep -q 'disk budget' '%s/agent-S1.log'", e.dir), 0);
	/* An empty 1 MiB budget takes thousands of records (test above); what
	 * the prices leave takes few. */
	fill_buffer(local, &t);
	ck_assert_uint_lt(t.accepted, 500);
	st = status(local);
	ck_assert_uint_le(st->used_bytes, st->budget_bytes);
	tl_status_free(st);
	tl_stop(agent);
	tl_fakehub_close(&hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { buffer_full_is_honest_and_recovers, prices_share_the_budget,
		budget_below_the_keys_keeps_the_retained_records };

	return tl_run("disk_budget", tests, sizeof tests / sizeof tests[0], 60);
}
