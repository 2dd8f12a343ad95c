/* Operating the daemons (common/ss_daemon, ss_log): one daemon per data
 * directory and per endpoint, the tills' socket mode and group, logs in the
 * form journald expects and at the level asked for, --version.
 *
 * A second instance on a data directory in use, or on an ipc endpoint a
 * live process listens on, exits 1 at once with a one-line reason and leaves
 * the first one serving (its socket was not stolen); a stale socket left by
 * kill -9 is replaced, and a file that is not a socket is left alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ss_time.h"
#include "testlib.h"

/* Runs a shell command with stderr to err; *ms how long it took. A second
 * instance that wrongly keeps running is killed after 10 s (and the test
 * then fails on its exit status). */
static int run_timed(const char *err, int64_t *ms, const char *fmt, const char *a, const char *b,
	const char *c)
{
	char cmd[1536];
	int64_t t0 = ss_mono_ms();
	int rc;

	snprintf(cmd, sizeof cmd, fmt, a, b, c);
	rc = tl_sh("timeout -s KILL 10 %s 2>'%s' >/dev/null", cmd, err);
	*ms = ss_mono_ms() - t0;
	return rc;
}

/* 1 when file contains the fixed string s. */
static int file_has(const char *file, const char *s)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "grep -F -q -e '%s' '%s'", s, file);
	return tl_sh("%s", cmd) == 0;
}

static void agent_alive(const char *local)
{
	Storesync__StatusReply *st = tl_status(local, 2000);

	ck_assert_msg(st != NULL, "the first agent no longer answers on %s", local);
	tl_status_free(st);
}

/* Second instances: plaintext, as what they meet is the lock, not a key. */
#define AGENT SS_BIN_DIR "/store-agent --insecure --store-id S1 --hub ipc:///nonexistent/hub.sock"

