/*
 * handshake.h — the pre-MQTT phase of a connection: what happens between
 * accept and the first MQTT byte.
 *
 * In order, as the listener asks:
 *   1. PROXY header (proxy_protocol: true): read without taking a byte
 *      past it; the address it names becomes the client's.  With
 *      trusted_proxies set, only those peers may send one.
 *   2. rate limit (rate_limit > 0): one token from the bucket of the
 *      client's address (ratelimit.h), before any expensive work.  On a
 *      ws/wss listener whose peer is a trusted proxy the check waits for
 *      the address in X-Forwarded-For (the transport calls
 *      cq_handshake_admit() once it has read the upgrade request).
 *   3. the transport's handshake (TLS, WebSocket upgrade, both for wss).
 * All of it within handshake_timeout; then the connection is in state NEW
 * and its CONNECT timeout starts.
 *
 * A connection on a plain listener without PROXY header never allocates
 * any of this (c->hs stays NULL); its rate check runs at accept.
 *
 * Every refusal is one log line naming the peer and why, and closes that
 * connection only (CQ_CLOSE_REFUSED).
 */
#ifndef CQ_WORKERS_HANDSHAKE_H
#define CQ_WORKERS_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "workers/worker-t.h"

/*
 * Start the phase for a connection just set up by cq_conn_new() (its
 * transport opened, its read event added).  May close it (rate limit,
 * untrusted proxy): check c->state afterwards.
 */
void cq_handshake_begin(
	cq_conn_t *c, const struct sockaddr *peer, socklen_t peer_len);

/*
 * Drive the phase on a read or write event: 0 when it is over (MQTT
 * bytes may be read now; c->hs is NULL), CQ_AGAIN to wait for the next
 * event, -1 when the connection was closed.
 */
int cq_handshake_step(cq_conn_t *c);

/* Housekeeping: close the connection if its phase outlived
 * handshake_timeout (one log line).  true if it was closed. */
bool cq_handshake_expired(cq_conn_t *c, uint64_t now_ms);

/* Release the phase's state (cq_conn_close). */
void cq_handshake_free(cq_conn_t *c);

/* For transports during the phase: is the address c speaks from (after
 * any PROXY header) one of its listener's trusted_proxies? */
bool cq_handshake_peer_trusted(const cq_conn_t *c);

/* A transport learned where the client really is (X-Forwarded-For). */
void cq_handshake_set_peer(
	cq_conn_t *c, const struct sockaddr *sa, socklen_t len);

/*
 * The rate limit, if not applied yet: 0 to go on, -1 when the client is
 * over its rate (logged; the caller fails its handshake).
 */
int cq_handshake_admit(cq_conn_t *c);

#endif /* CQ_WORKERS_HANDSHAKE_H */
