/*
 * enhanced_auth.c — see enhanced_auth.h.  Also cq_handle_auth (handle.h):
 * the AUTH packet from a client.
 *
 * Invariants: c->eauth exists from the first CONNECT naming a method to
 * the end of the connection; 'hook' >= 0 while an exchange runs (its hook
 * holds a.state); 'connect' holds the encoded CONNECT only while it waits
 * for authentication, or (parked) for the other checks after it.
 */
#include "config.h"
#include "workers/enhanced_auth.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/props.h"
#include "mqtt/reason.h"
#include "workers/conn.h"
#include "workers/handle.h"
#include "workers/hooks.h"
#include "workers/reply.h"

struct cq_eauth {
	int hook; /* running the exchange, -1: none */
	bool waiting; /* the client's AUTH 0x18 is due */
	bool done; /* the CONNECT is authenticated */
	bool parked; /* done, the CONNECT waits for other answers (authd) */
	char *method;
	size_t method_len;
	uint8_t *connect; /* the CONNECT, encoded, until authenticated */
	size_t connect_len;
	cq_hook_auth_t a;
};

static uint8_t
not_authorized(const cq_conn_t *c)
{
	return c->w->cfg->mqtt.obscure_not_authorized
		? CQ_MQTT_RC_UNSPECIFIED
		: CQ_MQTT_RC_NOT_AUTHORIZED;
}

/* The exchange is over: the hook forgets its state. */
static void
end_exchange(cq_conn_t *c, cq_eauth_t *e)
{
	if (e->hook >= 0)
		cq_hooks_auth_end(c->w, e->hook, &e->a);
	e->a.state = NULL;
	e->waiting = false;
	if (e->done)
		e->hook = -1;
}

void
cq_eauth_free(cq_conn_t *c)
{
	cq_eauth_t *e = c->eauth;
	if (e == NULL)
		return;
	if (e->hook >= 0)
		cq_hooks_auth_end(c->w, e->hook, &e->a);
	c->eauth = NULL;
	free(e->method);
	free(e->connect);
	free(e);
}

bool
cq_eauth_waiting(const cq_conn_t *c)
{
	return c->eauth != NULL && (c->eauth->waiting || c->eauth->parked);
}

/* Method and the hook's data into pb. */
static void
put_props(const cq_eauth_t *e, cq_mqtt_pbuf_t *pb)
{
	cq_mqtt_pbuf_bin(
		pb, CQ_MQTT_PROP_AUTH_METHOD, e->method, e->method_len);
	if (e->a.out_len > 0)
		cq_mqtt_pbuf_bin(
			pb, CQ_MQTT_PROP_AUTH_DATA, e->a.out, e->a.out_len);
}

size_t
cq_eauth_connack_size(const cq_conn_t *c)
{
	const cq_eauth_t *e = c->eauth;
	return e == NULL ? 0 : e->method_len + e->a.out_len + 6;
}

void
cq_eauth_connack_props(cq_conn_t *c, cq_mqtt_pbuf_t *pb)
{
	cq_eauth_t *e = c->eauth;
	if (e == NULL || !e->done)
		return;
	put_props(e, pb);
	e->a.out_len = 0;
}

/* AUTH 'reason' with the method and the hook's data: 0 or -1. */
static int
send_auth(cq_conn_t *c, cq_eauth_t *e, uint8_t reason)
{
	size_t cap = e->method_len + e->a.out_len + 6;
	uint8_t *mem = malloc(cap);
	if (mem == NULL) {
		cq_conn_disconnect(
			c, CQ_MQTT_RC_SERVER_BUSY, CQ_CLOSE_ABNORMAL);
		return -1;
	}
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, cap);
	put_props(e, &pb);
	cq_mqtt_packet_t p = {.type = CQ_MQTT_AUTH};
	p.u.auth.reason = reason;
	p.u.auth.props = cq_mqtt_pbuf_props(&pb);
	int rc = cq_conn_send_packet(c, &p);
	free(mem);
	e->a.out_len = 0;
	return rc;
}

