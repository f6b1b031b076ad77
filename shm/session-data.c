/*
 * session-data.c — a session's contents: subscriptions, the outbound
 * inflight window, inbound QoS 2 ids, the offline queue, the will.
 *
 * Every mutator runs inside a write section of the owner's generation
 * (session.c I3) and changes the session with single stores (I7):
 *   - subscriptions: a copy-on-write list (add and replace build a new
 *     list without deleted records, publish it, retire the old one);
 *     remove sets a record's DELETED flag in place, so unsubscribing never
 *     needs memory;
 *   - inflight: fixed entries of one word each {msg, pid, state}, written
 *     whole (a send-order number beside each is written first);
 *   - QoS 2 ids: 16-bit entries;
 *   - queue: a ring of message offsets between free-running head and tail
 *     counters; push writes the slot, then publishes tail;
 *   - will: one word.
 * The window, id table and queue are allocated on first use (an all-QoS 0
 * client costs none of them) and published with one store.
 *
 * Other processes (the checker, tools) may read the contents lock-free
 * under QSBR; they see each word either before or after a change.
 *
 * A stored session reports every change to comqtt-storage (sess_ev_*,
 * session-persist.c): additions check for room in the ring first and
 * refuse with ENOBUFS, then report after the change.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/pevent.h"
#include "shm/qsbr.h"
#include "shm/session-int.h"
#include "shm/session.h"

static inline size_t
rec_size(uint32_t len)
{
	return (sizeof(sess_sub_rec_t) + len + 7) & ~(size_t)7;
}

static inline const sess_sub_rec_t *
rec_at(const sess_subs_t *l, uint32_t byte)
{
	return (const sess_sub_rec_t *)(l->rec + byte);
}

static inline const char *
rec_text(const sess_sub_rec_t *r)
{
	return (const char *)(r + 1);
}

static inline uint8_t
rec_flags(const sess_sub_rec_t *r)
{
	return __atomic_load_n(&r->flags, __ATOMIC_ACQUIRE);
}

static bool
rec_is(const sess_sub_rec_t *r, const char *f, size_t len)
{
	return !(rec_flags(r) & SUBF_DELETED) && r->len == len &&
		memcmp(rec_text(r), f, len) == 0;
}

/* ---- subscriptions ------------------------------------------------- */

/* A new list: the live records of 'ol' (may be NULL) other than 'filter',
 * then (filter, o).  CQ_OFF_NULL when the arena is full. */
static cq_off_t
subs_copy_with(const sess_subs_t *ol, const char *filter, size_t len,
	const cq_subopts_t *o)
{
	size_t bytes = rec_size((uint32_t)len);
	for (uint32_t b = 0; ol != NULL && b < ol->bytes;) {
		const sess_sub_rec_t *r = rec_at(ol, b);
		if (!(rec_flags(r) & SUBF_DELETED) && !rec_is(r, filter, len))
			bytes += rec_size(r->len);
		b += (uint32_t)rec_size(r->len);
	}
	cq_off_t off = cq_arena_zalloc(sizeof(sess_subs_t) + bytes);
	if (off == CQ_OFF_NULL)
		return CQ_OFF_NULL;
	sess_subs_t *nl = CQ_PTR(sess_subs_t, off);
	for (uint32_t b = 0; ol != NULL && b < ol->bytes;) {
		const sess_sub_rec_t *r = rec_at(ol, b);
		size_t rs = rec_size(r->len);
		if (!(rec_flags(r) & SUBF_DELETED) && !rec_is(r, filter, len)) {
			memcpy(nl->rec + nl->bytes, r, rs);
			nl->bytes += (uint32_t)rs;
			nl->n++;
		}
		b += (uint32_t)rs;
	}
	sess_sub_rec_t *r = (sess_sub_rec_t *)(nl->rec + nl->bytes);
	*r = (sess_sub_rec_t){.sub_id = o->sub_id,
		.len = (uint16_t)len,
		.qos = o->qos,
		.flags = (uint8_t)((o->no_local ? SUBF_NO_LOCAL : 0) |
			(o->retain_as_published ? SUBF_RAP : 0) |
			((o->retain_handling & 3u) << SUBF_RH_SHIFT))};
	memcpy(r + 1, filter, len); /* the padding stays zero */
	nl->bytes += (uint32_t)rec_size((uint32_t)len);
	nl->n++;
	return off;
}

