/*
 * arena.h — the size-class slab allocator inside the shared region.
 *
 * Every variable-size shm object (trie nodes and child tables, session
 * payloads, messages, retained entries) comes from here.  Small objects are
 * served from size classes (16 B .. 4 KiB) carved out of 64 KiB
 * superblocks; each worker slot has a magazine per class in shm (a small
 * stack of free objects refilled and drained in batches under the class
 * lock), so the common alloc/free touches no shared lock.  Larger objects
 * come from a page-run allocator.  Magazines live in shm so that the master
 * can return a dead worker's cached objects (cq_arena_reap via
 * cq_shm_reap).
 *
 * Allocation failure is a normal result (CQ_OFF_NULL): callers turn it into
 * MQTT "Quota exceeded" (0x97) or "Server busy" (0x89) and keep serving.
 */
#ifndef CQ_SHM_ARENA_H
#define CQ_SHM_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"

#define CQ_ARENA_MAX_SMALL 4096u

typedef struct cq_arena_class_stats {
	uint32_t object_size;
	uint64_t in_use; /* objects handed out */
	uint64_t superblocks;
	uint64_t alloc_failures;
} cq_arena_class_stats_t;

typedef struct cq_arena_stats {
	uint64_t total_bytes; /* bytes the arena manages */
	uint64_t used_bytes; /* bytes in live objects, incl. class rounding */
	uint64_t large_in_use;
	uint64_t alloc_failures;
	unsigned nclasses;
	cq_arena_class_stats_t classes[32];
} cq_arena_stats_t;

/*
 * Allocate 'size' bytes (16-byte aligned, contents undefined) for this
 * process's slot (cq_shm_slot).  Returns CQ_OFF_NULL when the arena is full.
 * Safe from any process, concurrently.
 */
cq_off_t cq_arena_alloc(size_t size);
/* As cq_arena_alloc, zero-filled. */
cq_off_t cq_arena_zalloc(size_t size);
/* Free an object from cq_arena_alloc; CQ_OFF_NULL is ignored. */
void cq_arena_free(cq_off_t off);
/* Usable size of an allocated object (>= the size asked for). */
size_t cq_arena_usable_size(cq_off_t off);
/* Return this slot's magazines to the shared classes (worker exit). */
void cq_arena_flush_magazines(void);
void cq_arena_stats(cq_arena_stats_t *stats_r);

/*
 * For the checker and tools, on a quiescent region only (nothing else
 * allocating): call fn for every live object (handed out and not sitting in
 * a magazine), leaked ones included.
 */
typedef void (*cq_arena_visit_fn)(cq_off_t off, size_t size, void *arg);
void cq_arena_foreach(cq_shm_t *shm, cq_arena_visit_fn fn, void *arg);

/*
 * During a quiescent cq_shm_check, a module declares that it owns (can
 * reach) object 'off'.  Marking validates the object: a marked offset that
 * is not a live object (a use after free) is counted as an error and -1 is
 * returned.  Live objects nobody marked are counted as leaked (and freed
 * with CQ_SHM_CHECK_REPAIR) when every module marks (CQ_SHM_MOD_MARKS).
 * Outside a quiescent check this does nothing and returns 0.
 */
int cq_arena_mark(cq_shm_t *shm, cq_shm_report_t *rep, cq_off_t off);

extern const cq_shm_module_t cq_arena_module;

#endif /* CQ_SHM_ARENA_H */
