/* No silent hangs (common/ss_client, hqctl, storectl): what cannot be
 * reached fails at once with exit 3 (no socket file, connection refused,
 * permission denied), a peer that never answers gives exit 3 after
 * --timeout, an endpoint of the wrong kind is named as such (exit 3), a
 * refusal stays exit 1; the endpoint comes from the flag, else the
 * environment, else the client config file, else the default. A submit
 * left unanswered says that submitting again is safe. */
#include <netinet/in.h>
#include <poll.h>
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

struct fx {
	struct tl_env e;
	char out[320], err[320];
};

static void fx_init(struct fx *f)
{
	tl_env_init(&f->e);
	snprintf(f->out, sizeof f->out, "%s/out", f->e.dir);
	snprintf(f->err, sizeof f->err, "%s/err", f->e.dir);
}

/* Runs "ENV PROG ARGS" (a shell line) under a 20 s guard, output to
 * f->out and f->err; *ms how long it took. Returns the exit status. */
static int run(struct fx *f, int64_t *ms, const char *env, const char *prog, const char *args)
{
	int64_t t0 = ss_mono_ms();
	int rc = tl_sh("%s timeout -s KILL 20 '%s/%s' %s >'%s' 2>'%s'", env, SS_BIN_DIR, prog, args,
		f->out, f->err);

	if (ms)
		*ms = ss_mono_ms() - t0;
	return rc;
}

static int err_has(struct fx *f, const char *s)
{
	return tl_sh("grep -F -q -e '%s' '%s'", s, f->err) == 0;
}

START_TEST(missing_socket_exits_3_at_once)
{
	struct fx f;
	char args[512];
	int64_t ms;

	fx_init(&f);
	snprintf(args, sizeof args, "--agent ipc://%s/none.sock status", f.e.dir);
	ck_assert_int_eq(run(&f, &ms, "", "storectl", args), 3);
	ck_assert_int_lt(ms, 1000);
	ck_assert(err_has(&f, "no socket at "));
	snprintf(args, sizeof args, "--hub ipc://%s/none.sock stores", f.e.dir);
	ck_assert_int_eq(run(&f, &ms, "", "hqctl", args), 3);
	ck_assert_int_lt(ms, 1000);
	ck_assert_int_eq(tl_sh("test $(wc -l < '%s') = 1", f.err), 0);
	tl_env_cleanup(&f.e);
}
END_TEST

START_TEST(refused_tcp_connection_exits_3_at_once)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char args[128];
	int64_t ms;
	struct fx f;

	/* A port that was free a moment ago: nothing listens on it. */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	fx_init(&f);
	snprintf(args, sizeof args, "--hub tcp://127.0.0.1:%d stores", ntohs(sa.sin_port));
	ck_assert_int_eq(run(&f, &ms, "", "hqctl", args), 3);
	ck_assert_int_lt(ms, 1000);
	ck_assert(err_has(&f, "Connection refused"));
	tl_env_cleanup(&f.e);
}
END_TEST

/* A connect that completes late counts against the same timeout: a TCP
 * listener whose backlog is full takes the connection only on the SYN's
 * retransmission (about 1 s later), then never speaks. hqctl --timeout 2
 * exits 3 within about 2 s of its start, not 2 s after the connect. */
START_TEST(a_late_connect_counts_against_the_timeout)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), filler = socket(AF_INET, SOCK_STREAM, 0);
	char args[128];
	int64_t ms;
	struct fx f;
	pid_t child;

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	ck_assert_int_eq(listen(fd, 0), 0);
	ck_assert_int_eq(connect(filler, (struct sockaddr *)&sa, sizeof sa), 0);   /* full */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int held[16], n = 0;

		usleep(500 * 1000);
		for (int64_t end = ss_mono_ms() + 6000; ss_mono_ms() < end && n < 16; ) {
			struct pollfd p = { fd, POLLIN, 0 };

			if (poll(&p, 1, 100) == 1)
				held[n++] = accept(fd, NULL, NULL);
		}
		_exit(held[0] >= 0 ? 0 : 1);
	}
	fx_init(&f);
	snprintf(args, sizeof args, "--timeout 2 --hub tcp://127.0.0.1:%d stores",
		ntohs(sa.sin_port));
	ck_assert_int_eq(run(&f, &ms, "", "hqctl", args), 3);
	ck_assert_msg(ms < 2700, "took %lld ms", (long long)ms);
	ck_assert(err_has(&f, "within 2 s"));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(filler);
	close(fd);
	tl_env_cleanup(&f.e);
}
END_TEST

