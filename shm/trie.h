/*
 * trie.h — the node and children-table core of the shared tries.
 *
 * The route trie (filters, shm/route.c) and the retained store (topics,
 * shm/retained.c) are both tries in the shared region read without locks.
 * They share this core: a node header (level hash and text, parent, the
 * offset of its children table) and the children table itself.
 *
 * Children table: an ordered linear-probing table of 64-bit slots
 * {level hash:32, child offset:32}.  A slot's home is the top bits of the
 * hash scaled to the capacity (so homes are monotone in the hash), there is
 * no wrap-around (a short tail follows the home range), and the non-empty
 * slots are kept sorted by key = (hash, level text).  Hence:
 *
 *   - lookup starts at the home slot and stops at an empty slot or at a
 *     larger hash: one or two cache lines;
 *   - iteration in key order is iteration in slot order, and the order does
 *     not depend on the capacity, so the retained store can resume a walk
 *     "after key K" even when the table was rebuilt meanwhile.
 *
 * Invariants (writers hold the owning trie's shard lock):
 *   T1 every slot is EMPTY (0), a TOMBSTONE (hash, offset 1: a removed
 *      key, keeping its hash for ordering) or a live (hash, child) pair;
 *   T2 live keys are strictly increasing in slot order and none is
 *      below the hash of a tombstone before it (a reader may stop at the
 *      first larger hash, tombstones included); every live key sits at or
 *      after its home slot, with no EMPTY slot between its home and
 *      itself.  (A key placed into a tombstone's slot may be larger than
 *      tombstones after it: those only ever precede larger live keys.);
 *   T3 a slot changes by one release store of a complete word; inserting
 *      into the middle shifts a run right, writing from its right end, so
 *      that a concurrent left-to-right reader sees every key at least once
 *      (possibly twice) and never out of order;
 *   T4 a table is never resized in place: growth, shrinking and tombstone
 *      clean-up build a new table, publish its offset in the node's kids
 *      word (release) and retire the old one to QSBR;
 *   T5 a child is fully built before the slot naming it is published.
 *
 * Readers: load the kids word with cq_off_load() and slots with acquire
 * loads, never hold offsets across a quiescent point.
 */
#ifndef CQ_SHM_TRIE_H
#define CQ_SHM_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shm/lock.h"
#include "shm/region.h"
#include "shm/relptr.h"
#include "shm/topic_match.h"

#define CQ_TRIE_TOMB    ((cq_off_t)1)
#define CQ_TRIE_MIN_CAP 2u

typedef struct cq_trie_node {
	uint32_t hash; /* hash of the level text (the trie's seed) */
	uint32_t len; /* level text bytes, stored at the trie's text offset */
	cq_relptr(cq_trie_node_t) parent; /* CQ_OFF_NULL under the root */
	cq_relptr(cq_trie_tab_t) kids; /* children table, or NULL */
} cq_trie_node_t;

typedef struct cq_trie_tab {
	uint32_t cap; /* home range, power of two */
	uint32_t nslots; /* cap + tail */
	uint32_t live; /* live children (writers) */
	uint32_t used; /* live + tombstones (writers) */
	uint64_t slot[];
} cq_trie_tab_t;

/* Slots after the home range: runs may spill there (no wrap-around). */
static inline uint32_t
cq_trie_tail(uint32_t cap)
{
	return cap / 8 + 1;
}

