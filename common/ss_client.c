/* ss_client: the command lines' side of a daemon's endpoint.
 *
 * Invariant: a command never waits longer than its timeout, and says which
 * of three things went wrong: nothing to reach (no socket file, no
 * permission, connection refused: known at once, from the first connect
 * ZeroMQ attempts, because a ZeroMQ connect never fails, it retries
 * forever), nobody answered in time, or the answer came from something
 * that is not the daemon asked for. All three are "could not reach"
 * (SS_EXIT_UNREACHABLE).
 *
 * The socket is a DEALER that sends the empty delimiter a REQ would: the
 * daemons' ROUTERs treat it as a REQ client, and unlike REQ it hands us any
 * frames that come back, so a peer that answers in another protocol (the
 * hub's store link refusing a stray message) is recognised instead of
 * silently dropped. Every reply carries a `service` field (query.proto,
 * local.proto) naming the daemon that sent it. */
#include "ss_client.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "ss_config.h"
#include "ss_fs.h"
#include "ss_link.h"
#include "ss_time.h"

#define MAX_TIMEOUT_MS (24 * 3600 * 1000)
#define HANDSHAKE_FAILED_EVENTS (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH \
	| ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

int ss_client_parse_timeout(const char *text, int *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (end == text || *end != '\0' || errno != 0 || !isfinite(s) || s * 1000 < 1
		|| s * 1000 > MAX_TIMEOUT_MS)
		return -1;
	*ms = (int)(s * 1000);
	return 0;
}

/* The client config file's path ($XDG_CONFIG_HOME or ~/.config), or -1. */
static int file_path(const struct ss_client_kind *k, char *path, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(path, len, "%s/storesync/%s.ini", xdg, k->prog);
	else if (home && home[0])
		snprintf(path, len, "%s/.config/storesync/%s.ini", home, k->prog);
	else
		return -1;
	return access(path, F_OK) == 0 ? 0 : -1;
}

/* Reads the client config file, when there is one: the endpoint (kind's
 * key), timeout and, for a client that speaks CurveZMQ, identity and
 * hub_key of its section; every other key is refused. */
static int load_file(struct ss_client *c, char *endpoint, size_t elen, char *timeout,
	size_t tlen, char *err, size_t errlen)
{
	const struct ss_client_kind *k = c->kind;
	struct ss_config_item items[] = {
		{ k->prog, k->key, SS_CFG_STRING, endpoint, elen, 0, 0 },
		{ k->prog, "timeout", SS_CFG_STRING, timeout, tlen, 0, 0 },
		{ k->prog, "identity", SS_CFG_STRING, c->file_identity, sizeof c->file_identity, 0, 0 },
		{ k->prog, "hub_key", SS_CFG_STRING, c->file_server_key, sizeof c->file_server_key,
			0, 0 },
		{ 0 },
	};
	char path[1024];

	if (!k->identity_env)
		memset(&items[2], 0, sizeof items[2]);
	if (file_path(k, path, sizeof path) != 0)
		return 0;
	return ss_config_load(path, items, err, errlen);
}

/* flag, else the environment variable env, else from_file, else NULL. */
static const char *setting(const char *flag, const char *env, const char *from_file)
{
	const char *e = env ? getenv(env) : NULL;

	return flag ? flag : e && e[0] ? e : from_file[0] ? from_file : NULL;
}

int ss_client_init(struct ss_client *c, const struct ss_client_kind *kind,
	const char *endpoint_flag, const char *timeout_flag, char *err, size_t errlen)
{
	char file_endpoint[512] = "", file_timeout[32] = "";
	const char *ep, *timeout;

	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->max_reply_bytes = SS_MAX_MSG_BYTES;
	if (load_file(c, file_endpoint, sizeof file_endpoint, file_timeout, sizeof file_timeout,
		err, errlen) != 0)
		return SS_EXIT_USAGE;
	if (!(ep = setting(endpoint_flag, kind->env, file_endpoint)))
		ep = kind->def;
	timeout = setting(timeout_flag, NULL, file_timeout);
	if (snprintf(c->endpoint, sizeof c->endpoint, "%s", ep) >= (int)sizeof c->endpoint) {
		snprintf(err, errlen, "endpoint too long");
		return SS_EXIT_USAGE;
	}
	c->timeout_ms = SS_CLIENT_TIMEOUT_MS;
	if (timeout && ss_client_parse_timeout(timeout, &c->timeout_ms) != 0) {
		snprintf(err, errlen, "timeout: \"%s\" is not a number of seconds", timeout);
		return SS_EXIT_USAGE;
	}
	return SS_EXIT_OK;
}

