/* hub_metrics: GET /metrics, in Prometheus's text exposition format.
 *
 * Nothing here is declared twice: the counters and gauges are a walk over
 * hub_stats.h's one declaration (name, type, help), the histograms over its
 * HUB_HISTOGRAMS, the query latencies over ss_query_spec's commands, and the
 * per-store gauges over the `stores` database, read in one read
 * transaction. Cardinality is bounded: at most metrics_max_stores stores
 * get series of their own (default 10,000, in store id order); the rest are
 * counted in storesync_hub_store_series_dropped, and the chain-wide gauges
 * count every store. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hub_http.h"
#include "hub_query.h"
#include "ss_query_spec.h"
#include "ss_time.h"
#include "ss_version.h"

#define P "storesync_hub_"

/* Counters that are one family with a reason label: what the hub refused
 * at the door, each reason a counter of its own in hub_stats.h. */
static const char *const refused_reasons[] = {
	"malformed", "oversized", "too_large_unpacked", "nul_strings", "unknown_kind", "invalid",
	"bad_version",
};

static int is_refusal(const char *name)
{
	for (size_t i = 0; i < sizeof refused_reasons / sizeof refused_reasons[0]; i++)
		if (strcmp(name, refused_reasons[i]) == 0)
			return 1;
	return 0;
}

/* last_seen_ms in LMDB is what the last write of the store holds: what its
 * heartbeats say is written at least every state_flush_ms (hub_live.c), so
 * a live idle store may look that much older; HUB_LINK_UP_MIN_MS on top
 * covers three agent heartbeats (3 s each by default). */
int64_t hub_link_up_ms(const struct hub *h)
{
	return h->cfg.state_flush_ms + HUB_LINK_UP_MIN_MS;
}

static void write_counters(struct hub *h, FILE *f)
{
	char name[128], labels[96];

	for (size_t i = 0; i < hub_n_counters; i++) {
		const struct hub_counter *c = &hub_counters[i];
		int64_t v = (int64_t)atomic_load(hub_counter_ptr(&h->stats, c));

		if (is_refusal(c->name))
			continue;
		snprintf(name, sizeof name, P "%s%s", c->name, c->type == HUB_COUNTER ? "_total" : "");
		ss_prom_family(f, name, c->type == HUB_COUNTER ? "counter" : "gauge", c->help);
		ss_prom_int(f, name, "", v);
	}
	ss_prom_family(f, P "messages_refused_total", "counter",
		"messages refused at the door, by reason (hqctl stats has each reason's meaning)");
	for (size_t i = 0; i < hub_n_counters; i++) {
		if (!is_refusal(hub_counters[i].name))
			continue;
		labels[0] = '\0';
		ss_prom_label(labels, sizeof labels, "reason", hub_counters[i].name);
		ss_prom_int(f, P "messages_refused_total", labels,
			(int64_t)atomic_load(hub_counter_ptr(&h->stats, &hub_counters[i])));
	}
}

static void write_histograms(struct hub *h, FILE *f)
{
	char name[128], labels[96];
	int headed = 0;

	for (size_t i = 0; i < hub_n_histograms; i++) {
		const struct hub_histogram *d = &hub_histograms[i];

		snprintf(name, sizeof name, P "%s", d->name);
		ss_prom_family(f, name, "histogram", d->help);
		ss_prom_histo(f, name, "", (struct ss_histo *)((char *)&h->stats + d->offset), d->spec);
	}
	/* One series per query asked at least once: the commands are many. */
	for (size_t i = 0; i < HUB_QUERY_KINDS; i++) {
		const struct ss_histo *q = &h->stats.query_seconds[i];

		if (!atomic_load(&q->count))
			continue;
		if (!headed++)
			ss_prom_family(f, P "query_seconds", "histogram",
				"time to answer an operator's read query (hqctl), by query");
		labels[0] = '\0';
		ss_prom_label(labels, sizeof labels, "query",
			i < ss_n_commands ? ss_commands[i].what : "other");
		ss_prom_histo(f, P "query_seconds", labels, q, &ss_histo_latency);
	}
}

/* What the per-store families need of one store. */
struct store_fig {
	char id[33];
	char version[32];
	uint64_t backlog, applied_update_id, records;
	int64_t oldest_unsent_age_ms, last_record_ms, last_seen_ms, last_progress_ms;
};

