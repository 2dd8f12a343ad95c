/* hub_link: the connections of the store link (ROUTER) and what the hub says
 * on it. A connection is known by its ZeroMQ routing id. With CurveZMQ its
 * store is the one its key belongs to (the ZAP handler admitted the key;
 * every message carries it as User-Id and is checked against the live
 * registry), and a Hello or Batch that claims another store is refused as
 * an impersonation. Without Curve (--insecure) a connection learns its
 * store from the first Hello or Batch and may not speak for another store
 * after that. Refusals are answered with an Error, counted, and logged at most
 * once per peer per interval, so a hostile or broken peer cannot flood the
 * log. */
#include <stdlib.h>
#include <string.h>

#include "hub_auth.h"
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
		p->sent_since_heartbeat = 1;
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
		ss_warn("peer %s: refused: %s%s",
			p->store_id[0] ? p->store_id : "(no hello yet)", reason,
			ss_lograte_note(held));
	e.code = code;
	e.has_code = 1;
	e.reason = (char *)reason;
	m.kind_case = STORESYNC__LINK_MESSAGE__KIND_ERROR;
	m.error = &e;
	hub_link_send(h, p, &m);
}

static void unbind(struct hub *h, struct hub_peer *p)
{
	if (!p->store_id[0])
		return;
	hub_down_forget(h, p);
	p->store_id[0] = '\0';
	p->live = NULL;   /* its store's entry; the next store claimed has its own */
}

/* Who p's key is now: p->key_ok, p->key_store. A message under p's routing
 * id with another key than p had comes from another connection (a client
 * may name its routing id, and take the one a closed link had): p is then
 * bound to no store until that connection's own Hello or Batch. */
static void key_check(struct hub *h, struct hub_peer *p, const char *key)
{
	char why[160] = "cannot read the registry";
	uint64_t held = 0;
	MDB_txn *txn;

	if (p->key_checked && strcmp(p->key, key) != 0)
		unbind(h, p);
	snprintf(p->key, sizeof p->key, "%s", key);
	p->key_ok = 0;
	if (strlen(key) == SS_CURVE_KEY_CHARS && ss_lmdb_read_begin(&h->db, &txn) == 0) {
		p->key_ok = hub_auth_store_key(h, txn, key, p->key_store, sizeof p->key_store, why,
			sizeof why) == 0;
		ss_lmdb_read_end(&h->db, txn);
	} else if (!key[0]) {
		snprintf(why, sizeof why, "no CurveZMQ key on the message");
	}
	p->key_gen = h->registry_gen;
	p->key_checked = 1;
	if (p->key_ok)
		return;
	unbind(h, p);
	if (ss_lograte_allow(&p->rate, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("link key %.8s...: %s: its messages are ignored%s",
			key, why, ss_lograte_note(held));
}

int hub_link_authorize(struct hub *h, struct hub_peer *p, const char *key)
{
	if (h->cfg.insecure)
		return 0;
	if (!p->key_checked || p->key_gen != h->registry_gen || strcmp(p->key, key) != 0)
		key_check(h, p, key);
	if (p->key_ok)
		return 0;
	atomic_fetch_add(&h->stats.unauthorized_messages, 1);
	return -1;
}

void hub_link_revalidate(struct hub *h)
{
	struct hub_peer *p, *tmp;
	char key[SS_CURVE_KEY_CHARS + 1];

	if (h->cfg.insecure)
		return;
	HASH_ITER(hh, h->peers, p, tmp)
		if (p->key_checked) {
			snprintf(key, sizeof key, "%s", p->key);
			key_check(h, p, key);
		}
}

int hub_link_claim(struct hub *h, struct hub_work *w, const char *store_id, uint64_t epoch)
{
	char why[160];

	if (!store_id || ss_validate_store_id(store_id) != 0 || epoch == 0) {
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_INVALID, &h->stats.invalid,
			"missing or invalid store_id or epoch");
		return -1;
	}
	if (!h->cfg.insecure && strcmp(store_id, w->peer->key_store) != 0) {
		snprintf(why, sizeof why, "message claims store %s; this link's key is store %s's",
			store_id, w->peer->key_store);
		hub_link_refuse(h, w->peer, STORESYNC__ERROR_CODE__ERR_WRONG_STORE,
			&h->stats.impersonations, why);
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
