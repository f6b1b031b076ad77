/*
 * check_mqtt_connect.c — CONNECT and CONNACK (src/mqtt/connect.c) for
 * MQTT 3.1, 3.1.1 and 5.0: byte vectors written from §3.1 and §3.2,
 * round trips, and every malformed case of those sections.
 */
#include "config.h"

#include <string.h>

#include "mqtt/connect.h"
#include "mqtt/props.h"
#include "t/unit/check_mqtt_util.h"
#include "t/unit/unit.h"

/* 3.1 §3.1: "MQIsdp", level 3, clean session, keep alive 60, id "cid". */
static const uint8_t connect31[] = {0x10, 0x11, 0x00, 0x06, 'M', 'Q', 'I', 's',
	'd', 'p', 0x03, 0x02, 0x00, 0x3c, 0x00, 0x03, 'c', 'i', 'd'};
/* 3.1.1 §3.1.2 (Figure 3.6 .. 3.9): "MQTT", level 4. */
static const uint8_t connect311[] = {0x10, 0x0f, 0x00, 0x04, 'M', 'Q', 'T', 'T',
	0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, 'c', 'i', 'd'};
/* 5.0 §3.1.2: as above with level 5 and an empty property section. */
static const uint8_t connect5[] = {0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T',
	0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x03, 'c', 'i', 'd'};

/* 3.1.1 with everything: will QoS 1 retained, user name, password. */
static const uint8_t connect311_full[] = {0x10, 0x24, 0x00, 0x04, 'M', 'Q', 'T',
	'T', 0x04, 0xee, 0x00, 0x0a, 0x00, 0x02, 'i', 'd', 0x00, 0x03, 'w', '/',
	't', 0x00, 0x03, 'b', 'y', 'e', 0x00, 0x04, 'u', 's', 'e', 'r', 0x00,
	0x04, 'p', 'a', 's', 's'};

/* 5.0 with properties, will properties, will QoS 2, user, password. */
static const uint8_t connect5_full[] = {0x10, 0x3a, 0x00, 0x04, 'M', 'Q', 'T',
	'T', 0x05, 0xd6, 0x00, 0x3c, 0x0f, /* properties: 15 bytes */
	0x11, 0x00, 0x00, 0x00, 0x78, /* session expiry 120 */
	0x21, 0x00, 0x0a, /* receive maximum 10 */
	0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', /* user k=v */
	0x00, 0x02, 'i', 'd', /* client id */
	0x0e, /* will properties: 14 */
	0x18, 0x00, 0x00, 0x00, 0x05, /* will delay 5 */
	0x01, 0x01, /* payload format: UTF-8 */
	0x03, 0x00, 0x04, 't', 'e', 'x', 't', /* content type */
	0x00, 0x01, 't', /* will topic */
	0x00, 0x02, 'h', 'i', /* will payload */
	0x00, 0x01, 'u', 0x00, 0x01, 'p'};

START_TEST(connect_vectors_roundtrip_3_1)
{
	ROUNDTRIP(connect31, V31);
	ROUNDTRIP(connect311, V311);
	ROUNDTRIP(connect5, V5);
	ROUNDTRIP(connect311_full, V311);
	ROUNDTRIP(connect5_full, V5);
}
END_TEST

