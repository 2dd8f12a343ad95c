/* hqctl: the HQ operators' command line. Every command, its operand and its
 * filters come from the one command table (common/ss_query_spec.c), which
 * the hub checks requests against too: hqctl builds its options and usage
 * text from it, checks values before sending, turns text (CSV files,
 * KEY=VALUE pairs) into the typed request at this edge, sends one
 * QueryRequest through ss_client (endpoint, timeout, the check that a hub
 * answered) and prints the table it gets back: text (default), --json or
 * --csv, shaped by ss_table. The table `views` below says which columns the
 * text form shows first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_arena.h"
#include "ss_client.h"
#include "ss_csv.h"
#include "ss_curve.h"
#include "ss_policy.h"
#include "ss_proto.h"
#include "ss_query_spec.h"
#include "ss_table.h"
#include "ss_version.h"

#define DEFAULT_HUB "tcp://127.0.0.1:7702"
#define MAX_PARAMS 64
#define WRITE_TIMEOUT_S "60"   /* default wait for a write's answer */

static const struct ss_client_kind hub_kind = {
	.prog = "hqctl", .key = "hub", .env = "STORESYNC_HUB", .def = DEFAULT_HUB,
	.service = SS_SERVICE_HUB, .what = "hub query endpoint",
	.identity_env = "STORESYNC_IDENTITY", .server_key_env = "STORESYNC_HUB_KEY",
};

/* The text form's columns per command: what an operator reads first
 * (--wide: all of them). Names are the hub's; a name a reply lacks is
 * skipped, so `accounts` covers `accounts --aging` too. */
static const char *const stores_cols[] = { "store_id", "name", "records", "amount_fen",
	"backlog", "oldest_unsent_age_ms", "last_seen_ms", "last_record_ms", "silent_ms",
	"agent_version", "applied_update_id", "silent", "status", "link", "conflict", NULL };
/* The flag takes the name "silent"; the duration beside it says for how long. */
static const char *const stores_labels[] = { "silent_ms", "silent_for", NULL };
static const char *const sales_cols[] = { "store_id", "period", "receipts", "sales_fen",
	"refunds_fen", "contract_total_fen", "net_fen", NULL };
static const char *const inventory_cols[] = { "store_id", "sku", "on_hand",
	"out_of_stock_days", "last_move_ms", NULL };
static const char *const complaints_cols[] = { "case_no", "store_id", "state", "category",
	"registered_ms", "respond_by_ms", "report_by_ms", "overdue", NULL };
static const char *const accounts_cols[] = { "account", "owner_store", "customer",
	"balance_fen", "last_payment_ms", "age_days", "aging", "stale", "accounts", NULL };
static const char *const stale_cols[] = { "kind", "id", "store_id", "age_ms", "reason", NULL };
static const char *const policy_cols[] = { "name", "value", "unit", "scope", "effective_ms",
	NULL };
static const char *const price_cols[] = { "sku", "price_fen", "name", "effective_ms", "scope",
	"in_force", NULL };
static const char *const rollout_cols[] = { "update_id", "kind", "created_ms", "target",
	"targeted", "applied", "pending", "oldest_pending_store", "oldest_pending_for_ms", NULL };
static const char *const notices_cols[] = { "account", "store_id", "balance_fen", "age_days",
	"issued_ms", "delivered", NULL };
static const char *const replenish_cols[] = { "id", "sku", "quantity", "reason", "state",
	"approved_quantity", "delivered", NULL };

static const struct {
	const char *command;
	struct ss_table_view view;
} views[] = {
	{ "stores", { stores_cols, stores_labels, 0 } }, { "sales", { sales_cols, NULL, 1 } },
	{ "inventory", { inventory_cols, NULL, 0 } },
	{ "complaints", { complaints_cols, NULL, 0 } },
	{ "accounts", { accounts_cols, NULL, 0 } }, { "stale", { stale_cols, NULL, 0 } },
	{ "policy show", { policy_cols, NULL, 0 } }, { "price show", { price_cols, NULL, 0 } },
	{ "rollout", { rollout_cols, NULL, 0 } }, { "notices", { notices_cols, NULL, 0 } },
	{ "replenish list", { replenish_cols, NULL, 0 } },
};

