/*
 * region.c — see region.h.
 *
 * Layout of the region (every area starts on a page boundary):
 *
 *   [header + TOC][module area]...[module area][arena ........... end]
 *
 * The master creates the region with memfd_create(MFD_CLOEXEC): children
 * forked from the master inherit both the mapping and the descriptor, which
 * is all the prefork design needs, while a program the broker execs (a
 * backend helper) does not receive the broker's whole memory.  A process
 * that must keep the region across exec (an upgrade re-exec of the master)
 * clears FD_CLOEXEC on that one descriptor itself; comqttctl or a checker
 * can also open /proc/<master>/fd/<n> or receive the descriptor over a Unix
 * socket, neither of which cares about the flag.  The size is sealed
 * (F_SEAL_GROW | F_SEAL_SHRINK), so nobody can truncate the file under the
 * workers' feet (which would turn every access into SIGBUS).
 *
 * cq_shm_attach trusts nothing it maps: magic, layout version, header size,
 * the size against fstat(), each TOC entry's bounds and overlap, and that
 * every module this binary knows has an area of the size it expects.
 */
#include "config.h"
#include "shm/region.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "shm/arena.h"

#define REGION_PAGE 4096u

struct cq_shm_check_state {
	void *scratch[CQ_SHM_TOC_MAX];
	int leaks_countable;
};

char *cq_shm_cur;
unsigned cq_shm_slot = CQ_SLOT_NONE;

static cq_shm_t cur_shm;
static int have_cur;
static uint64_t last_generation;

static size_t
page_round(uint64_t n)
{
	return (size_t)((n + REGION_PAGE - 1) & ~(uint64_t)(REGION_PAGE - 1));
}

void
cq_shm_conf_init(cq_shm_conf_t *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->size = 64u << 20;
	conf->workers = 1;
	conf->max_sessions = 1024;
	conf->ring_bytes = 64u << 10;
	conf->auth_cache_entries = 1024;
	conf->route_shards = 64;
	conf->blacklist_max = 64;
}

int
cq_shm_conf_validate(const cq_shm_conf_t *conf, const char **error_r)
{
	uint32_t rb = conf->ring_bytes, pb = conf->persist_ring_bytes;
	if (conf->workers == 0 || conf->workers > CQ_MAX_WORKERS)
		*error_r = "workers must be 1..64";
	else if (rb < 4096 || rb > (1u << 30) || (rb & (rb - 1)) != 0)
		*error_r = "ring_bytes must be a power of 2, 4 KiB..1 GiB";
	else if (pb != 0 &&
		(pb < 65536 || pb > (1u << 30) || (pb & (pb - 1)) != 0))
		*error_r = "persist_ring_bytes must be 0 or a power of 2, "
			   "64 KiB..1 GiB";
	else if (conf->blacklist_max > (1u << 20))
		*error_r = "blacklist_max above 1048576";
	else if (conf->size % REGION_PAGE != 0)
		*error_r = "shm size must be a multiple of 4 KiB";
	else if (conf->size > CQ_SHM_MAX_SIZE)
		*error_r = "shm size above 64 GiB";
	else if (conf->size < (uint64_t)REGION_PAGE * 16)
		*error_r = "shm size below 64 KiB";
	else
		return 0;
	return -1;
}

/* The arena is special-cased: it takes whatever is left. */
static int
is_arena(const cq_shm_module_t *m)
{
	return m == &cq_arena_module;
}

static size_t
module_bytes(const cq_shm_module_t *m, const cq_shm_conf_t *conf)
{
	return m->size != NULL ? page_round(m->size(conf)) : 0;
}

/* Fill the TOC for 'conf'; -1 when the fixed areas or the arena's minimum
 * do not fit. */
static int
plan_layout(
	cq_shm_header_t *hdr, const cq_shm_conf_t *conf, const char **error_r)
{
	uint64_t at = page_round(sizeof(*hdr));
	unsigned n = 0;
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		size_t sz = module_bytes(*mp, conf);
		if (is_arena(*mp) || sz == 0)
			continue;
		if (n == CQ_SHM_TOC_MAX - 1) {
			*error_r = "too many shm modules for the TOC";
			return -1;
		}
		cq_shm_toc_entry_t *e = &hdr->toc[n++];
		snprintf(e->name, sizeof(e->name), "%s", (*mp)->name);
		e->offset = at;
		e->size = sz;
		at += sz;
	}
	size_t arena_min = module_bytes(&cq_arena_module, conf);
	if (at >= conf->size || conf->size - at < arena_min) {
		*error_r = "shm size too small for the configured tables";
		return -1;
	}
	cq_shm_toc_entry_t *e = &hdr->toc[n++];
	snprintf(e->name, sizeof(e->name), "%s", cq_arena_module.name);
	e->offset = at;
	e->size = conf->size - at;
	hdr->ntoc = n;
	return 0;
}

