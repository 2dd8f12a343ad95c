/* test_table: common/ss_table, the three ways every query answer prints.
 * Text: columns aligned by display width (Chinese names line up), integers
 * right-aligned, strings left-aligned, missing cells blank; what a column
 * holds follows its name: times in the operator's zone with the zone in the
 * header, durations as 3d 4h, money as yuan with grouping, flags yes/no,
 * never as "-"; a narrow column set, header labels and a total row on
 * request. JSON: one document, an array of objects keyed by column,
 * integers stay integers (exactly, past 2^53) in machine units, never and
 * missing cells null, flags booleans, lists arrays; checked by parsing it
 * back with jansson, and written a row at a time in the layout of one dump
 * of the whole array. CSV: a header line, fields with commas, quotes or line
 * breaks quoted (quotes doubled), integers bare, never empty, flags
 * true/false. Long strings come out whole in every format. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_table.h"

static Storesync__QueryReply *reply_new(const char *const *cols, size_t ncol)
{
	Storesync__QueryReply *r = calloc(1, sizeof *r);

	ck_assert_ptr_nonnull(r);
	storesync__query_reply__init(r);
	r->columns = calloc(ncol ? ncol : 1, sizeof *r->columns);
	for (size_t i = 0; i < ncol; i++)
		r->columns[i] = strdup(cols[i]);
	r->n_columns = ncol;
	return r;
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static Storesync__Row *row_add(Storesync__QueryReply *r)
{
	Storesync__Row *row = calloc(1, sizeof *row);

	ck_assert_ptr_nonnull(row);
	storesync__row__init(row);
	row->cells = calloc(r->n_columns ? r->n_columns : 1, sizeof *row->cells);
	r->rows = realloc(r->rows, (r->n_rows + 1) * sizeof *r->rows);
	ck_assert_ptr_nonnull(r->rows);
	r->rows[r->n_rows++] = row;
	return row;
}

static Storesync__Cell *cell_add(Storesync__Row *row)
{
	Storesync__Cell *c = calloc(1, sizeof *c);

	ck_assert_ptr_nonnull(c);
	storesync__cell__init(c);
	row->cells[row->n_cells++] = c;
	return c;
}

static void cell_i(Storesync__Row *row, int64_t v)
{
	Storesync__Cell *c = cell_add(row);

	c->value_case = STORESYNC__CELL__VALUE_I;
	c->i = v;
}

static void cell_s(Storesync__Row *row, const char *s)
{
	Storesync__Cell *c = cell_add(row);

	c->value_case = STORESYNC__CELL__VALUE_S;
	c->s = strdup(s);
}

static void reply_free(Storesync__QueryReply *r)
{
	storesync__query_reply__free_unpacked(r, NULL);
}

/* Prints r in fmt, as view says, into a malloc'd string. */
static char *print_view(const Storesync__QueryReply *r, enum ss_table_format fmt,
	const struct ss_table_view *view)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ss_table_print(f, r, fmt, view), 0);
	fclose(f);
	return buf;
}

static char *print(const Storesync__QueryReply *r, enum ss_table_format fmt)
{
	return print_view(r, fmt, NULL);
}

/* Drops spaces before each newline: trailing padding is not part of the contract. */
static void rstrip_lines(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (*p == '\n')
			while (w > s && w[-1] == ' ')
				w--;
		*w++ = *p;
	}
	*w = '\0';
}

/* store, records, amount_fen, note: two full rows and one short row. */
static Storesync__QueryReply *sample(void)
{
	static const char *const cols[] = { "store", "records", "amount_fen", "note" };
	Storesync__QueryReply *r = reply_new(cols, 4);
	Storesync__Row *row = row_add(r);

	cell_s(row, "S1");
	cell_i(row, 5);
	cell_i(row, -120);
	cell_s(row, "a");
	row = row_add(r);
	cell_s(row, "STORE_22");
	cell_i(row, 12345);
	cell_i(row, 0);
	cell_s(row, "hello");
	row = row_add(r);
	cell_s(row, "S3");
	cell_i(row, 9007199254740993LL);  /* 2^53 + 1: not a double */
	return r;
}

START_TEST(text_is_aligned)
{
	Storesync__QueryReply *r = sample();
	char *out = print(r, SS_TABLE_TEXT);

	rstrip_lines(out);
	ck_assert_str_eq(out,
		"store              records  amount  note\n"
		"S1                       5  -¥1.20  a\n"
		"STORE_22             12345   ¥0.00  hello\n"
		"S3        9007199254740993\n");
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(text_of_no_rows_is_the_header)
{
	static const char *const cols[] = { "store", "records" };
	Storesync__QueryReply *r = reply_new(cols, 2);
	char *out = print(r, SS_TABLE_TEXT);

	rstrip_lines(out);
	ck_assert_str_eq(out, "store  records\n");
	free(out);
	reply_free(r);
}
END_TEST

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	ck_assert_msg(j != NULL, "not one JSON document (%s): %s", jerr.text, text);
	return j;
}

