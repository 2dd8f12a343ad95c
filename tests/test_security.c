/* test_security: guarantee 6 (issue 11), with real daemons, hqctl and
 * storectl. The hub of every test runs CurveZMQ (testlib_curve.c); keys not
 * made through testlib's store helpers are never registered.
 *   an unknown key gets nothing: the door keeper refuses it (counted), on
 *     the store link and on the operators' endpoint (hqctl: exit 3), and
 *     one door's keys do not open the other;
 *   a link holding S1's key that speaks for S2 is refused (counted every
 *     time, logged once per link), and neither store's data moves;
 *   the "next seq" attack: a plaintext peer, an unknown key and another
 *     store's key each send S1's next seq with a forged record; S1's own
 *     record with that seq is the one the hub holds;
 *   a revoked store is cut off at once: what its till accepts stays in the
 *     outbox, the hub applies nothing more, shows it revoked, refuses its
 *     reconnects;
 *   a revoked store re-keyed resumes: its buffered records arrive once;
 *   rotation without downtime: the old key works until retire-key, then
 *     neither a live link nor a new connection with it is heard;
 *   operators' roles: read may query, not write, and sees no customer's
 *     name (no dump); refusals and writes are audited (who, what, result);
 *     no operator takes the name of the hub's own admin users; a revoked
 *     operator is refused, also on the connection it kept open;
 *   confidentiality downstream: a store never receives another store's
 *     targeted price, notice or decision, nor does a link that claims it,
 *     nor one that takes the routing id another store's link had;
 *   --insecure works and says so (stores' link column, the hub's log);
 *   a secret key file others may read stops each program at start;
 *   hqctl audit --from TIME (and --since) leaves out earlier entries;
 *   an hqctl call is no handshake failure (its reachability check was one,
 *     and a closed connection more, on every call), a wrong hub key is.
 * Elsewhere: a plaintext hqctl is refused by the operators' endpoint and the
 * link (test_client, wrong_kind_of_endpoint_is_named); a link claiming an
 * unregistered store (test_protocol, batch_for_another_store_refused);
 * floods at the door keeper (test_hostile). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ss_link.h"
#include "ss_time.h"
#include "testlib.h"

#define WAIT_MS 10000
#define CUTOFF_MS 5000          /* issue 11: a revoked store is cut off within 5 s */
#define DAY_MS 86400000LL
#define FORGED_FEN 999999
#define PEER_EPOCH 0x5ec0000000000001ull

struct fx {
	struct tl_env e;
	pid_t hub, a1, a2;
	char l1[320], d1[320], l2[320], d2[320], out[320], err[320], csv[320];
	char hub_pub[400];
};

static void fx_init(struct fx *f)
{
	char secret[400];

	memset(f, 0, sizeof *f);
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S1", f->l1, sizeof f->l1, f->d1, sizeof f->d1);
	tl_agent_paths(&f->e, "S2", f->l2, sizeof f->l2, f->d2, sizeof f->d2);
	snprintf(f->out, sizeof f->out, "%s/out", f->e.dir);
	snprintf(f->err, sizeof f->err, "%s/err", f->e.dir);
	snprintf(f->csv, sizeof f->csv, "%s/in.csv", f->e.dir);
	tl_key_paths(f->e.dir, "hub", secret, sizeof secret, f->hub_pub, sizeof f->hub_pub);
}

static void fx_start(struct fx *f)
{
	fx_init(f);
	f->hub = tl_start_hub(&f->e, NULL);
}

