/* fuzz-seeds: writes the seed corpus of every harness (tests/fuzz/<name>/
 * seed-*): valid messages of each kind a door takes, so fuzzing starts from
 * inputs that reach deep into the handlers rather than from noise. Run it
 * again when a .proto changes: fuzz-seeds tests/fuzz */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "ss_json.h"

#define T0_MS 1793932200000LL   /* 2026-11-06T02:30Z, the examples' time */

static const char *top;

static void put(const char *harness, const char *name, const void *buf, size_t len)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s/seed-%s", top, harness, name);
	if (!(fp = fopen(path, "wb")) || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "fuzz-seeds: cannot write %s\n", path);
		exit(1);
	}
}

static void put_msg(const char *harness, const char *name, const ProtobufCMessage *m)
{
	size_t len;
	void *buf = ss_proto_pack(m, &len);

	put(harness, name, buf, len);
	free(buf);
}

static Storesync__Record *record(size_t i)
{
	char line[1024], err[256];
	json_t *j;
	Storesync__Record *r;

	snprintf(line, sizeof line, fz_seed_records[i], (long long)T0_MS);
	j = json_loads(line, 0, NULL);
	r = ss_json_to_record(j, err, sizeof err);
	json_decref(j);
	if (!r) {
		fprintf(stderr, "fuzz-seeds: record %zu: %s\n", i, err);
		exit(1);
	}
	return r;
}

static size_t all_records(Storesync__Record **recs)
{
	size_t n = 0;

	for (; fz_seed_records[n]; n++)
		recs[n] = record(n);
	return n;
}

static void free_records(Storesync__Record **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		storesync__record__free_unpacked(recs[i], NULL);
}

/* ---- hub_link ---- */

static void link_msg(const char *name, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	put_msg("hub_link", name, &m->base);
}

static void link_seeds(void)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Hello h = STORESYNC__HELLO__INIT;
	Storesync__Batch b = STORESYNC__BATCH__INIT;
	Storesync__Heartbeat hb = STORESYNC__HEARTBEAT__INIT;
	Storesync__UpdateAck ua = STORESYNC__UPDATE_ACK__INIT;
	Storesync__Record *recs[16];
	size_t n = all_records(recs);

	h.store_id = "S1";
	h.epoch = 1;
	h.has_epoch = 1;
	h.agent_version = "0.1.0";
	h.last_seq = 8;
	h.has_last_seq = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HELLO;
	m.hello = &h;
	link_msg("hello", &m);
	for (size_t i = 0; i < n; i++) {
		recs[i]->seq = i + 1;
		recs[i]->has_seq = 1;
		recs[i]->recorded_ms = T0_MS + 1000;
		recs[i]->has_recorded_ms = 1;
		recs[i]->utc_offset_min = 480;
		recs[i]->has_utc_offset_min = 1;
	}
	b.store_id = "S1";
	b.epoch = 1;
	b.has_epoch = 1;
	b.first_seq = 1;
	b.has_first_seq = 1;
	b.records = recs;
	b.n_records = n;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_BATCH;
	m.batch = &b;
	link_msg("batch-every-kind", &m);
	b.first_seq = 5;
	b.n_records = 1;
	recs[0]->seq = 5;
	link_msg("batch-gap", &m);
	hb.sent_ms = T0_MS;
	hb.has_sent_ms = 1;
	hb.backlog = 3;
	hb.has_backlog = 1;
	hb.agent_version = "0.1.0";
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT;
	m.heartbeat = &hb;
	link_msg("heartbeat", &m);
	ua.applied_update_id = 1;
	ua.has_applied_update_id = 1;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK;
	m.update_ack = &ua;
	link_msg("update-ack", &m);
	free_records(recs, n);
}

/* ---- hub_query ---- */

/* A request `what` with NULL-terminated key, value params. */
static void query(const char *name, const char *what, ...)
{
	Storesync__QueryRequest q = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryParam p[8], *pp[8];
	const char *k;
	va_list ap;

	va_start(ap, what);
	while ((k = va_arg(ap, const char *)) != NULL && q.n_params < 8) {
		storesync__query_param__init(&p[q.n_params]);
		p[q.n_params].key = (char *)k;
		p[q.n_params].value = va_arg(ap, char *);
		pp[q.n_params] = &p[q.n_params];
		q.n_params++;
	}
	va_end(ap);
	q.proto_version = SS_PROTO_VERSION;
	q.has_proto_version = 1;
	q.what = (char *)what;
	q.params = pp;
	put_msg("hub_query", name, &q.base);
}

