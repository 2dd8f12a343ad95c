/* hub_downstream: delivering the update log to connected stores. */
#ifndef HUB_DOWNSTREAM_H
#define HUB_DOWNSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

struct hub;
struct hub_peer;

struct hub_down_sent {
	uint64_t id;               /* update id (a snapshot's parts share one) */
	size_t bytes;
};

/* Per connection: how far the store is, what is in flight. */
struct hub_down {
	UT_hash_handle hh;         /* in hub.store_peers by store: its current connection */
	char key[33];              /* the store id, once current */
	struct hub_peer *peer;
	int ready;                 /* welcomed: updates may flow */
	char region[40];
	uint64_t applied;          /* what the store reports applied */
	uint64_t sent_through;     /* newest update sent: the next one's after_id */
	struct hub_down_sent *inflight;
	size_t n_inflight, cap_inflight, inflight_bytes;
	int64_t progress_mono;     /* last ack progress, or the first send after it */
	int pending;               /* in the pending list */
	struct hub_down *prev, *next;
};

/* A store said Hello on this connection (after the commit): it becomes the
 * store's current connection and resumes after `applied`. */
void hub_down_hello(struct hub *h, struct hub_peer *p, const char *region, uint64_t applied);
/* The store committed every update through applied. */
void hub_down_ack(struct hub *h, struct hub_peer *p, uint64_t applied);
/* A store's heartbeat reported applied (never moves delivery back). */
void hub_down_heard(struct hub *h, struct hub_peer *p, uint64_t applied);
/* New updates committed for store_id (NULL: for any store): wake it, or
 * every connected store (the pump sends each only what targets it). */
void hub_down_wake_store(struct hub *h, const char *store_id);
/* A store's region changed in the registry. */
void hub_down_region(struct hub *h, const char *store_id, const char *region);
/* The connection goes away. */
void hub_down_forget(struct hub *h, struct hub_peer *p);
/* Sends what the window and the memory bound allow to pending stores. */
void hub_down_pump(struct hub *h);
/* Timeouts: in-flight updates not acknowledged for long are sent again. */
void hub_down_tick(struct hub *h);
/* 1 while some store has updates waiting to be sent. */
int hub_down_busy(struct hub *h);
void hub_down_free(struct hub *h);

#endif
