/* hub_query: answering operators' read queries (hqctl). Runs on the query
 * workers (hub_query_server.c) and reads LMDB only through read
 * transactions, which see a committed snapshot and never wait for the
 * writer: a slow query cannot slow ingest. Every answer is a table
 * (QueryReply). Writes are not answered here: the workers hand them to the
 * writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_query.h"
#include "hub_registry.h"
#include "hub_updates.h"
#include "ss_arena.h"
#include "ss_query_spec.h"
#include "ss_link.h"
#include "ss_time.h"
#include "ss_validate.h"

#define MAX_QUERY_BYTES (64u * 1024u)

static void store_row(struct hub *h, MDB_txn *txn, const struct query_args *a,
	const struct hub_store_policy *silence, struct table *t, const Storesync__StoreState *s,
	const Storesync__StoreInfo *si)
{
	Storesync__Row *row = table_row(t);
	char epoch[20];
	int64_t since;

	if (!row)
		return;
	snprintf(epoch, sizeof epoch, "%016llx", (unsigned long long)s->epoch);
	cell_str(row, s->store_id);
	cell_str(row, epoch);
	cell_int(row, (int64_t)s->high_water_seq);
	cell_int(row, (int64_t)s->records);
	cell_int(row, s->amount_fen);
	cell_int(row, (int64_t)s->refused);
	cell_int(row, (int64_t)s->backlog);
	cell_int(row, s->oldest_unsent_age_ms);
	cell_int(row, s->last_seen_ms);
	cell_int(row, s->last_record_ms);
	cell_int(row, s->last_progress_ms);
	/* Silence counts from the last progress; a registered store never heard
	 * from has made none, and is silent since its registration (-1, never,
	 * without one). Never negative: a round the writer stamped after this
	 * query's moment (or a past --at) is no silence at all. */
	since = s->has_last_progress_ms ? s->last_progress_ms
		: si && si->has_added_ms ? si->added_ms : -1;
	cell_int(row, since < 0 ? -1 : a->at_ms > since ? a->at_ms - since : 0);
	cell_int(row, (int64_t)s->biz_duplicates);
	cell_str(row, s->last_refused ? s->last_refused : "");
	cell_int(row, (int64_t)s->budget_left_bytes);
	cell_int(row, s->has_disk_free_bytes ? (int64_t)s->disk_free_bytes : -1);
	cell_str(row, s->agent_version);
	cell_str(row, si ? si->name : "");
	cell_str(row, si && si->region ? si->region : "");
	cell_int(row, si != NULL);
	cell_int(row, (int64_t)s->applied_update_id);
	cell_int(row, (int64_t)s->price_update_id);
	cell_int(row, (int64_t)s->policy_update_id);
	/* The rule hqctl stale and the metrics use (hub_stale.c). */
	cell_int(row, since >= 0 && hub_store_silent(h, txn, silence, s->store_id,
		si && si->region ? si->region : "", since, NULL));
	cell_str(row, si && si->status ? si->status : "");
	/* What the hub demands of every link; --insecure shows on every row. */
	cell_str(row, h->cfg.insecure ? "INSECURE" : "curve");
	cell_int(row, s->has_conflict_epoch && s->conflict_epoch == s->epoch);
	cell_int(row, s->has_conflict_epoch && s->conflict_epoch == s->epoch
		? s->conflict_since_ms : 0);
}

/* Every store the hub knows: registered ones (heard from or not) and the
 * unregistered ones that connected, in store id order (both databases are
 * keyed by it, so this is a merge of two cursors). Each store's state and
 * registry entry are unpacked into one arena chunk used again store after
 * store, not malloc'd and freed field by field. */
