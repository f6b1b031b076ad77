/*
 * hook_loopback.c — the built-in access control until comqtt-authd lands.
 *
 * A client connecting from a loopback address (127.0.0.0/8, ::1) or over
 * a Unix socket is allowed; any other client is refused (CONNACK 0x05 "not
 * authorized" on MQTT 3.x, 0x87 on 5.0) unless its listener has
 * allow_remote: true.  A client that was let in may publish and subscribe
 * to anything.  Documented in comqttd(8) and comqtt.yml(5).
 */
#include "config.h"
#include "workers/hooks.h"

static cq_hook_verdict_t
loopback_authenticate(
	void *ctx, const cq_hook_client_t *cl, const cq_mqtt_connect_t *pk)
{
	(void)ctx;
	(void)pk;
	return cl->loopback || cl->remote_allowed ? CQ_HOOK_ALLOW
						  : CQ_HOOK_DENY;
}

static cq_hook_verdict_t
loopback_acl(void *ctx, const cq_hook_client_t *cl, const char *topic,
	size_t len, int access)
{
	(void)ctx;
	(void)cl;
	(void)topic;
	(void)len;
	(void)access;
	return CQ_HOOK_ALLOW;
}

const cq_hook_t cq_hook_loopback = {
	.name = "allow-loopback",
	.abi_version = CQ_HOOK_ABI_VERSION,
	.on_connect_authenticate = loopback_authenticate,
	.on_acl_check = loopback_acl,
};
