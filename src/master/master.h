/*
 * master.h — comqttd's master process: supervision loop.
 *
 * The master owns the listening sockets, the shared-memory region and the
 * process table.  Its loop handles signals (TERM/INT stop, HUP reload,
 * USR1 reopen logs, CHLD reap), accepts on handoff listeners and passes
 * each connection to a worker over the channel, and respawns children that
 * die — after reaping their shm state and running the checker.  It never
 * parses MQTT and never takes a data lock.
 */
#ifndef CQ_MASTER_MASTER_H
#define CQ_MASTER_MASTER_H

#include <stdbool.h>

#include "master/listen.h"
#include "master/process.h"
#include "shm/region.h"

#define CQ_MAX_LISTENERS 32

/* What a worker needs from the master; filled before the first fork. */
typedef struct cq_master {
	unsigned workers;
	cq_listener_t listeners[CQ_MAX_LISTENERS];
	unsigned nlisteners;
	cq_shm_t shm;
	int death_pipe[2]; /* workers watch [0] for EOF */
	unsigned stop_timeout_ms;
	unsigned respawn_delay_ms; /* added to every respawn (tests) */
	bool pin; /* worker_cpu_affinity: slot i runs on slot_cpu[i] */
	int slot_cpu[CQ_MAX_WORKERS];
	struct event_base *base;

	/* Supplied by main(): the workers' main, and reload. */
	cq_child_main_fn worker_main;
	void *worker_arg;
	/* Re-read the configuration; 0 to tell the children, -1 to keep
	 * running on the old one (the error is logged by the callback). */
	int (*reload)(struct cq_master *m);
	/* Add the children besides the workers (cq_process_add), or NULL.
	 * 0 or -1. */
	int (*add_children)(struct cq_master *m);
	/* After the helpers started, before the workers: 0 to go on, -1 to
	 * give up starting (logged by the callback).  May be NULL. */
	int (*helpers_ready)(struct cq_master *m);
	/* Current load of a worker slot (connections), or NULL. */
	unsigned (*worker_load)(struct cq_master *m, unsigned slot);
} cq_master_t;

/* Open every listener.  0 or -1 (logged). */
int cq_master_listen(cq_master_t *m);

/*
 * Fork the workers and run the supervision loop until stopped.  Returns
 * the process exit status (0 after a graceful stop).
 */
int cq_master_run(cq_master_t *m);

/* The master that is running (for children's main functions). */
extern cq_master_t *cq_master_current;

#endif /* CQ_MASTER_MASTER_H */
