/*
 * check_mqtt_control.c — PINGREQ, PINGRESP, DISCONNECT and AUTH
 * (src/mqtt/control.c) for MQTT 3.1, 3.1.1 and 5.0, from §3.12 to §3.15.
 */
#include "config.h"

#include <string.h>

#include "mqtt/control.h"
#include "mqtt/props.h"
#include "t/unit/check_mqtt_util.h"
#include "t/unit/unit.h"

static const uint8_t pingreq[] = {0xc0, 0x00};
static const uint8_t pingresp[] = {0xd0, 0x00};
static const uint8_t disconnect[] = {0xe0, 0x00};
/* 5.0 §3.14: with will; server moved with a reason string and reference */
static const uint8_t disc_will[] = {0xe0, 0x01, 0x04};
static const uint8_t disc_moved[] = {
	0xe0, 0x0a, 0x9d, 0x08, 0x1f, 0x00, 0x01, 'y', 0x1c, 0x00, 0x01, 'x'};
/* 5.0 §3.15: continue authentication with method and data */
static const uint8_t auth_continue[] = {0xf0, 0x0f, 0x18, 0x0d, 0x15, 0x00,
	0x05, 'S', 'C', 'R', 'A', 'M', 0x16, 0x00, 0x02, 0x01, 0x02};
static const uint8_t auth_ok[] = {0xf0, 0x00};

START_TEST(control_vectors_roundtrip_3_12_to_3_15)
{
	for (uint8_t v = V31; v <= V5; v++) {
		ROUNDTRIP(pingreq, v);
		ROUNDTRIP(pingresp, v);
		ROUNDTRIP(disconnect, v);
	}
	ROUNDTRIP(disc_will, V5);
	ROUNDTRIP(disc_moved, V5);
	ROUNDTRIP(auth_continue, V5);
	ROUNDTRIP(auth_ok, V5);
}
END_TEST

/* §3.12.1, §3.13.1, §3.14.1: no variable header in 3.x; flags 0000
 * ([MQTT-3.14.1-1] for DISCONNECT). */
START_TEST(control_malformed_v3)
{
	static const uint8_t ping_body[] = {0xc0, 0x01, 0x00};
	static const uint8_t ping_flags[] = {0xc1, 0x00};
	static const uint8_t disc_body[] = {0xe0, 0x01, 0x00};
	static const uint8_t disc_flags[] = {0xe1, 0x00};
	ck_assert_int_eq(ERR(ping_body, V311), CQ_MQTT_ERR_TRAILING);
	ck_assert_int_eq(ERR(ping_flags, V311), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(ERR(disc_body, V311), CQ_MQTT_ERR_TRAILING);
	ck_assert_int_eq(ERR(disc_flags, V311), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(ERR(disc_flags, V5), CQ_MQTT_ERR_FLAGS);
	/* AUTH does not exist before 5.0 */
	ck_assert_int_eq(ERR(auth_ok, V311), CQ_MQTT_ERR_TYPE);
	ck_assert_int_eq(ERR(auth_ok, V31), CQ_MQTT_ERR_TYPE);
}
END_TEST

START_TEST(disconnect_v5_fields)
{
	cq_mqtt_packet_t pkt;
	cq_mqtt_view_t v;
	ck_assert_int_eq(
		mqtt_decode(disc_moved, sizeof(disc_moved), V5, 0, &pkt),
		CQ_MQTT_OK);
	ck_assert_uint_eq(pkt.u.disconnect.reason, CQ_MQTT_RC_SERVER_MOVED);
	ck_assert_int_eq(
		cq_mqtt_props_server_reference(&pkt.u.disconnect.props, &v), 0);
	ck_assert_mem_eq(v.ptr, "x", 1);
	/* §3.14.2.1: the long forms of "normal disconnection" */
	static const uint8_t long1[] = {0xe0, 0x01, 0x00};
	static const uint8_t long2[] = {0xe0, 0x02, 0x00, 0x00};
	cq_mqtt_packet_t a, b;
	ck_assert_int_eq(mqtt_decode(disconnect, 2, V5, 0, &a), CQ_MQTT_OK);
	ck_assert_int_eq(
		mqtt_decode(long1, sizeof(long1), V5, 0, &b), CQ_MQTT_OK);
	ck_assert(cq_mqtt_packet_equal(&a, &b));
	ck_assert_int_eq(
		mqtt_decode(long2, sizeof(long2), V5, 0, &b), CQ_MQTT_OK);
	ck_assert(cq_mqtt_packet_equal(&a, &b));
}
END_TEST

/* What the broker sends: shortest form; nothing but the header in 3.x. */
START_TEST(disconnect_encode_from_struct)
{
	static const uint8_t taken_over[] = {0xe0, 0x01, 0x8e};
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_DISCONNECT};
	pkt.u.disconnect.reason = CQ_MQTT_RC_SESSION_TAKEN_OVER;
	mqtt_encodes_to(&pkt, V5, taken_over, sizeof(taken_over));
	mqtt_encodes_to(&pkt, V311, disconnect, sizeof(disconnect));

	uint8_t mem[16];
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_REASON_STRING, "y", 1);
	cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_SERVER_REFERENCE, "x", 1);
	pkt.u.disconnect.reason = CQ_MQTT_RC_SERVER_MOVED;
	pkt.u.disconnect.props = cq_mqtt_pbuf_props(&pb);
	mqtt_encodes_to(&pkt, V5, disc_moved, sizeof(disc_moved));
	ck_assert_uint_eq(cq_mqtt_ping_encode(CQ_MQTT_PINGRESP, mem, 1), 0);
	ck_assert_uint_eq(cq_mqtt_ping_encode(CQ_MQTT_CONNECT, mem, 2), 0);
	ck_assert_uint_eq(cq_mqtt_ping_encode(CQ_MQTT_PINGRESP, mem, 2), 2);
	ck_assert_mem_eq(mem, pingresp, 2);
}
END_TEST

