/* export_tables: what each PostgreSQL table holds, declared once: its
 * columns (name, SQL type, meaning) give the DDL, the COPY column list and
 * docs/export.md's schema; its row function writes one row in COPY's text
 * format from the hub's own value. Money is bigint fen, and every *_fen
 * column has a generated numeric(20,2) *_yuan beside it; times are timestamptz
 * (NULL for never), days are dates, durations stay in ms (their names say
 * so); the events' yuan is in the view storesync_events_yuan. Views are the hub's stored figures; what depends on "now" (overdue,
 * aging, silent) is left to SQL on the times exported. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "hub.h"
#include "ss_bizkey.h"
#include "ss_json.h"
#include "ss_record.h"

#define N(a) (sizeof a / sizeof a[0])

void export_text(FILE *f, const char *s)
{
	if (!s) {
		fputs("\\N", f);
		return;
	}
	/* Runs of plain bytes in one write: this is the exporter's inner loop. */
	while (*s) {
		size_t n = strcspn(s, "\\\t\n\r");

		fwrite_unlocked(s, 1, n, f);
		s += n;
		if (!*s)
			break;
		fputc_unlocked('\\', f);
		fputc_unlocked(*s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\', f);
		s++;
	}
}

/* Digits of v, at least `width` of them (zero-padded), without printf:
 * rows are written by the hundred thousand. */
static void digits(FILE *f, uint64_t v, int width)
{
	char buf[24];
	int n = 0;

	do {
		buf[sizeof buf - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < width);
	fwrite_unlocked(buf + sizeof buf - n, 1, (size_t)n, f);
}

void export_int(FILE *f, int64_t v)
{
	if (v < 0)
		fputc_unlocked('-', f);
	digits(f, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 1);
}

void export_sep(FILE *f)
{
	fputc_unlocked('\t', f);
}

void export_time(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		fputs("\\N", f);
		return;
	}
	gmtime_r(&t, &tm);
	digits(f, (uint64_t)tm.tm_year + 1900, 4);
	fputc_unlocked('-', f);
	digits(f, (uint64_t)tm.tm_mon + 1, 2);
	fputc_unlocked('-', f);
	digits(f, (uint64_t)tm.tm_mday, 2);
	fputc_unlocked(' ', f);
	digits(f, (uint64_t)tm.tm_hour, 2);
	fputc_unlocked(':', f);
	digits(f, (uint64_t)tm.tm_min, 2);
	fputc_unlocked(':', f);
	digits(f, (uint64_t)tm.tm_sec, 2);
	fputc_unlocked('.', f);
	digits(f, (uint64_t)(ms % 1000), 3);
	fwrite_unlocked("+00", 1, 3, f);
}

