/* hq-export: the continuous, exactly-once export of a hub's event log and
 * views to PostgreSQL. A daemon of its own beside hq-hub, on the hub's data
 * directory, reading only (LMDB read transactions from another process
 * never hold up the hub's writer): export_hub.c reads what changed after
 * the position, export_tables.c says what each PostgreSQL table holds,
 * export_pg.c writes a batch and the new position in ONE PostgreSQL
 * transaction, export_main.c runs the loop and tells the hub how far it got
 * (hqctl export status). */
#ifndef EXPORT_H
#define EXPORT_H

#include <libpq-fe.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ss_lmdb.h"
#include "ss_proto.h"

struct export_config {
	char data_dir[1024];       /* the hub's */
	char pg[1024];             /* libpq connection string */
	char hub[512];             /* the hub's query endpoint, for reports ("" or "off": none) */
	int64_t batch_rows;        /* events per PostgreSQL transaction, at most */
	int64_t poll_ms;           /* how often to look for new changes when idle */
	int64_t stores_refresh_ms; /* the stores table whole, this often */
	int64_t report_ms;         /* tell the hub where we stand, at least this often */
};

/* The export's position, as kept in PostgreSQL with the rows. */
struct export_position {
	uint64_t change_no;        /* every change through this is exported (0: none) */
	int64_t change_ms;         /* its hub time, and its events key: which hub's */
	uint8_t event_key[64];
	size_t key_len;
	uint64_t events;           /* events exported in all */
};

struct export_hub;

/* A table in PostgreSQL (export_tables.c). */
struct export_col {
	const char *name, *type, *doc;
};

struct export_table {
	const char *name;          /* "storesync_sales" */
	const char *hub_db;        /* the hub database it mirrors ("sales"); NULL: events */
	const char *doc;
	const struct export_col *cols;
	size_t n_cols;
	const char *key;           /* primary key columns, "store_id, day" */
	/* One row in COPY text format from the hub's key and value (unpacked
	 * with the hub database's type); 0, or -1 when the value is unusable. */
	int (*row)(FILE *f, const MDB_val *key, const ProtobufCMessage *value, MDB_txn *txn,
		const struct export_hub *x);
};

/* The hub's LMDB environment, opened read-only (export_hub.c). */
struct export_hub {
	MDB_env *env;
	MDB_dbi events, event_order, stores, registry, sales, inventory, cases, accounts;
	dev_t dev;
	ino_t ino;                 /* of data.mdb: a restored hub is a new file */
};

extern const struct export_table export_tables[];
extern const size_t export_n_tables;
extern const struct export_table export_events_table;
extern const struct export_table export_position_table;

/* COPY text format, for the views (export_tables.c). */
void export_text(FILE *f, const char *s);     /* escaped; NULL: \N */
void export_int(FILE *f, int64_t v);
void export_time(FILE *f, int64_t ms);        /* timestamptz; <= 0: \N */
void export_sep(FILE *f);                     /* between columns */
/* One events row, in COPY's binary format (the stream of
 * export_pg_copy_stream), from its key and record; change_no 0 /
 * received_ms 0: unknown. */
int export_event_row(FILE *f, const MDB_val *key, const Storesync__Record *r,
	uint64_t change_no, int64_t received_ms);
/* The DDL of every table, for --schema and for the first connection. */
void export_schema_sql(FILE *f);
/* "store_id, day, ..." (the columns a row fills, generated ones left out). */
void export_copy_cols(FILE *f, const struct export_table *t);

int export_hub_open(struct export_hub *x, const char *dir, char *err, size_t errlen);
void export_hub_close(struct export_hub *x);
/* 1 when the hub's data.mdb is another file than the one open (a restore). */
int export_hub_replaced(const struct export_hub *x, const char *dir);
/* A read transaction (the map followed if the hub grew it). */
int export_hub_begin(struct export_hub *x, MDB_txn **txn);

/* What one PostgreSQL transaction writes: the events go straight to
 * PostgreSQL's COPY as they are read (export_pg_copy_stream), so reading
 * the hub and PostgreSQL's work overlap; the view rows are kept here. */
struct export_batch {
	size_t n_events;
	char *views[8];            /* COPY rows per export_tables[i] */
	size_t views_len[8];
	size_t n_view_rows[8];
	int full;                  /* a full copy: every table is emptied first */
	struct export_position to; /* the position after it */
};

/* 1 when the export must start over with a full copy: nothing exported
 * yet, or `from` is a position this hub never issued (a restored hub). */
int export_full_needed(struct export_hub *x, MDB_txn *txn, const struct export_position *from);
/* The changes after `from` (at most max events; full: everything) from
 * txn: events as COPY rows into events, the rows of every view key they
 * touched into b, read as txn sees them; b->to the position after them.
 * 0, or -1 with a reason. */
int export_collect(struct export_hub *x, MDB_txn *txn, const struct export_position *from,
	int full, size_t max, FILE *events, struct export_batch *b, char *err, size_t errlen);
/* Every store's row, for the periodic refresh of storesync_stores. */
int export_collect_stores(struct export_hub *x, MDB_txn *txn, struct export_batch *b,
	char *err, size_t errlen);
void export_batch_free(struct export_batch *b);

/* PostgreSQL (export_pg.c). */
PGconn *export_pg_connect(const char *conninfo, char *err, size_t errlen);
/* Reads the position (creating the tables and the position row on first
 * use). 0, or -1 with a reason. */
int export_pg_position(PGconn *pg, struct export_position *p, char *err, size_t errlen);
/* Opens the batch's transaction: checks that the position is still `from`
 * (another exporter may have moved it), empties every table for a full
 * copy, and starts COPY of the events. 0; 1 when the position had moved
 * (nothing begun); -1 with a reason. */
int export_pg_begin(PGconn *pg, const struct export_position *from, int full, char *err,
	size_t errlen);
/* A stream whose bytes go to the COPY begun (fclose it before finishing). */
FILE *export_pg_copy_stream(PGconn *pg);
/* Ends the COPY, replaces the touched view rows, writes b->to as the
 * position and commits: all of it or nothing. 0, or -1 with a reason. */
int export_pg_finish(PGconn *pg, const struct export_batch *b, char *err, size_t errlen);
/* Gives up the transaction begun (nothing of it stays). */
void export_pg_abort(PGconn *pg);
/* Replaces every row of storesync_stores (position untouched). */
int export_pg_stores(PGconn *pg, const struct export_batch *b, char *err, size_t errlen);

#endif