/* The text view of command: its narrow columns, or all of them when wide. */
static struct ss_table_view view_of(const char *command, int wide)
{
	struct ss_table_view v = { NULL, NULL, 0 };

	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
		if (strcmp(views[i].command, command) == 0)
			v = views[i].view;
	if (wide)
		v.columns = NULL;
	return v;
}

/* "dry_run" -> "dry-run": a filter's name on the command line. */
static void option_name(const char *filter, char *buf, size_t len)
{
	snprintf(buf, len, "%s", filter);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* One filter of a command's filters string ("store region=a|b ..."): its
 * name, and its choices ("a|b", "" when any value goes); returns where the
 * next one starts. */
static const char *next_filter(const char *p, char *name, size_t nlen, char *choices,
	size_t clen)
{
	size_t len = strcspn(p, " "), base = strcspn(p, " =");

	snprintf(name, nlen, "%.*s", (int)(base < nlen ? base : 0), p);
	snprintf(choices, clen, "%.*s",
		(int)(base < len && len - base - 1 < clen ? len - base - 1 : 0), p + base + 1);
	p += len;
	while (*p == ' ')
		p++;
	return p;
}

static void usage_command(FILE *out, const struct ss_command *c)
{
	char line[256], opt[40];
	size_t n = (size_t)snprintf(line, sizeof line, "  %s", c->what);

	if (c->operand)
		n += (size_t)snprintf(line + n, sizeof line - n, " %s%s", c->operand,
			c->many ? "..." : "");
	for (size_t i = 0; i < ss_n_aliases && n < sizeof line; i++) {
		const struct ss_filter *f = ss_filter_find(ss_aliases[i].param);

		if (strcmp(ss_aliases[i].command, c->what) == 0 && f)
			n += (size_t)snprintf(line + n, sizeof line - n, " [--%s %s]",
				ss_aliases[i].option, f->arg ? f->arg : "");
	}
	for (const char *p = c->filters; *p && n < sizeof line; ) {
		char name[40], choices[120];
		const struct ss_filter *f;

		p = next_filter(p, name, sizeof name, choices, sizeof choices);
		f = ss_filter_find(name);
		option_name(name, opt, sizeof opt);
		if (choices[0])   /* restricted: show the choices */
			n += (size_t)snprintf(line + n, sizeof line - n, " [--%s %s]", opt, choices);
		else
			n += (size_t)snprintf(line + n, sizeof line - n, " [--%s%s%s]", opt,
				f && f->arg ? " " : "", f && f->arg ? f->arg : "");
	}
	fprintf(out, "%s\n      %s\n", line, c->help);
}

#define KEYGEN_HELP \
	"  keygen FILE\n" \
	"      write an operator's CurveZMQ key pair: FILE (secret) and FILE.pub\n"
#define VERSIONS_HELP \
	"  versions [--region R] [...the filters of stores]\n" \
	"      the stores per agent version (newest first) and which they are: the\n" \
	"      fleet during a rollout (deploy/rollout)\n"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hqctl [--hub ENDPOINT] COMMAND [OPERAND] [FILTERS] [--json|--csv|--wide]\n"
		"Ask or instruct the storesync hub (default query endpoint " DEFAULT_HUB ").\n\n"
		"Commands (the views also take --at TIME: as things stood then):\n");
	for (size_t i = 0; i < ss_n_commands; i++)
		usage_command(out, &ss_commands[i]);
	fprintf(out,
		"\nOptions:\n"
		"  -H, --hub ENDPOINT   hub's query endpoint; else $STORESYNC_HUB, else \"hub\"\n"
		"                       in ~/.config/storesync/hqctl.ini ([hqctl] section),\n"
		"                       else the default\n"
		"  -i, --identity FILE  your operator key pair (hqctl keygen); else\n"
		"                       $STORESYNC_IDENTITY, else \"identity\" in hqctl.ini\n"
		"  -k, --hub-key KEY    the hub's public key (40 characters or a .pub file); else\n"
		"                       $STORESYNC_HUB_KEY, else \"hub_key\" in hqctl.ini. With\n"
		"                       both, hqctl speaks CurveZMQ (the hub's query endpoint\n"
		"                       needs it); with neither, plaintext (the admin socket).\n"
		"                       --identity \"\" speaks plaintext whatever the\n"
		"                       environment and hqctl.ini say\n"
		"  -t, --timeout S      seconds to wait for the answer (default 5, 60 for the\n"
		"                       writes; also \"timeout\" in hqctl.ini for the queries)\n"
		"      --json           one JSON document (an array of objects): every column,\n"
		"                       ms and fen, null for never, true/false for flags\n"
		"      --csv            CSV with a header line, the same units\n"
		"  -w, --wide           text: every column (default: the main ones)\n"
		"      --at TIME        as at TIME: records dated later do not count, and ages,\n"
		"                       deadlines and prices are judged at TIME instead of now\n"
		"      --version        print the version and exit\n"
		"  -h, --help           this text; hqctl help COMMAND or COMMAND --help: that\n"
		"                       command's lines only\n\n"
		KEYGEN_HELP VERSIONS_HELP "\n"
		"TIME is Unix ms or YYYY-MM-DD[THH:MM[:SS]], UTC unless an offset follows\n"
		"(Z, +08:00, +0800, +08, -05:00): 2026-12-31T18:00+08:00 is 10:00 UTC. DAY\n"
		"is YYYY-MM-DD, the store's local business day. Text shows times in your\n"
		"time zone (TZ), durations as 3d 4h, money as yuan. A price list is CSV with\n"
		"the header sku,price_fen[,name]; a store list store_id,name,region. A file\n"
		"with a bad line is refused whole, every bad line numbered.\n\n"
		"Exit status: 0 done, 1 the hub refused (reason on stderr) or a file had bad\n"
		"lines, 2 usage error, 3 could not reach the hub (connection refused, no\n"
		"socket, no answer in time, or the endpoint is not a hub query endpoint).\n");
}

