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
 *   R1 every word a reader follows (kids, plus, groups) is published with
 *      one release store of a fully built object (T5 in trie.h), and a
 *      replaced object is retired to QSBR, never freed directly;
 *   R2 a bitmap word (a node's EXACT/MULTI workers, a group's workers)
 *      changes by one atomic store under the shard lock;
 *   R3 all nodes below a first level belong to that level's shard: only
 *      the holder of the shard lock writes them;
 *   R4 a node is reachable from exactly one word (a kids word or a '+'
 *      word), and its hash is the seeded hash of its level text; nodes
 *      have no parent link: writers keep the path they walked down;
 *   R5 a node with no worker, no group member, no '+' child and no
 *      children is unlinked and retired by the writer that emptied it
 *      (a writer killed midway leaves empty nodes: harmless, and the
 *      checker counts them);
 *   R6 shard counters (nodes, filters) are statistics, recounted by the
 *      checker.
 *
 * Crash: a writer killed while holding a shard lock leaves every reachable
 * object consistent (R1, R2); objects it had allocated but not published
 * are leaked, and the quiescent checker counts them (arena marks).
 */
#include "config.h"

#include "shm/route.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "shm/grow.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"
#include "shm/qsbr.h"
#include "shm/route-int.h"
#include "shm/trie.h"

route_area_t *cq_route_area;

/* Per-process round-robin cursors for shared groups (by key). */
static uint32_t pick_rr[256];

static inline route_node_t *
node_at(cq_off_t off)
{
	return CQ_PTR(route_node_t, off);
}

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

static route_shard_t *
shard_lock(unsigned i)
{
	route_shard_t *s = &cq_route_area->shard[i];
	cq_trie_lock(&s->lock, &s->recoveries, "route", i);
	CQ_CRASHPOINT("route.locked");
	return s;
}

/* ---- payloads -------------------------------------------------------- */

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
 * Replace n's group table at 'pos' by a copy without empty groups and
 * with {add_key, add_bit} appended when add_key != 0.  0 or -1 (ENOMEM).
 */
static int
groups_rebuild(route_node_t *n, int pos, uint64_t add_key, uint64_t add_bit)
{
	cq_off_t old = n->groups[pos];
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
	cq_off_publish(&n->groups[pos], off);
	if (old != CQ_OFF_NULL)
		cq_qsbr_retire(old);
	return 0;
}

/* Set 'bit' for plain subscribers (key 0) or group 'key' at n/pos.
 * 1 if that filter/group had no worker before, 0 if it had, -1 ENOMEM. */
static int
payload_add(route_node_t *n, int pos, uint64_t key, uint64_t bit)
{
	uint64_t *word = &n->workers[pos];
	if (key != 0) {
		route_group_t *g = group_find(n->groups[pos], key);
		if (g == NULL)
			return groups_rebuild(n, pos, key, bit) < 0 ? -1 : 1;
		word = &g->workers;
	}
	uint64_t w = *word;
	__atomic_store_n(word, w | bit, __ATOMIC_RELEASE);
	return w == 0;
}

