/* test_malformed: guarantee 7, "bad input gets a clear error and harms
 * nothing". Bad input is thrown at the real daemons through every door they
 * have: the hub's link ROUTER (random bytes, truncated messages, extra frames,
 * an oversized frame, an unknown message kind, a wrong protocol version,
 * structurally invalid batches), the agent's local endpoint, and storectl's
 * JSON Lines input. Each must be answered with a reason, counted exactly once,
 * and leave the daemons serving: a legitimate store's records submitted
 * before, between and after still all arrive with exact counts and amounts. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "ss_link.h"
#include "ss_time.h"

#define WAIT_MS 15000
#define AMOUNT_BEFORE 1234
#define AMOUNT_BETWEEN 2345
#define AMOUNT_AFTER 4321

struct fx {
	struct tl_env e;
	pid_t hub, agent;
	char local[320], data[320];
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	f->hub = tl_start_hub(&f->e, NULL);
	f->agent = tl_start_agent(&f->e, "S1", NULL);
	tl_agent_paths(&f->e, "S1", f->local, sizeof f->local, f->data, sizeof f->data);
}

static void fx_stop(struct fx *f)
{
	ck_assert_msg(tl_alive(f->hub), "hub died");
	ck_assert_msg(tl_alive(f->agent), "agent died");
	tl_stop(f->agent);
	tl_stop(f->hub);
	tl_env_cleanup(&f->e);
}

static int64_t hub_stat(struct fx *f, const char *counter)
{
	return tl_hub_stat(f->e.hub_query, counter);
}

/* Refusals are logged, but once per peer per interval, not once per message:
 * between 1 and 2 lines of `log` in e's directory contain `what`. */
static void logged_rarely(struct fx *f, const char *log, const char *what)
{
	ck_assert_msg(tl_sh("n=$(grep -c '%s' '%s/%s'); test $n -ge 1 -a $n -le 2", what,
		f->e.dir, log) == 0, "%s: want 1..2 lines with \"%s\"", log, what);
}

/* The legitimate store: n sales of amount fen through the agent, all accepted. */
static void legit_submit(struct fx *f, size_t n, int64_t amount, const char *prefix)
{
	ck_assert_int_eq(tl_submit_sales(f->local, n, amount, prefix, 1, NULL, 5000), (int)n);
}

/* Waits until the hub holds exactly `records` of S1 worth `amount` fen. */
static void legit_arrived(struct fx *f, int64_t records, int64_t amount)
{
	ck_assert_int_eq(tl_wait_records(f->e.hub_query, "S1", records, WAIT_MS), records);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "records"), records);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "amount_fen"), amount);
	ck_assert_int_eq(tl_store_field(f->e.hub_query, "S1", "refused"), 0);
}

/* ---- the hub's link endpoint ---- */

/* len random bytes that do not parse as msg (so the hub must call them malformed). */
static uint8_t *random_garbage(uint64_t *rng, size_t len, const ProtobufCMessageDescriptor *msg)
{
	uint8_t *buf = malloc(len);
	ProtobufCMessage *parsed;

	ck_assert_ptr_nonnull(buf);
	do {
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)tl_rand(rng);
		parsed = protobuf_c_message_unpack(msg, NULL, len, buf);
		if (parsed)
			protobuf_c_message_free_unpacked(parsed, NULL);
	} while (parsed);
	return buf;
}

static int send_random(struct tl_link *l)
{
	static const size_t sizes[] = { 1, 2, 5, 16, 100, 1000, 65536 };
	uint64_t rng = 7;
	size_t n = sizeof sizes / sizeof sizes[0];

	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = random_garbage(&rng, sizes[i], &storesync__link_message__descriptor);

		tl_link_send_raw(l, buf, sizes[i], 1);
		tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_MALFORMED);
		free(buf);
	}
	return (int)n;
}

/* A valid packed LinkMessage: a Batch of three sales for store S9. */
static uint8_t *packed_batch(size_t *len)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record *recs[3];
	uint8_t *buf;

	for (size_t i = 0; i < 3; i++)
		recs[i] = tl_sale(100 + (int64_t)i, "T-1");
	b.store_id = "S9";
	b.epoch = 9;
	b.has_epoch = 1;
	b.first_seq = 1;
	b.has_first_seq = 1;
	b.records = recs;
	b.n_records = 3;
	m.proto_version = SS_PROTO_VERSION;
	m.has_proto_version = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	buf = ss_proto_pack(&m.base, len);
	for (size_t i = 0; i < 3; i++)
		storesync__record__free_unpacked(recs[i], NULL);
	ck_assert_ptr_nonnull(buf);
	return buf;
}

