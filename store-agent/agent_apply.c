/* agent_apply: what the hub sends down (Update messages on the link),
 * applied at the store: price lists, policy sets, collection notices,
 * replenishment decisions and snapshots.
 *
 * Invariants:
 *  - Updates apply in the hub's order for this store and nothing else: an
 *    Update is applied only when its after_id is our applied_update_id and
 *    its update_id is newer. A duplicate, a gap or a reordering changes
 *    nothing and is answered with an UpdateAck of what is applied, from
 *    which the hub resends.
 *  - One update, one write transaction: its effect and the new applied,
 *    price and policy update ids in meta commit together, so a kill -9 at
 *    any moment leaves the state before the update or after it, never a
 *    mix. The UpdateAck goes out only after that commit (apply_update
 *    returns after it; agent_sender, or the fleet simulator, answers).
 *  - A snapshot (parts 1..N of one update_id, in order) is staged part by
 *    part ("staging" database, part 1 clears it). Only the last part's
 *    transaction replaces the price and policy tables, applies the notices
 *    and decisions, clears the staging and moves applied_update_id; until
 *    then the old tables stay in force. A restart mid-snapshot keeps them,
 *    and the hub sends the snapshot again from part 1 (or from the part
 *    staged next, which is remembered too).
 *  - What this agent cannot use (an unknown policy name from a newer hub,
 *    an entry out of range, an unknown body kind) is skipped with a warning
 *    and the update still counts as applied: a store's stream never wedges.
 *  - An update that cannot be committed (disk budget, LMDB error) is not
 *    acknowledged; the hub resends it later. Logged at most once a minute. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_log.h"
#include "ss_time.h"
#include "ss_validate.h"

#define LOG_INTERVAL_MS 60000
#define SNAPSHOT_MAX_PARTS 100000u
#define NAME_MAX_BYTES 256u
#define IDENT_MAX_BYTES 64u

/* One run of an update's write body; .next is adopted only after commit. */
struct apply_txn {
	struct agent_apply *ap;
	uint64_t outbox_bytes;     /* the outbox's share of the one budget */
	const Storesync__Update *u;
	const struct price_wire *wire;   /* u's prices as received, when read in place */
	int64_t now_ms;
	struct apply_ids next;
	int done;                  /* the update is applied (not only a part staged) */
	unsigned skipped;          /* entries out of range */
	unsigned unknown;          /* policies this agent does not know */
	char unknown_name[IDENT_MAX_BYTES + 1];
	char err[160];
};

int apply_open(struct agent_apply *ap, struct agent_db *db, char *err, size_t errlen)
{
	struct apply_ids *ids = &ap->ids;
	MDB_txn *txn;
	uint64_t part = 0;
	int rc = ss_lmdb_read_begin(&db->lmdb, &txn);

	memset(ap, 0, sizeof *ap);
	ap->db = db;
	if (rc != 0) {
		snprintf(err, errlen, "updates: %s", mdb_strerror(rc));
		return SS_EIO;
	}
	agent_db_meta_get(db, txn, "applied_update_id", &ids->applied);
	agent_db_meta_get(db, txn, "price_update_id", &ids->price);
	agent_db_meta_get(db, txn, "policy_update_id", &ids->policy);
	agent_db_meta_get(db, txn, "snapshot_update_id", &ids->snapshot);
	agent_db_meta_get(db, txn, "snapshot_next_part", &part);
	ids->snapshot_next = (uint32_t)part;
	ss_lmdb_read_end(&db->lmdb, txn);
	return SS_OK;
}

void apply_ack_fill(const struct agent_apply *ap, Storesync__UpdateAck *ack)
{
	ack->applied_update_id = ap->ids.applied;
	ack->has_applied_update_id = 1;
	ack->price_update_id = ap->ids.price;
	ack->has_price_update_id = 1;
	ack->policy_update_id = ap->ids.policy;
	ack->has_policy_update_id = 1;
}

static int apply_prices(struct apply_txn *t, MDB_txn *txn, const Storesync__PriceList *pl)
{
	size_t skipped = 0;
	int rc = t->wire ? prices_put_wire(t->ap->db, txn, t->wire, t->now_ms, &skipped)
		: prices_put_list(t->ap->db, txn, pl->effective_ms, t->u->update_id, pl->prices,
		pl->n_prices, t->now_ms, &skipped);

	t->skipped += (unsigned)skipped;
	t->next.price = t->u->update_id;
	return rc;
}

