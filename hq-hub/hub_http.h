/* hub_http: the hub's HTTP listener and what it serves: /metrics
 * (hub_metrics.c), the status page (hub_status_page.c), and who may see
 * them (operators' tokens, hub_http.c). Everything here runs on the
 * listener's own thread and reads LMDB through read transactions only, as
 * the query workers do: a scrape or a page never holds up ingest. */
#ifndef HUB_HTTP_H
#define HUB_HTTP_H

#include <stdio.h>

#include "hub.h"

/* A store is shown "up" when the hub heard from it this recently. */
#define HUB_LINK_UP_MIN_MS 10000
int64_t hub_link_up_ms(const struct hub *h);

/* Starts the listener on h->cfg.http (nothing when it is "off"). Refuses an
 * address reachable from other hosts unless operators' tokens are
 * configured, and a tokens file others may read. 0, or -1 with a reason. */
int hub_http_start(struct hub *h, char *err, size_t errlen);
void hub_http_stop(struct hub *h);

/* The metrics in Prometheus's text format into f, from one read
 * transaction. 0, or -1 when storage could not be read. */
int hub_metrics_write(struct hub *h, FILE *f);

/* The status page (HTML) into f; refresh_s: how often the page reloads
 * itself. 0, or -1 when storage could not be read. */
int hub_status_page_write(struct hub *h, FILE *f, int refresh_s);

#endif
