/*
 * subtrie.c — a worker's private subscription trie (see subtrie.h).
 *
 * Layout: exact filters, single-'+' filters and literal filters ending
 * in '#' are entries of the filter index (subtrie-index.c), each holding
 * its filter record; the other filters are in the trie.  A node per filter level; its literal children
 * sit in an open-addressed table of (level hash, node) slots; the '+'
 * child has its own pointer; the subscribers of the filter ending at the
 * node ("exact") and of "<node>/#" ("multi") hang off the node as
 * st_filter records.  A filter record holds the plain subscribers (a
 * dense array for matching, indexed by session once it is long) and the
 * shared groups on that filter.
 *
 * Invariants:
 *   - a filter is in the index iff cq_topic_index_kind() says so, and
 *     then nowhere in the trie (so each matching filter is found once);
 *   - a node other than the root is reachable from exactly one node
 *     (through its single kid, its kid table or its '+' pointer); nodes
 *     keep no parent link, writers keep the path they walked;
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
#include "workers/subtrie-int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "shm/grow.h"

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
		if (!probe_stays(i, j,
			    ptr_hash(s->v[s->idx[j] - 1].session) & mask)) {
			s->idx[i] = s->idx[j];
			i = j;
		}
	}
	s->idx[i] = 0;
}

static void
subs_release(struct st_subs *s)
{
	if (s->v != &s->one)
		free(s->v);
	free(s->idx);
	*s = (struct st_subs){0};
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
	if (s->cap == 0) {
		s->v = &s->one;
		s->cap = 1;
	} else if (s->n == s->cap) {
		uint32_t cap = s->cap * 2 < 8 ? 8 : s->cap * 2;
		struct st_sub *v = s->v == &s->one
			? malloc(cap * sizeof(*v))
			: realloc(s->v, cap * sizeof(*v));
		if (v == NULL) {
			errno = ENOMEM;
			return -1;
		}
		if (s->v == &s->one)
			v[0] = s->one;
		s->v = v;
		s->cap = cap;
	}
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
	if (s->n == 0)
		subs_release(s);
}

/* ---- nodes --------------------------------------------------------- */

