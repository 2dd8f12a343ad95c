/* hq-hub: the central daemon. This file turns flags and the INI file into a
 * hub_config, locks the data directory (one hub per directory, ss_daemon),
 * opens LMDB, starts the door keeper (hub_zap), binds the store link,
 * starts the query thread and runs ingest
 * on the main thread (the one LMDB writer) until SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "hub_http.h"
#include "hub_work.h"
#include "hub_zap.h"
#include "ss_config.h"
#include "ss_daemon.h"
#include "ss_http.h"
#include "ss_link.h"
#include "ss_notify.h"
#include "ss_reload.h"
#include "ss_time.h"
#include "ss_validate.h"
#include "ss_version.h"

#define N_CONFIG_ITEMS 27

/* Settings of the process rather than of the engine (hub_config). */
struct hub_main_opts {
	char log_level[16];
	char config_path[512];    /* --config, read again on SIGHUP; "" for none */
};

static struct hub *hub_for_signal;
static struct hub_main_opts *opts_for_reload;

static void on_signal(int sig)
{
	(void)sig;
	if (hub_for_signal)
		atomic_store(&hub_for_signal->stopping, 1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hq-hub [OPTIONS]\n"
		"       hq-hub keygen FILE   write the hub's key pair: FILE (secret, 0600), FILE.pub\n"
		"The storesync hub: receives every store's records, applies each exactly once\n"
		"and in order, and answers operators' queries (hqctl).\n\n"
		"  -c, --config FILE        INI file ([hub] section); flags override it\n"
		"  -d, --data-dir DIR       LMDB directory (default /var/lib/storesync/hub)\n"
		"  -l, --listen ENDPOINT    store links (default tcp://*:7701)\n"
		"  -q, --query ENDPOINT     operators' endpoint, CurveZMQ (default tcp://127.0.0.1:7702)\n"
		"      --admin ENDPOINT     plaintext ipc:// endpoint for this host's admins, who act\n"
		"                           as operator 'local' with the admin role; its socket file\n"
		"                           is mode 0660 (default ipc:///run/storesync/hub-admin.sock,\n"
		"                           '' for none)\n"
		"      --admin-group GROUP  group of the admin socket file, whose members may use it\n"
		"                           (default storesync; when that group does not exist: a\n"
		"                           warning, the group is left as is). '' leaves the file\n"
		"                           the group it was made with (the hub's), no warning: a\n"
		"                           hub run by hand\n"
		"      --curve-key FILE     the hub's CurveZMQ key pair, from 'hq-hub keygen FILE'; the\n"
		"                           file must be readable by its owner only (default\n"
		"                           /etc/storesync/hub.key)\n"
		"      --insecure           no CurveZMQ: the store link and the operators' endpoint\n"
		"                           are plaintext and unauthenticated (logged as a warning,\n"
		"                           shown in hqctl stores); for a closed test network only\n"
		"  -f, --foreground         stay in the foreground (default: daemonize)\n"
		"      --budget BYTES       LMDB size limit, k/M/G suffixes (default 64G)\n"
		"      --map-initial BYTES  LMDB map at start (default: the whole budget, which is\n"
		"                           address space, not disk; smaller maps grow ahead of need)\n"
		"      --group-records N    records per group commit, at most (default 50000)\n"
		"      --commit-interval-ms N  a group commit starts at least N ms after the last\n"
		"                           (default 10): records arriving meanwhile share its\n"
		"                           fsync, fewer disk writes for up to N ms more latency\n"
		"      --listen-backlog N   store connections the kernel queues while the hub\n"
		"                           accepts (default 4096, capped by net.core.somaxconn):\n"
		"                           a whole fleet reconnecting after a restart\n"
		"      --max-stores N       store connections served at once (default 12000);\n"
		"                           more are refused. The hub raises its open files limit\n"
		"                           to N plus a reserve, or does not start\n"
		"      --query-threads N    workers answering hqctl (default 4): a long query\n"
		"                           (a dump) does not hold up the others\n"
		"      --notice-scan-ms N   how often to look for newly stale accounts and send\n"
		"                           their owning stores a collection notice (default 60000)\n"
		"      --update-retention-days N  keep the update log N days (default 30); a store\n"
		"                           further behind gets a snapshot of what is in force\n"
		"      --state-flush-ms N   what stores' heartbeats say (last seen, backlog, an idle\n"
		"                           store's progress) reaches LMDB at least every N ms\n"
		"                           (default 30000; keep it well below the smallest\n"
		"                           store_silence_minutes): heartbeats cost no disk\n"
		"      --links-per-source N  store-link connections one address may hold open\n"
		"                           (default 256; local ipc peers are not limited)\n"
		"      --handshakes-per-second N  new store-link connections per address and\n"
		"                           second, in bursts of twice that (default 50)\n"
		"      --http ADDR          /metrics and the status page over HTTP, IPV4:PORT or off\n"
		"                           (default 127.0.0.1:7703); an address other hosts can\n"
		"                           reach needs --http-auth\n"
		"      --http-auth FILE     operators' tokens, \"OPERATOR TOKEN\" a line (mode 0600):\n"
		"                           every request then names an active operator (Basic\n"
		"                           OPERATOR:TOKEN, or Authorization: Bearer TOKEN)\n"
		"      --metrics-max-stores N  stores with /metrics series of their own, at most\n"
		"                           (default 10000); the rest are counted, not listed\n"
		"      --clock-offset-ms N  TEST CLOCK: shift the hub's wall clock by N ms (at most\n"
		"                           50 years either way, the clock staying in 2000..2099)\n"
		"      --log-level LEVEL    debug, info (default), warning or error\n"
		"  -v, --verbose            the same as --log-level debug\n"
		"      --version            print the version and exit\n"
		"  -h, --help               this text\n"
		"A second hub on the same data directory, or on an ipc endpoint a running\n"
		"process listens on, exits at once with status 1. Logs go to stderr, with\n"
		"journald priorities when JOURNAL_STREAM is set (under systemd).\n");
}

