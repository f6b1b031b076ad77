/*
 * request.c — the answer helpers backends call (backend.h), apart from
 * chain.c so that code deciding requests (the ledger's rules, the ACL
 * folding) can be linked and tested without the whole chain.
 */
#include "config.h"
#include "plugins/authd/backend.h"

#include <stdarg.h>
#include <stdio.h>

cq_auth_verdict_t
cq_auth_request_fail(
	cq_auth_request_t *req, const char *code, const char *fmt, ...)
{
	va_list ap;

	req->code = code;
	va_start(ap, fmt);
	vsnprintf(req->reason, sizeof(req->reason), fmt, ap);
	va_end(ap);
	return CQ_AUTH_FAIL;
}

cq_auth_verdict_t
cq_auth_request_ok(cq_auth_request_t *req, int32_t ttl)
{
	req->code = NULL;
	req->reason[0] = '\0';
	req->ttl = ttl;
	return CQ_AUTH_OK;
}

const char *
cq_auth_request_key(
	const cq_auth_request_t *req, cq_auth_lookup_t by, size_t *len_r)
{
	if (by == CQ_AUTH_BY_CLIENT) {
		*len_r = req->client_len;
		return req->client;
	}
	*len_r = req->user_len;
	return req->user;
}
