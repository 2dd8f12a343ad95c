/* hub_policy: the policy in force, from the policy history.
 *
 * HQ sets policies with an effective time and a target (hqctl policy set);
 * every value ever set is kept in "policy_history" (hub_updates.c's dated
 * values) and nothing is overwritten. A rule asks for the policy in force
 * for one store at one moment: a complaint's deadlines use the policy in
 * force at its registration time (the record's own business time), counting
 * only what HQ had issued by the time the store recorded it, so a complaint
 * registered offline before a policy change keeps the old deadlines and two
 * hubs given the same records and the same decisions agree. Without a set
 * value, ss_policy's default applies. */
#include <string.h>

#include "hub.h"
#include "hub_updates.h"

int64_t hub_policy_value(struct hub *h, MDB_txn *txn, struct hub_target_cache *c,
	enum ss_policy_id id, const char *store, const char *region, int64_t at_ms,
	int64_t issued_by_ms)
{
	struct hub_dated d;

	if (hub_dated_find(h, txn, c, h->policy_history, ss_policy_def(id)->name, store, region,
		at_ms, issued_by_ms, &d) == 1)
		return d.value;
	return ss_policy_def(id)->def;
}

void hub_policy_for(struct hub *h, MDB_txn *txn, struct hub_target_cache *c, const char *store,
	const char *region, int64_t at_ms, int64_t issued_by_ms, struct ss_policy *p)
{
	for (int i = 0; i < SS_POL_N; i++)
		p->v[i] = hub_policy_value(h, txn, c, (enum ss_policy_id)i, store, region, at_ms,
			issued_by_ms);
}

struct min_scan {
	int64_t at_ms, min;
};

static int min_entry(void *arg, const struct hub_dated *d)
{
	struct min_scan *m = arg;

	if (d->effective_ms <= m->at_ms && d->value < m->min)
		m->min = d->value;
	return 0;
}

int64_t hub_policy_min(struct hub *h, MDB_txn *txn, enum ss_policy_id id, int64_t at_ms)
{
	struct min_scan m = { at_ms, ss_policy_def(id)->def };

	/* Every value that may be in force somewhere at at_ms, and the default:
	 * a lower bound for the scans that cut an index off at it. */
	hub_dated_each(txn, h->policy_history, ss_policy_def(id)->name, min_entry, &m);
	return m.min;
}

struct scoped_scan {
	struct hub *h;
	MDB_txn *txn;
	int scoped;
};

static int scoped_entry(void *arg, const struct hub_dated *d)
{
	struct scoped_scan *s = arg;

	/* Included with no store given means: an entry for all stores. */
	if (!hub_update_includes(s->h, s->txn, NULL, d->update_id, NULL, NULL)) {
		s->scoped = 1;
		return 1;   /* stop */
	}
	return 0;
}

int hub_policy_scoped(struct hub *h, MDB_txn *txn, enum ss_policy_id id)
{
	struct scoped_scan s = { h, txn, 0 };

	hub_dated_each(txn, h->policy_history, ss_policy_def(id)->name, scoped_entry, &s);
	return s.scoped;
}
