/* hub_query_views: operators' queries over the views (sales, inventory,
 * complaints, accounts). Read transactions only. Each handler walks
 * the smallest key range its filters allow: a store's sales days are one
 * contiguous range, overdue complaints come from the deadline index. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "ss_arena.h"
#include "ss_json.h"
#include "ss_time.h"

const char *case_state_name(Storesync__CaseState s)
{
	static const char *const names[] = { "?", "open", "responded", "investigating",
		"resolved", "closed", "unregistered" };

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *aging_bucket(int64_t age_days)
{
	if (age_days <= 30)
		return "0-30";
	if (age_days <= 60)
		return "31-60";
	if (age_days <= 90)
		return "61-90";
	return "over 90";
}

/* ---- sales ---- */

struct sales_sum {
	char period[16];
	int64_t v[14];  /* receipts .. compensation, in sales_cols order after the period */
};

static const char *const sales_cols[] = { "store_id", "period", "receipts", "sales_fen",
	"refunds", "refunds_fen", "net_fen", "contracts", "contract_total_fen", "deposits_fen",
	"payments_fen", "cash_fen", "card_fen", "mobile_fen", "on_account_fen",
	"compensation_fen" };

/* Adds a day to its period; -1 when a sum would leave int64 (the answer
 * is then refused rather than wrapped). */
static int sales_add(struct sales_sum *s, const Storesync__SalesDay *d)
{
	/* net: what was sold (receipts and contracts) less what was refunded,
	 * whichever the refund was against. */
	int64_t net;
	int wrap = __builtin_add_overflow(d->sales_fen, d->contract_total_fen, &net)
		|| __builtin_sub_overflow(net, d->refunds_fen, &net);
	int64_t add[14] = { (int64_t)d->receipts, d->sales_fen, (int64_t)d->refunds,
		d->refunds_fen, net, (int64_t)d->contracts, d->contract_total_fen, d->deposits_fen,
		d->payments_fen, d->cash_fen, d->card_fen, d->mobile_fen, d->on_account_fen,
		d->compensation_fen };

	for (int i = 0; i < 14 && !wrap; i++)
		wrap = __builtin_add_overflow(s->v[i], add[i], &s->v[i]);
	return wrap ? -1 : 0;
}

static void sales_emit(struct table *t, const char *store, const struct sales_sum *s)
{
	Storesync__Row *row = table_row(t);

	if (!row)
		return;
	cell_str(row, store);
	cell_str(row, s->period);
	for (int i = 0; i < 14; i++)
		cell_int(row, s->v[i]);
}

/* What one sales query reuses from store to store: each day's period,
 * formatted once (every store has the same days), and the memory its days
 * are unpacked into. */
#define PERIOD_CACHE 128   /* days; a power of two */

struct period_entry {
	int32_t day;
	char period[16];
};

struct sales_walk {
	struct period_entry cache[PERIOD_CACHE];
	struct ss_arena arena;
};

static void sales_walk_init(struct sales_walk *w)
{
	for (int i = 0; i < PERIOD_CACHE; i++)
		w->cache[i].day = INT32_MIN;
	ss_arena_init(&w->arena, 0);
}

static const char *period_of(const struct query_args *a, struct sales_walk *w, int32_t day)
{
	struct period_entry *c = &w->cache[(uint32_t)day & (PERIOD_CACHE - 1)];

	if (c->day == day)
		return c->period;
	c->day = day;
	if (a->by && strcmp(a->by, "week") == 0)
		ss_time_format_week(day, c->period, sizeof c->period);
	else if (a->by && strcmp(a->by, "month") == 0)
		ss_time_format_month(day, c->period, sizeof c->period);
	else
		ss_time_format_day(day, c->period, sizeof c->period);
	return c->period;
}

