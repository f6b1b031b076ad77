/*
 * cb_tls.c — see cb_tls.h.
 */
#include "config.h"
#include "bench/cb_tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

void
cb_tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (e == 0) {
		snprintf(buf, len, "unknown TLS error");
		return;
	}
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

SSL_CTX *
cb_tls_ctx_new(const cb_opts_t *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		cb_tls_error(err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A broker that closes without close_notify ends the stream; it is
	 * not an attack on a benchmark. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Fetch many records per recv(). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_mode(ctx,
		SSL_MODE_ENABLE_PARTIAL_WRITE |
			SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			SSL_MODE_RELEASE_BUFFERS);
	const char *what = "loading the CA file";
	int ok = o->cafile ? SSL_CTX_load_verify_locations(ctx, o->cafile, NULL)
			   : SSL_CTX_set_default_verify_paths(ctx);
	if (ok == 1 && o->certfile) {
		what = "loading the client certificate";
		ok = SSL_CTX_use_certificate_chain_file(ctx, o->certfile);
		if (ok == 1) {
			what = "loading the client key";
			ok = SSL_CTX_use_PrivateKey_file(ctx,
				o->keyfile ? o->keyfile : o->certfile,
				SSL_FILETYPE_PEM);
		}
	}
	if (ok != 1) {
		char e[200];
		cb_tls_error(e, sizeof(e));
		snprintf(err, errlen, "%s: %s", what, e);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(
		ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	return ctx;
}

SSL *
cb_tls_new(SSL_CTX *ctx, int fd, const char *host, int verify)
{
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL)
		return NULL;
	unsigned char addr[16];
	int is_ip = inet_pton(AF_INET, host, addr) == 1 ||
		inet_pton(AF_INET6, host, addr) == 1;
	int ok = SSL_set_fd(ssl, fd);
	if (ok && !is_ip)
		ok = SSL_set_tlsext_host_name(ssl, host);
	if (ok && verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
			   : SSL_set1_host(ssl, host);
	}
	if (!ok) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}
