/* ss_http: the daemons' HTTP listener (libmicrohttpd), for /metrics and the
 * hub's status page. Read-only: GET and HEAD, answers built whole by the
 * daemon's handler. The listen address is IPV4:PORT, or "off". */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <stddef.h>

struct ss_http;

struct ss_http_request {
	const char *method;      /* "GET" or "HEAD": others are refused before the handler */
	const char *path;        /* "/metrics" */
	const char *user;        /* Basic authentication's user, NULL when none */
	const char *secret;      /* its password, or a Bearer token (user NULL); NULL: none */
	void *conn;              /* for ss_http_arg */
};

/* A query-string argument of the request, NULL when absent. */
const char *ss_http_arg(const struct ss_http_request *r, const char *name);

struct ss_http_reply {
	int status;              /* 200 unless the handler says otherwise */
	const char *type;        /* Content-Type */
	char *body;              /* malloc'd by the handler; ss_http frees it */
	size_t len;
	int ask_auth;            /* 401: ask the browser for a user and password */
};

/* Fills rep for req; runs on the listener's thread (see ss_http_start). */
typedef void (*ss_http_fn)(void *arg, const struct ss_http_request *req,
	struct ss_http_reply *rep);

/* 1 when addr says the listener is off ("off", "none" or ""). */
int ss_http_off(const char *addr);
/* 0 when addr is IPV4:PORT (port 1..65535); -1 with a one-line reason. */
int ss_http_check_addr(const char *addr, char *err, size_t errlen);
/* 1 when addr's host is a loopback address (127.0.0.0/8). */
int ss_http_loopback(const char *addr);

/* Listens on addr. own_thread: the handler runs on a thread of the
 * listener's (it may then read only what is safe from another thread);
 * otherwise it runs inside ss_http_run, called by the daemon's own loop
 * when ss_http_fd is readable (and at least every second, for timeouts).
 * NULL with a one-line reason when it cannot listen. */
struct ss_http *ss_http_start(const char *addr, int own_thread, ss_http_fn fn, void *arg,
	char *err, size_t errlen);
int ss_http_fd(struct ss_http *s);
void ss_http_run(struct ss_http *s);
/* Stops listening and frees s; *s is set to NULL. */
void ss_http_stop(struct ss_http **s);

#endif
