/*
 * route.c — the shared route trie (see route.h; node tables in trie.c).
 *
 * A node per filter level, in the arena.  A node holds, for the filter
 * ending at it (EXACT) and for "<node>/#" (MULTI), a bitmap of worker slots
 * with plain subscribers and an immutable table of shared groups
 * {key, slot bitmap}.  Its literal children are in an ordered children
 * table (trie.h); its '+' child has its own word.  The root lives in this
 * module's area; its literal children are spread over per-shard tables
 * (shard = level hash masked), so writers of different first levels never
 * share a lock or a table; root '+' and root '#' have shards of their own.
 *
 * Invariants:
 *   R1 every word a reader follows (kids, plus, groups, index) is
 *      published with one release store of a fully built object (T5 in
 *      trie.h), and a replaced object is retired to QSBR, never freed
 *      directly;
 *   R2 a bitmap word (a node's EXACT/MULTI workers, an index entry's
 *      workers, a group's workers) changes by one atomic store under the
 *      shard lock;
 *   R3 all nodes below a first level, and the index entries of filters
 *      whose first level it is, belong to that level's shard: only the
 *      holder of the shard lock writes them;
 *   R4 a node is reachable from exactly one word (a kids word or a '+'
 *      word), and its hash is the seeded hash of its level text; nodes
 *      have no parent link: writers keep the path they walked down;
 *   R5 a node with no worker, no group member, no '+' child and no
 *      children is unlinked and retired by the writer that emptied it
 *      (a writer killed midway leaves empty nodes: harmless, and the
 *      checker counts them);
 *   R6 shard counters (nodes, entries, filters) are statistics, recounted
 *      by the checker.
 *
 * Filter index (shm/topic_index.h).  Most filters are exact, have a
 * single '+', or are literal levels and '#' (cq_topic_index_kind): those
 * are not in the trie but entries of their shard's filter index, found by
 * hash (route-index.c has the writers).  The trie then holds only the
 * other wildcard filters, so it is small and a walk dies out soon (with
 * the benchmark's filters, it is empty).  Invariants:
 *   X1 an indexed filter lives only in the index of the shard of its first
 *      level (the '+' shard for "+/..."), keyed by (whole-filter hash,
 *      text), in its exact table or its wild table; those are children
 *      tables of the trie core, so T1..T5 hold for them, and growth,
 *      shrinking and tombstone clean-up replace a table with one release
 *      store of its word in the shard, the old table going to QSBR (T4);
 *   X2 an entry is immutable once published except its slot bitmap (R2)
 *      and its groups word (R1: a copy-on-write table);
 *   X3 an entry with no worker and no group member is unlinked and
 *      retired (with its group table) by the writer that emptied it; a
 *      writer killed in between leaves an empty entry, which readers
 *      ignore, the next add of that filter reuses and the checker counts;
 *   X4 a wildcard shape's bit (shapes: '+' at level j of n levels; '#'
 *      after k literal levels) is set before the first entry of that
 *      shape is published and cleared after the last one is unlinked;
 *      the counts behind them (writers only) err high after a crash (the
 *      bit then stays: a useless probe), never low;
 *   X5 a filter is in exactly one place (index or trie), and a topic's
 *      probes are all different keys: each matching filter is reported
 *      once;
 *   X6 the key of every wildcard entry has its bit in the shard's Bloom
 *      filter (set before the entry is published; bits are never
 *      cleared in place: a filter is replaced by one built from the index,
 *      published with one release store, the old one retired to QSBR).
 * A match probes the index of the topic's first-level shard for the topic
 * itself (an exact filter), for the topic with level j made '+' for every
 * j the shapes name and for the topic's first k levels and '#' for every
 * k they name, and the '+' shard for j = 0 (not for a '$' topic
 * [MQTT-4.7.2-1]); a wildcard probe whose Bloom bit is clear is not made.
 * The probes' home slots are prefetched before the trie walk, their
 * candidate entries found (and loaded) after the walk's first levels, and
 * confirmed after the walk, so the index's cache misses overlap each
 * other and the walk's.
 *
 * Crash: a writer killed while holding a shard lock leaves every reachable
 * object consistent (R1, R2, X1..X6); objects it had allocated but not
 * published are leaked, and the quiescent checker counts them (arena
 * marks).
 */
