/* hub_views_accounts: receivables. A contract sale opens one (total minus
 * deposit), an on-account sale adds to it, payments reduce it at whichever
 * store they are taken, refunds against the account reduce it.
 *
 * Several stores write one account, so every field is a sum, a minimum or
 * maximum, or decided by a rule that does not depend on arrival order (the
 * owner is the store of the earliest contract sale). The account's entry in
 * the account_due index (time of the last payment, or of the opening when
 * none, for accounts with a positive balance) moves with it in the same
 * transaction; stale accounts are the entries older than the policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

int64_t hub_account_balance(const Storesync__AccountView *a)
{
	return a->charged_fen - a->received_fen - a->refunded_fen;
}

int64_t hub_account_since_ms(const Storesync__AccountView *a)
{
	if (hub_account_balance(a) <= 0)
		return -1;
	return a->last_payment_ms > 0 ? a->last_payment_ms : a->opened_ms;
}

static void charge(Storesync__AccountView *a, int64_t fen, int64_t t)
{
	a->charged_fen += fen;
	a->has_charged_fen = 1;
	if (!a->has_opened_ms || t < a->opened_ms) {
		a->opened_ms = t;
		a->has_opened_ms = 1;
	}
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

static void contract(Storesync__AccountView *a, const Storesync__ContractSale *cs,
	const char *store_id, int64_t t)
{
	int owns = !a->owner_store || t < a->owner_since_ms
		|| (t == a->owner_since_ms && strcmp(store_id, a->owner_store) < 0);

	if (owns) {
		set_str(&a->owner_store, store_id);
		set_str(&a->contract_no, cs->contract_no);
		set_str(&a->customer, cs->customer);
		a->owner_since_ms = t;
		a->has_owner_since_ms = 1;
	}
	a->contract_total_fen += cs->total_fen;
	a->has_contract_total_fen = 1;
	charge(a, cs->total_fen, t);
	receive(a, cs->deposit_fen, t);
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

static void apply(Storesync__AccountView *a, const struct hub_view_ctx *v)
{
	const Storesync__Record *r = v->r;

	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		charge(a, r->sale->total_fen, r->time_ms);
		break;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		contract(a, r->contract_sale, v->store_id, r->time_ms);
		break;
	case STORESYNC__RECORD__BODY_PAYMENT:
		receive(a, r->payment->amount_fen, r->time_ms);
		a->payments++;
		a->has_payments = 1;
		break;
	default:
		a->refunded_fen += r->refund->amount_fen;
		a->has_refunded_fen = 1;
		break;
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
	apply(a, v);
	rc = hub_stale_index_set(v->txn, v->h->account_due, before, hub_account_since_ms(a), id,
		strlen(id));
	if (rc == 0)
		rc = hub_view_put(v->txn, v->h->accounts, id, strlen(id), &a->base);
	storesync__account_view__free_unpacked(a, NULL);
	return rc;
}
