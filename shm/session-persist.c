/*
 * session-persist.c — what the session table tells comqtt-storage
 * (session-int.h's sess_ev_*, events in shm/pevent.h).
 *
 * A session is stored when it outlives its connection (expiry interval not
 * 0): it gets an incarnation number (pinc) when created that way, or when
 * its interval is raised later (then it is written whole: PUT and every
 * subscription, window entry, QoS 2 id, queued message and the will, one
 * group the storage process applies in one transaction).  From then on
 * every change of its contents is one event in the ring of the worker that
 * makes it, emitted inside the write section that makes it.  The loader
 * puts stored sessions back with cq_session_restore() and the owner
 * functions of session.h (it emits nothing: it is not a worker).
 *
 * Ordering across workers (pevent.h): pslot remembers which worker last
 * emitted for the session.  The first event of a different worker is an
 * ADOPT with a barrier on that worker's ring — emitted at once when a
 * takeover's fence clears (session.c I4: the old owner's last section,
 * and so its last event, is behind us), or before the new owner's first
 * other event if the ring was full then.  The removal (DEL), emitted by
 * whoever releases the ended session after the fence, carries the same
 * barrier.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "shm/pevent.h"
#include "shm/session-int.h"
#include "shm/session.h"

static uint64_t lost;

static bool
emitting(const sess_obj_t *s)
{
	return s->pinc != 0 && cq_persist_on();
}

/* The first event of this worker for s needs an ADOPT before it. */
static bool
adopt_due(const sess_obj_t *s)
{
	return s->pslot != 0 && s->pslot != (uint8_t)(cq_shm_slot + 1);
}

static void
lost_event(const sess_obj_t *s, uint16_t type)
{
	lost++;
	if ((lost & (lost - 1)) == 0)
		cq_log(CQ_LOG_ERR, 0,
			"persistence: the ring to the storage process is full: "
			"%s of session \"%.*s\" not stored (%llu event(s) so "
			"far); the stored copy may keep stale state",
			cq_pev_type_name(type), (int)s->id_len, s->id,
			(unsigned long long)lost);
}

/* Emit 'type' for s with a barrier on the worker that emitted last (if
 * another one): 0 or -1 ENOBUFS. */
static int
emit_barred(sess_obj_t *s, uint16_t type, cq_pev_t *h)
{
	uint64_t bar;
	h->key_len = (uint16_t)s->id_len;
	h->inc = s->pinc;
	if (adopt_due(s)) {
		unsigned prev = s->pslot - 1u;
		bar = cq_pev_bar(prev, cq_persist_tail(prev));
		h->nbar = 1;
	}
	if (cq_pev_emit(type, h, &bar, s->id, NULL, false) < 0)
		return -1;
	s->pslot = (uint8_t)(cq_shm_slot + 1);
	return 0;
}

bool
sess_ev_room(const sess_obj_t *s, size_t text_len, bool addition)
{
	if (!emitting(s))
		return true;
	size_t need = cq_pev_size(0, s->id_len, text_len);
	if (adopt_due(s))
		need += cq_pev_size(1, s->id_len, 0) + CQ_SPSC_HDR_BYTES + 8;
	return cq_persist_room(need, addition);
}

/* Emit h (msg, a, b, c set) for s, after an ADOPT if one is due. */
static void
ev_emit(sess_obj_t *s, uint16_t type, cq_pev_t *h, const char *text,
	size_t text_len)
{
	if (adopt_due(s)) {
		cq_pev_t ad = {0};
		if (emit_barred(s, CQ_PEV_SESS_ADOPT, &ad) < 0) {
			lost_event(s, type);
			return;
		}
	}
	h->key_len = (uint16_t)s->id_len;
	h->text_len = (uint32_t)text_len;
	h->inc = s->pinc;
	if (cq_pev_emit(type, h, NULL, s->id, text, false) < 0) {
		lost_event(s, type);
		return;
	}
	s->pslot = (uint8_t)(cq_shm_slot + 1);
}

void
sess_ev(sess_obj_t *s, uint16_t type, uint64_t a, cq_off_t msg,
	const char *text, size_t text_len)
{
	if (!emitting(s))
		return;
	cq_pev_t h = {.msg = msg, .a = a};
	ev_emit(s, type, &h, text, text_len);
}

/* The PUT header of s. */
static void
put_header(const sess_obj_t *s, cq_pev_t *h)
{
	cq_pev_sess_t ps = {.inc = s->pinc,
		.deadline = s->deadline,
		.expiry_interval = s->expiry_interval,
		.queue_max = s->queue_max,
		.inflight_max = s->inflight_max,
		.qos2_max = s->qos2_max,
		.protocol = s->protocol};
	*h = (cq_pev_t){.key_len = (uint16_t)s->id_len};
	cq_pev_sess_pack(&ps, h);
}

int
sess_ev_created(sess_obj_t *s)
{
	if (!cq_persist_on() || s->expiry_interval == 0)
		return 0;
	if (!cq_persist_room(cq_pev_size(0, s->id_len, 0), true)) {
		errno = ENOBUFS;
		return -1;
	}
	s->pinc = cq_persist_next_inc();
	cq_pev_t h;
	put_header(s, &h);
	if (cq_pev_emit(CQ_PEV_SESS_PUT, &h, NULL, s->id, NULL, false) < 0) {
		s->pinc = 0;
		errno = ENOBUFS;
		return -1;
	}
	s->pslot = (uint8_t)(cq_shm_slot + 1);
	return 0;
}

/* ---- a session written whole --------------------------------------- */

struct whole {
	sess_obj_t *s;
	size_t bytes; /* sizing pass */
	int put; /* 1: emitting pass */
};

