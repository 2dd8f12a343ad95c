/* testlib: process control and protocol clients for the integration tests.
 * Each test makes its own ZeroMQ context (check forks: contexts must not
 * cross a fork) and its own temporary directory. */
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "ss_link.h"
#include "ss_time.h"

void tl_env_init(struct tl_env *e)
{
	char secret[400], pub[400];

	snprintf(e->dir, sizeof e->dir, "/tmp/sstest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	snprintf(e->hub_listen, sizeof e->hub_listen, "ipc://%s/hub.sock", e->dir);
	snprintf(e->hub_query, sizeof e->hub_query, "ipc://%s/" TL_ADMIN_SOCKET, e->dir);
	snprintf(e->hub_ops, sizeof e->hub_ops, "ipc://%s/hubq.sock", e->dir);
	snprintf(e->hub_data, sizeof e->hub_data, "%s/hub", e->dir);
	tl_key_paths(e->dir, "hub", secret, sizeof secret, pub, sizeof pub);
}

void tl_env_cleanup(struct tl_env *e)
{
	if (getenv("SS_KEEP_TEST_DIRS"))
		return;
	tl_sh("rm -rf '%s'", e->dir);
}

void tl_agent_paths(const struct tl_env *e, const char *store, char *local, size_t llen,
	char *data, size_t dlen)
{
	snprintf(local, llen, "ipc://%s/agent-%s.sock", e->dir, store);
	snprintf(data, dlen, "%s/agent-%s", e->dir, store);
}

static pid_t spawn(const char *log, char **argv)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* A test that fails an assertion exits at once: its daemons go too. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void collect_args(char **argv, int *argc, va_list ap)
{
	const char *a;

	while ((a = va_arg(ap, const char *)) != NULL && *argc < 30)
		argv[(*argc)++] = (char *)a;
	argv[*argc] = NULL;
}

pid_t tl_start_hub(const struct tl_env *e, ...)
{
	static char secret[400], pub[400];
	char *argv[40], log[320];
	int argc = 0;
	va_list ap;
	pid_t pid;

	argv[argc++] = SS_BIN_DIR "/hq-hub";
	argv[argc++] = "--foreground";
	argv[argc++] = "--data-dir";
	argv[argc++] = (char *)e->hub_data;
	argv[argc++] = "--listen";
	argv[argc++] = (char *)e->hub_listen;
	argv[argc++] = "--query";
	argv[argc++] = (char *)e->hub_ops;
	argv[argc++] = "--admin";
	argv[argc++] = (char *)e->hub_query;
	/* A test hub serves a handful of stores; the default max_stores needs
	 * more open files than some test machines allow. A test may override. */
	argv[argc++] = "--max-stores";
	argv[argc++] = "256";
	argv[argc++] = "--admin-group";
	argv[argc++] = "";
	tl_key_paths(e->dir, "hub", secret, sizeof secret, pub, sizeof pub);
	argv[argc++] = "--curve-key";
	argv[argc++] = secret;
	/* Off unless the test asks for it (a later --http wins): many hubs
	 * share this host, and the default port is one. */
	argv[argc++] = "--http";
	argv[argc++] = "off";
	va_start(ap, e);
	collect_args(argv, &argc, ap);
	va_end(ap);
	snprintf(log, sizeof log, "%s/hub.log", e->dir);
	pid = spawn(log, argv);
	for (int i = 0; i < 200; i++) {
		if (tl_hub_stat(e->hub_query, "commits") >= 0) {
			tl_register_all(e);
			return pid;
		}
		ss_sleep_ms(50);
	}
	ck_abort_msg("hub did not start (see %s)", log);
	return -1;
}

pid_t tl_start_agent(const struct tl_env *e, const char *store, ...)
{
	static char local[320], data[320], secret[400], hub_pub[400];
	char *argv[40], log[320];
	int argc = 0;
	va_list ap;
	pid_t pid;

	tl_agent_paths(e, store, local, sizeof local, data, sizeof data);
	argv[argc++] = SS_BIN_DIR "/store-agent";
	argv[argc++] = "--store-id";
	argv[argc++] = (char *)store;
	argv[argc++] = "--data-dir";
	argv[argc++] = data;
	argv[argc++] = "--hub";
	argv[argc++] = (char *)e->hub_listen;
	argv[argc++] = "--local";
	argv[argc++] = local;
	argv[argc++] = "--heartbeat-ms";
	argv[argc++] = "300";
	argv[argc++] = "--ack-timeout-ms";
	argv[argc++] = "1500";
	tl_store_key_args(e, store, secret, sizeof secret, hub_pub, sizeof hub_pub);
	tl_register_store(e, store);
	argv[argc++] = "--curve-key";
	argv[argc++] = secret;
	argv[argc++] = "--hub-key";
	argv[argc++] = hub_pub;
	va_start(ap, store);
	collect_args(argv, &argc, ap);
	va_end(ap);
	snprintf(log, sizeof log, "%s/agent-%s.log", e->dir, store);
	pid = spawn(log, argv);
	for (int i = 0; i < 200; i++) {
		Storesync__StatusReply *st = tl_status(local, 200);

		if (st) {
			tl_status_free(st);
			return pid;
		}
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "agent exited (see %s)", log);
	}
	ck_abort_msg("agent %s did not start (see %s)", store, log);
	return -1;
}

void tl_kill9(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void tl_stop(pid_t pid)
{
	int status = 0;

	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"process %d did not stop cleanly (status %d)", (int)pid, status);
}

Storesync__Record *tl_sale(int64_t total_fen, const char *receipt_no)
{
	Storesync__Record *r = calloc(1, sizeof *r);
	Storesync__Sale *s = calloc(1, sizeof *s);
	Storesync__SaleLine *l = calloc(1, sizeof *l);

	storesync__record__init(r);
	storesync__sale__init(s);
	storesync__sale_line__init(l);
	l->sku = strdup("SKU-1");
	l->quantity = 1;
	l->has_quantity = 1;
	l->unit_price_fen = total_fen;
	l->has_unit_price_fen = 1;
	s->receipt_no = strdup(receipt_no);
	s->lines = calloc(1, sizeof *s->lines);
	s->lines[0] = l;
	s->n_lines = 1;
	s->total_fen = total_fen;
	s->has_total_fen = 1;
	s->payment_method = STORESYNC__PAYMENT_METHOD__PAY_CASH;
	s->has_payment_method = 1;
	s->cashier = strdup("C1");
	r->time_ms = ss_now_ms();
	r->has_time_ms = 1;
	r->body_case = STORESYNC__RECORD__BODY_SALE;
	r->sale = s;
	return r;
}

