/*
 * subtrie-index.c — the private trie's filter index (see subtrie.h and
 * shm/topic_index.h): exact filters, single-'+' filters and literal
 * filters ending in '#' are not in the trie but entries of one
 * open-addressed table keyed by (whole-filter hash, text), each holding
 * the filter's record (subscribers, groups).  Matching (subtrie-match.c)
 * probes it once for the topic and once per wildcard shape that can match
 * it, skipping the probes its Bloom filter rules out.
 *
 * Invariants:
 *   - a filter is in the index iff cq_topic_index_kind() says so, and is
 *     then nowhere in the trie;
 *   - an entry whose record has no subscriber and no group is removed and
 *     freed at once (no dead entries);
 *   - the shape counts are the numbers of wildcard entries of each shape,
 *     and a shape's bit is set iff its count is not 0;
 *   - every wildcard entry's key has its bit in the Bloom filter, if
 *     there is one (a filter that cannot be made: every probe is made);
 *   - load at most 3/4; an EMPTY slot ends every probe sequence (deletion
 *     shifts the following run back instead of leaving tombstones).
 *
 * Single-threaded like the rest of the private trie.
 */
#include "config.h"

#include "workers/subtrie.h"
#include "workers/subtrie-int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MIN_CAP 16u

static bool
entry_is(const struct st_entry *e, uint32_t hash, const char *s, uint32_t len)
{
	return e->hash == hash && e->len == len && memcmp(e->text, s, len) == 0;
}

/* The slot holding lv's entry, or the EMPTY slot ending its run. */
static uint32_t
slot_of(const struct st_index *x, const cq_topic_levels_t *lv)
{
	uint32_t len, mask = x->cap - 1;
	const char *s = cq_topic_levels_text(lv, &len);
	uint32_t i = lv->hash & mask;
	while (x->slot[i].e != NULL &&
		!(x->slot[i].hash == lv->hash &&
			entry_is(x->slot[i].e, lv->hash, s, len)))
		i = (i + 1) & mask;
	return i;
}

struct st_entry *
cq_subtrie_index_find(const cq_subtrie_t *t, const cq_topic_levels_t *lv)
{
	const struct st_index *x = &t->idx;
	return x->cap == 0 ? NULL : x->slot[slot_of(x, lv)].e;
}

static void
slot_put(struct st_islot *slot, uint32_t cap, struct st_islot in)
{
	uint32_t mask = cap - 1, i = in.hash & mask;
	while (slot[i].e != NULL)
		i = (i + 1) & mask;
	slot[i] = in;
}

/* Move the entries to a table of 'cap' slots.  0 or -1 ENOMEM. */
static int
rehash(struct st_index *x, uint32_t cap)
{
	struct st_islot *slot = calloc(cap, sizeof(*slot));
	if (slot == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 0; i < x->cap; i++)
		if (x->slot[i].e != NULL)
			slot_put(slot, cap, x->slot[i]);
	free(x->slot);
	x->slot = slot;
	x->cap = cap;
	return 0;
}

/* ---- the Bloom filter over wildcard entries ---------------------------- */

/*
 * Replace the filter by one sized for the wildcard entries, holding all
 * of them and 'extra' if not NULL; none when there is no key.  0, or -1
 * ENOMEM (the old one stays).
 */
static int
bloom_rebuild(struct st_index *x, const uint32_t *extra)
{
	uint64_t keys = cq_topic_shape_total(&x->counts);
	uint32_t log2 = cq_topic_bloom_log2(keys), n = 0;
	uint64_t *w = NULL;
	if (keys > 0 && (w = calloc((UINT64_C(1) << log2) / 64, 8)) == NULL)
		return -1;
	for (uint32_t i = 0; w != NULL && i < x->cap; i++) {
		if (x->slot[i].e != NULL && x->slot[i].wild) {
			cq_topic_bloom_set(w, log2, x->slot[i].hash);
			n++;
		}
	}
	if (w != NULL && extra != NULL) {
		cq_topic_bloom_set(w, log2, *extra);
		n++;
	}
	free(x->bloom);
	x->bloom = w;
	x->bloom_log2 = log2;
	x->bloom_keys = n;
	x->bloom_stale = 0;
	return 0;
}

