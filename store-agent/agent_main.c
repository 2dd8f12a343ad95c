/* store-agent: the headless daemon in each store. This file turns flags and
 * the INI file into an agent_config, locks the data directory (one agent per
 * directory, ss_daemon), opens the databases, binds the tills' socket with
 * its documented mode and group, and runs the single event loop: local
 * requests, hub messages, timers. Everything that writes LMDB runs on this
 * one thread. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_config.h"
#include "ss_daemon.h"
#include "ss_http.h"
#include "ss_link.h"
#include "ss_log.h"
#include "ss_notify.h"
#include "ss_reload.h"
#include "ss_time.h"
#include "ss_validate.h"
#include "ss_version.h"

#define MAINTAIN_EVERY_MS 500

/* Settings of the process rather than of the engine (agent_config). */
struct agent_main_opts {
	char log_level[16];
	int64_t socket_mode;      /* of the local ipc socket, set right after bind */
	char socket_group[64];    /* its group; "" keeps ours */
	char config_path[512];    /* --config, read again on SIGHUP; "" for none */
};

static volatile sig_atomic_t agent_stop_signal;

static void on_signal(int sig)
{
	(void)sig;
	agent_stop_signal = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: store-agent [OPTIONS]\n"
		"       store-agent keygen FILE   write this store's key pair: FILE (secret,\n"
		"                           0600) and FILE.pub (for hqctl store add --key)\n"
		"The storesync agent of one store: accepts records from tills on a local\n"
		"endpoint, keeps each durable in LMDB before answering, ships them to the hub.\n\n"
		"  -c, --config FILE        INI file ([agent] section); flags override it\n"
		"  -s, --store-id ID        this store's id ([A-Za-z0-9_], up to 32)\n"
		"  -d, --data-dir DIR       LMDB directory: outbox, prices, policies, business\n"
		"                           keys (default /var/lib/storesync/agent)\n"
		"  -H, --hub ENDPOINT       hub link (default tcp://127.0.0.1:7701)\n"
		"  -l, --local ENDPOINT     submit endpoint (default ipc:///run/storesync/agent.sock)\n"
		"      --max-local-clients N  connections on it at once, tills and storectl\n"
		"                           (default 16, 1..4096); past it a new one is closed at\n"
		"                           once (storectl: \"too many local clients\"), counted\n"
		"                           in status local_clients_refused\n"
		"      --curve-key FILE     this store's CurveZMQ key pair (store-agent keygen); the\n"
		"                           hub admits only the registered key (default\n"
		"                           /etc/storesync/agent.key, readable by its owner only)\n"
		"      --hub-key KEY|FILE   the hub's public key (default /etc/storesync/hub.pub)\n"
		"      --insecure           plaintext hub link, for a hub run --insecure (a warning)\n"
		"      --budget BYTES       disk budget of the whole LMDB directory, k/M/G\n"
		"                           suffixes (default 1G); past it: \"buffer full\"\n"
		"      --retention-days N   keep acknowledged records N days (default 7)\n"
		"      --key-days N         keep business keys (receipt, payment, move...\n"
		"                           numbers) N days to recognise a till's retry and a\n"
		"                           return's receipt (default 90; never less than the\n"
		"                           retention or the return window in force)\n"
		"      --batch N            records per batch (default 2000)\n"
		"      --window N           unacknowledged batches in flight (default 8)\n"
		"      --ack-timeout-ms N   resend after N ms without ack (default 5000)\n"
		"      --heartbeat-ms N     heartbeat interval (default 3000); the hub says something\n"
		"                           at least every second interval\n"
		"      --hub-timeout-ms N   no word from the hub for N ms: drop the link and\n"
		"                           reconnect (default 30000, at least 3 heartbeats)\n"
		"      --reconnect-ms N     reconnect backoff (a lost link, a silent hub, a refused\n"
		"                           handshake): the first wait, drawn around N ms\n"
		"                           (default 1000), doubling per failed attempt...\n"
		"      --reconnect-max-ms N ...up to N ms (default 30000)\n"
		"      --utc-offset MIN|auto  the store's offset from UTC in minutes, for its\n"
		"                           business day (default auto: the system time zone)\n"
		"      --local-socket-mode MODE   octal mode of an ipc:// local socket (default\n"
		"                           0660: the agent's user and group may submit)\n"
		"      --local-socket-group NAME  its group (default storesync; when that group\n"
		"                           does not exist: a warning, the group is left as is);\n"
		"                           '' leaves it the agent's, no warning: an agent run by hand\n"
		"      --http ADDR          serve /metrics over HTTP on IPV4:PORT (e.g.\n"
		"                           127.0.0.1:7704; default off)\n"
		"      --log-level LEVEL    debug, info (default), warning or error\n"
		"      --log-interval-ms N  a condition that lasts (hub unreachable, buffer\n"
		"                           full, conflict) is logged again every N ms\n"
		"                           (default 60000)\n"
		"  -v, --verbose            the same as --log-level debug\n"
		"      --version            print the version and exit\n"
		"  -h, --help               this text\n"
		"A second agent on the same data directory, or on an ipc endpoint a running\n"
		"process listens on, exits at once with status 1. Logs go to stderr, with\n"
		"journald priorities when JOURNAL_STREAM is set (under systemd).\n");
}

