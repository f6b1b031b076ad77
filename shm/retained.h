/*
 * retained.h — the retained-message store: topic -> message, in shm.
 *
 * A trie keyed by topic levels (same node and children-table core as the
 * route trie, shm/trie.h) whose nodes hold the offset of a message in the
 * message store (shm/msg.h); the store owns one reference per message it
 * holds.  A PUBLISH with RETAIN sets, replaces or (empty payload, MQTT 5.0
 * §3.3.1.3) deletes the message of its topic; a new subscription walks the
 * messages whose topics match its filter.
 *
 * The walk is a resumable cursor: each step visits at most 'budget' nodes,
 * and the caller runs the next step in a later loop iteration, so a "#"
 * over a million retained messages never stalls a loop.  Between steps the
 * cursor holds no shm reference at all (QSBR: nothing may be held across a
 * quiescent point); it remembers the topic it visited last and resumes in
 * key order after it, which stays correct while the trie changes: topics
 * present during the whole walk are visited exactly once; topics set or
 * removed meanwhile may or may not be (a message set after the subscription
 * reaches the subscriber by the normal publish path anyway).
 *
 * Expiry: a message past its expiry (cq_msg_expired) is never returned;
 * steps delete the expired messages they meet, and a sweep cursor
 * (cq_retained_sweep_new) visits every topic, '$' ones included, to delete
 * the rest.  Messages without an expiry never expire.
 */
#ifndef CQ_SHM_RETAINED_H
#define CQ_SHM_RETAINED_H

#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"

typedef struct cq_retained_cursor cq_retained_cursor_t;

/*
 * Called for each retained message found: 'topic' is valid for the call,
 * 'msg' until the caller's next quiescent point; to keep it longer take a
 * reference with cq_msg_tryref() (a -1 means it is being deleted: skip).
 */
typedef void (*cq_retained_fn)(
	void *arg, const char *topic, size_t len, cq_off_t msg);

typedef struct cq_retained_stats {
	uint64_t messages;
	uint64_t nodes;
	uint64_t recoveries;
} cq_retained_stats_t;

/*
 * Store 'msg' as the retained message of 'topic' (validated topic name),
 * taking a reference of its own; replaces (and releases, after a grace
 * period) the previous one.  A message with an empty payload deletes the
 * topic's retained message instead [MQTT-3.3.1-6].  Takes the topic's
 * shard lock.  0, or -1 with errno ENOMEM (arena full; nothing changed).
 */
int cq_retained_set(const char *topic, size_t len, cq_off_t msg);

/* Delete the retained message of 'topic' (if any).  0. */
int cq_retained_delete(const char *topic, size_t len);

/*
 * The retained message of 'topic' if there is one and it has not expired
 * at 'now' (Unix seconds): its offset, valid until the next quiescent
 * point.  CQ_OFF_NULL otherwise.  Lock-free (QSBR readers).
 */
cq_off_t cq_retained_get(const char *topic, size_t len, uint64_t now);

/* A cursor over the messages matching 'filter' (validated; a shared
 * filter is searched without its $share prefix).  NULL: out of memory. */
cq_retained_cursor_t *cq_retained_search_new(const char *filter, size_t len);
/* A cursor over every topic, '$' ones included (expiry sweeps). */
cq_retained_cursor_t *cq_retained_sweep_new(void);
void cq_retained_cursor_free(cq_retained_cursor_t *c);

/*
 * Run the cursor for at most 'budget' node visits (>= 1), calling fn (may
 * be NULL) for each unexpired message found, in a fixed key order, and
 * deleting the expired ones met (which takes shard locks, after the walk).
 * For QSBR readers: run each step between two quiescent points.
 * Returns 1 when there is more (call again after a quiescent point), 0 when
 * the walk is complete, -1 with errno ENOMEM.
 */
int cq_retained_step(cq_retained_cursor_t *c, uint64_t now, unsigned budget,
	cq_retained_fn fn, void *arg);

void cq_retained_stats(cq_retained_stats_t *s_r);

extern const cq_shm_module_t cq_retained_module;

#endif /* CQ_SHM_RETAINED_H */
