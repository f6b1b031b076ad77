/*
 * route-int.h — the route trie's shared-memory layout, for route.c and
 * route-check.c only.  See route.c for the design and the invariants.
 */
#ifndef CQ_SHM_ROUTE_INT_H
#define CQ_SHM_ROUTE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/defs.h"
#include "shm/lock.h"
#include "shm/region.h"
#include "shm/topic_index.h"
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

/*
 * An entry of a shard's filter index (X1..X6 in route.c): an exact
 * filter (in the shard's index table), a single-'+' one or a literal one
 * ending in '#' (its wild table; cq_topic_index_kind).  h.hash is the whole-filter hash of the split
 * (cq_topic_levels_t.hash), h.len the filter's length, h.value the slot
 * bitmap of its plain subscribers (R2); the filter text follows.
 */
typedef struct route_entry {
	cq_trie_node_t h;
	cq_relptr(route_groups_t) groups;
} route_entry_t;

#define ROUTE_ENTRY_TEXT ((size_t)20)
CQ_STATIC_ASSERT(offsetof(route_entry_t, groups) + 4 == ROUTE_ENTRY_TEXT,
	"route filter text follows the fields");

/*
 * X6: a Bloom filter (one bit per key, topic_index.h) over the keys of a
 * shard's wildcard entries ('+' and '#'): a probe whose bit is clear
 * finds nothing and is skipped.  Its size never changes and bits are only
 * ever set in place; it is replaced (built from the index, published, the
 * old one retired) when it fills up or half its keys are gone.
 */
typedef struct route_bloom {
	uint32_t log2; /* 1 << log2 bits */
	uint32_t pad[3];
	uint64_t w[];
} route_bloom_t;

/* Readers use kids, index, shapes, wild and bloom: the first two lines. */
typedef struct route_shard {
	cq_mutex_t lock;
	uint64_t kids; /* root-level children of this shard (trie.h) */
	uint64_t index; /* filter index, exact entries (children: trie.h) */
	cq_topic_shapes_t shapes; /* X4: the wildcard probes to make */
	uint64_t wild; /* filter index, wildcard entries */
	cq_relptr(route_bloom_t) bloom; /* X6, or none */
	uint32_t bloom_keys; /* keys it holds: set at its build, +1 per add */
	uint32_t bloom_stale; /* removed since its build (writers) */
	uint64_t nodes; /* R6: statistics */
	uint64_t entries;
	uint64_t filters;
	uint64_t recoveries;
	cq_topic_shape_counts_t counts; /* X4 (writers) */
} __attribute__((aligned(CQ_CACHELINE))) route_shard_t;

CQ_STATIC_ASSERT(offsetof(route_shard_t, index) + 8 <= CQ_CACHELINE,
	"a reader's words of a shard share one line");
CQ_STATIC_ASSERT(offsetof(route_shard_t, shapes) == CQ_CACHELINE &&
		offsetof(route_shard_t, bloom) + 4 <= 2 * CQ_CACHELINE,
	"the shapes, wild and bloom words are on the shard's second line");

typedef struct route_area {
	uint64_t magic;
	uint64_t seed; /* level hashes */
	uint32_t nshards; /* literal shards, a power of two */
	uint32_t nworkers;
	uint32_t h_plus; /* hashes of the levels "+" and "#" (probes) */
	uint32_t h_hash;
	/* root.plus: root '+' (its shard); root MULTI: "#" (its shard) */
	route_node_t root; /* its h.kids is unused: see the shards */
	char root_text[16];
	route_shard_t shard[]; /* nshards + ROUTE_EXTRA_SHARDS */
} route_area_t;

/* This process's view of the area (set by the module's use()). */
extern route_area_t *cq_route_area;

static inline route_node_t *
route_node_at(cq_off_t off)
{
	return CQ_PTR(route_node_t, off);
}

static inline route_entry_t *
route_entry_at(cq_off_t off)
{
	return CQ_PTR(route_entry_t, off);
}

/*
 * What one filter position holds: the plain subscribers' slot bitmap and
 * the shared groups' table.  A node has two (EXACT, MULTI), an index
 * entry one.
 */
typedef struct route_pay {
	uint64_t *workers;
	cq_off_t *groups;
} route_pay_t;

static inline route_pay_t
route_entry_pay(route_entry_t *e)
{
	return (route_pay_t){&e->h.value, &e->groups};
}

/* route.c, for the other route files.  Writers hold the shard lock. */
route_shard_t *cq_route_shard_lock(unsigned shard);
/* Set 'bit' (key 0) or group 'key''s bit: 1 if the filter or group had
 * no worker before, 0 if it had, -1 ENOMEM (nothing changed). */
int cq_route_pay_add(route_pay_t p, uint64_t key, uint64_t bit);
/* Clear it: 1 if the filter or group lost its last worker, else 0. */
int cq_route_pay_remove(route_pay_t p, uint64_t key, uint64_t bit);
bool cq_route_pay_empty(route_pay_t p);
void cq_route_remove_locked(route_shard_t *s, const cq_topic_levels_t *lv,
	uint64_t key, uint64_t bit);

/* route-index.c: the filter index (X1..X6).  'kind' is
 * cq_topic_index_kind(lv), not CQ_TOPIC_NOT_INDEXED. */
route_entry_t *cq_route_index_find(const cq_topic_levels_t *lv, uint32_t kind);
int cq_route_index_add_locked(route_shard_t *s, const cq_topic_levels_t *lv,
	uint32_t kind, uint64_t key, uint64_t bit);
void cq_route_index_remove_locked(route_shard_t *s, const cq_topic_levels_t *lv,
	uint32_t kind, uint64_t key, uint64_t bit);

void cq_route_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep);

#endif /* CQ_SHM_ROUTE_INT_H */
