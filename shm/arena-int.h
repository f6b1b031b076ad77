/*
 * arena-int.h — the arena's shared-memory layout, for arena.c and
 * arena-check.c only.  See arena.c for the design and the invariants.
 */
#ifndef CQ_SHM_ARENA_INT_H
#define CQ_SHM_ARENA_INT_H

#include <stdint.h>

#include "core/defs.h"
#include "shm/arena.h"
#include "shm/lock.h"

#define ARENA_MAGIC     UINT64_C(0x414e455241514d43) /* "CMQARENA" */
#define SB_MAGIC        0x53425143u /* "CQBS" */
#define ARENA_PAGE_LOG  12
#define ARENA_PAGE      (1u << ARENA_PAGE_LOG)
#define SB_PAGES        16u
#define SB_BYTES        (SB_PAGES * ARENA_PAGE)
#define ARENA_NCLASSES  28u
#define MAG_MAX         64u
#define ARENA_NBINS     26u
#define SB_HDR_FIXED    32u
#define ARENA_MAX_PAGES ((1u << 28) - 1)

/* Page map tags: kind in the top 4 bits, a value below. */
#define PM_TAG(kind, val) (((uint32_t)(kind) << 28) | (uint32_t)(val))
#define PM_KIND(t)        ((t) >> 28)
#define PM_VAL(t)         ((t)&0x0fffffffu)
enum {
	PM_NONE = 0, /* inside a run: meaningless */
	PM_FREE = 1, /* head of a free run, value = pages */
	PM_FTAIL = 2, /* last page of a free run longer than 1 */
	PM_LARGE = 3, /* head of a large object, value = pages */
	PM_LTAIL = 4, /* last page of a large object longer than 1 */
	PM_SB = 5, /* every page of a superblock, value = its first page */
};

typedef struct sb_hdr {
	uint32_t magic;
	uint16_t cls;
	uint16_t nobjs;
	uint16_t nfree; /* derived from the bitmap (class lock) */
	uint16_t obj0; /* byte offset of object 0 */
	uint32_t next; /* partial list, page + 1 (derived) */
	uint32_t prev;
	uint32_t hint; /* first bitmap word that may have a free bit */
	uint32_t pad[2];
	uint64_t bitmap[]; /* 1 = free; the truth about every object */
} sb_hdr_t;

typedef struct arena_class {
	cq_mutex_t lock;
	uint32_t size;
	uint32_t nobjs;
	uint32_t obj0;
	uint32_t mag_cap;
	uint32_t batch;
	uint32_t partial; /* superblocks with free objects, page + 1 */
	uint32_t nsb; /* derived */
	uint32_t nempty; /* derived */
	uint64_t allocated; /* objects whose bit is clear (derived) */
	uint64_t failures;
} __attribute__((aligned(CQ_CACHELINE))) arena_class_t;

/* Owned by one slot; count is the only word others read. */
typedef struct arena_mag {
	uint32_t count;
	cq_off_t objs[MAG_MAX];
} __attribute__((aligned(CQ_CACHELINE))) arena_mag_t;

typedef struct arena_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t npages;
	uint64_t data_byte; /* region offset of page 0 */
	uint64_t classes_byte; /* offsets from the area start */
	uint64_t mags_byte;
	uint64_t pagemap_byte;
	cq_mutex_t page_lock;
	uint32_t bins[ARENA_NBINS]; /* free runs by log2(pages), page + 1 */
	uint32_t free_pages; /* derived (page lock) */
	uint32_t large_pages; /* derived */
	uint32_t large_objs; /* derived */
	uint32_t lost_pages; /* found corrupt by a rebuild, never reused */
	uint64_t large_failures;
} arena_hdr_t;

/* In the first page of every free run. */
typedef struct run_node {
	uint32_t next; /* page + 1 */
	uint32_t prev;
} run_node_t;

/* One mapping's view of the arena. */
typedef struct arena_ctx {
	char *base;
	size_t region_size;
	arena_hdr_t *a;
	arena_class_t *cls;
	arena_mag_t *mags;
	uint32_t *pm;
} arena_ctx_t;

extern const uint16_t cq_arena_class_sizes[ARENA_NCLASSES];

static inline uint32_t
pm_get(const arena_ctx_t *x, uint32_t page)
{
	return __atomic_load_n(&x->pm[page], __ATOMIC_RELAXED);
}

static inline void
pm_set(arena_ctx_t *x, uint32_t page, uint32_t tag)
{
	__atomic_store_n(&x->pm[page], tag, __ATOMIC_RELAXED);
}

static inline char *
page_ptr(const arena_ctx_t *x, uint32_t page)
{
	return x->base + x->a->data_byte + ((uint64_t)page << ARENA_PAGE_LOG);
}

static inline sb_hdr_t *
sb_at(const arena_ctx_t *x, uint32_t page)
{
	return (sb_hdr_t *)page_ptr(x, page);
}

static inline arena_mag_t *
mag_of(const arena_ctx_t *x, unsigned slot, unsigned c)
{
	return &x->mags[slot * ARENA_NCLASSES + c];
}

static inline uint32_t
sb_words(uint32_t nobjs)
{
	return (nobjs + 63) / 64;
}

/* Pages the run whose head is at 'page' covers (1 for nonsense). */
static inline uint32_t
run_pages(const arena_ctx_t *x, uint32_t page)
{
	uint32_t t = pm_get(x, page);
	uint32_t n = 1;
	if (PM_KIND(t) == PM_FREE || PM_KIND(t) == PM_LARGE)
		n = PM_VAL(t);
	else if (PM_KIND(t) == PM_SB && PM_VAL(t) == page)
		n = SB_PAGES;
	return n == 0 || n > x->a->npages - page ? 1 : n;
}

/* Objects per superblock and the offset of the first, for a class size. */
void cq_arena_class_geometry(
	uint32_t size, uint32_t *nobjs_r, uint32_t *obj0_r);
/* Geometry of every mapping (arena.c). */
int cq_arena_ctx(arena_ctx_t *x, char *base, size_t region_size, void *area);
/* Where 'off' is: its page, or -1 outside the data pages. */
int cq_arena_off_page(const arena_ctx_t *x, cq_off_t off, uint32_t *page_r);
/* Index of object 'off' in superblock 'sbpage', or -1. */
int cq_arena_obj_index(
	const arena_ctx_t *x, uint32_t sbpage, cq_off_t off, uint32_t *idx_r);
cq_off_t cq_arena_obj_off(const arena_ctx_t *x, uint32_t sbpage, uint32_t idx);
uint32_t cq_arena_sb_popcount(const sb_hdr_t *sb);
/* Lock a class / the pages, rebuilding derived state after a recovery. */
void cq_arena_class_lock(arena_ctx_t *x, unsigned c);
void cq_arena_pages_lock(arena_ctx_t *x);
void cq_arena_class_rebuild_locked(arena_ctx_t *x, unsigned c);
void cq_arena_pages_rebuild_locked(arena_ctx_t *x);
unsigned cq_arena_bin_of(uint32_t pages);
void cq_arena_free_in(arena_ctx_t *x, cq_off_t off);

/* arena-check.c */
void cq_arena_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep);
void cq_arena_check_final(cq_shm_t *shm, void *area, cq_shm_report_t *rep);

#endif /* CQ_SHM_ARENA_INT_H */
