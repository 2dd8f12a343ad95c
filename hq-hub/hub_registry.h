/* hub_registry: the store registry (which stores the chain has, their names
 * and regions) and update targets (all stores, a region, a list). */
#ifndef HUB_REGISTRY_H
#define HUB_REGISTRY_H

#include "hub.h"

/* The registry entry of store_id, or NULL (not registered, or a storage
 * error). Free with storesync__store_info__free_unpacked. */
Storesync__StoreInfo *hub_registry_get(struct hub *h, MDB_txn *txn, const char *store_id);
int hub_registry_put(struct hub *h, MDB_txn *txn, const Storesync__StoreInfo *info);
/* The region of store_id into buf ("" when unregistered or without one). */
void hub_registry_region(struct hub *h, MDB_txn *txn, const char *store_id, char *buf,
	size_t len);

/* Regions: [A-Za-z0-9_-]{1,32}. 0 when valid. */
int hub_region_valid(const char *region);

/* 1 when the target includes the store (of that region). */
int hub_target_includes(const Storesync__Target *t, const char *store_id, const char *region);
/* Builds a target from hqctl's params ("stores" = "S1,S2", "region" = "R",
 * neither: all) into t (free with hub_target_clear), checking that each
 * named store is registered and that a region has at least one store.
 * Returns 0, or -1 with a reason. */
int hub_target_parse(struct hub *h, MDB_txn *txn, const char *stores, const char *region,
	Storesync__Target *t, char *err, size_t errlen);
void hub_target_clear(Storesync__Target *t);
/* Text for operators: "all", "region R", "stores S1,S2". */
void hub_target_text(const Storesync__Target *t, char *buf, size_t len);
/* Registered stores the target includes. */
uint32_t hub_target_count(struct hub *h, MDB_txn *txn, const Storesync__Target *t);

#endif
