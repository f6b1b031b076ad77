/*
 * check_mqtt_reason.c — reason codes (src/mqtt/reason.c): the per-packet
 * lists of MQTT 5 §3, the v3 return codes, and the answer a broker gives
 * to each decode error (§4.13).
 */
#include "config.h"

#include <string.h>

#include "core/defs.h"
#include "mqtt/reason.h"
#include "t/unit/unit.h"

/* The Reason Code tables of §3.2.2.2, §3.4.2.1 ... §3.15.2.1 restated. */
static const struct {
	unsigned type;
	uint8_t codes[40];
	size_t n;
} lists[] = {
	{CQ_MQTT_CONNACK,
		{0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
			0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b,
			0x9c, 0x9d, 0x9f},
		22},
	{CQ_MQTT_PUBACK, {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99},
		9},
	{CQ_MQTT_PUBREC, {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99},
		9},
	{CQ_MQTT_PUBREL, {0x00, 0x92}, 2},
	{CQ_MQTT_PUBCOMP, {0x00, 0x92}, 2},
	{CQ_MQTT_SUBACK,
		{0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e,
			0xa1, 0xa2},
		12},
	{CQ_MQTT_UNSUBACK, {0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91}, 7},
	{CQ_MQTT_DISCONNECT,
		{0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c,
			0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97,
			0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0,
			0xa1, 0xa2},
		30},
	{CQ_MQTT_AUTH, {0x00, 0x18, 0x19}, 3},
};

/* [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1]
 * [MQTT-3.9.3-2] [MQTT-3.14.2-1] [MQTT-3.15.2-1]: only the listed codes. */
START_TEST(reason_lists_per_packet)
{
	for (size_t i = 0; i < CQ_ARRAY_SIZE(lists); i++) {
		for (unsigned code = 0; code < 256; code++) {
			bool want = memchr(lists[i].codes, (int)code,
					    lists[i].n) != NULL;
			ck_assert_msg(
				cq_mqtt_reason_valid((uint8_t)code,
					lists[i].type, CQ_MQTT_V5) == want,
				"code 0x%02x in type %u", code, lists[i].type);
		}
	}
	/* Packets without a reason code take none. */
	ck_assert(!cq_mqtt_reason_valid(0, CQ_MQTT_PUBLISH, CQ_MQTT_V5));
	ck_assert(!cq_mqtt_reason_valid(0, CQ_MQTT_CONNECT, CQ_MQTT_V5));
}
END_TEST

START_TEST(reason_names)
{
	ck_assert_str_eq(cq_mqtt_reason_name(0x00, CQ_MQTT_CONNACK), "Success");
	ck_assert_str_eq(cq_mqtt_reason_name(0x00, CQ_MQTT_DISCONNECT),
		"Normal disconnection");
	ck_assert_str_eq(
		cq_mqtt_reason_name(0x00, CQ_MQTT_SUBACK), "Granted QoS 0");
	ck_assert_str_eq(cq_mqtt_reason_name(0x95, CQ_MQTT_DISCONNECT),
		"Packet too large");
	ck_assert_str_eq(cq_mqtt_reason_name(0xa2, CQ_MQTT_SUBACK),
		"Wildcard Subscriptions not supported");
	ck_assert_ptr_null(cq_mqtt_reason_name(0x04, CQ_MQTT_CONNACK));
	ck_assert_ptr_null(cq_mqtt_reason_name(0x03, CQ_MQTT_SUBACK));
	/* 43 codes are defined (Table 2-6) */
	unsigned defined = 0;
	for (unsigned code = 0; code < 256; code++) {
		bool any = false;
		for (unsigned t = 1; t < 16; t++)
			any |= cq_mqtt_reason_name((uint8_t)code, t) != NULL;
		defined += any;
	}
	ck_assert_uint_eq(defined, 43);
}
END_TEST

/* 3.1.1 §3.2.2.3 (CONNACK 0..5) and [MQTT-3.9.3-2] (SUBACK). */
START_TEST(reason_v3_codes_MQTT_3_9_3_2)
{
	for (unsigned c = 0; c < 256; c++) {
		ck_assert(cq_mqtt_reason_valid((uint8_t)c, CQ_MQTT_CONNACK,
				  CQ_MQTT_V311) == (c <= 5));
		ck_assert(cq_mqtt_reason_valid((uint8_t)c, CQ_MQTT_SUBACK,
				  CQ_MQTT_V311) == (c <= 2 || c == 0x80));
	}
	ck_assert(!cq_mqtt_reason_valid(0, CQ_MQTT_PUBACK, CQ_MQTT_V311));
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x00), 0);
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x84), 1);
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x85), 2);
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x88), 3);
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x86), 4);
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x87), 5);
	ck_assert_int_eq(cq_mqtt_reason_to_v3_connack(0x81), -1);
}
END_TEST

