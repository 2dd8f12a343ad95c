/* store-agent: the daemon's one context struct and the interfaces between
 * its parts. Data path up: agent_local (the local endpoint, one handler per
 * request kind) -> agent_submit (validate; business keys, agent_keys;
 * policies, agent_enforce; group commit) -> agent_outbox (LMDB, durable
 * before answering) -> agent_sender (batches, window, acks, resend) -> hub.
 * Down: agent_sender -> agent_apply (updates in order, one transaction each)
 * -> prices and policies by effective time (agent_dated), notices,
 * requests (agent_requests), read back by agent_query. agent_db owns the
 * LMDB environment all of them use. One thread runs all of it, so LMDB has
 * exactly one writer and no locks are needed. */
#ifndef AGENT_H
#define AGENT_H

#include <stdint.h>

#include <zmq.h>

#include "ss_admit.h"
#include "ss_bizkey.h"
#include "ss_curve.h"
#include "ss_lmdb.h"
#include "ss_log.h"
#include "ss_policy.h"
#include "ss_prom.h"
#include "ss_proto.h"

struct agent_config {
	char store_id[33];
	char data_dir[1024];
	char hub[512];          /* hub's ROUTER endpoint */
	char local[512];        /* our ROUTER for tills and storectl */
	int64_t max_local_clients; /* connections on it at once (agent_local.c) */
	int64_t budget_bytes;   /* disk budget of every table: past it, "buffer full" */
	int64_t retention_days; /* acknowledged records kept this long */
	int64_t retention_ms;   /* the same, derived */
	int64_t batch_records;  /* records per Batch */
	int64_t window_batches; /* unacknowledged batches in flight */
	int64_t ack_timeout_ms; /* resend from the last ack after this long */
	int64_t heartbeat_ms;
	int64_t hub_timeout_ms; /* no word from the hub this long: reconnect */
	int64_t reconnect_ms;   /* reconnect backoff: first interval (jittered) */
	int64_t reconnect_max_ms; /* ...doubling up to this */
	int64_t key_days;       /* business keys kept at least this long */
	char utc_offset[16];    /* "auto" (the system's zone) or minutes east of UTC */
	int auto_offset;        /* derived: 1 when "auto" */
	int32_t utc_offset_min; /* derived: the fixed offset otherwise */
	char curve_key[1024];   /* this store's key pair (ss_curve) */
	char hub_key[1024];     /* the hub's public key: 40 Z85 characters or a .pub file */
	int64_t insecure;       /* no Curve on the hub link (a warning) */
	struct ss_curve_pair curve;     /* derived: loaded at start */
	char hub_public[SS_CURVE_KEY_CHARS + 1];
	char http[64];          /* /metrics over HTTP: IPV4:PORT, or "off" (the default) */
	int64_t log_interval_ms; /* a condition that lasts is logged again this often */
};

/* The agent's LMDB environment and its named databases (agent_db.c). */
#define AGENT_DB_MAX_DBS 16
/* The on-disk format this agent reads and writes (meta "format",
 * common/ss_format.h); raised with a step in agent_db.c's migrations. */
#define AGENT_DB_FORMAT 1

struct agent_db {
	struct ss_lmdb lmdb;
	MDB_dbi records;        /* outbox: seq (u64 BE) -> packed Record */
	MDB_dbi meta;           /* name -> value */
	MDB_dbi prices;         /* price lists by (effective, update), agent_prices.c */
	MDB_dbi policies;       /* effective-dated -> DatedPolicy */
	MDB_dbi notices;        /* account '\0' since_ms (u64 BE) -> CollectionNotice */
	MDB_dbi requests;       /* request_no -> RequestState */
	MDB_dbi staging;        /* snapshot being received: part (u32 BE) -> Snapshot */
	MDB_dbi keys;           /* business key -> seq, time_ms, content hash (agent_keys.c) */
	MDB_dbi key_age;        /* seq (u64 BE) -> recorded_ms, business key */
	MDB_dbi balances;       /* account -> balance_fen (i64 BE), this store's view */
	uint64_t budget_bytes;  /* one disk budget for every database */
	uint32_t page_bytes;    /* LMDB's page size */
	/* key_age's keys are key_base + seq (meta "key_base", 0 until a
	 * reepoch): a new epoch numbers from 1 again, and its entries must
	 * still sort after the older ones. */
	uint64_t key_base;
};