static void fx_stop(struct fx *f)
{
	if (f->a1)
		tl_stop(f->a1);
	if (f->a2)
		tl_stop(f->a2);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static int vrun(struct fx *f, const char *prefix, const char *fmt, va_list ap)
{
	char args[1024];

	vsnprintf(args, sizeof args, fmt, ap);
	return tl_sh("%s %s >'%s' 2>'%s'", prefix, args, f->out, f->err);
}

/* hqctl on the hub's admin socket (operator "local"). */
static int hqctl(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hqctl(struct fx *f, const char *fmt, ...)
{
	char prefix[800];
	va_list ap;
	int rc;

	snprintf(prefix, sizeof prefix, "'%s/hqctl' --hub '%s'", SS_BIN_DIR, f->e.hub_query);
	va_start(ap, fmt);
	rc = vrun(f, prefix, fmt, ap);
	va_end(ap);
	return rc;
}

/* The key pair file of operator who (made on first use, never registered
 * here). */
static void op_key(struct fx *f, const char *who, char *secret, size_t slen, char *pub,
	size_t plen)
{
	char name[64];

	snprintf(name, sizeof name, "op-%s", who);
	tl_key_paths(f->e.dir, name, secret, slen, pub, plen);
}

/* hqctl on the CurveZMQ operators' endpoint as operator who. */
static int hqctl_as(struct fx *f, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int hqctl_as(struct fx *f, const char *who, const char *fmt, ...)
{
	char prefix[1600], secret[400], pub[400];
	va_list ap;
	int rc;

	op_key(f, who, secret, sizeof secret, pub, sizeof pub);
	snprintf(prefix, sizeof prefix, "'%s/hqctl' --hub '%s' -i '%s' -k '%s'", SS_BIN_DIR,
		f->e.hub_ops, secret, f->hub_pub);
	va_start(ap, fmt);
	rc = vrun(f, prefix, fmt, ap);
	va_end(ap);
	return rc;
}

static int storectl(struct fx *f, const char *local, const char *args)
{
	return tl_sh("'%s/storectl' --agent '%s' %s >'%s' 2>'%s'", SS_BIN_DIR, local, args,
		f->out, f->err);
}

static int file_has(const char *path, const char *ere)
{
	return tl_sh("grep -a -E -q -e '%s' '%s'", ere, path) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Polls a hub counter until it reaches want (or the deadline); the last value. */
static int64_t wait_stat(struct fx *f, const char *counter, int64_t want, int timeout_ms)
{
	int64_t deadline = ss_mono_ms() + timeout_ms, v;

	while ((v = tl_hub_stat(f->e.hub_query, counter)) < want && ss_mono_ms() < deadline)
		ss_sleep_ms(50);
	return v;
}

static uint64_t agent_epoch(const char *local)
{
	Storesync__StatusReply *st = tl_status(local, 2000);
	uint64_t epoch;

	ck_assert_ptr_nonnull(st);
	epoch = st->epoch;
	tl_status_free(st);
	return epoch;
}

static uint64_t agent_batches_sent(const char *local)
{
	Storesync__StatusReply *st = tl_status(local, 2000);
	uint64_t n;

	ck_assert_ptr_nonnull(st);
	n = st->batches_sent;
	tl_status_free(st);
	return n;
}

/* Submits n sales of amount_fen (receipts PREFIX-first..) and checks the
 * till accepted each one. */
static void till(const char *local, size_t n, int64_t amount_fen, const char *prefix,
	uint64_t first)
{
	ck_assert_int_eq(tl_submit_sales(local, n, amount_fen, prefix, first, NULL, 5000), (int)n);
}

/* A link peer whose key the hub never heard of (keys/WHO.key), or with
 * who NULL a plaintext one: the tl_link calls then work on it as on any
 * test peer. */
static void link_open_unregistered(struct tl_link *l, struct fx *f, const char *who)
{
	char err[512], secret[400], pub[400], hub_key[SS_CURVE_KEY_CHARS + 1];
	struct ss_curve_pair pair;

	tl_link_open(l, f->e.hub_listen);
	l->ctx = zmq_ctx_new();
	ck_assert_ptr_nonnull(l->ctx);
	l->sock = ss_link_socket(l->ctx, ZMQ_DEALER, err, sizeof err);
	ck_assert_msg(l->sock != NULL, "%s", err);
	if (who) {
		tl_key_paths(f->e.dir, who, secret, sizeof secret, pub, sizeof pub);
		ck_assert_msg(ss_curve_load_pair(secret, &pair, err, sizeof err) == 0, "%s", err);
		ck_assert_msg(ss_curve_load_public(f->hub_pub, hub_key, err, sizeof err) == 0, "%s",
			err);
		ck_assert_int_eq(ss_curve_client(l->sock, &pair, hub_key), 0);
	}
	ck_assert_int_eq(zmq_connect(l->sock, l->endpoint), 0);
}

/* A link peer with store's (registered) key that names its own ZeroMQ
 * routing id, as any client may. */
static void link_open_with_id(struct tl_link *l, struct fx *f, const char *store, const char *id)
{
	char err[512];

	tl_link_open(l, f->e.hub_listen);
	l->ctx = zmq_ctx_new();
	ck_assert_ptr_nonnull(l->ctx);
	l->sock = ss_link_socket(l->ctx, ZMQ_DEALER, err, sizeof err);
	ck_assert_msg(l->sock != NULL, "%s", err);
	ck_assert_int_eq(zmq_setsockopt(l->sock, ZMQ_ROUTING_ID, id, strlen(id)), 0);
	tl_curve_env(l->sock, &f->e, store);
	ck_assert_int_eq(zmq_connect(l->sock, l->endpoint), 0);
}

/* Sends m on l's socket without blocking: a peer whose handshake failed
 * has nowhere to send (and must not hang the test); sent right after the
 * connect, it is queued for the connection the hub is to refuse. */
static void send_nowait(struct tl_link *l, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	ss_proto_send(l->sock, &m->base, ZMQ_DONTWAIT);
}

/* Says Hello for store without waiting for an answer. */
static void send_hello(struct tl_link *l, const char *store, uint64_t epoch)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;

	h.store_id = (char *)store;
	h.epoch = epoch;
	h.has_epoch = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	send_nowait(l, &m);
}

/* A Batch of one forged sale as record seq of (store, epoch): receipt
 * FORGED-<seq>, FORGED_FEN. */
static void send_forged(struct tl_link *l, const char *store, uint64_t epoch, uint64_t seq)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record *r;
	char receipt[32];

	snprintf(receipt, sizeof receipt, "FORGED-%llu", (unsigned long long)seq);
	r = tl_sale(FORGED_FEN, receipt);
	r->seq = seq;
	r->has_seq = 1;
	r->recorded_ms = r->time_ms;
	r->has_recorded_ms = 1;
	b.store_id = (char *)store;
	b.epoch = epoch;
	b.has_epoch = 1;
	b.first_seq = seq;
	b.has_first_seq = 1;
	b.records = &r;
	b.n_records = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	send_nowait(l, &m);
	storesync__record__free_unpacked(r, NULL);
}

/* Nothing at all arrives on l within ms (after a refusal counted at the
 * hub, the handshake is over: nothing can come later). */
static void expect_silence(struct tl_link *l, int ms)
{
	Storesync__LinkMessage *m = tl_link_recv(l, ms);

	ck_assert_msg(m == NULL, "the hub answered a refused peer (kind %d)",
		m ? (int)m->kind_case : 0);
}

static int64_t amount_100(uint64_t seq)
{
	(void)seq;
	return 100;
}

/* ---- the door keeper ---- */

#define STRANGERS 200
#define STRANGERS_AT_ONCE 20

static size_t store_rows(struct fx *f)
{
	Storesync__QueryReply *r = tl_query_ok(f->e.hub_query, "stores", NULL);
	size_t n = r->n_rows;

	tl_query_free(r);
	return n;
}

/* STRANGERS unregistered keys, each saying Hello for a store id of its own
 * (a batch at a time, each held until the hub has refused it): none of
 * them becomes a row of `stores`. */
static void strangers_say_hello(struct fx *f)
{
	struct tl_link l[STRANGERS_AT_ONCE];
	size_t rows0 = store_rows(f);
	int64_t refused0 = tl_hub_stat(f->e.hub_query, "zap_refused_keys");

	for (int i = 0; i < STRANGERS; i += STRANGERS_AT_ONCE) {
		for (int j = 0; j < STRANGERS_AT_ONCE; j++) {
			char who[32], store[32];

			snprintf(who, sizeof who, "stranger-%d", i + j);
			snprintf(store, sizeof store, "XNEW%03d", i + j);
			link_open_unregistered(&l[j], f, who);
			send_hello(&l[j], store, PEER_EPOCH);
		}
		ck_assert_int_ge(wait_stat(f, "zap_refused_keys", refused0 + i + STRANGERS_AT_ONCE,
			WAIT_MS), refused0 + i + STRANGERS_AT_ONCE);
		for (int j = 0; j < STRANGERS_AT_ONCE; j++)
			tl_link_close(&l[j]);
	}
	ck_assert_uint_eq(store_rows(f), rows0);
	ck_assert_int_eq(tl_hub_stat(f->e.hub_query, "records_applied"), 0);
}

START_TEST(an_unknown_key_gets_nothing)
{
	struct fx f;
	struct tl_link l;
	char secret[400], pub[400];
	int64_t refused0;

	fx_start(&f);
	ck_assert_int_eq(tl_register_store(&f.e, "S1"), 0);
	refused0 = tl_hub_stat(f.e.hub_query, "zap_refused_keys");
	link_open_unregistered(&l, &f, "stranger");
	send_hello(&l, "S1", PEER_EPOCH);
	send_forged(&l, "S1", PEER_EPOCH, 1);
	ck_assert_int_ge(wait_stat(&f, "zap_refused_keys", refused0 + 1, WAIT_MS), refused0 + 1);
	expect_silence(&l, 500);
	tl_link_close(&l);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 0);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "records_applied"), 0);
	strangers_say_hello(&f);
	refused0 += STRANGERS;
	/* The operators' door: a key no operator holds, and a store's. */
	ck_assert_int_eq(hqctl_as(&f, "stranger", "stores"), 3);
	ck_assert_msg(file_has(f.err, "refused our key"), "see %s", f.err);
	tl_store_key_args(&f.e, "S1", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' -i '%s' -k '%s' stores 2>'%s'", SS_BIN_DIR,
		f.e.hub_ops, secret, f.hub_pub, f.err), 3);
	ck_assert(file_has(f.err, "refused our key"));
	ck_assert_int_ge(tl_hub_stat(f.e.hub_query, "zap_refused_keys"), refused0 + 3);
	/* The link: an operator's key is no store's. */
	op_key(&f, "boss", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(&f, "operator add boss --key '%s' --role admin", pub), 0);
	ck_assert_int_eq(hqctl_as(&f, "boss", "stores"), 0);
	link_open_unregistered(&l, &f, "op-boss");
	send_hello(&l, "S1", PEER_EPOCH);
	ck_assert_int_ge(wait_stat(&f, "zap_refused_keys", refused0 + 4, WAIT_MS), refused0 + 4);
	expect_silence(&l, 200);
	tl_link_close(&l);
	fx_stop(&f);
}
END_TEST

