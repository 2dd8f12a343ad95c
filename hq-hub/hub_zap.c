/* hub_zap: the hub's door keeper. Every connection to the store link and
 * to the operators' endpoint passes its ZAP handler (ZeroMQ RFC 27) during
 * the handshake, before the peer can send a single message; the handler
 * decides on what the handshake shows, and names who the peer is.
 *
 * Who: both doors speak CurveZMQ (unless the hub runs --insecure). On the
 * store link ("storesync-link") a key is admitted when it is a current key
 * of an active registered store, and the connection's User-Id (which
 * libzmq puts on every message it delivers) is the key itself: the writer
 * maps it to its store on every message against the live registry, so a
 * revocation or a retired key takes effect on connections already open
 * (libzmq cannot drop one peer of a ROUTER). On the operators' endpoint
 * ("storesync-ops") a key is admitted when it is an active operator's,
 * and User-Id is the operator's name, whose role the query workers and the
 * writer check on every request. Keys are read in a read transaction of
 * the hub's LMDB, so a store added or revoked counts at the next handshake.
 * Without Curve (--insecure) the link admits the NULL mechanism and gives
 * no User-Id: the hub then trusts the store id a link states first.
 *
 * How many: per source address the handler allows at most
 * links_per_source live store-link connections and handshakes_per_second
 * handshakes (a token bucket holding two seconds' worth), so a flood from
 * one address (connections opened and dropped, a pile of idle ones, bogus
 * handshakes) cannot take the writer's time or the descriptors and memory
 * that registered stores need. Stores at other addresses are never
 * touched, and a live connection is never cut: a refusal only ever stops a
 * new one. Local peers (ipc://, which show no address; the socket file's
 * mode decides who they are) are not limited.
 *
 * How many per store: a store's keys may hold at most LINKS_PER_STORE live
 * link connections, wherever they come from (local ones too), so what one
 * compromised store can make libzmq queue is that many connections' worth
 * (docs/security.md, "Worst case per daemon"). Two, not one: an agent that
 * gave up on a silent hub dials again while the hub may still hold the old
 * connection (TCP keepalive and ZMQ_TCP_MAXRT end a dead one within about
 * a minute, ss_link.c), and
 * during a rotation the old key's connection and the new key's are both
 * live. The store is counted on the connection the answer is given to (as
 * below: its source's oldest waiting one; local ones in the order they
 * were accepted) until that one closes. A misattribution only swaps which
 * of two connections handshaking at once carries the count, and one that
 * never finishes its handshake (libzmq drops it after ZMQ_HANDSHAKE_IVL,
 * 30 s) can carry another's until then; a connection the monitor has not
 * shown yet is admitted uncounted, never refused on a count that may be
 * wrong. (Should libzmq ever drop monitor events, its queue full during a
 * storm of connections, the answers of one source could go to the wrong
 * connections of that source until they close; nothing is admitted that
 * ZAP refused, only the counts would be off.)
 *
 * Live connections are counted from the socket monitor of the link: ZeroMQ
 * reports ACCEPTED with the descriptor (whose peer address is read then)
 * and DISCONNECTED when it ends, however it ends. A ZAP request does not
 * name its descriptor, so each answer is given to the source's oldest
 * connection still waiting for one (handshakes finish about in the order
 * they start); a misattribution only shifts which of the source's
 * connections is counted, and is undone when they close. That includes the
 * connections libzmq cuts without telling the application (a frame above
 * ZMQ_MAXMSGSIZE, a protocol error), which is where hqctl stats counts them
 * (link_disconnects, query_disconnects). Refusals are counted and logged
 * at most once per source per interval.
 *
 * How many in all: the same monitor feeds the store link's admission
 * (hub_listen.c: at most max_stores connections, the rest shut down as
 * they are accepted). libzmq keeps one monitor per socket, a second
 * zmq_socket_monitor replacing the first, so the link has this one, read
 * here, and the guard is a set of functions this thread calls. A
 * connection the guard refuses never reaches a handshake, so it is not
 * tracked per source.
 *
 * One thread owns the handler's socket and the monitors; it shares only
 * the atomic counters and the LMDB environment with the rest of the hub. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <utlist.h>
#include <uthash.h>
#include <zmq.h>

#include "hub.h"
#include "hub_auth.h"
#include "hub_zap.h"
#include "ss_curve.h"
#include "ss_link.h"
#include "ss_time.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define POLL_MS 200
#define LOG_INTERVAL_MS 10000
#define SWEEP_EVERY_MS 60000
#define MAX_SOURCES 65536         /* addresses remembered at once */
#define BURST_SECONDS 2
#define ADDR_BYTES 64
#define LINKS_PER_STORE 2         /* see the top: a reconnect, a rotation */
#define STORE_ID_BYTES 72

