/* ss_log: timestamped one-line messages on stderr. stderr is what systemd's
 * journal and the test harness both capture, so there is no other sink.
 * A line is written with one fprintf so lines from threads do not interleave. */
#include "ss_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *log_ident = "storesync";
static enum ss_log_level log_min = SS_LOG_INFO;

void ss_log_init(const char *ident, enum ss_log_level min_level)
{
	log_ident = ident;
	log_min = min_level;
}

void ss_log(enum ss_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%s] %s\n", stamp, ts.tv_nsec / 1000000L, log_ident,
		names[level], msg);
}

int ss_lograte_allow(struct ss_lograte *r, int64_t now_ms, int64_t interval_ms,
	uint64_t *suppressed)
{
	if (now_ms < r->next_ms) {
		r->suppressed++;
		return 0;
	}
	*suppressed = r->suppressed;
	r->suppressed = 0;
	r->next_ms = now_ms + interval_ms;
	return 1;
}
