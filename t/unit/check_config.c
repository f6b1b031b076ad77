/*
 * check_config.c — unit tests for comqttd's configuration (core/conf.h):
 * every key's defaults, values and errors, and through them the YAML
 * loader (core/config_yaml.c): positions, unknown and duplicate keys,
 * wrong node types, syntax errors, hostile input, files, printing, the
 * reload diff and command-line overrides.
 *
 * Most tests load YAML text and check either the values or the exact
 * error.  The engine's other types and the small parsers are tested in
 * check_config_engine.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/conf.h"
#include "core/defs.h"
#include "core/config_schema.h"
#include "core/log.h"
#include "core/units.h"
#include "t/unit/unit.h"

/* Load YAML text as comqtt.yml; the error (if any) into *err. */
static int
load(const char *yaml, cq_config_t *cfg, char **err)
{
	*err = NULL;
	return cq_config_load_string("t.yml", yaml, strlen(yaml), cfg, err);
}

static void
expect_ok(const char *yaml, cq_config_t *cfg)
{
	char *err = NULL;
	int rc = load(yaml, cfg, &err);
	ck_assert_msg(rc == 0, "unexpected error %s for:\n%s", err, yaml);
}

/* The load fails with an error containing 'needle'. */
static void
expect_error(const char *yaml, const char *needle)
{
	cq_config_t cfg;
	char *err = NULL;

	ck_assert_msg(load(yaml, &cfg, &err) == -1, "accepted:\n%s", yaml);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"",
		err, needle);
	free(err);
}

/* The value of one key after loading 'yaml' must fail with 'needle'. */
static void
expect_key_error(const char *key, const char *value, const char *needle)
{
	char yaml[512];

	snprintf(yaml, sizeof(yaml), "%s: %s\n", key, value);
	expect_error(yaml, needle);
}

/* The whole configuration printed into a malloc'd string. */
static char *
print_to_string(const cq_config_t *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(cq_config_print(cfg, f), 0);
	fclose(f);
	return text;
}

START_TEST(schema_is_well_formed)
{
	char *err = NULL;
	int rc = cq_cfg_schema_check(cq_config_schema(), &err);
	ck_assert_msg(rc == 0, "%s", err);
}
END_TEST

START_TEST(defaults_are_documented_values)
{
	cq_config_t c;

	ck_assert_int_eq(cq_config_load_defaults(&c), 0);
	ck_assert_uint_eq(c.workers, 0);
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.pid_file, "");
	ck_assert_str_eq(c.data_dir, CQ_LOCALSTATEDIR "/lib/comqtt");
	ck_assert_uint_eq(c.shm_size, 256ULL << 20);
	ck_assert_uint_eq(c.sys_interval, 10);
	ck_assert_str_eq(c.log.file, "stderr");
	ck_assert_int_eq(c.log.level, CQ_LOG_INFO);
	ck_assert_uint_eq(c.n_listeners, 2);
	ck_assert_str_eq(c.listeners[0].name, "tcp");
	ck_assert_int_eq(c.listeners[1].type, CQ_LISTENER_WS);
	ck_assert_uint_eq(c.listeners[1].address.port, 1882);
	ck_assert_uint_eq(c.listeners[0].handshake_timeout, 10);
	ck_assert_uint_eq(c.listeners[0].max_header_size, 8192);
	ck_assert_int_eq(c.listeners[0].tls.client_certs, CQ_TLS_CERTS_NONE);
	ck_assert_int_eq(c.listeners[0].type, CQ_LISTENER_TCP);
	ck_assert_str_eq(c.listeners[0].address.host, "0.0.0.0");
	ck_assert_uint_eq(c.listeners[0].address.port, 1883);
	ck_assert_uint_eq(c.listeners[0].mode, 0660);
	ck_assert_int_eq(c.listeners[0].accept, CQ_ACCEPT_REUSEPORT);
	ck_assert_uint_eq(c.listeners[0].max_connections, 0);
	ck_assert_str_eq(c.listeners[0].mount_point, "");
	ck_assert_uint_eq(c.limits.max_connections, 100000);
	ck_assert_uint_eq(c.limits.max_sessions, 100000);
	ck_assert_uint_eq(c.limits.max_packet_size, 1 << 20);
	ck_assert_uint_eq(c.limits.max_inflight, 1024);
	ck_assert_uint_eq(c.limits.max_queued_messages, 1000);
	ck_assert_int_eq(c.limits.queue_overflow, CQ_QUEUE_DROP_OLDEST);
	ck_assert_uint_eq(c.limits.max_topic_levels, 128);
	ck_assert_uint_eq(c.limits.max_client_id_len, 256);
	ck_assert_uint_eq(c.limits.max_subscriptions_per_session, 0);
	ck_assert_uint_eq(c.limits.keepalive_max, 0);
	ck_assert_uint_eq(c.limits.retained_max, 0);
	ck_assert_uint_eq(c.mqtt.maximum_session_expiry_interval, 4294967295U);
	ck_assert_uint_eq(c.mqtt.maximum_message_expiry_interval, 0);
	ck_assert_uint_eq(c.mqtt.receive_maximum, 1024);
	ck_assert_uint_eq(c.mqtt.topic_alias_maximum, 65535);
	ck_assert_uint_eq(c.mqtt.maximum_qos, 2);
	ck_assert(c.mqtt.retain_available);
	ck_assert(c.mqtt.wildcard_subscription_available);
	ck_assert(c.mqtt.subscription_identifier_available);
	ck_assert(c.mqtt.shared_subscription_available);
	ck_assert_uint_eq(c.mqtt.minimum_protocol_version, 3);
	ck_assert(c.mqtt.allow_zero_length_client_id);
	ck_assert(!c.mqtt.obscure_not_authorized);
	ck_assert(!c.mqtt.passive_client_disconnect);
	ck_assert(!c.mqtt.always_return_response_info);
	ck_assert(!c.mqtt.restore_sys_info_on_restart);
	ck_assert_uint_eq(c.shm.ring_size, 1 << 20);
	ck_assert_uint_eq(c.shm.auth_cache_entries, 65536);
	ck_assert_uint_eq(c.shm.route_shards, 64);
	cq_config_free(&c);
}
END_TEST

