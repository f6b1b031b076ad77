/*
 * persist.c — the worker -> storage event rings and watermarks (persist.h).
 *
 * One shm/spsc.h ring per worker slot ('size' bytes, a power of two),
 * produced by the slot's worker and consumed by the storage process, and
 * per slot the committed watermark and the worker's "wake me" flag.
 *
 * Invariants (each slot), on top of spsc.c's:
 *  P1 head <= committed <= tail: the storage process releases only what
 *     it committed, after the commit.
 *  P2 committed only grows within one region; a replacement storage
 *     process starts from what its backend says it applied, which is at
 *     least the last committed value.
 *
 * Wake protocol for the storage process (S) and a worker (W), both fences
 * seq_cst:
 *     S: sleeping = 1; fence; if urgent -> sleeping = 0, run
 *     W: urgent = 1; fence; if sleeping && xchg(sleeping, 0) -> write efd
 * Either S sees urgent or W sees sleeping: no lost wake-up.  S clears
 * urgent when it wakes, before draining, so records appended before the
 * urge are in the drain.  The other direction (a worker waiting for a
 * commit) uses the worker's ring eventfd: 'want' is stored before the
 * worker compares the watermark, 'committed' before S reads 'want' (both
 * seq_cst), so one of them sees the other.
 *
 * Crash: a producer killed between reserve and commit leaves nothing
 * visible; the reaper forgets its reservations.  The storage process's
 * read positions are rewound to the heads when a new one starts.
 */
#include "config.h"
#include "shm/persist.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/ring.h"
#include "shm/trie.h"

#define PERSIST_MAGIC UINT64_C(0x5453525051514d43) /* "CMQQPRST" */
#define ALIGN8(n)     (((n) + 7u) & ~(size_t)7u)

typedef struct pslot {
	cq_spsc_ctl_t ring;
	uint64_t committed __attribute__((aligned(CQ_CACHELINE)));
	uint32_t want;
} pslot_t;

typedef struct persist_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t size;
	uint64_t epoch;
	uint64_t data_byte;
	uint32_t enabled;
	uint32_t sync;
	uint32_t status;
	uint32_t loaded;
	uint32_t failed;
	uint32_t pad;
	uint64_t next_inc;
	uint64_t sys_base[CQ_PERSIST_SYS_MAX];
	struct {
		uint32_t sleeping;
		uint32_t urgent;
	} wake __attribute__((aligned(CQ_CACHELINE)));
	pslot_t slot[] __attribute__((aligned(CQ_CACHELINE)));
} persist_hdr_t;

static persist_hdr_t *cur;
static int efd = -1;

static cq_spsc_t
one(persist_hdr_t *h, unsigned slot)
{
	return (cq_spsc_t){.ctl = &h->slot[slot].ring,
		.data = (char *)h + h->data_byte + (size_t)slot * h->size,
		.size = h->size,
		.src = (uint16_t)slot,
		.dst = 0,
		.what = "storage ring"};
}

static bool
producing(void)
{
	return cur != NULL &&
		__atomic_load_n(&cur->enabled, __ATOMIC_ACQUIRE) &&
		cq_shm_slot < cur->nslots;
}

/* ---- set-up and flags ---------------------------------------------- */

void
cq_persist_configure(bool sync)
{
	if (cur == NULL)
		return;
	cur->sync = sync;
	__atomic_store_n(&cur->enabled, 1, __ATOMIC_RELEASE);
}

int
cq_persist_eventfd_create(void)
{
	cq_persist_eventfd_close();
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		cq_log(CQ_LOG_ERR, errno, "eventfd() for the storage failed");
		return -1;
	}
	return 0;
}

void
cq_persist_eventfd_close(void)
{
	if (efd >= 0)
		close(efd);
	efd = -1;
}

int
cq_persist_eventfd(void)
{
	return efd;
}

bool
cq_persist_on(void)
{
	return producing();
}

bool
cq_persist_sync(void)
{
	return cur != NULL && cur->enabled && cur->sync;
}

unsigned
cq_persist_status(void)
{
	return cur != NULL ? __atomic_load_n(&cur->status, __ATOMIC_ACQUIRE)
			   : CQ_PERSIST_DOWN;
}

bool
cq_persist_loaded(void)
{
	return cur != NULL && __atomic_load_n(&cur->loaded, __ATOMIC_ACQUIRE);
}

bool
cq_persist_failed(void)
{
	return cur != NULL && __atomic_load_n(&cur->failed, __ATOMIC_RELAXED);
}

uint64_t
cq_persist_epoch(void)
{
	return cur != NULL ? cur->epoch : 0;
}

unsigned
cq_persist_nslots(void)
{
	return cur != NULL ? cur->nslots : 0;
}

size_t
cq_persist_max_payload(void)
{
	return cur != NULL ? cur->size / 4 - CQ_SPSC_HDR_BYTES : 0;
}

uint64_t
cq_persist_tail(unsigned slot)
{
	if (cur == NULL || slot >= cur->nslots)
		return 0;
	cq_spsc_t r = one(cur, slot);
	return cq_spsc_tail(&r);
}

