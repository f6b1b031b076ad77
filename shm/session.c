/*
 * session.c — the shared session table (see session.h): the hash table,
 * the state word, ownership changes, expiry, the reaper.  The contents
 * (subscriptions, windows, queue, will) are in session-data.c, the
 * checker in session-check.c.
 *
 * Table: 'nslots' 64-bit slots {client-id hash (high 32 bits), session
 * offset}, linear probing from a home slot given by the hash's high bits,
 * no wrap-around (a tail follows the home range), deletes leave
 * tombstones; the slots are cut into stripes of contiguous slots, each with
 * a robust mutex.
 *
 * Invariants:
 *   I1 a slot is EMPTY (0), a TOMBSTONE (offset 1) or live; a live slot
 *      sits at or after its key's home with no EMPTY slot in between; a
 *      client id has at most one live slot whose session is not EXPIRED.
 *   I2 a session's state word {state:4, owner:8, gen:52} changes only by
 *      CAS; every change of owner and every transition to EXPIRED bumps
 *      the generation; CONNECTED <-> DISCONNECTED by the owner keeps it.
 *   I3 the contents (fields marked (W) in session-int.h, and the objects
 *      they name) are written only inside a write section: wbegin stores
 *      {slot, gen} in the session's writer word, issues a full fence, and
 *      proceeds only if the state word still carries 'gen'; wend clears
 *      the writer word.  Sections are short and never block.
 *   I4 whoever changes the generation (a CAS: a full barrier) reads or
 *      releases the contents only after cq_session_fence() finds no
 *      section of an older generation open.  Dekker's argument: either the
 *      writer's state check saw the new generation and it backed out, or
 *      the changer sees its writer word and waits — a slow old owner can
 *      never write into a session that has moved on, and its last section
 *      happens before the new owner's first read.
 *   I5 slots change only under the stripe locks covering [home, position]
 *      of the key, taken in ascending order (no deadlock, no wrap-around);
 *      every operation on a key takes its home's stripe first, so opens
 *      and deletes of one client id are serialised.  A tombstone becomes
 *      EMPTY only when the slot after it is EMPTY and both stripes are
 *      held, which keeps I1 for every key that might probe through it.
 *   I6 a deleted session leaves the table under I5; its contents and
 *      object are released only after I4's fence; until then it is parked
 *      on the zombie list (zombie lock), released by cq_session_reclaim().
 *   I7 every content change is one store (a word naming a new
 *      copy-on-write object, an inflight entry, a queue counter, a QoS 2
 *      id, a subscription's DELETED flag), so a writer killed between two
 *      stores leaves a consistent session, at worst with a message
 *      reference that the checker's census finds leaked.  One change is
 *      two stores, window entry then queue head
 *      (cq_session_queue_to_window): a writer killed between them leaves
 *      the message in both with one reference, which the reaper repairs
 *      (the head moves on) before the session can move on.
 *   I8 'count' is the number of live, non-EXPIRED sessions: raised by the
 *      creator, lowered by whoever CASes one to EXPIRED.
 *
 * Crash: a process killed holding stripe locks leaves I1 intact (a slot is
 * one store); the next locker gets CQ_LOCK_RECOVERED.  A process killed in
 * a write section leaves its writer word set: the reaper repairs the one
 * two-store change (a queued message moved to the window: the queue's
 * head moves on, sess_repair_section) and then clears the writer words of
 * its slot.  The reaper also marks the dead slot's sessions
 * DISCONNECTED with a new generation, so its replacement (same slot)
 * resumes them (cq_session_foreach) and nothing the dead one began writes.
 */
#include "config.h"

#include "shm/session.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "core/assert.h"
#include "core/log.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/session-int.h"
#include "shm/trie.h"

sess_area_t *cq_session_area;

