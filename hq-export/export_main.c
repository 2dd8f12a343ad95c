/* hq-export: exports a hub's event log and views to PostgreSQL,
 * continuously and exactly once. This file turns flags and the INI file
 * into an export_config and runs the loop:
 *   read the position from PostgreSQL; read what changed after it from the
 *   hub (one LMDB read transaction); write rows and position in one
 *   PostgreSQL transaction; tell the hub how far it got; again.
 * It never writes the hub's data directory and holds no lock the hub
 * needs: it runs behind the hub, never in front of it. Either side may be
 * killed at any moment; a lost connection is retried with a growing pause,
 * and every retry starts from the position PostgreSQL holds. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "ss_client.h"
#include "ss_config.h"
#include "ss_log.h"
#include "ss_time.h"
#include "ss_version.h"

#define N_CONFIG_ITEMS 9
#define RETRY_MAX_MS 5000
#define LOG_INTERVAL_MS 10000

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hq-export [OPTIONS]\n"
		"Exports a hub's event log and views (stores, sales, inventory, cases, accounts)\n"
		"to PostgreSQL, continuously and exactly once: its position is kept in the same\n"
		"PostgreSQL transaction as the rows. Runs beside hq-hub on the hub's data\n"
		"directory, reading only. Tables: docs/export.md (or --schema).\n\n"
		"  -c, --config FILE        INI file ([export] section); flags override it\n"
		"  -d, --data-dir DIR       the hub's data directory (default /var/lib/storesync/hub)\n"
		"  -p, --pg CONNINFO        libpq connection string (default \"dbname=storesync\";\n"
		"                           e.g. \"host=/run/postgresql dbname=bi user=storesync\")\n"
		"  -q, --hub ENDPOINT       the hub's admin socket, told where the export stands\n"
		"                           (hqctl export status; default\n"
		"                           ipc:///run/storesync/hub-admin.sock, or off)\n"
		"      --batch N            events per PostgreSQL transaction, at most (default 50000)\n"
		"      --poll-ms N          how often to look for new records when idle (default 200)\n"
		"      --stores-refresh-ms N  the stores table whole this often (default 10000)\n"
		"      --report-ms N        tell the hub at least this often (default 2000)\n"
		"      --schema             print the tables' SQL and exit\n"
		"      --once               export what there is, then exit (0 when done)\n"
		"      --log-level LEVEL    debug, info (default), warning or error\n"
		"      --version            print the version and exit\n"
		"  -h, --help               this text\n"
		"Exit status: 0 when stopped (or --once done), 1 when it cannot start, 2 on a\n"
		"usage error.\n");
}

enum { OPT_BATCH = 256, OPT_POLL, OPT_REFRESH, OPT_REPORT, OPT_SCHEMA, OPT_ONCE, OPT_LOG_LEVEL,
	OPT_VERSION };

struct opts {
	char log_level[16];
	int once;
};

static void config_items(struct export_config *c, struct opts *o, struct ss_config_item *items)
{
	struct ss_config_item v[N_CONFIG_ITEMS] = {
		{ "export", "data_dir", SS_CFG_STRING, c->data_dir, sizeof c->data_dir, 0, 0 },
		{ "export", "pg", SS_CFG_STRING, c->pg, sizeof c->pg, 0, 0 },
		{ "export", "hub", SS_CFG_STRING, c->hub, sizeof c->hub, 0, 0 },
		{ "export", "batch", SS_CFG_INT64, &c->batch_rows, 0, 1, 1000000 },
		{ "export", "poll_ms", SS_CFG_INT64, &c->poll_ms, 0, 10, 600000 },
		{ "export", "stores_refresh_ms", SS_CFG_INT64, &c->stores_refresh_ms, 0, 100, 86400000 },
		{ "export", "report_ms", SS_CFG_INT64, &c->report_ms, 0, 100, 600000 },
		{ "export", "log_level", SS_CFG_STRING, o->log_level, sizeof o->log_level, 0, 0 },
		{ 0 },
	};

	memcpy(items, v, sizeof v);
}

static int set(struct ss_config_item *items, const char *name, const char *value)
{
	return ss_config_flag(items, "hq-export", name, value);
}

/* 0 to run, 1 after --help, --version or --schema, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct export_config *c, struct opts *o,
	enum ss_log_level *level)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' }, { "data-dir", required_argument, 0, 'd' },
		{ "pg", required_argument, 0, 'p' }, { "hub", required_argument, 0, 'q' },
		{ "batch", required_argument, 0, OPT_BATCH }, { "poll-ms", required_argument, 0, OPT_POLL },
		{ "stores-refresh-ms", required_argument, 0, OPT_REFRESH },
		{ "report-ms", required_argument, 0, OPT_REPORT },
		{ "schema", no_argument, 0, OPT_SCHEMA }, { "once", no_argument, 0, OPT_ONCE },
		{ "log-level", required_argument, 0, OPT_LOG_LEVEL },
		{ "version", no_argument, 0, OPT_VERSION }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct ss_config_item items[N_CONFIG_ITEMS];
	char err[512];
	int ch, rc = 0;

	config_items(c, o, items);
	for (int i = 1; i < argc; i++) {
		const char *path = NULL;

		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		if (path && ss_config_load(path, items, err, sizeof err) != 0) {
			fprintf(stderr, "hq-export: %s\n", err);
			return 2;
		}
	}
	while (rc == 0 && (ch = getopt_long(argc, argv, "c:d:p:q:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': break;
		case 'd': rc = set(items, "data_dir", optarg); break;
		case 'p': rc = set(items, "pg", optarg); break;
		case 'q': rc = set(items, "hub", optarg); break;
		case OPT_BATCH: rc = set(items, "batch", optarg); break;
		case OPT_POLL: rc = set(items, "poll_ms", optarg); break;
		case OPT_REFRESH: rc = set(items, "stores_refresh_ms", optarg); break;
		case OPT_REPORT: rc = set(items, "report_ms", optarg); break;
		case OPT_LOG_LEVEL: rc = set(items, "log_level", optarg); break;
		case OPT_ONCE: o->once = 1; break;
		case OPT_SCHEMA: export_schema_sql(stdout); return 1;
		case OPT_VERSION: ss_version_print("hq-export"); return 1;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "hq-export: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (rc == 0 && ss_log_level_parse(o->log_level, level) != 0) {
		fprintf(stderr, "hq-export: log_level: \"%s\" is not debug, info, warning or error\n",
			o->log_level);
		return 2;
	}
	return rc;
}

/* The exporter runs on the hub's host: it speaks to the admin socket (file
 * permissions, no key), as operator "local". */
