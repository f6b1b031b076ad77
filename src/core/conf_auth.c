/*
 * conf_auth.c — the keys of the auth: section (conf_auth.h).
 *
 * Kept apart from conf.c so that the broker's other keys and these can
 * change without touching each other; conf.c has one row that hangs this
 * table under "auth".  The same rules hold as there: add a row, a field,
 * a paragraph in man/comqtt.yml.5 and an entry in etc/comqtt.yml.
 *
 * Reload: comqtt-authd rereads the file on SIGHUP and rebuilds its
 * backend chain, so the backend keys are live; the workers' client takes
 * its deadlines and cache rules live too (cq_authc_configure()).  The
 * socket, and whether authd runs at all, need a restart.
 */
#include "config.h"
#include "core/conf_auth.h"

#include <stddef.h>
#include <string.h>

#include "core/conf.h"
#include "core/conf_redis.h"
#include "core/defs.h"

#define PATH_LEN_MAX 4095
#define LIVE         .flags = CQ_CFG_LIVE

const char *const cq_config_auth_backend_names[] = {
	"allow", "ledger", "redis", "postgres", "mysql", "http", NULL};

static const char *const lookup_names[] = {"username", "client", NULL};
static const char *const no_match_names[] = {"deny", "allow", NULL};
static const char *const method_names[] = {"post", "get", NULL};
static const char *const body_names[] = {"json", "form", NULL};

/* A SQL identifier: a table or column, optionally schema-qualified.  Only
 * these characters, so that the queries built from them need no quoting
 * and cannot be turned into anything else. */
static const char *
valid_sql_name(const void *field)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_";
	const char *s = *(char *const *)field;
	size_t dots = 0;

	for (const char *p = s; *p != '\0'; p++) {
		bool start = p == s || p[-1] == '.';
		if (*p == '.' && !start && p[1] != '\0' && dots++ == 0)
			continue;
		if (strchr(first, *p) == NULL &&
			(start || *p < '0' || *p > '9'))
			return "an identifier of letters, digits and _ "
			       "(schema.table allowed)";
	}
	return NULL;
}

static const char *
valid_url(const void *field)
{
	const char *s = *(char *const *)field;

	if (s[0] == '\0' || strncmp(s, "http://", 7) == 0 ||
		strncmp(s, "https://", 8) == 0)
		return NULL;
	return "an http:// or https:// URL, or \"\"";
}

/* Passwords hashed with HMAC (schemes 6 to 8) need the key. */
static int
check_hash_key(cq_cfg_check_t *ck, uint8_t scheme, const char *key)
{
	if (scheme >= 6 && key[0] == '\0')
		return cq_cfg_fail(ck, "hash_key",
			"password_hash %u (HMAC) needs a hash_key", scheme);
	return 0;
}

#define HASH_ROWS(T)                                                           \
	{.name = "password_hash",                                              \
		.type = CQ_CFG_INT,                                            \
		CQ_CFG_AT(T, password_hash),                                   \
		.def = "0",                                                    \
		LIVE,                                                          \
		.min = 0,                                                      \
		.max = 8,                                                      \
		.doc = "stored passwords: 0 plain, 1 bcrypt, 2 md5, 3 sha1, "  \
		       "4 sha256, 5 sha512, 6-8 hmac-sha1/256/512"},           \
	{                                                                      \
		.name = "hash_key", .type = CQ_CFG_STRING,                     \
		CQ_CFG_AT(T, hash_key), .def = "", LIVE, .min = 0,             \
		.max = 1024, .doc = "HMAC key of password_hash 6 to 8"         \
	}

#define LOOKUP_ROWS(T)                                                         \
	{.name = "auth_by",                                                    \
		.type = CQ_CFG_ENUM,                                           \
		CQ_CFG_AT(T, auth_by),                                         \
		.def = "username",                                             \
		LIVE,                                                          \
		.names = lookup_names,                                         \
		.doc = "look credentials up by username or client id"},        \
	{                                                                      \
		.name = "acl_by", .type = CQ_CFG_ENUM, CQ_CFG_AT(T, acl_by),   \
		.def = "username", LIVE, .names = lookup_names,                \
		.doc = "look ACL rows up by username or client id"             \
	}

/* ---- auth.ledger ---------------------------------------------------- */

static int
check_ledger(cq_cfg_check_t *ck)
{
	const cq_config_auth_ledger_t *l = ck->obj;
	return check_hash_key(ck, l->password_hash, l->hash_key);
}

#define LEDGER(m) CQ_CFG_AT(cq_config_auth_ledger_t, m)
static const cq_cfg_key_t ledger_keys[] = {
	{.name = "file",
		.type = CQ_CFG_PATH,
		LEDGER(file),
		.def = "ledger.yml",
		LIVE,
		.min = 1,
		.max = PATH_LEN_MAX,
		.doc = "the rules, YAML or JSON; relative to the config "
		       "file's directory"},
	HASH_ROWS(cq_config_auth_ledger_t),
};