START_TEST(impersonation_refused_and_no_data_moves)
{
	struct fx f;
	struct tl_link s1, s2, fresh;
	char log[400];
	const uint64_t e1 = PEER_EPOCH, e2 = PEER_EPOCH + 1;

	fx_start(&f);
	tl_link_open_as(&s1, f.e.hub_listen, "S1");
	tl_link_open_as(&s2, f.e.hub_listen, "S2");
	tl_link_hello(&s1, "S1", e1);
	tl_link_batch(&s1, "S1", e1, 1, 2, amount_100);
	ck_assert_uint_eq(tl_link_ack(&s1), 2);
	tl_link_hello(&s2, "S2", e2);
	tl_link_batch(&s2, "S2", e2, 1, 3, amount_100);
	ck_assert_uint_eq(tl_link_ack(&s2), 3);
	/* S1's key speaks for S2: on S1's link, Hello; on a new link whose
	 * first words claim S2, Hello, then S2's next seq. */
	send_hello(&s1, "S2", e2);
	tl_link_expect_error(&s1, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	tl_link_open_as(&fresh, f.e.hub_listen, "S1");
	send_hello(&fresh, "S2", e2);
	tl_link_expect_error(&fresh, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	send_forged(&fresh, "S2", e2, 4);
	tl_link_expect_error(&fresh, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "impersonations"), 3);
	/* Counted every time, logged once per link and interval. */
	for (int i = 0; i < 20; i++) {
		send_hello(&fresh, "S2", e2);
		tl_link_expect_error(&fresh, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	}
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "impersonations"), 23);
	snprintf(log, sizeof log, "%s/hub.log", f.e.dir);
	ck_assert_int_eq(tl_sh("test \"$(grep -c 'message claims store S2' '%s')\" -eq 2", log), 0);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S2", "records"), 3);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S2", "amount_fen"), 300);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S2", "high_water_seq"), 3);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 200);
	/* S2's seq 4 is still S2's to send. */
	tl_link_batch(&s2, "S2", e2, 4, 1, amount_100);
	ck_assert_uint_eq(tl_link_ack(&s2), 4);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S2", "amount_fen"), 400);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "duplicates"), 0);
	tl_link_close(&s1);
	tl_link_close(&s2);
	tl_link_close(&fresh);
	fx_stop(&f);
}
END_TEST

/* Issue 11, section 5: before Curve an unauthenticated peer could send a
 * store's next seq, and the store's own record was then dropped as a
 * duplicate. */
START_TEST(next_seq_attack_cannot_replace_a_stores_record)
{
	struct fx f;
	struct tl_link plain, stranger, other;
	uint64_t epoch;
	int64_t refused0, failed0;

	fx_start(&f);
	f.a1 = tl_start_agent(&f.e, "S1", NULL);
	till(f.l1, 2, 100, "REAL", 1);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 2);
	epoch = agent_epoch(f.l1);
	refused0 = tl_hub_stat(f.e.hub_query, "zap_refused_keys");
	failed0 = tl_hub_stat(f.e.hub_query, "handshake_failures");
	link_open_unregistered(&plain, &f, NULL);
	send_forged(&plain, "S1", epoch, 3);
	link_open_unregistered(&stranger, &f, "stranger");
	send_forged(&stranger, "S1", epoch, 3);
	tl_link_open_as(&other, f.e.hub_listen, "S2");
	send_forged(&other, "S1", epoch, 3);
	tl_link_expect_error(&other, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	ck_assert_int_ge(wait_stat(&f, "zap_refused_keys", refused0 + 1, WAIT_MS), refused0 + 1);
	/* A plaintext ZMTP greeting meets a CURVE server: no handshake. */
	ck_assert_int_ge(wait_stat(&f, "handshake_failures", failed0 + 1, WAIT_MS), failed0 + 1);
	expect_silence(&plain, 200);
	expect_silence(&stranger, 200);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "high_water_seq"), 2);
	/* The store's own seq 3. */
	till(f.l1, 1, 300, "REAL", 3);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 3);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 3);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 500);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "duplicates"), 0);
	ck_assert_int_eq(hqctl(&f, "dump --csv"), 0);
	ck_assert(file_has(f.out, "REAL-3"));
	ck_assert(!file_has(f.out, "FORGED"));
	tl_link_close(&plain);
	tl_link_close(&stranger);
	tl_link_close(&other);
	fx_stop(&f);
}
END_TEST

/* ---- revocation and rotation ---- */

/* The registry's keys of store: the current one (pub file), then the
 * previous one still accepted (NULL: none). */
