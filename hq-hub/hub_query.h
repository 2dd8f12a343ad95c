/* hub_query: what the query handlers share. A handler reads LMDB through
 * the read transaction it is given and fills a table; hub_query.c owns the
 * endpoint, the transaction and the reply. */
#ifndef HUB_QUERY_H
#define HUB_QUERY_H

#include "hub.h"
#include "hub_table.h"

/* Filters and options of a query, parsed from its params once. */
struct query_args {
	const char *store, *sku, *state, *by, *region, *kind;
	uint64_t update;                /* 0 when not given */
	int64_t since_ms;               /* 0 when not given */
	const char *who;
	int32_t from_day, to_day;       /* inclusive; INT32_MIN/INT32_MAX when open */
	int64_t below;                  /* INT64_MAX when not given */
	int overdue, stale, aging, late;
	int64_t at_ms;                  /* "now" of the query: hub clock or --at */
	/* Records dated up to this count: --at T, else all (INT64_MAX). */
	int64_t as_of_ms;
};

/* 1 when a record dated after the query's as_of_ms was applied: then the
 * time-ordered indexes (which hold the present) cannot answer, and the
 * query judges each item as it stood at as_of_ms. */
int query_in_past(struct hub *h, MDB_txn *txn, const struct query_args *a);

/* Checks a request against the table of commands (ss_query_spec): 0, or
 * -1 with a reason. Reads and writes alike. */
int query_check(const Storesync__QueryRequest *q, char *err, size_t errlen);
/* One request body from the operators' endpoint, from a user of role
 * ("admin" or "read"): a read query is answered into t (cleared by the
 * caller; a malformed request gets a refusal there, counted) and 0
 * returned; an operator write is left to the writer and QUERY_WRITE
 * returned, t untouched. The read role is refused a dump: it holds every
 * view whole, customers' names included, which that role does not see
 * (the query server masks them in the other answers). */
#define QUERY_WRITE 1
int query_serve(struct hub *h, const void *body, size_t len, const char *role, struct table *t);
/* Answers read query q into t (cleared by the caller). */
void query_answer(struct hub *h, const Storesync__QueryRequest *q, struct table *t);

typedef void (*query_fn)(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct table *t);

void query_stores(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_sales(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_inventory(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_complaints(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_accounts(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_stale(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_policy(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_dump(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_store_list(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_price_show(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_price_mismatches(struct hub *h, MDB_txn *txn, const struct query_args *a,
	struct table *t);
void query_rollout(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_notices(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_replenish(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_operators(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);
void query_audit(struct hub *h, MDB_txn *txn, const struct query_args *a, struct table *t);

/* "export status" and "export report" (hub_query_export.c). */
void query_export(struct hub *h, const Storesync__QueryRequest *q, struct table *t);
/* The export's lag as the hub sees it: its change order's head against
 * hq-export's last report. 0, or -1 when storage could not be read. */
struct hub_export_lag {
	uint64_t head, position, behind, events;
	int64_t head_ms, reported_ms;  /* reported_ms 0: never */
	int64_t behind_ms;             /* a duration; -1 until a report */
	char state[160];
};
int hub_export_lag(struct hub *h, struct hub_export_lag *lag);

/* Helpers for handlers. */
const char *case_state_name(Storesync__CaseState s);
/* 1 when the case_due entry (ms, kind) is the first of the case's open
 * deadlines in index order: a case with both past is listed once. */
int case_first_due_entry(const Storesync__CaseView *c, int64_t ms, char kind);
/* Aging bucket of an age in whole days: "0-30", "31-60", "61-90", "over 90". */
const char *aging_bucket(int64_t age_days);

#endif
