/* ss_lmdb: the LMDB environment of a daemon and its single write path.
 *
 * Invariant: every write transaction in the process goes through
 * ss_lmdb_write, called from the daemon's one writer thread. That function is
 * the one place that handles MDB_MAP_FULL: LMDB may report it from mdb_put or
 * from mdb_txn_commit, the transaction is unusable afterwards, so it aborts,
 * grows the map and replays the body. The map never grows past the disk
 * budget: there the caller gets SS_EFULL and decides what to tell its client.
 *
 * Growth and readers: LMDB forbids a resize while any transaction of the
 * process is open, so growing takes resize_lock exclusive and readers hold it
 * shared. A long query must never stall the writer, so:
 *  - the daemons map their whole budget at open (the map is address space;
 *    the file grows only as pages are written), so in normal operation the
 *    map never grows at all;
 *  - with a smaller initial map (a host short of address space), the writer
 *    grows ahead of need between rounds, at half full, and only when no
 *    reader is active (ss_lmdb_pregrow, trylock); only a map that really
 *    fills up while readers stay open makes ss_lmdb_write wait for them.
 * Commits use LMDB's default full sync: an acknowledged record is on disk. */
#include "ss_lmdb.h"

#include <stdio.h>
#include <string.h>

#include "ss_fs.h"

static int fail(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
	return SS_EIO;
}

int ss_lmdb_open(struct ss_lmdb *db, const char *dir, unsigned max_dbs,
	size_t initial_map_bytes, size_t max_map_bytes, char *err, size_t errlen)
{
	int rc, dead = 0;
	MDB_envinfo info;
	pthread_rwlockattr_t attr;

	memset(db, 0, sizeof *db);
	/* Writer preference: a stream of queries must not starve a map growth,
	 * which the ingest writer waits for. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&db->resize_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (ss_fs_mkdirs(dir, 0750) != 0) {
		snprintf(err, errlen, "cannot create data directory %s", dir);
		return SS_EIO;
	}
	if ((rc = mdb_env_create(&db->env)) != 0)
		return fail(err, errlen, "mdb_env_create", rc);
	mdb_env_set_maxdbs(db->env, max_dbs);
	mdb_env_set_maxreaders(db->env, 126);
	/* MDB_NOTLS: read transactions are not tied to threads, so a thread may
	 * hold a read snapshot between writes without confusing LMDB. */
	rc = mdb_env_open(db->env, dir, MDB_NOTLS, 0640);
	if (rc != 0)
		goto fail;
	/* A database that is already larger than initial_map keeps its size. */
	mdb_env_info(db->env, &info);
	db->map_bytes = info.me_mapsize > initial_map_bytes ? info.me_mapsize : initial_map_bytes;
	if (db->map_bytes > max_map_bytes)
		max_map_bytes = db->map_bytes;
	db->max_map_bytes = max_map_bytes;
	if ((rc = mdb_env_set_mapsize(db->env, db->map_bytes)) != 0)
		goto fail;
	/* A kill -9 leaves reader slots behind; clear them before they pin pages. */
	mdb_reader_check(db->env, &dead);
	return SS_OK;
fail:
	fail(err, errlen, dir, rc);
	mdb_env_close(db->env);
	db->env = NULL;
	return SS_EIO;
}

void ss_lmdb_close(struct ss_lmdb *db)
{
	if (db->env) {
		mdb_env_close(db->env);
		pthread_rwlock_destroy(&db->resize_lock);
	}
	db->env = NULL;
}

int ss_lmdb_dbi(struct ss_lmdb *db, const char *name, unsigned flags, MDB_dbi *dbi,
	char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(db->env, NULL, 0, &txn);

	if (rc != 0)
		return fail(err, errlen, "mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, name, flags | MDB_CREATE, dbi);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return fail(err, errlen, name, rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(err, errlen, "mdb_txn_commit", rc);
	return SS_OK;
}

static int grow(struct ss_lmdb *db, char *err, size_t errlen)
{
	size_t next = db->map_bytes * 2;
	int rc;

	if (db->map_bytes >= db->max_map_bytes) {
		snprintf(err, errlen, "disk budget of %zu bytes reached", db->max_map_bytes);
		return SS_EFULL;
	}
	if (next > db->max_map_bytes)
		next = db->max_map_bytes;
	pthread_rwlock_wrlock(&db->resize_lock);
	rc = mdb_env_set_mapsize(db->env, next);
	pthread_rwlock_unlock(&db->resize_lock);
	if (rc != 0)
		return fail(err, errlen, "mdb_env_set_mapsize", rc);
	db->map_bytes = next;
	db->grows++;
	db->grows_full++;
	return SS_OK;
}

size_t ss_lmdb_used_bytes(struct ss_lmdb *db)
{
	MDB_envinfo info;
	MDB_stat st;

	if (mdb_env_info(db->env, &info) != 0 || mdb_env_stat(db->env, &st) != 0)
		return 0;
	return (info.me_last_pgno + 1) * (size_t)st.ms_psize;
}

int ss_lmdb_pregrow(struct ss_lmdb *db)
{
	size_t next;
	int rc;

	if (db->map_bytes >= db->max_map_bytes || ss_lmdb_used_bytes(db) <= db->map_bytes / 2)
		return 0;
	if (pthread_rwlock_trywrlock(&db->resize_lock) != 0)
		return -1;
	next = db->map_bytes * 2 > db->max_map_bytes ? db->max_map_bytes : db->map_bytes * 2;
	rc = mdb_env_set_mapsize(db->env, next);
	pthread_rwlock_unlock(&db->resize_lock);
	if (rc != 0)
		return -1;
	db->map_bytes = next;
	db->grows++;
	return 1;
}

int ss_lmdb_write(struct ss_lmdb *db, ss_lmdb_txn_fn fn, void *arg, char *err, size_t errlen)
{
	for (;;) {
		MDB_txn *txn;
		int rc = mdb_txn_begin(db->env, NULL, 0, &txn);

		if (rc != 0)
			return fail(err, errlen, "mdb_txn_begin", rc);
		rc = fn(txn, arg);
		if (rc != 0) {
			mdb_txn_abort(txn);
			if (rc == MDB_MAP_FULL) {
				if ((rc = grow(db, err, errlen)) != SS_OK)
					return rc;
				continue;
			}
			/* The body's own SS_* code passes through; MDB_* codes are
			 * negative too, but become SS_EIO with LMDB's reason. */
			if (rc == SS_EIO || rc == SS_EFULL || rc == SS_EINVAL)
				return rc;
			return fail(err, errlen, "write", rc);
		}
		rc = mdb_txn_commit(txn);
		if (rc == MDB_MAP_FULL) {
			if ((rc = grow(db, err, errlen)) != SS_OK)
				return rc;
			continue;
		}
		if (rc != 0)
			return fail(err, errlen, "mdb_txn_commit", rc);
		return SS_OK;
	}
}

int ss_lmdb_read_begin(struct ss_lmdb *db, MDB_txn **txn)
{
	int rc;

	pthread_rwlock_rdlock(&db->resize_lock);
	rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn);
	if (rc != 0)
		pthread_rwlock_unlock(&db->resize_lock);
	return rc;
}

void ss_lmdb_read_end(struct ss_lmdb *db, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&db->resize_lock);
}
