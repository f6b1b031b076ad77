/*
 * persist.h — the event rings from workers to comqtt-storage and the
 * commit watermarks that come back (DESIGN.md §5).
 *
 * shm holds the primary copy of every session and retained message; the
 * storage process keeps the durable copy.  Each worker slot has one SPSC
 * ring (shm/spsc.h) to the storage process: whenever the worker changes
 * persistent state it appends one event (shm/pevent.h), and the storage
 * process applies what the rings hold to its backend in batches, one
 * transaction per batch (group commit).  Records are released only after
 * the transaction that applied them committed, so a storage process that
 * dies loses nothing: its replacement reads them again (the backend keeps
 * the position up to which it applied each ring, so nothing is applied
 * twice).
 *
 * Room.  An event that adds state (a session, a subscription, a queued or
 * inflight message, a retained message) is refused while its ring is more
 * than three quarters full: the caller refuses what asked for it (0x97
 * Quota exceeded).  An event that updates or removes state may use the
 * whole ring, and callers check cq_persist_room() before changes they can
 * defer (acknowledgements, unsubscribes, queue pumping), so those events
 * are never lost while the storage process is slow or down.  Publishers
 * check cq_persist_congested() (a ring half full, or the storage failing)
 * and refuse new persistent state well before the rings are full.  A ring
 * a sixteenth full urges a commit without waiting for the batch window.
 *
 * Positions are the rings' free-running byte positions.  The storage
 * process publishes per ring the position up to which everything is
 * durable (committed); a worker that must not acknowledge a PUBLISH before
 * its events are durable (persistence: sync) compares positions with that
 * watermark (workers/pack.c).
 *
 * Wake-ups: the storage process sleeps between batches (batch_ms) unless
 * a worker asks for a commit now (cq_persist_urge: a sync acknowledgement
 * waits); after a commit it writes the ring eventfd of each worker that
 * said it waits (cq_persist_want).  The storage eventfd is created by the
 * master before it forks and inherited by everyone.
 *
 * Flags the storage process sets for everyone: loaded (the stored state
 * is in shm: a respawned storage process does not load again), failed (it
 * cannot commit: disk or map full, I/O error — new persistent state is
 * refused until it recovers).
 *
 * The area exists only when the region was sized with persist_ring_bytes
 * (persistence on); every function is a cheap no-op otherwise.
 */
#ifndef CQ_SHM_PERSIST_H
#define CQ_SHM_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"
#include "shm/spsc.h"

/* Record flag: the payload starts with a cq_off_t message reference that
 * the record owns (the storage process drops it after the commit). */
#define CQ_PERSIST_F_MSG CQ_SPSC_F_MSG
/* Record flag: more records of the same group follow; the storage process
 * never ends a batch after it (a session written whole). */
#define CQ_PERSIST_F_CONT 0x2u

/* Storage process states (cq_persist_status). */
#define CQ_PERSIST_DOWN    0u /* not started, or dead */
#define CQ_PERSIST_LOADING 1u
#define CQ_PERSIST_RUNNING 2u

/* Entries of the restored $SYS base (cq_persist_sys_base_*). */
#define CQ_PERSIST_SYS_MAX 32u

typedef cq_spsc_rec_t cq_persist_rec_t;

/* ---- set-up (master, before forking) ------------------------------ */

/* Persistence runs (acknowledgements wait for commits when 'sync'):
 * workers emit events from now on. */
void cq_persist_configure(bool sync);
/* The storage process's eventfd: 0, or -1 (logged). */
int cq_persist_eventfd_create(void);
void cq_persist_eventfd_close(void);
int cq_persist_eventfd(void);

/* ---- any process --------------------------------------------------- */

/* True when this process is a worker that emits events. */
bool cq_persist_on(void);
/* Persistence configured with sync acknowledgements. */
bool cq_persist_sync(void);
unsigned cq_persist_status(void);
bool cq_persist_loaded(void);
/* The storage process cannot commit (disk or map full, I/O error). */
bool cq_persist_failed(void);
/* A random number naming this region's rings: positions are meaningful
 * only with it. */
uint64_t cq_persist_epoch(void);
unsigned cq_persist_nslots(void);
/* Largest record payload a ring takes (a quarter of it). */
size_t cq_persist_max_payload(void);

/* Producer position (committed records) and durable position of a ring. */
uint64_t cq_persist_tail(unsigned slot);
uint64_t cq_persist_committed(unsigned slot);
/* Bytes waiting in a ring (written, not released). */
size_t cq_persist_fill(unsigned slot);
/* Some ring is half full, or the storage process fails: publishers
 * refuse new persistent state. */
bool cq_persist_congested(void);

/* A new session incarnation number (unique, increasing across restarts:
 * the loader raises the floor above every stored one). */
uint64_t cq_persist_next_inc(void);
void cq_persist_inc_floor(uint64_t next);

/* ---- producer (a worker, slot = cq_shm_slot) ----------------------- */

/*
 * Reserve a record on this slot's ring.  An 'addition' is refused while
 * the ring is (or would be) more than three quarters full.  0 and *payload_r;
 * CQ_AGAIN when it does not fit (nothing reserved); -1 with errno EINVAL
 * (not a worker, persistence off) or EMSGSIZE (len above
 * cq_persist_max_payload).  Reservations stack until commit or abort.
 */
int cq_persist_reserve(uint16_t type, uint16_t flags, size_t len, bool addition,
	void **payload_r);
/* Publish every record reserved since the last commit. */
void cq_persist_commit(void);
void cq_persist_abort(void);
/* True when an update or removal of 'len' payload bytes (or an addition
 * with 'addition') fits in this slot's ring now.  Persistence off: true. */
bool cq_persist_room(size_t len, bool addition);
/* Ask the storage process for a commit now (sync waiters). */
void cq_persist_urge(void);
/* This worker waits for commits (the storage process wakes it). */
void cq_persist_want(bool waiting);

/* ---- consumer (the storage process) -------------------------------- */

void cq_persist_set_status(unsigned status);
void cq_persist_set_loaded(void);
void cq_persist_set_failed(bool failed);

/* Next record of 'slot' after the read position (which advances past
 * it): 0, or CQ_AGAIN. */
int cq_persist_peek(unsigned slot, cq_persist_rec_t *rec_r);
/* The read position of 'slot', and putting it back (<= it, >= head). */
uint64_t cq_persist_cursor(unsigned slot);
void cq_persist_unpeek(unsigned slot, uint64_t pos);
/* Every read position back to its head (a new consumer, a batch that
 * failed). */
void cq_persist_rewind(void);
/* Release everything up to 'pos' (<= read position) to the producer. */
void cq_persist_release(unsigned slot, uint64_t pos);
/* Everything up to 'pos' is durable; wakes the worker if it waits. */
void cq_persist_set_committed(unsigned slot, uint64_t pos);

/*
 * Sleep protocol: cq_persist_sleep() returns 0 when the storage process
 * may block (workers will write its eventfd when they urge), CQ_AGAIN when
 * a worker already urged (do not block).  After waking call
 * cq_persist_awake(): it reads the eventfd and returns whether a worker
 * urged.
 */
int cq_persist_sleep(void);
bool cq_persist_awake(void);

/* Base values of the $SYS counters (restored by the loader); 'add' adds
 * them to a counter sum of n values. */
void cq_persist_sys_base_set(const uint64_t *v, unsigned n);
void cq_persist_sys_base_add(uint64_t *v, unsigned n);

extern const cq_shm_module_t cq_persist_module;

#endif /* CQ_SHM_PERSIST_H */
