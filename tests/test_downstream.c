/* test_downstream: the hub's side of the down-flow, spoken to by test peers
 * on the store link (the agent's side is in test_agent_apply). Checks that
 *   a targeted push reaches exactly its targets (all, a region, a list) and
 *     nothing else, and a store never receives another store's decision;
 *   a store offline during several pushes gets them in order on reconnect,
 *     each naming the one before it (after_id);
 *   a push carries only the prices that change (a delta);
 *   a new store gets a snapshot of what is in force, then the log;
 *   flow control: a store far behind has a bounded window in flight;
 *   a bad entry refuses the whole push, and nothing changes;
 *   rollout status counts targeted, applied and pending stores;
 *   the hub restored from an older backup re-sends what stores had not
 *     applied and issues ids above what they had (never applied twice). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_time.h"
#include "testlib.h"

#define EPOCH 0x1234000000000001ull

struct fx {
	struct tl_env e;
	pid_t hub;
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, NULL);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static int64_t price_a(size_t i)
{
	return 1000 + (int64_t)i;
}

static int64_t price_c(size_t i)
{
	return 777 + (int64_t)i;
}

static int64_t price_b(size_t i)
{
	/* price_a, except every 20th SKU */
	return i % 20 == 0 ? 5000 + (int64_t)i : 1000 + (int64_t)i;
}

static void store_add(struct fx *f, const char *store, const char *region)
{
	Storesync__QueryReply *r = tl_query(f->e.hub_query, "store add", "store", store, "region",
		region, NULL);

	ck_assert_str_eq(tl_answer(r, "store_id"), store);
	tl_query_free(r);
}

static uint64_t push(struct fx *f, const char *prefix, size_t n, int64_t (*price)(size_t),
	const char *k1, const char *v1)
{
	Storesync__QueryReply *r = k1 ? tl_price_push(f->e.hub_query, prefix, n, price, k1, v1, NULL)
		: tl_price_push(f->e.hub_query, prefix, n, price, NULL);
	uint64_t id = strtoull(tl_answer(r, "update_id"), NULL, 10);

	tl_query_free(r);
	ck_assert_uint_gt(id, 0);
	return id;
}

/* The next update on l, which must be a price list. */
static Storesync__LinkMessage *expect_prices(struct tl_link *l)
{
	Storesync__LinkMessage *m = tl_link_update(l, 5000);

	ck_assert_msg(m != NULL, "no update within 5 s");
	ck_assert_int_eq(m->update->body_case, STORESYNC__UPDATE__BODY_PRICES);
	return m;
}

static void expect_nothing(struct tl_link *l, int ms)
{
	Storesync__LinkMessage *m = tl_link_update(l, ms);

	ck_assert_msg(m == NULL, "unexpected update %llu (kind %d)",
		m ? (unsigned long long)m->update->update_id : 0ull, m ? (int)m->update->body_case : 0);
}

/* Hello, then apply (ack) the snapshot a new store gets when the log has
 * anything: returns the store's applied id. */
static uint64_t join(struct tl_link *l, const char *store, uint64_t applied)
{
	tl_link_hello_applied(l, store, EPOCH, applied);
	return applied;
}

START_TEST(targeted_push_reaches_exactly_its_targets)
{
	struct fx f;
	struct tl_link n1, n2, s3;
	Storesync__LinkMessage *m;
	uint64_t all, north, list;

	fx_start(&f);
	store_add(&f, "N1", "north");
	store_add(&f, "N2", "north");
	store_add(&f, "S3", "south");
	/* A first push for all, so the stores have something in force. */
	all = push(&f, "SKU", 10, price_a, NULL, NULL);
	tl_link_open(&n1, f.e.hub_listen);
	tl_link_open(&n2, f.e.hub_listen);
	tl_link_open(&s3, f.e.hub_listen);
	join(&n1, "N1", all);
	join(&n2, "N2", all);
	join(&s3, "S3", all);
	north = push(&f, "NORTH", 3, price_a, "region", "north");
	for (int i = 0; i < 2; i++) {
		m = expect_prices(i ? &n2 : &n1);
		ck_assert_uint_eq(m->update->update_id, north);
		ck_assert_uint_eq(m->update->after_id, all);
		ck_assert_uint_eq(m->update->prices->n_prices, 3);
		storesync__link_message__free_unpacked(m, NULL);
	}
	list = push(&f, "ONLY", 2, price_a, "stores", "S3");
	m = expect_prices(&s3);
	ck_assert_uint_eq(m->update->update_id, list);
	ck_assert_uint_eq(m->update->after_id, all);   /* S3 never got the north list */
	storesync__link_message__free_unpacked(m, NULL);
	expect_nothing(&n1, 500);
	expect_nothing(&n2, 100);
	expect_nothing(&s3, 100);
	tl_link_close(&n1);
	tl_link_close(&n2);
	tl_link_close(&s3);
	fx_stop(&f);
}
END_TEST

