/* The export to PostgreSQL (issue 12, part 3), against a real PostgreSQL 15
 * (Debian's postgresql-15: initdb and pg_ctl as the postgres user, in the
 * test's directory, on a unix socket only). Records stream through two
 * real agents and a hub while hq-export runs; the exporter is killed -9,
 * PostgreSQL is stopped in immediate mode (no shutdown checkpoint: crash
 * recovery on start), and both at once, several times mid-stream. Then
 * every exported table must equal what hqctl shows, row for row: the
 * events (count, money and last seq per store against `stores`), stores,
 * sales by day, inventory, complaints and accounts; and `hqctl export
 * status` must show the export caught up. A lost or doubled row fails.
 * How far behind `export status` says the export is (reported by hand, no
 * PostgreSQL needed) is a duration, absent before any report. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "ss_time.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"
#define ROUNDS 60

struct pg {
	char dir[400], conninfo[600];
};

static int pg_ctl(const struct pg *pg, const char *what)
{
	return tl_sh("cd / && runuser -u postgres -- " PG_BIN "/pg_ctl -D '%s/data' -l '%s/log' "
		"-o \"-k %s -c listen_addresses=''\" -w %s >/dev/null 2>&1", pg->dir, pg->dir, pg->dir,
		what);
}

static void pg_init(const struct tl_env *e, struct pg *pg)
{
	snprintf(pg->dir, sizeof pg->dir, "%s/pg", e->dir);
	snprintf(pg->conninfo, sizeof pg->conninfo, "host=%s user=postgres dbname=postgres",
		pg->dir);
	ck_assert_int_eq(tl_sh("chmod 711 '%s' && mkdir '%s' && chown postgres '%s'", e->dir,
		pg->dir, pg->dir), 0);
	ck_assert_int_eq(tl_sh("cd / && runuser -u postgres -- " PG_BIN "/initdb -D '%s/data' -A "
		"trust -U postgres --no-sync >'%s/initdb.log' 2>&1", pg->dir, e->dir), 0);
	ck_assert_int_eq(pg_ctl(pg, "start"), 0);
}

static pid_t start_export(const struct tl_env *e, const struct pg *pg)
{
	char log[400], data[400];
	pid_t pid;

	snprintf(log, sizeof log, "%s/export.log", e->dir);
	snprintf(data, sizeof data, "%s", e->hub_data);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		FILE *f = freopen(log, "a", stderr);

		(void)f;
		execl(SS_BIN_DIR "/hq-export", "hq-export", "--data-dir", data, "--pg", pg->conninfo,
			"--hub", e->hub_query, "--batch", "300", "--poll-ms", "50", "--report-ms", "200",
			"--stores-refresh-ms", "500", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* ---- the stream ---- */

struct feeder {
	char local[320];
	const char *store;
	int rounds_done, failed;
	pthread_t thread;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	int64_t t0 = ss_now_ms() - 3 * SS_DAY_MS;

