/*
 * transport.h — how a connection moves bytes: an ops table per transport.
 *
 * The MQTT layer (conn.c and the handlers) never calls read(2) or write(2)
 * itself; it goes through the connection's transport, so TLS and WebSocket
 * plug in later as further tables without touching the MQTT code.  A
 * transport keeps its own state behind cq_conn_t.tr_state.
 *
 * Every function is called on the worker's loop only and never blocks:
 * the socket is non-blocking.
 */
#ifndef CQ_WORKERS_TRANSPORT_H
#define CQ_WORKERS_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "workers/worker-t.h"

typedef struct cq_transport_ops {
	const char *name;
	/*
	 * Set up per-connection state before the first read (TLS: the
	 * SSL object).  0, or -1 (errno; the connection is closed).
	 */
	int (*open)(cq_conn_t *c);
	/*
	 * Drive a handshake that must finish before MQTT bytes flow: 0 when
	 * done (TCP: at once), CQ_AGAIN to be called again when the socket is
	 * readable or writable, -1 on failure (errno).
	 */
	int (*handshake)(cq_conn_t *c);
	/*
	 * Read up to len bytes: the count (> 0), 0 at end of stream,
	 * CQ_AGAIN when nothing is there, -1 on error (errno).
	 */
	ssize_t (*read)(cq_conn_t *c, void *buf, size_t len);
	/* Write up to len bytes: the count, CQ_AGAIN, or -1 (errno). */
	ssize_t (*write)(cq_conn_t *c, const void *buf, size_t len);
	/* Release per-connection state (not the descriptor). */
	void (*close)(cq_conn_t *c);
} cq_transport_ops_t;

/* Plain TCP (and Unix stream sockets). */
extern const cq_transport_ops_t cq_transport_tcp;

#endif /* CQ_WORKERS_TRANSPORT_H */