static int load_stores(struct hub *h, MDB_txn *txn, struct store_fig **out, size_t *n,
	size_t *total, uint64_t *biz_dups)
{
	size_t cap = 0, max = (size_t)h->cfg.metrics_max_stores;
	MDB_cursor *cur;
	MDB_val k, d;

	*out = NULL;
	*n = *total = 0;
	if (mdb_cursor_open(txn, h->stores, &cur) != 0)
		return -1;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__StoreState *s;
		struct store_fig *fig;

		++*total;
		if (*total > max) {
			if ((s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data)))
				*biz_dups += s->biz_duplicates;
			storesync__store_state__free_unpacked(s, NULL);
			continue;
		}
		if (*n == cap) {
			struct store_fig *more = realloc(*out, (cap = cap ? 2 * cap : 1024) * sizeof **out);

			if (!more)
				break;
			*out = more;
		}
		if (!(s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		fig = &(*out)[(*n)++];
		snprintf(fig->id, sizeof fig->id, "%s", s->store_id ? s->store_id : "");
		snprintf(fig->version, sizeof fig->version, "%s", s->agent_version ? s->agent_version : "");
		fig->backlog = s->backlog;
		fig->applied_update_id = s->applied_update_id;
		fig->records = s->records;
		fig->oldest_unsent_age_ms = s->oldest_unsent_age_ms;
		fig->last_record_ms = s->has_last_record_ms ? s->last_record_ms : -1;
		fig->last_seen_ms = s->has_last_seen_ms ? s->last_seen_ms : -1;
		fig->last_progress_ms = s->has_last_progress_ms ? s->last_progress_ms : -1;
		*biz_dups += s->biz_duplicates;
		storesync__store_state__free_unpacked(s, NULL);
	}
	mdb_cursor_close(cur);
	return 0;
}

static double age_s(int64_t now_ms, int64_t ms)
{
	return ms < 0 || now_ms < ms ? 0 : (double)(now_ms - ms) / 1000.0;
}

enum store_family { F_BACKLOG, F_OLDEST, F_LAST_RECORD, F_LINK_UP, F_SILENT, F_APPLIED,
	F_RECORDS, F_INFO, F_COUNT };

static const struct {
	const char *name, *type, *help;
} store_families[F_COUNT] = {
	[F_BACKLOG] = { P "store_backlog", "gauge",
		"records the store holds that the hub has not acknowledged, as it last reported" },
	[F_OLDEST] = { P "store_oldest_unsent_age_seconds", "gauge",
		"age of the store's oldest unacknowledged record, as it last reported" },
	[F_LAST_RECORD] = { P "store_last_record_age_seconds", "gauge",
		"time since a record of the store last arrived (absent: none yet)" },
	[F_LINK_UP] = { P "store_link_up", "gauge",
		"1 when the hub heard from the store within its link-up window (3 heartbeats, at least 10 s)" },
	[F_SILENT] = { P "store_silent", "gauge",
		"1 when the store made no progress for longer than the store_silence_minutes policy (hqctl stale)" },
	[F_APPLIED] = { P "store_applied_update_id", "gauge",
		"every update of the update log through this id is applied at the store" },
	[F_RECORDS] = { P "store_records_total", "counter",
		"records of the store applied by the hub, all epochs" },
	[F_INFO] = { P "store_info", "gauge",
		"the store's agent version, as an info metric (value 1)" },
};

static void store_sample(struct hub *h, MDB_txn *txn, FILE *f, enum store_family fam,
	const struct store_fig *s, int64_t now_ms, const struct hub_store_policy *silence)
{
	const char *name = store_families[fam].name;
	char labels[160] = "";

	ss_prom_label(labels, sizeof labels, "store", s->id);
	switch (fam) {
	case F_BACKLOG: ss_prom_int(f, name, labels, (int64_t)s->backlog); break;
	case F_OLDEST: ss_prom_double(f, name, labels, (double)s->oldest_unsent_age_ms / 1000.0); break;
	case F_LAST_RECORD:
		if (s->last_record_ms >= 0)
			ss_prom_double(f, name, labels, age_s(now_ms, s->last_record_ms));
		break;
	case F_LINK_UP:
		ss_prom_int(f, name, labels, s->last_seen_ms >= 0
			&& now_ms - s->last_seen_ms <= hub_link_up_ms(h));
		break;
	case F_SILENT:
		/* hqctl stale's rule (hub_stale.c), the store's region included. */
		ss_prom_int(f, name, labels, s->last_progress_ms >= 0
			&& hub_store_silent(h, txn, silence, s->id, NULL, s->last_progress_ms, NULL));
		break;
	case F_APPLIED: ss_prom_int(f, name, labels, (int64_t)s->applied_update_id); break;
	case F_RECORDS: ss_prom_int(f, name, labels, (int64_t)s->records); break;
	case F_INFO:
		ss_prom_label(labels, sizeof labels, "agent_version", s->version);
		ss_prom_int(f, name, labels, 1);
		break;
	default: break;
	}
}

