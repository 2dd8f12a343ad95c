/* agent_events: what the agent tells its operator about conditions that
 * last: the hub unreachable (and why), the buffer full, the link in
 * conflict. Each is logged when it starts, again once per log_interval_ms
 * while it lasts (with what changed: attempts, records refused), and when
 * it ends, with how long it lasted. A day-long outage is a few thousand
 * lines at most, never one per attempt, and `journalctl -p warning` shows
 * where each one starts.
 *
 * The hub link's state comes from the DEALER's socket monitor. libzmq 4.3.4
 * does not say why an attempt failed, but the order of its events does
 * (checked against libzmq 4.3.4):
 *   CONNECT_DELAYED, CLOSED, RETRIED   a TCP connect refused (or, after a
 *                                      long wait, timed out)
 *   CLOSED, RETRIED                    an ipc connect failed at once: the
 *                                      socket file says why (missing, not
 *                                      ours, or nobody listening); for TCP
 *                                      the network is unreachable
 *   RETRIED alone                      the host name did not resolve (DNS)
 *   CONNECTED, HANDSHAKE_FAILED_*      connected, the ZMTP handshake failed
 *   HANDSHAKE_SUCCEEDED                up
 * After a failed handshake libzmq 4.3.4 ends the connection for good (a
 * protocol error terminates the session; no reconnect follows): the sender
 * dials again itself, with backoff (agent_sender.c), and the attempts that
 * follow are counted here like any other.
 *
 * Everything here runs on the agent's one thread. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "ss_time.h"

/* How often a condition that lasts is logged again (an engine set up
 * without the daemon's configuration, as the fuzzing harnesses do, gets
 * the default). */
static int64_t interval_ms(const struct agent *a)
{
	return a->cfg.log_interval_ms > 0 ? a->cfg.log_interval_ms : 60000;
}

/* "1.2s" below a minute, else ss_time's "3m", "2h 5m", "3d 4h". */
static void fmt_for(int64_t ms, char *buf, size_t len)
{
	if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else
		ss_time_format_duration(ms, buf, len);
}

static int is_ipc(const struct agent *a)
{
	return strncmp(a->cfg.hub, "ipc://", 6) == 0;
}

/* Why an ipc connect failed at once, from the socket file. */
static void ipc_reason(const struct agent *a, char *buf, size_t len)
{
	const char *path = a->cfg.hub + 6;
	struct stat st;

	if (stat(path, &st) != 0)
		snprintf(buf, len, errno == EACCES ? "permission denied on %s"
			: "no socket at %s (is the hub running?)", path);
	else if (!S_ISSOCK(st.st_mode))
		snprintf(buf, len, "%s is not a socket", path);
	else
		snprintf(buf, len, "connection refused: nobody listens on %s (a hub that stopped "
			"left it?)", path);
}

/* The host of a tcp://HOST:PORT endpoint, for the DNS line. */
static void tcp_host(const struct agent *a, char *buf, size_t len)
{
	const char *h = strncmp(a->cfg.hub, "tcp://", 6) == 0 ? a->cfg.hub + 6 : a->cfg.hub;
	const char *colon = strrchr(h, ':');
	size_t n = colon ? (size_t)(colon - h) : strlen(h);

	snprintf(buf, len, "%.*s", (int)n, h);
}

