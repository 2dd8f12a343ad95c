/* test_csv: the CSV inputs of hqctl (price lists, the store registry).
 * A file is taken whole or refused whole, with every bad line numbered by
 * the line it starts on; quoting follows RFC 4180. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ss_csv.h"

static FILE *text(const char *s)
{
	return fmemopen((void *)s, strlen(s), "r");
}

static int has_error(const struct ss_csv_errors *e, const char *want)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->lines[i], want))
			return 1;
	return 0;
}

START_TEST(price_list_good)
{
	FILE *in = text("sku,price_fen,name\nSOFA-3S,459900,\"Sofa, 3 seats\"\nCUSHION-01,12900\n"
		"\nLAMP-1,0,\"The \"\"best\"\" lamp\"\n");
	struct ss_csv_errors e = { 0 };
	Storesync__PriceEntry **p;
	size_t n;

	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_uint_eq(n, 3);
	/* In SKU order. */
	ck_assert_str_eq(p[0]->sku, "CUSHION-01");
	ck_assert_int_eq(p[0]->price_fen, 12900);
	ck_assert_ptr_null(p[0]->name);
	ck_assert_str_eq(p[1]->sku, "LAMP-1");
	ck_assert_str_eq(p[1]->name, "The \"best\" lamp");
	ck_assert_str_eq(p[2]->name, "Sofa, 3 seats");
	ck_assert_int_eq(p[2]->price_fen, 459900);
	ss_price_list_free(p, n);
	fclose(in);
}
END_TEST

/* A spreadsheet's "CSV UTF-8" begins with a byte order mark: the header
 * is still the header. */
START_TEST(byte_order_mark_before_the_header)
{
	FILE *in = text("\xef\xbb\xbfsku,price_fen,name\nSKU-1,100,x\n");
	struct ss_csv_errors e = { 0 };
	Storesync__PriceEntry **p;
	size_t n;

	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(p[0]->sku, "SKU-1");
	ss_price_list_free(p, n);
	fclose(in);
}
END_TEST

START_TEST(price_list_every_bad_line_numbered)
{
	FILE *in = text("sku,price_fen\nGOOD-1,100\nbad sku,100\nGOOD-2,-5\nGOOD-3,12.50\n"
		"GOOD-1,200\nGOOD-4\nGOOD-5,100,\"x\",extra\n");
	struct ss_csv_errors e = { 0 };
	Storesync__PriceEntry **p = (void *)1;
	size_t n = 9;

	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(e.n, 6);
	ck_assert(has_error(&e, "line 3: sku \"bad sku\""));
	ck_assert(has_error(&e, "line 4: price_fen \"-5\""));
	ck_assert(has_error(&e, "line 5: price_fen \"12.50\""));
	ck_assert(has_error(&e, "line 6: GOOD-1 is listed again (first on line 2)"));
	ck_assert(has_error(&e, "line 7: 1 fields"));
	ck_assert(has_error(&e, "line 8: 4 fields"));
	ss_csv_errors_free(&e);
	fclose(in);
}
END_TEST

START_TEST(price_list_header_and_syntax)
{
	struct ss_csv_errors e = { 0 };
	Storesync__PriceEntry **p;
	size_t n;
	FILE *in = text("sku,price\nA,1\n");

	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert(has_error(&e, "line 1: the header must be sku,price_fen,[name]"));
	ss_csv_errors_free(&e);
	fclose(in);
	in = text("");
	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert(has_error(&e, "empty file"));
	ss_csv_errors_free(&e);
	fclose(in);
	/* A quoted field over two lines: the row is numbered by its first line,
	 * and an unterminated quote is a syntax error. */
	in = text("sku,price_fen,name\nA-1,1,\"two\nlines\"\nB-1,x\n");
	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert(has_error(&e, "line 4: price_fen \"x\""));
	ss_csv_errors_free(&e);
	fclose(in);
	in = text("sku,price_fen,name\nA-1,1,\"open\n");
	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert(has_error(&e, "line 2: a quoted field is not closed"));
	ss_csv_errors_free(&e);
	fclose(in);
	/* Opened on line 3, still open at the end (line 4): line 3's; the bad
	 * price before it first. */
	in = text("sku,price_fen,name\nSKU-1,x,a\nSKU-2,100,\"open\nSKU-3,1,y\n");
	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_ptr_nonnull(strstr(e.lines[0], "line 2: "));
	ck_assert_ptr_nonnull(strstr(e.lines[1], "line 3: a quoted field is not closed"));
	ss_csv_errors_free(&e);
	fclose(in);
	in = text("sku,price_fen,name\nSKU-1,1,ab\"c\n");
	ck_assert_int_eq(ss_price_csv_read(in, &p, &n, &e), -1);
	ck_assert(has_error(&e, "line 2: a quote out of place"));
	ss_csv_errors_free(&e);
	fclose(in);
}
END_TEST

START_TEST(store_registry)
{
	FILE *in = text("store_id,name,region\nS001,\"Chaoyang, Beijing\",north\nS002,上海店,east\n");
	struct ss_csv_errors e = { 0 };
	Storesync__StoreInfo **s;
	size_t n;

	ck_assert_int_eq(ss_store_csv_read(in, &s, &n, &e), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(s[0]->name, "Chaoyang, Beijing");
	ck_assert_str_eq(s[1]->name, "上海店");
	ck_assert_str_eq(s[1]->region, "east");
	ss_store_list_free(s, n);
	fclose(in);
	in = text("store_id,name,region\nS-1,x,north\nS2,y,bad region\nS3,z,\nS3,w,\n");
	ck_assert_int_eq(ss_store_csv_read(in, &s, &n, &e), -1);
	ck_assert(has_error(&e, "line 2: store_id \"S-1\""));
	ck_assert(has_error(&e, "line 3: region \"bad region\""));
	ck_assert(has_error(&e, "line 5: S3 is listed again (first on line 4)"));
	ss_csv_errors_free(&e);
	fclose(in);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, price_list_good);
	tcase_add_test(tc, byte_order_mark_before_the_header);
	tcase_add_test(tc, price_list_every_bad_line_numbered);
	tcase_add_test(tc, price_list_header_and_syntax);
	tcase_add_test(tc, store_registry);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
