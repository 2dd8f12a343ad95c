/* ss_notify: what a daemon tells its service manager, and the one signal it
 * handles besides SIGTERM. Under systemd (Type=notify) the daemon says
 * READY=1 once it serves, pings WATCHDOG=1 from its main loop at half of
 * WatchdogSec, and says RELOADING=1 / STOPPING=1 around a SIGHUP reload and
 * at SIGTERM. Without systemd (NOTIFY_SOCKET unset: tests, a shell, the
 * test hosts) every call is a no-op that costs one branch. */
#ifndef SS_NOTIFY_H
#define SS_NOTIFY_H

#include <stdint.h>

/* Reads the watchdog interval systemd gave (WATCHDOG_USEC) and installs the
 * SIGHUP handler. Call once, before the daemon's threads start. */
void ss_notify_init(void);
/* READY=1 with a one-line STATUS=. */
void ss_notify_ready(const char *status);
/* From the main loop, at least every second: WATCHDOG=1 when half the
 * interval has passed since the last ping. A loop that stops turning (a
 * stuck commit) stops the pings, and systemd restarts the service. */
void ss_notify_tick(int64_t mono_ms);
/* Returns 1 once for each SIGHUP received since the last call (several
 * close together count once). */
int ss_notify_take_hup(void);
/* RELOADING=1, then READY=1 with the status that says what was reloaded. */
void ss_notify_reloading(void);
void ss_notify_reloaded(const char *status);
/* STOPPING=1: SIGTERM was seen, the daemon finishes its round and exits. */
void ss_notify_stopping(void);

#endif
