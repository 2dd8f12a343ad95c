/* export_pg: PostgreSQL through libpq. One batch, one transaction:
 *   BEGIN; lock the position row and check it is still ours;
 *   (a full copy: TRUNCATE every table;) COPY the events (binary format);
 *   for each view: COPY the touched rows into a temporary table, delete
 *   their old rows, insert the new; UPDATE the position; COMMIT.
 * So the position and the rows commit together or not at all: an exporter
 * killed at any moment, or a server killed or restarted under it, leaves
 * the tables as of the last commit, and the next run starts from the
 * position that commit wrote. An event is never written twice (the events
 * table's primary key is the record's identity, store, epoch and seq: a
 * second copy would fail the transaction rather than duplicate a row), and
 * never skipped (the position only moves with the rows). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

PGconn *export_pg_connect(const char *conninfo, char *err, size_t errlen)
{
	PGconn *pg = PQconnectdb(conninfo);
	PGresult *r;

	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "postgresql: %s", PQerrorMessage(pg));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(pg);
		return NULL;
	}
	/* Notices (CREATE ... IF NOT EXISTS) are not errors. */
	r = PQexec(pg, "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
	PQclear(r);
	return pg;
}

static int fail(PGconn *pg, PGresult *r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "postgresql: %s: %s", what, r ? PQresultErrorMessage(r)
		: PQerrorMessage(pg));
	err[strcspn(err, "\n")] = '\0';
	PQclear(r);
	return -1;
}

static int exec(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		return fail(pg, r, sql, err, errlen);
	PQclear(r);
	return 0;
}

static void rollback(PGconn *pg)
{
	PQclear(PQexec(pg, "ROLLBACK"));
}

static int schema(PGconn *pg, char *err, size_t errlen)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	int rc;

	if (!f)
		return -1;
	fputs("BEGIN;\n", f);
	/* Two exporters starting at once create the tables once. */
	fputs("SELECT pg_advisory_xact_lock(7703);\n", f);
	export_schema_sql(f);
	fputs("INSERT INTO storesync_export_position VALUES (1, 0, 0, NULL, 0, now()) "
		"ON CONFLICT (id) DO NOTHING;\nCOMMIT;\n", f);
	fclose(f);
	rc = exec(pg, sql, err, errlen);
	free(sql);
	if (rc != 0)
		rollback(pg);
	return rc;
}

static int read_position(PGconn *pg, const char *sql, struct export_position *p, char *err,
	size_t errlen)
{
	PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 1);
	const uint8_t *v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail(pg, r, "reading the position", err, errlen);
	memset(p, 0, sizeof *p);
	/* Binary results: bigint is 8 bytes big-endian. */
	p->change_no = ss_be64_get((const uint8_t *)PQgetvalue(r, 0, 0));
	p->change_ms = (int64_t)ss_be64_get((const uint8_t *)PQgetvalue(r, 0, 1));
	if (!PQgetisnull(r, 0, 2) && (size_t)PQgetlength(r, 0, 2) <= sizeof p->event_key) {
		v = (const uint8_t *)PQgetvalue(r, 0, 2);
		p->key_len = (size_t)PQgetlength(r, 0, 2);
		memcpy(p->event_key, v, p->key_len);
	}
	p->events = ss_be64_get((const uint8_t *)PQgetvalue(r, 0, 3));
	PQclear(r);
	return 0;
}

#define POSITION_SELECT "SELECT change_no, change_ms, event_key, events FROM " \
	"storesync_export_position WHERE id = 1"

int export_pg_position(PGconn *pg, struct export_position *p, char *err, size_t errlen)
{
	if (schema(pg, err, errlen) != 0)
		return -1;
	return read_position(pg, POSITION_SELECT, p, err, errlen);
}

