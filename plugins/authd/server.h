/*
 * server.h — what authd's process (authd.c) and its client connections
 * (conn.c) share: the server state and the connection entry points.
 * Internal to plugins/authd.
 */
#ifndef CQ_AUTHD_SERVER_H
#define CQ_AUTHD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "plugins/authd/chain.h"

struct event_base;
typedef struct cq_authd_conn cq_authd_conn_t;

typedef struct cq_authd_server {
	struct event_base *base;
	cq_auth_chain_t *chain; /* current; new requests run here */
	uint32_t max_inflight; /* per connection */
	char serial[48]; /* policy serial sent in INVALIDATE */
	cq_authd_conn_t *conns; /* every open connection */
	uint64_t next_conn_id;
	unsigned nconns;
} cq_authd_server_t;

/* Take over an accepted socket: greet it and serve it.  0, or -1 (the
 * fd is closed). */
int cq_authd_conn_new(cq_authd_server_t *srv, int fd);

/* Tell every connection the policy changed (INVALIDATE <serial>). */
void cq_authd_conn_broadcast_invalidate(cq_authd_server_t *srv);

/* Close every connection now (shutdown); requests still running finish
 * without an answer. */
void cq_authd_conn_close_all(cq_authd_server_t *srv);

#endif /* CQ_AUTHD_SERVER_H */
