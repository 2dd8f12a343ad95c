/* hub_op_keys: who may speak to the hub. A store's CurveZMQ keys (store
 * add --key, rekey, retire-key, revoke) and the operators' keys and roles
 * (operator add, revoke). The key indexes (store_keys, operator_keys) that
 * the ZAP handler consults move in the same transaction as the registry,
 * and a key belongs to one store or one operator, never to two.
 *
 * Rotation without downtime: rekey makes the new key current and keeps the
 * previous one accepted (a store switches when it restarts with the new
 * pair) until retire-key. Revocation marks the store revoked: its keys stay
 * known, so the hub can name who is knocking, but nothing from them is
 * accepted, applied or answered; a rekey reinstates the store with a new
 * key only, and it resumes from its high-water mark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_auth.h"
#include "hub_op.h"
#include "hub_registry.h"
#include "ss_curve.h"
#include "ss_validate.h"

#define MAX_KEYS 2

/* Who holds key: "store S", "operator N", or "" when nobody. */
static void key_owner(struct hub *h, MDB_txn *txn, const char *key, char *buf, size_t len)
{
	MDB_val k = { strlen(key), (void *)key }, d;

	buf[0] = '\0';
	if (mdb_get(txn, h->store_keys, &k, &d) == 0)
		snprintf(buf, len, "store %.*s", (int)d.mv_size, (const char *)d.mv_data);
	else if (mdb_get(txn, h->operator_keys, &k, &d) == 0)
		snprintf(buf, len, "operator %.*s", (int)d.mv_size, (const char *)d.mv_data);
}

static int index_put(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *owner)
{
	MDB_val k = { strlen(key), (void *)key }, d = { strlen(owner), (void *)owner };

	return mdb_put(txn, dbi, &k, &d, 0);
}

static int index_del(MDB_txn *txn, MDB_dbi dbi, const char *key)
{
	MDB_val k = { strlen(key), (void *)key };
	int rc = mdb_del(txn, dbi, &k, NULL);

	return rc == MDB_NOTFOUND ? 0 : rc;
}

int hub_keys_check_free(struct hub *h, MDB_txn *txn, const char *key, const char *store,
	char *err, size_t errlen)
{
	char owner[100], mine[64];

	key_owner(h, txn, key, owner, sizeof owner);
	snprintf(mine, sizeof mine, "store %s", store ? store : "");
	if (owner[0] && (!store || strcmp(owner, mine) != 0)) {
		snprintf(err, errlen, "that key already belongs to %s", owner);
		return -1;
	}
	return 0;
}

int hub_keys_index_store(struct hub *h, MDB_txn *txn, const char *key, const char *store)
{
	return index_put(txn, h->store_keys, key, store);
}

/* Loads a registered store for a key write; NULL after refusing. */
static Storesync__StoreInfo *registered(struct hub *h, MDB_txn *txn, struct hub_work *w,
	const char *store)
{
	Storesync__StoreInfo *si;

	/* The operand may be missing from a request that did not come from hqctl. */
	if (!store || ss_validate_store_id(store) != 0) {
		hub_op_refuse(h, w, "a store id is needed ([A-Za-z0-9_]{1,32})");
		return NULL;
	}
	if (!(si = hub_registry_get(h, txn, store)))
		hub_op_refuse(h, w, "store %s is not registered (store add)", store);
	return si;
}

/* keys := kept, indexing and unindexing as needed. */
static int set_keys(struct hub *h, MDB_txn *txn, Storesync__StoreInfo *si, char **kept,
	size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < si->n_keys; i++) {
		int stays = 0;

		for (size_t j = 0; j < n; j++)
			stays |= strcmp(si->keys[i], kept[j]) == 0;
		if (!stays)
			rc = index_del(txn, h->store_keys, si->keys[i]);
	}
	for (size_t j = 0; rc == 0 && j < n; j++)
		rc = index_put(txn, h->store_keys, kept[j], si->store_id);
	return rc;
}