static const cq_cfg_table_t ledger_table = {
	.name = "ledger",
	.keys = ledger_keys,
	.n_keys = CQ_ARRAY_SIZE(ledger_keys),
	.size = sizeof(cq_config_auth_ledger_t),
	.check = check_ledger,
};

/* ---- auth.redis ----------------------------------------------------- */

static int
check_redis(cq_cfg_check_t *ck)
{
	const cq_config_auth_redis_t *r = ck->obj;

	if (cq_cfg_check_redis_address(ck, &r->address) < 0)
		return -1;
	return check_hash_key(ck, r->password_hash, r->hash_key);
}

#define REDIS(m) CQ_CFG_AT(cq_config_auth_redis_t, m)
static const cq_cfg_key_t redis_keys[] = {
	CQ_CFG_REDIS_ROWS(cq_config_auth_redis_t, CQ_CFG_LIVE),
	{.name = "auth_prefix",
		.type = CQ_CFG_STRING,
		REDIS(auth_prefix),
		.def = "comqtt-auth",
		LIVE,
		.min = 0,
		.max = 256,
		.doc = "users are hashes <auth_prefix>:<user>"},
	{.name = "acl_prefix",
		.type = CQ_CFG_STRING,
		REDIS(acl_prefix),
		.def = "comqtt-acl",
		LIVE,
		.min = 0,
		.max = 256,
		.doc = "ACLs are hashes <acl_prefix>:<user> of filter -> "
		       "access"},
	HASH_ROWS(cq_config_auth_redis_t),
	LOOKUP_ROWS(cq_config_auth_redis_t),
};

static const cq_cfg_table_t redis_table = {
	.name = "redis",
	.keys = redis_keys,
	.n_keys = CQ_ARRAY_SIZE(redis_keys),
	.size = sizeof(cq_config_auth_redis_t),
	.check = check_redis,
};

/* ---- auth.postgres and auth.mysql ------------------------------------ */

static int
check_sql(cq_cfg_check_t *ck)
{
	const cq_config_auth_sql_t *s = ck->obj;
	return check_hash_key(ck, s->password_hash, s->hash_key);
}

#define SQL(m) CQ_CFG_AT(cq_config_auth_sql_t, m)
#define SQL_NAME_ROW(key, member, def_, what)                                  \
	{                                                                      \
		.name = key, .type = CQ_CFG_STRING, SQL(member), .def = def_,  \
		LIVE, .min = 1, .max = 128, .valid = valid_sql_name,           \
		.doc = what                                                    \
	}
#define SQL_STRING_ROW(key, member, def_, max_, what)                          \
	{                                                                      \
		.name = key, .type = CQ_CFG_STRING, SQL(member), .def = def_,  \
		LIVE, .min = 0, .max = max_, .doc = what                       \
	}

/* The rows both SQL backends have; 'port', 'users' and 'acls' are their
 * defaults. */
#define SQL_ROWS(port_, users, acls)                                           \
	SQL_STRING_ROW("host", host, "127.0.0.1", 1024,                        \
		"server host name, address or socket directory"),              \
		{.name = "port",                                               \
			.type = CQ_CFG_INT,                                    \
			SQL(port),                                             \
			.def = port_,                                          \
			LIVE,                                                  \
			.min = 1,                                              \
			.max = 65535,                                          \
			.doc = "server port"},                                 \
		SQL_STRING_ROW(                                                \
			"database", database, "comqtt", 256, "database name"), \
		SQL_STRING_ROW("user", user, "comqtt", 256, "login name"),     \
		SQL_STRING_ROW("password", password, "", 1024,                 \
			"login password; \"\" = none"),                        \
		{.name = "pool_size",                                          \
			.type = CQ_CFG_INT,                                    \
			SQL(pool_size),                                        \
			.def = "4",                                            \
			LIVE,                                                  \
			.min = 1,                                              \
			.max = 64,                                             \
			.doc = "connections, each served by its own thread"},  \
		SQL_NAME_ROW(                                                  \
			"auth_table", auth_table, users, "table of users"),    \
		SQL_NAME_ROW("user_column", user_column, "username",           \
			"column of the user name (or client id)"),             \
		SQL_NAME_ROW("password_column", password_column, "password",   \
			"column of the stored password"),                      \
		SQL_NAME_ROW("allow_column", allow_column, "allow",            \
			"column that is 0 for a disabled user"),               \
		SQL_NAME_ROW(                                                  \
			"acl_table", acl_table, acls, "table of ACL rows"),    \
		SQL_NAME_ROW("acl_user_column", acl_user_column, "username",   \
			"column of the ACL row's user (or client id)"),        \
		SQL_NAME_ROW("topic_column", topic_column, "topic",            \
			"column of the topic filter"),                         \
		SQL_NAME_ROW("access_column", access_column, "access",         \
			"column of the access: 0 deny, 1 read, 2 write, 3 "    \
			"both"),                                               \
		HASH_ROWS(cq_config_auth_sql_t),                               \
		LOOKUP_ROWS(cq_config_auth_sql_t)

