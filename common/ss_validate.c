/* ss_validate: the business rules a record must satisfy before anyone acts on
 * it: the agent checks before it makes a record durable, the hub again before
 * it applies one (a hub never trusts a store's software version).
 *
 * Invariant: a record that passes can be applied by every view without
 * further checks: required fields are present, money is non-negative where
 * the manuals say so, line sums cannot overflow, identifiers are bounded
 * printable strings, a complaint case number names the submitting store
 * and the store-local month it was registered in, and every amount has one
 * home (a deposit has a method that is money, a refund is paid back or
 * credited, never both).
 * Pure functions (no clock, no I/O), so agent and hub judge a record alike.
 * Reasons name the field at fault; the caller adds nothing but the record type. */
#include "ss_validate.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ss_record.h"
#include "ss_time.h"

#define IDENT_MAX_BYTES 64
#define SKU_MAX_BYTES 32
#define STORE_ID_MAX_BYTES 32
#define MAX_LINES 1000
#define CASE_SERIAL_MAX_DIGITS 6

__attribute__((format(printf, 3, 4)))
static int fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* ASCII only: the ctype functions follow the locale. */
static int ascii_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int ss_validate_store_id(const char *store_id)
{
	size_t n = store_id ? strlen(store_id) : 0;

	if (n == 0 || n > STORE_ID_MAX_BYTES)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!ascii_alnum(store_id[i]) && store_id[i] != '_')
			return -1;
	return 0;
}

/* [A-Z0-9][A-Z0-9-]{0,31} */
static int sku_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (!first && c == '-');
}

int ss_validate_sku(const char *sku)
{
	return ss_validate_sku_n(sku, sku ? strlen(sku) : 0);
}

int ss_validate_sku_n(const char *sku, size_t n)
{
	if (n == 0 || n > SKU_MAX_BYTES)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!sku_char(sku[i], i == 0))
			return -1;
	return 0;
}

static int check_sku(const char *sku, char *msg, size_t len)
{
	if (!sku)
		return fail(msg, len, "sku is missing");
	if (ss_validate_sku(sku) < 0)
		return fail(msg, len, "sku is not a valid SKU ([A-Z0-9][A-Z0-9-]{0,31})");
	return 0;
}

/* Identifiers are keys in the hub's views: 1..64 bytes, no control characters. */
static int check_ident(const char *s, const char *name, char *msg, size_t len)
{
	size_t n;

	if (!s)
		return fail(msg, len, "%s is missing", name);
	n = strlen(s);
	if (n == 0)
		return fail(msg, len, "%s is empty", name);
	if (n > IDENT_MAX_BYTES)
		return fail(msg, len, "%s is longer than %d bytes", name, IDENT_MAX_BYTES);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(msg, len, "%s contains a control character", name);
	return 0;
}

static int check_opt_ident(const char *s, const char *name, char *msg, size_t len)
{
	return s ? check_ident(s, name, msg, len) : 0;
}

/* Free text the manuals require (a reason): present and not empty. */
static int check_text(const char *s, const char *name, char *msg, size_t len)
{
	if (!s || !*s)
		return fail(msg, len, "%s is required", name);
	return 0;
}

/* Text must be UTF-8: it reaches operators as JSON. jansson's own check
 * decides (only for text that is not plain ASCII, the common case). */
static int utf8_ok(const char *s)
{
	json_t *j;

	for (const char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			goto check;
	return 1;
check:
	j = json_string(s);
	json_decref(j);
	return j != NULL;
}

int ss_validate_region(const char *region)
{
	size_t n = region ? strlen(region) : 0;

	if (n == 0 || n > 32)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!ascii_alnum(region[i]) && region[i] != '_' && region[i] != '-')
			return -1;
	return 0;
}

int ss_validate_label(const char *s, size_t max_bytes)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max_bytes || !utf8_ok(s))
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	return 0;
}

/* A field's storage is live: not an unset member of a oneof. */
static int field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return 1;
	return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
}

/* Every string anywhere in m is valid UTF-8; names the first field that is not. */
static int check_strings(const ProtobufCMessage *m, char *msg, size_t len)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = (const char *)m + f->offset;
		int repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		size_t n = repeated ? *(const size_t *)((const char *)m + f->quantifier_offset) : 1;
		void *const *items = repeated ? *(void *const *const *)member : (void *const *)member;

		if ((f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			|| !field_present(m, f))
			continue;
		for (size_t j = 0; j < n; j++) {
			if (!items[j])
				continue;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (check_strings(items[j], msg, len) < 0)
					return -1;
			} else if (!utf8_ok(items[j])) {
				return fail(msg, len, "%s is not valid UTF-8", f->name);
			}
		}
	}
	return 0;
}

