/* ss_json: JSON <-> protobuf-c, driven only by the message descriptors, so a
 * field added to a .proto is readable and printable without touching this file.
 *
 * Invariant: a message being filled can be freed at any moment by
 * protobuf_c_message_free_unpacked(msg, NULL). A string, sub-message or
 * array slot is written only once what it points to is complete, a presence
 * flag or oneof case is set only after its value, and a repeated field's count
 * covers only filled elements. So every error path simply returns, and the
 * owner of the top message frees whatever was built.
 *
 * JSON forms: integers are JSON integers (a uint64 above INT64_MAX, which a
 * JSON integer cannot hold here, is printed and accepted as a decimal string);
 * enums are the value name in lower case without its first word
 * ("PAY_ON_ACCOUNT" -> "on_account"), the full name is accepted too; null
 * means "not set". */
#include "ss_json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_record.h"

#define PATH_BYTES 128  /* longest field path quoted in a reason */
#define NAME_BYTES 64   /* longest JSON enum name */

static int fill_message(const json_t *obj, ProtobufCMessage *msg, const char *path,
	char *err, size_t errlen);

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* "parent.key", with control characters replaced so a reason stays one line. */
static void join_path(char *out, size_t len, const char *parent, const char *key)
{
	snprintf(out, len, "%s%s%s", parent, *parent ? "." : "", key);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* "PAY_ON_ACCOUNT" -> "on_account": the first word only keeps C constants apart. */
static void enum_json_name(const char *name, char *out, size_t len)
{
	const char *us = strchr(name, '_');
	const char *s = us ? us + 1 : name;
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

static int parse_enum(const ProtobufCEnumDescriptor *ed, const json_t *v, int *out,
	const char *path, char *err, size_t errlen)
{
	char name[NAME_BYTES], names[256] = "";
	const char *s = json_string_value(v);

	for (unsigned i = 0; s && i < ed->n_values; i++) {
		enum_json_name(ed->values[i].name, name, sizeof name);
		if (strcmp(s, name) == 0 || strcmp(s, ed->values[i].name) == 0) {
			*out = ed->values[i].value;
			return 0;
		}
	}
	for (unsigned i = 0; i < ed->n_values; i++) {
		enum_json_name(ed->values[i].name, name, sizeof name);
		size_t used = strlen(names);
		snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", name);
	}
	if (!s)
		return fail(err, errlen, "field \"%s\": expected string (one of %s)", path, names);
	return fail(err, errlen, "field \"%s\": unknown value (expected one of %s)", path, names);
}

static int parse_int(const json_t *v, json_int_t lo, json_int_t hi, json_int_t *out,
	const char *path, char *err, size_t errlen)
{
	if (!json_is_integer(v))
		return fail(err, errlen, "field \"%s\": expected integer", path);
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return fail(err, errlen, "field \"%s\": integer out of range", path);
	return 0;
}

/* A JSON integer >= 0, or a decimal string for values beyond INT64_MAX. */
static int parse_uint64(const json_t *v, uint64_t *out, const char *path,
	char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	char *end;
	json_int_t x = 0;

	if (!s) {
		if (parse_int(v, 0, INT64_MAX, &x, path, err, errlen) < 0)
			return -1;
		*out = (uint64_t)x;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return fail(err, errlen, "field \"%s\": expected integer", path);
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (*end != '\0')
		return fail(err, errlen, "field \"%s\": expected integer", path);
	if (errno == ERANGE)
		return fail(err, errlen, "field \"%s\": integer out of range", path);
	return 0;
}

static int parse_string(const json_t *v, char **slot, const char *path,
	char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	char *copy;

	if (!s)
		return fail(err, errlen, "field \"%s\": expected string", path);
	if (strlen(s) != json_string_length(v))
		return fail(err, errlen, "field \"%s\": string contains a NUL character", path);
	copy = strdup(s);
	if (!copy)
		return fail(err, errlen, "out of memory");
	*slot = copy;
	return 0;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = malloc(d->sizeof_message);

	if (m)
		protobuf_c_message_init(d, m);
	return m;
}

static int parse_message(const ProtobufCMessageDescriptor *d, const json_t *v,
	ProtobufCMessage **slot, const char *path, char *err, size_t errlen)
{
	ProtobufCMessage *sub;

	if (!json_is_object(v))
		return fail(err, errlen, "field \"%s\": expected object", path);
	sub = new_message(d);
	if (!sub)
		return fail(err, errlen, "out of memory");
	if (fill_message(v, sub, path, err, errlen) < 0) {
		protobuf_c_message_free_unpacked(sub, NULL);
		return -1;
	}
	*slot = sub;
	return 0;
}

/* Bytes one value of type t takes in a message or a repeated array; 0 when
 * the type has no JSON form here (no storesync .proto uses it). */
static size_t value_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 0;
	}
}

/* Parses v as one value of field f into slot (a member or an array element). */
static int parse_value(const ProtobufCFieldDescriptor *f, const json_t *v, void *slot,
	const char *path, char *err, size_t errlen)
{
	json_int_t x = 0;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		if (parse_int(v, INT32_MIN, INT32_MAX, &x, path, err, errlen) < 0)
			return -1;
		*(int32_t *)slot = (int32_t)x;
		return 0;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		if (parse_int(v, 0, UINT32_MAX, &x, path, err, errlen) < 0)
			return -1;
		*(uint32_t *)slot = (uint32_t)x;
		return 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		if (parse_int(v, INT64_MIN, INT64_MAX, &x, path, err, errlen) < 0)
			return -1;
		*(int64_t *)slot = x;
		return 0;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return parse_uint64(v, slot, path, err, errlen);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return fail(err, errlen, "field \"%s\": expected true or false", path);
		*(protobuf_c_boolean *)slot = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return parse_enum(f->descriptor, v, slot, path, err, errlen);
	case PROTOBUF_C_TYPE_STRING:
		return parse_string(v, slot, path, err, errlen);
	case PROTOBUF_C_TYPE_MESSAGE:
		return parse_message(f->descriptor, v, slot, path, err, errlen);
	default:
		return fail(err, errlen, "field \"%s\": type not supported in JSON", path);
	}
}

