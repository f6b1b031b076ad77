/*
 * route-int.h — the route trie's shared-memory layout, for route.c and
 * route-check.c only.  See route.c for the design and the invariants.
 */
#ifndef CQ_SHM_ROUTE_INT_H
#define CQ_SHM_ROUTE_INT_H

#include <stddef.h>
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

/* The level text starts right after the fields (ROUTE_TEXT), so that a
 * node with a level of up to 4 bytes fits 48 bytes. */
typedef struct route_node {
	cq_trie_node_t h;
	uint64_t workers[2]; /* [EXACT], [MULTI] slot bitmaps */
	cq_relptr(route_node_t) plus;
	cq_relptr(route_groups_t) groups[2]; /* [EXACT], [MULTI] */
} route_node_t;

#define ROUTE_TEXT ((size_t)44)
CQ_STATIC_ASSERT(offsetof(route_node_t, groups) + 8 == ROUTE_TEXT,
	"route level text follows the fields");

typedef struct route_shard {
	cq_mutex_t lock;
	uint64_t kids; /* root-level children of this shard (trie.h) */
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
	route_node_t root; /* its h.kids is unused: see the shards */
	char root_text[16];
	route_shard_t shard[]; /* nshards + ROUTE_EXTRA_SHARDS */
} route_area_t;

/* This process's view of the area (set by the module's use()). */
extern route_area_t *cq_route_area;

void cq_route_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep);

#endif /* CQ_SHM_ROUTE_INT_H */
