/*
 * subtrie.c — a worker's private subscription trie (see subtrie.h).
 *
 * Layout: a node per filter level; its literal children sit in an
 * open-addressed table of (level hash, node) slots; the '+' child has its
 * own pointer; the subscribers of the filter ending at the node ("exact")
 * and of "<node>/#" ("multi") hang off the node as st_filter records.  A
 * filter record holds the plain subscribers (a dense array for matching,
 * indexed by session once it is long) and the shared groups on that filter.
 *
 * Invariants:
 *   - a node other than the root has a parent and is reachable from it
 *     (through kids or plus) exactly once;
 *   - a node with no kids, no '+' child and no filter record is freed at
 *     once (prune), so the trie holds no dead branches;
 *   - a filter record with no subscribers and no groups, and a group with
 *     no members, are freed at once;
 *   - a session appears at most once per subscriber list, and the index
 *     (when present) maps each listed session to its position;
 *   - t->filters counts the subscriber lists (plain lists and groups) with
 *     at least one member, t->subscriptions their total length.
 *
 * Single-threaded by design: one trie per worker process.
 */
#include "config.h"

#include "workers/subtrie.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

/* Lists longer than this get a session -> position index. */
#define SUBS_INDEX_MIN 8u
#define NONE           UINT32_MAX

struct st_sub {
	void *session;
	cq_subopts_t opts;
};

struct st_subs {
	struct st_sub *v;
	uint32_t n, cap;
	uint32_t *idx; /* position + 1, 0 = empty slot */
	uint32_t idx_cap; /* power of two, >= 2 * n, or 0 */
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

struct st_node {
	struct st_node *parent;
	struct st_slot *kids;
	uint32_t nkids, kcap; /* kcap: power of two or 0 */
	struct st_node *plus;
	struct st_filter *exact; /* the filter ending here */
	struct st_filter *multi; /* "<here>/#" */
	uint32_t hash, len;
	char level[];
};

struct cq_subtrie {
	struct st_node *root;
	uint64_t seed;
	uint64_t nodes, subscriptions, filters;
};

struct st_pair {
	uint32_t hit, id;
};

struct st_dent {
	const void *session;
	uint32_t hit;
	uint32_t stamp;
};

struct cq_subtrie_scratch {
	const struct st_filter **src;
	uint32_t nsrc, src_cap;
	struct st_pair *pairs;
	uint32_t npairs, pairs_cap;
	struct st_dent *dtab;
	uint32_t dcap, stamp;
};

/* Grow *p (elements of 'size' bytes) to hold 'need'; 0 or -1 ENOMEM. */
static int
grow(void **p, uint32_t *cap, uint64_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint64_t ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX) {
		errno = ENOMEM;
		return -1;
	}
	void *np = realloc(*p, (size_t)ncap * size);
	if (np == NULL) {
		errno = ENOMEM;
		return -1;
	}
	*p = np;
	*cap = (uint32_t)ncap;
	return 0;
}

static inline uint32_t
ptr_hash(const void *p)
{
	return (uint32_t)(((uintptr_t)p * 0x9e3779b97f4a7c15ull) >> 32);
}

/* ---- subscriber lists ------------------------------------------------ */

static uint32_t
idx_slot(const struct st_subs *s, const void *session)
{
	uint32_t mask = s->idx_cap - 1, i = ptr_hash(session) & mask;
	while (s->idx[i] != 0 && s->v[s->idx[i] - 1].session != session)
		i = (i + 1) & mask;
	return i;
}

static int
idx_rebuild(struct st_subs *s, uint32_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (idx == NULL) {
		errno = ENOMEM;
		return -1;
	}
	free(s->idx);
	s->idx = idx;
	s->idx_cap = cap;
	for (uint32_t i = 0; i < s->n; i++)
		s->idx[idx_slot(s, s->v[i].session)] = i + 1;
	return 0;
}

/* Backward-shift deletion of the index slot 'i' (linear probing). */
static void
idx_delete(struct st_subs *s, uint32_t i)
{
	uint32_t mask = s->idx_cap - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (s->idx[j] == 0)
			break;
		uint32_t k = ptr_hash(s->v[s->idx[j] - 1].session) & mask;
		/* Move j into the hole unless its home lies in (i, j]. */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!stays) {
			s->idx[i] = s->idx[j];
			i = j;
		}
	}
	s->idx[i] = 0;
}