START_TEST(agent_second_instance_on_the_data_dir_exits_1)
{
	struct tl_env e;
	char local[320], data[320], err[400], other[400], want[512];
	int64_t ms;
	pid_t a;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(err, sizeof err, "%s/second.err", e.dir);
	snprintf(other, sizeof other, "ipc://%s/other.sock", e.dir);
	a = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(run_timed(err, &ms, AGENT " --data-dir '%s' --local '%s'%s", data, other,
		""), 1);
	ck_assert_int_lt(ms, 2000);
	snprintf(want, sizeof want, "data directory %s is in use by pid %d", data, (int)a);
	ck_assert_msg(file_has(err, want), "stderr lacks \"%s\"", want);
	agent_alive(local);
	tl_stop(a);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(agent_second_instance_on_a_live_socket_exits_1)
{
	struct tl_env e;
	char local[320], data[320], err[400], other[400], want[512];
	int64_t ms;
	pid_t a;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(err, sizeof err, "%s/second.err", e.dir);
	snprintf(other, sizeof other, "%s/other-data", e.dir);
	a = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(run_timed(err, &ms, AGENT " --data-dir '%s' --local '%s'%s", other, local,
		""), 1);
	ck_assert_int_lt(ms, 2000);
	snprintf(want, sizeof want, "endpoint %s is in use by another process", local);
	ck_assert_msg(file_has(err, want), "stderr lacks \"%s\"", want);
	/* The running agent keeps its socket: tills still reach it. */
	agent_alive(local);
	tl_stop(a);
	tl_env_cleanup(&e);
}
END_TEST

/* A socket file nobody listens on, as a killed process leaves it. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	close(fd);
}

START_TEST(agent_replaces_a_stale_socket)
{
	struct tl_env e;
	char local[320], data[320];
	pid_t a;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	make_stale_socket(local + strlen("ipc://"));
	a = tl_start_agent(&e, "S1", NULL);
	/* kill -9 leaves the socket file and the lock file behind. */
	tl_kill9(a);
	ck_assert_int_eq(access(local + strlen("ipc://"), F_OK), 0);
	a = tl_start_agent(&e, "S1", NULL);
	tl_stop(a);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(agent_leaves_a_file_that_is_not_a_socket)
{
	struct tl_env e;
	char local[320], data[320], err[400];
	const char *path;
	int64_t ms;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(err, sizeof err, "%s/agent.err", e.dir);
	path = local + strlen("ipc://");
	ck_assert_int_eq(tl_sh("echo precious > '%s'", path), 0);
	ck_assert_int_eq(run_timed(err, &ms, AGENT " --data-dir '%s' --local '%s'%s", data, local,
		""), 1);
	ck_assert(file_has(err, "exists and is not a socket"));
	ck_assert_int_eq(tl_sh("grep -q precious '%s'", path), 0);
	tl_env_cleanup(&e);
}
END_TEST

#define HUB SS_BIN_DIR "/hq-hub --foreground --insecure --admin ''"

START_TEST(hub_second_instance_exits_1)
{
	struct tl_env e;
	char err[400], want[512], other_data[400], other_ep[400], other_ep2[400];
	int64_t ms;
	pid_t h;

	tl_env_init(&e);
	snprintf(err, sizeof err, "%s/second.err", e.dir);
	snprintf(other_data, sizeof other_data, "%s/other-hub", e.dir);
	snprintf(other_ep, sizeof other_ep, "ipc://%s/other.sock", e.dir);
	snprintf(other_ep2, sizeof other_ep2, "ipc://%s/other2.sock", e.dir);
	h = tl_start_hub(&e, NULL);
	/* Same data directory. */
	ck_assert_int_eq(run_timed(err, &ms, HUB " --data-dir '%s' --listen '%s' --query '%s'",
		e.hub_data, other_ep, other_ep2), 1);
	ck_assert_int_lt(ms, 2000);
	snprintf(want, sizeof want, "data directory %s is in use by pid %d", e.hub_data, (int)h);
	ck_assert_msg(file_has(err, want), "stderr lacks \"%s\"", want);
	/* Another data directory, the live query endpoint. */
	ck_assert_int_eq(run_timed(err, &ms, HUB " --data-dir '%s' --listen '%s' --query '%s'",
		other_data, other_ep, e.hub_query), 1);
	snprintf(want, sizeof want, "endpoint %s is in use by another process", e.hub_query);
	ck_assert_msg(file_has(err, want), "stderr lacks \"%s\"", want);
	/* ... and the live store link. */
	ck_assert_int_eq(run_timed(err, &ms, HUB " --data-dir '%s' --listen '%s' --query '%s'",
		other_data, e.hub_listen, other_ep2), 1);
	snprintf(want, sizeof want, "endpoint %s is in use by another process", e.hub_listen);
	ck_assert_msg(file_has(err, want), "stderr lacks \"%s\"", want);
	ck_assert_int_ge(tl_hub_stat(e.hub_query, "commits"), 0);
	/* Stale sockets and lock of a killed hub do not stop the next one. */
	tl_kill9(h);
	h = tl_start_hub(&e, NULL);
	tl_stop(h);
	tl_env_cleanup(&e);
}
END_TEST

/* The pid of a running hq-hub whose arguments name dir, 0 when none:
 * found in /proc, independently of what the lock file says. */
static pid_t hub_naming(const char *dir)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	pid_t found = 0;

	while (proc && !found && (d = readdir(proc)) != NULL) {
		char path[300], args[4096];
		size_t l0;
		ssize_t n;
		int fd;

		if (atoi(d->d_name) <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", d->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		n = read(fd, args, sizeof args - 1);
		close(fd);
		if (n <= 0)
			continue;
		args[n] = '\0';
		/* argv[0] ends in /hq-hub; the other arguments name dir. */
		l0 = strlen(args);
		for (ssize_t i = 0; i < n; i++)
			if (args[i] == '\0')
				args[i] = ' ';
		if (l0 >= 7 && strncmp(args + l0 - 7, "/hq-hub", 7) == 0 && strstr(args, dir))
			found = (pid_t)atoi(d->d_name);
	}
	if (proc)
		closedir(proc);
	return found;
}

/* A hub that detaches (no --foreground) keeps the lock and names its own
 * pid, not its parent's. It outlives this test's process, so it is
 * stopped before anything is asserted. */
START_TEST(detached_hub_holds_the_lock_with_its_pid)
{
	struct tl_env e;
	char err[400], want[512], other_ep[400], other_ep2[400];
	int detached, second, started = 0;
	int64_t ms;
	pid_t h;

	tl_env_init(&e);
	snprintf(err, sizeof err, "%s/second.err", e.dir);
	snprintf(other_ep, sizeof other_ep, "ipc://%s/other.sock", e.dir);
	snprintf(other_ep2, sizeof other_ep2, "ipc://%s/other2.sock", e.dir);
	detached = tl_sh("'%s/hq-hub' --insecure --admin '' --data-dir '%s' --listen '%s' --query '%s' 2>'%s/hub.log'",
		SS_BIN_DIR, e.hub_data, e.hub_listen, e.hub_query, e.dir);
	for (int i = 0; i < 100 && !started; i++, ss_sleep_ms(50))
		started = tl_hub_stat(e.hub_query, "commits") >= 0;
	h = hub_naming(e.hub_data);
	second = run_timed(err, &ms, HUB " --data-dir '%s' --listen '%s' --query '%s'", e.hub_data,
		other_ep, other_ep2);
	if (h > 0) {
		kill(h, SIGTERM);
		for (int i = 0; i < 100 && kill(h, 0) == 0; i++)
			ss_sleep_ms(50);
	}
	ck_assert_int_eq(detached, 0);
	ck_assert(started);
	ck_assert_int_gt(h, 0);
	ck_assert_int_eq(second, 1);
	snprintf(want, sizeof want, "data directory %s is in use by pid %d", e.hub_data, (int)h);
	ck_assert_msg(file_has(err, want), "stderr lacks \"%s\"", want);
	ck_assert_int_ne(kill(h, 0), 0);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(local_socket_mode_and_group)
{
	struct tl_env e;
	char local[320], data[320], log[400];
	struct group *g = getgrnam("daemon");
	int chgrp = geteuid() == 0 && g != NULL;   /* only root may give it away */
	gid_t daemon_gid = g ? g->gr_gid : 0;
	struct stat st;
	pid_t a;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(log, sizeof log, "%s/agent-S1.log", e.dir);
	a = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(stat(local + strlen("ipc://"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	if ((g = getgrnam("storesync")) != NULL)
		ck_assert_int_eq(st.st_gid, g->gr_gid);
	else
		ck_assert(file_has(log, "group storesync does not exist"));
	tl_stop(a);
	a = tl_start_agent(&e, "S1", "--local-socket-mode", "0600", "--local-socket-group",
		chgrp ? "daemon" : "", NULL);
	ck_assert_int_eq(stat(local + strlen("ipc://"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	if (chgrp)
		ck_assert_int_eq(st.st_gid, daemon_gid);
	tl_stop(a);
	/* A group that does not exist: a warning, the socket keeps its group. */
	a = tl_start_agent(&e, "S1", "--local-socket-group", "no-such-group-ss", NULL);
	ck_assert_int_eq(stat(local + strlen("ipc://"), &st), 0);
	ck_assert_int_eq(st.st_gid, getegid());
	ck_assert(file_has(log, "group no-such-group-ss does not exist"));
	tl_stop(a);
	ck_assert_int_eq(tl_sh("'%s/store-agent' --local-socket-mode 0999 2>/dev/null", SS_BIN_DIR),
		2);
	tl_env_cleanup(&e);
}
END_TEST

/* Every line of file starts with a journal priority, none with a timestamp. */
static void expect_journal_lines(const char *file)
{
	ck_assert_msg(tl_sh("test -s '%s'", file) == 0, "%s is empty", file);
	ck_assert_msg(tl_sh("grep -v -E -q '^<[3467]>' '%s'", file) != 0,
		"a line of %s lacks a priority prefix", file);
	ck_assert_msg(tl_sh("grep -E -q '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' '%s'", file) != 0,
		"%s carries our own timestamps", file);
}

START_TEST(journald_priorities_when_journal_stream_is_set)
{
	struct tl_env e;
	char local[320], data[320], log[400], err[400];
	int64_t ms;
	pid_t a, h;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(log, sizeof log, "%s/agent-S1.log", e.dir);
	snprintf(err, sizeof err, "%s/second.err", e.dir);
	setenv("JOURNAL_STREAM", "1:1", 1);
	h = tl_start_hub(&e, NULL);
	a = tl_start_agent(&e, "S1", "--local-socket-group", "no-such-group-ss", NULL);
	ck_assert_int_eq(run_timed(err, &ms, AGENT " --data-dir '%s' --local '%s'%s", data, local,
		""), 1);
	tl_stop(a);
	tl_stop(h);
	ck_assert(file_has(log, "<4>group no-such-group-ss does not exist"));
	ck_assert(file_has(log, "<6>store S1 epoch"));
	ck_assert(file_has(err, "<3>data directory"));
	expect_journal_lines(log);
	expect_journal_lines(err);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	ck_assert(file_has(log, "<6>listening on"));
	expect_journal_lines(log);
	/* The default level is info: no debug lines. */
	ck_assert(!file_has(log, "settings:"));
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(log_level_changes_what_is_logged)
{
	struct tl_env e;
	char local[320], data[320], log[400];
	pid_t a, h;

	tl_env_init(&e);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(log, sizeof log, "%s/agent-S1.log", e.dir);
	h = tl_start_hub(&e, "--log-level", "warning", NULL);
	a = tl_start_agent(&e, "S1", "--log-level", "warning", "--local-socket-group",
		"no-such-group-ss", NULL);
	tl_stop(a);
	ck_assert(file_has(log, "group no-such-group-ss does not exist"));
	ck_assert(!file_has(log, "store S1 epoch"));
	ck_assert(!file_has(log, "stopped"));
	a = tl_start_agent(&e, "S1", "-v", NULL);
	tl_stop(a);
	ck_assert(file_has(log, "[debug] settings: budget"));
	tl_stop(h);
	snprintf(log, sizeof log, "%s/hub.log", e.dir);
	ck_assert(!file_has(log, "listening on"));
	h = tl_start_hub(&e, "-v", NULL);
	tl_stop(h);
	ck_assert(file_has(log, "listening on"));
	ck_assert(file_has(log, "[debug] settings: budget"));
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --log-level loud 2>/dev/null", SS_BIN_DIR), 2);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(every_program_prints_its_version)
{
	static const char *const programs[] = { "hq-hub", "store-agent", "hq-export", "hqctl",
		"storectl", "ss-gen", "bench/ss-bench", "bench/ss-hubload" };
	char out[320];
	struct tl_env e;

	tl_env_init(&e);
	snprintf(out, sizeof out, "%s/version", e.dir);
	for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
		ck_assert_int_eq(tl_sh("'%s/%s' --version >'%s'", SS_BIN_DIR, programs[i], out), 0);
		ck_assert_msg(tl_sh("test \"$(cat '%s')\" = '%s storesync %s'", out,
			strrchr(programs[i], '/') ? strrchr(programs[i], '/') + 1 : programs[i],
			SS_VERSION) == 0, "%s --version", programs[i]);
	}
	tl_env_cleanup(&e);
}
END_TEST

/* The documented example configs hold only keys the daemons know. */
START_TEST(example_configs_parse)
{
	ck_assert_int_eq(tl_sh("'%s/store-agent' --config '%s/deploy/agent.ini' --version "
		">/dev/null", SS_BIN_DIR, SS_SOURCE_DIR), 0);
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --config '%s/deploy/hub.ini' --version >/dev/null",
		SS_BIN_DIR, SS_SOURCE_DIR), 0);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { agent_second_instance_on_the_data_dir_exits_1,
		agent_second_instance_on_a_live_socket_exits_1, agent_replaces_a_stale_socket,
		agent_leaves_a_file_that_is_not_a_socket, hub_second_instance_exits_1,
		detached_hub_holds_the_lock_with_its_pid, local_socket_mode_and_group,
		journald_priorities_when_journal_stream_is_set, log_level_changes_what_is_logged,
		every_program_prints_its_version, example_configs_parse };

	return tl_run("daemon", tests, sizeof tests / sizeof tests[0], 30);
}