enum { OPT_BUDGET = 256, OPT_GROUP, OPT_BACKLOG, OPT_CLOCK, OPT_MAP_INITIAL, OPT_QUERY_THREADS,
	OPT_NOTICE_SCAN, OPT_RETENTION, OPT_STATE_FLUSH, OPT_MAX_STORES, OPT_COMMIT_INTERVAL,
	OPT_LOG_LEVEL, OPT_VERSION, OPT_LINKS_PER_SOURCE, OPT_HANDSHAKES, OPT_CURVE_KEY, OPT_INSECURE,
	OPT_ADMIN, OPT_ADMIN_GROUP, OPT_HTTP, OPT_HTTP_AUTH, OPT_METRICS_MAX_STORES };

static void config_items(struct hub_config *c, struct hub_main_opts *m,
	struct ss_config_item *items)
{
	struct ss_config_item v[N_CONFIG_ITEMS] = {
		{ "hub", "data_dir", SS_CFG_STRING, c->data_dir, sizeof c->data_dir, 0, 0 },
		{ "hub", "listen", SS_CFG_STRING, c->listen, sizeof c->listen, 0, 0 },
		{ "hub", "query", SS_CFG_STRING, c->query, sizeof c->query, 0, 0 },
		{ "hub", "budget", SS_CFG_INT64, &c->budget_bytes, 0, 16 << 20, INT64_MAX / 4 },
		{ "hub", "map_initial", SS_CFG_INT64, &c->map_initial_bytes, 0, 1 << 20, INT64_MAX / 4 },
		{ "hub", "group_records", SS_CFG_INT64, &c->group_records, 0, 1, 1000000 },
		{ "hub", "commit_interval_ms", SS_CFG_INT64, &c->commit_interval_ms, 0, 0, 1000 },
		{ "hub", "listen_backlog", SS_CFG_INT64, &c->listen_backlog, 0, 16, 65535 },
		{ "hub", "max_stores", SS_CFG_INT64, &c->max_stores, 0, 1, 1000000 },
		{ "hub", "clock_offset_ms", SS_CFG_INT64, &c->clock_offset_ms, 0,
			-SS_CLOCK_OFFSET_MAX_MS, SS_CLOCK_OFFSET_MAX_MS },
		{ "hub", "foreground", SS_CFG_INT64, &c->foreground, 0, 0, 1 },
		{ "hub", "query_threads", SS_CFG_INT64, &c->query_threads, 0, 1, 64 },
		{ "hub", "notice_scan_ms", SS_CFG_INT64, &c->notice_scan_ms, 0, 100, 86400000 },
		{ "hub", "update_retention_days", SS_CFG_INT64, &c->update_retention_days, 0, 1,
			3650 },
		{ "hub", "state_flush_ms", SS_CFG_INT64, &c->state_flush_ms, 0, 1000, 600000 },
		{ "hub", "links_per_source", SS_CFG_INT64, &c->links_per_source, 0, 1, 1000000 },
		{ "hub", "handshakes_per_second", SS_CFG_INT64, &c->handshakes_per_second, 0, 1,
			1000000 },
		{ "hub", "curve_key", SS_CFG_STRING, c->curve_key, sizeof c->curve_key, 0, 0 },
		{ "hub", "insecure", SS_CFG_INT64, &c->insecure, 0, 0, 1 },
		{ "hub", "admin", SS_CFG_STRING, c->admin, sizeof c->admin, 0, 0 },
		{ "hub", "admin_group", SS_CFG_STRING, c->admin_group, sizeof c->admin_group, 0, 0 },
		{ "hub", "log_level", SS_CFG_STRING, m->log_level, sizeof m->log_level, 0, 0 },
		{ "hub", "http", SS_CFG_STRING, c->http, sizeof c->http, 0, 0 },
		{ "hub", "http_auth", SS_CFG_STRING, c->http_auth, sizeof c->http_auth, 0, 0 },
		{ "hub", "metrics_max_stores", SS_CFG_INT64, &c->metrics_max_stores, 0, 0, 1000000 },
		/* Until 0.1.0 the hub set ZMTP heartbeats; liveness is the agents'
		 * heartbeat now (docs/design.md). */
		{ "hub", "heartbeat_ms", SS_CFG_RETIRED, NULL, 0, 0, 0 },
		{ 0 },
	};