static int write_store(struct hub *h, MDB_txn *txn, Storesync__StoreInfo *si, char **keys,
	size_t n, const char *status, int64_t now_ms)
{
	char **old_keys = si->keys, *old_status = si->status;
	size_t old_n = si->n_keys;
	int rc = set_keys(h, txn, si, keys, n);

	si->keys = keys;
	si->n_keys = n;
	si->status = (char *)status;
	si->changed_ms = now_ms;
	si->has_changed_ms = 1;
	if (rc == 0)
		rc = hub_registry_put(h, txn, si);
	si->keys = old_keys;       /* the unpacked message frees its own */
	si->n_keys = old_n;
	si->status = old_status;
	return rc;
}

static int rekey_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	const char *store = hub_op_param(w->req, "store"), *key = hub_op_param(w->req, "key");
	Storesync__StoreInfo *si;
	char err[160], *keys[MAX_KEYS];
	size_t n = 0;
	int rc, revoked;

	hub_op_answer_reset(w);
	if (!key)
		return hub_op_refuse(h, w, "store rekey needs --key");
	if (!(si = registered(h, txn, w, store)))
		return 0;
	if (hub_keys_check_free(h, txn, key, store, err, sizeof err) != 0) {
		storesync__store_info__free_unpacked(si, NULL);
		return hub_op_refuse(h, w, "%s", err);
	}
	revoked = si->status && strcmp(si->status, "revoked") == 0;
	if (!revoked && si->n_keys && strcmp(si->keys[0], key) == 0) {
		/* The same rekey again (a retry): the key in rotation stays, and
		 * the one the running agent may still use with it. */
		hub_op_result(w, "store_id", store, "result", "unchanged", "keys",
			si->n_keys >= 2 ? "2" : "1", NULL);
		storesync__store_info__free_unpacked(si, NULL);
		return 0;
	}
	keys[n++] = (char *)key;
	/* The previous key stays accepted during the rotation, unless the
	 * store was revoked: then only the new key lets it back. */
	if (!revoked && si->n_keys && strcmp(si->keys[0], key) != 0)
		keys[n++] = si->keys[0];
	rc = write_store(h, txn, si, keys, n, "active", r->now_ms);
	storesync__store_info__free_unpacked(si, NULL);
	if (rc == 0)
		hub_op_result(w, "store_id", store, "result", revoked ? "reinstated" : "rekeyed",
			"keys", n == 2 ? "2" : "1", NULL);
	return rc;
}

static int retire_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	const char *store = hub_op_param(w->req, "store");
	Storesync__StoreInfo *si;
	char *keys[1];
	int rc;

	hub_op_answer_reset(w);
	if (!(si = registered(h, txn, w, store)))
		return 0;
	if (si->n_keys < 2) {
		storesync__store_info__free_unpacked(si, NULL);
		return hub_op_refuse(h, w, "store %s has no previous key to retire", store);
	}
	keys[0] = si->keys[0];
	rc = write_store(h, txn, si, keys, 1, si->status ? si->status : "active", r->now_ms);
	storesync__store_info__free_unpacked(si, NULL);
	if (rc == 0)
		hub_op_result(w, "store_id", store, "result", "previous key retired", NULL);
	return rc;
}

static int revoke_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	const char *store = hub_op_param(w->req, "store");
	Storesync__StoreInfo *si;
	int rc;

	hub_op_answer_reset(w);
	if (!(si = registered(h, txn, w, store)))
		return 0;
	rc = write_store(h, txn, si, si->keys, si->n_keys, "revoked", r->now_ms);
	storesync__store_info__free_unpacked(si, NULL);
	if (rc == 0)
		hub_op_result(w, "store_id", store, "result", "revoked", NULL);
	return rc;
}

/* ---- operators ---- */

/* A name the hub gives one of its own doors' users (they have the admin
 * role whatever the operators table says) is no operator's. */
static int operator_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || strcmp(name, HUB_USER_LOCAL) == 0
		|| strcmp(name, HUB_USER_INSECURE) == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z')
			|| (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i])))
			return -1;
	return 0;
}

