/* hq-hub: the daemon's one context struct and the interfaces between its
 * parts. Data path: hub_writer (one writer thread: read every waiting work
 * item from the store link and from operators, apply them in one LMDB
 * transaction through each kind's handler, commit, then answer; see
 * hub_work.h) -> hub_store (per-store state and the effect of each record)
 * -> hub_views (the table of databases and views) -> hub_query (its own
 * thread, read transactions only, never blocks ingest; hands operator
 * writes to the writer). */
#ifndef HUB_H
#define HUB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "hub_stats.h"
#include "ss_bizkey.h"
#include "ss_curve.h"
#include "ss_lmdb.h"
#include "ss_log.h"
#include "ss_policy.h"
#include "ss_proto.h"

/* The writer's end of the operators' channel; the query thread connects. */
#define HUB_OPS_ENDPOINT "inproc://hub-ops"

struct hub_config {
	char data_dir[1024];
	char listen[512];          /* ROUTER for store links */
	char query[512];           /* ROUTER for hqctl */
	int64_t budget_bytes;      /* LMDB map may grow up to this */
	int64_t map_initial_bytes; /* map at open (default: the whole budget) */
	int64_t group_records;     /* records per group commit, at most */
	int64_t listen_backlog;    /* store link: connections the kernel queues for accept */
	int64_t max_stores;        /* store link connections served at once (hub_listen.c) */
	int64_t clock_offset_ms;   /* test clock: shifts the hub's wall clock */
	int64_t foreground;
	int64_t query_threads;     /* workers answering operators */
	int64_t notice_scan_ms;    /* how often stale accounts are looked for (notices) */
	int64_t update_retention_days; /* the update log keeps this long; then snapshots */
	int64_t state_flush_ms;    /* what heartbeats said reaches LMDB at least this often */
	int64_t commit_interval_ms; /* a round starts at least this long after the last commit */
	int64_t links_per_source;  /* store-link connections open per address, at most (hub_zap) */
	int64_t handshakes_per_second; /* per address; bursts of twice that */
	char curve_key[1024];      /* the hub's key pair (ss_curve) */
	int64_t insecure;          /* no Curve: plaintext, unauthenticated (a warning) */
	char admin[512];           /* plaintext ipc endpoint for the host's admins ("": none) */
	char admin_group[64];      /* its socket file's group (mode 0660) */
	char http[64];             /* /metrics and the status page: IPV4:PORT or "off" (hub_http) */
	char http_auth[1024];      /* operators' tokens for it, "" for none */
	int64_t metrics_max_stores; /* stores with series of their own in /metrics, at most */
};

struct hub_peer;   /* a store link connection (hub_work.h) */
struct hub_target_entry;
struct hub_down;
struct hub_down_cache;
/* Targets of updates by id, cached for the writer (hub_updates.c). */
struct hub_target_cache {
	struct hub_target_entry *by_id;
};
struct hub_round;  /* one group commit's work (hub_work.h) */
struct hub_live;   /* a store's heartbeats in memory (hub_live.c) */
struct hub_live_sweep;
struct hub_guard;  /* the store link's admission (hub_listen.c) */
struct hub_http;   /* the HTTP listener (hub_http.c) */

/* What hq-export last said of itself (hub_query_export.c), under lock
 * (zeroed is unlocked, as glibc's PTHREAD_MUTEX_INITIALIZER). */
struct hub_export_seen {
	pthread_mutex_t lock;
	uint64_t position, events;     /* change_no exported through; events exported */
	int64_t reported_ms;           /* hub time of the report, 0: none yet */
	char state[160];               /* "ok", or why the exporter is stuck */
};

