/*
 * route-check.c — the route trie's checker (cq_shm_check, after a worker
 * died abnormally, and in tests).
 *
 * Walks every shard under its lock (R3: nothing else changes a shard's
 * nodes then, so the walk needs no QSBR registration) with the trie core's
 * walker (offsets, level hashes, children T1/T2, arena marks), and checks what is the route trie's own: slot bitmaps
 * within the configured workers, group tables.  It recounts the shard
 * statistics (R6, repaired when quiescent) and counts empty nodes left by
 * a writer killed while pruning (R5).
 */
#include "config.h"

#include <stddef.h>

#include "core/log.h"
#include "shm/arena.h"
#include "shm/route-int.h"
#include "shm/route.h"

struct rc {
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	const route_area_t *a;
	uint64_t mask; /* valid worker bits */
	uint64_t filters;
};

/* One position's bitmap and groups: counts filters, true if empty. */
static bool
check_position(struct rc *c, cq_off_t node, const route_node_t *n, int pos)
{
	bool empty = n->workers[pos] == 0;
	c->filters += !empty;
	if (n->workers[pos] & ~c->mask)
		cq_shm_check_error(c->rep, "route",
			"node %#x: worker bits %#llx beyond %u workers", node,
			(unsigned long long)n->workers[pos], c->a->nworkers);
	cq_off_t gt = n->groups[pos];
	if (gt == CQ_OFF_NULL)
		return empty;
	const route_groups_t *gs = cq_off_ptr(c->shm->base, gt);
	if (!cq_off_valid(c->shm->size, gt, sizeof(*gs)) ||
		!cq_off_valid(c->shm->size, gt,
			sizeof(*gs) + (size_t)gs->n * sizeof(route_group_t))) {
		cq_shm_check_error(
			c->rep, "route", "node %#x: group table corrupt", node);
		return empty;
	}
	cq_arena_mark(c->shm, c->rep, gt);
	for (uint32_t i = 0; i < gs->n; i++) {
		if (gs->g[i].workers != 0) {
			c->filters++;
			empty = false;
		}
		if (gs->g[i].key == 0 || (gs->g[i].workers & ~c->mask))
			cq_shm_check_error(c->rep, "route",
				"node %#x: group %u corrupt", node, i);
	}
	return empty;
}

static bool
check_node(void *arg, cq_off_t off, const cq_trie_node_t *h)
{
	const route_node_t *n = (const route_node_t *)h;
	bool e1 = check_position(arg, off, n, ROUTE_EXACT);
	bool e2 = check_position(arg, off, n, ROUTE_MULTI);
	return e1 && e2;
}

/* Walk one shard (locked by the caller) and reconcile its counters. */
static void
check_shard(struct rc *c, cq_trie_check_t *w, route_shard_t *s, unsigned si)
{
	const route_area_t *a = c->a;
	cq_off_t root = cq_ptr_off(c->shm->base, &a->root);
	w->nodes = w->empty = 0;
	c->filters = 0;
	if (si < a->nshards)
		cq_trie_check_kids(w, s->kids, a->nshards - 1, si);
	else if (si == a->nshards + ROUTE_SHARD_PLUS && a->root.plus)
		cq_trie_check_node(w, a->root.plus);
	else if (si == a->nshards + ROUTE_SHARD_HASH)
		(void)check_position(c, root, &a->root, ROUTE_MULTI);
	if (w->empty > 0)
		cq_log(CQ_LOG_NOTICE, 0,
			"route shard %u: %llu empty nodes left by a dead "
			"writer",
			si, (unsigned long long)w->empty);
	if ((s->nodes != w->nodes || s->filters != c->filters) &&
		cq_shm_check_quiescent(c->rep)) {
		s->nodes = w->nodes;
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
	cq_trie_check_t w = {.shm = shm,
		.rep = rep,
		.module = "route",
		.text_off = ROUTE_TEXT,
		.plus_off = offsetof(route_node_t, plus),
		.seed = a->seed,
		.budget = shm->size / sizeof(route_node_t),
		.node_fn = check_node,
		.arg = &c};
	for (unsigned si = 0; si < a->nshards + ROUTE_EXTRA_SHARDS; si++) {
		route_shard_t *s = &a->shard[si];
		cq_trie_lock(&s->lock, &s->recoveries, "route", si);
		check_shard(&c, &w, s, si);
		cq_mutex_unlock(&s->lock);
	}
	cq_trie_check_done(&w);
}
