/*
 * session-int.h — the session table's shared-memory layout and the write
 * section protocol, for session.c, session-data.c and session-check.c
 * only.  See session.c for the design and the invariants.
 */
#ifndef CQ_SHM_SESSION_INT_H
#define CQ_SHM_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/defs.h"
#include "shm/lock.h"
#include "shm/region.h"
#include "shm/session.h"

#define SESS_AREA_MAGIC UINT64_C(0x534e4f4953514d43) /* "CMQSIONS" */
#define SESS_MAGIC      0x53534553u /* "SESS" */
#define SESS_TOMB       ((cq_off_t)1)
#define SESS_STRIPE_LOG 6u /* 64 slots per stripe (at least) */

/* A session object (arena).  Fields marked (W) are written only inside a
 * write section of the owner's generation (or before publication). */
typedef struct sess_obj {
	uint32_t magic;
	uint16_t id_len;
	uint8_t protocol;
	uint8_t pslot; /* (W) 1 + the slot that last emitted a persistence
			  event for it; 0 none */
	uint64_t state; /* {state:4, owner:8, gen:52}: CAS only (I2) */
	uint64_t writer; /* open write section {slot+1:8, gen:52}, or 0 */
	uint64_t pinc; /* (W) persistence incarnation; 0: not stored
			  (session-persist.c) */
	uint64_t deadline; /* (W) expiry, Unix s, while disconnected; 0 */
	uint64_t will_due_ms; /* (W) will delay: due, Unix ms; 0 none */
	uint32_t expiry_interval; /* (W) */
	uint32_t will_delay; /* (W) */
	cq_off_t will; /* (W) will message */
	cq_relptr(sess_subs_t) subs; /* (W) copy-on-write list */
	cq_relptr(sess_inflight_t) inflight; /* (W) */
	cq_relptr(sess_qos2_t) qos2; /* (W) */
	cq_relptr(sess_queue_t) queue; /* (W) */
	cq_relptr(sess_obj_t) zombie_next; /* parked list (zombie lock) */
	uint32_t queue_max;
	uint32_t seq; /* (W) inflight send order */
	uint16_t inflight_max;
	uint16_t qos2_max;
	uint16_t next_pid; /* (W) */
	/* The client id, not terminated; its hash is recomputed where needed
	 * (the table's slots carry its high half).  No padding before it:
	 * an object is SESS_OBJ_SIZE(id_len) bytes (94 + the id: a 17-byte
	 * id fits the 112-byte arena class). */
	char id[];
} sess_obj_t;

#define SESS_OBJ_SIZE(id_len) (offsetof(sess_obj_t, id) + (size_t)(id_len))

/* Subscription record: header, filter text, padded to 8 bytes. */
typedef struct sess_sub_rec {
	uint32_t sub_id;
	uint16_t len;
	uint8_t qos;
	uint8_t flags; /* SUBF_*; SUBF_DELETED set in place by remove */
} sess_sub_rec_t;

#define SUBF_NO_LOCAL 0x01u
#define SUBF_RAP      0x02u
#define SUBF_RH_SHIFT 2u
#define SUBF_DELETED  0x80u

typedef struct sess_subs {
	uint32_t n; /* records, deleted ones included */
	uint32_t bytes; /* of records */
	uint8_t rec[];
} sess_subs_t;

/* Outbound window: e[i] = msg:32 | pid:16 << 32 | state:8 << 48, 0 free;
 * seq[i] (after e[cap]) orders re-sends. */
typedef struct sess_inflight {
	uint32_t cap;
	uint32_t hint; /* (W) where to look for a free entry */
	uint64_t e[];
} sess_inflight_t;

typedef struct sess_qos2 {
	uint32_t cap;
	uint32_t pad;
	uint16_t pid[]; /* 0 free */
} sess_qos2_t;

/* FIFO ring: [head, tail) hold references (free-running counters). */
typedef struct sess_queue {
	uint32_t cap;
	uint32_t pad;
	uint32_t head;
	uint32_t tail;
	cq_off_t slot[];
} sess_queue_t;

typedef struct sess_stripe {
	cq_mutex_t lock;
	uint64_t recoveries;
} __attribute__((aligned(CQ_CACHELINE))) sess_stripe_t;

