/*
 * blacklist.h — client ids refused at CONNECT, in shm.
 *
 * The admin API blacklists a client id (POST /api/v1/mqtt/blacklist/{id}):
 * the id goes into this table and every worker refuses a CONNECT carrying
 * it (CONNACK 0x8A Banned, or 5 on MQTT 3) until the id is removed.  The
 * table lives in shm so that every worker sees a change at once and a
 * respawned admin or worker finds it as it was.
 *
 * A fixed number of entries (admin.blacklist_max), each a client id of at
 * most CQ_BLACKLIST_ID_MAX bytes with its hash under a sequence counter.
 * Readers (workers at CONNECT) take no lock and write nothing: an empty
 * table costs one load; otherwise they scan the used prefix comparing
 * hashes and read a matching entry between two reads of its counter.
 * Writers (the admin) take one robust mutex; a writer that dies inside
 * leaves at most one entry with an odd counter, which readers skip and
 * the next writer (CQ_LOCK_RECOVERED) clears.
 */
#ifndef CQ_SHM_BLACKLIST_H
#define CQ_SHM_BLACKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"

#define CQ_BLACKLIST_ID_MAX 256u

/*
 * Add 'id'.  1 added, 0 already there; -1 with errno EINVAL (empty, or
 * longer than CQ_BLACKLIST_ID_MAX), ENOSPC (table full) or ENODEV (no
 * region).  Takes the table's lock.
 */
int cq_blacklist_add(const char *id, size_t len);
/* Remove 'id': 1 removed, 0 not there (-1 ENODEV).  Takes the lock. */
int cq_blacklist_remove(const char *id, size_t len);
/* Whether 'id' is blacklisted.  Lock-free, any process. */
bool cq_blacklist_has(const char *id, size_t len);

/* Every id (a consistent copy of each entry; the table may change
 * meanwhile).  Returns the number visited. */
typedef void (*cq_blacklist_fn)(void *arg, const char *id, size_t len);
size_t cq_blacklist_foreach(cq_blacklist_fn fn, void *arg);

size_t cq_blacklist_count(void);
size_t cq_blacklist_capacity(void);
/* Bumped by every change (to know when to save the table). */
uint64_t cq_blacklist_version(void);

/* Whether the table has been loaded from its file since the region was
 * created, and marking it so (the admin, once). */
bool cq_blacklist_loaded(void);
void cq_blacklist_set_loaded(void);

extern const cq_shm_module_t cq_blacklist_module;

#endif /* CQ_SHM_BLACKLIST_H */