/* A listener that accepts connections into its backlog and never speaks. */
static int silent_listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

START_TEST(silent_peer_exits_3_after_the_timeout)
{
	char path[320], args[512];
	struct fx f;
	int64_t ms;
	int fd;

	fx_init(&f);
	snprintf(path, sizeof path, "%s/silent.sock", f.e.dir);
	fd = silent_listener(path);
	snprintf(args, sizeof args, "--agent ipc://%s --timeout 1 status", path);
	ck_assert_int_eq(run(&f, &ms, "", "storectl", args), 3);
	ck_assert_int_ge(ms, 1000);
	ck_assert_int_lt(ms, 3000);
	ck_assert(err_has(&f, "no answer from ipc://"));
	ck_assert(err_has(&f, "within 1 s"));
	snprintf(args, sizeof args, "--hub ipc://%s --timeout 0.5 stores", path);
	ck_assert_int_eq(run(&f, &ms, "", "hqctl", args), 3);
	ck_assert_int_ge(ms, 500);
	ck_assert_int_lt(ms, 2500);
	snprintf(args, sizeof args, "--hub ipc://%s --timeout soon stores", path);
	ck_assert_int_eq(run(&f, NULL, "", "hqctl", args), 2);
	close(fd);
	tl_env_cleanup(&f.e);
}
END_TEST

/* A submit whose answer never comes may have been recorded or not:
 * storectl says so, names the lines, and says how to find out. */
START_TEST(unanswered_submit_says_resubmitting_is_safe)
{
	char path[320], in[320], args[1024];
	struct fx f;
	FILE *fp;
	int fd;

	fx_init(&f);
	snprintf(path, sizeof path, "%s/silent.sock", f.e.dir);
	snprintf(in, sizeof in, "%s/day.jsonl", f.e.dir);
	ck_assert_ptr_nonnull(fp = fopen(in, "w"));
	for (int i = 1; i <= 3; i++)
		fprintf(fp, "{\"type\":\"inventory\",\"time_ms\":%lld,\"move_no\":\"M-%d\","
			"\"kind\":\"receipt\",\"sku\":\"TEA-1\",\"quantity\":1}\n",
			(long long)ss_now_ms(), i);
	fclose(fp);
	fd = silent_listener(path);
	snprintf(args, sizeof args, "--agent ipc://%s --timeout 1 submit '%s'", path, in);
	ck_assert_int_eq(run(&f, NULL, "", "storectl", args), 3);
	ck_assert(err_has(&f, "storectl: lines 1..3: outcome unknown (agent did not answer); "
		"submitting the same file again is safe: what was recorded comes back as "
		"duplicates"));
	close(fd);
	tl_env_cleanup(&f.e);
}
END_TEST

