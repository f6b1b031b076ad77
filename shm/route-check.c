/*
 * route-check.c — the route trie's checker (cq_shm_check, after a worker
 * died abnormally, and in tests).
 *
 * Walks every shard under its lock (R3: nothing else changes a shard's
 * nodes then, so the walk needs no QSBR registration) and validates what
 * route.c promises: offsets in bounds, parent links (R4), level hashes,
 * children tables (trie.h T1/T2), slot bitmaps within the configured
 * workers, group tables.  It recounts the shard statistics (R6, repaired
 * when quiescent), counts empty nodes left by a writer killed while
 * pruning (R5), and during a quiescent check marks every object it reaches
 * so the arena can count what a dead writer leaked.
 *
 * A corrupt region may contain cycles: the walk visits at most as many
 * nodes as the region could hold.
 */
#include "config.h"

#include <stdlib.h>

#include "core/log.h"
#include "shm/arena.h"
#include "shm/route-int.h"
#include "shm/route.h"

struct rc_frame {
	cq_off_t node;
	cq_off_t parent;
};

struct rc {
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	const route_area_t *a;
	uint64_t mask; /* valid worker bits */
	struct rc_frame *stack;
	uint32_t sp, cap;
	cq_off_t cur_parent;
	int cur_shard; /* -1: not a root-level table */
	uint64_t nodes, filters, empty, budget;
	int oom;
};

static void
push(void *arg, cq_off_t child)
{
	struct rc *c = arg;
	const route_node_t *n = cq_off_ptr(c->shm->base, child);
	if (c->cur_shard >= 0 &&
		(n->h.hash & (c->a->nshards - 1)) != (uint32_t)c->cur_shard)
		cq_shm_check_error(c->rep, "route",
			"node %#x is in shard %d but hashes elsewhere", child,
			c->cur_shard);
	if (c->sp == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 256;
		struct rc_frame *s = realloc(c->stack, cap * sizeof(*s));
		if (s == NULL) {
			c->oom = 1;
			return;
		}
		c->stack = s;
		c->cap = cap;
	}
	c->stack[c->sp++] = (struct rc_frame){child, c->cur_parent};
}

/* Check a children table and push its children with parent 'parent'. */
static void
check_kids(struct rc *c, cq_off_t tab, cq_off_t parent, int shard)
{
	if (tab == CQ_OFF_NULL)
		return;
	const char *why = NULL;
	c->cur_parent = parent;
	c->cur_shard = shard;
	if (cq_trie_tab_check(c->shm->base, c->shm->size, tab, ROUTE_TEXT, push,
		    c, &why) > 0)
		cq_shm_check_error(c->rep, "route", "table %#x: %s", tab, why);
	else
		cq_arena_mark(c->shm, c->rep, tab);
}

/* One position's bitmap and groups; 1 if it holds a filter. */
static uint64_t
check_position(struct rc *c, cq_off_t node, const route_node_t *n, int pos)
{
	uint64_t filters = n->workers[pos] != 0;
	if (n->workers[pos] & ~c->mask)
		cq_shm_check_error(c->rep, "route",
			"node %#x: worker bits %#llx beyond %u workers", node,
			(unsigned long long)n->workers[pos], c->a->nworkers);
	cq_off_t gt = n->groups[pos];
	if (gt == CQ_OFF_NULL)
		return filters;
	const route_groups_t *gs = cq_off_ptr(c->shm->base, gt);
	if (!cq_off_valid(c->shm->size, gt, sizeof(*gs)) ||
		!cq_off_valid(c->shm->size, gt,
			sizeof(*gs) + (size_t)gs->n * sizeof(route_group_t))) {
		cq_shm_check_error(
			c->rep, "route", "node %#x: group table corrupt", node);
		return filters;
	}
	cq_arena_mark(c->shm, c->rep, gt);
	for (uint32_t i = 0; i < gs->n; i++) {
		filters += gs->g[i].workers != 0;
		if (gs->g[i].key == 0 || (gs->g[i].workers & ~c->mask))
			cq_shm_check_error(c->rep, "route",
				"node %#x: group %u corrupt", node, i);
	}
	return filters;
}

static bool
position_empty(const route_node_t *n, int pos, const char *base)
{
	if (n->workers[pos] != 0)
		return false;
	const route_groups_t *gs = cq_off_ptr(base, n->groups[pos]);
	for (uint32_t i = 0; gs != NULL && i < gs->n; i++)
		if (gs->g[i].workers != 0)
			return false;
	return true;
}

