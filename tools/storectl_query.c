/* storectl_query: what HQ decided, as this store's agent holds it (offline):
 *   price SKU [--at TIME]   the price in force, and the next one announced
 *   policy [--at TIME]      every policy the agent enforces, with its origin
 *   notices                 collection notices (accounts to chase)
 *   requests                the store's replenishment requests and decisions
 * Text for store staff (money in yuan, times in the local zone); --json
 * gives one JSON document with the protocol's field names, fen and ms. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_json.h"
#include "ss_policy.h"
#include "ss_table.h"
#include "storectl.h"

/* "2026-12-01 00:00 +0800" in this machine's zone (the store's). */
static const char *local_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M %z", &tm) == 0)
		snprintf(buf, len, "%" PRId64 " ms", ms);
	return buf;
}

/* Prints s in a column of width characters (UTF-8: "¥" is two bytes, one
 * column), left- or right-aligned. */
static void cell(const char *s, int width, int right)
{
	int chars = 0;

	for (const char *p = s; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	if (right)
		printf("%*s%s", width > chars ? width - chars : 0, "", s);
	else
		printf("%s%*s", s, width > chars ? width - chars : 0, "");
}

/* A reply as one JSON document; a list it holds none of is [], not left
 * out, so a script reads "notices": [] rather than a missing key. */
static void print_json(const ProtobufCMessage *msg)
{
	json_t *doc = ss_json_from_message(msg);
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; doc && i < d->n_fields; i++)
		if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED
			&& !json_object_get(doc, d->fields[i].name))
			json_object_set_new(doc, d->fields[i].name, json_array());
	json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
}

/* Sends req (kind set by the caller) and checks the reply's kind. */
static Storesync__LocalReply *ask(struct ctl *c, Storesync__LocalRequest *req,
	Storesync__LocalReply__KindCase want)
{
	Storesync__LocalReply *reply = NULL;

	if (connect_agent(c) == 0)
		reply = call(c, req);
	disconnect_agent(c);
	if (reply && reply->kind_case != want) {
		fprintf(stderr, "storectl: the agent answered something else\n");
		storesync__local_reply__free_unpacked(reply, NULL);
		reply = NULL;
	}
	return reply;
}

static void print_price(const Storesync__PriceReply *p)
{
	char money[48], when[48];

	printf("%-8s %s\n", "sku", p->sku);
	if (p->name && p->name[0])
		printf("%-8s %s\n", "name", p->name);
	printf("%-8s %s (%" PRId64 " fen)\n", "price", ss_table_money(p->price_fen, money, sizeof money),
		p->price_fen);
	printf("%-8s %s (update %" PRIu64 ")\n", "since",
		local_time(p->effective_ms, when, sizeof when), p->update_id);
	if (p->has_next)
		printf("%-8s %s from %s\n", "next", ss_table_money(p->next_price_fen, money, sizeof money),
			local_time(p->next_effective_ms, when, sizeof when));
}

/* One line, to stderr: no price in force at the moment asked (which, with
 * --at, it names). When the agent no longer keeps what was in force then, it
 * says so rather than let "no price" read as "none was in force"; a price
 * announced for later is worth saying. */
static void print_no_price(const struct ctl *c, const char *sku, const Storesync__PriceReply *p)
{
	char money[48], when[48], kept[48];

	fprintf(stderr, "storectl: no price for SKU %s", sku);
	if (c->has_at)
		fprintf(stderr, " %s %s", p->has_kept_from_ms ? "known at" : "in force at",
			local_time(c->at_ms, when, sizeof when));
	if (p->has_kept_from_ms)
		fprintf(stderr, ": the agent keeps only the price in force now and later-dated "
			"ones, from %s on", local_time(p->kept_from_ms, kept, sizeof kept));
	if (p->has_next)
		fprintf(stderr, " (%s from %s)", ss_table_money(p->next_price_fen, money, sizeof money),
			local_time(p->next_effective_ms, when, sizeof when));
	fputc('\n', stderr);
}

static int cmd_price(struct ctl *c, const char *sku)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__PriceQuery q = STORESYNC__PRICE_QUERY__INIT;
	Storesync__LocalReply *reply;
	const Storesync__PriceReply *p;
	int rc = 0;

	q.sku = (char *)sku;
	q.at_ms = c->at_ms;
	q.has_at_ms = c->has_at;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_PRICE;
	req.price = &q;
	if (!(reply = ask(c, &req, STORESYNC__LOCAL_REPLY__KIND_PRICE)))
		return 1;
	p = reply->price;
	if (!p->found) {
		print_no_price(c, sku, p);
		rc = 1;
	}
	if (c->json)
		print_json(&p->base);
	else if (p->found)
		print_price(p);
	storesync__local_reply__free_unpacked(reply, NULL);
	return rc;
}

