/* ss_table: output of query answers. The hub's answers are tables of named
 * columns with integer or string cells; this file never knows which query
 * it prints. What a cell means comes from its column's name, by these
 * conventions (the hub's queries follow them; a new column that does too
 * prints right with no change here):
 *
 *   name                       holds             text              JSON / CSV
 *   *_ms (none of the below)   a time, Unix ms   2026-12-01 09:14:03 ms
 *                              0 or less: never  -                 null / empty
 *   age_ms, *_age_ms           a duration: age   3d 4h, 41m, 12s   ms
 *                              0 or less: none   -                 null / empty
 *   silent_ms, behind_ms,      a duration        3d 4h, 41m, 12s   ms
 *   *_for_ms                   below 0: never    -                 null / empty
 *   *_fen                      money, fen        ¥12,345.67        fen
 *   *_bytes                    a size            1.5 GiB           bytes
 *                              below 0: unknown  -                 null / empty
 *   update_id, *_update_id     an update's id    as it is          as it is
 *                              0: none           -                 null / empty
 *   *_since (string cell)      a day, YYYY-MM-DD as it is          as it is
 *                              empty: none       -                 null / empty
 *   stale, silent, overdue,    a flag (integer   yes / no          true / false
 *   responded_late,            cell)
 *   reported_late, registered,
 *   in_force, delivered,
 *   conflict
 *   overdue, store_ids         a list (string    response,report   ["response",
 *                              cell, comma-                        "report"] /
 *                              separated)                          response;report
 *   keys (a list)              CurveZMQ public   each by its first as above
 *                              keys              8 characters: ab12cd34...
 *   anything else              as it is          (empty string: -) as it is
 *
 * Text is for people: times in the operator's time zone (TZ), named in the
 * header ("last_seen (+08:00)"; a cell in another offset, across a daylight
 * saving change, carries its own), unit suffixes dropped from headers
 * unless that would give two columns one name, numbers right-aligned, and
 * widths counted in terminal columns, so Chinese names line up. JSON and
 * CSV are for scripts: machine units (ms, fen, bytes) under the hub's column
 * names, null (CSV: an empty field) for never, true/false for flags. */
#include "ss_table.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_time.h"

enum col_kind { COL_PLAIN, COL_TIME, COL_AGE, COL_DURATION, COL_MONEY, COL_BYTES, COL_UPDATE };

struct col {
	enum col_kind kind;
	int flag;                 /* an integer cell is a yes/no */
	int list;                 /* a string cell is a comma-separated list */
	int day;                  /* a string cell is a day; empty: none */
	int key;                  /* a string cell holds keys, shown short */
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int in_list(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return 1;
	return 0;
}

static struct col col_of(const char *name)
{
	static const char *const flags[] = { "stale", "silent", "overdue", "responded_late",
		"reported_late", "registered", "in_force", "delivered", "conflict", NULL };
	static const char *const lists[] = { "overdue", "store_ids", "keys", NULL };
	static const char *const durations[] = { "silent_ms", "behind_ms", NULL };
	struct col c = { COL_PLAIN, in_list(name, flags), in_list(name, lists),
		ends_with(name, "_since"), strcmp(name, "keys") == 0 };