/* One REQ round trip; returns the reply body or NULL on timeout. */
static ProtobufCMessage *req_reply(const char *ep, const ProtobufCMessage *req,
	const ProtobufCMessageDescriptor *reply_desc, int timeout_ms)
{
	void *ctx = zmq_ctx_new(), *sock;
	ProtobufCMessage *reply = NULL;
	char err[128];
	zmq_msg_t m;

	sock = ss_link_socket(ctx, ZMQ_REQ, err, sizeof err);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
	zmq_msg_init(&m);
	if (zmq_connect(sock, ep) == 0 && ss_proto_send(sock, req, 0) == 0
		&& zmq_msg_recv(&m, sock, 0) >= 0)
		reply = ss_proto_unpack(reply_desc, zmq_msg_data(&m), zmq_msg_size(&m),
			SS_MAX_MSG_BYTES);
	zmq_msg_close(&m);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return reply;
}

int tl_submit(const char *local, Storesync__Record **recs, size_t n, uint64_t *seqs,
	char **errors, int timeout_ms)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__LocalReply *reply;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	req.submit = &sub;
	sub.records = recs;
	sub.n_records = n;
	reply = (Storesync__LocalReply *)req_reply(local, &req.base,
		&storesync__local_reply__descriptor, timeout_ms);
	if (!reply)
		return -1;
	ck_assert_int_eq(reply->kind_case, STORESYNC__LOCAL_REPLY__KIND_SUBMIT);
	ck_assert_uint_eq(reply->submit->n_results, n);
	for (size_t i = 0; i < n; i++) {
		Storesync__SubmitResult *r = reply->submit->results[i];

		seqs[i] = r->error ? 0 : r->seq;
		if (errors)
			errors[i] = r->error ? strdup(r->error) : NULL;
	}
	storesync__local_reply__free_unpacked(reply, NULL);
	return 0;
}

Storesync__StatusReply *tl_status(const char *local, int timeout_ms)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__StatusRequest st = STORESYNC__STATUS_REQUEST__INIT;
	Storesync__LocalReply *reply;
	Storesync__StatusReply *out;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_STATUS;
	req.status = &st;
	reply = (Storesync__LocalReply *)req_reply(local, &req.base,
		&storesync__local_reply__descriptor, timeout_ms);
	if (!reply)
		return NULL;
	if (reply->kind_case != STORESYNC__LOCAL_REPLY__KIND_STATUS) {
		storesync__local_reply__free_unpacked(reply, NULL);
		return NULL;
	}
	/* Detach the status from its envelope. */
	out = reply->status;
	reply->status = NULL;
	reply->kind_case = STORESYNC__LOCAL_REPLY__KIND__NOT_SET;
	storesync__local_reply__free_unpacked(reply, NULL);
	return out;
}

void tl_status_free(Storesync__StatusReply *st)
{
	storesync__status_reply__free_unpacked(st, NULL);
}

static Storesync__QueryReply *query(const char *ep, const char *what)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.what = (char *)what;
	return (Storesync__QueryReply *)req_reply(ep, &req.base, &storesync__query_reply__descriptor,
		500);
}

static int column(const Storesync__QueryReply *r, const char *name)
{
	for (size_t i = 0; i < r->n_columns; i++)
		if (strcmp(r->columns[i], name) == 0)
			return (int)i;
	return -1;
}

int64_t tl_store_field(const char *query_ep, const char *store, const char *col)
{
	Storesync__QueryReply *r = query(query_ep, "stores");
	int64_t v = -1;
	int c, id;

	if (!r)
		return -1;
	c = column(r, col);
	id = column(r, "store_id");
	for (size_t i = 0; c >= 0 && id >= 0 && i < r->n_rows; i++)
		if (strcmp(r->rows[i]->cells[id]->s, store) == 0)
			v = r->rows[i]->cells[c]->i;
	storesync__query_reply__free_unpacked(r, NULL);
	return v;
}

int64_t tl_hub_stat(const char *query_ep, const char *counter)
{
	Storesync__QueryReply *r = query(query_ep, "stats");
	int64_t v = -1;

	if (!r)
		return -1;
	for (size_t i = 0; i < r->n_rows; i++)
		if (strcmp(r->rows[i]->cells[0]->s, counter) == 0)
			v = r->rows[i]->cells[1]->i;
	storesync__query_reply__free_unpacked(r, NULL);
	return v;
}

int64_t tl_wait_records(const char *query_ep, const char *store, int64_t want, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms, v = -1;

	while (ss_mono_ms() < deadline) {
		v = tl_store_field(query_ep, store, "records");
		if (v >= want)
			break;
		ss_sleep_ms(100);
	}
	return v;
}

int64_t tl_wait_hub_backlog_zero(const char *query_ep, const char *store, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms, v = -1;

	while (ss_mono_ms() < deadline && (v = tl_store_field(query_ep, store, "backlog")) != 0)
		ss_sleep_ms(100);
	return v;
}

int tl_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tl_need(const char *check, const char *test, const char *why)
{
	const char *ci = getenv("CI");

	if (tl_sh("%s", check) == 0)
		return 1;
	ck_assert_msg(!ci || strcmp(ci, "true") != 0, "%s: %s, and CI=true runs every test", test,
		why);
	fprintf(stderr, "SKIP %s: %s\n", test, why);
	return 0;
}

int tl_run(const char *name, const TTest *const *tests, size_t n, double timeout_s)
{
	Suite *s = suite_create(name);
	SRunner *sr;
	int failed;

	for (size_t i = 0; i < n; i++) {
		TCase *tc = tcase_create(tests[i]->name);

		tcase_set_timeout(tc, timeout_s);
		tcase_add_test(tc, tests[i]);
		suite_add_tcase(s, tc);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

int tl_submit_sales(const char *local, size_t n, int64_t amount_fen, const char *prefix,
	uint64_t first_no, uint64_t *seqs, int timeout_ms)
{
	Storesync__Record **recs = calloc(n ? n : 1, sizeof *recs);
	uint64_t *own = seqs ? NULL : calloc(n ? n : 1, sizeof *own);
	int rc, accepted = 0;
	char receipt[80];

	ck_assert_ptr_nonnull(recs);
	if (!seqs) {
		ck_assert_ptr_nonnull(own);
		seqs = own;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(receipt, sizeof receipt, "%s-%llu", prefix,
			(unsigned long long)(first_no + i));
		recs[i] = tl_sale(amount_fen, receipt);
	}
	rc = tl_submit(local, recs, n, seqs, NULL, timeout_ms);
	for (size_t i = 0; i < n; i++) {
		accepted += rc == 0 && seqs[i] > 0;
		storesync__record__free_unpacked(recs[i], NULL);
	}
	free(recs);
	free(own);
	return rc == 0 ? accepted : -1;
}

int64_t tl_wait_drained(const char *local, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms;

	while (ss_mono_ms() < deadline) {
		Storesync__StatusReply *st = tl_status(local, 1000);
		int64_t last = -1;

		if (st && st->acked_seq == st->last_seq)
			last = (int64_t)st->last_seq;
		if (st)
			tl_status_free(st);
		if (last >= 0)
			return last;
		ss_sleep_ms(100);
	}
	return -1;
}

/* ---- Test peer on the hub's link ROUTER ---- */

#define TL_LINK_WAIT_MS 5000

void tl_link_open(struct tl_link *l, const char *hub_listen)
{
	memset(l, 0, sizeof *l);
	snprintf(l->endpoint, sizeof l->endpoint, "%s", hub_listen);
}

/* Connects l as store (registered first), unless it is connected. */
static void link_connect(struct tl_link *l, const char *store)
{
	char err[128];

	if (l->sock)
		return;
	l->ctx = zmq_ctx_new();
	ck_assert_ptr_nonnull(l->ctx);
	l->sock = ss_link_socket(l->ctx, ZMQ_DEALER, err, sizeof err);
	ck_assert_msg(l->sock != NULL, "%s", err);
	tl_curve_as(l->sock, l->endpoint, store && store[0] ? store : "PEER");
	ck_assert_int_eq(zmq_connect(l->sock, l->endpoint), 0);
}

void tl_link_open_as(struct tl_link *l, const char *hub_listen, const char *store)
{
	tl_link_open(l, hub_listen);
	link_connect(l, store);
}

/* The store a link message names, or NULL. */
static const char *message_store(const Storesync__LinkMessage *m)
{
	if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HELLO && m->hello)
		return m->hello->store_id;
	if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_BATCH && m->batch)
		return m->batch->store_id;
	return NULL;
}

