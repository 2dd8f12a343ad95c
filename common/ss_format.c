/* ss_format: the data directory's format stamp and its migration at start
 * (ss_format.h). */
#include "ss_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ss_log.h"

/* The stamp as txn sees it in dbi: 0 read (*v set), 1 absent, or an MDB_*
 * code. */
static int stamp_get(MDB_txn *txn, MDB_dbi dbi, uint64_t *v)
{
	MDB_val k = { strlen(SS_FORMAT_KEY), (void *)SS_FORMAT_KEY }, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return rc;
	if (d.mv_size != 8)
		return MDB_BAD_VALSIZE;
	*v = ss_be64_get(d.mv_data);
	return 0;
}

static int too_new(const struct ss_format *f, uint64_t found, char *err, size_t errlen)
{
	snprintf(err, errlen, "data directory %s has format %" PRIu64 "; this %s (" SS_VERSION
		") knows formats up to %" PRIu64 ": start the version that wrote it, or restore "
		"the backup made before the upgrade", f->dir, found, f->program, f->current);
	return SS_EINVAL;
}

int ss_format_check(struct ss_lmdb *db, const struct ss_format *f, uint64_t *found, char *err,
	size_t errlen)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc = ss_lmdb_read_begin(db, &txn);

	*found = SS_FORMAT_UNSTAMPED;
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", f->dir, mdb_strerror(rc));
		return SS_EIO;
	}
	/* Read only: a directory this binary refuses is left as it was. */
	rc = mdb_dbi_open(txn, f->meta, 0, &dbi);
	if (rc == 0)
		rc = stamp_get(txn, dbi, found);
	ss_lmdb_read_end(db, txn);
	if (rc == MDB_NOTFOUND)
		*found = SS_FORMAT_NEW;
	if (rc == MDB_NOTFOUND || rc == 1) /* a new directory, or 0.1.0's */
		rc = 0;
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot read its format: %s", f->dir, mdb_strerror(rc));
		return SS_EIO;
	}
	return *found > f->current ? too_new(f, *found, err, errlen) : SS_OK;
}

struct migration {
	MDB_dbi meta;
	const struct ss_format *f;
	uint64_t from;          /* the directory's format before this transaction */
	int stamped;            /* it had a stamp */
	int fresh;              /* a new directory: stamped, nothing to migrate */
	char *err;
	size_t errlen;
};

static int migrate_txn(MDB_txn *txn, void *arg)
{
	struct migration *m = arg;
	const struct ss_format *f = m->f;
	uint8_t buf[8];
	MDB_val k = { strlen(SS_FORMAT_KEY), (void *)SS_FORMAT_KEY }, d = { 8, buf };
	int rc;

	m->from = SS_FORMAT_UNSTAMPED;
	if ((rc = stamp_get(txn, m->meta, &m->from)) != 0 && rc != 1)
		return rc;
	m->stamped = rc == 0;
	if (!m->stamped && m->fresh)
		m->from = f->current;
	if (m->from > f->current)
		return too_new(f, m->from, m->err, m->errlen);
	if (m->stamped && m->from == f->current)
		return 0;
	for (uint64_t n = m->from; n < f->current; n++) {
		if (!f->steps[n]) {
			snprintf(m->err, m->errlen, "%s: no migration from format %" PRIu64 " to %"
				PRIu64, f->dir, n, n + 1);
			return SS_EINVAL;
		}
		if ((rc = f->steps[n](txn, f->arg)) != 0) {
			if (rc == SS_EIO || rc == SS_EFULL || rc == SS_EINVAL)
				snprintf(m->err, m->errlen, "%s: migration from format %" PRIu64
					" to %" PRIu64 " failed", f->dir, n, n + 1);
			return rc;
		}
	}
	ss_be64_put(buf, f->current);
	return mdb_put(txn, m->meta, &k, &d, 0);
}

int ss_format_migrate(struct ss_lmdb *db, MDB_dbi meta, const struct ss_format *f,
	uint64_t found, char *err, size_t errlen)
{
	struct migration m = { .meta = meta, .f = f, .fresh = found == SS_FORMAT_NEW, .err = err,
		.errlen = errlen };
	int rc = ss_lmdb_write(db, migrate_txn, &m, err, errlen);

	if (rc != 0)
		return rc;
	if (m.stamped && m.from == f->current)
		return SS_OK;
	if (m.fresh)
		ss_info("data directory %s: new, format %" PRIu64 " stamped", f->dir, f->current);
	else if (m.from == f->current)
		ss_info("data directory %s: format %" PRIu64 " stamped (no stamp: written by 0.1.0)",
			f->dir, f->current);
	else
		ss_info("data directory %s: migrated from format %" PRIu64 " to %" PRIu64, f->dir,
			m.from, f->current);
	return SS_OK;
}
