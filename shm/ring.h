/*
 * ring.h — the N x N matrix of SPSC byte rings between worker slots.
 *
 * ring[src][dst] carries variable-length records from worker src to worker
 * dst (src == dst included).  Exactly one process writes a ring (the worker
 * in slot src) and one reads it (the worker in slot dst), so no atomic
 * read-modify-write is ever needed: the producer publishes with a release
 * store of its tail, the consumer frees space with a release store of its
 * head, and each side caches the other's index so that a batch touches the
 * other side's cache line once.
 *
 * A record is an 8-byte header {len, type, flags} and len payload bytes,
 * padded to 8; the caller decides what the payload is (a PUBLISH inline, or
 * a message-store offset: flag CQ_RING_F_MSG says the payload starts with a
 * cq_off_t message reference owned by the record, which the checker counts).
 * A full ring is reported (CQ_AGAIN); nothing is ever dropped silently.
 *
 * Wake-ups: one eventfd per worker, created by the master before it forks
 * (cq_ring_eventfds_create), kept open by the master and inherited by every
 * worker, including a respawned one.  A consumer about to block announces it
 * (cq_ring_sleep), producers write its eventfd only then, and only once per
 * sleep: at most one wake-up per batch, whatever the number of producers.
 *
 * Crashes: a producer that dies between reserve and commit leaves nothing
 * visible (the tail did not move); the master's reaper rewinds its private
 * reservation state.  A consumer that dies leaves its unconsumed records in
 * place; the reaper rewinds its read cursor to the head, so its replacement
 * reads every record that was not consumed.
 */
#ifndef CQ_SHM_RING_H
#define CQ_SHM_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "shm/region.h"

#include "shm/spsc.h"

/* Each ring is one shm/spsc.h ring: its record format and flags. */
#define CQ_RING_HDR_BYTES CQ_SPSC_HDR_BYTES
#define CQ_RING_TYPE_MIN  CQ_SPSC_TYPE_MIN
#define CQ_RING_F_MSG     CQ_SPSC_F_MSG

/* A record; 'data' is valid until cq_ring_consume(). */
typedef cq_spsc_rec_t cq_ring_rec_t;

/* Largest payload a ring of this region takes (a quarter of a ring). */
size_t cq_ring_max_payload(void);

/*
 * Producer side (src = this process's slot).
 *
 * Reserve room for a record to 'dst' and return where its payload goes.
 * Reservations stack: several may be filled and then published by one
 * cq_ring_commit.  0; CQ_AGAIN when the ring is full (nothing reserved);
 * -1 with errno EINVAL (no slot, bad dst or type) or EMSGSIZE (len above
 * cq_ring_max_payload).
 */
int cq_ring_reserve(unsigned dst, uint16_t type, uint16_t flags, size_t len,
	void **payload_r);
/* Publish every record reserved to 'dst' since the last commit. */
void cq_ring_commit(unsigned dst);
/* Forget reservations to 'dst' that were not committed. */
void cq_ring_abort(unsigned dst);
/* Reserve, gather 'iov', commit.  Results as cq_ring_reserve. */
int cq_ring_push(unsigned dst, uint16_t type, uint16_t flags,
	const struct iovec *iov, int iovcnt);
/* ring[this][dst]: the producer position after the last commit, and how
 * far 'dst' has consumed (released).  A record committed with end e has
 * been handled by dst once cq_ring_consumed(dst) >= e (persistence: sync
 * waits on this, workers/pack.c). */
uint64_t cq_ring_tail(unsigned dst);
uint64_t cq_ring_consumed(unsigned dst);
/* Wake 'dst' if it sleeps; call once per batch, after the commits. */
void cq_ring_notify(unsigned dst);
/* cq_ring_notify every destination committed to since the last call. */
void cq_ring_notify_pending(void);

/*
 * Consumer side (dst = this process's slot).
 *
 * The next record from 'src' (advancing a private cursor): 0, or CQ_AGAIN
 * when there is none.  The record stays valid, and its space taken, until
 * cq_ring_consume(src) releases everything peeked so far.
 */
int cq_ring_peek(unsigned src, cq_ring_rec_t *rec_r);
void cq_ring_consume(unsigned src);

typedef void (*cq_ring_fn)(unsigned src, const cq_ring_rec_t *rec, void *arg);
/* Peek up to 'budget' records from each source ring, call fn on each,
 * consume per ring.  Returns the number of records handled. */
unsigned cq_ring_drain(cq_ring_fn fn, void *arg, unsigned budget);

/* Bytes waiting in ring[src][dst]. */
size_t cq_ring_depth(unsigned src, unsigned dst);

/*
 * Sleeping.  Before blocking, a consumer calls cq_ring_sleep(): 0 means no
 * record is waiting and producers will write its eventfd; CQ_AGAIN means
 * records arrived (the announcement is withdrawn: drain, do not block).
 * After waking (or instead of blocking) it calls cq_ring_awake(), which
 * withdraws the announcement.  When its eventfd is readable, it calls
 * cq_ring_wake_reset() to reset it: a worker does that from the
 * eventfd's own event, so that a wake-up for anything else (a socket)
 * costs no read.  An eventfd written after the consumer woke stays
 * readable and is reset at its next poll; no record is lost either way,
 * since the consumer drains the rings whatever woke it.
 */
int cq_ring_sleep(void);
void cq_ring_awake(void);
void cq_ring_wake_reset(void);
/* This slot's eventfd (register it for reading), or -1. */
int cq_ring_wakefd(void);

/* Master, before forking: one eventfd per worker slot.  0 / -1. */
int cq_ring_eventfds_create(unsigned workers);
void cq_ring_eventfds_close(void);

typedef struct cq_ring_stats {
	uint64_t records; /* committed */
	uint64_t full; /* CQ_AGAIN answers */
	uint64_t wakeups; /* eventfd writes */
} cq_ring_stats_t;
void cq_ring_stats(unsigned src, unsigned dst, cq_ring_stats_t *stats_r);

extern const cq_shm_module_t cq_ring_module;

#endif /* CQ_SHM_RING_H */