START_TEST(empty_documents_are_defaults)
{
	static const char *const empty[] = {
		"", "\n", "# only a comment\n", "---\n", "~\n", "---\n...\n"};
	cq_config_t d, c;

	ck_assert_int_eq(cq_config_load_defaults(&d), 0);
	char *want = print_to_string(&d);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(empty); i++) {
		expect_ok(empty[i], &c);
		char *got = print_to_string(&c);
		ck_assert_str_eq(got, want);
		free(got);
		cq_config_free(&c);
	}
	free(want);
	cq_config_free(&d);
}
END_TEST

START_TEST(partial_blocks_keep_defaults)
{
	cq_config_t c;

	expect_ok("limits:\n  max_inflight: 5\nmqtt:\n  maximum_qos: 1\n"
		  "log:\n",
		&c);
	ck_assert_uint_eq(c.limits.max_inflight, 5);
	ck_assert_uint_eq(c.limits.max_connections, 100000);
	ck_assert_uint_eq(c.limits.max_packet_size, 1 << 20);
	ck_assert_uint_eq(c.mqtt.maximum_qos, 1);
	ck_assert_uint_eq(c.mqtt.receive_maximum, 1024);
	ck_assert(c.mqtt.retain_available);
	ck_assert_str_eq(c.log.file, "stderr");
	ck_assert_int_eq(c.log.level, CQ_LOG_INFO);
	ck_assert_uint_eq(c.shm_size, 256ULL << 20);
	cq_config_free(&c);

	/* A listener written in part gets the defaults of the rest. */
	expect_ok("listeners:\n  - name: a\n    address: \"127.0.0.1:1999\"\n",
		&c);
	ck_assert_uint_eq(c.n_listeners, 1);
	ck_assert_int_eq(c.listeners[0].type, CQ_LISTENER_TCP);
	ck_assert_uint_eq(c.listeners[0].mode, 0660);
	ck_assert_int_eq(c.listeners[0].accept, CQ_ACCEPT_REUSEPORT);
	ck_assert_str_eq(c.listeners[0].mount_point, "");
	cq_config_free(&c);
}
END_TEST

START_TEST(bool_values)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "YES"};
	static const char *const no[] = {"false", "no", "off", "False", "OFF"};
	char yaml[128];
	cq_config_t c;

	for (size_t i = 0; i < CQ_ARRAY_SIZE(yes); i++) {
		snprintf(yaml, sizeof(yaml),
			"mqtt:\n  retain_available: %s\n"
			"  obscure_not_authorized: %s\n",
			no[i], yes[i]);
		expect_ok(yaml, &c);
		ck_assert(!c.mqtt.retain_available);
		ck_assert(c.mqtt.obscure_not_authorized);
		cq_config_free(&c);
	}
	expect_error("mqtt:\n  retain_available: maybe\n",
		"t.yml:2:21: mqtt.retain_available: expected true or false, "
		"got \"maybe\"");
	expect_error(
		"mqtt:\n  retain_available: 1\n", "expected true or false");
	expect_error("mqtt:\n  retain_available:\n", "got null");
	expect_error("mqtt:\n  retain_available: [true]\n", "got a list");
}
END_TEST

START_TEST(integer_values)
{
	cq_config_t c;

	expect_ok("workers: 64\nlimits:\n  retained_max: 4294967295\n", &c);
	ck_assert_uint_eq(c.workers, 64);
	ck_assert_uint_eq(c.limits.retained_max, 4294967295U);
	cq_config_free(&c);
	expect_ok("workers: \"7\"\n", &c); /* quoting does not matter */
	ck_assert_uint_eq(c.workers, 7);
	cq_config_free(&c);

	expect_key_error("workers", "65", "expected an integer from 0 to 64");
	expect_key_error("workers", "-1", "from 0 to 64, got \"-1\"");
	expect_key_error("workers", "99999999999999999999999",
		"from 0 to 64, got \"99999999999999999999999\"");
	expect_key_error("workers", "-99999999999999999999999", "from 0 to 64");
	expect_key_error(
		"workers", "four", "expected an integer, got \"four\"");
	expect_key_error("workers", "1.5", "expected an integer, got");
	expect_key_error("workers", "0x10", "expected an integer, got");
	expect_key_error("workers", "+4", "expected an integer, got");
	expect_key_error("workers", "010", "expected an integer, got \"010\"");
	expect_key_error("workers", "\"4 \"", "expected an integer, got");
	expect_key_error("workers", "", "got null");
	expect_key_error("workers", "{a: 1}", "expected an integer, got a map");
	expect_error("limits:\n  max_client_id_len: 22\n",
		"limits.max_client_id_len: expected an integer from 23 to "
		"65535");
	expect_error("mqtt:\n  minimum_protocol_version: 6\n", "from 3 to 5");
	expect_error("mqtt:\n  maximum_qos: 3\n", "from 0 to 2");
	expect_error("limits:\n  retained_max: 4294967296\n",
		"from 0 to 4294967295");
}
END_TEST

