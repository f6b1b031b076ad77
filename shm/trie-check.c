/*
 * trie-check.c — checker helpers for the shared tries (trie.h): one
 * children table, and a whole tree walked depth-first with an explicit
 * stack (a corrupt region can be deep or cyclic: the walk is bounded by
 * the number of nodes the region could hold).  Callers hold the shard lock
 * of what they walk (or the region is quiescent).
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

unsigned
cq_trie_tab_check(const char *base, size_t region_size, cq_off_t tab,
	size_t text_off, void (*fn)(void *arg, cq_off_t child), void *arg,
	const char **why_r)
{
	if (!cq_off_valid(region_size, tab, sizeof(cq_trie_tab_t))) {
		*why_r = "children table offset out of bounds";
		return 1;
	}
	const cq_trie_tab_t *t = cq_off_ptr(base, tab);
	if (t->cap < CQ_TRIE_MIN_CAP || (t->cap & (t->cap - 1)) != 0 ||
		t->nslots != t->cap + cq_trie_tail(t->cap) ||
		!cq_off_valid(region_size, tab,
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
		const char *why = NULL;
		if (!cq_trie_slot_live(w)) {
			uint32_t h = cq_trie_slot_hash(w);
			tomb_max = h > tomb_max ? h : tomb_max;
			continue;
		}
		{
			cq_off_t c = cq_trie_slot_off(w);
			const cq_trie_node_t *n = cq_off_ptr(base, c);
			if (!cq_off_valid(region_size, c, sizeof(*n)))
				why = "child offset out of bounds";
			else if (!cq_off_valid(
					 region_size, c, text_off + n->len))
				why = "child level text out of bounds";
			else if (n->hash != cq_trie_slot_hash(w))
				why = "child hash differs from its slot";
			else if (i < cq_trie_home(n->hash, t->cap))
				why = "child before its home slot";
		}
		if (why == NULL)
			why = check_order(base, prev, tomb_max, w, text_off);
		if (why != NULL) {
			*why_r = why;
			bad++;
			continue; /* keep 'prev' a slot known to be sound */
		}
		if (fn != NULL)
			fn(arg, cq_trie_slot_off(w));
		prev = w;
	}
	return bad;
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
		void *s = realloc(c->stack, cap * sizeof(*c->stack));
		if (s == NULL) {
			c->oom = 1;
			return;
		}
		c->stack = s;
		c->cap = cap;
	}
	c->stack[c->sp].node = child;
	c->stack[c->sp++].parent = c->cur_parent;
}

static void
walk_tab(cq_trie_check_t *c, cq_off_t tab, cq_off_t parent)
{
	if (tab == CQ_OFF_NULL)
		return;
	const char *why = NULL;
	c->cur_parent = parent;
	if (cq_trie_tab_check(c->shm->base, c->shm->size, tab, c->text_off,
		    walk_push, c, &why) > 0)
		cq_shm_check_error(
			c->rep, c->module, "table %#x: %s", tab, why);
	else
		cq_arena_mark(c->shm, c->rep, tab);
}

static void
walk_node(cq_trie_check_t *c, cq_off_t off, cq_off_t parent)
{
	const cq_trie_node_t *n = cq_off_ptr(c->shm->base, off);
	if (!cq_off_valid(c->shm->size, off, c->text_off) ||
		!cq_off_valid(c->shm->size, off, c->text_off + n->len)) {
		cq_shm_check_error(
			c->rep, c->module, "node %#x out of bounds", off);
		return;
	}
	if (n->parent != parent)
		cq_shm_check_error(c->rep, c->module,
			"node %#x: parent %#x, reached from %#x", off,
			n->parent, parent);
	if (n->hash !=
		cq_topic_hash(cq_trie_text(n, c->text_off), n->len, c->seed))
		cq_shm_check_error(
			c->rep, c->module, "node %#x: wrong level hash", off);
	cq_arena_mark(c->shm, c->rep, off);
	c->nodes++;
	bool empty = c->node_fn(c->arg, off, n);
	if (empty && cq_trie_tab_empty(n->kids) &&
		(c->plus_off == 0 ||
			*(const cq_off_t *)((const char *)n + c->plus_off) ==
				CQ_OFF_NULL))
		c->empty++;
	c->shard_mask = UINT32_MAX; /* below the first level */
	walk_tab(c, n->kids, off);
	cq_off_t plus = c->plus_off != 0
		? *(const cq_off_t *)((const char *)n + c->plus_off)
		: CQ_OFF_NULL;
	if (plus != CQ_OFF_NULL) {
		c->cur_parent = off;
		walk_push(c, plus);
	}
}

static void
walk_run(cq_trie_check_t *c)
{
	while (c->sp > 0 && !c->oom && c->budget > 0) {
		c->budget--;
		c->sp--;
		walk_node(c, c->stack[c->sp].node, c->stack[c->sp].parent);
	}
	if (c->budget == 0)
		cq_shm_check_error(
			c->rep, c->module, "more nodes than fit: a cycle");
	if (c->oom)
		cq_shm_check_error(c->rep, c->module, "checker out of memory");
	c->sp = 0;
}

void
cq_trie_check_tab(cq_trie_check_t *c, cq_off_t tab, cq_off_t parent,
	uint32_t shard_mask, uint32_t shard)
{
	c->shard_mask = shard_mask;
	c->shard = shard;
	walk_tab(c, tab, parent);
	walk_run(c);
}

void
cq_trie_check_node(cq_trie_check_t *c, cq_off_t node, cq_off_t parent)
{
	c->shard_mask = UINT32_MAX;
	c->cur_parent = parent;
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
