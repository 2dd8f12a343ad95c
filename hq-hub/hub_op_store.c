/* hub_op_store: the store registry's writes: `hqctl store add`, `store set`
 * and `store import` (CSV, done in one transaction: every row is checked
 * first, and one bad row refuses the whole import). Registering a store
 * twice with the same name and region is harmless; with other values it is
 * refused (use `store set`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_op.h"
#include "hub_auth.h"
#include "hub_registry.h"
#include "ss_validate.h"

#define NAME_MAX_BYTES 64
#define IMPORT_MAX 100000

/* Checks one entry's fields; 0, or -1 with a reason. */
static int check_info(const char *store, const char *name, const char *region, char *why,
	size_t len)
{
	if (!store || ss_validate_store_id(store) != 0)
		return snprintf(why, len, "store id \"%.40s\" is not [A-Za-z0-9_]{1,32}",
			store ? store : ""), -1;
	if (name && name[0] && ss_validate_label(name, NAME_MAX_BYTES) != 0)
		return snprintf(why, len, "store %s: name must be UTF-8 text of 1..%d bytes "
			"without control characters", store, NAME_MAX_BYTES), -1;
	if (region && region[0] && hub_region_valid(region) != 0)
		return snprintf(why, len, "store %s: region \"%.40s\" is not [A-Za-z0-9_-]{1,32}",
			store, region), -1;
	return 0;
}

static int store_admit(struct hub *h, struct hub_work *w)
{
	char why[200];

	(void)h;
	if (strcmp(w->req->what, "store set") == 0 && !hub_op_param(w->req, "name")
		&& !hub_op_param(w->req, "region")) {
		table_fail(w->answer, "store set needs --name or --region");
		return -1;
	}
	if (check_info(hub_op_param(w->req, "store"), hub_op_param(w->req, "name"),
		hub_op_param(w->req, "region"), why, sizeof why) != 0) {
		table_fail(w->answer, why);
		return -1;
	}
	return 0;
}

static int same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

enum put_mode { PUT_ADD, PUT_SET, PUT_UPSERT };

/* Writes one registry entry; -1 when refused (answered), else 0 or an MDB
 * code. *action: "added", "changed" or "unchanged". */
static int put_info(struct hub *h, MDB_txn *txn, struct hub_work *w, const char *store,
	const char *name, const char *region, enum put_mode mode, int64_t now_ms,
	const char **action)
{
	Storesync__StoreInfo *old = hub_registry_get(h, txn, store);
	Storesync__StoreInfo si = STORESYNC__STORE_INFO__INIT;
	int rc = 0;

	si.store_id = (char *)store;
	si.name = (char *)(name ? name : old && old->name ? old->name : "");
	si.region = (char *)(region ? region : old && old->region ? old->region : "");
	*action = old ? "changed" : "added";
	if (!old && mode == PUT_SET)
		rc = hub_op_refuse(h, w, "store %s is not registered (store add)", store) - 1;
	else if (old && same(si.name, old->name) && same(si.region, old->region))
		*action = "unchanged";
	else if (old && mode == PUT_ADD)
		rc = hub_op_refuse(h, w, "store %s is already registered (name \"%s\", region "
			"\"%s\"): change it with store set", store, old->name ? old->name : "",
			old->region ? old->region : "") - 1;
	if (rc == 0 && strcmp(*action, "unchanged") != 0) {
		si.status = old && old->status ? old->status : "active";
		si.keys = old ? old->keys : NULL;   /* keys change by rekey only */
		si.n_keys = old ? old->n_keys : 0;
		si.added_ms = old ? old->added_ms : now_ms;
		si.has_added_ms = 1;
		si.changed_ms = now_ms;
		si.has_changed_ms = 1;
		rc = hub_registry_put(h, txn, &si);
	}
	if (old)
		storesync__store_info__free_unpacked(old, NULL);
	return rc;
}

/* store add --key: may key become store's first key? (A store that has a
 * key changes it with rekey.) Decided before anything is written: a
 * refused write changes nothing. */
static int key_refused(struct hub *h, MDB_txn *txn, struct hub_work *w, const char *store,
	const char *key)
{
	Storesync__StoreInfo *si = hub_registry_get(h, txn, store);
	int has_other = si && si->n_keys && strcmp(si->keys[0], key) != 0;
	char err[160];

	if (si)
		storesync__store_info__free_unpacked(si, NULL);
	if (has_other)
		return hub_op_refuse(h, w, "store %s has a key: change it with store rekey",
			store) - 1;
	if (hub_keys_check_free(h, txn, key, store, err, sizeof err) != 0)
		return hub_op_refuse(h, w, "%s", err) - 1;
	return 0;
}

/* Gives a store registered without a key its first one; *added says
 * whether it did (a store with keys changes them by rekey only). */
