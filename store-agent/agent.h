/* store-agent: the daemon's one context struct and the interfaces between
 * its parts. Data path: agent_submit (validate, group commit) ->
 * agent_outbox (LMDB, durable before answering) -> agent_sender (batches,
 * window, acks, resend) -> hub. One thread runs all of it, so the outbox has
 * exactly one writer and no locks are needed. */
#ifndef AGENT_H
#define AGENT_H

#include <stdint.h>

#include "ss_lmdb.h"
#include "ss_log.h"
#include "ss_proto.h"

struct agent_config {
	char store_id[33];
	char data_dir[1024];
	char hub[512];          /* hub's ROUTER endpoint */
	char local[512];        /* our ROUTER for tills and storectl */
	int64_t budget_bytes;   /* outbox disk budget: past it, "buffer full" */
	int64_t retention_days; /* acknowledged records kept this long */
	int64_t retention_ms;   /* the same, derived */
	int64_t batch_records;  /* records per Batch */
	int64_t window_batches; /* unacknowledged batches in flight */
	int64_t ack_timeout_ms; /* resend from the last ack after this long */
	int64_t heartbeat_ms;
	char utc_offset[16];    /* "auto" (the system's zone) or minutes east of UTC */
	int auto_offset;        /* derived: 1 when "auto" */
	int32_t utc_offset_min; /* derived: the fixed offset otherwise */
};

/* The LMDB outbox: records keyed by seq, plus meta (epoch, store, acked). */
struct agent_outbox {
	struct ss_lmdb db;
	MDB_dbi records;        /* seq (u64 BE) -> packed Record */
	MDB_dbi meta;           /* name -> value */
	char store_id[33];
	uint64_t epoch;
	uint64_t last_seq;      /* newest durable record */
	uint64_t acked_seq;     /* hub has committed every seq <= this */
	uint64_t acked_durable; /* acked_seq as last written to disk */
	uint64_t first_seq;     /* oldest record still kept (last_seq + 1 when none) */
	uint64_t used_bytes;    /* accounted outbox bytes (records + keys + overhead) */
	uint64_t budget_bytes;
	int64_t retention_ms;
};

/* What happened to one record handed to outbox_append. */
struct outbox_slot {
	Storesync__Record *record; /* in: validated record; seq/recorded_ms set on success */
	uint64_t seq;              /* out: > 0 when durable */
	int full;                  /* out: refused because the budget is reached */
};

int outbox_open(struct agent_outbox *ob, const struct agent_config *cfg, char *err, size_t errlen);
void outbox_close(struct agent_outbox *ob);
/* Assigns seqs and commits all slots in one transaction (group commit).
 * Slots that do not fit in the budget, after evicting acknowledged records,
 * get full = 1 and no seq. Returns 0, or a negative SS_* code when nothing
 * was committed (every slot then counts as refused, reason in err). */
int outbox_append(struct agent_outbox *ob, struct outbox_slot *slots, size_t n, int64_t now_ms,
	char *err, size_t errlen);
/* Records that the hub holds everything through seq (may move back: a hub
 * restored from a backup). Kept in memory; outbox_maintain makes it durable. */
void outbox_set_acked(struct agent_outbox *ob, uint64_t seq);
/* Persists acked_seq and drops acknowledged records past retention. */
int outbox_maintain(struct agent_outbox *ob, int64_t now_ms, char *err, size_t errlen);
/* Reads up to max records from seq onward into batch (allocated records, free
 * with storesync__batch__free_unpacked-compatible ownership: see sender). */
int outbox_read(struct agent_outbox *ob, uint64_t from_seq, size_t max,
	Storesync__Record ***out, size_t *n_out);
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
	int64_t heartbeat_mono; /* last heartbeat sent */
	int64_t last_ack_ms;    /* wall time of the last ack */
	uint64_t batches_sent, resends, hub_errors;
	int conflict;           /* the hub holds more of our epoch than we do: stopped */
	struct ss_lograte pruned_log;
};

struct submit_round;

struct agent {
	struct agent_config cfg;
	struct agent_outbox outbox;
	struct agent_sender sender;
	void *zctx;
	void *local;            /* ROUTER for tills and storectl */
	struct submit_round *submit; /* agent_submit's scratch, reused per round */
	uint64_t refused_requests;
	volatile int stopping;
};

int sender_start(struct agent *a, char *err, size_t errlen);
void sender_stop(struct agent *a);
/* A (re)connection: say Hello, so a restarted or restored hub tells us
 * where it stands even when we have nothing new to send. */
void sender_on_monitor(struct agent *a);
/* Handles every message waiting from the hub. */
void sender_on_readable(struct agent *a);
/* Sends batches while the window allows, hellos, heartbeats and resends. */
void sender_tick(struct agent *a);
/* Milliseconds until sender_tick has timed work to do. */
int64_t sender_next_timeout_ms(const struct agent *a);
const char *sender_link_state(const struct agent *a);

/* Reads all queued local requests, commits their records in one transaction
 * and answers each client. */
void submit_on_readable(struct agent *a);
void submit_free(struct agent *a);

/* Fills a StatusReply (strings point into a; nothing to free). */
void status_fill(struct agent *a, Storesync__StatusReply *st);

#endif
