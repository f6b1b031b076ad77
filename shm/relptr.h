/*
 * relptr.h — offsets instead of pointers inside the shared region.
 *
 * Every link stored in shared memory is a cq_off_t: a 32-bit offset from the
 * region's base in units of CQ_SHM_GRANULE (16) bytes, so one region can be
 * up to 64 GiB, every shm object is 16-byte aligned, and an {offset, tag}
 * pair fits one 64-bit CAS.  Offset 0 is NULL (the region header lives
 * there, so no object can have offset 0).
 *
 * Offsets make the region position independent: the master, a respawned
 * worker, comqttctl or the post-crash checker may map it at any address and
 * bounds-check every link (cq_off_valid).  Nothing in the region may hold a
 * raw pointer or a pointer into private memory.
 *
 * A process works on one "current" mapping (cq_shm_cur, set by
 * cq_shm_create/attach/use); the CQ_PTR/CQ_OFF shortcuts use it.  Code that
 * must read a second mapping uses cq_off_ptr/cq_ptr_off with an explicit base.
 *
 * Readers of words that writers publish concurrently must use
 * cq_off_load() (acquire); writers publish a fully built object with
 * cq_off_publish() (release).
 */
#ifndef CQ_SHM_RELPTR_H
#define CQ_SHM_RELPTR_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t cq_off_t;

#define CQ_SHM_GRANULE     16u
#define CQ_SHM_GRANULE_LOG 4
#define CQ_OFF_NULL        ((cq_off_t)0)
/* Largest region addressable with 32-bit granule offsets: 64 GiB. */
#define CQ_SHM_MAX_SIZE ((uint64_t)UINT32_MAX << CQ_SHM_GRANULE_LOG)

/* Documents what an offset points to: cq_relptr(struct route_node) child; */
#define cq_relptr(type) cq_off_t

/* Base of this process's current mapping (see region.h). */
extern char *cq_shm_cur;

static inline void *
cq_off_ptr(const void *base, cq_off_t off)
{
	return off == CQ_OFF_NULL
		? NULL
		: (char *)base + ((size_t)off << CQ_SHM_GRANULE_LOG);
}

static inline cq_off_t
cq_ptr_off(const void *base, const void *p)
{
	return p == NULL ? CQ_OFF_NULL
			 : (cq_off_t)(((const char *)p - (const char *)base) >>
				   CQ_SHM_GRANULE_LOG);
}

#define CQ_PTR(type, off) ((type *)cq_off_ptr(cq_shm_cur, (off)))
#define CQ_OFF(p)         cq_ptr_off(cq_shm_cur, (p))

/* True when [off, off + size) lies inside a region of region_size bytes. */
static inline int
cq_off_valid(size_t region_size, cq_off_t off, size_t size)
{
	size_t start = (size_t)off << CQ_SHM_GRANULE_LOG;
	return off != CQ_OFF_NULL && start < region_size &&
		size <= region_size - start;
}

static inline cq_off_t
cq_off_load(const cq_off_t *word)
{
	return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline void
cq_off_publish(cq_off_t *word, cq_off_t off)
{
	__atomic_store_n(word, off, __ATOMIC_RELEASE);
}

#endif /* CQ_SHM_RELPTR_H */
