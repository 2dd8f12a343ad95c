/* hub_views_inventory: stock on hand per (store, SKU). A stocktake sets the
 * count; receipts, adjustments and sales decrements move it. One writer per
 * key (the store), applied in the store's seq order, so the result is the
 * store's own history replayed; a move dated before the last stocktake is
 * already in that count and changes nothing. Out-of-stock days: the local day on_hand
 * reached <= 0 is remembered; when stock returns, the days in between are
 * added to out_of_stock_days (the query adds the running streak). */
#include <errno.h>
#include <string.h>

#include "hub.h"

size_t hub_key_store_sku(uint8_t *key, const char *store_id, const char *sku)
{
	size_t n = strlen(store_id), m = strlen(sku);

	memcpy(key, store_id, n);
	key[n] = '\0';
	memcpy(key + n + 1, sku, m);
	return n + 1 + m;
}

static void track_out_of_stock(Storesync__InventoryItem *it, int64_t before, int32_t day)
{
	if (!it->has_out_of_stock_since_day) {
		it->out_of_stock_since_day = -1;
		it->has_out_of_stock_since_day = 1;
	}
	if (before > 0 && it->on_hand <= 0) {
		it->out_of_stock_since_day = day;
	} else if (before <= 0 && it->on_hand > 0 && it->out_of_stock_since_day >= 0) {
		/* A move dated before the day stock ran out adds no days. */
		if (day > it->out_of_stock_since_day)
			it->out_of_stock_days += day - it->out_of_stock_since_day;
		it->has_out_of_stock_days = 1;
		it->out_of_stock_since_day = -1;
	} else if (it->moves == 0 && it->on_hand <= 0) {
		/* First thing heard of this SKU says it is out of stock. */
		it->out_of_stock_since_day = day;
	}
}

int hub_views_inventory(struct hub_view_ctx *v)
{
	const Storesync__InventoryMove *m = v->r->inventory;
	uint8_t key[33 + 33];
	size_t klen = hub_key_store_sku(key, v->store_id, m->sku);
	Storesync__InventoryItem *it;
	int64_t before;
	int rc;

	it = (Storesync__InventoryItem *)hub_view_get(v->txn, v->h->inventory, key, klen,
		&storesync__inventory_item__descriptor, &rc);
	if (!it)
		return rc;
	/* A count already includes every move made before it: a move entered
	 * late, dated before the last stocktake, is history, not a change. */
	if (it->has_last_stocktake_ms && v->r->time_ms < it->last_stocktake_ms) {
		storesync__inventory_item__free_unpacked(it, NULL);
		return 0;
	}
	before = it->on_hand;
	switch (m->kind) {
	case STORESYNC__MOVE_KIND__MOVE_STOCKTAKE:
		it->on_hand = m->quantity;
		it->last_stocktake_ms = v->r->time_ms;
		it->has_last_stocktake_ms = 1;
		break;
	case STORESYNC__MOVE_KIND__MOVE_SALE:
		it->on_hand -= m->quantity;
		break;
	default:  /* receipt (> 0) and adjustment (signed) add */
		it->on_hand += m->quantity;
		break;
	}
	it->has_on_hand = 1;
	track_out_of_stock(it, before, v->day);
	it->moves++;
	it->has_moves = 1;
	if (v->r->time_ms > it->last_move_ms) {
		it->last_move_ms = v->r->time_ms;
		it->has_last_move_ms = 1;
	}
	it->utc_offset_min = v->r->utc_offset_min;
	it->has_utc_offset_min = 1;
	rc = hub_view_put(v->txn, v->h->inventory, key, klen, &it->base);
	storesync__inventory_item__free_unpacked(it, NULL);
	return rc;
}