typedef struct sess_area {
	uint64_t magic;
	uint64_t seed;
	uint32_t cap; /* home range, power of two */
	uint32_t nslots; /* cap + tail (no wrap-around) */
	uint32_t nstripes;
	uint32_t stripe_log; /* slot >> stripe_log = stripe */
	uint32_t max_sessions;
	uint32_t nworkers;
	uint64_t count; /* live sessions (atomic) */
	uint64_t slots_byte; /* from the area start */
	uint64_t stripes_byte;
	cq_mutex_t zlock; /* the parked list */
	cq_relptr(sess_obj_t) zombies;
	uint32_t nzombies;
	uint64_t zrecoveries;
} sess_area_t;

extern sess_area_t *cq_session_area;

static inline uint64_t *
sess_slots(const sess_area_t *a)
{
	return (uint64_t *)((char *)a + a->slots_byte);
}

static inline sess_stripe_t *
sess_stripes(const sess_area_t *a)
{
	return (sess_stripe_t *)((char *)a + a->stripes_byte);
}

static inline uint32_t
sess_home(const sess_area_t *a, uint64_t hash)
{
	return (uint32_t)(((hash >> 32) * a->cap) >> 32);
}

static inline uint64_t
sess_slot_word(uint64_t hash, cq_off_t off)
{
	return (hash >> 32) << 32 | off;
}

static inline int
sess_slot_live(uint64_t w)
{
	return (cq_off_t)w > SESS_TOMB;
}

static inline sess_obj_t *
sess_obj(cq_off_t off)
{
	return CQ_PTR(sess_obj_t, off);
}

static inline uint64_t
sess_load_state(const sess_obj_t *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}

/* Writer word of slot 'slot' (CQ_SLOT_NONE: tools) and generation 'gen'. */
static inline uint64_t
sess_writer_word(unsigned slot, uint64_t gen)
{
	return (uint64_t)((slot + 1) & 0xffu) << 52 |
		(gen & CQ_SESSION_GEN_MASK);
}

/* Open / close a write section (session.c); NULL with errno ESTALE. */
sess_obj_t *cq_session_wbegin(cq_off_t sess, uint64_t gen);
void cq_session_wend(sess_obj_t *s);

uint64_t cq_session_hash(const char *id, size_t len, uint64_t seed);

/* The reaper, for a writer killed inside a section of s, before it clears
 * the writer word (so no new owner reads s yet): the one change made of
 * two stores, cq_session_queue_to_window(), may have stored the window
 * entry and not moved the queue's head; the head then leaves the queue
 * (the message's one reference is the window's; left alone it would go
 * twice and be released twice).  session-data.c. */
void sess_repair_section(sess_obj_t *s);

/* Release everything a dead session holds (session-data.c). */
void cq_session_release_contents(sess_obj_t *s);

/* ---- persistence events (session-persist.c, shm/pevent.h) ----------
 *
 * Every change of a stored session (pinc != 0) is reported to the storage
 * process from inside the write section that makes it.  A mutator that
 * adds state checks sess_ev_room(.., addition) before it changes anything
 * and refuses with ENOBUFS when the ring has no room; then it makes the
 * change and calls sess_ev(), which cannot fail for want of room.  An
 * update or removal is made whatever the ring says (callers that can wait
 * check cq_persist_room() first); sess_ev() logs and counts one that did
 * not fit.  All of these are no-ops in a process that emits nothing (not a
 * worker, persistence off) and for sessions that are not stored. */
bool sess_ev_room(const sess_obj_t *s, size_t text_len, bool addition);
void sess_ev(sess_obj_t *s, uint16_t type, uint64_t a, cq_off_t msg,
	const char *text, size_t text_len);
/* A new session s, before it is published: stored when its expiry
 * interval is not 0 (SESS_PUT).  0, or -1 ENOBUFS (not created). */
int sess_ev_created(sess_obj_t *s);
/* The expiry interval or deadline of s changed (owner, in a section): a
 * session that was not stored and now outlives its connection is written
 * whole.  0, or -1 ENOBUFS (it stays unstored). */
int sess_ev_meta(sess_obj_t *s);
/* cq_session_fence() found the way clear for the owner of 'gen'. */
void sess_ev_adopt(cq_off_t sess, uint64_t gen);
/* s ended (EXPIRED, fenced), before its contents are released: false
 * when its removal cannot be reported yet (park it, try again later). */
bool sess_ev_ended(sess_obj_t *s);

void cq_session_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep);

#endif /* CQ_SHM_SESSION_INT_H */