/* Ask the hooks: one step of the exchange with the client's data. */
static cq_hook_verdict_t
step(cq_conn_t *c, cq_eauth_t *e, const cq_mqtt_props_t *props)
{
	cq_mqtt_view_t data = {0};
	(void)cq_mqtt_props_auth_data(props, &data);
	e->a.method = cq_mqtt_view(e->method, e->method_len);
	e->a.data = data;
	e->a.out_len = 0;
	e->a.reason = NULL;
	cq_hook_verdict_t v = cq_hooks_auth(c->w, c, &e->hook, &e->a);
	if (e->a.out_len > sizeof(e->a.out))
		e->a.out_len = sizeof(e->a.out);
	return v;
}

/* Keep the CONNECT until it is authenticated: 0 or -1 (no memory). */
static int
keep_connect(cq_eauth_t *e, const cq_mqtt_connect_t *pk)
{
	size_t n = cq_mqtt_connect_size(pk);
	e->connect = n != 0 ? malloc(n) : NULL;
	if (e->connect == NULL)
		return -1;
	e->connect_len = cq_mqtt_connect_encode(pk, e->connect, n);
	return e->connect_len != 0 ? 0 : -1;
}

static cq_eauth_t *
eauth_new(cq_conn_t *c, cq_mqtt_view_t method)
{
	cq_eauth_t *e = calloc(1, sizeof(*e));
	char *m = malloc(method.len + 1);
	if (e == NULL || m == NULL) {
		free(e);
		free(m);
		return NULL;
	}
	memcpy(m, method.ptr, method.len);
	m[method.len] = '\0';
	e->method = m;
	e->method_len = method.len;
	e->hook = -1;
	c->eauth = e;
	return e;
}

int
cq_eauth_connect(cq_conn_t *c, const cq_mqtt_connect_t *pk, uint8_t *code_r,
	const char **why_r)
{
	cq_mqtt_view_t method;
	if (pk->version != CQ_MQTT_V5 ||
		cq_mqtt_props_auth_method(&pk->props, &method) != 0)
		return CQ_EAUTH_DONE;
	if (c->eauth != NULL && c->eauth->done)
		return CQ_EAUTH_DONE; /* authenticated, handled again */
	/* A CONNECT handled again after a PENDING step keeps its exchange. */
	cq_eauth_t *e = c->eauth != NULL ? c->eauth : eauth_new(c, method);
	*code_r = CQ_MQTT_RC_SERVER_BUSY;
	*why_r = "out of memory";
	if (e == NULL)
		return CQ_EAUTH_REFUSE;
	switch (step(c, e, &pk->props)) {
	case CQ_HOOK_PENDING:
		return CQ_EAUTH_PENDING;
	case CQ_HOOK_NEXT:
		*code_r = CQ_MQTT_RC_BAD_AUTH_METHOD;
		*why_r = "authentication method not supported";
		return CQ_EAUTH_REFUSE;
	case CQ_HOOK_ALLOW:
		e->done = true;
		end_exchange(c, e);
		return CQ_EAUTH_DONE;
	case CQ_HOOK_CONTINUE:
		if (keep_connect(e, pk) < 0)
			return CQ_EAUTH_REFUSE;
		e->waiting = true;
		return send_auth(c, e, CQ_MQTT_RC_CONTINUE_AUTH) < 0
			? CQ_EAUTH_REFUSE
			: CQ_EAUTH_WAITING;
	default:
		*code_r = not_authorized(c);
		*why_r = e->a.reason != NULL ? e->a.reason : "not authorized";
		return CQ_EAUTH_REFUSE;
	}
}

/*
 * The kept CONNECT, authenticated now: handle it again.  Returns what the
 * CONNECT handler returned: CQ_CONN_PENDING when it waits for another
 * answer (it stays parked, and the AUTH is handled again later).
 */
