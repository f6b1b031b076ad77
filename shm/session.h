/*
 * session.h — the shared session table: client id -> session state.
 *
 * Every MQTT session lives in shm so that a worker crash loses only its TCP
 * connections: a fixed-capacity open-addressing table keyed by client id
 * (lock-free lookup; inserts and deletes under striped robust mutexes) of
 * session objects in the arena.  A session's 64-bit state word
 * {state, owner slot, generation} changes only by CAS; the generation is a
 * fencing token bumped at every ownership change (takeover, worker death,
 * expiry), and the owner writes the session's contents only inside a write
 * section opened under its generation (see session.c for the protocol).
 *
 * Contents: client id, protocol version, session expiry interval and the
 * deadline while disconnected, will message and will delay, subscriptions
 * (filter, options, subscription id), the outbound QoS 1/2 inflight window,
 * inbound QoS 2 packet ids awaiting PUBREL, the bounded offline queue, the
 * next packet id.  Message offsets come from shm/msg.h; the session owns
 * one reference for each it holds.
 *
 * Every function taking (sess, gen) is for the owner: it returns -1 with
 * errno ESTALE when the session has moved to another generation (taken
 * over, expired, reaped) — the caller then drops its connection's claim.
 * Session offsets and pointers read here are valid until the caller's next
 * QSBR quiescent point; keep the offset and re-check with
 * cq_session_state() after one.
 */
#ifndef CQ_SHM_SESSION_H
#define CQ_SHM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"
#include "shm/session-t.h"

/* Session states (state word bits 60..63). */
#define CQ_SESSION_CONNECTED    1u
#define CQ_SESSION_DISCONNECTED 2u
#define CQ_SESSION_EXPIRED      3u /* being deleted: invisible */

#define CQ_SESSION_OWNER_NONE   0xffu
#define CQ_SESSION_GEN_MASK     ((UINT64_C(1) << 52) - 1)

static inline unsigned
cq_session_word_state(uint64_t w)
{
	return (unsigned)(w >> 60);
}

static inline unsigned
cq_session_word_owner(uint64_t w)
{
	return (unsigned)(w >> 52) & 0xffu;
}

static inline uint64_t
cq_session_word_gen(uint64_t w)
{
	return w & CQ_SESSION_GEN_MASK;
}

static inline uint64_t
cq_session_word(unsigned state, unsigned owner, uint64_t gen)
{
	return (uint64_t)state << 60 | (uint64_t)(owner & 0xffu) << 52 |
		(gen & CQ_SESSION_GEN_MASK);
}

/* Expiry interval meaning "never" (MQTT 5 0xFFFFFFFF). */
#define CQ_SESSION_NEVER UINT32_MAX

/* Inflight entry states (outbound QoS 1/2). */
#define CQ_INFLIGHT_PUBACK  1u /* QoS 1 PUBLISH sent, awaiting PUBACK */
#define CQ_INFLIGHT_PUBREC  2u /* QoS 2 PUBLISH sent, awaiting PUBREC */
#define CQ_INFLIGHT_PUBCOMP 3u /* PUBREL sent, awaiting PUBCOMP */

typedef struct cq_session_open {
	const char *client_id;
	size_t id_len;
	uint8_t protocol; /* 3 (3.1), 4 (3.1.1) or 5 */
	uint8_t clean_start;
	uint32_t expiry_interval; /* seconds; CQ_SESSION_NEVER */
	uint16_t inflight_max; /* outbound window (client Receive Maximum) */
	uint16_t qos2_max; /* inbound QoS 2 ids (server Receive Maximum) */
	uint32_t queue_max; /* offline queue capacity (messages) */
} cq_session_open_t;

typedef struct cq_session_ref {
	cq_off_t sess; /* the session object */
	uint64_t gen; /* the generation the new owner writes under */
	uint8_t present; /* resumed an existing session (Session Present) */
	uint8_t prev_state; /* previous state; CONNECTED: kick prev_owner */
	uint16_t prev_owner; /* previous owner slot, or CQ_SLOT_NONE */
	uint64_t prev_gen;
	cq_off_t prev_will; /* clean start ended a session: its will (a
			       reference the caller publishes), or NULL */
} cq_session_ref_t;

