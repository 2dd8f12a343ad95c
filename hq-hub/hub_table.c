/* hub_table: building QueryReply tables. A row and its cells are one
 * allocation: a big answer (a month of sales for 10,000 stores) costs one
 * malloc per row, not one per cell. */
#include "hub_table.h"

#include <stdlib.h>
#include <string.h>

void table_clear(struct table *t)
{
	memset(t, 0, sizeof *t);
	storesync__query_reply__init(&t->reply);
}

void table_init(struct table *t, const char *const *columns, size_t n)
{
	t->reply.columns = calloc(n, sizeof(char *));
	for (size_t i = 0; t->reply.columns && i < n; i++)
		t->reply.columns[t->reply.n_columns++] = strdup(columns[i]);
}

struct row_mem {
	Storesync__Row row;       /* first: a Row* is a row_mem* */
	size_t cap;
	Storesync__Cell *ptrs[];  /* cap pointers, then cap cells */
};

static Storesync__Cell *next_cell(Storesync__Row *row)
{
	struct row_mem *m = (struct row_mem *)row;
	Storesync__Cell *cells = (Storesync__Cell *)(m->ptrs + m->cap);

	if (row->n_cells == m->cap)
		return NULL;
	storesync__cell__init(&cells[row->n_cells]);
	m->ptrs[row->n_cells] = &cells[row->n_cells];
	return &cells[row->n_cells++];
}

Storesync__Row *table_row(struct table *t)
{
	size_t n = t->reply.n_columns;
	struct row_mem *m;

	if (t->reply.n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		Storesync__Row **rows = realloc(t->reply.rows, cap * sizeof *rows);

		if (!rows)
			return NULL;
		t->reply.rows = rows;
		t->cap_rows = cap;
	}
	m = calloc(1, sizeof *m + n * (sizeof(Storesync__Cell *) + sizeof(Storesync__Cell)));
	if (!m)
		return NULL;
	storesync__row__init(&m->row);
	m->cap = n;
	m->row.cells = m->ptrs;
	t->reply.rows[t->reply.n_rows++] = &m->row;
	return &m->row;
}

void cell_int(Storesync__Row *row, int64_t v)
{
	Storesync__Cell *c = next_cell(row);

	if (c) {
		c->value_case = STORESYNC__CELL__VALUE_I;
		c->i = v;
	}
}

void cell_str(Storesync__Row *row, const char *s)
{
	Storesync__Cell *c = next_cell(row);

	if (c) {
		c->value_case = STORESYNC__CELL__VALUE_S;
		c->s = strdup(s ? s : "");
	}
}

void table_fail(struct table *t, const char *reason)
{
	free(t->reply.error);
	t->reply.error = strdup(reason);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->reply.n_columns; i++)
		free(t->reply.columns[i]);
	free(t->reply.columns);
	for (size_t r = 0; r < t->reply.n_rows; r++) {
		Storesync__Row *row = t->reply.rows[r];

		for (size_t c = 0; c < row->n_cells; c++)
			if (row->cells[c]->value_case == STORESYNC__CELL__VALUE_S)
				free(row->cells[c]->s);
		free(row);   /* the row_mem, cells included */
	}
	free(t->reply.rows);
	free(t->reply.error);
	table_clear(t);
}