START_TEST(err_names_and_reasons)
{
	for (int e = 0; e < CQ_MQTT_ERR_COUNT_; e++) {
		ck_assert_ptr_nonnull(cq_mqtt_err_name(e));
		ck_assert_str_ne(cq_mqtt_err_name(e), "unknown error");
		uint8_t rc = cq_mqtt_err_reason(e);
		ck_assert(e == CQ_MQTT_OK || rc >= 0x80);
	}
	ck_assert_str_eq(cq_mqtt_err_name(CQ_MQTT_ERR_COUNT_), "unknown error");
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_UTF8), 0x81);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_PROP_DUP), 0x82);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_TOO_LARGE), 0x95);
	ck_assert_uint_eq(
		cq_mqtt_err_reason(CQ_MQTT_ERR_PROTOCOL_VERSION), 0x84);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_CLIENT_ID), 0x85);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_TOPIC_NAME), 0x90);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_TOPIC_ALIAS), 0x94);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_PAYLOAD_FORMAT), 0x99);
}
END_TEST

static void
check_reply(cq_mqtt_err_t err, uint8_t version, bool connack_sent, int kind,
	uint8_t reply_version, uint8_t code)
{
	cq_mqtt_reply_t r = cq_mqtt_err_reply(err, version, connack_sent);
	ck_assert_int_eq(r.kind, kind);
	if (kind != CQ_MQTT_REPLY_CLOSE) {
		ck_assert_uint_eq(r.version, reply_version);
		ck_assert_uint_eq(r.code, code);
	}
}

/* §4.13 and [MQTT-3.14.0-1]: CONNACK before, DISCONNECT after. */
START_TEST(err_reply_v5)
{
	check_reply(CQ_MQTT_ERR_UTF8, 5, false, CQ_MQTT_REPLY_CONNACK, 5, 0x81);
	check_reply(
		CQ_MQTT_ERR_UTF8, 5, true, CQ_MQTT_REPLY_DISCONNECT, 5, 0x81);
	check_reply(CQ_MQTT_ERR_PROP_DUP, 5, true, CQ_MQTT_REPLY_DISCONNECT, 5,
		0x82);
	check_reply(CQ_MQTT_ERR_TOO_LARGE, 5, true, CQ_MQTT_REPLY_DISCONNECT, 5,
		0x95);
	check_reply(CQ_MQTT_ERR_TOPIC_NAME, 5, false, CQ_MQTT_REPLY_CONNACK, 5,
		0x90);
	check_reply(CQ_MQTT_ERR_PAYLOAD_FORMAT, 5, false, CQ_MQTT_REPLY_CONNACK,
		5, 0x99);
	check_reply(CQ_MQTT_ERR_CLIENT_ID, 5, false, CQ_MQTT_REPLY_CONNACK, 5,
		0x85);
	/* 0x94 is not a CONNACK code: a Protocol Error then. */
	check_reply(CQ_MQTT_ERR_TOPIC_ALIAS, 5, false, CQ_MQTT_REPLY_CONNACK, 5,
		0x82);
	check_reply(CQ_MQTT_ERR_TOPIC_ALIAS, 5, true, CQ_MQTT_REPLY_DISCONNECT,
		5, 0x94);
	check_reply(
		CQ_MQTT_ERR_PROTOCOL_NAME, 5, false, CQ_MQTT_REPLY_CLOSE, 0, 0);
}
END_TEST

/* [MQTT-3.1.2-2] [MQTT-3.1.3-9] and otherwise close (3.1.1 §4.8). */
START_TEST(err_reply_v3_MQTT_3_1_2_2)
{
	check_reply(CQ_MQTT_ERR_UTF8, 4, false, CQ_MQTT_REPLY_CLOSE, 0, 0);
	check_reply(CQ_MQTT_ERR_UTF8, 3, true, CQ_MQTT_REPLY_CLOSE, 0, 0);
	check_reply(CQ_MQTT_ERR_PASSWORD, 4, false, CQ_MQTT_REPLY_CLOSE, 0, 0);
	check_reply(CQ_MQTT_ERR_CLIENT_ID, 4, false, CQ_MQTT_REPLY_CONNACK, 4,
		0x02);
	check_reply(CQ_MQTT_ERR_CLIENT_ID, 3, false, CQ_MQTT_REPLY_CONNACK, 3,
		0x02);
	/* Unsupported level: answered in a format the client reads. */
	check_reply(CQ_MQTT_ERR_PROTOCOL_VERSION, 2, false,
		CQ_MQTT_REPLY_CONNACK, 4, 0x01);
	check_reply(CQ_MQTT_ERR_PROTOCOL_VERSION, 4, false,
		CQ_MQTT_REPLY_CONNACK, 4, 0x01);
	check_reply(CQ_MQTT_ERR_PROTOCOL_VERSION, 6, false,
		CQ_MQTT_REPLY_CONNACK, 5, 0x84);
	/* No level known yet (e.g. an oversized first packet): close. */
	check_reply(CQ_MQTT_ERR_TOO_LARGE, 0, false, CQ_MQTT_REPLY_CLOSE, 0, 0);
	check_reply(
		CQ_MQTT_ERR_NOT_CONNECT, 0, false, CQ_MQTT_REPLY_CLOSE, 0, 0);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_reason");
	TCase *tc = tcase_create("reason");
	tcase_add_test(tc, reason_lists_per_packet);
	tcase_add_test(tc, reason_names);
	tcase_add_test(tc, reason_v3_codes_MQTT_3_9_3_2);
	tcase_add_test(tc, err_names_and_reasons);
	tcase_add_test(tc, err_reply_v5);
	tcase_add_test(tc, err_reply_v3_MQTT_3_1_2_2);
	suite_add_tcase(s, tc);
	return s;
}
