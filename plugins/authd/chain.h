/*
 * chain.h — the backend registry and the chain of backends authd asks.
 *
 * A chain is built from one configuration (auth.backends, in order) and
 * owns that configuration, its backends' states and its bcrypt pool.
 * SIGHUP builds a new chain from the reread file and retires the old one;
 * a retired chain lives on until the last request running in it has
 * finished (each request holds a reference), then closes its backends.
 * So a reload never cuts a database query short and never mixes two
 * configurations within one request.
 *
 * A request runs through the chain: each backend answers OK, FAIL, NEXT
 * or DEFER (backend.h); when all pass, AUTH is refused with
 * bad_credentials and ACL answered per auth.acl_no_match.  When it is
 * decided, the chain fills in default TTLs (auth.cache_ttl for OK,
 * auth.deny_ttl for a refusal; none for "unavailable") and calls the
 * request's done callback.
 */
#ifndef CQ_AUTHD_CHAIN_H
#define CQ_AUTHD_CHAIN_H

#include "core/conf.h"
#include "plugins/authd/backend.h"

struct event_base;

typedef struct cq_auth_chain cq_auth_chain_t;

/* The backends built in: name -> ops table, NULL when unknown. */
const cq_auth_backend_t *cq_auth_backend_find(const char *name);

/*
 * Build a chain from cfg->auth.  The chain takes cfg over (frees it when
 * it is closed, also on failure).  'config_dir' is where relative paths
 * start.  NULL with *error_r (malloc'd) when a backend refuses its
 * configuration.
 */
cq_auth_chain_t *cq_auth_chain_new(struct event_base *base, cq_config_t *cfg,
	const char *config_dir, char **error_r);

/* The same with the backends given (tests, embedders): ops[0..n-1]
 * instead of auth.backends; at most 6. */
cq_auth_chain_t *cq_auth_chain_new_ops(struct event_base *base,
	cq_config_t *cfg, const char *config_dir,
	const cq_auth_backend_t *const *ops, size_t n, char **error_r);

/* Stop using the chain; it closes once no request runs in it. */
void cq_auth_chain_retire(cq_auth_chain_t *chain);

/* Requests running in the chain (to wait for at shutdown). */
unsigned cq_auth_chain_running(const cq_auth_chain_t *chain);

/* The configuration the chain was built from. */
const cq_config_t *cq_auth_chain_config(const cq_auth_chain_t *chain);

/*
 * Ask the chain.  'req' holds the question; done(req, arg) is called on
 * the loop thread once it is decided (req->code NULL for OK) -- possibly
 * before this returns.  The caller frees req in done, not before.
 */
void cq_auth_chain_run(cq_auth_chain_t *chain, cq_auth_request_t *req,
	void (*done)(cq_auth_request_t *req, void *arg), void *arg);

#endif /* CQ_AUTHD_CHAIN_H */
