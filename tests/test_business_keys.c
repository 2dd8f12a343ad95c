/* test_business_keys: guarantee 8 at the agent (store-agent/agent_keys.c).
 * A record submitted again with the same business key and content is the
 * same record: the agent answers with the original seq, marked duplicate,
 * and writes nothing; with other content it is refused, naming the key and
 * the original seq. Two records with one key in one request are judged the
 * same way. A till that resubmits after the agent was killed -9 mid-submit,
 * or died between the commit and the answer, again and again, gets the lost
 * answers as duplicates and ends with every business key exactly once in
 * the outbox and at the hub.
 * storectl tells duplicates apart. Keys are kept as long as key_days,
 * retention and the return window in force require, and no longer. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ss_time.h"
#include "testlib.h"

#define WAIT_MS 10000
/* 2026-11-10T02:00Z: November in every time zone, as the case numbers say. */
#define T_MS 1794276000000LL

/* One record of each kind (%lld: time_ms) and how the agent names its key. */
static const struct {
	const char *fmt, *key;
} kinds[] = {
	{ "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":\"TEA-1\","
		"\"quantity\":1,\"unit_price_fen\":1500}],\"total_fen\":1500,\"payment_method\":\"cash\"}",
		"receipt R-1" },
	{ "{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":\"CT-1\",\"customer\":"
		"\"CUST-1\",\"total_fen\":100000,\"deposit_fen\":20000,\"deposit_method\":\"cash\"}",
		"contract CT-1" },
	{ "{\"type\":\"payment\",\"time_ms\":%lld,\"payment_no\":\"P-1\",\"account\":\"CT-1\","
		"\"amount_fen\":5000,\"method\":\"cash\"}", "payment P-1" },
	{ "{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"RF-1\",\"original_receipt\":"
		"\"R-1\",\"amount_fen\":500,\"reason\":\"scratched\",\"method\":\"cash\"}",
		"refund RF-1" },
	{ "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":\"S1-202611-1\",\"channel\":"
		"\"phone\",\"category\":\"delivery\",\"severity\":\"low\"}", "case S1-202611-1" },
	{ "{\"type\":\"complaint_progress\",\"time_ms\":%lld,\"case_no\":\"S1-202611-1\","
		"\"step\":\"responded\"}", "case S1-202611-1 step responded" },
	{ "{\"type\":\"inventory\",\"time_ms\":%lld,\"move_no\":\"M-1\",\"kind\":\"receipt\","
		"\"sku\":\"TEA-1\",\"quantity\":5}", "move M-1" },
	{ "{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":\"RQ-1\",\"sku\":\"TEA-1\","
		"\"quantity\":5,\"reason\":\"event\"}", "request RQ-1" },
};

#define N_KINDS (sizeof kinds / sizeof kinds[0])

struct fx {
	struct tl_env e;
	pid_t agent;
	char local[320], data[320];
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S1", f->local, sizeof f->local, f->data, sizeof f->data);
	f->agent = tl_start_agent(&f->e, "S1", NULL);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->agent);
	tl_env_cleanup(&f->e);
}

/* Every kind's record at time t, in kinds[] order. */
static void all_kinds(Storesync__Record **recs, long long t)
{
	char line[1024];

	for (size_t i = 0; i < N_KINDS; i++) {
		snprintf(line, sizeof line, kinds[i].fmt, t);
		recs[i] = tl_json_record(line);
	}
}

static void free_all(Storesync__Record **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(recs[i], NULL);
}

static uint64_t last_seq(struct fx *f)
{
	Storesync__StatusReply *st = tl_status(f->local, 2000);
	uint64_t last;

	ck_assert_ptr_nonnull(st);
	last = st->last_seq;
	tl_status_free(st);
	return last;
}

