/*
 * topic_index.h — what the filter indexes of both filter tries share:
 * the route trie's (per shard, in shm: shm/route-index.c) and a worker's
 * private trie's (workers/subtrie-index.c).
 *
 * Both tries keep filters out of the trie, in a hash index keyed by
 * (whole-text hash, text: cq_topic_levels_t.hash of the filter's split),
 * when a topic can find them by a few independent probes: exact filters
 * (no wildcard), filters with a single '+' and no '#', and filters of
 * k >= 1 literal levels and a trailing '#', of at most
 * CQ_TOPIC_INDEX_DEPTH levels.  A topic of n levels matches an exact
 * filter equal to it, a '+' filter of n levels equal to it but for level
 * j, and a '#' filter whose k literal levels are its first k (k <= n: the
 * parent rule of '#' [MQTT-4.7.1-2] included).  No indexed filter has a
 * wildcard first level but "+/...", which a '$' topic never probes
 * [MQTT-4.7.2-1].
 *
 * A match probes the index once for the topic, once per '+' position j
 * that some indexed filter of n levels has, and once per prefix length k
 * that some indexed '#' filter has: the index keeps those "shapes" as
 * bitmaps, so the work is bounded by the topic's depth, and the probes are
 * independent (their cache misses overlap).  A Bloom filter over the
 * wildcard entries' keys (one bit per key) then lets a match skip the
 * wildcard probes that cannot find anything: in a big index, most.
 *
 * The whole-text hash is a sum of per-level terms (topic_match.h), so the
 * key of a '+' probe costs O(1) and the '#' probes one term each.
 */
#ifndef CQ_SHM_TOPIC_INDEX_H
#define CQ_SHM_TOPIC_INDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shm/topic_match.h"

#define CQ_TOPIC_INDEX_DEPTH 16u
/* Kinds of filters (cq_topic_index_kind); a '+' filter's kind is the
 * level of its '+' (0 .. CQ_TOPIC_INDEX_DEPTH - 1). */
#define CQ_TOPIC_MULTI       0x100u /* | k: "<k literal levels>/#" */
#define CQ_TOPIC_EXACT       0x200u /* no wildcard */
#define CQ_TOPIC_NOT_INDEXED 0x400u /* the trie's */

/* Writers (cold): the kind of the split filter 't'. */
static inline uint32_t
cq_topic_index_kind(const cq_topic_levels_t *t)
{
	uint32_t plus = CQ_TOPIC_EXACT;
	bool deep = t->n > CQ_TOPIC_INDEX_DEPTH; /* exact ones only */
	for (uint32_t i = 0; i < t->n; i++) {
		if (cq_topic_level_is_hash(&t->lv[i]))
			return plus == CQ_TOPIC_EXACT && i > 0 && !deep
				? CQ_TOPIC_MULTI | i
				: CQ_TOPIC_NOT_INDEXED;
		if (!cq_topic_level_is_plus(&t->lv[i]))
			continue;
		if (plus != CQ_TOPIC_EXACT || deep)
			return CQ_TOPIC_NOT_INDEXED;
		plus = i;
	}
	return plus;
}

/* ---- probes ---------------------------------------------------------- */

/* The key of the filter that is topic 't' with level j replaced by '+'
 * (h_plus: the hash of the level "+" with t's seed). */
static inline uint32_t
cq_topic_plus_hash(const cq_topic_levels_t *t, uint32_t j, uint32_t h_plus)
{
	return cq_topic_sum_hash(t->sum - cq_topic_term(t->lv[j].hash, j) +
			cq_topic_term(h_plus, j),
		t->n);
}

/* Is 'f' (len bytes) the topic 't' with level j replaced by '+'? */
static inline bool
cq_topic_plus_eq(
	const cq_topic_levels_t *t, uint32_t j, const char *f, uint32_t len)
{
	uint32_t tlen;
	const char *s = cq_topic_levels_text(t, &tlen);
	const cq_topic_level_t *l = &t->lv[j];
	size_t pre = (size_t)(l->s - s), post = tlen - pre - l->len;
	return len == tlen - l->len + 1 && f[pre] == '+' &&
		memcmp(f, s, pre) == 0 &&
		memcmp(f + pre + 1, l->s + l->len, post) == 0;
}

