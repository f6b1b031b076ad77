/*
 * check_cb_mqtt.c — unit tests for bench/cb_mqtt and bench/cb_ws
 * (comqtt-bench's own client encoding and WebSocket framing).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench/cb_mqtt.h"
#include "bench/cb_ws.h"
#include "core/defs.h"
#include "t/unit/unit.h"

/* [MQTT-1.5.5] variable byte integer boundaries (2.2.3 in 3.1.1). */
START_TEST(mqtt_varint_boundaries)
{
	static const struct {
		uint32_t v;
		size_t n;
		uint8_t b[4];
	} cases[] = {{0, 1, {0x00}}, {127, 1, {0x7f}}, {128, 2, {0x80, 0x01}},
		{16383, 2, {0xff, 0x7f}}, {16384, 3, {0x80, 0x80, 0x01}},
		{268435455, 4, {0xff, 0xff, 0xff, 0x7f}}};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(cases); i++) {
		uint8_t b[4];
		ck_assert_uint_eq(
			cb_mqtt_varint_put(b, cases[i].v), cases[i].n);
		ck_assert_mem_eq(b, cases[i].b, cases[i].n);
	}
}
END_TEST

START_TEST(mqtt_frame_partial_and_bad)
{
	cb_pkt_t p;
	const uint8_t pingresp[] = {0xd0, 0x00};
	ck_assert_int_eq(cb_mqtt_frame(pingresp, 1, &p), CQ_AGAIN);
	ck_assert_int_eq(cb_mqtt_frame(pingresp, 2, &p), 0);
	ck_assert_uint_eq(p.type, CB_MQTT_PINGRESP);
	ck_assert_uint_eq(p.total_len, 2);
	const uint8_t partial[] = {0x30, 0x80};
	ck_assert_int_eq(cb_mqtt_frame(partial, 2, &p), CQ_AGAIN);
	/* [MQTT-1.5.5-1] at most four bytes */
	const uint8_t five[] = {0x30, 0x80, 0x80, 0x80, 0x80, 0x01};
	ck_assert_int_eq(cb_mqtt_frame(five, sizeof(five), &p), -1);
	const uint8_t huge[] = {0x30, 0xff, 0xff, 0xff, 0x7f};
	ck_assert_int_eq(cb_mqtt_frame(huge, sizeof(huge), &p), -1);
}
END_TEST

START_TEST(mqtt_connect_bytes)
{
	uint8_t b[64];
	cb_connect_args_t a = {
		.version = 4, .client_id = "a", .keepalive = 60, .clean = 1};
	static const uint8_t v4[] = {0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4,
		0x02, 0, 60, 0, 1, 'a'};
	ck_assert_uint_eq(cb_mqtt_connect_size(&a), sizeof(v4));
	ck_assert_uint_eq(cb_mqtt_connect(b, &a), sizeof(v4));
	ck_assert_mem_eq(b, v4, sizeof(v4));
	a.version = 3; /* MQTT 3.1: "MQIsdp", level 3 */
	size_t n = cb_mqtt_connect(b, &a);
	ck_assert_uint_eq(n, cb_mqtt_connect_size(&a));
	ck_assert_mem_eq(b + 2, "\0\6MQIsdp\3", 9);
	a.version = 5; /* Receive Maximum 65535, Maximum Packet Size */
	a.username = "u";
	a.password = "p";
	n = cb_mqtt_connect(b, &a);
	ck_assert_uint_eq(n, cb_mqtt_connect_size(&a));
	ck_assert_uint_eq(b[9], 0xc2);
	ck_assert_mem_eq(b + 12, "\x08\x21\xff\xff\x27\x00\x20\x00\x00", 9);
}
END_TEST