	for (int i = 0; i < ROUNDS && !f->failed; i++) {
		int64_t t = t0 + (int64_t)i * 3600 * 1000;
		char lines[8][512];
		const char *ls[8];

		snprintf(lines[0], sizeof lines[0], "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":"
			"\"%s-R%d\",\"lines\":[{\"sku\":\"TEA-%d\",\"quantity\":2,\"unit_price_fen\":150}],"
			"\"total_fen\":300,\"payment_method\":\"cash\",\"cashier\":\"C1\"}", (long long)t,
			f->store, i, i % 3);
		snprintf(lines[1], sizeof lines[1], "{\"type\":\"contract_sale\",\"time_ms\":%lld,"
			"\"contract_no\":\"%s-K%d\",\"customer\":\"CUST-%d\",\"total_fen\":100000,"
			"\"deposit_fen\":20000,\"deposit_method\":\"card\",\"signer\":\"S-LI\"}",
			(long long)t, f->store, i, i);
		snprintf(lines[2], sizeof lines[2], "{\"type\":\"payment\",\"time_ms\":%lld,\"payment_no\":"
			"\"%s-P%d\",\"account\":\"%s-K%d\",\"amount_fen\":%d,\"method\":\"mobile\"}",
			(long long)(t + 60000), f->store, i, f->store, i / 2 * 2, 1000 + i);
		snprintf(lines[3], sizeof lines[3], "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":"
			"\"%s\",\"customer\":\"CUST-9\",\"channel\":\"phone\",\"category\":\"delivery\","
			"\"severity\":\"low\"}", (long long)t,
			tl_case_no(lines[7], 64, f->store, i + 1, t, 0));
		snprintf(lines[4], sizeof lines[4], "{\"type\":\"inventory\",\"time_ms\":%lld,\"move_no\":"
			"\"%s-M%d\",\"kind\":\"receipt\",\"sku\":\"TEA-%d\",\"quantity\":%d}",
			(long long)t, f->store, i, i % 3, 10 + i);
		snprintf(lines[5], sizeof lines[5], "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":"
			"\"%s-S%d\",\"lines\":[{\"sku\":\"TEA-1\",\"quantity\":1,\"unit_price_fen\":980}],"
			"\"total_fen\":980,\"payment_method\":\"card\",\"cashier\":\"C2\"}",
			(long long)(t + 1000), f->store, i);
		for (int j = 0; j < 6; j++)
			ls[j] = lines[j];
		tl_submit_json(f->local, ls, 6);
		f->rounds_done++;
		ss_sleep_ms(40);
	}
	return NULL;
}

/* ---- comparing ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rows of a PostgreSQL query of one text column, sorted, "\n"-joined. */
static char *pg_rows(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int n = PQntuples(r);
	char **rows, *out = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	rows = calloc((size_t)n + 1, sizeof *rows);
	for (int i = 0; i < n; i++)
		rows[i] = PQgetvalue(r, i, 0);
	qsort(rows, (size_t)n, sizeof *rows, cmp_str);
	f = open_memstream(&out, &len);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n", rows[i]);
	fclose(f);
	free(rows);
	PQclear(r);
	return out;
}

/* Rows of an hqctl query: the named columns joined by '|', sorted. */
static char *hq_rows(const struct tl_env *e, const char *what, const char *const *cols,
	size_t ncols, const char *k, const char *v)
{
	Storesync__QueryReply *r = tl_query_ok(e->hub_query, what, k, v, NULL);
	char **rows = calloc(r->n_rows + 1, sizeof *rows), *out = NULL;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; i < r->n_rows; i++) {
		char *line = NULL;
		size_t ll = 0;
		FILE *lf = open_memstream(&line, &ll);

		for (size_t c = 0; c < ncols; c++) {
			int idx = -1;

			for (size_t j = 0; j < r->n_columns; j++)
				if (strcmp(r->columns[j], cols[c]) == 0)
					idx = (int)j;
			ck_assert_msg(idx >= 0, "%s has no column %s", what, cols[c]);
			if (r->rows[i]->cells[idx]->value_case == STORESYNC__CELL__VALUE_I)
				fprintf(lf, "%s%lld", c ? "|" : "", (long long)r->rows[i]->cells[idx]->i);
			else
				fprintf(lf, "%s%s", c ? "|" : "", r->rows[i]->cells[idx]->s);
		}
		fclose(lf);
		rows[i] = line;
	}
	qsort(rows, r->n_rows, sizeof *rows, cmp_str);
	f = open_memstream(&out, &len);
	for (size_t i = 0; i < r->n_rows; i++) {
		fprintf(f, "%s\n", rows[i]);
		free(rows[i]);
	}
	fclose(f);
	free(rows);
	tl_query_free(r);
	return out;
}

static void same(const char *what, char *hub, char *pg, size_t min_rows)
{
	size_t lines = 0;

	for (const char *p = hub; *p; p++)
		lines += *p == '\n';
	ck_assert_msg(strcmp(hub, pg) == 0, "%s differ:\nhqctl:\n%.2000s\npostgresql:\n%.2000s",
		what, hub, pg);
	ck_assert_msg(lines >= min_rows, "%s: only %zu rows", what, lines);
	free(hub);
	free(pg);
}

