/* hub_views_inventory: stock on hand per (store, SKU), by business time.
 *
 * The rule (docs/records.md, What the views say): the stock at a moment is
 * the latest stocktake at or before it (two at one ms: the greater move_no)
 * plus every receipt and adjustment, less every sales decrement, dated after
 * that stocktake and up to the moment; before the first stocktake it counts
 * from 0. A move dated at the very ms of a stocktake is in the count. A
 * store-local day is an out-of-stock day when the stock at its end was <= 0,
 * counted from the SKU's first day; the day in progress counts once it has
 * ended. So the view is a function of the moves and their times: a count
 * made at 09:00 and keyed in after the 15:00 sale still has the sale
 * after it.
 *
 * Three databases, one writer per key (the store):
 *   inv_moves  every move, by time: a stocktake keyed in late finds the
 *              moves of its day after it, a query at a past moment replays
 *              its day up to it;
 *   inv_days   per local day: its latest stocktake, the net of its other
 *              moves (all, and those after the stocktake), the stock at its
 *              end;
 *   inventory  the walk over the days: on hand, out-of-stock days, the run
 *              in progress, and the same walk one day back.
 * A move on the SKU's latest day or after costs one day row. One dated
 * earlier may change the ends of every day after it: the SKU's days are
 * walked again from the first. hub_inventory_at replays inv_moves up to a
 * past moment, for a query as at it.
 *
 * Sums: every stock figure is a sum of some of the moves' quantities, so
 * the check refuses a move that would take their sum of sizes (units_moved)
 * past int64; nothing after it can then wrap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "ss_lmdb.h"

#define DAY_KEY_MAX (33 + 33 + 4)
#define MOVE_KEY_MAX (33 + 33 + 8 + 65)

size_t hub_key_store_sku(uint8_t *key, const char *store_id, const char *sku)
{
	size_t n = strlen(store_id), m = strlen(sku);

	memcpy(key, store_id, n);
	key[n] = '\0';
	memcpy(key + n + 1, sku, m);
	return n + 1 + m;
}

size_t hub_key_inv_day(uint8_t *key, const char *store_id, const char *sku, int32_t day)
{
	size_t n = hub_key_store_sku(key, store_id, sku);

	key[n] = '\0';
	key[n + 1] = (uint8_t)((uint32_t)day >> 24);
	key[n + 2] = (uint8_t)((uint32_t)day >> 16);
	key[n + 3] = (uint8_t)((uint32_t)day >> 8);
	key[n + 4] = (uint8_t)day;
	return n + 5;
}

int32_t hub_inv_day_of_key(const MDB_val *k)
{
	const uint8_t *p = (const uint8_t *)k->mv_data + k->mv_size - 4;

	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

size_t hub_key_inv_move(uint8_t *key, const char *store_id, const char *sku, int64_t time_ms,
	const char *move_no)
{
	size_t n = hub_key_store_sku(key, store_id, sku), m = move_no ? strlen(move_no) : 0;

	key[n] = '\0';
	ss_be64_put(key + n + 1, (uint64_t)time_ms);
	memcpy(key + n + 9, move_no, m);
	return n + 9 + m;
}

/* The change a move makes to the stock; a stocktake's count as it is. */
static int64_t signed_quantity(const Storesync__InventoryMove *m)
{
	return m->kind == STORESYNC__MOVE_KIND__MOVE_SALE ? -m->quantity : m->quantity;
}

void hub_inv_walk_day(struct hub_inv_walk *w, int32_t day, int64_t end)
{
	if (w->have && w->end <= 0)
		w->closed += day - w->day;
	w->since = end > 0 ? -1 : w->have && w->end <= 0 ? w->since : day;
	w->day = day;
	w->end = end;
	w->have = 1;
}

int64_t hub_inv_day_end(const Storesync__InventoryDay *d, int64_t carried)
{
	return d->has_stocktake_ms ? d->stocktake_qty + d->net_after : carried + d->net;
}

static void walk_of(const Storesync__InventoryItem *it, struct hub_inv_walk *last,
	struct hub_inv_walk *prev)
{
	*last = (struct hub_inv_walk){ it->moves > 0, it->last_day, it->on_hand,
		it->out_of_stock_days, it->out_of_stock_since_day };
	*prev = (struct hub_inv_walk){ it->has_prev, it->prev_day, it->prev_on_hand,
		it->prev_out_of_stock_days, it->prev_out_of_stock_since_day };
}

