/* agent_query: the local endpoint's questions about what HQ decided: the
 * price of a SKU and the policies in force at a time, the collection
 * notices and the state of the store's replenishment requests.
 *
 * Invariant: answers come from the agent's own LMDB in a read transaction,
 * so they work with the hub unreachable and show exactly what the agent
 * enforces (agent_dated.c decides what is in force). A question about now
 * is asked at the agent's clock; at_ms asks about another moment. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_time.h"
#include "ss_validate.h"

/* Largest answer lists: far below a link message. */
#define QUERY_MAX_ROWS 50000u

static void reply_error(struct agent *a, struct local_request *p, const char *error)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;

	reply.error = (char *)error;
	local_reply(a, p, &reply);
}

static int64_t at_or_now(protobuf_c_boolean has, int64_t at_ms)
{
	return has && at_ms != 0 ? at_ms : ss_now_ms();
}

/* A moment asked about lies in the range records do (ss_validate_time_ms). */
static int at_ok(protobuf_c_boolean has, int64_t at_ms)
{
	return !has || at_ms == 0 || ss_validate_time_ms(at_ms) == 0;
}

static void fill_price(Storesync__PriceReply *pr, const Storesync__DatedPrice *now,
	const Storesync__DatedPrice *next, int64_t kept_from_ms)
{
	if (kept_from_ms) {
		pr->kept_from_ms = kept_from_ms;
		pr->has_kept_from_ms = 1;
	}
	if (now && now->price) {
		pr->found = 1;
		pr->price_fen = now->price->price_fen;
		pr->has_price_fen = 1;
		pr->name = now->price->name;
		pr->effective_ms = now->effective_ms;
		pr->has_effective_ms = 1;
		pr->update_id = now->update_id;
		pr->has_update_id = 1;
	}
	if (next && next->price) {
		pr->has_next = 1;
		pr->next_price_fen = next->price->price_fen;
		pr->has_next_price_fen = 1;
		pr->next_effective_ms = next->effective_ms;
		pr->has_next_effective_ms = 1;
	}
	pr->has_found = 1;
	pr->has_has_next = 1;
}

void query_price_answer(struct agent *a, struct local_request *p)
{
	const Storesync__PriceQuery *q = p->req->price;
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__PriceReply pr = STORESYNC__PRICE_REPLY__INIT;
	Storesync__DatedPrice *now = NULL, *next = NULL;
	int64_t kept_from_ms;
	MDB_txn *txn;
	int rc;

	if (ss_validate_sku(q->sku) != 0) {
		reply_error(a, p, "price: sku is not a valid SKU ([A-Z0-9][A-Z0-9-]{0,31})");
		return;
	}
	if (!at_ok(q->has_at_ms, q->at_ms)) {
		reply_error(a, p, "price: at_ms is outside 2000-01-01..2099-12-31");
		return;
	}
	if (ss_lmdb_read_begin(&a->db.lmdb, &txn) != 0) {
		reply_error(a, p, "price: cannot read the price table");
		return;
	}
	rc = prices_at(&a->db, txn, q->sku, at_or_now(q->has_at_ms, q->at_ms), &now, &next,
		&kept_from_ms);
	ss_lmdb_read_end(&a->db.lmdb, txn);
	if (rc != 0) {
		reply_error(a, p, "price: the price table cannot be read");
		return;
	}
	pr.sku = q->sku;
	fill_price(&pr, now, next, kept_from_ms);
	reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_PRICE;
	reply.price = &pr;
	local_reply(a, p, &reply);
	if (now)
		storesync__dated_price__free_unpacked(now, NULL);
	if (next)
		storesync__dated_price__free_unpacked(next, NULL);
}

