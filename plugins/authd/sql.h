/*
 * sql.h — what the SQL backends (postgres, mysql) share: a pool of
 * threads, each owning one database connection, and the AUTH and ACL
 * logic around two queries.  A driver only runs the queries.
 *
 * Why threads and not libpq's asynchronous mode: libmariadb has no
 * practical asynchronous prepared statements, and one model for both
 * keeps reconnecting, timeouts and retries in one place.  A query costs a
 * database round trip (~100 us on loopback) against ~10 us for the thread
 * hand-off, the pool size is the connection pool size anyway, and the
 * loop thread never waits: a job waiting longer than backend_timeout_ms
 * for a thread is answered "unavailable" (pool.h).  Password checks run
 * on the same thread, so bcrypt costs the loop nothing.
 *
 * The queries, with the configured (validated) table and column names:
 *   auth: SELECT password, allow FROM auth_table WHERE user_column = ?
 *   acl:  SELECT topic, access FROM acl_table WHERE acl_user_column = ?
 * always as prepared statements with the key as a parameter, so nothing
 * a client sends becomes SQL.
 *
 * Reconnection: a connection that fails a query is closed; the job retries
 * once on a fresh connection when the failed one had worked before (the
 * server restarted since), so a database restart costs no refusal once
 * it is back.  Connecting is not retried more often than every 250 ms per
 * thread.
 */
#ifndef CQ_AUTHD_SQL_H
#define CQ_AUTHD_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "plugins/authd/backend.h"

#define CQ_SQL_ERR_MAX 200

/* A user row: the stored password and whether the user is allowed. */
typedef struct cq_sql_user {
	char *password; /* malloc'd */
	size_t password_len;
	bool allow;
} cq_sql_user_t;

typedef void cq_sql_row_fn(
	void *arg, const char *filter, size_t len, const char *access);

typedef struct cq_sql_driver {
	const char *name;
	/* A connection (NULL on failure, err filled). */
	void *(*connect)(const cq_config_auth_sql_t *conf, uint32_t timeout_ms,
		char *err);
	void (*disconnect)(void *conn);
	/* 1 found (*user_r filled), 0 no such user, -1 error (err). */
	int (*fetch_user)(void *conn, const char *key, size_t len,
		cq_sql_user_t *user_r, char *err);
	/* Every ACL row of key through row(); 0, or -1 error (err). */
	int (*fetch_acl)(void *conn, const char *key, size_t len,
		cq_sql_row_fn *row, void *arg, char *err);
} cq_sql_driver_t;

/* The backend ops of a driver, for its ops table. */
int cq_sql_init(const cq_sql_driver_t *driver, const cq_config_auth_sql_t *conf,
	const cq_auth_env_t *env, void **state_r, char **error_r);
cq_auth_verdict_t cq_sql_authenticate(void *state, cq_auth_request_t *req);
cq_auth_verdict_t cq_sql_acl(void *state, cq_auth_request_t *req);
void cq_sql_close(void *state);

/* The two query texts for a configuration; placeholder "$1" or "?". */
int cq_sql_queries(const cq_config_auth_sql_t *conf, const char *placeholder,
	char *auth, size_t auth_size, char *acl, size_t acl_size);

/* Is a stored allow value "no" (0, f, false)? */
bool cq_sql_allow_value(const char *v, size_t len);

#endif /* CQ_AUTHD_SQL_H */
