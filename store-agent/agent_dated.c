/* agent_dated: where a policy becomes effective at the store (prices, which
 * come in lists of thousands, are kept by agent_prices.c).
 *
 * Policies are kept by effective time, as HQ sent them, so a set that
 * arrives days early switches at its moment with the agent offline. Key:
 * name '\0' effective_ms (u64 BE) update_id (u64 BE), where name is the
 * policy's (it holds no '\0'), so one name's entries sort together by
 * (effective_ms, update_id). The value is a packed DatedPolicy.
 *
 * Invariant: the entry in force at T is the one with the greatest
 * (effective_ms, update_id) whose effective_ms <= T (a later update for the
 * same moment corrects an earlier one). Superseded entries are kept: a
 * record may be dated any time before now (a till that was offline, a
 * return of an old sale), and it is judged by the value in force at its own
 * time_ms, not by the built-in default. The table grows by one entry per
 * policy value HQ sets, a handful a year, and a snapshot brings the whole
 * history that targets the store (hub_downstream.c). */
#include <string.h>

#include "agent.h"

#define DATED_TAIL 17u   /* '\0' + effective_ms + update_id */

size_t dated_key(uint8_t *key, const char *name, int64_t effective_ms, uint64_t update_id)
{
	size_t n = strlen(name);

	/* Before 1970 is "always": one ordering for every entry. */
	if (effective_ms < 0)
		effective_ms = 0;
	memcpy(key, name, n);
	key[n] = '\0';
	ss_be64_put(key + n + 1, (uint64_t)effective_ms);
	ss_be64_put(key + n + 9, update_id);
	return n + DATED_TAIL;
}

/* 1 when k is an entry of name. */
static int is_of(const MDB_val *k, const char *name, size_t n)
{
	return k->mv_size == n + DATED_TAIL && memcmp(k->mv_data, name, n) == 0
		&& ((const uint8_t *)k->mv_data)[n] == '\0';
}

static uint64_t effective_of(const MDB_val *k)
{
	return ss_be64_get((const uint8_t *)k->mv_data + k->mv_size - 16);
}

/* Positions c on name's entry in force at at_ms; MDB_NOTFOUND when none. */
static int seek_in_force(MDB_cursor *c, const char *name, int64_t at_ms, MDB_val *k, MDB_val *d)
{
	uint8_t key[DATED_KEY_MAX];
	size_t n = strlen(name);
	int rc;

	if (at_ms < 0)
		return MDB_NOTFOUND;
	/* The first key past every entry dated <= at_ms, then one back. */
	k->mv_size = dated_key(key, name, at_ms == INT64_MAX ? at_ms : at_ms + 1, 0);
	k->mv_data = key;
	rc = mdb_cursor_get(c, k, d, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(c, k, d, MDB_PREV)
		: rc == MDB_NOTFOUND ? mdb_cursor_get(c, k, d, MDB_LAST) : rc;
	if (rc == 0 && !is_of(k, name, n))
		rc = MDB_NOTFOUND;
	return rc;
}

/* Positions c on name's next entry dated after at_ms (the latest update for
 * that moment); MDB_NOTFOUND when none. */
static int seek_next(MDB_cursor *c, const char *name, int64_t at_ms, MDB_val *k, MDB_val *d)
{
	uint8_t key[DATED_KEY_MAX];
	size_t n = strlen(name);
	MDB_val k2, d2;
	uint64_t eff;
	int rc;

	if (at_ms == INT64_MAX)
		return MDB_NOTFOUND;
	k->mv_size = dated_key(key, name, at_ms < 0 ? 0 : at_ms + 1, 0);
	k->mv_data = key;
	rc = mdb_cursor_get(c, k, d, MDB_SET_RANGE);
	if (rc != 0 || !is_of(k, name, n))
		return rc ? rc : MDB_NOTFOUND;
	eff = effective_of(k);
	while ((rc = mdb_cursor_get(c, &k2, &d2, MDB_NEXT)) == 0 && is_of(&k2, name, n)
		&& effective_of(&k2) == eff) {
		*k = k2;
		*d = d2;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

int dated_lookup(MDB_txn *txn, MDB_dbi dbi, const char *name, int64_t at_ms, MDB_val *now,
	MDB_val *next)
{
	MDB_cursor *c;
	MDB_val k;
	int rc = mdb_cursor_open(txn, dbi, &c);

	if (rc != 0)
		return rc;
	now->mv_size = 0;
	rc = seek_in_force(c, name, at_ms, &k, now);
	if (rc == MDB_NOTFOUND) {
		now->mv_size = 0;
		rc = 0;
	}
	if (rc == 0 && next) {
		next->mv_size = 0;
		rc = seek_next(c, name, at_ms, &k, next);
		if (rc == MDB_NOTFOUND) {
			next->mv_size = 0;
			rc = 0;
		}
	}
	mdb_cursor_close(c);
	return rc;
}

int dated_put(MDB_txn *txn, MDB_dbi dbi, const char *name, int64_t effective_ms,
	uint64_t update_id, const ProtobufCMessage *value)
{
	uint8_t key[DATED_KEY_MAX];
	MDB_val k = { dated_key(key, name, effective_ms, update_id), key }, d;
	int rc;

	d.mv_size = protobuf_c_message_get_packed_size(value);
	if ((rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE)) != 0)
		return rc;
	protobuf_c_message_pack(value, d.mv_data);
	return 0;
}

/* Unpacks a stored value into *out (NULL when v is empty). */
static int unpack_into(const MDB_val *v, const ProtobufCMessageDescriptor *desc,
	ProtobufCMessage **out)
{
	*out = NULL;
	if (v->mv_size == 0)
		return 0;
	*out = ss_proto_unpack(desc, v->mv_data, v->mv_size, SS_MAX_MSG_BYTES);
	return *out ? 0 : SS_EIO;
}

int dated_policy_at(struct agent_db *db, MDB_txn *txn, enum ss_policy_id id, int64_t at_ms,
	struct policy_in_force *out)
{
	const struct ss_policy_def *def = ss_policy_def(id);
	Storesync__DatedPolicy *p;
	MDB_val v;

	out->value = def->def;
	out->effective_ms = 0;
	out->update_id = 0;
	if (dated_lookup(txn, db->policies, def->name, at_ms, &v, NULL) != 0
		|| unpack_into(&v, &storesync__dated_policy__descriptor, (ProtobufCMessage **)&p) != 0)
		return SS_EIO;
	if (p && p->policy) {
		out->value = p->policy->value;
		out->effective_ms = p->effective_ms;
		out->update_id = p->update_id;
	}
	if (p)
		storesync__dated_policy__free_unpacked(p, NULL);
	return SS_OK;
}
