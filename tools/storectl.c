/* storectl: the store-side command line. Talks to the agent's local endpoint.
 *   submit [FILE|-]   JSON Lines in, one record per line (docs/records.md)
 *   status            the agent's backlog, link and outbox
 *   price, policy, notices, requests: what HQ decided (storectl_query.c)
 *   reepoch           the recovery of a rolled-back data directory
 * Text becomes protobuf here; the agent never sees JSON. A bad line is
 * refused alone, with its line number; good lines still go in. Every
 * request goes through call() (ss_client: endpoint, timeout, the check that
 * the agent answered), and main maps "could not reach" to exit 3 for every
 * command. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ss_client.h"
#include "ss_json.h"
#include "ss_proto.h"
#include "ss_time.h"
#include "ss_version.h"
#include "storectl.h"

#define DEFAULT_AGENT "ipc:///run/storesync/agent.sock"

static const struct ss_client_kind agent_kind = {
	.prog = "storectl", .key = "agent", .env = "STORESYNC_AGENT", .def = DEFAULT_AGENT,
	.service = SS_SERVICE_AGENT, .what = "store agent",
	/* A CurveZMQ endpoint (the hub's) may also close a plaintext
	 * connection before its handshake shows the mismatch: say both. */
	.closed_at_handshake = "the agent refused the connection: too many local clients "
		"(max_local_clients in its config; its log says how many are open), or it was "
		"too busy to finish the handshake, unless this is not a store agent but a "
		"CurveZMQ endpoint, such as the hub's",
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: storectl [--agent ENDPOINT] [--timeout S] COMMAND [ARGS]\n"
		"Talk to this store's agent (default endpoint " DEFAULT_AGENT ").\n\n"
		"Commands:\n"
		"  submit [FILE|-] [--batch N] [--json]\n"
		"        submit JSON Lines records (one per line, see docs/records.md);\n"
		"        prints accepted, duplicate and refused counts and each refused\n"
		"        line's reason; exit 1 when any line was refused. A record the store\n"
		"        already has (same business key, same content) is a duplicate: it\n"
		"        names the original seq and nothing new is written, so submitting a\n"
		"        file again after an interruption is safe\n"
		"  status [--json]\n"
		"        backlog, oldest unsent age, last ack, link state, epoch, last seq,\n"
		"        updates from HQ applied\n"
		"  price SKU [--at TIME] [--json]\n"
		"        the SKU's price in force now (or at TIME) and the next one announced,\n"
		"        from the agent's own tables (works offline); exit 1 when it has none.\n"
		"        The agent keeps the price in force now and later-dated ones, not\n"
		"        history: a TIME before them has none (hqctl price show has history)\n"
		"  policy [--at TIME] [--json]\n"
		"        every policy the agent enforces at submit, and since when\n"
		"  notices [--json]\n"
		"        HQ's collection notices: accounts of this store to chase for payment\n"
		"  requests [--json]\n"
		"        this store's replenishment requests and HQ's decisions\n"
		"  reepoch [--confirm] [--json]\n"
		"        recovery of a store whose data directory was rolled back (status:\n"
		"        link_state conflict): moves every record the hub has not\n"
		"        acknowledged into a new epoch (new seqs, the same records), after\n"
		"        which the agent sends again; the hub counts each record once by its\n"
		"        business key. Without --confirm: what it would do, and exit 1\n"
		"TIME is Unix ms or YYYY-MM-DD[THH:MM[:SS]], UTC unless an offset follows\n"
		"(Z, +08:00, +0800, +08, -05:00): 2026-12-31T18:00+08:00 is 10:00 UTC.\n"
		"--json prints one JSON document (money in fen, times in Unix ms).\n\n"
		"Options:\n"
		"  -a, --agent ENDPOINT   agent's local endpoint; else $STORESYNC_AGENT, else\n"
		"                         \"agent\" in ~/.config/storesync/storectl.ini\n"
		"                         ([storectl] section), else the default\n"
		"  -t, --timeout S        seconds to wait for each answer (default 5; also\n"
		"                         \"timeout\" in storectl.ini)\n"
		"      --version          print the version and exit\n"
		"  -h, --help             this text\n\n"
		"Exit status: 0 done, 1 refused (a line or the request; reasons on stderr),\n"
		"2 usage error, 3 could not reach the agent (no socket, no permission, no\n"
		"answer in time, or the endpoint is not a store agent).\n");
}

