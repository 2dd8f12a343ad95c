/* test_json: the JSON Lines edge. Every record kind survives
 * JSON -> Record -> wire bytes -> Record -> JSON unchanged, and every kind of
 * bad input is refused with a reason that names the field at fault. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_json.h"
#include "ss_record.h"

/* One complete line of each kind, with every field the kind has. */
static const char *const examples[] = {
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

static const Storesync__Record__BodyCase example_bodies[] = {
	STORESYNC__RECORD__BODY_SALE, STORESYNC__RECORD__BODY_CONTRACT_SALE,
	STORESYNC__RECORD__BODY_PAYMENT, STORESYNC__RECORD__BODY_REFUND,
	STORESYNC__RECORD__BODY_COMPLAINT, STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS,
	STORESYNC__RECORD__BODY_INVENTORY, STORESYNC__RECORD__BODY_REPLENISHMENT,
};

#define N_EXAMPLES ((int)(sizeof examples / sizeof examples[0]))

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
	return j;
}

static Storesync__Record *record_from(const char *text, char *err, size_t errlen)
{
	json_t *j = load(text);
	Storesync__Record *r = ss_json_to_record(j, err, errlen);

	json_decref(j);
	return r;
}

/* Packs r as the agent stores and ships it, and reads it back. */
static Storesync__Record *through_wire(const Storesync__Record *r)
{
	size_t len = storesync__record__get_packed_size(r);
	uint8_t *buf = malloc(len ? len : 1);
	Storesync__Record *back;

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(storesync__record__pack(r, buf), len);
	back = storesync__record__unpack(NULL, len, buf);
	free(buf);
	ck_assert_ptr_nonnull(back);
	return back;
}

START_TEST(each_kind_round_trips)
{
	char err[256] = "";
	json_t *in = load(examples[_i]);
	Storesync__Record *r = ss_json_to_record(in, err, sizeof err);
	Storesync__Record *back;
	json_t *out;

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(r->body_case, example_bodies[_i]);
	ck_assert_int_eq(r->time_ms, 1793932200000LL);
	back = through_wire(r);
	out = ss_json_from_record(back);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(json_equal(in, out), "round trip changed %s", examples[_i]);
	json_decref(in);
	json_decref(out);
	storesync__record__free_unpacked(r, NULL);
	storesync__record__free_unpacked(back, NULL);
}
END_TEST

