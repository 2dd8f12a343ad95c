/* ss_admit: see ss_admit.h. The monitor's events come late: by the time
 * one is read, libzmq may have closed the descriptor it names and the
 * number may be another socket's (a client's, an HTTP listener's), which
 * must not be shut down. So a refusal first checks that the descriptor is
 * still a connection of the listener: its local port (tcp) or path (ipc)
 * must be the bound endpoint's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ss_admit.h"

int ss_admit_init(struct ss_admit *g, int64_t max, const char *bound)
{
	struct rlimit rl;

	memset(g, 0, sizeof *g);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	g->max = max;
	g->bound = bound;
	g->n_state = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (size_t)rl.rlim_cur;
	if (!(g->state = calloc(g->n_state, 1)))
		return -1;
	return 0;
}

void ss_admit_free(struct ss_admit *g)
{
	free(g->state);
	g->state = NULL;
	g->n_state = 0;
}

/* Is fd (still) a connection of the listener? Yes when its endpoint is not
 * known. */
static int on_listener(const struct ss_admit *g, int fd)
{
	const char *ep = g->bound ? g->bound : "", *colon = strrchr(ep, ':');
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (!ep[0])
		return 1;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_UNIX)
		return strncmp(ep, "ipc://", 6) == 0
			&& strcmp(((struct sockaddr_un *)&ss)->sun_path, ep + 6) == 0;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return 0;
	if (strncmp(ep, "tcp://", 6) != 0 || !colon)
		return 0;
	return atoi(colon + 1) == ntohs(ss.ss_family == AF_INET
		? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

int ss_admit_accepted(struct ss_admit *g, int fd)
{
	if (fd >= 0 && (size_t)fd < g->n_state && g->admitted < g->max) {
		g->state[fd] = SS_ADMIT_ADMITTED;
		g->admitted++;
		return 1;
	}
	if (fd >= 0 && (size_t)fd < g->n_state)
		g->state[fd] = SS_ADMIT_REFUSED;
	/* libzmq sees the connection end and closes the descriptor. */
	if (fd >= 0 && on_listener(g, fd))
		shutdown(fd, SHUT_RDWR);
	return 0;
}

void ss_admit_closed(struct ss_admit *g, int fd)
{
	if (fd < 0 || (size_t)fd >= g->n_state)
		return;
	if (g->state[fd] != SS_ADMIT_ADMITTED)
		return;
	g->admitted--;
	g->state[fd] = SS_ADMIT_UNKNOWN;
}

int ss_admit_state(const struct ss_admit *g, int fd)
{
	return fd >= 0 && (size_t)fd < g->n_state ? g->state[fd] : SS_ADMIT_UNKNOWN;
}
