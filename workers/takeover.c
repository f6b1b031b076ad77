/*
 * takeover.c — see takeover.h for the protocol and why it is exact.
 *
 * Invariants:
 *   - ls->x != NULL iff ls is on w->moving;
 *   - while x->hold_from != NONE, or x->moving && !x->kicked, every
 *     message for ls is appended to x->held (a reference each), in the
 *     order it was matched;
 *   - once x->moving && x->kicked, messages for ls go to x->moved_to as
 *     FORWARD records, in order, behind anything still in the outbox;
 *   - a control or forward record that does not fit its ring waits in
 *     the outbox; records to one destination leave the outbox in order
 *     and nothing to that destination overtakes them.
 */
#include "config.h"
#include "workers/takeover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/deliver.h"
#include "workers/lsess.h"
#include "workers/publish.h"

#define HANDOVER_TIMEOUT_MS 10000u /* C waits this long for B */
#define KICK_TIMEOUT_MS     5000u /* B waits this long for C's KICK */
#define DRAIN_TIMEOUT_MS    10000u /* B's grace and drain, at most */
#define NONE                CQ_SLOT_NONE

/* ---- the outbox ---------------------------------------------------- */

typedef struct outrec {
	struct outrec *next;
	unsigned dst;
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	unsigned char data[];
} outrec_t;

static outrec_t *out_head, *out_tail;
static unsigned out_len;
static uint64_t out_dsts; /* destinations with records waiting */

unsigned
cq_takeover_outbox_len(void)
{
	return out_len;
}

static void
send_rec(cq_worker_t *w, unsigned dst, uint16_t type, uint16_t flags,
	const void *a, size_t alen, const void *b, size_t blen)
{
	if (!(out_dsts & (UINT64_C(1) << dst))) {
		struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
		if (cq_ring_push(dst, type, flags, iov, blen ? 2 : 1) == 0)
			return;
	}
	outrec_t *o = malloc(sizeof(*o) + alen + blen);
	if (o == NULL) {
		/* Nothing sane is left: a lost control record breaks the
		 * takeover it belongs to (timeouts end it). */
		cq_log(CQ_LOG_CRIT, ENOMEM,
			"worker %u: a takeover record to worker %u is lost",
			w->slot, dst);
		return;
	}
	o->next = NULL;
	o->dst = dst;
	o->type = type;
	o->flags = flags;
	o->len = (uint32_t)(alen + blen);
	memcpy(o->data, a, alen);
	if (blen)
		memcpy(o->data + alen, b, blen);
	if (out_tail != NULL)
		out_tail->next = o;
	else
		out_head = o;
	out_tail = o;
	out_len++;
	out_dsts |= UINT64_C(1) << dst;
}

static void
outbox_flush(void)
{
	uint64_t blocked = 0;
	outrec_t **link = &out_head, *prev = NULL;
	while (*link != NULL) {
		outrec_t *o = *link;
		struct iovec iov = {o->data, o->len};
		if ((blocked & (UINT64_C(1) << o->dst)) ||
			cq_ring_push(o->dst, o->type, o->flags, &iov, 1) != 0) {
			blocked |= UINT64_C(1) << o->dst;
			prev = o;
			link = &o->next;
			continue;
		}
		*link = o->next;
		if (out_tail == o)
			out_tail = prev;
		out_len--;
		free(o);
	}
	out_dsts = blocked;
}

/* ---- state --------------------------------------------------------- */

static cq_xfer_t *
get_x(cq_worker_t *w, cq_lsess_t *ls)
{
	if (ls->x != NULL)
		return ls->x;
	cq_xfer_t *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->hold_from = NONE;
	x->moved_to = NONE;
	ls->x = x;
	ls->moving_next = w->moving;
	w->moving = ls;
	return x;
}

static void
unlink_moving(cq_worker_t *w, cq_lsess_t *ls)
{
	for (cq_lsess_t **p = &w->moving; *p != NULL; p = &(*p)->moving_next)
		if (*p == ls) {
			*p = ls->moving_next;
			ls->moving_next = NULL;
			return;
		}
}

