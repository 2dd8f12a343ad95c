/* test_time: the text forms of times and days at the edges (ss_time.c), as
 * hqctl --at, --effective and storectl --at take them: Unix ms, a UTC date
 * and time, or a date and time with an offset. Expected values by hand:
 * 2026-12-31T10:00:00Z is 1798711200000. */
#include <check.h>

#include "ss_time.h"

static int64_t parsed(const char *text)
{
	int64_t ms = -1;

	ck_assert_msg(ss_time_parse(text, &ms) == 0, "\"%s\" refused", text);
	return ms;
}

START_TEST(utc_forms)
{
	ck_assert_int_eq(parsed("1798711200000"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T10:00:00"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T10:00"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T10:00Z"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T10:00:05Z"), 1798711205000LL);
	ck_assert_int_eq(parsed("2026-12-31"), 1798675200000LL);    /* 10 h earlier */
	ck_assert_int_eq(parsed("2026-12-31Z"), 1798675200000LL);
}
END_TEST

/* 18:00 at UTC+8 is 10:00 UTC; 05:00 at UTC-5 is 10:00 UTC; 15:30 at
 * UTC+5:30 is 10:00 UTC. */
START_TEST(offset_forms)
{
	ck_assert_int_eq(parsed("2026-12-31T18:00+08:00"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T18:00:00+08:00"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T18:00+0800"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T18:00+08"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T05:00-05:00"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T15:30+05:30"), 1798711200000LL);
	ck_assert_int_eq(parsed("2026-12-31T10:00+00:00"), 1798711200000LL);
	/* New Year at UTC+14 is still 2026 in UTC */
	ck_assert_int_eq(parsed("2027-01-01T00:00+14:00"), 1798711200000LL);
}
END_TEST

START_TEST(bad_forms_refused)
{
	static const char *const bad[] = { "", "tomorrow", "2026-12-31T18:00+8", "2026-12-31T18:00+08:0",
		"2026-12-31T18:00+08:60", "2026-12-31T18:00+19:00", "2026-12-31T18:00 +08:00",
		"2026-12-31T18:00+08:00x", "2026-12-31+08:00", "2026-12-31T18:00UTC",
		"2026-12-31T18:00Asia/Shanghai", "12x",
		/* No such day or second: never moved to a real one. */
		"2026-02-30", "2027-02-29", "2026-04-31T10:00", "2026-02-31T10:00+08:00",
		"2026-12-31T18:00:60", "2026-12-31T24:00" };
	int64_t ms;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(ss_time_parse(bad[i], &ms) != 0, "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(days_are_calendar_days)
{
	int32_t day;

	ck_assert_int_eq(ss_time_parse_day("2026-12-31", &day), 0);
	ck_assert_int_eq(day, 20818);   /* 1798675200000 / 86400000 */
	ck_assert_int_ne(ss_time_parse_day("2026-12-31T10:00", &day), 0);
	ck_assert_int_ne(ss_time_parse_day("2026-02-30", &day), 0);
	ck_assert_int_ne(ss_time_parse_day("2026-11-31", &day), 0);
	/* A leap day is a day. */
	ck_assert_int_eq(ss_time_parse_day("2028-02-29", &day), 0);
	ck_assert_int_eq(day, 21243);   /* 1835395200000 / 86400000 */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("time");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, utc_forms);
	tcase_add_test(tc, offset_forms);
	tcase_add_test(tc, bad_forms_refused);
	tcase_add_test(tc, days_are_calendar_days);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
