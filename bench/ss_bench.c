/* ss-bench: load generator and meter for bench/run. It talks to real
 * daemons (started by bench/run) through their public endpoints and prints
 * one line per figure: `name value unit`.
 *
 *   ss-bench single  AGENT_EP SECONDS RATE          one record per submit
 *   ss-bench batched AGENT_EP SECONDS BATCH         records/s into one agent
 *   ss-bench e2e     HUB_QUERY SECONDS BATCH AGENT_EP...  store to hub, sustained
 *   ss-bench fill    AGENT_EP RECORDS BATCH         buffer records (hub down)
 *   ss-bench drain   HUB_QUERY RECORDS              seconds until the hub holds them
 *   ss-bench query   HUB_QUERY NAME WHAT [KEY=VALUE...]  median time of a query
 *   ss-bench price   HUB_LISTEN AGENT_EP SKUS LOOKUPS  price lookups at the agent:
 *                    acts as the agent's hub to load SKUS prices, then times
 *                    LOOKUPS PriceQuery requests at the local endpoint
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_link.h"
#include "ss_proto.h"
#include "ss_time.h"
#include "ss_version.h"

#define PIPELINE 4   /* requests in flight per submitter */
/* e2e: how far the submitters may run ahead of the hub, in records: twice
 * what four agents keep in flight on their links (8 batches of 2,000 each),
 * so the links never run dry for want of records. */
#define E2E_BACKLOG 128000L
#define E2E_POLL_MS 20

/* A request of n sale records, packed once and sent many times. Every
 * record needs its own receipt number (the agent answers a repeated one as
 * a duplicate and writes nothing), so the receipts' digits are found in the
 * packed bytes once and renumbered in place before each send. */
struct request {
	void *buf;
	size_t len;
	size_t *digits;           /* offset of each record's receipt digits */
	size_t n;
};

#define RECEIPT_DIGITS 16

static atomic_ullong next_receipt = 1;

static void make_request(struct request *q, size_t n)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__Record *recs = calloc(n, sizeof *recs), **ptrs = calloc(n, sizeof *ptrs);
	Storesync__Sale *sales = calloc(n, sizeof *sales);
	Storesync__SaleLine l = STORESYNC__SALE_LINE__INIT, *lines[1] = { &l };
	char (*receipts)[48] = calloc(n, sizeof *receipts);

	l.sku = "SKU-0001";
	l.quantity = 2;
	l.has_quantity = 1;
	l.unit_price_fen = 1250;
	l.has_unit_price_fen = 1;
	for (size_t i = 0; i < n; i++) {
		storesync__sale__init(&sales[i]);
		storesync__record__init(&recs[i]);
		/* Unique in the packed bytes until renumbered: i, zero-padded. */
		snprintf(receipts[i], sizeof receipts[i], "RB%012llx-%0*zu",
			(unsigned long long)ss_now_ms(), RECEIPT_DIGITS, i);
		sales[i].receipt_no = receipts[i];
		sales[i].lines = lines;
		sales[i].n_lines = 1;
		sales[i].total_fen = 2500;
		sales[i].has_total_fen = 1;
		sales[i].payment_method = STORESYNC__PAYMENT_METHOD__PAY_CARD;
		sales[i].has_payment_method = 1;
		sales[i].cashier = "C01";
		recs[i].time_ms = ss_now_ms();
		recs[i].has_time_ms = 1;
		recs[i].body_case = STORESYNC__RECORD__BODY_SALE;
		recs[i].sale = &sales[i];
		ptrs[i] = &recs[i];
	}
	sub.records = ptrs;
	sub.n_records = n;
	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	req.submit = &sub;
	q->buf = ss_proto_pack(&req.base, &q->len);
	q->n = n;
	q->digits = calloc(n, sizeof *q->digits);
	for (size_t i = 0; i < n; i++) {
		size_t rl = strlen(receipts[i]);
		char *at = memmem(q->buf, q->len, receipts[i], rl);

		q->digits[i] = (size_t)(at - (char *)q->buf) + rl - RECEIPT_DIGITS;
	}
	free(receipts);
	free(sales);
	free(ptrs);
	free(recs);
}