static int copy(PGconn *pg, const struct export_table *t, const char *into, const char *rows,
	size_t len, char *err, size_t errlen)
{
	char *sql = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&sql, &n);
	PGresult *r;
	int rc = 0;

	if (!f)
		return -1;
	fprintf(f, "COPY %s (", into);
	export_copy_cols(f, t);
	fputs(") FROM STDIN", f);
	fclose(f);
	r = PQexec(pg, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return fail(pg, r, "COPY", err, errlen);
	PQclear(r);
	if (len && PQputCopyData(pg, rows, (int)len) != 1)
		rc = -1;
	if (PQputCopyEnd(pg, rc ? "client gave up" : NULL) != 1)
		rc = -1;
	while ((r = PQgetResult(pg))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
			return fail(pg, r, t->name, err, errlen);
		PQclear(r);
	}
	if (rc)
		snprintf(err, errlen, "postgresql: COPY %s: %s", t->name, PQerrorMessage(pg));
	return rc;
}

/* The touched rows of table t replace their old rows. */
static int replace_rows(PGconn *pg, const struct export_table *t, const char *rows,
	size_t len, int keep_others, char *err, size_t errlen)
{
	char sql[1024], *p;
	int n;

	n = snprintf(sql, sizeof sql, "CREATE TEMP TABLE IF NOT EXISTS stage_%s (LIKE %s) "
		"ON COMMIT DELETE ROWS", t->name, t->name);
	if ((size_t)n >= sizeof sql || exec(pg, sql, err, errlen) != 0)
		return -1;
	snprintf(sql, sizeof sql, "stage_%s", t->name);
	if (copy(pg, t, sql, rows, len, err, errlen) != 0)
		return -1;
	if (!keep_others) {
		snprintf(sql, sizeof sql, "DELETE FROM %s", t->name);
	} else {
		/* DELETE FROM t USING stage WHERE t.k1 = stage.k1 AND ... */
		n = snprintf(sql, sizeof sql, "DELETE FROM %s t USING stage_%s s WHERE ", t->name,
			t->name);
		for (const char *k = t->key; *k;) {
			size_t kl = strcspn(k, ", ");

			n += snprintf(sql + n, sizeof sql - (size_t)n, "%st.%.*s = s.%.*s",
				k == t->key ? "" : " AND ", (int)kl, k, (int)kl, k);
			k += kl;
			k += strspn(k, ", ");
		}
	}
	if (exec(pg, sql, err, errlen) != 0)
		return -1;
	n = snprintf(sql, sizeof sql, "INSERT INTO %s (", t->name);
	p = sql + n;
	{
		FILE *f = fmemopen(p, sizeof sql - (size_t)n, "w");

		if (!f)
			return -1;
		export_copy_cols(f, t);
		fprintf(f, ") SELECT ");
		export_copy_cols(f, t);
		fprintf(f, " FROM stage_%s", t->name);
		fclose(f);
	}
	return exec(pg, sql, err, errlen);
}

