/* hq-hub: the daemon's one context struct and the interfaces between its
 * parts. Data path: hub_ingest (one writer thread: read every waiting link
 * message, apply them in one LMDB transaction, commit, then ack) ->
 * hub_store (per-store state and the effect of each record) -> hub_query
 * (its own thread, read transactions only, never blocks ingest). */
#ifndef HUB_H
#define HUB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ss_lmdb.h"
#include "ss_log.h"
#include "ss_proto.h"

struct hub_config {
	char data_dir[1024];
	char listen[512];          /* ROUTER for store links */
	char query[512];           /* ROUTER for hqctl */
	int64_t budget_bytes;      /* LMDB map may grow up to this */
	int64_t group_records;     /* records per group commit, at most */
	int64_t heartbeat_ms;
	int64_t clock_offset_ms;   /* test clock: shifts the hub's wall clock */
	int64_t foreground;
};

/* Counters, read by the query thread while ingest writes them. */
struct hub_stats {
	atomic_uint_fast64_t commits, batches, records_applied, duplicates, gaps, refused_records;
	atomic_uint_fast64_t malformed, unknown_kind, invalid, bad_version, hellos, heartbeats;
	atomic_uint_fast64_t commit_failures, oversized;
};

struct hub_peer;   /* per-connection bookkeeping, in hub_ingest.c */
struct hub_group;  /* one group commit's work, in hub_ingest.c */

struct hub {
	struct hub_config cfg;
	struct ss_lmdb db;
	MDB_dbi events;            /* store_id '\0' epoch(BE) seq(BE) -> packed Record */
	MDB_dbi stores;            /* store_id -> packed StoreState */
	MDB_dbi epochs;            /* store_id '\0' epoch(BE) -> high-water seq (BE) */
	void *zctx;
	void *router;
	void *query_sock;          /* owned by the query thread once it runs */
	struct hub_peer *peers;    /* uthash, by routing id */
	struct hub_group *group;
	struct hub_stats stats;
	pthread_t query_thread;
	atomic_int stopping;
};

int hub_open_db(struct hub *h, char *err, size_t errlen);

/* Runs the ingest loop on the calling thread until h->stopping. */
int ingest_run(struct hub *h, char *err, size_t errlen);
void ingest_free_peers(struct hub *h);

int query_start(struct hub *h, char *err, size_t errlen);
void query_stop(struct hub *h);

/* hub_store: state of one store inside a write transaction. */
struct hub_store {
	char store_id[33];
	Storesync__StoreState *state;  /* owned; written back by hub_store_save */
	uint64_t epoch;                /* epoch being applied */
	uint64_t hw;                   /* high-water seq of that epoch */
	int dirty;
	uint64_t applied_now, refused_now; /* this transaction's counts, for stats */
};

/* Loads store_id's state and the high-water mark of epoch (0 for a new one). */
int hub_store_load(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	struct hub_store *s);
/* Switches s to another epoch of the same store. */
int hub_store_switch_epoch(struct hub *h, MDB_txn *txn, struct hub_store *s, uint64_t epoch);
int hub_store_save(struct hub *h, MDB_txn *txn, struct hub_store *s);
void hub_store_release(struct hub_store *s);
/* Stores record seq (== s->hw + 1) and applies its effect; advances hw.
 * An invalid record is kept, counted as refused, and has no effect. */
int hub_store_apply(struct hub *h, MDB_txn *txn, struct hub_store *s, Storesync__Record *r,
	int64_t now_ms);
void hub_store_heartbeat(struct hub_store *s, const Storesync__Heartbeat *hb);

#endif
