/* test_proto: the gate every message from a peer passes (ss_proto).
 * Strings are what was sent: a string with an embedded NUL is refused,
 * never cut at the NUL. A message costs what it costs once unpacked, not
 * its length: a frame of empty records is refused at its door's budget,
 * while the largest batches an agent builds and the largest price push an
 * operator may send are taken. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_arena.h"
#include "testlib.h"

static enum ss_proto_verdict unpack_link(const uint8_t *buf, size_t len)
{
	ProtobufCMessage *m;
	enum ss_proto_verdict v = ss_proto_unpack_limited(&storesync__link_message__descriptor,
		buf, len, &ss_limits_link, &m, NULL);

	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	ck_assert(v == SS_PROTO_OK || m == NULL);
	return v;
}

START_TEST(store_id_with_nul_refused)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	size_t len;
	uint8_t *buf;

	h.store_id = "ABXCD";
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	buf = tl_pack_patched(&m.base, "ABXCD", "AB\0CD", 5, &len);
	ck_assert_int_eq(unpack_link(buf, len), SS_PROTO_NUL_IN_STRING);
	ck_assert_ptr_null(ss_proto_unpack(&storesync__link_message__descriptor, buf, len,
		SS_MAX_MSG_BYTES));
	free(buf);
	buf = tl_pack_patched(&m.base, "ABXCD", "ABYCD", 5, &len);
	ck_assert_int_eq(unpack_link(buf, len), SS_PROTO_OK);
	free(buf);
}
END_TEST

/* Deep inside a batch: a receipt number, and control bytes after a NUL
 * (which the validator's control-character check would never see). */
START_TEST(record_strings_with_nul_refused)
{
	static const char *const patched[] = { "R-\0001", "R\0\x01\x02" };
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record *r = tl_sale(100, "R-X1");
	size_t len;

	b.store_id = "S1";
	b.records = &r;
	b.n_records = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	for (size_t i = 0; i < 2; i++) {
		uint8_t *buf = tl_pack_patched(&m.base, "R-X1", patched[i], 4, &len);

		ck_assert_int_eq(unpack_link(buf, len), SS_PROTO_NUL_IN_STRING);
		free(buf);
	}
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

/* A LinkMessage holding a Batch of n empty records: 2 bytes each. */
static uint8_t *empty_records_frame(size_t n, size_t *len)
{
	uint8_t *buf = malloc(2 * n + 16);
	size_t p = 0, blen = 2 * n;

	ck_assert_ptr_nonnull(buf);
	buf[p++] = 0x08;   /* proto_version = 1 */
	buf[p++] = 0x01;
	buf[p++] = 0x22;   /* batch, length-delimited */
	for (; blen >= 0x80; blen >>= 7)
		buf[p++] = (uint8_t)(blen | 0x80);
	buf[p++] = (uint8_t)blen;
	for (size_t i = 0; i < n; i++) {
		buf[p++] = 0x22;   /* records: an empty Record */
		buf[p++] = 0x00;
	}
	*len = p;
	return buf;
}

START_TEST(frame_of_empty_records_refused_at_the_budget)
{
	size_t len, n = (SS_MAX_MSG_BYTES - 16) / 2;
	uint8_t *buf = empty_records_frame(n, &len);

	ck_assert_uint_le(len, SS_MAX_MSG_BYTES);
	ck_assert_int_eq(unpack_link(buf, len), SS_PROTO_TOO_LARGE_UNPACKED);
	free(buf);
	buf = empty_records_frame(1000, &len);
	ck_assert_int_eq(unpack_link(buf, len), SS_PROTO_OK);
	free(buf);
}
END_TEST

/* The costliest batch an agent builds: 5 MiB of 100-line sales of
 * one-letter SKUs, about 15 bytes unpacked per byte. */
struct costliest {
	Storesync__Record *proto, **recs;
	Storesync__SaleLine *lines[100], **one;
	size_t n;
};

static uint8_t *costliest_batch(struct costliest *c, size_t *len)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	size_t rec_len;

	c->proto = tl_sale(100, "R-1");
	c->one = c->proto->sale->lines;
	free(c->one[0]->sku);
	c->one[0]->sku = strdup("A");
	for (size_t i = 0; i < 100; i++)
		c->lines[i] = c->one[0];
	c->proto->sale->n_lines = 100;
	c->proto->sale->lines = c->lines;
	rec_len = storesync__record__get_packed_size(c->proto);
	c->recs = calloc((5u << 20) / rec_len + 2, sizeof *c->recs);
	for (c->n = 0; c->n * rec_len < (5u << 20); c->n++)
		c->recs[c->n] = c->proto;
	b.store_id = "S1";
	b.records = c->recs;
	b.n_records = c->n;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	return ss_proto_pack(&m.base, len);
}