struct hub {
	struct hub_config cfg;
	struct ss_lmdb db;
	MDB_dbi events;            /* store_id '\0' epoch(BE) seq(BE) -> packed Record */
	MDB_dbi stores;            /* store_id -> packed StoreState */
	/* store_id '\0' epoch(BE) -> high-water seq (BE), of the epochs a store
	 * has left: the epoch in its state has its mark there (hub_store.c). */
	MDB_dbi epochs;
	MDB_dbi biz_keys;          /* store_id '\0' business key -> epoch, seq, time, hash */
	/* Views (hub_views_*.c) and their time-ordered indexes (hub_stale.c). */
	MDB_dbi sales;             /* store_id '\0' day(u32 BE) -> SalesDay */
	MDB_dbi inventory;         /* store_id '\0' sku -> InventoryItem */
	MDB_dbi inv_days;          /* store_id '\0' sku '\0' day(u32 BE) -> InventoryDay */
	MDB_dbi inv_moves;         /* store_id '\0' sku '\0' time(BE) move_no -> InventoryEntry */
	MDB_dbi cases;             /* case_no -> CaseView */
	MDB_dbi accounts;          /* account -> AccountView */
	MDB_dbi case_due;          /* deadline_ms(BE) kind(1) case_no -> "" : open deadlines */
	MDB_dbi account_due;       /* since_ms(BE) account -> "" : accounts with balance > 0 */
	MDB_dbi store_seen;        /* last_progress_ms(BE) store_id -> "" */
	/* Down-flow (hub_registry.c, hub_updates.c, hub_downstream.c). */
	MDB_dbi registry;          /* store_id -> StoreInfo */
	MDB_dbi updates;           /* update_id (BE) -> Update as sent: the update log */
	MDB_dbi update_heads;      /* update_id (BE) -> UpdateHead: kind, times, target */
	MDB_dbi upd_scope;         /* scope '\0' update_id (BE) -> "": which stores it is for */
	MDB_dbi prices;            /* sku '\0' effective_ms update_id -> DatedValue */
	MDB_dbi policy_history;    /* policy '\0' effective_ms update_id -> DatedValue */
	MDB_dbi mismatches;        /* store_id '\0' day '\0' sku -> PriceMismatch */
	MDB_dbi notices;           /* account '\0' since_ms (BE) -> NoticeState */
	MDB_dbi replenishment;     /* store_id '\0' request_no -> ReplenishState */
	MDB_dbi hub_meta;          /* name -> u64 BE (next_update_id, log_floor, format...) */
	/* Security (hub_auth.c). */
	MDB_dbi store_keys;        /* Curve public key (Z85) -> store_id */
	MDB_dbi operators;         /* name -> OperatorInfo */
	MDB_dbi operator_keys;     /* Curve public key (Z85) -> operator name */
	MDB_dbi audit;             /* time_ms (BE) seq (BE) -> AuditEntry */
	struct ss_curve_pair curve;      /* the hub's keys (unless cfg.insecure) */
	uint64_t registry_gen;     /* the writer's: counts rounds that changed who may speak */
	/* The global change order (hub_order.c): change_no (BE) -> hub time
	 * (BE) and the event key. What exports follow (hq-export). */
	MDB_dbi event_order;
	void *zctx;
	void *router;
	char link_bound[512];      /* the store link's endpoint as bound (ZMQ_LAST_ENDPOINT) */
	void *ops;                 /* writer's end of the operators' channel (ROUTER) */
	struct hub_query_server *query;  /* the operators' endpoint and its workers */
	struct hub_zap *zap;       /* the door keeper: ZAP handler and monitors (hub_zap.c) */
	struct hub_http *http;     /* /metrics and the status page (hub_http.c) */
	struct hub_peer *peers;    /* uthash, by routing id */
	struct hub_round *round;
	struct hub_target_cache tcache;  /* the writer's */
	/* Down-flow delivery (hub_downstream.c), the writer's. */
	struct hub_down *store_peers;    /* uthash by store: its current connection */
	struct hub_down *down_pending;   /* stores that may have something to send */
	struct hub_down_cache *down_cache;
	struct hub_presence *presence;   /* hub_events: stores' links as logged, the writer's */
	atomic_size_t down_queued_bytes; /* update bytes handed to ZeroMQ, not yet sent */
	int64_t next_notice_scan_mono;   /* hub_notices: the next scan for stale accounts */
	int notice_scan_again;
	int64_t next_prune_mono;         /* hub_updates: the next pruning of the log */
	/* What heartbeats said since each store's last write (hub_live.c), the writer's. */
	struct hub_live *live;           /* uthash by store */
	struct hub_live_sweep *live_sweep;
	int64_t next_live_flush_mono;
	int64_t last_commit_mono;        /* hub_writer: when the last round committed */
	struct hub_stats stats;
	uint64_t order_next;             /* hub_order: the next change_no (0: not loaded yet) */
	struct hub_export_seen export_seen;  /* hq-export's last report (hub_query_export.c) */
	atomic_int stopping;
	/* Called by the writer between rounds, when no transaction is open: the
	 * daemon's watchdog ping and SIGHUP reload (hub_main.c). NULL: none. */
	void (*between_rounds)(struct hub *h);
};

