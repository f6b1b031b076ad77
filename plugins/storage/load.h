/*
 * load.h — comqtt-storage at start-up: the stored state back into shm.
 *
 * Runs in the storage process before the master forks any worker (the
 * master waits for it), with the region freshly created: every stored
 * session comes back DISCONNECTED, owned by a worker slot chosen from its
 * client id (that worker rebuilds its private trie and routes from it
 * when it starts), with its subscriptions, inflight window (packet ids,
 * states and send order kept: the client gets DUP re-sends), inbound
 * QoS 2 ids, queue (positions kept, in order) and will; then every
 * retained message.  What expired while the broker was down (sessions
 * past their deadline, messages past their expiry) is left out and
 * deleted from the store.  A value the codec cannot read stops the load:
 * the broker refuses to start rather than run on half its state.
 */
#ifndef CQ_STORAGE_LOAD_H
#define CQ_STORAGE_LOAD_H

#include <stdint.h>

#include "plugins/storage/backend.h"
#include "plugins/storage/index.h"

typedef struct cq_load_stats {
	uint64_t sessions, subs, inflight, qos2, queued, wills, retained;
	uint64_t expired; /* sessions and messages left out */
} cq_load_stats_t;

/* The index from the backend's sessions table: 0, or -1 (logged). */
int cq_load_index(const cq_store_ops_t *ops, cq_store_t *st, cq_sindex_t *ix);

/*
 * Load everything into the current region for 'nworkers' worker slots at
 * Unix time 'now'.  0, or -1 with *error_r (malloc'd) naming what failed.
 */
int cq_load_state(const cq_store_ops_t *ops, cq_store_t *st, cq_sindex_t *ix,
	unsigned nworkers, uint64_t now, cq_load_stats_t *stats,
	char **error_r);

#endif /* CQ_STORAGE_LOAD_H */