uint64_t
cq_session_hash(const char *id, size_t len, uint64_t seed)
{
	uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * (len + 1));
	for (size_t i = 0; i < len; i++) {
		h = (h ^ (unsigned char)id[i]) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

/* ---- stripes (I5) -------------------------------------------------- */

struct held {
	uint32_t lo, hi; /* stripes [lo, hi] are locked */
};

static void
stripe_lock(uint32_t i)
{
	sess_stripe_t *st = &sess_stripes(cq_session_area)[i];
	if (cq_mutex_lock(&st->lock) == CQ_LOCK_RECOVERED) {
		st->recoveries++;
		cq_log(CQ_LOG_NOTICE, 0,
			"session stripe %u: recovered the lock of a dead "
			"writer",
			i);
	}
	CQ_CRASHPOINT("session.locked");
}

static void
hold_from(struct held *h, uint32_t slot)
{
	h->lo = h->hi = slot >> cq_session_area->stripe_log;
	stripe_lock(h->lo);
}

/* Extend the held range up to the stripe of 'slot' (ascending). */
static void
hold_upto(struct held *h, uint32_t slot)
{
	uint32_t s = slot >> cq_session_area->stripe_log;
	while (h->hi < s)
		stripe_lock(++h->hi);
}

static void
hold_release(struct held *h)
{
	for (uint32_t s = h->lo; s <= h->hi; s++)
		cq_mutex_unlock(&sess_stripes(cq_session_area)[s].lock);
}

static void
slot_store(uint32_t i, uint64_t w)
{
	__atomic_store_n(&sess_slots(cq_session_area)[i], w, __ATOMIC_RELEASE);
}

/* The slot's tag matched the high half of the hash already. */
static bool
id_eq(const sess_obj_t *s, const char *id, size_t len)
{
	return s->id_len == len && memcmp(s->id, id, len) == 0;
}

/*
 * Under the stripes of h (extended as it goes): the slot holding the
 * key's session (*found_r), or where it can go (first tombstone, else the
 * first EMPTY).  UINT32_MAX: no room.
 */
static uint32_t
probe_locked(struct held *h, uint64_t hash, const char *id, size_t len,
	bool *found_r)
{
	sess_area_t *a = cq_session_area;
	uint64_t *slots = sess_slots(a);
	uint32_t free_at = UINT32_MAX;
	*found_r = false;
	for (uint32_t i = sess_home(a, hash); i < a->nslots; i++) {
		hold_upto(h, i);
		uint64_t w = slots[i];
		if (w == 0)
			return free_at != UINT32_MAX ? free_at : i;
		if (!sess_slot_live(w)) {
			if (free_at == UINT32_MAX)
				free_at = i;
			continue;
		}
		if ((w >> 32) == (hash >> 32) &&
			id_eq(sess_obj((cq_off_t)w), id, len)) {
			*found_r = true;
			return i;
		}
	}
	return free_at;
}

/* Tombstone slot i (held); then empty trailing tombstones (I5). */
static void
slot_delete_locked(struct held *h, uint32_t i)
{
	sess_area_t *a = cq_session_area;
	uint64_t *slots = sess_slots(a);
	slot_store(i, (slots[i] & ~UINT64_C(0xffffffff)) | SESS_TOMB);
	if (i + 1 < a->nslots) {
		hold_upto(h, i + 1);
		if (slots[i + 1] != 0)
			return;
	}
	uint32_t lo = h->lo << a->stripe_log;
	for (uint32_t j = i + 1;
		j-- > lo && slots[j] != 0 && !sess_slot_live(slots[j]);)
		slot_store(j, 0);
}

/* Lock from the home of o's client id and probe (probe_locked); the
 * caller releases h. */
static uint32_t
lock_probe(struct held *h, const cq_session_open_t *o, uint64_t *hash_r,
	bool *found_r)
{
	sess_area_t *a = cq_session_area;
	*hash_r = cq_session_hash(o->client_id, o->id_len, a->seed);
	hold_from(h, sess_home(a, *hash_r));
	return probe_locked(h, *hash_r, o->client_id, o->id_len, found_r);
}

/* ---- objects ------------------------------------------------------- */

static cq_off_t
obj_new(const cq_session_open_t *o, uint64_t state)
{
	if (o->id_len > UINT16_MAX) {
		errno = EINVAL; /* an MQTT string is shorter */
		return CQ_OFF_NULL;
	}
	cq_off_t off = cq_arena_zalloc(SESS_OBJ_SIZE(o->id_len));
	if (off == CQ_OFF_NULL)
		return CQ_OFF_NULL;
	sess_obj_t *s = sess_obj(off);
	s->magic = SESS_MAGIC;
	s->id_len = (uint16_t)o->id_len;
	s->state = state;
	s->expiry_interval = o->expiry_interval;
	s->protocol = o->protocol;
	s->inflight_max = o->inflight_max ? o->inflight_max : 1;
	s->qos2_max = o->qos2_max ? o->qos2_max : 1;
	s->queue_max = o->queue_max;
	memcpy(s->id, o->client_id, o->id_len);
	return off;
}

int
cq_session_fence(cq_off_t sess, uint64_t gen)
{
	const sess_obj_t *s = sess_obj(sess);
	uint64_t w = __atomic_load_n(&s->writer, __ATOMIC_SEQ_CST);
	if (w != 0 && cq_session_word_gen(w) < gen)
		return CQ_AGAIN;
	/* The previous owner said its last word: the new one adopts. */
	sess_ev_adopt(sess, gen);
	return 0;
}

sess_obj_t *
cq_session_wbegin(cq_off_t sess, uint64_t gen)
{
	sess_obj_t *s = sess_obj(sess);
	__atomic_store_n(&s->writer, sess_writer_word(cq_shm_slot, gen),
		__ATOMIC_SEQ_CST);
	uint64_t st = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
	if (cq_session_word_gen(st) != gen ||
		cq_session_word_state(st) == CQ_SESSION_EXPIRED) {
		__atomic_store_n(&s->writer, 0, __ATOMIC_RELEASE);
		errno = ESTALE;
		return NULL;
	}
	return s;
}

void
cq_session_wend(sess_obj_t *s)
{
	__atomic_store_n(&s->writer, 0, __ATOMIC_RELEASE);
}

/* Release s (just made EXPIRED with generation gen) now or park it. */
static void
release_or_park(cq_off_t off, uint64_t gen)
{
	sess_area_t *a = cq_session_area;
	sess_obj_t *s = sess_obj(off);
	/* Its removal is reported before anything is released; when the
	 * ring cannot take it now, it is parked and tried again. */
	if (cq_session_fence(off, gen) == 0 && sess_ev_ended(s)) {
		cq_session_release_contents(s);
		cq_qsbr_retire(off);
		return;
	}
	if (cq_mutex_lock(&a->zlock) == CQ_LOCK_RECOVERED)
		a->zrecoveries++;
	s->zombie_next = a->zombies;
	cq_off_publish(&a->zombies, off);
	a->nzombies++;
	cq_mutex_unlock(&a->zlock);
}

/* CAS 'expect' -> EXPIRED (gen + 1).  true when this call did it. */
static bool
mark_expired(sess_obj_t *s, uint64_t expect)
{
	uint64_t next = cq_session_word(CQ_SESSION_EXPIRED,
		cq_session_word_owner(expect), cq_session_word_gen(expect) + 1);
	if (!__atomic_compare_exchange_n(&s->state, &expect, next, false,
		    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return false;
	__atomic_sub_fetch(&cq_session_area->count, 1, __ATOMIC_RELAXED);
	return true;
}

/* ---- open ---------------------------------------------------------- */

/* Take over the existing session at slot i: CAS to CONNECTED by us. */
static int
takeover(cq_off_t off, cq_session_ref_t *r)
{
	sess_obj_t *s = sess_obj(off);
	uint64_t w = sess_load_state(s);
	for (;;) {
		if (cq_session_word_state(w) == CQ_SESSION_EXPIRED)
			return -1; /* lost to an expiry: create anew */
		uint64_t next = cq_session_word(CQ_SESSION_CONNECTED,
			cq_shm_slot, cq_session_word_gen(w) + 1);
		if (__atomic_compare_exchange_n(&s->state, &w, next, false,
			    __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
			break;
	}
	r->sess = off;
	r->gen = cq_session_word_gen(w) + 1;
	r->present = 1;
	r->prev_state = (uint8_t)cq_session_word_state(w);
	r->prev_owner = (uint16_t)cq_session_word_owner(w);
	r->prev_gen = cq_session_word_gen(w);
	return 0;
}

/* Put a new session at slot i (held), replacing what is there. */
static int
create_at(const cq_session_open_t *o, uint64_t hash, uint32_t i,
	uint64_t first_gen, cq_session_ref_t *r)
{
	sess_area_t *a = cq_session_area;
	if (__atomic_load_n(&a->count, __ATOMIC_RELAXED) >= a->max_sessions) {
		errno = ENOSPC;
		return -1;
	}
	uint64_t state = cq_session_word(
		CQ_SESSION_CONNECTED, cq_shm_slot, first_gen);
	cq_off_t off = obj_new(o, state);
	if (off == CQ_OFF_NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (sess_ev_created(sess_obj(off)) < 0) {
		cq_arena_free(off); /* never published */
		errno = ENOBUFS;
		return -1;
	}
	CQ_CRASHPOINT("session.built");
	slot_store(i, sess_slot_word(hash, off));
	__atomic_add_fetch(&a->count, 1, __ATOMIC_RELAXED);
	r->sess = off;
	r->gen = first_gen;
	return 0;
}

/* The existing session old (slot i, held) makes way for a fresh one; the
 * old one ends, even if no new one can be made. */
static int
replace_at(const cq_session_open_t *o, uint64_t hash, struct held *h,
	uint32_t i, cq_off_t old, cq_session_ref_t *r)
{
	sess_obj_t *s = sess_obj(old);
	uint64_t w = sess_load_state(s);
	while (cq_session_word_state(w) != CQ_SESSION_EXPIRED &&
		!mark_expired(s, w))
		w = sess_load_state(s);
	bool was_live = cq_session_word_state(w) != CQ_SESSION_EXPIRED;
	int rc = create_at(o, hash, i, cq_session_word_gen(w) + 2, r);
	if (rc < 0)
		slot_delete_locked(h, i);
	if (!was_live)
		return rc; /* its expirer releases it */
	r->prev_state = (uint8_t)cq_session_word_state(w);
	r->prev_owner = (uint16_t)cq_session_word_owner(w);
	r->prev_gen = cq_session_word_gen(w);
	/* The old session ended: its will goes to the caller to publish
	 * (MQTT 5.0 §3.1.2.5, §3.1.4). */
	r->prev_will = __atomic_exchange_n(
		&s->will, CQ_OFF_NULL, __ATOMIC_ACQ_REL);
	release_or_park(old, cq_session_word_gen(w) + 1);
	return rc;
}

int
cq_session_open(const cq_session_open_t *o, cq_session_ref_t *r)
{
	sess_area_t *a = cq_session_area;
	memset(r, 0, sizeof(*r));
	r->prev_owner = CQ_SLOT_NONE;
	if (a == NULL || o->id_len > 65535 || cq_shm_slot >= a->nworkers) {
		errno = EINVAL;
		return -1;
	}
	uint64_t hash;
	struct held h;
	bool found;
	uint32_t i = lock_probe(&h, o, &hash, &found);
	int rc;
	if (i == UINT32_MAX) {
		errno = ENOSPC;
		rc = -1;
	} else if (!found)
		rc = create_at(o, hash, i, 1, r);
	else {
		cq_off_t old = (cq_off_t)sess_slots(a)[i];
		if (o->clean_start || takeover(old, r) < 0)
			rc = replace_at(o, hash, &h, i, old, r);
		else
			rc = 0;
	}
	hold_release(&h);
	return rc;
}

int
cq_session_restore(const cq_session_restore_t *rs, cq_off_t *sess_r)
{
	sess_area_t *a = cq_session_area;
	const cq_session_open_t *o = &rs->o;
	if (a == NULL || o->id_len > 65535 || rs->owner >= a->nworkers) {
		errno = EINVAL;
		return -1;
	}
	uint64_t hash;
	struct held h;
	bool found;
	uint32_t i = lock_probe(&h, o, &hash, &found);
	int rc = -1;
	cq_off_t off = CQ_OFF_NULL;
	if (found)
		errno = EEXIST;
	else if (i == UINT32_MAX ||
		__atomic_load_n(&a->count, __ATOMIC_RELAXED) >= a->max_sessions)
		errno = ENOSPC;
	else if ((off = obj_new(o,
			  cq_session_word(CQ_SESSION_DISCONNECTED, rs->owner,
				  1))) == CQ_OFF_NULL)
		errno = ENOMEM;
	else {
		sess_obj_t *s = sess_obj(off);
		s->deadline = rs->deadline;
		s->pinc = rs->inc;
		slot_store(i, sess_slot_word(hash, off));
		__atomic_add_fetch(&a->count, 1, __ATOMIC_RELAXED);
		*sess_r = off;
		rc = 0;
	}
	hold_release(&h);
	return rc;
}

/* ---- lookups ------------------------------------------------------- */

cq_off_t
cq_session_lookup(const char *id, size_t len, uint64_t *state_r)
{
	sess_area_t *a = cq_session_area;
	uint64_t hash = cq_session_hash(id, len, a->seed);
	const uint64_t *slots = sess_slots(a);
	for (uint32_t i = sess_home(a, hash); i < a->nslots; i++) {
		uint64_t w = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
		if (w == 0)
			break;
		if (!sess_slot_live(w) || (w >> 32) != (hash >> 32))
			continue;
		const sess_obj_t *s = sess_obj((cq_off_t)w);
		if (!id_eq(s, id, len))
			continue;
		uint64_t st = sess_load_state(s);
		if (cq_session_word_state(st) == CQ_SESSION_EXPIRED)
			break;
		if (state_r != NULL)
			*state_r = st;
		return (cq_off_t)w;
	}
	return CQ_OFF_NULL;
}

uint64_t
cq_session_state(cq_off_t sess)
{
	return sess_load_state(sess_obj(sess));
}

const char *
cq_session_client_id(cq_off_t sess, size_t *len_r)
{
	const sess_obj_t *s = sess_obj(sess);
	*len_r = s->id_len;
	return s->id;
}

uint8_t
cq_session_protocol(cq_off_t sess)
{
	return sess_obj(sess)->protocol;
}

/* ---- disconnect and expiry ----------------------------------------- */

int
cq_session_disconnect(cq_off_t sess, uint64_t gen, uint64_t now)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	uint32_t iv = s->expiry_interval;
	uint64_t w = sess_load_state(s);
	uint64_t next = cq_session_word(CQ_SESSION_DISCONNECTED,
		cq_session_word_owner(w), cq_session_word_gen(w));
	bool ok = cq_session_word_state(w) == CQ_SESSION_CONNECTED &&
		cq_session_word_gen(w) == gen;
	if (ok) {
		/* The deadline first: whoever sees DISCONNECTED sees it. */
		s->deadline = iv == CQ_SESSION_NEVER ? 0 : now + iv;
		ok = __atomic_compare_exchange_n(&s->state, &w, next, false,
			__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	if (ok && iv != 0)
		sess_ev_meta(s); /* a zero interval ends it: DEL follows */
	cq_session_wend(s);
	if (!ok) {
		errno = ESTALE;
		return -1;
	}
	return iv == 0;
}

int
cq_session_set_expiry(cq_off_t sess, uint64_t gen, uint32_t interval)
{
	sess_obj_t *s = cq_session_wbegin(sess, gen);
	if (s == NULL)
		return -1;
	s->expiry_interval = interval;
	sess_ev_meta(s);
	cq_session_wend(s);
	return 0;
}

/* Take 'off' out of the table (if its slot still names it). */
static void
unlink_session(cq_off_t off)
{
	sess_area_t *a = cq_session_area;
	const sess_obj_t *s = sess_obj(off);
	struct held h;
	uint32_t i = sess_home(a, cq_session_hash(s->id, s->id_len, a->seed));
	hold_from(&h, i);
	for (; i < a->nslots; i++) {
		hold_upto(&h, i);
		uint64_t w = sess_slots(a)[i];
		if (w == 0)
			break;
		if ((cq_off_t)w == off) {
			CQ_CRASHPOINT("session.unlinking");
			slot_delete_locked(&h, i);
			break;
		}
	}
	hold_release(&h);
}

int
cq_session_expire(
	cq_off_t sess, uint64_t gen, uint64_t now, int force, cq_off_t *will_r)
{
	sess_obj_t *s = sess_obj(sess);
	uint64_t w = sess_load_state(s);
	*will_r = CQ_OFF_NULL;
	if (cq_session_word_state(w) != CQ_SESSION_DISCONNECTED ||
		cq_session_word_gen(w) != gen)
		return 0;
	if (!force && (s->deadline == 0 || now < s->deadline))
		return 0;
	if (!mark_expired(s, w))
		return 0; /* a reconnect or the reaper won */
	*will_r = __atomic_exchange_n(&s->will, CQ_OFF_NULL, __ATOMIC_ACQ_REL);
	unlink_session(sess);
	release_or_park(sess, gen + 1);
	return 1;
}

unsigned
cq_session_expire_due(uint64_t now, uint32_t *cursor, unsigned budget,
	cq_session_will_fn fn, void *arg)
{
	sess_area_t *a = cq_session_area;
	unsigned n = 0;
	uint32_t i = *cursor < a->nslots ? *cursor : 0;
	for (unsigned k = 0; k < budget && i < a->nslots; k++, i++) {
		uint64_t w = __atomic_load_n(
			&sess_slots(a)[i], __ATOMIC_ACQUIRE);
		if (!sess_slot_live(w))
			continue;
		const sess_obj_t *s = sess_obj((cq_off_t)w);
		uint64_t st = sess_load_state(s);
		cq_off_t will;
		if (cq_session_word_state(st) != CQ_SESSION_DISCONNECTED ||
			s->deadline == 0 || now < s->deadline)
			continue;
		if (cq_session_expire((cq_off_t)w, cq_session_word_gen(st), now,
			    0, &will) > 0) {
			n++;
			if (fn != NULL)
				fn(arg, (cq_off_t)w, will);
			else if (will != CQ_OFF_NULL)
				cq_msg_unref(will);
		}
	}
	*cursor = i < a->nslots ? i : 0;
	if (a->nzombies > 0)
		cq_session_reclaim();
	return n;
}

unsigned
cq_session_reclaim(void)
{
	sess_area_t *a = cq_session_area;
	unsigned n = 0;
	if (cq_mutex_lock(&a->zlock) == CQ_LOCK_RECOVERED)
		a->zrecoveries++;
	cq_off_t *link = &a->zombies;
	while (*link != CQ_OFF_NULL) {
		cq_off_t off = *link;
		sess_obj_t *s = sess_obj(off);
		uint64_t gen = cq_session_word_gen(sess_load_state(s));
		if (cq_session_fence(off, gen) != 0 || !sess_ev_ended(s)) {
			link = &s->zombie_next;
			continue;
		}
		cq_off_publish(link, s->zombie_next);
		a->nzombies--;
		cq_session_release_contents(s);
		cq_qsbr_retire(off);
		n++;
	}
	cq_mutex_unlock(&a->zlock);
	return n;
}

void
cq_session_foreach(unsigned slot, cq_session_fn fn, void *arg)
{
	sess_area_t *a = cq_session_area;
	for (uint32_t i = 0; i < a->nslots; i++) {
		uint64_t w = __atomic_load_n(
			&sess_slots(a)[i], __ATOMIC_ACQUIRE);
		if (!sess_slot_live(w))
			continue;
		uint64_t st = sess_load_state(sess_obj((cq_off_t)w));
		if (cq_session_word_state(st) == CQ_SESSION_EXPIRED)
			continue;
		if (slot == CQ_SLOT_NONE || cq_session_word_owner(st) == slot)
			fn(arg, (cq_off_t)w, st);
	}
}

void
cq_session_stats(cq_session_stats_t *s_r)
{
	sess_area_t *a = cq_session_area;
	memset(s_r, 0, sizeof(*s_r));
	if (a == NULL)
		return;
	s_r->sessions = __atomic_load_n(&a->count, __ATOMIC_RELAXED);
	s_r->capacity = a->max_sessions;
	s_r->zombies = a->nzombies;
	for (uint32_t i = 0; i < a->nstripes; i++)
		s_r->recoveries += sess_stripes(a)[i].recoveries;
}

/* ---- module -------------------------------------------------------- */

struct geometry {
	uint32_t cap, nslots, nstripes, stripe_log;
	size_t slots_byte, stripes_byte, size;
};

static void
geometry(const cq_shm_conf_t *conf, struct geometry *g)
{
	uint32_t want = conf->max_sessions ? conf->max_sessions : 1;
	g->cap = 16;
	while (g->cap < (uint64_t)want * 2 && g->cap < (1u << 30))
		g->cap *= 2;
	g->nslots = g->cap + g->cap / 8 + 8;
	/* At most 16384 stripes: enough to spread writers, bounded memory. */
	g->stripe_log = SESS_STRIPE_LOG;
	while ((g->nslots >> g->stripe_log) >= 16384)
		g->stripe_log++;
	g->nstripes = (g->nslots >> g->stripe_log) + 1;
	g->slots_byte = (sizeof(sess_area_t) + CQ_CACHELINE - 1) &
		~(size_t)(CQ_CACHELINE - 1);
	g->stripes_byte = g->slots_byte + (size_t)g->nslots * sizeof(uint64_t);
	g->stripes_byte = (g->stripes_byte + CQ_CACHELINE - 1) &
		~(size_t)(CQ_CACHELINE - 1);
	g->size = g->stripes_byte + (size_t)g->nstripes * sizeof(sess_stripe_t);
}

static size_t
sess_size(const cq_shm_conf_t *conf)
{
	struct geometry g;
	geometry(conf, &g);
	return g.size;
}

static int
sess_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	sess_area_t *a = area;
	struct geometry g;
	geometry(&shm->hdr->conf, &g);
	cq_assert(size >= g.size);
	a->magic = SESS_AREA_MAGIC;
	a->seed = cq_trie_new_seed();
	a->cap = g.cap;
	a->nslots = g.nslots;
	a->nstripes = g.nstripes;
	a->stripe_log = g.stripe_log;
	a->max_sessions = shm->hdr->conf.max_sessions;
	a->nworkers = shm->hdr->conf.workers;
	a->slots_byte = g.slots_byte;
	a->stripes_byte = g.stripes_byte;
	if (cq_mutex_init(&a->zlock) < 0)
		goto fail;
	for (uint32_t i = 0; i < a->nstripes; i++)
		if (cq_mutex_init(&sess_stripes(a)[i].lock) < 0)
			goto fail;
	return 0;
fail:
	*error_r = "session: cannot initialise a mutex";
	return -1;
}

static void
sess_use(cq_shm_t *shm, void *area, size_t size)
{
	(void)shm;
	(void)size;
	cq_session_area = area;
}

/* Clear what dead 'slot' left in s; CONNECTED/DISCONNECTED sessions it
 * owned get a new generation (its replacement resumes them). */
static void
reap_session(sess_obj_t *s, unsigned slot, uint64_t now)
{
	uint64_t ww = __atomic_load_n(&s->writer, __ATOMIC_ACQUIRE);
	if (ww != 0 && (ww >> 52) == ((slot + 1) & 0xffu)) {
		sess_repair_section(s);
		__atomic_store_n(&s->writer, 0, __ATOMIC_RELEASE);
	}
	uint64_t w = sess_load_state(s);
	for (;;) {
		unsigned st = cq_session_word_state(w);
		if (st == CQ_SESSION_EXPIRED ||
			cq_session_word_owner(w) != slot)
			return;
		if (st == CQ_SESSION_CONNECTED) {
			s->deadline = s->expiry_interval == CQ_SESSION_NEVER
				? 0
				: now + s->expiry_interval;
			/* The connection ended now: the will delay runs from
			 * here, not from the replacement's start. */
			if (s->will != CQ_OFF_NULL && s->will_due_ms == 0)
				s->will_due_ms = (now + s->will_delay) *
					UINT64_C(1000);
		}
		uint64_t next = cq_session_word(CQ_SESSION_DISCONNECTED, slot,
			cq_session_word_gen(w) + 1);
		if (__atomic_compare_exchange_n(&s->state, &w, next, false,
			    __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
			return;
	}
}

/* Lock stripe i for a walker that is no QSBR reader (the master): while
 * it is held, no session in its slots can be unlinked, so none is freed
 * under the walker.  Recovers a dead holder's lock as a side effect. */
static void
stripe_hold(sess_area_t *a, uint32_t i)
{
	sess_stripe_t *st = &sess_stripes(a)[i];
	if (cq_mutex_lock(&st->lock) == CQ_LOCK_RECOVERED)
		st->recoveries++;
}

static void
sess_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	(void)shm;
	sess_area_t *a = area;
	uint64_t now = (uint64_t)time(NULL);
	const uint64_t *slots = sess_slots(a);
	for (uint32_t st = 0; st < a->nstripes; st++) {
		stripe_hold(a, st);
		uint32_t end = (st + 1) << a->stripe_log;
		for (uint32_t i = st << a->stripe_log; i < end && i < a->nslots;
			i++)
			if (sess_slot_live(slots[i]))
				reap_session(sess_obj((cq_off_t)slots[i]), slot,
					now);
		cq_mutex_unlock(&sess_stripes(a)[st].lock);
	}
	if (cq_mutex_lock(&a->zlock) == CQ_LOCK_RECOVERED)
		a->zrecoveries++;
	for (cq_off_t z = a->zombies; z != CQ_OFF_NULL;
		z = sess_obj(z)->zombie_next)
		reap_session(sess_obj(z), slot, now);
	cq_mutex_unlock(&a->zlock);
}

const cq_shm_module_t cq_session_module = {
	.name = "session",
	.size = sess_size,
	.init = sess_init,
	.check = cq_session_check,
	.reap = sess_reap,
	.use = sess_use,
	.flags = CQ_SHM_MOD_MARKS,
};
