/* hub_events: the hub's log of its stores' links, for the operator: a
 * store heard of for the first time, a store connecting (or reconnecting on
 * a new connection), disconnecting, changing its epoch, and a store whose
 * data directory was rolled back (in conflict).
 *
 * The writer thread owns all of it. A store is connected from its Hello on
 * a connection; it is taken as disconnected when nothing came from it for
 * three of its heartbeats (the interval its Hello states; the agent's
 * default when it states none), and never sooner than MIN_SILENCE_MS, so a round
 * the writer spends on a large batch is not mistaken for a gone store. A
 * ROUTER is not told which peer a closed connection was (libzmq has no
 * such event), so silence is what the hub can go by, as MQTT brokers go by
 * a client's keepalive.
 *
 * Lines about one store go through a limit of LINES_PER_WINDOW a minute: a
 * store that reconnects without end costs a few lines a minute, and the
 * next line that gets through says how many were held back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_registry.h"
#include "hub_work.h"
#include "ss_time.h"

#define MIN_SILENCE_MS 5000
/* An agent's interval when its Hello states none (store-agent's default). */
#define AGENT_HEARTBEAT_MS 3000
#define LINE_WINDOW_MS 60000
#define LINES_PER_WINDOW 6
#define MAX_PRESENCE 100000

struct hub_presence {
	UT_hash_handle hh;
	char store_id[33];
	uint8_t peer_id[256];      /* its current connection's routing id */
	size_t peer_len;
	int connected;
	int conflict;              /* its conflict was logged on this connection */
	int64_t heard_mono;        /* the last message from that connection */
	int64_t silence_ms;        /* taken as gone after this long without one */
	struct ss_lograte log;
};

/* A store's entry, made on its first Hello; NULL past MAX_PRESENCE stores
 * (a hub that lets unregistered stores in could be fed store ids without
 * end): those are not followed. */
static struct hub_presence *presence_get(struct hub *h, const char *store_id)
{
	struct hub_presence *p;

	HASH_FIND_STR(h->presence, store_id, p);
	if (p || HASH_COUNT(h->presence) >= MAX_PRESENCE || !(p = calloc(1, sizeof *p)))
		return p;
	snprintf(p->store_id, sizeof p->store_id, "%s", store_id);
	HASH_ADD_STR(h->presence, store_id, p);
	return p;
}

static int same_peer(const struct hub_presence *p, const struct hub_peer *peer)
{
	return p->peer_len == peer->id_len && memcmp(p->peer_id, peer->id, peer->id_len) == 0;
}

/* " (N lines about this store held back)" when some were, into buf. */
static int allow(struct hub_presence *p, char *held_text, size_t len)
{
	uint64_t held = 0;

	held_text[0] = '\0';
	if (!ss_lograte_allow_n(&p->log, ss_mono_ms(), LINE_WINDOW_MS, LINES_PER_WINDOW, &held))
		return 0;
	if (held)
		snprintf(held_text, len, " (%llu lines about this store held back)",
			(unsigned long long)held);
	return 1;
}

static void fmt_for(int64_t ms, char *buf, size_t len)
{
	if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else
		ss_time_format_duration(ms, buf, len);
}

/* "registered as "NAME", region R" (either may be missing) or "not
 * registered", from a read transaction of its own. */
static void registration(struct hub *h, const char *store_id, char *buf, size_t len)
{
	Storesync__StoreInfo *si = NULL;
	MDB_txn *txn;

	snprintf(buf, len, "not registered (hqctl store add)");
	if (ss_lmdb_read_begin(&h->db, &txn) != 0)
		return;
	si = hub_registry_get(h, txn, store_id);
	ss_lmdb_read_end(&h->db, txn);
	if (si) {
		int named = si->name && si->name[0], placed = si->region && si->region[0];

		snprintf(buf, len, "registered%s%.64s%s, %s%.40s", named ? " as \"" : "",
			named ? si->name : "", named ? "\"" : "", placed ? "region " : "no region",
			placed ? si->region : "");
	}
	storesync__store_info__free_unpacked(si, NULL);
}

/* The agent version a Hello states, as the store's state keeps it: a
 * longer one (a hostile Hello may carry megabytes) is not printed. */
