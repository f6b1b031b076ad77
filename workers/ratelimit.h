/*
 * ratelimit.h — listeners[].rate_limit: new connections per second per
 * source address, a token bucket each, shared by every worker.
 *
 * A client's connections land on any worker (SO_REUSEPORT hashes the
 * 4-tuple, not the address), so the buckets must be shared: they live in
 * one small MAP_SHARED mapping the master creates before it forks
 * (inherited by every worker, respawned ones too).  It is not part of the
 * shm region: it holds no links, nothing in it outlives the broker, and a
 * worker dying in the middle of an update leaves at worst one bucket a
 * token off.
 *
 * The table is bounded (entries fixed at creation, open addressing with
 * a short probe): an address idle for a minute may give its slot to a new
 * one, and when every slot of a probe window is busy the connection is
 * let through (and counted) rather than refused -- a full table must not
 * shut out new clients.
 *
 * Invariants:
 *   - an entry is {key, state}: key is a 64-bit hash of (listener,
 *     address), 0 for a free slot; state packs the bucket's tokens (in
 *     thousandths, 24 bits) and the time of its last update (ms of
 *     CLOCK_MONOTONIC, 40 bits);
 *   - both words change only by compare-and-swap, so concurrent workers
 *     never lose a token they took.
 */
#ifndef CQ_WORKERS_RATELIMIT_H
#define CQ_WORKERS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CQ_RATELIMIT_ENTRIES  16384u
#define CQ_RATELIMIT_RATE_MAX 10000u /* per second, and burst */

/*
 * In the master, before forking: map the table (entries rounded up to a
 * power of two).  0, or -1 (logged); without a table every connection
 * is let through.
 */
int cq_ratelimit_create(unsigned entries);

/*
 * Take one token from the bucket of (listener, address of sa) -- rate
 * tokens per second, at most burst -- at time now_ms.  true when the
 * connection may proceed.  Unix-socket peers (no address) always may.
 */
bool cq_ratelimit_take(unsigned listener, const struct sockaddr *sa,
	uint32_t rate, uint32_t burst, uint64_t now_ms);

/* Connections let through because the table was full (for $SYS, logs). */
uint64_t cq_ratelimit_overflows(void);

#endif /* CQ_WORKERS_RATELIMIT_H */
