/* hub_work: what the hub's one writer works on.
 *
 * The writer (hub_writer.c) takes typed work items from two sources: the
 * store link (a LinkMessage from a store's connection) and the operators
 * (a write request handed over by a query worker on an inproc socket).
 * Every kind of item has one handler (hub_dispatch.c holds the table):
 *   admit  outside any transaction: check the item as read; refuse it
 *          (answer the sender, return < 0), answer it in full when it needs
 *          nothing written (a heartbeat that changes nothing LMDB must hold
 *          now, hub_live.c; return > 0), or let it join the round (0);
 *   apply  inside the round's one write transaction (group commit); may run
 *          more than once (the map grew and the round is replayed), so it
 *          recomputes its results from the database every time;
 *   reply  after the commit: answer the sender (an Ack never runs ahead of
 *          the disk).
 * A kind the table does not know is refused, never handled as another. */
#ifndef HUB_WORK_H
#define HUB_WORK_H

#include <uthash.h>
#include <zmq.h>

#include "hub.h"
#include "hub_downstream.h"
#include "ss_arena.h"

enum hub_work_kind {
	HUB_WORK_HELLO,
	HUB_WORK_BATCH,
	HUB_WORK_HEARTBEAT,
	HUB_WORK_UPDATE_ACK,
	/* operators' writes (hub_op_*.c) */
	HUB_WORK_OP_STORE_ADD,
	HUB_WORK_OP_STORE_SET,
	HUB_WORK_OP_STORE_IMPORT,
	HUB_WORK_OP_PRICE_PUSH,
	HUB_WORK_OP_POLICY_SET,
	HUB_WORK_OP_REPLENISH_APPROVE,
	HUB_WORK_OP_REPLENISH_REFUSE,
	HUB_WORK_OP_STORE_REKEY,
	HUB_WORK_OP_STORE_RETIRE,
	HUB_WORK_OP_STORE_REVOKE,
	HUB_WORK_OP_OPERATOR_ADD,
	HUB_WORK_OP_OPERATOR_REVOKE,
	/* the writer's own, on a timer */
	HUB_WORK_NOTICE_SCAN,
	HUB_WORK_LOG_PRUNE,
	HUB_WORK_LIVE_FLUSH,
	HUB_WORK_KINDS
};

/* One connection on the store link, by ZeroMQ routing id. */
struct hub_peer {
	UT_hash_handle hh;
	uint8_t id[256];
	size_t id_len;
	char store_id[33];         /* learnt from Hello/Batch; "" until then */
	/* Who its CurveZMQ key is (hub_link_authorize), as of registry_gen. */
	char key[SS_CURVE_KEY_CHARS + 1];
	char key_store[33];        /* the store the key is a current key of */
	int key_ok, key_checked;
	uint64_t key_gen;
	struct ss_lograte rate;    /* complaints about this peer: one line per interval */
	int64_t seen_mono;
	int sent_since_heartbeat;  /* the hub sent it something since its previous heartbeat */
	int64_t heartbeat_mono;    /* its previous heartbeat */
	struct hub_live *live;     /* its store's heartbeats (hub_live.c), once known */
	uint64_t resend_from;      /* last Resend asked, to avoid asking on every batch */
	int64_t resend_mono;
	struct hub_down down;      /* what flows down to the store (hub_downstream.c) */
};

struct hub_work {
	enum hub_work_kind kind;
	/* From a store link. */
	struct hub_peer *peer;
	Storesync__LinkMessage *msg;   /* in the round's arena */
	const char *store_id;          /* the store the item is for (peer's) */
	uint64_t epoch;                /* 0: whatever epoch the store's state holds */
	/* From an operator, through a query worker. */
	int is_op;
	zmq_msg_t op_route;            /* the waiting query worker's routing id */
	Storesync__QueryRequest *req;  /* owned */
	char user[72];                 /* who asks: an operator's name, or "local" */
	int op_refused;                /* refused before the round (answer says why) */
	struct table *answer;          /* built by apply, sent by reply */
	/* Results of apply (recomputed on every replay). */
	uint64_t through;              /* the store's high-water mark after the item */
	uint64_t resend_from;          /* a gap was seen: resend from here (0: none) */
	char region[40];               /* the store's, as registered */
	uint64_t update_id;            /* an operator write issued this update (0: none) */
	char wake_store[33];           /* ...for this store only ("": for any) */
	/* A Hello's findings, logged after the commit (hub_events.c). */
	int first_contact;             /* the hub had never heard of the store */
	uint64_t prev_epoch;           /* the epoch the store was on (0: none) */
};

/* Items of one round, at most. A round takes what is waiting, so under
 * load rounds grow and each fsync covers more: the cap only has to be high
 * enough that a slow disk (100 ms commits) still carries 12,000 one-record
 * batches a second (issue 14; at 512 the hub fell behind). */
#define HUB_ROUND_MAX_ITEMS 4096
/* Stores one state flush writes in a round (hub_live.c): a flush round
 * rewrites most pages of the time-ordered silence index whatever its size,
 * so fewer, larger rounds write less (10,000 stores: 3.6 MB a sweep at
 * 1,024, four times that at 256), at 20-30 ms of the writer each. */
#define HUB_LIVE_FLUSH_MAX 1024
#define HUB_ROUND_STORES (HUB_ROUND_MAX_ITEMS + HUB_LIVE_FLUSH_MAX)
/* Open-addressing index of the round's stores by id: a power of two. */
#define HUB_ROUND_STORE_SLOTS 16384

