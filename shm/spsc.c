/*
 * spsc.c — one SPSC byte ring (spsc.h), the mechanism shared by the
 * worker rings (ring.c) and the storage rings (persist.c).
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
 * A process dies at an instruction boundary with every store it executed
 * visible, so "header first, tail last" is all a producer crash needs.
 */
#include "config.h"
#include "shm/spsc.h"

#include <string.h>

#include "core/log.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"

#define T_PAD     0u
#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

typedef struct rhdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
} rhdr_t;

static inline const rhdr_t *
hdr_at(const cq_spsc_t *r, uint64_t pos)
{
	return (const rhdr_t *)(r->data + (pos & (r->size - 1)));
}

/* ---- producer ------------------------------------------------------ */

static int
room(cq_spsc_ctl_t *c, uint64_t pos, size_t need, uint32_t size)
{
	if (pos + need - c->prod.head_cache <= size)
		return 1;
	c->prod.head_cache = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	return pos + need - c->prod.head_cache <= size;
}

int
cq_spsc_reserve(const cq_spsc_t *r, uint16_t type, uint16_t flags, size_t len,
	void **payload_r)
{
	cq_spsc_ctl_t *c = r->ctl;
	uint32_t size = r->size;
	size_t total = CQ_SPSC_HDR_BYTES + ALIGN8(len);
	uint64_t pos = c->prod.pend;
	size_t to_end = size - (size_t)(pos & (size - 1));
	size_t pad = to_end < total ? to_end : 0;
	if (!room(c, pos, pad + total, size)) {
		c->prod.full++;
		return CQ_AGAIN;
	}
	if (pad != 0) {
		rhdr_t *p = (rhdr_t *)(r->data + (pos & (size - 1)));
		*p = (rhdr_t){.len = (uint32_t)(pad - CQ_SPSC_HDR_BYTES),
			.type = T_PAD};
		pos += pad;
	}
	rhdr_t *h = (rhdr_t *)(r->data + (pos & (size - 1)));
	*h = (rhdr_t){.len = (uint32_t)len, .type = type, .flags = flags};
	*payload_r = h + 1;
	c->prod.pend = pos + total;
	c->prod.nres++;
	return 0;
}

void
cq_spsc_commit(const cq_spsc_t *r)
{
	cq_spsc_ctl_t *c = r->ctl;
	CQ_CRASHPOINT("ring.reserved");
	c->prod.records += c->prod.nres;
	c->prod.nres = 0;
	__atomic_store_n(&c->tail, c->prod.pend, __ATOMIC_RELEASE);
}

void
cq_spsc_abort(const cq_spsc_t *r)
{
	cq_spsc_ctl_t *c = r->ctl;
	c->prod.pend = c->tail;
	c->prod.nres = 0;
}

size_t
cq_spsc_room(const cq_spsc_t *r)
{
	cq_spsc_ctl_t *c = r->ctl;
	c->prod.head_cache = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	uint64_t used = c->prod.pend - c->prod.head_cache;
	return used < r->size ? (size_t)(r->size - used) : 0;
}

/* ---- consumer ------------------------------------------------------ */

/* A header that cannot be: the producer's memory is corrupt.  Skip what
 * was published so far, loudly. */
static int
corrupt(const cq_spsc_t *r, uint64_t pos, const rhdr_t *h)
{
	cq_spsc_ctl_t *c = r->ctl;
	cq_log(CQ_LOG_CRIT, 0,
		"%s %u->%u: bad record header (len %u, type %u) at %llu; "
		"dropping %llu bytes",
		r->what, r->src, r->dst, h->len, h->type,
		(unsigned long long)pos,
		(unsigned long long)(c->cons.tail_cache - pos));
	c->cons.pos = c->cons.tail_cache;
	return CQ_AGAIN;
}

int
cq_spsc_peek(const cq_spsc_t *r, cq_spsc_rec_t *rec_r)
{
	cq_spsc_ctl_t *c = r->ctl;
	uint32_t size = r->size;
	for (;;) {
		uint64_t pos = c->cons.pos;
		if (pos == c->cons.tail_cache) {
			c->cons.tail_cache = __atomic_load_n(
				&c->tail, __ATOMIC_ACQUIRE);
			if (pos == c->cons.tail_cache)
				return CQ_AGAIN;
		}
		const rhdr_t *h = hdr_at(r, pos);
		uint64_t total = CQ_SPSC_HDR_BYTES + ALIGN8((uint64_t)h->len);
		if (total > c->cons.tail_cache - pos ||
			total > size - (pos & (size - 1)))
			return corrupt(r, pos, h);
		c->cons.pos = pos + total;
		if (h->type == T_PAD)
			continue;
		*rec_r = (cq_spsc_rec_t){.type = h->type,
			.flags = h->flags,
			.len = h->len,
			.data = h + 1,
			.end = c->cons.pos};
		return 0;
	}
}

