/* hub_stale: what HQ watches. Three time-ordered indexes, kept by the
 * writers in the ingest transaction, answer "what is stale" at the cost of
 * the stale items only:
 *   account_due  (since_ms, account)  accounts with a positive balance, by the
 *                time their age counts from (the later of the last payment
 *                and the oldest charge not paid);
 *   store_seen   (last_progress_ms, store) every store heard from, by when
 *                its records last arrived (or it last said it had nothing to
 *                send), up to a minute behind its state and never ahead, so
 *                the scan finds every silent store and takes the time from
 *                the state; a registered store never heard from is silent
 *                since its registration (found in the registry,
 *                stale_unheard);
 *   case_due     (deadline_ms, kind, case_no) open complaint deadlines.
 * A query scans each from the beginning up to its cut-off (at - policy, or
 * at for deadlines) and stops there.
 *
 * The indexes hold the present. A query at a moment some records are dated
 * after (--at in the past, query_in_past) judges every account and case as
 * it stood then instead: only what was dated up to that moment counts, so a
 * later payment does not lower the balance and an age is never negative. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "hub_registry.h"
#include "ss_table.h"
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

void hub_store_policy_init(struct hub *h, MDB_txn *txn, struct hub_store_policy *sp,
	enum ss_policy_id id, int64_t at_ms)
{
	sp->id = id;
	sp->at_ms = at_ms;
	sp->scoped = hub_policy_scoped(h, txn, id);
	sp->uniform = hub_policy_value(h, txn, NULL, id, NULL, NULL, at_ms, INT64_MAX);
}

int64_t hub_store_policy_get(struct hub *h, MDB_txn *txn, const struct hub_store_policy *sp,
	const char *store, const char *region)
{
	char found[40];

	if (!sp->scoped || !store || !store[0])
		return sp->uniform;
	if (!region) {
		hub_registry_region(h, txn, store, found, sizeof found);
		region = found;
	}
	return hub_policy_value(h, txn, NULL, sp->id, store, region, sp->at_ms, INT64_MAX);
}

int hub_store_silent(struct hub *h, MDB_txn *txn, const struct hub_store_policy *silence,
	const char *store, const char *region, int64_t progress_ms, int64_t *minutes)
{
	int64_t m = hub_store_policy_get(h, txn, silence, store, region);

	if (minutes)
		*minutes = m;
	return silence->at_ms - progress_ms > m * 60000;
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
	struct hub_store_policy stale_days, silence_minutes;
	int64_t buckets[4][2];   /* aging: count, balance */
	int wrapped;             /* a bucket's sum would leave int64 */
};

/* An account as the query sees it: as of its as_of_ms, aged at its at_ms,
 * owned by whoever owned it as of as_of_ms. */
struct seen {
	struct hub_account_fig f;
	struct hub_account_owner owner;
	int64_t age_days;
	int stale;
};

static int64_t account_stale_days(struct scan_ctx *s, const struct seen *v)
{
	return hub_store_policy_get(s->h, s->txn, &s->stale_days, v->owner.store, NULL);
}

static void scan_init(struct scan_ctx *s, struct hub *h, MDB_txn *txn,
	const struct query_args *a, struct table *t)
{
	memset(s, 0, sizeof *s);
	s->h = h;
	s->txn = txn;
	s->a = a;
	s->t = t;
	hub_store_policy_init(h, txn, &s->stale_days, SS_POL_STALE_ACCOUNT_DAYS, a->at_ms);
	hub_store_policy_init(h, txn, &s->silence_minutes, SS_POL_STORE_SILENCE_MINUTES, a->at_ms);
}

static void see(struct scan_ctx *s, const Storesync__AccountView *acc, struct seen *v)
{
	hub_account_at(acc, s->a->as_of_ms, &v->f);
	hub_account_owner_at(acc, s->a->as_of_ms, &v->owner);
	v->age_days = v->f.since_ms < 0 || s->a->at_ms < v->f.since_ms ? 0
		: (s->a->at_ms - v->f.since_ms) / SS_DAY_MS;
	v->stale = v->f.since_ms >= 0 && v->age_days > account_stale_days(s, v);
}

