/*
 * arena.c — the size-class slab allocator of the shared region (arena.h).
 *
 * Three layers, each guarded by its own robust mutex:
 *
 *  - Pages.  The data area is an array of 4 KiB pages described by a page
 *    map (one 32-bit tag per page, see arena-int.h).  Runs of pages are
 *    free, a large object, or a 64 KiB superblock; the first and last page
 *    of every run carry tags so that a freed run coalesces with its free
 *    neighbours in O(1).  Free runs sit in bins by log2(length), first fit
 *    within the bin.  Page lock.
 *  - Classes.  28 size classes of 16 B .. 4 KiB.  A superblock belongs to
 *    one class; its header holds a bitmap (1 = free) and the page map tags
 *    every page of it with its first page, so cq_arena_free finds the
 *    class of any offset without a lock.  Superblocks with free objects
 *    are on the class's partial list.  One empty superblock per class is
 *    kept; further empty ones go back to the pages.  Class lock; lock
 *    order class -> pages.
 *  - Magazines.  Each worker slot has, per class, a stack of up to 64 free
 *    objects in shm, refilled and drained in batches under the class lock.
 *    Only the slot's own process touches it (the master only after the
 *    slot's process has died), so the common alloc/free is two loads and
 *    one store.  Processes without a slot go straight to the class.
 *
 * Invariants (checked by cq_arena_check):
 *  1. The page map tiles the data area: walking heads from page 0 by run
 *     length ends exactly at npages.  Every run's last page carries its
 *     tail tag; every page of a superblock carries SB(first page).
 *  2. A superblock's bitmap is the truth about its objects: bit set = free
 *     in the superblock.  An object whose bit is clear is owned by exactly
 *     one of: a caller, one magazine, or nobody (leaked by a crash).
 *  3. Free lists (bins, partial lists) and counters (nfree, nsb,
 *     allocated, free_pages) are derived state: each is rebuilt from the
 *     page map and the bitmaps by whoever next takes its lock after a
 *     holder died (CQ_LOCK_RECOVERED), and checked against them.
 *  4. Moving an object or a run between owners first removes it from the
 *     source, then adds it to the destination.  A death in between leaks
 *     it (counted by the leak scan); nothing is ever owned twice.
 *  5. A run's head tag is written last when it changes owner: before that
 *     store the old head still describes a consistent tiling.
 *
 * A process dies at an instruction boundary and every store it executed
 * stays visible, so crash ordering needs only compiler ordering; the
 * crash_order() barriers below provide it where atomics would not.
 */
#include "config.h"
#include "shm/arena.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "shm/arena-int.h"
#include "shm/crashpoint.h"

#define crash_order() __atomic_signal_fence(__ATOMIC_SEQ_CST)

const uint16_t cq_arena_class_sizes[ARENA_NCLASSES] = {16, 32, 48, 64, 80, 96,
	112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
	1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096};

/* size class by (size + 15) / 16, built once per process */
static uint8_t class_lut[CQ_ARENA_MAX_SMALL / 16 + 1];
static arena_ctx_t cur;

__attribute__((constructor)) static void
build_class_lut(void)
{
	unsigned c = 0;
	for (unsigned i = 0; i < CQ_ARRAY_SIZE(class_lut); i++) {
		while (cq_arena_class_sizes[c] < i * 16)
			c++;
		class_lut[i] = (uint8_t)c;
	}
}

/* ---- geometry ------------------------------------------------------- */

static uint32_t
sb_hdr_bytes(uint32_t nobjs)
{
	return (SB_HDR_FIXED + 8 * sb_words(nobjs) + 15) & ~15u;
}

void
cq_arena_class_geometry(uint32_t size, uint32_t *nobjs_r, uint32_t *obj0_r)
{
	uint32_t n = (SB_BYTES - SB_HDR_FIXED) / size;
	while (sb_hdr_bytes(n) + n * size > SB_BYTES)
		n--;
	*nobjs_r = n;
	*obj0_r = sb_hdr_bytes(n);
}

static size_t
fixed_bytes(uint32_t nslots)
{
	return ((sizeof(arena_hdr_t) + CQ_CACHELINE - 1) & ~(size_t)63) +
		ARENA_NCLASSES * sizeof(arena_class_t) +
		(size_t)nslots * ARENA_NCLASSES * sizeof(arena_mag_t);
}

