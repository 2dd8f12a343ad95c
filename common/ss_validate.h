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

/* The times the system accepts, Unix ms (UTC): every time in a record,
 * every time a query or an operator names, and the daemons' clocks
 * (docs/records.md, "Times"). Inside this range the business-day, age and
 * deadline arithmetic (days, minutes, policy offsets of at most years)
 * cannot overflow. */
#define SS_TIME_MIN_MS 946684800000LL    /* 2000-01-01T00:00:00Z */
#define SS_TIME_MAX_MS 4102444800000LL   /* 2100-01-01T00:00:00Z, excluded */
/* A test clock (--clock-offset-ms) shifts the wall clock by at most this. */
#define SS_CLOCK_OFFSET_MAX_MS (50LL * 365 * 24 * 3600 * 1000)

/* 0 when ms lies in [SS_TIME_MIN_MS, SS_TIME_MAX_MS), else -1; the same for
 * a day number (days since 1970-01-01). */
int ss_validate_time_ms(int64_t ms);
int ss_validate_day(int64_t day);
/* At the hub: the agent stamped r when it made it durable (recorded_ms,
 * the moment the hub judges "in the future" against) and the stamp lies in
 * the range. 0, or -1 with a reason. */
int ss_validate_recorded(const Storesync__Record *r, char *reason, size_t reason_len);

/* Store ids: [A-Za-z0-9_]{1,32} (no "-": case numbers use "-" as separator).
 * Both return 0 when valid, -1 when not. */
int ss_validate_store_id(const char *store_id);
int ss_validate_sku(const char *sku);
/* The same for n bytes at sku, not NUL-terminated (a SKU as it lies in a
 * received message). */
int ss_validate_sku_n(const char *sku, size_t n);
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
