/* hub_views_sales: sales by store and business day. One writer per key
 * (the store), and only sums, so weekly and monthly figures are sums of days
 * at query time. Refunds are netted by the query (sales - refunds).
 *
 * Invariant (money adds up): every amount lands in exactly one method
 * column, so for every store-day
 *   cash + card + mobile + on_account = sales + deposits + payments - refunds.
 * The validator makes it so: a deposit has a method that is money, a refund
 * is paid back by a method or credited to an account, never both. */
#include <string.h>

#include "hub.h"
#include "ss_time.h"

size_t hub_key_store_day(uint8_t *key, const char *store_id, int32_t day)
{
	size_t n = strlen(store_id);

	memcpy(key, store_id, n);
	key[n] = '\0';
	/* Days since 1970 are positive for every business date: u32 BE sorts. */
	key[n + 1] = (uint8_t)((uint32_t)day >> 24);
	key[n + 2] = (uint8_t)((uint32_t)day >> 16);
	key[n + 3] = (uint8_t)((uint32_t)day >> 8);
	key[n + 4] = (uint8_t)day;
	return n + 5;
}

/* The sum a field keeps: *sum += fen, or the field's name when that would
 * leave int64 (the record is then refused, never wrapped). */
#define ADD(d, field, fen) \
	do { \
		if (__builtin_add_overflow((d)->field, (fen), &(d)->field)) \
			return #field; \
		(d)->has_##field = 1; \
	} while (0)

/* Money taken, by how it was paid. */
static const char *add_method(Storesync__SalesDay *d, Storesync__PaymentMethod m, int64_t fen)
{
	switch (m) {
	case STORESYNC__PAYMENT_METHOD__PAY_CASH: ADD(d, cash_fen, fen); break;
	case STORESYNC__PAYMENT_METHOD__PAY_CARD: ADD(d, card_fen, fen); break;
	case STORESYNC__PAYMENT_METHOD__PAY_MOBILE: ADD(d, mobile_fen, fen); break;
	case STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT: ADD(d, on_account_fen, fen); break;
	default: break;
	}
	return NULL;
}

/* Adds r to the day; NULL, or the name of the sum that would overflow (d
 * is then partly changed: callers try on a copy first). Counts grow by one
 * a record and cannot reach 2^64. */
static const char *add_record(Storesync__SalesDay *d, const Storesync__Record *r)
{
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		ADD(d, receipts, 1);
		ADD(d, sales_fen, r->sale->total_fen);
		return add_method(d, r->sale->payment_method, r->sale->total_fen);
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		ADD(d, contracts, 1);
		ADD(d, contract_total_fen, r->contract_sale->total_fen);
		ADD(d, deposits_fen, r->contract_sale->deposit_fen);
		return add_method(d, r->contract_sale->deposit_method, r->contract_sale->deposit_fen);
	case STORESYNC__RECORD__BODY_PAYMENT:
		ADD(d, payments_fen, r->payment->amount_fen);
		return add_method(d, r->payment->method, r->payment->amount_fen);
	case STORESYNC__RECORD__BODY_REFUND:
		ADD(d, refunds, 1);
		ADD(d, refunds_fen, r->refund->amount_fen);
		/* Money paid back comes off its method's column; a credit to an
		 * account (no method, or on_account) comes off on_account. */
		return add_method(d, r->refund->has_method ? r->refund->method
			: STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT, -r->refund->amount_fen);
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		ADD(d, compensation_fen, r->complaint_progress->amount_fen);
		return NULL;
	default:
		return NULL;
	}
}

int hub_views_sales_flush(struct hub *h, MDB_txn *txn, struct hub_store *s)
{
	uint8_t key[33 + 5];
	size_t klen;
	int rc;

	if (!s->sales || !s->sales_dirty)
		return 0;
	klen = hub_key_store_day(key, s->store_id, s->sales_day);
	rc = hub_view_put(txn, h->sales, key, klen, &s->sales->base);
	if (rc == 0)
		s->sales_dirty = 0;
	return rc;
}

/* Compensation paid is money out of the store that day; a step without
 * compensation leaves the sales view alone (no empty day). */
static int touches_sales(const Storesync__Record *r)
{
	return r->body_case != STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS
		|| r->complaint_progress->amount_fen > 0;
}

/* The record's day, kept unpacked in the store for the transaction. */
static Storesync__SalesDay *day_of(struct hub_view_ctx *v, int *rc)
{
	struct hub_store *s = v->s;
	uint8_t key[33 + 5];

	*rc = 0;
	if (s->sales && s->sales_day == v->day)
		return s->sales;
	if ((*rc = hub_views_sales_flush(v->h, v->txn, s)) != 0)
		return NULL;
	if (s->sales)
		storesync__sales_day__free_unpacked(s->sales, NULL);
	s->sales = (Storesync__SalesDay *)hub_view_get(v->txn, v->h->sales, key,
		hub_key_store_day(key, v->store_id, v->day), &storesync__sales_day__descriptor, rc);
	s->sales_day = v->day;
	return s->sales;
}

int hub_views_sales_check(struct hub_view_ctx *v)
{
	Storesync__SalesDay *d, trial;
	const char *field;
	char day[16];
	int rc;

	if (!touches_sales(v->r))
		return 0;
	if (!(d = day_of(v, &rc)))
		return rc;
	trial = *d;   /* only integers: a shallow copy is a copy */
	if (!(field = add_record(&trial, v->r)))
		return 0;
	ss_time_format_day(v->day, day, sizeof day);
	return hub_view_refuse(v, "sales of %s on %s: %s would pass %lld", v->store_id, day, field,
		(long long)INT64_MAX);
}

int hub_views_sales(struct hub_view_ctx *v)
{
	Storesync__SalesDay *d;
	int rc;

	if (!touches_sales(v->r))
		return 0;
	if (!(d = day_of(v, &rc)))
		return rc;
	add_record(d, v->r);   /* the check has summed it on a copy */
	v->s->sales_dirty = 1;
	return 0;
}
