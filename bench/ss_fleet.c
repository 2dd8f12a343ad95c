/* ss-fleet: one real hub and a fleet of simulated stores (issue 14).
 *
 *   ss-fleet run    [OPTIONS] --dir DIR N      start a hub, N stores, measure
 *   ss-fleet stores [OPTIONS] --dir DIR HUB N  N stores against a running hub,
 *                                              until SIGINT or SIGTERM
 *
 * The stores (fleet.h) run in worker processes forked before any ZeroMQ
 * context exists, at most --stores-per-worker each; this process drives
 * them over ipc://DIR/ctl.sock and measures the hub from outside, as an
 * operator would: CPU and memory from /proc/PID, bytes written from the
 * block device's counters, `hqctl` timed as a process. `run` prints one
 * line per figure, `name value unit`, and `# ...` lines with the machine's
 * load at each phase (bench/fleet, docs/performance.md):
 *
 *   setup     every store's key registered (store add --key, untimed
 *             phase: fleet_register_s), then the hub restarted
 *   welcome   all N stores connect at once to a fresh hub: fleet_welcome_s,
 *             N CurveZMQ handshakes and key lookups included, and the
 *             hub's CPU for it (fleet_welcome_hub_cpu_s)
 *   idle      heartbeats only: fleet_hb_hub_cpu_pct (of one core), bytes/s
 *   rates     records at each total rate (default 1,200 and 12,000/s):
 *             fleet_ack_p99_ms (a record's creation to the Ack that covers
 *             it), fleet_disk_bytes_per_record, fleet_stores_query_ms
 *             (`hqctl stores --json`), fleet_stale_query_ms (`hqctl stale`)
 *   silence   fleet_false_silent: live stores that `stores` shows silent,
 *             with store_silence_minutes set to 1 at the start
 *   restart   the hub killed -9 and restarted while records flow:
 *             fleet_restart_recover_s, until every store was welcomed again
 *             (a new handshake each) and every record it had made before
 *             the kill is acked
 *
 * Links speak CurveZMQ as agents do: the hub runs with a key pair made
 * here, each store with its own (zmq_curve_keypair), registered over the
 * hub's admin socket; hqctl asks as an operator with a key of its own on
 * the operators' endpoint. --insecure runs it all plaintext, to compare.
 *   memory    fleet_hub_rss_mb with all N connected and idle (and its
 *             anonymous part); fleet_hub_peak_rss_mb after the load */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet.h"
#include "fleet_hub.h"
#include "ss_curve.h"
#include "ss_time.h"
#include "ss_version.h"

#define WELCOME_WAIT_S 180
#define RECOVER_WAIT_S 180
#define SETTLE_MS 5000
#define WARM_MS 5000
#define REPLY_WAIT_MS 60000
#define MAX_RATES 4
#define MAX_HUB_ARGS 40
/* While the keys are registered: as many store adds at once as the hub
 * has query threads (each waits for the writer's commit). */
#define SETUP_QUERY_THREADS "64"