void query_stores(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t)
{
	static const char *const cols[] = { "store_id", "epoch", "high_water_seq", "records",
		"amount_fen", "refused", "backlog", "oldest_unsent_age_ms", "last_seen_ms",
		"last_record_ms", "last_progress_ms", "silent_ms", "biz_duplicates", "last_refused",
		"budget_left_bytes", "disk_free_bytes", "agent_version", "name",
		"region", "registered", "applied_update_id", "price_update_id",
		"policy_update_id", "silent", "status", "link", "conflict", "conflict_since_ms" };
	MDB_cursor *sc, *rc;
	MDB_val sk, sd, rk, rd;
	struct ss_arena mem;
	struct hub_store_policy silence;
	int s_ok, r_ok;

	table_init(t, cols, sizeof cols / sizeof cols[0]);
	hub_store_policy_init(h, txn, &silence, SS_POL_STORE_SILENCE_MINUTES, a->at_ms);
	/* Counts of what the hub received: they cannot be cut at a moment. */
	if (query_in_past(h, txn, a))
		return table_fail(t, "stores: records and amounts count every record received and "
			"some are dated after --at; ask without --at, or --at a later moment");
	if (mdb_cursor_open(txn, h->stores, &sc) != 0)
		return;
	if (mdb_cursor_open(txn, h->registry, &rc) != 0) {
		mdb_cursor_close(sc);
		return;
	}
	ss_arena_init(&mem, 0);
	s_ok = mdb_cursor_get(sc, &sk, &sd, MDB_FIRST) == 0;
	r_ok = mdb_cursor_get(rc, &rk, &rd, MDB_FIRST) == 0;
	while (s_ok || r_ok) {
		int c = !s_ok ? 1 : !r_ok ? -1 : mdb_cmp(txn, h->stores, &sk, &rk);
		Storesync__StoreState *s = c <= 0 ? storesync__store_state__unpack(&mem.allocator,
			sd.mv_size, sd.mv_data) : NULL;
		Storesync__StoreInfo *si = c >= 0 ? storesync__store_info__unpack(&mem.allocator,
			rd.mv_size, rd.mv_data) : NULL;
		Storesync__StoreState empty = STORESYNC__STORE_STATE__INIT;

		if (!s && si)
			empty.store_id = si->store_id;   /* registered, never heard from */
		if ((s || si) && (!a->store || strcmp(a->store, s ? s->store_id : si->store_id) == 0)
			&& (!a->region || (si && si->region && strcmp(a->region, si->region) == 0)))
			store_row(h, txn, a, &silence, t, s ? s : &empty, si);
		ss_arena_reset(&mem);
		if (c <= 0)
			s_ok = mdb_cursor_get(sc, &sk, &sd, MDB_NEXT) == 0;
		if (c >= 0)
			r_ok = mdb_cursor_get(rc, &rk, &rd, MDB_NEXT) == 0;
	}
	ss_arena_release(&mem);
	mdb_cursor_close(rc);
	mdb_cursor_close(sc);
}

/* Business-key duplicates are counted in each store's state, which commits
 * with the records (the writer counts per round only what hub_writer.c
 * adds up): their total is read when asked for. */
static void stats_read_stores(struct hub *h)
{
	uint64_t dups = 0;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, d;

	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return;
	if (mdb_cursor_open(txn, h->stores, &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
			Storesync__StoreState *s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data);

			if (s)
				dups += s->biz_duplicates;
			storesync__store_state__free_unpacked(s, NULL);
		}
		mdb_cursor_close(cur);
	}
	ss_lmdb_read_end(&h->db, txn);
	atomic_store(&h->stats.biz_duplicates, dups);
}

static void query_stats(struct hub *h, struct table *t)
{
	static const char *const cols[] = { "counter", "value" };

	stats_read_stores(h);
	table_init(t, cols, 2);
	for (size_t i = 0; i < hub_n_counters; i++) {
		Storesync__Row *row = table_row(t);

		if (!row)
			return;
		cell_str(row, hub_counters[i].name);
		cell_int(row, (int64_t)atomic_load(hub_counter_ptr(&h->stats, &hub_counters[i])));
	}
}

