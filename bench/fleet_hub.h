/* fleet_hub: the fleet driver's view of the hub under test (fleet_hub.c). */
#ifndef FLEET_HUB_H
#define FLEET_HUB_H

#include <stdint.h>
#include <sys/types.h>

#include "ss_curve.h"
#include "ss_proto.h"

struct fleet_hub {
	const char *bin;              /* hq-hub */
	char data[600], listen[128], query[128], log[600];
	char admin[640];              /* the admin socket (ipc, plaintext): the driver's door */
	const char *const *extra;     /* more flags, NULL-terminated (may be NULL) */
	void *zctx;                   /* the driver's, for queries */
	pid_t pid;                    /* 0: not running */
};

/* Starts the hub and waits until its query endpoint answers; 0 or -1. */
int fleet_hub_start(struct fleet_hub *h);
/* Sends sig and reaps the hub. */
void fleet_hub_kill(struct fleet_hub *h, int sig);

/* CPU time (user + system) of pid in ms; -1 when unknown. */
int64_t fleet_proc_cpu_ms(pid_t pid);
/* A field of /proc/PID/status in kB ("VmRSS", "VmHWM"); -1 when unknown. */
int64_t fleet_proc_kb(pid_t pid, const char *field);
/* Bytes written so far to the block device that holds path, from
 * /proc/diskstats; -1 when path is on no block device listed there. */
int64_t fleet_disk_written_bytes(const char *path);
/* The 1-minute load average. */
double fleet_loadavg(void);

/* A query on the admin socket; NULL when no answer within timeout_ms. */
Storesync__QueryReply *fleet_hub_query(struct fleet_hub *h, Storesync__QueryRequest *req,
	int timeout_ms);
/* A counter of `stats`; -1 when the hub does not answer within a second. */
int64_t fleet_hub_stat(struct fleet_hub *h, const char *counter);
/* Stores `stores` shows silent (*rows: all rows); -1 without an answer. */
long fleet_hub_silent(struct fleet_hub *h, long *rows);
/* `policy set` of one "name=value"; 0 or -1. */
int fleet_hub_policy(struct fleet_hub *h, const char *setting);
/* `store add` of stores 0..n-1 (fleet_store_name), each with its public
 * key unless keys is NULL, many requests in flight (as many as the hub has
 * query threads take at once); the stores refused (-1: no answer). */
long fleet_hub_register(struct fleet_hub *h, int n, const struct ss_curve_pair *keys);
/* `operator add NAME --key KEY --role admin`; 0 or -1. */
int fleet_hub_operator(struct fleet_hub *h, const char *name, const char *key);

/* Runs a command with its output discarded; its wall time in ms, or -1 when
 * it did not exit 0. */
double fleet_run_ms(char *const argv[]);

#endif
