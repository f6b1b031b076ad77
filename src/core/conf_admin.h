/*
 * conf_admin.h — the admin: section of comqtt.yml (types only; part of the
 * config module, conf.h includes it).
 *
 * comqtt-admin is the child of comqttd that serves the REST API, the
 * Prometheus metrics and the dashboard over HTTP (or HTTPS).  The rows are
 * in conf_admin.c; every key is documented in comqtt.yml(5) and
 * etc/comqtt.yml.
 */
#ifndef CQ_CORE_CONF_ADMIN_H
#define CQ_CORE_CONF_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/conf_listener.h"
#include "core/config_schema.h"

typedef struct cq_config_admin {
	bool enabled;
	cq_addr_t address;
	char *token; /* "" : <data_dir>/admin.token, made on first start */
	bool allow_loopback; /* loopback clients need no token */
	uint64_t max_body; /* bytes of a request body */
	uint32_t timeout; /* seconds a connection may stay silent */
	char *dashboard_dir; /* "" : the installed dashboard */
	uint32_t blacklist_max; /* client ids the blacklist holds */
	cq_config_tls_t tls; /* the listeners' tls: keys; no cert_file:
			      * plain HTTP */
} cq_config_admin_t;

/* The admin: map's table (conf_admin.c), a row of comqttd's root table. */
extern const cq_cfg_table_t cq_config_admin_table;

#endif /* CQ_CORE_CONF_ADMIN_H */
