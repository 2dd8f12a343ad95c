/* export_hub: what hq-export reads of the hub, read-only, from another
 * process: LMDB lets any number of readers share the environment with the
 * hub's writer, and a read transaction sees one committed state.
 *
 * A batch is the changes after the position in the hub's change order
 * (event_order, hub_order.c), at most `max` events, and the rows of every
 * view key those records touched, read in the same transaction, so the
 * rows are at least as new as the events. Which keys a record touches is
 * the views' own rule: the record kinds each view takes (hub_dbs' masks,
 * hub_views.c) and its key (the store and business day for sales, store
 * and SKU for inventory, hub_case_no_of, hub_account_of). A position the
 * hub never issued (a hub restored from an older backup numbers its
 * changes again) makes the batch a full copy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>

#include "export.h"
#include "hub.h"
#include "ss_arena.h"
#include "ss_format.h"

#define MAX_KEY 128

/* 1 (with the reason) when the hub's data directory is stamped with a
 * newer format than this version's hub writes (ss_format): its databases
 * may no longer mean what this exporter reads in them. */
static int format_too_new(MDB_txn *txn, const char *dir, char *err, size_t errlen)
{
	MDB_val k = { strlen(SS_FORMAT_KEY), SS_FORMAT_KEY }, d;
	MDB_dbi meta;
	uint64_t found;

	if (mdb_dbi_open(txn, "hub_meta", 0, &meta) != 0 || mdb_get(txn, meta, &k, &d) != 0
		|| d.mv_size != 8 || (found = ss_be64_get(d.mv_data)) <= HUB_DB_FORMAT)
		return 0;
	snprintf(err, errlen, "%s has format %llu; this hq-export (%s) reads formats up to %d: "
		"run the exporter of the version that wrote it", dir, (unsigned long long)found,
		SS_VERSION, HUB_DB_FORMAT);
	return 1;
}

int export_hub_open(struct export_hub *x, const char *dir, char *err, size_t errlen)
{
	static const struct { const char *name; size_t off; } dbs[] = {
		{ "events", offsetof(struct export_hub, events) },
		{ "event_order", offsetof(struct export_hub, event_order) },
		{ "stores", offsetof(struct export_hub, stores) },
		{ "registry", offsetof(struct export_hub, registry) },
		{ "sales", offsetof(struct export_hub, sales) },
		{ "inventory", offsetof(struct export_hub, inventory) },
		{ "cases", offsetof(struct export_hub, cases) },
		{ "accounts", offsetof(struct export_hub, accounts) },
	};
	char path[1100];
	struct stat st;
	MDB_txn *txn;
	int rc;

	memset(x, 0, sizeof *x);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s (not a hub data directory?)", path, strerror(errno));
		return -1;
	}
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	if ((rc = mdb_env_create(&x->env)) != 0)
		goto fail;
	mdb_env_set_maxdbs(x->env, 64);
	mdb_env_set_maxreaders(x->env, 126);
	/* The mode is lock.mdb's when the exporter is the first to open the
	 * directory (a restore): the hub's, or the hub could not open it. */
	if ((rc = mdb_env_open(x->env, dir, MDB_RDONLY | MDB_NOTLS, 0640)) != 0
		|| (rc = export_hub_begin(x, &txn)) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++)
		if ((rc = mdb_dbi_open(txn, dbs[i].name, 0, (MDB_dbi *)((char *)x + dbs[i].off))) != 0) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: no database %s: %s (start this version of hq-hub on it "
				"once)", dir, dbs[i].name, mdb_strerror(rc));
			export_hub_close(x);
			return -1;
		}
	if (format_too_new(txn, dir, err, errlen)) {
		mdb_txn_abort(txn);
		export_hub_close(x);
		return -1;
	}
	/* A read transaction's commit keeps the handles it opened. */
	if ((rc = mdb_txn_commit(txn)) == 0)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
	export_hub_close(x);
	return -1;
}

void export_hub_close(struct export_hub *x)
{
	if (x->env)
		mdb_env_close(x->env);
	x->env = NULL;
}

int export_hub_replaced(const struct export_hub *x, const char *dir)
{
	char path[1100];
	struct stat st;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	return stat(path, &st) != 0 || st.st_dev != x->dev || st.st_ino != x->ino;
}

int export_hub_begin(struct export_hub *x, MDB_txn **txn)
{
	int rc = mdb_txn_begin(x->env, NULL, MDB_RDONLY, txn);

	/* The hub grew its map past ours: follow it (no transaction of ours is
	 * open, which is the condition LMDB sets). */
	if (rc == MDB_MAP_RESIZED && (rc = mdb_env_set_mapsize(x->env, 0)) == 0)
		rc = mdb_txn_begin(x->env, NULL, MDB_RDONLY, txn);
	return rc;
}

/* ---- touched keys ---- */

struct touched {
	UT_hash_handle hh;
	size_t len;
	uint8_t key[1 + MAX_KEY];  /* table index, then the hub key */
};