START_TEST(connect_fields_decoded)
{
	cq_mqtt_packet_t pkt;
	ck_assert_int_eq(mqtt_decode(connect311_full, sizeof(connect311_full),
				 0, 0, &pkt),
		CQ_MQTT_OK);
	cq_mqtt_connect_t *c = &pkt.u.connect;
	ck_assert_uint_eq(pkt.type, CQ_MQTT_CONNECT);
	ck_assert_uint_eq(c->version, V311);
	ck_assert(c->clean && c->will && c->will_retain);
	ck_assert_uint_eq(c->will_qos, 1);
	ck_assert(c->has_username && c->has_password);
	ck_assert_uint_eq(c->keep_alive, 10);
	ck_assert_mem_eq(c->client_id.ptr, "id", 2);
	ck_assert_mem_eq(c->will_topic.ptr, "w/t", 3);
	ck_assert_mem_eq(c->will_payload.ptr, "bye", 3);
	ck_assert_mem_eq(c->username.ptr, "user", 4);
	ck_assert_mem_eq(c->password.ptr, "pass", 4);
	/* Zero-copy: the views point into the input. */
	ck_assert_ptr_eq(c->client_id.ptr, connect311_full + 14);

	ck_assert_int_eq(
		mqtt_decode(connect5_full, sizeof(connect5_full), 0, 0, &pkt),
		CQ_MQTT_OK);
	uint32_t v;
	ck_assert_uint_eq(c->will_qos, 2);
	ck_assert_int_eq(cq_mqtt_props_session_expiry(&c->props, &v), 0);
	ck_assert_uint_eq(v, 120);
	ck_assert_int_eq(cq_mqtt_props_will_delay(&c->will_props, &v), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(cq_mqtt_props_payload_format(&c->will_props, &v), 0);
	ck_assert_uint_eq(v, 1);
}
END_TEST

/* Encoding from a struct gives the vector (5.0 §3.1). */
START_TEST(connect_encode_from_struct)
{
	uint8_t mem[32];
	cq_mqtt_pbuf_t pb, wpb;
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_CONNECT};
	cq_mqtt_connect_t *c = &pkt.u.connect;

	cq_mqtt_pbuf_init(&pb, mem, 16);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SESSION_EXPIRY, 120);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_RECEIVE_MAX, 10);
	cq_mqtt_pbuf_user(&pb, "k", 1, "v", 1);
	cq_mqtt_pbuf_init(&wpb, mem + 16, 16);
	cq_mqtt_pbuf_int(&wpb, CQ_MQTT_PROP_WILL_DELAY, 5);
	cq_mqtt_pbuf_int(&wpb, CQ_MQTT_PROP_PAYLOAD_FORMAT, 1);
	cq_mqtt_pbuf_bin(&wpb, CQ_MQTT_PROP_CONTENT_TYPE, "text", 4);
	ck_assert(!pb.failed && !wpb.failed);
	c->version = V5;
	c->clean = c->will = c->has_username = c->has_password = true;
	c->will_qos = 2;
	c->keep_alive = 60;
	c->props = cq_mqtt_pbuf_props(&pb);
	c->client_id = cq_mqtt_view("id", 2);
	c->will_props = cq_mqtt_pbuf_props(&wpb);
	c->will_topic = cq_mqtt_view("t", 1);
	c->will_payload = cq_mqtt_view("hi", 2);
	c->username = cq_mqtt_view("u", 1);
	c->password = cq_mqtt_view("p", 1);
	mqtt_encodes_to(&pkt, V5, connect5_full, sizeof(connect5_full));
	/* Will QoS 3 and unknown levels cannot be encoded. */
	c->will_qos = 3;
	ck_assert_uint_eq(cq_mqtt_size(&pkt, V5), 0);
	c->will_qos = 0;
	c->version = 6;
	ck_assert_uint_eq(cq_mqtt_size(&pkt, V5), 0);
}
END_TEST

/* [MQTT-3.1.2-3]: the reserved flag must be 0 (then Malformed in 5.0). */
START_TEST(connect_reserved_flag_MQTT_3_1_2_3)
{
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 9, 0x03, 0),
		CQ_MQTT_ERR_CONNECT_RESERVED);
	ck_assert_int_eq(err_with(connect5, sizeof(connect5), 9, 0x03, 0),
		CQ_MQTT_ERR_CONNECT_RESERVED);
	ck_assert_int_eq(err_with(connect31, sizeof(connect31), 11, 0x03, 0),
		CQ_MQTT_ERR_CONNECT_RESERVED);
}
END_TEST