/* One outbound inflight message (cq_session_inflight_list). */
typedef struct cq_inflight {
	cq_off_t msg; /* CQ_OFF_NULL once PUBREC released it */
	uint16_t pid;
	uint8_t state; /* CQ_INFLIGHT_* */
	uint32_t seq; /* send order */
} cq_inflight_t;

typedef struct cq_session_stats {
	uint64_t sessions;
	uint64_t capacity;
	uint64_t zombies; /* deleted, contents waiting for a writer */
	uint64_t recoveries;
} cq_session_stats_t;

/*
 * CONNECT: create the session of o->client_id, or take it over (CAS of the
 * state word to CONNECTED by this slot, generation + 1).  With clean_start
 * an existing session is replaced by a fresh one (present = 0; the old one
 * is deleted, its contents released, its will handed over in prev_will;
 * even when the open itself then fails).  Takes the id's stripe lock(s).
 * After a takeover (present = 1) call cq_session_fence() until it returns 0
 * before touching the contents, then apply what this CONNECT changes
 * (cq_session_set_expiry, cq_session_will_set: a taken-over session keeps
 * its stored values, and its window and queue capacities, until then),
 * and kick prev_owner if prev_state was CONNECTED.  0; -1 with errno ENOSPC (table full: CONNACK 0x97), ENOMEM
 * (arena full: 0x97) or EINVAL.
 */
int cq_session_open(const cq_session_open_t *o, cq_session_ref_t *r);

/*
 * The loader of comqtt-storage (not a worker): put a stored session back,
 * DISCONNECTED with generation 1, owned by worker slot 'owner', expiring
 * at 'deadline' (0: never), keeping its persistence incarnation 'inc'.
 * Its contents go in with the owner functions below under generation 1
 * (cq_session_inflight_restore, cq_session_queue_base for the exact
 * stored positions).  Emits nothing.  0, or -1 with errno EEXIST (the
 * client id is taken), ENOSPC (table full), ENOMEM or EINVAL.
 */
typedef struct cq_session_restore {
	cq_session_open_t o; /* id, protocol, interval, window, queue */
	unsigned owner;
	uint64_t deadline;
	uint64_t inc;
} cq_session_restore_t;
int cq_session_restore(const cq_session_restore_t *rs, cq_off_t *sess_r);

/*
 * 0 when no write section of an older generation is still open on 'sess'
 * (the previous owner has finished its last write), CQ_AGAIN otherwise:
 * call again in a later loop iteration.  Lock-free.
 */
int cq_session_fence(cq_off_t sess, uint64_t gen);

/* The session of a client id (not EXPIRED) or CQ_OFF_NULL; *state_r gets
 * its state word.  Lock-free. */
cq_off_t cq_session_lookup(const char *id, size_t len, uint64_t *state_r);

/* Its current state word. */
uint64_t cq_session_state(cq_off_t sess);
/* Its client id (valid until the next quiescent point). */
const char *cq_session_client_id(cq_off_t sess, size_t *len_r);
uint8_t cq_session_protocol(cq_off_t sess);

/*
 * The owner's connection ended at 'now' (Unix seconds): CONNECTED ->
 * DISCONNECTED (same owner and generation; the owner keeps the session and
 * its private-trie entries, and queues messages for it), expiry deadline =
 * now + expiry interval.  Returns 1 when the interval is 0 (the session
 * ends now: call cq_session_expire), 0, or -1 ESTALE.
 */
int cq_session_disconnect(cq_off_t sess, uint64_t gen, uint64_t now);
/* Change the expiry interval (MQTT 5 DISCONNECT).  0 / -1 ESTALE. */
int cq_session_set_expiry(cq_off_t sess, uint64_t gen, uint32_t interval);