/* Gives every record of q a receipt number not used before. */
static void renumber(struct request *q)
{
	char digits[RECEIPT_DIGITS + 1];

	for (size_t i = 0; i < q->n; i++) {
		snprintf(digits, sizeof digits, "%0*llu", RECEIPT_DIGITS,
			(unsigned long long)atomic_fetch_add(&next_receipt, 1));
		memcpy((char *)q->buf + q->digits[i], digits, RECEIPT_DIGITS);
	}
}

static void free_request(struct request *q)
{
	free(q->buf);
	free(q->digits);
}

/* Counts accepted records in a reply; -1 when any was refused. */
static long accepted_in(zmq_msg_t *m)
{
	Storesync__LocalReply *r = (Storesync__LocalReply *)ss_proto_unpack(
		&storesync__local_reply__descriptor, zmq_msg_data(m), zmq_msg_size(m), SS_MAX_MSG_BYTES);
	long n = 0;

	if (!r || r->kind_case != STORESYNC__LOCAL_REPLY__KIND_SUBMIT) {
		if (r)
			storesync__local_reply__free_unpacked(r, NULL);
		return -1;
	}
	for (size_t i = 0; i < r->submit->n_results; i++) {
		if (r->submit->results[i]->error) {
			fprintf(stderr, "ss-bench: refused: %s\n", r->submit->results[i]->error);
			n = -1;
			break;
		}
		/* Every receipt is new: a duplicate would be a record not written. */
		if (r->submit->results[i]->duplicate) {
			fprintf(stderr, "ss-bench: receipt taken for a duplicate\n");
			n = -1;
			break;
		}
		n++;
	}
	storesync__local_reply__free_unpacked(r, NULL);
	return n;
}

static void *connect_dealer(void *ctx, const char *ep)
{
	char err[128];
	void *s = ss_link_socket(ctx, ZMQ_DEALER, err, sizeof err);

	if (!s || zmq_connect(s, ep) != 0) {
		fprintf(stderr, "ss-bench: cannot connect %s\n", ep);
		exit(1);
	}
	return s;
}

/* DEALER framing for the agent's ROUTER: empty delimiter, then the body. */
static void send_raw(void *s, const void *buf, size_t len)
{
	zmq_send(s, "", 0, ZMQ_SNDMORE);
	zmq_send(s, buf, len, 0);
}

static void send_req(void *s, struct request *q)
{
	renumber(q);
	send_raw(s, q->buf, q->len);
}

