/*
 * conf_listener.c — the tls: map of a listener and the checks of its edge
 * keys (conf_listener.h).
 *
 * Kept apart from conf.c so that the TLS rows and the rules tying keys to
 * listener types change without touching the broker's other keys; conf.c
 * has one row that hangs cq_config_tls_table under listeners[].tls and
 * calls cq_config_listener_check_edges() from its listener check.
 *
 * Reload: a listener's keys need a restart (listeners cannot be re-bound
 * live), but a SIGHUP re-reads the certificate, key, chain and CA files
 * they name (core/tls.h), so a renewed certificate needs no restart.
 */
#include "config.h"
#include "core/conf_listener.h"

#include <stddef.h>
#include <string.h>

#include "core/conf.h"
#include "core/defs.h"
#include "core/netmask.h"

#define PATH_LEN_MAX   4095
#define CIPHER_LEN_MAX 4096

static const char *const client_cert_names[] = {
	"none", "optional", "require", NULL};
static const char *const identity_names[] = {"cn", "san", NULL};
static const char *const version_names[] = {"1.2", "1.3", NULL};

#define TLS(m) CQ_CFG_AT(cq_config_tls_t, m)
static const cq_cfg_key_t tls_keys[] = {
	{.name = "cert_file",
		.type = CQ_CFG_PATH,
		TLS(cert_file),
		.def = "",
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "PEM certificate of the listener (and optionally its "
		       "chain); relative to the config file's directory"},
	{.name = "key_file",
		.type = CQ_CFG_PATH,
		TLS(key_file),
		.def = "",
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "PEM private key of cert_file, not encrypted"},
	{.name = "chain_file",
		.type = CQ_CFG_PATH,
		TLS(chain_file),
		.def = "",
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "PEM intermediate certificates sent after cert_file; "
		       "\"\" = none"},
	{.name = "ca_file",
		.type = CQ_CFG_PATH,
		TLS(ca_file),
		.def = "",
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "PEM certificates of the CAs that sign client "
		       "certificates"},
	{.name = "client_certs",
		.type = CQ_CFG_ENUM,
		TLS(client_certs),
		.def = "none",
		.names = client_cert_names,
		.doc = "client certificates: none, optional (verified when "
		       "given) or require"},
	{.name = "use_identity_as_username",
		.type = CQ_CFG_BOOL,
		TLS(use_identity_as_username),
		.def = "false",
		.doc = "the client certificate's identity is the username; "
		       "clients without one are refused"},
	{.name = "identity",
		.type = CQ_CFG_ENUM,
		TLS(identity),
		.def = "cn",
		.names = identity_names,
		.doc = "identity of a client certificate: cn (common name) "
		       "or san (first subject alternative name)"},
	{.name = "min_version",
		.type = CQ_CFG_ENUM,
		TLS(min_version),
		.def = "1.2",
		.names = version_names,
		.doc = "oldest TLS version accepted: 1.2 or 1.3"},
	{.name = "ciphers",
		.type = CQ_CFG_STRING,
		TLS(ciphers),
		.def = "",
		.min = 0,
		.max = CIPHER_LEN_MAX,
		.doc = "TLS 1.2 cipher list (OpenSSL syntax); \"\" = "
		       "OpenSSL's default"},
	{.name = "ciphersuites",
		.type = CQ_CFG_STRING,
		TLS(ciphersuites),
		.def = "",
		.min = 0,
		.max = CIPHER_LEN_MAX,
		.doc = "TLS 1.3 cipher suites (OpenSSL syntax); \"\" = "
		       "OpenSSL's default"},
};

/* Across the tls: keys, whatever the listener's type. */
static int
check_tls(cq_cfg_check_t *ck)
{
	const cq_config_tls_t *t = ck->obj;
	if (t->client_certs != CQ_TLS_CERTS_NONE && t->ca_file[0] == '\0')
		return cq_cfg_fail(ck, "ca_file",
			"client_certs: %s needs the ca_file that signs them",
			client_cert_names[t->client_certs]);
	if (t->use_identity_as_username && t->client_certs == CQ_TLS_CERTS_NONE)
		return cq_cfg_fail(ck, "use_identity_as_username",
			"needs client_certs: optional or require");
	if ((t->cert_file[0] == '\0') != (t->key_file[0] == '\0'))
		return cq_cfg_fail(ck,
			t->cert_file[0] == '\0' ? "cert_file" : "key_file",
			"cert_file and key_file go together");
	return 0;
}