START_TEST(offline_store_gets_pushes_in_order)
{
	struct fx f;
	struct tl_link l;
	uint64_t ids[4], after;

	fx_start(&f);
	store_add(&f, "S1", "r1");
	ids[0] = push(&f, "A", 5, price_a, NULL, NULL);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", ids[0]);
	tl_link_close(&l);   /* offline */
	for (int i = 1; i < 4; i++) {
		char prefix[8];

		snprintf(prefix, sizeof prefix, "P%d", i);
		ids[i] = push(&f, prefix, 4, price_a, NULL, NULL);
		ck_assert_uint_gt(ids[i], ids[i - 1]);
	}
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", ids[0]);
	after = ids[0];
	for (int i = 1; i < 4; i++) {
		Storesync__LinkMessage *m = expect_prices(&l);

		ck_assert_uint_eq(m->update->update_id, ids[i]);
		ck_assert_uint_eq(m->update->after_id, after);
		after = ids[i];
		tl_link_update_ack(&l, after);
		storesync__link_message__free_unpacked(m, NULL);
	}
	expect_nothing(&l, 300);
	/* The hub recorded what the store applied. */
	for (int i = 0; i < 50 && tl_store_field(f.e.hub_query, "S1", "applied_update_id")
		!= (int64_t)ids[3]; i++)
		ss_sleep_ms(20);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "applied_update_id"), (int64_t)ids[3]);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