static int owned_by(const struct query_args *a, const struct seen *v)
{
	return !a->store || strcmp(a->store, v->owner.store) == 0;
}

static void account_row(struct scan_ctx *s, const Storesync__AccountView *acc)
{
	struct seen v;
	Storesync__Row *row;

	see(s, acc, &v);
	if (!v.f.exists || !owned_by(s->a, &v) || (s->a->stale && !v.stale)
		|| !(row = table_row(s->t)))
		return;
	cell_str(row, acc->account);
	cell_str(row, v.owner.store);
	cell_str(row, v.owner.contract_no);
	cell_str(row, v.owner.customer);
	cell_int(row, v.f.contract_total_fen);
	cell_int(row, v.f.charged_fen);
	cell_int(row, v.f.received_fen);
	cell_int(row, v.f.refunded_fen);
	cell_int(row, v.f.balance_fen);
	cell_int(row, v.f.last_payment_ms);
	cell_int(row, v.f.since_ms);
	cell_int(row, v.age_days);
	cell_str(row, v.f.since_ms < 0 ? "" : aging_bucket(v.age_days));
	cell_int(row, v.stale);
}

typedef void (*account_fn)(struct scan_ctx *s, const Storesync__AccountView *acc);

struct due_walk {
	struct scan_ctx *s;
	account_fn fn;
};

static void due_account(void *arg, int64_t ms, const char *id, size_t len)
{
	struct due_walk *w = arg;
	Storesync__AccountView *acc = get_account(w->s->h, w->s->txn, id, len);

	(void)ms;
	if (acc)
		w->fn(w->s, acc);
	storesync__account_view__free_unpacked(acc, NULL);
}

/* fn for every account that may have a positive balance aged from before
 * cutoff_ms: from the account_due index in the present, every account in
 * the past. */
