/* agent_enforce: HQ's policies applied at the till, offline, when a record
 * is submitted. Each rule uses the policy in force at the record's own
 * time_ms (agent_dated.c), so the verdict does not depend on when the till
 * sends the record:
 *  - a refund, or a complaint's compensation (complaint_progress
 *    amount_fen), above store_refund_authority_fen needs an approval
 *    reference;
 *  - a sale line's discount may not pass max_discount_percent of the line
 *    (quantity x unit_price_fen), in integer arithmetic that cannot overflow;
 *  - a return (a refund with lines) whose original receipt was sold more
 *    than return_window_days before the return is refused. When this agent
 *    does not know the receipt (another store's, older than the key horizon,
 *    or never recorded) the return needs an approval reference: the agent
 *    cannot judge it, HQ can;
 *  - an on-account sale that would take the account's balance past
 *    credit_limit_fen is refused. The balance is this store's own view,
 *    kept from its own records ("balances": account -> i64 BE): on-account
 *    sales and contract sales (total less deposit) charge it, payments and
 *    refunds on the account credit it. A contract sale is not refused by
 *    the limit (the contract is the credit decision) but counts toward it.
 *
 * Invariant: rules are decided inside the submit transaction from what it
 * sees, which includes the earlier records of the same round (their keys
 * and balances), so records are judged in order and a replayed transaction
 * decides the same. A balance changes only in the transaction that makes
 * its record durable. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "ss_record.h"
#include "ss_time.h"

#define IDENT_MAX_BYTES 64u

static int policy(struct agent *a, MDB_txn *txn, enum ss_policy_id id, int64_t at_ms,
	int64_t *value)
{
	struct policy_in_force p;
	int rc = dated_policy_at(&a->db, txn, id, at_ms, &p);

	*value = p.value;
	return rc;
}

static int refuse(char *reason, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
	return ENFORCE_REFUSED;
}

/* floor(gross * percent / 100) without forming gross * percent. */
static int64_t share_of(int64_t gross, int64_t percent)
{
	return gross / 100 * percent + gross % 100 * percent / 100;
}

static int check_discounts(struct agent *a, MDB_txn *txn, const Storesync__Record *r,
	char *reason, size_t len)
{
	const Storesync__Sale *s = r->sale;
	int64_t pct = -1;
	int rc;

	for (size_t i = 0; i < s->n_lines; i++) {
		const Storesync__SaleLine *l = s->lines[i];
		int64_t gross = l->quantity * l->unit_price_fen;   /* validated: no overflow */

		if (l->discount_fen == 0)
			continue;
		if (pct < 0 && (rc = policy(a, txn, SS_POL_MAX_DISCOUNT_PERCENT, r->time_ms, &pct)))
			return rc;
		if (l->discount_fen > share_of(gross, pct))
			return refuse(reason, len, "sale: line %zu: discount_fen %lld is above "
				"max_discount_percent %lld of the line's %lld (at most %lld)", i + 1,
				(long long)l->discount_fen, (long long)pct, (long long)gross,
				(long long)share_of(gross, pct));
	}
	return 0;
}

static MDB_val account_key(const char *account)
{
	return (MDB_val){ strlen(account), (void *)account };
}

/* The store's view of account's balance, 0 when it has none. */
static int balance_of(struct agent *a, MDB_txn *txn, const char *account, int64_t *fen)
{
	MDB_val k = account_key(account), d;
	int rc = mdb_get(txn, a->db.balances, &k, &d);

	*fen = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0 && d.mv_size == 8)
		*fen = (int64_t)ss_be64_get(d.mv_data);
	return rc;
}

static int check_credit(struct agent *a, MDB_txn *txn, const Storesync__Record *r,
	char *reason, size_t len)
{
	const Storesync__Sale *s = r->sale;
	int64_t balance, limit, after;
	int rc;

	if (s->payment_method != STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT)
		return 0;
	if ((rc = balance_of(a, txn, s->account, &balance)) != 0
		|| (rc = policy(a, txn, SS_POL_CREDIT_LIMIT_FEN, r->time_ms, &limit)) != 0)
		return rc;
	if (!__builtin_add_overflow(balance, s->total_fen, &after) && after <= limit)
		return 0;
	return refuse(reason, len, "sale: account %s: balance %lld fen + %lld fen would pass "
		"credit_limit_fen %lld", s->account, (long long)balance, (long long)s->total_fen,
		(long long)limit);
}

/* Money paid back (a refund) or as compensation (a complaint's step) above
 * the store's authority needs HQ's approval reference. */
