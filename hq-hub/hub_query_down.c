/* hub_query_down: operators' queries about what HQ decided and how far it
 * has reached the stores: the registry, policies and prices in force (for a
 * store, at a moment), rollout status per update, collection notices,
 * replenishment requests and price mismatches. Read transactions only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "hub_registry.h"
#include "hub_updates.h"
#include "ss_time.h"

/* "default", or the target of the update that set a value. */
static void scope_of(struct hub *h, MDB_txn *txn, uint64_t update_id, char *buf, size_t len)
{
	Storesync__LoggedUpdate *lu = update_id ? hub_updates_get(h, txn, update_id) : NULL;

	if (!update_id)
		snprintf(buf, len, "default");
	else
		hub_target_text(lu ? lu->target : NULL, buf, len);
	if (lu)
		storesync__logged_update__free_unpacked(lu, NULL);
}

/* ---- policy show [--store S] [--at T] ---- */

void query_policy(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "name", "value", "unit", "scope", "effective_ms",
		"update_id", "range" };
	char region[40] = "", scope[160], range[64];

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	if (a->store)
		hub_registry_region(h, txn, a->store, region, sizeof region);
	for (int i = 0; i < SS_POL_N; i++) {
		const struct ss_policy_def *def = ss_policy_def((enum ss_policy_id)i);
		struct hub_dated d = { .value = def->def };
		Storesync__Row *row = table_row(t);

		if (!row)
			return;
		if (hub_dated_find(h, txn, NULL, h->policy_history, def->name, a->store, region,
			a->at_ms, INT64_MAX, &d) != 1)
			d = (struct hub_dated){ .value = def->def };
		scope_of(h, txn, d.update_id, scope, sizeof scope);
		snprintf(range, sizeof range, "%" PRId64 "..%" PRId64, def->min, def->max);
		cell_str(row, def->name);
		cell_int(row, d.value);
		cell_str(row, def->unit);
		cell_str(row, scope);
		cell_int(row, d.effective_ms);
		cell_int(row, (int64_t)d.update_id);
		cell_str(row, range);
	}
}
