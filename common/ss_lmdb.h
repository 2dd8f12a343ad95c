/* ss_lmdb: one LMDB environment per daemon, and the one function every write
 * goes through (ss_lmdb_write), which owns the transaction and handles
 * MDB_MAP_FULL by growing the map and replaying, up to the disk budget. */
#ifndef SS_LMDB_H
#define SS_LMDB_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes shared by the storage layer (negative, 0 is success). */
#define SS_OK 0
#define SS_EIO (-1)      /* LMDB or filesystem error, reason filled */
#define SS_EFULL (-2)    /* disk budget reached: map cannot grow further */
#define SS_EINVAL (-3)   /* bad argument or input */

struct ss_lmdb {
	MDB_env *env;
	size_t map_bytes;       /* current map size */
	size_t max_map_bytes;   /* never grown past this */
	/* Readers hold it shared for a read transaction's life; growing the map
	 * holds it exclusive, because LMDB forbids a resize under open txns. */
	pthread_rwlock_t resize_lock;
	uint64_t grows;         /* times the map was grown since open */
	uint64_t grows_full;    /* of those, forced by a full map (waiting for readers) */
};

/* Opens (creating if needed) the environment in dir with room for max_dbs
 * named databases. Clears stale reader slots left by a killed process. */
int ss_lmdb_open(struct ss_lmdb *db, const char *dir, unsigned max_dbs,
	size_t initial_map_bytes, size_t max_map_bytes, char *err, size_t errlen);
void ss_lmdb_close(struct ss_lmdb *db);

/* Opens (creating) a named database; flags as mdb_dbi_open (MDB_CREATE added). */
int ss_lmdb_dbi(struct ss_lmdb *db, const char *name, unsigned flags, MDB_dbi *dbi,
	char *err, size_t errlen);

/* Body of a write transaction. Returns 0 to commit, an MDB_* code or a
 * negative SS_* code to abort. It may run more than once (after the map grew),
 * so it must not change state outside the transaction except by recomputing it. */
typedef int (*ss_lmdb_txn_fn)(MDB_txn *txn, void *arg);

/* Runs fn in a write transaction and commits (fsync). On MDB_MAP_FULL from fn
 * or from the commit, aborts, grows the map and replays, up to max_map_bytes;
 * returns SS_EFULL past that. Returns 0, SS_EFULL, SS_EIO (reason in err; also
 * for an MDB_* or errno code from fn) or fn's own negative SS_* code. */
int ss_lmdb_write(struct ss_lmdb *db, ss_lmdb_txn_fn fn, void *arg, char *err, size_t errlen);

/* Grows the map ahead of need: when more than half of it is in use, doubles
 * it (up to max_map_bytes), but only if no read transaction is open: it
 * never waits for one. Call from the writer thread with none of its own
 * transactions open. Returns 1 when it grew, 0 when no growth was needed,
 * -1 when one was needed but readers were active (try again later). A map
 * that fills up anyway is grown by ss_lmdb_write, which then does wait. */
int ss_lmdb_pregrow(struct ss_lmdb *db);
/* Bytes of the map in use: up to the last page ever written. */
size_t ss_lmdb_used_bytes(struct ss_lmdb *db);

/* A read transaction, for any thread; end it with ss_lmdb_read_end. */
int ss_lmdb_read_begin(struct ss_lmdb *db, MDB_txn **txn);
void ss_lmdb_read_end(struct ss_lmdb *db, MDB_txn *txn);

/* Big-endian fixed-width integers: keys that sort numerically as bytes. */
static inline void ss_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t ss_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

#endif
