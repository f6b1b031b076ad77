/*
 * arena-check.c — the arena's checker, leak scan and object walk.
 *
 * A concurrent check takes each class lock (and the page lock inside it, the
 * usual order) in turn and compares the derived state — partial lists,
 * counters, bins — with what the page map and the bitmaps say.  A mismatch
 * of derived state is repaired on the spot by rebuilding it (that is what
 * the next locker after a crash would do anyway); a page map or superblock
 * header that makes no sense is an error.  Magazine entries of every slot
 * are validated: objects of the right class whose bit is clear.
 *
 * A quiescent check (nothing else running) also looks for the same object
 * in two magazines, validates every object modules mark (cq_arena_mark), and
 * counts — and with CQ_SHM_CHECK_REPAIR frees — the live objects nobody
 * marked.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "shm/arena-int.h"

typedef struct arena_scratch {
	uint64_t *marks; /* one bit per granule of the data pages */
	cq_off_t *mag; /* every magazine entry, sorted */
	size_t nmag;
} arena_scratch_t;

#define arena_error(rep, ...) cq_shm_check_error(rep, "arena", __VA_ARGS__)

static int
cmp_off(const void *a, const void *b)
{
	cq_off_t x = *(const cq_off_t *)a, y = *(const cq_off_t *)b;
	return x < y ? -1 : x > y;
}

/* All magazine entries, sorted (malloc'd; *n_r entries). */
static cq_off_t *
collect_magazines(const arena_ctx_t *x, size_t *n_r)
{
	size_t n = 0, cap = (size_t)x->a->nslots * ARENA_NCLASSES * MAG_MAX;
	cq_off_t *v = malloc((cap + 1) * sizeof(*v));
	if (v == NULL) {
		*n_r = 0;
		return NULL;
	}
	for (unsigned s = 0; s < x->a->nslots; s++) {
		for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
			const arena_mag_t *m = mag_of(x, s, c);
			uint32_t cnt = CQ_MIN(m->count, MAG_MAX);
			memcpy(v + n, m->objs, cnt * sizeof(*v));
			n += cnt;
		}
	}
	qsort(v, n, sizeof(*v), cmp_off);
	*n_r = n;
	return v;
}

static int
in_magazines(const cq_off_t *mag, size_t n, cq_off_t off)
{
	return mag != NULL && bsearch(&off, mag, n, sizeof(off), cmp_off);
}

/* 1 if 'off' is an allocated object (bit clear / large head) of this
 * mapping; *size_r gets its size. */
static int
object_allocated(const arena_ctx_t *x, cq_off_t off, size_t *size_r)
{
	uint32_t page, idx;
	if (cq_arena_off_page(x, off, &page) < 0)
		return 0;
	uint32_t t = pm_get(x, page);
	if (PM_KIND(t) == PM_LARGE) {
		uint64_t byte = x->a->data_byte +
			((uint64_t)page << ARENA_PAGE_LOG);
		*size_r = (size_t)PM_VAL(t) << ARENA_PAGE_LOG;
		return ((uint64_t)off << CQ_SHM_GRANULE_LOG) == byte;
	}
	if (PM_KIND(t) != PM_SB ||
		cq_arena_obj_index(x, PM_VAL(t), off, &idx) < 0)
		return 0;
	const sb_hdr_t *sb = sb_at(x, PM_VAL(t));
	*size_r = x->cls[sb->cls].size;
	return (sb->bitmap[idx / 64] >> (idx % 64) & 1) == 0;
}

/* ---- classes --------------------------------------------------------- */

typedef struct class_tally {
	uint32_t nsb, nempty, npartial;
	uint64_t allocated;
	unsigned nfree_wrong;
} class_tally_t;

static void
tally_superblocks(const arena_ctx_t *x, unsigned c, class_tally_t *t,
	cq_shm_report_t *rep)
{
	const arena_class_t *k = &x->cls[c];
	memset(t, 0, sizeof(*t));
	for (uint32_t p = 0; p < x->a->npages; p += run_pages(x, p)) {
		const sb_hdr_t *sb = sb_at(x, p);
		if (pm_get(x, p) != PM_TAG(PM_SB, p) || sb->cls != c)
			continue;
		if (sb->nobjs != k->nobjs || sb->obj0 != k->obj0) {
			arena_error(rep,
				"superblock at page %u: bad geometry "
				"for class %u",
				p, c);
			continue;
		}
		uint32_t nw = sb_words(sb->nobjs);
		if (sb->nobjs % 64 != 0 &&
			sb->bitmap[nw - 1] >> (sb->nobjs % 64) != 0)
			arena_error(rep,
				"superblock at page %u: bits past "
				"object %u",
				p, sb->nobjs);
		uint32_t pc = cq_arena_sb_popcount(sb);
		t->nsb++;
		t->allocated += sb->nobjs - pc;
		t->nempty += pc == sb->nobjs;
		t->npartial += pc > 0;
		t->nfree_wrong += sb->nfree != pc;
	}
}

