/* test_price_wire: a price list read in place (store-agent/agent_price_wire.c)
 * is stored byte for byte as the same list unpacked by protobuf-c
 * (prices_put_list), whatever its entries (in SKU order as the hub sends
 * them, or unsorted, a SKU twice, invalid
 * SKUs, prices out of range or missing, names empty, absent, 255 and 256
 * bytes); and every message not in the form the hub sends (another kind,
 * an unknown field, a field protobuf would merge, a NUL in a string, bytes
 * cut) is left to the general path: price_wire_read says 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "testlib.h"

#define NOW_MS 1700000000000LL

struct packed {
	uint8_t *buf;
	size_t len;
};

/* A LinkMessage holding u, packed as the hub sends it: the Update's bytes,
 * then after_id (hub_downstream.c's send_packed). */
static struct packed pack_link(Storesync__Update *u)
{
	uint64_t after = u->after_id;
	struct packed p;
	uint8_t *ub, tail[11];
	size_t ulen, tlen = 0, hlen;

	u->has_after_id = 0;
	u->after_id = 0;
	ub = ss_proto_pack(&u->base, &ulen);
	ck_assert_ptr_nonnull(ub);
	tail[tlen++] = 0x10;
	tlen += ss_proto_varint_put(tail + tlen, after);
	p.buf = malloc(4 + SS_PROTO_LEN_HEAD_MAX + ulen + tlen);
	p.buf[0] = 0x08;   /* proto_version 1 */
	p.buf[1] = 0x01;
	hlen = 2 + ss_proto_len_head_put(p.buf + 2, 9, ulen + tlen);
	memcpy(p.buf + hlen, ub, ulen);
	memcpy(p.buf + hlen + ulen, tail, tlen);
	p.len = hlen + ulen + tlen;
	free(ub);
	u->after_id = after;
	u->has_after_id = 1;
	return p;
}

static void add_entry(Storesync__Update *u, const char *sku, int has_price, int64_t fen,
	const char *name)
{
	Storesync__PriceList *pl = u->prices;
	Storesync__PriceEntry *e = calloc(1, sizeof *e);

	storesync__price_entry__init(e);
	e->sku = sku ? strdup(sku) : NULL;
	e->has_price_fen = has_price;
	e->price_fen = fen;
	e->name = name ? strdup(name) : NULL;
	pl->prices = realloc(pl->prices, (pl->n_prices + 1) * sizeof *pl->prices);
	pl->prices[pl->n_prices++] = e;
}

static Storesync__Update *price_list(uint64_t id, uint64_t after, int64_t eff)
{
	Storesync__Update *u = tl_update(id, after);
	Storesync__PriceList *pl = calloc(1, sizeof *pl);

	storesync__price_list__init(pl);
	pl->effective_ms = eff;
	pl->has_effective_ms = 1;
	u->body_case = STORESYNC__UPDATE__BODY_PRICES;
	u->prices = pl;
	u->created_ms = NOW_MS - 5;
	u->has_created_ms = 1;
	return u;
}

