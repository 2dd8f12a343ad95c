/* fleet_worker: one process of the fleet simulator, running its share of
 * the stores on one thread.
 *
 * Thousands of sockets are too many for zmq_poll (it rebuilds and scans
 * the whole set on every call), so the loop waits on epoll over each
 * socket's ZMQ_FD. That descriptor only says that the socket's state may
 * have changed: whenever it fires, and after anything was sent on the
 * socket, ZMQ_EVENTS is read again and every waiting message taken, or a
 * wake-up would be lost. Timers are kept per store (due_mono) and scanned
 * at most every TICK_MS, which bounds the scan's cost; records are stamped
 * when they are created, so the tick never shows in the latencies.
 *
 * Commands come from the driver on a DEALER to ipc://DIR/ctl.sock:
 * connect every store, set the record rate, reset the histogram, report,
 * mark for recovery, stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "fleet.h"
#include "ss_link.h"
#include "ss_time.h"

#define TICK_MS 2
#define MAX_EVENTS 512
#define CTL_TAG UINT64_MAX

struct worker {
	struct fleet_ctx x;
	struct fleet_store *stores;
	int n;
	void *ctl;
	int ep;
	int stop;
	struct fleet_counts counts;
	struct fleet_hist ack;
};

static int watch(struct worker *w, void *sock, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	int fd;
	size_t len = sizeof fd;

	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
		return -1;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* An empty store LMDB made once, read into memory for the stores to copy. */
static int make_seed(struct worker *w, const struct fleet_opts *o, int worker, void **buf)
{
	char dir[600], path[640], err[256];
	struct agent_db db;
	long len;
	FILE *f;

	snprintf(dir, sizeof dir, "%s/stores/.seed-%d", o->dir, worker);
	if (agent_db_open(&db, dir, 16 << 20, err, sizeof err) != 0) {
		fprintf(stderr, "ss-fleet: %s\n", err);
		return -1;
	}
	agent_db_close(&db);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (!(f = fopen(path, "rb")))
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if (len <= 0 || !(*buf = malloc((size_t)len)) || fread(*buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	w->x.db_seed = *buf;
	w->x.db_seed_len = (size_t)len;
	return 0;
}

static int open_stores(struct worker *w, const struct fleet_opts *o)
{
	char err[256] = "";

	w->n = o->count;
	if (!(w->stores = calloc((size_t)w->n, sizeof *w->stores)))
		return -1;
	for (int i = 0; i < w->n; i++) {
		struct fleet_store *s = &w->stores[i];

		if (fleet_store_open(&w->x, s, o->first + i, err, sizeof err) != 0
			|| watch(w, s->sock, (uint64_t)i) != 0 || watch(w, s->monitor, (uint64_t)i) != 0) {
			fprintf(stderr, "ss-fleet: %s\n", err[0] ? err : strerror(errno));
			return -1;
		}
		s->due_mono = INT64_MAX;
	}
	return 0;
}

static void report(struct worker *w)
{
	struct fleet_report *r = calloc(1, sizeof *r);

	if (!r)
		return;
	r->c = w->counts;
	r->c.stores = (uint64_t)w->n;
	for (int i = 0; i < w->n; i++) {
		const struct fleet_store *s = &w->stores[i];

		r->c.linked += (uint64_t)s->linked;
		r->c.welcomed += (uint64_t)s->welcomed;
		r->c.ever_welcomed += (uint64_t)s->ever_welcomed;
		r->c.recovered += (uint64_t)fleet_store_recovered(s);
		r->c.applied += s->apply.ids.applied > 0;
	}
	r->ack = w->ack;
	zmq_send(w->ctl, r, sizeof *r, 0);
	free(r);
}

static void command(struct worker *w, const struct fleet_cmd *c)
{
	int64_t now = ss_mono_ms();

	switch (c->op) {
	case FLEET_CMD_CONNECT:
		for (int i = 0; i < w->n; i++)
			if (fleet_store_connect(&w->x, &w->stores[i]) == 0)
				w->stores[i].due_mono = now;
		break;
	case FLEET_CMD_RATE:
		w->x.rate_per_store = c->rate_per_store;
		for (int i = 0; i < w->n; i++) {
			fleet_store_rate(&w->x, &w->stores[i], now);
			w->stores[i].due_mono = now;
		}
		break;
	case FLEET_CMD_RESET:
		memset(&w->ack, 0, sizeof w->ack);
		break;
	case FLEET_CMD_MARK:
		for (int i = 0; i < w->n; i++)
			fleet_store_mark(&w->stores[i]);
		break;
	case FLEET_CMD_STOP:
		w->stop = 1;
		break;
	default:
		break;
	}
	if (c->op != FLEET_CMD_REPORT)
		zmq_send(w->ctl, "", 0, 0);   /* done */
	else
		report(w);
}

static void read_commands(struct worker *w)
{
	struct fleet_cmd c;

	while (zmq_recv(w->ctl, &c, sizeof c, ZMQ_DONTWAIT) == (int)sizeof c)
		command(w, &c);
}

/* Every store whose timer is due; returns the earliest next one. */
static int64_t run_timers(struct worker *w, int64_t now)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i < w->n; i++) {
		struct fleet_store *s = &w->stores[i];

		if (s->due_mono <= now) {
			s->due_mono = fleet_store_tick(&w->x, s, now);
			/* Sending may have consumed the ZMQ_FD signal of waiting input;
			 * a non-blocking receive costs libzmq a poll(), so only then. */
			if (s->sent)
				fleet_store_read_link(&w->x, s);
		}
		if (s->due_mono < next)
			next = s->due_mono;
	}
	return next;
}

