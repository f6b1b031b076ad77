/*
 * trie-check.c — checker helpers for the shared tries (trie.h): the
 * children of one kids word, and whole trees walked depth-first with an
 * explicit stack (a corrupt region can be deep or cyclic: the walk is
 * bounded by the number of nodes the region could hold).  Callers hold the
 * shard lock of what they walk, or the region is quiescent.
 */
#include "config.h"

#include "shm/trie.h"

#include <stdlib.h>

#include "shm/arena.h"

/* T2 for live slot w: above the previous live key 'prev' (0: none) and
 * not below any earlier tombstone's hash ('tomb_max'); 0 or a reason. */
static const char *
check_order(const char *base, uint64_t prev, uint32_t tomb_max, uint64_t w,
	size_t text_off)
{
	if (cq_trie_slot_hash(w) < tomb_max)
		return "a child below an earlier tombstone's hash";
	if (prev == 0)
		return NULL;
	if (cq_trie_slot_hash(w) < cq_trie_slot_hash(prev))
		return "children out of hash order";
	const cq_trie_node_t *a = cq_off_ptr(base, cq_trie_slot_off(prev));
	const cq_trie_node_t *b = cq_off_ptr(base, cq_trie_slot_off(w));
	if (cq_trie_key_cmp(a->hash, cq_trie_text(a, text_off), a->len, b->hash,
		    cq_trie_text(b, text_off), b->len) >= 0)
		return "children out of key order";
	return NULL;
}

/* Bounds of a node and its text; 0 or a reason. */
static const char *
check_node_bounds(const char *base, size_t size, cq_off_t c, size_t text_off)
{
	const cq_trie_node_t *n = cq_off_ptr(base, c);
	if (!cq_off_valid(size, c, sizeof(*n)))
		return "child offset out of bounds";
	if (!cq_off_valid(size, c, text_off + n->len))
		return "child level text out of bounds";
	return NULL;
}

static unsigned
check_table(const char *base, size_t size, cq_off_t tab, unsigned shape,
	size_t text_off, void (*fn)(void *, cq_off_t), void *arg,
	const char **why_r)
{
	const cq_trie_tab_t *t = cq_off_ptr(base, tab);
	if (!cq_off_valid(size, tab, sizeof(*t)) || shape > 30 ||
		t->cap != 1u << shape ||
		t->nslots != t->cap + cq_trie_tail(t->cap) ||
		!cq_off_valid(size, tab,
			sizeof(*t) + (size_t)t->nslots * sizeof(uint64_t))) {
		*why_r = "children table header corrupt";
		return 1;
	}
	unsigned bad = 0;
	uint64_t prev = 0;
	uint32_t tomb_max = 0;
	for (uint32_t i = 0; i < t->nslots; i++) {
		uint64_t w = t->slot[i];
		if (w == 0)
			continue;
		if (!cq_trie_slot_live(w)) {
			uint32_t h = cq_trie_slot_hash(w);
			tomb_max = h > tomb_max ? h : tomb_max;
			continue;
		}
		cq_off_t c = cq_trie_slot_off(w);
		const char *why = check_node_bounds(base, size, c, text_off);
		const cq_trie_node_t *n = cq_off_ptr(base, c);
		if (why == NULL && n->hash != cq_trie_slot_hash(w))
			why = "child hash differs from its slot";
		if (why == NULL && i < cq_trie_home(n->hash, t->cap))
			why = "child before its home slot";
		if (why == NULL)
			why = check_order(base, prev, tomb_max, w, text_off);
		if (why != NULL) {
			*why_r = why;
			bad++;
			continue; /* keep 'prev' a slot known to be sound */
		}
		if (fn != NULL)
			fn(arg, c);
		prev = w;
	}
	return bad;
}

