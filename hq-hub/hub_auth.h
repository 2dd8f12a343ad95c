/* hub_auth: who may do what on the operators' side, and the audit log of
 * every operator write. */
#ifndef HUB_AUTH_H
#define HUB_AUTH_H

#include "hub.h"

struct hub_work;
struct hub_round;

/* The user an operators' request comes as: the admin socket and a hub
 * without Curve on its query endpoint are "local" (the host's own admins,
 * trusted by file permissions). */
#define HUB_USER_LOCAL "local"

/* The role of user ("admin", "read"), or NULL when it may do nothing (an
 * unknown or revoked operator). */
const char *hub_auth_role(struct hub *h, MDB_txn *txn, const char *user, char *buf, size_t len);
/* Before an operator write applies: 0 when its user may do it; otherwise
 * the answer says why (and the write is audited as refused). */
int hub_auth_check_write(struct hub *h, MDB_txn *txn, struct hub_work *w);
/* Keys (hub_op_keys.c): 0 when key belongs to nobody or to store already,
 * -1 with a reason otherwise; index key as store's. */
int hub_keys_check_free(struct hub *h, MDB_txn *txn, const char *key, const char *store,
	char *err, size_t errlen);
int hub_keys_index_store(struct hub *h, MDB_txn *txn, const char *key, const char *store);

/* Writes w's audit entry in the round's transaction. */
int hub_audit_write(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w);

#endif