static void day(FILE *f, int32_t d)
{
	time_t t = (time_t)d * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	fprintf(f, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void ints(FILE *f, const int64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		export_sep(f);
		export_int(f, v[i]);
	}
}

static const char *enum_name(const ProtobufCEnumDescriptor *ed, int v, char *buf, size_t len)
{
	return v ? ss_json_enum_name(ed, v, buf, len) : NULL;
}

/* The store id and what follows its '\0' in a hub key. */
static const char *key_store(const MDB_val *k, char *buf, size_t len, const uint8_t **rest)
{
	size_t n = strnlen(k->mv_data, k->mv_size), c = n < len ? n : len - 1;

	memcpy(buf, k->mv_data, c);
	buf[c] = '\0';
	*rest = (const uint8_t *)k->mv_data + (n < k->mv_size ? n + 1 : n);
	return buf;
}

/* ---- events ---- */

static const struct export_col event_cols[] = {
	{ "store_id", "text NOT NULL", "the store" },
	{ "epoch", "text NOT NULL", "the agent installation's epoch, 16 hex digits (hqctl stores)" },
	{ "seq", "bigint NOT NULL", "the record's number within (store, epoch)" },
	{ "change_no", "bigint", "its place in the hub's global change order (NULL: applied before the order was kept)" },
	{ "kind", "text NOT NULL", "sale, contract_sale, payment, refund, complaint, complaint_progress, inventory, replenishment" },
	{ "business_key", "text", "its business key (\"receipt R-1\"), unique per store" },
	{ "time", "timestamptz NOT NULL", "the record's business time" },
	{ "utc_offset_min", "integer NOT NULL", "the store's offset from UTC at that time" },
	{ "recorded_at", "timestamptz", "when the agent accepted it" },
	{ "received_at", "timestamptz", "when the hub applied it (NULL for a full copy's events)" },
	{ "amount_fen", "bigint NOT NULL", "signed money it moved: sales, deposits, payments +; refunds, compensation -" },
	{ "record", "json NOT NULL", "the whole record in the JSON Lines format of docs/records.md" },
};

/* The events go to PostgreSQL in COPY's binary format (export_pg.c writes
 * its header and trailer): no text to parse for the integers and times,
 * which was a third of PostgreSQL's work per event. A field is its length
 * (int32, -1 for NULL) and its bytes, integers big-endian. */
#define PG_EPOCH_MS 946684800000LL   /* 2000-01-01 UTC, PostgreSQL's day zero */

static void bin_u32(FILE *f, uint32_t v)
{
	v = htonl(v);
	fwrite_unlocked(&v, 1, 4, f);
}

static void bin_field(FILE *f, const void *data, int32_t len)
{
	bin_u32(f, (uint32_t)len);
	if (len > 0)
		fwrite_unlocked(data, 1, (size_t)len, f);
}

static void bin_text(FILE *f, const char *s)
{
	bin_field(f, s, s ? (int32_t)strlen(s) : -1);
}

static void bin_int8(FILE *f, int64_t v)
{
	uint8_t b[8];

	ss_be64_put(b, (uint64_t)v);
	bin_field(f, b, 8);
}

static void bin_int4(FILE *f, int32_t v)
{
	bin_u32(f, 4);
	bin_u32(f, (uint32_t)v);
}

/* timestamptz: microseconds since 2000-01-01 UTC; ms <= 0 is NULL (never). */
static void bin_time(FILE *f, int64_t ms)
{
	if (ms <= 0)
		bin_field(f, NULL, -1);
	else
		bin_int8(f, (ms - PG_EPOCH_MS) * 1000);
}

/* The record's JSON Lines text, into one buffer kept from row to row (the
 * exporter writes rows from one thread): no tree per event. */
static const char *record_json(const Storesync__Record *r, size_t *len)
{
	static struct ss_json_text text;

	if (ss_json_record_text(r, &text) != 0 || text.len > INT32_MAX)
		return NULL;
	*len = text.len;
	return text.data;
}

int export_event_row(FILE *f, const MDB_val *key, const Storesync__Record *r,
	uint64_t change_no, int64_t received_ms)
{
	struct ss_bizkey bk;
	char store[40], epoch[17], bkey[SS_BIZKEY_MAX + 40];
	const uint8_t *rest;
	const char *type = ss_record_type_name(r->body_case), *json;
	size_t json_len;
	uint16_t fields = htons((uint16_t)N(event_cols));

	if (!type || key->mv_size < 17)
		return -1;
	key_store(key, store, sizeof store, &rest);
	if (!(json = record_json(r, &json_len)))
		return -1;
	for (int i = 0; i < 16; i++)   /* 16 hex digits, as hqctl shows it */
		epoch[i] = "0123456789abcdef"[(ss_be64_get(rest) >> (60 - 4 * i)) & 0xf];
	epoch[16] = '\0';
	fwrite_unlocked(&fields, 1, 2, f);
	bin_text(f, store);
	bin_text(f, epoch);
	bin_int8(f, (int64_t)ss_be64_get(rest + 8));
	if (change_no)
		bin_int8(f, (int64_t)change_no);
	else
		bin_field(f, NULL, -1);
	bin_text(f, type);
	if (ss_bizkey_of(r, &bk) == 0) {
		ss_bizkey_text(&bk, bkey, sizeof bkey);
		bin_text(f, bkey);
	} else {
		bin_text(f, NULL);
	}
	bin_time(f, r->time_ms);
	bin_int4(f, r->utc_offset_min);
	bin_time(f, r->recorded_ms);
	bin_time(f, received_ms);
	bin_int8(f, ss_record_amount_fen(r));
	bin_field(f, json, (int32_t)json_len);
	return 0;
}

const struct export_table export_events_table = {
	"storesync_events", NULL, "every record in the hub's event log, once", event_cols,
	N(event_cols), "store_id, epoch, seq", NULL };

static const struct export_col position_cols[] = {
	{ "id", "integer PRIMARY KEY CHECK (id = 1)", "one row" },
	{ "change_no", "bigint NOT NULL", "every change of the hub's order through this one is in these tables" },
	{ "change_ms", "bigint NOT NULL", "that change's hub time (ms), which tells this hub's change from another's" },
	{ "event_key", "bytea", "that change's event key, for the same check" },
	{ "events", "bigint NOT NULL", "events exported in all" },
	{ "exported_at", "timestamptz NOT NULL", "when this position was committed" },
};

const struct export_table export_position_table = {
	"storesync_export_position", NULL, "where the export stands, written with the rows",
	position_cols, N(position_cols), NULL, NULL };

/* ---- views ---- */

static const struct export_col sales_cols[] = {
	{ "store_id", "text NOT NULL", "the store" },
	{ "day", "date NOT NULL", "the store's local business day" },
	{ "receipts", "bigint NOT NULL", "sale records" },
	{ "sales_fen", "bigint NOT NULL", "sum of sale totals" },
	{ "refunds", "bigint NOT NULL", "refund records" },
	{ "refunds_fen", "bigint NOT NULL", "sum of refunds (positive)" },
	{ "contracts", "bigint NOT NULL", "contract sales" },
	{ "contract_total_fen", "bigint NOT NULL", "sum of contract totals" },
	{ "deposits_fen", "bigint NOT NULL", "contract deposits taken" },
	{ "payments_fen", "bigint NOT NULL", "payments on account taken at this store" },
	{ "cash_fen", "bigint NOT NULL", "money taken in cash (sales, deposits, payments, less refunds paid back)" },
	{ "card_fen", "bigint NOT NULL", "the same by card" },
	{ "mobile_fen", "bigint NOT NULL", "the same by mobile payment" },
	{ "on_account_fen", "bigint NOT NULL", "sales charged to accounts, less refunds credited to them" },
	{ "compensation_fen", "bigint NOT NULL", "complaint compensation paid out" },
};

static int sales_row(FILE *f, const MDB_val *k, const ProtobufCMessage *m, MDB_txn *txn,
	const struct export_hub *x)
{
	const Storesync__SalesDay *d = (const Storesync__SalesDay *)m;
	char store[40];
	const uint8_t *rest;
	int64_t v[] = { (int64_t)d->receipts, d->sales_fen, (int64_t)d->refunds, d->refunds_fen,
		(int64_t)d->contracts, d->contract_total_fen, d->deposits_fen, d->payments_fen,
		d->cash_fen, d->card_fen, d->mobile_fen, d->on_account_fen, d->compensation_fen };

	(void)txn;
	(void)x;
	key_store(k, store, sizeof store, &rest);
	if (rest + 4 > (const uint8_t *)k->mv_data + k->mv_size)
		return -1;
	export_text(f, store);
	export_sep(f);
	day(f, (int32_t)((uint32_t)rest[0] << 24 | (uint32_t)rest[1] << 16 | (uint32_t)rest[2] << 8
		| rest[3]));
	ints(f, v, N(v));
	fputc('\n', f);
	return 0;
}

static const struct export_col inventory_cols[] = {
	{ "store_id", "text NOT NULL", "the store" },
	{ "sku", "text NOT NULL", "the article" },
	{ "on_hand", "bigint NOT NULL", "stock after every move (hqctl inventory)" },
	{ "last_stocktake", "timestamptz", "the latest stocktake's business time" },
	{ "last_move", "timestamptz", "the latest move's business time" },
	{ "moves", "bigint NOT NULL", "moves recorded" },
	{ "out_of_stock_days", "bigint NOT NULL", "days before the latest move's day whose end stock was <= 0" },
	{ "out_of_stock_since", "date", "first day of the running out-of-stock streak (NULL: in stock)" },
};

static int inventory_row(FILE *f, const MDB_val *k, const ProtobufCMessage *m, MDB_txn *txn,
	const struct export_hub *x)
{
	const Storesync__InventoryItem *it = (const Storesync__InventoryItem *)m;
	char store[40], sku[80];
	const uint8_t *rest;

	(void)txn;
	(void)x;
	key_store(k, store, sizeof store, &rest);
	snprintf(sku, sizeof sku, "%.*s", (int)((const uint8_t *)k->mv_data + k->mv_size - rest),
		(const char *)rest);
	export_text(f, store);
	export_sep(f);
	export_text(f, sku);
	fprintf(f, "\t%" PRId64 "\t", it->on_hand);
	export_time(f, it->last_stocktake_ms);
	export_sep(f);
	export_time(f, it->last_move_ms);
	fprintf(f, "\t%" PRIu64 "\t%" PRId64 "\t", it->moves, it->out_of_stock_days);
	if (it->has_out_of_stock_since_day && it->out_of_stock_since_day >= 0)
		day(f, it->out_of_stock_since_day);
	else
		fputs("\\N", f);
	fputc('\n', f);
	return 0;
}

static const struct export_col case_cols[] = {
	{ "case_no", "text NOT NULL", "<store>-<YYYYMM>-<serial>" },
	{ "store_id", "text NOT NULL", "the store" },
	{ "state", "text NOT NULL", "open, responded, investigating, resolved, closed, unregistered" },
	{ "channel", "text", "counter, phone, online" },
	{ "category", "text", "product_quality, service_attitude, delivery, installation, price" },
	{ "severity", "text", "its severity" },
	{ "customer", "text", "the customer (confidential: HQ's database only)" },
	{ "registered", "timestamptz", "registration (NULL: progress arrived first)" },
	{ "respond_by", "timestamptz", "response deadline, from the policy in force at registration" },
	{ "report_by", "timestamptz", "investigation report deadline" },
	{ "responded", "timestamptz", "first response" },
	{ "investigated", "timestamptz", "investigated (or later step)" },
	{ "resolved", "timestamptz", "resolved" },
	{ "closed", "timestamptz", "closed" },
	{ "resolution", "text", "refund, discount, replace, repair, explanation" },
	{ "compensation_fen", "bigint NOT NULL", "compensation paid" },
	{ "responded_late", "boolean NOT NULL", "responded after respond_by" },
	{ "reported_late", "boolean NOT NULL", "investigated or resolved after report_by" },
};

static int case_row(FILE *f, const MDB_val *k, const ProtobufCMessage *m, MDB_txn *txn,
	const struct export_hub *x)
{
	const Storesync__CaseView *c = (const Storesync__CaseView *)m;
	char b[4][48];
	const int64_t t[] = { c->registered_ms, c->respond_by_ms, c->report_by_ms, c->responded_ms,
		c->investigated_ms, c->resolved_ms, c->closed_ms };

	(void)k;
	(void)txn;
	(void)x;
	export_text(f, c->case_no);
	export_sep(f);
	export_text(f, c->store_id);
	export_sep(f);
	export_text(f, enum_name(&storesync__case_state__descriptor, c->state, b[0], sizeof b[0]));
	export_sep(f);
	export_text(f, enum_name(&storesync__complaint_channel__descriptor, c->channel, b[1],
		sizeof b[1]));
	export_sep(f);
	export_text(f, enum_name(&storesync__complaint_category__descriptor, c->category, b[2],
		sizeof b[2]));
	export_sep(f);
	export_text(f, enum_name(&storesync__severity__descriptor, c->severity, b[3], sizeof b[3]));
	export_sep(f);
	export_text(f, c->customer && *c->customer ? c->customer : NULL);
	for (size_t i = 0; i < N(t); i++) {
		export_sep(f);
		export_time(f, t[i]);
	}
	export_sep(f);
	export_text(f, c->has_resolution ? enum_name(&storesync__resolution__descriptor,
		c->resolution, b[0], sizeof b[0]) : NULL);
	fprintf(f, "\t%" PRId64 "\t%s\t%s\n", c->compensation_fen, c->responded_late ? "t" : "f",
		c->reported_late ? "t" : "f");
	return 0;
}

static const struct export_col account_cols[] = {
	{ "account", "text NOT NULL", "the account (a contract number or a customer account)" },
	{ "owner_store", "text", "the store that owns the customer" },
	{ "contract_no", "text", "the owning contract, if any" },
	{ "customer", "text", "the customer (confidential: HQ's database only)" },
	{ "contract_total_fen", "bigint NOT NULL", "contract totals" },
	{ "charged_fen", "bigint NOT NULL", "contract totals and on-account sales" },
	{ "received_fen", "bigint NOT NULL", "deposits and payments" },
	{ "refunded_fen", "bigint NOT NULL", "refunds credited to the account" },
	{ "balance_fen", "bigint NOT NULL", "what is owed: charged - received - refunded (hqctl accounts)" },
	{ "opened", "timestamptz", "the earliest charge" },
	{ "last_payment", "timestamptz", "the latest payment or deposit" },
	{ "payments", "bigint NOT NULL", "payment records" },
};

static int account_row(FILE *f, const MDB_val *k, const ProtobufCMessage *m, MDB_txn *txn,
	const struct export_hub *x)
{
	const Storesync__AccountView *a = (const Storesync__AccountView *)m;
	int64_t v[] = { a->contract_total_fen, a->charged_fen, a->received_fen, a->refunded_fen,
		hub_account_balance(a) };

	(void)k;
	(void)txn;
	(void)x;
	export_text(f, a->account);
	export_sep(f);
	export_text(f, a->owner_store && *a->owner_store ? a->owner_store : NULL);
	export_sep(f);
	export_text(f, a->contract_no && *a->contract_no ? a->contract_no : NULL);
	export_sep(f);
	export_text(f, a->customer && *a->customer ? a->customer : NULL);
	ints(f, v, N(v));
	export_sep(f);
	export_time(f, a->opened_ms);
	export_sep(f);
	export_time(f, a->last_payment_ms);
	fprintf(f, "\t%" PRIu64 "\n", a->payments);
	return 0;
}

static const struct export_col store_cols[] = {
	{ "store_id", "text NOT NULL", "the store" },
	{ "name", "text", "as registered (hqctl store add)" },
	{ "region", "text", "as registered" },
	{ "epoch", "text NOT NULL", "the epoch last heard from, 16 hex digits" },
	{ "high_water_seq", "bigint NOT NULL", "records of that epoch the hub holds" },
	{ "records", "bigint NOT NULL", "records applied, all epochs" },
	{ "amount_fen", "bigint NOT NULL", "signed money the applied records moved" },
	{ "refused", "bigint NOT NULL", "records refused as invalid (kept, no effect)" },
	{ "biz_duplicates", "bigint NOT NULL", "records sent again with the same business key and content" },
	{ "backlog", "bigint NOT NULL", "records the store had not sent, as it last reported" },
	{ "oldest_unsent_age_ms", "bigint NOT NULL", "age of its oldest unsent record then" },
	{ "last_seen", "timestamptz", "the hub last heard from it" },
	{ "last_record", "timestamptz", "a record of it last arrived" },
	{ "last_progress", "timestamptz", "it last made progress (silence counts from here)" },
	{ "agent_version", "text", "its agent's version" },
	{ "applied_update_id", "bigint NOT NULL", "every update through this id is applied there" },
};

static int store_row(FILE *f, const MDB_val *k, const ProtobufCMessage *m, MDB_txn *txn,
	const struct export_hub *x)
{
	const Storesync__StoreState *s = (const Storesync__StoreState *)m;
	Storesync__StoreInfo *si = NULL;
	MDB_val d;
	int64_t v[] = { (int64_t)s->records, s->amount_fen, (int64_t)s->refused,
		(int64_t)s->biz_duplicates, (int64_t)s->backlog, s->oldest_unsent_age_ms };

	if (mdb_get(txn, x->registry, (MDB_val *)k, &d) == 0)
		si = storesync__store_info__unpack(NULL, d.mv_size, d.mv_data);
	export_text(f, s->store_id);
	export_sep(f);
	export_text(f, si && si->name && *si->name ? si->name : NULL);
	export_sep(f);
	export_text(f, si && si->region && *si->region ? si->region : NULL);
	fprintf(f, "\t%016" PRIx64 "\t%" PRIu64, s->epoch, s->high_water_seq);
	ints(f, v, N(v));
	export_sep(f);
	export_time(f, s->last_seen_ms);
	export_sep(f);
	export_time(f, s->last_record_ms);
	export_sep(f);
	export_time(f, s->last_progress_ms);
	export_sep(f);
	export_text(f, s->agent_version && *s->agent_version ? s->agent_version : NULL);
	fprintf(f, "\t%" PRIu64 "\n", s->applied_update_id);
	if (si)
		storesync__store_info__free_unpacked(si, NULL);
	return 0;
}

/* The views, in the order a batch writes them. export_batch.views[i] is
 * export_tables[i]'s. */
const struct export_table export_tables[] = {
	{ "storesync_stores", "stores", "every store the hub has heard from", store_cols,
		N(store_cols), "store_id", store_row },
	{ "storesync_sales", "sales", "sales by store and business day", sales_cols,
		N(sales_cols), "store_id, day", sales_row },
	{ "storesync_inventory", "inventory", "stock on hand per store and SKU", inventory_cols,
		N(inventory_cols), "store_id, sku", inventory_row },
	{ "storesync_cases", "cases", "complaint cases", case_cols, N(case_cols), "case_no",
		case_row },
	{ "storesync_accounts", "accounts", "accounts (receivables)", account_cols,
		N(account_cols), "account", account_row },
};

const size_t export_n_tables = N(export_tables);

void export_copy_cols(FILE *f, const struct export_table *t)
{
	for (size_t i = 0; i < t->n_cols; i++)
		fprintf(f, "%s%s", i ? ", " : "", t->cols[i].name);
}

static void quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static void table_sql(FILE *f, const struct export_table *t, int yuan)
{
	fprintf(f, "CREATE TABLE IF NOT EXISTS %s (", t->name);
	for (size_t i = 0; i < t->n_cols; i++) {
		size_t n = strlen(t->cols[i].name);

		fprintf(f, "%s\n  %s %s", i ? "," : "", t->cols[i].name, t->cols[i].type);
		if (yuan && n > 4 && strcmp(t->cols[i].name + n - 4, "_fen") == 0)
			fprintf(f, ",\n  %.*s_yuan numeric GENERATED ALWAYS AS (%s / 100.0) STORED",
				(int)(n - 4), t->cols[i].name, t->cols[i].name);
	}
	if (t->key)
		fprintf(f, ",\n  PRIMARY KEY (%s)", t->key);
	fprintf(f, "\n);\nCOMMENT ON TABLE %s IS ", t->name);
	quoted(f, t->doc);
	fputs(";\n", f);
	for (size_t i = 0; i < t->n_cols; i++) {
		fprintf(f, "COMMENT ON COLUMN %s.%s IS ", t->name, t->cols[i].name);
		quoted(f, t->cols[i].doc);
		fputs(";\n", f);
	}
}

void export_schema_sql(FILE *f)
{
	table_sql(f, &export_position_table, 0);
	/* The events table takes most rows: no generated column and no index
	 * but its key, so COPY runs at full speed; yuan comes from a view. */
	table_sql(f, &export_events_table, 0);
	fputs("CREATE OR REPLACE VIEW storesync_events_yuan AS SELECT *, "
		"(amount_fen::numeric / 100)::numeric(20,2) AS amount_yuan FROM storesync_events;\n", f);
	for (size_t i = 0; i < export_n_tables; i++)
		table_sql(f, &export_tables[i], 1);
}
