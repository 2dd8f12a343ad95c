/* bench_admin: see bench_admin.h. */
#include "bench_admin.h"

#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include "ss_link.h"

Storesync__QueryReply *bench_admin_ask(void *zctx, const char *endpoint,
	Storesync__QueryRequest *req, int timeout_ms)
{
	char err[128];
	void *s = ss_link_socket(zctx, ZMQ_REQ, err, sizeof err);
	int64_t unlimited = -1;   /* a fleet's answers run to megabytes */
	Storesync__QueryReply *r = NULL;
	zmq_msg_t m;

	if (!s)
		return NULL;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &unlimited, sizeof unlimited);
	req->proto_version = SS_PROTO_VERSION;
	req->has_proto_version = 1;
	zmq_msg_init(&m);
	if (zmq_connect(s, endpoint) == 0 && ss_proto_send(s, &req->base, 0) == 0
		&& zmq_msg_recv(&m, s, 0) >= 0)
		r = (Storesync__QueryReply *)ss_proto_unpack(&storesync__query_reply__descriptor,
			zmq_msg_data(&m), zmq_msg_size(&m), SIZE_MAX);
	zmq_msg_close(&m);
	zmq_close(s);
	return r;
}

int bench_admin_column(const Storesync__QueryReply *r, const char *name)
{
	for (size_t i = 0; i < r->n_columns; i++)
		if (strcmp(r->columns[i], name) == 0)
			return (int)i;
	return -1;
}