int
cq_session_sub_add(cq_off_t sess, uint64_t gen, const char *filter, size_t len,
	const cq_subopts_t *o)
{
	if (len == 0 || len > 65535) {
		errno = EINVAL;
		return -1;
	}
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	if (!sess_ev_room(s, len, true)) {
		cq_session_wend(s);
		errno = ENOBUFS;
		return -1;
	}
	cq_off_t old = s->subs;
	cq_off_t off = subs_copy_with(
		CQ_PTR(const sess_subs_t, old), filter, len, o);
	if (off == CQ_OFF_NULL) {
		cq_session_wend(s);
		errno = ENOMEM;
		return -1;
	}
	CQ_CRASHPOINT("session.sub_built");
	cq_off_publish(&s->subs, off);
	if (old != CQ_OFF_NULL)
		cq_qsbr_retire(old);
	sess_ev(s, CQ_PEV_SUB_ADD, cq_pev_subopts_pack(o), CQ_OFF_NULL, filter,
		len);
	cq_session_wend(s);
	return 0;
}

int
cq_session_sub_remove(
	cq_off_t sess, uint64_t gen, const char *filter, size_t len)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	sess_subs_t *l = CQ_PTR(sess_subs_t, s->subs);
	for (uint32_t b = 0; l != NULL && b < l->bytes;) {
		sess_sub_rec_t *r = (sess_sub_rec_t *)(l->rec + b);
		if (rec_is(r, filter, len)) {
			__atomic_store_n(&r->flags,
				(uint8_t)(r->flags | SUBF_DELETED),
				__ATOMIC_RELEASE);
			sess_ev(s, CQ_PEV_SUB_DEL, 0, CQ_OFF_NULL, filter, len);
			break;
		}
		b += (uint32_t)rec_size(r->len);
	}
	cq_session_wend(s);
	return 0;
}

void
cq_session_subs_foreach(cq_off_t sess, cq_session_sub_fn fn, void *arg)
{
	const sess_obj_t *s = sess_obj(sess);
	const sess_subs_t *l = CQ_PTR(const sess_subs_t, cq_off_load(&s->subs));
	for (uint32_t b = 0; l != NULL && b < l->bytes;) {
		const sess_sub_rec_t *r = rec_at(l, b);
		uint8_t f = rec_flags(r);
		if (!(f & SUBF_DELETED)) {
			cq_subopts_t o = {.qos = r->qos,
				.no_local = (f & SUBF_NO_LOCAL) != 0,
				.retain_as_published = (f & SUBF_RAP) != 0,
				.retain_handling =
					(uint8_t)((f >> SUBF_RH_SHIFT) & 3u),
				.sub_id = r->sub_id};
			fn(arg, rec_text(r), r->len, &o);
		}
		b += (uint32_t)rec_size(r->len);
	}
}

/* ---- inflight ------------------------------------------------------ */

static inline uint64_t
ent_word(cq_off_t msg, uint16_t pid, unsigned state)
{
	return (uint64_t)msg | (uint64_t)pid << 32 | (uint64_t)state << 48;
}

static inline uint16_t
ent_pid(uint64_t e)
{
	return (uint16_t)(e >> 32);
}

static inline unsigned
ent_state(uint64_t e)
{
	return (unsigned)(e >> 48) & 0xffu;
}

static inline uint32_t *
ent_seq(sess_inflight_t *f)
{
	return (uint32_t *)&f->e[f->cap];
}

/* Allocate-on-first-use of the object named by *word (in a section). */
static void *
ensure(cq_off_t *word, size_t size, uint32_t cap)
{
	if (*word != CQ_OFF_NULL)
		return CQ_PTR(void, *word);
	cq_off_t off = cq_arena_zalloc(size);
	if (off == CQ_OFF_NULL) {
		errno = ENOMEM;
		return NULL;
	}
	*CQ_PTR(uint32_t, off) = cap; /* every such object starts with cap */
	cq_off_publish(word, off);
	return CQ_PTR(void, off);
}

static sess_inflight_t *
inflight_of(sess_obj_t *s)
{
	uint32_t cap = s->inflight_max;
	return ensure(
		&s->inflight, sizeof(sess_inflight_t) + (size_t)cap * 12, cap);
}