/* Fails at once (reason printed) when the agent's socket is missing, not
 * ours to use, or not listening. */
int connect_agent(struct ctl *c)
{
	char err[512];

	if (ss_client_open(&c->cl, err, sizeof err) == SS_EXIT_OK)
		return 0;
	fprintf(stderr, "storectl: %s\n", err);
	c->unreachable = 1;
	return -1;
}

void disconnect_agent(struct ctl *c)
{
	ss_client_close(&c->cl);
}

/* One request, one reply. NULL (reason printed) when the agent did not
 * answer in time, is not an agent, or refused the request. */
Storesync__LocalReply *call(struct ctl *c, Storesync__LocalRequest *req)
{
	Storesync__LocalReply *reply;
	char err[512];

	if (ss_client_local(&c->cl, req, &reply, err, sizeof err) != SS_EXIT_OK) {
		fprintf(stderr, "storectl: %s\n", err);
		c->unreachable = 1;
		return NULL;
	}
	if (reply->error) {
		fprintf(stderr, "storectl: agent refused: %s\n", reply->error);
		storesync__local_reply__free_unpacked(reply, NULL);
		reply = NULL;
	}
	return reply;
}

/* Submission state: records waiting to go, and what happened to every line. */
struct submit {
	Storesync__Record **recs;
	long *lines;              /* line number of each waiting record */
	size_t n, batch;
	size_t bytes;             /* the waiting records, packed */
	long unknown_from, unknown_to;   /* lines sent without an answer (0: none) */
	long unsent_from, unsent_to;     /* lines never sent after that (0: none) */
	long accepted, refused, duplicates;
	uint64_t first_seq, last_seq;
	json_t *errors;           /* [{line, reason}] */
	json_t *dup_seqs;         /* seq of the record each duplicate repeats */
	int tty;
	int64_t progress_mono;
};

static void refuse_line(struct submit *s, long line, const char *reason)
{
	s->refused++;
	json_array_append_new(s->errors, json_pack("{s:I,s:s}", "line", (json_int_t)line,
		"reason", reason));
}

static int flush(struct ctl *c, struct submit *s)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__SubmitRequest sub = STORESYNC__SUBMIT_REQUEST__INIT;
	Storesync__LocalReply *reply;
	int rc = 0;

	if (s->n == 0)
		return 0;
	s->bytes = 0;
	sub.records = s->recs;
	sub.n_records = s->n;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_SUBMIT;
	req.submit = &sub;
	reply = call(c, &req);
	if (!reply || reply->kind_case != STORESYNC__LOCAL_REPLY__KIND_SUBMIT
		|| reply->submit->n_results != s->n) {
		/* We cannot know what the agent kept of this request: say so, and
		 * how to find out (business keys make the retry safe). */
		s->unknown_from = s->lines[0];
		s->unknown_to = s->lines[s->n - 1];
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		Storesync__SubmitResult *r = reply->submit->results[i];

		if (r->error)
			refuse_line(s, s->lines[i], r->error);
		else if (r->duplicate) {
			s->duplicates++;
			json_array_append_new(s->dup_seqs, json_integer((json_int_t)r->seq));
		} else {
			s->accepted++;
			if (!s->first_seq)
				s->first_seq = r->seq;
			s->last_seq = r->seq;
		}
	}
	if (reply)
		storesync__local_reply__free_unpacked(reply, NULL);
	for (size_t i = 0; i < s->n; i++)
		storesync__record__free_unpacked(s->recs[i], NULL);
	s->n = 0;
	return rc;
}

