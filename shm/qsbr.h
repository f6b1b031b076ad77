/*
 * qsbr.h — quiescent-state-based reclamation across worker processes.
 *
 * Shared tries are read without locks; a writer that replaces an object
 * retires the old one here instead of freeing it.  Each worker slot has a
 * counter in shm that the worker bumps (one release store) at the top of
 * every event-loop iteration — a point where it holds no reference into a
 * shared trie — and marks itself offline around blocking waits so an idle
 * worker never delays reclamation.  A retired object is freed once every
 * online slot has passed a quiescent point after the retirement.
 *
 * Rule for readers: never keep a pointer or offset into a shared trie across
 * loop iterations.
 *
 * The master clears a dead worker's slot (cq_qsbr_reap, via cq_shm_reap), so
 * grace periods resume.
 */
#ifndef CQ_SHM_QSBR_H
#define CQ_SHM_QSBR_H

#include <stdint.h>

#include "shm/region.h"

/* Register this process's slot (cq_shm_slot) as online. */
void cq_qsbr_register(void);
void cq_qsbr_unregister(void);
/* A quiescent point: call at the top of every loop iteration. */
void cq_qsbr_quiescent(void);
/* Around blocking waits (epoll_wait): no shared references held. */
void cq_qsbr_offline(void);
void cq_qsbr_online(void);

/*
 * Retire an arena object: it is freed with cq_arena_free after a grace
 * period.  Safe from any process; never blocks on readers (if the limbo is
 * full it reclaims what it can and otherwise frees later).
 */
void cq_qsbr_retire(cq_off_t off);
/* Free whatever retired objects are past their grace period. */
unsigned cq_qsbr_reclaim(void);
/*
 * Clear dead worker 'slot' (master only, after waitpid()): its counter no
 * longer holds back grace periods, and its pending retirements move to the
 * orphan limbo, which cq_qsbr_reclaim() in any process drains.
 */
void cq_qsbr_reap(unsigned slot);

/*
 * Quiescent points slot 'slot' has passed (its pulse: a watchdog that sees
 * it frozen while the slot is online kills the worker), and its registered
 * pid in *pid_r (0: none).
 */
uint64_t cq_qsbr_progress(unsigned slot, uint32_t *pid_r);

/*
 * Reader slots: processes that are not workers (comqtt-admin) but read the
 * shared tries lock-free take one of CQ_QSBR_READERS extra slots, which
 * hold back grace periods exactly like a worker's while the process is
 * online.  Such a reader stays offline except around a bounded read
 * (cq_qsbr_online ... cq_qsbr_offline), so it never delays reclamation for
 * long; it retires objects into the orphan limbo (it has no limbo of its
 * own).  cq_qsbr_reader_take() makes 'reader' this process's slot (offline;
 * it takes effect only while cq_shm_slot is CQ_SLOT_NONE);
 * cq_qsbr_reader_reap() clears a dead reader's slot (master only, after
 * waitpid()).
 */
#define CQ_QSBR_READERS      4u
#define CQ_QSBR_READER_ADMIN 0u
void cq_qsbr_reader_take(unsigned reader);
void cq_qsbr_reader_reap(unsigned reader);

typedef struct cq_qsbr_stats {
	uint64_t epoch; /* global epoch */
	uint64_t safe_epoch; /* objects retired at or before it can go */
	uint64_t pending; /* retired, not yet freed */
} cq_qsbr_stats_t;
void cq_qsbr_stats(cq_qsbr_stats_t *stats_r);

extern const cq_shm_module_t cq_qsbr_module;

#endif /* CQ_SHM_QSBR_H */
