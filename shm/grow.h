/*
 * grow.h — growing an array in private (process) memory.
 *
 * The tables' private scratch (match results, walk cursors, checker and
 * purge stacks, the worker's private trie) grows arrays by doubling; this
 * is the one helper they share.  Never for shm objects: those come from
 * the arena and never grow in place.
 */
#ifndef CQ_SHM_GROW_H
#define CQ_SHM_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Make the array *p of *cap elements of 'size' bytes hold at least 'need'
 * (doubling, from 16).  0, or -1 with errno ENOMEM (the array unchanged).
 */
static inline int
cq_grow(void **p, uint32_t *cap, uint64_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint64_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *np = n <= UINT32_MAX ? realloc(*p, (size_t)n * size) : NULL;
	if (np == NULL) {
		errno = ENOMEM;
		return -1;
	}
	*p = np;
	*cap = (uint32_t)n;
	return 0;
}

#endif /* CQ_SHM_GROW_H */