/* The batch cut short inside its payload, and the whole of it in 3 frames. */
static int send_truncated_and_split(struct tl_link *l)
{
	size_t len, n = 0;
	uint8_t *buf = packed_batch(&len);
	const size_t cuts[] = { 3, len / 4, len / 2, len - 1 };

	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++, n++) {
		ProtobufCMessage *p = protobuf_c_message_unpack(&storesync__link_message__descriptor,
			NULL, cuts[i], buf);

		ck_assert_msg(p == NULL, "cut at %zu of %zu still parses", cuts[i], len);
		tl_link_send_raw(l, buf, cuts[i], 1);
		tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_MALFORMED);
	}
	tl_link_send_raw(l, buf, len, 3);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_MALFORMED);
	free(buf);
	return (int)n + 1;
}

static void send_oversized(struct tl_link *l)
{
	size_t len = SS_MAX_MSG_BYTES + 1;
	uint8_t *buf = calloc(1, len);

	ck_assert_ptr_nonnull(buf);
	tl_link_send_raw(l, buf, len, 1);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_MALFORMED);
	free(buf);
}

/* Field 15 (a kind from a newer peer), and a kind only the hub sends (Ack). */
static int send_unknown_kinds(struct tl_link *l)
{
	static const uint8_t field15[] = { 0x08, 0x01, 0x7a, 0x00 };
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Ack ack = STORESYNC__ACK__INIT;

	tl_link_send_raw(l, field15, sizeof field15, 1);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_UNKNOWN_KIND);
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_ACK;
	m.ack = &ack;
	tl_link_send(l, &m);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_UNKNOWN_KIND);
	return 2;
}

/* A Hello of version 2, and one with no version at all. */
static int send_bad_versions(struct tl_link *l)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;

	h.store_id = "S9";
	h.epoch = 9;
	h.has_epoch = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	m.proto_version = 2;
	m.has_proto_version = 1;
	tl_link_send(l, &m);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_VERSION);
	m.has_proto_version = 0;   /* field absent; sent as is, not by tl_link_send */
	ck_assert_int_eq(ss_proto_send(l->sock, &m.base, 0), 0);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_VERSION);
	return 2;
}

/* Parses, but breaks the Batch rules: first_seq 0; seqs not consecutive. */
static int send_invalid_batches(struct tl_link *l)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record *recs[2] = { tl_sale(100, "X-1"), tl_sale(200, "X-2") };

	b.store_id = "S9";
	b.epoch = 9;
	b.has_epoch = 1;
	b.has_first_seq = 1;
	b.records = recs;
	b.n_records = 2;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	tl_link_send(l, &m);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_INVALID);
	b.first_seq = 1;
	recs[0]->seq = 1;
	recs[1]->seq = 5;
	recs[0]->has_seq = recs[1]->has_seq = 1;
	tl_link_send(l, &m);
	tl_link_expect_error(l, STORESYNC__ERROR_CODE__ERR_INVALID);
	storesync__record__free_unpacked(recs[0], NULL);
	storesync__record__free_unpacked(recs[1], NULL);
	return 2;
}

START_TEST(hub_link_garbage_refused_and_harmless)
{
	static const char *const counters[] = { "malformed", "oversized", "unknown_kind",
		"bad_version", "invalid" };
	int64_t before[5], sent[5] = { 0, 1, 0, 0, 0 };
	struct tl_link l;
	struct fx f;

	fx_start(&f);
	legit_submit(&f, 20, AMOUNT_BEFORE, "B");
	legit_arrived(&f, 20, 20 * AMOUNT_BEFORE);
	for (int i = 0; i < 5; i++)
		before[i] = hub_stat(&f, counters[i]);
	tl_link_open(&l, f.e.hub_listen);
	sent[0] = send_random(&l);
	legit_submit(&f, 10, AMOUNT_BETWEEN, "M");
	sent[0] += send_truncated_and_split(&l);
	send_oversized(&l);
	sent[2] = send_unknown_kinds(&l);
	sent[3] = send_bad_versions(&l);
	sent[4] = send_invalid_batches(&l);
	tl_link_close(&l);
	for (int i = 0; i < 5; i++)
		ck_assert_msg(hub_stat(&f, counters[i]) == before[i] + sent[i], "%s: %lld, want %lld",
			counters[i], (long long)hub_stat(&f, counters[i]),
			(long long)(before[i] + sent[i]));
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "S9", "records"), -1);   /* never a store */
	legit_submit(&f, 20, AMOUNT_AFTER, "A");
	legit_arrived(&f, 50, 20 * AMOUNT_BEFORE + 10 * AMOUNT_BETWEEN + 20 * AMOUNT_AFTER);
	ck_assert_int_eq(hub_stat(&f, "refused_records"), 0);
	logged_rarely(&f, "hub.log", "refused: ");
	fx_stop(&f);
}
END_TEST