uint64_t
cq_spsc_cursor(const cq_spsc_t *r)
{
	return r->ctl->cons.pos;
}

void
cq_spsc_unpeek(const cq_spsc_t *r, uint64_t pos)
{
	cq_spsc_ctl_t *c = r->ctl;
	if (pos >= c->head && pos <= c->cons.pos)
		c->cons.pos = pos;
}

void
cq_spsc_consume(const cq_spsc_t *r)
{
	cq_spsc_ctl_t *c = r->ctl;
	__atomic_store_n(&c->head, c->cons.pos, __ATOMIC_RELEASE);
}

void
cq_spsc_release(const cq_spsc_t *r, uint64_t pos)
{
	cq_spsc_ctl_t *c = r->ctl;
	if (pos > c->head && pos <= c->cons.pos)
		__atomic_store_n(&c->head, pos, __ATOMIC_RELEASE);
}

void
cq_spsc_rewind(const cq_spsc_t *r)
{
	cq_spsc_reap_consumer(r);
}

int
cq_spsc_pending(const cq_spsc_t *r)
{
	return __atomic_load_n(&r->ctl->tail, __ATOMIC_ACQUIRE) !=
		r->ctl->cons.pos;
}

/* ---- anyone -------------------------------------------------------- */

uint64_t
cq_spsc_tail(const cq_spsc_t *r)
{
	return __atomic_load_n(&r->ctl->tail, __ATOMIC_ACQUIRE);
}

uint64_t
cq_spsc_head(const cq_spsc_t *r)
{
	return __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE);
}

size_t
cq_spsc_depth(const cq_spsc_t *r)
{
	uint64_t t = cq_spsc_tail(r);
	uint64_t h = cq_spsc_head(r);
	return t > h ? (size_t)(t - h) : 0;
}

/* ---- master and checker -------------------------------------------- */

void
cq_spsc_reap_producer(const cq_spsc_t *r)
{
	cq_spsc_ctl_t *c = r->ctl;
	c->prod.pend = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
	c->prod.head_cache = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	c->prod.nres = 0;
}

void
cq_spsc_reap_consumer(const cq_spsc_t *r)
{
	cq_spsc_ctl_t *c = r->ctl;
	c->cons.pos = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	c->cons.tail_cache = c->cons.pos;
}

/* Quiescent: walk the committed records; message references are declared
 * to the message store's census. */
static void
walk_records(cq_shm_t *shm, cq_shm_report_t *rep, const cq_spsc_t *r,
	const char *module)
{
	const cq_spsc_ctl_t *c = r->ctl;
	uint32_t size = r->size;
	for (uint64_t pos = c->head; pos < c->tail;) {
		const rhdr_t *h = hdr_at(r, pos);
		uint64_t total = CQ_SPSC_HDR_BYTES + ALIGN8((uint64_t)h->len);
		if (total > c->tail - pos ||
			total > size - (pos & (size - 1))) {
			cq_shm_check_error(rep, module,
				"%u->%u: bad record at %llu", r->src, r->dst,
				(unsigned long long)pos);
			return;
		}
		if (h->type != T_PAD && (h->flags & CQ_SPSC_F_MSG) &&
			h->len >= sizeof(cq_off_t)) {
			cq_off_t m;
			memcpy(&m, h + 1, sizeof(m));
			cq_msg_census_add(shm, rep, m, 1);
		}
		pos += total;
	}
}

void
cq_spsc_check(cq_shm_t *shm, cq_shm_report_t *rep, const cq_spsc_t *r,
	const char *module)
{
	const cq_spsc_ctl_t *c = r->ctl;
	uint64_t t = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
	uint64_t h = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	/* Read tail, then head: a live consumer may have passed the tail we
	 * saw, but the ring can never have held more than its size. */
	if ((t | h) % 8 != 0 || (int64_t)(t - h) > (int64_t)r->size) {
		cq_shm_check_error(rep, module, "%u->%u: head %llu tail %llu",
			r->src, r->dst, (unsigned long long)h,
			(unsigned long long)t);
		return;
	}
	if (!cq_shm_check_quiescent(rep))
		return;
	if (h > t || c->cons.pos < h || c->cons.pos > t || c->prod.pend < t ||
		c->prod.pend - h > r->size) {
		cq_shm_check_error(rep, module, "%u->%u: cursors out of order",
			r->src, r->dst);
		return;
	}
	walk_records(shm, rep, r, module);
}
