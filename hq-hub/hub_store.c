/* hub_store: a store's state at the hub and the effect of one record.
 *
 * Invariant (exactly-once, in order): a record is written to the event log
 * and its effect applied only when its seq is exactly high-water + 1 of its
 * (store, epoch), and the high-water mark moves in the same write transaction
 * as the record and its effect. A duplicate (seq <= high-water) therefore
 * never reaches this file, and a crash loses all three or none.
 *
 * A record with a new seq then passes, in order: validation (ss_validate),
 * its business key (hub_keys: a record the store already sent is kept and
 * counted, no effect; a conflicting one is refused), the views' checks, and
 * only then changes anything: the views, its key, the store's counts, all
 * in the same transaction. A refused record keeps its place in the log and
 * its reason in last_refused.
 *
 * Every table a record touches costs a page of its own per commit (the
 * stores differ from record to record; issue 14), so what changes per record
 * goes in as few as the rules allow:
 *  - The high-water mark of the epoch in the store's state is the state's
 *    (high_water_seq); the "epochs" table gets an epoch's mark when the
 *    store leaves it, and is read only for an epoch the state is not on.
 *  - The silence index (store_seen) lags last_progress_ms by less than
 *    SEEN_INDEX_LAG_MS and is never ahead of it (progress_indexed_ms says
 *    where it stands): a store is in it before every moment it has been
 *    silent since, so the stale scan finds it, and reads the exact time
 *    from the state (hub_stale.c). A busy store's entry moves once a
 *    minute, not per record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_registry.h"
#include "hub_updates.h"
#include "ss_record.h"
#include "ss_time.h"
#include "ss_validate.h"

#define EPOCH_KEY_BYTES (33 + 8)
#define REFUSED_LOG_INTERVAL_MS 10000
#define SEEN_INDEX_LAG_MS 60000

static size_t epoch_key(uint8_t *key, const char *store_id, uint64_t epoch)
{
	size_t n = strlen(store_id);

	memcpy(key, store_id, n);
	key[n] = '\0';
	ss_be64_put(key + n + 1, epoch);
	return n + 9;
}

static int load_hw(struct hub *h, MDB_txn *txn, struct hub_store *s)
{
	uint8_t key[EPOCH_KEY_BYTES];
	MDB_val k = { epoch_key(key, s->store_id, s->epoch), key }, d;
	const Storesync__StoreState *st = s->state;
	int rc;

	if (st->has_epoch && st->epoch == s->epoch && st->has_high_water_seq) {
		s->hw = st->high_water_seq;
		return 0;
	}
	rc = mdb_get(txn, h->epochs, &k, &d);
	s->hw = 0;
	if (rc == 0 && d.mv_size == 8)
		s->hw = ss_be64_get(d.mv_data);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int hub_store_load(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	struct hub_store *s)
{
	MDB_val k = { strlen(store_id), (void *)store_id }, d;
	int rc;

	memset(s, 0, sizeof *s);
	snprintf(s->store_id, sizeof s->store_id, "%s", store_id);
	s->epoch = epoch;
	rc = mdb_get(txn, h->stores, &k, &d);
	if (rc == 0)
		s->state = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc;
	if (!s->state) {
		/* First contact (or an unreadable state, rebuilt from here on). */
		s->state = calloc(1, sizeof *s->state);
		if (!s->state)
			return ENOMEM;
		storesync__store_state__init(s->state);
		s->state->store_id = strdup(store_id);
		s->dirty = 1;
	}
	s->seen_indexed_ms = s->state->has_progress_indexed_ms ? s->state->progress_indexed_ms
		: s->state->has_last_progress_ms ? s->state->last_progress_ms : -1;
	return load_hw(h, txn, s);
}

const char *hub_store_region(struct hub *h, MDB_txn *txn, struct hub_store *s)
{
	if (!s->region_known)
		hub_registry_region(h, txn, s->store_id, s->region, sizeof s->region);
	s->region_known = 1;
	return s->region;
}

int hub_store_switch_epoch(struct hub *h, MDB_txn *txn, struct hub_store *s, uint64_t epoch)
{
	int rc = 0;

	if (s->epoch == epoch)
		return 0;
	if (s->dirty)
		rc = hub_store_save(h, txn, s);
	s->epoch = epoch;
	return rc ? rc : load_hw(h, txn, s);
}

/* The departing epoch's mark, when s moves its state to another epoch. */
static int save_left_epoch(struct hub *h, MDB_txn *txn, struct hub_store *s)
{
	uint8_t key[EPOCH_KEY_BYTES], hw[8];
	const Storesync__StoreState *st = s->state;
	MDB_val k = { epoch_key(key, s->store_id, st->epoch), key }, d = { 8, hw };

	if (!st->has_epoch || st->epoch == s->epoch)
		return 0;
	ss_be64_put(hw, st->has_high_water_seq ? st->high_water_seq : 0);
	return mdb_put(txn, h->epochs, &k, &d, 0);
}