static int set_repeated(const ProtobufCFieldDescriptor *f, const json_t *v,
	ProtobufCMessage *msg, const char *path, char *err, size_t errlen)
{
	size_t n = json_array_size(v), size = value_size(f->type);
	size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
	char **arr = (char **)((char *)msg + f->offset);
	char elem[PATH_BYTES + 24];  /* room for "[index]" after a full path */

	if (!json_is_array(v))
		return fail(err, errlen, "field \"%s\": expected array", path);
	if (size == 0)
		return fail(err, errlen, "field \"%s\": type not supported in JSON", path);
	if (n == 0)
		return 0;
	*arr = calloc(n, size);
	if (!*arr)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(elem, sizeof elem, "%s[%zu]", path, i);
		if (parse_value(f, json_array_get(v, i), *arr + i * size, elem, err, errlen) < 0)
			return -1;
		(*count)++;
	}
	return 0;
}

/* A oneof member: refused when another member of the same oneof is set,
 * because both share one slot and the first would be lost. */
static int set_oneof(const ProtobufCFieldDescriptor *f, const json_t *v,
	ProtobufCMessage *msg, const char *path, char *err, size_t errlen)
{
	uint32_t *which = (uint32_t *)((char *)msg + f->quantifier_offset);
	const ProtobufCFieldDescriptor *other;

	if (*which != 0) {
		other = protobuf_c_message_descriptor_get_field(msg->descriptor, *which);
		return fail(err, errlen, "field \"%s\": only one of \"%s\" and \"%s\" may be set",
			path, other ? other->name : "?", f->name);
	}
	if (parse_value(f, v, (char *)msg + f->offset, path, err, errlen) < 0)
		return -1;
	*which = f->id;
	return 0;
}

/* Sets the field named key of msg from v; path names the parent for reasons. */
static int set_key(ProtobufCMessage *msg, const char *key, const json_t *v,
	const char *parent, char *err, size_t errlen)
{
	const ProtobufCFieldDescriptor *f;
	char path[PATH_BYTES];

	join_path(path, sizeof path, parent, key);
	f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, key);
	if (!f)
		return fail(err, errlen, "unknown field \"%s\"", path);
	if (json_is_null(v))
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return set_repeated(f, v, msg, path, err, errlen);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return set_oneof(f, v, msg, path, err, errlen);
	if (parse_value(f, v, (char *)msg + f->offset, path, err, errlen) < 0)
		return -1;
	/* proto2 strings and messages are present by a non-NULL pointer; the rest by has_. */
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
		f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
	return 0;
}