uint64_t
cq_persist_committed(unsigned slot)
{
	if (cur == NULL || slot >= cur->nslots)
		return 0;
	return __atomic_load_n(&cur->slot[slot].committed, __ATOMIC_SEQ_CST);
}

size_t
cq_persist_fill(unsigned slot)
{
	if (cur == NULL || slot >= cur->nslots)
		return 0;
	cq_spsc_t r = one(cur, slot);
	return cq_spsc_depth(&r);
}

bool
cq_persist_congested(void)
{
	if (cur == NULL || !cur->enabled)
		return false;
	if (cq_persist_failed())
		return true;
	for (unsigned i = 0; i < cur->nslots; i++)
		if (cq_persist_fill(i) > cur->size / 2)
			return true;
	return false;
}

uint64_t
cq_persist_next_inc(void)
{
	if (cur == NULL)
		return 0;
	return __atomic_add_fetch(&cur->next_inc, 1, __ATOMIC_RELAXED);
}

void
cq_persist_inc_floor(uint64_t next)
{
	if (cur == NULL)
		return;
	uint64_t v = __atomic_load_n(&cur->next_inc, __ATOMIC_RELAXED);
	while (v < next &&
		!__atomic_compare_exchange_n(&cur->next_inc, &v, next, false,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void
cq_persist_set_status(unsigned status)
{
	if (cur != NULL)
		__atomic_store_n(&cur->status, status, __ATOMIC_RELEASE);
}

void
cq_persist_set_loaded(void)
{
	if (cur != NULL)
		__atomic_store_n(&cur->loaded, 1, __ATOMIC_RELEASE);
}

void
cq_persist_set_failed(bool failed)
{
	if (cur != NULL)
		__atomic_store_n(&cur->failed, failed, __ATOMIC_RELAXED);
}

void
cq_persist_sys_base_set(const uint64_t *v, unsigned n)
{
	for (unsigned i = 0; cur != NULL && i < n && i < CQ_PERSIST_SYS_MAX;
		i++)
		__atomic_store_n(&cur->sys_base[i], v[i], __ATOMIC_RELAXED);
}

void
cq_persist_sys_base_add(uint64_t *v, unsigned n)
{
	for (unsigned i = 0; cur != NULL && i < n && i < CQ_PERSIST_SYS_MAX;
		i++)
		v[i] += __atomic_load_n(&cur->sys_base[i], __ATOMIC_RELAXED);
}

/* ---- producer ------------------------------------------------------ */

/* Bytes reserved or published and not released, after 'need' more. */
static uint64_t
used_after(const cq_spsc_t *r, size_t need)
{
	cq_spsc_room(r); /* refreshes the cached head */
	return r->ctl->prod.pend + need - r->ctl->prod.head_cache;
}

int
cq_persist_reserve(uint16_t type, uint16_t flags, size_t len, bool addition,
	void **payload_r)
{
	if (!producing() || type < CQ_SPSC_TYPE_MIN) {
		errno = EINVAL;
		return -1;
	}
	if (len > cq_persist_max_payload()) {
		errno = EMSGSIZE;
		return -1;
	}
	cq_spsc_t r = one(cur, cq_shm_slot);
	if (addition &&
		used_after(&r, CQ_SPSC_HDR_BYTES + ALIGN8(len)) >
			cur->size / 4 * 3)
		return CQ_AGAIN;
	return cq_spsc_reserve(&r, type, flags, len, payload_r);
}

void
cq_persist_commit(void)
{
	if (!producing())
		return;
	cq_spsc_t r = one(cur, cq_shm_slot);
	cq_spsc_commit(&r);
	/* A sixteenth full: commit now rather than at the end of the batch
	 * window, long before publishers are refused (half). */
	if (r.ctl->prod.pend - r.ctl->prod.head_cache > cur->size / 16 &&
		!__atomic_load_n(&cur->wake.urgent, __ATOMIC_RELAXED))
		cq_persist_urge();
}

void
cq_persist_abort(void)
{
	if (!producing())
		return;
	cq_spsc_t r = one(cur, cq_shm_slot);
	cq_spsc_abort(&r);
}

bool
cq_persist_room(size_t len, bool addition)
{
	if (!producing())
		return true;
	cq_spsc_t r = one(cur, cq_shm_slot);
	/* Twice the record: a padding record may precede it. */
	size_t need = 2 * (CQ_SPSC_HDR_BYTES + ALIGN8(len));
	return used_after(&r, need) <=
		(addition ? cur->size / 4 * 3 : cur->size);
}

void
cq_persist_urge(void)
{
	if (cur == NULL)
		return;
	__atomic_store_n(&cur->wake.urgent, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&cur->wake.sleeping, __ATOMIC_RELAXED) == 0 ||
		__atomic_exchange_n(&cur->wake.sleeping, 0, __ATOMIC_ACQ_REL) ==
			0)
		return;
	uint64_t v = 1;
	if (efd >= 0 && write(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		cq_log(CQ_LOG_ERR, errno,
			"write() to the storage eventfd failed");
}

void
cq_persist_want(bool waiting)
{
	if (!producing())
		return;
	pslot_t *s = &cur->slot[cq_shm_slot];
	if (s->want != (uint32_t)waiting)
		__atomic_store_n(&s->want, (uint32_t)waiting, __ATOMIC_SEQ_CST);
}

/* ---- consumer ------------------------------------------------------ */

int
cq_persist_peek(unsigned slot, cq_persist_rec_t *rec_r)
{
	if (cur == NULL || slot >= cur->nslots)
		return CQ_AGAIN;
	cq_spsc_t r = one(cur, slot);
	return cq_spsc_peek(&r, rec_r);
}

uint64_t
cq_persist_cursor(unsigned slot)
{
	if (cur == NULL || slot >= cur->nslots)
		return 0;
	cq_spsc_t r = one(cur, slot);
	return cq_spsc_cursor(&r);
}

void
cq_persist_unpeek(unsigned slot, uint64_t pos)
{
	if (cur == NULL || slot >= cur->nslots)
		return;
	cq_spsc_t r = one(cur, slot);
	cq_spsc_unpeek(&r, pos);
}

void
cq_persist_rewind(void)
{
	for (unsigned i = 0; cur != NULL && i < cur->nslots; i++) {
		cq_spsc_t r = one(cur, i);
		cq_spsc_rewind(&r);
	}
}

void
cq_persist_release(unsigned slot, uint64_t pos)
{
	if (cur == NULL || slot >= cur->nslots)
		return;
	cq_spsc_t r = one(cur, slot);
	cq_spsc_release(&r, pos);
}

void
cq_persist_set_committed(unsigned slot, uint64_t pos)
{
	if (cur == NULL || slot >= cur->nslots)
		return;
	pslot_t *s = &cur->slot[slot];
	if (pos <= s->committed)
		return;
	__atomic_store_n(&s->committed, pos, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->want, __ATOMIC_SEQ_CST))
		cq_ring_notify(slot);
}

int
cq_persist_sleep(void)
{
	if (cur == NULL)
		return 0;
	__atomic_store_n(&cur->wake.sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&cur->wake.urgent, __ATOMIC_RELAXED)) {
		__atomic_store_n(&cur->wake.sleeping, 0, __ATOMIC_RELAXED);
		return CQ_AGAIN;
	}
	return 0;
}

bool
cq_persist_awake(void)
{
	if (cur == NULL)
		return false;
	__atomic_store_n(&cur->wake.sleeping, 0, __ATOMIC_RELAXED);
	uint64_t v;
	if (efd >= 0 && read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		cq_log(CQ_LOG_ERR, errno,
			"read() of the storage eventfd failed");
	return __atomic_exchange_n(&cur->wake.urgent, 0, __ATOMIC_ACQ_REL) != 0;
}

/* ---- the module ---------------------------------------------------- */

static size_t
data_byte(uint32_t nslots)
{
	size_t hdr = sizeof(persist_hdr_t) + (size_t)nslots * sizeof(pslot_t);
	return (hdr + 4095) & ~(size_t)4095;
}

static size_t
persist_size(const cq_shm_conf_t *conf)
{
	if (conf->persist_ring_bytes == 0)
		return 0;
	return data_byte(conf->workers) +
		(size_t)conf->workers * conf->persist_ring_bytes;
}

static int
persist_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	(void)size;
	(void)error_r;
	persist_hdr_t *h = area;
	h->magic = PERSIST_MAGIC;
	h->nslots = shm->hdr->conf.workers;
	h->size = shm->hdr->conf.persist_ring_bytes;
	h->epoch = cq_trie_new_seed() | 1u;
	h->data_byte = data_byte(h->nslots);
	/* Above what an earlier run of the broker handed out, unless the
	 * clock went back by more than the run's count; the loader raises it
	 * above every stored incarnation anyway. */
	h->next_inc = (uint64_t)time(NULL) << 20;
	return 0;
}

static void
persist_use(cq_shm_t *shm, void *area, size_t size)
{
	(void)shm;
	(void)size;
	cur = area;
}

/* Master, after waitpid(): forget the dead worker's reservations. */
static void
persist_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	(void)shm;
	persist_hdr_t *h = area;
	if (h == NULL || slot >= h->nslots)
		return;
	cq_spsc_t r = one(h, slot);
	cq_spsc_reap_producer(&r);
	__atomic_store_n(&h->slot[slot].want, 0, __ATOMIC_RELAXED);
}

static void
persist_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	persist_hdr_t *h = area;
	if (h == NULL)
		return; /* persistence off: no area */
	if (h->magic != PERSIST_MAGIC || h->nslots != shm->hdr->conf.workers ||
		h->size != shm->hdr->conf.persist_ring_bytes) {
		cq_shm_check_error(rep, "persist", "bad header");
		return;
	}
	for (unsigned n = 0; n < h->nslots; n++) {
		cq_spsc_t r = one(h, n);
		cq_spsc_check(shm, rep, &r, "persist");
	}
}

const cq_shm_module_t cq_persist_module = {
	.name = "persist",
	.size = persist_size,
	.init = persist_init,
	.check = persist_check,
	.reap = persist_reap,
	.use = persist_use,
	.flags = CQ_SHM_MOD_MARKS,
};
