/* test_apply: the store's side of the down-flow (store-agent/agent_apply.c,
 * agent_dated.c) with the real agent and a test hub peer (tl_fakehub) in
 * place of the hub. Updates apply in order, once: one whose after_id is not
 * what the agent applied, or that it already applied, changes nothing and
 * is answered with the applied id. Prices and policies switch at their
 * effective moment at the agent (asked at now and at other times), notices
 * and decisions reach the store, a snapshot in parts replaces the tables
 * only when its last part is in (a snapshot given up is dropped), and a
 * kill -9 mid-snapshot leaves the old tables. Checked through the agent's local endpoint, its Hello and
 * heartbeats, and by reopening its LMDB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "ss_time.h"
#include "testlib.h"

#define WAIT_MS 10000
#define DAY_MS (24 * 3600 * 1000LL)

struct fx {
	struct tl_env e;
	struct tl_fakehub hub;
	pid_t agent;
	char local[320], data[320];
};

static void fx_start(struct fx *f)
{
	tl_env_init(&f->e);
	tl_agent_paths(&f->e, "S1", f->local, sizeof f->local, f->data, sizeof f->data);
	tl_fakehub_open(&f->hub, f->e.hub_listen);
	f->agent = tl_start_agent(&f->e, "S1", NULL);
	ck_assert_uint_eq(tl_fakehub_hello(&f->hub, WAIT_MS), 0);
}

static void fx_stop(struct fx *f)
{
	tl_stop(f->agent);
	tl_fakehub_close(&f->hub);
	tl_env_cleanup(&f->e);
}

/* Sends u, frees it, and returns the applied id the agent acknowledged. */
static uint64_t send_update(struct fx *f, Storesync__Update *u)
{
	uint64_t applied = tl_fakehub_apply(&f->hub, u);

	storesync__update__free_unpacked(u, NULL);
	return applied;
}

/* A price list of one SKU as update id (after after). */
static uint64_t send_price(struct fx *f, uint64_t id, uint64_t after, int64_t effective_ms,
	const char *sku, int64_t fen)
{
	Storesync__Update *u = tl_update(id, after);

	tl_update_price(u, effective_ms, sku, fen);
	return send_update(f, u);
}

/* Updates are handled in the order they arrive: once this duplicate's ack
 * is back, every update sent before it has been handled. */
static void sync_agent(struct fx *f, uint64_t applied)
{
	Storesync__Update *u = tl_update(1, 0);

	ck_assert_uint_eq(send_update(f, u), applied);
}

static Storesync__StatusReply *status(struct fx *f)
{
	Storesync__StatusReply *st = tl_status(f->local, 2000);

	ck_assert_msg(st != NULL, "agent does not answer status");
	return st;
}