static int fill_message(const json_t *obj, ProtobufCMessage *msg, const char *path,
	char *err, size_t errlen)
{
	/* jansson's iterators take a non-const object but do not modify it. */
	json_t *o = (json_t *)obj;
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(err, errlen, "expected a JSON object");
	json_object_foreach(o, key, v)
		if (set_key(msg, key, v, path, err, errlen) < 0)
			return -1;
	return 0;
}

int ss_json_to_message(const json_t *obj, ProtobufCMessage *msg, char *err, size_t errlen)
{
	return fill_message(obj, msg, "", err, errlen);
}

/* The body field of Record named by the object's "type". */
static const ProtobufCFieldDescriptor *record_body_field(const json_t *obj,
	char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *d = &storesync__record__descriptor;
	const json_t *t = json_object_get(obj, "type");
	const ProtobufCFieldDescriptor *f;
	char names[256] = "";

	if (!t || json_is_null(t)) {
		fail(err, errlen, "missing field \"type\"");
		return NULL;
	}
	if (!json_is_string(t)) {
		fail(err, errlen, "field \"type\": expected string");
		return NULL;
	}
	f = protobuf_c_message_descriptor_get_field_by_name(d, json_string_value(t));
	if (f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return f;
	for (unsigned i = 0; i < d->n_fields; i++) {
		size_t used = strlen(names);

		if (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
				d->fields[i].name);
	}
	fail(err, errlen, "field \"type\": unknown record type (expected one of %s)", names);
	return NULL;
}

/* Record keys: "type" was used to pick the body, "time_ms" is the Record's,
 * seq and recorded_ms belong to the agent, anything else is the body's. */
static int fill_record(const json_t *obj, Storesync__Record *r, ProtobufCMessage *body,
	char *err, size_t errlen)
{
	json_t *o = (json_t *)obj;  /* see fill_message */
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		int rc = 0;

		if (strcmp(key, "type") == 0)
			continue;
		if (strcmp(key, "seq") == 0 || strcmp(key, "recorded_ms") == 0)
			return fail(err, errlen, "field \"%s\" is set by the agent", key);
		if (strcmp(key, "time_ms") == 0)
			rc = set_key(&r->base, key, v, "", err, errlen);
		else
			rc = set_key(body, key, v, "", err, errlen);
		if (rc < 0)
			return -1;
	}
	return 0;
}

Storesync__Record *ss_json_to_record(const json_t *obj, char *err, size_t errlen)
{
	const ProtobufCFieldDescriptor *bf;
	Storesync__Record *r;
	ProtobufCMessage *body;

	if (!json_is_object(obj)) {
		fail(err, errlen, "expected a JSON object");
		return NULL;
	}
	bf = record_body_field(obj, err, errlen);
	if (!bf)
		return NULL;
	r = (Storesync__Record *)new_message(&storesync__record__descriptor);
	body = new_message(bf->descriptor);
	if (!r || !body) {
		free(r);
		free(body);
		fail(err, errlen, "out of memory");
		return NULL;
	}
	/* r owns body from here: freeing r frees it. */
	*(ProtobufCMessage **)((char *)r + bf->offset) = body;
	r->body_case = (Storesync__Record__BodyCase)bf->id;
	if (fill_record(obj, r, body, err, errlen) < 0) {
		storesync__record__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

static int field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *m = (const char *)msg;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(m + f->quantifier_offset) > 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(m + f->quantifier_offset) == f->id;
	if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return 1;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(m + f->offset) != NULL;
	return *(const protobuf_c_boolean *)(m + f->quantifier_offset);
}

/* Strings from the wire are not checked for UTF-8 and jansson refuses
 * invalid UTF-8: print such a string with its non-ASCII bytes as '?'. */
static json_t *string_to_json(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

const char *ss_json_enum_name(const ProtobufCEnumDescriptor *ed, int value, char *out,
	size_t len)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, value);

	if (ev)
		enum_json_name(ev->name, out, len);
	else if (len)
		out[0] = '\0';
	return out;
}

static json_t *enum_to_json(const ProtobufCEnumDescriptor *ed, int value)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, value);
	char name[NAME_BYTES];

	if (!ev)
		return json_integer(value);  /* a value from a newer peer: show the number */
	enum_json_name(ev->name, name, sizeof name);
	return json_string(name);
}