/* ---- the agent's local endpoint ---- */

static void expect_local_error(const void *buf, size_t len, const char *local)
{
	Storesync__LocalReply *r = tl_local_raw(local, buf, len, 5000);

	ck_assert_msg(r != NULL, "agent did not answer %zu bad bytes", len);
	ck_assert_msg(r->error && r->error[0], "no error for %zu bad bytes", len);
	ck_assert_int_eq(r->kind_case, STORESYNC__LOCAL_REPLY__KIND__NOT_SET);
	storesync__local_reply__free_unpacked(r, NULL);
}

static int local_random(const char *local)
{
	static const size_t sizes[] = { 1, 3, 50, 4096, SS_MAX_MSG_BYTES + 1 };
	uint64_t rng = 11;
	size_t n = sizeof sizes / sizeof sizes[0];

	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = random_garbage(&rng, sizes[i], &storesync__local_request__descriptor);

		expect_local_error(buf, sizes[i], local);
		free(buf);
	}
	return (int)n;
}

/* Unknown kind (field 15), a version 7 status request, a submit without version. */
static int local_bad_requests(const char *local)
{
	static const uint8_t field15[] = { 0x08, 0x01, 0x7a, 0x00 };
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__StatusRequest st = STORESYNC__STATUS_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__Record *rec = tl_sale(100, "V-1");
	uint8_t *buf;
	size_t len;

	expect_local_error(field15, sizeof field15, local);
	req.proto_version = 7;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_STATUS;
	req.status = &st;
	buf = ss_proto_pack(&req.base, &len);
	expect_local_error(buf, len, local);
	free(buf);
	req.has_proto_version = 0;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	req.submit = &sub;
	sub.records = &rec;
	sub.n_records = 1;
	buf = ss_proto_pack(&req.base, &len);
	expect_local_error(buf, len, local);
	free(buf);
	storesync__record__free_unpacked(rec, NULL);
	return 3;
}

/* A DEALER sending a request of three frames: delimiter, body, and one more.
 * It spoke as a REQ does, so the error comes back as a REQ needs it: after
 * the empty delimiter (a REQ till drops a reply without one). */
static int local_extra_frames(const char *local)
{
	void *ctx = zmq_ctx_new(), *sock;
	char err[128];
	int timeout = 5000;
	zmq_msg_t m;
	Storesync__LocalReply *r;

	sock = ss_link_socket(ctx, ZMQ_DEALER, err, sizeof err);
	ck_assert_ptr_nonnull(sock);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	ck_assert_int_eq(zmq_connect(sock, local), 0);
	zmq_send(sock, "", 0, ZMQ_SNDMORE);
	zmq_send(sock, "\x08\x01", 2, ZMQ_SNDMORE);
	zmq_send(sock, "x", 1, 0);
	zmq_msg_init(&m);
	ck_assert_int_eq(zmq_msg_recv(&m, sock, 0), 0);
	ck_assert(zmq_msg_more(&m));
	ck_assert_int_ge(zmq_msg_recv(&m, sock, 0), 0);
	r = (Storesync__LocalReply *)ss_proto_unpack(&storesync__local_reply__descriptor,
		zmq_msg_data(&m), zmq_msg_size(&m), SS_MAX_MSG_BYTES);
	ck_assert_msg(r && r->error && r->error[0], "no error for a 3-frame request");
	storesync__local_reply__free_unpacked(r, NULL);
	zmq_msg_close(&m);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return 1;
}

