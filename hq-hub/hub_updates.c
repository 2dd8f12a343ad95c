/* hub_updates: the update log and the dated tables.
 *
 * Invariants:
 *  - Update ids only grow, and never fall below the hub's clock in ms when
 *    issued: a hub restored from an older backup (whose newest ids are
 *    behind what stores have applied) still issues ids above everything any
 *    store has seen, so no store skips a new update as "already applied".
 *  - An update, its scope index entries and the dated values it sets are
 *    written in the same transaction as the operator's write that made it.
 *  - The scope index (scope '\0' id) lets a store find its next update in
 *    three seeks (all stores, its region, itself), whatever the number of
 *    updates for other stores in between.
 *  - Dated values: the value in force at T is the entry with the greatest
 *    (effective_ms, update_id) among those with effective_ms <= T whose
 *    update targets the store; entries are never edited, a change is a new
 *    entry. So the answer depends only on what HQ issued and on T. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_registry.h"
#include "hub_updates.h"
#include "ss_time.h"

#define SCOPE_KEY_MAX (2 + 32 + 1 + 8)
#define DATED_NAME_MAX 64

/* ---- meta ---- */

uint64_t hub_meta_get(struct hub *h, MDB_txn *txn, const char *name)
{
	MDB_val k = { strlen(name), (void *)name }, d;

	if (mdb_get(txn, h->hub_meta, &k, &d) != 0 || d.mv_size != 8)
		return 0;
	return ss_be64_get(d.mv_data);
}

int hub_meta_put(struct hub *h, MDB_txn *txn, const char *name, uint64_t v)
{
	uint8_t buf[8];
	MDB_val k = { strlen(name), (void *)name }, d = { 8, buf };

	ss_be64_put(buf, v);
	return mdb_put(txn, h->hub_meta, &k, &d, 0);
}

/* ---- the log ---- */

static size_t scope_key(uint8_t *key, char kind, const char *name, uint64_t id)
{
	size_t n = 0;

	if (kind == '*') {
		key[n++] = '*';
	} else {
		size_t len = strlen(name);

		key[n++] = (uint8_t)kind;
		key[n++] = ':';
		memcpy(key + n, name, len);
		n += len;
	}
	key[n++] = '\0';
	ss_be64_put(key + n, id);
	return n + 8;
}

static int index_put(struct hub *h, MDB_txn *txn, char kind, const char *name, uint64_t id)
{
	uint8_t key[SCOPE_KEY_MAX];
	MDB_val k = { scope_key(key, kind, name, id), key }, d = { 0, "" };

	return mdb_put(txn, h->upd_scope, &k, &d, 0);
}

static int index_target(struct hub *h, MDB_txn *txn, const Storesync__Target *t, uint64_t id)
{
	int rc = 0;

	if (!t || t->all || (!t->region && t->n_stores == 0))
		return index_put(h, txn, '*', NULL, id);
	if (t->region)
		return index_put(h, txn, 'r', t->region, id);
	for (size_t i = 0; i < t->n_stores && rc == 0; i++)
		rc = index_put(h, txn, 's', t->stores[i], id);
	return rc;
}

static const char *kind_of(const Storesync__Update *u)
{
	switch (u->body_case) {
	case STORESYNC__UPDATE__BODY_PRICES: return "price";
	case STORESYNC__UPDATE__BODY_POLICIES: return "policy";
	case STORESYNC__UPDATE__BODY_NOTICE: return "notice";
	case STORESYNC__UPDATE__BODY_DECISION: return "decision";
	default: return "other";
	}
}

static int put_head(struct hub *h, MDB_txn *txn, const Storesync__LoggedUpdate *lu,
	const uint8_t *key)
{
	const Storesync__Update *u = lu->update;
	Storesync__UpdateHead head = STORESYNC__UPDATE_HEAD__INIT;

	head.update_id = u->update_id;
	head.has_update_id = 1;
	head.kind = (char *)kind_of(u);
	head.created_ms = u->created_ms;
	head.has_created_ms = 1;
	head.effective_ms = u->body_case == STORESYNC__UPDATE__BODY_PRICES ? u->prices->effective_ms
		: u->body_case == STORESYNC__UPDATE__BODY_POLICIES ? u->policies->effective_ms
		: u->created_ms;
	head.has_effective_ms = 1;
	head.entries = lu->entries;
	head.has_entries = 1;
	head.targeted = lu->targeted;
	head.has_targeted = 1;
	head.target = lu->target;
	return hub_view_put(txn, h->update_heads, key, 8, &head.base);
}

