/* hub_status_page: the operators' page at GET / on the hub's HTTP listener.
 *
 * One plain HTML page, rendered here from the same query code hqctl's
 * answers come from (query_stores, query_stale, query_rollout on one read
 * transaction), so the page and `hqctl stores` / `stale` / `rollout` never
 * disagree. It needs nothing outside the hub: no script or style from
 * elsewhere (stores' and HQ's networks may reach nothing outside), a little
 * inline JavaScript only to say how old the figures are, and it reloads
 * itself every refresh_s seconds. Stores that are behind (a backlog) or
 * silent come first; at most MAX_STORE_ROWS rows, the rest counted. It
 * carries no customer details (names): nothing hqctl hides from the read
 * role appears on it for any role. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_http.h"
#include "hub_query.h"
#include "ss_time.h"
#include "ss_version.h"

#define MAX_STORE_ROWS 200
#define MAX_STALE_ROWS 200
#define MAX_ROLLOUT_ROWS 10

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int col(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->reply.n_columns; i++)
		if (strcmp(t->reply.columns[i], name) == 0)
			return (int)i;
	return -1;
}

static int64_t cell_i(const Storesync__Row *r, int c)
{
	return c >= 0 && r->cells[c]->value_case == STORESYNC__CELL__VALUE_I ? r->cells[c]->i : 0;
}

static const char *cell_s(const Storesync__Row *r, int c)
{
	return c >= 0 && r->cells[c]->value_case == STORESYNC__CELL__VALUE_S && r->cells[c]->s
		? r->cells[c]->s : "";
}

/* "3d 4h", "5m 2s"; "-" for never (ms < 0). */
static void age(FILE *f, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		fputs("-", f);
	else if (s >= 86400)
		fprintf(f, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		fprintf(f, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		fprintf(f, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else
		fprintf(f, "%llds", (long long)s);
}

static void utc(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms <= 0) {
		fputs("-", f);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s UTC", buf);
}

/* Order of the stores table: silent first, then the largest backlog, then
 * the oldest unsent record, then by id. */
struct store_order {
	const Storesync__Row *row;
	int silent;
	int64_t backlog, oldest;
	const char *id;
};

static int by_trouble(const void *a, const void *b)
{
	const struct store_order *x = a, *y = b;

	if (x->silent != y->silent)
		return y->silent - x->silent;
	if (x->backlog != y->backlog)
		return y->backlog > x->backlog ? 1 : -1;
	if (x->oldest != y->oldest)
		return y->oldest > x->oldest ? 1 : -1;
	return strcmp(x->id, y->id);
}

static void stores_section(struct hub *h, const struct table *t, FILE *f, int64_t now_ms)
{
	int c_id = col(t, "store_id"), c_silent = col(t, "silent"), c_backlog = col(t, "backlog"),
		c_oldest = col(t, "oldest_unsent_age_ms"), c_seen = col(t, "last_seen_ms"),
		c_rec = col(t, "last_record_ms"), c_ver = col(t, "agent_version"),
		c_name = col(t, "name"), c_region = col(t, "region"),
		c_applied = col(t, "applied_update_id");
	size_t n = t->reply.n_rows, behind = 0, silent = 0, up = 0;
	struct store_order *o = calloc(n ? n : 1, sizeof *o);

	if (!o)
		return;
	for (size_t i = 0; i < n; i++) {
		const Storesync__Row *r = t->reply.rows[i];
		int64_t seen = cell_i(r, c_seen);

		o[i] = (struct store_order){ r, (int)cell_i(r, c_silent), cell_i(r, c_backlog),
			cell_i(r, c_oldest), cell_s(r, c_id) };
		behind += o[i].backlog > 0;
		silent += o[i].silent != 0;
		up += seen > 0 && now_ms - seen <= hub_link_up_ms(h);
	}
	qsort(o, n, sizeof *o, by_trouble);
	fprintf(f, "<h2>Stores</h2>\n<p id=\"summary\"><span id=\"n-stores\">%zu</span> stores: "
		"<span id=\"n-up\">%zu</span> up, <span id=\"n-behind\">%zu</span> behind, "
		"<span id=\"n-silent\">%zu</span> silent.</p>\n", n, up, behind, silent);
	fputs("<table id=\"stores\"><thead><tr><th>store</th><th>name</th><th>region</th>"
		"<th>link</th><th>last record</th><th>backlog</th><th>oldest unsent</th>"
		"<th>silent</th><th>version</th><th>applied update</th></tr></thead><tbody>\n", f);
	for (size_t i = 0; i < n && i < MAX_STORE_ROWS; i++) {
		const Storesync__Row *r = o[i].row;
		int64_t seen = cell_i(r, c_seen), rec = cell_i(r, c_rec);
		int is_up = seen > 0 && now_ms - seen <= hub_link_up_ms(h);

		fprintf(f, "<tr class=\"%s\" data-store=\"", o[i].silent ? "silent"
			: o[i].backlog ? "behind" : "ok");
		esc(f, o[i].id);
		fputs("\"><td>", f);
		esc(f, o[i].id);
		fputs("</td><td>", f);
		esc(f, cell_s(r, c_name));
		fputs("</td><td>", f);
		esc(f, cell_s(r, c_region));
		fprintf(f, "</td><td class=\"link-%s\">%s</td><td>", is_up ? "up" : "down",
			is_up ? "up" : "down");
		if (rec > 0) {
			age(f, now_ms - rec);
			fputs(" ago", f);
		} else {
			fputs("never", f);
		}
		fprintf(f, "</td><td class=\"num\">%lld</td><td>", (long long)o[i].backlog);
		age(f, o[i].backlog ? o[i].oldest : -1);
		fprintf(f, "</td><td>%s</td><td>", o[i].silent ? "yes" : "no");
		esc(f, cell_s(r, c_ver));
		fprintf(f, "</td><td class=\"num\">%lld</td></tr>\n", (long long)cell_i(r, c_applied));
	}
	fputs("</tbody></table>\n", f);
	if (n > MAX_STORE_ROWS)
		fprintf(f, "<p>and %zu more stores (hqctl stores lists them all).</p>\n",
			n - MAX_STORE_ROWS);
	free(o);
}

static void stale_section(const struct table *t, FILE *f)
{
	int c_kind = col(t, "kind"), c_id = col(t, "id"), c_store = col(t, "store_id"),
		c_age = col(t, "age_ms"), c_reason = col(t, "reason");
	size_t n = t->reply.n_rows;

	fprintf(f, "<h2>Stale</h2>\n<p>Stale: <span id=\"n-stale\">%zu</span> (accounts, silent "
		"stores and overdue complaints, as hqctl stale lists them).</p>\n", n);
	fputs("<table id=\"stale\"><thead><tr><th>kind</th><th>what</th><th>store</th><th>for</th>"
		"<th>reason</th></tr></thead><tbody>\n", f);
	for (size_t i = 0; i < n && i < MAX_STALE_ROWS; i++) {
		const Storesync__Row *r = t->reply.rows[i];

		fputs("<tr><td>", f);
		esc(f, cell_s(r, c_kind));
		fputs("</td><td>", f);
		esc(f, cell_s(r, c_id));
		fputs("</td><td>", f);
		esc(f, cell_s(r, c_store));
		fputs("</td><td>", f);
		age(f, cell_i(r, c_age));
		fputs("</td><td>", f);
		esc(f, cell_s(r, c_reason));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	if (n > MAX_STALE_ROWS)
		fprintf(f, "<p>and %zu more (hqctl stale).</p>\n", n - MAX_STALE_ROWS);
}

static void rollout_section(const struct table *t, FILE *f, int64_t now_ms)
{
	int c_id = col(t, "update_id"), c_kind = col(t, "kind"), c_eff = col(t, "effective_ms"),
		c_target = col(t, "target"), c_targeted = col(t, "targeted"),
		c_applied = col(t, "applied"), c_pending = col(t, "pending"),
		c_oldest = col(t, "oldest_pending_store");
	size_t n = t->reply.n_rows, first = n > MAX_ROLLOUT_ROWS ? n - MAX_ROLLOUT_ROWS : 0;

	(void)now_ms;
	fputs("<h2>Rollout of the latest updates</h2>\n<table id=\"rollout\"><thead><tr>"
		"<th>update</th><th>kind</th><th>effective</th><th>target</th><th>targeted</th>"
		"<th>applied</th><th>pending</th><th>oldest pending store</th></tr></thead><tbody>\n", f);
	for (size_t i = n; i-- > first;) {
		const Storesync__Row *r = t->reply.rows[i];

		fprintf(f, "<tr><td class=\"num\">%lld</td><td>", (long long)cell_i(r, c_id));
		esc(f, cell_s(r, c_kind));
		fputs("</td><td>", f);
		utc(f, cell_i(r, c_eff));
		fputs("</td><td>", f);
		esc(f, cell_s(r, c_target));
		fprintf(f, "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
			"<td class=\"num\">%lld</td><td>", (long long)cell_i(r, c_targeted),
			(long long)cell_i(r, c_applied), (long long)cell_i(r, c_pending));
		esc(f, cell_s(r, c_oldest));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	if (!n)
		fputs("<p>No updates issued yet.</p>\n", f);
}

static const char style[] =
	"body{font-family:sans-serif;margin:1em 2em;color:#222}"
	"table{border-collapse:collapse;margin-bottom:1em}"
	"th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}"
	"th{background:#eee}td.num{text-align:right}"
	"tr.silent td{background:#fdd}tr.behind td{background:#ffd}"
	".link-down{color:#b00;font-weight:bold}.link-up{color:#070}"
	"#age{color:#666}";

/* Says how old the page is, every second; the reload itself is the meta
 * refresh, which works without script. */
static const char script[] =
	"(function(){var t0=Date.now(),el=document.getElementById('age');"
	"function tick(){el.textContent='figures '+Math.round((Date.now()-t0)/1000)+' s old';}"
	"tick();setInterval(tick,1000);document.documentElement.setAttribute('data-ready','1');})();";

static void head(FILE *f, int refresh_s, int64_t now_ms)
{
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta http-equiv=\"refresh\" content=\"%d\"><title>storesync hub</title>"
		"<style>%s</style></head><body>\n<h1>storesync hub</h1>\n<p>hq-hub %s, as of ",
		refresh_s, style, SS_VERSION);
	utc(f, now_ms);
	fprintf(f, " (<span id=\"age\">reloads every %d s</span>).</p>\n", refresh_s);
}

int hub_status_page_write(struct hub *h, FILE *f, int refresh_s)
{
	int64_t now_ms = ss_now_ms();
	struct query_args a = { .from_day = INT32_MIN, .to_day = INT32_MAX, .below = INT64_MAX,
		.at_ms = now_ms, .as_of_ms = INT64_MAX };
	struct table stores, stale, rollout;
	MDB_txn *txn;

	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return -1;
	table_clear(&stores);
	table_clear(&stale);
	table_clear(&rollout);
	query_stores(h, txn, &a, &stores);
	query_stale(h, txn, &a, &stale);
	query_rollout(h, txn, &a, &rollout);
	ss_lmdb_read_end(&h->db, txn);
	head(f, refresh_s, now_ms);
	stores_section(h, &stores, f, now_ms);
	stale_section(&stale, f);
	rollout_section(&rollout, f, now_ms);
	fprintf(f, "<script>%s</script>\n</body></html>\n", script);
	table_free(&stores);
	table_free(&stale);
	table_free(&rollout);
	return 0;
}
