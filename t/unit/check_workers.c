/*
 * check_workers.c — unit tests for the parts of the worker runtime that
 * work without a running worker: the PUBLISH serialisation per wire layout
 * (workers/layout), inbound topic aliases (workers/conn) and the matching
 * of a stored message against a session's subscriptions (workers/lsess),
 * and when a connection keeps its output buffer (workers/conn).
 * The message path across workers, takeovers and respawns are covered by
 * the integration tests (t/1NN_*.t).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conf.h"
#include "mqtt/packet.h"
#include "mqtt/props.h"
#include "t/unit/unit.h"
#include "workers/conn.h"
#include "workers/hooks.h"
#include "workers/layout.h"
#include "workers/lsess.h"
#include "workers/rebalance.h"

/* A worker and a connection good enough to append output to. */
typedef struct fixture {
	cq_config_t cfg;
	cq_worker_t w;
	cq_conn_t c;
	cq_buf_t scratch;
} fixture_t;

static void
fixture_init(fixture_t *f, uint8_t version)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(cq_config_load_defaults(&f->cfg), 0);
	f->w.cfg = &f->cfg;
	f->c.w = &f->w;
	f->c.state = CQ_CONN_ACTIVE;
	f->c.version = version;
	f->c.listener = 0;
}

static void
fixture_free(fixture_t *f)
{
	cq_buf_free(&f->c.out);
	cq_buf_free(&f->scratch);
	cq_config_free(&f->cfg);
}

/* Decode the single packet in c's output. */
static void
decode_out(fixture_t *f, cq_mqtt_packet_t *pkt, cq_mqtt_frame_t *fr)
{
	cq_mqtt_dec_t dec = {.version = f->c.version};
	ck_assert_int_eq(cq_mqtt_read(cq_buf_head(&f->c.out),
				 cq_buf_used(&f->c.out), &dec, fr, pkt),
		0);
	ck_assert_uint_eq(fr->size, cq_buf_used(&f->c.out));
}

static cq_dmsg_t
message(const char *topic, const char *payload, uint8_t qos)
{
	return (cq_dmsg_t){.topic = topic,
		.topic_len = strlen(topic),
		.payload = (const uint8_t *)payload,
		.payload_len = strlen(payload),
		.qos = qos};
}

/* [MQTT-3.3.1-9]: what goes out is the message with the layout's QoS and
 * RETAIN, the packet id patched in, DUP on re-sends [MQTT-3.3.1-1]. */
START_TEST(layout_v311_qos1_dup)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V311);
	cq_dmsg_t d = message("a/b", "hello", 2);
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &f.scratch, &d, 1000);
	const cq_layout_t *l = cq_layouts_get(&lay, &f.c, 1, true, NULL, 0);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(cq_layout_emit(&f.c, &lay, l, 0x1234, true), 0);
	cq_mqtt_packet_t p;
	cq_mqtt_frame_t fr;
	decode_out(&f, &p, &fr);
	ck_assert_uint_eq(p.type, CQ_MQTT_PUBLISH);
	ck_assert_uint_eq(p.u.publish.qos, 1);
	ck_assert(p.u.publish.retain);
	ck_assert(p.u.publish.dup);
	ck_assert_uint_eq(p.u.publish.packet_id, 0x1234);
	ck_assert_mem_eq(p.u.publish.topic.ptr, "a/b", 3);
	ck_assert_mem_eq(p.u.publish.payload.ptr, "hello", 5);
	fixture_free(&f);
}
END_TEST

/* One build per layout: the same options give the same layout back, and
 * every option that changes the bytes gives another. */