static void
check_node(struct rc *c, struct rc_frame f)
{
	const route_node_t *n = cq_off_ptr(c->shm->base, f.node);
	if (!cq_off_valid(c->shm->size, f.node, sizeof(*n)) ||
		!cq_off_valid(c->shm->size, f.node, ROUTE_TEXT + n->h.len)) {
		cq_shm_check_error(
			c->rep, "route", "node %#x out of bounds", f.node);
		return;
	}
	if (n->h.parent != f.parent)
		cq_shm_check_error(c->rep, "route",
			"node %#x: parent %#x, reached from %#x", f.node,
			n->h.parent, f.parent);
	if (n->h.hash !=
		cq_topic_hash(
			cq_trie_text(&n->h, ROUTE_TEXT), n->h.len, c->a->seed))
		cq_shm_check_error(
			c->rep, "route", "node %#x: wrong level hash", f.node);
	c->filters += check_position(c, f.node, n, ROUTE_EXACT) +
		check_position(c, f.node, n, ROUTE_MULTI);
	cq_arena_mark(c->shm, c->rep, f.node);
	c->nodes++;
	bool leaf = n->h.kids == CQ_OFF_NULL && n->plus == CQ_OFF_NULL;
	if (leaf && position_empty(n, ROUTE_EXACT, c->shm->base) &&
		position_empty(n, ROUTE_MULTI, c->shm->base))
		c->empty++;
	check_kids(c, n->h.kids, f.node, -1);
	if (n->plus != CQ_OFF_NULL) {
		c->cur_parent = f.node;
		c->cur_shard = -1;
		push(c, n->plus);
	}
}

/* Walk one shard (locked by the caller) and reconcile its counters. */
static void
check_shard(struct rc *c, route_shard_t *s, unsigned si)
{
	const route_area_t *a = c->a;
	cq_off_t root = cq_ptr_off(c->shm->base, &a->root);
	c->nodes = c->filters = c->empty = 0;
	c->sp = 0;
	if (si < a->nshards)
		check_kids(c, s->kids, root, (int)si);
	else if (si == a->nshards + ROUTE_SHARD_PLUS && a->root.plus) {
		c->cur_parent = root;
		c->cur_shard = -1;
		push(c, a->root.plus);
	} else if (si == a->nshards + ROUTE_SHARD_HASH)
		c->filters += check_position(c, root, &a->root, ROUTE_MULTI);
	while (c->sp > 0 && !c->oom && c->budget > 0) {
		c->budget--;
		check_node(c, c->stack[--c->sp]);
	}
	if (c->budget == 0)
		cq_shm_check_error(
			c->rep, "route", "more nodes than fit: a cycle");
	if (c->empty > 0)
		cq_log(CQ_LOG_NOTICE, 0,
			"route shard %u: %llu empty nodes left by a dead "
			"writer",
			si, (unsigned long long)c->empty);
	if ((s->nodes != c->nodes || s->filters != c->filters) &&
		cq_shm_check_quiescent(c->rep)) {
		s->nodes = c->nodes;
		s->filters = c->filters;
		c->rep->repaired++;
	}
}

void
cq_route_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	route_area_t *a = area;
	if (a->magic != ROUTE_MAGIC || a->nshards == 0 ||
		(a->nshards & (a->nshards - 1)) != 0 ||
		a->nworkers > CQ_MAX_WORKERS) {
		cq_shm_check_error(rep, "route", "area header corrupt");
		return;
	}
	struct rc c = {.shm = shm, .rep = rep, .a = a};
	c.mask = a->nworkers >= 64 ? UINT64_MAX
				   : (UINT64_C(1) << a->nworkers) - 1;
	c.budget = shm->size / sizeof(route_node_t);
	for (unsigned si = 0; si < a->nshards + ROUTE_EXTRA_SHARDS; si++) {
		route_shard_t *s = &a->shard[si];
		if (cq_mutex_lock(&s->lock) == CQ_LOCK_RECOVERED)
			s->recoveries++;
		check_shard(&c, s, si);
		cq_mutex_unlock(&s->lock);
	}
	if (c.oom)
		cq_shm_check_error(rep, "route", "checker out of memory");
	free(c.stack);
}