static void each_open_account(struct scan_ctx *s, int64_t cutoff_ms, account_fn fn)
{
	struct due_walk w = { s, fn };
	MDB_cursor *cur;
	MDB_val k, d;

	if (!query_in_past(s->h, s->txn, s->a))
		return scan_due(s->txn, s->h->account_due, cutoff_ms, due_account, &w);
	if (mdb_cursor_open(s->txn, s->h->accounts, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__AccountView *acc = storesync__account_view__unpack(NULL, d.mv_size,
			d.mv_data);

		if (acc)
			fn(s, acc);
		storesync__account_view__free_unpacked(acc, NULL);
	}
	mdb_cursor_close(cur);
}

static void aging_add(struct scan_ctx *s, const Storesync__AccountView *acc)
{
	struct seen v;
	int b;

	see(s, acc, &v);
	if (v.f.since_ms < 0 || !owned_by(s->a, &v))
		return;
	b = v.age_days <= 30 ? 0 : v.age_days <= 60 ? 1 : v.age_days <= 90 ? 2 : 3;
	s->buckets[b][0]++;
	s->wrapped |= __builtin_add_overflow(s->buckets[b][1], v.f.balance_fen, &s->buckets[b][1]);
}

/* Aging summary: accounts with a balance, by bucket (all of them: this is
 * the one query that reads every open receivable). */
static void accounts_aging(struct scan_ctx *s)
{
	static const char *const cols[] = { "aging", "accounts", "balance_fen" };
	static const char *const names[] = { "0-30", "31-60", "61-90", "over 90" };

	table_init(s->t, cols, 3);
	each_open_account(s, INT64_MAX, aging_add);
	if (s->wrapped)
		return table_fail(s->t, "accounts: a bucket's balances pass 9223372036854775807 fen; "
			"ask by store");
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
		return each_open_account(&s, stale_cutoff_ms(a, hub_policy_min(h, txn,
			SS_POL_STALE_ACCOUNT_DAYS, a->at_ms)), account_row);
	mdb_cursor_open(txn, h->accounts, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__AccountView *acc = storesync__account_view__unpack(NULL, d.mv_size,
			d.mv_data);

		if (acc)
			account_row(&s, acc);
		storesync__account_view__free_unpacked(acc, NULL);
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

static void stale_account(struct scan_ctx *s, const Storesync__AccountView *acc)
{
	struct seen v;
	char reason[160], money[32];

	see(s, acc, &v);
	if (!v.stale)
		return;
	snprintf(reason, sizeof reason, "balance %s owed for %" PRId64
		" days (policy stale_account_days %" PRId64 ")",
		ss_table_money(v.f.balance_fen, money, sizeof money), v.age_days,
		account_stale_days(s, &v));
	stale_row(s, "account", acc->account, v.owner.store, v.f.since_ms, reason);
}

/* A store's last progress as its state has it: the silence index may lag
 * it by up to a minute, never lead it (hub_store.c). indexed_ms if the
 * state cannot be read. */
static int64_t store_progress_ms(struct scan_ctx *s, const char *id, size_t len,
	int64_t indexed_ms)
{
	MDB_val k = { len, (void *)id }, d;
	Storesync__StoreState *st;
	int64_t ms = indexed_ms;

	if (mdb_get(s->txn, s->h->stores, &k, &d) != 0
		|| !(st = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data)))
		return ms;
	if (st->has_last_progress_ms && st->last_progress_ms > ms)
		ms = st->last_progress_ms;
	storesync__store_state__free_unpacked(st, NULL);
	return ms;
}

static void stale_store(void *arg, int64_t indexed_ms, const char *id, size_t len)
{
	struct scan_ctx *s = arg;
	char store[40], reason[120];
	int64_t minutes, ms = store_progress_ms(s, id, len, indexed_ms);

	snprintf(store, sizeof store, "%.*s", (int)len, id);
	if (!hub_store_silent(s->h, s->txn, &s->silence_minutes, store, NULL, ms, &minutes))
		return;
	snprintf(reason, sizeof reason, "no records for %" PRId64
		" minutes (policy store_silence_minutes %" PRId64 ")",
		(s->a->at_ms - ms) / 60000, minutes);
	stale_row(s, "store", store, store, ms, reason);
}

/* Registered stores never heard from are in no index (store_seen follows
 * progress, and there was none): their silence counts from registration.
 * One pass over the registry, the chain's stores, not its records. */
static void stale_unheard(struct scan_ctx *s)
{
	MDB_cursor *cur;
	MDB_val k, d, sd;

	if (mdb_cursor_open(s->txn, s->h->registry, &cur) != 0)
		return;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__StoreInfo *si;
		char reason[120];
		int64_t minutes;

		if (mdb_get(s->txn, s->h->stores, &k, &sd) != MDB_NOTFOUND
			|| !(si = storesync__store_info__unpack(NULL, d.mv_size, d.mv_data)))
			continue;
		if (si->store_id && si->has_added_ms && si->added_ms <= s->a->at_ms
			&& hub_store_silent(s->h, s->txn, &s->silence_minutes, si->store_id,
				si->region ? si->region : "", si->added_ms, &minutes)) {
			snprintf(reason, sizeof reason, "never heard from: registered %" PRId64
				" minutes ago (policy store_silence_minutes %" PRId64 ")", (s->a->at_ms - si->added_ms) / 60000,
				minutes);
			stale_row(s, "store", si->store_id, si->store_id, si->added_ms, reason);
		}
		storesync__store_info__free_unpacked(si, NULL);
	}
	mdb_cursor_close(cur);
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
	each_open_account(&s, stale_cutoff_ms(a, hub_policy_min(h, txn, SS_POL_STALE_ACCOUNT_DAYS,
		a->at_ms)), stale_account);
	scan_due(txn, h->store_seen, a->at_ms - hub_policy_min(h, txn,
		SS_POL_STORE_SILENCE_MINUTES, a->at_ms) * 60000, stale_store, &s);
	stale_unheard(&s);
	if (query_in_past(h, txn, a))
		stale_cases_then(&s);
	else
		scan_due(txn, h->case_due, a->at_ms, stale_case, &s);
}