/* Walk the partial list; its length, or UINT32_MAX when it is broken. */
static uint32_t
walk_partial(const arena_ctx_t *x, unsigned c)
{
	uint32_t n = 0, prev = 0;
	for (uint32_t p = x->cls[c].partial; p != 0;
		p = sb_at(x, p - 1)->next) {
		const sb_hdr_t *sb;
		if (p > x->a->npages || n > x->a->npages)
			return UINT32_MAX;
		sb = sb_at(x, p - 1);
		if (pm_get(x, p - 1) != PM_TAG(PM_SB, p - 1) ||
			sb->magic != SB_MAGIC || sb->cls != c ||
			sb->prev != prev || cq_arena_sb_popcount(sb) == 0)
			return UINT32_MAX;
		prev = p;
		n++;
	}
	return n;
}

static void
check_magazines(const arena_ctx_t *x, unsigned c, cq_shm_report_t *rep)
{
	const arena_class_t *k = &x->cls[c];
	for (unsigned s = 0; s < x->a->nslots; s++) {
		const arena_mag_t *m = mag_of(x, s, c);
		uint32_t n = __atomic_load_n(&m->count, __ATOMIC_RELAXED);
		if (n > k->mag_cap) {
			arena_error(rep, "slot %u: magazine count %u too big",
				s, n);
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			size_t size = 0;
			if (!object_allocated(x, m->objs[i], &size) ||
				size != k->size)
				arena_error(rep,
					"slot %u: magazine holds %#x, "
					"not an object of its class",
					s, m->objs[i]);
		}
	}
}

static void
check_class(arena_ctx_t *x, unsigned c, cq_shm_report_t *rep)
{
	arena_class_t *k = &x->cls[c];
	uint32_t nobjs, obj0;
	cq_arena_class_geometry(cq_arena_class_sizes[c], &nobjs, &obj0);
	if (k->size != cq_arena_class_sizes[c] || k->nobjs != nobjs ||
		k->obj0 != obj0 || k->mag_cap > MAG_MAX ||
		k->batch > k->mag_cap) {
		arena_error(
			rep, "class %u: bad geometry (size %u)", c, k->size);
		return;
	}
	class_tally_t t;
	cq_arena_class_lock(x, c);
	cq_arena_pages_lock(x);
	tally_superblocks(x, c, &t, rep);
	uint32_t listed = walk_partial(x, c);
	cq_mutex_unlock(&x->a->page_lock);
	if (listed != t.npartial || t.nfree_wrong != 0 || k->nsb != t.nsb ||
		k->nempty != t.nempty || k->allocated != t.allocated) {
		cq_log(CQ_LOG_WARN, 0,
			"shm check: arena class %u: derived state disagrees "
			"with the bitmaps; rebuilding",
			c);
		cq_arena_class_rebuild_locked(x, c);
		rep->repaired++;
	}
	check_magazines(x, c, rep);
	cq_mutex_unlock(&k->lock);
}

/* ---- pages ----------------------------------------------------------- */

typedef struct page_tally {
	uint32_t free_pages, free_runs, large_pages, large_objs;
	unsigned derived_bad;
} page_tally_t;

/* Check one run's tags; 0, or -1 when the walk cannot go on. */
static int
check_run(const arena_ctx_t *x, uint32_t p, int prev_free, page_tally_t *t,
	cq_shm_report_t *rep)
{
	uint32_t tag = pm_get(x, p), n = run_pages(x, p);
	uint32_t kind = PM_KIND(tag), last = p + n - 1;
	if ((kind == PM_FREE || kind == PM_LARGE) && PM_VAL(tag) == n) {
		uint32_t tail = kind == PM_FREE ? PM_FTAIL : PM_LTAIL;
		if (n > 1 && pm_get(x, last) != PM_TAG(tail, n))
			t->derived_bad++;
		if (kind == PM_FREE) {
			t->free_pages += n;
			t->free_runs++;
			t->derived_bad += prev_free;
		} else {
			t->large_pages += n;
			t->large_objs++;
		}
		return 0;
	}
	if (kind == PM_SB && n == SB_PAGES) {
		const sb_hdr_t *sb = sb_at(x, p);
		if (sb->magic != SB_MAGIC || sb->cls >= ARENA_NCLASSES)
			arena_error(rep,
				"superblock at page %u: bad header "
				"(class %u)",
				p, sb->cls);
		for (uint32_t i = 1; i < n; i++) {
			if (pm_get(x, p + i) != PM_TAG(PM_SB, p))
				arena_error(rep,
					"superblock at page %u: page "
					"%u not tagged",
					p, p + i);
		}
		return 0;
	}
	arena_error(rep, "page map: nonsense head tag %#x at page %u", tag, p);
	return -1;
}