static void expect_keys(struct fx *f, const char *store, const char *pub, const char *previous)
{
	char key[SS_CURVE_KEY_CHARS + 1], err[512], want[2 * SS_CURVE_KEY_CHARS + 2];
	Storesync__QueryReply *r;
	size_t n;

	/* Whole keys, in the order the registry holds them (hqctl shortens them
	 * for people, and gives scripts the list). */
	ck_assert_msg(ss_curve_load_public(pub, key, err, sizeof err) == 0, "%s", err);
	n = (size_t)snprintf(want, sizeof want, "%s", key);
	if (previous) {
		ck_assert_msg(ss_curve_load_public(previous, key, err, sizeof err) == 0, "%s", err);
		snprintf(want + n, sizeof want - n, ",%s", key);
	}
	r = tl_query_ok(f->e.hub_query, "store list", "store", store, NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_str_eq(tl_cell_str(r, 0, "status"), "active");
	ck_assert_str_eq(tl_cell_str(r, 0, "keys"), want);
	tl_query_free(r);
}

/* After `store revoke`, the agent's new batch reaches the hub and is
 * ignored: waits (up to the cut-off deadline) until the agent has sent a
 * batch since batches0 and the hub has ignored three more of its messages
 * after that (one connection is FIFO, so the batch was among them). */
static void expect_ignored(struct fx *f, const char *local, uint64_t batches0, int64_t deadline)
{
	int64_t ignored;

	while (agent_batches_sent(local) <= batches0 && ss_mono_ms() < deadline)
		ss_sleep_ms(20);
	ck_assert_msg(agent_batches_sent(local) > batches0, "the agent sent no batch");
	ignored = tl_hub_stat(f->e.hub_query, "unauthorized_messages");
	while (tl_hub_stat(f->e.hub_query, "unauthorized_messages") < ignored + 3
		&& ss_mono_ms() < deadline)
		ss_sleep_ms(50);
	ck_assert_int_ge(tl_hub_stat(f->e.hub_query, "unauthorized_messages"), ignored + 3);
}

static void expect_backlog(const char *local, uint64_t last_seq, uint64_t backlog)
{
	Storesync__StatusReply *st = tl_status(local, 2000);

	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(st->last_seq, last_seq);
	ck_assert_uint_eq(st->backlog, backlog);
	tl_status_free(st);
}

static void expect_link_not_up(const char *local)
{
	int64_t deadline = ss_mono_ms() + WAIT_MS;
	Storesync__StatusReply *st;
	int up;

	for (;;) {
		st = tl_status(local, 2000);
		ck_assert_ptr_nonnull(st);
		up = st->link_state && strcmp(st->link_state, "up") == 0;
		tl_status_free(st);
		if (!up || ss_mono_ms() >= deadline)
			break;
		ss_sleep_ms(100);
	}
	ck_assert_msg(!up, "the agent's link is still up");
}

/* S1 with 3 records at the hub, then revoked; 2 more accepted by its till
 * and ignored by the hub, within the cut-off. With listener, a link with
 * S1's key that said Hello last before the revocation (so it is the one
 * S1's updates would go to) and then only listens. */
static void revoke_with_backlog(struct fx *f, struct tl_link *listener)
{
	uint64_t batches0;
	int64_t deadline;

	f->a1 = tl_start_agent(&f->e, "S1", NULL);
	till(f->l1, 3, 100, "R", 1);
	ck_assert_int_eq(tl_wait_drained(f->l1, WAIT_MS), 3);
	if (listener) {
		tl_link_open_as(listener, f->e.hub_listen, "S1");
		ck_assert_uint_eq(tl_link_hello_applied(listener, "S1", agent_epoch(f->l1), 0), 3);
	}
	batches0 = agent_batches_sent(f->l1);
	ck_assert_int_eq(hqctl(f, "store revoke S1"), 0);
	deadline = ss_mono_ms() + CUTOFF_MS;
	till(f->l1, 2, 200, "R", 4);
	expect_ignored(f, f->l1, batches0, deadline);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "records"), 3);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "amount_fen"), 300);
	expect_backlog(f->l1, 5, 2);
}

START_TEST(a_revoked_store_is_cut_off_and_keeps_its_records)
{
	struct fx f;
	struct tl_link s1, s2;
	Storesync__LinkMessage *m;
	int64_t refused0;

	fx_start(&f);
	tl_link_open_as(&s2, f.e.hub_listen, "S2");
	tl_link_hello_applied(&s2, "S2", PEER_EPOCH, 0);
	revoke_with_backlog(&f, &s1);
	ck_assert_int_eq(hqctl(&f, "stores --csv --wide"), 0);
	ck_assert_msg(file_has(f.out, "^S1,.*,revoked,curve,false,$"), "see %s", f.out);
	ck_assert_int_eq(storectl(&f, f.l1, "status --json"), 0);
	ck_assert(file_has(f.out, "\"backlog\": 2"));
	/* Its till sees the link is not up: the hub answers it nothing. */
	expect_link_not_up(f.l1);
	/* Nothing is answered with data either: a push for every store reaches
	 * S2 and not S1's silent link, cut at the revocation rather than at
	 * its next message. */
	write_file(f.csv, "sku,price_fen\nALL-1,100\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s'", f.csv), 0);
	m = tl_link_update(&s2, WAIT_MS);
	ck_assert_ptr_nonnull(m);
	storesync__link_message__free_unpacked(m, NULL);
	expect_silence(&s1, 300);
	tl_link_close(&s1);
	tl_link_close(&s2);
	/* A reconnect is refused at the handshake; the outbox survives it. */
	refused0 = tl_hub_stat(f.e.hub_query, "zap_refused_keys");
	tl_stop(f.a1);
	f.a1 = tl_start_agent(&f.e, "S1", NULL);
	ck_assert_int_ge(wait_stat(&f, "zap_refused_keys", refused0 + 1, WAIT_MS), refused0 + 1);
	expect_backlog(f.l1, 5, 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 3);
	fx_stop(&f);
}
END_TEST

START_TEST(a_rekeyed_store_resumes_exactly_once)
{
	struct fx f;
	char secret[400], pub[400];

	fx_start(&f);
	revoke_with_backlog(&f, NULL);
	tl_key_paths(f.e.dir, "S1-new", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(&f, "store rekey S1 --key '%s' --csv", pub), 0);
	ck_assert(file_has(f.out, "reinstated"));
	/* Reinstated with the new key only. */
	expect_keys(&f, "S1", pub, NULL);
	tl_stop(f.a1);
	f.a1 = tl_start_agent(&f.e, "S1", "--curve-key", secret, NULL);
	till(f.l1, 1, 400, "R", 6);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 6);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 6);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 3 * 100 + 2 * 200 + 400);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "high_water_seq"), 6);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "records_applied"), 6);
	fx_stop(&f);
}
END_TEST

START_TEST(rotation_without_downtime_then_the_old_key_is_refused)
{
	struct fx f;
	struct tl_link old_live, old_new;
	char secret[400], pub[400], old_secret[400], old_pub[400];
	uint64_t epoch;
	int64_t ignored0, refused0;

	fx_start(&f);
	f.a1 = tl_start_agent(&f.e, "S1", NULL);
	till(f.l1, 2, 100, "R", 1);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 2);
	epoch = agent_epoch(f.l1);
	/* The pair tl_start_agent gave S1 (testlib_curve.c names it store-S1). */
	tl_key_paths(f.e.dir, "store-S1", old_secret, sizeof old_secret, old_pub, sizeof old_pub);
	tl_key_paths(f.e.dir, "S1-new", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(&f, "store rekey S1 --key '%s' --csv", pub), 0);
	ck_assert(file_has(f.out, "rekeyed"));
	expect_keys(&f, "S1", pub, old_pub);
	/* The same rekey again (an operator's retry) changes nothing: the old
	 * key the running agent uses stays. */
	ck_assert_int_eq(hqctl(&f, "store rekey S1 --key '%s' --csv", pub), 0);
	ck_assert(file_has(f.out, "unchanged"));
	expect_keys(&f, "S1", pub, old_pub);
	/* The running agent, on the old key, keeps flowing; a new connection
	 * with the old key is let in too. */
	till(f.l1, 2, 100, "R", 3);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 4);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 4);
	tl_link_open_as(&old_live, f.e.hub_listen, "S1");
	ck_assert_uint_eq(tl_link_hello(&old_live, "S1", epoch), 4);
	/* The agent switches to the new pair. */
	tl_stop(f.a1);
	f.a1 = tl_start_agent(&f.e, "S1", "--curve-key", secret, NULL);
	till(f.l1, 2, 100, "R", 5);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 6);
	ck_assert_int_eq(hqctl(&f, "store retire-key S1"), 0);
	expect_keys(&f, "S1", pub, NULL);
	/* The old key's live link: not heard any more. */
	ignored0 = tl_hub_stat(f.e.hub_query, "unauthorized_messages");
	send_forged(&old_live, "S1", epoch, 7);
	ck_assert_int_ge(wait_stat(&f, "unauthorized_messages", ignored0 + 1, WAIT_MS),
		ignored0 + 1);
	expect_silence(&old_live, 200);
	/* A new connection with it: refused at the door. */
	refused0 = tl_hub_stat(f.e.hub_query, "zap_refused_keys");
	tl_link_open_as(&old_new, f.e.hub_listen, "S1");
	send_hello(&old_new, "S1", epoch);
	ck_assert_int_ge(wait_stat(&f, "zap_refused_keys", refused0 + 1, WAIT_MS), refused0 + 1);
	expect_silence(&old_new, 200);
	/* The store's own seq 7, on the new key. */
	till(f.l1, 1, 300, "R", 7);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 7);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 7);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "amount_fen"), 6 * 100 + 300);
	tl_link_close(&old_live);
	tl_link_close(&old_new);
	fx_stop(&f);
}
END_TEST

