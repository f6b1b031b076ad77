/*
 * ring.c — N x N SPSC byte rings with sleep-aware wake-ups (ring.h).
 *
 * Each ring[src][dst] is one shm/spsc.h ring (the record format, the
 * producer and consumer protocol and their invariants are there); this
 * file lays the matrix out, maps slots to rings and adds the wake-ups.
 *
 * Wake protocol (consumer C, producer P; both fences are seq_cst):
 *     C: sleeping = 1; fence; if any tail != cons.pos -> sleeping = 0, run
 *     P: tail = pend (release); fence; if sleeping && xchg(sleeping, 0)
 *        -> write(eventfd)
 * Either C sees P's tail or P sees C's flag (store-load ordering on both
 * sides), so no wake-up is lost; the exchange makes one producer per sleep
 * write the eventfd.
 */
#include "config.h"
#include "shm/ring.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"

#define RING_MAGIC UINT64_C(0x474e495251514d43) /* "CMQQRING" */

typedef struct ring_wake {
	uint32_t sleeping;
} __attribute__((aligned(CQ_CACHELINE))) ring_wake_t;

typedef struct ring_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t size; /* bytes per ring */
	uint64_t ctl_byte; /* offsets from the area start */
	uint64_t data_byte;
	ring_wake_t wake[CQ_MAX_WORKERS];
} ring_hdr_t;

typedef struct ring_view {
	ring_hdr_t *h;
	cq_spsc_ctl_t *ctl;
	char *data;
} ring_view_t;

static ring_view_t cur;
static int efds[CQ_MAX_WORKERS] = {[0 ... CQ_MAX_WORKERS - 1] = -1};
static uint64_t dirty; /* destinations committed to since the last notify */

static ring_view_t
view_of(void *area)
{
	ring_view_t v = {.h = area};
	if (area != NULL) {
		v.ctl = (cq_spsc_ctl_t *)((char *)area + v.h->ctl_byte);
		v.data = (char *)area + v.h->data_byte;
	}
	return v;
}

/* ring[src][dst] of view v. */
static cq_spsc_t
one(const ring_view_t *v, unsigned src, unsigned dst)
{
	size_t i = (size_t)src * v->h->nslots + dst;
	return (cq_spsc_t){.ctl = &v->ctl[i],
		.data = v->data + i * v->h->size,
		.size = v->h->size,
		.src = (uint16_t)src,
		.dst = (uint16_t)dst,
		.what = "ring"};
}

static bool
valid(unsigned src, unsigned dst)
{
	return cur.h != NULL && src < cur.h->nslots && dst < cur.h->nslots;
}

size_t
cq_ring_max_payload(void)
{
	return cur.h != NULL ? cur.h->size / 4 - CQ_RING_HDR_BYTES : 0;
}

/* ---- producer ------------------------------------------------------ */

int
cq_ring_reserve(unsigned dst, uint16_t type, uint16_t flags, size_t len,
	void **payload_r)
{
	if (!valid(cq_shm_slot, dst) || type < CQ_RING_TYPE_MIN) {
		errno = EINVAL;
		return -1;
	}
	if (len > cq_ring_max_payload()) {
		errno = EMSGSIZE;
		return -1;
	}
	cq_spsc_t r = one(&cur, cq_shm_slot, dst);
	return cq_spsc_reserve(&r, type, flags, len, payload_r);
}

void
cq_ring_commit(unsigned dst)
{
	if (!valid(cq_shm_slot, dst))
		return;
	cq_spsc_t r = one(&cur, cq_shm_slot, dst);
	cq_spsc_commit(&r);
	dirty |= UINT64_C(1) << dst;
}

void
cq_ring_abort(unsigned dst)
{
	if (!valid(cq_shm_slot, dst))
		return;
	cq_spsc_t r = one(&cur, cq_shm_slot, dst);
	cq_spsc_abort(&r);
}

uint64_t
cq_ring_tail(unsigned dst)
{
	if (!valid(cq_shm_slot, dst))
		return 0;
	cq_spsc_t r = one(&cur, cq_shm_slot, dst);
	return cq_spsc_tail(&r);
}

