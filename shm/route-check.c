/*
 * route-check.c — the route trie's checker (cq_shm_check, after a worker
 * died abnormally, and in tests).
 *
 * Walks every shard under its lock (R3: nothing else changes a shard's
 * nodes and index then, so the walk needs no QSBR registration) with the
 * trie core's walker (offsets, level hashes, children T1/T2, arena marks),
 * and checks what is the route trie's own: slot bitmaps within the
 * configured workers, group tables, and the filter index (X1..X5): the
 * table (bounds, order, homes), each entry's text, whole-filter hash,
 * kind and shard, and the shapes and Bloom filter bits its wildcard entries
 * need (a missing bit or a count below the entries is an error: readers
 * would miss filters; a count or bit too high is repaired when
 * quiescent).  It recounts the
 * shard statistics (R6, repaired when quiescent) and counts empty nodes
 * and entries left by a writer killed while removing (R5, X3).
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

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
	uint64_t entries, empty_entries;
	unsigned si; /* the shard being checked */
	const route_bloom_t *bloom; /* its Bloom filter (X6), if sound */
	bool exact; /* checking its exact table (else its wild one) */
	cq_topic_shape_counts_t found; /* wildcard entries per shape */
};

/* One position's bitmap and groups (of the node or entry at offset
 * 'node'): counts filters, true if empty. */
static bool
check_position(struct rc *c, cq_off_t node, uint64_t workers, cq_off_t gt)
{
	bool empty = workers == 0;
	c->filters += !empty;
	if (workers & ~c->mask)
		cq_shm_check_error(c->rep, "route",
			"node %#x: worker bits %#llx beyond %u workers", node,
			(unsigned long long)workers, c->a->nworkers);
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
	bool e1 = check_position(
		arg, off, n->workers[ROUTE_EXACT], n->groups[ROUTE_EXACT]);
	bool e2 = check_position(
		arg, off, n->workers[ROUTE_MULTI], n->groups[ROUTE_MULTI]);
	return e1 && e2;
}

/* The key of index entry e against its text (X1); 0 or a reason. */
static const char *
entry_key_error(struct rc *c, const route_entry_t *e)
{
	const route_area_t *a = c->a;
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, cq_trie_text(&e->h, ROUTE_ENTRY_TEXT),
		    e->h.len, a->seed) < 0)
		return "too deep for the checker's memory";
	uint32_t kind = cq_topic_index_kind(&lv);
	unsigned shard = cq_topic_level_is_plus(&lv.lv[0])
		? a->nshards + ROUTE_SHARD_PLUS
		: lv.lv[0].hash & (a->nshards - 1);
	const char *why = NULL;
	if (lv.hash != e->h.hash)
		why = "wrong whole-filter hash";
	else if (kind == CQ_TOPIC_NOT_INDEXED)
		why = "a filter only the trie may hold";
	else if (shard != c->si)
		why = "in another shard's index";
	else if ((kind == CQ_TOPIC_EXACT) != c->exact)
		why = "in the index's other table";
	else if (kind & CQ_TOPIC_MULTI)
		c->found.multi[kind & ~CQ_TOPIC_MULTI]++;
	else if (kind != CQ_TOPIC_EXACT)
		c->found.plus[lv.n - 1][kind]++;
	if (why == NULL && kind != CQ_TOPIC_EXACT && c->bloom != NULL &&
		!cq_topic_bloom_test(c->bloom->w, c->bloom->log2, e->h.hash))
		why = "not in its shard's Bloom filter: readers skip it";
	cq_topic_levels_free(&lv);
	return why;
}

/* One live entry of the index being checked (bounds already checked). */
static void
check_entry(void *arg, cq_off_t off)
{
	struct rc *c = arg;
	const route_entry_t *e = cq_off_ptr(c->shm->base, off);
	cq_arena_mark(c->shm, c->rep, off);
	c->entries++;
	if (check_position(c, off, e->h.value, e->groups))
		c->empty_entries++;
	const char *why = entry_key_error(c, e);
	if (why != NULL)
		cq_shm_check_error(
			c->rep, "route", "index entry %#x: %s", off, why);
}

/* One shape: 'have' entries found, *count counted, 'bit' of *word. */
static void
check_shape(struct rc *c, uint32_t have, uint32_t *count, uint16_t *word,
	uint16_t bit, const char *what, uint32_t a, uint32_t b)
{
	bool set = (*word & bit) != 0;
	if ((have > 0 && !set) || *count < have)
		cq_shm_check_error(c->rep, "route",
			"shard %u: %u %s entries (%u, %u), counted %u, bit %d",
			c->si, have, what, a, b, *count, set);
	else if ((*count != have || set != (have > 0)) &&
		cq_shm_check_quiescent(c->rep)) {
		*count = have;
		*word = (uint16_t)(have > 0 ? *word | bit : *word & ~bit);
		c->rep->repaired++;
	}
}

