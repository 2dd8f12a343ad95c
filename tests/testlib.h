/* testlib: what the integration tests share. Real daemons (the binaries of
 * this build tree), real LMDB directories under a fresh temporary directory,
 * ipc:// endpoints inside it. Nothing here fakes ZeroMQ or LMDB. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <check.h>
#include <stdint.h>
#include <sys/types.h>

#include "ss_curve.h"
#include "ss_link.h"
#include "ss_proto.h"

/* A scratch directory for one test; removed by tl_cleanup. The hub runs
 * with CurveZMQ: hub_listen (the store link) and hub_ops (the operators'
 * endpoint) admit registered keys only; hub_query is its admin socket, the
 * plaintext ipc door of the hub's own host, where the tests ask and
 * instruct as the "local" admin. Keys live in dir/keys (testlib_curve.c). */
#define TL_ADMIN_SOCKET "hub-admin.sock"

struct tl_env {
	char dir[256];
	char hub_listen[320], hub_query[320], hub_ops[320];
	char hub_data[320];
};

void tl_env_init(struct tl_env *e);
void tl_env_cleanup(struct tl_env *e);

/* Endpoint and data dir of store `store` inside e. */
void tl_agent_paths(const struct tl_env *e, const char *store, char *local, size_t llen,
	char *data, size_t dlen);

/* Starts hq-hub on e's endpoints (extra flags may follow, NULL-terminated)
 * and waits until its admin socket answers; then registers every store key
 * of e. Returns the pid. */
pid_t tl_start_hub(const struct tl_env *e, ...);
/* Starts store-agent for store with e's hub and the store's key (registered
 * now when the hub runs, else when it starts); extra flags NULL-terminated.
 * Waits until its local endpoint answers status. */
pid_t tl_start_agent(const struct tl_env *e, const char *store, ...);
void tl_kill9(pid_t pid);
/* SIGTERM, then wait; fails the test if the process does not exit cleanly. */
void tl_stop(pid_t pid);

/* A sale record of total_fen with one line, at time now. Free with
 * storesync__record__free_unpacked(r, NULL). */
Storesync__Record *tl_sale(int64_t total_fen, const char *receipt_no);

/* Submits records to an agent. seqs[i] > 0 for each accepted record; errors[i]
 * (malloc'd, may be NULL) for refused ones when errors is not NULL.
 * Returns 0 when the agent answered, -1 when it did not within timeout_ms. */
int tl_submit(const char *local, Storesync__Record **recs, size_t n, uint64_t *seqs,
	char **errors, int timeout_ms);

/* Agent status, or NULL when it does not answer. */
Storesync__StatusReply *tl_status(const char *local, int timeout_ms);
void tl_status_free(Storesync__StatusReply *st);

/* One store's row from `stores`: fields by column name. -1 when absent. */
int64_t tl_store_field(const char *query_ep, const char *store, const char *column);
/* A hub counter from `stats`. */
int64_t tl_hub_stat(const char *query_ep, const char *counter);
/* Rewrites key's value in database db of the hub's stopped (or running)
 * LMDB directory, as no code of the hub would: edit changes the unpacked
 * message (of type desc) in place. For state an older hub, or a change the
 * hub's writer did not make, would leave. */
void tl_hub_edit(const char *hub_data, const char *db, const char *key,
	const ProtobufCMessageDescriptor *desc, void (*edit)(ProtobufCMessage *m));

/* Polls until store's `records` at the hub reaches want or timeout_ms passes.
 * Returns the last value seen. */
int64_t tl_wait_records(const char *query_ep, const char *store, int64_t want, int timeout_ms);
/* Waits until the hub shows store's backlog 0 (the agent's word in a
 * heartbeat sent after its last ack); the last value seen. */
int64_t tl_wait_hub_backlog_zero(const char *query_ep, const char *store, int timeout_ms);

/* Submits n sales of amount_fen each, receipts "<prefix>-<first_no + i>", in
 * one request. seqs (n entries, may be NULL) as tl_submit fills them.
 * Returns how many were accepted, or -1 when the agent did not answer. */
int tl_submit_sales(const char *local, size_t n, int64_t amount_fen, const char *prefix,
	uint64_t first_no, uint64_t *seqs, int timeout_ms);

/* Polls the agent until the hub has acknowledged everything it holds
 * (acked_seq == last_seq). Returns last_seq, or -1 when timeout_ms passed. */
int64_t tl_wait_drained(const char *local, int timeout_ms);

