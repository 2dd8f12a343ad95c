/* The daemons as services (the units in deploy/, common/ss_notify.c): SIGTERM
 * in the middle of a stream of submits ends the agent within 5 s (the
 * unit's TimeoutStopSec) with every acknowledged record kept, and the hub
 * likewise, while a store floods it with batches (the commit in hand is
 * finished: every record it acknowledged is there after a restart);
 * SIGHUP re-reads the config file, applies log_level at once, names the
 * settings that wait for a restart, and keeps running as before when the
 * file no longer parses; the hub's SIGHUP also checks every live store
 * link against the registry again and cuts one whose store was revoked
 * since it connected, by a change its writer did not make. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGTERM, then how long until the process is gone (ms), its exit status
 * in *status. */
static int64_t term_and_time(pid_t pid, int *status)
{
	int64_t t0 = mono_ms();

	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, status, 0), pid);
	return mono_ms() - t0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Polls file until it holds text (5 s at most). */
static int log_has(const char *file, const char *text)
{
	for (int i = 0; i < 100; i++) {
		if (tl_sh("grep -qF -- '%s' '%s'", text, file) == 0)
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}

START_TEST(sigterm_mid_stream_exits_fast_and_keeps_every_accepted_record)
{
	struct tl_env e;
	char local[320], data[320];
	int pipefd[2], status;
	int64_t accepted = 0, ms;
	pid_t hub, agent, till;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "S1", NULL);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	ck_assert_int_eq(pipe(pipefd), 0);
	till = fork();
	if (till == 0) {
		/* A till submitting as fast as the agent answers, until it stops
		 * answering; it reports what was accepted. */
		int64_t n = 0;
		int got;

		close(pipefd[0]);
		for (uint64_t no = 1; (got = tl_submit_sales(local, 100, 990, "T", no, NULL, 2000)) >= 0;
			no += 100)
			n += got;
		ck_assert_int_eq(write(pipefd[1], &n, sizeof n), (ssize_t)sizeof n);
		_exit(0);
	}
	close(pipefd[1]);
	usleep(700 * 1000);
	ms = term_and_time(agent, &status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "agent exit status %d", status);
	ck_assert_msg(ms < 5000, "the agent took %lld ms to stop", (long long)ms);
	ck_assert_int_eq(read(pipefd[0], &accepted, sizeof accepted), (ssize_t)sizeof accepted);
	waitpid(till, NULL, 0);
	ck_assert_int_gt(accepted, 0);
	printf("service: the agent stopped %lld ms after SIGTERM; %lld records accepted before\n",
		(long long)ms, (long long)accepted);
	/* What the till was told is durable comes back with the next start. */
	agent = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "S1", accepted, 20000), accepted);
	tl_stop(agent);
	ms = term_and_time(hub, &status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "hub exit status %d", status);
	ck_assert_msg(ms < 5000, "the hub took %lld ms to stop", (long long)ms);
	tl_env_cleanup(&e);
}
END_TEST

static int64_t flood_amount(uint64_t seq)
{
	return 100 + (int64_t)(seq % 50);
}

/* What seqs first..last of flood_amount add up to. */
static int64_t flood_sum(uint64_t first, uint64_t last)
{
	int64_t sum = 0;

	for (uint64_t s = first; s <= last; s++)
		sum += flood_amount(s);
	return sum;
}

#define FLOOD_EPOCH 0x5eedULL
#define FLOOD_BATCH 500
#define FLOOD_WINDOW 8