void query_policy_answer(struct agent *a, struct local_request *p)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__PolicyReply pr = STORESYNC__POLICY_REPLY__INIT;
	Storesync__PolicyValueInForce v[SS_POL_N], *pv[SS_POL_N];
	int64_t at_ms = at_or_now(p->req->policy->has_at_ms, p->req->policy->at_ms);
	MDB_txn *txn;
	int rc = 0;

	if (!at_ok(p->req->policy->has_at_ms, p->req->policy->at_ms)) {
		reply_error(a, p, "policy: at_ms is outside 2000-01-01..2099-12-31");
		return;
	}
	if (ss_lmdb_read_begin(&a->db.lmdb, &txn) != 0) {
		reply_error(a, p, "policy: cannot read the policy table");
		return;
	}
	for (int i = 0; rc == 0 && i < SS_POL_N; i++) {
		struct policy_in_force f;

		rc = dated_policy_at(&a->db, txn, i, at_ms, &f);
		storesync__policy_value_in_force__init(&v[i]);
		v[i].name = (char *)ss_policy_def(i)->name;
		v[i].value = f.value;
		v[i].effective_ms = f.effective_ms;
		v[i].update_id = f.update_id;
		v[i].has_value = v[i].has_effective_ms = v[i].has_update_id = 1;
		pv[i] = &v[i];
	}
	ss_lmdb_read_end(&a->db.lmdb, txn);
	if (rc != 0) {
		reply_error(a, p, "policy: the policy table cannot be read");
		return;
	}
	pr.values = pv;
	pr.n_values = SS_POL_N;
	reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_POLICY;
	reply.policy = &pr;
	local_reply(a, p, &reply);
}

/* Every value of dbi unpacked with desc, up to QUERY_MAX_ROWS; *n_out of
 * them. NULL on failure. */
static ProtobufCMessage **read_all(struct agent *a, MDB_dbi dbi,
	const ProtobufCMessageDescriptor *desc, size_t *n_out)
{
	ProtobufCMessage **rows = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_val k, d;
	int rc;

	*n_out = 0;
	if (ss_lmdb_read_begin(&a->db.lmdb, &txn) != 0)
		return NULL;
	if ((rc = mdb_cursor_open(txn, dbi, &c)) == 0) {
		for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && n < QUERY_MAX_ROWS;
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
			ProtobufCMessage *m = ss_proto_unpack(desc, d.mv_data, d.mv_size,
				SS_MAX_MSG_BYTES);

			if (!m)
				continue;
			if (n == cap) {
				ProtobufCMessage **grown = realloc(rows, (cap ? cap * 2 : 64) * sizeof *rows);

				if (!grown) {
					protobuf_c_message_free_unpacked(m, NULL);
					break;
				}
				rows = grown;
				cap = cap ? cap * 2 : 64;
			}
			rows[n++] = m;
		}
		mdb_cursor_close(c);
	}
	ss_lmdb_read_end(&a->db.lmdb, txn);
	if (!rows)
		rows = calloc(1, sizeof *rows);
	*n_out = n;
	return rows;
}

static void free_all(ProtobufCMessage **rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(rows[i], NULL);
	free(rows);
}

/* Newest first; the account breaks ties, so the order is stable. */
static int newest_first(const void *x, const void *y)
{
	const Storesync__CollectionNotice *a = *(Storesync__CollectionNotice *const *)x;
	const Storesync__CollectionNotice *b = *(Storesync__CollectionNotice *const *)y;

	if (a->issued_ms != b->issued_ms)
		return a->issued_ms > b->issued_ms ? -1 : 1;
	return strcmp(a->account ? a->account : "", b->account ? b->account : "");
}

void query_notices_answer(struct agent *a, struct local_request *p)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__NoticesReply nr = STORESYNC__NOTICES_REPLY__INIT;
	size_t n;
	ProtobufCMessage **rows = read_all(a, a->db.notices,
		&storesync__collection_notice__descriptor, &n);

	if (!rows) {
		reply_error(a, p, "notices: cannot read the notices");
		return;
	}
	qsort(rows, n, sizeof *rows, newest_first);
	nr.notices = (Storesync__CollectionNotice **)rows;
	nr.n_notices = n;
	reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_NOTICES;
	reply.notices = &nr;
	local_reply(a, p, &reply);
	free_all(rows, n);
}

void query_requests_answer(struct agent *a, struct local_request *p)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__RequestsReply rr = STORESYNC__REQUESTS_REPLY__INIT;
	size_t n;
	ProtobufCMessage **rows = read_all(a, a->db.requests,
		&storesync__request_state__descriptor, &n);

	if (!rows) {
		reply_error(a, p, "requests: cannot read the requests");
		return;
	}
	rr.requests = (Storesync__RequestState **)rows;
	rr.n_requests = n;
	reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_REQUESTS;
	reply.requests = &rr;
	local_reply(a, p, &reply);
	free_all(rows, n);
}