int ss_client_set_curve(struct ss_client *c, const char *identity_flag,
	const char *server_key_flag, char *err, size_t errlen)
{
	char why[600];
	const char *identity, *key;

	if (!c->kind->identity_env)
		return SS_EXIT_OK;
	/* An empty flag is "no key": plaintext (the hub's admin socket) for a
	 * user whose environment or config file names keys for another hub;
	 * with the other flag naming a key it is a contradiction. */
	if ((identity_flag && !identity_flag[0]) || (server_key_flag && !server_key_flag[0])) {
		if ((identity_flag && identity_flag[0]) || (server_key_flag && server_key_flag[0])) {
			snprintf(err, errlen, "--identity and --hub-key: one is empty (plaintext), the "
				"other names a key (CurveZMQ); give both or neither");
			return SS_EXIT_USAGE;
		}
		return SS_EXIT_OK;
	}
	identity = setting(identity_flag, c->kind->identity_env, c->file_identity);
	key = setting(server_key_flag, c->kind->server_key_env, c->file_server_key);
	if (!identity && !key)
		return SS_EXIT_OK;
	if (!identity || !key) {
		snprintf(err, errlen, "CurveZMQ needs both an identity (your key pair, $%s) and the "
			"hub's public key ($%s)", c->kind->identity_env, c->kind->server_key_env);
		return SS_EXIT_USAGE;
	}
	if (ss_curve_load_pair(identity, &c->pair, why, sizeof why) != 0
		|| ss_curve_load_public(key, c->server_public, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s", why);
		return SS_EXIT_USAGE;
	}
	c->curve = 1;
	return SS_EXIT_OK;
}

static int probe_ipc(const struct ss_client *c, const char *path, char *err, size_t errlen)
{
	int rc = ss_fs_unix_probe(path);

	if (rc == 0)
		return SS_EXIT_OK;
	if (rc == -ENOENT)
		snprintf(err, errlen, "no socket at %s (is %s running?)", path, c->kind->service);
	else if (rc == -EACCES || rc == -EPERM)
		snprintf(err, errlen, "permission denied on %s", path);
	else if (rc == -ECONNREFUSED)
		snprintf(err, errlen, "nothing listens on %s (is %s running?)", path,
			c->kind->service);
	else
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(-rc));
	return SS_EXIT_UNREACHABLE;
}

/* One non-blocking connect, waited for up to timeout_ms; 0 or an errno. */
static int tcp_try(const struct addrinfo *ai, int timeout_ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		ai->ai_protocol), e = 0;
	socklen_t len = sizeof e;
	struct pollfd p;

	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		e = errno;
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (e == EINPROGRESS) {
			e = poll(&p, 1, timeout_ms) == 1 ? 0 : ETIMEDOUT;
			if (e == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
				e = errno;
		}
	}
	close(fd);
	return e;
}

/* tcp://HOST:PORT or tcp://[V6]:PORT; other forms (a source address, an
 * interface name) are left to ZeroMQ and the reply timeout. */
static int probe_tcp(const struct ss_client *c, const char *hostport, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':'), *h = hostport;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	size_t hl;
	int rc = 0;

	if (!colon || strchr(hostport, ';'))
		return SS_EXIT_OK;
	hl = (size_t)(colon - hostport);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof host)
		return SS_EXIT_OK;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return SS_EXIT_UNREACHABLE;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if ((rc = tcp_try(ai, c->timeout_ms)) == 0)
			break;
	freeaddrinfo(res);
	if (rc == 0)
		return SS_EXIT_OK;
	snprintf(err, errlen, "cannot connect to %s: %s", c->endpoint, strerror(rc));
	return SS_EXIT_UNREACHABLE;
}

/* 1 for the transports probe() can ask (ipc, tcp); the others are left
 * to the reply timeout. */
static int probeable(const char *endpoint)
{
	return strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "tcp://", 6) == 0;
}

/* Why nothing listens, from a bare connect of our own to a probeable
 * endpoint. SS_EXIT_OK when something does after all. */
static int probe(const struct ss_client *c, char *err, size_t errlen)
{
	return strncmp(c->endpoint, "ipc://", 6) == 0 ? probe_ipc(c, c->endpoint + 6, err, errlen)
		: probe_tcp(c, c->endpoint + 6, err, errlen);
}

/* ZeroMQ's connect never fails, it retries for ever; its first attempt,
 * seen on the socket's monitor, tells at once whether anything listens:
 * CONNECTED, or CONNECT_RETRIED when the connect failed. Only then does
 * probe() connect on its own to say why (no socket file, permission,
 * refused). Probing first, on every call, was a connection the server saw
 * closed mid-handshake: the hub counted a handshake failure per hqctl.
 * A retry the probe finds a listener behind (a full backlog, a daemon
 * just up) is left to ZeroMQ's next attempt and the reply timeout. */
