/* fleet_hist: a latency histogram that workers fill and the driver merges.
 * Log-linear buckets (FLEET_HIST_SUB per power of two) keep every value
 * within about 1% from 1 us to days, in a fixed array that can be sent
 * between processes as it is. */
#include "fleet.h"

static int bucket_of(int64_t us)
{
	uint64_t v = us < 1 ? 1 : (uint64_t)us;
	int e = 63 - __builtin_clzll(v), b;

	if (e < 6)
		return (int)v;  /* below 64 us: one bucket per microsecond */
	b = (e - 5) * FLEET_HIST_SUB + (int)((v >> (e - 6)) - FLEET_HIST_SUB);
	return b < FLEET_HIST_BUCKETS ? b : FLEET_HIST_BUCKETS - 1;
}

/* The upper bound of bucket b, in us. */
static int64_t bucket_top(int b)
{
	int e = b / FLEET_HIST_SUB + 5, sub = b % FLEET_HIST_SUB;

	if (b < FLEET_HIST_SUB)
		return b;
	return (int64_t)(((uint64_t)(FLEET_HIST_SUB + sub + 1) << (e - 6)) - 1);
}

void fleet_hist_add(struct fleet_hist *h, int64_t us)
{
	h->n[bucket_of(us)]++;
	h->count++;
	if (us > h->max_us)
		h->max_us = us;
}

void fleet_hist_merge(struct fleet_hist *into, const struct fleet_hist *h)
{
	for (int i = 0; i < FLEET_HIST_BUCKETS; i++)
		into->n[i] += h->n[i];
	into->count += h->count;
	if (h->max_us > into->max_us)
		into->max_us = h->max_us;
}

int64_t fleet_hist_pct_us(const struct fleet_hist *h, double pct)
{
	uint64_t want = (uint64_t)((double)h->count * pct / 100.0), seen = 0;

	if (h->count == 0)
		return 0;
	if (want >= h->count)
		return h->max_us;
	for (int i = 0; i < FLEET_HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen > want)
			return bucket_top(i) < h->max_us ? bucket_top(i) : h->max_us;
	}
	return h->max_us;
}