static void query_lists(void)
{
	Storesync__QueryRequest q = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__PriceEntry e[3], *pe[3];
	Storesync__StoreInfo s[2], *ps[2];
	static const char *const skus[] = { "SOFA-3S", "CHAIR-RED", "TEA-1" };

	for (int i = 0; i < 3; i++) {
		storesync__price_entry__init(&e[i]);
		e[i].sku = (char *)skus[i];
		e[i].price_fen = 1000 * (i + 1);
		e[i].has_price_fen = 1;
		e[i].name = i ? NULL : "three-seat sofa";
		pe[i] = &e[i];
	}
	q.proto_version = SS_PROTO_VERSION;
	q.has_proto_version = 1;
	q.what = "price push";
	q.prices = pe;
	q.n_prices = 3;
	put_msg("hub_query", "price-push", &q.base);
	for (int i = 0; i < 2; i++) {
		storesync__store_info__init(&s[i]);
		s[i].store_id = i ? "S2" : "S1";
		s[i].name = "a store";
		s[i].region = i ? "SOUTH" : "NORTH";
		ps[i] = &s[i];
	}
	q.what = "store import";
	q.prices = NULL;
	q.n_prices = 0;
	q.stores = ps;
	q.n_stores = 2;
	put_msg("hub_query", "store-import", &q.base);
}

static void query_seeds(void)
{
	query("stores", "stores", NULL);
	query("sales", "sales", "store", "S1", "by", "month", "from", "2026-11-01", NULL);
	query("inventory", "inventory", "below", "10", NULL);
	query("complaints", "complaints", "overdue", "", NULL);
	query("accounts", "accounts", "aging", "", NULL);
	query("stale", "stale", "at", "2026-12-31T00:00", NULL);
	query("dump", "dump", NULL);
	query("stats", "stats", NULL);
	query("policy-show", "policy show", "store", "S1", NULL);
	query("price-show", "price show", "sku", "SOFA-3S", NULL);
	query("mismatches", "price mismatches", NULL);
	query("rollout", "rollout", "kind", "price", NULL);
	query("notices", "notices", NULL);
	query("replenish-list", "replenish list", "state", "pending", NULL);
	query("store-list", "store list", NULL);
	/* Times at the edges: refused today, and one mutation from a value
	 * that would overflow the age and deadline arithmetic if they were not. */
	query("stores-at-edge", "stores", "at", "+9223372036854775807", NULL);
	query("stale-at-edge", "stale", "at", "+9223372036854775807", NULL);
	query("sales-from-edge", "sales", "from", "9999-12-31", NULL);
	query("store-add", "store add", "store", "S9", "name", "new store", "region", "NORTH", NULL);
	query("store-set", "store set", "store", "S1", "region", "EAST", NULL);
	query("policy-set", "policy set", "set", "first_response_hours=12", NULL);
	query("approve", "replenish approve", "id", "S1:RQ-11", "qty", "30", NULL);
	query("refuse", "replenish refuse", "id", "S1:RQ-11", "note", "no stock", NULL);
	query_lists();
}

/* ---- agent_local ---- */

static void local_msg(const char *name, Storesync__LocalRequest *r)
{
	r->proto_version = SS_PROTO_VERSION;
	r->has_proto_version = 1;
	put_msg("agent_local", name, &r->base);
}

static void local_seeds(void)
{
	Storesync__LocalRequest r = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__StatusRequest st = STORESYNC__STATUS_REQUEST__INIT;
	Storesync__PriceQuery pq = STORESYNC__PRICE_QUERY__INIT;
	Storesync__PolicyQuery po = STORESYNC__POLICY_QUERY__INIT;
	Storesync__NoticesQuery nq = STORESYNC__NOTICES_QUERY__INIT;
	Storesync__RequestsQuery rq = STORESYNC__REQUESTS_QUERY__INIT;
	Storesync__Record *recs[16];
	size_t n = all_records(recs);

	sub.records = recs;
	sub.n_records = n;
	r.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	r.submit = &sub;
	local_msg("submit-every-kind", &r);
	r.kind_case = STORESYNC__LOCAL_REQUEST__KIND_STATUS;
	r.status = &st;
	local_msg("status", &r);
	pq.sku = "SOFA-3S";
	r.kind_case = STORESYNC__LOCAL_REQUEST__KIND_PRICE;
	r.price = &pq;
	local_msg("price", &r);
	po.at_ms = T0_MS;
	po.has_at_ms = 1;
	r.kind_case = STORESYNC__LOCAL_REQUEST__KIND_POLICY;
	r.policy = &po;
	local_msg("policy", &r);
	r.kind_case = STORESYNC__LOCAL_REQUEST__KIND_NOTICES;
	r.notices = &nq;
	local_msg("notices", &r);
	r.kind_case = STORESYNC__LOCAL_REQUEST__KIND_REQUESTS;
	r.requests = &rq;
	local_msg("requests", &r);
	free_records(recs, n);
}