/* Connects l for bytes about to be sent: as the store they name when they
 * are a link message naming one. */
static void link_connect_for(struct tl_link *l, const void *buf, size_t len)
{
	Storesync__LinkMessage *m;

	if (l->sock)
		return;
	m = storesync__link_message__unpack(NULL, len, buf);
	link_connect(l, m ? message_store(m) : NULL);
	if (m)
		storesync__link_message__free_unpacked(m, NULL);
}

void tl_link_close(struct tl_link *l)
{
	for (size_t i = 0; i < l->n_updates; i++)
		storesync__link_message__free_unpacked(l->updates[i], NULL);
	l->n_updates = 0;
	if (!l->sock)
		return;
	zmq_close(l->sock);
	zmq_ctx_term(l->ctx);
	l->sock = l->ctx = NULL;
}

void tl_link_send_raw(struct tl_link *l, const void *buf, size_t len, int frames)
{
	size_t part = frames > 1 ? len / (size_t)frames : len, off = 0;

	link_connect_for(l, buf, len);

	for (int i = 0; i < frames; i++) {
		size_t n = i == frames - 1 ? len - off : part;

		ck_assert_int_ge(zmq_send(l->sock, (const char *)buf + off, n,
			i == frames - 1 ? 0 : ZMQ_SNDMORE), 0);
		off += n;
	}
}

void tl_link_send(struct tl_link *l, Storesync__LinkMessage *m)
{
	if (!m->has_proto_version) {
		m->proto_version = SS_PROTO_VERSION;
		m->has_proto_version = 1;
	}
	link_connect(l, message_store(m));
	ck_assert_int_eq(ss_proto_send(l->sock, &m->base, 0), 0);
}

Storesync__LinkMessage *tl_link_recv(struct tl_link *l, int timeout_ms)
{
	zmq_pollitem_t it;
	Storesync__LinkMessage *m;
	zmq_msg_t f[1];
	int n;

	link_connect(l, NULL);
	it = (zmq_pollitem_t){ l->sock, 0, ZMQ_POLLIN, 0 };

	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return NULL;
	n = ss_link_recv(l->sock, f, 1, 0);
	ck_assert_msg(n == 1, "hub sent %d frames, want 1", n);
	m = (Storesync__LinkMessage *)ss_proto_unpack(&storesync__link_message__descriptor,
		zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), SS_MAX_MSG_BYTES);
	zmq_msg_close(&f[0]);
	ck_assert_msg(m != NULL, "hub sent a message that does not parse");
	ck_assert_uint_eq(m->proto_version, SS_PROTO_VERSION);
	return m;
}

Storesync__LinkMessage *tl_link_expect(struct tl_link *l, Storesync__LinkMessage__KindCase kind,
	int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - ss_mono_ms();
		Storesync__LinkMessage *m = tl_link_recv(l, left > 0 ? (int)left : 0);

		ck_assert_msg(m != NULL, "no message of kind %d from the hub within %d ms",
			(int)kind, timeout_ms);
		if (m->kind_case == kind)
			return m;
		if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_UPDATE
			&& l->n_updates < sizeof l->updates / sizeof l->updates[0]) {
			l->updates[l->n_updates++] = m;
			continue;
		}
		if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_RESEND) {
			l->resend_from = m->resend->from_seq;
			l->resends++;
		} else if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ERROR) {
			ck_abort_msg("hub sent Error %d (%s) while kind %d was expected",
				(int)m->error->code, m->error->reason ? m->error->reason : "",
				(int)kind);
		} else {
			ck_assert_msg(m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT,
				"hub sent kind %d while kind %d was expected", (int)m->kind_case,
				(int)kind);
		}
		storesync__link_message__free_unpacked(m, NULL);
	}
}

uint64_t tl_link_hello(struct tl_link *l, const char *store, uint64_t epoch)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT, *w;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	uint64_t hw;

	h.store_id = (char *)store;
	h.epoch = epoch;
	h.has_epoch = 1;
	h.agent_version = "test-peer";
	h.proto_version = SS_PROTO_VERSION;
	h.has_proto_version = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	tl_link_send(l, &m);
	w = tl_link_expect(l, STORESYNC__LINK_MESSAGE__KIND_WELCOME, TL_LINK_WAIT_MS);
	ck_assert(w->welcome->has_high_water_seq);
	hw = w->welcome->high_water_seq;
	storesync__link_message__free_unpacked(w, NULL);
	return hw;
}

void tl_link_batch(struct tl_link *l, const char *store, uint64_t epoch, uint64_t first_seq,
	size_t n, int64_t (*amount)(uint64_t seq))
{
	Storesync__Record **recs = calloc(n ? n : 1, sizeof *recs);
	char receipt[32];

	ck_assert_ptr_nonnull(recs);
	for (size_t i = 0; i < n; i++) {
		/* A receipt number of its own per epoch: a reinstalled store goes on
		 * numbering, it does not send receipt R-1 again (business keys). */
		snprintf(receipt, sizeof receipt, "R-%x-%llu", (unsigned)(epoch & 0xffff),
			(unsigned long long)(first_seq + i));
		recs[i] = tl_sale(amount(first_seq + i), receipt);
	}
	tl_link_batch_records(l, store, epoch, first_seq, recs, n);
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(recs[i], NULL);
	free(recs);
}