static int first_attempt(struct ss_client *c, char *err, size_t errlen)
{
	int64_t deadline = c->open_mono + c->timeout_ms, left;
	uint16_t event;
	int32_t value;

	if (!probeable(c->endpoint))
		return SS_EXIT_OK;
	while ((left = deadline - ss_mono_ms()) > 0) {
		zmq_pollitem_t it = { c->monitor, 0, ZMQ_POLLIN, 0 };

		if (zmq_poll(&it, 1, (long)left) < 0 && errno != EINTR)
			break;
		while (ss_link_monitor_event(c->monitor, &event, &value)) {
			if (event == ZMQ_EVENT_CONNECTED)
				return SS_EXIT_OK;
			if (event == ZMQ_EVENT_CONNECT_RETRIED)
				return probe(c, err, errlen);
		}
	}
	snprintf(err, errlen, "no connection to %s within %g s (name resolution or connect)",
		c->endpoint, c->timeout_ms / 1000.0);
	return SS_EXIT_UNREACHABLE;
}

int ss_client_open(struct ss_client *c, char *err, size_t errlen)
{
	c->open_mono = ss_mono_ms();
	c->answered = 0;
	c->zctx = zmq_ctx_new();
	c->sock = c->zctx ? ss_link_socket(c->zctx, ZMQ_DEALER, err, errlen) : NULL;
	if (!c->sock) {
		snprintf(err, errlen, "cannot create a ZeroMQ socket");
		return SS_EXIT_UNREACHABLE;
	}
	zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &c->max_reply_bytes, sizeof c->max_reply_bytes);
	zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &c->timeout_ms, sizeof c->timeout_ms);
	if (c->curve && ss_curve_client(c->sock, &c->pair, c->server_public) != 0) {
		snprintf(err, errlen, "cannot set CurveZMQ: %s", zmq_strerror(errno));
		return SS_EXIT_UNREACHABLE;
	}
	if (!(c->monitor = ss_link_monitor(c->zctx, c->sock, "inproc://ss-client-monitor",
		ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | HANDSHAKE_FAILED_EVENTS))) {
		snprintf(err, errlen, "cannot monitor the connection: %s", zmq_strerror(errno));
		return SS_EXIT_UNREACHABLE;
	}
	if (zmq_connect(c->sock, c->endpoint) != 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", c->endpoint, zmq_strerror(errno));
		return SS_EXIT_UNREACHABLE;
	}
	return first_attempt(c, err, errlen);
}

void ss_client_close(struct ss_client *c)
{
	ss_link_close_watched(c->sock, c->monitor);
	c->monitor = NULL;
	if (c->zctx)
		zmq_ctx_term(c->zctx);
	c->sock = c->zctx = NULL;
}

static int not_kind(const struct ss_client *c, const char *service, char *err, size_t errlen)
{
	if (service && service[0])
		snprintf(err, errlen, "%s is not a %s (it answers as %.40s)", c->endpoint,
			c->kind->what, service);
	else
		snprintf(err, errlen, "%s is not a %s", c->endpoint, c->kind->what);
	return SS_EXIT_UNREACHABLE;
}

/* Why the server would not have us, from a handshake failure. */
static void refused(const struct ss_client *c, uint16_t event, char *err, size_t errlen)
{
	/* No detail: the connection ended before the handshake did; a CurveZMQ
	 * server against plaintext is a protocol error (a mechanism mismatch). */
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && !c->curve
		&& c->kind->closed_at_handshake)
		snprintf(err, errlen, "%s: %s", c->endpoint, c->kind->closed_at_handshake);
	else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		snprintf(err, errlen, "%s refused our key (is it registered there, and not revoked?)",
			c->endpoint);
	else if (c->curve)
		snprintf(err, errlen, "%s refused the CurveZMQ handshake (the server's public key is "
			"not the one configured, or it does not speak CurveZMQ)", c->endpoint);
	else if (!c->kind->identity_env)
		snprintf(err, errlen, "%s is not a %s: it speaks CurveZMQ, as a hub does",
			c->endpoint, c->kind->what);
	else
		snprintf(err, errlen, "%s refused a plaintext connection: it speaks CurveZMQ (set "
			"$%s and $%s, or use the hub's admin socket)", c->endpoint,
			c->kind->identity_env ? c->kind->identity_env : "the identity",
			c->kind->server_key_env ? c->kind->server_key_env : "the server key");
}