START_TEST(wrong_kind_of_endpoint_is_named)
{
	char local[320], data[320], args[512];
	struct fx f;
	pid_t hub, agent;

	fx_init(&f);
	tl_agent_paths(&f.e, "S1", local, sizeof local, data, sizeof data);
	hub = tl_start_hub(&f.e, NULL);
	agent = tl_start_agent(&f.e, "S1", NULL);
	snprintf(args, sizeof args, "--agent %s status", f.e.hub_query);
	ck_assert_int_eq(run(&f, NULL, "", "storectl", args), 3);
	ck_assert(err_has(&f, " is not a store agent (it answers as hq-hub)"));
	snprintf(args, sizeof args, "--agent %s status", f.e.hub_listen);
	ck_assert_int_eq(run(&f, NULL, "", "storectl", args), 3);
	ck_assert(err_has(&f, " is not a store agent"));
	snprintf(args, sizeof args, "--hub %s stores", local);
	ck_assert_int_eq(run(&f, NULL, "", "hqctl", args), 3);
	ck_assert(err_has(&f, " is not a hub query endpoint (it answers as store-agent)"));
	/* A CurveZMQ endpoint turns a plaintext client away at the handshake,
	 * whatever it serves: the store link, or the operators' endpoint. */
	snprintf(args, sizeof args, "--hub %s stores", f.e.hub_listen);
	ck_assert_int_eq(run(&f, NULL, "", "hqctl", args), 3);
	ck_assert(err_has(&f, " refused a plaintext connection: it speaks CurveZMQ"));
	snprintf(args, sizeof args, "--hub %s stores", f.e.hub_ops);
	ck_assert_int_eq(run(&f, NULL, "", "hqctl", args), 3);
	ck_assert(err_has(&f, " refused a plaintext connection: it speaks CurveZMQ"));
	/* The right ones answer; a refused line is 1, not 3. */
	snprintf(args, sizeof args, "--hub %s stores", f.e.hub_query);
	ck_assert_int_eq(run(&f, NULL, "", "hqctl", args), 0);
	snprintf(args, sizeof args, "--agent %s submit -", local);
	ck_assert_int_eq(run(&f, NULL, "echo '{\"type\":\"sale\"}' |", "storectl", args), 1);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

/* A till that may not use the socket hears so at once. Run as nobody
 * when we are root (root passes every permission check); otherwise the
 * socket is made unusable for us. */
START_TEST(permission_denied_at_once)
{
	char local[320], data[320], args[512], as[64] = "";
	const char *path;
	struct fx f;
	pid_t hub, agent;
	int64_t ms;

	fx_init(&f);
	tl_agent_paths(&f.e, "S1", local, sizeof local, data, sizeof data);
	path = local + strlen("ipc://");
	hub = tl_start_hub(&f.e, NULL);
	agent = tl_start_agent(&f.e, "S1", NULL);
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(f.e.dir, 0711), 0);   /* nobody may reach the socket */
		snprintf(as, sizeof as, "runuser -u nobody --");
	} else {
		ck_assert_int_eq(chmod(path, 0), 0);
	}
	snprintf(args, sizeof args, "--agent %s status", local);
	ck_assert_int_eq(run(&f, &ms, as, "storectl", args), 3);
	ck_assert_int_lt(ms, 1000);
	ck_assert_msg(err_has(&f, "storectl: permission denied on "), "stderr: see %s", f.err);
	ck_assert(err_has(&f, path));
	/* The socket's mode is what decides: opened up, the same call works. */
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_eq(run(&f, NULL, as, "storectl", args), 0);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

