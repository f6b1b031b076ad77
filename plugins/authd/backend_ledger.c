/*
 * backend_ledger.c — the "ledger" backend: rules from a YAML or JSON file
 * (ledger.h), read at start and again on every SIGHUP (authd rebuilds
 * its chain then, and this backend with it).
 *
 * ACL checks and fast password schemes are answered on the loop thread.
 * With bcrypt (ledger.password_hash: 1) the whole AUTH decision runs on
 * the bcrypt pool: the rules are tried in order and several may need a
 * bcrypt check, which must not stall the loop.  The rules are immutable
 * and outlive every deferred request (the chain closes this backend only
 * once none runs), so the thread reads them without a lock.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "plugins/authd/backend.h"
#include "plugins/authd/ledger.h"
#include "plugins/authd/password.h"
#include "plugins/authd/pool.h"

typedef struct ledger_state {
	cq_ledger_t *rules;
	const cq_config_auth_ledger_t *conf;
	cq_pool_t *pool;
	uint32_t timeout_ms;
} ledger_state_t;

typedef struct ledger_job {
	cq_auth_job_t base;
	ledger_state_t *st;
} ledger_job_t;

static int
ledger_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	const cq_config_auth_ledger_t *conf = &env->conf->ledger;
	char path[PATH_MAX];
	ledger_state_t *st;

	if (conf->file[0] == '/')
		snprintf(path, sizeof(path), "%s", conf->file);
	else
		snprintf(path, sizeof(path), "%s/%s", env->config_dir,
			conf->file);
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		*error_r = strdup("out of memory");
		return -1;
	}
	if ((st->rules = cq_ledger_load(path, error_r)) == NULL) {
		free(st);
		return -1;
	}
	st->conf = conf;
	st->pool = env->crypto_pool;
	st->timeout_ms = env->conf->backend_timeout_ms;
	cq_log(CQ_LOG_INFO, 0,
		"ledger %s: %zu users, %zu auth rules, %zu acl rules", path,
		cq_ledger_users(st->rules), cq_ledger_auth_rules(st->rules),
		cq_ledger_acl_rules(st->rules));
	*state_r = st;
	return 0;
}

static void
job_work(cq_pool_job_t *job, void *ctx)
{
	ledger_job_t *j = (ledger_job_t *)job;
	(void)ctx;
	j->base.verdict = cq_ledger_auth(j->st->rules, j->base.req,
		j->st->conf->password_hash, j->st->conf->hash_key);
}

static cq_auth_verdict_t
ledger_authenticate(void *state, cq_auth_request_t *req)
{
	ledger_state_t *st = state;
	ledger_job_t *j;

	if (!cq_password_is_slow(st->conf->password_hash))
		return cq_ledger_auth(st->rules, req, st->conf->password_hash,
			st->conf->hash_key);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_UNAVAILABLE, "out of memory");
	j->st = st;
	return cq_auth_job_submit(
		st->pool, &j->base, req, job_work, st->timeout_ms);
}

static cq_auth_verdict_t
ledger_acl(void *state, cq_auth_request_t *req)
{
	ledger_state_t *st = state;
	return cq_ledger_acl(st->rules, req);
}

static void
ledger_close(void *state)
{
	ledger_state_t *st = state;
	cq_ledger_free(st->rules);
	free(st);
}

const cq_auth_backend_t cq_auth_backend_ledger = {
	.name = "ledger",
	.abi_version = CQ_AUTH_BACKEND_ABI,
	.init = ledger_init,
	.authenticate = ledger_authenticate,
	.acl = ledger_acl,
	.close = ledger_close,
};
