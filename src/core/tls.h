/*
 * tls.h — TLS server contexts of the tls and wss listeners and of
 * comqtt-admin (OpenSSL 3).
 *
 * The master builds every context once at start (and for comqttd -t) so
 * that a wrong path, a key that does not match its certificate or an
 * expired certificate stops the broker with a clear message before it
 * serves; each worker builds its own contexts after fork and again on
 * SIGHUP, keeping the previous ones (and saying why) when the new files
 * are bad.  Connections keep the context they started with, so a reload
 * never drops a client.
 *
 * Session resumption works on any worker: session tickets are sealed
 * with keys derived from a secret the master draws before it forks
 * (cq_tls_init), so every worker -- a respawned one too -- derives the same
 * keys for the same hour, and accepts the previous hour's.  No session
 * state is kept per process (the session cache is off).
 */
#ifndef CQ_CORE_TLS_H
#define CQ_CORE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "core/conf.h"

/*
 * In the master, before the first fork: draw the ticket secret.  0, or -1
 * (logged) when the random generator fails.
 */
int cq_tls_init(void);

/*
 * A server context for listener 'l' (tls or wss).  Relative file names
 * start at 'base_dir' (the configuration file's directory; NULL: the
 * working directory).  NULL with *error_r (malloc'd, NULL if out of
 * memory) naming the listener, the key and the file: "listener \"tls\":
 * tls.key_file /etc/k.pem does not match tls.cert_file /etc/c.pem".
 */
SSL_CTX *cq_tls_ctx_new(
	const cq_config_listener_t *l, const char *base_dir, char **error_r);

/*
 * The same from the tls: settings 't' of anything else that serves TLS
 * (comqtt-admin's admin.tls), the errors starting with 'who' ("admin").
 */
SSL_CTX *cq_tls_server_ctx_new(const char *who, const cq_config_tls_t *t,
	const char *base_dir, char **error_r);

/*
 * The context of every tls and wss listener of 'cfg' into ctxs[i] (index
 * of the listener; NULL for the others and past n), from the file
 * 'config_file' (NULL: the defaults).  0, or -1 with *error_r and every
 * context freed.  The master calls it at start (and for -t).
 */
int cq_tls_ctx_build_all(const cq_config_t *cfg, const char *config_file,
	SSL_CTX **ctxs, size_t n, char **error_r);

/*
 * SIGHUP: build every TLS listener's context again from its files; where
 * that fails keep the previous one and log why at 'level'.  Returns the
 * number of listeners that kept their previous context.
 */
int cq_tls_ctx_reload_all(const cq_config_t *cfg, const char *config_file,
	SSL_CTX **ctxs, size_t n, int level);

void cq_tls_ctx_free_all(SSL_CTX **ctxs, size_t n);

/* The directory of 'config_file' into buf (NULL when config_file is NULL
 * or has no directory part): where relative TLS file names start. */
const char *cq_tls_base_dir(const char *config_file, char *buf, size_t size);

/*
 * The identity of the client's verified certificate: its common name or
 * first e-mail/DNS/URI subject alternative name, into buf.  false when
 * there is no certificate, no such name, or the name holds bytes that
 * cannot be a username (control characters, NUL).
 */
bool cq_tls_peer_identity(
	SSL *ssl, cq_tls_identity_t how, char *buf, size_t size);

/*
 * Why the last TLS operation failed, for a log line: the verify error
 * when certificate verification failed, else OpenSSL's reason text of the
 * first queued error ("wrong version number", "http request", ...), or
 * 'fallback'.  The thread's error queue is cleared.
 */
const char *cq_tls_failure(
	SSL *ssl, const char *fallback, char *buf, size_t size);

#endif /* CQ_CORE_TLS_H */
