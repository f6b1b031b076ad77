/*
 * chain.c — backend registry, chains and the life of a request in them
 * (chain.h, backend.h).
 *
 * Lifetime: a chain starts with one reference (its being current) and
 * takes one per running request.  Closing always happens from a fresh
 * loop callback, never from inside the call that dropped the last
 * reference: that call may be a pool completion or a hiredis callback of
 * the very backend being closed.
 */
#include "config.h"
#include "plugins/authd/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/assert.h"
#include "core/defs.h"
#include "core/log.h"
#include "plugins/authd/password.h"
#include "plugins/authd/pool.h"

#define CHAIN_MAX 6

extern const cq_auth_backend_t cq_auth_backend_allow;
extern const cq_auth_backend_t cq_auth_backend_ledger;
extern const cq_auth_backend_t cq_auth_backend_redis;
extern const cq_auth_backend_t cq_auth_backend_postgres;
extern const cq_auth_backend_t cq_auth_backend_mysql;
extern const cq_auth_backend_t cq_auth_backend_http;

static const cq_auth_backend_t *const registry[] = {
	&cq_auth_backend_allow,
	&cq_auth_backend_ledger,
	&cq_auth_backend_redis,
	&cq_auth_backend_postgres,
	&cq_auth_backend_mysql,
	&cq_auth_backend_http,
};

struct cq_auth_chain {
	cq_config_t *cfg;
	char *config_dir;
	cq_auth_env_t env;
	struct event_base *base;
	size_t n;
	const cq_auth_backend_t *ops[CHAIN_MAX];
	void *state[CHAIN_MAX];
	unsigned refs;
};

const cq_auth_backend_t *
cq_auth_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

static void
chain_close(cq_auth_chain_t *c)
{
	for (size_t i = c->n; i-- > 0;)
		if (c->ops[i]->close != NULL)
			c->ops[i]->close(c->state[i]);
	cq_pool_free(c->env.crypto_pool);
	cq_config_free(c->cfg);
	free(c->cfg);
	free(c->config_dir);
	free(c);
}

static void
close_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chain_close(arg);
}

static void
chain_unref(cq_auth_chain_t *c)
{
	cq_assert(c->refs > 0);
	if (--c->refs > 0)
		return;
	if (event_base_once(c->base, -1, EV_TIMEOUT, close_later, c, NULL) < 0)
		chain_close(c); /* no callback possible: close now */
}

static int
init_backends(cq_auth_chain_t *c, const cq_auth_backend_t *const *ops, size_t n,
	char **error_r)
{
	for (size_t i = 0; i < n && i < CHAIN_MAX; i++) {
		const cq_auth_backend_t *b = ops[i];
		char *why = NULL;
		if (b == NULL || b->abi_version != CQ_AUTH_BACKEND_ABI) {
			*error_r = strdup("unknown backend or ABI mismatch");
			return -1;
		}
		if (b->init(&c->env, &c->state[i], &why) < 0) {
			size_t len = strlen(b->name) + (why ? strlen(why) : 9) +
				4;
			if ((*error_r = malloc(len)) != NULL)
				snprintf(*error_r, len, "%s: %s", b->name,
					why ? why : "failed");
			free(why);
			return -1;
		}
		c->ops[c->n++] = b;
	}
	return 0;
}

