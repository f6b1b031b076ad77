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
 *     shifts the following run back instead of leaving tombstones);
 *   - a resize moves entries MOVE_STEP slots per add or remove (and per
 *     cq_subtrie_tidy() budget), never all at once: while it runs, every
 *     entry is in exactly one of the tables, the old one's slots below
 *     old_at are EMPTY, and lookups try the new table, then the old.
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
#include <sys/mman.h>

#include "core/assert.h"

#define INDEX_MIN_CAP 16u
/* Old slots a resize moves per add or remove: a resize started at cap
 * slots ends after cap / MOVE_STEP of them, long before the new table
 * could want another (it would take cap / 4 adds or removes). */
#define MOVE_STEP 32u

static bool
entry_is(const struct st_entry *e, uint32_t hash, const char *s, uint32_t len)
{
	return e->hash == hash && e->len == len && memcmp(e->text, s, len) == 0;
}

/* ---- the Bloom filter over wildcard entries ---------------------------- */

/*
 * Readers use x->bloom.  A replacement (x->nbloom, sized for twice the
 * wildcard entries) is built in steps: a scan over t's slots, then old's,
 * sets the bits of the wildcard entries it finds.  An entry added, or
 * moved from one slot to another (a resize, a backward shift), while the
 * build runs gets its bit at once, so none is missed whether the scan had
 * passed its new slot or not reached its old one; a resize that starts
 * meanwhile (t becomes old) restarts the scan.  When the scan ends the
 * new filter replaces the old one.  Without a filter every probe is made.
 */

/* An entry was added or moved: its bit in the filter being built. */
static void
bloom_note(struct st_index *x, const struct st_islot *s)
{
	if (x->nbloom != NULL && s->wild) {
		cq_topic_bloom_set(x->nbloom, x->nbloom_log2, s->hash);
		x->nbloom_keys++;
	}
}

/* Start building a replacement (one at a time; without memory, later). */
static void
bloom_start(struct st_index *x)
{
	if (x->nbloom != NULL)
		return;
	uint64_t keys = cq_topic_shape_total(&x->counts);
	uint32_t log2 = cq_topic_bloom_log2(keys * 2);
	x->nbloom = calloc((UINT64_C(1) << log2) / 64, 8);
	x->nbloom_log2 = log2;
	x->nbloom_keys = x->nbloom_stale = 0;
	x->nbloom_k = x->nbloom_at = 0;
}

static void
bloom_swap(struct st_index *x)
{
	free(x->bloom);
	x->bloom = x->nbloom;
	x->bloom_log2 = x->nbloom_log2;
	x->bloom_keys = x->nbloom_keys;
	x->bloom_stale = x->nbloom_stale;
	x->nbloom = NULL;
}

/* Scan up to 'budget' slots of the build. */
static void
bloom_step(struct st_index *x, uint32_t budget)
{
	while (x->nbloom != NULL && budget-- > 0) {
		const struct st_itable *tb = x->nbloom_k == 0 ? &x->t : &x->old;
		if (x->nbloom_at < tb->cap) {
			bloom_note(x, &tb->slot[x->nbloom_at++]);
		} else if (x->nbloom_k == 0) {
			x->nbloom_k = 1;
			x->nbloom_at = 0;
		} else {
			bloom_swap(x);
		}
	}
}

/* A wildcard entry with 'hash' is added: its bit in both filters; a
 * build starts when the filter is missing or full. */
static void
bloom_add(struct st_index *x, uint32_t hash)
{
	if (x->bloom == NULL ||
		cq_topic_bloom_full(x->bloom_keys, x->bloom_log2))
		bloom_start(x);
	if (x->bloom != NULL) {
		cq_topic_bloom_set(x->bloom, x->bloom_log2, hash);
		x->bloom_keys++;
	}
	bloom_note(x, &(struct st_islot){hash, 1, NULL});
}

/* A wildcard entry is gone: a build starts once half the keys are. */
static void
bloom_remove(struct st_index *x)
{
	x->bloom_stale++;
	if (x->nbloom != NULL)
		x->nbloom_stale++;
	if (cq_topic_bloom_stale(x->bloom_keys, x->bloom_stale))
		bloom_start(x);
}

