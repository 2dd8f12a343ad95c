/* hub_views_accounts: receivables. A contract sale opens one (total minus
 * deposit), an on-account sale adds to it, payments reduce it at whichever
 * store they are taken, refunds credited to the account reduce it.
 *
 * Several stores write one account, so every field is a sum, an extreme, a
 * set by business time (the charges, the credits), or chosen by a rule that
 * does not depend on arrival order (the owner). Charges and credits are
 * kept by their exact time (merged when at the same millisecond), so:
 *   - the account's age counts from since_ms: the later of its last payment
 *     and its oldest charge the credits have not covered (credits pay
 *     charges oldest first, whatever their order). A debt charged, paid off
 *     and charged again on one day ages from the second charge;
 *   - hub_account_at gives the account as it stood at any moment: only
 *     charges and credits dated up to it count.
 * The account's entry in the account_due index (since_ms, for accounts
 * with a positive balance) moves with it in the same transaction; stale
 * accounts are the entries older than the policy.
 *
 * Sums: the check refuses a record that would take the charges, the
 * contract totals or the credits (received + refunded) past int64; every
 * figure is then a sum of some of them or a difference of two. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

/* The account a record touches, or NULL when it touches none. */
const char *hub_account_of(const Storesync__Record *r)
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

/* What a record does to an account: charged (and of it, a contract's
 * total), received, refunded. */
struct effect {
	int64_t charged, contract, received, refunded;
	int payment;
};

static struct effect effect_of(const Storesync__Record *r)
{
	struct effect e = { 0 };

	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		e.charged = r->sale->total_fen;
		break;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		e.charged = e.contract = r->contract_sale->total_fen;
		e.received = r->contract_sale->deposit_fen;
		break;
	case STORESYNC__RECORD__BODY_PAYMENT:
		e.received = r->payment->amount_fen;
		e.payment = 1;
		break;
	default:
		e.refunded = r->refund->amount_fen;
		break;
	}
	return e;
}

/* The oldest charge dated up to as_of_ms that `credited` has not covered,
 * charges taken oldest first; 0 when they are all covered. */
static int64_t oldest_unpaid_ms(const Storesync__AccountView *a, int64_t as_of_ms,
	int64_t credited)
{
	int64_t cum = 0;

	for (size_t i = 0; i < a->n_charges && a->charges[i]->time_ms <= as_of_ms; i++) {
		cum += a->charges[i]->amount_fen;   /* <= charged_fen: checked */
		if (cum > credited)
			return a->charges[i]->time_ms;
	}
	return 0;
}

void hub_account_at(const Storesync__AccountView *a, int64_t as_of_ms,
	struct hub_account_fig *f)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < a->n_charges && a->charges[i]->time_ms <= as_of_ms; i++) {
		f->charged_fen += a->charges[i]->amount_fen;
		f->contract_total_fen += a->charges[i]->contract_fen;
		if (!f->exists)
			f->opened_ms = a->charges[i]->time_ms;
		f->exists = 1;
	}
	for (size_t i = 0; i < a->n_credits && a->credits[i]->time_ms <= as_of_ms; i++) {
		const Storesync__AccountCredit *c = a->credits[i];

		f->received_fen += c->received_fen;
		f->refunded_fen += c->refunded_fen;
		f->payments += c->payments;
		if (c->received_fen > 0)
			f->last_payment_ms = c->time_ms;
		f->exists = 1;
	}
	f->balance_fen = f->charged_fen - f->received_fen - f->refunded_fen;
	f->since_ms = -1;
	if (f->balance_fen > 0) {
		int64_t unpaid = oldest_unpaid_ms(a, as_of_ms, f->received_fen + f->refunded_fen);

		f->since_ms = f->last_payment_ms > unpaid ? f->last_payment_ms : unpaid;
	}
}

int64_t hub_account_balance(const Storesync__AccountView *a)
{
	return a->charged_fen - a->received_fen - a->refunded_fen;
}

int64_t hub_account_since_ms(const Storesync__AccountView *a)
{
	struct hub_account_fig f;

	hub_account_at(a, INT64_MAX, &f);
	return f.since_ms;
}

/* The charge at time t (a new one, in time order, when none is there yet). */
static Storesync__AccountCharge *charge_at(Storesync__AccountView *a, int64_t t)
{
	Storesync__AccountCharge **arr, *ch;
	size_t i = a->n_charges;

	while (i > 0 && a->charges[i - 1]->time_ms > t)
		i--;
	if (i > 0 && a->charges[i - 1]->time_ms == t)
		return a->charges[i - 1];
	if (!(arr = realloc(a->charges, (a->n_charges + 1) * sizeof *arr)))
		return NULL;
	a->charges = arr;
	if (!(ch = calloc(1, sizeof *ch)))
		return NULL;
	storesync__account_charge__init(ch);
	ch->time_ms = t;
	ch->has_time_ms = ch->has_amount_fen = ch->has_contract_fen = 1;
	memmove(&arr[i + 1], &arr[i], (a->n_charges - i) * sizeof *arr);
	arr[i] = ch;
	a->n_charges++;
	return ch;
}

