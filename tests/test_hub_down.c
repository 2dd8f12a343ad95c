/* test_hub_down: guarantee 1 for "a network down" (and 2). Three agents run
 * with no hub at all for the whole submit phase: every record is still
 * accepted (an agent answers after its own fsync, never waiting for the hub)
 * and shows up as backlog. Then the hub starts, and every record of every
 * store arrives exactly once and the backlogs drain to zero. Waiting for
 * the hub, and idle once drained, an agent sleeps: a store offline for a
 * day must not burn a core for a day (the link's loop once did). */
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define N_STORES 3
#define STORE_RECORDS 5000
#define REQ_RECORDS 500
#define SETTLE_TIMEOUT_MS 40000
#define IDLE_WATCH_MS 3000
/* CPU an agent may use in IDLE_WATCH_MS with nothing to do, in ticks of
 * 1/100 s: a tenth of a core (a spinning loop takes all of one). */
#define IDLE_MAX_TICKS 30

struct store {
	const char *id;
	char local[320], data[320];
	int64_t accepted, amount;
};

/* STORE_RECORDS sales to s with amounts varying per request. */
static void submit_all(struct store *s, int64_t base_amount)
{
	for (int i = 0; i < STORE_RECORDS / REQ_RECORDS; i++) {
		int64_t amount = base_amount + 7 * i;
		int n = tl_submit_sales(s->local, REQ_RECORDS, amount, s->id,
			(uint64_t)i * REQ_RECORDS + 1, NULL, 10000);

		ck_assert_msg(n == REQ_RECORDS, "agent %s accepted %d of %d without a hub",
			s->id, n, REQ_RECORDS);
		s->accepted += n;
		s->amount += n * amount;
	}
}

/* What storectl status shows while the hub is down. */
static void check_backlog(const struct store *s)
{
	Storesync__StatusReply *st = tl_status(s->local, 2000);

	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(st->last_seq, s->accepted);
	ck_assert_uint_eq(st->acked_seq, 0);
	ck_assert_uint_eq(st->backlog, s->accepted);
	ck_assert_msg(st->link_state && strcmp(st->link_state, "up") != 0,
		"link_state is \"%s\" with no hub", st->link_state ? st->link_state : "(none)");
	ck_assert_int_gt(st->oldest_unsent_age_ms, 0);
	tl_status_free(st);
}

/* Over IDLE_WATCH_MS, none of the agents uses more than IDLE_MAX_TICKS. */
static void check_idle(const pid_t *agents, const char *while_what)
{
	int64_t before[N_STORES];

	for (int i = 0; i < N_STORES; i++)
		before[i] = tl_cpu_ticks(agents[i]);
	ss_sleep_ms(IDLE_WATCH_MS);
	for (int i = 0; i < N_STORES; i++) {
		int64_t used = tl_cpu_ticks(agents[i]) - before[i];

		ck_assert_msg(before[i] >= 0 && used <= IDLE_MAX_TICKS,
			"agent %d used %lld/100 s of CPU in %d ms %s", i + 1, (long long)used,
			IDLE_WATCH_MS, while_what);
	}
}

static void check_arrived(const struct tl_env *e, const struct store *s)
{
	ck_assert_int_ge(tl_wait_records(e->hub_query, s->id, s->accepted, SETTLE_TIMEOUT_MS),
		s->accepted);
	ck_assert_int_eq(tl_wait_drained(s->local, SETTLE_TIMEOUT_MS), s->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "records"), s->accepted);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "amount_fen"), s->amount);
	ck_assert_int_eq(tl_store_field(e->hub_query, s->id, "high_water_seq"), s->accepted);
}

START_TEST(records_submitted_while_hub_down_all_arrive_once)
{
	struct store stores[N_STORES] = { { .id = "S1" }, { .id = "S2" }, { .id = "S3" } };
	pid_t hub, agents[N_STORES];
	struct tl_env e;

	tl_env_init(&e);
	for (int i = 0; i < N_STORES; i++) {
		tl_agent_paths(&e, stores[i].id, stores[i].local, sizeof stores[i].local,
			stores[i].data, sizeof stores[i].data);
		agents[i] = tl_start_agent(&e, stores[i].id, NULL);
	}
	for (int i = 0; i < N_STORES; i++)
		submit_all(&stores[i], 100 * (i + 1));
	for (int i = 0; i < N_STORES; i++)
		check_backlog(&stores[i]);
	check_idle(agents, "waiting for the hub with a backlog");
	hub = tl_start_hub(&e, NULL);
	for (int i = 0; i < N_STORES; i++)
		check_arrived(&e, &stores[i]);
	check_idle(agents, "linked, with nothing to send");
	for (int i = 0; i < N_STORES; i++)
		tl_stop(agents[i]);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { records_submitted_while_hub_down_all_arrive_once };

	return tl_run("hub_down", tests, 1, 120);
}
