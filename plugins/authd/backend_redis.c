/*
 * backend_redis.c — the "redis" backend: hiredis's asynchronous API on
 * authd's loop (libevent adapter), one pipelined connection.
 *
 * Layout (Go comqtt's prefixes, EMQX's hash shapes):
 *   HMGET   <auth_prefix>:<key> password allow
 *           no password field: NEXT; allow "0": refused; otherwise the
 *           password is checked with redis.password_hash.
 *   HGETALL <acl_prefix>:<key>
 *           field = topic filter, value = access 0..3, folded as acl.h
 *           says; an empty hash: NEXT.
 * <key> is the user name or the client id (auth_by, acl_by).  Keys and
 * values travel as binary-safe arguments (redisAsyncCommandArgv), never
 * formatted into a command, so no user name can inject a command.
 *
 * Connection: made on the first request, re-made on the first request
 * after a failure, but not more often than the back-off (100 ms doubling
 * to 2 s) allows; in between, requests are answered "unavailable" at
 * once.  A request unanswered after backend_timeout_ms is answered
 * "unavailable" and the connection is dropped (a server that stopped
 * answering would otherwise hold every later request too).
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/log.h"
#include "plugins/authd/acl.h"
#include "plugins/authd/backend.h"
#include "plugins/authd/pool.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define KEY_MAX        1024

typedef struct redis_state {
	cq_auth_env_t env;
	const cq_config_auth_redis_t *conf;
	uint32_t timeout_ms;
	char host[NI_MAXHOST]; /* resolved at init */
	redisAsyncContext *ac;
	uint64_t retry_at_ms; /* no new connection before this */
	uint32_t backoff_ms;
	bool warned; /* logged the current outage */
} redis_state_t;

typedef struct rop {
	redis_state_t *st;
	cq_auth_request_t *req;
	struct event *timer;
	bool answered;
} rop_t;

/* ---- connection ------------------------------------------------------ */

static void
connection_failed(redis_state_t *st, const char *what, const char *err)
{
	uint64_t now = cq_pool_now_ms();

	st->ac = NULL;
	st->retry_at_ms = now + st->backoff_ms;
	if (!st->warned)
		cq_log(CQ_LOG_WARN, 0, "redis %s: %s%s%s; retrying", st->host,
			what, err ? ": " : "", err ? err : "");
	st->warned = true;
	st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS
		? BACKOFF_MAX_MS
		: st->backoff_ms * 2;
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	redis_state_t *st = ac->data;

	if (status != REDIS_OK) {
		if (st->ac == ac)
			connection_failed(st, "connect failed", ac->errstr);
		return;
	}
	if (st->warned)
		cq_log(CQ_LOG_NOTICE, 0, "redis %s: connected again", st->host);
	st->warned = false;
	st->backoff_ms = BACKOFF_MIN_MS;
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	redis_state_t *st = ac->data;

	if (st->ac == ac)
		connection_failed(st, "connection lost",
			status != REDIS_OK ? ac->errstr : NULL);
}

/* Login commands go first; requests queue behind them until connected. */
static void
send_login(redis_state_t *st)
{
	const char *argv[3];
	char db[16];

	if (st->conf->password[0] != '\0') {
		int n = 0;
		argv[n++] = "AUTH";
		if (st->conf->username[0] != '\0')
			argv[n++] = st->conf->username;
		argv[n++] = st->conf->password;
		redisAsyncCommandArgv(st->ac, NULL, NULL, n, argv, NULL);
	}
	if (st->conf->db != 0) {
		snprintf(db, sizeof(db), "%u", st->conf->db);
		argv[0] = "SELECT";
		argv[1] = db;
		redisAsyncCommandArgv(st->ac, NULL, NULL, 2, argv, NULL);
	}
}

/* The connection, made if needed and allowed; NULL while backing off. */
static redisAsyncContext *
connection(redis_state_t *st)
{
	const cq_addr_t *a = &st->conf->address;

	if (st->ac != NULL || cq_pool_now_ms() < st->retry_at_ms)
		return st->ac;
	st->ac = a->is_path ? redisAsyncConnectUnix(a->host)
			    : redisAsyncConnect(st->host, a->port);
	if (st->ac == NULL || st->ac->err) {
		const char *err = st->ac ? st->ac->errstr : "out of memory";
		if (st->ac != NULL)
			redisAsyncFree(st->ac);
		connection_failed(st, "connect failed", err);
		return NULL;
	}
	st->ac->data = st;
	redisLibeventAttach(st->ac, st->env.base);
	redisAsyncSetConnectCallback(st->ac, on_connect);
	redisAsyncSetDisconnectCallback(st->ac, on_disconnect);
	send_login(st);
	return st->ac;
}

/* Drop the connection (a request timed out): every pending command's
 * callback runs now with no reply. */
static void
drop_connection(redis_state_t *st)
{
	redisAsyncContext *ac = st->ac;

	if (ac == NULL)
		return;
	connection_failed(st, "no answer in time", NULL);
	redisAsyncFree(ac);
}

/* ---- requests ----------------------------------------------------- */

static void
answer(rop_t *op, cq_auth_verdict_t v)
{
	op->answered = true;
	event_del(op->timer);
	if (v != CQ_AUTH_DEFER)
		cq_auth_request_resume(op->req, v);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	rop_t *op = arg;
	(void)fd;
	(void)what;
	answer(op,
		cq_auth_request_fail(op->req, CQ_AUTHP_CODE_UNAVAILABLE,
			"redis: no answer within %u ms", op->st->timeout_ms));
	drop_connection(op->st);
}

