/*
 * handshake.c — see handshake.h.
 *
 * Invariants:
 *   - c->hs != NULL exactly while the connection is in its pre-MQTT
 *     phase; conn.c reads no MQTT byte before cq_handshake_step() has
 *     returned 0;
 *   - hs->peer is the address the client speaks from as far as we know:
 *     the socket's, then the PROXY header's, then X-Forwarded-For's;
 *     cq_conn_addr(c) and c->loopback always describe it.
 */
#include "config.h"
#include "workers/handshake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/defs.h"
#include "core/log.h"
#include "core/netmask.h"
#include "workers/conn.h"
#include "workers/proxy_proto.h"
#include "workers/ratelimit.h"
#include "workers/worker.h"

#define RATE_LOG_MS 1000u

enum { HS_PROXY, HS_TRANSPORT };

struct cq_handshake {
	uint64_t deadline_ms;
	uint8_t phase;
	bool admitted; /* past the rate limit */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	cq_proxy_reader_t proxy;
};

/* Refusals for rate are logged at most once a second per listener (a
 * flood must not become a flood of log lines), with the count of those
 * not logged. */
static cq_ratelog_t rate_log[CQ_CONFIG_LISTENERS_MAX];

static const cq_config_listener_t *
listener_of(const cq_conn_t *c)
{
	const cq_config_t *cfg = c->w->cfg;
	return c->listener < cfg->n_listeners ? &cfg->listeners[c->listener]
					      : NULL;
}

static void
refuse(cq_conn_t *c)
{
	cq_conn_close(c, CQ_CLOSE_REFUSED);
}

