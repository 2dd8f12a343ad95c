/* ss_link: socket set-up shared by the daemons and the command-line tools. */
#include "ss_link.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ss_proto.h"

void *ss_link_socket(void *ctx, int type, int heartbeat_ms, char *err, size_t errlen)
{
	void *s = zmq_socket(ctx, type);
	int linger_ms = 0, ivl_ms = 100, ivl_max_ms = 5000;
	/* ZeroMQ drops the connection past this; between SS_MAX_MSG_BYTES and
	 * it, the application refuses the message with a reason and counts it.
	 * libzmq checks it where it decodes a byte stream (tcp, ipc); an inproc
	 * socket passes messages between our own threads, each bounded where it
	 * came in, so there the option is set for uniformity, not relied on. */
	int64_t max_bytes = SS_MAX_MSG_BYTES + (1 << 20);

	if (!s) {
		snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
		return NULL;
	}
	/* Unsent data is never what keeps a record safe (the outbox is), so
	 * closing must not block. */
	zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes);
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl_ms, sizeof ivl_ms);
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max_ms, sizeof ivl_max_ms);
	if (heartbeat_ms > 0) {
		int timeout_ms = heartbeat_ms * 3;

		zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &heartbeat_ms, sizeof heartbeat_ms);
		zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof timeout_ms);
		zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &timeout_ms, sizeof timeout_ms);
	}
	if (type == ZMQ_ROUTER) {
		int on = 1, hwm = SS_LINK_ROUTER_RCVHWM;

		zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
		/* What libzmq queues per connection before it stops reading it (TCP
		 * then pushes back; nothing is dropped): with the frame limit, the
		 * bound on what one peer can park in the daemon (docs/security.md). */
		zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
	}
	return s;
}

int ss_link_recv(void *sock, zmq_msg_t *frames, int max, int flags)
{
	int n = 0, more = 1;

	while (more) {
		zmq_msg_t scratch, *m = n < max ? &frames[n] : &scratch;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, n == 0 ? flags : 0) < 0) {
			int e = errno;

			zmq_msg_close(m);
			ss_link_close_frames(frames, n < max ? n : max);
			errno = e;
			return -1;
		}
		more = zmq_msg_more(m);
		if (m == &scratch)
			zmq_msg_close(m);
		n++;
	}
	return n;
}

void ss_link_close_frames(zmq_msg_t *frames, int n)
{
	for (int i = 0; i < n; i++)
		zmq_msg_close(&frames[i]);
}
