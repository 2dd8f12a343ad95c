/* hub_policy: the policy table. The chain's manuals fix these numbers and
 * HQ may change them; the defaults are the manuals' (common/ss_policy.c).
 * Rules that use a policy read it inside the ingest transaction, so a
 * complaint's deadlines come from the policy in force when it was registered
 * and never move afterwards. */
#include <errno.h>
#include <string.h>

#include "hub.h"

static const char *const policy_names[] = {
	"stale_account_days", "store_silence_minutes", "first_response_hours",
	"investigation_days", "emergency_response_minutes",
};

static const struct hub_policy policy_defaults = {
	.stale_account_days = 30,
	.store_silence_minutes = 30,
	.first_response_hours = 24,
	.investigation_days = 3,
	.emergency_response_minutes = 60,
};

#define N_POLICIES (sizeof policy_names / sizeof policy_names[0])

static int64_t *field(struct hub_policy *p, size_t i)
{
	int64_t *fields[N_POLICIES] = { &p->stale_account_days, &p->store_silence_minutes,
		&p->first_response_hours, &p->investigation_days, &p->emergency_response_minutes };

	return fields[i];
}

size_t hub_policy_names(const char *const **names)
{
	*names = policy_names;
	return N_POLICIES;
}

int64_t hub_policy_get(const struct hub_policy *p, size_t i)
{
	return *field((struct hub_policy *)p, i);
}

int hub_policy_seed(struct hub *h, MDB_txn *txn)
{
	struct hub_policy d = policy_defaults;

	for (size_t i = 0; i < N_POLICIES; i++) {
		Storesync__PolicyValue v = STORESYNC__POLICY_VALUE__INIT;
		uint8_t buf[32];
		MDB_val k = { strlen(policy_names[i]), (void *)policy_names[i] }, d2;
		int rc;

		v.value = *field(&d, i);
		v.has_value = 1;
		d2.mv_size = storesync__policy_value__pack(&v, buf);
		d2.mv_data = buf;
		rc = mdb_put(txn, h->policy, &k, &d2, MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST)
			return rc;
	}
	return 0;
}

int hub_policy_load(struct hub *h, MDB_txn *txn, struct hub_policy *p)
{
	*p = policy_defaults;
	for (size_t i = 0; i < N_POLICIES; i++) {
		MDB_val k = { strlen(policy_names[i]), (void *)policy_names[i] }, d;
		Storesync__PolicyValue *v;
		int rc = mdb_get(txn, h->policy, &k, &d);

		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		v = storesync__policy_value__unpack(NULL, d.mv_size, d.mv_data);
		if (v && v->has_value)
			*field(p, i) = v->value;
		if (v)
			storesync__policy_value__free_unpacked(v, NULL);
	}
	return 0;
}
