/* fuzz_csv: the CSV inputs of hqctl (ss_csv.c): one file, read both as a
 * price list and as a store registry.
 * Invariants beyond "no crash":
 *  - a file is taken whole or refused with at least one numbered reason;
 *  - what is taken obeys the rules: valid SKUs / store ids, prices in
 *    0..10^13 fen, names that are labels, keys sorted and never repeated;
 *  - a taken price list written back as CSV reads as the same list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "ss_csv.h"
#include "ss_validate.h"

static void write_field(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void prices_valid(Storesync__PriceEntry **e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		FZ_CHECK(ss_validate_sku(e[i]->sku) == 0, "entry %zu: sku", i);
		FZ_CHECK(e[i]->price_fen >= 0 && e[i]->price_fen <= SS_MAX_FEN, "entry %zu: price", i);
		FZ_CHECK(!e[i]->name || ss_validate_label(e[i]->name, 64) == 0, "entry %zu: name", i);
		FZ_CHECK(i == 0 || strcmp(e[i - 1]->sku, e[i]->sku) < 0, "entry %zu: order", i);
	}
}

/* The list written as CSV and read again: the same entries. */
static void round_trip(Storesync__PriceEntry **e, size_t n)
{
	char *text = NULL;
	size_t len = 0, n2;
	FILE *out = open_memstream(&text, &len), *in;
	Storesync__PriceEntry **e2;
	struct ss_csv_errors errs = { 0 };

	fputs("sku,price_fen,name\n", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s,%lld,", e[i]->sku, (long long)e[i]->price_fen);
		write_field(out, e[i]->name ? e[i]->name : "");
		fputc('\n', out);
	}
	fclose(out);
	in = fmemopen(text, len ? len : 1, "r");
	FZ_CHECK(ss_price_csv_read(in, &e2, &n2, &errs) == 0, "written back, the list is refused: "
		"%s", errs.n ? errs.lines[0] : "?");
	FZ_CHECK(n2 == n, "%zu entries read back, %zu written", n2, n);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(strcmp(e[i]->sku, e2[i]->sku) == 0 && e[i]->price_fen == e2[i]->price_fen
			&& strcmp(e[i]->name ? e[i]->name : "", e2[i]->name ? e2[i]->name : "") == 0,
			"entry %zu changed", i);
	fclose(in);
	ss_price_list_free(e2, n2);
	free(text);
}

static void as_prices(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)data, size, "r");
	struct ss_csv_errors errs = { 0 };
	Storesync__PriceEntry **e;
	size_t n;

	if (!in)
		return;
	if (ss_price_csv_read(in, &e, &n, &errs) == 0) {
		FZ_CHECK(errs.n == 0, "taken with errors");
		prices_valid(e, n);
		round_trip(e, n);
		ss_price_list_free(e, n);
	} else {
		FZ_CHECK(errs.n > 0 && e == NULL, "refused without a reason");
	}
	ss_csv_errors_free(&errs);
	fclose(in);
}

static void as_stores(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)data, size, "r");
	struct ss_csv_errors errs = { 0 };
	Storesync__StoreInfo **s;
	size_t n;

	if (!in)
		return;
	if (ss_store_csv_read(in, &s, &n, &errs) == 0) {
		for (size_t i = 0; i < n; i++) {
			FZ_CHECK(ss_validate_store_id(s[i]->store_id) == 0, "store %zu: id", i);
			FZ_CHECK(!s[i]->region[0] || ss_validate_region(s[i]->region) == 0, "region");
			FZ_CHECK(i == 0 || strcmp(s[i - 1]->store_id, s[i]->store_id) < 0, "order");
		}
		ss_store_list_free(s, n);
	} else {
		FZ_CHECK(errs.n > 0, "refused without a reason");
	}
	ss_csv_errors_free(&errs);
	fclose(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;   /* fmemopen refuses an empty buffer */
	fz_init();
	as_prices(data, size);
	as_stores(data, size);
	return 0;
}
