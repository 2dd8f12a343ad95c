/* hub_query_export: where the PostgreSQL export stands, for `hqctl export
 * status`, /metrics and the status page.
 *
 * The export's position is kept in PostgreSQL, in the same transaction as
 * the rows it exported (hq-export); the hub never writes it and never
 * waits for it. hq-export tells the hub after every transaction, and every
 * few seconds when idle, with an "export report" (position, events, a
 * state line); the hub keeps the last one in memory, and compares it with
 * the head of its change order (hub_order.c): how many changes and how
 * much time the export is behind, and how long ago it last spoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "ss_time.h"

/* The change_no and hub time of the entry the cursor is on after rc; 0 and
 * 0 when none. */
static void entry_of(int rc, const MDB_val *k, const MDB_val *d, uint64_t *no, int64_t *ms)
{
	*no = 0;
	*ms = 0;
	if (rc == 0 && k->mv_size == 8 && d->mv_size >= 8) {
		*no = ss_be64_get(k->mv_data);
		*ms = (int64_t)ss_be64_get(d->mv_data);
	}
}

/* The change_no and hub time of the last entry at or before `at`
 * (UINT64_MAX: the head); 0 and 0 when none. */
static void order_entry(struct hub *h, MDB_txn *txn, uint64_t at, uint64_t *no, int64_t *ms)
{
	uint8_t key[8];
	MDB_val k = { sizeof key, key }, d;
	MDB_cursor *cur;
	int rc;

	*no = 0;
	*ms = 0;
	if (mdb_cursor_open(txn, h->event_order, &cur) != 0)
		return;
	if (at == UINT64_MAX) {
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	} else {
		ss_be64_put(key, at);
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		if (rc == 0 && ss_be64_get(k.mv_data) != at)
			rc = mdb_cursor_get(cur, &k, &d, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	}
	entry_of(rc, &k, &d, no, ms);
	mdb_cursor_close(cur);
}

/* The hub time of the first change after position: how long the oldest
 * change not exported has waited is the export's delay; -1 when none. */
static int64_t first_unexported_ms(struct hub *h, MDB_txn *txn, uint64_t position)
{
	uint8_t key[8];
	MDB_val k = { sizeof key, key }, d;
	MDB_cursor *cur;
	uint64_t no;
	int64_t ms;

	if (position == UINT64_MAX || mdb_cursor_open(txn, h->event_order, &cur) != 0)
		return -1;
	ss_be64_put(key, position + 1);
	entry_of(mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE), &k, &d, &no, &ms);
	mdb_cursor_close(cur);
	return no ? ms : -1;
}

int hub_export_lag(struct hub *h, struct hub_export_lag *lag)
{
	struct hub_export_seen *s = &h->export_seen;
	MDB_txn *txn;
	int64_t waiting_ms, now_ms = ss_now_ms();

	memset(lag, 0, sizeof *lag);
	pthread_mutex_lock(&s->lock);
	lag->position = s->position;
	lag->events = s->events;
	lag->reported_ms = s->reported_ms;
	snprintf(lag->state, sizeof lag->state, "%s", s->reported_ms ? s->state : "never reported");
	pthread_mutex_unlock(&s->lock);
	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return -1;
	order_entry(h, txn, UINT64_MAX, &lag->head, &lag->head_ms);
	waiting_ms = first_unexported_ms(h, txn, lag->position);
	ss_lmdb_read_end(&h->db, txn);
	lag->behind = lag->head > lag->position ? lag->head - lag->position : 0;
	/* Behind in time, by the hub's clock: how long the oldest change not
	 * exported has waited (0 caught up); unknown (-1) until a report says
	 * where the export stands. An idle hub's one new change is as late as
	 * it is old, not as the gap since the change before it. */
	if (!lag->reported_ms)
		lag->behind_ms = -1;
	else
		lag->behind_ms = waiting_ms < 0 ? 0 : now_ms > waiting_ms ? now_ms - waiting_ms : 0;
	return 0;
}

static void status(struct hub *h, struct table *t)
{
	static const char *const cols[] = { "head", "head_ms", "position", "behind", "behind_ms",
		"events", "reported_ms", "report_age_ms", "state" };
	struct hub_export_lag lag;
	Storesync__Row *row;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (hub_export_lag(h, &lag) != 0)
		return table_fail(t, "hub storage unavailable");
	if (!(row = table_row(t)))
		return;
	cell_int(row, (int64_t)lag.head);
	cell_int(row, lag.head_ms);
	cell_int(row, (int64_t)lag.position);
	cell_int(row, (int64_t)lag.behind);
	cell_int(row, lag.behind_ms);
	cell_int(row, (int64_t)lag.events);
	cell_int(row, lag.reported_ms ? lag.reported_ms : -1);
	cell_int(row, lag.reported_ms ? ss_now_ms() - lag.reported_ms : -1);
	cell_str(row, lag.state);
}

static void report(struct hub *h, const Storesync__QueryRequest *q, struct table *t)
{
	static const char *const cols[] = { "head" };
	struct hub_export_seen *s = &h->export_seen;
	uint64_t position = 0, events = 0, head;
	const char *note = "ok";
	int64_t head_ms;
	Storesync__Row *row;
	MDB_txn *txn;

	for (size_t i = 0; i < q->n_params; i++) {
		const char *k = q->params[i]->key, *v = q->params[i]->value ? q->params[i]->value : "";

		if (k && strcmp(k, "position") == 0)
			position = strtoull(v, NULL, 10);
		else if (k && strcmp(k, "events") == 0)
			events = strtoull(v, NULL, 10);
		else if (k && strcmp(k, "note") == 0)
			note = v;
	}
	pthread_mutex_lock(&s->lock);
	s->position = position;
	s->events = events;
	s->reported_ms = ss_now_ms();
	snprintf(s->state, sizeof s->state, "%s", note);
	pthread_mutex_unlock(&s->lock);
	/* The answer is the head, so the exporter can tell its own lag too. */
	table_init(t, cols, 1);
	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return table_fail(t, "hub storage unavailable");
	order_entry(h, txn, UINT64_MAX, &head, &head_ms);
	ss_lmdb_read_end(&h->db, txn);
	if ((row = table_row(t)))
		cell_int(row, (int64_t)head);
}

void query_export(struct hub *h, const Storesync__QueryRequest *q, struct table *t)
{
	if (strcmp(q->what, "export report") == 0)
		report(h, q, t);
	else
		status(h, t);
}