	if (strcmp(name, "age_ms") == 0 || ends_with(name, "_age_ms"))
		c.kind = COL_AGE;
	else if (in_list(name, durations) || ends_with(name, "_for_ms"))
		c.kind = COL_DURATION;
	else if (ends_with(name, "_ms"))
		c.kind = COL_TIME;
	else if (ends_with(name, "_fen"))
		c.kind = COL_MONEY;
	else if (ends_with(name, "_bytes"))
		c.kind = COL_BYTES;
	else if (strcmp(name, "update_id") == 0 || ends_with(name, "_update_id"))
		c.kind = COL_UPDATE;
	return c;
}

/* 1 when an integer cell of this column means "never" (or "none"). */
static int is_never(struct col c, int64_t v)
{
	switch (c.kind) {
	case COL_TIME:
	case COL_AGE:
		return v <= 0;
	case COL_DURATION:
	case COL_BYTES:
		return v < 0;
	case COL_UPDATE:
		return v == 0;
	default:
		return 0;
	}
}

static const Storesync__Cell *cell_at(const Storesync__Row *row, size_t col)
{
	return col < row->n_cells ? row->cells[col] : NULL;
}

static int is_int(const Storesync__Cell *c)
{
	return c && c->value_case == STORESYNC__CELL__VALUE_I;
}

static const char *str_of(const Storesync__Cell *c)
{
	return c && c->value_case == STORESYNC__CELL__VALUE_S && c->s ? c->s : "";
}

/* ---- display width ---- */

static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 1 : s[0] >= 0xe0 && s[0] <= 0xef ? 2
		: s[0] >= 0xf0 && s[0] <= 0xf4 ? 3 : 0;
	uint32_t cp = n == 3 ? s[0] & 0x07u : n == 2 ? s[0] & 0x0fu : n == 1 ? s[0] & 0x1fu : s[0];

	if (s[0] < 0x80 || n == 0) {
		*p = s + 1;
		return s[0] < 0x80 ? cp : 0xfffd;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*p = s + 1;
			return 0xfffd;
		}
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	*p = s + n + 1;
	return cp;
}

static int cp_width(uint32_t cp)
{
	static const uint32_t zero[][2] = { { 0x0300, 0x036f }, { 0x200b, 0x200f },
		{ 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f } };
	/* East Asian Width W and F (Unicode 15), the ranges that occur in
	 * names: Hangul Jamo, CJK and its punctuation, kana, Hangul, CJK
	 * compatibility, fullwidth forms, the supplementary ideographs. */
	static const uint32_t wide[][2] = { { 0x1100, 0x115f }, { 0x2e80, 0x303e },
		{ 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf },
		{ 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe30, 0xfe4f }, { 0xff00, 0xff60 },
		{ 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f }, { 0x20000, 0x3fffd } };

	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
		if (cp >= zero[i][0] && cp <= zero[i][1])
			return 0;
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

size_t ss_table_display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p)
		w += (size_t)cp_width(utf8_next(&p));
	return w;
}

/* ---- text forms of machine values ---- */

const char *ss_table_money(int64_t fen, char *buf, size_t len)
{
	uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
	char digits[32], grouped[48];
	size_t n, g = 0;

	n = (size_t)snprintf(digits, sizeof digits, "%" PRIu64, mag / 100);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[g++] = ',';
		grouped[g++] = digits[i];
	}
	grouped[g] = '\0';
	snprintf(buf, len, "%s¥%s.%02u", fen < 0 ? "-" : "", grouped, (unsigned)(mag % 100));
	return buf;
}