START_TEST(a_push_carries_only_changed_prices)
{
	struct fx f;
	struct tl_link l;
	Storesync__LinkMessage *m;
	Storesync__QueryReply *r;
	uint64_t first, second;

	fx_start(&f);
	store_add(&f, "S1", "r1");
	first = push(&f, "SKU", 100, price_a, NULL, NULL);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", first);
	/* The same 100 SKUs, 5 of them (every 20th) at a new price. */
	r = tl_price_push(f.e.hub_query, "SKU", 100, price_b, NULL);
	ck_assert_str_eq(tl_answer(r, "prices"), "100");
	ck_assert_str_eq(tl_answer(r, "changed"), "5");
	second = strtoull(tl_answer(r, "update_id"), NULL, 10);
	tl_query_free(r);
	m = expect_prices(&l);
	ck_assert_uint_eq(m->update->update_id, second);
	ck_assert_uint_eq(m->update->prices->n_prices, 5);
	/* Exactly the five changed: SKU-0, -20, -40, -60, -80, each once, at
	 * its new price. */
	for (size_t i = 0, seen = 0; i < 5; i++) {
		size_t sku = strtoul(m->update->prices->prices[i]->sku + 4, NULL, 10);

		ck_assert_msg(sku % 20 == 0 && sku < 100 && !(seen & (1u << (sku / 20))),
			"%s was sent, but its price did not change (or it came twice)",
			m->update->prices->prices[i]->sku);
		seen |= 1u << (sku / 20);
		ck_assert_int_eq(m->update->prices->prices[i]->price_fen, price_b(sku));
	}
	storesync__link_message__free_unpacked(m, NULL);
	/* Nothing changed at all: no update is issued. */
	r = tl_price_push(f.e.hub_query, "SKU", 100, price_b, NULL);
	ck_assert_str_eq(tl_answer(r, "changed"), "0");
	ck_assert_str_eq(tl_answer(r, "update_id"), "(nothing changed)");
	tl_query_free(r);
	expect_nothing(&l, 300);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

START_TEST(a_new_store_gets_a_snapshot_then_the_log)
{
	struct fx f;
	struct tl_link l;
	Storesync__LinkMessage *m;
	Storesync__QueryReply *r;
	char future[24];
	uint64_t p1, p2, p3, later;
	size_t n_future = 0;

	fx_start(&f);
	store_add(&f, "S9", "r1");
	p1 = push(&f, "SKU", 30, price_a, NULL, NULL);
	p2 = push(&f, "SKU", 30, price_b, NULL, NULL);   /* 2 of 30 change */
	snprintf(future, sizeof future, "%lld", (long long)(ss_now_ms() + 86400000));
	p3 = push(&f, "SKU", 1, price_c, "effective", future);   /* SKU-0 again, tomorrow */
	(void)p1;
	r = tl_query_ok(f.e.hub_query, "policy set", "set", "max_discount_percent=12", NULL);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "policy set", "set", "max_discount_percent=15", NULL);
	tl_query_free(r);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S9", 0);
	m = tl_link_update(&l, 5000);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->update->body_case, STORESYNC__UPDATE__BODY_SNAPSHOT);
	ck_assert_uint_eq(m->update->after_id, 0);
	ck_assert_uint_eq(m->update->snapshot->parts, 1);
	/* 30 SKUs in force (two at the second push's price), SKU-0 also dated
	 * tomorrow, and the policy. */
	ck_assert_uint_eq(m->update->snapshot->n_prices, 31);
	for (size_t i = 0; i < m->update->snapshot->n_prices; i++) {
		const Storesync__DatedPrice *dp = m->update->snapshot->prices[i];
		size_t sku = strtoul(dp->price->sku + 4, NULL, 10);

		if (dp->update_id == p3) {
			n_future++;
			continue;
		}
		ck_assert_int_eq(dp->price->price_fen, price_b(sku));
		ck_assert_uint_eq(dp->update_id, sku % 20 == 0 ? p2 : p1);
	}
	ck_assert_uint_eq(n_future, 1);
	/* The policy with its history, oldest first: the agent judges a record
	 * dated before the second set by the first (agent_dated.c). */
	ck_assert_uint_eq(m->update->snapshot->n_policies, 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_str_eq(m->update->snapshot->policies[i]->policy->name,
			"max_discount_percent");
	ck_assert_int_eq(m->update->snapshot->policies[0]->policy->value, 12);
	ck_assert_int_eq(m->update->snapshot->policies[1]->policy->value, 15);
	ck_assert_uint_lt(m->update->snapshot->policies[0]->update_id,
		m->update->snapshot->policies[1]->update_id);
	later = m->update->update_id;
	storesync__link_message__free_unpacked(m, NULL);
	tl_link_update_ack(&l, later);
	/* Then the log goes on from the snapshot's position. */
	p1 = push(&f, "NEW", 2, price_a, NULL, NULL);
	m = expect_prices(&l);
	ck_assert_uint_eq(m->update->update_id, p1);
	ck_assert_uint_eq(m->update->after_id, later);
	storesync__link_message__free_unpacked(m, NULL);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

START_TEST(a_store_far_behind_has_a_bounded_window)
{
	struct fx f;
	struct tl_link l;
	uint64_t first, last = 0;
	int got = 0;

	fx_start(&f);
	store_add(&f, "S1", "r1");
	first = push(&f, "BASE", 1, price_a, NULL, NULL);
	for (int i = 0; i < 40; i++) {
		char prefix[16];

		snprintf(prefix, sizeof prefix, "P%d", i);
		last = push(&f, prefix, 3, price_a, NULL, NULL);
	}
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", first);
	/* Without acks the hub stops after its window. */
	for (Storesync__LinkMessage *m; (m = tl_link_update(&l, 700)) != NULL; got++)
		storesync__link_message__free_unpacked(m, NULL);
	ck_assert_int_gt(got, 0);
	ck_assert_int_le(got, 8);
	/* Acking each opens the window: all 40 arrive, in order. */
	tl_link_close(&l);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", first);
	for (uint64_t applied = first; applied != last; ) {
		Storesync__LinkMessage *m = expect_prices(&l);

		ck_assert_uint_eq(m->update->after_id, applied);
		applied = m->update->update_id;
		tl_link_update_ack(&l, applied);
		storesync__link_message__free_unpacked(m, NULL);
	}
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

START_TEST(a_bad_entry_refuses_the_whole_push)
{
	struct fx f;
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__PriceEntry e[3], *pe[3];
	Storesync__QueryReply *r;
	const char *skus[3] = { "GOOD-1", "bad sku", "GOOD-2" };

	fx_start(&f);
	for (int i = 0; i < 3; i++) {
		storesync__price_entry__init(&e[i]);
		e[i].sku = (char *)skus[i];
		e[i].price_fen = 100;
		e[i].has_price_fen = 1;
		pe[i] = &e[i];
	}
	req.what = "price push";
	req.prices = pe;
	req.n_prices = 3;
	r = tl_request(f.e.hub_query, &req);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->error && strstr(r->error, "entry 2") && strstr(r->error, "nothing pushed"),
		"error: %s", r->error ? r->error : "(none)");
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "price show", "sku", "GOOD-1", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "rollout", NULL);
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	/* A target naming an unknown store refuses the push too. */
	r = tl_price_push(f.e.hub_query, "X", 2, price_a, "stores", "NOPE", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->error && strstr(r->error, "not registered"), "%s", r->error ? r->error : "");
	tl_query_free(r);
	fx_stop(&f);
}
END_TEST