/* What the handler knows of one source address. */
struct conn;

struct source {
	UT_hash_handle hh;
	char addr[ADDR_BYTES];
	unsigned admitted;            /* connections open now that the handler let in */
	struct conn *waiting;         /* open, not yet answered: oldest first (utlist) */
	double tokens;                /* handshakes it may start now */
	int64_t refill_mono;
	struct ss_lograte log;
};

/* The live link connections of one store, by its id. */
struct store_links {
	UT_hash_handle hh;
	char id[STORE_ID_BYTES];
	unsigned live;
};

/* A live connection of the link, by its descriptor. */
struct conn {
	UT_hash_handle hh;
	int fd;
	struct source *src;           /* NULL for a local peer */
	enum { CONN_WAITING, CONN_ADMITTED, CONN_REFUSED } state;
	struct conn *prev, *next;     /* in src->waiting while CONN_WAITING */
	int unnamed;                  /* local, in hub_zap.unnamed: no answer yet */
	struct conn *uprev, *unext;
	struct store_links *store;    /* whose key it was admitted with */
};

struct watched {
	void *pair;                   /* receives the socket's monitor events */
	enum hub_zap_door door;
};

struct hub_zap {
	struct hub *h;
	void *zap;                    /* REP on ZAP_ENDPOINT */
	struct watched w[3];           /* the link, the operators' endpoint, the admin socket */
	size_t n_watched;
	pthread_t thread;
	int started;
	struct source *sources;
	size_t n_sources;
	struct conn *conns;
	struct conn *unnamed;         /* local, not answered yet: oldest first */
	struct store_links *stores;
	int64_t next_sweep_mono;
	struct hub_guard *guard;      /* the link's admission (hub_listen.c) */
};

/* ---- sources ---- */

static struct source *source_get(struct hub_zap *z, const char *addr)
{
	struct source *s;

	HASH_FIND_STR(z->sources, addr, s);
	if (s || z->n_sources >= MAX_SOURCES || !(s = calloc(1, sizeof *s)))
		return s;
	snprintf(s->addr, sizeof s->addr, "%s", addr);
	s->tokens = (double)z->h->cfg.handshakes_per_second * BURST_SECONDS;
	s->refill_mono = ss_mono_ms();
	HASH_ADD_STR(z->sources, addr, s);
	z->n_sources++;
	return s;
}

/* Forgets sources with nothing open and a full bucket: they are as new. */
static void sources_sweep(struct hub_zap *z)
{
	double full = (double)z->h->cfg.handshakes_per_second * BURST_SECONDS;
	int64_t now = ss_mono_ms();
	struct source *s, *tmp;

	if (now < z->next_sweep_mono)
		return;
	z->next_sweep_mono = now + SWEEP_EVERY_MS;
	HASH_ITER(hh, z->sources, s, tmp)
		if (s->admitted == 0 && !s->waiting && s->tokens + (double)(now - s->refill_mono) / 1000.0
			* (double)z->h->cfg.handshakes_per_second >= full) {
			HASH_DEL(z->sources, s);
			free(s);
			z->n_sources--;
		}
}