/* Runs a command line via /bin/sh; returns its exit status. */
int tl_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 when the command line check succeeds (a tool the test needs is there).
 * Otherwise the test fails under CI=true, whose machine deploy/install-deps.sh
 * provisioned, and elsewhere prints "SKIP test: why" and returns 0 for the
 * test to return: a skip on a developer's machine, never in CI. */
int tl_need(const char *check, const char *test, const char *why);

/* Runs each test in its own TCase (own timeout, forked); returns the exit
 * status for main: 1 when any test failed. */
/* ---- CurveZMQ keys of a test directory (testlib_curve.c) ---- */

/* dir/keys/WHO.key and WHO.key.pub, made on first use. */
void tl_key_paths(const char *dir, const char *who, char *secret, size_t slen, char *pub,
	size_t plen);
/* The key pair file of store and the hub's public key file, for an agent's
 * --curve-key and --hub-key. */
void tl_store_key_args(const struct tl_env *e, const char *store, char *secret, size_t slen,
	char *hub_pub, size_t hlen);
/* Registers store's key at e's hub (store add --key): 0, or -1 when no hub
 * runs. tl_register_all: every store key in e's directory. */
int tl_register_store(const struct tl_env *e, const char *store);
void tl_register_all(const struct tl_env *e);
/* Makes sock a Curve client of the hub whose test endpoint is given (its
 * directory holds the keys), as store, registering the store's key first
 * when the hub runs. */
void tl_curve_as(void *sock, const char *endpoint, const char *store);
/* The same for any endpoint (tcp:// too) of e's hub. */
void tl_curve_env(void *sock, const struct tl_env *e, const char *store);
/* store's key pair and e's hub public key (store registered when the hub
 * runs), for a test that makes many sockets with them (ss_curve_client). */
void tl_curve_keys(const struct tl_env *e, const char *store, struct ss_curve_pair *pair,
	char hub_key[SS_CURVE_KEY_CHARS + 1]);
/* Makes sock, bound on an ipc:// endpoint of a test directory, a CurveZMQ
 * server with that directory's hub key (a stand-in hub for the agents). */
void tl_curve_serve_as_hub(void *sock, const char *endpoint);

int tl_run(const char *name, const TTest *const *tests, size_t n, double timeout_s);

/* ---- A test peer on the hub's link ROUTER (added for test_protocol and
 * test_malformed). A DEALER in a context of its own, made inside the test
 * (contexts must not cross check's fork). ---- */
struct tl_link {
	void *ctx, *sock;          /* sock: NULL until the first message */
	char endpoint[320];
	uint64_t resend_from;      /* last Resend seen while waiting for something else */
	int resends;
	/* Updates that arrived while something else was awaited, oldest first. */
	Storesync__LinkMessage *updates[64];
	size_t n_updates;
};

/* A peer on hub_listen. It connects on its first message, with the key of
 * the store that message names (a Hello's or Batch's; "PEER" for one that
 * names none), registered at the hub first: a test peer is a registered
 * store, as only those get in. */
void tl_link_open(struct tl_link *l, const char *hub_listen);
/* A peer that connects at once with store's key, whatever it then claims. */
void tl_link_open_as(struct tl_link *l, const char *hub_listen, const char *store);
void tl_link_close(struct tl_link *l);
/* Sends bytes as one frame, or as `frames` equal parts (a multi-frame message). */
void tl_link_send_raw(struct tl_link *l, const void *buf, size_t len, int frames);
/* Sends m; sets proto_version = 1 unless m->has_proto_version is already set. */
void tl_link_send(struct tl_link *l, Storesync__LinkMessage *m);
/* The next message from the hub, or NULL when none arrives within timeout_ms. */
Storesync__LinkMessage *tl_link_recv(struct tl_link *l, int timeout_ms);
/* Waits for a message of kind (free with storesync__link_message__free_unpacked).
 * Heartbeats are skipped and Resends remembered in l when kind is not Resend;
 * any other message fails the test (an Error with its code and reason). */
Storesync__LinkMessage *tl_link_expect(struct tl_link *l, Storesync__LinkMessage__KindCase kind,
	int timeout_ms);
/* Says Hello for (store, epoch); returns Welcome.high_water_seq. */
uint64_t tl_link_hello(struct tl_link *l, const char *store, uint64_t epoch);
/* Sends Batch{store, epoch, first_seq, n sales}: record seq s is a one-line
 * sale of amount(s) fen with receipt "R-<epoch's last 4 hex digits>-<s>".
 * Does not wait for the Ack. */
