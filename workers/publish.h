/*
 * publish.h — a message enters the broker (DESIGN.md §3 steps 1-3).
 *
 * The publishing worker stores a retained message, matches the topic once
 * in the shared route trie, appends one PUBLISH record per destination
 * worker to ring[here][dst] (small QoS 0 messages inline, others as a
 * message-store reference) and delivers to its own subscribers inline.
 * Client PUBLISHes, wills and $SYS all come through here.
 */
#ifndef CQ_WORKERS_PUBLISH_H
#define CQ_WORKERS_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/relptr.h"
#include "workers/records.h"
#include "workers/worker-t.h"

/*
 * Publish d.  'publisher' is the publishing local session (no-local), or
 * NULL.  With set_retained and d->retain, the retained store is updated
 * first (an empty payload clears the topic).  d->seq is assigned here;
 * d->msg is created when the message needs the store (QoS 1/2, retained,
 * too large to go inline) and released again before returning, unless
 * the caller passed one (its reference stays the caller's).
 *
 * All or nothing for QoS 1/2: when a destination ring is full, nothing is
 * sent and CQ_AGAIN is returned (the caller holds the PUBLISH and retries
 * in a later iteration: TCP then throttles the publisher).  QoS 0 to a
 * full ring is dropped for that destination and counted.  -1 with errno
 * ENOMEM when the message store is full (nothing sent).
 */
int cq_publish(cq_worker_t *w, cq_dmsg_t *d, bool set_retained,
	const cq_lsess_t *publisher);

/*
 * Send stored message d->msg to worker 'dst' for shared group 'key' only
 * (CQ_REC_F_GROUPS): a message one member of the group left with.  It
 * gets a new number of this worker's.  0, or CQ_AGAIN (the ring is full:
 * nothing sent).
 */
int cq_publish_group(cq_worker_t *w, cq_dmsg_t *d, unsigned dst, uint64_t key);

/*
 * Publish a will (or any stored message) whose reference the caller
 * gives up.  'sess' is the session it belonged to.  A full ring or store
 * drops it (logged).
 */
void cq_publish_will(cq_worker_t *w, cq_off_t sess, cq_off_t will);

/*
 * Publish a message made here ($SYS): 0, or -1 (logged, rate-limited).
 */
int cq_publish_text(cq_worker_t *w, const char *topic, const void *payload,
	size_t len, uint8_t qos, bool retain);

/*
 * A new store message holding d (one reference, the caller's), published
 * by worker 'origin'.  CQ_OFF_NULL when the store is full (errno ENOMEM)
 * or a length is out of range.
 */
cq_off_t cq_dmsg_store(const cq_dmsg_t *d, uint16_t origin);

/* Log 'what' at most once per interval per state (counting the rest). */
void cq_ratelog(
	cq_worker_t *w, cq_ratelog_t *r, int level, int err, const char *what);

#endif /* CQ_WORKERS_PUBLISH_H */