/* Is 'f' (len bytes) the first k levels of topic 't', then "/#"? */
static inline bool
cq_topic_multi_eq(
	const cq_topic_levels_t *t, uint32_t k, const char *f, uint32_t len)
{
	const cq_topic_level_t *l = &t->lv[k - 1];
	size_t plen = (size_t)(l->s + l->len - t->lv[0].s);
	return len == plen + 2 && f[plen] == '/' && f[plen + 1] == '#' &&
		memcmp(f, t->lv[0].s, plen) == 0;
}

/* Is 'f' the filter of kind 'kind' that probe (t, kind) looks for? */
static inline bool
cq_topic_probe_eq(
	const cq_topic_levels_t *t, uint32_t kind, const char *f, uint32_t len)
{
	if (kind == CQ_TOPIC_EXACT) {
		uint32_t tlen;
		const char *s = cq_topic_levels_text(t, &tlen);
		return len == tlen && cq_topic_mem_eq(f, s, len);
	}
	return kind & CQ_TOPIC_MULTI
		? cq_topic_multi_eq(t, kind & ~CQ_TOPIC_MULTI, f, len)
		: cq_topic_plus_eq(t, kind, f, len);
}

/* The length of the filter a probe (t, kind) looks for. */
static inline uint32_t
cq_topic_probe_len(const cq_topic_levels_t *t, uint32_t kind)
{
	uint32_t tlen;
	const char *s = cq_topic_levels_text(t, &tlen);
	if (kind == CQ_TOPIC_EXACT)
		return tlen;
	if (!(kind & CQ_TOPIC_MULTI))
		return tlen - t->lv[kind].len + 1;
	const cq_topic_level_t *l = &t->lv[(kind & ~CQ_TOPIC_MULTI) - 1];
	return (uint32_t)(l->s + l->len - s) + 2;
}

typedef struct cq_topic_key {
	uint32_t hash, kind;
} cq_topic_key_t;

/*
 * The wildcard keys topic 't' probes in an index whose '+' shapes for
 * t's depth are 'plus' (bit j: '+' at level j; the caller clears bit 0
 * for a '$' topic) and whose '#' shapes are 'multi' (bit k: k literal
 * levels); h_plus and h_hash are the hashes of the levels "+" and "#".
 * Writes at most 2 * CQ_TOPIC_INDEX_DEPTH keys; returns how many.
 */
static inline uint32_t
cq_topic_wild_keys(const cq_topic_levels_t *t, uint32_t plus, uint32_t multi,
	uint32_t h_plus, uint32_t h_hash, cq_topic_key_t *keys)
{
	uint32_t n = 0;
	if (t->n > CQ_TOPIC_INDEX_DEPTH)
		plus = 0;
	for (; plus != 0; plus &= plus - 1) {
		uint32_t j = (uint32_t)__builtin_ctz(plus);
		keys[n++] = (cq_topic_key_t){
			cq_topic_plus_hash(t, j, h_plus), j};
	}
	uint64_t psum = 0;
	for (uint32_t k = 1; k <= t->n && multi >> k != 0; k++) {
		psum += cq_topic_term(t->lv[k - 1].hash, k - 1);
		if ((multi >> k) & 1)
			keys[n++] = (cq_topic_key_t){
				cq_topic_sum_hash(
					psum + cq_topic_term(h_hash, k), k + 1),
				CQ_TOPIC_MULTI | k};
	}
	return n;
}

/* ---- shapes ---------------------------------------------------------- */

/* Which wildcard shapes an index holds (readers). */
typedef struct cq_topic_shapes {
	uint16_t plus[CQ_TOPIC_INDEX_DEPTH]; /* bit j of [n - 1] */
	uint16_t multi; /* bit k */
} cq_topic_shapes_t;

/* How many entries of each (writers); a shape's bit is set while its
 * count is not 0.  After a crash a count may err high, never low. */
typedef struct cq_topic_shape_counts {
	uint32_t plus[CQ_TOPIC_INDEX_DEPTH][CQ_TOPIC_INDEX_DEPTH];
	uint32_t multi[CQ_TOPIC_INDEX_DEPTH];
} cq_topic_shape_counts_t;

/* The count and bit word of wildcard kind 'kind' of n levels, and its
 * bit. */
