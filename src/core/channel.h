/*
 * channel.h — the master <-> worker channel (nginx's ngx_channel, versioned).
 *
 * One SOCK_SEQPACKET socketpair per child slot.  Every message is one fixed
 * cq_channel_msg_t, optionally carrying one file descriptor (SCM_RIGHTS):
 * the master hands accepted connections to workers with it, workers hand an
 * untouched connection back for rebalancing, and the master sends commands
 * (stop, reload, reopen logs).  SEQPACKET keeps message boundaries, so a
 * message and its descriptor always arrive together.
 *
 * The struct is a cross-process contract: it opens with a magic and a
 * version, and a receiver refuses anything else (EPROTO).
 */
#ifndef CQ_CORE_CHANNEL_H
#define CQ_CORE_CHANNEL_H

#include <stdint.h>
#include <sys/socket.h>

#define CQ_CHANNEL_MAGIC   0x4351u /* "CQ" */
#define CQ_CHANNEL_VERSION 1u

typedef enum cq_channel_cmd {
	CQ_CHAN_CONN = 1, /* fd: an accepted connection for this worker */
	CQ_CHAN_STOP, /* graceful stop */
	CQ_CHAN_RELOAD, /* re-read the configuration */
	CQ_CHAN_REOPEN, /* reopen log files */
	CQ_CHAN_REBALANCE, /* worker -> master: fd to give another worker */
	CQ_CHAN_READY, /* worker -> master: serving */
} cq_channel_cmd_t;

typedef struct cq_channel_msg {
	uint16_t magic;
	uint16_t version;
	uint16_t command;
	uint16_t listener; /* index of the listener that accepted */
	uint16_t slot; /* sender's slot, or the destination slot */
	uint16_t flags;
	uint32_t peer_len;
	struct sockaddr_storage peer; /* the connection's remote address */
} cq_channel_msg_t;

/* A non-blocking, close-on-exec SOCK_SEQPACKET pair.  0 or -1 (errno). */
int cq_channel_pair(int fds_r[2]);

/* Fill magic/version and zero the rest. */
void cq_channel_msg_init(cq_channel_msg_t *msg, cq_channel_cmd_t cmd);

/*
 * Send one message, with 'fd' attached unless it is -1.  0, CQ_AGAIN when
 * the socket buffer is full, -1 on error (errno).
 */
int cq_channel_send(int chan, const cq_channel_msg_t *msg, int fd);

/*
 * Receive one message; *fd_r gets the attached descriptor or -1.  0,
 * CQ_AGAIN when nothing is waiting, -1 on error or EOF (errno 0 for EOF,
 * also when the peer closed with our messages unread (ECONNRESET); EPROTO
 * for a message of the wrong size, magic or version; any descriptor that
 * came with a bad message is closed).
 */
int cq_channel_recv(int chan, cq_channel_msg_t *msg_r, int *fd_r);

#endif /* CQ_CORE_CHANNEL_H */