static int caught_up(const struct tl_env *e)
{
	Storesync__QueryReply *r = tl_query(e->hub_query, "export status", NULL);
	int ok = r && !r->error && r->n_rows == 1 && tl_cell_int(r, 0, "behind") == 0
		&& tl_cell_int(r, 0, "head") > 0 && tl_cell_int(r, 0, "report_age_ms") >= 0
		&& strcmp(tl_cell_str(r, 0, "state"), "ok") == 0;

	if (r)
		tl_query_free(r);
	return ok;
}

START_TEST(export_survives_kills_and_equals_the_hub_row_for_row)
{
	static const char *stores[2] = { "X1", "X2" };
	static const char *const store_cols[] = { "store_id", "records", "amount_fen",
		"high_water_seq" };
	static const char *const epoch_cols[] = { "store_id", "epoch" };
	static const char *const sales_cols[] = { "store_id", "period", "receipts", "sales_fen",
		"contracts", "deposits_fen", "payments_fen", "cash_fen", "card_fen", "mobile_fen" };
	static const char *const inv_cols[] = { "store_id", "sku", "on_hand", "moves" };
	static const char *const case_cols[] = { "case_no", "store_id", "state" };
	static const char *const acc_cols[] = { "account", "owner_store", "charged_fen",
		"received_fen", "balance_fen" };
	struct feeder f[2];
	struct tl_env e;
	struct pg pg;
	pid_t hub, agents[2], exporter;
	char data[320];
	PGconn *c;
	int64_t deadline;

	if (!tl_need("test -x " PG_BIN "/initdb && id postgres >/dev/null 2>&1", "export",
		"PostgreSQL 15 is not installed (deploy/install-deps.sh)"))
		return;
	tl_env_init(&e);
	pg_init(&e, &pg);
	hub = tl_start_hub(&e, NULL);
	for (int i = 0; i < 2; i++) {
		agents[i] = tl_start_agent(&e, stores[i], NULL);
		tl_agent_paths(&e, stores[i], f[i].local, sizeof f[i].local, data, sizeof data);
		f[i].store = stores[i];
		f[i].rounds_done = f[i].failed = 0;
	}
	exporter = start_export(&e, &pg);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&f[i].thread, NULL, feed, &f[i]), 0);
	/* Mid-stream: the exporter, PostgreSQL, then both, twice over. */
	for (int k = 0; k < 2; k++) {
		ss_sleep_ms(500);
		tl_kill9(exporter);
		ss_sleep_ms(200);
		exporter = start_export(&e, &pg);
		ss_sleep_ms(500);
		ck_assert_int_eq(pg_ctl(&pg, "-m immediate stop"), 0);
		ss_sleep_ms(300);
		ck_assert_int_eq(pg_ctl(&pg, "start"), 0);
		ss_sleep_ms(400);
		tl_kill9(exporter);
		ck_assert_int_eq(pg_ctl(&pg, "-m immediate stop"), 0);
		ck_assert_int_eq(pg_ctl(&pg, "start"), 0);
		exporter = start_export(&e, &pg);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(f[i].thread, NULL);
		ck_assert_int_eq(f[i].rounds_done, ROUNDS);
		ck_assert_int_eq(tl_wait_drained(f[i].local, 20000), ROUNDS * 6);
		ck_assert_int_eq(tl_wait_records(e.hub_query, stores[i], ROUNDS * 6, 20000), ROUNDS * 6);
	}
	/* Caught up: nothing behind, and the stores table refreshed since. */
	deadline = ss_mono_ms() + 20000;
	while (!caught_up(&e) && ss_mono_ms() < deadline)
		ss_sleep_ms(100);
	ck_assert_msg(caught_up(&e), "the export did not catch up (see %s/export.log)", e.dir);
	ss_sleep_ms(1200);

	c = PQconnectdb(pg.conninfo);
	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	same("events per store", hq_rows(&e, "stores", store_cols, 4, NULL, NULL),
		pg_rows(c, "SELECT store_id || '|' || count(*) || '|' || sum(amount_fen) || '|' || "
			"max(seq) FROM storesync_events GROUP BY store_id"), 2);
	same("stores", hq_rows(&e, "stores", store_cols, 4, NULL, NULL),
		pg_rows(c, "SELECT store_id || '|' || records || '|' || amount_fen || '|' || "
			"high_water_seq FROM storesync_stores"), 2);
	same("sales by day", hq_rows(&e, "sales", sales_cols, 10, "by", "day"),
		pg_rows(c, "SELECT concat_ws('|', store_id, to_char(day, 'YYYY-MM-DD'), receipts, "
			"sales_fen, contracts, deposits_fen, payments_fen, cash_fen, card_fen, mobile_fen) "
			"FROM storesync_sales"), 6);
	same("inventory", hq_rows(&e, "inventory", inv_cols, 4, NULL, NULL),
		pg_rows(c, "SELECT concat_ws('|', store_id, sku, on_hand, moves) FROM "
			"storesync_inventory"), 6);
	same("complaints", hq_rows(&e, "complaints", case_cols, 3, NULL, NULL),
		pg_rows(c, "SELECT concat_ws('|', case_no, store_id, state) FROM storesync_cases"),
		2 * ROUNDS);
	same("accounts", hq_rows(&e, "accounts", acc_cols, 5, NULL, NULL),
		pg_rows(c, "SELECT concat_ws('|', account, owner_store, charged_fen, received_fen, "
			"balance_fen) FROM storesync_accounts"), 2 * ROUNDS);
	/* Money in yuan beside fen, and times as timestamptz. */
	same("yuan beside fen", strdup("0\n"), pg_rows(c, "SELECT count(*)::text FROM "
		"storesync_events_yuan WHERE amount_yuan * 100 <> amount_fen OR time IS NULL"), 1);
	same("a sale as JSON", strdup("300\n"), pg_rows(c, "SELECT record->>'total_fen' FROM "
		"storesync_events WHERE business_key = 'receipt X1-R7'"), 1);
	/* Every typed column says what its record says (they travel in COPY's
	 * binary format, times as microseconds since 2000: an error of epoch or
	 * unit shows here; a NULL where the record has a value is an error too,
	 * hence IS DISTINCT FROM), and each store's epoch is the hub's. */
	same("typed columns agree with the record", strdup("0\n"), pg_rows(c,
		"SELECT count(*)::text FROM storesync_events WHERE "
		"(extract(epoch FROM time) * 1000)::bigint IS DISTINCT FROM (record->>'time_ms')::bigint "
		"OR (extract(epoch FROM recorded_at) * 1000)::bigint IS DISTINCT FROM "
		"(record->>'recorded_ms')::bigint "
		"OR seq IS DISTINCT FROM (record->>'seq')::bigint OR received_at < recorded_at "
		"OR received_at > now() OR utc_offset_min NOT BETWEEN -840 AND 840 "
		"OR kind IS DISTINCT FROM record->>'type'"), 1);
	same("epochs", hq_rows(&e, "stores", epoch_cols, 2, NULL, NULL),
		pg_rows(c, "SELECT DISTINCT store_id || '|' || epoch FROM storesync_events"), 2);
	PQfinish(c);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' export status | grep -q ok", SS_BIN_DIR,
		e.hub_query), 0);

	tl_stop(exporter);
	for (int i = 0; i < 2; i++)
		tl_stop(agents[i]);
	tl_stop(hub);
	pg_ctl(&pg, "-m fast stop");
	tl_env_cleanup(&e);
}
END_TEST