uint64_t tl_link_ack(struct tl_link *l)
{
	Storesync__LinkMessage *m = tl_link_expect(l, STORESYNC__LINK_MESSAGE__KIND_ACK,
		TL_LINK_WAIT_MS);
	uint64_t through;

	ck_assert(m->ack->has_through_seq);
	through = m->ack->through_seq;
	storesync__link_message__free_unpacked(m, NULL);
	return through;
}

void tl_link_expect_error(struct tl_link *l, Storesync__ErrorCode code)
{
	Storesync__LinkMessage *m = tl_link_expect(l, STORESYNC__LINK_MESSAGE__KIND_ERROR,
		TL_LINK_WAIT_MS);

	ck_assert_msg(m->error->has_code && m->error->code == code,
		"Error code %d (%s), want %d", (int)m->error->code,
		m->error->reason ? m->error->reason : "", (int)code);
	ck_assert_msg(m->error->reason && m->error->reason[0], "Error without a reason");
	storesync__link_message__free_unpacked(m, NULL);
}

static ProtobufCMessage *raw_reply(const char *ep, const void *buf, size_t len,
	const ProtobufCMessageDescriptor *reply_desc, int timeout_ms)
{
	void *ctx = zmq_ctx_new(), *sock;
	ProtobufCMessage *reply = NULL;
	char err[128];
	zmq_msg_t m;

	sock = ss_link_socket(ctx, ZMQ_REQ, err, sizeof err);
	ck_assert_msg(sock != NULL, "%s", err);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
	zmq_msg_init(&m);
	if (zmq_connect(sock, ep) == 0 && zmq_send(sock, buf, len, 0) >= 0
		&& zmq_msg_recv(&m, sock, 0) >= 0)
		reply = ss_proto_unpack(reply_desc, zmq_msg_data(&m), zmq_msg_size(&m),
			SS_MAX_MSG_BYTES);
	zmq_msg_close(&m);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return reply;
}

Storesync__LocalReply *tl_local_raw(const char *ep, const void *buf, size_t len, int timeout_ms)
{
	return (Storesync__LocalReply *)raw_reply(ep, buf, len, &storesync__local_reply__descriptor,
		timeout_ms);
}

Storesync__QueryReply *tl_query_raw(const char *ep, const void *buf, size_t len, int timeout_ms)
{
	return (Storesync__QueryReply *)raw_reply(ep, buf, len, &storesync__query_reply__descriptor,
		timeout_ms);
}

uint8_t *tl_pack_patched(const ProtobufCMessage *m, const char *mark, const char *with,
	size_t with_len, size_t *len)
{
	uint8_t *buf = ss_proto_pack(m, len);
	size_t n = strlen(mark);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(n, with_len);
	for (size_t i = 0; i + n <= *len; i++)
		if (memcmp(buf + i, mark, n) == 0) {
			memcpy(buf + i, with, n);
			return buf;
		}
	ck_abort_msg("mark %s not in the packed message", mark);
	return NULL;
}

int64_t tl_vm_hwm_kib(pid_t pid)
{
	char path[64], line[256];
	long long kib = -1;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(fp = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, fp))
		if (sscanf(line, "VmHWM: %lld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

int64_t tl_cpu_ticks(pid_t pid)
{
	char path[64];
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	/* Fields 14 and 15; the command name (2) has no spaces in ours. */
	if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return (int64_t)(ut + st);
}

int tl_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

int tl_alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

uint64_t tl_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* ---- Operators' queries and JSON Lines records ---- */

#include "ss_json.h"

static Storesync__QueryReply *vquery(const char *ep, const char *what, va_list ap)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam params[16], *pp[16];
	Storesync__QueryReply *reply;
	const char *k;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.what = (char *)what;
	while ((k = va_arg(ap, const char *)) != NULL) {
		ck_assert_msg(req.n_params < 16, "tl_query: too many params");
		storesync__query_param__init(&params[req.n_params]);
		params[req.n_params].key = (char *)k;
		params[req.n_params].value = va_arg(ap, char *);
		pp[req.n_params] = &params[req.n_params];
		req.n_params++;
	}
	req.params = pp;
	reply = (Storesync__QueryReply *)req_reply(ep, &req.base,
		&storesync__query_reply__descriptor, 5000);
	return reply;
}

Storesync__QueryReply *tl_query(const char *query_ep, const char *what, ...)
{
	Storesync__QueryReply *r;
	va_list ap;

	va_start(ap, what);
	r = vquery(query_ep, what, ap);
	va_end(ap);
	return r;
}

Storesync__QueryReply *tl_query_ok(const char *query_ep, const char *what, ...)
{
	Storesync__QueryReply *r;
	va_list ap;

	va_start(ap, what);
	r = vquery(query_ep, what, ap);
	va_end(ap);
	ck_assert_msg(r != NULL, "hub did not answer query %s", what);
	ck_assert_msg(r->error == NULL, "query %s refused: %s", what, r->error ? r->error : "");
	return r;
}

void tl_query_free(Storesync__QueryReply *r)
{
	if (r)
		storesync__query_reply__free_unpacked(r, NULL);
}

static int column_or_fail(const Storesync__QueryReply *r, const char *name)
{
	int c = column(r, name);

	ck_assert_msg(c >= 0, "reply has no column \"%s\"", name);
	return c;
}

/* 1 when row matches every (column, text) pair of ap. */
static int row_matches(const Storesync__QueryReply *r, size_t row, va_list ap)
{
	const char *col;
	int ok = 1;

	while ((col = va_arg(ap, const char *)) != NULL) {
		const char *want = va_arg(ap, const char *);
		const Storesync__Cell *cell;
		char num[32];
		int c = column_or_fail(r, col);

		if (!ok)
			continue;
		ck_assert_uint_gt(r->rows[row]->n_cells, (size_t)c);
		cell = r->rows[row]->cells[c];
		if (cell->value_case == STORESYNC__CELL__VALUE_I) {
			snprintf(num, sizeof num, "%lld", (long long)cell->i);
			ok = strcmp(num, want) == 0;
		} else {
			ok = cell->s && strcmp(cell->s, want) == 0;
		}
	}
	return ok;
}

int tl_row_find(const Storesync__QueryReply *r, ...)
{
	for (size_t i = 0; i < r->n_rows; i++) {
		va_list ap;
		int ok;

		va_start(ap, r);
		ok = row_matches(r, i, ap);
		va_end(ap);
		if (ok)
			return (int)i;
	}
	return -1;
}

size_t tl_row_count(const Storesync__QueryReply *r, ...)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_rows; i++) {
		va_list ap;

		va_start(ap, r);
		n += (size_t)row_matches(r, i, ap);
		va_end(ap);
	}
	return n;
}

static const Storesync__Cell *cell_at(const Storesync__QueryReply *r, int row,
	const char *name)
{
	int c = column_or_fail(r, name);

	ck_assert_msg(row >= 0 && (size_t)row < r->n_rows, "row %d of %zu (column %s)", row,
		r->n_rows, name);
	ck_assert_uint_gt(r->rows[row]->n_cells, (size_t)c);
	return r->rows[row]->cells[c];
}