/* The silence index, moved when it would lag a minute or run ahead. */
static int save_seen_index(struct hub *h, MDB_txn *txn, struct hub_store *s)
{
	Storesync__StoreState *st = s->state;
	int64_t now = st->last_progress_ms;
	int rc;

	if (!st->has_last_progress_ms)
		return 0;
	if (s->seen_indexed_ms < 0 || now < s->seen_indexed_ms
		|| now - s->seen_indexed_ms >= SEEN_INDEX_LAG_MS) {
		rc = hub_stale_index_set(txn, h->store_seen, s->seen_indexed_ms, now, s->store_id,
			strlen(s->store_id));
		if (rc != 0)
			return rc;
		s->seen_indexed_ms = now;
	}
	st->progress_indexed_ms = s->seen_indexed_ms;
	st->has_progress_indexed_ms = 1;
	return 0;
}

int hub_store_save(struct hub *h, MDB_txn *txn, struct hub_store *s)
{
	MDB_val k = { strlen(s->store_id), s->store_id }, d;
	int rc;

	if ((rc = hub_views_sales_flush(h, txn, s)) != 0
		|| (rc = save_left_epoch(h, txn, s)) != 0
		|| (rc = save_seen_index(h, txn, s)) != 0)
		return rc;
	/* The newest epoch shown is the one last heard from. */
	s->state->epoch = s->epoch;
	s->state->has_epoch = 1;
	s->state->high_water_seq = s->hw;
	s->state->has_high_water_seq = 1;
	/* Queries ask whether any record is dated after their moment. */
	if (s->state->max_time_ms > 0
		&& (uint64_t)s->state->max_time_ms > hub_meta_get(h, txn, HUB_META_MAX_RECORD_MS)
		&& (rc = hub_meta_put(h, txn, HUB_META_MAX_RECORD_MS, (uint64_t)s->state->max_time_ms)))
		return rc;
	d.mv_size = storesync__store_state__get_packed_size(s->state);
	rc = mdb_put(txn, h->stores, &k, &d, MDB_RESERVE);
	if (rc != 0)
		return rc;
	storesync__store_state__pack(s->state, d.mv_data);
	s->dirty = 0;
	return 0;
}

void hub_store_release(struct hub_store *s)
{
	if (s->sales)
		storesync__sales_day__free_unpacked(s->sales, NULL);
	s->sales = NULL;
	if (s->state)
		storesync__store_state__free_unpacked(s->state, NULL);
	s->state = NULL;
}

int hub_store_high_water(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	uint64_t *hw)
{
	struct hub_store s;
	int rc = hub_store_load(h, txn, store_id, epoch, &s);

	*hw = rc == 0 ? s.hw : 0;
	hub_store_release(&s);
	return rc;
}

/* Puts r into the event log; its content hash, from the bytes just packed
 * (before another write may move them), into bk for hub_keys_claim. */
static int put_event(struct hub *h, MDB_txn *txn, struct hub_store *s, Storesync__Record *r,
	struct hub_key *bk)
{
	uint8_t key[EPOCH_KEY_BYTES + 8];
	size_t n = epoch_key(key, s->store_id, s->epoch);
	MDB_val k = { n + 8, key }, d;
	int rc;

	ss_be64_put(key + n, r->seq);
	d.mv_size = storesync__record__get_packed_size(r);
	rc = mdb_put(txn, h->events, &k, &d, MDB_RESERVE);
	if (rc == 0) {
		storesync__record__pack(r, d.mv_data);
		bk->hashed = ss_bizkey_hash_packed(r, d.mv_data, d.mv_size, bk->hash) == 0;
	}
	/* Its place in the global change order, in the same transaction. */
	if (rc == 0)
		rc = hub_order_note(h, txn, key, n + 8, s->state->last_seen_ms);
	return rc;
}

static void refuse_record(struct hub_store *s, const Storesync__Record *r, const char *reason)
{
	char text[320];
	uint64_t held = 0;

	s->state->refused++;
	s->state->has_refused = 1;
	s->refused_now++;
	snprintf(text, sizeof text, "seq %llu: %s", (unsigned long long)r->seq, reason);
	free(s->state->last_refused);
	s->state->last_refused = strdup(text);
	if (!s->log || ss_lograte_allow(s->log, ss_mono_ms(), REFUSED_LOG_INTERVAL_MS, &held))
		ss_warn("store %s %s refused%s", s->store_id, text,
			ss_lograte_note(held));
}

static void count_duplicate(struct hub_store *s)
{
	s->state->biz_duplicates++;
	s->state->has_biz_duplicates = 1;
}