START_TEST(size_values)
{
	cq_config_t c;

	expect_ok("shm_size: 64G\nlimits:\n  max_packet_size: 268435455\n"
		  "shm:\n  ring_size: 64K\n",
		&c);
	ck_assert_uint_eq(c.shm_size, 64ULL << 30);
	ck_assert_uint_eq(c.limits.max_packet_size, 268435455);
	ck_assert_uint_eq(c.shm.ring_size, 65536);
	cq_config_free(&c);
	expect_ok("shm_size: 16777216\n", &c);
	ck_assert_uint_eq(c.shm_size, 16ULL << 20);
	cq_config_free(&c);

	expect_error("limits:\n  max_packet_size: big\n",
		"t.yml:2:20: limits.max_packet_size: expected a size like 1M, "
		"got \"big\"");
	expect_error("limits:\n  max_packet_size: 256M\n",
		"expected a size from 128 to 268435455, got \"256M\"");
	expect_key_error("shm_size", "15M", "expected a size from 16M to 64G");
	expect_key_error("shm_size", "65G", "from 16M to 64G");
	expect_key_error("shm_size", "1T", "expected a size like 1M");
	expect_key_error("shm_size", "1MB", "expected a size like 1M");
	expect_key_error("shm_size", "1m", "expected a size like 1M");
	expect_key_error("shm_size", "-1M", "expected a size like 1M");
	expect_key_error("shm_size", "1.5G", "expected a size like 1M");
	expect_key_error("shm_size", "M", "expected a size like 1M");
	expect_key_error("shm_size", "99999999999999999G", "from 16M to 64G");
	expect_key_error(
		"shm_size", "[1M]", "expected a size like 1M, got a list");
	expect_error("shm:\n  ring_size: 96K\n",
		"expected a power-of-two size from 64K to 1G, got \"96K\"");
}
END_TEST

START_TEST(duration_values)
{
	cq_config_t c;

	expect_ok("sys_interval: 1d\nlimits:\n  keepalive_max: 2h\n"
		  "mqtt:\n  maximum_message_expiry_interval: 90m\n",
		&c);
	ck_assert_uint_eq(c.sys_interval, 86400);
	ck_assert_uint_eq(c.limits.keepalive_max, 7200);
	ck_assert_uint_eq(c.mqtt.maximum_message_expiry_interval, 5400);
	cq_config_free(&c);
	expect_ok("sys_interval: 0\n", &c);
	ck_assert_uint_eq(c.sys_interval, 0);
	cq_config_free(&c);
	expect_ok("sys_interval: 45s\n", &c);
	ck_assert_uint_eq(c.sys_interval, 45);
	cq_config_free(&c);

	expect_key_error("sys_interval", "2d",
		"sys_interval: expected a duration from 0 to 1d, got \"2d\"");
	expect_key_error("sys_interval", "10x", "expected a duration like 10s");
	expect_key_error(
		"sys_interval", "1h30m", "expected a duration like 10s");
	expect_key_error("sys_interval", "-5s", "expected a duration like 10s");
	expect_key_error("sys_interval", "5 s", "expected a duration like 10s");
	expect_error("limits:\n  keepalive_max: 65536\n",
		"expected a duration from 0 to 65535s");
}
END_TEST

START_TEST(string_and_path_values)
{
	cq_config_t c;

	expect_ok("user: comqtt\npid_file: /run/comqtt.pid\n"
		  "data_dir: \"/var/lib/x y\"\nlog:\n  file: /tmp/l\n",
		&c);
	ck_assert_str_eq(c.user, "comqtt");
	ck_assert_str_eq(c.pid_file, "/run/comqtt.pid");
	ck_assert_str_eq(c.data_dir, "/var/lib/x y");
	ck_assert_str_eq(c.log.file, "/tmp/l");
	cq_config_free(&c);
	expect_ok("user:\npid_file: ~\n", &c); /* null is the empty string */
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.pid_file, "");
	cq_config_free(&c);

	expect_key_error("data_dir", "\"\"",
		"data_dir: expected a non-empty file path of at most 4095 "
		"bytes");
	expect_key_error("user", "abcdefghijabcdefghijabcdefghijabc",
		"expected a string of at most 32 bytes");
	expect_key_error("user", "\"a b\"", "expected a user name of letters");
	expect_key_error("user", "\"-rf\"", "expected a user name");
	expect_key_error("user", "\"a\\0b\"", "NUL bytes are not allowed");
	expect_key_error("user", "{name: x}", "expected a string, got a map");
	expect_key_error(
		"pid_file", "[a, b]", "expected a file path, got a list");
}
END_TEST

START_TEST(enum_values)
{
	cq_config_t c;

	expect_ok("log:\n  level: debug\nlimits:\n  queue_overflow: drop_new\n",
		&c);
	ck_assert_int_eq(c.log.level, CQ_LOG_DEBUG);
	ck_assert_int_eq(c.limits.queue_overflow, CQ_QUEUE_DROP_NEW);
	cq_config_free(&c);
	expect_ok("log:\n  level: error\n", &c);
	ck_assert_int_eq(c.log.level, CQ_LOG_ERR);
	cq_config_free(&c);

	expect_error("log:\n  level: verbose\n",
		"t.yml:2:10: log.level: expected one of debug, info, notice, "
		"warn, error, got \"verbose\"");
	expect_error("log:\n  level: INFO\n", "expected one of debug");
	expect_error("limits:\n  queue_overflow: drop\n",
		"expected one of drop_oldest, drop_new");
}
END_TEST

