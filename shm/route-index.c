/*
 * route-index.c — the route trie's filter index: writers (see route.c for
 * the design and X1..X5; readers are in route.c, the checker in
 * route-check.c).
 *
 * Every shard has one index, a children table of the trie core (trie.h)
 * whose children are entries {whole-filter hash, length, slot bitmap,
 * groups, text}: the shard's exact filters and single-'+' filters
 * (cq_topic_index_kind).  An entry is built privately and published by
 * the table insert; it changes afterwards only by single stores of its
 * bitmap and groups words; it leaves by the table remove and is retired
 * to QSBR.  Beside the index, the shard counts its '+' entries per shape
 * (levels, '+' position) and keeps one bit per shape with entries, which
 * tells readers which probes to make.
 */
#include "config.h"

#include <errno.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/qsbr.h"
#include "shm/route-int.h"
#include "shm/route.h"
#include "shm/trie.h"

/* The index of the shard that holds indexed filter 'lv' (X1). */
static uint64_t *
index_word(const cq_topic_levels_t *lv)
{
	route_area_t *a = cq_route_area;
	if (cq_topic_level_is_plus(&lv->lv[0]))
		return &a->shard[a->nshards + ROUTE_SHARD_PLUS].index;
	return &a->shard[lv->lv[0].hash & (a->nshards - 1)].index;
}

/* The entry of indexed filter 'lv', or NULL (lock-free). */
route_entry_t *
cq_route_index_find(const cq_topic_levels_t *lv)
{
	uint32_t len;
	const char *s = cq_topic_levels_text(lv, &len);
	return (route_entry_t *)cq_trie_child(cq_trie_kids_load(index_word(lv)),
		lv->hash, s, len, ROUTE_ENTRY_TEXT);
}

/* X4: one more '+' entry of lv's shape; its bit is set before the entry
 * is published. */
static void
shape_add(route_shard_t *s, const cq_topic_levels_t *lv, uint32_t j)
{
	uint16_t *w = &s->shapes[lv->n - 1];
	s->shape_count[lv->n - 1][j]++;
	__atomic_store_n(w, (uint16_t)(*w | 1u << j), __ATOMIC_RELEASE);
}

/* X4: one '+' entry fewer, after it was unlinked; the bit goes with the
 * last one.  A count at 0 already is wrong low: keep the bit. */
static void
shape_remove(route_shard_t *s, const cq_topic_levels_t *lv, uint32_t j)
{
	uint32_t *c = &s->shape_count[lv->n - 1][j];
	uint16_t *w = &s->shapes[lv->n - 1];
	if (*c > 0 && --*c == 0)
		__atomic_store_n(
			w, (uint16_t)(*w & ~(1u << j)), __ATOMIC_RELEASE);
}

/*
 * Add 'bit' (key 0) or group 'key''s bit to indexed filter 'lv': to its
 * entry, or to a new entry built privately, then inserted with one store
 * (T5).  Shard lock held.  0, or -1 with errno ENOMEM (nothing changed
 * that a reader could see; a shape bit may be left set, which costs a
 * probe, no more).
 */
int
cq_route_index_add_locked(route_shard_t *s, const cq_topic_levels_t *lv,
	uint32_t kind, uint64_t key, uint64_t bit)
{
	route_entry_t *e = cq_route_index_find(lv);
	if (e != NULL) {
		int rc = cq_route_pay_add(route_entry_pay(e), key, bit);
		if (rc < 0)
			return -1;
		s->filters += (uint64_t)rc;
		return 0;
	}
	uint32_t len;
	const char *text = cq_topic_levels_text(lv, &len);
	cq_off_t off = cq_trie_node_new(ROUTE_ENTRY_TEXT, lv->hash, text, len);
	if (off == CQ_OFF_NULL) {
		errno = ENOMEM;
		return -1;
	}
	e = route_entry_at(off);
	if (cq_route_pay_add(route_entry_pay(e), key, bit) < 0)
		goto fail;
	CQ_CRASHPOINT("route.entry_built");
	if (kind != CQ_TOPIC_EXACT)
		shape_add(s, lv, kind);
	if (cq_trie_insert(&s->index, off, ROUTE_ENTRY_TEXT) < 0) {
		if (kind != CQ_TOPIC_EXACT)
			shape_remove(s, lv, kind);
		goto fail;
	}
	s->entries++;
	s->filters++;
	return 0;
fail:
	cq_arena_free(e->groups);
	cq_arena_free(off);
	errno = ENOMEM;
	return -1;
}

/*
 * Clear 'bit' (key 0) or group 'key''s bit on indexed filter 'lv'; an
 * entry left empty is unlinked, then retired with its group table (X3).
 * Shard lock held.
 */
void
cq_route_index_remove_locked(route_shard_t *s, const cq_topic_levels_t *lv,
	uint32_t kind, uint64_t key, uint64_t bit)
{
	route_entry_t *e = cq_route_index_find(lv);
	if (e == NULL)
		return;
	if (cq_route_pay_remove(route_entry_pay(e), key, bit) > 0 &&
		s->filters > 0)
		s->filters--;
	CQ_CRASHPOINT("route.cleared");
	if (!cq_route_pay_empty(route_entry_pay(e)))
		return;
	cq_off_t off = CQ_OFF(e);
	cq_trie_remove(&s->index, off, ROUTE_ENTRY_TEXT);
	CQ_CRASHPOINT("route.unlinked");
	if (kind != CQ_TOPIC_EXACT)
		shape_remove(s, lv, kind);
	if (e->groups != CQ_OFF_NULL)
		cq_qsbr_retire(e->groups);
	cq_qsbr_retire(off);
	if (s->entries > 0)
		s->entries--;
}
