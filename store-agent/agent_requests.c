/* agent_requests: the store's own replenishment requests as the store knows
 * them ("requests" database: request_no -> packed RequestState).
 *
 * Invariant: an entry is written in the transaction that makes its record
 * durable (state "pending", agent_submit), in the transaction that
 * applies HQ's decision on it (agent_apply), or in a reepoch's, which
 * renumbers its record (agent_reepoch), never elsewhere. A decision
 * for a request this data directory never recorded (a reinstalled store)
 * still gets an entry, with what the decision says. */
#include <string.h>

#include "agent.h"

#define IDENT_MAX_BYTES 64u

static MDB_val key_of(const char *request_no)
{
	return (MDB_val){ strlen(request_no), (void *)request_no };
}

static int put_state(struct agent_db *db, MDB_txn *txn, const Storesync__RequestState *st)
{
	MDB_val k = key_of(st->request_no), d;
	int rc;

	d.mv_size = storesync__request_state__get_packed_size(st);
	if ((rc = mdb_put(txn, db->requests, &k, &d, MDB_RESERVE)) != 0)
		return rc;
	storesync__request_state__pack(st, d.mv_data);
	return 0;
}

int requests_put_pending(struct agent_db *db, MDB_txn *txn, const Storesync__Record *r)
{
	const Storesync__ReplenishmentRequest *q = r->replenishment;
	Storesync__RequestState st = STORESYNC__REQUEST_STATE__INIT;

	st.request_no = q->request_no;
	st.sku = q->sku;
	st.quantity = q->quantity;
	st.has_quantity = 1;
	st.time_ms = r->time_ms;
	st.has_time_ms = 1;
	st.seq = r->seq;
	st.has_seq = 1;
	st.state = "pending";
	return put_state(db, txn, &st);
}

int requests_decide(struct agent_db *db, MDB_txn *txn, const Storesync__ReplenishmentDecision *dec)
{
	Storesync__RequestState st = STORESYNC__REQUEST_STATE__INIT, *old = NULL;
	size_t len = dec && dec->request_no ? strlen(dec->request_no) : 0;
	int approved = dec && dec->decision == STORESYNC__DECISION__DECISION_APPROVED;
	MDB_val k, d;
	int rc;

	if (len == 0 || len > IDENT_MAX_BYTES || !dec->has_decision
		|| (!approved && dec->decision != STORESYNC__DECISION__DECISION_REFUSED))
		return SS_EINVAL;
	k = key_of(dec->request_no);
	rc = mdb_get(txn, db->requests, &k, &d);
	if (rc == 0 && (old = (Storesync__RequestState *)ss_proto_unpack(
		&storesync__request_state__descriptor, d.mv_data, d.mv_size, SS_MAX_MSG_BYTES)))
		st = *old;   /* borrows old's strings until it is freed below */
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	st.request_no = dec->request_no;
	st.state = approved ? "approved" : "refused";
	st.approved_quantity = approved ? dec->quantity : 0;
	st.has_approved_quantity = 1;
	st.note = dec->note;
	st.decided_ms = dec->decided_ms;
	st.has_decided_ms = 1;
	rc = put_state(db, txn, &st);
	if (old)
		storesync__request_state__free_unpacked(old, NULL);
	return rc;
}

int requests_renumber(struct agent_db *db, MDB_txn *txn, const Storesync__Record *r,
	uint64_t old_seq)
{
	Storesync__RequestState *st;
	MDB_val k, d;
	int rc;

	if (r->body_case != STORESYNC__RECORD__BODY_REPLENISHMENT || !r->replenishment->request_no)
		return 0;
	k = key_of(r->replenishment->request_no);
	if ((rc = mdb_get(txn, db->requests, &k, &d)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (!(st = storesync__request_state__unpack(NULL, d.mv_size, d.mv_data)))
		return SS_EIO;
	if (st->seq == old_seq) {
		st->seq = r->seq;
		rc = put_state(db, txn, st);
	}
	storesync__request_state__free_unpacked(st, NULL);
	return rc;
}
