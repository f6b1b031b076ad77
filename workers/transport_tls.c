/*
 * transport_tls.c — MQTT over TLS: the tls transport, and the TLS
 * sessions the wss transport stacks WebSocket on (transport.h).
 *
 * The session runs on the connection's non-blocking socket through
 * OpenSSL's socket BIO; the handshake is driven by handshake.c from the
 * loop's read and write events, bounded by the listener's
 * handshake_timeout.  Reads gather records until OpenSSL wants the socket
 * again, so no decrypted byte waits inside the session for an event that
 * will not come (transport pending() covers the case of a full buffer).
 * Writes go straight from the connection's output buffer with partial
 * writes on (contexts are built with SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, core/tls.c), which is the transport
 * contract: bytes not written are offered again.
 *
 * A failed handshake is one log line naming the peer and OpenSSL's reason
 * ("wrong version number" for plain MQTT on the TLS port, "peer did not
 * return a certificate", "certificate verify failed: certificate has
 * expired"...); a peer that leaves mid-handshake is not worth more than
 * a debug line.
 */
#include "config.h"
#include "workers/transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/defs.h"
#include "core/log.h"
#include "core/tls.h"
#include "workers/conn.h"
#include "workers/worker.h"

#define IDENTITY_MAX 256

struct cq_tls_conn {
	SSL *ssl;
	int fd;
	bool has_identity;
	char identity[IDENTITY_MAX];
};

/* ---- the session -------------------------------------------------- */

cq_tls_conn_t *
cq_tls_conn_new(cq_conn_t *c)
{
	SSL_CTX *ctx = cq_transport_tls_ctx(c->listener);
	if (ctx == NULL) {
		errno = ENOENT;
		return NULL;
	}
	cq_tls_conn_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->fd = c->fd;
	t->ssl = SSL_new(ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, c->fd) != 1) {
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		errno = ENOMEM;
		return NULL;
	}
	SSL_set_accept_state(t->ssl);
	return t;
}

/* A peer that left (or never spoke) is no protocol violation. */
static bool
peer_left(SSL *ssl, int err)
{
	if (err == SSL_ERROR_ZERO_RETURN)
		return true;
	if (err == SSL_ERROR_SYSCALL)
		return ERR_peek_error() == 0;
	unsigned long e = ERR_peek_error();
	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
		ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING &&
		SSL_get_verify_result(ssl) == X509_V_OK;
}

static void
take_identity(cq_conn_t *c, cq_tls_conn_t *t)
{
	const cq_config_t *cfg = c->w->cfg;
	cq_tls_identity_t how = c->listener < cfg->n_listeners
		? cfg->listeners[c->listener].tls.identity
		: CQ_TLS_IDENTITY_CN;
	t->has_identity = cq_tls_peer_identity(
		t->ssl, how, t->identity, sizeof(t->identity));
	if (t->has_identity)
		cq_log(CQ_LOG_DEBUG, 0, "TLS client %s: certificate \"%s\"",
			cq_conn_addr(c), t->identity);
}

int
cq_tls_conn_handshake(cq_conn_t *c, cq_tls_conn_t *t)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		take_identity(c, t);
		cq_log(CQ_LOG_DEBUG, 0, "TLS from %s: %s, %s%s",
			cq_conn_addr(c), SSL_get_version(t->ssl),
			SSL_get_cipher_name(t->ssl),
			SSL_session_reused(t->ssl) ? ", resumed" : "");
		return 0;
	}
	int err = SSL_get_error(t->ssl, rc);
	if (err == SSL_ERROR_WANT_READ)
		return CQ_AGAIN;
	if (err == SSL_ERROR_WANT_WRITE) {
		cq_conn_want_write(c);
		return CQ_AGAIN;
	}
	char why[256];
	if (peer_left(t->ssl, err)) {
		cq_log(CQ_LOG_DEBUG, 0,
			"connection from %s closed during the TLS handshake",
			cq_conn_addr(c));
		ERR_clear_error();
	} else {
		cq_log(CQ_LOG_NOTICE, 0,
			"TLS handshake with %s failed: %s; closing",
			cq_conn_addr(c),
			cq_tls_failure(
				t->ssl, "handshake failure", why, sizeof(why)));
	}
	errno = EPROTO;
	return -1;
}

cq_stream_t
cq_tls_conn_stream(const cq_tls_conn_t *t)
{
	return (cq_stream_t){.fd = t->fd, .ssl = t->ssl};
}

const char *
cq_tls_conn_identity(const cq_tls_conn_t *t)
{
	return t->has_identity ? t->identity : NULL;
}

void
cq_tls_conn_free(cq_tls_conn_t *t)
{
	if (t == NULL)
		return;
	if (SSL_is_init_finished(t->ssl)) {
		/* One try at close_notify; the socket closes right after. */
		ERR_clear_error();
		SSL_shutdown(t->ssl);
	}
	ERR_clear_error();
	SSL_free(t->ssl);
	free(t);
}

/* ---- stream I/O --------------------------------------------------- */

ssize_t
cq_tls_read(SSL *ssl, void *buf, size_t len)
{
	size_t got = 0;
	ERR_clear_error();
	while (got < len) {
		size_t n = 0;
		int rc = SSL_read_ex(ssl, (char *)buf + got, len - got, &n);
		if (rc == 1) {
			got += n;
			continue;
		}
		int err = SSL_get_error(ssl, rc);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			break;
		if (got > 0)
			break; /* the end or the error comes next call */
		if (peer_left(ssl, err)) {
			ERR_clear_error();
			return 0;
		}
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
	return got > 0 ? (ssize_t)got : CQ_AGAIN;
}

ssize_t
cq_tls_write(SSL *ssl, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	ERR_clear_error();
	size_t n = 0;
	int rc = SSL_write_ex(ssl, buf, len, &n);
	if (rc == 1)
		return (ssize_t)n;
	int err = SSL_get_error(ssl, rc);
	if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)
		return CQ_AGAIN;
	ERR_clear_error();
	errno = EPIPE;
	return -1;
}

bool
cq_stream_pending(const cq_stream_t *s)
{
	return s->ssl != NULL && SSL_has_pending(s->ssl);
}

/* ---- the tls transport -------------------------------------------- */

static int
tls_open(cq_conn_t *c)
{
	c->tr_state = cq_tls_conn_new(c);
	return c->tr_state != NULL ? 0 : -1;
}

static int
tls_handshake(cq_conn_t *c)
{
	return cq_tls_conn_handshake(c, c->tr_state);
}

static ssize_t
tls_read(cq_conn_t *c, void *buf, size_t len)
{
	cq_tls_conn_t *t = c->tr_state;
	return cq_tls_read(t->ssl, buf, len);
}

static ssize_t
tls_write(cq_conn_t *c, const void *buf, size_t len)
{
	cq_tls_conn_t *t = c->tr_state;
	return cq_tls_write(t->ssl, buf, len);
}

static void
tls_close(cq_conn_t *c)
{
	cq_tls_conn_free(c->tr_state);
	c->tr_state = NULL;
}

static bool
tls_pending(cq_conn_t *c)
{
	cq_tls_conn_t *t = c->tr_state;
	return t != NULL && SSL_has_pending(t->ssl);
}

static const char *
tls_identity(cq_conn_t *c)
{
	return c->tr_state != NULL ? cq_tls_conn_identity(c->tr_state) : NULL;
}

const cq_transport_ops_t cq_transport_tls = {
	.name = "tls",
	.open = tls_open,
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
	.pending = tls_pending,
	.identity = tls_identity,
};
