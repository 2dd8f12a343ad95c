/* test_crash_agent: guarantees 1 and 2 across agent crashes. A thread
 * kill -9's the store agent at random moments while the test submits to it;
 * the agent is restarted on the same data directory (same epoch) each time.
 * A request answered "accepted" must reach the hub; a request whose answer
 * never came may have committed or not, but only as a whole (one LMDB
 * transaction), so the hub must hold the accepted records plus exactly some
 * subset of the unanswered requests, each record once, and the agent must
 * never hand out a seq twice across restarts. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ss_time.h"
#include "testlib.h"

#define STORE "S1"
#define REQ_RECORDS 200
#define CRASHES 5
#define MAX_UNKNOWN 20
#define SUBMIT_TIMEOUT_MS 2000
#define SETTLE_TIMEOUT_MS 30000

/* The killer thread: kills the published agent pid after a random pause. */
struct killer {
	atomic_int pid;      /* agent to kill; 0 while none is published */
	atomic_int kills;
	atomic_int stop;
	unsigned seed;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;

	while (!atomic_load(&k->stop) && atomic_load(&k->kills) < CRASHES) {
		ss_sleep_ms(200 + rand_r(&k->seed) % 600);
		pid_t pid = atomic_exchange(&k->pid, 0);

		if (pid > 0) {
			kill(pid, SIGKILL);
			atomic_fetch_add(&k->kills, 1);
		}
	}
	return NULL;
}

struct unknown {
	int64_t count, amount;
};

struct stream {
	char local[320], data[320];
	int64_t accepted, amount;       /* answered: exact */
	struct unknown unknown[MAX_UNKNOWN];
	int n_unknown;
	uint64_t max_seq;               /* highest seq handed out so far */
	uint64_t next_no;               /* request number: receipts and amount */
};

/* One request; each has its own per-record amount. Checks seqs only grow. */
static void submit_request(struct stream *s)
{
	uint64_t seqs[REQ_RECORDS];
	int64_t amount = (int64_t)s->next_no * 10 + 1;
	int n = tl_submit_sales(s->local, REQ_RECORDS, amount, STORE, s->next_no * REQ_RECORDS,
		seqs, SUBMIT_TIMEOUT_MS);

	s->next_no++;
	if (n < 0) {
		ck_assert_int_lt(s->n_unknown, MAX_UNKNOWN);
		s->unknown[s->n_unknown++] = (struct unknown){ REQ_RECORDS, REQ_RECORDS * amount };
		return;
	}
	ck_assert_int_eq(n, REQ_RECORDS);
	for (int i = 0; i < REQ_RECORDS; i++) {
		ck_assert_msg(seqs[i] > s->max_seq, "seq %llu handed out after seq %llu",
			(unsigned long long)seqs[i], (unsigned long long)s->max_seq);
		s->max_seq = seqs[i];
	}
	s->accepted += n;
	s->amount += n * amount;
}

/* After a kill: reap the agent and start it again on the same directory. */
static pid_t restart_if_killed(const struct tl_env *e, struct killer *k, pid_t agent)
{
	if (atomic_load(&k->pid) != 0)
		return agent;
	ck_assert_int_eq(waitpid(agent, NULL, 0), agent);
	agent = tl_start_agent(e, STORE, NULL);
	atomic_store(&k->pid, agent);
	return agent;
}

/* True when (count, amount) is the sum of some subset of the unknowns. */
static int some_subset_sums_to(const struct stream *s, int64_t count, int64_t amount)
{
	for (uint32_t mask = 0; mask < (1u << s->n_unknown); mask++) {
		int64_t c = 0, a = 0;

		for (int i = 0; i < s->n_unknown; i++)
			if (mask & (1u << i)) {
				c += s->unknown[i].count;
				a += s->unknown[i].amount;
			}
		if (c == count && a == amount)
			return 1;
	}
	return 0;
}

static void check_hub(const struct tl_env *e, const struct stream *s)
{
	int64_t last = tl_wait_drained(s->local, SETTLE_TIMEOUT_MS);
	int64_t records = tl_store_field(e->hub_query, STORE, "records");
	int64_t amount = tl_store_field(e->hub_query, STORE, "amount_fen");

	fprintf(stderr, "crash_agent: %lld accepted, %d unanswered, agent last_seq %lld, "
		"hub %lld records\n", (long long)s->accepted, s->n_unknown, (long long)last,
		(long long)records);
	ck_assert_msg(last >= 0, "agent still has a backlog");
	ck_assert_uint_ge((uint64_t)last, s->max_seq);
	ck_assert_int_eq(records, last);
	ck_assert_int_eq(tl_store_field(e->hub_query, STORE, "high_water_seq"), last);
	ck_assert_msg(some_subset_sums_to(s, records - s->accepted, amount - s->amount),
		"hub has %lld records / %lld fen beyond the accepted %lld / %lld: "
		"not any set of whole unanswered requests",
		(long long)(records - s->accepted), (long long)(amount - s->amount),
		(long long)s->accepted, (long long)s->amount);
}

START_TEST(agent_kill9_mid_stream_loses_nothing_reuses_no_seq)
{
	struct stream s = { .next_no = 1 };
	struct killer k = { .seed = (unsigned)time(NULL) ^ (unsigned)getpid() };
	struct tl_env e;
	pthread_t killer;
	pid_t hub, agent;

	fprintf(stderr, "crash_agent: seed %u\n", k.seed);
	tl_env_init(&e);
	tl_agent_paths(&e, STORE, s.local, sizeof s.local, s.data, sizeof s.data);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, STORE, NULL);
	atomic_store(&k.pid, agent);
	ck_assert_int_eq(pthread_create(&killer, NULL, killer_main, &k), 0);
	while (atomic_load(&k.kills) < CRASHES) {
		submit_request(&s);
		agent = restart_if_killed(&e, &k, agent);
	}
	atomic_store(&k.stop, 1);
	pthread_join(killer, NULL);
	agent = restart_if_killed(&e, &k, agent);
	submit_request(&s);
	ck_assert_int_ge(tl_wait_records(e.hub_query, STORE, s.accepted, SETTLE_TIMEOUT_MS),
		s.accepted);
	check_hub(&e, &s);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { agent_kill9_mid_stream_loses_nothing_reuses_no_seq };

	return tl_run("crash_agent", tests, 1, 120);
}