/* One filter's line under a command's help. */
static void usage_filter(FILE *out, const char *option, const struct ss_filter *f,
	const char *choices, const char *same_as)
{
	char opt[40], left[80];

	option_name(option, opt, sizeof opt);
	if (choices)
		snprintf(left, sizeof left, "--%s %s", opt, choices);
	else
		snprintf(left, sizeof left, "--%s%s%s", opt, f->arg ? " " : "", f->arg ? f->arg : "");
	/* A long left side (a state's choices) gets a line of its own. */
	if (strlen(left) > 20)
		fprintf(out, "      %s\n      %-20s ", left, "");
	else
		fprintf(out, "      %-20s ", left);
	if (same_as)
		fprintf(out, "the same as --%s: %s\n", same_as, f->help);
	else
		fprintf(out, "%s\n", f->help);
}

/* `hqctl help WORDS` and `hqctl WORDS --help`: the lines of the command the
 * words name ("sales", "price push"), or of every command starting with the
 * first word ("store", "price"), each with its filters. 0, or 2 when no
 * command matches. */
static int usage_for(int argc, char **argv)
{
	char two[64];
	size_t n = 0, first = 0;
	const struct ss_command *exact = NULL;

	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "keygen") == 0 || strcmp(argv[0], "versions") == 0) {
		fputs(strcmp(argv[0], "keygen") == 0 ? KEYGEN_HELP : VERSIONS_HELP, stdout);
		goto tail;
	}
	if (argc >= 2) {
		snprintf(two, sizeof two, "%s %s", argv[0], argv[1]);
		exact = ss_command_find(two);
	}
	if (!exact)
		exact = ss_command_find(argv[0]);
	first = strlen(argv[0]);
	for (size_t i = 0; i < ss_n_commands; i++) {
		const struct ss_command *c = &ss_commands[i];

		if (exact ? c != exact : strncmp(c->what, argv[0], first) != 0 || c->what[first] != ' ')
			continue;
		if (n++ == 0)
			fputs("Usage: hqctl [OPTIONS] COMMAND [OPERAND] [FILTERS]\n", stdout);
		usage_command(stdout, c);
		for (size_t j = 0; j < ss_n_aliases; j++) {
			const struct ss_filter *f = ss_filter_find(ss_aliases[j].param);

			if (strcmp(ss_aliases[j].command, c->what) == 0 && f)
				usage_filter(stdout, ss_aliases[j].option, f, NULL, ss_aliases[j].param);
		}
		for (const char *p = c->filters; *p; ) {
			char name[40], choices[120];
			const struct ss_filter *f;

			p = next_filter(p, name, sizeof name, choices, sizeof choices);
			if ((f = ss_filter_find(name)))
				usage_filter(stdout, name, f, choices[0] ? choices : NULL, NULL);
		}
		if (ss_command_takes_at(c))
			usage_filter(stdout, "at", ss_filter_find("at"), NULL, NULL);
	}
	if (n == 0) {
		fprintf(stderr, "hqctl: unknown command \"%s%s%s\" (try --help)\n", argv[0],
			argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return 2;
	}
tail:
	fputs("hqctl --help: every command; the options (--hub, --identity, --json, --csv,\n"
		"--wide...), TIME and DAY, and the exit status.\n", stdout);
	return 0;
}