cq_auth_chain_t *
cq_auth_chain_new_ops(struct event_base *base, cq_config_t *cfg,
	const char *config_dir, const cq_auth_backend_t *const *ops, size_t n,
	char **error_r)
{
	cq_auth_chain_t *c = calloc(1, sizeof(*c));

	*error_r = NULL;
	if (c == NULL || (c->config_dir = strdup(config_dir)) == NULL) {
		free(c);
		cq_config_free(cfg);
		free(cfg);
		*error_r = strdup("out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->base = base;
	c->refs = 1;
	c->env.base = base;
	c->env.conf = &cfg->auth;
	c->env.config_dir = c->config_dir;
	c->env.crypto_pool = cq_pool_new(base, "bcrypt", cfg->auth.threads,
		cfg->auth.backend_timeout_ms, NULL, NULL, NULL);
	if (c->env.crypto_pool == NULL) {
		*error_r = strdup("cannot start the bcrypt threads");
		chain_close(c);
		return NULL;
	}
	if (init_backends(c, ops, n, error_r) < 0) {
		if (*error_r == NULL)
			*error_r = strdup("out of memory");
		chain_close(c);
		return NULL;
	}
	return c;
}

cq_auth_chain_t *
cq_auth_chain_new(struct event_base *base, cq_config_t *cfg,
	const char *config_dir, char **error_r)
{
	const cq_auth_backend_t *ops[CHAIN_MAX] = {NULL};
	size_t n = CQ_MIN(cfg->auth.backends.n, (size_t)CHAIN_MAX);

	for (size_t i = 0; i < n; i++)
		ops[i] = cq_auth_backend_find(cfg->auth.backends.items[i]);
	return cq_auth_chain_new_ops(base, cfg, config_dir, ops, n, error_r);
}

void
cq_auth_chain_retire(cq_auth_chain_t *chain)
{
	if (chain != NULL)
		chain_unref(chain);
}

unsigned
cq_auth_chain_running(const cq_auth_chain_t *chain)
{
	return chain->refs - 1;
}

const cq_config_t *
cq_auth_chain_config(const cq_auth_chain_t *chain)
{
	return chain->cfg;
}

/* ---- answers ---------------------------------------------------------- */

static bool
is_definitive(const char *code)
{
	return strcmp(code, CQ_AUTHP_CODE_BAD_CREDENTIALS) == 0 ||
		strcmp(code, CQ_AUTHP_CODE_NOT_AUTHORIZED) == 0;
}

/* Reasons start with the backend that gave them ("ledger: ..."), so the
 * client and the log both see who refused. */
static void
name_backend(cq_auth_request_t *req)
{
	const char *by = req->decided_by != NULL ? req->decided_by : "chain";
	size_t n = strlen(by), len = strlen(req->reason);
	char copy[sizeof(req->reason)];

	if (strncmp(req->reason, by, n) == 0 && req->reason[n] == ':')
		return;
	memcpy(copy, req->reason, len + 1);
	size_t w = n + 2 < sizeof(req->reason) ? n + 2 : 0;
	if (w == 0)
		return;
	memcpy(req->reason, by, n);
	memcpy(req->reason + n, ": ", 2);
	len = CQ_MIN(len, sizeof(req->reason) - 1 - w);
	memcpy(req->reason + w, copy, len);
	req->reason[w + len] = '\0';
}

/* One line per refusal, with the client id and the reason. */
static void
log_refusal(const cq_auth_request_t *req)
{
	int level = is_definitive(req->code) ? CQ_LOG_NOTICE : CQ_LOG_WARN;

	if (req->cmd == CQ_AUTHP_CMD_AUTH)
		cq_log(level, 0,
			"AUTH refused: client \"%s\" user \"%s\" from %s on "
			"%s: %s (%s)",
			req->client, req->user, req->addr, req->listener,
			req->code, req->reason);
	else
		cq_log(level, 0,
			"ACL refused: client \"%s\" user \"%s\" %c \"%s\": %s "
			"(%s)",
			req->client, req->user, req->access, req->topic,
			req->code, req->reason);
}

static void
finish(cq_auth_request_t *req, cq_auth_verdict_t v)
{
	cq_auth_chain_t *c = req->chain;
	const cq_config_auth_t *a = &c->cfg->auth;

	if (v == CQ_AUTH_OK) {
		req->code = NULL;
		if (req->ttl == CQ_AUTH_TTL_DEFAULT)
			req->ttl = (int32_t)a->cache_ttl;
	} else {
		if (req->code == NULL)
			cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
				"backend gave no reason");
		name_backend(req);
		if (!is_definitive(req->code))
			req->ttl = CQ_AUTH_TTL_DEFAULT; /* never cache faults */
		else if (req->ttl == CQ_AUTH_TTL_DEFAULT)
			req->ttl = (int32_t)a->deny_ttl;
		log_refusal(req);
	}
	req->done(req, req->done_arg);
	chain_unref(c);
}

static void
no_match(cq_auth_request_t *req)
{
	req->decided_by = NULL;
	if (req->cmd == CQ_AUTHP_CMD_AUTH) {
		cq_auth_request_fail(req, CQ_AUTHP_CODE_BAD_CREDENTIALS,
			"no backend accepted these credentials");
		finish(req, CQ_AUTH_FAIL);
	} else if (req->chain->cfg->auth.acl_no_match ==
		CQ_AUTH_NO_MATCH_ALLOW) {
		finish(req, cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT));
	} else {
		cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
			"no rule matched (acl_no_match: deny)");
		finish(req, CQ_AUTH_FAIL);
	}
}

