/* test_validate: the business rules. A correct record of each kind passes;
 * breaking any one rule is refused with a reason that starts with the record
 * type and names the field at fault, so a till operator can fix the line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_json.h"
#include "ss_record.h"
#include "ss_time.h"
#include "ss_validate.h"

#define STORE "S001"
#define NOW_MS 1793937600000LL  /* 2026-11-06 04:00 UTC, 90 minutes after the examples */

enum kind { SALE, CONTRACT, PAYMENT, REFUND, COMPLAINT, PROGRESS, INVENTORY, REPLENISH };

static const char *const type_names[] = {
	"sale", "contract_sale", "payment", "refund", "complaint", "complaint_progress",
	"inventory", "replenishment",
};

/* One valid record of each kind, the same lines docs/records.md shows. */
static const char *const valid[] = {
	"{\"type\":\"sale\",\"time_ms\":1793932200000,\"receipt_no\":\"R-0001\","
	"\"lines\":[{\"sku\":\"SOFA-3S\",\"quantity\":1,\"unit_price_fen\":459900,\"discount_fen\":20000},"
	"{\"sku\":\"CUSHION-01\",\"quantity\":2,\"unit_price_fen\":12900}],"
	"\"total_fen\":465700,\"payment_method\":\"on_account\",\"cashier\":\"C07\","
	"\"customer\":\"CUST-1001\",\"account\":\"ACC-1001\"}",
	"{\"type\":\"contract_sale\",\"time_ms\":1793932200000,\"contract_no\":\"CT-2026-0042\","
	"\"customer\":\"CUST-2002\",\"total_fen\":3850000,\"deposit_fen\":1000000,\"signer\":\"S-LI\","
	"\"delivery_ms\":1795136400000,\"installation_ms\":1795222800000,\"account\":\"CT-2026-0042\","
	"\"deposit_method\":\"card\"}",
	"{\"type\":\"payment\",\"time_ms\":1793932200000,\"account\":\"CT-2026-0042\",\"amount_fen\":500000,"
	"\"method\":\"mobile\",\"contract_no\":\"CT-2026-0042\",\"payment_no\":\"P-0007\"}",
	"{\"type\":\"refund\",\"time_ms\":1793932200000,\"refund_no\":\"RF-0003\",\"original_receipt\":\"R-0001\","
	"\"lines\":[{\"sku\":\"CUSHION-01\",\"quantity\":1,\"unit_price_fen\":12900}],\"amount_fen\":12900,"
	"\"reason\":\"wrong colour\",\"approver\":\"M-WANG\",\"account\":\"ACC-1001\"}",
	"{\"type\":\"complaint\",\"time_ms\":1793932200000,\"case_no\":\"S001-202611-1\",\"customer\":\"CUST-1001\","
	"\"channel\":\"phone\",\"category\":\"delivery\",\"severity\":\"high\","
	"\"description\":\"sofa delivered two days late\"}",
	"{\"type\":\"complaint_progress\",\"time_ms\":1793932200000,\"case_no\":\"S001-202611-1\","
	"\"step\":\"resolved\",\"resolution\":\"discount\",\"amount_fen\":5000,\"approver\":\"M-WANG\","
	"\"note\":\"50 yuan voucher\"}",
	"{\"type\":\"inventory\",\"time_ms\":1793932200000,\"move_no\":\"M-0019\",\"kind\":\"adjustment\","
	"\"sku\":\"SOFA-3S\",\"quantity\":-1,\"reason\":\"damaged in storage\"}",
	"{\"type\":\"replenishment\",\"time_ms\":1793932200000,\"request_no\":\"RQ-0011\",\"sku\":\"CHAIR-RED\","
	"\"quantity\":40,\"reason\":\"wedding banquet on Saturday\",\"needed_by_ms\":1794614400000}",
};

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
	return j;
}