/* The on-disk format this hub reads and writes (hub_meta "format",
 * common/ss_format.h); raised with a step in hub_db.c's migrations. */
#define HUB_DB_FORMAT 2

/* Opens the environment and every database; refuses a directory of a newer
 * format, migrates an older one and stamps it (hub_db.c). */
int hub_open_db(struct hub *h, char *err, size_t errlen);

/* hub_listen: raises RLIMIT_NOFILE to what max_stores needs (says so), or
 * fails with the reason; warns when net.core.somaxconn caps the backlog. */
int hub_listen_limits(const struct hub_config *c, char *err, size_t errlen);
/* Admission on the store link: at most max_stores connections. Fed by the
 * one monitor of the link (hub_zap.c's) and used by its thread only. new:
 * after hub_listen_limits; NULL with a reason. destroy nulls *g. */
struct hub_guard *hub_listen_guard_new(struct hub *h, char *err, size_t errlen);
void hub_listen_guard_destroy(struct hub_guard **g);
/* A connection accepted on descriptor fd: 1 admitted, 0 refused (its
 * descriptor shut down at once, counted in stores_refused, logged once
 * per interval). */
int hub_listen_accepted(struct hub_guard *g, int fd);
/* The connection on fd has closed (admitted or refused). */
void hub_listen_closed(struct hub_guard *g, int fd);
/* accept() failed with error (counted, logged once per interval). */
void hub_listen_accept_failed(struct hub_guard *g, int error);

/* hub_writer: binds the operators' channel (before query_start), runs the
 * one writer loop on the calling thread until h->stopping. */
int hub_writer_open(struct hub *h, char *err, size_t errlen);
int hub_writer_run(struct hub *h, char *err, size_t errlen);
void hub_writer_close(struct hub *h);
/* Grows the map ahead of need when no reader is active (between rounds). */
void hub_writer_maybe_grow(struct hub *h);
/* The work kind of an operator write named `what` ("price push", ...), or
 * -1 when `what` is not a write (then it is a read query). */
int hub_op_work_kind(const char *what);

/* hub_query_server: binds the operators' endpoint and starts its broker and
 * worker threads (after hub_writer_open); query_stop joins them. */
int query_start(struct hub *h, char *err, size_t errlen);
void query_stop(struct hub *h);

/* hub_policy: the policy in force for a store at a moment, from the policy
 * history (hub_policy.c). c: the writer's target cache, or NULL. */
int64_t hub_policy_value(struct hub *h, MDB_txn *txn, struct hub_target_cache *c,
	enum ss_policy_id id, const char *store, const char *region, int64_t at_ms,
	int64_t issued_by_ms);
void hub_policy_for(struct hub *h, MDB_txn *txn, struct hub_target_cache *c, const char *store,
	const char *region, int64_t at_ms, int64_t issued_by_ms, struct ss_policy *p);
/* The least value of a policy in force for any store at at_ms. */
int64_t hub_policy_min(struct hub *h, MDB_txn *txn, enum ss_policy_id id, int64_t at_ms);
/* 1 when some value of the policy was ever set for part of the chain only
 * (a region or stores): then stores may differ. */
int hub_policy_scoped(struct hub *h, MDB_txn *txn, enum ss_policy_id id);

/* hub_views: the effect of one valid record on every view, in the ingest
 * transaction. `day` is the record's local business day. */
struct hub_store;

struct hub_view_ctx {
	struct hub *h;
	MDB_txn *txn;
	struct hub_store *s;       /* the store whose record this is */
	const char *store_id;
	const Storesync__Record *r;
	int32_t day;
	char reason[256];          /* why a check refused the record */
};

int32_t hub_business_day(const Storesync__Record *r);
/* Keys shared by writers and queries. */
size_t hub_key_store_day(uint8_t *key, const char *store_id, int32_t day);
size_t hub_key_store_sku(uint8_t *key, const char *store_id, const char *sku);
size_t hub_key_inv_day(uint8_t *key, const char *store_id, const char *sku, int32_t day);
int32_t hub_inv_day_of_key(const MDB_val *k);
size_t hub_key_inv_move(uint8_t *key, const char *store_id, const char *sku, int64_t time_ms,
	const char *move_no);
