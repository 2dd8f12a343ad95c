/* ss_arena: a bump allocator for protobuf-c, so a message with tens of
 * thousands of fields (a price list, a batch of records) is unpacked with a
 * few large allocations instead of one malloc per field, and freed in one
 * go. An optional byte budget makes an unpack fail instead of taking
 * unbounded memory. */
#ifndef SS_ARENA_H
#define SS_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "ss_proto.h"

struct ss_arena_chunk;

struct ss_arena {
	ProtobufCAllocator allocator;  /* pass &arena.allocator to protobuf-c */
	struct ss_arena_chunk *chunks;
	size_t used, budget;           /* budget 0: ss_arena_unpack bounds each unpack as
	                                * ss_proto_unpack does (4 bytes per byte of max_len) */
	int over;                      /* an allocation was refused for the budget */
	size_t chunk_bytes;            /* the next chunk's size: small first, doubling, so
	                                * an arena per answer costs a small one little */
};

/* Where an arena stands, to go back to (ss_arena_rewind). */
struct ss_arena_mark {
	struct ss_arena_chunk *chunk;
	size_t chunk_used, used;
};

void ss_arena_init(struct ss_arena *a, size_t budget_bytes);
/* Frees everything allocated from a; a can be used again. */
void ss_arena_release(struct ss_arena *a);

/* Like ss_arena_release, but keeps the newest chunk for what comes next:
 * for a loop that unpacks one small message after another. */
void ss_arena_reset(struct ss_arena *a);

/* Where a stands now; { 0 } is an empty arena. */
struct ss_arena_mark ss_arena_mark(const struct ss_arena *a);
/* Gives back everything allocated since m: for a loop that unpacks many
 * small messages into one arena and drops some of them at once. Back to
 * the empty mark, one standard chunk is kept for what comes next. */
void ss_arena_rewind(struct ss_arena *a, const struct ss_arena_mark *m);

/* Unpacks buf (at most max_len bytes) with a's memory; NULL when it does not
 * parse, holds a string with a NUL (ss_proto's gate), or would pass the
 * budget. Free with ss_arena_release, never with
 * free_unpacked. */
ProtobufCMessage *ss_arena_unpack(struct ss_arena *a, const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, size_t max_len);

/* ss_proto_unpack_limited into a (the gate's three steps, the budget of
 * lim for this one message): the verdict, *out in a when SS_PROTO_OK, and
 * in *cost_bytes what it took of a. A refused message leaves a as it was. */
enum ss_proto_verdict ss_arena_unpack_limited(struct ss_arena *a,
	const ProtobufCMessageDescriptor *desc, const void *buf, size_t len,
	const struct ss_proto_limits *lim, ProtobufCMessage **out, size_t *cost_bytes);

#endif