/* Waits for a reply, or a handshake failure, up to the timeout. */
static int wait_answer(struct ss_client *c, char *err, size_t errlen)
{
	int64_t deadline = (c->answered ? ss_mono_ms() : c->open_mono) + c->timeout_ms, left;

	while ((left = deadline - ss_mono_ms()) > 0) {
		zmq_pollitem_t it[2] = { { c->sock, 0, ZMQ_POLLIN, 0 },
			{ c->monitor, 0, ZMQ_POLLIN, 0 } };
		zmq_msg_t f[2];
		uint16_t event = 0;
		int n;

		if (zmq_poll(it, c->monitor ? 2 : 1, (long)left) > 0 && (it[0].revents & ZMQ_POLLIN)) {
			c->answered = 1;
			return 0;
		}
		if (!c->monitor || (n = ss_link_recv(c->monitor, f, 2, ZMQ_DONTWAIT)) <= 0)
			continue;
		if (zmq_msg_size(&f[0]) >= 2)
			memcpy(&event, zmq_msg_data(&f[0]), sizeof event);
		ss_link_close_frames(f, n < 2 ? n : 2);
		/* A reconnect's CONNECTED or CONNECT_RETRIED: still waiting. */
		if (!(event & HANDSHAKE_FAILED_EVENTS))
			continue;
		refused(c, event, err, errlen);
		return -1;
	}
	snprintf(err, errlen, "no answer from %s within %g s", c->endpoint, c->timeout_ms / 1000.0);
	return -1;
}

/* Sends req, waits for [empty, body]; body is initialised on SS_EXIT_OK. */
static int exchange(struct ss_client *c, const ProtobufCMessage *req, zmq_msg_t *body,
	char *err, size_t errlen)
{
	zmq_msg_t f[2];
	int n;

	if (!c->sock) {
		snprintf(err, errlen, "not connected to %s", c->endpoint);
		return SS_EXIT_UNREACHABLE;
	}
	if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE) < 0 || ss_proto_send(c->sock, req, 0) != 0) {
		snprintf(err, errlen, "cannot send to %s: %s", c->endpoint, zmq_strerror(errno));
		return SS_EXIT_UNREACHABLE;
	}
	if (wait_answer(c, err, errlen) != 0)
		return SS_EXIT_UNREACHABLE;
	n = ss_link_recv(c->sock, f, 2, 0);
	if (n != 2 || zmq_msg_size(&f[0]) != 0) {
		if (n > 0)
			ss_link_close_frames(f, n < 2 ? n : 2);
		return not_kind(c, NULL, err, errlen);
	}
	zmq_msg_close(&f[0]);
	*body = f[1];
	return SS_EXIT_OK;
}

/* The reply's service field, found by name: QueryReply and LocalReply both
 * have one (field 15), so one path checks both. */
static const char *service_of(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "service");

	return f ? *(char *const *)((const char *)m + f->offset) : NULL;
}

static int call(struct ss_client *c, const ProtobufCMessage *req,
	const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply, char *err, size_t errlen)
{
	size_t limit = c->max_reply_bytes < 0 ? SIZE_MAX : (size_t)c->max_reply_bytes;
	const char *service;
	zmq_msg_t body;
	int rc;

	*reply = NULL;
	if ((rc = exchange(c, req, &body, err, errlen)) != SS_EXIT_OK)
		return rc;
	*reply = c->arena ? ss_arena_unpack(c->arena, desc, zmq_msg_data(&body),
		zmq_msg_size(&body), limit) : ss_proto_unpack(desc, zmq_msg_data(&body),
		zmq_msg_size(&body), limit);
	zmq_msg_close(&body);
	service = *reply ? service_of(*reply) : NULL;
	if (service && strcmp(service, c->kind->service) == 0)
		return SS_EXIT_OK;
	rc = not_kind(c, service, err, errlen);
	if (*reply && !c->arena)
		protobuf_c_message_free_unpacked(*reply, NULL);
	*reply = NULL;
	return rc;
}

int ss_client_query(struct ss_client *c, Storesync__QueryRequest *req,
	Storesync__QueryReply **reply, char *err, size_t errlen)
{
	req->proto_version = SS_PROTO_VERSION;
	req->has_proto_version = 1;
	return call(c, &req->base, &storesync__query_reply__descriptor, (ProtobufCMessage **)reply,
		err, errlen);
}

int ss_client_local(struct ss_client *c, Storesync__LocalRequest *req,
	Storesync__LocalReply **reply, char *err, size_t errlen)
{
	req->proto_version = SS_PROTO_VERSION;
	req->has_proto_version = 1;
	return call(c, &req->base, &storesync__local_reply__descriptor, (ProtobufCMessage **)reply,
		err, errlen);
}
