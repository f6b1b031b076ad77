/*
 * hash.h — a hash of a byte string for private (process-memory) tables:
 * FNV-1a 64 with a final mix of the high bits into the low ones (tables
 * index with the low bits).  Not for anything an attacker may choose to
 * collide in a shared structure: the shm tables use seeded hashes.
 */
#ifndef CQ_CORE_HASH_H
#define CQ_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
cq_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * UINT64_C(0x100000001b3);
	return h ^ (h >> 29);
}

#endif /* CQ_CORE_HASH_H */
