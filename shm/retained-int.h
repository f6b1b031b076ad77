/*
 * retained-int.h — the retained store's shared-memory layout, for
 * retained.c, retained-walk.c and retained-check.c only.  See retained.c
 * for the design and the invariants.
 */
#ifndef CQ_SHM_RETAINED_INT_H
#define CQ_SHM_RETAINED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/defs.h"
#include "shm/lock.h"
#include "shm/region.h"
#include "shm/trie.h"

#define RET_MAGIC UINT64_C(0x4e49415452514d43) /* "CMQRTAIN" */

typedef struct ret_node {
	cq_trie_node_t h;
	cq_relptr(cq_msg_t) msg; /* S1: the retained message, or NULL */
	/* level text follows at RET_TEXT */
} ret_node_t;

#define RET_TEXT ((size_t)20)
CQ_STATIC_ASSERT(offsetof(ret_node_t, msg) + 4 == RET_TEXT,
	"retained level text follows the fields");

typedef struct ret_shard {
	cq_mutex_t lock;
	uint64_t kids; /* first levels of this shard (trie.h) */
	uint64_t messages; /* S4: statistics */
	uint64_t nodes;
	uint64_t recoveries;
} __attribute__((aligned(CQ_CACHELINE))) ret_shard_t;

typedef struct ret_area {
	uint64_t magic;
	uint64_t seed; /* level hashes */
	uint32_t nshards; /* a power of two */
	uint32_t pad[3];
	ret_shard_t shard[];
} ret_area_t;

extern ret_area_t *cq_retained_area;

/* Delete the retained message of 'topic' if it still is 'expect'
 * (CQ_OFF_NULL: whatever it is).  Takes the shard lock.  0 or -1. */
int cq_retained_delete_if(const char *topic, size_t len, cq_off_t expect);

void cq_retained_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep);

#endif /* CQ_SHM_RETAINED_INT_H */