START_TEST(sale_fields_land_in_the_body)
{
	char err[256] = "";
	Storesync__Record *r = record_from(examples[0], err, sizeof err);

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_str_eq(r->sale->receipt_no, "R-0001");
	ck_assert_uint_eq(r->sale->n_lines, 2);
	ck_assert_str_eq(r->sale->lines[1]->sku, "CUSHION-01");
	ck_assert_int_eq(r->sale->lines[1]->quantity, 2);
	ck_assert(r->sale->lines[0]->has_discount_fen);
	ck_assert(!r->sale->lines[1]->has_discount_fen);
	ck_assert(r->sale->has_total_fen);
	ck_assert_int_eq(r->sale->total_fen, 465700);
	ck_assert(r->sale->has_payment_method);
	ck_assert_int_eq(r->sale->payment_method, STORESYNC__PAYMENT_METHOD__PAY_ON_ACCOUNT);
	ck_assert(!r->has_seq && !r->has_recorded_ms);
	ck_assert_int_eq(ss_record_amount_fen(r), 465700);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

START_TEST(type_names_match_body_fields)
{
	ck_assert_str_eq(ss_record_type_name(STORESYNC__RECORD__BODY_SALE), "sale");
	ck_assert_str_eq(ss_record_type_name(STORESYNC__RECORD__BODY_CONTRACT_SALE), "contract_sale");
	ck_assert_str_eq(ss_record_type_name(STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS),
		"complaint_progress");
	ck_assert_str_eq(ss_record_type_name(STORESYNC__RECORD__BODY_REPLENISHMENT), "replenishment");
	ck_assert_ptr_null(ss_record_type_name(STORESYNC__RECORD__BODY__NOT_SET));
}
END_TEST

/* The sign of each kind's money, as the hub sums it into amount_fen. */
START_TEST(amount_follows_the_money)
{
	static const int64_t want_fen[] = { 465700, 1000000, 500000, -12900, 0, -5000, 0, 0 };
	char err[256] = "";
	Storesync__Record *r = record_from(examples[_i], err, sizeof err);

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(ss_record_amount_fen(r), want_fen[_i]);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

START_TEST(enum_full_name_accepted_short_name_printed)
{
	char err[256] = "";
	Storesync__Record *r = record_from("{\"type\":\"payment\",\"time_ms\":1,\"account\":\"A\","
		"\"amount_fen\":1,\"method\":\"PAY_CARD\"}", err, sizeof err);
	json_t *out;

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(r->payment->method, STORESYNC__PAYMENT_METHOD__PAY_CARD);
	out = ss_json_from_record(r);
	ck_assert_str_eq(json_string_value(json_object_get(out, "method")), "card");
	json_decref(out);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

START_TEST(null_means_not_set)
{
	char err[256] = "";
	Storesync__Record *r = record_from("{\"type\":\"sale\",\"time_ms\":1,\"customer\":null,"
		"\"total_fen\":null,\"lines\":null}", err, sizeof err);

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_ptr_null(r->sale->customer);
	ck_assert(!r->sale->has_total_fen);
	ck_assert_uint_eq(r->sale->n_lines, 0);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

/* Agent-set fields are shown on output but are never accepted as input. */
START_TEST(agent_fields_printed_not_read)
{
	char err[256] = "";
	Storesync__Record *r = record_from(examples[2], err, sizeof err);
	json_t *out;

	ck_assert_msg(r != NULL, "%s", err);
	r->has_seq = 1;
	r->seq = 7;
	r->has_recorded_ms = 1;
	r->recorded_ms = 1793932201000;
	out = ss_json_from_record(r);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "seq")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "recorded_ms")), 1793932201000);
	storesync__record__free_unpacked(r, NULL);
	ck_assert_ptr_null(ss_json_to_record(out, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "is set by the agent"));
	json_decref(out);
}
END_TEST