/* A wildcard entry with 'hash' is added: its bit in a filter rebuilt
 * when full (without memory, the old one takes it). */
static void
bloom_add(struct st_index *x, uint32_t hash)
{
	if ((x->bloom == NULL ||
		    cq_topic_bloom_full(x->bloom_keys, x->bloom_log2)) &&
		bloom_rebuild(x, &hash) == 0)
		return;
	if (x->bloom != NULL) {
		cq_topic_bloom_set(x->bloom, x->bloom_log2, hash);
		x->bloom_keys++;
	}
}

/* A wildcard entry is gone: rebuilt once half the keys are. */
static void
bloom_remove(struct st_index *x)
{
	x->bloom_stale++;
	if (cq_topic_bloom_stale(x->bloom_keys, x->bloom_stale))
		(void)bloom_rebuild(x, NULL);
}

/* ---- entries ------------------------------------------------------- */

struct st_entry *
cq_subtrie_index_add(
	cq_subtrie_t *t, const cq_topic_levels_t *lv, uint32_t kind)
{
	struct st_index *x = &t->idx;
	if ((uint64_t)(x->n + 1) * 4 > (uint64_t)x->cap * 3 &&
		rehash(x, x->cap ? x->cap * 2 : INDEX_MIN_CAP) < 0)
		return NULL;
	uint32_t len;
	const char *s = cq_topic_levels_text(lv, &len);
	struct st_entry *e = calloc(1, sizeof(*e) + len);
	if (e == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	e->hash = lv->hash;
	e->len = len;
	memcpy(e->text, s, len);
	if (kind != CQ_TOPIC_EXACT) { /* before it is in the table */
		cq_topic_shape_add(&x->shapes, &x->counts, lv->n, kind);
		bloom_add(x, lv->hash);
	}
	slot_put(x->slot, x->cap,
		(struct st_islot){e->hash, kind != CQ_TOPIC_EXACT, e});
	x->n++;
	return e;
}

/* Backward-shift deletion of slot i (linear probing). */
static void
slot_delete(struct st_index *x, uint32_t i)
{
	uint32_t mask = x->cap - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (x->slot[j].e == NULL)
			break;
		if (!probe_stays(i, j, x->slot[j].hash & mask)) {
			x->slot[i] = x->slot[j];
			i = j;
		}
	}
	x->slot[i] = (struct st_islot){0, 0, NULL};
}

void
cq_subtrie_index_drop_if_empty(cq_subtrie_t *t, const cq_topic_levels_t *lv,
	uint32_t kind, struct st_entry *e)
{
	struct st_index *x = &t->idx;
	if (e->f.subs.n != 0 || e->f.groups != NULL)
		return;
	slot_delete(x, slot_of(x, lv));
	x->n--;
	if (kind != CQ_TOPIC_EXACT) {
		cq_topic_shape_remove(&x->shapes, &x->counts, lv->n, kind);
		bloom_remove(x);
	}
	cq_subtrie_filter_release(&e->f);
	free(e);
	/* Shrink a sparse table (without memory: stay, still correct). */
	if (x->cap > INDEX_MIN_CAP && (uint64_t)x->n * 8 < x->cap)
		(void)rehash(x, x->cap / 2);
}

void
cq_subtrie_index_free(cq_subtrie_t *t)
{
	struct st_index *x = &t->idx;
	for (uint32_t i = 0; i < x->cap; i++)
		if (x->slot[i].e != NULL) {
			cq_subtrie_filter_release(&x->slot[i].e->f);
			free(x->slot[i].e);
		}
	free(x->slot);
	free(x->bloom);
	*x = (struct st_index){0};
}