static json_t *uint64_to_json(uint64_t x)
{
	char digits[24];

	if (x <= INT64_MAX)
		return json_integer((json_int_t)x);
	snprintf(digits, sizeof digits, "%" PRIu64, x);
	return json_string(digits);
}

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *slot)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)slot);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)slot);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)slot);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return uint64_to_json(*(const uint64_t *)slot);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)slot);
	case PROTOBUF_C_TYPE_ENUM:
		return enum_to_json(f->descriptor, *(const int *)slot);
	case PROTOBUF_C_TYPE_STRING:
		return string_to_json(*(char *const *)slot);
	case PROTOBUF_C_TYPE_MESSAGE:
		return ss_json_from_message(*(ProtobufCMessage *const *)slot);
	default:
		return NULL;
	}
}

static json_t *repeated_to_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
	const char *arr = *(char *const *)((const char *)msg + f->offset);
	size_t size = value_size(f->type);
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, value_to_json(f, arr + i * size)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Sets one field of msg into obj under its name, when the field is set.
 * 0, or -1 when it could not be added. */
static int field_into(json_t *obj, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	json_t *v;

	if (!f || !field_is_set(msg, f))
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		v = repeated_to_json(msg, f);
	else
		v = value_to_json(f, (const char *)msg + f->offset);
	/* json_object_set_new takes v even when it fails (and when v is NULL);
	 * field names are ASCII, so the key needs no UTF-8 check. */
	return json_object_set_new_nocheck(obj, f->name, v);
}

/* Every set field of msg into obj, in the order of the descriptor. */
static int fields_into(json_t *obj, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++)
		if (field_into(obj, msg, &d->fields[i]) < 0)
			return -1;
	return 0;
}

