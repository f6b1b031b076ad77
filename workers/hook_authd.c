/*
 * hook_authd.c — access control by comqtt-authd (DESIGN.md section 4).
 *
 * Registered instead of the loopback hook when auth.enabled is set.  Each
 * question goes through the client library (src/authc), which answers
 * from the shared-memory cache when it can — the common case, decided
 * inside the hook call — and otherwise asks authd over its Unix socket.
 * A question that has to wait is recorded in the connection's authwait
 * memo and the hook answers CQ_HOOK_PENDING; the packet is handled again
 * when the answer is in (workers/authwait.h).
 *
 * Faults never allow: a timeout, authd being down with no cached answer,
 * or too many questions in flight all refuse (CONNACK 0x88 / 3 on MQTT
 * 3.x, not authorized for PUBLISH and SUBSCRIBE), and the client library
 * logs each such refusal once with the client id.
 */
#include "config.h"
#include "workers/hooks.h"

#include <string.h>

#include "authc/client.h"
#include "core/conf.h"
#include "core/log.h"
#include "shm/authcache.h"
#include "mqtt/reason.h"
#include "workers/authwait.h"
#include "workers/conn.h"
#include "workers/worker.h"

/* The longest a connection's last allowed PUBLISH topic is recalled
 * without asking the cache (authwait.h). */
#define MEMO_MS 1000u

/* One client library per worker process. */
static cq_authc_t *authc;

static void
cancel_handle(uint32_t handle)
{
	if (authc != NULL && handle != 0)
		cq_authc_cancel(authc, handle);
}

static int
authd_started(void *ctx, cq_worker_t *w)
{
	cq_authc_options_t o;
	if (cq_authc_options_from_config(&o, w->cfg) < 0) {
		cq_log(CQ_LOG_CRIT, 0, "auth: bad client options");
		return -1;
	}
	authc = cq_authc_new(w->base, &o);
	if (authc == NULL) {
		cq_log(CQ_LOG_CRIT, 0, "auth: cannot create the authd client");
		return -1;
	}
	return 0;
}

static void
authd_stopped(void *ctx, cq_worker_t *w)
{
	if (authc != NULL)
		cq_authc_free(authc);
	authc = NULL;
}

/* The library's answer, as the connection's memo records it. */
static void
on_answer(const cq_authc_result_t *res, void *arg)
{
	cq_authwait_entry_t *e = arg;
	if (res->cancelled)
		return;
	bool allow = res->status == CQ_AUTHC_ALLOW;
	uint8_t code = allow ? 0 : (uint8_t)cq_authc_connack_code(res, 5);
	cq_authwait_answer(e, allow, code);
}

/*
 * Ask, or find the answer already given for this packet.  A refusal
 * leaves its CONNACK (MQTT 5) code in c->auth_refusal.
 */
static cq_hook_verdict_t
ask(cq_conn_t *c, char kind, const char *key, size_t len,
	const cq_authc_auth_req_t *auth, const cq_authc_acl_req_t *acl)
{
	cq_authwait_entry_t *e = cq_authwait_find(c, kind, key, len);
	if (e != NULL) {
		if (!e->answered)
			return CQ_HOOK_PENDING;
		c->auth_refusal = e->code;
		return e->allow ? CQ_HOOK_ALLOW : CQ_HOOK_DENY;
	}
	e = cq_authwait_add(c, kind, key, len);
	if (e == NULL)
		return CQ_HOOK_DENY;
	cq_authc_result_t res;
	uint32_t handle = 0;
	int rc = auth != NULL
		? cq_authc_check_auth(authc, auth, on_answer, e, &handle, &res)
		: cq_authc_check_acl(authc, acl, on_answer, e, &handle, &res);
	if (rc == CQ_AGAIN) {
		cq_authwait_wait(e, handle);
		return CQ_HOOK_PENDING;
	}
	/* Answered at once (the cache, or an immediate refusal). */
	bool allow = res.status == CQ_AUTHC_ALLOW;
	cq_authwait_answer(
		e, allow, allow ? 0 : (uint8_t)cq_authc_connack_code(&res, 5));
	c->auth_refusal = e->code;
	return allow ? CQ_HOOK_ALLOW : CQ_HOOK_DENY;
}

