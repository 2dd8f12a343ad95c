/* hub_query: the operators' endpoint (hqctl). Runs on its own thread with
 * its own socket, and reads LMDB only through read transactions, which see
 * a committed snapshot and never wait for the writer: a slow query cannot
 * slow ingest. Every answer is a table (QueryReply). */
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "ss_link.h"
#include "ss_time.h"

#define MAX_QUERY_BYTES (64u * 1024u)

/* A reply under construction: cells are allocated and freed with it. */
struct table {
	Storesync__QueryReply reply;
	size_t cap_rows;
};

static void table_init(struct table *t, const char *const *columns, size_t n)
{
	memset(t, 0, sizeof *t);
	storesync__query_reply__init(&t->reply);
	t->reply.columns = calloc(n, sizeof(char *));
	for (size_t i = 0; t->reply.columns && i < n; i++)
		t->reply.columns[t->reply.n_columns++] = strdup(columns[i]);
}

static Storesync__Row *table_row(struct table *t)
{
	Storesync__Row *row;

	if (t->reply.n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		Storesync__Row **rows = realloc(t->reply.rows, cap * sizeof *rows);

		if (!rows)
			return NULL;
		t->reply.rows = rows;
		t->cap_rows = cap;
	}
	row = calloc(1, sizeof *row);
	if (!row)
		return NULL;
	storesync__row__init(row);
	row->cells = calloc(t->reply.n_columns, sizeof *row->cells);
	t->reply.rows[t->reply.n_rows++] = row;
	return row;
}

static void cell_int(Storesync__Row *row, int64_t v)
{
	Storesync__Cell *c = calloc(1, sizeof *c);

	if (!c || !row->cells)
		return free(c);
	storesync__cell__init(c);
	c->value_case = STORESYNC__CELL__VALUE_I;
	c->i = v;
	row->cells[row->n_cells++] = c;
}

static void cell_str(Storesync__Row *row, const char *s)
{
	Storesync__Cell *c = calloc(1, sizeof *c);

	if (!c || !row->cells)
		return free(c);
	storesync__cell__init(c);
	c->value_case = STORESYNC__CELL__VALUE_S;
	c->s = strdup(s ? s : "");
	row->cells[row->n_cells++] = c;
}

static void query_stores(struct hub *h, MDB_txn *txn, struct table *t)
{
	static const char *const cols[] = { "store_id", "epoch", "high_water_seq", "records",
		"amount_fen", "refused", "backlog", "oldest_unsent_age_ms", "last_seen_ms",
		"silent_ms", "disk_free_bytes", "agent_version" };
	int64_t now = ss_now_ms();
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
		if ((row = table_row(t)) != NULL) {
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
			cell_int(row, now - s->last_seen_ms);
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

static void answer(struct hub *h, const Storesync__QueryRequest *q, struct table *t)
{
	MDB_txn *txn;

	if (q->proto_version != SS_PROTO_VERSION) {
		table_init(t, NULL, 0);
		t->reply.error = strdup("unsupported proto_version (this hub speaks 1)");
	} else if (q->what && strcmp(q->what, "stats") == 0) {
		query_stats(h, t);
	} else if (q->what && strcmp(q->what, "stores") == 0) {
		if (ss_lmdb_read_begin(&h->db, &txn) != 0) {
			table_init(t, NULL, 0);
			t->reply.error = strdup("hub storage unavailable");
			return;
		}
		query_stores(h, txn, t);
		ss_lmdb_read_end(&h->db, txn);
	} else {
		table_init(t, NULL, 0);
		t->reply.error = strdup("unknown query");
	}
}

/* Frees everything table_init/table_row/cell_* allocated. */
static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->reply.n_columns; i++)
		free(t->reply.columns[i]);
	free(t->reply.columns);
	for (size_t r = 0; r < t->reply.n_rows; r++) {
		Storesync__Row *row = t->reply.rows[r];

		for (size_t c = 0; c < row->n_cells; c++) {
			if (row->cells[c]->value_case == STORESYNC__CELL__VALUE_S)
				free(row->cells[c]->s);
			free(row->cells[c]);
		}
		free(row->cells);
		free(row);
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
		table_init(&t, NULL, 0);
		t.reply.error = strdup("malformed query");
		atomic_fetch_add(&h->stats.malformed, 1);
	}
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