enum { OPT_BUDGET = 256, OPT_RETENTION, OPT_BATCH, OPT_WINDOW, OPT_ACK_TIMEOUT, OPT_HEARTBEAT,
	OPT_UTC_OFFSET, OPT_KEY_DAYS, OPT_LOG_LEVEL, OPT_SOCKET_MODE, OPT_SOCKET_GROUP,
	OPT_HUB_TIMEOUT, OPT_RECONNECT, OPT_RECONNECT_MAX, OPT_CURVE_KEY, OPT_HUB_KEY, OPT_HTTP,
	OPT_MAX_LOCAL_CLIENTS, OPT_LOG_INTERVAL, OPT_VERSION, OPT_INSECURE };

#define N_CONFIG_ITEMS 25

/* Every setting, by its INI name; flags use the same table. */
static void config_items(struct agent_config *c, struct agent_main_opts *m,
	struct ss_config_item *items)
{
	struct ss_config_item v[N_CONFIG_ITEMS] = {
		{ "agent", "store_id", SS_CFG_STRING, c->store_id, sizeof c->store_id, 0, 0 },
		{ "agent", "data_dir", SS_CFG_STRING, c->data_dir, sizeof c->data_dir, 0, 0 },
		{ "agent", "hub", SS_CFG_STRING, c->hub, sizeof c->hub, 0, 0 },
		{ "agent", "local", SS_CFG_STRING, c->local, sizeof c->local, 0, 0 },
		{ "agent", "max_local_clients", SS_CFG_INT64, &c->max_local_clients, 0, 1, 4096 },
		{ "agent", "budget", SS_CFG_INT64, &c->budget_bytes, 0, 1 << 20, INT64_MAX / 4 },
		{ "agent", "retention_days", SS_CFG_INT64, &c->retention_days, 0, 0, 3650 },
		{ "agent", "batch", SS_CFG_INT64, &c->batch_records, 0, 1, 100000 },
		{ "agent", "window", SS_CFG_INT64, &c->window_batches, 0, 1, 1024 },
		{ "agent", "ack_timeout_ms", SS_CFG_INT64, &c->ack_timeout_ms, 0, 100, 3600000 },
		{ "agent", "heartbeat_ms", SS_CFG_INT64, &c->heartbeat_ms, 0, 100, 600000 },
		{ "agent", "hub_timeout_ms", SS_CFG_INT64, &c->hub_timeout_ms, 0, 200, 3600000 },
		{ "agent", "reconnect_ms", SS_CFG_INT64, &c->reconnect_ms, 0, 100, 600000 },
		{ "agent", "reconnect_max_ms", SS_CFG_INT64, &c->reconnect_max_ms, 0, 100, 3600000 },
		{ "agent", "utc_offset", SS_CFG_STRING, c->utc_offset, sizeof c->utc_offset, 0, 0 },
		{ "agent", "key_days", SS_CFG_INT64, &c->key_days, 0, 1, 3650 },
		{ "agent", "log_level", SS_CFG_STRING, m->log_level, sizeof m->log_level, 0, 0 },
		{ "agent", "local_socket_mode", SS_CFG_MODE, &m->socket_mode, 0, 0, 0 },
		{ "agent", "local_socket_group", SS_CFG_STRING, m->socket_group,
			sizeof m->socket_group, 0, 0 },
		{ "agent", "curve_key", SS_CFG_STRING, c->curve_key, sizeof c->curve_key, 0, 0 },
		{ "agent", "hub_key", SS_CFG_STRING, c->hub_key, sizeof c->hub_key, 0, 0 },
		{ "agent", "insecure", SS_CFG_INT64, &c->insecure, 0, 0, 1 },
		{ "agent", "http", SS_CFG_STRING, c->http, sizeof c->http, 0, 0 },
		{ "agent", "log_interval_ms", SS_CFG_INT64, &c->log_interval_ms, 0, 100, 86400000 },
		{ 0 },
	};