void
cq_takeover_release(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_xfer_t *x = ls->x;
	if (x == NULL)
		return;
	for (uint32_t i = 0; i < x->nheld; i++)
		cq_msg_unref(x->held[i].msg);
	free(x->held);
	free(x);
	ls->x = NULL;
	unlink_moving(w, ls);
}

/* The store object of d, with a reference for the caller; NULL-offset
 * when the store is full. */
static cq_off_t
msg_ref_of(cq_worker_t *w, const cq_dmsg_t *d)
{
	if (d->msg != CQ_OFF_NULL) {
		cq_msg_ref(d->msg, 1);
		return d->msg;
	}
	cq_off_t m = cq_dmsg_store(d, d->origin_slot);
	if (m == CQ_OFF_NULL)
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
			"message store full: a message for a moving session "
			"is lost");
	return m;
}

static void
hold(cq_worker_t *w, cq_xfer_t *x, cq_off_t m, uint16_t origin, uint64_t seq,
	bool keep)
{
	if (x->nheld == x->cap) {
		uint32_t cap = x->cap ? x->cap * 2 : 16;
		cq_held_t *v = realloc(x->held, cap * sizeof(*v));
		if (v == NULL) {
			cq_msg_unref(m);
			cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
				"a message for a moving session is lost");
			return;
		}
		x->held = v;
		x->cap = cap;
	}
	x->held[x->nheld++] = (cq_held_t){m, origin, keep, seq};
}

/* Forward stored message m (the caller's reference) to x->moved_to. */
static void
forward(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m, uint16_t origin,
	uint64_t seq)
{
	cq_xfer_t *x = ls->x;
	cq_rec_forward_t f = {.msg = m,
		.id_len = ls->id_len,
		.origin_slot = origin,
		.seq = seq,
		.gen = x->new_gen};
	send_rec(w, x->moved_to, CQ_REC_FORWARD, CQ_RING_F_MSG, &f, sizeof(f),
		ls->id, ls->id_len);
}

bool
cq_takeover_intercept(
	cq_worker_t *w, cq_lsess_t *ls, const cq_dmsg_t *d, bool keep)
{
	cq_xfer_t *x = ls->x;
	bool holding = x->hold_from != NONE || (x->moving && !x->kicked);
	if (!holding && !x->moving)
		return false;
	cq_off_t m = msg_ref_of(w, d);
	if (m == CQ_OFF_NULL)
		return true;
	if (holding)
		hold(w, x, m, d->origin_slot, d->seq, keep);
	else
		forward(w, ls, m, d->origin_slot, d->seq);
	return true;
}

/*
 * Hand what was held to where it goes now, dropping what 'covered' says
 * the previous owner already passed on (NULL: keep everything).  Returns
 * false when ls was freed on the way (its session ended meanwhile).
 */
