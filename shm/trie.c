/*
 * trie.c — children tables of the shared tries (see trie.h for the layout
 * and invariants T1..T5).
 *
 * Every function except cq_trie_seek() and cq_trie_tab_check() is for
 * writers holding the owning trie's shard lock; they may therefore read
 * slots with plain loads, but every store a reader can see is a release
 * store of a whole slot or kids word.
 *
 * Counters: 'live' and 'used' only steer rebuilds.  They are raised before
 * the slot store that adds a key and lowered after the store that removes
 * one, so a writer killed between the two leaves them too high, never too
 * low: a table is never unpublished while it still holds a child.  Every
 * rebuild recounts from the slots, and the checker repairs them.
 */
#include "config.h"

#include "shm/trie.h"

#include <errno.h>

#include "core/assert.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/qsbr.h"

#define TAB_MIN_CAP 2u

static inline uint32_t
tail_of(uint32_t cap)
{
	return cap / 8 + 1;
}

static inline uint64_t
mkslot(uint32_t hash, cq_off_t off)
{
	return (uint64_t)hash << 32 | off;
}

static inline void
slot_store(cq_trie_tab_t *t, uint32_t i, uint64_t w)
{
	__atomic_store_n(&t->slot[i], w, __ATOMIC_RELEASE);
}

/* Compare the key of live slot 'w' with (hash, s, len). */
static int
slot_cmp(
	uint64_t w, uint32_t hash, const char *s, uint32_t len, size_t text_off)
{
	const cq_trie_node_t *n = CQ_PTR(
		const cq_trie_node_t, cq_trie_slot_off(w));
	return cq_trie_key_cmp(cq_trie_slot_hash(w), cq_trie_text(n, text_off),
		n->len, hash, s, len);
}

uint32_t
cq_trie_seek(const cq_trie_tab_t *t, uint32_t hash, const char *s, uint32_t len,
	bool inclusive, size_t text_off)
{
	/* Keys before the home slot of 'hash' are all smaller (T2). */
	for (uint32_t i = cq_trie_home(hash, t->cap); i < t->nslots; i++) {
		uint64_t w = cq_trie_slot_load(t, i);
		if (!cq_trie_slot_live(w))
			continue;
		int c = slot_cmp(w, hash, s, len, text_off);
		if (c > 0 || (c == 0 && inclusive))
			return i;
	}
	return t->nslots;
}

/* Place live slot 'w' at or after both *pos and its home; -1 if no room. */
static int
place(cq_trie_tab_t *t, uint32_t *pos, uint64_t w)
{
	uint32_t home = cq_trie_home(cq_trie_slot_hash(w), t->cap);
	uint32_t p = *pos > home ? *pos : home;
	if (p >= t->nslots)
		return -1;
	t->slot[p] = w; /* private table: plain stores */
	*pos = p + 1;
	t->live++;
	return 0;
}

/* Fill the fresh table t with old's live slots plus 'add' (0: none). */
static int
fill(cq_trie_tab_t *t, const cq_trie_tab_t *old, uint64_t add, size_t text_off)
{
	uint32_t pos = 0;
	const cq_trie_node_t *an = CQ_PTR(
		const cq_trie_node_t, cq_trie_slot_off(add));
	uint32_t n = old != NULL ? old->nslots : 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w = old->slot[i];
		if (!cq_trie_slot_live(w))
			continue;
		if (add != 0 &&
			slot_cmp(w, an->hash, cq_trie_text(an, text_off),
				an->len, text_off) > 0) {
			if (place(t, &pos, add) < 0)
				return -1;
			add = 0;
		}
		if (place(t, &pos, w) < 0)
			return -1;
	}
	if (add != 0 && place(t, &pos, add) < 0)
		return -1;
	t->used = t->live;
	return 0;
}

/* A new table holding old's live children plus 'add', load <= 1/2. */
static cq_off_t
tab_build(const cq_trie_tab_t *old, uint64_t add, size_t text_off)
{
	uint32_t live = 0;
	for (uint32_t i = 0; old != NULL && i < old->nslots; i++)
		live += cq_trie_slot_live(old->slot[i]);
	live += add != 0;
	uint32_t cap = TAB_MIN_CAP;
	while (cap < live * 2)
		cap *= 2;
	for (;; cap *= 2) {
		uint32_t nslots = cap + tail_of(cap);
		cq_off_t off = cq_arena_zalloc(sizeof(cq_trie_tab_t) +
			(size_t)nslots * sizeof(uint64_t));
		if (off == CQ_OFF_NULL)
			return CQ_OFF_NULL;
		cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, off);
		t->cap = cap;
		t->nslots = nslots;
		if (fill(t, old, add, text_off) == 0)
			return off;
		/* A run reached the end of the tail: spread it wider. */
		cq_arena_free(off);
	}
}

