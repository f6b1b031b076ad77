/*
 * cb_track.h — exact loss, duplicate and reorder accounting for one stream
 * as seen by one subscriber.
 *
 * Every publisher numbers its messages 0, 1, 2, ... in the payload; every
 * subscriber keeps one tracker per stream it receives.  A tracker must tell
 * a duplicate from a late (reordered) arrival exactly, in bounded memory,
 * at a cost of a few instructions per in-order message:
 *
 *   - a sliding window of CB_TRACK_WINDOW bits covers [base, base + window);
 *     a set bit means "received";
 *   - every sequence number below base was either received or is listed in
 *     'lost', a sorted array of half-open ranges; when the window slides
 *     past a clear bit, that number joins 'lost';
 *   - a number below base that is found in 'lost' is a late arrival (it is
 *     removed from the list and counted as new and reordered); one that is
 *     not is a duplicate.
 *
 * The list grows with the number of loss runs, not with the run length.
 * 'high' and 'wake_at' are the two fields another thread may touch: the
 * publisher's closed-loop window reads 'high' (one past the highest number
 * received) and asks for a wake-up through 'wake_at'.  The tracker itself
 * is owned by the subscriber's thread.
 */
#ifndef CB_TRACK_H
#define CB_TRACK_H

#include <stdatomic.h>
#include <stdint.h>

#define CB_TRACK_WORDS  16
#define CB_TRACK_WINDOW (CB_TRACK_WORDS * 64)

typedef struct cb_range {
	uint32_t lo;
	uint32_t hi;
} cb_range_t;

typedef enum cb_track_result {
	CB_TRACK_NEW = 0, /* first arrival, in order */
	CB_TRACK_LATE = 1, /* first arrival after a higher number */
	CB_TRACK_DUP = 2, /* already received */
	CB_TRACK_NOMEM = 3 /* the loss list could not grow; counted as lost */
} cb_track_result_t;

typedef struct cb_track {
	_Atomic uint32_t high;
	_Atomic uint32_t wake_at;
	uint32_t hi_local;
	uint64_t base;
	uint64_t bits[CB_TRACK_WORDS];
	uint64_t unique;
	uint64_t dup;
	uint64_t reordered;
	cb_range_t *lost;
	uint32_t nlost;
	uint32_t caplost;
} cb_track_t;

void cb_track_init(cb_track_t *t);
void cb_track_free(cb_track_t *t);
/* Account for an arrival of 'seq'. */
cb_track_result_t cb_track_add(cb_track_t *t, uint32_t seq);

#endif /* CB_TRACK_H */