static bool
release_held(cq_worker_t *w, cq_lsess_t *ls, const uint64_t *covered,
	unsigned ncovered)
{
	cq_xfer_t *x = ls->x;
	cq_held_t *v = x->held;
	uint32_t n = x->nheld, ndup = 0;
	bool gone = false;
	x->held = NULL;
	x->nheld = x->cap = 0;
	/* Kept messages first: per publisher they are older than any direct
	 * match the previous owner did not also see. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < n; i++) {
			cq_held_t *h = &v[i];
			if (h->keep != (pass == 0))
				continue;
			bool dup = covered != NULL && !h->keep &&
				h->origin < ncovered &&
				h->seq <= covered[h->origin];
			if (gone || dup) {
				ndup += dup;
				cq_msg_unref(h->msg);
			} else if (x->moving && x->kicked) {
				forward(w, ls, h->msg, h->origin, h->seq);
			} else if (x->moving) {
				hold(w, x, h->msg, h->origin, h->seq, h->keep);
			} else {
				gone = cq_deliver_stored(w, ls, h->msg,
					       h->origin, h->seq, h->keep) < 0;
				cq_msg_unref(h->msg);
			}
		}
	}
	free(v);
	if (n > 0)
		cq_log(CQ_LOG_DEBUG, 0,
			"session %s: %u held message(s), %u already passed on",
			ls->id, n, ndup);
	return !gone;
}

/* Close the connection of a session that is no longer ours. */
static void
drop_conn(cq_lsess_t *ls)
{
	ls->resumed = false;
	if (ls->conn == NULL)
		return;
	cq_conn_t *c = ls->conn;
	cq_log(CQ_LOG_INFO, 0,
		"client %s (%s): session taken over elsewhere; closing", ls->id,
		cq_conn_addr(c));
	cq_conn_disconnect(
		c, CQ_MQTT_RC_SESSION_TAKEN_OVER, CQ_CLOSE_TAKEN_OVER);
}

/* ---- finding the incarnation a record is for ----------------------- */

static bool
same_id(const cq_lsess_t *ls, const char *id, size_t len)
{
	return ls->id_len == len && memcmp(ls->id, id, len) == 0;
}

/* The incarnation of client id 'id' with generation 'gen', or NULL. */
static cq_lsess_t *
find_gen(cq_worker_t *w, const char *id, size_t len, uint64_t gen)
{
	for (cq_lsess_t *ls = w->moving; ls != NULL; ls = ls->moving_next)
		if ((ls->gen == gen || ls->x->old_gen == gen) &&
			same_id(ls, id, len))
			return ls;
	cq_lsess_t *ls = cq_lsess_find(w, id, len);
	return ls != NULL && ls->gen == gen ? ls : NULL;
}

/* ---- C: the new owner ---------------------------------------------- */

int
cq_takeover_begin_in(cq_worker_t *w, cq_lsess_t *ls, unsigned from)
{
	cq_xfer_t *x = get_x(w, ls);
	if (x == NULL)
		return -1;
	x->hold_from = (uint16_t)from;
	x->hold_since_ms = w->now_ms;
	return 0;
}

void
cq_takeover_kick(cq_worker_t *w, unsigned dst, cq_off_t sess, uint64_t gen,
	uint64_t prev_gen, const char *id, size_t id_len, bool ended)
{
	cq_rec_kick_t k = {.sess = sess,
		.id_len = (uint16_t)id_len,
		.ended = ended,
		.gen = gen,
		.prev_gen = prev_gen};
	send_rec(w, dst, CQ_REC_KICK, 0, &k, sizeof(k), id, id_len);
}

/* The incoming side is complete: deliver, read the client again. */
static void
hold_done(cq_worker_t *w, cq_lsess_t *ls, const uint64_t *covered,
	unsigned ncovered)
{
	cq_xfer_t *x = ls->x;
	x->hold_from = NONE;
	if (x->moving && covered != NULL) {
		/* We are in a chain: what the previous owner covered, we
		 * cover for the next. */
		for (unsigned i = 0; i < ncovered && i < CQ_MAX_WORKERS; i++)
			if (covered[i] > x->chain_seq[i])
				x->chain_seq[i] = covered[i];
		x->chained = true;
	}
	if (!release_held(w, ls, covered, ncovered))
		return;
	if (!x->moving) {
		cq_takeover_release(w, ls);
		if (ls->conn != NULL)
			cq_conn_resume_input(ls->conn);
	}
}

void
cq_takeover_on_handover(cq_worker_t *w, unsigned src, const cq_ring_rec_t *r)
{
	const cq_rec_handover_t *h = r->data;
	if (r->len < sizeof(*h) ||
		r->len < sizeof(*h) + (size_t)h->nslots * 8 + h->id_len)
		return;
	const uint64_t *last = (const uint64_t *)(h + 1);
	const char *id = (const char *)(last + h->nslots);
	cq_lsess_t *ls = find_gen(w, id, h->id_len, h->gen);
	if (ls == NULL || ls->x == NULL || ls->x->hold_from != src)
		return;
	cq_log(CQ_LOG_DEBUG, 0, "session %s: handed over by worker %u", ls->id,
		src);
	hold_done(w, ls, last, h->nslots);
}

void
cq_takeover_on_forward(cq_worker_t *w, unsigned src, const cq_ring_rec_t *r)
{
	const cq_rec_forward_t *f = r->data;
	if (r->len < sizeof(*f) + f->id_len)
		return;
	const char *id = (const char *)(f + 1);
	cq_lsess_t *ls = find_gen(w, id, f->id_len, f->gen);
	if (ls == NULL)
		ls = cq_lsess_find(w, id, f->id_len); /* best effort */
	if (ls == NULL) {
		cq_log(CQ_LOG_DEBUG, 0,
			"a message forwarded by worker %u for session "
			"%.*s, which is not here: dropped",
			src, (int)f->id_len, id);
		return;
	}
	cq_xfer_t *x = ls->x;
	if (x != NULL && x->moving) {
		/* On to the next owner, behind what waits here already. */
		cq_msg_ref(f->msg, 1);
		if (x->kicked && x->nheld == 0)
			forward(w, ls, f->msg, f->origin_slot, f->seq);
		else
			hold(w, x, f->msg, f->origin_slot, f->seq, true);
		return;
	}
	/* Forwards are older than anything held: deliver them now. */
	cq_deliver_stored(w, ls, f->msg, f->origin_slot, f->seq, true);
}

/* ---- B: the old owner ---------------------------------------------- */

static void
start_moving(
	cq_worker_t *w, cq_lsess_t *ls, cq_xfer_t *x, unsigned to, uint64_t gen)
{
	if (!x->moving) {
		x->moving = true;
		x->moving_since_ms = w->now_ms;
		drop_conn(ls);
	}
	x->moved_to = (uint16_t)to;
	x->new_gen = gen;
}

void
cq_takeover_stale(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_xfer_t *x = get_x(w, ls);
	if (x == NULL || x->moving)
		return;
	uint64_t st = cq_session_state(ls->sess);
	start_moving(
		w, ls, x, cq_session_word_owner(st), cq_session_word_gen(st));
}

/* The KICK arrived: forward from now on, after a grace period hand
 * over. */
static void
kicked(cq_worker_t *w, cq_lsess_t *ls, unsigned src, uint64_t gen)
{
	cq_xfer_t *x = get_x(w, ls);
	if (x == NULL) {
		cq_lsess_free(w, ls);
		return;
	}
	start_moving(w, ls, x, src, gen);
	cq_lsess_entomb(w, ls);
	x->kicked = true;
	x->grace_iter = 0;
	for (unsigned s = 0; s < w->nworkers; s++)
		x->grace_mark[s] = cq_qsbr_progress(s, &x->grace_pid[s]);
	if (x->hold_from == NONE)
		release_held(w, ls, NULL, 0);
}

/* A KICK for a session we have no trace of (our predecessor owned it):
 * a tombstone made from its subscriptions in shm. */
static cq_lsess_t *
tombstone(cq_worker_t *w, const cq_rec_kick_t *k, const char *id)
{
	cq_lsess_t *ls = cq_lsess_new(w, id, k->id_len, k->sess, 0, 0);
	if (ls == NULL)
		return NULL;
	cq_lsess_entomb(w, ls);
	ls->gen = k->prev_gen; /* not ours: any write fails */
	if (cq_lsess_load_subs(w, ls) < 0)
		cq_log(CQ_LOG_WARN, 0,
			"session %s: tombstone without all its subscriptions",
			ls->id);
	return ls;
}

void
cq_takeover_on_kick(cq_worker_t *w, unsigned src, const cq_ring_rec_t *r)
{
	const cq_rec_kick_t *k = r->data;
	if (r->len < sizeof(*k) + k->id_len)
		return;
	const char *id = (const char *)(k + 1);
	cq_lsess_t *ls = find_gen(w, id, k->id_len, k->prev_gen);
	if (ls == NULL && k->ended)
		ls = cq_lsess_find(w, id, k->id_len);
	if (ls != NULL && (k->ended || ls->sess != k->sess)) {
		/* The session we had ended (replaced by a clean start). */
		cq_log(CQ_LOG_DEBUG, 0, "session %s: ended by worker %u",
			ls->id, src);
		drop_conn(ls);
		cq_lsess_free(w, ls);
		ls = NULL;
	}
	if (k->ended)
		return;
	if (ls == NULL && (ls = tombstone(w, k, id)) == NULL)
		return;
	cq_log(CQ_LOG_DEBUG, 0, "session %s: taken over by worker %u", ls->id,
		src);
	kicked(w, ls, src, k->gen);
}

/* Has every live worker passed two quiescent points since the KICK? */
static bool
grace_over(cq_worker_t *w, const cq_xfer_t *x)
{
	for (unsigned s = 0; s < w->nworkers; s++) {
		uint32_t pid;
		uint64_t n = cq_qsbr_progress(s, &pid);
		if (pid == 0 || pid != x->grace_pid[s])
			continue; /* gone, or a new process since */
		if (n < x->grace_mark[s] + 2)
			return false;
	}
	return true;
}

/* Has each ring to us been seen empty after the grace period? */
static bool
drained(cq_worker_t *w, const cq_xfer_t *x)
{
	for (unsigned s = 0; s < w->nworkers; s++)
		if (w->empty_iter[s] <= x->grace_iter)
			return false;
	return true;
}

/* B is done: HANDOVER to the new owner, forget the session. */
static void
hand_over(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_xfer_t *x = ls->x;
	uint64_t last[CQ_MAX_WORKERS];
	unsigned n = w->nworkers;
	for (unsigned s = 0; s < n; s++) {
		last[s] = s == w->slot ? w->seq : w->last_seq[s];
		if (x->chained && x->chain_seq[s] > last[s])
			last[s] = x->chain_seq[s];
	}
	cq_rec_handover_t h = {
		.id_len = ls->id_len, .nslots = (uint16_t)n, .gen = x->new_gen};
	size_t len = sizeof(h) + n * sizeof(uint64_t) + ls->id_len;
	unsigned char *buf = malloc(len);
	if (buf != NULL) {
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), last, n * sizeof(uint64_t));
		memcpy(buf + sizeof(h) + n * sizeof(uint64_t), ls->id,
			ls->id_len);
		send_rec(w, x->moved_to, CQ_REC_HANDOVER, 0, buf, len, NULL, 0);
		free(buf);
	}
	cq_log(CQ_LOG_DEBUG, 0, "session %s: handed over to worker %u", ls->id,
		x->moved_to);
	cq_lsess_free(w, ls);
}