static uint32_t
subs_find(const struct st_subs *s, const void *session)
{
	if (s->idx != NULL) {
		uint32_t e = s->idx[idx_slot(s, session)];
		return e == 0 ? NONE : e - 1;
	}
	for (uint32_t i = 0; i < s->n; i++)
		if (s->v[i].session == session)
			return i;
	return NONE;
}

static int
subs_add(struct st_subs *s, void *session, const cq_subopts_t *opts)
{
	if (grow((void **)&s->v, &s->cap, (uint64_t)s->n + 1, sizeof(*s->v)))
		return -1;
	uint32_t n = s->n + 1;
	if (n > SUBS_INDEX_MIN && (uint64_t)n * 2 > s->idx_cap) {
		uint32_t cap = s->idx_cap ? s->idx_cap : 16;
		while ((uint64_t)n * 2 > cap)
			cap *= 2;
		s->v[s->n] = (struct st_sub){session, *opts};
		s->n = n; /* so the rebuild indexes the new entry too */
		if (idx_rebuild(s, cap) < 0) {
			s->n--;
			return -1;
		}
		return 0;
	}
	s->v[s->n] = (struct st_sub){session, *opts};
	s->n = n;
	if (s->idx != NULL)
		s->idx[idx_slot(s, session)] = n;
	return 0;
}

static void
subs_remove(struct st_subs *s, uint32_t i)
{
	uint32_t last = s->n - 1;
	if (s->idx != NULL) {
		idx_delete(s, idx_slot(s, s->v[i].session));
		if (i != last)
			s->idx[idx_slot(s, s->v[last].session)] = i + 1;
	}
	s->v[i] = s->v[last];
	s->n = last;
	if (s->n == 0) {
		free(s->v);
		free(s->idx);
		*s = (struct st_subs){0};
	}
}

/* ---- nodes --------------------------------------------------------- */