void tl_link_batch(struct tl_link *l, const char *store, uint64_t epoch, uint64_t first_seq,
	size_t n, int64_t (*amount)(uint64_t seq));
/* Waits for the next Ack and returns its through_seq. */
uint64_t tl_link_ack(struct tl_link *l);
/* Waits for an Error, checks its code and that it has a reason. */
void tl_link_expect_error(struct tl_link *l, Storesync__ErrorCode code);

/* ---- The down-flow, from a test peer (added for test_downstream) ---- */

/* The next Update from the hub (kept ones first), or NULL when none comes
 * within timeout_ms. Free with storesync__link_message__free_unpacked. */
Storesync__LinkMessage *tl_link_update(struct tl_link *l, int timeout_ms);
/* Tells the hub every update through applied is committed. */
void tl_link_update_ack(struct tl_link *l, uint64_t applied);
/* Says Hello for (store, epoch) reporting applied_update_id; returns the
 * Welcome's high-water mark. */
uint64_t tl_link_hello_applied(struct tl_link *l, const char *store, uint64_t epoch,
	uint64_t applied);

/* Sends a prepared operator request (proto_version is set here) and returns
 * the answer, or NULL when the hub did not answer within 10 s. */
Storesync__QueryReply *tl_request(const char *query_ep, Storesync__QueryRequest *req);
/* "price push" of n prices: SKU "<prefix>-<i>" at price(i) fen, params as
 * NULL-terminated key, value pairs (e.g. "region", "N", NULL). */
Storesync__QueryReply *tl_price_push(const char *query_ep, const char *prefix, size_t n,
	int64_t (*price)(size_t i), ...);
/* A cell of the first row of an operator write's answer, by column, as
 * text (integers in decimal); fails the test when the write was refused. */
const char *tl_answer(const Storesync__QueryReply *r, const char *column);

/* Sends raw bytes to a local (agent) endpoint from a REQ socket and returns
 * the reply, or NULL when none came within timeout_ms. */
Storesync__LocalReply *tl_local_raw(const char *ep, const void *buf, size_t len, int timeout_ms);
/* The same for the hub's query endpoint. */
Storesync__QueryReply *tl_query_raw(const char *ep, const void *buf, size_t len, int timeout_ms);
/* m packed, with the first occurrence of mark replaced by the same number
 * of bytes from with: how a string holding a NUL is made (protobuf-c packs
 * C strings, which cannot). Free with free(). */
uint8_t *tl_pack_patched(const ProtobufCMessage *m, const char *mark, const char *with,
	size_t with_len, size_t *len);

/* The peak resident set of pid (VmHWM), in KiB; -1 when unknown. */
int64_t tl_vm_hwm_kib(pid_t pid);
/* CPU time pid has used so far (user + system), in clock ticks (1/100 s);
 * -1 when it is gone. */
int64_t tl_cpu_ticks(pid_t pid);
/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int tl_free_port(void);

/* 1 while pid runs (not exited, not reaped). */
int tl_alive(pid_t pid);
/* Deterministic PRNG for the tests (xorshift64*), seeded by the caller. */
uint64_t tl_rand(uint64_t *state);

/* ---- Operators' queries and JSON Lines records (added for test_views and
 * test_determinism) ---- */

/* Asks the hub's query endpoint for `what` with NULL-terminated key, value
 * params, e.g. tl_query(ep, "sales", "store", "S1", "by", "month", NULL).
 * Returns the reply (free with tl_query_free), or NULL when the hub did not
 * answer within 5 s. A refused query is a reply with `error` set. */
Storesync__QueryReply *tl_query(const char *query_ep, const char *what, ...);
/* The same, but fails the test unless the hub answers without an error. */
Storesync__QueryReply *tl_query_ok(const char *query_ep, const char *what, ...);
void tl_query_free(Storesync__QueryReply *r);
/* Index of the first row whose cells equal every NULL-terminated (column,
 * text) pair (an integer cell compares by its decimal text), or -1. Fails
 * the test when a column does not exist. */
int tl_row_find(const Storesync__QueryReply *r, ...);
/* How many rows match the NULL-terminated (column, text) pairs. */
size_t tl_row_count(const Storesync__QueryReply *r, ...);
/* A cell by row index and column name; fails the test when the column does
 * not exist or the cell has the other type. */
int64_t tl_cell_int(const Storesync__QueryReply *r, int row, const char *column);
const char *tl_cell_str(const Storesync__QueryReply *r, int row, const char *column);