int
cq_arena_ctx(arena_ctx_t *x, char *base, size_t region_size, void *area)
{
	arena_hdr_t *a = area;
	x->base = base;
	x->region_size = region_size;
	x->a = a;
	x->cls = (arena_class_t *)((char *)area + a->classes_byte);
	x->mags = (arena_mag_t *)((char *)area + a->mags_byte);
	x->pm = (uint32_t *)((char *)area + a->pagemap_byte);
	return a->magic == ARENA_MAGIC ? 0 : -1;
}

int
cq_arena_off_page(const arena_ctx_t *x, cq_off_t off, uint32_t *page_r)
{
	uint64_t byte = (uint64_t)off << CQ_SHM_GRANULE_LOG;
	uint64_t d = x->a->data_byte;
	if (off == CQ_OFF_NULL || byte < d ||
		byte >= d + ((uint64_t)x->a->npages << ARENA_PAGE_LOG))
		return -1;
	*page_r = (uint32_t)((byte - d) >> ARENA_PAGE_LOG);
	return 0;
}

cq_off_t
cq_arena_obj_off(const arena_ctx_t *x, uint32_t sbpage, uint32_t idx)
{
	const arena_class_t *k = &x->cls[sb_at(x, sbpage)->cls];
	uint64_t byte = x->a->data_byte + ((uint64_t)sbpage << ARENA_PAGE_LOG) +
		k->obj0 + (uint64_t)idx * k->size;
	return (cq_off_t)(byte >> CQ_SHM_GRANULE_LOG);
}

int
cq_arena_obj_index(
	const arena_ctx_t *x, uint32_t sbpage, cq_off_t off, uint32_t *idx_r)
{
	const sb_hdr_t *sb = sb_at(x, sbpage);
	if (sb->magic != SB_MAGIC || sb->cls >= ARENA_NCLASSES)
		return -1;
	const arena_class_t *k = &x->cls[sb->cls];
	uint64_t rel = ((uint64_t)off << CQ_SHM_GRANULE_LOG) -
		(x->a->data_byte + ((uint64_t)sbpage << ARENA_PAGE_LOG));
	if (rel < k->obj0 || (rel - k->obj0) % k->size != 0)
		return -1;
	uint64_t idx = (rel - k->obj0) / k->size;
	if (idx >= sb->nobjs)
		return -1;
	*idx_r = (uint32_t)idx;
	return 0;
}

uint32_t
cq_arena_sb_popcount(const sb_hdr_t *sb)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < sb_words(sb->nobjs); i++)
		n += (uint32_t)__builtin_popcountll(sb->bitmap[i]);
	return n;
}

/* ---- page runs (page lock) ---------------------------------------- */

unsigned
cq_arena_bin_of(uint32_t pages)
{
	unsigned b = 31u - (unsigned)__builtin_clz(pages);
	return b < ARENA_NBINS ? b : ARENA_NBINS - 1;
}

static run_node_t *
run_node(const arena_ctx_t *x, uint32_t page)
{
	return (run_node_t *)page_ptr(x, page);
}

static void
bin_insert(arena_ctx_t *x, uint32_t page, uint32_t len)
{
	uint32_t *head = &x->a->bins[cq_arena_bin_of(len)];
	run_node_t *n = run_node(x, page);
	n->prev = 0;
	n->next = *head;
	if (*head != 0)
		run_node(x, *head - 1)->prev = page + 1;
	*head = page + 1;
}

static void
bin_remove(arena_ctx_t *x, uint32_t page, uint32_t len)
{
	run_node_t *n = run_node(x, page);
	if (n->prev != 0)
		run_node(x, n->prev - 1)->next = n->next;
	else
		x->a->bins[cq_arena_bin_of(len)] = n->next;
	if (n->next != 0)
		run_node(x, n->next - 1)->prev = n->prev;
}

/* Make [page, page + len) one free run: tail first, head last (5.). */
static void
run_mark_free(arena_ctx_t *x, uint32_t page, uint32_t len)
{
	if (len > 1)
		pm_set(x, page + len - 1, PM_TAG(PM_FTAIL, len));
	crash_order();
	pm_set(x, page, PM_TAG(PM_FREE, len));
	bin_insert(x, page, len);
}