/* Clear 'bit'; 1 if the filter/group lost its last worker, else 0. */
static int
payload_remove(route_node_t *n, int pos, uint64_t key, uint64_t bit)
{
	uint64_t *word = &n->workers[pos];
	route_group_t *g = NULL;
	if (key != 0 && (g = group_find(n->groups[pos], key)) == NULL)
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
		(void)groups_rebuild(n, pos, 0, 0);
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

static bool
node_empty(const route_node_t *n)
{
	return n->workers[0] == 0 && n->workers[1] == 0 &&
		groups_empty(n->groups[0]) && groups_empty(n->groups[1]) &&
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

/* ---- writers ------------------------------------------------------- */

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
	if (payload_add(node_at(last), multi ? ROUTE_MULTI : ROUTE_EXACT, key,
		    bit) < 0)
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
	route_node_t *n = &cq_route_area->root;
	int pos = ROUTE_EXACT;
	for (uint32_t i = 0; i < lv->n; i++) {
		const cq_topic_level_t *l = &lv->lv[i];
		if (cq_topic_level_is_hash(l)) {
			pos = ROUTE_MULTI;
			break;
		}
		route_node_t *next = cq_topic_level_is_plus(l)
			? node_at(n->plus)
			: child_of(n, l);
		if (next == NULL)
			return grow_chain(s, n, lv, i, key, bit);
		n = next;
	}
	int rc = payload_add(n, pos, key, bit);
	if (rc < 0)
		return -1;
	s->filters += (uint64_t)rc;
	return 0;
}

/*
 * Walk the filter 'lv' from the root, recording the path in p (if not
 * NULL).  The node holding the filter, or NULL; *pos_r EXACT or MULTI.
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
		n = cq_topic_level_is_plus(l) ? node_at(cq_off_load(&n->plus))
					      : child_of(n, l);
		if (n == NULL)
			return NULL;
		if (p != NULL)
			p->n[++p->depth] = n;
	}
	return n;
}

/* Clear 'bit' of plain subscribers (key 0) or group 'key' on the filter
 * 'lv' and prune what that empties. */
static void
remove_locked(route_shard_t *s, const cq_topic_levels_t *lv, uint64_t key,
	uint64_t bit)
{
	route_path_t p;
	if (path_init(&p, lv) < 0)
		return; /* only for > 24 levels: the bit stays, harmless */
	int pos;
	route_node_t *n = find_pos(lv, &pos, &p);
	if (n != NULL) {
		if (payload_remove(n, pos, key, bit) > 0 && s->filters > 0)
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
	route_shard_t *s = shard_lock(shard_of(&lv.lv[0]));
	int rc = 0;
	if (add)
		rc = add_locked(s, &lv, key, UINT64_C(1) << slot);
	else
		remove_locked(s, &lv, key, UINT64_C(1) << slot);
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

int
cq_route_has(const char *filter, size_t len, unsigned slot)
{
	cq_topic_levels_t lv;
	uint64_t key;
	if (parse_filter(filter, len, slot, &lv, &key) < 0)
		return 0;
	int pos;
	const route_node_t *n = find_pos(&lv, &pos, NULL);
	uint64_t w = 0;
	if (n != NULL && key == 0)
		w = __atomic_load_n(&n->workers[pos], __ATOMIC_ACQUIRE);
	else if (n != NULL) {
		const route_group_t *g = group_find(
			cq_off_load(&n->groups[pos]), key);
		w = g != NULL ? __atomic_load_n(&g->workers, __ATOMIC_ACQUIRE)
			      : 0;
	}
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

struct route_walk {
	cq_route_result_t *r;
	int err;
};

static inline const void *
walk_candidate(void *ctx, const void *node, const cq_topic_level_t *l)
{
	(void)ctx;
	return cq_trie_candidate(
		cq_trie_kids_load(kids_word((route_node_t *)node, l->hash)),
		l->hash);
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
	uint64_t k = cq_trie_kids_load(kids_word((route_node_t *)n, l->hash));
	if (k != 0) {
		const char *p = CQ_PTR(const char, cq_trie_kids_off(k));
		unsigned shape = cq_trie_kids_shape(k);
		if (shape != CQ_TRIE_SINGLE)
			__builtin_prefetch(p + sizeof(cq_trie_tab_t) +
				sizeof(uint64_t) *
					cq_trie_home(l->hash, 1u << shape));
		else if (cq_trie_kids_tag_ok(k, l->hash))
			__builtin_prefetch(p);
	}
	cq_off_t plus = cq_off_load(&n->plus);
	if (plus != CQ_OFF_NULL)
		__builtin_prefetch(node_at(plus));
}

static inline const void *
walk_plus(void *ctx, const void *node)
{
	(void)ctx;
	return node_at(cq_off_load(&((const route_node_t *)node)->plus));
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
visit(struct route_walk *m, const route_node_t *n, int pos)
{
	m->r->workers |= __atomic_load_n(&n->workers[pos], __ATOMIC_RELAXED);
	cq_off_t gt = cq_off_load(&n->groups[pos]);
	if (cq_unlikely(gt != CQ_OFF_NULL))
		add_picks(m, gt);
}

static inline void
walk_exact(void *ctx, const void *node)
{
	visit(ctx, node, ROUTE_EXACT);
}

static inline void
walk_multi(void *ctx, const void *node)
{
	visit(ctx, node, ROUTE_MULTI);
}

static const cq_topic_walk_ops_t walk_ops = {
	.prefetch = walk_prefetch,
	.candidate = walk_candidate,
	.child = walk_child,
	.plus = walk_plus,
	.exact = walk_exact,
	.multi = walk_multi,
};

int
cq_route_match(const cq_topic_levels_t *t, cq_route_result_t *r)
{
	cq_dassert(t->seed == cq_route_area->seed);
	r->workers = 0;
	r->npicks = 0;
	struct route_walk m = {r, 0};
	if (cq_topic_walk(t, &cq_route_area->root, &walk_ops, &m) < 0 ||
		m.err < 0) {
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
		s_r->filters += a->shard[i].filters;
		s_r->recoveries += a->shard[i].recoveries;
	}
}

/* ---- purge --------------------------------------------------------- */

/* One entry to clear: its filter text (in pg->texts) and group key. */
struct purge_item {
	uint32_t off, len;
	uint64_t key;
};

struct purge_frame {
	cq_off_t node;
	uint32_t plen; /* length of the parent's path, or NO_PARENT */
};

#define NO_PARENT UINT32_MAX

struct purge {
	uint64_t bit;
	cq_route_keep_fn keep;
	void *arg;
	char *path;
	uint32_t pcap;
	char *texts;
	uint32_t tlen, tcap;
	struct purge_item *items;
	uint32_t nitems, icap;
	struct purge_frame *stack;
	uint32_t sp, scap;
	int err;
};

static void
purge_note(struct purge *pg, uint32_t len, uint64_t key)
{
	if (cq_grow((void **)&pg->items, &pg->icap, (uint64_t)pg->nitems + 1,
		    sizeof(*pg->items)) < 0 ||
		cq_grow((void **)&pg->texts, &pg->tcap,
			(uint64_t)pg->tlen + len, 1) < 0) {
		pg->err = -1;
		return;
	}
	memcpy(pg->texts + pg->tlen, pg->path, len);
	pg->items[pg->nitems++] = (struct purge_item){pg->tlen, len, key};
	pg->tlen += len;
}

/* Note the entries of n/pos (whose filter is path[0..len)) to clear. */
static void
purge_position(struct purge *pg, const route_node_t *n, int pos, uint32_t len)
{
	if ((n->workers[pos] & pg->bit) &&
		(pg->keep == NULL || !pg->keep(pg->arg, pg->path, len, 0)))
		purge_note(pg, len, 0);
	const route_groups_t *gs = CQ_PTR(const route_groups_t, n->groups[pos]);
	for (uint32_t i = 0; gs != NULL && i < gs->n; i++)
		if ((gs->g[i].workers & pg->bit) &&
			(pg->keep == NULL ||
				!pg->keep(
					pg->arg, pg->path, len, gs->g[i].key)))
			purge_note(pg, len, gs->g[i].key);
}

static void
purge_push(struct purge *pg, cq_off_t node, uint32_t plen)
{
	if (cq_grow((void **)&pg->stack, &pg->scap, (uint64_t)pg->sp + 1,
		    sizeof(*pg->stack)) < 0) {
		pg->err = -1;
		return;
	}
	pg->stack[pg->sp++] = (struct purge_frame){node, plen};
}

static void
purge_push_kids(struct purge *pg, uint64_t kids, uint32_t plen)
{
	cq_trie_iter_t it;
	cq_trie_iter_init(&it, kids);
	for (cq_off_t c; (c = cq_trie_iter_next(&it)) != CQ_OFF_NULL;)
		purge_push(pg, c, plen);
}

/* Visit one node: extend the path, note its positions, push its kids. */
static void
purge_node(struct purge *pg, struct purge_frame f)
{
	const route_node_t *n = node_at(f.node);
	uint32_t start = f.plen == NO_PARENT ? 0 : f.plen + 1;
	uint32_t len = start + n->h.len;
	if (cq_grow((void **)&pg->path, &pg->pcap, (uint64_t)len + 3, 1) < 0) {
		pg->err = -1;
		return;
	}
	if (f.plen != NO_PARENT)
		pg->path[f.plen] = '/';
	memcpy(pg->path + start, cq_trie_text(&n->h, ROUTE_TEXT), n->h.len);
	purge_position(pg, n, ROUTE_EXACT, len);
	memcpy(pg->path + len, "/#", 2);
	purge_position(pg, n, ROUTE_MULTI, len + 2);
	purge_push_kids(pg, n->h.kids, len);
	if (n->plus != CQ_OFF_NULL)
		purge_push(pg, n->plus, len);
}

/* Collect shard si's entries to clear, then clear them; shard locked. */
static long
purge_shard_locked(struct purge *pg, route_shard_t *s, unsigned si)
{
	route_area_t *a = cq_route_area;
	pg->nitems = pg->sp = pg->tlen = 0;
	if (si == a->nshards + ROUTE_SHARD_HASH) {
		if (cq_grow((void **)&pg->path, &pg->pcap, 4, 1) < 0)
			return -1;
		pg->path[0] = '#';
		purge_position(pg, &a->root, ROUTE_MULTI, 1);
	} else if (si == a->nshards + ROUTE_SHARD_PLUS) {
		if (a->root.plus != CQ_OFF_NULL)
			purge_push(pg, a->root.plus, NO_PARENT);
	} else
		purge_push_kids(pg, s->kids, NO_PARENT);
	while (pg->sp > 0 && pg->err == 0)
		purge_node(pg, pg->stack[--pg->sp]);
	if (pg->err < 0)
		return -1;
	for (uint32_t i = 0; i < pg->nitems; i++) {
		cq_topic_levels_t lv;
		if (cq_topic_levels_split(&lv, pg->texts + pg->items[i].off,
			    pg->items[i].len, a->seed) < 0)
			return -1;
		remove_locked(s, &lv, pg->items[i].key, pg->bit);
		cq_topic_levels_free(&lv);
	}
	return pg->nitems;
}

long
cq_route_purge_slot(unsigned slot, cq_route_keep_fn keep, void *arg)
{
	if (slot >= CQ_MAX_WORKERS || cq_route_area == NULL) {
		errno = EINVAL;
		return -1;
	}
	struct purge pg = {
		.bit = UINT64_C(1) << slot, .keep = keep, .arg = arg};
	long total = 0;
	route_area_t *a = cq_route_area;
	for (unsigned si = 0; si < a->nshards + ROUTE_EXTRA_SHARDS; si++) {
		route_shard_t *s = shard_lock(si);
		long n = purge_shard_locked(&pg, s, si);
		cq_mutex_unlock(&s->lock);
		if (n < 0) {
			total = -1;
			errno = ENOMEM;
			break;
		}
		total += n;
	}
	free(pg.path);
	free(pg.texts);
	free(pg.items);
	free(pg.stack);
	return total;
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
