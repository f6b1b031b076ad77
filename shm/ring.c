/*
 * ring.c — N x N SPSC byte rings with sleep-aware wake-ups (ring.h).
 *
 * Positions are free-running 64-bit byte counts; a ring's size is a power
 * of two, so the index is pos & mask.  A record never wraps: when it does
 * not fit before the end of the buffer, a padding record (type 0) fills the
 * rest and the record starts at index 0.
 *
 * Invariants (each ring):
 *  1. head <= cons.pos <= tail <= prod.pend, tail - head <= size, all
 *     multiples of 8.  head and tail are each written by one side only
 *     (tail: producer, head: consumer) with release stores and read by the
 *     other side with acquire loads; prod.* and cons.* are private to their
 *     side (kept in shm only so that the master can rewind them).
 *  2. Every byte in [head, tail) belongs to committed records whose headers
 *     are valid; [tail, pend) is the producer's and invisible.
 *  3. The producer never writes into [head, tail) and the consumer never
 *     reads past tail, so a record is written before it is published and
 *     read before its space is released.
 *
 * Wake protocol (consumer C, producer P; both fences are seq_cst):
 *     C: sleeping = 1; fence; if any tail != cons.pos -> sleeping = 0, run
 *     P: tail = pend (release); fence; if sleeping && xchg(sleeping, 0)
 *        -> write(eventfd)
 * Either C sees P's tail or P sees C's flag (store-load ordering on both
 * sides), so no wake-up is lost; the exchange makes one producer per sleep
 * write the eventfd.
 *
 * A process dies at an instruction boundary with every store it executed
 * visible, so "header first, tail last" is all a producer crash needs.
 */
#include "config.h"
#include "shm/ring.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"

#define RING_MAGIC UINT64_C(0x474e495251514d43) /* "CMQQRING" */
#define RING_T_PAD 0u
#define ALIGN8(n)  (((n) + 7u) & ~(size_t)7u)

typedef struct ring_rhdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
} ring_rhdr_t;

typedef struct ring_ctl {
	uint64_t tail __attribute__((aligned(CQ_CACHELINE)));
	uint64_t head __attribute__((aligned(CQ_CACHELINE)));
	struct {
		uint64_t pend; /* end of the reserved records */
		uint64_t head_cache;
		uint64_t nres; /* records reserved, not committed */
		uint64_t records;
		uint64_t full;
		uint64_t wakeups;
	} prod __attribute__((aligned(CQ_CACHELINE)));
	struct {
		uint64_t pos; /* end of the peeked records */
		uint64_t tail_cache;
	} cons __attribute__((aligned(CQ_CACHELINE)));
} ring_ctl_t;

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
	ring_ctl_t *ctl;
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
		v.ctl = (ring_ctl_t *)((char *)area + v.h->ctl_byte);
		v.data = (char *)area + v.h->data_byte;
	}
	return v;
}

static ring_ctl_t *
ctl_of(const ring_view_t *v, unsigned src, unsigned dst)
{
	return &v->ctl[src * v->h->nslots + dst];
}

static char *
data_of(const ring_view_t *v, unsigned src, unsigned dst)
{
	return v->data + (size_t)(src * v->h->nslots + dst) * v->h->size;
}

size_t
cq_ring_max_payload(void)
{
	return cur.h != NULL ? cur.h->size / 4 - CQ_RING_HDR_BYTES : 0;
}

/* ---- producer ------------------------------------------------------ */

static int
room(ring_ctl_t *c, uint64_t pos, size_t need, uint32_t size)
{
	if (pos + need - c->prod.head_cache <= size)
		return 1;
	c->prod.head_cache = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	return pos + need - c->prod.head_cache <= size;
}

