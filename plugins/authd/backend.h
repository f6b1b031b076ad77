/*
 * backend.h — the interface between comqtt-authd and its backends
 * (Dovecot's passdb_module_interface is the model).
 *
 * A backend is an ops table registered by name (chain.c lists them), one
 * per file, each file ending in a designated-initialiser instance:
 *
 *     const cq_auth_backend_t cq_auth_backend_ledger = {
 *         .name = "ledger", .abi_version = CQ_AUTH_BACKEND_ABI,
 *         .init = ..., .authenticate = ..., .acl = ..., .close = ...,
 *     };
 *
 * authd asks the backends of auth.backends in order; the first definitive
 * answer (OK or FAIL) wins, NEXT passes the question on, DEFER says the
 * answer comes later through cq_auth_request_resume().  When every backend
 * passes, an AUTH is refused (bad_credentials) and an ACL gets
 * auth.acl_no_match.
 *
 * Threading: every op runs on authd's loop thread and must not block it.
 * A backend that has to block (a synchronous database API, bcrypt) does
 * so on a thread of its own pool (pool.h) and resumes from the pool's
 * completion, which runs on the loop thread again.  Never resume from
 * inside the op itself: return the verdict instead.
 *
 * A backend also stops waiting after auth.backend_timeout_ms and answers
 * FAIL code=unavailable: a request never hangs in authd.
 */
#ifndef CQ_AUTHD_BACKEND_H
#define CQ_AUTHD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authc/auth-protocol.h"
#include "core/conf.h"
#include "plugins/authd/pool.h"

/* Bumped when this interface changes incompatibly. */
#define CQ_AUTH_BACKEND_ABI 1

struct event_base;

typedef enum cq_auth_verdict {
	CQ_AUTH_OK = 0, /* allowed: the chain stops */
	CQ_AUTH_FAIL, /* refused or failed: the chain stops */
	CQ_AUTH_NEXT, /* no opinion: ask the next backend */
	CQ_AUTH_DEFER, /* the backend resumes the request later */
} cq_auth_verdict_t;

/* No ttl= from the backend: authd uses auth.cache_ttl / auth.deny_ttl. */
#define CQ_AUTH_TTL_DEFAULT (-1)

/*
 * One question.  The "question" fields are read-only for backends and
 * stay valid until the request is resumed for the last time; strings are
 * NUL-terminated (absent ones are "" with has_user / has_pass false).
 */
typedef struct cq_auth_request {
	/* The question. */
	cq_authp_cmd_t cmd; /* CQ_AUTHP_CMD_AUTH or _ACL */
	const char *client;
	const char *user;
	const char *addr; /* "ip:port", or "" (ACL without addr=) */
	const char *listener;
	const char *cert; /* AUTH: certificate common name, or "" */
	const char *topic; /* ACL: topic, or filter for access 's' */
	const unsigned char *pass; /* AUTH: the password, decoded */
	size_t client_len, user_len, topic_len, pass_len;
	bool has_user, has_pass;
	char access; /* ACL: 'r', 'w' or 's' */

	/* The answer, through the helpers below. */
	const char *code; /* FAIL: a CQ_AUTHP_CODE_* */
	char reason[CQ_AUTHP_REASON_MAX];
	int32_t ttl; /* seconds, or CQ_AUTH_TTL_DEFAULT */
	const char *decided_by; /* the backend that answered */

	/* Private to the chain (chain.c). */
	struct cq_auth_chain *chain;
	size_t next; /* the backend to ask next */
	bool in_op; /* inside a backend's op (resume is a bug then) */
	void (*done)(struct cq_auth_request *req, void *arg);
	void *done_arg;
} cq_auth_request_t;

/* What init() gets: the loop, the section of the configuration (valid
 * until close()), where relative paths start, and authd's bcrypt pool. */
typedef struct cq_auth_env {
	struct event_base *base;
	const cq_config_auth_t *conf;
	const char *config_dir;
	struct cq_pool *crypto_pool;
} cq_auth_env_t;

typedef struct cq_auth_backend {
	const char *name;
	unsigned abi_version;
	/*
	 * Set up from env->conf (connect lazily: a database that is down at
	 * start is an answer of "unavailable" later, not a failed start).
	 * 0 with *state_r, or -1 with *error_r (malloc'd) for a
	 * configuration that cannot work (a missing rules file, a bad URL).
	 */
	int (*init)(const cq_auth_env_t *env, void **state_r, char **error_r);
	/* AUTH and ACL; either may be NULL (= NEXT). */
	cq_auth_verdict_t (*authenticate)(void *state, cq_auth_request_t *req);
	cq_auth_verdict_t (*acl)(void *state, cq_auth_request_t *req);
	/* Release everything.  Called once no request is deferred in it. */
	void (*close)(void *state);
} cq_auth_backend_t;

/* Set the answer: a FAIL code with a reason (printf), or an OK ttl. */
cq_auth_verdict_t cq_auth_request_fail(cq_auth_request_t *req, const char *code,
	const char *fmt, ...) __attribute__((format(printf, 3, 4)));
cq_auth_verdict_t cq_auth_request_ok(cq_auth_request_t *req, int32_t ttl);

/*
 * Continue a deferred request with the backend's verdict (OK, FAIL or
 * NEXT).  Loop thread only, outside the backend's op.  The request may
 * be finished and freed before this returns.
 */
void cq_auth_request_resume(cq_auth_request_t *req, cq_auth_verdict_t v);

/*
 * Check req's password against a stored form (password.h).  Fast schemes
 * answer at once: OK, or FAIL bad_credentials.  bcrypt runs on the
 * crypto pool and returns DEFER; the request is then resumed with OK or
 * FAIL by authd.  A backend calling this from a deferred callback passes
 * its result on: resume unless it is DEFER.
 */
cq_auth_verdict_t cq_auth_check_password(const cq_auth_env_t *env,
	cq_auth_request_t *req, const char *stored, size_t stored_len,
	int scheme, const char *key);

/*
 * A request answered on a pool thread (pool.h): embed cq_auth_job_t first
 * in a malloc'd struct, submit it with a work function that stores its
 * verdict in job->verdict (the request's answer fields may be set from
 * that thread), and return DEFER.  authd then frees the struct and
 * resumes the request on the loop thread; a job that waited longer than
 * the pool allows is answered "unavailable" instead.
 */
typedef struct cq_auth_job {
	cq_pool_job_t pool_job;
	cq_auth_request_t *req;
	cq_auth_verdict_t verdict;
	uint32_t max_wait_ms; /* for the "waited too long" reason */
} cq_auth_job_t;

/* Queue 'job' on 'pool' for 'req' ('work' gets the cq_pool_job_t, which
 * is the cq_auth_job_t).  Returns CQ_AUTH_DEFER. */
cq_auth_verdict_t cq_auth_job_submit(struct cq_pool *pool, cq_auth_job_t *job,
	cq_auth_request_t *req, void (*work)(cq_pool_job_t *job, void *ctx),
	uint32_t max_wait_ms);

/* The lookup key auth_by / acl_by name: the user name or the client id. */
const char *cq_auth_request_key(
	const cq_auth_request_t *req, cq_auth_lookup_t by, size_t *len_r);

#endif /* CQ_AUTHD_BACKEND_H */
