/* hqctl: the HQ operators' command line. Sends one QueryRequest to the hub's
 * query endpoint and prints the table it gets back, as text (default),
 * --json or --csv. Every query's output is shaped by ss_table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_link.h"
#include "ss_proto.h"
#include "ss_table.h"

#define DEFAULT_HUB "tcp://127.0.0.1:7702"
#define REPLY_TIMEOUT_MS 30000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hqctl [--hub ENDPOINT] COMMAND [--json|--csv]\n"
		"Ask the storesync hub (default query endpoint " DEFAULT_HUB ").\n\n"
		"Commands:\n"
		"  stores    every store: epoch, high-water seq, records applied, amount_fen,\n"
		"            backlog and oldest unsent age reported, last seen, silence\n"
		"  stats     hub counters: commits, duplicates, gaps, refused and malformed input\n\n"
		"Options:\n"
		"  -H, --hub ENDPOINT   hub's query endpoint\n"
		"      --json           one JSON document (an array of objects)\n"
		"      --csv            CSV with a header line\n"
		"  -h, --help           this text\n");
}

static Storesync__QueryReply *ask(const char *hub, const char *what)
{
	Storesync__QueryRequest req = STORESYNC__QUERY_REQUEST__INIT;
	Storesync__QueryReply *reply = NULL;
	void *ctx = zmq_ctx_new(), *sock;
	int timeout = REPLY_TIMEOUT_MS;
	char err[256];
	zmq_msg_t m;

	sock = ss_link_socket(ctx, ZMQ_REQ, 0, err, sizeof err);
	if (!sock || zmq_connect(sock, hub) != 0) {
		fprintf(stderr, "hqctl: cannot connect to %s\n", hub);
		goto out;
	}
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	req.proto_version = SS_PROTO_VERSION;
	req.has_proto_version = 1;
	req.what = (char *)what;
	zmq_msg_init(&m);
	if (ss_proto_send(sock, &req.base, 0) != 0 || zmq_msg_recv(&m, sock, 0) < 0)
		fprintf(stderr, "hqctl: no answer from the hub at %s\n", hub);
	else if (!(reply = (Storesync__QueryReply *)ss_proto_unpack(
			&storesync__query_reply__descriptor, zmq_msg_data(&m), zmq_msg_size(&m),
			SS_MAX_MSG_BYTES)))
		fprintf(stderr, "hqctl: the hub's answer does not parse\n");
	zmq_msg_close(&m);
out:
	if (sock)
		zmq_close(sock);
	zmq_ctx_term(ctx);
	return reply;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hub", required_argument, 0, 'H' }, { "json", no_argument, 0, 'j' },
		{ "csv", no_argument, 0, 'C' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	static const char *const commands[] = { "stores", "stats" };
	enum ss_table_format fmt = SS_TABLE_TEXT;
	const char *hub = DEFAULT_HUB, *cmd = NULL;
	Storesync__QueryReply *reply;
	int o, rc;

	while ((o = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		switch (o) {
		case 'H': hub = optarg; break;
		case 'j': fmt = SS_TABLE_JSON; break;
		case 'C': fmt = SS_TABLE_CSV; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[optind], commands[i]) == 0)
			cmd = commands[i];
	if (!cmd) {
		fprintf(stderr, "hqctl: unknown command \"%s\" (try --help)\n", argv[optind]);
		return 2;
	}
	if (!(reply = ask(hub, cmd)))
		return 1;
	if (reply->error) {
		fprintf(stderr, "hqctl: %s\n", reply->error);
		rc = 1;
	} else {
		rc = ss_table_print(stdout, reply, fmt) == 0 ? 0 : 1;
	}
	storesync__query_reply__free_unpacked(reply, NULL);
	return rc;
}
