/* ss_client: how the command lines (hqctl, storectl) reach their daemon:
 * where the endpoint comes from, failing at once when it cannot be reached,
 * a timeout on every answer, and a check that the answer comes from the
 * right kind of daemon. Every call returns an ss_exit status and fills a
 * one-line reason; the command prints it. */
#ifndef SS_CLIENT_H
#define SS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ss_arena.h"
#include "ss_curve.h"
#include "ss_proto.h"

/* Exit statuses of every command line (documented in --help and README). */
enum ss_exit {
	SS_EXIT_OK = 0,
	SS_EXIT_REFUSED = 1,      /* the daemon refused the request */
	SS_EXIT_USAGE = 2,        /* bad flags, arguments or client config */
	SS_EXIT_UNREACHABLE = 3,  /* no daemon of the right kind answered */
};

#define SS_CLIENT_TIMEOUT_MS 5000

/* What a command line talks to. */
struct ss_client_kind {
	const char *prog;      /* "hqctl": names prog.ini and its [prog] section */
	const char *key;       /* INI key of the endpoint: "hub", "agent" */
	const char *env;       /* environment variable: "STORESYNC_HUB" */
	const char *def;       /* default endpoint */
	const char *service;   /* what its replies' service field says */
	const char *what;      /* for "X is not a ...": "hub query endpoint" */
	/* CurveZMQ (hqctl): environment variables of the client's key pair
	 * file and of the server's public key; NULL: the kind has none. */
	const char *identity_env, *server_key_env;
	/* What it means when the server closes a plaintext connection during
	 * its handshake (the agent past max_local_clients); NULL: nothing
	 * particular. */
	const char *closed_at_handshake;
};

struct ss_client {
	const struct ss_client_kind *kind;
	char endpoint[512];
	int timeout_ms;
	int64_t max_reply_bytes;  /* -1: no limit (the hub's answers can be large) */
	/* Non-NULL: replies are unpacked into it (release it, never
	 * free_unpacked them): 10,000 stores' rows are 300,000 cells, and
	 * protobuf-c's malloc and free of each cost hqctl a tenth of a second. */
	struct ss_arena *arena;
	void *zctx, *sock;
	void *monitor;            /* the socket's handshake events */
	/* The first answer is due timeout_ms after the open began, the
	 * connect's wait included; each later one timeout_ms after its send. */
	int64_t open_mono;
	int answered;
	int curve;                /* talk CurveZMQ with pair to server_public */
	struct ss_curve_pair pair;
	char server_public[SS_CURVE_KEY_CHARS + 1];
	char file_identity[1024], file_server_key[1024]; /* from the config file */
};

/* Settles c's endpoint and timeout. The endpoint is endpoint_flag when
 * given (non-NULL), else $kind->env, else `key` in the client config file
 * ($XDG_CONFIG_HOME or ~/.config, then storesync/PROG.ini, section [PROG]),
 * else kind->def. The timeout is timeout_flag, else the file's `timeout`,
 * else SS_CLIENT_TIMEOUT_MS. SS_EXIT_OK, or SS_EXIT_USAGE with a reason
 * (a bad timeout, a config file that does not parse). */
int ss_client_init(struct ss_client *c, const struct ss_client_kind *kind,
	const char *endpoint_flag, const char *timeout_flag, char *err, size_t errlen);
/* CurveZMQ for c: the key pair file is identity_flag, else
 * $kind->identity_env, else `identity` in the client config file; the
 * server's key (40 Z85 characters or a .pub file) server_key_flag, else
 * $kind->server_key_env, else `hub_key` in the file. Neither: plaintext
 * (the hub's admin socket). SS_EXIT_OK, or SS_EXIT_USAGE with a reason
 * (only one of the two, a key file that does not load or that others can
 * read). */
int ss_client_set_curve(struct ss_client *c, const char *identity_flag,
	const char *server_key_flag, char *err, size_t errlen);
/* Seconds ("5", "0.5") into milliseconds, 1 ms .. 1 day; 0 or -1. */
int ss_client_parse_timeout(const char *text, int *ms);

/* Connects, and checks now that something listens: ZeroMQ's first
 * connect succeeds (tcp: within the timeout); when it fails, a connect of
 * our own says why (ipc: no socket file, no permission, refused; tcp:
 * refused, unresolved). A call that connects makes one connection, so
 * the daemon sees no extra one closed mid-handshake. SS_EXIT_OK, or
 * SS_EXIT_UNREACHABLE with the reason, e.g. "permission denied on
 * /run/storesync/agent.sock". */
int ss_client_open(struct ss_client *c, char *err, size_t errlen);
void ss_client_close(struct ss_client *c);

/* One request (proto_version is set here) and its reply. SS_EXIT_OK with
 * *reply (free it with its free_unpacked), or SS_EXIT_UNREACHABLE with a
 * reason: the server refused the handshake (a key it does not know, Curve
 * against plaintext or the other way round: said at once), no answer
 * within the timeout, or the answer is not from a daemon of c's kind. A refusal is a reply with `error` set; the caller decides.
 * With c->arena, *reply lives in the arena (ss_arena_release frees it). */
int ss_client_query(struct ss_client *c, Storesync__QueryRequest *req,
	Storesync__QueryReply **reply, char *err, size_t errlen);
int ss_client_local(struct ss_client *c, Storesync__LocalRequest *req,
	Storesync__LocalReply **reply, char *err, size_t errlen);

#endif