static void progress(struct submit *s, long line, int done)
{
	if (!s->tty || (!done && ss_mono_ms() - s->progress_mono < 200))
		return;
	s->progress_mono = ss_mono_ms();
	fprintf(stderr, "\rline %ld: %ld accepted, %ld duplicates, %ld refused%s", line,
		s->accepted, s->duplicates, s->refused, done ? "\n" : "");
}

/* The line's whole length is JSON text: a NUL inside it is refused as
 * JSON's, not taken for the line's end (what followed would be lost). */
static void add_line(struct submit *s, long line, const char *text, size_t len)
{
	json_error_t jerr;
	char err[256];
	json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	Storesync__Record *r;

	if (!obj) {
		snprintf(err, sizeof err, "not JSON: %s", jerr.text);
		refuse_line(s, line, err);
		return;
	}
	r = ss_json_to_record(obj, err, sizeof err);
	json_decref(obj);
	if (!r) {
		refuse_line(s, line, err);
		return;
	}
	s->lines[s->n] = line;
	s->recs[s->n++] = r;
	s->bytes += storesync__record__get_packed_size(r) + 16;
}

#define SHOWN_DUPLICATES 10

/* ", duplicates 2 (of seqs 5, 9)": at most SHOWN_DUPLICATES seqs, then "…". */
static void print_duplicates(const struct submit *s)
{
	size_t n = json_array_size(s->dup_seqs);

	printf(", duplicates %ld", s->duplicates);
	for (size_t i = 0; i < n && i < SHOWN_DUPLICATES; i++)
		printf("%s%lld", i ? ", " : " (of seqs ",
			(long long)json_integer_value(json_array_get(s->dup_seqs, i)));
	if (n > SHOWN_DUPLICATES)
		printf(", …");
	if (n)
		putchar(')');
}

/* [from, to] of lines (to null: the rest of standard input), or null for
 * none. */
static json_t *line_range(long from, long to)
{
	if (!from)
		return json_null();
	return to < 0 ? json_pack("[I,n]", (json_int_t)from)
		: json_pack("[I,I]", (json_int_t)from, (json_int_t)to);
}

/* What a submit cut short left undone: the lines sent without an answer
 * and those never sent. */
static void print_cut_short(const struct submit *s)
{
	if (s->unknown_from)
		fprintf(stderr, "storectl: lines %ld..%ld: outcome unknown (agent did not answer); "
			"submitting the same file again is safe: what was recorded comes back as "
			"duplicates\n", s->unknown_from, s->unknown_to);
	if (s->unsent_from && s->unsent_to < 0)
		fprintf(stderr, "storectl: lines %ld on (the rest of standard input): not sent\n",
			s->unsent_from);
	else if (s->unsent_from)
		fprintf(stderr, "storectl: lines %ld..%ld: not sent\n", s->unsent_from, s->unsent_to);
}

static int by_line(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "line"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "line"));

	return (x > y) - (x < y);
}

/* Refusals in line order: a line JSON could not read is refused at once,
 * the agent's refusals come with their request's answer. */
static void sort_errors(struct submit *s)
{
	size_t n = json_array_size(s->errors);
	json_t **e = n ? malloc(n * sizeof *e) : NULL, *sorted;

	if (!e || !(sorted = json_array())) {
		free(e);
		return;
	}
	for (size_t i = 0; i < n; i++)
		e[i] = json_array_get(s->errors, i);
	qsort(e, n, sizeof *e, by_line);
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, e[i]);
	free(e);
	json_decref(s->errors);
	s->errors = sorted;
}

