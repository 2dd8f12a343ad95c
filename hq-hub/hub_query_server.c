/* hub_query_server: the operators' endpoint (hqctl).
 *
 * A broker thread owns the endpoint (a ROUTER that REQ clients talk to as
 * [id, "", body]) and hands each request to an idle worker (the zguide's
 * load-balancing broker): a worker that is busy with a long query (a dump)
 * gets nothing new, so short queries keep being answered by the others.
 * Workers answer read queries from LMDB read transactions (hub_query.c) and
 * hand operator writes to the writer (hub_writer.c) over the operators'
 * inproc channel, waiting for its answer, which comes after the commit.
 * The broker never blocks on LMDB and never writes it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hub_auth.h"
#include "hub_query.h"
#include "hub_zap.h"
#include "ss_link.h"

#define WORKERS_ENDPOINT "inproc://hub-query-workers"
#define MAX_WORKERS 64
#define POLL_MS 200

struct worker {
	struct hub *h;
	pthread_t thread;
	void *sock;                /* REQ to the broker */
	void *ops;                 /* REQ to the writer */
};

struct hub_query_server {
	pthread_t broker;
	void *frontend, *backend;
	struct worker workers[MAX_WORKERS];
	size_t n_workers;
	/* Idle workers, by their routing id on the backend. */
	zmq_msg_t idle[MAX_WORKERS];
	size_t n_idle;
	int broker_started;
};

/* Sends n frames; more frames follow when `more`. */
static void send_frames(void *sock, zmq_msg_t *f, int n, int more)
{
	for (int i = 0; i < n; i++)
		zmq_msg_send(&f[i], sock, i + 1 < n || more ? ZMQ_SNDMORE : 0);
}

static void reply_table(void *sock, struct table *t)
{
	t->reply.service = (char *)SS_SERVICE_HUB;   /* a client can tell who answers */
	if (ss_proto_send(sock, &t->reply.base, 0) != 0)
		ss_warn("query: answer lost: %s", zmq_strerror(zmq_errno()));
}

/* Waits for the writer's answer, giving up only when the hub stops. */
static int await_answer(struct worker *wk, zmq_msg_t *answer)
{
	while (!atomic_load(&wk->h->stopping)) {
		zmq_pollitem_t it = { wk->ops, 0, ZMQ_POLLIN, 0 };

		if (zmq_poll(&it, 1, POLL_MS) > 0)
			return zmq_msg_recv(answer, wk->ops, ZMQ_DONTWAIT) < 0 ? -1 : 0;
	}
	return -1;
}

/* An operator write: to the writer ([user, body]) and back; the answer is
 * sent on as is. */
static void forward_write(struct worker *wk, zmq_msg_t *user, zmq_msg_t *body)
{
	zmq_msg_t answer;
	struct table t;

	zmq_msg_init(&answer);
	if (zmq_msg_send(user, wk->ops, ZMQ_SNDMORE) >= 0 && zmq_msg_send(body, wk->ops, 0) >= 0
		&& await_answer(wk, &answer) == 0) {
		zmq_msg_send(&answer, wk->sock, 0);
		return;
	}
	zmq_msg_close(&answer);
	table_clear(&t);
	table_fail(&t, "hub is stopping; retry later");
	reply_table(wk->sock, &t);
	table_free(&t);
}

/* What an operator's role lets it see: "read" sees every figure but not
 * customers' names (confidential: their store and HQ's admins only); an
 * operator that is unknown or revoked gets nothing. */
static void query_mask_for(struct hub *h, zmq_msg_t *user_frame, struct table *t)
{
	char user[72], buf[16];
	const char *role;
	size_t n = zmq_msg_size(user_frame);
	MDB_txn *txn;

	if (n >= sizeof user || t->reply.error)
		return;
	memcpy(user, zmq_msg_data(user_frame), n);
	user[n] = '\0';
	if (strcmp(user, HUB_USER_LOCAL) == 0 || ss_lmdb_read_begin(&h->db, &txn) != 0)
		return;
	role = hub_auth_role(h, txn, user, buf, sizeof buf);
	ss_lmdb_read_end(&h->db, txn);
	if (!role) {
		table_free(t);
		table_fail(t, "not an active operator");
		return;
	}
	if (strcmp(role, "read") != 0)
		return;
	for (size_t c = 0; c < t->reply.n_columns; c++) {
		if (strcmp(t->reply.columns[c], "customer") != 0)
			continue;
		for (size_t r = 0; r < t->reply.n_rows; r++) {
			Storesync__Cell *cell = t->reply.rows[r]->cells[c];

			if (cell->value_case == STORESYNC__CELL__VALUE_S && cell->s && *cell->s) {
				free(cell->s);
				cell->s = strdup("(hidden)");
			}
		}
	}
}

