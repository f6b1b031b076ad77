/*
 * check_mqtt_props.c — MQTT 5 properties (src/mqtt/props.c): the table of
 * §2.2.2.2, the checks of the parser, the accessors and the builder.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/defs.h"
#include "mqtt/props.h"
#include "t/unit/unit.h"

/* §2.2.2.2 restated: every identifier, its type, where it may appear. */
static const struct {
	unsigned id, type;
	const char *in;
} table[] = {
	{0x01, CQ_MQTT_PT_BYTE, "PUBLISH WILL"},
	{0x02, CQ_MQTT_PT_U32, "PUBLISH WILL"},
	{0x03, CQ_MQTT_PT_UTF8, "PUBLISH WILL"},
	{0x08, CQ_MQTT_PT_UTF8, "PUBLISH WILL"},
	{0x09, CQ_MQTT_PT_BIN, "PUBLISH WILL"},
	{0x0b, CQ_MQTT_PT_VARINT, "PUBLISH SUBSCRIBE"},
	{0x11, CQ_MQTT_PT_U32, "CONNECT CONNACK DISCONNECT"},
	{0x12, CQ_MQTT_PT_UTF8, "CONNACK"},
	{0x13, CQ_MQTT_PT_U16, "CONNACK"},
	{0x15, CQ_MQTT_PT_UTF8, "CONNECT CONNACK AUTH"},
	{0x16, CQ_MQTT_PT_BIN, "CONNECT CONNACK AUTH"},
	{0x17, CQ_MQTT_PT_BYTE, "CONNECT"},
	{0x18, CQ_MQTT_PT_U32, "WILL"},
	{0x19, CQ_MQTT_PT_BYTE, "CONNECT"},
	{0x1a, CQ_MQTT_PT_UTF8, "CONNACK"},
	{0x1c, CQ_MQTT_PT_UTF8, "CONNACK DISCONNECT"},
	{0x1f, CQ_MQTT_PT_UTF8,
		"CONNACK PUBACK PUBREC PUBREL PUBCOMP SUBACK UNSUBACK "
		"DISCONNECT AUTH"},
	{0x21, CQ_MQTT_PT_U16, "CONNECT CONNACK"},
	{0x22, CQ_MQTT_PT_U16, "CONNECT CONNACK"},
	{0x23, CQ_MQTT_PT_U16, "PUBLISH"},
	{0x24, CQ_MQTT_PT_BYTE, "CONNACK"},
	{0x25, CQ_MQTT_PT_BYTE, "CONNACK"},
	{0x26, CQ_MQTT_PT_PAIR,
		"CONNECT CONNACK PUBLISH WILL PUBACK PUBREC PUBREL PUBCOMP "
		"SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK DISCONNECT AUTH"},
	{0x27, CQ_MQTT_PT_U32, "CONNECT CONNACK"},
	{0x28, CQ_MQTT_PT_BYTE, "CONNACK"},
	{0x29, CQ_MQTT_PT_BYTE, "CONNACK"},
	{0x2a, CQ_MQTT_PT_BYTE, "CONNACK"},
};

static const char *const type_names[16] = {"WILL", "CONNECT", "CONNACK",
	"PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
	"SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
	"DISCONNECT", "AUTH"};

static bool
listed(const char *list, unsigned ptype)
{
	const char *name = type_names[ptype];
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

START_TEST(props_table_2_2_2_2)
{
	unsigned known = 0;
	for (unsigned id = 0; id < 256; id++)
		known += cq_mqtt_prop_type(id) != CQ_MQTT_PT_NONE;
	ck_assert_uint_eq(known, CQ_ARRAY_SIZE(table));
	ck_assert_uint_eq(known, 27);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(table); i++) {
		unsigned id = table[i].id;
		ck_assert_uint_eq(cq_mqtt_prop_type(id), table[i].type);
		ck_assert_str_ne(cq_mqtt_prop_name(id), "unknown property");
		for (unsigned t = 0; t < 16; t++)
			ck_assert_msg(cq_mqtt_prop_allowed(id, t) ==
					listed(table[i].in, t),
				"property 0x%02x in %s", id, type_names[t]);
	}
	ck_assert_str_eq(cq_mqtt_prop_name(0x26), "User Property");
	ck_assert_str_eq(cq_mqtt_prop_name(0x04), "unknown property");
	ck_assert(!cq_mqtt_prop_allowed(0x26, 16));
}
END_TEST