static inline uint32_t *
cq_topic_shape(cq_topic_shapes_t *s, cq_topic_shape_counts_t *c, uint32_t n,
	uint32_t kind, uint16_t **word_r, uint16_t *bit_r)
{
	if (kind & CQ_TOPIC_MULTI) {
		uint32_t k = kind & ~CQ_TOPIC_MULTI;
		*word_r = &s->multi;
		*bit_r = (uint16_t)(1u << k);
		return &c->multi[k];
	}
	*word_r = &s->plus[n - 1];
	*bit_r = (uint16_t)(1u << kind);
	return &c->plus[n - 1][kind];
}

/* One more entry of that shape; its bit is set (one release store)
 * before the caller publishes the entry. */
static inline void
cq_topic_shape_add(cq_topic_shapes_t *s, cq_topic_shape_counts_t *c, uint32_t n,
	uint32_t kind)
{
	uint16_t *w, bit;
	uint32_t *cnt = cq_topic_shape(s, c, n, kind, &w, &bit);
	(*cnt)++;
	__atomic_store_n(w, (uint16_t)(*w | bit), __ATOMIC_RELEASE);
}

/* One fewer, after the caller unlinked it; the bit goes with the last.
 * A count already 0 is wrong low: the bit stays. */
static inline void
cq_topic_shape_remove(cq_topic_shapes_t *s, cq_topic_shape_counts_t *c,
	uint32_t n, uint32_t kind)
{
	uint16_t *w, bit;
	uint32_t *cnt = cq_topic_shape(s, c, n, kind, &w, &bit);
	if (*cnt > 0 && --*cnt == 0)
		__atomic_store_n(w, (uint16_t)(*w & ~bit), __ATOMIC_RELEASE);
}

/* Wildcard entries counted. */
static inline uint64_t
cq_topic_shape_total(const cq_topic_shape_counts_t *c)
{
	uint64_t n = 0;
	for (uint32_t d = 0; d < CQ_TOPIC_INDEX_DEPTH; d++) {
		n += c->multi[d];
		for (uint32_t j = 0; j < CQ_TOPIC_INDEX_DEPTH; j++)
			n += c->plus[d][j];
	}
	return n;
}

/* ---- the Bloom filter ------------------------------------------------ */

#define CQ_TOPIC_BLOOM_MIN_LOG2 9u
#define CQ_TOPIC_BLOOM_MAX_LOG2 28u

/* log2 of the bits for 'keys' keys: 16 to 32 bits each. */
static inline uint32_t
cq_topic_bloom_log2(uint64_t keys)
{
	uint32_t log2 = CQ_TOPIC_BLOOM_MIN_LOG2;
	while (log2 < CQ_TOPIC_BLOOM_MAX_LOG2 &&
		(UINT64_C(1) << log2) < keys * 16)
		log2++;
	return log2;
}

/* Rebuild it before it holds under 8 bits per key (false positives past
 * 1 in 8), or once half its keys are gone. */
static inline bool
cq_topic_bloom_full(uint32_t keys, uint32_t log2)
{
	return (uint64_t)(keys + 1) * 8 > UINT64_C(1) << log2;
}

static inline bool
cq_topic_bloom_stale(uint32_t keys, uint32_t stale)
{
	return (uint64_t)stale * 2 > keys;
}

static inline uint32_t
cq_topic_bloom_bit(uint32_t log2, uint32_t hash)
{
	return hash & (uint32_t)((UINT64_C(1) << log2) - 1);
}

/* Bits change by single stores of a word (readers in other processes). */
static inline bool
cq_topic_bloom_test(const uint64_t *w, uint32_t log2, uint32_t hash)
{
	uint32_t bit = cq_topic_bloom_bit(log2, hash);
	return (__atomic_load_n(&w[bit / 64], __ATOMIC_ACQUIRE) >> (bit % 64)) &
		1;
}

static inline void
cq_topic_bloom_set(uint64_t *w, uint32_t log2, uint32_t hash)
{
	uint32_t bit = cq_topic_bloom_bit(log2, hash);
	__atomic_store_n(&w[bit / 64], w[bit / 64] | UINT64_C(1) << (bit % 64),
		__ATOMIC_RELEASE);
}

#endif /* CQ_SHM_TOPIC_INDEX_H */
