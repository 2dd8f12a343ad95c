/* ss_config: INI files through inih. Every value is converted and bounds-
 * checked by ss_config_set, which the daemons' flag parsing also uses. */
#include "ss_config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load_ctx {
	const struct ss_config_item *items;
	char *err;
	size_t errlen;
	FILE *in;
	int line;             /* lines read so far: the one inih hands over */
	int err_line;         /* the line of err; 0 before any */
};

/* inih's reader, counting lines so that a refused value's reason goes with
 * its own line: inih reports the first bad line, which may be a syntax
 * error before it (Debian builds inih without INI_HANDLER_LINENO). */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	char *got = fgets(str, num, ctx->in);

	if (got && (strchr(got, '\n') || feof(ctx->in)))
		ctx->line++;   /* a whole line, or the last one without its newline */
	return got;
}

/* Octal, as chmod(1) takes it, so "0660" means what an operator expects. */
static int set_mode(const struct ss_config_item *item, const char *value, char *err,
	size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 8);
	if (end == value || *end != '\0' || errno != 0 || v < 0 || v > 0777) {
		snprintf(err, errlen, "%s: \"%s\" is not an octal mode in 0000..0777", item->name,
			value);
		return -1;
	}
	*(int64_t *)item->dst = v;
	return 0;
}

int ss_config_set(const struct ss_config_item *item, const char *value, char *err,
	size_t errlen)
{
	char *end;
	long long v, mult = 1;

	if (item->type == SS_CFG_STRING) {
		if (strlen(value) >= item->dst_len) {
			snprintf(err, errlen, "%s: value too long", item->name);
			return -1;
		}
		strcpy(item->dst, value);
		return 0;
	}
	if (item->type == SS_CFG_MODE)
		return set_mode(item, value, err, errlen);
	if (item->type == SS_CFG_RETIRED) {
		fprintf(stderr, "config: [%s] %s is no longer used (\"%s\" ignored); remove it\n",
			item->section, item->name, value);
		return 0;
	}
	errno = 0;
	v = strtoll(value, &end, 10);
	if (end == value || errno != 0) {
		snprintf(err, errlen, "%s: \"%s\" is not an integer", item->name, value);
		return -1;
	}
	switch (*end) {
	case 'k': case 'K': mult = 1024LL; end++; break;
	case 'M': mult = 1024LL * 1024; end++; break;
	case 'G': mult = 1024LL * 1024 * 1024; end++; break;
	default: break;
	}
	/* Checked before multiplying: a suffix must not wrap into range. */
	if (*end != '\0' || v > LLONG_MAX / mult || v < LLONG_MIN / mult
		|| v * mult < item->min || v * mult > item->max) {
		snprintf(err, errlen, "%s: \"%s\" must be an integer in %lld..%lld", item->name,
			value, (long long)item->min, (long long)item->max);
		return -1;
	}
	*(int64_t *)item->dst = v * mult;
	return 0;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	char reason[256];

	for (const struct ss_config_item *it = ctx->items; it->name; it++) {
		if (strcmp(it->section, section) == 0 && strcmp(it->name, name) == 0) {
			if (ss_config_set(it, value, reason, sizeof reason) == 0)
				return 1;
			goto refused;
		}
	}
	snprintf(reason, sizeof reason, "unknown key [%s] %s", section, name);
refused:
	/* inih goes on after an error but reports the first line: keep its reason. */
	if (!ctx->err[0]) {
		snprintf(ctx->err, ctx->errlen, "%s", reason);
		ctx->err_line = ctx->line;
	}
	return 0;
}

int ss_config_flag(const struct ss_config_item *items, const char *prog, const char *name,
	const char *value)
{
	char err[512];

	for (; items->name; items++)
		if (strcmp(items->name, name) == 0) {
			if (ss_config_set(items, value, err, sizeof err) == 0)
				return 0;
			fprintf(stderr, "%s: %s\n", prog, err);
			return 2;
		}
	fprintf(stderr, "%s: no setting named %s\n", prog, name);
	return 2;
}

int ss_config_load(const char *path, const struct ss_config_item *items, char *err,
	size_t errlen)
{
	char reason[256] = "";
	struct load_ctx ctx = { items, reason, sizeof reason, fopen(path, "r"), 0, 0 };
	int rc;

	if (!ctx.in) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(read_line, &ctx, on_value, &ctx);
	fclose(ctx.in);
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc,
			reason[0] && ctx.err_line == rc ? reason : "syntax error");
		return -1;
	}
	return 0;
}