static uint32_t
pages_find_locked(const arena_ctx_t *x, uint32_t n)
{
	unsigned b = cq_arena_bin_of(n);
	uint32_t p = x->a->bins[b];
	/* First fit in the run's own bin, a bounded walk; any run of a
	 * higher bin is long enough. */
	for (unsigned steps = 0; p != 0 && steps < 64; steps++) {
		if (PM_VAL(pm_get(x, p - 1)) >= n)
			return p - 1;
		p = run_node(x, p - 1)->next;
	}
	for (b++; b < ARENA_NBINS; b++) {
		if (x->a->bins[b] != 0)
			return x->a->bins[b] - 1;
	}
	return UINT32_MAX;
}

static void
sb_init(arena_ctx_t *x, unsigned c, uint32_t page)
{
	const arena_class_t *k = &x->cls[c];
	sb_hdr_t *sb = sb_at(x, page);
	memset(sb, 0, k->obj0);
	sb->magic = SB_MAGIC;
	sb->cls = (uint16_t)c;
	sb->nobjs = (uint16_t)k->nobjs;
	sb->nfree = (uint16_t)k->nobjs;
	sb->obj0 = (uint16_t)k->obj0;
	for (uint32_t i = 0; i < k->nobjs / 64; i++)
		sb->bitmap[i] = ~UINT64_C(0);
	if (k->nobjs % 64 != 0)
		sb->bitmap[k->nobjs / 64] = (UINT64_C(1) << (k->nobjs % 64)) -
			1;
}

/*
 * Take a run of n pages for a large object (c ignored) or a superblock of
 * class c.  Page lock held.  Returns the first page or UINT32_MAX.
 */
static uint32_t
pages_alloc_locked(arena_ctx_t *x, uint32_t n, int kind, unsigned c)
{
	uint32_t s = pages_find_locked(x, n);
	if (s == UINT32_MAX)
		return s;
	uint32_t len = PM_VAL(pm_get(x, s));
	bin_remove(x, s, len);
	if (len > n)
		run_mark_free(x, s + n, len - n);
	CQ_CRASHPOINT("arena.pages_locked");
	if (kind == PM_SB) {
		sb_init(x, c, s);
		for (uint32_t p = 1; p < n; p++)
			pm_set(x, s + p, PM_TAG(PM_SB, s));
	} else if (n > 1) {
		pm_set(x, s + n - 1, PM_TAG(PM_LTAIL, n));
	}
	crash_order();
	pm_set(x, s, kind == PM_SB ? PM_TAG(PM_SB, s) : PM_TAG(PM_LARGE, n));
	x->a->free_pages -= n;
	if (kind == PM_LARGE) {
		x->a->large_pages += n;
		x->a->large_objs++;
	}
	return s;
}

/* Give back the run of n pages at s, merging free neighbours.  Page lock
 * held. */
static void
pages_free_locked(arena_ctx_t *x, uint32_t s, uint32_t n)
{
	uint32_t start = s, len = n, e = s + n;
	if (s > 0) {
		uint32_t t = pm_get(x, s - 1);
		uint32_t pl = PM_VAL(t);
		if (((PM_KIND(t) == PM_FREE && pl == 1) ||
			    PM_KIND(t) == PM_FTAIL) &&
			pl <= s && pm_get(x, s - pl) == PM_TAG(PM_FREE, pl)) {
			bin_remove(x, s - pl, pl);
			start = s - pl;
			len += pl;
		}
	}
	if (e < x->a->npages && PM_KIND(pm_get(x, e)) == PM_FREE) {
		uint32_t nl = PM_VAL(pm_get(x, e));
		if (nl > 0 && nl <= x->a->npages - e &&
			(nl == 1 ||
				pm_get(x, e + nl - 1) ==
					PM_TAG(PM_FTAIL, nl))) {
			bin_remove(x, e, nl);
			len += nl;
		}
	}
	CQ_CRASHPOINT("arena.pages_locked");
	run_mark_free(x, start, len);
	x->a->free_pages += n;
}

/* Walk the runs and make every derived word true again: tails, bins,
 * counters; adjacent free runs merge; nonsense heads become lost pages. */
