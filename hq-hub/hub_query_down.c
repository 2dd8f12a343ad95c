/* hub_query_down: operators' queries about what HQ decided and how far it
 * has reached the stores: the registry, policies and prices in force (for a
 * store, at a moment), rollout status per update, collection notices,
 * replenishment requests and price mismatches. Read transactions only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "hub_registry.h"
#include "hub_updates.h"
#include "ss_time.h"

/* "default", or the target of the update that set a value. */
static void scope_of(struct hub *h, MDB_txn *txn, uint64_t update_id, char *buf, size_t len)
{
	Storesync__UpdateHead *head = update_id ? hub_updates_head_get(h, txn, update_id) : NULL;

	if (!update_id)
		snprintf(buf, len, "default");
	else
		hub_target_text(head ? head->target : NULL, buf, len);
	if (head)
		storesync__update_head__free_unpacked(head, NULL);
}

/* ---- policy show [--store S] [--at T] ---- */

void query_policy(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "name", "value", "unit", "scope", "effective_ms",
		"update_id", "range" };
	char region[40] = "", scope[160], range[64];

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (a->store)
		hub_registry_region(h, txn, a->store, region, sizeof region);
	for (int i = 0; i < SS_POL_N; i++) {
		const struct ss_policy_def *def = ss_policy_def((enum ss_policy_id)i);
		struct hub_dated d = { .value = def->def };
		Storesync__Row *row = table_row(t);

		if (!row)
			return;
		if (hub_dated_find(h, txn, NULL, h->policy_history, def->name, a->store, region,
			a->at_ms, INT64_MAX, &d) != 1)
			d = (struct hub_dated){ .value = def->def };
		scope_of(h, txn, d.update_id, scope, sizeof scope);
		snprintf(range, sizeof range, "%" PRId64 "..%" PRId64, def->min, def->max);
		cell_str(row, def->name);
		cell_int(row, d.value);
		cell_str(row, def->unit);
		cell_str(row, scope);
		cell_int(row, d.effective_ms);
		cell_int(row, (int64_t)d.update_id);
		cell_str(row, range);
	}
}

/* ---- store list: the registry ---- */

/* The keys, whole, comma-separated: hqctl shows each by its first 8
 * characters and gives scripts the list (common/ss_table.c). */
static void keys_cell(Storesync__Row *row, char **keys, size_t n)
{
	char *buf = calloc(n ? n : 1, SS_CURVE_KEY_CHARS + 2), *p = buf;

	if (!buf) {
		cell_str(row, "");
		return;
	}
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%.*s", i ? "," : "", SS_CURVE_KEY_CHARS, keys[i]);
	cell_str(row, buf);
	free(buf);
}

void query_store_list(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "store_id", "name", "region", "status", "keys",
		"added_ms", "changed_ms" };
	MDB_cursor *cur;
	MDB_val k, d;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (mdb_cursor_open(txn, h->registry, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__StoreInfo *si = storesync__store_info__unpack(NULL, d.mv_size, d.mv_data);
		Storesync__Row *row;

		if (si && (!a->store || strcmp(a->store, si->store_id) == 0)
			&& (!a->region || strcmp(a->region, si->region ? si->region : "") == 0)
			&& (row = table_row(t)) != NULL) {
			cell_str(row, si->store_id);
			cell_str(row, si->name);
			cell_str(row, si->region);
			cell_str(row, si->status);
			keys_cell(row, si->keys, si->n_keys);
			cell_int(row, si->added_ms);
			cell_int(row, si->changed_ms);
		}
		if (si)
			storesync__store_info__free_unpacked(si, NULL);
	}
	mdb_cursor_close(cur);
}

/* ---- price show SKU [--store S] [--at T]: the SKU's dated prices ---- */

struct price_rows {
	struct hub *h;
	MDB_txn *txn;
	struct table *t;
	const struct query_args *a;
	struct hub_dated in_force;
	int found;
};

static int price_row(void *arg, const struct hub_dated *e)
{
	struct price_rows *p = arg;
	Storesync__Row *row = table_row(p->t);
	char scope[160];

	if (!row)
		return -1;
	scope_of(p->h, p->txn, e->update_id, scope, sizeof scope);
	cell_str(row, p->a->sku);
	cell_int(row, e->value);
	cell_str(row, e->label);
	cell_int(row, e->effective_ms);
	cell_int(row, (int64_t)e->update_id);
	cell_str(row, scope);
	cell_int(row, p->found && p->in_force.update_id == e->update_id
		&& p->in_force.effective_ms == e->effective_ms);
	return 0;
}

