/* ss-gen: writes a store's business day as JSON Lines for `storectl submit`:
 * sales, contract sales, payments on account, refunds, complaints and their
 * progress, stocktakes and movements, a replenishment request. Used by the
 * demo, the tests and the benchmarks. Deterministic for a given seed and day;
 * the business keys depend only on the store and --first, so a second run
 * for the same store needs --first past the first run's keys.
 * With --expect FILE it also writes the record count and the signed money
 * total the hub should show for these records, computed here on its own. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_version.h"

struct gen {
	const char *store;
	unsigned long long rng;
	long long day_start_ms;     /* the store's local midnight, Unix ms */
	long long offset_ms;        /* the store's offset from UTC */
	char month[16];             /* YYYYMM of the day, for case numbers */
	int cases;                  /* complaints registered so far */
	int responded;              /* of them, responded to (in case order) */
	int contracts;
	long first;                 /* --first: where the day's numbers start */
	long long amount_fen;       /* expected signed total */
};

static unsigned rnd(struct gen *g, unsigned n)
{
	/* xorshift64*: reproducible across machines, unlike rand(). */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return (unsigned)((g->rng * 2685821657736338717ULL) >> 33) % n;
}

static void sku(struct gen *g, char *buf, size_t len)
{
	snprintf(buf, len, "SKU-%04u", rnd(g, 200) + 1);
}

static json_t *sale(struct gen *g)
{
	static const char *methods[] = { "cash", "card", "mobile", "card", "mobile" };
	json_t *lines = json_array();
	long long total = 0;
	unsigned n = rnd(g, 3) + 1;
	char s[16];

	for (unsigned i = 0; i < n; i++) {
		long long qty = rnd(g, 4) + 1, price = (rnd(g, 500) + 1) * 100;
		long long disc = rnd(g, 4) == 0 ? price / 10 : 0;

		sku(g, s, sizeof s);
		total += qty * price - disc;
		json_array_append_new(lines, json_pack("{s:s,s:I,s:I,s:I}", "sku", s, "quantity", qty,
			"unit_price_fen", price, "discount_fen", disc));
	}
	g->amount_fen += total;
	return json_pack("{s:s,s:o,s:I,s:s,s:s}", "receipt_no", "", "lines", lines, "total_fen",
		total, "payment_method", methods[rnd(g, 5)], "cashier", "C01");
}

static json_t *contract_sale(struct gen *g, char *no, size_t len)
{
	long long total = (rnd(g, 50) + 10) * 100000, deposit = total / 5;

	g->contracts++;
	snprintf(no, len, "%s-K%05ld", g->store, g->first + g->contracts);
	g->amount_fen += deposit;
	return json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "contract_no", no, "customer", "CUST-1",
		"total_fen", total, "deposit_fen", deposit, "signer", "M01", "deposit_method", "card");
}