static const struct ss_client_kind hub_kind = { "hqctl", "hub", "STORESYNC_HUB",
	"ipc:///run/storesync/hub-admin.sock", SS_SERVICE_HUB, "hub query endpoint", NULL, NULL, NULL };

/* Tells the hub where the export stands; a hub that does not answer is
 * not waited for long (the export does not depend on it). */
static void report(const struct export_config *c, const struct export_position *p,
	const char *note)
{
	Storesync__QueryRequest q = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam par[3] = { STORESYNC__QUERY_PARAM__INIT, STORESYNC__QUERY_PARAM__INIT,
		STORESYNC__QUERY_PARAM__INIT }, *pp[3] = { &par[0], &par[1], &par[2] };
	Storesync__QueryReply *reply = NULL;
	struct ss_client cl;
	char pos[24], ev[24], err[256];

	if (!c->hub[0] || strcmp(c->hub, "off") == 0)
		return;
	snprintf(pos, sizeof pos, "%llu", (unsigned long long)p->change_no);
	snprintf(ev, sizeof ev, "%llu", (unsigned long long)p->events);
	par[0].key = "position";
	par[0].value = pos;
	par[1].key = "events";
	par[1].value = ev;
	par[2].key = "note";
	par[2].value = (char *)note;
	q.what = "export report";
	q.params = pp;
	q.n_params = 3;
	if (ss_client_init(&cl, &hub_kind, c->hub, "1", err, sizeof err) != SS_EXIT_OK)
		return;
	if (ss_client_open(&cl, err, sizeof err) != SS_EXIT_OK) {
		ss_debug("report to the hub: %s", err);
		ss_client_close(&cl);
		return;
	}
	if (ss_client_query(&cl, &q, &reply, err, sizeof err) != SS_EXIT_OK)
		ss_debug("report to the hub: %s", err);
	else if (reply->error)
		ss_warn("report to the hub refused: %s", reply->error);
	if (reply)
		storesync__query_reply__free_unpacked(reply, NULL);
	ss_client_close(&cl);
}