/* ---- operators ---- */

static void operator_add(struct fx *f, const char *who, const char *role)
{
	char secret[400], pub[400];

	op_key(f, who, secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(f, "operator add %s --key '%s' --role %s", who, pub, role), 0);
}

/* One connection to the operators' endpoint kept open across requests,
 * as operator who: libzmq cannot drop one peer, so a revocation has to
 * hold on a connection that is already in. */
struct op_conn {
	void *ctx, *sock;
};

static void op_conn_open(struct op_conn *c, struct fx *f, const char *who)
{
	char err[512], secret[400], pub[400], hub_key[SS_CURVE_KEY_CHARS + 1];
	struct ss_curve_pair pair;

	op_key(f, who, secret, sizeof secret, pub, sizeof pub);
	ck_assert_msg(ss_curve_load_pair(secret, &pair, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(ss_curve_load_public(f->hub_pub, hub_key, err, sizeof err) == 0, "%s", err);
	c->ctx = zmq_ctx_new();
	ck_assert_ptr_nonnull(c->ctx);
	c->sock = ss_link_socket(c->ctx, ZMQ_DEALER, err, sizeof err);
	ck_assert_msg(c->sock != NULL, "%s", err);
	ck_assert_int_eq(ss_curve_client(c->sock, &pair, hub_key), 0);
	ck_assert_int_eq(zmq_connect(c->sock, f->e.hub_ops), 0);
}

static void op_conn_close(struct op_conn *c)
{
	zmq_close(c->sock);
	zmq_ctx_term(c->ctx);
}

/* what with one param (k NULL: none); the reply (never NULL). */
static Storesync__QueryReply *op_conn_ask(struct op_conn *c, const char *what, const char *k,
	const char *v)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam p = STORESYNC__QUERY_PARAM__INIT, *pp = &p;
	Storesync__QueryReply *r;
	zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
	zmq_msg_t f[2];
	int n;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.what = (char *)what;
	if (k) {
		p.key = (char *)k;
		p.value = (char *)v;
		req.params = &pp;
		req.n_params = 1;
	}
	ck_assert_int_ge(zmq_send(c->sock, "", 0, ZMQ_SNDMORE), 0);
	ck_assert_int_eq(ss_proto_send(c->sock, &req.base, 0), 0);
	ck_assert_msg(zmq_poll(&it, 1, WAIT_MS) == 1, "no answer to %s", what);
	n = ss_link_recv(c->sock, f, 2, 0);
	ck_assert_int_eq(n, 2);
	r = (Storesync__QueryReply *)ss_proto_unpack(&storesync__query_reply__descriptor,
		zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), SS_MAX_MSG_BYTES);
	ss_link_close_frames(f, 2);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* The names the hub gives its own doors' users ("local" on the admin
 * socket, "insecure" without Curve) carry the admin role: operator add
 * refuses them. Were one added with the read role, its writes would say
 * what that role was worth. */
static void operator_name_refused(struct fx *f, const char *who)
{
	char secret[400], pub[400];
	int rc, writes = 0;

	op_key(f, who, secret, sizeof secret, pub, sizeof pub);
	rc = hqctl(f, "operator add %s --key '%s' --role read", who, pub);
	if (rc == 0) {
		write_file(f->csv, "sku,price_fen\nTEA-9,1\n");
		writes = hqctl_as(f, who, "price push '%s'", f->csv) == 0;
	}
	ck_assert_msg(rc == 1, "operator %s added with the read role%s", who,
		writes ? ", and it may push prices" : "");
	ck_assert(file_has(f->err, who));
}

