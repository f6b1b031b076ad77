/*
 * conf.c — comqttd's configuration keys and the functions the master
 * calls (conf.h).
 *
 * The tables below are the single description of every key: name, type,
 * default, range, reload behaviour and a one-line doc.  The engine
 * (config_schema.c, config_types.c, config_yaml.c) does the rest.  When you
 * add a row, add the field in conf.h and document the key in
 * man/comqtt.yml.5 and etc/comqtt.yml; t/004_config_docs.t checks both.
 *
 * Reload flags (CQ_CFG_LIVE) are promises the runtime must keep: a key
 * marked live is applied by a SIGHUP without a restart.  Anything sized
 * into the shared-memory region, bound or forked at start is not live.
 */
#include "config.h"
#include "core/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"

#define KB (INT64_C(1) << 10)
#define MB (INT64_C(1) << 20)
#define GB (INT64_C(1) << 30)

/* The largest MQTT packet: the Remaining Length limit [MQTT-1.5.5]. */
#define MQTT_PACKET_MAX 268435455
#define COUNT_MAX       16777216
#define PATH_LEN_MAX    4095

#define NAME_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

static const char *const log_levels[] = {
	"debug", "info", "notice", "warn", "error", NULL};
CQ_STATIC_ASSERT(CQ_LOG_DEBUG == 0 && CQ_LOG_ERR == 4,
	"log.level stores the index of its name");

static const char *const listener_types[] = {
	"tcp", "unix", "tls", "ws", "wss", "health", NULL};
CQ_STATIC_ASSERT(CQ_ARRAY_SIZE(listener_types) == CQ_LISTENER_TYPE_COUNT + 1,
	"every listener type has a name");
/* Listener types whose address is a socket path rather than host:port. */
static const bool listener_uses_path[CQ_LISTENER_TYPE_COUNT] = {
	[CQ_LISTENER_UNIX] = true,
};

static const char *const accept_modes[] = {"reuseport", "handoff", NULL};
static const char *const overflow_modes[] = {"drop_oldest", "drop_new", NULL};

static const char *
valid_name(const void *field)
{
	const char *s = *(char *const *)field;

	if (strspn(s, NAME_CHARS) != strlen(s))
		return "a name of letters, digits, '_', '.' and '-'";
	return NULL;
}

/* POSIX portable user names; "" is allowed (do not switch). */
static const char *
valid_user(const void *field)
{
	const char *s = *(char *const *)field;

	if (s[0] == '-' || strspn(s, NAME_CHARS) != strlen(s))
		return "a user name of letters, digits, '_', '.' and '-'";
	return NULL;
}

static const char *
valid_topic_prefix(const void *field)
{
	const char *s = *(char *const *)field;

	if (strpbrk(s, "+#") != NULL)
		return "a topic prefix without the wildcards + and #";
	return NULL;
}

/*
 * Each listener, once loaded: its address suits its type, a pinned worker
 * goes with handoff, and its name and address differ from those of the
 * listeners before it.  (Two addresses
 * that overlap without being equal, 0.0.0.0:1883 and 127.0.0.1:1883, are
 * left to bind() to judge.)
 */
static int
check_listener(cq_cfg_check_t *ck)
{
	const cq_config_listener_t *l = ck->obj, *all = ck->list;
	char addr[CQ_ADDR_STRLEN];

	if (listener_uses_path[l->type] && !l->address.is_path)
		return cq_cfg_fail(ck, "address",
			"a %s listener needs an absolute socket path, like "
			"/run/comqtt/mqtt.sock",
			listener_types[l->type]);
	if (!listener_uses_path[l->type] && l->address.is_path)
		return cq_cfg_fail(ck, "address",
			"a %s listener needs host:port, like 0.0.0.0:1883",
			listener_types[l->type]);
	if (l->worker >= 0 && !listener_uses_path[l->type] &&
		l->accept != CQ_ACCEPT_HANDOFF)
		return cq_cfg_fail(ck, "worker",
			"pinning to a worker needs accept: handoff");
	for (size_t i = 0; all != NULL && i < ck->index; i++) {
		if (strcmp(all[i].name, l->name) == 0)
			return cq_cfg_fail(ck, "name",
				"listeners[%zu] already has the name \"%s\"", i,
				l->name);
		if (cq_addr_equal(&all[i].address, &l->address)) {
			cq_addr_format(&l->address, addr, sizeof(addr));
			return cq_cfg_fail(ck, "address",
				"listener \"%s\" already has the address %s",
				all[i].name, addr);
		}
	}
	return cq_config_listener_check_edges(ck);
}

