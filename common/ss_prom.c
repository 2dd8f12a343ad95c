/* ss_prom: the Prometheus text exposition format, written in one place.
 * See https://prometheus.io/docs/instrumenting/exposition_formats/: a
 * family is `# HELP name text` and `# TYPE name type`, then its samples;
 * help escapes backslash and newline, label values also the double quote.
 * Histogram buckets are cumulative and end with le="+Inf", which equals
 * _count. */
#include "ss_prom.h"

#include <inttypes.h>
#include <math.h>   /* isnan, isinf: macros, no libm */
#include <stdlib.h>
#include <string.h>

const struct ss_histo_spec ss_histo_latency = {
	14, { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
		1000000, 10000000 }, 1e-6 };
const struct ss_histo_spec ss_histo_size = {
	9, { 1, 10, 50, 100, 500, 1000, 5000, 10000, 100000 }, 1 };

void ss_histo_observe(struct ss_histo *h, const struct ss_histo_spec *s, uint64_t v)
{
	size_t i = 0;

	while (i < s->n && v > s->bounds[i])
		i++;
	atomic_fetch_add(&h->buckets[i], 1);
	atomic_fetch_add(&h->sum, v);
	atomic_fetch_add(&h->count, 1);
}

static void escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

void ss_prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	escaped(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void sample_name(FILE *f, const char *name, const char *suffix, const char *labels,
	const char *le)
{
	fputs(name, f);
	fputs(suffix, f);
	if (*labels || le) {
		fputc('{', f);
		fputs(labels, f);
		if (le)
			fprintf(f, "%sle=\"%s\"", *labels ? "," : "", le);
		fputc('}', f);
	}
	fputc(' ', f);
}

void ss_prom_int(FILE *f, const char *name, const char *labels, int64_t v)
{
	sample_name(f, name, "", labels, NULL);
	fprintf(f, "%" PRId64 "\n", v);
}

/* A sample value as Prometheus parses it back: an integral value with all
 * its digits (%.6g made 1048576 "1.04858e+06"), anything else with the
 * fewest digits that read back as the same double, the format's own
 * spellings for the non-finite. */
static void number(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	} else if (v >= -0x1p63 && v < 0x1p63 && (double)(int64_t)v == v) {
		snprintf(buf, len, "%" PRId64, (int64_t)v);
	} else {
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, len, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
}

/* v units in the exported unit: a scale below 1 divides by its inverse,
 * which is exact (1e6), where multiplying by 1e-6 is not: 100 µs is then
 * 0.0001 s, not 9.9999999999999991e-05. */
static double scaled(uint64_t v, double scale)
{
	return scale < 1 ? (double)v / (1.0 / scale) : (double)v * scale;
}

void ss_prom_double(FILE *f, const char *name, const char *labels, double v)
{
	char buf[40];

	number(buf, sizeof buf, v);
	sample_name(f, name, "", labels, NULL);
	fprintf(f, "%s\n", buf);
}

void ss_prom_histo(FILE *f, const char *name, const char *labels, const struct ss_histo *h,
	const struct ss_histo_spec *s)
{
	uint64_t cum = 0, count = atomic_load(&h->count);
	char le[40];

	for (size_t i = 0; i <= s->n; i++) {
		cum += atomic_load(&h->buckets[i]);
		if (i == s->n) {
			/* +Inf equals _count: a bucket read after _count may hold
			 * an observation more, so both are the larger. */
			if (cum > count)
				count = cum;
			sample_name(f, name, "_bucket", labels, "+Inf");
			fprintf(f, "%" PRIu64 "\n", count);
			break;
		}
		number(le, sizeof le, scaled(s->bounds[i], s->scale));
		sample_name(f, name, "_bucket", labels, le);
		fprintf(f, "%" PRIu64 "\n", cum);
	}
	number(le, sizeof le, scaled(atomic_load(&h->sum), s->scale));
	sample_name(f, name, "_sum", labels, NULL);
	fprintf(f, "%s\n", le);
	sample_name(f, name, "_count", labels, NULL);
	fprintf(f, "%" PRIu64 "\n", count);
}

char *ss_prom_label(char *buf, size_t len, const char *key, const char *value)
{
	size_t n = strlen(buf), start = n;

	n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=\"", n ? "," : "", key);
	for (const char *s = value; *s && n < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			if (n + 1 < len)
				buf[n] = '\\';
			n++;
		}
		if (n < len)
			buf[n] = *s == '\n' ? 'n' : *s;
		n++;
	}
	if (n + 1 >= len) {
		buf[start] = '\0';   /* did not fit: left out whole */
		return buf;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}
