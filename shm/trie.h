/*
 * trie.h — the node and children core of the shared tries.
 *
 * The route trie (filters, shm/route.c) and the retained store (topics,
 * shm/retained.c) are both tries in the shared region read without locks.
 * They share this core: a node header (level hash and length, the kids
 * word) with the level text at a trie-chosen offset, and the children.
 *
 * Kids word: 64 bits {offset:32, shape:8, tag:24}, published with one
 * release store.  0: no children.  Shape CQ_TRIE_SINGLE: the offset is the
 * only child itself and the tag the top 24 bits of its hash (most nodes
 * below the first levels have one child: this saves a table, a cache
 * miss, and the child's miss when a lookup is for another level).  Otherwise shape = log2 of
 * the capacity of the children table at the offset, so a reader goes
 * straight to the home slot without touching the table header.
 *
 * Children table: an ordered linear-probing table of 64-bit slots
 * {level hash:32, child offset:32}.  A slot's home is the top bits of the
 * hash scaled to the capacity (so homes are monotone in the hash), there is
 * no wrap-around (a short tail follows the home range), and the non-empty
 * slots are kept sorted by key = (hash, level text).  Hence:
 *
 *   - lookup starts at the home slot and stops at an empty slot or at a
 *     larger hash: usually one cache line;
 *   - iteration in key order is iteration in slot order, and the order does
 *     not depend on the capacity (nor on the single-child form), so the
 *     retained store can resume a walk "after key K" even when the
 *     children were rebuilt meanwhile.
 *
 * Invariants (writers hold the owning trie's shard lock):
 *   T1 every slot is EMPTY (0), a TOMBSTONE (hash, offset 1: a removed
 *      key, keeping its hash for ordering) or a live (hash, child) pair;
 *   T2 live keys are strictly increasing in slot order and none is
 *      below the hash of a tombstone before it (a reader may stop at the
 *      first larger hash, tombstones included); every live key sits at or
 *      after its home slot, with no EMPTY slot between its home and
 *      itself.  (A key placed into a tombstone's slot may be larger than
 *      tombstones after it: those only ever precede larger live keys.)
 *   T3 a slot changes by one release store of a complete word; inserting
 *      into the middle shifts a run right, writing from its right end, so
 *      that a concurrent left-to-right reader sees every key at least once
 *      (possibly twice) and never out of order;
 *   T4 a table is never resized in place: growth, shrinking, tombstone
 *      clean-up and the single/table forms are changed by building the new
 *      form, publishing the kids word (release) and retiring the old
 *      table to QSBR;
 *   T5 a child is fully built before the word naming it is published.
 *
 * Nodes have no parent link: writers walk down from the root and keep the
 * path.  Readers never hold offsets across a quiescent point.
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
#define CQ_TRIE_MIN_CAP 4u
#define CQ_TRIE_SINGLE  0xffu

/*
 * A node.  The children tables also serve as the filter index of the
 * route trie (route-index.c): there a "node" is an entry whose text is a
 * whole filter and whose hash is the whole-text hash of the split
 * (cq_topic_levels_t.hash).  An entry has no children, so it keeps its
 * own 64-bit value in the kids word's place; the table code reads only
 * hash, len and the text.
 */