START_TEST(layout_cache_by_options)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V5);
	cq_dmsg_t d = message("t", "x", 2);
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &f.scratch, &d, 1000);
	uint32_t ids1[] = {7}, ids2[] = {8};
	const cq_layout_t *a = cq_layouts_get(&lay, &f.c, 1, false, ids1, 1);
	ck_assert_ptr_eq(cq_layouts_get(&lay, &f.c, 1, false, ids1, 1), a);
	ck_assert_ptr_ne(cq_layouts_get(&lay, &f.c, 1, false, ids2, 1), a);
	ck_assert_ptr_ne(cq_layouts_get(&lay, &f.c, 2, false, ids1, 1), a);
	ck_assert_ptr_ne(cq_layouts_get(&lay, &f.c, 1, true, ids1, 1), a);
	ck_assert_uint_eq(lay.n, 4);
	/* A 3.1.1 subscriber ignores ids: one layout for any. */
	f.c.version = CQ_MQTT_V311;
	const cq_layout_t *b = cq_layouts_get(&lay, &f.c, 1, false, ids1, 1);
	ck_assert_ptr_eq(cq_layouts_get(&lay, &f.c, 1, false, ids2, 1), b);
	fixture_free(&f);
}
END_TEST

/* MQTT 5: the publisher's properties in order without Topic Alias, the
 * expiry rewritten to what is left [MQTT-3.3.2-6], then the
 * subscription ids [MQTT-3.3.4-3]. */
START_TEST(layout_v5_properties)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V5);
	uint8_t raw[64];
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, raw, sizeof(raw));
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_TOPIC_ALIAS, 3);
	cq_mqtt_pbuf_user(&pb, "k", 1, "v", 1);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_MESSAGE_EXPIRY, 60);
	ck_assert(!pb.failed);
	cq_dmsg_t d = message("t", "x", 1);
	d.props = raw;
	d.props_len = pb.len;
	d.expiry = 1000 + 60;
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &f.scratch, &d, 1000 + 45);
	uint32_t ids[] = {11, 22};
	const cq_layout_t *l = cq_layouts_get(&lay, &f.c, 1, false, ids, 2);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(cq_layout_emit(&f.c, &lay, l, 9, false), 0);
	cq_mqtt_packet_t p;
	cq_mqtt_frame_t fr;
	decode_out(&f, &p, &fr);
	const cq_mqtt_props_t *pr = &p.u.publish.props;
	ck_assert(!cq_mqtt_props_has(pr, CQ_MQTT_PROP_TOPIC_ALIAS));
	uint32_t v;
	ck_assert_int_eq(cq_mqtt_props_message_expiry(pr, &v), 0);
	ck_assert_uint_eq(v, 15);
	ck_assert_uint_eq(cq_mqtt_props_count(pr, CQ_MQTT_PROP_USER), 1);
	cq_mqtt_prop_iter_t it;
	uint32_t id, got[2], n = 0;
	cq_mqtt_props_iter(pr, &it);
	while (n < 2 && cq_mqtt_props_next_sub_id(&it, &id))
		got[n++] = id;
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(got[0], 11);
	ck_assert_uint_eq(got[1], 22);
	fixture_free(&f);
}
END_TEST

/* [MQTT-3.1.2-25] (5.0): nothing above the client's Maximum Packet Size. */
START_TEST(layout_client_maximum_packet_size)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V5);
	cq_dmsg_t d = message("topic", "0123456789", 0);
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &f.scratch, &d, 1000);
	const cq_layout_t *l = cq_layouts_get(&lay, &f.c, 0, false, NULL, 0);
	size_t size = cq_layout_size(&lay, l);
	f.c.max_packet = (uint32_t)size - 1;
	ck_assert_int_eq(cq_layout_emit(&f.c, &lay, l, 0, false), 1);
	ck_assert_uint_eq(cq_buf_used(&f.c.out), 0);
	f.c.max_packet = (uint32_t)size;
	ck_assert_int_eq(cq_layout_emit(&f.c, &lay, l, 0, false), 0);
	ck_assert_uint_eq(cq_buf_used(&f.c.out), size);
	fixture_free(&f);
}
END_TEST

/* listeners[].mount_point: a subscriber of a mounted listener sees the
 * topic without the prefix; another layout than a plain subscriber's. */
