/*
 * subtrie-match.c — matching a topic in the private trie (see subtrie.h):
 * the probes of the filter index (the topic itself, and the wildcard
 * filters the index's shapes say could match it, but those its Bloom
 * filter rules out: shm/topic_index.h) and
 * the shared walk (shm/topic_match.h) over the trie's nodes, then the
 * expansion of the matched filters into one hit per session.  The probes'
 * slots are prefetched before the walk and their entries after its first
 * levels, so that their cache misses overlap the walk's.
 *
 * Expansion: the walk only collects the matched filter records; then the
 * subscribers of all of them are emitted, merged per session when more
 * than one list contributes (a stamped open-addressing table, never
 * cleared), and the subscription ids laid out contiguously per hit.  The
 * scratch arrays live in the caller's result and are reused.
 */
#include "config.h"

#include "workers/subtrie.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "shm/grow.h"
#include "workers/subtrie-int.h"

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

/* Index probes start their entries' loading after this many levels of
 * the walk (the first levels' nodes are hot: the slots have arrived). */
#define PROBE_STEP 2u

/* One lookup of the filter index: the filter of kind j that would match
 * the topic (shm/topic_index.h). */
struct st_probe {
	uint32_t hash, j;
	uint32_t at; /* the slot of cand */
	bool in_old; /* cand is in the index's old table (a resize) */
	const struct st_entry *cand; /* the first entry with that hash */
};

struct st_match {
	const cq_topic_levels_t *topic;
	const struct st_index *idx;
	bool looked; /* the probes' candidates were looked for */
	uint32_t nprobes;
	struct st_probe probe[1 + 2 * CQ_TOPIC_INDEX_DEPTH];
	cq_subtrie_result_t *r;
	struct cq_subtrie_scratch *sc;
	const void *publisher;
	const uint64_t *groups;
	uint32_t ngroups;
	int err;
	cq_subtrie_online_fn online;
	bool groups_only; /* cq_subtrie_match_groups() */
	const void *skip; /* a member never to pick */
};

/* The kid with lv's hash, not yet read (its loading started), or NULL. */
static inline const void *
walk_candidate(void *ctx, const void *node, const cq_topic_level_t *lv)
{
	(void)ctx;
	const struct st_node *n = node;
	if (n->one != NULL) /* prefetched already, if its hash fits */
		return n->one_hash == lv->hash ? n->one : NULL;
	if (n->kcap == 0)
		return NULL;
	uint32_t mask = n->kcap - 1;
	for (uint32_t i = lv->hash & mask; n->kids[i].node != NULL;
		i = (i + 1) & mask)
		if (n->kids[i].hash == lv->hash) {
			__builtin_prefetch(n->kids[i].node);
			return n->kids[i].node;
		}
	return NULL;
}

static inline const void *
walk_child(void *ctx, const void *node, const cq_topic_level_t *lv,
	const void *cand)
{
	(void)ctx;
	const struct st_node *c = cand;
	if (level_is(c, lv->hash, lv->s, lv->len))
		return c;
	return kid_find(node, lv->s, lv->len, lv->hash); /* a collision */
}

