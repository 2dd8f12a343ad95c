/* hub_updates: the update log (what HQ decided, in one global order), the
 * dated tables it feeds (prices and policy history), and the targets of
 * updates. See hub_updates.c for the invariants. */
#ifndef HUB_UPDATES_H
#define HUB_UPDATES_H

#include <uthash.h>

#include "hub.h"

/* Scopes of the update index: which stores an update is for. */
#define HUB_SCOPE_ALL "*"

/* Appends lu to the log in txn: assigns its update_id (written into
 * lu->update), indexes it by scope. 0 or an MDB/errno code. */
int hub_updates_append(struct hub *h, MDB_txn *txn, Storesync__LoggedUpdate *lu,
	int64_t now_ms);
/* The packed Update id as sent (after_id unset), valid for txn's life:
 * 0, or MDB_NOTFOUND when it is not in the log. */
int hub_updates_bytes(struct hub *h, MDB_txn *txn, uint64_t id, MDB_val *out);
/* Its head (kind, times, target: no body), or NULL; kept after the update
 * is pruned when it set dated values. Free with storesync__update_head__free_unpacked. */
Storesync__UpdateHead *hub_updates_head_get(struct hub *h, MDB_txn *txn, uint64_t id);
/* The same from the writer's cache (valid until the cache is cleared). */
const Storesync__UpdateHead *hub_update_head_cached(struct hub *h, MDB_txn *txn,
	struct hub_target_cache *c, uint64_t id);
/* The first update after after_id whose target includes (store, region), or 0. */
uint64_t hub_updates_next_for(struct hub *h, MDB_txn *txn, const char *store,
	const char *region, uint64_t after_id);
/* The newest update id (0: none), and the newest id pruned from the log. */
uint64_t hub_updates_head(struct hub *h, MDB_txn *txn);
uint64_t hub_updates_floor(struct hub *h, MDB_txn *txn);
/* Deletes updates older than keep_from_ms, at most max of them. */
int hub_updates_prune(struct hub *h, MDB_txn *txn, int64_t keep_from_ms, size_t max,
	size_t *pruned);
/* The hub's meta values (u64, 0 when absent). */
uint64_t hub_meta_get(struct hub *h, MDB_txn *txn, const char *name);
int hub_meta_put(struct hub *h, MDB_txn *txn, const char *name, uint64_t v);

/* Targets of updates, cached by update id for the writer (the cache is the
 * writer's, h->tcache; query threads pass NULL). */
void hub_target_cache_clear(struct hub_target_cache *c);
/* 1 when update id's target includes (store, region), 0 when not or when
 * the update is gone. */
int hub_update_includes(struct hub *h, MDB_txn *txn, struct hub_target_cache *c, uint64_t id,
	const char *store, const char *region);

/* ---- dated values: "prices" (name = SKU) and "policy_history" ---- */

struct hub_dated {
	int64_t value;
	char label[130];           /* the article name of a price */
	int64_t effective_ms, created_ms;
	uint64_t update_id;
};

int hub_dated_put(MDB_txn *txn, MDB_dbi dbi, const char *name, int64_t effective_ms,
	uint64_t update_id, int64_t value, const char *label, int64_t created_ms);
/* The value of name in force for (store, region) at at_ms, counting only
 * entries HQ issued at or before issued_by_ms (INT64_MAX: all). store NULL:
 * only entries for all stores. Returns 1 and fills *out, 0 when none, or a
 * negative code. */
int hub_dated_find(struct hub *h, MDB_txn *txn, struct hub_target_cache *c, MDB_dbi dbi,
	const char *name, const char *store, const char *region, int64_t at_ms,
	int64_t issued_by_ms, struct hub_dated *out);
/* Calls fn for every entry of name, oldest first. */
int hub_dated_each(MDB_txn *txn, MDB_dbi dbi, const char *name,
	int (*fn)(void *arg, const struct hub_dated *d), void *arg);

#endif