int
cq_ring_reserve(unsigned dst, uint16_t type, uint16_t flags, size_t len,
	void **payload_r)
{
	unsigned src = cq_shm_slot;
	if (cur.h == NULL || src >= cur.h->nslots || dst >= cur.h->nslots ||
		type < CQ_RING_TYPE_MIN) {
		errno = EINVAL;
		return -1;
	}
	if (len > cq_ring_max_payload()) {
		errno = EMSGSIZE;
		return -1;
	}
	ring_ctl_t *c = ctl_of(&cur, src, dst);
	char *data = data_of(&cur, src, dst);
	uint32_t size = cur.h->size;
	size_t total = CQ_RING_HDR_BYTES + ALIGN8(len);
	uint64_t pos = c->prod.pend;
	size_t to_end = size - (size_t)(pos & (size - 1));
	size_t pad = to_end < total ? to_end : 0;
	if (!room(c, pos, pad + total, size)) {
		c->prod.full++;
		return CQ_AGAIN;
	}
	if (pad != 0) {
		ring_rhdr_t *p = (ring_rhdr_t *)(data + (pos & (size - 1)));
		*p = (ring_rhdr_t){.len = (uint32_t)(pad - CQ_RING_HDR_BYTES),
			.type = RING_T_PAD};
		pos += pad;
	}
	ring_rhdr_t *r = (ring_rhdr_t *)(data + (pos & (size - 1)));
	*r = (ring_rhdr_t){.len = (uint32_t)len, .type = type, .flags = flags};
	*payload_r = r + 1;
	c->prod.pend = pos + total;
	c->prod.nres++;
	return 0;
}

void
cq_ring_commit(unsigned dst)
{
	unsigned src = cq_shm_slot;
	if (cur.h == NULL || src >= cur.h->nslots || dst >= cur.h->nslots)
		return;
	ring_ctl_t *c = ctl_of(&cur, src, dst);
	CQ_CRASHPOINT("ring.reserved");
	c->prod.records += c->prod.nres;
	c->prod.nres = 0;
	__atomic_store_n(&c->tail, c->prod.pend, __ATOMIC_RELEASE);
	dirty |= UINT64_C(1) << dst;
}