START_TEST(updates_apply_in_order_and_are_acknowledged)
{
	Storesync__UpdateAck ack;
	Storesync__StatusReply *st;
	Storesync__Update *u;
	struct fx f;
	int64_t deadline;

	fx_start(&f);
	u = tl_update(1, 0);
	tl_update_price(u, 1000, "SOFA-3S", 459900);
	tl_update_price(u, 1000, "LAMP-1", 12900);
	ck_assert_int_eq(tl_fakehub_send(&f.hub, u), 0);
	storesync__update__free_unpacked(u, NULL);
	ck_assert_uint_eq(tl_fakehub_ack(&f.hub, &ack, WAIT_MS), 1);
	ck_assert_uint_eq(ack.price_update_id, 1);
	ck_assert_uint_eq(ack.policy_update_id, 0);
	u = tl_update(2, 1);
	tl_update_policy(u, 1000, "max_discount_percent", 10);
	ck_assert_int_eq(tl_fakehub_send(&f.hub, u), 0);
	storesync__update__free_unpacked(u, NULL);
	ck_assert_uint_eq(tl_fakehub_ack(&f.hub, &ack, WAIT_MS), 2);
	ck_assert_uint_eq(ack.price_update_id, 1);
	ck_assert_uint_eq(ack.policy_update_id, 2);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", 0), 459900);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 12900);
	ck_assert_int_eq(tl_price_fen(f.local, "CHAIR-9", 0), -1);
	ck_assert_int_eq(tl_policy_value(f.local, "max_discount_percent", 0), 10);
	st = status(&f);
	ck_assert_uint_eq(st->applied_update_id, 2);
	ck_assert_uint_eq(st->price_update_id, 1);
	ck_assert_uint_eq(st->policy_update_id, 2);
	tl_status_free(st);
	/* The heartbeat tells the hub the same. */
	deadline = ss_mono_ms() + WAIT_MS;
	while (f.hub.hb.policy_update_id != 2 && ss_mono_ms() < deadline)
		tl_fakehub_next(&f.hub, STORESYNC__LINK_MESSAGE__KIND__NOT_SET, 100);
	ck_assert_uint_eq(f.hub.hb.applied_update_id, 2);
	ck_assert_uint_eq(f.hub.hb.price_update_id, 1);
	/* And so does the Hello of a restarted agent. */
	tl_stop(f.agent);
	tl_fakehub_forget(&f.hub);
	f.agent = tl_start_agent(&f.e, "S1", NULL);
	ck_assert_uint_eq(tl_fakehub_hello(&f.hub, WAIT_MS), 2);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", 0), 459900);
	fx_stop(&f);
}
END_TEST

START_TEST(update_out_of_turn_is_not_applied)
{
	struct fx f;

	fx_start(&f);
	ck_assert_uint_eq(send_price(&f, 1, 0, 1000, "LAMP-1", 100), 1);
	/* Update 3 follows 2, which this store never got: answered with 1. */
	ck_assert_uint_eq(send_price(&f, 3, 2, 1000, "LAMP-1", 300), 1);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 100);
	/* An after_id from the future is no better. */
	ck_assert_uint_eq(send_price(&f, 9, 8, 1000, "LAMP-1", 900), 1);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 100);
	/* The hub resends from 1: 2 then 3 apply. */
	ck_assert_uint_eq(send_price(&f, 2, 1, 1000, "LAMP-1", 200), 2);
	ck_assert_uint_eq(send_price(&f, 3, 2, 1000, "LAMP-1", 300), 3);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 300);
	fx_stop(&f);
}
END_TEST

static Storesync__LocalReply *notices(struct fx *f);

START_TEST(duplicate_update_is_not_applied_twice)
{
	Storesync__LocalReply *r;
	Storesync__Update *u;
	struct fx f;

	fx_start(&f);
	ck_assert_uint_eq(send_price(&f, 1, 0, 1000, "LAMP-1", 100), 1);
	ck_assert_uint_eq(send_price(&f, 2, 1, 2000, "LAMP-1", 200), 2);
	/* Update 1 again (a resend crossing our ack), with other content to
	 * show it does nothing; then update 2 again. */
	ck_assert_uint_eq(send_price(&f, 1, 0, 3000, "LAMP-1", 999), 2);
	ck_assert_uint_eq(send_price(&f, 2, 1, 3000, "LAMP-1", 998), 2);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 200);
	/* Update 3 applied is one notice; update 3 again, with another
	 * account in it, adds none. */
	u = tl_update(3, 2);
	tl_update_notice(u, "ACC-1", 5000, 120000, 6000);
	ck_assert_uint_eq(send_update(&f, u), 3);
	u = tl_update(3, 2);
	tl_update_notice(u, "ACC-9", 5000, 90000, 6000);
	ck_assert_uint_eq(send_update(&f, u), 3);
	r = notices(&f);
	ck_assert_uint_eq(r->notices->n_notices, 1);
	ck_assert_str_eq(r->notices->notices[0]->account, "ACC-1");
	ck_assert_int_eq(r->notices->notices[0]->balance_fen, 120000);
	storesync__local_reply__free_unpacked(r, NULL);
	fx_stop(&f);
}
END_TEST

