/* hub_db: the hub's LMDB environment and its named databases, opened from
 * the one table of databases (hub_views.c; see hub.h for each one's key and
 * value), and the directory's on-disk format (hub_meta "format",
 * common/ss_format.h), migrated at start. */
#include "hub.h"
#include "ss_format.h"

/* Format 2 keeps the high-water mark of a store's current epoch in its
 * state only (hub_store.c), where format 1 wrote it to "epochs" as well: a
 * format-1 hub would read a stale mark from there, so it must not open a
 * format-2 directory. A format-1 directory needs no change: both places
 * hold the same mark. */
static int migrate_1_to_2(MDB_txn *txn, void *arg)
{
	(void)txn;
	(void)arg;
	return 0;
}

/* The migrations (HUB_DB_FORMAT, hub.h): migrations[n] turns format n into n + 1, in the start's
 * one write transaction (arg: the struct hub, its handles open). Format 1
 * is 0.1.0's. */
static const ss_format_step_fn migrations[HUB_DB_FORMAT] = { NULL, migrate_1_to_2 };

int hub_open_db(struct hub *h, char *err, size_t errlen)
{
	size_t budget = (size_t)h->cfg.budget_bytes;
	size_t initial = h->cfg.map_initial_bytes > 0 && (size_t)h->cfg.map_initial_bytes < budget
		? (size_t)h->cfg.map_initial_bytes : budget;
	struct ss_format format = { .program = "hq-hub", .dir = h->cfg.data_dir,
		.meta = "hub_meta", .current = HUB_DB_FORMAT, .steps = migrations, .arg = h };
	uint64_t found;
	int rc = ss_lmdb_open(&h->db, h->cfg.data_dir, 32, initial, budget, err, errlen);

	/* A newer format is refused before a database is created in it. */
	if (rc == 0)
		rc = ss_format_check(&h->db, &format, &found, err, errlen);
	for (size_t i = 0; rc == 0 && i < hub_n_dbs; i++)
		rc = ss_lmdb_dbi(&h->db, hub_dbs[i].name, 0, hub_db_dbi(h, &hub_dbs[i]), err, errlen);
	if (rc == 0)
		rc = ss_format_migrate(&h->db, h->hub_meta, &format, found, err, errlen);
	return rc;
}