static const char *version_of(const Storesync__Hello *hello)
{
	if (!hello->agent_version)
		return "?";
	return strnlen(hello->agent_version, 64) < 64 ? hello->agent_version : "(too long)";
}

static void log_new_and_epoch(struct hub *h, struct hub_presence *p, const struct hub_work *w)
{
	const Storesync__Hello *hello = w->msg->hello;
	char held[80], reg[160];

	if (w->first_contact && allow(p, held, sizeof held)) {
		registration(h, p->store_id, reg, sizeof reg);
		ss_info("new store %s: first heard from (epoch %016llx, agent %s, %s)%s",
			p->store_id, (unsigned long long)hello->epoch,
			version_of(hello), reg, held);
	}
	if (w->prev_epoch && w->prev_epoch != hello->epoch && allow(p, held, sizeof held))
		ss_warn("store %s changed epoch from %016llx to %016llx (a new data directory, or "
			"storectl reepoch): its seqs start again at 1, and what it sends again counts "
			"once by its business keys%s", p->store_id, (unsigned long long)w->prev_epoch,
			(unsigned long long)hello->epoch, held);
}

void hub_events_hello(struct hub *h, const struct hub_work *w)
{
	const Storesync__Hello *hello = w->msg->hello;
	struct hub_presence *p = presence_get(h, w->peer->store_id);
	int64_t stated = hello->has_heartbeat_ms && hello->heartbeat_ms > 0
		? (int64_t)hello->heartbeat_ms : AGENT_HEARTBEAT_MS;
	int fresh, conflict = hello->has_last_seq && hello->last_seq < w->through;
	char held[80];

	if (!p)
		return;
	fresh = !p->connected || !same_peer(p, w->peer);
	log_new_and_epoch(h, p, w);
	if (fresh && allow(p, held, sizeof held))
		ss_info("store %s %s (epoch %016llx, the hub holds through seq %llu, agent %s)%s",
			p->store_id, p->connected ? "reconnected on a new connection" : "connected",
			(unsigned long long)hello->epoch, (unsigned long long)w->through,
			version_of(hello), held);
	/* Once per connection: an agent repeats its Hello now and then. */
	if (conflict && (fresh || !p->conflict) && allow(p, held, sizeof held))
		ss_error("store %s is in conflict: its Hello says epoch %016llx ends at seq %llu, "
			"the hub holds it through %llu (its data directory was rolled back); it sends "
			"nothing until `storectl reepoch --confirm` at the store%s", p->store_id,
			(unsigned long long)hello->epoch, (unsigned long long)hello->last_seq,
			(unsigned long long)w->through, held);
	memcpy(p->peer_id, w->peer->id, w->peer->id_len);
	p->peer_len = w->peer->id_len;
	p->connected = 1;
	p->conflict = conflict;
	p->heard_mono = ss_mono_ms();
	p->silence_ms = 3 * stated > MIN_SILENCE_MS ? 3 * stated : MIN_SILENCE_MS;
}

void hub_events_heard(struct hub *h, const struct hub_peer *peer)
{
	struct hub_presence *p;
	char held[80], took[32];

	if (!peer || !peer->store_id[0])
		return;
	HASH_FIND_STR(h->presence, peer->store_id, p);
	if (!p || !same_peer(p, peer))
		return;
	if (!p->connected && allow(p, held, sizeof held)) {
		fmt_for(ss_mono_ms() - p->heard_mono, took, sizeof took);
		ss_info("store %s heard from again after %s of silence, on the same connection%s",
			p->store_id, took, held);
	}
	p->connected = 1;
	p->heard_mono = ss_mono_ms();
}

void hub_events_tick(struct hub *h)
{
	struct hub_presence *p, *tmp;
	int64_t now = ss_mono_ms();
	char held[80], took[32];

	HASH_ITER(hh, h->presence, p, tmp) {
		if (!p->connected || now - p->heard_mono <= p->silence_ms)
			continue;
		p->connected = 0;
		if (allow(p, held, sizeof held)) {
			fmt_for(now - p->heard_mono, took, sizeof took);
			ss_info("store %s disconnected: nothing heard for %s%s", p->store_id, took, held);
		}
	}
}

void hub_events_free(struct hub *h)
{
	struct hub_presence *p, *tmp;

	HASH_ITER(hh, h->presence, p, tmp) {
		HASH_DEL(h->presence, p);
		free(p);
	}
}