START_TEST(a_read_operator_cannot_write_and_is_audited)
{
	struct fx f;
	struct tl_link l;
	struct op_conn reader, boss;
	char line[300], secret[400], pub[400];
	const char *const lines[] = { line };
	Storesync__QueryReply *r;

	fx_start(&f);
	operator_add(&f, "reader", "read");
	operator_add(&f, "boss", "admin");
	write_file(f.csv, "sku,price_fen\nTEA-1,1000\n");
	/* A customer's name (confidential: the store and HQ's admins only). */
	tl_link_open_as(&l, f.e.hub_listen, "S1");
	tl_link_hello(&l, "S1", PEER_EPOCH);
	snprintf(line, sizeof line, "{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":"
		"\"CT-9\",\"customer\":\"王五\",\"total_fen\":500000,\"account\":\"ACC-9\"}",
		(long long)ss_now_ms() - DAY_MS);
	ck_assert_uint_eq(tl_link_send_json(&l, "S1", PEER_EPOCH, 1, 0, lines, 1), 1);
	tl_link_close(&l);
	ck_assert_int_eq(hqctl_as(&f, "boss", "dump --csv"), 0);
	ck_assert(file_has(f.out, "王五"));
	ck_assert_int_eq(hqctl_as(&f, "reader", "accounts --csv"), 0);
	ck_assert(file_has(f.out, "ACC-9"));
	ck_assert(!file_has(f.out, "王五"));
	ck_assert_int_eq(hqctl_as(&f, "reader", "dump --csv"), 1);
	ck_assert(file_has(f.err, "dump needs the admin role"));
	ck_assert_msg(!file_has(f.out, "王五"), "a read operator's dump shows a customer's name");
	ck_assert_int_eq(hqctl_as(&f, "reader", "stores"), 0);
	ck_assert_int_eq(hqctl_as(&f, "reader", "operator list --csv"), 0);
	ck_assert(file_has(f.out, "^reader,read,active,"));
	ck_assert_int_eq(hqctl_as(&f, "reader", "price push '%s'", f.csv), 1);
	ck_assert_msg(file_has(f.err, "price push needs the admin role; operator reader has the "
		"read role"), "see %s", f.err);
	ck_assert_int_eq(hqctl_as(&f, "reader", "policy set max_discount_percent=10"), 1);
	ck_assert(file_has(f.err, "policy set needs the admin role"));
	ck_assert_int_eq(hqctl_as(&f, "reader", "store revoke S1"), 1);
	ck_assert(file_has(f.err, "store revoke needs the admin role"));
	/* The names the hub gives its own doors' users carry the admin role:
	 * no operator may be called so. */
	operator_name_refused(&f, "insecure");
	operator_name_refused(&f, "local");
	ck_assert_int_eq(hqctl_as(&f, "boss", "price push '%s'", f.csv), 0);
	/* One push went through: the admin's. */
	r = tl_query_ok(f.e.hub_query, "rollout", "kind", "price", NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	tl_query_free(r);
	r = tl_query_ok(f.e.hub_query, "policy show", NULL);
	ck_assert_int_lt(tl_row_find(r, "name", "max_discount_percent", "value", "10", NULL), 0);
	tl_query_free(r);
	/* An admin operator revokes the reader, who is then turned away: on a
	 * new connection at the door, on the one it kept open at each request. */
	op_conn_open(&reader, &f, "reader");
	r = op_conn_ask(&reader, "stores", NULL, NULL);
	ck_assert_ptr_null(r->error);
	tl_query_free(r);
	op_conn_open(&boss, &f, "boss");
	r = op_conn_ask(&boss, "operator revoke", "operator", "reader");
	ck_assert_ptr_null(r->error);
	tl_query_free(r);
	r = op_conn_ask(&reader, "stores", NULL, NULL);
	ck_assert_msg(r->error && strstr(r->error, "not an active operator"), "reader: %s",
		r->error ? r->error : "answered");
	ck_assert_uint_eq(r->n_rows, 0);
	tl_query_free(r);
	op_conn_close(&reader);
	op_conn_close(&boss);
	ck_assert_int_eq(hqctl_as(&f, "reader", "stores"), 3);
	ck_assert_msg(file_has(f.err, "refused our key"), "see %s", f.err);
	/* Who, what, result: refusals and writes alike. */
	ck_assert_int_eq(hqctl(&f, "audit --csv"), 0);
	ck_assert_msg(file_has(f.out, "^[0-9]+,reader,read,price push,1 prices,price push needs the "
		"admin role"), "see %s", f.out);
	ck_assert(file_has(f.out, "^[0-9]+,reader,read,policy set,[^,]*,policy set needs the admin"));
	ck_assert(file_has(f.out, "^[0-9]+,reader,read,store revoke,store=S1,store revoke needs"));
	ck_assert(file_has(f.out, "^[0-9]+,boss,admin,price push,1 prices,ok,[1-9]"));
	ck_assert(file_has(f.out, "^[0-9]+,boss,admin,operator revoke,operator=reader,ok,"));
	ck_assert(file_has(f.out, "^[0-9]+,local,admin,operator add,.*operator=reader.*,ok,"));
	ck_assert_int_eq(hqctl(&f, "audit --who reader --csv"), 0);
	ck_assert(!file_has(f.out, ",boss,"));
	ck_assert(file_has(f.out, ",reader,"));
	/* A revoked operator's name is not given again, and the refusal says
	 * why rather than "revoke it". */
	op_key(&f, "reader-again", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(&f, "operator add reader --key '%s' --role read", pub), 1);
	ck_assert_msg(file_has(f.err, "the name reader is taken by a revoked operator"), "see %s",
		f.err);
	fx_stop(&f);
}
END_TEST

/* ---- confidentiality downstream ---- */

static int contains(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, s, n) == 0)
			return 1;
	return 0;
}

/* What only S1 may learn, as it travels. */
static const char *const s1_only[] = { "S1ONLY", "ACC-9", "RQ-1", "for-S1-only", "王五" };

static void expect_nothing_of_s1(const Storesync__LinkMessage *m)
{
	size_t len;
	uint8_t *buf = ss_proto_pack(&m->base, &len);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < sizeof s1_only / sizeof s1_only[0]; i++)
		ck_assert_msg(!contains(buf, len, s1_only[i]), "update %llu holds %s",
			(unsigned long long)m->update->update_id, s1_only[i]);
	free(buf);
}

static void wait_file(struct fx *f, const char *local, const char *args, const char *ere)
{
	int64_t deadline = ss_mono_ms() + WAIT_MS;

	while ((storectl(f, local, args) != 0 || !file_has(f->out, ere)) && ss_mono_ms() < deadline)
		ss_sleep_ms(50);
	ck_assert_msg(file_has(f->out, ere), "storectl %s: no %s", args, ere);
}

static int db_has(const char *data_dir, const char *s)
{
	return tl_sh("grep -a -q -e '%s' '%s/data.mdb'", s, data_dir) == 0;
}

START_TEST(a_store_never_receives_another_stores_updates)
{
	struct fx f;
	struct tl_link liar;
	Storesync__LinkMessage *m;
	long long now = (long long)ss_now_ms();
	int got_all = 0;

	fx_init(&f);
	f.hub = tl_start_hub(&f.e, "--notice-scan-ms", "200", NULL);
	f.a1 = tl_start_agent(&f.e, "S1", NULL);
	f.a2 = tl_start_agent(&f.e, "S2", NULL);
	/* S1's notice (an account 45 days unpaid), decision and price. */
	tl_submit_jsonf(f.l1, "{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":"
		"\"CT-9\",\"customer\":\"王五\",\"total_fen\":500000,\"account\":\"ACC-9\"}",
		now - 45 * DAY_MS);
	tl_submit_jsonf(f.l1, "{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":"
		"\"RQ-1\",\"sku\":\"SOFA-3S\",\"quantity\":4,\"reason\":\"wedding\"}", now);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 2);
	ck_assert_int_eq(hqctl(&f, "replenish approve S1:RQ-1 --qty 2 --note for-S1-only"), 0);
	write_file(f.csv, "sku,price_fen\nS1ONLY-1,4242\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s' --stores S1", f.csv), 0);
	wait_file(&f, f.l1, "notices --json", "\"account\": \"ACC-9\"");
	wait_file(&f, f.l1, "requests --json", "\"state\": \"approved\"");
	wait_file(&f, f.l1, "price S1ONLY-1 --json", "\"price_fen\": 4242");
	/* A peer holding S2's key claims S1: refused, and it gets nothing,
	 * not even what is pushed to S1 after it asked. */
	tl_link_open_as(&liar, f.e.hub_listen, "S2");
	send_hello(&liar, "S1", agent_epoch(f.l1));
	tl_link_expect_error(&liar, STORESYNC__ERROR_CODE__ERR_WRONG_STORE);
	write_file(f.csv, "sku,price_fen\nS1ONLY-2,4343\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s' --stores S1", f.csv), 0);
	wait_file(&f, f.l1, "price S1ONLY-2 --json", "\"price_fen\": 4343");
	ck_assert_uint_eq(liar.n_updates, 0);
	expect_silence(&liar, 300);
	/* S2 applies a push for everyone, after all of S1's: its stream is
	 * past them, and it holds none. */
	write_file(f.csv, "sku,price_fen\nALL-1,100\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s'", f.csv), 0);
	wait_file(&f, f.l2, "price ALL-1 --json", "\"price_fen\": 100");
	ck_assert_int_eq(tl_price_fen(f.l2, "S1ONLY-1", 0), -1);
	ck_assert_int_eq(tl_price_fen(f.l2, "S1ONLY-2", 0), -1);
	ck_assert_int_eq(storectl(&f, f.l2, "notices --json"), 0);
	ck_assert(!file_has(f.out, "ACC-9"));
	ck_assert(file_has(f.out, "\"notices\": \\[\\]"));   /* a list, empty: S2 has none */
	ck_assert_int_eq(storectl(&f, f.l2, "requests --json"), 0);
	ck_assert(!file_has(f.out, "RQ-1"));
	ck_assert(file_has(f.out, "\"requests\": \\[\\]"));
	/* The same key saying who it is gets S2's snapshot: nothing of S1's. */
	tl_link_hello_applied(&liar, "S2", PEER_EPOCH, 0);
	while ((m = tl_link_update(&liar, 1000)) != NULL) {
		size_t len;
		uint8_t *buf = ss_proto_pack(&m->base, &len);

		got_all |= contains(buf, len, "ALL-1");
		free(buf);
		expect_nothing_of_s1(m);
		tl_link_update_ack(&liar, m->update->update_id);
		storesync__link_message__free_unpacked(m, NULL);
	}
	ck_assert_msg(got_all, "S2's snapshot lacks the push for everyone");
	tl_link_close(&liar);
	/* On disk: S1's agent holds what was its own, S2's none of it. */
	tl_stop(f.a1);
	tl_stop(f.a2);
	f.a1 = f.a2 = 0;
	for (size_t i = 0; i < sizeof s1_only / sizeof s1_only[0]; i++) {
		ck_assert_msg(db_has(f.d1, s1_only[i]), "S1's agent lacks %s", s1_only[i]);
		ck_assert_msg(!db_has(f.d2, s1_only[i]), "S2's agent holds %s", s1_only[i]);
	}
	fx_stop(&f);
}
END_TEST