/* At most once, except User Property, and Subscription Identifier in a
 * PUBLISH (§3.3.2.3.8). */
START_TEST(props_repeatable)
{
	for (size_t i = 0; i < CQ_ARRAY_SIZE(table); i++)
		for (unsigned t = 0; t < 16; t++)
			ck_assert(cq_mqtt_prop_repeatable(table[i].id, t) ==
				(table[i].id == 0x26 ||
					(table[i].id == 0x0b && t == 3)));
}
END_TEST

static cq_mqtt_err_t
parse(const uint8_t *p, size_t n, unsigned ptype)
{
	cq_mqtt_props_t props;
	return cq_mqtt_props_parse(p, (uint32_t)n, ptype, &props);
}

#define PARSE(arr, ptype) parse(arr, sizeof(arr), ptype)

START_TEST(props_unknown_identifier_malformed)
{
	static const uint8_t zero[] = {0x00, 0x01};
	static const uint8_t gap[] = {0x04, 0x01};
	static const uint8_t two_byte_id[] = {0x81, 0x00, 0x01};
	ck_assert_int_eq(PARSE(zero, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_ID);
	ck_assert_int_eq(PARSE(gap, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_ID);
	ck_assert_int_eq(
		PARSE(two_byte_id, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_ID);
}
END_TEST

/* §2.2.2.2: an identifier not valid for the packet is Malformed. */
START_TEST(props_not_allowed_in_packet)
{
	static const uint8_t alias[] = {0x23, 0x00, 0x01};
	static const uint8_t will_delay[] = {0x18, 0, 0, 0, 1};
	static const uint8_t session[] = {0x11, 0, 0, 0, 1};
	static const uint8_t reason[] = {0x1f, 0x00, 0x00};
	ck_assert_int_eq(
		PARSE(alias, CQ_MQTT_CONNECT), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(PARSE(alias, CQ_MQTT_PUBLISH), CQ_MQTT_OK);
	ck_assert_int_eq(PARSE(will_delay, CQ_MQTT_PUBLISH),
		CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(PARSE(will_delay, CQ_MQTT_WILL), CQ_MQTT_OK);
	ck_assert_int_eq(
		PARSE(session, CQ_MQTT_WILL), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(
		PARSE(reason, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(
		PARSE(reason, CQ_MQTT_SUBSCRIBE), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(PARSE(reason, CQ_MQTT_UNSUBACK), CQ_MQTT_OK);
}
END_TEST

/* "It is a Protocol Error to include X more than once" (§3.1.2.11.2 and
 * the other property descriptions). */
START_TEST(props_duplicate_protocol_error)
{
	static const uint8_t session2[] = {0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2};
	static const uint8_t subid2[] = {0x0b, 0x01, 0x0b, 0x02};
	static const uint8_t user2[] = {
		0x26, 0, 1, 'a', 0, 1, 'b', 0x26, 0, 1, 'a', 0, 1, 'c'};
	static const uint8_t alias2[] = {0x23, 0, 1, 0x23, 0, 2};
	ck_assert_int_eq(
		PARSE(session2, CQ_MQTT_CONNECT), CQ_MQTT_ERR_PROP_DUP);
	ck_assert_int_eq(
		PARSE(subid2, CQ_MQTT_SUBSCRIBE), CQ_MQTT_ERR_PROP_DUP);
	ck_assert_int_eq(PARSE(subid2, CQ_MQTT_PUBLISH), CQ_MQTT_OK);
	ck_assert_int_eq(PARSE(user2, CQ_MQTT_CONNECT), CQ_MQTT_OK);
	ck_assert_int_eq(PARSE(alias2, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_DUP);
}
END_TEST

/* A value running past the property section is malformed. */
START_TEST(props_length_overflow)
{
	static const uint8_t u32[] = {0x02, 0, 0, 1};
	static const uint8_t u16[] = {0x23, 0};
	static const uint8_t byte[] = {0x01};
	static const uint8_t str[] = {0x03, 0, 5, 'a', 'b'};
	static const uint8_t pair[] = {0x26, 0, 1, 'a', 0, 2, 'b'};
	static const uint8_t varint[] = {0x0b, 0x80};
	ck_assert_int_eq(PARSE(u32, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_LENGTH);
	ck_assert_int_eq(PARSE(u16, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_LENGTH);
	ck_assert_int_eq(PARSE(byte, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_LENGTH);
	ck_assert_int_eq(PARSE(str, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_LENGTH);
	ck_assert_int_eq(PARSE(pair, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_LENGTH);
	ck_assert_int_eq(
		PARSE(varint, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_LENGTH);
}
END_TEST

/* Subscription Identifier: a varint of at most four bytes, minimal
 * [MQTT-1.5.5-1], not 0 (§3.8.2.1.2). */
START_TEST(props_subscription_id_rules)
{
	static const uint8_t max[] = {0x0b, 0xff, 0xff, 0xff, 0x7f};
	static const uint8_t five[] = {0x0b, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t long1[] = {0x0b, 0x81, 0x00};
	static const uint8_t zero[] = {0x0b, 0x00};
	ck_assert_int_eq(PARSE(max, CQ_MQTT_SUBSCRIBE), CQ_MQTT_OK);
	ck_assert_int_eq(PARSE(five, CQ_MQTT_SUBSCRIBE), CQ_MQTT_ERR_VARINT);
	ck_assert_int_eq(PARSE(long1, CQ_MQTT_SUBSCRIBE), CQ_MQTT_ERR_VARINT);
	ck_assert_int_eq(
		PARSE(zero, CQ_MQTT_SUBSCRIBE), CQ_MQTT_ERR_PROP_VALUE);
	ck_assert_int_eq(PARSE(zero, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_PROP_VALUE);
}
END_TEST

START_TEST(props_value_ranges)
{
	static const struct {
		uint8_t bytes[6];
		size_t len;
		unsigned ptype;
		cq_mqtt_err_t err;
	} cases[] = {
		{{0x01, 2}, 2, CQ_MQTT_PUBLISH, CQ_MQTT_ERR_PROP_VALUE},
		{{0x01, 1}, 2, CQ_MQTT_PUBLISH, CQ_MQTT_OK},
		{{0x17, 2}, 2, CQ_MQTT_CONNECT, CQ_MQTT_ERR_PROP_VALUE},
		{{0x19, 2}, 2, CQ_MQTT_CONNECT, CQ_MQTT_ERR_PROP_VALUE},
		{{0x24, 2}, 2, CQ_MQTT_CONNACK, CQ_MQTT_ERR_PROP_VALUE},
		{{0x25, 2}, 2, CQ_MQTT_CONNACK, CQ_MQTT_ERR_PROP_VALUE},
		{{0x28, 2}, 2, CQ_MQTT_CONNACK, CQ_MQTT_ERR_PROP_VALUE},
		{{0x29, 2}, 2, CQ_MQTT_CONNACK, CQ_MQTT_ERR_PROP_VALUE},
		{{0x2a, 2}, 2, CQ_MQTT_CONNACK, CQ_MQTT_ERR_PROP_VALUE},
		{{0x21, 0, 0}, 3, CQ_MQTT_CONNECT, CQ_MQTT_ERR_PROP_VALUE},
		{{0x27, 0, 0, 0, 0}, 5, CQ_MQTT_CONNECT,
			CQ_MQTT_ERR_PROP_VALUE},
		/* [MQTT-3.3.2-8]: DISCONNECT 0x94 */
		{{0x23, 0, 0}, 3, CQ_MQTT_PUBLISH, CQ_MQTT_ERR_TOPIC_ALIAS},
		/* [MQTT-3.3.2-14]: Response Topic is a topic name */
		{{0x08, 0, 3, 'a', '/', '+'}, 6, CQ_MQTT_PUBLISH,
			CQ_MQTT_ERR_PROP_VALUE},
		{{0x08, 0, 0}, 3, CQ_MQTT_WILL, CQ_MQTT_ERR_PROP_VALUE},
		{{0x08, 0, 1, 'r'}, 4, CQ_MQTT_WILL, CQ_MQTT_OK},
		/* §3.1.2.11.10: Authentication Data without a method */
		{{0x16, 0, 1, 'x'}, 4, CQ_MQTT_CONNECT, CQ_MQTT_ERR_PROP_VALUE},
	};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(cases); i++)
		ck_assert_msg(parse(cases[i].bytes, cases[i].len,
				      cases[i].ptype) == cases[i].err,
			"case %zu", i);
}
END_TEST

/* [MQTT-1.5.4-1] [MQTT-1.5.4-2] in strings and string pairs; binary data
 * (Correlation Data) may hold anything. */
START_TEST(props_utf8_checked_MQTT_1_5_4_1)
{
	static const uint8_t overlong[] = {0x03, 0, 2, 0xc0, 0x80};
	static const uint8_t nul_name[] = {0x26, 0, 1, 0, 0, 0};
	static const uint8_t surrogate_value[] = {
		0x26, 0, 0, 0, 3, 0xed, 0xa0, 0x80};
	static const uint8_t corr[] = {0x09, 0, 2, 0xc0, 0x00};
	ck_assert_int_eq(PARSE(overlong, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(PARSE(nul_name, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(
		PARSE(surrogate_value, CQ_MQTT_PUBLISH), CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(PARSE(corr, CQ_MQTT_PUBLISH), CQ_MQTT_OK);
}
END_TEST

/* A CONNACK property section carrying one of each kind. */
static const uint8_t connack_props[] = {
	0x11, 0x00, 0x00, 0x0e, 0x10, /* session expiry 3600 */
	0x21, 0x00, 0x14, /* receive maximum 20 */
	0x24, 0x01, /* maximum QoS 1 */
	0x26, 0, 1, 'k', 0, 2, 'v', '1', /* user k=v1 */
	0x12, 0, 3, 'c', 'i', 'd', /* assigned client id */
	0x26, 0, 1, 'k', 0, 2, 'v', '2', /* user k=v2 */
	0x16, 0, 2, 0x00, 0xff, /* auth data */
	0x15, 0, 5, 'S', 'C', 'R', 'A', 'M', /* auth method */
};

START_TEST(props_accessors)
{
	cq_mqtt_props_t p;
	cq_mqtt_view_t v, k;
	uint32_t n;

	ck_assert_int_eq(cq_mqtt_props_parse(connack_props,
				 sizeof(connack_props), CQ_MQTT_CONNACK, &p),
		CQ_MQTT_OK);
	ck_assert_int_eq(cq_mqtt_props_session_expiry(&p, &n), 0);
	ck_assert_uint_eq(n, 3600);
	ck_assert_int_eq(cq_mqtt_props_receive_max(&p, &n), 0);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(cq_mqtt_props_max_qos(&p, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cq_mqtt_props_assigned_client_id(&p, &v), 0);
	ck_assert_uint_eq(v.len, 3);
	ck_assert_mem_eq(v.ptr, "cid", 3);
	ck_assert_int_eq(cq_mqtt_props_auth_data(&p, &v), 0);
	ck_assert_uint_eq(v.len, 2);
	ck_assert_int_eq(cq_mqtt_props_auth_method(&p, &v), 0);
	ck_assert_mem_eq(v.ptr, "SCRAM", 5);
	/* absent */
	ck_assert_int_eq(cq_mqtt_props_topic_alias_max(&p, &n), -1);
	ck_assert_int_eq(cq_mqtt_props_reason_string(&p, &v), -1);
	ck_assert_uint_eq(
		cq_mqtt_props_int_or(&p, CQ_MQTT_PROP_MAX_PACKET_SIZE, 1234),
		1234);
	ck_assert_uint_eq(
		cq_mqtt_props_int_or(&p, CQ_MQTT_PROP_RECEIVE_MAX, 65535), 20);
	ck_assert_uint_eq(cq_mqtt_props_count(&p, CQ_MQTT_PROP_USER), 2);
	ck_assert_uint_eq(cq_mqtt_props_count(&p, CQ_MQTT_PROP_MAX_QOS), 1);
	ck_assert_uint_eq(cq_mqtt_props_count(&p, CQ_MQTT_PROP_TOPIC_ALIAS), 0);
	/* User Properties in order [MQTT-3.3.2-18] */
	cq_mqtt_prop_iter_t it;
	cq_mqtt_props_iter(&p, &it);
	ck_assert(cq_mqtt_props_next_user(&it, &k, &v));
	ck_assert_mem_eq(v.ptr, "v1", 2);
	ck_assert(cq_mqtt_props_next_user(&it, &k, &v));
	ck_assert_mem_eq(v.ptr, "v2", 2);
	ck_assert(!cq_mqtt_props_next_user(&it, &k, &v));
	/* All of them, in wire order. */
	static const uint8_t order[] = {
		0x11, 0x21, 0x24, 0x26, 0x12, 0x26, 0x16, 0x15};
	cq_mqtt_prop_t pr;
	size_t i = 0;
	cq_mqtt_props_iter(&p, &it);
	while (cq_mqtt_props_next(&it, &pr))
		ck_assert_uint_eq(pr.id, order[i++]);
	ck_assert_uint_eq(i, sizeof(order));
}
END_TEST

START_TEST(props_sub_ids_iterated)
{
	static const uint8_t raw[] = {
		0x0b, 0x01, 0x26, 0, 0, 0, 0, 0x0b, 0xff, 0x7f, 0x23, 0, 7};
	cq_mqtt_props_t p;
	cq_mqtt_prop_iter_t it;
	uint32_t id;
	ck_assert_int_eq(
		cq_mqtt_props_parse(raw, sizeof(raw), CQ_MQTT_PUBLISH, &p),
		CQ_MQTT_OK);
	cq_mqtt_props_iter(&p, &it);
	ck_assert(cq_mqtt_props_next_sub_id(&it, &id));
	ck_assert_uint_eq(id, 1);
	ck_assert(cq_mqtt_props_next_sub_id(&it, &id));
	ck_assert_uint_eq(id, 16383);
	ck_assert(!cq_mqtt_props_next_sub_id(&it, &id));
	ck_assert_int_eq(cq_mqtt_props_topic_alias(&p, &id), 0);
	ck_assert_uint_eq(id, 7);
	ck_assert_uint_eq(
		cq_mqtt_props_count(&p, CQ_MQTT_PROP_SUBSCRIPTION_ID), 2);
}
END_TEST

/*
 * A v3 packet's properties are all zero (raw NULL): every accessor answers
 * "absent" (found by the fuzzer: the iterator computed NULL + 0).
 */
START_TEST(props_empty_section)
{
	cq_mqtt_props_t none = {NULL, 0, 0};
	cq_mqtt_prop_iter_t it;
	cq_mqtt_prop_t pr;
	cq_mqtt_view_t v;
	uint32_t n;

	cq_mqtt_props_iter(&none, &it);
	ck_assert(!cq_mqtt_props_next(&it, &pr));
	ck_assert_uint_eq(cq_mqtt_props_count(&none, CQ_MQTT_PROP_USER), 0);
	ck_assert_int_eq(cq_mqtt_props_topic_alias(&none, &n), -1);
	ck_assert_int_eq(cq_mqtt_props_content_type(&none, &v), -1);
	ck_assert_int_eq(cq_mqtt_props_parse(NULL, 0, CQ_MQTT_PUBLISH, &none),
		CQ_MQTT_OK);
	uint8_t mem[4];
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(cq_mqtt_pbuf_copy(&pb, &none, 0), 0);
	ck_assert_uint_eq(pb.len, 0);
}
END_TEST

/* The builder writes the wire form of §2.2.2.2 byte for byte. */
START_TEST(props_builder_bytes)
{
	static const uint8_t want[] = {
		0x11, 0x00, 0x00, 0x00, 0x0a, /* session expiry 10 */
		0x21, 0x00, 0x14, /* receive maximum 20 */
		0x24, 0x01, /* maximum QoS 1 */
		0x0b, 0xff, 0xff, 0xff, 0x7f, /* subscription id */
		0x1f, 0x00, 0x02, 'o', 'k', /* reason string */
		0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b', /* user a=b */
	};
	uint8_t mem[64];
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SESSION_EXPIRY, 10), 0);
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_RECEIVE_MAX, 20), 0);
	ck_assert_int_eq(cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_MAX_QOS, 1), 0);
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SUBSCRIPTION_ID, 268435455),
		0);
	ck_assert_int_eq(
		cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_REASON_STRING, "ok", 2), 0);
	ck_assert_int_eq(cq_mqtt_pbuf_user(&pb, "a", 1, "b", 1), 0);
	cq_mqtt_props_t p = cq_mqtt_pbuf_props(&pb);
	ck_assert_uint_eq(p.len, sizeof(want));
	ck_assert_mem_eq(p.raw, want, sizeof(want));
	uint32_t v;
	ck_assert_int_eq(cq_mqtt_props_sub_id(&p, &v), 0);
	ck_assert_uint_eq(v, 268435455);
	ck_assert(cq_mqtt_props_has(&p, CQ_MQTT_PROP_USER));
}
END_TEST

START_TEST(props_builder_refuses)
{
	uint8_t mem[8];
	cq_mqtt_pbuf_t pb;

	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_MAX_QOS, 256), -1);
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_TOPIC_ALIAS, 65536), -1);
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SUBSCRIPTION_ID, 268435456),
		-1);
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_CONTENT_TYPE, 1), -1);
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_TOPIC_ALIAS, "", 0), -1);
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(cq_mqtt_pbuf_int(&pb, 0x04, 1), -1);
	/* Full: what fitted stays, the builder stays failed. */
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_MESSAGE_EXPIRY, 5), 0);
	ck_assert_int_eq(
		cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_CONTENT_TYPE, "abc", 3), -1);
	ck_assert(pb.failed);
	ck_assert_uint_eq(pb.len, 5);
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_TOPIC_ALIAS, 1), -1);
	ck_assert_uint_eq(pb.len, 5);
}
END_TEST