void
cq_arena_pages_rebuild_locked(arena_ctx_t *x)
{
	arena_hdr_t *a = x->a;
	memset(a->bins, 0, sizeof(a->bins));
	a->free_pages = a->large_pages = a->large_objs = 0;
	uint32_t free_start = UINT32_MAX, lost = 0;
	for (uint32_t p = 0; p <= a->npages;) {
		uint32_t t = p < a->npages ? pm_get(x, p) : PM_TAG(PM_NONE, 0);
		uint32_t n = p < a->npages ? run_pages(x, p) : 1;
		if (p < a->npages && PM_KIND(t) == PM_FREE && PM_VAL(t) == n) {
			if (free_start == UINT32_MAX)
				free_start = p;
			p += n;
			continue;
		}
		if (free_start != UINT32_MAX) {
			run_mark_free(x, free_start, p - free_start);
			a->free_pages += p - free_start;
			free_start = UINT32_MAX;
		}
		if (p == a->npages)
			break;
		if (PM_KIND(t) == PM_LARGE && PM_VAL(t) == n) {
			if (n > 1)
				pm_set(x, p + n - 1, PM_TAG(PM_LTAIL, n));
			a->large_pages += n;
			a->large_objs++;
		} else if (PM_KIND(t) == PM_SB && n == SB_PAGES &&
			sb_at(x, p)->magic == SB_MAGIC) {
			for (uint32_t i = 1; i < n; i++)
				pm_set(x, p + i, PM_TAG(PM_SB, p));
		} else {
			/* Not a head a crash can leave: corruption.  Never
			 * reuse the page. */
			n = 1;
			pm_set(x, p, PM_TAG(PM_LARGE, 1));
			lost++;
		}
		p += n;
	}
	a->lost_pages += lost;
	cq_log(lost ? CQ_LOG_ERR : CQ_LOG_NOTICE, 0,
		"arena pages rebuilt: %u free, %u in large objects, %u lost",
		a->free_pages, a->large_pages, lost);
}

void
cq_arena_pages_lock(arena_ctx_t *x)
{
	if (cq_mutex_lock(&x->a->page_lock) == CQ_LOCK_RECOVERED)
		cq_arena_pages_rebuild_locked(x);
}

/* ---- classes (class lock) ----------------------------------------- */

static void
partial_push(arena_ctx_t *x, arena_class_t *k, uint32_t page)
{
	sb_hdr_t *sb = sb_at(x, page);
	sb->prev = 0;
	sb->next = k->partial;
	if (k->partial != 0)
		sb_at(x, k->partial - 1)->prev = page + 1;
	k->partial = page + 1;
}

static void
partial_remove(arena_ctx_t *x, arena_class_t *k, uint32_t page)
{
	sb_hdr_t *sb = sb_at(x, page);
	if (sb->prev != 0)
		sb_at(x, sb->prev - 1)->next = sb->next;
	else
		k->partial = sb->next;
	if (sb->next != 0)
		sb_at(x, sb->next - 1)->prev = sb->prev;
	sb->next = sb->prev = 0;
}

void
cq_arena_class_rebuild_locked(arena_ctx_t *x, unsigned c)
{
	arena_class_t *k = &x->cls[c];
	k->partial = k->nsb = k->nempty = 0;
	k->allocated = 0;
	cq_arena_pages_lock(x);
	for (uint32_t p = 0; p < x->a->npages; p += run_pages(x, p)) {
		sb_hdr_t *sb = sb_at(x, p);
		if (pm_get(x, p) != PM_TAG(PM_SB, p) || sb->magic != SB_MAGIC ||
			sb->cls != c)
			continue;
		sb->nfree = (uint16_t)cq_arena_sb_popcount(sb);
		sb->hint = 0;
		k->nsb++;
		k->allocated += sb->nobjs - sb->nfree;
		if (sb->nfree == sb->nobjs)
			k->nempty++;
		if (sb->nfree > 0)
			partial_push(x, k, p);
	}
	cq_mutex_unlock(&x->a->page_lock);
	cq_log(CQ_LOG_NOTICE, 0,
		"arena class %u (%u B) rebuilt: %u superblocks, %llu objects "
		"allocated",
		c, k->size, k->nsb, (unsigned long long)k->allocated);
}

void
cq_arena_class_lock(arena_ctx_t *x, unsigned c)
{
	if (cq_mutex_lock(&x->cls[c].lock) == CQ_LOCK_RECOVERED)
		cq_arena_class_rebuild_locked(x, c);
}

/* A new empty superblock for class c on its partial list; page+1 or 0. */
static uint32_t
sb_new_locked(arena_ctx_t *x, unsigned c)
{
	arena_class_t *k = &x->cls[c];
	cq_arena_pages_lock(x);
	uint32_t s = pages_alloc_locked(x, SB_PAGES, PM_SB, c);
	cq_mutex_unlock(&x->a->page_lock);
	if (s == UINT32_MAX)
		return 0;
	CQ_CRASHPOINT("arena.class_locked");
	partial_push(x, k, s);
	k->nsb++;
	k->nempty++;
	return s + 1;
}

