/*
 * deliver.c — see deliver.h.
 *
 * Invariants:
 *   - a QoS 1/2 delivery is in the session's shm window (with its own
 *     message reference) before its bytes are in the output buffer;
 *   - ls->inflight_n counts the window entries this worker added or
 *     resumed and has not seen acknowledged; the window is never filled
 *     past ls->inflight_cap by this worker;
 *   - a ring record's message reference is dropped only after the record
 *     was consumed: a worker killed in between leaks the reference, one
 *     killed before the consume has its replacement handle the record
 *     again (QoS 2 is then de-duplicated against the window and the
 *     queue: w->replay);
 *   - a queued QoS 1/2 message leaves the queue in the write section that
 *     puts it in the window (cq_session_queue_to_window): never in
 *     neither, and a session that moves on keeps it in order.
 */
#include "config.h"
#include "workers/deliver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "mqtt/publish.h"
#include "shm/counters.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/pevent.h"
#include "shm/persist.h"
#include "shm/route.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/publish.h"
#include "workers/takeover.h"

#define REFS_MAX 4096u

static uint8_t
min_qos(uint8_t a, uint8_t b)
{
	return a < b ? a : b;
}

/* ---- the queue ----------------------------------------------------- */

/*
 * Queue m (a reference of our own is taken) in ls's shm queue; a full
 * queue applies limits.queue_overflow.  Returns 1 when the session went
 * stale (the caller re-routes), else 0.
 */
static int
enqueue(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m)
{
	cq_msg_ref(m, 1);
	if (cq_session_queue_push(ls->sess, ls->gen, m) == 0)
		return 0;
	int err = errno;
	if (err == ENOSPC &&
		w->cfg->limits.queue_overflow == CQ_QUEUE_DROP_OLDEST) {
		cq_off_t old;
		if (cq_session_queue_pop(ls->sess, ls->gen, &old) == 1) {
			cq_msg_unref(old);
			cq_hooks_qos_dropped(w, ls, 0);
			cq_counter_add(CQ_CTR_DROP_QUEUE_FULL, 1);
			cq_ratelog(w, &w->log_queue, CQ_LOG_WARN, 0,
				"an offline queue is full: dropped its oldest "
				"message");
			if (cq_session_queue_push(ls->sess, ls->gen, m) == 0)
				return 0;
			err = errno;
		}
	}
	cq_msg_unref(m);
	if (err == ESTALE)
		return 1;
	cq_hooks_qos_dropped(w, ls, 0);
	cq_counter_add(
		err == ENOSPC ? CQ_CTR_DROP_QUEUE_FULL : CQ_CTR_DROP_NO_MEMORY,
		1);
	if (err == ENOSPC)
		cq_ratelog(w, &w->log_queue, CQ_LOG_WARN, 0,
			"an offline queue is full: dropped a new message");
	else
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, err,
			"cannot queue a message for a session");
	return 0;
}

/* Is m in ls's inflight window already (a replayed ring record)? */
static bool
in_window(cq_lsess_t *ls, cq_off_t m)
{
	cq_inflight_t v[256];
	unsigned n = cq_session_inflight_list(ls->sess, v, 256);
	for (unsigned i = 0; i < n && i < 256; i++)
		if (v[i].msg == m)
			return true;
	return false;
}

/* ---- sending ------------------------------------------------------- */

/* Too large for c ever [MQTT-3.1.2-25]: counted and reported. */
static bool
too_large(cq_worker_t *w, cq_conn_t *c, cq_layouts_t *lay, const cq_layout_t *l)
{
	if (c->max_packet == 0 || cq_layout_size(lay, l) <= c->max_packet)
		return false;
	cq_counter_add(CQ_CTR_DROP_TOO_LARGE, 1);
	cq_hooks_publish_dropped(w, c, lay->d);
	return true;
}

/* A window entry (pid) was made for layout l: count it, tell the hooks,
 * write it. */
