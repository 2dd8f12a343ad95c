/* ss_admit: at most N live connections on one listening socket, counted
 * from its socket monitor (ACCEPTED and DISCONNECTED carry the descriptor).
 * A connection past N is shut down as soon as its ACCEPTED is read: libzmq
 * sees it end and closes the descriptor. The hub's store link (max_stores,
 * hq-hub/hub_listen.c) and the agent's local endpoint (max_local_clients,
 * store-agent/agent_local.c) both keep one. Not thread-safe: the thread
 * that reads the monitor owns it. */
#ifndef SS_ADMIT_H
#define SS_ADMIT_H

#include <stddef.h>
#include <stdint.h>

struct ss_admit {
	int64_t max;           /* connections admitted at once */
	int64_t admitted;      /* open now and admitted */
	const char *bound;     /* the listener's endpoint as bound (ZMQ_LAST_ENDPOINT);
	                        * read at each refusal; "" when not known */
	uint8_t *state;        /* by descriptor */
	size_t n_state;
};

/* Room for every descriptor below the soft RLIMIT_NOFILE (raise it
 * first). bound is the caller's, alive as long as g. 0, or -1 (errno). */
int ss_admit_init(struct ss_admit *g, int64_t max, const char *bound);
void ss_admit_free(struct ss_admit *g);
/* An ACCEPTED event: 1 admitted, 0 refused (the descriptor, when it is
 * still the listener's, shut down). */
int ss_admit_accepted(struct ss_admit *g, int fd);
/* A DISCONNECTED event: the connection on fd, admitted or refused, ended.
 * A refused descriptor stays refused until it is accepted again: its
 * messages that libzmq read before the shutdown may still be waiting. */
void ss_admit_closed(struct ss_admit *g, int fd);

enum { SS_ADMIT_UNKNOWN, SS_ADMIT_ADMITTED, SS_ADMIT_REFUSED };
/* What g knows of descriptor fd (a message's ZMQ_SRCFD): SS_ADMIT_*;
 * unknown for a connection whose ACCEPTED was not read yet. */
int ss_admit_state(const struct ss_admit *g, int fd);

#endif
