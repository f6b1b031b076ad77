/*
 * pack.h — acknowledgements that wait for comqtt-storage
 * (storage.persistence: sync).
 *
 * With sync persistence a PUBACK or PUBREC goes out only when everything
 * the PUBLISH changed in persistent state is committed: its inbound QoS 2
 * id, a retained message, and what every destination worker queued or
 * sent for it.  The publishing worker knows where its records ended in
 * ring[here][dst] (cq_ring_tail after the commit); once dst has consumed
 * up to there (cq_ring_consumed), dst's events for the message are in
 * dst's storage ring, and the watermark to wait for is that ring's tail
 * read then.  This worker's own events (local deliveries, QoS 2 id,
 * retained) are covered by its own storage ring's tail when the ack is
 * queued.
 *
 * Acks of one connection leave in the order of their PUBLISHes
 * [MQTT-4.6.0-2]: each connection has a FIFO, refusals included; the
 * worker visits the connections with pending acks every iteration (and is
 * woken by the storage process's commits).  A connection that closes
 * drops its pending acks: the client sends the PUBLISH again.
 *
 * What it does not cover: a message held or forwarded by a session
 * takeover in progress (workers/takeover.h) is made durable by the next
 * owner after the ack may have gone.
 */
#ifndef CQ_WORKERS_PACK_H
#define CQ_WORKERS_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "workers/worker-t.h"

typedef struct cq_pack cq_pack_t;

/*
 * Send the PUBACK (qos 1) or PUBREC (qos 2) of 'pid' with 'reason' and,
 * for a failure, the Reason String 'why' (v5; NULL: the default text),
 * at once or, with sync persistence, once what this worker's storage ring
 * holds now and (routed) what the last cq_publish() sent to other workers
 * (w->pub_dsts, w->pub_end) is durable.  routed false: a refusal, nothing
 * to wait for, but still behind the acks already waiting.  Out of memory:
 * sent at once.
 */
void cq_pack_ack(cq_conn_t *c, uint8_t qos, uint16_t pid, uint8_t reason,
	const char *why, bool routed);
/* Send what became durable (every iteration while any waits). */
void cq_pack_poll(cq_worker_t *w);
bool cq_pack_pending(const cq_worker_t *w);
/* The connection closes: drop its pending acks. */
void cq_pack_stop(cq_conn_t *c);

#endif /* CQ_WORKERS_PACK_H */