START_TEST(mode_values)
{
	cq_config_t c;

	expect_ok("listeners:\n  - name: u\n    type: unix\n"
		  "    address: /tmp/u.sock\n    mode: 600\n",
		&c);
	ck_assert_uint_eq(c.listeners[0].mode, 0600);
	cq_config_free(&c);
	expect_ok("listeners:\n  - name: u\n    type: unix\n"
		  "    address: /tmp/u.sock\n    mode: \"0777\"\n",
		&c);
	ck_assert_uint_eq(c.listeners[0].mode, 0777);
	cq_config_free(&c);

	expect_error("listeners:\n  - {name: u, address: \":1\", mode: 0999}\n",
		"listeners[0].mode: expected an octal file mode like 0660");
	expect_error(
		"listeners:\n  - {name: u, address: \":1\", mode: 01777}\n",
		"expected an octal file mode from 0000 to 0777");
	expect_error("listeners:\n  - {name: u, address: \":1\", mode: rw}\n",
		"expected an octal file mode like 0660, got \"rw\"");
}
END_TEST

START_TEST(unknown_keys_at_every_level)
{
	expect_error("wrokers: 4\n",
		"t.yml:1:1: wrokers: unknown key (did you mean workers?)");
	expect_error("log:\n  lvl: info\n",
		"t.yml:2:3: log.lvl: unknown key (did you mean level?)");
	expect_error("limits:\n  max_pakcet_size: 1M\n",
		"limits.max_pakcet_size: unknown key (did you mean "
		"max_packet_size?)");
	expect_error("mqtt:\n  foo: 1\n", "t.yml:2:3: mqtt.foo: unknown key");
	expect_error("shm:\n  size: 1M\n", "shm.size: unknown key");
	expect_error("listeners:\n  - name: a\n    address: \":1\"\n"
		     "    port: 1883\n",
		"t.yml:4:5: listeners[0].port: unknown key");
	expect_error("\"odd key\": 1\n", "\"odd key\": unknown key");
	expect_error("Workers: 1\n", "Workers\": unknown key");
	expect_error("<<: {workers: 1}\n", "unknown key");
}
END_TEST

START_TEST(wrong_yaml_node_types)
{
	expect_error("limits: 5\n",
		"t.yml:1:9: limits: expected a map of keys, got \"5\"");
	expect_error("limits:\n  - max_inflight: 5\n",
		"limits: expected a map of keys, got a list");
	expect_error("listeners:\n  name: a\n",
		"listeners: expected a list of maps, got a map");
	expect_error(
		"listeners: tcp\n", "expected a list of maps, got \"tcp\"");
	expect_error("listeners:\n  - tcp\n",
		"listeners[0]: expected a map of keys, got \"tcp\"");
	expect_error(
		"listeners:\n  - [a]\n", "expected a map of keys, got a list");
	expect_error("- workers: 1\n",
		"expected a map of keys at the top level, got a list");
	expect_error("workers\n", "at the top level, got \"workers\"");
	expect_error("? [a, b]\n: 1\n",
		"t.yml:1:3: expected a key name, got a list");
	expect_error("? {a: b}\n: 1\n", "expected a key name, got a map");
}
END_TEST

START_TEST(duplicate_keys)
{
	expect_error("workers: 1\nuser: x\nworkers: 2\n",
		"t.yml:3:1: workers: duplicate key (first set at 1:10)");
	expect_error("limits:\n  max_inflight: 1\n  max_inflight: 1\n",
		"t.yml:3:3: limits.max_inflight: duplicate key");
	expect_error("log: {}\nlog: {}\n", "log: duplicate key");
	expect_error(
		"listeners:\n  - name: a\n    name: b\n    address: \":1\"\n",
		"t.yml:3:5: listeners[0].name: duplicate key");
}
END_TEST

