/* ss-rollout: how long a price push takes to reach every store, measured
 * through the operators' endpoint like `hqctl rollout` (bench/run).
 *
 *   ss-rollout HUB_QUERY STORES SKUS CHANGED NAME
 *
 * Waits until STORES stores are connected, gets them current with a small
 * warm-up push, then pushes SKUS prices. With CHANGED = 0 that list is the
 * timed one; otherwise the list is pushed untimed first and the timed push
 * changes CHANGED of its SKUs (a delta: only those travel). Prints
 * `NAME seconds s`: from sending the push to every store having applied it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_admin.h"
#include "ss_link.h"
#include "ss_proto.h"
#include "ss_time.h"

#define POLL_MS 20
#define WAIT_MS (600 * 1000)

/* A minute: a 50,000-SKU push is written before its answer. */
static Storesync__QueryReply *ask(void *ctx, const char *ep, Storesync__QueryRequest *req)
{
	return bench_admin_ask(ctx, ep, req, 60000);
}

/* Pushes skus prices "SKU-<i>" at base + i (+ 1 for the first `changed`). */
static uint64_t push(void *ctx, const char *ep, size_t skus, int64_t base, size_t changed,
	const char *prefix)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__PriceEntry *e = calloc(skus, sizeof *e), **pe = calloc(skus, sizeof *pe);
	char (*names)[24] = calloc(skus, sizeof *names);
	Storesync__QueryReply *r;
	uint64_t id = 0;
	int c;

	for (size_t i = 0; i < skus; i++) {
		storesync__price_entry__init(&e[i]);
		snprintf(names[i], sizeof names[i], "%s-%06zu", prefix, i);
		e[i].sku = names[i];
		e[i].price_fen = base + (int64_t)i + (i < changed);
		e[i].has_price_fen = 1;
		e[i].name = "Bench article";
		pe[i] = &e[i];
	}
	req.what = "price push";
	req.prices = pe;
	req.n_prices = skus;
	r = ask(ctx, ep, &req);
	if (r && !r->error && r->n_rows && (c = bench_admin_column(r, "update_id")) >= 0
		&& r->rows[0]->cells[c]->value_case == STORESYNC__CELL__VALUE_I)
		id = (uint64_t)r->rows[0]->cells[c]->i;
	else
		fprintf(stderr, "ss-rollout: push refused: %s\n", r && r->error ? r->error
			: r ? "nothing changed" : "no answer");
	if (r)
		storesync__query_reply__free_unpacked(r, NULL);
	free(e);
	free(pe);
	free(names);
	return id;
}

/* Pending stores of update id, or -1 when the hub does not answer. */
static long pending(void *ctx, const char *ep, uint64_t id, long *applied)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam p = STORESYNC__QUERY_PARAM__INIT, *pp[1] = { &p };
	Storesync__QueryReply *r;
	char ids[24];
	long v = -1;

	snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
	p.key = "update";
	p.value = ids;
	req.what = "rollout";
	req.params = pp;
	req.n_params = 1;
	if ((r = ask(ctx, ep, &req)) && !r->error && r->n_rows == 1) {
		v = r->rows[0]->cells[bench_admin_column(r, "pending")]->i;
		*applied = r->rows[0]->cells[bench_admin_column(r, "applied")]->i;
	}
	if (r)
		storesync__query_reply__free_unpacked(r, NULL);
	return v;
}

/* With t0 (the timed push), says on stderr when the push was answered and
 * when the first store, half of them and all had applied it: where the
 * seconds go, between the hub's write and the stores' applying. */
static int wait_applied(void *ctx, const char *ep, uint64_t id, long stores, int64_t t0,
	int64_t answered)
{
	int64_t deadline = ss_mono_ms() + WAIT_MS, first = 0, half = 0;
	long applied = 0;

	while (ss_mono_ms() < deadline) {
		long left = pending(ctx, ep, id, &applied);

		if (t0 && applied > 0 && !first)
			first = ss_mono_ms();
		if (t0 && applied >= (stores + 1) / 2 && !half)
			half = ss_mono_ms();
		if (left == 0 && applied >= stores) {
			if (t0)
				fprintf(stderr, "ss-rollout: answered %.2f s, first applied %.2f s, "
					"half %.2f s, all %.2f s\n", (double)(answered - t0) / 1000,
					(double)(first - t0) / 1000, (double)(half - t0) / 1000,
					(double)(ss_mono_ms() - t0) / 1000);
			return 0;
		}
		ss_sleep_ms(POLL_MS);
	}
	fprintf(stderr, "ss-rollout: update %llu applied by %ld of %ld stores\n",
		(unsigned long long)id, applied, stores);
	return -1;
}

/* Stores the hub has heard from in the last minute. */
static long connected(void *ctx, const char *ep)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryReply *r;
	long n = 0;
	int c;

	req.what = "stores";
	if ((r = ask(ctx, ep, &req)) && !r->error && (c = bench_admin_column(r, "last_seen_ms")) >= 0)
		for (size_t i = 0; i < r->n_rows; i++)
			n += r->rows[i]->cells[c]->i > ss_now_ms() - 60000;
	if (r)
		storesync__query_reply__free_unpacked(r, NULL);
	return n;
}

int main(int argc, char **argv)
{
	void *ctx;
	long stores;
	size_t skus, changed;
	uint64_t warm, id;
	int64_t t0, deadline, base;

	if (argc != 6) {
		fprintf(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr,
			"Usage: ss-rollout HUB_QUERY STORES SKUS CHANGED NAME\n"
			"Times a price push until every store applied it (see bench/run).\n");
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	stores = atol(argv[2]);
	skus = strtoul(argv[3], NULL, 10);
	changed = strtoul(argv[4], NULL, 10);
	ctx = zmq_ctx_new();
	deadline = ss_mono_ms() + WAIT_MS;
	while (connected(ctx, argv[1]) < stores && ss_mono_ms() < deadline)
		ss_sleep_ms(200);
	/* A price of its own each run, so the warm-up always changes something. */
	if (!(warm = push(ctx, argv[1], 1, ss_now_ms() % 1000000, 0, "WARM"))
		|| wait_applied(ctx, argv[1], warm, stores, 0, 0))
		return 1;
	/* The base list, untimed, then the timed change of part of it. A base
	 * of its own each run, so the base list is new too. */
	base = 1000 + ss_now_ms() % 1000000;
	if (changed && (!(id = push(ctx, argv[1], skus, base, 0, "SKU"))
		|| wait_applied(ctx, argv[1], id, stores, 0, 0)))
		return 1;
	t0 = ss_mono_ms();
	if (!(id = push(ctx, argv[1], skus, changed ? base : base + 7, changed, "SKU"))
		|| wait_applied(ctx, argv[1], id, stores, t0, ss_mono_ms()))
		return 1;
	printf("%s %.2f s\n", argv[5], (double)(ss_mono_ms() - t0) / 1000);
	zmq_ctx_term(ctx);
	return 0;
}