static int touch(struct touched **set, size_t table, const void *key, size_t len)
{
	uint8_t k[1 + MAX_KEY];
	struct touched *t;

	if (len > MAX_KEY)
		return -1;
	k[0] = (uint8_t)table;
	memcpy(k + 1, key, len);
	HASH_FIND(hh, *set, k, len + 1, t);
	if (t)
		return 0;
	if (!(t = calloc(1, sizeof *t)))
		return -1;
	t->len = len + 1;
	memcpy(t->key, k, len + 1);
	HASH_ADD(hh, *set, key, t->len, t);
	return 0;
}

static const struct hub_db_def *hub_def(const char *name)
{
	for (size_t i = 0; i < hub_n_dbs; i++)
		if (strcmp(hub_dbs[i].name, name) == 0)
			return &hub_dbs[i];
	return NULL;
}

static MDB_dbi view_dbi(const struct export_hub *x, const char *name)
{
	return !strcmp(name, "stores") ? x->stores : !strcmp(name, "sales") ? x->sales
		: !strcmp(name, "inventory") ? x->inventory : !strcmp(name, "cases") ? x->cases
		: x->accounts;
}

/* The view keys record r of store touches, into set. */
static int touch_views(struct touched **set, const char *store, const Storesync__Record *r)
{
	uint32_t bit = 1u << (r->body_case - STORESYNC__RECORD__BODY_SALE);
	uint8_t key[MAX_KEY];
	int rc = 0;

	for (size_t i = 0; i < export_n_tables && rc == 0; i++) {
		const char *db = export_tables[i].hub_db;
		const struct hub_db_def *d = hub_def(db);
		const char *id = NULL;

		if (strcmp(db, "stores") == 0) {
			rc = touch(set, i, store, strlen(store));
			continue;
		}
		if (!d || !(d->records & bit))
			continue;
		if (strcmp(db, "sales") == 0)
			rc = touch(set, i, key, hub_key_store_day(key, store, hub_business_day(r)));
		else if (strcmp(db, "inventory") == 0 && strlen(r->inventory->sku) < MAX_KEY - 34)
			rc = touch(set, i, key, hub_key_store_sku(key, store, r->inventory->sku));
		else if (strcmp(db, "cases") == 0)
			id = hub_case_no_of(r);
		else if (strcmp(db, "accounts") == 0)
			id = hub_account_of(r);
		if (id)
			rc = touch(set, i, id, strlen(id));
	}
	return rc;
}

/* ---- batches ---- */

static int open_streams(struct export_batch *b, FILE **views)
{
	for (size_t i = 0; i < export_n_tables; i++)
		if (!(views[i] = open_memstream(&b->views[i], &b->views_len[i])))
			return -1;
	return 0;
}

static void close_streams(FILE **views)
{
	for (size_t i = 0; i < export_n_tables; i++)
		if (views[i])
			fclose(views[i]);
}

/* One view row, by table index, from its hub value. */
static int view_row(const struct export_hub *x, MDB_txn *txn, size_t i, FILE *f,
	const MDB_val *k, const MDB_val *d, struct export_batch *b)
{
	const struct export_table *t = &export_tables[i];
	const struct hub_db_def *def = hub_def(t->hub_db);
	ProtobufCMessage *m = protobuf_c_message_unpack(def->desc, NULL, d->mv_size, d->mv_data);
	int rc;

	if (!m)
		return 0;   /* unreadable: only a corrupted file gives it; left out */
	rc = t->row(f, k, m, txn, x);
	protobuf_c_message_free_unpacked(m, NULL);
	b->n_view_rows[i] += rc == 0;
	return 0;
}

/* One event's row; the record, unpacked into arena (one bump allocation
 * after another instead of a malloc per field: 200,000 events a batch),
 * goes to *out. The caller resets the arena once done with it. */
static int event_row(FILE *f, const MDB_val *k, const MDB_val *d, uint64_t no, int64_t ms,
	struct ss_arena *arena, Storesync__Record **out)
{
	Storesync__Record *r = storesync__record__unpack(&arena->allocator, d->mv_size,
		d->mv_data);

	*out = r;
	return r ? export_event_row(f, k, r, no, ms) : -1;
}

static void position_of(struct export_position *p, const MDB_val *k, const MDB_val *d)
{
	p->change_no = ss_be64_get(k->mv_data);
	p->change_ms = (int64_t)ss_be64_get(d->mv_data);
	p->key_len = d->mv_size - 8 < sizeof p->event_key ? d->mv_size - 8 : sizeof p->event_key;
	memcpy(p->event_key, (const uint8_t *)d->mv_data + 8, p->key_len);
}

/* 1 when the hub's change order holds `from` as it was exported. */
static int holds(const struct export_hub *x, MDB_txn *txn, const struct export_position *from)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, d;

	ss_be64_put(key, from->change_no);
	return mdb_get(txn, x->event_order, &k, &d) == 0 && d.mv_size == 8 + from->key_len
		&& (int64_t)ss_be64_get(d.mv_data) == from->change_ms
		&& memcmp((const uint8_t *)d.mv_data + 8, from->event_key, from->key_len) == 0;
}