START_TEST(listener_lists)
{
	cq_config_t c;

	expect_ok("listeners:\n"
		  "  - name: plain\n    address: \"127.0.0.1:1883\"\n"
		  "  - name: v6\n    address: \"[::1]:1883\"\n"
		  "    accept: handoff\n    max_connections: 10\n"
		  "  - name: local\n    type: unix\n    address: /run/m.sock\n"
		  "    mount_point: tenant/a/\n",
		&c);
	ck_assert_uint_eq(c.n_listeners, 3);
	ck_assert_str_eq(c.listeners[1].address.host, "::1");
	ck_assert_int_eq(c.listeners[1].accept, CQ_ACCEPT_HANDOFF);
	ck_assert_uint_eq(c.listeners[1].max_connections, 10);
	ck_assert_int_eq(c.listeners[2].type, CQ_LISTENER_UNIX);
	ck_assert(c.listeners[2].address.is_path);
	ck_assert_str_eq(c.listeners[2].address.host, "/run/m.sock");
	ck_assert_str_eq(c.listeners[2].mount_point, "tenant/a/");
	ck_assert_str_eq(
		cq_config_listener_type_name(c.listeners[2].type), "unix");
	cq_config_free(&c);

	expect_error("listeners:\n  - address: \":1\"\n",
		"t.yml:2:5: listeners[0]: the key name is required");
	expect_error("listeners:\n  - name: a\n",
		"listeners[0]: the key address is required");
	expect_error("listeners:\n  - {name: a, address: \":1\"}\n"
		     "  - {name: a, address: \":2\"}\n",
		"t.yml:3:12: listeners[1].name: listeners[0] already has the "
		"name \"a\"");
	expect_error("listeners:\n  - {name: a, address: \"[::]:1\"}\n"
		     "  - {name: b, address: \"[0::]:1\"}\n",
		"listeners[1].address: listener \"a\" already has the address "
		"[::]:1");
	expect_error("listeners:\n  - {name: a, type: unix, address: /s}\n"
		     "  - {name: b, type: unix, address: /s}\n",
		"already has the address /s");
	expect_error("listeners:\n  - {name: a, type: unix, address: \":1\"}\n",
		"listeners[0].address: a unix listener needs an absolute "
		"socket path");
	expect_error("listeners:\n  - {name: a, address: \":1\", worker: 1}\n",
		"listeners[0].worker: pinning to a worker needs accept: "
		"handoff");
	expect_error(
		"listeners:\n  - {name: a, address: \":1\", accept: handoff, "
		"worker: 64}\n",
		"listeners[0].worker");
	expect_ok("listeners:\n  - {name: a, address: \":1\", accept: handoff, "
		  "worker: 1}\n",
		&c);
	ck_assert_int_eq(c.listeners[0].worker, 1);
	cq_config_free(&c);
	expect_error("listeners:\n  - {name: a, address: /tmp/s}\n",
		"a tcp listener needs host:port");
	expect_error("listeners:\n  - {name: a, type: udp, address: \":1\"}\n",
		"listeners[0].type: expected one of tcp, unix, tls, ws, wss, "
		"health, got \"udp\"");
	expect_error("listeners:\n  - name: a\n    address: \"localhost:0\"\n",
		"t.yml:3:14: listeners[0].address: expected an address like "
		"0.0.0.0:1883, [::]:1883, :1883 or /path/to/socket, got "
		"\"localhost:0\" (the port must be a number from 1 to 65535)");
	expect_error("listeners: []\n",
		"t.yml:1:12: listeners: at least 1 item is required");
	expect_error("listeners:\n", "listeners: at least 1 item is required");
	expect_error("listeners:\n  - {name: \"\", address: \":1\"}\n",
		"expected a non-empty string of at most 63 bytes");
	expect_error("listeners:\n  - {name: a/b, address: \":1\"}\n",
		"expected a name of letters, digits");
	expect_error("listeners:\n  - {name: a, address: \":1\", "
		     "mount_point: \"x/+/\"}\n",
		"expected a topic prefix without the wildcards");
	expect_error("listeners:\n  - {name: a, address: \":1\", "
		     "max_connections: -1}\n",
		"listeners[0].max_connections: expected an integer from 0");
}
END_TEST

START_TEST(listener_count_limit)
{
	char *yaml = malloc(100000);
	size_t o = (size_t)sprintf(yaml, "listeners:\n");
	cq_config_t c;

	for (int i = 0; i < CQ_CONFIG_LISTENERS_MAX; i++)
		o += (size_t)sprintf(yaml + o,
			"  - {name: l%d, address: \":%d\"}\n", i, i + 1);
	expect_ok(yaml, &c);
	ck_assert_uint_eq(c.n_listeners, CQ_CONFIG_LISTENERS_MAX);
	ck_assert_str_eq(c.listeners[63].name, "l63");
	cq_config_free(&c);
	sprintf(yaml + o, "  - {name: one_more, address: \":9999\"}\n");
	expect_error(yaml,
		"t.yml:66:5: listeners[64]: at most 64 items are "
		"allowed");
	free(yaml);
}
END_TEST

START_TEST(yaml_syntax_errors_have_positions)
{
	expect_error("log:\n\tlevel: info\n",
		"t.yml:2:1: YAML syntax error: found character that cannot "
		"start any token");
	expect_error("log:\n\tlevel: info\n", "tabs cannot indent YAML");
	expect_error("user: \"abc\n", "t.yml:2:1: YAML syntax error");
	expect_error("user: \"abc\n", "while scanning a quoted scalar at 1:7");
	expect_error("user: 'abc\n", "YAML syntax error");
	expect_error("limits:\n  max_inflight: 5\n max_sessions: 5\n",
		"t.yml:3:2: YAML syntax error");
	expect_error("listeners: [{name: a\n", "YAML syntax error");
	expect_error("workers: 1\nworkers 2\n", "YAML syntax error");
	expect_error("user: \"\\q\"\n", "YAML syntax error");
	/* Not UTF-8. */
	expect_error("user: \"\xff\xfe\"\n", "YAML syntax error");
}
END_TEST

START_TEST(unsupported_yaml_features)
{
	expect_error("workers: &n 4\nlimits:\n  max_inflight: *n\n",
		"t.yml:3:17: limits.max_inflight: YAML aliases (*name) are not "
		"supported");
	expect_error("workers: !!int 4\n", "workers: YAML tags (!tag) are not");
	expect_error("limits: !!map {}\n", "YAML tags");
	expect_error("workers: 1\n---\nworkers: 2\n",
		"t.yml:2:1: only one YAML document is allowed");
	/* An anchor alone is harmless. */
	cq_config_t c;
	expect_ok("workers: &n 4\n", &c);
	ck_assert_uint_eq(c.workers, 4);
	cq_config_free(&c);
}
END_TEST

static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	return s;
}