#include "config.h"

#include "shm/route.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"
#include "shm/qsbr.h"
#include "shm/route-int.h"
#include "shm/trie.h"

route_area_t *cq_route_area;

/* Per-process round-robin cursors for shared groups (by key). */
static uint32_t pick_rr[256];

/* Readers resolve the index probes' candidates after this many levels of
 * the walk: the home slots have arrived by then (the first levels' nodes
 * are hot), and the entries' misses still overlap the deeper levels'. */
#define PROBE_STEP 2u

static inline bool
is_root(const route_node_t *n)
{
	return n == &cq_route_area->root;
}

/* The kids word holding the literal child with this hash. */
static uint64_t *
kids_word(route_node_t *n, uint32_t hash)
{
	route_area_t *a = cq_route_area;
	return is_root(n) ? &a->shard[hash & (a->nshards - 1)].kids
			  : &n->h.kids;
}

static route_node_t *
child_of(route_node_t *n, const cq_topic_level_t *l)
{
	return (route_node_t *)cq_trie_child(
		cq_trie_kids_load(kids_word(n, l->hash)), l->hash, l->s, l->len,
		ROUTE_TEXT);
}

static unsigned
shard_of(const cq_topic_level_t *l0)
{
	route_area_t *a = cq_route_area;
	if (cq_topic_level_is_plus(l0))
		return a->nshards + ROUTE_SHARD_PLUS;
	if (cq_topic_level_is_hash(l0))
		return a->nshards + ROUTE_SHARD_HASH;
	return l0->hash & (a->nshards - 1);
}

route_shard_t *
cq_route_shard_lock(unsigned i)
{
	route_shard_t *s = &cq_route_area->shard[i];
	cq_trie_lock(&s->lock, &s->recoveries, "route", i);
	CQ_CRASHPOINT("route.locked");
	return s;
}
/* ---- payloads -------------------------------------------------------- */

static inline route_pay_t
node_pay(route_node_t *n, int pos)
{
	return (route_pay_t){&n->workers[pos], &n->groups[pos]};
}

static route_group_t *
group_find(cq_off_t gt, uint64_t key)
{
	route_groups_t *gs = CQ_PTR(route_groups_t, gt);
	for (uint32_t i = 0; gs != NULL && i < gs->n; i++)
		if (gs->g[i].key == key)
			return &gs->g[i];
	return NULL;
}

/*
 * Replace the group table at *word by a copy without empty groups and
 * with {add_key, add_bit} appended when add_key != 0.  0 or -1 (ENOMEM).
 */
static int
groups_rebuild(cq_off_t *word, uint64_t add_key, uint64_t add_bit)
{
	cq_off_t old = *word;
	route_groups_t *og = CQ_PTR(route_groups_t, old);
	uint32_t live = add_key != 0;
	for (uint32_t i = 0; og != NULL && i < og->n; i++)
		live += og->g[i].workers != 0;
	cq_off_t off = CQ_OFF_NULL;
	if (live > 0) {
		off = cq_arena_alloc(
			sizeof(route_groups_t) + live * sizeof(route_group_t));
		if (off == CQ_OFF_NULL) {
			errno = ENOMEM;
			return -1;
		}
		route_groups_t *ng = CQ_PTR(route_groups_t, off);
		ng->n = 0;
		for (uint32_t i = 0; og != NULL && i < og->n; i++)
			if (og->g[i].workers != 0)
				ng->g[ng->n++] = og->g[i];
		if (add_key != 0)
			ng->g[ng->n++] = (route_group_t){add_key, add_bit};
		CQ_CRASHPOINT("route.groups_built");
	}
	cq_off_publish(word, off);
	if (old != CQ_OFF_NULL)
		cq_qsbr_retire(old);
	return 0;
}

