/* hub_stale: what HQ watches. Three time-ordered indexes, kept by the
 * writers in the ingest transaction, answer "what is stale" at the cost of
 * the stale items only:
 *   account_due  (since_ms, account)  accounts with a positive balance, by the
 *                time of their last payment (or opening);
 *   store_seen   (last_progress_ms, store) every store, by when its records
 *                last arrived (or it last said it had nothing to send);
 *   case_due     (deadline_ms, kind, case_no) open complaint deadlines.
 * A query scans each from the beginning up to its cut-off (at - policy, or
 * at for deadlines) and stops there. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "hub_registry.h"
#include "ss_time.h"

int hub_stale_index_set(MDB_txn *txn, MDB_dbi dbi, int64_t old_ms, int64_t new_ms,
	const void *id, size_t idlen)
{
	uint8_t key[8 + 256];
	MDB_val k = { 8 + idlen, key }, d = { 0, "" };
	int rc;

	if (idlen > 256)
		return EINVAL;
	memcpy(key + 8, id, idlen);
	if (old_ms == new_ms)
		return 0;
	if (old_ms >= 0) {
		ss_be64_put(key, (uint64_t)old_ms);
		rc = mdb_del(txn, dbi, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	if (new_ms < 0)
		return 0;
	ss_be64_put(key, (uint64_t)new_ms);
	return mdb_put(txn, dbi, &k, &d, 0);
}

static const char *const account_cols[] = { "account", "owner_store", "contract_no",
	"customer", "contract_total_fen", "charged_fen", "received_fen", "refunded_fen",
	"balance_fen", "last_payment_ms", "since_ms", "age_days", "aging", "stale" };

/* Staleness and aging both count whole days since the last payment, so an
 * account is stale exactly when its age in days exceeds the policy: one
 * that is 30.5 days old is 30 days old, in bucket 0-30, and not stale. */
static int64_t stale_cutoff_ms(const struct query_args *a, int64_t stale_days)
{
	return a->at_ms - (stale_days + 1) * SS_DAY_MS + 1;
}

/* A policy's value for a store at the query's moment. When no value was
 * ever set for a region or a store, it is the same for every store and is
 * looked up once. */
struct store_policy {
	enum ss_policy_id id;
	int scoped;              /* some value targets part of the chain */
	int64_t uniform;         /* the value otherwise */
};

static void store_policy_init(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct store_policy *sp, enum ss_policy_id id)
{
	sp->id = id;
	sp->scoped = hub_policy_scoped(h, txn, id);
	sp->uniform = hub_policy_value(h, txn, NULL, id, NULL, NULL, a->at_ms, INT64_MAX);
}

static int64_t store_policy_get(struct hub *h, MDB_txn *txn, const struct query_args *a,
	const struct store_policy *sp, const char *store)
{
	char region[40];

	if (!sp->scoped || !store || !store[0])
		return sp->uniform;
	hub_registry_region(h, txn, store, region, sizeof region);
	return hub_policy_value(h, txn, NULL, sp->id, store, region, a->at_ms, INT64_MAX);
}

static void account_row(struct table *t, const Storesync__AccountView *acc,
	const struct query_args *a, int64_t stale_days)
{
	int64_t since = hub_account_since_ms(acc), age_days = since < 0 ? 0
		: (a->at_ms - since) / SS_DAY_MS;
	int stale = since >= 0 && age_days > stale_days;
	Storesync__Row *row;

	if ((a->store && (!acc->owner_store || strcmp(a->store, acc->owner_store) != 0))
		|| (a->stale && !stale) || !(row = table_row(t)))
		return;
	cell_str(row, acc->account);
	cell_str(row, acc->owner_store);
	cell_str(row, acc->contract_no);
	cell_str(row, acc->customer);
	cell_int(row, acc->contract_total_fen);
	cell_int(row, acc->charged_fen);
	cell_int(row, acc->received_fen);
	cell_int(row, acc->refunded_fen);
	cell_int(row, hub_account_balance(acc));
	cell_int(row, acc->last_payment_ms);
	cell_int(row, since);
	cell_int(row, age_days);
	cell_str(row, since < 0 ? "" : aging_bucket(age_days));
	cell_int(row, stale);
}

static Storesync__AccountView *get_account(struct hub *h, MDB_txn *txn, const void *id,
	size_t len)
{
	MDB_val k = { len, (void *)id }, d;

	if (mdb_get(txn, h->accounts, &k, &d) != 0)
		return NULL;
	return storesync__account_view__unpack(NULL, d.mv_size, d.mv_data);
}