static void loop(struct worker *w)
{
	struct epoll_event ev[MAX_EVENTS];
	int64_t next = INT64_MAX, last_scan = 0;

	while (!w->stop) {
		int64_t now = ss_mono_ms(), wait = next - now;
		int n;

		if (wait < 0 || now - last_scan < TICK_MS)
			wait = TICK_MS;
		if (wait > 100)
			wait = 100;
		n = epoll_wait(w->ep, ev, MAX_EVENTS, (int)wait);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == CTL_TAG) {
				read_commands(w);
				continue;
			}
			struct fleet_store *s = &w->stores[ev[i].data.u64];

			fleet_store_readable(&w->x, s);
			/* A message may make work due now (a Welcome: send the backlog). */
			s->due_mono = ss_mono_ms();
			if (s->due_mono < next)
				next = s->due_mono;
		}
		now = ss_mono_ms();
		if (now >= next && now - last_scan >= TICK_MS) {
			next = run_timers(w, now);
			last_scan = now;
		}
		read_commands(w);
	}
}

static int open_ctl(struct worker *w, const struct fleet_opts *o, int worker)
{
	char ep[600], id[16];
	int hwm = 0;

	snprintf(ep, sizeof ep, "ipc://%s/ctl.sock", o->dir);
	snprintf(id, sizeof id, "w%d", worker);
	if (!(w->ctl = zmq_socket(w->x.zctx, ZMQ_DEALER)))
		return -1;
	zmq_setsockopt(w->ctl, ZMQ_ROUTING_ID, id, strlen(id));
	zmq_setsockopt(w->ctl, ZMQ_SNDHWM, &hwm, sizeof hwm);
	if (zmq_connect(w->ctl, ep) != 0)
		return -1;
	return watch(w, w->ctl, CTL_TAG);
}

int fleet_worker_run(const struct fleet_opts *o, int worker)
{
	struct worker w = { .x = { .o = o } };
	void *seed = NULL;
	int rc = 1;

	w.x.c = &w.counts;
	w.x.ack = &w.ack;
	w.x.zctx = zmq_ctx_new();
	/* Each store has three sockets: its link, and the monitor's two ends. */
	zmq_ctx_set(w.x.zctx, ZMQ_MAX_SOCKETS, 3 * o->count + 64);
	w.ep = epoll_create1(EPOLL_CLOEXEC);
	if (w.ep >= 0 && open_ctl(&w, o, worker) == 0 && make_seed(&w, o, worker, &seed) == 0
		&& open_stores(&w, o) == 0) {
		zmq_send(w.ctl, "", 0, 0);   /* ready */
		loop(&w);
		rc = 0;
	}
	for (int i = 0; w.stores && i < w.n; i++)
		fleet_store_close(&w.stores[i]);
	free(w.stores);
	free(seed);
	if (w.ctl)
		zmq_close(w.ctl);
	zmq_ctx_term(w.x.zctx);
	return rc;
}