static void costliest_free(struct costliest *c)
{
	free(c->recs);
	c->proto->sale->n_lines = 1;
	c->proto->sale->lines = c->one;
	storesync__record__free_unpacked(c->proto, NULL);
}

/* The costliest batch an agent builds (5 MiB of 100-line sales of one-letter
 * SKUs, about 15 bytes unpacked per byte) passes the link's budget. */
START_TEST(largest_agent_batch_taken)
{
	struct costliest c;
	ProtobufCMessage *u;
	size_t len, cost;
	uint8_t *buf;

	buf = costliest_batch(&c, &len);
	ck_assert_int_eq(ss_proto_unpack_limited(&storesync__link_message__descriptor, buf, len,
		&ss_limits_link, &u, &cost), SS_PROTO_OK);
	ck_assert_uint_gt(cost, 10 * len);
	protobuf_c_message_free_unpacked(u, NULL);
	free(buf);
	costliest_free(&c);
}
END_TEST

/* 200,000 prices with a name each, as `hqctl price push` sends them. */
START_TEST(largest_price_push_taken)
{
	Storesync__QueryRequest q = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__PriceEntry *e = calloc(200000, sizeof *e), **pe = calloc(200000, sizeof *pe);
	char (*skus)[16] = calloc(200000, sizeof *skus);
	ProtobufCMessage *u;
	size_t len;
	uint8_t *buf;

	for (size_t i = 0; i < 200000; i++) {
		storesync__price_entry__init(&e[i]);
		snprintf(skus[i], sizeof skus[i], "SKU-%06zu", i);
		e[i].sku = skus[i];
		e[i].price_fen = 1999;
		e[i].has_price_fen = 1;
		e[i].name = "an article's name, forty bytes long ....";
		pe[i] = &e[i];
	}
	q.what = "price push";
	q.prices = pe;
	q.n_prices = 200000;
	buf = ss_proto_pack(&q.base, &len);
	ck_assert_int_eq(ss_proto_unpack_limited(&storesync__query_request__descriptor, buf, len,
		&ss_limits_query, &u, NULL), SS_PROTO_OK);
	protobuf_c_message_free_unpacked(u, NULL);
	free(buf);
	free(e);
	free(pe);
	free(skus);
}
END_TEST

/* The agent unpacks the hub's messages into an arena (ss_arena): the same
 * gate holds there. */
START_TEST(arena_unpack_passes_the_gate)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	struct ss_arena a;
	size_t len;
	uint8_t *buf;

	h.store_id = "ABXCD";
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	buf = tl_pack_patched(&m.base, "ABXCD", "AB\0CD", 5, &len);
	ss_arena_init(&a, 0);
	ck_assert_ptr_null(ss_arena_unpack(&a, &storesync__link_message__descriptor, buf, len,
		SS_MAX_MSG_BYTES));
	free(buf);
	buf = empty_records_frame((SS_MAX_MSG_BYTES - 16) / 2, &len);
	ck_assert_ptr_null(ss_arena_unpack(&a, &storesync__link_message__descriptor, buf, len,
		SS_MAX_MSG_BYTES));
	ck_assert_uint_le(a.used, SS_PROTO_EXPANSION * SS_MAX_MSG_BYTES);
	ss_arena_release(&a);
	free(buf);
	buf = empty_records_frame(1000, &len);
	ck_assert_ptr_nonnull(ss_arena_unpack(&a, &storesync__link_message__descriptor, buf, len,
		SS_MAX_MSG_BYTES));
	ss_arena_release(&a);
	free(buf);
}
END_TEST

/* ss_arena_reset: what was unpacked is let go (past one chunk: the frame
 * takes more than 256 kB), one chunk stays for the next message, and the
 * next message lands in it. */
START_TEST(arena_reset_keeps_one_chunk)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	ProtobufCMessage *first, *again;
	struct ss_arena a;
	size_t len, big_len;
	uint8_t *buf, *big;

	h.store_id = "S1";
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	len = storesync__link_message__get_packed_size(&m);
	buf = malloc(len);
	storesync__link_message__pack(&m, buf);
	big = empty_records_frame(100000, &big_len);   /* more than one chunk */
	ss_arena_init(&a, 0);
	ck_assert_ptr_nonnull(ss_arena_unpack(&a, &storesync__link_message__descriptor, big, big_len,
		SS_MAX_MSG_BYTES));
	ck_assert_uint_gt(a.used, 256u << 10);
	ss_arena_reset(&a);
	ck_assert_uint_eq(a.used, 0);
	ck_assert_ptr_nonnull(a.chunks);
	ck_assert_ptr_nonnull(first = ss_arena_unpack(&a, &storesync__link_message__descriptor, buf,
		len, SS_MAX_MSG_BYTES));
	ck_assert_str_eq(((Storesync__LinkMessage *)first)->hello->store_id, "S1");
	ss_arena_reset(&a);
	ck_assert_ptr_nonnull(again = ss_arena_unpack(&a, &storesync__link_message__descriptor, buf,
		len, SS_MAX_MSG_BYTES));
	ck_assert_ptr_eq(again, first);   /* the same memory, used again */
	ck_assert_str_eq(((Storesync__LinkMessage *)again)->hello->store_id, "S1");
	ss_arena_release(&a);
	ck_assert_ptr_null(a.chunks);
	ss_arena_reset(&a);               /* an empty arena stays empty */
	ck_assert_ptr_null(a.chunks);
	free(big);
	free(buf);
}
END_TEST