/* "<store>-<YYYYMM>-<serial>": a case number registered at time_ms by a
 * store utc_offset_min from UTC (the month is the store-local one). */
const char *tl_case_no(char *buf, size_t len, const char *store, int serial, int64_t time_ms,
	int32_t utc_offset_min);

/* A Record from one JSON Lines object (docs/records.md); fails the test when
 * it does not convert. Free with storesync__record__free_unpacked(r, NULL). */
Storesync__Record *tl_json_record(const char *line);
/* Submits JSON Lines records to an agent in one request; fails the test
 * unless the agent answers and accepts every one. Returns the last seq. */
uint64_t tl_submit_json(const char *local, const char *const *lines, size_t n);
/* One JSON Lines record, printf-style, as tl_submit_json. */
uint64_t tl_submit_jsonf(const char *local, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sends Batch{store, epoch, first_seq, recs} on a test link; sets
 * recs[i]->seq = first_seq + i. Does not wait for the Ack. */
void tl_link_batch_records(struct tl_link *l, const char *store, uint64_t epoch,
	uint64_t first_seq, Storesync__Record **recs, size_t n);
/* Sends JSON Lines records as one Batch{store, epoch, first_seq}, stamped as
 * an agent at utc_offset_min would (recorded_ms = time_ms + 1 s), and waits
 * for the Ack; returns its through_seq. */
uint64_t tl_link_send_json(struct tl_link *l, const char *store, uint64_t epoch,
	uint64_t first_seq, int32_t utc_offset_min, const char *const *lines, size_t n);

/* ---- A test hub peer for the down-flow (added for test_apply and the
 * agent's policy and business-key tests): a ROUTER bound on the endpoint a
 * real store-agent connects to (--hub; tl_start_agent uses e->hub_listen).
 * It answers Hello with Welcome{high_water_seq = the agent's last_seq} and
 * acknowledges Batches, so the agent's upstream is content, and sends the
 * Updates a test builds. Context of its own, made inside the test. ---- */
struct tl_fakehub {
	void *ctx, *sock;
	uint8_t peer[256];         /* routing id of the agent that said Hello last */
	size_t peer_len;
	int hellos;                /* Hellos seen */
	uint64_t hello_applied;    /* applied_update_id of the last Hello */
	int heartbeats;            /* Heartbeats seen */
	Storesync__Heartbeat hb;   /* ids of the last Heartbeat (scalars only) */
};

void tl_fakehub_open(struct tl_fakehub *h, const char *endpoint);
void tl_fakehub_close(struct tl_fakehub *h);
/* Serves the agent for up to timeout_ms; returns the first message of kind
 * (Hello, Batch and Heartbeat are answered or noted on the way, and
 * returned only when asked for). NULL on timeout. Free the result with
 * storesync__link_message__free_unpacked. */
Storesync__LinkMessage *tl_fakehub_next(struct tl_fakehub *h,
	Storesync__LinkMessage__KindCase kind, int timeout_ms);
/* The applied_update_id of the agent's Hello (the latest one since the hub
 * was opened or told to forget), waiting for one if none came yet. Fails
 * the test when none comes. */
uint64_t tl_fakehub_hello(struct tl_fakehub *h, int timeout_ms);
/* After the agent was stopped or killed: drops what it left queued (a
 * Hello of the old process must not pass for the next one's). */
void tl_fakehub_forget(struct tl_fakehub *h);
/* Sends u to the agent: 0, or -1 when the agent is not connected. */
int tl_fakehub_send(struct tl_fakehub *h, const Storesync__Update *u);
/* Waits for the next UpdateAck and copies it into *ack (may be NULL);
 * returns its applied_update_id. Fails the test when none comes. */
uint64_t tl_fakehub_ack(struct tl_fakehub *h, Storesync__UpdateAck *ack, int timeout_ms);
/* Sends u and waits for its UpdateAck; returns the acknowledged id. */
uint64_t tl_fakehub_apply(struct tl_fakehub *h, const Storesync__Update *u);

/* Updates as the hub would send them. Free with
 * storesync__update__free_unpacked(u, NULL). */
Storesync__Update *tl_update(uint64_t update_id, uint64_t after_id);
/* Makes u a price list effective at effective_ms (on the first call) and
 * adds sku at price_fen. */
void tl_update_price(Storesync__Update *u, int64_t effective_ms, const char *sku,
	int64_t price_fen);
/* Makes u a policy set effective at effective_ms and adds name = value. */
void tl_update_policy(Storesync__Update *u, int64_t effective_ms, const char *name,
	int64_t value);
void tl_update_notice(Storesync__Update *u, const char *account, int64_t since_ms,
	int64_t balance_fen, int64_t issued_ms);
void tl_update_decision(Storesync__Update *u, const char *request_no, int approved,
	int64_t quantity, const char *note);
/* Makes u part `part` of `parts` of a snapshot; the add functions put
 * entries (with their own update ids) into it. */
void tl_update_snapshot(Storesync__Update *u, uint32_t part, uint32_t parts);
void tl_snapshot_price(Storesync__Update *u, uint64_t update_id, int64_t effective_ms,
	const char *sku, int64_t price_fen);
void tl_snapshot_policy(Storesync__Update *u, uint64_t update_id, int64_t effective_ms,
	const char *name, int64_t value);
void tl_snapshot_notice(Storesync__Update *u, const char *account, int64_t since_ms,
	int64_t balance_fen, int64_t issued_ms);

/* ---- The agent's local queries ---- */

/* Sends req (proto_version set here) to the agent; the reply or NULL when
 * none came. Free with storesync__local_reply__free_unpacked. */
Storesync__LocalReply *tl_local(const char *local, Storesync__LocalRequest *req, int timeout_ms);
/* The agent's PriceReply for sku at at_ms (0: now); fails the test when
 * the agent does not answer or refuses. */
Storesync__LocalReply *tl_price(const char *local, const char *sku, int64_t at_ms);
/* The price of sku in force at at_ms, or -1 when the agent has none. */
int64_t tl_price_fen(const char *local, const char *sku, int64_t at_ms);
/* The value of policy name in force at at_ms (0: now). */
int64_t tl_policy_value(const char *local, const char *name, int64_t at_ms);

/* One record's result as the agent answered it. */
struct tl_result {
	uint64_t seq;
	int duplicate;
	char error[256];           /* "" when accepted */
};

/* Submits recs; fills res (n entries). 0, or -1 when the agent did not
 * answer within timeout_ms. */
int tl_submit_results(const char *local, Storesync__Record **recs, size_t n,
	struct tl_result *res, int timeout_ms);
/* Submits one JSON Lines record; its result. Fails the test when the
 * agent does not answer. */
struct tl_result tl_submit_json_result(const char *local, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- The daemons' logs (added for test_events and test_reepoch): what
 * tl_start_hub and tl_start_agent write stderr to, e->dir/hub.log and
 * e->dir/agent-<store>.log. ---- */

/* How many lines of file match the extended regular expression. */
size_t tl_log_count(const char *file, const char *ere);
/* Waits up to timeout_ms for at least `count` lines matching ere; fails
 * the test, naming the file, when they do not come. */
void tl_log_wait(const char *file, const char *ere, size_t count, int timeout_ms);
/* ---- HTTP (added for test_metrics, test_status_page) ---- */

/* GET path from addr (IPV4:PORT) with one extra header line (may be NULL;
 * "Authorization: Bearer X"); the body (malloc'd, NUL-terminated, the
 * caller frees it) and its length. Returns the HTTP status, -1 when nothing
 * answered. The server must not use chunked encoding (libmicrohttpd does
 * not for a whole buffer). */
int tl_http_get(const char *addr, const char *path, const char *header, char **body,
	size_t *len);

/* Memory bounds as docs/security.md states them, for the tests that drive
 * a daemon's worst case and compare its peak RSS (test_hostile,
 * test_local_limit), in KiB. Slack is what the daemons allocate besides the
 * messages (threads, LMDB pages touched, libzmq buffers); under
 * AddressSanitizer freed memory is held back in its quarantine (256 MiB)
 * and every byte has its shadow, so bounds are scaled. */
#define TL_MIB (1024 * 1024)
#ifdef __SANITIZE_ADDRESS__
#define TL_RSS_SLACK_KIB ((int64_t)(48 + 256) * 1024)
#define TL_RSS_SCALE(kib) ((kib) * 5 / 4)
#else
#define TL_RSS_SLACK_KIB ((int64_t)48 * 1024)
#define TL_RSS_SCALE(kib) (kib)
#endif
/* A frame at the message limit, and what one connection may park in
 * libzmq: SS_LINK_ROUTER_RCVHWM frames plus the one being decoded. */
#define TL_FRAME_KIB ((int64_t)(SS_MAX_MSG_BYTES + (1 << 20)) / 1024)
#define TL_CONN_QUEUE_KIB ((SS_LINK_ROUTER_RCVHWM + 1) * TL_FRAME_KIB)

#endif