/*
 * Delete the session if it is still DISCONNECTED with generation 'gen'
 * (the expected generation, from a lookup or a sweep) and, unless 'force',
 * its deadline is past at 'now'.  A racing reconnect wins (CAS).  Its will
 * message, if any, goes to the caller in *will_r (a reference: publish it,
 * the session has ended) — CQ_OFF_NULL if none.  Releases the rest of its
 * contents (messages, subscriptions) — or, if its last owner is still
 * inside a write section, parks it to be released by cq_session_reclaim().
 * Takes the stripe lock(s).  1 deleted, 0 not eligible.
 */
int cq_session_expire(
	cq_off_t sess, uint64_t gen, uint64_t now, int force, cq_off_t *will_r);

/*
 * Expire due sessions, resuming a sweep over the table at *cursor (0 to
 * start), for at most 'budget' table slots; fn(arg, sess, will) receives
 * each expired session's will reference (sess valid until the next
 * quiescent point).  Returns the number expired; *cursor is 0 again when
 * the sweep has wrapped.
 */
typedef void (*cq_session_will_fn)(void *arg, cq_off_t sess, cq_off_t will);
unsigned cq_session_expire_due(uint64_t now, uint32_t *cursor, unsigned budget,
	cq_session_will_fn fn, void *arg);

/* Release parked (expired) sessions whose writers have left. */
unsigned cq_session_reclaim(void);

/*
 * Call fn for every live session owned by 'slot' (all when slot is
 * CQ_SLOT_NONE), with its state word.  Lock-free, for QSBR readers (a
 * registered worker between quiescent points); a respawned worker uses it
 * to rebuild its private trie.
 */
typedef void (*cq_session_fn)(void *arg, cq_off_t sess, uint64_t state);
void cq_session_foreach(unsigned slot, cq_session_fn fn, void *arg);

/* ---- contents (owner only) --------------------------------------- */

/*
 * Subscriptions.  add replaces the options of an existing identical filter
 * (copy-on-write: 0, -1 ENOMEM or ESTALE).  remove never allocates (0 or
 * -1 ESTALE; absent is not an error).  Rule for the worker: add a
 * subscription to the route trie before recording it here, and remove it
 * from here before removing it from the route trie, so that a recorded
 * subscription is always routed.
 */
int cq_session_sub_add(cq_off_t sess, uint64_t gen, const char *filter,
	size_t len, const cq_subopts_t *o);
int cq_session_sub_remove(
	cq_off_t sess, uint64_t gen, const char *filter, size_t len);
typedef void (*cq_session_sub_fn)(
	void *arg, const char *filter, size_t len, const cq_subopts_t *o);
/* Lock-free read of the current list (any process). */
void cq_session_subs_foreach(cq_off_t sess, cq_session_sub_fn fn, void *arg);

/*
 * Outbound QoS 1/2 window.  add stores (pid, msg, state) taking over the
 * caller's reference: 0, CQ_AGAIN (window full), -1 ENOMEM/ESTALE.
 * ack moves entry 'pid' from 'expect' to 'next' (0: remove it) and hands
 * its message reference to the caller in *msg_r when it leaves the entry
 * (removal, or PUBREC -> PUBCOMP): 0, -1 ENOENT (no such pid in that
 * state) or ESTALE.
 */
int cq_session_inflight_add(cq_off_t sess, uint64_t gen, uint16_t pid,
	cq_off_t msg, unsigned state);
int cq_session_inflight_ack(cq_off_t sess, uint64_t gen, uint16_t pid,
	unsigned expect, unsigned next, cq_off_t *msg_r);
/* The loader: an entry with its stored send order 'seq' (the session's
 * counter follows the largest); msg may be CQ_OFF_NULL for PUBCOMP.
 * Results as cq_session_inflight_add. */
int cq_session_inflight_restore(cq_off_t sess, uint64_t gen, uint16_t pid,
	cq_off_t msg, unsigned state, uint32_t seq);
/* The window in send order (for DUP re-sends); returns the count, fills at
 * most 'max' entries. */
unsigned cq_session_inflight_list(
	cq_off_t sess, cq_inflight_t *v, unsigned max);
/* A packet id not in use by the window: 1..65535, or 0 if all are. */
uint16_t cq_session_next_pid(cq_off_t sess, uint64_t gen);

