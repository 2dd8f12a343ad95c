/* hub_views: the table of the hub's databases and views, and where a valid
 * record's effect on the views is decided. hub_store_apply calls
 * hub_views_check, then hub_views_apply, inside the round's transaction,
 * after the record is in the event log and before the high-water mark
 * commits with it: a record and its effect are never separated by a crash
 * (guarantee 2).
 *
 * Determinism (guarantees 4 and 9): each view key has one writer (a store
 * owns its sales days, inventory and cases) except accounts, where only sums,
 * extremes, sets by time and fields chosen by an order-free rule are kept;
 * and every field follows the records' business times, ties broken by
 * business keys, never by seq or arrival. So the views are a function of
 * the set of records, in whatever order a store sent them.
 *
 * Checked arithmetic (issue 8): every view's check runs before any view
 * applies the record, and refuses it when a sum it keeps would leave int64:
 * a refused record changes nothing. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define DAY_MS 86400000LL

/* The deterministic part of a store's state: what the records made of it,
 * not when the hub last heard from it. */
static ProtobufCMessage *store_core(const ProtobufCMessage *m)
{
	const Storesync__StoreState *s = (const Storesync__StoreState *)m;
	Storesync__StoreState *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	storesync__store_state__init(c);
	c->store_id = strdup(s->store_id ? s->store_id : "");
	c->epoch = s->epoch;
	c->has_epoch = 1;
	c->high_water_seq = s->high_water_seq;
	c->has_high_water_seq = 1;
	c->records = s->records;
	c->has_records = 1;
	c->amount_fen = s->amount_fen;
	c->has_amount_fen = 1;
	c->refused = s->refused;
	c->has_refused = 1;
	c->biz_duplicates = s->biz_duplicates;
	c->has_biz_duplicates = 1;
	c->max_time_ms = s->max_time_ms;
	c->has_max_time_ms = 1;
	return &c->base;
}

#define DBI(field) offsetof(struct hub, field)
#define MONEY (HUB_REC(SALE) | HUB_REC(CONTRACT_SALE) | HUB_REC(PAYMENT) | HUB_REC(REFUND))

const struct hub_db_def hub_dbs[] = {
	{ "stores", DBI(stores), &storesync__store_state__descriptor, 1, store_core, 0, NULL, NULL },
	{ "events", DBI(events), &storesync__record__descriptor, 1, NULL, 0, NULL, NULL },
	{ "epochs", DBI(epochs), NULL, 0, NULL, 0, NULL, NULL },
	/* Like epochs, an index of the event log (it names seqs): not a view. */
	{ "biz_keys", DBI(biz_keys), NULL, 0, NULL, 0, NULL, NULL },
	{ "cases", DBI(cases), &storesync__case_view__descriptor, 1, NULL,
		HUB_REC(COMPLAINT) | HUB_REC(COMPLAINT_PROGRESS), NULL, hub_views_cases },
	{ "sales", DBI(sales), &storesync__sales_day__descriptor, 1, NULL,
		MONEY | HUB_REC(COMPLAINT_PROGRESS), hub_views_sales_check, hub_views_sales },
	{ "inventory", DBI(inventory), &storesync__inventory_item__descriptor, 1, NULL,
		HUB_REC(INVENTORY), hub_views_inventory_check, hub_views_inventory },
	{ "inv_days", DBI(inv_days), &storesync__inventory_day__descriptor, 1, NULL, 0, NULL,
		NULL },
	/* The moves by time, written with the inventory view: records, not a view. */
	{ "inv_moves", DBI(inv_moves), &storesync__inventory_entry__descriptor, 0, NULL, 0, NULL,
		NULL },
	{ "case_due", DBI(case_due), NULL, 1, NULL, 0, NULL, NULL },
	{ "accounts", DBI(accounts), &storesync__account_view__descriptor, 1, NULL, MONEY,
		hub_views_accounts_check, hub_views_accounts },
	{ "account_due", DBI(account_due), NULL, 1, NULL, 0, NULL, NULL },
	{ "store_seen", DBI(store_seen), NULL, 0, NULL, 0, NULL, NULL },
	{ "mismatches", DBI(mismatches), &storesync__price_mismatch__descriptor, 1, NULL,
		HUB_REC(SALE), NULL, hub_views_mismatch },
	{ "replenishment", DBI(replenishment), &storesync__replenish_state__descriptor, 1, NULL,
		HUB_REC(REPLENISHMENT), NULL, hub_views_replenish },
	/* What HQ decided: written by operators' writes, not by records. */
	{ "registry", DBI(registry), &storesync__store_info__descriptor, 1, NULL, 0, NULL, NULL },
	{ "updates", DBI(updates), &storesync__update__descriptor, 0, NULL, 0, NULL, NULL },
	{ "upd_scope", DBI(upd_scope), NULL, 0, NULL, 0, NULL, NULL },
	{ "update_heads", DBI(update_heads), &storesync__update_head__descriptor, 0, NULL, 0, NULL,
		NULL },
	{ "prices", DBI(prices), &storesync__dated_value__descriptor, 1, NULL, 0, NULL, NULL },
	{ "policy_history", DBI(policy_history), &storesync__dated_value__descriptor, 1, NULL, 0,
		NULL, NULL },
	/* Made by the writer's notice scan, on the hub's clock: not in dump. */
	{ "notices", DBI(notices), &storesync__notice_state__descriptor, 0, NULL, 0, NULL, NULL },
	{ "hub_meta", DBI(hub_meta), NULL, 0, NULL, 0, NULL, NULL },
	/* Who may speak, and what operators did. */
	{ "store_keys", DBI(store_keys), NULL, 0, NULL, 0, NULL, NULL },
	{ "operators", DBI(operators), &storesync__operator_info__descriptor, 0, NULL, 0, NULL,
		NULL },
	{ "operator_keys", DBI(operator_keys), NULL, 0, NULL, 0, NULL, NULL },
	{ "audit", DBI(audit), &storesync__audit_entry__descriptor, 0, NULL, 0, NULL, NULL },
	/* The order stores' records were applied in, across stores: it depends
	 * on the interleaving, so it is not dumped. */
	{ "event_order", DBI(event_order), NULL, 0, NULL, 0, NULL, NULL },
};

