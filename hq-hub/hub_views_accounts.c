/* hub_views_accounts: receivables. A contract sale opens one (total minus
 * deposit), an on-account sale adds to it, payments reduce it at whichever
 * store they are taken, refunds against the account reduce it.
 *
 * Several stores write one account, so every field is a sum, a minimum or
 * maximum, a set (the charges by day), or decided by a rule that does not
 * depend on arrival order (the owner). The account's age counts from
 * since_ms: the later of its last payment and its oldest unpaid charge
 * (credits pay charges oldest first). So a debt paid off long ago and charged
 * again yesterday is one day old, and a debt with a recent payment is not
 * stale. The account's entry in the account_due index (since_ms, for
 * accounts with a positive balance) moves with it in the same transaction;
 * stale accounts are the entries older than the policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "ss_time.h"

int64_t hub_account_balance(const Storesync__AccountView *a)
{
	return a->charged_fen - a->received_fen - a->refunded_fen;
}

/* The oldest charge that credits (payments, deposits, refunds) have not
 * covered, charges taken oldest first. */
static int64_t oldest_unpaid_ms(const Storesync__AccountView *a)
{
	int64_t credited = a->received_fen + a->refunded_fen, cum = 0;

	for (size_t i = 0; i < a->n_charges; i++) {
		cum += a->charges[i]->amount_fen;
		if (cum > credited)
			return a->charges[i]->first_ms;
	}
	return a->opened_ms;
}

int64_t hub_account_since_ms(const Storesync__AccountView *a)
{
	int64_t unpaid;

	if (hub_account_balance(a) <= 0)
		return -1;
	unpaid = oldest_unpaid_ms(a);
	return a->last_payment_ms > unpaid ? a->last_payment_ms : unpaid;
}

/* Adds fen to the charges of t's day, keeping the days in order. */
static int add_charge_day(Storesync__AccountView *a, int64_t fen, int64_t t)
{
	int32_t day = (int32_t)(t / SS_DAY_MS);
	Storesync__AccountCharge **arr, *ch;
	size_t i = 0;

	while (i < a->n_charges && a->charges[i]->day < day)
		i++;
	if (i == a->n_charges || a->charges[i]->day != day) {
		arr = realloc(a->charges, (a->n_charges + 1) * sizeof *arr);
		if (!arr || !(ch = calloc(1, sizeof *ch))) {
			if (arr)
				a->charges = arr;
			return ENOMEM;
		}
		a->charges = arr;
		storesync__account_charge__init(ch);
		ch->day = day;
		ch->has_day = 1;
		ch->first_ms = t;
		ch->has_first_ms = 1;
		memmove(&arr[i + 1], &arr[i], (a->n_charges - i) * sizeof *arr);
		arr[i] = ch;
		a->n_charges++;
	}
	ch = a->charges[i];
	ch->amount_fen += fen;
	ch->has_amount_fen = 1;
	if (t < ch->first_ms)
		ch->first_ms = t;
	return 0;
}

static int charge(Storesync__AccountView *a, int64_t fen, int64_t t)
{
	a->charged_fen += fen;
	a->has_charged_fen = 1;
	if (!a->has_opened_ms || t < a->opened_ms) {
		a->opened_ms = t;
		a->has_opened_ms = 1;
	}
	return add_charge_day(a, fen, t);
}

static void receive(Storesync__AccountView *a, int64_t fen, int64_t t)
{
	a->received_fen += fen;
	a->has_received_fen = 1;
	if (fen > 0 && t > a->last_payment_ms) {
		a->last_payment_ms = t;
		a->has_last_payment_ms = 1;
	}
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src ? src : "");
}

/* The owner is the store of the first (contract before on-account sale,
 * then earliest, then smallest store id) charge: any arrival order agrees.
 * Returns 1 when this charge takes ownership. */
static int claims_owner(const Storesync__AccountView *a, const char *store_id, int64_t t,
	int by_contract)
{
	if (!a->owner_store || by_contract != a->owner_by_contract)
		return !a->owner_store || by_contract;
	return t < a->owner_since_ms
		|| (t == a->owner_since_ms && strcmp(store_id, a->owner_store) < 0);
}

static void take_owner(Storesync__AccountView *a, const char *store_id, int64_t t,
	int by_contract, const char *contract_no, const char *customer)
{
	set_str(&a->owner_store, store_id);
	set_str(&a->contract_no, contract_no);
	set_str(&a->customer, customer);
	a->owner_since_ms = t;
	a->has_owner_since_ms = 1;
	a->owner_by_contract = by_contract;
	a->has_owner_by_contract = 1;
}

static int contract(Storesync__AccountView *a, const Storesync__ContractSale *cs,
	const char *store_id, int64_t t)
{
	if (claims_owner(a, store_id, t, 1))
		take_owner(a, store_id, t, 1, cs->contract_no, cs->customer);
	a->contract_total_fen += cs->total_fen;
	a->has_contract_total_fen = 1;
	receive(a, cs->deposit_fen, t);
	return charge(a, cs->total_fen, t);
}

static int on_account_sale(Storesync__AccountView *a, const Storesync__Sale *s,
	const char *store_id, int64_t t)
{
	if (claims_owner(a, store_id, t, 0))
		take_owner(a, store_id, t, 0, "", s->customer);
	return charge(a, s->total_fen, t);
}

/* The account a record touches, or NULL when it touches none. */
static const char *account_of(const Storesync__Record *r)
{
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		return r->sale->payment_method == STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT
			? r->sale->account : NULL;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		return r->contract_sale->account && r->contract_sale->account[0]
			? r->contract_sale->account : r->contract_sale->contract_no;
	case STORESYNC__RECORD__BODY_PAYMENT:
		return r->payment->account;
	case STORESYNC__RECORD__BODY_REFUND:
		return r->refund->account && r->refund->account[0] ? r->refund->account : NULL;
	default:
		return NULL;
	}
}

static int apply(Storesync__AccountView *a, const struct hub_view_ctx *v)
{
	const Storesync__Record *r = v->r;

	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		return on_account_sale(a, r->sale, v->store_id, r->time_ms);
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		return contract(a, r->contract_sale, v->store_id, r->time_ms);
	case STORESYNC__RECORD__BODY_PAYMENT:
		receive(a, r->payment->amount_fen, r->time_ms);
		a->payments++;
		a->has_payments = 1;
		return 0;
	default:
		a->refunded_fen += r->refund->amount_fen;
		a->has_refunded_fen = 1;
		return 0;
	}
}

int hub_views_accounts(struct hub_view_ctx *v)
{
	const char *id = account_of(v->r);
	Storesync__AccountView *a;
	int64_t before;
	int rc;

	if (!id)
		return 0;
	a = (Storesync__AccountView *)hub_view_get(v->txn, v->h->accounts, id, strlen(id),
		&storesync__account_view__descriptor, &rc);
	if (!a)
		return rc;
	if (!a->account)
		a->account = strdup(id);
	before = hub_account_since_ms(a);
	if ((rc = apply(a, v)) == 0)
		rc = hub_stale_index_set(v->txn, v->h->account_due, before, hub_account_since_ms(a),
			id, strlen(id));
	if (rc == 0)
		rc = hub_view_put(v->txn, v->h->accounts, id, strlen(id), &a->base);
	storesync__account_view__free_unpacked(a, NULL);
	return rc;
}
