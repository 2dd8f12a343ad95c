/* hub_op_policy: `hqctl policy set KEY=VALUE... [--effective T]
 * [--stores LIST|--region R]`. Every key must be a policy of ss_policy and
 * every value in its range; one bad pair refuses the whole set. The values
 * are added to the policy history (never overwritten) with their effective
 * time and target, and sent down to the targeted stores, which enforce what
 * belongs at the till. Params "set" carry the pairs as "KEY=VALUE". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_op.h"
#include "hub_registry.h"
#include "hub_updates.h"

/* Parses "KEY=VALUE" into a policy id and value; -1 with a reason. */
static int parse_pair(const char *pair, int *id, int64_t *value, char *why, size_t len)
{
	const char *eq = strchr(pair, '=');
	char name[64], *end;

	if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof name)
		return snprintf(why, len, "\"%.60s\" is not KEY=VALUE", pair), -1;
	memcpy(name, pair, (size_t)(eq - pair));
	name[eq - pair] = '\0';
	if ((*id = ss_policy_find(name)) < 0)
		return snprintf(why, len, "unknown policy \"%s\" (hqctl policy show lists them)",
			name), -1;
	*value = strtoll(eq + 1, &end, 10);
	if (end == eq + 1 || *end)
		return snprintf(why, len, "%s: \"%.30s\" is not a whole number", name, eq + 1), -1;
	return ss_policy_check((enum ss_policy_id)*id, *value, why, len);
}

static int policy_admit(struct hub *h, struct hub_work *w)
{
	char why[200], msg[260];
	int seen[SS_POL_N] = { 0 }, n = 0, id;
	int64_t v;

	(void)h;
	for (size_t i = 0; i < w->req->n_params; i++) {
		const Storesync__QueryParam *p = w->req->params[i];

		if (!p->key || strcmp(p->key, "set") != 0)
			continue;
		if (parse_pair(p->value ? p->value : "", &id, &v, why, sizeof why) != 0) {
			snprintf(msg, sizeof msg, "%s; nothing set", why);
			table_fail(w->answer, msg);
			return -1;
		}
		if (seen[id]++) {
			snprintf(msg, sizeof msg, "%s is given twice; nothing set",
				ss_policy_def((enum ss_policy_id)id)->name);
			table_fail(w->answer, msg);
			return -1;
		}
		n++;
	}
	if (n == 0) {
		table_fail(w->answer, "policy set needs at least one KEY=VALUE");
		return -1;
	}
	return 0;
}

static int policy_apply(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w)
{
	Storesync__LoggedUpdate lu = STORESYNC__LOGGED_UPDATE__INIT;
	Storesync__Update u = STORESYNC__UPDATE__INIT;
	Storesync__PolicySet ps = STORESYNC__POLICY_SET__INIT;
	Storesync__PolicyEntry entries[SS_POL_N], *ptrs[SS_POL_N];
	Storesync__Target target;
	char err[200], ids[24], n_targeted[24], eff_text[24], why[200];
	int64_t eff;
	int rc = 0;

	hub_op_answer_reset(w);
	w->update_id = 0;
	if (hub_op_effective(h, w, r->now_ms, &eff) != 0)
		return 0;
	if (hub_target_parse(h, txn, hub_op_param(w->req, "stores"),
		hub_op_param(w->req, "region"), &target, err, sizeof err) != 0)
		return hub_op_refuse(h, w, "%s; nothing set", err);
	for (size_t i = 0; i < w->req->n_params; i++) {
		const Storesync__QueryParam *p = w->req->params[i];
		int id;
		int64_t v;

		if (!p->key || strcmp(p->key, "set") != 0
			|| parse_pair(p->value, &id, &v, why, sizeof why) != 0)
			continue;
		storesync__policy_entry__init(&entries[ps.n_values]);
		entries[ps.n_values].name = (char *)ss_policy_def((enum ss_policy_id)id)->name;
		entries[ps.n_values].value = v;
		entries[ps.n_values].has_value = 1;
		ptrs[ps.n_values] = &entries[ps.n_values];
		ps.n_values++;
	}
	ps.values = ptrs;
	ps.effective_ms = eff;
	ps.has_effective_ms = 1;
	u.body_case = STORESYNC__UPDATE__BODY_POLICIES;
	u.policies = &ps;
	lu.update = &u;
	lu.target = &target;
	lu.entries = (uint32_t)ps.n_values;
	lu.has_entries = 1;
	lu.targeted = hub_target_count(h, txn, &target);
	lu.has_targeted = 1;
	if ((rc = hub_updates_append(h, txn, &lu, r->now_ms)) != 0)
		goto out;
	for (size_t i = 0; i < ps.n_values && rc == 0; i++)
		rc = hub_dated_put(txn, h->policy_history, entries[i].name, eff, u.update_id,
			entries[i].value, NULL, r->now_ms);
	w->update_id = u.update_id;
	snprintf(ids, sizeof ids, "%" PRIu64, u.update_id);
	snprintf(n_targeted, sizeof n_targeted, "%u", lu.targeted);
	snprintf(eff_text, sizeof eff_text, "%" PRId64, eff);
	hub_op_result(w, "update_id", ids, "targeted_stores", n_targeted, "effective_ms",
		eff_text, NULL);
out:
	hub_target_clear(&target);
	return rc;
}

const struct hub_handler hub_op_policy_set = { "policy set", policy_admit, policy_apply,
	hub_op_reply };
