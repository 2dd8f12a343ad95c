/* ss_table: prints a query answer (named columns, typed rows) the three ways
 * every hqctl query offers: a table for people, one JSON document or CSV for
 * scripts. What a column holds (a time, a duration, money, a flag, a list)
 * is read from its name; the conventions are listed atop ss_table.c. */
#ifndef SS_TABLE_H
#define SS_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "ss_proto.h"

enum ss_table_format { SS_TABLE_TEXT, SS_TABLE_JSON, SS_TABLE_CSV };

/* How one command's answer is shown as text. JSON and CSV always carry
 * every column under the name the hub gave it. */
struct ss_table_view {
	const char *const *columns;   /* NULL-terminated: text shows only these
	                               * (in the reply's order); NULL: every column */
	const char *const *labels;    /* NULL-terminated (column, header) pairs for
	                               * text headers; NULL: none */
	int total;                    /* text: a "total" row of the count and money
	                               * columns */
};

/* Prints reply in fmt; view may be NULL (every column, no total). Returns 0,
 * or -1 when out of memory or the output fails. */
int ss_table_print(FILE *out, const Storesync__QueryReply *reply, enum ss_table_format fmt,
	const struct ss_table_view *view);

/* fen as people read money: "¥1,234.56", "-¥0.05" (thousands grouped);
 * returns buf, which 32 bytes always hold. */
const char *ss_table_money(int64_t fen, char *buf, size_t len);

/* Terminal columns UTF-8 text takes: East Asian wide and fullwidth
 * characters take 2, combining marks 0, others 1 (invalid bytes 1 each). */
size_t ss_table_display_width(const char *s);

#endif
