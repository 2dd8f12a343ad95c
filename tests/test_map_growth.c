/* test_map_growth: map growth never waits on a long query.
 *
 * LMDB may resize its map only with no transaction open in the process, so
 * a query's read transaction and a map growth exclude each other. The hub
 * grows ahead of need, between rounds, when no reader is active, and never
 * makes ingest wait for a reader unless the map really fills up. Here the hub
 * starts with a small map (--map-initial), is loaded until the map has just
 * grown, and then a long dump holds a read transaction while the store keeps
 * sending more than half the map's worth of records: every batch must be
 * acknowledged while the dump is still running, and the map must grow once
 * the dump is done. A hub that grows only when the map is full (or that waits
 * for readers to grow) stalls these acks until the dump ends.
 *
 * The dump must outlast writing more than half a map: the records held
 * before it are long receipts (the dump's cost is per line it prints), those
 * sent during it one-line ones (the writer's cost is per record and its
 * indexes, business key included). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ss_time.h"
#include "testlib.h"

#define EPOCH 0x0123456789abcdefull
#define BATCH 2000
#define WINDOW 4
#define HELD_LINES 20

static int64_t amount(uint64_t seq)
{
	return 1000 + (int64_t)(seq % 977);
}

/* Sales seq..seq+BATCH-1 of `lines` lines each, as one Batch. */
static void send_sales(struct tl_link *l, uint64_t seq, size_t lines)
{
	static Storesync__Record *recs[BATCH];
	char receipt[32];

	for (size_t i = 0; i < BATCH; i++) {
		Storesync__Sale *s;

		snprintf(receipt, sizeof receipt, "R-%llu", (unsigned long long)(seq + i));
		recs[i] = tl_sale(amount(seq + i), receipt);
		s = recs[i]->sale;
		s->lines = realloc(s->lines, lines * sizeof *s->lines);
		ck_assert_ptr_nonnull(s->lines);
		for (; s->n_lines < lines; s->n_lines++) {
			Storesync__SaleLine *gift = calloc(1, sizeof *gift);

			ck_assert_ptr_nonnull(gift);
			storesync__sale_line__init(gift);
			gift->sku = strdup("SKU-2");
			gift->quantity = 1;
			gift->has_quantity = 1;
			gift->has_unit_price_fen = 1;   /* 0 fen: the total stays amount() */
			s->lines[s->n_lines] = gift;
		}
	}
	tl_link_batch_records(l, "S1", EPOCH, seq, recs, BATCH);
	for (size_t i = 0; i < BATCH; i++)
		storesync__record__free_unpacked(recs[i], NULL);
}

struct dump_job {
	const char *query_ep;
	atomic_int done;
	size_t rows;
};

static void *run_dump(void *arg)
{
	struct dump_job *j = arg;
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_REQ);
	int64_t unlimited = -1;
	int timeout = 120000, linger = 0;
	zmq_msg_t m;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.what = "dump";
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &unlimited, sizeof unlimited);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
	zmq_msg_init(&m);
	if (zmq_connect(sock, j->query_ep) == 0 && ss_proto_send(sock, &req.base, 0) == 0
		&& zmq_msg_recv(&m, sock, 0) >= 0) {
		Storesync__QueryReply *r = (Storesync__QueryReply *)ss_proto_unpack(
			&storesync__query_reply__descriptor, zmq_msg_data(&m), zmq_msg_size(&m), SIZE_MAX);

		if (r) {
			j->rows = r->n_rows;
			storesync__query_reply__free_unpacked(r, NULL);
		}
	}
	atomic_store(&j->done, 1);
	zmq_msg_close(&m);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return NULL;
}

START_TEST(acks_flow_while_a_long_query_holds_the_map)
{
	struct tl_env e;
	struct tl_link l;
	struct dump_job job = { 0 };
	pthread_t th;
	pid_t hub;
	uint64_t seq = 1, grows, used0, map0, held;
	int during = 0;

	tl_env_init(&e);
	hub = tl_start_hub(&e, "--budget", "1G", "--map-initial", "4M", NULL);
	tl_link_open(&l, e.hub_listen);
	ck_assert_uint_eq(tl_link_hello(&l, "S1", EPOCH), 0);
	/* Load until the map has grown at least four times and has just grown
	 * again: then it is at most half used. */
	grows = (uint64_t)tl_hub_stat(e.hub_query, "map_grows");
	for (int last = (int)grows; ; ) {
		int now;

		send_sales(&l, seq, HELD_LINES);
		ck_assert_uint_eq(tl_link_ack(&l), seq + BATCH - 1);
		seq += BATCH;
		ss_sleep_ms(5);   /* let the writer's between-rounds step run */
		now = (int)tl_hub_stat(e.hub_query, "map_grows");
		if (now >= 4 && now > last)
			break;
		last = now;
	}
	map0 = (uint64_t)tl_hub_stat(e.hub_query, "map_bytes");
	used0 = (uint64_t)tl_hub_stat(e.hub_query, "map_used_bytes");
	ck_assert_uint_le(used0, map0 / 2 + (1 << 20));
	grows = (uint64_t)tl_hub_stat(e.hub_query, "map_grows");

	held = seq - 1;
	/* A long query holds its read transaction from here... */
	job.query_ep = e.hub_query;
	ck_assert_int_eq(pthread_create(&th, NULL, run_dump, &job), 0);
	ss_sleep_ms(50);
	/* ...while the store sends more than half the map's worth: a map that
	 * grows only when full (it is then half used) fills up here. */
	while ((uint64_t)tl_hub_stat(e.hub_query, "map_used_bytes") < used0 + map0 * 55 / 100) {
		/* A window of batches in flight, as an agent keeps. */
		for (int i = 0; i < WINDOW; i++)
			send_sales(&l, seq + (uint64_t)i * BATCH, 1);
		for (int i = 0; i < WINDOW; i++)
			tl_link_ack(&l);
		seq += (uint64_t)WINDOW * BATCH;
		ck_assert_msg(!atomic_load(&job.done), "the dump ended before the map filled past "
			"half (%d windows in, %llu of %llu bytes used): make the load larger", during,
			(unsigned long long)tl_hub_stat(e.hub_query, "map_used_bytes"),
			(unsigned long long)map0);
		during++;
	}
	ck_assert_msg(!atomic_load(&job.done), "dump ended before the last ack");
	ck_assert_int_ge(tl_hub_stat(e.hub_query, "map_grows_deferred"), 1);
	pthread_join(th, NULL);
	ck_assert_uint_ge(job.rows, held);   /* the dump saw the records as at its start */
	/* With the reader gone, the growth it deferred happens. */
	for (int i = 0; i < 100 && (uint64_t)tl_hub_stat(e.hub_query, "map_grows") == grows; i++)
		ss_sleep_ms(50);
	ck_assert_uint_gt((uint64_t)tl_hub_stat(e.hub_query, "map_grows"), grows);
	/* Every growth happened ahead of need: the writer never waited. */
	ck_assert_int_eq(tl_hub_stat(e.hub_query, "map_grows_when_full"), 0);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S1", "records"), (int64_t)seq - 1);
	tl_link_close(&l);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { acks_flow_while_a_long_query_holds_the_map };

	return tl_run("map_growth", tests, sizeof tests / sizeof tests[0], 300);
}