/* The walk over a SKU's days (hub_views_inventory.c): the stock at the end
 * of the day walked last, the out-of-stock days before it, and the first
 * day of the run of out-of-stock days it ends (-1: in stock). */
struct hub_inv_walk {
	int have;
	int32_t day;
	int64_t end, closed;
	int32_t since;
};
void hub_inv_walk_day(struct hub_inv_walk *w, int32_t day, int64_t end);
/* A day's end stock, from the level carried into it. */
int64_t hub_inv_day_end(const Storesync__InventoryDay *d, int64_t carried);
/* A SKU as its moves dated up to as_of_ms made it, replayed from inv_moves:
 * the walk over its days (walk.end: on hand then), its moves, its latest
 * count and move. 0, or an MDB_* code. */
struct hub_inv_then {
	struct hub_inv_walk walk;
	uint64_t moves;
	int64_t last_stocktake_ms, last_move_ms;
	int32_t utc_offset_min;    /* of the latest move, when has_offset */
	int has_offset;
};
int hub_inventory_at(struct hub *h, MDB_txn *txn, const char *store, const char *sku,
	int64_t as_of_ms, struct hub_inv_then *t);
size_t hub_key_replenish(uint8_t *key, const char *store_id, const char *request_no);
int64_t hub_account_balance(const Storesync__AccountView *a);
/* Time an account's staleness counts from (-1: balance not positive). */
int64_t hub_account_since_ms(const Storesync__AccountView *a);
/* An account from its charges and credits dated up to as_of_ms (INT64_MAX:
 * all of them), hub_views_accounts.c. */
struct hub_account_fig {
	int exists;                /* a charge or credit dated up to as_of_ms */
	int64_t charged_fen, contract_total_fen, received_fen, refunded_fen, balance_fen;
	int64_t opened_ms, last_payment_ms;
	int64_t since_ms;          /* staleness counts from here; -1: balance not positive */
	uint64_t payments;
};
void hub_account_at(const Storesync__AccountView *a, int64_t as_of_ms,
	struct hub_account_fig *f);
/* Who owned the account as of as_of_ms, by the records dated up to it
 * (docs/records.md): "" everywhere when no charge was dated by then. */
struct hub_account_owner {
	const char *store, *contract_no, *customer;   /* into the view */
};
void hub_account_owner_at(const Storesync__AccountView *a, int64_t as_of_ms,
	struct hub_account_owner *o);
/* Every database of the hub, in one table (hub_views.c): opening
 * (hub_db.c), `hqctl dump` (hub_dump.c) and exporters iterate it, and
 * hub_views_check and hub_views_apply run the views among them. A view takes the record kinds
 * in its `records` mask; its `check` may refuse a record (HUB_VIEW_REFUSED)
 * before any view has changed, its `apply` then may not refuse. */
struct hub_db_def {
	const char *name;                       /* in dump and exports */
	size_t dbi_offset;                      /* offsetof(struct hub, its MDB_dbi) */
	const ProtobufCMessageDescriptor *desc; /* value type; NULL: an index (keys only) */
	int dump;                               /* part of `hqctl dump` (deterministic) */
	ProtobufCMessage *(*dump_value)(const ProtobufCMessage *m); /* NULL: all of it */
	uint32_t records;                       /* HUB_REC(body) of the kinds it holds */
	int (*check)(struct hub_view_ctx *v);
	int (*apply)(struct hub_view_ctx *v);
};

#define HUB_REC(body) (1u << (STORESYNC__RECORD__BODY_##body - STORESYNC__RECORD__BODY_SALE))

extern const struct hub_db_def hub_dbs[];
extern const size_t hub_n_dbs;

static inline MDB_dbi *hub_db_dbi(struct hub *h, const struct hub_db_def *d)
{
	return (MDB_dbi *)((char *)h + d->dbi_offset);
}

/* Every view's check for the record (HUB_VIEW_REFUSED with v->reason, or
 * 0), before any view changes; then every view's apply, which may not
 * refuse. */