int64_t tl_cell_int(const Storesync__QueryReply *r, int row, const char *column)
{
	const Storesync__Cell *c = cell_at(r, row, column);

	ck_assert_msg(c->value_case == STORESYNC__CELL__VALUE_I, "column %s is not an integer",
		column);
	return c->i;
}

const char *tl_cell_str(const Storesync__QueryReply *r, int row, const char *column)
{
	const Storesync__Cell *c = cell_at(r, row, column);

	ck_assert_msg(c->value_case == STORESYNC__CELL__VALUE_S, "column %s is not a string",
		column);
	return c->s ? c->s : "";
}

Storesync__Record *tl_json_record(const char *line)
{
	json_error_t jerr;
	json_t *j = json_loads(line, 0, &jerr);
	Storesync__Record *r;
	char err[256] = "";

	ck_assert_msg(j != NULL, "not JSON (%s): %s", jerr.text, line);
	r = ss_json_to_record(j, err, sizeof err);
	json_decref(j);
	ck_assert_msg(r != NULL, "not a record (%s): %s", err, line);
	return r;
}

uint64_t tl_submit_json(const char *local, const char *const *lines, size_t n)
{
	Storesync__Record **recs = calloc(n ? n : 1, sizeof *recs);
	uint64_t *seqs = calloc(n ? n : 1, sizeof *seqs), last = 0;
	char **errors = calloc(n ? n : 1, sizeof *errors);

	ck_assert(recs && seqs && errors);
	for (size_t i = 0; i < n; i++)
		recs[i] = tl_json_record(lines[i]);
	ck_assert_msg(tl_submit(local, recs, n, seqs, errors, 5000) == 0,
		"agent %s did not answer the submit", local);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(seqs[i] > 0, "record refused by the agent (%s): %s",
			errors[i] ? errors[i] : "?", lines[i]);
		last = seqs[i];
		free(errors[i]);
		storesync__record__free_unpacked(recs[i], NULL);
	}
	free(recs);
	free(seqs);
	free(errors);
	return last;
}

uint64_t tl_submit_jsonf(const char *local, const char *fmt, ...)
{
	char line[4096];
	const char *lines[1] = { line };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ck_assert_msg(n > 0 && (size_t)n < sizeof line, "record line too long");
	return tl_submit_json(local, lines, 1);
}

const char *tl_case_no(char *buf, size_t len, const char *store, int serial, int64_t time_ms,
	int32_t utc_offset_min)
{
	time_t t = (time_t)((time_ms + (int64_t)utc_offset_min * 60000) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s-%04d%02d-%d", store, tm.tm_year + 1900, tm.tm_mon + 1, serial);
	return buf;
}

uint64_t tl_link_send_json(struct tl_link *l, const char *store, uint64_t epoch,
	uint64_t first_seq, int32_t utc_offset_min, const char *const *lines, size_t n)
{
	Storesync__Record **recs = calloc(n ? n : 1, sizeof *recs);
	uint64_t through;

	ck_assert_ptr_nonnull(recs);
	for (size_t i = 0; i < n; i++) {
		recs[i] = tl_json_record(lines[i]);
		recs[i]->recorded_ms = recs[i]->time_ms + 1000;
		recs[i]->has_recorded_ms = 1;
		recs[i]->utc_offset_min = utc_offset_min;
		recs[i]->has_utc_offset_min = 1;
	}
	tl_link_batch_records(l, store, epoch, first_seq, recs, n);
	through = tl_link_ack(l);
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(recs[i], NULL);
	free(recs);
	return through;
}

void tl_link_batch_records(struct tl_link *l, const char *store, uint64_t epoch,
	uint64_t first_seq, Storesync__Record **recs, size_t n)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;

	for (size_t i = 0; i < n; i++) {
		recs[i]->seq = first_seq + i;
		recs[i]->has_seq = 1;
		/* What an agent stamps on every record it makes durable. */
		if (!recs[i]->has_recorded_ms) {
			recs[i]->recorded_ms = recs[i]->time_ms;
			recs[i]->has_recorded_ms = 1;
		}
	}
	b.store_id = (char *)store;
	b.epoch = epoch;
	b.has_epoch = 1;
	b.first_seq = first_seq;
	b.has_first_seq = 1;
	b.records = recs;
	b.n_records = n;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	tl_link_send(l, &m);
}

/* ---- A test hub peer for the down-flow ---- */

void tl_fakehub_open(struct tl_fakehub *h, const char *endpoint)
{
	char err[128];

	memset(h, 0, sizeof *h);
	h->ctx = zmq_ctx_new();
	ck_assert_ptr_nonnull(h->ctx);
	h->sock = ss_link_socket(h->ctx, ZMQ_ROUTER, err, sizeof err);
	ck_assert_msg(h->sock != NULL, "%s", err);
	tl_curve_serve_as_hub(h->sock, endpoint);
	ck_assert_msg(zmq_bind(h->sock, endpoint) == 0, "bind %s: %s", endpoint,
		zmq_strerror(errno));
}

void tl_fakehub_close(struct tl_fakehub *h)
{
	zmq_close(h->sock);
	zmq_ctx_term(h->ctx);
	h->sock = h->ctx = NULL;
}

static int fakehub_send_link(struct tl_fakehub *h, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	if (h->peer_len == 0
		|| zmq_send(h->sock, h->peer, h->peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	return ss_proto_send(h->sock, &m->base, ZMQ_DONTWAIT);
}

/* What a hub does with the agent's upstream traffic. */
static void fakehub_serve(struct tl_fakehub *h, zmq_msg_t *id,
	const Storesync__LinkMessage *m)
{
	Storesync__LinkMessage r = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Welcome w = STORESYNC__WELCOME__INIT;
	Storesync__Ack ack = STORESYNC__ACK__INIT;

	if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HELLO) {
		ck_assert_uint_le(zmq_msg_size(id), sizeof h->peer);
		memcpy(h->peer, zmq_msg_data(id), zmq_msg_size(id));
		h->peer_len = zmq_msg_size(id);
		h->hellos++;
		h->hello_applied = m->hello->applied_update_id;
		w.high_water_seq = m->hello->last_seq;
		w.has_high_water_seq = 1;
		r.kind_case = STORESYNC__LINK_MESSAGE__KIND_WELCOME;
		r.welcome = &w;
		fakehub_send_link(h, &r);
	} else if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_BATCH) {
		ack.epoch = m->batch->epoch;
		ack.has_epoch = 1;
		ack.through_seq = m->batch->first_seq + m->batch->n_records - 1;
		ack.has_through_seq = 1;
		r.kind_case = STORESYNC__LINK_MESSAGE__KIND_ACK;
		r.ack = &ack;
		fakehub_send_link(h, &r);
	} else if (m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT) {
		h->heartbeats++;
		h->hb.applied_update_id = m->heartbeat->applied_update_id;
		h->hb.price_update_id = m->heartbeat->price_update_id;
		h->hb.policy_update_id = m->heartbeat->policy_update_id;
	}
}