static void sales_too_large(struct table *t, const char *store, const char *period)
{
	char reason[160];

	snprintf(reason, sizeof reason, "sales: a sum of %s for %s passes %lld fen; ask for "
		"shorter periods", store, period, (long long)INT64_MAX);
	table_fail(t, reason);
}

/* One store's days in [from, to], summed per period (days sort by time, so
 * a period's days are adjacent). */
static void sales_store(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct sales_walk *w, const char *store, struct table *t)
{
	uint8_t key[33 + 5];   /* store ids are validated: at most 32 bytes */
	size_t n = strlen(store), klen = hub_key_store_day(key, store, a->from_day < 0 ? 0 : a->from_day);
	MDB_val k = { klen, key }, d;
	struct sales_sum sum = { .period = "" };
	MDB_cursor *cur;
	const char *period;
	int rc;

	mdb_cursor_open(txn, h->sales, &cur);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		int32_t day;
		Storesync__SalesDay *sd;

		if (k.mv_size != n + 5 || memcmp(kp, store, n) != 0 || kp[n] != '\0')
			break;
		day = (int32_t)((uint32_t)kp[n + 1] << 24 | (uint32_t)kp[n + 2] << 16
			| (uint32_t)kp[n + 3] << 8 | kp[n + 4]);
		if (day > a->to_day)
			break;
		/* The hub's own view, unpacked into memory reused day after day. */
		ss_arena_reset(&w->arena);
		if (!(sd = (Storesync__SalesDay *)protobuf_c_message_unpack(
			&storesync__sales_day__descriptor, &w->arena.allocator, d.mv_size, d.mv_data)))
			continue;
		period = period_of(a, w, day);
		if (sum.period[0] && strcmp(sum.period, period) != 0) {
			sales_emit(t, store, &sum);
			memset(&sum, 0, sizeof sum);
		}
		if (!sum.period[0])
			memcpy(sum.period, period, sizeof sum.period);
		if (sales_add(&sum, sd) != 0) {
			mdb_cursor_close(cur);
			return sales_too_large(t, store, sum.period);
		}
	}
	if (sum.period[0])
		sales_emit(t, store, &sum);
	mdb_cursor_close(cur);
}

void query_sales(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	struct sales_walk *w;
	MDB_cursor *cur;
	MDB_val k, d;
	char store[40];

	table_init(t, sales_cols, sizeof sales_cols / sizeof sales_cols[0]);
	/* A day is kept whole: it cannot be cut at a moment. */
	if (query_in_past(h, txn, a))
		return table_fail(t, "sales: figures are of whole store-local days and some records "
			"are dated after --at; ask with --to DAY instead of --at");
	if (!(w = malloc(sizeof *w)))
		return table_fail(t, "sales: out of memory");
	sales_walk_init(w);
	if (a->store) {
		sales_store(h, txn, a, w, a->store, t);
	} else {
		mdb_cursor_open(txn, h->stores, &cur);
		while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
			if (k.mv_size >= sizeof store)
				continue;
			memcpy(store, k.mv_data, k.mv_size);
			store[k.mv_size] = '\0';
			sales_store(h, txn, a, w, store, t);
		}
		mdb_cursor_close(cur);
	}
	ss_arena_release(&w->arena);
	free(w);
}

/* ---- inventory ---- */

/* The item as the query sees it: as kept when no move is dated after the
 * query's as_of_ms, else replayed up to it. moves 0: it had none then. */
static int item_then(struct hub *h, MDB_txn *txn, const struct query_args *a,
	const char *store, const char *sku, const Storesync__InventoryItem *it,
	struct hub_inv_then *then)
{
	if (a->as_of_ms < it->last_move_ms)
		return hub_inventory_at(h, txn, store, sku, a->as_of_ms, then);
	*then = (struct hub_inv_then){ { it->moves > 0, it->last_day, it->on_hand,
		it->out_of_stock_days, it->out_of_stock_since_day }, it->moves,
		it->last_stocktake_ms, it->last_move_ms, it->utc_offset_min, 1 };
	return 0;
}

