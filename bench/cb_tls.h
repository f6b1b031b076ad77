/*
 * cb_tls.h — the OpenSSL client context of comqtt-bench.
 *
 * One SSL_CTX serves every connection of every thread (SSL_new() on a
 * shared context is thread-safe).  Partial writes are enabled and the write
 * buffer may move between retries, so a connection can keep appending to
 * its output buffer while a write is pending; idle connections release
 * their TLS buffers, which matters at 50,000 connections.
 */
#ifndef CB_TLS_H
#define CB_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "bench/cb_types.h"

/* A client context for o (CA file or system roots, optional client
 * certificate, verification unless o->insecure); NULL with a message in
 * err. */
SSL_CTX *cb_tls_ctx_new(const cb_opts_t *o, char *err, size_t errlen);

/* An SSL for connection fd to host, in connect state; NULL on failure. */
SSL *cb_tls_new(SSL_CTX *ctx, int fd, const char *host, int verify);

/* The last OpenSSL error as text (for a connection's failure reason). */
void cb_tls_error(char *buf, size_t len);

#endif /* CB_TLS_H */
