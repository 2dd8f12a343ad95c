/* ss_time: wall and monotonic clocks. The offset exists for tests that must
 * age data across thresholds without sleeping; it is set once at start-up. */
#include "ss_time.h"

#include <errno.h>
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
