/* hub_dump: every database the table of databases marks for dumping, as
 * (view, key, value) rows, in key order, values as canonical JSON. Two hubs
 * that applied the same records give byte-identical dumps whatever the
 * interleaving (guarantee 4); the determinism test compares them. Fields
 * that record when the hub heard something (last seen, heartbeat figures)
 * are left out (each database's dump_value): they are about the link, not
 * the records. */
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

static void dump_db(MDB_txn *txn, MDB_dbi dbi, const struct hub_db_def *def, struct table *t)
{
	const ProtobufCMessageDescriptor *desc = def->desc;
	MDB_cursor *cur;
	MDB_val k, d;
	char key[600];

	mdb_cursor_open(txn, dbi, &cur);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		ProtobufCMessage *m = desc ? protobuf_c_message_unpack(desc, NULL, d.mv_size, d.mv_data)
			: NULL;
		Storesync__Row *row = table_row(t);
		char *value = NULL;

		if (m && def->dump_value) {
			ProtobufCMessage *part = def->dump_value(m);

			protobuf_c_message_free_unpacked(m, NULL);
			m = part;
		}
		if (m) {
			json_t *j = ss_json_from_message(m);

			value = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(j);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		key_text(&k, key, sizeof key);
		if (row) {
			cell_str(row, def->name);
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

	(void)a;
	table_init(t, cols, 3);
	for (size_t i = 0; i < hub_n_dbs; i++)
		if (hub_dbs[i].dump)
			dump_db(txn, *hub_db_dbi(h, &hub_dbs[i]), &hub_dbs[i], t);
}
