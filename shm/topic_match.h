/*
 * topic_match.h — the one implementation of MQTT topic matching rules.
 *
 * Both filter tries (the shared route trie in shm/route.c and each worker's
 * private trie in workers/subtrie.c) answer the same question: which topic
 * filters stored in the trie match this topic name?  The rules (MQTT 5.0
 * §4.7) live here once, as an inline walk parameterised by node-access
 * functions, so each trie compiles to direct code over its own node layout:
 *
 *   - a topic is split into levels at '/'; every level (even empty ones) is
 *     a level, and each level's hash is computed once per publish;
 *   - a literal filter level matches the equal topic level;
 *   - '+' matches exactly one level, whatever it holds (also "");
 *   - '#' is last and matches any number of levels, including none, so
 *     "sport/#" matches "sport" as well [MQTT-4.7.1-2];
 *   - a filter starting with a wildcard does not match a topic starting
 *     with '$' [MQTT-4.7.2-1].
 *
 * Tries store a filter's trailing '#' as a mark on the node of the level
 * before it (the "multi" subscribers of that node): '#' can only be last,
 * so it needs no node of its own, and matching it costs no extra lookup.
 *
 * Shared subscriptions ("$share/<name>/<filter>", §4.8.2) are split here as
 * well, and identified across processes by a 64-bit key of (name, filter).
 *
 * Input is assumed valid (the codec validates names and filters).
 */
#ifndef CQ_SHM_TOPIC_MATCH_H
#define CQ_SHM_TOPIC_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/defs.h"

/* Topics with more levels than this use heap arrays (rare). */
#define CQ_TOPIC_INLINE_LEVELS 24u

typedef struct cq_topic_level {
	const char *s;
	uint32_t len;
	uint32_t hash;
} cq_topic_level_t;

/*
 * A topic (or filter) split into levels, each with its hash, and the hash
 * of the whole (the key of the tries' filter indexes, topic_index.h: a
 * topic name and the exact filter equal to it have the same levels, hence
 * the same hash).
 */
typedef struct cq_topic_levels {
	cq_topic_level_t *lv;
	uint32_t n;
	uint32_t hash; /* of the whole text: cq_topic_sum_hash(sum, n) */
	uint64_t sum; /* the sum of the levels' cq_topic_term() */
	bool dollar; /* first level starts with '$' */
	bool heap; /* lv was malloc'd */
	uint64_t seed;
	cq_topic_level_t inline_lv[CQ_TOPIC_INLINE_LEVELS];
} cq_topic_levels_t;

/*
 * Hash of one level.  Stable across processes for a given seed (tries in
 * shm store it); the seed is chosen when a trie is created so that nobody
 * can pick colliding level names in advance.
 */
static inline uint64_t
cq_topic_load32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t
cq_topic_load64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/*
 * Hash of one level.  Stable across processes for a given seed (tries in
 * shm store it); the seed is chosen when a trie is created so that nobody
 * can pick colliding level names in advance.  Short levels (the common
 * case) take two overlapping loads instead of a byte loop; the length is
 * mixed in first, so overlapping loads cannot make two lengths collide
 * systematically.
 */