START_TEST(layout_mount_point_stripped)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V311);
	free(f.cfg.listeners[0].mount_point);
	f.cfg.listeners[0].mount_point = strdup("tenant/");
	cq_dmsg_t d = message("tenant/a/b", "p", 0);
	cq_layouts_t lay;
	cq_layouts_begin(&lay, &f.scratch, &d, 1000);
	const cq_layout_t *l = cq_layouts_get(&lay, &f.c, 0, false, NULL, 0);
	ck_assert_uint_eq(l->strip, 7);
	ck_assert_int_eq(cq_layout_emit(&f.c, &lay, l, 0, false), 0);
	cq_mqtt_packet_t p;
	cq_mqtt_frame_t fr;
	decode_out(&f, &p, &fr);
	ck_assert_uint_eq(p.u.publish.topic.len, 3);
	ck_assert_mem_eq(p.u.publish.topic.ptr, "a/b", 3);
	fixture_free(&f);
}
END_TEST

/* [MQTT-3.3.2-12] (5.0): an alias stands for the last topic set for it;
 * aliases above the announced maximum, and 0, are refused. */
START_TEST(alias_map)
{
	cq_alias_map_t m = {.max = 100};
	size_t n;
	ck_assert_ptr_null(cq_alias_get(&m, 5, &n));
	ck_assert_int_eq(cq_alias_set(&m, 5, "a/b", 3), 0);
	ck_assert_int_eq(cq_alias_set(&m, 100, "c", 1), 0);
	ck_assert_int_eq(cq_alias_set(&m, 101, "d", 1), -1);
	ck_assert_int_eq(cq_alias_set(&m, 0, "e", 1), -1);
	const char *t = cq_alias_get(&m, 5, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(t, "a/b", 3);
	ck_assert_int_eq(cq_alias_set(&m, 5, "x", 1), 0);
	t = cq_alias_get(&m, 5, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(t, "x", 1);
	ck_assert_ptr_null(cq_alias_get(&m, 6, &n));
	ck_assert_ptr_null(cq_alias_get(&m, 1000, &n));
	cq_alias_free(&m);
}
END_TEST

static void
add_sub(cq_lsess_t *ls, const char *f, uint8_t qos, bool rap, uint32_t id)
{
	ls->subs = realloc(ls->subs, (ls->nsubs + 1) * sizeof(*ls->subs));
	ls->subs[ls->nsubs++] = (cq_lsub_t){strdup(f), (uint16_t)strlen(f),
		{.qos = qos, .retain_as_published = rap, .sub_id = id}};
}

/* Stored messages (queue, forwards) get the options of every matching
 * subscription: the highest QoS [MQTT-3.3.4-2], all ids [MQTT-3.3.4-3];
 * a shared subscription matches by its filter part. */
START_TEST(lsess_match_options)
{
	cq_lsess_t ls = {0};
	add_sub(&ls, "a/#", 0, false, 1);
	add_sub(&ls, "a/+", 2, true, 2);
	add_sub(&ls, "$share/g/a/b", 1, false, 0);
	add_sub(&ls, "b/#", 1, false, 3);
	uint8_t qos;
	bool rap;
	uint32_t ids[4];
	unsigned nids;
	ck_assert_uint_eq(
		cq_lsess_match(&ls, "a/b", 3, &qos, &rap, ids, 4, &nids), 3);
	ck_assert_uint_eq(qos, 2);
	ck_assert(rap);
	ck_assert_uint_eq(nids, 2);
	ck_assert_uint_eq(
		cq_lsess_match(&ls, "a/b/c", 5, &qos, &rap, ids, 4, &nids), 1);
	ck_assert_uint_eq(qos, 0);
	ck_assert(!rap);
	ck_assert_uint_eq(
		cq_lsess_match(&ls, "c", 1, &qos, &rap, ids, 4, &nids), 0);
	for (uint32_t i = 0; i < ls.nsubs; i++)
		free(ls.subs[i].filter);
	free(ls.subs);
}
END_TEST

static cq_hook_verdict_t
say_next(void *ctx, const cq_hook_client_t *cl, const cq_mqtt_connect_t *pk)
{
	(*(int *)ctx)++;
	return CQ_HOOK_NEXT;
}

static cq_hook_verdict_t
say_allow(void *ctx, const cq_hook_client_t *cl, const cq_mqtt_connect_t *pk)
{
	(*(int *)ctx)++;
	return CQ_HOOK_ALLOW;
}

static uint8_t
bump_qos(void *ctx, const cq_hook_client_t *cl, const char *f, size_t n,
	cq_subopts_t *o)
{
	(*(int *)ctx)++;
	o->qos = 2;
	return 0;
}

static uint8_t
refuse_sub(void *ctx, const cq_hook_client_t *cl, const char *f, size_t n,
	cq_subopts_t *o)
{
	(*(int *)ctx)++;
	return 0x87;
}

/* The hook chain (comqtt's semantics): authentication stops at the first
 * hook that decides, none deciding is a refusal; subscribe hooks change
 * what they are given and the first refusal ends the chain; a hook of
 * another ABI is not loaded. */
START_TEST(hooks_chain)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V311);
	f.w.hooks = cq_hooks_new();
	int calls = 0;
	cq_hook_t next = {.name = "next",
		.abi_version = CQ_HOOK_ABI_VERSION,
		.ctx = &calls,
		.on_connect_authenticate = say_next,
		.on_subscribe = bump_qos};
	cq_hook_t allow = {.name = "allow",
		.abi_version = CQ_HOOK_ABI_VERSION,
		.ctx = &calls,
		.on_connect_authenticate = say_allow,
		.on_subscribe = refuse_sub};
	cq_hook_t old = {.name = "old", .abi_version = 0};
	cq_mqtt_connect_t pk = {.version = CQ_MQTT_V311};
	ck_assert_int_eq(cq_hooks_add(f.w.hooks, &next), 0);
	ck_assert_int_eq(cq_hooks_authenticate(&f.w, &f.c, &pk), CQ_HOOK_DENY);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(cq_hooks_add(f.w.hooks, &old), -1);
	ck_assert_int_eq(cq_hooks_add(f.w.hooks, &allow), 0);
	ck_assert_int_eq(cq_hooks_authenticate(&f.w, &f.c, &pk), CQ_HOOK_ALLOW);
	ck_assert_int_eq(calls, 3);
	ck_assert_int_eq(
		cq_hooks_acl(&f.w, &f.c, "a", 1, CQ_ACL_WRITE), CQ_HOOK_DENY);
	cq_subopts_t o = {.qos = 0};
	ck_assert_uint_eq(cq_hooks_subscribe(&f.w, &f.c, "a", 1, &o), 0x87);
	ck_assert_uint_eq(o.qos, 2);
	ck_assert_int_eq(calls, 5);
	cq_hooks_free(f.w.hooks);
	fixture_free(&f);
}
END_TEST