#define LISTENER(m) CQ_CFG_AT(cq_config_listener_t, m)
static const cq_cfg_key_t listener_keys[] = {
	{.name = "name",
		.type = CQ_CFG_STRING,
		LISTENER(name),
		.flags = CQ_CFG_REQUIRED,
		.min = 1,
		.max = 63,
		.valid = valid_name,
		.doc = "unique name, in logs and for authentication"},
	{.name = "type",
		.type = CQ_CFG_ENUM,
		LISTENER(type),
		.def = "tcp",
		.names = listener_types,
		.doc = "transport: tcp, unix, tls, ws, wss or health"},
	{.name = "address",
		.type = CQ_CFG_ADDRESS,
		LISTENER(address),
		.flags = CQ_CFG_REQUIRED,
		.doc = "host:port, [v6]:port or :port; a path for unix"},
	{.name = "mode",
		.type = CQ_CFG_MODE,
		LISTENER(mode),
		.def = "0660",
		.min = 0,
		.max = 0777,
		.doc = "file mode of a unix listener's socket"},
	{.name = "accept",
		.type = CQ_CFG_ENUM,
		LISTENER(accept),
		.def = "reuseport",
		.names = accept_modes,
		.doc = "reuseport: a socket per worker; handoff: the master "
		       "accepts"},
	{.name = "worker",
		.type = CQ_CFG_INT,
		LISTENER(worker),
		.def = "-1",
		.min = -1,
		.max = 63,
		.doc = "handoff only: give every connection to this worker "
		       "slot; -1 = the least loaded"},
	{.name = "max_connections",
		.type = CQ_CFG_INT,
		LISTENER(max_connections),
		.def = "0",
		.min = 0,
		.max = COUNT_MAX,
		.doc = "connection limit of this listener; 0 = only the "
		       "global one"},
	{.name = "mount_point",
		.type = CQ_CFG_STRING,
		LISTENER(mount_point),
		.def = "",
		.min = 0,
		.max = 256,
		.valid = valid_topic_prefix,
		.doc = "topic prefix of this listener's clients; \"\" = none"},
	{.name = "allow_remote",
		.type = CQ_CFG_BOOL,
		LISTENER(allow_remote),
		.def = "false",
		.doc = "accept clients from other hosts than this one "
		       "(no authentication yet)"},
	{.name = "handshake_timeout",
		.type = CQ_CFG_DURATION,
		LISTENER(handshake_timeout),
		.def = "10s",
		.min = 1,
		.max = 3600,
		.doc = "time for the PROXY header, TLS handshake and HTTP "
		       "upgrade together"},
	{.name = "proxy_protocol",
		.type = CQ_CFG_BOOL,
		LISTENER(proxy_protocol),
		.def = "false",
		.doc = "every connection opens with a PROXY protocol v1 or v2 "
		       "header"},
	{.name = "trusted_proxies",
		.type = CQ_CFG_STRLIST,
		LISTENER(trusted_proxies),
		.def = "[]",
		.min = 0,
		.max = 256,
		.doc = "addresses or networks allowed to send PROXY headers "
		       "and X-Forwarded-For"},
	{.name = "rate_limit",
		.type = CQ_CFG_INT,
		LISTENER(rate_limit),
		.def = "0",
		.min = 0,
		.max = 10000,
		.doc = "new connections per second from one address; 0 = no "
		       "limit"},
	{.name = "rate_burst",
		.type = CQ_CFG_INT,
		LISTENER(rate_burst),
		.def = "10",
		.min = 0,
		.max = 10000,
		.doc = "connections one address may open at once before "
		       "rate_limit applies"},
	{.name = "path",
		.type = CQ_CFG_STRING,
		LISTENER(path),
		.def = "",
		.min = 0,
		.max = 256,
		.doc = "HTTP path of a ws, wss or health listener; \"\" = "
		       "/mqtt or /healthz"},
	{.name = "max_frame_size",
		.type = CQ_CFG_SIZE,
		LISTENER(max_frame_size),
		.def = "0",
		.min = 0,
		.max = MQTT_PACKET_MAX,
		.doc = "largest WebSocket frame; 0 = limits.max_packet_size"},
	{.name = "max_header_size",
		.type = CQ_CFG_SIZE,
		LISTENER(max_header_size),
		.def = "8K",
		.min = 256,
		.max = 64 * KB,
		.doc = "largest HTTP request head (ws, wss, health)"},
	{.name = "tls",
		.type = CQ_CFG_MAP,
		LISTENER(tls),
		.sub = &cq_config_tls_table,
		.doc = "TLS settings of a tls or wss listener"},
};