static void fmt_bytes(int64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double x = (double)v;
	int u = -1;

	while ((x >= 1024 || x <= -1024) && u < 4) {
		x /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRId64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", x, units[u]);
}

static void fmt_offset(long gmtoff, char *buf, size_t len)
{
	int a = (int)((gmtoff < 0 ? -gmtoff : gmtoff) % 86400);

	snprintf(buf, len, "%c%02d:%02d", gmtoff < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

/* Local time of ms. zone and zone_set hold the column's offset, taken from
 * its first time; a time in another offset names its own. */
static void fmt_time(int64_t ms, long *zone, int *zone_set, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	char off[40];
	struct tm tm;
	size_t n;

	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "%" PRId64, ms);
		return;
	}
	n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	if (!*zone_set) {
		*zone = tm.tm_gmtoff;
		*zone_set = 1;
	} else if (tm.tm_gmtoff != *zone) {
		fmt_offset(tm.tm_gmtoff, off, sizeof off);
		snprintf(buf + n, len - n, " %s", off);
	}
}

/* ---- text ---- */

struct text_col {
	size_t src;               /* index in the reply */
	struct col col;
	char header[96];
	long zone;
	int zone_set;
	size_t width;
	int right;                /* numbers: right-aligned */
	int64_t total;            /* of the column's cells, for the total row */
	int total_overflow;
};

static const char *label_of(const struct ss_table_view *v, const char *name)
{
	for (const char *const *l = v && v->labels ? v->labels : NULL; l && l[0]; l += 2)
		if (strcmp(l[0], name) == 0)
			return l[1];
	return NULL;
}

static int shown(const struct ss_table_view *v, const Storesync__QueryReply *r, size_t c)
{
	int any = 0;

	if (!v || !v->columns)
		return 1;
	for (size_t i = 0; i < r->n_columns; i++)
		any |= in_list(r->columns[i], v->columns);
	return !any || in_list(r->columns[c], v->columns);
}

/* The header without its unit suffix, unless a column shown has that name. */
static void base_header(const Storesync__QueryReply *r, const struct ss_table_view *v,
	size_t c, char *buf, size_t len)
{
	static const char *const units[] = { "_ms", "_fen", "_bytes" };
	const char *name = r->columns[c];

	snprintf(buf, len, "%s", name);
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		size_t n = strlen(name), m = strlen(units[u]);

		if (!ends_with(name, units[u]) || n == m)
			continue;
		buf[n - m] = '\0';
		for (size_t i = 0; i < r->n_columns; i++)
			if (shown(v, r, i) && strcmp(r->columns[i], buf) == 0)
				snprintf(buf, len, "%s", name);
		return;
	}
}

/* Keys as operators compare them: each by its first 8 characters. */
static char *keys_text(const char *s)
{
	char *out = malloc(strlen(s) + 1 + 3 * (strlen(s) / 8 + 1)), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		size_t n = strcspn(s, ",");

		o += sprintf(o, "%s%.*s%s", o == out ? "" : ",", (int)(n < 8 ? n : 8), s,
			n > 8 ? "..." : "");
		s += n + (s[n] == ',');
	}
	*o = '\0';
	return out;
}

/* The cell as people read it, malloc'd (strings whole, however long). */
static char *cell_text(struct text_col *tc, const Storesync__Cell *cell)
{
	char buf[128];
	size_t len = sizeof buf;
	int64_t v;

	if (!cell)
		return strdup("");
	if (!is_int(cell) && tc->col.key && str_of(cell)[0])
		return keys_text(str_of(cell));
	if (!is_int(cell))
		return strdup(str_of(cell)[0] ? str_of(cell) : "-");
	v = cell->i;
	if (tc->col.flag)
		snprintf(buf, len, "%s", v ? "yes" : "no");
	else if (is_never(tc->col, v))
		snprintf(buf, len, "-");
	else if (tc->col.kind == COL_TIME)
		fmt_time(v, &tc->zone, &tc->zone_set, buf, len);
	else if (tc->col.kind == COL_AGE || tc->col.kind == COL_DURATION)
		ss_time_format_duration(v, buf, len);
	else if (tc->col.kind == COL_MONEY)
		ss_table_money(v, buf, len);
	else if (tc->col.kind == COL_BYTES)
		fmt_bytes(v, buf, len);
	else
		snprintf(buf, len, "%" PRId64, v);
	return strdup(buf);
}

static void put_padded(FILE *out, const char *s, size_t width, int right, int last)
{
	size_t w = ss_table_display_width(s), pad = width > w ? width - w : 0;

	if (right)
		fprintf(out, "%*s", (int)pad, "");
	fputs(s, out);
	if (!right && !last)
		fprintf(out, "%*s", (int)pad, "");
	fputs(last ? "\n" : "  ", out);
}

/* Which columns show, with their kinds and headers; returns how many. */
static size_t text_columns(const Storesync__QueryReply *r, const struct ss_table_view *v,
	struct text_col *tc)
{
	size_t n = 0;