	memcpy(items, v, sizeof v);
}

static int parse_offset(struct agent_config *c)
{
	char *end;
	long v;

	c->auto_offset = strcmp(c->utc_offset, "auto") == 0;
	if (c->auto_offset)
		return 0;
	v = strtol(c->utc_offset, &end, 10);
	if (end == c->utc_offset || *end || v < -18 * 60 || v > 18 * 60) {
		fprintf(stderr, "store-agent: utc_offset: \"%s\" must be auto or minutes in -1080..1080\n",
			c->utc_offset);
		return 2;
	}
	c->utc_offset_min = (int32_t)v;
	return 0;
}

/* Returns 0 to run, 1 after --help or --version, 2 on a usage error
 * (message printed). */
static int parse_args(int argc, char **argv, struct agent_config *c, struct agent_main_opts *m,
	enum ss_log_level *level)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' }, { "store-id", required_argument, 0, 's' },
		{ "data-dir", required_argument, 0, 'd' }, { "hub", required_argument, 0, 'H' },
		{ "local", required_argument, 0, 'l' }, { "budget", required_argument, 0, OPT_BUDGET },
		{ "retention-days", required_argument, 0, OPT_RETENTION },
		{ "batch", required_argument, 0, OPT_BATCH }, { "window", required_argument, 0, OPT_WINDOW },
		{ "ack-timeout-ms", required_argument, 0, OPT_ACK_TIMEOUT },
		{ "heartbeat-ms", required_argument, 0, OPT_HEARTBEAT },
		{ "utc-offset", required_argument, 0, OPT_UTC_OFFSET },
		{ "key-days", required_argument, 0, OPT_KEY_DAYS },
		{ "log-level", required_argument, 0, OPT_LOG_LEVEL },
		{ "local-socket-mode", required_argument, 0, OPT_SOCKET_MODE },
		{ "local-socket-group", required_argument, 0, OPT_SOCKET_GROUP },
		{ "hub-timeout-ms", required_argument, 0, OPT_HUB_TIMEOUT },
		{ "reconnect-ms", required_argument, 0, OPT_RECONNECT },
		{ "reconnect-max-ms", required_argument, 0, OPT_RECONNECT_MAX },
		{ "curve-key", required_argument, 0, OPT_CURVE_KEY },
		{ "hub-key", required_argument, 0, OPT_HUB_KEY },
		{ "insecure", no_argument, 0, OPT_INSECURE },
		{ "http", required_argument, 0, OPT_HTTP },
		{ "max-local-clients", required_argument, 0, OPT_MAX_LOCAL_CLIENTS },
		{ "log-interval-ms", required_argument, 0, OPT_LOG_INTERVAL },
		{ "version", no_argument, 0, OPT_VERSION },
		{ "verbose", no_argument, 0, 'v' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	static const char *names[] = { [OPT_BUDGET - 256] = "budget", [OPT_RETENTION - 256] = "retention_days",
		[OPT_BATCH - 256] = "batch", [OPT_WINDOW - 256] = "window",
		[OPT_ACK_TIMEOUT - 256] = "ack_timeout_ms", [OPT_HEARTBEAT - 256] = "heartbeat_ms",
		[OPT_UTC_OFFSET - 256] = "utc_offset", [OPT_KEY_DAYS - 256] = "key_days",
		[OPT_LOG_LEVEL - 256] = "log_level",
		[OPT_SOCKET_MODE - 256] = "local_socket_mode",
		[OPT_SOCKET_GROUP - 256] = "local_socket_group",
		[OPT_HUB_TIMEOUT - 256] = "hub_timeout_ms", [OPT_RECONNECT - 256] = "reconnect_ms",
		[OPT_RECONNECT_MAX - 256] = "reconnect_max_ms",
		[OPT_CURVE_KEY - 256] = "curve_key", [OPT_HUB_KEY - 256] = "hub_key",
		[OPT_HTTP - 256] = "http", [OPT_MAX_LOCAL_CLIENTS - 256] = "max_local_clients",
		[OPT_LOG_INTERVAL - 256] = "log_interval_ms" };
	struct ss_config_item items[N_CONFIG_ITEMS];
	char err[512];
	int o;

	config_items(c, m, items);
	/* The config file first, wherever --config appears, so flags win. */
	for (int i = 1; i < argc; i++) {
		const char *path = NULL;

		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		if (path && ss_config_load(path, items, err, sizeof err) != 0) {
			fprintf(stderr, "store-agent: %s\n", err);
			return 2;
		}
		if (path)
			snprintf(m->config_path, sizeof m->config_path, "%s", path);
	}
	while ((o = getopt_long(argc, argv, "c:s:d:H:l:vh", opts, NULL)) != -1) {
		const char *key = NULL, *value = optarg;

		switch (o) {
		case 'c': break;
		case 's': key = "store_id"; break;
		case 'd': key = "data_dir"; break;
		case 'H': key = "hub"; break;
		case 'l': key = "local"; break;
		case 'v': key = "log_level"; value = "debug"; break;
		case OPT_INSECURE: c->insecure = 1; break;
		case OPT_VERSION: ss_version_print("store-agent"); return 1;
		case 'h': usage(stdout); return 1;
		default:
			if (o >= OPT_BUDGET && o <= OPT_LOG_INTERVAL) {
				key = names[o - 256];
				break;
			}
			return 2;   /* getopt said which option, in one line */
		}
		if (key && ss_config_flag(items, "store-agent", key, value) != 0)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "store-agent: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (ss_log_level_parse(m->log_level, level) != 0) {
		fprintf(stderr, "store-agent: log_level: \"%s\" is not debug, info, warning or error\n",
			m->log_level);
		return 2;
	}
	if (c->store_id[0] && ss_validate_store_id(c->store_id) != 0) {
		fprintf(stderr, "store-agent: store id \"%s\" is not [A-Za-z0-9_]{1,32}\n", c->store_id);
		return 2;
	}
	if (!ss_http_off(c->http) && ss_http_check_addr(c->http, err, sizeof err) != 0) {
		fprintf(stderr, "store-agent: %s\n", err);
		return 2;
	}
	c->retention_ms = c->retention_days * 24 * 3600 * 1000;
	/* The hub says something at least every second heartbeat interval: one
	 * late word must not cost the link. */
	if (c->hub_timeout_ms < 3 * c->heartbeat_ms) {
		fprintf(stderr, "store-agent: hub_timeout_ms %lld must be at least three heartbeat "
			"intervals (heartbeat_ms %lld)\n", (long long)c->hub_timeout_ms,
			(long long)c->heartbeat_ms);
		return 2;
	}
	if (c->reconnect_max_ms < c->reconnect_ms)
		c->reconnect_max_ms = c->reconnect_ms;
	return parse_offset(c);
}