/* The hub unpacks the link's messages into its round's arena
 * (ss_arena_unpack_limited): the link's gate holds there, at the link's
 * budget, the costliest batch an agent builds still passes, and a message
 * refused or dropped gives its memory back (ss_arena_rewind), so messages
 * that do not join a round never pile up in it. */
START_TEST(arena_limited_is_the_links_gate)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	struct costliest c;
	ProtobufCMessage *u;
	struct ss_arena a;
	struct ss_arena_mark mark;
	size_t len, cost, used;
	uint8_t *buf;

	ss_arena_init(&a, 0);
	h.store_id = "ABXCD";
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	buf = tl_pack_patched(&m.base, "ABXCD", "AB\0CD", 5, &len);
	ck_assert_int_eq(ss_arena_unpack_limited(&a, &storesync__link_message__descriptor, buf,
		len, &ss_limits_link, &u, &cost), SS_PROTO_NUL_IN_STRING);
	ck_assert_ptr_null(u);
	free(buf);
	/* One message kept, then one refused past the budget: back to the first. */
	buf = empty_records_frame(1000, &len);
	ck_assert_int_eq(ss_arena_unpack_limited(&a, &storesync__link_message__descriptor, buf,
		len, &ss_limits_link, &u, &cost), SS_PROTO_OK);
	ck_assert_uint_eq(cost, a.used);
	used = a.used;
	free(buf);
	buf = empty_records_frame((SS_MAX_MSG_BYTES - 16) / 2, &len);
	ck_assert_int_eq(ss_arena_unpack_limited(&a, &storesync__link_message__descriptor, buf,
		len, &ss_limits_link, &u, &cost), SS_PROTO_TOO_LARGE_UNPACKED);
	ck_assert_uint_eq(a.used, used);
	free(buf);
	/* The costliest batch. */
	buf = costliest_batch(&c, &len);
	mark = ss_arena_mark(&a);
	ck_assert_int_eq(ss_arena_unpack_limited(&a, &storesync__link_message__descriptor, buf,
		len, &ss_limits_link, &u, &cost), SS_PROTO_OK);
	ck_assert_uint_eq(((Storesync__LinkMessage *)u)->batch->n_records, c.n);
	ck_assert_uint_gt(cost, 10 * len);
	/* Dropped: given back; back to empty: one chunk kept, and nothing more. */
	ss_arena_rewind(&a, &mark);
	ck_assert_uint_eq(a.used, used);
	ss_arena_rewind(&a, &(struct ss_arena_mark){ 0 });
	ck_assert_uint_eq(a.used, 0);
	ck_assert_ptr_nonnull(a.chunks);
	ss_arena_release(&a);
	free(buf);
	costliest_free(&c);
}
END_TEST

START_TEST(wire_limit_and_garbage)
{
	static const uint8_t bad_varint[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff };
	static const uint8_t short_len[] = { 0x12, 0x05, 'A' };
	static const uint8_t group[] = { 0x13, 0x14 };
	struct ss_proto_limits tiny = { 2, 1 << 20 };
	ProtobufCMessage *m;

	ck_assert_int_eq(unpack_link(bad_varint, sizeof bad_varint), SS_PROTO_MALFORMED);
	ck_assert_int_eq(unpack_link(short_len, sizeof short_len), SS_PROTO_MALFORMED);
	ck_assert_int_eq(unpack_link(group, sizeof group), SS_PROTO_MALFORMED);
	ck_assert_int_eq(ss_proto_unpack_limited(&storesync__link_message__descriptor, short_len,
		sizeof short_len, &tiny, &m, NULL), SS_PROTO_TOO_LARGE);
	ck_assert_ptr_null(m);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		store_id_with_nul_refused, record_strings_with_nul_refused,
		frame_of_empty_records_refused_at_the_budget, largest_agent_batch_taken,
		largest_price_push_taken, arena_unpack_passes_the_gate, arena_reset_keeps_one_chunk,
		arena_limited_is_the_links_gate, wire_limit_and_garbage,
	};

	return tl_run("proto", tests, sizeof tests / sizeof tests[0], 60);
}
