/* ss_query_spec: the table of operator commands and filters. */
#include "ss_query_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_curve.h"
#include "ss_proto.h"
#include "ss_time.h"
#include "ss_validate.h"

/* Days and times an operator names lie in the range records do
 * (ss_validate_time_ms), so no age or deadline computed from them overflows. */
static int check_day(const char *v)
{
	int32_t day;

	return ss_time_parse_day(v, &day) == 0 ? ss_validate_day(day) : -1;
}

static int check_time(const char *v)
{
	int64_t ms;

	return ss_time_parse(v, &ms) == 0 ? ss_validate_time_ms(ms) : -1;
}

static int check_int(const char *v)
{
	char *end;

	(void)strtoll(v, &end, 10);
	return end == v || *end ? -1 : 0;
}

static int check_positive(const char *v)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	return end == v || *end || n <= 0 ? -1 : 0;
}

static int check_store_list(const char *v)
{
	char id[40];

	for (const char *p = v; ; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == 0 || len >= sizeof id)
			return -1;
		memcpy(id, p, len);
		id[len] = '\0';
		if (ss_validate_store_id(id) != 0)
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int check_label(const char *v)
{
	return ss_validate_label(v, 200);
}

static int check_key(const char *v)
{
	return ss_curve_key_valid(v);
}

const struct ss_filter ss_filters[] = {
	{ "store", "S", ss_validate_store_id, "only store S" },
	{ "sku", "SKU", ss_validate_sku, "only this SKU" },
	{ "from", "DAY", check_day, "from this store-local day (YYYY-MM-DD, 2000..2099)" },
	{ "to", "DAY", check_day, "to this store-local day, inclusive" },
	{ "by", "PERIOD", NULL, "day, week or month" },
	{ "below", "N", check_int, "on hand below N" },
	{ "state", "STATE", NULL, "only in this state" },
	{ "overdue", NULL, NULL, "only cases past a deadline" },
	{ "late", NULL, NULL, "only cases that missed a deadline, even if answered later" },
	{ "stale", NULL, NULL, "only stale accounts" },
	{ "aging", NULL, NULL, "aging buckets instead of accounts" },
	{ "region", "R", ss_validate_region,
		"the stores of region R (store add, set: the store's region)" },
	{ "stores", "LIST", check_store_list, "for these stores (S1,S2,...)" },
	{ "effective", "TIME", check_time, "takes effect at TIME (default: now; 2000..2099)" },
	{ "dry_run", NULL, NULL, "check and count, change nothing" },
	{ "full", NULL, NULL, "send every price, not only the changed ones" },
	{ "update", "ID", check_positive, "only update ID" },
	{ "kind", "KIND", NULL, "price, policy, notice or decision" },
	{ "name", "NAME", check_label, "the store's name" },
	{ "qty", "N", check_positive, "approved quantity (default: as requested)" },
	{ "note", "TEXT", check_label, "a note (replenish: for the store)" },
	{ "at", "TIME", check_time, "as at TIME: later records do not count (2000..2099)" },
	{ "key", "FILE", check_key, "a CurveZMQ public key (a .pub file, or its 40 characters)" },
	{ "role", "ROLE", NULL, "read or admin" },
	{ "since", "TIME", check_time, "from TIME on (2000..2099)" },
	{ "who", "NAME", check_label, "only this operator's" },
	{ "position", "N", check_int, "(hq-export) the change exported through" },
	{ "events", "N", check_int, "(hq-export) events exported in all" },
};

const size_t ss_n_filters = sizeof ss_filters / sizeof ss_filters[0];

const struct ss_command ss_commands[] = {
	{ "stores", NULL, NULL, 0, "store region", 0,
		"every store: link, records, backlog, silence, versions applied" },
	{ "sales", NULL, NULL, 0, "store from to by=day|week|month", 0,
		"receipts, sales, refunds, net, by payment method" },
	{ "inventory", NULL, NULL, 0, "store sku below", 0,
		"on hand per store and SKU, out-of-stock days" },
	{ "complaints", NULL, NULL, 0,
		"store state=open|responded|investigating|resolved|closed|unregistered overdue late", 0,
		"cases, deadlines, overdue flags" },
	{ "accounts", NULL, NULL, 0, "store stale aging", 0,
		"receivables: balance, last payment, aging bucket" },
	{ "stale", NULL, NULL, 0, "store", 0,
		"stale accounts, silent stores, overdue complaints, with reasons" },
	{ "policy show", NULL, NULL, 0, "store", 0,
		"the policy in force (for a store), with its scope and range" },
	{ "price show", "SKU", "sku", 0, "store", 0,
		"a SKU's prices: every dated entry, and which is in force" },
	{ "price mismatches", NULL, NULL, 0, "store sku from to", 0,
		"sale lines charged at another price than the one in force" },
	{ "rollout", NULL, NULL, 0, "update kind=price|policy|notice|decision", 0,
		"per update: targeted, applied, pending stores, oldest pending" },
	{ "notices", NULL, NULL, 0, "store", 0,
		"collection notices sent to stores, and whether each store has it" },
	{ "replenish list", NULL, NULL, 0, "store state=pending|approved|refused", 0,
		"stores' emergency replenishment requests and HQ's decisions" },
	{ "store list", NULL, NULL, 0, "store region", 0, "the store registry" },
	{ "operator list", NULL, NULL, 0, "", 0, "operators, their roles and keys" },
	{ "audit", NULL, NULL, 0, "since who", 0,
		"every operator write from TIME on (--from or --since): who, when, what, and what "
		"came of it" },
	{ "stats", NULL, NULL, 0, "", 0, "hub counters: duplicates, gaps, refused input" },
	{ "export status", NULL, NULL, 0, "", 0,
		"how far the PostgreSQL export (hq-export) is behind the hub" },
	{ "export report", NULL, NULL, 0, "position events note", 0,
		"(sent by hq-export) where the export stands" },
	{ "dump", NULL, NULL, 0, "", 0, "every view as (view, key, value): equal hubs, equal dumps" },
	{ "store add", "STORE", "store", 0, "name region key", 1,
		"register a store (with its CurveZMQ public key)" },
	{ "store set", "STORE", "store", 0, "name region", 1, "change a store's name or region" },
	{ "store rekey", "STORE", "store", 0, "key", 1,
		"give a store a new key; the old one is accepted until retire-key" },
	{ "store retire-key", "STORE", "store", 0, "", 1,
		"stop accepting a store's previous key" },
	{ "store revoke", "STORE", "store", 0, "", 1,
		"cut a store off: nothing from its keys is applied or answered (rekey reinstates)" },
	{ "operator add", "NAME", "operator", 0, "key role=read|admin", 1,
		"let an operator in with a key and a role" },
	{ "operator revoke", "NAME", "operator", 0, "", 1, "cut an operator off" },
	{ "store import", "FILE.csv", NULL, 0, "", 1,
		"register stores from CSV store_id,name,region (all or nothing;\n"
		"      an empty name or region leaves a registered store's as it is)" },
	{ "price push", "FILE.csv", NULL, 0, "effective stores region dry_run full", 1,
		"push prices from CSV sku,price_fen[,name] (all or nothing; only changes travel)" },
	{ "policy set", "KEY=VALUE", "set", 1, "effective stores region", 1,
		"set policies (policy show lists keys and ranges)" },
	{ "replenish approve", "STORE:REQUEST", "id", 0, "qty note", 1,
		"approve a replenishment request; the decision goes to that store only" },
	{ "replenish refuse", "STORE:REQUEST", "id", 0, "note", 1,
		"refuse a replenishment request" },
};

const size_t ss_n_commands = sizeof ss_commands / sizeof ss_commands[0];

/* Options that a command takes under another param's name. The audit log
 * is filtered by a time: there --from TIME (a business DAY for the other
 * commands) is the same as --since TIME. */
const struct ss_alias ss_aliases[] = {
	{ "audit", "from", "since" },
};

const size_t ss_n_aliases = sizeof ss_aliases / sizeof ss_aliases[0];

const char *ss_command_param(const struct ss_command *cmd, const char *option)
{
	for (size_t i = 0; cmd && option && i < ss_n_aliases; i++)
		if (strcmp(ss_aliases[i].command, cmd->what) == 0
			&& strcmp(ss_aliases[i].option, option) == 0)
			return ss_aliases[i].param;
	return option;
}

const struct ss_command *ss_command_find(const char *what)
{
	for (size_t i = 0; what && i < ss_n_commands; i++)
		if (strcmp(ss_commands[i].what, what) == 0)
			return &ss_commands[i];
	return NULL;
}

const struct ss_filter *ss_filter_find(const char *name)
{
	for (size_t i = 0; name && i < ss_n_filters; i++)
		if (strcmp(ss_filters[i].name, name) == 0)
			return &ss_filters[i];
	return NULL;
}

/* The filter's entry in cmd->filters ("state=a|b"), or NULL; *choices
 * points at "a|b" (NULL when unrestricted). */
static const char *takes(const struct ss_command *cmd, const char *name, const char **choices)
{
	size_t n = strlen(name);

	*choices = NULL;
	for (const char *p = cmd->filters; (p = strstr(p, name)) != NULL; p += n)
		if ((p == cmd->filters || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0' || p[n] == '=')) {
			if (p[n] == '=')
				*choices = p + n + 1;
			return p;
		}
	return NULL;
}

static int in_choices(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; *p && *p != ' '; ) {
		size_t len = strcspn(p, "| ");

		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p += len;
		if (*p == '|')
			p++;
	}
	return 0;
}

/* --at asks a view as it stood at a moment. A write happens now (a price
 * list or a policy is dated by --effective), and these answer only as
 * they are now: they refuse it rather than ignore it. */
int ss_command_takes_at(const struct ss_command *cmd)
{
	static const char *const now_only[] = { "store list", "operator list", "audit", "stats",
		"dump", "export status", "export report", NULL };

	if (cmd->write)
		return 0;
	for (const char *const *n = now_only; *n; n++)
		if (strcmp(cmd->what, *n) == 0)
			return 0;
	return 1;
}

int ss_command_check_param(const struct ss_command *cmd, const char *key, const char *value,
	char *err, size_t errlen)
{
	const char *param = ss_command_param(cmd, key), *choices = NULL;
	const struct ss_filter *f = ss_filter_find(param);

	if (!value)
		value = "";
	if (cmd->operand_param && strcmp(key, cmd->operand_param) == 0)
		return 0;   /* the operand: the command checks it */
	if (f && strcmp(param, "at") == 0 && !ss_command_takes_at(cmd)) {
		snprintf(err, errlen, "%s does not take --at%s", cmd->what, cmd->write
			? " (a write takes effect when it is made; --effective TIME dates a price "
			"list or a policy)" : ": it answers as things are now");
		return -1;
	}
	if (!f || (strcmp(param, "at") != 0 && !takes(cmd, param, &choices))) {
		snprintf(err, errlen, "%s does not take --%s", cmd->what, key);
		return -1;
	}
	if (choices && !in_choices(choices, value)) {
		snprintf(err, errlen, "--%s: \"%.60s\" is not one of %.*s", key, value,
			(int)strcspn(choices, " "), choices);
		return -1;
	}
	if (f->check && f->check(value) != 0) {
		snprintf(err, errlen, "--%s: bad value \"%.60s\" (%s)", key, value, f->help);
		return -1;
	}
	return 0;
}

int ss_command_check_params(const struct ss_command *cmd,
	struct Storesync__QueryParam *const *params, size_t n, char *err, size_t errlen)
{
	const char *from = NULL, *to = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *key = params[i]->key ? params[i]->key : "", *param;

		if (ss_command_check_param(cmd, key, params[i]->value, err, errlen) != 0)
			return -1;
		param = ss_command_param(cmd, key);
		if (strcmp(param, "from") == 0)
			from = params[i]->value;
		else if (strcmp(param, "to") == 0)
			to = params[i]->value;
	}
	/* YYYY-MM-DD compare as days do. */
	if (from && to && strcmp(from, to) > 0) {
		snprintf(err, errlen, "--from %.10s is after --to %.10s", from, to);
		return -1;
	}
	return 0;
}