START_TEST(hostile_input_is_an_error)
{
	char *s;

	s = repeat("workers: ", "[", 1000000, "\n");
	expect_error(s, "workers: expected an integer, got a list");
	free(s);
	s = repeat("listeners: ", "[", 1000000, "\n");
	expect_error(s, "listeners[0]: expected a map of keys, got a list");
	free(s);
	s = repeat("unknown: ", "{a: ", 100000, "\n");
	expect_error(s, "unknown: unknown key");
	free(s);
	s = repeat("", "[", 1000000, "");
	expect_error(s, "t.yml:1:1: expected a map of keys at the top level");
	free(s);
	s = repeat("user: ", "a", 1 << 20, "\n");
	expect_error(s,
		"user: expected a string of at most 32 bytes, got "
		"\"aaaa");
	free(s);
	/* A key longer than YAML's 1024-character limit is a plain scalar. */
	s = repeat("", "k", 1 << 20, ": 1\n");
	expect_error(s,
		"t.yml:1:1: expected a map of keys at the top level, "
		"got \"kkkk");
	free(s);
	s = repeat("", "k", 1000, ": 1\n");
	expect_error(s, "t.yml:1:1: \"kkkk");
	free(s);
	s = repeat("mqtt:\n", "  receive_maximum: 1\n", 100000, "");
	expect_error(s, "t.yml:3:3: mqtt.receive_maximum: duplicate key");
	free(s);
	s = repeat("", "x: 1\n", 100000, "");
	expect_error(s, "t.yml:1:1: x: unknown key");
	free(s);
	/* Aliases are refused at once: no "billion laughs" expansion. */
	expect_error(
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "unknown key");
	expect_error("user: &a x\npid_file: [*a, *a, *a]\n",
		"expected a file path, got a list");
}
END_TEST