/* A policy this agent knows, with a value in its range; else counted. */
static int policy_ok(struct apply_txn *t, const Storesync__PolicyEntry *e)
{
	char why[160];
	int id = e && e->name ? ss_policy_find(e->name) : -1;

	if (id < 0) {
		if (t->unknown++ == 0)
			snprintf(t->unknown_name, sizeof t->unknown_name, "%s",
				e && e->name ? e->name : "(no name)");
		return 0;
	}
	if (!e->has_value || ss_policy_check(id, e->value, why, sizeof why) != 0) {
		t->skipped++;
		return 0;
	}
	return 1;
}

static int put_policy(struct apply_txn *t, MDB_txn *txn, const Storesync__DatedPolicy *dp)
{
	if (!policy_ok(t, dp->policy))
		return 0;
	return dated_put(txn, t->ap->db->policies, dp->policy->name, dp->effective_ms,
		dp->update_id, &dp->base);
}

static int apply_policies(struct apply_txn *t, MDB_txn *txn, const Storesync__PolicySet *ps)
{
	Storesync__DatedPolicy dp = STORESYNC__DATED_POLICY__INIT;
	int rc = 0;

	dp.update_id = t->u->update_id;
	dp.has_update_id = 1;
	dp.effective_ms = ps->effective_ms;
	dp.has_effective_ms = 1;
	for (size_t i = 0; rc == 0 && i < ps->n_values; i++) {
		dp.policy = ps->values[i];
		rc = put_policy(t, txn, &dp);
	}
	t->next.policy = t->u->update_id;
	return rc;
}

/* One notice per (account, since_ms): a stale episode; putting it again is
 * the same notice. */
static int put_notice(struct apply_txn *t, MDB_txn *txn, const Storesync__CollectionNotice *n)
{
	uint8_t key[IDENT_MAX_BYTES + 9];
	size_t len = n && n->account ? strlen(n->account) : 0;
	MDB_val k = { len + 9, key }, d;
	int rc;

	if (len == 0 || len > IDENT_MAX_BYTES) {
		t->skipped++;
		return 0;
	}
	memcpy(key, n->account, len);
	key[len] = '\0';
	ss_be64_put(key + len + 1, (uint64_t)(n->since_ms < 0 ? 0 : n->since_ms));
	d.mv_size = storesync__collection_notice__get_packed_size(n);
	if ((rc = mdb_put(txn, t->ap->db->notices, &k, &d, MDB_RESERVE)) != 0)
		return rc;
	storesync__collection_notice__pack(n, d.mv_data);
	return 0;
}

static int put_decision(struct apply_txn *t, MDB_txn *txn,
	const Storesync__ReplenishmentDecision *dec)
{
	int rc = requests_decide(t->ap->db, txn, dec);

	if (rc == SS_EINVAL) {
		t->skipped++;
		return 0;
	}
	return rc;
}

/* Every entry of one staged part but its prices goes into the (emptied)
 * tables; the prices of all parts go in at once (prices_put_dated). */
static int load_part(struct apply_txn *t, MDB_txn *txn, const Storesync__Snapshot *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->n_prices; i++)
		if (s->prices[i]->update_id > t->next.price)
			t->next.price = s->prices[i]->update_id;
	for (size_t i = 0; rc == 0 && i < s->n_policies; i++) {
		if (s->policies[i]->update_id > t->next.policy)
			t->next.policy = s->policies[i]->update_id;
		rc = put_policy(t, txn, s->policies[i]);
	}
	for (size_t i = 0; rc == 0 && i < s->n_notices; i++)
		rc = put_notice(t, txn, s->notices[i]);
	for (size_t i = 0; rc == 0 && i < s->n_decisions; i++)
		rc = put_decision(t, txn, s->decisions[i]);
	return rc;
}

/* The prices of every staged part, as one set. */
struct staged_prices {
	Storesync__Snapshot **parts;
	size_t n_parts, cap_parts;
	Storesync__DatedPrice **prices;
	size_t n;
};

static int keep_part(struct staged_prices *sp, Storesync__Snapshot *s)
{
	Storesync__DatedPrice **p;

	if (sp->n_parts == sp->cap_parts) {
		size_t cap = sp->cap_parts ? sp->cap_parts * 2 : 16;
		Storesync__Snapshot **a = realloc(sp->parts, cap * sizeof *a);

		if (!a)
			return SS_EIO;
		sp->parts = a;
		sp->cap_parts = cap;
	}
	sp->parts[sp->n_parts++] = s;
	if (!(p = realloc(sp->prices, (sp->n + s->n_prices + 1) * sizeof *p)))
		return SS_EIO;
	sp->prices = p;
	if (s->n_prices)   /* a part without prices has none to copy (and a NULL array) */
		memcpy(sp->prices + sp->n, s->prices, s->n_prices * sizeof *p);
	sp->n += s->n_prices;
	return 0;
}

