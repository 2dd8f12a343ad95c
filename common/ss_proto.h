/* ss_proto: protobuf-c glue, and the one gate every message from a peer
 * passes. Unpacking checks the length first (protobuf-c has no limit of its
 * own), then the wire form (every string exactly as sent), then unpacks
 * within a byte budget; any failure is a refusal with a reason. */
#ifndef SS_PROTO_H
#define SS_PROTO_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "link.pb-c.h"
#include "local.pb-c.h"
#include "query.pb-c.h"
#include "record.pb-c.h"
#include "state.pb-c.h"

#define SS_PROTO_VERSION 1u
#define SS_MAX_MSG_BYTES (16u * 1024u * 1024u)

/* What QueryReply.service and LocalReply.service say. */
#define SS_SERVICE_HUB "hq-hub"
#define SS_SERVICE_AGENT "store-agent"

/* What one message may cost once unpacked (heap bytes as malloc counts
 * them), per door; docs/security.md "Resource bounds" derives them. The
 * link's must take any batch an agent builds (4 MiB of records plus one,
 * each record at most 1 MiB, about 13 bytes unpacked per byte at worst);
 * the operators' must take a price push of 200,000 entries. */
#define SS_LINK_UNPACKED_MAX_BYTES ((size_t)96 << 20)
#define SS_LOCAL_UNPACKED_MAX_BYTES ((size_t)64 << 20)
#define SS_QUERY_UNPACKED_MAX_BYTES ((size_t)64 << 20)
/* ss_proto_unpack's budget: this many unpacked bytes per byte of its
 * max_len (what the daemons read from their own kind: the hub's updates at
 * the agent, replies, storage). 64 MiB for a 16 MiB message takes the
 * largest update the hub sends (200,000 prices cost 40 MiB). */
#define SS_PROTO_EXPANSION 4u

/* What ss_proto_unpack_limited says of a message. */
enum ss_proto_verdict {
	SS_PROTO_OK = 0,
	SS_PROTO_TOO_LARGE,           /* more bytes than the door takes */
	SS_PROTO_TOO_LARGE_UNPACKED,  /* would cost more than the door's budget */
	SS_PROTO_MALFORMED,           /* does not parse as the message */
	SS_PROTO_NUL_IN_STRING,       /* a string field holds a NUL byte */
};

struct ss_proto_limits {
	size_t wire_bytes;            /* largest packed message taken */
	size_t unpacked_bytes;        /* most it may cost once unpacked */
};

extern const struct ss_proto_limits ss_limits_link, ss_limits_local, ss_limits_query;

/* What the refusals say: "message does not parse", ... (no trailing dot). */
const char *ss_proto_verdict_text(enum ss_proto_verdict v);

/* Unpacks a message from a peer. SS_PROTO_OK with *out (free it with
 * protobuf_c_message_free_unpacked(msg, NULL)) and, when cost_bytes is not
 * NULL, what it holds on the heap; otherwise the refusal and *out NULL.
 * A string with an embedded NUL is refused, never cut: protobuf-c would hand
 * it over NUL-terminated, shorter than sent. */
enum ss_proto_verdict ss_proto_unpack_limited(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, const struct ss_proto_limits *lim, ProtobufCMessage **out,
	size_t *cost_bytes);

/* Step 2 alone, for unpackers with an allocator of their own (ss_arena):
 * SS_PROTO_OK when every field of buf is well formed and no string holds a
 * NUL, else why not. */
enum ss_proto_verdict ss_proto_check_wire(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len);

/* The same with a wire limit of max_len and a budget of SS_PROTO_EXPANSION
 * bytes per byte of it; NULL when refused for any reason. */
ProtobufCMessage *ss_proto_unpack(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, size_t max_len);

/* Packs msg into a newly malloc'd buffer; *len receives its size. NULL on OOM. */
void *ss_proto_pack(const ProtobufCMessage *msg, size_t *len);

/* The wire form, for a message framed around parts already packed (the
 * agent's batches around records as they lie in its outbox): a varint's
 * size, a varint written at buf (returns its bytes), and the head of a
 * length-delimited field, tag (field << 3 | 2) then len, at most
 * SS_PROTO_LEN_HEAD_MAX bytes. */
#define SS_PROTO_LEN_HEAD_MAX 15u
size_t ss_proto_varint_size(uint64_t v);
size_t ss_proto_varint_put(uint8_t *buf, uint64_t v);
size_t ss_proto_len_head_put(uint8_t *buf, uint32_t field, size_t len);
/* Reads the varint at *p (before end) into *v and moves *p past it: 0, or
 * -1 when it is cut or longer than 64 bits (the gate's own reading). */
int ss_proto_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Sends msg as one ZeroMQ frame (flags as zmq_send, e.g. ZMQ_DONTWAIT).
 * Returns 0 or -1 with errno set. */
int ss_proto_send(void *sock, const ProtobufCMessage *msg, int flags);
/* The same for a message already packed into buf (malloc'd): the frame
 * takes buf, which is freed once sent, or at once when not sent. */
int ss_proto_send_packed(void *sock, void *buf, size_t len, int flags);

#endif