static void
window_sent(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c, cq_layouts_t *lay,
	const cq_layout_t *l, uint16_t pid)
{
	ls->inflight_n++;
	cq_hooks_qos_publish(w, ls, pid, l->qos);
	cq_layout_emit(c, lay, l, pid, false);
}

/*
 * A new QoS 1/2 delivery of message m with layout l to c: packet id,
 * window entry (shm), bytes.  Returns 1 when the session went stale.
 */
static int
send_new(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c, cq_layouts_t *lay,
	const cq_layout_t *l, cq_off_t m)
{
	if (too_large(w, c, lay, l))
		return 0;
	errno = 0;
	uint16_t pid = cq_session_next_pid(ls->sess, ls->gen);
	if (pid == 0)
		return errno == ESTALE ? 1 : enqueue(w, ls, m);
	cq_msg_ref(m, 1);
	int rc = cq_session_inflight_add(ls->sess, ls->gen, pid, m,
		l->qos == 1 ? CQ_INFLIGHT_PUBACK : CQ_INFLIGHT_PUBREC);
	if (rc != 0) {
		int err = errno;
		cq_msg_unref(m);
		if (rc == CQ_AGAIN) {
			/* The shm window is smaller than we thought (a
			 * session created with a smaller receive maximum). */
			ls->inflight_cap = ls->inflight_n ? ls->inflight_n : 1;
			return enqueue(w, ls, m);
		}
		if (err == ESTALE)
			return 1;
		cq_counter_add(CQ_CTR_DROP_NO_MEMORY, 1);
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, err,
			"cannot record a QoS 1/2 delivery");
		return 0;
	}
	window_sent(w, ls, c, lay, l, pid);
	return 0;
}

/* Deliver now (no takeover check); 1 when the session went stale. */
static int
deliver_now(cq_worker_t *w, cq_lsess_t *ls, cq_layouts_t *lay, uint8_t qos,
	bool retain, const uint32_t *ids, unsigned nids)
{
	const cq_dmsg_t *d = lay->d;
	if (d->expiry != 0 && w->now_s >= d->expiry) {
		cq_counter_add(CQ_CTR_DROP_EXPIRED, 1);
		return 0;
	}
	cq_conn_t *c = ls->conn;
	bool online = c != NULL && ls->resumed && cq_conn_writable(c);
	if (qos == 0 || d->msg == CQ_OFF_NULL) {
		/* QoS 0 is not queued for an offline or stalled client. */
		if (!online) {
			if (c != NULL && ls->resumed)
				cq_hooks_publish_dropped(w, c, d);
			return 0;
		}
		const cq_layout_t *l = cq_layouts_get(
			lay, c, 0, retain, ids, nids);
		if (l != NULL)
			cq_layout_emit(c, lay, l, 0, false);
		return 0;
	}
	if (w->replay && qos == 2 &&
		(in_window(ls, d->msg) ||
			cq_session_queue_holds(ls->sess, d->msg)))
		return 0;
	if (!online || cq_session_queue_len(ls->sess) > 0 ||
		ls->inflight_n >= ls->inflight_cap)
		return enqueue(w, ls, d->msg);
	const cq_layout_t *l = cq_layouts_get(lay, c, qos, retain, ids, nids);
	if (l == NULL)
		return 0;
	return send_new(w, ls, c, lay, l, d->msg);
}

void
cq_deliver_to(cq_worker_t *w, cq_lsess_t *ls, cq_layouts_t *lay, uint8_t qos,
	bool retain, const uint32_t *ids, unsigned nids)
{
	if (ls->x != NULL && cq_takeover_intercept(w, ls, lay->d, false))
		return;
	if (deliver_now(w, ls, lay, qos, retain, ids, nids) == 0)
		return;
	/* The session moved under us: the takeover takes the message. */
	if (cq_lsess_stale(w, ls) && ls->x != NULL)
		cq_takeover_intercept(w, ls, lay->d, false);
}

