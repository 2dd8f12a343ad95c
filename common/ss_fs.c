/* ss_fs: filesystem helpers shared by the daemons and the command lines. */
#include "ss_fs.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

int ss_fs_mkdirs(const char *path, unsigned mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

uint64_t ss_fs_free_bytes(const char *path)
{
	struct statvfs st;

	if (statvfs(path, &st) != 0)
		return 0;
	return (uint64_t)st.f_bavail * st.f_frsize;
}

int ss_fs_random64(uint64_t *out)
{
	ssize_t n = getrandom(out, sizeof *out, 0);

	return n == (ssize_t)sizeof *out ? 0 : -EIO;
}

int ss_fs_unix_probe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = 0;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A listener takes the connection into its backlog without running
	 * any code, so this returns at once; a full backlog (EAGAIN) is a live
	 * listener too. Closing is a hang-up the listener sees (a ZeroMQ
	 * daemon counts a handshake that never came), so ss_client calls this
	 * only after ZeroMQ's own connect failed, to say why. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EAGAIN)
		rc = -errno;
	close(fd);
	return rc;
}