static long recv_reply(void *s)
{
	zmq_msg_t f[2];
	int n = ss_link_recv(s, f, 2, 0);
	long acc;

	if (n != 2) {
		fprintf(stderr, "ss-bench: bad reply\n");
		exit(1);
	}
	acc = accepted_in(&f[1]);
	ss_link_close_frames(f, 2);
	return acc;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int bench_single(const char *ep, int seconds, int rate)
{
	void *ctx = zmq_ctx_new(), *s = connect_dealer(ctx, ep);
	size_t n = (size_t)seconds * rate, done = 0;
	struct request q;
	int64_t *lat_us = calloc(n, sizeof *lat_us), start = ss_mono_ms();

	make_request(&q, 1);
	for (; done < n; done++) {
		struct timespec a, b;
		int64_t due = start + (int64_t)(done * 1000 / (size_t)rate);

		while (ss_mono_ms() < due)
			ss_sleep_ms(due - ss_mono_ms());
		clock_gettime(CLOCK_MONOTONIC, &a);
		send_req(s, &q);
		if (recv_reply(s) != 1)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		lat_us[done] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	qsort(lat_us, n, sizeof *lat_us, cmp_i64);
	printf("submit_single_p50_ms %.3f ms\n", lat_us[n / 2] / 1000.0);
	printf("submit_single_p99_ms %.3f ms\n", lat_us[n * 99 / 100] / 1000.0);
	printf("submit_single_max_ms %.3f ms\n", lat_us[n - 1] / 1000.0);
	free(lat_us);
	free_request(&q);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

struct pump {
	const char *ep;
	size_t batch;
	long limit;               /* stop after this many records (0: until stop) */
	/* Closed loop (e2e): no request goes out while *sent_all (records sent
	 * by every pump) is more than backlog_max ahead of *hub_has. */
	atomic_long *sent_all;
	const atomic_long *hub_has;
	long backlog_max;
	atomic_int *stop;
	atomic_long accepted;
	pthread_t thread;
};

/* Keeps PIPELINE requests in flight against one agent. */
static void *pump_main(void *arg)
{
	struct pump *p = arg;
	void *ctx = zmq_ctx_new(), *s = connect_dealer(ctx, p->ep);
	struct request q;
	long sent = 0, inflight = 0;

	make_request(&q, p->batch);
	while (!atomic_load(p->stop) || inflight > 0) {
		while (inflight < PIPELINE && !atomic_load(p->stop) && (!p->limit || sent < p->limit)) {
			if (p->backlog_max && atomic_load(p->sent_all) - atomic_load(p->hub_has)
				> p->backlog_max) {
				if (inflight > 0)
					break;
				ss_sleep_ms(1);
				continue;
			}
			send_req(s, &q);
			sent += (long)p->batch;
			if (p->sent_all)
				atomic_fetch_add(p->sent_all, (long)p->batch);
			inflight++;
		}
		if (inflight == 0)
			break;
		long acc = recv_reply(s);

		if (acc < 0)
			exit(1);
		atomic_fetch_add(&p->accepted, acc);
		inflight--;
	}
	free_request(&q);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return NULL;
}

static int bench_batched(const char *ep, int seconds, size_t batch)
{
	atomic_int stop = 0;
	struct pump p = { .ep = ep, .batch = batch, .stop = &stop };
	int64_t t0 = ss_mono_ms();

	pthread_create(&p.thread, NULL, pump_main, &p);
	ss_sleep_ms(seconds * 1000LL);
	atomic_store(&stop, 1);
	pthread_join(p.thread, NULL);
	printf("submit_batched_records_per_s %.0f records/s\n",
		atomic_load(&p.accepted) * 1000.0 / (double)(ss_mono_ms() - t0));
	return 0;
}

/* Sum of `records` over all stores at the hub, -1 when it does not answer. */
static long hub_records(void *ctx, const char *query)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryReply *r = NULL;
	char err[128];
	void *s = ss_link_socket(ctx, ZMQ_REQ, err, sizeof err);
	int timeout = 5000, col = -1;
	long sum = -1;
	zmq_msg_t m;

	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.what = "stores";
	zmq_msg_init(&m);
	if (zmq_connect(s, query) == 0 && ss_proto_send(s, &req.base, 0) == 0
		&& zmq_msg_recv(&m, s, 0) >= 0)
		r = (Storesync__QueryReply *)ss_proto_unpack(&storesync__query_reply__descriptor,
			zmq_msg_data(&m), zmq_msg_size(&m), SS_MAX_MSG_BYTES);
	zmq_msg_close(&m);
	zmq_close(s);
	for (size_t i = 0; r && i < r->n_columns; i++)
		if (strcmp(r->columns[i], "records") == 0)
			col = (int)i;
	for (size_t i = 0; r && col >= 0 && i < r->n_rows; i++)
		sum = (sum < 0 ? 0 : sum) + r->rows[i]->cells[col]->i;
	if (r) {
		if (sum < 0)
			sum = 0;
		storesync__query_reply__free_unpacked(r, NULL);
	}
	return sum;
}

/* Polls the hub's count into *has every E2E_POLL_MS for ms milliseconds. */
static void follow_hub(void *ctx, const char *query, atomic_long *has, int64_t ms)
{
	int64_t end = ss_mono_ms() + ms;
	long n;

	do {
		if ((n = hub_records(ctx, query)) >= 0)
			atomic_store(has, n);
		ss_sleep_ms(E2E_POLL_MS);
	} while (ss_mono_ms() < end);
}

/* Sustained: the submitters together stay at most E2E_BACKLOG records ahead
 * of what the hub has applied, so the figure is the rate the whole path
 * keeps up, intake, link and hub together. Open loop the agents' intake
 * runs ahead (their backlog grew by a million records in 20 s) and the
 * figure measured how two cores were shared, not what the path sustains. */
static int bench_e2e(const char *query, int seconds, size_t batch, char **eps, int n_eps)
{
	void *ctx = zmq_ctx_new();
	atomic_int stop = 0;
	atomic_long sent_all = 0, hub_has = 0;
	struct pump *p = calloc((size_t)n_eps, sizeof *p);
	long end_count, warm;
	int64_t t0, t1;

	atomic_store(&hub_has, hub_records(ctx, query));
	atomic_store(&sent_all, atomic_load(&hub_has));
	for (int i = 0; i < n_eps; i++) {
		p[i] = (struct pump){ .ep = eps[i], .batch = batch, .stop = &stop,
			.sent_all = &sent_all, .hub_has = &hub_has, .backlog_max = E2E_BACKLOG };
		pthread_create(&p[i].thread, NULL, pump_main, &p[i]);
	}
	/* Measure the hub's applied count over the window, after a warm-up. */
	follow_hub(ctx, query, &hub_has, 2000);
	warm = hub_records(ctx, query);
	t0 = ss_mono_ms();
	follow_hub(ctx, query, &hub_has, seconds * 1000LL);
	end_count = hub_records(ctx, query);
	t1 = ss_mono_ms();
	atomic_store(&stop, 1);
	for (int i = 0; i < n_eps; i++)
		pthread_join(p[i].thread, NULL);
	printf("e2e_records_per_s %.0f records/s\n", (end_count - warm) * 1000.0 / (double)(t1 - t0));
	printf("e2e_backlog_end %ld records\n", atomic_load(&sent_all) - hub_records(ctx, query));
	free(p);
	zmq_ctx_term(ctx);
	return 0;
}

static int bench_fill(const char *ep, long records, size_t batch)
{
	atomic_int stop = 0;
	struct pump p = { .ep = ep, .batch = batch, .limit = records, .stop = &stop };

	pthread_create(&p.thread, NULL, pump_main, &p);
	while (atomic_load(&p.accepted) < records)
		ss_sleep_ms(20);
	atomic_store(&stop, 1);
	pthread_join(p.thread, NULL);
	return atomic_load(&p.accepted) == records ? 0 : 1;
}

static int bench_drain(const char *query, long records)
{
	void *ctx = zmq_ctx_new();
	int64_t t0 = ss_mono_ms();
	long got = 0;

	while ((got = hub_records(ctx, query)) < records) {
		if (ss_mono_ms() - t0 > 600000)
			return 1;
		ss_sleep_ms(100);
	}
	printf("drain_1m_backlog_s %.2f s\n", (ss_mono_ms() - t0) / 1000.0);
	zmq_ctx_term(ctx);
	return 0;
}

/* Median of 7 runs of one query, printed as NAME ms (rows in a comment). */
static int bench_query(const char *query, const char *name, const char *what, char **kv, int n)
{
	Storesync__QueryParam pv[16], *pp[16];
	int64_t ms[7];
	size_t rows = 0;

	for (int i = 0; i < n && i < 16; i++) {
		char *eq = strchr(kv[i], '=');

		storesync__query_param__init(&pv[i]);
		if (eq)
			*eq = '\0';
		pv[i].key = kv[i];
		pv[i].value = eq ? eq + 1 : "1";
		pp[i] = &pv[i];
	}
	for (int r = 0; r < 7; r++) {
		Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
		void *ctx = zmq_ctx_new(), *s;
		char err[128];
		zmq_msg_t m;
		struct timespec a, b;

		s = ss_link_socket(ctx, ZMQ_REQ, err, sizeof err);
		zmq_connect(s, query);
		req.proto_version = SS_PROTO_VERSION;
		req.has_proto_version = 1;
		req.what = (char *)what;
		req.params = pp;
		req.n_params = (size_t)n;
		zmq_msg_init(&m);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (ss_proto_send(s, &req.base, 0) != 0 || zmq_msg_recv(&m, s, 0) < 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms[r] = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		{
			Storesync__QueryReply *rep = (Storesync__QueryReply *)ss_proto_unpack(
				&storesync__query_reply__descriptor, zmq_msg_data(&m), zmq_msg_size(&m),
				SS_MAX_MSG_BYTES);

			if (!rep || rep->error) {
				fprintf(stderr, "ss-bench: query %s failed\n", what);
				return 1;
			}
			rows = rep->n_rows;
			storesync__query_reply__free_unpacked(rep, NULL);
		}
		zmq_msg_close(&m);
		zmq_close(s);
		zmq_ctx_term(ctx);
	}
	qsort(ms, 7, sizeof ms[0], cmp_i64);
	printf("%s %lld ms\n", name, (long long)ms[3]);
	fprintf(stderr, "(%s: %zu rows)\n", name, rows);
	return 0;
}

/* ---- price: the hub's side of one price list, then lookups ---- */

static void sku_name(char *buf, size_t len, long i)
{
	snprintf(buf, len, "SKU-%06ld", i);
}

/* Next message from the agent on the fake hub's ROUTER; id copied out. */
static Storesync__LinkMessage *hub_recv(void *router, zmq_msg_t *id, int timeout_ms)
{
	zmq_pollitem_t it = { router, 0, ZMQ_POLLIN, 0 };
	Storesync__LinkMessage *m = NULL;
	zmq_msg_t f[2];

	if (zmq_poll(&it, 1, timeout_ms) <= 0 || ss_link_recv(router, f, 2, 0) != 2)
		return NULL;
	m = (Storesync__LinkMessage *)ss_proto_unpack(&storesync__link_message__descriptor,
		zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SS_MAX_MSG_BYTES);
	zmq_msg_copy(id, &f[0]);
	ss_link_close_frames(f, 2);
	return m;
}

static void hub_send(void *router, zmq_msg_t *id, Storesync__LinkMessage *m)
{
	zmq_msg_t copy;

	zmq_msg_init(&copy);
	zmq_msg_copy(&copy, id);
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	zmq_msg_send(&copy, router, ZMQ_SNDMORE);
	ss_proto_send(router, &m->base, 0);
}

/* Update 1: skus prices, effective since 1970. */
static Storesync__Update *price_list(long skus)
{
	static Storesync__Update u = STORESYNC__UPDATE__INIT;
	static Storesync__PriceList pl = STORESYNC__PRICE_LIST__INIT;
	Storesync__PriceEntry *e = calloc((size_t)skus, sizeof *e);
	Storesync__PriceEntry **pe = calloc((size_t)skus, sizeof *pe);

	for (long i = 0; i < skus; i++) {
		storesync__price_entry__init(&e[i]);
		e[i].sku = malloc(32);
		sku_name(e[i].sku, 32, i);
		e[i].price_fen = 100 + i;
		e[i].has_price_fen = 1;
		pe[i] = &e[i];
	}
	pl.prices = pe;
	pl.n_prices = (size_t)skus;
	pl.effective_ms = 1;
	pl.has_effective_ms = 1;
	u.update_id = 1;
	u.has_update_id = 1;
	u.has_after_id = 1;
	u.body_case = STORESYNC__UPDATE__BODY_PRICES;
	u.prices = &pl;
	return &u;
}

/* Plays the agent's hub until the price list is acknowledged. */
static int load_prices(void *ctx, const char *hub_listen, long skus)
{
	void *router = zmq_socket(ctx, ZMQ_ROUTER);
	Storesync__Update *u = price_list(skus);
	int64_t deadline = ss_mono_ms() + 60000;
	int linger = 0, loaded = 0;
	zmq_msg_t id;

	zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
	zmq_msg_init(&id);
	if (zmq_bind(router, hub_listen) != 0) {
		fprintf(stderr, "ss-bench: cannot bind %s\n", hub_listen);
		return -1;
	}
	while (!loaded && ss_mono_ms() < deadline) {
		Storesync__LinkMessage *m = hub_recv(router, &id, 1000), r = STORESYNC__LINK_MESSAGE__INIT;
		Storesync__Welcome w = STORESYNC__WELCOME__INIT;

		if (m && m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HELLO) {
			w.high_water_seq = m->hello->last_seq;
			w.has_high_water_seq = 1;
			r.kind_case = STORESYNC__LINK_MESSAGE__KIND_WELCOME;
			r.welcome = &w;
			hub_send(router, &id, &r);
			u->after_id = m->hello->applied_update_id;
			u->update_id = u->after_id + 1;
			r.kind_case = STORESYNC__LINK_MESSAGE__KIND_UPDATE;
			r.update = u;
			hub_send(router, &id, &r);
		} else if (m && m->kind_case == STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK) {
			loaded = m->update_ack->applied_update_id == u->update_id;
		}
		if (m)
			storesync__link_message__free_unpacked(m, NULL);
	}
	zmq_msg_close(&id);
	zmq_close(router);
	for (size_t i = 0; i < u->prices->n_prices; i++)
		free(u->prices->prices[i]->sku);
	free(u->prices->prices[0]);
	free(u->prices->prices);
	return loaded ? 0 : -1;
}

/* One PriceQuery for sku; its latency in us, -1 when not found. */
static int64_t lookup_us(void *s, const char *sku)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__PriceQuery q = STORESYNC__PRICE_QUERY__INIT;
	Storesync__LocalReply *r;
	struct timespec a, b;
	size_t len;
	void *buf;
	zmq_msg_t f[2];
	int found = 0;

	q.sku = (char *)sku;
	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_PRICE;
	req.price = &q;
	buf = ss_proto_pack(&req.base, &len);
	clock_gettime(CLOCK_MONOTONIC, &a);
	send_raw(s, buf, len);
	if (ss_link_recv(s, f, 2, 0) != 2)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	r = (Storesync__LocalReply *)ss_proto_unpack(&storesync__local_reply__descriptor,
		zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SS_MAX_MSG_BYTES);
	found = r && r->kind_case == STORESYNC__LOCAL_REPLY__KIND_PRICE && r->price->found;
	if (r)
		storesync__local_reply__free_unpacked(r, NULL);
	ss_link_close_frames(f, 2);
	free(buf);
	if (!found)
		return -1;
	return (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
}

static int bench_price(const char *hub_listen, const char *ep, long skus, long lookups)
{
	void *ctx = zmq_ctx_new(), *s;
	int64_t *lat_us = calloc((size_t)lookups, sizeof *lat_us);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	char sku[32];

	if (load_prices(ctx, hub_listen, skus) != 0) {
		fprintf(stderr, "ss-bench: the agent did not take the price list\n");
		return 1;
	}
	s = connect_dealer(ctx, ep);
	for (long i = 0; i < lookups; i++) {
		rng ^= rng >> 12;
		rng ^= rng << 25;
		rng ^= rng >> 27;
		sku_name(sku, sizeof sku, (long)((rng * 0x2545f4914f6cdd1dull) % (uint64_t)skus));
		if ((lat_us[i] = lookup_us(s, sku)) < 0) {
			fprintf(stderr, "ss-bench: no price for %s\n", sku);
			return 1;
		}
	}
	qsort(lat_us, (size_t)lookups, sizeof *lat_us, cmp_i64);
	printf("price_lookup_p50_ms %.3f ms\n", lat_us[lookups / 2] / 1000.0);
	printf("price_lookup_p99_ms %.3f ms\n", lat_us[lookups * 99 / 100] / 1000.0);
	free(lat_us);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		ss_version_print("ss-bench");
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "single") == 0)
		return bench_single(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "batched") == 0)
		return bench_batched(argv[2], atoi(argv[3]), (size_t)atol(argv[4]));
	if (argc >= 6 && strcmp(argv[1], "e2e") == 0)
		return bench_e2e(argv[2], atoi(argv[3]), (size_t)atol(argv[4]), argv + 5, argc - 5);
	if (argc >= 5 && strcmp(argv[1], "fill") == 0)
		return bench_fill(argv[2], atol(argv[3]), (size_t)atol(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "query") == 0)
		return bench_query(argv[2], argv[3], argv[4], argv + 5, argc - 5);
	if (argc >= 4 && strcmp(argv[1], "drain") == 0)
		return bench_drain(argv[2], atol(argv[3]));
	if (argc >= 6 && strcmp(argv[1], "price") == 0 && atol(argv[4]) > 0 && atol(argv[5]) > 0)
		return bench_price(argv[2], argv[3], atol(argv[4]), atol(argv[5]));
	fprintf(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr,
		"Usage: ss-bench single  AGENT_EP SECONDS RATE\n"
		"       ss-bench batched AGENT_EP SECONDS BATCH\n"
		"       ss-bench e2e     HUB_QUERY SECONDS BATCH AGENT_EP...\n"
		"       ss-bench fill    AGENT_EP RECORDS BATCH\n"
		"       ss-bench drain   HUB_QUERY RECORDS\n"
		"       ss-bench query   HUB_QUERY NAME WHAT [KEY=VALUE...]\n"
		"       ss-bench price   HUB_LISTEN AGENT_EP SKUS LOOKUPS\n"
		"       ss-bench --version\n"
		"Load generator and meter for bench/run; prints `name value unit` lines.\n");
	return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
}
