/*
 * conf_admin.c — the keys of the admin: section (conf_admin.h).
 *
 * Live keys are the ones comqtt-admin re-reads on SIGHUP (the token, the
 * loopback exemption, body size, timeout, dashboard directory); what binds
 * a socket or sizes shared memory needs a restart.  admin.tls is the
 * listeners' tls: table (conf_listener.c): the same keys, checks and
 * reload (a SIGHUP re-reads the certificate files it names).
 */
#include "config.h"
#include "core/conf_admin.h"

#include <string.h>

#include "core/defs.h"

#define KB (INT64_C(1) << 10)
#define MB (INT64_C(1) << 20)

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

static int
check_admin(cq_cfg_check_t *ck)
{
	const cq_config_admin_t *a = ck->obj;
	if (a->address.is_path)
		return cq_cfg_fail(ck, "address",
			"the admin listens on host:port, like 127.0.0.1:8080");
	/* The API's users are whoever holds the token: a certificate may be
	 * required, but names nobody. */
	if (a->tls.use_identity_as_username)
		return cq_cfg_fail(ck, "tls",
			"use_identity_as_username: the admin API has no "
			"usernames");
	if (a->tls.cert_file[0] == '\0' &&
		(a->tls.ca_file[0] != '\0' ||
			a->tls.client_certs != CQ_TLS_CERTS_NONE))
		return cq_cfg_fail(ck, "tls",
			"client certificates need HTTPS: set cert_file and "
			"key_file");
	return 0;
}

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
		.sub = &cq_config_tls_table,
		.doc = "HTTPS for the admin listener: the keys of a tls "
		       "listener's tls: map"},
};

const cq_cfg_table_t cq_config_admin_table = {
	.name = "admin",
	.keys = admin_keys,
	.n_keys = CQ_ARRAY_SIZE(admin_keys),
	.size = sizeof(cq_config_admin_t),
	.check = check_admin,
};
