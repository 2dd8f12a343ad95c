/* test_hub_table: hq-hub/hub_table, the operators' answers as the hub builds
 * and sends them. Cells hold what was put in them (strings copied into the
 * table, so the caller's buffer may change after); a reply's wire form from
 * table_pack is the bytes protobuf-c packs of the same reply (what hqctl
 * reads, and so what every hqctl output is made of): errors, columns, empty
 * and long strings, UTF-8 and bytes that are not, integers at both ends of
 * int64, unset cells, short rows, many rows, no rows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub_table.h"
#include "testlib.h"

static void assert_packs_as_protobuf_c(const struct table *t)
{
	size_t want_len = 0, got_len = 0;
	uint8_t *want = ss_proto_pack(&t->reply.base, &want_len);
	uint8_t *got = table_pack(t, &got_len);

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got_len, want_len);
	ck_assert_int_eq(memcmp(got, want, want_len), 0);
	free(want);
	free(got);
}

START_TEST(cells_hold_copies)
{
	static const char *const cols[] = { "store_id", "records" };
	struct table t;
	char buf[8] = "S1";
	Storesync__Row *row;

	table_clear(&t);
	table_init(&t, cols, 2);
	row = table_row(&t);
	cell_str(row, buf);
	cell_int(row, -7);
	cell_int(row, 99);   /* past the columns: not kept */
	strcpy(buf, "XX");
	row = table_row(&t);
	cell_str(row, NULL);
	ck_assert_uint_eq(t.reply.n_columns, 2);
	ck_assert_str_eq(t.reply.columns[1], "records");
	ck_assert_uint_eq(t.reply.n_rows, 2);
	ck_assert_uint_eq(t.reply.rows[0]->n_cells, 2);
	ck_assert_str_eq(t.reply.rows[0]->cells[0]->s, "S1");
	ck_assert_int_eq(t.reply.rows[0]->cells[1]->i, -7);
	ck_assert_str_eq(t.reply.rows[1]->cells[0]->s, "");
	table_free(&t);
	ck_assert_uint_eq(t.reply.n_rows, 0);
}
END_TEST

START_TEST(packs_as_protobuf_c)
{
	static const char *const cols[] = { "store_id", "name", "records", "amount_fen",
		"last_seen_ms", "note", "键" };
	static const char *const strs[] = { "", "S00001", "张三 店", "quote\" back\\ \n\t",
		"\xff\xfe", "emoji \xf0\x9f\x98\x80", "a,b,,c" };
	static const int64_t ints[] = { 0, 1, -1, 63, 64, -64, -65, 127, 128, 300, -300,
		INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1796155510746LL, -1796155510746LL };
	char long_str[5000];
	struct table t;

	memset(long_str, 'x', sizeof long_str - 1);
	long_str[sizeof long_str - 1] = '\0';
	table_clear(&t);
	table_init(&t, cols, 7);
	for (unsigned i = 0; i < 3000; i++) {
		Storesync__Row *row = table_row(&t);
		size_t n = i % 11 == 10 ? i % 7 : 7;   /* some rows short */

		for (size_t c = 0; c < n; c++) {
			unsigned k = i * 7 + (unsigned)c;

			if (k % 3 == 0)
				cell_int(row, ints[k / 3 % (sizeof ints / sizeof ints[0])]);
			else if (k % 97 == 1)
				cell_str(row, long_str);
			else
				cell_str(row, strs[k % (sizeof strs / sizeof strs[0])]);
		}
		if (i % 13 == 5 && row->n_cells)   /* a cell that is neither (never sent by the hub) */
			row->cells[0]->value_case = STORESYNC__CELL__VALUE__NOT_SET;
		if (i % 17 == 3 && row->n_cells > 1 && row->cells[1]->value_case
			== STORESYNC__CELL__VALUE_S)
			row->cells[1]->s = NULL;   /* a string cell without its string */
	}
	assert_packs_as_protobuf_c(&t);
	t.reply.service = (char *)SS_SERVICE_HUB;
	assert_packs_as_protobuf_c(&t);
	table_fail(&t, "refused: \"why\"");
	assert_packs_as_protobuf_c(&t);
	t.reply.service = NULL;
	table_free(&t);
}
END_TEST

START_TEST(packs_empty_answers_as_protobuf_c)
{
	static const char *const cols[] = { "a" };
	struct table t;

	table_clear(&t);
	assert_packs_as_protobuf_c(&t);
	table_fail(&t, "");
	assert_packs_as_protobuf_c(&t);
	table_free(&t);
	table_init(&t, cols, 1);
	assert_packs_as_protobuf_c(&t);
	table_row(&t);   /* a row with no cells */
	assert_packs_as_protobuf_c(&t);
	table_free(&t);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { cells_hold_copies, packs_as_protobuf_c,
		packs_empty_answers_as_protobuf_c };

	return tl_run("hub_table", tests, sizeof tests / sizeof tests[0], 60);
}