START_TEST(same_key_same_content_is_a_duplicate)
{
	Storesync__Record *recs[N_KINDS];
	struct tl_result res[N_KINDS];
	long long t = T_MS;
	struct fx f;

	fx_start(&f);
	all_kinds(recs, t);
	ck_assert_int_eq(tl_submit_results(f.local, recs, N_KINDS, res, WAIT_MS), 0);
	for (size_t i = 0; i < N_KINDS; i++) {
		ck_assert_msg(res[i].error[0] == '\0', "%s refused: %s", kinds[i].key, res[i].error);
		ck_assert_uint_eq(res[i].seq, i + 1);
		ck_assert(!res[i].duplicate);
	}
	/* The till retries; a client may even send seq and recorded_ms, which
	 * the agent sets itself: still the same records. */
	recs[0]->seq = 77;
	recs[0]->has_seq = 1;
	recs[1]->recorded_ms = 12345;
	recs[1]->has_recorded_ms = 1;
	ck_assert_int_eq(tl_submit_results(f.local, recs, N_KINDS, res, WAIT_MS), 0);
	for (size_t i = 0; i < N_KINDS; i++) {
		ck_assert_msg(res[i].error[0] == '\0', "%s refused: %s", kinds[i].key, res[i].error);
		ck_assert_msg(res[i].duplicate, "%s not a duplicate", kinds[i].key);
		ck_assert_uint_eq(res[i].seq, i + 1);
	}
	free_all(recs, N_KINDS);
	ck_assert_uint_eq(last_seq(&f), N_KINDS);   /* nothing new in the outbox */
	fx_stop(&f);
}
END_TEST

/* kinds[] with every optional field the records.md tables give a default
 * written out at it (0, or empty); NULL for a kind with none. */
static const char *const with_defaults[N_KINDS] = {
	"{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-1\",\"lines\":[{\"sku\":\"TEA-1\","
	"\"quantity\":1,\"unit_price_fen\":1500,\"discount_fen\":0}],\"total_fen\":1500,"
	"\"payment_method\":\"cash\",\"cashier\":\"\",\"customer\":\"\"}",
	"{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":\"CT-1\",\"customer\":"
	"\"CUST-1\",\"total_fen\":100000,\"deposit_fen\":20000,\"deposit_method\":\"cash\","
	"\"signer\":\"\",\"delivery_ms\":0,\"installation_ms\":0}",
	NULL,
	"{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"RF-1\",\"original_receipt\":"
	"\"R-1\",\"amount_fen\":500,\"reason\":\"scratched\",\"method\":\"cash\",\"approver\":\"\"}",
	"{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":\"S1-202611-1\",\"channel\":"
	"\"phone\",\"category\":\"delivery\",\"severity\":\"low\",\"customer\":\"\","
	"\"description\":\"\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":%lld,\"case_no\":\"S1-202611-1\","
	"\"step\":\"responded\",\"approver\":\"\",\"note\":\"\"}",
	NULL,
	"{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":\"RQ-1\",\"sku\":\"TEA-1\","
	"\"quantity\":5,\"reason\":\"event\",\"needed_by_ms\":0}",
};

/* A till that writes a default out sends the record one that leaves it
 * out sent: a duplicate, never "different content". */
START_TEST(defaults_written_out_are_the_same_record)
{
	Storesync__Record *recs[N_KINDS], *again[N_KINDS];
	struct tl_result res[N_KINDS];
	char line[1024];
	size_t n = 0;
	struct fx f;

	fx_start(&f);
	all_kinds(recs, T_MS);
	ck_assert_int_eq(tl_submit_results(f.local, recs, N_KINDS, res, WAIT_MS), 0);
	for (size_t i = 0; i < N_KINDS; i++) {
		ck_assert_msg(res[i].error[0] == '\0', "%s refused: %s", kinds[i].key, res[i].error);
		if (!with_defaults[i])
			continue;
		snprintf(line, sizeof line, with_defaults[i], (long long)T_MS);
		again[n++] = tl_json_record(line);
	}
	ck_assert_int_eq(tl_submit_results(f.local, again, n, res, WAIT_MS), 0);
	for (size_t i = 0, j = 0; i < N_KINDS; i++) {
		if (!with_defaults[i])
			continue;
		ck_assert_msg(res[j].error[0] == '\0', "%s with its defaults refused: %s",
			kinds[i].key, res[j].error);
		ck_assert_msg(res[j].duplicate, "%s with its defaults not a duplicate", kinds[i].key);
		ck_assert_uint_eq(res[j].seq, i + 1);
		j++;
	}
	free_all(recs, N_KINDS);
	free_all(again, n);
	ck_assert_uint_eq(last_seq(&f), N_KINDS);
	fx_stop(&f);
}
END_TEST

