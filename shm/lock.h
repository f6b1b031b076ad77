/*
 * lock.h — process-shared robust mutexes for the cold (writer) paths.
 *
 * A cq_mutex_t lives in shared memory.  If its owner dies holding it, the
 * next locker gets EOWNERDEAD from the kernel; cq_mutex_lock() then marks
 * the mutex consistent and returns CQ_LOCK_RECOVERED, and the caller must
 * treat the data it guards as possibly half-updated (by construction our
 * structures publish with single atomic stores, so "repair" means at most a
 * leak scan).  The owner pid is recorded next to the lock so the master and
 * the checker can tell who held it.
 *
 * Never take a cq_mutex_t on the per-message path, and never in the master
 * except from the checker/reaper.
 */
#ifndef CQ_SHM_LOCK_H
#define CQ_SHM_LOCK_H

#include <pthread.h>
#include <stdint.h>

#include "core/defs.h"

#define CQ_LOCK_RECOVERED 1

typedef struct cq_mutex {
	pthread_mutex_t m;
	uint32_t owner_pid; /* 0 when free */
	uint32_t recoveries;
} cq_mutex_t;

/* Initialise as PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST. 0 / -1. */
int cq_mutex_init(cq_mutex_t *mx);
/* 0, or CQ_LOCK_RECOVERED when the previous owner died holding it. */
int cq_mutex_lock(cq_mutex_t *mx);
/* 0, CQ_LOCK_RECOVERED, or CQ_AGAIN (held by someone else). */
int cq_mutex_trylock(cq_mutex_t *mx);
void cq_mutex_unlock(cq_mutex_t *mx);

/* The pid recorded as owner (0: free, or not recorded yet).  A hint: see
 * lock.c. */
uint32_t cq_mutex_owner(const cq_mutex_t *mx);
/*
 * True when the recorded owner no longer exists (call after waitpid(), a
 * zombie still exists).  Reapers lock such a mutex at once, so that its
 * EOWNERDEAD recovery (and the repair the module does then) happens in the
 * master instead of in the next worker that needs it.
 */
int cq_mutex_owner_dead(const cq_mutex_t *mx);

#endif /* CQ_SHM_LOCK_H */
