/* fuzzlib: what the libFuzzer harnesses share. The daemons' engines run
 * in-process on a scratch LMDB (on tmpfs when there is one, so a commit's
 * fsync costs little), with inproc sockets standing in for the endpoints so
 * every answer can be read back and checked. A harness defines
 * LLVMFuzzerTestOneInput; libFuzzer drives it under FUZZ=ON, and replay.c
 * feeds it every file of its corpus in the normal build (CTest). */
#ifndef FUZZLIB_H
#define FUZZLIB_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "agent.h"
#include "hub.h"

/* An invariant broken: says which, and aborts (libFuzzer keeps the input). */
#define FZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)
_Noreturn void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Quiet logs, a scratch directory (under $SS_FUZZ_SCRATCH, else /dev/shm
 * or /tmp) removed at a normal exit; call once. */
void fz_init(void);
/* A fresh subdirectory of the scratch directory. */
void fz_dir(char *out, size_t len, const char *name);

/* A hub engine on a fresh LMDB: its link ROUTER and operators' channel are
 * inproc sockets; `peer` is a DEALER on the link (routing id "fuzz-peer")
 * and `worker` a DEALER on the operators' channel (routing id "fuzz-wk"). */
struct fz_hub {
	struct hub h;
	void *peer, *worker;
};

void fz_hub_open(struct fz_hub *f);
void fz_hub_close(struct fz_hub *f);
/* Runs one writer round on buf as a message from the peer (link) or as an
 * operator write from the worker (ops). */
void fz_hub_link(struct fz_hub *f, const void *buf, size_t len);
void fz_hub_op(struct fz_hub *f, const void *buf, size_t len);

/* Gives the hub something to answer about: store S1 says Hello and sends
 * one record of every kind (the examples of docs/records.md), and S2 one
 * sale. */
void fz_hub_seed(struct fz_hub *f);
/* The seed records as JSON Lines, time_ms at t_ms; NULL-terminated. */
extern const char *const fz_seed_records[];

/* A store agent (store "S1") on a fresh LMDB: its local ROUTER is inproc,
 * `till` a DEALER speaking as a REQ client would; its hub link is a DEALER
 * connected to `hub` (a ROUTER) that receives what the agent sends up. */
struct fz_agent {
	struct agent a;
	void *till, *hub;
};

void fz_agent_open(struct fz_agent *f);
void fz_agent_close(struct fz_agent *f);

/* Receives one whole message of up to max frames from sock without
 * waiting: its frame count (frames closed by the caller), or 0 when none
 * is waiting. */
int fz_recv(void *sock, zmq_msg_t *frames, int max);

#endif