START_TEST(same_key_other_content_is_refused)
{
	Storesync__Record *recs[N_KINDS];
	struct tl_result res[N_KINDS];
	long long t = T_MS;
	char want[256];
	struct fx f;

	fx_start(&f);
	all_kinds(recs, t);
	ck_assert_int_eq(tl_submit_results(f.local, recs, N_KINDS, res, WAIT_MS), 0);
	free_all(recs, N_KINDS);
	all_kinds(recs, t + 1);   /* the same keys, another moment */
	ck_assert_int_eq(tl_submit_results(f.local, recs, N_KINDS, res, WAIT_MS), 0);
	for (size_t i = 0; i < N_KINDS; i++) {
		snprintf(want, sizeof want, "%s already recorded as seq %zu with different content",
			kinds[i].key, i + 1);
		ck_assert_str_eq(res[i].error, want);
		ck_assert_uint_eq(res[i].seq, 0);
	}
	free_all(recs, N_KINDS);
	ck_assert_uint_eq(last_seq(&f), N_KINDS);
	fx_stop(&f);
}
END_TEST

START_TEST(one_key_twice_in_one_request)
{
	const char *sale = "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-7\",\"lines\":"
		"[{\"sku\":\"TEA-1\",\"quantity\":1,\"unit_price_fen\":%d}],\"total_fen\":%d,"
		"\"payment_method\":\"card\"}";
	long long t = T_MS;
	Storesync__Record *recs[4];
	struct tl_result res[4];
	char line[512];
	struct fx f;

	fx_start(&f);
	ck_assert_uint_eq(tl_submit_jsonf(f.local, kinds[4].fmt, t), 1);   /* seq 1 */
	for (int i = 0; i < 3; i++) {
		int fen = i < 2 ? 900 : 950;   /* the third is another sale under R-7 */

		snprintf(line, sizeof line, sale, t, fen, fen);
		recs[i] = tl_json_record(line);
	}
	snprintf(line, sizeof line, kinds[4].fmt, t);   /* the complaint of seq 1 again */
	recs[3] = tl_json_record(line);
	ck_assert_int_eq(tl_submit_results(f.local, recs, 4, res, WAIT_MS), 0);
	ck_assert_str_eq(res[0].error, "");
	ck_assert_uint_eq(res[0].seq, 2);
	ck_assert(!res[0].duplicate);
	ck_assert(res[1].duplicate);
	ck_assert_uint_eq(res[1].seq, 2);
	ck_assert_str_eq(res[2].error, "receipt R-7 already recorded as seq 2 with different content");
	ck_assert(res[3].duplicate);
	ck_assert_uint_eq(res[3].seq, 1);
	free_all(recs, 4);
	ck_assert_uint_eq(last_seq(&f), 2);
	fx_stop(&f);
}
END_TEST