static void expect_int(json_t *obj, const char *key, json_int_t want)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	ck_assert_int_eq(json_integer_value(v), want);
}

START_TEST(json_is_an_array_of_objects)
{
	Storesync__QueryReply *r = sample();
	char *out = print(r, SS_TABLE_JSON);
	json_t *arr = parse(out), *o;

	ck_assert(json_is_array(arr));
	ck_assert_uint_eq(json_array_size(arr), 3);
	o = json_array_get(arr, 0);
	ck_assert_uint_eq(json_object_size(o), 4);
	ck_assert_str_eq(json_string_value(json_object_get(o, "store")), "S1");
	expect_int(o, "records", 5);
	expect_int(o, "amount_fen", -120);
	ck_assert_str_eq(json_string_value(json_object_get(o, "note")), "a");
	o = json_array_get(arr, 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "store")), "STORE_22");
	expect_int(o, "records", 12345);
	expect_int(o, "amount_fen", 0);
	o = json_array_get(arr, 2);
	expect_int(o, "records", 9007199254740993LL);
	ck_assert(json_is_null(json_object_get(o, "amount_fen")));
	ck_assert(json_is_null(json_object_get(o, "note")));
	json_decref(arr);
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(json_of_no_rows_is_an_empty_array)
{
	static const char *const cols[] = { "store" };
	Storesync__QueryReply *r = reply_new(cols, 1);
	char *out = print(r, SS_TABLE_JSON);
	json_t *arr = parse(out);

	ck_assert(json_is_array(arr));
	ck_assert_uint_eq(json_array_size(arr), 0);
	json_decref(arr);
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(csv_quotes_what_needs_it)
{
	static const char *const cols[] = { "id", "text, free", "n" };
	static const struct { const char *id, *text; int64_t n; } rows[] = {
		{ "plain", "a,b", 1 }, { "q", "say \"hi\"", -2 }, { "nl", "line1\nline2", 3 },
		{ "cr", "x\ry", 4 }, { "empty", "", 0 }, { "sp", "two words", 5 },
	};
	Storesync__QueryReply *r = reply_new(cols, 3);
	char *out;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, rows[i].id);
		cell_s(row, rows[i].text);
		cell_i(row, rows[i].n);
	}
	out = print(r, SS_TABLE_CSV);
	ck_assert_str_eq(out,
		"id,\"text, free\",n\n"
		"plain,\"a,b\",1\n"
		"q,\"say \"\"hi\"\"\",-2\n"
		"nl,\"line1\nline2\",3\n"
		"cr,\"x\ry\",4\n"
		"empty,,0\n"
		"sp,two words,5\n");
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(csv_missing_cells_are_empty)
{
	Storesync__QueryReply *r = sample();
	char *out = print(r, SS_TABLE_CSV);

	ck_assert_str_eq(out,
		"store,records,amount_fen,note\n"
		"S1,5,-120,a\n"
		"STORE_22,12345,0,hello\n"
		"S3,9007199254740993,,\n");
	free(out);
	reply_free(r);
}
END_TEST

/* A complaint's description or a note has no length limit: never cut it. */
START_TEST(long_strings_come_out_whole)
{
	static const char *const cols[] = { "id", "text" };
	Storesync__QueryReply *r = reply_new(cols, 2);
	Storesync__Row *row = row_add(r);
	char longer[1500], want[1600], *out;

	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	cell_s(row, "L");
	cell_s(row, longer);
	out = print(r, SS_TABLE_CSV);
	snprintf(want, sizeof want, "id,text\nL,%s\n", longer);
	ck_assert_str_eq(out, want);
	free(out);
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	snprintf(want, sizeof want, "id  text\nL   %s\n", longer);
	ck_assert_str_eq(out, want);
	free(out);
	reply_free(r);
}
END_TEST

/* ---- column conventions ---- */

/* 2026-12-01 01:14:03 UTC, a winter and a summer noon (UTC 11:00). */
#define T_DEC1 1796087643000LL
#define T_JAN15 1768474800000LL
#define T_JUL15 1784113200000LL

START_TEST(times_are_local_with_the_zone_in_the_header)
{
	static const char *const cols[] = { "store_id", "last_seen_ms" };
	Storesync__QueryReply *r = reply_new(cols, 2);
	Storesync__Row *row = row_add(r);
	char *out;

	set_tz("UTC-8");   /* POSIX: eight hours east of UTC */
	cell_s(row, "S1");
	cell_i(row, T_DEC1);
	row = row_add(r);
	cell_s(row, "S2");
	cell_i(row, 0);    /* never seen */
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"store_id   last_seen (+08:00)\n"
		"S1        2026-12-01 09:14:03\n"
		"S2                          -\n");
	free(out);
	reply_free(r);
}
END_TEST

/* Across a daylight saving change one header offset cannot be right for
 * every row: a time in another offset names its own. */
