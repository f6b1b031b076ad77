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
#define CQ_SHM_LAYOUT_VERSION 5u
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
	uint32_t persist_ring_bytes; /* per worker -> storage ring, power
					of 2; 0: no persistence (persist.h) */
	uint32_t blacklist_max; /* client ids the admin may blacklist */
	uint32_t reserved[8];
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

/* Inputs of cq_shm_check (cq_shm_report_t.flags). */
/* Nothing else touches the region during the check (workers stopped, or a
 * test after its children exited): the checker may also walk ring
 * contents, recompute message refcounts and count leaked arena objects. */
#define CQ_SHM_CHECK_QUIESCENT 0x1u
/* With QUIESCENT: free leaked objects and lower leaked references. */
#define CQ_SHM_CHECK_REPAIR 0x2u

struct cq_shm_check_state;

/* What the checker found: counts of problems and one line per problem
 * (logged through cq_log at "error"). */
typedef struct cq_shm_report {
	unsigned errors;
	unsigned repaired;
	unsigned leaked_objects;
	/* Inputs (zero: a concurrent, read-mostly check). */
	unsigned flags;
	/* References held outside the module list (tests, tools): called
	 * during a quiescent check to cq_arena_mark() objects and
	 * cq_msg_census_add() message references.  May be NULL. */
	void (*declare)(
		struct cq_shm *shm, struct cq_shm_report *rep, void *arg);
	void *declare_arg;
	/* Private to the checker while it runs. */
	struct cq_shm_check_state *state;
} cq_shm_report_t;

/* One module of the region. */
typedef struct cq_shm_module {
	const char *name;
	/* Bytes this module needs for 'conf' (the arena: its minimum).  A
	 * module needing none (size NULL or 0) gets no TOC entry, and its
	 * hooks are called with area NULL. */
	size_t (*size)(const cq_shm_conf_t *conf);
	/* Initialise the zeroed area; 0 or -1 with *error_r set. */
	int (*init)(
		cq_shm_t *shm, void *area, size_t size, const char **error_r);
	/* Validate (and where safe repair) the area; may be NULL. */
	void (*check)(cq_shm_t *shm, void *area, cq_shm_report_t *rep);
	/* Release what dead worker 'slot' held; may be NULL.  Master only,
	 * after the worker has been waited for. */
	void (*reap)(cq_shm_t *shm, void *area, unsigned slot);
	/* Cache pointers into 'shm' (now the current mapping) in process
	 * memory: called by cq_shm_create (right after its init, the
	 * arena's before any other module's init), cq_shm_use and
	 * cq_shm_set_slot; with area NULL when the current mapping is
	 * detached (forget it).  May be NULL. */
	void (*use)(cq_shm_t *shm, void *area, size_t size);
	/* Second pass of the checker, after every module's check has
	 * declared its references (messages verify refcounts here).  May be
	 * NULL. */
	void (*check_final)(cq_shm_t *shm, void *area, cq_shm_report_t *rep);
	unsigned flags; /* CQ_SHM_MOD_* */
} cq_shm_module_t;

/*
 * The module's check, when quiescent, cq_arena_mark()s every arena object
 * it owns (a module owning none sets it too).  The arena counts unmarked
 * live objects as leaks only when every module in the list says so.
 */
#define CQ_SHM_MOD_MARKS 0x1u

/* The module list (shm/modules.c), NULL-terminated.  The arena is laid out
 * last (it takes the rest of the region), initialised first (other modules
 * may allocate in init) and checked last. */
extern const cq_shm_module_t *const cq_shm_modules[];

/* This process's worker slot (CQ_SLOT_NONE until a worker sets it).  Set
 * it with cq_shm_set_slot(). */
extern unsigned cq_shm_slot;

/* Fill 'conf' with small working defaults (tests, tools; the master sizes
 * from the configuration file). */
void cq_shm_conf_init(cq_shm_conf_t *conf);
/* 0, or -1 with *error_r when 'conf' cannot describe a region. */
int cq_shm_conf_validate(const cq_shm_conf_t *conf, const char **error_r);

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
/* The current mapping, or NULL. */
const cq_shm_t *cq_shm_current(void);
/* Take worker slot 'slot' (< conf.workers, or CQ_SLOT_NONE) in this
 * process: per-slot caches (counters, magazines) follow. */
void cq_shm_set_slot(unsigned slot);

void cq_shm_detach(cq_shm_t *shm);

/* The area a module registered, or NULL; *size_r gets its size. */
void *cq_shm_area(const cq_shm_t *shm, const char *name, size_t *size_r);

/*
 * Validate the header and TOC, then run every module's check and
 * check_final (rep->flags say how deep; the counts accumulate into *rep).
 * Returns rep->errors: problems found and not repaired.  Concurrent checks
 * take each module's locks briefly; a quiescent check must really be
 * alone.
 */
unsigned cq_shm_check(cq_shm_t *shm, cq_shm_report_t *rep);

/* For modules' checks: log one problem and count it. */
void cq_shm_check_error(cq_shm_report_t *rep, const char *module,
	const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Non-zero when the check is quiescent (see CQ_SHM_CHECK_QUIESCENT). */
int cq_shm_check_quiescent(const cq_shm_report_t *rep);
/* A per-module pointer that lives for one cq_shm_check (NULL outside a
 * check): modules keep their private check state (census, marks) here and
 * free it in check_final. */
void **cq_shm_check_scratch(
	cq_shm_report_t *rep, const cq_shm_module_t *module);
/* True when every module marks its objects (CQ_SHM_MOD_MARKS). */
int cq_shm_check_leaks_countable(const cq_shm_report_t *rep);

/* Release everything dead worker 'slot' held (locks, QSBR slot, magazines,
 * ring ends, message references).  Master only. */
void cq_shm_reap(cq_shm_t *shm, unsigned slot);

#endif /* CQ_SHM_REGION_H */
