/* hub_db: the hub's LMDB environment and its named databases (see hub.h
 * for each one's key and value). Opening also seeds the policy defaults. */
#include "hub.h"

static int seed_policy(MDB_txn *txn, void *arg)
{
	return hub_policy_seed(arg, txn);
}

int hub_open_db(struct hub *h, char *err, size_t errlen)
{
	size_t initial = h->cfg.budget_bytes < (1LL << 30) ? (size_t)h->cfg.budget_bytes : (1u << 30);
	int rc = ss_lmdb_open(&h->db, h->cfg.data_dir, 16, initial, (size_t)h->cfg.budget_bytes,
		err, errlen);

	if (rc == 0)
		rc = ss_lmdb_dbi(&h->db, "events", 0, &h->events, err, errlen);
	if (rc == 0)
		rc = ss_lmdb_dbi(&h->db, "stores", 0, &h->stores, err, errlen);
	if (rc == 0)
		rc = ss_lmdb_dbi(&h->db, "epochs", 0, &h->epochs, err, errlen);
	const struct { const char *name; MDB_dbi *dbi; } views[] = {
		{ "sales", &h->sales }, { "inventory", &h->inventory }, { "cases", &h->cases },
		{ "accounts", &h->accounts }, { "case_due", &h->case_due },
		{ "account_due", &h->account_due }, { "store_seen", &h->store_seen },
		{ "policy", &h->policy },
	};
	for (size_t i = 0; rc == 0 && i < sizeof views / sizeof views[0]; i++)
		rc = ss_lmdb_dbi(&h->db, views[i].name, 0, views[i].dbi, err, errlen);
	if (rc == 0)
		rc = ss_lmdb_write(&h->db, seed_policy, h, err, errlen);
	return rc;
}