/* The rate limit for 'sa': true to go on; else logged and closed. */
static bool
rate_ok(cq_conn_t *c, const struct sockaddr *sa)
{
	const cq_config_listener_t *l = listener_of(c);
	if (l == NULL || l->rate_limit == 0 ||
		cq_ratelimit_take(c->listener, sa, l->rate_limit, l->rate_burst,
			c->w->now_ms))
		return true;
	cq_ratelog_t *rl = &rate_log[c->listener % CQ_CONFIG_LISTENERS_MAX];
	if (c->w->now_ms >= rl->next_ms) {
		cq_log(CQ_LOG_NOTICE, 0,
			"connection from %s on \"%s\": over rate_limit (%u/s); "
			"closing (%llu more since the last line)",
			cq_conn_addr(c), l->name, l->rate_limit,
			(unsigned long long)rl->suppressed);
		rl->next_ms = c->w->now_ms + RATE_LOG_MS;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	refuse(c);
	return false;
}

int
cq_handshake_admit(cq_conn_t *c)
{
	struct cq_handshake *hs = c->hs;
	if (hs == NULL || hs->admitted)
		return 0;
	hs->admitted = true;
	return rate_ok(c, (struct sockaddr *)&hs->peer) ? 0 : -1;
}

bool
cq_handshake_peer_trusted(const cq_conn_t *c)
{
	const cq_config_listener_t *l = listener_of(c);
	return c->hs != NULL && l != NULL &&
		cq_netmask_list_match(&l->trusted_proxies,
			(const struct sockaddr *)&c->hs->peer);
}

void
cq_handshake_set_peer(cq_conn_t *c, const struct sockaddr *sa, socklen_t len)
{
	char was[CQ_CONN_ADDR_MAX];
	snprintf(was, sizeof(was), "%s", cq_conn_addr(c));
	cq_conn_set_peer(c, sa, len);
	if (c->hs != NULL && len <= sizeof(c->hs->peer)) {
		memcpy(&c->hs->peer, sa, len);
		c->hs->peer_len = len;
	}
	cq_log(CQ_LOG_DEBUG, 0, "connection from %s is %s's", was,
		cq_conn_addr(c));
}

/* Does the address wait for X-Forwarded-For before its rate check? */
static bool
defer_rate(const cq_conn_t *c)
{
	const cq_config_listener_t *l = listener_of(c);
	return l != NULL && cq_config_listener_ws(l) &&
		cq_handshake_peer_trusted(c);
}

void
cq_handshake_begin(
	cq_conn_t *c, const struct sockaddr *peer, socklen_t peer_len)
{
	const cq_config_listener_t *l = listener_of(c);
	bool proxy = l != NULL && l->proxy_protocol;
	if (!proxy && cq_transport_of(c) == &cq_transport_tcp) {
		rate_ok(c, peer);
		return;
	}
	struct cq_handshake *hs = calloc(1, sizeof(*hs));
	if (hs == NULL) {
		cq_log(CQ_LOG_ERR, ENOMEM, "connection from %s dropped",
			cq_conn_addr(c));
		refuse(c);
		return;
	}
	c->hs = hs;
	hs->deadline_ms = c->w->now_ms +
		(uint64_t)(l ? l->handshake_timeout : 10) * 1000;
	hs->phase = proxy ? HS_PROXY : HS_TRANSPORT;
	if (peer != NULL && peer_len <= sizeof(hs->peer)) {
		memcpy(&hs->peer, peer, peer_len);
		hs->peer_len = peer_len;
	}
	if (proxy && l->trusted_proxies.n > 0 &&
		!cq_netmask_list_match(&l->trusted_proxies, peer)) {
		cq_log(CQ_LOG_NOTICE, 0,
			"connection from %s on \"%s\": not a trusted proxy; "
			"closing",
			cq_conn_addr(c), l->name);
		refuse(c);
		return;
	}
	if (!proxy && !defer_rate(c))
		cq_handshake_admit(c);
}

/* The PROXY header: CQ_AGAIN, 0 (read; the address taken), -1 (closed). */
static int
proxy_step(cq_conn_t *c, struct cq_handshake *hs)
{
	cq_proxy_hdr_t h;
	const char *why = NULL;
	int rc = cq_proxy_read(c->fd, &hs->proxy, &h, &why);
	if (rc == CQ_AGAIN)
		return CQ_AGAIN;
	if (rc < 0) {
		if (why != NULL)
			cq_log(CQ_LOG_NOTICE, 0,
				"connection from %s: %s; closing",
				cq_conn_addr(c), why);
		else
			cq_log(CQ_LOG_DEBUG, errno,
				"connection from %s closed before its PROXY "
				"header",
				cq_conn_addr(c));
		refuse(c);
		return -1;
	}
	if (!h.local)
		cq_handshake_set_peer(c, (struct sockaddr *)&h.src, h.src_len);
	hs->phase = HS_TRANSPORT;
	if (!defer_rate(c) && cq_handshake_admit(c) < 0)
		return -1;
	return 0;
}

int
cq_handshake_step(cq_conn_t *c)
{
	struct cq_handshake *hs = c->hs;
	if (hs == NULL)
		return 0;
	int rc;
	if (hs->phase == HS_PROXY && (rc = proxy_step(c, hs)) != 0)
		return rc;
	rc = cq_transport_of(c)->handshake(c);
	if (c->state == CQ_CONN_CLOSED)
		return -1;
	if (rc == CQ_AGAIN)
		return CQ_AGAIN;
	if (rc < 0 || cq_handshake_admit(c) < 0) {
		if (c->state != CQ_CONN_CLOSED)
			refuse(c);
		return -1;
	}
	cq_handshake_free(c);
	/* The CONNECT timeout starts now. */
	c->open_ms = c->w->now_ms;
	c->rx_ms = (uint32_t)c->w->now_ms;
	return 0;
}

bool
cq_handshake_expired(cq_conn_t *c, uint64_t now_ms)
{
	struct cq_handshake *hs = c->hs;
	if (hs == NULL || now_ms < hs->deadline_ms)
		return false;
	const cq_config_listener_t *l = listener_of(c);
	const char *what = hs->phase == HS_PROXY ? "PROXY header"
		: cq_transport_of(c) == &cq_transport_tls
		? "TLS handshake"
		: "TLS handshake or WebSocket upgrade";
	if (cq_transport_of(c) == &cq_transport_ws)
		what = "WebSocket upgrade";
	cq_log(CQ_LOG_INFO, 0,
		"connection from %s: %s not complete within %u s; closing",
		cq_conn_addr(c), what, l ? l->handshake_timeout : 0);
	refuse(c);
	return true;
}

void
cq_handshake_free(cq_conn_t *c)
{
	free(c->hs);
	c->hs = NULL;
}