static inline uint32_t
cq_topic_hash(const char *s, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * (n + 1));
	uint64_t w;
	if (n >= 8) {
		while (n > 8) {
			h = (h ^ cq_topic_load64(s)) * 0xbf58476d1ce4e5b9ull;
			h ^= h >> 31;
			s += 8;
			n -= 8;
		}
		w = cq_topic_load64(s + n - 8); /* the last 8, overlapping */
	} else if (n >= 4)
		w = cq_topic_load32(s) | cq_topic_load32(s + n - 4) << 32;
	else if (n > 0)
		w = (uint64_t)(unsigned char)s[0] << 16 |
			(uint64_t)(unsigned char)s[n / 2] << 8 |
			(unsigned char)s[n - 1];
	else
		w = 0;
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Equality of two byte strings of length n, fast for short ones. */
static inline bool
cq_topic_mem_eq(const char *a, const char *b, size_t n)
{
	if (n >= 8 && n <= 16)
		return cq_topic_load64(a) == cq_topic_load64(b) &&
			cq_topic_load64(a + n - 8) ==
			cq_topic_load64(b + n - 8);
	if (n >= 4 && n < 8)
		return cq_topic_load32(a) == cq_topic_load32(b) &&
			cq_topic_load32(a + n - 4) ==
			cq_topic_load32(b + n - 4);
	if (n < 4) {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	return memcmp(a, b, n) == 0;
}

/* Number of levels of a topic or filter: 1 + the number of '/'. */
static inline uint32_t
cq_topic_count_levels(const char *s, size_t len)
{
	uint32_t n = 1;
	const char *end = s + len;
	while ((s = memchr(s, '/', (size_t)(end - s))) != NULL) {
		n++;
		s++;
	}
	return n;
}

/*
 * The whole-text hash: a sum of one term per level, each the level's hash
 * and position mixed by one multiply (made as the split goes, no second
 * pass over the bytes), finished with the number of levels.  A sum lets a
 * reader get the hash of the topic with level j replaced by '+' (the key
 * of a single-'+' filter that matches it) in O(1).  The level hashes are
 * seeded, so the whole hash is too; its top bits are the best mixed (the
 * indexes take their home slots from them).
 */
static inline uint64_t
cq_topic_term(uint32_t level_hash, uint32_t i)
{
	return ((uint64_t)level_hash << 32 | (i + 1)) * 0x9e3779b97f4a7c15ull;
}

static inline uint32_t
cq_topic_sum_hash(uint64_t sum, uint32_t n)
{
	uint64_t x = sum + n * 0xc2b2ae3d27d4eb4full;
	x ^= x >> 31;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return (uint32_t)(x >> 32);
}

/*
 * Split 'topic' (len bytes, not NUL-terminated) into t.  0, or -1 when a
 * topic with very many levels needs memory that malloc cannot give.  The
 * levels point into 'topic', which must outlive t.  Release with
 * cq_topic_levels_free().
 */
static inline int
cq_topic_levels_split(
	cq_topic_levels_t *t, const char *topic, size_t len, uint64_t seed)
{
	t->seed = seed;
	t->heap = false;
	t->dollar = len > 0 && topic[0] == '$';
	t->lv = t->inline_lv;
	const char *p = topic, *end = topic + len;
	uint32_t n = 0;
	uint64_t sum = 0;
	for (;;) {
		const char *q = p;
		while (q < end && *q != '/') /* levels are short: no memchr */
			q++;
		if (cq_unlikely(n == CQ_TOPIC_INLINE_LEVELS))
			break; /* very deep: start again on the heap */
		uint32_t h = cq_topic_hash(p, (size_t)(q - p), seed);
		t->lv[n].s = p;
		t->lv[n].len = (uint32_t)(q - p);
		t->lv[n].hash = h;
		sum += cq_topic_term(h, n);
		n++;
		if (q == end) {
			t->n = n;
			t->sum = sum;
			t->hash = cq_topic_sum_hash(sum, n);
			return 0;
		}
		p = q + 1;
	}
	n = cq_topic_count_levels(topic, len);
	if ((t->lv = malloc(sizeof(*t->lv) * n)) == NULL) {
		t->lv = t->inline_lv;
		t->n = 0;
		return -1;
	}
	t->heap = true;
	t->n = n;
	p = topic;
	sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t l = slash != NULL ? (size_t)(slash - p)
					 : (size_t)(end - p);
		t->lv[i] = (cq_topic_level_t){
			p, (uint32_t)l, cq_topic_hash(p, l, seed)};
		sum += cq_topic_term(t->lv[i].hash, i);
		p += l + 1;
	}
	t->sum = sum;
	t->hash = cq_topic_sum_hash(sum, n);
	return 0;
}

/* The split text: the levels point into one contiguous buffer. */
static inline const char *
cq_topic_levels_text(const cq_topic_levels_t *t, uint32_t *len_r)
{
	const cq_topic_level_t *last = &t->lv[t->n - 1];
	*len_r = (uint32_t)(last->s + last->len - t->lv[0].s);
	return t->lv[0].s;
}

static inline void
cq_topic_levels_free(cq_topic_levels_t *t)
{
	if (t->heap) {
		free(t->lv);
		t->heap = false;
	}
	t->n = 0;
}

static inline bool
cq_topic_level_eq(const cq_topic_level_t *a, const char *s, uint32_t len)
{
	return a->len == len && cq_topic_mem_eq(a->s, s, len);
}