static int add_key(struct hub *h, MDB_txn *txn, const char *store, const char *key,
	int64_t now_ms, int *added)
{
	Storesync__StoreInfo *si = hub_registry_get(h, txn, store);
	char *keys[1] = { (char *)key };
	int rc = 0;

	*added = 0;
	if (si && !si->n_keys) {
		si->keys = keys;
		si->n_keys = 1;
		si->changed_ms = now_ms;
		si->has_changed_ms = 1;
		*added = 1;
		if ((rc = hub_registry_put(h, txn, si)) == 0)
			rc = hub_keys_index_store(h, txn, key, store);
		si->keys = NULL;
		si->n_keys = 0;
	}
	if (si)
		storesync__store_info__free_unpacked(si, NULL);
	return rc;
}

static int store_apply_one(struct hub *h, struct hub_round *r, MDB_txn *txn,
	struct hub_work *w, enum put_mode mode)
{
	const char *store = hub_op_param(w->req, "store"), *action,
		*key = hub_op_param(w->req, "key");
	int rc = key ? key_refused(h, txn, w, store, key) : 0, added = 0;

	if (rc == 0)
		rc = put_info(h, txn, w, store, hub_op_param(w->req, "name"),
			hub_op_param(w->req, "region"), mode, r->now_ms, &action);
	if (rc == 0 && key)
		rc = add_key(h, txn, store, key, r->now_ms, &added);
	if (added && strcmp(action, "unchanged") == 0)
		action = "changed";   /* its first key */
	if (rc == -1)
		return 0;   /* refused: answered, nothing written */
	if (rc == 0)
		hub_op_result(w, "store_id", store, "result", action, NULL);
	return rc;
}

static int store_add_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	return store_apply_one(h, r, txn, w, PUT_ADD);
}

static int store_set_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	return store_apply_one(h, r, txn, w, PUT_SET);
}

/* After the commit: a connected store whose region changed now gets its
 * region's updates. */
static void store_reply(struct hub *h, struct hub_work *w)
{
	const char *region = hub_op_param(w->req, "region");

	if (!w->answer->reply.error && region)
		hub_down_region(h, hub_op_param(w->req, "store"), region);
	hub_op_reply(h, w);
}

static int import_admit(struct hub *h, struct hub_work *w)
{
	char why[200], msg[260];

	(void)h;
	if (w->req->n_stores == 0 || w->req->n_stores > IMPORT_MAX) {
		table_fail(w->answer, "store import takes 1..100000 stores");
		return -1;
	}
	for (size_t i = 0; i < w->req->n_stores; i++) {
		const Storesync__StoreInfo *si = w->req->stores[i];

		if (check_info(si->store_id, si->name, si->region, why, sizeof why) != 0) {
			snprintf(msg, sizeof msg, "row %zu: %s; nothing imported", i + 1, why);
			table_fail(w->answer, msg);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(w->req->stores[j]->store_id, si->store_id) == 0) {
				snprintf(msg, sizeof msg, "rows %zu and %zu both name store %s; nothing "
					"imported", j + 1, i + 1, si->store_id);
				table_fail(w->answer, msg);
				return -1;
			}
	}
	return 0;
}

static int import_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	size_t counts[3] = { 0 };
	char added[24], changed[24], unchanged[24];
	int rc = 0;

	hub_op_answer_reset(w);
	for (size_t i = 0; i < w->req->n_stores && rc == 0; i++) {
		const Storesync__StoreInfo *si = w->req->stores[i];
		const char *action;

		/* An empty cell leaves the field as it is (NULL: keep), as the
		 * options store set does not give leave theirs. */
		rc = put_info(h, txn, w, si->store_id, si->name && *si->name ? si->name : NULL,
			si->region && *si->region ? si->region : NULL, PUT_UPSERT, r->now_ms, &action);
		counts[!strcmp(action, "added") ? 0 : !strcmp(action, "changed") ? 1 : 2]++;
	}
	if (rc != 0)
		return rc;
	snprintf(added, sizeof added, "%zu", counts[0]);
	snprintf(changed, sizeof changed, "%zu", counts[1]);
	snprintf(unchanged, sizeof unchanged, "%zu", counts[2]);
	hub_op_result(w, "added", added, "changed", changed, "unchanged", unchanged, NULL);
	return 0;
}

static void import_reply(struct hub *h, struct hub_work *w)
{
	for (size_t i = 0; !w->answer->reply.error && i < w->req->n_stores; i++)
		if (w->req->stores[i]->region && *w->req->stores[i]->region)
			hub_down_region(h, w->req->stores[i]->store_id, w->req->stores[i]->region);
	hub_op_reply(h, w);
}

const struct hub_handler hub_op_store_add = { "store add", store_admit, store_add_apply,
	store_reply };
const struct hub_handler hub_op_store_set = { "store set", store_admit, store_set_apply,
	store_reply };
const struct hub_handler hub_op_store_import = { "store import", import_admit, import_apply,
	import_reply };