/* In table tb: the slot holding the entry (hash, s, len), or the EMPTY
 * slot ending its run; tb->cap is not 0. */
static uint32_t
table_slot(
	const struct st_itable *tb, uint32_t hash, const char *s, uint32_t len)
{
	uint32_t mask = tb->cap - 1;
	uint32_t i = hash & mask;
	while (tb->slot[i].e != NULL &&
		!(tb->slot[i].hash == hash &&
			entry_is(tb->slot[i].e, hash, s, len)))
		i = (i + 1) & mask;
	return i;
}

/* lv's entry and the table holding it (*tb_r, *at_r), or NULL. */
static struct st_entry *
find_in(struct st_index *x, const cq_topic_levels_t *lv,
	struct st_itable **tb_r, uint32_t *at_r)
{
	uint32_t len;
	const char *s = cq_topic_levels_text(lv, &len);
	struct st_itable *tabs[2] = {&x->t, &x->old};
	for (unsigned k = 0; k < 2; k++) {
		struct st_itable *tb = tabs[k];
		if (tb->cap == 0)
			continue;
		uint32_t i = table_slot(tb, lv->hash, s, len);
		if (tb->slot[i].e != NULL) {
			*tb_r = tb;
			*at_r = i;
			return tb->slot[i].e;
		}
	}
	return NULL;
}

struct st_entry *
cq_subtrie_index_find(const cq_subtrie_t *t, const cq_topic_levels_t *lv)
{
	struct st_itable *tb;
	uint32_t at;
	/* find_in() does not write; the cast keeps one lookup. */
	return find_in((struct st_index *)&t->idx, lv, &tb, &at);
}

static void
table_put(struct st_itable *tb, struct st_islot in)
{
	uint32_t mask = tb->cap - 1, i = in.hash & mask;
	while (tb->slot[i].e != NULL)
		i = (i + 1) & mask;
	tb->slot[i] = in;
	tb->n++;
}

/* Backward-shift deletion of slot i (linear probing).  The slots it
 * refills are i and slots after it, up to the next EMPTY one. */
static void
table_delete(struct st_index *x, struct st_itable *tb, uint32_t i)
{
	uint32_t mask = tb->cap - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (tb->slot[j].e == NULL)
			break;
		if (!probe_stays(i, j, tb->slot[j].hash & mask)) {
			tb->slot[i] = tb->slot[j];
			bloom_note(x, &tb->slot[i]);
			i = j;
		}
	}
	tb->slot[i] = (struct st_islot){0, 0, NULL};
	tb->n--;
}

/*
 * Tables of BIG_TABLE bytes or more are mapped, not calloc'ed: a calloc
 * that reuses freed memory clears it at once (32 MB for 2M slots, a pause
 * of milliseconds), while fresh anonymous pages are cleared one at a time
 * as the moving fills them.
 */
#define BIG_TABLE (1u << 20)

static struct st_islot *
table_alloc(uint32_t cap)
{
	size_t bytes = (size_t)cap * sizeof(struct st_islot);
	if (bytes < BIG_TABLE)
		return calloc(cap, sizeof(struct st_islot));
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p != MAP_FAILED ? p : NULL;
}

static void
table_free(struct st_itable *tb)
{
	size_t bytes = (size_t)tb->cap * sizeof(struct st_islot);
	if (bytes < BIG_TABLE)
		free(tb->slot);
	else if (tb->slot != NULL)
		munmap(tb->slot, bytes);
	*tb = (struct st_itable){0};
}

/*
 * Move up to 'budget' slots' worth of a resize: old's slots from old_at
 * on, each emptied into t (a deletion there may pull the next entry of
 * the run back into old_at: it is looked at again).  The slots below
 * old_at stay EMPTY: a deletion only refills the slot it empties and
 * slots after it, up to an EMPTY one.  The old table is freed when empty.
 */