/* Queries over LMDB; each runs in one read transaction. */
static const struct {
	const char *what;
	query_fn fn;
} queries[] = {
	{ "stores", query_stores }, { "sales", query_sales }, { "inventory", query_inventory },
	{ "complaints", query_complaints }, { "accounts", query_accounts },
	{ "stale", query_stale }, { "policy", query_policy }, { "policy show", query_policy },
	{ "dump", query_dump }, { "store list", query_store_list },
	{ "price show", query_price_show }, { "price mismatches", query_price_mismatches },
	{ "rollout", query_rollout }, { "notices", query_notices },
	{ "replenish list", query_replenish }, { "operator list", query_operators },
	{ "audit", query_audit },
};

static int parse_day_param(const char *v, int32_t *day, char *err, size_t errlen, const char *k)
{
	if (ss_time_parse_day(v, day) == 0)
		return 0;
	snprintf(err, errlen, "%s: \"%s\" is not a day (YYYY-MM-DD)", k, v);
	return -1;
}

/* Params to typed arguments; -1 with a reason for an unknown or bad one. */
static int parse_args(const Storesync__QueryRequest *q, struct query_args *a, char *err,
	size_t errlen)
{
	const struct ss_command *cmd = ss_command_find(q->what);

	*a = (struct query_args){ .from_day = INT32_MIN, .to_day = INT32_MAX, .below = INT64_MAX,
		.at_ms = ss_now_ms(), .as_of_ms = INT64_MAX };
	for (size_t i = 0; i < q->n_params; i++) {
		/* An alias (audit --from) is read as the param it stands for. */
		const char *k = ss_command_param(cmd, q->params[i]->key),
			*v = q->params[i]->value ? q->params[i]->value : "";
		char *end;
		int rc = 0;

		if (!k) {
			rc = -1;
		} else if (strcmp(k, "store") == 0) {
			a->store = v;
			rc = ss_validate_store_id(v);
		} else if (strcmp(k, "sku") == 0) {
			a->sku = v;
			rc = ss_validate_sku(v);
		} else if (strcmp(k, "state") == 0) {
			a->state = v;
		} else if (strcmp(k, "region") == 0) {
			a->region = v;
		} else if (strcmp(k, "kind") == 0) {
			a->kind = v;
		} else if (strcmp(k, "since") == 0) {
			rc = ss_time_parse(v, &a->since_ms);
		} else if (strcmp(k, "who") == 0) {
			a->who = v;
		} else if (strcmp(k, "update") == 0) {
			a->update = strtoull(v, &end, 10);
			rc = end == v || *end || a->update == 0 ? -1 : 0;
		} else if (strcmp(k, "by") == 0) {
			a->by = v;
			rc = strcmp(v, "day") && strcmp(v, "week") && strcmp(v, "month") ? -1 : 0;
		} else if (strcmp(k, "from") == 0) {
			rc = parse_day_param(v, &a->from_day, err, errlen, k);
		} else if (strcmp(k, "to") == 0) {
			rc = parse_day_param(v, &a->to_day, err, errlen, k);
		} else if (strcmp(k, "below") == 0) {
			a->below = strtoll(v, &end, 10);
			rc = end == v || *end ? -1 : 0;
		} else if (strcmp(k, "at") == 0) {
			/* "As at T": what the records dated up to T say, judged at T. */
			rc = ss_time_parse(v, &a->at_ms);
			a->as_of_ms = a->at_ms;
		} else if (strcmp(k, "overdue") == 0) {
			a->overdue = 1;
		} else if (strcmp(k, "late") == 0) {
			a->late = 1;
		} else if (strcmp(k, "stale") == 0) {
			a->stale = 1;
		} else if (strcmp(k, "aging") == 0) {
			a->aging = 1;
		} else {
			rc = -1;
		}
		if (rc != 0) {
			if (!err[0])
				snprintf(err, errlen, "bad parameter %s=\"%s\"", k ? k : "(none)", v);
			return -1;
		}
	}
	return 0;
}

