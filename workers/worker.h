/*
 * worker.h — a worker process: one libevent loop that owns connections.
 *
 * The master forks a worker into a fixed slot and gives it, through
 * cq_worker_args_t, everything it inherits: its channel end, the read end of
 * the death pipe (EOF = the master is gone), and its own SO_REUSEPORT
 * listening sockets.  Connections also arrive over the channel (handoff).
 *
 * Signals are read through a signalfd (TERM/INT stop, HUP reload, USR1
 * reopen logs), never through libevent's process-global signal handling,
 * which the master's event base still holds in the forked image.
 *
 * The loop (workers/README, "The loop"), one iteration:
 *   1. QSBR quiescent point;
 *   2. drain the rings addressed to this worker (bounded per ring,
 *      consumed after handling);
 *   3. deferred work: held-back PUBLISHes, CONNECTs waiting for a fence,
 *      takeovers, retained sends, and on the housekeeping tick (100 ms)
 *      keep alive, session sweeps, $SYS;
 *   4. flush every dirty connection (one write each) and wake the
 *      workers this iteration wrote to (once per batch);
 *   5. block in libevent (EVLOOP_ONCE) after announcing sleep on the
 *      rings, or only poll when work is left.
 * The worker stays online for QSBR while it blocks: the 100 ms timer
 * bounds every grace period.
 */
#ifndef CQ_WORKERS_WORKER_H
#define CQ_WORKERS_WORKER_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/conf.h"
#include "shm/region.h"
#include "workers/worker-t.h"

typedef struct cq_worker_listener {
	unsigned index; /* the master's listener index */
	int kind;
	const char *name;
	int fd; /* this slot's reuseport socket, or -1 (handoff only) */
	struct ssl_ctx_st *tls_ctx; /* the master's TLS context, or NULL */
} cq_worker_listener_t;

typedef struct cq_worker_args {
	unsigned slot;
	unsigned nworkers;
	int chan; /* channel to the master */
	int death_fd; /* read end of the master's death pipe */
	const char *config_path; /* NULL: embedded defaults */
	const cq_config_cmdline_t *cmdline; /* to re-read on reload */
	cq_config_t *config; /* inherited from the master */
	const cq_shm_t *shm; /* the region, mapped before fork */
	cq_worker_listener_t listeners[CQ_WORKER_MAX_LISTENERS];
	unsigned nlisteners;
	uint64_t start_time; /* the broker's start, Unix seconds ($SYS) */
} cq_worker_args_t;

/* Run the worker until it is told to stop; returns the exit status. */
int cq_worker_main(const cq_worker_args_t *args);

#endif /* CQ_WORKERS_WORKER_H */
