/*
 * transport.h — how a connection moves bytes: an ops table per transport.
 *
 * The MQTT layer (conn.c and the handlers) never calls read(2) or write(2)
 * itself; it goes through the connection's transport, so TLS and WebSocket
 * plug in as further tables without touching the MQTT code.  A transport
 * keeps its own state behind cq_conn_t.tr_state.
 *
 *   tcp   plain stream socket (TCP, Unix)                 transport_tcp.c
 *   tls   TLS over the socket                             transport_tls.c
 *   ws    WebSocket (HTTP upgrade, then frames) over the socket
 *   wss   WebSocket over TLS                              transport_ws.c
 *
 * Stacking: a framing layer (WebSocket) reads and writes through a
 * cq_stream_t, which is the socket or a TLS session on it, so wss is ws
 * over the same TLS code as tls.
 *
 * Every function is called on the worker's loop only and never blocks:
 * the socket is non-blocking.  The pre-MQTT phase (PROXY header, rate
 * limit, then the transport's handshake) is driven by handshake.c.
 */
#ifndef CQ_WORKERS_TRANSPORT_H
#define CQ_WORKERS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "workers/worker-t.h"

typedef struct ssl_st SSL;

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
	 * readable (or writable, after cq_conn_want_write()), -1 on failure
	 * (the transport has logged why when it was the peer's fault).
	 */
	int (*handshake)(cq_conn_t *c);
	/*
	 * Read up to len bytes: the count (> 0), 0 at end of stream,
	 * CQ_AGAIN when nothing is there, -1 on error (errno).
	 */
	ssize_t (*read)(cq_conn_t *c, void *buf, size_t len);
	/*
	 * Write up to len bytes: the count, CQ_AGAIN, or -1 (errno).  Bytes
	 * not counted are offered again, unchanged and at the head of buf,
	 * by the next call.  len 0 asks the transport to flush what it holds
	 * of its own (c->tr_pending: WebSocket control frames).
	 */
	ssize_t (*write)(cq_conn_t *c, const void *buf, size_t len);
	/* Release per-connection state (not the descriptor). */
	void (*close)(cq_conn_t *c);
	/*
	 * Optional: input the transport holds already decoded (TLS records,
	 * WebSocket frames read past what the last read returned) that no
	 * socket event will announce.  NULL: never.
	 */
	bool (*pending)(cq_conn_t *c);
	/* Optional: the client certificate's identity (TLS), or NULL. */
	const char *(*identity)(cq_conn_t *c);
} cq_transport_ops_t;

/* Plain TCP (and Unix stream sockets). */
/* The transport of c's listener (chosen at the worker's start). */
const cq_transport_ops_t *cq_transport_of(const struct cq_conn *c);

extern const cq_transport_ops_t cq_transport_tcp;
extern const cq_transport_ops_t cq_transport_tls;
extern const cq_transport_ops_t cq_transport_ws;
extern const cq_transport_ops_t cq_transport_wss;

/* ---- byte streams below a framing layer --------------------------- */

/* The socket, or a TLS session on it. */
typedef struct cq_stream {
	int fd;
	SSL *ssl; /* NULL: the plain socket */
} cq_stream_t;

/* Socket and TLS I/O with the read/write conventions of the ops above. */
ssize_t cq_sock_read(int fd, void *buf, size_t len);
ssize_t cq_sock_write(int fd, const void *buf, size_t len);
ssize_t cq_tls_read(SSL *ssl, void *buf, size_t len);
ssize_t cq_tls_write(SSL *ssl, const void *buf, size_t len);

static inline ssize_t
cq_stream_read(const cq_stream_t *s, void *buf, size_t len)
{
	return s->ssl ? cq_tls_read(s->ssl, buf, len)
		      : cq_sock_read(s->fd, buf, len);
}

static inline ssize_t
cq_stream_write(const cq_stream_t *s, const void *buf, size_t len)
{
	return s->ssl ? cq_tls_write(s->ssl, buf, len)
		      : cq_sock_write(s->fd, buf, len);
}

/* Decrypted or undecoded input held inside the TLS session. */
bool cq_stream_pending(const cq_stream_t *s);

/* ---- TLS sessions (transport_tls.c), shared by tls and wss -------- */

typedef struct cq_tls_conn cq_tls_conn_t;

/* A TLS session for connection c on its listener's context; NULL
 * (errno) when the listener has none or memory is short. */
cq_tls_conn_t *cq_tls_conn_new(cq_conn_t *c);
/* Drive the TLS handshake: 0 done, CQ_AGAIN, -1 (logged). */
int cq_tls_conn_handshake(cq_conn_t *c, cq_tls_conn_t *t);
/* The stream over this session. */
cq_stream_t cq_tls_conn_stream(const cq_tls_conn_t *t);
const char *cq_tls_conn_identity(const cq_tls_conn_t *t);
/* Send close_notify (best effort) and free. */
void cq_tls_conn_free(cq_tls_conn_t *t);

/* ---- per worker --------------------------------------------------- */

/* The transport of listener 'li' in the configuration in force. */
const cq_transport_ops_t *cq_transport_for(const cq_worker_t *w, unsigned li);

/*
 * Build the TLS context of every tls and wss listener (at worker start):
 * 0, or -1 (logged) when one cannot be built.  Reload builds them again
 * and keeps, per listener, the previous context when the new one fails
 * (logging why).  Teardown frees them; connections hold their own
 * references.
 */
int cq_transport_setup(cq_worker_t *w);
void cq_transport_reload(cq_worker_t *w);
void cq_transport_teardown(void);

/* Listener li's context (NULL if it has none); for cq_tls_conn_new. */
struct ssl_ctx_st *cq_transport_tls_ctx(unsigned li);

/* The username a client certificate gives connection c (its listener has
 * tls.use_identity_as_username), or NULL. */
const char *cq_transport_username(const cq_conn_t *c);
/* Does c's listener take usernames from client certificates? */
bool cq_transport_identity_required(const cq_conn_t *c);

#endif /* CQ_WORKERS_TRANSPORT_H */
