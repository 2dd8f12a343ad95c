/* ss_policy: the policy table. Defaults are the chain manuals' figures (the
 * complaint office's deadlines, the receivables rule) or, where the manuals
 * name a rule but not a number (return window, discount, authority, credit
 * limit), a conservative value HQ is expected to set. */
#include "ss_policy.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ss_validate.h"

static const struct ss_policy_def defs[SS_POL_N] = {
	[SS_POL_FIRST_RESPONSE_HOURS] = { "first_response_hours", "hours", 1, 720, 24,
		"a complaint must get its first response within this" },
	[SS_POL_INVESTIGATION_DAYS] = { "investigation_days", "days", 1, 90, 3,
		"a complaint's investigation report is due this long after registration" },
	[SS_POL_EMERGENCY_RESPONSE_MINUTES] = { "emergency_response_minutes", "minutes", 1, 1440,
		60, "an emergency complaint must be answered within this" },
	[SS_POL_STALE_ACCOUNT_DAYS] = { "stale_account_days", "days", 1, 3650, 30,
		"an account owed for longer (since its last payment, or its oldest charge "
		"not paid) is stale" },
	[SS_POL_STORE_SILENCE_MINUTES] = { "store_silence_minutes", "minutes", 1, 10080, 30,
		"a store whose records stop arriving for longer is silent" },
	[SS_POL_RETURN_WINDOW_DAYS] = { "return_window_days", "days", 0, 365, 7,
		"a return is refused when its original receipt is older than this" },
	[SS_POL_MAX_DISCOUNT_PERCENT] = { "max_discount_percent", "percent", 0, 100, 30,
		"a sale line's discount may not exceed this share of the line" },
	[SS_POL_STORE_REFUND_AUTHORITY_FEN] = { "store_refund_authority_fen", "fen", 0,
		SS_MAX_FEN, 50000, "refunds and complaint compensation above this need an HQ approval reference" },
	[SS_POL_CREDIT_LIMIT_FEN] = { "credit_limit_fen", "fen", 0, SS_MAX_FEN, 5000000,
		"an on-account sale may not take an account's balance past this" },
};

const struct ss_policy_def *ss_policy_def(enum ss_policy_id id)
{
	return (unsigned)id < SS_POL_N ? &defs[id] : NULL;
}

int ss_policy_find(const char *name)
{
	for (int i = 0; name && i < SS_POL_N; i++)
		if (strcmp(defs[i].name, name) == 0)
			return i;
	return -1;
}

void ss_policy_defaults(struct ss_policy *p)
{
	for (int i = 0; i < SS_POL_N; i++)
		p->v[i] = defs[i].def;
}

int ss_policy_check(enum ss_policy_id id, int64_t value, char *err, size_t errlen)
{
	const struct ss_policy_def *d = ss_policy_def(id);

	if (!d) {
		snprintf(err, errlen, "unknown policy");
		return -1;
	}
	if (value < d->min || value > d->max) {
		snprintf(err, errlen, "%s must be %" PRId64 "..%" PRId64 " (%s), not %" PRId64,
			d->name, d->min, d->max, d->unit, value);
		return -1;
	}
	return 0;
}
