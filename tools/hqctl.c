/* hqctl: the HQ operators' command line. Sends one QueryRequest to the hub's
 * query endpoint (through ss_client: endpoint, timeout, the check that a hub
 * answered) and prints the table it gets back, as text (default), --json or
 * --csv. ss_table shapes every query's output; the table `views` below says
 * which columns the text form shows first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_client.h"
#include "ss_proto.h"
#include "ss_table.h"
#include "ss_time.h"
#include "ss_validate.h"
#include "ss_version.h"

#define DEFAULT_HUB "tcp://127.0.0.1:7702"

static const struct ss_client_kind hub_kind = {
	.prog = "hqctl", .key = "hub", .env = "STORESYNC_HUB", .def = DEFAULT_HUB,
	.service = SS_SERVICE_HUB, .what = "hub query endpoint",
};

/* The text form's columns per command: what an operator reads first
 * (--wide: all of them). Names are the hub's; a name a reply lacks is
 * skipped, so `accounts` covers `accounts --aging` too. */
static const char *const stores_cols[] = { "store_id", "records", "amount_fen", "backlog",
	"oldest_unsent_age_ms", "last_seen_ms", "silent_ms", NULL };
static const char *const sales_cols[] = { "store_id", "period", "receipts", "sales_fen",
	"refunds_fen", "contract_total_fen", "net_fen", NULL };
static const char *const inventory_cols[] = { "store_id", "sku", "on_hand",
	"out_of_stock_days", "last_move_ms", NULL };
static const char *const complaints_cols[] = { "case_no", "store_id", "state", "category",
	"registered_ms", "respond_by_ms", "report_by_ms", "overdue", NULL };
static const char *const accounts_cols[] = { "account", "owner_store", "customer",
	"balance_fen", "last_payment_ms", "age_days", "aging", "stale", "accounts", NULL };
static const char *const stale_cols[] = { "kind", "id", "store_id", "age_ms", "reason", NULL };
/* disk_free_bytes is the agent's disk budget left, not free disk: the
 * header says so (JSON and CSV keep the hub's name). */
static const char *const labels[] = { "disk_free_bytes", "budget_free", NULL };

static const struct {
	const char *command;
	struct ss_table_view view;
} views[] = {
	{ "stores", { stores_cols, labels, 0 } }, { "sales", { sales_cols, labels, 1 } },
	{ "inventory", { inventory_cols, labels, 0 } },
	{ "complaints", { complaints_cols, labels, 0 } },
	{ "accounts", { accounts_cols, labels, 0 } }, { "stale", { stale_cols, labels, 0 } },
};

/* The text view of command: its narrow columns, or all of them when wide. */
static struct ss_table_view view_of(const char *command, int wide)
{
	struct ss_table_view v = { NULL, labels, 0 };

	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
		if (strcmp(views[i].command, command) == 0)
			v = views[i].view;
	if (wide)
		v.columns = NULL;
	return v;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hqctl [--hub ENDPOINT] COMMAND [FILTERS] [--json|--csv|--wide] [--at TIME]\n"
		"Ask the storesync hub (default query endpoint " DEFAULT_HUB ").\n\n"
		"Commands:\n"
		"  stores      [--store S]   epoch, high-water seq, records, amount_fen, backlog,\n"
		"                            last seen and silence of every store\n"
		"  sales       [--store S] [--from DAY] [--to DAY] [--by day|week|month]\n"
		"                            receipts, sales, refunds, net, by payment method\n"
		"  inventory   [--store S] [--sku K] [--below N]\n"
		"                            on hand per store and SKU, out-of-stock days\n"
		"  complaints  [--store S] [--state open|responded|investigating|resolved|closed]\n"
		"              [--overdue]   cases, deadlines, overdue flags\n"
		"  accounts    [--store S] [--stale] [--aging]\n"
		"                            receivables: balance, last payment, aging bucket\n"
		"  stale       [--store S]   stale accounts, silent stores, overdue complaints,\n"
		"                            each with its reason and age\n"
		"  policy show               the policy values in force\n"
		"  stats                     hub counters: duplicates, gaps, refused input\n"
		"  dump                      every view as (view, key, value): equal hubs, equal dumps\n\n"
		"Options:\n"
		"  -H, --hub ENDPOINT   hub's query endpoint; else $STORESYNC_HUB, else \"hub\"\n"
		"                       in ~/.config/storesync/hqctl.ini ([hqctl] section),\n"
		"                       else the default\n"
		"  -t, --timeout S      seconds to wait for the answer (default 5; also\n"
		"                       \"timeout\" in hqctl.ini)\n"
		"      --json           one JSON document (an array of objects): every column,\n"
		"                       ms and fen, null for never, true/false for flags\n"
		"      --csv            CSV with a header line, the same units\n"
		"  -w, --wide           text: every column (default: the main ones)\n"
		"      --at TIME        evaluate ages and deadlines at TIME (Unix ms or\n"
		"                       YYYY-MM-DD[THH:MM[:SS]] UTC) instead of now\n"
		"      --version        print the version and exit\n"
		"  -h, --help           this text\n"
		"  DAY is YYYY-MM-DD (the store's local business day). Text shows times in\n"
		"  your time zone (TZ), durations as 3d 4h, money as yuan.\n\n"
		"Exit status: 0 done, 1 the hub refused the query (reason on stderr), 2 usage\n"
		"error, 3 could not reach the hub (connection refused, no socket, no answer\n"
		"in time, or the endpoint is not a hub query endpoint).\n");
}