static void refill(struct hub_zap *z, struct source *s)
{
	double rate = (double)z->h->cfg.handshakes_per_second, full = rate * BURST_SECONDS;
	int64_t now = ss_mono_ms();

	s->tokens += (double)(now - s->refill_mono) / 1000.0 * rate;
	if (s->tokens > full)
		s->tokens = full;
	s->refill_mono = now;
}

/* ---- the monitors ---- */

/* The peer address of an accepted descriptor as ZAP spells it; "" for a
 * local (ipc) peer or one already gone. */
static void peer_address(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	out[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)len);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)len);
}

static void link_accepted(struct hub_zap *z, int fd)
{
	char addr[ADDR_BYTES];
	struct conn *c;

	atomic_fetch_add(&z->h->stats.link_accepted, 1);
	atomic_fetch_add(&z->h->stats.link_open, 1);
	if (!hub_listen_accepted(z->guard, fd))
		return;
	peer_address(fd, addr, sizeof addr);
	HASH_FIND_INT(z->conns, &fd, c);
	if (c || !(c = calloc(1, sizeof *c)))
		return;
	c->fd = fd;
	if (!addr[0]) {
		c->state = CONN_ADMITTED;   /* no source limits to answer for */
		c->unnamed = 1;
		DL_APPEND2(z->unnamed, c, uprev, unext);
	} else if ((c->src = source_get(z, addr)) != NULL) {
		c->state = CONN_WAITING;
		DL_APPEND(c->src->waiting, c);
	} else {
		free(c);
		return;
	}
	HASH_ADD_INT(z->conns, fd, c);
}

static void store_release(struct hub_zap *z, struct store_links *sl)
{
	if (--sl->live > 0)
		return;
	HASH_DEL(z->stores, sl);
	free(sl);
}

static void link_closed(struct hub_zap *z, int fd)
{
	struct conn *c;

	atomic_fetch_add(&z->h->stats.link_disconnects, 1);
	if (atomic_load(&z->h->stats.link_open) > 0)
		atomic_fetch_sub(&z->h->stats.link_open, 1);
	hub_listen_closed(z->guard, fd);
	HASH_FIND_INT(z->conns, &fd, c);
	if (!c)
		return;
	if (c->src && c->state == CONN_WAITING)
		DL_DELETE(c->src->waiting, c);
	else if (c->src && c->state == CONN_ADMITTED)
		c->src->admitted--;
	if (c->unnamed)
		DL_DELETE2(z->unnamed, c, uprev, unext);
	if (c->store)
		store_release(z, c->store);
	HASH_DEL(z->conns, c);
	free(c);
}

/* The handler's answer for source s goes to its oldest waiting connection
 * (returned; NULL when the monitor has shown none). */
static struct conn *answered(struct source *s, int admitted)
{
	struct conn *c = s->waiting;

	if (!c)
		return NULL;
	DL_DELETE(s->waiting, c);
	c->state = admitted ? CONN_ADMITTED : CONN_REFUSED;
	if (admitted)
		s->admitted++;
	return c;
}

static void on_event(struct hub_zap *z, const struct watched *w, uint16_t event, int32_t value)
{
	struct hub_stats *st = &z->h->stats;

	if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
		| ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
		atomic_fetch_add(&st->handshake_failures, 1);
	else if (w->door == HUB_ZAP_QUERY && event == ZMQ_EVENT_DISCONNECTED)
		atomic_fetch_add(&st->query_disconnects, 1);
	else if (w->door == HUB_ZAP_LINK && event == ZMQ_EVENT_ACCEPTED)
		link_accepted(z, value);
	else if (w->door == HUB_ZAP_LINK && event == ZMQ_EVENT_DISCONNECTED)
		link_closed(z, value);
	else if (w->door == HUB_ZAP_LINK && event == ZMQ_EVENT_ACCEPT_FAILED)
		hub_listen_accept_failed(z->guard, value);
}