/* ---- the request being built ---- */

struct request {
	Storesync__QueryRequest req;
	Storesync__QueryParam pv[MAX_PARAMS], *pp[MAX_PARAMS];
	int fmt, wide, help;
	const char *hub, *timeout, *identity, *hub_key;
};

static int add_param(struct request *r, const char *key, const char *value)
{
	size_t n = r->req.n_params;

	if (n == MAX_PARAMS) {
		fprintf(stderr, "hqctl: too many options\n");
		return -1;
	}
	storesync__query_param__init(&r->pv[n]);
	r->pv[n].key = (char *)key;
	r->pv[n].value = (char *)value;
	r->pp[n] = &r->pv[n];
	r->req.params = r->pp;
	r->req.n_params = n + 1;
	return 0;
}

enum { OPT_JSON = 256, OPT_CSV, OPT_VERSION, OPT_FILTER };

/* getopt's table: the global options, then one per filter. */
static struct option *build_options(void)
{
	static const struct option global[] = {
		{ "hub", required_argument, 0, 'H' }, { "timeout", required_argument, 0, 't' },
		{ "identity", required_argument, 0, 'i' }, { "hub-key", required_argument, 0, 'k' },
		{ "json", no_argument, 0, OPT_JSON }, { "csv", no_argument, 0, OPT_CSV },
		{ "wide", no_argument, 0, 'w' }, { "version", no_argument, 0, OPT_VERSION },
		{ "help", no_argument, 0, 'h' },
	};
	size_t ng = sizeof global / sizeof global[0];
	struct option *o = calloc(ng + ss_n_filters + 1, sizeof *o);
	static char names[64][40];

	if (!o || ss_n_filters > 64)
		return NULL;
	memcpy(o, global, sizeof global);
	for (size_t i = 0; i < ss_n_filters; i++) {
		option_name(ss_filters[i].name, names[i], sizeof names[i]);
		o[ng + i].name = names[i];
		o[ng + i].has_arg = ss_filters[i].arg ? required_argument : no_argument;
		o[ng + i].val = OPT_FILTER + (int)i;
	}
	return o;
}

/* Options into r; the words that are not options stay in argv[optind..].
 * 0, 1 after --help/--version, 2 on a usage error. */
static int parse_options(int argc, char **argv, struct request *r)
{
	struct option *opts = build_options();
	int o, rc = 0;

	if (!opts)
		return 2;
	while (rc == 0 && (o = getopt_long(argc, argv, "H:t:i:k:wh", opts, NULL)) != -1) {
		switch (o) {
		case 'H': r->hub = optarg; break;
		case 't': r->timeout = optarg; break;
		case 'i': r->identity = optarg; break;
		case 'k': r->hub_key = optarg; break;
		case 'w': r->wide = 1; break;
		case OPT_JSON: r->fmt = SS_TABLE_JSON; break;
		case OPT_CSV: r->fmt = SS_TABLE_CSV; break;
		case OPT_VERSION: ss_version_print("hqctl"); rc = 1; break;
		case 'h': r->help = 1; break;   /* after the words: whose help */
		default:
			if (o >= OPT_FILTER && (size_t)(o - OPT_FILTER) < ss_n_filters) {
				if (add_param(r, ss_filters[o - OPT_FILTER].name, optarg ? optarg : "1") != 0)
					rc = 2;
				break;
			}
			rc = 2;   /* getopt said which option, in one line */
		}
	}
	free(opts);
	return rc;
}

/* The command named by the first one or two words; *words says how many. */
static const struct ss_command *find_command(int argc, char **argv, int *words)
{
	char two[64];

	if (argc >= 2) {
		snprintf(two, sizeof two, "%s %s", argv[0], argv[1]);
		if (ss_command_find(two)) {
			*words = 2;
			return ss_command_find(two);
		}
	}
	*words = 1;
	return argc >= 1 ? ss_command_find(argv[0]) : NULL;
}

