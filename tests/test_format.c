/* The data directories' on-disk format (common/ss_format.c,
 * docs/deploy.md "Upgrades and the data directory"), on real directories
 * made by the previous version (tests/fixtures, README.md there): 0.1.0's
 * unstamped agent and hub directories are stamped at start, the agent's
 * buffered records reach a hub exactly once, the hub shows what 0.1.0
 * applied (the same dump as 0.1.0 gave) and takes more; a directory stamped
 * with a newer format than the binary knows is refused with one line
 * naming both formats, its data.mdb byte for byte as it was. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "hub.h"
#include "testlib.h"
#include "ss_format.h"
#include "ss_time.h"

static void copy_fixture(const char *name, const char *dest)
{
	ck_assert_msg(tl_sh("cp -r '%s/tests/fixtures/%s' '%s'", SS_SOURCE_DIR, name, dest) == 0,
		"cannot copy fixture %s", name);
}

static MDB_env *env_open(const char *dir, unsigned flags)
{
	MDB_env *env;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	ck_assert_int_eq(mdb_env_open(env, dir, flags | MDB_NOTLS, 0640), 0);
	return env;
}

/* The stamp in dir's database meta: 1 with *v, 0 when there is none. */
static int read_format(const char *dir, const char *meta, uint64_t *v)
{
	MDB_env *env = env_open(dir, MDB_RDONLY);
	MDB_val k = { strlen(SS_FORMAT_KEY), SS_FORMAT_KEY }, d;
	MDB_txn *txn;
	MDB_dbi dbi;
	int found;

	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, meta, 0, &dbi), 0);
	found = mdb_get(txn, dbi, &k, &d) == 0;
	if (found) {
		ck_assert_uint_eq(d.mv_size, 8);
		*v = ss_be64_get(d.mv_data);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return found;
}