/* The valid example of kind k with the keys of patch replaced (null unsets). */
static Storesync__Record *patched(enum kind k, const char *patch)
{
	json_t *base = load(valid[k]), *p = load(patch);
	char err[256] = "";
	Storesync__Record *r;

	ck_assert_int_eq(json_object_update(base, p), 0);
	r = ss_json_to_record(base, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	json_decref(base);
	json_decref(p);
	return r;
}

static int validate(const Storesync__Record *r, char *reason, size_t len)
{
	return ss_validate_record(r, STORE, NOW_MS, reason, len);
}

/* Asserts r (of kind k) is refused, with a reason "<type>: ..." containing want. Frees r. */
static void assert_refused(enum kind k, Storesync__Record *r, const char *want)
{
	const char *type = type_names[k];
	char reason[256] = "";

	ck_assert_int_eq(validate(r, reason, sizeof reason), -1);
	ck_assert_msg(strncmp(reason, type, strlen(type)) == 0 && reason[strlen(type)] == ':',
		"reason \"%s\" does not start with \"%s:\"", reason, type);
	ck_assert_msg(strstr(reason, want) != NULL, "reason \"%s\" lacks \"%s\"", reason, want);
	storesync__record__free_unpacked(r, NULL);
}

static void assert_accepted(Storesync__Record *r)
{
	char reason[256] = "";

	ck_assert_msg(validate(r, reason, sizeof reason) == 0, "refused: %s", reason);
	storesync__record__free_unpacked(r, NULL);
}

START_TEST(valid_example_of_each_kind_passes)
{
	assert_accepted(patched((enum kind)_i, "{}"));
}
END_TEST

struct variation {
	enum kind kind;
	const char *patch;
	const char *want;  /* expected in the reason; NULL: must pass */
};

#define LINE_OK "{\"sku\":\"SOFA-3S\",\"quantity\":1,\"unit_price_fen\":100}"

static const struct variation variations[] = {
	/* record */
	{ SALE, "{\"time_ms\":null}", "time_ms is missing" },
	{ SALE, "{\"time_ms\":0}", "time_ms must be positive" },
	{ PAYMENT, "{\"time_ms\":-5}", "time_ms must be positive" },
	/* record: times lie in 2000..2099 (docs/records.md, "Times") */
	{ SALE, "{\"time_ms\":946684799999}", "time_ms is outside 2000-01-01..2099-12-31" },
	{ SALE, "{\"time_ms\":946684800000}", NULL },
	{ SALE, "{\"time_ms\":9223372036854775807}", "time_ms is outside" },
	{ CONTRACT, "{\"delivery_ms\":4102444800000}", "delivery_ms is outside" },
	{ CONTRACT, "{\"installation_ms\":-9223372036854775808}", "installation_ms is outside" },
	{ CONTRACT, "{\"delivery_ms\":0,\"installation_ms\":0}", NULL },
	{ REPLENISH, "{\"needed_by_ms\":1}", "needed_by_ms is outside" },
	{ REPLENISH, "{\"needed_by_ms\":0}", NULL },
	/* sale: identifiers */
	{ SALE, "{\"receipt_no\":null}", "sale: receipt_no is missing" },
	{ SALE, "{\"receipt_no\":\"\"}", "receipt_no is empty" },
	{ SALE, "{\"receipt_no\":\"R\\t1\"}", "receipt_no contains a control character" },
	{ SALE, "{\"receipt_no\":\"R\\u007f1\"}", "receipt_no contains a control character" },
	{ SALE, "{\"receipt_no\":\"\\u6536\\u636e-1\"}", NULL },  /* UTF-8 is printable */
	/* sale: lines */
	{ SALE, "{\"lines\":[]}", "lines must hold at least one line" },
	{ SALE, "{\"lines\":[{\"quantity\":1,\"unit_price_fen\":1}],\"total_fen\":1}", "line 1: sku is missing" },
	{ SALE, "{\"lines\":[{\"sku\":\"sofa-3s\",\"quantity\":1,\"unit_price_fen\":1}],\"total_fen\":1}",
		"line 1: sku is not a valid SKU" },
	{ SALE, "{\"lines\":[{\"sku\":\"-SOFA\",\"quantity\":1,\"unit_price_fen\":1}],\"total_fen\":1}",
		"line 1: sku is not a valid SKU" },
	{ SALE, "{\"lines\":[{\"sku\":\"SOFA 3S\",\"quantity\":1,\"unit_price_fen\":1}],\"total_fen\":1}",
		"line 1: sku is not a valid SKU" },
	{ SALE, "{\"lines\":[{\"sku\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\",\"quantity\":1,\"unit_price_fen\":1}],"
		"\"total_fen\":1}", "line 1: sku is not a valid SKU" },
	{ SALE, "{\"lines\":[{\"sku\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"quantity\":1,\"unit_price_fen\":1}],"
		"\"total_fen\":1}", NULL },
	{ SALE, "{\"lines\":[{\"sku\":\"SOFA-3S\",\"unit_price_fen\":1}],\"total_fen\":0}",
		"line 1: quantity is missing" },
	{ SALE, "{\"lines\":[" LINE_OK ",{\"sku\":\"X\",\"quantity\":0,\"unit_price_fen\":1}],\"total_fen\":100}",
		"line 2: quantity must be positive" },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":-2,\"unit_price_fen\":1}],\"total_fen\":-2}",
		"line 1: quantity must be positive" },
	{ SALE, "{\"lines\":[" LINE_OK ",{\"sku\":\"X\",\"quantity\":1,\"unit_price_fen\":-1}],\"total_fen\":99}",
		"sale: line 2: unit_price_fen is negative" },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":1}],\"total_fen\":0}", "line 1: unit_price_fen is missing" },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":1,\"unit_price_fen\":0}],\"total_fen\":0}", NULL },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":1,\"unit_price_fen\":5,\"discount_fen\":-1}],"
		"\"total_fen\":6}", "line 1: discount_fen is negative" },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":2,\"unit_price_fen\":5,\"discount_fen\":11}],"
		"\"total_fen\":-1}", "line 1: discount_fen exceeds quantity * unit_price_fen" },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":2,\"unit_price_fen\":5,\"discount_fen\":10}],"
		"\"total_fen\":0}", NULL },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":1000000000,\"unit_price_fen\":10000000000000}],"
		"\"total_fen\":1}", "line 1: quantity * unit_price_fen overflows" },
	{ SALE, "{\"lines\":[{\"sku\":\"X\",\"quantity\":1000000000,\"unit_price_fen\":9000000000},"
		"{\"sku\":\"Y\",\"quantity\":1000000000,\"unit_price_fen\":9000000000}],\"total_fen\":1}",
		"line 2: sum of line amounts overflows" },
	/* sale: total and payment */
	{ SALE, "{\"total_fen\":null}", "total_fen is missing" },
	{ SALE, "{\"total_fen\":465701}", "total_fen 465701 does not equal the sum of the lines 465700" },
	{ SALE, "{\"payment_method\":null}", "payment_method is missing" },
	{ SALE, "{\"account\":null}", "account is required when payment_method is on_account" },
	{ SALE, "{\"account\":\"\"}", "account is empty" },
	{ SALE, "{\"payment_method\":\"cash\",\"account\":null,\"customer\":\"\"}", NULL },
	/* contract_sale */
	{ CONTRACT, "{\"contract_no\":null}", "contract_no is missing" },
	{ CONTRACT, "{\"contract_no\":\"CT\\n1\"}", "contract_no contains a control character" },
	{ CONTRACT, "{\"customer\":null}", "customer is missing" },
	{ CONTRACT, "{\"customer\":\"\"}", "customer is empty" },
	{ CONTRACT, "{\"customer\":\"\\u5f20\\u4e09\"}", NULL },
	{ CONTRACT, "{\"total_fen\":null}", "total_fen is missing" },
	{ CONTRACT, "{\"total_fen\":0,\"deposit_fen\":0}", "total_fen must be positive" },
	{ CONTRACT, "{\"deposit_fen\":-1}", "deposit_fen is negative" },
	{ CONTRACT, "{\"deposit_fen\":3850001}", "deposit_fen exceeds total_fen" },
	{ CONTRACT, "{\"deposit_fen\":3850000}", NULL },
	{ CONTRACT, "{\"deposit_fen\":null,\"deposit_method\":null}", NULL },
	{ CONTRACT, "{\"deposit_fen\":0,\"deposit_method\":null}", NULL },
	{ CONTRACT, "{\"deposit_method\":null}",
		"deposit_method is required when deposit_fen is given" },
	{ CONTRACT, "{\"deposit_method\":\"on_account\"}",
		"deposit_method must not be on_account (a deposit is money in hand)" },
	{ CONTRACT, "{\"deposit_fen\":0,\"deposit_method\":\"on_account\"}",
		"deposit_method must not be on_account" },
	{ CONTRACT, "{\"delivery_ms\":-1}", "delivery_ms is outside" },
	{ CONTRACT, "{\"installation_ms\":-1}", "installation_ms is outside" },
	{ CONTRACT, "{\"delivery_ms\":0,\"installation_ms\":0}", NULL },
	{ CONTRACT, "{\"account\":\"\"}", "account is empty" },
	/* payment */
	{ PAYMENT, "{\"account\":null}", "payment: account is missing" },
	{ PAYMENT, "{\"amount_fen\":null}", "amount_fen is missing" },
	{ PAYMENT, "{\"amount_fen\":0}", "amount_fen must be positive" },
	{ PAYMENT, "{\"amount_fen\":-100}", "amount_fen must be positive" },
	{ PAYMENT, "{\"method\":null}", "method is missing" },
	{ PAYMENT, "{\"method\":\"on_account\"}", "method must not be on_account" },
	{ PAYMENT, "{\"payment_no\":\"\"}", "payment_no is empty" },
	{ PAYMENT, "{\"payment_no\":null}", "payment: payment_no is missing" },
	{ PAYMENT, "{\"contract_no\":null}", NULL },
	{ PAYMENT, "{\"contract_no\":\"\"}", "contract_no is empty" },
	/* refund */
	{ REFUND, "{\"refund_no\":null}", "refund: refund_no is missing" },
	{ REFUND, "{\"account\":null,\"method\":\"on_account\"}",
		"account is required when method is on_account" },
	{ REFUND, "{\"method\":\"cash\",\"account\":null}", NULL },
	{ REFUND, "{\"method\":\"on_account\"}", NULL },
	{ REFUND, "{\"method\":\"cash\"}", "give method (money paid back) or account (a credit "
		"to the account), not both" },
	{ REFUND, "{\"method\":\"card\"}", "not both" },
	{ REFUND, "{\"method\":null,\"account\":null}", "method is required (how the money was "
		"paid back), or account for a credit to the account" },
	{ REFUND, "{\"original_receipt\":null}", "original_receipt is missing" },
	{ REFUND, "{\"original_receipt\":\"\"}", "original_receipt is empty" },
	{ REFUND, "{\"amount_fen\":null}", "amount_fen is missing" },
	{ REFUND, "{\"amount_fen\":0}", "amount_fen must be positive" },
	{ REFUND, "{\"reason\":null}", "reason is required" },
	{ REFUND, "{\"reason\":\"\"}", "reason is required" },
	{ REFUND, "{\"lines\":[{\"sku\":\"x\",\"quantity\":1,\"unit_price_fen\":1}]}", "line 1: sku is not a valid SKU" },
	{ REFUND, "{\"lines\":[" LINE_OK ",{\"sku\":\"X\",\"quantity\":0,\"unit_price_fen\":1}]}",
		"line 2: quantity must be positive" },
	{ REFUND, "{\"lines\":null}", NULL },
	{ REFUND, "{\"approval\":\"\"}", "refund: approval is empty" },
	{ REFUND, "{\"approval\":\"HQ-2026-118\"}", NULL },
	/* complaint */
	{ COMPLAINT, "{\"case_no\":null}", "complaint: case_no is missing" },
	{ COMPLAINT, "{\"case_no\":\"S002-202611-1\"}", "case_no must start with this store's id \"S001-\"" },
	{ COMPLAINT, "{\"case_no\":\"S0011-202611-1\"}", "case_no must start with this store's id" },
	{ COMPLAINT, "{\"case_no\":\"S001\"}", "case_no must start with this store's id" },
	{ COMPLAINT, "{\"case_no\":\"S001-\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-2026-1\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-20261a-1\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-1x\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-1234567\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-999999\"}", NULL },
	{ COMPLAINT, "{\"case_no\":\"S001-202610-1\"}",
		"case_no month 202610 is not 202611, the store-local month of time_ms" },
	{ COMPLAINT, "{\"case_no\":\"S001-202612-1\"}", "case_no month 202612 is not 202611" },
	{ COMPLAINT, "{\"case_no\":\"S001-199912-1\"}", "case_no year must be 2000..2999" },
	{ COMPLAINT, "{\"case_no\":\"S001-300001-1\"}", "case_no year must be 2000..2999" },
	{ COMPLAINT, "{\"case_no\":\"S001-202613-1\"}", "case_no month must be 01..12" },
	{ COMPLAINT, "{\"case_no\":\"S001-202600-1\"}", "case_no month must be 01..12" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-0\"}", "case_no serial must be positive" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-000000\"}", "case_no serial must be positive" },
	{ COMPLAINT, "{\"case_no\":\"S001-202611-01\"}", "case_no serial must not have leading zeros" },
	{ COMPLAINT, "{\"channel\":null}", "channel is missing" },
	{ COMPLAINT, "{\"category\":null}", "category is missing" },
	{ COMPLAINT, "{\"severity\":null}", "severity is missing" },
	{ COMPLAINT, "{\"customer\":null,\"description\":null}", NULL },
	/* complaint_progress */
	{ PROGRESS, "{\"case_no\":\"S009-202611-1\"}", "complaint_progress: case_no must start with this store's id" },
	{ PROGRESS, "{\"case_no\":\"S001-202611-1-2\"}", "case_no must be S001-<YYYYMM>-<serial" },
	{ PROGRESS, "{\"step\":null}", "step is missing" },
	{ PROGRESS, "{\"resolution\":null}", "resolution is required when step is resolved" },
	{ PROGRESS, "{\"step\":\"responded\",\"resolution\":null,\"amount_fen\":null}", NULL },
	{ PROGRESS, "{\"amount_fen\":-1}", "amount_fen is negative" },
	{ PROGRESS, "{\"amount_fen\":0}", NULL },
	/* inventory */
	{ INVENTORY, "{\"move_no\":null}", "inventory: move_no is missing" },
	{ INVENTORY, "{\"move_no\":\"\"}", "inventory: move_no is empty" },
	{ INVENTORY, "{\"kind\":null}", "inventory: kind is missing" },
	{ INVENTORY, "{\"sku\":null}", "sku is missing" },
	{ INVENTORY, "{\"sku\":\"sofa\"}", "sku is not a valid SKU" },
	{ INVENTORY, "{\"quantity\":null}", "quantity is missing" },
	{ INVENTORY, "{\"quantity\":0}", "quantity must not be zero for an adjustment" },
	{ INVENTORY, "{\"quantity\":3}", NULL },
	{ INVENTORY, "{\"reason\":null}", "reason is required" },
	{ INVENTORY, "{\"kind\":\"stocktake\",\"quantity\":-1,\"reason\":null}", "quantity is negative" },
	{ INVENTORY, "{\"kind\":\"stocktake\",\"quantity\":0,\"reason\":null}", NULL },
	{ INVENTORY, "{\"kind\":\"receipt\",\"quantity\":0}", "quantity must be positive" },
	{ INVENTORY, "{\"kind\":\"receipt\",\"quantity\":-3}", "quantity must be positive" },
	{ INVENTORY, "{\"kind\":\"receipt\",\"quantity\":12,\"reason\":null}", NULL },
	{ INVENTORY, "{\"kind\":\"sale\",\"quantity\":0}", "quantity must be positive" },
	/* replenishment */
	{ REPLENISH, "{\"request_no\":null}", "replenishment: request_no is missing" },
	{ REPLENISH, "{\"request_no\":\"\"}", "request_no is empty" },
	{ REPLENISH, "{\"sku\":\"CHAIR_RED\"}", "sku is not a valid SKU" },
	{ REPLENISH, "{\"quantity\":null}", "quantity is missing" },
	{ REPLENISH, "{\"quantity\":0}", "quantity must be positive" },
	{ REPLENISH, "{\"reason\":null}", "reason is required" },
	{ REPLENISH, "{\"reason\":\"\"}", "reason is required" },
	{ REPLENISH, "{\"needed_by_ms\":-1}", "needed_by_ms is outside" },
	{ REPLENISH, "{\"needed_by_ms\":0}", NULL },
};

