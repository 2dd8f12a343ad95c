/* ss_proto: protobuf-c glue. Unpacking checks the length first (protobuf-c
 * has no limit of its own) and treats any failure as "malformed". */
#ifndef SS_PROTO_H
#define SS_PROTO_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

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

/* Unpacks buf, or returns NULL when len > max_len or the bytes do not parse.
 * Free the result with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *ss_proto_unpack(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, size_t max_len);

/* Packs msg into a newly malloc'd buffer; *len receives its size. NULL on OOM. */
void *ss_proto_pack(const ProtobufCMessage *msg, size_t *len);

/* Sends msg as one ZeroMQ frame (flags as zmq_send, e.g. ZMQ_DONTWAIT).
 * Returns 0 or -1 with errno set. */
int ss_proto_send(void *sock, const ProtobufCMessage *msg, int flags);

#endif
