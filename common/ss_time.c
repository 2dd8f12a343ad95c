/* ss_time: wall and monotonic clocks. The offset exists for tests that must
 * age data across thresholds without sleeping; it is set once at start-up. */
#include "ss_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t time_offset_ms;

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ss_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME) + time_offset_ms;
}

int64_t ss_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t ss_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ss_time_set_offset_ms(int64_t offset_ms)
{
	time_offset_ms = offset_ms;
}

void ss_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* tm (UTC) as seconds, or -1 when it names no real moment: strptime takes
 * a day 1..31 in any month and a second up to 61, and timegm would move
 * 2026-02-30 to 2026-03-02 without a word. */
static int tm_seconds(struct tm tm, time_t *t)
{
	struct tm back;
	struct tm asked = tm;

	*t = timegm(&tm);
	if (!gmtime_r(t, &back) || back.tm_year != asked.tm_year || back.tm_mon != asked.tm_mon
		|| back.tm_mday != asked.tm_mday || back.tm_hour != asked.tm_hour
		|| back.tm_min != asked.tm_min || back.tm_sec != asked.tm_sec)
		return -1;
	return 0;
}

int ss_time_parse_day(const char *text, int32_t *day)
{
	struct tm tm = { 0 };
	const char *end = strptime(text, "%Y-%m-%d", &tm);
	time_t t;

	if (!end || *end || tm_seconds(tm, &t) != 0)
		return -1;
	*day = (int32_t)(t / 86400);
	return 0;
}

/* Reads exactly n digits; -1 when one is not a digit. */
static int digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

/* The offset a time's text ends with, in minutes east of UTC: "" and "Z"
 * are UTC; "+HH:MM", "+HHMM", "+HH" (or "-") up to 18 hours. -1 when the
 * text is none of them. */
static int parse_offset(const char *s, int *minutes)
{
	int hours, mins = 0, ok;
	size_t n = strlen(s);

	*minutes = 0;
	if (n == 0 || strcmp(s, "Z") == 0)
		return 0;
	if ((s[0] != '+' && s[0] != '-') || n < 3 || digits(s + 1, 2, &hours) != 0)
		return -1;
	if (n == 6 && s[3] == ':')
		ok = digits(s + 4, 2, &mins) == 0;
	else if (n == 5)
		ok = digits(s + 3, 2, &mins) == 0;
	else
		ok = n == 3;
	if (!ok || mins > 59 || hours * 60 + mins > 18 * 60)
		return -1;
	*minutes = (s[0] == '-' ? -1 : 1) * (hours * 60 + mins);
	return 0;
}

int ss_time_parse(const char *text, int64_t *ms)
{
	static const char *const formats[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
		"%Y-%m-%d" };
	char *end;
	long long v = strtoll(text, &end, 10);

	if (end != text && *end == '\0') {
		*ms = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct tm tm = { 0 };
		const char *rest = strptime(text, formats[i], &tm);
		int offset;
		time_t t;

		/* A day alone is UTC midnight: an offset needs a time of day. */
		if (rest && (i < 2 || *rest == '\0' || strcmp(rest, "Z") == 0)
			&& parse_offset(rest, &offset) == 0) {
			if (tm_seconds(tm, &t) != 0)
				return -1;
			*ms = ((int64_t)t - (int64_t)offset * 60) * 1000;
			return 0;
		}
	}
	return -1;
}

static void format_day(int32_t day, const char *fmt, char *buf, size_t len)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, fmt, &tm);
}

void ss_time_format_day(int32_t day, char *buf, size_t len)
{
	format_day(day, "%Y-%m-%d", buf, len);
}

void ss_time_format_week(int32_t day, char *buf, size_t len)
{
	format_day(day, "%G-W%V", buf, len);
}

void ss_time_format_month(int32_t day, char *buf, size_t len)
{
	format_day(day, "%Y-%m", buf, len);
}

void ss_time_format_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000, d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;

	if (d > 0 && h > 0)
		snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", d, h);
	else if (d > 0)
		snprintf(buf, len, "%" PRId64 "d", d);
	else if (h > 0 && m > 0)
		snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", h, m);
	else if (h > 0)
		snprintf(buf, len, "%" PRId64 "h", h);
	else if (m > 0)
		snprintf(buf, len, "%" PRId64 "m", m);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
}