Storesync__LinkMessage *tl_fakehub_next(struct tl_fakehub *h,
	Storesync__LinkMessage__KindCase kind, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - ss_mono_ms();
		zmq_pollitem_t it = { h->sock, 0, ZMQ_POLLIN, 0 };
		Storesync__LinkMessage *m;
		zmq_msg_t f[2];
		int n;

		if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0)
			return NULL;
		n = ss_link_recv(h->sock, f, 2, 0);
		ck_assert_msg(n == 2, "agent sent %d frames, want routing id and one body", n);
		m = (Storesync__LinkMessage *)ss_proto_unpack(&storesync__link_message__descriptor,
			zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SS_MAX_MSG_BYTES);
		ck_assert_msg(m != NULL, "agent sent a message that does not parse");
		fakehub_serve(h, &f[0], m);
		ss_link_close_frames(f, 2);
		if (m->kind_case == kind)
			return m;
		storesync__link_message__free_unpacked(m, NULL);
	}
}

uint64_t tl_fakehub_hello(struct tl_fakehub *h, int timeout_ms)
{
	if (h->hellos == 0) {
		Storesync__LinkMessage *m = tl_fakehub_next(h, STORESYNC__LINK_MESSAGE__KIND_HELLO,
			timeout_ms);

		ck_assert_msg(m != NULL, "no Hello from the agent within %d ms", timeout_ms);
		storesync__link_message__free_unpacked(m, NULL);
	}
	return h->hello_applied;
}

void tl_fakehub_forget(struct tl_fakehub *h)
{
	/* What the dead process wrote may still be on its way through the
	 * socket: listen a little before declaring the queue empty. */
	tl_fakehub_next(h, STORESYNC__LINK_MESSAGE__KIND__NOT_SET, 100);
	h->hellos = 0;
	h->peer_len = 0;
}

int tl_fakehub_send(struct tl_fakehub *h, const Storesync__Update *u)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;

	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_UPDATE;
	m.update = (Storesync__Update *)u;
	return fakehub_send_link(h, &m);
}

uint64_t tl_fakehub_ack(struct tl_fakehub *h, Storesync__UpdateAck *ack, int timeout_ms)
{
	Storesync__LinkMessage *m = tl_fakehub_next(h, STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK,
		timeout_ms);
	uint64_t applied;

	ck_assert_msg(m != NULL, "no UpdateAck from the agent within %d ms", timeout_ms);
	applied = m->update_ack->applied_update_id;
	if (ack) {
		storesync__update_ack__init(ack);
		ack->applied_update_id = applied;
		ack->price_update_id = m->update_ack->price_update_id;
		ack->policy_update_id = m->update_ack->policy_update_id;
	}
	storesync__link_message__free_unpacked(m, NULL);
	return applied;
}

uint64_t tl_fakehub_apply(struct tl_fakehub *h, const Storesync__Update *u)
{
	ck_assert_int_eq(tl_fakehub_send(h, u), 0);
	return tl_fakehub_ack(h, NULL, 10000);
}

Storesync__Update *tl_update(uint64_t update_id, uint64_t after_id)
{
	Storesync__Update *u = calloc(1, sizeof *u);

	ck_assert_ptr_nonnull(u);
	storesync__update__init(u);
	u->update_id = update_id;
	u->has_update_id = 1;
	u->after_id = after_id;
	u->has_after_id = 1;
	u->created_ms = ss_now_ms();
	u->has_created_ms = 1;
	return u;
}

/* Appends item to a repeated field (*items, *n). */
static void append(void ***items, size_t *n, void *item)
{
	void **grown = realloc(*items, (*n + 1) * sizeof *grown);

	ck_assert_ptr_nonnull(grown);
	grown[(*n)++] = item;
	*items = grown;
}

static Storesync__PriceEntry *price_entry(const char *sku, int64_t price_fen)
{
	Storesync__PriceEntry *e = calloc(1, sizeof *e);

	ck_assert_ptr_nonnull(e);
	storesync__price_entry__init(e);
	e->sku = strdup(sku);
	e->price_fen = price_fen;
	e->has_price_fen = 1;
	return e;
}

static Storesync__PolicyEntry *policy_entry(const char *name, int64_t value)
{
	Storesync__PolicyEntry *e = calloc(1, sizeof *e);

	ck_assert_ptr_nonnull(e);
	storesync__policy_entry__init(e);
	e->name = strdup(name);
	e->value = value;
	e->has_value = 1;
	return e;
}

void tl_update_price(Storesync__Update *u, int64_t effective_ms, const char *sku,
	int64_t price_fen)
{
	if (u->body_case != STORESYNC__UPDATE__BODY_PRICES) {
		ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY__NOT_SET);
		u->prices = calloc(1, sizeof *u->prices);
		ck_assert_ptr_nonnull(u->prices);
		storesync__price_list__init(u->prices);
		u->prices->effective_ms = effective_ms;
		u->prices->has_effective_ms = 1;
		u->body_case = STORESYNC__UPDATE__BODY_PRICES;
	}
	append((void ***)&u->prices->prices, &u->prices->n_prices, price_entry(sku, price_fen));
}

void tl_update_policy(Storesync__Update *u, int64_t effective_ms, const char *name,
	int64_t value)
{
	if (u->body_case != STORESYNC__UPDATE__BODY_POLICIES) {
		ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY__NOT_SET);
		u->policies = calloc(1, sizeof *u->policies);
		ck_assert_ptr_nonnull(u->policies);
		storesync__policy_set__init(u->policies);
		u->policies->effective_ms = effective_ms;
		u->policies->has_effective_ms = 1;
		u->body_case = STORESYNC__UPDATE__BODY_POLICIES;
	}
	append((void ***)&u->policies->values, &u->policies->n_values, policy_entry(name, value));
}

static Storesync__CollectionNotice *notice(const char *account, int64_t since_ms,
	int64_t balance_fen, int64_t issued_ms)
{
	Storesync__CollectionNotice *n = calloc(1, sizeof *n);

	ck_assert_ptr_nonnull(n);
	storesync__collection_notice__init(n);
	n->account = strdup(account);
	n->since_ms = since_ms;
	n->has_since_ms = 1;
	n->balance_fen = balance_fen;
	n->has_balance_fen = 1;
	n->issued_ms = issued_ms;
	n->has_issued_ms = 1;
	return n;
}

void tl_update_notice(Storesync__Update *u, const char *account, int64_t since_ms,
	int64_t balance_fen, int64_t issued_ms)
{
	ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY__NOT_SET);
	u->notice = notice(account, since_ms, balance_fen, issued_ms);
	u->body_case = STORESYNC__UPDATE__BODY_NOTICE;
}