/* One request: [client id, "", user, body]; the answer goes back as
 * [client id, "", answer]. */
static void worker_serve(struct worker *wk, zmq_msg_t *f)
{
	struct table t;

	send_frames(wk->sock, f, 2, 1);   /* the envelope first, the answer follows */
	table_clear(&t);
	if (query_serve(wk->h, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]), &t) == QUERY_WRITE) {
		forward_write(wk, &f[2], &f[3]);
		return;
	}
	query_mask_for(wk->h, &f[2], &t);
	reply_table(wk->sock, &t);
	table_free(&t);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	zmq_send(wk->sock, "READY", 5, 0);
	while (!atomic_load(&wk->h->stopping)) {
		zmq_pollitem_t it = { wk->sock, 0, ZMQ_POLLIN, 0 };
		zmq_msg_t f[4];
		int n;

		if (zmq_poll(&it, 1, POLL_MS) <= 0)
			continue;
		if ((n = ss_link_recv(wk->sock, f, 4, ZMQ_DONTWAIT)) < 0)
			continue;
		if (n == 4)
			worker_serve(wk, f);
		ss_link_close_frames(f, n < 4 ? n : 4);
	}
	zmq_close(wk->sock);
	zmq_close(wk->ops);
	return NULL;
}

/* A client message that is not [id, "", body]: answered when it can be. */
static void refuse_malformed(struct hub *h, void *frontend, zmq_msg_t *f, int n)
{
	struct table t;

	atomic_fetch_add(&h->stats.malformed, 1);
	if (n < 2)
		return;
	table_clear(&t);
	table_fail(&t, "malformed query: expected a REQ request of one frame");
	t.reply.service = (char *)SS_SERVICE_HUB;
	zmq_msg_send(&f[0], frontend, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(frontend, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	ss_proto_send(frontend, &t.reply.base, ZMQ_DONTWAIT);
	table_free(&t);
}

static void from_client(struct hub *h, struct hub_query_server *qs)
{
	zmq_msg_t f[3];
	int n = ss_link_recv(qs->frontend, f, 3, ZMQ_DONTWAIT);
	const char *user;

	if (n < 0)
		return;
	if (n != 3 || zmq_msg_size(&f[1]) != 0 || zmq_msg_size(&f[2]) > SS_MAX_MSG_BYTES) {
		refuse_malformed(h, qs->frontend, f, n);
		ss_link_close_frames(f, n < 3 ? n : 3);
		return;
	}
	/* [worker, "", client, "", user, body]: the user the endpoint
	 * authenticated (ZAP's User-Id on the frame), or "local". */
	user = zmq_msg_gets(&f[2], "User-Id");
	if (!user || !*user)
		user = HUB_USER_LOCAL;
	qs->n_idle--;
	zmq_msg_send(&qs->idle[qs->n_idle], qs->backend, ZMQ_SNDMORE);
	zmq_send(qs->backend, "", 0, ZMQ_SNDMORE);
	send_frames(qs->backend, f, 2, 1);
	zmq_send(qs->backend, user, strlen(user), ZMQ_SNDMORE);
	zmq_msg_send(&f[2], qs->backend, 0);
}

static void from_worker(struct hub_query_server *qs)
{
	zmq_msg_t f[5];
	int n = ss_link_recv(qs->backend, f, 5, ZMQ_DONTWAIT);

	if (n < 0)
		return;
	if (n >= 3 && qs->n_idle < MAX_WORKERS) {
		zmq_msg_init(&qs->idle[qs->n_idle]);
		zmq_msg_copy(&qs->idle[qs->n_idle++], &f[0]);
	}
	/* [worker, "", client, "", answer]; a READY has nothing to pass on. */
	if (n == 5)
		send_frames(qs->frontend, &f[2], 3, 0);
	ss_link_close_frames(f, n < 5 ? n : 5);
}

static void *broker_main(void *arg)
{
	struct hub *h = arg;
	struct hub_query_server *qs = h->query;

	while (!atomic_load(&h->stopping)) {
		zmq_pollitem_t items[] = { { qs->backend, 0, ZMQ_POLLIN, 0 },
			{ qs->frontend, 0, ZMQ_POLLIN, 0 } };

		/* Clients wait in the endpoint's queue while no worker is idle. */
		if (zmq_poll(items, qs->n_idle ? 2 : 1, POLL_MS) <= 0)
			continue;
		if (items[0].revents & ZMQ_POLLIN)
			from_worker(qs);
		if (qs->n_idle && (items[1].revents & ZMQ_POLLIN))
			from_client(h, qs);
	}
	for (size_t i = 0; i < qs->n_idle; i++)
		zmq_msg_close(&qs->idle[i]);
	zmq_close(qs->frontend);
	zmq_close(qs->backend);
	return NULL;
}

/* The broker's and workers' inproc sockets get the options every socket
 * gets (ss_link_socket). */
static void *inproc_socket(struct hub *h, int type)
{
	char err[128];

	return ss_link_socket(h->zctx, type, 0, err, sizeof err);
}

static int start_workers(struct hub *h, struct hub_query_server *qs, char *err, size_t errlen)
{
	qs->n_workers = (size_t)h->cfg.query_threads;
	if (qs->n_workers < 1 || qs->n_workers > MAX_WORKERS)
		qs->n_workers = 4;
	for (size_t i = 0; i < qs->n_workers; i++) {
		struct worker *wk = &qs->workers[i];

		wk->h = h;
		wk->sock = inproc_socket(h, ZMQ_REQ);
		wk->ops = inproc_socket(h, ZMQ_REQ);
		if (!wk->sock || !wk->ops || zmq_connect(wk->sock, WORKERS_ENDPOINT) != 0
			|| zmq_connect(wk->ops, HUB_OPS_ENDPOINT) != 0
			|| pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
			snprintf(err, errlen, "cannot start query worker %zu", i);
			qs->n_workers = i;
			return -1;
		}
	}
	return 0;
}

int query_start(struct hub *h, char *err, size_t errlen)
{
	struct hub_query_server *qs = calloc(1, sizeof *qs);

	if (!qs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->query = qs;
	/* Bound here, so a bad endpoint fails start-up with a reason. */
	qs->frontend = ss_link_socket(h->zctx, ZMQ_ROUTER, 0, err, errlen);
	if (!qs->frontend || hub_zap_watch(h, qs->frontend, HUB_ZAP_QUERY, err, errlen) != 0)
		return -1;
	if (zmq_bind(qs->frontend, h->cfg.query) != 0) {
		snprintf(err, errlen, "cannot bind query endpoint %s: %s", h->cfg.query,
			zmq_strerror(errno));
		return -1;
	}
	qs->backend = inproc_socket(h, ZMQ_ROUTER);
	if (!qs->backend || zmq_bind(qs->backend, WORKERS_ENDPOINT) != 0) {
		snprintf(err, errlen, "cannot bind %s", WORKERS_ENDPOINT);
		return -1;
	}
	if (start_workers(h, qs, err, errlen) != 0)
		return -1;
	if (pthread_create(&qs->broker, NULL, broker_main, h) != 0) {
		snprintf(err, errlen, "cannot start the query broker");
		return -1;
	}
	qs->broker_started = 1;
	return 0;
}

void query_stop(struct hub *h)
{
	struct hub_query_server *qs = h->query;

	if (!qs)
		return;
	atomic_store(&h->stopping, 1);
	for (size_t i = 0; i < qs->n_workers; i++)
		pthread_join(qs->workers[i].thread, NULL);
	if (qs->broker_started) {
		pthread_join(qs->broker, NULL);
	} else {
		if (qs->frontend)
			zmq_close(qs->frontend);
		if (qs->backend)
			zmq_close(qs->backend);
	}
	free(qs);
	h->query = NULL;
}