/* Shape bits and counts of shard s against the entries found (X4). */
static void
check_shapes(struct rc *c, route_shard_t *s)
{
	for (uint32_t d = 0; d < CQ_TOPIC_INDEX_DEPTH; d++) {
		for (uint32_t j = 0; j < CQ_TOPIC_INDEX_DEPTH; j++)
			check_shape(c, c->found.plus[d][j],
				&s->counts.plus[d][j], &s->shapes.plus[d],
				(uint16_t)(1u << j), "'+' (levels, '+' level)",
				d + 1, j);
		check_shape(c, c->found.multi[d], &s->counts.multi[d],
			&s->shapes.multi, (uint16_t)(1u << d),
			"'#' (literal levels, -)", d, 0);
	}
}

/* The shard's Bloom filter (X6): its bounds; c->bloom if sound. */
static void
check_bloom(struct rc *c, const route_shard_t *s)
{
	const route_bloom_t *b = cq_off_ptr(c->shm->base, s->bloom);
	c->bloom = NULL;
	if (s->bloom == CQ_OFF_NULL)
		return;
	if (!cq_off_valid(c->shm->size, s->bloom, sizeof(*b)) ||
		b->log2 < CQ_TOPIC_BLOOM_MIN_LOG2 ||
		b->log2 > CQ_TOPIC_BLOOM_MAX_LOG2 ||
		!cq_off_valid(c->shm->size, s->bloom,
			sizeof(*b) + (UINT64_C(1) << b->log2) / 8)) {
		cq_shm_check_error(c->rep, "route",
			"shard %u: Bloom filter %#x corrupt", c->si, s->bloom);
		return;
	}
	cq_arena_mark(c->shm, c->rep, s->bloom);
	c->bloom = b;
}

/* One table of the shard's filter index (exact: its exact one). */
static void
check_table(struct rc *c, uint64_t table, bool exact)
{
	const char *why = NULL;
	c->exact = exact;
	if (table != 0 && c->si == c->a->nshards + ROUTE_SHARD_HASH)
		cq_shm_check_error(
			c->rep, "route", "the '#' shard has an index");
	else if (cq_trie_kids_check(c->shm->base, c->shm->size, table,
			 ROUTE_ENTRY_TEXT, check_entry, c, &why) > 0)
		cq_shm_check_error(
			c->rep, "route", "shard %u index: %s", c->si, why);
	else if (table != 0 && cq_trie_kids_shape(table) != CQ_TRIE_SINGLE)
		cq_arena_mark(c->shm, c->rep, cq_trie_kids_off(table));
}

/* The shard's filter index: the tables, every entry, the shapes. */
static void
check_index(struct rc *c, route_shard_t *s)
{
	memset(&c->found, 0, sizeof(c->found));
	check_bloom(c, s);
	check_table(c, s->index, true);
	check_table(c, s->wild, false);
	check_shapes(c, s);
}

/* Walk one shard (locked by the caller) and reconcile its counters. */
static void
check_shard(struct rc *c, cq_trie_check_t *w, route_shard_t *s, unsigned si)
{
	const route_area_t *a = c->a;
	cq_off_t root = cq_ptr_off(c->shm->base, &a->root);
	w->nodes = w->empty = 0;
	c->filters = c->entries = c->empty_entries = 0;
	c->si = si;
	if (si < a->nshards)
		cq_trie_check_kids(w, s->kids, a->nshards - 1, si);
	else if (si == a->nshards + ROUTE_SHARD_PLUS && a->root.plus)
		cq_trie_check_node(w, a->root.plus);
	else if (si == a->nshards + ROUTE_SHARD_HASH)
		(void)check_position(c, root, a->root.workers[ROUTE_MULTI],
			a->root.groups[ROUTE_MULTI]);
	check_index(c, s);
	if (w->empty > 0 || c->empty_entries > 0)
		cq_log(CQ_LOG_NOTICE, 0,
			"route shard %u: %llu empty nodes and %llu empty "
			"index entries left by a dead writer",
			si, (unsigned long long)w->empty,
			(unsigned long long)c->empty_entries);
	if ((s->nodes != w->nodes || s->filters != c->filters ||
		    s->entries != c->entries) &&
		cq_shm_check_quiescent(c->rep)) {
		s->nodes = w->nodes;
		s->entries = c->entries;
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
		a->nworkers > CQ_MAX_WORKERS ||
		a->h_plus != cq_topic_hash("+", 1, a->seed) ||
		a->h_hash != cq_topic_hash("#", 1, a->seed)) {
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
