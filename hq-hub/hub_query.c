/* hub_query: the operators' endpoint (hqctl). Runs on its own thread with
 * its own socket, and reads LMDB only through read transactions, which see
 * a committed snapshot and never wait for the writer: a slow query cannot
 * slow ingest. Every answer is a table (QueryReply). */
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "ss_link.h"
#include "ss_time.h"
#include "ss_validate.h"

#define MAX_QUERY_BYTES (64u * 1024u)

void table_init(struct table *t, const char *const *columns, size_t n)
{
	t->reply.columns = calloc(n, sizeof(char *));
	for (size_t i = 0; t->reply.columns && i < n; i++)
		t->reply.columns[t->reply.n_columns++] = strdup(columns[i]);
}

/* A row and its cells in one allocation: a big answer (a month of sales for
 * 10,000 stores) costs one malloc per row, not one per cell. */
struct row_mem {
	Storesync__Row row;       /* first: a Row* is a row_mem* */
	size_t cap;
	Storesync__Cell *ptrs[];  /* cap pointers, then cap cells */
};

static Storesync__Cell *next_cell(Storesync__Row *row)
{
	struct row_mem *m = (struct row_mem *)row;
	Storesync__Cell *cells = (Storesync__Cell *)(m->ptrs + m->cap);

	if (row->n_cells == m->cap)
		return NULL;
	storesync__cell__init(&cells[row->n_cells]);
	m->ptrs[row->n_cells] = &cells[row->n_cells];
	return &cells[row->n_cells++];
}

Storesync__Row *table_row(struct table *t)
{
	size_t n = t->reply.n_columns;
	struct row_mem *m;

	if (t->reply.n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		Storesync__Row **rows = realloc(t->reply.rows, cap * sizeof *rows);

		if (!rows)
			return NULL;
		t->reply.rows = rows;
		t->cap_rows = cap;
	}
	m = calloc(1, sizeof *m + n * (sizeof(Storesync__Cell *) + sizeof(Storesync__Cell)));
	if (!m)
		return NULL;
	storesync__row__init(&m->row);
	m->cap = n;
	m->row.cells = m->ptrs;
	t->reply.rows[t->reply.n_rows++] = &m->row;
	return &m->row;
}

void cell_int(Storesync__Row *row, int64_t v)
{
	Storesync__Cell *c = next_cell(row);

	if (c) {
		c->value_case = STORESYNC__CELL__VALUE_I;
		c->i = v;
	}
}

void cell_str(Storesync__Row *row, const char *s)
{
	Storesync__Cell *c = next_cell(row);

	if (c) {
		c->value_case = STORESYNC__CELL__VALUE_S;
		c->s = strdup(s ? s : "");
	}
}

void table_fail(struct table *t, const char *reason)
{
	free(t->reply.error);
	t->reply.error = strdup(reason);
}

void query_stores(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "store_id", "epoch", "high_water_seq", "records",
		"amount_fen", "refused", "backlog", "oldest_unsent_age_ms", "last_seen_ms",
		"last_progress_ms", "silent_ms", "disk_free_bytes", "agent_version" };
	int64_t now = a->at_ms;
	MDB_cursor *cur;
	MDB_val k, d;
	char epoch[20];

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	mdb_cursor_open(txn, h->stores, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__StoreState *s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data);
		Storesync__Row *row;

		if (!s)
			continue;
		if ((!a->store || strcmp(a->store, s->store_id) == 0) && (row = table_row(t)) != NULL) {
			snprintf(epoch, sizeof epoch, "%016llx", (unsigned long long)s->epoch);
			cell_str(row, s->store_id);
			cell_str(row, epoch);
			cell_int(row, (int64_t)s->high_water_seq);
			cell_int(row, (int64_t)s->records);
			cell_int(row, s->amount_fen);
			cell_int(row, (int64_t)s->refused);
			cell_int(row, (int64_t)s->backlog);
			cell_int(row, s->oldest_unsent_age_ms);
			cell_int(row, s->last_seen_ms);
			cell_int(row, s->last_progress_ms);
			cell_int(row, now - s->last_progress_ms);
			cell_int(row, (int64_t)s->disk_free_bytes);
			cell_str(row, s->agent_version);
		}
		storesync__store_state__free_unpacked(s, NULL);
	}
	mdb_cursor_close(cur);
}

