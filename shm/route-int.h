/*
 * route-int.h — the route trie's shared-memory layout, for route.c and
 * route-check.c only.  See route.c for the design and the invariants.
 */
#ifndef CQ_SHM_ROUTE_INT_H
#define CQ_SHM_ROUTE_INT_H

#include <stdint.h>

#include "core/defs.h"
#include "shm/lock.h"
#include "shm/region.h"
#include "shm/trie.h"

#define ROUTE_MAGIC UINT64_C(0x4554554f5251434d) /* "MCQROUTE" */

/* Positions on a node: the filter ending there, and "<node>/#". */
#define ROUTE_EXACT 0
#define ROUTE_MULTI 1

/* After the literal shards: the root '+' subtree and root '#'. */
#define ROUTE_SHARD_PLUS   0u
#define ROUTE_SHARD_HASH   1u
#define ROUTE_EXTRA_SHARDS 2u

typedef struct route_group {
	uint64_t key; /* cq_topic_share_key(group, filter) */
	uint64_t workers; /* R2: one atomic store under the shard lock */
} route_group_t;

/* Immutable once published, except the workers words (R2). */
typedef struct route_groups {
	uint32_t n;
	uint32_t pad[3];
	route_group_t g[];
} route_groups_t;

typedef struct route_node {
	cq_trie_node_t h;
	cq_relptr(route_node_t) plus;
	cq_relptr(route_groups_t) groups[2]; /* [EXACT], [MULTI] */
	uint32_t pad;
	uint64_t workers[2]; /* [EXACT], [MULTI] slot bitmaps */
	/* level text follows */
} route_node_t;

#define ROUTE_TEXT sizeof(route_node_t)
CQ_STATIC_ASSERT(sizeof(route_node_t) == 48, "route node is 48 bytes");

typedef struct route_shard {
	cq_mutex_t lock;
	cq_relptr(cq_trie_tab_t) kids; /* root-level children of this shard */
	uint32_t pad;
	uint64_t nodes; /* R6: statistics */
	uint64_t filters;
	uint64_t recoveries;
} __attribute__((aligned(CQ_CACHELINE))) route_shard_t;

typedef struct route_area {
	uint64_t magic;
	uint64_t seed; /* level hashes */
	uint32_t nshards; /* literal shards, a power of two */
	uint32_t nworkers;
	uint64_t pad;
	/* root.plus: root '+' (its shard); root MULTI: "#" (its shard) */
	route_node_t root __attribute__((aligned(CQ_SHM_GRANULE)));
	route_shard_t shard[]; /* nshards + ROUTE_EXTRA_SHARDS */
} route_area_t;

/* This process's view of the area (set by the module's use()). */
extern route_area_t *cq_route_area;

void cq_route_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep);

#endif /* CQ_SHM_ROUTE_INT_H */
