/* hub_live: what the writer knows of each store between writes of its
 * state, so that application heartbeats cost no disk.
 *
 * Every store heartbeats every couple of seconds: 5,000 a second from
 * 10,000 stores. Written one by one, each was a durable LMDB write of a few
 * pages (issue 14: 10-20 KB of device writes each). Now a heartbeat goes to
 * memory here and is answered at once; it joins the round's transaction
 * only when it changes something an operator or a rule reads from LMDB:
 *   - the backlog going to or from zero (a store with nothing to send is
 *     making progress, which is what "silent" looks at);
 *   - the update ids it has applied (rollout status) or its agent version.
 * Everything else a heartbeat says (when it was heard, the backlog's size,
 * the oldest unsent record's age, disk left, and the progress of a store
 * with nothing to send) is written at a bounded interval: every
 * state_flush_ms the writer sweeps the stores heard from since their last
 * write, in store-id order and HUB_LIVE_FLUSH_MAX to a round, so one
 * sweep dirties each page of the stores' tables about once instead of once
 * per store (the silence index, ordered by time, once per round). Whenever a round writes a store for any reason (a batch, a
 * Hello) it takes what memory holds for it (hub_live_merge), and after the
 * commit memory learns what LMDB now holds (hub_live_written).
 *
 * The price: a store's last_seen_ms, backlog and, for an idle store,
 * last_progress_ms in `hqctl stores` may be up to state_flush_ms (plus a
 * sweep) old. Silence is judged in minutes (store_silence_minutes, at
 * least 1): state_flush_ms must stay well below it (default 30 s; the hub
 * warns at start above half a minute), or a live idle store could be shown
 * silent. A hub killed -9 loses at most that much of
 * what heartbeats said, never a record: the next heartbeat says it again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_work.h"
#include "ss_time.h"

#define VERSION_BYTES 64   /* hub_store_heartbeat keeps shorter versions only */

struct hub_live {
	UT_hash_handle hh;
	char store_id[33];
	/* Heard since the last write (when pending). */
	int pending;
	Storesync__Heartbeat hb;       /* the latest; agent_version points to version */
	char version[VERSION_BYTES];
	int64_t seen_ms;               /* when it was heard (hub time) */
	int64_t progress_ms;           /* the latest heartbeat with nothing to send, 0: none */
	/* As LMDB holds it. */
	int written_idle;              /* backlog was 0 */
	uint64_t written_applied, written_price, written_policy;
	char written_version[VERSION_BYTES];
};

/* The sweep in progress: the stores to write, in id order. */
struct hub_live_sweep {
	char (*ids)[33];
	size_t n, pos, chunk_end;
};

static struct hub_live *find(struct hub *h, const char *store_id)
{
	struct hub_live *l;

	HASH_FIND_STR(h->live, store_id, l);
	return l;
}

/* 1 when what hb says differs from what LMDB holds in a way that matters
 * before the next sweep. */
static int must_write(const struct hub_live *l, const Storesync__Heartbeat *hb)
{
	const char *v = hb->agent_version;

	return (hb->backlog == 0) != l->written_idle
		|| hb->applied_update_id != l->written_applied
		|| (hb->price_update_id && hb->price_update_id != l->written_price)
		|| (hb->policy_update_id && hb->policy_update_id != l->written_policy)
		|| (v && strlen(v) < VERSION_BYTES && strcmp(v, l->written_version) != 0);
}

int hub_live_heartbeat(struct hub *h, struct hub_peer *p, const Storesync__Heartbeat *hb,
	int64_t now_ms)
{
	/* Entries live as long as the hub: the connection keeps its store's. */
	struct hub_live *l = p->live ? p->live : (p->live = find(h, p->store_id));
	const char *v = hb->agent_version;
	size_t vlen = v ? strlen(v) : 0;

	/* Never written since this hub started: the round writes it. */
	if (!l)
		return 1;
	l->hb = *hb;
	/* The copy outlives hb's message: nothing of it may point there. */
	l->hb.base.n_unknown_fields = 0;
	l->hb.base.unknown_fields = NULL;
	if (v && vlen < VERSION_BYTES && strcmp(v, l->version) != 0)
		memcpy(l->version, v, vlen + 1);
	l->hb.agent_version = l->version[0] ? l->version : NULL;
	l->seen_ms = now_ms;
	if (hb->backlog == 0)
		l->progress_ms = now_ms;
	l->pending = 1;
	return must_write(l, hb);
}