static inline bool
cq_topic_level_is_plus(const cq_topic_level_t *lv)
{
	return lv->len == 1 && lv->s[0] == '+';
}

static inline bool
cq_topic_level_is_hash(const cq_topic_level_t *lv)
{
	return lv->len == 1 && lv->s[0] == '#';
}

/*
 * [MQTT-4.7.2-1]: may a wildcard at filter level 'level' match a topic
 * whose first level starts with '$' ('dollar')?  Only below the first level.
 */
static inline bool
cq_topic_wild_allowed(uint32_t level, bool dollar)
{
	return level > 0 || !dollar;
}

/*
 * How a filter trie gives the walk access to its nodes.  'node' is the
 * trie's own node type; the walk never looks inside it.
 */
typedef struct cq_topic_walk_ops {
	/* Start loading what a lookup of level 'lv' below 'node' reads first
	 * (a children slot), and the '+' child (a hint: may do nothing). */
	void (*prefetch)(
		void *ctx, const void *node, const cq_topic_level_t *lv);
	/* The likely child of 'node' for the literal level 'lv' (same hash;
	 * NULL: certainly none), without reading it: start loading it. */
	const void *(*candidate)(
		void *ctx, const void *node, const cq_topic_level_t *lv);
	/* The child of 'node' for 'lv' given its candidate, or NULL. */
	const void *(*child)(void *ctx, const void *node,
		const cq_topic_level_t *lv, const void *candidate);
	/* The '+' child of 'node', or NULL. */
	const void *(*plus)(void *ctx, const void *node);
	/* Report the filter that ends at 'node' (the topic matched it). */
	void (*exact)(void *ctx, const void *node);
	/* Report the filter "<node>/#" (or "#" at the root). */
	void (*multi)(void *ctx, const void *node);
	/* Optional (NULL: none): level i of the topic is done.  A trie with
	 * a filter index resolves its probes here, a step at a time, so
	 * that their cache misses overlap the walk's. */
	void (*level)(void *ctx, uint32_t i);
} cq_topic_walk_ops_t;

/* Nodes of one level being matched (grows on the heap if it must). */
#define CQ_TOPIC_FRONT 64u

typedef struct cq_topic_front {
	const void **cur, **next, **cand;
	uint32_t cap;
	const void *inl[3][CQ_TOPIC_FRONT];
} cq_topic_front_t;

/* Room for 'need' nodes in each array; 0 or -1 (out of memory). */
static inline int
cq_topic_front_grow(cq_topic_front_t *f, uint32_t need)
{
	if (need <= f->cap)
		return 0;
	uint32_t cap = f->cap * 2 >= need ? f->cap * 2 : need;
	const void **a = malloc(sizeof(*a) * cap * 3);
	if (a == NULL)
		return -1;
	memcpy(a + cap, f->cur, sizeof(*a) * f->cap);
	if (f->cap > CQ_TOPIC_FRONT)
		free(f->cand); /* the start of the old heap arrays */
	f->cand = a;
	f->cur = a + cap;
	f->next = a + 2 * cap;
	f->cap = cap;
	return 0;
}

/*
 * Report every filter in the trie rooted at 'root' that matches the topic
 * 't': exact(node) for a filter ending at node, multi(node) for "node/#".
 * Each matching filter is reported exactly once.
 *
 * Level by level: the frontier holds every node whose filter prefix
 * matches the topic so far (the literal path, and one more path per '+'
 * met).  All the frontier's next lookups are prefetched before any is
 * resolved, so the cache misses of independent paths overlap instead of
 * adding up.  No recursion: a deep topic cannot exhaust the C stack.
 * Forced inline so that, with 'ops' a constant, every access function is
 * called directly (and usually inlined).  0, or -1 when a frontier wider
 * than CQ_TOPIC_FRONT needs memory malloc cannot give.
 */
