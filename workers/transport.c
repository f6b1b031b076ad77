/*
 * transport.c — which transport a listener's connections use, and the
 * worker's TLS contexts (transport.h).
 *
 * A worker starts with the contexts the master built before forking
 * (cq_worker_args_t: a respawned worker gets the master's current ones,
 * reloads included) and builds its own on every SIGHUP, keeping a
 * listener's previous context when its files are bad; the master logs
 * why, so the worker only says so at info level.  A connection holds a
 * reference to the context it started with (SSL_new), so replacing a
 * context never touches a connected client.
 */
#include "config.h"
#include "workers/transport.h"

#include <string.h>

#include <openssl/ssl.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/tls.h"
#include "workers/conn.h"
#include "workers/worker.h"

static SSL_CTX *contexts[CQ_WORKER_MAX_LISTENERS];
static const cq_transport_ops_t *transports[CQ_WORKER_MAX_LISTENERS];

const cq_transport_ops_t *
cq_transport_for(const cq_worker_t *w, unsigned li)
{
	if (li >= w->cfg->n_listeners)
		return &cq_transport_tcp;
	switch (w->cfg->listeners[li].type) {
	case CQ_LISTENER_TLS:
		return &cq_transport_tls;
	case CQ_LISTENER_WS:
		return &cq_transport_ws;
	case CQ_LISTENER_WSS:
		return &cq_transport_wss;
	default:
		return &cq_transport_tcp;
	}
}

const cq_transport_ops_t *
cq_transport_of(const cq_conn_t *c)
{
	unsigned li = c->listener;
	if (li < CQ_WORKER_MAX_LISTENERS && transports[li] != NULL)
		return transports[li];
	return cq_transport_for(c->w, li);
}

int
cq_transport_setup(cq_worker_t *w)
{
	const cq_worker_args_t *a = w->args;
	/* Fixed for the worker's life: listeners change only by restart. */
	for (unsigned i = 0;
		i < w->cfg->n_listeners && i < CQ_WORKER_MAX_LISTENERS; i++)
		transports[i] = cq_transport_for(w, i);
	for (unsigned i = 0; i < a->nlisteners && i < CQ_WORKER_MAX_LISTENERS;
		i++) {
		SSL_CTX *ctx = a->listeners[i].tls_ctx;
		if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
			contexts[a->listeners[i].index] = ctx;
	}
	return 0;
}

void
cq_transport_reload(cq_worker_t *w)
{
	cq_tls_ctx_reload_all(w->cfg, w->args->config_path, contexts,
		CQ_WORKER_MAX_LISTENERS, CQ_LOG_INFO);
}

void
cq_transport_teardown(void)
{
	cq_tls_ctx_free_all(contexts, CQ_WORKER_MAX_LISTENERS);
}

SSL_CTX *
cq_transport_tls_ctx(unsigned li)
{
	return li < CQ_WORKER_MAX_LISTENERS ? contexts[li] : NULL;
}

bool
cq_transport_identity_required(const cq_conn_t *c)
{
	const cq_config_t *cfg = c->w->cfg;
	return c->listener < cfg->n_listeners &&
		cq_config_listener_tls(&cfg->listeners[c->listener]) &&
		cfg->listeners[c->listener].tls.use_identity_as_username;
}

const char *
cq_transport_username(const cq_conn_t *c)
{
	if (!cq_transport_identity_required(c) ||
		cq_transport_of(c)->identity == NULL)
		return NULL;
	return cq_transport_of(c)->identity((cq_conn_t *)c);
}
