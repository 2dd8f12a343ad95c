/* testlib: what the integration tests share. Real daemons (the binaries of
 * this build tree), real LMDB directories under a fresh temporary directory,
 * ipc:// endpoints inside it. Nothing here fakes ZeroMQ or LMDB. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <check.h>
#include <stdint.h>
#include <sys/types.h>

#include "ss_proto.h"

/* A scratch directory for one test; removed by tl_cleanup. */
struct tl_env {
	char dir[256];
	char hub_listen[320], hub_query[320];
	char hub_data[320];
};

void tl_env_init(struct tl_env *e);
void tl_env_cleanup(struct tl_env *e);

/* Endpoint and data dir of store `store` inside e. */
void tl_agent_paths(const struct tl_env *e, const char *store, char *local, size_t llen,
	char *data, size_t dlen);

/* Starts hq-hub on e's endpoints (extra flags may follow, NULL-terminated)
 * and waits until its query endpoint answers. Returns the pid. */
pid_t tl_start_hub(const struct tl_env *e, ...);
/* Starts store-agent for store with e's hub; extra flags NULL-terminated.
 * Waits until its local endpoint answers status. */
pid_t tl_start_agent(const struct tl_env *e, const char *store, ...);
void tl_kill9(pid_t pid);
/* SIGTERM, then wait; fails the test if the process does not exit cleanly. */
void tl_stop(pid_t pid);

/* A sale record of total_fen with one line, at time now. Free with
 * storesync__record__free_unpacked(r, NULL). */
Storesync__Record *tl_sale(int64_t total_fen, const char *receipt_no);

/* Submits records to an agent. seqs[i] > 0 for each accepted record; errors[i]
 * (malloc'd, may be NULL) for refused ones when errors is not NULL.
 * Returns 0 when the agent answered, -1 when it did not within timeout_ms. */
int tl_submit(const char *local, Storesync__Record **recs, size_t n, uint64_t *seqs,
	char **errors, int timeout_ms);

/* Agent status, or NULL when it does not answer. */
Storesync__StatusReply *tl_status(const char *local, int timeout_ms);
void tl_status_free(Storesync__StatusReply *st);

/* One store's row from `stores`: fields by column name. -1 when absent. */
int64_t tl_store_field(const char *query_ep, const char *store, const char *column);
/* A hub counter from `stats`. */
int64_t tl_hub_stat(const char *query_ep, const char *counter);

/* Polls until store's `records` at the hub reaches want or timeout_ms passes.
 * Returns the last value seen. */
int64_t tl_wait_records(const char *query_ep, const char *store, int64_t want, int timeout_ms);

/* Runs a command line via /bin/sh; returns its exit status. */
int tl_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs each test in its own TCase (own timeout, forked); returns the exit
 * status for main: 1 when any test failed. */
int tl_run(const char *name, const TTest *const *tests, size_t n, double timeout_s);

#endif