int hub_updates_append(struct hub *h, MDB_txn *txn, Storesync__LoggedUpdate *lu,
	int64_t now_ms)
{
	uint64_t id = hub_meta_get(h, txn, "next_update_id");
	uint8_t key[8];
	int rc;

	if (now_ms > 0 && (uint64_t)now_ms > id)
		id = (uint64_t)now_ms;
	if (id == 0)
		id = 1;
	lu->update->update_id = id;
	lu->update->has_update_id = 1;
	lu->update->created_ms = now_ms;
	lu->update->has_created_ms = 1;
	ss_be64_put(key, id);
	/* The log keeps the Update as it is sent (bytes the pump copies out);
	 * the head keeps what else is asked about it. */
	if ((rc = hub_view_put(txn, h->updates, key, 8, &lu->update->base)) != 0
		|| (rc = put_head(h, txn, lu, key)) != 0)
		return rc;
	if ((rc = index_target(h, txn, lu->target, id)) != 0)
		return rc;
	return hub_meta_put(h, txn, "next_update_id", id + 1);
}

Storesync__UpdateHead *hub_updates_head_get(struct hub *h, MDB_txn *txn, uint64_t id)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;

	ss_be64_put(key, id);
	if (mdb_get(txn, h->update_heads, &k, &d) != 0)
		return NULL;
	return storesync__update_head__unpack(NULL, d.mv_size, d.mv_data);
}

int hub_updates_bytes(struct hub *h, MDB_txn *txn, uint64_t id, MDB_val *out)
{
	uint8_t key[8];
	MDB_val k = { 8, key };

	ss_be64_put(key, id);
	return mdb_get(txn, h->updates, &k, out);
}

/* The first id in scope after after_id, or UINT64_MAX. */
static uint64_t scope_next(struct hub *h, MDB_txn *txn, char kind, const char *name,
	uint64_t after_id)
{
	uint8_t key[SCOPE_KEY_MAX];
	size_t klen = scope_key(key, kind, name, after_id + 1);
	MDB_val k = { klen, key }, d;
	MDB_cursor *cur;
	uint64_t id = UINT64_MAX;

	if (after_id == UINT64_MAX || mdb_cursor_open(txn, h->upd_scope, &cur) != 0)
		return UINT64_MAX;
	if (mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE) == 0 && k.mv_size == klen
		&& memcmp(k.mv_data, key, klen - 8) == 0)
		id = ss_be64_get((const uint8_t *)k.mv_data + klen - 8);
	mdb_cursor_close(cur);
	return id;
}

uint64_t hub_updates_next_for(struct hub *h, MDB_txn *txn, const char *store,
	const char *region, uint64_t after_id)
{
	uint64_t id = scope_next(h, txn, '*', NULL, after_id), other;

	if (store && (other = scope_next(h, txn, 's', store, after_id)) < id)
		id = other;
	if (region && region[0] && (other = scope_next(h, txn, 'r', region, after_id)) < id)
		id = other;
	return id == UINT64_MAX ? 0 : id;
}

uint64_t hub_updates_head(struct hub *h, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t id = 0;

	if (mdb_cursor_open(txn, h->update_heads, &cur) != 0)
		return 0;
	if (mdb_cursor_get(cur, &k, &d, MDB_LAST) == 0 && k.mv_size == 8)
		id = ss_be64_get(k.mv_data);
	mdb_cursor_close(cur);
	return id;
}

uint64_t hub_updates_floor(struct hub *h, MDB_txn *txn)
{
	return hub_meta_get(h, txn, "log_floor");
}