unsigned
cq_trie_kids_check(const char *base, size_t size, uint64_t kids,
	size_t text_off, void (*fn)(void *arg, cq_off_t child), void *arg,
	const char **why_r)
{
	if (kids == 0)
		return 0;
	cq_off_t off = cq_trie_kids_off(kids);
	unsigned shape = cq_trie_kids_shape(kids);
	if (shape != CQ_TRIE_SINGLE)
		return check_table(
			base, size, off, shape, text_off, fn, arg, why_r);
	const char *why = check_node_bounds(base, size, off, text_off);
	if (why == NULL &&
		!cq_trie_kids_tag_ok(kids,
			((const cq_trie_node_t *)cq_off_ptr(base, off))->hash))
		why = "single child's tag differs from its hash";
	if (why != NULL) {
		*why_r = why;
		return 1;
	}
	if (fn != NULL)
		fn(arg, off);
	return 0;
}

static void
walk_push(void *arg, cq_off_t child)
{
	cq_trie_check_t *c = arg;
	const cq_trie_node_t *n = cq_off_ptr(c->shm->base, child);
	if (c->shard_mask != UINT32_MAX &&
		(n->hash & c->shard_mask) != c->shard)
		cq_shm_check_error(c->rep, c->module,
			"node %#x is in shard %u but hashes elsewhere", child,
			c->shard);
	if (c->sp == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 256;
		cq_off_t *s = realloc(c->stack, cap * sizeof(*c->stack));
		if (s == NULL) {
			c->oom = 1;
			return;
		}
		c->stack = s;
		c->cap = cap;
	}
	c->stack[c->sp++] = child;
}

static void
walk_kids(cq_trie_check_t *c, uint64_t kids)
{
	const char *why = NULL;
	if (cq_trie_kids_check(c->shm->base, c->shm->size, kids, c->text_off,
		    walk_push, c, &why) > 0)
		cq_shm_check_error(c->rep, c->module, "children %#llx: %s",
			(unsigned long long)kids, why);
	else if (kids != 0 && cq_trie_kids_shape(kids) != CQ_TRIE_SINGLE)
		cq_arena_mark(c->shm, c->rep, cq_trie_kids_off(kids));
}

static cq_off_t
plus_of(const cq_trie_check_t *c, const cq_trie_node_t *n)
{
	return c->plus_off != 0
		? *(const cq_off_t *)((const char *)n + c->plus_off)
		: CQ_OFF_NULL;
}

static void
walk_node(cq_trie_check_t *c, cq_off_t off)
{
	const cq_trie_node_t *n = cq_off_ptr(c->shm->base, off);
	const char *why = check_node_bounds(
		c->shm->base, c->shm->size, off, c->text_off);
	if (why != NULL) {
		cq_shm_check_error(c->rep, c->module, "node %#x: %s", off, why);
		return;
	}
	if (n->hash !=
		cq_topic_hash(cq_trie_text(n, c->text_off), n->len, c->seed))
		cq_shm_check_error(
			c->rep, c->module, "node %#x: wrong level hash", off);
	cq_arena_mark(c->shm, c->rep, off);
	c->nodes++;
	bool empty = c->node_fn(c->arg, off, n);
	cq_off_t plus = plus_of(c, n);
	if (empty && cq_trie_kids_empty(n->kids) && plus == CQ_OFF_NULL)
		c->empty++;
	c->shard_mask = UINT32_MAX; /* below the first level */
	walk_kids(c, n->kids);
	if (plus != CQ_OFF_NULL)
		walk_push(c, plus);
}

static void
walk_run(cq_trie_check_t *c)
{
	while (c->sp > 0 && !c->oom && c->budget > 0) {
		c->budget--;
		walk_node(c, c->stack[--c->sp]);
	}
	if (c->budget == 0)
		cq_shm_check_error(
			c->rep, c->module, "more nodes than fit: a cycle");
	if (c->oom)
		cq_shm_check_error(c->rep, c->module, "checker out of memory");
	c->sp = 0;
}

void
cq_trie_check_kids(
	cq_trie_check_t *c, uint64_t kids, uint32_t shard_mask, uint32_t shard)
{
	c->shard_mask = shard_mask;
	c->shard = shard;
	walk_kids(c, kids);
	walk_run(c);
}

void
cq_trie_check_node(cq_trie_check_t *c, cq_off_t node)
{
	c->shard_mask = UINT32_MAX;
	walk_push(c, node);
	walk_run(c);
}

void
cq_trie_check_done(cq_trie_check_t *c)
{
	free(c->stack);
	c->stack = NULL;
	c->sp = c->cap = 0;
}
