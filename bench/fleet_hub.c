/* fleet_hub: the fleet driver's view of the hub under test: its process
 * (start, kill -9, restart), what the kernel says about it (CPU time and
 * memory from /proc/PID, bytes written from the block device's counters in
 * /proc/diskstats: /proc/PID/io counts what was handed to the page cache,
 * which overstates what LMDB's page writes cost the disk), and its answers
 * on the operators' endpoint. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_admin.h"
#include "fleet.h"
#include "fleet_hub.h"
#include "ss_link.h"
#include "ss_time.h"

#define START_WAIT_MS 30000
#define QUERY_TIMEOUT_MS 60000

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);

		/* The hub goes with the driver, however the driver ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int fleet_hub_start(struct fleet_hub *h)
{
	char *argv[48];
	int n = 0;

	argv[n++] = (char *)h->bin;
	argv[n++] = "--foreground";
	argv[n++] = "--data-dir";
	argv[n++] = h->data;
	argv[n++] = "--listen";
	argv[n++] = h->listen;
	argv[n++] = "--query";
	argv[n++] = h->query;
	for (int i = 0; h->extra && h->extra[i] && n < 47; i++)
		argv[n++] = (char *)h->extra[i];
	argv[n] = NULL;
	if ((h->pid = spawn(argv, h->log)) < 0)
		return -1;
	for (int64_t t0 = ss_mono_ms(); ss_mono_ms() - t0 < START_WAIT_MS; ss_sleep_ms(20)) {
		if (fleet_hub_stat(h, "commits") >= 0)
			return 0;
		if (waitpid(h->pid, NULL, WNOHANG) == h->pid) {
			h->pid = 0;
			return -1;
		}
	}
	return -1;
}

void fleet_hub_kill(struct fleet_hub *h, int sig)
{
	if (h->pid <= 0)
		return;
	kill(h->pid, sig);
	waitpid(h->pid, NULL, 0);
	h->pid = 0;
}

/* ---- /proc ---- */

int64_t fleet_proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command, which may hold spaces: from the last ')'. */
	if (!(p = strrchr(buf, ')')))
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int64_t fleet_proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			sscanf(line + len + 1, "%lld", &kb);
	fclose(f);
	return kb;
}

int64_t fleet_disk_written_bytes(const char *path)
{
	struct stat st;
	char line[512], name[64];
	unsigned maj, min;
	unsigned long long sectors, skip[6];
	long long bytes = -1;
	FILE *f;

	if (stat(path, &st) != 0 || !(f = fopen("/proc/diskstats", "r")))
		return -1;
	/* major minor name reads merged sectors ms writes merged sectors_written ... */
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%u %u %63s %llu %llu %llu %llu %llu %llu %llu", &maj, &min, name,
			&skip[0], &skip[1], &skip[2], &skip[3], &skip[4], &skip[5], &sectors) == 10
			&& maj == major(st.st_dev) && min == minor(st.st_dev))
			bytes = (long long)(sectors * 512);
	fclose(f);
	return bytes;
}

double fleet_loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

/* ---- the operators' endpoint ---- */

/* The driver asks on the admin socket (plaintext ipc: the host's admin,
 * operator 'local'); hqctl, timed, goes through the operators' endpoint as
 * an operator at HQ does (time_queries in ss_fleet.c). */
Storesync__QueryReply *fleet_hub_query(struct fleet_hub *h, Storesync__QueryRequest *req,
	int timeout_ms)
{
	return bench_admin_ask(h->zctx, h->admin, req, timeout_ms);
}

int64_t fleet_hub_stat(struct fleet_hub *h, const char *counter)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryReply *r;
	int64_t v = -1;

	req.what = "stats";
	/* A short wait: this also probes whether the hub is up yet. */
	r = fleet_hub_query(h, &req, 1000);
	for (size_t i = 0; r && i < r->n_rows; i++)
		if (strcmp(r->rows[i]->cells[0]->s, counter) == 0)
			v = r->rows[i]->cells[1]->i;
	if (r)
		storesync__query_reply__free_unpacked(r, NULL);
	return v;
}

