/* ss_log: one-line messages on stderr. stderr is what systemd's journal and
 * the test harness both capture, so there is no other sink. A line is
 * written with one fprintf so lines from threads do not interleave.
 *
 * systemd sets JOURNAL_STREAM when a service's stderr is the journal. Then
 * each line starts with its sd-daemon(3) priority, "<3>" error, "<4>"
 * warning, "<6>" info, "<7>" debug, so `journalctl -p warning` finds
 * warnings, and carries no timestamp of ours: the journal stamps every line
 * itself. The variable's presence decides, not a check of its device and
 * inode against stderr's: a daemon's stderr is not re-pointed after start. */
#include "ss_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "storesync";
/* Atomic: SIGHUP changes it on the main thread while others log. */
static atomic_int log_min = SS_LOG_INFO;
static int log_journal;

void ss_log_init(const char *ident, enum ss_log_level min_level)
{
	const char *js = getenv("JOURNAL_STREAM");

	log_ident = ident;
	atomic_store(&log_min, (int)min_level);
	log_journal = js && js[0];
}

void ss_log_set_level(enum ss_log_level min_level)
{
	atomic_store(&log_min, (int)min_level);
}

enum ss_log_level ss_log_get_level(void)
{
	return (enum ss_log_level)atomic_load(&log_min);
}

const char *ss_log_level_name(enum ss_log_level level)
{
	static const char *names[] = { "debug", "info", "warning", "error" };

	return level <= SS_LOG_ERROR ? names[level] : "?";
}

int ss_log_level_parse(const char *text, enum ss_log_level *level)
{
	static const struct { const char *name; enum ss_log_level level; } names[] = {
		{ "debug", SS_LOG_DEBUG }, { "info", SS_LOG_INFO }, { "warning", SS_LOG_WARN },
		{ "warn", SS_LOG_WARN }, { "error", SS_LOG_ERROR },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(text, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	return -1;
}

void ss_log(enum ss_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	static const int journal_prio[] = { 7, 6, 4, 3 };
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if ((int)level < atomic_load(&log_min))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", journal_prio[level], msg);
		return;
	}
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

int ss_lograte_allow_n(struct ss_lograte *r, int64_t now_ms, int64_t interval_ms, uint32_t n,
	uint64_t *suppressed)
{
	if (now_ms >= r->next_ms) {
		r->next_ms = now_ms + interval_ms;
		r->allowed = 0;
	}
	if (r->allowed >= n) {
		r->suppressed++;
		return 0;
	}
	r->allowed++;
	*suppressed = r->suppressed;
	r->suppressed = 0;
	return 1;
}

const char *ss_lograte_note(uint64_t suppressed)
{
	static _Thread_local char buf[64];

	if (suppressed == 0)
		return "";
	snprintf(buf, sizeof buf, " (%llu more since the last line)",
		(unsigned long long)suppressed);
	return buf;
}
