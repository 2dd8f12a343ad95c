/* ss_validate: the semantic rules every record must satisfy, applied by the
 * agent before it accepts a record and again by the hub before it applies one. */
#ifndef SS_VALIDATE_H
#define SS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "ss_proto.h"

/* Largest time_ms accepted ahead of now_ms (clock skew between till and agent). */
#define SS_MAX_FUTURE_MS (24LL * 3600 * 1000)
/* Business ceilings: 10^13 fen (100 billion yuan) for any amount, 10^9 units
 * for any quantity, 1 MiB for a packed record (far below a link message). */
#define SS_MAX_FEN 10000000000000LL
#define SS_MAX_QUANTITY 1000000000LL
#define SS_MAX_RECORD_BYTES (1u << 20)

/* Store ids: [A-Za-z0-9_]{1,32} (no "-": case numbers use "-" as separator).
 * Both return 0 when valid, -1 when not. */
int ss_validate_store_id(const char *store_id);
int ss_validate_sku(const char *sku);
/* Regions: [A-Za-z0-9_-]{1,32}. */
int ss_validate_region(const char *region);
/* A name for people (a store's, an article's): valid UTF-8 of 1..max_bytes
 * bytes without control characters. 0 when valid. */
int ss_validate_label(const char *s, size_t max_bytes);

/* Checks r as submitted by store store_id at time now_ms (the agent's clock
 * at acceptance; the hub passes the record's recorded_ms, so its verdict
 * depends on the record alone). Returns 0 when
 * valid; otherwise -1 with a one-line reason such as
 * "sale: line 2: unit_price_fen is negative" in reason. */
int ss_validate_record(const Storesync__Record *r, const char *store_id, int64_t now_ms,
	char *reason, size_t reason_len);

#endif