static void query_stats(struct hub *h, struct table *t)
{
	static const char *const cols[] = { "counter", "value" };
	const struct { const char *name; atomic_uint_fast64_t *v; } rows[] = {
		{ "commits", &h->stats.commits }, { "batches", &h->stats.batches },
		{ "records_applied", &h->stats.records_applied },
		{ "duplicates", &h->stats.duplicates }, { "gaps", &h->stats.gaps },
		{ "refused_records", &h->stats.refused_records },
		{ "malformed", &h->stats.malformed }, { "unknown_kind", &h->stats.unknown_kind },
		{ "invalid", &h->stats.invalid }, { "bad_version", &h->stats.bad_version },
		{ "hellos", &h->stats.hellos }, { "heartbeats", &h->stats.heartbeats },
		{ "commit_failures", &h->stats.commit_failures },
		{ "oversized", &h->stats.oversized },
	};

	table_init(t, cols, 2);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		Storesync__Row *row = table_row(t);

		if (!row)
			return;
		cell_str(row, rows[i].name);
		cell_int(row, (int64_t)atomic_load(rows[i].v));
	}
}

/* Queries over LMDB; each runs in one read transaction. */
static const struct {
	const char *what;
	query_fn fn;
} queries[] = {
	{ "stores", query_stores }, { "sales", query_sales }, { "inventory", query_inventory },
	{ "complaints", query_complaints }, { "accounts", query_accounts },
	{ "stale", query_stale }, { "policy", query_policy }, { "dump", query_dump },
};

static int parse_day_param(const char *v, int32_t *day, char *err, size_t errlen, const char *k)
{
	if (ss_time_parse_day(v, day) == 0)
		return 0;
	snprintf(err, errlen, "%s: \"%s\" is not a day (YYYY-MM-DD)", k, v);
	return -1;
}

/* Params to typed arguments; -1 with a reason for an unknown or bad one. */
static int parse_args(const Storesync__QueryRequest *q, struct query_args *a, char *err,
	size_t errlen)
{
	*a = (struct query_args){ .from_day = INT32_MIN, .to_day = INT32_MAX, .below = INT64_MAX,
		.at_ms = ss_now_ms() };
	for (size_t i = 0; i < q->n_params; i++) {
		const char *k = q->params[i]->key, *v = q->params[i]->value ? q->params[i]->value : "";
		char *end;
		int rc = 0;

		if (!k) {
			rc = -1;
		} else if (strcmp(k, "store") == 0) {
			a->store = v;
			rc = ss_validate_store_id(v);
		} else if (strcmp(k, "sku") == 0) {
			a->sku = v;
			rc = ss_validate_sku(v);
		} else if (strcmp(k, "state") == 0) {
			a->state = v;
		} else if (strcmp(k, "by") == 0) {
			a->by = v;
			rc = strcmp(v, "day") && strcmp(v, "week") && strcmp(v, "month") ? -1 : 0;
		} else if (strcmp(k, "from") == 0) {
			rc = parse_day_param(v, &a->from_day, err, errlen, k);
		} else if (strcmp(k, "to") == 0) {
			rc = parse_day_param(v, &a->to_day, err, errlen, k);
		} else if (strcmp(k, "below") == 0) {
			a->below = strtoll(v, &end, 10);
			rc = end == v || *end ? -1 : 0;
		} else if (strcmp(k, "at") == 0) {
			rc = ss_time_parse(v, &a->at_ms);
		} else if (strcmp(k, "overdue") == 0) {
			a->overdue = 1;
		} else if (strcmp(k, "stale") == 0) {
			a->stale = 1;
		} else if (strcmp(k, "aging") == 0) {
			a->aging = 1;
		} else {
			rc = -1;
		}
		if (rc != 0) {
			if (!err[0])
				snprintf(err, errlen, "bad parameter %s=\"%s\"", k ? k : "(none)", v);
			return -1;
		}
	}
	return 0;
}