/* This store's key pair and the hub's public key, or with --insecure a
 * warning. */
static int load_keys(struct agent_config *c)
{
	char err[600];

	if (c->insecure) {
		ss_warn("INSECURE: --insecure: the hub link is plaintext and unauthenticated");
		return 0;
	}
	if (ss_curve_load_pair(c->curve_key, &c->curve, err, sizeof err) != 0) {
		ss_error("%s (make one with 'store-agent keygen FILE', register its .pub with "
			"'hqctl store add STORE --key FILE.pub', and set curve_key)", err);
		return -1;
	}
	if (ss_curve_load_public(c->hub_key, c->hub_public, err, sizeof err) != 0) {
		ss_error("hub_key: %s", err);
		return -1;
	}
	return 0;
}

/* Binds the tills' endpoint (never over a live agent's) and gives its
 * socket the configured mode and group before the first till can use it. */
static int open_local(struct agent *a, const struct agent_main_opts *m, char *err,
	size_t errlen)
{
	size_t len = sizeof a->local_bound;

	a->local = ss_link_socket(a->zctx, ZMQ_ROUTER, err, errlen);
	/* Watched before it binds: no connection goes uncounted. */
	if (!a->local || local_watch(a, err, errlen) != 0
		|| ss_daemon_bind(a->local, a->cfg.local, err, errlen) != 0)
		return -1;
	/* For refusals (ss_admit): the descriptor must still be this socket's. */
	if (zmq_getsockopt(a->local, ZMQ_LAST_ENDPOINT, a->local_bound, &len) != 0)
		a->local_bound[0] = '\0';
	switch (ss_daemon_socket_access(a->cfg.local, (unsigned)m->socket_mode, m->socket_group,
		err, errlen)) {
	case 0: return 0;
	case 1: ss_warn("%s", err); return 0;
	default: return -1;
	}
}

