/* agent_price_wire: a price list read where it lies in the hub's message,
 * not unpacked by protobuf-c.
 *
 * A 50,000-SKU list unpacked is 150,000 fields, each allocated, initialised
 * and NUL-terminated, then copied again into the stored list: that unpack
 * was half of an agent's CPU in a rollout (docs/performance.md). Here the
 * entries are checked in one pass over the bytes and handed to
 * agent_prices.c as (pointer, length) texts in a second.
 *
 * Only the form the hub sends is read this way: LinkMessage{proto_version,
 * update} with Update{update_id, after_id, created_ms, prices} and each
 * PriceEntry{sku, price_fen, name}, every message field at most once,
 * strings without a NUL, known fields only, nothing cut. Anything else
 * (another kind, a field protobuf would merge or ignore, a malformed byte)
 * is left to the general path (ss_proto's gate, then protobuf-c), which
 * decides as it always did: this module never refuses and never differs
 * from it on what it takes (test_price_wire applies both and compares). */
#include <string.h>

#include "agent.h"

/* Past the hub's largest push (200,000); more goes the general way, within
 * its unpacking budget. Bounds what a list drafted from here costs. */
#define WIRE_MAX_ENTRIES 500000u

enum { WT_VARINT = 0, WT_LEN = 2 };

struct field {
	uint32_t num;
	int wt;
	uint64_t v;                /* a varint's value, or a length */
	const uint8_t *data;       /* WT_LEN: the bytes */
};

/* Nearly every varint of a price list (tags, lengths, most prices' first
 * byte aside) is one byte: read here, the rest by ss_proto's reader. */
static inline int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return ss_proto_varint_get(p, end, v);
}

/* Reads the field at *p; -1 for a wire type other than varint and length
 * (the hub sends no other here) or anything cut. */
static int field_get(const uint8_t **p, const uint8_t *end, struct field *f)
{
	uint64_t key;

	if (varint_get(p, end, &key) != 0 || key >> 3 > UINT32_MAX)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	if (f->wt != WT_VARINT && f->wt != WT_LEN)
		return -1;
	if (varint_get(p, end, &f->v) != 0)
		return -1;
	if (f->wt == WT_LEN) {
		if (f->v > (uint64_t)(end - *p))
			return -1;
		f->data = *p;
		*p += f->v;
	}
	return 0;
}

/* One PriceEntry into *e; -1 when it is not in the form read here. */
static int entry_get(const uint8_t *p, const uint8_t *end, struct price_in *e)
{
	unsigned seen = 0;
	struct field f;

	memset(e, 0, sizeof *e);
	while (p < end) {
		if (field_get(&p, end, &f) != 0 || f.num < 1 || f.num > 3 || seen & (1u << f.num)
			|| f.wt != (f.num == 2 ? WT_VARINT : WT_LEN))
			return -1;
		seen |= 1u << f.num;
		if (f.num == 2) {
			e->price_fen = (int64_t)f.v;   /* int64: two's complement, as protobuf-c */
			e->has_price_fen = 1;
		} else if (memchr(f.data, 0, f.v)) {
			return -1;                     /* the gate refuses it */
		} else if (f.num == 1) {
			e->sku = (const char *)f.data;
			e->sku_len = f.v;
		} else {
			e->name = (const char *)f.data;
			e->name_len = f.v;
		}
	}
	return 0;
}

/* The PriceList: its effective time, and its entries counted and checked. */
static int list_get(const uint8_t *p, const uint8_t *end, struct price_wire *w)
{
	struct price_in e;
	struct field f;

	w->list = p;
	w->list_end = end;
	while (p < end) {
		if (field_get(&p, end, &f) != 0)
			return -1;
		if (f.num == 1 && f.wt == WT_VARINT)
			w->effective_ms = (int64_t)f.v;
		else if (f.num == 2 && f.wt == WT_LEN && w->n < WIRE_MAX_ENTRIES
			&& entry_get(f.data, f.data + f.v, &e) == 0)
			w->n++;
		else
			return -1;
	}
	return 0;
}

static int update_get(const uint8_t *p, const uint8_t *end, struct price_wire *w)
{
	int prices = 0;
	struct field f;

	while (p < end) {
		if (field_get(&p, end, &f) != 0)
			return -1;
		if (f.num >= 1 && f.num <= 3 && f.wt == WT_VARINT) {
			/* Scalars: the last one wins, as in protobuf. */
			if (f.num == 1)
				w->update_id = f.v;
			else if (f.num == 2)
				w->after_id = f.v;
			else
				w->created_ms = (int64_t)f.v;
		} else if (f.num == 10 && f.wt == WT_LEN && !prices++) {
			if (list_get(f.data, f.data + f.v, w) != 0)
				return -1;
		} else {
			return -1;
		}
	}
	return prices ? 0 : -1;
}

int price_wire_read(const void *buf, size_t len, struct price_wire *w)
{
	const uint8_t *p = buf, *end = p + len;
	int update = 0;
	struct field f;

	memset(w, 0, sizeof *w);
	if (len > SS_MAX_MSG_BYTES)
		return 0;
	while (p < end) {
		if (field_get(&p, end, &f) != 0)
			return 0;
		if (f.num == 1 && f.wt == WT_VARINT)
			continue;   /* proto_version: the general path does not judge it either */
		if (f.num != 9 || f.wt != WT_LEN || update++ || update_get(f.data, f.data + f.v, w) != 0)
			return 0;
	}
	return update;
}

void price_wire_begin(const struct price_wire *w, struct price_wire_cursor *c)
{
	c->p = w->list;
	c->end = w->list_end;
}

int price_wire_next(struct price_wire_cursor *c, struct price_in *e)
{
	struct field f;

	/* price_wire_read checked every field: only entries need reading. */
	while (c->p < c->end) {
		if (field_get(&c->p, c->end, &f) != 0)
			return 0;
		if (f.num == 2)
			return entry_get(f.data, f.data + f.v, e) == 0;
	}
	return 0;
}