static const cq_cfg_table_t listener_table = {
	.name = "listener",
	.keys = listener_keys,
	.n_keys = CQ_ARRAY_SIZE(listener_keys),
	.size = sizeof(cq_config_listener_t),
	.check = check_listener,
};

#define LOG(m) CQ_CFG_AT(cq_config_log_t, m)
static const cq_cfg_key_t log_keys[] = {
	{.name = "file",
		.type = CQ_CFG_PATH,
		LOG(file),
		.def = "stderr",
		.flags = CQ_CFG_LIVE,
		.min = 1,
		.max = PATH_LEN_MAX,
		.doc = "\"stderr\" or the file to append log lines to"},
	{.name = "level",
		.type = CQ_CFG_ENUM,
		LOG(level),
		.def = "info",
		.flags = CQ_CFG_LIVE,
		.names = log_levels,
		.doc = "least severe level logged"},
};

static const cq_cfg_table_t log_table = {
	.name = "log",
	.keys = log_keys,
	.n_keys = CQ_ARRAY_SIZE(log_keys),
	.size = sizeof(cq_config_log_t),
};

#define LIMITS(m) CQ_CFG_AT(cq_config_limits_t, m)
static const cq_cfg_key_t limits_keys[] = {
	{.name = "max_connections",
		.type = CQ_CFG_INT,
		LIMITS(max_connections),
		.def = "100000",
		.flags = CQ_CFG_LIVE,
		.min = 1,
		.max = COUNT_MAX,
		.doc = "client connections of all listeners together"},
	{.name = "max_sessions",
		.type = CQ_CFG_INT,
		LIMITS(max_sessions),
		.def = "100000",
		.min = 1,
		.max = COUNT_MAX,
		.doc = "sessions, online and offline; sizes the session "
		       "table"},
	{.name = "max_packet_size",
		.type = CQ_CFG_SIZE,
		LIMITS(max_packet_size),
		.def = "1M",
		.flags = CQ_CFG_LIVE,
		.min = 128,
		.max = MQTT_PACKET_MAX,
		.doc = "largest packet accepted from a client"},
	{.name = "max_inflight",
		.type = CQ_CFG_INT,
		LIMITS(max_inflight),
		.def = "1024",
		.min = 1,
		.max = 65535,
		.doc = "outbound QoS 1 and 2 messages awaiting "
		       "acknowledgement, per session"},
	{.name = "max_queued_messages",
		.type = CQ_CFG_INT,
		LIMITS(max_queued_messages),
		.def = "1000",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = COUNT_MAX,
		.doc = "messages queued for an offline session"},
	{.name = "queue_overflow",
		.type = CQ_CFG_ENUM,
		LIMITS(queue_overflow),
		.def = "drop_oldest",
		.flags = CQ_CFG_LIVE,
		.names = overflow_modes,
		.doc = "what a full queue drops: drop_oldest or drop_new"},
	{.name = "max_topic_levels",
		.type = CQ_CFG_INT,
		LIMITS(max_topic_levels),
		.def = "128",
		.flags = CQ_CFG_LIVE,
		.min = 1,
		.max = 65535,
		.doc = "levels of a topic name or filter"},
	{.name = "max_client_id_len",
		.type = CQ_CFG_INT,
		LIMITS(max_client_id_len),
		.def = "256",
		.min = 23,
		.max = 65535,
		.doc = "bytes of a client identifier"},
	{.name = "max_subscriptions_per_session",
		.type = CQ_CFG_INT,
		LIMITS(max_subscriptions_per_session),
		.def = "0",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = COUNT_MAX,
		.doc = "subscriptions of one session; 0 = unlimited"},
	{.name = "keepalive_max",
		.type = CQ_CFG_DURATION,
		LIMITS(keepalive_max),
		.def = "0",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = 65535,
		.doc = "cap on a client's keep alive; 0 = no cap"},
	{.name = "retained_max",
		.type = CQ_CFG_INT,
		LIMITS(retained_max),
		.def = "0",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = UINT32_MAX,
		.doc = "retained messages kept; 0 = unlimited"},
};

