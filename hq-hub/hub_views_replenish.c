/* hub_views_replenish: stores' emergency replenishment requests, keyed by
 * (store, request_no), waiting for HQ's decision (hqctl replenish). The
 * request is written by its store only; the decision by HQ, which sends it
 * down to that store alone. A request number is the request's business
 * key: a second request under it never gets here (hub_keys.c). */
#include <stdlib.h>
#include <string.h>

#include "hub.h"

size_t hub_key_replenish(uint8_t *key, const char *store_id, const char *request_no)
{
	size_t n = strlen(store_id), m = strlen(request_no);

	memcpy(key, store_id, n);
	key[n] = '\0';
	memcpy(key + n + 1, request_no, m);
	return n + 1 + m;
}

int hub_views_replenish(struct hub_view_ctx *v)
{
	const Storesync__ReplenishmentRequest *q = v->r->replenishment;
	Storesync__ReplenishState st = STORESYNC__REPLENISH_STATE__INIT;
	uint8_t key[33 + 65];

	st.store_id = (char *)v->store_id;
	st.request_no = q->request_no;
	st.sku = q->sku;
	st.quantity = q->quantity;
	st.has_quantity = 1;
	st.reason = q->reason;
	st.needed_by_ms = q->needed_by_ms;
	st.has_needed_by_ms = 1;
	st.requested_ms = v->r->time_ms;
	st.has_requested_ms = 1;
	return hub_view_put(v->txn, v->h->replenishment, key,
		hub_key_replenish(key, v->store_id, q->request_no), &st.base);
}