/* Ask backends from req->next on until one decides or defers. */
static void
advance(cq_auth_request_t *req)
{
	cq_auth_chain_t *c = req->chain;

	while (req->next < c->n) {
		size_t i = req->next++;
		cq_auth_verdict_t (*op)(void *,
			cq_auth_request_t *) = req->cmd == CQ_AUTHP_CMD_AUTH
			? c->ops[i]->authenticate
			: c->ops[i]->acl;
		if (op == NULL)
			continue;
		req->in_op = true;
		cq_auth_verdict_t v = op(c->state[i], req);
		req->in_op = false;
		if (v == CQ_AUTH_DEFER)
			return;
		if (v == CQ_AUTH_NEXT) {
			req->code = NULL;
			req->ttl = CQ_AUTH_TTL_DEFAULT;
			continue;
		}
		req->decided_by = c->ops[i]->name;
		finish(req, v);
		return;
	}
	no_match(req);
}

void
cq_auth_chain_run(cq_auth_chain_t *chain, cq_auth_request_t *req,
	void (*done)(cq_auth_request_t *req, void *arg), void *arg)
{
	req->chain = chain;
	req->next = 0;
	req->code = NULL;
	req->reason[0] = '\0';
	req->ttl = CQ_AUTH_TTL_DEFAULT;
	req->decided_by = NULL;
	req->done = done;
	req->done_arg = arg;
	chain->refs++;
	advance(req);
}

void
cq_auth_request_resume(cq_auth_request_t *req, cq_auth_verdict_t v)
{
	cq_auth_chain_t *c = req->chain;

	cq_assert(!req->in_op && req->next > 0 && v != CQ_AUTH_DEFER);
	if (v == CQ_AUTH_NEXT) {
		req->code = NULL;
		req->ttl = CQ_AUTH_TTL_DEFAULT;
		advance(req);
		return;
	}
	req->decided_by = c->ops[req->next - 1]->name;
	finish(req, v);
}

/* ---- jobs on a pool ------------------------------------------------ */

static void
job_done(cq_pool_job_t *pj)
{
	cq_auth_job_t *j = (cq_auth_job_t *)pj;
	cq_auth_request_t *req = j->req;
	cq_auth_verdict_t v = j->verdict;

	if (pj->expired)
		v = cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"no thread free within %u ms", j->max_wait_ms);
	free(j);
	cq_auth_request_resume(req, v);
}

cq_auth_verdict_t
cq_auth_job_submit(cq_pool_t *pool, cq_auth_job_t *job, cq_auth_request_t *req,
	void (*work)(cq_pool_job_t *job, void *ctx), uint32_t max_wait_ms)
{
	job->pool_job.work = work;
	job->pool_job.done = job_done;
	job->req = req;
	job->verdict = CQ_AUTH_NEXT;
	job->max_wait_ms = max_wait_ms;
	cq_pool_submit(pool, &job->pool_job);
	return CQ_AUTH_DEFER;
}

/* ---- passwords on the bcrypt pool ------------------------------------ */

typedef struct pw_job {
	cq_auth_job_t base;
	int scheme;
	size_t stored_len, key_len;
	char *key; /* points into 'data' */
	char data[]; /* stored, NUL, key, NUL */
} pw_job_t;

static void
pw_work(cq_pool_job_t *job, void *ctx)
{
	pw_job_t *j = (pw_job_t *)job;
	cq_auth_request_t *req = j->base.req;
	(void)ctx;
	if (cq_password_verify(j->scheme, j->data, j->stored_len, req->pass,
		    req->pass_len, j->key, j->key_len))
		j->base.verdict = cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
	else
		j->base.verdict = cq_auth_request_fail(
			req, CQ_AUTHP_CODE_BAD_CREDENTIALS, "wrong password");
}

cq_auth_verdict_t
cq_auth_check_password(const cq_auth_env_t *env, cq_auth_request_t *req,
	const char *stored, size_t stored_len, int scheme, const char *key)
{
	size_t key_len = key != NULL ? strlen(key) : 0;

	if (!req->has_pass)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_BAD_CREDENTIALS,
			"no password given");
	if (!cq_password_is_slow(scheme)) {
		if (cq_password_verify(scheme, stored, stored_len, req->pass,
			    req->pass_len, key, key_len))
			return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_BAD_CREDENTIALS, "wrong password");
	}
	pw_job_t *j = malloc(sizeof(*j) + stored_len + key_len + 2);
	if (j == NULL)
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_UNAVAILABLE, "out of memory");
	j->scheme = scheme;
	j->stored_len = stored_len;
	memcpy(j->data, stored, stored_len);
	j->data[stored_len] = '\0';
	j->key = j->data + stored_len + 1;
	j->key_len = key_len;
	memcpy(j->key, key != NULL ? key : "", key_len + 1);
	return cq_auth_job_submit(env->crypto_pool, &j->base, req, pw_work,
		env->conf->backend_timeout_ms);
}
