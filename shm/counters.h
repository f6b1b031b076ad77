/*
 * counters.h — per-worker metrics in shared memory.
 *
 * Each worker slot owns one block of 64-bit counters on cache lines of its
 * own; only the owner writes it (a plain load and store, no atomic
 * read-modify-write, no shared cache line), and readers (admin, $SYS,
 * comqttctl) sum the blocks with relaxed loads.  Counters only grow and
 * survive a worker's respawn into the same slot, so totals stay monotonic
 * for Prometheus; gauges (connections, ring depth, loop lag) are reset by
 * the master's reaper, since a dead worker's connections are gone.
 *
 * A process without a slot counts into a private block that nobody reads,
 * so cq_counter_add() is always safe to call.
 */
#ifndef CQ_SHM_COUNTERS_H
#define CQ_SHM_COUNTERS_H

#include <stdint.h>

#include "shm/region.h"

typedef enum cq_counter {
	CQ_CTR_CONN_ACCEPTED,
	CQ_CTR_CONN_CLOSED,
	CQ_CTR_CONNECTIONS, /* gauge */
	CQ_CTR_MSGS_IN_Q0,
	CQ_CTR_MSGS_IN_Q1,
	CQ_CTR_MSGS_IN_Q2,
	CQ_CTR_BYTES_IN,
	CQ_CTR_MSGS_OUT_Q0,
	CQ_CTR_MSGS_OUT_Q1,
	CQ_CTR_MSGS_OUT_Q2,
	CQ_CTR_BYTES_OUT,
	CQ_CTR_DROP_RING_FULL, /* QoS 0 to a full ring */
	CQ_CTR_DROP_QUEUE_FULL, /* a session queue at its limit */
	CQ_CTR_DROP_EXPIRED, /* message expiry passed before delivery */
	CQ_CTR_DROP_ACL, /* publish denied */
	CQ_CTR_DROP_TOO_LARGE, /* over a client's maximum packet size */
	CQ_CTR_DROP_NO_MEMORY, /* arena or table full */
	CQ_CTR_RING_RECORDS_OUT,
	CQ_CTR_RING_RECORDS_IN,
	CQ_CTR_RING_WAKEUPS,
	CQ_CTR_RING_DEPTH, /* gauge: bytes waiting for this worker */
	CQ_CTR_LOOP_ITERATIONS,
	CQ_CTR_LOOP_LAG_US, /* gauge: last iteration's lateness */
	CQ_CTR_SUBSCRIPTIONS, /* gauge */
	CQ_CTR_AUTH_ALLOW, /* CONNECTs authentication let in */
	CQ_CTR_AUTH_DENY, /* CONNECTs authentication refused */
	CQ_CTR_AUTH_UNAVAILABLE, /* CONNECTs refused: authd did not answer */
	CQ_CTR_CONN_BANNED, /* CONNECTs refused: blacklisted client id */
	CQ_CTR_CTL_COMMANDS, /* admin commands handled */
	/* Payload bytes of PUBLISH in and out, by QoS: each group of three
	 * is contiguous (CQ_CTR_PAYLOAD_IN_Q0 + qos). */
	CQ_CTR_PAYLOAD_IN_Q0,
	CQ_CTR_PAYLOAD_IN_Q1,
	CQ_CTR_PAYLOAD_IN_Q2,
	CQ_CTR_PAYLOAD_OUT_Q0,
	CQ_CTR_PAYLOAD_OUT_Q1,
	CQ_CTR_PAYLOAD_OUT_Q2,
	CQ_CTR_COUNT
} cq_counter_t;

/* This process's block (its slot's, or a private one). */
extern uint64_t *cq_counters_mine;

static inline void
cq_counter_add(cq_counter_t c, uint64_t n)
{
	uint64_t *p = &cq_counters_mine[c];
	__atomic_store_n(
		p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* For gauges. */
static inline void
cq_counter_set(cq_counter_t c, uint64_t v)
{
	__atomic_store_n(&cq_counters_mine[c], v, __ATOMIC_RELAXED);
}

static inline void
cq_counter_sub(cq_counter_t c, uint64_t n)
{
	uint64_t *p = &cq_counters_mine[c];
	uint64_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
	__atomic_store_n(p, v > n ? v - n : 0, __ATOMIC_RELAXED);
}

/* Metric name ("msgs_in_qos0") and kind. */
const char *cq_counter_name(cq_counter_t c);
int cq_counter_is_gauge(cq_counter_t c);

/* One slot's block into out[CQ_CTR_COUNT]: 0, or -1 for a bad slot. */
int cq_counters_read(const cq_shm_t *shm, unsigned slot, uint64_t *out);
/* One counter of one slot (a relaxed load), or UINT64_MAX for a bad slot. */
uint64_t cq_counter_read(const cq_shm_t *shm, unsigned slot, cq_counter_t c);
/* The sum over every slot into out[CQ_CTR_COUNT]. */
void cq_counters_sum(const cq_shm_t *shm, uint64_t *out);

extern const cq_shm_module_t cq_counters_module;

#endif /* CQ_SHM_COUNTERS_H */
