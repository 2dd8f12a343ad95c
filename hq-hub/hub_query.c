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

	table_init(t, cols, 2);
	for (size_t i = 0; i < hub_n_counters; i++) {
		Storesync__Row *row = table_row(t);

		if (!row)
			return;
		cell_str(row, hub_counters[i].name);
		cell_int(row, (int64_t)atomic_load(hub_counter_ptr(&h->stats, &hub_counters[i])));
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

/* An operator write goes to the writer as [route, body]; its answer comes
 * back on the same channel and is relayed by relay_answer. */
static int forward_write(struct hub *h, void *ops, zmq_msg_t *id, zmq_msg_t *body)
{
	(void)h;
	if (zmq_msg_send(id, ops, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	return zmq_msg_send(body, ops, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static void send_answer(void *sock, zmq_msg_t *id, const void *buf, size_t len)
{
	zmq_msg_send(id, sock, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(sock, buf, len, ZMQ_DONTWAIT);
}

static void send_table(void *sock, zmq_msg_t *id, struct table *t)
{
	size_t len;
	void *buf = ss_proto_pack(&t->reply.base, &len);

	if (buf)
		send_answer(sock, id, buf, len);
	free(buf);
}

static void serve_one(struct hub *h, void *sock, void *ops)
{
	zmq_msg_t f[3];
	int n = ss_link_recv(sock, f, 3, ZMQ_DONTWAIT);
	Storesync__QueryRequest *q = NULL;
	struct table t;

	if (n < 0)
		return;
	table_clear(&t);
	/* REQ clients: [id, "", body]. Anything else is refused. */
	if (n == 3 && zmq_msg_size(&f[1]) == 0)
		q = (Storesync__QueryRequest *)ss_proto_unpack(&storesync__query_request__descriptor,
			zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), SS_MAX_MSG_BYTES);
	if (q && hub_op_work_kind(q->what) >= 0) {
		if (forward_write(h, ops, &f[0], &f[2]) != 0)
			table_fail(&t, "hub writer busy; retry later");
	} else if (q) {
		answer(h, q, &t);
	} else {
		table_fail(&t, "malformed query");
		atomic_fetch_add(&h->stats.malformed, 1);
	}
	if (q)
		storesync__query_request__free_unpacked(q, NULL);
	if (n >= 2 && (t.reply.error || t.reply.n_columns))
		send_table(sock, &f[0], &t);
	table_free(&t);
	ss_link_close_frames(f, n < 3 ? n : 3);
}

/* The writer answered an operator write: [route, packed QueryReply]. */
static void relay_answer(void *sock, void *ops)
{
	zmq_msg_t f[2];
	int n = ss_link_recv(ops, f, 2, ZMQ_DONTWAIT);

	if (n < 0)
		return;
	if (n == 2)
		send_answer(sock, &f[0], zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
	ss_link_close_frames(f, n < 2 ? n : 2);
}

static void *query_main(void *arg)
{
	struct hub *h = arg;
	void *sock = h->query_sock;   /* ours from here: pthread_create is the barrier */
	void *ops = h->query_ops;

	while (!atomic_load(&h->stopping)) {
		zmq_pollitem_t items[] = { { sock, 0, ZMQ_POLLIN, 0 }, { ops, 0, ZMQ_POLLIN, 0 } };

		if (zmq_poll(items, 2, 200) <= 0)
			continue;
		if (items[0].revents & ZMQ_POLLIN)
			serve_one(h, sock, ops);
		if (items[1].revents & ZMQ_POLLIN)
			relay_answer(sock, ops);
	}
	zmq_close(ops);
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
	h->query_ops = zmq_socket(h->zctx, ZMQ_PAIR);
	if (!h->query_ops || zmq_connect(h->query_ops, HUB_OPS_ENDPOINT) != 0) {
		snprintf(err, errlen, "cannot connect %s: %s", HUB_OPS_ENDPOINT, zmq_strerror(errno));
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
