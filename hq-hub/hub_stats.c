/* hub_stats: the table of counters, generated from the one declaration in
 * hub_stats.h. */
#include "hub_stats.h"

#include <string.h>

#include "ss_proto.h"
#include "ss_query_spec.h"

#define HUB_COUNTER_ROW(name, type, help) { #name, type, help, offsetof(struct hub_stats, name) },

const struct hub_counter hub_counters[] = {
	HUB_COUNTERS(HUB_COUNTER_ROW)
};

const size_t hub_n_counters = sizeof hub_counters / sizeof hub_counters[0];

#define HUB_HISTOGRAM_ROW(name, spec, help) { #name, &spec, help, offsetof(struct hub_stats, name) },

const struct hub_histogram hub_histograms[] = {
	HUB_HISTOGRAMS(HUB_HISTOGRAM_ROW)
};

const size_t hub_n_histograms = sizeof hub_histograms / sizeof hub_histograms[0];

struct ss_histo *hub_stats_query(struct hub_stats *s, const char *what)
{
	const struct ss_command *c = what ? ss_command_find(what) : NULL;
	size_t i = c ? (size_t)(c - ss_commands) : HUB_QUERY_KINDS - 1;

	return &s->query_seconds[i < HUB_QUERY_KINDS - 1 ? i : HUB_QUERY_KINDS - 1];
}

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