START_TEST(hub_sigterm_mid_stream_exits_fast_and_keeps_every_acked_record)
{
	struct tl_env e;
	struct tl_link l;
	uint64_t next = 1, acked = 0, acks_after_term = 0;
	int64_t t_term = -1, ms = -1;
	int status = 0;
	pid_t hub;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	tl_link_open_as(&l, e.hub_listen, "S1");
	ck_assert_uint_eq(tl_link_hello(&l, "S1", FLOOD_EPOCH), 0);
	/* A store flooding: FLOOD_WINDOW batches in flight, one more per Ack,
	 * so the writer always has a round in hand; SIGTERM once 10,000
	 * records are acknowledged, and the flood goes on until the hub is gone. */
	for (int i = 0; i < FLOOD_WINDOW; i++, next += FLOOD_BATCH)
		tl_link_batch(&l, "S1", FLOOD_EPOCH, next, FLOOD_BATCH, flood_amount);
	while (ms < 0) {
		Storesync__LinkMessage *m = tl_link_recv(&l, 20);

		if (m && m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ACK) {
			ck_assert_uint_ge(m->ack->through_seq, acked);
			acked = m->ack->through_seq;
			acks_after_term += t_term >= 0;
			tl_link_batch(&l, "S1", FLOOD_EPOCH, next, FLOOD_BATCH, flood_amount);
			next += FLOOD_BATCH;
		}
		if (m)
			storesync__link_message__free_unpacked(m, NULL);
		if (t_term < 0 && acked >= 20 * FLOOD_BATCH) {
			kill(hub, SIGTERM);
			t_term = mono_ms();
		}
		if (t_term >= 0 && waitpid(hub, &status, WNOHANG) == hub)
			ms = mono_ms() - t_term;
		ck_assert_msg(t_term < 0 || mono_ms() - t_term < 10000,
			"the hub did not stop within 10 s of SIGTERM");
	}
	/* Acks it sent before it went. */
	for (Storesync__LinkMessage *m; (m = tl_link_recv(&l, 200)) != NULL;) {
		if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ACK && m->ack->through_seq > acked) {
			acked = m->ack->through_seq;
			acks_after_term++;
		}
		storesync__link_message__free_unpacked(m, NULL);
	}
	tl_link_close(&l);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "hub exit status %d", status);
	ck_assert_msg(ms < 5000, "the hub took %lld ms to stop", (long long)ms);
	printf("service: the hub stopped %lld ms after SIGTERM mid-stream; %llu records acked "
		"(%llu acks after SIGTERM), %llu sent\n", (long long)ms, (unsigned long long)acked,
		(unsigned long long)acks_after_term, (unsigned long long)(next - 1));

	/* Every acknowledged record is there after the restart, each once. */
	hub = tl_start_hub(&e, NULL);
	{
		int64_t records = tl_store_field(e.hub_query, "S1", "records");

		ck_assert_int_ge(records, (int64_t)acked);
		ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "high_water_seq"), records);
		ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "amount_fen"),
			flood_sum(1, (uint64_t)records));
		/* The store sends what was not committed: the total, once. */
		tl_link_open_as(&l, e.hub_listen, "S1");
		ck_assert_uint_eq(tl_link_hello(&l, "S1", FLOOD_EPOCH), (uint64_t)records);
		if ((uint64_t)records < next - 1) {
			tl_link_batch(&l, "S1", FLOOD_EPOCH, (uint64_t)records + 1,
				next - 1 - (uint64_t)records, flood_amount);
			ck_assert_uint_eq(tl_link_ack(&l), next - 1);
		}
		tl_link_close(&l);
	}
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), (int64_t)(next - 1));
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "amount_fen"), flood_sum(1, next - 1));
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(sighup_reloads_log_level_and_names_what_waits)
{
	struct tl_env e;
	char ini[400], log[400], text[600], local[320], data[320];
	pid_t hub, agent;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(ini, sizeof ini, "%s/agent.ini", e.dir);
	snprintf(log, sizeof log, "%s/agent-S1.log", e.dir);
	write_file(ini, "[agent]\nlog_level = info\nbatch = 500\n");
	agent = tl_start_agent(&e, "S1", "--config", ini, NULL);
	ck_assert_int_ne(tl_sh("grep -q 'settings: budget' '%s'", log), 0);

	write_file(ini, "[agent]\nlog_level = debug\nbatch = 700\n");
	kill(agent, SIGHUP);
	snprintf(text, sizeof text, "SIGHUP: reloaded %s: log_level debug (was info); changed, "
		"waiting for a restart: batch", ini);
	ck_assert_msg(log_has(log, text), "no reload line in %s", log);

	/* A file that no longer parses changes nothing. */
	write_file(ini, "[agent]\nlog_level = loud\n");
	kill(agent, SIGHUP);
	ck_assert(log_has(log, "nothing reloaded, running as before"));
	ck_assert(tl_alive(agent));
	/* Debug is on: the acks of those three records show, as they did not at
	 * info (the settings line above). */
	ck_assert_int_eq(tl_submit_sales(local, 3, 100, "H", 1, NULL, 2000), 3);
	ck_assert_msg(log_has(log, "hub acked through seq 3 of epoch"), "no debug line in %s", log);
	tl_stop(agent);

	snprintf(ini, sizeof ini, "%s/hub.ini", e.dir);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	tl_stop(hub);
	write_file(ini, "[hub]\nlog_level = info\n");
	hub = tl_start_hub(&e, "--config", ini, NULL);
	write_file(ini, "[hub]\nlog_level = warning\n");
	kill(hub, SIGHUP);
	snprintf(text, sizeof text, "SIGHUP: reloaded %s: log_level warning (was info); store keys "
		"and revocations checked again on every live connection; no other setting changed", ini);
	ck_assert_msg(log_has(log, text), "no reload line in %s", log);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* A registry entry marked revoked, written into the running hub's LMDB
 * from this process, as nothing of the hub's own does: a change its writer
 * did not make, so only SIGHUP tells the hub to check its live links. */
static void revoked(ProtobufCMessage *m)
{
	Storesync__StoreInfo *si = (Storesync__StoreInfo *)m;

	ck_assert_str_eq(si->status, "active");
	free(si->status);
	si->status = strdup("revoked");
}

/* Batch first..first+9 from store S1; 1 when the hub acknowledged it
 * within 2 s. */
static int batch_acked(struct tl_link *l, uint64_t first)
{
	int64_t deadline = mono_ms() + 2000;

	tl_link_batch(l, "S1", FLOOD_EPOCH, first, 10, flood_amount);
	while (mono_ms() < deadline) {
		Storesync__LinkMessage *m = tl_link_recv(l, 100);
		int ack = m && m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ACK
			&& m->ack->through_seq == first + 9;

		if (m)
			storesync__link_message__free_unpacked(m, NULL);
		if (ack)
			return 1;
	}
	return 0;
}

START_TEST(hub_sighup_cuts_a_live_store_revoked_since)
{
	struct tl_env e;
	struct tl_link l;
	char ini[400], log[400], text[700];
	int64_t ignored;
	pid_t hub;

	tl_env_init(&e);
	snprintf(ini, sizeof ini, "%s/hub.ini", e.dir);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	write_file(ini, "[hub]\nlog_level = info\n");
	hub = tl_start_hub(&e, "--config", ini, NULL);
	tl_link_open_as(&l, e.hub_listen, "S1");
	ck_assert_uint_eq(tl_link_hello(&l, "S1", FLOOD_EPOCH), 0);
	ck_assert(batch_acked(&l, 1));

	/* Revoked where the hub's writer did not see it: its link, checked
	 * when it connected, is still served... */
	tl_hub_edit(e.hub_data, "registry", "S1", &storesync__store_info__descriptor, revoked);
	ck_assert(batch_acked(&l, 11));
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), 20);

	/* ...until SIGHUP checks every live connection again. */
	write_file(ini, "[hub]\nlog_level = debug\n");
	ignored = tl_hub_stat(e.hub_query, "unauthorized_messages");
	kill(hub, SIGHUP);
	snprintf(text, sizeof text, "SIGHUP: reloaded %s: log_level debug (was info); store keys "
		"and revocations checked again on every live connection; no other setting changed",
		ini);
	ck_assert_msg(log_has(log, text), "no reload line in %s", log);
	ck_assert_msg(log_has(log, ": store S1 is revoked: its messages are ignored"),
		"the revoked link is not named in %s", log);
	ck_assert(!batch_acked(&l, 21));
	ck_assert(!batch_acked(&l, 21));
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), 20);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "amount_fen"), flood_sum(1, 20));
	ck_assert_int_ge(tl_hub_stat(e.hub_query, "unauthorized_messages"), ignored + 2);
	tl_link_close(&l);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { sigterm_mid_stream_exits_fast_and_keeps_every_accepted_record,
		hub_sigterm_mid_stream_exits_fast_and_keeps_every_acked_record,
		sighup_reloads_log_level_and_names_what_waits, hub_sighup_cuts_a_live_store_revoked_since };

	return tl_run("service", tests, sizeof tests / sizeof tests[0], 120);
}