/* Which filters each command takes. */
static const struct command {
	const char *name;
	const char *filters;   /* space-separated option names */
} commands[] = {
	{ "stores", "store" }, { "sales", "store from to by" }, { "inventory", "store sku below" },
	{ "complaints", "store state overdue" }, { "accounts", "store stale aging" },
	{ "stale", "store" }, { "policy", "" }, { "stats", "" }, { "dump", "" },
};

static int allowed(const struct command *c, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = c->filters; (p = strstr(p, opt)) != NULL; p += n)
		if ((p == c->filters || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return !strcmp(opt, "at");
}

/* A filter's value is checked here too, so a typo is a usage error (2). */
static int check_value(const char *opt, const char *v)
{
	int32_t day;
	int64_t ms;
	char *end;

	if (!strcmp(opt, "from") || !strcmp(opt, "to"))
		return ss_time_parse_day(v, &day);
	if (!strcmp(opt, "at"))
		return ss_time_parse(v, &ms);
	if (!strcmp(opt, "by"))
		return strcmp(v, "day") && strcmp(v, "week") && strcmp(v, "month") ? -1 : 0;
	if (!strcmp(opt, "below")) {
		(void)strtoll(v, &end, 10);
		return end == v || *end ? -1 : 0;
	}
	if (!strcmp(opt, "store"))
		return ss_validate_store_id(v);
	if (!strcmp(opt, "sku"))
		return ss_validate_sku(v);
	if (!strcmp(opt, "state"))
		return strcmp(v, "open") && strcmp(v, "responded") && strcmp(v, "investigating")
			&& strcmp(v, "resolved") && strcmp(v, "closed") ? -1 : 0;
	return 0;
}

/* Asks the hub; SS_EXIT_OK with *reply, or SS_EXIT_UNREACHABLE (printed). */
static int ask(struct ss_client *c, const char *what, Storesync__QueryParam **params,
	size_t n_params, Storesync__QueryReply **reply)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	char err[512];
	int rc;

	/* Answers (a dump, a month of daily sales for every store) may be far
	 * larger than a link message: the hub is trusted here. */
	c->max_reply_bytes = -1;
	req.what = (char *)what;
	req.params = params;
	req.n_params = n_params;
	rc = ss_client_open(c, err, sizeof err);
	if (rc == SS_EXIT_OK)
		rc = ss_client_query(c, &req, reply, err, sizeof err);
	ss_client_close(c);
	if (rc != SS_EXIT_OK)
		fprintf(stderr, "hqctl: %s\n", err);
	return rc;
}

/* The command named at argv[optind], checked with its filters; NULL after
 * printing a usage error. */