int agent_db_open(struct agent_db *db, const char *dir, int64_t budget_bytes, char *err,
	size_t errlen);
void agent_db_close(struct agent_db *db);
/* Bytes the databases other than the outbox's records occupy, as txn sees
 * them (pages x page size). */
uint64_t agent_db_other_bytes(struct agent_db *db, MDB_txn *txn);
/* The same in a read transaction of its own; SS_EIO when none can start. */
int agent_db_other_bytes_now(struct agent_db *db, uint64_t *bytes);
/* meta values are u64 BE; get returns mdb_get's code and leaves *v alone
 * unless found. */
int agent_db_meta_get(struct agent_db *db, MDB_txn *txn, const char *name, uint64_t *v);
int agent_db_meta_put(struct agent_db *db, MDB_txn *txn, const char *name, uint64_t v);

/* The outbox: records keyed by seq in db's records, plus its meta (epoch,
 * store, acked). Uses db; does not own it. */
struct agent_outbox {
	struct agent_db *db;
	char store_id[33];
	uint64_t epoch;
	uint64_t last_seq;      /* newest durable record */
	uint64_t acked_seq;     /* hub has committed every seq <= this */
	uint64_t acked_durable; /* acked_seq as last written to disk */
	uint64_t first_seq;     /* oldest record still kept (last_seq + 1 when none) */
	uint64_t used_bytes;    /* accounted outbox bytes (records + keys + overhead) */
	int64_t retention_ms;
};

/* What happened to one record handed to the outbox. */
struct outbox_slot {
	Storesync__Record *record; /* in: validated record; seq/recorded_ms set on success */
	uint64_t seq;              /* out: > 0 when durable */
	int full;                  /* out: refused because the budget is reached */
	/* out, with seq: the record's packing as stored, valid until the
	 * transaction ends (its content hash is taken from it) */
	const uint8_t *packed;
	size_t packed_len;
};

int outbox_open(struct agent_outbox *ob, struct agent_db *db, const struct agent_config *cfg,
	char *err, size_t errlen);

/* One write transaction's view of the outbox: a copy of its state, adopted
 * only after the commit (a body may be replayed after map growth, or
 * abandoned). Call begin at the start of every run of the body. */
struct outbox_txn {
	struct agent_outbox *ob;
	MDB_txn *txn;
	int64_t now_ms;
	uint64_t epoch, last_seq, first_seq, acked_seq, used_bytes;
	uint64_t pruned;
	/* The other databases' pages as last measured, and appends since
	 * (records_budget, agent_outbox.c). */
	uint64_t other_bytes;
	unsigned other_age;
};

void outbox_txn_begin(struct outbox_txn *t, struct agent_outbox *ob, MDB_txn *txn,
	int64_t now_ms);
/* Gives s->record the next seq and stores it, evicting acknowledged records
 * when the budget needs the room; s->full = 1 (nothing stored) when it does
 * not fit with reserve_bytes left over (what the caller will write to the
 * other databases for this record). Returns 0 or an MDB_* code. */
int outbox_txn_append(struct outbox_txn *t, struct outbox_slot *s, uint64_t reserve_bytes);
/* Writes the outbox's meta; last call of the body. */
int outbox_txn_end(struct outbox_txn *t);
/* Reepoch (agent_reepoch.c), in t's transaction: the outbox starts epoch
 * new_epoch holding the records from_seq..last_seq, renumbered 1, 2, 3...
 * in order (the record's own seq too); every record before from_seq
 * (acknowledged: the hub holds it) leaves. moved(arg, r, old_seq) is called
 * for each, in order, with r's new seq set, so the caller renumbers what
 * refers to it. *dropped: how many left. 0, an MDB_* code, or SS_EIO (a
 * record that should be kept is missing). */
int outbox_txn_reepoch(struct outbox_txn *t, uint64_t new_epoch, uint64_t from_seq,
	int (*moved)(void *arg, const Storesync__Record *r, uint64_t old_seq), void *arg,
	uint64_t *dropped);
