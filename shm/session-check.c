/*
 * session-check.c — the session table's checker.
 *
 * Validates the table (I1: offsets, homes, no EMPTY between a key's home
 * and its slot, one live session per client id is left to the probe
 * discipline), every session object (magic, hash of its id, state word,
 * owner within the configured workers) and its contents (bounds of the
 * subscription records, window, id table and queue), recounts 'count'
 * (I8, repaired when quiescent), and — quiescent only — marks every
 * object for the arena and declares every message reference a session
 * holds (window entries, queued messages, will) to the message census.
 * Parked sessions (I6) still own their contents and are checked likewise.
 *
 * Cross-check with the route trie ("a recorded subscription is always
 * routed", the rule in session.h): in a quiescent check of the current
 * mapping, each subscription of a CONNECTED or DISCONNECTED session must
 * have its owner's bit in the route trie.  A worker killed between taking
 * over a session and re-adding its routes leaves it missing, so this is a
 * warning, not an error; the owner's replacement re-adds every route when
 * it rebuilds its private trie.  (The checker cannot add the route itself:
 * objects allocated during a check would be counted as leaks.)
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "core/log.h"
#include "shm/arena.h"
#include "shm/msg.h"
#include "shm/route.h"
#include "shm/session-int.h"

struct ck {
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	const sess_area_t *a;
	uint64_t live;
	unsigned owner;
	unsigned routes_missing;
};

static bool
msg_ok(struct ck *c, cq_off_t m)
{
	const cq_msg_t *msg = cq_off_ptr(c->shm->base, m);
	return cq_off_valid(c->shm->size, m, sizeof(*msg)) &&
		msg->magic == CQ_MSG_MAGIC;
}

/* Validate an optional object of at least 'size' bytes; mark it. */
static bool
obj_ok(struct ck *c, cq_off_t sess, cq_off_t o, size_t size, const char *what)
{
	if (!cq_off_valid(c->shm->size, o, size)) {
		cq_shm_check_error(c->rep, "session",
			"session %#x: %s %#x out of bounds", sess, what, o);
		return false;
	}
	cq_arena_mark(c->shm, c->rep, o);
	return true;
}

static void
declare(struct ck *c, cq_off_t sess, cq_off_t m)
{
	if (!msg_ok(c, m)) {
		cq_shm_check_error(c->rep, "session",
			"session %#x: message %#x is not a message", sess, m);
		return;
	}
	cq_msg_census_add(c->shm, c->rep, m, 1);
}

static void
route_sub(void *arg, const char *filter, size_t len, const cq_subopts_t *o)
{
	struct ck *c = arg;
	(void)o;
	if (cq_route_has(filter, len, c->owner))
		return;
	c->routes_missing++;
}

static void
check_subs(struct ck *c, cq_off_t sess, cq_off_t o)
{
	const sess_subs_t *l = cq_off_ptr(c->shm->base, o);
	if (!cq_off_valid(c->shm->size, o, sizeof(*l)) ||
		!obj_ok(c, sess, o, sizeof(*l) + l->bytes, "subscriptions"))
		return;
	uint32_t n = 0, b = 0;
	while (b < l->bytes) {
		const sess_sub_rec_t *r = (const void *)(l->rec + b);
		size_t rs = (sizeof(*r) + r->len + 7) & ~(size_t)7;
		if (r->len == 0 || r->qos > 2 || b + rs > l->bytes)
			break;
		b += (uint32_t)rs;
		n++;
	}
	if (b != l->bytes || n != l->n)
		cq_shm_check_error(c->rep, "session",
			"session %#x: subscription records corrupt", sess);
}

