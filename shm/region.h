/*
 * region.h — the one shared-memory region: create, attach, table of contents.
 *
 * The master creates the region (memfd_create + ftruncate + mmap MAP_SHARED)
 * before forking, so every child inherits it.  It opens with a header
 * (magic, layout version, size, generation, the sizing configuration) and a
 * table of contents of named areas.  The region never grows after start.
 *
 * Every shm module is a cq_shm_module_t listed in shm/modules.c: the region
 * is sized first (sum of each module's size()) and initialised second (each
 * module's init() on its own zeroed area), PostgreSQL's pattern.  The arena
 * is last and takes whatever the fixed-size modules leave.  The checker and
 * the reaper walk the same list.
 */
#ifndef CQ_SHM_REGION_H
#define CQ_SHM_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "shm/relptr.h"

#define CQ_SHM_MAGIC          UINT64_C(0x3154545151514d43) /* "CMQQTT1" */
#define CQ_SHM_LAYOUT_VERSION 1u
#define CQ_MAX_WORKERS        64u
#define CQ_SHM_TOC_MAX        32u
#define CQ_SHM_NAME_MAX       24u
/* Slot number of processes that are not workers (master, tools, tests). */
#define CQ_SLOT_NONE 0xffffu

/* What the region is sized from; copied into the header (fixed widths). */
typedef struct cq_shm_conf {
	uint64_t size; /* whole region in bytes (shm_size:) */
	uint32_t workers; /* worker slots, 1..CQ_MAX_WORKERS */
	uint32_t max_sessions; /* session table capacity */
	uint32_t ring_bytes; /* bytes per ring[src][dst], power of 2 */
	uint32_t auth_cache_entries; /* auth/ACL cache capacity */
	uint32_t route_shards; /* writer-lock shards of the route trie */
	uint32_t reserved[9];
} cq_shm_conf_t;

typedef struct cq_shm_toc_entry {
	char name[CQ_SHM_NAME_MAX];
	uint64_t offset; /* bytes from the base, CQ_SHM_GRANULE aligned */
	uint64_t size;
} cq_shm_toc_entry_t;

typedef struct cq_shm_header {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t header_size;
	uint64_t size;
	uint64_t generation; /* bumped each time the region is (re)created */
	uint32_t creator_pid;
	uint32_t ntoc;
	cq_shm_conf_t conf;
	cq_shm_toc_entry_t toc[CQ_SHM_TOC_MAX];
} cq_shm_header_t;

/* A process's handle on a mapping. */
typedef struct cq_shm {
	char *base;
	size_t size;
	int fd;
	cq_shm_header_t *hdr;
} cq_shm_t;

/* What the checker found: counts of problems and one line per problem
 * (logged through cq_log at "error"). */
typedef struct cq_shm_report {
	unsigned errors;
	unsigned repaired;
	unsigned leaked_objects;
} cq_shm_report_t;

/* One module of the region. */
typedef struct cq_shm_module {
	const char *name;
	/* Bytes this module needs for 'conf' (0: none, the arena: ignored). */
	size_t (*size)(const cq_shm_conf_t *conf);
	/* Initialise the zeroed area; 0 or -1 with *error_r set. */
	int (*init)(
		cq_shm_t *shm, void *area, size_t size, const char **error_r);
	/* Validate (and where safe repair) the area; may be NULL. */
	void (*check)(cq_shm_t *shm, void *area, cq_shm_report_t *rep);
	/* Release what dead worker 'slot' held; may be NULL.  Master only,
	 * after the worker has been waited for. */
	void (*reap)(cq_shm_t *shm, void *area, unsigned slot);
} cq_shm_module_t;

/* This process's worker slot (CQ_SLOT_NONE until a worker sets it). */
extern unsigned cq_shm_slot;

/*
 * Create a region sized for 'conf', initialise every module and make it the
 * current mapping.  0, or -1 with *error_r naming what failed (size too
 * small for the fixed tables, memfd_create/mmap failure).
 */
int cq_shm_create(
	const cq_shm_conf_t *conf, cq_shm_t *shm_r, const char **error_r);

/*
 * Map an existing region from its memfd at whatever address the kernel
 * picks and validate the header (magic, layout version, size, TOC bounds).
 * Does not change the current mapping.  0 or -1 with *error_r.
 */
int cq_shm_attach(int fd, cq_shm_t *shm_r, const char **error_r);

/* Make 'shm' the current mapping (cq_shm_cur) of this process. */
void cq_shm_use(const cq_shm_t *shm);

void cq_shm_detach(cq_shm_t *shm);

/* The area a module registered, or NULL; *size_r gets its size. */
void *cq_shm_area(const cq_shm_t *shm, const char *name, size_t *size_r);

/* Run every module's checker; returns the number of errors left. */
unsigned cq_shm_check(cq_shm_t *shm, cq_shm_report_t *rep);

/* Release everything dead worker 'slot' held (locks, QSBR slot, magazines,
 * ring ends, message references).  Master only. */
void cq_shm_reap(cq_shm_t *shm, unsigned slot);

#endif /* CQ_SHM_REGION_H */