START_TEST(a_time_in_another_offset_names_it)
{
	static const char *const cols[] = { "registered_ms" };
	Storesync__QueryReply *r = reply_new(cols, 1);
	char *out;

	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	cell_i(row_add(r), T_JAN15);
	cell_i(row_add(r), T_JUL15);
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"       registered (+01:00)\n"
		"       2026-01-15 12:00:00\n"
		"2026-07-15 13:00:00 +02:00\n");
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(durations_read_as_days_hours_minutes)
{
	static const char *const cols[] = { "age_ms", "silent_ms", "oldest_unsent_age_ms",
		"waited_for_ms" };
	static const int64_t v[][4] = {
		{ (3 * 24 + 4) * 3600000LL + 59000, 41 * 60000LL + 30000, 12000, 999 },
		{ 0, 0, 0, 4 * 3600000LL + 5 * 60000 },
		{ -1, -1, 2 * 86400000LL, 3600000 },
	};
	Storesync__QueryReply *r = reply_new(cols, 4);
	char *out;

	for (size_t i = 0; i < 3; i++) {
		Storesync__Row *row = row_add(r);

		for (size_t c = 0; c < 4; c++)
			cell_i(row, v[i][c]);
	}
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	/* An age of 0 is nothing waiting (-); a silence of 0 is just heard. */
	ck_assert_str_eq(out,
		"  age  silent  oldest_unsent_age  waited_for\n"
		"3d 4h     41m                12s          0s\n"
		"    -      0s                  -       4h 5m\n"
		"    -       -                 2d          1h\n");
	free(out);
	reply_free(r);
}
END_TEST

/* hqctl export status: behind_ms is how far the export is behind, not a
 * time (it printed 1970-01-01 00:00:46), -1 before any report. */
START_TEST(export_delay_is_a_duration)
{
	static const char *const cols[] = { "behind", "behind_ms" };
	static const int64_t v[][2] = { { 3, 46000 }, { 0, 0 }, { 0, -1 } };
	Storesync__QueryReply *r = reply_new(cols, 2);
	json_t *arr;
	char *out;

	for (size_t i = 0; i < 3; i++) {
		Storesync__Row *row = row_add(r);

		cell_i(row, v[i][0]);
		cell_i(row, v[i][1]);
	}
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"behind  behind_ms\n"
		"     3        46s\n"
		"     0         0s\n"
		"     0          -\n");
	free(out);
	out = print(r, SS_TABLE_JSON);
	arr = parse(out);
	expect_int(json_array_get(arr, 0), "behind_ms", 46000);
	expect_int(json_array_get(arr, 1), "behind_ms", 0);
	ck_assert(json_is_null(json_object_get(json_array_get(arr, 2), "behind_ms")));
	json_decref(arr);
	free(out);
	reply_free(r);
}
END_TEST

/* CurveZMQ keys: people compare them by their first 8 characters, scripts
 * get each whole, as a list (store list, operator list). */
START_TEST(keys_are_short_for_people_whole_for_scripts)
{
	static const char *const cols[] = { "store_id", "keys" };
	static const char *const key1 = "abcdefghij0123456789ABCDEFGHIJ0123456789",
		*const key2 = "0123456789abcdefghij0123456789ABCDEFGHIJ";
	Storesync__QueryReply *r = reply_new(cols, 2);
	Storesync__Row *row = row_add(r);
	char both[160], *out;
	json_t *arr, *list;

	snprintf(both, sizeof both, "%s,%s", key1, key2);
	cell_s(row, "S1");
	cell_s(row, both);
	row = row_add(r);
	cell_s(row, "S2");
	cell_s(row, "");
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"store_id  keys\n"
		"S1        abcdefgh...,01234567...\n"
		"S2        -\n");
	free(out);
	out = print(r, SS_TABLE_JSON);
	arr = parse(out);
	list = json_object_get(json_array_get(arr, 0), "keys");
	ck_assert(json_is_array(list));
	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_array_get(list, 0)), key1);
	ck_assert_str_eq(json_string_value(json_array_get(list, 1)), key2);
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(arr, 1), "keys")), 0);
	json_decref(arr);
	free(out);
	out = print(r, SS_TABLE_CSV);
	snprintf(both, sizeof both, "store_id,keys\nS1,%s;%s\nS2,\n", key1, key2);
	ck_assert_str_eq(out, both);
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(money_is_yuan_with_grouping)
{
	static const char *const cols[] = { "amount_fen" };
	static const int64_t fen[] = { 1234567, -500, 0, 5, 100000000000LL, INT64_MIN };
	Storesync__QueryReply *r = reply_new(cols, 1);
	char *out;

	for (size_t i = 0; i < sizeof fen / sizeof fen[0]; i++)
		cell_i(row_add(r), fen[i]);
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"                     amount\n"
		"                 ¥12,345.67\n"
		"                     -¥5.00\n"
		"                      ¥0.00\n"
		"                      ¥0.05\n"
		"          ¥1,000,000,000.00\n"
		"-¥92,233,720,368,547,758.08\n");
	free(out);
	reply_free(r);
}
END_TEST

