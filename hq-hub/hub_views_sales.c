/* hub_views_sales: sales by store and business day. One writer per key
 * (the store), and only sums, so weekly and monthly figures are sums of days
 * at query time. Refunds are netted by the query (sales - refunds).
 *
 * Invariant (money adds up): every amount lands in exactly one method
 * column, so for every store-day
 *   cash + card + mobile + on_account = sales + deposits + payments - refunds.
 * The validator makes it so: a deposit has a method that is money, a refund
 * is paid back by a method or credited to an account, never both. */
#include <errno.h>
#include <string.h>

#include "hub.h"

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

/* Money taken, by how it was paid. */
static void add_method(Storesync__SalesDay *d, Storesync__PaymentMethod m, int64_t fen)
{
	switch (m) {
	case STORESYNC__PAYMENT_METHOD__PAY_CASH: d->cash_fen += fen; d->has_cash_fen = 1; break;
	case STORESYNC__PAYMENT_METHOD__PAY_CARD: d->card_fen += fen; d->has_card_fen = 1; break;
	case STORESYNC__PAYMENT_METHOD__PAY_MOBILE: d->mobile_fen += fen; d->has_mobile_fen = 1; break;
	case STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT:
		d->on_account_fen += fen;
		d->has_on_account_fen = 1;
		break;
	default: break;
	}
}

static void add_record(Storesync__SalesDay *d, const Storesync__Record *r)
{
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		d->receipts++;
		d->has_receipts = 1;
		d->sales_fen += r->sale->total_fen;
		d->has_sales_fen = 1;
		add_method(d, r->sale->payment_method, r->sale->total_fen);
		break;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		d->contracts++;
		d->has_contracts = 1;
		d->contract_total_fen += r->contract_sale->total_fen;
		d->has_contract_total_fen = 1;
		d->deposits_fen += r->contract_sale->deposit_fen;
		d->has_deposits_fen = 1;
		add_method(d, r->contract_sale->deposit_method, r->contract_sale->deposit_fen);
		break;
	case STORESYNC__RECORD__BODY_PAYMENT:
		d->payments_fen += r->payment->amount_fen;
		d->has_payments_fen = 1;
		add_method(d, r->payment->method, r->payment->amount_fen);
		break;
	case STORESYNC__RECORD__BODY_REFUND:
		d->refunds++;
		d->has_refunds = 1;
		d->refunds_fen += r->refund->amount_fen;
		d->has_refunds_fen = 1;
		/* Money paid back comes off its method's column; a credit to an
		 * account (no method, or on_account) comes off on_account. */
		add_method(d, r->refund->has_method ? r->refund->method
			: STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT, -r->refund->amount_fen);
		break;
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		d->compensation_fen += r->complaint_progress->amount_fen;
		d->has_compensation_fen = 1;
		break;
	default:
		break;
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

int hub_views_sales(struct hub_view_ctx *v)
{
	struct hub_store *s = v->s;
	uint8_t key[33 + 5];
	int rc;

	/* Compensation paid is money out of the store that day; a step without
	 * compensation leaves the sales view alone (no empty day). */
	if (v->r->body_case == STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS
		&& v->r->complaint_progress->amount_fen <= 0)
		return 0;
	if (!s->sales || s->sales_day != v->day) {
		if ((rc = hub_views_sales_flush(v->h, v->txn, s)) != 0)
			return rc;
		if (s->sales)
			storesync__sales_day__free_unpacked(s->sales, NULL);
		s->sales = (Storesync__SalesDay *)hub_view_get(v->txn, v->h->sales, key,
			hub_key_store_day(key, v->store_id, v->day), &storesync__sales_day__descriptor, &rc);
		if (!s->sales)
			return rc;
		s->sales_day = v->day;
	}
	add_record(s->sales, v->r);
	s->sales_dirty = 1;
	return 0;
}