void query_price_show(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "sku", "price_fen", "name", "effective_ms",
		"update_id", "scope", "in_force" };
	struct price_rows p = { h, txn, t, a, { 0 }, 0 };
	char region[40] = "";

	if (!a->sku)
		return table_fail(t, "price show needs a SKU");
	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (a->store)
		hub_registry_region(h, txn, a->store, region, sizeof region);
	p.found = hub_dated_find(h, txn, NULL, h->prices, a->sku, a->store, region, a->at_ms,
		INT64_MAX, &p.in_force) == 1;
	hub_dated_each(txn, h->prices, a->sku, price_row, &p);
}

/* ---- price mismatches [--store S] [--from DAY] [--to DAY] ---- */

void query_price_mismatches(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct table *t)
{
	static const char *const cols[] = { "store_id", "day", "sku", "lines", "charged_fen",
		"expected_fen", "last_receipt", "last_ms" };
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (query_in_past(h, txn, a))
		return table_fail(t, "price mismatches: counted by whole store-local days and some "
			"records are dated after --at; ask with --to DAY instead of --at");
	if (mdb_cursor_open(txn, h->mismatches, &cur) != 0)
		return;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		size_t sl = strnlen((const char *)kp, k.mv_size);
		Storesync__PriceMismatch *m;
		Storesync__Row *row;
		char store[40], sku[40], day_text[16];
		int32_t day;

		if (sl + 6 > k.mv_size || sl >= sizeof store || k.mv_size - sl - 6 >= sizeof sku)
			continue;
		memcpy(store, kp, sl);
		store[sl] = '\0';
		day = (int32_t)((uint32_t)kp[sl + 1] << 24 | (uint32_t)kp[sl + 2] << 16
			| (uint32_t)kp[sl + 3] << 8 | kp[sl + 4]);
		snprintf(sku, sizeof sku, "%.*s", (int)(k.mv_size - sl - 6), (const char *)kp + sl + 6);
		if ((a->store && strcmp(a->store, store) != 0) || day < a->from_day || day > a->to_day
			|| (a->sku && strcmp(a->sku, sku) != 0))
			continue;
		if (!(m = storesync__price_mismatch__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		if ((row = table_row(t)) != NULL) {
			ss_time_format_day(day, day_text, sizeof day_text);
			cell_str(row, store);
			cell_str(row, day_text);
			cell_str(row, sku);
			cell_int(row, (int64_t)m->lines);
			cell_int(row, m->charged_fen);
			cell_int(row, m->expected_fen);
			cell_str(row, m->last_receipt ? m->last_receipt : "");
			cell_int(row, m->last_ms);
		}
		storesync__price_mismatch__free_unpacked(m, NULL);
	}
	mdb_cursor_close(cur);
}

/* ---- rollout [--update ID] [--kind price|policy|notice|decision] ---- */

#define ROLLOUT_DEFAULT_UPDATES 20

/* Every store the hub knows: registered or heard from. */
struct known_store {
	char id[33], region[40];
	uint64_t applied;
	int64_t applied_ms;
};

static int known_add(struct known_store **arr, size_t *n, size_t *cap, const char *id,
	const char *region, const Storesync__StoreState *st)
{
	for (size_t i = *n; i > 0; i--)
		if (strcmp((*arr)[i - 1].id, id) == 0) {
			if (region)
				snprintf((*arr)[i - 1].region, sizeof (*arr)[0].region, "%s", region);
			if (st)
				(*arr)[i - 1].applied = st->applied_update_id;
			return 0;
		}
	if (*n == *cap) {
		struct known_store *a = realloc(*arr, (*cap ? *cap * 2 : 64) * sizeof *a);

		if (!a)
			return -1;
		*arr = a;
		*cap = *cap ? *cap * 2 : 64;
	}
	memset(&(*arr)[*n], 0, sizeof **arr);
	snprintf((*arr)[*n].id, sizeof (*arr)[0].id, "%s", id);
	snprintf((*arr)[*n].region, sizeof (*arr)[0].region, "%s", region ? region : "");
	(*arr)[*n].applied = st ? st->applied_update_id : 0;
	(*arr)[*n].applied_ms = st ? st->applied_ms : 0;
	(*n)++;
	return 0;
}

/* Registry and store states, merged by id (both are sorted by it). */
static struct known_store *known_stores(struct hub *h, MDB_txn *txn, size_t *n)
{
	struct known_store *arr = NULL;
	size_t cap = 0;
	MDB_cursor *cur;
	MDB_val k, d;

	*n = 0;
	if (mdb_cursor_open(txn, h->registry, &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
			Storesync__StoreInfo *si = storesync__store_info__unpack(NULL, d.mv_size,
				d.mv_data);

			if (si)
				known_add(&arr, n, &cap, si->store_id, si->region, NULL);
			if (si)
				storesync__store_info__free_unpacked(si, NULL);
		}
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, h->stores, &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
			Storesync__StoreState *st = storesync__store_state__unpack(NULL, d.mv_size,
				d.mv_data);
			char region[40];

			if (st && st->store_id) {
				hub_registry_region(h, txn, st->store_id, region, sizeof region);
				known_add(&arr, n, &cap, st->store_id, region, st);
			}
			if (st)
				storesync__store_state__free_unpacked(st, NULL);
		}
		mdb_cursor_close(cur);
	}
	return arr;
}

