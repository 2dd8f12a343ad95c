/* hub_op_price: `hqctl price push`: a price list for all stores, a region or
 * a list of stores, effective now or at a stated moment.
 *
 * The whole list is checked before anything is written: one bad entry
 * refuses the push (hqctl has numbered every bad line already; this is the
 * hub's own check of what it is sent). Only prices that change for some
 * store of the target travel (a delta): an entry is left out when the price
 * and name in force for every targeted store at the effective time are
 * already the same. Where that cannot be decided cheaply (the SKU's history
 * mixes narrower targets) the entry is kept: sending an unchanged price is
 * harmless, missing a changed one is not. After the hub was restored from an
 * older backup its knowledge may be behind the stores', so pushes go out
 * whole until a full list (--full) is pushed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_op.h"
#include "hub_registry.h"
#include "hub_updates.h"
#include "ss_validate.h"

#define PUSH_MAX_ENTRIES 200000
#define NAME_MAX_BYTES 64

static int check_entry(const Storesync__PriceEntry *e, char *why, size_t len)
{
	if (!e->sku || ss_validate_sku(e->sku) != 0)
		return snprintf(why, len, "sku is not a valid SKU"), -1;
	if (!e->has_price_fen || e->price_fen < 0 || e->price_fen > SS_MAX_FEN)
		return snprintf(why, len, "%s: price_fen must be 0..%lld", e->sku,
			(long long)SS_MAX_FEN), -1;
	if (e->name && e->name[0] && ss_validate_label(e->name, NAME_MAX_BYTES) != 0)
		return snprintf(why, len, "%s: name must be UTF-8 text of 1..%d bytes without "
			"control characters", e->sku, NAME_MAX_BYTES), -1;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(Storesync__PriceEntry *const *)a)->sku,
		(*(Storesync__PriceEntry *const *)b)->sku);
}

static int price_admit(struct hub *h, struct hub_work *w)
{
	Storesync__QueryRequest *q = w->req;
	char why[200], msg[300];

	(void)h;
	if (q->n_prices == 0 || q->n_prices > PUSH_MAX_ENTRIES) {
		table_fail(w->answer, "a price push takes 1..200000 prices");
		return -1;
	}
	for (size_t i = 0; i < q->n_prices; i++)
		if (check_entry(q->prices[i], why, sizeof why) != 0) {
			snprintf(msg, sizeof msg, "entry %zu: %s; nothing pushed", i + 1, why);
			table_fail(w->answer, msg);
			return -1;
		}
	/* Sorted by SKU: duplicates are neighbours, and the dated table is
	 * written in key order. */
	qsort(q->prices, q->n_prices, sizeof *q->prices, cmp_entry);
	for (size_t i = 1; i < q->n_prices; i++)
		if (strcmp(q->prices[i - 1]->sku, q->prices[i]->sku) == 0) {
			snprintf(msg, sizeof msg, "SKU %s is listed twice; nothing pushed",
				q->prices[i]->sku);
			table_fail(w->answer, msg);
			return -1;
		}
	return 0;
}

/* ---- which targets contain which ---- */

static int store_in_region(struct hub *h, MDB_txn *txn, const char *store, const char *region)
{
	char r[40];

	hub_registry_region(h, txn, store, r, sizeof r);
	return strcmp(r, region) == 0;
}

static int listed(const Storesync__Target *t, const char *store)
{
	for (size_t i = 0; i < t->n_stores; i++)
		if (strcmp(t->stores[i], store) == 0)
			return 1;
	return 0;
}

/* 1 when every store of b is in a. */
static int covers(struct hub *h, MDB_txn *txn, const Storesync__Target *a,
	const Storesync__Target *b)
{
	if (!a || a->all)
		return 1;
	if (!b || b->all)
		return 0;
	if (a->region) {
		if (b->region)
			return strcmp(a->region, b->region) == 0;
		for (size_t i = 0; i < b->n_stores; i++)
			if (!store_in_region(h, txn, b->stores[i], a->region))
				return 0;
		return 1;
	}
	if (b->region)
		return 0;
	for (size_t i = 0; i < b->n_stores; i++)
		if (!listed(a, b->stores[i]))
			return 0;
	return 1;
}

/* 1 when no store is in both. */
static int disjoint(struct hub *h, MDB_txn *txn, const Storesync__Target *a,
	const Storesync__Target *b)
{
	if (!a || !b || a->all || b->all)
		return 0;
	if (a->region && b->region)
		return strcmp(a->region, b->region) != 0;
	if (a->region || b->region) {
		const Storesync__Target *r = a->region ? a : b, *l = a->region ? b : a;

		for (size_t i = 0; i < l->n_stores; i++)
			if (store_in_region(h, txn, l->stores[i], r->region))
				return 0;
		return 1;
	}
	for (size_t i = 0; i < b->n_stores; i++)
		if (listed(a, b->stores[i]))
			return 0;
	return 1;
}