void hub_live_merge(struct hub *h, struct hub_store *s)
{
	struct hub_live *l = find(h, s->store_id);
	Storesync__StoreState *st = s->state;

	if (!l || !l->pending)
		return;
	if (l->seen_ms > st->last_seen_ms) {
		st->last_seen_ms = l->seen_ms;
		st->has_last_seen_ms = 1;
	}
	hub_store_heartbeat(s, &l->hb);
	hub_store_note_applied(s, l->hb.applied_update_id, l->hb.price_update_id,
		l->hb.policy_update_id, l->seen_ms);
	/* A store in conflict sends nothing: "nothing to send" is no progress
	 * (hub_handle_heartbeat.c judges its heartbeats so too). */
	if (l->progress_ms > st->last_progress_ms && !hub_store_in_conflict(s))
		hub_round_progress(s, l->progress_ms);
	s->dirty = 1;
}

void hub_live_written(struct hub *h, const struct hub_store *s)
{
	struct hub_live *l = find(h, s->store_id);
	const Storesync__StoreState *st = s->state;

	/* Without memory for it, the store's next heartbeat joins a round. */
	if (!l) {
		if (!(l = calloc(1, sizeof *l)))
			return;
		snprintf(l->store_id, sizeof l->store_id, "%s", s->store_id);
		HASH_ADD_STR(h->live, store_id, l);
	}
	l->pending = 0;
	l->progress_ms = 0;
	l->written_idle = st->backlog == 0;
	l->written_applied = st->applied_update_id;
	l->written_price = st->price_update_id;
	l->written_policy = st->policy_update_id;
	snprintf(l->written_version, sizeof l->written_version, "%s",
		st->agent_version ? st->agent_version : "");
}

static int by_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A new sweep of every store heard from since its last write. */
static int sweep_begin(struct hub *h)
{
	struct hub_live_sweep *sw = h->live_sweep;
	struct hub_live *l, *tmp;
	size_t n = 0;

	HASH_ITER(hh, h->live, l, tmp)
		n += (size_t)l->pending;
	free(sw->ids);
	memset(sw, 0, sizeof *sw);
	if (n == 0)
		return 0;
	if (!(sw->ids = malloc(n * sizeof *sw->ids)))
		return -1;
	HASH_ITER(hh, h->live, l, tmp)
		if (l->pending)
			memcpy(sw->ids[sw->n++], l->store_id, sizeof sw->ids[0]);
	/* In id order: consecutive stores share the pages of the stores' tables. */
	qsort(sw->ids, sw->n, sizeof *sw->ids, by_id);
	return 0;
}

int hub_live_flush_due(struct hub *h, int64_t now_mono)
{
	struct hub_live_sweep *sw = h->live_sweep;

	if (!sw && !(sw = h->live_sweep = calloc(1, sizeof *sw)))
		return 0;
	if (sw->pos >= sw->n && now_mono >= h->next_live_flush_mono) {
		h->next_live_flush_mono = now_mono + h->cfg.state_flush_ms;
		if (sweep_begin(h) != 0)
			return 0;
	}
	if (sw->pos >= sw->n)
		return 0;
	sw->chunk_end = sw->n - sw->pos < HUB_LIVE_FLUSH_MAX ? sw->n : sw->pos + HUB_LIVE_FLUSH_MAX;
	return 1;
}

/* Loads (and so merges) the chunk's stores; each is saved with the round. */
static int flush_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	struct hub_live_sweep *sw = h->live_sweep;
	struct hub_store *s;
	int rc = 0;

	(void)w;
	for (size_t i = sw->pos; i < sw->chunk_end && rc == 0; i++) {
		struct hub_work one = { .store_id = sw->ids[i] };

		rc = hub_round_store(h, r, txn, &one, &s);
	}
	return rc;
}

/* After the commit: the next round takes the next chunk. */
static void flush_reply(struct hub *h, struct hub_work *w)
{
	struct hub_live_sweep *sw = h->live_sweep;

	(void)w;
	atomic_fetch_add(&h->stats.state_flushes, sw->chunk_end - sw->pos);
	sw->pos = sw->chunk_end;
}

void hub_live_flush_failed(struct hub *h)
{
	struct hub_live_sweep *sw = h->live_sweep;

	if (!sw || sw->pos >= sw->chunk_end)
		return;
	ss_warn("state flush: %zu stores (%s..%s) not written with a failed round; they wait for "
		"the next sweep", sw->chunk_end - sw->pos, sw->ids[sw->pos], sw->ids[sw->chunk_end - 1]);
	sw->pos = sw->chunk_end;
}

void hub_live_free(struct hub *h)
{
	struct hub_live *l, *tmp;

	HASH_ITER(hh, h->live, l, tmp) {
		HASH_DEL(h->live, l);
		free(l);
	}
	if (h->live_sweep)
		free(h->live_sweep->ids);
	free(h->live_sweep);
	h->live_sweep = NULL;
}

const struct hub_handler hub_handle_live_flush = { "state flush", NULL, flush_apply,
	flush_reply };