/* SIGHUP: the config file again. log_level applies at once; any other
 * setting changed there waits for a restart, and the log names it. */
static void reload(struct agent *a, struct agent_main_opts *m)
{
	struct agent_config c2 = a->cfg;
	struct agent_main_opts m2 = *m;
	struct ss_config_item live[N_CONFIG_ITEMS], fresh[N_CONFIG_ITEMS];
	char changed[256], err[512], status[1024];
	enum ss_log_level old = ss_log_get_level(), level;
	int n;

	if (!m->config_path[0]) {
		ss_info("SIGHUP: started without --config: nothing to reload");
		return;
	}
	ss_notify_reloading();
	config_items(&a->cfg, m, live);
	config_items(&c2, &m2, fresh);
	n = ss_reload_read(m->config_path, live, fresh, "log_level", changed, sizeof changed, err,
		sizeof err);
	if (n >= 0 && ss_log_level_parse(m2.log_level, &level) != 0) {
		snprintf(err, sizeof err, "log_level: \"%s\" is not debug, info, warning or error",
			m2.log_level);
		n = -1;
	}
	if (n < 0) {
		ss_warn("SIGHUP: %s: nothing reloaded, running as before", err);
		ss_notify_reloaded("SIGHUP: reload refused, running as before");
		return;
	}
	snprintf(m->log_level, sizeof m->log_level, "%s", m2.log_level);
	snprintf(status, sizeof status, "SIGHUP: reloaded %s: log_level %s (was %s); %s%s",
		m->config_path, ss_log_level_name(level), ss_log_level_name(old),
		changed[0] ? "changed, waiting for a restart: " : "no other setting changed", changed);
	/* Said under the more talkative of the two levels, so it shows. */
	if (level < old)
		ss_log_set_level(level);
	ss_log(changed[0] ? SS_LOG_WARN : SS_LOG_INFO, "%s", status);
	ss_log_set_level(level);
	ss_notify_reloaded(status);
}