/* Stamps dir with format v, as a later version would have. */
static void write_format(const char *dir, const char *meta, uint64_t v)
{
	MDB_env *env = env_open(dir, 0);
	uint8_t buf[8];
	MDB_val k = { strlen(SS_FORMAT_KEY), SS_FORMAT_KEY }, d = { 8, buf };
	MDB_txn *txn;
	MDB_dbi dbi;

	ss_be64_put(buf, v);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, meta, 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &d, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(old_agent_directory_is_stamped_and_its_buffered_records_arrive_once)
{
	char local[320], data[320], log[320], line[64];
	struct tl_env e;
	uint64_t format = 0;
	pid_t hub, agent;

	tl_env_init(&e);
	tl_agent_paths(&e, "F2", local, sizeof local, data, sizeof data);
	snprintf(log, sizeof log, "%s/agent-F2.log", e.dir);
	/* 0.1.0's agent of store F2: 4 sales (10,000 fen) buffered, the hub
	 * never reached, and no stamp. */
	copy_fixture("agent-0.1.0", data);
	ck_assert_int_eq(read_format(data, "meta", &format), 0);

	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "F2", NULL);
	ck_assert_int_eq(tl_wait_drained(local, 20000), 4);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "F2", 4, 10000), 4);
	ck_assert_int_eq(tl_store_field(e.hub_query, "F2", "amount_fen"), 10000);
	/* The directory goes on from where 0.1.0 left it: seq 5 next. */
	ck_assert_int_eq(tl_submit_sales(local, 1, 500, "NEW", 1, NULL, 5000), 1);
	ck_assert_int_eq(tl_wait_drained(local, 20000), 5);
	tl_stop(agent);
	ck_assert_int_eq(read_format(data, "meta", &format), 1);
	ck_assert_uint_eq(format, AGENT_DB_FORMAT);
	ck_assert_uint_eq(tl_log_count(log, "format 1 stamped"), 1);

	/* Started again: nothing to migrate, nothing sent twice. */
	agent = tl_start_agent(&e, "F2", NULL);
	ck_assert_int_eq(tl_wait_drained(local, 20000), 5);
	ss_sleep_ms(1000);
	ck_assert_int_eq(tl_store_field(e.hub_query, "F2", "records"), 5);
	ck_assert_int_eq(tl_store_field(e.hub_query, "F2", "amount_fen"), 10500);
	tl_stop(agent);
	tl_stop(hub);
	ck_assert_uint_eq(tl_log_count(log, "format 1 stamped"), 1);
	ck_assert_uint_eq(tl_log_count(log, "migrated"), 0);
	/* A new directory is stamped at once too, as new: nothing migrated. */
	ck_assert_int_eq(read_format(e.hub_data, "hub_meta", &format), 1);
	ck_assert_uint_eq(format, HUB_DB_FORMAT);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	snprintf(line, sizeof line, "new, format %d stamped", HUB_DB_FORMAT);
	ck_assert_uint_eq(tl_log_count(log, line), 1);
	ck_assert_uint_eq(tl_log_count(log, "migrated"), 0);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(old_hub_directory_is_stamped_and_shows_what_it_applied)
{
	char local[320], data[320], log[320], dump[320];
	struct tl_env e;
	Storesync__QueryReply *r;
	uint64_t format = 0;
	pid_t hub, agent;
	int row;

	tl_env_init(&e);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	snprintf(dump, sizeof dump, "%s/dump.csv", e.dir);
	/* 0.1.0's hub: store F1's 5 sales (15,000 fen) and a receipt of 7
	 * units of SKU-1 applied, and no stamp. */
	copy_fixture("hub-0.1.0", e.hub_data);
	ck_assert_int_eq(read_format(e.hub_data, "hub_meta", &format), 0);

	hub = tl_start_hub(&e, NULL);
	ck_assert_uint_eq(tl_log_count(log, "migrated from format 1 to 2"), 1);
	ck_assert_int_eq(tl_store_field(e.hub_query, "F1", "records"), 6);
	ck_assert_int_eq(tl_store_field(e.hub_query, "F1", "amount_fen"), 15000);
	r = tl_query_ok(e.hub_query, "sales", "store", "F1", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_int_eq(tl_cell_int(r, 0, "receipts"), 5);
	ck_assert_int_eq(tl_cell_int(r, 0, "net_fen"), 15000);
	tl_query_free(r);
	r = tl_query_ok(e.hub_query, "inventory", "store", "F1", NULL);
	row = tl_row_find(r, "sku", "SKU-1", NULL);
	ck_assert_int_ge(row, 0);
	ck_assert_int_eq(tl_cell_int(r, row, "on_hand"), 7);
	tl_query_free(r);
	/* Every view as 0.1.0 dumped it from this directory. */
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' dump --csv >'%s'", SS_BIN_DIR, e.hub_query,
		dump), 0);
	ck_assert_msg(tl_sh("cmp -s '%s' '%s/tests/fixtures/hub-0.1.0.dump.csv'", dump,
		SS_SOURCE_DIR) == 0, "dump differs from 0.1.0's (%s)", dump);

	/* And it goes on taking records. */
	tl_agent_paths(&e, "F3", local, sizeof local, data, sizeof data);
	agent = tl_start_agent(&e, "F3", NULL);
	ck_assert_int_eq(tl_submit_sales(local, 3, 700, "F3", 1, NULL, 5000), 3);
	ck_assert_int_eq(tl_wait_drained(local, 20000), 3);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "F3", 3, 10000), 3);
	tl_stop(agent);
	tl_stop(hub);
	ck_assert_int_eq(read_format(e.hub_data, "hub_meta", &format), 1);
	ck_assert_uint_eq(format, HUB_DB_FORMAT);

	/* Started again on its own stamp: nothing to do, F1's records kept. */
	hub = tl_start_hub(&e, NULL);
	ck_assert_int_eq(tl_store_field(e.hub_query, "F1", "records"), 6);
	tl_stop(hub);
	ck_assert_uint_eq(tl_log_count(log, "migrated from format 1 to 2"), 1);
	ck_assert_uint_eq(tl_log_count(log, "stamped"), 0);
	tl_env_cleanup(&e);
}
END_TEST

/* dir/data.mdb as it is now, copied to keep. */
static void keep_copy(const char *dir, const char *copy)
{
	ck_assert_int_eq(tl_sh("cp '%s/data.mdb' '%s'", dir, copy), 0);
}

