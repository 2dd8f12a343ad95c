/* hub_registry: the store registry and update targets. The registry is
 * written only by operators (through the writer) and read by every rule
 * that needs a store's region: which updates it receives, which price and
 * policy are in force for it. A store that connects without being
 * registered still syncs (its records count) and receives updates for all
 * stores; it is listed as unregistered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_registry.h"
#include "ss_validate.h"

#define TARGET_MAX_STORES 10000

Storesync__StoreInfo *hub_registry_get(struct hub *h, MDB_txn *txn, const char *store_id)
{
	MDB_val k = { strlen(store_id), (void *)store_id }, d;

	if (mdb_get(txn, h->registry, &k, &d) != 0)
		return NULL;
	return storesync__store_info__unpack(NULL, d.mv_size, d.mv_data);
}

int hub_registry_put(struct hub *h, MDB_txn *txn, const Storesync__StoreInfo *info)
{
	return hub_view_put(txn, h->registry, info->store_id, strlen(info->store_id), &info->base);
}

void hub_registry_region(struct hub *h, MDB_txn *txn, const char *store_id, char *buf,
	size_t len)
{
	Storesync__StoreInfo *si = hub_registry_get(h, txn, store_id);

	snprintf(buf, len, "%s", si && si->region ? si->region : "");
	if (si)
		storesync__store_info__free_unpacked(si, NULL);
}

int hub_region_valid(const char *region)
{
	return ss_validate_region(region);
}

int hub_target_includes(const Storesync__Target *t, const char *store_id, const char *region)
{
	if (!t || t->all)
		return 1;
	if (t->region)
		return region && strcmp(t->region, region) == 0;
	for (size_t i = 0; i < t->n_stores; i++)
		if (strcmp(t->stores[i], store_id) == 0)
			return 1;
	return 0;
}

void hub_target_clear(Storesync__Target *t)
{
	free(t->region);
	for (size_t i = 0; i < t->n_stores; i++)
		free(t->stores[i]);
	free(t->stores);
	storesync__target__init(t);
}

static int add_store(struct hub *h, MDB_txn *txn, Storesync__Target *t, const char *id,
	size_t len, char *err, size_t errlen)
{
	char store[40];
	Storesync__StoreInfo *si;
	char **arr;

	if (len == 0 || len > 32) {
		snprintf(err, errlen, "--stores: empty or over-long store id");
		return -1;
	}
	memcpy(store, id, len);
	store[len] = '\0';
	if (ss_validate_store_id(store) != 0) {
		snprintf(err, errlen, "--stores: \"%s\" is not a store id", store);
		return -1;
	}
	if (!(si = hub_registry_get(h, txn, store))) {
		snprintf(err, errlen, "--stores: store %s is not registered (hqctl store add)", store);
		return -1;
	}
	storesync__store_info__free_unpacked(si, NULL);
	for (size_t i = 0; i < t->n_stores; i++)
		if (strcmp(t->stores[i], store) == 0)
			return 0;
	if (t->n_stores == TARGET_MAX_STORES) {
		snprintf(err, errlen, "--stores: more than %d stores (use a region)", TARGET_MAX_STORES);
		return -1;
	}
	arr = realloc(t->stores, (t->n_stores + 1) * sizeof *arr);
	if (!arr || !(arr[t->n_stores] = strdup(store))) {
		if (arr)
			t->stores = arr;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->stores = arr;
	t->n_stores++;
	return 0;
}

int hub_target_parse(struct hub *h, MDB_txn *txn, const char *stores, const char *region,
	Storesync__Target *t, char *err, size_t errlen)
{
	storesync__target__init(t);
	if (stores && region) {
		snprintf(err, errlen, "give --stores or --region, not both");
		return -1;
	}
	if (region) {
		if (hub_region_valid(region) != 0) {
			snprintf(err, errlen, "--region: \"%.40s\" is not a region name "
				"([A-Za-z0-9_-]{1,32})", region);
			return -1;
		}
		t->region = strdup(region);
		if (hub_target_count(h, txn, t) == 0) {
			snprintf(err, errlen, "--region: no registered store is in region %s", region);
			hub_target_clear(t);
			return -1;
		}
		return 0;
	}
	if (!stores) {
		t->all = 1;
		t->has_all = 1;
		return 0;
	}
	for (const char *p = stores; ; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (add_store(h, txn, t, p, len, err, errlen) != 0) {
			hub_target_clear(t);
			return -1;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

void hub_target_text(const Storesync__Target *t, char *buf, size_t len)
{
	size_t n;

	if (!t || t->all || (!t->region && t->n_stores == 0)) {
		snprintf(buf, len, "all");
		return;
	}
	if (t->region) {
		snprintf(buf, len, "region %s", t->region);
		return;
	}
	n = (size_t)snprintf(buf, len, "stores ");
	for (size_t i = 0; i < t->n_stores && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "", t->stores[i]);
}

uint32_t hub_target_count(struct hub *h, MDB_txn *txn, const Storesync__Target *t)
{
	MDB_cursor *cur;
	MDB_val k, d;
	uint32_t n = 0;

	if (t && !t->all && !t->region)
		return (uint32_t)t->n_stores;
	if (mdb_cursor_open(txn, h->registry, &cur) != 0)
		return 0;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		Storesync__StoreInfo *si = storesync__store_info__unpack(NULL, d.mv_size, d.mv_data);

		if (si && (!t || t->all || (si->region && strcmp(si->region, t->region) == 0)))
			n++;
		if (si)
			storesync__store_info__free_unpacked(si, NULL);
	}
	mdb_cursor_close(cur);
	return n;
}
