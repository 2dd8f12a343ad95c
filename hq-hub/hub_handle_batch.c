/* hub_handle_batch: consecutive records of one (store, epoch).
 *
 * Per store the rule is hub_store's: apply seq == high-water + 1, skip
 * seq <= high-water (duplicate), stop at seq > high-water + 1 (gap) and ask
 * for a resend from high-water + 1. The Ack is cumulative and goes out only
 * after the round committed. */
#include "hub_work.h"
#include "ss_time.h"

#define MAX_BATCH_RECORDS 100000
#define RESEND_REPEAT_MS 1000

static int batch_admit(struct hub *h, struct hub_work *w)
{
	const Storesync__Batch *b = w->msg->batch;

	if (b->n_records == 0 || b->n_records > MAX_BATCH_RECORDS || b->first_seq == 0) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_INVALID, &h->stats.invalid,
			"batch needs first_seq >= 1 and 1..100000 records");
		return -1;
	}
	for (size_t i = 0; i < b->n_records; i++)
		if (b->records[i]->has_seq && b->records[i]->seq != b->first_seq + i) {
			hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_INVALID,
				&h->stats.invalid, "batch records are not consecutive from first_seq");
			return -1;
		}
	return hub_link_claim(h, w, b->store_id, b->epoch);
}

static int batch_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	const Storesync__Batch *b = w->msg->batch;
	struct hub_store *s;
	uint64_t hw_before;
	int rc = hub_round_store(h, r, txn, w, &s);

	if (rc != 0)
		return rc;
	s->log = &w->peer->rate;
	hub_round_seen(s, r->now_ms);
	hw_before = s->hw;
	for (size_t i = 0; i < b->n_records; i++) {
		uint64_t seq = b->first_seq + i;

		if (seq <= s->hw) {
			r->duplicates++;
			continue;
		}
		if (seq > s->hw + 1) {
			/* Never apply past a gap: ask for what is missing. */
			w->resend_from = s->hw + 1;
			r->gaps++;
			break;
		}
		if ((rc = hub_store_apply(h, txn, s, b->records[i])) != 0)
			return rc;
	}
	if (s->hw > hw_before)
		hub_round_progress(s, r->now_ms);
	w->through = s->hw;
	return 0;
}

static void batch_reply(struct hub *h, struct hub_work *w)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Ack ack = STORESYNC__ACK__INIT;
	Storesync__Resend rs = STORESYNC__RESEND__INIT;
	int64_t now = ss_mono_ms();

	atomic_fetch_add(&h->stats.batches, 1);
	ack.epoch = w->epoch;
	ack.has_epoch = 1;
	ack.through_seq = w->through;
	ack.has_through_seq = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_ACK;
	m.ack = &ack;
	hub_link_send(h, w->peer, &m);
	/* One Resend per gap and second: a window of batches behind a gap
	 * would otherwise each ask again. */
	if (!w->resend_from || (w->peer->resend_from == w->resend_from
		&& now - w->peer->resend_mono < RESEND_REPEAT_MS))
		return;
	w->peer->resend_from = rs.from_seq = w->resend_from;
	w->peer->resend_mono = now;
	rs.has_from_seq = 1;
	rs.epoch = w->epoch;
	rs.has_epoch = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_RESEND;
	m.resend = &rs;
	hub_link_send(h, w->peer, &m);
}

const struct hub_handler hub_handle_batch = { "batch", batch_admit, batch_apply, batch_reply };
