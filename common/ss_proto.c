/* ss_proto: the only place that turns bytes into protobuf structs and back,
 * and so the one gate for what peers send (guarantee 7).
 *
 * A message from a peer is judged in three steps, cheapest first:
 *  1. its length against the door's wire limit;
 *  2. its wire form, walked against the descriptor before protobuf-c sees
 *     it: every field must be well formed, and no string may hold a NUL
 *     byte. protobuf-c hands strings over NUL-terminated, so "AB\0CD"
 *     would become "AB": validation, storage and the acknowledgement would
 *     then be about another value than the one sent;
 *  3. protobuf-c unpacks it through an allocator with a byte budget. The
 *     cost of a message once unpacked is not its length: 16 MiB of empty
 *     records are 8 million structs, over a gigabyte. The budget counts
 *     every live allocation as malloc sizes it (usable size plus its
 *     header), protobuf-c's own scratch included, and refuses the one that
 *     would pass it; protobuf-c then frees what it built and fails.
 * The result is freed with protobuf_c_message_free_unpacked(m, NULL): the
 * budget's allocator is malloc and free underneath. */
#include "ss_proto.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* glibc keeps a size word in front of every chunk. */
#define CHUNK_HEADER_BYTES sizeof(size_t)
/* Deeper than any storesync message nests; only a guard. */
#define WALK_MAX_DEPTH 32

const struct ss_proto_limits ss_limits_link = { SS_MAX_MSG_BYTES, SS_LINK_UNPACKED_MAX_BYTES };
const struct ss_proto_limits ss_limits_local = { SS_MAX_MSG_BYTES, SS_LOCAL_UNPACKED_MAX_BYTES };
const struct ss_proto_limits ss_limits_query = { SS_MAX_MSG_BYTES, SS_QUERY_UNPACKED_MAX_BYTES };

const char *ss_proto_verdict_text(enum ss_proto_verdict v)
{
	switch (v) {
	case SS_PROTO_OK:
		return "ok";
	case SS_PROTO_TOO_LARGE:
		return "message larger than the 16 MiB limit";
	case SS_PROTO_TOO_LARGE_UNPACKED:
		return "message too large once unpacked";
	case SS_PROTO_NUL_IN_STRING:
		return "a string field contains a NUL byte";
	default:
		return "message does not parse";
	}
}

/* ---- step 2: the wire form ---- */

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static enum ss_proto_verdict walk(const ProtobufCMessageDescriptor *d, const uint8_t *p,
	const uint8_t *end, int depth)
{
	if (depth > WALK_MAX_DEPTH)
		return SS_PROTO_MALFORMED;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		enum ss_proto_verdict v;
		uint64_t key, len;

		if (read_varint(&p, end, &key) != 0 || key >> 3 > UINT32_MAX)
			return SS_PROTO_MALFORMED;
		f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
		switch (key & 7) {
		case 0:   /* varint */
			if (read_varint(&p, end, &len) != 0)
				return SS_PROTO_MALFORMED;
			break;
		case 1:   /* 64-bit */
		case 5:   /* 32-bit */
			len = (key & 7) == 1 ? 8 : 4;
			if ((uint64_t)(end - p) < len)
				return SS_PROTO_MALFORMED;
			p += len;
			break;
		case 2:   /* length-delimited: strings and messages */
			if (read_varint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
				return SS_PROTO_MALFORMED;
			if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, len))
				return SS_PROTO_NUL_IN_STRING;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE
				&& (v = walk(f->descriptor, p, p + len, depth + 1)) != SS_PROTO_OK)
				return v;
			p += len;
			break;
		default:  /* groups: protobuf-c refuses them too */
			return SS_PROTO_MALFORMED;
		}
	}
	return SS_PROTO_OK;
}

int ss_proto_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	return read_varint(p, end, v);
}

enum ss_proto_verdict ss_proto_check_wire(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len)
{
	return walk(desc, buf, (const uint8_t *)buf + len, 0);
}

/* ---- step 3: unpacking within a budget ---- */

struct budget {
	size_t live, limit;
	int over;
};

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	void *p;
	size_t cost;

	if (size >= b->limit - b->live) {
		b->over = 1;
		return NULL;
	}
	if (!(p = malloc(size)))
		return NULL;
	cost = malloc_usable_size(p) + CHUNK_HEADER_BYTES;
	if (cost > b->limit - b->live) {
		free(p);
		b->over = 1;
		return NULL;
	}
	b->live += cost;
	return p;
}

static void budget_free(void *data, void *p)
{
	struct budget *b = data;

	if (p)
		b->live -= malloc_usable_size(p) + CHUNK_HEADER_BYTES;
	free(p);
}

enum ss_proto_verdict ss_proto_unpack_limited(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, const struct ss_proto_limits *lim, ProtobufCMessage **out,
	size_t *cost_bytes)
{
	struct budget b = { 0, lim->unpacked_bytes, 0 };
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };
	enum ss_proto_verdict v;

	*out = NULL;
	if (len > lim->wire_bytes)
		return SS_PROTO_TOO_LARGE;
	if ((v = ss_proto_check_wire(desc, buf, len)) != SS_PROTO_OK)
		return v;
	*out = protobuf_c_message_unpack(desc, &a, len, buf);
	if (!*out)
		return b.over ? SS_PROTO_TOO_LARGE_UNPACKED : SS_PROTO_MALFORMED;
	if (cost_bytes)
		*cost_bytes = b.live;
	return SS_PROTO_OK;
}

ProtobufCMessage *ss_proto_unpack(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, size_t max_len)
{
	struct ss_proto_limits lim = { max_len, SIZE_MAX };
	ProtobufCMessage *m;

	if (max_len < SIZE_MAX / SS_PROTO_EXPANSION)
		lim.unpacked_bytes = max_len * SS_PROTO_EXPANSION;
	return ss_proto_unpack_limited(desc, buf, len, &lim, &m, NULL) == SS_PROTO_OK ? m : NULL;
}

void *ss_proto_pack(const ProtobufCMessage *msg, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	void *buf = malloc(n ? n : 1);

	if (buf)
		*len = protobuf_c_message_pack(msg, buf);
	return buf;
}

size_t ss_proto_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t ss_proto_varint_put(uint8_t *buf, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	return n;
}

size_t ss_proto_len_head_put(uint8_t *buf, uint32_t field, size_t len)
{
	size_t n = ss_proto_varint_put(buf, (uint64_t)field << 3 | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);

	return n + ss_proto_varint_put(buf + n, len);
}

static void free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

int ss_proto_send_packed(void *sock, void *buf, size_t len, int flags)
{
	zmq_msg_t zm;

	/* zmq owns buf from here and frees it once sent. */
	zmq_msg_init_data(&zm, buf, len, free_buf, NULL);
	if (zmq_msg_send(&zm, sock, flags) < 0) {
		int e = errno;

		zmq_msg_close(&zm);
		errno = e;
		return -1;
	}
	return 0;
}

int ss_proto_send(void *sock, const ProtobufCMessage *msg, int flags)
{
	size_t len;
	void *buf = ss_proto_pack(msg, &len);

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	return ss_proto_send_packed(sock, buf, len, flags);
}