static void rollout_row(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct table *t, const Storesync__UpdateHead *u, const struct known_store *ks, size_t n)
{
	uint64_t targeted = 0, applied = 0;
	const struct known_store *oldest = NULL;
	int64_t oldest_since = INT64_MAX;
	char scope[160];
	Storesync__Row *row;

	for (size_t i = 0; i < n; i++) {
		uint64_t first;
		Storesync__UpdateHead *fu;

		if (!hub_target_includes(u->target, ks[i].id, ks[i].region))
			continue;
		targeted++;
		if (ks[i].applied >= u->update_id) {
			applied++;
			continue;
		}
		/* Behind since the first update it has not applied. */
		first = hub_updates_next_for(h, txn, ks[i].id, ks[i].region, ks[i].applied);
		fu = first ? hub_updates_head_get(h, txn, first) : NULL;
		if (fu && fu->created_ms < oldest_since) {
			oldest_since = fu->created_ms;
			oldest = &ks[i];
		} else if (!oldest) {
			oldest = &ks[i];
			oldest_since = u->created_ms;
		}
		if (fu)
			storesync__update_head__free_unpacked(fu, NULL);
	}
	if (!(row = table_row(t)))
		return;
	hub_target_text(u->target, scope, sizeof scope);
	cell_int(row, (int64_t)u->update_id);
	cell_str(row, u->kind);
	cell_int(row, u->created_ms);
	cell_int(row, u->effective_ms);
	cell_str(row, scope);
	cell_int(row, u->entries);
	cell_int(row, (int64_t)targeted);
	cell_int(row, (int64_t)applied);
	cell_int(row, (int64_t)(targeted - applied));
	cell_str(row, oldest ? oldest->id : "");
	cell_int(row, oldest ? a->at_ms - oldest_since : 0);
}

void query_rollout(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "update_id", "kind", "created_ms", "effective_ms",
		"target", "entries", "targeted", "applied", "pending", "oldest_pending_store",
		"oldest_pending_for_ms" };
	size_t n, shown = 0;
	struct known_store *ks;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	ks = known_stores(h, txn, &n);
	if (mdb_cursor_open(txn, h->update_heads, &cur) != 0) {
		free(ks);
		return;
	}
	/* Newest first; the notices and decisions only when asked for. */
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_LAST); rc == 0 && shown < ROLLOUT_DEFAULT_UPDATES;
		rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		Storesync__UpdateHead *u = storesync__update_head__unpack(NULL, d.mv_size, d.mv_data);
		const char *kind = u && u->kind ? u->kind : "";

		if (u && (!a->update || u->update_id == a->update)
			&& (a->kind ? strcmp(a->kind, kind) == 0
				: (!strcmp(kind, "price") || !strcmp(kind, "policy") || a->update))) {
			rollout_row(h, txn, a, t, u, ks, n);
			shown++;
		}
		if (u)
			storesync__update_head__free_unpacked(u, NULL);
		if (a->update && shown)
			break;
	}
	mdb_cursor_close(cur);
	free(ks);
}

/* ---- notices [--store S] ---- */

void query_notices(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "account", "store_id", "customer", "balance_fen",
		"since_ms", "age_days", "issued_ms", "update_id", "delivered" };
	MDB_cursor *cur;
	MDB_val k, d;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (mdb_cursor_open(txn, h->notices, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__NoticeState *ns = storesync__notice_state__unpack(NULL, d.mv_size,
			d.mv_data);
		Storesync__StoreState *st = NULL;
		Storesync__Row *row;
		MDB_val sk, sd;

		if (!ns || !ns->notice || (a->store && strcmp(a->store, ns->store_id) != 0)) {
			if (ns)
				storesync__notice_state__free_unpacked(ns, NULL);
			continue;
		}
		sk.mv_size = strlen(ns->store_id);
		sk.mv_data = ns->store_id;
		if (mdb_get(txn, h->stores, &sk, &sd) == 0)
			st = storesync__store_state__unpack(NULL, sd.mv_size, sd.mv_data);
		if ((row = table_row(t)) != NULL) {
			cell_str(row, ns->notice->account);
			cell_str(row, ns->store_id);
			cell_str(row, ns->notice->customer);
			cell_int(row, ns->notice->balance_fen);
			cell_int(row, ns->notice->since_ms);
			cell_int(row, ns->notice->age_days);
			cell_int(row, ns->notice->issued_ms);
			cell_int(row, (int64_t)ns->update_id);
			cell_int(row, st && st->applied_update_id >= ns->update_id);
		}
		if (st)
			storesync__store_state__free_unpacked(st, NULL);
		storesync__notice_state__free_unpacked(ns, NULL);
	}
	mdb_cursor_close(cur);
}