static json_t *body(struct gen *g, const char **type, long i)
{
	static const char *channels[] = { "counter", "phone", "online" };
	static const char *cats[] = { "product_quality", "service_attitude", "delivery",
		"installation", "price" };
	static const char *moves[] = { "receipt", "sale", "adjustment" };
	unsigned pick = rnd(g, 100);
	char no[48], s[16];

	sku(g, s, sizeof s);
	if (pick < 55) {
		json_t *o = sale(g);

		snprintf(no, sizeof no, "%s-R%06ld", g->store, i);
		json_object_set_new(o, "receipt_no", json_string(no));
		*type = "sale";
		return o;
	}
	if (pick < 60 || g->contracts == 0) {
		*type = "contract_sale";
		return contract_sale(g, no, sizeof no);
	}
	if (pick < 68) {
		long long amt = (rnd(g, 20) + 1) * 10000;

		char slip[48];

		g->amount_fen += amt;
		snprintf(no, sizeof no, "%s-K%05ld", g->store,
			g->first + rnd(g, (unsigned)g->contracts) + 1);
		snprintf(slip, sizeof slip, "%s-P%06ld", g->store, i);
		*type = "payment";
		return json_pack("{s:s,s:s,s:I,s:s,s:s}", "payment_no", slip, "account", no,
			"amount_fen", amt, "method", "card", "contract_no", no);
	}
	if (pick < 72) {
		long long amt = (rnd(g, 50) + 1) * 100;

		g->amount_fen -= amt;
		snprintf(no, sizeof no, "%s-F%06ld", g->store, i);
		*type = "refund";
		return json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "refund_no", no, "original_receipt",
			"R-OLD", "amount_fen", amt, "reason", "defect", "approver", "M01", "method", "cash");
	}
	if (pick < 75 || g->cases == 0) {
		snprintf(no, sizeof no, "%s-%s-%ld", g->store, g->month, g->first + ++g->cases);
		*type = "complaint";
		return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "case_no", no, "customer", "CUST-2",
			"channel", channels[rnd(g, 3)], "category", cats[rnd(g, 5)], "severity", "medium",
			"description", "door hinge loose");
	}
	/* A case gets one "responded" step (its business key is case and
	 * step), cases in the order they were registered. */
	if (pick < 78 && g->responded < g->cases) {
		snprintf(no, sizeof no, "%s-%s-%ld", g->store, g->month,
			g->first + ++g->responded);
		*type = "complaint_progress";
		return json_pack("{s:s,s:s,s:s}", "case_no", no, "step", "responded", "note",
			"called customer");
	}
	if (pick < 98) {
		unsigned m = rnd(g, 3);

		*type = "inventory";
		snprintf(no, sizeof no, "%s-M%06ld", g->store, i);
		if (pick < 80)
			return json_pack("{s:s,s:s,s:s,s:I}", "move_no", no, "kind", "stocktake", "sku", s,
				"quantity", (long long)rnd(g, 100));
		return json_pack("{s:s,s:s,s:s,s:I,s:s}", "move_no", no, "kind", moves[m], "sku", s,
			"quantity", m == 2 ? -1LL : (long long)rnd(g, 20) + 1, "reason",
			m == 2 ? "damaged" : "");
	}
	snprintf(no, sizeof no, "%s-Q%06ld", g->store, i);
	*type = "replenishment";
	return json_pack("{s:s,s:s,s:I,s:s}", "request_no", no, "sku", s, "quantity", 30LL,
		"reason", "wedding order");
}

static void emit(json_t *o, const char *type, long long t_ms, long *count)
{
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "time_ms", json_integer(t_ms));
	json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(o);
	(*count)++;
}

/* The weeks before the day, as a chain's books carry them: contract sales of
 * the last months (half of them paid recently, the rest silent for more
 * than 30 days: stale receivables), and complaints of the last days (some
 * answered in time, some never answered, some without their investigation
 * report after 3 days: overdue). */
