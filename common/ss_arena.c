/* ss_arena: chunks of FIRST_CHUNK_BYTES, then twice as large each up to
 * CHUNK_BYTES, each request carved from the current chunk (16-byte
 * aligned); a request larger than a chunk gets a chunk of its own. free()
 * of a single allocation does nothing: everything goes at
 * ss_arena_release. */
#include "ss_arena.h"

#include <stdint.h>
#include <stdlib.h>

#include "ss_proto.h"

#define FIRST_CHUNK_BYTES (4u << 10)
#define CHUNK_BYTES (256u << 10)
#define ALIGN 16u

struct ss_arena_chunk {
	struct ss_arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

static void *arena_alloc(void *data, size_t size)
{
	struct ss_arena *a = data;
	struct ss_arena_chunk *c = a->chunks;
	size_t want = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (a->budget && a->used + want > a->budget) {
		a->over = 1;
		return NULL;
	}
	if (!c || c->size - c->used < want) {
		size_t size_c = want > a->chunk_bytes ? want : a->chunk_bytes;

		if (!(c = malloc(sizeof *c + size_c)))
			return NULL;
		if (a->chunk_bytes < CHUNK_BYTES)
			a->chunk_bytes *= 2;
		c->size = size_c;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
	}
	p = (uint8_t *)c->data + c->used;
	c->used += want;
	a->used += want;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

void ss_arena_init(struct ss_arena *a, size_t budget_bytes)
{
	a->allocator.alloc = arena_alloc;
	a->allocator.free = arena_free;
	a->allocator.allocator_data = a;
	a->chunks = NULL;
	a->used = 0;
	a->budget = budget_bytes;
	a->over = 0;
	a->chunk_bytes = FIRST_CHUNK_BYTES;
}

void ss_arena_release(struct ss_arena *a)
{
	while (a->chunks) {
		struct ss_arena_chunk *next = a->chunks->next;

		free(a->chunks);
		a->chunks = next;
	}
	a->used = 0;
}

void ss_arena_reset(struct ss_arena *a)
{
	struct ss_arena_chunk *keep = a->chunks;

	if (!keep)
		return;
	a->chunks = keep->next;
	keep->next = NULL;
	ss_arena_release(a);
	keep->used = 0;
	a->chunks = keep;
}

struct ss_arena_mark ss_arena_mark(const struct ss_arena *a)
{
	struct ss_arena_mark m = { a->chunks, a->chunks ? a->chunks->used : 0, a->used };

	return m;
}

/* Back to empty: every chunk goes but one of the standard sizes (the
 * newest: the largest the doubling reached), kept for what comes next. */
static void rewind_to_empty(struct ss_arena *a)
{
	struct ss_arena_chunk *keep = NULL;

	while (a->chunks) {
		struct ss_arena_chunk *c = a->chunks;

		a->chunks = c->next;
		if (!keep && c->size <= CHUNK_BYTES)
			keep = c;
		else
			free(c);
	}
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
		a->chunks = keep;
	}
	a->used = 0;
}

void ss_arena_rewind(struct ss_arena *a, const struct ss_arena_mark *m)
{
	if (!m->chunk) {
		rewind_to_empty(a);
		return;
	}
	/* Chunks are a stack, newest first: those above the mark's go. */
	while (a->chunks && a->chunks != m->chunk) {
		struct ss_arena_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
	m->chunk->used = m->chunk_used;
	a->used = m->used;
}

/* What comes in passes ss_proto's gate: strings exactly as sent, and a
 * bound on what the message costs: the arena's budget, or when it has none
 * ss_proto_unpack's (SS_PROTO_EXPANSION bytes per byte of max_len). */
ProtobufCMessage *ss_arena_unpack(struct ss_arena *a, const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, size_t max_len)
{
	size_t budget = a->budget;
	ProtobufCMessage *m;

	if (len > max_len || ss_proto_check_wire(desc, buf, len) != SS_PROTO_OK)
		return NULL;
	if (!budget && max_len < SIZE_MAX / SS_PROTO_EXPANSION)
		a->budget = a->used + max_len * SS_PROTO_EXPANSION;
	m = protobuf_c_message_unpack(desc, &a->allocator, len, buf);
	a->budget = budget;
	return m;
}

enum ss_proto_verdict ss_arena_unpack_limited(struct ss_arena *a,
	const ProtobufCMessageDescriptor *desc, const void *buf, size_t len,
	const struct ss_proto_limits *lim, ProtobufCMessage **out, size_t *cost_bytes)
{
	struct ss_arena_mark m = ss_arena_mark(a);
	size_t budget = a->budget, mine = lim->unpacked_bytes > SIZE_MAX - a->used ? SIZE_MAX
		: a->used + lim->unpacked_bytes;
	enum ss_proto_verdict v;

	*out = NULL;
	if (len > lim->wire_bytes)
		return SS_PROTO_TOO_LARGE;
	if ((v = ss_proto_check_wire(desc, buf, len)) != SS_PROTO_OK)
		return v;
	/* This message's budget, within the arena's own when it has one.
	 * protobuf-c's scratch stays in the arena (its frees do nothing), so
	 * it counts too, as it did while live with malloc. */
	a->budget = budget && budget < mine ? budget : mine;
	a->over = 0;
	*out = protobuf_c_message_unpack(desc, &a->allocator, len, buf);
	a->budget = budget;
	if (!*out) {
		v = a->over ? SS_PROTO_TOO_LARGE_UNPACKED : SS_PROTO_MALFORMED;
		ss_arena_rewind(a, &m);
		return v;
	}
	if (cost_bytes)
		*cost_bytes = a->used - m.used;
	return SS_PROTO_OK;
}