static cq_auth_verdict_t
reply_error(cq_auth_request_t *req, const redisReply *r)
{
	if (r == NULL)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"redis: connection lost");
	return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
		"redis: %.120s",
		r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

static cq_auth_verdict_t
auth_reply(redis_state_t *st, cq_auth_request_t *req, const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return reply_error(req, r);
	const redisReply *pw = r->element[0], *allow = r->element[1];
	if (pw->type == REDIS_REPLY_NIL)
		return CQ_AUTH_NEXT; /* no such user here */
	if (pw->type != REDIS_REPLY_STRING)
		return reply_error(req, pw);
	if (allow->type == REDIS_REPLY_STRING && allow->len == 1 &&
		allow->str[0] == '0')
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
			"redis: user is disabled (allow 0)");
	return cq_auth_check_password(&st->env, req, pw->str, pw->len,
		st->conf->password_hash, st->conf->hash_key);
}

static cq_auth_verdict_t
acl_reply(cq_auth_request_t *req, const redisReply *r)
{
	cq_acl_fold_t fold = {0};

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return reply_error(req, r);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		int level;
		if (f->type != REDIS_REPLY_STRING ||
			v->type != REDIS_REPLY_STRING ||
			cq_acl_level_parse(v->str, v->len, &level) < 0)
			continue; /* not a rule: ignore, as Go comqtt does */
		cq_acl_fold_row(&fold, f->str, f->len, level, req);
	}
	return cq_acl_fold_verdict(&fold, req, "redis");
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	rop_t *op = privdata;
	(void)ac;

	if (!op->answered) {
		cq_auth_request_t *req = op->req;
		answer(op,
			req->cmd == CQ_AUTHP_CMD_AUTH
				? auth_reply(op->st, req, reply)
				: acl_reply(req, reply));
	}
	event_free(op->timer);
	free(op);
}

static cq_auth_verdict_t
send_request(redis_state_t *st, cq_auth_request_t *req, const char *prefix,
	cq_auth_lookup_t by)
{
	char key[KEY_MAX];
	size_t len, plen = strlen(prefix);
	const char *k = cq_auth_request_key(req, by, &len);
	bool auth = req->cmd == CQ_AUTHP_CMD_AUTH;
	const char *argv[4] = {
		auth ? "HMGET" : "HGETALL", key, "password", "allow"};
	size_t argl[4] = {strlen(argv[0]), 0, 8, 5};
	redisAsyncContext *ac = connection(st);
	struct timeval tv = {
		st->timeout_ms / 1000, (st->timeout_ms % 1000) * 1000};

	if (ac == NULL)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"redis: not connected (retrying)");
	if (plen + 1 + len > sizeof(key))
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_INVALID, "redis: key too long");
	memcpy(key, prefix, plen);
	argl[1] = plen;
	if (plen > 0)
		key[argl[1]++] = ':';
	memcpy(key + argl[1], k, len);
	argl[1] += len;
	rop_t *op = calloc(1, sizeof(*op));
	if (op == NULL ||
		(op->timer = evtimer_new(st->env.base, on_timeout, op)) ==
			NULL ||
		redisAsyncCommandArgv(ac, on_reply, op, auth ? 4 : 2, argv,
			argl) != REDIS_OK) {
		if (op != NULL && op->timer != NULL)
			event_free(op->timer);
		free(op);
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"redis: cannot send the command");
	}
	op->st = st;
	op->req = req;
	evtimer_add(op->timer, &tv);
	return CQ_AUTH_DEFER;
}

static cq_auth_verdict_t
redis_authenticate(void *state, cq_auth_request_t *req)
{
	redis_state_t *st = state;
	return send_request(st, req, st->conf->auth_prefix, st->conf->auth_by);
}

static cq_auth_verdict_t
redis_acl(void *state, cq_auth_request_t *req)
{
	redis_state_t *st = state;
	return send_request(st, req, st->conf->acl_prefix, st->conf->acl_by);
}

/* ---- setup ----------------------------------------------------------- */

/* Resolve a host name once, here, so that connecting never waits for DNS
 * on the loop. */
static int
resolve(redis_state_t *st, char **error_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	const cq_addr_t *a = &st->conf->address;
	int rc;

	if (a->is_path) {
		snprintf(st->host, sizeof(st->host), "%s", a->host);
		return 0;
	}
	if ((rc = getaddrinfo(a->host, NULL, &hints, &res)) != 0 ||
		getnameinfo(res->ai_addr, res->ai_addrlen, st->host,
			sizeof(st->host), NULL, 0, NI_NUMERICHOST) != 0) {
		if (res != NULL)
			freeaddrinfo(res);
		size_t len = strlen(a->host) + 64;
		if ((*error_r = malloc(len)) != NULL)
			snprintf(*error_r, len, "cannot resolve %s: %s",
				a->host, gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

static int
redis_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	redis_state_t *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		*error_r = strdup("out of memory");
		return -1;
	}
	st->env = *env;
	st->conf = &env->conf->redis;
	st->timeout_ms = env->conf->backend_timeout_ms;
	st->backoff_ms = BACKOFF_MIN_MS;
	if (resolve(st, error_r) < 0) {
		free(st);
		return -1;
	}
	*state_r = st;
	return 0;
}

static void
redis_close(void *state)
{
	redis_state_t *st = state;

	if (st->ac != NULL) {
		redisAsyncContext *ac = st->ac;
		st->ac = NULL;
		redisAsyncFree(ac);
	}
	free(st);
}

const cq_auth_backend_t cq_auth_backend_redis = {
	.name = "redis",
	.abi_version = CQ_AUTH_BACKEND_ABI,
	.init = redis_init,
	.authenticate = redis_authenticate,
	.acl = redis_acl,
	.close = redis_close,
};