static void write_stores(struct hub *h, MDB_txn *txn, FILE *f, const struct store_fig *st,
	size_t n, size_t total)
{
	int64_t now_ms = ss_now_ms(), up = 0;
	struct hub_store_policy silence;

	/* Looked up once for all stores unless a region or a store has its own. */
	hub_store_policy_init(h, txn, &silence, SS_POL_STORE_SILENCE_MINUTES, now_ms);
	for (size_t i = 0; i < n; i++)
		up += st[i].last_seen_ms >= 0 && now_ms - st[i].last_seen_ms <= hub_link_up_ms(h);
	ss_prom_family(f, P "stores", "gauge", "stores the hub has heard from");
	ss_prom_int(f, P "stores", "", (int64_t)total);
	ss_prom_family(f, P "stores_connected", "gauge",
		"stores heard from within their link-up window (of those with series)");
	ss_prom_int(f, P "stores_connected", "", up);
	ss_prom_family(f, P "store_series_dropped", "gauge",
		"stores left out of the per-store series (past metrics_max_stores)");
	ss_prom_int(f, P "store_series_dropped", "", (int64_t)(total - n));
	for (int fam = 0; fam < F_COUNT; fam++) {
		ss_prom_family(f, store_families[fam].name, store_families[fam].type,
			store_families[fam].help);
		for (size_t i = 0; i < n; i++)
			store_sample(h, txn, f, (enum store_family)fam, &st[i], now_ms, &silence);
	}
}

static void write_export(struct hub *h, FILE *f)
{
	struct hub_export_lag lag;

	if (hub_export_lag(h, &lag) != 0)
		return;
	ss_prom_family(f, P "change_head", "gauge",
		"the hub's latest change_no (its global change order, which exports follow)");
	ss_prom_int(f, P "change_head", "", (int64_t)lag.head);
	if (!lag.reported_ms)
		return;   /* no exporter has spoken to this hub */
	ss_prom_family(f, P "export_behind_changes", "gauge",
		"changes the PostgreSQL export (hq-export) has not exported, as it last reported");
	ss_prom_int(f, P "export_behind_changes", "", (int64_t)lag.behind);
	ss_prom_family(f, P "export_behind_seconds", "gauge",
		"how long the oldest change not exported has waited, by the hub's clock (0: caught up)");
	ss_prom_double(f, P "export_behind_seconds", "", (double)lag.behind_ms / 1000.0);
	ss_prom_family(f, P "export_report_age_seconds", "gauge",
		"time since hq-export last reported (it reports every few seconds)");
	ss_prom_double(f, P "export_report_age_seconds", "",
		(double)(ss_now_ms() - lag.reported_ms) / 1000.0);
}

int hub_metrics_write(struct hub *h, FILE *f)
{
	struct store_fig *st = NULL;
	size_t n = 0, total = 0;
	uint64_t biz_dups = 0;
	MDB_txn *txn;
	int rc;

	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return -1;
	/* Business duplicates are counted in each store's state (hub_query.c's
	 * stats reads them the same way). */
	if ((rc = load_stores(h, txn, &st, &n, &total, &biz_dups)) == 0)
		atomic_store(&h->stats.biz_duplicates, biz_dups);
	ss_prom_family(f, P "build_info", "gauge", "the hub's version (value 1)");
	fprintf(f, P "build_info{version=\"%s\"} 1\n", SS_VERSION);
	write_counters(h, f);
	write_histograms(h, f);
	if (rc == 0)
		write_stores(h, txn, f, st, n, total);
	ss_lmdb_read_end(&h->db, txn);
	write_export(h, f);
	free(st);
	return rc;
}