int hub_views_check(struct hub_view_ctx *v);
int hub_views_apply(struct hub_view_ctx *v);
int hub_views_sales_check(struct hub_view_ctx *v);
int hub_views_sales(struct hub_view_ctx *v);
/* Writes the store's cached sales day back (hub_store_save calls it). */
int hub_views_sales_flush(struct hub *h, MDB_txn *txn, struct hub_store *s);
int hub_views_inventory_check(struct hub_view_ctx *v);
int hub_views_inventory(struct hub_view_ctx *v);
int hub_views_cases(struct hub_view_ctx *v);
/* A case from its registration and the steps dated up to as_of_ms
 * (INT64_MAX: all), its deadlines judged at at_ms (hub_views_cases.c). */
struct hub_case_fig {
	int exists;                /* a record of it is dated at or before as_of_ms */
	Storesync__CaseState state;
	int64_t responded_ms, investigated_ms, resolved_ms, closed_ms, compensation_fen;
	Storesync__Resolution resolution;
	int responded_late, reported_late;     /* met, after the deadline */
	int overdue_response, overdue_report;  /* past the deadline, not met by at_ms */
	int late;                  /* missed a deadline by at_ms: met late or overdue */
};
void hub_case_at(const Storesync__CaseView *c, int64_t as_of_ms, int64_t at_ms,
	struct hub_case_fig *f);
int hub_views_accounts_check(struct hub_view_ctx *v);
int hub_views_accounts(struct hub_view_ctx *v);
int hub_views_mismatch(struct hub_view_ctx *v);
int hub_views_replenish(struct hub_view_ctx *v);
/* A record a view's check refuses (it fills v->reason): kept in the log,
 * no effect. */
