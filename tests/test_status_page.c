/* The status page (issue 12, part 2) in a real browser: a hub with data
 * (a store behind with a backlog, a store up to date, an overdue
 * complaint, a price push), the page loaded in headless Chromium (Debian's
 * chromium), its content checked through the DOM Chromium dumps after the
 * page's script ran, a screenshot taken into the test's directory, and no
 * JavaScript error on the browser's console. Also: the page carries no
 * customer name, reloads itself, and needs nothing from elsewhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "ss_time.h"

#define CHROMIUM "/usr/bin/chromium"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int64_t price(size_t i)
{
	return 1000 + (int64_t)i;
}

START_TEST(status_page_in_headless_chromium)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	struct tl_env e;
	struct tl_link l;
	char http[64], local[320], data[320], case_no[64], *dom, *log, *body;
	const char *p1, *p2;
	size_t len;
	pid_t hub, agent;
	int64_t t = ss_now_ms() - 3 * SS_DAY_MS;

	if (!tl_need("test -x " CHROMIUM, "status_page",
		"chromium is not installed (deploy/install-deps.sh)"))
		return;
	tl_env_init(&e);
	snprintf(http, sizeof http, "127.0.0.1:%d", tl_free_port());
	hub = tl_start_hub(&e, "--http", http, NULL);
	agent = tl_start_agent(&e, "P1", NULL);
	tl_agent_paths(&e, "P1", local, sizeof local, data, sizeof data);
	tl_submit_jsonf(local, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":\"%s\","
		"\"customer\":\"CUST-SECRET\",\"channel\":\"phone\",\"category\":\"delivery\","
		"\"severity\":\"high\"}", (long long)t, tl_case_no(case_no, sizeof case_no, "P1", 1, t, 0));
	ck_assert_int_eq(tl_submit_sales(local, 3, 990, "R", 1, NULL, 10000), 3);
	ck_assert_int_eq(tl_wait_records(e.hub_query, "P1", 4, 20000), 4);
	/* Store P2: connected, 7 records behind. */
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "P2", 22);
	hb.backlog = 7;
	hb.has_backlog = 1;
	hb.oldest_unsent_age_ms = 95000;
	hb.has_oldest_unsent_age_ms = 1;
	hb.agent_version = "0.0.9";
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	tl_link_send(&l, &m);
	storesync__link_message__free_unpacked(
		tl_link_expect(&l, STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT, 5000), NULL);
	tl_query_free(tl_price_push(e.hub_query, "SKU", 3, price, NULL));

	/* The page over plain HTTP first: served whole, self-contained. */
	ck_assert_int_eq(tl_http_get(http, "/", NULL, &body, &len), 200);
	ck_assert_ptr_nonnull(strstr(body, "http-equiv=\"refresh\""));
	ck_assert_ptr_null(strstr(body, "src=\"http"));
	ck_assert_ptr_null(strstr(body, "href=\"http"));
	ck_assert_ptr_null(strstr(body, "CUST-SECRET"));
	free(body);

	ck_assert_int_eq(tl_sh("cd '%s' && HOME='%s' timeout 60 " CHROMIUM " --headless --no-sandbox "
		"--disable-gpu --user-data-dir='%s/chrome' --enable-logging=stderr --v=0 "
		"--virtual-time-budget=3000 --dump-dom http://%s/ >'%s/dom.html' 2>'%s/chromium.log'",
		e.dir, e.dir, e.dir, http, e.dir, e.dir), 0);
	ck_assert_int_eq(tl_sh("cd '%s' && HOME='%s' timeout 60 " CHROMIUM " --headless --no-sandbox "
		"--disable-gpu --user-data-dir='%s/chrome' --hide-scrollbars --window-size=1280,900 "
		"--screenshot='%s/status-page.png' http://%s/ >/dev/null 2>>'%s/chromium.log'",
		e.dir, e.dir, e.dir, e.dir, http, e.dir), 0);
	dom = slurp(strcat(strcpy(data, e.dir), "/dom.html"));
	log = slurp(strcat(strcpy(data, e.dir), "/chromium.log"));
	/* The script ran to its end, and said nothing went wrong. */
	ck_assert_msg(strstr(dom, "data-ready=\"1\""), "the page's script did not run: %.500s", dom);
	ck_assert_msg(!strstr(log, "Uncaught") && !strstr(log, ":ERROR:CONSOLE"),
		"JavaScript error: %.1000s", log);
	ck_assert_ptr_nonnull(strstr(dom, "s old</span>"));
	/* Stores: P2 (behind) before P1 (up to date), with link, backlog, version. */
	ck_assert_ptr_nonnull(strstr(dom, "<span id=\"n-stores\">2</span>"));
	ck_assert_ptr_nonnull(strstr(dom, "<span id=\"n-behind\">1</span>"));
	p2 = strstr(dom, "data-store=\"P2\"");
	p1 = strstr(dom, "data-store=\"P1\"");
	ck_assert_ptr_nonnull(p1);
	ck_assert_ptr_nonnull(p2);
	ck_assert_msg(p2 < p1, "P2 (behind) is not listed before P1");
	ck_assert_ptr_nonnull(strstr(p2, "<td class=\"num\">7</td>"));
	ck_assert_ptr_nonnull(strstr(p2, "1m 35s"));
	ck_assert_ptr_nonnull(strstr(p2, "0.0.9"));
	ck_assert_ptr_nonnull(strstr(p2, "class=\"link-up\""));
	ck_assert_ptr_nonnull(strstr(p1, "s ago</td>"));
	/* The stale list has the overdue complaint, with its reason. */
	ck_assert_msg(strstr(strstr(dom, "<table id=\"stale\">"), case_no),
		"no %s in the stale list", case_no);
	/* Rollout: the price list pushed. */
	ck_assert_ptr_nonnull(strstr(strstr(dom, "<table id=\"rollout\">"), "<td>price</td>"));
	ck_assert_ptr_null(strstr(dom, "CUST-SECRET"));
	ck_assert_int_eq(tl_sh("head -c 8 '%s/status-page.png' | od -An -tx1 | grep -q '89 50 4e 47'",
		e.dir), 0);
	if (getenv("SS_STATUS_SCREENSHOT"))
		tl_sh("cp '%s/status-page.png' '%s'", e.dir, getenv("SS_STATUS_SCREENSHOT"));
	free(dom);
	free(log);
	tl_link_close(&l);
	tl_stop(agent);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { status_page_in_headless_chromium };

	return tl_run("status_page", tests, sizeof tests / sizeof tests[0], 120);
}