int query_in_past(struct hub *h, MDB_txn *txn, const struct query_args *a)
{
	return a->as_of_ms < (int64_t)hub_meta_get(h, txn, HUB_META_MAX_RECORD_MS);
}

int query_check(const Storesync__QueryRequest *q, char *err, size_t errlen)
{
	const struct ss_command *cmd = ss_command_find(q->what);

	if (q->proto_version != SS_PROTO_VERSION) {
		snprintf(err, errlen, "unsupported proto_version (this hub speaks 1)");
		return -1;
	}
	if (!cmd && !(q->what && strcmp(q->what, "policy") == 0)) {
		snprintf(err, errlen, "unknown query");
		return -1;
	}
	return cmd ? ss_command_check_params(cmd, q->params, q->n_params, err, errlen) : 0;
}

int query_serve(struct hub *h, const void *body, size_t len, const char *role, struct table *t)
{
	Storesync__QueryRequest *q;
	enum ss_proto_verdict v = ss_proto_unpack_limited(&storesync__query_request__descriptor,
		body, len, &ss_limits_query, (ProtobufCMessage **)&q, NULL);
	char why[128];
	int write = q && hub_op_work_kind(q->what) >= 0;

	if (q && !write && strcmp(role, "read") == 0 && q->what && strcmp(q->what, "dump") == 0) {
		table_fail(t, "dump needs the admin role: it holds customers' names, which the read "
			"role does not see");
	} else if (q && !write) {
		int64_t start_us = ss_mono_us();

		query_answer(h, q, t);
		ss_histo_observe(hub_stats_query(&h->stats, q->what), &ss_histo_latency,
			(uint64_t)(ss_mono_us() - start_us));
	}
	if (q) {
		storesync__query_request__free_unpacked(q, NULL);
		return write ? QUERY_WRITE : 0;
	}
	snprintf(why, sizeof why, "malformed query: %s", ss_proto_verdict_text(v));
	table_fail(t, why);
	atomic_fetch_add(hub_stats_refused(&h->stats, v), 1);
	return 0;
}

/* A --store filter naming a store the hub has neither registered nor
 * heard from is a typo, not a store without data: said, not an empty
 * table. Except for store list, whose empty answer is the answer ("is S
 * registered?": deploy/enroll asks it so). */
static int store_known(struct hub *h, MDB_txn *txn, const char *store)
{
	MDB_val k = { strlen(store), (void *)store }, d;

	return mdb_get(txn, h->registry, &k, &d) == 0 || mdb_get(txn, h->stores, &k, &d) == 0;
}

void query_answer(struct hub *h, const Storesync__QueryRequest *q, struct table *t)
{
	struct query_args a;
	char err[256] = "";
	MDB_txn *txn;

	if (query_check(q, err, sizeof err) != 0)
		return table_fail(t, err);
	if (q->what && strncmp(q->what, "export ", 7) == 0)
		return query_export(h, q, t);
	if (parse_args(q, &a, err, sizeof err) != 0)
		return table_fail(t, err);
	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		if (!q->what || strcmp(q->what, queries[i].what) != 0)
			continue;
		if (ss_lmdb_read_begin(&h->db, &txn) != 0)
			return table_fail(t, "hub storage unavailable");
		if (a.store && strcmp(q->what, "store list") != 0 && !store_known(h, txn, a.store)) {
			snprintf(err, sizeof err, "store %s is not known to the hub (not registered, "
				"never heard from)", a.store);
			table_fail(t, err);
		} else
			queries[i].fn(h, txn, &a, t);
		ss_lmdb_read_end(&h->db, txn);
		return;
	}
	if (q->what && strcmp(q->what, "stats") == 0)
		return query_stats(h, t);
	table_fail(t, "unknown query");
}