static const cq_cfg_table_t limits_table = {
	.name = "limits",
	.keys = limits_keys,
	.n_keys = CQ_ARRAY_SIZE(limits_keys),
	.size = sizeof(cq_config_limits_t),
};

#define MQTT(m)   CQ_CFG_AT(cq_config_mqtt_t, m)
#define MQTT_LIVE .flags = CQ_CFG_LIVE
static const cq_cfg_key_t mqtt_keys[] = {
	{.name = "maximum_session_expiry_interval",
		.type = CQ_CFG_DURATION,
		MQTT(maximum_session_expiry_interval),
		.def = "4294967295",
		MQTT_LIVE,
		.min = 0,
		.max = UINT32_MAX,
		.doc = "cap on the session expiry a client asks for"},
	{.name = "maximum_message_expiry_interval",
		.type = CQ_CFG_DURATION,
		MQTT(maximum_message_expiry_interval),
		.def = "0",
		MQTT_LIVE,
		.min = 0,
		.max = UINT32_MAX,
		.doc = "cap on a message's expiry interval; 0 = no cap"},
	{.name = "receive_maximum",
		.type = CQ_CFG_INT,
		MQTT(receive_maximum),
		.def = "1024",
		MQTT_LIVE,
		.min = 1,
		.max = 65535,
		.doc = "inbound QoS 1 and 2 publishes in flight per client"},
	{.name = "topic_alias_maximum",
		.type = CQ_CFG_INT,
		MQTT(topic_alias_maximum),
		.def = "65535",
		MQTT_LIVE,
		.min = 0,
		.max = 65535,
		.doc = "topic aliases a v5 client may set; 0 = none"},
	{.name = "maximum_qos",
		.type = CQ_CFG_INT,
		MQTT(maximum_qos),
		.def = "2",
		MQTT_LIVE,
		.min = 0,
		.max = 2,
		.doc = "highest QoS the broker grants"},
	{.name = "retain_available",
		.type = CQ_CFG_BOOL,
		MQTT(retain_available),
		.def = "true",
		MQTT_LIVE,
		.doc = "retained messages are supported"},
	{.name = "wildcard_subscription_available",
		.type = CQ_CFG_BOOL,
		MQTT(wildcard_subscription_available),
		.def = "true",
		MQTT_LIVE,
		.doc = "subscriptions may use + and #"},
	{.name = "subscription_identifier_available",
		.type = CQ_CFG_BOOL,
		MQTT(subscription_identifier_available),
		.def = "true",
		MQTT_LIVE,
		.doc = "v5 subscription identifiers are supported"},
	{.name = "shared_subscription_available",
		.type = CQ_CFG_BOOL,
		MQTT(shared_subscription_available),
		.def = "true",
		MQTT_LIVE,
		.doc = "$share/ subscriptions are supported"},
	{.name = "minimum_protocol_version",
		.type = CQ_CFG_INT,
		MQTT(minimum_protocol_version),
		.def = "3",
		MQTT_LIVE,
		.min = 3,
		.max = 5,
		.doc = "oldest protocol: 3 (3.1), 4 (3.1.1) or 5"},
	{.name = "allow_zero_length_client_id",
		.type = CQ_CFG_BOOL,
		MQTT(allow_zero_length_client_id),
		.def = "true",
		MQTT_LIVE,
		.doc = "an empty client id gets one assigned"},
	{.name = "obscure_not_authorized",
		.type = CQ_CFG_BOOL,
		MQTT(obscure_not_authorized),
		.def = "false",
		MQTT_LIVE,
		.doc = "answer Unspecified error instead of Not authorized"},
	{.name = "passive_client_disconnect",
		.type = CQ_CFG_BOOL,
		MQTT(passive_client_disconnect),
		.def = "false",
		MQTT_LIVE,
		.doc = "after sending DISCONNECT, wait for the client to "
		       "close"},
	{.name = "always_return_response_info",
		.type = CQ_CFG_BOOL,
		MQTT(always_return_response_info),
		.def = "false",
		MQTT_LIVE,
		.doc = "send Response Information even when not requested"},
	{.name = "restore_sys_info_on_restart",
		.type = CQ_CFG_BOOL,
		MQTT(restore_sys_info_on_restart),
		.def = "false",
		.doc = "$SYS counters continue from the stored values"},
	{.name = "server_reference",
		.type = CQ_CFG_STRING,
		MQTT(server_reference),
		.def = "",
		MQTT_LIVE,
		.max = 1024,
		.doc = "send v5 clients to this server (CONNACK 0x9C/0x9D)"},
	{.name = "server_moved",
		.type = CQ_CFG_BOOL,
		MQTT(server_moved),
		.def = "false",
		MQTT_LIVE,
		.doc = "the server reference is permanent (0x9D)"},
	{.name = "enhanced_auth_test_secret",
		.type = CQ_CFG_STRING,
		MQTT(enhanced_auth_test_secret),
		.def = "",
		MQTT_LIVE,
		.max = 1024,
		.doc = "secret of the built-in test authentication method"},
};