static struct st_node *
node_new(cq_subtrie_t *t, struct st_node *parent, const char *s, uint32_t len,
	uint32_t hash)
{
	struct st_node *n = calloc(1, sizeof(*n) + len);
	if (n == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	n->parent = parent;
	n->hash = hash;
	n->len = len;
	memcpy(n->level, s, len);
	t->nodes++;
	return n;
}

static inline struct st_node *
kid_find(const struct st_node *n, const char *s, uint32_t len, uint32_t hash)
{
	if (n->kcap == 0)
		return NULL;
	uint32_t mask = n->kcap - 1;
	for (uint32_t i = hash & mask; n->kids[i].node != NULL;
		i = (i + 1) & mask) {
		const struct st_node *k = n->kids[i].node;
		if (n->kids[i].hash == hash && k->len == len &&
			memcmp(k->level, s, len) == 0)
			return n->kids[i].node;
	}
	return NULL;
}

static void
kid_put(struct st_slot *kids, uint32_t cap, uint32_t hash, struct st_node *k)
{
	uint32_t mask = cap - 1, i = hash & mask;
	while (kids[i].node != NULL)
		i = (i + 1) & mask;
	kids[i] = (struct st_slot){hash, k};
}

/* Make room for one more kid (load <= 3/4).  0 or -1 ENOMEM. */
static int
kids_reserve(struct st_node *n)
{
	if ((uint64_t)(n->nkids + 1) * 4 <= (uint64_t)n->kcap * 3)
		return 0;
	uint32_t cap = n->kcap ? n->kcap * 2 : 4;
	struct st_slot *kids = calloc(cap, sizeof(*kids));
	if (kids == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 0; i < n->kcap; i++)
		if (n->kids[i].node != NULL)
			kid_put(kids, cap, n->kids[i].hash, n->kids[i].node);
	free(n->kids);
	n->kids = kids;
	n->kcap = cap;
	return 0;
}

static void
kid_delete(struct st_node *n, const struct st_node *k)
{
	uint32_t mask = n->kcap - 1, i = k->hash & mask;
	while (n->kids[i].node != k)
		i = (i + 1) & mask;
	for (uint32_t j = i;;) {
		j = (j + 1) & mask;
		if (n->kids[j].node == NULL)
			break;
		uint32_t h = n->kids[j].hash & mask;
		bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
		if (!stays) {
			n->kids[i] = n->kids[j];
			i = j;
		}
	}
	n->kids[i] = (struct st_slot){0, NULL};
	if (--n->nkids == 0) {
		free(n->kids);
		n->kids = NULL;
		n->kcap = 0;
	}
}

static bool
node_unused(const struct st_node *n)
{
	return n->nkids == 0 && n->plus == NULL && n->exact == NULL &&
		n->multi == NULL;
}

/* Free empty filter records of n, then n and its empty ancestors. */
static void
prune(cq_subtrie_t *t, struct st_node *n)
{
	struct st_filter **fs[2] = {&n->exact, &n->multi};
	for (unsigned i = 0; i < 2; i++) {
		struct st_filter *f = *fs[i];
		if (f != NULL && f->subs.n == 0 && f->groups == NULL) {
			free(f);
			*fs[i] = NULL;
		}
	}
	while (n != t->root && node_unused(n)) {
		struct st_node *p = n->parent;
		if (p->plus == n)
			p->plus = NULL;
		else
			kid_delete(p, n);
		free(n);
		t->nodes--;
		n = p;
	}
}

/*
 * The filter record slot for the split filter 'lv' (without any $share
 * prefix), creating the path when 'create'.  *node_r gets the node that
 * owns the slot.  NULL when absent (or, creating, out of memory: errno
 * ENOMEM, partial path pruned).
 */
static struct st_filter **
find_pos(cq_subtrie_t *t, const cq_topic_levels_t *lv, bool create,
	struct st_node **node_r)
{
	struct st_node *n = t->root;
	*node_r = n;
	for (uint32_t i = 0; i < lv->n; i++) {
		const cq_topic_level_t *l = &lv->lv[i];
		if (cq_topic_level_is_hash(l))
			return &n->multi;
		struct st_node *next = cq_topic_level_is_plus(l)
			? n->plus
			: kid_find(n, l->s, l->len, l->hash);
		if (next == NULL && create) {
			bool plus = cq_topic_level_is_plus(l);
			if ((!plus && kids_reserve(n) < 0) ||
				(next = node_new(t, n, l->s, l->len,
					 l->hash)) == NULL) {
				prune(t, n);
				return NULL;
			}
			if (plus)
				n->plus = next;
			else {
				kid_put(n->kids, n->kcap, l->hash, next);
				n->nkids++;
			}
		}
		if (next == NULL)
			return NULL;
		n = *node_r = next;
	}
	return &n->exact;
}

static struct st_group *
group_find(const struct st_filter *f, const cq_topic_share_t *sh)
{
	for (struct st_group *g = f->groups; g != NULL; g = g->next)
		if (g->name_len == sh->group_len &&
			memcmp(g->name, sh->group, sh->group_len) == 0)
			return g;
	return NULL;
}

static struct st_group *
group_new(struct st_filter *f, const cq_topic_share_t *sh)
{
	struct st_group *g = calloc(1, sizeof(*g) + sh->group_len);
	if (g == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	g->key = cq_topic_share_key(
		sh->group, sh->group_len, sh->filter, sh->filter_len);
	g->name_len = sh->group_len;
	memcpy(g->name, sh->group, sh->group_len);
	g->next = f->groups;
	f->groups = g;
	return g;
}

static void
group_drop_if_empty(struct st_filter *f, struct st_group *g)
{
	if (g->members.n != 0)
		return;
	struct st_group **pp = &f->groups;
	while (*pp != g)
		pp = &(*pp)->next;
	*pp = g->next;
	free(g);
}

/* ---- public: build ------------------------------------------------- */

cq_subtrie_t *
cq_subtrie_new(uint64_t seed)
{
	cq_subtrie_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->seed = seed;
	t->root = calloc(1, sizeof(*t->root));
	if (t->root == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void
filter_free(struct st_filter *f)
{
	if (f == NULL)
		return;
	free(f->subs.v);
	free(f->subs.idx);
	while (f->groups != NULL) {
		struct st_group *g = f->groups;
		f->groups = g->next;
		free(g->members.v);
		free(g->members.idx);
		free(g);
	}
	free(f);
}

/* Iterative post-order free: a deep filter cannot exhaust the C stack. */
void
cq_subtrie_free(cq_subtrie_t *t)
{
	if (t == NULL)
		return;
	struct st_node *n = t->root;
	while (n != NULL) {
		if (n->plus != NULL) {
			struct st_node *k = n->plus;
			n->plus = NULL;
			n = k;
			continue;
		}
		if (n->nkids > 0) {
			/* Take the highest occupied slot; all above it are
			 * empty, so shrinking kcap keeps the scan linear. */
			uint32_t i = n->kcap;
			while (n->kids[--i].node == NULL)
				;
			struct st_node *k = n->kids[i].node;
			n->kids[i].node = NULL;
			n->kcap = i;
			n->nkids--;
			n = k;
			continue;
		}
		struct st_node *p = n->parent;
		filter_free(n->exact);
		filter_free(n->multi);
		free(n->kids);
		free(n);
		n = p;
	}
	free(t);
}

int
cq_subtrie_subscribe(cq_subtrie_t *t, const char *filter, size_t len,
	void *session, const cq_subopts_t *opts, unsigned *flags_r)
{
	*flags_r = 0;
	cq_topic_share_t sh;
	cq_topic_share_split(filter, len, &sh);
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, sh.filter, sh.filter_len, t->seed) < 0) {
		errno = ENOMEM;
		return -1;
	}
	struct st_node *node;
	struct st_filter **pos = find_pos(t, &lv, true, &node);
	cq_topic_levels_free(&lv);
	if (pos == NULL)
		return -1;
	if (*pos == NULL && (*pos = calloc(1, sizeof(**pos))) == NULL) {
		errno = ENOMEM;
		prune(t, node);
		return -1;
	}
	struct st_group *g = NULL;
	struct st_subs *subs = &(*pos)->subs;
	if (sh.group != NULL) {
		g = group_find(*pos, &sh);
		if (g == NULL && (g = group_new(*pos, &sh)) == NULL) {
			prune(t, node);
			return -1;
		}
		subs = &g->members;
	}
	uint32_t i = subs_find(subs, session);
	if (i != NONE) {
		subs->v[i].opts = *opts; /* [MQTT-3.8.4-3] replace */
		return 0;
	}
	if (subs_add(subs, session, opts) < 0) {
		if (g != NULL)
			group_drop_if_empty(*pos, g);
		prune(t, node);
		return -1;
	}
	*flags_r = CQ_SUBTRIE_NEW;
	t->subscriptions++;
	if (subs->n == 1) {
		*flags_r |= CQ_SUBTRIE_FIRST;
		t->filters++;
	}
	return 0;
}

/* The subscriber list of 'filter' (plain or shared) or NULL; *node_r and
 * *pos_r locate it for the caller's cleanup. */
static struct st_subs *
lookup_subs(const cq_subtrie_t *t, const char *filter, size_t len,
	struct st_node **node_r, struct st_filter **pos_r,
	struct st_group **group_r)
{
	cq_topic_share_t sh;
	cq_topic_share_split(filter, len, &sh);
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, sh.filter, sh.filter_len, t->seed) < 0)
		return NULL; /* nothing that long can be subscribed either */
	struct st_filter **pos = find_pos(
		(cq_subtrie_t *)t, &lv, false, node_r);
	cq_topic_levels_free(&lv);
	*group_r = NULL;
	if (pos == NULL || *pos == NULL)
		return NULL;
	*pos_r = *pos;
	if (sh.group == NULL)
		return &(*pos)->subs;
	*group_r = group_find(*pos, &sh);
	return *group_r != NULL ? &(*group_r)->members : NULL;
}