/* Options of stored message d for ls from its subscriptions. */
static bool
stored_options(const cq_lsess_t *ls, const cq_dmsg_t *d, uint8_t *qos_r,
	bool *retain_r, uint32_t *ids, unsigned *nids_r)
{
	bool rap;
	uint8_t q;
	if (cq_lsess_match(ls, d->topic, d->topic_len, &q, &rap, ids,
		    CQ_LAYOUT_MAX_IDS, nids_r) == 0)
		return false;
	*qos_r = min_qos(d->qos, q);
	*retain_r = d->rsend || (rap && d->retain);
	return true;
}

int
cq_deliver_stored(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m, uint16_t origin,
	uint64_t seq, bool keep)
{
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, m);
	d.origin_slot = origin;
	d.seq = seq;
	uint8_t qos;
	bool retain;
	uint32_t ids[CQ_LAYOUT_MAX_IDS];
	unsigned nids;
	if (!stored_options(ls, &d, &qos, &retain, ids, &nids))
		return 0;
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &w->scratch1, &d, w->now_s);
	if (deliver_now(w, ls, &lay, qos, retain, ids, nids) == 0)
		return 0;
	if (!cq_lsess_stale(w, ls))
		return -1;
	if (ls->x != NULL)
		cq_takeover_intercept(w, ls, &d, keep);
	return 0;
}

void
cq_deliver_retained(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m, uint8_t qos,
	const uint32_t *ids, unsigned nids)
{
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, m);
	bool copy = qos > 0 || ls->x != NULL;
	if (copy) {
		/* It may wait in the window, the queue or a takeover: a copy
		 * of its own remembers that it goes out with RETAIN=1
		 * [MQTT-3.3.1-9] whatever Retain As Published says. */
		d.rsend = true;
		d.msg = cq_dmsg_store(&d, d.origin_slot);
		if (d.msg == CQ_OFF_NULL) {
			cq_counter_add(CQ_CTR_DROP_NO_MEMORY, 1);
			return;
		}
	}
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &w->scratch1, &d, w->now_s);
	cq_deliver_to(w, ls, &lay, qos, true, ids, nids);
	if (copy)
		cq_msg_unref(d.msg);
}

/* d to every session of the match in w->sres. */
static void
fan_out(cq_worker_t *w, const cq_dmsg_t *d)
{
	if (w->sres.n == 0)
		return;
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &w->scratch, d, w->now_s);
	for (uint32_t i = 0; i < w->sres.n; i++) {
		const cq_subtrie_hit_t *h = &w->sres.hits[i];
		cq_deliver_to(w, h->session, &lay, min_qos(d->qos, h->qos),
			d->retain && h->retain_as_published,
			w->sres.ids + h->first_id, h->nids);
	}
}

void
cq_deliver_local(cq_worker_t *w, const cq_dmsg_t *d,
	const cq_topic_levels_t *lv, const void *publisher,
	const uint64_t *groups, uint32_t ng)
{
	if (d->expiry != 0 && w->now_s >= d->expiry) {
		cq_counter_add(CQ_CTR_DROP_EXPIRED, 1);
		return;
	}
	if (cq_subtrie_match(w->trie, lv, publisher, groups, ng, &w->sres) <
		0) {
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
			"matching a topic in the private trie");
		return;
	}
	fan_out(w, d);
}

unsigned
cq_deliver_groups(cq_worker_t *w, const cq_dmsg_t *d,
	const cq_topic_levels_t *lv, const void *skip, const uint64_t *groups,
	uint32_t ng)
{
	if (d->expiry != 0 && w->now_s >= d->expiry) {
		cq_counter_add(CQ_CTR_DROP_EXPIRED, 1);
		return 1; /* gone: nobody needs it any more */
	}
	if (cq_subtrie_match_groups(w->trie, lv, skip, groups, ng, &w->sres) <
		0) {
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
			"matching a topic in the private trie");
		return 0;
	}
	unsigned n = w->sres.n;
	fan_out(w, d);
	return n;
}

