/*
 * conf_storage.c — the keys of the storage: section (conf_storage.h).
 *
 * Kept apart from conf.c like conf_auth.c: conf.c has one row that hangs
 * this table under "storage".  Add a row, a field, a paragraph in
 * man/comqtt.yml.5 and an entry in etc/comqtt.yml.
 */
#include "config.h"
#include "core/conf_storage.h"

#include <stddef.h>
#include <string.h>

#include "core/conf_redis.h"
#include "core/defs.h"

#define MB (INT64_C(1) << 20)
#define GB (INT64_C(1) << 30)

const char *const cq_config_storage_backend_names[] = {
	"none", "lmdb", "redis", NULL};
static const char *const persistence_names[] = {"async", "sync", NULL};

/* A Redis key prefix: no glob characters (the loader SCANs with it), no
 * spaces. */
static const char *
valid_prefix(const void *field)
{
	const char *s = *(char *const *)field;
	for (const char *p = s; *p != '\0'; p++)
		if (strchr("*?[]\\ \t\r\n", *p) != NULL)
			return "a key prefix without spaces or * ? [ ] \\";
	return NULL;
}

/* ---- storage.lmdb --------------------------------------------------- */

static int
check_lmdb(cq_cfg_check_t *ck)
{
	const cq_config_storage_lmdb_t *l = ck->obj;
	if (l->map_size_max != 0 && l->map_size_max < l->map_size)
		return cq_cfg_fail(
			ck, "map_size_max", "is below map_size (0 = no limit)");
	return 0;
}

#define LMDB(m) CQ_CFG_AT(cq_config_storage_lmdb_t, m)
static const cq_cfg_key_t lmdb_keys[] = {
	{.name = "map_size",
		.type = CQ_CFG_SIZE,
		LMDB(map_size),
		.def = "256M",
		.min = MB,
		.max = 1024 * GB,
		.doc = "initial size of the memory map (the file grows as "
		       "needed)"},
	{.name = "map_size_max",
		.type = CQ_CFG_SIZE,
		LMDB(map_size_max),
		.def = "0",
		.min = 0,
		.max = 1024 * GB,
		.doc = "the map doubles when nearly full, up to this; 0 = no "
		       "limit"},
};

static const cq_cfg_table_t lmdb_table = {
	.name = "lmdb",
	.keys = lmdb_keys,
	.n_keys = CQ_ARRAY_SIZE(lmdb_keys),
	.size = sizeof(cq_config_storage_lmdb_t),
	.check = check_lmdb,
};

/* ---- storage.redis -------------------------------------------------- */

static int
check_redis(cq_cfg_check_t *ck)
{
	const cq_config_storage_redis_t *r = ck->obj;
	return cq_cfg_check_redis_address(ck, &r->address);
}

#define REDIS(m) CQ_CFG_AT(cq_config_storage_redis_t, m)
static const cq_cfg_key_t redis_keys[] = {
	CQ_CFG_REDIS_ROWS(cq_config_storage_redis_t, 0),
	{.name = "prefix",
		.type = CQ_CFG_STRING,
		REDIS(prefix),
		.def = "comqtt",
		.min = 1,
		.max = 256,
		.valid = valid_prefix,
		.doc = "every key starts with <prefix>:"},
};

static const cq_cfg_table_t redis_table = {
	.name = "redis",
	.keys = redis_keys,
	.n_keys = CQ_ARRAY_SIZE(redis_keys),
	.size = sizeof(cq_config_storage_redis_t),
	.check = check_redis,
};

/* ---- storage -------------------------------------------------------- */

#define STORAGE(m) CQ_CFG_AT(cq_config_storage_t, m)
static const cq_cfg_key_t storage_keys[] = {
	{.name = "backend",
		.type = CQ_CFG_ENUM,
		STORAGE(backend),
		.def = "lmdb",
		.names = cq_config_storage_backend_names,
		.doc = "none (memory only), lmdb (in data_dir) or redis"},
	{.name = "persistence",
		.type = CQ_CFG_ENUM,
		STORAGE(persistence),
		.def = "async",
		.names = persistence_names,
		.doc = "async: acks do not wait; sync: PUBACK/PUBREC after "
		       "the commit"},
	{.name = "batch_ms",
		.type = CQ_CFG_INT,
		STORAGE(batch_ms),
		.def = "100",
		.min = 1,
		.max = 10000,
		.doc = "longest wait, in milliseconds, before changes are "
		       "committed"},
	{.name = "ring_size",
		.type = CQ_CFG_SIZE,
		STORAGE(ring_size),
		.def = "4M",
		.flags = CQ_CFG_POW2,
		.min = 64 * 1024,
		.max = GB,
		.doc = "bytes of each worker's ring of changes to the storage "
		       "process"},
	{.name = "lmdb",
		.type = CQ_CFG_MAP,
		STORAGE(lmdb),
		.sub = &lmdb_table,
		.doc = "the lmdb backend"},
	{.name = "redis",
		.type = CQ_CFG_MAP,
		STORAGE(redis),
		.sub = &redis_table,
		.doc = "the redis backend"},
};

const cq_cfg_table_t cq_config_storage_table = {
	.name = "storage",
	.keys = storage_keys,
	.n_keys = CQ_ARRAY_SIZE(storage_keys),
	.size = sizeof(cq_config_storage_t),
};