static void expect_untouched(const char *dir, const char *copy)
{
	ck_assert_msg(tl_sh("cmp -s '%s/data.mdb' '%s'", dir, copy) == 0,
		"%s/data.mdb changed", dir);
}

START_TEST(newer_format_is_refused_and_left_untouched)
{
	char local[320], data[320], secret[400], pub[400], log[320], copy[320], ere[200];
	struct tl_env e;
	uint64_t format = 0;

	tl_env_init(&e);

	/* The agent's directory, stamped as a later version would. */
	tl_agent_paths(&e, "F2", local, sizeof local, data, sizeof data);
	copy_fixture("agent-0.1.0", data);
	write_format(data, "meta", AGENT_DB_FORMAT + 1);
	snprintf(copy, sizeof copy, "%s/agent.before", e.dir);
	snprintf(log, sizeof log, "%s/agent-F2.log", e.dir);
	keep_copy(data, copy);
	tl_store_key_args(&e, "F2", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(tl_sh("timeout 20 '%s/store-agent' --store-id F2 --data-dir '%s' --hub '%s' "
		"--local '%s' --curve-key '%s' --hub-key '%s' 2>'%s'", SS_BIN_DIR, data,
		e.hub_listen, local, secret, pub, log), 1);
	snprintf(ere, sizeof ere, "^store-agent: data directory .* has format %d; this "
		"store-agent \\(.*\\) knows formats up to %d: .*backup", AGENT_DB_FORMAT + 1,
		AGENT_DB_FORMAT);
	ck_assert_uint_eq(tl_log_count(log, ere), 1);
	ck_assert_uint_eq(tl_log_count(log, "."), 1);
	expect_untouched(data, copy);
	ck_assert_int_eq(read_format(data, "meta", &format), 1);
	ck_assert_uint_eq(format, AGENT_DB_FORMAT + 1);

	/* The hub's. */
	copy_fixture("hub-0.1.0", e.hub_data);
	write_format(e.hub_data, "hub_meta", HUB_DB_FORMAT + 1);
	snprintf(copy, sizeof copy, "%s/hub.before", e.dir);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	keep_copy(e.hub_data, copy);
	tl_key_paths(e.dir, "hub", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(tl_sh("timeout 20 '%s/hq-hub' --foreground --data-dir '%s' --listen '%s' "
		"--query '%s' --admin '%s' --admin-group '' --max-stores 256 --curve-key '%s' "
		"--http off 2>'%s'", SS_BIN_DIR, e.hub_data, e.hub_listen, e.hub_ops, e.hub_query,
		secret, log), 1);
	snprintf(ere, sizeof ere, "data directory .* has format %d; this hq-hub \\(.*\\) knows "
		"formats up to %d: .*backup", HUB_DB_FORMAT + 1, HUB_DB_FORMAT);
	ck_assert_uint_eq(tl_log_count(log, ere), 1);
	ck_assert_uint_eq(tl_log_count(log, "error"), 1);
	expect_untouched(e.hub_data, copy);
	ck_assert_int_eq(read_format(e.hub_data, "hub_meta", &format), 1);
	ck_assert_uint_eq(format, HUB_DB_FORMAT + 1);

	/* The exporter reads the hub's directory: it does not read a format
	 * newer than its hub writes either (before it needs PostgreSQL). */
	snprintf(log, sizeof log, "%s/export.log", e.dir);
	ck_assert_int_eq(tl_sh("timeout 20 '%s/hq-export' --data-dir '%s' --pg 'host=%s/nopg' "
		"--hub off --once 2>'%s'", SS_BIN_DIR, e.hub_data, e.dir, log), 1);
	snprintf(ere, sizeof ere, "has format %d; this hq-export \\(.*\\) reads formats up to %d",
		HUB_DB_FORMAT + 1, HUB_DB_FORMAT);
	ck_assert_uint_eq(tl_log_count(log, ere), 1);
	expect_untouched(e.hub_data, copy);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		old_agent_directory_is_stamped_and_its_buffered_records_arrive_once,
		old_hub_directory_is_stamped_and_shows_what_it_applied,
		newer_format_is_refused_and_left_untouched,
	};

	return tl_run("format", tests, sizeof tests / sizeof tests[0], 90);
}