static int
resume_connect(cq_conn_t *c, cq_eauth_t *e)
{
	cq_mqtt_dec_t dec = cq_conn_decoder(c);
	dec.version = 0;
	cq_mqtt_frame_t fr;
	cq_mqtt_packet_t pkt;
	int rc = 0;
	e->parked = false;
	if (cq_mqtt_read(e->connect, e->connect_len, &dec, &fr, &pkt) != 0 ||
		pkt.type != CQ_MQTT_CONNECT) {
		/* It decoded once: only memory trouble gets here. */
		cq_handle_connect_refuse(c, CQ_MQTT_RC_IMPLEMENTATION_ERROR,
			"the CONNECT could not be handled again");
	} else {
		rc = cq_handle_connect(c, &pkt.u.connect);
	}
	if (rc == CQ_CONN_PENDING && c->state != CQ_CONN_CLOSED) {
		e->parked = true;
		return rc;
	}
	free(e->connect);
	e->connect = NULL;
	return rc == CQ_CONN_PENDING ? 0 : rc;
}

/* An AUTH before the CONNACK (the client's answer to our 0x18). */
static int
auth_connecting(cq_conn_t *c, cq_eauth_t *e, const cq_mqtt_auth_t *pk)
{
	cq_hook_verdict_t v = step(c, e, &pk->props);
	if (v == CQ_HOOK_PENDING)
		return CQ_CONN_PENDING;
	if (v == CQ_HOOK_CONTINUE) {
		send_auth(c, e, CQ_MQTT_RC_CONTINUE_AUTH);
		return 0;
	}
	if (v == CQ_HOOK_ALLOW) {
		e->done = true;
		end_exchange(c, e);
		return resume_connect(c, e);
	}
	const char *why = e->a.reason != NULL ? e->a.reason : "not authorized";
	end_exchange(c, e);
	cq_handle_connect_refuse(c, not_authorized(c), why);
	return 0;
}

/* An AUTH from a connected client: re-authentication. */
static int
auth_connected(cq_conn_t *c, cq_eauth_t *e, const cq_mqtt_auth_t *pk)
{
	if (!e->waiting) {
		e->a.reauth = true;
		e->a.state = NULL;
	}
	cq_hook_verdict_t v = step(c, e, &pk->props);
	if (v == CQ_HOOK_PENDING)
		return CQ_CONN_PENDING;
	if (v == CQ_HOOK_CONTINUE) {
		e->waiting = true;
		send_auth(c, e, CQ_MQTT_RC_CONTINUE_AUTH);
		return 0;
	}
	const char *why = e->a.reason;
	end_exchange(c, e);
	if (v == CQ_HOOK_ALLOW) {
		send_auth(c, e, CQ_MQTT_RC_SUCCESS);
		return 0;
	}
	cq_log(CQ_LOG_NOTICE, 0, "client %s (%s): re-authentication failed",
		cq_conn_id_log(c), cq_conn_addr(c));
	cq_conn_disconnect_text(c, not_authorized(c), CQ_CLOSE_ABNORMAL,
		c->w->cfg->mqtt.obscure_not_authorized ? NULL : why);
	return 0;
}

int
cq_handle_auth(cq_conn_t *c, const cq_mqtt_auth_t *pk)
{
	cq_eauth_t *e = c->eauth;
	if (e != NULL && e->parked && c->state == CQ_CONN_NEW)
		return resume_connect(c, e); /* the AUTH handled again */
	cq_mqtt_view_t m = {0};
	const char *bad = NULL;
	if (e == NULL || (!e->done && !e->waiting))
		bad = "AUTH without enhanced authentication";
	else if (cq_mqtt_props_auth_method(&pk->props, &m) != 0 ||
		m.len != e->method_len || memcmp(m.ptr, e->method, m.len) != 0)
		bad = "AUTH names another authentication method";
	else if (e->waiting ? pk->reason != CQ_MQTT_RC_CONTINUE_AUTH
			    : pk->reason != CQ_MQTT_RC_REAUTHENTICATE)
		bad = "AUTH with a reason the exchange does not expect";
	if (bad != NULL && c->state == CQ_CONN_NEW) {
		cq_handle_connect_refuse(c, CQ_MQTT_RC_PROTOCOL_ERROR, bad);
		return 0;
	}
	if (bad != NULL) {
		cq_conn_violation(
			c, CQ_MQTT_OK, CQ_MQTT_RC_PROTOCOL_ERROR, bad);
		return 0;
	}
	if (c->state == CQ_CONN_ACTIVE)
		return auth_connected(c, e, pk);
	if (c->state == CQ_CONN_NEW)
		return auth_connecting(c, e, pk);
	return 0;
}
