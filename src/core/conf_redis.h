/*
 * conf_redis.h — the keys of a connection to Redis, shared by the maps
 * that have one (auth.redis in conf_auth.c, storage.redis in
 * conf_storage.c): address, username, password, db, and the check that
 * the address names a host.  Part of the config module.
 */
#ifndef CQ_CORE_CONF_REDIS_H
#define CQ_CORE_CONF_REDIS_H

#include "core/addr.h"
#include "core/config_schema.h"

/* The rows of struct T's fields address, username, password and db, with
 * key flags F (CQ_CFG_LIVE or 0). */
#define CQ_CFG_REDIS_ROWS(T, F)                                                \
	{.name = "address",                                                    \
		.type = CQ_CFG_ADDRESS,                                        \
		CQ_CFG_AT(T, address),                                         \
		.def = "127.0.0.1:6379",                                       \
		.flags = (F),                                                  \
		.doc = "host:port or the path of Redis's Unix socket"},        \
		{.name = "username",                                           \
			.type = CQ_CFG_STRING,                                 \
			CQ_CFG_AT(T, username),                                \
			.def = "",                                             \
			.flags = (F),                                          \
			.min = 0,                                              \
			.max = 256,                                            \
			.doc = "ACL user for AUTH; \"\" = none"},              \
		{.name = "password",                                           \
			.type = CQ_CFG_STRING,                                 \
			CQ_CFG_AT(T, password),                                \
			.def = "",                                             \
			.flags = (F),                                          \
			.min = 0,                                              \
			.max = 1024,                                           \
			.doc = "password for AUTH; \"\" = none"},              \
	{                                                                      \
		.name = "db", .type = CQ_CFG_INT, CQ_CFG_AT(T, db),            \
		.def = "0", .flags = (F), .min = 0, .max = 65535,              \
		.doc = "database number (SELECT)"                              \
	}

/* A map check: a TCP address needs a host.  0, or -1 (reported). */
static inline int
cq_cfg_check_redis_address(cq_cfg_check_t *ck, const cq_addr_t *a)
{
	if (!a->is_path && a->host[0] == '\0')
		return cq_cfg_fail(
			ck, "address", "needs a host, like 127.0.0.1:6379");
	return 0;
}

#endif /* CQ_CORE_CONF_REDIS_H */