START_TEST(price_list_switches_at_its_moment)
{
	int64_t now = ss_now_ms(), monday = now + 2 * DAY_MS;
	Storesync__LocalReply *r;
	struct agent_db db;
	MDB_txn *txn;
	MDB_stat st;
	char err[256];
	struct fx f;

	fx_start(&f);
	ck_assert_uint_eq(send_price(&f, 1, 0, now - 30 * DAY_MS, "SOFA-3S", 459900), 1);
	/* Arrives two days early, switches on Monday at the agent, offline. */
	ck_assert_uint_eq(send_price(&f, 2, 1, monday, "SOFA-3S", 429900), 2);
	r = tl_price(f.local, "SOFA-3S", 0);
	ck_assert(r->price->found);
	ck_assert_int_eq(r->price->price_fen, 459900);
	ck_assert_int_eq(r->price->effective_ms, now - 30 * DAY_MS);
	ck_assert_uint_eq(r->price->update_id, 1);
	ck_assert(r->price->has_next);
	ck_assert_int_eq(r->price->next_price_fen, 429900);
	ck_assert_int_eq(r->price->next_effective_ms, monday);
	storesync__local_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday - 1), 459900);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday), 429900);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday + 90 * DAY_MS), 429900);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", now - 31 * DAY_MS), -1);
	/* A later update for the same moment corrects the earlier one. */
	ck_assert_uint_eq(send_price(&f, 3, 2, monday, "SOFA-3S", 419900), 3);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday), 419900);
	/* A price in force since an hour ago replaces the month-old one now;
	 * the announced ones stay. */
	ck_assert_uint_eq(send_price(&f, 4, 3, now - 3600000, "SOFA-3S", 449900), 4);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", 0), 449900);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday), 419900);
	/* Many lists in force: they are merged, so the table stays bounded by
	 * what is in force and what is announced, and answers the same. */
	for (uint64_t id = 5; id <= 20; id++)
		ck_assert_uint_eq(send_price(&f, id, id - 1, now - 3600000 + (int64_t)id, "SOFA-3S",
			440000 + (int64_t)id), id);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", 0), 440020);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday), 419900);
	tl_stop(f.agent);
	tl_fakehub_forget(&f.hub);
	ck_assert_int_eq(agent_db_open(&db, f.data, 1 << 30, err, sizeof err), 0);
	ck_assert_int_eq(ss_lmdb_read_begin(&db.lmdb, &txn), 0);
	ck_assert_int_eq(mdb_stat(txn, db.prices, &st), 0);
	/* At most 8 lists in force and a merged base, plus the 2 for Monday. */
	ck_assert_uint_le(st.ms_entries, 8 + 1 + 2);
	ss_lmdb_read_end(&db.lmdb, txn);
	agent_db_close(&db);
	f.agent = tl_start_agent(&f.e, "S1", NULL);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", monday), 419900);
	fx_stop(&f);
}
END_TEST

START_TEST(policy_in_force_by_effective_time)
{
	int64_t now = ss_now_ms(), later = now + 3600000;
	Storesync__Update *u;
	struct fx f;

	fx_start(&f);
	u = tl_update(1, 0);
	tl_update_policy(u, later, "max_discount_percent", 10);
	tl_update_policy(u, later, "credit_limit_fen", 150);
	tl_update_policy(u, later, "return_window_days", 400); /* out of range: skipped */
	tl_update_policy(u, later, "loyalty_points_ratio", 3); /* unknown here: ignored */
	ck_assert_uint_eq(send_update(&f, u), 1);
	ck_assert_int_eq(tl_policy_value(f.local, "max_discount_percent", 0), 30);
	ck_assert_int_eq(tl_policy_value(f.local, "max_discount_percent", later - 1), 30);
	ck_assert_int_eq(tl_policy_value(f.local, "max_discount_percent", later), 10);
	ck_assert_int_eq(tl_policy_value(f.local, "credit_limit_fen", later), 150);
	ck_assert_int_eq(tl_policy_value(f.local, "return_window_days", later), 7);
	ck_assert_int_eq(tl_sh("grep -q 'loyalty_points_ratio' '%s/agent-S1.log'", f.e.dir), 0);
	fx_stop(&f);
}
END_TEST