/* ---- operands ---- */

static FILE *open_input(const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");

	if (!in)
		fprintf(stderr, "hqctl: cannot open %s\n", path);
	return in;
}

static int report_bad_lines(const char *path, struct ss_csv_errors *e, const char *what)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "hqctl: %s: %s\n", path, e->lines[i]);
	fprintf(stderr, "hqctl: %s: %zu bad line%s; nothing %s\n", path, e->n,
		e->n == 1 ? "" : "s", what);
	ss_csv_errors_free(e);
	return 1;
}

/* FILE.csv into the request; 0, 1 (bad lines, reported) or 2. */
static int read_csv_operand(struct request *r, const struct ss_command *cmd, const char *path)
{
	struct ss_csv_errors e = { 0 };
	FILE *in = open_input(path);
	int rc;

	if (!in)
		return 1;
	if (strcmp(cmd->what, "price push") == 0)
		rc = ss_price_csv_read(in, &r->req.prices, &r->req.n_prices, &e);
	else
		rc = ss_store_csv_read(in, &r->req.stores, &r->req.n_stores, &e);
	if (in != stdin)
		fclose(in);
	if (rc != 0)
		return report_bad_lines(path, &e, strcmp(cmd->what, "price push") == 0
			? "pushed" : "imported");
	return 0;
}

/* KEY=VALUE checked against the policy table, so a typo is a usage error. */
static int check_policy_pair(const char *pair)
{
	const char *eq = strchr(pair, '=');
	char name[64], why[200], *end;
	long long v;
	int id;

	if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof name) {
		fprintf(stderr, "hqctl: \"%s\" is not KEY=VALUE\n", pair);
		return 2;
	}
	snprintf(name, sizeof name, "%.*s", (int)(eq - pair), pair);
	if ((id = ss_policy_find(name)) < 0) {
		fprintf(stderr, "hqctl: unknown policy \"%s\" (hqctl policy show lists them)\n", name);
		return 2;
	}
	v = strtoll(eq + 1, &end, 10);
	if (end == eq + 1 || *end) {
		fprintf(stderr, "hqctl: %s: \"%s\" is not a whole number\n", name, eq + 1);
		return 2;
	}
	if (ss_policy_check((enum ss_policy_id)id, v, why, sizeof why) != 0) {
		fprintf(stderr, "hqctl: %s\n", why);
		return 2;
	}
	return 0;
}

/* The operands (after the command's words) into the request: 0, 1 or 2. */
static int take_operands(struct request *r, const struct ss_command *cmd, int n, char **args)
{
	int rc;

	if (!cmd->operand && n > 0) {
		fprintf(stderr, "hqctl: unexpected argument \"%s\" after \"%s\" (try --help)\n",
			args[0], cmd->what);
		return 2;
	}
	if (cmd->operand && (n == 0 || (n > 1 && !cmd->many))) {
		fprintf(stderr, "hqctl: %s takes %s%s (try --help)\n", cmd->what,
			cmd->many ? "one or more " : "one ", cmd->operand);
		return 2;
	}
	if (!cmd->operand)
		return 0;
	if (!cmd->operand_param)   /* a file */
		return read_csv_operand(r, cmd, args[0]);
	for (int i = 0; i < n; i++) {
		if (strcmp(cmd->operand_param, "set") == 0 && (rc = check_policy_pair(args[i])) != 0)
			return rc;
		if (add_param(r, cmd->operand_param, args[i]) != 0)
			return 2;
	}
	return 0;
}

/* --key FILE: the public key it holds travels, not the file name. */
static int load_keys(struct request *r, char keys[][SS_CURVE_KEY_CHARS + 1])
{
	char err[256];

	for (size_t i = 0; i < r->req.n_params; i++) {
		if (strcmp(r->req.params[i]->key, "key") != 0)
			continue;
		if (ss_curve_load_public(r->req.params[i]->value, keys[i], err, sizeof err) != 0) {
			fprintf(stderr, "hqctl: --key: %s\n", err);
			return 2;
		}
		r->req.params[i]->value = keys[i];
	}
	return 0;
}

/* Every filter given is one the command takes, with a good value; an
 * alias (audit --from) travels as the param it stands for. */