/* A case as the hub answers it: flags are integers, overdue a list. */
static Storesync__QueryReply *cases(void)
{
	static const char *const cols[] = { "case_no", "overdue", "responded_late",
		"closed_ms", "size_bytes", "note" };
	static const struct { const char *no, *overdue; int late; int64_t closed, bytes; } c[] = {
		{ "C-1", "response,report", 1, 0, 512 },
		{ "C-2", "", 0, T_DEC1, 3 * 1024 * 1024 / 2 },
	};
	Storesync__QueryReply *r = reply_new(cols, 6);

	for (size_t i = 0; i < 2; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, c[i].no);
		cell_s(row, c[i].overdue);
		cell_i(row, c[i].late);
		cell_i(row, c[i].closed);
		cell_i(row, c[i].bytes);
		cell_s(row, "");
	}
	return r;
}

START_TEST(text_flags_lists_sizes_and_never)
{
	Storesync__QueryReply *r = cases();
	char *out;

	set_tz("UTC");
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"case_no  overdue          responded_late      closed (+00:00)     size  note\n"
		"C-1      response,report  yes                               -    512 B  -\n"
		"C-2      -                no              2026-12-01 01:14:03  1.5 MiB  -\n");
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(json_keeps_machine_units_with_null_booleans_and_lists)
{
	Storesync__QueryReply *r = cases();
	char *out = print(r, SS_TABLE_JSON);
	json_t *arr = parse(out), *o, *list;

	o = json_array_get(arr, 0);
	list = json_object_get(o, "overdue");
	ck_assert(json_is_array(list));
	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_array_get(list, 0)), "response");
	ck_assert_str_eq(json_string_value(json_array_get(list, 1)), "report");
	ck_assert(json_is_true(json_object_get(o, "responded_late")));
	ck_assert(json_is_null(json_object_get(o, "closed_ms")));
	expect_int(o, "size_bytes", 512);
	ck_assert_str_eq(json_string_value(json_object_get(o, "note")), "");
	o = json_array_get(arr, 1);
	ck_assert(json_is_array(json_object_get(o, "overdue")));
	ck_assert_uint_eq(json_array_size(json_object_get(o, "overdue")), 0);
	ck_assert(json_is_false(json_object_get(o, "responded_late")));
	expect_int(o, "closed_ms", T_DEC1);
	json_decref(arr);
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(csv_keeps_machine_units_with_empty_never)
{
	Storesync__QueryReply *r = cases();
	char *out = print(r, SS_TABLE_CSV);

	ck_assert_str_eq(out,
		"case_no,overdue,responded_late,closed_ms,size_bytes,note\n"
		"C-1,response;report,true,,512,\n"
		"C-2,,false,1796087643000,1572864,\n");
	free(out);
	reply_free(r);
}
END_TEST

/* A size the hub could not learn (an agent that does not report its free
 * disk) is -1: unknown, not zero bytes. */
START_TEST(an_unknown_size_is_not_zero)
{
	static const char *const cols[] = { "store_id", "disk_free_bytes" };
	Storesync__QueryReply *r = reply_new(cols, 2);
	const int64_t sizes[] = { -1, 0 };
	char *out;
	json_t *arr;

	for (size_t i = 0; i < 2; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, i ? "S2" : "S1");
		cell_i(row, sizes[i]);
	}
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"store_id  disk_free\n"
		"S1                -\n"
		"S2              0 B\n");
	free(out);
	out = print(r, SS_TABLE_JSON);
	arr = parse(out);
	ck_assert(json_is_null(json_object_get(json_array_get(arr, 0), "disk_free_bytes")));
	expect_int(json_array_get(arr, 1), "disk_free_bytes", 0);
	json_decref(arr);
	free(out);
	out = print(r, SS_TABLE_CSV);
	ck_assert_str_eq(out, "store_id,disk_free_bytes\nS1,\nS2,0\n");
	free(out);
	reply_free(r);
}
END_TEST

/* An update id of 0 is none (an audited store add carries no update; a
 * store that has applied nothing): "-" and null, never a total. */
START_TEST(update_id_zero_is_none)
{
	static const char *const cols[] = { "what", "update_id", "applied_update_id" };
	Storesync__QueryReply *r = reply_new(cols, 3);
	const int64_t ids[] = { 0, 1796220027904 };
	char *out;
	json_t *arr;

	for (size_t i = 0; i < 2; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, i ? "price push" : "store add");
		cell_i(row, ids[i]);
		cell_i(row, ids[1 - i]);
	}
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"what            update_id  applied_update_id\n"
		"store add               -      1796220027904\n"
		"price push  1796220027904                  -\n");
	free(out);
	out = print(r, SS_TABLE_JSON);
	arr = parse(out);
	ck_assert(json_is_null(json_object_get(json_array_get(arr, 0), "update_id")));
	expect_int(json_array_get(arr, 1), "update_id", 1796220027904);
	ck_assert(json_is_null(json_object_get(json_array_get(arr, 1), "applied_update_id")));
	json_decref(arr);
	free(out);
	out = print(r, SS_TABLE_CSV);
	ck_assert_str_eq(out, "what,update_id,applied_update_id\n"
		"store add,,1796220027904\nprice push,1796220027904,\n");
	free(out);
	reply_free(r);
}
END_TEST

