/*
 * tls.c — see tls.h.
 *
 * Files are opened with stdio first so that a missing or unreadable file
 * is reported with its errno, not with OpenSSL's "system library" code;
 * certificates and keys are then read with PEM_read_* and checked here
 * (expiry, key match) before they go into the context, so every refusal
 * names what is wrong in words.
 */
#include "config.h"
#include "core/tls.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/config_schema.h"
#include "core/log.h"

#define SECRET_LEN      32
#define TICKET_PERIOD   3600 /* seconds a ticket key seals new tickets */
#define PATH_BUF        4200
#define SESSION_TIMEOUT (2 * TICKET_PERIOD)

static unsigned char ticket_secret[SECRET_LEN];
static bool have_secret;

int
cq_tls_init(void)
{
	if (RAND_priv_bytes(ticket_secret, sizeof(ticket_secret)) != 1) {
		cq_log(CQ_LOG_CRIT, 0,
			"RAND_priv_bytes() failed: no TLS "
			"session tickets");
		return -1;
	}
	have_secret = true;
	return 0;
}

/* ---- session tickets --------------------------------------------- */

typedef struct ticket_key {
	uint64_t period;
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char mac[32];
} ticket_key_t;

/* HMAC-SHA256(secret, "comqtt ticket" | period | label) -> out[32]. */
static int
derive(uint64_t period, char label, unsigned char out[32])
{
	unsigned char msg[13 + 8 + 1];
	size_t outlen = 0;
	memcpy(msg, "comqtt ticket", 13);
	for (int i = 0; i < 8; i++)
		msg[13 + i] = (unsigned char)(period >> (56 - 8 * i));
	msg[21] = (unsigned char)label;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, ticket_secret,
		    sizeof(ticket_secret), msg, sizeof(msg), out, 32,
		    &outlen) == NULL ||
		outlen != 32)
		return -1;
	return 0;
}

/* The key of 'period', derived once per process and period. */
static const ticket_key_t *
ticket_key(uint64_t period)
{
	static ticket_key_t cache[2];
	ticket_key_t *k = &cache[period & 1];
	if (k->period == period && period != 0)
		return k;
	unsigned char name[32];
	if (derive(period, 'n', name) < 0 || derive(period, 'a', k->aes) < 0 ||
		derive(period, 'm', k->mac) < 0) {
		k->period = 0;
		return NULL;
	}
	memcpy(k->name, name, sizeof(k->name));
	k->period = period;
	return k;
}

