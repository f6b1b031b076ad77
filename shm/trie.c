/*
 * trie.c — children of the shared tries (see trie.h for the layout and
 * invariants T1..T5).
 *
 * Every function except the iterator is for writers holding the owning
 * trie's shard lock; they may therefore read slots with plain loads, but
 * every store a reader can see is a release store of a whole slot or kids
 * word.
 *
 * Counters: 'live' and 'used' only steer rebuilds.  They are raised before
 * the slot store that adds a key and lowered after the store that removes
 * one, so a writer killed between the two leaves them too high, never too
 * low: children are never unpublished while one is still there.  Every
 * rebuild recounts from the slots.
 */
#include "config.h"

#include "shm/trie.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

static inline const cq_trie_node_t *
node_at(cq_off_t off)
{
	return CQ_PTR(const cq_trie_node_t, off);
}

/* Compare the key of live slot 'w' with (hash, s, len); the child is
 * read only when the hashes are equal (rebuilding a big table then reads
 * its slots, not its children). */
static int
slot_cmp(
	uint64_t w, uint32_t hash, const char *s, uint32_t len, size_t text_off)
{
	uint32_t h = cq_trie_slot_hash(w);
	if (h != hash)
		return h < hash ? -1 : 1;
	const cq_trie_node_t *n = node_at(cq_trie_slot_off(w));
	return cq_trie_key_cmp(
		h, cq_trie_text(n, text_off), n->len, hash, s, len);
}

/* ---- iteration ------------------------------------------------------ */

void
cq_trie_iter_init(cq_trie_iter_t *it, uint64_t kids)
{
	*it = (cq_trie_iter_t){0};
	if (kids == 0)
		return;
	cq_off_t off = cq_trie_kids_off(kids);
	unsigned shape = cq_trie_kids_shape(kids);
	if (shape == CQ_TRIE_SINGLE) {
		it->one = mkslot(node_at(off)->hash, off);
		it->n = 1;
		return;
	}
	it->cap = 1u << shape;
	it->n = it->cap + cq_trie_tail(it->cap);
	it->slot = CQ_PTR(const cq_trie_tab_t, off)->slot;
}

static inline uint64_t
iter_slot(const cq_trie_iter_t *it, uint32_t i)
{
	return it->slot != NULL
		? __atomic_load_n(&it->slot[i], __ATOMIC_ACQUIRE)
		: it->one;
}

void
cq_trie_iter_seek(cq_trie_iter_t *it, uint32_t hash, const char *s,
	uint32_t len, bool inclusive, size_t text_off)
{
	/* Keys before the home slot of 'hash' are all smaller (T2). */
	uint32_t i = it->slot != NULL ? cq_trie_home(hash, it->cap) : 0;
	for (; i < it->n; i++) {
		uint64_t w = iter_slot(it, i);
		if (!cq_trie_slot_live(w))
			continue;
		int c = slot_cmp(w, hash, s, len, text_off);
		if (c > 0 || (c == 0 && inclusive))
			break;
	}
	it->i = i;
}

uint64_t
cq_trie_iter_next_slot(cq_trie_iter_t *it)
{
	while (it->i < it->n) {
		uint64_t w = iter_slot(it, it->i++);
		if (cq_trie_slot_live(w))
			return w;
	}
	return 0;
}

cq_off_t
cq_trie_iter_next(cq_trie_iter_t *it)
{
	return cq_trie_slot_off(cq_trie_iter_next_slot(it));
}

/* ---- building tables ------------------------------------------------- */

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

/* Fill the fresh table t with the children of 'old' plus 'add' (0: none)
 * minus 'drop' (0: none), in key order. */
