/*
 * route.h — the shared route trie: topic filter -> worker slots.
 *
 * First level of the two-level routing (DESIGN.md §2): for each topic
 * filter, the set of worker slots (a 64-bit bitmap) that have at least one
 * local subscriber, and for each shared-subscription group
 * ("$share/<group>/<filter>") the slots that have at least one member.  A
 * publish matches its topic here once, then crosses to each interested
 * worker once; each worker matches its private trie (workers/subtrie.h).
 *
 * Readers (every publish) take no lock and do no atomic read-modify-write:
 * they must be registered with QSBR and must not keep anything from a match
 * across a quiescent point.  Writers (a worker's first/last local
 * subscriber of a filter, cold) take one robust mutex per shard of the
 * first filter level.
 *
 * Worker slots must be < CQ_MAX_WORKERS (64).
 */
#ifndef CQ_SHM_ROUTE_H
#define CQ_SHM_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"
#include "shm/topic_match.h"

#define CQ_ROUTE_INLINE_PICKS 8u

/* The worker chosen to serve one shared group for one message. */
typedef struct cq_route_pick {
	uint64_t key; /* cq_topic_share_key(group, filter) */
	uint32_t worker;
	uint32_t reserved;
} cq_route_pick_t;

/* What a topic matched.  Initialise once, reuse, never copy. */
typedef struct cq_route_result {
	uint64_t workers; /* OR of the plain subscribers' slots */
	uint32_t npicks; /* shared groups matched, one chosen slot each */
	uint32_t cap;
	cq_route_pick_t *picks;
	cq_route_pick_t inline_picks[CQ_ROUTE_INLINE_PICKS];
} cq_route_result_t;

typedef struct cq_route_stats {
	uint64_t nodes; /* trie nodes (wildcard filters' levels) */
	uint64_t entries; /* filter index entries (route.c) */
	uint64_t filters; /* filter positions or groups with a worker */
	uint64_t recoveries; /* shard locks recovered from a dead writer */
} cq_route_stats_t;

void cq_route_result_init(cq_route_result_t *r);
void cq_route_result_free(cq_route_result_t *r);

/* The level-hash seed of the route trie: split topics for
 * cq_route_match() (and a private trie sharing the split) with it. */
uint64_t cq_route_seed(void);

/*
 * Match the split topic 't' (validated topic name, split with
 * cq_route_seed()).  r->workers gets the slots with plain subscribers;
 * r->picks one chosen slot per matching shared group, round-robin over
 * the group's slots with a cursor private to this process.  Lock-free.
 * 0, or -1 with errno ENOMEM when more groups matched than private memory
 * could hold (r is then incomplete).
 */
int cq_route_match(const cq_topic_levels_t *t, cq_route_result_t *r);

/*
 * Record that worker 'slot' has a local subscriber for 'filter' (validated,
 * may be "$share/<group>/<filter>").  Idempotent.  Takes the filter's shard
 * lock.  0, or -1 with errno ENOMEM (arena full: SUBACK 0x97) or EINVAL
 * (slot out of range); on failure nothing changed.
 */
int cq_route_add(const char *filter, size_t len, unsigned slot);

/*
 * Record that worker 'slot' has no local subscriber for 'filter' any more;
 * prunes nodes left empty.  Idempotent, never fails for want of memory.
 * Takes the filter's shard lock.  0, or -1 with errno EINVAL.
 */
int cq_route_remove(const char *filter, size_t len, unsigned slot);

/* 1 if 'slot' is recorded for 'filter', else 0 (lock-free; tests, tools). */
int cq_route_has(const char *filter, size_t len, unsigned slot);

/*
 * Clear 'slot' from every filter (group_key 0) and shared group (group_key
 * = cq_topic_share_key(group, filter)) for which keep(arg, filter, len,
 * group_key) returns 0; every one when keep is NULL.  A respawned worker
 * calls this after rebuilding its private trie from its sessions, with keep
 * = cq_subtrie_has(), so filters its predecessor recorded that no session
 * holds any more stop being routed to it.  Takes each shard lock in turn.
 * Returns the number of entries cleared, or -1 with errno ENOMEM.
 */
typedef int (*cq_route_keep_fn)(
	void *arg, const char *filter, size_t len, uint64_t group_key);
long cq_route_purge_slot(unsigned slot, cq_route_keep_fn keep, void *arg);

void cq_route_stats(cq_route_stats_t *s_r);

extern const cq_shm_module_t cq_route_module;

#endif /* CQ_SHM_ROUTE_H */
