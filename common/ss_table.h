/* ss_table: prints a query answer (columns and typed rows) the three ways
 * every command offers: an aligned table, one JSON document, or CSV. */
#ifndef SS_TABLE_H
#define SS_TABLE_H

#include <stdio.h>

#include "ss_proto.h"

enum ss_table_format { SS_TABLE_TEXT, SS_TABLE_JSON, SS_TABLE_CSV };

/* JSON is an array of objects keyed by column name; integers stay integers. */
int ss_table_print(FILE *out, const Storesync__QueryReply *reply, enum ss_table_format fmt);

#endif