#define N_VARIATIONS ((int)(sizeof variations / sizeof variations[0]))

START_TEST(each_rule_judged)
{
	const struct variation *v = &variations[_i];
	Storesync__Record *r = patched(v->kind, v->patch);

	if (v->want)
		assert_refused(v->kind, r, v->want);
	else
		assert_accepted(r);
}
END_TEST

START_TEST(record_without_body_refused)
{
	Storesync__Record r = STORESYNC__RECORD__INIT;
	char reason[256] = "";

	r.has_time_ms = 1;
	r.time_ms = NOW_MS;
	ck_assert_int_eq(validate(&r, reason, sizeof reason), -1);
	ck_assert_str_eq(reason, "record has no body");
}
END_TEST

/* At the hub the future check runs against the agent's stamp, so a record
 * without one (or with one outside the range) is refused, never judged at
 * its own time_ms, which any time_ms would pass. */
START_TEST(hub_needs_recorded_ms_in_range)
{
	Storesync__Record *r = patched(SALE, "{}");
	char reason[256] = "";

	ck_assert_int_eq(ss_validate_recorded(r, reason, sizeof reason), -1);
	ck_assert_msg(strstr(reason, "sale: recorded_ms is missing"), "%s", reason);
	r->has_recorded_ms = 1;
	r->recorded_ms = INT64_MAX;
	ck_assert_int_eq(ss_validate_recorded(r, reason, sizeof reason), -1);
	ck_assert_msg(strstr(reason, "recorded_ms is outside"), "%s", reason);
	r->recorded_ms = NOW_MS;
	ck_assert_int_eq(ss_validate_recorded(r, reason, sizeof reason), 0);
	storesync__record__free_unpacked(r, NULL);
	ck_assert_int_eq(ss_validate_day(SS_TIME_MAX_MS / SS_DAY_MS), -1);
	ck_assert_int_eq(ss_validate_day(SS_TIME_MAX_MS / SS_DAY_MS - 1), 0);
}
END_TEST

