/* ss-hubload: fills a hub data directory for the query benchmarks through
 * the hub's own apply path (hub_store_apply: event log, views, indexes), in
 * large transactions, without the network: 10,000 stores, 1,000,000 open
 * accounts of which 1% have had no payment for 40 days, and a month of daily
 * sales for every store (RECEIPTS a day, default 1; the export benchmark
 * uses many, as a real store-day has).
 *   ss-hubload DATA_DIR [STORES] [ACCOUNTS_PER_STORE] [DAYS] [RECEIPTS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "ss_time.h"
#include "ss_version.h"

struct load {
	struct hub *h;
	int store, stores, accounts, days, receipts;
	int64_t now_ms;
};

static Storesync__Record *contract(const struct load *l, int i, char *no, size_t len)
{
	static Storesync__ContractSale cs;
	static Storesync__Record r;
	/* One account in a hundred last paid 40 days ago: stale. */
	int64_t t = l->now_ms - (i % 100 == 0 ? 40 : 2) * SS_DAY_MS;

	storesync__contract_sale__init(&cs);
	storesync__record__init(&r);
	snprintf(no, len, "S%05d-K%06d", l->store, i);
	cs.contract_no = no;
	cs.customer = "CUST";
	cs.total_fen = 1000000;
	cs.has_total_fen = 1;
	cs.deposit_fen = 100000;
	cs.has_deposit_fen = 1;
	cs.deposit_method = STORESYNC__PAYMENT_METHOD__PAY_CARD;
	cs.has_deposit_method = 1;
	r.time_ms = t;
	r.has_time_ms = 1;
	r.recorded_ms = t;
	r.has_recorded_ms = 1;
	r.body_case = STORESYNC__RECORD__BODY_CONTRACT_SALE;
	r.contract_sale = &cs;
	return &r;
}

static Storesync__Record *sale(const struct load *l, int day, int no)
{
	static Storesync__SaleLine line, *lines[1] = { &line };
	static Storesync__Sale s;
	static Storesync__Record r;
	static char receipt[24];

	storesync__sale_line__init(&line);
	storesync__sale__init(&s);
	storesync__record__init(&r);
	line.sku = "SKU-1";
	line.quantity = 1;
	line.has_quantity = 1;
	line.unit_price_fen = 9900;
	line.has_unit_price_fen = 1;
	/* Its own receipt number: one number twice is one sale (business key). */
	snprintf(receipt, sizeof receipt, "R%d", day * l->receipts + no + 1);
	s.receipt_no = receipt;
	s.lines = lines;
	s.n_lines = 1;
	s.total_fen = 9900;
	s.has_total_fen = 1;
	s.payment_method = STORESYNC__PAYMENT_METHOD__PAY_CASH;
	s.has_payment_method = 1;
	s.cashier = "C1";
	r.time_ms = l->now_ms - (int64_t)(l->days - day) * SS_DAY_MS;
	r.has_time_ms = 1;
	r.recorded_ms = r.time_ms;
	r.has_recorded_ms = 1;
	r.body_case = STORESYNC__RECORD__BODY_SALE;
	r.sale = &s;
	return &r;
}

/* One store's records in one transaction. */
static int load_store(MDB_txn *txn, void *arg)
{
	struct load *l = arg;
	struct hub_store s;
	char id[16], no[32];
	int rc;

	snprintf(id, sizeof id, "S%05d", l->store);
	if ((rc = hub_store_load(l->h, txn, id, 1, &s)) != 0)
		return rc;
	s.state->last_seen_ms = l->now_ms;
	s.state->has_last_seen_ms = 1;
	for (int i = 0; rc == 0 && i < l->accounts; i++)
		rc = hub_store_apply(l->h, txn, &s, contract(l, i, no, sizeof no));
	for (int d = 0; rc == 0 && d < l->days; d++)
		for (int n = 0; rc == 0 && n < l->receipts; n++)
			rc = hub_store_apply(l->h, txn, &s, sale(l, d, n));
	if (rc == 0)
		rc = hub_store_save(l->h, txn, &s);
	hub_store_release(&s);
	return rc;
}

int main(int argc, char **argv)
{
	static struct hub h = { .cfg = { .budget_bytes = 64LL << 30 } };
	struct load l = { .h = &h, .stores = 10000, .accounts = 100, .days = 30, .receipts = 1,
		.now_ms = ss_now_ms() };
	char err[256];

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		ss_version_print("ss-hubload");
		return 0;
	}
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"Usage: ss-hubload DATA_DIR [STORES] [ACCOUNTS_PER_STORE] [DAYS] [RECEIPTS] | --version\n"
			"Fills a hub data directory for the query benchmarks (defaults 10000 100 30 1):\n"
			"RECEIPTS sales a day per store.\n");
		return argc < 2 ? 2 : 0;
	}
	snprintf(h.cfg.data_dir, sizeof h.cfg.data_dir, "%s", argv[1]);
	if (argc > 2)
		l.stores = atoi(argv[2]);
	if (argc > 3)
		l.accounts = atoi(argv[3]);
	if (argc > 4)
		l.days = atoi(argv[4]);
	if (argc > 5)
		l.receipts = atoi(argv[5]);
	if (hub_open_db(&h, err, sizeof err) != 0) {
		fprintf(stderr, "ss-hubload: %s\n", err);
		return 1;
	}
	{
		MDB_txn *txn;

		ss_lmdb_read_begin(&h.db, &txn);
		ss_lmdb_read_end(&h.db, txn);
	}
	for (l.store = 0; l.store < l.stores; l.store++)
		if (ss_lmdb_write(&h.db, load_store, &l, err, sizeof err) != 0) {
			fprintf(stderr, "ss-hubload: store %d: %s\n", l.store, err);
			return 1;
		}
	ss_lmdb_close(&h.db);
	return 0;
}
