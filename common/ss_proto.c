/* ss_proto: the only place that turns bytes into protobuf structs and back.
 * Unpacking is bounded by length before protobuf-c sees the bytes. */
#include "ss_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

ProtobufCMessage *ss_proto_unpack(const ProtobufCMessageDescriptor *desc,
	const void *buf, size_t len, size_t max_len)
{
	if (len > max_len)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, len, buf);
}

void *ss_proto_pack(const ProtobufCMessage *msg, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	void *buf = malloc(n ? n : 1);

	if (buf)
		*len = protobuf_c_message_pack(msg, buf);
	return buf;
}

static void free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

int ss_proto_send(void *sock, const ProtobufCMessage *msg, int flags)
{
	zmq_msg_t zm;
	size_t len;
	void *buf = ss_proto_pack(msg, &len);

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
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
