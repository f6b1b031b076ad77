/*
 * route-index.c — the route trie's filter index: writers (see route.c for
 * the design and X1..X6; readers are in route.c, the checker in
 * route-check.c; what both tries' indexes share in topic_index.h).
 *
 * Every shard has one index, two children tables of the trie core
 * (trie.h) whose children are entries {whole-filter hash, length, slot
 * bitmap, groups, text}: the shard's exact filters in one ('index'), its
 * single-'+' filters and literal filters ending in '#' in the other
 * ('wild': the Bloom filter is rebuilt from its slots' hashes alone;
 * cq_topic_index_kind).  An entry is built
 * privately and published by the table insert; it changes afterwards
 * only by single stores of its bitmap and groups words; it leaves by the
 * table remove and is retired to QSBR.  Beside the index, the shard
 * counts its wildcard entries per shape ('+': levels and '+' position;
 * '#': literal levels) and keeps one bit per shape with entries, which
 * tells readers which probes to make, and a Bloom filter over the
 * wildcard entries' hashes (X6), which tells them which of those probes
 * can find nothing: most of them, in a big index, and each would cost a
 * cache miss.
 */
#include "config.h"

#include <errno.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/qsbr.h"
#include "shm/route-int.h"
#include "shm/route.h"
#include "shm/trie.h"

/* The table of a shard's index that holds filters of kind 'kind'. */
static uint64_t *
table_of(route_shard_t *s, uint32_t kind)
{
	return kind == CQ_TOPIC_EXACT ? &s->index : &s->wild;
}

/* The entry of indexed filter 'lv' of kind 'kind', or NULL (lock-free):
 * in the shard of its first level (X1). */
route_entry_t *
cq_route_index_find(const cq_topic_levels_t *lv, uint32_t kind)
{
	route_area_t *a = cq_route_area;
	route_shard_t *s = cq_topic_level_is_plus(&lv->lv[0])
		? &a->shard[a->nshards + ROUTE_SHARD_PLUS]
		: &a->shard[lv->lv[0].hash & (a->nshards - 1)];
	uint32_t len;
	const char *text = cq_topic_levels_text(lv, &len);
	return (route_entry_t *)cq_trie_child(
		cq_trie_kids_load(table_of(s, kind)), lv->hash, text, len,
		ROUTE_ENTRY_TEXT);
}

/* ---- X6: the Bloom filter over wildcard entries ----------------------- */

/*
 * Replace shard s's filter by one sized for its wildcard entries,
 * holding all of them and 'extra' (a key about to be published) if not
 * NULL; no filter when there is no key.  Shard lock held.  0, or -1
 * ENOMEM (the old filter stays).
 */
static int
bloom_rebuild(route_shard_t *s, const uint32_t *extra)
{
	uint64_t keys = cq_topic_shape_total(&s->counts);
	uint32_t log2 = cq_topic_bloom_log2(keys), n = 0;
	cq_off_t off = CQ_OFF_NULL, old = s->bloom;
	if (keys > 0 &&
		(off = cq_arena_zalloc(sizeof(route_bloom_t) +
			 (UINT64_C(1) << log2) / 8)) == CQ_OFF_NULL)
		return -1;
	if (off != CQ_OFF_NULL) {
		route_bloom_t *b = CQ_PTR(route_bloom_t, off);
		b->log2 = log2;
		cq_trie_iter_t it; /* the keys are in the slots */
		cq_trie_iter_init(&it, s->wild);
		for (uint64_t w; (w = cq_trie_iter_next_slot(&it)) != 0; n++)
			cq_topic_bloom_set(b->w, log2, cq_trie_slot_hash(w));
		if (extra != NULL) {
			cq_topic_bloom_set(b->w, log2, *extra);
			n++;
		}
		CQ_CRASHPOINT("route.bloom_built");
	}
	cq_off_publish(&s->bloom, off);
	if (old != CQ_OFF_NULL)
		cq_qsbr_retire(old);
	s->bloom_keys = n;
	s->bloom_stale = 0;
	return 0;
}

/* A wildcard entry with 'hash' is about to be published: its bit is set
 * first (X6), in a filter rebuilt when it is full.  Without memory for
 * that, the old filter takes it (more false positives); with no filter at
 * all, readers probe every shape. */
static void
bloom_add(route_shard_t *s, uint32_t hash)
{
	route_bloom_t *b = CQ_PTR(route_bloom_t, s->bloom);
	if ((b == NULL || cq_topic_bloom_full(s->bloom_keys, b->log2)) &&
		bloom_rebuild(s, &hash) == 0)
		return;
	if (b != NULL) {
		cq_topic_bloom_set(b->w, b->log2, hash);
		s->bloom_keys++;
	}
}

/* A wildcard entry was unlinked: its bit stays (it may be another's
 * too), the filter is rebuilt once half its keys are gone. */
static void
bloom_remove(route_shard_t *s)
{
	s->bloom_stale++;
	if (cq_topic_bloom_stale(s->bloom_keys, s->bloom_stale))
		(void)bloom_rebuild(s, NULL);
}

/* X4, X6: one more wildcard entry of kind 'kind': its shape bit and its
 * Bloom bit are set before the entry is published. */
static void
wild_add(route_shard_t *s, const cq_topic_levels_t *lv, uint32_t kind)
{
	cq_topic_shape_add(&s->shapes, &s->counts, lv->n, kind);
	bloom_add(s, lv->hash);
}

/* X4, X6: one wildcard entry fewer, after it was unlinked. */
static void
wild_remove(route_shard_t *s, const cq_topic_levels_t *lv, uint32_t kind)
{
	cq_topic_shape_remove(&s->shapes, &s->counts, lv->n, kind);
	bloom_remove(s);
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
	route_entry_t *e = cq_route_index_find(lv, kind);
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
		wild_add(s, lv, kind);
	if (cq_trie_insert(table_of(s, kind), off, ROUTE_ENTRY_TEXT) < 0) {
		if (kind != CQ_TOPIC_EXACT)
			wild_remove(s, lv, kind);
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
	route_entry_t *e = cq_route_index_find(lv, kind);
	if (e == NULL)
		return;
	if (cq_route_pay_remove(route_entry_pay(e), key, bit) > 0 &&
		s->filters > 0)
		s->filters--;
	CQ_CRASHPOINT("route.cleared");
	if (!cq_route_pay_empty(route_entry_pay(e)))
		return;
	cq_off_t off = CQ_OFF(e);
	cq_trie_remove(table_of(s, kind), off, ROUTE_ENTRY_TEXT);
	CQ_CRASHPOINT("route.unlinked");
	if (kind != CQ_TOPIC_EXACT)
		wild_remove(s, lv, kind);
	if (e->groups != CQ_OFF_NULL)
		cq_qsbr_retire(e->groups);
	cq_qsbr_retire(off);
	if (s->entries > 0)
		s->entries--;
}
