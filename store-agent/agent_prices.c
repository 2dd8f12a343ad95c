/* agent_prices: where a price becomes effective at the store, and what the
 * till is told to charge.
 *
 * A price list is kept as HQ sent it: one LMDB value per list, a sorted
 * array of (sku, price, name, effective, update) searched by binary search,
 * under the key effective_ms (u64 BE) update_id (u64 BE). Applying a 50,000
 * SKU list is then one write of its bytes, not 50,000 B-tree inserts (with
 * 200 stores on two cores that was the whole rollout's time).
 *
 * Invariant: the price of a SKU in force at T comes from the list with the
 * greatest (effective_ms, update_id) <= (T, any) that names the SKU: a later
 * list corrects an earlier one, a list dated ahead switches at its moment,
 * offline. Each record keeps the effective time and update of its own
 * origin, which is what a till is told.
 *
 * So that a lookup stays a few binary searches, the lists already in force
 * are merged into one base list (key 0, 0) once there are more than
 * MAX_IN_FORCE of them: for each SKU the newest record wins, exactly what a
 * lookup would have answered. Lists dated ahead stay apart until they are in
 * force. Like the rest of the agent's tables this keeps what is in force and
 * what is announced, not history: a SKU's price in the base tells the SKU's
 * price from its own date on only, so a moment before it is answered with
 * no price and that date (kept_from_ms), never with a price of later. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_validate.h"

#define LIST_MAGIC 0x4c505353u   /* "SSPL" */
#define MAX_IN_FORCE 8
#define SKU_MAX 32
#define PRICE_NAME_MAX 255       /* a record's name_len is a byte */

/* Records are stored in the host's byte order: the data directory never
 * moves to another machine kind (an agent's data is its store's own).
 * The layout: a list_head, n offsets (u32), then the records, each a
 * list_rec whose text follows its fixed fields. A record sits at any byte
 * offset of its value, and LMDB keeps a small value only 2-byte aligned: so
 * nothing wider than a byte is ever read or written in place (an unaligned
 * load is undefined behaviour); fields are copied in and out (struct rec). */
struct list_head {
	uint32_t magic, n;
};

struct list_rec {
	int64_t price_fen, effective_ms;
	uint64_t update_id;
	uint8_t sku_len, name_len;
	char text[];               /* sku, then name */
};

#define REC_FIXED offsetof(struct list_rec, text)

/* A record as read: its fixed fields copied out, its text in place. */
struct rec {
	int64_t price_fen, effective_ms;
	uint64_t update_id;
	uint8_t sku_len, name_len;
	const char *text;
};

/* A list as read from LMDB (valid while the transaction lasts). */
struct list {
	const uint8_t *base;
	size_t size;
	uint32_t n;
	const uint8_t *offsets;    /* n u32, unaligned */
};

static int list_open(const MDB_val *v, struct list *l)
{
	struct list_head h;

	if (v->mv_size < sizeof h)
		return -1;
	memcpy(&h, v->mv_data, sizeof h);
	if (h.magic != LIST_MAGIC || (v->mv_size - sizeof h) / sizeof(uint32_t) < h.n)
		return -1;
	l->base = v->mv_data;
	l->size = v->mv_size;
	l->n = h.n;
	l->offsets = l->base + sizeof h;
	return 0;
}

/* Record i of l into *r; -1 when it does not lie inside the value. */
static int list_at(const struct list *l, uint32_t i, struct rec *r)
{
	struct list_rec fixed;
	uint32_t off;

	memcpy(&off, l->offsets + (size_t)i * sizeof off, sizeof off);
	if (off > l->size || l->size - off < REC_FIXED)
		return -1;
	memcpy(&fixed, l->base + off, REC_FIXED);
	if (l->size - off - REC_FIXED < (size_t)fixed.sku_len + fixed.name_len)
		return -1;
	*r = (struct rec){ fixed.price_fen, fixed.effective_ms, fixed.update_id, fixed.sku_len,
		fixed.name_len, (const char *)l->base + off + REC_FIXED };
	return 0;
}

