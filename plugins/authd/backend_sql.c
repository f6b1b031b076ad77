/*
 * backend_sql.c — the SQL backends' shared part (sql.h): the thread pool
 * of connections, the jobs, and the AUTH/ACL decisions around the two
 * queries.
 */
#include "config.h"
#include "plugins/authd/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "plugins/authd/acl.h"
#include "plugins/authd/password.h"
#include "plugins/authd/pool.h"

#define RECONNECT_MS 250

typedef struct sql_state {
	const cq_sql_driver_t *driver;
	const cq_config_auth_sql_t *conf;
	uint32_t timeout_ms;
	cq_pool_t *pool;
} sql_state_t;

/* A pool thread's connection. */
typedef struct sql_conn {
	sql_state_t *st;
	void *conn;
	bool used; /* a query succeeded on it */
	uint64_t retry_at_ms;
	bool warned;
} sql_conn_t;

typedef struct sql_job {
	cq_auth_job_t base;
	sql_state_t *st;
	char key[]; /* the user name or client id looked up */
} sql_job_t;

int
cq_sql_queries(const cq_config_auth_sql_t *conf, const char *placeholder,
	char *auth, size_t auth_size, char *acl, size_t acl_size)
{
	int a = snprintf(auth, auth_size, "SELECT %s, %s FROM %s WHERE %s = %s",
		conf->password_column, conf->allow_column, conf->auth_table,
		conf->user_column, placeholder);
	int b = snprintf(acl, acl_size, "SELECT %s, %s FROM %s WHERE %s = %s",
		conf->topic_column, conf->access_column, conf->acl_table,
		conf->acl_user_column, placeholder);
	return a < 0 || b < 0 || (size_t)a >= auth_size || (size_t)b >= acl_size
		? -1
		: 0;
}

bool
cq_sql_allow_value(const char *v, size_t len)
{
	if (v == NULL)
		return true; /* NULL: not disabled */
	return !((len == 1 && (v[0] == '0' || v[0] == 'f' || v[0] == 'F')) ||
		(len == 5 && strncasecmp(v, "false", 5) == 0));
}

/* ---- on a pool thread ------------------------------------------------ */

static void *
ctx_new(void *arg)
{
	sql_conn_t *c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->st = arg;
	return c;
}

static void
ctx_free(void *ctx)
{
	sql_conn_t *c = ctx;
	if (c != NULL && c->conn != NULL)
		c->st->driver->disconnect(c->conn);
	free(c);
}

/* The thread's connection, connecting if needed and allowed. */
static void *
conn_get(sql_conn_t *c, char *err)
{
	const cq_sql_driver_t *d = c->st->driver;

	if (c->conn != NULL)
		return c->conn;
	if (cq_pool_now_ms() < c->retry_at_ms) {
		snprintf(err, CQ_SQL_ERR_MAX, "%s is down (retrying)", d->name);
		return NULL;
	}
	c->conn = d->connect(c->st->conf, c->st->timeout_ms, err);
	c->used = false;
	if (c->conn == NULL) {
		c->retry_at_ms = cq_pool_now_ms() + RECONNECT_MS;
		if (!c->warned)
			cq_log(CQ_LOG_WARN, 0, "%s: %s", d->name, err);
		c->warned = true;
	} else if (c->warned) {
		cq_log(CQ_LOG_NOTICE, 0, "%s: connected again", d->name);
		c->warned = false;
	}
	return c->conn;
}

static void
conn_drop(sql_conn_t *c)
{
	c->st->driver->disconnect(c->conn);
	c->conn = NULL;
}

static cq_auth_verdict_t
decide_user(sql_job_t *j, const cq_sql_user_t *u)
{
	cq_auth_request_t *req = j->base.req;
	const cq_config_auth_sql_t *conf = j->st->conf;

	if (!u->allow)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
			"%s: user is disabled (%s)", j->st->driver->name,
			conf->allow_column);
	if (!req->has_pass)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_BAD_CREDENTIALS,
			"no password given");
	if (!cq_password_verify(conf->password_hash, u->password,
		    u->password_len, req->pass, req->pass_len, conf->hash_key,
		    strlen(conf->hash_key)))
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_BAD_CREDENTIALS, "wrong password");
	return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
}

