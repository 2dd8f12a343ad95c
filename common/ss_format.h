/* ss_format: the on-disk format of a daemon's data directory, stamped in its
 * meta database as "format" (u64 BE), and the migration from one format to
 * the next at start (docs/deploy.md, "Upgrades and the data directory").
 *
 * A directory without the stamp is what 0.1.0 wrote, the version released
 * before formats were stamped: format 1. Each daemon has one registry of
 * steps, steps[n] turning format n into n + 1; all the steps from the
 * directory's format to the binary's and the new stamp commit in one write
 * transaction, so a crash or a failed step leaves the old format as it was,
 * readable by the old version. A directory stamped with a newer format than
 * the binary knows is refused before anything is written to it. */
#ifndef SS_FORMAT_H
#define SS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ss_lmdb.h"

/* The meta key of the stamp. */
#define SS_FORMAT_KEY "format"
/* What an unstamped directory is: 0.1.0's format. */
#define SS_FORMAT_UNSTAMPED 1

/* One migration step, inside the migration's write transaction: 0, or an
 * MDB_* or negative SS_* code (then everything is aborted). arg is the
 * daemon's (its database handles). */
typedef int (*ss_format_step_fn)(MDB_txn *txn, void *arg);

struct ss_format {
	const char *program;            /* "store-agent", "hq-hub": for the messages */
	const char *dir;                /* the data directory, for the messages */
	const char *meta;               /* name of the meta database */
	uint64_t current;               /* the format this binary reads and writes */
	/* steps[n] migrates format n to n + 1, for SS_FORMAT_UNSTAMPED <= n
	 * < current (steps[0] unused): current entries. */
	const ss_format_step_fn *steps;
	void *arg;
};

/* What ss_format_check finds in a new directory (no meta database yet):
 * nothing to migrate, only the stamp to write. */
#define SS_FORMAT_NEW 0

/* Before any database is opened or created: the directory's format (the
 * stamp; SS_FORMAT_UNSTAMPED when there is none, SS_FORMAT_NEW for a new
 * directory) in *found. A format newer than f->current is refused
 * (SS_EINVAL, the one-line reason in err naming both) and nothing is
 * written. */
int ss_format_check(struct ss_lmdb *db, const struct ss_format *f, uint64_t *found, char *err,
	size_t errlen);

/* After the databases are open (meta is f->meta's handle; found is what
 * ss_format_check found): runs every step from the directory's format to
 * f->current and writes the stamp, in one write transaction; nothing when
 * the stamp is f->current already, only the stamp in a new directory. Logs
 * what it did. 0, or an SS_* code with the reason in err. */
int ss_format_migrate(struct ss_lmdb *db, MDB_dbi meta, const struct ss_format *f,
	uint64_t found, char *err, size_t errlen);

#endif