/* The hub knows a connection by its routing id, which a client may choose:
 * a connection with S2's key that comes with the id S1's closed link had
 * is S2's, not the S1 that id was bound to. */
START_TEST(a_reused_routing_id_does_not_inherit_a_store)
{
	struct fx f;
	struct tl_link s1, s2;
	Storesync__LinkMessage hbm = STORESYNC__LINK_MESSAGE__INIT, *m;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	int64_t deadline;

	fx_start(&f);
	ck_assert_int_eq(tl_register_store(&f.e, "S2"), 0);
	link_open_with_id(&s1, &f, "S1", "till-link");
	tl_link_hello_applied(&s1, "S1", PEER_EPOCH, 0);
	tl_link_close(&s1);
	deadline = ss_mono_ms() + WAIT_MS;
	while (tl_hub_stat(f.e.hub_query, "link_open") != 0 && ss_mono_ms() < deadline)
		ss_sleep_ms(20);
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "link_open"), 0);
	link_open_with_id(&s2, &f, "S2", "till-link");
	/* Speaking as the store the id was bound to, without a Hello. */
	hb.backlog = 777;
	hb.has_backlog = 1;
	hbm.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	hbm.heartbeat = &hb;
	tl_link_send(&s2, &hbm);
	m = tl_link_recv(&s2, WAIT_MS);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ERROR
		&& m->error->code == STORESYNC__ERROR_CODE__ERR_NEED_HELLO,
		"the hub took a heartbeat from S2's key as S1's (kind %d)", (int)m->kind_case);
	storesync__link_message__free_unpacked(m, NULL);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "backlog"), 0);
	/* S1's updates do not go to it either. */
	write_file(f.csv, "sku,price_fen\nS1ONLY-1,4242\n");
	ck_assert_int_eq(hqctl(&f, "price push '%s' --stores S1", f.csv), 0);
	ck_assert_ptr_null(tl_link_update(&s2, 500));
	tl_link_close(&s2);
	fx_stop(&f);
}
END_TEST

/* ---- --insecure, key files ---- */

START_TEST(insecure_works_and_says_so)
{
	struct fx f;
	char log[400];

	fx_init(&f);
	f.hub = tl_start_hub(&f.e, "--insecure", NULL);
	f.a1 = tl_start_agent(&f.e, "S1", "--insecure", NULL);
	till(f.l1, 2, 100, "R", 1);
	ck_assert_int_eq(tl_wait_drained(f.l1, WAIT_MS), 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S1", "records"), 2);
	ck_assert_int_eq(hqctl(&f, "stores --json"), 0);
	ck_assert_msg(file_has(f.out, "\"link\": \"INSECURE\""), "see %s", f.out);
	snprintf(log, sizeof log, "%s/hub.log", f.e.dir);
	ck_assert(file_has(log, "INSECURE: --insecure: the store link and the operators. endpoint"));
	snprintf(log, sizeof log, "%s/agent-S1.log", f.e.dir);
	ck_assert(file_has(log, "INSECURE: --insecure: the hub link is plaintext"));
	/* Without Curve the operators' endpoint takes plaintext clients. */
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' stores >'%s' 2>&1", SS_BIN_DIR, f.e.hub_ops,
		f.out), 0);
	fx_stop(&f);
}
END_TEST

/* Runs cmd with stderr to f->err; its exit status (124 when it was still
 * running after 10 s: a daemon that started). */
static int run_err(struct fx *f, const char *cmd)
{
	return tl_sh("timeout 10 %s >/dev/null 2>'%s'", cmd, f->err);
}

static int one_line_with(struct fx *f, const char *ere)
{
	return file_has(f->err, ere) && tl_sh("test \"$(wc -l <'%s')\" -eq 1", f->err) == 0;
}

START_TEST(a_secret_key_others_may_read_is_refused_at_start)
{
	struct fx f;
	char cmd[2400], hub_secret[400], s1_secret[400], op_secret[400], op_pub[400];

	fx_init(&f);
	tl_key_paths(f.e.dir, "hub", hub_secret, sizeof hub_secret, f.hub_pub, sizeof f.hub_pub);
	tl_store_key_args(&f.e, "S1", s1_secret, sizeof s1_secret, f.hub_pub, sizeof f.hub_pub);
	op_key(&f, "boss", op_secret, sizeof op_secret, op_pub, sizeof op_pub);
	ck_assert_int_eq(chmod(hub_secret, 0640), 0);
	ck_assert_int_eq(chmod(s1_secret, 0604), 0);
	ck_assert_int_eq(chmod(op_secret, 0644), 0);
	snprintf(cmd, sizeof cmd, "'%s/hq-hub' --foreground --data-dir '%s' --listen '%s' --query "
		"'%s' --admin '%s' --admin-group '' --curve-key '%s'", SS_BIN_DIR, f.e.hub_data,
		f.e.hub_listen, f.e.hub_ops, f.e.hub_query, hub_secret);
	ck_assert_int_eq(run_err(&f, cmd), 1);
	ck_assert_msg(one_line_with(&f, "can be read by others \\(mode 0640\\)"), "see %s", f.err);
	snprintf(cmd, sizeof cmd, "'%s/store-agent' --store-id S1 --data-dir '%s' --hub '%s' "
		"--local '%s' --curve-key '%s' --hub-key '%s'", SS_BIN_DIR, f.d1, f.e.hub_listen, f.l1,
		s1_secret, f.hub_pub);
	ck_assert_int_eq(run_err(&f, cmd), 1);
	ck_assert_msg(one_line_with(&f, "can be read by others \\(mode 0604\\)"), "see %s", f.err);
	snprintf(cmd, sizeof cmd, "'%s/hqctl' --hub '%s' -i '%s' -k '%s' stores", SS_BIN_DIR,
		f.e.hub_ops, op_secret, f.hub_pub);
	ck_assert_int_eq(run_err(&f, cmd), 2);
	ck_assert_msg(one_line_with(&f, "can be read by others \\(mode 0644\\)"), "see %s", f.err);
	/* Made private again, the same key files start the hub. */
	ck_assert_int_eq(chmod(hub_secret, 0600), 0);
	f.hub = tl_start_hub(&f.e, NULL);
	fx_stop(&f);
}
END_TEST