static int unindex(struct hub *h, MDB_txn *txn, const Storesync__UpdateHead *head)
{
	const Storesync__Target *t = head->target;
	uint64_t id = head->update_id;
	uint8_t key[SCOPE_KEY_MAX];
	MDB_val k, d;
	int rc = 0;

	k.mv_data = key;
	if (!t || t->all || (!t->region && t->n_stores == 0)) {
		k.mv_size = scope_key(key, '*', NULL, id);
		rc = mdb_del(txn, h->upd_scope, &k, NULL);
	} else if (t->region) {
		k.mv_size = scope_key(key, 'r', t->region, id);
		rc = mdb_del(txn, h->upd_scope, &k, NULL);
	} else {
		for (size_t i = 0; i < t->n_stores && (rc == 0 || rc == MDB_NOTFOUND); i++) {
			k.mv_size = scope_key(key, 's', t->stores[i], id);
			rc = mdb_del(txn, h->upd_scope, &k, NULL);
		}
	}
	(void)d;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A pruned update leaves the log and its place in the scope index (a
 * store behind the floor gets a snapshot instead). A price or policy
 * update keeps its head: the dated values it set still need its target. */
static int strip(struct hub *h, MDB_txn *txn, const Storesync__UpdateHead *head)
{
	uint8_t key[8];
	MDB_val k = { 8, key };
	int rc, dated = head->kind && (!strcmp(head->kind, "price") || !strcmp(head->kind, "policy"));

	ss_be64_put(key, head->update_id);
	if ((rc = mdb_del(txn, h->updates, &k, NULL)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	return dated ? 0 : mdb_del(txn, h->update_heads, &k, NULL);
}

/* The first head with an id above after_id, or NULL. */
static Storesync__UpdateHead *first_after(struct hub *h, MDB_txn *txn, uint64_t after_id)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;
	MDB_cursor *cur;
	Storesync__UpdateHead *head = NULL;

	ss_be64_put(key, after_id + 1);
	if (mdb_cursor_open(txn, h->update_heads, &cur) != 0)
		return NULL;
	if (mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE) == 0)
		head = storesync__update_head__unpack(NULL, d.mv_size, d.mv_data);
	mdb_cursor_close(cur);
	return head;
}

int hub_updates_prune(struct hub *h, MDB_txn *txn, int64_t keep_from_ms, size_t max,
	size_t *pruned)
{
	uint64_t floor = hub_updates_floor(h, txn);
	int rc = 0;

	*pruned = 0;
	while (*pruned < max && rc == 0) {
		/* Re-sought every time: strip() rewrites the heads. */
		Storesync__UpdateHead *head = first_after(h, txn, floor);

		if (!head || head->created_ms >= keep_from_ms) {
			if (head)
				storesync__update_head__free_unpacked(head, NULL);
			break;
		}
		if ((rc = unindex(h, txn, head)) == 0 && (rc = strip(h, txn, head)) == 0) {
			floor = head->update_id;
			(*pruned)++;
		}
		storesync__update_head__free_unpacked(head, NULL);
	}
	if (rc != 0)
		return rc;
	return *pruned ? hub_meta_put(h, txn, "log_floor", floor) : 0;
}

/* ---- targets, cached ---- */

struct hub_target_entry {
	UT_hash_handle hh;
	uint64_t id;
	Storesync__UpdateHead *head;   /* NULL: the update is unknown */
};

void hub_target_cache_clear(struct hub_target_cache *c)
{
	struct hub_target_entry *e, *tmp;

	HASH_ITER(hh, c->by_id, e, tmp) {
		HASH_DEL(c->by_id, e);
		if (e->head)
			storesync__update_head__free_unpacked(e->head, NULL);
		free(e);
	}
}

const Storesync__UpdateHead *hub_update_head_cached(struct hub *h, MDB_txn *txn,
	struct hub_target_cache *c, uint64_t id)
{
	struct hub_target_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof id, e);
	if (e)
		return e->head;
	if (!(e = calloc(1, sizeof *e)))
		return NULL;
	e->id = id;
	e->head = hub_updates_head_get(h, txn, id);
	HASH_ADD(hh, c->by_id, id, sizeof e->id, e);
	return e->head;
}

int hub_update_includes(struct hub *h, MDB_txn *txn, struct hub_target_cache *c, uint64_t id,
	const char *store, const char *region)
{
	Storesync__UpdateHead *own = NULL;
	const Storesync__UpdateHead *head = c ? hub_update_head_cached(h, txn, c, id)
		: (own = hub_updates_head_get(h, txn, id));
	int in = 0;

	if (head)
		in = store ? hub_target_includes(head->target, store, region)
			: (!head->target || head->target->all);
	if (own)
		storesync__update_head__free_unpacked(own, NULL);
	return in;
}

/* ---- dated values ---- */

static size_t dated_key(uint8_t *key, const char *name, int64_t eff, uint64_t uid)
{
	size_t n = strlen(name);

	memcpy(key, name, n);
	key[n] = '\0';
	ss_be64_put(key + n + 1, (uint64_t)eff);
	ss_be64_put(key + n + 9, uid);
	return n + 17;
}

