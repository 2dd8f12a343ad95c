/* hub_views_mismatch: price discipline. The chain's rule is that the price
 * on the shelf tag equals the price the till charges. A sale line whose
 * unit_price_fen differs from the price in force at the store at the sale's
 * own time is kept (the sale happened) and counted here per store, business
 * day and SKU. "In force" counts only the price lists HQ had issued when the
 * store recorded the sale (a list pushed later cannot make an earlier sale
 * wrong), so the verdict depends on the record and on HQ's decisions, not on
 * when the record arrived; the line shown is the latest by business time.
 * A SKU without any price is not a mismatch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_updates.h"

static size_t mismatch_key(uint8_t *key, const char *store, int32_t day, const char *sku)
{
	size_t n = hub_key_store_day(key, store, day), m = strlen(sku);

	key[n] = '\0';
	memcpy(key + n + 1, sku, m);
	return n + 1 + m;
}

/* 1 when line `line` of this sale comes after the latest one m holds, by
 * (time_ms, receipt_no, line): a business order, never the arrival one. */
static int is_later(const Storesync__PriceMismatch *m, const Storesync__Record *r,
	uint32_t line)
{
	int c;

	if (!m->lines || r->time_ms != m->last_ms)
		return !m->lines || r->time_ms > m->last_ms;
	c = strcmp(r->sale->receipt_no, m->last_receipt ? m->last_receipt : "");
	return c > 0 || (c == 0 && line > m->last_line);
}

static int count_line(struct hub_view_ctx *v, uint32_t line, int64_t expected)
{
	const Storesync__SaleLine *l = v->r->sale->lines[line - 1];
	uint8_t key[33 + 5 + 1 + 33];
	size_t klen = mismatch_key(key, v->store_id, v->day, l->sku);
	Storesync__PriceMismatch *m;
	int rc = 0;

	m = (Storesync__PriceMismatch *)hub_view_get(v->txn, v->h->mismatches, key, klen,
		&storesync__price_mismatch__descriptor, &rc);
	if (!m)
		return rc;
	if (is_later(m, v->r, line)) {
		m->charged_fen = l->unit_price_fen;
		m->expected_fen = expected;
		m->last_ms = v->r->time_ms;
		m->last_line = line;
		free(m->last_receipt);
		if (!(m->last_receipt = strdup(v->r->sale->receipt_no)))
			rc = ENOMEM;
		m->has_charged_fen = m->has_expected_fen = m->has_last_ms = m->has_last_line = 1;
	}
	m->lines++;
	m->has_lines = 1;
	if (rc == 0)
		rc = hub_view_put(v->txn, v->h->mismatches, key, klen, &m->base);
	storesync__price_mismatch__free_unpacked(m, NULL);
	return rc;
}

int hub_views_mismatch(struct hub_view_ctx *v)
{
	const Storesync__Sale *s = v->r->sale;
	int64_t issued_by = v->r->has_recorded_ms ? v->r->recorded_ms : v->r->time_ms;
	MDB_stat st;
	int rc = 0;

	if (mdb_stat(v->txn, v->h->prices, &st) != 0 || st.ms_entries == 0)
		return 0;   /* no price list yet: nothing to compare with */
	for (size_t i = 0; i < s->n_lines && rc == 0; i++) {
		struct hub_dated d;

		if (hub_dated_find(v->h, v->txn, &v->h->tcache, v->h->prices, s->lines[i]->sku,
			v->store_id, hub_store_region(v->h, v->txn, v->s), v->r->time_ms, issued_by,
			&d) == 1
			&& d.value != s->lines[i]->unit_price_fen)
			rc = count_line(v, (uint32_t)i + 1, d.value);
	}
	return rc;
}
