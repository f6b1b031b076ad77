/*
 * conf_auth.h — the auth: section of comqtt.yml (types only; part of the
 * config module, conf.h includes it).
 *
 * One section serves both readers of the file: comqttd (whether to start
 * comqtt-authd, where its socket is, the workers' deadlines and cache
 * rules) and comqtt-authd itself (the backend chain and each backend's
 * settings), so `comqtt-authd -c comqtt.yml` and the authd that comqttd
 * forks read the same keys.  The rows are in conf_auth.c; every key is
 * documented in comqtt.yml(5) and etc/comqtt.yml.
 *
 * Each backend type has one settings map (auth.ledger, auth.redis,
 * auth.postgres, auth.mysql, auth.http); auth.backends lists the types to
 * chain, in order, each at most once.
 */
#ifndef CQ_CORE_CONF_AUTH_H
#define CQ_CORE_CONF_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/config_schema.h"

/* What a backend looks a user's records up by (Go comqtt's auth-mode and
 * acl-mode 1 and 2). */
typedef enum cq_auth_lookup {
	CQ_AUTH_BY_USERNAME = 0,
	CQ_AUTH_BY_CLIENT,
} cq_auth_lookup_t;

/* What the chain answers an ACL request no backend decided. */
typedef enum cq_auth_no_match {
	CQ_AUTH_NO_MATCH_DENY = 0,
	CQ_AUTH_NO_MATCH_ALLOW,
} cq_auth_no_match_t;

typedef struct cq_config_auth_ledger {
	char *file; /* YAML or JSON rules; relative to the config file */
	uint8_t password_hash; /* scheme of the passwords in the file */
	char *hash_key; /* HMAC key of schemes 6 to 8 */
} cq_config_auth_ledger_t;

typedef struct cq_config_auth_redis {
	cq_addr_t address; /* host:port or a socket path */
	char *username;
	char *password;
	uint32_t db;
	char *auth_prefix; /* HGET <auth_prefix>:<key> password */
	char *acl_prefix; /* HGETALL <acl_prefix>:<key> */
	uint8_t password_hash;
	char *hash_key;
	cq_auth_lookup_t auth_by;
	cq_auth_lookup_t acl_by;
} cq_config_auth_redis_t;

/* PostgreSQL and MariaDB/MySQL share one shape (sslmode is PostgreSQL's,
 * charset MySQL's; each table shows only its own). */
typedef struct cq_config_auth_sql {
	char *host; /* name, address, or a socket directory/path */
	uint16_t port;
	char *database;
	char *user;
	char *password;
	char *sslmode;
	char *charset;
	uint32_t pool_size; /* connections, each with its own thread */
	char *auth_table;
	char *user_column;
	char *password_column;
	char *allow_column;
	char *acl_table;
	char *acl_user_column;
	char *topic_column;
	char *access_column;
	uint8_t password_hash;
	char *hash_key;
	cq_auth_lookup_t auth_by;
	cq_auth_lookup_t acl_by;
} cq_config_auth_sql_t;

typedef enum cq_auth_http_method {
	CQ_AUTH_HTTP_POST = 0,
	CQ_AUTH_HTTP_GET,
} cq_auth_http_method_t;

typedef enum cq_auth_http_body {
	CQ_AUTH_HTTP_JSON = 0,
	CQ_AUTH_HTTP_FORM,
} cq_auth_http_body_t;

typedef struct cq_config_auth_http {
	char *auth_url; /* "" : AUTH passes to the next backend */
	char *acl_url; /* "" : ACL passes to the next backend */
	cq_auth_http_method_t method;
	cq_auth_http_body_t content_type;
	uint32_t connections; /* most parallel connections */
	char *tls_ca; /* "" : the system's CAs */
	char *tls_cert; /* client certificate, "" : none */
	char *tls_key;
	bool tls_verify;
} cq_config_auth_http_t;

typedef struct cq_config_auth {
	bool enabled;
	char *socket; /* "" : <data_dir>/authd.sock */
	uint32_t socket_mode;
	uint32_t timeout_ms; /* AUTH deadline in the worker */
	uint32_t acl_timeout_ms; /* ACL deadline in the worker */
	uint32_t backend_timeout_ms; /* one backend call inside authd */
	uint32_t cache_ttl; /* seconds an answer without ttl= is cached */
	uint32_t deny_ttl; /* seconds a refusal is cached; 0: never */
	uint32_t max_stale; /* seconds past expiry a cached answer may serve
			       while authd is unreachable */
	uint32_t max_inflight; /* requests per connection, both ends */
	uint32_t threads; /* authd threads for bcrypt */
	cq_cfg_strlist_t backends; /* chain order: ledger, redis, ... */
	cq_auth_no_match_t acl_no_match;
	cq_config_auth_ledger_t ledger;
	cq_config_auth_redis_t redis;
	cq_config_auth_sql_t postgres;
	cq_config_auth_sql_t mysql;
	cq_config_auth_http_t http;
} cq_config_auth_t;

/* The auth: map's table (conf_auth.c), a row of comqttd's root table. */
extern const cq_cfg_table_t cq_config_auth_table;

/* The backend types auth.backends may name, NULL-terminated. */
extern const char *const cq_config_auth_backend_names[];

#endif /* CQ_CORE_CONF_AUTH_H */