/* Present and one of the values this build knows (protobuf-c keeps any number). */
static int check_enum(const ProtobufCEnumDescriptor *d, protobuf_c_boolean has, int v,
	const char *name, char *msg, size_t len)
{
	if (!has)
		return fail(msg, len, "%s is missing", name);
	if (!protobuf_c_enum_descriptor_get_value(d, v))
		return fail(msg, len, "%s has an unknown value %d", name, v);
	return 0;
}

/* Money (*_fen) and quantities have a business ceiling, so the hub's sums of
 * millions of records stay far inside int64. */
static int check_bound(int64_t v, const char *name, char *msg, size_t len)
{
	size_t n = strlen(name);
	int money = n > 4 && strcmp(name + n - 4, "_fen") == 0;
	int64_t max = money ? SS_MAX_FEN : strcmp(name, "quantity") == 0 ? SS_MAX_QUANTITY : INT64_MAX;

	if (v > max || v < -max)
		return fail(msg, len, "%s is beyond %lld", name, (long long)max);
	return 0;
}

static int check_positive(protobuf_c_boolean has, int64_t v, const char *name,
	char *msg, size_t len)
{
	if (!has)
		return fail(msg, len, "%s is missing", name);
	if (v <= 0)
		return fail(msg, len, "%s must be positive", name);
	return check_bound(v, name, msg, len);
}

static int check_not_negative(int64_t v, const char *name, char *msg, size_t len)
{
	return v < 0 ? fail(msg, len, "%s is negative", name) : check_bound(v, name, msg, len);
}

/* One sale or return line; *amount_fen receives what it charges. */
static int check_line(const Storesync__SaleLine *l, int64_t *amount_fen, char *msg, size_t len)
{
	int64_t gross_fen;

	if (check_sku(l->sku, msg, len) < 0 ||
		check_positive(l->has_quantity, l->quantity, "quantity", msg, len) < 0)
		return -1;
	if (!l->has_unit_price_fen)
		return fail(msg, len, "unit_price_fen is missing");
	if (check_not_negative(l->unit_price_fen, "unit_price_fen", msg, len) < 0 ||
		check_not_negative(l->discount_fen, "discount_fen", msg, len) < 0)
		return -1;
	if (__builtin_mul_overflow(l->quantity, l->unit_price_fen, &gross_fen))
		return fail(msg, len, "quantity * unit_price_fen overflows");
	if (l->discount_fen > gross_fen)
		return fail(msg, len, "discount_fen exceeds quantity * unit_price_fen");
	*amount_fen = gross_fen - l->discount_fen;
	return 0;
}

static int check_lines(Storesync__SaleLine *const *lines, size_t n, int64_t *sum_fen,
	char *msg, size_t len)
{
	char why[192];
	int64_t amount_fen = 0;

	if (n > MAX_LINES)
		return fail(msg, len, "lines has more than %d lines", MAX_LINES);
	*sum_fen = 0;
	for (size_t i = 0; i < n; i++) {
		if (check_line(lines[i], &amount_fen, why, sizeof why) < 0)
			return fail(msg, len, "line %zu: %s", i + 1, why);
		if (__builtin_add_overflow(*sum_fen, amount_fen, sum_fen))
			return fail(msg, len, "line %zu: sum of line amounts overflows", i + 1);
	}
	return 0;
}

static int check_sale(const Storesync__Sale *s, char *msg, size_t len)
{
	const ProtobufCEnumDescriptor *pm = &storesync__payment_method__descriptor;
	int64_t sum_fen;

	if (check_ident(s->receipt_no, "receipt_no", msg, len) < 0)
		return -1;
	if (s->n_lines == 0)
		return fail(msg, len, "lines must hold at least one line");
	if (check_lines(s->lines, s->n_lines, &sum_fen, msg, len) < 0)
		return -1;
	if (!s->has_total_fen)
		return fail(msg, len, "total_fen is missing");
	if (check_bound(s->total_fen, "total_fen", msg, len) < 0)
		return -1;
	if (s->total_fen != sum_fen)
		return fail(msg, len, "total_fen %lld does not equal the sum of the lines %lld",
			(long long)s->total_fen, (long long)sum_fen);
	if (check_enum(pm, s->has_payment_method, s->payment_method, "payment_method",
		msg, len) < 0)
		return -1;
	if (s->payment_method == STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT && !s->account)
		return fail(msg, len, "account is required when payment_method is on_account");
	return check_opt_ident(s->account, "account", msg, len);
}

