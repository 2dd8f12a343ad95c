/* hub_table: building QueryReply tables. Rows, cells and strings are carved
 * from the table's arena: 10,000 stores' rows are 300,000 cells, and a
 * malloc per row and per string, then a free of each, were a third of the
 * hub's time answering `stores`. */
#include "hub_table.h"

#include <stdlib.h>
#include <string.h>

void table_clear(struct table *t)
{
	memset(t, 0, sizeof *t);
	storesync__query_reply__init(&t->reply);
	ss_arena_init(&t->mem, 0);
}

static void *table_alloc(struct table *t, size_t n)
{
	return t->mem.allocator.alloc(t->mem.allocator.allocator_data, n);
}

static char *table_strdup(struct table *t, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = table_alloc(t, n);

	return d ? memcpy(d, s, n) : NULL;
}

void table_init(struct table *t, const char *const *columns, size_t n)
{
	t->reply.columns = table_alloc(t, (n ? n : 1) * sizeof(char *));
	for (size_t i = 0; t->reply.columns && i < n; i++)
		if ((t->reply.columns[t->reply.n_columns] = table_strdup(t, columns[i])))
			t->reply.n_columns++;
}

/* A row, its cells and a way back to the table (for the cells' strings). */
struct row_mem {
	Storesync__Row row;       /* first: a Row* is a row_mem* */
	struct table *t;
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
	m = table_alloc(t, sizeof *m + n * (sizeof(Storesync__Cell *) + sizeof(Storesync__Cell)));
	if (!m)
		return NULL;
	storesync__row__init(&m->row);
	m->t = t;
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
		c->s = table_strdup(((struct row_mem *)row)->t, s ? s : "");
		/* Out of memory: an empty string, as a cell is never without one. */
		if (!c->s)
			c->s = (char *)"";
	}
}

void table_fail(struct table *t, const char *reason)
{
	free(t->reply.error);
	t->reply.error = strdup(reason);
}

void table_free(struct table *t)
{
	free(t->reply.rows);
	free(t->reply.error);
	ss_arena_release(&t->mem);
	table_clear(t);
}