/* Each bin's list: acyclic, doubly linked, free heads of its size. */
static uint32_t
walk_bins(const arena_ctx_t *x, unsigned *bad_r)
{
	uint32_t runs = 0;
	for (unsigned b = 0; b < ARENA_NBINS; b++) {
		uint32_t prev = 0;
		for (uint32_t p = x->a->bins[b]; p != 0;) {
			uint32_t tag = p <= x->a->npages ? pm_get(x, p - 1) : 0;
			const run_node_t *node;
			if (PM_KIND(tag) != PM_FREE ||
				cq_arena_bin_of(PM_VAL(tag)) != b ||
				runs > x->a->npages) {
				(*bad_r)++;
				break;
			}
			node = (const run_node_t *)(x->base + x->a->data_byte +
				((uint64_t)(p - 1) << ARENA_PAGE_LOG));
			if (node->prev != prev)
				(*bad_r)++;
			runs++;
			prev = p;
			p = node->next;
		}
	}
	return runs;
}

static void
check_pages(arena_ctx_t *x, cq_shm_report_t *rep)
{
	page_tally_t t;
	memset(&t, 0, sizeof(t));
	cq_arena_pages_lock(x);
	uint32_t p = 0;
	int prev_free = 0;
	while (p < x->a->npages) {
		if (check_run(x, p, prev_free, &t, rep) < 0)
			break;
		prev_free = PM_KIND(pm_get(x, p)) == PM_FREE;
		p += run_pages(x, p);
	}
	if (p != x->a->npages) {
		cq_mutex_unlock(&x->a->page_lock);
		return; /* the tiling is broken: derived state is moot */
	}
	unsigned bins_bad = 0;
	uint32_t listed = walk_bins(x, &bins_bad);
	if (t.derived_bad || bins_bad || listed != t.free_runs ||
		x->a->free_pages != t.free_pages ||
		x->a->large_pages != t.large_pages ||
		x->a->large_objs != t.large_objs) {
		cq_log(CQ_LOG_WARN, 0,
			"shm check: arena page runs: derived state disagrees "
			"with the page map; rebuilding");
		cq_arena_pages_rebuild_locked(x);
		rep->repaired++;
	}
	cq_mutex_unlock(&x->a->page_lock);
}

/* ---- quiescent: duplicates, marks, leaks ---------------------------- */

static arena_scratch_t *
scratch(const arena_ctx_t *x, cq_shm_report_t *rep)
{
	void **slot = cq_shm_check_scratch(rep, &cq_arena_module);
	if (slot == NULL)
		return NULL;
	if (*slot == NULL) {
		arena_scratch_t *s = calloc(1, sizeof(*s));
		size_t granules = (size_t)x->a->npages
			<< (ARENA_PAGE_LOG - CQ_SHM_GRANULE_LOG);
		if (s == NULL ||
			(s->marks = calloc(granules / 64 + 1, 8)) == NULL) {
			free(s);
			return NULL;
		}
		s->mag = collect_magazines(x, &s->nmag);
		*slot = s;
	}
	return *slot;
}

static void
check_duplicates(const arena_scratch_t *s, cq_shm_report_t *rep)
{
	for (size_t i = 1; i < s->nmag; i++) {
		if (s->mag[i] == s->mag[i - 1])
			arena_error(rep, "object %#x sits in two magazines",
				s->mag[i]);
	}
}

void
cq_arena_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	arena_ctx_t x;
	if (cq_arena_ctx(&x, shm->base, shm->size, area) < 0) {
		arena_error(rep, "bad magic");
		return;
	}
	uint64_t end = x.a->data_byte +
		((uint64_t)x.a->npages << ARENA_PAGE_LOG);
	if (x.a->npages == 0 || x.a->data_byte % ARENA_PAGE != 0 ||
		end > shm->size || x.a->nslots != shm->hdr->conf.workers) {
		arena_error(rep, "bad geometry (%u pages, %u slots)",
			x.a->npages, x.a->nslots);
		return;
	}
	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		check_class(&x, c, rep);
	check_pages(&x, rep);
	if (cq_shm_check_quiescent(rep)) {
		arena_scratch_t *s = scratch(&x, rep);
		if (s != NULL)
			check_duplicates(s, rep);
	}
}