struct driver {
	struct fleet_opts o;          /* every worker's, but for first/count */
	int stores, per_worker, workers;
	pid_t *pids;
	void *zctx, *ctl;             /* ROUTER: the workers' DEALERs connect */
	struct fleet_hub hub;
	const char *hqctl;
	const char *hub_args[MAX_HUB_ARGS + 1];  /* its security flags, then --hub-arg's */
	const char *user_args[MAX_HUB_ARGS];     /* --hub-arg's */
	int n_user_args;
	const char *admin;            /* stores: the running hub's admin socket, or NULL */
	const char *hub_key_file;     /* stores: the running hub's public key */
	char hub_secret[700], hub_pub[700];     /* run: the hub's key files */
	char op_key[700];             /* run: hqctl's key pair (operator "fleet") */
	struct ss_curve_pair *keys;   /* the stores', by index; NULL: --insecure */
	double rates[MAX_RATES];
	int n_rates, window_s;
	double rate;                  /* records/s in total now */
	int verbose;                  /* progress of the waits on stderr */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ss-fleet run [OPTIONS] --dir DIR N\n"
		"       ss-fleet stores [OPTIONS] --dir DIR HUB_ENDPOINT N\n"
		"A fleet of N simulated stores, each its own link doing what store-agent does,\n"
		"against one real hub (run: started here and measured; stores: one running\n"
		"already, until SIGINT or SIGTERM). Figures: docs/performance.md.\n\n"
		"  --dir DIR              run directory (hub data, logs, the stores' LMDBs)\n"
		"  --hub-bin PATH         run: the hq-hub to start\n"
		"  --hqctl-bin PATH       run: the hqctl to time\n"
		"  --hub-arg ARG          run: one more flag for the hub (repeatable)\n"
		"  --port P               run: store link on tcp://127.0.0.1:P, queries on P+1\n"
		"                         (default 17701)\n"
		"  --rates R1,R2          run: total records/s of the load phases (1200,12000)\n"
		"  --window-s S           run: seconds each phase measures (default 20)\n"
		"  --rate R               stores: total records/s (default 0: heartbeats only)\n"
		"  --insecure             plaintext links and queries (the hub runs --insecure),\n"
		"                         to compare with CurveZMQ, the default\n"
		"  --admin ENDPOINT       stores: the hub's admin socket, to register the stores\n"
		"                         (their keys) there first\n"
		"  --hub-key FILE         stores: the hub's public key\n"
		"  --legacy               stores as the agent was before issue 14: ZMTP\n"
		"                         heartbeats, reconnect 100 ms..5 s, no silence drop,\n"
		"                         heartbeats every 2 s\n"
		"  --heartbeat-ms N       (3000)  --hub-timeout-ms N (30000)\n"
		"  --reconnect-ms N       (1000)  --reconnect-max-ms N (30000)\n"
		"  --stores-per-worker N  stores per process (default 2000)\n"
		"  --sync-apply           apply updates with fsync (default: without; the\n"
		"                         stores share this machine's disk with the hub)\n"
		"  --verbose              progress of the waits on stderr\n"
		"  --version, --help\n");
}

/* ---- keys ---- */

/* A key pair per store, made before the workers fork (they inherit it). */
static int make_store_keys(struct driver *d)
{
	if (d->o.insecure)
		return 0;
	if (!(d->keys = calloc((size_t)d->stores, sizeof *d->keys)))
		return -1;
	for (int i = 0; i < d->stores; i++)
		if (zmq_curve_keypair(d->keys[i].public_key, d->keys[i].secret_key) != 0)
			return -1;
	d->o.keys = d->keys;
	return 0;
}

/* run: the hub's key pair and hqctl's, in the run directory, and the
 * hub's flags that use them. */
static int make_run_keys(struct driver *d)
{
	char op_pub[720], err[600];
	int n = 0;

	if (d->o.insecure) {
		d->hub_args[n++] = "--insecure";
	} else {
		snprintf(d->hub_secret, sizeof d->hub_secret, "%s/hub.key", d->o.dir);
		snprintf(d->hub_pub, sizeof d->hub_pub, "%s/hub.key.pub", d->o.dir);
		snprintf(d->op_key, sizeof d->op_key, "%s/operator.key", d->o.dir);
		snprintf(op_pub, sizeof op_pub, "%s.pub", d->op_key);
		if (ss_curve_keygen(d->hub_secret, d->hub_pub, err, sizeof err) != 0
			|| ss_curve_keygen(d->op_key, op_pub, err, sizeof err) != 0
			|| ss_curve_load_public(d->hub_pub, d->o.hub_key, err, sizeof err) != 0) {
			fprintf(stderr, "ss-fleet: %s\n", err);
			return -1;
		}
		d->hub_args[n++] = "--curve-key";
		d->hub_args[n++] = d->hub_secret;
	}
	d->hub_args[n++] = "--admin";
	d->hub_args[n++] = d->hub.admin;
	d->hub_args[n++] = "--admin-group";
	d->hub_args[n++] = "";
	for (int i = 0; i < d->n_user_args && n < MAX_HUB_ARGS; i++)
		d->hub_args[n++] = d->user_args[i];
	d->hub_args[n] = NULL;
	d->hub.extra = d->hub_args;
	return 0;
}