static uint64_t
next_generation(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t g = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (g <= last_generation)
		g = last_generation + 1;
	last_generation = g;
	return g;
}

/* Map 'size' bytes of 'fd' read-write and shared. */
static char *
map_region(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		cq_log(CQ_LOG_ERR, errno,
			"mmap() of the shm region (%zu bytes) "
			"failed",
			size);
		return NULL;
	}
	/* The tries' nodes are scattered over tens of megabytes: on 4 KB
	 * pages nearly every node is a TLB miss too (bench/README.md: 1.35
	 * -> 1.65 M route matches/s on 2 MB pages).  Where the kernel allows
	 * huge pages for shared memory (shmem_enabled "advise" or
	 * "within_size"), ask for them; elsewhere this changes nothing. */
	(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static int
create_memfd(uint64_t size, const char **error_r)
{
	int fd = memfd_create("comqtt-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		cq_log(CQ_LOG_ERR, errno, "memfd_create() failed");
		*error_r = "memfd_create() failed";
		return -1;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		cq_log(CQ_LOG_ERR, errno,
			"ftruncate() of the shm memfd to %llu "
			"bytes failed",
			(unsigned long long)size);
		*error_r = "ftruncate() of the shm memfd failed";
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) <
		0)
		cq_log(CQ_LOG_WARN, errno, "sealing the shm memfd failed");
	return fd;
}

static const cq_shm_toc_entry_t *
toc_find(const cq_shm_header_t *hdr, const char *name)
{
	for (unsigned i = 0; i < hdr->ntoc && i < CQ_SHM_TOC_MAX; i++) {
		if (strncmp(hdr->toc[i].name, name, CQ_SHM_NAME_MAX) == 0)
			return &hdr->toc[i];
	}
	return NULL;
}

void *
cq_shm_area(const cq_shm_t *shm, const char *name, size_t *size_r)
{
	const cq_shm_toc_entry_t *e = toc_find(shm->hdr, name);
	if (size_r != NULL)
		*size_r = e != NULL ? (size_t)e->size : 0;
	return e != NULL ? shm->base + e->offset : NULL;
}

static void
call_use(cq_shm_t *shm, const cq_shm_module_t *m)
{
	size_t size;
	void *area = cq_shm_area(shm, m->name, &size);
	if (m->use != NULL)
		m->use(shm, area, size);
}

static int
call_init(cq_shm_t *shm, const cq_shm_module_t *m, const char **error_r)
{
	size_t size;
	void *area = cq_shm_area(shm, m->name, &size);
	if (m->init != NULL && area != NULL &&
		m->init(shm, area, size, error_r) < 0) {
		cq_log(CQ_LOG_ERR, 0, "shm module %s: init failed: %s", m->name,
			*error_r);
		return -1;
	}
	/* After init: 'use' may read what init wrote (offsets, magic). */
	call_use(shm, m);
	return 0;
}

/* The arena first: the other modules may allocate while they init. */
static int
init_modules(cq_shm_t *shm, const char **error_r)
{
	if (call_init(shm, &cq_arena_module, error_r) < 0)
		return -1;
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		if (!is_arena(*mp) && call_init(shm, *mp, error_r) < 0)
			return -1;
	}
	return 0;
}

int
cq_shm_create(const cq_shm_conf_t *conf, cq_shm_t *shm_r, const char **error_r)
{
	cq_shm_header_t plan;
	memset(&plan, 0, sizeof(plan));
	if (cq_shm_conf_validate(conf, error_r) < 0 ||
		plan_layout(&plan, conf, error_r) < 0)
		return -1;
	int fd = create_memfd(conf->size, error_r);
	if (fd < 0)
		return -1;
	char *base = map_region(fd, (size_t)conf->size);
	if (base == NULL) {
		*error_r = "mmap() of the shm region failed";
		close(fd);
		return -1;
	}
	cq_shm_header_t *hdr = (cq_shm_header_t *)base;
	*hdr = plan;
	hdr->magic = CQ_SHM_MAGIC;
	hdr->layout_version = CQ_SHM_LAYOUT_VERSION;
	hdr->header_size = sizeof(*hdr);
	hdr->size = conf->size;
	hdr->generation = next_generation();
	hdr->creator_pid = (uint32_t)getpid();
	hdr->conf = *conf;
	shm_r->base = base;
	shm_r->size = (size_t)conf->size;
	shm_r->fd = fd;
	shm_r->hdr = hdr;
	cq_shm_cur = base;
	cur_shm = *shm_r;
	have_cur = 1;
	if (init_modules(shm_r, error_r) < 0) {
		cq_shm_detach(shm_r);
		return -1;
	}
	return 0;
}