/* ---- the queue and re-sends ---------------------------------------- */

/*
 * QoS 1/2 from the queue: the message leaves the queue in the write
 * section that puts it in the window, so a session that moves on first
 * keeps it queued, in order, for its new owner.  1 to go on, 0 to stop.
 */
static int
pump_window(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c, cq_layouts_t *lay,
	const cq_layout_t *l, cq_off_t m)
{
	errno = 0;
	uint16_t pid = cq_session_next_pid(ls->sess, ls->gen);
	int rc = pid == 0
		? -1
		: cq_session_queue_to_window(ls->sess, ls->gen, m, pid,
			  l->qos == 1 ? CQ_INFLIGHT_PUBACK
				      : CQ_INFLIGHT_PUBREC);
	if (rc == CQ_AGAIN) {
		/* The shm window is smaller than we thought (a session
		 * created with a smaller receive maximum). */
		ls->inflight_cap = ls->inflight_n ? ls->inflight_n : 1;
		return 0;
	}
	if (rc < 0) {
		/* Stale: the new owner sends it.  No packet id, no memory
		 * or no room to report it: it waits for the next pump. */
		if (errno == ESTALE)
			cq_lsess_stale(w, ls);
		else if (pid != 0 && errno != ENOBUFS)
			cq_ratelog(w, &w->log_full, CQ_LOG_ERR, errno,
				"cannot move a queued message to the window");
		return 0;
	}
	window_sent(w, ls, c, lay, l, pid);
	return 1;
}

/* The oldest queued message to c (see pump_window); one that goes at
 * QoS 0 or not at all leaves the queue first.  1 to go on, 0 to stop. */
static int
pump_one(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c)
{
	cq_off_t m;
	if (cq_session_queue_peek(ls->sess, &m) == 0)
		return 0;
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, m);
	uint8_t qos = 0;
	bool retain;
	uint32_t ids[CQ_LAYOUT_MAX_IDS];
	unsigned nids;
	cq_layouts_t lay;
	const cq_layout_t *l = NULL;
	if (d.expiry != 0 && w->now_s >= d.expiry)
		cq_counter_add(CQ_CTR_DROP_EXPIRED, 1);
	else if (stored_options(ls, &d, &qos, &retain, ids, &nids)) {
		cq_layouts_begin(&lay, &w->scratch1, &d, w->now_s);
		l = cq_layouts_get(&lay, c, qos, retain, ids, nids);
	}
	if (l != NULL && too_large(w, c, &lay, l))
		l = NULL;
	if (l != NULL && qos > 0)
		return pump_window(w, ls, c, &lay, l, m);
	int rc = cq_session_queue_pop(ls->sess, ls->gen, &m);
	if (rc <= 0) {
		if (rc < 0)
			cq_lsess_stale(w, ls);
		return 0;
	}
	if (l != NULL)
		cq_layout_emit(c, &lay, l, 0, false);
	cq_msg_unref(m);
	return 1;
}

void
cq_deliver_pump(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_conn_t *c = ls->conn;
	if (c == NULL || !ls->resumed || (ls->x != NULL && ls->x->moving))
		return;
	while (cq_conn_writable(c) && ls->inflight_n < ls->inflight_cap) {
		/* Popping and sending are reported to comqtt-storage: with
		 * its ring full the message waits here (the sweep pumps
		 * again), rather than leave the queue unreported. */
		if (!cq_persist_room(3 * cq_pev_size(1, ls->id_len, 0), true))
			return;
		if (pump_one(w, ls, c) == 0 || c->state == CQ_CONN_CLOSED)
			return;
	}
}

