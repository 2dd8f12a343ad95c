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
 * with the reason. While it runs, a monitor on the store link reports
 * every accepted connection with its descriptor and every closed one, and
 * a guard thread admits at most max_stores: past that, it shuts the new
 * connection's descriptor down at once (libzmq then closes it and frees
 * the descriptor; the agent backs off and tries again), counts it and logs
 * once per interval. The stores already connected keep being served, and
 * so do queries. A store whose old connection the kernel has not yet found
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
#include <sys/socket.h>

#include "hub.h"
#include "ss_link.h"
#include "ss_time.h"

#define MONITOR_ENDPOINT "inproc://hub-link-monitor"
#define LOG_INTERVAL_MS 10000
#define POLL_MS 200
/* The reserve: what an idle hub holds (28 descriptors with 4 query
 * threads), with room; operators' connections at once; refused
 * connections not yet closed by libzmq. */
#define RESERVE_FIXED 64
#define RESERVE_PER_QUERY_THREAD 4
#define RESERVE_OPERATORS 64
#define RESERVE_REFUSALS 128

enum { CONN_NONE, CONN_ADMITTED, CONN_REFUSED };

struct hub_guard {
	struct hub *h;
	pthread_t thread;
	void *monitor;             /* PAIR: the store link's events */
	int64_t admitted;          /* connections open and admitted */
	uint8_t *state;            /* by descriptor: CONN_* */
	size_t n_state;
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

static void refuse(struct hub_guard *g, int fd)
{
	struct hub *h = g->h;
	uint64_t held = 0;

	if ((size_t)fd < g->n_state)
		g->state[fd] = CONN_REFUSED;
	/* libzmq sees the connection end and closes the descriptor. */
	shutdown(fd, SHUT_RDWR);
	atomic_fetch_add(&h->stats.stores_refused, 1);
	if (ss_lograte_allow(&g->refused_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_warn("store link full (%lld connections, max_stores %lld): a new connection "
			"refused (%llu more since the last line)", (long long)g->admitted,
			(long long)h->cfg.max_stores, (unsigned long long)held);
}

static void on_accepted(struct hub_guard *g, int fd)
{
	if (fd < 0 || (size_t)fd >= g->n_state || g->admitted >= g->h->cfg.max_stores) {
		refuse(g, fd);
		return;
	}
	g->state[fd] = CONN_ADMITTED;
	g->admitted++;
}

static void on_closed(struct hub_guard *g, int fd)
{
	if (fd < 0 || (size_t)fd >= g->n_state)
		return;
	if (g->state[fd] == CONN_ADMITTED)
		g->admitted--;
	g->state[fd] = CONN_NONE;
}

static void on_accept_failed(struct hub_guard *g, int error)
{
	uint64_t held = 0;

	atomic_fetch_add(&g->h->stats.accept_failures, 1);
	if (ss_lograte_allow(&g->failed_log, ss_mono_ms(), LOG_INTERVAL_MS, &held))
		ss_error("store link: accept failed: %s (%llu more since the last line)",
			strerror(error), (unsigned long long)held);
}

/* Returns 1 once monitoring has stopped (the hub is closing the link). */
static int read_events(struct hub_guard *g)
{
	zmq_msg_t f[2];
	int n, stopped = 0;

	while ((n = ss_link_recv(g->monitor, f, 2, ZMQ_DONTWAIT)) > 0) {
		uint16_t event = 0;
		uint32_t value = 0;

		if (zmq_msg_size(&f[0]) >= 6) {
			memcpy(&event, zmq_msg_data(&f[0]), sizeof event);
			memcpy(&value, (uint8_t *)zmq_msg_data(&f[0]) + 2, sizeof value);
		}
		ss_link_close_frames(f, n < 2 ? n : 2);
		if (event == ZMQ_EVENT_ACCEPTED)
			on_accepted(g, (int)value);
		else if (event == ZMQ_EVENT_DISCONNECTED)
			on_closed(g, (int)value);
		else if (event == ZMQ_EVENT_ACCEPT_FAILED)
			on_accept_failed(g, (int)value);
		else if (event == ZMQ_EVENT_MONITOR_STOPPED)
			stopped = 1;
	}
	atomic_store(&g->h->stats.store_links, (uint64_t)g->admitted);
	return stopped;
}

/* Reads events until the monitor stops: libzmq sends them blocking, so an
 * unread monitor would stall the I/O thread. */
static void *guard_main(void *arg)
{
	struct hub_guard *g = arg;

	for (;;) {
		zmq_pollitem_t it = { g->monitor, 0, ZMQ_POLLIN, 0 };

		if (zmq_poll(&it, 1, POLL_MS) > 0 && read_events(g))
			break;
	}
	zmq_close(g->monitor);
	return NULL;
}

int hub_listen_guard_start(struct hub *h, char *err, size_t errlen)
{
	struct hub_guard *g = calloc(1, sizeof *g);
	struct rlimit rl;

	if (!g || getrlimit(RLIMIT_NOFILE, &rl) != 0)
		goto fail;
	g->h = h;
	g->n_state = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (size_t)rl.rlim_cur;
	if (!(g->state = calloc(g->n_state, 1)))
		goto fail;
	/* Before the bind, or early connections would go uncounted. */
	if (zmq_socket_monitor(h->router, MONITOR_ENDPOINT, ZMQ_EVENT_ACCEPTED
		| ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_MONITOR_STOPPED) != 0
		|| !(g->monitor = zmq_socket(h->zctx, ZMQ_PAIR))
		|| zmq_connect(g->monitor, MONITOR_ENDPOINT) != 0
		|| pthread_create(&g->thread, NULL, guard_main, g) != 0)
		goto fail;
	h->guard = g;
	return 0;
fail:
	snprintf(err, errlen, "cannot watch the store link's connections: %s",
		zmq_strerror(errno));
	if (g && g->monitor)
		zmq_close(g->monitor);
	if (g)
		free(g->state);
	free(g);
	return -1;
}

void hub_listen_guard_stop(struct hub *h)
{
	struct hub_guard *g = h->guard;

	if (!g)
		return;
	/* On the router's own thread; the guard reads MONITOR_STOPPED and ends. */
	zmq_socket_monitor(h->router, NULL, 0);
	pthread_join(g->thread, NULL);
	free(g->state);
	free(g);
	h->guard = NULL;
}
