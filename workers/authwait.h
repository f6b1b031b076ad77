/*
 * authwait.h — answers to access questions, per connection and packet.
 *
 * An access question (CONNECT authentication, PUBLISH/SUBSCRIBE ACL) that
 * the cache cannot answer goes to comqtt-authd and comes back later.  The
 * packet that asked is not consumed: the hook records the question here
 * and answers CQ_HOOK_PENDING, the handler returns CQ_CONN_PENDING, and
 * the connection stops reading.  When the last answer for the packet has
 * arrived, the connection is resumed and the same packet is handled again
 * from the start; this time every hook call finds its answer here.  The
 * answers are forgotten once the packet has been consumed, so a later
 * packet asks again (and usually hits the shared-memory cache).
 *
 * A SUBSCRIBE asks about all its filters before acting on any, so that a
 * packet handled twice never subscribes twice.
 */
#ifndef CQ_WORKERS_AUTHWAIT_H
#define CQ_WORKERS_AUTHWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workers/worker-t.h"

/* The question kinds: ACL accesses are the protocol's 'r', 'w', 's'. */
#define CQ_AUTHWAIT_CONNECT 'A'

typedef struct cq_authwait_entry {
	struct cq_authwait_entry *next;
	cq_conn_t *conn;
	uint32_t handle; /* the client library's, while waiting */
	char kind;
	bool waiting; /* asked, the answer not in yet */
	bool answered;
	bool allow;
	uint8_t code; /* CONNECT refusal: the CONNACK code to send */
	size_t len;
	char key[]; /* the topic or filter ("" for CONNECT) */
} cq_authwait_entry_t;

/* The answer recorded for this question, or NULL (not asked yet). */
cq_authwait_entry_t *cq_authwait_find(
	cq_conn_t *c, char kind, const char *key, size_t len);

/* Record a question about to be asked.  NULL when out of memory. */
cq_authwait_entry_t *cq_authwait_add(
	cq_conn_t *c, char kind, const char *key, size_t len);

/* The question went to authd: the packet waits for its answer. */
void cq_authwait_wait(cq_authwait_entry_t *e, uint32_t handle);

/* Record the answer; after the last awaited one, resume the connection
 * (which handles the packet again). */
void cq_authwait_answer(cq_authwait_entry_t *e, bool allow, uint8_t code);

/* Questions of the current packet still unanswered. */
unsigned cq_authwait_pending(const cq_conn_t *c);

/* The packet was consumed: forget its answers. */
void cq_authwait_packet_done(cq_conn_t *c);

/*
 * A connection that publishes keeps publishing to the same topic: the
 * last PUBLISH topic the shared cache allowed is remembered with the
 * cache's policy epoch and a deadline, and recalled without asking the
 * cache (its hash and lookup cost as much as the rest of a QoS 0
 * PUBLISH).  An invalidation (new epoch) forgets it at once; otherwise
 * it lives no longer than auth.cache_ttl and at most a second.
 */
bool cq_authwait_recall(const cq_conn_t *c, const char *topic, size_t len,
	uint64_t epoch, uint64_t now_ms);
void cq_authwait_remember(cq_conn_t *c, const char *topic, size_t len,
	uint64_t epoch, uint64_t until_ms);

/* The connection goes away: cancel what is asked, free everything.
 * 'cancel' is called with each waiting handle. */
void cq_authwait_free(cq_conn_t *c, void (*cancel)(uint32_t handle));

#endif /* CQ_WORKERS_AUTHWAIT_H */