/* A till's clock may run ahead of the agent's by up to SS_MAX_FUTURE_MS. */
START_TEST(time_in_the_future_refused)
{
	char patch[64];

	snprintf(patch, sizeof patch, "{\"time_ms\":%lld}", NOW_MS + SS_MAX_FUTURE_MS);
	assert_accepted(patched(SALE, patch));
	snprintf(patch, sizeof patch, "{\"time_ms\":%lld}", NOW_MS + SS_MAX_FUTURE_MS + 1);
	assert_refused(SALE, patched(SALE, patch), "sale: time_ms is more than 24 hours ahead of the agent's clock");
}
END_TEST

START_TEST(identifiers_hold_at_most_64_bytes)
{
	char patch[128];

	snprintf(patch, sizeof patch, "{\"receipt_no\":\"%064d\"}", 7);
	assert_accepted(patched(SALE, patch));
	snprintf(patch, sizeof patch, "{\"receipt_no\":\"%065d\"}", 7);
	assert_refused(SALE, patched(SALE, patch), "receipt_no is longer than 64 bytes");
	snprintf(patch, sizeof patch, "{\"payment_no\":\"%065d\"}", 7);
	assert_refused(PAYMENT, patched(PAYMENT, patch), "payment_no is longer than 64 bytes");
	snprintf(patch, sizeof patch, "{\"move_no\":\"%065d\"}", 7);
	assert_refused(INVENTORY, patched(INVENTORY, patch), "move_no is longer than 64 bytes");
	snprintf(patch, sizeof patch, "{\"approval\":\"%065d\"}", 7);
	assert_refused(REFUND, patched(REFUND, patch), "approval is longer than 64 bytes");
	snprintf(patch, sizeof patch, "{\"request_no\":\"%065d\"}", 7);
	assert_refused(REPLENISH, patched(REPLENISH, patch), "request_no is longer than 64 bytes");
}
END_TEST

