/*
 * storage.h — comqtt-storage, the process that keeps the durable copy of
 * sessions and retained messages (DESIGN.md §5; the design is in
 * shm/persist.h, shm/pevent.h and apply.h, the stored format in codec.h).
 *
 * The master forks it (cq_process_add(CQ_CHILD_STORAGE, 0, "storage",
 * cq_storage_child_main, &args)) before any worker when storage.backend
 * is not "none", and waits for its READY on the child channel: by then the
 * stored state is in shm (the first start of a region) and the workers
 * rebuild from it.  A storage process that cannot open or read its store
 * exits with status 2 after logging why; the master then stops.  A
 * respawned one (the region is loaded already) only picks up the rings.
 *
 * It stops after the workers (the master's stop order), draining every
 * event they left; EOF on death_fd (the master died) drains what is there
 * and exits.
 */
#ifndef CQ_STORAGE_STORAGE_H
#define CQ_STORAGE_STORAGE_H

#include "core/conf.h"
#include "shm/region.h"

struct cq_child;

typedef struct cq_storage_args {
	const cq_config_t *config;
	const cq_shm_t *shm;
	unsigned nworkers;
	int death_fd; /* EOF here: the master is gone */
} cq_storage_args_t;

/* Exit status of a storage process that could not open or load its store
 * (the master stops rather than run without the stored state). */
#define CQ_STORAGE_EXIT_FATAL 2

/* Run it in this process (after fork); returns the exit status.  'chan'
 * gets CQ_CHAN_READY once the state is loaded (-1: nobody to tell). */
int cq_storage_run(const cq_storage_args_t *args, int chan);

/* The master's child entry point: 'arg' is a cq_storage_args_t. */
int cq_storage_child_main(struct cq_child *child, void *arg);

#endif /* CQ_STORAGE_STORAGE_H */
