/* ss_daemon: what hq-hub and store-agent do before they serve: hold their
 * data directory, bind their endpoints without stealing a live one, set who
 * may use the sockets they create. Every function returns 0 or -1 with a
 * one-line reason; the daemon logs it and exits 1. */
#ifndef SS_DAEMON_H
#define SS_DAEMON_H

#include <stddef.h>

/* Creates data_dir if needed and takes the exclusive lock on data_dir/lock,
 * writing our pid in it. On success *fd is the lock: keep it open for the
 * life of the process (it is close-on-exec). When another process holds it:
 * -1 with "data directory D is in use by pid N". */
int ss_daemon_lock(const char *data_dir, int *fd, char *err, size_t errlen);
/* daemon(3), keeping stdout and stderr (the log) and the cwd; the child
 * holds the lock (an flock belongs to the open file, which fork shares)
 * and writes its own pid into it. */
int ss_daemon_detach(int lock_fd, char *err, size_t errlen);

/* Checks that endpoint may be bound: for ipc://PATH, refuses when a process
 * accepts connections on PATH ("endpoint ipc://PATH is in use by another
 * process") and removes PATH when it is a stale socket. Other transports
 * pass (the kernel refuses a busy TCP port on its own). */
int ss_daemon_claim_endpoint(const char *endpoint, char *err, size_t errlen);
/* ss_daemon_claim_endpoint, then zmq_bind. An ipc socket is created
 * owner-only (umask 077 around the bind) so it is never wider than what
 * ss_daemon_socket_access sets next. */
int ss_daemon_bind(void *sock, const char *endpoint, char *err, size_t errlen);

/* Sets the mode and group of an ipc endpoint's socket file (no-op for other
 * transports). An empty group keeps the file's group. Returns 0, -1 on
 * failure, or 1 when the mode is set but the group is not (the group does
 * not exist, or we may not give the file to it): msg says why, the daemon
 * warns and goes on. */
int ss_daemon_socket_access(const char *endpoint, unsigned mode, const char *group, char *msg,
	size_t msglen);

#endif
