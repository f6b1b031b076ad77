/*
 * spsc.h — one single-producer single-consumer byte ring in shm: the
 * mechanism under the worker x worker matrix (ring.h) and the worker ->
 * comqtt-storage rings (persist.h).
 *
 * A ring is a control block (cq_spsc_ctl_t, in shm) and a data buffer of
 * 'size' bytes (a power of two), both owned by whichever module lays them
 * out; cq_spsc_t is a process-local view naming the two.  Exactly one
 * process produces and one consumes: the producer publishes with a release
 * store of its tail, the consumer frees space with a release store of its
 * head, each side caches the other's index, and no atomic read-modify-write
 * is ever needed.
 *
 * A record is an 8-byte header {len, type, flags} and len payload bytes,
 * padded to 8, never wrapping (a padding record, type 0, fills the end of
 * the buffer when the next record does not fit).  Flag CQ_SPSC_F_MSG says
 * the payload starts with a cq_off_t message reference the record owns:
 * the checker counts it.  Positions are free-running 64-bit byte counts; a
 * record's 'end' is the position right after it.
 *
 * Reservations stack: several records may be reserved, filled and then
 * published by one commit (a group the consumer sees whole or not at all).
 * A producer that dies between reserve and commit leaves nothing visible;
 * the reaper forgets its reservations.  The consumer reads ahead of its
 * head (peek), and releases space separately (consume / release), so it
 * may keep records until it is done with them; a consumer that dies leaves
 * them in place and its replacement rewinds to the head.
 */
#ifndef CQ_SHM_SPSC_H
#define CQ_SHM_SPSC_H

#include <stddef.h>
#include <stdint.h>

#include "core/defs.h"
#include "shm/region.h"

#define CQ_SPSC_HDR_BYTES 8u
/* Record types below this are the ring's own (padding). */
#define CQ_SPSC_TYPE_MIN 1u
/* The payload starts with a cq_off_t message reference the record owns. */
#define CQ_SPSC_F_MSG 0x1u

/* The control block of one ring (in shm, zeroed at creation). */
typedef struct cq_spsc_ctl {
	uint64_t tail __attribute__((aligned(CQ_CACHELINE)));
	uint64_t head __attribute__((aligned(CQ_CACHELINE)));
	struct {
		uint64_t pend; /* end of the reserved records */
		uint64_t head_cache;
		uint64_t nres; /* records reserved, not committed */
		uint64_t records;
		uint64_t full;
		uint64_t wakeups;
	} prod __attribute__((aligned(CQ_CACHELINE)));
	struct {
		uint64_t pos; /* end of the peeked records */
		uint64_t tail_cache;
	} cons __attribute__((aligned(CQ_CACHELINE)));
} cq_spsc_ctl_t;

/* A process-local view of one ring; 'src' and 'dst' only name it in
 * log lines ("<what> <src>-><dst>"). */
typedef struct cq_spsc {
	cq_spsc_ctl_t *ctl;
	char *data;
	uint32_t size;
	uint16_t src, dst;
	const char *what;
} cq_spsc_t;

typedef struct cq_spsc_rec {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	const void *data; /* valid until the space is released */
	uint64_t end; /* the position right after the record */
} cq_spsc_rec_t;

/* ---- producer ------------------------------------------------------ */

/* Reserve a record (type >= CQ_SPSC_TYPE_MIN, len already checked by the
 * caller against a quarter of the ring).  0 and *payload_r, or CQ_AGAIN
 * when it does not fit (nothing reserved; counted as "full"). */
int cq_spsc_reserve(const cq_spsc_t *r, uint16_t type, uint16_t flags,
	size_t len, void **payload_r);
/* Publish every record reserved since the last commit. */
void cq_spsc_commit(const cq_spsc_t *r);
/* Forget the reservations not committed. */
void cq_spsc_abort(const cq_spsc_t *r);
/* Bytes the producer could still reserve now (headers and padding
 * included), reading the consumer's head afresh. */
size_t cq_spsc_room(const cq_spsc_t *r);

/* ---- consumer ------------------------------------------------------ */

/* The next record after the read position, which advances past it:
 * 0, or CQ_AGAIN when there is none.  A header that cannot be (corrupt
 * producer memory) is logged and everything published is skipped. */
int cq_spsc_peek(const cq_spsc_t *r, cq_spsc_rec_t *rec_r);
/* The read position (the end of the last record peeked). */
uint64_t cq_spsc_cursor(const cq_spsc_t *r);
/* Move the read position back to 'pos' (head <= pos <= cursor): the
 * records after it will be peeked again. */
void cq_spsc_unpeek(const cq_spsc_t *r, uint64_t pos);
/* Release everything peeked (head = read position). */
void cq_spsc_consume(const cq_spsc_t *r);
/* Release up to 'pos' (<= read position; never backwards). */
void cq_spsc_release(const cq_spsc_t *r, uint64_t pos);
/* Read position back to the head (a new consumer, an abandoned batch). */
void cq_spsc_rewind(const cq_spsc_t *r);
/* Records published and not yet peeked? */
int cq_spsc_pending(const cq_spsc_t *r);

/* ---- anyone -------------------------------------------------------- */

uint64_t cq_spsc_tail(const cq_spsc_t *r);
uint64_t cq_spsc_head(const cq_spsc_t *r);
/* Bytes published and not released. */
size_t cq_spsc_depth(const cq_spsc_t *r);

/* ---- master and checker -------------------------------------------- */

/* The producer died: forget its reservations. */
void cq_spsc_reap_producer(const cq_spsc_t *r);
/* The consumer died: its replacement reads from the head. */
void cq_spsc_reap_consumer(const cq_spsc_t *r);
/* Check indexes (and, quiescent, every record header; message
 * references are declared to the census).  'module' names the checker's
 * log lines. */
void cq_spsc_check(cq_shm_t *shm, cq_shm_report_t *rep, const cq_spsc_t *r,
	const char *module);

#endif /* CQ_SHM_SPSC_H */
