/* hub_query_server: the operators' endpoints (hqctl).
 *
 * Two doors: the operators' endpoint, CurveZMQ with every key checked by
 * the ZAP handler (hub_zap.c), whose User-Id is the operator's name; and
 * the admin socket, a plaintext ipc:// socket file of mode 0660 (group
 * storesync) for the hub host's own admins, who act as "local" with the
 * admin role. A broker thread owns both (ROUTERs that REQ clients talk to
 * as [id, "", body]) and hands each request to an idle worker (the zguide's
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
#include "ss_daemon.h"
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

/* The broker's doors; a client's routing id is passed to the workers with
 * its door's index in front, so the answer goes back through the same. */
enum { DOOR_OPS, DOOR_ADMIN, N_DOORS };

struct hub_query_server {
	pthread_t broker;
	void *door[N_DOORS];       /* DOOR_ADMIN: NULL when there is none */
	void *backend;
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
	if (table_send(sock, t, 0) != 0)
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

/* The role of the request's user (the ZAP handler named it), or NULL: an
 * operator revoked since it connected gets nothing (libzmq keeps its
 * connection; the check on every request is what cuts it off). */
static const char *request_role(struct hub *h, zmq_msg_t *user_frame, char *buf, size_t len)
{
	char user[72];
	const char *role;
	size_t n = zmq_msg_size(user_frame);
	MDB_txn *txn;

	if (n >= sizeof user)
		return NULL;
	memcpy(user, zmq_msg_data(user_frame), n);
	user[n] = '\0';
	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return NULL;
	role = hub_auth_role(h, txn, user, buf, len);
	ss_lmdb_read_end(&h->db, txn);
	return role;
}

/* What the read role sees: every figure but not customers' names
 * (confidential: their store and HQ's admins only). A dump, which holds
 * them inside its values, is refused to it (query_serve). */
static void mask_for_read(struct table *t)
{
	if (t->reply.error)
		return;
	for (size_t c = 0; c < t->reply.n_columns; c++) {
		if (strcmp(t->reply.columns[c], "customer") != 0)
			continue;
		for (size_t r = 0; r < t->reply.n_rows; r++) {
			Storesync__Cell *cell = t->reply.rows[r]->cells[c];

			/* The name stays in the table's arena, unsent. */
			if (cell && cell->s)
				cell->s = (char *)"(hidden)";
		}
	}
}

/* One request: [client id, "", user, body]; the answer goes back as
 * [client id, "", answer]. */
static void worker_serve(struct worker *wk, zmq_msg_t *f)
{
	struct table t;

	char buf[16];
	const char *role = request_role(wk->h, &f[2], buf, sizeof buf);

	send_frames(wk->sock, f, 2, 1);   /* the envelope first, the answer follows */
	table_clear(&t);
	if (!role) {
		table_fail(&t, "not an active operator");
	} else if (query_serve(wk->h, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]), role, &t)
		== QUERY_WRITE) {
		forward_write(wk, &f[2], &f[3]);
		return;
	} else if (strcmp(role, "read") == 0) {
		mask_for_read(&t);
	}
	reply_table(wk->sock, &t);
	table_free(&t);
}

/* READY once the broker can take it. Not a blocking send: a hub whose
 * start fails just after query_start (the HTTP listener, say) stops the
 * broker at once, and a REQ whose peer is gone would block for good, and
 * query_stop with it. */
static int say_ready(struct worker *wk)
{
	while (!atomic_load(&wk->h->stopping)) {
		zmq_pollitem_t it = { wk->sock, 0, ZMQ_POLLOUT, 0 };

		if (zmq_poll(&it, 1, POLL_MS) > 0)
			return zmq_send(wk->sock, "READY", 5, ZMQ_DONTWAIT) == 5 ? 0 : -1;
	}
	return -1;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	say_ready(wk);
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
	table_send(frontend, &t, ZMQ_DONTWAIT);
	table_free(&t);
}

/* The user a door vouches for: on the operators' endpoint the name the ZAP
 * handler gave (ZAP's User-Id on a body frame), or "insecure" without
 * Curve; on the admin socket "local". */
static const char *door_user(struct hub *h, int door, zmq_msg_t *body)
{
	const char *user;

	if (door == DOOR_ADMIN)
		return HUB_USER_LOCAL;
	if (h->cfg.insecure)
		return HUB_USER_INSECURE;
	user = zmq_msg_gets(body, "User-Id");
	return user && *user ? user : NULL;
}

static void from_client(struct hub *h, struct hub_query_server *qs, int door)
{
	zmq_msg_t f[3], routed;
	int n = ss_link_recv(qs->door[door], f, 3, ZMQ_DONTWAIT);
	const char *user;
	uint8_t tag = (uint8_t)door;

	if (n < 0)
		return;
	user = n == 3 ? door_user(h, door, &f[2]) : NULL;
	if (n != 3 || zmq_msg_size(&f[1]) != 0 || zmq_msg_size(&f[2]) > SS_MAX_MSG_BYTES
		|| !user) {
		refuse_malformed(h, qs->door[door], f, n);
		ss_link_close_frames(f, n < 3 ? n : 3);
		return;
	}
	/* [worker, "", door+client, "", user, body] */
	zmq_msg_init_size(&routed, zmq_msg_size(&f[0]) + 1);
	memcpy(zmq_msg_data(&routed), &tag, 1);
	memcpy((uint8_t *)zmq_msg_data(&routed) + 1, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]));
	zmq_msg_close(&f[0]);
	qs->n_idle--;
	zmq_msg_send(&qs->idle[qs->n_idle], qs->backend, ZMQ_SNDMORE);
	zmq_send(qs->backend, "", 0, ZMQ_SNDMORE);
	zmq_msg_send(&routed, qs->backend, ZMQ_SNDMORE);
	zmq_msg_send(&f[1], qs->backend, ZMQ_SNDMORE);
	zmq_send(qs->backend, user, strlen(user), ZMQ_SNDMORE);
	zmq_msg_send(&f[2], qs->backend, 0);
}