struct state {
	struct export_config *cfg;
	struct export_hub hub;
	PGconn *pg;
	struct export_position pos;
	int64_t next_refresh_mono, next_report_mono, retry_ms;
	int once;                  /* --once: trouble ends the run, no retry */
	struct ss_lograte log;
	char note[160];
};

static void trouble(struct state *s, const char *err)
{
	uint64_t held = 0;

	/* The hub shows the first line's start; the log has all of it. */
	snprintf(s->note, sizeof s->note, "%.*s", (int)sizeof s->note - 1, err);
	if (ss_lograte_allow(&s->log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("%s (%s)%s", err, s->once ? "--once: stopping" : "retrying",
			ss_lograte_note(held));
	if (s->pg)
		PQfinish(s->pg);
	s->pg = NULL;
	s->retry_ms = s->retry_ms ? (s->retry_ms * 2 < RETRY_MAX_MS ? s->retry_ms * 2
		: RETRY_MAX_MS) : 100;
}

/* 1 when txn holds something to export (*full: a full copy), 0 when not. */
static int pending(struct state *s, MDB_txn *txn, int *full)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	MDB_cursor *cur;
	int rc;

	if ((*full = export_full_needed(&s->hub, txn, &s->pos)))
		/* A hub that holds nothing yet has nothing to copy. */
		return mdb_cursor_open(txn, s->hub.stores, &cur) == 0
			&& (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST), mdb_cursor_close(cur), rc == 0);
	ss_be64_put(key, s->pos.change_no + 1);
	if (mdb_cursor_open(txn, s->hub.event_order, &cur) != 0)
		return 0;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	mdb_cursor_close(cur);
	return rc == 0;
}

/* One round: 1 when something was exported, 0 when there was nothing to
 * do, -1 on trouble (noted, connection dropped). */