/* Calls fn for each index entry older than cutoff_ms, oldest first. */
static void scan_due(MDB_txn *txn, MDB_dbi dbi, int64_t cutoff_ms,
	void (*fn)(void *arg, int64_t ms, const char *id, size_t len), void *arg)
{
	MDB_cursor *cur;
	MDB_val k, d;

	mdb_cursor_open(txn, dbi, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		int64_t ms = (int64_t)ss_be64_get(k.mv_data);

		if (k.mv_size <= 8 || ms >= cutoff_ms)
			break;
		fn(arg, ms, (const char *)k.mv_data + 8, k.mv_size - 8);
	}
	mdb_cursor_close(cur);
}

struct scan_ctx {
	struct hub *h;
	MDB_txn *txn;
	const struct query_args *a;
	struct table *t;
	struct store_policy stale_days, silence_minutes;
	int64_t buckets[4][2];   /* aging: count, balance */
};

static int64_t account_stale_days(struct scan_ctx *s, const Storesync__AccountView *acc)
{
	return store_policy_get(s->h, s->txn, s->a, &s->stale_days, acc->owner_store);
}

static void scan_init(struct scan_ctx *s, struct hub *h, MDB_txn *txn,
	const struct query_args *a, struct table *t)
{
	memset(s, 0, sizeof *s);
	s->h = h;
	s->txn = txn;
	s->a = a;
	s->t = t;
	store_policy_init(h, txn, a, &s->stale_days, SS_POL_STALE_ACCOUNT_DAYS);
	store_policy_init(h, txn, a, &s->silence_minutes, SS_POL_STORE_SILENCE_MINUTES);
}

static void stale_account_row(void *arg, int64_t ms, const char *id, size_t len)
{
	struct scan_ctx *s = arg;
	Storesync__AccountView *acc = get_account(s->h, s->txn, id, len);

	(void)ms;
	if (acc) {
		account_row(s->t, acc, s->a, account_stale_days(s, acc));
		storesync__account_view__free_unpacked(acc, NULL);
	}
}

static void aging_add(struct scan_ctx *s, const Storesync__AccountView *acc)
{
	int64_t since = hub_account_since_ms(acc), days;
	int b;

	if (since < 0 || (s->a->store && (!acc->owner_store
		|| strcmp(s->a->store, acc->owner_store) != 0)))
		return;
	days = (s->a->at_ms - since) / SS_DAY_MS;
	b = days <= 30 ? 0 : days <= 60 ? 1 : days <= 90 ? 2 : 3;
	s->buckets[b][0]++;
	s->buckets[b][1] += hub_account_balance(acc);
}

/* Aging summary: accounts with a balance, by bucket (all of them: this is
 * the one query that reads every open receivable). */
static void accounts_aging(struct scan_ctx *s)
{
	static const char *const cols[] = { "aging", "accounts", "balance_fen" };
	static const char *const names[] = { "0-30", "31-60", "61-90", "over 90" };
	MDB_cursor *cur;
	MDB_val k, d;

	table_init(s->t, cols, 3);
	mdb_cursor_open(s->txn, s->h->account_due, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__AccountView *acc = k.mv_size > 8
			? get_account(s->h, s->txn, (const char *)k.mv_data + 8, k.mv_size - 8) : NULL;

		if (acc) {
			aging_add(s, acc);
			storesync__account_view__free_unpacked(acc, NULL);
		}
	}
	mdb_cursor_close(cur);
	for (int b = 0; b < 4; b++) {
		Storesync__Row *row = table_row(s->t);

		if (!row)
			return;
		cell_str(row, names[b]);
		cell_int(row, s->buckets[b][0]);
		cell_int(row, s->buckets[b][1]);
	}
}

void query_accounts(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	struct scan_ctx s;
	MDB_cursor *cur;
	MDB_val k, d;

	scan_init(&s, h, txn, a, t);
	if (a->aging)
		return accounts_aging(&s);
	table_init(t, account_cols, sizeof account_cols / sizeof account_cols[0]);
	/* The index is cut off at the shortest policy anywhere; each account is
	 * then judged by its owner's. */
	if (a->stale)
		return scan_due(txn, h->account_due, stale_cutoff_ms(a,
			hub_policy_min(h, txn, SS_POL_STALE_ACCOUNT_DAYS, a->at_ms)),
			stale_account_row, &s);
	mdb_cursor_open(txn, h->accounts, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__AccountView *acc = storesync__account_view__unpack(NULL, d.mv_size,
			d.mv_data);

		if (acc) {
			account_row(t, acc, a, account_stale_days(&s, acc));
			storesync__account_view__free_unpacked(acc, NULL);
		}
	}
	mdb_cursor_close(cur);
}

/* ---- hqctl stale: all three kinds, each with its reason and age ---- */

static void stale_row(struct scan_ctx *s, const char *kind, const char *id, const char *store,
	int64_t since_ms, const char *reason)
{
	Storesync__Row *row;

	if ((s->a->store && strcmp(s->a->store, store) != 0) || !(row = table_row(s->t)))
		return;
	cell_str(row, kind);
	cell_str(row, id);
	cell_str(row, store);
	cell_int(row, since_ms);
	cell_int(row, s->a->at_ms - since_ms);
	cell_str(row, reason);
}

