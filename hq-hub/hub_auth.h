/* hub_auth: who may do what on the operators' side, and the audit log of
 * every operator write. */
#ifndef HUB_AUTH_H
#define HUB_AUTH_H

#include "hub.h"

struct hub_work;
struct hub_round;

/* The user an operators' request comes as: on the admin socket, "local"
 * (the host's own admins, trusted by the socket file's permissions); on a
 * query endpoint without Curve (--insecure), "insecure". Both may do what
 * the admin role may. */
#define HUB_USER_LOCAL "local"
#define HUB_USER_INSECURE "insecure"

/* The role of user ("admin", "read"), or NULL when it may do nothing (an
 * unknown or revoked operator). */
const char *hub_auth_role(struct hub *h, MDB_txn *txn, const char *user, char *buf, size_t len);
/* Before an operator write applies: 0 when its user may do it; otherwise
 * the answer says why (and the write is audited as refused). */
int hub_auth_check_write(struct hub *h, MDB_txn *txn, struct hub_work *w);
/* Who a CurveZMQ public key (Z85) speaks for, read in txn (the ZAP
 * handler at the handshake, the writer on every message): 0 when it is a
 * current key of an active store (store filled), -1 with why ("unknown
 * key", "store S is revoked"). A retired key is unknown. */
int hub_auth_store_key(struct hub *h, MDB_txn *txn, const char *key, char *store, size_t len,
	char *why, size_t whylen);
/* The same for the operators' endpoint: 0 when key is an active operator's
 * (its name filled). */
int hub_auth_operator_key(struct hub *h, MDB_txn *txn, const char *key, char *name,
	size_t len, char *why, size_t whylen);

/* Keys (hub_op_keys.c): 0 when key belongs to nobody or to store already,
 * -1 with a reason otherwise; index key as store's. */
int hub_keys_check_free(struct hub *h, MDB_txn *txn, const char *key, const char *store,
	char *err, size_t errlen);
int hub_keys_index_store(struct hub *h, MDB_txn *txn, const char *key, const char *store);

/* Writes w's audit entry in the round's transaction. */
int hub_audit_write(struct hub *h, struct hub_round *r, MDB_txn *txn, struct hub_work *w);

#endif
