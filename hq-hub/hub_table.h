/* hub_table: an answer to an operator under construction: named columns and
 * rows of typed cells (a QueryReply). Built by query handlers on the query
 * thread and by operator-write handlers on the writer; columns, rows, cells
 * and their strings live in the table's arena and go with it. */
#ifndef HUB_TABLE_H
#define HUB_TABLE_H

#include <stdint.h>

#include "ss_arena.h"
#include "ss_proto.h"

struct table {
	Storesync__QueryReply reply;
	size_t cap_rows;
	struct ss_arena mem;   /* everything but reply.rows (grown) and reply.error */
};

/* An empty reply (no columns, no error). */
void table_clear(struct table *t);
void table_init(struct table *t, const char *const *columns, size_t n);
/* A new row; fill it with exactly one cell per column, in order. */
Storesync__Row *table_row(struct table *t);
void cell_int(Storesync__Row *row, int64_t v);
/* s is copied into the table (NULL: ""). */
void cell_str(Storesync__Row *row, const char *s);
void table_fail(struct table *t, const char *reason);
/* Frees everything table_init/table_row/cell_* allocated (t itself is the
 * caller's); t is left cleared. */
void table_free(struct table *t);

/* t->reply packed: the bytes protobuf_c_message_pack gives (test_hub_table),
 * in a newly malloc'd buffer of *len bytes; NULL when out of memory. */
void *table_pack(const struct table *t, size_t *len);
/* t->reply as one ZeroMQ frame (flags as zmq_send); 0, or -1 with errno. */
int table_send(void *sock, const struct table *t, int flags);

#endif
