/* fuzz_hub_link: the hub's handling of one message on the store link, as
 * the writer runs it (admit, apply, commit, answer) on a scratch LMDB.
 * Invariants beyond "no crash":
 *  - every answer the hub sends parses as a LinkMessage of a kind it sends,
 *    with protocol version 1, and an Error carries a reason;
 *  - the event log and the high-water marks agree: the log holds exactly
 *    the sum of every (store, epoch)'s high-water mark, and the applied
 *    plus refused counters count every event;
 *  - a record the hub acknowledges is stored exactly as it was sent (with
 *    the seq the hub gives it). */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "hub_work.h"
#include "ss_link.h"

#define RESET_EVERY 20000

static struct fz_hub hub;
static unsigned runs;

static void answers_parse(void)
{
	zmq_msg_t f[2];
	int n;

	while ((n = fz_recv(hub.peer, f, 2)) > 0) {
		Storesync__LinkMessage *m = n == 1 ? (Storesync__LinkMessage *)ss_proto_unpack(
			&storesync__link_message__descriptor, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
			SS_MAX_MSG_BYTES) : NULL;

		FZ_CHECK(m != NULL, "the hub sent %d frames or an answer that does not parse", n);
		FZ_CHECK(m->has_proto_version && m->proto_version == SS_PROTO_VERSION, "version");
		FZ_CHECK(m->kind_case == STORESYNC__LINK_MESSAGE__KIND_WELCOME
			|| m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ACK
			|| m->kind_case == STORESYNC__LINK_MESSAGE__KIND_RESEND
			|| m->kind_case == STORESYNC__LINK_MESSAGE__KIND_ERROR
			|| m->kind_case == STORESYNC__LINK_MESSAGE__KIND_UPDATE
			|| m->kind_case == STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT, "kind %d",
			m->kind_case);
		FZ_CHECK(m->kind_case != STORESYNC__LINK_MESSAGE__KIND_ERROR
			|| (m->error->reason && m->error->reason[0]), "an Error without a reason");
		storesync__link_message__free_unpacked(m, NULL);
		ss_link_close_frames(f, n < 2 ? n : 2);
	}
}

/* The epoch store's state is on (0: none). */
static uint64_t epoch_of_state(MDB_txn *txn, const char *store)
{
	MDB_val k = { strlen(store), (void *)store }, d;
	Storesync__StoreState *s;
	uint64_t epoch = 0;

	if (mdb_get(txn, hub.h.stores, &k, &d) != 0)
		return 0;
	s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data);
	FZ_CHECK(s != NULL, "a store state that does not unpack");
	epoch = s->epoch;
	storesync__store_state__free_unpacked(s, NULL);
	return epoch;
}

/* Events held against high-water marks and counters. */
static void log_agrees(void)
{
	struct hub *h = &hub.h;
	uint64_t hw_sum = 0, dups = 0;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_stat st;
	MDB_val k, d;

	FZ_CHECK(ss_lmdb_read_begin(&h->db, &txn) == 0, "read txn");
	FZ_CHECK(mdb_stat(txn, h->events, &st) == 0, "stat");
	/* Every (store, epoch) the hub holds a mark for: the epochs its stores
	 * left, and the one each state is on. */
	FZ_CHECK(mdb_cursor_open(txn, h->epochs, &c) == 0, "cursor");
	for (int rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const char *store = k.mv_data;
		size_t n = strnlen(store, k.mv_size);
		uint64_t hw = 0;

		FZ_CHECK(n + 9 == k.mv_size, "an epochs key that is not store '\\0' epoch");
		if (epoch_of_state(txn, store) != ss_be64_get((const uint8_t *)k.mv_data + n + 1)) {
			FZ_CHECK(hub_store_high_water(h, txn, store,
				ss_be64_get((const uint8_t *)k.mv_data + n + 1), &hw) == 0, "mark");
			hw_sum += hw;
		}
	}
	mdb_cursor_close(c);
	/* A business duplicate is logged with no effect and counted in its
	 * store's state, neither applied nor refused. */
	FZ_CHECK(mdb_cursor_open(txn, h->stores, &c) == 0, "cursor");
	for (int rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		Storesync__StoreState *s = storesync__store_state__unpack(NULL, d.mv_size, d.mv_data);

		FZ_CHECK(s != NULL, "a store state that does not unpack");
		dups += s->biz_duplicates;
		hw_sum += s->high_water_seq;
		storesync__store_state__free_unpacked(s, NULL);
	}
	mdb_cursor_close(c);
	ss_lmdb_read_end(&h->db, txn);
	FZ_CHECK(st.ms_entries == hw_sum, "%zu events, high-water marks add up to %llu",
		(size_t)st.ms_entries, (unsigned long long)hw_sum);
	FZ_CHECK(atomic_load(&h->stats.records_applied) + atomic_load(&h->stats.refused_records)
		+ dups == st.ms_entries, "counters do not count the events");
}