static void
move_some(struct st_index *x, uint32_t budget)
{
	while (x->old.cap != 0 && budget-- > 0) {
		struct st_islot *s = &x->old.slot[x->old_at];
		if (s->e != NULL) {
			struct st_islot in = *s;
			table_delete(x, &x->old, x->old_at);
			table_put(&x->t, in);
			bloom_note(x, &in);
			continue;
		}
		if (x->old.n == 0 || ++x->old_at == x->old.cap) {
			table_free(&x->old);
			x->old_at = 0;
		}
	}
}

/* Start moving the entries to a table of 'cap' slots (a resize still in
 * progress is finished first).  0, or -1 ENOMEM (nothing changed). */
static int
resize(struct st_index *x, uint32_t cap)
{
	struct st_islot *slot = table_alloc(cap);
	if (slot == NULL) {
		errno = ENOMEM;
		return -1;
	}
	move_some(x, UINT32_MAX);
	x->old = x->t;
	x->old_at = 0;
	x->t = (struct st_itable){slot, cap, 0};
	if (x->old.n == 0)
		table_free(&x->old);
	x->nbloom_k = x->nbloom_at = 0; /* a build scans the tables again */
	return 0;
}

void
cq_subtrie_bloom_rebuild(cq_subtrie_t *t)
{
	bloom_start(&t->idx);
}

bool
cq_subtrie_tidy(cq_subtrie_t *t, uint32_t budget)
{
	move_some(&t->idx, budget);
	bloom_step(&t->idx, budget);
	return t->idx.old.cap != 0 || t->idx.nbloom != NULL;
}

/* ---- entries ------------------------------------------------------- */

struct st_entry *
cq_subtrie_index_add(
	cq_subtrie_t *t, const cq_topic_levels_t *lv, uint32_t kind)
{
	struct st_index *x = &t->idx;
	move_some(x, MOVE_STEP);
	bloom_step(x, MOVE_STEP);
	uint64_t n = cq_subtrie_index_size(x);
	if ((n + 1) * 4 > (uint64_t)x->t.cap * 3 &&
		resize(x, x->t.cap ? x->t.cap * 2 : INDEX_MIN_CAP) < 0)
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
	table_put(&x->t, (struct st_islot){e->hash, kind != CQ_TOPIC_EXACT, e});
	return e;
}

void
cq_subtrie_index_drop_if_empty(cq_subtrie_t *t, const cq_topic_levels_t *lv,
	uint32_t kind, struct st_entry *e)
{
	struct st_index *x = &t->idx;
	if (e->f.subs.n != 0 || e->f.groups != NULL)
		return;
	move_some(x, MOVE_STEP);
	bloom_step(x, MOVE_STEP);
	struct st_itable *tb;
	uint32_t at;
	struct st_entry *found = find_in(x, lv, &tb, &at);
	cq_dassert(found == e);
	if (found != e)
		return; /* not in the index: leave it alone */
	table_delete(x, tb, at);
	if (kind != CQ_TOPIC_EXACT) {
		cq_topic_shape_remove(&x->shapes, &x->counts, lv->n, kind);
		bloom_remove(x);
	}
	cq_subtrie_filter_release(&e->f);
	free(e);
	/* Shrink a sparse table (without memory: stay, still correct). */
	if (x->t.cap > INDEX_MIN_CAP &&
		(uint64_t)cq_subtrie_index_size(x) * 8 < x->t.cap)
		(void)resize(x, x->t.cap / 2);
}

void
cq_subtrie_index_free(cq_subtrie_t *t)
{
	struct st_index *x = &t->idx;
	struct st_itable *tabs[2] = {&x->t, &x->old};
	for (unsigned k = 0; k < 2; k++) {
		struct st_islot *sl = tabs[k]->slot;
		for (uint32_t i = 0; i < tabs[k]->cap; i++)
			if (sl[i].e != NULL) {
				cq_subtrie_filter_release(&sl[i].e->f);
				free(sl[i].e);
			}
		table_free(tabs[k]);
	}
	free(x->bloom);
	free(x->nbloom);
	*x = (struct st_index){0};
}