static void stale_account(void *arg, int64_t ms, const char *id, size_t len)
{
	struct scan_ctx *s = arg;
	Storesync__AccountView *acc = get_account(s->h, s->txn, id, len);
	int64_t days;
	char reason[160];

	if (!acc)
		return;
	days = account_stale_days(s, acc);
	if ((s->a->at_ms - ms) / SS_DAY_MS <= days) {
		storesync__account_view__free_unpacked(acc, NULL);
		return;
	}
	snprintf(reason, sizeof reason, "balance %" PRId64 " fen, no payment for %" PRId64
		" days (policy %" PRId64 ")", hub_account_balance(acc), (s->a->at_ms - ms) / SS_DAY_MS,
		days);
	stale_row(s, "account", acc->account, acc->owner_store ? acc->owner_store : "", ms, reason);
	storesync__account_view__free_unpacked(acc, NULL);
}

static void stale_store(void *arg, int64_t ms, const char *id, size_t len)
{
	struct scan_ctx *s = arg;
	char store[40], reason[120];
	int64_t minutes;

	snprintf(store, sizeof store, "%.*s", (int)len, id);
	minutes = store_policy_get(s->h, s->txn, s->a, &s->silence_minutes, store);
	if (s->a->at_ms - ms <= minutes * 60000)
		return;
	snprintf(reason, sizeof reason, "no records for %" PRId64 " minutes (policy %" PRId64 ")",
		(s->a->at_ms - ms) / 60000, minutes);
	stale_row(s, "store", store, store, ms, reason);
}

/* One row for a case past a deadline at the query's moment, with every
 * deadline it missed in the reason, since the earlier. */
static void stale_case_row(struct scan_ctx *s, const Storesync__CaseView *c)
{
	struct hub_case_fig f;
	char resp[64] = "", rep[64] = "", reason[200];
	int64_t at = s->a->at_ms, since;

	hub_case_at(c, s->a->as_of_ms, at, &f);
	if (!f.overdue_response && !f.overdue_report)
		return;
	if (f.overdue_response)
		snprintf(resp, sizeof resp, "first response overdue by %" PRId64 " hours",
			(at - c->respond_by_ms) / 3600000);
	if (f.overdue_report)
		snprintf(rep, sizeof rep, "investigation report overdue by %" PRId64 " hours",
			(at - c->report_by_ms) / 3600000);
	since = !f.overdue_report || (f.overdue_response && c->respond_by_ms < c->report_by_ms)
		? c->respond_by_ms : c->report_by_ms;
	snprintf(reason, sizeof reason, "%s%s%s (state %s)", resp, resp[0] && rep[0] ? ", " : "",
		rep, case_state_name(f.state));
	stale_row(s, "complaint", c->case_no, c->store_id, since, reason);
}

static Storesync__CaseView *get_case(struct hub *h, MDB_txn *txn, const void *no, size_t len)
{
	MDB_val k = { len, (void *)no }, d;

	if (mdb_get(txn, h->cases, &k, &d) != 0)
		return NULL;
	return storesync__case_view__unpack(NULL, d.mv_size, d.mv_data);
}

/* An open deadline past the cut-off: its case, at the first of its entries. */
static void stale_case(void *arg, int64_t ms, const char *id, size_t len)
{
	struct scan_ctx *s = arg;
	Storesync__CaseView *c = len < 2 ? NULL : get_case(s->h, s->txn, id + 1, len - 1);

	if (c && case_first_due_entry(c, ms, id[0]))
		stale_case_row(s, c);
	storesync__case_view__free_unpacked(c, NULL);
}

/* At a moment some records are dated after, every case as it stood then. */
static void stale_cases_then(struct scan_ctx *s)
{
	MDB_cursor *cur;
	MDB_val k, d;

	if (mdb_cursor_open(s->txn, s->h->cases, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__CaseView *c = storesync__case_view__unpack(NULL, d.mv_size, d.mv_data);

		if (c)
			stale_case_row(s, c);
		storesync__case_view__free_unpacked(c, NULL);
	}
	mdb_cursor_close(cur);
}

void query_stale(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "kind", "id", "store_id", "since_ms", "age_ms",
		"reason" };
	struct scan_ctx s;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	scan_init(&s, h, txn, a, t);
	scan_due(txn, h->account_due, stale_cutoff_ms(a, hub_policy_min(h, txn,
		SS_POL_STALE_ACCOUNT_DAYS, a->at_ms)), stale_account, &s);
	scan_due(txn, h->store_seen, a->at_ms - hub_policy_min(h, txn,
		SS_POL_STORE_SILENCE_MINUTES, a->at_ms) * 60000, stale_store, &s);
	if (query_in_past(h, txn, a))
		stale_cases_then(&s);
	else
		scan_due(txn, h->case_due, a->at_ms, stale_case, &s);
}
