/*
 * channel.c — see channel.h.
 */
#include "config.h"
#include "core/channel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/defs.h"

int
cq_channel_pair(int fds_r[2])
{
	return socketpair(AF_UNIX,
		SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_r);
}

void
cq_channel_msg_init(cq_channel_msg_t *msg, cq_channel_cmd_t cmd)
{
	memset(msg, 0, sizeof(*msg));
	msg->magic = CQ_CHANNEL_MAGIC;
	msg->version = CQ_CHANNEL_VERSION;
	msg->command = (uint16_t)cmd;
}

int
cq_channel_send(int chan, const cq_channel_msg_t *msg, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {(void *)msg, sizeof(*msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(chan, &mh, MSG_NOSIGNAL);
		if (n == (ssize_t)sizeof(*msg))
			return 0;
		if (n >= 0) {
			errno = EMSGSIZE;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return CQ_AGAIN;
		return -1;
	}
}

/* The descriptor attached to 'mh', or -1; extra descriptors are closed. */
static int
take_fd(struct msghdr *mh)
{
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
		c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
				sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

int
cq_channel_recv(int chan, cq_channel_msg_t *msg_r, int *fd_r)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = {msg_r, sizeof(*msg_r)};
	struct msghdr mh = {.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf)};
	ssize_t n;

	*fd_r = -1;
	do {
		n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET) {
		/* The peer closed its end with a message of ours unread (a
		 * worker that stops on its own signal, before the master's
		 * stop command reaches it): an end like any other. */
		errno = 0;
		return -1;
	}
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? CQ_AGAIN
								 : -1;
	int fd = take_fd(&mh);
	if (n == 0) {
		if (fd >= 0)
			close(fd);
		errno = 0;
		return -1;
	}
	if (n != (ssize_t)sizeof(*msg_r) || (mh.msg_flags & MSG_TRUNC) ||
		msg_r->magic != CQ_CHANNEL_MAGIC ||
		msg_r->version != CQ_CHANNEL_VERSION) {
		if (fd >= 0)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	*fd_r = fd;
	return 0;
}