START_TEST(storectl_counts_duplicates_apart)
{
	char in[320], out[320];
	FILE *fp;
	struct fx f;

	fx_start(&f);
	snprintf(in, sizeof in, "%s/day.jsonl", f.e.dir);
	snprintf(out, sizeof out, "%s/out", f.e.dir);
	fp = fopen(in, "w");
	ck_assert_ptr_nonnull(fp);
	for (int i = 1; i <= 12; i++)
		fprintf(fp, "{\"type\":\"inventory\",\"time_ms\":%lld,\"move_no\":\"M-%d\",\"kind\":"
			"\"receipt\",\"sku\":\"TEA-1\",\"quantity\":%d}\n", (long long)ss_now_ms(), i, i);
	fclose(fp);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit '%s' >'%s'", SS_BIN_DIR,
		f.local, in, out), 0);
	ck_assert_int_eq(tl_sh("grep -q '^accepted 12 (seq 1..12), duplicates 0, refused 0$' '%s'",
		out), 0);
	/* Submitting the file again is safe, and says so. */
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit '%s' >'%s'", SS_BIN_DIR,
		f.local, in, out), 0);
	ck_assert_int_eq(tl_sh("grep -q '^accepted 0, duplicates 12 (of seqs 1, 2, 3, 4, 5, 6, 7, "
		"8, 9, 10, …), refused 0$' '%s'", out), 0);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit --json '%s' >'%s'", SS_BIN_DIR,
		f.local, in, out), 0);
	ck_assert_int_eq(tl_sh("grep -q '\"duplicates\": 12' '%s'", out), 0);
	ck_assert_int_eq(tl_sh("tr -d ' \\n' < '%s' | grep -q '\"duplicate_of_seqs\":\\[1,2,3,4,5,"
		"6,7,8,9,10,11,12\\]'", out), 0);
	ck_assert_uint_eq(last_seq(&f), 12);
	fx_stop(&f);
}
END_TEST

/* ---- A till retrying across kill -9 ---- */

#define REQUESTS 30        /* at least, and on until CRASHES kills */
#define MAX_REQUESTS 1000
#define REQ_RECORDS 200
#define CRASHES 5

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
		ss_sleep_ms(100 + rand_r(&k->seed) % 400);
		pid_t pid = atomic_exchange(&k->pid, 0);

		if (pid > 0) {
			kill(pid, SIGKILL);
			atomic_fetch_add(&k->kills, 1);
		}
	}
	return NULL;
}

/* Request q: sales K<q>-<i>, each with its own amount, all at t. */
static void make_request(Storesync__Record **recs, int q, int64_t t)
{
	char receipt[32];

	for (int i = 0; i < REQ_RECORDS; i++) {
		snprintf(receipt, sizeof receipt, "K%d-%d", q, i);
		recs[i] = tl_sale(100 + q * REQ_RECORDS + i, receipt);
		recs[i]->time_ms = t;
	}
}

/* Each record of the outbox, by receipt "K<q>-<i>": counts[q][i]++. */
static uint64_t count_outbox(const char *data, int counts[MAX_REQUESTS][REQ_RECORDS])
{
	struct agent_db db;
	uint64_t n = 0;
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_val k, d;
	char err[256];
	int rc;

	ck_assert_msg(agent_db_open(&db, data, 1 << 30, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(ss_lmdb_read_begin(&db.lmdb, &txn), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, db.records, &c), 0);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		Storesync__Record *r = storesync__record__unpack(NULL, d.mv_size, d.mv_data);
		int q, i;

		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(sscanf(r->sale->receipt_no, "K%d-%d", &q, &i), 2);
		ck_assert(q >= 0 && q < MAX_REQUESTS && i >= 0 && i < REQ_RECORDS);
		ck_assert_int_eq(r->sale->total_fen, 100 + q * REQ_RECORDS + i);
		counts[q][i]++;
		n++;
		storesync__record__free_unpacked(r, NULL);
	}
	mdb_cursor_close(c);
	ss_lmdb_read_end(&db.lmdb, txn);
	agent_db_close(&db);
	return n;
}

/* After a kill, or the agent's own exit after a commit: reap it and start
 * it again on the same directory. *lost counts those exits, each an answer
 * lost after its records were committed. The pid is taken from the killer
 * first, so that it never kills one already reaped. */
static pid_t restart_if_down(const struct tl_env *e, struct killer *k, pid_t agent, int *lost)
{
	pid_t held = atomic_exchange(&k->pid, 0);
	int status = 0;

	if (held != 0 && waitpid(agent, &status, WNOHANG) == 0) {
		atomic_store(&k->pid, agent);   /* still running */
		return agent;
	}
	if (held == 0)
		ck_assert_int_eq(waitpid(agent, &status, 0), agent);
	*lost += WIFEXITED(status) && WEXITSTATUS(status) == AGENT_TEST_EXIT_CODE;
	agent = tl_start_agent(e, "S1", NULL);
	atomic_store(&k->pid, agent);
	return agent;
}