/* Re-send one window entry with DUP (or its PUBREL). */
static void
resend_one(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c, const cq_inflight_t *e)
{
	if (e->state == CQ_INFLIGHT_PUBCOMP) {
		cq_mqtt_packet_t p = {.type = CQ_MQTT_PUBREL};
		p.u.ack = (cq_mqtt_ack_t){
			.type = CQ_MQTT_PUBREL, .packet_id = e->pid};
		cq_conn_send_packet(c, &p);
		return;
	}
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, e->msg);
	uint8_t qos;
	bool retain;
	uint32_t ids[CQ_LAYOUT_MAX_IDS];
	unsigned nids;
	if (!stored_options(ls, &d, &qos, &retain, ids, &nids)) {
		retain = false;
		nids = 0;
	}
	/* The QoS it was first sent with is the one the window records. */
	qos = e->state == CQ_INFLIGHT_PUBACK ? 1 : 2;
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &w->scratch1, &d, w->now_s);
	const cq_layout_t *l = cq_layouts_get(&lay, c, qos, retain, ids, nids);
	if (l != NULL)
		cq_layout_emit(c, &lay, l, e->pid, true);
}

unsigned
cq_deliver_window(const cq_lsess_t *ls, cq_inflight_t *small, unsigned nsmall,
	cq_inflight_t **v_r)
{
	*v_r = small;
	unsigned n = cq_session_inflight_list(ls->sess, small, nsmall);
	if (n < nsmall)
		return n;
	cq_inflight_t *v = malloc(CQ_DELIVER_WINDOW_MAX * sizeof(*v));
	if (v == NULL)
		return n; /* the first ones, in order */
	*v_r = v;
	return cq_session_inflight_list(ls->sess, v, CQ_DELIVER_WINDOW_MAX);
}

void
cq_deliver_resume(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_conn_t *c = ls->conn;
	if (c == NULL)
		return;
	ls->resumed = true;
	cq_inflight_t small[64], *v;
	unsigned n = cq_deliver_window(ls, small, 64, &v);
	ls->inflight_n = n;
	for (unsigned i = 0; i < n && c->state != CQ_CONN_CLOSED; i++)
		resend_one(w, ls, c, &v[i]);
	if (v != small)
		free(v);
	cq_deliver_pump(w, ls);
}

/* ---- rings --------------------------------------------------------- */

typedef struct refs {
	cq_off_t *v;
	unsigned n, cap;
} refs_t;

static void
refs_add(refs_t *r, cq_off_t m)
{
	if (r->n == r->cap) {
		unsigned cap = r->cap ? r->cap * 2 : 256;
		cq_off_t *v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL) {
			/* Cannot remember it: leak the reference rather
			 * than drop it before the consume. */
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = m;
}

static void
refs_drop(refs_t *r)
{
	for (unsigned i = 0; i < r->n; i++)
		cq_msg_unref(r->v[i]);
	r->n = 0;
}

static void
bad_record(cq_worker_t *w, unsigned src, const cq_ring_rec_t *rec)
{
	cq_ratelog(w, &w->log_ring, CQ_LOG_ERR, 0,
		"malformed record on a ring from another worker: skipped");
	(void)src;
	(void)rec;
}

static void
publish_record(cq_worker_t *w, unsigned src, const cq_ring_rec_t *rec)
{
	const cq_rec_publish_t *h = rec->data;
	size_t fixed = sizeof(*h) + (size_t)h->ngroups * sizeof(uint64_t);
	bool by_ref = rec->flags & CQ_RING_F_MSG;
	if (rec->len < sizeof(*h) || rec->len < fixed ||
		(!by_ref &&
			rec->len - fixed < (size_t)h->topic_len + h->props_len +
					h->payload_len)) {
		bad_record(w, src, rec);
		return;
	}
	const uint64_t *groups = (const uint64_t *)(h + 1);
	cq_dmsg_t d;
	if (by_ref) {
		cq_dmsg_from_msg(&d, h->msg);
	} else {
		const char *p = (const char *)rec->data + fixed;
		d = (cq_dmsg_t){.topic = p,
			.topic_len = h->topic_len,
			.props = (const uint8_t *)p + h->topic_len,
			.props_len = h->props_len,
			.payload = (const uint8_t *)p + h->topic_len +
				h->props_len,
			.payload_len = h->payload_len,
			.qos = h->qos,
			.retain = h->flags & CQ_REC_F_RETAIN};
	}
	d.origin_slot = h->origin_slot;
	d.origin_session = h->origin_session;
	d.seq = h->seq;
	d.expiry = h->expiry;
	w->last_seq[src] = h->seq;
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, d.topic, d.topic_len, cq_route_seed()) <
		0) {
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
			"splitting a topic");
		return;
	}
	if (h->flags & CQ_REC_F_GROUPS)
		cq_deliver_groups(w, &d, &lv, NULL, groups, h->ngroups);
	else
		cq_deliver_local(w, &d, &lv, NULL, groups, h->ngroups);
	cq_topic_levels_free(&lv);
}

