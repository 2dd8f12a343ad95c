/* ss_bizkey: what makes two records the same business record. Every record
 * kind has a key within its store; two records with one key are the same
 * record when their content hashes are equal, and a conflict otherwise.
 * The agent checks this at submit, the hub again when it applies a record
 * (a reinstalled store has a new epoch and an empty agent index, but the
 * hub still holds its keys), so both must compute key and hash alike: this
 * file is the only place that does.
 *
 * Invariant: the hash covers exactly what the till sent. seq, recorded_ms
 * and utc_offset_min are the agent's stamps and are cleared before packing,
 * so a record resubmitted later (another seq, another acceptance time, a
 * daylight saving change) hashes the same. */
#include "ss_bizkey.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACK_ON_STACK 4096u

int ss_bizkey_of(const Storesync__Record *r, struct ss_bizkey *k)
{
	const char *id = NULL, *label = NULL;
	size_t n;

	k->step = 0;
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE: id = r->sale->receipt_no; label = "receipt"; break;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		id = r->contract_sale->contract_no; label = "contract"; break;
	case STORESYNC__RECORD__BODY_PAYMENT: id = r->payment->payment_no; label = "payment"; break;
	case STORESYNC__RECORD__BODY_REFUND: id = r->refund->refund_no; label = "refund"; break;
	case STORESYNC__RECORD__BODY_COMPLAINT: id = r->complaint->case_no; label = "case"; break;
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		id = r->complaint_progress->case_no;
		label = "case";
		k->step = r->complaint_progress->step;
		break;
	case STORESYNC__RECORD__BODY_INVENTORY: id = r->inventory->move_no; label = "move"; break;
	case STORESYNC__RECORD__BODY_REPLENISHMENT:
		id = r->replenishment->request_no; label = "request"; break;
	default: break;
	}
	if (!id || (n = strlen(id)) == 0 || n > SS_BIZKEY_ID_MAX)
		return -1;
	k->bytes[0] = (uint8_t)r->body_case;
	memcpy(k->bytes + 1, id, n);
	k->len = n + 1;
	if (k->step) {
		k->bytes[k->len++] = '\0';
		k->bytes[k->len++] = (uint8_t)k->step;
	}
	k->id = id;
	k->label = label;
	return 0;
}

int ss_bizkey_hash(const Storesync__Record *r, uint8_t hash[SS_BIZKEY_HASH_BYTES])
{
	Storesync__Record copy = *r;
	uint8_t stack[PACK_ON_STACK], *buf = stack;
	size_t n;

	/* Safe to call from any thread, any number of times (libsodium). */
	if (sodium_init() < 0)
		return -1;
	/* A shallow copy with the stamps cleared packs what the till sent. */
	copy.has_seq = copy.has_recorded_ms = copy.has_utc_offset_min = 0;
	copy.seq = 0;
	copy.recorded_ms = 0;
	copy.utc_offset_min = 0;
	n = storesync__record__get_packed_size(&copy);
	if (n > sizeof stack && !(buf = malloc(n)))
		return -1;
	storesync__record__pack(&copy, buf);
	crypto_generichash(hash, SS_BIZKEY_HASH_BYTES, buf, n, NULL, 0);
	if (buf != stack)
		free(buf);
	return 0;
}

/* protobuf-c packs a message's fields in the order of their numbers, each
 * set optional one as a one-byte tag (numbers 1 to 15) and its value, then
 * any unknown fields: r's packing is seq (1), recorded_ms (2), time_ms (3),
 * utc_offset_min (4, zigzag), the body, the rest. Leaving out fields 1, 2
 * and 4 gives exactly the packing of the stamp-free copy ss_bizkey_hash
 * hashes (test_business_keys compares the two). */
int ss_bizkey_hash_packed(const Storesync__Record *r, const uint8_t *buf, size_t n,
	uint8_t hash[SS_BIZKEY_HASH_BYTES])
{
	size_t stamps = 0, time = 0, offset = 0;
	crypto_generichash_state st;

	if (sodium_init() < 0)
		return -1;
	if (r->has_seq)
		stamps += 1 + ss_proto_varint_size(r->seq);
	if (r->has_recorded_ms)
		stamps += 1 + ss_proto_varint_size((uint64_t)r->recorded_ms);
	if (r->has_time_ms)
		time = 1 + ss_proto_varint_size((uint64_t)r->time_ms);
	if (r->has_utc_offset_min)
		offset = 1 + ss_proto_varint_size(((uint32_t)r->utc_offset_min << 1)
			^ (uint32_t)(r->utc_offset_min >> 31));
	if (stamps + time + offset > n || (time && buf[stamps] != 3 << 3)
		|| (offset && buf[stamps + time] != 4 << 3))
		return -1;
	crypto_generichash_init(&st, NULL, 0, SS_BIZKEY_HASH_BYTES);
	crypto_generichash_update(&st, buf + stamps, time);
	crypto_generichash_update(&st, buf + stamps + time + offset, n - stamps - time - offset);
	crypto_generichash_final(&st, hash, SS_BIZKEY_HASH_BYTES);
	return 0;
}

/* A step as tills write it: STEP_RESPONDED is "responded". */
static void step_name(int step, char *buf, size_t len)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&storesync__progress_step__descriptor, step);
	const char *name = v ? strchr(v->name, '_') : NULL;
	size_t i = 0;

	for (name = name ? name + 1 : "?"; name[i] && i + 1 < len; i++)
		buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	buf[i] = '\0';
}

void ss_bizkey_text(const struct ss_bizkey *k, char *buf, size_t len)
{
	char step[32];

	if (k->step) {
		step_name(k->step, step, sizeof step);
		snprintf(buf, len, "%s %s step %s", k->label, k->id, step);
	} else {
		snprintf(buf, len, "%s %s", k->label, k->id);
	}
}