static void run(struct agent *a, struct agent_main_opts *m)
{
	int64_t next_maintain = ss_mono_ms() + MAINTAIN_EVERY_MS;
	char err[256];

	while (!agent_stop_signal) {
		zmq_pollitem_t items[] = {
			{ a->local, 0, ZMQ_POLLIN, 0 },
			{ a->sender.sock, 0, ZMQ_POLLIN, 0 },
			{ a->sender.monitor, 0, ZMQ_POLLIN, 0 },
			{ a->local_monitor, 0, ZMQ_POLLIN, 0 },
			{ a->local_zap, 0, ZMQ_POLLIN, 0 },
			{ NULL, agent_metrics_fd(a), ZMQ_POLLIN, 0 },
		};
		int64_t timeout = sender_next_timeout_ms(a);

		if (timeout > 100)
			timeout = 100;
		if (zmq_poll(items, items[5].fd >= 0 ? 6 : 5, (long)timeout) < 0
			&& zmq_errno() != EINTR) {
			ss_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
			break;
		}
		/* Refusals first: a connection past the cap is shut down before
		 * its requests are read. */
		if (items[3].revents & ZMQ_POLLIN)
			local_on_monitor(a);
		if (items[4].revents & ZMQ_POLLIN)
			local_on_zap(a);
		if (items[0].revents & ZMQ_POLLIN)
			local_on_readable(a);
		if (items[2].revents & ZMQ_POLLIN)
			sender_on_monitor(a);
		if (items[1].revents & ZMQ_POLLIN)
			sender_on_readable(a);
		sender_tick(a);
		/* Also when not readable: the listener's timeouts run here. */
		agent_metrics_run(a);
		ss_notify_tick(ss_mono_ms());
		if (ss_notify_take_hup())
			reload(a, m);
		events_tick(a);
		if (ss_mono_ms() >= next_maintain) {
			if (outbox_maintain(&a->outbox, ss_now_ms(), err, sizeof err) != 0)
				ss_error("outbox maintenance: %s", err);
			if (keys_maintain(a, ss_now_ms(), err, sizeof err) != 0)
				ss_error("business key maintenance: %s", err);
			next_maintain = ss_mono_ms() + MAINTAIN_EVERY_MS;
		}
	}
}

/* A budget lowered below what the directory holds: said at start, as
 * every submit will be refused until acknowledged records age out or the
 * budget is raised. */
static void warn_over_budget(struct agent *a)
{
	uint64_t other = 0, used;

	if (agent_db_other_bytes_now(&a->db, &other) != 0)
		return;
	used = a->outbox.used_bytes + other;
	if (other >= a->db.budget_bytes)
		ss_warn("the data directory's keys, prices and other tables hold %llu bytes, above "
			"the disk budget of %llu (--budget): every record is refused (buffer full) "
			"until the budget is raised", (unsigned long long)other,
			(unsigned long long)a->db.budget_bytes);
	else if (used >= a->db.budget_bytes)
		ss_warn("the data directory holds %llu bytes, at or above the disk budget of %llu "
			"(--budget): new records take the room of acknowledged ones, oldest first",
			(unsigned long long)used, (unsigned long long)a->db.budget_bytes);
}

