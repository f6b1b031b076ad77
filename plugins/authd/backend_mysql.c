/*
 * backend_mysql.c — the "mysql" backend (MariaDB or MySQL): libmariadb
 * prepared statements, one connection per thread of the backend's pool
 * (sql.h explains the model, the queries and reconnection).
 *
 * Default tables are Go comqtt's auth(username, password, allow) and
 * acl(username, topic, access).  Every column is fetched as a string
 * (the server converts), so an integer or boolean allow/access column
 * works alike.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "plugins/authd/sql.h"

#define QUERY_MAX    1024
#define PASSWORD_MAX 1024
#define TOPIC_MAX    65536
#define SMALL_MAX    32

typedef struct my_conn {
	MYSQL *m;
	MYSQL_STMT *auth, *acl;
	char *topic; /* TOPIC_MAX bytes */
} my_conn_t;

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/* Before any thread makes a connection (mysql_init() would otherwise
 * initialise the library racily). */
static void
library_init(void)
{
	mysql_library_init(0, NULL, NULL);
}

static void
my_disconnect(void *conn)
{
	my_conn_t *c = conn;

	if (c == NULL)
		return;
	if (c->auth != NULL)
		mysql_stmt_close(c->auth);
	if (c->acl != NULL)
		mysql_stmt_close(c->acl);
	mysql_close(c->m);
	free(c->topic);
	free(c);
}

static MYSQL_STMT *
prepare(my_conn_t *c, const char *query, char *err)
{
	MYSQL_STMT *s = mysql_stmt_init(c->m);

	if (s == NULL || mysql_stmt_prepare(s, query, strlen(query)) != 0) {
		snprintf(err, CQ_SQL_ERR_MAX, "prepare: %s",
			s ? mysql_stmt_error(s) : mysql_error(c->m));
		if (s != NULL)
			mysql_stmt_close(s);
		return NULL;
	}
	return s;
}

static bool
open_connection(my_conn_t *c, const cq_config_auth_sql_t *conf,
	uint32_t timeout_ms, char *err)
{
	unsigned secs = (timeout_ms + 999) / 1000;
	bool socket = conf->host[0] == '/';

	mysql_options(c->m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
	mysql_options(c->m, MYSQL_OPT_READ_TIMEOUT, &secs);
	mysql_options(c->m, MYSQL_OPT_WRITE_TIMEOUT, &secs);
	mysql_options(c->m, MYSQL_SET_CHARSET_NAME, conf->charset);
	if (mysql_real_connect(c->m, socket ? "localhost" : conf->host,
		    conf->user, conf->password, conf->database, conf->port,
		    socket ? conf->host : NULL, 0) == NULL) {
		snprintf(err, CQ_SQL_ERR_MAX, "%s", mysql_error(c->m));
		return false;
	}
	return true;
}

static void *
my_connect(const cq_config_auth_sql_t *conf, uint32_t timeout_ms, char *err)
{
	char auth[QUERY_MAX], acl[QUERY_MAX];
	my_conn_t *c = calloc(1, sizeof(*c));

	pthread_once(&library_once, library_init);
	if (c == NULL || (c->topic = malloc(TOPIC_MAX)) == NULL ||
		(c->m = mysql_init(NULL)) == NULL) {
		snprintf(err, CQ_SQL_ERR_MAX, "out of memory");
		if (c != NULL)
			free(c->topic);
		free(c);
		return NULL;
	}
	if (cq_sql_queries(conf, "?", auth, sizeof(auth), acl, sizeof(acl)) <
			0 ||
		!open_connection(c, conf, timeout_ms, err) ||
		(c->auth = prepare(c, auth, err)) == NULL ||
		(c->acl = prepare(c, acl, err)) == NULL) {
		if (err[0] == '\0')
			snprintf(err, CQ_SQL_ERR_MAX, "names too long");
		my_disconnect(c);
		return NULL;
	}
	return c;
}

/* Execute 's' with the key as its parameter and bind the results to
 * 'res'.  0 or -1 (err filled). */
static int
execute(MYSQL_STMT *s, const char *key, size_t len, MYSQL_BIND *res, char *err)
{
	MYSQL_BIND param;
	unsigned long klen = (unsigned long)len;

	memset(&param, 0, sizeof(param));
	param.buffer_type = MYSQL_TYPE_STRING;
	param.buffer = (void *)key;
	param.buffer_length = klen;
	param.length = &klen;
	if (mysql_stmt_bind_param(s, &param) != 0 ||
		mysql_stmt_execute(s) != 0 ||
		mysql_stmt_bind_result(s, res) != 0 ||
		mysql_stmt_store_result(s) != 0) {
		snprintf(err, CQ_SQL_ERR_MAX, "%s", mysql_stmt_error(s));
		mysql_stmt_free_result(s);
		return -1;
	}
	return 0;
}

static void
bind_string(MYSQL_BIND *b, char *buf, unsigned long size, unsigned long *len,
	my_bool *is_null, my_bool *error)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = size;
	b->length = len;
	b->is_null = is_null;
	b->error = error;
}