START_TEST(endpoint_from_flag_env_then_config_file)
{
	char local[320], data[320], env[1024], ini[512], text[512], bogus[320], keyed[1600];
	struct fx f;
	pid_t hub, agent;

	fx_init(&f);
	tl_agent_paths(&f.e, "S1", local, sizeof local, data, sizeof data);
	snprintf(bogus, sizeof bogus, "ipc://%s/bogus.sock", f.e.dir);
	hub = tl_start_hub(&f.e, NULL);
	agent = tl_start_agent(&f.e, "S1", NULL);
	/* No file yet: the environment, and the flag over it. */
	snprintf(env, sizeof env, "env -u XDG_CONFIG_HOME HOME='%s' STORESYNC_HUB='%s'", f.e.dir,
		f.e.hub_query);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "stores"), 0);
	snprintf(text, sizeof text, "--hub %s stores", bogus);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", text), 3);
	snprintf(env, sizeof env, "env -u XDG_CONFIG_HOME HOME='%s' STORESYNC_AGENT='%s'", f.e.dir,
		local);
	ck_assert_int_eq(run(&f, NULL, env, "storectl", "status"), 0);
	/* The config file, and the environment over it. */
	ck_assert_int_eq(tl_sh("mkdir -p '%s/.config/storesync'", f.e.dir), 0);
	snprintf(ini, sizeof ini, "%s/.config/storesync/hqctl.ini", f.e.dir);
	snprintf(text, sizeof text, "[hqctl]\nhub = %s\ntimeout = 2\n", f.e.hub_query);
	write_file(ini, text);
	snprintf(ini, sizeof ini, "%s/.config/storesync/storectl.ini", f.e.dir);
	snprintf(text, sizeof text, "[storectl]\nagent = %s\n", local);
	write_file(ini, text);
	snprintf(env, sizeof env, "env -u XDG_CONFIG_HOME -u STORESYNC_HUB -u STORESYNC_AGENT "
		"HOME='%s'", f.e.dir);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "stores"), 0);
	ck_assert_int_eq(run(&f, NULL, env, "storectl", "status"), 0);
	snprintf(env, sizeof env, "env -u XDG_CONFIG_HOME HOME='%s' STORESYNC_HUB='%s' "
		"STORESYNC_AGENT='%s'", f.e.dir, bogus, bogus);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "stores"), 3);
	ck_assert(err_has(&f, "bogus.sock"));
	ck_assert_int_eq(run(&f, NULL, env, "storectl", "status"), 3);
	/* XDG_CONFIG_HOME is where the file is looked for when set. */
	snprintf(env, sizeof env, "env -u STORESYNC_HUB HOME=/nonexistent XDG_CONFIG_HOME='%s/.config'",
		f.e.dir);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "stores"), 0);
	/* A file with a typo is a usage error that names it. */
	snprintf(ini, sizeof ini, "%s/.config/storesync/hqctl.ini", f.e.dir);
	write_file(ini, "[hqctl]\nhbu = x\n");
	snprintf(env, sizeof env, "env -u XDG_CONFIG_HOME -u STORESYNC_HUB HOME='%s'", f.e.dir);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "stores"), 2);
	ck_assert(err_has(&f, "hqctl.ini:2: unknown key [hqctl] hbu"));
	/* Keys in the file (for the operators' endpoint) make hqctl speak
	 * CurveZMQ, which the plaintext admin socket refuses; --identity ""
	 * asks for plaintext whatever the file says. */
	ck_assert_int_eq(tl_sh("'%s/hqctl' keygen '%s/op.key' >/dev/null && '%s/hq-hub' keygen "
		"'%s/other.key' >/dev/null", SS_BIN_DIR, f.e.dir, SS_BIN_DIR, f.e.dir), 0);
	snprintf(keyed, sizeof keyed, "[hqctl]\nhub = %s\ntimeout = 2\nidentity = %s/op.key\n"
		"hub_key = %s/other.key.pub\n", f.e.hub_query, f.e.dir, f.e.dir);
	write_file(ini, keyed);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "stores"), 3);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "--identity '' stores"), 0);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", "--hub-key '' stores"), 0);
	snprintf(text, sizeof text, "--identity '' --hub-key '%s/other.key.pub' stores", f.e.dir);
	ck_assert_int_eq(run(&f, NULL, env, "hqctl", text), 2);
	ck_assert(err_has(&f, "one is empty (plaintext), the other names a key"));
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&f.e);
}
END_TEST

/* TIME takes an offset, as docs/records.md says; not "UTC" alone. */
static void help_documents_time(struct fx *f)
{
	ck_assert_int_eq(tl_sh("grep -q 'TIME is Unix ms or YYYY-MM-DD\\[THH:MM\\[:SS\\]\\], UTC unless "
		"an offset follows$' '%s'", f->out), 0);
	ck_assert_int_eq(tl_sh("grep -q '2026-12-31T18:00+08:00 is 10:00 UTC' '%s'", f->out), 0);
	ck_assert_int_eq(tl_sh("grep -q -e '(UTC)' -e 'in UTC' '%s'", f->out), 1);
}

START_TEST(help_documents_the_exit_codes)
{
	struct fx f;

	fx_init(&f);
	ck_assert_int_eq(run(&f, NULL, "", "hqctl", "--help"), 0);
	ck_assert_int_eq(tl_sh("grep -q '3 could not reach the hub' '%s'", f.out), 0);
	help_documents_time(&f);
	/* --at is "as at": what records count, not only when ages are judged. */
	ck_assert_int_eq(tl_sh("grep -q -- '--at TIME  *as at TIME: records dated later do not "
		"count' '%s'", f.out), 0);
	ck_assert_int_eq(run(&f, NULL, "", "storectl", "--help"), 0);
	ck_assert_int_eq(tl_sh("grep -q '3 could not reach the agent' '%s'", f.out), 0);
	help_documents_time(&f);
	tl_env_cleanup(&f.e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { missing_socket_exits_3_at_once,
		refused_tcp_connection_exits_3_at_once, a_late_connect_counts_against_the_timeout,
		silent_peer_exits_3_after_the_timeout,
		wrong_kind_of_endpoint_is_named, permission_denied_at_once,
		endpoint_from_flag_env_then_config_file, help_documents_the_exit_codes,
		unanswered_submit_says_resubmitting_is_safe };

	return tl_run("client", tests, sizeof tests / sizeof tests[0], 30);
}