/* What failed, and what to check: the keys, or the two ends' modes. */
static void handshake_reason(const struct agent *a, uint16_t event, int32_t value, char *buf,
	size_t len)
{
	const char *check = a->cfg.insecure ? "this agent runs --insecure; does the hub?"
		: "is this store's key registered at the hub (hqctl store add/rekey), and hub_key "
		"the hub's?";
	uint32_t code = (uint32_t)value;

	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		snprintf(buf, len, "handshake failed: the hub refused this agent (ZAP status %u): %s",
			code, check);
	else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
		/* The value is an errno: the hub closed on a Hello it could not
		 * read, as a Curve hub does when the keys do not match. */
		snprintf(buf, len, "handshake failed (%s): %s", strerror(value), check);
	else if (code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
		snprintf(buf, len, "handshake failed: the hub speaks another security mechanism (%s)",
			a->cfg.insecure ? "this agent runs --insecure" : "is the hub --insecure?");
	else if (code == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
		snprintf(buf, len, "handshake failed: keys do not match (cryptographic error): %s",
			check);
	else
		snprintf(buf, len, "handshake failed: protocol error 0x%08x: %s", code, check);
}

static void try_reset(struct agent_events *ev)
{
	ev->try_delayed = ev->try_connected = ev->try_failed = ev->try_counted = 0;
	ev->try_mono = ss_mono_ms();
}

/* An outage starts: its first line (rate-limited across outages, so a
 * flapping link cannot flood the log). */
static void outage_start(struct agent *a, const char *what)
{
	struct agent_events *ev = &a->events;
	uint64_t held = 0;

	ev->down = 1;
	ev->down_since_mono = ss_mono_ms();
	ev->down_next_mono = ev->down_since_mono + interval_ms(a);
	ev->down_logged = ss_lograte_allow(&ev->outage_log, ev->down_since_mono,
		interval_ms(a), &held);
	if (!ev->down_logged)
		return;
	ss_warn("hub %s %s: %s; records stay in the outbox%s", a->cfg.hub, what, ev->reason,
		ss_lograte_note(held));
}

/* The attempt under way failed for ev->reason: counted once, whichever of
 * its events says so first. */
static void attempt_failed(struct agent *a)
{
	struct agent_events *ev = &a->events;

	ev->try_failed = 1;
	if (ev->try_counted)
		return;
	ev->try_counted = 1;
	ev->attempts++;
	if (!ev->down)
		outage_start(a, ev->ever_up ? "unreachable" : "unreachable since start");
}

static void link_up(struct agent *a)
{
	struct agent_events *ev = &a->events;
	char took[32];

	if (ev->down && ev->down_logged) {
		fmt_for(ss_mono_ms() - ev->down_since_mono, took, sizeof took);
		ss_info("hub %s reachable again after %s (%llu failed attempt%s; the last: %s)",
			a->cfg.hub, took, (unsigned long long)ev->attempts, ev->attempts == 1 ? "" : "s",
			ev->reason);
	} else if (!ev->ever_up) {
		ss_info("connected to hub %s", a->cfg.hub);
	}
	ev->up = ev->ever_up = 1;
	ev->down = 0;
	ev->attempts = 0;
	try_reset(ev);
}

void events_link(struct agent *a, uint16_t event, int32_t value)
{
	struct agent_events *ev = &a->events;

	/* An attempt counted already is over (after a failed handshake no
	 * RETRIED comes): what starts now is the next one. */
	if (ev->try_counted && (event == ZMQ_EVENT_CONNECT_DELAYED || event == ZMQ_EVENT_CONNECTED
		|| event == ZMQ_EVENT_CLOSED))
		try_reset(ev);
	switch (event) {
	case ZMQ_EVENT_CONNECT_DELAYED:
		ev->try_delayed = 1;
		ev->try_mono = ss_mono_ms();
		break;
	case ZMQ_EVENT_CONNECTED:
		ev->try_connected = 1;
		break;
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		link_up(a);
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		handshake_reason(a, event, value, ev->reason, sizeof ev->reason);
		attempt_failed(a);
		break;
	case ZMQ_EVENT_DISCONNECTED:
		if (ev->up) {
			ev->up = 0;
			snprintf(ev->reason, sizeof ev->reason, "connection lost");
			outage_start(a, "link down");
			try_reset(ev);
		} else if (ev->try_connected && !ev->try_failed) {
			snprintf(ev->reason, sizeof ev->reason,
				"the hub closed the connection during the handshake");
			attempt_failed(a);
		}
		break;
	case ZMQ_EVENT_CLOSED:
		if (ev->try_connected || ev->try_failed)
			break;
		if (ev->try_delayed)
			snprintf(ev->reason, sizeof ev->reason, ss_mono_ms() - ev->try_mono < 3000
				? "connection refused" : "connection timed out");
		else if (is_ipc(a))
			ipc_reason(a, ev->reason, sizeof ev->reason);
		else
			snprintf(ev->reason, sizeof ev->reason, "cannot connect (network unreachable?)");
		ev->try_failed = 1;   /* counted when libzmq schedules the retry */
		break;
	case ZMQ_EVENT_CONNECT_RETRIED:
		if (!ev->try_failed) {
			char host[256];

			tcp_host(a, host, sizeof host);
			if (is_ipc(a))
				ipc_reason(a, ev->reason, sizeof ev->reason);
			else
				snprintf(ev->reason, sizeof ev->reason, "cannot resolve %.150s (DNS failure)",
					host);
		}
		attempt_failed(a);
		try_reset(ev);
		break;
	default:
		break;
	}
}

/* A budget at its edge fills and frees with every ack: the start of an
 * episode goes through a limit as outages do, its counts do not. */
void events_buffer(struct agent *a, uint64_t refused_full, uint64_t accepted)
{
	struct agent_events *ev = &a->events;
	uint64_t held = 0;
	char took[32];

	if (refused_full && !ev->full) {
		ev->full = 1;
		ev->full_since_mono = ss_mono_ms();
		ev->full_next_mono = ev->full_since_mono + interval_ms(a);
		ev->full_refused = refused_full;
		ev->full_refused_line = 0;
		ev->full_logged = ss_lograte_allow(&ev->full_log, ev->full_since_mono,
			interval_ms(a), &held);
		if (!ev->full_logged) {
			ev->full_refused_line = refused_full;
			return;
		}
		ss_error("buffer full: refusing records (%llu in this request); %llu records wait "
			"for the hub, which is %s; the disk budget is %lld bytes%s",
			(unsigned long long)refused_full,
			(unsigned long long)(a->outbox.last_seq - a->outbox.acked_seq),
			sender_link_state(a), (long long)a->cfg.budget_bytes, ss_lograte_note(held));
		return;
	}
	ev->full_refused += refused_full;
	ev->full_refused_line += refused_full;
	/* A round that took some records and refused the rest is still full. */
	if (ev->full && accepted && !refused_full) {
		fmt_for(ss_mono_ms() - ev->full_since_mono, took, sizeof took);
		if (ev->full_logged)
			ss_info("buffer has room again: accepting records after %s; %llu were refused "
				"as buffer full", took, (unsigned long long)ev->full_refused);
		ev->full = 0;
	}
}

void events_conflict(struct agent *a, uint64_t hub_seq)
{
	struct agent_events *ev = &a->events;

	if (a->sender.conflict)
		return;
	ev->conflict_since_mono = ss_mono_ms();
	ev->conflict_next_mono = ev->conflict_since_mono + interval_ms(a);
	ss_error("conflict: the hub holds seq %llu of epoch %016llx but this outbox ends at %llu "
		"(data directory restored from an older copy?): not sending; tills are still "
		"answered and records stay in the outbox. Recover with `storectl reepoch --confirm`",
		(unsigned long long)hub_seq, (unsigned long long)a->outbox.epoch,
		(unsigned long long)a->outbox.last_seq);
}

void events_conflict_end(struct agent *a, const char *how)
{
	char took[32];

	fmt_for(ss_mono_ms() - a->events.conflict_since_mono, took, sizeof took);
	ss_info("conflict over after %s: %s", took, how);
}

/* Once per interval of an outage: "still unreachable", or its first line
 * when the limit held that back (a link that flapped just before). */
static void tick_outage(struct agent *a, int64_t now)
{
	struct agent_events *ev = &a->events;
	char took[32];

	if (!ev->down || now < ev->down_next_mono)
		return;
	fmt_for(now - ev->down_since_mono, took, sizeof took);
	ss_warn("hub %s %s after %s: %s (%llu failed attempt%s); %llu records wait", a->cfg.hub,
		ev->down_logged ? "still unreachable" : "unreachable", took, ev->reason,
		(unsigned long long)ev->attempts, ev->attempts == 1 ? "" : "s",
		(unsigned long long)(a->outbox.last_seq - a->outbox.acked_seq));
	ev->down_logged = 1;
	ev->down_next_mono = now + interval_ms(a);
}

static void tick_full(struct agent *a, int64_t now)
{
	struct agent_events *ev = &a->events;
	char took[32];

	if (!ev->full || now < ev->full_next_mono)
		return;
	ev->full_next_mono = now + interval_ms(a);
	if (ev->full_refused_line == 0)
		return;
	fmt_for(now - ev->full_since_mono, took, sizeof took);
	ss_error("buffer full for %s: %llu more records refused (%llu in all); %llu wait for "
		"the hub, which is %s", took, (unsigned long long)ev->full_refused_line,
		(unsigned long long)ev->full_refused,
		(unsigned long long)(a->outbox.last_seq - a->outbox.acked_seq),
		sender_link_state(a));
	ev->full_refused_line = 0;
	ev->full_logged = 1;
}

static void tick_conflict(struct agent *a, int64_t now)
{
	struct agent_events *ev = &a->events;
	char took[32];

	if (!a->sender.conflict || now < ev->conflict_next_mono)
		return;
	fmt_for(now - ev->conflict_since_mono, took, sizeof took);
	ss_error("conflict for %s: the hub holds seq %llu of epoch %016llx, this outbox ends at "
		"%llu; %llu records wait and none is sent. Recover with `storectl reepoch --confirm`",
		took, (unsigned long long)a->sender.hub_seq, (unsigned long long)a->outbox.epoch,
		(unsigned long long)a->outbox.last_seq,
		(unsigned long long)(a->outbox.last_seq - a->outbox.acked_seq));
	ev->conflict_next_mono = now + interval_ms(a);
}

void events_tick(struct agent *a)
{
	int64_t now = ss_mono_ms();

	tick_outage(a, now);
	tick_full(a, now);
	tick_conflict(a, now);
}
