/* hub_db: the hub's LMDB environment and its named databases, opened from
 * the one table of databases (hub_views.c; see hub.h for each one's key and
 * value), and the directory's on-disk format (hub_meta "format",
 * common/ss_format.h), migrated at start. */
#include "hub.h"
#include "ss_format.h"

/* The migrations (HUB_DB_FORMAT, hub.h): migrations[n] turns format n into n + 1, in the start's
 * one write transaction (arg: the struct hub, its handles open). None yet:
 * format 1 is 0.1.0's, which stamping alone makes current. */
static const ss_format_step_fn migrations[HUB_DB_FORMAT] = { NULL };

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
		rc = ss_format_migrate(&h->db, h->hub_meta, &format, err, errlen);
	return rc;
}