static struct st_node *
node_new(cq_subtrie_t *t, const char *s, uint32_t len, uint32_t hash)
{
	size_t size = sizeof(struct st_node) + len;
	struct st_node *n = malloc(size);
	if (n == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->hash = hash;
	n->len = len;
	memcpy(n->level, s, len);
	t->nodes++;
	return n;
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
	if (n->nkids == 0 ||
		(uint64_t)(n->nkids + 1) * 4 <= (uint64_t)n->kcap * 3)
		return 0; /* the first kid needs no table */
	uint32_t cap = n->kcap ? n->kcap * 2 : 4;
	struct st_slot *kids = calloc(cap, sizeof(*kids));
	if (kids == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 0; i < n->kcap; i++)
		if (n->kids[i].node != NULL)
			kid_put(kids, cap, n->kids[i].hash, n->kids[i].node);
	if (n->one != NULL)
		kid_put(kids, cap, n->one->hash, n->one);
	else
		free(n->kids);
	n->one = NULL;
	n->kids = kids;
	n->kcap = cap;
	return 0;
}

/* Add kid k (room reserved). */
static void
kid_add(struct st_node *n, struct st_node *k)
{
	if (n->nkids++ == 0) {
		n->one = k;
		n->one_hash = k->hash;
	} else
		kid_put(n->kids, n->kcap, k->hash, k);
}

static void
kid_delete(struct st_node *n, const struct st_node *k)
{
	if (n->one != NULL) {
		n->one = NULL;
		n->kids = NULL;
		n->nkids = 0;
		return;
	}
	uint32_t mask = n->kcap - 1, i = k->hash & mask;
	while (n->kids[i].node != k)
		i = (i + 1) & mask;
	for (uint32_t j = i;;) {
		j = (j + 1) & mask;
		if (n->kids[j].node == NULL)
			break;
		if (!probe_stays(i, j, n->kids[j].hash & mask)) {
			n->kids[i] = n->kids[j];
			i = j;
		}
	}
	n->kids[i] = (struct st_slot){0, NULL};
	if (--n->nkids <= 1) { /* back to the single form */
		struct st_node *left = NULL;
		for (uint32_t j = 0; j < n->kcap && n->nkids == 1; j++)
			if (n->kids[j].node != NULL)
				left = n->kids[j].node;
		free(n->kids);
		n->kids = NULL;
		n->kcap = 0;
		if (left != NULL) {
			n->one = left;
			n->one_hash = left->hash;
		}
	}
}

static bool
node_unused(const struct st_node *n)
{
	return n->nkids == 0 && n->plus == NULL && n->exact == NULL &&
		n->multi == NULL;
}

static int
path_init(struct st_path *p, const cq_topic_levels_t *lv, struct st_node *root)
{
	p->n = lv->n <= CQ_TOPIC_INLINE_LEVELS
		? p->inl
		: malloc((lv->n + 1) * sizeof(*p->n));
	if (p->n == NULL) {
		errno = ENOMEM;
		return -1;
	}
	p->n[0] = root;
	p->depth = 0;
	return 0;
}

static void
path_free(struct st_path *p)
{
	if (p->n != p->inl)
		free(p->n);
}

/* Free the empty filter records of the path's last node, then the empty
 * nodes from there up. */
static void
prune(cq_subtrie_t *t, const struct st_path *p)
{
	struct st_node *n = p->n[p->depth];
	struct st_filter **fs[2] = {&n->exact, &n->multi};
	for (unsigned i = 0; i < 2; i++) {
		struct st_filter *f = *fs[i];
		if (f != NULL && f->subs.n == 0 && f->groups == NULL) {
			free(f);
			*fs[i] = NULL;
		}
	}
	for (uint32_t j = p->depth; j > 0 && node_unused(p->n[j]); j--) {
		struct st_node *up = p->n[j - 1];
		if (up->plus == p->n[j])
			up->plus = NULL;
		else
			kid_delete(up, p->n[j]);
		free(p->n[j]);
		t->nodes--;
	}
}

/*
 * The filter record slot for the split filter 'lv' (without any $share
 * prefix), creating the path when 'create'; the nodes walked go to 'p'
 * (initialised by the caller).  NULL when absent (or, creating, out of
 * memory: errno ENOMEM, partial path pruned).
 */
static struct st_filter **
find_pos(cq_subtrie_t *t, const cq_topic_levels_t *lv, bool create,
	struct st_path *p)
{
	struct st_node *n = t->root;
	for (uint32_t i = 0; i < lv->n; i++) {
		const cq_topic_level_t *l = &lv->lv[i];
		if (cq_topic_level_is_hash(l))
			return &n->multi;
		bool plus = cq_topic_level_is_plus(l);
		struct st_node *next = plus
			? n->plus
			: kid_find(n, l->s, l->len, l->hash);
		if (next == NULL && create) {
			if ((!plus && kids_reserve(n) < 0) ||
				(next = node_new(t, l->s, l->len, l->hash)) ==
					NULL) {
				prune(t, p);
				return NULL;
			}
			if (plus)
				n->plus = next;
			else
				kid_add(n, next);
		}
		if (next == NULL)
			return NULL;
		n = p->n[++p->depth] = next;
	}
	return &n->exact;
}

static struct st_group *
group_find(const struct st_filter *f, const cq_match_share_t *sh)
{
	for (struct st_group *g = f->groups; g != NULL; g = g->next)
		if (g->name_len == sh->group_len &&
			memcmp(g->name, sh->group, sh->group_len) == 0)
			return g;
	return NULL;
}

static struct st_group *
group_new(struct st_filter *f, const cq_match_share_t *sh)
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
	t->h_plus = cq_topic_hash("+", 1, seed);
	t->h_hash = cq_topic_hash("#", 1, seed);
	t->root = calloc(1, sizeof(*t->root));
	if (t->root == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
cq_subtrie_set_online(cq_subtrie_t *t, cq_subtrie_online_fn fn)
{
	t->online = fn;
}

void
cq_subtrie_filter_release(struct st_filter *f)
{
	subs_release(&f->subs);
	while (f->groups != NULL) {
		struct st_group *g = f->groups;
		f->groups = g->next;
		subs_release(&g->members);
		free(g);
	}
}

static void
filter_free(struct st_filter *f)
{
	if (f == NULL)
		return;
	cq_subtrie_filter_release(f);
	free(f);
}

/* Free n's filter records and push it on the list of nodes to free,
 * linked through the field that held its "#" record. */
static struct st_node *
doom(struct st_node *n, struct st_node *list)
{
	filter_free(n->exact);
	filter_free(n->multi);
	n->exact = NULL;
	n->dead_next = list;
	return n;
}

/* No recursion and no memory: a deep or wide trie frees all the same. */
void
cq_subtrie_free(cq_subtrie_t *t)
{
	if (t == NULL)
		return;
	struct st_node *list = doom(t->root, NULL);
	while (list != NULL) {
		struct st_node *n = list;
		list = n->dead_next;
		if (n->plus != NULL)
			list = doom(n->plus, list);
		if (n->one != NULL)
			list = doom(n->one, list);
		for (uint32_t i = 0; i < n->kcap; i++)
			if (n->kids[i].node != NULL)
				list = doom(n->kids[i].node, list);
		if (n->kcap > 0)
			free(n->kids);
		free(n);
	}
	cq_subtrie_index_free(t);
	free(t);
}

/* Add or update (session, opts) in record f (group sh.group if shared).
 * 0, or -1 ENOMEM (f unchanged). */
static int
subscribe_at(cq_subtrie_t *t, struct st_filter *f, const cq_match_share_t *sh,
	void *session, const cq_subopts_t *opts, unsigned *flags_r)
{
	struct st_group *g = NULL;
	struct st_subs *subs = &f->subs;
	if (sh->group != NULL) {
		g = group_find(f, sh);
		if (g == NULL && (g = group_new(f, sh)) == NULL)
			return -1;
		subs = &g->members;
	}
	uint32_t i = subs_find(subs, session);
	if (i != NONE) {
		subs->v[i].opts = *opts; /* [MQTT-3.8.4-3] replace */
		return 0;
	}
	if (subs_add(subs, session, opts) < 0) {
		if (g != NULL)
			group_drop_if_empty(f, g);
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

/* Subscribe to the indexed filter lv (its entry made if new). */
static int
subscribe_index(cq_subtrie_t *t, const cq_topic_levels_t *lv, uint32_t kind,
	const cq_match_share_t *sh, void *session, const cq_subopts_t *opts,
	unsigned *flags_r)
{
	struct st_entry *e = cq_subtrie_index_find(t, lv);
	if (e == NULL && (e = cq_subtrie_index_add(t, lv, kind)) == NULL)
		return -1;
	int rc = subscribe_at(t, &e->f, sh, session, opts, flags_r);
	if (rc < 0)
		cq_subtrie_index_drop_if_empty(t, lv, kind, e);
	return rc;
}

/* Subscribe to the trie's filter lv (its path and record made if new). */
static int
subscribe_trie(cq_subtrie_t *t, const cq_topic_levels_t *lv,
	const cq_match_share_t *sh, void *session, const cq_subopts_t *opts,
	unsigned *flags_r)
{
	struct st_path p;
	if (path_init(&p, lv, t->root) < 0)
		return -1;
	int rc = -1;
	struct st_filter **pos = find_pos(t, lv, true, &p);
	if (pos != NULL && *pos == NULL &&
		(*pos = calloc(1, sizeof(**pos))) == NULL)
		errno = ENOMEM;
	else if (pos != NULL)
		rc = subscribe_at(t, *pos, sh, session, opts, flags_r);
	if (pos != NULL && rc < 0)
		prune(t, &p);
	path_free(&p);
	return rc;
}

int
cq_subtrie_subscribe(cq_subtrie_t *t, const char *filter, size_t len,
	void *session, const cq_subopts_t *opts, unsigned *flags_r)
{
	*flags_r = 0;
	cq_match_share_t sh;
	cq_match_share_split(filter, len, &sh);
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, sh.filter, sh.filter_len, t->seed) < 0) {
		errno = ENOMEM;
		return -1;
	}
	uint32_t kind = cq_topic_index_kind(&lv);
	int rc = kind != CQ_TOPIC_NOT_INDEXED
		? subscribe_index(t, &lv, kind, &sh, session, opts, flags_r)
		: subscribe_trie(t, &lv, &sh, session, opts, flags_r);
	cq_topic_levels_free(&lv);
	return rc;
}

/* Where a filter (plain or shared) lives: its record, group and list (or
 * NULL), and how to drop what empties (its entry, or its trie path). */
struct st_found {
	cq_topic_levels_t lv; /* the filter proper, split */
	uint32_t kind; /* cq_topic_index_kind(lv) */
	struct st_entry *e; /* an index filter's entry */
	struct st_path p; /* a trie filter's path */
	struct st_filter *f;
	struct st_group *g;
	struct st_subs *subs;
};

/* The record of the split filter r->lv, with its path for the trie. */
static int
find_record(const cq_subtrie_t *t, struct st_found *r)
{
	r->kind = cq_topic_index_kind(&r->lv);
	if (r->kind != CQ_TOPIC_NOT_INDEXED) {
		r->e = cq_subtrie_index_find(t, &r->lv);
		r->f = r->e != NULL ? &r->e->f : NULL;
		return 0;
	}
	if (path_init(&r->p, &r->lv, t->root) < 0)
		return -1;
	struct st_filter **pos = find_pos(
		(cq_subtrie_t *)t, &r->lv, false, &r->p);
	r->f = pos != NULL ? *pos : NULL;
	return 0;
}

static void
found_free(struct st_found *r)
{
	if (r->kind == CQ_TOPIC_NOT_INDEXED)
		path_free(&r->p);
	cq_topic_levels_free(&r->lv);
}

/* Look 'filter' up (release with found_free when 0 is returned). */
static int
lookup_subs(const cq_subtrie_t *t, const char *filter, size_t len,
	uint64_t group_key, struct st_found *r)
{
	r->e = NULL;
	r->g = NULL;
	r->subs = NULL;
	cq_match_share_t sh;
	cq_match_share_split(filter, len, &sh);
	if (cq_topic_levels_split(&r->lv, sh.filter, sh.filter_len, t->seed) <
		0)
		return -1;
	if (find_record(t, r) < 0) {
		cq_topic_levels_free(&r->lv);
		return -1;
	}
	if (r->f == NULL)
		return 0;
	if (sh.group == NULL && group_key == 0) {
		r->subs = &r->f->subs;
		return 0;
	}
	for (struct st_group *g = r->f->groups; g != NULL; g = g->next)
		if (sh.group != NULL ? g->name_len == sh.group_len &&
					memcmp(g->name, sh.group,
						sh.group_len) == 0
				     : g->key == group_key) {
			r->g = g;
			r->subs = &g->members;
		}
	return 0;
}

int
cq_subtrie_unsubscribe(cq_subtrie_t *t, const char *filter, size_t len,
	void *session, unsigned *flags_r)
{
	*flags_r = 0;
	struct st_found r;
	if (lookup_subs(t, filter, len, 0, &r) < 0)
		return 0; /* too deep to split: it cannot be subscribed */
	uint32_t i = r.subs != NULL ? subs_find(r.subs, session) : NONE;
	if (i != NONE) {
		subs_remove(r.subs, i);
		*flags_r = CQ_SUBTRIE_EXISTED;
		t->subscriptions--;
		if (r.subs->n == 0) {
			*flags_r |= CQ_SUBTRIE_LAST;
			t->filters--;
			if (r.g != NULL)
				group_drop_if_empty(r.f, r.g);
			if (r.e != NULL)
				cq_subtrie_index_drop_if_empty(
					t, &r.lv, r.kind, r.e);
			else
				prune(t, &r.p);
		}
	}
	found_free(&r);
	return 0;
}

uint32_t
cq_subtrie_users(const cq_subtrie_t *t, const char *filter, size_t len)
{
	struct st_found r;
	if (lookup_subs(t, filter, len, 0, &r) < 0)
		return 0;
	found_free(&r);
	return r.subs != NULL ? r.subs->n : 0;
}

int
cq_subtrie_has(void *tp, const char *filter, size_t len, uint64_t group_key)
{
	struct st_found r;
	if (lookup_subs(tp, filter, len, group_key, &r) < 0)
		return 1; /* when in doubt, keep the route */
	found_free(&r);
	return r.subs != NULL && r.subs->n > 0;
}

void
cq_subtrie_stats(const cq_subtrie_t *t, cq_subtrie_stats_t *s_r)
{
	s_r->nodes = t->nodes;
	s_r->entries = cq_subtrie_index_size(&t->idx);
	s_r->entries_moving = t->idx.old.n;
	s_r->subscriptions = t->subscriptions;
	s_r->filters = t->filters;
}
