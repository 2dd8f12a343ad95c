/* hub_stats: every counter and gauge of the hub, declared once. The writer
 * and the query thread count; `hqctl stats` and any later exporter (metrics)
 * walk hub_counters[] for the name, the type, the help text and the value,
 * so adding one is one line here. A counter only grows; a gauge is set. */
#ifndef HUB_STATS_H
#define HUB_STATS_H

#include <stdatomic.h>
#include <stddef.h>

#include "ss_prom.h"

#define HUB_COUNTERS(X) \
	X(commits, HUB_COUNTER, "group commits (LMDB write transactions) made by the writer") \
	X(commit_failures, HUB_COUNTER, "items answered 'retry later' because a commit failed") \
	X(batches, HUB_COUNTER, "record batches taken into a group commit") \
	X(records_applied, HUB_COUNTER, "records applied to the views (each once)") \
	X(duplicates, HUB_COUNTER, "records received again and skipped (seq already held)") \
	X(biz_duplicates, HUB_GAUGE, "records whose business key their store had already sent with the same content: kept in the event log, no effect (all stores, all time)") \
	X(gaps, HUB_COUNTER, "batches that left a gap; a resend was asked") \
	X(refused_records, HUB_COUNTER, "records kept in the event log but refused by validation (no effect)") \
	X(hellos, HUB_COUNTER, "Hello messages handled") \
	X(store_links, HUB_GAUGE, "store link connections open (admitted)") \
	X(stores_refused, HUB_COUNTER, "store link connections refused: max_stores were connected") \
	X(accept_failures, HUB_COUNTER, "store link connections the kernel would not give the hub (accept failed)") \
	X(heartbeats, HUB_COUNTER, "application heartbeats handled") \
	X(heartbeats_held, HUB_COUNTER, "of those, answered from memory with nothing written (hub_live)") \
	X(state_flushes, HUB_COUNTER, "store states written by the periodic flush of what heartbeats said") \
	X(update_acks, HUB_COUNTER, "UpdateAck messages handled (downstream progress)") \
	X(updates_issued, HUB_COUNTER, "updates added to the update log") \
	X(notices_issued, HUB_COUNTER, "collection notices issued (one per stale episode)") \
	X(log_behind_stores, HUB_COUNTER, "Hellos from stores that applied more than the log holds (restored hub?)") \
	X(malformed, HUB_COUNTER, "messages that did not parse, or had the wrong frame count") \
	X(oversized, HUB_COUNTER, "messages larger than the size limit") \
	X(too_large_unpacked, HUB_COUNTER, "messages refused: they would cost more than their door's budget once unpacked") \
	X(nul_strings, HUB_COUNTER, "messages refused: a string field holds a NUL byte (it would be cut short)") \
	X(unknown_kind, HUB_COUNTER, "messages of a kind the hub does not take") \
	X(invalid, HUB_COUNTER, "messages refused as semantically invalid (store, epoch, batch shape)") \
	X(bad_version, HUB_COUNTER, "messages with an unsupported proto_version") \
	X(link_accepted, HUB_COUNTER, "store-link connections accepted") \
	X(link_disconnects, HUB_COUNTER, "store-link connections closed: the peer left, its heartbeats stopped, or libzmq cut it (a frame over ZMQ_MAXMSGSIZE, a protocol error) without a message") \
	X(link_open, HUB_GAUGE, "store-link connections open now") \
	X(query_disconnects, HUB_COUNTER, "operators' connections closed, including those libzmq cut (a frame over ZMQ_MAXMSGSIZE)") \
	X(handshake_failures, HUB_COUNTER, "handshakes that failed (protocol error, refused by the ZAP handler)") \
	X(zap_refused_connections, HUB_COUNTER, "store-link connections refused: their address already had links_per_source open") \
	X(zap_refused_rate, HUB_COUNTER, "store-link connections refused: their address passed handshakes_per_second") \
	X(zap_refused_store_links, HUB_COUNTER, "store-link connections refused: their store's keys already held 2 open (a reconnect racing the old connection, or a rotation)") \
	X(zap_refused_keys, HUB_COUNTER, "connections refused: their CURVE key is not a registered store's (link) or an active operator's (operators' endpoint), or its store is revoked") \
	X(impersonations, HUB_COUNTER, "Hellos and Batches refused because they claim another store than their link's key") \
	X(unauthorized_messages, HUB_COUNTER, "messages ignored, unanswered, from a connection whose key was revoked or retired since it connected") \
	X(zap_refused_protocol, HUB_COUNTER, "store-link connections refused: a malformed ZAP request or a mechanism not accepted") \
	X(operator_writes, HUB_COUNTER, "operator writes (store, price, policy, decisions) committed") \
	X(operator_refused, HUB_COUNTER, "operator writes refused (bad input)") \
	X(map_grows, HUB_COUNTER, "times the LMDB map was grown") \
	X(map_grows_deferred, HUB_COUNTER, "rounds where a wanted map growth waited for readers") \
	X(map_grows_when_full, HUB_COUNTER, "map growths forced by a full map (the writer waited for readers)") \
	X(map_bytes, HUB_GAUGE, "size of the LMDB map (address space, not disk)") \
	X(map_used_bytes, HUB_GAUGE, "bytes of the LMDB map in use (up to the last page written)")

#define HUB_COUNTER_FIELD(name, type, help) atomic_uint_fast64_t name;

enum hub_counter_type { HUB_COUNTER, HUB_GAUGE };

/* Histograms, declared the same way: name, buckets (ss_prom.h), help. */
#define HUB_HISTOGRAMS(X) \
	X(commit_seconds, ss_histo_latency, "time of one group commit: apply, write and fsync of its LMDB transaction") \
	X(batch_records, ss_histo_size, "records per batch received from a store") \
	X(commit_records, ss_histo_size, "records applied per group commit (rounds that applied any)")

#define HUB_HISTOGRAM_FIELD(name, spec, help) struct ss_histo name;

/* Read queries' latency by query: one histogram per command of
 * ss_query_spec's table, and a last one for requests naming none. */
#define HUB_QUERY_KINDS 64

struct hub_stats {
	HUB_COUNTERS(HUB_COUNTER_FIELD)
	HUB_HISTOGRAMS(HUB_HISTOGRAM_FIELD)
	struct ss_histo query_seconds[HUB_QUERY_KINDS];
};

struct hub_counter {
	const char *name;
	enum hub_counter_type type;
	const char *help;
	size_t offset;      /* of the atomic in struct hub_stats */
};

extern const struct hub_counter hub_counters[];
extern const size_t hub_n_counters;

struct hub_histogram {
	const char *name;
	const struct ss_histo_spec *spec;
	const char *help;
	size_t offset;      /* of the ss_histo in struct hub_stats */
};

extern const struct hub_histogram hub_histograms[];
extern const size_t hub_n_histograms;

/* The histogram of query `what` ("stores"; NULL or unknown: the last). */
struct ss_histo *hub_stats_query(struct hub_stats *s, const char *what);

/* The counter of a message ss_proto refused (its verdict). */
atomic_uint_fast64_t *hub_stats_refused(struct hub_stats *s, int verdict);

static inline atomic_uint_fast64_t *hub_counter_ptr(struct hub_stats *s, const struct hub_counter *c)
{
	return (atomic_uint_fast64_t *)((char *)s + c->offset);
}

#endif
