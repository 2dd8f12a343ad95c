/* hub_stats: the table of counters, generated from the one declaration in
 * hub_stats.h. */
#include "hub_stats.h"

#define HUB_COUNTER_ROW(name, type, help) { #name, type, help, offsetof(struct hub_stats, name) },

const struct hub_counter hub_counters[] = {
	HUB_COUNTERS(HUB_COUNTER_ROW)
};

const size_t hub_n_counters = sizeof hub_counters / sizeof hub_counters[0];
