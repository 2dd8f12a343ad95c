/* hub_table: building QueryReply tables. Rows, cells and strings are carved
 * from the table's arena: 10,000 stores' rows are 300,000 cells, and a
 * malloc per row and per string, then a free of each, were a third of the
 * hub's time answering `stores`. */
#include "hub_table.h"

#include <errno.h>
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

/* ---- the wire form ----
 *
 * protobuf-c packs a message by sizing it, then writing each field, and
 * sizes each nested message again for its length prefix: every cell of a
 * reply was sized three times and each string measured as often. Here
 * each row is sized once, then written; the layout is protobuf-c's
 * (fields in number order: error 1, columns 2, rows 3, service 15; a row's
 * cells 1; a cell's i 1 as sint64 or s 2, a string cell without one
 * empty). */

enum {
	TAG_ERROR = 1 << 3 | 2, TAG_COLUMN = 2 << 3 | 2, TAG_ROW = 3 << 3 | 2,
	TAG_SERVICE = 15 << 3 | 2, TAG_CELLS = 1 << 3 | 2, TAG_I = 1 << 3 | 0, TAG_S = 2 << 3 | 2,
};

/* The writer's varints are ss_proto's; this one moves p past what it wrote. */
static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	return p + ss_proto_varint_put(p, v);
}

static uint64_t zigzag(int64_t v)
{
	return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

/* A length-delimited field of n bytes: tag, length, bytes. */
static size_t field_len(size_t n)
{
	return 1 + ss_proto_varint_size(n) + n;
}

static uint8_t *put_bytes(uint8_t *p, uint8_t tag, const void *s, size_t n)
{
	*p++ = tag;
	p = put_varint(p, n);
	memcpy(p, s, n);
	return p + n;
}

static size_t cell_len(const Storesync__Cell *c)
{
	if (c->value_case == STORESYNC__CELL__VALUE_I)
		return 1 + ss_proto_varint_size(zigzag(c->i));
	if (c->value_case == STORESYNC__CELL__VALUE_S && c->s)
		return field_len(strlen(c->s));
	return 0;
}

static size_t row_len(const Storesync__Row *r)
{
	size_t n = 0;

	for (size_t c = 0; c < r->n_cells; c++)
		n += field_len(cell_len(r->cells[c]));
	return n;
}

static uint8_t *put_row(uint8_t *p, const Storesync__Row *r, size_t len)
{
	*p++ = TAG_ROW;
	p = put_varint(p, len);
	for (size_t c = 0; c < r->n_cells; c++) {
		const Storesync__Cell *cell = r->cells[c];

		*p++ = TAG_CELLS;
		p = put_varint(p, cell_len(cell));
		if (cell->value_case == STORESYNC__CELL__VALUE_I) {
			*p++ = TAG_I;
			p = put_varint(p, zigzag(cell->i));
		} else if (cell->value_case == STORESYNC__CELL__VALUE_S && cell->s) {
			p = put_bytes(p, TAG_S, cell->s, strlen(cell->s));
		}
	}
	return p;
}

void *table_pack(const struct table *t, size_t *len)
{
	const Storesync__QueryReply *r = &t->reply;
	size_t *rows = malloc((r->n_rows ? r->n_rows : 1) * sizeof *rows), n = 0;
	uint8_t *buf, *p;

	if (!rows)
		return NULL;
	if (r->error)
		n += field_len(strlen(r->error));
	for (size_t i = 0; i < r->n_columns; i++)
		n += field_len(strlen(r->columns[i]));
	for (size_t i = 0; i < r->n_rows; i++)
		n += field_len(rows[i] = row_len(r->rows[i]));
	if (r->service)
		n += field_len(strlen(r->service));
	if ((p = buf = malloc(n ? n : 1))) {
		if (r->error)
			p = put_bytes(p, TAG_ERROR, r->error, strlen(r->error));
		for (size_t i = 0; i < r->n_columns; i++)
			p = put_bytes(p, TAG_COLUMN, r->columns[i], strlen(r->columns[i]));
		for (size_t i = 0; i < r->n_rows; i++)
			p = put_row(p, r->rows[i], rows[i]);
		if (r->service)
			p = put_bytes(p, TAG_SERVICE, r->service, strlen(r->service));
		*len = (size_t)(p - buf);
	}
	free(rows);
	return buf;
}

int table_send(void *sock, const struct table *t, int flags)
{
	size_t len;
	void *buf = table_pack(t, &len);

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	return ss_proto_send_packed(sock, buf, len, flags);
}
