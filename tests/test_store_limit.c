/* test_store_limit: a hub under a low open files limit (hub_listen.c).
 *
 * A hub whose hard limit cannot hold what max_stores needs does not start,
 * and says why. One that can raises its soft limit, serves max_stores
 * connections and refuses the ones past that cleanly: each is closed at
 * once and counted, the refusals are logged once per interval, the stores
 * already in keep syncing, queries are answered, and the hub does not
 * spin. When stores leave, new ones get in. The limit and the door
 * keeper (hub_zap.c) read the store link's one monitor: the refused
 * connections are counted closed (link_disconnects) and an unregistered
 * key is still turned away at its handshake (zap_refused_keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testlib.h"
#include "ss_curve.h"
#include "ss_link.h"
#include "ss_time.h"

#define MAX_STORES 20
#define EXTRA 10
#define SOFT_LIMIT 100
#define HARD_LIMIT 400               /* above what 20 stores need, below the default's */
#define WAIT_MS 10000

static int64_t one(uint64_t seq)
{
	(void)seq;
	return 100;
}

/* A key no store has, dialled once: how many handshakes the hub refused
 * meanwhile. While that socket is still open, the hub's count of store
 * links must come back to links (the refused connection holds no place). */
static int64_t stranger_refused(const struct tl_env *e, int64_t links)
{
	char secret[400], pub[400], hub_key[SS_CURVE_KEY_CHARS + 1], err[512];
	struct ss_curve_pair pair;
	void *ctx = zmq_ctx_new(), *s;
	int64_t before = tl_hub_stat(e->hub_query, "zap_refused_keys"), v = before;

	tl_key_paths(e->dir, "hub", secret, sizeof secret, pub, sizeof pub);
	ck_assert_msg(ss_curve_load_public(pub, hub_key, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(zmq_curve_keypair(pair.public_key, pair.secret_key), 0);
	s = ss_link_socket(ctx, ZMQ_DEALER, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(ss_curve_client(s, &pair, hub_key), 0);
	ck_assert_int_eq(zmq_connect(s, e->hub_listen), 0);
	for (int64_t t0 = ss_mono_ms(); v == before && ss_mono_ms() - t0 < WAIT_MS; ss_sleep_ms(50))
		v = tl_hub_stat(e->hub_query, "zap_refused_keys");
	for (int64_t t0 = ss_mono_ms(); tl_hub_stat(e->hub_query, "store_links") > links
		&& ss_mono_ms() - t0 < WAIT_MS; )
		ss_sleep_ms(50);
	ck_assert_int_eq(tl_hub_stat(e->hub_query, "store_links"), links);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return v - before;
}

/* Waits until counter reaches want; its last value. */
static int64_t wait_stat(const char *query, const char *counter, int64_t want)
{
	int64_t v = -1;

	for (int64_t t0 = ss_mono_ms(); ss_mono_ms() - t0 < WAIT_MS; ss_sleep_ms(50))
		if ((v = tl_hub_stat(query, counter)) >= want)
			break;
	return v;
}

START_TEST(hub_without_the_descriptors_it_needs_does_not_start)
{
	struct tl_env e;
	char log[320];
	int status;

	tl_env_init(&e);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	status = tl_sh("ulimit -n 300 && '%s/hq-hub' --foreground --data-dir '%s' --listen '%s' "
		"--query '%s' --max-stores 1000 --insecure 2>'%s'", SS_BIN_DIR, e.hub_data, e.hub_listen,
		e.hub_query, log);
	ck_assert_int_eq(status, 1);
	ck_assert_int_eq((int)tl_log_count(log, "max_stores 1000 needs"), 1);
	ck_assert_int_eq((int)tl_log_count(log, "hard limit is 300"), 1);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(past_max_stores_new_stores_are_refused_and_the_others_served)
{
	struct rlimit rl = { SOFT_LIMIT, HARD_LIMIT };
	struct tl_link in[MAX_STORES], out[EXTRA], late;
	struct tl_env e;
	char log[320], store[16];
	int64_t ticks;
	pid_t hub;

	tl_env_init(&e);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);   /* the hub inherits it */
	hub = tl_start_hub(&e, "--max-stores", "20", NULL);
	rl.rlim_cur = HARD_LIMIT;                               /* the test's own links */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq((int)tl_log_count(log, "open files limit raised from 100"), 1);
	for (int i = 0; i < MAX_STORES; i++) {
		snprintf(store, sizeof store, "S%d", i);
		tl_link_open(&in[i], e.hub_listen);
		ck_assert_int_eq(tl_link_hello(&in[i], store, 1), 0);
	}
	for (int i = 0; i < EXTRA; i++)
		tl_link_open_as(&out[i], e.hub_listen, "OUT");
	ck_assert_int_ge(wait_stat(e.hub_query, "stores_refused", EXTRA), EXTRA);
	ck_assert_int_eq(tl_hub_stat(e.hub_query, "store_links"), MAX_STORES);
	/* The door keeper saw them too, on the same monitor: shut, so closed. */
	ck_assert_int_ge(wait_stat(e.hub_query, "link_disconnects", EXTRA), EXTRA);

	/* The refused keep trying (libzmq reconnects); the hub neither spins
	 * nor stops serving the stores it has, or its queries. */
	ticks = tl_cpu_ticks(hub);
	for (int i = 0; i < MAX_STORES; i++) {
		snprintf(store, sizeof store, "S%d", i);
		tl_link_batch(&in[i], store, 1, 1, 3, one);
		ck_assert_int_eq(tl_link_ack(&in[i]), 3);
	}
	ss_sleep_ms(1000);
	ck_assert_int_lt(tl_cpu_ticks(hub) - ticks, 50);   /* well under half a core */
	ck_assert_int_eq(tl_store_field(e.hub_query, "S7", "records"), 3);
	ck_assert_int_le((int)tl_log_count(log, "store link full"), 2);

	/* Room again: once stores leave, a new one gets in. */
	for (int i = 0; i < EXTRA; i++)
		tl_link_close(&out[i]);
	for (int i = 0; i < 5; i++)
		tl_link_close(&in[i]);
	for (int64_t t0 = ss_mono_ms(); tl_hub_stat(e.hub_query, "store_links") > MAX_STORES - 5
		&& ss_mono_ms() - t0 < WAIT_MS; )
		ss_sleep_ms(50);
	ck_assert_int_eq(tl_hub_stat(e.hub_query, "store_links"), MAX_STORES - 5);
	/* Admitted by the limit, a key no store has is refused at its handshake,
	 * and its connection does not hold a place. */
	ck_assert_int_ge(stranger_refused(&e, MAX_STORES - 5), 1);
	tl_link_open(&late, e.hub_listen);
	ck_assert_int_eq(tl_link_hello(&late, "LATE", 1), 0);
	tl_link_close(&late);
	for (int i = 5; i < MAX_STORES; i++)
		tl_link_close(&in[i]);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { hub_without_the_descriptors_it_needs_does_not_start,
		past_max_stores_new_stores_are_refused_and_the_others_served };

	return tl_run("store_limit", tests, sizeof tests / sizeof tests[0], 60);
}