/* Submits request q until the agent answers; returns duplicates seen. */
static int submit_until_answered(struct tl_env *e, struct killer *k, pid_t *agent,
	const char *local, int q, int *lost)
{
	static struct tl_result res[REQ_RECORDS];
	Storesync__Record *recs[REQ_RECORDS];
	int64_t t = ss_now_ms();
	int dups = 0;

	make_request(recs, q, t);
	while (tl_submit_results(local, recs, REQ_RECORDS, res, 1000) != 0)
		*agent = restart_if_down(e, k, *agent, lost);
	for (int i = 0; i < REQ_RECORDS; i++) {
		ck_assert_msg(res[i].seq > 0, "K%d-%d refused: %s", q, i, res[i].error);
		dups += res[i].duplicate;
	}
	free_all(recs, REQ_RECORDS);
	*agent = restart_if_down(e, k, *agent, lost);
	return dups;
}

/* Every agent dies after its EXIT_AFTER-th commit, before answering it, on
 * top of the killer's kill -9 at random moments: the till's retry of that
 * request must come back as duplicates, and the hub must count every key
 * once. */
#define EXIT_AFTER "4"

START_TEST(till_retry_after_kill9_records_each_key_once)
{
	static int counts[MAX_REQUESTS][REQ_RECORDS];
	struct killer k = { .seed = (unsigned)time(NULL) ^ (unsigned)getpid() };
	int64_t want_fen = 0;
	struct fx f;
	pid_t hub;
	pthread_t killer;
	int dups = 0, lost = 0, q;

	fprintf(stderr, "business_keys: seed %u\n", k.seed);
	tl_env_init(&f.e);
	tl_agent_paths(&f.e, "S1", f.local, sizeof f.local, f.data, sizeof f.data);
	hub = tl_start_hub(&f.e, NULL);
	ck_assert_int_eq(setenv(AGENT_TEST_EXIT_ENV, EXIT_AFTER, 1), 0);
	f.agent = tl_start_agent(&f.e, "S1", NULL);
	atomic_store(&k.pid, f.agent);
	ck_assert_int_eq(pthread_create(&killer, NULL, killer_main, &k), 0);
	for (q = 0; q < MAX_REQUESTS && (q < REQUESTS || atomic_load(&k.kills) < CRASHES); q++) {
		dups += submit_until_answered(&f.e, &k, &f.agent, f.local, q, &lost);
		ss_sleep_ms(10);   /* a till's pace: the killer gets its chances */
	}
	atomic_store(&k.stop, 1);
	pthread_join(killer, NULL);
	f.agent = restart_if_down(&f.e, &k, f.agent, &lost);
	fprintf(stderr, "business_keys: %d requests, %d kills, %d answers lost after the commit, "
		"%d records answered as duplicates of a commit whose answer was lost\n", q,
		atomic_load(&k.kills), lost, dups);
	ck_assert_int_ge(atomic_load(&k.kills), CRASHES);
	ck_assert_int_gt(lost, 0);
	/* Each lost answer's retry is all duplicates (a kill may lose more). */
	ck_assert_int_ge(dups, lost * REQ_RECORDS);
	/* The hub has each key once: the count and the sum of make_request's
	 * amounts over every request. */
	for (int j = 0; j < q; j++)
		for (int i = 0; i < REQ_RECORDS; i++)
			want_fen += 100 + j * REQ_RECORDS + i;
	ck_assert_int_eq(tl_wait_drained(f.local, 30000), (int64_t)q * REQ_RECORDS);
	ck_assert_int_eq(tl_wait_records(f.e.hub_query, "S1", (int64_t)q * REQ_RECORDS, 10000),
		(int64_t)q * REQ_RECORDS);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), want_fen);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "biz_duplicates"), 0);
	tl_stop(f.agent);
	ck_assert_uint_eq(count_outbox(f.data, counts), (uint64_t)q * REQ_RECORDS);
	for (int j = 0; j < q; j++)
		for (int i = 0; i < REQ_RECORDS; i++)
			ck_assert_msg(counts[j][i] == 1, "K%d-%d is %d times in the outbox", j, i,
				counts[j][i]);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

