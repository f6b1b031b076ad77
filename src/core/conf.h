/*
 * conf.h — comqttd's configuration: one YAML file, etc/comqtt.yml,
 * documented in comqtt.yml(5).
 *
 * (The module is "config" -- cq_config_*() -- but its files are conf.c and
 * conf.h: a src/core/config.h would shadow the build's config.h for every
 * file in src/core, since #include "config.h" looks beside the file first.)
 *
 * The file is loaded into a plain struct, cq_config_t, that the master and
 * (through fork) every child read directly: no lookups by name at run time.
 * Every key has a default, so a key absent from the file (even inside a
 * block written in part) holds its documented default, never zero.
 * Unknown keys, wrong types and out-of-range values are errors naming the
 * file, line, column and key path.
 *
 * The keys are rows of a table (conf.c) run by the engine in
 * config_schema.h.  To add a key: a field below, a row in conf.c, a
 * paragraph in man/comqtt.yml.5 and an entry in etc/comqtt.yml
 * (t/004_config_docs.t fails until both documents have it).
 *
 * Reload: on SIGHUP the master loads the file into a new cq_config_t, with
 * the same command line (cq_config_load_cmdline()); cq_config_diff()
 * reports each changed key and whether it applies live (the master logs
 * the rest as needing a restart), and cq_config_keep_restart_keys() puts
 * the old values of those back, leaving the configuration to run with.
 */
#ifndef CQ_CORE_CONF_H
#define CQ_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "core/config_schema.h"
#include "core/conf_admin.h"
#include "core/conf_auth.h"
#include "core/conf_storage.h"
#include "core/conf_listener.h"

#define CQ_CONFIG_WORKERS_MAX   64
#define CQ_CONFIG_LISTENERS_MAX 64
/* A configuration file larger than this is refused unread. */
#define CQ_CONFIG_FILE_MAX (4 * 1024 * 1024)

/*
 * Listener kinds.  To add one: a value here before CQ_LISTENER_TYPE_COUNT,
 * its name in listener_types[] in conf.c.
 */
typedef enum cq_listener_type {
	CQ_LISTENER_TCP = 0,
	CQ_LISTENER_UNIX,
	CQ_LISTENER_TLS, /* MQTT over TLS */
	CQ_LISTENER_WS, /* MQTT over WebSocket */
	CQ_LISTENER_WSS, /* MQTT over WebSocket over TLS */
	CQ_LISTENER_HEALTH, /* HTTP health check, served by the master */
	CQ_LISTENER_TYPE_COUNT
} cq_listener_type_t;

/* How a listener's connections reach the workers (DESIGN.md, section 1). */
typedef enum cq_accept_mode {
	CQ_ACCEPT_REUSEPORT = 0, /* one SO_REUSEPORT socket per worker */
	CQ_ACCEPT_HANDOFF, /* the master accepts and passes the fd */
} cq_accept_mode_t;

/* What a full offline queue does with a new message. */
typedef enum cq_queue_overflow {
	CQ_QUEUE_DROP_OLDEST = 0,
	CQ_QUEUE_DROP_NEW,
} cq_queue_overflow_t;

typedef struct cq_config_listener {
	char *name; /* unique; letters, digits, _ - . */
	cq_listener_type_t type;
	cq_addr_t address; /* host:port, or a path for unix */
	uint32_t mode; /* unix socket file mode */
	cq_accept_mode_t accept;
	int32_t worker; /* handoff: pin to this worker slot; -1: any */
	uint32_t max_connections; /* 0: only limits.max_connections */
	char *mount_point; /* topic prefix, "" for none */
	bool allow_remote; /* clients from non-loopback addresses */
	/* The edges (conf_listener.h): what happens before MQTT. */
	uint32_t handshake_timeout; /* s: proxy header, TLS, HTTP upgrade */
	bool proxy_protocol; /* a PROXY v1/v2 header opens each connection */
	cq_cfg_strlist_t trusted_proxies; /* addresses/CIDRs of proxies */
	uint32_t rate_limit; /* new connections/s per source address; 0 off */
	uint32_t rate_burst; /* bucket size of rate_limit */
	char *path; /* HTTP path of ws, wss, health; "" = the type's */
	uint32_t max_frame_size; /* ws, wss; 0 = limits.max_packet_size */
	uint32_t max_header_size; /* HTTP request head, ws and health */
	cq_config_tls_t tls; /* tls, wss */
} cq_config_listener_t;

typedef struct cq_config_log {
	char *file; /* "stderr" or a path */
	int level; /* CQ_LOG_DEBUG .. CQ_LOG_ERR (core/log.h) */
} cq_config_log_t;

typedef struct cq_config_limits {
	uint32_t max_connections;
	uint32_t max_sessions;
	uint32_t max_packet_size;
	uint32_t max_inflight;
	uint32_t max_queued_messages;
	cq_queue_overflow_t queue_overflow;
	uint32_t max_topic_levels;
	uint32_t max_client_id_len;
	uint32_t max_subscriptions_per_session; /* 0: unlimited */
	uint32_t keepalive_max; /* seconds; 0: no cap */
	uint32_t retained_max; /* 0: unlimited */
} cq_config_limits_t;