/* One group commit's work. Every item touches at most one store, but for
 * the state flush, which touches up to HUB_LIVE_FLUSH_MAX. */
struct hub_round {
	struct hub_work items[HUB_ROUND_MAX_ITEMS];
	size_t n, records, bytes;
	size_t unpacked_bytes;         /* heap the items hold (ss_proto's count) */
	struct hub_store stores[HUB_ROUND_STORES];
	size_t n_stores;
	uint32_t store_slot[HUB_ROUND_STORE_SLOTS];  /* index + 1 into stores, 0: free */
	int64_t now_ms;
	uint64_t duplicates, gaps;
	struct ss_lograte commit_log;
	/* The link messages of the round, unpacked here and given back at
	 * once when dropped, all at the round's end: one bump per field
	 * instead of a malloc and a free (issue 14: at 12,000 one-record
	 * batches a second, malloc and free were a tenth of the writer). */
	struct ss_arena arena;
	int64_t read_end_mono;         /* when reading the round's items stopped */
	int gathered;                  /* its apply and commit took commit_interval_ms or more */
};

struct hub_handler {
	const char *name;
	int (*admit)(struct hub *h, struct hub_work *w);
	int (*apply)(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w);
	void (*reply)(struct hub *h, struct hub_work *w);
};

/* hub_dispatch: the handler of each kind, and the kind of a message. */
extern const struct hub_handler *const hub_handlers[HUB_WORK_KINDS];
/* The work kind of a link message, or -1 when the link takes no such kind. */
int hub_link_work_kind(Storesync__LinkMessage__KindCase k);

/* hub_link: the store link's connections and what is said on it. */
struct hub_peer *hub_peer_get(struct hub *h, zmq_msg_t *id);
void hub_peers_sweep(struct hub *h);
void hub_peers_free(struct hub *h);
void hub_link_send(struct hub *h, struct hub_peer *p, Storesync__LinkMessage *m);
/* Refuses an item with a reason: counted, answered, logged once per peer
 * per interval. */
void hub_link_refuse(struct hub *h, struct hub_peer *p, Storesync__ErrorCode code,
	atomic_uint_fast64_t *counter, const char *reason);
/* With Curve: 0 when the key on p's message (ZAP's User-Id) is a current
 * key of an active store, checked against the registry as of the latest
 * change of it; otherwise -1, counted (unauthorized_messages), logged once
 * per interval and not answered, and p is no longer bound to its store
 * (nothing more flows down to it). */
int hub_link_authorize(struct hub *h, struct hub_peer *p, const char *key);
/* After a round that retired or revoked keys: every bound connection is
 * checked again, so a revoked store stops getting updates at once. */
void hub_link_revalidate(struct hub *h);
/* Checks the store an item claims (with Curve: the link key's store, or
 * refused as an impersonation) and binds it to the peer: 0 when
 * acceptable, otherwise refused. */
int hub_link_claim(struct hub *h, struct hub_work *w, const char *store_id, uint64_t epoch);

/* hub_writer: one round on one message, as if the writer had read it:
 * admit, apply, commit, answer (over h->router or h->ops, whose sockets the
 * caller provides). frames are [routing id, body] from the store link, or
 * [worker, "", user, body] from the operators' channel (from_ops); n of them,
 * closed here. Lets the fuzzing harnesses drive the engine without a
 * store (tests/fuzz). */
void hub_writer_handle_frames(struct hub *h, int from_ops, zmq_msg_t *frames, int n);

/* hub_writer: answering an operator write (reply handlers call these) and
 * freeing an item. */
void hub_op_answer(struct hub *h, struct hub_work *w);
void hub_op_fail(struct hub *h, struct hub_work *w, const char *reason);
void hub_work_release(struct hub_work *w);

/* hub_events: the log's account of the stores' links (writer thread).
 * After a Hello's commit: a new store, an epoch changed, a connection, a
 * rolled-back store. */
void hub_events_hello(struct hub *h, const struct hub_work *w);
/* Any message read from p's connection. */
void hub_events_heard(struct hub *h, const struct hub_peer *p);
/* Stores silent for three of their heartbeats are logged as disconnected. */
void hub_events_tick(struct hub *h);
void hub_events_free(struct hub *h);

/* hub_writer: the state of store_id inside the round's transaction, loaded
 * once per round and saved at its end. */
int hub_round_store(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w,
	struct hub_store **out);
/* hub_live: heartbeats in memory, written when they matter or by the
 * periodic flush. */
/* Takes a heartbeat of p's store into memory; 1 when it must be written in
 * this round, 0 when the next flush will do. */
int hub_live_heartbeat(struct hub *h, struct hub_peer *p, const Storesync__Heartbeat *hb,
	int64_t now_ms);
/* Gives a store loaded in a round what memory holds for it. */
void hub_live_merge(struct hub *h, struct hub_store *s);
/* After a commit: what LMDB now holds of s. */
void hub_live_written(struct hub *h, const struct hub_store *s);
/* 1 when a flush item should join this round (one is due or under way). */
int hub_live_flush_due(struct hub *h, int64_t now_mono);
/* The round holding the flush failed: its chunk is passed over (its stores
 * stay pending, for the next sweep or their next write), so a chunk that
 * cannot be written does not take every later round down with it. */
void hub_live_flush_failed(struct hub *h);
void hub_live_free(struct hub *h);

/* Marks the store heard from now (first contact starts its silence clock). */
void hub_round_seen(struct hub_store *s, int64_t now_ms);
void hub_round_progress(struct hub_store *s, int64_t now_ms);

#endif