static void history(struct gen *g, long *count)
{
	static const int contract_days[] = { 75, 64, 52, 47, 41, 36, 33, 20 };
	static const int complaint_hours[] = { 100, 90, 80, 30, 28, 5 };
	char no[48], month[16], slip[48];

	for (size_t i = 0; i < sizeof contract_days / sizeof contract_days[0]; i++) {
		long long t = g->day_start_ms - contract_days[i] * 86400000LL + 11 * 3600000LL;
		long long total = (long long)(i + 2) * 500000, deposit = total / 4;

		snprintf(no, sizeof no, "%s-H%03zu", g->store, i + 1);
		g->amount_fen += deposit;
		emit(json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "contract_no", no, "customer", "CUST-H",
			"total_fen", total, "deposit_fen", deposit, "signer", "M01", "deposit_method",
			"card"), "contract_sale", t, count);
		if (i % 2 == 0)  /* paid five days ago: not stale */
			continue;
		g->amount_fen += total / 4;
		snprintf(slip, sizeof slip, "%s-HP%03zu", g->store, i + 1);
		emit(json_pack("{s:s,s:s,s:I,s:s,s:s}", "payment_no", slip, "account", no, "amount_fen",
			total / 4, "method", "mobile", "contract_no", no), "payment",
			g->day_start_ms - 5 * 86400000LL, count);
	}
	for (size_t i = 0; i < sizeof complaint_hours / sizeof complaint_hours[0]; i++) {
		long long t = g->day_start_ms - complaint_hours[i] * 3600000LL;
		time_t secs = (time_t)((t + g->offset_ms) / 1000);
		struct tm tm;

		/* Numbered in the store-local month of the registration. */
		gmtime_r(&secs, &tm);
		strftime(month, sizeof month, "%Y%m", &tm);
		snprintf(no, sizeof no, "%s-%s-%zu", g->store, month, 5001 + i);
		emit(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "case_no", no, "customer", "CUST-C",
			"channel", "phone", "category", i % 2 ? "delivery" : "installation", "severity",
			"medium", "description", "cabinet door misaligned"), "complaint", t, count);
		if (i % 3 == 1)  /* never answered */
			continue;
		emit(json_pack("{s:s,s:s,s:s}", "case_no", no, "step", "responded", "note",
			"called back"), "complaint_progress", t + 2 * 3600000LL, count);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ss-gen --store ID [--records N] [--seed N] [--first N] [--day-ms MS]\n"
		"              [--history] [--utc-offset MIN] [--expect FILE]\n"
		"Writes a business day of store ID as JSON Lines on stdout, for storectl submit.\n"
		"  --store ID      the store whose records these are (case numbers start with it)\n"
		"  --records N     records of the day (default 1000), spread over 09:00-21:00\n"
		"  --seed N        varies the mix of kinds, SKUs, quantities and amounts (default\n"
		"                  0; the same seed and day give the same records). The business\n"
		"                  keys (receipt, contract, slip, case numbers) do not depend on it\n"
		"  --first N       number the day's business keys from N (default 0): receipts,\n"
		"                  slips and moves N.., contracts and cases N+1..; another run\n"
		"                  for the same store needs new keys, --first at least the last\n"
		"                  run's N plus its --records (the agent refuses a known key\n"
		"                  with other content). --first plus --records at most 999999\n"
		"                  (case numbers have 6 digits); --history's records keep theirs\n"
		"  --day-ms MS     start of the business day, Unix ms (default: today 00:00\n"
		"                  store-local time)\n"
		"  --utc-offset MIN  the store's offset from UTC in minutes (default 0); give\n"
		"                  the same as its agent's --utc-offset (which defaults to the\n"
		"                  system time zone), so that the day and the case numbers' month\n"
		"                  are the store-local ones the agent checks\n"
		"  --history       first, the weeks before: contracts (some going stale) and\n"
		"                  complaints (some overdue)\n"
		"  --expect FILE   write {\"records\":N,\"amount_fen\":X} the hub should show\n"
		"  --version       print the version and exit\n"
		"  -h, --help      this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, 0, 's' }, { "records", required_argument, 0, 'n' },
		{ "seed", required_argument, 0, 'r' }, { "day-ms", required_argument, 0, 'd' },
		{ "expect", required_argument, 0, 'e' }, { "history", no_argument, 0, 'H' },
		{ "utc-offset", required_argument, 0, 'u' }, { "first", required_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	struct gen g = { .rng = 88172645463325252ULL };
	long n = 1000, count = 0;
	long long day_ms = -1;
	int with_history = 0;
	const char *expect = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "s:n:r:d:e:u:f:Hh", opts, NULL)) != -1) {
		switch (o) {
		case 'u': g.offset_ms = atoll(optarg) * 60000; break;
		case 'H': with_history = 1; break;
		case 's': g.store = optarg; break;
		case 'n': n = atol(optarg); break;
		case 'f': g.first = atol(optarg); break;
		case 'r': g.rng ^= strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ULL; break;
		case 'd': day_ms = atoll(optarg); break;
		case 'e': expect = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': ss_version_print("ss-gen"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!g.store || n < 0) {
		usage(stderr);
		return 2;
	}
	if (g.first < 0 || (g.first > 0 && g.first > 999999 - n)) {
		fprintf(stderr, "ss-gen: --first %ld with --records %ld: the two together must be "
			"at most 999999 (case numbers have at most 6 digits)\n", g.first, n);
		return 2;
	}
	/* Opening hours and the month are the store's local ones. */
	g.day_start_ms = day_ms >= 0 ? day_ms
		: ((long long)time(NULL) * 1000 + g.offset_ms) / 86400000 * 86400000 - g.offset_ms;
	{
		time_t t = (time_t)((g.day_start_ms + g.offset_ms) / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(g.month, sizeof g.month, "%Y%m", &tm);
	}
	if (with_history)
		history(&g, &count);
	for (long i = 0; i < n; i++) {
		const char *type = NULL;
		json_t *o2 = body(&g, &type, g.first + i);

		/* Spread over opening hours 09:00-21:00, in order. */
		emit(o2, type, g.day_start_ms + 9 * 3600000LL + i * (12 * 3600000LL) / n, &count);
	}
	if (expect) {
		FILE *f = fopen(expect, "w");

		if (!f) {
			perror(expect);
			return 1;
		}
		fprintf(f, "{\"records\":%ld,\"amount_fen\":%lld}\n", count, g.amount_fen);
		fclose(f);
	}
	return 0;
}