uint64_t
cq_ring_consumed(unsigned dst)
{
	if (!valid(cq_shm_slot, dst))
		return 0;
	cq_spsc_t r = one(&cur, cq_shm_slot, dst);
	return cq_spsc_head(&r);
}

int
cq_ring_push(unsigned dst, uint16_t type, uint16_t flags,
	const struct iovec *iov, int iovcnt)
{
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	void *p;
	int rc = cq_ring_reserve(dst, type, flags, len, &p);
	if (rc != 0)
		return rc;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p = (char *)p + iov[i].iov_len;
	}
	cq_ring_commit(dst);
	return 0;
}

void
cq_ring_notify(unsigned dst)
{
	if (cur.h == NULL || dst >= cur.h->nslots)
		return;
	ring_wake_t *w = &cur.h->wake[dst];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED) == 0 ||
		__atomic_exchange_n(&w->sleeping, 0, __ATOMIC_ACQ_REL) == 0)
		return;
	if (cq_shm_slot < cur.h->nslots)
		one(&cur, cq_shm_slot, dst).ctl->prod.wakeups++;
	uint64_t v = 1;
	if (efds[dst] >= 0 && write(efds[dst], &v, sizeof(v)) < 0 &&
		errno != EAGAIN)
		cq_log(CQ_LOG_ERR, errno,
			"write() to worker %u's eventfd failed", dst);
}

void
cq_ring_notify_pending(void)
{
	while (dirty != 0) {
		unsigned dst = (unsigned)__builtin_ctzll(dirty);
		dirty &= dirty - 1;
		cq_ring_notify(dst);
	}
}

/* ---- consumer ------------------------------------------------------ */

int
cq_ring_peek(unsigned src, cq_ring_rec_t *rec_r)
{
	if (!valid(src, cq_shm_slot))
		return CQ_AGAIN;
	cq_spsc_t r = one(&cur, src, cq_shm_slot);
	return cq_spsc_peek(&r, rec_r);
}

void
cq_ring_consume(unsigned src)
{
	if (!valid(src, cq_shm_slot))
		return;
	cq_spsc_t r = one(&cur, src, cq_shm_slot);
	cq_spsc_consume(&r);
}

unsigned
cq_ring_drain(cq_ring_fn fn, void *arg, unsigned budget)
{
	if (cur.h == NULL || cq_shm_slot >= cur.h->nslots)
		return 0;
	unsigned total = 0;
	for (unsigned src = 0; src < cur.h->nslots; src++) {
		cq_ring_rec_t rec;
		unsigned n = 0;
		while (n < budget && cq_ring_peek(src, &rec) == 0) {
			fn(src, &rec, arg);
			n++;
		}
		if (n > 0)
			cq_ring_consume(src);
		total += n;
	}
	return total;
}

size_t
cq_ring_depth(unsigned src, unsigned dst)
{
	if (!valid(src, dst))
		return 0;
	cq_spsc_t r = one(&cur, src, dst);
	return cq_spsc_depth(&r);
}

/* ---- sleeping ------------------------------------------------------ */

int
cq_ring_sleep(void)
{
	unsigned me = cq_shm_slot;
	if (cur.h == NULL || me >= cur.h->nslots)
		return 0;
	ring_wake_t *w = &cur.h->wake[me];
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned src = 0; src < cur.h->nslots; src++) {
		cq_spsc_t r = one(&cur, src, me);
		if (cq_spsc_pending(&r)) {
			__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
			return CQ_AGAIN;
		}
	}
	return 0;
}

void
cq_ring_awake(void)
{
	unsigned me = cq_shm_slot;
	if (cur.h == NULL || me >= cur.h->nslots)
		return;
	__atomic_store_n(&cur.h->wake[me].sleeping, 0, __ATOMIC_RELAXED);
}

void
cq_ring_wake_reset(void)
{
	unsigned me = cq_shm_slot;
	if (cur.h == NULL || me >= cur.h->nslots)
		return;
	uint64_t v;
	if (efds[me] >= 0 && read(efds[me], &v, sizeof(v)) < 0 &&
		errno != EAGAIN)
		cq_log(CQ_LOG_ERR, errno,
			"read() of worker %u's eventfd failed", me);
}