/* After the commit succeeded: the outbox takes the transaction's state. */
void outbox_txn_adopt(const struct outbox_txn *t);

/* Assigns seqs and commits all slots in one transaction (group commit).
 * Slots that do not fit in the budget, after evicting acknowledged records,
 * get full = 1 and no seq; once one does not fit, later ones do not go in
 * ahead of it. Returns 0, or a negative SS_* code when nothing was committed
 * (every slot then counts as refused, reason in err). */
int outbox_append(struct agent_outbox *ob, struct outbox_slot *slots, size_t n, int64_t now_ms,
	char *err, size_t errlen);
/* Records that the hub holds everything through seq (may move back: a hub
 * restored from a backup). Kept in memory; outbox_maintain makes it durable. */
void outbox_set_acked(struct agent_outbox *ob, uint64_t seq);
/* Persists acked_seq and drops acknowledged records past retention. */
int outbox_maintain(struct agent_outbox *ob, int64_t now_ms, char *err, size_t errlen);
/* Walks up to max consecutive committed records from from_seq onward, in
 * seq order, handing fn each one's packed bytes (valid during the call
 * only). fn returns 0 to take the record and go on, 1 to stop before it,
 * -1 to fail. *n_out: records taken. SS_OK, or SS_EIO (fn failed, or no
 * read transaction). */
typedef int (*outbox_packed_fn)(void *arg, const void *data, size_t len);
int outbox_each_packed(struct agent_outbox *ob, uint64_t from_seq, size_t max,
	outbox_packed_fn fn, void *arg, size_t *n_out);
/* Reads up to max consecutive records from seq onward. *out (an array of
 * *n_out records, each freed with storesync__record__free_unpacked, then the
 * array with free) is the caller's. On failure returns SS_EIO with *out =
 * NULL and *n_out = 0: the outputs are always set. */
int outbox_read(struct agent_outbox *ob, uint64_t from_seq, size_t max,
	Storesync__Record ***out, size_t *n_out);

/* A Batch frame for the link (agent_batch.c), built from the outbox's
 * packed records: the LinkMessage is buf[start .. start + len). */
struct agent_batch {
	uint8_t *buf;
	size_t cap, start, len;
	size_t n_records;
};
/* The records from first_seq on (at most max_records; past the first,
 * only while their bytes stay within max_bytes) as one LinkMessage. SS_OK
 * with b->n_records 0 when there is none; SS_EIO when the outbox cannot be
 * read or memory runs out. Free b with batch_free whatever the outcome. */
int batch_build(struct agent_outbox *ob, uint64_t first_seq, size_t max_records,
	size_t max_bytes, struct agent_batch *b);
void batch_free(struct agent_batch *b);

/* recorded_ms of the oldest unacknowledged record, 0 when none. */
int64_t outbox_oldest_unacked_ms(struct agent_outbox *ob);

struct agent_sender {
	void *sock;             /* DEALER to the hub */
	void *monitor;          /* PAIR receiving sock's handshake/disconnect events */
	uint64_t sent_seq;      /* highest seq handed to the socket */
	int welcomed;           /* Welcome received since the last (re)hello */
	int64_t hello_mono;     /* when Hello was last sent */
	int64_t progress_mono;  /* last ack progress, or when the window was opened */
	int64_t heard_mono;     /* last message from the hub, 0 when never */
	int linked;             /* a handshake succeeded and no disconnect since */
	int64_t linked_mono;    /* when it came up */
	/* We dropped the link (a refused handshake, a silent hub): connect
	 * again then (0: not waiting); drops since the last Welcome are the
	 * backoff's exponent. */
	int64_t reconnect_mono;
	unsigned drops;
	int64_t heartbeat_mono; /* last heartbeat sent */
	int64_t last_ack_ms;    /* wall time of the last ack */
	uint64_t batches_sent, resends, hub_errors;
	int conflict;           /* the hub holds more of our epoch than we do: stopped */
	uint64_t hub_seq;       /* ...through this seq (the Welcome's high-water mark) */
	struct ss_lograte pruned_log;
};

