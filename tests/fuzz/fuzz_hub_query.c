/* fuzz_hub_query: the hub's handling of one request on the operators'
 * endpoint: a read query answered by a query worker (query_serve), or an
 * operator write handed to the writer and answered after its commit, on a
 * hub holding a little of everything (fz_hub_seed).
 * Invariants beyond "no crash": every answer is a QueryReply that packs and
 * parses again, says it is the hub's (writes), and is either a refusal with
 * a reason or a table whose every row has one cell per column. */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "hub_query.h"
#include "ss_link.h"

#define RESET_EVERY 5000

static struct fz_hub hub;
static unsigned runs;

static void reply_is_a_table(const Storesync__QueryReply *r)
{
	FZ_CHECK(!r->error || r->error[0], "an empty refusal");
	if (r->error)
		return;
	for (size_t i = 0; i < r->n_rows; i++)
		FZ_CHECK(r->rows[i]->n_cells == r->n_columns, "row %zu: %zu cells, %zu columns", i,
			r->rows[i]->n_cells, r->n_columns);
}

static void check_packed(const void *buf, size_t len, int from_writer)
{
	Storesync__QueryReply *r = (Storesync__QueryReply *)ss_proto_unpack(
		&storesync__query_reply__descriptor, buf, len, SIZE_MAX);

	FZ_CHECK(r != NULL, "an answer of %zu bytes does not parse", len);
	FZ_CHECK(!from_writer || (r->service && strcmp(r->service, SS_SERVICE_HUB) == 0),
		"the writer's answer does not say hq-hub");
	reply_is_a_table(r);
	storesync__query_reply__free_unpacked(r, NULL);
}

static void read_answered(const struct table *t)
{
	size_t len;
	uint8_t *buf = ss_proto_pack(&t->reply.base, &len);

	check_packed(buf, len, 0);
	free(buf);
}

/* The writer answers the worker [ "", answer ], exactly once. */
static void write_answered(void)
{
	zmq_msg_t f[2];
	int n = fz_recv(hub.worker, f, 2);

	FZ_CHECK(n == 2 && zmq_msg_size(&f[0]) == 0, "the writer answered %d frames", n);
	check_packed(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1);
	ss_link_close_frames(f, 2);
	FZ_CHECK(fz_recv(hub.worker, f, 2) == 0, "a second answer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table t;

	if (runs++ % RESET_EVERY == 0) {
		if (runs > 1)
			fz_hub_close(&hub);
		fz_hub_open(&hub);
		fz_hub_seed(&hub);
	}
	table_clear(&t);
	if (query_serve(&hub.h, data, size, "admin", &t) == QUERY_WRITE) {
		fz_hub_op(&hub, data, size);
		write_answered();
	} else {
		read_answered(&t);
	}
	table_free(&t);
	return 0;
}
