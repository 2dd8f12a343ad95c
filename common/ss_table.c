/* ss_table: output of query answers. Only the shape is known here, never
 * the meaning of a column, so every hqctl query prints the same way. */
#include "ss_table.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A cell as text: integers formatted into buf, strings as they are (whole). */
static const char *cell_text(const Storesync__Cell *c, char *buf, size_t len)
{
	if (c && c->value_case == STORESYNC__CELL__VALUE_I) {
		snprintf(buf, len, "%" PRId64, c->i);
		return buf;
	}
	return c && c->value_case == STORESYNC__CELL__VALUE_S && c->s ? c->s : "";
}

static const Storesync__Cell *cell_at(const Storesync__Row *row, size_t col)
{
	return col < row->n_cells ? row->cells[col] : NULL;
}

static int print_text(FILE *out, const Storesync__QueryReply *r)
{
	size_t ncol = r->n_columns, *width = calloc(ncol ? ncol : 1, sizeof *width);
	char buf[32];
	const char *text;

	if (!width)
		return -1;
	for (size_t c = 0; c < ncol; c++)
		width[c] = strlen(r->columns[c]);
	for (size_t i = 0; i < r->n_rows; i++)
		for (size_t c = 0; c < ncol; c++) {
			text = cell_text(cell_at(r->rows[i], c), buf, sizeof buf);
			if (strlen(text) > width[c])
				width[c] = strlen(text);
		}
	for (size_t c = 0; c < ncol; c++)
		fprintf(out, "%-*s%s", (int)width[c], r->columns[c], c + 1 < ncol ? "  " : "\n");
	for (size_t i = 0; i < r->n_rows; i++)
		for (size_t c = 0; c < ncol; c++) {
			const Storesync__Cell *cell = cell_at(r->rows[i], c);
			int right = cell && cell->value_case == STORESYNC__CELL__VALUE_I;

			text = cell_text(cell, buf, sizeof buf);
			fprintf(out, right ? "%*s%s" : "%-*s%s", (int)width[c], text,
				c + 1 < ncol ? "  " : "\n");
		}
	free(width);
	return 0;
}

static int print_json(FILE *out, const Storesync__QueryReply *r)
{
	json_t *arr = json_array();
	int rc;

	for (size_t i = 0; i < r->n_rows; i++) {
		json_t *obj = json_object();

		for (size_t c = 0; c < r->n_columns; c++) {
			const Storesync__Cell *cell = cell_at(r->rows[i], c);

			if (cell && cell->value_case == STORESYNC__CELL__VALUE_I)
				json_object_set_new(obj, r->columns[c], json_integer(cell->i));
			else if (cell && cell->value_case == STORESYNC__CELL__VALUE_S)
				json_object_set_new(obj, r->columns[c], json_string(cell->s));
			else
				json_object_set_new(obj, r->columns[c], json_null());
		}
		json_array_append_new(arr, obj);
	}
	rc = json_dumpf(arr, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(arr);
	return rc;
}

static void csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static int print_csv(FILE *out, const Storesync__QueryReply *r)
{
	char buf[32];

	for (size_t c = 0; c < r->n_columns; c++) {
		csv_field(out, r->columns[c]);
		fputs(c + 1 < r->n_columns ? "," : "\n", out);
	}
	for (size_t i = 0; i < r->n_rows; i++)
		for (size_t c = 0; c < r->n_columns; c++) {
			csv_field(out, cell_text(cell_at(r->rows[i], c), buf, sizeof buf));
			fputs(c + 1 < r->n_columns ? "," : "\n", out);
		}
	return 0;
}

int ss_table_print(FILE *out, const Storesync__QueryReply *reply, enum ss_table_format fmt)
{
	switch (fmt) {
	case SS_TABLE_JSON:
		return print_json(out, reply);
	case SS_TABLE_CSV:
		return print_csv(out, reply);
	default:
		return print_text(out, reply);
	}
}
