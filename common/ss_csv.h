/* ss_csv: CSV files (RFC 4180, via Debian's libcsv) read row by row with the
 * line number each row starts on, so every refusal can name its line. And
 * the two CSV inputs of storesync: price lists and the store registry. */
#ifndef SS_CSV_H
#define SS_CSV_H

#include <stdio.h>

#include "ss_proto.h"

#define SS_CSV_MAX_FIELDS 16

/* Called per row: fields (NUL-terminated, at most SS_CSV_MAX_FIELDS) and
 * the line the row starts on. Return 0 to go on, nonzero to stop. */
typedef int (*ss_csv_row_fn)(void *arg, long line, char **fields, size_t n);

/* Reads every row of in. Returns 0, or -1 with a reason in err (a CSV
 * syntax error) and *err_line the line of the row it is in. */
int ss_csv_read(FILE *in, ss_csv_row_fn fn, void *arg, long *err_line, char *err,
	size_t errlen);

/* A whole file checked at once: every bad line is numbered in errors. */
struct ss_csv_errors {
	char **lines;              /* "line 7: price_fen \"abc\" is not a whole number" */
	size_t n, cap;
};

void ss_csv_errors_add(struct ss_csv_errors *e, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ss_csv_errors_free(struct ss_csv_errors *e);

/* A price list: header `sku,price_fen[,name]`, one SKU per row. On success
 * (no error at all) *out holds n entries (free with ss_price_list_free);
 * otherwise errors lists every bad line and -1 is returned. */
int ss_price_csv_read(FILE *in, Storesync__PriceEntry ***out, size_t *n,
	struct ss_csv_errors *errors);
void ss_price_list_free(Storesync__PriceEntry **entries, size_t n);

/* The store registry: header `store_id,name,region`. Same contract. */
int ss_store_csv_read(FILE *in, Storesync__StoreInfo ***out, size_t *n,
	struct ss_csv_errors *errors);
void ss_store_list_free(Storesync__StoreInfo **stores, size_t n);

#endif