static Storesync__AccountCredit *credit_at(Storesync__AccountView *a, int64_t t)
{
	Storesync__AccountCredit **arr, *cr;
	size_t i = a->n_credits;

	while (i > 0 && a->credits[i - 1]->time_ms > t)
		i--;
	if (i > 0 && a->credits[i - 1]->time_ms == t)
		return a->credits[i - 1];
	if (!(arr = realloc(a->credits, (a->n_credits + 1) * sizeof *arr)))
		return NULL;
	a->credits = arr;
	if (!(cr = calloc(1, sizeof *cr)))
		return NULL;
	storesync__account_credit__init(cr);
	cr->time_ms = t;
	cr->has_time_ms = cr->has_received_fen = cr->has_refunded_fen = cr->has_payments = 1;
	memmove(&arr[i + 1], &arr[i], (a->n_credits - i) * sizeof *arr);
	arr[i] = cr;
	a->n_credits++;
	return cr;
}

static int add_effect(Storesync__AccountView *a, const struct effect *e, int64_t t)
{
	if (e->charged || e->contract) {
		Storesync__AccountCharge *ch = charge_at(a, t);

		if (!ch)
			return ENOMEM;
		ch->amount_fen += e->charged;
		ch->contract_fen += e->contract;
		if (!a->has_opened_ms || t < a->opened_ms) {
			a->opened_ms = t;
			a->has_opened_ms = 1;
		}
	}
	if (e->received || e->refunded || e->payment) {
		Storesync__AccountCredit *cr = credit_at(a, t);

		if (!cr)
			return ENOMEM;
		cr->received_fen += e->received;
		cr->refunded_fen += e->refunded;
		cr->payments += (uint64_t)e->payment;
		if (e->received > 0 && t > a->last_payment_ms) {
			a->last_payment_ms = t;
			a->has_last_payment_ms = 1;
		}
	}
	a->charged_fen += e->charged;
	a->contract_total_fen += e->contract;
	a->received_fen += e->received;
	a->refunded_fen += e->refunded;
	a->payments += (uint64_t)e->payment;
	a->has_charged_fen = a->has_contract_total_fen = a->has_received_fen = 1;
	a->has_refunded_fen = a->has_payments = 1;
	return 0;
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src ? src : "");
}

/* 1 when the charge (t, store_id, key) comes before the claim (since_ms,
 * store, its key): earliest, then smallest store id, then smallest
 * business key, so any arrival order agrees. */
static int comes_before(int64_t t, const char *store_id, const char *key, int64_t since_ms,
	const char *store, const char *its_key)
{
	int c;

	if (t != since_ms)
		return t < since_ms;
	if ((c = strcmp(store_id, store)) != 0)
		return c < 0;
	return strcmp(key, its_key ? its_key : "") < 0;
}

/* The owner is the store of the first charge by (contract before on-account
 * sale, then comes_before). Returns 1 when this charge takes ownership. */
static int claims_owner(const Storesync__AccountView *a, const char *store_id, int64_t t,
	int by_contract, const char *key)
{
	if (!a->owner_store || by_contract != a->owner_by_contract)
		return !a->owner_store || by_contract;
	return comes_before(t, store_id, key, a->owner_since_ms, a->owner_store, a->owner_key);
}

static void take_owner(Storesync__AccountView *a, const struct hub_view_ctx *v)
{
	const Storesync__Record *r = v->r;
	int by_contract = r->body_case == STORESYNC__RECORD__BODY_CONTRACT_SALE;

	set_str(&a->owner_store, v->store_id);
	set_str(&a->owner_key, by_contract ? r->contract_sale->contract_no : r->sale->receipt_no);
	set_str(&a->contract_no, by_contract ? r->contract_sale->contract_no : "");
	set_str(&a->customer, by_contract ? r->contract_sale->customer : r->sale->customer);
	a->owner_since_ms = r->time_ms;
	a->has_owner_since_ms = 1;
	a->owner_by_contract = by_contract;
	a->has_owner_by_contract = 1;
}

/* The earliest on-account sale's claim, whatever the contracts. */
static void maybe_sale_owner(Storesync__AccountView *a, const struct hub_view_ctx *v)
{
	const Storesync__Sale *s = v->r->sale;

	if (a->sale_owner_store && !comes_before(v->r->time_ms, v->store_id, s->receipt_no,
			a->sale_owner_since_ms, a->sale_owner_store, a->sale_owner_key))
		return;
	set_str(&a->sale_owner_store, v->store_id);
	set_str(&a->sale_owner_key, s->receipt_no);
	set_str(&a->sale_customer, s->customer);
	a->sale_owner_since_ms = v->r->time_ms;
	a->has_sale_owner_since_ms = 1;
}