static void print_summary(const struct ctl *c, struct submit *s)
{
	print_cut_short(s);
	sort_errors(s);
	if (c->json) {
		json_t *doc = json_pack("{s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:o,s:o}", "accepted",
			(json_int_t)s->accepted, "duplicates", (json_int_t)s->duplicates, "refused",
			(json_int_t)s->refused, "first_seq", (json_int_t)s->first_seq, "last_seq",
			(json_int_t)s->last_seq, "duplicate_of_seqs", s->dup_seqs, "errors", s->errors,
			"unknown_lines", line_range(s->unknown_from, s->unknown_to),
			"unsent_lines", line_range(s->unsent_from, s->unsent_to));

		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
		return;
	}
	printf("accepted %ld", s->accepted);
	if (s->accepted)
		printf(" (seq %" PRIu64 "..%" PRIu64 ")", s->first_seq, s->last_seq);
	print_duplicates(s);
	printf(", refused %ld\n", s->refused);
	for (size_t i = 0; i < json_array_size(s->errors); i++) {
		json_t *e = json_array_get(s->errors, i);

		fprintf(stderr, "line %lld: %s\n", (long long)json_integer_value(json_object_get(e, "line")),
			json_string_value(json_object_get(e, "reason")));
	}
}

/* A request's records stay this far under the local endpoint's message
 * limit (SS_MAX_MSG_BYTES), whatever --batch says: large complaints fill
 * it long before a thousand records do. */
#define REQUEST_BYTES (SS_MAX_MSG_BYTES / 2)

/* After a request without an answer: the lines of a file not read yet,
 * counted (not sent) so the summary can name them. Standard input is not
 * read on (its writer may never stop): its rest is "lineno + 1 on" (to -1). */
static void count_unsent(struct submit *s, FILE *in, long lineno, char **line, size_t *cap)
{
	long last = lineno;

	if (in == stdin) {
		s->unsent_from = lineno + 1;
		s->unsent_to = -1;
		return;
	}
	while (getline(line, cap, in) >= 0)
		last++;
	if (last > lineno) {
		s->unsent_from = lineno + 1;
		s->unsent_to = last;
	}
}

static int cmd_submit(struct ctl *c, FILE *in, const char *path, size_t batch)
{
	struct submit s = { .batch = batch, .errors = json_array(), .dup_seqs = json_array(),
		.tty = isatty(2) };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0, read_errno;

	s.recs = calloc(batch, sizeof *s.recs);
	s.lines = calloc(batch, sizeof *s.lines);
	if (!s.recs || !s.lines || connect_agent(c) != 0)
		rc = -1;
	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			/* A UTF-8 byte order mark, as some editors write: not the record's. */
			memmove(line, line + 3, (size_t)len - 2);
			len -= 3;
		}
		if (strspn(line, " \t") == (size_t)len)
			continue;    /* a blank line: no record */
		add_line(&s, lineno, line, (size_t)len);
		if (s.n == s.batch || s.bytes >= REQUEST_BYTES)
			rc = flush(c, &s);
		progress(&s, lineno, 0);
	}
	read_errno = ferror(in) ? errno : 0;
	if (rc == 0)
		rc = flush(c, &s);
	if (s.unknown_from)
		count_unsent(&s, in, lineno, &line, &cap);
	progress(&s, lineno, 1);
	if (read_errno) {
		/* What was read before the error went; nothing after it. */
		fprintf(stderr, "storectl: reading %s after line %ld: %s\n",
			in == stdin ? "standard input" : path, lineno, strerror(read_errno));
		rc = -1;
	}
	print_summary(c, &s);
	free(line);
	free(s.recs);
	free(s.lines);
	json_decref(s.errors);
	json_decref(s.dup_seqs);
	disconnect_agent(c);
	return rc != 0 || s.refused ? 1 : 0;
}