static const cq_cfg_table_t mqtt_table = {
	.name = "mqtt",
	.keys = mqtt_keys,
	.n_keys = CQ_ARRAY_SIZE(mqtt_keys),
	.size = sizeof(cq_config_mqtt_t),
};

#define SHM(m) CQ_CFG_AT(cq_config_shm_t, m)
static const cq_cfg_key_t shm_keys[] = {
	{.name = "ring_size",
		.type = CQ_CFG_SIZE,
		SHM(ring_size),
		.def = "1M",
		.flags = CQ_CFG_POW2,
		.min = 64 * KB,
		.max = GB,
		.doc = "bytes of the message ring of each worker pair"},
	{.name = "auth_cache_entries",
		.type = CQ_CFG_INT,
		SHM(auth_cache_entries),
		.def = "65536",
		.min = 1024,
		.max = COUNT_MAX,
		.doc = "entries of the shared authentication and ACL cache"},
	{.name = "route_shards",
		.type = CQ_CFG_INT,
		SHM(route_shards),
		.def = "64",
		.flags = CQ_CFG_POW2,
		.min = 1,
		.max = 1024,
		.doc = "lock shards of the shared route table"},
};

static const cq_cfg_table_t shm_table = {
	.name = "shm",
	.keys = shm_keys,
	.n_keys = CQ_ARRAY_SIZE(shm_keys),
	.size = sizeof(cq_config_shm_t),
};