int
cq_ring_wakefd(void)
{
	return cq_shm_slot < CQ_MAX_WORKERS ? efds[cq_shm_slot] : -1;
}

int
cq_ring_eventfds_create(unsigned workers)
{
	cq_ring_eventfds_close();
	for (unsigned i = 0; i < workers && i < CQ_MAX_WORKERS; i++) {
		efds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efds[i] < 0) {
			cq_log(CQ_LOG_ERR, errno,
				"eventfd() for worker %u failed", i);
			cq_ring_eventfds_close();
			return -1;
		}
	}
	return 0;
}

void
cq_ring_eventfds_close(void)
{
	for (unsigned i = 0; i < CQ_MAX_WORKERS; i++) {
		if (efds[i] >= 0)
			close(efds[i]);
		efds[i] = -1;
	}
}

void
cq_ring_stats(unsigned src, unsigned dst, cq_ring_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	if (!valid(src, dst))
		return;
	const cq_spsc_ctl_t *c = one(&cur, src, dst).ctl;
	st->records = __atomic_load_n(&c->prod.records, __ATOMIC_RELAXED);
	st->full = __atomic_load_n(&c->prod.full, __ATOMIC_RELAXED);
	st->wakeups = __atomic_load_n(&c->prod.wakeups, __ATOMIC_RELAXED);
}

/* ---- the module ---------------------------------------------------- */

static size_t
ring_ctl_byte(void)
{
	return (sizeof(ring_hdr_t) + CQ_CACHELINE - 1) & ~(size_t)63;
}

static size_t
ring_data_byte(uint32_t n)
{
	return (ring_ctl_byte() + (size_t)n * n * sizeof(cq_spsc_ctl_t) +
		       4095) &
		~(size_t)4095;
}

static size_t
ring_size(const cq_shm_conf_t *conf)
{
	uint32_t n = conf->workers;
	return ring_data_byte(n) + (size_t)n * n * conf->ring_bytes;
}

static int
ring_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	ring_hdr_t *h = area;
	h->magic = RING_MAGIC;
	h->nslots = shm->hdr->conf.workers;
	h->size = shm->hdr->conf.ring_bytes;
	h->ctl_byte = ring_ctl_byte();
	h->data_byte = ring_data_byte(h->nslots);
	return 0;
}

static void
ring_use(cq_shm_t *shm, void *area, size_t size)
{
	cur = view_of(area);
}

/* Master, after waitpid(): rewind what the dead slot held privately. */
static void
ring_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	ring_view_t v = view_of(area);
	if (slot >= v.h->nslots)
		return;
	for (unsigned o = 0; o < v.h->nslots; o++) {
		cq_spsc_t p = one(&v, slot, o), q = one(&v, o, slot);
		cq_spsc_reap_producer(&p);
		cq_spsc_reap_consumer(&q);
	}
	__atomic_store_n(&v.h->wake[slot].sleeping, 0, __ATOMIC_RELAXED);
}

#define ring_error(rep, ...) cq_shm_check_error(rep, "ring", __VA_ARGS__)

static void
ring_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	ring_view_t v = view_of(area);
	const cq_shm_conf_t *conf = &shm->hdr->conf;
	if (v.h->magic != RING_MAGIC || v.h->nslots != conf->workers ||
		v.h->size != conf->ring_bytes) {
		ring_error(rep, "bad header");
		return;
	}
	for (unsigned s = 0; s < v.h->nslots; s++) {
		for (unsigned d = 0; d < v.h->nslots; d++) {
			cq_spsc_t r = one(&v, s, d);
			cq_spsc_check(shm, rep, &r, "ring");
		}
	}
}

const cq_shm_module_t cq_ring_module = {
	.name = "ring",
	.size = ring_size,
	.init = ring_init,
	.check = ring_check,
	.reap = ring_reap,
	.use = ring_use,
	.flags = CQ_SHM_MOD_MARKS,
};