/* A sale of n one-fen lines with the matching total. */
static Storesync__Record *sale_of_lines(int n)
{
	json_t *sale = load(valid[SALE]), *lines = json_array();
	char err[256] = "";
	Storesync__Record *r;

	for (int i = 0; i < n; i++)
		json_array_append_new(lines, json_pack("{s:s, s:i, s:i}", "sku", "PEN",
			"quantity", 1, "unit_price_fen", 1));
	json_object_set_new(sale, "lines", lines);
	json_object_set_new(sale, "total_fen", json_integer(n));
	r = ss_json_to_record(sale, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	json_decref(sale);
	return r;
}

START_TEST(at_most_1000_lines)
{
	assert_accepted(sale_of_lines(1000));
	assert_refused(SALE, sale_of_lines(1001), "lines has more than 1000 lines");
}
END_TEST

/* protobuf-c keeps enum numbers it does not know; the validator must not. */
START_TEST(unknown_enum_numbers_refused)
{
	Storesync__Record *r = patched(SALE, "{}");

	r->sale->payment_method = 9;
	assert_refused(SALE, r, "payment_method has an unknown value 9");
	r = patched(CONTRACT, "{}");
	r->contract_sale->deposit_method = 0;
	assert_refused(CONTRACT, r, "deposit_method has an unknown value 0");
	r = patched(COMPLAINT, "{}");
	r->complaint->severity = 5;
	assert_refused(COMPLAINT, r, "severity has an unknown value 5");
	r = patched(PROGRESS, "{}");
	r->complaint_progress->resolution = 6;
	assert_refused(PROGRESS, r, "resolution has an unknown value 6");
	r = patched(INVENTORY, "{}");
	r->inventory->kind = 99;
	assert_refused(INVENTORY, r, "kind has an unknown value 99");
}
END_TEST

START_TEST(store_id_checked_before_case_numbers)
{
	Storesync__Record *r = patched(COMPLAINT, "{}");
	char reason[256] = "";

	ck_assert_int_eq(ss_validate_record(r, "S-1", NOW_MS, reason, sizeof reason), -1);
	ck_assert_str_eq(reason, "complaint: store id is not valid");
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

START_TEST(sku_format)
{
	ck_assert_int_eq(ss_validate_sku("A"), 0);
	ck_assert_int_eq(ss_validate_sku("0"), 0);
	ck_assert_int_eq(ss_validate_sku("SOFA-3S-"), 0);
	ck_assert_int_eq(ss_validate_sku("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"), 0);
	ck_assert_int_eq(ss_validate_sku(NULL), -1);
	ck_assert_int_eq(ss_validate_sku(""), -1);
	ck_assert_int_eq(ss_validate_sku("-A"), -1);
	ck_assert_int_eq(ss_validate_sku("a"), -1);
	ck_assert_int_eq(ss_validate_sku("A_B"), -1);
	ck_assert_int_eq(ss_validate_sku("A B"), -1);
	ck_assert_int_eq(ss_validate_sku("\xc3\x89"), -1);
	ck_assert_int_eq(ss_validate_sku("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"), -1);
}
END_TEST

/* A case number names the month its complaint was registered in, at the
 * store: 2026-10-31T20:00Z is November 1st at UTC+8, still October at UTC.
 * Progress may come in any later month. */
START_TEST(case_month_is_store_local)
{
	const int64_t t = 1793476800000LL;   /* 2026-10-31T20:00:00Z */
	static const struct {
		const char *case_no;
		int32_t offset_min;
		int ok;
	} cases[] = {
		{ "S001-202611-1", 480, 1 }, { "S001-202610-1", 480, 0 },
		{ "S001-202610-1", 0, 1 }, { "S001-202611-1", 0, 0 }, { "S001-202610-1", -300, 1 },
	};
	char patch[128], reason[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Storesync__Record *r;

		snprintf(patch, sizeof patch, "{\"time_ms\":%lld,\"case_no\":\"%s\"}", (long long)t,
			cases[i].case_no);
		r = patched(COMPLAINT, patch);
		r->utc_offset_min = cases[i].offset_min;
		r->has_utc_offset_min = 1;
		reason[0] = '\0';
		ck_assert_msg((ss_validate_record(r, STORE, t, reason, sizeof reason) == 0)
			== cases[i].ok, "%s at %+d min: %s", cases[i].case_no, cases[i].offset_min,
			reason[0] ? reason : "accepted");
		storesync__record__free_unpacked(r, NULL);
	}
	/* The November case answered on 2026-12-03 (+ 28 days). */
	snprintf(patch, sizeof patch, "{\"time_ms\":%lld,\"case_no\":\"S001-202611-1\"}",
		(long long)(t + 28 * 86400000LL));
	{
		Storesync__Record *r = patched(PROGRESS, patch);

		ck_assert_int_eq(ss_validate_record(r, STORE, t + 28 * 86400000LL, reason,
			sizeof reason), 0);
		storesync__record__free_unpacked(r, NULL);
	}
}
END_TEST

START_TEST(store_id_format)
{
	ck_assert_int_eq(ss_validate_store_id("S001"), 0);
	ck_assert_int_eq(ss_validate_store_id("north_7"), 0);
	ck_assert_int_eq(ss_validate_store_id("abcdefghijklmnopqrstuvwxyz012345"), 0);
	ck_assert_int_eq(ss_validate_store_id(NULL), -1);
	ck_assert_int_eq(ss_validate_store_id(""), -1);
	ck_assert_int_eq(ss_validate_store_id("S-1"), -1);
	ck_assert_int_eq(ss_validate_store_id("S 1"), -1);
	ck_assert_int_eq(ss_validate_store_id("abcdefghijklmnopqrstuvwxyz0123456"), -1);
}
END_TEST

#ifdef SS_SOURCE_DIR
/* Every example line in docs/records.md is a valid record for store S001,
 * and there is one of each kind. */
START_TEST(documented_examples_pass)
{
	FILE *f = fopen(SS_SOURCE_DIR "/docs/records.md", "r");
	char line[4096], err[256];
	int seen[8] = { 0 };

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		Storesync__Record *r;
		json_t *j;

		if (strncmp(line, "{\"type\"", 7) != 0)
			continue;
		j = load(line);
		r = ss_json_to_record(j, err, sizeof err);
		json_decref(j);
		ck_assert_msg(r != NULL, "%s in %s", err, line);
		for (int k = 0; k < 8; k++)
			seen[k] += strcmp(ss_record_type_name(r->body_case), type_names[k]) == 0;
		assert_accepted(r);
	}
	fclose(f);
	for (int k = 0; k < 8; k++)
		ck_assert_msg(seen[k] == 1, "%d examples of %s", seen[k], type_names[k]);
}
END_TEST
#endif

/* Money and quantities have business ceilings, so the hub's sums of
 * millions of records cannot overflow int64. */
START_TEST(amounts_and_quantities_bounded)
{
	assert_accepted(patched(PAYMENT, "{\"amount_fen\":10000000000000}"));
	assert_refused(PAYMENT, patched(PAYMENT, "{\"amount_fen\":10000000000001}"),
		"amount_fen is beyond");
	assert_refused(SALE, patched(SALE, "{\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":1,"
		"\"unit_price_fen\":4611686018427387904}],\"total_fen\":4611686018427387904}"),
		"unit_price_fen is beyond");
	assert_refused(INVENTORY, patched(INVENTORY, "{\"kind\":\"adjustment\","
		"\"quantity\":-1000000001,\"reason\":\"lost\"}"), "quantity is beyond");
}
END_TEST

/* A record too big for a batch would wedge its store's stream: refused. */
START_TEST(record_larger_than_a_mebibyte_refused)
{
	Storesync__Record *r = patched(COMPLAINT, "{}");
	char *text = malloc(SS_MAX_RECORD_BYTES + 1);

	memset(text, 'x', SS_MAX_RECORD_BYTES);
	text[SS_MAX_RECORD_BYTES] = '\0';
	free(r->complaint->description);
	r->complaint->description = text;
	assert_refused(COMPLAINT, r, "larger than");
}
END_TEST

/* Text reaches operators as JSON: every string must be valid UTF-8,
 * nested ones (a line's SKU aside) included. */
START_TEST(text_must_be_utf8)
{
	Storesync__Record *r = patched(COMPLAINT, "{\"description\":\"\\u6346\\u7ed1 ok\"}");

	assert_accepted(r);
	r = patched(COMPLAINT, "{}");
	free(r->complaint->description);
	r->complaint->description = strdup("door \xff\xfe broken");
	assert_refused(COMPLAINT, r, "description is not valid UTF-8");
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *kinds = tcase_create("kinds");
	TCase *rules = tcase_create("rules");

	tcase_add_loop_test(kinds, valid_example_of_each_kind_passes, 0, 8);
	tcase_add_test(kinds, record_without_body_refused);
	tcase_add_test(rules, amounts_and_quantities_bounded);
	tcase_add_test(rules, text_must_be_utf8);
	tcase_add_test(rules, record_larger_than_a_mebibyte_refused);
#ifdef SS_SOURCE_DIR
	tcase_add_test(kinds, documented_examples_pass);
#endif
	tcase_add_loop_test(rules, each_rule_judged, 0, N_VARIATIONS);
	tcase_add_test(rules, time_in_the_future_refused);
	tcase_add_test(rules, hub_needs_recorded_ms_in_range);
	tcase_add_test(rules, identifiers_hold_at_most_64_bytes);
	tcase_add_test(rules, at_most_1000_lines);
	tcase_add_test(rules, unknown_enum_numbers_refused);
	tcase_add_test(rules, store_id_checked_before_case_numbers);
	tcase_add_test(rules, sku_format);
	tcase_add_test(rules, store_id_format);
	tcase_add_test(rules, case_month_is_store_local);
	suite_add_tcase(s, kinds);
	suite_add_tcase(s, rules);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
