/* fuzzlib: the engines of both daemons set up for fuzzing (see fuzzlib.h).
 * Invariant: nothing outside the scratch directory is written, and the
 * directory is removed when the process exits normally. */
#include "fuzzlib.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub_auth.h"
#include "hub_work.h"
#include "ss_json.h"
#include "ss_link.h"
#include "ss_log.h"
#include "ss_time.h"

static char scratch[256];
static unsigned dirs_made;

_Noreturn void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: invariant broken: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_scratch(void)
{
	if (scratch[0])
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fz_init(void)
{
	/* run.sh names a directory of its own, removed after the harness ran:
	 * a crash never runs atexit. */
	const char *base = getenv("SS_FUZZ_SCRATCH");

	if (!base || !base[0])
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	if (scratch[0])
		return;
	ss_log_init("fuzz", SS_LOG_ERROR);
	snprintf(scratch, sizeof scratch, "%s/ssfuzz.XXXXXX", base);
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		abort();
	}
	atexit(rm_scratch);
}

void fz_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s-%u", scratch, name, dirs_made++);
}

static void *sock_or_die(void *ctx, int type, const char *id, const char *connect_to)
{
	char err[128];
	void *s = ss_link_socket(ctx, type, 0, err, sizeof err);

	FZ_CHECK(s != NULL, "%s", err);
	if (id)
		zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
	if (connect_to)
		FZ_CHECK(zmq_connect(s, connect_to) == 0, "connect %s", connect_to);
	return s;
}

int fz_recv(void *sock, zmq_msg_t *frames, int max)
{
	int n = ss_link_recv(sock, frames, max, ZMQ_DONTWAIT);

	return n < 0 ? 0 : n;
}

/* ---- the hub ---- */

void fz_hub_open(struct fz_hub *f)
{
	struct hub *h = &f->h;
	char err[256];

	fz_init();
	memset(f, 0, sizeof *f);
	fz_dir(h->cfg.data_dir, sizeof h->cfg.data_dir, "hub");
	FZ_CHECK(mkdir(h->cfg.data_dir, 0700) == 0, "mkdir %s", h->cfg.data_dir);
	h->cfg.budget_bytes = 1LL << 30;
	h->cfg.map_initial_bytes = 8 << 20;
	h->cfg.group_records = 50000;
	h->cfg.notice_scan_ms = 60000;
	h->cfg.update_retention_days = 30;
	/* Frames are handed to the writer here, not received: they carry no
	 * ZAP User-Id, which only libzmq can attach. The fuzzer plays a peer
	 * the door has let in (what follows the key check); the key check
	 * itself is test_security's. */
	h->cfg.insecure = 1;
	FZ_CHECK(hub_open_db(h, err, sizeof err) == 0, "%s", err);
	h->zctx = zmq_ctx_new();
	h->router = sock_or_die(h->zctx, ZMQ_ROUTER, NULL, NULL);
	FZ_CHECK(zmq_bind(h->router, "inproc://fuzz-link") == 0, "bind link");
	FZ_CHECK(hub_writer_open(h, err, sizeof err) == 0, "%s", err);
	f->peer = sock_or_die(h->zctx, ZMQ_DEALER, "fuzz-peer", "inproc://fuzz-link");
	f->worker = sock_or_die(h->zctx, ZMQ_DEALER, "fuzz-wk", HUB_OPS_ENDPOINT);
}

void fz_hub_close(struct fz_hub *f)
{
	struct hub *h = &f->h;

	zmq_close(f->peer);
	zmq_close(f->worker);
	zmq_close(h->router);
	hub_writer_close(h);
	zmq_ctx_term(h->zctx);
	ss_lmdb_close(&h->db);
}

static void frame(zmq_msg_t *m, const void *data, size_t len)
{
	zmq_msg_init_size(m, len);
	if (len)
		memcpy(zmq_msg_data(m), data, len);
}

void fz_hub_link(struct fz_hub *f, const void *buf, size_t len)
{
	zmq_msg_t fr[2];

	frame(&fr[0], "fuzz-peer", 9);
	frame(&fr[1], buf, len);
	hub_writer_handle_frames(&f->h, 0, fr, 2);
}

/* As the query worker hands a write over, for the host's own admin. */
void fz_hub_op(struct fz_hub *f, const void *buf, size_t len)
{
	zmq_msg_t fr[4];

	frame(&fr[0], "fuzz-wk", 7);
	frame(&fr[1], "", 0);
	frame(&fr[2], HUB_USER_LOCAL, strlen(HUB_USER_LOCAL));
	frame(&fr[3], buf, len);
	hub_writer_handle_frames(&f->h, 1, fr, 4);
}