static int collect_full(const struct export_hub *x, MDB_txn *txn, struct export_batch *b,
	FILE *ev, FILE **views)
{
	struct ss_arena arena;
	Storesync__Record *r;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	b->full = 1;
	memset(&b->to, 0, sizeof b->to);
	if ((rc = mdb_cursor_open(txn, x->event_order, &cur)) != 0)
		return rc;
	if (mdb_cursor_get(cur, &k, &d, MDB_LAST) == 0 && k.mv_size == 8 && d.mv_size >= 8)
		position_of(&b->to, &k, &d);
	mdb_cursor_close(cur);
	if ((rc = mdb_cursor_open(txn, x->events, &cur)) != 0)
		return rc;
	ss_arena_init(&arena, 0);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		b->n_events += event_row(ev, &k, &d, 0, 0, &arena, &r) == 0;
		ss_arena_reset(&arena);
	}
	ss_arena_release(&arena);
	mdb_cursor_close(cur);
	for (size_t i = 0; i < export_n_tables; i++) {
		if ((rc = mdb_cursor_open(txn, view_dbi(x, export_tables[i].hub_db), &cur)) != 0)
			return rc;
		while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0)
			view_row(x, txn, i, views[i], &k, &d, b);
		mdb_cursor_close(cur);
	}
	b->to.events = b->n_events;
	return 0;
}

static int collect_after(const struct export_hub *x, MDB_txn *txn,
	const struct export_position *from, size_t max, struct export_batch *b, FILE *ev,
	FILE **views)
{
	struct touched *set = NULL, *t, *tmp;
	struct ss_arena arena;
	uint8_t key[8];
	MDB_val k = { 8, key }, d, ek, ed;
	MDB_cursor *cur;
	int rc;

	b->to = *from;
	ss_be64_put(key, from->change_no + 1);
	if ((rc = mdb_cursor_open(txn, x->event_order, &cur)) != 0)
		return rc;
	ss_arena_init(&arena, 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && b->n_events < max;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Storesync__Record *r = NULL;
		char store[40];

		if (k.mv_size != 8 || d.mv_size <= 8)
			continue;
		ek.mv_size = d.mv_size - 8;
		ek.mv_data = (uint8_t *)d.mv_data + 8;
		position_of(&b->to, &k, &d);
		if (mdb_get(txn, x->events, &ek, &ed) != 0)
			continue;   /* cannot happen: the hub writes both in one transaction */
		if (event_row(ev, &ek, &ed, b->to.change_no, b->to.change_ms, &arena, &r) != 0) {
			ss_arena_reset(&arena);
			continue;
		}
		b->n_events++;
		snprintf(store, sizeof store, "%.*s", (int)strnlen(ek.mv_data, ek.mv_size),
			(const char *)ek.mv_data);
		rc = touch_views(&set, store, r);
		ss_arena_reset(&arena);
		if (rc != 0)
			break;
	}
	ss_arena_release(&arena);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = 0;
	HASH_ITER(hh, set, t, tmp) {
		MDB_val vk = { t->len - 1, t->key + 1 }, vd;

		if (rc == 0 && mdb_get(txn, view_dbi(x, export_tables[t->key[0]].hub_db), &vk, &vd) == 0)
			view_row(x, txn, t->key[0], views[t->key[0]], &vk, &vd, b);
		HASH_DEL(set, t);
		free(t);
	}
	b->to.events = from->events + b->n_events;
	return rc;
}

int export_full_needed(struct export_hub *x, MDB_txn *txn, const struct export_position *from)
{
	return (from->change_no == 0 && from->events == 0)
		|| (from->change_no && !holds(x, txn, from));
}

int export_collect(struct export_hub *x, MDB_txn *txn, const struct export_position *from,
	int full, size_t max, FILE *ev, struct export_batch *b, char *err, size_t errlen)
{
	FILE *views[8] = { 0 };
	int rc;

	memset(b, 0, sizeof *b);
	if (open_streams(b, views) != 0) {
		close_streams(views);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (full)
		rc = collect_full(x, txn, b, ev, views);
	else
		rc = collect_after(x, txn, from, max, b, ev, views);
	close_streams(views);
	if (rc != 0) {
		snprintf(err, errlen, "reading the hub: %s", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

int export_collect_stores(struct export_hub *x, MDB_txn *txn, struct export_batch *b,
	char *err, size_t errlen)
{
	FILE *f;
	MDB_cursor *cur;
	MDB_val k, d;

	memset(b, 0, sizeof *b);
	if (!(f = open_memstream(&b->views[0], &b->views_len[0]))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mdb_cursor_open(txn, x->stores, &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0)
			view_row(x, txn, 0, f, &k, &d, b);
		mdb_cursor_close(cur);
	}
	fclose(f);
	return 0;
}

void export_batch_free(struct export_batch *b)
{
	for (size_t i = 0; i < 8; i++)
		free(b->views[i]);
	memset(b, 0, sizeof *b);
}