static const cq_cfg_key_t postgres_keys[] = {
	SQL_ROWS("5432", "mqtt_user", "mqtt_acl"),
	SQL_STRING_ROW("sslmode", sslmode, "prefer", 32,
		"libpq sslmode: disable, prefer, require, verify-full..."),
};

static const cq_cfg_key_t mysql_keys[] = {
	SQL_ROWS("3306", "auth", "acl"),
	SQL_STRING_ROW(
		"charset", charset, "utf8mb4", 32, "connection character set"),
};

static const cq_cfg_table_t postgres_table = {
	.name = "postgres",
	.keys = postgres_keys,
	.n_keys = CQ_ARRAY_SIZE(postgres_keys),
	.size = sizeof(cq_config_auth_sql_t),
	.check = check_sql,
};

static const cq_cfg_table_t mysql_table = {
	.name = "mysql",
	.keys = mysql_keys,
	.n_keys = CQ_ARRAY_SIZE(mysql_keys),
	.size = sizeof(cq_config_auth_sql_t),
	.check = check_sql,
};

/* ---- auth.http ------------------------------------------------------ */

#define HTTP(m) CQ_CFG_AT(cq_config_auth_http_t, m)
static const cq_cfg_key_t http_keys[] = {
	{.name = "auth_url",
		.type = CQ_CFG_STRING,
		HTTP(auth_url),
		.def = "",
		LIVE,
		.min = 0,
		.max = 2048,
		.valid = valid_url,
		.doc = "URL asked for AUTH; \"\" = pass to the next backend"},
	{.name = "acl_url",
		.type = CQ_CFG_STRING,
		HTTP(acl_url),
		.def = "",
		LIVE,
		.min = 0,
		.max = 2048,
		.valid = valid_url,
		.doc = "URL asked for ACL; \"\" = pass to the next backend"},
	{.name = "method",
		.type = CQ_CFG_ENUM,
		HTTP(method),
		.def = "post",
		LIVE,
		.names = method_names,
		.doc = "post (fields in the body) or get (in the query)"},
	{.name = "content_type",
		.type = CQ_CFG_ENUM,
		HTTP(content_type),
		.def = "json",
		LIVE,
		.names = body_names,
		.doc = "body of a post: json or form"},
	{.name = "connections",
		.type = CQ_CFG_INT,
		HTTP(connections),
		.def = "8",
		LIVE,
		.min = 1,
		.max = 1024,
		.doc = "most connections to the server at once (kept alive)"},
	{.name = "tls_ca",
		.type = CQ_CFG_PATH,
		HTTP(tls_ca),
		.def = "",
		LIVE,
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "CA bundle for https; \"\" = the system's"},
	{.name = "tls_cert",
		.type = CQ_CFG_PATH,
		HTTP(tls_cert),
		.def = "",
		LIVE,
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "client certificate for https; \"\" = none"},
	{.name = "tls_key",
		.type = CQ_CFG_PATH,
		HTTP(tls_key),
		.def = "",
		LIVE,
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "key of tls_cert"},
	{.name = "tls_verify",
		.type = CQ_CFG_BOOL,
		HTTP(tls_verify),
		.def = "true",
		LIVE,
		.doc = "verify the server's certificate and name"},
};

static const cq_cfg_table_t http_table = {
	.name = "http",
	.keys = http_keys,
	.n_keys = CQ_ARRAY_SIZE(http_keys),
	.size = sizeof(cq_config_auth_http_t),
};

/* ---- auth ----------------------------------------------------------- */

/* Every backend named is a known type, and named once. */
static int
check_auth(cq_cfg_check_t *ck)
{
	const cq_config_auth_t *a = ck->obj;

	for (size_t i = 0; i < a->backends.n; i++) {
		const char *name = a->backends.items[i];
		size_t k = 0;
		while (cq_config_auth_backend_names[k] != NULL &&
			strcmp(cq_config_auth_backend_names[k], name) != 0)
			k++;
		if (cq_config_auth_backend_names[k] == NULL)
			return cq_cfg_fail(ck, "backends",
				"unknown backend \"%s\" (allow, ledger, redis, "
				"postgres, mysql or http)",
				name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->backends.items[j], name) == 0)
				return cq_cfg_fail(ck, "backends",
					"backend \"%s\" is listed twice", name);
	}
	return 0;
}

