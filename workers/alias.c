/*
 * alias.c — see alias.h.
 *
 * Outbound map: entries indexed by alias (e[1..n]), each on the hash
 * chain of its topic (bucket[] holds the first alias of a chain, 'next'
 * the following one).  An entry without a topic (freed by a failed
 * commit) is on no chain and is the first choice for reuse.
 *
 * Invariants: every entry with a topic is on exactly the chain of its
 * hash; n <= max; the client's view of alias a is e[a].topic whenever
 * that is not NULL.
 */
#include "config.h"
#include "workers/alias.h"

#include <stdlib.h>
#include <string.h>

/* ---- inbound ------------------------------------------------------- */

/* Room for entry 'alias' (the table grows with the largest alias
 * used, so a client that uses few aliases costs little). */
static int
alias_room(cq_alias_map_t *m, uint16_t alias)
{
	if (alias < m->cap)
		return 0;
	uint32_t cap = m->cap ? m->cap : 16;
	while (cap <= alias)
		cap *= 2;
	char **t = realloc(m->topic, cap * sizeof(*t));
	if (t == NULL)
		return -1;
	m->topic = t;
	uint16_t *l = realloc(m->len, cap * sizeof(*l));
	if (l == NULL)
		return -1;
	m->len = l;
	memset(t + m->cap, 0, (cap - m->cap) * sizeof(*t));
	memset(l + m->cap, 0, (cap - m->cap) * sizeof(*l));
	m->cap = cap;
	return 0;
}

int
cq_alias_set(cq_alias_map_t *m, uint16_t alias, const void *t, size_t n)
{
	if (alias == 0 || alias > m->max || alias_room(m, alias) < 0)
		return -1;
	char *s = malloc(n + 1);
	if (s == NULL)
		return -1;
	memcpy(s, t, n);
	s[n] = '\0';
	free(m->topic[alias]);
	m->topic[alias] = s;
	m->len[alias] = (uint16_t)n;
	return 0;
}

const char *
cq_alias_get(const cq_alias_map_t *m, uint16_t alias, size_t *n_r)
{
	if (alias == 0 || alias >= m->cap || m->topic[alias] == NULL)
		return NULL;
	*n_r = m->len[alias];
	return m->topic[alias];
}

void
cq_alias_free(cq_alias_map_t *m)
{
	for (uint32_t i = 0; i < m->cap; i++)
		free(m->topic[i]);
	free(m->topic);
	free(m->len);
	m->topic = NULL;
	m->len = NULL;
	m->cap = 0;
}

/* ---- outbound ------------------------------------------------------ */

struct cq_alias_ent {
	char *topic; /* NULL: unused */
	uint32_t hash;
	uint16_t len;
	uint16_t next; /* next alias on the chain, 0: end */
	uint8_t ref; /* used since the hand last passed */
};

static uint32_t
topic_hash(const char *t, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)t[i]) * 16777619u;
	return h;
}

static uint16_t
find(const cq_alias_out_t *m, const char *t, size_t n, uint32_t h)
{
	if (m->nbuckets == 0)
		return 0;
	for (uint16_t a = m->bucket[h & (m->nbuckets - 1)]; a != 0;
		a = m->e[a].next) {
		const struct cq_alias_ent *x = &m->e[a];
		if (x->hash == h && x->len == n && memcmp(x->topic, t, n) == 0)
			return a;
	}
	return 0;
}

/* The entry CLOCK gives up: unused first, else one not used lately. */
static uint16_t
victim(cq_alias_out_t *m)
{
	for (uint32_t i = 0; i < 2u * m->n + 1; i++) {
		m->hand = (uint16_t)(m->hand % m->n + 1);
		struct cq_alias_ent *x = &m->e[m->hand];
		if (x->topic == NULL || !x->ref)
			return m->hand;
		x->ref = 0;
	}
	return m->hand; /* not reached: one sweep clears every ref */
}

uint16_t
cq_alias_out_pick(cq_alias_out_t *m, const char *t, size_t n, bool *known_r)
{
	*known_r = false;
	if (m->max == 0 || n == 0)
		return 0;
	uint16_t a = find(m, t, n, topic_hash(t, n));
	if (a != 0) {
		m->e[a].ref = 1;
		*known_r = true;
		return a;
	}
	return m->n < m->max ? (uint16_t)(m->n + 1) : victim(m);
}

static void
unchain(cq_alias_out_t *m, uint16_t a)
{
	struct cq_alias_ent *x = &m->e[a];
	uint16_t *link = &m->bucket[x->hash & (m->nbuckets - 1)];
	while (*link != 0 && *link != a)
		link = &m->e[*link].next;
	if (*link == a)
		*link = x->next;
	free(x->topic);
	*x = (struct cq_alias_ent){0};
}

/* Buckets for at least m->n chains of ~1 (rehashing what is there). */
static int
grow_buckets(cq_alias_out_t *m)
{
	if (m->nbuckets >= m->n && m->nbuckets != 0)
		return 0;
	uint32_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
	uint16_t *b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return -1;
	free(m->bucket);
	m->bucket = b;
	m->nbuckets = nb;
	for (uint16_t a = 1; a <= m->n && a < m->ecap; a++) {
		struct cq_alias_ent *x = &m->e[a];
		if (x->topic == NULL)
			continue;
		x->next = b[x->hash & (nb - 1)];
		b[x->hash & (nb - 1)] = a;
	}
	return 0;
}

/* Room for entry 'a'. */
static int
grow_entries(cq_alias_out_t *m, uint16_t a)
{
	if (a < m->ecap)
		return 0;
	uint32_t cap = m->ecap ? m->ecap * 2 : 16;
	while (cap <= a)
		cap *= 2;
	struct cq_alias_ent *e = realloc(m->e, cap * sizeof(*e));
	if (e == NULL)
		return -1;
	memset(e + m->ecap, 0, (cap - m->ecap) * sizeof(*e));
	m->e = e;
	m->ecap = cap;
	return 0;
}

void
cq_alias_out_commit(cq_alias_out_t *m, uint16_t a, const char *t, size_t n)
{
	if (a == 0 || a > m->max)
		return;
	if (a <= m->n) {
		/* The client now maps a to t: the old topic must go even if
		 * the new one cannot be recorded. */
		if (m->e[a].topic != NULL)
			unchain(m, a);
	} else if (grow_entries(m, a) < 0) {
		return;
	} else {
		m->n = a;
	}
	char *copy = malloc(n);
	if (copy == NULL || grow_buckets(m) < 0) {
		free(copy);
		return;
	}
	memcpy(copy, t, n);
	uint32_t h = topic_hash(t, n);
	uint16_t *head = &m->bucket[h & (m->nbuckets - 1)];
	m->e[a] = (struct cq_alias_ent){copy, h, (uint16_t)n, *head, 1};
	*head = a;
}

void
cq_alias_out_free(cq_alias_out_t *m)
{
	for (uint32_t a = 0; a < m->ecap; a++)
		free(m->e[a].topic);
	free(m->e);
	free(m->bucket);
	*m = (cq_alias_out_t){0};
}
