/* hub_dump: every view and the event log as (view, key, value) rows, in key
 * order, values as canonical JSON. Two hubs that applied the same records
 * give byte-identical dumps whatever the interleaving (guarantee 4); the
 * determinism test compares them. Fields that record when the hub heard
 * something (last seen, heartbeat figures) are left out: they are about the
 * link, not the records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "ss_json.h"

static void key_text(const MDB_val *k, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = k->mv_data;
	size_t j = 0;

	for (size_t i = 0; i < k->mv_size && j + 3 < len; i++) {
		buf[j++] = hex[p[i] >> 4];
		buf[j++] = hex[p[i] & 15];
	}
	buf[j] = '\0';
}

/* The deterministic part of a store's state. */
static ProtobufCMessage *store_core(const Storesync__StoreState *s)
{
	Storesync__StoreState *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	storesync__store_state__init(c);
	c->store_id = strdup(s->store_id ? s->store_id : "");
	c->epoch = s->epoch;
	c->has_epoch = 1;
	c->high_water_seq = s->high_water_seq;
	c->has_high_water_seq = 1;
	c->records = s->records;
	c->has_records = 1;
	c->amount_fen = s->amount_fen;
	c->has_amount_fen = 1;
	c->refused = s->refused;
	c->has_refused = 1;
	return &c->base;
}

static void dump_db(MDB_txn *txn, MDB_dbi dbi, const char *view,
	const ProtobufCMessageDescriptor *desc, struct table *t)
{
	MDB_cursor *cur;
	MDB_val k, d;
	char key[600];

	mdb_cursor_open(txn, dbi, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		ProtobufCMessage *m = desc ? protobuf_c_message_unpack(desc, NULL, d.mv_size, d.mv_data)
			: NULL;
		Storesync__Row *row = table_row(t);
		char *value = NULL;

		if (m && desc == &storesync__store_state__descriptor) {
			ProtobufCMessage *core = store_core((Storesync__StoreState *)m);

			protobuf_c_message_free_unpacked(m, NULL);
			m = core;
		}
		if (m) {
			json_t *j = ss_json_from_message(m);

			value = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(j);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		key_text(&k, key, sizeof key);
		if (row) {
			cell_str(row, view);
			cell_str(row, key);
			cell_str(row, value ? value : "");
		}
		free(value);
	}
	mdb_cursor_close(cur);
}

void query_dump(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "view", "key", "value" };
	const struct { const char *name; MDB_dbi dbi; const ProtobufCMessageDescriptor *desc; } v[] = {
		{ "stores", h->stores, &storesync__store_state__descriptor },
		{ "events", h->events, &storesync__record__descriptor },
		{ "sales", h->sales, &storesync__sales_day__descriptor },
		{ "inventory", h->inventory, &storesync__inventory_item__descriptor },
		{ "cases", h->cases, &storesync__case_view__descriptor },
		{ "case_due", h->case_due, NULL },
		{ "accounts", h->accounts, &storesync__account_view__descriptor },
		{ "account_due", h->account_due, NULL },
		{ "policy", h->policy, &storesync__policy_value__descriptor },
	};

	(void)a;
	table_init(t, cols, 3);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		dump_db(txn, v[i].dbi, v[i].name, v[i].desc, t);
}