static void answer(struct hub *h, const Storesync__QueryRequest *q, struct table *t)
{
	struct query_args a;
	char err[256] = "";
	MDB_txn *txn;

	memset(t, 0, sizeof *t);
	storesync__query_reply__init(&t->reply);
	if (q->proto_version != SS_PROTO_VERSION)
		return table_fail(t, "unsupported proto_version (this hub speaks 1)");
	if (parse_args(q, &a, err, sizeof err) != 0)
		return table_fail(t, err);
	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		if (!q->what || strcmp(q->what, queries[i].what) != 0)
			continue;
		if (ss_lmdb_read_begin(&h->db, &txn) != 0)
			return table_fail(t, "hub storage unavailable");
		queries[i].fn(h, txn, &a, t);
		ss_lmdb_read_end(&h->db, txn);
		return;
	}
	if (q->what && strcmp(q->what, "stats") == 0)
		return query_stats(h, t);
	table_fail(t, "unknown query");
}

/* Frees everything table_init/table_row/cell_* allocated. */
static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->reply.n_columns; i++)
		free(t->reply.columns[i]);
	free(t->reply.columns);
	for (size_t r = 0; r < t->reply.n_rows; r++) {
		Storesync__Row *row = t->reply.rows[r];

		for (size_t c = 0; c < row->n_cells; c++)
			if (row->cells[c]->value_case == STORESYNC__CELL__VALUE_S)
				free(row->cells[c]->s);
		free(row);   /* the row_mem, cells included */
	}
	free(t->reply.rows);
	free(t->reply.error);
}

static void serve_one(struct hub *h, void *sock)
{
	zmq_msg_t f[3];
	int n = ss_link_recv(sock, f, 3, ZMQ_DONTWAIT);
	Storesync__QueryRequest *q = NULL;
	struct table t;

	if (n < 0)
		return;
	/* REQ clients: [id, "", body]. Anything else is refused. */
	if (n == 3 && zmq_msg_size(&f[1]) == 0)
		q = (Storesync__QueryRequest *)ss_proto_unpack(&storesync__query_request__descriptor,
			zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), MAX_QUERY_BYTES);
	if (q) {
		answer(h, q, &t);
		storesync__query_request__free_unpacked(q, NULL);
	} else {
		memset(&t, 0, sizeof t);
		storesync__query_reply__init(&t.reply);
		table_fail(&t, "malformed query");
		atomic_fetch_add(&h->stats.malformed, 1);
	}
	t.reply.service = (char *)SS_SERVICE_HUB;
	if (n >= 2) {
		zmq_msg_send(&f[0], sock, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		ss_proto_send(sock, &t.reply.base, ZMQ_DONTWAIT);
	}
	table_free(&t);
	ss_link_close_frames(f, n < 3 ? n : 3);
}

static void *query_main(void *arg)
{
	struct hub *h = arg;
	void *sock = h->query_sock;   /* ours from here: pthread_create is the barrier */

	while (!atomic_load(&h->stopping)) {
		zmq_pollitem_t items[] = { { sock, 0, ZMQ_POLLIN, 0 } };

		if (zmq_poll(items, 1, 200) > 0)
			serve_one(h, sock);
	}
	zmq_close(sock);
	return NULL;
}

int query_start(struct hub *h, char *err, size_t errlen)
{
	/* Bound here, so a bad endpoint fails start-up with a reason. */
	h->query_sock = ss_link_socket(h->zctx, ZMQ_ROUTER, 0, err, errlen);
	if (!h->query_sock)
		return -1;
	if (zmq_bind(h->query_sock, h->cfg.query) != 0) {
		snprintf(err, errlen, "cannot bind query endpoint %s: %s", h->cfg.query,
			zmq_strerror(errno));
		zmq_close(h->query_sock);
		h->query_sock = NULL;
		return -1;
	}
	if (pthread_create(&h->query_thread, NULL, query_main, h) != 0) {
		snprintf(err, errlen, "cannot start the query thread");
		zmq_close(h->query_sock);
		h->query_sock = NULL;
		return -1;
	}
	return 0;
}

void query_stop(struct hub *h)
{
	if (!h->query_sock)
		return;
	atomic_store(&h->stopping, 1);
	pthread_join(h->query_thread, NULL);
}