/* [MQTT-3.14.2-1]: DISCONNECT reason codes; §3.14.2.2 properties. */
START_TEST(disconnect_malformed_v5_MQTT_3_14_2_1)
{
	static const uint8_t bad_code[] = {0xe0, 0x01, 0x84};
	static const uint8_t receive_max[] = {
		0xe0, 0x05, 0x00, 0x03, 0x21, 0x00, 0x01};
	static const uint8_t two_expiry[] = {
		0xe0, 0x0c, 0x00, 0x0a, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2};
	static const uint8_t trailing[] = {0xe0, 0x03, 0x00, 0x00, 0x00};
	static const uint8_t plen[] = {0xe0, 0x03, 0x00, 0x05, 0x1f};
	ck_assert_int_eq(ERR(bad_code, V5), CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(ERR(receive_max, V5), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(ERR(two_expiry, V5), CQ_MQTT_ERR_PROP_DUP);
	ck_assert_int_eq(ERR(trailing, V5), CQ_MQTT_ERR_TRAILING);
	ck_assert_int_eq(ERR(plen, V5), CQ_MQTT_ERR_PROP_LENGTH);
}
END_TEST

/* [MQTT-3.15.1-1] flags, [MQTT-3.15.2-1] codes, §3.15.2.2.2 method. */
START_TEST(auth_malformed_MQTT_3_15_2_1)
{
	static const uint8_t flags[] = {0xf1, 0x00};
	static const uint8_t bad_code[] = {0xf0, 0x01, 0x87};
	static const uint8_t no_method[] = {0xf0, 0x02, 0x18, 0x00};
	static const uint8_t code_only[] = {0xf0, 0x01, 0x19};
	static const uint8_t data_only[] = {
		0xf0, 0x06, 0x18, 0x04, 0x16, 0x00, 0x01, 0x01};
	static const uint8_t two_methods[] = {0xf0, 0x0a, 0x18, 0x08, 0x15,
		0x00, 0x01, 'a', 0x15, 0x00, 0x01, 'b'};
	ck_assert_int_eq(ERR(flags, V5), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(ERR(bad_code, V5), CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(ERR(no_method, V5), CQ_MQTT_ERR_PROP_VALUE);
	ck_assert_int_eq(ERR(code_only, V5), CQ_MQTT_ERR_PROP_VALUE);
	ck_assert_int_eq(ERR(data_only, V5), CQ_MQTT_ERR_PROP_VALUE);
	ck_assert_int_eq(ERR(two_methods, V5), CQ_MQTT_ERR_PROP_DUP);
	/* The decoder refuses AUTH for a v3 connection even unframed. */
	cq_mqtt_dec_t dec = {V311, 0, 0, 0};
	cq_mqtt_frame_t fr = {.type = CQ_MQTT_AUTH, .hdr_len = 2};
	cq_mqtt_auth_t a;
	ck_assert_int_eq(
		cq_mqtt_auth_decode(&fr, auth_ok, &dec, &a), CQ_MQTT_ERR_TYPE);
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_AUTH};
	ck_assert_uint_eq(cq_mqtt_size(&pkt, V311), 0);
}
END_TEST

START_TEST(auth_encode_from_struct)
{
	uint8_t mem[16];
	cq_mqtt_pbuf_t pb;
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_AUTH};
	mqtt_encodes_to(&pkt, V5, auth_ok, sizeof(auth_ok));
	cq_mqtt_pbuf_init(&pb, mem, sizeof(mem));
	cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_AUTH_METHOD, "SCRAM", 5);
	cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_AUTH_DATA, "\x01\x02", 2);
	pkt.u.auth.reason = CQ_MQTT_RC_CONTINUE_AUTH;
	pkt.u.auth.props = cq_mqtt_pbuf_props(&pb);
	mqtt_encodes_to(&pkt, V5, auth_continue, sizeof(auth_continue));
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_control");
	TCase *tc = tcase_create("control");
	tcase_add_test(tc, control_vectors_roundtrip_3_12_to_3_15);
	tcase_add_test(tc, control_malformed_v3);
	tcase_add_test(tc, disconnect_v5_fields);
	tcase_add_test(tc, disconnect_encode_from_struct);
	tcase_add_test(tc, disconnect_malformed_v5_MQTT_3_14_2_1);
	tcase_add_test(tc, auth_malformed_MQTT_3_15_2_1);
	tcase_add_test(tc, auth_encode_from_struct);
	suite_add_tcase(s, tc);
	return s;
}