/* A day the hub leaves empty (an item in stock has no out-of-stock run):
 * none, as never is for a time. */
START_TEST(an_empty_day_is_none)
{
	static const char *const cols[] = { "sku", "out_of_stock_since" };
	Storesync__QueryReply *r = reply_new(cols, 2);
	char *out;
	json_t *arr;

	for (size_t i = 0; i < 2; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, i ? "SKU-2" : "SKU-1");
		cell_s(row, i ? "2026-11-05" : "");
	}
	out = print(r, SS_TABLE_TEXT);
	rstrip_lines(out);
	ck_assert_str_eq(out,
		"sku    out_of_stock_since\n"
		"SKU-1  -\n"
		"SKU-2  2026-11-05\n");
	free(out);
	out = print(r, SS_TABLE_JSON);
	arr = parse(out);
	ck_assert(json_is_null(json_object_get(json_array_get(arr, 0), "out_of_stock_since")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1),
		"out_of_stock_since")), "2026-11-05");
	json_decref(arr);
	free(out);
	out = print(r, SS_TABLE_CSV);
	ck_assert_str_eq(out, "sku,out_of_stock_since\nSKU-1,\nSKU-2,2026-11-05\n");
	free(out);
	reply_free(r);
}
END_TEST

/* sales by store and day, as the hub answers it. */
static Storesync__QueryReply *sales(void)
{
	static const char *const cols[] = { "store_id", "period", "receipts", "sales_fen",
		"refunds", "refunds_fen", "last_ms" };
	static const struct { const char *store; int64_t receipts, fen, refunds, rfen; } d[] = {
		{ "S1", 3, 150000, 1, 2000 }, { "S22", 10, 1234567, 0, 0 },
	};
	Storesync__QueryReply *r = reply_new(cols, 7);

	for (size_t i = 0; i < 2; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, d[i].store);
		cell_s(row, "2026-12-01");
		cell_i(row, d[i].receipts);
		cell_i(row, d[i].fen);
		cell_i(row, d[i].refunds);
		cell_i(row, d[i].rfen);
		cell_i(row, T_DEC1);
	}
	return r;
}

START_TEST(narrow_view_labels_and_total)
{
	static const char *const narrow[] = { "store_id", "receipts", "sales_fen", "refunds_fen",
		NULL };
	static const char *const labels[] = { "receipts", "tickets", NULL };
	struct ss_table_view v = { narrow, labels, 1 };
	Storesync__QueryReply *r = sales();
	char *out = print_view(r, SS_TABLE_TEXT, &v), *csv;

	rstrip_lines(out);
	/* Without the count column, refunds_fen may lose its suffix. */
	ck_assert_str_eq(out,
		"store_id  tickets       sales  refunds\n"
		"S1              3   ¥1,500.00   ¥20.00\n"
		"S22            10  ¥12,345.67    ¥0.00\n"
		"--------  -------  ----------  -------\n"
		"total          13  ¥13,845.67   ¥20.00\n");
	free(out);
	/* Scripts get every column, under the hub's names, and no total. */
	csv = print_view(r, SS_TABLE_CSV, &v);
	ck_assert_str_eq(csv,
		"store_id,period,receipts,sales_fen,refunds,refunds_fen,last_ms\n"
		"S1,2026-12-01,3,150000,1,2000,1796087643000\n"
		"S22,2026-12-01,10,1234567,0,0,1796087643000\n");
	free(csv);
	reply_free(r);
}
END_TEST

START_TEST(wide_keeps_suffixes_that_would_collide)
{
	struct ss_table_view v = { NULL, NULL, 0 };
	Storesync__QueryReply *r = sales();
	char *out;

	set_tz("UTC");
	out = print_view(r, SS_TABLE_TEXT, &v);
	ck_assert_msg(strstr(out, "  refunds  refunds_fen  ") != NULL, "headers: %s", out);
	ck_assert_msg(strstr(out, "last (+00:00)") != NULL, "headers: %s", out);
	free(out);
	reply_free(r);
}
END_TEST

