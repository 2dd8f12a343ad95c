/* ss_daemon: one daemon per data directory and per endpoint.
 *
 * Invariant 1: at most one process runs on a data directory. Before LMDB is
 * opened the daemon takes flock(LOCK_EX) on DIR/lock and keeps the
 * descriptor open until it exits. The kernel drops the lock however the
 * process ends (kill -9 included), so there is never a stale lock to clean
 * up, and the lock file is never removed (removing it would let a newcomer
 * lock a fresh inode while the old owner still runs). The file holds the
 * owner's pid only to make the refusal say who holds it.
 *
 * Invariant 2: a socket file somebody listens on is never removed. libzmq
 * unlinks an ipc path before binding it, whatever is there, so a second
 * daemon on the same endpoint would silently take the first one's clients.
 * We connect(2) to the path first: an answer means a live owner (refuse);
 * ECONNREFUSED means a stale socket left by a killed process (remove it).
 * Between that check and the bind is a window: two daemons with different
 * data directories started in the same instant on one endpoint can still
 * race. The data-directory lock closes the common case, the same
 * configuration started twice. */
#include "ss_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ss_fs.h"

#define IPC_PREFIX "ipc://"

/* The file path of an ipc endpoint, or NULL for other transports and for
 * ipc endpoints without a file (abstract "@name", wildcard "*"). */
static const char *ipc_path(const char *endpoint)
{
	const char *p;

	if (strncmp(endpoint, IPC_PREFIX, strlen(IPC_PREFIX)) != 0)
		return NULL;
	p = endpoint + strlen(IPC_PREFIX);
	return p[0] == '\0' || p[0] == '@' || strcmp(p, "*") == 0 ? NULL : p;
}

static int write_pid(int fd, char *err, size_t errlen)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write the lock file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void holder_pid(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	long pid;

	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid > 0)
		snprintf(buf, len, "pid %ld", pid);
	else
		snprintf(buf, len, "another process");
}

int ss_daemon_lock(const char *data_dir, int *fd, char *err, size_t errlen)
{
	char path[4096], who[32];
	int rc;

	if (ss_fs_mkdirs(data_dir, 0750) != 0
		|| snprintf(path, sizeof path, "%s/lock", data_dir) >= (int)sizeof path) {
		snprintf(err, errlen, "cannot create data directory %s", data_dir);
		return -1;
	}
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((rc = flock(*fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
		;
	if (rc == 0 && write_pid(*fd, err, errlen) == 0)
		return 0;
	if (rc != 0 && errno == EWOULDBLOCK) {
		holder_pid(*fd, who, sizeof who);
		snprintf(err, errlen, "data directory %s is in use by %s", data_dir, who);
	} else if (rc != 0) {
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
	}
	close(*fd);
	*fd = -1;
	return -1;
}

int ss_daemon_detach(int lock_fd, char *err, size_t errlen)
{
	if (daemon(1, 1) != 0) {
		snprintf(err, errlen, "cannot daemonize: %s", strerror(errno));
		return -1;
	}
	return write_pid(lock_fd, err, errlen);
}

int ss_daemon_claim_endpoint(const char *endpoint, char *err, size_t errlen)
{
	const char *path = ipc_path(endpoint);
	int rc;

	if (!path)
		return 0;
	rc = ss_fs_unix_probe(path);
	if (rc == 0) {
		snprintf(err, errlen, "endpoint %s is in use by another process", endpoint);
		return -1;
	}
	if (rc == -ENOENT)
		return 0;
	if (rc == -ECONNREFUSED) {
		struct stat st;

		/* Nobody listens. Only a socket is ours to replace: a regular
		 * file of that name is somebody's data. */
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "endpoint %s: %s exists and is not a socket", endpoint,
				path);
			return -1;
		}
		if (unlink(path) == 0 || errno == ENOENT)
			return 0;
	}
	snprintf(err, errlen, "endpoint %s: cannot check %s: %s", endpoint, path,
		strerror(rc == -ECONNREFUSED ? errno : -rc));
	return -1;
}

int ss_daemon_bind(void *sock, const char *endpoint, char *err, size_t errlen)
{
	mode_t old;
	int rc, e;

	if (ss_daemon_claim_endpoint(endpoint, err, errlen) != 0)
		return -1;
	/* The umask is the process's, but no thread of ours creates files
	 * while a daemon binds (libzmq binds ipc in the calling thread). */
	old = umask(077);
	rc = zmq_bind(sock, endpoint);
	e = errno;
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(e));
		return -1;
	}
	return 0;
}

static int group_id(const char *name, gid_t *gid)
{
	struct group gr, *found = NULL;
	char buf[4096];

	if (getgrnam_r(name, &gr, buf, sizeof buf, &found) != 0 || !found)
		return -1;
	*gid = found->gr_gid;
	return 0;
}

int ss_daemon_socket_access(const char *endpoint, unsigned mode, const char *group, char *msg,
	size_t msglen)
{
	const char *path = ipc_path(endpoint);
	gid_t gid;

	if (!path)
		return 0;
	if (chmod(path, (mode_t)mode) != 0) {
		snprintf(msg, msglen, "cannot set mode %04o on %s: %s", mode, path, strerror(errno));
		return -1;
	}
	if (!group || !group[0])
		return 0;
	if (group_id(group, &gid) != 0) {
		snprintf(msg, msglen, "group %s does not exist: %s keeps its group", group, path);
		return 1;
	}
	if (chown(path, (uid_t)-1, gid) != 0) {
		snprintf(msg, msglen, "cannot give %s to group %s: %s", path, group, strerror(errno));
		return 1;
	}
	return 0;
}