/* ---- How long keys are kept (agent_keys.c on its own) ---- */

#define MOVE_M1 "{\"type\":\"inventory\",\"time_ms\":1000,\"move_no\":\"M-1\",\"kind\":" \
	"\"receipt\",\"sku\":\"TEA-1\",\"quantity\":5}"

/* The key of move M-1, recorded as seq 1 at recorded_ms. */
struct put_key {
	struct agent *a;
	int64_t recorded_ms;
};

static int put_key_body(MDB_txn *txn, void *arg)
{
	struct put_key *p = arg;
	Storesync__Record *r = tl_json_record(MOVE_M1);
	struct ss_bizkey k;
	uint8_t hash[SS_BIZKEY_HASH_BYTES];
	int rc;

	r->seq = 1;
	r->recorded_ms = p->recorded_ms;
	ck_assert_int_eq(ss_bizkey_of(r, &k), 0);
	ck_assert_int_eq(ss_bizkey_hash(r, hash), 0);
	rc = keys_put(&p->a->db, txn, &k, hash, r);
	storesync__record__free_unpacked(r, NULL);
	return rc;
}

static int put_window_body(MDB_txn *txn, void *arg)
{
	struct agent *a = arg;
	Storesync__PolicyEntry e = STORESYNC__POLICY_ENTRY__INIT;
	Storesync__DatedPolicy p = STORESYNC__DATED_POLICY__INIT;

	e.name = "return_window_days";
	e.value = 120;
	e.has_value = 1;
	p.policy = &e;
	return dated_put(txn, a->db.policies, e.name, 0, 1, &p.base);
}

/* 1 when the key of the test's move M-1 is known. */
static int key_known(struct agent *a)
{
	Storesync__Record *r = tl_json_record(MOVE_M1);
	struct ss_bizkey k;
	uint64_t seq = 0;
	char reason[256];
	MDB_txn *txn;
	int rc;

	ss_bizkey_of(r, &k);
	ck_assert_int_eq(ss_lmdb_read_begin(&a->db.lmdb, &txn), 0);
	rc = keys_check(&a->db, txn, &k, r, &seq, reason, sizeof reason);
	ss_lmdb_read_end(&a->db.lmdb, txn);
	storesync__record__free_unpacked(r, NULL);
	ck_assert(rc == KEYS_SAME || rc == KEYS_NEW);
	return rc == KEYS_SAME;
}

/* The hub hashes a record from the packing it stores (ss_bizkey_hash_packed):
 * the same hash as from the record, whatever stamps it carries. */