/* Clear up to 'want' free bits of one superblock into out[]. */
static unsigned
sb_take(arena_ctx_t *x, uint32_t page, cq_off_t *out, unsigned want)
{
	sb_hdr_t *sb = sb_at(x, page);
	const arena_class_t *k = &x->cls[sb->cls];
	uint64_t base = x->a->data_byte + ((uint64_t)page << ARENA_PAGE_LOG) +
		k->obj0;
	unsigned got = 0;
	uint32_t nw = sb_words(sb->nobjs), i;
	for (i = sb->hint; i < nw && got < want; i++) {
		uint64_t w = sb->bitmap[i];
		while (w != 0 && got < want) {
			uint32_t idx = i * 64 + (uint32_t)__builtin_ctzll(w);
			w &= w - 1;
			out[got++] =
				(cq_off_t)((base + (uint64_t)idx * k->size) >>
					CQ_SHM_GRANULE_LOG);
		}
		sb->bitmap[i] = w;
		if (w != 0)
			break;
	}
	sb->hint = i < nw ? i : 0;
	sb->nfree = (uint16_t)(sb->nfree - got);
	return got;
}

/* Take up to 'want' objects of class c into out[].  Class lock held. */
static unsigned
class_take_locked(arena_ctx_t *x, unsigned c, cq_off_t *out, unsigned want)
{
	arena_class_t *k = &x->cls[c];
	unsigned got = 0;
	while (got < want) {
		uint32_t sbp = k->partial != 0 ? k->partial
					       : sb_new_locked(x, c);
		if (sbp == 0)
			break;
		sb_hdr_t *sb = sb_at(x, sbp - 1);
		if (sb->nfree == sb->nobjs)
			k->nempty--;
		unsigned n = sb_take(x, sbp - 1, out + got, want - got);
		if (n == 0) {
			/* nfree lied (derived state): trust the bitmap. */
			sb->hint = 0;
			sb->nfree = (uint16_t)cq_arena_sb_popcount(sb);
		}
		got += n;
		if (sb->nfree == 0)
			partial_remove(x, k, sbp - 1);
	}
	k->allocated += got;
	if (got == 0)
		k->failures++;
	return got;
}

/* A superblock became empty: keep one spare per class, give the rest
 * back to the pages. */
static void
sb_emptied_locked(arena_ctx_t *x, arena_class_t *k, uint32_t page)
{
	if (k->nempty++ == 0)
		return;
	partial_remove(x, k, page);
	k->nempty--;
	k->nsb--;
	crash_order();
	cq_arena_pages_lock(x);
	pages_free_locked(x, page, SB_PAGES);
	cq_mutex_unlock(&x->a->page_lock);
}

static void
bad_free(cq_off_t off, const char *why)
{
	cq_log(CQ_LOG_ERR, 0, "cq_arena_free(%#x): %s; ignored", off, why);
}

/* Return n objects of class c.  Class lock held. */
static void
class_give_locked(arena_ctx_t *x, unsigned c, const cq_off_t *objs, unsigned n)
{
	arena_class_t *k = &x->cls[c];
	unsigned freed = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t page, idx;
		if (cq_arena_off_page(x, objs[i], &page) < 0 ||
			PM_KIND(pm_get(x, page)) != PM_SB) {
			bad_free(objs[i], "not in a superblock");
			continue;
		}
		uint32_t sbp = PM_VAL(pm_get(x, page));
		sb_hdr_t *sb = sb_at(x, sbp);
		if (cq_arena_obj_index(x, sbp, objs[i], &idx) < 0 ||
			sb->cls != c) {
			bad_free(objs[i], "not an object of its class");
			continue;
		}
		uint64_t bit = UINT64_C(1) << (idx % 64);
		if (sb->bitmap[idx / 64] & bit) {
			bad_free(objs[i], "double free");
			continue;
		}
		sb->bitmap[idx / 64] |= bit;
		if (idx / 64 < sb->hint)
			sb->hint = idx / 64;
		freed++;
		if (++sb->nfree == 1)
			partial_push(x, k, sbp);
		if (sb->nfree == sb->nobjs)
			sb_emptied_locked(x, k, sbp);
	}
	k->allocated -= freed;
}