static void print_policy(const Storesync__PolicyValueInForce *v)
{
	int id = ss_policy_find(v->name);
	const struct ss_policy_def *d = id >= 0 ? ss_policy_def(id) : NULL;
	const char *unit = d ? d->unit : "";
	char value[64], money[48], when[48];

	if (strcmp(unit, "fen") == 0)
		snprintf(value, sizeof value, "%" PRId64 " (%s)", v->value,
			ss_table_money(v->value, money, sizeof money));
	else
		snprintf(value, sizeof value, "%" PRId64, v->value);
	printf("%-28s ", v->name);
	cell(value, 22, 0);
	if (v->update_id == 0)
		printf(" %-8s default\n", unit);
	else
		printf(" %-8s since %s (update %" PRIu64 ")\n", unit,
			local_time(v->effective_ms, when, sizeof when), v->update_id);
}

static int cmd_policy(struct ctl *c)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__PolicyQuery q = STORESYNC__POLICY_QUERY__INIT;
	Storesync__LocalReply *reply;

	q.at_ms = c->at_ms;
	q.has_at_ms = c->has_at;
	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_POLICY;
	req.policy = &q;
	if (!(reply = ask(c, &req, STORESYNC__LOCAL_REPLY__KIND_POLICY)))
		return 1;
	if (c->json)
		print_json(&reply->policy->base);
	else {
		printf("%-28s %-22s %-8s %s\n", "policy", "value", "unit", "in force");
		for (size_t i = 0; i < reply->policy->n_values; i++)
			print_policy(reply->policy->values[i]);
	}
	storesync__local_reply__free_unpacked(reply, NULL);
	return 0;
}

static void print_notice(const Storesync__CollectionNotice *n)
{
	char money[48], since[48], issued[48];

	printf("%-16s %-14s %-16s ", n->account, n->customer ? n->customer : "",
		n->contract_no ? n->contract_no : "");
	cell(ss_table_money(n->balance_fen, money, sizeof money), 14, 1);
	printf(" %5" PRId64 "  %-22s %s\n", n->age_days, local_time(n->since_ms, since, sizeof since),
		local_time(n->issued_ms, issued, sizeof issued));
}

static int cmd_notices(struct ctl *c)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__NoticesQuery q = STORESYNC__NOTICES_QUERY__INIT;
	Storesync__LocalReply *reply;
	const Storesync__NoticesReply *nr;

	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_NOTICES;
	req.notices = &q;
	if (!(reply = ask(c, &req, STORESYNC__LOCAL_REPLY__KIND_NOTICES)))
		return 1;
	nr = reply->notices;
	if (c->json)
		print_json(&nr->base);
	else if (nr->n_notices == 0)
		printf("no collection notices\n");
	else {
		printf("%-16s %-14s %-16s %14s %5s  %-22s %s\n", "account", "customer", "contract",
			"balance", "days", "unpaid since", "issued");
		for (size_t i = 0; i < nr->n_notices; i++)
			print_notice(nr->notices[i]);
	}
	storesync__local_reply__free_unpacked(reply, NULL);
	return 0;
}

static void print_request(const Storesync__RequestState *r)
{
	char when[48] = "", approved[24] = "-";

	if (r->decided_ms)
		local_time(r->decided_ms, when, sizeof when);
	if (r->has_approved_quantity)
		snprintf(approved, sizeof approved, "%" PRId64, r->approved_quantity);
	printf("%-16s %-14s %8" PRId64 "  %-9s %8s  %-22s %s\n", r->request_no,
		r->sku ? r->sku : "", r->quantity, r->state ? r->state : "", approved, when,
		r->note ? r->note : "");
}

static int cmd_requests(struct ctl *c)
{
	Storesync__LocalRequest req = STORESYNC__LOCAL_REQUEST__INIT;
	Storesync__RequestsQuery q = STORESYNC__REQUESTS_QUERY__INIT;
	Storesync__LocalReply *reply;
	const Storesync__RequestsReply *rr;

	req.kind_case = STORESYNC__LOCAL_REQUEST__KIND_REQUESTS;
	req.requests = &q;
	if (!(reply = ask(c, &req, STORESYNC__LOCAL_REPLY__KIND_REQUESTS)))
		return 1;
	rr = reply->requests;
	if (c->json)
		print_json(&rr->base);
	else if (rr->n_requests == 0)
		printf("no replenishment requests\n");
	else {
		printf("%-16s %-14s %8s  %-9s %8s  %-22s %s\n", "request", "sku", "quantity",
			"state", "approved", "decided", "note");
		for (size_t i = 0; i < rr->n_requests; i++)
			print_request(rr->requests[i]);
	}
	storesync__local_reply__free_unpacked(reply, NULL);
	return 0;
}

int query_command(struct ctl *c, const char *cmd, int n_args, char **args)
{
	int takes_sku = strcmp(cmd, "price") == 0;

	if (!takes_sku && strcmp(cmd, "policy") != 0 && strcmp(cmd, "notices") != 0
		&& strcmp(cmd, "requests") != 0)
		return -1;
	if (n_args != takes_sku) {
		if (takes_sku)
			fprintf(stderr, "storectl: price takes one SKU\n");
		else
			fprintf(stderr, "storectl: %s takes no arguments\n", cmd);
		return 2;
	}
	if (takes_sku)
		return cmd_price(c, args[0]);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(c);
	return strcmp(cmd, "notices") == 0 ? cmd_notices(c) : cmd_requests(c);
}