/* The built-in access control: loopback and Unix clients in, others out
 * unless the listener allows remote clients. */
/* Rebalancing: only past CQ_REBALANCE_MIN, only with a clear margin. */
START_TEST(rebalance_hysteresis)
{
	ck_assert(!cq_rebalance_wanted(CQ_REBALANCE_MIN - 1, 0));
	ck_assert(cq_rebalance_wanted(CQ_REBALANCE_MIN, 0));
	ck_assert(!cq_rebalance_wanted(100, 70)); /* 100 <= 70 + 17 + 16 */
	ck_assert(cq_rebalance_wanted(100, 60)); /* 100 > 60 + 15 + 16 */
	ck_assert(!cq_rebalance_wanted(1000, 800));
	ck_assert(cq_rebalance_wanted(1000, 780));
	/* Two close workers never trade: a hand-over leaves the giver
	 * above the taker, so the taker never wants to give back. */
	for (uint64_t least = 0; least < 5000; least += 7)
		for (uint64_t mine = least; mine < least * 2 + 100; mine += 3)
			if (cq_rebalance_wanted(mine, least))
				ck_assert(!cq_rebalance_wanted(
					least + 1, mine - 1));
}
END_TEST

START_TEST(hook_loopback)
{
	fixture_t f;
	fixture_init(&f, CQ_MQTT_V311);
	f.w.hooks = cq_hooks_new();
	cq_hooks_add(f.w.hooks, &cq_hook_loopback);
	cq_mqtt_connect_t pk = {.version = CQ_MQTT_V311};
	f.c.loopback = true;
	ck_assert_int_eq(cq_hooks_authenticate(&f.w, &f.c, &pk), CQ_HOOK_ALLOW);
	f.c.loopback = false;
	ck_assert_int_eq(cq_hooks_authenticate(&f.w, &f.c, &pk), CQ_HOOK_DENY);
	f.cfg.listeners[0].allow_remote = true;
	ck_assert_int_eq(cq_hooks_authenticate(&f.w, &f.c, &pk), CQ_HOOK_ALLOW);
	ck_assert_int_eq(
		cq_hooks_acl(&f.w, &f.c, "a", 1, CQ_ACL_WRITE), CQ_HOOK_ALLOW);
	cq_hooks_free(f.w.hooks);
	fixture_free(&f);
}
END_TEST

