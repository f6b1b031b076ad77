/*
 * rsend.h — retained messages sent to a new subscription [MQTT-3.3.1-6].
 *
 * The retained store is walked with a resumable cursor (shm/retained.h):
 * each step visits a bounded number of nodes, so a "#" subscription over
 * millions of retained messages never stalls the loop.  The first step
 * runs right after the SUBACK is queued, so the common case (a few
 * messages) goes out at once, ahead of live messages published later;
 * the rest continues in the following iterations.
 */
#ifndef CQ_WORKERS_RSEND_H
#define CQ_WORKERS_RSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workers/conn.h"
#include "workers/worker-t.h"

/*
 * Start sending the retained messages matching 'filter' (as stored, a
 * $share prefix is not expected here) to c's session at most at QoS
 * 'qos', with subscription id 'sub_id' (0: none).  0, or -1 (out of
 * memory: logged, nothing is sent).
 */
int cq_rsend_start(cq_conn_t *c, const char *filter, size_t len, uint8_t qos,
	uint32_t sub_id);

/* One step for every connection with retained messages still to send. */
void cq_rsend_poll(cq_worker_t *w);

/* True while some connection has retained messages to send. */
static inline bool
cq_rsend_pending(const cq_worker_t *w)
{
	return w->rsending != NULL;
}

/* The connection closes: forget its sends (conn.c). */
void cq_rsend_stop(cq_conn_t *c);
void cq_rsend_free(cq_rsend_t *r);

#endif /* CQ_WORKERS_RSEND_H */