/* stores: the running hub's public key, from --hub-key. */
static int hub_key_of(struct driver *d)
{
	char err[600];

	if (d->o.insecure)
		return 0;
	if (ss_curve_load_public(d->hub_key_file, d->o.hub_key, err, sizeof err) != 0) {
		fprintf(stderr, "ss-fleet: %s\n", err);
		return -1;
	}
	return 0;
}

/* ---- workers ---- */

static int fork_workers(struct driver *d)
{
	d->workers = (d->stores + d->per_worker - 1) / d->per_worker;
	if (!(d->pids = calloc((size_t)d->workers, sizeof *d->pids)))
		return -1;
	for (int k = 0; k < d->workers; k++) {
		struct fleet_opts o = d->o;

		o.first = k * d->per_worker;
		o.count = d->stores - o.first < d->per_worker ? d->stores - o.first : d->per_worker;
		if ((d->pids[k] = fork()) < 0)
			return -1;
		if (d->pids[k] == 0) {
			/* The workers go with the driver, however it ends. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			signal(SIGINT, SIG_IGN);
			_exit(fleet_worker_run(&o, k));
		}
	}
	return 0;
}

/* One reply from each worker; reports are summed into *sum when given. */
static int gather(struct driver *d, struct fleet_report *sum)
{
	zmq_pollitem_t it = { d->ctl, 0, ZMQ_POLLIN, 0 };
	struct fleet_report *r = malloc(sizeof *r);
	int got = 0;

	if (sum)
		memset(sum, 0, sizeof *sum);
	while (r && got < d->workers && zmq_poll(&it, 1, REPLY_WAIT_MS) > 0) {
		char id[16];
		int n;

		if (zmq_recv(d->ctl, id, sizeof id, 0) < 0
			|| (n = zmq_recv(d->ctl, r, sizeof *r, 0)) < 0)
			break;
		got++;
		if (sum && n == (int)sizeof *r) {
			uint64_t *a = (uint64_t *)&sum->c, *b = (uint64_t *)&r->c;

			for (size_t i = 0; i < sizeof sum->c / sizeof *a; i++)
				a[i] += b[i];
			fleet_hist_merge(&sum->ack, &r->ack);
		}
	}
	free(r);
	return got == d->workers ? 0 : -1;
}

static int broadcast(struct driver *d, int op, double rate_per_store, struct fleet_report *sum)
{
	struct fleet_cmd c = { .op = op, .rate_per_store = rate_per_store };

	for (int k = 0; k < d->workers; k++) {
		char id[16];

		snprintf(id, sizeof id, "w%d", k);
		zmq_send(d->ctl, id, strlen(id), ZMQ_SNDMORE);
		zmq_send(d->ctl, &c, sizeof c, 0);
	}
	return gather(d, sum);
}

static int start_workers(struct driver *d)
{
	char ep[600];
	int mandatory = 1;

	if (fork_workers(d) != 0)
		return -1;
	d->zctx = zmq_ctx_new();
	d->hub.zctx = d->zctx;
	d->ctl = zmq_socket(d->zctx, ZMQ_ROUTER);
	snprintf(ep, sizeof ep, "ipc://%s/ctl.sock", d->o.dir);
	zmq_setsockopt(d->ctl, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
	if (zmq_bind(d->ctl, ep) != 0) {
		fprintf(stderr, "ss-fleet: cannot bind %s: %s\n", ep, zmq_strerror(errno));
		return -1;
	}
	/* Each says it is ready once its stores' sockets exist. */
	return gather(d, NULL);
}

static void stop_workers(struct driver *d)
{
	if (d->ctl)
		broadcast(d, FLEET_CMD_STOP, 0, NULL);
	for (int k = 0; d->pids && k < d->workers; k++)
		if (d->pids[k] > 0)
			waitpid(d->pids[k], NULL, 0);
	if (d->ctl)
		zmq_close(d->ctl);
	if (d->zctx)
		zmq_ctx_term(d->zctx);
	free(d->pids);
}

static int set_rate(struct driver *d, double total)
{
	d->rate = total;
	return broadcast(d, FLEET_CMD_RATE, total / d->stores, NULL);
}

/* ---- measuring ---- */

static void say_load(const char *phase)
{
	printf("# %s: load %.2f\n", phase, fleet_loadavg());
	fflush(stdout);
}

static void wait_ms(int64_t ms)
{
	for (int64_t end = ss_mono_ms() + ms; !stop_signal && ss_mono_ms() < end; )
		ss_sleep_ms(end - ss_mono_ms() < 100 ? end - ss_mono_ms() : 100);
}

/* Seconds until done(report) holds for every store; -1 past limit_s. */
static double wait_for(struct driver *d, int64_t t0, int limit_s,
	uint64_t (*count)(const struct fleet_report *r), uint64_t *last)
{
	struct fleet_report *r = malloc(sizeof *r);
	double s = -1;

	while (r && !stop_signal && ss_mono_ms() - t0 < limit_s * 1000LL) {
		if (broadcast(d, FLEET_CMD_REPORT, 0, r) != 0)
			break;
		*last = count(r);
		if (d->verbose)
			fprintf(stderr, "ss-fleet: %.1f s: %llu of %d (linked %llu, welcomed %llu, "
				"hellos %llu, reconnects %llu)\n", (double)(ss_mono_ms() - t0) / 1000,
				(unsigned long long)*last, d->stores, (unsigned long long)r->c.linked,
				(unsigned long long)r->c.welcomed, (unsigned long long)r->c.hellos,
				(unsigned long long)r->c.reconnects);
		if (*last >= (uint64_t)d->stores) {
			s = (double)(ss_mono_ms() - t0) / 1000.0;
			break;
		}
		ss_sleep_ms(100);
	}
	free(r);
	return s;
}

static uint64_t welcomed(const struct fleet_report *r)
{
	return r->c.ever_welcomed;
}

static uint64_t applied(const struct fleet_report *r)
{
	return r->c.applied;
}

static uint64_t recovered(const struct fleet_report *r)
{
	return r->c.recovered;
}

static void print_wait(const char *name, double s, uint64_t got, int of)
{
	if (s >= 0)
		printf("%s %.2f s\n", name, s);
	else
		printf("%s -1 s (%llu of %d after the limit)\n", name, (unsigned long long)got, of);
	fflush(stdout);
}

/* Every store registered (its key with it), and hqctl's key as an
 * operator's, on a hub run for it with more query threads (each store add
 * waits for its commit); then that hub stops, and the measured one starts
 * on the same data, as a hub whose stores are registered starts. */
static int phase_setup(struct driver *d)
{
	const char *args[MAX_HUB_ARGS + 4];
	char key[SS_CURVE_KEY_CHARS + 1], op_pub[720], err[600];
	int n = 0, rc = -1;
	int64_t t0;
	long refused;

	while (d->hub_args[n] && n < MAX_HUB_ARGS) {
		args[n] = d->hub_args[n];
		n++;
	}
	args[n++] = "--query-threads";
	args[n++] = SETUP_QUERY_THREADS;
	args[n] = NULL;
	d->hub.extra = args;
	if (fleet_hub_start(&d->hub) != 0) {
		fprintf(stderr, "ss-fleet: the hub did not start (see %s)\n", d->hub.log);
		d->hub.extra = d->hub_args;
		return -1;
	}
	t0 = ss_mono_ms();
	refused = fleet_hub_register(&d->hub, d->stores, d->keys);
	printf("fleet_register_s %.2f s (%d stores%s)\n", (double)(ss_mono_ms() - t0) / 1000.0,
		d->stores, d->keys ? " with their keys" : "");
	fflush(stdout);
	if (refused != 0)
		fprintf(stderr, "ss-fleet: %ld stores not registered\n", refused);
	else if (d->o.insecure)
		rc = 0;
	else if (snprintf(op_pub, sizeof op_pub, "%s.pub", d->op_key) < 0
		|| ss_curve_load_public(op_pub, key, err, sizeof err) != 0)
		fprintf(stderr, "ss-fleet: %s\n", err);
	else if (fleet_hub_operator(&d->hub, "fleet", key) != 0)
		fprintf(stderr, "ss-fleet: operator add refused\n");
	else
		rc = 0;
	fleet_hub_kill(&d->hub, SIGTERM);
	d->hub.extra = d->hub_args;
	return rc;
}

/* All stores connect at once to a fresh hub. Then the silence policy goes
 * down to a minute (a live store's progress must reach LMDB well within
 * it: fleet_false_silent), and every store applies it before the next
 * phase measures anything. */
static int phase_welcome(struct driver *d)
{
	int64_t t0 = ss_mono_ms(), cpu0 = fleet_proc_cpu_ms(d->hub.pid);
	uint64_t got = 0;

	say_load("welcome");
	if (broadcast(d, FLEET_CMD_CONNECT, 0, NULL) != 0)
		return -1;
	print_wait("fleet_welcome_s", wait_for(d, t0, WELCOME_WAIT_S, welcomed, &got), got,
		d->stores);
	printf("fleet_welcome_hub_cpu_s %.2f s\n",
		(double)(fleet_proc_cpu_ms(d->hub.pid) - cpu0) / 1000.0);
	printf("fleet_welcome_handshake_failures %lld\n",
		(long long)fleet_hub_stat(&d->hub, "handshake_failures"));
	if (fleet_hub_policy(&d->hub, "store_silence_minutes=1") != 0)
		fprintf(stderr, "ss-fleet: policy set store_silence_minutes=1 refused\n");
	t0 = ss_mono_ms();
	print_wait("fleet_policy_rollout_s", wait_for(d, t0, WELCOME_WAIT_S, applied, &got), got,
		d->stores);
	/* The stores applied it without fsync (fleet_store.c): its pages must
	 * not reach the disk inside the next phase's window. */
	sync();
	return 0;
}

/* The hub's CPU over the next ms, in % of one core. */
struct sample {
	int64_t mono, cpu_ms, disk_bytes, applied;
};

static void sample(struct driver *d, struct sample *s)
{
	s->mono = ss_mono_ms();
	s->cpu_ms = fleet_proc_cpu_ms(d->hub.pid);
	s->disk_bytes = fleet_disk_written_bytes(d->hub.data);
	s->applied = fleet_hub_stat(&d->hub, "records_applied");
}

static double cpu_pct(const struct sample *a, const struct sample *b)
{
	return 100.0 * (double)(b->cpu_ms - a->cpu_ms) / (double)(b->mono - a->mono);
}

static int phase_idle(struct driver *d)
{
	struct sample a, b;

	wait_ms(SETTLE_MS);
	say_load("heartbeats only");
	sample(d, &a);
	wait_ms(d->window_s * 1000LL);
	sample(d, &b);
	printf("fleet_hb_hub_cpu_pct %.1f %%\n", cpu_pct(&a, &b));
	printf("fleet_hb_disk_kb_per_s %.1f kB/s\n",
		(double)(b.disk_bytes - a.disk_bytes) / 1.024 / (double)(b.mono - a.mono));
	fflush(stdout);
	return 0;
}

static double median3(double v[3])
{
	double a = v[0], b = v[1], c = v[2];

	if ((a <= b && b <= c) || (c <= b && b <= a))
		return b;
	if ((b <= a && a <= c) || (c <= a && a <= b))
		return a;
	return c;
}

/* `hqctl stores --json` and `hqctl stale`, three times each, spread over
 * the window; the medians in ms (-1: a run failed). */
static void time_queries(struct driver *d, int64_t window_ms, double *stores_ms, double *stale_ms)
{
	/* An operator at HQ: CurveZMQ with a key of its own, unless --insecure. */
	char *key = d->o.insecure ? NULL : "-i";
	char *const stores_argv[] = { (char *)d->hqctl, "--hub", d->hub.query, "--timeout", "60",
		"stores", "--json", key, d->op_key, "-k", d->hub_pub, NULL };
	char *const stale_argv[] = { (char *)d->hqctl, "--hub", d->hub.query, "--timeout", "60",
		"stale", key, d->op_key, "-k", d->hub_pub, NULL };
	double st[3], sl[3];
	int64_t end = ss_mono_ms() + window_ms;

	for (int i = 0; i < 3; i++) {
		wait_ms(window_ms / 4);
		st[i] = fleet_run_ms(stores_argv);
		sl[i] = fleet_run_ms(stale_argv);
	}
	*stores_ms = st[0] < 0 || st[1] < 0 || st[2] < 0 ? -1 : median3(st);
	*stale_ms = sl[0] < 0 || sl[1] < 0 || sl[2] < 0 ? -1 : median3(sl);
	wait_ms(end - ss_mono_ms());
}

static int phase_rate(struct driver *d, double rate)
{
	struct fleet_report *r = malloc(sizeof *r);
	struct sample a, b;
	double stores_ms, stale_ms;
	char phase[64];
	int tag = (int)rate;

	snprintf(phase, sizeof phase, "%d records/s", tag);
	if (!r || set_rate(d, rate) != 0)
		goto fail;
	wait_ms(WARM_MS);
	say_load(phase);
	if (broadcast(d, FLEET_CMD_RESET, 0, NULL) != 0)
		goto fail;
	sample(d, &a);
	time_queries(d, d->window_s * 1000LL, &stores_ms, &stale_ms);
	sample(d, &b);
	if (broadcast(d, FLEET_CMD_REPORT, 0, r) != 0)
		goto fail;
	printf("fleet_ack_p50_ms_r%d %.1f ms\n", tag, fleet_hist_pct_us(&r->ack, 50) / 1000.0);
	printf("fleet_ack_p99_ms_r%d %.1f ms\n", tag, fleet_hist_pct_us(&r->ack, 99) / 1000.0);
	printf("fleet_acked_per_s_r%d %.0f records/s\n", tag,
		(double)r->ack.count * 1000.0 / (double)(b.mono - a.mono));
	printf("fleet_hub_cpu_pct_r%d %.1f %%\n", tag, cpu_pct(&a, &b));
	printf("fleet_disk_bytes_per_record_r%d %.0f bytes\n", tag, b.applied > a.applied
		? (double)(b.disk_bytes - a.disk_bytes) / (double)(b.applied - a.applied) : -1.0);
	printf("fleet_stores_query_ms_r%d %.0f ms\n", tag, stores_ms);
	printf("fleet_stale_query_ms_r%d %.0f ms\n", tag, stale_ms);
	fflush(stdout);
	free(r);
	return 0;
fail:
	free(r);
	return -1;
}

static int phase_silence(struct driver *d)
{
	long rows = 0, silent = fleet_hub_silent(&d->hub, &rows);

	printf("fleet_false_silent %ld stores (of %ld rows)\n", silent, rows);
	return 0;
}

/* With every store connected and only heartbeating: what the fleet costs
 * in memory. Anonymous memory is the hub's own (connections, buffers); the
 * rest is mostly LMDB's pages, mapped from the page cache. */
static void phase_memory(struct driver *d)
{
	int64_t kb = fleet_proc_kb(d->hub.pid, "VmRSS");
	int64_t anon = fleet_proc_kb(d->hub.pid, "RssAnon");

	printf("fleet_hub_rss_mb %.1f MB\n", (double)kb / 1024.0);
	printf("fleet_hub_rss_anon_mb %.1f MB\n", (double)anon / 1024.0);
	printf("fleet_hub_anon_kb_per_store %.1f kB\n", (double)anon / d->stores);
	fflush(stdout);
}

static int phase_restart(struct driver *d)
{
	int64_t t0;
	uint64_t got = 0;
	double up;

	if (set_rate(d, d->rates[0]) != 0)
		return -1;
	wait_ms(WARM_MS);
	say_load("restart");
	if (broadcast(d, FLEET_CMD_MARK, 0, NULL) != 0)
		return -1;
	t0 = ss_mono_ms();
	fleet_hub_kill(&d->hub, SIGKILL);
	if (fleet_hub_start(&d->hub) != 0) {
		fprintf(stderr, "ss-fleet: the hub did not start again (see %s)\n", d->hub.log);
		return -1;
	}
	up = (double)(ss_mono_ms() - t0) / 1000.0;
	printf("fleet_restart_hub_up_s %.2f s\n", up);
	print_wait("fleet_restart_recover_s", wait_for(d, t0, RECOVER_WAIT_S, recovered, &got),
		got, d->stores);
	/* The new hub's whole life so far: start, N handshakes, Hellos, the
	 * records resent. */
	printf("fleet_restart_hub_cpu_s %.2f s\n", (double)fleet_proc_cpu_ms(d->hub.pid) / 1000.0);
	return 0;
}

static int run(struct driver *d)
{
	int rc = -1;

	printf("# ss-fleet %s: %d stores, %d workers%s, %s\n", SS_VERSION, d->stores, d->workers,
		d->o.legacy ? ", legacy agents" : "", d->o.insecure ? "INSECURE (plaintext)"
		: "CurveZMQ");
	if (phase_setup(d) != 0)
		return -1;
	if (fleet_hub_start(&d->hub) != 0) {
		fprintf(stderr, "ss-fleet: the hub did not start (see %s)\n", d->hub.log);
		return -1;
	}
	if (phase_welcome(d) != 0 || phase_idle(d) != 0)
		goto out;
	phase_memory(d);
	for (int i = 0; i < d->n_rates && !stop_signal; i++)
		if (phase_rate(d, d->rates[i]) != 0)
			goto out;
	phase_silence(d);
	printf("fleet_hub_peak_rss_mb %.1f MB\n", (double)fleet_proc_kb(d->hub.pid, "VmHWM")
		/ 1024.0);
	rc = phase_restart(d);
out:
	fleet_hub_kill(&d->hub, SIGTERM);
	return rc;
}

static int serve(struct driver *d, double rate)
{
	long refused = d->admin ? fleet_hub_register(&d->hub, d->stores, d->keys) : 0;

	if (refused != 0) {
		fprintf(stderr, "ss-fleet: %ld stores not registered at %s\n", refused, d->admin);
		return -1;
	}
	if (broadcast(d, FLEET_CMD_CONNECT, 0, NULL) != 0 || (rate > 0 && set_rate(d, rate) != 0))
		return -1;
	while (!stop_signal)
		ss_sleep_ms(200);
	return 0;
}

/* Every store holds four descriptors (its link, its monitor's two ends'
 * mailboxes, its connection) and its LMDB three: up to the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- arguments ---- */

static int parse_rates(struct driver *d, const char *text)
{
	char *end;

	d->n_rates = 0;
	for (const char *p = text; *p && d->n_rates < MAX_RATES; p = *end ? end + 1 : end) {
		d->rates[d->n_rates++] = strtod(p, &end);
		if (end == p || (*end && *end != ','))
			return -1;
	}
	return d->n_rates ? 0 : -1;
}

static int option(struct driver *d, const char *name, const char *value, double *rate)
{
	int v = atoi(value);

	if (!strcmp(name, "--dir")) snprintf(d->o.dir, sizeof d->o.dir, "%s", value);
	else if (!strcmp(name, "--hub-bin")) d->hub.bin = value;
	else if (!strcmp(name, "--hqctl-bin")) d->hqctl = value;
	else if (!strcmp(name, "--hub-arg") && d->n_user_args < MAX_HUB_ARGS - 8)
		d->user_args[d->n_user_args++] = value;
	else if (!strcmp(name, "--admin")) d->admin = value;
	else if (!strcmp(name, "--hub-key")) d->hub_key_file = value;
	else if (!strcmp(name, "--port")) {
		snprintf(d->hub.listen, sizeof d->hub.listen, "tcp://127.0.0.1:%d", v);
		snprintf(d->hub.query, sizeof d->hub.query, "tcp://127.0.0.1:%d", v + 1);
	} else if (!strcmp(name, "--rates")) return parse_rates(d, value);
	else if (!strcmp(name, "--window-s")) d->window_s = v;
	else if (!strcmp(name, "--rate")) *rate = strtod(value, NULL);
	else if (!strcmp(name, "--heartbeat-ms")) d->o.heartbeat_ms = v;
	else if (!strcmp(name, "--hub-timeout-ms")) d->o.hub_timeout_ms = v;
	else if (!strcmp(name, "--reconnect-ms")) d->o.reconnect_ms = v;
	else if (!strcmp(name, "--reconnect-max-ms")) d->o.reconnect_max_ms = v;
	else if (!strcmp(name, "--stores-per-worker")) d->per_worker = v;
	else return -1;
	return 0;
}

/* Returns the index of the first positional argument, or -1. */
static int parse_args(int argc, char **argv, struct driver *d, double *rate)
{
	int i = 2;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--legacy"))
			d->o.legacy = 1;
		else if (!strcmp(argv[i], "--sync-apply"))
			d->o.sync_apply = 1;
		else if (!strcmp(argv[i], "--insecure"))
			d->o.insecure = 1;
		else if (!strcmp(argv[i], "--verbose"))
			d->verbose = 1;
		else if (i + 1 >= argc || option(d, argv[i], argv[i + 1], rate) != 0)
			return -1;
		else
			i++;
	}
	if (!d->o.dir[0] || d->per_worker < 1 || d->window_s < 1)
		return -1;
	/* The agent's default interval, then and now. */
	if (!d->o.heartbeat_ms)
		d->o.heartbeat_ms = d->o.legacy ? 2000 : 3000;
	return i;
}

int main(int argc, char **argv)
{
	struct driver d = { .o = { .hub_timeout_ms = 30000,
		.reconnect_ms = 1000, .reconnect_max_ms = 30000, .ack_timeout_ms = 5000,
		.batch_records = 2000, .window_batches = 8 }, .per_worker = 2000,
		.rates = { 1200, 12000 }, .n_rates = 2, .window_s = 20,
		.hub = { .listen = "tcp://127.0.0.1:17701", .query = "tcp://127.0.0.1:17702" } };
	double rate = 0;
	int serving, first, rc;

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		ss_version_print("ss-fleet");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	serving = argc > 1 && !strcmp(argv[1], "stores");
	first = argc > 1 && (serving || !strcmp(argv[1], "run")) ? parse_args(argc, argv, &d, &rate)
		: -1;
	if (first < 0 || argc - first != (serving ? 2 : 1)
		|| (!serving && (!d.hub.bin || !d.hqctl))
		|| (serving && !d.o.insecure && !d.hub_key_file)) {
		usage(stderr);
		return 2;
	}
	if (serving)
		snprintf(d.o.hub, sizeof d.o.hub, "%s", argv[first++]);
	else
		snprintf(d.o.hub, sizeof d.o.hub, "%s", d.hub.listen);
	d.stores = atoi(argv[first]);
	if (d.stores < 1)
		return 2;
	d.o.run_id = (uint64_t)ss_now_ms();
	snprintf(d.hub.data, sizeof d.hub.data, "%s/hub", d.o.dir);
	snprintf(d.hub.log, sizeof d.hub.log, "%s/hub.log", d.o.dir);
	if (serving)
		snprintf(d.hub.admin, sizeof d.hub.admin, "%s", d.admin ? d.admin : "");
	else
		snprintf(d.hub.admin, sizeof d.hub.admin, "ipc://%s/admin.sock", d.o.dir);
	if (serving ? hub_key_of(&d) != 0 : make_run_keys(&d) != 0)
		return 1;
	/* Before the workers fork: they take the stores' keys with them. */
	if (make_store_keys(&d) != 0) {
		fprintf(stderr, "ss-fleet: cannot make the stores' keys\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (start_workers(&d) != 0) {
		fprintf(stderr, "ss-fleet: the workers did not start\n");
		stop_workers(&d);
		return 1;
	}
	/* The stores' files go to disk now, not inside a measured window. */
	sync();
	rc = serving ? serve(&d, rate) : run(&d);
	stop_workers(&d);
	free(d.keys);
	return rc == 0 ? 0 : 1;
}