/* Queue a PINGRESP on f's connection and flush it to the socket. */
static void
flush_one(fixture_t *f)
{
	static const uint8_t pingresp[2] = {0xd0, 0x00};
	ck_assert_int_eq(cq_conn_send(&f->c, pingresp, sizeof(pingresp)), 0);
	cq_conn_flush_dirty(&f->w);
	ck_assert_uint_eq(cq_buf_used(&f->c.out), 0);
}

/* An idle connection holds no output buffer, and a busy one does not
 * make and free one per flush (no allocation per message in a stream):
 * a lone flush frees it, a second one keeps it, and it goes when a whole
 * keep-alive check period passes without output. */
START_TEST(output_buffer_kept_while_busy)
{
	fixture_t f;
	int sv[2];
	fixture_init(&f, CQ_MQTT_V311);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f.c.fd = sv[0];
	f.w.conns = &f.c;

	flush_one(&f); /* a CONNACK, say */
	ck_assert_ptr_null(f.c.out.data);
	flush_one(&f);
	const unsigned char *kept = f.c.out.data;
	ck_assert_ptr_nonnull(kept);
	for (int i = 0; i < 100; i++) {
		flush_one(&f);
		ck_assert_ptr_eq(f.c.out.data, kept);
	}
	/* A stream goes on across a check. */
	cq_conn_check_timeouts(&f.w);
	ck_assert_ptr_eq(f.c.out.data, kept);
	flush_one(&f);
	ck_assert_ptr_eq(f.c.out.data, kept);
	/* A period with output, then one without: freed. */
	cq_conn_check_timeouts(&f.w);
	ck_assert_ptr_eq(f.c.out.data, kept);
	cq_conn_check_timeouts(&f.w);
	ck_assert_ptr_null(f.c.out.data);
	/* Idle again: a lone flush frees at once. */
	cq_conn_check_timeouts(&f.w);
	flush_one(&f);
	ck_assert_ptr_null(f.c.out.data);

	char sink[512];
	ck_assert_int_eq(read(sv[1], sink, sizeof(sink)), 2 * 104);
	close(sv[0]);
	close(sv[1]);
	fixture_free(&f);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("workers");
	TCase *tc = tcase_create("runtime");
	tcase_add_test(tc, layout_v311_qos1_dup);
	tcase_add_test(tc, layout_cache_by_options);
	tcase_add_test(tc, layout_v5_properties);
	tcase_add_test(tc, layout_client_maximum_packet_size);
	tcase_add_test(tc, layout_mount_point_stripped);
	tcase_add_test(tc, alias_map);
	tcase_add_test(tc, lsess_match_options);
	tcase_add_test(tc, hooks_chain);
	tcase_add_test(tc, hook_loopback);
	tcase_add_test(tc, rebalance_hysteresis);
	tcase_add_test(tc, output_buffer_kept_while_busy);
	suite_add_tcase(s, tc);
	return s;
}