/*
 * Inbound QoS 2: remember 'pid' until PUBREL.  add: 1 new, 0 already there
 * (a duplicate PUBLISH: do not deliver again), CQ_AGAIN full, -1 ENOMEM or
 * ESTALE.  remove: 1 removed, 0 absent, -1 ESTALE.
 */
int cq_session_qos2_add(cq_off_t sess, uint64_t gen, uint16_t pid);
/* Before routing a QoS 2 PUBLISH (the owner, no section): 1 'pid' is
 * recorded (a duplicate), 0 not recorded and there is room, CQ_AGAIN
 * full.  The owner routes, then adds: killed in between, the client's
 * re-send is routed again (a duplicate, never a loss). */
int cq_session_qos2_check(cq_off_t sess, uint16_t pid);
int cq_session_qos2_remove(cq_off_t sess, uint64_t gen, uint16_t pid);

/*
 * Offline queue, FIFO.  push takes over the caller's reference: 0,
 * -1 ENOSPC (full: apply the overflow policy), ENOMEM or ESTALE.  pop hands
 * the oldest to the caller: 1, 0 empty, -1 ESTALE.
 */
int cq_session_queue_push(cq_off_t sess, uint64_t gen, cq_off_t msg);
int cq_session_queue_pop(cq_off_t sess, uint64_t gen, cq_off_t *msg_r);
uint32_t cq_session_queue_len(cq_off_t sess);
/* The oldest queued message without taking it (the owner: nobody else
 * pops): 1, or 0 empty. */
int cq_session_queue_peek(cq_off_t sess, cq_off_t *msg_r);
/*
 * The oldest queued message, 'msg' (from peek), becomes the window entry
 * (pid, state) in one write section, taking the queue's reference: a
 * session that moves on first keeps it queued, in order, for its new
 * owner; a writer killed inside is repaired by the reaper (never lost,
 * never in both).
 * 0; CQ_AGAIN window full; -1 ESTALE, ENOENT (not the head), ENOBUFS,
 * ENOMEM, EINVAL.
 */
int cq_session_queue_to_window(cq_off_t sess, uint64_t gen, cq_off_t msg,
	uint16_t pid, unsigned state);
/* Whether msg is in the queue (a linear scan: for replays after a crash,
 * not for the message path). */
bool cq_session_queue_holds(cq_off_t sess, cq_off_t msg);
/* The loader: an empty queue starts at position 'pos' (the stored
 * positions of what it pushes next).  0, -1 EBUSY (not empty), ENOSPC (no
 * queue), ENOMEM or ESTALE. */
int cq_session_queue_base(cq_off_t sess, uint64_t gen, uint32_t pos);

/*
 * Will: set takes over the caller's reference (a previous will is
 * released); take removes it and hands the reference (and the delay) to
 * the caller: 1, or 0 when there is none.  -1 ESTALE.
 */
int cq_session_will_set(
	cq_off_t sess, uint64_t gen, cq_off_t msg, uint32_t delay);
int cq_session_will_take(
	cq_off_t sess, uint64_t gen, cq_off_t *msg_r, uint32_t *delay_r);
/* The will message, CQ_OFF_NULL when none: a lock-free read for the
 * owner (only the owner replaces or takes it). */
cq_off_t cq_session_will_peek(cq_off_t sess);
/*
 * MQTT 5 Will Delay Interval: the connection ended, the will (if there
 * is one) becomes due at due_ms (Unix milliseconds).  Kept in shm so that
 * a respawned owner keeps the deadline [MQTT-3.1.3-9]; set and take reset
 * it (a new connection cancels it).  The master sets it when it reaps a
 * dead owner's connected sessions.  0 / -1 ESTALE.
 */
int cq_session_will_schedule(cq_off_t sess, uint64_t gen, uint64_t due_ms);
/* When the will is due (Unix ms), 0 when none is scheduled; its delay in
 * *delay_r.  Lock-free read for the owner. */
uint64_t cq_session_will_due(cq_off_t sess, uint32_t *delay_r);

void cq_session_stats(cq_session_stats_t *s_r);

extern const cq_shm_module_t cq_session_module;

#endif /* CQ_SHM_SESSION_H */