/* ---- times (docs/records.md, "Times") ---- */

int ss_validate_time_ms(int64_t ms)
{
	return ms >= SS_TIME_MIN_MS && ms < SS_TIME_MAX_MS ? 0 : -1;
}

int ss_validate_day(int64_t day)
{
	return day >= SS_TIME_MIN_MS / SS_DAY_MS && day < SS_TIME_MAX_MS / SS_DAY_MS ? 0 : -1;
}

static int check_in_range(int64_t ms, const char *name, char *msg, size_t len)
{
	if (ss_validate_time_ms(ms) != 0)
		return fail(msg, len, "%s is outside 2000-01-01..2099-12-31", name);
	return 0;
}

/* A planned moment: 0 for none, else a time in the range. */
static int check_opt_time(int64_t ms, const char *name, char *msg, size_t len)
{
	return ms == 0 ? 0 : check_in_range(ms, name, msg, len);
}

int ss_validate_recorded(const Storesync__Record *r, char *reason, size_t reason_len)
{
	const char *type = ss_record_type_name(r->body_case);

	if (!r->has_recorded_ms)
		return fail(reason, reason_len, "%s: recorded_ms is missing (the agent sets it)",
			type ? type : "record");
	if (ss_validate_time_ms(r->recorded_ms) != 0)
		return fail(reason, reason_len, "%s: recorded_ms is outside 2000-01-01..2099-12-31",
			type ? type : "record");
	return 0;
}

static int check_contract_sale(const Storesync__ContractSale *c, char *msg, size_t len)
{
	if (check_ident(c->contract_no, "contract_no", msg, len) < 0 ||
		check_ident(c->customer, "customer", msg, len) < 0 ||
		check_positive(c->has_total_fen, c->total_fen, "total_fen", msg, len) < 0 ||
		check_not_negative(c->deposit_fen, "deposit_fen", msg, len) < 0)
		return -1;
	if (c->deposit_fen > c->total_fen)
		return fail(msg, len, "deposit_fen exceeds total_fen");
	if (check_opt_time(c->delivery_ms, "delivery_ms", msg, len) < 0 ||
		check_opt_time(c->installation_ms, "installation_ms", msg, len) < 0 ||
		check_opt_ident(c->account, "account", msg, len) < 0)
		return -1;
	/* A deposit is money in hand: it has a method, and it is not a charge. */
	if (c->deposit_fen > 0 && !c->has_deposit_method)
		return fail(msg, len, "deposit_method is required when deposit_fen is given "
			"(how the deposit was paid)");
	if (!c->has_deposit_method)
		return 0;
	if (check_enum(&storesync__payment_method__descriptor, 1, c->deposit_method,
		"deposit_method", msg, len) < 0)
		return -1;
	if (c->deposit_method == STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT)
		return fail(msg, len, "deposit_method must not be on_account (a deposit is money in "
			"hand)");
	return 0;
}

static int check_payment(const Storesync__Payment *p, char *msg, size_t len)
{
	if (check_ident(p->account, "account", msg, len) < 0 ||
		check_positive(p->has_amount_fen, p->amount_fen, "amount_fen", msg, len) < 0 ||
		check_enum(&storesync__payment_method__descriptor, p->has_method, p->method,
			"method", msg, len) < 0)
		return -1;
	if (p->method == STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT)
		return fail(msg, len, "method must not be on_account (a payment settles an account)");
	if (check_ident(p->payment_no, "payment_no", msg, len) < 0)
		return -1;
	return check_opt_ident(p->contract_no, "contract_no", msg, len);
}

/* Where the money of a refund goes, exactly one place: paid back by a
 * method (cash, card, mobile: no account), or credited to an account
 * (account, with no method or on_account). */
static int check_refund_money(const Storesync__Refund *r, char *msg, size_t len)
{
	int credit = r->has_method && r->method == STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT;

	if (credit && !r->account)
		return fail(msg, len, "account is required when method is on_account");
	if (r->has_method && !credit && r->account)
		return fail(msg, len, "give method (money paid back) or account (a credit to the "
			"account), not both");
	if (!r->has_method && !r->account)
		return fail(msg, len, "method is required (how the money was paid back), or account "
			"for a credit to the account");
	return 0;
}