/* The store's requests, by request_no, as the agent reports them. */
static Storesync__LocalReply *requests(struct fx *f)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__RequestsQuery q = STORESYNC__REQUESTS_QUERY__INIT;
	Storesync__LocalReply *r;

	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_REQUESTS;
	req.requests = &q;
	r = tl_local(f->local, &req, 5000);
	ck_assert_msg(r && r->kind_case == STORESYNC__LOCAL_REPLY__KIND_REQUESTS, "no requests");
	return r;
}

static Storesync__LocalReply *notices(struct fx *f)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__NoticesQuery q = STORESYNC__NOTICES_QUERY__INIT;
	Storesync__LocalReply *r;

	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_NOTICES;
	req.notices = &q;
	r = tl_local(f->local, &req, 5000);
	ck_assert_msg(r && r->kind_case == STORESYNC__LOCAL_REPLY__KIND_NOTICES, "no notices");
	return r;
}

START_TEST(notices_and_decisions_reach_the_store)
{
	Storesync__LocalReply *r;
	Storesync__Update *u;
	struct fx f;

	fx_start(&f);
	tl_submit_jsonf(f.local, "{\"type\":\"replenishment\",\"time_ms\":%lld,\"request_no\":"
		"\"RQ-1\",\"sku\":\"CHAIR-RED\",\"quantity\":40,\"reason\":\"wedding\"}",
		(long long)ss_now_ms());
	r = requests(&f);
	ck_assert_uint_eq(r->requests->n_requests, 1);
	ck_assert_str_eq(r->requests->requests[0]->request_no, "RQ-1");
	ck_assert_str_eq(r->requests->requests[0]->state, "pending");
	ck_assert_int_eq(r->requests->requests[0]->quantity, 40);
	ck_assert_uint_eq(r->requests->requests[0]->seq, 1);
	storesync__local_reply__free_unpacked(r, NULL);
	u = tl_update(1, 0);
	tl_update_decision(u, "RQ-1", 1, 30, "30 now, 10 next week");
	ck_assert_uint_eq(send_update(&f, u), 1);
	r = requests(&f);
	ck_assert_str_eq(r->requests->requests[0]->state, "approved");
	ck_assert_int_eq(r->requests->requests[0]->approved_quantity, 30);
	ck_assert_int_eq(r->requests->requests[0]->quantity, 40);
	ck_assert_str_eq(r->requests->requests[0]->note, "30 now, 10 next week");
	storesync__local_reply__free_unpacked(r, NULL);
	u = tl_update(2, 1);
	tl_update_notice(u, "ACC-1", 5000, 120000, 6000);
	ck_assert_uint_eq(send_update(&f, u), 2);
	u = tl_update(3, 2);   /* the same episode again: the same notice */
	tl_update_notice(u, "ACC-1", 5000, 120000, 6000);
	ck_assert_uint_eq(send_update(&f, u), 3);
	u = tl_update(4, 3);
	tl_update_notice(u, "ACC-2", 7000, 50000, 8000);
	ck_assert_uint_eq(send_update(&f, u), 4);
	r = notices(&f);
	ck_assert_uint_eq(r->notices->n_notices, 2);
	ck_assert_str_eq(r->notices->notices[0]->account, "ACC-2");   /* newest first */
	ck_assert_str_eq(r->notices->notices[1]->account, "ACC-1");
	ck_assert_int_eq(r->notices->notices[1]->balance_fen, 120000);
	storesync__local_reply__free_unpacked(r, NULL);
	fx_stop(&f);
}
END_TEST

