/*
 * backend.h — the interface between comqtt-storage and its backends.
 *
 * A backend is an ops table registered by name (main.c lists them), one
 * per file, ending in a designated-initialiser instance:
 *
 *     const cq_store_ops_t cq_store_lmdb = {
 *         .name = "lmdb", .abi_version = CQ_STORE_ABI, .open = ..., ...
 *     };
 *
 * A backend is a plain ordered key-value store of the four tables of
 * codec.h; what the keys and values mean, and every rule about sessions
 * and incarnations, is above it (apply.c, load.c), the same for all.
 *
 * Writes happen only inside a batch (begin .. commit/abort): one atomic
 * transaction, durable when commit returns 0 (LMDB: synced to disk;
 * Redis: MULTI/EXEC, as durable as the server's own persistence).  Reads
 * (get, scan) happen outside batches, at start-up.
 *
 * Errors: -1 with errno, and a message in the backend's own log lines.
 * ENOSPC from a write or commit means "full" (disk, map limit): the caller
 * refuses new persistent state until a later commit succeeds.
 */
#ifndef CQ_STORAGE_BACKEND_H
#define CQ_STORAGE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/conf.h"

/* Bumped when this interface changes incompatibly. */
#define CQ_STORE_ABI 1

typedef struct cq_store cq_store_t; /* a backend's private state */

/* A scanned entry: 0 to go on, -1 to stop the scan (its result is -1). */
typedef int (*cq_store_scan_fn)(
	void *arg, const void *key, size_t klen, const void *val, size_t vlen);

typedef struct cq_store_ops {
	const char *name;
	unsigned abi_version;
	/*
	 * Open the store the configuration names, creating an empty one, and
	 * check its format tag (codec.h): a store holding data without the
	 * tag, or another tag, is refused untouched.  0, or -1 with *error_r
	 * (malloc'd) naming the store and what is wrong.
	 */
	int (*open)(const cq_config_t *cfg, cq_store_t **st_r, char **error_r);
	void (*close)(cq_store_t *st);
	int (*begin)(cq_store_t *st);
	int (*commit)(cq_store_t *st);
	/* Abandon the batch.  1 when trying it again at once may work (the
	 * LMDB map was full and has grown), else 0. */
	int (*abort)(cq_store_t *st);
	int (*put)(cq_store_t *st, unsigned table, const void *key, size_t klen,
		const void *val, size_t vlen);
	/* Absent is not an error. */
	int (*del)(
		cq_store_t *st, unsigned table, const void *key, size_t klen);
	/* Every key of 'table' starting with 'prefix'. */
	int (*del_prefix)(cq_store_t *st, unsigned table, const void *prefix,
		size_t plen);
	/* 1 found (value copied into buf), 0 absent, -1 error. */
	int (*get)(cq_store_t *st, unsigned table, const void *key, size_t klen,
		cq_buf_t *buf);
	/* Every entry of 'table' (any order): 0, or -1. */
	int (*scan)(
		cq_store_t *st, unsigned table, cq_store_scan_fn fn, void *arg);
	/* Housekeeping after a successful commit (LMDB: grow the map when
	 * nearly full); may be NULL. */
	void (*after_commit)(cq_store_t *st);
} cq_store_ops_t;

extern const cq_store_ops_t cq_store_lmdb;
extern const cq_store_ops_t cq_store_redis;

/* For open(): *error_r = the formatted message (malloc'd; NULL when out
 * of memory).  Returns -1. */
int cq_store_fail(char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The ops of a configured backend, or NULL for "none". */
const cq_store_ops_t *cq_store_ops_for(cq_storage_backend_t b);

#endif /* CQ_STORAGE_BACKEND_H */