static const char *
listener_name(const cq_conn_t *c)
{
	const cq_config_t *cfg = c->w->cfg;
	return c->listener < cfg->n_listeners ? cfg->listeners[c->listener].name
					      : "";
}

static cq_hook_verdict_t
authd_authenticate(
	void *ctx, const cq_hook_client_t *cl, const cq_mqtt_connect_t *pk)
{
	cq_conn_t *c = cl->conn;
	cq_authc_auth_req_t r = {
		.client = (const char *)pk->client_id.ptr,
		.client_len = pk->client_id.len,
		/* The CONNECT's user name, or the client certificate's
		 * identity (tls.use_identity_as_username, hooks.c). */
		.user = cl->username.ptr ? (const char *)cl->username.ptr
					 : NULL,
		.user_len = cl->username.ptr ? cl->username.len : 0,
		.pass = pk->has_password ? pk->password.ptr : NULL,
		.pass_len = pk->has_password ? pk->password.len : 0,
		.addr = cq_conn_addr(c),
		.listener = listener_name(c),
		.cert = cq_transport_of(c)->identity
			? cq_transport_of(c)->identity(c)
			: NULL,
	};
	return ask(c, CQ_AUTHWAIT_CONNECT, "", 0, &r, NULL);
}

static cq_hook_verdict_t
authd_acl(void *ctx, const cq_hook_client_t *cl, const char *topic, size_t len,
	int access)
{
	cq_conn_t *c = cl->conn;
	char kind = access == CQ_ACL_WRITE   ? CQ_AUTHP_ACCESS_WRITE
		: access == CQ_ACL_SUBSCRIBE ? CQ_AUTHP_ACCESS_SUBSCRIBE
					     : CQ_AUTHP_ACCESS_READ;
	cq_authc_acl_req_t r = {
		.client = cl->id,
		.client_len = cl->id_len,
		.user = c->username,
		.user_len = c->username ? strlen(c->username) : 0,
		.topic = topic,
		.topic_len = len,
		.access = kind,
		.addr = cq_conn_addr(c),
		.listener = listener_name(c),
	};
	if (kind != CQ_AUTHP_ACCESS_WRITE)
		return ask(c, kind, topic, len, NULL, &r);
	uint64_t epoch = cq_authcache_epoch();
	if (epoch != 0 &&
		cq_authwait_recall(c, topic, len, epoch, c->w->now_ms))
		return CQ_HOOK_ALLOW;
	cq_authwait_entry_t *e = cq_authwait_find(c, kind, topic, len);
	bool asked_before = e != NULL;
	cq_hook_verdict_t v = ask(c, kind, topic, len, NULL, &r);
	uint32_t ttl_ms = c->w->cfg->auth.cache_ttl * 1000u;
	/* Remember only an answer the cache gave at once: an answer that
	 * came from authd may not be cached (ttl=0). */
	if (v == CQ_HOOK_ALLOW && !asked_before && epoch != 0 && ttl_ms > 0)
		cq_authwait_remember(c, topic, len, epoch,
			c->w->now_ms + (ttl_ms < MEMO_MS ? ttl_ms : MEMO_MS));
	return v;
}

/* Free a connection's questions (conn.c calls this as it closes). */
void
cq_hook_authd_conn_closed(cq_conn_t *c)
{
	cq_authwait_free(c, cancel_handle);
}

const cq_hook_t cq_hook_authd = {
	.name = "comqtt-authd",
	.abi_version = CQ_HOOK_ABI_VERSION,
	.on_started = authd_started,
	.on_stopped = authd_stopped,
	.on_connect_authenticate = authd_authenticate,
	.on_acl_check = authd_acl,
};
