/* fuzz_agent_apply: the agent's handling of one Update sent down by the
 * hub (agent_apply.c), on a scratch LMDB whose down-flow state carries over
 * from input to input. Half the inputs (odd update ids) are put in turn
 * (in_turn), so the fuzzer reaches the appliers and not only the
 * out-of-turn answer, whatever came before.
 * Invariants beyond "no crash":
 *  - what the agent remembers applying is what its LMDB says (meta), so a
 *    restart resumes where the hub thinks it stands;
 *  - every UpdateAck it sends parses and acknowledges exactly that;
 *  - nothing it keeps is out of its rules: every price a till would be
 *    told for a SKU the update names (now, and at the latest time taken)
 *    has a valid SKU and a price in 0..10^13 fen. */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "ss_link.h"
#include "ss_time.h"
#include "ss_validate.h"

#define RESET_EVERY 2000

static struct fz_agent ag;
static unsigned runs;

static void meta_agrees(void)
{
	struct agent *a = &ag.a;
	uint64_t applied = 0, price = 0, policy = 0;
	MDB_txn *txn;

	FZ_CHECK(ss_lmdb_read_begin(&a->db.lmdb, &txn) == 0, "read txn");
	agent_db_meta_get(&a->db, txn, "applied_update_id", &applied);
	agent_db_meta_get(&a->db, txn, "price_update_id", &price);
	agent_db_meta_get(&a->db, txn, "policy_update_id", &policy);
	ss_lmdb_read_end(&a->db.lmdb, txn);
	FZ_CHECK(applied == a->apply.ids.applied && price == a->apply.ids.price
		&& policy == a->apply.ids.policy, "memory says %llu/%llu/%llu, LMDB %llu/%llu/%llu",
		(unsigned long long)a->apply.ids.applied, (unsigned long long)a->apply.ids.price,
		(unsigned long long)a->apply.ids.policy, (unsigned long long)applied,
		(unsigned long long)price, (unsigned long long)policy);
}

static void acks_parse(void)
{
	zmq_msg_t f[3];
	int n;

	while ((n = fz_recv(ag.hub, f, 3)) > 0) {
		Storesync__LinkMessage *m = n == 2 ? (Storesync__LinkMessage *)ss_proto_unpack(
			&storesync__link_message__descriptor, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
			SS_MAX_MSG_BYTES) : NULL;

		FZ_CHECK(m && m->kind_case == STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK,
			"the agent sent something other than an UpdateAck");
		FZ_CHECK(m->update_ack->applied_update_id == ag.a.apply.ids.applied, "ack %llu",
			(unsigned long long)m->update_ack->applied_update_id);
		storesync__link_message__free_unpacked(m, NULL);
		ss_link_close_frames(f, n < 3 ? n : 3);
	}
}

static void price_valid(const Storesync__DatedPrice *p)
{
	FZ_CHECK(!p || (p->price && ss_validate_sku(p->price->sku) == 0
		&& p->price->price_fen >= 0 && p->price->price_fen <= SS_MAX_FEN),
		"the agent answers a price it should not keep");
}

/* What a till would be told for sku, now and at the latest time taken. */
static void sku_valid(MDB_txn *txn, const char *sku)
{
	static const int64_t at[] = { 0, SS_TIME_MAX_MS - 1 };
	Storesync__DatedPrice *now, *next;

	if (!sku || strlen(sku) > 64)
		return;
	for (size_t i = 0; i < 2; i++) {
		FZ_CHECK(prices_at(&ag.a.db, txn, sku, at[i] ? at[i] : ss_now_ms(), &now, &next,
			NULL) == 0, "the price table cannot be read");
		price_valid(now);
		price_valid(next);
		if (now)
			storesync__dated_price__free_unpacked(now, NULL);
		if (next)
			storesync__dated_price__free_unpacked(next, NULL);
	}
}

/* Every SKU the update names. */
static void prices_valid(const Storesync__Update *u)
{
	MDB_txn *txn;

	FZ_CHECK(ss_lmdb_read_begin(&ag.a.db.lmdb, &txn) == 0, "read txn");
	if (u->body_case == STORESYNC__UPDATE__BODY_PRICES)
		for (size_t i = 0; i < u->prices->n_prices && i < 64; i++)
			sku_valid(txn, u->prices->prices[i] ? u->prices->prices[i]->sku : NULL);
	if (u->body_case == STORESYNC__UPDATE__BODY_SNAPSHOT)
		for (size_t i = 0; i < u->snapshot->n_prices && i < 64; i++)
			sku_valid(txn, u->snapshot->prices[i] && u->snapshot->prices[i]->price
				? u->snapshot->prices[i]->price->sku : NULL);
	ss_lmdb_read_end(&ag.a.db.lmdb, txn);
}

/* Makes u the next update of the agent's stream: it follows what is
 * applied, with an id a little above it (a snapshot's later part keeps the
 * id of the one being staged), so no input uses up the id space for those
 * after it. */
static void in_turn(Storesync__Update *u)
{
	const struct apply_ids *ids = &ag.a.apply.ids;

	u->after_id = ids->applied;
	if (u->body_case == STORESYNC__UPDATE__BODY_SNAPSHOT && u->snapshot->part > 1
		&& ids->snapshot)
		u->update_id = ids->snapshot;
	else
		u->update_id = ids->applied + 1 + (u->update_id >> 1) % 1024;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Storesync__Update *u;

	if (runs++ % RESET_EVERY == 0) {
		if (runs > 1)
			fz_agent_close(&ag);
		fz_agent_open(&ag);
	}
	/* As agent_sender unpacks what the hub sends. */
	u = (Storesync__Update *)ss_proto_unpack(&storesync__update__descriptor, data, size,
		SS_MAX_MSG_BYTES);
	if (!u)
		return 0;
	if (u->update_id & 1)
		in_turn(u);
	sender_on_update(&ag.a, u);
	meta_agrees();
	acks_parse();
	prices_valid(u);
	storesync__update__free_unpacked(u, NULL);
	return 0;
}
