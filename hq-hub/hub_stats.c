/* hub_stats: the table of counters, generated from the one declaration in
 * hub_stats.h. */
#include "hub_stats.h"

#include "ss_proto.h"

#define HUB_COUNTER_ROW(name, type, help) { #name, type, help, offsetof(struct hub_stats, name) },

const struct hub_counter hub_counters[] = {
	HUB_COUNTERS(HUB_COUNTER_ROW)
};

const size_t hub_n_counters = sizeof hub_counters / sizeof hub_counters[0];

atomic_uint_fast64_t *hub_stats_refused(struct hub_stats *s, int verdict)
{
	switch ((enum ss_proto_verdict)verdict) {
	case SS_PROTO_TOO_LARGE:
		return &s->oversized;
	case SS_PROTO_TOO_LARGE_UNPACKED:
		return &s->too_large_unpacked;
	case SS_PROTO_NUL_IN_STRING:
		return &s->nul_strings;
	default:
		return &s->malformed;
	}
}