	for (size_t c = 0; c < r->n_columns; c++) {
		const char *label = label_of(v, r->columns[c]);

		if (!shown(v, r, c))
			continue;
		tc[n] = (struct text_col){ .src = c, .col = col_of(r->columns[c]) };
		if (label)
			snprintf(tc[n].header, sizeof tc[n].header, "%s", label);
		else
			base_header(r, v, c, tc[n].header, sizeof tc[n].header);
		n++;
	}
	return n;
}

static int summed(const struct text_col *tc)
{
	return !tc->col.flag && (tc->col.kind == COL_PLAIN || tc->col.kind == COL_MONEY);
}

/* Adds v to the column's total; a total that would overflow is marked. */
static void add_total(struct text_col *tc, int64_t v)
{
	if (!tc->total_overflow && __builtin_add_overflow(tc->total, v, &tc->total))
		tc->total_overflow = 1;
}

/* The total row's cells: "total", then the sums of count and money columns. */
static int total_cells(struct text_col *tc, size_t n, char **row)
{
	for (size_t c = 0; c < n; c++) {
		Storesync__Cell cell = STORESYNC__CELL__INIT;

		cell.value_case = STORESYNC__CELL__VALUE_I;
		cell.i = tc[c].total;
		if (c == 0)
			row[c] = strdup("total");
		else if (!summed(&tc[c]) || !tc[c].right)
			row[c] = strdup("");
		else
			row[c] = tc[c].total_overflow ? strdup("(overflow)") : cell_text(&tc[c], &cell);
		if (!row[c])
			return -1;
	}
	return 0;
}

/* Headers get their zone once times were seen; widths fit every line. */
static void set_widths(struct text_col *tc, size_t n, char **cells, size_t lines)
{
	char off[40];

	for (size_t c = 0; c < n; c++) {
		if (tc[c].col.kind == COL_TIME && tc[c].zone_set) {
			size_t len = strlen(tc[c].header);

			fmt_offset(tc[c].zone, off, sizeof off);
			snprintf(tc[c].header + len, sizeof tc[c].header - len, " (%s)", off);
		}
		tc[c].width = ss_table_display_width(tc[c].header);
		for (size_t i = 0; i < lines; i++) {
			size_t w = ss_table_display_width(cells[i * n + c]);

			tc[c].width = w > tc[c].width ? w : tc[c].width;
		}
	}
}

/* Fills cells[row * n + col]: the rows, then the total row when wanted.
 * Returns 1 with a total row, 0 without, -1 when out of memory. */
static int text_cells(const Storesync__QueryReply *r, const struct ss_table_view *v,
	struct text_col *tc, size_t n, char **cells)
{
	int total = v && v->total && r->n_rows > 0;

	for (size_t i = 0; i < r->n_rows; i++)
		for (size_t c = 0; c < n; c++) {
			const Storesync__Cell *cell = cell_at(r->rows[i], tc[c].src);

			if (!(cells[i * n + c] = cell_text(&tc[c], cell)))
				return -1;
			tc[c].right |= is_int(cell) && !tc[c].col.flag;
			if (total && is_int(cell) && summed(&tc[c]))
				add_total(&tc[c], cell->i);
		}
	if (total && total_cells(tc, n, cells + r->n_rows * n) != 0)
		return -1;
	set_widths(tc, n, cells, r->n_rows + (size_t)total);
	return total;
}

static void text_rule(FILE *out, const struct text_col *tc, size_t n)
{
	for (size_t c = 0; c < n; c++) {
		for (size_t i = 0; i < tc[c].width; i++)
			fputc('-', out);
		fputs(c + 1 < n ? "  " : "\n", out);
	}
}

