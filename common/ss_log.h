/* ss_log: one-line log messages to stderr, with a level. On a terminal or
 * in a file a line carries a timestamp and the level's name; when stderr is
 * systemd's journal it carries the journal's priority prefix instead.
 * Daemons log; libraries return errors as values and let the caller log. */
#ifndef SS_LOG_H
#define SS_LOG_H

#include <stdint.h>

enum ss_log_level { SS_LOG_DEBUG, SS_LOG_INFO, SS_LOG_WARN, SS_LOG_ERROR };

/* ident names the process in every line; lines below min_level are dropped.
 * Reads JOURNAL_STREAM to pick the journal's form. */
void ss_log_init(const char *ident, enum ss_log_level min_level);
void ss_log(enum ss_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The threshold after start (SIGHUP reloads log_level), and its name. */
void ss_log_set_level(enum ss_log_level min_level);
enum ss_log_level ss_log_get_level(void);
const char *ss_log_level_name(enum ss_log_level level);

/* "debug", "info", "warning" (or "warn"), "error" into *level; 0 or -1. */
int ss_log_level_parse(const char *text, enum ss_log_level *level);

#define ss_debug(...) ss_log(SS_LOG_DEBUG, __VA_ARGS__)
#define ss_info(...) ss_log(SS_LOG_INFO, __VA_ARGS__)
#define ss_warn(...) ss_log(SS_LOG_WARN, __VA_ARGS__)
#define ss_error(...) ss_log(SS_LOG_ERROR, __VA_ARGS__)

/* Rate limit for repeated complaints about one peer: allows one line per
 * interval_ms and counts what it suppressed, so the next line can say so. */
struct ss_lograte {
	int64_t next_ms;
	uint64_t suppressed;
	uint32_t allowed;          /* lines let through in the window (allow_n) */
};

/* Returns 1 when a line may be logged now (and fills *suppressed with how many
 * were held back since the last one), 0 when it should be dropped. */
int ss_lograte_allow(struct ss_lograte *r, int64_t now_ms, int64_t interval_ms,
	uint64_t *suppressed);
/* The same with up to n lines per window of interval_ms: for events that
 * come in small groups (a store disconnecting, then connecting again) but
 * must not flood the log when they repeat without end. */
int ss_lograte_allow_n(struct ss_lograte *r, int64_t now_ms, int64_t interval_ms, uint32_t n,
	uint64_t *suppressed);

/* What a rate-limited line says of the lines held back before it: "" when
 * none, else " (N more since the last line)". In a buffer of the calling
 * thread's, good until its next call: one per log line. */
const char *ss_lograte_note(uint64_t suppressed);

#endif