/* Before the snapshot: prices LAMP-1 and SOFA-3S, max_discount_percent 10. */
static void old_tables(struct fx *f)
{
	Storesync__Update *u = tl_update(1, 0);

	tl_update_price(u, 1000, "LAMP-1", 100);
	tl_update_price(u, 1000, "SOFA-3S", 200);
	ck_assert_uint_eq(send_update(f, u), 1);
	u = tl_update(2, 1);
	tl_update_policy(u, 1000, "max_discount_percent", 10);
	ck_assert_uint_eq(send_update(f, u), 2);
}

/* Part `part` of snapshot 10 (3 parts): CUP-2, then a policy and a
 * notice, then VASE-3 and a decision. Sent, not waited for. */
static void send_snapshot_part(struct fx *f, uint32_t part)
{
	Storesync__Update *u = tl_update(10, 2);

	tl_update_snapshot(u, part, 3);
	if (part == 1)
		tl_snapshot_price(u, 7, 1000, "CUP-2", 300);
	if (part == 2) {
		tl_snapshot_policy(u, 8, 1000, "max_discount_percent", 20);
		tl_snapshot_notice(u, "ACC-9", 1, 70000, 2);
	}
	if (part == 3)
		tl_snapshot_price(u, 9, 1000, "VASE-3", 400);
	ck_assert_int_eq(tl_fakehub_send(&f->hub, u), 0);
	storesync__update__free_unpacked(u, NULL);
}

static void expect_old_tables(struct fx *f)
{
	ck_assert_int_eq(tl_price_fen(f->local, "LAMP-1", 0), 100);
	ck_assert_int_eq(tl_price_fen(f->local, "SOFA-3S", 0), 200);
	ck_assert_int_eq(tl_price_fen(f->local, "CUP-2", 0), -1);
	ck_assert_int_eq(tl_policy_value(f->local, "max_discount_percent", 0), 10);
}

static void expect_new_tables(struct fx *f)
{
	Storesync__StatusReply *st = status(f);
	Storesync__LocalReply *r;

	ck_assert_int_eq(tl_price_fen(f->local, "LAMP-1", 0), -1);
	ck_assert_int_eq(tl_price_fen(f->local, "SOFA-3S", 0), -1);
	ck_assert_int_eq(tl_price_fen(f->local, "CUP-2", 0), 300);
	ck_assert_int_eq(tl_price_fen(f->local, "VASE-3", 0), 400);
	ck_assert_int_eq(tl_policy_value(f->local, "max_discount_percent", 0), 20);
	ck_assert_uint_eq(st->applied_update_id, 10);
	ck_assert_uint_eq(st->price_update_id, 9);
	ck_assert_uint_eq(st->policy_update_id, 8);
	tl_status_free(st);
	r = notices(f);
	ck_assert_uint_eq(r->notices->n_notices, 1);
	ck_assert_str_eq(r->notices->notices[0]->account, "ACC-9");
	storesync__local_reply__free_unpacked(r, NULL);
}

START_TEST(snapshot_in_parts_replaces_the_tables_at_once)
{
	Storesync__Update *u;
	struct fx f;

	fx_start(&f);
	old_tables(&f);
	/* A part 2 without its part 1 is out of turn. */
	send_snapshot_part(&f, 2);
	ck_assert_uint_eq(tl_fakehub_ack(&f.hub, NULL, WAIT_MS), 2);
	send_snapshot_part(&f, 1);
	send_snapshot_part(&f, 2);
	sync_agent(&f, 2);         /* parts staged, not acknowledged */
	expect_old_tables(&f);
	send_snapshot_part(&f, 3);
	ck_assert_uint_eq(tl_fakehub_ack(&f.hub, NULL, WAIT_MS), 10);
	expect_new_tables(&f);
	/* The log continues after the snapshot. */
	u = tl_update(11, 10);
	tl_update_price(u, 2000, "CUP-2", 350);
	ck_assert_uint_eq(send_update(&f, u), 11);
	ck_assert_int_eq(tl_price_fen(f.local, "CUP-2", 0), 350);
	ck_assert_int_eq(tl_price_fen(f.local, "VASE-3", 0), 400);
	fx_stop(&f);
}
END_TEST

