/*
 * index.h — comqtt-storage's private map of the stored sessions: client
 * id -> the stored session record (incarnation, expiry, sizes).
 *
 * Applying an event needs to know which incarnation of a client id is
 * stored (pevent.h) and the session record to rewrite; keeping them here
 * means a batch only writes, which matters for a networked backend.  The
 * index is built from the backend at start (load.c) and changed only with
 * the backend, batch by batch; a batch that fails to commit rebuilds it
 * from the backend.  Entries also carry what the loader collects for a
 * session (its shm offset, its queued messages in position order).
 *
 * Open addressing with linear probing and backward-shift deletion, keyed
 * by a hash of the client id; single-threaded.
 */
#ifndef CQ_STORAGE_INDEX_H
#define CQ_STORAGE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "shm/pevent.h"
#include "shm/relptr.h"

/* A queued message the loader holds until the queue is rebuilt. */
typedef struct cq_sindex_q {
	uint32_t pos;
	cq_off_t msg;
} cq_sindex_q_t;

typedef struct cq_sindex_ent {
	char *id; /* NULL: free slot */
	size_t id_len;
	uint64_t hash;
	cq_pev_sess_t rec;
	/* the loader's */
	cq_off_t sess;
	cq_sindex_q_t *queue;
	uint32_t nqueue, cap_queue;
} cq_sindex_ent_t;

typedef struct cq_sindex {
	cq_sindex_ent_t *e;
	size_t cap; /* power of two */
	size_t n;
} cq_sindex_t;

void cq_sindex_init(cq_sindex_t *ix);
void cq_sindex_free(cq_sindex_t *ix);
/* Drop every entry (the table stays allocated). */
void cq_sindex_clear(cq_sindex_t *ix);
cq_sindex_ent_t *cq_sindex_get(cq_sindex_t *ix, const char *id, size_t len);
/* The entry of id, created (zeroed) if absent; NULL when out of memory.
 * Pointers to entries are valid until the next put or delete. */
cq_sindex_ent_t *cq_sindex_put(cq_sindex_t *ix, const char *id, size_t len);
void cq_sindex_del(cq_sindex_t *ix, const char *id, size_t len);
/* Append a queued message to an entry: 0, or -1 ENOMEM. */
int cq_sindex_queue_add(cq_sindex_ent_t *e, uint32_t pos, cq_off_t msg);

#endif /* CQ_STORAGE_INDEX_H */