const cq_cfg_table_t cq_config_tls_table = {
	.name = "tls",
	.keys = tls_keys,
	.n_keys = CQ_ARRAY_SIZE(tls_keys),
	.size = sizeof(cq_config_tls_t),
	.check = check_tls,
};

bool
cq_config_listener_tls(const cq_config_listener_t *l)
{
	return l->type == CQ_LISTENER_TLS || l->type == CQ_LISTENER_WSS;
}

bool
cq_config_listener_ws(const cq_config_listener_t *l)
{
	return l->type == CQ_LISTENER_WS || l->type == CQ_LISTENER_WSS;
}

const char *
cq_config_listener_path(const cq_config_listener_t *l)
{
	if (l->path[0] != '\0')
		return l->path;
	return l->type == CQ_LISTENER_HEALTH ? "/healthz" : "/mqtt";
}

/* The TLS keys against the type: required on tls/wss, refused elsewhere
 * (a certificate on a plain listener is a mistake worth a word). */
static int
check_tls_for_type(cq_cfg_check_t *ck)
{
	const cq_config_listener_t *l = ck->obj;
	const char *type = cq_config_listener_type_name(l->type);
	bool has_cert = l->tls.cert_file[0] != '\0';
	if (cq_config_listener_tls(l) && !has_cert)
		return cq_cfg_fail(ck, "tls",
			"a %s listener needs tls.cert_file and tls.key_file",
			type);
	if (!cq_config_listener_tls(l) &&
		(has_cert || l->tls.ca_file[0] != '\0'))
		return cq_cfg_fail(ck, "tls",
			"a %s listener does not speak TLS: use type tls or wss",
			type);
	return 0;
}

static int
check_http_for_type(cq_cfg_check_t *ck)
{
	const cq_config_listener_t *l = ck->obj;
	bool http = cq_config_listener_ws(l) || l->type == CQ_LISTENER_HEALTH;
	if (l->path[0] != '\0' && !http)
		return cq_cfg_fail(ck, "path",
			"only ws, wss and health listeners have a path");
	if (l->path[0] != '\0' &&
		(l->path[0] != '/' || strpbrk(l->path, " ?#\t") != NULL))
		return cq_cfg_fail(ck, "path",
			"expected an absolute path like /mqtt, without query "
			"or spaces");
	if (l->type == CQ_LISTENER_HEALTH &&
		(l->proxy_protocol || l->rate_limit > 0 ||
			l->mount_point[0] != '\0'))
		return cq_cfg_fail(ck, "type",
			"a health listener takes no proxy_protocol, "
			"rate_limit or mount_point");
	return 0;
}

static int
check_proxies(cq_cfg_check_t *ck)
{
	const cq_config_listener_t *l = ck->obj;
	for (size_t i = 0; i < l->trusted_proxies.n; i++) {
		cq_netmask_t m;
		if (cq_netmask_parse(l->trusted_proxies.items[i], &m) < 0)
			return cq_cfg_fail(ck, "trusted_proxies",
				"item %zu: expected an IP address or a "
				"network like 10.0.0.0/8, got \"%.64s\"",
				i, l->trusted_proxies.items[i]);
	}
	if (l->proxy_protocol && l->address.is_path)
		return cq_cfg_fail(
			ck, "proxy_protocol", "not on a Unix socket listener");
	if (l->rate_limit > 0 && l->rate_burst == 0)
		return cq_cfg_fail(ck, "rate_burst",
			"a rate_limit needs a rate_burst of at least 1");
	return 0;
}

int
cq_config_listener_check_edges(cq_cfg_check_t *ck)
{
	if (check_tls_for_type(ck) < 0 || check_http_for_type(ck) < 0 ||
		check_proxies(ck) < 0)
		return -1;
	return 0;
}
