/* ss_link: socket set-up shared by the daemons and the command-line tools,
 * and the store link's liveness and reconnect options (why ZMTP heartbeats
 * stay off: ss_link.h). */
#include "ss_link.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ss_fs.h"
#include "ss_proto.h"
#include "ss_time.h"

void *ss_link_socket(void *ctx, int type, char *err, size_t errlen)
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

/* A dead peer is found after KEEPALIVE_IDLE_S without a byte from it and
 * KEEPALIVE_CNT unanswered probes KEEPALIVE_INTVL_S apart: about a minute.
 * Keepalive only probes an idle connection; one with data the peer never
 * acknowledges (the hub's answers to a store whose line died) would wait
 * for the kernel's retransmissions, about 15 minutes, so USER_TIMEOUT_MS
 * (ZMQ_TCP_MAXRT, TCP_USER_TIMEOUT) ends it after a minute too: a store
 * holds at most two link connections (hub_zap.c), and dead ones must not
 * keep its place for long. The kernel does it, per connection, at no cost
 * to the I/O thread. */
#define KEEPALIVE_IDLE_S 30
#define KEEPALIVE_INTVL_S 10
#define KEEPALIVE_CNT 3
#define USER_TIMEOUT_MS 60000

void *ss_link_store_socket(void *ctx, int type, const struct ss_link_store_opts *o, char *err,
	size_t errlen)
{
	void *s = ss_link_socket(ctx, type, err, errlen);
	int on = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT,
		maxrt = USER_TIMEOUT_MS;

	if (!s)
		return NULL;
	zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE, &on, sizeof on);
	zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof idle);
	zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof intvl);
	zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE_CNT, &cnt, sizeof cnt);
	zmq_setsockopt(s, ZMQ_TCP_MAXRT, &maxrt, sizeof maxrt);
	if (type == ZMQ_ROUTER)
		zmq_setsockopt(s, ZMQ_BACKLOG, &o->backlog, sizeof o->backlog);
	if (type == ZMQ_DEALER) {
		/* Drawn once per socket in [ivl/2, 3 ivl/2): libzmq's own jitter is
		 * only up to one interval, and the same base everywhere would keep
		 * a fleet's retries in step, wave after wave. */
		int ivl = o->reconnect_ms / 2 + 1
			+ (int)ss_link_backoff_ms(o->reconnect_ms, o->reconnect_ms, 0);

		zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
		zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &o->reconnect_max_ms,
			sizeof o->reconnect_max_ms);
	}
	return s;
}

int64_t ss_link_backoff_ms(int64_t base_ms, int64_t max_ms, unsigned attempt)
{
	int64_t cap = base_ms;
	uint64_t r = 0;

	while (attempt-- > 0 && cap < max_ms)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap <= 0)
		return 0;
	/* Without the kernel's randomness a clock-seeded fallback still differs
	 * from store to store. */
	if (ss_fs_random64(&r) != 0)
		r = (uint64_t)ss_mono_ms() * 0x9E3779B97F4A7C15ull;
	return (int64_t)(r % (uint64_t)cap);
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

void *ss_link_monitor(void *ctx, void *sock, const char *ep, int events)
{
	int linger = 0, unbounded = 0;
	void *pair;

	if (zmq_socket_monitor(sock, ep, events) != 0 || !(pair = zmq_socket(ctx, ZMQ_PAIR)))
		return NULL;
	if (zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger) != 0
		|| zmq_setsockopt(pair, ZMQ_RCVHWM, &unbounded, sizeof unbounded) != 0
		|| zmq_connect(pair, ep) != 0) {
		int e = errno;

		zmq_close(pair);
		errno = e;
		return NULL;
	}
	return pair;
}

void ss_link_close_watched(void *sock, void *pair)
{
	if (sock) {
		zmq_socket_monitor(sock, NULL, 0);
		zmq_close(sock);
	}
	if (pair)
		zmq_close(pair);
}

int ss_link_monitor_event(void *pair, uint16_t *event, int32_t *value)
{
	zmq_msg_t f[2];
	int n = ss_link_recv(pair, f, 2, ZMQ_DONTWAIT);

	if (n <= 0)
		return 0;
	*event = 0;
	*value = -1;
	if (zmq_msg_size(&f[0]) >= 6) {
		memcpy(event, zmq_msg_data(&f[0]), sizeof *event);
		memcpy(value, (uint8_t *)zmq_msg_data(&f[0]) + 2, sizeof *value);
	}
	ss_link_close_frames(f, n < 2 ? n : 2);
	return 1;
}
