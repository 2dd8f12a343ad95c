/* hub_stats: every counter of the hub, declared once. The writer and the
 * query thread count; `hqctl stats` and any later exporter (metrics) walk
 * hub_counters[] for the name, the help text and the value, so adding a
 * counter is one line here. */
#ifndef HUB_STATS_H
#define HUB_STATS_H

#include <stdatomic.h>
#include <stddef.h>

#define HUB_COUNTERS(X) \
	X(commits, "group commits (LMDB write transactions) made by the writer") \
	X(commit_failures, "items answered 'retry later' because a commit failed") \
	X(batches, "record batches taken into a group commit") \
	X(records_applied, "records applied to the views (each once)") \
	X(duplicates, "records received again and skipped (seq already held)") \
	X(gaps, "batches that left a gap; a resend was asked") \
	X(refused_records, "records kept in the event log but refused by validation (no effect)") \
	X(hellos, "Hello messages handled") \
	X(heartbeats, "application heartbeats handled") \
	X(malformed, "messages that did not parse, or had the wrong frame count") \
	X(oversized, "messages larger than the size limit") \
	X(unknown_kind, "messages of a kind the hub does not take") \
	X(invalid, "messages refused as semantically invalid (store, epoch, batch shape)") \
	X(bad_version, "messages with an unsupported proto_version") \
	X(operator_writes, "operator writes (store, price, policy, decisions) committed") \
	X(operator_refused, "operator writes refused (bad input)") \
	X(map_grows, "times the LMDB map was grown") \
	X(map_grows_deferred, "rounds where a wanted map growth waited for readers")

#define HUB_COUNTER_FIELD(name, help) atomic_uint_fast64_t name;

struct hub_stats {
	HUB_COUNTERS(HUB_COUNTER_FIELD)
};

struct hub_counter {
	const char *name;
	const char *help;
	size_t offset;      /* of the atomic in struct hub_stats */
};

extern const struct hub_counter hub_counters[];
extern const size_t hub_n_counters;

static inline atomic_uint_fast64_t *hub_counter_ptr(struct hub_stats *s, const struct hub_counter *c)
{
	return (atomic_uint_fast64_t *)((char *)s + c->offset);
}

#endif