static int check_authority(struct agent *a, MDB_txn *txn, const Storesync__Record *r,
	char *reason, size_t len)
{
	const char *type = ss_record_type_name(r->body_case), *approval;
	int64_t authority, fen;
	int rc;

	if (r->body_case == STORESYNC__RECORD__BODY_REFUND) {
		approval = r->refund->approval;
		fen = r->refund->amount_fen;
	} else {
		approval = r->complaint_progress->approval;
		fen = r->complaint_progress->amount_fen;
	}
	if (approval)
		return 0;
	if ((rc = policy(a, txn, SS_POL_STORE_REFUND_AUTHORITY_FEN, r->time_ms, &authority)) != 0)
		return rc;
	if (fen <= authority)
		return 0;
	return refuse(reason, len, "%s: amount_fen %lld is above store_refund_authority_fen "
		"%lld: needs an approval reference", type, (long long)fen, (long long)authority);
}

static void utc_text(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(buf, len, "%lld ms", (long long)ms);
}

static int check_return_window(struct agent *a, MDB_txn *txn, const Storesync__Record *r,
	char *reason, size_t len)
{
	const Storesync__Refund *f = r->refund;
	int64_t sold_ms, days;
	uint64_t seq;
	char when[40];
	int rc;

	if (f->n_lines == 0)
		return 0;   /* a refund without goods coming back is not a return */
	rc = keys_find_sale(&a->db, txn, f->original_receipt, &seq, &sold_ms);
	if (rc == MDB_NOTFOUND)
		return f->approval ? 0 : refuse(reason, len, "refund: original receipt %s is not "
			"known to this store: a return needs an approval reference",
			f->original_receipt);
	if (rc != 0 || (rc = policy(a, txn, SS_POL_RETURN_WINDOW_DAYS, r->time_ms, &days)) != 0)
		return rc;
	if (r->time_ms - sold_ms <= days * SS_DAY_MS)
		return 0;
	utc_text(sold_ms, when, sizeof when);
	return refuse(reason, len, "refund: original receipt %s (seq %llu) was sold %s, more than "
		"return_window_days %lld before this return", f->original_receipt,
		(unsigned long long)seq, when, (long long)days);
}

int enforce_check(struct agent *a, MDB_txn *txn, const Storesync__Record *r, char *reason,
	size_t len)
{
	int rc;

	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		if ((rc = check_discounts(a, txn, r, reason, len)) != 0)
			return rc;
		return check_credit(a, txn, r, reason, len);
	case STORESYNC__RECORD__BODY_REFUND:
		if ((rc = check_authority(a, txn, r, reason, len)) != 0)
			return rc;
		return check_return_window(a, txn, r, reason, len);
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		return check_authority(a, txn, r, reason, len);
	default:
		return 0;
	}
}

static int add_balance(struct agent *a, MDB_txn *txn, const char *account, int64_t delta_fen)
{
	uint8_t buf[8];
	MDB_val k, d = { 8, buf };
	int64_t fen;
	int rc;

	if (!account || !*account || delta_fen == 0 || strlen(account) > IDENT_MAX_BYTES)
		return 0;
	k = account_key(account);
	if ((rc = balance_of(a, txn, account, &fen)) != 0)
		return rc;
	/* Amounts are capped (ss_validate), so a balance stays far inside int64;
	 * saturate rather than wrap if it ever did not. */
	if (__builtin_add_overflow(fen, delta_fen, &fen))
		fen = delta_fen > 0 ? INT64_MAX : INT64_MIN;
	ss_be64_put(buf, (uint64_t)fen);
	return mdb_put(txn, a->db.balances, &k, &d, 0);
}

int enforce_apply(struct agent *a, MDB_txn *txn, const Storesync__Record *r)
{
	const Storesync__ContractSale *c = r->contract_sale;

	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		if (r->sale->payment_method != STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT)
			return 0;
		return add_balance(a, txn, r->sale->account, r->sale->total_fen);
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		return add_balance(a, txn, c->account && c->account[0] ? c->account : c->contract_no,
			c->total_fen - c->deposit_fen);
	case STORESYNC__RECORD__BODY_PAYMENT:
		return add_balance(a, txn, r->payment->account, -r->payment->amount_fen);
	case STORESYNC__RECORD__BODY_REFUND:
		/* A refund with an account is a credit to it: one paid back in
		 * cash, card or mobile names no account (ss_validate), so the
		 * customer is never both paid and credited; the hub agrees. */
		return add_balance(a, txn, r->refund->account, -r->refund->amount_fen);
	default:
		return 0;
	}
}