/* 1 when entry e changes something for the target at eff. */
static int changes(struct hub *h, MDB_txn *txn, const Storesync__Target *target,
	const Storesync__PriceEntry *e, int64_t eff)
{
	uint8_t key[64 + 17];
	size_t n = strlen(e->sku);
	MDB_val k = { n + 17, key }, d;
	MDB_cursor *cur;
	int rc, verdict = 1;

	/* Back from (sku, eff, max): entries for targets disjoint from ours do
	 * not matter; the first one that covers our target decides; one that
	 * only overlaps it leaves the entry in. */
	memcpy(key, e->sku, n);
	key[n] = '\0';
	ss_be64_put(key + n + 1, (uint64_t)eff);
	ss_be64_put(key + n + 9, UINT64_MAX);
	if (mdb_cursor_open(txn, h->prices, &cur) != 0)
		return 1;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	for (rc = mdb_cursor_get(cur, &k, &d, rc == 0 ? MDB_PREV : MDB_LAST); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		const Storesync__UpdateHead *head;
		Storesync__DatedValue *v;

		if (k.mv_size != n + 17 || memcmp(k.mv_data, key, n + 1) != 0)
			break;
		head = hub_update_head_cached(h, txn, &h->tcache,
			ss_be64_get((const uint8_t *)k.mv_data + n + 9));
		if (!head)
			break;
		if (!disjoint(h, txn, head->target, target)) {
			if (covers(h, txn, head->target, target)
				&& (v = storesync__dated_value__unpack(NULL, d.mv_size, d.mv_data))) {
				verdict = v->value != e->price_fen
					|| strcmp(v->name ? v->name : "", e->name ? e->name : "") != 0;
				storesync__dated_value__free_unpacked(v, NULL);
			}
			break;
		}
	}
	mdb_cursor_close(cur);
	return verdict;
}

static int price_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	Storesync__QueryRequest *q = w->req;
	Storesync__LoggedUpdate lu = STORESYNC__LOGGED_UPDATE__INIT;
	Storesync__Update u = STORESYNC__UPDATE__INIT;
	Storesync__PriceList pl = STORESYNC__PRICE_LIST__INIT;
	Storesync__Target target;
	Storesync__PriceEntry **changed;
	int full = hub_op_param(q, "full") || hub_meta_get(h, txn, "delta_suspended");
	int dry = hub_op_param(q, "dry_run") != NULL;
	char err[200], ids[24], n_all[24], n_changed[24], n_targeted[24], eff_text[24];
	size_t n = 0;
	int64_t eff;
	int rc = 0;

	hub_op_answer_reset(w);
	w->update_id = 0;
	if (hub_op_effective(h, w, r->now_ms, &eff) != 0)
		return 0;
	if (hub_target_parse(h, txn, hub_op_param(q, "stores"), hub_op_param(q, "region"),
		&target, err, sizeof err) != 0)
		return hub_op_refuse(h, w, "%s; nothing pushed", err);
	if (!(changed = calloc(q->n_prices, sizeof *changed))) {
		hub_target_clear(&target);
		return ENOMEM;
	}
	for (size_t i = 0; i < q->n_prices; i++)
		if (full || changes(h, txn, &target, q->prices[i], eff))
			changed[n++] = q->prices[i];
	lu.targeted = hub_target_count(h, txn, &target);
	lu.has_targeted = 1;
	snprintf(n_all, sizeof n_all, "%zu", q->n_prices);
	snprintf(n_changed, sizeof n_changed, "%zu", n);
	snprintf(n_targeted, sizeof n_targeted, "%u", lu.targeted);
	snprintf(eff_text, sizeof eff_text, "%" PRId64, eff);
	if (dry || n == 0) {
		hub_op_result(w, "update_id", dry ? "(dry run)" : "(nothing changed)", "prices",
			n_all, "changed", n_changed, "targeted_stores", n_targeted, "effective_ms",
			eff_text, NULL);
		goto out;
	}
	pl.effective_ms = eff;
	pl.has_effective_ms = 1;
	pl.prices = changed;
	pl.n_prices = n;
	u.body_case = STORESYNC__UPDATE__BODY_PRICES;
	u.prices = &pl;
	lu.update = &u;
	lu.target = &target;
	lu.entries = (uint32_t)n;
	lu.has_entries = 1;
	if ((rc = hub_updates_append(h, txn, &lu, r->now_ms)) != 0)
		goto out;
	w->update_id = u.update_id;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = hub_dated_put(txn, h->prices, changed[i]->sku, eff, u.update_id,
			changed[i]->price_fen, changed[i]->name, r->now_ms);
	if (rc == 0 && full)
		rc = hub_meta_put(h, txn, "delta_suspended", 0);
	snprintf(ids, sizeof ids, "%" PRIu64, u.update_id);
	hub_op_result(w, "update_id", ids, "prices", n_all, "changed", n_changed,
		"targeted_stores", n_targeted, "effective_ms", eff_text, NULL);
out:
	free(changed);
	hub_target_clear(&target);
	return rc;
}

static void price_reply(struct hub *h, struct hub_work *w)
{
	hub_op_reply(h, w);
}

const struct hub_handler hub_op_price_push = { "price push", price_admit, price_apply,
	price_reply };
