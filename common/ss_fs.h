/* ss_fs: small filesystem helpers. */
#ifndef SS_FS_H
#define SS_FS_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p; returns 0 or -errno. */
int ss_fs_mkdirs(const char *path, unsigned mode);
/* Free bytes on the filesystem holding path (0 when unknown). */
uint64_t ss_fs_free_bytes(const char *path);
/* Reads 8 random bytes from the kernel; returns 0 or -errno. */
int ss_fs_random64(uint64_t *out);
/* Tries connect(2) on the AF_UNIX socket at path and hangs up at once.
 * Returns 0 when something accepted, else -errno: -ENOENT (no such file),
 * -ECONNREFUSED (a file nobody listens on: a stale socket, or not a socket),
 * -EACCES (no permission), -ENAMETOOLONG (longer than a socket path may be). */
int ss_fs_unix_probe(const char *path);

#endif