START_TEST(rollout_counts_applied_and_pending)
{
	struct fx f;
	struct tl_link a, b;
	Storesync__QueryReply *r;
	uint64_t id;
	int row;

	fx_start(&f);
	store_add(&f, "A1", "east");
	store_add(&f, "B1", "east");
	store_add(&f, "C1", "west");
	tl_link_open(&a, f.e.hub_listen);
	tl_link_open(&b, f.e.hub_listen);
	join(&a, "A1", 0);
	join(&b, "B1", 0);
	id = push(&f, "E", 4, price_a, "region", "east");
	{
		/* A1 applies it (after the snapshot it got as a new store). */
		Storesync__LinkMessage *m;

		while ((m = tl_link_update(&a, 2000)) != NULL) {
			uint64_t u = m->update->update_id;

			storesync__link_message__free_unpacked(m, NULL);
			tl_link_update_ack(&a, u);
			if (u == id)
				break;
		}
	}
	for (int i = 0; i < 50 && tl_store_field(f.e.hub_query, "A1", "applied_update_id")
		< (int64_t)id; i++)
		ss_sleep_ms(20);
	r = tl_query_ok(f.e.hub_query, "rollout", NULL);
	row = tl_row_find(r, "kind", "price", NULL);
	ck_assert_int_ge(row, 0);
	ck_assert_int_eq(tl_cell_int(r, row, "update_id"), (int64_t)id);
	ck_assert_int_eq(tl_cell_int(r, row, "targeted"), 2);   /* the east region */
	ck_assert_int_eq(tl_cell_int(r, row, "applied"), 1);
	ck_assert_int_eq(tl_cell_int(r, row, "pending"), 1);
	ck_assert_str_eq(tl_cell_str(r, row, "oldest_pending_store"), "B1");
	/* Pending since the push, a moment ago: not some other clock's age. */
	ck_assert_int_ge(tl_cell_int(r, row, "oldest_pending_for_ms"), 0);
	ck_assert_int_lt(tl_cell_int(r, row, "oldest_pending_for_ms"), 60000);
	tl_query_free(r);
	tl_link_close(&a);
	tl_link_close(&b);
	fx_stop(&f);
}
END_TEST