static void staged_free(struct staged_prices *sp)
{
	for (size_t i = 0; i < sp->n_parts; i++)
		storesync__snapshot__free_unpacked(sp->parts[i], NULL);
	free(sp->parts);
	free(sp->prices);
}

/* The last part is in: the staged snapshot replaces the tables. */
static int replace_tables(struct apply_txn *t, MDB_txn *txn)
{
	struct agent_db *db = t->ap->db;
	struct staged_prices sp = { 0 };
	size_t skipped = 0;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_drop(txn, db->prices, 0)) != 0 || (rc = mdb_drop(txn, db->policies, 0)) != 0
		|| (rc = mdb_cursor_open(txn, db->staging, &c)) != 0)
		return rc;
	t->next.price = t->next.policy = 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		Storesync__Snapshot *s = (Storesync__Snapshot *)ss_proto_unpack(
			&storesync__snapshot__descriptor, d.mv_data, d.mv_size, SS_MAX_MSG_BYTES);

		if (!s) {
			rc = SS_EIO;
			snprintf(t->err, sizeof t->err, "a staged snapshot part does not parse");
			break;
		}
		if ((rc = keep_part(&sp, s)) != 0) {
			storesync__snapshot__free_unpacked(s, NULL);
			break;
		}
		if ((rc = load_part(t, txn, s)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = prices_put_dated(db, txn, sp.prices, sp.n, t->now_ms, &skipped);
	t->skipped += (unsigned)skipped;
	staged_free(&sp);
	if (rc != 0)
		return rc;
	t->next.snapshot = 0;
	t->next.snapshot_next = 0;
	return mdb_drop(txn, db->staging, 0);
}

static int stage_part(struct apply_txn *t, MDB_txn *txn, const Storesync__Snapshot *s)
{
	uint8_t key[4] = { (uint8_t)(s->part >> 24), (uint8_t)(s->part >> 16),
		(uint8_t)(s->part >> 8), (uint8_t)s->part };
	MDB_val k = { 4, key }, d;
	int rc;

	if (s->part == 1 && (rc = mdb_drop(txn, t->ap->db->staging, 0)) != 0)
		return rc;
	d.mv_size = storesync__snapshot__get_packed_size(s);
	if ((rc = mdb_put(txn, t->ap->db->staging, &k, &d, MDB_RESERVE)) != 0)
		return rc;
	storesync__snapshot__pack(s, d.mv_data);
	t->next.snapshot = t->u->update_id;
	t->next.snapshot_next = s->part + 1;
	t->done = s->part == s->parts;
	return t->done ? replace_tables(t, txn) : 0;
}

static int put_ids(struct apply_txn *t, MDB_txn *txn)
{
	struct agent_db *db = t->ap->db;
	const struct apply_ids *n = &t->next;
	int rc = agent_db_meta_put(db, txn, "applied_update_id", n->applied);

	if (rc == 0)
		rc = agent_db_meta_put(db, txn, "price_update_id", n->price);
	if (rc == 0)
		rc = agent_db_meta_put(db, txn, "policy_update_id", n->policy);
	if (rc == 0)
		rc = agent_db_meta_put(db, txn, "snapshot_update_id", n->snapshot);
	if (rc == 0)
		rc = agent_db_meta_put(db, txn, "snapshot_next_part", n->snapshot_next);
	return rc;
}

/* The one budget (agent_db.c): an update may not take the agent past it. */
static int within_budget(struct apply_txn *t, MDB_txn *txn)
{
	struct agent_db *db = t->ap->db;
	uint64_t used = t->outbox_bytes + agent_db_other_bytes(db, txn);

	if (used <= db->budget_bytes)
		return 0;
	snprintf(t->err, sizeof t->err, "disk budget of %llu bytes reached",
		(unsigned long long)db->budget_bytes);
	return SS_EFULL;
}

static int apply_body(MDB_txn *txn, void *arg)
{
	struct apply_txn *t = arg;
	const Storesync__Update *u = t->u;
	int rc = 0;

	t->next = t->ap->ids;
	t->done = 1;
	t->skipped = t->unknown = 0;
	t->err[0] = '\0';
	switch (u->body_case) {
	case STORESYNC__UPDATE__BODY_PRICES:
		rc = apply_prices(t, txn, u->prices);
		break;
	case STORESYNC__UPDATE__BODY_POLICIES:
		rc = apply_policies(t, txn, u->policies);
		break;
	case STORESYNC__UPDATE__BODY_NOTICE:
		rc = put_notice(t, txn, u->notice);
		break;
	case STORESYNC__UPDATE__BODY_DECISION:
		rc = put_decision(t, txn, u->decision);
		break;
	case STORESYNC__UPDATE__BODY_SNAPSHOT:
		rc = stage_part(t, txn, u->snapshot);
		break;
	default:
		t->skipped++;
		break;
	}
	/* The hub gave up a snapshot it had begun: its parts go. */
	if (rc == 0 && u->body_case != STORESYNC__UPDATE__BODY_SNAPSHOT && t->next.snapshot) {
		rc = mdb_drop(txn, t->ap->db->staging, 0);
		t->next.snapshot = 0;
		t->next.snapshot_next = 0;
	}
	if (rc == 0 && t->done)
		t->next.applied = u->update_id;
	if (rc == 0)
		rc = put_ids(t, txn);
	return rc == 0 ? within_budget(t, txn) : rc;
}

/* Why u cannot be applied now, or NULL when it is next in turn. */
static const char *out_of_turn(const struct apply_ids *ids, const Storesync__Update *u)
{
	const Storesync__Snapshot *s = u->snapshot;

	if (u->update_id <= ids->applied)
		return "already applied";
	if (u->after_id != ids->applied)
		return "it follows an update not applied here";
	if (u->body_case != STORESYNC__UPDATE__BODY_SNAPSHOT)
		return NULL;
	if (s->part == 0 || s->parts == 0 || s->part > s->parts || s->parts > SNAPSHOT_MAX_PARTS)
		return "snapshot part numbers are not 1..parts";
	if (s->part > 1 && (ids->snapshot != u->update_id || ids->snapshot_next != s->part))
		return "snapshot part out of order";
	return NULL;
}

static void log_skipped(const struct apply_txn *t)
{
	if (t->unknown)
		ss_warn("update %llu: %u policies this agent does not know (first: %s): ignored",
			(unsigned long long)t->u->update_id, t->unknown, t->unknown_name);
	if (t->skipped)
		ss_warn("update %llu: %u entries this agent cannot use (invalid or of an unknown "
			"kind): ignored", (unsigned long long)t->u->update_id, t->skipped);
}

static int apply_run(struct agent_apply *ap, const Storesync__Update *u,
	const struct price_wire *wire, uint64_t outbox_bytes)
{
	struct apply_txn t = { .ap = ap, .outbox_bytes = outbox_bytes, .u = u, .wire = wire,
		.now_ms = ss_now_ms() };
	const char *why = out_of_turn(&ap->ids, u);
	char err[256] = "";
	uint64_t held = 0;

	if (why) {
		ss_debug("update %llu after %llu not applied (%s): we have %llu",
			(unsigned long long)u->update_id, (unsigned long long)u->after_id, why,
			(unsigned long long)ap->ids.applied);
		return 1;
	}
	if (ss_lmdb_write(&ap->db->lmdb, apply_body, &t, err, sizeof err) != 0) {
		ap->failures++;
		if (ss_lograte_allow(&ap->fail_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
			ss_error("update %llu not applied: %s (the hub will send it again; %llu more "
				"since last line)", (unsigned long long)u->update_id,
				t.err[0] ? t.err : err, (unsigned long long)held);
		return 0;
	}
	ap->ids = t.next;
	log_skipped(&t);
	return t.done;
}

int apply_update(struct agent_apply *ap, const Storesync__Update *u, uint64_t outbox_bytes)
{
	return apply_run(ap, u, NULL, outbox_bytes);
}

/* The Update as protobuf-c would have unpacked it, but for the entries,
 * which apply_prices takes from the wire: the turn, the ids and the
 * transaction are the same code. */
int apply_price_wire(struct agent_apply *ap, const struct price_wire *w,
	uint64_t outbox_bytes)
{
	Storesync__Update u = STORESYNC__UPDATE__INIT;
	Storesync__PriceList pl = STORESYNC__PRICE_LIST__INIT;

	u.update_id = w->update_id;
	u.has_update_id = 1;
	u.after_id = w->after_id;
	u.has_after_id = 1;
	u.created_ms = w->created_ms;
	u.has_created_ms = 1;
	pl.effective_ms = w->effective_ms;
	pl.has_effective_ms = 1;
	u.body_case = STORESYNC__UPDATE__BODY_PRICES;
	u.prices = &pl;
	return apply_run(ap, &u, w, outbox_bytes);
}