/* What the agent logs about conditions that last (agent_events.c): each is
 * logged when it starts, once per log_interval_ms while it lasts, and when
 * it ends, with how long it lasted. */
struct agent_events {
	/* The hub link, as the DEALER's monitor tells it. */
	int up;                 /* handshake done, no disconnect since */
	int ever_up;
	int down;               /* an outage is under way */
	int down_logged;        /* ...and its first line was logged */
	int64_t down_since_mono;
	int64_t down_next_mono; /* its next "still unreachable" line */
	uint64_t attempts;      /* failed connection attempts in the outage */
	char reason[200];       /* why the latest one failed */
	/* The attempt under way: connect delayed (TCP), connected, failed
	 * (reason known), counted in attempts. */
	int try_delayed, try_connected, try_failed, try_counted;
	int64_t try_mono;
	struct ss_lograte outage_log;
	/* The disk budget. */
	int full;               /* a record was refused as buffer full, none accepted since */
	int full_logged;        /* ...and a line said so */
	int64_t full_since_mono, full_next_mono;
	struct ss_lograte full_log;
	uint64_t full_refused, full_refused_line; /* in the episode; since its last line */
	/* The link in conflict (the data directory was rolled back). */
	int64_t conflict_since_mono, conflict_next_mono;
};

/* The monitor events the sender asks for on its DEALER. */
#define AGENT_LINK_EVENTS (ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_CONNECTED \
	| ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_CLOSED | ZMQ_EVENT_DISCONNECTED \
	| ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
	| ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* Effective-dated prices and policies (agent_dated.c). */
#define DATED_KEY_MAX (64 + 17)

/* name (at most 64 bytes) '\0' effective_ms update_id into key; its length. */
size_t dated_key(uint8_t *key, const char *name, int64_t effective_ms, uint64_t update_id);
/* The value of name's entry in force at at_ms in *now and of the next
 * later-dated entry in *next (may be NULL); mv_size 0 when there is none.
 * Valid while txn lives. Returns 0 or an MDB_* code. */
int dated_lookup(MDB_txn *txn, MDB_dbi dbi, const char *name, int64_t at_ms, MDB_val *now,
	MDB_val *next);
/* Stores value (a DatedPolicy) for name, beside the entries it supersedes:
 * a record dated before effective_ms is still judged by those. */
int dated_put(MDB_txn *txn, MDB_dbi dbi, const char *name, int64_t effective_ms,
	uint64_t update_id, const ProtobufCMessage *value);
/* A price entry as received: texts are (pointer, length), not
 * NUL-terminated; sku NULL when absent. */
struct price_in {
	const char *sku, *name;
	size_t sku_len, name_len;
	int64_t price_fen;
	int has_price_fen;
};

/* A price-list Update read in place from the hub's message
 * (agent_price_wire.c); valid while the message's bytes are. */
struct price_wire {
	uint64_t update_id, after_id;
	int64_t created_ms, effective_ms;
	const uint8_t *list, *list_end;  /* the PriceList's bytes */
	size_t n;                        /* its entries */
};
struct price_wire_cursor {
	const uint8_t *p, *end;
};
/* 1 with *w when buf is a LinkMessage holding a price-list Update in the
 * form the hub sends, every entry well formed; 0 for anything else, which
 * is for the general path (ss_proto's gate and protobuf-c) to judge. */
int price_wire_read(const void *buf, size_t len, struct price_wire *w);
void price_wire_begin(const struct price_wire *w, struct price_wire_cursor *c);
/* The next entry into *e: 1, or 0 after the last. */
int price_wire_next(struct price_wire_cursor *c, struct price_in *e);

/* Prices (agent_prices.c): a list as HQ sent it, effective at
 * effective_ms; entries this agent cannot use are counted in *skipped. */
int prices_put_list(struct agent_db *db, MDB_txn *txn, int64_t effective_ms,
	uint64_t update_id, Storesync__PriceEntry *const *entries, size_t n, int64_t now_ms,
	size_t *skipped);
/* The same for a list read in place (the same list stored, byte for byte). */
int prices_put_wire(struct agent_db *db, MDB_txn *txn, const struct price_wire *w,
	int64_t now_ms, size_t *skipped);