const char *const fz_seed_records[] = {
	"{\"type\":\"sale\",\"time_ms\":%lld,\"receipt_no\":\"R-0001\",\"lines\":[{\"sku\":"
	"\"SOFA-3S\",\"quantity\":1,\"unit_price_fen\":459900,\"discount_fen\":20000},{\"sku\":"
	"\"CUSHION-01\",\"quantity\":2,\"unit_price_fen\":12900}],\"total_fen\":465700,"
	"\"payment_method\":\"on_account\",\"cashier\":\"C07\",\"customer\":\"CUST-1001\","
	"\"account\":\"ACC-1001\"}",
	"{\"type\":\"contract_sale\",\"time_ms\":%lld,\"contract_no\":\"CT-42\",\"customer\":"
	"\"CUST-2002\",\"total_fen\":3850000,\"deposit_fen\":1000000,\"signer\":\"S-LI\","
	"\"account\":\"CT-42\",\"deposit_method\":\"card\"}",
	"{\"type\":\"payment\",\"time_ms\":%lld,\"account\":\"CT-42\",\"amount_fen\":500000,"
	"\"method\":\"mobile\",\"contract_no\":\"CT-42\",\"payment_no\":\"P-0007\"}",
	"{\"type\":\"refund\",\"time_ms\":%lld,\"refund_no\":\"RF-3\",\"original_receipt\":"
	"\"R-0001\",\"lines\":[{\"sku\":\"CUSHION-01\",\"quantity\":1,\"unit_price_fen\":12900}],"
	"\"amount_fen\":12900,\"reason\":\"wrong colour\",\"account\":\"ACC-1001\","
	"\"approval\":\"HQ-9\"}",
	"{\"type\":\"complaint\",\"time_ms\":%lld,\"case_no\":\"S1-202611-1\",\"customer\":"
	"\"CUST-1001\",\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"high\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":%lld,\"case_no\":\"S1-202611-1\","
	"\"step\":\"resolved\",\"resolution\":\"discount\",\"amount_fen\":5000}",
	"{\"type\":\"inventory\",\"time_ms\":%lld,\"move_no\":\"M-19\",\"kind\":\"stocktake\","
	"\"sku\":\"SOFA-3S\",\"quantity\":7}",
	"{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":\"RQ-11\",\"sku\":"
	"\"CHAIR-RED\",\"quantity\":40,\"reason\":\"wedding banquet\"}",
	NULL,
};

/* Record i of fz_seed_records at t_ms, stamped as its agent would. */
static Storesync__Record *seed_record(size_t i, int64_t t_ms)
{
	char line[1024], err[256];
	json_t *j;
	Storesync__Record *r;

	snprintf(line, sizeof line, fz_seed_records[i], (long long)t_ms);
	j = json_loads(line, 0, NULL);
	r = j ? ss_json_to_record(j, err, sizeof err) : NULL;
	json_decref(j);
	FZ_CHECK(r != NULL, "seed record %zu: %s", i, err);
	r->recorded_ms = t_ms;
	r->has_recorded_ms = 1;
	r->utc_offset_min = 480;
	r->has_utc_offset_min = 1;
	return r;
}

static void send_batch(struct fz_hub *f, const char *store, uint64_t epoch,
	Storesync__Record **recs, size_t n)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	uint8_t *buf;
	size_t len;

	b.store_id = (char *)store;
	b.epoch = epoch;
	b.has_epoch = 1;
	b.first_seq = 1;
	b.has_first_seq = 1;
	b.records = recs;
	b.n_records = n;
	m.proto_version = SS_PROTO_VERSION;
	m.has_proto_version = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	buf = ss_proto_pack(&m.base, &len);
	fz_hub_link(f, buf, len);
	free(buf);
}

void fz_hub_seed(struct fz_hub *f)
{
	Storesync__Record *recs[16];
	int64_t t = ss_now_ms() - 3 * SS_DAY_MS;
	size_t n = 0;
	zmq_msg_t fr[2];
	int k;

	for (; fz_seed_records[n]; n++)
		recs[n] = seed_record(n, t + (int64_t)n * 60000);
	send_batch(f, "S1", 1, recs, n);
	send_batch(f, "S2", 2, recs, 1);
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(recs[i], NULL);
	while ((k = fz_recv(f->peer, fr, 2)) > 0)
		ss_link_close_frames(fr, k < 2 ? k : 2);
}

/* ---- the agent ---- */

void fz_agent_open(struct fz_agent *f)
{
	struct agent *a = &f->a;
	char err[256];

	fz_init();
	memset(f, 0, sizeof *f);
	fz_dir(a->cfg.data_dir, sizeof a->cfg.data_dir, "agent");
	FZ_CHECK(mkdir(a->cfg.data_dir, 0700) == 0, "mkdir %s", a->cfg.data_dir);
	snprintf(a->cfg.store_id, sizeof a->cfg.store_id, "S1");
	a->cfg.budget_bytes = 64 << 20;
	a->cfg.retention_days = 7;
	a->cfg.retention_ms = 7 * SS_DAY_MS;
	a->cfg.batch_records = 2000;
	a->cfg.window_batches = 8;
	a->cfg.ack_timeout_ms = 5000;
	a->cfg.heartbeat_ms = 2000;
	a->cfg.key_days = 90;
	a->cfg.utc_offset_min = 480;
	FZ_CHECK(agent_db_open(&a->db, a->cfg.data_dir, a->cfg.budget_bytes, err, sizeof err) == 0,
		"%s", err);
	FZ_CHECK(outbox_open(&a->outbox, &a->db, &a->cfg, err, sizeof err) == 0, "%s", err);
	FZ_CHECK(apply_open(a, err, sizeof err) == 0, "%s", err);
	a->zctx = zmq_ctx_new();
	a->local = sock_or_die(a->zctx, ZMQ_ROUTER, NULL, NULL);
	FZ_CHECK(zmq_bind(a->local, "inproc://fuzz-local") == 0, "bind local");
	f->till = sock_or_die(a->zctx, ZMQ_DEALER, "fuzz-till", "inproc://fuzz-local");
	f->hub = sock_or_die(a->zctx, ZMQ_ROUTER, NULL, NULL);
	FZ_CHECK(zmq_bind(f->hub, "inproc://fuzz-hub") == 0, "bind hub");
	a->sender.sock = sock_or_die(a->zctx, ZMQ_DEALER, "fuzz-agent", "inproc://fuzz-hub");
}

void fz_agent_close(struct fz_agent *f)
{
	struct agent *a = &f->a;

	zmq_close(f->till);
	zmq_close(f->hub);
	zmq_close(a->sender.sock);
	zmq_close(a->local);
	zmq_ctx_term(a->zctx);
	local_free(a);
	agent_db_close(&a->db);
}