#define ROOT(m) CQ_CFG_AT(cq_config_t, m)
static const cq_cfg_key_t root_keys[] = {
	{.name = "workers",
		.type = CQ_CFG_INT,
		ROOT(workers),
		.def = "0",
		.min = 0,
		.max = CQ_CONFIG_WORKERS_MAX,
		.doc = "worker processes; 0 = one per online CPU"},
	{.name = "worker_cpu_affinity",
		.type = CQ_CFG_BOOL,
		ROOT(worker_cpu_affinity),
		.def = "true",
		.doc = "run each worker on a CPU of its own and steer new "
		       "connections to the worker on the CPU that received "
		       "them"},
	{.name = "user",
		.type = CQ_CFG_STRING,
		ROOT(user),
		.def = "",
		.min = 0,
		.max = 32,
		.valid = valid_user,
		.doc = "user to run as after binding; \"\" = do not switch"},
	{.name = "pid_file",
		.type = CQ_CFG_PATH,
		ROOT(pid_file),
		.def = "",
		.min = 0,
		.max = PATH_LEN_MAX,
		.doc = "file for the master's pid (with -d); \"\" = none"},
	{.name = "data_dir",
		.type = CQ_CFG_PATH,
		ROOT(data_dir),
		.def = CQ_LOCALSTATEDIR "/lib/comqtt",
		.min = 1,
		.max = PATH_LEN_MAX,
		.doc = "directory of the stored state"},
	{.name = "shm_size",
		.type = CQ_CFG_SIZE,
		ROOT(shm_size),
		.def = "256M",
		.min = 16 * MB,
		.max = 64 * GB,
		.doc = "size of the shared-memory region"},
	{.name = "sys_interval",
		.type = CQ_CFG_DURATION,
		ROOT(sys_interval),
		.def = "10s",
		.flags = CQ_CFG_LIVE,
		.min = 0,
		.max = 86400,
		.doc = "period of the $SYS topics; 0 = no $SYS topics"},
	{.name = "log",
		.type = CQ_CFG_MAP,
		ROOT(log),
		.sub = &log_table,
		.doc = "logging"},
	{.name = "listeners",
		.type = CQ_CFG_LIST,
		ROOT(listeners),
		.count_offset = offsetof(cq_config_t, n_listeners),
		.def = "[{name: tcp, type: tcp, address: \"0.0.0.0:1883\"}, "
		       "{name: ws, type: ws, address: \"0.0.0.0:1882\"}]",
		.min = 1,
		.max = CQ_CONFIG_LISTENERS_MAX,
		.sub = &listener_table,
		.doc = "where clients connect"},
	{.name = "limits",
		.type = CQ_CFG_MAP,
		ROOT(limits),
		.sub = &limits_table,
		.doc = "resource limits"},
	{.name = "mqtt",
		.type = CQ_CFG_MAP,
		ROOT(mqtt),
		.sub = &mqtt_table,
		.doc = "MQTT capabilities and compatibility switches"},
	{.name = "shm",
		.type = CQ_CFG_MAP,
		ROOT(shm),
		.sub = &shm_table,
		.doc = "layout of the shared-memory region"},
	{.name = "auth",
		.type = CQ_CFG_MAP,
		ROOT(auth),
		.sub = &cq_config_auth_table,
		.doc = "authentication and ACL: comqtt-authd (conf_auth.c)"},
	{.name = "storage",
		.type = CQ_CFG_MAP,
		ROOT(storage),
		.sub = &cq_config_storage_table,
		.doc = "persistence: comqtt-storage (conf_storage.c)"},
	{.name = "admin",
		.type = CQ_CFG_MAP,
		ROOT(admin),
		.sub = &cq_config_admin_table,
		.doc = "REST API, metrics, dashboard: comqtt-admin "
		       "(conf_admin.c)"},
};

static const cq_cfg_table_t config_table = {
	.name = "comqttd",
	.keys = root_keys,
	.n_keys = CQ_ARRAY_SIZE(root_keys),
	.size = sizeof(cq_config_t),
};

const cq_cfg_table_t *
cq_config_schema(void)
{
	return &config_table;
}

const char *
cq_config_listener_type_name(cq_listener_type_t type)
{
	return (unsigned)type < CQ_LISTENER_TYPE_COUNT ? listener_types[type]
						       : "?";
}

int
cq_config_load_defaults(cq_config_t *cfg_r)
{
	char *error = NULL;

	if (cq_cfg_defaults(&config_table, cfg_r, &error) == 0)
		return 0;
	cq_log(CQ_LOG_CRIT, 0, "configuration defaults: %s",
		error ? error : "out of memory");
	free(error);
	return -1;
}