/* 3.1.1 [MQTT-3.1.2-11] [MQTT-3.1.2-14] [MQTT-3.1.2-15]; 5.0
 * [MQTT-3.1.2-11] [MQTT-3.1.2-13] and §3.1.2.6 (QoS 3 is malformed). */
START_TEST(connect_will_flags_MQTT_3_1_2_11_to_15)
{
	/* will QoS 1 without the will flag */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 9, 0x0a, 0),
		CQ_MQTT_ERR_WILL_FLAGS);
	ck_assert_int_eq(err_with(connect5, sizeof(connect5), 9, 0x12, 0),
		CQ_MQTT_ERR_WILL_FLAGS);
	/* will retain without the will flag */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 9, 0x22, 0),
		CQ_MQTT_ERR_WILL_FLAGS);
	ck_assert_int_eq(err_with(connect5, sizeof(connect5), 9, 0x22, 0),
		CQ_MQTT_ERR_WILL_FLAGS);
	/* will QoS 3 */
	ck_assert_int_eq(
		err_with(connect311_full, sizeof(connect311_full), 9, 0xfe, 0),
		CQ_MQTT_ERR_WILL_FLAGS);
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 9, 0xde, 0),
		CQ_MQTT_ERR_WILL_FLAGS);
}
END_TEST

/* [MQTT-3.1.2-22] in 3.1.1 (and 3.1); MQTT 5 allows a password alone. */
START_TEST(connect_password_without_user_MQTT_3_1_2_22)
{
	static const uint8_t v311[] = {0x10, 0x13, 0x00, 0x04, 'M', 'Q', 'T',
		'T', 0x04, 0x42, 0x00, 0x3c, 0x00, 0x03, 'c', 'i', 'd', 0x00,
		0x02, 'p', 'w'};
	static const uint8_t v5[] = {0x10, 0x14, 0x00, 0x04, 'M', 'Q', 'T', 'T',
		0x05, 0x42, 0x00, 0x3c, 0x00, 0x00, 0x03, 'c', 'i', 'd', 0x00,
		0x02, 'p', 'w'};
	ck_assert_int_eq(ERR(v311, 0), CQ_MQTT_ERR_PASSWORD);
	ck_assert_int_eq(
		cq_mqtt_err_reply(CQ_MQTT_ERR_PASSWORD, V311, false).kind,
		CQ_MQTT_REPLY_CLOSE);
	ROUNDTRIP(v5, V5);
}
END_TEST

/* [MQTT-3.1.2-1] [MQTT-3.1.2-2]: protocol name and level pairs. */
START_TEST(connect_protocol_name_level_MQTT_3_1_2_1_and_2)
{
	cq_mqtt_packet_t pkt;
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 7, 'X', 0),
		CQ_MQTT_ERR_PROTOCOL_NAME);
	/* "MQTT"/3 */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 8, 3, 0),
		CQ_MQTT_ERR_PROTOCOL_VERSION);
	/* "MQIsdp"/4 */
	ck_assert_int_eq(err_with(connect31, sizeof(connect31), 10, 4, 0),
		CQ_MQTT_ERR_PROTOCOL_VERSION);
	/* level 6, and a bridge bit (0x84), are not supported */
	uint8_t buf[sizeof(connect5)];
	memcpy(buf, connect5, sizeof(buf));
	buf[8] = 6;
	ck_assert_int_eq(mqtt_decode(buf, sizeof(buf), 0, 0, &pkt),
		CQ_MQTT_ERR_PROTOCOL_VERSION);
	ck_assert_uint_eq(pkt.u.connect.version, 6); /* what was asked for */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 8, 0x84, 0),
		CQ_MQTT_ERR_PROTOCOL_VERSION);
	/* a name that is not even complete */
	static const uint8_t cut[] = {0x10, 0x03, 0x00, 0x04, 'M'};
	ck_assert_int_eq(ERR(cut, 0), CQ_MQTT_ERR_SHORT);
}
END_TEST