START_TEST(kill_mid_snapshot_keeps_the_old_tables)
{
	Storesync__DatedPrice *now, *next;
	struct agent_db db;
	uint64_t applied = 0;
	MDB_txn *txn;
	char err[256];
	struct fx f;

	fx_start(&f);
	old_tables(&f);
	send_snapshot_part(&f, 1);
	send_snapshot_part(&f, 2);
	sync_agent(&f, 2);
	tl_kill9(f.agent);
	tl_fakehub_forget(&f.hub);
	ck_assert_int_eq(agent_db_open(&db, f.data, 1 << 30, err, sizeof err), 0);
	ck_assert_int_eq(ss_lmdb_read_begin(&db.lmdb, &txn), 0);
	ck_assert_int_eq(agent_db_meta_get(&db, txn, "applied_update_id", &applied), 0);
	ck_assert_uint_eq(applied, 2);
	ck_assert_int_eq(prices_at(&db, txn, "LAMP-1", ss_now_ms(), &now, &next, NULL), 0);
	ck_assert_ptr_nonnull(now);
	ck_assert_int_eq(now->price->price_fen, 100);
	storesync__dated_price__free_unpacked(now, NULL);
	ck_assert_int_eq(prices_at(&db, txn, "CUP-2", ss_now_ms(), &now, &next, NULL), 0);
	ck_assert_ptr_null(now);
	ss_lmdb_read_end(&db.lmdb, txn);
	agent_db_close(&db);
	f.agent = tl_start_agent(&f.e, "S1", NULL);
	ck_assert_uint_eq(tl_fakehub_hello(&f.hub, WAIT_MS), 2);
	expect_old_tables(&f);
	/* The hub sends the snapshot again, from its first part. */
	for (uint32_t part = 1; part <= 3; part++)
		send_snapshot_part(&f, part);
	ck_assert_uint_eq(tl_fakehub_ack(&f.hub, NULL, WAIT_MS), 10);
	expect_new_tables(&f);
	fx_stop(&f);
}
END_TEST

/* The hub sends the log again instead of finishing a snapshot: the staged
 * parts are dropped with the next update, and the rest of that snapshot is
 * out of turn. */
START_TEST(abandoned_snapshot_is_dropped)
{
	struct agent_db db;
	MDB_stat staged;
	MDB_txn *txn;
	char err[256];
	struct fx f;

	fx_start(&f);
	old_tables(&f);
	send_snapshot_part(&f, 1);
	send_snapshot_part(&f, 2);
	ck_assert_uint_eq(send_price(&f, 3, 2, 1000, "LAMP-1", 110), 3);
	send_snapshot_part(&f, 3);
	ck_assert_uint_eq(tl_fakehub_ack(&f.hub, NULL, WAIT_MS), 3);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 110);
	ck_assert_int_eq(tl_price_fen(f.local, "CUP-2", 0), -1);
	tl_stop(f.agent);
	ck_assert_int_eq(agent_db_open(&db, f.data, 1 << 30, err, sizeof err), 0);
	ck_assert_int_eq(ss_lmdb_read_begin(&db.lmdb, &txn), 0);
	ck_assert_int_eq(mdb_stat(txn, db.staging, &staged), 0);
	ck_assert_uint_eq(staged.ms_entries, 0);
	ss_lmdb_read_end(&db.lmdb, txn);
	agent_db_close(&db);
	f.agent = tl_start_agent(&f.e, "S1", NULL);
	fx_stop(&f);
}
END_TEST