static uint64_t high_water(const char *store, uint64_t epoch)
{
	struct hub *h = &hub.h;
	uint64_t hw = 0;
	MDB_txn *txn;

	FZ_CHECK(ss_lmdb_read_begin(&h->db, &txn) == 0, "read txn");
	FZ_CHECK(hub_store_high_water(h, txn, store, epoch, &hw) == 0, "mark");
	ss_lmdb_read_end(&h->db, txn);
	return hw;
}

/* Each newly stored record of b is the record sent, seq given. */
static void stored_as_sent(Storesync__Batch *b, uint64_t hw_before)
{
	struct hub *h = &hub.h;
	uint64_t hw = high_water(b->store_id, b->epoch);
	uint8_t key[64];
	size_t n = strlen(b->store_id);
	MDB_txn *txn;

	FZ_CHECK(hw <= hw_before + b->n_records, "high-water mark ran ahead of the batch");
	memcpy(key, b->store_id, n);
	key[n] = '\0';
	ss_be64_put(key + n + 1, b->epoch);
	FZ_CHECK(ss_lmdb_read_begin(&h->db, &txn) == 0, "read txn");
	for (uint64_t seq = hw_before + 1; seq <= hw; seq++) {
		Storesync__Record *r = b->records[seq - b->first_seq];
		MDB_val k = { n + 17, key }, d;
		size_t len;
		uint8_t *sent;

		ss_be64_put(key + n + 9, seq);
		FZ_CHECK(mdb_get(txn, h->events, &k, &d) == 0, "seq %llu not stored",
			(unsigned long long)seq);
		r->seq = seq;
		r->has_seq = 1;
		sent = ss_proto_pack(&r->base, &len);
		FZ_CHECK(len == d.mv_size && memcmp(sent, d.mv_data, len) == 0,
			"seq %llu stored otherwise than sent", (unsigned long long)seq);
		free(sent);
	}
	ss_lmdb_read_end(&h->db, txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Storesync__LinkMessage *m = NULL;
	Storesync__Batch *b = NULL;
	uint64_t hw_before = 0;

	if (runs++ % RESET_EVERY == 0) {
		if (runs > 1)
			fz_hub_close(&hub);
		fz_hub_open(&hub);
	}
	if (ss_proto_unpack_limited(&storesync__link_message__descriptor, data, size,
		&ss_limits_link, (ProtobufCMessage **)&m, NULL) == SS_PROTO_OK
		&& m->kind_case == STORESYNC__LINK_MESSAGE__KIND_BATCH && m->batch->store_id
		&& strlen(m->batch->store_id) < 40 && m->batch->first_seq > 0) {
		b = m->batch;
		hw_before = high_water(b->store_id, b->epoch);
	}
	fz_hub_link(&hub, data, size);
	answers_parse();
	log_agrees();
	if (b)
		stored_as_sent(b, hw_before);
	if (m)
		storesync__link_message__free_unpacked(m, NULL);
	return 0;
}