/* §2.1.4 / [MQTT-3.1.4-1]: the Remaining Length and the fields agree. */
START_TEST(connect_remaining_length_mismatch)
{
	uint8_t buf[sizeof(connect311) + 1];
	/* one byte short: the client id string runs past the end */
	memcpy(buf, connect311, sizeof(connect311));
	buf[1] = 0x0e;
	ck_assert_int_eq(
		mqtt_err(buf, sizeof(connect311) - 1, 0), CQ_MQTT_ERR_SHORT);
	/* one byte too many */
	buf[1] = 0x10;
	buf[sizeof(connect311)] = 'x';
	ck_assert_int_eq(mqtt_err(buf, sizeof(buf), 0), CQ_MQTT_ERR_TRAILING);
	/* keep alive cut off */
	static const uint8_t no_keepalive[] = {
		0x10, 0x08, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02};
	ck_assert_int_eq(ERR(no_keepalive, 0), CQ_MQTT_ERR_SHORT);
	/* user name flag but no user name [MQTT-3.1.2-19] (3.1.1) */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 9, 0x82, 0),
		CQ_MQTT_ERR_SHORT);
	/* will flag but no will topic [MQTT-3.1.2-9] */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 9, 0x06, 0),
		CQ_MQTT_ERR_SHORT);
	/* fixed-header flags [MQTT-2.2.2-2] */
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 0, 0x11, 0),
		CQ_MQTT_ERR_FLAGS);
}
END_TEST

/* [MQTT-3.1.3-4] [MQTT-3.1.3-11] [MQTT-3.1.3-12] [MQTT-1.5.4-1/2]. */
START_TEST(connect_utf8_fields_MQTT_3_1_3_4)
{
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 14, 0xc0, 0),
		CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(err_with(connect311, sizeof(connect311), 15, 0x00, 0),
		CQ_MQTT_ERR_UTF8);
	/* will topic, user name */
	ck_assert_int_eq(
		err_with(connect311_full, sizeof(connect311_full), 19, 0xed, 0),
		CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(
		err_with(connect311_full, sizeof(connect311_full), 29, 0xff, 0),
		CQ_MQTT_ERR_UTF8);
	/* password and will payload are binary: anything goes */
	ck_assert_int_eq(
		err_with(connect311_full, sizeof(connect311_full), 35, 0xff, 0),
		CQ_MQTT_OK);
	ck_assert_int_eq(
		err_with(connect311_full, sizeof(connect311_full), 24, 0x00, 0),
		CQ_MQTT_OK);
}
END_TEST

/* The will topic is a topic name [MQTT-3.1.3-11] [MQTT-4.7.0-1]. */
START_TEST(connect_will_topic_wildcard)
{
	ck_assert_int_eq(
		err_with(connect311_full, sizeof(connect311_full), 20, '#', 0),
		CQ_MQTT_ERR_TOPIC_NAME);
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 49, '+', 0),
		CQ_MQTT_ERR_TOPIC_NAME);
	cq_mqtt_reply_t r = cq_mqtt_err_reply(
		CQ_MQTT_ERR_TOPIC_NAME, V5, false);
	ck_assert_uint_eq(r.code, 0x90);
}
END_TEST

/* v5 CONNECT and will property sections (§3.1.2.11, §3.1.3.2). */
START_TEST(connect_v5_properties)
{
	/* Topic Alias is not a CONNECT property */
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 13, 0x23, 0),
		CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	/* Session Expiry is not a will property */
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 33, 0x11, 0),
		CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	/* session expiry twice (receive maximum turned into it) */
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 18, 0x11, 0),
		CQ_MQTT_ERR_PROP_DUP);
	/* property length larger than the rest of the packet */
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 12, 0x7f, 0),
		CQ_MQTT_ERR_PROP_LENGTH);
	/* payload format indicator 2 */
	ck_assert_int_eq(
		err_with(connect5_full, sizeof(connect5_full), 39, 0x02, 0),
		CQ_MQTT_ERR_PROP_VALUE);
}
END_TEST