static const struct command *pick_command(int argc, char **argv,
	const Storesync__QueryParam *pv, size_t np)
{
	const struct command *cmd = NULL;

	for (size_t i = 0; optind < argc && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		if (optind < argc)
			fprintf(stderr, "hqctl: unknown command \"%s\" (try --help)\n", argv[optind]);
		else
			usage(stderr);
		return NULL;
	}
	/* "policy show" is the one two-word command. */
	if (optind + 1 + (strcmp(cmd->name, "policy") == 0) != argc
		|| (!strcmp(cmd->name, "policy") && strcmp(argv[optind + 1], "show") != 0)) {
		fprintf(stderr, "hqctl: unexpected arguments after \"%s\" (try --help)\n", cmd->name);
		return NULL;
	}
	for (size_t i = 0; i < np; i++) {
		if (!allowed(cmd, pv[i].key)) {
			fprintf(stderr, "hqctl: %s does not take --%s\n", cmd->name, pv[i].key);
			return NULL;
		}
		if (check_value(pv[i].key, pv[i].value) != 0) {
			fprintf(stderr, "hqctl: --%s: bad value \"%s\"\n", pv[i].key, pv[i].value);
			return NULL;
		}
	}
	return cmd;
}

#define MAX_PARAMS 16

enum { OPT_VERSION = 256 };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hub", required_argument, 0, 'H' }, { "json", no_argument, 0, 'j' },
		{ "csv", no_argument, 0, 'C' }, { "help", no_argument, 0, 'h' },
		{ "timeout", required_argument, 0, 't' }, { "wide", no_argument, 0, 'w' },
		{ "version", no_argument, 0, OPT_VERSION },
		{ "store", required_argument, 0, 'p' }, { "sku", required_argument, 0, 'p' },
		{ "from", required_argument, 0, 'p' }, { "to", required_argument, 0, 'p' },
		{ "by", required_argument, 0, 'p' }, { "below", required_argument, 0, 'p' },
		{ "state", required_argument, 0, 'p' }, { "at", required_argument, 0, 'p' },
		{ "overdue", no_argument, 0, 'p' }, { "stale", no_argument, 0, 'p' },
		{ "aging", no_argument, 0, 'p' }, { 0, 0, 0, 0 },
	};
	Storesync__QueryParam pv[MAX_PARAMS], *pp[MAX_PARAMS];
	enum ss_table_format fmt = SS_TABLE_TEXT;
	const char *hub = NULL, *timeout = NULL;
	const struct command *cmd = NULL;
	Storesync__QueryReply *reply;
	struct ss_table_view view;
	struct ss_client client;
	char err[512];
	size_t np = 0;
	int o, idx, rc, wide = 0;

	while ((o = getopt_long(argc, argv, "H:t:wh", opts, &idx)) != -1) {
		switch (o) {
		case 'H': hub = optarg; break;
		case 't': timeout = optarg; break;
		case 'w': wide = 1; break;
		case 'j': fmt = SS_TABLE_JSON; break;
		case 'C': fmt = SS_TABLE_CSV; break;
		case OPT_VERSION: ss_version_print("hqctl"); return 0;
		case 'h': usage(stdout); return 0;
		case 'p':
			if (np == MAX_PARAMS)
				return 2;
			storesync__query_param__init(&pv[np]);
			pv[np].key = (char *)opts[idx].name;
			pv[np].value = optarg ? optarg : "1";
			pp[np] = &pv[np];
			np++;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (!(cmd = pick_command(argc, argv, pv, np)))
		return 2;
	if (ss_client_init(&client, &hub_kind, hub, timeout, err, sizeof err) != SS_EXIT_OK) {
		fprintf(stderr, "hqctl: %s\n", err);
		return 2;
	}
	if ((rc = ask(&client, cmd->name, pp, np, &reply)) != SS_EXIT_OK)
		return rc;
	if (reply->error) {
		fprintf(stderr, "hqctl: %s\n", reply->error);
		rc = 1;
	} else {
		view = view_of(cmd->name, wide);
		rc = ss_table_print(stdout, reply, fmt, &view) == 0 ? 0 : 1;
	}
	storesync__query_reply__free_unpacked(reply, NULL);
	return rc;
}
