/* hub_http: the hub's HTTP listener (ss_http on libmicrohttpd, its own
 * thread): GET /metrics for Prometheus and GET / (the status page) for
 * operators, read-only.
 *
 * Who may look: on a loopback address (the default, 127.0.0.1:7703) the
 * host's own users, as with the admin socket. An address other hosts can
 * reach needs operators' tokens (http_auth, a file "NAME TOKEN" per line,
 * readable by the hub's user only): every request then names an operator
 * (Basic authentication NAME:TOKEN, or "Authorization: Bearer TOKEN"),
 * whose role is looked up at each request in the hub's operators, so a
 * revoked operator is shut out at once; read and admin may both look. The
 * page shows no customer details to anyone (what hqctl hides from the read
 * role it never carries). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hub_auth.h"
#include "hub_http.h"
#include "ss_http.h"

#define MAX_TOKENS 256
#define MIN_TOKEN_BYTES 16
#define PAGE_REFRESH_S 10

struct hub_http_token {
	char name[72];
	char token[128];
};

struct hub_http {
	struct ss_http *server;
	struct hub_http_token tokens[MAX_TOKENS];
	size_t n_tokens;
	int need_auth;
};

/* Compares without an early exit, so the time taken tells nothing. */
static int same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
	return diff == 0;
}

static int load_tokens(struct hub_http *hh, const char *path, char *err, size_t errlen)
{
	char line[256];
	struct stat st;
	FILE *f = fopen(path, "r");
	int no = 0;

	if (!f) {
		snprintf(err, errlen, "http_auth: cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		snprintf(err, errlen, "http_auth: %s may be read by others (mode %04o); chmod 600 it",
			path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	while (fgets(line, sizeof line, f)) {
		struct hub_http_token *t = &hh->tokens[hh->n_tokens];
		char extra;

		no++;
		if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (hh->n_tokens == MAX_TOKENS
			|| sscanf(line, "%71s %127s %c", t->name, t->token, &extra) != 2
			|| strlen(t->token) < MIN_TOKEN_BYTES) {
			snprintf(err, errlen, "http_auth: %s line %d: expected \"OPERATOR TOKEN\" (a token of "
				"at least %d characters; at most %d lines)", path, no, MIN_TOKEN_BYTES, MAX_TOKENS);
			goto fail;
		}
		hh->n_tokens++;
	}
	fclose(f);
	if (hh->n_tokens)
		return 0;
	snprintf(err, errlen, "http_auth: %s names no operator", path);
	return -1;
fail:
	fclose(f);
	return -1;
}

/* The operator a request comes as, or NULL. */
static const char *who(struct hub_http *hh, const struct ss_http_request *req)
{
	if (!req->secret)
		return NULL;
	for (size_t i = 0; i < hh->n_tokens; i++)
		if ((!req->user || strcmp(req->user, hh->tokens[i].name) == 0)
			&& same_secret(req->secret, hh->tokens[i].token))
			return hh->tokens[i].name;
	return NULL;
}

static void reply_text(struct ss_http_reply *rep, int status, const char *text)
{
	rep->status = status;
	rep->type = "text/plain; charset=utf-8";
	rep->body = strdup(text);
	rep->len = rep->body ? strlen(rep->body) : 0;
}

/* 0 when the request may be answered; otherwise rep says why not. */
static int allowed(struct hub *h, const struct ss_http_request *req, struct ss_http_reply *rep)
{
	struct hub_http *hh = h->http;
	const char *name, *role = NULL;
	char buf[16];
	MDB_txn *txn;

	if (!hh->need_auth)
		return 0;
	if (!(name = who(hh, req))) {
		rep->ask_auth = 1;
		return -1;
	}
	if (ss_lmdb_read_begin(&h->db, &txn) == 0) {
		role = hub_auth_role(h, txn, name, buf, sizeof buf);
		ss_lmdb_read_end(&h->db, txn);
	}
	if (role)
		return 0;
	reply_text(rep, 403, "not an active operator\n");
	return -1;
}

static void serve(void *arg, const struct ss_http_request *req, struct ss_http_reply *rep)
{
	struct hub *h = arg;
	int page = strcmp(req->path, "/") == 0 || strcmp(req->path, "/status") == 0;
	FILE *f;
	int rc;

	if (allowed(h, req, rep) != 0)
		return;
	if (!page && strcmp(req->path, "/metrics") != 0) {
		reply_text(rep, 404, "not found: this hub serves /metrics and / (the status page)\n");
		return;
	}
	if (!(f = open_memstream(&rep->body, &rep->len)))
		return;
	rc = page ? hub_status_page_write(h, f, PAGE_REFRESH_S) : hub_metrics_write(h, f);
	fclose(f);
	if (rc != 0) {
		free(rep->body);
		reply_text(rep, 503, "hub storage unavailable\n");
		return;
	}
	rep->type = page ? "text/html; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8";
}

int hub_http_start(struct hub *h, char *err, size_t errlen)
{
	struct hub_http *hh;

	if (ss_http_off(h->cfg.http))
		return 0;
	if (ss_http_check_addr(h->cfg.http, err, errlen) != 0)
		return -1;
	if (!(hh = calloc(1, sizeof *hh))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->http = hh;
	if (h->cfg.http_auth[0] && load_tokens(hh, h->cfg.http_auth, err, errlen) != 0)
		return -1;
	hh->need_auth = hh->n_tokens > 0;
	if (!hh->need_auth && !ss_http_loopback(h->cfg.http)) {
		snprintf(err, errlen, "http: %s can be reached from other hosts; give operators' "
			"tokens (--http-auth FILE) or listen on 127.0.0.1", h->cfg.http);
		return -1;
	}
	hh->server = ss_http_start(h->cfg.http, 1, serve, h, err, errlen);
	return hh->server ? 0 : -1;
}

void hub_http_stop(struct hub *h)
{
	if (!h->http)
		return;
	ss_http_stop(&h->http->server);
	free(h->http);
	h->http = NULL;
}
