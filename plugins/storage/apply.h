/*
 * apply.h — comqtt-storage's batches: drain the workers' event rings
 * (shm/persist.h) into one backend transaction (group commit).
 *
 * A batch takes every record published when it starts, ring by ring in
 * order, honouring barriers (shm/pevent.h: a record waits until the ring
 * it names has been applied up to the position it names), turns each
 * event into writes of the stored format (codec.h) and commits them with
 * the position applied per ring (meta "applied").  Only then are the
 * records released to the workers, the committed watermarks published
 * (sync acknowledgements wait on them) and the message references the
 * records held dropped.  A batch that fails to commit is abandoned whole:
 * the read positions go back to the heads, the index is rebuilt from the
 * backend, and the next batch tries again.
 */
#ifndef CQ_STORAGE_APPLY_H
#define CQ_STORAGE_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "plugins/storage/backend.h"
#include "plugins/storage/index.h"
#include "shm/region.h"

typedef struct cq_apply {
	const cq_store_ops_t *ops;
	cq_store_t *st;
	cq_sindex_t *ix;
	unsigned nslots;
	uint64_t epoch; /* of this region's rings */
	uint64_t applied[CQ_MAX_WORKERS]; /* in the backend, this epoch */
	uint64_t done[CQ_MAX_WORKERS]; /* handled in this batch */
	uint64_t snap[CQ_MAX_WORKERS]; /* tails when the batch began */
	cq_off_t *unref; /* references held by this batch's records */
	size_t nunref, cap_unref;
	cq_buf_t key, val;
	bool wrote;
	bool failed; /* the last batch failed */
	uint64_t events; /* applied, all time */
	uint64_t batches;
} cq_apply_t;

/*
 * Set up over an open backend and its index: reads meta "applied", so
 * that records an earlier storage process of this region committed are
 * not applied again.  0, or -1 (logged).
 */
int cq_apply_init(cq_apply_t *ap, const cq_store_ops_t *ops, cq_store_t *st,
	cq_sindex_t *ix);
void cq_apply_free(cq_apply_t *ap);

/*
 * One batch.  Returns the number of records handled (0: nothing was
 * waiting), or -1 when the backend failed (logged; nothing was released,
 * ap->failed set).
 */
long cq_apply_batch(cq_apply_t *ap);

/* Write the $SYS counters into meta "sys" (its own small batch). */
int cq_apply_sys(cq_apply_t *ap, const uint64_t *v, unsigned n);

#endif /* CQ_STORAGE_APPLY_H */