/* reepoch: what the agent did, or would do without --confirm. */
static void print_reepoch(const struct ctl *c, const Storesync__ReepochReply *r)
{
	if (c->json) {
		json_t *doc = ss_json_from_message(&r->base);
		char epoch[20];

		snprintf(epoch, sizeof epoch, "%016" PRIx64, r->old_epoch);
		json_object_set_new(doc, "old_epoch", json_string(epoch));
		snprintf(epoch, sizeof epoch, "%016" PRIx64, r->new_epoch);
		json_object_set_new(doc, "new_epoch", r->done ? json_string(epoch) : json_null());
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
		return;
	}
	printf("epoch %016" PRIx64 ": the hub holds it through seq %" PRIu64 ".\n", r->old_epoch,
		r->hub_seq);
	if (r->done)
		printf("moved %" PRIu64 " records", r->moved);
	else
		printf("would move %" PRIu64 " records", r->moved);
	if (r->moved)
		printf(" (seq %" PRIu64 "..%" PRIu64 ")", r->first_moved_seq, r->last_moved_seq);
	if (r->done)
		printf(" to epoch %016" PRIx64 " as seqs 1..%" PRIu64, r->new_epoch, r->moved);
	else
		printf(" to a new epoch as seqs 1..%" PRIu64, r->moved);
	printf("; %" PRIu64 " acknowledged records %s the outbox.\n", r->dropped,
		r->done ? "left" : "would leave");
	if (r->done)
		printf("the agent sends again; the hub counts what it already holds once.\n");
}

static int cmd_reepoch(struct ctl *c)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__ReepochRequest re = STORESYNC__REEPOCH_REQUEST__INIT;
	Storesync__LocalReply *reply;
	int rc = 1;

	if (connect_agent(c) != 0) {
		disconnect_agent(c);
		return 1;
	}
	re.confirm = c->confirm;
	re.has_confirm = 1;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_REEPOCH;
	req.reepoch = &re;
	reply = call(c, &req);
	disconnect_agent(c);
	if (reply && reply->kind_case == STORESYNC__LOCAL_REPLY__KIND_REEPOCH) {
		print_reepoch(c, reply->reepoch);
		if (reply->reepoch->done)
			rc = 0;
		else
			fprintf(stderr, "storectl: nothing changed: run `storectl reepoch --confirm` "
				"to do it\n");
	}
	if (reply)
		storesync__local_reply__free_unpacked(reply, NULL);
	return rc;
}

static int cmd_status(struct ctl *c)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__StatusRequest st = STORESYNC__STATUS_REQUEST__INIT;
	Storesync__LocalReply *reply;
	char epoch[20];
	json_t *doc;

	if (connect_agent(c) != 0) {
		disconnect_agent(c);
		return 1;
	}
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_STATUS;
	req.status = &st;
	reply = call(c, &req);
	disconnect_agent(c);
	if (!reply || reply->kind_case != STORESYNC__LOCAL_REPLY__KIND_STATUS) {
		if (reply)
			storesync__local_reply__free_unpacked(reply, NULL);
		return 1;
	}
	doc = ss_json_from_message(&reply->status->base);
	/* The epoch is an identifier, shown as hqctl shows it: 16 hex digits. */
	snprintf(epoch, sizeof epoch, "%016" PRIx64, reply->status->epoch);
	json_object_set_new(doc, "epoch", json_string(epoch));
	if (c->json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		const char *key;
		json_t *v;

		json_object_foreach(doc, key, v) {
			char *text = json_dumps(v, JSON_ENCODE_ANY);

			printf("%-22s %s\n", key, json_is_string(v) ? json_string_value(v) : text);
			free(text);
		}
	}
	json_decref(doc);
	storesync__local_reply__free_unpacked(reply, NULL);
	return 0;
}

/* Parses the command's own options; returns -1 on a usage error. */
/* getopt_long's refusal (opterr 0) in one line: the option as given. */
static void bad_option(char **argv)
{
	const char *given = optind > 0 ? argv[optind - 1] : "?";

	if (optopt && given[0] == '-' && given[1] != '-')
		fprintf(stderr, "storectl: option -%c is unknown or needs a value (try storectl --help)\n",
			optopt);
	else
		fprintf(stderr, "storectl: option %s is unknown or needs a value (try storectl --help)\n",
			given);
}

