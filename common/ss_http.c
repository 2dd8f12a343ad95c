/* ss_http: one HTTP listener on libmicrohttpd (Debian's libmicrohttpd 0.9.75).
 *
 * Bounded by construction: at most MAX_CONNECTIONS connections at once,
 * CONNECTION_TIMEOUT_S of idleness each, no request body accepted (only GET
 * and HEAD are served; anything else gets 405 before any handler runs),
 * and the answer is built whole by the daemon's handler, which reads state
 * only: these callbacks never touch LMDB write state (read transactions
 * only, like the query workers). */
#include "ss_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNECTIONS 64
#define CONNECTION_TIMEOUT_S 10

struct ss_http {
	struct MHD_Daemon *d;
	ss_http_fn fn;
	void *arg;
};

int ss_http_off(const char *addr)
{
	return !*addr || strcmp(addr, "off") == 0 || strcmp(addr, "none") == 0;
}

static int parse_addr(const char *addr, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - addr) >= sizeof host)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int ss_http_check_addr(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_in sa;

	if (parse_addr(addr, &sa) == 0)
		return 0;
	snprintf(err, errlen, "http: \"%s\" is not IPV4:PORT (e.g. 127.0.0.1:7703) or off", addr);
	return -1;
}

int ss_http_loopback(const char *addr)
{
	struct sockaddr_in sa;

	return parse_addr(addr, &sa) == 0 && (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
}

const char *ss_http_arg(const struct ss_http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct ss_http_reply *rep)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(rep->len, rep->body,
		MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!resp) {
		free(rep->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", rep->type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (rep->ask_auth)
		rc = MHD_queue_basic_auth_fail_response(c, "storesync", resp);
	else
		rc = MHD_queue_response(c, (unsigned)rep->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void text_reply(struct ss_http_reply *rep, int status, const char *text)
{
	rep->status = status;
	rep->type = "text/plain; charset=utf-8";
	rep->body = strdup(text);
	rep->len = rep->body ? strlen(rep->body) : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload_data, size_t *upload_size,
	void **con_cls)
{
	struct ss_http *s = cls;
	struct ss_http_reply rep = { 200, "text/plain; charset=utf-8", NULL, 0, 0 };
	struct ss_http_request req = { method, url, NULL, NULL, c };
	char *user = NULL, *pass = NULL;
	const char *auth;

	(void)version;
	(void)upload_data;
	/* The first call only announces the request (its headers are read). */
	if (!*con_cls) {
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size)
		return MHD_NO;   /* no bodies: a client sending one is cut */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		text_reply(&rep, 405, "only GET and HEAD are served here\n");
		return send_reply(c, &rep);
	}
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (auth && strncmp(auth, "Bearer ", 7) == 0) {
		req.secret = auth + 7;
	} else if (auth) {
		user = MHD_basic_auth_get_username_password(c, &pass);
		req.user = user;
		req.secret = pass;
	}
	s->fn(s->arg, &req, &rep);
	MHD_free(user);
	MHD_free(pass);
	if (!rep.body && !rep.ask_auth)
		text_reply(&rep, 500, "out of memory\n");
	if (!rep.body) {
		rep.body = strdup("authentication required\n");
		rep.len = rep.body ? strlen(rep.body) : 0;
	}
	return send_reply(c, &rep);
}

struct ss_http *ss_http_start(const char *addr, int own_thread, ss_http_fn fn, void *arg,
	char *err, size_t errlen)
{
	struct sockaddr_in sa;
	struct ss_http *s;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (parse_addr(addr, &sa) != 0) {
		ss_http_check_addr(addr, err, errlen);
		return NULL;
	}
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->fn = fn;
	s->arg = arg;
	if (own_thread)
		flags |= MHD_USE_INTERNAL_POLLING_THREAD;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
		MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot listen for HTTP on %s (in use, or not an address "
			"of this host)", addr);
		free(s);
		return NULL;
	}
	return s;
}

int ss_http_fd(struct ss_http *s)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void ss_http_run(struct ss_http *s)
{
	MHD_run(s->d);
}

void ss_http_stop(struct ss_http **s)
{
	if (!*s)
		return;
	MHD_stop_daemon((*s)->d);
	free(*s);
	*s = NULL;
}
