/* hub_db: the hub's LMDB environment and its named databases, opened from
 * the one table of databases (hub_views.c; see hub.h for each one's key and
 * value). */
#include "hub.h"

int hub_open_db(struct hub *h, char *err, size_t errlen)
{
	size_t budget = (size_t)h->cfg.budget_bytes;
	size_t initial = h->cfg.map_initial_bytes > 0 && (size_t)h->cfg.map_initial_bytes < budget
		? (size_t)h->cfg.map_initial_bytes : budget;
	int rc = ss_lmdb_open(&h->db, h->cfg.data_dir, 32, initial, budget, err, errlen);

	for (size_t i = 0; rc == 0 && i < hub_n_dbs; i++)
		rc = ss_lmdb_dbi(&h->db, hub_dbs[i].name, 0, hub_db_dbi(h, &hub_dbs[i]), err, errlen);
	return rc;
}