static void
handle_record(
	cq_worker_t *w, unsigned src, const cq_ring_rec_t *rec, refs_t *refs)
{
	switch (rec->type) {
	case CQ_REC_PUBLISH:
		publish_record(w, src, rec);
		break;
	case CQ_REC_FORWARD:
		cq_takeover_on_forward(w, src, rec);
		break;
	case CQ_REC_KICK:
		cq_takeover_on_kick(w, src, rec);
		break;
	case CQ_REC_HANDOVER:
		cq_takeover_on_handover(w, src, rec);
		break;
	default:
		bad_record(w, src, rec);
		break;
	}
	if ((rec->flags & CQ_RING_F_MSG) && rec->len >= sizeof(cq_off_t)) {
		cq_off_t m;
		memcpy(&m, rec->data, sizeof(m));
		refs_add(refs, m);
	}
}

unsigned
cq_deliver_drain(cq_worker_t *w, unsigned budget)
{
	static refs_t refs;
	unsigned total = 0;
	for (unsigned src = 0; src < w->nworkers; src++) {
		cq_ring_rec_t rec;
		unsigned n = 0;
		while (n < budget) {
			if (cq_ring_peek(src, &rec) != 0) {
				w->empty_iter[src] = w->iter;
				break;
			}
			handle_record(w, src, &rec, &refs);
			n++;
		}
		if (n == 0)
			continue;
		/* Killed here: the replacement handles the batch again. */
		CQ_CRASHPOINT("deliver.handled");
		cq_ring_consume(src);
		refs_drop(&refs);
		total += n;
	}
	if (total > 0)
		cq_counter_add(CQ_CTR_RING_RECORDS_IN, total);
	return total;
}

typedef struct pending_rec {
	unsigned src;
	cq_ring_rec_t rec;
} pending_rec_t;

void
cq_deliver_drain_start(cq_worker_t *w, void (*between)(cq_worker_t *))
{
	pending_rec_t *v = NULL;
	size_t n = 0, cap = 0;
	refs_t refs = {0};
	w->replay = true;
	for (unsigned src = 0; src < w->nworkers; src++) {
		cq_ring_rec_t rec;
		while (cq_ring_peek(src, &rec) == 0) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				pending_rec_t *nv = realloc(v, nc * sizeof(*v));
				if (nv == NULL) {
					/* Out of memory: handle it now, out of
					 * the KICK-first order. */
					handle_record(w, src, &rec, &refs);
					continue;
				}
				v = nv;
				cap = nc;
			}
			v[n++] = (pending_rec_t){src, rec};
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].rec.type == CQ_REC_KICK)
			handle_record(w, v[i].src, &v[i].rec, &refs);
	if (between != NULL)
		between(w);
	for (size_t i = 0; i < n; i++)
		if (v[i].rec.type != CQ_REC_KICK)
			handle_record(w, v[i].src, &v[i].rec, &refs);
	for (unsigned src = 0; src < w->nworkers; src++)
		cq_ring_consume(src);
	refs_drop(&refs);
	free(refs.v);
	free(v);
	w->replay = false;
	if (n > 0)
		cq_log(CQ_LOG_NOTICE, 0,
			"handled %zu record(s) waiting in the rings", n);
}
