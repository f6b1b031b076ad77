/*
 * subtrie-int.h — the private trie's layout, for subtrie.c (building) and
 * subtrie-match.c (matching) only.  See subtrie.c for the design and the
 * invariants.
 */
#ifndef CQ_WORKERS_SUBTRIE_INT_H
#define CQ_WORKERS_SUBTRIE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shm/topic_index.h"
#include "workers/subtrie.h"

/* Lists longer than this get a session -> position index. */
#define SUBS_INDEX_MIN 8u
#define NONE           UINT32_MAX

struct st_sub {
	void *session;
	cq_subopts_t opts;
};

/* v points to 'one' while the list has at most one entry (the usual
 * case: matching then reads no second object); never copy the struct. */
struct st_subs {
	struct st_sub *v;
	uint32_t n, cap;
	uint32_t *idx; /* position + 1, 0 = empty slot */
	uint32_t idx_cap; /* power of two, >= 2 * n, or 0 */
	struct st_sub one;
};

struct st_group {
	struct st_group *next;
	uint64_t key; /* cq_topic_share_key(name, filter) */
	uint32_t rr; /* round-robin cursor over members */
	uint32_t name_len;
	struct st_subs members;
	char name[];
};

struct st_filter {
	struct st_subs subs;
	struct st_group *groups;
};

struct st_slot {
	uint32_t hash;
	struct st_node *node;
};

/* Cache-line aligned, so a node whose level has up to 8 bytes is one
 * line: what matching reads costs one miss.  No parent link (writers keep
 * the path they walked down). */
struct st_node {
	uint32_t hash, len;
	struct st_node *one; /* the only kid (then no table, kcap 0) */
	union {
		struct st_slot *kids; /* kcap > 0 */
		uint32_t one_hash; /* one != NULL: its hash, read without it */
	};
	struct st_node *plus;
	struct st_filter *exact; /* the filter ending here */
	union {
		struct st_filter *multi; /* "<here>/#" */
		struct st_node *dead_next; /* cq_subtrie_free() only */
	};
	uint32_t nkids, kcap; /* kcap: power of two or 0 */
	char level[];
};

/* A filter's nodes from the root: n[0] is the root, n[j] the node of
 * level j - 1. */
struct st_path {
	struct st_node **n;
	struct st_node *inl[CQ_TOPIC_INLINE_LEVELS + 1];
	uint32_t depth;
};

/* An indexed filter (cq_topic_index_kind): its record and its text.
 * Never moves (its subscriber list may point into it). */
struct st_entry {
	uint32_t hash; /* whole-filter hash of the split (t->seed) */
	uint32_t len;
	struct st_filter f;
	char text[];
};

struct st_islot {
	uint32_t hash;
	uint32_t wild; /* a wildcard entry's (the Bloom filter's keys) */
	struct st_entry *e; /* NULL: empty */
};

/* An open-addressed table: linear probing from hash & (cap - 1),
 * backward-shift deletion. */
struct st_itable {
	struct st_islot *slot;
	uint32_t cap, n; /* cap: power of two, or 0 with slot NULL */
};

/*
 * The filter index (subtrie-index.c; shm/topic_index.h): exact,
 * single-'+' and literal '#' filters in a table of load at most 3/4, the
 * wildcard shapes it holds, and a Bloom filter over the wildcard entries'
 * keys that lets a match skip most wildcard probes.  A resize moves the
 * entries a few at a time: while 'old' has a table, an entry is in
 * exactly one of the two, and lookups try 't' then 'old'.
 */
struct st_index {
	struct st_itable t; /* where entries are added */
	struct st_itable old; /* being emptied into t, or cap 0 */
	uint32_t old_at; /* old's slots below this are empty */
	uint64_t *bloom; /* 1 << bloom_log2 bits, or NULL: probe all */
	uint32_t bloom_log2;
	uint32_t bloom_keys; /* keys it holds: set at its build, +1 per add */
	uint32_t bloom_stale; /* removed since its build */
	/* Its replacement, built in steps (NULL: none): the scan is at
	 * slot nbloom_at of t (nbloom_k 0), then of old (1). */
	uint64_t *nbloom;
	uint32_t nbloom_log2, nbloom_keys, nbloom_stale;
	uint32_t nbloom_k, nbloom_at;
	cq_topic_shapes_t shapes;
	cq_topic_shape_counts_t counts;
};

struct cq_subtrie {
	struct st_node *root;
	uint64_t seed;
	uint32_t h_plus, h_hash; /* hashes of the levels "+" and "#" */
	cq_subtrie_online_fn online; /* shared groups prefer these, or NULL */
	uint64_t nodes, subscriptions, filters;
	struct st_index idx;
};

/* subtrie-index.c.  'kind' is cq_topic_index_kind(lv), not
 * CQ_TOPIC_NOT_INDEXED. */
struct st_entry *cq_subtrie_index_find(
	const cq_subtrie_t *t, const cq_topic_levels_t *lv);
/* A new empty entry for lv; NULL with errno ENOMEM. */
struct st_entry *cq_subtrie_index_add(
	cq_subtrie_t *t, const cq_topic_levels_t *lv, uint32_t kind);
/* Remove and free e (lv's entry) if its record holds nobody. */
void cq_subtrie_index_drop_if_empty(cq_subtrie_t *t,
	const cq_topic_levels_t *lv, uint32_t kind, struct st_entry *e);
/* Free every entry (releasing its record) and the table. */
void cq_subtrie_index_free(cq_subtrie_t *t);
/* Entries in the index. */
static inline uint32_t
cq_subtrie_index_size(const struct st_index *x)
{
	return x->t.n + x->old.n;
}
/* Release what a filter record holds (subtrie.c). */
void cq_subtrie_filter_release(struct st_filter *f);

/*
 * Backward-shift deletion in a linear-probing table of power-of-two
 * size: after a hole at slot i, may the entry at slot j (home slot 'home')
 * stay where it is?  Only if its home lies cyclically in (i, j].
 */
static inline bool
probe_stays(uint32_t i, uint32_t j, uint32_t home)
{
	return i <= j ? (i < home && home <= j) : (i < home || home <= j);
}

static inline uint32_t
ptr_hash(const void *p)
{
	return (uint32_t)(((uintptr_t)p * 0x9e3779b97f4a7c15ull) >> 32);
}

static inline bool
level_is(const struct st_node *k, uint32_t hash, const char *s, uint32_t len)
{
	return k->hash == hash && k->len == len &&
		cq_topic_mem_eq(k->level, s, len);
}

static inline struct st_node *
kid_find(const struct st_node *n, const char *s, uint32_t len, uint32_t hash)
{
	if (n->one != NULL)
		return n->one_hash == hash && level_is(n->one, hash, s, len)
			? n->one
			: NULL;
	if (n->kcap == 0)
		return NULL;
	uint32_t mask = n->kcap - 1;
	for (uint32_t i = hash & mask; n->kids[i].node != NULL;
		i = (i + 1) & mask) {
		const struct st_node *k = n->kids[i].node;
		if (n->kids[i].hash == hash && level_is(k, hash, s, len))
			return n->kids[i].node;
	}
	return NULL;
}

#endif /* CQ_WORKERS_SUBTRIE_INT_H */
