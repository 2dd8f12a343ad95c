/* hub_listen: the store link's listening side: the descriptors the hub
 * needs, the listen backlog, and admission of connections.
 *
 * What libzmq 4.3.4 does when the process is out of descriptors (issue 14):
 *  - tcp_listener: accept() failing with EMFILE returns and leaves the
 *    connection queued; the listening socket stays readable, so the I/O
 *    thread fails again at once. It spins at 100%, and every socket of the
 *    context (the operators' endpoint too) waits behind it.
 *  - ipc_listener: EMFILE is not among the errors its errno_assert allows,
 *    so an ipc endpoint aborts the process ("Too many open files").
 *  - zmq_unbind cannot pause accepting: it closes the listener's accepted
 *    connections with it.
 * So the hub must never reach its limit. At start it raises RLIMIT_NOFILE
 * to what max_stores connections need plus a reserve (its own sockets,
 * LMDB, operators' connections, refusals in flight), or refuses to start
 * with the reason. While it runs, the store link's monitor reports every
 * accepted connection with its descriptor and every closed one, and the
 * guard here admits at most max_stores: past that, it shuts the new
 * connection's descriptor down at once (libzmq then closes it and frees
 * the descriptor; the agent backs off and tries again), counts it and logs
 * once per interval. The counting and the shutdown are ss_admit's, which
 * the agent's local endpoint uses too (max_local_clients). libzmq keeps one monitor per socket (a second
 * zmq_socket_monitor replaces the first), so the guard has no monitor of
 * its own: the door keeper's (hub_zap.c), which reads the link's events on
 * its thread, calls the guard's functions, and only that thread does. The
 * stores already connected keep being served, and so do queries. A store whose old connection the kernel has not yet found
 * dead (TCP keepalive, about a minute) holds two for that long: max_stores
 * should leave room above the chain's number of stores.
 *
 * The backlog: when a whole fleet connects at once (a cold start, a hub
 * restart), connections the hub has not accepted yet wait in the kernel's
 * queue; past it their SYNs are dropped and retried seconds later. The
 * queue is listen_backlog long, capped by net.core.somaxconn, which the
 * hub checks and warns about. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hub.h"
#include "ss_admit.h"
#include "ss_time.h"

#define LOG_INTERVAL_MS 10000
/* The reserve: what an idle hub holds (37 descriptors with 4 query
 * threads), with room; operators' connections at once; refused
 * connections not yet closed by libzmq. */
#define RESERVE_FIXED 64
#define RESERVE_PER_QUERY_THREAD 4
#define RESERVE_OPERATORS 64
#define RESERVE_REFUSALS 128

struct hub_guard {
	struct hub *h;
	struct ss_admit admit;     /* connections open and admitted (ss_admit.c) */
	struct ss_lograte refused_log, failed_log;
};

static uint64_t needed_fds(const struct hub_config *c)
{
	return (uint64_t)c->max_stores + RESERVE_FIXED
		+ RESERVE_PER_QUERY_THREAD * (uint64_t)c->query_threads + RESERVE_OPERATORS
		+ RESERVE_REFUSALS;
}

static void check_somaxconn(const struct hub_config *c)
{
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
	long max = -1;

	if (!f)
		return;
	if (fscanf(f, "%ld", &max) != 1)
		max = -1;
	fclose(f);
	if (max >= 0 && max < c->listen_backlog)
		ss_warn("listen_backlog %lld is capped at net.core.somaxconn %ld: a fleet that "
			"connects at once waits for SYN retries past that (sysctl -w "
			"net.core.somaxconn=%lld)", (long long)c->listen_backlog, max,
			(long long)c->listen_backlog);
}

int hub_listen_limits(const struct hub_config *c, char *err, size_t errlen)
{
	uint64_t need = needed_fds(c);
	struct rlimit rl;

	check_somaxconn(c);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need) {
		ss_debug("descriptor limit %llu covers max_stores %lld (%llu needed)",
			(unsigned long long)rl.rlim_cur, (long long)c->max_stores,
			(unsigned long long)need);
		return 0;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		snprintf(err, errlen, "max_stores %lld needs %llu open files but the hard limit is "
			"%llu: raise it (LimitNOFILE= in the unit, ulimit -Hn) or lower max_stores",
			(long long)c->max_stores, (unsigned long long)need,
			(unsigned long long)rl.rlim_max);
		return -1;
	}
	ss_info("open files limit raised from %llu to %llu for max_stores %lld",
		(unsigned long long)rl.rlim_cur, (unsigned long long)need, (long long)c->max_stores);
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)need,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- admission ---- */

struct hub_guard *hub_listen_guard_new(struct hub *h, char *err, size_t errlen)
{
	struct hub_guard *g = calloc(1, sizeof *g);

	/* A descriptor is below the soft limit, raised before the link opens
	 * (hub_listen_limits). */
	if (!g || ss_admit_init(&g->admit, h->cfg.max_stores, h->link_bound) != 0)
		goto fail;
	g->h = h;
	return g;
fail:
	snprintf(err, errlen, "cannot keep the store link's admission: %s", strerror(errno));
	free(g);
	return NULL;
}

void hub_listen_guard_destroy(struct hub_guard **gp)
{
	struct hub_guard *g = *gp;

	if (!g)
		return;
	ss_admit_free(&g->admit);
	free(g);
	*gp = NULL;
}

int hub_listen_accepted(struct hub_guard *g, int fd)
{
	struct hub *h = g->h;
	uint64_t held = 0;

	if (ss_admit_accepted(&g->admit, fd)) {
		atomic_store(&h->stats.store_links, (uint64_t)g->admit.admitted);
		return 1;
	}
	atomic_fetch_add(&h->stats.stores_refused, 1);
	if (ss_lograte_allow(&g->refused_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("store link full (%lld connections, max_stores %lld): a new connection "
			"refused%s", (long long)g->admit.admitted,
			(long long)h->cfg.max_stores, ss_lograte_note(held));
	return 0;
}

void hub_listen_closed(struct hub_guard *g, int fd)
{
	ss_admit_closed(&g->admit, fd);
	atomic_store(&g->h->stats.store_links, (uint64_t)g->admit.admitted);
}

void hub_listen_accept_failed(struct hub_guard *g, int error)
{
	uint64_t held = 0;

	atomic_fetch_add(&g->h->stats.accept_failures, 1);
	if (ss_lograte_allow(&g->failed_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_error("store link: accept failed: %s%s",
			strerror(error), ss_lograte_note(held));
}
