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
#include "core/log.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/qsbr.h"

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
	uint32_t cap = CQ_TRIE_MIN_CAP;
	while (cap < live * 2)
		cap *= 2;
	for (;; cap *= 2) {
		uint32_t nslots = cap + cq_trie_tail(cap);
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
	if (t->cap > 4 * CQ_TRIE_MIN_CAP && (uint64_t)t->live * 8 < t->cap) {
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

int
cq_trie_chain_build(const cq_topic_levels_t *lv, uint32_t i, uint32_t end,
	size_t node_size, cq_off_t parent, size_t plus_off, cq_off_t *first_r,
	cq_off_t *last_r)
{
	cq_off_t first = CQ_OFF_NULL;
	cq_trie_node_t *prev = NULL;
	for (uint32_t j = i; j < end; j++) {
		const cq_topic_level_t *l = &lv->lv[j];
		cq_off_t off = cq_trie_node_new(
			node_size, parent, l->hash, l->s, l->len);
		if (off == CQ_OFF_NULL)
			goto fail;
		if (prev == NULL)
			first = off;
		else if (plus_off != 0 && cq_topic_level_is_plus(l))
			*(cq_off_t *)((char *)prev + plus_off) = off;
		else if (cq_trie_insert(&prev->kids, off, node_size) < 0) {
			cq_arena_free(off);
			goto fail;
		}
		prev = CQ_PTR(cq_trie_node_t, off);
		parent = off;
	}
	*first_r = first;
	*last_r = parent;
	return 0;
fail:
	cq_trie_chain_free(first, plus_off, NULL);
	errno = ENOMEM;
	return -1;
}

void
cq_trie_chain_free(
	cq_off_t off, size_t plus_off, void (*extra)(cq_trie_node_t *n))
{
	while (off != CQ_OFF_NULL) {
		cq_trie_node_t *n = CQ_PTR(cq_trie_node_t, off);
		cq_off_t next = plus_off != 0
			? *(cq_off_t *)((char *)n + plus_off)
			: 0;
		const cq_trie_tab_t *t = CQ_PTR(const cq_trie_tab_t, n->kids);
		for (uint32_t i = 0; t != NULL && i < t->nslots; i++)
			if (cq_trie_slot_live(t->slot[i]))
				next = cq_trie_slot_off(t->slot[i]);
		if (extra != NULL)
			extra(n);
		cq_arena_free(n->kids);
		cq_arena_free(off);
		off = next;
	}
}

void
cq_trie_lock(
	cq_mutex_t *mx, uint64_t *recoveries, const char *trie, unsigned shard)
{
	if (cq_mutex_lock(mx) == CQ_LOCK_RECOVERED) {
		(*recoveries)++;
		cq_log(CQ_LOG_NOTICE, 0,
			"%s shard %u: recovered the lock of a dead writer "
			"(consistent; what it had not published is left to "
			"the checker)",
			trie, shard);
	}
}

void
cq_trie_reap_locks(
	cq_mutex_t *mx, size_t stride, unsigned n, uint64_t *recoveries)
{
	for (unsigned i = 0; i < n; i++) {
		cq_mutex_t *m = (cq_mutex_t *)((char *)mx + i * stride);
		uint64_t *rec = (uint64_t *)((char *)recoveries + i * stride);
		if (cq_mutex_owner(m) != 0 && cq_mutex_owner_dead(m)) {
			if (cq_mutex_lock(m) == CQ_LOCK_RECOVERED)
				(*rec)++;
			cq_mutex_unlock(m);
		}
	}
}

bool
cq_trie_tab_empty(cq_off_t tab)
{
	const cq_trie_tab_t *t = CQ_PTR(const cq_trie_tab_t, tab);
	if (t == NULL || t->live == 0)
		return true;
	if (t->live > 2)
		return false; /* 'live' errs high only after a crash, by one */
	for (uint32_t i = 0; i < t->nslots; i++)
		if (cq_trie_slot_live(t->slot[i]))
			return false;
	return true;
}

size_t
cq_trie_tab_bytes(cq_off_t tab)
{
	const cq_trie_tab_t *t = CQ_PTR(const cq_trie_tab_t, tab);
	return t == NULL ? 0
			 : sizeof(*t) + (size_t)t->nslots * sizeof(uint64_t);
}