/* One record of the group: sized, or put with CONT. */
static void
whole_one(struct whole *wh, uint16_t type, cq_pev_t *h, const char *text,
	size_t text_len)
{
	if (!wh->put) {
		wh->bytes += 2 * CQ_SPSC_HDR_BYTES +
			cq_pev_size(0, wh->s->id_len, text_len);
		return;
	}
	h->key_len = (uint16_t)wh->s->id_len;
	h->text_len = (uint32_t)text_len;
	h->inc = wh->s->pinc;
	/* Room was checked for the whole group: this cannot fail. */
	cq_pev_put(type, CQ_PERSIST_F_CONT, h, NULL, wh->s->id, text, false);
}

static void
whole_sub(void *arg, const char *filter, size_t len, const cq_subopts_t *o)
{
	cq_pev_t h = {.a = cq_pev_subopts_pack(o)};
	whole_one(arg, CQ_PEV_SUB_ADD, &h, filter, len);
}

static void
whole_entries(struct whole *wh, cq_inflight_t *v, unsigned n)
{
	sess_obj_t *s = wh->s;
	for (unsigned i = 0; i < n; i++) {
		cq_pev_t h = {.msg = v[i].msg,
			.a = v[i].pid | (uint64_t)v[i].state << 16 |
				(uint64_t)v[i].seq << 32};
		/* A QoS 2 entry past PUBREC has no message any more. */
		whole_one(wh,
			v[i].msg != CQ_OFF_NULL ? CQ_PEV_INFLIGHT_ADD
						: CQ_PEV_INFLIGHT_SET,
			&h, NULL, 0);
	}
	const sess_qos2_t *q2 = CQ_PTR(const sess_qos2_t, s->qos2);
	for (uint32_t i = 0; q2 != NULL && i < q2->cap; i++)
		if (q2->pid[i] != 0) {
			cq_pev_t h = {.a = q2->pid[i]};
			whole_one(wh, CQ_PEV_QOS2_ADD, &h, NULL, 0);
		}
	const sess_queue_t *q = CQ_PTR(const sess_queue_t, s->queue);
	for (uint32_t p = q != NULL ? q->head : 0; q != NULL && p != q->tail;
		p++) {
		cq_pev_t h = {.msg = q->slot[p % q->cap], .a = p};
		whole_one(wh, CQ_PEV_QUEUE_PUSH, &h, NULL, 0);
	}
}

/* Sizing or emitting pass over everything s holds (the PUT first, the
 * will last, without CONT). */
static void
whole_pass(struct whole *wh, cq_inflight_t *v, unsigned n)
{
	sess_obj_t *s = wh->s;
	cq_pev_t h;
	put_header(s, &h);
	whole_one(wh, CQ_PEV_SESS_PUT, &h, NULL, 0);
	cq_session_subs_foreach(CQ_OFF(s), whole_sub, wh);
	whole_entries(wh, v, n);
	cq_pev_t w = {.msg = s->will, .a = s->will_delay};
	if (!wh->put) {
		wh->bytes += 2 * CQ_SPSC_HDR_BYTES +
			cq_pev_size(0, s->id_len, 0);
		return;
	}
	w.key_len = (uint16_t)s->id_len;
	w.inc = s->pinc;
	cq_pev_put(CQ_PEV_WILL, 0, &w, NULL, s->id, NULL, false);
}

/* Write s whole under a new incarnation: 0, or -1 ENOBUFS / ENOMEM. */
static int
whole(sess_obj_t *s)
{
	unsigned cap = s->inflight_max ? s->inflight_max : 1;
	cq_inflight_t *v = malloc(cap * sizeof(*v));
	if (v == NULL)
		return -1;
	unsigned n = cq_session_inflight_list(CQ_OFF(s), v, cap);
	struct whole wh = {.s = s};
	whole_pass(&wh, v, n);
	int rc = -1;
	if (!cq_persist_room(wh.bytes, true))
		errno = ENOBUFS;
	else {
		s->pinc = cq_persist_next_inc();
		wh.put = 1;
		whole_pass(&wh, v, n);
		cq_persist_commit();
		s->pslot = (uint8_t)(cq_shm_slot + 1);
		rc = 0;
	}
	free(v);
	return rc;
}

int
sess_ev_meta(sess_obj_t *s)
{
	if (!cq_persist_on())
		return 0;
	if (s->pinc == 0) {
		if (s->expiry_interval == 0 || whole(s) == 0)
			return 0;
		cq_log(CQ_LOG_WARN, errno,
			"persistence: session \"%.*s\" now outlives its "
			"connection but could not be stored whole",
			(int)s->id_len, s->id);
		return -1;
	}
	cq_pev_t h = {.a = s->expiry_interval, .c = s->deadline};
	ev_emit(s, CQ_PEV_SESS_META, &h, NULL, 0);
	return 0;
}

void
sess_ev_adopt(cq_off_t sess, uint64_t gen)
{
	sess_obj_t *s = sess_obj(sess);
	if (s->pinc == 0 || !cq_persist_on())
		return;
	uint64_t st = sess_load_state(s);
	if (cq_session_word_owner(st) != cq_shm_slot ||
		cq_session_word_gen(st) != gen ||
		cq_session_word_state(st) != CQ_SESSION_CONNECTED)
		return;
	if (cq_session_wbegin(sess, gen) == NULL)
		return;
	cq_pev_t h = {0};
	/* On failure pslot stays: the next event adopts first. */
	emit_barred(s, CQ_PEV_SESS_ADOPT, &h);
	cq_session_wend(s);
}

bool
sess_ev_ended(sess_obj_t *s)
{
	if (s->pinc == 0 || !cq_persist_on())
		return true;
	cq_pev_t h = {0};
	return emit_barred(s, CQ_PEV_SESS_DEL, &h) == 0;
}