static int
toc_entry_valid(const cq_shm_header_t *hdr, unsigned i, size_t size,
	const char **error_r)
{
	const cq_shm_toc_entry_t *e = &hdr->toc[i];
	if (memchr(e->name, '\0', sizeof(e->name)) == NULL ||
		e->name[0] == '\0') {
		*error_r = "shm TOC entry with a bad name";
		return -1;
	}
	if (e->offset % CQ_SHM_GRANULE != 0 || e->offset < hdr->header_size ||
		e->offset > size || e->size > size - e->offset) {
		*error_r = "shm TOC entry out of bounds";
		return -1;
	}
	for (unsigned j = 0; j < i; j++) {
		const cq_shm_toc_entry_t *o = &hdr->toc[j];
		if (e->offset < o->offset + o->size &&
			o->offset < e->offset + e->size) {
			*error_r = "shm TOC entries overlap";
			return -1;
		}
		if (strcmp(o->name, e->name) == 0) {
			*error_r = "shm TOC names an area twice";
			return -1;
		}
	}
	return 0;
}

/* Every module this binary knows must have its area, sized as expected. */
static int
toc_matches_modules(const cq_shm_header_t *hdr, const char **error_r)
{
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		size_t want = module_bytes(*mp, &hdr->conf);
		const cq_shm_toc_entry_t *e = toc_find(hdr, (*mp)->name);
		if (want == 0 && !is_arena(*mp))
			continue;
		if (e == NULL ||
			(is_arena(*mp) ? e->size < want : e->size != want)) {
			*error_r = "shm TOC does not match this binary's "
				   "modules";
			return -1;
		}
	}
	return 0;
}

/* Validate a mapped header against the real size of the mapping. */
static int
header_valid(const cq_shm_header_t *hdr, size_t size, const char **error_r)
{
	*error_r = NULL;
	if (hdr->magic != CQ_SHM_MAGIC)
		*error_r = "not a comqtt shm region (bad magic)";
	else if (hdr->layout_version != CQ_SHM_LAYOUT_VERSION)
		*error_r = "shm layout version mismatch";
	else if (hdr->header_size != sizeof(*hdr))
		*error_r = "shm header size mismatch";
	else if (hdr->size != size)
		*error_r = "shm header size does not match the file";
	else if (hdr->ntoc == 0 || hdr->ntoc > CQ_SHM_TOC_MAX)
		*error_r = "shm TOC count out of range";
	else if (cq_shm_conf_validate(&hdr->conf, error_r) < 0)
		return -1;
	else if (hdr->conf.size != size)
		*error_r = "shm configured size does not match the file";
	if (*error_r != NULL)
		return -1;
	for (unsigned i = 0; i < hdr->ntoc; i++) {
		if (toc_entry_valid(hdr, i, size, error_r) < 0)
			return -1;
	}
	return toc_matches_modules(hdr, error_r);
}

int
cq_shm_attach(int fd, cq_shm_t *shm_r, const char **error_r)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		cq_log(CQ_LOG_ERR, errno, "fstat() of shm fd %d failed", fd);
		*error_r = "fstat() of the shm descriptor failed";
		return -1;
	}
	if (st.st_size < (off_t)sizeof(cq_shm_header_t) ||
		(uint64_t)st.st_size > CQ_SHM_MAX_SIZE) {
		*error_r = "shm file size out of range";
		return -1;
	}
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0) {
		*error_r = "dup of the shm descriptor failed";
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *base = map_region(own, size);
	if (base == NULL) {
		*error_r = "mmap() of the shm region failed";
		close(own);
		return -1;
	}
	if (header_valid((cq_shm_header_t *)base, size, error_r) < 0) {
		cq_log(CQ_LOG_ERR, 0, "shm attach refused: %s", *error_r);
		munmap(base, size);
		close(own);
		return -1;
	}
	shm_r->base = base;
	shm_r->size = size;
	shm_r->fd = own;
	shm_r->hdr = (cq_shm_header_t *)base;
	return 0;
}

