/* hub_views: where a valid record's effect on the views is decided. Called
 * by hub_store_apply inside the ingest transaction, after the record is in
 * the event log and before the high-water mark commits with it: a record and
 * its effect are never separated by a crash (guarantee 2).
 *
 * Determinism (guarantee 4): each view key has one writer (a store owns its
 * sales days, inventory and cases) except accounts, where only sums, maxima
 * and single-writer fields are kept. So the views are a function of the set of
 * records, not of the order stores were interleaved in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define DAY_MS 86400000LL

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

int hub_views_apply(struct hub_view_ctx *v)
{
	v->day = hub_business_day(v->r);
	switch (v->r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
	case STORESYNC__RECORD__BODY_PAYMENT:
	case STORESYNC__RECORD__BODY_REFUND: {
		int rc = hub_views_sales(v);

		return rc ? rc : hub_views_accounts(v);
	}
	case STORESYNC__RECORD__BODY_COMPLAINT:
		return hub_views_cases(v);
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS: {
		int rc = hub_views_cases(v);

		/* Compensation paid is money out of the store that day; a step
		 * without compensation leaves the sales view alone (no empty day). */
		return rc || v->r->complaint_progress->amount_fen <= 0 ? rc : hub_views_sales(v);
	}
	case STORESYNC__RECORD__BODY_INVENTORY:
		return hub_views_inventory(v);
	default:
		/* Replenishment requests live in the event log; their decisions
		 * flow down (a later issue). */
		return 0;
	}
}