int main(int argc, char **argv)
{
	struct agent a = { .cfg = {
		.data_dir = "/var/lib/storesync/agent", .hub = "tcp://127.0.0.1:7701",
		.local = "ipc:///run/storesync/agent.sock", .budget_bytes = 1LL << 30, .retention_days = 7,
		.batch_records = 2000, .window_batches = 8, .ack_timeout_ms = 5000,
		.heartbeat_ms = 3000, .hub_timeout_ms = 30000, .reconnect_ms = 1000,
		.reconnect_max_ms = 30000, .key_days = 90, .utc_offset = "auto",
		.curve_key = "/etc/storesync/agent.key", .hub_key = "/etc/storesync/hub.pub",
		.http = "off", .log_interval_ms = 60000, .max_local_clients = 16 } };
	struct agent_main_opts m = { .log_level = "info", .socket_mode = 0660,
		.socket_group = "storesync" };
	enum ss_log_level level = SS_LOG_INFO;
	char err[512];
	int lock_fd = -1, rc;

	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return ss_curve_keygen_command("store-agent", argc - 2, argv + 2);
	if ((rc = parse_args(argc, argv, &a.cfg, &m, &level)) != 0)
		return rc == 1 ? 0 : 2;
	ss_log_init("store-agent", level);
	if (load_keys(&a.cfg) != 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ss_notify_init();
	/* Held until the process exits: the kernel lets go of it then. */
	if (ss_daemon_lock(a.cfg.data_dir, &lock_fd, err, sizeof err) != 0) {
		ss_error("%s", err);
		return 1;
	}
	if (agent_db_open(&a.db, a.cfg.data_dir, a.cfg.budget_bytes, err, sizeof err) != 0) {
		fprintf(stderr, "store-agent: %s\n", err);
		return 1;
	}
	if (outbox_open(&a.outbox, &a.db, &a.cfg, err, sizeof err) != 0
		|| apply_open(&a.apply, &a.db, err, sizeof err) != 0) {
		fprintf(stderr, "store-agent: %s\n", err);
		agent_db_close(&a.db);
		return 1;
	}
	a.zctx = zmq_ctx_new();
	if (open_local(&a, &m, err, sizeof err) != 0 || sender_start(&a, err, sizeof err) != 0
		|| agent_metrics_start(&a, err, sizeof err) != 0) {
		fprintf(stderr, "store-agent: %s\n", err);
		rc = 1;
		goto out;
	}
	ss_info("store %s epoch %016llx: %llu records, acked through %llu; hub %s, local %s",
		a.outbox.store_id, (unsigned long long)a.outbox.epoch,
		(unsigned long long)a.outbox.last_seq, (unsigned long long)a.outbox.acked_seq,
		a.cfg.hub, a.cfg.local);
	if (!ss_http_off(a.cfg.http))
		ss_info("metrics on http://%s/metrics", a.cfg.http);
	warn_over_budget(&a);
	ss_debug("settings: budget %lld bytes, retention_days %lld, batch %lld, window %lld, "
		"ack_timeout_ms %lld, heartbeat_ms %lld, hub_timeout_ms %lld, reconnect_ms %lld..%lld, "
		"utc_offset %s, local socket %04o group %s, max_local_clients %lld",
		(long long)a.cfg.budget_bytes, (long long)a.cfg.retention_days,
		(long long)a.cfg.batch_records, (long long)a.cfg.window_batches,
		(long long)a.cfg.ack_timeout_ms, (long long)a.cfg.heartbeat_ms,
		(long long)a.cfg.hub_timeout_ms, (long long)a.cfg.reconnect_ms,
		(long long)a.cfg.reconnect_max_ms, a.cfg.utc_offset,
		(unsigned)m.socket_mode, m.socket_group[0] ? m.socket_group : "(unchanged)",
		(long long)a.cfg.max_local_clients);
	ss_notify_ready("serving");
	run(&a, &m);
	/* The round in hand is committed: run() checks the flag between rounds. */
	ss_notify_stopping();
	outbox_maintain(&a.outbox, ss_now_ms(), err, sizeof err);
	ss_info("stopped");
out:
	agent_metrics_stop(&a);
	sender_stop(&a);
	ss_link_close_watched(a.local, a.local_monitor);
	if (a.local_zap)
		zmq_close(a.local_zap);
	zmq_ctx_term(a.zctx);
	local_free(&a);
	agent_db_close(&a.db);
	return rc;
}
