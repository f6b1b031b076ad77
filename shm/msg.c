/*
 * msg.c — the message store (msg.h).
 *
 * Invariants:
 *  1. A message's fields other than refcnt are written only between
 *     cq_arena_alloc and the creator's first publication of its offset;
 *     publication (ring commit, session store, retained store) is a release
 *     store, so readers see them complete.
 *  2. refcnt is the number of places that hold the offset; it changes only
 *     by atomic add/sub.  The decrement to zero is done by the last holder,
 *     which frees (or retires) the message; nobody may increment a zero
 *     count (cq_msg_tryref refuses it).
 *  3. A crash between taking and storing a reference, or between the last
 *     decrement and the free, leaks (the census finds a count above the
 *     declared references, the arena's scan an unreachable message); it
 *     never frees a message somebody still holds.
 *
 * The census is a private open-addressing table (offset -> declared
 * references) that lives for one quiescent cq_shm_check, in the module's
 * check scratch slot.
 */
#include "config.h"
#include "shm/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/qsbr.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

cq_off_t
cq_msg_create(const cq_msg_info_t *in)
{
	if (in->topic_len > CQ_MSG_TOPIC_MAX ||
		in->payload_len > CQ_MSG_PAYLOAD_MAX ||
		in->props_len > CQ_MSG_PAYLOAD_MAX || in->qos > 2) {
		errno = EINVAL;
		return CQ_OFF_NULL;
	}
	size_t size = sizeof(cq_msg_t) + in->topic_len + in->props_len +
		in->payload_len;
	cq_off_t off = cq_arena_alloc(size);
	if (off == CQ_OFF_NULL) {
		errno = ENOMEM;
		return CQ_OFF_NULL;
	}
	cq_msg_t *m = cq_msg_get(off);
	*m = (cq_msg_t){.magic = CQ_MSG_MAGIC,
		.refcnt = 1,
		.created_ms = now_ms(),
		.expiry = in->expiry,
		.origin_session = in->origin_session,
		.topic_len = (uint32_t)in->topic_len,
		.props_len = (uint32_t)in->props_len,
		.payload_len = (uint32_t)in->payload_len,
		.origin_slot = in->origin_slot,
		.qos = in->qos,
		.flags = in->flags};
	char *p = m->data;
	if (in->topic_len)
		memcpy(p, in->topic, in->topic_len);
	if (in->props_len)
		memcpy(p + in->topic_len, in->props, in->props_len);
	if (in->payload_len)
		memcpy(p + in->topic_len + in->props_len, in->payload,
			in->payload_len);
	CQ_CRASHPOINT("msg.created");
	return off;
}

void
cq_msg_ref(cq_off_t m, uint32_t n)
{
	__atomic_add_fetch(&cq_msg_get(m)->refcnt, n, __ATOMIC_RELAXED);
}

