/*
 * conf_admin.c — the keys of the admin: section (conf_admin.h).
 *
 * Live keys are the ones comqtt-admin re-reads on SIGHUP (the token, the
 * loopback exemption, body size, timeout, dashboard directory); what binds a socket, loads a certificate or sizes shared
 * memory needs a restart.
 */
#include "config.h"
#include "core/conf_admin.h"

#include <string.h>

#include "core/defs.h"

#define KB (INT64_C(1) << 10)
#define MB (INT64_C(1) << 20)

const char *const cq_config_tls_versions[] = {"1.2", "1.3", NULL};

/* A bearer token is sent in a header: printable ASCII, no spaces. */
static const char *
valid_token(const void *field)
{
	const char *s = *(char *const *)field;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return "a token of printable characters without spaces";
	return NULL;
}

/* Certificate and key come together. */
static int
check_tls(cq_cfg_check_t *ck)
{
	const cq_config_admin_tls_t *t = ck->obj;
	if ((t->cert[0] == '\0') != (t->key[0] == '\0'))
		return cq_cfg_fail(ck, t->cert[0] ? "key" : "cert",
			"cert and key go together (both empty: plain HTTP)");
	return 0;
}

static int
check_admin(cq_cfg_check_t *ck)
{
	const cq_config_admin_t *a = ck->obj;
	if (a->address.is_path)
		return cq_cfg_fail(ck, "address",
			"the admin listens on host:port, like 127.0.0.1:8080");
	return 0;
}

#define TLS(m) CQ_CFG_AT(cq_config_admin_tls_t, m)
static const cq_cfg_key_t tls_keys[] = {
	{.name = "cert",
		.type = CQ_CFG_PATH,
		TLS(cert),
		.def = "",
		.min = 0,
		.max = 4095,
		.doc = "PEM certificate (chain) of the HTTPS listener; \"\" = "
		       "plain HTTP"},
	{.name = "key",
		.type = CQ_CFG_PATH,
		TLS(key),
		.def = "",
		.min = 0,
		.max = 4095,
		.doc = "PEM private key of the certificate"},
	{.name = "min_version",
		.type = CQ_CFG_ENUM,
		TLS(min_version),
		.def = "1.2",
		.names = cq_config_tls_versions,
		.doc = "oldest TLS version accepted: 1.2 or 1.3"},
};

static const cq_cfg_table_t tls_table = {
	.name = "tls",
	.keys = tls_keys,
	.n_keys = CQ_ARRAY_SIZE(tls_keys),
	.size = sizeof(cq_config_admin_tls_t),
	.check = check_tls,
};

#define ADMIN(m) CQ_CFG_AT(cq_config_admin_t, m)
static const cq_cfg_key_t admin_keys[] = {
	{.name = "enabled",
		.type = CQ_CFG_BOOL,
		ADMIN(enabled),
		.def = "true",
		.doc = "run comqtt-admin: REST API, metrics, dashboard"},
	{.name = "address",
		.type = CQ_CFG_ADDRESS,
		ADMIN(address),
		.def = "0.0.0.0:8080",
		.doc = "host:port of the HTTP(S) listener"},
	{.name = "token",
		.type = CQ_CFG_STRING,
		ADMIN(token),
		.def = "",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = 256,
		.valid = valid_token,
		.doc = "bearer token of the API; \"\" = the one in "
		       "<data_dir>/admin.token, made on first start"},
	{.name = "allow_loopback",
		.type = CQ_CFG_BOOL,
		ADMIN(allow_loopback),
		.def = "false",
		.flags = CQ_CFG_LIVE,
		.doc = "requests from 127.0.0.0/8 and ::1 need no token"},
	{.name = "max_body",
		.type = CQ_CFG_SIZE,
		ADMIN(max_body),
		.def = "64K",
		.flags = CQ_CFG_LIVE,
		.min = 1 * KB,
		.max = 16 * MB,
		.doc = "largest request body; more is answered 413"},
	{.name = "timeout",
		.type = CQ_CFG_DURATION,
		ADMIN(timeout),
		.def = "30s",
		.flags = CQ_CFG_LIVE,
		.min = 1,
		.max = 3600,
		.doc = "an HTTP connection silent this long is closed"},
	{.name = "dashboard_dir",
		.type = CQ_CFG_PATH,
		ADMIN(dashboard_dir),
		.def = "",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = 4095,
		.doc = "directory of the dashboard's files; \"\" = the "
		       "installed ones"},
	{.name = "blacklist_max",
		.type = CQ_CFG_INT,
		ADMIN(blacklist_max),
		.def = "1024",
		.min = 0,
		.max = 1048576,
		.doc = "client ids the blacklist can hold (sized into shared "
		       "memory)"},
	{.name = "tls",
		.type = CQ_CFG_MAP,
		ADMIN(tls),
		.sub = &tls_table,
		.doc = "HTTPS for the admin listener"},
};

const cq_cfg_table_t cq_config_admin_table = {
	.name = "admin",
	.keys = admin_keys,
	.n_keys = CQ_ARRAY_SIZE(admin_keys),
	.size = sizeof(cq_config_admin_t),
	.check = check_admin,
};
