/* ss_json: JSON <-> protobuf at the edges (storectl, hqctl, tests), using the
 * protobuf-c descriptors, so every field of the .proto is reachable by its
 * proto name and nothing is mapped by hand. The engine never sees JSON. */
#ifndef SS_JSON_H
#define SS_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "ss_proto.h"

/* Builds a Record from one JSON Lines object:
 *   {"type":"sale","time_ms":1700000000000,"receipt_no":"R1","lines":[...],...}
 * "type" selects the body (ss_record_type_name), "time_ms" is the record's,
 * every other key is a field of the body by its proto name. Enums are the
 * lower-case value name without its first word ("on_account" for
 * PAY_ON_ACCOUNT). Unknown keys, wrong JSON types and unknown enum names are
 * errors. Returns NULL with a one-line reason in err. Free the result with
 * storesync__record__free_unpacked(r, NULL). */
Storesync__Record *ss_json_to_record(const json_t *obj, char *err, size_t errlen);

/* Fills an initialised message from a JSON object by field name (the general
 * case of the above). Returns 0 or -1 with a reason. Memory it allocates is
 * freed by protobuf_c_message_free_unpacked(msg, NULL). */
int ss_json_to_message(const json_t *obj, ProtobufCMessage *msg, char *err, size_t errlen);

/* The reverse: a JSON object of msg's set fields (enums by JSON name). */
json_t *ss_json_from_message(const ProtobufCMessage *msg);

/* The JSON name of an enum value ("PAY_ON_ACCOUNT" -> "on_account") into
 * out; "" when value is not in the enum. Returns out. */
const char *ss_json_enum_name(const ProtobufCEnumDescriptor *ed, int value, char *out,
	size_t len);

/* A Record as one JSON Lines object in the format ss_json_to_record reads. */
json_t *ss_json_from_record(const Storesync__Record *r);

/* The same as text: exactly json_dumps(ss_json_from_record(r), JSON_COMPACT),
 * written into t (grown as needed, NUL-terminated, reused from one record to
 * the next; free t->data when done) without building a tree, for writers of
 * one record after another. 0, or -1 (out of memory, or a record that has
 * no JSON form). */
struct ss_json_text {
	char *data;
	size_t len, cap;
	int first;          /* no field written yet into the object open */
};

int ss_json_record_text(const Storesync__Record *r, struct ss_json_text *t);

#endif