const size_t hub_n_dbs = sizeof hub_dbs / sizeof hub_dbs[0];

int32_t hub_business_day(const Storesync__Record *r)
{
	int64_t local_ms = r->time_ms + (int64_t)r->utc_offset_min * 60000;

	/* floor division: days before 1970 are not in business here, but keep
	 * the arithmetic right anyway */
	return (int32_t)(local_ms >= 0 ? local_ms / DAY_MS : (local_ms - DAY_MS + 1) / DAY_MS);
}

ProtobufCMessage *hub_view_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
	const ProtobufCMessageDescriptor *desc, int *rc)
{
	MDB_val k = { klen, (void *)key }, d;
	ProtobufCMessage *m = NULL;

	*rc = mdb_get(txn, dbi, &k, &d);
	if (*rc == 0)
		m = protobuf_c_message_unpack(desc, NULL, d.mv_size, d.mv_data);
	else if (*rc != MDB_NOTFOUND)
		return NULL;
	if (!m) {
		/* Absent (or unreadable, which only a corrupted file gives): start empty. */
		m = calloc(1, desc->sizeof_message);
		if (!m) {
			*rc = ENOMEM;
			return NULL;
		}
		protobuf_c_message_init(desc, m);
	}
	*rc = 0;
	return m;
}

int hub_view_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
	const ProtobufCMessage *msg)
{
	MDB_val k = { klen, (void *)key }, d;
	int rc;

	d.mv_size = protobuf_c_message_get_packed_size(msg);
	rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE);
	if (rc == 0)
		protobuf_c_message_pack(msg, d.mv_data);
	return rc;
}

int hub_view_refuse(struct hub_view_ctx *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof v->reason, fmt, ap);
	va_end(ap);
	return HUB_VIEW_REFUSED;
}

static uint32_t kind_of(const Storesync__Record *r)
{
	return r->body_case < STORESYNC__RECORD__BODY_SALE ? 0
		: 1u << (r->body_case - STORESYNC__RECORD__BODY_SALE);
}

int hub_views_check(struct hub_view_ctx *v)
{
	uint32_t kind = kind_of(v->r);
	int rc;

	v->day = hub_business_day(v->r);
	for (size_t i = 0; i < hub_n_dbs; i++)
		if ((hub_dbs[i].records & kind) && hub_dbs[i].check
			&& (rc = hub_dbs[i].check(v)) != 0)
			return rc;
	return 0;
}

int hub_views_apply(struct hub_view_ctx *v)
{
	uint32_t kind = kind_of(v->r);
	int rc;

	for (size_t i = 0; i < hub_n_dbs; i++)
		if ((hub_dbs[i].records & kind) && (rc = hub_dbs[i].apply(v)) != 0)
			return rc;
	return 0;
}