static int print_text(FILE *out, const Storesync__QueryReply *r, const struct ss_table_view *v)
{
	struct text_col *tc = calloc(r->n_columns ? r->n_columns : 1, sizeof *tc);
	size_t n = 0, nrows = r->n_rows + 1;
	char **cells = NULL;
	int total = -1;

	tzset();
	if (tc && (n = text_columns(r, v, tc)) > 0 && (cells = calloc(nrows * n, sizeof *cells)))
		total = text_cells(r, v, tc, n, cells);
	for (size_t c = 0; total >= 0 && c < n; c++)
		put_padded(out, tc[c].header, tc[c].width, tc[c].right, c + 1 == n);
	for (size_t i = 0; total >= 0 && i < r->n_rows + (size_t)total; i++) {
		if (i == r->n_rows)
			text_rule(out, tc, n);
		for (size_t c = 0; c < n; c++)
			put_padded(out, cells[i * n + c], tc[c].width, tc[c].right, c + 1 == n);
	}
	for (size_t i = 0; cells && i < nrows * n; i++)
		free(cells[i]);
	free(cells);
	free(tc);
	return total >= 0 || r->n_columns == 0 ? 0 : -1;
}

/* ---- JSON ----
 *
 * Written directly, not dumped from jansson trees: with a tree per row,
 * 10,000 stores' rows cost hqctl two thirds of its time (a malloc and free
 * per value, then the dump). The bytes are exactly those of one
 * json_dumps(array, JSON_INDENT(2)) of an array holding, per row, the
 * object that json_object_set_new of each column's value in column order
 * makes (test_table compares the two on tricky fixtures): a value with
 * no JSON form (a string that is not UTF-8, which json_string refuses) and
 * a key that is not UTF-8 leave the key out; a column name given twice
 * keeps the place its first value took and the last value set. A string
 * other than printable ASCII without '"' or '\' is still jansson's to
 * encode: its escapes and its UTF-8 check stay the one definition. */

struct json_out {
	char *data;
	size_t len, cap;
	int oom;
};

static void jput(struct json_out *o, const char *s, size_t n)
{
	size_t cap = o->cap ? o->cap : 4096;
	char *d;

	if (o->oom)
		return;
	if (o->len + n > o->cap) {
		while (cap < o->len + n)
			cap *= 2;
		if (!(d = realloc(o->data, cap))) {
			o->oom = 1;
			return;
		}
		o->data = d;
		o->cap = cap;
	}
	memcpy(o->data + o->len, s, n);
	o->len += n;
}

static void jputs(struct json_out *o, const char *s)
{
	jput(o, s, strlen(s));
}

/* As jansson prints a json_integer ("%lld"). */
static void jint(struct json_out *o, int64_t v)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char buf[24], *p = buf + sizeof buf;

	do {
		*--p = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (v < 0)
		*--p = '-';
	jput(o, p, (size_t)(buf + sizeof buf - p));
}

/* Bytes jansson's dump writes as they are and json_string takes as they
 * are: printable ASCII (DEL included), but not '"' and '\'. */
static int json_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch > 0x7f || ch == '"' || ch == '\\')
			return 0;
	}
	return 1;
}

/* The JSON string of s[0..n); -1 when it has none (not UTF-8). */
static int jstring(struct json_out *o, const char *s, size_t n)
{
	char buf[512];
	json_t *j;
	size_t need;

	if (json_plain(s, n)) {
		jput(o, "\"", 1);
		jput(o, s, n);
		jput(o, "\"", 1);
		return 0;
	}
	if (!(j = json_stringn(s, n)))
		return -1;
	need = json_dumpb(j, buf, sizeof buf, JSON_ENCODE_ANY);
	if (need > 0 && need <= sizeof buf) {
		jput(o, buf, need);
	} else {
		char *text = json_dumps(j, JSON_ENCODE_ANY);

		if (text)
			jputs(o, text);
		o->oom |= !text;
		free(text);
	}
	json_decref(j);
	return 0;
}

/* A list cell as an array (inside a row inside the answer's array): its
 * items split at ',', an item that is not UTF-8 left out as
 * json_array_append_new left it out. */
static void jlist(struct json_out *o, const char *s)
{
	int any = 0;

	jput(o, "[", 1);
	while (*s) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
		size_t mark = o->len;

		jputs(o, any ? ",\n      " : "\n      ");
		if (jstring(o, s, (size_t)(end - s)) == 0)
			any = 1;
		else
			o->len = mark;
		s = comma ? comma + 1 : end;
	}
	jputs(o, any ? "\n    ]" : "]");
}

