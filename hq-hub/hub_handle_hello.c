/* hub_handle_hello: a store (re)connects and asks where to resume.
 * The Welcome carries the high-water mark of (store, epoch) as committed,
 * which may be below what the agent thinks was acknowledged (the hub was
 * restored from a backup): the agent then resends from there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_updates.h"
#include "hub_work.h"
#include "ss_time.h"

#define LOG_INTERVAL_MS 10000

static int hello_admit(struct hub *h, struct hub_work *w)
{
	const Storesync__Hello *hello = w->msg->hello;

	return hub_link_claim(h, w, hello->store_id, hello->epoch);
}

/* A store that has applied more than this hub's log holds: the hub was
 * restored from an older backup and lost updates it had issued. New ids
 * stay above them (hub_updates.c), but the hub's own knowledge of prices is
 * behind the stores', so price pushes go out whole, not as a delta, until a
 * full list is pushed. */
static int log_behind(struct hub *h, MDB_txn *txn, struct hub_store *s, uint64_t applied)
{
	uint64_t head = hub_updates_head(h, txn), held = 0;

	if (applied <= head || applied < hub_meta_get(h, txn, "next_update_id"))
		return 0;
	atomic_fetch_add(&h->stats.log_behind_stores, 1);
	/* Once per connection and interval: a store repeating its Hello must
	 * not flood the log. */
	if (ss_lograte_allow(s->log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_error("store %s has applied update %llu but this hub's log ends at %llu "
			"(restored from a backup?): updates issued after the backup are lost; price "
			"pushes go out in full until a full list is pushed%s",
			s->store_id, (unsigned long long)applied, (unsigned long long)head,
			ss_lograte_note(held));
	return hub_meta_put(h, txn, "delta_suspended", 1);
}

static int hello_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	const Storesync__Hello *hello = w->msg->hello;
	struct hub_store *s;
	int rc = hub_round_store(h, r, txn, w, &s);

	if (rc != 0)
		return rc;
	s->log = &w->peer->rate;
	w->first_contact = !s->state->has_first_seen_ms;
	w->prev_epoch = s->state->has_epoch ? s->state->epoch : 0;
	hub_round_seen(s, r->now_ms);
	if (hello->agent_version && strlen(hello->agent_version) < 64) {
		free(s->state->agent_version);
		s->state->agent_version = strdup(hello->agent_version);
	}
	/* Nothing left to send counts as progress: the store is not silent. A
	 * store that holds less of its epoch than the hub was rolled back: it
	 * will send nothing, which is no progress. */
	if (!hub_store_hello_conflict(s, hello->has_last_seq, hello->last_seq, r->now_ms)
		&& hello->last_seq <= s->hw)
		hub_round_progress(s, r->now_ms);
	hub_store_note_applied(s, hello->applied_update_id, 0, 0, r->now_ms);
	snprintf(w->region, sizeof w->region, "%s", hub_store_region(h, txn, s));
	w->through = s->hw;
	return log_behind(h, txn, s, hello->applied_update_id);
}

static void hello_reply(struct hub *h, struct hub_work *w)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Welcome wel = STORESYNC__WELCOME__INIT;

	wel.high_water_seq = w->through;
	wel.has_high_water_seq = 1;
	wel.hub_time_ms = ss_now_ms();
	wel.has_hub_time_ms = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_WELCOME;
	m.welcome = &wel;
	w->peer->resend_from = 0;
	atomic_fetch_add(&h->stats.hellos, 1);
	hub_link_send(h, w->peer, &m);
	hub_down_hello(h, w->peer, w->region, w->msg->hello->applied_update_id);
	hub_events_hello(h, w);
}

const struct hub_handler hub_handle_hello = { "hello", hello_admit, hello_apply, hello_reply };