static void set_walk(Storesync__InventoryItem *it, const struct hub_inv_walk *last,
	const struct hub_inv_walk *prev)
{
	it->last_day = last->day;
	it->on_hand = last->end;
	it->out_of_stock_days = last->closed;
	it->out_of_stock_since_day = last->since;
	it->has_last_day = it->has_on_hand = it->has_out_of_stock_days = 1;
	it->has_out_of_stock_since_day = 1;
	it->has_prev = prev->have;
	it->prev_day = prev->day;
	it->prev_on_hand = prev->end;
	it->prev_out_of_stock_days = prev->closed;
	it->prev_out_of_stock_since_day = prev->since;
	it->has_has_prev = it->has_prev_day = it->has_prev_on_hand = 1;
	it->has_prev_out_of_stock_days = it->has_prev_out_of_stock_since_day = 1;
}

static Storesync__InventoryItem *get_item(struct hub_view_ctx *v, uint8_t *key, size_t *klen,
	int *rc)
{
	*klen = hub_key_store_sku(key, v->store_id, v->r->inventory->sku);
	return (Storesync__InventoryItem *)hub_view_get(v->txn, v->h->inventory, key, *klen,
		&storesync__inventory_item__descriptor, rc);
}

int hub_views_inventory_check(struct hub_view_ctx *v)
{
	const Storesync__InventoryMove *m = v->r->inventory;
	uint8_t key[DAY_KEY_MAX];
	size_t klen;
	int64_t units;
	int rc, wraps;
	Storesync__InventoryItem *it = get_item(v, key, &klen, &rc);

	if (!it)
		return rc;
	wraps = __builtin_add_overflow(it->units_moved, llabs(m->quantity), &units);
	storesync__inventory_item__free_unpacked(it, NULL);
	if (wraps)
		return hub_view_refuse(v, "inventory: units moved of %s at %s would pass %lld", m->sku,
			v->store_id, (long long)INT64_MAX);
	return 0;
}

static int put_entry(struct hub_view_ctx *v)
{
	const Storesync__InventoryMove *m = v->r->inventory;
	Storesync__InventoryEntry e = STORESYNC__INVENTORY_ENTRY__INIT;
	uint8_t key[MOVE_KEY_MAX];

	e.kind = m->kind;
	e.has_kind = 1;
	e.quantity = signed_quantity(m);
	e.has_quantity = 1;
	e.day = v->day;
	e.has_day = 1;
	e.utc_offset_min = v->r->utc_offset_min;
	e.has_utc_offset_min = 1;
	return hub_view_put(v->txn, v->h->inv_moves, key,
		hub_key_inv_move(key, v->store_id, m->sku, v->r->time_ms, m->move_no), &e.base);
}