/* Inside a section: store (pid, msg, state) in a free entry with send
 * order 'seq' (0: the next one).  0, CQ_AGAIN (full) or -1 ENOMEM. */
static int
inflight_store(
	sess_obj_t *s, uint16_t pid, cq_off_t msg, unsigned state, uint32_t seq)
{
	sess_inflight_t *f = inflight_of(s);
	if (f == NULL)
		return -1;
	for (uint32_t k = 0; k < f->cap; k++) {
		uint32_t i = (f->hint + k) % f->cap;
		if (f->e[i] != 0)
			continue;
		if (seq == 0)
			seq = ++s->seq;
		else if ((int32_t)(seq - s->seq) > 0)
			s->seq = seq;
		ent_seq(f)[i] = seq;
		__atomic_store_n(
			&f->e[i], ent_word(msg, pid, state), __ATOMIC_RELEASE);
		f->hint = (i + 1) % f->cap;
		sess_ev(s, CQ_PEV_INFLIGHT_ADD,
			pid | (uint64_t)state << 16 | (uint64_t)seq << 32, msg,
			NULL, 0);
		return 0;
	}
	return CQ_AGAIN;
}

static bool
inflight_args_ok(uint16_t pid, unsigned state)
{
	if (pid != 0 && state >= CQ_INFLIGHT_PUBACK &&
		state <= CQ_INFLIGHT_PUBCOMP)
		return true;
	errno = EINVAL;
	return false;
}

/* Store (pid, msg, state) in a free entry with send order 'seq' (0: the
 * next one). */
static int
inflight_put(cq_off_t sess, uint64_t gen, uint16_t pid, cq_off_t msg,
	unsigned state, uint32_t seq)
{
	if (!inflight_args_ok(pid, state))
		return -1;
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	int rc;
	if (!sess_ev_room(s, 0, true)) {
		errno = ENOBUFS;
		rc = -1;
	} else {
		rc = inflight_store(s, pid, msg, state, seq);
	}
	cq_session_wend(s);
	return rc;
}

int
cq_session_inflight_add(
	cq_off_t sess, uint64_t gen, uint16_t pid, cq_off_t msg, unsigned state)
{
	return inflight_put(sess, gen, pid, msg, state, 0);
}

int
cq_session_inflight_restore(cq_off_t sess, uint64_t gen, uint16_t pid,
	cq_off_t msg, unsigned state, uint32_t seq)
{
	return inflight_put(sess, gen, pid, msg, state, seq ? seq : 1);
}

int
cq_session_inflight_ack(cq_off_t sess, uint64_t gen, uint16_t pid,
	unsigned expect, unsigned next, cq_off_t *msg_r)
{
	*msg_r = CQ_OFF_NULL;
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	sess_inflight_t *f = CQ_PTR(sess_inflight_t, s->inflight);
	int rc = -1;
	for (uint32_t i = 0; f != NULL && i < f->cap; i++) {
		uint64_t e = f->e[i];
		if (e == 0 || ent_pid(e) != pid || ent_state(e) != expect)
			continue;
		cq_off_t msg = (cq_off_t)e;
		uint64_t ne = 0;
		if (next == CQ_INFLIGHT_PUBCOMP)
			ne = ent_word(CQ_OFF_NULL, pid, next); /* drop msg */
		else if (next != 0)
			ne = ent_word(msg, pid, next);
		__atomic_store_n(&f->e[i], ne, __ATOMIC_RELEASE);
		if (ne == 0 || next == CQ_INFLIGHT_PUBCOMP)
			*msg_r = msg;
		if (next != expect)
			sess_ev(s, CQ_PEV_INFLIGHT_SET,
				pid | (uint64_t)next << 16 |
					(uint64_t)ent_seq(f)[i] << 32,
				CQ_OFF_NULL, NULL, 0);
		rc = 0;
		break;
	}
	cq_session_wend(s);
	if (rc < 0)
		errno = ENOENT;
	return rc;
}

static int
by_seq(const void *a, const void *b)
{
	const cq_inflight_t *x = a, *y = b;
	/* Sequence numbers wrap: compare by signed distance. */
	int32_t d = (int32_t)(x->seq - y->seq);
	return (d > 0) - (d < 0);
}