int
cq_subtrie_unsubscribe(cq_subtrie_t *t, const char *filter, size_t len,
	void *session, unsigned *flags_r)
{
	*flags_r = 0;
	struct st_node *node;
	struct st_filter *f;
	struct st_group *g;
	struct st_subs *subs = lookup_subs(t, filter, len, &node, &f, &g);
	uint32_t i = subs != NULL ? subs_find(subs, session) : NONE;
	if (i == NONE)
		return 0;
	subs_remove(subs, i);
	*flags_r = CQ_SUBTRIE_EXISTED;
	t->subscriptions--;
	if (subs->n == 0) {
		*flags_r |= CQ_SUBTRIE_LAST;
		t->filters--;
		if (g != NULL)
			group_drop_if_empty(f, g);
		prune(t, node);
	}
	return 0;
}

uint32_t
cq_subtrie_users(const cq_subtrie_t *t, const char *filter, size_t len)
{
	struct st_node *node;
	struct st_filter *f;
	struct st_group *g;
	struct st_subs *subs = lookup_subs(t, filter, len, &node, &f, &g);
	return subs != NULL ? subs->n : 0;
}

int
cq_subtrie_has(void *tp, const char *filter, size_t len, uint64_t group_key)
{
	cq_subtrie_t *t = tp;
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, filter, len, t->seed) < 0)
		return 1; /* when in doubt, keep the route */
	struct st_node *node;
	struct st_filter **pos = find_pos(t, &lv, false, &node);
	cq_topic_levels_free(&lv);
	if (pos == NULL || *pos == NULL)
		return 0;
	if (group_key == 0)
		return (*pos)->subs.n > 0;
	for (struct st_group *g = (*pos)->groups; g != NULL; g = g->next)
		if (g->key == group_key)
			return 1;
	return 0;
}