int hub_dated_put(MDB_txn *txn, MDB_dbi dbi, const char *name, int64_t effective_ms,
	uint64_t update_id, int64_t value, const char *label, int64_t created_ms)
{
	Storesync__DatedValue v = STORESYNC__DATED_VALUE__INIT;
	uint8_t key[DATED_NAME_MAX + 17];

	if (strlen(name) > DATED_NAME_MAX || effective_ms < 0)
		return EINVAL;
	v.value = value;
	v.has_value = 1;
	v.name = label && label[0] ? (char *)label : NULL;
	v.created_ms = created_ms;
	v.has_created_ms = 1;
	return hub_view_put(txn, dbi, key, dated_key(key, name, effective_ms, update_id), &v.base);
}

static int parse_dated(const MDB_val *k, const MDB_val *d, size_t nlen, struct hub_dated *out)
{
	Storesync__DatedValue *v;

	if (k->mv_size != nlen + 17)
		return -1;
	if (!(v = storesync__dated_value__unpack(NULL, d->mv_size, d->mv_data)))
		return -1;
	out->value = v->value;
	snprintf(out->label, sizeof out->label, "%s", v->name ? v->name : "");
	out->created_ms = v->created_ms;
	out->effective_ms = (int64_t)ss_be64_get((const uint8_t *)k->mv_data + nlen + 1);
	out->update_id = ss_be64_get((const uint8_t *)k->mv_data + nlen + 9);
	storesync__dated_value__free_unpacked(v, NULL);
	return 0;
}

int hub_dated_find(struct hub *h, MDB_txn *txn, struct hub_target_cache *c, MDB_dbi dbi,
	const char *name, const char *store, const char *region, int64_t at_ms,
	int64_t issued_by_ms, struct hub_dated *out)
{
	uint8_t key[DATED_NAME_MAX + 17];
	size_t nlen = strlen(name);
	MDB_val k, d;
	MDB_cursor *cur;
	int rc, found = 0;

	if (nlen > DATED_NAME_MAX || at_ms < 0)
		return 0;
	k.mv_size = dated_key(key, name, at_ms, UINT64_MAX);
	k.mv_data = key;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return -rc;
	/* The first entry after (name, at_ms, max), then back from there. */
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	rc = mdb_cursor_get(cur, &k, &d, rc == 0 ? MDB_PREV : MDB_LAST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		struct hub_dated e;

		if (k.mv_size < nlen + 1 || memcmp(k.mv_data, name, nlen) != 0
			|| ((const uint8_t *)k.mv_data)[nlen] != '\0')
			break;
		if (parse_dated(&k, &d, nlen, &e) != 0 || e.created_ms > issued_by_ms)
			continue;
		if (hub_update_includes(h, txn, c, e.update_id, store, region) == 1) {
			*out = e;
			found = 1;
			break;
		}
	}
	mdb_cursor_close(cur);
	return found;
}

int hub_dated_each(MDB_txn *txn, MDB_dbi dbi, const char *name,
	int (*fn)(void *arg, const struct hub_dated *d), void *arg)
{
	uint8_t key[DATED_NAME_MAX + 17];
	size_t nlen = strlen(name);
	MDB_val k = { nlen + 1, key }, d;
	MDB_cursor *cur;
	int rc;

	if (nlen > DATED_NAME_MAX)
		return 0;
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct hub_dated e;

		if (k.mv_size < nlen + 1 || memcmp(k.mv_data, key, nlen + 1) != 0)
			break;
		if (parse_dated(&k, &d, nlen, &e) == 0 && (rc = fn(arg, &e)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the writer's log pruning, on a timer ---- */

#include "hub_work.h"

#define PRUNE_PER_ROUND 10000

static int prune_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	size_t pruned = 0;
	int rc = hub_updates_prune(h, txn, r->now_ms - h->cfg.update_retention_days * SS_DAY_MS,
		PRUNE_PER_ROUND, &pruned);

	w->through = pruned;
	return rc;
}

static void prune_reply(struct hub *h, struct hub_work *w)
{
	if (w->through)
		ss_info("update log: pruned %llu updates older than %lld days (stores further "
			"behind get a snapshot)", (unsigned long long)w->through,
			(long long)h->cfg.update_retention_days);
}

const struct hub_handler hub_handle_log_prune = { "log prune", NULL, prune_apply, prune_reply };