static void inventory_row(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct table *t, const char *store, const char *sku, const Storesync__InventoryItem *it)
{
	struct hub_inv_then then;
	int64_t days;
	char since[16] = "";
	Storesync__Row *row;

	if (item_then(h, txn, a, store, sku, it, &then) != 0 || then.moves == 0)
		return;
	days = then.walk.closed;
	if (then.walk.since >= 0) {
		/* The run goes on to the store's local today, in the offset of the
		 * latest move counted: each day of it that has ended counts. */
		int64_t offset = then.has_offset ? then.utc_offset_min : it->utc_offset_min;
		int32_t today = (int32_t)((a->at_ms + offset * 60000) / SS_DAY_MS);

		days += today > then.walk.day ? today - then.walk.day : 0;
		ss_time_format_day(then.walk.since, since, sizeof since);
	}
	if (then.walk.end >= a->below || !(row = table_row(t)))
		return;
	cell_str(row, store);
	cell_str(row, sku);
	cell_int(row, then.walk.end);
	cell_int(row, days);
	cell_str(row, since);
	cell_int(row, then.last_stocktake_ms);
	cell_int(row, then.last_move_ms);
	cell_int(row, (int64_t)then.moves);
}

void query_inventory(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "store_id", "sku", "on_hand", "out_of_stock_days",
		"out_of_stock_since", "last_stocktake_ms", "last_move_ms", "moves" };
	uint8_t prefix[33];    /* a validated store id and its separator */
	size_t plen = a->store ? strlen(a->store) + 1 : 0;
	MDB_val k = { plen, prefix }, d;
	MDB_cursor *cur;
	int rc;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (a->store)
		memcpy(prefix, a->store, plen);   /* includes the '\0' separator */
	mdb_cursor_open(txn, h->inventory, &cur);
	for (rc = mdb_cursor_get(cur, &k, &d, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const char *store = k.mv_data, *sep = memchr(k.mv_data, '\0', k.mv_size);
		Storesync__InventoryItem *it;
		char sku[40];

		if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if (!sep || (size_t)(k.mv_size - (size_t)(sep + 1 - store)) >= sizeof sku)
			continue;
		snprintf(sku, sizeof sku, "%.*s", (int)(k.mv_size - (size_t)(sep + 1 - store)), sep + 1);
		if ((a->sku && strcmp(a->sku, sku) != 0)
			|| !(it = storesync__inventory_item__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		inventory_row(h, txn, a, t, store, sku, it);
		storesync__inventory_item__free_unpacked(it, NULL);
	}
	mdb_cursor_close(cur);
}

/* ---- complaints ---- */

static const char *const case_cols[] = { "case_no", "store_id", "state", "channel",
	"category", "severity", "registered_ms", "respond_by_ms", "report_by_ms", "responded_ms",
	"investigated_ms", "resolved_ms", "closed_ms", "overdue", "responded_late",
	"reported_late", "compensation_fen" };

/* Which of the case's deadlines are open and past at the query's moment. */
static void overdue_text(const struct hub_case_fig *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", f->overdue_response ? "response" : "",
		f->overdue_response && f->overdue_report ? "," : "",
		f->overdue_report ? "report" : "");
}

/* The case as it stood at the query's moment: steps dated after it do not
 * count, a case not yet recorded then is not listed. */
static void case_row(struct table *t, const Storesync__CaseView *c, const struct query_args *a)
{
	struct hub_case_fig f;
	Storesync__Row *row;
	char overdue[32], name[32];

	hub_case_at(c, a->as_of_ms, a->at_ms, &f);
	overdue_text(&f, overdue, sizeof overdue);
	if (!f.exists || (a->overdue && !overdue[0]) || (a->late && !f.late)
		|| (a->store && strcmp(a->store, c->store_id) != 0)
		|| (a->state && strcmp(a->state, case_state_name(f.state)) != 0)
		|| !(row = table_row(t)))
		return;
	cell_str(row, c->case_no);
	cell_str(row, c->store_id);
	cell_str(row, case_state_name(f.state));
	if (f.state == STORESYNC__CASE_STATE__CASE_UNREGISTERED) {
		/* As at a moment before its complaint: nothing of the complaint
		 * yet, so no deadlines (docs/records.md). */
		for (int i = 0; i < 3; i++)
			cell_str(row, "");
		for (int i = 0; i < 3; i++)
			cell_int(row, 0);
	} else {
		cell_str(row, ss_json_enum_name(&storesync__complaint_channel__descriptor,
			c->channel, name, sizeof name));
		cell_str(row, ss_json_enum_name(&storesync__complaint_category__descriptor,
			c->category, name, sizeof name));
		cell_str(row, ss_json_enum_name(&storesync__severity__descriptor, c->severity,
			name, sizeof name));
		cell_int(row, c->registered_ms);
		cell_int(row, c->respond_by_ms);
		cell_int(row, c->report_by_ms);
	}
	cell_int(row, f.responded_ms);
	cell_int(row, f.investigated_ms);
	cell_int(row, f.resolved_ms);
	cell_int(row, f.closed_ms);
	cell_str(row, overdue);
	cell_int(row, f.responded_late);
	cell_int(row, f.reported_late);
	cell_int(row, f.compensation_fen);
}

static Storesync__CaseView *get_case(struct hub *h, MDB_txn *txn, const void *no, size_t len)
{
	MDB_val k = { len, (void *)no }, d;

	if (mdb_get(txn, h->cases, &k, &d) != 0)
		return NULL;
	return storesync__case_view__unpack(NULL, d.mv_size, d.mv_data);
}

/* A case whose two deadlines are both past is listed at the first of its
 * entries only (other cases' entries may lie between them). */
int case_first_due_entry(const Storesync__CaseView *c, int64_t ms, char kind)
{
	int other_open = kind == 'R' ? !c->investigated_ms : !c->responded_ms;
	int64_t other_ms = kind == 'R' ? c->report_by_ms : c->respond_by_ms;
	char other_kind = kind == 'R' ? 'I' : 'R';

	return !(other_open && (other_ms < ms || (other_ms == ms && other_kind < kind)));
}

/* Overdue cases come from the deadline index: entries before at_ms. */
static void complaints_overdue(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct table *t)
{
	MDB_cursor *cur;
	MDB_val k, d;

	mdb_cursor_open(txn, h->case_due, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		const char *no = (const char *)k.mv_data + 9;
		int64_t ms = k.mv_size < 10 ? INT64_MAX : (int64_t)ss_be64_get(k.mv_data);
		Storesync__CaseView *c;

		if (ms >= a->at_ms)
			break;
		if ((c = get_case(h, txn, no, k.mv_size - 9)) != NULL) {
			if (case_first_due_entry(c, ms, ((const char *)k.mv_data)[8]))
				case_row(t, c, a);
			storesync__case_view__free_unpacked(c, NULL);
		}
	}
	mdb_cursor_close(cur);
}

/* Overdue cases from the deadline index, when it holds the query's moment;
 * otherwise (a past --at, and for --late, which also wants the deadlines
 * met late) every case, each judged as it stood then. */
void query_complaints(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	MDB_cursor *cur;
	MDB_val k, d;

	table_init(t, case_cols, sizeof case_cols / sizeof case_cols[0]);
	if (a->overdue && !a->late && !query_in_past(h, txn, a))
		return complaints_overdue(h, txn, a, t);
	mdb_cursor_open(txn, h->cases, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__CaseView *c = storesync__case_view__unpack(NULL, d.mv_size, d.mv_data);

		if (c) {
			case_row(t, c, a);
			storesync__case_view__free_unpacked(c, NULL);
		}
	}
	mdb_cursor_close(cur);
}