#define AUTH(m) CQ_CFG_AT(cq_config_auth_t, m)
static const cq_cfg_key_t auth_keys[] = {
	{.name = "enabled",
		.type = CQ_CFG_BOOL,
		AUTH(enabled),
		.def = "false",
		.doc = "run comqtt-authd and ask it about every CONNECT, "
		       "PUBLISH and SUBSCRIBE"},
	{.name = "socket",
		.type = CQ_CFG_PATH,
		AUTH(socket),
		.def = "",
		.min = 0,
		.max = 107,
		.doc = "authd's Unix socket; \"\" = <data_dir>/authd.sock"},
	{.name = "socket_mode",
		.type = CQ_CFG_MODE,
		AUTH(socket_mode),
		.def = "0600",
		.min = 0,
		.max = 0777,
		.doc = "file mode of the socket"},
	{.name = "timeout_ms",
		.type = CQ_CFG_INT,
		AUTH(timeout_ms),
		.def = "3000",
		LIVE,
		.min = 10,
		.max = 600000,
		.doc = "how long a worker waits for an AUTH answer"},
	{.name = "acl_timeout_ms",
		.type = CQ_CFG_INT,
		AUTH(acl_timeout_ms),
		.def = "1000",
		LIVE,
		.min = 10,
		.max = 600000,
		.doc = "how long a worker waits for an ACL answer"},
	{.name = "backend_timeout_ms",
		.type = CQ_CFG_INT,
		AUTH(backend_timeout_ms),
		.def = "2000",
		LIVE,
		.min = 10,
		.max = 600000,
		.doc = "how long authd waits for one backend (query, HTTP "
		       "call, connect)"},
	{.name = "cache_ttl",
		.type = CQ_CFG_DURATION,
		AUTH(cache_ttl),
		.def = "60s",
		LIVE,
		.min = 0,
		.max = 86400,
		.doc = "how long an allowing answer is cached; 0 = not cached"},
	{.name = "deny_ttl",
		.type = CQ_CFG_DURATION,
		AUTH(deny_ttl),
		.def = "5s",
		LIVE,
		.min = 0,
		.max = 86400,
		.doc = "how long a refusal is cached; 0 = not cached"},
	{.name = "max_stale",
		.type = CQ_CFG_DURATION,
		AUTH(max_stale),
		.def = "0",
		LIVE,
		.min = 0,
		.max = 86400,
		.doc = "serve an expired cached answer this long while authd "
		       "is unreachable; 0 = never"},
	{.name = "max_inflight",
		.type = CQ_CFG_INT,
		AUTH(max_inflight),
		.def = "4096",
		.min = 1,
		.max = 65536,
		.flags = CQ_CFG_POW2,
		.doc = "requests in flight on one worker's connection"},
	{.name = "threads",
		.type = CQ_CFG_INT,
		AUTH(threads),
		.def = "2",
		LIVE,
		.min = 1,
		.max = 64,
		.doc = "authd threads that check bcrypt passwords"},
	{.name = "backends",
		.type = CQ_CFG_STRLIST,
		AUTH(backends),
		.def = "[ledger]",
		LIVE,
		.min = 1,
		.max = 6,
		.doc = "backends asked in order: allow, ledger, redis, "
		       "postgres, mysql, http"},
	{.name = "acl_no_match",
		.type = CQ_CFG_ENUM,
		AUTH(acl_no_match),
		.def = "deny",
		LIVE,
		.names = no_match_names,
		.doc = "answer to an ACL request no backend decided"},
	{.name = "ledger",
		.type = CQ_CFG_MAP,
		AUTH(ledger),
		.sub = &ledger_table,
		.doc = "the ledger backend"},
	{.name = "redis",
		.type = CQ_CFG_MAP,
		AUTH(redis),
		.sub = &redis_table,
		.doc = "the redis backend"},
	{.name = "postgres",
		.type = CQ_CFG_MAP,
		AUTH(postgres),
		.sub = &postgres_table,
		.doc = "the postgres backend"},
	{.name = "mysql",
		.type = CQ_CFG_MAP,
		AUTH(mysql),
		.sub = &mysql_table,
		.doc = "the mysql backend"},
	{.name = "http",
		.type = CQ_CFG_MAP,
		AUTH(http),
		.sub = &http_table,
		.doc = "the http backend"},
};

const cq_cfg_table_t cq_config_auth_table = {
	.name = "auth",
	.keys = auth_keys,
	.n_keys = CQ_ARRAY_SIZE(auth_keys),
	.size = sizeof(cq_config_auth_t),
	.check = check_auth,
};