static int set_position(PGconn *pg, const struct export_position *to, char *err, size_t errlen)
{
	char no[24], ms[24], ev[24];
	const char *v[4] = { no, ms, (const char *)to->event_key, ev };
	int len[4] = { 0, 0, (int)to->key_len, 0 }, fmt[4] = { 0, 0, 1, 0 };
	PGresult *r;

	snprintf(no, sizeof no, "%" PRIu64, to->change_no);
	snprintf(ms, sizeof ms, "%" PRId64, to->change_ms);
	snprintf(ev, sizeof ev, "%" PRIu64, to->events);
	if (!to->key_len)
		v[2] = NULL;
	r = PQexecParams(pg, "UPDATE storesync_export_position SET change_no = $1, change_ms = $2, "
		"event_key = $3, events = $4, exported_at = now() WHERE id = 1", 4, NULL, v, len, fmt, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail(pg, r, "UPDATE storesync_export_position", err, errlen);
	PQclear(r);
	return 0;
}

int export_pg_begin(PGconn *pg, const struct export_position *from, int full, char *err,
	size_t errlen)
{
	struct export_position now;
	char *sql = NULL;
	size_t n = 0;
	FILE *f;
	PGresult *r;

	if (exec(pg, "BEGIN", err, errlen) != 0)
		return -1;
	/* Locked for the transaction: a second exporter waits here, then sees
	 * the position moved and plans again. */
	if (read_position(pg, POSITION_SELECT " FOR UPDATE", &now, err, errlen) != 0)
		goto fail;
	if (now.change_no != from->change_no || now.events != from->events) {
		rollback(pg);
		return 1;
	}
	if (full) {
		char trunc[512] = "TRUNCATE storesync_events";

		for (size_t i = 0; i < export_n_tables; i++)
			snprintf(trunc + strlen(trunc), sizeof trunc - strlen(trunc), ", %s",
				export_tables[i].name);
		if (exec(pg, trunc, err, errlen) != 0)
			goto fail;
	}
	if (!(f = open_memstream(&sql, &n)))
		goto fail;
	fprintf(f, "COPY %s (", export_events_table.name);
	export_copy_cols(f, &export_events_table);
	fputs(") FROM STDIN (FORMAT binary)", f);
	fclose(f);
	r = PQexec(pg, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fail(pg, r, "COPY storesync_events", err, errlen);
		goto fail;
	}
	PQclear(r);
	return 0;
fail:
	rollback(pg);
	return -1;
}

static ssize_t copy_write(void *cookie, const char *buf, size_t len)
{
	/* A failure shows at the end of the COPY, which then fails whole. */
	return PQputCopyData(cookie, buf, (int)len) == 1 ? (ssize_t)len : -1;
}

/* COPY's binary format: a signature, flags and no header extension;
 * after the last row, a field count of -1. */
static const char copy_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";
static const char copy_trailer[2] = "\377\377";

FILE *export_pg_copy_stream(PGconn *pg)
{
	static const cookie_io_functions_t io = { NULL, copy_write, NULL, NULL };
	FILE *f = fopencookie(pg, "w", io);

	if (f) {
		setvbuf(f, NULL, _IOFBF, 256 << 10);
		fwrite(copy_header, 1, sizeof copy_header, f);
	}
	return f;
}

void export_pg_abort(PGconn *pg)
{
	PGresult *r;

	if (PQputCopyEnd(pg, "the exporter gave up") == 1)
		while ((r = PQgetResult(pg)))
			PQclear(r);
	rollback(pg);
}

int export_pg_finish(PGconn *pg, const struct export_batch *b, char *err, size_t errlen)
{
	PGresult *r;
	int rc = 0;

	if (PQputCopyData(pg, copy_trailer, sizeof copy_trailer) != 1
		|| PQputCopyEnd(pg, NULL) != 1)
		rc = -1;
	while ((r = PQgetResult(pg))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
			rc = fail(pg, r, export_events_table.name, err, errlen);
			continue;
		}
		PQclear(r);
	}
	if (rc != 0) {
		if (!err[0])
			snprintf(err, errlen, "postgresql: COPY storesync_events: %s", PQerrorMessage(pg));
		goto fail;
	}
	for (size_t i = 0; i < export_n_tables; i++)
		if (b->n_view_rows[i] && replace_rows(pg, &export_tables[i], b->views[i],
			b->views_len[i], 1, err, errlen) != 0)
			goto fail;
	if (set_position(pg, &b->to, err, errlen) != 0)
		goto fail;
	rc = exec(pg, "COMMIT", err, errlen);
	return rc;
fail:
	rollback(pg);
	return -1;
}

int export_pg_stores(PGconn *pg, const struct export_batch *b, char *err, size_t errlen)
{
	if (exec(pg, "BEGIN", err, errlen) != 0)
		return -1;
	if (replace_rows(pg, &export_tables[0], b->views[0], b->views_len[0], 0, err, errlen) != 0
		|| exec(pg, "COMMIT", err, errlen) != 0) {
		rollback(pg);
		return -1;
	}
	return 0;
}
