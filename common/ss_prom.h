/* ss_prom: metrics in Prometheus's text exposition format (version 0.0.4),
 * and the histograms both daemons keep. A daemon's metrics module walks its
 * own declarations (hq-hub/hub_stats.h, the agent's status) and writes each
 * family through these functions, so the format is written in one place:
 * a `# HELP` and a `# TYPE` line before the samples of every family, label
 * values and help text escaped as the format requires. */
#ifndef SS_PROM_H
#define SS_PROM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SS_HISTO_MAX_BOUNDS 16

/* The buckets of a histogram: upper bounds in the unit observed (µs,
 * records), ascending, and what one unit is in the exported unit (a
 * latency in µs is exported in seconds: scale 1e-6). */
struct ss_histo_spec {
	size_t n;
	uint64_t bounds[SS_HISTO_MAX_BOUNDS];
	double scale;
};

/* Latencies from 100 µs to 10 s, observed in µs, exported in seconds. */
extern const struct ss_histo_spec ss_histo_latency;
/* Sizes (records per batch), 1 to 100,000. */
extern const struct ss_histo_spec ss_histo_size;

/* Counts per bucket (not cumulative; the last one is +Inf), their number
 * and sum. Written by one or more threads, read by the scrape: every field
 * is atomic, so a scrape sees each one whole (a sum may lead its count by
 * an observation in flight, which Prometheus tolerates). */
struct ss_histo {
	atomic_uint_fast64_t buckets[SS_HISTO_MAX_BOUNDS + 1];
	atomic_uint_fast64_t count, sum;
};

void ss_histo_observe(struct ss_histo *h, const struct ss_histo_spec *s, uint64_t v);

/* The `# HELP` and `# TYPE` lines of a family (type "counter", "gauge",
 * "histogram" or "info"-style "gauge"). */
void ss_prom_family(FILE *f, const char *name, const char *type, const char *help);
/* One sample: name{labels} value; labels is "" or a list made with
 * ss_prom_label ("store=\"S1\""). Counts, ids and sizes go through
 * ss_prom_int, exact at any size; ss_prom_double writes an integral value
 * with all its digits and any other with as many as it takes to read back
 * the same double. */
void ss_prom_int(FILE *f, const char *name, const char *labels, int64_t v);
void ss_prom_double(FILE *f, const char *name, const char *labels, double v);
/* A histogram's samples (name_bucket{le=...}, name_sum, name_count); labels
 * as above, the le label is added. */
void ss_prom_histo(FILE *f, const char *name, const char *labels, const struct ss_histo *h,
	const struct ss_histo_spec *s);
/* Appends key="value" (value escaped: backslash, quote, newline) to the
 * label list in buf, with a comma when buf is not empty. Returns buf; a
 * label that does not fit leaves buf as it was. */
char *ss_prom_label(char *buf, size_t len, const char *key, const char *value);

#endif
