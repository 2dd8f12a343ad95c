/* ss_notify: sd_notify(3) for hq-hub and store-agent, and their SIGHUP.
 *
 * systemd starts a Type=notify unit and waits for READY=1 before it counts
 * the service as started (and before units ordered after it start), so the
 * daemons say it only once every endpoint is bound and the databases are
 * open. The watchdog ping comes from the thread that commits (the agent's
 * event loop, the hub's writer), never from a timer thread of its own: the
 * promise is "the writer is turning", which a separate thread could not
 * tell. The SIGHUP handler only sets a flag; the main loop reloads between
 * rounds, where no transaction is open. */
#include "ss_notify.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

static volatile sig_atomic_t hup_pending;
static int64_t watchdog_half_ms;  /* 0: no watchdog asked for */
static int64_t next_ping_ms;

static void on_hup(int sig)
{
	(void)sig;
	hup_pending = 1;
}

void ss_notify_init(void)
{
	struct sigaction sa;
	uint64_t usec = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	/* > 0 only when WATCHDOG_USEC is set for this very process. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		watchdog_half_ms = (int64_t)(usec / 2000);
}

void ss_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void ss_notify_tick(int64_t mono_ms)
{
	if (watchdog_half_ms <= 0 || mono_ms < next_ping_ms)
		return;
	sd_notify(0, "WATCHDOG=1");
	next_ping_ms = mono_ms + watchdog_half_ms;
}

int ss_notify_take_hup(void)
{
	if (!hup_pending)
		return 0;
	hup_pending = 0;
	return 1;
}

void ss_notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void ss_notify_reloaded(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void ss_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
