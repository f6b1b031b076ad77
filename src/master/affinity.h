/*
 * affinity.h — one CPU per worker (worker_cpu_affinity).
 *
 * Worker slot i runs on the i-th CPU this process may use (modulo their
 * number), and slot i's SO_REUSEPORT sockets say so with SO_INCOMING_CPU:
 * the kernel then gives a new connection to the socket of the worker on
 * the CPU that took the connection's first packet, so its packets, its
 * socket and its worker stay on one CPU's caches, and a client's connect
 * wakes one CPU, not two.  (A worker that gets more than its share hands
 * connections on, workers/rebalance.c.)
 */
#ifndef CQ_MASTER_AFFINITY_H
#define CQ_MASTER_AFFINITY_H

#include <stdbool.h>

/* cpu_r[i], i < nslots: the CPU of slot i.  False when the allowed set
 * cannot be read (then nothing is pinned). */
bool cq_affinity_plan(unsigned nslots, int *cpu_r);

/* In a worker: run on 'cpu' only.  0, or -1 (errno; logged). */
int cq_affinity_pin(int cpu);

#endif /* CQ_MASTER_AFFINITY_H */