START_TEST(display_width_counts_terminal_columns)
{
	ck_assert_uint_eq(ss_table_display_width("abc"), 3);
	ck_assert_uint_eq(ss_table_display_width("张三"), 4);
	ck_assert_uint_eq(ss_table_display_width("¥12.00"), 6);
	ck_assert_uint_eq(ss_table_display_width("e\xcc\x81"), 1);       /* e + combining acute */
	ck_assert_uint_eq(ss_table_display_width("ＡＢ"), 4);             /* fullwidth */
	ck_assert_uint_eq(ss_table_display_width("\xff\xfe"), 2);         /* not UTF-8 */
	ck_assert_uint_eq(ss_table_display_width("\xe5\xbc"), 2);         /* cut short */
}
END_TEST

START_TEST(chinese_names_align)
{
	static const char *const cols[] = { "customer", "balance_fen" };
	static const char *const names[] = { "张三", "Li Wei", "欧阳娜娜" };
	Storesync__QueryReply *r = reply_new(cols, 2);
	char *out;

	for (size_t i = 0; i < 3; i++) {
		Storesync__Row *row = row_add(r);

		cell_s(row, names[i]);
		cell_i(row, 100);
	}
	out = print(r, SS_TABLE_TEXT);
	ck_assert_str_eq(out,
		"customer  balance\n"
		"张三        ¥1.00\n"
		"Li Wei      ¥1.00\n"
		"欧阳娜娜    ¥1.00\n");
	free(out);
	reply_free(r);
}
END_TEST

/* Rows dumped one at a time (ss_table does not build the whole answer's
 * tree) read as one dump of the array with JSON_INDENT(2): each row's
 * lines, a list's too, one level in; a line break inside a string stays
 * escaped, so it is no line of the layout. */
START_TEST(json_rows_are_one_dump_of_the_array)
{
	static const char *const cols[] = { "store_id", "name", "silent", "last_seen_ms",
		"overdue", "records" };
	static const char *const names[] = { "plain", "two\nlines", "张三" };
	Storesync__QueryReply *r = reply_new(cols, 6);
	json_t *want = json_array();
	char *out, *text;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		Storesync__Row *row = row_add(r);
		json_t *o = json_object(), *list = json_array();

		cell_s(row, "S1");
		cell_s(row, names[i]);
		cell_i(row, (int64_t)(i % 2));
		cell_i(row, (int64_t)i * 1000);
		cell_s(row, i % 2 ? "response,report" : "");
		json_object_set_new(o, "store_id", json_string("S1"));
		json_object_set_new(o, "name", json_string(names[i]));
		json_object_set_new(o, "silent", json_boolean(i % 2));
		json_object_set_new(o, "last_seen_ms", i ? json_integer((json_int_t)i * 1000)
			: json_null());
		if (i % 2) {
			json_array_append_new(list, json_string("response"));
			json_array_append_new(list, json_string("report"));
		}
		json_object_set_new(o, "overdue", list);
		json_object_set_new(o, "records", json_null());
		json_array_append_new(want, o);
	}
	out = print(r, SS_TABLE_JSON);
	text = json_dumps(want, JSON_INDENT(2));
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(out), strlen(text) + 1);
	ck_assert_int_eq(strncmp(out, text, strlen(text)), 0);
	ck_assert_str_eq(out + strlen(text), "\n");
	free(text);
	free(out);
	json_decref(want);
	reply_free(r);
}
END_TEST

/* ---- the JSON form as it was written before: a jansson tree per row ----
 *
 * ss_table's JSON is written directly; these are the functions it replaced
 * (ss_table.c at 2026-12-01, with the column conventions they read), kept
 * verbatim as the reference: the bytes must not change. A change of the
 * conventions (a new flag column, say) changes both. */

enum ref_kind { REF_PLAIN, REF_TIME, REF_AGE, REF_DURATION, REF_MONEY, REF_BYTES };

struct ref_col {
	enum ref_kind kind;
	int flag, list, day;
};

static int ref_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int ref_in_list(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return 1;
	return 0;
}

static struct ref_col ref_col_of(const char *name)
{
	static const char *const flags[] = { "stale", "silent", "overdue", "responded_late",
		"reported_late", "registered", "in_force", "delivered", "conflict", NULL };
	static const char *const lists[] = { "overdue", "store_ids", "keys", NULL };
	static const char *const durations[] = { "silent_ms", "behind_ms", NULL };
	struct ref_col c = { REF_PLAIN, ref_in_list(name, flags), ref_in_list(name, lists),
		ref_ends_with(name, "_since") };

	if (strcmp(name, "age_ms") == 0 || ref_ends_with(name, "_age_ms"))
		c.kind = REF_AGE;
	else if (ref_in_list(name, durations) || ref_ends_with(name, "_for_ms"))
		c.kind = REF_DURATION;
	else if (ref_ends_with(name, "_ms"))
		c.kind = REF_TIME;
	else if (ref_ends_with(name, "_fen"))
		c.kind = REF_MONEY;
	else if (ref_ends_with(name, "_bytes"))
		c.kind = REF_BYTES;
	return c;
}

static int ref_is_never(struct ref_col c, int64_t v)
{
	switch (c.kind) {
	case REF_TIME:
	case REF_AGE:
		return v <= 0;
	case REF_DURATION:
	case REF_BYTES:
		return v < 0;
	default:
		return 0;
	}
}