	memcpy(items, v, sizeof v);
}

static int set_flag(struct ss_config_item *items, const char *key, const char *value)
{
	return ss_config_flag(items, "hq-hub", key, value);
}

/* Returns 0 to run, 1 after --help or --version, 2 on a usage error
 * (message printed). */
static int parse_args(int argc, char **argv, struct hub_config *c, struct hub_main_opts *m,
	enum ss_log_level *level)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' }, { "data-dir", required_argument, 0, 'd' },
		{ "listen", required_argument, 0, 'l' }, { "query", required_argument, 0, 'q' },
		{ "foreground", no_argument, 0, 'f' }, { "budget", required_argument, 0, OPT_BUDGET },
		{ "group-records", required_argument, 0, OPT_GROUP },
		{ "commit-interval-ms", required_argument, 0, OPT_COMMIT_INTERVAL },
		{ "listen-backlog", required_argument, 0, OPT_BACKLOG },
		{ "max-stores", required_argument, 0, OPT_MAX_STORES },
		{ "clock-offset-ms", required_argument, 0, OPT_CLOCK },
		{ "map-initial", required_argument, 0, OPT_MAP_INITIAL },
		{ "query-threads", required_argument, 0, OPT_QUERY_THREADS },
		{ "notice-scan-ms", required_argument, 0, OPT_NOTICE_SCAN },
		{ "update-retention-days", required_argument, 0, OPT_RETENTION },
		{ "state-flush-ms", required_argument, 0, OPT_STATE_FLUSH },
		{ "log-level", required_argument, 0, OPT_LOG_LEVEL },
		{ "links-per-source", required_argument, 0, OPT_LINKS_PER_SOURCE },
		{ "handshakes-per-second", required_argument, 0, OPT_HANDSHAKES },
		{ "curve-key", required_argument, 0, OPT_CURVE_KEY },
		{ "insecure", no_argument, 0, OPT_INSECURE },
		{ "admin", required_argument, 0, OPT_ADMIN },
		{ "admin-group", required_argument, 0, OPT_ADMIN_GROUP },
		{ "http", required_argument, 0, OPT_HTTP },
		{ "http-auth", required_argument, 0, OPT_HTTP_AUTH },
		{ "metrics-max-stores", required_argument, 0, OPT_METRICS_MAX_STORES },
		{ "verbose", no_argument, 0, 'v' }, { "version", no_argument, 0, OPT_VERSION },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	struct ss_config_item items[N_CONFIG_ITEMS];
	char err[512];
	int o, rc = 0;

	config_items(c, m, items);
	for (int i = 1; i < argc; i++) {
		const char *path = NULL;

		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		if (path && ss_config_load(path, items, err, sizeof err) != 0) {
			fprintf(stderr, "hq-hub: %s\n", err);
			return 2;
		}
		if (path)
			snprintf(m->config_path, sizeof m->config_path, "%s", path);
	}
	while (rc == 0 && (o = getopt_long(argc, argv, "c:d:l:q:fvh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': break;
		case 'd': rc = set_flag(items, "data_dir", optarg); break;
		case 'l': rc = set_flag(items, "listen", optarg); break;
		case 'q': rc = set_flag(items, "query", optarg); break;
		case 'f': c->foreground = 1; break;
		case OPT_BUDGET: rc = set_flag(items, "budget", optarg); break;
		case OPT_GROUP: rc = set_flag(items, "group_records", optarg); break;
		case OPT_COMMIT_INTERVAL: rc = set_flag(items, "commit_interval_ms", optarg); break;
		case OPT_BACKLOG: rc = set_flag(items, "listen_backlog", optarg); break;
		case OPT_MAX_STORES: rc = set_flag(items, "max_stores", optarg); break;
		case OPT_CLOCK: rc = set_flag(items, "clock_offset_ms", optarg); break;
		case OPT_MAP_INITIAL: rc = set_flag(items, "map_initial", optarg); break;
		case OPT_QUERY_THREADS: rc = set_flag(items, "query_threads", optarg); break;
		case OPT_NOTICE_SCAN: rc = set_flag(items, "notice_scan_ms", optarg); break;
		case OPT_RETENTION: rc = set_flag(items, "update_retention_days", optarg); break;
		case OPT_STATE_FLUSH: rc = set_flag(items, "state_flush_ms", optarg); break;
		case OPT_LOG_LEVEL: rc = set_flag(items, "log_level", optarg); break;
		case OPT_LINKS_PER_SOURCE: rc = set_flag(items, "links_per_source", optarg); break;
		case OPT_HANDSHAKES: rc = set_flag(items, "handshakes_per_second", optarg); break;
		case OPT_CURVE_KEY: rc = set_flag(items, "curve_key", optarg); break;
		case OPT_INSECURE: c->insecure = 1; break;
		case OPT_ADMIN: rc = set_flag(items, "admin", optarg); break;
		case OPT_ADMIN_GROUP: rc = set_flag(items, "admin_group", optarg); break;
		case OPT_HTTP: rc = set_flag(items, "http", optarg); break;
		case OPT_HTTP_AUTH: rc = set_flag(items, "http_auth", optarg); break;
		case OPT_METRICS_MAX_STORES: rc = set_flag(items, "metrics_max_stores", optarg); break;
		case 'v': rc = set_flag(items, "log_level", "debug"); break;
		case OPT_VERSION: ss_version_print("hq-hub"); return 1;
		case 'h': usage(stdout); return 1;
		default: return 2;   /* getopt said which option, in one line */
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "hq-hub: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (rc == 0 && !ss_http_off(c->http) && ss_http_check_addr(c->http, err, sizeof err) != 0) {
		fprintf(stderr, "hq-hub: %s\n", err);
		return 2;
	}
	if (rc == 0 && ss_log_level_parse(m->log_level, level) != 0) {
		fprintf(stderr, "hq-hub: log_level: \"%s\" is not debug, info, warning or error\n",
			m->log_level);
		return 2;
	}
	return rc;
}

/* SIGHUP: log_level from the config file at once; every live store
 * connection checked again against the registry (revoked and retired keys,
 * revoked stores), as after a round that changed it. Policies, prices and
 * the registry itself live in the hub's database and are read at each use:
 * nothing of theirs is cached to reload. Other settings changed in the file
 * wait for a restart, and the log names them. */
static void reload(struct hub *h, struct hub_main_opts *m)
{
	struct hub_config c2 = h->cfg;
	struct hub_main_opts m2 = *m;
	struct ss_config_item live[N_CONFIG_ITEMS], fresh[N_CONFIG_ITEMS];
	char changed[256], err[512], status[1024];
	enum ss_log_level old = ss_log_get_level(), level = old;
	int n = 0;

	ss_notify_reloading();
	if (m->config_path[0]) {
		config_items(&h->cfg, m, live);
		config_items(&c2, &m2, fresh);
		n = ss_reload_read(m->config_path, live, fresh, "log_level", changed,
			sizeof changed, err, sizeof err);
		if (n >= 0 && ss_log_level_parse(m2.log_level, &level) != 0) {
			snprintf(err, sizeof err, "log_level: \"%s\" is not debug, info, warning or "
				"error", m2.log_level);
			n = -1;
		}
	}
	if (n < 0) {
		ss_warn("SIGHUP: %s: config not reloaded", err);
		level = old;
		changed[0] = '\0';
	} else if (m->config_path[0]) {
		snprintf(m->log_level, sizeof m->log_level, "%s", m2.log_level);
	}
	h->registry_gen++;
	hub_link_revalidate(h);
	snprintf(status, sizeof status, "SIGHUP: %s%s: log_level %s (was %s); store keys and "
		"revocations checked again on every live connection; %s%s",
		n < 0 ? "kept the running config of " : "reloaded ",
		m->config_path[0] ? m->config_path : "(no --config)", ss_log_level_name(level),
		ss_log_level_name(old),
		changed[0] ? "changed, waiting for a restart: " : "no other setting changed", changed);
	/* Said under the more talkative of the two levels, so it shows. */
	if (level < old)
		ss_log_set_level(level);
	ss_log(changed[0] || n < 0 ? SS_LOG_WARN : SS_LOG_INFO, "%s", status);
	ss_log_set_level(level);
	ss_notify_reloaded(status);
}

static void between_rounds(struct hub *h)
{
	ss_notify_tick(ss_mono_ms());
	if (ss_notify_take_hup())
		reload(h, opts_for_reload);
}

/* The hub's key pair, refused when others may read it; with --insecure
 * none, and a warning that says what that means. */
static int load_keys(const struct hub_config *c, struct ss_curve_pair *pair)
{
	char err[600];

	if (c->insecure) {
		ss_warn("INSECURE: --insecure: the store link and the operators' endpoint are "
			"plaintext and unauthenticated; anyone who reaches them can speak for any store "
			"and read every account");
		return 0;
	}
	if (ss_curve_load_pair(c->curve_key, pair, err, sizeof err) == 0)
		return 0;
	ss_error("%s (make one with 'hq-hub keygen FILE' and set curve_key)", err);
	return -1;
}

/* The door keeper (hub_zap) watches the link from before its first
 * connection: its handler is bound already, and the link is watched before
 * it binds. */
static int open_router(struct hub *h, char *err, size_t errlen)
{
	struct ss_link_store_opts lo = { .backlog = (int)h->cfg.listen_backlog };
	size_t len = sizeof h->link_bound;

	h->router = ss_link_store_socket(h->zctx, ZMQ_ROUTER, &lo, err, errlen);
	if (!h->router || hub_zap_watch(h, h->router, HUB_ZAP_LINK, err, errlen) != 0)
		return -1;
	if (!h->cfg.insecure && ss_curve_server(h->router, &h->curve, HUB_ZAP_DOMAIN_LINK) != 0) {
		snprintf(err, errlen, "cannot set CurveZMQ on the store link: %s", zmq_strerror(errno));
		return -1;
	}
	if (ss_daemon_bind(h->router, h->cfg.listen, err, errlen) != 0)
		return -1;
	/* For the guard (hub_listen.c), before the door keeper's thread starts. */
	if (zmq_getsockopt(h->router, ZMQ_LAST_ENDPOINT, h->link_bound, &len) != 0)
		h->link_bound[0] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	static struct hub h = { .cfg = {
		.data_dir = "/var/lib/storesync/hub", .listen = "tcp://*:7701",
		.query = "tcp://127.0.0.1:7702", .budget_bytes = 64LL << 30,
		.group_records = 50000, .listen_backlog = 4096, .max_stores = 12000, .query_threads = 4,
		.notice_scan_ms = 60000, .update_retention_days = 30, .state_flush_ms = 30000,
		.commit_interval_ms = 10, .links_per_source = 256, .handshakes_per_second = 50,
		.curve_key = "/etc/storesync/hub.key", .admin = "ipc:///run/storesync/hub-admin.sock",
		.admin_group = "storesync", .http = "127.0.0.1:7703", .metrics_max_stores = 10000 } };
	struct hub_main_opts m = { .log_level = "info" };
	enum ss_log_level level = SS_LOG_INFO;
	char err[512];
	int lock_fd = -1, rc;

	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return ss_curve_keygen_command("hq-hub", argc - 2, argv + 2);
	if ((rc = parse_args(argc, argv, &h.cfg, &m, &level)) != 0)
		return rc == 1 ? 0 : 2;
	ss_log_init("hq-hub", level);
	ss_time_set_offset_ms(h.cfg.clock_offset_ms);
	/* Every age and deadline counts from this clock: it must lie where
	 * record times do (docs/records.md, "Times"). */
	if (ss_validate_time_ms(ss_now_ms()) != 0) {
		fprintf(stderr, "hq-hub: the clock (with --clock-offset-ms %lld) is outside "
			"2000-01-01..2099-12-31\n", (long long)h.cfg.clock_offset_ms);
		return 2;
	}
	if (load_keys(&h.cfg, &h.curve) != 0)
		return 1;
	/* Before anything is opened: a hub that cannot have the descriptors
	 * max_stores needs says so and does not start (hub_listen.c). */
	if (hub_listen_limits(&h.cfg, err, sizeof err) != 0) {
		ss_error("%s", err);
		return 1;
	}
	/* Locked before detaching, so a second hub fails in front of whoever
	 * started it; held until the process exits (the kernel lets go then). */
	if (ss_daemon_lock(h.cfg.data_dir, &lock_fd, err, sizeof err) != 0) {
		ss_error("%s", err);
		return 1;
	}
	if (!h.cfg.foreground && ss_daemon_detach(lock_fd, err, sizeof err) != 0) {
		ss_error("%s", err);
		return 1;
	}
	hub_for_signal = &h;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ss_notify_init();
	opts_for_reload = &m;
	h.between_rounds = between_rounds;
	if (hub_open_db(&h, err, sizeof err) != 0) {
		ss_error("%s", err);
		return 1;
	}
	h.zctx = zmq_ctx_new();
	if (hub_zap_open(&h, err, sizeof err) != 0 || open_router(&h, err, sizeof err) != 0
		|| hub_writer_open(&h, err, sizeof err) != 0
		|| query_start(&h, err, sizeof err) != 0 || hub_zap_start(&h, err, sizeof err) != 0
		|| hub_http_start(&h, err, sizeof err) != 0) {
		ss_error("%s", err);
		rc = 1;
		goto out;
	}
	ss_info("listening on %s, operators on %s (%s), admins on %s, data in %s", h.cfg.listen,
		h.cfg.query, h.cfg.insecure ? "INSECURE: plaintext" : "CurveZMQ",
		h.cfg.admin[0] ? h.cfg.admin : "(none)", h.cfg.data_dir);
	if (!ss_http_off(h.cfg.http))
		ss_info("metrics and status page on http://%s/", h.cfg.http);
	/* store_silence_minutes may be as low as 1: a slower flush would show
	 * live idle stores silent (hub_live.c). */
	if (h.cfg.state_flush_ms > 30000)
		ss_warn("state_flush_ms %lld: an idle store's progress reaches LMDB only that "
			"often; keep it well below the smallest store_silence_minutes",
			(long long)h.cfg.state_flush_ms);
	ss_debug("settings: budget %lld bytes, group_records %lld, listen_backlog %lld, "
		"clock_offset_ms %lld", (long long)h.cfg.budget_bytes, (long long)h.cfg.group_records,
		(long long)h.cfg.listen_backlog, (long long)h.cfg.clock_offset_ms);
	ss_notify_ready("serving");
	if (hub_writer_run(&h, err, sizeof err) != 0) {
		ss_error("%s", err);
		rc = 1;
	}
	/* The round in hand is committed: the writer checks the flag between
	 * rounds. */
	ss_notify_stopping();
	ss_info("stopped");
out:
	hub_http_stop(&h);
	query_stop(&h);
	/* Before hub_zap_close closes its monitor's PAIR (ss_link.h). */
	ss_link_close_watched(h.router, NULL);
	hub_writer_close(&h);
	hub_zap_close(&h);
	zmq_ctx_term(h.zctx);
	ss_lmdb_close(&h.db);
	return rc;
}