START_TEST(invalid_utf8_from_the_wire_is_printable)
{
	char err[256] = "";
	Storesync__Record *r = record_from(examples[2], err, sizeof err);
	json_t *out;

	ck_assert_msg(r != NULL, "%s", err);
	free(r->payment->payment_no);
	r->payment->payment_no = strdup("P\xff" "1");
	out = ss_json_from_record(r);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(json_string_value(json_object_get(out, "payment_no")), "P?1");
	json_decref(out);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

/* r as text both ways: ss_json_record_text and jansson's dump of the tree. */
static void expect_same_text(const Storesync__Record *r)
{
	struct ss_json_text t = { 0 };
	json_t *tree = ss_json_from_record(r);
	char *want = json_dumps(tree, JSON_COMPACT);

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(ss_json_record_text(r, &t), 0);
	ck_assert_str_eq(t.data, want);
	ck_assert_uint_eq(t.len, strlen(want));
	free(want);
	json_decref(tree);
	free(t.data);
}

START_TEST(text_is_what_jansson_dumps)
{
	char err[256] = "";
	Storesync__Record *r = record_from(examples[_i], err, sizeof err);

	ck_assert_msg(r != NULL, "%s", err);
	expect_same_text(r);
	/* With the agent's stamps, seq past int64 (a string) and a negative time. */
	r->has_seq = 1;
	r->seq = UINT64_MAX;
	r->has_recorded_ms = 1;
	r->recorded_ms = -1793932201000;
	expect_same_text(r);
	r->seq = 0;
	r->time_ms = INT64_MIN;
	expect_same_text(r);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

/* Strings that need escaping, non-ASCII and invalid UTF-8, and an enum value
 * from a newer peer: each in the text exactly as jansson has it. */
START_TEST(text_of_hard_strings_and_values)
{
	static const char *const strings[] = { "", "a\"b", "back\\slash", "tab\there",
		"nl\ncr\r", "\x01\x1f", "\x7f", "/slash/", "\xe6\xb2\x99\xe5\x8f\x91 sofa",
		"P\xff" "1", "\xc3", "\xf0\x9f\x98\x80" };
	char err[256] = "";
	Storesync__Record *r = record_from(examples[0], err, sizeof err);

	ck_assert_msg(r != NULL, "%s", err);
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(r->sale->cashier);
		r->sale->cashier = strdup(strings[i]);
		free(r->sale->lines[0]->sku);
		r->sale->lines[0]->sku = strdup(strings[i]);
		expect_same_text(r);
	}
	r->sale->payment_method = (Storesync__PaymentMethod)99;
	expect_same_text(r);
	storesync__record__free_unpacked(r, NULL);
}
END_TEST

struct bad_line {
	const char *json;
	const char *want;  /* expected in the reason */
};

static const struct bad_line bad_records[] = {
	{ "[1,2]", "expected a JSON object" },
	{ "{\"time_ms\":1,\"receipt_no\":\"R1\"}", "missing field \"type\"" },
	{ "{\"type\":3,\"time_ms\":1}", "field \"type\": expected string" },
	{ "{\"type\":\"invoice\",\"time_ms\":1}", "field \"type\": unknown record type" },
	{ "{\"type\":\"time_ms\",\"time_ms\":1}", "field \"type\": unknown record type" },
	{ "{\"type\":\"sale\",\"seq\":4}", "field \"seq\" is set by the agent" },
	{ "{\"type\":\"sale\",\"recorded_ms\":4}", "field \"recorded_ms\" is set by the agent" },
	{ "{\"type\":\"sale\",\"receipt\":\"R1\"}", "unknown field \"receipt\"" },
	{ "{\"type\":\"sale\",\"amount_fen\":5}", "unknown field \"amount_fen\"" },
	{ "{\"type\":\"sale\",\"payment\":{}}", "unknown field \"payment\"" },
	{ "{\"type\":\"sale\",\"lines\":[{\"sku\":\"A\",\"colour\":\"red\"}]}",
		"unknown field \"lines[0].colour\"" },
	{ "{\"type\":\"sale\",\"time_ms\":\"1793932200000\"}", "field \"time_ms\": expected integer" },
	{ "{\"type\":\"sale\",\"time_ms\":1793932200000.5}", "field \"time_ms\": expected integer" },
	{ "{\"type\":\"sale\",\"total_fen\":12.0}", "field \"total_fen\": expected integer" },
	{ "{\"type\":\"sale\",\"total_fen\":1e3}", "field \"total_fen\": expected integer" },
	{ "{\"type\":\"sale\",\"total_fen\":true}", "field \"total_fen\": expected integer" },
	{ "{\"type\":\"sale\",\"lines\":[{\"sku\":\"A\",\"quantity\":1},{\"quantity\":\"2\"}]}",
		"field \"lines[1].quantity\": expected integer" },
	{ "{\"type\":\"sale\",\"receipt_no\":5}", "field \"receipt_no\": expected string" },
	{ "{\"type\":\"sale\",\"receipt_no\":[\"R1\"]}", "field \"receipt_no\": expected string" },
	{ "{\"type\":\"sale\",\"lines\":{\"sku\":\"A\"}}", "field \"lines\": expected array" },
	{ "{\"type\":\"sale\",\"lines\":[\"A\"]}", "field \"lines[0]\": expected object" },
	{ "{\"type\":\"sale\",\"payment_method\":\"cheque\"}",
		"field \"payment_method\": unknown value (expected one of cash, card, mobile, on_account)" },
	{ "{\"type\":\"sale\",\"payment_method\":\"Card\"}", "field \"payment_method\": unknown value" },
	{ "{\"type\":\"sale\",\"payment_method\":2}", "field \"payment_method\": expected string" },
	{ "{\"type\":\"inventory\",\"kind\":\"stock_take\"}", "field \"kind\": unknown value" },
	{ "{\"type\":\"complaint\",\"severity\":\"urgent\"}", "field \"severity\": unknown value" },
};

#define N_BAD_RECORDS ((int)(sizeof bad_records / sizeof bad_records[0]))

START_TEST(bad_record_refused_with_reason)
{
	char err[256] = "";
	Storesync__Record *r = record_from(bad_records[_i].json, err, sizeof err);

	ck_assert_msg(r == NULL, "accepted %s", bad_records[_i].json);
	ck_assert_msg(strstr(err, bad_records[_i].want) != NULL,
		"reason \"%s\" lacks \"%s\"", err, bad_records[_i].want);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(control_characters_in_keys_stay_on_one_line)
{
	char err[256] = "";
	Storesync__Record *r = record_from("{\"type\":\"sale\",\"a\\nb\":1}", err, sizeof err);

	ck_assert_ptr_null(r);
	ck_assert_str_eq(err, "unknown field \"a?b\"");
}
END_TEST

/* jansson refuses \u0000 unless a caller loads with JSON_ALLOW_NUL; a C
 * string would silently end at it, so ss_json refuses it too. */
START_TEST(nul_inside_a_string_refused)
{
	char err[256] = "";
	json_t *j = json_pack("{s:s, s:s%}", "type", "sale", "receipt_no", "R\0" "1", (size_t)3);
	Storesync__Record *r;

	ck_assert_ptr_nonnull(j);
	r = ss_json_to_record(j, err, sizeof err);
	json_decref(j);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(err, "field \"receipt_no\": string contains a NUL character");
}
END_TEST

/* jansson itself refuses integers beyond int64 when it parses a line, so
 * storectl reports those before ss_json sees them. */
START_TEST(integer_beyond_int64_refused_by_parser)
{
	json_error_t jerr;

	ck_assert_ptr_null(json_loads("{\"total_fen\":9223372036854775808}", 0, &jerr));
	ck_assert_ptr_nonnull(strstr(jerr.text, "too big"));
}
END_TEST

/* Fills a fresh message of descriptor d from text; returns it or NULL. */
static ProtobufCMessage *message_from(const ProtobufCMessageDescriptor *d, const char *text,
	char *err, size_t errlen)
{
	ProtobufCMessage *m = malloc(d->sizeof_message);
	json_t *j = load(text);
	int rc;

	ck_assert_ptr_nonnull(m);
	protobuf_c_message_init(d, m);
	rc = ss_json_to_message(j, m, err, errlen);
	json_decref(j);
	if (rc == 0)
		return m;
	protobuf_c_message_free_unpacked(m, NULL);
	return NULL;
}

static const struct bad_line bad_messages[] = {
	{ "{\"proto_version\":4294967296}", "field \"proto_version\": integer out of range" },
	{ "{\"proto_version\":-1}", "field \"proto_version\": integer out of range" },
	{ "{\"hello\":{\"epoch\":-1}}", "field \"hello.epoch\": integer out of range" },
	{ "{\"hello\":{\"epoch\":\"18446744073709551616\"}}", "field \"hello.epoch\": integer out of range" },
	{ "{\"hello\":{\"epoch\":\"12x\"}}", "field \"hello.epoch\": expected integer" },
	{ "{\"hello\":{\"epoch\":\"-5\"}}", "field \"hello.epoch\": expected integer" },
	{ "{\"hello\":{\"epoch\":1.5}}", "field \"hello.epoch\": expected integer" },
	{ "{\"hello\":{},\"ack\":{}}", "only one of \"hello\" and \"ack\" may be set" },
	{ "{\"error\":{\"code\":\"ERR_NOPE\"}}", "field \"error.code\": unknown value" },
	{ "{\"hello\":[]}", "field \"hello\": expected object" },
};

#define N_BAD_MESSAGES ((int)(sizeof bad_messages / sizeof bad_messages[0]))

START_TEST(bad_message_refused_with_reason)
{
	char err[256] = "";
	ProtobufCMessage *m = message_from(&storesync__link_message__descriptor,
		bad_messages[_i].json, err, sizeof err);

	ck_assert_msg(m == NULL, "accepted %s", bad_messages[_i].json);
	ck_assert_msg(strstr(err, bad_messages[_i].want) != NULL,
		"reason \"%s\" lacks \"%s\"", err, bad_messages[_i].want);
}
END_TEST

static void assert_message_round_trips(const ProtobufCMessageDescriptor *d, const char *text)
{
	char err[256] = "";
	ProtobufCMessage *m = message_from(d, text, err, sizeof err);
	json_t *in = load(text), *out;

	ck_assert_msg(m != NULL, "%s", err);
	out = ss_json_from_message(m);
	ck_assert_msg(json_equal(in, out), "round trip changed %s", text);
	json_decref(in);
	json_decref(out);
	protobuf_c_message_free_unpacked(m, NULL);
}

START_TEST(oneof_and_uint64_messages_round_trip)
{
	assert_message_round_trips(&storesync__link_message__descriptor,
		"{\"proto_version\":1,\"hello\":{\"store_id\":\"S001\",\"epoch\":\"18446744073709551615\","
		"\"agent_version\":\"0.1.0\",\"last_seq\":9223372036854775807}}");
	assert_message_round_trips(&storesync__link_message__descriptor,
		"{\"error\":{\"code\":\"need_hello\",\"reason\":\"no session\"}}");
}
END_TEST

START_TEST(repeated_strings_and_messages_round_trip)
{
	assert_message_round_trips(&storesync__query_reply__descriptor,
		"{\"columns\":[\"store\",\"records\"],\"rows\":[{\"cells\":[{\"s\":\"S001\"},{\"i\":-5}]},"
		"{\"cells\":[{\"s\":\"S002\"},{\"i\":9223372036854775807}]}]}");
}
END_TEST

START_TEST(uint64_beyond_int64_is_a_string)
{
	char err[256] = "";
	Storesync__Hello *h = (Storesync__Hello *)message_from(&storesync__hello__descriptor,
		"{\"epoch\":\"18446744073709551615\",\"last_seq\":3}", err, sizeof err);
	json_t *out;

	ck_assert_msg(h != NULL, "%s", err);
	ck_assert(h->has_epoch && h->epoch == UINT64_MAX);
	ck_assert(h->has_last_seq && h->last_seq == 3);
	out = ss_json_from_message(&h->base);
	ck_assert_str_eq(json_string_value(json_object_get(out, "epoch")), "18446744073709551615");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "last_seq")), 3);
	json_decref(out);
	storesync__hello__free_unpacked(h, NULL);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *ok = tcase_create("accepted");
	TCase *bad = tcase_create("refused");

	tcase_add_loop_test(ok, each_kind_round_trips, 0, N_EXAMPLES);
	tcase_add_loop_test(ok, amount_follows_the_money, 0, N_EXAMPLES);
	tcase_add_test(ok, sale_fields_land_in_the_body);
	tcase_add_test(ok, type_names_match_body_fields);
	tcase_add_test(ok, enum_full_name_accepted_short_name_printed);
	tcase_add_test(ok, null_means_not_set);
	tcase_add_test(ok, agent_fields_printed_not_read);
	tcase_add_test(ok, invalid_utf8_from_the_wire_is_printable);
	tcase_add_test(ok, oneof_and_uint64_messages_round_trip);
	tcase_add_test(ok, repeated_strings_and_messages_round_trip);
	tcase_add_test(ok, uint64_beyond_int64_is_a_string);
	tcase_add_loop_test(ok, text_is_what_jansson_dumps, 0, N_EXAMPLES);
	tcase_add_test(ok, text_of_hard_strings_and_values);
	tcase_add_loop_test(bad, bad_record_refused_with_reason, 0, N_BAD_RECORDS);
	tcase_add_loop_test(bad, bad_message_refused_with_reason, 0, N_BAD_MESSAGES);
	tcase_add_test(bad, control_characters_in_keys_stay_on_one_line);
	tcase_add_test(bad, nul_inside_a_string_refused);
	tcase_add_test(bad, integer_beyond_int64_refused_by_parser);
	suite_add_tcase(s, ok);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