static int round_once(struct state *s)
{
	struct export_batch b = { 0 };
	char err[512];
	MDB_txn *txn;
	int rc, full;

	if (s->hub.env && export_hub_replaced(&s->hub, s->cfg->data_dir)) {
		ss_info("the hub's data.mdb was replaced (a restore?): reopening it");
		export_hub_close(&s->hub);
	}
	if (!s->hub.env && export_hub_open(&s->hub, s->cfg->data_dir, err, sizeof err) != 0)
		return trouble(s, err), -1;
	if (!s->pg) {
		if (!(s->pg = export_pg_connect(s->cfg->pg, err, sizeof err))
			|| export_pg_position(s->pg, &s->pos, err, sizeof err) != 0)
			return trouble(s, err), -1;
		ss_info("connected to PostgreSQL: exported through change %llu (%llu events)",
			(unsigned long long)s->pos.change_no, (unsigned long long)s->pos.events);
	}
	if ((rc = export_hub_begin(&s->hub, &txn)) != 0) {
		snprintf(err, sizeof err, "reading the hub: %s", mdb_strerror(rc));
		export_hub_close(&s->hub);
		return trouble(s, err), -1;
	}
	if ((rc = pending(s, txn, &full)) <= 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if (full)
		ss_info("full copy of the hub (the position %llu is not one this hub issued, or "
			"nothing was exported yet)", (unsigned long long)s->pos.change_no);
	err[0] = '\0';
	if ((rc = export_pg_begin(s->pg, &s->pos, full, err, sizeof err)) == 0) {
		FILE *events = export_pg_copy_stream(s->pg);

		rc = events ? export_collect(&s->hub, txn, &s->pos, full, (size_t)s->cfg->batch_rows,
			events, &b, err, sizeof err) : -1;
		if (events && fclose(events) != 0 && rc == 0) {
			snprintf(err, sizeof err, "postgresql: COPY: %s", PQerrorMessage(s->pg));
			rc = -1;
		}
		if (rc == 0)
			rc = export_pg_finish(s->pg, &b, err, sizeof err);
		else
			export_pg_abort(s->pg);
		if (rc < 0 && !err[0])
			snprintf(err, sizeof err, "out of memory");
	}
	mdb_txn_abort(txn);
	if (rc == 0) {
		ss_debug("exported %zu events through change %llu", b.n_events,
			(unsigned long long)b.to.change_no);
		s->pos = b.to;
		rc = 1;
	} else if (rc == 1) {
		ss_warn("another exporter moved the position: reading it again");
		rc = export_pg_position(s->pg, &s->pos, err, sizeof err);
	}
	export_batch_free(&b);
	if (rc < 0)
		return trouble(s, err), -1;
	return 1;
}

static void refresh_stores(struct state *s)
{
	struct export_batch b;
	char err[512];
	MDB_txn *txn;

	if (export_hub_begin(&s->hub, &txn) != 0)
		return;
	if (export_collect_stores(&s->hub, txn, &b, err, sizeof err) == 0
		&& export_pg_stores(s->pg, &b, err, sizeof err) != 0)
		trouble(s, err);
	mdb_txn_abort(txn);
	export_batch_free(&b);
}

static int run(struct export_config *cfg, int once)
{
	struct state s = { .cfg = cfg, .once = once };
	int rc = 0;

	while (!stop_signal) {
		int got = round_once(&s);

		if (got < 0) {
			if (once)
				return 1;
			ss_sleep_ms(s.retry_ms);
			continue;
		}
		s.retry_ms = 0;
		snprintf(s.note, sizeof s.note, "ok");
		if (ss_mono_ms() >= s.next_refresh_mono || (once && got == 0)) {
			refresh_stores(&s);
			s.next_refresh_mono = ss_mono_ms() + cfg->stores_refresh_ms;
		}
		if (got > 0 || ss_mono_ms() >= s.next_report_mono) {
			report(cfg, &s.pos, s.note);
			s.next_report_mono = ss_mono_ms() + cfg->report_ms;
		}
		if (once && got == 0)
			break;
		if (got == 0)
			ss_sleep_ms(cfg->poll_ms);
	}
	if (s.pg)
		PQfinish(s.pg);
	export_hub_close(&s.hub);
	return rc;
}

int main(int argc, char **argv)
{
	struct export_config cfg = { .data_dir = "/var/lib/storesync/hub", .pg = "dbname=storesync",
		.hub = "ipc:///run/storesync/hub-admin.sock", .batch_rows = 50000, .poll_ms = 200,
		.stores_refresh_ms = 10000, .report_ms = 2000 };
	struct opts o = { .log_level = "info" };
	enum ss_log_level level = SS_LOG_INFO;
	int rc = parse_args(argc, argv, &cfg, &o, &level);

	if (rc != 0)
		return rc == 1 ? 0 : 2;
	ss_log_init("hq-export", level);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ss_info("exporting %s to PostgreSQL (%s)", cfg.data_dir, cfg.pg);
	rc = run(&cfg, o.once);
	ss_info("stopped");
	return rc;
}
