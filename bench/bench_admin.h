/* bench_admin: the benchmarks' questions to a hub's admin socket (plaintext
 * ipc, operator "local"), one REQ each: ss-rollout's and the fleet
 * driver's. */
#ifndef BENCH_ADMIN_H
#define BENCH_ADMIN_H

#include "ss_proto.h"

/* req (proto_version set here) to endpoint; the reply (free with its
 * free_unpacked), or NULL when none came within timeout_ms. */
Storesync__QueryReply *bench_admin_ask(void *zctx, const char *endpoint,
	Storesync__QueryRequest *req, int timeout_ms);
/* The index of the column named name in r, or -1. */
int bench_admin_column(const Storesync__QueryReply *r, const char *name);

#endif