/* A REQ till sending a request of two frames gets its error reply. */
static int local_req_two_frames(const char *local)
{
	void *ctx = zmq_ctx_new(), *sock;
	char err[128];
	int timeout = 5000;
	zmq_msg_t m;
	Storesync__LocalReply *r;

	sock = ss_link_socket(ctx, ZMQ_REQ, err, sizeof err);
	ck_assert_ptr_nonnull(sock);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	ck_assert_int_eq(zmq_connect(sock, local), 0);
	zmq_send(sock, "\x08\x01", 2, ZMQ_SNDMORE);
	zmq_send(sock, "\x08\x01", 2, 0);
	zmq_msg_init(&m);
	ck_assert_msg(zmq_msg_recv(&m, sock, 0) >= 0, "REQ got no reply to a two-frame request");
	r = (Storesync__LocalReply *)ss_proto_unpack(&storesync__local_reply__descriptor,
		zmq_msg_data(&m), zmq_msg_size(&m), SS_MAX_MSG_BYTES);
	ck_assert_msg(r && r->error && r->error[0], "no error for a two-frame request");
	storesync__local_reply__free_unpacked(r, NULL);
	zmq_msg_close(&m);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return 1;
}

START_TEST(agent_local_garbage_refused_and_harmless)
{
	Storesync__StatusReply *st;
	int refused = 0;
	struct fx f;

	fx_start(&f);
	legit_submit(&f, 5, AMOUNT_BEFORE, "B");
	refused += local_random(f.local);
	refused += local_bad_requests(f.local);
	refused += local_extra_frames(f.local);
	refused += local_req_two_frames(f.local);
	st = tl_status(f.local, 5000);
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(st->refused_requests, (uint64_t)refused);
	ck_assert_uint_eq(st->last_seq, 5);
	tl_status_free(st);
	legit_submit(&f, 5, AMOUNT_AFTER, "A");
	legit_arrived(&f, 10, 5 * AMOUNT_BEFORE + 5 * AMOUNT_AFTER);
	logged_rarely(&f, "agent-S1.log", "refused a request: ");
	fx_stop(&f);
}
END_TEST

/* ---- storectl's JSON Lines ---- */

#define N_LINES 10

/* Line i+1 of the file; NULL for a good sale of (i+1)*100 fen. */
static const char *const bad_lines[N_LINES] = {
	NULL,
	"this is not JSON",
	NULL,
	"{\"type\":\"teleport\",\"time_ms\":%lld}",
	NULL,
	"{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"N-6\",\"lines\":[{\"sku\":\"SKU-1\","
	"\"quantity\":1,\"unit_price_fen\":-600}],\"total_fen\":-600,\"payment_method\":\"cash\"}",
	"{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"N-7\",\"lines\":[{\"sku\":\"SKU-1\","
	"\"quantity\":1,\"unit_price_fen\":700}],\"payment_method\":\"cash\"}",
	NULL,
	"",   /* empty: skipped, but still counts as a line */
	NULL,
};

/* What each refused line's reason must mention. */
static const char *const bad_why[N_LINES] = {
	NULL, "JSON", NULL, "type", NULL, "negative", "total_fen", NULL, NULL, NULL,
};

static void write_lines(const char *path, int64_t *good_amount)
{
	FILE *fp = fopen(path, "w");
	long long now = (long long)ss_now_ms();

	ck_assert_ptr_nonnull(fp);
	*good_amount = 0;
	for (int i = 0; i < N_LINES; i++) {
		if (bad_lines[i]) {
			fprintf(fp, bad_lines[i], now);
			fputc('\n', fp);
			continue;
		}
		fprintf(fp, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"G-%d\",\"lines\":"
			"[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price_fen\":%d}],\"total_fen\":%d,"
			"\"payment_method\":\"cash\"}\n", now, i + 1, (i + 1) * 100, (i + 1) * 100);
		*good_amount += (i + 1) * 100;
	}
	fclose(fp);
}

/* The --json summary: accepted, refused, no duplicates, and one error per
 * bad line. */
