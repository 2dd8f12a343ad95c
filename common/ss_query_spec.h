/* ss_query_spec: every operator command, its filters and its help, declared
 * once. hqctl builds its usage text, option parsing and value checks from
 * it; the hub checks each request against the same table, so a command or
 * a filter is added in one place. */
#ifndef SS_QUERY_SPEC_H
#define SS_QUERY_SPEC_H

#include <stddef.h>

struct ss_filter {
	const char *name;          /* --name on the command line, the param key on the wire */
	const char *arg;           /* its value's name for usage ("DAY"); NULL: a flag */
	int (*check)(const char *v);   /* 0 when the value is acceptable; NULL: any */
	const char *help;
};

struct ss_command {
	const char *what;          /* "stores", "price push": QueryRequest.what */
	const char *operand;       /* positional argument ("SKU", "FILE.csv"), NULL: none */
	const char *operand_param; /* the param the operand travels in ("sku") */
	int many;                  /* the operand may repeat (policy set K=V ...) */
	/* Filters it takes, space separated; "state=a|b|c" restricts the values. */
	const char *filters;
	int write;                 /* an operator write, done by the hub's writer */
	const char *help;
};

/* An option a command takes under another param's name (audit's --from
 * is its --since). */
struct ss_alias {
	const char *command, *option, *param;
};

extern const struct ss_command ss_commands[];
extern const size_t ss_n_commands;
extern const struct ss_filter ss_filters[];
extern const size_t ss_n_filters;
extern const struct ss_alias ss_aliases[];
extern const size_t ss_n_aliases;

/* The command named by what ("price push"), or NULL. */
const struct ss_command *ss_command_find(const char *what);
const struct ss_filter *ss_filter_find(const char *name);
/* The param option travels as for cmd: the one it stands for there
 * (ss_aliases), else option itself. */
const char *ss_command_param(const struct ss_command *cmd, const char *option);
/* Checks one param (key, value) of a request for cmd: the operand's param,
 * or a filter the command takes (or an alias of one) with an acceptable
 * value; "at" is taken by every command. 0, or -1 with a one-line reason
 * naming the option as given. */
int ss_command_check_param(const struct ss_command *cmd, const char *key, const char *value,
	char *err, size_t errlen);

/* 1 when cmd takes --at (a view as things stood then); writes and what
 * answers only as things are now do not. */
int ss_command_takes_at(const struct ss_command *cmd);

struct Storesync__QueryParam;

/* Every param of a request for cmd (ss_command_check_param), and across
 * them a period that ends before it starts (--from after --to): 0, or -1
 * with a reason. hqctl and the hub check alike. */
int ss_command_check_params(const struct ss_command *cmd,
	struct Storesync__QueryParam *const *params, size_t n, char *err, size_t errlen);

#endif