/* Runs storectl against the agent; stdout in f->e.dir/out, stderr in err. */
static int storectl(struct fx *f, const char *args)
{
	return tl_sh("'%s/storectl' --agent '%s' %s >'%s/out' 2>'%s/err'", SS_BIN_DIR, f->local,
		args, f->e.dir, f->e.dir);
}

static int out_has(struct fx *f, const char *file, const char *text)
{
	return tl_sh("grep -q -F -- '%s' '%s/%s'", text, f->e.dir, file) == 0;
}

START_TEST(storectl_shows_prices_and_policies)
{
	Storesync__Update *u;
	struct fx f;

	fx_start(&f);
	ck_assert_uint_eq(send_price(&f, 1, 0, 1000, "SOFA-3S", 459900), 1);
	/* 2030-01-01T00:00Z */
	ck_assert_uint_eq(send_price(&f, 2, 1, 1893456000000LL, "SOFA-3S", 429900), 2);
	u = tl_update(3, 2);
	tl_update_policy(u, 1000, "store_refund_authority_fen", 80000);
	ck_assert_uint_eq(send_update(&f, u), 3);
	ck_assert_int_eq(storectl(&f, "price SOFA-3S"), 0);
	ck_assert(out_has(&f, "out", "¥4,599.00"));
	ck_assert(out_has(&f, "out", "¥4,299.00 from 2030-01-0"));
	ck_assert_int_eq(storectl(&f, "price SOFA-3S --at 2030-01-01T00:00"), 0);
	ck_assert(out_has(&f, "out", "¥4,299.00 (429900 fen)"));
	ck_assert_int_eq(storectl(&f, "price SOFA-3S --at 2029-12-31T23:59 --json"), 0);
	ck_assert(out_has(&f, "out", "\"price_fen\": 459900"));
	ck_assert(out_has(&f, "out", "\"next_effective_ms\": 1893456000000"));
	/* Unknown SKU: exit 1, one line. */
	ck_assert_int_eq(storectl(&f, "price NOPE-1"), 1);
	ck_assert_int_eq(tl_sh("test \"$(cat '%s/err')\" = 'storectl: no price for SKU NOPE-1'",
		f.e.dir), 0);
	ck_assert_int_eq(storectl(&f, "policy"), 0);
	ck_assert(out_has(&f, "out", "store_refund_authority_fen"));
	ck_assert(out_has(&f, "out", "80000 (¥800.00)"));
	ck_assert(out_has(&f, "out", "(update 3)"));
	ck_assert_int_eq(storectl(&f, "policy --json"), 0);
	ck_assert(out_has(&f, "out", "\"name\": \"return_window_days\""));
	ck_assert_int_eq(storectl(&f, "notices"), 0);
	ck_assert(out_has(&f, "out", "no collection notices"));
	ck_assert_int_eq(storectl(&f, "requests --json"), 0);
	/* Usage errors exit 2 with one line. */
	ck_assert_int_eq(storectl(&f, "price"), 2);
	ck_assert_int_eq(storectl(&f, "price A B"), 2);
	ck_assert_int_eq(storectl(&f, "price SOFA-3S --at yesterday"), 2);
	ck_assert_int_eq(tl_sh("test $(wc -l < '%s/err') = 1", f.e.dir), 0);
	ck_assert_int_eq(storectl(&f, "status --at 2030-01-01"), 2);
	ck_assert_int_eq(storectl(&f, "notices extra"), 2);
	fx_stop(&f);
}
END_TEST

/* storectl price SKU --at MS: the exit status, stdout and stderr as storectl(). */
static int storectl_price_at(struct fx *f, const char *sku, int64_t at_ms)
{
	char args[96];

	snprintf(args, sizeof args, "price %s --at %lld", sku, (long long)at_ms);
	return storectl(f, args);
}

/* Neither storectl nor the PriceQuery reply claims a price in force before
 * it was: a moment before the only list has none, and names the list as
 * the next; once the lists in force are merged (only the newest price of a
 * SKU is kept), a moment before that price gets no price, and says that
 * what was in force then is no longer kept (kept_from_ms). */