static void
use_all(cq_shm_t *shm)
{
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++)
		call_use(shm, *mp);
}

void
cq_shm_use(const cq_shm_t *shm)
{
	cur_shm = *shm;
	have_cur = 1;
	cq_shm_cur = shm->base;
	use_all(&cur_shm);
}

const cq_shm_t *
cq_shm_current(void)
{
	return have_cur ? &cur_shm : NULL;
}

void
cq_shm_set_slot(unsigned slot)
{
	cq_shm_slot = slot;
	if (have_cur)
		use_all(&cur_shm);
}

void
cq_shm_detach(cq_shm_t *shm)
{
	if (shm->base == NULL)
		return;
	if (have_cur && cur_shm.base == shm->base) {
		/* Modules drop their cached pointers into the mapping. */
		for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp;
			mp++) {
			if ((*mp)->use != NULL)
				(*mp)->use(shm, NULL, 0);
		}
		have_cur = 0;
		cq_shm_cur = NULL;
		memset(&cur_shm, 0, sizeof(cur_shm));
	}
	munmap(shm->base, shm->size);
	if (shm->fd >= 0)
		close(shm->fd);
	shm->base = NULL;
	shm->hdr = NULL;
	shm->fd = -1;
	shm->size = 0;
}

void
cq_shm_check_error(
	cq_shm_report_t *rep, const char *module, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cq_log(CQ_LOG_ERR, 0, "shm check: %s: %s", module, msg);
	rep->errors++;
}

int
cq_shm_check_quiescent(const cq_shm_report_t *rep)
{
	return (rep->flags & CQ_SHM_CHECK_QUIESCENT) != 0;
}

void **
cq_shm_check_scratch(cq_shm_report_t *rep, const cq_shm_module_t *module)
{
	if (rep->state == NULL)
		return NULL;
	unsigned i = 0;
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		if (*mp == module)
			return &rep->state->scratch[i];
		i++;
	}
	return NULL;
}

int
cq_shm_check_leaks_countable(const cq_shm_report_t *rep)
{
	return rep->state != NULL && rep->state->leaks_countable;
}

typedef void (*check_fn)(cq_shm_t *, void *, cq_shm_report_t *);

/* Run one pass ('final' selects check_final) over the modules, the arena
 * last. */
static void
check_pass(cq_shm_t *shm, cq_shm_report_t *rep, int final)
{
	const cq_shm_module_t *order[CQ_SHM_TOC_MAX + 1];
	unsigned n = 0;
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		if (!is_arena(*mp) && n < CQ_SHM_TOC_MAX)
			order[n++] = *mp;
	}
	order[n++] = &cq_arena_module;
	for (unsigned i = 0; i < n; i++) {
		check_fn fn = final ? order[i]->check_final : order[i]->check;
		if (fn != NULL)
			fn(shm, cq_shm_area(shm, order[i]->name, NULL), rep);
	}
}

unsigned
cq_shm_check(cq_shm_t *shm, cq_shm_report_t *rep)
{
	const char *why;
	if (header_valid(shm->hdr, shm->size, &why) < 0) {
		cq_shm_check_error(rep, "region", "%s", why);
		return rep->errors;
	}
	struct cq_shm_check_state state;
	memset(&state, 0, sizeof(state));
	state.leaks_countable = 1;
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		if (((*mp)->flags & CQ_SHM_MOD_MARKS) == 0)
			state.leaks_countable = 0;
	}
	rep->state = &state;
	check_pass(shm, rep, 0);
	if (cq_shm_check_quiescent(rep) && rep->declare != NULL)
		rep->declare(shm, rep, rep->declare_arg);
	check_pass(shm, rep, 1);
	rep->state = NULL;
	if (rep->errors != 0 || rep->repaired != 0 || rep->leaked_objects != 0)
		cq_log(CQ_LOG_NOTICE, 0,
			"shm check: %u errors, %u repaired, %u leaked objects",
			rep->errors, rep->repaired, rep->leaked_objects);
	return rep->errors;
}

void
cq_shm_reap(cq_shm_t *shm, unsigned slot)
{
	if (slot >= shm->hdr->conf.workers) {
		cq_log(CQ_LOG_ERR, 0, "shm reap: no worker slot %u", slot);
		return;
	}
	for (const cq_shm_module_t *const *mp = cq_shm_modules; *mp; mp++) {
		if ((*mp)->reap != NULL)
			(*mp)->reap(
				shm, cq_shm_area(shm, (*mp)->name, NULL), slot);
	}
}