/* A snapshot's prices, each with its own effective time and update, into
 * an emptied table. */
int prices_put_dated(struct agent_db *db, MDB_txn *txn, Storesync__DatedPrice *const *p,
	size_t n, int64_t now_ms, size_t *skipped);
/* The price of sku in force at at_ms and the next later-dated one, NULL
 * when none (free with storesync__dated_price__free_unpacked). When at_ms
 * is before the oldest price of sku the agent keeps (older ones merged
 * away), *now is NULL and *kept_from_ms (unless NULL) is that price's
 * effective time, else 0. */
int prices_at(struct agent_db *db, MDB_txn *txn, const char *sku, int64_t at_ms,
	Storesync__DatedPrice **now, Storesync__DatedPrice **next, int64_t *kept_from_ms);

struct policy_in_force {
	int64_t value;
	int64_t effective_ms;   /* 0 for the built-in default */
	uint64_t update_id;     /* 0 for the built-in default */
};

/* The policy in force at at_ms: HQ's newest entry dated <= at_ms, else the
 * ss_policy default. */
int dated_policy_at(struct agent_db *db, MDB_txn *txn, enum ss_policy_id id, int64_t at_ms,
	struct policy_in_force *out);

/* The business-key index (agent_keys.c); keys and hashes from ss_bizkey. */
enum { KEYS_NEW = 1, KEYS_SAME = 2, KEYS_CONFLICT = 3 };

/* Is r (its key k) new? KEYS_NEW; KEYS_SAME with *seq the original's;
 * KEYS_CONFLICT with *seq and a one-line reason; or an MDB_* / SS_EIO
 * code. r's content hash is computed only when its key is known. */
int keys_check(struct agent_db *db, MDB_txn *txn, const struct ss_bizkey *k,
	const Storesync__Record *r, uint64_t *seq, char *reason, size_t len);
/* Records the key of r (seq, time_ms and recorded_ms set), in r's transaction. */
int keys_put(struct agent_db *db, MDB_txn *txn, const struct ss_bizkey *k,
	const uint8_t hash[SS_BIZKEY_HASH_BYTES], const Storesync__Record *r);
/* seq and time_ms of the sale with receipt_no; MDB_NOTFOUND when unknown. */
int keys_find_sale(struct agent_db *db, MDB_txn *txn, const char *receipt_no, uint64_t *seq,
	int64_t *time_ms);

/* The replenishment requests' states (agent_requests.c). */
int requests_put_pending(struct agent_db *db, MDB_txn *txn, const Storesync__Record *r);
/* SS_EINVAL when the decision names no request or no known decision. */
int requests_decide(struct agent_db *db, MDB_txn *txn, const Storesync__ReplenishmentDecision *dec);

/* Where the down-flow stands, as committed in meta (agent_apply.c). */
struct apply_ids {
	uint64_t applied;       /* every update through this is applied */
	uint64_t price;         /* newest price list applied, 0 when none */
	uint64_t policy;        /* newest policy set applied, 0 when none */
	uint64_t snapshot;      /* update_id of a snapshot being staged, 0 when none */
	uint32_t snapshot_next; /* its next part */
};

/* The down-flow at one store: needs only its databases, so the fleet
 * simulator (bench/) applies with the same code into each simulated
 * store's LMDB. */
struct agent_apply {
	struct agent_db *db;    /* not owned */
	struct apply_ids ids;
	uint64_t failures;      /* updates that could not be committed */
	struct ss_lograte fail_log;
};

struct submit_round;
struct local_round;
struct local_handler;
struct ss_http;

/* What /metrics counts that the status does not hold (agent_metrics.c). */
struct agent_metrics {
	uint64_t submits;            /* submit requests answered */
	uint64_t submitted_records;  /* records in them */
	uint64_t refused_records;    /* of those, refused (buffer full, invalid, policy) */
	struct ss_histo submit_latency;  /* request read to answer sent, µs */
	struct ss_http *http;
};