/* Every event waiting on w: [event u16, value u32][endpoint]. */
static void drain_monitor(struct hub_zap *z, const struct watched *w)
{
	uint16_t event;
	int32_t value;

	while (ss_link_monitor_event(w->pair, &event, &value))
		on_event(z, w, event, value);
}

/* ---- the handler ---- */

/* A handshake as ZAP states it (RFC 27); the strings are cut to size. */
struct zap_request {
	char version[8], request_id[64], domain[64], address[ADDR_BYTES], mechanism[16];
	char key[SS_CURVE_KEY_CHARS + 1];   /* a CURVE client's public key, Z85; "" */
	int frames;
};

#define ZAP_KEPT_FRAMES 7

static void frame_text(zmq_msg_t *m, char *out, size_t len)
{
	size_t n = zmq_msg_size(m) < len - 1 ? zmq_msg_size(m) : len - 1;

	memcpy(out, zmq_msg_data(m), n);
	out[n] = '\0';
}

/* The per-source limits: NULL to admit, else the reason (and its counter). */
static const char *source_limits(struct hub_zap *z, struct source *s,
	atomic_uint_fast64_t **counter)
{
	if (s->admitted >= (unsigned)z->h->cfg.links_per_source) {
		*counter = &z->h->stats.zap_refused_connections;
		return "too many connections from this address";
	}
	refill(z, s);
	if (s->tokens < 1.0) {
		*counter = &z->h->stats.zap_refused_rate;
		return "too many handshakes from this address";
	}
	s->tokens -= 1.0;
	return NULL;
}

/* The oldest local connection not answered yet. */
static struct conn *next_unnamed(struct hub_zap *z)
{
	struct conn *c = z->unnamed;

	if (c) {
		DL_DELETE2(z->unnamed, c, uprev, unext);
		c->unnamed = 0;
	}
	return c;
}

/* A local (ipc) peer's address as libzmq gives it to ZAP:
 * "localhost:UID:GID:PID" (SO_PEERCRED), where the monitor's descriptor
 * shows none. */
static int local_address(const char *addr)
{
	return !addr[0] || strncmp(addr, "localhost:", 10) == 0;
}

/* *c: the connection the answer is for. */
static const char *source_admit(struct hub_zap *z, const char *addr, struct conn **c,
	atomic_uint_fast64_t **counter)
{
	struct source *s;
	const char *why;

	*c = NULL;
	if (local_address(addr)) {
		*c = next_unnamed(z);
		return NULL;   /* local: the socket file's mode decides */
	}
	if (!(s = source_get(z, addr))) {
		*counter = &z->h->stats.zap_refused_rate;
		return "too many sources at once";
	}
	why = source_limits(z, s, counter);
	*c = answered(s, why == NULL);
	return why;
}

/* The key's owner at door (the User-Id to give), or why it may not in. */
static const char *key_admit(struct hub_zap *z, const struct zap_request *q, int link,
	char *user_id, size_t ulen, char who[STORE_ID_BYTES], atomic_uint_fast64_t **counter)
{
	static char why[160];   /* only this thread decides */
	MDB_txn *txn;
	int rc;

	*counter = &z->h->stats.zap_refused_keys;
	if (!q->key[0])
		return "no CURVE key";
	if (ss_lmdb_read_begin(&z->h->db, &txn) != 0)
		return "cannot read the registry";
	rc = link ? hub_auth_store_key(z->h, txn, q->key, who, STORE_ID_BYTES, why, sizeof why)
		: hub_auth_operator_key(z->h, txn, q->key, who, STORE_ID_BYTES, why, sizeof why);
	ss_lmdb_read_end(&z->h->db, txn);
	if (rc != 0)
		return why;
	snprintf(user_id, ulen, "%s", link ? q->key : who);
	return NULL;
}

/* The per-store limit: NULL to admit connection c (counted for store),
 * else the reason. */