static int
mac_init(EVP_MAC_CTX *hctx, const ticket_key_t *k)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(
			OSSL_MAC_PARAM_KEY, (void *)k->mac, sizeof(k->mac)),
		OSSL_PARAM_construct_utf8_string(
			OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/*
 * OpenSSL's ticket key callback: seal with this period's key; open with
 * this period's or the previous one's (then ask for a fresh ticket: 2).
 */
static int
ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv,
	EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	(void)s;
	if (!have_secret)
		return enc ? -1 : 0;
	uint64_t now = (uint64_t)time(NULL) / TICKET_PERIOD;
	if (enc) {
		const ticket_key_t *k = ticket_key(now);
		if (k == NULL || RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(key_name, k->name, 16);
		if (EVP_EncryptInit_ex(
			    cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
			mac_init(hctx, k) < 0)
			return -1;
		return 1;
	}
	for (uint64_t back = 0; back < 2; back++) {
		const ticket_key_t *k = ticket_key(now - back);
		if (k == NULL || memcmp(key_name, k->name, 16) != 0)
			continue;
		if (mac_init(hctx, k) < 0 ||
			EVP_DecryptInit_ex(
				cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
			return -1;
		return back == 0 ? 1 : 2;
	}
	return 0; /* unknown key: a full handshake */
}

/* ---- errors ------------------------------------------------------- */

static const char *
openssl_reason(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	if (r != NULL)
		snprintf(buf, size, "%s", r);
	else if (e != 0)
		snprintf(buf, size, "OpenSSL error %lu", e);
	else
		snprintf(buf, size, "%s", fallback);
	ERR_clear_error();
	return buf;
}

const char *
cq_tls_failure(SSL *ssl, const char *fallback, char *buf, size_t size)
{
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v != X509_V_OK) {
		snprintf(buf, size, "client certificate: %s",
			X509_verify_cert_error_string(v));
		ERR_clear_error();
		return buf;
	}
	return openssl_reason(buf, size, fallback);
}

/* ---- building a context ------------------------------------------ */

typedef struct build {
	const char *who; /* "listener \"tls\"", "admin" */
	const cq_config_tls_t *t;
	const char *base_dir;
	char **error_r;
	SSL_CTX *ctx;
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain;
} build_t;

static int fail(build_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(build_t *b, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return cq_cfg_error(b->error_r, "%s: %s", b->who, msg);
}

static const char *
resolve(const build_t *b, const char *name, char *buf, size_t size)
{
	if (name[0] == '/' || b->base_dir == NULL)
		return name;
	snprintf(buf, size, "%s/%s", b->base_dir, name);
	return buf;
}

const char *
cq_tls_base_dir(const char *config_file, char *buf, size_t size)
{
	if (config_file == NULL)
		return NULL;
	const char *slash = strrchr(config_file, '/');
	if (slash == NULL)
		return NULL;
	size_t n = (size_t)(slash - config_file);
	if (n == 0)
		n = 1; /* "/comqtt.yml": the root */
	if (n >= size)
		return NULL;
	memcpy(buf, config_file, n);
	buf[n] = '\0';
	return buf;
}

/* Open 'key' of tls: for reading; NULL after fail(). */
static FILE *
open_file(build_t *b, const char *key, const char *name, char *path_r)
{
	const char *path = resolve(b, name, path_r, PATH_BUF);
	if (path != path_r)
		snprintf(path_r, PATH_BUF, "%s", path);
	FILE *f = fopen(path_r, "r");
	if (f == NULL)
		fail(b, "tls.%s %s: cannot open: %s", key, path_r,
			strerror(errno));
	return f;
}

static int
check_dates(build_t *b, X509 *x, const char *key, const char *path)
{
	char when[64] = "?";
	const ASN1_TIME *t = X509_get0_notAfter(x);
	bool expired = X509_cmp_current_time(t) < 0;
	if (!expired) {
		t = X509_get0_notBefore(x);
		if (X509_cmp_current_time(t) <= 0)
			return 0;
	}
	BIO *m = BIO_new(BIO_s_mem());
	if (m != NULL && ASN1_TIME_print(m, t) == 1) {
		int n = BIO_read(m, when, sizeof(when) - 1);
		when[n > 0 ? n : 0] = '\0';
	}
	BIO_free(m);
	return fail(b, "tls.%s %s: the certificate %s %s", key, path,
		expired ? "expired on" : "is not valid before", when);
}

/* cert_file: the certificate, then any chain certificates after it. */
static int
load_cert(build_t *b)
{
	char path[PATH_BUF];
	FILE *f = open_file(b, "cert_file", b->t->cert_file, path);
	if (f == NULL)
		return -1;
	b->cert = PEM_read_X509(f, NULL, NULL, NULL);
	X509 *extra;
	while (b->cert != NULL &&
		(extra = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(b->chain, extra))
			X509_free(extra);
	fclose(f);
	if (b->cert == NULL)
		return fail(
			b, "tls.cert_file %s: no PEM certificate in it", path);
	return check_dates(b, b->cert, "cert_file", path);
}

static int
load_chain(build_t *b)
{
	char path[PATH_BUF];
	if (b->t->chain_file[0] == '\0')
		return 0;
	FILE *f = open_file(b, "chain_file", b->t->chain_file, path);
	if (f == NULL)
		return -1;
	X509 *x;
	int n = 0;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(b->chain, x))
			X509_free(x);
		n++;
	}
	fclose(f);
	if (n == 0)
		return fail(
			b, "tls.chain_file %s: no PEM certificate in it", path);
	return 0;
}

/* Never prompt on a terminal for a pass phrase: an encrypted key fails. */
static int
no_pass_phrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
load_key(build_t *b)
{
	char path[PATH_BUF], cpath[PATH_BUF];
	FILE *f = open_file(b, "key_file", b->t->key_file, path);
	if (f == NULL)
		return -1;
	b->key = PEM_read_PrivateKey(f, NULL, no_pass_phrase, NULL);
	fclose(f);
	if (b->key == NULL)
		return fail(b,
			"tls.key_file %s: no unencrypted PEM private key in "
			"it",
			path);
	if (X509_check_private_key(b->cert, b->key) != 1)
		return fail(b,
			"tls.key_file %s does not match tls.cert_file %s", path,
			resolve(b, b->t->cert_file, cpath, sizeof(cpath)));
	return 0;
}

static int
set_identity(build_t *b)
{
	SSL_CTX *ctx = b->ctx;
	if (SSL_CTX_use_certificate(ctx, b->cert) != 1 ||
		SSL_CTX_use_PrivateKey(ctx, b->key) != 1)
		return fail(b, "the certificate or key was refused: %s",
			ERR_reason_error_string(ERR_peek_error()));
	for (int i = 0; i < sk_X509_num(b->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(b->chain, i)) !=
			1)
			return fail(b, "a chain certificate was refused");
	return 0;
}

static int
set_ciphers(build_t *b)
{
	const cq_config_tls_t *t = b->t;
	if (SSL_CTX_set_min_proto_version(b->ctx,
		    t->min_version == CQ_TLS_VERSION_1_3 ? TLS1_3_VERSION
							 : TLS1_2_VERSION) != 1)
		return fail(b, "tls.min_version cannot be set");
	if (t->ciphers[0] != '\0' &&
		SSL_CTX_set_cipher_list(b->ctx, t->ciphers) != 1)
		return fail(b,
			"tls.ciphers \"%.200s\": no cipher OpenSSL "
			"knows",
			t->ciphers);
	if (t->ciphersuites[0] != '\0' &&
		SSL_CTX_set_ciphersuites(b->ctx, t->ciphersuites) != 1)
		return fail(b,
			"tls.ciphersuites \"%.200s\": not a list of TLS 1.3 "
			"suites OpenSSL knows",
			t->ciphersuites);
	return 0;
}

static int
set_client_certs(build_t *b)
{
	const cq_config_tls_t *t = b->t;
	char path[PATH_BUF];
	if (t->client_certs == CQ_TLS_CERTS_NONE)
		return 0;
	FILE *f = open_file(b, "ca_file", t->ca_file, path);
	if (f == NULL)
		return -1;
	fclose(f);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(path);
	if (SSL_CTX_load_verify_locations(b->ctx, path, NULL) != 1 ||
		names == NULL) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return fail(
			b, "tls.ca_file %s: no PEM CA certificate in it", path);
	}
	SSL_CTX_set_client_CA_list(b->ctx, names);
	SSL_CTX_set_verify(b->ctx,
		SSL_VERIFY_PEER |
			(t->client_certs == CQ_TLS_CERTS_REQUIRE
					? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
					: 0),
		NULL);
	return 0;
}

/*
 * Sessions resume only on listeners that verify clients the same way: a
 * session made where no certificate was asked for must not open a
 * listener that requires one.
 */
static void
set_session_context(build_t *b)
{
	const cq_config_tls_t *t = b->t;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char text[PATH_BUF + 64];
	int len = snprintf(text, sizeof(text), "%d|%d|%d|%s",
		(int)t->client_certs, (int)t->use_identity_as_username,
		(int)t->identity, t->ca_file);
	EVP_Digest(
		text, (size_t)(len > 0 ? len : 0), md, &n, EVP_sha256(), NULL);
	SSL_CTX_set_session_id_context(b->ctx, md,
		n > SSL_MAX_SID_CTX_LENGTH ? SSL_MAX_SID_CTX_LENGTH : n);
	SSL_CTX_set_session_cache_mode(b->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(b->ctx, SESSION_TIMEOUT);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(b->ctx, ticket_cb);
	/* One TLS 1.3 ticket per handshake (OpenSSL sends two): a client
	 * resumes once per reconnect, and each ticket costs a seal and a
	 * record. */
	SSL_CTX_set_num_tickets(b->ctx, 1);
}

static int
make_ctx(build_t *b)
{
	b->ctx = SSL_CTX_new(TLS_server_method());
	if (b->ctx == NULL)
		return fail(b, "SSL_CTX_new() failed");
	SSL_CTX_set_options(b->ctx,
		SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			SSL_OP_NO_COMPRESSION);
	/* Writes go straight from the connection's output buffer, which
	 * may move and grow between a partial write and its retry; idle
	 * connections give their read and write buffers back. */
	SSL_CTX_set_mode(b->ctx,
		SSL_MODE_ENABLE_PARTIAL_WRITE |
			SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			SSL_MODE_RELEASE_BUFFERS);
	if (set_identity(b) < 0 || set_ciphers(b) < 0 ||
		set_client_certs(b) < 0)
		return -1;
	set_session_context(b);
	return 0;
}

SSL_CTX *
cq_tls_server_ctx_new(const char *who, const cq_config_tls_t *t,
	const char *base_dir, char **error_r)
{
	build_t b = {
		.who = who, .t = t, .base_dir = base_dir, .error_r = error_r};
	*error_r = NULL;
	ERR_clear_error();
	b.chain = sk_X509_new_null();
	int rc = b.chain == NULL ? fail(&b, "out of memory") : 0;
	if (rc == 0 && t->cert_file[0] == '\0')
		rc = fail(&b, "tls.cert_file is not set");
	if (rc == 0)
		rc = load_cert(&b);
	if (rc == 0)
		rc = load_chain(&b);
	if (rc == 0)
		rc = load_key(&b);
	if (rc == 0)
		rc = make_ctx(&b);
	X509_free(b.cert);
	EVP_PKEY_free(b.key);
	sk_X509_pop_free(b.chain, X509_free);
	if (rc < 0) {
		SSL_CTX_free(b.ctx);
		return NULL;
	}
	return b.ctx;
}

SSL_CTX *
cq_tls_ctx_new(
	const cq_config_listener_t *l, const char *base_dir, char **error_r)
{
	char who[160];
	snprintf(who, sizeof(who), "listener \"%.128s\"", l->name);
	return cq_tls_server_ctx_new(who, &l->tls, base_dir, error_r);
}

int
cq_tls_ctx_build_all(const cq_config_t *cfg, const char *config_file,
	SSL_CTX **ctxs, size_t n, char **error_r)
{
	char dir[PATH_BUF];
	const char *base = cq_tls_base_dir(config_file, dir, sizeof(dir));
	for (size_t i = 0; i < n; i++)
		ctxs[i] = NULL;
	for (size_t i = 0; i < cfg->n_listeners && i < n; i++) {
		const cq_config_listener_t *l = &cfg->listeners[i];
		if (!cq_config_listener_tls(l))
			continue;
		ctxs[i] = cq_tls_ctx_new(l, base, error_r);
		if (ctxs[i] == NULL) {
			cq_tls_ctx_free_all(ctxs, n);
			return -1;
		}
	}
	return 0;
}

int
cq_tls_ctx_reload_all(const cq_config_t *cfg, const char *config_file,
	SSL_CTX **ctxs, size_t n, int level)
{
	char dir[PATH_BUF];
	const char *base = cq_tls_base_dir(config_file, dir, sizeof(dir));
	int failed = 0;
	for (size_t i = 0; i < cfg->n_listeners && i < n; i++) {
		const cq_config_listener_t *l = &cfg->listeners[i];
		if (!cq_config_listener_tls(l))
			continue;
		char *error = NULL;
		SSL_CTX *fresh = cq_tls_ctx_new(l, base, &error);
		if (fresh == NULL) {
			cq_log(level, 0,
				"reload: %s; keeping the previous TLS "
				"certificate",
				error ? error : "out of memory");
			free(error);
			failed++;
			continue;
		}
		SSL_CTX_free(ctxs[i]);
		ctxs[i] = fresh;
	}
	return failed;
}

void
cq_tls_ctx_free_all(SSL_CTX **ctxs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		SSL_CTX_free(ctxs[i]);
		ctxs[i] = NULL;
	}
}

/* ---- client identity --------------------------------------------- */

static bool
copy_name(const unsigned char *s, int n, char *buf, size_t size)
{
	if (s == NULL || n <= 0 || (size_t)n >= size)
		return false;
	for (int i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	return true;
}

static bool
common_name(X509 *x, char *buf, size_t size)
{
	X509_NAME *subj = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i < 0)
		return false;
	ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, d);
	bool ok = copy_name(utf8, n, buf, size);
	OPENSSL_free(utf8);
	return ok;
}

static bool
alt_name(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(
		x, NID_subject_alt_name, NULL, NULL);
	bool ok = false;
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const ASN1_IA5STRING *s = NULL;
		if (g->type == GEN_EMAIL)
			s = g->d.rfc822Name;
		else if (g->type == GEN_DNS)
			s = g->d.dNSName;
		else if (g->type == GEN_URI)
			s = g->d.uniformResourceIdentifier;
		if (s != NULL) {
			ok = copy_name(ASN1_STRING_get0_data(s),
				ASN1_STRING_length(s), buf, size);
			break;
		}
	}
	GENERAL_NAMES_free(names);
	return ok;
}

bool
cq_tls_peer_identity(SSL *ssl, cq_tls_identity_t how, char *buf, size_t size)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	if (x == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	return how == CQ_TLS_IDENTITY_SAN ? alt_name(x, buf, size)
					  : common_name(x, buf, size);
}