static void check_summary(const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr), *errors;
	int seen[N_LINES + 1] = { 0 };

	ck_assert_msg(doc != NULL, "storectl --json output: %s", jerr.text);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "accepted")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "refused")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "duplicates")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "duplicate_of_seqs")), 0);
	errors = json_object_get(doc, "errors");
	ck_assert_int_eq(json_array_size(errors), 4);
	for (size_t i = 0; i < json_array_size(errors); i++) {
		json_t *e = json_array_get(errors, i);
		json_int_t line = json_integer_value(json_object_get(e, "line"));
		const char *why = json_string_value(json_object_get(e, "reason"));

		ck_assert_msg(line >= 1 && line <= N_LINES && bad_why[line - 1], "line %lld refused",
			(long long)line);
		ck_assert_msg(why && strstr(why, bad_why[line - 1]), "line %lld: reason \"%s\"",
			(long long)line, why ? why : "");
		seen[line]++;
	}
	for (int i = 0; i < N_LINES; i++)
		ck_assert_int_eq(seen[i + 1], bad_why[i] ? 1 : 0);
	json_decref(doc);
}

START_TEST(storectl_bad_lines_refused_alone)
{
	char in[320], out[320], err[320];
	int64_t good;
	struct fx f;

	fx_start(&f);
	snprintf(in, sizeof in, "%s/lines.jsonl", f.e.dir);
	snprintf(out, sizeof out, "%s/out.json", f.e.dir);
	snprintf(err, sizeof err, "%s/err.txt", f.e.dir);
	write_lines(in, &good);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit --json '%s' >'%s' 2>'%s'",
		SS_BIN_DIR, f.local, in, out, err), 1);
	check_summary(out);
	legit_arrived(&f, 5, good);
	/* The same file again, in table form: the good lines are the records
	 * the store has (duplicates, nothing new written), the bad ones are
	 * named on stderr again. */
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit '%s' >'%s' 2>'%s'",
		SS_BIN_DIR, f.local, in, out, err), 1);
	ck_assert_int_eq(tl_sh("grep -q '^accepted 0, duplicates 5 (of seqs 1, 2, 3, 4, 5), "
		"refused 4$' '%s'", out), 0);
	ck_assert_int_eq(tl_sh("test $(grep -c -E '^line (2|4|6|7): ' '%s') = 4", err), 0);
	legit_arrived(&f, 5, good);
	fx_stop(&f);
}
END_TEST

static void put_sale(FILE *fp, const char *no, long long fen)
{
	fprintf(fp, "{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"%s\",\"lines\":"
		"[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price_fen\":%lld}],\"total_fen\":%lld,"
		"\"payment_method\":\"cash\"}", (long long)ss_now_ms(), no, fen, fen);
}

/* A line is its whole length: a NUL inside it is refused (JSON text has
 * none), never read as the line's end with the rest lost. A byte order
 * mark before the first line and a line of blanks are no records.
 * Refusals come in line order, whether JSON or the agent refused them. */
START_TEST(storectl_reads_whole_lines)
{
	char in[320], out[320], err[320];
	FILE *fp;
	struct fx f;
	json_t *doc, *errors;

	fx_start(&f);
	snprintf(in, sizeof in, "%s/nul.jsonl", f.e.dir);
	snprintf(out, sizeof out, "%s/out.json", f.e.dir);
	snprintf(err, sizeof err, "%s/err.txt", f.e.dir);
	ck_assert_ptr_nonnull(fp = fopen(in, "w"));
	fputs("\xef\xbb\xbf", fp);
	put_sale(fp, "W-1", 100);                              /* line 1 */
	fputs("\n", fp);
	put_sale(fp, "W-2", -200);                             /* 2: the agent refuses */
	fputs("\n", fp);
	put_sale(fp, "W-3", 300);                              /* 3: a NUL, then W-4 */
	fputc('\0', fp);
	put_sale(fp, "W-4", 400);
	fputs("\n   \t\n", fp);                                /* 4: blanks */
	put_sale(fp, "W-5", 500);                              /* 5 */
	fputs("\n", fp);
	fclose(fp);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit --json '%s' >'%s' 2>'%s'",
		SS_BIN_DIR, f.local, in, out, err), 1);
	ck_assert_ptr_nonnull(doc = json_load_file(out, 0, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "accepted")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "refused")), 2);
	errors = json_object_get(doc, "errors");
	ck_assert_int_eq(json_array_size(errors), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(errors, 0), "line")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(errors, 1), "line")), 3);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(errors, 1),
		"reason")), "not JSON"));
	ck_assert(json_is_null(json_object_get(doc, "unknown_lines")));
	ck_assert(json_is_null(json_object_get(doc, "unsent_lines")));
	json_decref(doc);
	legit_arrived(&f, 2, 600);
	/* A directory is not a file of records: said, and nothing sent. */
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit '%s' >'%s' 2>'%s'",
		SS_BIN_DIR, f.local, f.e.dir, out, err), 1);
	ck_assert_int_eq(tl_sh("grep -q 'storectl: reading .* after line 0: Is a directory' '%s'",
		err), 0);
	fx_stop(&f);
}
END_TEST

