/*
 * rebalance.h — handing freshly accepted connections to a lighter worker.
 *
 * With SO_REUSEPORT the kernel spreads new connections over the workers'
 * sockets by a hash of the addresses, blind to how many clients each
 * worker already serves (long-lived IoT connections pile up unevenly, and
 * a respawned worker starts empty).  A worker that the kernel hands a
 * connection while it serves clearly more clients than the lightest
 * worker passes the socket on, untouched (not a byte read), to the master
 * with CQ_CHAN_REBALANCE; the master sends it to that worker as a handoff
 * (CQ_CHAN_CONN), which is never passed on again, so a connection moves
 * at most once.  Listeners pinned to a worker and handoff listeners (the
 * master already picked the least-loaded worker) are left alone.
 */
#ifndef CQ_WORKERS_REBALANCE_H
#define CQ_WORKERS_REBALANCE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "workers/worker-t.h"

/* Connections below which a worker never hands one on. */
#define CQ_REBALANCE_MIN 64u

/*
 * Whether a worker serving 'mine' clients should hand a new connection to
 * one serving 'least': more than a quarter and CQ_REBALANCE_MIN / 4 more
 * (hysteresis, so two close workers never trade connections).
 */
bool cq_rebalance_wanted(uint64_t mine, uint64_t least);

/*
 * Connection 'fd' just accepted on this worker's reuseport socket of
 * listener 'li': handed to the master for a lighter worker (true; fd is
 * closed here), or false to serve it here.
 */
bool cq_rebalance_handed(cq_worker_t *w, unsigned li, int fd,
	const struct sockaddr *peer, socklen_t plen);

#endif /* CQ_WORKERS_REBALANCE_H */
