/*
 * deliver.h — a message reaches this worker's subscribers (DESIGN.md §3
 * step 4), and the outbound QoS 1/2 state of each session.
 *
 * A PUBLISH record from a ring (or a message published here) is matched
 * once in the private trie; each matching session gets one delivery at the
 * highest QoS of its matching subscriptions.  QoS 0 goes straight into the
 * connection's output.  QoS 1/2 first take a packet id and enter the
 * session's inflight window in shm, then the bytes are written; when the
 * window is full, the client is offline or the session already has a
 * queue, the message joins the session's offline queue in shm (bounded;
 * the overflow policy drops and counts).  Messages leave the queue, in
 * order, as acknowledgements free the window (cq_deliver_pump).
 *
 * Per-session order: a session with a non-empty queue queues every new
 * QoS 1/2 message, so nothing overtakes what waits.
 */
#ifndef CQ_WORKERS_DELIVER_H
#define CQ_WORKERS_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/ring.h"
#include "shm/session.h"
#include "shm/topic_match.h"
#include "workers/layout.h"
#include "workers/records.h"
#include "workers/worker-t.h"

/*
 * Deliver d to this worker's sessions matching the split topic lv.
 * 'publisher' is the publishing session when it is local (no local);
 * groups/ng the shared-subscription groups this worker serves for it.
 */
void cq_deliver_local(cq_worker_t *w, const cq_dmsg_t *d,
	const cq_topic_levels_t *lv, const void *publisher,
	const uint64_t *groups, uint32_t ng);

/*
 * Deliver d to one member of each of the shared groups 'groups' served
 * here, never to 'skip' and not to plain subscribers: a message a member
 * left with (share.h).  Returns the number of sessions it went to.
 */
unsigned cq_deliver_groups(cq_worker_t *w, const cq_dmsg_t *d,
	const cq_topic_levels_t *lv, const void *skip, const uint64_t *groups,
	uint32_t ng);

/*
 * One delivery to one session at the given options (layouts: the
 * message's serialisation cache).  Goes through the takeover first
 * (held or forwarded while the session moves).
 */
void cq_deliver_to(cq_worker_t *w, cq_lsess_t *ls, cq_layouts_t *lay,
	uint8_t qos, bool retain, const uint32_t *ids, unsigned nids);

/*
 * Deliver stored message m, numbered (origin, seq) by its publisher, to
 * ls with the options its subscriptions give (forwarded and released
 * takeover messages; 'keep' as for cq_takeover_intercept() should the
 * session move meanwhile).  The caller keeps its reference.  0, or -1
 * when ls was freed on the way (its session had ended).
 */
int cq_deliver_stored(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m,
	uint16_t origin, uint64_t seq, bool keep);

/*
 * A retained message m (the caller's reference) for a new subscription of
 * ls, at QoS qos, RETAIN=1 [MQTT-3.3.1-8], with the subscription's id.
 */
void cq_deliver_retained(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m,
	uint8_t qos, const uint32_t *ids, unsigned nids);

/* Send queued messages while the window and the connection have room. */
void cq_deliver_pump(cq_worker_t *w, cq_lsess_t *ls);

/*
 * ls's inflight window in send order, into small[nsmall] or, when it has
 * more entries, a heap array (*v_r: free it unless it is small).  Returns
 * the count (only what small holds when out of memory).
 */
#define CQ_DELIVER_WINDOW_MAX 65535u
unsigned cq_deliver_window(const cq_lsess_t *ls, cq_inflight_t *small,
	unsigned nsmall, cq_inflight_t **v_r);

/*
 * The session's connection was accepted (CONNACK sent): re-send the
 * inflight window with DUP (PUBREL for those past PUBREC) in its original
 * order [MQTT-4.4.0-1], then pump the queue.
 */
void cq_deliver_resume(cq_worker_t *w, cq_lsess_t *ls);

/*
 * Drain the rings addressed to this worker: up to 'budget' records per
 * ring, consumed after they were handled; message references the records
 * owned are dropped after the consume.  Returns the records handled.
 */
unsigned cq_deliver_drain(cq_worker_t *w, unsigned budget);

/*
 * First drain after a (re)start: every record waiting is read at once
 * and KICK records are handled first, so that a session taken over while
 * this slot was down is forwarded before its messages are matched.
 */
void cq_deliver_drain_start(cq_worker_t *w, void (*between)(cq_worker_t *));

#endif /* CQ_WORKERS_DELIVER_H */