unsigned
cq_session_inflight_list(cq_off_t sess, cq_inflight_t *v, unsigned max)
{
	sess_obj_t *s = sess_obj(sess);
	sess_inflight_t *f = CQ_PTR(sess_inflight_t, cq_off_load(&s->inflight));
	unsigned n = 0;
	for (uint32_t i = 0; f != NULL && i < f->cap && n < max; i++) {
		uint64_t e = __atomic_load_n(&f->e[i], __ATOMIC_ACQUIRE);
		if (e == 0)
			continue;
		v[n++] = (cq_inflight_t){(cq_off_t)e, ent_pid(e),
			(uint8_t)ent_state(e), ent_seq(f)[i]};
	}
	qsort(v, n, sizeof(*v), by_seq);
	return n;
}

static bool
pid_in_use(const sess_inflight_t *f, uint16_t pid)
{
	for (uint32_t i = 0; f != NULL && i < f->cap; i++)
		if (f->e[i] != 0 && ent_pid(f->e[i]) == pid)
			return true;
	return false;
}

uint16_t
cq_session_next_pid(cq_off_t sess, uint64_t gen)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return 0;
	const sess_inflight_t *f = CQ_PTR(const sess_inflight_t, s->inflight);
	uint16_t p = s->next_pid, got = 0;
	for (uint32_t k = 0; k < 65535; k++) {
		p = (uint16_t)(p % 65535u + 1u);
		if (!pid_in_use(f, p)) {
			got = p;
			break;
		}
	}
	s->next_pid = got ? got : s->next_pid;
	cq_session_wend(s);
	return got;
}

/* ---- inbound QoS 2 ------------------------------------------------- */

int
cq_session_qos2_add(cq_off_t sess, uint64_t gen, uint16_t pid)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	sess_qos2_t *q = ensure(&s->qos2,
		sizeof(sess_qos2_t) + (size_t)s->qos2_max * 2, s->qos2_max);
	int rc = q == NULL ? -1 : CQ_AGAIN;
	uint32_t free_at = UINT32_MAX;
	for (uint32_t i = 0; q != NULL && i < q->cap; i++) {
		if (q->pid[i] == pid) {
			rc = 0;
			free_at = UINT32_MAX;
			break;
		}
		if (q->pid[i] == 0 && free_at == UINT32_MAX)
			free_at = i;
	}
	if (free_at != UINT32_MAX && !sess_ev_room(s, 0, true)) {
		errno = ENOBUFS;
		rc = -1;
	} else if (free_at != UINT32_MAX) {
		__atomic_store_n(&q->pid[free_at], pid, __ATOMIC_RELEASE);
		sess_ev(s, CQ_PEV_QOS2_ADD, pid, CQ_OFF_NULL, NULL, 0);
		rc = 1;
	}
	cq_session_wend(s);
	return rc;
}

int
cq_session_qos2_check(cq_off_t sess, uint16_t pid)
{
	const sess_obj_t *s = sess_obj(sess);
	const sess_qos2_t *q = CQ_PTR(const sess_qos2_t, cq_off_load(&s->qos2));
	if (q == NULL)
		return s->qos2_max > 0 ? 0 : CQ_AGAIN;
	uint32_t used = 0;
	for (uint32_t i = 0; i < q->cap; i++) {
		uint16_t p = __atomic_load_n(&q->pid[i], __ATOMIC_ACQUIRE);
		if (p == pid)
			return 1;
		used += p != 0;
	}
	return used < q->cap ? 0 : CQ_AGAIN;
}

int
cq_session_qos2_remove(cq_off_t sess, uint64_t gen, uint16_t pid)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	sess_qos2_t *q = CQ_PTR(sess_qos2_t, s->qos2);
	int rc = 0;
	for (uint32_t i = 0; q != NULL && i < q->cap; i++)
		if (q->pid[i] == pid) {
			__atomic_store_n(&q->pid[i], 0, __ATOMIC_RELEASE);
			sess_ev(s, CQ_PEV_QOS2_DEL, pid, CQ_OFF_NULL, NULL, 0);
			rc = 1;
			break;
		}
	cq_session_wend(s);
	return rc;
}

/* ---- offline queue ------------------------------------------------- */