START_TEST(price_before_the_prices_kept_is_none)
{
	int64_t now = ss_now_ms(), first = now - 3600000, second = now - 1800000;
	Storesync__LocalReply *r;
	struct fx f;

	fx_start(&f);
	ck_assert_uint_eq(send_price(&f, 1, 0, first, "SOFA-3S", 459900), 1);
	r = tl_price(f.local, "SOFA-3S", first - DAY_MS);
	ck_assert(!r->price->found);
	ck_assert(!r->price->has_kept_from_ms);
	ck_assert(r->price->has_next);
	ck_assert_int_eq(r->price->next_price_fen, 459900);
	ck_assert_int_eq(r->price->next_effective_ms, first);
	storesync__local_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(storectl_price_at(&f, "SOFA-3S", first - DAY_MS), 1);
	ck_assert(out_has(&f, "err", "storectl: no price for SKU SOFA-3S in force at "));
	ck_assert(out_has(&f, "err", "(¥4,599.00 from "));
	ck_assert_int_eq(tl_sh("test $(wc -l < '%s/err') = 1 && test ! -s '%s/out'", f.e.dir,
		f.e.dir), 0);
	/* A newer price, then eight more lists in force: more than the agent
	 * keeps apart, so they are merged. */
	ck_assert_uint_eq(send_price(&f, 2, 1, second, "SOFA-3S", 429900), 2);
	for (uint64_t id = 3; id <= 10; id++)
		ck_assert_uint_eq(send_price(&f, id, id - 1, second + (int64_t)id, "LAMP-1",
			(int64_t)id * 100), id);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", 0), 429900);
	ck_assert_int_eq(tl_price_fen(f.local, "SOFA-3S", second), 429900);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", 0), 1000);
	ck_assert_int_eq(tl_price_fen(f.local, "LAMP-1", second + 9), 900);
	/* While the first list was in force, and before it. */
	for (int i = 0; i < 2; i++) {
		r = tl_price(f.local, "SOFA-3S", i ? first - DAY_MS : first + 60000);
		ck_assert_msg(!r->price->found, "a price in force since %lld, asked at %lld",
			(long long)r->price->effective_ms, (long long)(i ? first - DAY_MS : first + 60000));
		ck_assert(r->price->has_kept_from_ms);
		ck_assert_int_eq(r->price->kept_from_ms, second);
		ck_assert(!r->price->has_next);
		storesync__local_reply__free_unpacked(r, NULL);
	}
	ck_assert_int_eq(storectl_price_at(&f, "SOFA-3S", first + 60000), 1);
	ck_assert(out_has(&f, "err", "storectl: no price for SKU SOFA-3S known at "));
	ck_assert(out_has(&f, "err", "the agent keeps only the price in force now and later-dated "
		"ones, from "));
	ck_assert_int_eq(tl_sh("test $(wc -l < '%s/err') = 1 && test ! -s '%s/out'", f.e.dir,
		f.e.dir), 0);
	ck_assert_int_eq(storectl_price_at(&f, "SOFA-3S", second), 0);
	ck_assert(out_has(&f, "out", "¥4,299.00 (429900 fen)"));
	fx_stop(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		updates_apply_in_order_and_are_acknowledged, update_out_of_turn_is_not_applied,
		duplicate_update_is_not_applied_twice, price_list_switches_at_its_moment,
		policy_in_force_by_effective_time, notices_and_decisions_reach_the_store,
		snapshot_in_parts_replaces_the_tables_at_once, kill_mid_snapshot_keeps_the_old_tables,
		abandoned_snapshot_is_dropped, storectl_shows_prices_and_policies,
		price_before_the_prices_kept_is_none,
	};

	return tl_run("apply", tests, sizeof tests / sizeof tests[0], 60);
}