/* ---- agent_apply ---- */

static void apply_seeds(void)
{
	Storesync__Update u = STORESYNC__UPDATE__INIT;
	Storesync__PriceList pl = STORESYNC__PRICE_LIST__INIT;
	Storesync__PriceEntry pe = STORESYNC__PRICE_ENTRY__INIT, *ppe = &pe;
	Storesync__PolicySet ps = STORESYNC__POLICY_SET__INIT;
	Storesync__PolicyEntry po = STORESYNC__POLICY_ENTRY__INIT, *ppo = &po;
	Storesync__CollectionNotice cn = STORESYNC__COLLECTION_NOTICE__INIT;
	Storesync__ReplenishmentDecision dec = STORESYNC__REPLENISHMENT_DECISION__INIT;
	Storesync__Snapshot sn = STORESYNC__SNAPSHOT__INIT;
	Storesync__DatedPrice dp = STORESYNC__DATED_PRICE__INIT, *pdp = &dp;

	u.update_id = 1;
	u.has_update_id = 1;
	u.created_ms = T0_MS;
	u.has_created_ms = 1;
	pe.sku = "SOFA-3S";
	pe.price_fen = 459900;
	pe.has_price_fen = 1;
	pe.name = "sofa";
	pl.effective_ms = T0_MS;
	pl.has_effective_ms = 1;
	pl.prices = &ppe;
	pl.n_prices = 1;
	u.body_case = STORESYNC__UPDATE__BODY_PRICES;
	u.prices = &pl;
	put_msg("agent_apply", "prices", &u.base);
	po.name = "first_response_hours";
	po.value = 12;
	po.has_value = 1;
	ps.effective_ms = T0_MS;
	ps.has_effective_ms = 1;
	ps.values = &ppo;
	ps.n_values = 1;
	u.update_id = 3;
	u.body_case = STORESYNC__UPDATE__BODY_POLICIES;
	u.policies = &ps;
	put_msg("agent_apply", "policies", &u.base);
	cn.account = "ACC-1001";
	cn.balance_fen = 465700;
	cn.has_balance_fen = 1;
	cn.since_ms = T0_MS;
	cn.has_since_ms = 1;
	u.update_id = 5;
	u.body_case = STORESYNC__UPDATE__BODY_NOTICE;
	u.notice = &cn;
	put_msg("agent_apply", "notice", &u.base);
	dec.request_no = "RQ-11";
	dec.decision = STORESYNC__DECISION__DECISION_APPROVED;
	dec.has_decision = 1;
	dec.quantity = 30;
	dec.has_quantity = 1;
	u.update_id = 7;
	u.body_case = STORESYNC__UPDATE__BODY_DECISION;
	u.decision = &dec;
	put_msg("agent_apply", "decision", &u.base);
	dp.update_id = 1;
	dp.has_update_id = 1;
	dp.effective_ms = T0_MS;
	dp.has_effective_ms = 1;
	dp.price = &pe;
	sn.part = 1;
	sn.has_part = 1;
	sn.parts = 1;
	sn.has_parts = 1;
	sn.prices = &pdp;
	sn.n_prices = 1;
	u.update_id = 9;
	u.body_case = STORESYNC__UPDATE__BODY_SNAPSHOT;
	u.snapshot = &sn;
	put_msg("agent_apply", "snapshot", &u.base);
}

/* ---- json_record, csv ---- */

static void text_seeds(void)
{
	static const char prices[] = "sku,price_fen,name\nSOFA-3S,459900,\"three-seat, grey\"\n"
		"CHAIR-RED,12900,\nTEA-1,0,\"\"\"green\"\" tea\"\n";
	static const char stores[] = "store_id,name,region\nS1,First store,NORTH\nS2,,\n";
	char line[1024], name[32];

	for (size_t i = 0; fz_seed_records[i]; i++) {
		snprintf(line, sizeof line, fz_seed_records[i], (long long)T0_MS);
		snprintf(name, sizeof name, "record-%zu", i);
		put("json_record", name, line, strlen(line));
	}
	put("csv", "prices", prices, sizeof prices - 1);
	put("csv", "stores", stores, sizeof stores - 1);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR (tests/fuzz)\n");
		return 2;
	}
	top = argv[1];
	link_seeds();
	query_seeds();
	local_seeds();
	apply_seeds();
	text_seeds();
	return 0;
}
