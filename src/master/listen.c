/*
 * listen.c — see listen.h.
 */
#include "config.h"
#include "master/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

static char listen_error[512];

static const char *
set_error(const char *fmt, const char *a, const char *b, int err)
{
	snprintf(listen_error, sizeof(listen_error), fmt, a, b);
	if (err != 0) {
		size_t n = strlen(listen_error);
		snprintf(listen_error + n, sizeof(listen_error) - n, ": %s",
			strerror(err));
	}
	return listen_error;
}

int
cq_listen_resolve(const char *address, struct sockaddr_storage *ss_r,
	socklen_t *len_r, const char **error_r)
{
	char host[256];
	const char *colon = strrchr(address, ':');
	if (colon == NULL || colon[1] == '\0') {
		*error_r = set_error(
			"address \"%s\"%s: expected host:port", address, "", 0);
		return -1;
	}
	size_t hlen = (size_t)(colon - address);
	if (hlen >= sizeof(host)) {
		*error_r = set_error(
			"address \"%s\"%s: host too long", address, "", 0);
		return -1;
	}
	memcpy(host, address, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	const char *node = host;
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		node = NULL;

	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(node, colon + 1, &hints, &res);
	if (rc != 0) {
		*error_r = set_error(
			"address \"%s\": %s", address, gai_strerror(rc), 0);
		return -1;
	}
	/* For "all interfaces" prefer IPv4 0.0.0.0, like Mosquitto. */
	struct addrinfo *pick = res;
	for (struct addrinfo *ai = res; node == NULL && ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET)
			pick = ai;
	memcpy(ss_r, pick->ai_addr, pick->ai_addrlen);
	*len_r = pick->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

const char *
cq_listen_addr_text(
	const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		if (len > offsetof(struct sockaddr_un, sun_path) &&
			un->sun_path[0] != '\0')
			snprintf(buf, size, "unix:%s", un->sun_path);
		else
			snprintf(buf, size, "unix");
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}

/* A socket bound to l->addr; -1 with *error_r (errno kept). */
static int
bind_one(cq_listener_t *l, int reuseport, const char **error_r)
{
	char text[256];
	int family = l->addr.ss_family;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = set_error("listener \"%s\": socket()%s failed",
			l->spec.name, "", errno);
		return -1;
	}
	int one = 1;
	if (family != AF_UNIX) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* Accepted sockets inherit it: a worker writes its output
		 * once per loop iteration, and Nagle would only hold the
		 * last write of a burst back.  (One setsockopt per
		 * listener, not one per connection.) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				sizeof(one));
	}
	if (reuseport &&
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) <
			0) {
		*error_r = set_error(
			"listener \"%s\": setsockopt(SO_REUSEPORT)%s"
			" failed",
			l->spec.name, "", errno);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&l->addr, l->addrlen) < 0) {
		int err = errno;
		*error_r = set_error("listener \"%s\": bind() to %s failed",
			l->spec.name,
			cq_listen_addr_text((struct sockaddr *)&l->addr,
				l->addrlen, text, sizeof(text)),
			err);
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* One listening socket on l->addr; -1 with *error_r. */
static int
open_one(cq_listener_t *l, int reuseport, const char **error_r)
{
	int fd = bind_one(l, reuseport, error_r);
	if (fd < 0)
		return -1;
	if (listen(fd, l->spec.backlog > 0 ? l->spec.backlog : 4096) < 0) {
		*error_r = set_error("listener \"%s\": listen()%s failed",
			l->spec.name, "", errno);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * SO_REUSEPORT lets any process of the same user bind the same address
 * and take half the connections without an error: a second comqttd
 * started by mistake would silently split the clients.  A socket without
 * SO_REUSEPORT cannot bind where anything listens, so one such bind
 * first, closed at once, finds it.  (Port 0 picks a fresh port anyway.)
 */
static int
check_unused(cq_listener_t *l, const char **error_r)
{
	char text[256];
	const struct sockaddr_in *in = (const void *)&l->addr;
	if (in->sin_port == 0) /* same offset in sockaddr_in6 */
		return 0;
	int fd = bind_one(l, 0, error_r);
	if (fd < 0) {
		if (errno == EADDRINUSE)
			*error_r = set_error("listener \"%s\": %s is already "
					     "in use (is another broker "
					     "running?)",
				l->spec.name,
				cq_listen_addr_text((struct sockaddr *)&l->addr,
					l->addrlen, text, sizeof(text)),
				0);
		return -1;
	}
	close(fd);
	return 0;
}

static int
prepare_unix(cq_listener_t *l, const char **error_r)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&l->addr;
	size_t plen = strlen(l->spec.address);
	if (plen == 0 || plen >= sizeof(un->sun_path)) {
		*error_r = set_error("listener \"%s\": socket path \"%s\" is "
				     "empty or too long",
			l->spec.name, l->spec.address, 0);
		return -1;
	}
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, l->spec.address, plen);
	l->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
		1);
	/* A stale socket file from a previous run would make bind() fail;
	 * remove it only if it is a socket. */
	struct stat st;
	if (lstat(l->spec.address, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(l->spec.address);
	return 0;
}

int
cq_listen_open(cq_listener_t *l, unsigned nslots, const char **error_r)
{
	l->fd = -1;
	l->nslots = 0;
	for (unsigned i = 0; i < CQ_MAX_WORKERS; i++)
		l->slot_fds[i] = -1;

	if (l->spec.unix_socket) {
		if (prepare_unix(l, error_r) < 0)
			return -1;
		l->spec.handoff = 1;
	} else if (cq_listen_resolve(l->spec.address, &l->addr, &l->addrlen,
			   error_r) < 0) {
		return -1;
	}

	if (l->spec.handoff) {
		l->fd = open_one(l, 0, error_r);
		if (l->fd < 0)
			return -1;
		if (l->spec.unix_socket &&
			chmod(l->spec.address,
				l->spec.mode ? l->spec.mode : 0660) < 0) {
			*error_r = set_error("listener \"%s\": chmod() of %s "
					     "failed",
				l->spec.name, l->spec.address, errno);
			cq_listen_close(l);
			return -1;
		}
		return 0;
	}
	if (check_unused(l, error_r) < 0)
		return -1;
	for (unsigned i = 0; i < nslots; i++) {
		l->slot_fds[i] = open_one(l, 1, error_r);
		if (l->slot_fds[i] < 0) {
			cq_listen_close(l);
			return -1;
		}
		/* A hint: without it the kernel spreads by hash. */
		if (l->spec.slot_cpu != NULL &&
			setsockopt(l->slot_fds[i], SOL_SOCKET, SO_INCOMING_CPU,
				&l->spec.slot_cpu[i], sizeof(int)) < 0)
			cq_log(CQ_LOG_WARN, errno,
				"listener \"%s\": SO_INCOMING_CPU",
				l->spec.name);
		l->nslots = i + 1;
	}
	return 0;
}

void
cq_listen_close(cq_listener_t *l)
{
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
		if (l->spec.unix_socket)
			unlink(l->spec.address);
	}
	for (unsigned i = 0; i < l->nslots; i++) {
		if (l->slot_fds[i] >= 0)
			close(l->slot_fds[i]);
		l->slot_fds[i] = -1;
	}
	l->nslots = 0;
}
