/*
 * hooks.c — see hooks.h.  Every call site walks the table in order and
 * skips the hooks that leave the event NULL; a client view is built only
 * when some hook wants it.
 */
#include "config.h"
#include "workers/hooks.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "workers/conn.h"
#include "workers/lsess.h"
#include "workers/worker.h"

cq_hooks_t *
cq_hooks_new(void)
{
	return calloc(1, sizeof(cq_hooks_t));
}

void
cq_hooks_free(cq_hooks_t *h)
{
	free(h);
}

int
cq_hooks_add(cq_hooks_t *h, const cq_hook_t *hook)
{
	if (hook->abi_version != CQ_HOOK_ABI_VERSION) {
		cq_log(CQ_LOG_ERR, 0,
			"hook \"%s\" is built for hook ABI %u, not %u: "
			"not loaded",
			hook->name, hook->abi_version, CQ_HOOK_ABI_VERSION);
		return -1;
	}
	if (h->n == CQ_HOOKS_MAX) {
		cq_log(CQ_LOG_ERR, 0, "hook \"%s\": the table is full",
			hook->name);
		return -1;
	}
	h->v[h->n++] = hook;
	return 0;
}

/* Iterate the hooks that implement event 'ev'. */
#define EACH(w, hk, ev)                                                        \
	for (unsigned i_ = 0; i_ < (w)->hooks->n; i_++)                        \
		for (const cq_hook_t *hk = (w)->hooks->v[i_];                  \
			hk != NULL && hk->ev != NULL; hk = NULL)

static void
client_of(const cq_conn_t *c, cq_hook_client_t *cl)
{
	*cl = (cq_hook_client_t){.id = c->ls ? c->ls->id : cq_conn_id_log(c),
		.id_len = c->ls ? c->ls->id_len : strlen(cq_conn_id_log(c)),
		.addr = cq_conn_addr(c),
		.loopback = c->loopback,
		.listener = c->listener,
		.version = c->version,
		.conn = (cq_conn_t *)c};
	if (c->username != NULL)
		cl->username = cq_mqtt_view(c->username, strlen(c->username));
	const cq_config_t *cfg = c->w->cfg;
	cl->remote_allowed = c->listener < cfg->n_listeners &&
		cfg->listeners[c->listener].allow_remote;
}

int
cq_hooks_started(cq_worker_t *w)
{
	EACH(w, hk, on_started) if (hk->on_started(hk->ctx, w) < 0) return -1;
	return 0;
}

void
cq_hooks_stopped(cq_worker_t *w)
{
	EACH(w, hk, on_stopped) hk->on_stopped(hk->ctx, w);
}

cq_hook_verdict_t
cq_hooks_authenticate(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_connect_t *pk)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	cl.id = (const char *)pk->client_id.ptr;
	cl.id_len = pk->client_id.len;
	cl.version = pk->version;
	if (pk->has_username)
		cl.username = pk->username;
	/* tls.use_identity_as_username: the certificate names the user,
	 * whatever the CONNECT says. */
	const char *cert_user = cq_transport_username(c);
	if (cert_user != NULL)
		cl.username = (cq_mqtt_view_t){(const uint8_t *)cert_user,
			(uint32_t)strlen(cert_user)};
	EACH(w, hk, on_connect_authenticate)
	{
		cq_hook_verdict_t v = hk->on_connect_authenticate(
			hk->ctx, &cl, pk);
		if (v != CQ_HOOK_NEXT)
			return v;
	}
	return CQ_HOOK_DENY;
}

cq_hook_verdict_t
cq_hooks_acl(
	cq_worker_t *w, cq_conn_t *c, const char *topic, size_t len, int access)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_acl_check)
	{
		cq_hook_verdict_t v = hk->on_acl_check(
			hk->ctx, &cl, topic, len, access);
		if (v != CQ_HOOK_NEXT)
			return v;
	}
	return CQ_HOOK_DENY;
}

uint8_t
cq_hooks_connect(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_connect_t *pk)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_connect)
	{
		uint8_t rc = hk->on_connect(hk->ctx, &cl, pk);
		if (rc >= 0x80)
			return rc;
	}
	return 0;
}

void
cq_hooks_session_established(cq_worker_t *w, cq_conn_t *c, bool present)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_session_established)
	hk->on_session_established(hk->ctx, &cl, present);
}

void
cq_hooks_disconnect(cq_worker_t *w, cq_conn_t *c, cq_lsess_t *ls, int why)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	cl.id = ls->id;
	cl.id_len = ls->id_len;
	EACH(w, hk, on_disconnect) hk->on_disconnect(hk->ctx, &cl, why);
}

uint8_t
cq_hooks_subscribe(cq_worker_t *w, cq_conn_t *c, const char *filter, size_t len,
	cq_subopts_t *o)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_subscribe)
	{
		uint8_t rc = hk->on_subscribe(hk->ctx, &cl, filter, len, o);
		if (rc >= 0x80)
			return rc;
	}
	return 0;
}