/* ---- magazines ----------------------------------------------------- */

static uint32_t
mag_refill(arena_ctx_t *x, unsigned c, arena_mag_t *m)
{
	arena_class_t *k = &x->cls[c];
	cq_arena_class_lock(x, c);
	unsigned got = class_take_locked(x, c, m->objs, k->batch);
	/* Bits are clear, the magazine does not count them yet (4.). */
	CQ_CRASHPOINT("arena.class_locked");
	cq_mutex_unlock(&k->lock);
	crash_order();
	__atomic_store_n(&m->count, got, __ATOMIC_RELAXED);
	return got;
}

/* Move the top 'n' objects of the magazine back to their class. */
static void
mag_drain(arena_ctx_t *x, unsigned c, arena_mag_t *m, uint32_t n)
{
	cq_off_t tmp[MAG_MAX];
	uint32_t have = m->count;
	if (n > have)
		n = have;
	memcpy(tmp, &m->objs[have - n], n * sizeof(tmp[0]));
	__atomic_store_n(&m->count, have - n, __ATOMIC_RELAXED);
	crash_order();
	cq_arena_class_lock(x, c);
	CQ_CRASHPOINT("arena.class_locked");
	class_give_locked(x, c, tmp, n);
	cq_mutex_unlock(&x->cls[c].lock);
}

/* ---- the API ------------------------------------------------------- */

static cq_off_t
page_off(const arena_ctx_t *x, uint32_t page)
{
	return (cq_off_t)((x->a->data_byte +
				  ((uint64_t)page << ARENA_PAGE_LOG)) >>
		CQ_SHM_GRANULE_LOG);
}

static cq_off_t
large_alloc(arena_ctx_t *x, size_t size)
{
	uint64_t n = ((uint64_t)size + ARENA_PAGE - 1) >> ARENA_PAGE_LOG;
	uint32_t s = UINT32_MAX;
	cq_arena_pages_lock(x);
	if (n <= x->a->npages)
		s = pages_alloc_locked(x, (uint32_t)n, PM_LARGE, 0);
	if (s == UINT32_MAX)
		x->a->large_failures++;
	cq_mutex_unlock(&x->a->page_lock);
	return s == UINT32_MAX ? CQ_OFF_NULL : page_off(x, s);
}

static cq_off_t
direct_alloc(arena_ctx_t *x, unsigned c)
{
	cq_off_t off = CQ_OFF_NULL;
	cq_arena_class_lock(x, c);
	class_take_locked(x, c, &off, 1);
	cq_mutex_unlock(&x->cls[c].lock);
	return off;
}

cq_off_t
cq_arena_alloc(size_t size)
{
	arena_ctx_t *x = &cur;
	if (cq_unlikely(x->a == NULL))
		return CQ_OFF_NULL;
	if (size > CQ_ARENA_MAX_SMALL)
		return large_alloc(x, size);
	unsigned c = class_lut[(size + 15) >> 4];
	unsigned slot = cq_shm_slot;
	if (slot >= x->a->nslots)
		return direct_alloc(x, c);
	arena_mag_t *m = mag_of(x, slot, c);
	uint32_t n = m->count;
	if (cq_unlikely(n == 0) && (n = mag_refill(x, c, m)) == 0)
		return CQ_OFF_NULL;
	cq_off_t off = m->objs[n - 1];
	__atomic_store_n(&m->count, n - 1, __ATOMIC_RELAXED);
	return off;
}

cq_off_t
cq_arena_zalloc(size_t size)
{
	cq_off_t off = cq_arena_alloc(size);
	if (off != CQ_OFF_NULL)
		memset(cq_off_ptr(cur.base, off), 0, size);
	return off;
}

/* Which class an object belongs to, or -1 (logged) for a bad offset. */
static int
small_class(const arena_ctx_t *x, uint32_t page, cq_off_t off)
{
	uint32_t sbp = PM_VAL(pm_get(x, page)), idx;
	if (cq_arena_obj_index(x, sbp, off, &idx) < 0) {
		bad_free(off, "not the start of an object");
		return -1;
	}
	return sb_at(x, sbp)->cls;
}