/* The day's moves dated after t (not stocktakes), from inv_moves. */
static int net_after(struct hub_view_ctx *v, int64_t t, int64_t *sum)
{
	const Storesync__InventoryMove *m = v->r->inventory;
	uint8_t key[MOVE_KEY_MAX];
	size_t prefix = hub_key_store_sku(key, v->store_id, m->sku) + 1;
	MDB_val k = { hub_key_inv_move(key, v->store_id, m->sku, t + 1, ""), key }, d;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(v->txn, v->h->inv_moves, &cur);

	*sum = 0;
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Storesync__InventoryEntry *e;
		int stop;

		if (k.mv_size < prefix + 8 || memcmp(k.mv_data, key, prefix) != 0)
			break;
		if (!(e = storesync__inventory_entry__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		stop = e->day > v->day;
		if (e->day == v->day && e->kind != STORESYNC__MOVE_KIND__MOVE_STOCKTAKE)
			*sum += e->quantity;   /* bounded by units_moved */
		storesync__inventory_entry__free_unpacked(e, NULL);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* The move's effect on its day's facts (not on its end). */
static int add_to_day(struct hub_view_ctx *v, Storesync__InventoryDay *d)
{
	const Storesync__InventoryMove *m = v->r->inventory;
	int64_t t = v->r->time_ms;

	d->moves++;
	d->has_moves = 1;
	if (m->kind != STORESYNC__MOVE_KIND__MOVE_STOCKTAKE) {
		d->net += signed_quantity(m);
		d->has_net = 1;
		if (!d->has_stocktake_ms || t > d->stocktake_ms) {
			d->net_after += signed_quantity(m);
			d->has_net_after = 1;
		}
		return 0;
	}
	if (d->has_stocktake_ms && (t < d->stocktake_ms || (t == d->stocktake_ms
		&& strcmp(m->move_no, d->stocktake_move) < 0)))
		return 0;   /* an earlier count of the day: history */
	free(d->stocktake_move);
	if (!(d->stocktake_move = strdup(m->move_no)))
		return ENOMEM;
	d->stocktake_ms = t;
	d->stocktake_qty = m->quantity;
	d->has_stocktake_ms = d->has_stocktake_qty = d->has_net_after = 1;
	return net_after(v, t, &d->net_after);
}

/* Rewrites the day under the cursor. The key is copied first: the cursor's
 * points into the page the write may move. */
static int put_day_at(MDB_cursor *cur, const MDB_val *at, const Storesync__InventoryDay *day)
{
	size_t n = protobuf_c_message_get_packed_size(&day->base);
	uint8_t *buf = malloc(n ? n : 1), key[DAY_KEY_MAX];
	MDB_val k = { at->mv_size, key }, d = { n, buf };
	int rc;

	if (!buf || at->mv_size > sizeof key) {
		free(buf);
		return ENOMEM;
	}
	memcpy(key, at->mv_data, at->mv_size);
	protobuf_c_message_pack(&day->base, buf);
	rc = mdb_cursor_put(cur, &k, &d, MDB_CURRENT);
	free(buf);
	return rc;
}

/* Walks every day of the SKU from its first, writing back the ends that
 * changed, into the item. */
static int walk_all(struct hub_view_ctx *v, Storesync__InventoryItem *it)
{
	const char *sku = v->r->inventory->sku;
	struct hub_inv_walk last = { 0 }, prev = { 0 };
	uint8_t key[DAY_KEY_MAX];
	size_t prefix = hub_key_store_sku(key, v->store_id, sku) + 1;
	MDB_val k = { prefix, key }, d;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(v->txn, v->h->inv_days, &cur);

	key[prefix - 1] = '\0';
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Storesync__InventoryDay *day;
		int32_t day_no;
		int64_t end;

		if (k.mv_size != prefix + 4 || memcmp(k.mv_data, key, prefix) != 0)
			break;
		day_no = hub_inv_day_of_key(&k);
		if (!(day = storesync__inventory_day__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		end = hub_inv_day_end(day, last.end);
		if (end != day->end_on_hand) {
			day->end_on_hand = end;
			day->has_end_on_hand = 1;
			rc = put_day_at(cur, &k, day);
		}
		prev = last;
		hub_inv_walk_day(&last, day_no, end);
		storesync__inventory_day__free_unpacked(day, NULL);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	set_walk(it, &last, &prev);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

/* The move's day written back, and the walk moved on: one step when the
 * day is the SKU's latest or later; from the first day again when it is
 * earlier (every end after it may change). */
static int update_days(struct hub_view_ctx *v, Storesync__InventoryItem *it)
{
	const Storesync__InventoryMove *m = v->r->inventory;
	struct hub_inv_walk last, prev;
	uint8_t key[DAY_KEY_MAX];
	size_t klen = hub_key_inv_day(key, v->store_id, m->sku, v->day);
	Storesync__InventoryDay *d;
	int rc, later = it->moves == 0 || v->day > it->last_day;

	walk_of(it, &last, &prev);
	if (!(d = (Storesync__InventoryDay *)hub_view_get(v->txn, v->h->inv_days, key, klen,
		&storesync__inventory_day__descriptor, &rc)))
		return rc;
	if ((rc = add_to_day(v, d)) != 0)
		goto out;
	if (later) {
		prev = last;
	} else if (v->day == last.day) {
		last = prev;
	}
	/* The level carried into the day: the end of the day walked before it. */
	d->end_on_hand = hub_inv_day_end(d, later ? prev.end : last.end);
	d->has_end_on_hand = 1;
	if ((rc = hub_view_put(v->txn, v->h->inv_days, key, klen, &d->base)) != 0)
		goto out;
	if (later || v->day == it->last_day) {
		hub_inv_walk_day(&last, v->day, d->end_on_hand);
		set_walk(it, &last, &prev);
	} else {
		rc = walk_all(v, it);
	}
out:
	storesync__inventory_day__free_unpacked(d, NULL);
	return rc;
}

/* A group of moves at one millisecond: a stocktake among them is the count
 * (the greater move_no, which sorts last), the others are in it. */
struct ms_group {
	int64_t ms, sum, count;
	int32_t day, offset;       /* offset: the greatest of the group's, when has_offset */
	int counted, has_offset;
	uint64_t moves;
};

/* The replay of a SKU's moves: the stock after the groups so far, on day. */
struct replay {
	struct hub_inv_then *t;
	int64_t level;
	int32_t day;
	int any;
};

static void group_close(struct ms_group *g, struct replay *rp)
{
	struct hub_inv_then *t = rp->t;

	if (!g->moves)
		return;
	if (rp->any && g->day != rp->day)
		hub_inv_walk_day(&t->walk, rp->day, rp->level);   /* that day ended so */
	rp->level = g->counted ? g->count : rp->level + g->sum;
	rp->day = g->day;
	rp->any = 1;
	t->moves += g->moves;
	t->last_move_ms = g->ms;
	t->has_offset = g->has_offset;
	t->utc_offset_min = g->offset;
	if (g->counted)
		t->last_stocktake_ms = g->ms;
	memset(g, 0, sizeof *g);
}

int hub_inventory_at(struct hub *h, MDB_txn *txn, const char *store, const char *sku,
	int64_t as_of_ms, struct hub_inv_then *t)
{
	uint8_t key[MOVE_KEY_MAX];
	size_t prefix = hub_key_store_sku(key, store, sku) + 1;
	MDB_val k = { prefix, key }, d;
	struct ms_group g = { 0 };
	struct replay rp = { t, 0, 0, 0 };
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, h->inv_moves, &cur);

	memset(t, 0, sizeof *t);
	key[prefix - 1] = '\0';
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Storesync__InventoryEntry *e;
		int64_t ms;

		if (k.mv_size < prefix + 8 || memcmp(k.mv_data, key, prefix) != 0
			|| (ms = (int64_t)ss_be64_get((const uint8_t *)k.mv_data + prefix)) > as_of_ms)
			break;
		if (!(e = storesync__inventory_entry__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		if (g.moves && ms != g.ms)
			group_close(&g, &rp);
		g.ms = ms;
		g.day = e->day;
		g.moves++;
		if (e->has_utc_offset_min && (!g.has_offset || e->utc_offset_min > g.offset)) {
			g.offset = e->utc_offset_min;
			g.has_offset = 1;
		}
		if (e->kind == STORESYNC__MOVE_KIND__MOVE_STOCKTAKE) {
			g.counted = 1;
			g.count = e->quantity;
		} else {
			g.sum += e->quantity;
		}
		storesync__inventory_entry__free_unpacked(e, NULL);
	}
	mdb_cursor_close(cur);
	group_close(&g, &rp);
	if (rp.any)
		hub_inv_walk_day(&t->walk, rp.day, rp.level);   /* the stock at as_of_ms */
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

/* Business-time facts of the item that are extremes and counts. */
static void note_move(struct hub_view_ctx *v, Storesync__InventoryItem *it)
{
	const Storesync__Record *r = v->r;

	if (r->inventory->kind == STORESYNC__MOVE_KIND__MOVE_STOCKTAKE
		&& r->time_ms > it->last_stocktake_ms) {
		it->last_stocktake_ms = r->time_ms;
		it->has_last_stocktake_ms = 1;
	}
	/* "Today" for the running streak is the store's at its latest move. */
	if (it->moves == 0 || r->time_ms > it->last_move_ms
		|| (r->time_ms == it->last_move_ms && r->utc_offset_min > it->utc_offset_min)) {
		it->last_move_ms = r->time_ms;
		it->utc_offset_min = r->utc_offset_min;
		it->has_last_move_ms = it->has_utc_offset_min = 1;
	}
	it->moves++;
	it->has_moves = 1;
	it->units_moved += llabs(r->inventory->quantity);   /* checked */
	it->has_units_moved = 1;
}

int hub_views_inventory(struct hub_view_ctx *v)
{
	uint8_t key[DAY_KEY_MAX];
	size_t klen;
	int rc;
	Storesync__InventoryItem *it = get_item(v, key, &klen, &rc);

	if (!it)
		return rc;
	if ((rc = put_entry(v)) == 0 && (rc = update_days(v, it)) == 0) {
		note_move(v, it);
		rc = hub_view_put(v->txn, v->h->inventory, key, klen, &it->base);
	}
	storesync__inventory_item__free_unpacked(it, NULL);
	return rc;
}