void
cq_hooks_subscribed(cq_worker_t *w, cq_conn_t *c, const char *filter,
	size_t len, uint8_t code)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_subscribed)
	hk->on_subscribed(hk->ctx, &cl, filter, len, code);
}

void
cq_hooks_unsubscribe(
	cq_worker_t *w, cq_conn_t *c, const char *filter, size_t len)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_unsubscribe)
	hk->on_unsubscribe(hk->ctx, &cl, filter, len);
}

void
cq_hooks_unsubscribed(cq_worker_t *w, cq_conn_t *c, const char *filter,
	size_t len, uint8_t code)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_unsubscribed)
	hk->on_unsubscribed(hk->ctx, &cl, filter, len, code);
}

uint8_t
cq_hooks_publish(cq_worker_t *w, cq_conn_t *c, cq_dmsg_t *d)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_publish)
	{
		uint8_t rc = hk->on_publish(hk->ctx, &cl, d);
		if (rc >= 0x80)
			return rc;
	}
	return 0;
}

void
cq_hooks_published(cq_worker_t *w, const cq_dmsg_t *d)
{
	EACH(w, hk, on_published) hk->on_published(hk->ctx, d);
}

void
cq_hooks_publish_dropped(cq_worker_t *w, cq_conn_t *c, const cq_dmsg_t *d)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_publish_dropped) hk->on_publish_dropped(hk->ctx, &cl, d);
}

int
cq_hooks_retain_message(cq_worker_t *w, const cq_dmsg_t *d)
{
	EACH(w, hk, on_retain_message)
	if (hk->on_retain_message(hk->ctx, d) < 0)
		return -1;
	return 0;
}

void
cq_hooks_qos_publish(cq_worker_t *w, cq_lsess_t *ls, uint16_t pid, uint8_t qos)
{
	EACH(w, hk, on_qos_publish)
	hk->on_qos_publish(hk->ctx, ls->id, ls->id_len, pid, qos);
}

void
cq_hooks_qos_complete(cq_worker_t *w, cq_lsess_t *ls, uint16_t pid)
{
	EACH(w, hk, on_qos_complete)
	hk->on_qos_complete(hk->ctx, ls->id, ls->id_len, pid);
}

void
cq_hooks_qos_dropped(cq_worker_t *w, cq_lsess_t *ls, uint16_t pid)
{
	EACH(w, hk, on_qos_dropped)
	hk->on_qos_dropped(hk->ctx, ls->id, ls->id_len, pid);
}

int
cq_hooks_will(cq_worker_t *w, const cq_dmsg_t *d)
{
	EACH(w, hk, on_will) if (hk->on_will(hk->ctx, d) < 0) return -1;
	return 0;
}

void
cq_hooks_will_sent(cq_worker_t *w, const cq_dmsg_t *d)
{
	EACH(w, hk, on_will_sent) hk->on_will_sent(hk->ctx, d);
}

void
cq_hooks_client_expired(cq_worker_t *w, const char *id, size_t len)
{
	EACH(w, hk, on_client_expired) hk->on_client_expired(hk->ctx, id, len);
}

int
cq_hooks_packet_read(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_packet_t *pk)
{
	if (w->hooks->n == 0)
		return 0;
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_packet_read)
	if (hk->on_packet_read(hk->ctx, &cl, pk) < 0)
		return -1;
	return 0;
}

void
cq_hooks_packet_encode(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_packet_t *pk)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_packet_encode) hk->on_packet_encode(hk->ctx, &cl, pk);
}

void
cq_hooks_packet_sent(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_packet_t *pk)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	EACH(w, hk, on_packet_sent) hk->on_packet_sent(hk->ctx, &cl, pk);
}

cq_hook_verdict_t
cq_hooks_auth(cq_worker_t *w, cq_conn_t *c, int *hook, cq_hook_auth_t *a)
{
	cq_hook_client_t cl;
	client_of(c, &cl);
	if (*hook >= 0) {
		const cq_hook_t *hk = (unsigned)*hook < w->hooks->n
			? w->hooks->v[*hook]
			: NULL;
		if (hk == NULL || hk->on_auth == NULL)
			return CQ_HOOK_DENY;
		return hk->on_auth(hk->ctx, &cl, a);
	}
	for (unsigned i = 0; i < w->hooks->n; i++) {
		const cq_hook_t *hk = w->hooks->v[i];
		if (hk->on_auth == NULL)
			continue;
		cq_hook_verdict_t v = hk->on_auth(hk->ctx, &cl, a);
		if (v != CQ_HOOK_NEXT) {
			*hook = (int)i;
			return v;
		}
	}
	return CQ_HOOK_NEXT;
}

void
cq_hooks_auth_end(cq_worker_t *w, int hook, cq_hook_auth_t *a)
{
	if (hook < 0 || (unsigned)hook >= w->hooks->n)
		return;
	const cq_hook_t *hk = w->hooks->v[hook];
	if (hk->on_auth_end != NULL)
		hk->on_auth_end(hk->ctx, a);
}