/* An agent that stops answering mid-file: the lines sent without an
 * answer are named as unknown, the rest of the file as not sent. */
START_TEST(storectl_names_what_it_did_not_send)
{
	char in[320], out[320], err[320];
	FILE *fp;
	struct fx f;
	json_t *doc;

	fx_start(&f);
	snprintf(in, sizeof in, "%s/five.jsonl", f.e.dir);
	snprintf(out, sizeof out, "%s/out.json", f.e.dir);
	snprintf(err, sizeof err, "%s/err.txt", f.e.dir);
	ck_assert_ptr_nonnull(fp = fopen(in, "w"));
	for (int i = 1; i <= 5; i++) {
		char no[16];

		snprintf(no, sizeof no, "U-%d", i);
		put_sale(fp, no, 100 * i);
		fputs("\n", fp);
	}
	fclose(fp);
	ck_assert_int_eq(kill(f.agent, SIGSTOP), 0);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' --timeout 1 submit --batch 2 --json '%s' "
		">'%s' 2>'%s'", SS_BIN_DIR, f.local, in, out, err) == 0, 0);
	ck_assert_int_eq(kill(f.agent, SIGCONT), 0);
	ck_assert_ptr_nonnull(doc = json_load_file(out, 0, NULL));
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(doc, "unknown_lines"), 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(doc, "unknown_lines"), 1)), 2);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(doc, "unsent_lines"), 0)), 3);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(doc, "unsent_lines"), 1)), 5);
	json_decref(doc);
	ck_assert_int_eq(tl_sh("grep -q '^storectl: lines 1..2: outcome unknown' '%s' && "
		"grep -q '^storectl: lines 3..5: not sent$' '%s'", err, err), 0);
	fx_stop(&f);
}
END_TEST

/* Records of 900 kB each (complaints with long descriptions): storectl
 * sends them in requests under the agent's 16 MiB limit, whatever
 * --batch says, and every one is accepted. */
START_TEST(storectl_splits_large_requests)
{
	char in[320], out[320], err[320], month[8];
	FILE *fp;
	struct fx f;
	time_t now = (time_t)(ss_now_ms() / 1000);
	struct tm tm;
	char *desc = malloc(900001);

	ck_assert_ptr_nonnull(desc);
	memset(desc, 'y', 900000);
	desc[900000] = '\0';
	gmtime_r(&now, &tm);
	strftime(month, sizeof month, "%Y%m", &tm);
	fx_start(&f);
	snprintf(in, sizeof in, "%s/big.jsonl", f.e.dir);
	snprintf(out, sizeof out, "%s/out.txt", f.e.dir);
	snprintf(err, sizeof err, "%s/err.txt", f.e.dir);
	ck_assert_ptr_nonnull(fp = fopen(in, "w"));
	for (int i = 0; i < 20; i++)
		fprintf(fp, "{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":\"S1-%s-%d\","
			"\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"low\","
			"\"description\":\"%s\"}\n", (long long)ss_now_ms(), month, 100 + i, desc);
	fclose(fp);
	free(desc);
	ck_assert_int_eq(tl_sh("'%s/storectl' --agent '%s' submit '%s' >'%s' 2>'%s'",
		SS_BIN_DIR, f.local, in, out, err), 0);
	ck_assert_int_eq(tl_sh("grep -q '^accepted 20 (seq 1..20), duplicates 0, refused 0$' '%s'",
		out), 0);
	ck_assert_int_eq(tl_wait_records(f.e.hub_query, "S1", 20, WAIT_MS), 20);
	fx_stop(&f);
}
END_TEST

/* The operators' endpoint refuses a filter it cannot use (an over-long or
 * malformed store id or SKU) with a reason, and keeps serving. */