/* §3.1.3.2.3: the receiver MAY check a will declared UTF-8; 0x99. */
START_TEST(connect_will_payload_format)
{
	uint8_t buf[sizeof(connect5_full)];
	cq_mqtt_packet_t pkt;
	memcpy(buf, connect5_full, sizeof(buf));
	buf[52] = 0xc0; /* will payload "hi" -> "\xc0i" */
	ck_assert_int_eq(mqtt_decode(buf, sizeof(buf), 0, 0, &pkt), CQ_MQTT_OK);
	ck_assert_int_eq(mqtt_decode(buf, sizeof(buf), 0,
				 CQ_MQTT_DEC_PAYLOAD_UTF8, &pkt),
		CQ_MQTT_ERR_PAYLOAD_FORMAT);
	ck_assert_int_eq(mqtt_decode(connect5_full, sizeof(connect5_full), 0,
				 CQ_MQTT_DEC_PAYLOAD_UTF8, &pkt),
		CQ_MQTT_OK);
}
END_TEST

/* What a broker does with a CONNECT that fails: the reply is chosen from
 * the level the CONNECT asked for [MQTT-3.1.4-1] [MQTT-3.1.2-2]. */
static cq_mqtt_reply_t
reply_for(const uint8_t *v, size_t n, size_t at, uint8_t byte)
{
	uint8_t buf[128];
	cq_mqtt_dec_t dec = {0, 0, 0, 0};
	cq_mqtt_frame_t fr;
	cq_mqtt_packet_t pkt;

	memcpy(buf, v, n);
	buf[at] = byte;
	ck_assert_int_eq(cq_mqtt_read(buf, n, &dec, &fr, &pkt), -1);
	uint8_t level = pkt.type == CQ_MQTT_CONNECT ? pkt.u.connect.version : 0;
	return cq_mqtt_err_reply(fr.err, level, false);
}

START_TEST(connect_failure_reply_MQTT_3_1_4_1)
{
	/* v5, bad client id: CONNACK 0x81 in v5 format */
	cq_mqtt_reply_t r = reply_for(connect5, sizeof(connect5), 15, 0xc0);
	ck_assert_int_eq(r.kind, CQ_MQTT_REPLY_CONNACK);
	ck_assert_uint_eq(r.version, V5);
	ck_assert_uint_eq(r.code, CQ_MQTT_RC_MALFORMED);
	/* the same in 3.1.1: close */
	r = reply_for(connect311, sizeof(connect311), 14, 0xc0);
	ck_assert_int_eq(r.kind, CQ_MQTT_REPLY_CLOSE);
	/* "MQTT" level 2: CONNACK 0x01 in 3.1.1 format */
	r = reply_for(connect311, sizeof(connect311), 8, 2);
	ck_assert_int_eq(r.kind, CQ_MQTT_REPLY_CONNACK);
	ck_assert_uint_eq(r.version, V311);
	ck_assert_uint_eq(r.code, CQ_MQTT_V3_BAD_PROTOCOL_VERSION);
	/* framing failure (bad flags): nothing decoded, close */
	r = reply_for(connect5, sizeof(connect5), 0, 0x12);
	ck_assert_int_eq(r.kind, CQ_MQTT_REPLY_CLOSE);
	/* the CONNACK the broker then sends */
	cq_mqtt_packet_t ack = {.type = CQ_MQTT_CONNACK};
	static const uint8_t v3_refusal[] = {0x20, 0x02, 0x00, 0x01};
	ack.u.connack.code = CQ_MQTT_V3_BAD_PROTOCOL_VERSION;
	mqtt_encodes_to(&ack, V311, v3_refusal, sizeof(v3_refusal));
}
END_TEST

