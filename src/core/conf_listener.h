/*
 * conf_listener.h — the edge keys of a listener (types; part of the
 * config module, conf.h includes it).
 *
 * A listener's own rows stay in conf.c; what they hang off is here: the
 * tls: map of tls and wss listeners (its table is in conf_listener.c) and
 * the checks that tie a listener's type to the keys it needs (a tls
 * listener needs a certificate, a health listener takes no TLS, ...).
 * Every key is documented in comqtt.yml(5) and etc/comqtt.yml.
 */
#ifndef CQ_CORE_CONF_LISTENER_H
#define CQ_CORE_CONF_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config_schema.h"

/* tls.client_certs: whether clients present a certificate. */
typedef enum cq_tls_client_certs {
	CQ_TLS_CERTS_NONE = 0, /* not asked for */
	CQ_TLS_CERTS_OPTIONAL, /* asked for; verified when given */
	CQ_TLS_CERTS_REQUIRE, /* a client without one is refused */
} cq_tls_client_certs_t;

/* tls.identity: what of a client certificate names the client. */
typedef enum cq_tls_identity {
	CQ_TLS_IDENTITY_CN = 0, /* the subject's common name */
	CQ_TLS_IDENTITY_SAN, /* the first e-mail, DNS or URI alt name */
} cq_tls_identity_t;

typedef enum cq_tls_version {
	CQ_TLS_VERSION_1_2 = 0,
	CQ_TLS_VERSION_1_3,
} cq_tls_version_t;

typedef struct cq_config_tls {
	char *cert_file; /* PEM: the certificate, optionally its chain */
	char *key_file; /* PEM: its private key, unencrypted */
	char *chain_file; /* PEM: intermediates; "" = none or in cert_file */
	char *ca_file; /* PEM: CAs that sign client certificates */
	cq_tls_client_certs_t client_certs;
	bool use_identity_as_username;
	cq_tls_identity_t identity;
	cq_tls_version_t min_version;
	char *ciphers; /* TLS 1.2 cipher list; "" = OpenSSL's default */
	char *ciphersuites; /* TLS 1.3 suites; "" = OpenSSL's default */
} cq_config_tls_t;

struct cq_config_listener;

/* The rows of the tls: map (conf_listener.c). */
extern const cq_cfg_table_t cq_config_tls_table;

/*
 * The part of a listener's check that concerns its edges: TLS keys only
 * on tls and wss listeners and required there, HTTP keys only where HTTP
 * is spoken, trusted_proxies entries that parse.  0, or the -1 of
 * cq_cfg_fail().
 */
int cq_config_listener_check_edges(cq_cfg_check_t *ck);

/* Does the listener speak TLS (tls, wss), WebSocket (ws, wss), HTTP? */
bool cq_config_listener_tls(const struct cq_config_listener *l);
bool cq_config_listener_ws(const struct cq_config_listener *l);

/* The HTTP path in force: 'path', or the type's default ("/mqtt",
 * "/healthz"). */
const char *cq_config_listener_path(const struct cq_config_listener *l);

#endif /* CQ_CORE_CONF_LISTENER_H */