static int command_opts(int argc, char **argv, struct ctl *c, long *batch, int *has_batch)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' }, { "batch", required_argument, 0, 'b' },
		{ "at", required_argument, 0, 't' }, { "confirm", no_argument, 0, 'C' },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int o;

	/* 0, not 1: resets glibc's "stop at the first operand" mode that the
	 * global options' "+" set, so options may follow FILE. */
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "jb:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 'j': c->json = 1; break;
		case 'C': c->confirm = 1; break;
		case 't':
			if (ss_time_parse(optarg, &c->at_ms) != 0 || c->at_ms <= 0) {
				fprintf(stderr, "storectl: --at \"%s\" is not Unix ms or "
					"YYYY-MM-DD[THH:MM[:SS]]\n", optarg);
				return -1;
			}
			c->has_at = 1;
			break;
		case 'b': {
			char *end;

			*batch = strtol(optarg, &end, 10);
			*has_batch = 1;
			if (end == optarg || *end || *batch < 1 || *batch > 100000) {
				fprintf(stderr, "storectl: --batch must be 1..100000\n");
				return -1;
			}
			break;
		}
		case 'h': usage(stdout); exit(0);
		default:
			bad_option(argv);
			return -1;
		}
	}
	return 0;
}

/* Runs the command named by argv[0] (after command_opts); its exit status. */
static int run_command(struct ctl *c, int argc, char **argv, long batch, int has_batch)
{
	int rc;

	if (has_batch && strcmp(argv[0], "submit") != 0) {
		fprintf(stderr, "storectl: --batch is an option of submit\n");
		return 2;
	}
	if (c->has_at && strcmp(argv[0], "price") != 0 && strcmp(argv[0], "policy") != 0) {
		fprintf(stderr, "storectl: --at is an option of price and policy\n");
		return 2;
	}
	if (c->confirm && strcmp(argv[0], "reepoch") != 0) {
		fprintf(stderr, "storectl: --confirm is an option of reepoch\n");
		return 2;
	}
	if ((rc = query_command(c, argv[0], argc - optind, argv + optind)) >= 0)
		return rc;
	if (strcmp(argv[0], "submit") == 0) {
		const char *path = optind < argc ? argv[optind] : "-";

		if (optind + 1 < argc) {
			fprintf(stderr, "storectl: submit takes one FILE (or -)\n");
			return 2;
		}
		FILE *in;

		in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		if (!in) {
			fprintf(stderr, "storectl: cannot open %s: %s\n", path, strerror(errno));
			return 1;
		}
		rc = cmd_submit(c, in, path, (size_t)batch);
		if (in != stdin)
			fclose(in);
		return rc;
	}
	if (strcmp(argv[0], "status") == 0) {
		if (optind == argc)
			return cmd_status(c);
		fprintf(stderr, "storectl: status takes no arguments\n");
		return 2;
	}
	if (strcmp(argv[0], "reepoch") == 0) {
		if (optind == argc)
			return cmd_reepoch(c);
		fprintf(stderr, "storectl: reepoch takes no arguments\n");
		return 2;
	}
	fprintf(stderr, "storectl: unknown command \"%s\" (try --help)\n", argv[0]);
	return 2;
}

enum { OPT_VERSION = 256 };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, 0, 'a' }, { "timeout", required_argument, 0, 't' },
		{ "version", no_argument, 0, OPT_VERSION }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *agent = NULL, *timeout = NULL;
	struct ctl c = { 0 };
	char err[512];
	long batch = 1000;
	int o, rc, has_batch = 0;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "+a:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': agent = optarg; break;
		case 't': timeout = optarg; break;
		case OPT_VERSION: ss_version_print("storectl"); return 0;
		case 'h': usage(stdout); return 0;
		default:
			bad_option(argv);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (ss_client_init(&c.cl, &agent_kind, agent, timeout, err, sizeof err) != SS_EXIT_OK) {
		fprintf(stderr, "storectl: %s\n", err);
		return 2;
	}
	argc -= optind;
	argv += optind;
	if (command_opts(argc, argv, &c, &batch, &has_batch) != 0)
		return 2;
	rc = run_command(&c, argc, argv, batch, has_batch);
	return c.unreachable ? SS_EXIT_UNREACHABLE : rc;
}