/* ---- the audit log by time ---- */

/* Waits until the wall clock has passed ms. */
static void wait_past(int64_t ms)
{
	while (ss_now_ms() <= ms)
		ss_sleep_ms(5);
}

/* YYYY-MM-DDTHH:MM:SS (UTC) of ms. */
static void iso_utc(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	ck_assert_uint_gt(strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm), 0);
}

START_TEST(audit_from_leaves_out_earlier_entries)
{
	struct fx f;
	Storesync__QueryReply *r;
	char t1[32], iso[32], secret[400], pub[400];
	int64_t mid;

	fx_start(&f);
	ck_assert_int_eq(hqctl(&f, "store add EARLY"), 0);
	/* Registered without a key, given its first: changed, not unchanged. */
	op_key(&f, "early", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(&f, "store add EARLY --key '%s' --csv", pub), 0);
	ck_assert(file_has(f.out, "^EARLY,changed$"));
	expect_keys(&f, "EARLY", pub, NULL);
	/* A moment after the first write, on a whole second (for the
	 * YYYY-MM-DDTHH:MM:SS form). */
	mid = (ss_now_ms() / 1000 + 1) * 1000;
	wait_past(mid);
	ck_assert_int_eq(hqctl(&f, "store add LATE"), 0);
	snprintf(t1, sizeof t1, "%lld", (long long)mid);
	iso_utc(mid, iso, sizeof iso);
	ck_assert_int_eq(hqctl(&f, "audit --from %s --csv", t1), 0);
	ck_assert(file_has(f.out, ",store add,store=LATE,ok,"));
	ck_assert(!file_has(f.out, "EARLY"));
	ck_assert_int_eq(hqctl(&f, "audit --from %s --csv", iso), 0);
	ck_assert(file_has(f.out, "store=LATE"));
	ck_assert(!file_has(f.out, "EARLY"));
	ck_assert_int_eq(hqctl(&f, "audit --since %s --csv", t1), 0);
	ck_assert(file_has(f.out, "store=LATE"));
	ck_assert(!file_has(f.out, "EARLY"));
	ck_assert_int_eq(hqctl(&f, "audit --from 2000-01-01 --csv"), 0);
	ck_assert(file_has(f.out, "store=EARLY"));
	ck_assert(file_has(f.out, "store=LATE"));
	/* The hub reads --from as a time for audit from any client. */
	r = tl_query_ok(f.e.hub_query, "audit", "from", t1, NULL);
	ck_assert_uint_eq(r->n_rows, 1);
	ck_assert_str_eq(tl_cell_str(r, 0, "args"), "store=LATE");
	tl_query_free(r);
	/* A time for audit, still a business day for the others. */
	ck_assert_int_eq(hqctl(&f, "audit --from soon"), 2);
	ck_assert(file_has(f.err, "--from: bad value \"soon\""));
	ck_assert_int_eq(hqctl(&f, "sales --from %s", t1), 2);
	ck_assert_int_eq(hqctl(&f, "sales --from 2026-01-01"), 0);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --help | grep -q -e 'audit \\[--from TIME\\]'",
		SS_BIN_DIR), 0);
	fx_stop(&f);
}
END_TEST

/* hqctl checked that something listens by connecting a bare socket and
 * closing it: the hub counted a handshake failure (and a closed operator's
 * connection) per call, on the admin socket and the operators' endpoint. */
START_TEST(hqctl_calls_count_no_handshake_failure)
{
	enum { CALLS = 6 };
	struct fx f;
	char secret[400], pub[400], other_pub[400];
	int64_t failed0, closed0, closed;

	fx_start(&f);
	op_key(&f, "boss", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(hqctl(&f, "operator add boss --key '%s' --role admin", pub), 0);
	ss_sleep_ms(300);
	failed0 = tl_hub_stat(f.e.hub_query, "handshake_failures");
	closed0 = tl_hub_stat(f.e.hub_query, "query_disconnects");
	for (int i = 0; i < CALLS; i++) {
		ck_assert_int_eq(hqctl(&f, "stats"), 0);
		ck_assert_int_eq(hqctl_as(&f, "boss", "stores"), 0);
	}
	ss_sleep_ms(500);
	closed = tl_hub_stat(f.e.hub_query, "query_disconnects") - closed0;
	ck_assert_int_eq(tl_hub_stat(f.e.hub_query, "handshake_failures"), failed0);
	/* One connection each, and the tl_hub_stat that read closed0. */
	ck_assert_msg(closed >= 2 * CALLS && closed <= 2 * CALLS + 1,
		"%d hqctl calls closed %lld operators' connections", 2 * CALLS, (long long)closed);
	/* A CurveZMQ client that has the wrong hub key is one. */
	tl_key_paths(f.e.dir, "not-the-hub", secret, sizeof secret, other_pub, sizeof other_pub);
	op_key(&f, "boss", secret, sizeof secret, pub, sizeof pub);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' -i '%s' -k '%s' --timeout 2 stores 2>'%s'",
		SS_BIN_DIR, f.e.hub_ops, secret, other_pub, f.err), 3);
	ck_assert_msg(file_has(f.err, "refused the CurveZMQ handshake"), "see %s", f.err);
	ck_assert_int_eq(wait_stat(&f, "handshake_failures", failed0 + 1, WAIT_MS), failed0 + 1);
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { an_unknown_key_gets_nothing,
		impersonation_refused_and_no_data_moves,
		next_seq_attack_cannot_replace_a_stores_record,
		a_revoked_store_is_cut_off_and_keeps_its_records,
		a_rekeyed_store_resumes_exactly_once,
		rotation_without_downtime_then_the_old_key_is_refused,
		a_read_operator_cannot_write_and_is_audited,
		a_store_never_receives_another_stores_updates,
		a_reused_routing_id_does_not_inherit_a_store, insecure_works_and_says_so,
		a_secret_key_others_may_read_is_refused_at_start,
		audit_from_leaves_out_earlier_entries, hqctl_calls_count_no_handshake_failure };

	return tl_run("security", tests, sizeof tests / sizeof tests[0], 60);
}