/* The cell's value; -1 when it has none (nothing is left written). */
static int jcell(struct json_out *o, struct col col, const Storesync__Cell *cell)
{
	if (is_int(cell)) {
		if (col.flag)
			jputs(o, cell->i ? "true" : "false");
		else if (is_never(col, cell->i))
			jputs(o, "null");
		else
			jint(o, cell->i);
		return 0;
	}
	if (!cell || cell->value_case != STORESYNC__CELL__VALUE_S || (col.day && !*str_of(cell))) {
		jputs(o, "null");
		return 0;
	}
	if (col.list) {
		jlist(o, str_of(cell));
		return 0;
	}
	return jstring(o, str_of(cell), strlen(str_of(cell)));
}

/* What every row shares: each column's kind, its key as JSON (valid: 0
 * when the name has none), and the first column of its name. */
struct json_cols {
	size_t n;
	struct col *col;
	struct json_out keys;
	size_t *key_off, *key_len, *first;
	int *valid;
	/* Per row: where each value went in vals, and whether it has one. */
	struct json_out vals;
	size_t *val_off, *val_len;
	ptrdiff_t *first_set, *last_set;   /* per name: its first and last column
	                                    * with a value in this row; -1 none */
	int *set;
};

static void json_cols_free(struct json_cols *jc)
{
	free(jc->col);
	free(jc->keys.data);
	free(jc->key_off);
	free(jc->key_len);
	free(jc->first);
	free(jc->valid);
	free(jc->vals.data);
	free(jc->val_off);
	free(jc->val_len);
	free(jc->first_set);
	free(jc->last_set);
	free(jc->set);
}

static int json_cols_init(struct json_cols *jc, const Storesync__QueryReply *r)
{
	size_t n = r->n_columns ? r->n_columns : 1;

	*jc = (struct json_cols){ .n = r->n_columns, .col = calloc(n, sizeof *jc->col),
		.key_off = calloc(n, sizeof(size_t)), .key_len = calloc(n, sizeof(size_t)),
		.first = calloc(n, sizeof(size_t)), .valid = calloc(n, sizeof(int)),
		.val_off = calloc(n, sizeof(size_t)), .val_len = calloc(n, sizeof(size_t)),
		.first_set = calloc(n, sizeof(ptrdiff_t)), .last_set = calloc(n, sizeof(ptrdiff_t)),
		.set = calloc(n, sizeof(int)) };
	if (!jc->col || !jc->key_off || !jc->key_len || !jc->first || !jc->valid || !jc->val_off
		|| !jc->val_len || !jc->first_set || !jc->last_set || !jc->set)
		return -1;
	for (size_t c = 0; c < jc->n; c++) {
		const char *name = r->columns[c];

		jc->col[c] = col_of(name ? name : "");
		jc->key_off[c] = jc->keys.len;
		jc->valid[c] = name && jstring(&jc->keys, name, strlen(name)) == 0;
		jc->key_len[c] = jc->keys.len - jc->key_off[c];
		jc->first[c] = c;
		for (size_t p = 0; jc->valid[c] && p < c; p++)
			if (jc->valid[p] && strcmp(r->columns[p], name) == 0) {
				jc->first[c] = p;
				break;
			}
	}
	return jc->keys.oom ? -1 : 0;
}

/* Row i's values into jc->vals, and which column of each name gives its
 * place and which its value. */
static void json_row_values(struct json_cols *jc, const Storesync__Row *row)
{
	jc->vals.len = 0;
	for (size_t c = 0; c < jc->n; c++)
		jc->first_set[c] = jc->last_set[c] = -1;
	for (size_t c = 0; c < jc->n; c++) {
		size_t g = jc->first[c];

		jc->val_off[c] = jc->vals.len;
		jc->set[c] = jc->valid[c] && jcell(&jc->vals, jc->col[c], cell_at(row, c)) == 0;
		if (!jc->set[c])
			jc->vals.len = jc->val_off[c];
		jc->val_len[c] = jc->vals.len - jc->val_off[c];
		if (jc->set[c] && jc->first_set[g] < 0)
			jc->first_set[g] = (ptrdiff_t)c;
		if (jc->set[c])
			jc->last_set[g] = (ptrdiff_t)c;
	}
}