void tl_update_decision(Storesync__Update *u, const char *request_no, int approved,
	int64_t quantity, const char *note)
{
	Storesync__ReplenishmentDecision *d = calloc(1, sizeof *d);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY__NOT_SET);
	storesync__replenishment_decision__init(d);
	d->request_no = strdup(request_no);
	d->decision = approved ? STORESYNC__DECISION__DECISION_APPROVED
		: STORESYNC__DECISION__DECISION_REFUSED;
	d->has_decision = 1;
	d->quantity = quantity;
	d->has_quantity = 1;
	d->note = note ? strdup(note) : NULL;
	d->decided_ms = ss_now_ms();
	d->has_decided_ms = 1;
	u->decision = d;
	u->body_case = STORESYNC__UPDATE__BODY_DECISION;
}

void tl_update_snapshot(Storesync__Update *u, uint32_t part, uint32_t parts)
{
	ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY__NOT_SET);
	u->snapshot = calloc(1, sizeof *u->snapshot);
	ck_assert_ptr_nonnull(u->snapshot);
	storesync__snapshot__init(u->snapshot);
	u->snapshot->part = part;
	u->snapshot->has_part = 1;
	u->snapshot->parts = parts;
	u->snapshot->has_parts = 1;
	u->body_case = STORESYNC__UPDATE__BODY_SNAPSHOT;
}

void tl_snapshot_price(Storesync__Update *u, uint64_t update_id, int64_t effective_ms,
	const char *sku, int64_t price_fen)
{
	Storesync__DatedPrice *p = calloc(1, sizeof *p);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY_SNAPSHOT);
	storesync__dated_price__init(p);
	p->update_id = update_id;
	p->has_update_id = 1;
	p->effective_ms = effective_ms;
	p->has_effective_ms = 1;
	p->price = price_entry(sku, price_fen);
	append((void ***)&u->snapshot->prices, &u->snapshot->n_prices, p);
}

void tl_snapshot_policy(Storesync__Update *u, uint64_t update_id, int64_t effective_ms,
	const char *name, int64_t value)
{
	Storesync__DatedPolicy *p = calloc(1, sizeof *p);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY_SNAPSHOT);
	storesync__dated_policy__init(p);
	p->update_id = update_id;
	p->has_update_id = 1;
	p->effective_ms = effective_ms;
	p->has_effective_ms = 1;
	p->policy = policy_entry(name, value);
	append((void ***)&u->snapshot->policies, &u->snapshot->n_policies, p);
}

void tl_snapshot_notice(Storesync__Update *u, const char *account, int64_t since_ms,
	int64_t balance_fen, int64_t issued_ms)
{
	ck_assert_int_eq(u->body_case, STORESYNC__UPDATE__BODY_SNAPSHOT);
	append((void ***)&u->snapshot->notices, &u->snapshot->n_notices,
		notice(account, since_ms, balance_fen, issued_ms));
}

/* ---- The agent's local queries ---- */

Storesync__LocalReply *tl_local(const char *local, Storesync__LocalRequest *req, int timeout_ms)
{
	req->proto_version = SS_PROTO_VERSION;
	req->has_proto_version = 1;
	return (Storesync__LocalReply *)req_reply(local, &req->base,
		&storesync__local_reply__descriptor, timeout_ms);
}

Storesync__LocalReply *tl_price(const char *local, const char *sku, int64_t at_ms)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__PriceQuery q = STORESYNC__PRICE_QUERY__INIT;
	Storesync__LocalReply *r;

	q.sku = (char *)sku;
	q.at_ms = at_ms;
	q.has_at_ms = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_PRICE;
	req.price = &q;
	r = tl_local(local, &req, 5000);
	ck_assert_msg(r != NULL, "agent did not answer a price query");
	ck_assert_msg(r->error == NULL, "price query refused: %s", r->error ? r->error : "");
	ck_assert_int_eq(r->kind_case, STORESYNC__LOCAL_REPLY__KIND_PRICE);
	return r;
}

int64_t tl_price_fen(const char *local, const char *sku, int64_t at_ms)
{
	Storesync__LocalReply *r = tl_price(local, sku, at_ms);
	int64_t fen = r->price->found ? r->price->price_fen : -1;

	storesync__local_reply__free_unpacked(r, NULL);
	return fen;
}

int64_t tl_policy_value(const char *local, const char *name, int64_t at_ms)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__PolicyQuery q = STORESYNC__POLICY_QUERY__INIT;
	Storesync__LocalReply *r;
	int64_t v = INT64_MIN;

	q.at_ms = at_ms;
	q.has_at_ms = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_POLICY;
	req.policy = &q;
	r = tl_local(local, &req, 5000);
	ck_assert_msg(r != NULL && r->kind_case == STORESYNC__LOCAL_REPLY__KIND_POLICY,
		"agent did not answer a policy query");
	for (size_t i = 0; i < r->policy->n_values; i++)
		if (strcmp(r->policy->values[i]->name, name) == 0)
			v = r->policy->values[i]->value;
	storesync__local_reply__free_unpacked(r, NULL);
	ck_assert_msg(v != INT64_MIN, "agent has no policy %s", name);
	return v;
}

int tl_submit_results(const char *local, Storesync__Record **recs, size_t n,
	struct tl_result *res, int timeout_ms)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__LocalReply *reply;

	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	req.submit = &sub;
	sub.records = recs;
	sub.n_records = n;
	reply = tl_local(local, &req, timeout_ms);
	if (!reply)
		return -1;
	ck_assert_msg(reply->kind_case == STORESYNC__LOCAL_REPLY__KIND_SUBMIT,
		"submit refused: %s", reply->error ? reply->error : "?");
	ck_assert_uint_eq(reply->submit->n_results, n);
	for (size_t i = 0; i < n; i++) {
		Storesync__SubmitResult *r = reply->submit->results[i];

		res[i].seq = r->error ? 0 : r->seq;
		res[i].duplicate = r->has_duplicate && r->duplicate;
		snprintf(res[i].error, sizeof res[i].error, "%s", r->error ? r->error : "");
	}
	storesync__local_reply__free_unpacked(reply, NULL);
	return 0;
}

struct tl_result tl_submit_json_result(const char *local, const char *fmt, ...)
{
	char line[4096];
	struct tl_result res;
	Storesync__Record *r;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ck_assert_msg(n > 0 && (size_t)n < sizeof line, "record line too long");
	r = tl_json_record(line);
	ck_assert_msg(tl_submit_results(local, &r, 1, &res, 5000) == 0,
		"agent %s did not answer the submit", local);
	storesync__record__free_unpacked(r, NULL);
	return res;
}

/* ---- The down-flow, from a test peer ---- */

