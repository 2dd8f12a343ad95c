/* ss_bizkey: a record's business key and content hash, the one definition
 * the agent (store-agent/agent_keys.c) and the hub (hq-hub/hub_keys.c) both
 * judge retries by (guarantee 8). */
#ifndef SS_BIZKEY_H
#define SS_BIZKEY_H

#include <stddef.h>
#include <stdint.h>

#include "ss_proto.h"

#define SS_BIZKEY_ID_MAX 64
#define SS_BIZKEY_MAX (1 + SS_BIZKEY_ID_MAX + 2)
#define SS_BIZKEY_HASH_BYTES 32

struct ss_bizkey {
	uint8_t bytes[SS_BIZKEY_MAX]; /* kind byte, the key text, '\0' step for progress */
	size_t len;
	const char *label;            /* "receipt", "case"...: for messages */
	const char *id;               /* points into the record */
	int step;                     /* complaint progress step, 0 otherwise */
};

/* The business key of a validated record: receipt_no (sale), contract_no,
 * payment_no, refund_no, case_no (complaint), case_no + step (progress),
 * move_no (inventory), request_no (replenishment). 0, or -1 when it has
 * none. The key points into r: it lives as long as r. */
int ss_bizkey_of(const Storesync__Record *r, struct ss_bizkey *k);
/* BLAKE2b-256 of r packed with seq, recorded_ms and utc_offset_min cleared:
 * what the till sent, nothing an agent or the hub added. 0, or -1 when
 * libsodium cannot start or memory runs out. */
int ss_bizkey_hash(const Storesync__Record *r, uint8_t hash[SS_BIZKEY_HASH_BYTES]);
/* The same hash from r's own packing (storesync__record__pack of r, n
 * bytes), without packing it again: the stamps' bytes are left out of what
 * is hashed. For the hub, which packs every record for its event log
 * anyway. 0, or -1 when libsodium cannot start or buf is not r's packing. */
int ss_bizkey_hash_packed(const Storesync__Record *r, const uint8_t *buf, size_t n,
	uint8_t hash[SS_BIZKEY_HASH_BYTES]);
/* "receipt R-1", "case S1-202611-1 step responded". */
void ss_bizkey_text(const struct ss_bizkey *k, char *buf, size_t len);

#endif
