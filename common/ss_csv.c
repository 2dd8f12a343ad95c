/* ss_csv: CSV input at the edge (hqctl). libcsv does the quoting; this file
 * feeds it one physical line at a time so a row's line number is known,
 * and turns rows into typed entries, checking every line before anything
 * is sent: a file with one bad line is refused whole, with every bad line
 * numbered. */
#include "ss_csv.h"

#include <csv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ss_validate.h"

#define PRICE_NAME_MAX_BYTES 64
#define MAX_ERRORS_KEPT 1000
#define MAX_ROWS 200000

struct reader {
	ss_csv_row_fn fn;
	void *arg;
	char *fields[SS_CSV_MAX_FIELDS];
	size_t n;
	int too_many;
	long line, row_line;
	int stop;
};

static void on_field(void *s, size_t len, void *data)
{
	struct reader *r = data;
	char *f;

	if (r->n == SS_CSV_MAX_FIELDS) {
		r->too_many = 1;
		return;
	}
	f = malloc(len + 1);
	if (f) {
		memcpy(f, s ? s : "", len);
		f[len] = '\0';
	}
	r->fields[r->n++] = f;
	if (r->n == 1 && r->row_line == 0)
		r->row_line = r->line;
}

static void on_row(int c, void *data)
{
	struct reader *r = data;
	long line = r->row_line ? r->row_line : r->line;

	(void)c;
	for (size_t i = 0; i < r->n; i++)
		if (!r->fields[i])
			r->too_many = 1;   /* out of memory: stop */
	if (!r->stop && !r->too_many)
		r->stop = r->fn(r->arg, line, r->fields, r->n);
	else if (!r->stop)
		r->stop = r->fn(r->arg, line, NULL, 0);
	for (size_t i = 0; i < r->n; i++)
		free(r->fields[i]);
	r->n = 0;
	r->too_many = 0;
	r->row_line = 0;
}

/* libcsv's strict mode refuses a quote out of place while a file goes on,
 * and a quoted field still open at its end. */
static void syntax_error(const struct reader *r, int at_end, long *err_line, char *err,
	size_t errlen)
{
	*err_line = r->row_line ? r->row_line : r->line;
	snprintf(err, errlen, "%s", at_end ? "a quoted field is not closed (a quote opens it "
		"here and none ends it)" : "a quote out of place (a field with quotes is quoted "
		"whole, a quote inside it doubled: \"The \"\"best\"\" lamp\")");
}

int ss_csv_read(FILE *in, ss_csv_row_fn fn, void *arg, long *err_line, char *err,
	size_t errlen)
{
	struct reader r = { .fn = fn, .arg = arg };
	struct csv_parser p;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (!r.stop && (len = getline(&buf, &cap, in)) > 0) {
		r.line++;
		if (csv_parse(&p, buf, (size_t)len, on_field, on_row, &r) != (size_t)len) {
			if (csv_error(&p) == CSV_EPARSE)
				syntax_error(&r, 0, err_line, err, errlen);
			else {
				*err_line = r.line;
				snprintf(err, errlen, "%s", csv_strerror(csv_error(&p)));
			}
			rc = -1;
			break;
		}
	}
	if (rc == 0 && !r.stop && csv_fini(&p, on_field, on_row, &r) != 0) {
		syntax_error(&r, 1, err_line, err, errlen);
		rc = -1;
	}
	for (size_t i = 0; i < r.n; i++)
		free(r.fields[i]);
	csv_free(&p);
	free(buf);
	return rc;
}

void ss_csv_errors_add(struct ss_csv_errors *e, long line, const char *fmt, ...)
{
	char msg[300];
	size_t n;
	va_list ap;

	if (e->n == MAX_ERRORS_KEPT)
		return;
	n = (size_t)snprintf(msg, sizeof msg, "line %ld: ", line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - n, fmt, ap);
	va_end(ap);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		char **a = realloc(e->lines, cap * sizeof *a);

		if (!a)
			return;
		e->lines = a;
		e->cap = cap;
	}
	if ((e->lines[e->n] = strdup(msg)) != NULL)
		e->n++;
}

void ss_csv_errors_free(struct ss_csv_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
	memset(e, 0, sizeof *e);
}

/* ---- shared by both inputs ---- */

