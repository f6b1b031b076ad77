/*
 * backend_allow.c — the "allow" backend: every AUTH and ACL is allowed.
 *
 * For development only: it logs a warning when it starts, and anything
 * listed after it in auth.backends is never asked.
 */
#include "config.h"

#include <stdlib.h>

#include "core/log.h"
#include "plugins/authd/backend.h"

static int
allow_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	(void)env;
	(void)error_r;
	cq_log(CQ_LOG_WARN, 0,
		"auth backend \"allow\" is in the chain: every client and "
		"topic is allowed (development only)");
	*state_r = NULL;
	return 0;
}

static cq_auth_verdict_t
allow_any(void *state, cq_auth_request_t *req)
{
	(void)state;
	return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
}

static void
allow_close(void *state)
{
	(void)state;
}

const cq_auth_backend_t cq_auth_backend_allow = {
	.name = "allow",
	.abi_version = CQ_AUTH_BACKEND_ABI,
	.init = allow_init,
	.authenticate = allow_any,
	.acl = allow_any,
	.close = allow_close,
};