static char *
temp_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/check_config.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(files)
{
	cq_config_t c;
	char *err = NULL, *path, *needle;

	path = temp_file("workers: 3\n", 11);
	ck_assert_int_eq(cq_config_load_file(path, &c, &err), 0);
	ck_assert_uint_eq(c.workers, 3);
	cq_config_free(&c);
	unlink(path);
	free(path);

	/* Messages name the file as given. */
	path = temp_file("workers: x\n", 11);
	ck_assert_int_eq(cq_config_load_file(path, &c, &err), -1);
	ck_assert_int_ge(asprintf(&needle, "%s:1:10: workers:", path), 0);
	ck_assert_msg(strstr(err, needle) == err, "%s", err);
	free(needle);
	free(err);
	unlink(path);
	free(path);

	ck_assert_int_eq(
		cq_config_load_file("/nonexistent/c.yml", &c, &err), -1);
	ck_assert_str_eq(err,
		"/nonexistent/c.yml: cannot open: No such file "
		"or directory");
	free(err);
	ck_assert_int_eq(cq_config_load_file("/etc/passwd/x", &c, &err), -1);
	ck_assert_str_eq(err, "/etc/passwd/x: cannot open: Not a directory");
	free(err);
	ck_assert_int_eq(cq_config_load_file("/tmp", &c, &err), -1);
	ck_assert_str_eq(err, "/tmp: is a directory");
	free(err);

	/* Too large: refused before parsing. */
	size_t big = CQ_CONFIG_FILE_MAX + 1;
	char *text = malloc(big);
	memset(text, '#', big);
	path = temp_file(text, big);
	ck_assert_int_eq(cq_config_load_file(path, &c, &err), -1);
	ck_assert_msg(
		strstr(err, "larger than 4194304 bytes") != NULL, "%s", err);
	free(err);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

static void
count_change(const cq_cfg_change_t *ch, void *ctx)
{
	(void)ch;
	(*(int *)ctx)++;
}

START_TEST(print_then_load_round_trips)
{
	static const char *const configs[] = {
		"",
		"workers: 4\nuser: \"mqtt\"\npid_file: \"/run/a \\\"b\\\"\"\n"
		"shm_size: 1G\nsys_interval: 90s\n"
		"log: {file: \"/var/log/c\\tq.log\", level: warn}\n"
		"listeners:\n  - {name: a, address: \"[::]:1883\", "
		"accept: handoff}\n"
		"  - {name: b, type: unix, address: /run/b.sock, mode: 0600, "
		"mount_point: "
		"\"x/\\u0080\\x7f\\x01\\uFEFF\\u00e9\\U0001F600/\"}\n"
		"limits: {max_packet_size: 300000, keepalive_max: 1h}\n"
		"mqtt: {maximum_session_expiry_interval: 7d, maximum_qos: 1, "
		"retain_available: no}\n"
		"shm: {ring_size: 4M, route_shards: 128}\n",
	};
	cq_config_t a, b;
	char *err = NULL;

	for (size_t i = 0; i < CQ_ARRAY_SIZE(configs); i++) {
		expect_ok(configs[i], &a);
		char *text = print_to_string(&a);
		ck_assert_msg(load(text, &b, &err) == 0, "%s\n%s", err, text);
		char *again = print_to_string(&b);
		ck_assert_str_eq(again, text);
		int n = 0;
		ck_assert_int_eq(cq_config_diff(&a, &b, count_change, &n), 0);
		ck_assert_int_eq(n, 0);
		free(text);
		free(again);
		cq_config_free(&a);
		cq_config_free(&b);
	}
}
END_TEST

START_TEST(printed_values_are_canonical)
{
	cq_config_t c;

	expect_ok(
		"shm_size: 1048576K\nsys_interval: 120\n"
		"limits: {max_packet_size: 2048}\n"
		"listeners:\n  - {name: a, address: \"[0:0::0]:1\", mode: 7}\n",
		&c);
	char *text = print_to_string(&c);
	ck_assert_ptr_nonnull(strstr(text, "\nshm_size: 1G\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nsys_interval: 2m\n"));
	ck_assert_ptr_nonnull(strstr(text, "  max_packet_size: 2K\n"));
	ck_assert_ptr_nonnull(strstr(text, "    address: \"[::]:1\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "    mode: 0007\n"));
	ck_assert_ptr_nonnull(strstr(text, "  - name: \"a\"\n"));
	free(text);
	cq_config_free(&c);
}
END_TEST

typedef struct seen_change {
	char path[64], old_value[64], new_value[64];
	bool live;
} seen_change_t;

typedef struct changes {
	seen_change_t v[16];
	int n;
} changes_t;

static void
record_change(const cq_cfg_change_t *ch, void *ctx)
{
	changes_t *cs = ctx;

	ck_assert_int_lt(cs->n, 16);
	seen_change_t *s = &cs->v[cs->n++];
	snprintf(s->path, sizeof(s->path), "%s", ch->path);
	snprintf(s->old_value, sizeof(s->old_value), "%s", ch->old_value);
	snprintf(s->new_value, sizeof(s->new_value), "%s", ch->new_value);
	s->live = ch->live;
}

static const seen_change_t *
find_change(const changes_t *cs, const char *path)
{
	for (int i = 0; i < cs->n; i++)
		if (strcmp(cs->v[i].path, path) == 0)
			return &cs->v[i];
	ck_abort_msg("no change reported for %s", path);
	return NULL;
}

START_TEST(reload_diff_classifies_changes)
{
	cq_config_t a, b;
	changes_t cs = {.n = 0};
	const seen_change_t *ch;

	expect_ok("", &a);
	expect_ok("workers: 2\nlog: {level: debug, file: /tmp/x.log}\n"
		  "listeners:\n  - {name: tcp, address: \"0.0.0.0:1884\"}\n"
		  "  - {name: ws, type: ws, address: \"0.0.0.0:1882\"}\n"
		  "limits: {max_connections: 5, max_sessions: 5}\n"
		  "mqtt: {maximum_qos: 1, restore_sys_info_on_restart: true}\n"
		  "shm: {ring_size: 2M}\nsys_interval: 0\n",
		&b);
	ck_assert_int_eq(cq_config_diff(&a, &b, record_change, &cs), 10);
	ck_assert_int_eq(cs.n, 10);
	ch = find_change(&cs, "workers");
	ck_assert(!ch->live);
	ck_assert_str_eq(ch->old_value, "0");
	ck_assert_str_eq(ch->new_value, "2");
	ch = find_change(&cs, "log.level");
	ck_assert(ch->live);
	ck_assert_str_eq(ch->new_value, "debug");
	ch = find_change(&cs, "log.file");
	ck_assert(ch->live);
	ck_assert_str_eq(ch->old_value, "\"stderr\"");
	ck_assert(!find_change(&cs, "listeners[0].address")->live);
	ck_assert(find_change(&cs, "limits.max_connections")->live);
	ck_assert(!find_change(&cs, "limits.max_sessions")->live);
	ck_assert(find_change(&cs, "mqtt.maximum_qos")->live);
	ck_assert(!find_change(&cs, "mqtt.restore_sys_info_on_restart")->live);
	ck_assert(!find_change(&cs, "shm.ring_size")->live);
	ck_assert(find_change(&cs, "sys_interval")->live);

	/* What a reload applies: the live changes only. */
	cq_config_keep_restart_keys(&a, &b);
	ck_assert_uint_eq(b.workers, 0);
	ck_assert_int_eq(b.log.level, CQ_LOG_DEBUG);
	ck_assert_str_eq(b.log.file, "/tmp/x.log");
	ck_assert_uint_eq(b.listeners[0].address.port, 1883);
	ck_assert_uint_eq(b.limits.max_connections, 5);
	ck_assert_uint_eq(b.limits.max_sessions, 100000);
	ck_assert_uint_eq(b.mqtt.maximum_qos, 1);
	ck_assert(!b.mqtt.restore_sys_info_on_restart);
	ck_assert_uint_eq(b.shm.ring_size, 1 << 20);
	ck_assert_uint_eq(b.sys_interval, 0);
	cq_config_t d;
	expect_ok("", &d);
	cs.n = 0;
	ck_assert_int_eq(cq_config_diff(&d, &b, record_change, &cs), 5);
	for (int i = 0; i < cs.n; i++)
		ck_assert_msg(cs.v[i].live, "%s", cs.v[i].path);
	cq_config_free(&d);
	/* The old one got the new values of restart keys: both free. */
	ck_assert_uint_eq(a.listeners[0].address.port, 1884);
	cq_config_free(&b);
	cq_config_free(&a);
	expect_ok("", &a);

	/* A listener more is one change of the list. */
	cs.n = 0;
	expect_ok("listeners:\n  - {name: tcp, address: \"0.0.0.0:1883\"}\n"
		  "  - {name: ws, type: ws, address: \"0.0.0.0:1882\"}\n"
		  "  - {name: two, address: \":1884\"}\n",
		&b);
	ck_assert_int_eq(cq_config_diff(&a, &b, record_change, &cs), 1);
	ch = find_change(&cs, "listeners");
	ck_assert(!ch->live);
	ck_assert_str_eq(ch->old_value, "2 items");
	ck_assert_str_eq(ch->new_value, "3 items");
	cq_config_free(&b);
	cq_config_free(&a);
}
END_TEST

START_TEST(set_and_command_line)
{
	cq_config_t c;
	char *err = NULL, *path;

	ck_assert_int_eq(cq_config_load_defaults(&c), 0);
	ck_assert_int_eq(
		cq_config_set(&c, "limits.max_inflight", "7", &err), 0);
	ck_assert_uint_eq(c.limits.max_inflight, 7);
	ck_assert_int_eq(cq_config_set(&c, "log.file", "/x", &err), 0);
	ck_assert_str_eq(c.log.file, "/x");
	ck_assert_int_eq(cq_config_set(&c, "listeners",
				 "[{name: a, address: \":5\"}, "
				 "{name: b, address: \":6\"}]",
				 &err),
		0);
	ck_assert_uint_eq(c.n_listeners, 2);
	ck_assert_uint_eq(c.listeners[1].address.port, 6);
	ck_assert_int_eq(cq_config_set(&c, "limits.nope", "1", &err), -1);
	ck_assert_str_eq(err, "limits.nope: unknown key");
	free(err);
	ck_assert_int_eq(cq_config_set(&c, "workers.x", "1", &err), -1);
	ck_assert_str_eq(err, "workers.x: unknown key");
	free(err);
	ck_assert_int_eq(cq_config_set(&c, "limits", "1", &err), -1);
	ck_assert_str_eq(err, "limits: is a map: set its keys one at a time");
	free(err);
	ck_assert_int_eq(
		cq_config_set(&c, "limits.max_inflight", "0", &err), -1);
	ck_assert_str_eq(err,
		"limits.max_inflight: expected an integer from "
		"1 to 65535, got \"0\"");
	free(err);
	cq_config_free(&c);

	/* --workers wins over the file, at start and at every reload. */
	path = temp_file("workers: 3\n", 11);
	cq_config_cmdline_t cl = {.file = path, .workers = "5"};
	ck_assert_int_eq(cq_config_load_cmdline(&cl, &c, &err), 0);
	ck_assert_uint_eq(c.workers, 5);
	ck_assert_uint_eq(cq_config_workers(&c), 5);
	cq_config_free(&c);
	cl.workers = "65";
	ck_assert_int_eq(cq_config_load_cmdline(&cl, &c, &err), -1);
	ck_assert_str_eq(
		err, "--workers: expected an integer from 0 to 64, got \"65\"");
	free(err);
	cl.file = NULL;
	cl.workers = NULL;
	ck_assert_int_eq(cq_config_load_cmdline(&cl, &c, &err), 0);
	ck_assert_uint_ge(cq_config_workers(&c), 1);
	ck_assert_uint_le(cq_config_workers(&c), CQ_CONFIG_WORKERS_MAX);
	cq_config_free(&c);
	unlink(path);
	free(path);
}
END_TEST

typedef struct walk_seen {
	int keys;
	bool listener_name, log_level_live, workers_live, listener_live;
} walk_seen_t;

static void
walk_key(const char *path, const cq_cfg_key_t *k, bool live, void *ctx)
{
	walk_seen_t *w = ctx;

	ck_assert_msg(k->doc != NULL && k->doc[0] != '\0', "%s", path);
	w->keys++;
	if (strcmp(path, "listeners[].name") == 0)
		w->listener_name = true;
	if (strcmp(path, "listeners[].max_connections") == 0)
		w->listener_live = live;
	if (strcmp(path, "log.level") == 0)
		w->log_level_live = live;
	if (strcmp(path, "workers") == 0)
		w->workers_live = live;
}

START_TEST(walk_lists_every_key)
{
	walk_seen_t w = {0};

	cq_cfg_walk(cq_config_schema(), walk_key, &w);
	/* 15 top-level (admin and storage among them), 2 log, 18 listener
	 * (with its tls map) and 10 under listeners[].tls, 11 limits, 18
	 * mqtt, 3 shm, 78 under auth (conf_auth.c), admin's 9 keys (with its
	 * tls map) and the 10 of the same tls table under admin.tls
	 * (conf_admin.c), and 13 under storage (conf_storage.c). */
	ck_assert_int_eq(w.keys, 187);
	ck_assert(w.listener_name);
	ck_assert(w.log_level_live);
	ck_assert(!w.workers_live);
	ck_assert(!w.listener_live);
}
END_TEST

START_TEST(messages_quote_odd_values)
{
	expect_key_error("workers", "\"a\\tb\\\"c\"", "got \"a\\x09b\\\"c\"");
	char *s = repeat("workers: \"", "9", 100, "\"\n");
	expect_error(s,
		"got \"999999999999999999999999999999999999999999999999"
		"...\"");
	free(s);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, schema_is_well_formed);
	tcase_add_test(tc, defaults_are_documented_values);
	tcase_add_test(tc, empty_documents_are_defaults);
	tcase_add_test(tc, partial_blocks_keep_defaults);
	tcase_add_test(tc, bool_values);
	tcase_add_test(tc, integer_values);
	tcase_add_test(tc, size_values);
	tcase_add_test(tc, duration_values);
	tcase_add_test(tc, string_and_path_values);
	tcase_add_test(tc, enum_values);
	tcase_add_test(tc, mode_values);
	tcase_add_test(tc, unknown_keys_at_every_level);
	tcase_add_test(tc, wrong_yaml_node_types);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, listener_lists);
	tcase_add_test(tc, listener_count_limit);
	tcase_add_test(tc, yaml_syntax_errors_have_positions);
	tcase_add_test(tc, unsupported_yaml_features);
	tcase_add_test(tc, hostile_input_is_an_error);
	tcase_add_test(tc, files);
	tcase_add_test(tc, print_then_load_round_trips);
	tcase_add_test(tc, printed_values_are_canonical);
	tcase_add_test(tc, reload_diff_classifies_changes);
	tcase_add_test(tc, set_and_command_line);
	tcase_add_test(tc, walk_lists_every_key);
	tcase_add_test(tc, messages_quote_odd_values);
	suite_add_tcase(s, tc);
	return s;
}