void
cq_ring_abort(unsigned dst)
{
	unsigned src = cq_shm_slot;
	if (cur.h == NULL || src >= cur.h->nslots || dst >= cur.h->nslots)
		return;
	ring_ctl_t *c = ctl_of(&cur, src, dst);
	c->prod.pend = c->tail;
	c->prod.nres = 0;
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
		ctl_of(&cur, cq_shm_slot, dst)->prod.wakeups++;
	uint64_t one = 1;
	if (efds[dst] >= 0 && write(efds[dst], &one, sizeof(one)) < 0 &&
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

/* A header that cannot be: the producer's memory is corrupt.  Skip what
 * was published so far, loudly. */
static int
corrupt(ring_ctl_t *c, unsigned src, uint64_t pos, const ring_rhdr_t *r)
{
	cq_log(CQ_LOG_CRIT, 0,
		"ring %u->%u: bad record header (len %u, type %u) at %llu; "
		"dropping %llu bytes",
		src, cq_shm_slot, r->len, r->type, (unsigned long long)pos,
		(unsigned long long)(c->cons.tail_cache - pos));
	c->cons.pos = c->cons.tail_cache;
	return CQ_AGAIN;
}

int
cq_ring_peek(unsigned src, cq_ring_rec_t *rec_r)
{
	unsigned dst = cq_shm_slot;
	if (cur.h == NULL || dst >= cur.h->nslots || src >= cur.h->nslots)
		return CQ_AGAIN;
	ring_ctl_t *c = ctl_of(&cur, src, dst);
	const char *data = data_of(&cur, src, dst);
	uint32_t size = cur.h->size;
	for (;;) {
		uint64_t pos = c->cons.pos;
		if (pos == c->cons.tail_cache) {
			c->cons.tail_cache = __atomic_load_n(
				&c->tail, __ATOMIC_ACQUIRE);
			if (pos == c->cons.tail_cache)
				return CQ_AGAIN;
		}
		const ring_rhdr_t *r = (const ring_rhdr_t *)(data +
			(pos & (size - 1)));
		uint64_t total = CQ_RING_HDR_BYTES + ALIGN8((uint64_t)r->len);
		if (total > c->cons.tail_cache - pos ||
			total > size - (pos & (size - 1)))
			return corrupt(c, src, pos, r);
		c->cons.pos = pos + total;
		if (r->type == RING_T_PAD)
			continue;
		*rec_r = (cq_ring_rec_t){.type = r->type,
			.flags = r->flags,
			.len = r->len,
			.data = r + 1};
		return 0;
	}
}

void
cq_ring_consume(unsigned src)
{
	unsigned dst = cq_shm_slot;
	if (cur.h == NULL || dst >= cur.h->nslots || src >= cur.h->nslots)
		return;
	ring_ctl_t *c = ctl_of(&cur, src, dst);
	__atomic_store_n(&c->head, c->cons.pos, __ATOMIC_RELEASE);
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
	if (cur.h == NULL || src >= cur.h->nslots || dst >= cur.h->nslots)
		return 0;
	ring_ctl_t *c = ctl_of(&cur, src, dst);
	uint64_t t = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
	uint64_t h = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	return t > h ? (size_t)(t - h) : 0;
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
		ring_ctl_t *c = ctl_of(&cur, src, me);
		if (__atomic_load_n(&c->tail, __ATOMIC_ACQUIRE) !=
			c->cons.pos) {
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
	if (cur.h == NULL || src >= cur.h->nslots || dst >= cur.h->nslots)
		return;
	const ring_ctl_t *c = ctl_of(&cur, src, dst);
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
	return (ring_ctl_byte() + (size_t)n * n * sizeof(ring_ctl_t) + 4095) &
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
		ring_ctl_t *p = ctl_of(&v, slot, o);
		p->prod.pend = __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE);
		p->prod.head_cache = __atomic_load_n(
			&p->head, __ATOMIC_ACQUIRE);
		p->prod.nres = 0;
		ring_ctl_t *q = ctl_of(&v, o, slot);
		q->cons.pos = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
		q->cons.tail_cache = q->cons.pos;
	}
	__atomic_store_n(&v.h->wake[slot].sleeping, 0, __ATOMIC_RELAXED);
}

#define ring_error(rep, ...) cq_shm_check_error(rep, "ring", __VA_ARGS__)

/* Quiescent: walk the committed records of one ring; message references
 * are declared to the message store's census. */
static void
walk_records(cq_shm_t *shm, cq_shm_report_t *rep, const ring_view_t *v,
	unsigned s, unsigned d)
{
	const ring_ctl_t *c = ctl_of(v, s, d);
	const char *data = data_of(v, s, d);
	uint32_t size = v->h->size;
	for (uint64_t pos = c->head; pos < c->tail;) {
		const ring_rhdr_t *r = (const ring_rhdr_t *)(data +
			(pos & (size - 1)));
		uint64_t total = CQ_RING_HDR_BYTES + ALIGN8((uint64_t)r->len);
		if (total > c->tail - pos ||
			total > size - (pos & (size - 1))) {
			ring_error(rep, "%u->%u: bad record at %llu", s, d,
				(unsigned long long)pos);
			return;
		}
		if (r->type != RING_T_PAD && (r->flags & CQ_RING_F_MSG) &&
			r->len >= sizeof(cq_off_t)) {
			cq_off_t m;
			memcpy(&m, r + 1, sizeof(m));
			cq_msg_census_add(shm, rep, m, 1);
		}
		pos += total;
	}
}

static void
check_one(cq_shm_t *shm, cq_shm_report_t *rep, const ring_view_t *v, unsigned s,
	unsigned d)
{
	const ring_ctl_t *c = ctl_of(v, s, d);
	uint64_t t = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
	uint64_t h = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	/* Read tail, then head: a live consumer may have passed the tail we
	 * saw, but the ring can never have held more than its size. */
	if ((t | h) % 8 != 0 || (int64_t)(t - h) > (int64_t)v->h->size) {
		ring_error(rep, "%u->%u: head %llu tail %llu", s, d,
			(unsigned long long)h, (unsigned long long)t);
		return;
	}
	if (!cq_shm_check_quiescent(rep))
		return;
	if (h > t || c->cons.pos < h || c->cons.pos > t || c->prod.pend < t ||
		c->prod.pend - h > v->h->size) {
		ring_error(rep, "%u->%u: cursors out of order", s, d);
		return;
	}
	walk_records(shm, rep, v, s, d);
}

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
		for (unsigned d = 0; d < v.h->nslots; d++)
			check_one(shm, rep, &v, s, d);
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
