/*
 * pevent.h — persistence events: what a worker tells comqtt-storage about
 * a change of persistent state, as records of its ring (shm/persist.h).
 *
 * The events mirror the changes of the shm tables one to one and are
 * emitted by the tables themselves (shm/session-persist.c, retained.c),
 * inside the write section or lock that makes the change.  The storage
 * process applies each ring in order, so per ring events come in the order
 * of the changes; across rings, order is kept by barriers: "apply ring S
 * up to position P before this event".
 *
 *   - A session's events come from the worker that owns it, in its ring.
 *     When it changes owner, the new owner's first event (ADOPT, after the
 *     fence of session.c I4) carries a barrier on the ring of the last
 *     worker that emitted for it: everything that worker said about the
 *     session is applied first.  DEL (emitted by whoever releases the
 *     session, after the fence) carries the same barrier.
 *   - Sessions are named by client id and incarnation: a number unique to
 *     one life of one session (cq_persist_next_inc), stored with it.  PUT
 *     starts an incarnation (replacing whatever the client id had if its
 *     incarnation is not newer); every other event applies only to the
 *     stored session of the same incarnation, so late events of a session
 *     that ended never touch its successor.
 *   - Retained events carry a barrier on every ring, taken under the
 *     store's shard lock: for one topic they apply in the store's order.
 *
 * Entries inside a session are named by what names them in shm: queue
 * entries by queue position (free-running), window entries and inbound
 * QoS 2 ids by packet id, subscriptions by filter.
 *
 * Record layout (8-byte aligned): cq_pev_t, uint64_t barrier[nbar], the
 * key (client id or topic), the text (a filter).  With CQ_PERSIST_F_MSG
 * the record owns a reference to cq_pev_t.msg (its first word).
 *
 * Fields a, b, c by type:
 *   SESS_PUT      a expiry interval | protocol << 32; b queue_max |
 *                 inflight_max << 32 | qos2_max << 48; c deadline (Unix
 *                 s; 0 connected or never)
 *   SESS_ADOPT    (connected again)
 *   SESS_META     a expiry interval; c deadline
 *   SESS_DEL      -
 *   SUB_ADD       text filter; a cq_pev_subopts_pack()
 *   SUB_DEL       text filter
 *   QUEUE_PUSH    msg; a position
 *   QUEUE_POP     a position
 *   INFLIGHT_ADD  msg; a pid | state << 16 | seq << 32
 *   INFLIGHT_SET  a pid | state << 16 | seq << 32 (state 0: gone;
 *                 PUBCOMP: the message was released)
 *   QOS2_ADD/DEL  a pid
 *   WILL          msg or none; a delay
 *   RETAIN_SET    key topic; msg
 *   RETAIN_DEL    key topic
 */
#ifndef CQ_SHM_PEVENT_H
#define CQ_SHM_PEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/persist.h"
#include "shm/relptr.h"
#include "shm/session-t.h"

enum cq_pev_type {
	CQ_PEV_SESS_PUT = 1,
	CQ_PEV_SESS_ADOPT,
	CQ_PEV_SESS_META,
	CQ_PEV_SESS_DEL,
	CQ_PEV_SUB_ADD,
	CQ_PEV_SUB_DEL,
	CQ_PEV_QUEUE_PUSH,
	CQ_PEV_QUEUE_POP,
	CQ_PEV_INFLIGHT_ADD,
	CQ_PEV_INFLIGHT_SET,
	CQ_PEV_QOS2_ADD,
	CQ_PEV_QOS2_DEL,
	CQ_PEV_WILL,
	CQ_PEV_RETAIN_SET,
	CQ_PEV_RETAIN_DEL,
	CQ_PEV_TYPE_END
};

typedef struct cq_pev {
	cq_off_t msg; /* with CQ_PERSIST_F_MSG: the reference; else 0 */
	uint16_t key_len; /* client id or topic */
	uint8_t nbar; /* barrier entries after this struct */
	uint8_t reserved;
	uint32_t text_len; /* filter, after the key */
	uint32_t reserved2;
	uint64_t inc; /* session incarnation; 0 for retained events */
	uint64_t a;
	uint64_t b;
	uint64_t c;
} cq_pev_t;

/* A barrier entry: apply ring 'slot' up to 'pos' before this event. */
static inline uint64_t
cq_pev_bar(unsigned slot, uint64_t pos)
{
	return (uint64_t)slot << 56 | (pos & ((UINT64_C(1) << 56) - 1));
}
static inline unsigned
cq_pev_bar_slot(uint64_t b)
{
	return (unsigned)(b >> 56);
}
static inline uint64_t
cq_pev_bar_pos(uint64_t b)
{
	return b & ((UINT64_C(1) << 56) - 1);
}

/* What SESS_PUT says about a session (the stored session record). */
typedef struct cq_pev_sess {
	uint64_t inc;
	uint64_t deadline;
	uint32_t expiry_interval;
	uint32_t queue_max;
	uint16_t inflight_max;
	uint16_t qos2_max;
	uint8_t protocol;
} cq_pev_sess_t;

void cq_pev_sess_pack(const cq_pev_sess_t *s, cq_pev_t *h);
void cq_pev_sess_unpack(const cq_pev_t *h, cq_pev_sess_t *s);
uint64_t cq_pev_subopts_pack(const cq_subopts_t *o);
void cq_pev_subopts_unpack(uint64_t a, cq_subopts_t *o);

/* A decoded record (pointers into it). */
typedef struct cq_pev_view {
	uint16_t type;
	uint16_t flags;
	cq_pev_t h;
	const uint64_t *bar;
	const char *key;
	const char *text;
} cq_pev_view_t;

/* Payload bytes of an event with these lengths. */
size_t cq_pev_size(unsigned nbar, size_t key_len, size_t text_len);

/*
 * Reserve and fill one event on this worker's ring without publishing it
 * (cq_persist_commit() publishes; several may be grouped, with 'flags'
 * CQ_PERSIST_F_CONT on all but the last).  h->key_len, h->text_len and
 * h->nbar give the lengths; a message reference is taken for the record
 * when h->msg is set.  0; -1 with errno ENOBUFS (no room: nothing
 * reserved), EMSGSIZE (too large) or EINVAL (persistence off).
 */
int cq_pev_put(uint16_t type, uint16_t flags, cq_pev_t *h, const uint64_t *bar,
	const void *key, const void *text, bool addition);
/* cq_pev_put() and commit. */
int cq_pev_emit(uint16_t type, cq_pev_t *h, const uint64_t *bar,
	const void *key, const void *text, bool addition);

/*
 * Decode and validate a record: 0, or -1 with *why_r naming what is wrong
 * (truncated, unknown type, a field out of range, a reference where none
 * belongs...).  Message offsets are not checked against the region here.
 */
int cq_pev_decode(
	const cq_persist_rec_t *rec, cq_pev_view_t *v, const char **why_r);

const char *cq_pev_type_name(unsigned type);

#endif /* CQ_SHM_PEVENT_H */
