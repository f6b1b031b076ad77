/*
 * worker-t.h — the worker's runtime context: types only.
 *
 * One cq_worker_t per worker process, created in cq_worker_main() and passed
 * to every part of the runtime (connections, handlers, delivery, takeover,
 * housekeeping) as its first argument: it is the process's private state
 * and never lives in shared memory.  The modules that act on it include
 * this file for the struct and their own header for their functions, so no
 * module needs another's header just to see a field.
 *
 * Invariants:
 *   - everything here is private to the worker process (single-threaded,
 *     no locks, no atomics);
 *   - no pointer or offset into a shared trie survives a loop iteration
 *     (QSBR): the fields below hold only private memory, session offsets
 *     (stable while the session lives, checked against the state word
 *     before use) and message references the worker owns.
 */
#ifndef CQ_WORKERS_WORKER_T_H
#define CQ_WORKERS_WORKER_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/conf.h"
#include "shm/region.h"
#include "shm/route.h"
#include "workers/subtrie.h"

#define CQ_WORKER_MAX_LISTENERS 32

struct event_base;
struct event;
struct cq_worker_args;

typedef struct cq_worker cq_worker_t;
typedef struct cq_conn cq_conn_t;
typedef struct cq_lsess cq_lsess_t;
typedef struct cq_hooks cq_hooks_t;
typedef struct cq_eauth cq_eauth_t;

/* The worker's sessions by client id (open addressing, private). */
typedef struct cq_lsess_table {
	cq_lsess_t **slot;
	size_t cap; /* power of two */
	size_t n;
	size_t tombs;
} cq_lsess_table_t;

/* "Log once per interval" state for one kind of event. */
typedef struct cq_ratelog {
	uint64_t next_ms;
	uint64_t suppressed;
} cq_ratelog_t;

struct cq_worker {
	const struct cq_worker_args *args;
	unsigned slot;
	unsigned nworkers;
	cq_config_t *cfg; /* the configuration in force (reloaded on HUP) */
	struct event_base *base;
	struct event *chan_ev;
	struct event *death_ev;
	struct event *sig_ev;
	struct event *wake_ev;
	struct event *tick_ev;
	struct event *accept_ev[CQ_WORKER_MAX_LISTENERS];
	int sigfd;

	bool stopping; /* graceful stop asked */
	bool exit_now; /* leave the loop */
	uint64_t stop_deadline_ms;

	uint64_t iter; /* loop iterations */
	uint64_t now_ms; /* CLOCK_MONOTONIC, refreshed per iteration */
	uint64_t now_s; /* CLOCK_REALTIME seconds (shm deadlines) */
	uint64_t wall_ms; /* CLOCK_REALTIME ms (will delays, in shm) */
	uint64_t start_ms;

	/* Routing: this worker's subscriptions and reusable match buffers. */
	cq_subtrie_t *trie;
	cq_subtrie_result_t sres;
	cq_route_result_t rres;

	/* The read buffer every connection reads into (conn.c): only a
	 * packet that is still incomplete after a read is copied into the
	 * connection's own buffer, so an idle connection holds none. */
	cq_buf_t rbuf;
	bool rbuf_lent;
	/* During a loan: the borrower's own buffer, emptied, kept for what
	 * the read leaves over (no allocation per read of a busy one). */
	cq_buf_t rbuf_own;

	/* Connections: all of them, those with output to flush this
	 * iteration, and those closed this iteration (freed at its end). */
	cq_conn_t *conns;
	cq_conn_t *dirty;
	cq_conn_t *dead;
	cq_conn_t *rsending; /* sending retained messages */
	cq_conn_t *packing; /* acks waiting for storage commits (pack.h) */
	unsigned nconns;
	unsigned nconnected; /* past CONNACK */
	/* The same by listener (cfg->listeners[] index), for its
	 * max_connections; listeners past the array are not counted. */
	unsigned nconnected_on[CQ_WORKER_MAX_LISTENERS];
	unsigned nblocked; /* input held back by a full ring */

	/* Sessions owned here, and those in a takeover (holding messages
	 * or forwarding them), which the loop visits every iteration. */
	cq_lsess_table_t sessions;
	cq_lsess_t *moving;
	unsigned nsubs; /* (session, filter) pairs in the trie */

	/* The message path.  seq numbers every message this worker
	 * publishes (increasing across respawns: it starts from the
	 * clock); last_seq[src] is the seq of the last PUBLISH record
	 * handled from ring[src][here]; empty_iter[src] the last
	 * iteration that found ring[src][here] empty. */
	uint64_t seq;
	uint64_t last_seq[CQ_MAX_WORKERS];
	uint64_t empty_iter[CQ_MAX_WORKERS];
	/* First drain after start: records the predecessor had read but
	 * not consumed are handled again; QoS 2 deliveries are then
	 * de-duplicated against the sessions' inflight windows. */
	bool replay;
	/* The last cq_publish(): the destination workers its records went
	 * to and where each ended in ring[here][dst] (pack.h). */
	uint64_t pub_dsts;
	uint64_t pub_end[CQ_MAX_WORKERS];
	bool persist_full; /* cq_persist_congested() this iteration */
	bool index_moving; /* the private trie's index is being resized */

	/* Serialised layouts of the message being fanned out, and of a
	 * delivery to one session (re-sends, queue, retained). */
	cq_buf_t scratch;
	cq_buf_t scratch1;

	cq_hooks_t *hooks;

	uint64_t next_keepalive_ms;
	uint64_t next_sweep_ms;
	uint64_t next_sys_ms;
	uint32_t expire_cursor;
	uint64_t assigned_ids;

	cq_ratelog_t log_full; /* arena or table full */
	cq_ratelog_t log_ring; /* ring full */
	cq_ratelog_t log_queue; /* offline queue overflow */
};

#endif /* CQ_WORKERS_WORKER_T_H */