long fleet_hub_silent(struct fleet_hub *h, long *rows)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryReply *r;
	long silent = -1;
	int c;

	req.what = "stores";
	*rows = 0;
	if (!(r = fleet_hub_query(h, &req, QUERY_TIMEOUT_MS)))
		return -1;
	if (!r->error && (c = bench_admin_column(r, "silent")) >= 0) {
		silent = 0;
		*rows = (long)r->n_rows;
		for (size_t i = 0; i < r->n_rows; i++)
			silent += r->rows[i]->cells[c]->i != 0;
	}
	storesync__query_reply__free_unpacked(r, NULL);
	return silent;
}

/* A write of `what` with up to three params; 0 when the hub did it. */
static int write_op(struct fleet_hub *h, const char *what, const char *const kv[][2], size_t n)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam p[3], *pp[3];
	Storesync__QueryReply *r;
	int rc = -1;

	for (size_t i = 0; i < n && i < 3; i++) {
		storesync__query_param__init(&p[i]);
		p[i].key = (char *)kv[i][0];
		p[i].value = (char *)kv[i][1];
		pp[i] = &p[i];
	}
	req.what = (char *)what;
	req.params = pp;
	req.n_params = n < 3 ? n : 3;
	if ((r = fleet_hub_query(h, &req, QUERY_TIMEOUT_MS))) {
		rc = r->error ? -1 : 0;
		storesync__query_reply__free_unpacked(r, NULL);
	}
	return rc;
}

int fleet_hub_policy(struct fleet_hub *h, const char *setting)
{
	const char *const kv[][2] = { { "set", setting } };

	return write_op(h, "policy set", kv, 1);
}

int fleet_hub_operator(struct fleet_hub *h, const char *name, const char *key)
{
	const char *const kv[][2] = { { "operator", name }, { "key", key }, { "role", "admin" } };

	return write_op(h, "operator add", kv, 3);
}

/* Sends store i's `store add` on a DEALER, as REQ would frame it. */
static int send_add(void *s, int i, const struct ss_curve_pair *keys)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam p[2], *pp[2] = { &p[0], &p[1] };
	char id[16];

	fleet_store_name(i, id, sizeof id);
	storesync__query_param__init(&p[0]);
	storesync__query_param__init(&p[1]);
	p[0].key = "store";
	p[0].value = id;
	p[1].key = "key";
	p[1].value = keys ? (char *)keys[i].public_key : NULL;
	req.what = "store add";
	req.params = pp;
	req.n_params = keys ? 2 : 1;
	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	if (zmq_send(s, "", 0, ZMQ_SNDMORE) < 0)
		return -1;
	return ss_proto_send(s, &req.base, 0);
}

/* One answer to a `store add`: 0 done, 1 refused, -1 none in time. */
static int recv_add(void *s)
{
	zmq_msg_t f[2];
	Storesync__QueryReply *r;
	int n = ss_link_recv(s, f, 2, 0), rc = -1;

	if (n == 2) {
		r = (Storesync__QueryReply *)ss_proto_unpack(&storesync__query_reply__descriptor,
			zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SIZE_MAX);
		rc = !r || r->error ? 1 : 0;
		if (r)
			storesync__query_reply__free_unpacked(r, NULL);
	}
	if (n > 0)
		ss_link_close_frames(f, n < 2 ? n : 2);
	return rc;
}

#define REGISTER_IN_FLIGHT 256

long fleet_hub_register(struct fleet_hub *h, int n, const struct ss_curve_pair *keys)
{
	char err[128];
	void *s = ss_link_socket(h->zctx, ZMQ_DEALER, err, sizeof err);
	int timeout_ms = QUERY_TIMEOUT_MS, sent = 0, got = 0;
	long refused = 0;

	if (!s || zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0
		|| zmq_connect(s, h->admin) != 0)
		refused = -1;
	while (refused >= 0 && got < n) {
		int rc;

		while (sent < n && sent - got < REGISTER_IN_FLIGHT)
			if (send_add(s, sent++, keys) != 0)
				refused = -1;
		if (refused < 0 || (rc = recv_add(s)) < 0)
			refused = -1;
		else
			refused += rc;
		got++;
	}
	if (s)
		zmq_close(s);
	return refused;
}

double fleet_run_ms(char *const argv[])
{
	int64_t t0 = ss_mono_ms();
	pid_t pid = spawn(argv, NULL);
	int status = 0;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)
		|| WEXITSTATUS(status) != 0)
		return -1;
	return (double)(ss_mono_ms() - t0);
}