void
cq_subtrie_stats(const cq_subtrie_t *t, cq_subtrie_stats_t *s_r)
{
	s_r->nodes = t->nodes;
	s_r->subscriptions = t->subscriptions;
	s_r->filters = t->filters;
}

/* ---- public: match ------------------------------------------------- */

struct st_match {
	cq_subtrie_result_t *r;
	struct cq_subtrie_scratch *sc;
	const void *publisher;
	const uint64_t *groups;
	uint32_t ngroups;
	int err;
};

static inline const void *
walk_child(void *ctx, const void *node, const cq_topic_level_t *lv)
{
	(void)ctx;
	return kid_find(node, lv->s, lv->len, lv->hash);
}

static inline const void *
walk_plus(void *ctx, const void *node)
{
	(void)ctx;
	return ((const struct st_node *)node)->plus;
}

static inline void
add_source(struct st_match *m, const struct st_filter *f)
{
	struct cq_subtrie_scratch *sc = m->sc;
	if (f == NULL)
		return;
	if (grow((void **)&sc->src, &sc->src_cap, (uint64_t)sc->nsrc + 1,
		    sizeof(*sc->src)) < 0) {
		m->err = -1;
		return;
	}
	sc->src[sc->nsrc++] = f;
}

static inline void
walk_exact(void *ctx, const void *node)
{
	add_source(ctx, ((const struct st_node *)node)->exact);
}

static inline void
walk_multi(void *ctx, const void *node)
{
	add_source(ctx, ((const struct st_node *)node)->multi);
}

static const cq_topic_walk_ops_t walk_ops = {
	.child = walk_child,
	.plus = walk_plus,
	.exact = walk_exact,
	.multi = walk_multi,
};

static bool
serves(const struct st_match *m, uint64_t key)
{
	if (m->ngroups == CQ_SUBTRIE_ALL_GROUPS)
		return true;
	for (uint32_t i = 0; i < m->ngroups; i++)
		if (m->groups[i] == key)
			return true;
	return false;
}

/* Prepare the dedup table for up to 'n' sessions (stamped, not cleared). */
static int
dedup_reset(struct cq_subtrie_scratch *sc, uint64_t n)
{
	uint64_t need = 16;
	while (need < n * 2)
		need *= 2;
	if (need > sc->dcap) {
		struct st_dent *d = calloc(need, sizeof(*d));
		if (d == NULL)
			return -1;
		free(sc->dtab);
		sc->dtab = d;
		sc->dcap = (uint32_t)need;
		sc->stamp = 0;
	}
	if (++sc->stamp == 0) { /* wrapped: old stamps could collide */
		memset(sc->dtab, 0, sizeof(*sc->dtab) * sc->dcap);
		sc->stamp = 1;
	}
	return 0;
}