START_TEST(mqtt_publish_template_round_trip)
{
	for (int v = 4; v <= 5; v++) {
		cb_publish_tmpl_t t;
		ck_assert_int_eq(
			cb_mqtt_publish_tmpl(&t, v, "a/b", 1, 0, 64), 0);
		cb_pkt_t p;
		ck_assert_int_eq(cb_mqtt_frame(t.bytes, t.len, &p), 0);
		ck_assert_uint_eq(p.total_len, t.len);
		t.bytes[t.pid_off + 1] = 9;
		cb_publish_t m;
		ck_assert_int_eq(cb_mqtt_parse_publish(v, &p, &m), 0);
		ck_assert_uint_eq(m.qos, 1);
		ck_assert_uint_eq(m.pid, 9);
		ck_assert_uint_eq(m.topic_len, 3);
		ck_assert_mem_eq(m.topic, "a/b", 3);
		ck_assert_uint_eq(m.payload_len, 64);
		ck_assert_ptr_eq(m.payload, t.bytes + t.payload_off);
		cb_mqtt_publish_tmpl_free(&t);
	}
}
END_TEST

START_TEST(mqtt_publish_rejects_malformed)
{
	cb_publish_t m;
	/* topic length beyond the packet */
	const uint8_t longtopic[] = {0x30, 0x03, 0x00, 0x09, 'a'};
	cb_pkt_t p;
	ck_assert_int_eq(cb_mqtt_frame(longtopic, sizeof(longtopic), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_publish(4, &p, &m), -1);
	/* [MQTT-3.3.1-4] QoS 3 */
	const uint8_t qos3[] = {0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01};
	ck_assert_int_eq(cb_mqtt_frame(qos3, sizeof(qos3), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_publish(4, &p, &m), -1);
	/* [MQTT-2.3.1-1] packet identifier 0 at QoS 1 */
	const uint8_t pid0[] = {0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00};
	ck_assert_int_eq(cb_mqtt_frame(pid0, sizeof(pid0), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_publish(4, &p, &m), -1);
}
END_TEST

START_TEST(mqtt_connack_properties)
{
	cb_connack_t ca;
	cb_pkt_t p;
	const uint8_t v4[] = {0x20, 0x02, 0x00, 0x05};
	ck_assert_int_eq(cb_mqtt_frame(v4, sizeof(v4), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_connack(4, &p, &ca), 0);
	ck_assert_uint_eq(ca.reason, 5);
	ck_assert_uint_eq(ca.receive_max, 65535);
	/* MQTT 5: a reason string, then Receive Maximum 20 */
	const uint8_t v5[] = {0x20, 0x0b, 0x00, 0x00, 0x08, 0x1f, 0x00, 0x02,
		'o', 'k', 0x21, 0x00, 0x14};
	ck_assert_int_eq(cb_mqtt_frame(v5, sizeof(v5), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_connack(5, &p, &ca), 0);
	ck_assert_uint_eq(ca.receive_max, 20);
	/* [MQTT-3.2.2] a Receive Maximum of 0 is a protocol error */
	const uint8_t zero[] = {0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00};
	ck_assert_int_eq(cb_mqtt_frame(zero, sizeof(zero), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_connack(5, &p, &ca), -1);
	/* a property running past the end */
	const uint8_t cut[] = {0x20, 0x05, 0x00, 0x00, 0x02, 0x21, 0x00};
	ck_assert_int_eq(cb_mqtt_frame(cut, sizeof(cut), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_connack(5, &p, &ca), -1);
}
END_TEST

START_TEST(mqtt_suback_and_acks)
{
	cb_pkt_t p;
	uint16_t pid;
	uint8_t code;
	const uint8_t v5[] = {0x90, 0x04, 0x00, 0x07, 0x00, 0x80};
	ck_assert_int_eq(cb_mqtt_frame(v5, sizeof(v5), &p), 0);
	ck_assert_int_eq(cb_mqtt_parse_suback(5, &p, &pid, &code), 0);
	ck_assert_uint_eq(pid, 7);
	ck_assert_uint_eq(code, 0x80);
	uint8_t b[4];
	/* [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010 */
	ck_assert_uint_eq(cb_mqtt_ack(b, CB_MQTT_PUBREL, 0x1234), 4);
	ck_assert_mem_eq(b, "\x62\x02\x12\x34", 4);
	ck_assert_int_eq(cb_mqtt_frame(b, 4, &p), 0);
	uint8_t reason;
	ck_assert_int_eq(cb_mqtt_parse_ack(&p, &pid, &reason), 0);
	ck_assert_uint_eq(pid, 0x1234);
	ck_assert_uint_eq(reason, 0);
}
END_TEST

START_TEST(ws_frames)
{
	uint8_t h[CB_WS_MAX_HDR];
	ck_assert_uint_eq(cb_ws_frame_hdr(h, CB_WS_OP_BINARY, 125, 1), 6);
	ck_assert_uint_eq(h[0], 0x82);
	ck_assert_uint_eq(h[1], 0x80 | 125);
	ck_assert_uint_eq(cb_ws_frame_hdr(h, CB_WS_OP_BINARY, 126, 1), 8);
	ck_assert_uint_eq(cb_ws_frame_hdr(h, CB_WS_OP_BINARY, 65536, 1), 14);
	uint8_t data[19] = "masking is its own";
	uint8_t copy[19];
	memcpy(copy, data, sizeof(data));
	cb_ws_mask(data, sizeof(data), 0xa1b2c3d4);
	ck_assert_mem_ne(data, copy, sizeof(data));
	cb_ws_mask(data, sizeof(data), 0xa1b2c3d4);
	ck_assert_mem_eq(data, copy, sizeof(data));
	int op;
	uint64_t len;
	size_t hl;
	const uint8_t srv[] = {0x82, 0x7e, 0x01, 0x00};
	ck_assert_int_eq(cb_ws_parse_hdr(srv, 3, &op, &len, &hl), CQ_AGAIN);
	ck_assert_int_eq(cb_ws_parse_hdr(srv, 4, &op, &len, &hl), 0);
	ck_assert_uint_eq(len, 256);
	ck_assert_uint_eq(hl, 4);
	/* RFC 6455 5.1: a masked server frame is an error; 5.5: control
	 * frames are short and never fragmented */
	const uint8_t masked[] = {0x82, 0x81, 0, 0, 0, 0};
	ck_assert_int_eq(cb_ws_parse_hdr(masked, 6, &op, &len, &hl), -1);
	const uint8_t bigping[] = {0x89, 0x7e, 0x00, 0x80};
	ck_assert_int_eq(cb_ws_parse_hdr(bigping, 4, &op, &len, &hl), -1);
	const uint8_t fragping[] = {0x09, 0x00};
	ck_assert_int_eq(cb_ws_parse_hdr(fragping, 2, &op, &len, &hl), -1);
}
END_TEST

/* RFC 6455 4.2.2: accept = base64(SHA-1(key + GUID)). */
START_TEST(ws_upgrade_accept_value)
{
	char req[1024], accept[29], key[25], want[29];
	ck_assert_int_gt(
		cb_ws_request(req, sizeof(req), "h", 1, "/mqtt", accept), 0);
	const char *k = strstr(req, "Sec-WebSocket-Key: ");
	ck_assert_ptr_nonnull(k);
	memcpy(key, k + 19, 24);
	key[24] = '\0';
	char in[128];
	int n = snprintf(in, sizeof(in), "%s%s", key,
		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)want, md, (int)mdlen);
	ck_assert_str_eq(accept, want);
	const char ok[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"\r\n";
	char err[160];
	ck_assert_int_eq(
		cb_ws_check_response(ok, sizeof(ok) - 1,
			"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", err, sizeof(err)),
		0);
	ck_assert_int_eq(cb_ws_check_response(
				 ok, sizeof(ok) - 1, want, err, sizeof(err)),
		-1);
	const char no[] = "HTTP/1.1 404 Not Found\r\n\r\n";
	ck_assert_int_eq(cb_ws_check_response(
				 no, sizeof(no) - 1, want, err, sizeof(err)),
		-1);
	ck_assert_ptr_nonnull(strstr(err, "404"));
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("cb_mqtt");
	TCase *tc = tcase_create("mqtt");
	tcase_add_test(tc, mqtt_varint_boundaries);
	tcase_add_test(tc, mqtt_frame_partial_and_bad);
	tcase_add_test(tc, mqtt_connect_bytes);
	tcase_add_test(tc, mqtt_publish_template_round_trip);
	tcase_add_test(tc, mqtt_publish_rejects_malformed);
	tcase_add_test(tc, mqtt_connack_properties);
	tcase_add_test(tc, mqtt_suback_and_acks);
	suite_add_tcase(s, tc);
	TCase *ws = tcase_create("ws");
	tcase_add_test(ws, ws_frames);
	tcase_add_test(ws, ws_upgrade_accept_value);
	suite_add_tcase(s, ws);
	return s;
}