static int
fill(cq_trie_tab_t *t, uint64_t old, uint64_t add, cq_off_t drop,
	size_t text_off)
{
	uint32_t pos = 0;
	const cq_trie_node_t *an = node_at(cq_trie_slot_off(add));
	cq_trie_iter_t it;
	cq_trie_iter_init(&it, old);
	for (uint64_t w; (w = cq_trie_iter_next_slot(&it)) != 0;) {
		if (cq_trie_slot_off(w) == drop)
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

static unsigned
log2u(uint32_t v)
{
	return 31u - (unsigned)__builtin_clz(v);
}

/* The kids word of a new table holding 'live' children: those of old,
 * plus add, minus drop; load <= 1/2.  0 when the arena is full. */
static uint64_t
tab_build(uint64_t old, uint64_t add, cq_off_t drop, uint32_t live,
	size_t text_off)
{
	uint32_t cap = CQ_TRIE_MIN_CAP;
	while (cap < live * 2)
		cap *= 2;
	for (;; cap *= 2) {
		uint32_t nslots = cap + cq_trie_tail(cap);
		cq_off_t off = cq_arena_zalloc(sizeof(cq_trie_tab_t) +
			(size_t)nslots * sizeof(uint64_t));
		if (off == CQ_OFF_NULL)
			return 0;
		cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, off);
		t->cap = cap;
		t->nslots = nslots;
		if (fill(t, old, add, drop, text_off) == 0)
			return cq_trie_kids_word(off, log2u(cap));
		/* A run reached the end of the tail: spread it wider. */
		cq_arena_free(off);
	}
}

static uint32_t
count_live(uint64_t kids)
{
	cq_trie_iter_t it;
	cq_trie_iter_init(&it, kids);
	uint32_t n = 0;
	while (cq_trie_iter_next(&it) != CQ_OFF_NULL)
		n++;
	return n;
}

/* Publish 'next' as the kids word, retiring the table of the old one. */
static void
kids_replace(uint64_t *kids, uint64_t next)
{
	uint64_t old = *kids;
	CQ_CRASHPOINT("trie.table_built");
	__atomic_store_n(kids, next, __ATOMIC_RELEASE);
	cq_trie_kids_retire(old);
}

/* ---- insert and remove ----------------------------------------------- */

/* Try to insert w without a rebuild; -1 (nothing changed) if no room. */
static int
insert_in_place(cq_trie_tab_t *t, uint64_t w, size_t text_off)
{
	const cq_trie_node_t *c = node_at(cq_trie_slot_off(w));
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
cq_trie_insert(uint64_t *kids, cq_off_t child, size_t text_off)
{
	uint64_t w = mkslot(node_at(child)->hash, child);
	uint64_t k = *kids;
	if (k == 0) {
		__atomic_store_n(kids,
			cq_trie_kids_single(child, node_at(child)->hash),
			__ATOMIC_RELEASE);
		return 0;
	}
	uint32_t live = 2;
	if (cq_trie_kids_shape(k) != CQ_TRIE_SINGLE) {
		cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, cq_trie_kids_off(k));
		if ((uint64_t)(t->used + 1) * 4 <= (uint64_t)t->cap * 3 &&
			insert_in_place(t, w, text_off) == 0)
			return 0;
		live = count_live(k) + 1;
	}
	uint64_t next = tab_build(k, w, CQ_OFF_NULL, live, text_off);
	if (next == 0) {
		errno = ENOMEM;
		return -1;
	}
	kids_replace(kids, next);
	return 0;
}

/* The one live child left in 'kids' other than 'but', or NULL. */
static cq_off_t
other_child(uint64_t kids, cq_off_t but)
{
	cq_trie_iter_t it;
	cq_trie_iter_init(&it, kids);
	for (cq_off_t c; (c = cq_trie_iter_next(&it)) != CQ_OFF_NULL;)
		if (c != but)
			return c;
	return CQ_OFF_NULL;
}

void
cq_trie_remove(uint64_t *kids, cq_off_t child, size_t text_off)
{
	uint64_t k = *kids;
	cq_assert(k != 0);
	if (cq_trie_kids_shape(k) == CQ_TRIE_SINGLE) {
		cq_assert(cq_trie_kids_off(k) == child);
		__atomic_store_n(kids, 0, __ATOMIC_RELEASE);
		return;
	}
	cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, cq_trie_kids_off(k));
	if (t->live <= 2) {
		/* Down to one (or none): the single form, no table. */
		cq_off_t o = other_child(k, child);
		kids_replace(
			kids, cq_trie_kids_single(o, o ? node_at(o)->hash : 0));
		return;
	}
	uint32_t p = cq_trie_home(node_at(child)->hash, t->cap);
	while (p < t->nslots && cq_trie_slot_off(t->slot[p]) != child)
		p++;
	cq_assert(p < t->nslots);
	slot_store(t, p, mkslot(node_at(child)->hash, CQ_TRIE_TOMB));
	t->live--;
	if (t->cap > 4 * CQ_TRIE_MIN_CAP && (uint64_t)t->live * 8 < t->cap) {
		uint64_t next = tab_build(k, 0, CQ_OFF_NULL, t->live, text_off);
		if (next != 0) /* else sparse but correct: shrink later */
			kids_replace(kids, next);
	}
}