/* One session with a takeover in progress; may free it. */
static void
poll_one(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_xfer_t *x = ls->x;
	if (x->hold_from != NONE &&
		w->now_ms - x->hold_since_ms > HANDOVER_TIMEOUT_MS) {
		cq_log(CQ_LOG_WARN, 0,
			"session %s: no handover from worker %u within %u s; "
			"going on without it",
			ls->id, x->hold_from, HANDOVER_TIMEOUT_MS / 1000);
		hold_done(w, ls, NULL, 0);
		return;
	}
	if (!x->moving)
		return;
	if (!x->kicked) {
		if (w->now_ms - x->moving_since_ms > KICK_TIMEOUT_MS) {
			uint64_t st = cq_session_state(ls->sess);
			kicked(w, ls, cq_session_word_owner(st),
				cq_session_word_gen(st));
		}
		return;
	}
	if (x->grace_iter == 0 && grace_over(w, x))
		x->grace_iter = w->iter;
	bool late = w->now_ms - x->moving_since_ms > DRAIN_TIMEOUT_MS;
	if (x->hold_from != NONE && !late)
		return;
	if ((x->grace_iter != 0 && drained(w, x)) || late) {
		if (late)
			cq_log(CQ_LOG_WARN, 0,
				"session %s: handing over to worker %u after "
				"%u s without a full grace period",
				ls->id, x->moved_to, DRAIN_TIMEOUT_MS / 1000);
		if (x->hold_from != NONE)
			hold_done(w, ls, NULL, 0);
		if (ls->x != NULL)
			hand_over(w, ls);
	}
}

void
cq_takeover_poll(cq_worker_t *w)
{
	if (out_head != NULL)
		outbox_flush();
	cq_lsess_t *next;
	for (cq_lsess_t *ls = w->moving; ls != NULL; ls = next) {
		next = ls->moving_next;
		poll_one(w, ls);
	}
}