Storesync__LinkMessage *tl_link_update(struct tl_link *l, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms;

	if (l->n_updates) {
		Storesync__LinkMessage *m = l->updates[0];

		memmove(l->updates, l->updates + 1, --l->n_updates * sizeof l->updates[0]);
		return m;
	}
	for (;;) {
		int64_t left = deadline - ss_mono_ms();
		Storesync__LinkMessage *m = tl_link_recv(l, left > 0 ? (int)left : 0);

		if (!m || m->kind_case == STORESYNC__LINK_MESSAGE__KIND_UPDATE)
			return m;
		ck_assert_msg(m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT
			|| m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ACK,
			"hub sent kind %d while an update was awaited", (int)m->kind_case);
		storesync__link_message__free_unpacked(m, NULL);
	}
}

void tl_link_update_ack(struct tl_link *l, uint64_t applied)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__UpdateAck a = STORESYNC__UPDATE_ACK__INIT;

	a.applied_update_id = applied;
	a.has_applied_update_id = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK;
	m.update_ack = &a;
	tl_link_send(l, &m);
}

uint64_t tl_link_hello_applied(struct tl_link *l, const char *store, uint64_t epoch,
	uint64_t applied)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT, *w;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	uint64_t hw;

	h.store_id = (char *)store;
	h.epoch = epoch;
	h.has_epoch = 1;
	h.agent_version = "test-peer";
	h.proto_version = SS_PROTO_VERSION;
	h.has_proto_version = 1;
	h.applied_update_id = applied;
	h.has_applied_update_id = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	tl_link_send(l, &m);
	w = tl_link_expect(l, STORESYNC__LINK_MESSAGE__KIND_WELCOME, TL_LINK_WAIT_MS);
	hw = w->welcome->high_water_seq;
	storesync__link_message__free_unpacked(w, NULL);
	return hw;
}

Storesync__QueryReply *tl_request(const char *query_ep, Storesync__QueryRequest *req)
{
	req->proto_version = SS_PROTO_VERSION;
	req->has_proto_version = 1;
	return (Storesync__QueryReply *)req_reply(query_ep, &req->base,
		&storesync__query_reply__descriptor, 10000);
}

Storesync__QueryReply *tl_price_push(const char *query_ep, const char *prefix, size_t n,
	int64_t (*price)(size_t i), ...)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__PriceEntry *e = calloc(n ? n : 1, sizeof *e), **pe = calloc(n ? n : 1, sizeof *pe);
	Storesync__QueryParam params[8], *pp[8];
	Storesync__QueryReply *r;
	char (*skus)[40] = calloc(n ? n : 1, sizeof *skus);
	const char *k;
	va_list ap;

	ck_assert(e && pe && skus);
	for (size_t i = 0; i < n; i++) {
		storesync__price_entry__init(&e[i]);
		snprintf(skus[i], sizeof skus[i], "%s-%zu", prefix, i);
		e[i].sku = skus[i];
		e[i].price_fen = price(i);
		e[i].has_price_fen = 1;
		pe[i] = &e[i];
	}
	va_start(ap, price);
	while ((k = va_arg(ap, const char *)) != NULL && req.n_params < 8) {
		storesync__query_param__init(&params[req.n_params]);
		params[req.n_params].key = (char *)k;
		params[req.n_params].value = va_arg(ap, char *);
		pp[req.n_params] = &params[req.n_params];
		req.n_params++;
	}
	va_end(ap);
	req.what = "price push";
	req.params = pp;
	req.prices = pe;
	req.n_prices = n;
	r = tl_request(query_ep, &req);
	free(e);
	free(pe);
	free(skus);
	return r;
}

const char *tl_answer(const Storesync__QueryReply *r, const char *column)
{
	static char text[4][32];   /* a few answers may be in use at once */
	static unsigned next;
	const Storesync__Cell *c;

	ck_assert_msg(r != NULL, "no answer from the hub");
	ck_assert_msg(r->error == NULL, "refused: %s", r->error ? r->error : "");
	ck_assert_msg(r->n_rows >= 1, "answer without a row");
	c = cell_at(r, 0, column);
	if (c->value_case == STORESYNC__CELL__VALUE_S)
		return c->s ? c->s : "";
	snprintf(text[next % 4], sizeof text[0], "%lld", (long long)c->i);
	return text[next++ % 4];
}

size_t tl_log_count(const char *file, const char *ere)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	regex_t re;

	ck_assert_msg(regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) == 0, "bad regex %s", ere);
	while (f && getline(&line, &cap, f) >= 0)
		n += regexec(&re, line, 0, NULL, 0) == 0;
	free(line);
	if (f)
		fclose(f);
	regfree(&re);
	return n;
}

void tl_log_wait(const char *file, const char *ere, size_t count, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms;

	while (tl_log_count(file, ere) < count) {
		ck_assert_msg(ss_mono_ms() < deadline, "%s: fewer than %zu lines match /%s/", file,
			count, ere);
		ss_sleep_ms(50);
	}
}

/* ---- HTTP (added for test_metrics, test_status_page) ---- */

int tl_http_get(const char *addr, const char *path, const char *header, char **body,
	size_t *len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], req[1024], buf[65536];
	const char *colon = strrchr(addr, ':');
	FILE *out;
	char *all = NULL, *sep;
	size_t n = 0;
	int fd, status = -1;
	ssize_t got;

	*body = NULL;
	*len = 0;
	ck_assert_ptr_nonnull(colon);
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	ck_assert_int_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s%s\r\n",
		path, addr, header ? header : "", header ? "\r\n" : "");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	out = open_memstream(&all, &n);
	while ((got = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)got, out);
	fclose(out);
	close(fd);
	if (sscanf(all, "HTTP/1.%*d %d", &status) != 1 || !(sep = strstr(all, "\r\n\r\n"))) {
		free(all);
		return -1;
	}
	*len = n - (size_t)(sep + 4 - all);
	*body = malloc(*len + 1);
	memcpy(*body, sep + 4, *len);
	(*body)[*len] = '\0';
	free(all);
	return status;
}

void tl_hub_edit(const char *hub_data, const char *db, const char *key,
	const ProtobufCMessageDescriptor *desc, void (*edit)(ProtobufCMessage *m))
{
	MDB_val k = { strlen(key), (void *)key }, d;
	ProtobufCMessage *m;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t *buf;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 64);
	ck_assert_int_eq(mdb_env_open(env, hub_data, MDB_NOTLS, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &d), 0);
	m = protobuf_c_message_unpack(desc, NULL, d.mv_size, d.mv_data);
	ck_assert_ptr_nonnull(m);
	edit(m);
	d.mv_size = protobuf_c_message_get_packed_size(m);
	buf = malloc(d.mv_size ? d.mv_size : 1);
	ck_assert_ptr_nonnull(buf);
	protobuf_c_message_pack(m, buf);
	d.mv_data = buf;
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &d, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(buf);
	protobuf_c_message_free_unpacked(m, NULL);
}