START_TEST(hash_from_the_packing_is_the_hash)
{
	static const char *const lines[] = {
		"{\"type\":\"sale\",\"time_ms\":1793932200000,\"receipt_no\":\"R-1\","
		"\"lines\":[{\"sku\":\"A\",\"quantity\":2,\"unit_price_fen\":150}],"
		"\"total_fen\":300,\"payment_method\":\"cash\"}",
		"{\"type\":\"payment\",\"time_ms\":1793932200000,\"account\":\"A-1\","
		"\"amount_fen\":500,\"method\":\"card\",\"payment_no\":\"P-7\"}",
		"{\"type\":\"complaint_progress\",\"time_ms\":1,\"case_no\":\"S1-202611-1\","
		"\"step\":\"responded\",\"note\":\"\u6c99\u53d1\"}",
		"{\"type\":\"inventory\",\"move_no\":\"M-9\",\"kind\":\"adjustment\","
		"\"sku\":\"A\",\"quantity\":-3}",
	};
	static const struct { int seq, rec, off; uint64_t s; int64_t ms; int32_t o; } stamps[] = {
		{ 0, 0, 0, 0, 0, 0 }, { 1, 0, 0, 1, 0, 0 }, { 1, 1, 1, 7, 1793932201000, 480 },
		{ 1, 1, 1, UINT64_MAX, -1, -300 }, { 0, 1, 1, 0, INT64_MAX, INT32_MIN },
		{ 1, 0, 1, 128, 0, 0 },
	};

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		for (size_t j = 0; j < sizeof stamps / sizeof stamps[0]; j++) {
			Storesync__Record *r = tl_json_record(lines[i]);
			uint8_t want[SS_BIZKEY_HASH_BYTES], got[SS_BIZKEY_HASH_BYTES], *buf;
			size_t n;

			r->has_seq = stamps[j].seq;
			r->seq = stamps[j].s;
			r->has_recorded_ms = stamps[j].rec;
			r->recorded_ms = stamps[j].ms;
			r->has_utc_offset_min = stamps[j].off;
			r->utc_offset_min = stamps[j].o;
			n = storesync__record__get_packed_size(r);
			buf = malloc(n);
			storesync__record__pack(r, buf);
			ck_assert_int_eq(ss_bizkey_hash(r, want), 0);
			ck_assert_int_eq(ss_bizkey_hash_packed(r, buf, n, got), 0);
			ck_assert_msg(memcmp(want, got, sizeof want) == 0, "record %zu, stamps %zu", i, j);
			/* Not r's packing: refused, not a wrong hash. */
			if (r->has_time_ms && n > 1)
				ck_assert_int_eq(ss_bizkey_hash_packed(r, buf + 1, n - 1, got), -1);
			free(buf);
			storesync__record__free_unpacked(r, NULL);
		}
}
END_TEST

START_TEST(keys_kept_for_key_days_and_the_return_window)
{
	static struct agent a;
	const int64_t t0 = 1790000000000LL;
	struct put_key p = { .a = &a, .recorded_ms = t0 };
	struct tl_env e;
	char dir[320], err[256] = "";

	tl_env_init(&e);
	snprintf(dir, sizeof dir, "%s/agent", e.dir);
	a.cfg.key_days = 30;
	a.cfg.retention_days = 7;
	ck_assert_int_eq(agent_db_open(&a.db, dir, 1 << 30, err, sizeof err), 0);
	ck_assert_int_eq(ss_lmdb_write(&a.db.lmdb, put_key_body, &p, err, sizeof err), 0);
	ck_assert_int_eq(keys_maintain(&a, t0 + 29 * SS_DAY_MS, err, sizeof err), 0);
	ck_assert(key_known(&a));
	ck_assert_int_eq(keys_maintain(&a, t0 + 31 * SS_DAY_MS, err, sizeof err), 0);
	ck_assert(!key_known(&a));
	/* A 120-day return window keeps a receipt's key for 121 days. */
	ck_assert_int_eq(ss_lmdb_write(&a.db.lmdb, put_key_body, &p, err, sizeof err), 0);
	ck_assert_int_eq(ss_lmdb_write(&a.db.lmdb, put_window_body, &a, err, sizeof err), 0);
	ck_assert_int_eq(keys_maintain(&a, t0 + 120 * SS_DAY_MS, err, sizeof err), 0);
	ck_assert(key_known(&a));
	ck_assert_int_eq(keys_maintain(&a, t0 + 122 * SS_DAY_MS, err, sizeof err), 0);
	ck_assert(!key_known(&a));
	agent_db_close(&a.db);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		same_key_same_content_is_a_duplicate, defaults_written_out_are_the_same_record,
		same_key_other_content_is_refused,
		one_key_twice_in_one_request, storectl_counts_duplicates_apart,
		till_retry_after_kill9_records_each_key_once,
		keys_kept_for_key_days_and_the_return_window, hash_from_the_packing_is_the_hash,
	};

	return tl_run("business_keys", tests, sizeof tests / sizeof tests[0], 120);
}