struct agent {
	struct agent_config cfg;
	struct agent_db db;
	struct agent_outbox outbox;
	struct agent_sender sender;
	struct agent_apply apply;
	struct agent_events events;
	void *zctx;
	void *local;            /* ROUTER for tills and storectl */
	void *local_monitor;    /* PAIR receiving its ACCEPTED / DISCONNECTED events */
	void *local_zap;        /* REP: its handshakes wait for us (agent_local.c) */
	char local_bound[512];  /* its endpoint as bound (ZMQ_LAST_ENDPOINT) */
	struct ss_admit local_admit;     /* at most max_local_clients connections */
	uint64_t local_clients_refused;  /* connections refused: that many were open */
	struct ss_lograte local_refused_log;
	struct local_round *local_round; /* agent_local's scratch, reused per round */
	struct submit_round *submit;     /* agent_submit's scratch, reused per round */
	uint64_t refused_requests;
	struct agent_metrics metrics;
	volatile int stopping;
};

int sender_start(struct agent *a, char *err, size_t errlen);
/* Sends m to the hub (sets the protocol version); 0 or -1 (not queued). */
int sender_send(struct agent *a, Storesync__LinkMessage *m);
void sender_stop(struct agent *a);
/* The outbox took a new epoch (agent_reepoch): the conflict is over; start
 * over with a Hello, from nothing acknowledged. */
void sender_restart(struct agent *a);
/* A (re)connection: say Hello, so a restarted or restored hub tells us
 * where it stands even when we have nothing new to send. */
void sender_on_monitor(struct agent *a);
/* Handles every message waiting from the hub. */
void sender_on_readable(struct agent *a);
/* An Update from the hub: applied (agent_apply), then answered with an
 * UpdateAck of what is applied, once it is committed. */
void sender_on_update(struct agent *a, const Storesync__Update *u);
/* Sends batches while the window allows, hellos, heartbeats and resends. */
void sender_tick(struct agent *a);
/* Milliseconds until sender_tick has timed work to do. */
int64_t sender_next_timeout_ms(const struct agent *a);
const char *sender_link_state(const struct agent *a);

/* agent_events: one event of the hub link's monitor (value as libzmq gives it). */
void events_link(struct agent *a, uint16_t event, int32_t value);
/* A submit round: how many records it refused as buffer full, how many it
 * accepted (a record accepted ends a buffer-full episode). */
void events_buffer(struct agent *a, uint64_t refused_full, uint64_t accepted);
/* The hub holds hub_seq of our epoch, more than the outbox has: conflict. */
void events_conflict(struct agent *a, uint64_t hub_seq);
/* The conflict ended (reepoch): how long it lasted goes in the log. */
void events_conflict_end(struct agent *a, const char *how);
/* Lines due for conditions that last. */
void events_tick(struct agent *a);

/* One request read from the local endpoint (agent_local.c). */
struct local_request {
	zmq_msg_t id;                    /* the client's routing id */
	int delimited;                   /* REQ client: an empty frame before the body */
	Storesync__LocalRequest *req;    /* NULL when malformed */
	size_t cost_bytes;               /* what req holds unpacked (ss_proto's count) */
	const struct local_handler *handler;
	const char *error;               /* request-level refusal, answered by agent_local */
	size_t first_slot;               /* submit: its first record in the round */
	int64_t received_us;             /* when it was read (monotonic), for latency */
};

/* Watches the local socket (before it binds): its monitor feeds the
 * admission of at most max_local_clients connections. 0, or -1 with a
 * reason. */
int local_watch(struct agent *a, char *err, size_t errlen);
/* Handles the local socket's monitor events: a connection past
 * max_local_clients is shut down at once, counted, logged once per
 * interval. Read before every round, so it is refused before its
 * requests are read when it was accepted before the round began. */
void local_on_monitor(struct agent *a);
/* Answers the local socket's ZAP requests, after reading the monitor: a
 * connection's handshake, so its first request, waits until the agent
 * has admitted or refused it. */
void local_on_zap(struct agent *a);
/* Reads every waiting local request, commits the round's submits in one
 * transaction and answers each request. */