int
cq_session_queue_push(cq_off_t sess, uint64_t gen, cq_off_t msg)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	int rc = 0;
	sess_queue_t *q = NULL;
	if (s->queue_max == 0) {
		errno = ENOSPC;
		rc = -1;
	} else if (!sess_ev_room(s, 0, true)) {
		errno = ENOBUFS;
		rc = -1;
	} else if ((q = ensure(&s->queue,
			    sizeof(sess_queue_t) + (size_t)s->queue_max * 4,
			    s->queue_max)) == NULL)
		rc = -1;
	else if (q->tail - q->head >= q->cap) {
		errno = ENOSPC;
		rc = -1;
	} else {
		q->slot[q->tail % q->cap] = msg;
		CQ_CRASHPOINT("session.writing");
		__atomic_store_n(&q->tail, q->tail + 1, __ATOMIC_RELEASE);
		sess_ev(s, CQ_PEV_QUEUE_PUSH, q->tail - 1, msg, NULL, 0);
	}
	cq_session_wend(s);
	return rc;
}

int
cq_session_queue_pop(cq_off_t sess, uint64_t gen, cq_off_t *msg_r)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	sess_queue_t *q = CQ_PTR(sess_queue_t, s->queue);
	int rc = 0;
	if (q != NULL && q->head != q->tail) {
		*msg_r = q->slot[q->head % q->cap];
		__atomic_store_n(&q->head, q->head + 1, __ATOMIC_RELEASE);
		sess_ev(s, CQ_PEV_QUEUE_POP, q->head - 1, CQ_OFF_NULL, NULL, 0);
		rc = 1;
	}
	cq_session_wend(s);
	return rc;
}

int
cq_session_queue_peek(cq_off_t sess, cq_off_t *msg_r)
{
	const sess_obj_t *s = sess_obj(sess);
	const sess_queue_t *q = CQ_PTR(
		const sess_queue_t, cq_off_load(&s->queue));
	if (q == NULL)
		return 0;
	uint32_t head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
	if (head == __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE))
		return 0;
	*msg_r = q->slot[head % q->cap];
	return 1;
}

int
cq_session_queue_to_window(
	cq_off_t sess, uint64_t gen, cq_off_t msg, uint16_t pid, unsigned state)
{
	if (!inflight_args_ok(pid, state))
		return -1;
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	sess_queue_t *q = CQ_PTR(sess_queue_t, s->queue);
	int rc = -1;
	if (q == NULL || q->head == q->tail || q->slot[q->head % q->cap] != msg)
		errno = ENOENT;
	else if (!sess_ev_room(s, 0, true))
		errno = ENOBUFS;
	else
		rc = inflight_store(s, pid, msg, state, 0);
	if (rc == 0) {
		/* comqtt-storage hears of the pop before the head moves, so
		 * that it agrees with the reaper's repair.  Killed here: the
		 * message is in both with one reference, the window's; the
		 * reaper moves the head on (sess_repair_section).  Never in
		 * neither. */
		sess_ev(s, CQ_PEV_QUEUE_POP, q->head, CQ_OFF_NULL, NULL, 0);
		CQ_CRASHPOINT("session.queue_to_window");
		__atomic_store_n(&q->head, q->head + 1, __ATOMIC_RELEASE);
	}
	cq_session_wend(s);
	return rc;
}

void
sess_repair_section(sess_obj_t *s)
{
	sess_queue_t *q = CQ_PTR(sess_queue_t, s->queue);
	const sess_inflight_t *f = CQ_PTR(const sess_inflight_t, s->inflight);
	if (q == NULL || f == NULL || q->head == q->tail)
		return;
	cq_off_t m = q->slot[q->head % q->cap];
	for (uint32_t i = 0; i < f->cap; i++)
		if (f->e[i] != 0 && (cq_off_t)f->e[i] == m) {
			/* Its one reference is the window's already. */
			__atomic_store_n(
				&q->head, q->head + 1, __ATOMIC_RELEASE);
			return;
		}
}

bool
cq_session_queue_holds(cq_off_t sess, cq_off_t msg)
{
	const sess_obj_t *s = sess_obj(sess);
	const sess_queue_t *q = CQ_PTR(
		const sess_queue_t, cq_off_load(&s->queue));
	if (q == NULL)
		return false;
	uint32_t head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
	uint32_t tail = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
	for (uint32_t i = head; i != tail && i - head < q->cap; i++)
		if (q->slot[i % q->cap] == msg)
			return true;
	return false;
}

