/* Metrics (issue 12, part 1): the hub's and the agent's GET /metrics, in
 * Prometheus's text format, against real daemons.
 *  - every counter `hqctl stats` lists is in the hub's scrape (the scrape
 *    walks the one declaration), every family has # HELP and # TYPE before
 *    its samples, and the figures are the business's: records applied,
 *    the store's backlog and agent version, commits timed, queries timed;
 *  - the agent's scrape counts the submits and shows its link and budget;
 *  - values keep every digit: counts, bytes and seqs past 10^6 (%.6g made
 *    a 1 MiB budget 1.04858e+06), histogram sums and fractional seconds;
 *  - promtool (Debian's prometheus) accepts both, when installed;
 *  - the per-store series stop at --metrics-max-stores, the rest counted;
 *  - store_silent judges a store as hqctl stale does, by its region's
 *    store_silence_minutes;
 *  - an address other hosts can reach needs operators' tokens, and then
 *    only an active operator's token gets in;
 *  - docs/monitoring.md's alert rules pass `promtool check rules` and name
 *    only metrics the daemons serve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testlib.h"
#include "ss_prom.h"
#include "ss_time.h"

static char *scrape(const char *addr, const char *header)
{
	char *body;
	size_t len;
	int status = tl_http_get(addr, "/metrics", header, &body, &len);

	ck_assert_msg(status == 200, "GET http://%s/metrics: status %d", addr, status);
	ck_assert_uint_eq(strlen(body), len);
	return body;
}

/* The value of the sample that starts with `series ` (name and labels). */
static double sample(const char *body, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	ck_abort_msg("no sample %s in the scrape", series);
	return -1;
}

/* The scrape holds this very line (a sample and its value as written);
 * when not, the message shows the sample's line as it is. */
static void has_line(const char *body, const char *line)
{
	char want[256], got[256] = "(none)";
	size_t n = strcspn(line, " ");
	const char *p;

	snprintf(want, sizeof want, "\n%s\n", line);
	if (strstr(body, want))
		return;
	snprintf(want, sizeof want, "\n%.*s ", (int)n, line);
	if ((p = strstr(body, want)))
		snprintf(got, sizeof got, "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
	ck_abort_msg("no line \"%s\" in the scrape, but \"%s\"", line, got);
}

/* Every sample's family was declared (# HELP and # TYPE) before it. */
static void check_declared(const char *body)
{
	char typed[512][128];
	size_t n = 0;
	const char *p = body;

	while (*p) {
		const char *eol = strchr(p, '\n');
		char name[128];
		size_t len;

		ck_assert_ptr_nonnull(eol);
		if (strncmp(p, "# TYPE ", 7) == 0) {
			ck_assert_uint_lt(n, 512);
			ck_assert_int_eq(sscanf(p + 7, "%127s", typed[n]), 1);
			n++;
		} else if (*p != '#') {
			len = strcspn(p, "{ ");
			snprintf(name, sizeof name, "%.*s", (int)len, p);
			int found = 0;

			for (size_t i = 0; i < n && !found; i++) {
				size_t tl = strlen(typed[i]);

				found = strcmp(name, typed[i]) == 0 || (strncmp(name, typed[i], tl) == 0
					&& (!strcmp(name + tl, "_bucket") || !strcmp(name + tl, "_sum")
						|| !strcmp(name + tl, "_count")));
			}
			ck_assert_msg(found, "sample %s has no # TYPE before it", name);
		}
		p = eol + 1;
	}
	ck_assert_uint_gt(n, 20);
}

/* docs/monitoring.md's alert rules: the yaml block after "## Alert rules". */
static char *alert_rules(void)
{
	FILE *f = fopen(SS_SOURCE_DIR "/docs/monitoring.md", "r");
	char line[1024], *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);
	int in_section = 0, in_block = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "## ", 3) == 0)
			in_section = strcmp(line, "## Alert rules\n") == 0;
		else if (in_section && strcmp(line, "```yaml\n") == 0)
			in_block = 1;
		else if (in_block && strcmp(line, "```\n") == 0)
			in_block = in_section = 0;
		else if (in_block)
			fputs(line, o);
	}
	fclose(f);
	fclose(o);
	ck_assert_msg(len > 100, "no alert rules in docs/monitoring.md");
	return out;
}