static int check_filters(struct request *r, const struct ss_command *cmd)
{
	char err[256];

	if (ss_command_check_params(cmd, r->req.params, r->req.n_params, err, sizeof err) != 0) {
		fprintf(stderr, "hqctl: %s\n", err);
		return 2;
	}
	/* Sent under the hub's names (audit's --from is its since). */
	for (size_t i = 0; i < r->req.n_params; i++)
		r->req.params[i]->key = (char *)ss_command_param(cmd, r->req.params[i]->key);
	return 0;
}

/* ---- asking ---- */

/* The reply is unpacked into mem (ss_arena_release frees it). */
static int ask(struct request *r, struct ss_arena *mem, Storesync__QueryReply **reply)
{
	struct ss_client client;
	char err[512];
	int rc = ss_client_init(&client, &hub_kind, r->hub, r->timeout, err, sizeof err);

	if (rc == SS_EXIT_OK)
		rc = ss_client_set_curve(&client, r->identity, r->hub_key, err, sizeof err);
	if (rc != SS_EXIT_OK) {
		fprintf(stderr, "hqctl: %s\n", err);
		return rc;
	}
	/* Answers (a dump, a month of daily sales for every store) may be far
	 * larger than a link message: the hub is trusted here. */
	client.max_reply_bytes = -1;
	client.arena = mem;
	rc = ss_client_open(&client, err, sizeof err);
	if (rc == SS_EXIT_OK)
		rc = ss_client_query(&client, &r->req, reply, err, sizeof err);
	ss_client_close(&client);
	if (rc != SS_EXIT_OK)
		fprintf(stderr, "hqctl: %s\n", err);
	return rc;
}

static int run(struct request *r, const struct ss_command *cmd)
{
	Storesync__QueryReply *reply;
	struct ss_table_view view;
	struct ss_arena mem;
	int rc;

	r->req.what = (char *)cmd->what;
	/* A write is answered after the hub committed it; a big price list
	 * takes a while on a slow disk. */
	if (cmd->write && !r->timeout)
		r->timeout = WRITE_TIMEOUT_S;
	ss_arena_init(&mem, 0);
	if ((rc = ask(r, &mem, &reply)) != SS_EXIT_OK) {
		ss_arena_release(&mem);
		return rc;
	}
	if (reply->error) {
		fprintf(stderr, "hqctl: %s\n", reply->error);
		rc = SS_EXIT_REFUSED;
	} else {
		view = view_of(cmd->what, r->wide);
		rc = ss_table_print(stdout, reply, r->fmt, &view) == 0 ? 0 : 1;
	}
	ss_arena_release(&mem);
	return rc;
}

/* ---- versions: the fleet by agent version, from `stores` ---- */

struct version_group {
	const char *version;   /* the reply's string; "" never heard from */
	size_t n;
	char *ids;             /* "S001,S002" */
};