struct row_item {
	void *item;
	long line;
};

struct rows {
	const char *const *header;  /* required columns, then optional ones */
	size_t required, columns;
	int seen_header;
	struct row_item *items;
	size_t n, cap;
	struct ss_csv_errors *errors;
	void *(*make)(long line, char **f, size_t n, struct ss_csv_errors *e);
	const char *(*key)(const void *item);  /* rows must not repeat it */
};

static int header_ok(struct rows *r, long line, char **f, size_t n)
{
	int ok = n >= r->required && n <= r->columns;

	/* Spreadsheets' "CSV UTF-8" starts the file with a byte order mark. */
	if (ok && strncmp(f[0], "\xef\xbb\xbf", 3) == 0)
		memmove(f[0], f[0] + 3, strlen(f[0] + 3) + 1);
	for (size_t i = 0; ok && i < n; i++)
		ok = strcmp(f[i], r->header[i]) == 0;
	if (!ok) {
		char want[120] = "";

		for (size_t i = 0; i < r->columns; i++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s%s", i ? "," : "",
				i == r->required ? "[" : "", r->header[i]);
		if (r->columns > r->required)
			strncat(want, "]", sizeof want - strlen(want) - 1);
		ss_csv_errors_add(r->errors, line, "the header must be %s", want);
	}
	return ok;
}

static int take_row(void *arg, long line, char **f, size_t n)
{
	struct rows *r = arg;
	void *item;

	if (!f) {
		ss_csv_errors_add(r->errors, line, "more than %d fields", SS_CSV_MAX_FIELDS);
		return 0;
	}
	if (n == 1 && f[0][0] == '\0')
		return 0;   /* an empty line */
	if (!r->seen_header) {
		r->seen_header = 1;
		return header_ok(r, line, f, n) ? 0 : 1;
	}
	if (n < r->required || n > r->columns) {
		ss_csv_errors_add(r->errors, line, "%zu fields, want %zu..%zu", n, r->required,
			r->columns);
		return 0;
	}
	if (r->n == MAX_ROWS) {
		ss_csv_errors_add(r->errors, line, "more than %d rows", MAX_ROWS);
		return 1;
	}
	if (!(item = r->make(line, f, n, r->errors)))
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct row_item *a = realloc(r->items, cap * sizeof *a);

		if (!a) {
			ss_csv_errors_add(r->errors, line, "out of memory");
			return 1;
		}
		r->items = a;
		r->cap = cap;
	}
	r->items[r->n].item = item;
	r->items[r->n++].line = line;
	return 0;
}

static const char *(*sort_key)(const void *item);   /* for qsort, one caller at a time */

static int cmp_rows(const void *a, const void *b)
{
	const struct row_item *x = a, *y = b;
	int c = strcmp(sort_key(x->item), sort_key(y->item));

	return c ? c : x->line < y->line ? -1 : 1;
}

/* Reads rows, refuses repeated keys (naming both lines), and hands the
 * items over in key order (*out, freed by the caller, even on errors). */
static int read_rows(FILE *in, struct rows *r, void ***out, size_t *n)
{
	char err[200];
	long err_line = 0;
	void **items;

	if (ss_csv_read(in, take_row, r, &err_line, err, sizeof err) != 0)
		ss_csv_errors_add(r->errors, err_line, "%s", err);
	if (!r->seen_header && r->errors->n == 0)
		ss_csv_errors_add(r->errors, 1, "empty file: want a header line");
	sort_key = r->key;
	if (r->n > 1)
		qsort(r->items, r->n, sizeof *r->items, cmp_rows);
	for (size_t i = 1; i < r->n; i++)
		if (strcmp(r->key(r->items[i - 1].item), r->key(r->items[i].item)) == 0)
			ss_csv_errors_add(r->errors, r->items[i].line, "%s is listed again (first on "
				"line %ld)", r->key(r->items[i].item), r->items[i - 1].line);
	items = malloc((r->n ? r->n : 1) * sizeof *items);
	for (size_t i = 0; items && i < r->n; i++)
		items[i] = r->items[i].item;
	free(r->items);
	*out = items;
	*n = items ? r->n : 0;
	return r->errors->n || !items ? -1 : 0;
}

/* ---- price lists ---- */