/* An answer for door+client: back through the client's door. */
static void to_client(struct hub_query_server *qs, zmq_msg_t *f)
{
	const uint8_t *id = zmq_msg_data(&f[0]);
	size_t len = zmq_msg_size(&f[0]);
	void *door = len > 1 && id[0] < N_DOORS ? qs->door[id[0]] : NULL;

	if (!door)
		return;
	if (zmq_send(door, id + 1, len - 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
		send_frames(door, &f[1], 2, 0);
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
	/* [worker, "", door+client, "", answer]; a READY has nothing to pass on. */
	if (n == 5)
		to_client(qs, &f[2]);
	ss_link_close_frames(f, n < 5 ? n : 5);
}

static void *broker_main(void *arg)
{
	struct hub *h = arg;
	struct hub_query_server *qs = h->query;

	while (!atomic_load(&h->stopping)) {
		zmq_pollitem_t items[1 + N_DOORS] = { { qs->backend, 0, ZMQ_POLLIN, 0 } };
		int n = 1;

		/* Clients wait in their door's queue while no worker is idle. */
		for (int d = 0; qs->n_idle && d < N_DOORS; d++)
			if (qs->door[d])
				items[n++] = (zmq_pollitem_t){ qs->door[d], 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(items, n, POLL_MS) <= 0)
			continue;
		if (items[0].revents & ZMQ_POLLIN)
			from_worker(qs);
		for (int i = 1; i < n && qs->n_idle; i++)
			if (items[i].revents & ZMQ_POLLIN)
				from_client(h, qs, items[i].socket == qs->door[DOOR_OPS] ? DOOR_OPS
					: DOOR_ADMIN);
	}
	for (size_t i = 0; i < qs->n_idle; i++)
		zmq_msg_close(&qs->idle[i]);
	for (int d = 0; d < N_DOORS; d++)
		ss_link_close_watched(qs->door[d], NULL);
	zmq_close(qs->backend);
	return NULL;
}

/* The broker's and workers' inproc sockets get the options every socket
 * gets (ss_link_socket). */
static void *inproc_socket(struct hub *h, int type)
{
	char err[128];

	return ss_link_socket(h->zctx, type, err, sizeof err);
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

/* The operators' endpoint: Curve, each key checked by the ZAP handler. */
static int open_ops(struct hub *h, struct hub_query_server *qs, char *err, size_t errlen)
{
	void *s = qs->door[DOOR_OPS] = ss_link_socket(h->zctx, ZMQ_ROUTER, err, errlen);

	if (!s || hub_zap_watch(h, s, HUB_ZAP_QUERY, err, errlen) != 0)
		return -1;
	if (!h->cfg.insecure && ss_curve_server(s, &h->curve, HUB_ZAP_DOMAIN_OPS) != 0) {
		snprintf(err, errlen, "cannot set CurveZMQ on the query endpoint: %s",
			zmq_strerror(errno));
		return -1;
	}
	if (ss_daemon_bind(s, h->cfg.query, err, errlen) != 0)
		return -1;
	/* An ipc query endpoint needs Curve as a tcp one does; who may open
	 * its file matters less, so it is not owner-only. */
	return ss_daemon_socket_access(h->cfg.query, 0666, "", err, errlen) < 0 ? -1 : 0;
}

/* The admin socket: ipc only, plaintext, mode 0660 for the storesync group. */
static int open_admin(struct hub *h, struct hub_query_server *qs, char *err, size_t errlen)
{
	void *s;

	if (!h->cfg.admin[0])
		return 0;
	if (strncmp(h->cfg.admin, "ipc://", 6) != 0) {
		snprintf(err, errlen, "admin endpoint %s: must be ipc:// (it is plaintext; the socket "
			"file's permissions decide who may use it)", h->cfg.admin);
		return -1;
	}
	s = qs->door[DOOR_ADMIN] = ss_link_socket(h->zctx, ZMQ_ROUTER, err, errlen);
	if (!s || hub_zap_watch(h, s, HUB_ZAP_QUERY, err, errlen) != 0
		|| ss_daemon_bind(s, h->cfg.admin, err, errlen) != 0)
		return -1;
	switch (ss_daemon_socket_access(h->cfg.admin, 0660, h->cfg.admin_group, err, errlen)) {
	case 0: return 0;
	case 1: ss_warn("%s", err); return 0;
	default: return -1;
	}
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
	if (open_ops(h, qs, err, errlen) != 0 || open_admin(h, qs, err, errlen) != 0)
		return -1;
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
		for (int d = 0; d < N_DOORS; d++)
			ss_link_close_watched(qs->door[d], NULL);
		if (qs->backend)
			zmq_close(qs->backend);
	}
	free(qs);
	h->query = NULL;
}
