/* hub_link: the connections of the store link (ROUTER) and what the hub says
 * on it. A connection is known by its ZeroMQ routing id; it learns its store
 * from the first Hello or Batch and may not speak for another store after
 * that. Refusals are answered with an Error, counted, and logged at most
 * once per peer per interval, so a hostile or broken peer cannot flood the
 * log. */
#include <stdlib.h>
#include <string.h>

#include "hub_work.h"
#include "ss_time.h"
#include "ss_validate.h"

#define LOG_INTERVAL_MS 10000
#define PEER_IDLE_MS (10 * 60 * 1000)

struct hub_peer *hub_peer_get(struct hub *h, zmq_msg_t *id)
{
	struct hub_peer *p;
	size_t len = zmq_msg_size(id);

	HASH_FIND(hh, h->peers, zmq_msg_data(id), len, p);
	if (!p && len <= sizeof p->id && (p = calloc(1, sizeof *p)) != NULL) {
		memcpy(p->id, zmq_msg_data(id), len);
		p->id_len = len;
		HASH_ADD(hh, h->peers, id, len, p);
	}
	if (p)
		p->seen_mono = ss_mono_ms();
	return p;
}

void hub_peers_sweep(struct hub *h)
{
	struct hub_peer *p, *tmp;
	int64_t now = ss_mono_ms();

	HASH_ITER(hh, h->peers, p, tmp)
		if (now - p->seen_mono > PEER_IDLE_MS) {
			hub_down_forget(h, p);
			HASH_DEL(h->peers, p);
			free(p);
		}
}

void hub_peers_free(struct hub *h)
{
	struct hub_peer *p, *tmp;

	HASH_ITER(hh, h->peers, p, tmp) {
		hub_down_forget(h, p);
		HASH_DEL(h->peers, p);
		free(p);
	}
}

void hub_link_send(struct hub *h, struct hub_peer *p, Storesync__LinkMessage *m)
{
	m->proto_version = SS_PROTO_VERSION;
	m->has_proto_version = 1;
	/* ROUTER_MANDATORY: a peer that left gives EHOSTUNREACH; it will
	 * reconnect, say Hello and be resent from its high-water mark. */
	if (zmq_send(h->router, p->id, p->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
	if (ss_proto_send(h->router, &m->base, ZMQ_DONTWAIT) == 0)
		p->sent_mono = ss_mono_ms();
}

void hub_link_refuse(struct hub *h, struct hub_peer *p, Storesync__ErrorCode code,
	atomic_uint_fast64_t *counter, const char *reason)
{
	Storesync__LinkMessage m = STORESYNC__LINK_MESSAGE__INIT;
	Storesync__Error e = STORESYNC__ERROR__INIT;
	uint64_t held = 0;

	atomic_fetch_add(counter, 1);
	if (!p)
		return;
	if (ss_lograte_allow(&p->rate, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("peer %s: refused: %s (%llu more since last line)",
			p->store_id[0] ? p->store_id : "(no hello yet)", reason,
			(unsigned long long)held);
	e.code = code;
	e.has_code = 1;
	e.reason = (char *)reason;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_ERROR;
	m.error = &e;
	hub_link_send(h, p, &m);
}

int hub_link_claim(struct hub *h, struct hub_work *w, const char *store_id, uint64_t epoch)
{
	if (!store_id || ss_validate_store_id(store_id) != 0 || epoch == 0) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_INVALID, &h->stats.invalid,
			"missing or invalid store_id or epoch");
		return -1;
	}
	if (w->peer->store_id[0] && strcmp(w->peer->store_id, store_id) != 0) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_WRONG_STORE,
			&h->stats.invalid, "message claims another store than this link's");
		return -1;
	}
	snprintf(w->peer->store_id, sizeof w->peer->store_id, "%s", store_id);
	w->store_id = w->peer->store_id;
	w->epoch = epoch;
	return 0;
}