static int parse_fen(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!*s || *s == '+' || *s == ' ')
		return -1;
	x = strtoll(s, &end, 10);
	if (*end || x < 0 || x > SS_MAX_FEN)
		return -1;
	*v = x;
	return 0;
}

static void *make_price(long line, char **f, size_t n, struct ss_csv_errors *e)
{
	Storesync__PriceEntry *p;
	int64_t fen;

	if (ss_validate_sku(f[0]) != 0) {
		ss_csv_errors_add(e, line, "sku \"%.40s\" is not a SKU ([A-Z0-9][A-Z0-9-]{0,31})", f[0]);
		return NULL;
	}
	if (parse_fen(f[1], &fen) != 0) {
		ss_csv_errors_add(e, line, "price_fen \"%.40s\" is not a whole number of fen in "
			"0..%lld", f[1], (long long)SS_MAX_FEN);
		return NULL;
	}
	if (n > 2 && f[2][0] && ss_validate_label(f[2], PRICE_NAME_MAX_BYTES) != 0) {
		ss_csv_errors_add(e, line, "name must be UTF-8 text of at most %d bytes without "
			"control characters", PRICE_NAME_MAX_BYTES);
		return NULL;
	}
	if (!(p = calloc(1, sizeof *p)))
		return NULL;
	storesync__price_entry__init(p);
	p->sku = strdup(f[0]);
	p->price_fen = fen;
	p->has_price_fen = 1;
	p->name = n > 2 && f[2][0] ? strdup(f[2]) : NULL;
	return p;
}

static const char *price_key(const void *item)
{
	return ((const Storesync__PriceEntry *)item)->sku;
}

int ss_price_csv_read(FILE *in, Storesync__PriceEntry ***out, size_t *n,
	struct ss_csv_errors *errors)
{
	static const char *const header[] = { "sku", "price_fen", "name" };
	struct rows r = { header, 2, 3, 0, NULL, 0, 0, errors, make_price, price_key };
	void **items;

	if (read_rows(in, &r, &items, n) != 0) {
		ss_price_list_free((Storesync__PriceEntry **)items, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	*out = (Storesync__PriceEntry **)items;
	return 0;
}

void ss_price_list_free(Storesync__PriceEntry **entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++)
		storesync__price_entry__free_unpacked(entries[i], NULL);
	free(entries);
}

/* ---- the store registry ---- */

static void *make_store(long line, char **f, size_t n, struct ss_csv_errors *e)
{
	Storesync__StoreInfo *s;

	(void)n;
	if (ss_validate_store_id(f[0]) != 0) {
		ss_csv_errors_add(e, line, "store_id \"%.40s\" is not [A-Za-z0-9_]{1,32}", f[0]);
		return NULL;
	}
	if (f[1][0] && ss_validate_label(f[1], 64) != 0) {
		ss_csv_errors_add(e, line, "name must be UTF-8 text of at most 64 bytes");
		return NULL;
	}
	if (f[2][0] && ss_validate_region(f[2]) != 0) {
		ss_csv_errors_add(e, line, "region \"%.40s\" is not [A-Za-z0-9_-]{1,32}", f[2]);
		return NULL;
	}
	if (!(s = calloc(1, sizeof *s)))
		return NULL;
	storesync__store_info__init(s);
	s->store_id = strdup(f[0]);
	s->name = strdup(f[1]);
	s->region = strdup(f[2]);
	return s;
}

static const char *store_key(const void *item)
{
	return ((const Storesync__StoreInfo *)item)->store_id;
}

int ss_store_csv_read(FILE *in, Storesync__StoreInfo ***out, size_t *n,
	struct ss_csv_errors *errors)
{
	static const char *const header[] = { "store_id", "name", "region" };
	struct rows r = { header, 3, 3, 0, NULL, 0, 0, errors, make_store, store_key };
	void **items;

	if (read_rows(in, &r, &items, n) != 0) {
		ss_store_list_free((Storesync__StoreInfo **)items, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	*out = (Storesync__StoreInfo **)items;
	return 0;
}

void ss_store_list_free(Storesync__StoreInfo **stores, size_t n)
{
	for (size_t i = 0; stores && i < n; i++)
		storesync__store_info__free_unpacked(stores[i], NULL);
	free(stores);
}