static void
check_inflight(struct ck *c, cq_off_t sess, const sess_obj_t *s)
{
	const sess_inflight_t *f = cq_off_ptr(c->shm->base, s->inflight);
	if (!cq_off_valid(c->shm->size, s->inflight, sizeof(*f)) ||
		f->cap != s->inflight_max ||
		!obj_ok(c, sess, s->inflight, sizeof(*f) + (size_t)f->cap * 12,
			"inflight window"))
		return;
	for (uint32_t i = 0; i < f->cap; i++) {
		uint64_t e = f->e[i];
		unsigned st = (unsigned)(e >> 48) & 0xffu;
		if (e == 0)
			continue;
		if (st < CQ_INFLIGHT_PUBACK || st > CQ_INFLIGHT_PUBCOMP ||
			(uint16_t)(e >> 32) == 0)
			cq_shm_check_error(c->rep, "session",
				"session %#x: inflight entry %u corrupt", sess,
				i);
		else if ((cq_off_t)e != CQ_OFF_NULL)
			declare(c, sess, (cq_off_t)e);
	}
}

static void
check_queue(struct ck *c, cq_off_t sess, const sess_obj_t *s)
{
	const sess_queue_t *q = cq_off_ptr(c->shm->base, s->queue);
	if (!cq_off_valid(c->shm->size, s->queue, sizeof(*q)) ||
		q->cap != s->queue_max ||
		!obj_ok(c, sess, s->queue, sizeof(*q) + (size_t)q->cap * 4,
			"queue"))
		return;
	if (q->tail - q->head > q->cap) {
		cq_shm_check_error(
			c->rep, "session", "session %#x: queue corrupt", sess);
		return;
	}
	for (uint32_t i = q->head; i != q->tail; i++)
		declare(c, sess, q->slot[i % q->cap]);
}

static void
check_contents(
	cq_shm_t *shm, cq_shm_report_t *rep, cq_off_t off, const sess_obj_t *s)
{
	struct ck c = {.shm = shm, .rep = rep};
	if (s->subs != CQ_OFF_NULL)
		check_subs(&c, off, s->subs);
	if (s->inflight != CQ_OFF_NULL)
		check_inflight(&c, off, s);
	if (s->queue != CQ_OFF_NULL)
		check_queue(&c, off, s);
	if (s->qos2 != CQ_OFF_NULL) {
		const sess_qos2_t *q = cq_off_ptr(shm->base, s->qos2);
		if (cq_off_valid(shm->size, s->qos2, sizeof(*q)))
			obj_ok(&c, off, s->qos2,
				sizeof(*q) + (size_t)q->cap * 2, "QoS 2 ids");
		else
			cq_shm_check_error(rep, "session",
				"session %#x: QoS 2 ids out of bounds", off);
	}
	if (s->will != CQ_OFF_NULL)
		declare(&c, off, s->will);
}

/* One session object reached from the table (or the parked list). */
static void
check_session(struct ck *c, cq_off_t off, bool parked)
{
	const sess_obj_t *s = cq_off_ptr(c->shm->base, off);
	if (!cq_off_valid(c->shm->size, off, SESS_OBJ_SIZE(0)) ||
		!cq_off_valid(c->shm->size, off, SESS_OBJ_SIZE(s->id_len)) ||
		s->magic != SESS_MAGIC) {
		cq_shm_check_error(
			c->rep, "session", "session %#x is not a session", off);
		return;
	}
	cq_arena_mark(c->shm, c->rep, off);
	uint64_t w = s->state;
	unsigned st = cq_session_word_state(w);
	unsigned owner = cq_session_word_owner(w);
	if (st < CQ_SESSION_CONNECTED || st > CQ_SESSION_EXPIRED ||
		(owner != CQ_SESSION_OWNER_NONE && owner >= c->a->nworkers))
		cq_shm_check_error(c->rep, "session",
			"session %#x: state word %#llx corrupt", off,
			(unsigned long long)w);
	if (parked != (st == CQ_SESSION_EXPIRED))
		cq_log(CQ_LOG_NOTICE, 0,
			"session %#x: %s session %s (a writer died midway)",
			off, st == CQ_SESSION_EXPIRED ? "expired" : "live",
			parked ? "parked" : "in the table");
	c->live += st != CQ_SESSION_EXPIRED && !parked;
	check_contents(c->shm, c->rep, off, s);
	if (!parked && st != CQ_SESSION_EXPIRED && owner < c->a->nworkers &&
		s->subs != CQ_OFF_NULL && cq_shm_check_quiescent(c->rep) &&
		cq_shm_current() != NULL &&
		cq_shm_current()->base == c->shm->base) {
		c->owner = owner;
		cq_session_subs_foreach(off, route_sub, c);
	}
}