int
cq_session_queue_base(cq_off_t sess, uint64_t gen, uint32_t pos)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	int rc = -1;
	sess_queue_t *q = NULL;
	if (s->queue_max == 0)
		errno = ENOSPC;
	else if ((q = ensure(&s->queue,
			  sizeof(sess_queue_t) + (size_t)s->queue_max * 4,
			  s->queue_max)) == NULL)
		errno = ENOMEM;
	else if (q->head != q->tail)
		errno = EBUSY;
	else {
		q->head = pos;
		__atomic_store_n(&q->tail, pos, __ATOMIC_RELEASE);
		rc = 0;
	}
	cq_session_wend(s);
	return rc;
}

uint32_t
cq_session_queue_len(cq_off_t sess)
{
	const sess_obj_t *s = sess_obj(sess);
	const sess_queue_t *q = CQ_PTR(
		const sess_queue_t, cq_off_load(&s->queue));
	if (q == NULL)
		return 0;
	return __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) -
		__atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
}

/* ---- will ---------------------------------------------------------- */

int
cq_session_will_set(cq_off_t sess, uint64_t gen, cq_off_t msg, uint32_t delay)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	cq_off_t old = s->will;
	s->will_delay = delay;
	s->will_due_ms = 0;
	cq_off_publish(&s->will, msg);
	sess_ev(s, CQ_PEV_WILL, delay, msg, NULL, 0);
	cq_session_wend(s);
	if (old != CQ_OFF_NULL)
		cq_msg_unref(old);
	return 0;
}

cq_off_t
cq_session_will_peek(cq_off_t sess)
{
	return cq_off_load(&sess_obj(sess)->will);
}

int
cq_session_will_take(
	cq_off_t sess, uint64_t gen, cq_off_t *msg_r, uint32_t *delay_r)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	*msg_r = __atomic_exchange_n(&s->will, CQ_OFF_NULL, __ATOMIC_ACQ_REL);
	*delay_r = s->will_delay;
	if (*msg_r != CQ_OFF_NULL)
		sess_ev(s, CQ_PEV_WILL, 0, CQ_OFF_NULL, NULL, 0);
	s->will_due_ms = 0;
	cq_session_wend(s);
	return *msg_r != CQ_OFF_NULL;
}

int
cq_session_will_schedule(cq_off_t sess, uint64_t gen, uint64_t due_ms)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	s->will_due_ms = s->will != CQ_OFF_NULL ? due_ms : 0;
	cq_session_wend(s);
	return 0;
}

uint64_t
cq_session_will_due(cq_off_t sess, uint32_t *delay_r)
{
	const sess_obj_t *s = sess_obj(sess);
	*delay_r = s->will_delay;
	return __atomic_load_n(&s->will, __ATOMIC_ACQUIRE) != CQ_OFF_NULL
		? s->will_due_ms
		: 0;
}

/* ---- release (session.c, after the fence) -------------------------- */

void
cq_session_release_contents(sess_obj_t *s)
{
	sess_inflight_t *f = CQ_PTR(sess_inflight_t, s->inflight);
	for (uint32_t i = 0; f != NULL && i < f->cap; i++)
		if ((cq_off_t)f->e[i] != CQ_OFF_NULL)
			cq_msg_unref((cq_off_t)f->e[i]);
	sess_queue_t *q = CQ_PTR(sess_queue_t, s->queue);
	for (uint32_t i = q != NULL ? q->head : 0; q != NULL && i != q->tail;
		i++)
		cq_msg_unref(q->slot[i % q->cap]);
	if (s->will != CQ_OFF_NULL)
		cq_msg_unref(s->will);
	cq_off_t objs[] = {s->subs, s->inflight, s->qos2, s->queue};
	s->will = s->subs = s->inflight = s->qos2 = s->queue = CQ_OFF_NULL;
	for (size_t i = 0; i < CQ_ARRAY_SIZE(objs); i++)
		if (objs[i] != CQ_OFF_NULL)
			cq_qsbr_retire(objs[i]);
}