/* Row i as its object inside the answer's array, into o. */
static void json_row(struct json_out *o, struct json_cols *jc, const Storesync__Row *row)
{
	int any = 0;

	json_row_values(jc, row);
	jput(o, "{", 1);
	for (size_t c = 0; c < jc->n; c++) {
		size_t g = jc->first[c], v;

		if (!jc->set[c] || jc->first_set[g] != (ptrdiff_t)c)
			continue;
		v = (size_t)jc->last_set[g];
		jputs(o, any ? ",\n    " : "\n    ");
		jput(o, jc->keys.data + jc->key_off[c], jc->key_len[c]);
		jput(o, ": ", 2);
		jput(o, jc->vals.data + jc->val_off[v], jc->val_len[v]);
		any = 1;
	}
	jputs(o, any ? "\n  }" : "}");
	o->oom |= jc->vals.oom;
}

static int print_json(FILE *out, const Storesync__QueryReply *r)
{
	struct json_cols jc;
	struct json_out o = { 0 };
	int rc = json_cols_init(&jc, r);

	/* A row at a time into o, written out once o holds a few rows' worth. */
	for (size_t i = 0; rc == 0 && i < r->n_rows; i++) {
		jputs(&o, i ? ",\n  " : "[\n  ");
		json_row(&o, &jc, r->rows[i]);
		if (o.oom || (o.len >= (64u << 10) && fwrite(o.data, 1, o.len, out) != o.len))
			rc = -1;
		else if (o.len >= (64u << 10))
			o.len = 0;
	}
	/* A row that failed: no closing bracket, so what was written does not
	 * pass for a whole answer (the caller says why). */
	if (rc == 0) {
		jputs(&o, r->n_rows ? "\n]\n" : "[]\n");
		if (o.oom || fwrite(o.data, 1, o.len, out) != o.len)
			rc = -1;
	}
	free(o.data);
	json_cols_free(&jc);
	return rc;
}

/* ---- CSV ---- */

static void csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_cell(FILE *out, struct col col, const Storesync__Cell *cell)
{
	if (is_int(cell)) {
		if (col.flag)
			fputs(cell->i ? "true" : "false", out);
		else if (!is_never(col, cell->i))
			fprintf(out, "%" PRId64, cell->i);
		return;
	}
	if (!col.list) {
		csv_field(out, str_of(cell));
		return;
	}
	/* One field per cell: list items are separated by ';' instead. */
	for (const char *s = str_of(cell); *s; s++)
		fputc(*s == ',' ? ';' : *s, out);
}

static int print_csv(FILE *out, const Storesync__QueryReply *r)
{
	for (size_t c = 0; c < r->n_columns; c++) {
		csv_field(out, r->columns[c]);
		fputs(c + 1 < r->n_columns ? "," : "\n", out);
	}
	for (size_t i = 0; i < r->n_rows; i++)
		for (size_t c = 0; c < r->n_columns; c++) {
			csv_cell(out, col_of(r->columns[c]), cell_at(r->rows[i], c));
			fputs(c + 1 < r->n_columns ? "," : "\n", out);
		}
	return 0;
}

int ss_table_print(FILE *out, const Storesync__QueryReply *reply, enum ss_table_format fmt,
	const struct ss_table_view *view)
{
	int rc;

	switch (fmt) {
	case SS_TABLE_JSON:
		rc = print_json(out, reply);
		break;
	case SS_TABLE_CSV:
		rc = print_csv(out, reply);
		break;
	default:
		rc = print_text(out, reply, view);
		break;
	}
	return rc == 0 && !ferror(out) ? 0 : -1;
}