int
cq_msg_tryref(cq_off_t m)
{
	uint32_t *rc = &cq_msg_get(m)->refcnt;
	uint32_t v = __atomic_load_n(rc, __ATOMIC_RELAXED);
	do {
		if (v == 0)
			return -1;
	} while (!__atomic_compare_exchange_n(
		rc, &v, v + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 0;
}

/* Drop one reference; 1 when it was the last.  The acq_rel orders every
 * holder's reads of the message before the free. */
static int
release(cq_off_t m)
{
	cq_msg_t *msg = cq_msg_get(m);
	uint32_t left = __atomic_sub_fetch(&msg->refcnt, 1, __ATOMIC_ACQ_REL);
	if (cq_unlikely(left == UINT32_MAX)) {
		cq_log(CQ_LOG_CRIT, 0, "message %#x released below zero", m);
		__atomic_store_n(&msg->refcnt, 0, __ATOMIC_RELAXED);
		return 0;
	}
	if (left != 0)
		return 0;
	CQ_CRASHPOINT("msg.release");
	return 1;
}

void
cq_msg_unref(cq_off_t m)
{
	if (m != CQ_OFF_NULL && release(m))
		cq_arena_free(m);
}

void
cq_msg_unref_deferred(cq_off_t m)
{
	if (m != CQ_OFF_NULL && release(m))
		cq_qsbr_retire(m);
}

uint32_t
cq_msg_refcount(cq_off_t m)
{
	return __atomic_load_n(&cq_msg_get(m)->refcnt, __ATOMIC_RELAXED);
}

/* ---- the census ---------------------------------------------------- */

typedef struct census_slot {
	cq_off_t off;
	uint32_t n;
} census_slot_t;

typedef struct census {
	census_slot_t *v;
	size_t cap; /* power of 2 */
	size_t used;
} census_t;

static size_t
census_hash(cq_off_t off, size_t cap)
{
	return (size_t)((off * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (cap - 1);
}

static census_slot_t *
census_find(census_t *c, cq_off_t off)
{
	size_t i = census_hash(off, c->cap);
	while (c->v[i].off != CQ_OFF_NULL && c->v[i].off != off)
		i = (i + 1) & (c->cap - 1);
	return &c->v[i];
}

static int
census_grow(census_t *c)
{
	census_t n = {.cap = c->cap ? c->cap * 2 : 1024};
	n.v = calloc(n.cap, sizeof(*n.v));
	if (n.v == NULL)
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->v[i].off != CQ_OFF_NULL)
			*census_find(&n, c->v[i].off) = c->v[i];
	}
	n.used = c->used;
	free(c->v);
	*c = n;
	return 0;
}

void
cq_msg_census_add(cq_shm_t *shm, cq_shm_report_t *rep, cq_off_t m, uint32_t n)
{
	void **slot = cq_shm_check_scratch(rep, &cq_msg_module);
	if (slot == NULL || !cq_shm_check_quiescent(rep))
		return;
	if (!cq_off_valid(shm->size, m, sizeof(cq_msg_t))) {
		cq_shm_check_error(
			rep, "msg", "reference to %#x out of bounds", m);
		return;
	}
	if (*slot == NULL && (*slot = calloc(1, sizeof(census_t))) == NULL)
		return;
	census_t *c = *slot;
	if ((c->used + 1) * 2 > c->cap && census_grow(c) < 0)
		return;
	census_slot_t *s = census_find(c, m);
	if (s->off == CQ_OFF_NULL) {
		s->off = m;
		c->used++;
	}
	s->n += n;
}

#define msg_error(rep, ...) cq_shm_check_error(rep, "msg", __VA_ARGS__)

static void
verify_one(cq_shm_t *shm, cq_shm_report_t *rep, const census_slot_t *s)
{
	cq_msg_t *m = cq_off_ptr(shm->base, s->off);
	if (cq_arena_mark(shm, rep, s->off) < 0)
		return; /* not live: already an error */
	uint64_t len = (uint64_t)m->topic_len + m->props_len + m->payload_len;
	if (m->magic != CQ_MSG_MAGIC || m->qos > 2 ||
		!cq_off_valid(shm->size, s->off, sizeof(*m) + len)) {
		msg_error(rep, "%#x is not a message", s->off);
		return;
	}
	if (m->refcnt < s->n) {
		msg_error(rep, "%#x: refcount %u, %u references declared",
			s->off, m->refcnt, s->n);
	} else if (m->refcnt > s->n) {
		cq_log(CQ_LOG_NOTICE, 0,
			"shm check: message %#x: refcount %u, %u references: "
			"%u leaked%s",
			s->off, m->refcnt, s->n, m->refcnt - s->n,
			rep->flags & CQ_SHM_CHECK_REPAIR ? "; lowered" : "");
		rep->leaked_objects++;
		if (rep->flags & CQ_SHM_CHECK_REPAIR) {
			m->refcnt = s->n;
			rep->repaired++;
		}
	}
}

static void
msg_check_final(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	void **slot = cq_shm_check_scratch(rep, &cq_msg_module);
	if (slot == NULL || *slot == NULL)
		return;
	census_t *c = *slot;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->v[i].off != CQ_OFF_NULL)
			verify_one(shm, rep, &c->v[i]);
	}
	free(c->v);
	free(c);
	*slot = NULL;
}

/* No area: messages live in the arena.  The module exists for the census
 * and the verify pass. */
const cq_shm_module_t cq_msg_module = {
	.name = "msg",
	.check_final = msg_check_final,
	.flags = CQ_SHM_MOD_MARKS,
};
