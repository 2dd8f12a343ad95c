/* fleet: the parts of the fleet simulator (ss-fleet, bench/ss_fleet.c).
 *
 * N simulated stores, spread over a few worker processes, each store its
 * own DEALER link doing what store-agent does on it (agent_sender.c): Hello
 * on every connection, Welcome, batches of consecutive records within a
 * window, cumulative acks, resends from the last ack, application
 * heartbeats, reconnects with the agent's backoff, and the down-flow:
 * every Update applied into the store's own LMDB by the agent's own code
 * (agent_apply.c) and answered with an UpdateAck. Each store speaks
 * CurveZMQ with a key pair of its own, registered at the hub (unless
 * --insecure), and connects from an address of its own on the loopback
 * network (127.1.0.0/16), as stores do from their own networks: the hub's
 * door keeper limits connections and handshakes per address. Records live in memory
 * (the hub is what is measured, not the agent's outbox). A worker takes
 * commands from the driver (ss_fleet.c) over an ipc socket and reports its
 * counts and an ack-latency histogram.
 *
 *   fleet_store.c   one store's link, message by message
 *   fleet_worker.c  a worker process: its stores' event loop, commands
 *   fleet_hub.c     the driver's view of the hub: process, /proc, queries
 *   fleet_hist.c    latency histogram */
#ifndef FLEET_H
#define FLEET_H

#include <stdint.h>

#include "agent.h"
#include "ss_curve.h"

/* Log-linear histogram of microseconds: 64 buckets per power of two
 * (about 1.1% wide), up to 2^40 us. */
#define FLEET_HIST_SUB 64
#define FLEET_HIST_BUCKETS (41 * FLEET_HIST_SUB)

struct fleet_hist {
	uint64_t n[FLEET_HIST_BUCKETS];
	uint64_t count;
	int64_t max_us;
};

void fleet_hist_add(struct fleet_hist *h, int64_t us);
void fleet_hist_merge(struct fleet_hist *into, const struct fleet_hist *h);
/* The value at percentile pct (0..100), in microseconds (0 when empty). */
int64_t fleet_hist_pct_us(const struct fleet_hist *h, double pct);

/* How the simulated stores behave: the agent's settings, and where. */
struct fleet_opts {
	char hub[256];            /* the hub's store link endpoint */
	char dir[512];            /* the run's directory: control socket, stores' LMDBs */
	int first, count;         /* this worker's stores: indexes first..first+count-1 */
	int heartbeat_ms, hub_timeout_ms, reconnect_ms, reconnect_max_ms, ack_timeout_ms;
	int batch_records, window_batches;
	int legacy;               /* the agent before issue 14: ZMTP heartbeats, old backoff */
	int insecure;             /* plaintext links (the hub runs --insecure) */
	char hub_key[SS_CURVE_KEY_CHARS + 1];   /* the hub's public key */
	const struct ss_curve_pair *keys;       /* every store's key pair, by index */
	int sync_apply;           /* apply with fsync (default off: see fleet_store.c) */
	uint64_t run_id;          /* epochs derive from it: stable across hub restarts */
};

/* One simulated store. */
struct fleet_store {
	char id[16];
	uint64_t epoch;
	uint64_t rng;             /* this store's random stream (arrivals) */
	int64_t due_mono;         /* its next timed work (the worker's scan) */
	int sent;                 /* something was sent since the link was last read */
	void *sock, *monitor;
	char endpoint[300];       /* the hub's, from this store's own address when tcp */
	/* The outbox, in memory: records 1..last_seq, creation times of the
	 * unacknowledged ones in a ring (index seq % ring_cap). */
	uint64_t last_seq, acked_seq, sent_seq;
	int64_t *created_us;      /* monotonic us; wall ms is derived for time_ms */
	int64_t *time_ms;
	size_t ring_cap;
	/* The link, as agent_sender keeps it. */
	int linked, welcomed;
	int64_t linked_mono, heard_mono, hello_mono, progress_mono, heartbeat_mono;
	int64_t reconnect_mono;   /* dropped (refused, silent hub): connect again then */
	unsigned drops;           /* since the last Welcome: the backoff's exponent */
	int64_t next_record_mono; /* 0: no records (rate 0) */
	/* Recovery after a hub restart (FLEET_CMD_MARK). */
	uint64_t mark_seq;        /* records to be acked again */
	int welcomed_since_mark;
	int ever_welcomed;
	/* The down-flow: the store's LMDB, opened at the first Update. */
	struct agent_db *db;
	struct agent_apply apply;
};

/* What a worker counts (summed by the driver). */
struct fleet_counts {
	uint64_t stores, linked, welcomed, ever_welcomed, recovered, applied;
	uint64_t created, acked, batches, resends, reconnects, hub_errors, hellos, heartbeats;
	uint64_t updates, update_acks, apply_failures, refusals;
};

struct fleet_report {
	struct fleet_counts c;
	struct fleet_hist ack;    /* record created -> covered by an Ack */
};

/* fleet_store.c: the link of one store, driven by its worker. */
struct fleet_ctx {
	const struct fleet_opts *o;
	void *zctx;
	double rate_per_store;    /* records per second */
	struct fleet_counts *c;
	struct fleet_hist *ack;
	/* An empty store LMDB (data.mdb) that each store starts from: creating
	 * the agent's databases costs a synced commit each, thousands of
	 * stores' worth of them would take minutes. */
	const void *db_seed;
	size_t db_seed_len;
};

/* The id of store index ("F00042"). */
void fleet_store_name(int index, char *out, size_t len);
int fleet_store_open(struct fleet_ctx *x, struct fleet_store *s, int index, char *err,
	size_t errlen);
void fleet_store_close(struct fleet_store *s);
/* Connects to the hub (the cold start). */
int fleet_store_connect(struct fleet_ctx *x, struct fleet_store *s);
/* Handles monitor events and every waiting message. */
void fleet_store_readable(struct fleet_ctx *x, struct fleet_store *s);
/* Every waiting message of the link only (after sending on it). */
void fleet_store_read_link(struct fleet_ctx *x, struct fleet_store *s);
/* Timed work: records due, batches, hellos, heartbeats, resends. Returns
 * the monotonic ms of its next timed work. */
int64_t fleet_store_tick(struct fleet_ctx *x, struct fleet_store *s, int64_t now);
/* The next record is drawn from the current rate (after a rate change). */
void fleet_store_rate(struct fleet_ctx *x, struct fleet_store *s, int64_t now);
/* Remembers what must be acked again after a hub restart. */
void fleet_store_mark(struct fleet_store *s);
int fleet_store_recovered(const struct fleet_store *s);

/* fleet_worker.c: runs in a forked child; connects to the driver at
 * ipc://o->dir/ctl.sock; returns the exit status. */
int fleet_worker_run(const struct fleet_opts *o, int worker);

enum fleet_cmd_op { FLEET_CMD_CONNECT, FLEET_CMD_RATE, FLEET_CMD_RESET, FLEET_CMD_REPORT,
	FLEET_CMD_MARK, FLEET_CMD_STOP };

struct fleet_cmd {
	int op;
	double rate_per_store;
};

#endif