int
cq_route_pay_add(route_pay_t p, uint64_t key, uint64_t bit)
{
	uint64_t *word = p.workers;
	if (key != 0) {
		route_group_t *g = group_find(*p.groups, key);
		if (g == NULL)
			return groups_rebuild(p.groups, key, bit) < 0 ? -1 : 1;
		word = &g->workers;
	}
	uint64_t w = *word;
	__atomic_store_n(word, w | bit, __ATOMIC_RELEASE);
	return w == 0;
}

int
cq_route_pay_remove(route_pay_t p, uint64_t key, uint64_t bit)
{
	uint64_t *word = p.workers;
	route_group_t *g = NULL;
	if (key != 0 && (g = group_find(*p.groups, key)) == NULL)
		return 0;
	if (g != NULL)
		word = &g->workers;
	uint64_t w = *word;
	if ((w & bit) == 0)
		return 0;
	__atomic_store_n(word, w & ~bit, __ATOMIC_RELEASE);
	if ((w & ~bit) != 0)
		return 0;
	/* Drop the empty group; without memory it stays, ignored by readers
	 * and dropped by the next rebuild. */
	if (g != NULL)
		(void)groups_rebuild(p.groups, 0, 0);
	return 1;
}

static bool
groups_empty(cq_off_t gt)
{
	route_groups_t *gs = CQ_PTR(route_groups_t, gt);
	for (uint32_t i = 0; gs != NULL && i < gs->n; i++)
		if (gs->g[i].workers != 0)
			return false;
	return true;
}

bool
cq_route_pay_empty(route_pay_t p)
{
	return *p.workers == 0 && groups_empty(*p.groups);
}

static bool
node_empty(route_node_t *n)
{
	return cq_route_pay_empty(node_pay(n, ROUTE_EXACT)) &&
		cq_route_pay_empty(node_pay(n, ROUTE_MULTI)) &&
		n->plus == CQ_OFF_NULL && cq_trie_kids_empty(n->h.kids);
}

/*
 * A filter's nodes from the root: path[0] is the root, path[j] the node of
 * level j - 1 (depth levels walked; a trailing '#' is not a node).
 */
typedef struct route_path {
	route_node_t **n;
	route_node_t *inl[CQ_TOPIC_INLINE_LEVELS + 1];
	uint32_t depth;
} route_path_t;

static int
path_init(route_path_t *p, const cq_topic_levels_t *lv)
{
	p->n = lv->n <= CQ_TOPIC_INLINE_LEVELS
		? p->inl
		: malloc((lv->n + 1) * sizeof(*p->n));
	p->depth = 0;
	if (p->n == NULL) {
		errno = ENOMEM;
		return -1;
	}
	p->n[0] = &cq_route_area->root;
	return 0;
}

static void
path_free(route_path_t *p)
{
	if (p->n != p->inl)
		free(p->n);
}

/* Unlink and retire the path's nodes from the deepest up while they are
 * empty (R5). */
static void
prune_path(route_shard_t *s, const route_path_t *p, const cq_topic_levels_t *lv)
{
	for (uint32_t j = p->depth; j > 0 && node_empty(p->n[j]); j--) {
		route_node_t *n = p->n[j], *up = p->n[j - 1];
		cq_off_t off = CQ_OFF(n);
		if (cq_topic_level_is_plus(&lv->lv[j - 1]))
			cq_off_publish(&up->plus, CQ_OFF_NULL);
		else
			cq_trie_remove(
				kids_word(up, n->h.hash), off, ROUTE_TEXT);
		CQ_CRASHPOINT("route.unlinked");
		for (int pos = 0; pos < 2; pos++)
			if (n->groups[pos] != CQ_OFF_NULL)
				cq_qsbr_retire(n->groups[pos]);
		cq_trie_kids_retire(n->h.kids);
		cq_qsbr_retire(off);
		if (s->nodes > 0)
			s->nodes--;
	}
}

/* ---- writers: the trie ---------------------------------------------- */

/* Free a never-published chain's group tables (cq_trie_chain_free). */
static void
chain_extra(cq_trie_node_t *h)
{
	route_node_t *n = (route_node_t *)h;
	cq_arena_free(n->groups[0]);
	cq_arena_free(n->groups[1]);
}