static const Storesync__Cell *ref_cell_at(const Storesync__Row *row, size_t col)
{
	return col < row->n_cells ? row->cells[col] : NULL;
}

static int ref_is_int(const Storesync__Cell *c)
{
	return c && c->value_case == STORESYNC__CELL__VALUE_I;
}

static const char *ref_str_of(const Storesync__Cell *c)
{
	return c && c->value_case == STORESYNC__CELL__VALUE_S && c->s ? c->s : "";
}

static json_t *ref_json_list(const char *s)
{
	json_t *arr = json_array();

	while (*s) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);

		json_array_append_new(arr, json_stringn(s, (size_t)(end - s)));
		s = comma ? comma + 1 : end;
	}
	return arr;
}

static json_t *ref_json_cell(struct ref_col col, const Storesync__Cell *cell)
{
	if (ref_is_int(cell)) {
		if (col.flag)
			return json_boolean(cell->i != 0);
		return ref_is_never(col, cell->i) ? json_null() : json_integer(cell->i);
	}
	if (!cell || cell->value_case != STORESYNC__CELL__VALUE_S
		|| (col.day && !*ref_str_of(cell)))
		return json_null();
	return col.list ? ref_json_list(ref_str_of(cell)) : json_string(ref_str_of(cell));
}

static int ref_print_json_row(FILE *out, const Storesync__QueryReply *r,
	const struct ref_col *cols, size_t i)
{
	json_t *obj = json_object();
	char *text;

	for (size_t c = 0; c < r->n_columns; c++)
		json_object_set_new(obj, r->columns[c], ref_json_cell(cols[c],
			ref_cell_at(r->rows[i], c)));
	text = json_dumps(obj, JSON_INDENT(2));
	json_decref(obj);
	if (!text)
		return -1;
	fputs(i ? ",\n  " : "[\n  ", out);
	for (const char *p = text, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		fwrite(p, 1, nl ? (size_t)(nl - p) : strlen(p), out);
		if (nl)
			fputs("\n  ", out);
	}
	free(text);
	return 0;
}

static int ref_print_json(FILE *out, const Storesync__QueryReply *r)
{
	struct ref_col *cols = calloc(r->n_columns ? r->n_columns : 1, sizeof *cols);
	int rc = cols ? 0 : -1;

	for (size_t c = 0; cols && c < r->n_columns; c++)
		cols[c] = ref_col_of(r->columns[c]);
	for (size_t i = 0; rc == 0 && i < r->n_rows; i++)
		rc = ref_print_json_row(out, r, cols, i);
	if (rc == 0)
		fputs(r->n_rows ? "\n]\n" : "[]\n", out);
	free(cols);
	return rc;
}

/* r's JSON from ss_table and from the reference: the same bytes. */
static void assert_json_as_before(const Storesync__QueryReply *r)
{
	char *want = NULL, *got = print(r, SS_TABLE_JSON);
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ref_print_json(f, r), 0);
	fclose(f);
	ck_assert_uint_eq(strlen(got), len);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}

/* Strings that need escaping or have no JSON form (not UTF-8: overlong,
 * a surrogate, past U+10FFFF, cut short), empty ones, long ones (past
 * the writer's stack buffer for jansson's encoding), and lists of them. */
static const char *const tricky_strings[] = { "", "plain", "quote\"d", "back\\slash",
	"a/b", "\b\f\n\r\t", "\x01\x1f", "del\x7f", "张三", "emoji \xf0\x9f\x98\x80",
	"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "cut \xe5\xbc", ",", "a,,b",
	"a,", ",a", "x,\xff,y", "张,三", "q\"uote,b", "   ", "null", "{\"json\": 1}" };
static const int64_t tricky_ints[] = { 0, -1, 1, 2, -5, 86400000, INT64_MIN, INT64_MAX,
	9007199254740993LL, 1796155510746LL };

/* One cell of every sort in turn: integers, strings, an unset cell, a
 * string cell without a string. */
static void tricky_cell(Storesync__Row *row, unsigned pick, char *long_quoted,
	char *long_plain)
{
	size_t ns = sizeof tricky_strings / sizeof tricky_strings[0],
		ni = sizeof tricky_ints / sizeof tricky_ints[0];
	Storesync__Cell *c;

	switch (pick % 5) {
	case 0:
	case 1:
		cell_i(row, tricky_ints[pick / 5 % ni]);
		return;
	case 2:
	case 3:
		cell_s(row, pick / 5 % (ns + 2) == ns ? long_quoted
			: pick / 5 % (ns + 2) == ns + 1 ? long_plain : tricky_strings[pick / 5 % (ns + 2)]);
		return;
	default:
		c = cell_add(row);
		if (pick / 5 % 2)
			c->value_case = STORESYNC__CELL__VALUE_S;   /* s stays NULL */
	}
}