static void open_db(struct agent_db *db, char *dir)
{
	char err[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg(agent_db_open(db, dir, 1 << 28, err, sizeof err) == 0, "%s", err);
}

static void close_db(struct agent_db *db, const char *dir)
{
	char cmd[300];

	agent_db_close(db);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct put_arg {
	struct agent_db *db;
	const Storesync__Update *u;   /* unpacked, or NULL: w */
	const struct price_wire *w;
	size_t skipped;
};

static int put_body(MDB_txn *txn, void *arg)
{
	struct put_arg *a = arg;
	const Storesync__PriceList *pl = a->u ? a->u->prices : NULL;

	if (pl)
		return prices_put_list(a->db, txn, pl->effective_ms, a->u->update_id, pl->prices,
			pl->n_prices, NOW_MS, &a->skipped);
	return prices_put_wire(a->db, txn, a->w, NOW_MS, &a->skipped);
}

static size_t put(struct agent_db *db, const Storesync__Update *u, const struct price_wire *w)
{
	struct put_arg a = { db, u, w, 0 };
	char err[256];

	ck_assert_msg(ss_lmdb_write(&db->lmdb, put_body, &a, err, sizeof err) == 0, "%s", err);
	return a.skipped;
}

/* Every key and value of the two price tables, the same bytes. */
static void same_tables(struct agent_db *x, struct agent_db *y)
{
	MDB_txn *tx, *ty;
	MDB_cursor *cx, *cy;
	MDB_val kx, vx, ky, vy;
	int rx, ry, n = 0;

	ck_assert_int_eq(ss_lmdb_read_begin(&x->lmdb, &tx), 0);
	ck_assert_int_eq(ss_lmdb_read_begin(&y->lmdb, &ty), 0);
	ck_assert_int_eq(mdb_cursor_open(tx, x->prices, &cx), 0);
	ck_assert_int_eq(mdb_cursor_open(ty, y->prices, &cy), 0);
	for (rx = mdb_cursor_get(cx, &kx, &vx, MDB_FIRST), ry = mdb_cursor_get(cy, &ky, &vy,
		MDB_FIRST); rx == 0 && ry == 0; rx = mdb_cursor_get(cx, &kx, &vx, MDB_NEXT),
		ry = mdb_cursor_get(cy, &ky, &vy, MDB_NEXT), n++) {
		ck_assert_uint_eq(kx.mv_size, ky.mv_size);
		ck_assert_int_eq(memcmp(kx.mv_data, ky.mv_data, kx.mv_size), 0);
		ck_assert_uint_eq(vx.mv_size, vy.mv_size);
		ck_assert_msg(memcmp(vx.mv_data, vy.mv_data, vx.mv_size) == 0, "list %d differs", n);
	}
	ck_assert_int_eq(rx, MDB_NOTFOUND);
	ck_assert_int_eq(ry, MDB_NOTFOUND);
	ck_assert_int_gt(n, 0);
	mdb_cursor_close(cx);
	mdb_cursor_close(cy);
	ss_lmdb_read_end(&x->lmdb, tx);
	ss_lmdb_read_end(&y->lmdb, ty);
}

/* Reads p in place and applies it to x, unpacks it and applies it to y. */
static void both_ways(struct agent_db *x, struct agent_db *y, const struct packed *p,
	size_t entries)
{
	Storesync__LinkMessage *m = (Storesync__LinkMessage *)ss_proto_unpack(
		&storesync__link_message__descriptor, p->buf, p->len, SS_MAX_MSG_BYTES);
	struct price_wire w;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(price_wire_read(p->buf, p->len, &w), 1);
	ck_assert_uint_eq(w.n, entries);
	ck_assert_uint_eq(w.update_id, m->update->update_id);
	ck_assert_uint_eq(w.after_id, m->update->after_id);
	ck_assert_int_eq(w.created_ms, m->update->created_ms);
	ck_assert_int_eq(w.effective_ms, m->update->prices->effective_ms);
	ck_assert_uint_eq(put(x, NULL, &w), put(y, m->update, NULL));
	storesync__link_message__free_unpacked(m, NULL);
}

START_TEST(list_read_in_place_is_stored_as_unpacked)
{
	struct agent_db x, y;
	char dx[] = "/tmp/ss-wire-x.XXXXXX", dy[] = "/tmp/ss-wire-y.XXXXXX";
	char long_name[257], sku[24];
	struct packed p;
	Storesync__Update *u;

	open_db(&x, dx);
	open_db(&y, dy);
	memset(long_name, 'n', 256);
	long_name[256] = '\0';
	/* Odd entries, in no order, in force now. */
	u = price_list(10, 0, NOW_MS - 1000);
	add_entry(u, "SOFA-3S", 1, 459900, "Sofa, three seats");
	add_entry(u, "LAMP-1", 1, 12900, NULL);
	add_entry(u, "LAMP-1", 1, 13900, "again");        /* a SKU twice: one is kept */
	add_entry(u, "chair", 1, 100, "lower case");       /* not a SKU: skipped */
	add_entry(u, NULL, 1, 100, "no sku");
	add_entry(u, "NOPRICE", 0, 0, NULL);
	add_entry(u, "NEG", 1, -1, NULL);
	add_entry(u, "EMPTY-NAME", 1, 0, "");
	add_entry(u, "NAME-256", 1, 5, long_name);         /* past 255 bytes: skipped */
	long_name[255] = '\0';
	add_entry(u, "NAME-255", 1, 5, long_name);
	add_entry(u, "A", 1, 1, "\xe6\xb2\x99\xe5\x8f\x91");
	p = pack_link(u);
	both_ways(&x, &y, &p, 11);
	free(p.buf);
	storesync__update__free_unpacked(u, NULL);
	/* A big sorted one dated ahead, and enough lists in force that they
	 * are merged into one base list. */
	u = price_list(11, 10, NOW_MS + 3600000);
	for (int i = 0; i < 3000; i++) {
		snprintf(sku, sizeof sku, "SKU-%06d", i);
		add_entry(u, sku, 1, 1000 + i, "Bench article");
	}
	p = pack_link(u);
	both_ways(&x, &y, &p, 3000);
	free(p.buf);
	storesync__update__free_unpacked(u, NULL);
	for (uint64_t id = 12; id < 24; id++) {
		u = price_list(id, id - 1, NOW_MS - 500 + (int64_t)id);
		/* In SKU order (stored as they come) or not (drafted), with an
		 * entry skipped in between. */
		snprintf(sku, sizeof sku, "SKU-%06d", (int)id * 7);
		if (id % 2)
			add_entry(u, sku, 1, (int64_t)id, NULL);
		add_entry(u, "LAMP-1", 1, (int64_t)id * 10, "lamp");
		add_entry(u, "bad sku", 1, 1, NULL);
		if (id % 2 == 0)
			add_entry(u, sku, 1, (int64_t)id, NULL);
		p = pack_link(u);
		both_ways(&x, &y, &p, 3);
		free(p.buf);
		storesync__update__free_unpacked(u, NULL);
	}
	same_tables(&x, &y);
	close_db(&x, dx);
	close_db(&y, dy);
}
END_TEST

/* A one-entry list's packing, with bytes spliced in at the end of the
 * entry (entry_tail), of the list (list_tail) or of the Update. */
static struct packed spliced(const char *sku, const uint8_t *entry_tail, size_t elen,
	const uint8_t *update_tail, size_t ulen)
{
	uint8_t entry[64], list[96], update[160];
	size_t n = 0, ln = 0, un = 0, sl = strlen(sku);
	struct packed p;

	entry[n++] = 0x0a;
	entry[n++] = (uint8_t)sl;
	memcpy(entry + n, sku, sl);
	n += sl;
	entry[n++] = 0x10;
	entry[n++] = 0x05;
	if (elen)   /* memcpy may not be given NULL, even for 0 bytes */
		memcpy(entry + n, entry_tail, elen);
	n += elen;
	list[ln++] = 0x08;
	list[ln++] = 0x01;
	ln += ss_proto_len_head_put(list + ln, 2, n);
	memcpy(list + ln, entry, n);
	ln += n;
	update[un++] = 0x08;
	update[un++] = 0x07;
	update[un++] = 0x10;
	update[un++] = 0x00;
	un += ss_proto_len_head_put(update + un, 10, ln);
	memcpy(update + un, list, ln);
	un += ln;
	if (ulen)
		memcpy(update + un, update_tail, ulen);
	un += ulen;
	p.buf = malloc(2 + SS_PROTO_LEN_HEAD_MAX + un);
	p.buf[0] = 0x08;
	p.buf[1] = 0x01;
	p.len = 2 + ss_proto_len_head_put(p.buf + 2, 9, un);
	memcpy(p.buf + p.len, update, un);
	p.len += un;
	return p;
}

static int reads(struct packed p)
{
	struct price_wire w;
	int r = price_wire_read(p.buf, p.len, &w);

	free(p.buf);
	return r;
}

START_TEST(other_forms_are_left_to_the_general_path)
{
	static const uint8_t name[] = { 0x1a, 0x01, 'x' }, name_nul[] = { 0x1a, 0x01, 0 },
		unknown[] = { 0x20, 0x01 }, price_again[] = { 0x10, 0x06 },
		fixed64[] = { 0x19, 0, 0, 0, 0, 0, 0, 0, 0 },
		prices_again[] = { 0x52, 0x00 }, policies[] = { 0x5a, 0x00 };
	Storesync__Update *u = tl_update(3, 2);
	struct packed p;

	/* The form the hub sends, read. */
	ck_assert_int_eq(reads(spliced("LAMP-1", NULL, 0, NULL, 0)), 1);
	ck_assert_int_eq(reads(spliced("LAMP-1", name, sizeof name, NULL, 0)), 1);
	/* A NUL in a string (the gate refuses it), in a name. */
	ck_assert_int_eq(reads(spliced("LAMP-1", name_nul, sizeof name_nul, NULL, 0)), 0);
	/* An unknown field, a field twice, another wire type. */
	ck_assert_int_eq(reads(spliced("LAMP-1", unknown, sizeof unknown, NULL, 0)), 0);
	ck_assert_int_eq(reads(spliced("LAMP-1", price_again, sizeof price_again, NULL, 0)), 0);
	ck_assert_int_eq(reads(spliced("LAMP-1", fixed64, sizeof fixed64, NULL, 0)), 0);
	/* A second price list (protobuf merges them), a second body. */
	ck_assert_int_eq(reads(spliced("LAMP-1", NULL, 0, prices_again, sizeof prices_again)), 0);
	ck_assert_int_eq(reads(spliced("LAMP-1", NULL, 0, policies, sizeof policies)), 0);
	/* Cut anywhere. */
	p = spliced("LAMP-1", name, sizeof name, NULL, 0);
	for (size_t cut = 0; cut < p.len; cut++) {
		struct price_wire w;

		ck_assert_int_eq(price_wire_read(p.buf, cut, &w), 0);
	}
	free(p.buf);
	/* Another kind of update. */
	tl_update_policy(u, 1000, "max_discount_percent", 10);
	ck_assert_int_eq(reads(pack_link(u)), 0);
	storesync__update__free_unpacked(u, NULL);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		list_read_in_place_is_stored_as_unpacked, other_forms_are_left_to_the_general_path,
	};

	return tl_run("price_wire", tests, sizeof tests / sizeof tests[0], 60);
}
