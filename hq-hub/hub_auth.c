/* hub_auth: operators' roles and the audit log.
 *
 * Every operator write goes through the hub's writer; there, before it
 * applies, its user's role is checked (writes need "admin"), and after it,
 * refused or done, an audit entry (who, when, what, result) is written in
 * the same transaction as the write itself: a write is never done without
 * its entry, and a refused one is recorded too. Reads are open to both
 * roles (the query workers mask customer names for "read"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_auth.h"
#include "hub_registry.h"
#include "hub_table.h"
#include "hub_updates.h"
#include "hub_work.h"

#define ARGS_MAX 400

const char *hub_auth_role(struct hub *h, MDB_txn *txn, const char *user, char *buf, size_t len)
{
	MDB_val k = { strlen(user), (void *)user }, d;
	Storesync__OperatorInfo *op;
	const char *role = NULL;

	/* "insecure" is the hub's user only on a hub without Curve; with Curve
	 * an operator of that name (added before names were checked) is one
	 * like any other. */
	if (strcmp(user, HUB_USER_LOCAL) == 0
		|| (h->cfg.insecure && strcmp(user, HUB_USER_INSECURE) == 0))
		return "admin";
	if (mdb_get(txn, h->operators, &k, &d) != 0
		|| !(op = storesync__operator_info__unpack(NULL, d.mv_size, d.mv_data)))
		return NULL;
	if (op->role && op->status && strcmp(op->status, "active") == 0) {
		snprintf(buf, len, "%s", op->role);
		role = buf;
	}
	storesync__operator_info__free_unpacked(op, NULL);
	return role;
}

int hub_auth_store_key(struct hub *h, MDB_txn *txn, const char *key, char *store, size_t len,
	char *why, size_t whylen)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	Storesync__StoreInfo *si;
	int current = 0, active;

	store[0] = '\0';
	if (mdb_get(txn, h->store_keys, &k, &d) != 0 || d.mv_size == 0 || d.mv_size >= len) {
		snprintf(why, whylen, "unknown key");
		return -1;
	}
	memcpy(store, d.mv_data, d.mv_size);
	store[d.mv_size] = '\0';
	if (!(si = hub_registry_get(h, txn, store))) {
		snprintf(why, whylen, "store %s is not registered", store);
		return -1;
	}
	for (size_t i = 0; i < si->n_keys; i++)
		current |= strcmp(si->keys[i], key) == 0;
	active = !si->status || strcmp(si->status, "active") == 0;
	storesync__store_info__free_unpacked(si, NULL);
	if (!current || !active) {
		snprintf(why, whylen, "store %s %s", store, active ? "no longer has this key"
			: "is revoked");
		return -1;
	}
	return 0;
}

int hub_auth_operator_key(struct hub *h, MDB_txn *txn, const char *key, char *name,
	size_t len, char *why, size_t whylen)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	Storesync__OperatorInfo *op;
	int ok;

	name[0] = '\0';
	if (mdb_get(txn, h->operator_keys, &k, &d) != 0 || d.mv_size == 0 || d.mv_size >= len) {
		snprintf(why, whylen, "unknown key");
		return -1;
	}
	memcpy(name, d.mv_data, d.mv_size);
	name[d.mv_size] = '\0';
	k = (MDB_val){ d.mv_size, name };
	if (mdb_get(txn, h->operators, &k, &d) != 0
		|| !(op = storesync__operator_info__unpack(NULL, d.mv_size, d.mv_data))) {
		snprintf(why, whylen, "operator %s is not registered", name);
		return -1;
	}
	ok = op->status && strcmp(op->status, "active") == 0 && op->key && strcmp(op->key, key) == 0;
	storesync__operator_info__free_unpacked(op, NULL);
	if (!ok) {
		snprintf(why, whylen, "operator %s is revoked", name);
		return -1;
	}
	return 0;
}

int hub_auth_check_write(struct hub *h, MDB_txn *txn, struct hub_work *w)
{
	char buf[16], msg[200];
	const char *role = hub_auth_role(h, txn, w->user, buf, sizeof buf);

	if (role && strcmp(role, "admin") == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s needs the admin role; operator %s %s", w->req->what,
		w->user, role ? "has the read role" : "is not an active operator");
	table_free(w->answer);
	table_fail(w->answer, msg);
	return -1;
}

/* The request's params in one line; a list's size instead of its items. */
static void args_line(const Storesync__QueryRequest *q, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < q->n_params && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "",
			q->params[i]->key ? q->params[i]->key : "",
			q->params[i]->value ? q->params[i]->value : "");
	if (q->n_prices && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%zu prices", n ? " " : "", q->n_prices);
	if (q->n_stores && n < len)
		snprintf(buf + n, len - n, "%s%zu stores", n ? " " : "", q->n_stores);
}

int hub_audit_write(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	Storesync__AuditEntry e = STORESYNC__AUDIT_ENTRY__INIT;
	uint64_t seq = hub_meta_get(h, txn, "audit_seq") + 1;
	char args[ARGS_MAX], role_buf[16];
	const char *role = hub_auth_role(h, txn, w->user, role_buf, sizeof role_buf);
	uint8_t key[16];
	int rc;

	args_line(w->req, args, sizeof args);
	e.time_ms = r->now_ms;
	e.has_time_ms = 1;
	e.who = w->user;
	e.role = (char *)(role ? role : "none");
	e.what = w->req->what ? w->req->what : "";
	e.args = args;
	e.result = w->answer->reply.error ? w->answer->reply.error : "ok";
	e.update_id = w->update_id;
	e.has_update_id = w->update_id != 0;
	ss_be64_put(key, (uint64_t)r->now_ms);
	ss_be64_put(key + 8, seq);
	if ((rc = hub_view_put(txn, h->audit, key, sizeof key, &e.base)) != 0)
		return rc;
	return hub_meta_put(h, txn, "audit_seq", seq);
}
