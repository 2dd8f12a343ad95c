/* hub_handle_update_ack: a store committed every update through an id.
 * What the store has applied is recorded in its state in the round's
 * transaction (rollout status survives a hub restart), and after the
 * commit the store's delivery window opens again (hub_downstream). */
#include "hub_work.h"

static int update_ack_admit(struct hub *h, struct hub_work *w)
{
	if (!w->peer->store_id[0]) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_NEED_HELLO, &h->stats.invalid,
			"update ack before hello");
		return -1;
	}
	w->store_id = w->peer->store_id;
	w->epoch = 0;
	return 0;
}

void hub_store_note_applied(struct hub_store *s, uint64_t applied, uint64_t price_id,
	uint64_t policy_id, int64_t now_ms)
{
	Storesync__StoreState *st = s->state;

	if (applied != st->applied_update_id) {
		st->applied_ms = now_ms;
		st->has_applied_ms = 1;
	}
	st->applied_update_id = applied;
	st->has_applied_update_id = 1;
	if (price_id) {
		st->price_update_id = price_id;
		st->has_price_update_id = 1;
	}
	if (policy_id) {
		st->policy_update_id = policy_id;
		st->has_policy_update_id = 1;
	}
	s->dirty = 1;
}

static int update_ack_apply(struct hub *h, struct hub_round *r, MDB_txn *txn,
	struct hub_work *w)
{
	const Storesync__UpdateAck *a = w->msg->update_ack;
	struct hub_store *s;
	int rc = hub_round_store(h, r, txn, w, &s);

	if (rc != 0)
		return rc;
	hub_round_seen(s, r->now_ms);
	hub_store_note_applied(s, a->applied_update_id, a->price_update_id, a->policy_update_id,
		r->now_ms);
	return 0;
}

static void update_ack_reply(struct hub *h, struct hub_work *w)
{
	atomic_fetch_add(&h->stats.update_acks, 1);
	hub_down_ack(h, w->peer, w->msg->update_ack->applied_update_id);
}

const struct hub_handler hub_handle_update_ack = { "update_ack", update_ack_admit,
	update_ack_apply, update_ack_reply };
