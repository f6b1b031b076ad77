/*
 * ws_upgrade.h — the HTTP/1.1 side of a WebSocket connection: judging the
 * upgrade request (RFC 6455 section 4.2, MQTT 5.0 section 6) and writing
 * the answer.
 *
 * Pure functions over a request parsed by core/http.h, so that every rule
 * is unit-tested without sockets; transport_ws.c reads the request, calls
 * these and writes what they produce.
 *
 * Statuses: 101 (upgrade), 400 (a malformed or incomplete upgrade), 404
 * (another path), 405 (not GET), 426 (plain HTTP, or a WebSocket version
 * other than 13: the answer names what to use).
 */
#ifndef CQ_WORKERS_WS_UPGRADE_H
#define CQ_WORKERS_WS_UPGRADE_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/config_schema.h"
#include "core/http.h"

#define CQ_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

typedef struct cq_ws_upgrade {
	int status; /* 101, or the status of the refusal */
	const char *why; /* the refusal, for the log */
	const char *protocol; /* "mqtt", "mqttv3.1", or NULL (none asked) */
	char accept[CQ_WS_ACCEPT_LEN + 1]; /* Sec-WebSocket-Accept */
} cq_ws_upgrade_t;

/* Judge request 'req' for a listener serving WebSocket at 'path'. */
void cq_ws_upgrade_check(
	const cq_http_req_t *req, const char *path, cq_ws_upgrade_t *u_r);

/* The answer to 'u' into buf: its length, or 0 if it does not fit. */
size_t cq_ws_upgrade_response(const cq_ws_upgrade_t *u, char *buf, size_t size);

/*
 * The client a trusted proxy names in X-Forwarded-For: walking the
 * addresses from the last one back, the first that is not itself in
 * 'trusted'.  1 with *ss_r set (port 0), 0 when there is no such header,
 * -1 when the header does not hold IP addresses (it is then ignored).
 * The caller checks that the peer itself is trusted.
 */
int cq_ws_forwarded_for(const cq_http_req_t *req,
	const cq_cfg_strlist_t *trusted, struct sockaddr_storage *ss_r,
	socklen_t *len_r);

/* Sec-WebSocket-Accept for the key (24 characters): 0, or -1. */
int cq_ws_accept_key(
	const char *key, size_t len, char out[CQ_WS_ACCEPT_LEN + 1]);

#endif /* CQ_WORKERS_WS_UPGRADE_H */