/* hqctl export status's behind_ms, in text (the sixth field: head_ms
 * prints as a day and a time) and in JSON (null: "null"), into buf. */
static void hqctl_behind(const struct tl_env *e, char *text, char *json, size_t len)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/behind", e->dir);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' export status | awk 'NR == 2 { print $6 }' "
		">'%s' && '%s/hqctl' --hub '%s' export status --json | jq -c '.[0].behind_ms' >>'%s'",
		SS_BIN_DIR, e->hub_query, path, SS_BIN_DIR, e->hub_query, path), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(text, (int)len, f));
	ck_assert_ptr_nonnull(fgets(json, (int)len, f));
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	json[strcspn(json, "\n")] = '\0';
}

static int64_t reported_behind_ms(const struct tl_env *e, uint64_t position)
{
	char pos[24];
	Storesync__QueryReply *r;
	int64_t v;

	snprintf(pos, sizeof pos, "%" PRIu64, position);
	tl_query_free(tl_query_ok(e->hub_query, "export report", "position", pos, "events", pos,
		"note", "ok", NULL));
	r = tl_query_ok(e->hub_query, "export status", NULL);
	v = tl_cell_int(r, 0, "behind_ms");
	tl_query_free(r);
	return v;
}

START_TEST(export_delay_is_a_duration_absent_before_a_report)
{
	struct tl_env e;
	char local[320], data[320], text[64], json[64];
	Storesync__QueryReply *r;
	pid_t hub, agent;
	int64_t first, head, v;

	if (!tl_need("command -v jq >/dev/null", "export status --json", "jq not installed"))
		return;
	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "Y1", NULL);
	tl_agent_paths(&e, "Y1", local, sizeof local, data, sizeof data);
	ck_assert_int_eq(tl_submit_sales(local, 3, 100, "R", 1, NULL, 10000), 3);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "Y1", 3, 20000), 3);
	r = tl_query_ok(e.hub_query, "export status", NULL);
	first = tl_cell_int(r, 0, "head");
	/* No exporter has spoken: no delay to show (it showed the head's time). */
	ck_assert_int_eq(tl_cell_int(r, 0, "behind_ms"), -1);
	tl_query_free(r);
	hqctl_behind(&e, text, json, sizeof text);
	ck_assert_str_eq(text, "-");
	ck_assert_str_eq(json, "null");
	/* Changes 1.2 s of hub time after the first ones. */
	usleep(1200 * 1000);
	ck_assert_int_eq(tl_submit_sales(local, 2, 100, "R", 4, NULL, 10000), 2);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "Y1", 5, 20000), 5);
	r = tl_query_ok(e.hub_query, "export status", NULL);
	head = tl_cell_int(r, 0, "head");
	tl_query_free(r);
	ck_assert_int_gt(head, first);

	/* Exported through the first batch, 1.2 s after the second came: the
	 * second has waited that long. */
	usleep(1200 * 1000);
	v = reported_behind_ms(&e, (uint64_t)first);
	ck_assert_int_ge(v, 1200);
	ck_assert_int_lt(v, 60000);
	hqctl_behind(&e, text, json, sizeof text);
	ck_assert_msg(tl_sh("echo '%s' | grep -Eq '^[0-9]+s$'", text) == 0,
		"behind_ms reads \"%s\", not a duration in seconds", text);
	/* Asked again a moment later: the change has waited that much more. */
	ck_assert_int_ge(strtoll(json, NULL, 10), v);
	ck_assert_int_lt(strtoll(json, NULL, 10), v + 10000);
	/* Nothing exported yet: the first change has waited 2.4 s and more,
	 * not since 1970. */
	v = reported_behind_ms(&e, 0);
	ck_assert_int_ge(v, 2400);
	ck_assert_int_lt(v, 60000);
	/* Caught up. */
	ck_assert_int_eq(reported_behind_ms(&e, (uint64_t)head), 0);
	hqctl_behind(&e, text, json, sizeof text);
	ck_assert_str_eq(text, "0s");
	ck_assert_str_eq(json, "0");

	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { export_delay_is_a_duration_absent_before_a_report,
		export_survives_kills_and_equals_the_hub_row_for_row };

	return tl_run("export", tests, sizeof tests / sizeof tests[0], 120);
}
