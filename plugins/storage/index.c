/*
 * index.c — the storage process's map of stored sessions (index.h).
 */
#include "config.h"
#include "plugins/storage/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#define MIN_CAP 64u

static uint64_t
hash_of(const char *id, size_t len)
{
	return cq_hash_bytes(id, len);
}

static void
ent_release(cq_sindex_ent_t *e)
{
	free(e->id);
	free(e->queue);
	memset(e, 0, sizeof(*e));
}

void
cq_sindex_init(cq_sindex_t *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
cq_sindex_clear(cq_sindex_t *ix)
{
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->e[i].id != NULL)
			ent_release(&ix->e[i]);
	ix->n = 0;
}

void
cq_sindex_free(cq_sindex_t *ix)
{
	cq_sindex_clear(ix);
	free(ix->e);
	memset(ix, 0, sizeof(*ix));
}

/* The slot of id, or of the first free slot on its probe path. */
static size_t
probe(const cq_sindex_t *ix, const char *id, size_t len, uint64_t h)
{
	size_t mask = ix->cap - 1, i = (size_t)h & mask;
	while (ix->e[i].id != NULL &&
		!(ix->e[i].hash == h && ix->e[i].id_len == len &&
			memcmp(ix->e[i].id, id, len) == 0))
		i = (i + 1) & mask;
	return i;
}

cq_sindex_ent_t *
cq_sindex_get(cq_sindex_t *ix, const char *id, size_t len)
{
	if (ix->n == 0)
		return NULL;
	size_t i = probe(ix, id, len, hash_of(id, len));
	return ix->e[i].id != NULL ? &ix->e[i] : NULL;
}

static int
grow(cq_sindex_t *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : MIN_CAP;
	cq_sindex_ent_t *old = ix->e, *e = calloc(cap, sizeof(*e));
	if (e == NULL)
		return -1;
	size_t ocap = ix->cap;
	ix->e = e;
	ix->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].id != NULL)
			ix->e[probe(ix, old[i].id, old[i].id_len,
				old[i].hash)] = old[i];
	free(old);
	return 0;
}

cq_sindex_ent_t *
cq_sindex_put(cq_sindex_t *ix, const char *id, size_t len)
{
	if ((ix->n + 1) * 2 > ix->cap && grow(ix) < 0)
		return NULL;
	uint64_t h = hash_of(id, len);
	size_t i = probe(ix, id, len, h);
	cq_sindex_ent_t *e = &ix->e[i];
	if (e->id != NULL)
		return e;
	/* +1: a NUL, so that a copy can be logged as a string. */
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, id, len);
	copy[len] = '\0';
	*e = (cq_sindex_ent_t){.id = copy, .id_len = len, .hash = h};
	ix->n++;
	return e;
}

void
cq_sindex_del(cq_sindex_t *ix, const char *id, size_t len)
{
	if (ix->n == 0)
		return;
	size_t mask = ix->cap - 1;
	size_t i = probe(ix, id, len, hash_of(id, len));
	if (ix->e[i].id == NULL)
		return;
	ent_release(&ix->e[i]);
	ix->n--;
	/* Backward shift: move up every entry that probed past the hole. */
	for (size_t j = (i + 1) & mask; ix->e[j].id != NULL;
		j = (j + 1) & mask) {
		size_t home = (size_t)ix->e[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			ix->e[i] = ix->e[j];
			memset(&ix->e[j], 0, sizeof(ix->e[j]));
			i = j;
		}
	}
}

int
cq_sindex_queue_add(cq_sindex_ent_t *e, uint32_t pos, cq_off_t msg)
{
	if (e->nqueue == e->cap_queue) {
		uint32_t cap = e->cap_queue ? e->cap_queue * 2 : 8;
		cq_sindex_q_t *q = realloc(e->queue, cap * sizeof(*q));
		if (q == NULL) {
			errno = ENOMEM;
			return -1;
		}
		e->queue = q;
		e->cap_queue = cap;
	}
	e->queue[e->nqueue++] = (cq_sindex_q_t){pos, msg};
	return 0;
}