static int check_refund(const Storesync__Refund *r, char *msg, size_t len)
{
	int64_t sum_fen;

	if (check_ident(r->refund_no, "refund_no", msg, len) < 0 ||
		check_ident(r->original_receipt, "original_receipt", msg, len) < 0 ||
		check_lines(r->lines, r->n_lines, &sum_fen, msg, len) < 0 ||
		check_positive(r->has_amount_fen, r->amount_fen, "amount_fen", msg, len) < 0 ||
		check_text(r->reason, "reason", msg, len) < 0)
		return -1;
	if (r->has_method && check_enum(&storesync__payment_method__descriptor, 1, r->method,
		"method", msg, len) < 0)
		return -1;
	if (check_opt_ident(r->approval, "approval", msg, len) < 0 ||
		check_opt_ident(r->account, "account", msg, len) < 0)
		return -1;
	return check_refund_money(r, msg, len);
}

/* Reads exactly n digits at s into *out; -1 when one is not a digit. */
static int read_digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

/* `<store_id>-<YYYYMM>-<serial>`: the store prefix is what makes a case
 * number unique across the chain, so it must be the submitting store's.
 * *yyyymm receives the month the number names. */
static int check_case_no(const char *case_no, const char *store_id, int *yyyymm,
	char *msg, size_t len)
{
	size_t sl = strlen(store_id), digits;
	int year, month, serial;
	const char *p;

	if (!case_no)
		return fail(msg, len, "case_no is missing");
	if (strncmp(case_no, store_id, sl) != 0 || case_no[sl] != '-')
		return fail(msg, len, "case_no must start with this store's id \"%s-\"", store_id);
	p = case_no + sl + 1;
	/* Short-circuit order matters: each test reads only bytes the previous ones
	 * proved to be inside the string. */
	if (read_digits(p, 4, &year) < 0 || read_digits(p + 4, 2, &month) < 0 ||
		p[6] != '-' || (digits = strspn(p + 7, "0123456789")) < 1 ||
		digits > CASE_SERIAL_MAX_DIGITS || p[7 + digits] != '\0')
		return fail(msg, len, "case_no must be %s-<YYYYMM>-<serial of 1..%d digits>",
			store_id, CASE_SERIAL_MAX_DIGITS);
	if (year < 2000 || year > 2999)
		return fail(msg, len, "case_no year must be 2000..2999");
	if (month < 1 || month > 12)
		return fail(msg, len, "case_no month must be 01..12");
	read_digits(p + 7, (int)digits, &serial);
	if (serial == 0)
		return fail(msg, len, "case_no serial must be positive");
	/* One spelling per case: "-01" and "-1" would be two cases. */
	if (p[7] == '0')
		return fail(msg, len, "case_no serial must not have leading zeros");
	*yyyymm = year * 100 + month;
	return 0;
}

