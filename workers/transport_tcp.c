/*
 * transport_tcp.c — the plain stream-socket transport (TCP and Unix).
 *
 * No state of its own: reads and writes go straight to the descriptor.
 * MSG_NOSIGNAL keeps a write to a peer that went away from raising
 * SIGPIPE (the worker ignores it anyway; this makes the transport safe on
 * its own).  cq_sock_read/cq_sock_write are also the bottom of the
 * WebSocket transport when no TLS is below it.
 */
#include "config.h"
#include "workers/transport.h"

#include <errno.h>
#include <sys/socket.h>

#include "core/defs.h"
#include "workers/conn.h"

static int
tcp_open(cq_conn_t *c)
{
	(void)c;
	return 0;
}

static int
tcp_handshake(cq_conn_t *c)
{
	(void)c;
	return 0;
}

ssize_t
cq_sock_read(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return CQ_AGAIN;
		return -1;
	}
}

ssize_t
cq_sock_write(int fd, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return CQ_AGAIN;
		return -1;
	}
}

static ssize_t
tcp_read(cq_conn_t *c, void *buf, size_t len)
{
	return cq_sock_read(c->fd, buf, len);
}

static ssize_t
tcp_write(cq_conn_t *c, const void *buf, size_t len)
{
	return cq_sock_write(c->fd, buf, len);
}

static void
tcp_close(cq_conn_t *c)
{
	(void)c;
}

const cq_transport_ops_t cq_transport_tcp = {
	.name = "tcp",
	.open = tcp_open,
	.handshake = tcp_handshake,
	.read = tcp_read,
	.write = tcp_write,
	.close = tcp_close,
};
