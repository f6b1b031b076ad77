/*
 * conf_storage.h — the storage: section of comqtt.yml (types only; part of
 * the config module, conf.h includes it).
 *
 * Which backend keeps the durable copy of sessions and retained messages
 * (comqtt-storage, plugins/storage/), whether acknowledgements wait for
 * it, and each backend's settings.  The rows are in conf_storage.c; every
 * key is documented in comqtt.yml(5) and etc/comqtt.yml.  None is live:
 * the region's rings and the storage process are set up at start.
 */
#ifndef CQ_CORE_CONF_STORAGE_H
#define CQ_CORE_CONF_STORAGE_H

#include <stdint.h>

#include "core/addr.h"
#include "core/config_schema.h"

typedef enum cq_storage_backend {
	CQ_STORAGE_NONE = 0, /* in memory only */
	CQ_STORAGE_LMDB,
	CQ_STORAGE_REDIS,
} cq_storage_backend_t;

typedef enum cq_persistence {
	CQ_PERSISTENCE_ASYNC = 0, /* acknowledgements do not wait */
	CQ_PERSISTENCE_SYNC, /* PUBACK/PUBREC after the commit */
} cq_persistence_t;

typedef struct cq_config_storage_lmdb {
	uint64_t map_size; /* initial map size, bytes */
	uint64_t map_size_max; /* growth stops here; 0: no limit */
} cq_config_storage_lmdb_t;

typedef struct cq_config_storage_redis {
	cq_addr_t address; /* host:port or a socket path */
	char *username;
	char *password;
	uint32_t db;
	char *prefix; /* key prefix */
} cq_config_storage_redis_t;

typedef struct cq_config_storage {
	cq_storage_backend_t backend;
	cq_persistence_t persistence;
	uint32_t batch_ms; /* longest wait before a commit */
	uint64_t ring_size; /* bytes of each worker's ring to storage */
	cq_config_storage_lmdb_t lmdb;
	cq_config_storage_redis_t redis;
} cq_config_storage_t;

extern const char *const cq_config_storage_backend_names[];
extern const cq_cfg_table_t cq_config_storage_table;

#endif /* CQ_CORE_CONF_STORAGE_H */