#define HUB_VIEW_REFUSED (-50)
/* Fills v->reason and returns HUB_VIEW_REFUSED. */
int hub_view_refuse(struct hub_view_ctx *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The account and the case a record touches, NULL when none
 * (hub_views_accounts.c, hub_views_cases.c): what exports re-read. */
const char *hub_account_of(const Storesync__Record *r);
const char *hub_case_no_of(const Storesync__Record *r);

/* hub_order: the global change order. Every record put into the event log
 * gets the next change_no, in the same transaction (event_key: the events
 * key). Numbers only grow; an aborted round may leave gaps. */
#define HUB_ORDER_MAX_KEY (33 + 16)
int hub_order_note(struct hub *h, MDB_txn *txn, const void *event_key, size_t len,
	int64_t now_ms);

/* hub_keys: the business keys the hub holds per store (guarantee 8). */
struct hub_key {
	struct ss_bizkey biz;
	uint8_t key[33 + SS_BIZKEY_MAX];   /* store_id '\0' business key */
	size_t len;
	uint8_t hash[SS_BIZKEY_HASH_BYTES];
	int hashed;                        /* hash set (the caller's, from the event) */
};

enum { HUB_KEY_NEW = 1, HUB_KEY_SAME = 2, HUB_KEY_CONFLICT = 3 };

/* Claims r's business key for record r (seq set) of epoch, k->hash being
 * its content hash (k->hashed): HUB_KEY_NEW (the key is now r's, in txn),
 * HUB_KEY_SAME (the store sent this record before), or HUB_KEY_CONFLICT
 * with a one-line reason; an MDB_* code on a storage error. */
int hub_keys_claim(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	const Storesync__Record *r, struct hub_key *k, char *reason, size_t len);
/* Gives back a key claimed for a record that was then refused: a refused
 * record holds no key. */
int hub_keys_release(struct hub *h, MDB_txn *txn, const struct hub_key *k);

/* Reads key's message into a fresh struct (initialised empty when absent);
 * NULL on a storage error (*rc set). Free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *hub_view_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
	const ProtobufCMessageDescriptor *desc, int *rc);
int hub_view_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
	const ProtobufCMessage *msg);

/* hub_stale: time-ordered indexes. An entry is (time_ms BE, id); moving an
 * item deletes its old entry and writes the new one, so a scan from 0 to a
 * cut-off visits exactly the items older than it. */
int hub_stale_index_set(MDB_txn *txn, MDB_dbi dbi, int64_t old_ms, int64_t new_ms,
	const void *id, size_t idlen);

/* A policy's value per store at at_ms, as hqctl stale judges it: the value
 * in force for the store (its own, its region's or the chain's); looked up
 * once for all when no value was ever set for part of the chain. */
struct hub_store_policy {
	enum ss_policy_id id;
	int scoped;              /* some value targets part of the chain */
	int64_t uniform;         /* the value otherwise */
	int64_t at_ms;
};

void hub_store_policy_init(struct hub *h, MDB_txn *txn, struct hub_store_policy *sp,
	enum ss_policy_id id, int64_t at_ms);
/* region: the store's, when the caller holds its registry entry; NULL to
 * look it up (only when some value is scoped). */
int64_t hub_store_policy_get(struct hub *h, MDB_txn *txn, const struct hub_store_policy *sp,
	const char *store, const char *region);
/* 1 when store, whose last progress was at progress_ms, is silent at
 * silence's moment: longer than its store_silence_minutes (silence), whose
 * value goes in *minutes unless NULL. hqctl stale, hqctl stores and the
 * store_silent gauge all ask this, so they cannot disagree. */
int hub_store_silent(struct hub *h, MDB_txn *txn, const struct hub_store_policy *silence,
	const char *store, const char *region, int64_t progress_ms, int64_t *minutes);

/* hub_meta's entry for the latest business time of any applied record
 * (hub_store_save keeps it): a query at a moment before it must not use
 * the indexes, which hold the present. */
#define HUB_META_MAX_RECORD_MS "max_record_ms"

/* hub_store: state of one store inside a write transaction. */
struct hub_store {
	char store_id[33];
	char region[40];               /* from the registry, "" when none: hub_store_region */
	int region_known;              /* region read in this transaction */
	Storesync__StoreState *state;  /* owned; written back by hub_store_save */
	uint64_t epoch;                /* epoch being applied */
	uint64_t hw;                   /* high-water seq of that epoch */
	int dirty;
	int64_t seen_indexed_ms;       /* last_progress_ms as in the silence index, -1: none */
	/* The sales day this store's records last touched, kept unpacked for
	 * the rest of the transaction: a batch of one store's sales mostly
	 * falls on one day, so it is read and written once, not per record. */
	Storesync__SalesDay *sales;
	int32_t sales_day;
	int sales_dirty;
	uint64_t applied_now, refused_now; /* this transaction's counts, for stats */
	/* Lines about refused records go through this rate limit (the
	 * connection's, so a broken store cannot flood the log); NULL: none. */
	struct ss_lograte *log;
};

/* Loads store_id's state and the high-water mark of epoch (0 for a new one). */
int hub_store_load(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	struct hub_store *s);
/* The store's region as registered, read once per transaction and only
 * by what needs it (a Hello, a policy or a price looked up by region):
 * most records need none, and the registry lookup was a fortieth of the
 * writer's time at 12,000 one-record batches a second (issue 14). */
const char *hub_store_region(struct hub *h, MDB_txn *txn, struct hub_store *s);
/* Switches s to another epoch of the same store. */
int hub_store_switch_epoch(struct hub *h, MDB_txn *txn, struct hub_store *s, uint64_t epoch);
int hub_store_save(struct hub *h, MDB_txn *txn, struct hub_store *s);
void hub_store_release(struct hub_store *s);
/* The high-water mark of store_id's epoch as committed (0 when none),
 * wherever it is kept: for checks and tools, not the writer's rounds. */
int hub_store_high_water(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	uint64_t *hw);
/* Stores record seq (== s->hw + 1) and applies its effect; advances hw.
 * An invalid record is kept, counted as refused, and has no effect. */
int hub_store_apply(struct hub *h, MDB_txn *txn, struct hub_store *s, Storesync__Record *r);
void hub_store_heartbeat(struct hub_store *s, const Storesync__Heartbeat *hb);
/* The store's Hello for its epoch said last_seq (has: it said one at all):
 * a store whose epoch ends below what the hub holds is in conflict (its
 * data directory was rolled back); one in order is not. Returns 1 when in
 * conflict. */
int hub_store_hello_conflict(struct hub_store *s, int has, uint64_t last_seq, int64_t now_ms);
/* 1 while the store's current epoch is in conflict. */
int hub_store_in_conflict(const struct hub_store *s);
/* Records what the store reports applied downstream (0 ids: unchanged). */
void hub_store_note_applied(struct hub_store *s, uint64_t applied, uint64_t price_id,
	uint64_t policy_id, int64_t now_ms);

#endif