/* Every storesync_* metric the rules name is in one of the scrapes. */
static void rules_name_served_metrics(const char *rules, const char *hub, const char *agent)
{
	for (const char *p = strstr(rules, "storesync_"); p; p = strstr(p + 1, "storesync_")) {
		char name[128], probe[140];
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

		snprintf(name, sizeof name, "%.*s", (int)n, p);
		if (n > 7 && strcmp(name + n - 7, "_bucket") == 0)
			name[n - 7] = '\0';
		snprintf(probe, sizeof probe, "# TYPE %s ", name);
		ck_assert_msg(strstr(hub, probe) || strstr(agent, probe),
			"the alert rules name %s, which neither daemon serves", name);
	}
}

static void promtool_accepts(const struct tl_env *e, const char *body, const char *name)
{
	char path[400];
	FILE *f;

	if (!tl_need("command -v promtool >/dev/null", "promtool check metrics",
		"promtool not installed (Debian's prometheus package)"))
		return;
	snprintf(path, sizeof path, "%s/%s.prom", e->dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(body, f);
	fclose(f);
	ck_assert_msg(tl_sh("promtool check metrics < '%s' >'%s.lint' 2>&1", path, path) == 0,
		"promtool check metrics refused %s (see %s.lint)", path, path);
}

START_TEST(values_keep_every_digit)
{
	struct ss_histo sizes = { 0 }, lat = { 0 };
	char *body = NULL;
	size_t len;
	FILE *f = open_memstream(&body, &len);

	ck_assert_ptr_nonnull(f);
	fputc('\n', f);
	ss_prom_double(f, "budget", "", 1048576);
	ss_prom_double(f, "seq", "", 9007199254740992.0);
	ss_prom_double(f, "neg", "", -1234567);
	ss_prom_double(f, "age", "", 1234567.891);
	ss_prom_double(f, "ratio", "", 0.1);
	ss_prom_double(f, "third", "", 1.0 / 3);
	ss_prom_double(f, "none", "", 0.0 / 0.0);
	ss_prom_int(f, "big", "", INT64_MAX);
	/* 1,500,000 records in three batches; latencies of 100 µs each. */
	for (int i = 0; i < 3; i++)
		ss_histo_observe(&sizes, &ss_histo_size, 500000);
	ss_histo_observe(&lat, &ss_histo_latency, 100);
	ss_histo_observe(&lat, &ss_histo_latency, 1234567);
	ss_prom_histo(f, "size", "", &sizes, &ss_histo_size);
	ss_prom_histo(f, "lat", "", &lat, &ss_histo_latency);
	fclose(f);
	has_line(body, "budget 1048576");
	has_line(body, "seq 9007199254740992");
	has_line(body, "neg -1234567");
	has_line(body, "age 1234567.891");
	has_line(body, "ratio 0.1");
	ck_assert_double_eq(sample(body, "third"), 1.0 / 3);
	has_line(body, "none NaN");
	has_line(body, "big 9223372036854775807");
	has_line(body, "size_sum 1500000");
	has_line(body, "size_bucket{le=\"100000\"} 0");
	has_line(body, "size_bucket{le=\"+Inf\"} 3");
	has_line(body, "lat_bucket{le=\"0.0001\"} 1");
	has_line(body, "lat_bucket{le=\"10\"} 2");
	has_line(body, "lat_sum 1.234667");
	free(body);
}
END_TEST

START_TEST(hub_and_agent_scrapes_count_the_business)
{
	struct tl_env e;
	char hub_http[64], agent_http[64], local[320], data[320], series[128];
	pid_t hub, agent;
	char *body, *hub_body, *rules;
	Storesync__QueryReply *stats;

	tl_env_init(&e);
	snprintf(hub_http, sizeof hub_http, "127.0.0.1:%d", tl_free_port());
	snprintf(agent_http, sizeof agent_http, "127.0.0.1:%d", tl_free_port());
	hub = tl_start_hub(&e, "--http", hub_http, NULL);
	/* A budget past 10^6 whose every digit counts. */
	agent = tl_start_agent(&e, "M1", "--http", agent_http, "--budget", "1234567891", NULL);
	tl_agent_paths(&e, "M1", local, sizeof local, data, sizeof data);
	ck_assert_int_eq(tl_submit_sales(local, 40, 250, "R", 1, NULL, 10000), 40);
	ck_assert_int_eq(tl_submit_sales(local, 10, 250, "R", 41, NULL, 10000), 10);
	ck_assert_int_ge(tl_wait_drained(local, 20000), 50);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "M1", 50, 20000), 50);
	/* The backlog is the agent's word: a heartbeat after its last ack. */
	ck_assert_int_eq(tl_wait_hub_backlog_zero(e.hub_query, "M1", 10000), 0);
	tl_query_free(tl_query_ok(e.hub_query, "stores", NULL));

	body = scrape(hub_http, NULL);
	check_declared(body);
	ck_assert_double_eq(sample(body, "storesync_hub_records_applied_total"), 50);
	ck_assert_double_eq(sample(body, "storesync_hub_store_records_total{store=\"M1\"}"), 50);
	ck_assert_double_eq(sample(body, "storesync_hub_store_backlog{store=\"M1\"}"), 0);
	ck_assert_double_eq(sample(body, "storesync_hub_store_link_up{store=\"M1\"}"), 1);
	ck_assert_double_eq(sample(body, "storesync_hub_store_silent{store=\"M1\"}"), 0);
	snprintf(series, sizeof series, "storesync_hub_store_info{store=\"M1\",agent_version=\"%s\"}",
		SS_VERSION);
	ck_assert_double_eq(sample(body, series), 1);
	/* Its records came a moment ago: an age in seconds, not in ms or since 1970. */
	ck_assert_double_ge(sample(body, "storesync_hub_store_last_record_age_seconds{store=\"M1\"}"), 0);
	ck_assert_double_lt(sample(body, "storesync_hub_store_last_record_age_seconds{store=\"M1\"}"),
		60);
	ck_assert_double_ge(sample(body, "storesync_hub_commit_seconds_count"), 2);
	ck_assert_double_eq(sample(body, "storesync_hub_commit_seconds_bucket{le=\"+Inf\"}"),
		sample(body, "storesync_hub_commit_seconds_count"));
	ck_assert_double_ge(sample(body, "storesync_hub_batch_records_count"), 1);
	ck_assert_double_eq(sample(body, "storesync_hub_batch_records_sum"), 50);
	ck_assert_double_ge(sample(body, "storesync_hub_query_seconds_count{query=\"stores\"}"), 1);
	ck_assert_double_eq(sample(body, "storesync_hub_stores"), 1);
	ck_assert_double_eq(sample(body, "storesync_hub_stores_connected"), 1);
	ck_assert_double_eq(sample(body, "storesync_hub_messages_refused_total{reason=\"malformed\"}"),
		0);
	/* Every counter of the one declaration, as hqctl stats lists them. */
	stats = tl_query_ok(e.hub_query, "stats", NULL);
	for (size_t i = 0; i < stats->n_rows; i++) {
		const char *c = tl_cell_str(stats, (int)i, "counter");
		char a[128], b[128], r[128];

		snprintf(a, sizeof a, "\nstoresync_hub_%s_total ", c);
		snprintf(b, sizeof b, "\nstoresync_hub_%s ", c);
		snprintf(r, sizeof r, "{reason=\"%s\"} ", c);
		ck_assert_msg(strstr(body, a) || strstr(body, b) || strstr(body, r),
			"counter %s is not in the scrape", c);
	}
	tl_query_free(stats);
	promtool_accepts(&e, body, "hub");
	hub_body = body;

	body = scrape(agent_http, NULL);
	check_declared(body);
	ck_assert_double_eq(sample(body, "storesync_agent_submits_total"), 2);
	ck_assert_double_eq(sample(body, "storesync_agent_submitted_records_total"), 50);
	ck_assert_double_eq(sample(body, "storesync_agent_submit_seconds_count"), 2);
	ck_assert_double_eq(sample(body, "storesync_agent_backlog"), 0);
	ck_assert_double_eq(sample(body, "storesync_agent_last_seq"), 50);
	ck_assert_double_eq(sample(body, "storesync_agent_link_up"), 1);
	ck_assert_double_eq(sample(body, "storesync_agent_link_state{state=\"up\"}"), 1);
	ck_assert_double_eq(sample(body, "storesync_agent_link_state{state=\"down\"}"), 0);
	ck_assert_double_gt(sample(body, "storesync_agent_disk_used_bytes"), 0);
	ck_assert_double_lt(sample(body, "storesync_agent_disk_budget_used_ratio"), 0.8);
	ck_assert_double_eq(sample(body, "storesync_agent_resends_total"), 0);
	has_line(body, "storesync_agent_disk_budget_bytes 1234567891");
	has_line(body, "storesync_agent_last_seq 50");
	promtool_accepts(&e, body, "agent");
	/* The hub's export gauges appear once an exporter has reported. */
	tl_query_free(tl_query_ok(e.hub_query, "export report", "position", "0", "events", "0",
		"note", "ok", NULL));
	free(hub_body);
	hub_body = scrape(hub_http, NULL);
	ck_assert_double_eq(sample(hub_body, "storesync_hub_export_behind_changes"), 50);
	rules = alert_rules();
	rules_name_served_metrics(rules, hub_body, body);
	free(rules);
	free(hub_body);
	free(body);

	/* The hub goes away: the agent's scrape says so, and its backlog grows. */
	tl_stop(hub);
	ck_assert_int_eq(tl_submit_sales(local, 5, 250, "R", 51, NULL, 10000), 5);
	body = scrape(agent_http, NULL);
	ck_assert_double_eq(sample(body, "storesync_agent_backlog"), 5);
	free(body);
	tl_stop(agent);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(per_store_series_are_bounded)
{
	struct tl_env e;
	struct tl_link l;
	char http[64];
	char *body;
	pid_t hub;

	tl_env_init(&e);
	snprintf(http, sizeof http, "127.0.0.1:%d", tl_free_port());
	hub = tl_start_hub(&e, "--http", http, "--metrics-max-stores", "2", NULL);
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "B1", 11);
	tl_link_close(&l);
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "B2", 12);
	tl_link_close(&l);
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "B3", 13);
	tl_link_close(&l);
	body = scrape(http, NULL);
	ck_assert_double_eq(sample(body, "storesync_hub_stores"), 3);
	ck_assert_double_eq(sample(body, "storesync_hub_store_series_dropped"), 1);
	ck_assert_ptr_nonnull(strstr(body, "storesync_hub_store_backlog{store=\"B2\"}"));
	ck_assert_ptr_null(strstr(body, "{store=\"B3\"}"));
	free(body);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(reachable_address_needs_an_active_operators_token)
{
	static const char token[] = "0123456789abcdef0123456789abcdef";
	struct tl_env e;
	char http[64], wide[64], tokens[400], header[128], *body;
	size_t len;
	pid_t hub;
	FILE *f;

	tl_env_init(&e);
	snprintf(http, sizeof http, "127.0.0.1:%d", tl_free_port());
	snprintf(wide, sizeof wide, "0.0.0.0:%d", tl_free_port());
	/* Without tokens a reachable address is refused at start, with why. */
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --foreground --data-dir '%s/h0' --listen "
		"ipc://%s/h0.sock --query ipc://%s/h0q.sock --curve-key '%s/keys/hub.key' --admin '' "
		"--http %s 2>'%s/h0.log'", SS_BIN_DIR, e.dir, e.dir, e.dir, e.dir, wide, e.dir), 1);
	ck_assert_int_eq(tl_sh("grep -q 'can be reached from other hosts' '%s/h0.log'", e.dir), 0);
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --http 127.0.0.1 2>'%s/bad.log'", SS_BIN_DIR, e.dir),
		2);
	ck_assert_int_eq(tl_sh("grep -q 'is not IPV4:PORT' '%s/bad.log'", e.dir), 0);
	snprintf(tokens, sizeof tokens, "%s/tokens", e.dir);
	ck_assert_ptr_nonnull(f = fopen(tokens, "w"));
	fprintf(f, "# operators who may look\nviewer %s\n", token);
	fclose(f);
	chmod(tokens, 0644);
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --foreground --data-dir '%s/h1' --listen "
		"ipc://%s/h1.sock --query ipc://%s/h1q.sock --curve-key '%s/keys/hub.key' --admin '' "
		"--http %s --http-auth '%s' 2>'%s/h1.log'", SS_BIN_DIR, e.dir, e.dir, e.dir, e.dir, http,
		tokens, e.dir), 1);
	ck_assert_int_eq(tl_sh("grep -q 'may be read by others' '%s/h1.log'", e.dir), 0);
	chmod(tokens, 0600);

	hub = tl_start_hub(&e, "--http", http, "--http-auth", tokens, NULL);
	ck_assert_int_eq(tl_http_get(http, "/metrics", NULL, &body, &len), 401);
	free(body);
	snprintf(header, sizeof header, "Authorization: Bearer %s", token);
	/* A token whose operator is not (yet) an operator of this hub. */
	ck_assert_int_eq(tl_http_get(http, "/metrics", header, &body, &len), 403);
	free(body);
	ck_assert_int_eq(tl_sh("'%s/hqctl' keygen '%s/viewer.key' >/dev/null", SS_BIN_DIR, e.dir), 0);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' operator add viewer --key '%s/viewer.key.pub' "
		"--role read >/dev/null", SS_BIN_DIR, e.hub_query, e.dir), 0);
	free(scrape(http, header));
	ck_assert_int_eq(tl_http_get(http, "/metrics", "Authorization: Bearer wrong-token-0123456",
		&body, &len), 401);
	free(body);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' operator revoke viewer >/dev/null",
		SS_BIN_DIR, e.hub_query), 0);
	ck_assert_int_eq(tl_http_get(http, "/", header, &body, &len), 403);
	free(body);
	ck_assert_int_eq(tl_http_get(http, "/nothing", NULL, &body, &len), 401);
	free(body);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(alert_rules_pass_promtool)
{
	struct tl_env e;
	char path[400];
	char *rules = alert_rules();
	FILE *f;

	if (!tl_need("command -v promtool >/dev/null", "promtool check rules (docs/monitoring.md)",
		"promtool not installed (Debian's prometheus package)")) {
		free(rules);
		return;
	}
	tl_env_init(&e);
	snprintf(path, sizeof path, "%s/rules.yml", e.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(rules, f);
	fclose(f);
	ck_assert_msg(tl_sh("promtool check rules '%s' >'%s.out' 2>&1", path, path) == 0,
		"promtool check rules refused docs/monitoring.md's rules (see %s.out)", path);
	ck_assert_int_eq(tl_sh("grep -q 'SUCCESS: 6 rules found' '%s.out'", path), 0);
	free(rules);
	tl_env_cleanup(&e);
}
END_TEST

static void store_add(const struct tl_env *e, const char *store, const char *region)
{
	Storesync__QueryReply *r = tl_query(e->hub_query, "store add", "store", store, "region",
		region, NULL);

	ck_assert_str_eq(tl_answer(r, "result"), "added");
	tl_query_free(r);
}

/* store_silent is hqctl stale's judgement: with store_silence_minutes set
 * to 5 for region north only, two stores last heard from 10 minutes ago
 * are one silent (north, 5) and one not (east, the default 30), in the
 * scrape as in `stale`. */
START_TEST(store_silent_follows_a_region_silence_policy)
{
	struct tl_env e;
	struct tl_link l;
	Storesync__QueryReply *r;
	char http[64], *body;
	pid_t hub;

	tl_env_init(&e);
	snprintf(http, sizeof http, "127.0.0.1:%d", tl_free_port());
	/* The hub first runs 10 minutes back: its stores are heard from then. */
	hub = tl_start_hub(&e, "--http", http, "--clock-offset-ms", "-600000", NULL);
	store_add(&e, "N1", "north");
	store_add(&e, "E1", "east");
	tl_query_free(tl_query_ok(e.hub_query, "policy set", "set", "store_silence_minutes=5",
		"region", "north", NULL));
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "N1", 21);
	tl_link_close(&l);
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "E1", 22);
	tl_link_close(&l);
	tl_stop(hub);
	hub = tl_start_hub(&e, "--http", http, NULL);
	r = tl_query_ok(e.hub_query, "stale", NULL);
	ck_assert_int_eq(tl_row_count(r, "kind", "store", "id", "N1", NULL), 1);
	ck_assert_int_eq(tl_row_count(r, "kind", "store", "id", "E1", NULL), 0);
	ck_assert_int_eq(tl_store_field(e.hub_query, "N1", "silent"), 1);   /* hqctl stores */
	ck_assert_int_eq(tl_store_field(e.hub_query, "E1", "silent"), 0);
	tl_query_free(r);
	body = scrape(http, NULL);
	ck_assert_double_eq(sample(body, "storesync_hub_store_silent{store=\"N1\"}"), 1);
	ck_assert_double_eq(sample(body, "storesync_hub_store_silent{store=\"E1\"}"), 0);
	free(body);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { values_keep_every_digit,
		hub_and_agent_scrapes_count_the_business,
		alert_rules_pass_promtool,
		per_store_series_are_bounded, reachable_address_needs_an_active_operators_token,
		store_silent_follows_a_region_silence_policy };

	return tl_run("metrics", tests, sizeof tests / sizeof tests[0], 60);
}