static const char *store_admit(struct hub_zap *z, struct conn *c, const char *store,
	atomic_uint_fast64_t **counter)
{
	static char why[160];   /* only this thread decides */
	struct store_links *sl;

	HASH_FIND_STR(z->stores, store, sl);
	if (sl && sl->live >= LINKS_PER_STORE) {
		*counter = &z->h->stats.zap_refused_store_links;
		snprintf(why, sizeof why, "store %s already has %d connections open", store,
			LINKS_PER_STORE);
		return why;
	}
	if (!c)
		return NULL;
	if (!sl) {
		if (!(sl = calloc(1, sizeof *sl)))
			return NULL;
		snprintf(sl->id, sizeof sl->id, "%s", store);
		HASH_ADD_STR(z->stores, id, sl);
	}
	sl->live++;
	c->store = sl;
	return NULL;
}

/* The verdict on one handshake: NULL to admit (user_id filled), else why
 * not. */
static const char *zap_decide(struct hub_zap *z, const struct zap_request *q, char *user_id,
	size_t ulen, atomic_uint_fast64_t **counter)
{
	int link = strcmp(q->domain, HUB_ZAP_DOMAIN_LINK) == 0;
	struct conn *c = NULL;
	char who[STORE_ID_BYTES];
	const char *why;

	user_id[0] = '\0';
	*counter = &z->h->stats.zap_refused_protocol;
	if (strcmp(q->version, "1.0") != 0 || q->frames < 6)
		return "malformed ZAP request";
	if (!link && strcmp(q->domain, HUB_ZAP_DOMAIN_OPS) != 0)
		return "unknown ZAP domain";
	if (strcmp(q->mechanism, z->h->cfg.insecure ? "NULL" : "CURVE") != 0)
		return "mechanism not accepted";
	if (link && (why = source_admit(z, q->address, &c, counter)) != NULL)
		return why;
	if (z->h->cfg.insecure)
		return NULL;
	if ((why = key_admit(z, q, link, user_id, ulen, who, counter)) != NULL)
		return why;
	return link ? store_admit(z, c, who, counter) : NULL;
}

