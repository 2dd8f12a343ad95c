/* hub_zap: the hub's door keeper (hub_zap.c): a ZAP handler for the store
 * link and the socket monitors of the hub's endpoints. */
#ifndef HUB_ZAP_H
#define HUB_ZAP_H

#include <stddef.h>

struct hub;

/* The ZAP domains of the hub's two Curve doors. */
#define HUB_ZAP_DOMAIN_LINK "storesync-link"
#define HUB_ZAP_DOMAIN_OPS "storesync-ops"

/* Which endpoint a watched socket is (the admin socket counts as QUERY). */
enum hub_zap_door { HUB_ZAP_LINK, HUB_ZAP_QUERY };

/* Binds the ZAP handler's socket. Call before any socket it guards binds:
 * ZeroMQ asks only a handler that exists when the connection comes. */
int hub_zap_open(struct hub *h, char *err, size_t errlen);
/* Watches sock (before it binds): its connections and disconnections are
 * counted, and on the link every handshake goes through the handler (the
 * operators' endpoint asks it when it speaks Curve, ss_curve_server). At
 * most three sockets. */
int hub_zap_watch(struct hub *h, void *sock, enum hub_zap_door door, char *err, size_t errlen);
/* Starts the handler's thread (after every watch); hub_zap_close stops it
 * (h->stopping set) and closes its sockets. */
int hub_zap_start(struct hub *h, char *err, size_t errlen);
void hub_zap_close(struct hub *h);

#endif