int hub_store_apply(struct hub *h, MDB_txn *txn, struct hub_store *s, Storesync__Record *r)
{
	struct hub_view_ctx v = { h, txn, s, s->store_id, r, 0, "" };
	struct hub_key key;
	int64_t amount_fen;
	int rc;

	r->seq = s->hw + 1;
	r->has_seq = 1;
	if ((rc = put_event(h, txn, s, r, &key)) != 0)
		return rc;
	s->hw = r->seq;
	s->dirty = 1;
	/* The writer marked the store seen at the round's time just before
	 * handing over its records (hub_handle_batch.c). */
	s->state->last_record_ms = s->state->last_seen_ms;
	s->state->has_last_record_ms = 1;
	/* The agent validated it too; a record that fails here came from a
	 * broken or hostile agent. It stays in the log for audit, moves the
	 * high-water mark (so the stream does not stall), and has no effect. */
	/* Judged at the agent's acceptance time, which the record carries, not
	 * at the hub's clock: the verdict, and so every view, depends on the
	 * record alone (guarantee 4), whenever it arrives. A record without
	 * that stamp is refused: judging it at its own time_ms would let any
	 * time_ms pass the future check. */
	if (ss_validate_recorded(r, v.reason, sizeof v.reason) != 0
		|| ss_validate_record(r, s->store_id, r->recorded_ms, v.reason, sizeof v.reason) != 0) {
		refuse_record(s, r, v.reason);
		return 0;
	}
	rc = hub_keys_claim(h, txn, s->store_id, s->epoch, r, &key, v.reason, sizeof v.reason);
	if (rc == HUB_KEY_SAME) {
		count_duplicate(s);
		return 0;
	}
	if (rc == HUB_KEY_CONFLICT) {
		refuse_record(s, r, v.reason);
		return 0;
	}
	if (rc != HUB_KEY_NEW)
		return rc;
	if ((rc = hub_views_check(&v)) == 0
		&& __builtin_add_overflow(s->state->amount_fen, ss_record_amount_fen(r), &amount_fen))
		rc = hub_view_refuse(&v, "the store's amount_fen would pass %lld", (long long)INT64_MAX);
	if (rc == HUB_VIEW_REFUSED) {
		refuse_record(s, r, v.reason);
		return hub_keys_release(h, txn, &key);
	}
	if (rc != 0 || (rc = hub_views_apply(&v)) != 0)
		return rc;
	if (r->time_ms > s->state->max_time_ms) {
		s->state->max_time_ms = r->time_ms;
		s->state->has_max_time_ms = 1;
	}
	s->state->records++;
	s->state->has_records = 1;
	s->state->amount_fen = amount_fen;
	s->state->has_amount_fen = 1;
	s->applied_now++;
	return 0;
}

void hub_store_heartbeat(struct hub_store *s, const Storesync__Heartbeat *hb)
{
	Storesync__StoreState *st = s->state;

	st->backlog = hb->backlog;
	st->has_backlog = 1;
	st->oldest_unsent_age_ms = hb->oldest_unsent_age_ms;
	st->has_oldest_unsent_age_ms = 1;
	st->budget_left_bytes = hb->budget_left_bytes;
	st->has_budget_left_bytes = 1;
	/* An agent that cannot tell (or predates the field) leaves it unknown. */
	st->disk_free_bytes = hb->disk_free_bytes;
	st->has_disk_free_bytes = hb->has_disk_free_bytes;
	if (hb->agent_version && strlen(hb->agent_version) < 64) {
		free(st->agent_version);
		st->agent_version = strdup(hb->agent_version);
	}
	s->dirty = 1;
}

int hub_store_hello_conflict(struct hub_store *s, int has, uint64_t last_seq, int64_t now_ms)
{
	Storesync__StoreState *st = s->state;

	if (has && last_seq < s->hw) {
		if (st->conflict_epoch != s->epoch) {
			st->conflict_since_ms = now_ms;
			st->has_conflict_since_ms = 1;
		}
		st->conflict_epoch = s->epoch;
		st->has_conflict_epoch = 1;
		st->conflict_last_seq = last_seq;
		st->has_conflict_last_seq = 1;
		s->dirty = 1;
		return 1;
	}
	if (st->has_conflict_epoch) {
		st->conflict_epoch = st->conflict_last_seq = 0;
		st->conflict_since_ms = 0;
		st->has_conflict_epoch = st->has_conflict_last_seq = st->has_conflict_since_ms = 0;
		s->dirty = 1;
	}
	return 0;
}

int hub_store_in_conflict(const struct hub_store *s)
{
	return s->state->has_conflict_epoch && s->state->conflict_epoch == s->epoch;
}