/* ---- replenish list [--state pending|approved|refused] [--store S] ---- */

static const char *replenish_state(const Storesync__ReplenishState *rs)
{
	if (!rs->decision)
		return "pending";
	return rs->decision->decision == STORESYNC__DECISION__DECISION_APPROVED ? "approved"
		: "refused";
}

void query_replenish(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "id", "store_id", "request_no", "sku", "quantity",
		"reason", "needed_by_ms", "requested_ms", "state", "approved_quantity", "note",
		"decided_ms", "delivered" };
	MDB_cursor *cur;
	MDB_val k, d;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (mdb_cursor_open(txn, h->replenishment, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__ReplenishState *rs = storesync__replenish_state__unpack(NULL, d.mv_size,
			d.mv_data);
		const Storesync__ReplenishmentDecision *dec;
		Storesync__StoreState *st = NULL;
		Storesync__Row *row;
		MDB_val sk, sd;
		char id[100];

		if (!rs || (a->store && strcmp(a->store, rs->store_id) != 0)
			|| (a->state && strcmp(a->state, replenish_state(rs)) != 0)) {
			if (rs)
				storesync__replenish_state__free_unpacked(rs, NULL);
			continue;
		}
		dec = rs->decision;
		sk.mv_size = strlen(rs->store_id);
		sk.mv_data = rs->store_id;
		if (dec && mdb_get(txn, h->stores, &sk, &sd) == 0)
			st = storesync__store_state__unpack(NULL, sd.mv_size, sd.mv_data);
		snprintf(id, sizeof id, "%s:%s", rs->store_id, rs->request_no);
		if ((row = table_row(t)) != NULL) {
			cell_str(row, id);
			cell_str(row, rs->store_id);
			cell_str(row, rs->request_no);
			cell_str(row, rs->sku);
			cell_int(row, rs->quantity);
			cell_str(row, rs->reason);
			cell_int(row, rs->needed_by_ms);
			cell_int(row, rs->requested_ms);
			cell_str(row, replenish_state(rs));
			cell_int(row, dec ? dec->quantity : 0);
			cell_str(row, dec ? dec->note : "");
			cell_int(row, dec ? dec->decided_ms : 0);
			cell_int(row, st && st->applied_update_id >= rs->update_id);
		}
		if (st)
			storesync__store_state__free_unpacked(st, NULL);
		storesync__replenish_state__free_unpacked(rs, NULL);
	}
	mdb_cursor_close(cur);
}

/* ---- operator list ---- */

void query_operators(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "operator", "role", "status", "keys", "added_ms",
		"changed_ms" };
	MDB_cursor *cur;
	MDB_val k, d;

	(void)a;
	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (mdb_cursor_open(txn, h->operators, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__OperatorInfo *op = storesync__operator_info__unpack(NULL, d.mv_size,
			d.mv_data);
		Storesync__Row *row;

		if (op && (row = table_row(t)) != NULL) {
			cell_str(row, op->name);
			cell_str(row, op->role);
			cell_str(row, op->status);
			keys_cell(row, &op->key, op->key ? 1 : 0);
			cell_int(row, op->added_ms);
			cell_int(row, op->changed_ms);
		}
		if (op)
			storesync__operator_info__free_unpacked(op, NULL);
	}
	mdb_cursor_close(cur);
}

/* ---- audit [--since T | --from T] [--who NAME] ---- */

void query_audit(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "time_ms", "who", "role", "what", "args", "result",
		"update_id" };
	uint8_t key[16] = { 0 };
	MDB_val k = { 16, key }, d;
	MDB_cursor *cur;
	int rc;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	ss_be64_put(key, (uint64_t)(a->since_ms > 0 ? a->since_ms : 0));
	if (mdb_cursor_open(txn, h->audit, &cur) != 0)
		return;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Storesync__AuditEntry *e = storesync__audit_entry__unpack(NULL, d.mv_size, d.mv_data);
		Storesync__Row *row;

		if (e && (!a->who || (e->who && strcmp(a->who, e->who) == 0))
			&& (row = table_row(t)) != NULL) {
			cell_int(row, e->time_ms);
			cell_str(row, e->who);
			cell_str(row, e->role);
			cell_str(row, e->what);
			cell_str(row, e->args);
			cell_str(row, e->result);
			cell_int(row, (int64_t)e->update_id);
		}
		if (e)
			storesync__audit_entry__free_unpacked(e, NULL);
	}
	mdb_cursor_close(cur);
}
