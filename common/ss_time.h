/* ss_time: the clocks. Wall time (Unix ms) stamps records and ages things;
 * monotonic time drives timeouts. The wall clock can be shifted for tests by
 * ss_time_set_offset_ms (hq-hub's --clock-offset, documented in docs/testing.md). */
#ifndef SS_TIME_H
#define SS_TIME_H

#include <stddef.h>
#include <stdint.h>

int64_t ss_now_ms(void);      /* wall clock, Unix ms, plus the test offset */
int64_t ss_mono_ms(void);     /* monotonic ms, for timeouts only */
int64_t ss_mono_us(void);     /* monotonic µs, for latencies */
void ss_time_set_offset_ms(int64_t offset_ms);
void ss_sleep_ms(int64_t ms);

#define SS_DAY_MS ((int64_t)86400000)

/* Text at the edges: "YYYY-MM-DD" <-> days since 1970-01-01, and a time given
 * as Unix ms or "YYYY-MM-DD[THH:MM[:SS][OFFSET]]", OFFSET being "Z", "+HH:MM",
 * "+HHMM" or "+HH" (or "-"), UTC when absent. Return 0 or -1. */
int ss_time_parse_day(const char *text, int32_t *day);
int ss_time_parse(const char *text, int64_t *ms);
/* Writes "YYYY-MM-DD", "YYYY-Www" (ISO week) or "YYYY-MM" of day into buf. */
void ss_time_format_day(int32_t day, char *buf, size_t len);
void ss_time_format_week(int32_t day, char *buf, size_t len);
void ss_time_format_month(int32_t day, char *buf, size_t len);
/* A duration for people, its two largest units, the smaller dropped when
 * zero: "3d 4h", "4h 5m", "41m", "12s". */
void ss_time_format_duration(int64_t ms, char *buf, size_t len);

#endif