static int
my_fetch_user(void *conn, const char *key, size_t len, cq_sql_user_t *user_r,
	char *err)
{
	my_conn_t *c = conn;
	char pw[PASSWORD_MAX], allow[SMALL_MAX];
	unsigned long pw_len = 0, allow_len = 0;
	my_bool pw_null = 0, allow_null = 0, e0 = 0, e1 = 0;
	MYSQL_BIND res[2];
	int rc;

	bind_string(&res[0], pw, sizeof(pw), &pw_len, &pw_null, &e0);
	bind_string(
		&res[1], allow, sizeof(allow), &allow_len, &allow_null, &e1);
	if (execute(c->auth, key, len, res, err) < 0)
		return -1;
	rc = mysql_stmt_fetch(c->auth);
	if (rc == MYSQL_NO_DATA) {
		mysql_stmt_free_result(c->auth);
		return 0;
	}
	if (rc != 0 || pw_len >= sizeof(pw)) {
		snprintf(err, CQ_SQL_ERR_MAX, "%s",
			rc == 1 ? mysql_stmt_error(c->auth)
				: "stored password longer than 1023 bytes");
		mysql_stmt_free_result(c->auth);
		return -1;
	}
	mysql_stmt_free_result(c->auth);
	size_t plen = pw_null ? 0 : pw_len;
	if ((user_r->password = malloc(plen + 1)) == NULL)
		return -1;
	memcpy(user_r->password, pw, plen);
	user_r->password[plen] = '\0';
	user_r->password_len = plen;
	user_r->allow = allow_null ||
		cq_sql_allow_value(allow,
			allow_len < sizeof(allow) ? allow_len : sizeof(allow));
	return 1;
}

static int
my_fetch_acl(void *conn, const char *key, size_t len, cq_sql_row_fn *row,
	void *arg, char *err)
{
	my_conn_t *c = conn;
	char access[SMALL_MAX];
	unsigned long t_len = 0, a_len = 0;
	my_bool t_null = 0, a_null = 0, e0 = 0, e1 = 0;
	MYSQL_BIND res[2];
	int rc;

	bind_string(&res[0], c->topic, TOPIC_MAX, &t_len, &t_null, &e0);
	bind_string(&res[1], access, sizeof(access), &a_len, &a_null, &e1);
	if (execute(c->acl, key, len, res, err) < 0)
		return -1;
	while ((rc = mysql_stmt_fetch(c->acl)) == 0 ||
		rc == MYSQL_DATA_TRUNCATED) {
		if (rc != 0 || t_null || a_null || a_len >= sizeof(access))
			continue; /* not a usable rule */
		access[a_len] = '\0';
		row(arg, c->topic, t_len, access);
	}
	if (rc == 1)
		snprintf(err, CQ_SQL_ERR_MAX, "%s", mysql_stmt_error(c->acl));
	mysql_stmt_free_result(c->acl);
	return rc == 1 ? -1 : 0;
}

static const cq_sql_driver_t my_driver = {
	.name = "mysql",
	.connect = my_connect,
	.disconnect = my_disconnect,
	.fetch_user = my_fetch_user,
	.fetch_acl = my_fetch_acl,
};

static int
my_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	pthread_once(&library_once, library_init);
	return cq_sql_init(
		&my_driver, &env->conf->mysql, env, state_r, error_r);
}

const cq_auth_backend_t cq_auth_backend_mysql = {
	.name = "mysql",
	.abi_version = CQ_AUTH_BACKEND_ABI,
	.init = my_init,
	.authenticate = cq_sql_authenticate,
	.acl = cq_sql_acl,
	.close = cq_sql_close,
};
