/*
 * sys.h — the $SYS/broker/ topics (Mosquitto's names), published by the
 * worker in slot 0 every sys_interval seconds as retained messages: the
 * numbers are sums over every worker's counters in shm (shm/counters.h)
 * and the tables' own statistics.
 */
#ifndef CQ_WORKERS_SYS_H
#define CQ_WORKERS_SYS_H

#include "workers/worker-t.h"

/* Publish the topics if this worker does and their time has come. */
void cq_sys_tick(cq_worker_t *w);

#endif /* CQ_WORKERS_SYS_H */
