/* storectl: what the command's files share: the connection to the agent
 * and its one request, one reply call. */
#ifndef STORECTL_H
#define STORECTL_H

#include <stdint.h>

#include "ss_client.h"
#include "ss_proto.h"

struct ctl {
	struct ss_client cl;
	int json;
	int unreachable;    /* a request could not reach the agent: exit 3 */
	int has_at;         /* --at given */
	int confirm;        /* reepoch --confirm */
	int64_t at_ms;      /* --at TIME */
};

/* 0, or -1 with the reason printed (and c->unreachable set) when the
 * agent's socket is missing, not ours to use, or not listening. */
int connect_agent(struct ctl *c);
void disconnect_agent(struct ctl *c);
/* One request, one reply (free with storesync__local_reply__free_unpacked).
 * NULL, with the reason printed, when the agent did not answer or refused. */
Storesync__LocalReply *call(struct ctl *c, Storesync__LocalRequest *req);

/* Runs cmd when it is one of the query commands (storectl_query.c: price,
 * policy, notices, requests) with its operands: returns the exit status,
 * or -1 when cmd is not one of them. */
int query_command(struct ctl *c, const char *cmd, int n_args, char **args);

#endif