typedef struct cq_trie_node {
	uint32_t hash; /* hash of the level text (the trie's seed) */
	uint32_t len; /* level text bytes, stored at the trie's text offset */
	union {
		uint64_t kids; /* a node: {offset, shape}, see above */
		uint64_t value; /* an index entry: the index's own word */
	};
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

static inline uint64_t
cq_trie_kids_load(const uint64_t *word)
{
	return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline cq_off_t
cq_trie_kids_off(uint64_t k)
{
	return (cq_off_t)k;
}

static inline unsigned
cq_trie_kids_shape(uint64_t k)
{
	return (unsigned)(k >> 32) & 0xffu;
}

static inline uint64_t
cq_trie_kids_word(cq_off_t off, unsigned shape)
{
	return off == CQ_OFF_NULL ? 0 : (uint64_t)shape << 32 | off;
}

/* The kids word naming 'child' (whose hash is 'hash') as the only one. */
static inline uint64_t
cq_trie_kids_single(cq_off_t child, uint32_t hash)
{
	return child == CQ_OFF_NULL ? 0
				    : (uint64_t)(hash >> 8) << 40 |
			(uint64_t)CQ_TRIE_SINGLE << 32 | child;
}

/* Could the single child of kids word 'k' have hash 'hash'? */
static inline bool
cq_trie_kids_tag_ok(uint64_t k, uint32_t hash)
{
	return (uint32_t)(k >> 40) == hash >> 8;
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

static inline const char *
cq_trie_text(const cq_trie_node_t *n, size_t text_off)
{
	return (const char *)n + text_off;
}

static inline bool
cq_trie_node_is(const cq_trie_node_t *c, uint32_t hash, const char *s,
	uint32_t len, size_t text_off)
{
	return c->hash == hash && c->len == len &&
		cq_topic_mem_eq(cq_trie_text(c, text_off), s, len);
}

/*
 * The run of a table (kids word 'kids', not single) where children with
 * hash 'hash' are: from the home slot to an EMPTY slot or a larger hash
 * (T2).  cq_trie_run_next gives its live children with that hash, in
 * order, then NULL.
 */
typedef struct cq_trie_run {
	const uint64_t *slot;
	uint32_t i, end, hash;
} cq_trie_run_t;

static inline void
cq_trie_run_init(cq_trie_run_t *r, uint64_t kids, uint32_t hash)
{
	uint32_t cap = 1u << cq_trie_kids_shape(kids);
	r->slot = CQ_PTR(const cq_trie_tab_t, cq_trie_kids_off(kids))->slot;
	r->i = cq_trie_home(hash, cap);
	r->end = cap + cq_trie_tail(cap);
	r->hash = hash;
}

static inline const cq_trie_node_t *
cq_trie_run_next(cq_trie_run_t *r)
{
	while (r->i < r->end) {
		uint64_t w = __atomic_load_n(
			&r->slot[r->i++], __ATOMIC_ACQUIRE);
		uint32_t h = cq_trie_slot_hash(w);
		if (w == 0 || h > r->hash) {
			r->i = r->end;
			return NULL;
		}
		if (h == r->hash && cq_trie_slot_live(w))
			return CQ_PTR(
				const cq_trie_node_t, cq_trie_slot_off(w));
	}
	return NULL;
}

/*
 * Scan the table of kids word 'kids' (not single) for a live child with
 * hash 'hash' and text (s, len) — or, with s NULL, for the first one with
 * that hash, without reading it.
 */
static inline const cq_trie_node_t *
cq_trie_scan(uint64_t kids, uint32_t hash, const char *s, uint32_t len,
	size_t text_off)
{
	cq_trie_run_t r;
	cq_trie_run_init(&r, kids, hash);
	for (const cq_trie_node_t *c; (c = cq_trie_run_next(&r)) != NULL;)
		if (s == NULL || cq_trie_node_is(c, hash, s, len, text_off))
			return c;
	return NULL;
}

/*
 * The child for level (hash, s, len) of a node whose kids word (loaded by
 * the caller) is 'kids', or NULL.  Lock-free; 'text_off' is where the
 * trie's node type keeps its level text.
 */
static inline const cq_trie_node_t *
cq_trie_child(uint64_t kids, uint32_t hash, const char *s, uint32_t len,
	size_t text_off)
{
	if (kids == 0)
		return NULL;
	if (cq_trie_kids_shape(kids) != CQ_TRIE_SINGLE)
		return cq_trie_scan(kids, hash, s, len, text_off);
	const cq_trie_node_t *c = CQ_PTR(
		const cq_trie_node_t, cq_trie_kids_off(kids));
	return cq_trie_kids_tag_ok(kids, hash) &&
			cq_trie_node_is(c, hash, s, len, text_off)
		? c
		: NULL;
}

/*
 * Start loading what a lookup of 'hash' in 'kids' reads first: the home
 * slot of a table, or the single child when its tag fits.
 */
static inline void
cq_trie_prefetch(uint64_t kids, uint32_t hash)
{
	if (kids == 0)
		return;
	const char *p = CQ_PTR(const char, cq_trie_kids_off(kids));
	unsigned shape = cq_trie_kids_shape(kids);
	if (shape != CQ_TRIE_SINGLE)
		__builtin_prefetch(p + sizeof(cq_trie_tab_t) +
			sizeof(uint64_t) * cq_trie_home(hash, 1u << shape));
	else if (cq_trie_kids_tag_ok(kids, hash))
		__builtin_prefetch(p);
}

/*
 * Readers matching many paths at once: the child of 'kids' that level
 * 'hash' most likely names, without reading it (its loading is started);
 * NULL when there is certainly none.  Confirm with cq_trie_confirm().
 */
static inline const cq_trie_node_t *
cq_trie_candidate(uint64_t kids, uint32_t hash)
{
	if (kids == 0)
		return NULL;
	if (cq_trie_kids_shape(kids) == CQ_TRIE_SINGLE)
		return cq_trie_kids_tag_ok(kids, hash)
			? CQ_PTR(const cq_trie_node_t, cq_trie_kids_off(kids))
			: NULL;
	const cq_trie_node_t *c = cq_trie_scan(kids, hash, NULL, 0, 0);
	if (c != NULL)
		__builtin_prefetch(c);
	return c;
}

/* The child for (hash, s, len) given its non-NULL candidate. */
static inline const cq_trie_node_t *
cq_trie_confirm(uint64_t kids, const cq_trie_node_t *cand, uint32_t hash,
	const char *s, uint32_t len, size_t text_off)
{
	if (cq_trie_node_is(cand, hash, s, len, text_off))
		return cand;
	/* A hash collision in a table: the full lookup sorts it out. */
	return cq_trie_kids_shape(kids) == CQ_TRIE_SINGLE
		? NULL
		: cq_trie_scan(kids, hash, s, len, text_off);
}

/*
 * Index lookups whose key is not a plain text (a '+' filter matched
 * against a topic): like cq_trie_scan / cq_trie_confirm, with is(arg, c)
 * deciding whether child c (its hash already equal) is the one.
 */
static inline __attribute__((always_inline)) const cq_trie_node_t *
cq_trie_scan_is(uint64_t kids, uint32_t hash,
	bool (*is)(const void *arg, const cq_trie_node_t *c), const void *arg)
{
	cq_trie_run_t r;
	cq_trie_run_init(&r, kids, hash);
	for (const cq_trie_node_t *c; (c = cq_trie_run_next(&r)) != NULL;)
		if (c->hash == hash && is(arg, c))
			return c;
	return NULL;
}

static inline __attribute__((always_inline)) const cq_trie_node_t *
cq_trie_confirm_is(uint64_t kids, const cq_trie_node_t *cand, uint32_t hash,
	bool (*is)(const void *arg, const cq_trie_node_t *c), const void *arg)
{
	if (cand->hash == hash && is(arg, cand))
		return cand;
	return cq_trie_kids_shape(kids) == CQ_TRIE_SINGLE
		? NULL
		: cq_trie_scan_is(kids, hash, is, arg);
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
 * Iteration over the children of one kids word in key order (readers and
 * writers).  The iterator is plain data: it may be copied.
 */
typedef struct cq_trie_iter {
	const uint64_t *slot; /* NULL: the single child 'one' */
	uint64_t one;
	uint32_t cap, n, i;
} cq_trie_iter_t;

void cq_trie_iter_init(cq_trie_iter_t *it, uint64_t kids);
/*
 * Move to the first child whose key is greater than (hash, s, len) — or
 * greater or equal when 'inclusive' — so that the next cq_trie_iter_next()
 * returns it.
 */
void cq_trie_iter_seek(cq_trie_iter_t *it, uint32_t hash, const char *s,
	uint32_t len, bool inclusive, size_t text_off);
/* The next live child, or CQ_OFF_NULL at the end. */
cq_off_t cq_trie_iter_next(cq_trie_iter_t *it);
/* The same as its slot word {hash, child} (0 at the end): the hash
 * without reading the child (but for a single child). */
uint64_t cq_trie_iter_next_slot(cq_trie_iter_t *it);

/*
 * Writers (holding the trie's shard lock).  'kids' is the node's (or
 * shard's) kids word.  Insert publishes 'child' (fully built, not yet
 * reachable) under key (hash, text of child), possibly rebuilding the
 * children (an old table is retired).  0, or -1 with errno ENOMEM
 * (nothing changed).
 */
int cq_trie_insert(uint64_t *kids, cq_off_t child, size_t text_off);

/*
 * Remove 'child' from 'kids' (a tombstone; a table left with one child
 * becomes the single form, an empty or sparse one is replaced, when memory
 * allows).  The caller retires the child itself.
 */
void cq_trie_remove(uint64_t *kids, cq_off_t child, size_t text_off);

/* Writers: does 'kids' hold no live child? */
bool cq_trie_kids_empty(uint64_t kids);

/* Retire the table of 'kids', if it has one (a node being retired). */
void cq_trie_kids_retire(uint64_t kids);

/* Bytes of the table of 'kids' (0 for none or a single child). */
size_t cq_trie_kids_bytes(uint64_t kids);

/*
 * Allocate a node whose level text starts at byte 'text_off' (its header
 * and the trie's fields before it, zeroed) holding level (hash, s, len).
 * CQ_OFF_NULL when the arena is full.
 */
cq_off_t cq_trie_node_new(
	size_t text_off, uint32_t hash, const char *s, uint32_t len);

/*
 * Build nodes for levels [i, end) of 'lv', privately (nothing is
 * published), deepest first: each is the single child of the one before
 * or, for a "+" level when plus_off != 0, its '+' child (the cq_off_t at
 * byte plus_off).  *first_r and *last_r get the ends.  0, or -1 with errno
 * ENOMEM (nothing left allocated).
 */
int cq_trie_chain_build(const cq_topic_levels_t *lv, uint32_t i, uint32_t end,
	size_t text_off, size_t plus_off, cq_off_t *first_r, cq_off_t *last_r);

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

/* Shards of a trie for 'conf' (route_shards, a power of two, 1..4096). */
uint32_t cq_trie_nshards(const cq_shm_conf_t *conf);

/* A fresh seed for hashes kept in shm (getrandom, or a fallback mix). */
uint64_t cq_trie_new_seed(void);

/* Reaper helper: recover shard locks whose holder is dead. */
void cq_trie_reap_locks(
	cq_mutex_t *mx, size_t stride, unsigned n, uint64_t *recoveries);

/*
 * Checker: validate the children of kids word 'kids' (bounds, shape, T1,
 * T2) and call fn(arg, child) for each live child.  Returns the number of
 * problems found (described through *why_r).
 */
unsigned cq_trie_kids_check(const char *base, size_t region_size, uint64_t kids,
	size_t text_off, void (*fn)(void *arg, cq_off_t child), void *arg,
	const char **why_r);

/*
 * Checker: walk whole trees (callers hold the shard lock or the region is
 * quiescent).  Set the inputs, call cq_trie_check_kids/_node per root,
 * read nodes/empty (accumulated), then cq_trie_check_done().  Every node
 * and table reached is validated (bounds, level hash, T1/T2) and marked
 * for the arena's leak count; node_fn checks the trie's own fields and
 * returns true when the node holds nothing (for the empty count).
 */
typedef struct cq_trie_check {
	/* inputs */
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	const char *module;
	size_t text_off; /* where the level text starts */
	size_t plus_off; /* byte offset of a '+' child word, or 0 */
	uint64_t seed;
	uint64_t budget; /* nodes left to visit (cycle guard) */
	bool (*node_fn)(void *arg, cq_off_t off, const cq_trie_node_t *n);
	void *arg;
	/* results */
	uint64_t nodes;
	uint64_t empty;
	/* private */
	cq_off_t *stack;
	uint32_t sp, cap;
	uint32_t shard_mask, shard;
	int oom;
} cq_trie_check_t;

/* The trees under 'kids', whose first nodes (unless shard_mask is
 * UINT32_MAX) have hash & shard_mask == shard. */
void cq_trie_check_kids(
	cq_trie_check_t *c, uint64_t kids, uint32_t shard_mask, uint32_t shard);
/* The tree rooted at 'node'. */
void cq_trie_check_node(cq_trie_check_t *c, cq_off_t node);
void cq_trie_check_done(cq_trie_check_t *c);

#endif /* CQ_SHM_TRIE_H */