void local_on_readable(struct agent *a);
void local_free(struct agent *a);
/* Sends reply to p's client, with the empty delimiter a REQ client needs. */
void local_reply(struct agent *a, struct local_request *p, const Storesync__LocalReply *reply);

/* The submit round (agent_submit.c): begin, collect each submit's records
 * (validated here), commit them all in one transaction, answer each. */
void submit_begin(struct agent *a);
int submit_round_full(const struct agent *a);
int submit_collect(struct agent *a, struct local_request *p);
void submit_commit(struct agent *a);
void submit_answer(struct agent *a, struct local_request *p);
void submit_free(struct agent *a);
/* Test-only: with AGENT_TEST_EXIT_ENV=N in its environment the agent exits
 * with AGENT_TEST_EXIT_CODE right after its Nth submit commit, before it
 * answers: the answer a crash takes from a till (test_business_keys). */
#define AGENT_TEST_EXIT_ENV "SS_TEST_AGENT_EXIT_AFTER_COMMITS"
#define AGENT_TEST_EXIT_CODE 86

/* HQ's policies at submit (agent_enforce.c), inside the submit transaction:
 * 0 when r may be recorded, ENFORCE_REFUSED with a one-line reason naming
 * the policy and its value, or an MDB_* / SS_* code. */
#define ENFORCE_REFUSED 1
int enforce_check(struct agent *a, MDB_txn *txn, const Storesync__Record *r, char *reason,
	size_t len);
/* What a recorded r changes in the store's account balances. */
int enforce_apply(struct agent *a, MDB_txn *txn, const Storesync__Record *r);

/* Reepoch: r (its new seq set) was old_seq; its business key names the new
 * seq and its age entry moves from base_old + old_seq to base_new + r->seq. A
 * key pruned already is left so. */
int keys_renumber(struct agent_db *db, MDB_txn *txn, const Storesync__Record *r,
	uint64_t old_seq, uint64_t base_old, uint64_t base_new);
/* Reepoch: a request recorded as old_seq is now new_seq. */
int requests_renumber(struct agent_db *db, MDB_txn *txn, const Storesync__Record *r,
	uint64_t old_seq);

/* Drops business keys older than they must be kept; no write when none is. */
int keys_maintain(struct agent *a, int64_t now_ms, char *err, size_t errlen);

/* Loads where the down-flow of db stands. */
int apply_open(struct agent_apply *ap, struct agent_db *db, char *err, size_t errlen);
/* Applies u if it is next in turn (outbox_bytes: the outbox's share of the
 * one budget). Returns 1 when the hub is to be answered with an UpdateAck
 * of what is applied (u applied, or not in turn), 0 when not (a snapshot
 * part staged, or nothing committed: the hub sends it again). */
int apply_update(struct agent_apply *ap, const Storesync__Update *u, uint64_t outbox_bytes);
/* The same for a price list read in place, with the same answer. */
int apply_price_wire(struct agent_apply *ap, const struct price_wire *w,
	uint64_t outbox_bytes);
/* The UpdateAck that tells the hub what is applied here. */
void apply_ack_fill(const struct agent_apply *ap, Storesync__UpdateAck *ack);

/* Local queries (agent_query.c), answered from LMDB. */
void query_price_answer(struct agent *a, struct local_request *p);
void query_policy_answer(struct agent *a, struct local_request *p);
void query_notices_answer(struct agent *a, struct local_request *p);
void query_requests_answer(struct agent *a, struct local_request *p);

/* Fills a StatusReply (strings point into a; nothing to free). */
void status_fill(struct agent *a, Storesync__StatusReply *st);
void status_answer(struct agent *a, struct local_request *p);

/* storectl reepoch (agent_reepoch.c). */
void reepoch_answer(struct agent *a, struct local_request *p);
/* /metrics (agent_metrics.c): listens on cfg.http unless it is "off"; the
 * listener runs inside the agent's own loop (agent_metrics_run when
 * agent_metrics_fd is readable), so it reads state on the one thread. */
int agent_metrics_start(struct agent *a, char *err, size_t errlen);
int agent_metrics_fd(struct agent *a);   /* -1 when off */
void agent_metrics_run(struct agent *a);
void agent_metrics_stop(struct agent *a);

#endif