static inline __attribute__((always_inline)) int
cq_topic_walk(const cq_topic_levels_t *t, const void *root,
	const cq_topic_walk_ops_t *ops, void *ctx)
{
	cq_topic_front_t f;
	f.cur = f.inl[0];
	f.next = f.inl[1];
	f.cand = f.inl[2];
	f.cap = CQ_TOPIC_FRONT;
	f.cur[0] = root;
	uint32_t ncur = 1;
	int rc = 0;
	for (uint32_t i = 0; i < t->n && ncur > 0; i++) {
		const cq_topic_level_t *lv = &t->lv[i];
		bool wild = cq_topic_wild_allowed(i, t->dollar);
		if (cq_unlikely(ncur * 2 > f.cap) &&
			cq_topic_front_grow(&f, ncur * 2) < 0) {
			rc = -1;
			break;
		}
		/* Passes over the whole frontier, so that their misses
		 * overlap: the next lookups were prefetched when the nodes
		 * joined the frontier (below); candidates are found and their
		 * loading started; then they are confirmed. */
		if (i == 0)
			ops->prefetch(ctx, root, lv);
		for (uint32_t k = 0; k < ncur; k++)
			f.cand[k] = ops->candidate(ctx, f.cur[k], lv);
		const cq_topic_level_t *lnext = i + 1 < t->n ? &t->lv[i + 1]
							     : NULL;
		uint32_t nnext = 0;
		for (uint32_t k = 0; k < ncur; k++) {
			const void *n = f.cur[k];
			if (wild) {
				ops->multi(ctx, n);
				const void *p = ops->plus(ctx, n);
				if (p != NULL) {
					f.next[nnext++] = p;
					if (lnext != NULL)
						ops->prefetch(ctx, p, lnext);
				}
			}
			const void *c = f.cand[k] != NULL
				? ops->child(ctx, n, lv, f.cand[k])
				: NULL;
			if (c != NULL) {
				f.next[nnext++] = c;
				if (lnext != NULL)
					ops->prefetch(ctx, c, lnext);
			}
		}
		const void **x = f.cur;
		f.cur = f.next;
		f.next = x;
		ncur = nnext;
		if (ops->level != NULL)
			ops->level(ctx, i);
		if (i + 1 == t->n)
			for (uint32_t k = 0; k < ncur; k++) {
				/* "a/b" and "a/b/#" both match "a/b". */
				ops->exact(ctx, f.cur[k]);
				ops->multi(ctx, f.cur[k]);
			}
	}
	if (f.cap > CQ_TOPIC_FRONT)
		free(f.cand);
	return rc;
}

/* A filter with its shared-subscription prefix split off. */
typedef struct cq_match_share {
	const char *group; /* NULL: not a shared subscription */
	uint32_t group_len;
	const char *filter; /* the filter proper */
	uint32_t filter_len;
} cq_match_share_t;

/*
 * Split "$share/<group>/<filter>" (§4.8.2).  For any other filter, group
 * is NULL and filter is the whole input.  Returns true for a shared one.
 */
static inline bool
cq_match_share_split(const char *f, size_t len, cq_match_share_t *r)
{
	static const char pfx[] = "$share/";
	const size_t plen = sizeof(pfx) - 1;
	r->group = NULL;
	r->group_len = 0;
	r->filter = f;
	r->filter_len = (uint32_t)len;
	if (len <= plen || memcmp(f, pfx, plen) != 0)
		return false;
	const char *g = f + plen;
	const char *slash = memchr(g, '/', len - plen);
	if (slash == NULL)
		return false; /* "$share/x" alone is a topic, not a share */
	r->group = g;
	r->group_len = (uint32_t)(slash - g);
	r->filter = slash + 1;
	r->filter_len = (uint32_t)(len - plen - r->group_len - 1);
	return true;
}

/*
 * The identity of a shared-subscription group, the same in every process:
 * a 64-bit hash (FNV-1a, unseeded) of its name and filter.  The route trie
 * names a group by this key when it picks the worker that serves it for one
 * message, and that worker's private trie serves the group with that key.
 */
static inline uint64_t
cq_topic_share_key(
	const char *group, size_t glen, const char *filter, size_t flen)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < glen; i++)
		h = (h ^ (unsigned char)group[i]) * 0x100000001b3ull;
	h = (h ^ 0x1ff) * 0x100000001b3ull; /* separator no byte can forge */
	for (size_t i = 0; i < flen; i++)
		h = (h ^ (unsigned char)filter[i]) * 0x100000001b3ull;
	return h == 0 ? 1 : h;
}

#endif /* CQ_SHM_TOPIC_MATCH_H */
