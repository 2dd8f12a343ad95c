/* fuzz_json_record: one JSON Lines record as storectl reads it
 * (ss_json_to_record), then judged as the agent judges it (ss_validate).
 * Invariants beyond "no crash":
 *  - a record read from JSON passes the gate every peer's message passes
 *    (no string with a NUL, within the budget) and survives pack and
 *    unpack byte for byte;
 *  - printed back as JSON (ss_json_from_record) it reads as the same record,
 *    and the text the exporter writes (ss_json_record_text) is exactly
 *    what jansson dumps of that JSON;
 *  - the verdict does not change across the round trip. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "ss_json.h"
#include "ss_validate.h"

#define NOW_MS 1793937600000LL   /* fixed: the verdict must not depend on the clock */

static uint8_t *packed(const Storesync__Record *r, size_t *len)
{
	uint8_t *buf = ss_proto_pack(&r->base, len);

	FZ_CHECK(buf != NULL, "pack");
	return buf;
}

static Storesync__Record *through_the_gate(const uint8_t *buf, size_t len)
{
	Storesync__Record *r;
	enum ss_proto_verdict v = ss_proto_unpack_limited(&storesync__record__descriptor, buf, len,
		&ss_limits_link, (ProtobufCMessage **)&r, NULL);

	FZ_CHECK(v == SS_PROTO_OK, "a record from JSON is refused at the gate: %s",
		ss_proto_verdict_text(v));
	return r;
}

/* ss_json_record_text writes what jansson dumps of the tree, byte for byte. */
static void same_text(const Storesync__Record *r, const json_t *j)
{
	struct ss_json_text t = { 0 };
	char *want = json_dumps(j, JSON_COMPACT);

	FZ_CHECK(want != NULL, "cannot dump the record");
	FZ_CHECK(ss_json_record_text(r, &t) == 0, "ss_json_record_text failed");
	FZ_CHECK(t.len == strlen(want) && strcmp(t.data, want) == 0,
		"ss_json_record_text wrote %s, jansson %s", t.data, want);
	free(want);
	free(t.data);
}

static Storesync__Record *through_json(const Storesync__Record *r)
{
	json_t *j = ss_json_from_record(r);
	char err[256];
	Storesync__Record *back;

	FZ_CHECK(j != NULL, "cannot print the record");
	same_text(r, j);
	back = ss_json_to_record(j, err, sizeof err);
	FZ_CHECK(back != NULL, "its own JSON does not read back: %s", err);
	json_decref(j);
	return back;
}

static void same(const Storesync__Record *a, const Storesync__Record *b, const char *how)
{
	size_t la, lb;
	uint8_t *pa = packed(a, &la), *pb = packed(b, &lb);

	FZ_CHECK(la == lb && memcmp(pa, pb, la) == 0, "the record changed %s", how);
	free(pa);
	free(pb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	Storesync__Record *r, *gate, *json;
	char err[256], why[256];
	int verdict;
	size_t len;
	uint8_t *buf;

	if (!j)
		return 0;
	fz_init();
	r = ss_json_to_record(j, err, sizeof err);
	json_decref(j);
	if (!r)
		return 0;
	verdict = ss_validate_record(r, "S1", NOW_MS, why, sizeof why);
	buf = packed(r, &len);
	gate = through_the_gate(buf, len);
	same(r, gate, "through pack and unpack");
	json = through_json(r);
	same(r, json, "through JSON");
	FZ_CHECK(ss_validate_record(gate, "S1", NOW_MS, why, sizeof why) == verdict,
		"the verdict changed through pack and unpack");
	free(buf);
	storesync__record__free_unpacked(json, NULL);
	storesync__record__free_unpacked(gate, NULL);
	storesync__record__free_unpacked(r, NULL);
	return 0;
}
