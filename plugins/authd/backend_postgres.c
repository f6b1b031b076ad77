/*
 * backend_postgres.c — the "postgres" backend: libpq with prepared
 * statements, one connection per thread of the backend's pool (sql.h
 * explains the model, the queries and reconnection).
 *
 * Default tables are mqtt_user(username, password, allow) and
 * mqtt_acl(username, topic, access); every name is configurable
 * (auth.postgres.*).  Connection parameters go to PQconnectdbParams() as
 * separate values, never pasted into a conninfo string.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "plugins/authd/sql.h"

#define QUERY_MAX 1024

static void
copy_error(char *err, const char *msg)
{
	size_t n = strcspn(msg, "\n");
	snprintf(err, CQ_SQL_ERR_MAX, "%.*s", (int)n, msg);
}

static int
prepare(PGconn *pg, const char *name, const char *query, char *err)
{
	PGresult *r = PQprepare(pg, name, query, 1, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		copy_error(err, PQerrorMessage(pg));
	PQclear(r);
	return ok ? 0 : -1;
}

static void *
pg_connect(const cq_config_auth_sql_t *c, uint32_t timeout_ms, char *err)
{
	char port[8], ctimeout[16], options[64];
	char auth[QUERY_MAX], acl[QUERY_MAX];
	/* libpq rounds connect_timeout 1 up to 2; give it at least that. */
	unsigned secs = (timeout_ms + 999) / 1000 < 2
		? 2
		: (timeout_ms + 999) / 1000;

	snprintf(port, sizeof(port), "%u", c->port);
	snprintf(ctimeout, sizeof(ctimeout), "%u", secs);
	snprintf(options, sizeof(options), "-c statement_timeout=%u",
		timeout_ms);
	const char *keys[] = {"host", "port", "dbname", "user", "password",
		"sslmode", "connect_timeout", "options", "application_name",
		"keepalives", "keepalives_idle", NULL};
	const char *vals[] = {c->host, port, c->database, c->user, c->password,
		c->sslmode, ctimeout, options, "comqtt-authd", "1", "30", NULL};
	if (cq_sql_queries(c, "$1", auth, sizeof(auth), acl, sizeof(acl)) < 0) {
		snprintf(err, CQ_SQL_ERR_MAX, "table or column names too long");
		return NULL;
	}
	PGconn *pg = PQconnectdbParams(keys, vals, 0);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		copy_error(err, pg ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		return NULL;
	}
	if (prepare(pg, "cq_auth", auth, err) < 0 ||
		prepare(pg, "cq_acl", acl, err) < 0) {
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

static void
pg_disconnect(void *conn)
{
	PQfinish(conn);
}

/* Run a prepared statement with one text parameter; NULL on error. */
static PGresult *
run(PGconn *pg, const char *stmt, const char *key, char *err)
{
	const char *params[1] = {key};
	PGresult *r = PQexecPrepared(pg, stmt, 1, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		copy_error(err, PQerrorMessage(pg));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
pg_fetch_user(void *conn, const char *key, size_t len, cq_sql_user_t *user_r,
	char *err)
{
	PGresult *r = run(conn, "cq_auth", key, err);

	(void)len;
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	size_t plen = PQgetisnull(r, 0, 0) ? 0 : (size_t)PQgetlength(r, 0, 0);
	user_r->password = malloc(plen + 1);
	if (user_r->password == NULL) {
		PQclear(r);
		snprintf(err, CQ_SQL_ERR_MAX, "out of memory");
		return -1;
	}
	memcpy(user_r->password, PQgetvalue(r, 0, 0), plen);
	user_r->password[plen] = '\0';
	user_r->password_len = plen;
	user_r->allow = PQgetisnull(r, 0, 1) ||
		cq_sql_allow_value(
			PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
	PQclear(r);
	return 1;
}

static int
pg_fetch_acl(void *conn, const char *key, size_t len, cq_sql_row_fn *row,
	void *arg, char *err)
{
	PGresult *r = run(conn, "cq_acl", key, err);

	(void)len;
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 0) || PQgetisnull(r, i, 1))
			continue;
		row(arg, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0),
			PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return 0;
}

static const cq_sql_driver_t pg_driver = {
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.fetch_user = pg_fetch_user,
	.fetch_acl = pg_fetch_acl,
};

static int
pg_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	return cq_sql_init(
		&pg_driver, &env->conf->postgres, env, state_r, error_r);
}

const cq_auth_backend_t cq_auth_backend_postgres = {
	.name = "postgres",
	.abi_version = CQ_AUTH_BACKEND_ABI,
	.init = pg_init,
	.authenticate = cq_sql_authenticate,
	.acl = cq_sql_acl,
	.close = cq_sql_close,
};