/* The whole file into a malloc'd, NUL-terminated buffer. */
static int
read_file(const char *path, char **text_r, size_t *len_r, char **error_r)
{
	struct stat st;
	size_t len = 0;
	char *text;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cq_cfg_error(
			error_r, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return cq_cfg_error(error_r, "%s: is a directory", path);
	}
	if ((text = malloc(CQ_CONFIG_FILE_MAX + 1)) == NULL) {
		close(fd);
		return cq_cfg_error(error_r, "out of memory");
	}
	/* One byte more than allowed, to tell "too large" from "full". */
	while (len <= CQ_CONFIG_FILE_MAX &&
		(n = read(fd, text + len, CQ_CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cq_cfg_error(error_r, "%s: cannot read: %s", path,
				strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (len > CQ_CONFIG_FILE_MAX) {
		cq_cfg_error(error_r, "%s: larger than %d bytes", path,
			CQ_CONFIG_FILE_MAX);
		goto fail;
	}
	close(fd);
	text[len] = '\0';
	*text_r = text;
	*len_r = len;
	return 0;
fail:
	close(fd);
	free(text);
	return -1;
}

int
cq_config_load_string(const char *name, const char *text, size_t len,
	cq_config_t *cfg_r, char **error_r)
{
	if (cq_cfg_defaults(&config_table, cfg_r, error_r) < 0)
		return -1;
	if (cq_cfg_load_yaml(&config_table, cfg_r, name, text, len, error_r) <
		0) {
		cq_config_free(cfg_r);
		return -1;
	}
	return 0;
}

int
cq_config_load_file(const char *path, cq_config_t *cfg_r, char **error_r)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (read_file(path, &text, &len, error_r) < 0) {
		memset(cfg_r, 0, sizeof(*cfg_r));
		return -1;
	}
	rc = cq_config_load_string(path, text, len, cfg_r, error_r);
	free(text);
	return rc;
}

int
cq_config_load_cmdline(
	const cq_config_cmdline_t *cl, cq_config_t *cfg_r, char **error_r)
{
	if (cl->file != NULL) {
		if (cq_config_load_file(cl->file, cfg_r, error_r) < 0)
			return -1;
	} else if (cq_cfg_defaults(&config_table, cfg_r, error_r) < 0) {
		return -1;
	}
	if ((cl->workers != NULL &&
		    cq_cfg_set(&config_table, cfg_r, "workers", cl->workers,
			    "--workers", error_r) < 0) ||
		(cl->pid_file != NULL &&
			cq_cfg_set(&config_table, cfg_r, "pid_file",
				cl->pid_file, "--pid-file", error_r) < 0)) {
		cq_config_free(cfg_r);
		return -1;
	}
	return 0;
}

int
cq_config_set(
	cq_config_t *cfg, const char *path, const char *value, char **error_r)
{
	return cq_cfg_set(&config_table, cfg, path, value, NULL, error_r);
}

void
cq_config_free(cq_config_t *cfg)
{
	cq_cfg_free(&config_table, cfg);
}

int
cq_config_print(const cq_config_t *cfg, FILE *out)
{
	fputs("# comqttd configuration: the defaults and the file, merged.\n"
	      "# See comqtt.yml(5).\n",
		out);
	return cq_cfg_print(&config_table, cfg, out);
}

int
cq_config_diff(const cq_config_t *old_cfg, const cq_config_t *new_cfg,
	cq_cfg_change_fn *fn, void *ctx)
{
	return cq_cfg_diff(&config_table, old_cfg, new_cfg, fn, ctx);
}

void
cq_config_keep_restart_keys(cq_config_t *old_cfg, cq_config_t *new_cfg)
{
	cq_cfg_keep_restart_keys(&config_table, old_cfg, new_cfg);
}

int
cq_config_reload_child(const cq_config_cmdline_t *cl, cq_config_t **cfg_io,
	const cq_config_t *inherited)
{
	cq_config_t *fresh = calloc(1, sizeof(*fresh));
	char *error = NULL;
	if (fresh == NULL || cq_config_load_cmdline(cl, fresh, &error) < 0) {
		free(error);
		free(fresh);
		return -1;
	}
	cq_config_t *old = *cfg_io;
	cq_config_keep_restart_keys(old, fresh);
	bool new_log = strcmp(old->log.file, fresh->log.file) != 0;
	if (old != inherited) {
		cq_config_free(old);
		free(old);
	}
	*cfg_io = fresh;
	cq_log_set_level(fresh->log.level);
	if (new_log)
		cq_log_open(fresh->log.file);
	return 0;
}

unsigned
cq_config_workers(const cq_config_t *cfg)
{
	long n;

	if (cfg->workers > 0)
		return cfg->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > CQ_CONFIG_WORKERS_MAX ? CQ_CONFIG_WORKERS_MAX : (unsigned)n;
}