typedef struct fold_arg {
	cq_acl_fold_t fold;
	const cq_auth_request_t *req;
} fold_arg_t;

static void
fold_row(void *arg, const char *filter, size_t len, const char *access)
{
	fold_arg_t *f = arg;
	int level;

	if (access != NULL &&
		cq_acl_level_parse(access, strlen(access), &level) == 0)
		cq_acl_fold_row(&f->fold, filter, len, level, f->req);
}

/* One attempt: 1 decided (*v_r), 0 failed on a connection that had
 * worked (worth one retry), -1 failed (*v_r set). */
static int
attempt(sql_job_t *j, sql_conn_t *c, cq_auth_verdict_t *v_r)
{
	const cq_sql_driver_t *d = j->st->driver;
	char err[CQ_SQL_ERR_MAX] = "";
	void *conn = conn_get(c, err);
	size_t klen = strlen(j->key);
	int rc = -1;

	if (conn != NULL && j->base.req->cmd == CQ_AUTHP_CMD_AUTH) {
		cq_sql_user_t u = {0};
		rc = d->fetch_user(conn, j->key, klen, &u, err);
		if (rc >= 0)
			*v_r = rc == 0 ? CQ_AUTH_NEXT : decide_user(j, &u);
		free(u.password);
	} else if (conn != NULL) {
		fold_arg_t f = {.req = j->base.req};
		rc = d->fetch_acl(conn, j->key, klen, fold_row, &f, err);
		if (rc >= 0)
			*v_r = cq_acl_fold_verdict(
				&f.fold, j->base.req, d->name);
	}
	if (conn != NULL && rc >= 0) {
		c->used = true;
		return 1;
	}
	bool retry = conn != NULL && c->used;
	if (conn != NULL)
		conn_drop(c);
	*v_r = cq_auth_request_fail(
		j->base.req, CQ_AUTHP_CODE_UNAVAILABLE, "%s: %s", d->name, err);
	return retry ? 0 : -1;
}

static void
job_work(cq_pool_job_t *job, void *ctx)
{
	sql_job_t *j = (sql_job_t *)job;
	sql_conn_t *c = ctx;

	if (c == NULL) {
		j->base.verdict = cq_auth_request_fail(j->base.req,
			CQ_AUTHP_CODE_UNAVAILABLE, "out of memory");
		return;
	}
	if (attempt(j, c, &j->base.verdict) == 0)
		attempt(j, c, &j->base.verdict);
}

/* ---- on the loop thread ---------------------------------------------- */

static cq_auth_verdict_t
submit(sql_state_t *st, cq_auth_request_t *req, cq_auth_lookup_t by)
{
	size_t len;
	const char *key = cq_auth_request_key(req, by, &len);
	sql_job_t *j = malloc(sizeof(*j) + len + 1);

	if (j == NULL)
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_UNAVAILABLE, "out of memory");
	j->st = st;
	memcpy(j->key, key, len + 1);
	return cq_auth_job_submit(
		st->pool, &j->base, req, job_work, st->timeout_ms);
}

cq_auth_verdict_t
cq_sql_authenticate(void *state, cq_auth_request_t *req)
{
	sql_state_t *st = state;
	return submit(st, req, st->conf->auth_by);
}

cq_auth_verdict_t
cq_sql_acl(void *state, cq_auth_request_t *req)
{
	sql_state_t *st = state;
	return submit(st, req, st->conf->acl_by);
}

int
cq_sql_init(const cq_sql_driver_t *driver, const cq_config_auth_sql_t *conf,
	const cq_auth_env_t *env, void **state_r, char **error_r)
{
	sql_state_t *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		*error_r = strdup("out of memory");
		return -1;
	}
	st->driver = driver;
	st->conf = conf;
	st->timeout_ms = env->conf->backend_timeout_ms;
	st->pool = cq_pool_new(env->base, driver->name, conf->pool_size,
		st->timeout_ms, ctx_new, ctx_free, st);
	if (st->pool == NULL) {
		free(st);
		*error_r = strdup("cannot start the connection threads");
		return -1;
	}
	*state_r = st;
	return 0;
}

void
cq_sql_close(void *state)
{
	sql_state_t *st = state;
	cq_pool_free(st->pool);
	free(st);
}