static void
large_free(arena_ctx_t *x, uint32_t page, cq_off_t off)
{
	cq_arena_pages_lock(x);
	uint32_t t = pm_get(x, page);
	if (PM_KIND(t) == PM_LARGE && page_off(x, page) == off) {
		x->a->large_pages -= PM_VAL(t);
		x->a->large_objs--;
		pages_free_locked(x, page, PM_VAL(t));
	} else {
		bad_free(off, "not a large object");
	}
	cq_mutex_unlock(&x->a->page_lock);
}

void
cq_arena_free_in(arena_ctx_t *x, cq_off_t off)
{
	uint32_t page;
	if (cq_arena_off_page(x, off, &page) < 0) {
		bad_free(off, "outside the arena");
		return;
	}
	if (PM_KIND(pm_get(x, page)) != PM_SB) {
		large_free(x, page, off);
		return;
	}
	int c = small_class(x, page, off);
	if (c < 0)
		return;
	cq_arena_class_lock(x, (unsigned)c);
	class_give_locked(x, (unsigned)c, &off, 1);
	cq_mutex_unlock(&x->cls[c].lock);
}

void
cq_arena_free(cq_off_t off)
{
	arena_ctx_t *x = &cur;
	uint32_t page;
	if (off == CQ_OFF_NULL || x->a == NULL)
		return;
	unsigned slot = cq_shm_slot;
	if (slot >= x->a->nslots || cq_arena_off_page(x, off, &page) < 0 ||
		PM_KIND(pm_get(x, page)) != PM_SB) {
		cq_arena_free_in(x, off);
		return;
	}
	int c = small_class(x, page, off);
	if (c < 0)
		return;
	arena_mag_t *m = mag_of(x, slot, (unsigned)c);
	uint32_t n = m->count;
	if (cq_unlikely(n >= x->cls[c].mag_cap)) {
		mag_drain(x, (unsigned)c, m, x->cls[c].batch);
		n = m->count;
	}
	m->objs[n] = off;
	crash_order();
	__atomic_store_n(&m->count, n + 1, __ATOMIC_RELAXED);
}

size_t
cq_arena_usable_size(cq_off_t off)
{
	arena_ctx_t *x = &cur;
	uint32_t page, idx;
	if (x->a == NULL || cq_arena_off_page(x, off, &page) < 0)
		return 0;
	uint32_t t = pm_get(x, page);
	if (PM_KIND(t) == PM_LARGE)
		return (size_t)PM_VAL(t) << ARENA_PAGE_LOG;
	if (PM_KIND(t) == PM_SB &&
		cq_arena_obj_index(x, PM_VAL(t), off, &idx) == 0)
		return x->cls[sb_at(x, PM_VAL(t))->cls].size;
	return 0;
}

static void
flush_slot(arena_ctx_t *x, unsigned slot)
{
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		arena_mag_t *m = mag_of(x, slot, c);
		uint32_t n = __atomic_load_n(&m->count, __ATOMIC_RELAXED);
		if (n > MAG_MAX) {
			cq_log(CQ_LOG_ERR, 0,
				"arena: slot %u class %u magazine count %u is "
				"corrupt; its objects are leaked",
				slot, c, n);
			__atomic_store_n(&m->count, 0, __ATOMIC_RELAXED);
		} else if (n > 0) {
			mag_drain(x, c, m, n);
		}
	}
}

void
cq_arena_flush_magazines(void)
{
	if (cur.a != NULL && cq_shm_slot < cur.a->nslots)
		flush_slot(&cur, cq_shm_slot);
}

void
cq_arena_stats(cq_arena_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	const arena_ctx_t *x = &cur;
	if (x->a == NULL)
		return;
	st->total_bytes = (uint64_t)x->a->npages << ARENA_PAGE_LOG;
	st->nclasses = ARENA_NCLASSES;
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		const arena_class_t *k = &x->cls[c];
		cq_arena_class_stats_t *cs = &st->classes[c];
		uint64_t cached = 0;
		for (unsigned s = 0; s < x->a->nslots; s++)
			cached += __atomic_load_n(
				&mag_of(x, s, c)->count, __ATOMIC_RELAXED);
		uint64_t alloc = __atomic_load_n(
			&k->allocated, __ATOMIC_RELAXED);
		cs->object_size = k->size;
		cs->in_use = alloc > cached ? alloc - cached : 0;
		cs->superblocks = __atomic_load_n(&k->nsb, __ATOMIC_RELAXED);
		cs->alloc_failures = __atomic_load_n(
			&k->failures, __ATOMIC_RELAXED);
		st->used_bytes += cs->in_use * k->size;
		st->alloc_failures += cs->alloc_failures;
	}
	st->large_in_use = __atomic_load_n(&x->a->large_objs, __ATOMIC_RELAXED);
	st->used_bytes +=
		(uint64_t)__atomic_load_n(&x->a->large_pages, __ATOMIC_RELAXED)
		<< ARENA_PAGE_LOG;
	st->alloc_failures += __atomic_load_n(
		&x->a->large_failures, __ATOMIC_RELAXED);
}