/* Add one matching subscription; 'dedup' merges hits of one session. */
static int
emit(struct st_match *m, const struct st_sub *s, bool shared, bool dedup)
{
	cq_subtrie_result_t *r = m->r;
	struct cq_subtrie_scratch *sc = m->sc;
	if (s->opts.no_local && s->session == m->publisher && !shared)
		return 0; /* [MQTT-3.8.3-3] */
	struct st_dent *d = NULL;
	if (dedup) {
		uint32_t mask = sc->dcap - 1, i = ptr_hash(s->session) & mask;
		while (sc->dtab[i].stamp == sc->stamp &&
			sc->dtab[i].session != s->session)
			i = (i + 1) & mask;
		d = &sc->dtab[i];
	}
	uint32_t h;
	if (d != NULL && d->stamp == sc->stamp) {
		h = d->hit;
		cq_subtrie_hit_t *hit = &r->hits[h];
		if (s->opts.qos > hit->qos)
			hit->qos = s->opts.qos;
		hit->retain_as_published |= s->opts.retain_as_published;
		hit->shared |= shared;
	} else {
		if (grow((void **)&r->hits, &r->cap, (uint64_t)r->n + 1,
			    sizeof(*r->hits)) < 0)
			return -1;
		h = r->n++;
		r->hits[h] = (cq_subtrie_hit_t){.session = s->session,
			.qos = s->opts.qos,
			.retain_as_published = s->opts.retain_as_published,
			.shared = shared};
		if (d != NULL)
			*d = (struct st_dent){s->session, h, sc->stamp};
	}
	if (s->opts.sub_id != 0) {
		if (grow((void **)&sc->pairs, &sc->pairs_cap,
			    (uint64_t)sc->npairs + 1, sizeof(*sc->pairs)) < 0)
			return -1;
		sc->pairs[sc->npairs++] = (struct st_pair){h, s->opts.sub_id};
		r->hits[h].nids++;
	}
	return 0;
}

/* Lay the collected (hit, id) pairs out contiguously per hit. */
static int
place_ids(cq_subtrie_result_t *r, struct cq_subtrie_scratch *sc)
{
	if (grow((void **)&r->ids, &r->ids_cap, sc->npairs, sizeof(*r->ids)))
		return -1;
	uint32_t next = 0;
	for (uint32_t h = 0; h < r->n; h++) {
		r->hits[h].first_id = next;
		next += r->hits[h].nids;
		r->hits[h].nids = 0; /* refilled below */
	}
	for (uint32_t i = 0; i < sc->npairs; i++) {
		cq_subtrie_hit_t *hit = &r->hits[sc->pairs[i].hit];
		r->ids[hit->first_id + hit->nids++] = sc->pairs[i].id;
	}
	r->nids = sc->npairs;
	return 0;
}

static int
expand(struct st_match *m)
{
	struct cq_subtrie_scratch *sc = m->sc;
	uint64_t total = 0;
	uint32_t lists = 0;
	for (uint32_t i = 0; i < sc->nsrc; i++) {
		lists += sc->src[i]->subs.n > 0;
		total += sc->src[i]->subs.n;
		for (struct st_group *g = sc->src[i]->groups; g; g = g->next)
			lists++, total++;
	}
	/* One list holds each session once: no merging needed. */
	bool dedup = lists > 1;
	if (dedup && dedup_reset(sc, total) < 0)
		return -1;
	for (uint32_t i = 0; i < sc->nsrc; i++) {
		const struct st_filter *f = sc->src[i];
		for (uint32_t j = 0; j < f->subs.n; j++)
			if (emit(m, &f->subs.v[j], false, dedup) < 0)
				return -1;
		for (struct st_group *g = f->groups; g; g = g->next) {
			if (!serves(m, g->key))
				continue;
			uint32_t k = g->rr++ % g->members.n;
			if (emit(m, &g->members.v[k], true, dedup) < 0)
				return -1;
		}
	}
	return place_ids(m->r, sc);
}

int
cq_subtrie_match(cq_subtrie_t *t, const cq_topic_levels_t *topic,
	const void *publisher, const uint64_t *groups, uint32_t ngroups,
	cq_subtrie_result_t *r)
{
	cq_dassert(topic->seed == t->seed);
	r->n = 0;
	r->nids = 0;
	if (r->scratch == NULL &&
		(r->scratch = calloc(1, sizeof(*r->scratch))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	struct cq_subtrie_scratch *sc = r->scratch;
	sc->nsrc = 0;
	sc->npairs = 0;
	struct st_match m = {r, sc, publisher, groups, ngroups, 0};
	cq_topic_walk(topic, t->root, &walk_ops, &m);
	if (m.err < 0 || expand(&m) < 0) {
		r->n = 0;
		r->nids = 0;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
cq_subtrie_result_init(cq_subtrie_result_t *r)
{
	*r = (cq_subtrie_result_t){0};
}

void
cq_subtrie_result_free(cq_subtrie_result_t *r)
{
	free(r->hits);
	free(r->ids);
	if (r->scratch != NULL) {
		free(r->scratch->src);
		free(r->scratch->pairs);
		free(r->scratch->dtab);
		free(r->scratch);
	}
	*r = (cq_subtrie_result_t){0};
}
