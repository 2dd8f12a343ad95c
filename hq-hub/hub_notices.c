/* hub_notices: collection notices ("dunning"). When an account goes stale
 * (balance > 0, no payment for longer than the owning store's
 * stale_account_days), HQ tells the store that owns the customer to chase
 * the payment: one notice per stale episode, to that store only.
 *
 * An account goes stale by the passing of time, not by a record, so the
 * writer runs this scan as a work item of its own every notice_scan_ms: it
 * walks the account_due index up to the shortest policy's cut-off (the cost
 * of the stale accounts, not of all accounts) and issues a notice for each
 * stale episode that has none. An episode is (account, since_ms): a payment
 * that clears the age moves since_ms and so ends the episode; when the
 * account goes stale again, the new episode gets a new notice. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_registry.h"
#include "hub_updates.h"
#include "hub_work.h"
#include "ss_time.h"

#define NOTICES_PER_SCAN 1000

static size_t notice_key(uint8_t *key, const char *account, int64_t since_ms)
{
	size_t n = strlen(account);

	memcpy(key, account, n);
	key[n] = '\0';
	ss_be64_put(key + n + 1, (uint64_t)since_ms);
	return n + 9;
}

static int issue(struct hub *h, MDB_txn *txn, const Storesync__AccountView *acc,
	int64_t since, int64_t age_days, int64_t stale_days, int64_t now_ms)
{
	Storesync__CollectionNotice n = STORESYNC__COLLECTION_NOTICE__INIT;
	Storesync__NoticeState ns = STORESYNC__NOTICE_STATE__INIT;
	Storesync__LoggedUpdate lu = STORESYNC__LOGGED_UPDATE__INIT;
	Storesync__Update u = STORESYNC__UPDATE__INIT;
	Storesync__Target target = STORESYNC__TARGET__INIT;
	char *stores[1] = { acc->owner_store };
	uint8_t key[64 + 9];
	int rc;

	n.account = acc->account;
	n.customer = acc->customer;
	n.contract_no = acc->contract_no;
	n.balance_fen = hub_account_balance(acc);
	n.has_balance_fen = 1;
	n.since_ms = since;
	n.has_since_ms = 1;
	n.age_days = age_days;
	n.has_age_days = 1;
	n.stale_days = stale_days;
	n.has_stale_days = 1;
	n.issued_ms = now_ms;
	n.has_issued_ms = 1;
	target.stores = stores;
	target.n_stores = 1;
	u.body_case = STORESYNC__UPDATE__BODY_NOTICE;
	u.notice = &n;
	lu.update = &u;
	lu.target = &target;
	lu.targeted = 1;
	lu.has_targeted = 1;
	if ((rc = hub_updates_append(h, txn, &lu, now_ms)) != 0)
		return rc;
	ns.notice = &n;
	ns.store_id = acc->owner_store;
	ns.update_id = u.update_id;
	ns.has_update_id = 1;
	return hub_view_put(txn, h->notices, key, notice_key(key, acc->account, since), &ns.base);
}

/* One index entry: a notice unless the owner's policy says not stale yet or
 * the episode has one. 1 when a notice was issued. */
static int consider(struct hub *h, MDB_txn *txn, const char *id, size_t len, int64_t now_ms)
{
	MDB_val k = { len, (void *)id }, d;
	Storesync__AccountView *acc;
	uint8_t nkey[64 + 9];
	int64_t since, days, age;
	char region[40];
	int rc = 0;

	if (len > 64 || mdb_get(txn, h->accounts, &k, &d) != 0
		|| !(acc = storesync__account_view__unpack(NULL, d.mv_size, d.mv_data)))
		return 0;
	since = hub_account_since_ms(acc);
	if (since < 0 || !acc->owner_store || !acc->owner_store[0])
		goto out;
	hub_registry_region(h, txn, acc->owner_store, region, sizeof region);
	days = hub_policy_value(h, txn, &h->tcache, SS_POL_STALE_ACCOUNT_DAYS, acc->owner_store,
		region, now_ms, INT64_MAX);
	age = (now_ms - since) / SS_DAY_MS;
	if (age <= days)
		goto out;
	k.mv_size = notice_key(nkey, acc->account, since);
	k.mv_data = nkey;
	if ((rc = mdb_get(txn, h->notices, &k, &d)) == 0)
		goto out;   /* this episode has its notice */
	rc = rc == MDB_NOTFOUND ? issue(h, txn, acc, since, age, days, now_ms) : rc;
	if (rc == 0)
		rc = 1;
out:
	storesync__account_view__free_unpacked(acc, NULL);
	return rc;
}

static int notices_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	int64_t min_days = hub_policy_min(h, txn, SS_POL_STALE_ACCOUNT_DAYS, r->now_ms);
	int64_t cutoff = r->now_ms - (min_days + 1) * SS_DAY_MS + 1;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	w->through = 0;   /* notices issued */
	if ((rc = mdb_cursor_open(txn, h->account_due, &cur)) != 0)
		return rc;
	/* The cursor only reads account_due; notices and the log are other
	 * databases, so writing them does not disturb it. */
	while (w->through < NOTICES_PER_SCAN && (rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		int64_t ms = (int64_t)ss_be64_get(k.mv_data);
		int issued;

		if (k.mv_size <= 8 || ms >= cutoff)
			break;
		if ((issued = consider(h, txn, (const char *)k.mv_data + 8, k.mv_size - 8,
			r->now_ms)) < 0) {
			rc = issued;
			break;
		}
		w->through += (uint64_t)issued;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

static void notices_reply(struct hub *h, struct hub_work *w)
{
	if (w->through) {
		atomic_fetch_add(&h->stats.notices_issued, w->through);
		atomic_fetch_add(&h->stats.updates_issued, w->through);
		hub_down_wake_store(h, NULL);
	}
	/* A full scan means there may be more: the next one runs soon. */
	h->notice_scan_again = w->through >= NOTICES_PER_SCAN;
}

const struct hub_handler hub_handle_notices = { "notice scan", NULL, notices_apply,
	notices_reply };
