/* hub_order: the hub's global change order. The event log is keyed by
 * (store, epoch, seq), which orders each store's records but not the
 * chain's; an export that must resume exactly where it stopped needs one
 * position over everything. So every record put into the event log also
 * gets the next change_no in event_order, in the same write transaction:
 * a record is never in the log without its number, nor numbered without
 * being in the log, and a committed number is never reused (the next one
 * is loaded from the database's last and only grows in memory; a round
 * that aborts leaves a gap, never a repeat).
 *
 * Value: the hub time the record arrived (u64 BE) and its events key, so
 * a reader can tell this hub's change N from another's (a hub restored
 * from a backup issues numbers again: hq-export compares what it holds). */
#include <string.h>

#include "hub.h"

int hub_order_note(struct hub *h, MDB_txn *txn, const void *event_key, size_t len,
	int64_t now_ms)
{
	uint8_t key[8], val[8 + HUB_ORDER_MAX_KEY];
	MDB_val k = { sizeof key, key }, d = { 8 + len, val };
	int rc;

	if (len > HUB_ORDER_MAX_KEY)
		return MDB_BAD_VALSIZE;
	if (h->order_next == 0) {
		MDB_cursor *cur;
		MDB_val lk, ld;

		if ((rc = mdb_cursor_open(txn, h->event_order, &cur)) != 0)
			return rc;
		rc = mdb_cursor_get(cur, &lk, &ld, MDB_LAST);
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		h->order_next = rc == 0 && lk.mv_size == 8 ? ss_be64_get(lk.mv_data) + 1 : 1;
	}
	ss_be64_put(key, h->order_next);
	ss_be64_put(val, (uint64_t)(now_ms > 0 ? now_ms : 0));
	memcpy(val + 8, event_key, len);
	/* Increasing keys: appended at the end of the tree. */
	if ((rc = mdb_put(txn, h->event_order, &k, &d, MDB_APPEND)) == 0)
		h->order_next++;
	return rc;
}
