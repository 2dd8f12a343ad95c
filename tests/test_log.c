/* The log's rate limit (common/ss_log.c): one line per interval, the lines
 * held back counted, and the next line says how many, and says nothing
 * when none was held back. */
#include <string.h>

#include "ss_log.h"
#include "testlib.h"

START_TEST(a_line_per_interval_says_what_it_held_back)
{
	struct ss_lograte r = { 0 };
	uint64_t held = 99;

	ck_assert_int_eq(ss_lograte_allow(&r, 1000, 10000, &held), 1);
	ck_assert_uint_eq(held, 0);
	ck_assert_str_eq(ss_lograte_note(held), "");
	ck_assert_int_eq(ss_lograte_allow(&r, 2000, 10000, &held), 0);
	ck_assert_int_eq(ss_lograte_allow(&r, 10999, 10000, &held), 0);
	ck_assert_int_eq(ss_lograte_allow(&r, 11000, 10000, &held), 1);
	ck_assert_uint_eq(held, 2);
	ck_assert_str_eq(ss_lograte_note(held), " (2 more since the last line)");
	ck_assert_str_eq(ss_lograte_note(1), " (1 more since the last line)");
	ck_assert_str_eq(ss_lograte_note(18446744073709551615ULL),
		" (18446744073709551615 more since the last line)");
}
END_TEST

START_TEST(n_lines_per_window)
{
	struct ss_lograte r = { 0 };
	uint64_t held = 99;

	ck_assert_int_eq(ss_lograte_allow_n(&r, 0, 1000, 2, &held), 1);
	ck_assert_int_eq(ss_lograte_allow_n(&r, 1, 1000, 2, &held), 1);
	ck_assert_int_eq(ss_lograte_allow_n(&r, 2, 1000, 2, &held), 0);
	ck_assert_int_eq(ss_lograte_allow_n(&r, 1000, 1000, 2, &held), 1);
	ck_assert_uint_eq(held, 1);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { a_line_per_interval_says_what_it_held_back,
		n_lines_per_window };

	return tl_run("log", tests, sizeof tests / sizeof tests[0], 10);
}
