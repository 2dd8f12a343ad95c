/* ss_link: ZeroMQ sockets as storesync uses them. Every socket gets the same
 * safety options here (linger, message size limit, reconnect backoff), and
 * the store link's two ends get their liveness options here too, so no call
 * site can forget one (docs/design.md, "Dependency traps designed around"). */
#ifndef SS_LINK_H
#define SS_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* Messages a ROUTER queues per peer before it stops reading that peer. */
#define SS_LINK_ROUTER_RCVHWM 8

/* Creates a socket of type with the common options. NULL with a reason on
 * failure. ZeroMQ's own heartbeats (ZMQ_HEARTBEAT_*) stay off on every
 * socket: see ss_link_store_socket. */
void *ss_link_socket(void *ctx, int type, char *err, size_t errlen);

/* How one end of the store link reconnects and listens. */
struct ss_link_store_opts {
	int reconnect_ms;       /* DEALER: first reconnect after about this (jittered) */
	int reconnect_max_ms;   /* DEALER: the backoff doubles up to this */
	int backlog;            /* ROUTER: listen backlog (the kernel caps it at somaxconn) */
};

/* A socket of the store link (the agent's DEALER, the hub's ROUTER): the
 * common options, plus TCP keepalive, so that a peer that vanished without
 * a word (power cut, a cable) is found by the kernel at no cost to us, and,
 * for a DEALER, a reconnect backoff whose first interval is drawn at random
 * around o->reconnect_ms, so a fleet dropped at once by a hub restart does
 * not come back at once (libzmq adds its own jitter and doubles the
 * interval on each failed attempt, up to o->reconnect_max_ms).
 * Liveness above TCP is the application's heartbeat, never ZMTP's: libzmq
 * 4.3.4 keeps an I/O thread's timers in one ordered map and cancels one by
 * walking it (poller_base_t::cancel_timer), and ZMTP heartbeats cancel
 * about two timers per connection and interval, so their cost grows with
 * the square of the connections (issue 14: 56% of a core at 5,000 stores). */
void *ss_link_store_socket(void *ctx, int type, const struct ss_link_store_opts *o, char *err,
	size_t errlen);

/* A reconnect delay with full jitter: uniform in [0, min(max_ms, base_ms *
 * 2^attempt)). Spreads a fleet's reconnects over the whole interval. */
int64_t ss_link_backoff_ms(int64_t base_ms, int64_t max_ms, unsigned attempt);

/* Receives every frame of one message. Up to max frames are kept in frames
 * (initialised by this call; close them with ss_link_close_frames); the
 * rest are read and dropped. Returns the total frame count (may exceed max:
 * the caller refuses such a message), or -1 with errno set. */
int ss_link_recv(void *sock, zmq_msg_t *frames, int max, int flags);
void ss_link_close_frames(zmq_msg_t *frames, int n);
/* One event from a socket monitor's PAIR ([event u16, value u32][endpoint]),
 * without waiting: 1 with *event and *value (0 and -1 for a short frame),
 * 0 when none waits. */
int ss_link_monitor_event(void *pair, uint16_t *event, int32_t *value);
/* Monitors sock (zmq_socket_monitor on inproc endpoint ep, the events
 * given) and returns the PAIR to read them from, or NULL (errno set). The
 * PAIR takes events without bound (ZMQ_RCVHWM 0): libzmq 4.3.4 sends an
 * event from its I/O thread holding the monitor's lock and blocks while
 * the pipe is full, so a reader that stopped reading (a daemon stopping,
 * thousands of connections closing) would hang ss_link_close_watched. */
void *ss_link_monitor(void *ctx, void *sock, const char *ep, int events);
/* Closes a socket that may have a monitor, stopping the monitor first,
 * from the socket's own thread, then the monitor's PAIR (either NULL:
 * nothing). The PAIR goes only after the socket: an event whose send fails
 * (its PAIR closed) is never freed by libzmq 4.3.4, a leak LeakSanitizer
 * reports at exit. A PAIR closed elsewhere (the hub's door keeper holds
 * its own) is passed as NULL and closed after this. */
void ss_link_close_watched(void *sock, void *pair);

#endif