/* What an account written before sale_owner_* knows of its earliest sale:
 * all of it when it is new or its owner is a sale (that sale is the
 * earliest), nothing when a contract owns it. */
static void learn_sale_owner(Storesync__AccountView *a)
{
	if (a->sale_owner_known || (a->owner_store && a->owner_by_contract))
		return;
	a->sale_owner_known = a->has_sale_owner_known = 1;
	if (!a->owner_store || a->sale_owner_store)
		return;
	set_str(&a->sale_owner_store, a->owner_store);
	set_str(&a->sale_owner_key, a->owner_key ? a->owner_key : "");
	set_str(&a->sale_customer, a->customer ? a->customer : "");
	a->sale_owner_since_ms = a->owner_since_ms;
	a->has_sale_owner_since_ms = 1;
}

static void maybe_own(Storesync__AccountView *a, const struct hub_view_ctx *v)
{
	const Storesync__Record *r = v->r;

	learn_sale_owner(a);
	if (r->body_case == STORESYNC__RECORD__BODY_CONTRACT_SALE
		&& claims_owner(a, v->store_id, r->time_ms, 1, r->contract_sale->contract_no))
		take_owner(a, v);
	else if (r->body_case == STORESYNC__RECORD__BODY_SALE
		&& claims_owner(a, v->store_id, r->time_ms, 0, r->sale->receipt_no))
		take_owner(a, v);
	if (r->body_case == STORESYNC__RECORD__BODY_SALE)
		maybe_sale_owner(a, v);
}

void hub_account_owner_at(const Storesync__AccountView *a, int64_t as_of_ms,
	struct hub_account_owner *o)
{
	o->store = o->contract_no = o->customer = "";
	if (!a->owner_store)
		return;
	if (a->owner_since_ms <= as_of_ms || (a->owner_by_contract && !a->sale_owner_known)) {
		/* The owner of now held it then; or a hub before sale_owner_*
		 * left a contract owning it, and nothing better is known. */
		o->store = a->owner_store;
		o->contract_no = a->contract_no ? a->contract_no : "";
		o->customer = a->customer ? a->customer : "";
	} else if (a->owner_by_contract && a->sale_owner_store
		&& a->sale_owner_since_ms <= as_of_ms) {
		/* Before its contract: the earliest on-account sale's store. */
		o->store = a->sale_owner_store;
		o->customer = a->sale_customer ? a->sale_customer : "";
	}
}

static Storesync__AccountView *get_account(struct hub_view_ctx *v, const char *id, int *rc)
{
	return (Storesync__AccountView *)hub_view_get(v->txn, v->h->accounts, id, strlen(id),
		&storesync__account_view__descriptor, rc);
}

int hub_views_accounts_check(struct hub_view_ctx *v)
{
	const char *id = hub_account_of(v->r);
	struct effect e = effect_of(v->r);
	Storesync__AccountView *a;
	int64_t sum;
	int rc, wraps;

	if (!id)
		return 0;
	if (!(a = get_account(v, id, &rc)))
		return rc;
	wraps = __builtin_add_overflow(a->charged_fen, e.charged, &sum)
		|| __builtin_add_overflow(a->contract_total_fen, e.contract, &sum)
		|| __builtin_add_overflow(a->received_fen, a->refunded_fen, &sum)
		|| __builtin_add_overflow(sum, e.received, &sum)
		|| __builtin_add_overflow(sum, e.refunded, &sum);
	storesync__account_view__free_unpacked(a, NULL);
	if (wraps)
		return hub_view_refuse(v, "account %s: its charges or credits would pass %lld fen", id,
			(long long)INT64_MAX);
	return 0;
}

int hub_views_accounts(struct hub_view_ctx *v)
{
	const char *id = hub_account_of(v->r);
	struct effect e = effect_of(v->r);
	Storesync__AccountView *a;
	int64_t before;
	int rc;

	if (!id)
		return 0;
	if (!(a = get_account(v, id, &rc)))
		return rc;
	if (!a->account)
		a->account = strdup(id);
	before = hub_account_since_ms(a);
	maybe_own(a, v);
	if ((rc = add_effect(a, &e, v->r->time_ms)) == 0)
		rc = hub_stale_index_set(v->txn, v->h->account_due, before, hub_account_since_ms(a),
			id, strlen(id));
	if (rc == 0)
		rc = hub_view_put(v->txn, v->h->accounts, id, strlen(id), &a->base);
	storesync__account_view__free_unpacked(a, NULL);
	return rc;
}