static cq_mqtt_err_t
client_id(uint8_t version, bool clean, const char *id, bool *assign)
{
	cq_mqtt_connect_t c = {.version = version, .clean = clean};
	c.client_id = cq_mqtt_view(id, strlen(id));
	return cq_mqtt_connect_client_id(&c, assign);
}

/* 3.1: 1..23 characters; 3.1.1 [MQTT-3.1.3-6..8]; 5.0 [MQTT-3.1.3-6]. */
START_TEST(connect_client_id_rules_MQTT_3_1_3_7_and_8)
{
	bool assign;
	ck_assert_int_eq(
		client_id(V31, true, "", &assign), CQ_MQTT_ERR_CLIENT_ID);
	ck_assert_int_eq(
		client_id(V31, true, "abcdefghijklmnopqrstuvw", &assign),
		CQ_MQTT_OK);
	ck_assert_int_eq(
		client_id(V31, true, "abcdefghijklmnopqrstuvwx", &assign),
		CQ_MQTT_ERR_CLIENT_ID);
	/* 23 two-byte characters are 23 characters */
	char wide[47];
	for (int i = 0; i < 23; i++)
		memcpy(wide + 2 * i, "\xc3\xa9", 2);
	wide[46] = '\0';
	ck_assert_int_eq(client_id(V31, true, wide, &assign), CQ_MQTT_OK);
	ck_assert_int_eq(client_id(V311, true, "", &assign), CQ_MQTT_OK);
	ck_assert(assign);
	ck_assert_int_eq(
		client_id(V311, false, "", &assign), CQ_MQTT_ERR_CLIENT_ID);
	ck_assert_int_eq(
		client_id(V311, false, "a-much-longer-client-id-ok", &assign),
		CQ_MQTT_OK);
	ck_assert(!assign);
	ck_assert_int_eq(client_id(V5, false, "", &assign), CQ_MQTT_OK);
	ck_assert(assign);
	cq_mqtt_reply_t r = cq_mqtt_err_reply(CQ_MQTT_ERR_CLIENT_ID, V5, false);
	ck_assert_uint_eq(r.code, 0x85);
}
END_TEST

/* 3.1.1 §3.2: flags, return code. */
START_TEST(connack_v3_vectors)
{
	static const uint8_t ok[] = {0x20, 0x02, 0x00, 0x00};
	static const uint8_t present[] = {0x20, 0x02, 0x01, 0x00};
	static const uint8_t refused[] = {0x20, 0x02, 0x00, 0x05};
	ROUNDTRIP(ok, V311);
	ROUNDTRIP(present, V311);
	ROUNDTRIP(refused, V311);
	ROUNDTRIP(ok, V31);
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_CONNACK};
	pkt.u.connack.session_present = true;
	mqtt_encodes_to(&pkt, V311, present, sizeof(present));
}
END_TEST