static void log_refusal(struct hub_zap *z, const char *addr, const char *why)
{
	struct source *s = addr[0] ? source_get(z, addr) : NULL;
	static struct ss_lograte others;   /* only this thread logs here */
	uint64_t held = 0;

	if (ss_lograte_allow(s ? &s->log : &others, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("link: refused a connection from %s: %s%s",
			addr[0] ? addr : "(local)", why, ss_lograte_note(held));
}

static void send_reply(void *sock, const char *request_id, const char *code, const char *text,
	const char *user_id)
{
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(sock, request_id, strlen(request_id), ZMQ_SNDMORE);
	zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

static void serve_request(struct hub_zap *z)
{
	zmq_msg_t f[ZAP_KEPT_FRAMES];
	struct zap_request q = { 0 };
	atomic_uint_fast64_t *counter = NULL;
	char user_id[72];
	const char *why;
	int n = ss_link_recv(z->zap, f, ZAP_KEPT_FRAMES, ZMQ_DONTWAIT);

	if (n <= 0)
		return;
	q.frames = n;
	if (n >= 6) {
		frame_text(&f[0], q.version, sizeof q.version);
		frame_text(&f[1], q.request_id, sizeof q.request_id);
		frame_text(&f[2], q.domain, sizeof q.domain);
		frame_text(&f[3], q.address, sizeof q.address);
		frame_text(&f[5], q.mechanism, sizeof q.mechanism);
	}
	if (n >= 7 && zmq_msg_size(&f[6]) == 32)
		zmq_z85_encode(q.key, zmq_msg_data(&f[6]), 32);
	ss_link_close_frames(f, n < ZAP_KEPT_FRAMES ? n : ZAP_KEPT_FRAMES);
	/* What the monitor saw first (the connection's ACCEPTED) counts now. */
	for (size_t i = 0; i < z->n_watched; i++)
		drain_monitor(z, &z->w[i]);
	why = zap_decide(z, &q, user_id, sizeof user_id, &counter);
	if (!why) {
		send_reply(z->zap, q.request_id, "200", "OK", user_id);
		return;
	}
	atomic_fetch_add(counter, 1);
	log_refusal(z, q.address, why);
	send_reply(z->zap, q.request_id, "400", why, "");
}

static void *zap_main(void *arg)
{
	struct hub_zap *z = arg;

	while (!atomic_load(&z->h->stopping)) {
		zmq_pollitem_t items[4] = { { z->zap, 0, ZMQ_POLLIN, 0 } };

		for (size_t i = 0; i < z->n_watched; i++)
			items[1 + i] = (zmq_pollitem_t){ z->w[i].pair, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(items, 1 + (int)z->n_watched, POLL_MS) < 0)
			continue;
		for (size_t i = 0; i < z->n_watched; i++)
			drain_monitor(z, &z->w[i]);
		if (items[0].revents & ZMQ_POLLIN)
			serve_request(z);
		sources_sweep(z);
	}
	return NULL;
}

/* ---- set-up ---- */

int hub_zap_open(struct hub *h, char *err, size_t errlen)
{
	struct hub_zap *z = calloc(1, sizeof *z);
	int linger = 0;

	if (!z) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->zap = z;
	z->h = h;
	z->zap = zmq_socket(h->zctx, ZMQ_REP);
	if (z->zap)
		zmq_setsockopt(z->zap, ZMQ_LINGER, &linger, sizeof linger);
	if (!z->zap || zmq_bind(z->zap, ZAP_ENDPOINT) != 0) {
		snprintf(err, errlen, "cannot bind the ZAP handler: %s", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int hub_zap_watch(struct hub *h, void *sock, enum hub_zap_door door, char *err, size_t errlen)
{
	static const int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED
		| ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
		| ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
	struct hub_zap *z = h->zap;
	struct watched *w = &z->w[z->n_watched];
	char ep[64];

	if (z->n_watched >= sizeof z->w / sizeof z->w[0]) {
		snprintf(err, errlen, "too many sockets to watch");
		return -1;
	}
	snprintf(ep, sizeof ep, "inproc://hub-monitor-%zu", z->n_watched);
	if (door == HUB_ZAP_LINK) {
		if (!z->guard && !(z->guard = hub_listen_guard_new(h, err, errlen)))
			return -1;
		zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, HUB_ZAP_DOMAIN_LINK, strlen(HUB_ZAP_DOMAIN_LINK));
	}
	if (!(w->pair = ss_link_monitor(h->zctx, sock, ep, events))) {
		snprintf(err, errlen, "cannot monitor %s: %s",
			door == HUB_ZAP_LINK ? "the store link" : "the query endpoint",
			zmq_strerror(errno));
		return -1;
	}
	w->door = door;
	z->n_watched++;
	return 0;
}

int hub_zap_start(struct hub *h, char *err, size_t errlen)
{
	struct hub_zap *z = h->zap;

	if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
		snprintf(err, errlen, "cannot start the ZAP handler");
		return -1;
	}
	z->started = 1;
	return 0;
}

void hub_zap_close(struct hub *h)
{
	struct hub_zap *z = h->zap;
	struct source *s, *ts;
	struct conn *c, *tc;
	struct store_links *sl, *tsl;

	if (!z)
		return;
	atomic_store(&h->stopping, 1);
	if (z->started)
		pthread_join(z->thread, NULL);
	for (size_t i = 0; i < z->n_watched; i++)
		zmq_close(z->w[i].pair);
	if (z->zap)
		zmq_close(z->zap);
	HASH_ITER(hh, z->conns, c, tc) {
		HASH_DEL(z->conns, c);
		free(c);
	}
	HASH_ITER(hh, z->sources, s, ts) {
		HASH_DEL(z->sources, s);
		free(s);
	}
	HASH_ITER(hh, z->stores, sl, tsl) {
		HASH_DEL(z->stores, sl);
		free(sl);
	}
	hub_listen_guard_destroy(&z->guard);
	free(z);
	h->zap = NULL;
}