bool
cq_trie_kids_empty(uint64_t kids)
{
	return kids == 0 ||
		(cq_trie_kids_shape(kids) != CQ_TRIE_SINGLE &&
			count_live(kids) == 0);
}

void
cq_trie_kids_retire(uint64_t kids)
{
	if (kids != 0 && cq_trie_kids_shape(kids) != CQ_TRIE_SINGLE)
		cq_qsbr_retire(cq_trie_kids_off(kids));
}

size_t
cq_trie_kids_bytes(uint64_t kids)
{
	if (kids == 0 || cq_trie_kids_shape(kids) == CQ_TRIE_SINGLE)
		return 0;
	const cq_trie_tab_t *t = CQ_PTR(
		const cq_trie_tab_t, cq_trie_kids_off(kids));
	return sizeof(*t) + (size_t)t->nslots * sizeof(uint64_t);
}

/* ---- nodes and chains ------------------------------------------------ */

cq_off_t
cq_trie_node_new(size_t text_off, uint32_t hash, const char *s, uint32_t len)
{
	cq_off_t off = cq_arena_alloc(text_off + len);
	if (off == CQ_OFF_NULL)
		return CQ_OFF_NULL;
	cq_trie_node_t *n = CQ_PTR(cq_trie_node_t, off);
	memset(n, 0, text_off);
	n->hash = hash;
	n->len = len;
	memcpy((char *)n + text_off, s, len);
	return off;
}

int
cq_trie_chain_build(const cq_topic_levels_t *lv, uint32_t i, uint32_t end,
	size_t text_off, size_t plus_off, cq_off_t *first_r, cq_off_t *last_r)
{
	cq_off_t below = CQ_OFF_NULL; /* the chain built so far, deepest up */
	for (uint32_t j = end; j-- > i;) {
		const cq_topic_level_t *l = &lv->lv[j];
		cq_off_t off = cq_trie_node_new(
			text_off, l->hash, l->s, l->len);
		if (off == CQ_OFF_NULL) {
			cq_trie_chain_free(below, plus_off, NULL);
			errno = ENOMEM;
			return -1;
		}
		if (below == CQ_OFF_NULL)
			*last_r = off;
		else if (plus_off != 0 &&
			cq_topic_level_is_plus(&lv->lv[j + 1]))
			*(cq_off_t *)((char *)CQ_PTR(void, off) +
				plus_off) = below;
		else
			CQ_PTR(cq_trie_node_t, off)->kids = cq_trie_kids_single(
				below, node_at(below)->hash);
		below = off;
	}
	*first_r = below;
	return 0;
}

void
cq_trie_chain_free(
	cq_off_t off, size_t plus_off, void (*extra)(cq_trie_node_t *n))
{
	while (off != CQ_OFF_NULL) {
		cq_trie_node_t *n = CQ_PTR(cq_trie_node_t, off);
		cq_off_t next = cq_trie_kids_off(n->kids);
		if (plus_off != 0 && next == CQ_OFF_NULL)
			next = *(cq_off_t *)((char *)n + plus_off);
		if (extra != NULL)
			extra(n);
		cq_arena_free(off);
		off = next;
	}
}

/* ---- locks ----------------------------------------------------------- */

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

uint32_t
cq_trie_nshards(const cq_shm_conf_t *conf)
{
	uint32_t want = conf->route_shards ? conf->route_shards : 64;
	uint32_t n = 1;
	while (n * 2 <= want && n < 4096)
		n *= 2;
	return n;
}

uint64_t
cq_trie_new_seed(void)
{
	uint64_t seed;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec) *
		0x9e3779b97f4a7c15ull ^
		(uint64_t)getpid();
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
