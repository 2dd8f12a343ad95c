/* hub_handle_heartbeat: a store's application heartbeat (backlog, oldest
 * unsent age, disk budget left, versions). The hub answers with its own, so
 * the agent can tell the link is up: the first on a connection, and then
 * unless it has sent the store something since the store's previous
 * heartbeat (an Ack, an Update, an answer): any
 * word from the hub says as much, and an idle store then hears from it
 * every second interval rather than every one, half the messages that
 * 10,000 stores cost the hub's I/O thread. A store that heartbeats over a stuck
 * backlog makes no progress: "silent" means its records stopped arriving.
 * Most heartbeats change nothing LMDB must hold at once: they are kept in
 * memory and answered without a transaction (hub_live.c); the others join
 * the round, whose transaction writes them. */
#include <stdlib.h>
#include <string.h>

#include "hub_work.h"
#include "ss_time.h"

static void heartbeat_reply(struct hub *h, struct hub_work *w);

static int heartbeat_admit(struct hub *h, struct hub_work *w)
{
	if (!w->peer->store_id[0]) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_NEED_HELLO, &h->stats.invalid,
			"heartbeat before hello");
		return -1;
	}
	w->store_id = w->peer->store_id;
	w->epoch = 0;   /* whatever epoch the store's state holds */
	if (hub_live_heartbeat(h, w->peer, w->msg->heartbeat, ss_now_ms()))
		return 0;
	/* Nothing to write before the next flush: answered now, from memory. */
	atomic_fetch_add(&h->stats.heartbeats_held, 1);
	heartbeat_reply(h, w);
	return 1;
}

static int heartbeat_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	struct hub_store *s;
	int rc = hub_round_store(h, r, txn, w, &s);

	if (rc != 0)
		return rc;
	hub_round_seen(s, r->now_ms);
	hub_store_heartbeat(s, w->msg->heartbeat);
	hub_store_note_applied(s, w->msg->heartbeat->applied_update_id,
		w->msg->heartbeat->price_update_id, w->msg->heartbeat->policy_update_id, r->now_ms);
	if (w->msg->heartbeat->backlog == 0 && !hub_store_in_conflict(s))
		hub_round_progress(s, r->now_ms);
	w->through = s->hw;
	return 0;
}

static void heartbeat_reply(struct hub *h, struct hub_work *w)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	/* A flag, not a comparison of times: an answer sent in the same
	 * millisecond as its heartbeat must count as sent since it. */
	int answer = !w->peer->heartbeat_mono || !w->peer->sent_since_heartbeat;

	atomic_fetch_add(&h->stats.heartbeats, 1);
	hub_down_heard(h, w->peer, w->msg->heartbeat->applied_update_id);
	w->peer->heartbeat_mono = ss_mono_ms();
	w->peer->sent_since_heartbeat = 0;
	if (!answer)
		return;
	hb.sent_ms = ss_now_ms();
	hb.has_sent_ms = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	hub_link_send(h, w->peer, &m);
}

const struct hub_handler hub_handle_heartbeat = { "heartbeat", heartbeat_admit, heartbeat_apply,
	heartbeat_reply };
