/*
 * describe.h — asking workers about their connected clients (DESCRIBE),
 * shared by the client list and the client detail (describe.c).
 */
#ifndef CQ_ADMIN_DESCRIBE_H
#define CQ_ADMIN_DESCRIBE_H

#include "admin/admin-int.h"

/* What a worker told about one client; strings point into the reply. */
typedef struct cq_cdesc {
	bool valid; /* a reply covered this row */
	bool found; /* the worker has the session */
	bool on; /* and a connection for it */
	bool clean, has_user, will;
	uint8_t version, will_qos, will_retain;
	uint16_t keepalive, listener;
	uint64_t connected_at; /* Unix seconds */
	uint32_t inflight, nsubs, will_payload_full;
	const char *addr, *user, *will_topic, *will_payload;
	size_t addr_len, user_len, will_topic_len, will_payload_len;
} cq_cdesc_t;

/*
 * Ask worker 'slot' about rows idx[0..n) (CQ_CTL_DESCRIBE_WILL in flags
 * for the will), in as many commands as the ids need; idx must live until
 * the call ends.  Returns the number of commands sent.
 */
int cq_describe_send(cq_acall_t *c, unsigned slot, unsigned flags,
	const cq_srow_t *rows, size_t *idx, size_t n);
/* In the call's done: fill out[row] for every row a reply covered
 * (out has nrows entries, zeroed); returns how many. */
size_t cq_describe_collect(const cq_acall_t *c, cq_cdesc_t *out, size_t nrows);
/* The connection fields of a client: username, remote, connected_at,
 * keepalive, listener, clean. */
void cq_describe_json(
	cq_json_t *j, const cq_cdesc_t *d, const cq_config_t *cfg);
/* will_topic_name, will_payload, will_retain, will_qos,
 * will_payload_truncated. */
void cq_describe_will_json(cq_json_t *j, const cq_cdesc_t *d);

#endif /* CQ_ADMIN_DESCRIBE_H */