/* MQTT capabilities and compatibility switches (Go comqtt's names). */
typedef struct cq_config_mqtt {
	uint32_t maximum_session_expiry_interval; /* seconds */
	uint32_t maximum_message_expiry_interval; /* seconds; 0: no cap */
	uint16_t receive_maximum;
	uint16_t topic_alias_maximum;
	uint8_t maximum_qos;
	uint8_t minimum_protocol_version; /* 3 (3.1), 4 (3.1.1), 5 */
	bool retain_available;
	bool wildcard_subscription_available;
	bool subscription_identifier_available;
	bool shared_subscription_available;
	bool allow_zero_length_client_id;
	bool obscure_not_authorized;
	bool passive_client_disconnect;
	bool always_return_response_info;
	bool restore_sys_info_on_restart;
	char *server_reference; /* "": none; else CONNACK 0x9C / 0x9D */
	bool server_moved; /* 0x9D (permanent) instead of 0x9C */
	char *enhanced_auth_test_secret; /* "": the test method is off */
} cq_config_mqtt_t;

typedef struct cq_config_shm {
	uint64_t ring_size; /* bytes per ordered worker pair */
	uint32_t auth_cache_entries;
	uint32_t route_shards;
} cq_config_shm_t;

typedef struct cq_config {
	uint32_t workers; /* 0: one per online CPU; see cq_config_workers() */
	bool worker_cpu_affinity; /* one CPU per worker (master/affinity.h) */
	char *user; /* "": do not drop privileges */
	char *pid_file; /* "": none */
	char *data_dir;
	uint64_t shm_size; /* bytes */
	uint32_t sys_interval; /* seconds; 0: no $SYS topics */
	cq_config_log_t log;
	cq_config_listener_t listeners[CQ_CONFIG_LISTENERS_MAX];
	size_t n_listeners;
	cq_config_limits_t limits;
	cq_config_mqtt_t mqtt;
	cq_config_shm_t shm;
	cq_config_auth_t auth; /* comqtt-authd (conf_auth.h) */
	cq_config_storage_t storage; /* comqtt-storage (conf_storage.h) */
	cq_config_admin_t admin; /* comqtt-admin (conf_admin.h) */
} cq_config_t;

/* What the command line says about the configuration. */
typedef struct cq_config_cmdline {
	const char *file; /* -c FILE, or NULL for the embedded defaults */
	const char *workers; /* --workers N, or NULL */
	const char *pid_file; /* --pid-file FILE, or NULL */
} cq_config_cmdline_t;

/*
 * The embedded defaults.  0, or -1 (out of memory; logged).
 */
int cq_config_load_defaults(cq_config_t *cfg_r);

/*
 * The defaults overlaid with the file at 'path'.  0, or -1 with *error_r
 * (malloc'd; NULL if out of memory) such as "comqtt.yml:12:5:
 * limits.max_packet_size: expected a size like 1M, got \"big\"", and
 * *cfg_r zero-filled (nothing to free).
 */
int cq_config_load_file(const char *path, cq_config_t *cfg_r, char **error_r);

/* The same for text in memory; 'name' stands for the file in messages. */
int cq_config_load_string(const char *name, const char *text, size_t len,
	cq_config_t *cfg_r, char **error_r);

/*
 * The file or the defaults, then the command-line overrides.  The master
 * calls this at start and again at SIGHUP, so overrides outlive reloads.
 * Errors as cq_config_load_file().
 */
int cq_config_load_cmdline(
	const cq_config_cmdline_t *cl, cq_config_t *cfg_r, char **error_r);

/* Set one key from text as written in the file ("limits.max_inflight",
 * "64").  0, or -1 with *error_r; on error free the configuration. */
int cq_config_set(
	cq_config_t *cfg, const char *path, const char *value, char **error_r);

void cq_config_free(cq_config_t *cfg);

/*
 * Print the configuration as a YAML file that loads back to the same
 * values (--print-config).  0, or -1 if writing failed.
 */
int cq_config_print(const cq_config_t *cfg, FILE *out);

/*
 * Report every key that differs from old_cfg to new_cfg, with whether it
 * applies live (see config_schema.h).  Returns the number of changes, or
 * -1 if out of memory.
 */
int cq_config_diff(const cq_config_t *old_cfg, const cq_config_t *new_cfg,
	cq_cfg_change_fn *fn, void *ctx);

/*
 * After cq_config_diff() has reported a reload: new_cfg keeps its live
 * values and gets back the old values of keys that need a restart, so it
 * is what the running broker should use from now on.  Both configurations
 * stay valid and are freed as usual.
 */
void cq_config_keep_restart_keys(cq_config_t *old_cfg, cq_config_t *new_cfg);

/*
 * A child process's reload (SIGHUP or the master's RELOAD): the file again
 * with the same command line, the running values of restart-only keys
 * kept, the log level and file applied.  *cfg_io becomes the fresh
 * configuration; the old one is freed unless it is 'inherited' (the
 * master's, which the child was forked with).  0, or -1 when the file does
 * not load (the master logs why; *cfg_io is unchanged).
 */
int cq_config_reload_child(const cq_config_cmdline_t *cl, cq_config_t **cfg_io,
	const cq_config_t *inherited);

/* The key table, for documentation and its tests. */
const cq_cfg_table_t *cq_config_schema(void);

/* The number of workers to run: 'workers', or the online CPUs (1..64). */
unsigned cq_config_workers(const cq_config_t *cfg);

/* "tcp", "unix", "tls", "ws", "wss", "health". */
const char *cq_config_listener_type_name(cq_listener_type_t type);

#endif /* CQ_CORE_CONF_H */