/* ---- the module ---------------------------------------------------- */

/* The arena's minimum: its tables and 1 MiB of pages. */
static size_t
arena_min_size(const cq_shm_conf_t *conf)
{
	return fixed_bytes(conf->workers) + (1u << 20) +
		(1u << 20) / ARENA_PAGE * sizeof(uint32_t) + ARENA_PAGE;
}

static int
arena_init_classes(arena_ctx_t *x, const char **error_r)
{
	if (cq_mutex_init(&x->a->page_lock) < 0) {
		*error_r = "arena page lock init failed";
		return -1;
	}
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		arena_class_t *k = &x->cls[c];
		if (cq_mutex_init(&k->lock) < 0) {
			*error_r = "arena class lock init failed";
			return -1;
		}
		k->size = cq_arena_class_sizes[c];
		cq_arena_class_geometry(k->size, &k->nobjs, &k->obj0);
		k->mag_cap = CQ_MAX(8u, CQ_MIN(MAG_MAX, 32768u / k->size));
		k->batch = k->mag_cap / 2;
	}
	return 0;
}

static int
arena_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	arena_hdr_t *a = area;
	uint32_t nslots = shm->hdr->conf.workers;
	size_t fixed = fixed_bytes(nslots);
	uint64_t area_byte = (uint64_t)((char *)area - shm->base);
	if (size < fixed + 2 * ARENA_PAGE) {
		*error_r = "arena area too small";
		return -1;
	}
	uint64_t npages = (size - fixed - ARENA_PAGE) / (ARENA_PAGE + 4);
	if (npages > ARENA_MAX_PAGES)
		npages = ARENA_MAX_PAGES;
	a->nslots = nslots;
	a->npages = (uint32_t)npages;
	a->classes_byte = (sizeof(arena_hdr_t) + 63) & ~(uint64_t)63;
	a->mags_byte = a->classes_byte + ARENA_NCLASSES * sizeof(arena_class_t);
	a->pagemap_byte = a->mags_byte +
		(uint64_t)nslots * ARENA_NCLASSES * sizeof(arena_mag_t);
	a->data_byte = (area_byte + a->pagemap_byte + npages * 4 + ARENA_PAGE -
			       1) &
		~(uint64_t)(ARENA_PAGE - 1);
	a->magic = ARENA_MAGIC;
	arena_ctx_t x;
	cq_arena_ctx(&x, shm->base, shm->size, area);
	if (arena_init_classes(&x, error_r) < 0)
		return -1;
	run_mark_free(&x, 0, a->npages);
	a->free_pages = a->npages;
	return 0;
}

static void
arena_use(cq_shm_t *shm, void *area, size_t size)
{
	if (area == NULL || cq_arena_ctx(&cur, shm->base, shm->size, area) < 0)
		memset(&cur, 0, sizeof(cur));
}

/* Master, after the slot's process was waited for: recover the locks it
 * may have held and return its magazines. */
static void
arena_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	arena_ctx_t x;
	if (cq_arena_ctx(&x, shm->base, shm->size, area) < 0 ||
		slot >= x.a->nslots)
		return;
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		if (cq_mutex_owner_dead(&x.cls[c].lock)) {
			cq_arena_class_lock(&x, c);
			cq_mutex_unlock(&x.cls[c].lock);
		}
	}
	if (cq_mutex_owner_dead(&x.a->page_lock)) {
		cq_arena_pages_lock(&x);
		cq_mutex_unlock(&x.a->page_lock);
	}
	flush_slot(&x, slot);
}

const cq_shm_module_t cq_arena_module = {
	.name = "arena",
	.size = arena_min_size,
	.init = arena_init,
	.check = cq_arena_check,
	.reap = arena_reap,
	.use = arena_use,
	.check_final = cq_arena_check_final,
	.flags = CQ_SHM_MOD_MARKS,
};