int
cq_arena_mark(cq_shm_t *shm, cq_shm_report_t *rep, cq_off_t off)
{
	if (!cq_shm_check_quiescent(rep))
		return 0;
	arena_ctx_t x;
	size_t size;
	void *area = cq_shm_area(shm, cq_arena_module.name, NULL);
	if (area == NULL || cq_arena_ctx(&x, shm->base, shm->size, area) < 0)
		return -1;
	arena_scratch_t *s = scratch(&x, rep);
	if (!object_allocated(&x, off, &size) ||
		(s != NULL && in_magazines(s->mag, s->nmag, off))) {
		arena_error(rep, "object %#x is referenced but not live", off);
		return -1;
	}
	if (s != NULL) {
		uint64_t g = (((uint64_t)off << CQ_SHM_GRANULE_LOG) -
				     x.a->data_byte) >>
			CQ_SHM_GRANULE_LOG;
		s->marks[g / 64] |= UINT64_C(1) << (g % 64);
	}
	return 0;
}

/* Visit every allocated object not in a magazine. */
static void
walk_live(const arena_ctx_t *x, const cq_off_t *mag, size_t nmag,
	cq_arena_visit_fn fn, void *arg)
{
	for (uint32_t p = 0; p < x->a->npages; p += run_pages(x, p)) {
		uint32_t t = pm_get(x, p);
		if (PM_KIND(t) == PM_LARGE) {
			uint64_t byte = x->a->data_byte +
				((uint64_t)p << ARENA_PAGE_LOG);
			fn((cq_off_t)(byte >> CQ_SHM_GRANULE_LOG),
				(size_t)PM_VAL(t) << ARENA_PAGE_LOG, arg);
			continue;
		}
		const sb_hdr_t *sb = sb_at(x, p);
		if (t != PM_TAG(PM_SB, p) || sb->magic != SB_MAGIC ||
			sb->cls >= ARENA_NCLASSES)
			continue;
		for (uint32_t i = 0; i < sb->nobjs; i++) {
			cq_off_t off;
			if (sb->bitmap[i / 64] >> (i % 64) & 1)
				continue;
			off = cq_arena_obj_off(x, p, i);
			if (!in_magazines(mag, nmag, off))
				fn(off, x->cls[sb->cls].size, arg);
		}
	}
}

void
cq_arena_foreach(cq_shm_t *shm, cq_arena_visit_fn fn, void *arg)
{
	arena_ctx_t x;
	void *area = cq_shm_area(shm, cq_arena_module.name, NULL);
	if (area == NULL || cq_arena_ctx(&x, shm->base, shm->size, area) < 0)
		return;
	size_t nmag;
	cq_off_t *mag = collect_magazines(&x, &nmag);
	walk_live(&x, mag, nmag, fn, arg);
	free(mag);
}

typedef struct leak_scan {
	const arena_ctx_t *x;
	const arena_scratch_t *s;
	cq_off_t *leaked;
	size_t n, cap;
	int overflow;
} leak_scan_t;

static void
leak_visit(cq_off_t off, size_t size, void *arg)
{
	leak_scan_t *ls = arg;
	uint64_t g = (((uint64_t)off << CQ_SHM_GRANULE_LOG) -
			     ls->x->a->data_byte) >>
		CQ_SHM_GRANULE_LOG;
	if (ls->s->marks[g / 64] >> (g % 64) & 1)
		return;
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 256;
		cq_off_t *v = realloc(ls->leaked, cap * sizeof(*v));
		if (v == NULL) {
			ls->overflow++;
			return;
		}
		ls->leaked = v;
		ls->cap = cap;
	}
	ls->leaked[ls->n++] = off;
}

void
cq_arena_check_final(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	void **slot = cq_shm_check_scratch(rep, &cq_arena_module);
	arena_ctx_t x;
	if (cq_arena_ctx(&x, shm->base, shm->size, area) == 0 &&
		cq_shm_check_quiescent(rep) &&
		cq_shm_check_leaks_countable(rep)) {
		arena_scratch_t *s = scratch(&x, rep);
		leak_scan_t ls = {.x = &x, .s = s};
		if (s != NULL)
			walk_live(&x, s->mag, s->nmag, leak_visit, &ls);
		rep->leaked_objects += (unsigned)(ls.n + (size_t)ls.overflow);
		for (size_t i = 0; i < ls.n; i++)
			cq_log(CQ_LOG_NOTICE, 0,
				"shm check: arena object %#x is live but "
				"unreachable (leaked)%s",
				ls.leaked[i],
				rep->flags & CQ_SHM_CHECK_REPAIR ? "; freed"
								 : "");
		if (rep->flags & CQ_SHM_CHECK_REPAIR) {
			for (size_t i = 0; i < ls.n; i++)
				cq_arena_free_in(&x, ls.leaked[i]);
			rep->repaired += (unsigned)ls.n;
		}
		free(ls.leaked);
	}
	if (slot != NULL && *slot != NULL) {
		arena_scratch_t *s = *slot;
		free(s->marks);
		free(s->mag);
		free(s);
		*slot = NULL;
	}
}
