/* agent_metrics: the agent's GET /metrics, in Prometheus's text format, off
 * unless --http names an address. The figures are the ones `storectl
 * status` shows (status_fill, read once per scrape) plus what only metrics
 * keep (submits and their latency, agent_submit.c). The listener is polled
 * by the agent's single loop (agent_main.c), so a scrape reads the agent's
 * state on the thread that owns it, between two rounds: no locks, and
 * LMDB is only read. Metrics carry no customer data. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_http.h"
#include "ss_time.h"
#include "ss_version.h"

#define P "storesync_agent_"

static const char *const link_states[] = { "connecting", "up", "down", "conflict" };

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	ss_prom_family(f, name, "counter", help);
	ss_prom_int(f, name, "", (int64_t)v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	ss_prom_family(f, name, "gauge", help);
	ss_prom_double(f, name, "", v);
}

/* A gauge that counts (records, bytes, seqs): an integer, exact past 2^53
 * where a double is not. */
static void gauge_int(FILE *f, const char *name, const char *help, uint64_t v)
{
	ss_prom_family(f, name, "gauge", help);
	ss_prom_int(f, name, "", (int64_t)v);
}

static void write_metrics(struct agent *a, FILE *f)
{
	Storesync__StatusReply st = STORESYNC__STATUS_REPLY__INIT;
	char labels[160] = "";

	status_fill(a, &st);
	ss_prom_label(labels, sizeof labels, "store", st.store_id ? st.store_id : "");
	ss_prom_label(labels, sizeof labels, "version", SS_VERSION);
	ss_prom_family(f, P "info", "gauge", "the agent's store and version (value 1)");
	ss_prom_int(f, P "info", labels, 1);
	gauge_int(f, P "backlog", "records durable here that the hub has not acknowledged",
		st.backlog);
	gauge(f, P "oldest_unsent_age_seconds",
		"age of the oldest record the hub has not acknowledged (0: none)",
		(double)st.oldest_unsent_age_ms / 1000.0);
	gauge_int(f, P "disk_budget_bytes", "the disk budget of the agent's LMDB directory",
		st.budget_bytes);
	gauge_int(f, P "disk_used_bytes", "bytes of the disk budget in use (outbox and tables)",
		st.used_bytes);
	gauge(f, P "disk_budget_used_ratio",
		"share of the disk budget in use: at 1 submits are refused (buffer full)",
		st.budget_bytes ? (double)st.used_bytes / (double)st.budget_bytes : 0);
	gauge_int(f, P "last_seq", "newest record durable here", st.last_seq);
	gauge_int(f, P "acked_seq", "every record through this seq is committed at the hub",
		st.acked_seq);
	gauge_int(f, P "retained_records", "acknowledged records kept for a restored hub",
		st.retained);
	gauge_int(f, P "applied_update_id", "every update from HQ through this id is applied",
		st.applied_update_id);
	counter(f, P "submits_total", "submit requests answered", a->metrics.submits);
	counter(f, P "submitted_records_total", "records in submit requests",
		a->metrics.submitted_records);
	counter(f, P "submit_refused_records_total",
		"records refused at submit (buffer full, invalid, a policy)", a->metrics.refused_records);
	ss_prom_family(f, P "submit_seconds", "histogram",
		"time from reading a submit request to answering it (the records durable)");
	ss_prom_histo(f, P "submit_seconds", "", &a->metrics.submit_latency, &ss_histo_latency);
	counter(f, P "batches_sent_total", "batches handed to the hub link", st.batches_sent);
	counter(f, P "resends_total", "times the agent sent again from the last ack (timeout, "
		"Resend, reconnect)", st.resends);
	counter(f, P "hub_errors_total", "errors the hub answered", st.hub_errors);
	counter(f, P "refused_requests_total", "local requests refused as malformed",
		a->refused_requests);
	gauge_int(f, P "local_clients", "connections open on the local endpoint (tills, storectl)",
		st.local_clients);
	gauge_int(f, P "max_local_clients", "connections the local endpoint admits at once",
		st.max_local_clients);
	counter(f, P "local_clients_refused_total",
		"local connections refused at once: max_local_clients were open",
		st.local_clients_refused);
	gauge_int(f, P "link_up", "1 when the link to the hub is up (welcomed, heard from)",
		strcmp(st.link_state, "up") == 0);
	ss_prom_family(f, P "link_state", "gauge", "the link's state: 1 for the state it is in");
	for (size_t i = 0; i < sizeof link_states / sizeof link_states[0]; i++) {
		char l[64] = "";

		ss_prom_label(l, sizeof l, "state", link_states[i]);
		ss_prom_int(f, P "link_state", l, strcmp(st.link_state, link_states[i]) == 0);
	}
	gauge(f, P "last_ack_age_seconds", "time since the hub last acknowledged (0: never)",
		st.last_ack_ms > 0 ? (double)(ss_now_ms() - st.last_ack_ms) / 1000.0 : 0);
}

static void serve(void *arg, const struct ss_http_request *req, struct ss_http_reply *rep)
{
	struct agent *a = arg;
	FILE *f;

	if (strcmp(req->path, "/metrics") != 0) {
		rep->status = 404;
		rep->body = strdup("not found: this agent serves /metrics\n");
		rep->len = rep->body ? strlen(rep->body) : 0;
		return;
	}
	if (!(f = open_memstream(&rep->body, &rep->len)))
		return;
	write_metrics(a, f);
	fclose(f);
	rep->type = "text/plain; version=0.0.4; charset=utf-8";
}

int agent_metrics_start(struct agent *a, char *err, size_t errlen)
{
	if (ss_http_off(a->cfg.http))
		return 0;
	a->metrics.http = ss_http_start(a->cfg.http, 0, serve, a, err, errlen);
	return a->metrics.http ? 0 : -1;
}

int agent_metrics_fd(struct agent *a)
{
	return a->metrics.http ? ss_http_fd(a->metrics.http) : -1;
}

void agent_metrics_run(struct agent *a)
{
	if (a->metrics.http)
		ss_http_run(a->metrics.http);
}

void agent_metrics_stop(struct agent *a)
{
	ss_http_stop(&a->metrics.http);
}