START_TEST(json_is_byte_for_byte_as_before)
{
	/* Every kind of column, keys that need escaping, a non-ASCII key and
	 * one that is not UTF-8. */
	static const char *const cols[] = { "store_id", "name", "epoch", "records",
		"amount_fen", "last_seen_ms", "oldest_unsent_age_ms", "age_ms", "silent_ms",
		"pending_for_ms", "disk_free_bytes", "silent", "registered", "overdue", "store_ids",
		"open_since", "we\"ird\\key", "tab\tkey", "键", "bad\xffkey", "last_refused" };
	size_t ncol = sizeof cols / sizeof cols[0];
	Storesync__QueryReply *r = reply_new(cols, ncol);
	char long_quoted[1200], long_plain[700];
	unsigned seed = 12345;

	memset(long_quoted, 'x', sizeof long_quoted - 1);
	long_quoted[sizeof long_quoted - 1] = '\0';
	long_quoted[600] = '"';
	memset(long_plain, 'y', sizeof long_plain - 1);
	long_plain[sizeof long_plain - 1] = '\0';
	for (int i = 0; i < 400; i++) {
		Storesync__Row *row = row_add(r);
		size_t n = i % 7 == 6 ? (size_t)i % ncol : ncol;   /* some rows short */

		for (size_t c = 0; c < n; c++) {
			seed = seed * 1103515245u + 12345u;
			tricky_cell(row, seed >> 8, long_quoted, long_plain);
		}
	}
	assert_json_as_before(r);
	reply_free(r);
}
END_TEST

START_TEST(json_of_odd_shapes_is_as_before)
{
	/* A name twice (its first place, its last value set), rows whose
	 * values all have no JSON form, no columns, no rows. */
	static const char *const dup[] = { "a", "b_ms", "a", "c", "a" };
	static const char *const one[] = { "name" };
	Storesync__QueryReply *r = reply_new(dup, 5);
	Storesync__Row *row = row_add(r);

	cell_s(row, "first");
	cell_i(row, 5);
	cell_s(row, "second");
	cell_i(row, 7);
	cell_s(row, "third");
	row = row_add(r);
	cell_s(row, "\xff");
	cell_i(row, 0);
	cell_s(row, "second");
	cell_s(row, "\xfe");
	cell_s(row, "\xff");
	row = row_add(r);
	cell_s(row, "first");
	cell_i(row, 1);
	cell_i(row, 2);
	cell_s(row, "c");
	cell_s(row, "\xc0\x80");
	row = row_add(r);
	cell_s(row, "\xff");
	cell_s(row, "\xff");
	cell_s(row, "\xff");
	cell_s(row, "\xff");
	cell_s(row, "\xff");
	assert_json_as_before(r);
	reply_free(r);

	r = reply_new(one, 1);
	cell_s(row_add(r), "\xff");
	cell_s(row_add(r), "ok");
	assert_json_as_before(r);
	reply_free(r);

	r = reply_new(NULL, 0);
	row_add(r);
	row_add(r);
	assert_json_as_before(r);
	reply_free(r);

	r = reply_new(one, 1);
	assert_json_as_before(r);
	reply_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("formats");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, text_is_aligned);
	tcase_add_test(tc, text_of_no_rows_is_the_header);
	tcase_add_test(tc, json_is_an_array_of_objects);
	tcase_add_test(tc, json_of_no_rows_is_an_empty_array);
	tcase_add_test(tc, json_rows_are_one_dump_of_the_array);
	tcase_add_test(tc, json_is_byte_for_byte_as_before);
	tcase_add_test(tc, json_of_odd_shapes_is_as_before);
	tcase_add_test(tc, csv_quotes_what_needs_it);
	tcase_add_test(tc, csv_missing_cells_are_empty);
	tcase_add_test(tc, long_strings_come_out_whole);
	tcase_add_test(tc, times_are_local_with_the_zone_in_the_header);
	tcase_add_test(tc, a_time_in_another_offset_names_it);
	tcase_add_test(tc, durations_read_as_days_hours_minutes);
	tcase_add_test(tc, export_delay_is_a_duration);
	tcase_add_test(tc, keys_are_short_for_people_whole_for_scripts);
	tcase_add_test(tc, money_is_yuan_with_grouping);
	tcase_add_test(tc, text_flags_lists_sizes_and_never);
	tcase_add_test(tc, json_keeps_machine_units_with_null_booleans_and_lists);
	tcase_add_test(tc, csv_keeps_machine_units_with_empty_never);
	tcase_add_test(tc, update_id_zero_is_none);
	tcase_add_test(tc, an_unknown_size_is_not_zero);
	tcase_add_test(tc, an_empty_day_is_none);
	tcase_add_test(tc, narrow_view_labels_and_total);
	tcase_add_test(tc, wide_keeps_suffixes_that_would_collide);
	tcase_add_test(tc, display_width_counts_terminal_columns);
	tcase_add_test(tc, chinese_names_align);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
