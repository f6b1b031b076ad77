/*
 * client-int.h — between the connection (client.c) and the cache layer
 * in front of it (check.c); not for other modules.
 */
#ifndef CQ_AUTHC_CLIENT_INT_H
#define CQ_AUTHC_CLIENT_INT_H

#include "authc/client.h"

/*
 * Send a question to authd.  As cq_authc_auth()/cq_authc_acl(); with
 * 'always_call' the callback also runs for a cancelled question (with
 * res->cancelled set), so that a layer holding memory for it can free it.
 */
int cq_authc_send_auth(cq_authc_t *c, const cq_authc_auth_req_t *r,
	cq_authc_fn *cb, void *arg, bool always_call, uint32_t *handle_r,
	cq_authc_result_t *res_r);
int cq_authc_send_acl(cq_authc_t *c, const cq_authc_acl_req_t *r,
	cq_authc_fn *cb, void *arg, bool always_call, uint32_t *handle_r,
	cq_authc_result_t *res_r);

/* Is there no connection (so a stale cached answer may serve)? */
bool cq_authc_is_down(const cq_authc_t *c);

/* The options in force. */
const cq_authc_options_t *cq_authc_get_options(const cq_authc_t *c);

/* One log line for a refusal the library made itself. */
void cq_authc_log_refusal(const char *what, const char *client,
	size_t client_len, const cq_authc_result_t *res);

#endif /* CQ_AUTHC_CLIENT_INT_H */
