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

/* One pending (node, level) pair of the depth-first walk. */
typedef struct cq_topic_frame {
	const void *node;
	uint32_t level;
} cq_topic_frame_t;

/* A topic (or filter) split into levels, each with its hash. */
typedef struct cq_topic_levels {
	cq_topic_level_t *lv;
	cq_topic_frame_t *stack; /* n + 2 frames, for cq_topic_walk */
	uint32_t n;
	bool dollar; /* first level starts with '$' */
	bool heap; /* lv/stack were malloc'd */
	uint64_t seed;
	cq_topic_level_t inline_lv[CQ_TOPIC_INLINE_LEVELS];
	cq_topic_frame_t inline_stack[CQ_TOPIC_INLINE_LEVELS + 2];
} cq_topic_levels_t;

/*
 * Hash of one level.  Stable across processes for a given seed (tries in
 * shm store it); the seed is chosen when a trie is created so that nobody
 * can pick colliding level names in advance.
 */
static inline uint32_t
cq_topic_hash(const char *s, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * (n + 1));
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	if (n > 0) {
		uint64_t w = 0;
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)s[i] << (8 * i);
		h = (h ^ w) * 0x94d049bb133111ebull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h;
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
 * Split 'topic' (len bytes, not NUL-terminated) into t.  0, or -1 when a
 * topic with very many levels needs memory that malloc cannot give.  The
 * levels point into 'topic', which must outlive t.  Release with
 * cq_topic_levels_free().
 */
static inline int
cq_topic_levels_split(
	cq_topic_levels_t *t, const char *topic, size_t len, uint64_t seed)
{
	uint32_t n = cq_topic_count_levels(topic, len);
	t->n = n;
	t->seed = seed;
	t->heap = n > CQ_TOPIC_INLINE_LEVELS;
	t->dollar = len > 0 && topic[0] == '$';
	if (cq_likely(!t->heap)) {
		t->lv = t->inline_lv;
		t->stack = t->inline_stack;
	} else {
		t->lv = malloc(sizeof(*t->lv) * n);
		t->stack = malloc(sizeof(*t->stack) * (n + 2));
		if (t->lv == NULL || t->stack == NULL) {
			free(t->lv);
			free(t->stack);
			t->heap = false;
			t->n = 0;
			return -1;
		}
	}
	const char *p = topic, *end = topic + len;
	for (uint32_t i = 0; i < n; i++) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t l = slash != NULL ? (size_t)(slash - p)
					 : (size_t)(end - p);
		t->lv[i].s = p;
		t->lv[i].len = (uint32_t)l;
		t->lv[i].hash = cq_topic_hash(p, l, seed);
		p += l + 1;
	}
	return 0;
}

static inline void
cq_topic_levels_free(cq_topic_levels_t *t)
{
	if (t->heap) {
		free(t->lv);
		free(t->stack);
		t->heap = false;
	}
	t->n = 0;
}

static inline bool
cq_topic_level_eq(const cq_topic_level_t *a, const char *s, uint32_t len)
{
	return a->len == len && memcmp(a->s, s, len) == 0;
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
	/* The child of 'node' for the literal level 'lv', or NULL. */
	const void *(*child)(
		void *ctx, const void *node, const cq_topic_level_t *lv);
	/* The '+' child of 'node', or NULL. */
	const void *(*plus)(void *ctx, const void *node);
	/* Report the filter that ends at 'node' (the topic matched it). */
	void (*exact)(void *ctx, const void *node);
	/* Report the filter "<node>/#" (or "#" at the root). */
	void (*multi)(void *ctx, const void *node);
} cq_topic_walk_ops_t;

/*
 * Report every filter in the trie rooted at 'root' that matches the topic
 * 't': exact(node) for a filter ending at node, multi(node) for "node/#".
 * Each matching filter is reported exactly once.  Iterative (an explicit
 * stack of at most t->n + 2 frames), so a deep topic cannot exhaust the C
 * stack.  Forced inline so that, with 'ops' a constant, every access
 * function is called directly (and usually inlined) by the compiler.
 */
static inline __attribute__((always_inline)) void
cq_topic_walk(const cq_topic_levels_t *t, const void *root,
	const cq_topic_walk_ops_t *ops, void *ctx)
{
	cq_topic_frame_t *st = t->stack;
	uint32_t sp = 0;
	st[sp++] = (cq_topic_frame_t){root, 0};
	while (sp > 0) {
		cq_topic_frame_t f = st[--sp];
		if (f.level == t->n) {
			/* "a/b" and "a/b/#" both match "a/b". */
			ops->exact(ctx, f.node);
			ops->multi(ctx, f.node);
			continue;
		}
		if (cq_topic_wild_allowed(f.level, t->dollar)) {
			ops->multi(ctx, f.node);
			const void *p = ops->plus(ctx, f.node);
			if (p != NULL)
				st[sp++] = (cq_topic_frame_t){p, f.level + 1};
		}
		const void *c = ops->child(ctx, f.node, &t->lv[f.level]);
		if (c != NULL)
			st[sp++] = (cq_topic_frame_t){c, f.level + 1};
	}
}

/* A filter with its shared-subscription prefix split off. */
typedef struct cq_topic_share {
	const char *group; /* NULL: not a shared subscription */
	uint32_t group_len;
	const char *filter; /* the filter proper */
	uint32_t filter_len;
} cq_topic_share_t;

/*
 * Split "$share/<group>/<filter>" (§4.8.2).  For any other filter, group
 * is NULL and filter is the whole input.  Returns true for a shared one.
 */
static inline bool
cq_topic_share_split(const char *f, size_t len, cq_topic_share_t *r)
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
