/* test_table: common/ss_table, the three ways every query answer prints.
 * Text: columns aligned, integers right-aligned, strings left-aligned,
 * missing cells blank. JSON: one document, an array of objects keyed by
 * column, integers stay integers (exactly, past 2^53), missing cells null;
 * checked by parsing it back with jansson. CSV: a header line, fields with
 * commas, quotes or line breaks quoted (quotes doubled), integers bare.
 * Long strings come out whole in every format. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Prints r in fmt into a malloc'd string. */
static char *print(const Storesync__QueryReply *r, enum ss_table_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ss_table_print(f, r, fmt), 0);
	fclose(f);
	return buf;
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
		"store     records           amount_fen  note\n"
		"S1                       5        -120  a\n"
		"STORE_22             12345           0  hello\n"
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
	tcase_add_test(tc, csv_quotes_what_needs_it);
	tcase_add_test(tc, csv_missing_cells_are_empty);
	tcase_add_test(tc, long_strings_come_out_whole);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
