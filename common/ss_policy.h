/* ss_policy: the policies HQ sets and every part of storesync applies, by
 * name, with their units, ranges and the chain manuals' defaults. One table
 * (ss_policy.c) serves the hub (validation, history, rules), the agent
 * (what it enforces at the till, offline) and the command lines (help,
 * output), so a policy is added in one place. */
#ifndef SS_POLICY_H
#define SS_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum ss_policy_id {
	SS_POL_FIRST_RESPONSE_HOURS,
	SS_POL_INVESTIGATION_DAYS,
	SS_POL_EMERGENCY_RESPONSE_MINUTES,
	SS_POL_STALE_ACCOUNT_DAYS,
	SS_POL_STORE_SILENCE_MINUTES,
	SS_POL_RETURN_WINDOW_DAYS,
	SS_POL_MAX_DISCOUNT_PERCENT,
	SS_POL_STORE_REFUND_AUTHORITY_FEN,
	SS_POL_CREDIT_LIMIT_FEN,
	SS_POL_N
};

struct ss_policy_def {
	const char *name;     /* the key operators type: "first_response_hours" */
	const char *unit;     /* "hours", "days", "minutes", "percent", "fen" */
	int64_t min, max;     /* inclusive range of accepted values */
	int64_t def;          /* the manuals' value, in force until HQ sets one */
	const char *help;     /* one line */
};

/* Values of every policy, indexed by enum ss_policy_id. */
struct ss_policy {
	int64_t v[SS_POL_N];
};

const struct ss_policy_def *ss_policy_def(enum ss_policy_id id);
/* The id of name, or -1 when no policy has that name. */
int ss_policy_find(const char *name);
/* Every policy at its default. */
void ss_policy_defaults(struct ss_policy *p);
/* Checks value for policy id; 0, or -1 with a one-line reason naming the
 * range ("max_discount_percent must be 0..100 (percent), not 150"). */
int ss_policy_check(enum ss_policy_id id, int64_t value, char *err, size_t errlen);

#endif