START_TEST(query_with_bad_filters_refused)
{
	static const char *const whats[] = { "sales", "inventory", "complaints", "stale" };
	char *long_store = malloc(3001);
	Storesync__QueryReply *r;
	struct tl_env e;
	pid_t hub;

	memset(long_store, 'A', 3000);
	long_store[3000] = '\0';
	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	for (size_t i = 0; i < sizeof whats / sizeof whats[0]; i++) {
		r = tl_query(e.hub_query, whats[i], "store", long_store, NULL);
		ck_assert_ptr_nonnull(r);
		ck_assert_ptr_nonnull(r->error);
		ck_assert_msg(strstr(r->error, "store") != NULL, "reason: %s", r->error);
		tl_query_free(r);
	}
	r = tl_query(e.hub_query, "inventory", "sku", "not a sku", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(r->error);
	tl_query_free(r);
	/* A store the hub never registered nor heard from: a typo, said. */
	for (size_t i = 0; i < sizeof whats / sizeof whats[0]; i++) {
		r = tl_query(e.hub_query, whats[i], "store", "S999", NULL);
		ck_assert_ptr_nonnull(r);
		ck_assert_ptr_nonnull(r->error);
		ck_assert_str_eq(r->error, "store S999 is not known to the hub (not registered, "
			"never heard from)");
		tl_query_free(r);
	}
	/* A period that ends before it starts: refused, not an empty table. */
	r = tl_query(e.hub_query, "sales", "from", "2026-12-05", "to", "2026-12-01", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(r->error);
	ck_assert_str_eq(r->error, "--from 2026-12-05 is after --to 2026-12-01");
	tl_query_free(r);
	ck_assert(tl_alive(hub));
	ck_assert_int_ge(tl_hub_stat(e.hub_query, "commits"), 0);
	free(long_store);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

/* Strings are what was sent: a string with an embedded NUL is refused at
 * every door (the hub's link, the agent's local endpoint, the operators'
 * endpoint), never cut at the NUL and acted on. */
static void hello_with_nul_refused(struct fx *f)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	struct tl_link l;
	size_t len;
	uint8_t *buf;

	h.store_id = "ABXCD";
	h.epoch = 5;
	h.has_epoch = 1;
	m.proto_version = SS_PROTO_VERSION;
	m.has_proto_version = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	buf = tl_pack_patched(&m.base, "ABXCD", "AB\0CD", 5, &len);
	/* A key of its own: the claim is never registered as store AB. */
	tl_link_open_as(&l, f->e.hub_listen, "PEER");
	tl_link_send_raw(&l, buf, len, 1);
	tl_link_expect_error(&l, STORESYNC__ERROR_CODE__ERR_MALFORMED);
	tl_link_close(&l);
	free(buf);
}

static void submit_with_nul_refused(struct fx *f)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__Record *rec = tl_sale(100, "N-X1");
	Storesync__LocalReply *r;
	size_t len;
	uint8_t *buf;

	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	req.submit = &sub;
	sub.records = &rec;
	sub.n_records = 1;
	/* A receipt number cut short, then control bytes hidden after a NUL. */
	buf = tl_pack_patched(&req.base, "N-X1", "N-\0001", 4, &len);
	r = tl_local_raw(f->local, buf, len, 5000);
	ck_assert_msg(r && r->error && strstr(r->error, "NUL"), "reply: %s",
		r && r->error ? r->error : "(none)");
	storesync__local_reply__free_unpacked(r, NULL);
	free(buf);
	buf = tl_pack_patched(&req.base, "N-X1", "N\0\x01\x02", 4, &len);
	r = tl_local_raw(f->local, buf, len, 5000);
	ck_assert_msg(r && r->error && strstr(r->error, "NUL"), "no NUL refusal");
	storesync__local_reply__free_unpacked(r, NULL);
	free(buf);
	storesync__record__free_unpacked(rec, NULL);
}

static void query_with_nul_refused(struct fx *f)
{
	Storesync__QueryRequest q = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam p = STORESYNC__QUERY_PARAM__INIT, *pp = &p;
	Storesync__QueryReply *r;
	size_t len;
	uint8_t *buf;

	q.proto_version = SS_PROTO_VERSION;
	q.has_proto_version = 1;
	q.what = "sales";
	p.key = "store";
	p.value = "S1XZZ";
	q.params = &pp;
	q.n_params = 1;
	buf = tl_pack_patched(&q.base, "S1XZZ", "S1\0ZZ", 5, &len);
	r = tl_query_raw(f->e.hub_query, buf, len, 5000);
	ck_assert_msg(r && r->error && strstr(r->error, "NUL"), "reply: %s",
		r && r->error ? r->error : "(none)");
	storesync__query_reply__free_unpacked(r, NULL);
	free(buf);
}

START_TEST(strings_with_nul_refused_at_every_door)
{
	int64_t before;
	struct fx f;

	fx_start(&f);
	legit_submit(&f, 3, AMOUNT_BEFORE, "B");
	before = hub_stat(&f, "nul_strings");
	hello_with_nul_refused(&f);
	submit_with_nul_refused(&f);
	query_with_nul_refused(&f);
	ck_assert_int_eq(hub_stat(&f, "nul_strings"), before + 2);
	ck_assert_int_eq(tl_store_field(f.e.hub_query, "AB", "records"), -1);
	legit_submit(&f, 3, AMOUNT_AFTER, "A");
	legit_arrived(&f, 6, 3 * AMOUNT_BEFORE + 3 * AMOUNT_AFTER);
	fx_stop(&f);
}
END_TEST

/* Times outside 2000..2099 are refused with a reason wherever they come in
 * (docs/records.md, "Times"): a query's --at near the int64 limits, a
 * record reaching the hub without the agent's recorded_ms (the future
 * check runs against it), a test clock that would leave the range. */
static void batch_without_recorded_ms(struct tl_link *l)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Record *r = tl_sale(500, "T-1");

	r->time_ms = INT64_MAX / 2;   /* far in the future: no stamp must not let it pass */
	r->seq = 1;
	r->has_seq = 1;
	b.store_id = "S7";
	b.epoch = 7;
	b.has_epoch = 1;
	b.first_seq = 1;
	b.has_first_seq = 1;
	b.records = &r;
	b.n_records = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	tl_link_send(l, &m);
	ck_assert_uint_eq(tl_link_ack(l), 1);
	storesync__record__free_unpacked(r, NULL);
}