/*
 * Levels i.. of 'lv' do not exist below 'at': build them privately (with
 * the payload on the last), then publish the first with one store (or
 * table insert).  0 or -1 ENOMEM (nothing published).
 */
static int
grow_chain(route_shard_t *s, route_node_t *at, const cq_topic_levels_t *lv,
	uint32_t i, uint64_t key, uint64_t bit)
{
	bool multi = cq_topic_level_is_hash(&lv->lv[lv->n - 1]);
	uint32_t end = lv->n - multi;
	cq_off_t first, last;
	if (cq_trie_chain_build(lv, i, end, ROUTE_TEXT,
		    offsetof(route_node_t, plus), &first, &last) < 0)
		return -1;
	if (cq_route_pay_add(node_pay(route_node_at(last),
				     multi ? ROUTE_MULTI : ROUTE_EXACT),
		    key, bit) < 0)
		goto fail;
	CQ_CRASHPOINT("route.chain_built");
	const cq_topic_level_t *l = &lv->lv[i];
	if (cq_topic_level_is_plus(l))
		cq_off_publish(&at->plus, first);
	else if (cq_trie_insert(kids_word(at, l->hash), first, ROUTE_TEXT) < 0)
		goto fail;
	s->nodes += end - i;
	s->filters++;
	return 0;
fail:
	cq_trie_chain_free(first, offsetof(route_node_t, plus), chain_extra);
	errno = ENOMEM;
	return -1;
}

static int
add_locked(route_shard_t *s, const cq_topic_levels_t *lv, uint64_t key,
	uint64_t bit)
{
	uint32_t kind = cq_topic_index_kind(lv);
	if (kind != CQ_TOPIC_NOT_INDEXED)
		return cq_route_index_add_locked(s, lv, kind, key, bit);
	route_node_t *n = &cq_route_area->root;
	int pos = ROUTE_EXACT;
	for (uint32_t i = 0; i < lv->n; i++) {
		const cq_topic_level_t *l = &lv->lv[i];
		if (cq_topic_level_is_hash(l)) {
			pos = ROUTE_MULTI;
			break;
		}
		route_node_t *next = cq_topic_level_is_plus(l)
			? route_node_at(n->plus)
			: child_of(n, l);
		if (next == NULL)
			return grow_chain(s, n, lv, i, key, bit);
		n = next;
	}
	int rc = cq_route_pay_add(node_pay(n, pos), key, bit);
	if (rc < 0)
		return -1;
	s->filters += (uint64_t)rc;
	return 0;
}

/*
 * Walk the trie's filter 'lv' from the root, recording the path in p
 * (if not NULL).  The node holding the filter, or NULL; *pos_r EXACT or
 * MULTI.
 */
static route_node_t *
find_pos(const cq_topic_levels_t *lv, int *pos_r, route_path_t *p)
{
	route_node_t *n = &cq_route_area->root;
	*pos_r = ROUTE_EXACT;
	for (uint32_t i = 0; i < lv->n; i++) {
		const cq_topic_level_t *l = &lv->lv[i];
		if (cq_topic_level_is_hash(l)) {
			*pos_r = ROUTE_MULTI;
			break;
		}
		n = cq_topic_level_is_plus(l)
			? route_node_at(cq_off_load(&n->plus))
			: child_of(n, l);
		if (n == NULL)
			return NULL;
		if (p != NULL)
			p->n[++p->depth] = n;
	}
	return n;
}

/* Clear 'bit' of plain subscribers (key 0) or group 'key' on the filter
 * 'lv' and prune what that empties (shard lock held). */
void
cq_route_remove_locked(route_shard_t *s, const cq_topic_levels_t *lv,
	uint64_t key, uint64_t bit)
{
	uint32_t kind = cq_topic_index_kind(lv);
	if (kind != CQ_TOPIC_NOT_INDEXED) {
		cq_route_index_remove_locked(s, lv, kind, key, bit);
		return;
	}
	route_path_t p;
	if (path_init(&p, lv) < 0)
		return; /* only for > 24 levels: the bit stays, harmless */
	int pos;
	route_node_t *n = find_pos(lv, &pos, &p);
	if (n != NULL) {
		if (cq_route_pay_remove(node_pay(n, pos), key, bit) > 0 &&
			s->filters > 0)
			s->filters--;
		CQ_CRASHPOINT("route.cleared");
		prune_path(s, &p, lv);
	}
	path_free(&p);
}