START_TEST(restored_hub_resends_and_never_reissues_an_id)
{
	struct fx f;
	struct tl_link l;
	Storesync__LinkMessage *m;
	char backup[400];
	uint64_t base, lost, fresh;

	fx_start(&f);
	store_add(&f, "S1", "r1");
	base = push(&f, "BASE", 3, price_a, NULL, NULL);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", base);
	tl_stop(f.hub);
	snprintf(backup, sizeof backup, "%s/backup", f.e.dir);
	ck_assert_int_eq(tl_sh("mkdir -p '%s' && mdb_copy '%s' '%s'", backup, f.e.hub_data,
		backup), 0);
	f.hub = tl_start_hub(&f.e, NULL);
	join(&l, "S1", base);
	lost = push(&f, "LOST", 2, price_a, NULL, NULL);
	m = expect_prices(&l);
	ck_assert_uint_eq(m->update->update_id, lost);
	tl_link_update_ack(&l, lost);
	storesync__link_message__free_unpacked(m, NULL);
	ss_sleep_ms(100);
	/* The hub is restored from the backup: it never issued `lost`. */
	tl_stop(f.hub);
	ck_assert_int_eq(tl_sh("cp '%s/data.mdb' '%s/data.mdb'", backup, f.e.hub_data), 0);
	f.hub = tl_start_hub(&f.e, NULL);
	tl_link_close(&l);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", lost);
	fresh = push(&f, "FRESH", 2, price_a, NULL, NULL);
	/* Above everything the store applied, so the store applies it. */
	ck_assert_uint_gt(fresh, lost);
	m = expect_prices(&l);
	ck_assert_uint_eq(m->update->update_id, fresh);
	ck_assert_uint_eq(m->update->after_id, lost);
	storesync__link_message__free_unpacked(m, NULL);
	ck_assert_int_ge(tl_hub_stat(f.e.hub_query, "log_behind_stores"), 1);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

START_TEST(a_store_behind_the_pruned_log_gets_a_snapshot)
{
	struct fx f;
	struct tl_link l;
	Storesync__LinkMessage *m;
	uint64_t first, last = 0;

	/* Three days ago by the hub's clock: the updates are old. */
	tl_env_init(&f.e);
	f.hub = tl_start_hub(&f.e, "--clock-offset-ms", "-259200000", NULL);
	store_add(&f, "S1", "r1");
	first = push(&f, "OLD", 3, price_a, NULL, NULL);
	for (int i = 0; i < 3; i++)
		last = push(&f, "OLD", 3 + (size_t)i, price_c, NULL, NULL);
	tl_stop(f.hub);
	/* Back to now, keeping one day: the start-up pruning drops them. */
	f.hub = tl_start_hub(&f.e, "--update-retention-days", "1", NULL);
	tl_link_open(&l, f.e.hub_listen);
	join(&l, "S1", first);   /* applied only the first: behind the floor */
	m = tl_link_update(&l, 5000);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->update->body_case, STORESYNC__UPDATE__BODY_SNAPSHOT);
	ck_assert_uint_eq(m->update->after_id, first);
	ck_assert_uint_ge(m->update->update_id, last);
	/* What is in force: OLD-0..OLD-4, all at the later lists' prices. */
	ck_assert_uint_eq(m->update->snapshot->n_prices, 5);
	for (size_t i = 0; i < m->update->snapshot->n_prices; i++)
		ck_assert_int_eq(m->update->snapshot->prices[i]->price->price_fen,
			price_c(strtoul(m->update->snapshot->prices[i]->price->sku + 4, NULL, 10)));
	storesync__link_message__free_unpacked(m, NULL);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { targeted_push_reaches_exactly_its_targets,
		offline_store_gets_pushes_in_order, a_push_carries_only_changed_prices,
		a_new_store_gets_a_snapshot_then_the_log, a_store_far_behind_has_a_bounded_window,
		a_bad_entry_refuses_the_whole_push, rollout_counts_applied_and_pending,
		restored_hub_resends_and_never_reissues_an_id,
		a_store_behind_the_pruned_log_gets_a_snapshot };

	return tl_run("downstream", tests, sizeof tests / sizeof tests[0], 120);
}