/* Try to insert w without a rebuild; -1 (nothing changed) if no room. */
static int
insert_in_place(cq_trie_tab_t *t, uint64_t w, size_t text_off)
{
	const cq_trie_node_t *c = CQ_PTR(
		const cq_trie_node_t, cq_trie_slot_off(w));
	const char *s = cq_trie_text(c, text_off);
	for (uint32_t p = cq_trie_home(c->hash, t->cap); p < t->nslots; p++) {
		uint64_t x = t->slot[p];
		if (x == 0) {
			t->live++;
			t->used++;
			slot_store(t, p, w);
			return 0;
		}
		if (!cq_trie_slot_live(x)) {
			/* Reuse the tombstone if the next key is larger. */
			uint32_t r = p + 1;
			while (r < t->nslots && t->slot[r] != 0 &&
				!cq_trie_slot_live(t->slot[r]))
				r++;
			if (r == t->nslots || t->slot[r] == 0 ||
				slot_cmp(t->slot[r], c->hash, s, c->len,
					text_off) > 0) {
				t->live++;
				slot_store(t, p, w);
				return 0;
			}
			continue;
		}
		int cmp = slot_cmp(x, c->hash, s, c->len, text_off);
		cq_assert(cmp != 0);
		if (cmp < 0)
			continue;
		/* Shift the run [p, q) right by one, from its right end (T3). */
		uint32_t q = p + 1;
		while (q < t->nslots && cq_trie_slot_live(t->slot[q]))
			q++;
		if (q == t->nslots)
			return -1;
		t->live++;
		t->used += t->slot[q] == 0;
		for (uint32_t j = q; j > p; j--)
			slot_store(t, j, t->slot[j - 1]);
		slot_store(t, p, w);
		return 0;
	}
	return -1;
}

int
cq_trie_insert(cq_off_t *kids, cq_off_t child, size_t text_off)
{
	const cq_trie_node_t *c = CQ_PTR(const cq_trie_node_t, child);
	uint64_t w = mkslot(c->hash, child);
	cq_off_t toff = cq_off_load(kids);
	cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, toff);
	if (t != NULL && (uint64_t)(t->used + 1) * 4 <= (uint64_t)t->cap * 3 &&
		insert_in_place(t, w, text_off) == 0)
		return 0;
	cq_off_t nt = tab_build(t, w, text_off);
	if (nt == CQ_OFF_NULL) {
		errno = ENOMEM;
		return -1;
	}
	CQ_CRASHPOINT("trie.table_built");
	cq_off_publish(kids, nt);
	if (toff != CQ_OFF_NULL)
		cq_qsbr_retire(toff);
	return 0;
}

void
cq_trie_remove(cq_off_t *kids, cq_off_t child, size_t text_off)
{
	const cq_trie_node_t *c = CQ_PTR(const cq_trie_node_t, child);
	cq_off_t toff = cq_off_load(kids);
	cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, toff);
	cq_assert(t != NULL);
	uint32_t p = cq_trie_home(c->hash, t->cap);
	while (p < t->nslots && cq_trie_slot_off(t->slot[p]) != child)
		p++;
	cq_assert(p < t->nslots);
	slot_store(t, p, mkslot(c->hash, CQ_TRIE_TOMB));
	if (t->live > 0)
		t->live--;
	if (t->live == 0) {
		cq_off_publish(kids, CQ_OFF_NULL);
		cq_qsbr_retire(toff);
		return;
	}
	if (t->cap > 4 * TAB_MIN_CAP && (uint64_t)t->live * 8 < t->cap) {
		cq_off_t nt = tab_build(t, 0, text_off);
		if (nt == CQ_OFF_NULL)
			return; /* sparse but correct: shrink another time */
		cq_off_publish(kids, nt);
		cq_qsbr_retire(toff);
	}
}

cq_off_t
cq_trie_node_new(size_t node_size, cq_off_t parent, uint32_t hash,
	const char *s, uint32_t len)
{
	cq_off_t off = cq_arena_alloc(node_size + len);
	if (off == CQ_OFF_NULL)
		return CQ_OFF_NULL;
	cq_trie_node_t *n = CQ_PTR(cq_trie_node_t, off);
	memset(n, 0, node_size);
	n->hash = hash;
	n->len = len;
	n->parent = parent;
	memcpy((char *)n + node_size, s, len);
	return off;
}

size_t
cq_trie_tab_bytes(cq_off_t tab)
{
	const cq_trie_tab_t *t = CQ_PTR(const cq_trie_tab_t, tab);
	return t == NULL ? 0
			 : sizeof(*t) + (size_t)t->nslots * sizeof(uint64_t);
}

/* T2 for one slot against the previous key; 0 or a reason. */
static const char *
check_order(const char *base, uint64_t prev, uint64_t w, size_t text_off)
{
	if (prev == 0)
		return NULL;
	if (cq_trie_slot_hash(w) < cq_trie_slot_hash(prev))
		return "children out of hash order";
	if (!cq_trie_slot_live(w) || !cq_trie_slot_live(prev) ||
		cq_trie_slot_hash(w) != cq_trie_slot_hash(prev))
		return NULL;
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
	if (t->cap < TAB_MIN_CAP || (t->cap & (t->cap - 1)) != 0 ||
		t->nslots != t->cap + tail_of(t->cap) ||
		!cq_off_valid(region_size, tab,
			sizeof(*t) + (size_t)t->nslots * sizeof(uint64_t))) {
		*why_r = "children table header corrupt";
		return 1;
	}
	unsigned bad = 0;
	uint64_t prev = 0;
	for (uint32_t i = 0; i < t->nslots; i++) {
		uint64_t w = t->slot[i];
		if (w == 0)
			continue;
		const char *why = NULL;
		if (cq_trie_slot_live(w)) {
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
			why = check_order(base, prev, w, text_off);
		if (why != NULL) {
			*why_r = why;
			bad++;
			continue; /* keep 'prev' a slot known to be sound */
		}
		if (cq_trie_slot_live(w) && fn != NULL)
			fn(arg, cq_trie_slot_off(w));
		prev = w;
	}
	return bad;
}