static int column_of(const Storesync__QueryReply *reply, const char *name)
{
	for (size_t i = 0; i < reply->n_columns; i++)
		if (strcmp(reply->columns[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *cell_text(const Storesync__QueryReply *reply, size_t row, int col)
{
	const Storesync__Cell *c = reply->rows[row]->cells[col];

	return c->value_case == STORESYNC__CELL__VALUE_S ? c->s : "";
}

static int group_cmp(const void *a, const void *b)
{
	const struct version_group *x = a, *y = b;

	/* Newest first, never-heard-from last. */
	if (!x->version[0] || !y->version[0])
		return !x->version[0] - !y->version[0];
	return strverscmp(y->version, x->version);
}

/* Appends store id to g's list; -1 when out of memory. */
static int group_add(struct version_group *g, const char *id)
{
	size_t have = g->ids ? strlen(g->ids) : 0;
	char *ids = realloc(g->ids, have + strlen(id) + 2);

	if (!ids)
		return -1;
	snprintf(ids + have, strlen(id) + 2, "%s%s", have ? "," : "", id);
	g->ids = ids;
	g->n++;
	return 0;
}

/* The stores answer regrouped: one row per agent version (newest first),
 * its number of stores and their ids. */
static int print_versions(const Storesync__QueryReply *stores, int fmt)
{
	static char *cols[] = { "agent_version", "stores", "store_ids" };
	int vcol = column_of(stores, "agent_version"), idcol = column_of(stores, "store_id");
	struct version_group *g = calloc(stores->n_rows + 1, sizeof *g);
	size_t n = 0;
	int rc = 1;

	if (!g || vcol < 0 || idcol < 0) {
		fprintf(stderr, "hqctl: %s\n", g ? "the hub's stores answer has no agent_version"
			: "out of memory");
		free(g);
		return 1;
	}
	for (size_t r = 0; r < stores->n_rows; r++) {
		const char *v = cell_text(stores, r, vcol);
		size_t i = 0;

		while (i < n && strcmp(g[i].version, v) != 0)
			i++;
		g[i].version = v;
		n += i == n;
		if (group_add(&g[i], cell_text(stores, r, idcol)) != 0)
			goto out;
	}
	qsort(g, n, sizeof *g, group_cmp);
	{
		Storesync__QueryReply out = STORESYNC__QUERY_REPLY__INIT;
		Storesync__Row rows[n ? n : 1], *rowp[n ? n : 1];
		Storesync__Cell cells[n ? n : 1][3], *cellp[n ? n : 1][3];

		out.columns = cols;
		out.n_columns = 3;
		out.rows = rowp;
		out.n_rows = n;
		for (size_t i = 0; i < n; i++) {
			for (int c = 0; c < 3; c++) {
				storesync__cell__init(&cells[i][c]);
				cellp[i][c] = &cells[i][c];
			}
			cells[i][0].value_case = STORESYNC__CELL__VALUE_S;
			cells[i][0].s = (char *)(g[i].version[0] ? g[i].version : "(never heard from)");
			cells[i][1].value_case = STORESYNC__CELL__VALUE_I;
			cells[i][1].i = (int64_t)g[i].n;
			cells[i][2].value_case = STORESYNC__CELL__VALUE_S;
			cells[i][2].s = g[i].ids;
			storesync__row__init(&rows[i]);
			rows[i].cells = cellp[i];
			rows[i].n_cells = 3;
			rowp[i] = &rows[i];
		}
		rc = ss_table_print(stdout, &out, fmt, NULL) == 0 ? 0 : 1;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(g[i].ids);
	free(g);
	return rc;
}

/* `hqctl versions [FILTERS]`: asks `stores` with the same filters and
 * prints it by version. */
static int run_versions(struct request *r)
{
	const struct ss_command *cmd = ss_command_find("stores");
	Storesync__QueryReply *reply;
	struct ss_arena mem;
	int rc;

	if ((rc = check_filters(r, cmd)) != 0)
		return rc;
	r->req.what = (char *)cmd->what;
	ss_arena_init(&mem, 0);
	if ((rc = ask(r, &mem, &reply)) != SS_EXIT_OK) {
		ss_arena_release(&mem);
		return rc;
	}
	if (reply->error) {
		fprintf(stderr, "hqctl: %s\n", reply->error);
		rc = SS_EXIT_REFUSED;
	} else {
		rc = print_versions(reply, r->fmt);
	}
	ss_arena_release(&mem);
	return rc;
}

int main(int argc, char **argv)
{
	struct request r = { .req = STORESYNC__QUERY_REQUEST__INIT, .fmt = SS_TABLE_TEXT };
	static char keys[MAX_PARAMS][SS_CURVE_KEY_CHARS + 1];
	const struct ss_command *cmd;
	int rc = parse_options(argc, argv, &r), words;

	if (rc != 0)
		return rc == 1 ? 0 : 2;
	argc -= optind;
	argv += optind;
	if (r.help)
		return usage_for(argc, argv);
	if (argc >= 1 && strcmp(argv[0], "help") == 0)
		return usage_for(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "keygen") == 0)
		return ss_curve_keygen_command("hqctl", argc - 1, argv + 1);
	if (argc == 1 && strcmp(argv[0], "versions") == 0) {
		if ((rc = load_keys(&r, keys)) != 0)
			return rc;
		return run_versions(&r);
	}
	if (!(cmd = find_command(argc, argv, &words))) {
		if (argc)
			fprintf(stderr, "hqctl: unknown command \"%s%s%s\" (try --help)\n", argv[0],
				argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		else
			usage(stderr);
		return 2;
	}
	if ((rc = load_keys(&r, keys)) != 0 || (rc = check_filters(&r, cmd)) != 0
		|| (rc = take_operands(&r, cmd, argc - words, argv + words)) != 0)
		return rc;
	rc = run(&r, cmd);
	ss_price_list_free(r.req.prices, r.req.n_prices);
	ss_store_list_free(r.req.stores, r.req.n_stores);
	return rc;
}
