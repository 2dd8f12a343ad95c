/* ss_link: ZeroMQ sockets as storesync uses them. Every socket gets the same
 * safety options here (linger, message size limit, heartbeats, reconnect
 * backoff), so no call site can forget one (docs/design.md, "Dependency
 * traps designed around"). */
#ifndef SS_LINK_H
#define SS_LINK_H

#include <stddef.h>
#include <zmq.h>

/* Messages a ROUTER queues per peer before it stops reading that peer. */
#define SS_LINK_ROUTER_RCVHWM 8

/* Creates a socket of type with the common options. heartbeat_ms 0 leaves
 * ZeroMQ heartbeats off (local sockets); otherwise the link is declared dead
 * after 3 heartbeats without traffic. NULL with a reason on failure. */
void *ss_link_socket(void *ctx, int type, int heartbeat_ms, char *err, size_t errlen);

/* Receives every frame of one message. Up to max frames are kept in frames
 * (initialised by this call; close them with ss_link_close_frames); the
 * rest are read and dropped. Returns the total frame count (may exceed max:
 * the caller refuses such a message), or -1 with errno set. */
int ss_link_recv(void *sock, zmq_msg_t *frames, int max, int flags);
void ss_link_close_frames(zmq_msg_t *frames, int n);

#endif
