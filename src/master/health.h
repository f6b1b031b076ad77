/*
 * health.h — the health check: a tiny HTTP responder in the master's own
 * loop (listeners of type health).
 *
 * The master is the one process that knows its children, so it answers
 * GET (or HEAD) on the listener's path: 200 when every worker slot has a
 * running worker that reported ready and whose loop keeps turning (its
 * loop counter in shm moved within the last HEALTH_STALL_MS), 503
 * otherwise; the body is JSON naming each worker's state.  Anything else
 * is answered 400/404/405/431 and closed.  No MQTT, no keep-alive: one
 * request per connection, bounded in size (max_header_size), time
 * (handshake_timeout) and number of connections at once, all
 * non-blocking, so a health checker can never stall the master.
 */
#ifndef CQ_MASTER_HEALTH_H
#define CQ_MASTER_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "master/master.h"

/* A worker loop that has not turned for this long is reported down. */
#define CQ_HEALTH_STALL_MS 3000u

/*
 * Serve health listener 'l' (its socket is open) on the master's loop.
 * 0, or -1 (logged).
 */
int cq_health_listen(cq_master_t *m, cq_listener_t *l);

/* Close what is open (at the master's exit). */
void cq_health_stop(void);

/*
 * The state of the workers as the check reports it: true when all are
 * up; 'body' gets the JSON text.
 */
bool cq_health_report(cq_master_t *m, char *body, size_t size);

#endif /* CQ_MASTER_HEALTH_H */