/* I1 for the live slot i: its home is at or before it, no EMPTY between. */
static void
check_slot(struct ck *c, const uint64_t *slots, uint32_t i)
{
	uint64_t w = slots[i];
	cq_off_t off = (cq_off_t)w;
	const sess_obj_t *s = cq_off_ptr(c->shm->base, off);
	if (!cq_off_valid(c->shm->size, off, SESS_OBJ_SIZE(0)) ||
		!cq_off_valid(c->shm->size, off, SESS_OBJ_SIZE(s->id_len))) {
		cq_shm_check_error(c->rep, "session",
			"slot %u: offset %#x out of bounds", i, off);
		return;
	}
	/* The tag must be the high half of the id's hash (a corrupt id
	 * shows here too), and the slot reachable from the home. */
	uint64_t hash = cq_session_hash(s->id, s->id_len, c->a->seed);
	uint32_t home = sess_home(c->a, hash);
	bool gap = home > i || (w >> 32) != (hash >> 32);
	for (uint32_t j = home; !gap && j < i; j++)
		gap = slots[j] == 0;
	if (gap)
		cq_shm_check_error(c->rep, "session",
			"slot %u: session %#x unreachable from its home", i,
			off);
	check_session(c, off, false);
}

void
cq_session_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	sess_area_t *a = area;
	if (a->magic != SESS_AREA_MAGIC || a->cap == 0 ||
		(a->cap & (a->cap - 1)) != 0 || a->nslots < a->cap ||
		a->nworkers > CQ_MAX_WORKERS) {
		cq_shm_check_error(rep, "session", "area header corrupt");
		return;
	}
	struct ck c = {.shm = shm, .rep = rep, .a = a};
	const uint64_t *slots = sess_slots(a);
	/* Stripe by stripe under its lock: the checker is no QSBR reader,
	 * and a held stripe keeps its sessions from being unlinked (and
	 * freed) under it. */
	for (uint32_t st = 0; st < a->nstripes; st++) {
		cq_mutex_t *mx = &sess_stripes(a)[st].lock;
		if (cq_mutex_lock(mx) == CQ_LOCK_RECOVERED)
			sess_stripes(a)[st].recoveries++;
		uint32_t end = (st + 1) << a->stripe_log;
		for (uint32_t i = st << a->stripe_log; i < end && i < a->nslots;
			i++)
			if (sess_slot_live(slots[i]))
				check_slot(&c, slots, i);
		cq_mutex_unlock(mx);
	}
	if (cq_mutex_lock(&a->zlock) == CQ_LOCK_RECOVERED)
		a->zrecoveries++;
	uint32_t nz = 0;
	for (cq_off_t z = a->zombies; z != CQ_OFF_NULL && nz <= a->nzombies;
		z = ((const sess_obj_t *)cq_off_ptr(shm->base, z))
			    ->zombie_next) {
		check_session(&c, z, true);
		nz++;
		if (!cq_off_valid(shm->size, z, SESS_OBJ_SIZE(0)))
			break;
	}
	if (nz != a->nzombies && cq_shm_check_quiescent(rep)) {
		a->nzombies = nz;
		rep->repaired++;
	}
	cq_mutex_unlock(&a->zlock);
	if (c.routes_missing > 0)
		cq_log(CQ_LOG_WARN, 0,
			"session check: %u subscriptions were not in the route "
			"trie (their owners re-add them on respawn)",
			c.routes_missing);
	if (c.live != a->count && cq_shm_check_quiescent(rep)) {
		a->count = c.live;
		rep->repaired++;
	}
}