/* Forwarding a PUBLISH: drop the alias and expiry, keep the rest in order
 * [MQTT-3.3.2-17] [MQTT-3.3.2-18], add new values. */
START_TEST(props_builder_copy_skip)
{
	static const uint8_t in[] = {
		0x23, 0x00, 0x05, /* topic alias */
		0x26, 0, 1, 'x', 0, 1, '1', /* user x=1 */
		0x02, 0x00, 0x00, 0x00, 0x3c, /* message expiry 60 */
		0x03, 0, 4, 't', 'e', 'x', 't', /* content type */
		0x26, 0, 1, 'x', 0, 1, '2', /* user x=2 */
	};
	static const uint8_t want[] = {0x26, 0, 1, 'x', 0, 1, '1', 0x03, 0, 4,
		't', 'e', 'x', 't', 0x26, 0, 1, 'x', 0, 1, '2', 0x02, 0x00,
		0x00, 0x00, 0x1e, 0x0b, 0x07};
	cq_mqtt_props_t src, out;
	uint8_t mem[sizeof(in) + 16];
	cq_mqtt_pbuf_t pb;

	ck_assert_int_eq(
		cq_mqtt_props_parse(in, sizeof(in), CQ_MQTT_PUBLISH, &src),
		CQ_MQTT_OK);
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	ck_assert_int_eq(
		cq_mqtt_pbuf_copy(&pb, &src,
			CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_TOPIC_ALIAS) |
				CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_MESSAGE_EXPIRY)),
		0);
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_MESSAGE_EXPIRY, 30), 0);
	ck_assert_int_eq(
		cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SUBSCRIPTION_ID, 7), 0);
	out = cq_mqtt_pbuf_props(&pb);
	ck_assert_uint_eq(out.len, sizeof(want));
	ck_assert_mem_eq(out.raw, want, sizeof(want));
	ck_assert(!cq_mqtt_props_has(&out, CQ_MQTT_PROP_TOPIC_ALIAS));
	ck_assert_int_eq(
		cq_mqtt_props_parse(out.raw, out.len, CQ_MQTT_PUBLISH, &src),
		CQ_MQTT_OK);
	/* Copying into too little memory fails cleanly. */
	cq_mqtt_pbuf_init(&pb, mem, 10);
	ck_assert_int_eq(cq_mqtt_pbuf_copy(&pb, &src, 0), -1);
	ck_assert_uint_le(pb.len, 10);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_props");
	TCase *tc = tcase_create("props");
	tcase_add_test(tc, props_table_2_2_2_2);
	tcase_add_test(tc, props_repeatable);
	tcase_add_test(tc, props_unknown_identifier_malformed);
	tcase_add_test(tc, props_not_allowed_in_packet);
	tcase_add_test(tc, props_duplicate_protocol_error);
	tcase_add_test(tc, props_length_overflow);
	tcase_add_test(tc, props_subscription_id_rules);
	tcase_add_test(tc, props_value_ranges);
	tcase_add_test(tc, props_utf8_checked_MQTT_1_5_4_1);
	tcase_add_test(tc, props_accessors);
	tcase_add_test(tc, props_sub_ids_iterated);
	tcase_add_test(tc, props_empty_section);
	tcase_add_test(tc, props_builder_bytes);
	tcase_add_test(tc, props_builder_refuses);
	tcase_add_test(tc, props_builder_copy_skip);
	suite_add_tcase(s, tc);
	return s;
}
