/* test_crash_apply: an update is applied whole or not at all. A test hub
 * peer streams price lists (every one sets all SKUS SKUs, each to a price
 * only that update gives it) with a few updates in flight, while the test
 * kill -9's the agent at random moments. After each kill the test reopens
 * the agent's LMDB: the price table must be exactly the state after some
 * whole number of updates (every SKU once, all from the update meta calls
 * applied, none from another), never a mix, and never behind what the agent
 * acknowledged. The restarted agent's Hello reports that same id and the
 * stream resumes from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ss_time.h"
#include "testlib.h"

#define SKUS 2000
#define CRASHES 6
#define IN_FLIGHT 3
#define WAIT_MS 10000

static int64_t price_of(uint64_t update_id, int sku)
{
	return (int64_t)update_id * 100000 + sku;
}

static void sku_name(char *buf, size_t len, int sku)
{
	snprintf(buf, len, "SKU-%05d", sku);
}

static Storesync__Update *price_update(uint64_t id)
{
	Storesync__Update *u = tl_update(id, id - 1);
	char sku[16];

	/* Effective long ago, later for each update: each supersedes the last. */
	for (int i = 0; i < SKUS; i++) {
		sku_name(sku, sizeof sku, i);
		tl_update_price(u, (int64_t)id, sku, price_of(id, i));
	}
	return u;
}

/* Reads the killed agent's LMDB: returns applied_update_id after checking
 * that the prices in force are exactly update `applied`'s: every SKU at
 * that update's price, from that update (none before the first). */
static uint64_t check_whole(const char *data)
{
	struct agent_db db;
	uint64_t applied = 0;
	MDB_txn *txn;
	char err[256], sku[16];

	ck_assert_msg(agent_db_open(&db, data, 1 << 30, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(ss_lmdb_read_begin(&db.lmdb, &txn), 0);
	agent_db_meta_get(&db, txn, "applied_update_id", &applied);
	for (int i = 0; i < SKUS; i++) {
		Storesync__DatedPrice *now, *next;

		sku_name(sku, sizeof sku, i);
		ck_assert_int_eq(prices_at(&db, txn, sku, ss_now_ms(), &now, &next, NULL), 0);
		if (!applied) {
			ck_assert_ptr_null(now);
			continue;
		}
		ck_assert_msg(now != NULL, "%s has no price; meta says update %llu applied", sku,
			(unsigned long long)applied);
		ck_assert_msg(now->update_id == applied, "%s from update %llu, meta says %llu applied",
			sku, (unsigned long long)now->update_id, (unsigned long long)applied);
		ck_assert_int_eq(now->price->price_fen, price_of(applied, i));
		storesync__dated_price__free_unpacked(now, NULL);
		if (next)
			storesync__dated_price__free_unpacked(next, NULL);
	}
	ss_lmdb_read_end(&db.lmdb, txn);
	agent_db_close(&db);
	return applied;
}

/* Streams updates from applied + 1 for ms milliseconds, IN_FLIGHT at a
 * time; returns the highest id the agent acknowledged. */
static uint64_t stream_for(struct tl_fakehub *h, uint64_t applied, int ms, uint64_t *sent)
{
	int64_t deadline = ss_mono_ms() + ms;
	uint64_t acked = applied;

	*sent = applied;
	while (ss_mono_ms() < deadline) {
		Storesync__LinkMessage *m;

		while (*sent < acked + IN_FLIGHT) {
			Storesync__Update *u = price_update(*sent + 1);

			ck_assert_int_eq(tl_fakehub_send(h, u), 0);
			storesync__update__free_unpacked(u, NULL);
			(*sent)++;
		}
		m = tl_fakehub_next(h, STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK,
			(int)(deadline - ss_mono_ms()));
		if (!m)
			break;
		ck_assert_uint_ge(m->update_ack->applied_update_id, acked);
		acked = m->update_ack->applied_update_id;
		storesync__link_message__free_unpacked(m, NULL);
	}
	return acked;
}

START_TEST(kill9_mid_update_leaves_whole_updates)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	struct tl_fakehub hub;
	struct tl_env e;
	char local[320], data[320];
	uint64_t applied = 0, acked, sent, unacked_commits = 0;
	pid_t agent;

	fprintf(stderr, "crash_apply: seed %u\n", seed);
	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	tl_fakehub_open(&hub, e.hub_listen);
	for (int crash = 0; crash < CRASHES; crash++) {
		agent = tl_start_agent(&e, "S1", NULL);
		ck_assert_uint_eq(tl_fakehub_hello(&hub, WAIT_MS), applied);
		acked = stream_for(&hub, applied, 150 + (int)(rand_r(&seed) % 500), &sent);
		tl_kill9(agent);
		tl_fakehub_forget(&hub);
		applied = check_whole(data);
		ck_assert_msg(applied >= acked && applied <= sent, "applied %llu after acks through "
			"%llu and %llu sent", (unsigned long long)applied, (unsigned long long)acked,
			(unsigned long long)sent);
		unacked_commits += applied > acked;
	}
	fprintf(stderr, "crash_apply: %llu updates applied, %llu kills after a commit not yet "
		"acknowledged\n", (unsigned long long)applied, (unsigned long long)unacked_commits);
	ck_assert_uint_ge(applied, CRASHES);
	agent = tl_start_agent(&e, "S1", NULL);
	ck_assert_uint_eq(tl_fakehub_hello(&hub, WAIT_MS), applied);
	ck_assert_int_eq(tl_price_fen(local, "SKU-01999", 0), price_of(applied, 1999));
	tl_stop(agent);
	tl_fakehub_close(&hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { kill9_mid_update_leaves_whole_updates };

	return tl_run("crash_apply", tests, 1, 120);
}