/* Split a (maybe shared) filter; 0 or -1 (errno set). */
static int
parse_filter(const char *filter, size_t len, unsigned slot,
	cq_topic_levels_t *lv, uint64_t *key_r)
{
	if (slot >= CQ_MAX_WORKERS || cq_route_area == NULL || len == 0) {
		errno = EINVAL;
		return -1;
	}
	cq_match_share_t sh;
	*key_r = cq_match_share_split(filter, len, &sh)
		? cq_topic_share_key(
			  sh.group, sh.group_len, sh.filter, sh.filter_len)
		: 0;
	if (cq_topic_levels_split(
		    lv, sh.filter, sh.filter_len, cq_route_area->seed) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Add or remove 'slot' for 'filter' under its shard lock. */
static int
route_change(const char *filter, size_t len, unsigned slot, bool add)
{
	cq_topic_levels_t lv;
	uint64_t key;
	if (parse_filter(filter, len, slot, &lv, &key) < 0)
		return -1;
	route_shard_t *s = cq_route_shard_lock(shard_of(&lv.lv[0]));
	int rc = 0;
	if (add)
		rc = add_locked(s, &lv, key, UINT64_C(1) << slot);
	else
		cq_route_remove_locked(s, &lv, key, UINT64_C(1) << slot);
	cq_mutex_unlock(&s->lock);
	cq_topic_levels_free(&lv);
	return rc;
}

int
cq_route_add(const char *filter, size_t len, unsigned slot)
{
	return route_change(filter, len, slot, true);
}

int
cq_route_remove(const char *filter, size_t len, unsigned slot)
{
	return route_change(filter, len, slot, false);
}

/* The position of the split filter 'lv' (index entry or node), if any. */
static bool
find_pay(const cq_topic_levels_t *lv, route_pay_t *p_r)
{
	uint32_t kind = cq_topic_index_kind(lv);
	if (kind != CQ_TOPIC_NOT_INDEXED) {
		route_entry_t *e = cq_route_index_find(lv, kind);
		if (e != NULL)
			*p_r = route_entry_pay(e);
		return e != NULL;
	}
	int pos;
	route_node_t *n = find_pos(lv, &pos, NULL);
	if (n != NULL)
		*p_r = node_pay(n, pos);
	return n != NULL;
}

int
cq_route_has(const char *filter, size_t len, unsigned slot)
{
	cq_topic_levels_t lv;
	uint64_t key;
	if (parse_filter(filter, len, slot, &lv, &key) < 0)
		return 0;
	route_pay_t p;
	const uint64_t *word = NULL;
	if (find_pay(&lv, &p))
		word = p.workers;
	if (word != NULL && key != 0) {
		const route_group_t *g = group_find(cq_off_load(p.groups), key);
		word = g != NULL ? &g->workers : NULL;
	}
	uint64_t w = word != NULL ? __atomic_load_n(word, __ATOMIC_ACQUIRE) : 0;
	cq_topic_levels_free(&lv);
	return (w >> slot) & 1;
}

/* ---- readers ------------------------------------------------------- */

void
cq_route_result_init(cq_route_result_t *r)
{
	memset(r, 0, sizeof(*r));
	r->picks = r->inline_picks;
	r->cap = CQ_ROUTE_INLINE_PICKS;
}

void
cq_route_result_free(cq_route_result_t *r)
{
	if (r->picks != r->inline_picks)
		free(r->picks);
	cq_route_result_init(r);
}

uint64_t
cq_route_seed(void)
{
	return cq_route_area != NULL ? cq_route_area->seed : 0;
}

/* One lookup of the filter index for topic t: the filter of kind j
 * (topic_index.h) that would match it. */
struct route_probe {
	uint64_t index;
	uint32_t hash;
	uint32_t j;
	const cq_topic_levels_t *t;
	const cq_trie_node_t *cand; /* the entry it most likely finds */
};

struct route_walk {
	cq_route_result_t *r;
	const cq_topic_levels_t *t;
	int err;
	bool looked; /* the probes' candidates were looked for */
	uint32_t nprobes;
	struct route_probe probe[1 + 2 * CQ_TOPIC_INDEX_DEPTH];
};

/* A node or an index entry may span two cache lines: the prefetch of its
 * start leaves the other one to a second, serial miss. */
static inline void
prefetch_tail(const void *node, size_t text_off, uint32_t len)
{
	__builtin_prefetch((const char *)node + text_off + len - 1);
}

static inline const void *
walk_candidate(void *ctx, const void *node, const cq_topic_level_t *l)
{
	(void)ctx;
	const void *c = cq_trie_candidate(
		cq_trie_kids_load(kids_word((route_node_t *)node, l->hash)),
		l->hash);
	if (c != NULL)
		prefetch_tail(c, ROUTE_TEXT, l->len);
	return c;
}

static inline const void *
walk_child(void *ctx, const void *node, const cq_topic_level_t *l,
	const void *cand)
{
	(void)ctx;
	return cq_trie_confirm(
		cq_trie_kids_load(kids_word((route_node_t *)node, l->hash)),
		cand, l->hash, l->s, l->len, ROUTE_TEXT);
}

/* Start loading the slot (or single child) a lookup of 'l' below 'node'
 * reads, and its '+' child. */
static inline void
walk_prefetch(void *ctx, const void *node, const cq_topic_level_t *l)
{
	(void)ctx;
	const route_node_t *n = node;
	cq_trie_prefetch(
		cq_trie_kids_load(kids_word((route_node_t *)n, l->hash)),
		l->hash);
	cq_off_t plus = cq_off_load(&n->plus);
	if (plus != CQ_OFF_NULL)
		__builtin_prefetch(route_node_at(plus));
}

static inline const void *
walk_plus(void *ctx, const void *node)
{
	(void)ctx;
	return route_node_at(cq_off_load(&((const route_node_t *)node)->plus));
}

/* The k-th (mod popcount) set bit of w, k from a private cursor. */
static inline uint32_t
pick(uint64_t key, uint64_t w)
{
	uint32_t n = (uint32_t)__builtin_popcountll(w);
	uint32_t k = (pick_rr[key & 255]++ + cq_shm_slot) % n;
	while (k-- > 0)
		w &= w - 1;
	return (uint32_t)__builtin_ctzll(w);
}

static void
add_picks(struct route_walk *m, cq_off_t gt)
{
	const route_groups_t *gs = CQ_PTR(const route_groups_t, gt);
	cq_route_result_t *r = m->r;
	for (uint32_t i = 0; i < gs->n; i++) {
		uint64_t w = __atomic_load_n(
			&gs->g[i].workers, __ATOMIC_RELAXED);
		if (w == 0)
			continue;
		if (r->npicks == r->cap) {
			uint32_t cap = r->cap * 2;
			cq_route_pick_t *p = r->picks == r->inline_picks
				? malloc(cap * sizeof(*p))
				: realloc(r->picks, cap * sizeof(*p));
			if (p == NULL) {
				m->err = -1;
				return;
			}
			if (r->picks == r->inline_picks)
				memcpy(p, r->picks, r->npicks * sizeof(*p));
			r->picks = p;
			r->cap = cap;
		}
		r->picks[r->npicks++] = (cq_route_pick_t){
			gs->g[i].key, pick(gs->g[i].key, w), 0};
	}
}

static inline void
visit(struct route_walk *m, const uint64_t *workers, const cq_off_t *groups)
{
	m->r->workers |= __atomic_load_n(workers, __ATOMIC_RELAXED);
	cq_off_t gt = cq_off_load(groups);
	if (cq_unlikely(gt != CQ_OFF_NULL))
		add_picks(m, gt);
}

static inline void
walk_exact(void *ctx, const void *node)
{
	const route_node_t *n = node;
	visit(ctx, &n->workers[ROUTE_EXACT], &n->groups[ROUTE_EXACT]);
}

static inline void
walk_multi(void *ctx, const void *node)
{
	const route_node_t *n = node;
	visit(ctx, &n->workers[ROUTE_MULTI], &n->groups[ROUTE_MULTI]);
}

/* ---- readers: the filter index --------------------------------------- */

static inline void
probe_add(struct route_walk *m, uint64_t index, uint32_t hash, uint32_t j)
{
	if (index == 0)
		return;
	m->probe[m->nprobes++] = (struct route_probe){
		index, hash, j, m->t, NULL};
	cq_trie_prefetch(index, hash);
}

static inline const route_bloom_t *
bloom_of(const route_shard_t *s)
{
	return CQ_PTR(const route_bloom_t, cq_off_load(&s->bloom));
}

/*
 * The wildcard probes of shard s's index for topic t ('+' shapes 'plus'
 * for t's depth): each key is made a probe unless the shard's Bloom
 * filter says it finds nothing (X6).  The filter's words of all the keys
 * are loaded first, then tested, so that those loads overlap too.
 */
static inline void
wild_probes(struct route_walk *m, const route_shard_t *s, uint32_t plus,
	uint32_t multi)
{
	const route_area_t *a = cq_route_area;
	cq_topic_key_t k[2 * CQ_TOPIC_INDEX_DEPTH];
	uint32_t n = cq_topic_wild_keys(
		m->t, plus, multi, a->h_plus, a->h_hash, k);
	const route_bloom_t *b = n > 0 ? bloom_of(s) : NULL;
	uint64_t index = n > 0 ? cq_trie_kids_load(&s->wild) : 0;
	for (uint32_t i = 0; b != NULL && i < n; i++)
		__builtin_prefetch(
			&b->w[cq_topic_bloom_bit(b->log2, k[i].hash) / 64]);
	for (uint32_t i = 0; i < n; i++)
		if (b == NULL || cq_topic_bloom_test(b->w, b->log2, k[i].hash))
			probe_add(m, index, k[i].hash, k[i].kind);
}

/* The probes of topic t (X4..X6), their home slots being loaded: the
 * index of t's first-level shard, and the '+' shard's for "+/..." ones
 * (not for a '$' topic [MQTT-4.7.2-1]). */
static inline void
probes_start(struct route_walk *m)
{
	const cq_topic_levels_t *t = m->t;
	const route_area_t *a = cq_route_area;
	const route_shard_t *ls = &a->shard[t->lv[0].hash & (a->nshards - 1)];
	const route_shard_t *ps = &a->shard[a->nshards + ROUTE_SHARD_PLUS];
	bool shallow = t->n <= CQ_TOPIC_INDEX_DEPTH; /* '+' ones may match */
	probe_add(m, cq_trie_kids_load(&ls->index), t->hash, CQ_TOPIC_EXACT);
	if (shallow && !t->dollar &&
		(__atomic_load_n(&ps->shapes.plus[t->n - 1], __ATOMIC_ACQUIRE) &
			1))
		wild_probes(m, ps, 1, 0);
	uint32_t plus = shallow
		? __atomic_load_n(&ls->shapes.plus[t->n - 1], __ATOMIC_ACQUIRE)
		: 0;
	uint32_t multi = __atomic_load_n(&ls->shapes.multi, __ATOMIC_ACQUIRE);
	if (plus != 0 || multi != 0)
		wild_probes(m, ls, plus, multi);
}

/* The probes' candidate entries (their slots arrived meanwhile), whose
 * loading is started, all of each. */
static inline void
probes_look(struct route_walk *m)
{
	m->looked = true;
	for (uint32_t i = 0; i < m->nprobes; i++) {
		struct route_probe *p = &m->probe[i];
		p->cand = cq_trie_candidate(p->index, p->hash);
		if (p->cand != NULL)
			prefetch_tail(p->cand, ROUTE_ENTRY_TEXT,
				cq_topic_probe_len(m->t, p->j));
	}
}

static inline void
walk_level(void *ctx, uint32_t i)
{
	if (i + 1 == PROBE_STEP)
		probes_look(ctx);
}

static inline bool
probe_is(const void *arg, const cq_trie_node_t *e)
{
	const struct route_probe *p = arg;
	return cq_topic_probe_eq(
		p->t, p->j, cq_trie_text(e, ROUTE_ENTRY_TEXT), e->len);
}

/* After the walk: the indexed filters that match the topic. */
static void
probes_visit(struct route_walk *m)
{
	if (!m->looked)
		probes_look(m);
	for (uint32_t i = 0; i < m->nprobes; i++) {
		const struct route_probe *p = &m->probe[i];
		const route_entry_t *e = p->cand == NULL
			? NULL
			: (const route_entry_t *)cq_trie_confirm_is(
				  p->index, p->cand, p->hash, probe_is, p);
		if (e != NULL)
			visit(m, &e->h.value, &e->groups);
	}
}

static const cq_topic_walk_ops_t walk_ops = {
	.prefetch = walk_prefetch,
	.candidate = walk_candidate,
	.child = walk_child,
	.plus = walk_plus,
	.exact = walk_exact,
	.multi = walk_multi,
	.level = walk_level,
};

int
cq_route_match(const cq_topic_levels_t *t, cq_route_result_t *r)
{
	cq_dassert(t->seed == cq_route_area->seed);
	r->workers = 0;
	r->npicks = 0;
	struct route_walk m = {.r = r, .t = t};
	probes_start(&m);
	if (cq_topic_walk(t, &cq_route_area->root, &walk_ops, &m) == 0)
		probes_visit(&m);
	else
		m.err = -1;
	if (m.err < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
cq_route_stats(cq_route_stats_t *s_r)
{
	memset(s_r, 0, sizeof(*s_r));
	route_area_t *a = cq_route_area;
	for (uint32_t i = 0; a != NULL && i < a->nshards + ROUTE_EXTRA_SHARDS;
		i++) {
		s_r->nodes += a->shard[i].nodes;
		s_r->entries += a->shard[i].entries;
		s_r->filters += a->shard[i].filters;
		s_r->recoveries += a->shard[i].recoveries;
	}
}

/* ---- module -------------------------------------------------------- */

static size_t
route_size(const cq_shm_conf_t *conf)
{
	return sizeof(route_area_t) +
		(cq_trie_nshards(conf) + ROUTE_EXTRA_SHARDS) *
		sizeof(route_shard_t);
}

static int
route_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	route_area_t *a = area;
	a->magic = ROUTE_MAGIC;
	a->seed = cq_trie_new_seed();
	a->nshards = cq_trie_nshards(&shm->hdr->conf);
	a->nworkers = shm->hdr->conf.workers;
	a->h_plus = cq_topic_hash("+", 1, a->seed);
	a->h_hash = cq_topic_hash("#", 1, a->seed);
	cq_assert(size >= route_size(&shm->hdr->conf));
	for (uint32_t i = 0; i < a->nshards + ROUTE_EXTRA_SHARDS; i++)
		if (cq_mutex_init(&a->shard[i].lock) < 0) {
			*error_r = "route: cannot initialise a shard mutex";
			return -1;
		}
	return 0;
}

static void
route_use(cq_shm_t *shm, void *area, size_t size)
{
	(void)shm;
	(void)size;
	cq_route_area = area;
}

/* A dead worker's bits stay: its replacement drains its rings and
 * reconciles with cq_route_purge_slot().  Only recover its locks here. */
static void
route_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	(void)shm;
	(void)slot;
	route_area_t *a = area;
	cq_trie_reap_locks(&a->shard[0].lock, sizeof(route_shard_t),
		a->nshards + ROUTE_EXTRA_SHARDS, &a->shard[0].recoveries);
}

const cq_shm_module_t cq_route_module = {
	.name = "route",
	.size = route_size,
	.init = route_init,
	.check = cq_route_check,
	.reap = route_reap,
	.use = route_use,
	.flags = CQ_SHM_MOD_MARKS,
};