/* The store-local month (YYYYMM) of a record's business time. */
static int local_month(const Storesync__Record *r)
{
	time_t t = (time_t)((r->time_ms + (int64_t)r->utc_offset_min * 60000) / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return 0;
	return (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

/* Serials restart each month: a case is numbered in the month it is
 * registered, at the store (the agent stamps its offset before it
 * validates). */
static int check_complaint(const Storesync__Record *r, const char *store_id,
	char *msg, size_t len)
{
	const Storesync__Complaint *c = r->complaint;
	int named, local;

	if (check_case_no(c->case_no, store_id, &named, msg, len) < 0)
		return -1;
	if (named != (local = local_month(r)))
		return fail(msg, len, "case_no month %06d is not %06d, the store-local month of "
			"time_ms", named, local);
	if (check_enum(&storesync__complaint_channel__descriptor, c->has_channel, c->channel,
			"channel", msg, len) < 0 ||
		check_enum(&storesync__complaint_category__descriptor, c->has_category,
			c->category, "category", msg, len) < 0)
		return -1;
	return check_enum(&storesync__severity__descriptor, c->has_severity, c->severity,
		"severity", msg, len);
}

static int check_progress(const Storesync__ComplaintProgress *p, const char *store_id,
	char *msg, size_t len)
{
	int month;

	if (check_case_no(p->case_no, store_id, &month, msg, len) < 0 ||
		check_enum(&storesync__progress_step__descriptor, p->has_step, p->step,
			"step", msg, len) < 0)
		return -1;
	if (p->step == STORESYNC__PROGRESS_STEP__STEP_RESOLVED && !p->has_resolution)
		return fail(msg, len, "resolution is required when step is resolved");
	if (p->has_resolution && check_enum(&storesync__resolution__descriptor, 1,
		p->resolution, "resolution", msg, len) < 0)
		return -1;
	if (check_opt_ident(p->approval, "approval", msg, len) < 0)
		return -1;
	return check_not_negative(p->amount_fen, "amount_fen", msg, len);
}

static int check_inventory(const Storesync__InventoryMove *m, char *msg, size_t len)
{
	if (check_ident(m->move_no, "move_no", msg, len) < 0 ||
		check_enum(&storesync__move_kind__descriptor, m->has_kind, m->kind, "kind",
		msg, len) < 0 || check_sku(m->sku, msg, len) < 0)
		return -1;
	if (!m->has_quantity)
		return fail(msg, len, "quantity is missing");
	switch (m->kind) {
	case STORESYNC__MOVE_KIND__MOVE_STOCKTAKE:
		return check_not_negative(m->quantity, "quantity", msg, len);
	case STORESYNC__MOVE_KIND__MOVE_ADJUSTMENT:
		if (m->quantity == 0)
			return fail(msg, len, "quantity must not be zero for an adjustment");
		if (check_bound(m->quantity, "quantity", msg, len) < 0)
			return -1;
		return check_text(m->reason, "reason", msg, len);
	default:
		return check_positive(1, m->quantity, "quantity", msg, len);
	}
}

static int check_replenishment(const Storesync__ReplenishmentRequest *q, char *msg, size_t len)
{
	if (check_ident(q->request_no, "request_no", msg, len) < 0 ||
		check_sku(q->sku, msg, len) < 0 ||
		check_positive(q->has_quantity, q->quantity, "quantity", msg, len) < 0 ||
		check_text(q->reason, "reason", msg, len) < 0)
		return -1;
	return check_opt_time(q->needed_by_ms, "needed_by_ms", msg, len);
}

/* The reason below names the limit. */
_Static_assert(SS_MAX_FUTURE_MS == 24LL * 3600 * 1000, "time_ms's reason says 24 hours");

static int check_time(const Storesync__Record *r, int64_t now_ms, char *msg, size_t len)
{
	int64_t latest_ms;

	if (check_positive(r->has_time_ms, r->time_ms, "time_ms", msg, len) < 0 ||
		check_in_range(r->time_ms, "time_ms", msg, len) < 0)
		return -1;
	if (__builtin_add_overflow(now_ms, SS_MAX_FUTURE_MS, &latest_ms))
		latest_ms = INT64_MAX;
	if (r->time_ms > latest_ms)
		return fail(msg, len, "time_ms is more than 24 hours ahead of the agent's clock");
	return 0;
}

static int check_body(const Storesync__Record *r, const char *store_id, char *msg, size_t len)
{
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		return check_sale(r->sale, msg, len);
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		return check_contract_sale(r->contract_sale, msg, len);
	case STORESYNC__RECORD__BODY_PAYMENT:
		return check_payment(r->payment, msg, len);
	case STORESYNC__RECORD__BODY_REFUND:
		return check_refund(r->refund, msg, len);
	case STORESYNC__RECORD__BODY_COMPLAINT:
		return check_complaint(r, store_id, msg, len);
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		return check_progress(r->complaint_progress, store_id, msg, len);
	case STORESYNC__RECORD__BODY_INVENTORY:
		return check_inventory(r->inventory, msg, len);
	case STORESYNC__RECORD__BODY_REPLENISHMENT:
		return check_replenishment(r->replenishment, msg, len);
	default:
		return fail(msg, len, "record has no body");
	}
}

int ss_validate_record(const Storesync__Record *r, const char *store_id, int64_t now_ms,
	char *reason, size_t reason_len)
{
	const char *type = ss_record_type_name(r->body_case);
	char why[256];

	if (!type)
		return fail(reason, reason_len, "record has no body");
	if (ss_validate_store_id(store_id) < 0)
		return fail(reason, reason_len, "%s: store id is not valid", type);
	if (check_time(r, now_ms, why, sizeof why) < 0 ||
		check_body(r, store_id, why, sizeof why) < 0)
		return fail(reason, reason_len, "%s: %s", type, why);
	if (check_strings(&r->base, why, sizeof why) < 0)
		return fail(reason, reason_len, "%s: %s", type, why);
	/* A record too big for a batch would wedge its store's stream. */
	if (storesync__record__get_packed_size(r) > SS_MAX_RECORD_BYTES)
		return fail(reason, reason_len, "%s: record is larger than %u bytes", type,
			SS_MAX_RECORD_BYTES);
	return 0;
}