static inline uint32_t
cq_trie_slot_hash(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

static inline cq_off_t
cq_trie_slot_off(uint64_t w)
{
	return (cq_off_t)w;
}

static inline bool
cq_trie_slot_live(uint64_t w)
{
	return cq_trie_slot_off(w) > CQ_TRIE_TOMB;
}

static inline uint32_t
cq_trie_home(uint32_t hash, uint32_t cap)
{
	return (uint32_t)(((uint64_t)hash * cap) >> 32);
}

static inline uint64_t
cq_trie_slot_load(const cq_trie_tab_t *t, uint32_t i)
{
	return __atomic_load_n(&t->slot[i], __ATOMIC_ACQUIRE);
}

static inline const char *
cq_trie_text(const cq_trie_node_t *n, size_t text_off)
{
	return (const char *)n + text_off;
}

/*
 * The child for level (hash, s, len) in the table at 'tab' (an offset
 * loaded by the caller), or NULL.  Lock-free; 'text_off' is where the
 * trie's node type keeps its level text.
 */
static inline const cq_trie_node_t *
cq_trie_child(cq_off_t tab, uint32_t hash, const char *s, uint32_t len,
	size_t text_off)
{
	const cq_trie_tab_t *t = CQ_PTR(const cq_trie_tab_t, tab);
	if (t == NULL)
		return NULL;
	for (uint32_t i = cq_trie_home(hash, t->cap); i < t->nslots; i++) {
		uint64_t w = cq_trie_slot_load(t, i);
		uint32_t h = cq_trie_slot_hash(w);
		if (w == 0 || h > hash)
			return NULL;
		if (h == hash && cq_trie_slot_live(w)) {
			const cq_trie_node_t *c = CQ_PTR(
				const cq_trie_node_t, cq_trie_slot_off(w));
			if (c->len == len &&
				memcmp(cq_trie_text(c, text_off), s, len) == 0)
				return c;
		}
	}
	return NULL;
}

/* Order of keys: by hash, then by text. */
static inline int
cq_trie_key_cmp(uint32_t ha, const char *a, uint32_t la, uint32_t hb,
	const char *b, uint32_t lb)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	int c = memcmp(a, b, la < lb ? la : lb);
	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

/*
 * First slot index whose live key is greater than (hash, s, len) — or
 * greater or equal when 'inclusive' — in table 't' (for ordered resumes).
 * Lock-free; returns t->nslots when there is none.
 */
uint32_t cq_trie_seek(const cq_trie_tab_t *t, uint32_t hash, const char *s,
	uint32_t len, bool inclusive, size_t text_off);

/*
 * Writers (holding the trie's shard lock).  'kids' is the node's (or
 * shard's) kids word.  Insert publishes 'child' (fully built, not yet
 * reachable) under key (hash, text of child), possibly rebuilding the table
 * (the old one is retired).  0, or -1 with errno ENOMEM (nothing changed).
 */
int cq_trie_insert(cq_off_t *kids, cq_off_t child, size_t text_off);

/*
 * Remove 'child' from the table of 'kids' (a tombstone; a table left
 * empty is unpublished and retired; a sparse one is rebuilt smaller when
 * memory allows).  The caller retires the child itself.
 */
void cq_trie_remove(cq_off_t *kids, cq_off_t child, size_t text_off);

/*
 * Allocate a node of 'node_size' bytes (header + the trie's fields, the
 * text following at 'node_size') holding level (hash, s, len), zeroed,
 * with 'parent'.  CQ_OFF_NULL when the arena is full.
 */
cq_off_t cq_trie_node_new(size_t node_size, cq_off_t parent, uint32_t hash,
	const char *s, uint32_t len);

/*
 * Build nodes of 'node_size' bytes for levels [i, end) of 'lv', privately
 * (nothing is published): the first gets parent 'parent'; each next is
 * the child of the one before, in its kids table or, for a "+" level when
 * plus_off != 0, in the cq_off_t at byte plus_off of the node.  *first_r
 * and *last_r get the ends.  0, or -1 with errno ENOMEM (nothing left
 * allocated).
 */
int cq_trie_chain_build(const cq_topic_levels_t *lv, uint32_t i, uint32_t end,
	size_t node_size, cq_off_t parent, size_t plus_off, cq_off_t *first_r,
	cq_off_t *last_r);

/*
 * Free a chain built by cq_trie_chain_build that was never published,
 * calling extra(node) first on each node (payload objects), if not NULL.
 */
void cq_trie_chain_free(
	cq_off_t first, size_t plus_off, void (*extra)(cq_trie_node_t *n));

/*
 * Lock a trie shard's mutex.  When the previous holder died inside, count
 * it in *recoveries and log once: by T3..T5 the trie is consistent, and
 * what the dead writer had allocated but not published is left for the
 * checker to count.
 */
void cq_trie_lock(
	cq_mutex_t *mx, uint64_t *recoveries, const char *trie, unsigned shard);

/* Reaper helper: recover shard locks whose holder is dead. */
void cq_trie_reap_locks(
	cq_mutex_t *mx, size_t stride, unsigned n, uint64_t *recoveries);

/*
 * Checker helper: validate the table at 'tab' (bounds, T1, T2 ordering,
 * live count) and call fn(arg, child) for each live child.  Returns the
 * number of problems found (described through *why_r).
 */
unsigned cq_trie_tab_check(const char *base, size_t region_size, cq_off_t tab,
	size_t text_off, void (*fn)(void *arg, cq_off_t child), void *arg,
	const char **why_r);

/*
 * Checker: walk whole trees (callers hold the shard lock or the region is
 * quiescent).  Set the inputs, call cq_trie_check_tab/_node per root, read
 * nodes/empty (accumulated), then cq_trie_check_done().  Every node and
 * table reached is validated (bounds, parent link, level hash, T1/T2) and
 * marked for the arena's leak count; node_fn checks the trie's own fields
 * and returns true when the node holds nothing (for the empty count).
 */
typedef struct cq_trie_check {
	/* inputs */
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	const char *module;
	size_t text_off; /* node size: where the level text starts */
	size_t plus_off; /* byte offset of a '+' child word, or 0 */
	uint64_t seed;
	uint64_t budget; /* nodes left to visit (cycle guard) */
	bool (*node_fn)(void *arg, cq_off_t off, const cq_trie_node_t *n);
	void *arg;
	/* results */
	uint64_t nodes;
	uint64_t empty;
	/* private */
	struct {
		cq_off_t node, parent;
	} * stack;
	uint32_t sp, cap;
	cq_off_t cur_parent;
	uint32_t shard_mask, shard;
	int oom;
} cq_trie_check_t;

/* The trees under the table 'tab', whose nodes have parent 'parent' and
 * (unless shard_mask is UINT32_MAX) hash & shard_mask == shard. */
void cq_trie_check_tab(cq_trie_check_t *c, cq_off_t tab, cq_off_t parent,
	uint32_t shard_mask, uint32_t shard);
/* The tree rooted at 'node', whose parent is 'parent'. */
void cq_trie_check_node(cq_trie_check_t *c, cq_off_t node, cq_off_t parent);
void cq_trie_check_done(cq_trie_check_t *c);

/* Writers: does the table at 'tab' (maybe NULL) hold no live child? */
bool cq_trie_tab_empty(cq_off_t tab);

/* Bytes of the table at 'tab' (stats). */
size_t cq_trie_tab_bytes(cq_off_t tab);

#endif /* CQ_SHM_TRIE_H */
