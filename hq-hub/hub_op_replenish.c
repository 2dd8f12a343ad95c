/* hub_op_replenish: HQ's decision on a store's emergency replenishment
 * request: `hqctl replenish approve|refuse STORE:REQUEST [--qty N]
 * [--note TEXT]`. A request is decided once; the decision goes down to the
 * requesting store only, in the same transaction as the request's new state. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_op.h"
#include "hub_updates.h"
#include "ss_validate.h"

#define NOTE_MAX_BYTES 200

/* "STORE:REQUEST" into its parts; -1 when malformed. */
static int split_id(const char *id, char *store, size_t slen, const char **request)
{
	const char *colon = id ? strchr(id, ':') : NULL;

	if (!colon || (size_t)(colon - id) >= slen || !colon[1])
		return -1;
	memcpy(store, id, (size_t)(colon - id));
	store[colon - id] = '\0';
	*request = colon + 1;
	return ss_validate_store_id(store);
}

static int decide_admit(struct hub *h, struct hub_work *w)
{
	const char *qty = hub_op_param(w->req, "qty"), *note = hub_op_param(w->req, "note"),
		*request;
	char store[33], *end;

	(void)h;
	if (split_id(hub_op_param(w->req, "id"), store, sizeof store, &request) != 0) {
		table_fail(w->answer, "the request is named STORE:REQUEST_NO (hqctl replenish list)");
		return -1;
	}
	if (qty && (strtoll(qty, &end, 10) <= 0 || *end || strtoll(qty, NULL, 10) > SS_MAX_QUANTITY)) {
		char why[80];

		snprintf(why, sizeof why, "--qty must be a whole number in 1..%lld",
			(long long)SS_MAX_QUANTITY);
		table_fail(w->answer, why);
		return -1;
	}
	if (note && ss_validate_label(note, NOTE_MAX_BYTES) != 0) {
		table_fail(w->answer, "--note must be UTF-8 text of 1..200 bytes without control "
			"characters");
		return -1;
	}
	return 0;
}

static int decide_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	int approve = strcmp(w->req->what, "replenish approve") == 0;
	const char *request = NULL, *qty = hub_op_param(w->req, "qty");
	char store[33], ids[24];
	uint8_t key[33 + 65];
	size_t klen;
	Storesync__ReplenishState *st;
	Storesync__ReplenishmentDecision dec = STORESYNC__REPLENISHMENT_DECISION__INIT;
	Storesync__LoggedUpdate lu = STORESYNC__LOGGED_UPDATE__INIT;
	Storesync__Update u = STORESYNC__UPDATE__INIT;
	Storesync__Target target = STORESYNC__TARGET__INIT;
	char *stores[1];
	int rc;

	hub_op_answer_reset(w);
	w->update_id = 0;
	split_id(hub_op_param(w->req, "id"), store, sizeof store, &request);
	if (strlen(request) > 64)
		return hub_op_refuse(h, w, "no request %s:%.64s", store, request);
	klen = hub_key_replenish(key, store, request);
	st = (Storesync__ReplenishState *)hub_view_get(txn, h->replenishment, key, klen,
		&storesync__replenish_state__descriptor, &rc);
	if (!st)
		return rc;
	if (!st->request_no) {
		storesync__replenish_state__free_unpacked(st, NULL);
		return hub_op_refuse(h, w, "no request %s:%s (hqctl replenish list)", store, request);
	}
	if (st->decision) {
		rc = hub_op_refuse(h, w, "request %s:%s was already %s", store, request,
			st->decision->decision == STORESYNC__DECISION__DECISION_APPROVED ? "approved"
			: "refused");
		storesync__replenish_state__free_unpacked(st, NULL);
		return rc;
	}
	dec.request_no = st->request_no;
	dec.decision = approve ? STORESYNC__DECISION__DECISION_APPROVED
		: STORESYNC__DECISION__DECISION_REFUSED;
	dec.has_decision = 1;
	dec.quantity = !approve ? 0 : qty ? strtoll(qty, NULL, 10) : st->quantity;
	dec.has_quantity = 1;
	dec.note = (char *)hub_op_param(w->req, "note");
	dec.decided_by = "hqctl";
	dec.decided_ms = r->now_ms;
	dec.has_decided_ms = 1;
	stores[0] = store;
	target.stores = stores;
	target.n_stores = 1;
	u.body_case = STORESYNC__UPDATE__BODY_DECISION;
	u.decision = &dec;
	lu.update = &u;
	lu.target = &target;
	lu.targeted = 1;
	lu.has_targeted = 1;
	if ((rc = hub_updates_append(h, txn, &lu, r->now_ms)) == 0) {
		st->decision = &dec;
		st->update_id = u.update_id;
		st->has_update_id = 1;
		rc = hub_view_put(txn, h->replenishment, key, klen, &st->base);
		st->decision = NULL;   /* on the stack: not the state's to free */
	}
	storesync__replenish_state__free_unpacked(st, NULL);
	if (rc != 0)
		return rc;
	w->update_id = u.update_id;
	snprintf(w->wake_store, sizeof w->wake_store, "%s", store);
	snprintf(ids, sizeof ids, "%" PRIu64, u.update_id);
	hub_op_result(w, "update_id", ids, "request", hub_op_param(w->req, "id"), "decision",
		approve ? "approved" : "refused", NULL);
	return 0;
}

const struct hub_handler hub_op_replenish_approve = { "replenish approve", decide_admit,
	decide_apply, hub_op_reply };
const struct hub_handler hub_op_replenish_refuse = { "replenish refuse", decide_admit,
	decide_apply, hub_op_reply };