START_TEST(connack_malformed)
{
	static const uint8_t code6[] = {0x20, 0x02, 0x00, 0x06};
	static const uint8_t flags[] = {0x20, 0x02, 0x02, 0x00};
	static const uint8_t sp_refused[] = {0x20, 0x02, 0x01, 0x04};
	static const uint8_t trailing[] = {0x20, 0x03, 0x00, 0x00, 0x00};
	static const uint8_t short1[] = {0x20, 0x01, 0x00};
	static const uint8_t v5_bad_code[] = {0x20, 0x03, 0x00, 0x04, 0x00};
	static const uint8_t v5_no_props[] = {0x20, 0x02, 0x00, 0x00};
	static const uint8_t v5_sp_refused[] = {0x20, 0x03, 0x01, 0x80, 0x00};
	static const uint8_t v5_will_delay[] = {
		0x20, 0x08, 0x00, 0x00, 0x05, 0x18, 0, 0, 0, 1};
	ck_assert_int_eq(ERR(code6, V311), CQ_MQTT_ERR_REASON);
	/* [MQTT-3.2.2-1] (5.0): reserved bits */
	ck_assert_int_eq(ERR(flags, V311), CQ_MQTT_ERR_ACK_FLAGS);
	/* [MQTT-3.2.2-4] (3.1.1), [MQTT-3.2.2-6] (5.0) */
	ck_assert_int_eq(ERR(sp_refused, V311), CQ_MQTT_ERR_ACK_FLAGS);
	ck_assert_int_eq(ERR(v5_sp_refused, V5), CQ_MQTT_ERR_ACK_FLAGS);
	ck_assert_int_eq(ERR(trailing, V311), CQ_MQTT_ERR_TRAILING);
	ck_assert_int_eq(ERR(short1, V311), CQ_MQTT_ERR_SHORT);
	ck_assert_int_eq(ERR(v5_bad_code, V5), CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(ERR(v5_no_props, V5), CQ_MQTT_ERR_PROP_LENGTH);
	ck_assert_int_eq(ERR(v5_will_delay, V5), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
}
END_TEST

/* 5.0 §3.2: what a broker sends on success and refusal. */
START_TEST(connack_v5_vectors)
{
	static const uint8_t refused[] = {0x20, 0x03, 0x00, 0x84, 0x00};
	static const uint8_t full[] = {0x20, 0x19, 0x01, 0x00, 0x16, 0x12, 0x00,
		0x04, 'a', 'u', 't', 'o', /* assigned id */
		0x22, 0x00, 0x0a, /* topic alias max 10 */
		0x13, 0x00, 0x1e, /* server keep alive 30 */
		0x2a, 0x00, /* no shared subs */
		0x27, 0x00, 0x01, 0x00, 0x00, /* max packet 65536 */
		0x25, 0x01}; /* retain available */
	uint8_t mem[64];
	cq_mqtt_pbuf_t pb;
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_CONNACK};

	ROUNDTRIP(refused, V5);
	pkt.u.connack.code = CQ_MQTT_RC_UNSUPPORTED_VERSION;
	mqtt_encodes_to(&pkt, V5, refused, sizeof(refused));
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_ASSIGNED_CLIENT_ID, "auto", 4);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_TOPIC_ALIAS_MAX, 10);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SERVER_KEEP_ALIVE, 30);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SHARED_SUB_AVAILABLE, 0);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_MAX_PACKET_SIZE, 65536);
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_RETAIN_AVAILABLE, 1);
	ck_assert(!pb.failed);
	pkt.u.connack.session_present = true;
	pkt.u.connack.code = 0;
	pkt.u.connack.props = cq_mqtt_pbuf_props(&pb);
	mqtt_encodes_to(&pkt, V5, full, sizeof(full));
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_connect");
	TCase *tc = tcase_create("connect");
	tcase_add_test(tc, connect_vectors_roundtrip_3_1);
	tcase_add_test(tc, connect_fields_decoded);
	tcase_add_test(tc, connect_encode_from_struct);
	tcase_add_test(tc, connect_reserved_flag_MQTT_3_1_2_3);
	tcase_add_test(tc, connect_will_flags_MQTT_3_1_2_11_to_15);
	tcase_add_test(tc, connect_password_without_user_MQTT_3_1_2_22);
	tcase_add_test(tc, connect_protocol_name_level_MQTT_3_1_2_1_and_2);
	tcase_add_test(tc, connect_remaining_length_mismatch);
	tcase_add_test(tc, connect_utf8_fields_MQTT_3_1_3_4);
	tcase_add_test(tc, connect_will_topic_wildcard);
	tcase_add_test(tc, connect_v5_properties);
	tcase_add_test(tc, connect_will_payload_format);
	tcase_add_test(tc, connect_failure_reply_MQTT_3_1_4_1);
	tcase_add_test(tc, connect_client_id_rules_MQTT_3_1_3_7_and_8);
	tcase_add_test(tc, connack_v3_vectors);
	tcase_add_test(tc, connack_malformed);
	tcase_add_test(tc, connack_v5_vectors);
	suite_add_tcase(s, tc);
	return s;
}
