/* test_config: common/ss_config, INI files into typed fields. Checks values
 * land in their fields (strings, integers with k/M/G suffixes), that an
 * unknown key, an out-of-bounds or non-integer value, an overflowing suffix
 * and a too-long string are errors naming the key, file and line (the first
 * error, when there are several), that a missing file is an error naming it,
 * that a file mode is read in octal as chmod(1) takes it, and that
 * ss_config_set (used for flags) applies the same rules, and that a retired
 * key (one an earlier version read) loads with a warning and is passed over
 * on reload. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ss_config.h"
#include "ss_reload.h"
#include "testlib.h"

struct conf {
	char name[16];
	int64_t size;
	int64_t count;
	int64_t other_count;
};

static void items_for(struct conf *c, struct ss_config_item *items)
{
	const struct ss_config_item v[] = {
		{ "main", "name", SS_CFG_STRING, c->name, sizeof c->name, 0, 0 },
		{ "main", "size", SS_CFG_INT64, &c->size, 0, 0, INT64_MAX },
		{ "main", "count", SS_CFG_INT64, &c->count, 0, 1, 100 },
		{ "other", "count", SS_CFG_INT64, &c->other_count, 0, -5, 5 },
		{ 0 },
	};

	memcpy(items, v, sizeof v);
}

/* Writes text to dir/name; path receives the file's path. */
static void write_file(const struct tl_env *e, const char *text, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/test.ini", e->dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Loads text; returns ss_config_load's result, reason in err. */
static int load_text(const char *text, struct conf *c, char *err, size_t errlen)
{
	struct ss_config_item items[5];
	struct tl_env e;
	char path[320];
	int rc;

	tl_env_init(&e);
	memset(c, 0, sizeof *c);
	items_for(c, items);
	write_file(&e, text, path, sizeof path);
	err[0] = '\0';
	rc = ss_config_load(path, items, err, errlen);
	tl_env_cleanup(&e);
	return rc;
}

static void expect_refused(const char *text, const char *want1, const char *want2)
{
	struct conf c;
	char err[512];

	ck_assert_int_eq(load_text(text, &c, err, sizeof err), -1);
	ck_assert_msg(strstr(err, want1) != NULL, "\"%s\" not in reason: %s", want1, err);
	ck_assert_msg(strstr(err, want2) != NULL, "\"%s\" not in reason: %s", want2, err);
	ck_assert_msg(strstr(err, "test.ini") != NULL, "file not in reason: %s", err);
	ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(values_land_in_typed_fields)
{
	struct conf c;
	char err[512];

	ck_assert_msg(load_text("; a comment\n# another\n\n[main]\nname = shop_7\n"
		"size = 64k\ncount=7\n\n[other]\ncount = -5\n", &c, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(c.name, "shop_7");
	ck_assert_int_eq(c.size, 65536);
	ck_assert_int_eq(c.count, 7);
	ck_assert_int_eq(c.other_count, -5);
}
END_TEST

START_TEST(absent_keys_leave_fields_alone)
{
	struct ss_config_item items[5];
	struct tl_env e;
	struct conf c = { .name = "default", .size = 9, .count = 3 };
	char path[320], err[512] = "";

	tl_env_init(&e);
	items_for(&c, items);
	write_file(&e, "[main]\ncount = 4\n", path, sizeof path);
	ck_assert_msg(ss_config_load(path, items, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(c.name, "default");
	ck_assert_int_eq(c.size, 9);
	ck_assert_int_eq(c.count, 4);
	tl_env_cleanup(&e);
}
END_TEST

START_TEST(unknown_key_names_key_and_line)
{
	expect_refused("[main]\nname = a\ncolour = red\n", "colour", ":3:");
	/* A known name in the wrong section is unknown too. */
	expect_refused("[main]\nname = a\n[other]\nname = b\n", "[other] name", ":4:");
}
END_TEST

/* The first error, and only it: the later one is not named. */
static void expect_first(const char *text, const char *first, const char *later)
{
	struct conf c;
	char err[512];

	expect_refused(text, first, ":2:");
	ck_assert_int_eq(load_text(text, &c, err, sizeof err), -1);
	ck_assert_msg(strstr(err, later) == NULL, "\"%s\" reported too: %s", later, err);
}

START_TEST(first_error_is_the_one_reported)
{
	expect_first("[main]\nbogus_one = 1\nname = x\nbogus_two = 2\n", "bogus_one", "bogus_two");
	expect_first("[main]\ncount = 500\nbogus_two = 2\n", "count", "bogus_two");
}
END_TEST

/* A syntax error before a refused value is the first error: its own line,
 * not the later value's reason. */
START_TEST(syntax_error_is_its_own_line)
{
	struct conf c;
	char err[512];

	ck_assert_int_eq(load_text("[main\nbogus = 1\n", &c, err, sizeof err), -1);
	ck_assert_msg(strstr(err, ":1: syntax error") != NULL, "%s", err);
	ck_assert_int_eq(load_text("[main]\nname = a\nno equals sign\nbogus = 1\n", &c, err,
		sizeof err), -1);
	ck_assert_msg(strstr(err, ":3: syntax error") != NULL, "%s", err);
	/* A refused value after good lines keeps its line and reason. */
	expect_refused("[main]\n\n; a comment\nname = a\ncolour = red\n", "colour", ":5:");
}
END_TEST

START_TEST(integer_bounds_enforced)
{
	struct conf c;
	char err[512];

	expect_refused("[main]\ncount = 0\n", "count", "1..100");
	expect_refused("[main]\ncount = 101\n", "count", ":2:");
	expect_refused("[other]\ncount = -6\n", "count", "-5..5");
	ck_assert_int_eq(load_text("[main]\ncount = 100\n", &c, err, sizeof err), 0);
	ck_assert_int_eq(c.count, 100);
	ck_assert_int_eq(load_text("[main]\ncount = 1\n", &c, err, sizeof err), 0);
	ck_assert_int_eq(c.count, 1);
}
END_TEST

START_TEST(suffixes_are_powers_of_1024)
{
	static const struct { const char *text; int64_t want; } cases[] = {
		{ "[main]\nsize = 1k\n", 1024 }, { "[main]\nsize = 1K\n", 1024 },
		{ "[main]\nsize = 3M\n", 3LL << 20 }, { "[main]\nsize = 2G\n", 2LL << 30 },
		{ "[main]\nsize = 123\n", 123 },
	};
	struct conf c;
	char err[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_msg(load_text(cases[i].text, &c, err, sizeof err) == 0, "%s", err);
		ck_assert_int_eq(c.size, cases[i].want);
	}
}
END_TEST

START_TEST(non_integers_refused)
{
	expect_refused("[main]\nsize = abc\n", "size", "not an integer");
	expect_refused("[main]\nsize = 1.5M\n", "size", ":2:");
	expect_refused("[main]\nsize = 10x\n", "size", ":2:");
	expect_refused("[main]\nsize = 1kk\n", "size", ":2:");
	expect_refused("[main]\nsize = k\n", "size", "not an integer");
	expect_refused("[main]\nsize = 99999999999999999999\n", "size", ":2:");
}
END_TEST

/* A suffix must not wrap around into an accepted value:
 * 17179869185G is 2^64 + 2^30 bytes, which wraps to 1G. */
START_TEST(suffix_overflow_refused)
{
	expect_refused("[main]\nsize = 17179869185G\n", "size", ":2:");
	expect_refused("[main]\nsize = 9223372036854775807k\n", "size", ":2:");
	expect_refused("[main]\nsize = 9007199254740992M\n", "size", ":2:");
}
END_TEST

START_TEST(long_string_refused)
{
	expect_refused("[main]\nname = abcdefghijklmnopqrstuvwxyz\n", "name", "too long");
}
END_TEST

START_TEST(missing_file_named)
{
	struct ss_config_item items[5];
	struct conf c;
	char err[512] = "";

	items_for(&c, items);
	ck_assert_int_eq(ss_config_load("/nonexistent/storesync.ini", items, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "/nonexistent/storesync.ini") != NULL, "reason: %s", err);
	ck_assert_msg(strstr(err, "cannot open") != NULL, "reason: %s", err);
}
END_TEST

/* Flags go through ss_config_set: same rules, and a refused value leaves the
 * field as it was. A flag set after the file wins. */
START_TEST(set_applies_the_same_rules_for_flags)
{
	struct ss_config_item items[5];
	struct conf c;
	char err[512];

	ck_assert_int_eq(load_text("[main]\ncount = 7\nsize = 1M\n", &c, err, sizeof err), 0);
	items_for(&c, items);
	ck_assert_int_eq(ss_config_set(&items[2], "9", err, sizeof err), 0);
	ck_assert_int_eq(c.count, 9);
	ck_assert_int_eq(ss_config_set(&items[2], "500", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "count") && strstr(err, "1..100"), "reason: %s", err);
	ck_assert_int_eq(c.count, 9);
	ck_assert_int_eq(ss_config_set(&items[1], "2G", err, sizeof err), 0);
	ck_assert_int_eq(c.size, 2LL << 30);
	ck_assert_int_eq(ss_config_set(&items[1], "2 G", err, sizeof err), -1);
	ck_assert_int_eq(ss_config_set(&items[1], "", err, sizeof err), -1);
	ck_assert_int_eq(c.size, 2LL << 30);
	ck_assert_int_eq(ss_config_set(&items[0], "north_1", err, sizeof err), 0);
	ck_assert_str_eq(c.name, "north_1");
	ck_assert_int_eq(ss_config_set(&items[0], "0123456789abcdef", err, sizeof err), -1);
	ck_assert_str_eq(c.name, "north_1");
}
END_TEST

/* A key an earlier version read (SS_CFG_RETIRED): a file kept across an
 * upgrade still loads and the other keys land; SIGHUP's comparison passes
 * over it (its dst is NULL). */
START_TEST(retired_key_loads_and_reload_passes_over_it)
{
	struct conf live = { .count = 7 }, fresh = live;
	struct ss_config_item a[3] = {
		{ "main", "count", SS_CFG_INT64, &live.count, 0, 1, 100 },
		{ "main", "heartbeat_ms", SS_CFG_RETIRED, NULL, 0, 0, 0 },
		{ 0 },
	}, b[3] = {
		{ "main", "count", SS_CFG_INT64, &fresh.count, 0, 1, 100 },
		{ "main", "heartbeat_ms", SS_CFG_RETIRED, NULL, 0, 0, 0 },
		{ 0 },
	};
	struct tl_env e;
	char path[320], err[512] = "", changed[128];

	tl_env_init(&e);
	write_file(&e, "[main]\nheartbeat_ms = 2000\ncount = 8\n", path, sizeof path);
	ck_assert_msg(ss_config_load(path, a, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(live.count, 8);
	fresh = live;
	ck_assert_int_eq(ss_reload_read(path, a, b, NULL, changed, sizeof changed, err,
		sizeof err), 0);
	ck_assert_str_eq(changed, "");
	write_file(&e, "[main]\nheartbeat_ms = 5\ncount = 9\n", path, sizeof path);
	ck_assert_int_eq(ss_reload_read(path, a, b, NULL, changed, sizeof changed, err,
		sizeof err), 1);
	ck_assert_str_eq(changed, "count");
	tl_env_cleanup(&e);
}
END_TEST

/* ss_config_flag: the daemons' flags by setting name, one rule for all. */
START_TEST(flag_by_name)
{
	struct ss_config_item items[5];
	struct conf c = { .count = 3 };

	items_for(&c, items);
	ck_assert_int_eq(ss_config_flag(items, "test", "count", "42"), 0);
	ck_assert_int_eq(c.count, 42);
	ck_assert_int_eq(ss_config_flag(items, "test", "count", "420"), 2);   /* 1..100 */
	ck_assert_int_eq(c.count, 42);
	ck_assert_int_eq(ss_config_flag(items, "test", "colour", "red"), 2);
	ck_assert_int_eq(ss_config_flag(items, "test", "name", "north_2"), 0);
	ck_assert_str_eq(c.name, "north_2");
}
END_TEST

START_TEST(modes_are_octal)
{
	static const struct { const char *text; int ok; int64_t mode; } cases[] = {
		{ "0660", 1, 0660 }, { "660", 1, 0660 }, { "0", 1, 0 }, { "0777", 1, 0777 },
		{ "0778", 0, 0 }, { "1777", 0, 0 }, { "rw-rw----", 0, 0 }, { "", 0, 0 },
		{ "-1", 0, 0 },
	};
	int64_t mode = -1;
	struct ss_config_item item = { "agent", "local_socket_mode", SS_CFG_MODE, &mode, 0, 0, 0 };
	char err[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = ss_config_set(&item, cases[i].text, err, sizeof err);

		ck_assert_msg((rc == 0) == cases[i].ok, "\"%s\"", cases[i].text);
		if (cases[i].ok)
			ck_assert_int_eq(mode, cases[i].mode);
		else
			ck_assert_msg(strstr(err, "local_socket_mode") && strstr(err, "octal"), "%s", err);
	}
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		values_land_in_typed_fields, absent_keys_leave_fields_alone,
		unknown_key_names_key_and_line, first_error_is_the_one_reported, syntax_error_is_its_own_line,
		integer_bounds_enforced, suffixes_are_powers_of_1024, non_integers_refused,
		suffix_overflow_refused, long_string_refused, missing_file_named,
		set_applies_the_same_rules_for_flags, modes_are_octal,
		retired_key_loads_and_reload_passes_over_it, flag_by_name,
	};

	return tl_run("config", tests, sizeof tests / sizeof tests[0], 30);
}