static int rec_cmp(const struct rec *r, const char *sku, size_t len)
{
	size_t n = r->sku_len < len ? r->sku_len : len;
	int c = memcmp(r->text, sku, n);

	return c ? c : (int)r->sku_len - (int)len;
}

/* 1 with *r when l names sku, else 0. */
static int list_find(const struct list *l, const char *sku, struct rec *r)
{
	size_t len = strlen(sku);
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c;

		if (list_at(l, mid, r) != 0)
			return 0;
		if ((c = rec_cmp(r, sku, len)) == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* ---- building a list ---- */

/* Texts are (pointer, length), not NUL-terminated: a list received is
 * drafted from its message's bytes as they lie (agent_price_wire.c). */
struct draft {
	struct draft_rec {
		const char *sku, *name;
		int64_t price_fen, effective_ms;
		uint64_t update_id;
		/* size_t, not the stored bytes: copies of a length gcc knows to be
		 * under 256 are inlined as `rep movsq`, 50 ns a SKU on this machine,
		 * where libc's memcpy takes a few. */
		size_t sku_len, name_len;
	} *recs;
	size_t n, cap;
};

/* Room for n more records at once: a list's size is known before it is
 * drafted, and growing 50,000 records by doubling costs copies and faults. */
static int draft_reserve(struct draft *d, size_t n)
{
	struct draft_rec *a;

	if (d->cap - d->n >= n)
		return 0;   /* n == 0 too: realloc of 0 bytes may say NULL */
	if (!(a = realloc(d->recs, (d->n + n) * sizeof *a)))
		return SS_EIO;
	d->recs = a;
	d->cap = d->n + n;
	return 0;
}

/* sku_len at most SKU_MAX and name_len at most PRICE_NAME_MAX (price_ok). */
static int draft_add(struct draft *d, const char *sku, size_t sku_len, const char *name,
	size_t name_len, int64_t price, int64_t eff, uint64_t uid)
{
	if (d->n == d->cap && draft_reserve(d, d->cap ? d->cap : 1024) != 0)
		return SS_EIO;
	d->recs[d->n++] = (struct draft_rec){ sku, name_len ? name : NULL, price, eff, uid,
		sku_len, name_len };
	return 0;
}

/* The order of strcmp for texts without a NUL, and of rec_cmp. */
static int sku_cmp(const struct draft_rec *x, const struct draft_rec *y)
{
	size_t n = x->sku_len < y->sku_len ? x->sku_len : y->sku_len;
	int c = memcmp(x->sku, y->sku, n);

	return c ? c : (x->sku_len > y->sku_len) - (x->sku_len < y->sku_len);
}

static int draft_cmp(const void *a, const void *b)
{
	const struct draft_rec *x = a, *y = b;
	int c = sku_cmp(x, y);

	if (c)
		return c;
	/* Newest first, so a SKU's first record is the one that stays. */
	if (x->effective_ms != y->effective_ms)
		return x->effective_ms > y->effective_ms ? -1 : 1;
	return x->update_id > y->update_id ? -1 : x->update_id < y->update_id;
}

/* Sorts d by SKU and keeps the newest record of each SKU. The hub sends a
 * list sorted by SKU: then there is nothing to sort. */
static void draft_settle(struct draft *d)
{
	size_t keep = 0, i = 1;

	while (i < d->n && draft_cmp(&d->recs[i - 1], &d->recs[i]) < 0)
		i++;
	if (i < d->n)
		qsort(d->recs, d->n, sizeof *d->recs, draft_cmp);
	for (size_t i = 0; i < d->n; i++)
		if (keep == 0 || sku_cmp(&d->recs[keep - 1], &d->recs[i]) != 0)
			d->recs[keep++] = d->recs[i];
	d->n = keep;
}

/* Records are packed end to end (REC_FIXED, not the struct's padded size):
 * readers go by the offsets, so lists stored before read the same, and no
 * byte of a list is left unwritten. */
static size_t rec_size(const struct draft_rec *r)
{
	return REC_FIXED + r->sku_len + r->name_len;
}

/* Room for a list of n records taking bytes (records and their texts)
 * under (eff, uid), its head written; *out is the value. */
static int list_reserve(struct agent_db *db, MDB_txn *txn, int64_t eff, uint64_t uid,
	size_t n, size_t bytes, uint8_t **out)
{
	uint8_t key[16];
	MDB_val k = { 16, key }, v;
	size_t size = sizeof(struct list_head) + n * sizeof(uint32_t) + bytes;
	int rc;

	if (size > UINT32_MAX)
		return SS_EINVAL;
	ss_be64_put(key, (uint64_t)(eff < 0 ? 0 : eff));
	ss_be64_put(key + 8, uid);
	v.mv_size = size;
	if ((rc = mdb_put(txn, db->prices, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	*out = v.mv_data;
	memcpy(*out, &(struct list_head){ LIST_MAGIC, (uint32_t)n }, sizeof(struct list_head));
	return 0;
}

/* Record i of a list of n at *off (starting past the offsets), which it
 * moves past the record. */
static void list_write(uint8_t *out, size_t n, size_t i, size_t *off, const struct draft_rec *r)
{
	struct list_rec fixed = { r->price_fen, r->effective_ms, r->update_id, (uint8_t)r->sku_len,
		(uint8_t)r->name_len };
	uint32_t off32 = (uint32_t)*off;

	if (*off == 0)
		*off = off32 = (uint32_t)(sizeof(struct list_head) + n * sizeof off32);
	memcpy(out + sizeof(struct list_head) + i * sizeof off32, &off32, sizeof off32);
	memcpy(out + *off, &fixed, REC_FIXED);
	memcpy(out + *off + REC_FIXED, r->sku, r->sku_len);
	if (r->name_len)
		memcpy(out + *off + REC_FIXED + r->sku_len, r->name, r->name_len);
	*off += rec_size(r);
}

/* Writes the settled draft as the list under (eff, uid). */
static int draft_put(struct agent_db *db, MDB_txn *txn, struct draft *d, int64_t eff,
	uint64_t uid)
{
	size_t bytes = 0, off = 0;
	uint8_t *out;
	int rc;

	for (size_t i = 0; i < d->n; i++)
		bytes += rec_size(&d->recs[i]);
	if ((rc = list_reserve(db, txn, eff, uid, d->n, bytes, &out)) != 0)
		return rc;
	for (size_t i = 0; i < d->n; i++)
		list_write(out, d->n, i, &off, &d->recs[i]);
	return 0;
}

/* ---- merging the lists in force ---- */

/* The text (SKU, then name) of a stored record copied into buf. */
static int rec_text(const struct rec *r, char *buf, size_t len)
{
	if ((size_t)r->sku_len + r->name_len > len)
		return -1;
	memcpy(buf, r->text, (size_t)r->sku_len + r->name_len);
	return 0;
}

/* Every list dated at or before now_ms, into one base list, when there are
 * more than MAX_IN_FORCE of them. */
static int compact(struct agent_db *db, MDB_txn *txn, int64_t now_ms)
{
	uint8_t until[16];
	MDB_val k, v;
	MDB_cursor *c;
	struct draft d = { 0 };
	char *strings = NULL;
	size_t lists = 0, n_strings = 0, used = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, db->prices, &c)) != 0)
		return rc;
	ss_be64_put(until, (uint64_t)now_ms + 1);
	memset(until + 8, 0, 8);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && k.mv_size == 16
		&& memcmp(k.mv_data, until, 16) < 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct list l;

		lists++;
		if (list_open(&v, &l) == 0)
			n_strings += l.size;
	}
	if (lists <= MAX_IN_FORCE)
		goto out;
	/* The records' strings are copied out: the lists are deleted below. */
	if (!(strings = malloc(n_strings + 1))) {
		rc = SS_EIO;
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && k.mv_size == 16
		&& memcmp(k.mv_data, until, 16) < 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct list l;

		if (list_open(&v, &l) != 0)
			continue;
		for (uint32_t i = 0; i < l.n && rc == 0; i++) {
			struct rec r;
			const char *text = strings + used;

			if (list_at(&l, i, &r) != 0 || rec_text(&r, strings + used, n_strings - used) != 0)
				continue;
			used += (size_t)r.sku_len + r.name_len;
			rc = draft_add(&d, text, r.sku_len, text + r.sku_len, r.name_len, r.price_fen,
				r.effective_ms, r.update_id);
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto out;
	/* Drop the merged lists, then write the base. */
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 && k.mv_size == 16
		&& memcmp(k.mv_data, until, 16) < 0)
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			goto out;
	draft_settle(&d);
	rc = draft_put(db, txn, &d, 0, 0);
out:
	mdb_cursor_close(c);
	free(d.recs);
	free(strings);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the interface ---- */

static int price_ok(const struct price_in *e)
{
	return e->sku && ss_validate_sku_n(e->sku, e->sku_len) == 0 && e->has_price_fen
		&& e->price_fen >= 0 && e->price_fen <= SS_MAX_FEN && e->name_len <= PRICE_NAME_MAX;
}

static struct price_in price_in_of(const Storesync__PriceEntry *e)
{
	struct price_in in = { 0 };

	if (e) {
		in = (struct price_in){ e->sku, e->name, e->sku ? strlen(e->sku) : 0,
			e->name ? strlen(e->name) : 0, e->price_fen, e->has_price_fen };
	}
	return in;
}

static int draft_entry(struct draft *d, const struct price_in *e, int64_t eff, uint64_t uid,
	size_t *skipped)
{
	if (!price_ok(e)) {
		(*skipped)++;
		return 0;
	}
	return draft_add(d, e->sku, e->sku_len, e->name, e->name_len, e->price_fen, eff, uid);
}

/* The drafted list stored under (eff, uid), then the lists in force merged. */
static int list_finish(struct agent_db *db, MDB_txn *txn, struct draft *d, int64_t eff,
	uint64_t uid, int64_t now_ms, int rc)
{
	if (rc == 0) {
		draft_settle(d);
		rc = draft_put(db, txn, d, eff, uid);
	}
	free(d->recs);
	return rc == 0 ? compact(db, txn, now_ms) : rc;
}

int prices_put_list(struct agent_db *db, MDB_txn *txn, int64_t effective_ms,
	uint64_t update_id, Storesync__PriceEntry *const *entries, size_t n, int64_t now_ms,
	size_t *skipped)
{
	struct draft d = { 0 };
	int rc = draft_reserve(&d, n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct price_in e = price_in_of(entries[i]);

		rc = draft_entry(&d, &e, effective_ms, update_id, skipped);
	}
	return list_finish(db, txn, &d, effective_ms, update_id, now_ms, rc);
}

/* Entry e of w as a record, when this agent can use it (checked unless
 * known already). */
static int wire_rec(const struct price_wire *w, const struct price_in *e, int check,
	struct draft_rec *r)
{
	if (check && !price_ok(e))
		return 0;
	*r = (struct draft_rec){ e->sku, e->name_len ? e->name : NULL, e->price_fen,
		w->effective_ms, w->update_id, e->sku_len, e->name_len };
	return 1;
}

/* 1 when w's usable entries are sorted by SKU, each SKU once, as the hub
 * sends a list: then they are stored as they come, with no draft (a
 * 50,000-SKU draft is 2.4 MB of fresh memory per list). Their number,
 * bytes and the entries skipped in *n, *bytes and *skipped. */
static int wire_in_order(const struct price_wire *w, size_t *n, size_t *bytes, size_t *skipped)
{
	struct price_wire_cursor c;
	struct price_in e;
	struct draft_rec r, prev = { 0 };

	*n = *bytes = *skipped = 0;
	price_wire_begin(w, &c);
	while (price_wire_next(&c, &e)) {
		if (!wire_rec(w, &e, 1, &r)) {
			(*skipped)++;
			continue;
		}
		if (*n && sku_cmp(&prev, &r) >= 0)
			return 0;
		prev = r;
		(*n)++;
		*bytes += rec_size(&r);
	}
	return 1;
}

/* Any other list is drafted (sorted, each SKU's last entry kept). */
static int wire_drafted(struct agent_db *db, MDB_txn *txn, const struct price_wire *w,
	int64_t now_ms, size_t *skipped)
{
	struct draft d = { 0 };
	struct price_wire_cursor c;
	struct price_in e;
	int rc = draft_reserve(&d, w->n);

	price_wire_begin(w, &c);
	while (rc == 0 && price_wire_next(&c, &e))
		rc = draft_entry(&d, &e, w->effective_ms, w->update_id, skipped);
	return list_finish(db, txn, &d, w->effective_ms, w->update_id, now_ms, rc);
}

int prices_put_wire(struct agent_db *db, MDB_txn *txn, const struct price_wire *w,
	int64_t now_ms, size_t *skipped)
{
	struct price_wire_cursor c;
	struct price_in e;
	struct draft_rec r;
	size_t n, bytes, skip, i = 0, off = 0;
	uint8_t *out;
	int rc;

	if (!wire_in_order(w, &n, &bytes, &skip))
		return wire_drafted(db, txn, w, now_ms, skipped);
	*skipped += skip;
	if ((rc = list_reserve(db, txn, w->effective_ms, w->update_id, n, bytes, &out)) != 0)
		return rc;
	price_wire_begin(w, &c);
	/* With nothing skipped, every entry is known good. */
	while (price_wire_next(&c, &e))
		if (wire_rec(w, &e, skip > 0, &r))
			list_write(out, n, i++, &off, &r);
	return compact(db, txn, now_ms);
}

static int by_list(const void *a, const void *b)
{
	const struct draft_rec *x = a, *y = b;

	if (x->effective_ms != y->effective_ms)
		return x->effective_ms < y->effective_ms ? -1 : 1;
	if (x->update_id != y->update_id)
		return x->update_id < y->update_id ? -1 : 1;
	return sku_cmp(x, y);
}

int prices_put_dated(struct agent_db *db, MDB_txn *txn, Storesync__DatedPrice *const *p,
	size_t n, int64_t now_ms, size_t *skipped)
{
	struct draft base = { 0 }, later = { 0 };
	int rc = 0;

	/* In force now: one base list; dated ahead: a list per update. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct price_in e = price_in_of(p[i]->price);

		rc = draft_entry(p[i]->effective_ms <= now_ms ? &base : &later, &e,
			p[i]->effective_ms, p[i]->update_id, skipped);
	}
	if (rc == 0 && base.n) {
		draft_settle(&base);
		rc = draft_put(db, txn, &base, 0, 0);
	}
	if (later.n > 1)   /* qsort may not be given NULL, even for no elements */
		qsort(later.recs, later.n, sizeof *later.recs, by_list);
	for (size_t i = 0, j; rc == 0 && i < later.n; i = j) {
		struct draft one;

		for (j = i + 1; j < later.n && later.recs[j].effective_ms == later.recs[i].effective_ms
			&& later.recs[j].update_id == later.recs[i].update_id; j++)
			;
		one = (struct draft){ later.recs + i, j - i, j - i };
		rc = draft_put(db, txn, &one, later.recs[i].effective_ms, later.recs[i].update_id);
	}
	free(base.recs);
	free(later.recs);
	return rc;
}

static Storesync__DatedPrice *dated_of(const struct rec *r)
{
	Storesync__DatedPrice *dp = calloc(1, sizeof *dp);
	Storesync__PriceEntry *pe = calloc(1, sizeof *pe);

	if (!dp || !pe) {
		free(dp);
		free(pe);
		return NULL;
	}
	storesync__dated_price__init(dp);
	storesync__price_entry__init(pe);
	pe->sku = strndup(r->text, r->sku_len);
	pe->name = r->name_len ? strndup(r->text + r->sku_len, r->name_len) : NULL;
	pe->price_fen = r->price_fen;
	pe->has_price_fen = 1;
	dp->price = pe;
	dp->effective_ms = r->effective_ms;
	dp->has_effective_ms = 1;
	dp->update_id = r->update_id;
	dp->has_update_id = 1;
	return dp;
}

/* ---- the lookup ---- */

static int rec_newer(const struct rec *a, const struct rec *b)
{
	if (a->effective_ms != b->effective_ms)
		return a->effective_ms > b->effective_ms;
	return a->update_id > b->update_id;
}

static int key_is_base(const MDB_val *k)
{
	static const uint8_t base[16];

	return k->mv_size == 16 && memcmp(k->mv_data, base, 16) == 0;
}

/* The base list's record of sku into *r: 1, else 0. The base's key (0, 0)
 * says nothing of its records' dates: each keeps its own. */
static int base_find(struct agent_db *db, MDB_txn *txn, const char *sku, struct rec *r)
{
	uint8_t key[16] = { 0 };
	MDB_val k = { 16, key }, v;
	struct list l;

	return mdb_get(txn, db->prices, &k, &v) == 0 && list_open(&v, &l) == 0
		&& list_find(&l, sku, r);
}

/* From the list at the cursor on (op MDB_NEXT) or back (MDB_PREV), the
 * first dated list that names sku, into *r: 1, else 0. The base is not a
 * dated list: a scan back stops at it. */
static int scan_find(MDB_cursor *c, MDB_val *k, MDB_val *v, int rc, MDB_cursor_op op,
	const char *sku, struct rec *r)
{
	for (; rc == 0 && !key_is_base(k); rc = mdb_cursor_get(c, k, v, op)) {
		struct list l;

		if (list_open(v, &l) == 0 && list_find(&l, sku, r))
			return 1;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : -1;
}

/* The newest dated list at or before at_ms that names sku (*now) and the
 * first after it (*next): 1 in *has_now, *has_next when found. */
static int dated_find(struct agent_db *db, MDB_txn *txn, const char *sku, int64_t at_ms,
	struct rec *now, int *has_now, struct rec *next, int *has_next)
{
	uint8_t key[16];
	MDB_val k = { 16, key }, v;
	MDB_cursor *c;
	int rc;

	if (mdb_cursor_open(txn, db->prices, &c) != 0)
		return -1;
	ss_be64_put(key, at_ms == INT64_MAX ? UINT64_MAX : (uint64_t)at_ms + 1);
	memset(key + 8, 0, 8);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	*has_next = scan_find(c, &k, &v, rc, MDB_NEXT, sku, next);
	k = (MDB_val){ 16, key };
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	rc = mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	*has_now = scan_find(c, &k, &v, rc, MDB_PREV, sku, now);
	mdb_cursor_close(c);
	return *has_next < 0 || *has_now < 0 ? -1 : 0;
}

/* The base holds, for each SKU, only the newest of the lists merged into
 * it (and a snapshot only what was in force): before its record's date the
 * agent no longer knows the SKU's price, and must not answer the base's
 * price, which came later. A dated list older than the base's record (one
 * that arrived after the merge) loses to it, as it would have in a merge. */
int prices_at(struct agent_db *db, MDB_txn *txn, const char *sku, int64_t at_ms,
	Storesync__DatedPrice **now, Storesync__DatedPrice **next, int64_t *kept_from_ms)
{
	struct rec base, in_force, later;
	int has_base, has_now, has_next;

	*now = *next = NULL;
	if (kept_from_ms)
		*kept_from_ms = 0;
	if (at_ms < 0)
		return SS_OK;
	if (strlen(sku) > SKU_MAX
		|| dated_find(db, txn, sku, at_ms, &in_force, &has_now, &later, &has_next) != 0)
		return SS_EIO;
	has_base = base_find(db, txn, sku, &base);
	if (has_base && base.effective_ms > at_ms) {
		has_now = 0;
		if (kept_from_ms)
			*kept_from_ms = base.effective_ms;
	} else if (has_base && (!has_now || rec_newer(&base, &in_force))) {
		in_force = base;
		has_now = 1;
	}
	if (has_now)
		*now = dated_of(&in_force);
	if (has_next)
		*next = dated_of(&later);
	return SS_OK;
}