static int operator_admit(struct hub *h, struct hub_work *w)
{
	(void)h;
	if (operator_name_ok(hub_op_param(w->req, "operator")) != 0) {
		table_fail(w->answer, "an operator's name is [A-Za-z0-9._-]{1,64}, and neither "
			"\"" HUB_USER_LOCAL "\" nor \"" HUB_USER_INSECURE "\" (the hub's own users)");
		return -1;
	}
	return 0;
}

static Storesync__OperatorInfo *operator_get(struct hub *h, MDB_txn *txn, const char *name)
{
	MDB_val k = { strlen(name), (void *)name }, d;

	if (mdb_get(txn, h->operators, &k, &d) != 0)
		return NULL;
	return storesync__operator_info__unpack(NULL, d.mv_size, d.mv_data);
}

static int operator_add_apply(struct hub *h, struct hub_round *r, MDB_txn *txn,
	struct hub_work *w)
{
	const char *name = hub_op_param(w->req, "operator"), *key = hub_op_param(w->req, "key"),
		*role = hub_op_param(w->req, "role");
	Storesync__OperatorInfo op = STORESYNC__OPERATOR_INFO__INIT, *old;
	char owner[100];
	int rc;

	hub_op_answer_reset(w);
	if (!key || !role)
		return hub_op_refuse(h, w, "operator add needs --key and --role");
	if ((old = operator_get(h, txn, name)) != NULL) {
		/* Names are never reused: the audit log names operators by them. */
		int revoked = old->status && strcmp(old->status, "revoked") == 0;

		storesync__operator_info__free_unpacked(old, NULL);
		return revoked ? hub_op_refuse(h, w, "the name %s is taken by a revoked operator "
			"(the audit log keeps it): add the key under another name", name)
			: hub_op_refuse(h, w, "operator %s exists (to give it a new key, revoke it, "
			"then add the key under another name)", name);
	}
	key_owner(h, txn, key, owner, sizeof owner);
	if (owner[0])
		return hub_op_refuse(h, w, "that key already belongs to %s", owner);
	op.name = (char *)name;
	op.role = (char *)role;
	op.key = (char *)key;
	op.status = "active";
	op.added_ms = op.changed_ms = r->now_ms;
	op.has_added_ms = op.has_changed_ms = 1;
	rc = hub_view_put(txn, h->operators, name, strlen(name), &op.base);
	if (rc == 0)
		rc = index_put(txn, h->operator_keys, key, name);
	if (rc == 0)
		hub_op_result(w, "operator", name, "role", role, "result", "added", NULL);
	return rc;
}

static int operator_revoke_apply(struct hub *h, struct hub_round *r, MDB_txn *txn,
	struct hub_work *w)
{
	const char *name = hub_op_param(w->req, "operator");
	Storesync__OperatorInfo *op = operator_get(h, txn, name);
	char *status;
	int rc;

	hub_op_answer_reset(w);
	if (!op)
		return hub_op_refuse(h, w, "no operator %s", name);
	status = op->status;
	op->status = "revoked";
	op->changed_ms = r->now_ms;
	op->has_changed_ms = 1;
	rc = hub_view_put(txn, h->operators, name, strlen(name), &op->base);
	op->status = status;
	storesync__operator_info__free_unpacked(op, NULL);
	if (rc == 0)
		hub_op_result(w, "operator", name, "result", "revoked", NULL);
	return rc;
}

static int no_admit(struct hub *h, struct hub_work *w)
{
	(void)h;
	(void)w;
	return 0;
}

const struct hub_handler hub_op_store_rekey = { "store rekey", no_admit, rekey_apply,
	hub_op_reply };
const struct hub_handler hub_op_store_retire = { "store retire-key", no_admit, retire_apply,
	hub_op_reply };
const struct hub_handler hub_op_store_revoke = { "store revoke", no_admit, revoke_apply,
	hub_op_reply };
const struct hub_handler hub_op_operator_add = { "operator add", operator_admit,
	operator_add_apply, hub_op_reply };
const struct hub_handler hub_op_operator_revoke = { "operator revoke", operator_admit,
	operator_revoke_apply, hub_op_reply };