json_t *ss_json_from_message(const ProtobufCMessage *msg)
{
	json_t *obj = json_object();

	if (obj && fields_into(obj, msg) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int record_field_into(json_t *obj, const Storesync__Record *r, const char *name)
{
	return field_into(obj, &r->base,
		protobuf_c_message_descriptor_get_field_by_name(r->base.descriptor, name));
}

/* The JSON Lines form: type, time_ms, the body's fields, then the agent's
 * seq and recorded_ms; built straight into one object (the exporter makes
 * one per event). */
json_t *ss_json_from_record(const Storesync__Record *r)
{
	const char *type = ss_record_type_name(r->body_case);
	const ProtobufCFieldDescriptor *bf = type
		? protobuf_c_message_descriptor_get_field_by_name(r->base.descriptor, type) : NULL;
	json_t *out = json_object();

	if (!out)
		return NULL;
	if (type && json_object_set_new_nocheck(out, "type", json_string(type)) < 0)
		goto fail;
	if (record_field_into(out, r, "time_ms") < 0)
		goto fail;
	if (bf && field_is_set(&r->base, bf)
		&& fields_into(out, *(ProtobufCMessage *const *)((const char *)r + bf->offset)) < 0)
		goto fail;
	if (record_field_into(out, r, "seq") < 0 || record_field_into(out, r, "recorded_ms") < 0)
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- The same JSON as text, without a tree ----
 *
 * ss_json_record_text writes what json_dumps(ss_json_from_record(r),
 * JSON_COMPACT) gives, byte for byte (test_json compares the two on every
 * record kind), for writers of one record after another (hq-export): no
 * object per field to allocate, hash and free. Strings that need escaping
 * or hold non-ASCII bytes are still jansson's to encode. */

/* Room for n more bytes and the terminating NUL. */
static int text_reserve(struct ss_json_text *t, size_t n)
{
	size_t cap;
	char *grown;

	if (t->len + n + 1 <= t->cap)
		return 0;
	cap = (t->len + n + 1) * 2;
	if (!(grown = realloc(t->data, cap)))
		return -1;
	t->data = grown;
	t->cap = cap;
	return 0;
}

static int text_put(struct ss_json_text *t, const char *s, size_t n)
{
	if (text_reserve(t, n))
		return -1;
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
	return 0;
}

/* As jansson prints an integer ("%lld"); neg: a minus before u. */
static int text_digits(struct ss_json_text *t, uint64_t u, int neg)
{
	char buf[24];
	int n = 0;

	do {
		buf[sizeof buf - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		buf[sizeof buf - 1 - n++] = '-';
	return text_put(t, buf + sizeof buf - n, (size_t)n);
}

static int text_int(struct ss_json_text *t, int64_t v)
{
	return text_digits(t, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* Plain ASCII with nothing to escape goes as it is; the rest is jansson's
 * to encode (escapes, UTF-8, and string_to_json's '?' for what is not). */
static int text_string(struct ss_json_text *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	json_t *j;
	size_t n;
	int rc = -1;

	while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	if (!*p)
		return text_put(t, "\"", 1) || text_put(t, s, (size_t)(p - (const unsigned char *)s))
			|| text_put(t, "\"", 1) ? -1 : 0;
	if (!(j = string_to_json(s)))
		return -1;
	n = json_dumpb(j, NULL, 0, flags);
	if (n && text_reserve(t, n) == 0 && json_dumpb(j, t->data + t->len, n, flags) == n) {
		t->len += n;
		t->data[t->len] = '\0';
		rc = 0;
	}
	json_decref(j);
	return rc;
}

static int text_message(struct ss_json_text *t, const ProtobufCMessage *msg, int open);

static int text_value(struct ss_json_text *t, const ProtobufCFieldDescriptor *f,
	const void *slot)
{
	char name[NAME_BYTES];
	const ProtobufCEnumValue *ev;
	uint64_t u;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		return text_int(t, *(const int32_t *)slot);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return text_int(t, *(const uint32_t *)slot);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		return text_int(t, *(const int64_t *)slot);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		u = *(const uint64_t *)slot;
		if (u <= INT64_MAX)
			return text_digits(t, u, 0);
		/* as uint64_to_json: past int64, a string of its digits */
		return text_put(t, "\"", 1) || text_digits(t, u, 0) || text_put(t, "\"", 1) ? -1 : 0;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)slot ? text_put(t, "true", 4)
			: text_put(t, "false", 5);
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)slot);
		if (!ev)
			return text_int(t, *(const int *)slot);
		enum_json_name(ev->name, name, sizeof name);
		return text_string(t, name);
	case PROTOBUF_C_TYPE_STRING:
		return text_string(t, *(char *const *)slot);
	case PROTOBUF_C_TYPE_MESSAGE:
		return text_message(t, *(ProtobufCMessage *const *)slot, 1);
	default:
		return -1;   /* as value_to_json: such a record has no JSON */
	}
}

/* One field as "name":value, after a comma unless it is the object's first. */
static int text_field(struct ss_json_text *t, const ProtobufCMessage *msg,
	const ProtobufCFieldDescriptor *f, int *first)
{
	const char *m = (const char *)msg;

	if (!f || !field_is_set(msg, f))
		return 0;
	if ((!*first && text_put(t, ",", 1)) || text_string(t, f->name) || text_put(t, ":", 1))
		return -1;
	*first = 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)(m + f->quantifier_offset), size = value_size(f->type);
		const char *arr = *(char *const *)(m + f->offset);

		if (text_put(t, "[", 1))
			return -1;
		for (size_t i = 0; i < n; i++)
			if ((i && text_put(t, ",", 1)) || text_value(t, f, arr + i * size))
				return -1;
		return text_put(t, "]", 1);
	}
	return text_value(t, f, m + f->offset);
}

/* msg's fields; inside braces of its own when open, else into the object
 * the caller has open (the record's body). */
static int text_message(struct ss_json_text *t, const ProtobufCMessage *msg, int open)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	int first = 1, *fp = open ? &first : &t->first;

	if (open && text_put(t, "{", 1))
		return -1;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (text_field(t, msg, &d->fields[i], fp))
			return -1;
	return open ? text_put(t, "}", 1) : 0;
}

static const ProtobufCFieldDescriptor *record_field(const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(&storesync__record__descriptor, name);
}

int ss_json_record_text(const Storesync__Record *r, struct ss_json_text *t)
{
	const char *type = ss_record_type_name(r->body_case);
	const ProtobufCFieldDescriptor *bf = type ? record_field(type) : NULL;

	t->len = 0;
	t->first = 1;
	if (text_put(t, "{", 1))
		return -1;
	if (type && (text_put(t, "\"type\":", 7) || text_string(t, type)))
		return -1;
	t->first = !type;
	if (text_field(t, &r->base, record_field("time_ms"), &t->first))
		return -1;
	if (bf && field_is_set(&r->base, bf)
		&& text_message(t, *(ProtobufCMessage *const *)((const char *)r + bf->offset), 0))
		return -1;
	if (text_field(t, &r->base, record_field("seq"), &t->first)
		|| text_field(t, &r->base, record_field("recorded_ms"), &t->first))
		return -1;
	return text_put(t, "}", 1);
}