static inline void
walk_prefetch(void *ctx, const void *node, const cq_topic_level_t *lv)
{
	(void)ctx;
	const struct st_node *n = node;
	if (n->one != NULL) {
		if (n->one_hash == lv->hash)
			__builtin_prefetch(n->one);
	} else if (n->kcap != 0)
		__builtin_prefetch(&n->kids[lv->hash & (n->kcap - 1)]);
	if (n->plus != NULL)
		__builtin_prefetch(n->plus);
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
	if (cq_grow((void **)&sc->src, &sc->src_cap, (uint64_t)sc->nsrc + 1,
		    sizeof(*sc->src)) < 0) {
		m->err = -1;
		return;
	}
	__builtin_prefetch(f);
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

/* ---- the filter index ------------------------------------------------ */

static inline void
probe_add(struct st_match *m, uint32_t hash, uint32_t j)
{
	const struct st_index *x = m->idx;
	m->probe[m->nprobes++] = (struct st_probe){hash, j, 0, false, NULL};
	__builtin_prefetch(&x->t.slot[hash & (x->t.cap - 1)]);
	if (cq_unlikely(x->old.cap != 0))
		__builtin_prefetch(&x->old.slot[hash & (x->old.cap - 1)]);
}

/* The probes of the topic, their home slots being loaded: the topic
 * itself, and the wildcard keys that can match it, but those the Bloom
 * filter rules out (its words are loaded first, then tested, so that
 * those loads overlap too). */
static inline void
probes_start(struct st_match *m, const cq_subtrie_t *tr)
{
	const cq_topic_levels_t *t = m->topic;
	const struct st_index *x = m->idx;
	if (cq_subtrie_index_size(x) == 0)
		return;
	probe_add(m, t->hash, CQ_TOPIC_EXACT);
	uint32_t plus = t->n <= CQ_TOPIC_INDEX_DEPTH ? x->shapes.plus[t->n - 1]
						     : 0;
	if (t->dollar)
		plus &= ~1u; /* [MQTT-4.7.2-1] */
	if (plus == 0 && x->shapes.multi == 0)
		return;
	cq_topic_key_t k[2 * CQ_TOPIC_INDEX_DEPTH];
	uint32_t n = cq_topic_wild_keys(
		t, plus, x->shapes.multi, tr->h_plus, tr->h_hash, k);
	for (uint32_t i = 0; x->bloom != NULL && i < n; i++)
		__builtin_prefetch(
			&x->bloom[cq_topic_bloom_bit(x->bloom_log2, k[i].hash) /
				64]);
	for (uint32_t i = 0; i < n; i++)
		if (x->bloom == NULL ||
			cq_topic_bloom_test(x->bloom, x->bloom_log2, k[i].hash))
			probe_add(m, k[i].hash, k[i].kind);
}

/* The next entry with the probe's hash from slot 'i' of tb on, or NULL. */
static inline const struct st_entry *
probe_scan(const struct st_itable *tb, struct st_probe *p, uint32_t i)
{
	uint32_t mask = tb->cap - 1;
	for (; tb->slot[i].e != NULL; i = (i + 1) & mask)
		if (tb->slot[i].hash == p->hash) {
			p->at = i;
			return tb->slot[i].e;
		}
	return NULL;
}

/* The probe's first entry ('first'), or the one after p->at: in the
 * table, then (while a resize moves entries) in the old table. */
static inline const struct st_entry *
probe_next(const struct st_index *x, struct st_probe *p, bool first)
{
	const struct st_itable *tb = p->in_old ? &x->old : &x->t;
	uint32_t mask = tb->cap - 1;
	const struct st_entry *e = probe_scan(
		tb, p, first ? p->hash & mask : (p->at + 1) & mask);
	if (e == NULL && !p->in_old && x->old.cap != 0) {
		p->in_old = true;
		e = probe_scan(&x->old, p, p->hash & (x->old.cap - 1));
	}
	return e;
}

/* The probes' candidates (their slots arrived meanwhile), whose loading
 * is started, both ends of each. */
static inline void
probes_look(struct st_match *m)
{
	m->looked = true;
	for (uint32_t i = 0; i < m->nprobes; i++) {
		struct st_probe *p = &m->probe[i];
		p->cand = probe_next(m->idx, p, true);
		if (p->cand == NULL)
			continue;
		__builtin_prefetch(p->cand);
		__builtin_prefetch(
			p->cand->text + cq_topic_probe_len(m->topic, p->j) - 1);
	}
}

static inline void
walk_level(void *ctx, uint32_t i)
{
	if (i + 1 == PROBE_STEP)
		probes_look(ctx);
}

static inline bool
probe_is(const struct st_match *m, const struct st_probe *p,
	const struct st_entry *e)
{
	return cq_topic_probe_eq(m->topic, p->j, e->text, e->len);
}

/* After the walk: the indexed filters that match, as sources. */
static void
probes_visit(struct st_match *m)
{
	if (!m->looked)
		probes_look(m);
	for (uint32_t i = 0; i < m->nprobes; i++) {
		struct st_probe *p = &m->probe[i];
		const struct st_entry *e = p->cand;
		while (e != NULL && !probe_is(m, p, e)) /* a collision */
			e = probe_next(m->idx, p, false);
		if (e != NULL)
			add_source(m, &e->f);
	}
}

static const cq_topic_walk_ops_t walk_ops = {
	.prefetch = walk_prefetch,
	.candidate = walk_candidate,
	.child = walk_child,
	.plus = walk_plus,
	.exact = walk_exact,
	.multi = walk_multi,
	.level = walk_level,
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
		if (cq_grow((void **)&r->hits, &r->cap, (uint64_t)r->n + 1,
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
		if (cq_grow((void **)&sc->pairs, &sc->pairs_cap,
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
	if (cq_grow((void **)&r->ids, &r->ids_cap, sc->npairs, sizeof(*r->ids)))
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

/*
 * The member of g that gets the message: round-robin, the next one online
 * (or the next one at all when none is), never m->skip.  NULL when skip is
 * the only member.
 */
static const struct st_sub *
pick(struct st_match *m, struct st_group *g)
{
	uint32_t n = g->members.n, start = g->rr++;
	const struct st_sub *any = NULL;
	for (uint32_t i = 0; i < n; i++) {
		const struct st_sub *s = &g->members.v[(start + i) % n];
		if (s->session == m->skip)
			continue;
		if (m->online == NULL || m->online(s->session))
			return s;
		if (any == NULL)
			any = s;
	}
	return any;
}

static int
expand(struct st_match *m)
{
	struct cq_subtrie_scratch *sc = m->sc;
	uint64_t total = 0;
	uint32_t lists = 0;
	for (uint32_t i = 0; i < sc->nsrc; i++) {
		__builtin_prefetch(sc->src[i]->subs.v);
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
		for (uint32_t j = 0; !m->groups_only && j < f->subs.n; j++)
			if (emit(m, &f->subs.v[j], false, dedup) < 0)
				return -1;
		for (struct st_group *g = f->groups; g; g = g->next) {
			if (!serves(m, g->key))
				continue;
			const struct st_sub *sub = pick(m, g);
			if (sub != NULL && emit(m, sub, true, dedup) < 0)
				return -1;
		}
	}
	return place_ids(m->r, sc);
}

static int
match(cq_subtrie_t *t, const cq_topic_levels_t *topic, struct st_match *m)
{
	cq_subtrie_result_t *r = m->r;
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
	m->sc = sc;
	m->online = t->online;
	m->topic = topic;
	m->idx = &t->idx;
	probes_start(m, t);
	int rc = cq_topic_walk(topic, t->root, &walk_ops, m);
	if (rc == 0)
		probes_visit(m);
	if (rc < 0 || m->err < 0 || expand(m) < 0) {
		r->n = 0;
		r->nids = 0;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
cq_subtrie_match(cq_subtrie_t *t, const cq_topic_levels_t *topic,
	const void *publisher, const uint64_t *groups, uint32_t ngroups,
	cq_subtrie_result_t *r)
{
	struct st_match m = {.r = r,
		.publisher = publisher,
		.groups = groups,
		.ngroups = ngroups};
	return match(t, topic, &m);
}

int
cq_subtrie_match_groups(cq_subtrie_t *t, const cq_topic_levels_t *topic,
	const void *skip, const uint64_t *groups, uint32_t ngroups,
	cq_subtrie_result_t *r)
{
	struct st_match m = {.r = r,
		.groups = groups,
		.ngroups = ngroups,
		.groups_only = true,
		.skip = skip};
	return match(t, topic, &m);
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