START_TEST(times_outside_the_range_refused)
{
	static const char *const ats[] = { "9223372036854775000", "-9223372036854775000",
		"1999-12-31T23:59:59", "2100-01-01" };
	static const char *const whats[] = { "stores", "stale", "complaints", "accounts" };
	Storesync__QueryReply *r;
	struct tl_link l;
	struct tl_env e;
	pid_t hub;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	for (size_t i = 0; i < 4; i++) {
		r = tl_query(e.hub_query, whats[i], "at", ats[i], NULL);
		ck_assert_ptr_nonnull(r);
		ck_assert_msg(r->error && strstr(r->error, "--at"), "%s at %s: %s", whats[i], ats[i],
			r->error ? r->error : "answered");
		tl_query_free(r);
	}
	r = tl_query(e.hub_query, "sales", "from", "1969-12-31", NULL);
	ck_assert_msg(r && r->error && strstr(r->error, "--from"), "from 1969 answered");
	tl_query_free(r);
	tl_link_open(&l, e.hub_listen);
	tl_link_hello(&l, "S7", 7);
	batch_without_recorded_ms(&l);
	tl_link_close(&l);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S7", "refused"), 1);
	ck_assert_int_eq(tl_store_field(e.hub_query, "S7", "records"), 0);
	ck_assert(tl_alive(hub));
	tl_stop(hub);
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --foreground --data-dir '%s/h2' --clock-offset-ms "
		"9000000000000000000 2>/dev/null", SS_BIN_DIR, e.dir), 2);
	ck_assert_int_eq(tl_sh("'%s/hq-hub' --foreground --data-dir '%s/h2' --clock-offset-ms "
		"-1500000000000 2>/dev/null", SS_BIN_DIR, e.dir), 2);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		query_with_bad_filters_refused,
		hub_link_garbage_refused_and_harmless, agent_local_garbage_refused_and_harmless,
		storectl_bad_lines_refused_alone, storectl_reads_whole_lines,
		storectl_names_what_it_did_not_send, storectl_splits_large_requests,
		strings_with_nul_refused_at_every_door,
		times_outside_the_range_refused,
	};

	return tl_run("malformed", tests, sizeof tests / sizeof tests[0], 30);
}
