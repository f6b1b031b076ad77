/*
 * check_mqtt_publish.c — PUBLISH, PUBACK, PUBREC, PUBREL and PUBCOMP
 * (src/mqtt/publish.c) for MQTT 3.1, 3.1.1 and 5.0: vectors written from
 * §3.3 to §3.7, the header/payload split of the encoder, and the
 * malformed cases of those sections.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt/props.h"
#include "mqtt/publish.h"
#include "t/unit/check_mqtt_util.h"
#include "t/unit/unit.h"

/* §3.3: QoS 0, topic "a/b", payload "hello". */
static const uint8_t pub_qos0[] = {
	0x30, 0x0a, 0x00, 0x03, 'a', '/', 'b', 'h', 'e', 'l', 'l', 'o'};
/* DUP, QoS 1, RETAIN; packet id 10. */
static const uint8_t pub_qos1[] = {
	0x3b, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0a, 'h', 'i'};
/* QoS 2, packet id 0xfffe, empty payload. */
static const uint8_t pub_qos2[] = {
	0x34, 0x07, 0x00, 0x03, 'a', '/', 'b', 0xff, 0xfe};
/* 5.0: QoS 0 with an empty property section. */
static const uint8_t pub5_qos0[] = {
	0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'i'};
/* 5.0 §3.3.2.3: QoS 1 with every PUBLISH property. */
static const uint8_t pub5_props[] = {0x32, 0x38, 0x00, 0x03, 'a', '/', 'b',
	0x00, 0x05, /* packet id */
	0x2e, /* properties: 46 bytes */
	0x01, 0x01, /* payload format: UTF-8 */
	0x02, 0x00, 0x00, 0x00, 0x3c, /* message expiry 60 */
	0x23, 0x00, 0x03, /* topic alias 3 */
	0x08, 0x00, 0x03, 'r', '/', 'q', /* response topic */
	0x09, 0x00, 0x02, 0x01, 0x02, /* correlation data */
	0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', /* user k=v */
	0x0b, 0x07, /* subscription id 7 */
	0x0b, 0x80, 0x01, /* subscription id 128 */
	0x03, 0x00, 0x0a, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n', 'h',
	'i'};
/* 5.0 §3.3.2.3.4: empty topic name, the Topic Alias stands for it. */
static const uint8_t pub5_alias[] = {
	0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 'x'};

START_TEST(publish_vectors_roundtrip_3_3)
{
	ROUNDTRIP(pub_qos0, V311);
	ROUNDTRIP(pub_qos1, V311);
	ROUNDTRIP(pub_qos2, V311);
	ROUNDTRIP(pub_qos0, V31);
	ROUNDTRIP(pub_qos1, V31);
	ROUNDTRIP(pub5_qos0, V5);
	ROUNDTRIP(pub5_props, V5);
	ROUNDTRIP(pub5_alias, V5);
}
END_TEST

START_TEST(publish_fields_decoded)
{
	cq_mqtt_packet_t pkt;
	cq_mqtt_publish_t *p = &pkt.u.publish;
	cq_mqtt_view_t v;
	uint32_t n;

	ck_assert_int_eq(mqtt_decode(pub_qos1, sizeof(pub_qos1), V311, 0, &pkt),
		CQ_MQTT_OK);
	ck_assert(p->dup && p->retain);
	ck_assert_uint_eq(p->qos, 1);
	ck_assert_uint_eq(p->packet_id, 10);
	ck_assert_ptr_eq(p->topic.ptr, pub_qos1 + 4);
	ck_assert_ptr_eq(p->payload.ptr, pub_qos1 + 9);
	ck_assert_uint_eq(p->payload.len, 2);

	ck_assert_int_eq(mqtt_decode(pub_qos2, sizeof(pub_qos2), V311, 0, &pkt),
		CQ_MQTT_OK);
	ck_assert_uint_eq(p->packet_id, 0xfffe);
	ck_assert_uint_eq(p->payload.len, 0);

	ck_assert_int_eq(
		mqtt_decode(pub5_props, sizeof(pub5_props), V5, 0, &pkt),
		CQ_MQTT_OK);
	ck_assert_int_eq(cq_mqtt_props_message_expiry(&p->props, &n), 0);
	ck_assert_uint_eq(n, 60);
	ck_assert_int_eq(cq_mqtt_props_topic_alias(&p->props, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(cq_mqtt_props_response_topic(&p->props, &v), 0);
	ck_assert_mem_eq(v.ptr, "r/q", 3);
	ck_assert_int_eq(cq_mqtt_props_correlation_data(&p->props, &v), 0);
	ck_assert_uint_eq(v.len, 2);
	ck_assert_int_eq(cq_mqtt_props_content_type(&p->props, &v), 0);
	ck_assert_mem_eq(v.ptr, "text/plain", 10);
	ck_assert_uint_eq(
		cq_mqtt_props_count(&p->props, CQ_MQTT_PROP_SUBSCRIPTION_ID),
		2);
	ck_assert_mem_eq(p->payload.ptr, "hi", 2);
}
END_TEST

/*
 * The header is written apart from the payload and the packet id can be
 * patched per subscriber (serialise once per wire layout).
 */
START_TEST(publish_header_split)
{
	static const uint8_t big_topic[] = "t/big";
	uint8_t *payload = malloc(300);
	memset(payload, 'p', 300);
	cq_mqtt_publish_t pub = {.qos = 1, .packet_id = 1};
	pub.topic = cq_mqtt_view(big_topic, 5);
	pub.payload = cq_mqtt_view(payload, 300);

	for (uint8_t v = V31; v <= V5; v++) {
		uint8_t full[400], hdr[32];
		size_t pid_off, size = cq_mqtt_publish_size(&pub, v);
		size_t hlen = cq_mqtt_publish_header_size(&pub, v);
		ck_assert_uint_eq(hlen + 300, size);
		ck_assert_uint_eq(
			cq_mqtt_publish_encode(&pub, v, full, sizeof(full)),
			size);
		ck_assert_uint_eq(cq_mqtt_publish_header_encode(
					  &pub, v, hdr, hlen, &pid_off),
			hlen);
		ck_assert_uint_eq(cq_mqtt_publish_header_encode(
					  &pub, v, hdr, hlen - 1, &pid_off),
			0);
		ck_assert_mem_eq(hdr, full, hlen);
		/* 1 + 2 (Remaining Length 300+) + 7 (topic) */
		ck_assert_uint_eq(pid_off, 10);
		cq_mqtt_publish_set_packet_id(hdr, pid_off, 0x1234);
		ck_assert_uint_eq(hdr[10], 0x12);
		ck_assert_uint_eq(hdr[11], 0x34);
		ck_assert_mem_eq(full + hlen, payload, 300);
	}
	pub.qos = 0;
	uint8_t hdr[16];
	size_t pid_off = 99;
	ck_assert_uint_gt(cq_mqtt_publish_header_encode(
				  &pub, V311, hdr, sizeof(hdr), &pid_off),
		0);
	ck_assert_uint_eq(pid_off, 0);
	free(payload);
}
END_TEST

START_TEST(publish_append_and_limits)
{
	cq_buf_t b = CQ_BUF_INIT;
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_PUBLISH};
	cq_mqtt_publish_t *pub = &pkt.u.publish;
	pub->topic = cq_mqtt_view("a/b", 3);
	pub->payload = cq_mqtt_view("hello", 5);
	ck_assert_int_eq(cq_mqtt_append(&pkt, V311, &b), 0);
	ck_assert_uint_eq(cq_buf_used(&b), sizeof(pub_qos0));
	ck_assert_mem_eq(cq_buf_head(&b), pub_qos0, sizeof(pub_qos0));
	/* Not encodable: QoS 3, a topic over 65535 bytes, a packet over
	 * the largest Remaining Length. */
	pub->qos = 3;
	ck_assert_uint_eq(cq_mqtt_publish_size(pub, V311), 0);
	ck_assert_int_eq(cq_mqtt_append(&pkt, V311, &b), -1);
	ck_assert_uint_eq(cq_buf_used(&b), sizeof(pub_qos0));
	pub->qos = 0;
	pub->topic.len = 65536;
	ck_assert_uint_eq(cq_mqtt_publish_size(pub, V311), 0);
	pub->topic.len = 3;
	pub->payload.len = CQ_MQTT_MAX_REMAINING;
	ck_assert_uint_eq(cq_mqtt_publish_size(pub, V311), 0);
	pub->payload.len = CQ_MQTT_MAX_REMAINING - 5;
	ck_assert_uint_eq(cq_mqtt_publish_size(pub, V311), CQ_MQTT_MAX_PACKET);
	cq_buf_free(&b);
}
END_TEST

/* [MQTT-3.3.1-4] QoS 3, [MQTT-3.3.1-2] DUP on QoS 0 (not in 3.1). */
START_TEST(publish_flags_MQTT_3_3_1_2_and_4)
{
	ck_assert_int_eq(err_with(pub_qos1, sizeof(pub_qos1), 0, 0x36, V311),
		CQ_MQTT_ERR_QOS);
	ck_assert_int_eq(err_with(pub_qos1, sizeof(pub_qos1), 0, 0x36, V31),
		CQ_MQTT_ERR_QOS);
	ck_assert_int_eq(err_with(pub_qos0, sizeof(pub_qos0), 0, 0x38, V311),
		CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(err_with(pub5_qos0, sizeof(pub5_qos0), 0, 0x38, V5),
		CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(
		err_with(pub_qos0, sizeof(pub_qos0), 0, 0x38, V31), CQ_MQTT_OK);
}
END_TEST

/* [MQTT-2.2.1-3] (5.0), [MQTT-2.3.1-1] (3.1.1): packet id not 0. */
START_TEST(publish_packet_id_zero_MQTT_2_2_1_3)
{
	static const uint8_t pid0[] = {
		0x32, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x00};
	ck_assert_int_eq(ERR(pid0, V311), CQ_MQTT_ERR_PACKET_ID);
	ck_assert_int_eq(ERR(pid0, V31), CQ_MQTT_ERR_PACKET_ID);
	/* and no room for it at all */
	static const uint8_t nopid[] = {0x32, 0x05, 0x00, 0x03, 'a', '/', 'b'};
	ck_assert_int_eq(ERR(nopid, V311), CQ_MQTT_ERR_SHORT);
}
END_TEST

/* [MQTT-3.3.2-1] [MQTT-3.3.2-2] [MQTT-4.7.3-1] [MQTT-4.7.3-2] */
START_TEST(publish_topic_name_MQTT_3_3_2_2)
{
	ck_assert_int_eq(err_with(pub_qos0, sizeof(pub_qos0), 6, '+', V311),
		CQ_MQTT_ERR_TOPIC_NAME);
	ck_assert_int_eq(err_with(pub_qos0, sizeof(pub_qos0), 6, '#', V311),
		CQ_MQTT_ERR_TOPIC_NAME);
	ck_assert_int_eq(err_with(pub5_qos0, sizeof(pub5_qos0), 4, '#', V5),
		CQ_MQTT_ERR_TOPIC_NAME);
	ck_assert_int_eq(err_with(pub_qos0, sizeof(pub_qos0), 6, 0x00, V311),
		CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(err_with(pub_qos0, sizeof(pub_qos0), 5, 0xc0, V311),
		CQ_MQTT_ERR_UTF8);
	/* a surrogate (U+D800), and a sequence cut by the string's end */
	static const uint8_t surrogate[] = {
		0x30, 0x07, 0x00, 0x05, 'a', '/', 0xed, 0xa0, 0x80};
	static const uint8_t cut_seq[] = {
		0x30, 0x07, 0x00, 0x04, 'a', '/', 0xe2, 0x82, 0xac};
	ck_assert_int_eq(ERR(surrogate, V311), CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(ERR(cut_seq, V311), CQ_MQTT_ERR_UTF8);
	/* empty topic: invalid in 3.x, needs an alias in 5.0 */
	static const uint8_t empty3[] = {0x30, 0x03, 0x00, 0x00, 'x'};
	static const uint8_t empty5[] = {0x30, 0x04, 0x00, 0x00, 0x00, 'x'};
	ck_assert_int_eq(ERR(empty3, V311), CQ_MQTT_ERR_TOPIC_NAME);
	ck_assert_int_eq(ERR(empty5, V5), CQ_MQTT_ERR_TOPIC_EMPTY);
	/* topic length past the end */
	static const uint8_t cut[] = {0x30, 0x04, 0x00, 0x05, 'a', 'b'};
	ck_assert_int_eq(ERR(cut, V311), CQ_MQTT_ERR_SHORT);
}
END_TEST

START_TEST(publish_topic_levels_limit)
{
	cq_mqtt_dec_t dec = {V311, 0, 2, 0};
	cq_mqtt_frame_t fr;
	cq_mqtt_packet_t pkt;
	static const uint8_t abc[] = {
		0x30, 0x07, 0x00, 0x05, 'a', '/', 'b', '/', 'c'};
	ck_assert_int_eq(cq_mqtt_read(abc, sizeof(abc), &dec, &fr, &pkt), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_TOPIC_NAME);
	dec.max_topic_levels = 3;
	ck_assert_int_eq(cq_mqtt_read(abc, sizeof(abc), &dec, &fr, &pkt), 0);
}
END_TEST

/* 5.0 §3.3.2.3: the property section of PUBLISH. */
START_TEST(publish_v5_properties)
{
	/* Session Expiry (0x11) is not a PUBLISH property */
	ck_assert_int_eq(err_with(pub5_props, sizeof(pub5_props), 10, 0x11, V5),
		CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	/* message expiry twice: topic alias turned into one */
	ck_assert_int_eq(err_with(pub5_props, sizeof(pub5_props), 17, 0x02, V5),
		CQ_MQTT_ERR_PROP_DUP);
	/* topic alias 0 [MQTT-3.3.2-8] */
	ck_assert_int_eq(err_with(pub5_props, sizeof(pub5_props), 19, 0x00, V5),
		CQ_MQTT_ERR_TOPIC_ALIAS);
	/* response topic with a wildcard [MQTT-3.3.2-14] */
	ck_assert_int_eq(err_with(pub5_props, sizeof(pub5_props), 24, '#', V5),
		CQ_MQTT_ERR_PROP_VALUE);
	/* property length past the packet */
	ck_assert_int_eq(err_with(pub5_props, sizeof(pub5_props), 9, 0x7f, V5),
		CQ_MQTT_ERR_PROP_LENGTH);
	/* property length of five bytes */
	static const uint8_t plen5[] = {0x30, 0x0a, 0x00, 0x01, 't', 0xff, 0xff,
		0xff, 0xff, 0x01, 0x00, 0x00};
	ck_assert_int_eq(ERR(plen5, V5), CQ_MQTT_ERR_VARINT);
	/* property length cut by the end of the packet */
	static const uint8_t plen_cut[] = {0x30, 0x04, 0x00, 0x01, 't', 0x80};
	ck_assert_int_eq(ERR(plen_cut, V5), CQ_MQTT_ERR_PROP_LENGTH);
	/* a property section longer than the packet, by one */
	static const uint8_t over[] = {
		0x30, 0x06, 0x00, 0x01, 't', 0x03, 0x23, 0x00};
	ck_assert_int_eq(ERR(over, V5), CQ_MQTT_ERR_PROP_LENGTH);
}
END_TEST

/* [MQTT-3.3.4-6]: a client must not send a Subscription Identifier. */
START_TEST(publish_sub_id_from_client_MQTT_3_3_4_6)
{
	cq_mqtt_packet_t pkt;
	ck_assert_int_eq(mqtt_decode(pub5_props, sizeof(pub5_props), V5,
				 CQ_MQTT_DEC_FROM_CLIENT, &pkt),
		CQ_MQTT_ERR_DIRECTION);
	ck_assert_int_eq(mqtt_decode(pub5_alias, sizeof(pub5_alias), V5,
				 CQ_MQTT_DEC_FROM_CLIENT, &pkt),
		CQ_MQTT_OK);
}
END_TEST

/* §3.3.2.3.2: a payload declared UTF-8 may be checked; 0x99. */
START_TEST(publish_payload_format)
{
	cq_mqtt_packet_t pkt;
	uint8_t buf[sizeof(pub5_props)];
	memcpy(buf, pub5_props, sizeof(buf));
	unsigned f = CQ_MQTT_DEC_PAYLOAD_UTF8;
	ck_assert_int_eq(
		mqtt_decode(buf, sizeof(buf), V5, f, &pkt), CQ_MQTT_OK);
	buf[sizeof(buf) - 1] = 0xff;
	ck_assert_int_eq(mqtt_decode(buf, sizeof(buf), V5, f, &pkt),
		CQ_MQTT_ERR_PAYLOAD_FORMAT);
	ck_assert_int_eq(
		mqtt_decode(buf, sizeof(buf), V5, 0, &pkt), CQ_MQTT_OK);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_PAYLOAD_FORMAT),
		CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID);
	/* Without the indicator any payload is fine. */
	uint8_t raw[sizeof(pub5_qos0)];
	memcpy(raw, pub5_qos0, sizeof(raw));
	raw[sizeof(raw) - 1] = 0xff;
	ck_assert_int_eq(
		mqtt_decode(raw, sizeof(raw), V5, f, &pkt), CQ_MQTT_OK);
}
END_TEST

/* §3.4 - §3.7: packet id only (3.x, and the short form of 5.0). */
START_TEST(ack_vectors_roundtrip)
{
	static const uint8_t puback[] = {0x40, 0x02, 0x00, 0x07};
	static const uint8_t pubrec[] = {0x50, 0x02, 0x00, 0x07};
	static const uint8_t pubrel[] = {0x62, 0x02, 0x00, 0x07};
	static const uint8_t pubcomp[] = {0x70, 0x02, 0x00, 0x07};
	for (uint8_t v = V31; v <= V5; v++) {
		ROUNDTRIP(puback, v);
		ROUNDTRIP(pubrec, v);
		ROUNDTRIP(pubrel, v);
		ROUNDTRIP(pubcomp, v);
	}
	/* 5.0 §3.4.2.1: a reason code without properties */
	static const uint8_t puback_nomatch[] = {0x40, 0x03, 0x00, 0x07, 0x10};
	static const uint8_t pubrel_notfound[] = {0x62, 0x03, 0x00, 0x07, 0x92};
	static const uint8_t pubrec_reason_str[] = {
		0x50, 0x08, 0x00, 0x07, 0x97, 0x04, 0x1f, 0x00, 0x01, 'q'};
	ROUNDTRIP(puback_nomatch, V5);
	ROUNDTRIP(pubrel_notfound, V5);
	ROUNDTRIP(pubrec_reason_str, V5);
}
END_TEST

START_TEST(ack_encode_from_struct)
{
	static const uint8_t want[] = {0x40, 0x03, 0x00, 0x07, 0x10};
	static const uint8_t want3[] = {0x40, 0x02, 0x00, 0x07};
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_PUBACK};
	pkt.u.ack.type = CQ_MQTT_PUBACK;
	pkt.u.ack.packet_id = 7;
	pkt.u.ack.reason = CQ_MQTT_RC_NO_MATCHING_SUBSCRIBERS;
	mqtt_encodes_to(&pkt, V5, want, sizeof(want));
	/* v3 has no reason code: it is not sent */
	mqtt_encodes_to(&pkt, V311, want3, sizeof(want3));
	/* the long forms decode to the same */
	static const uint8_t long0[] = {0x40, 0x04, 0x00, 0x07, 0x00, 0x00};
	cq_mqtt_packet_t a, b;
	ck_assert_int_eq(
		mqtt_decode(long0, sizeof(long0), V5, 0, &a), CQ_MQTT_OK);
	ck_assert_int_eq(
		mqtt_decode(want3, sizeof(want3), V5, 0, &b), CQ_MQTT_OK);
	ck_assert(cq_mqtt_packet_equal(&a, &b));
	/* a mismatched type cannot be encoded */
	pkt.u.ack.type = CQ_MQTT_PUBREC;
	ck_assert_uint_eq(cq_mqtt_size(&pkt, V5), 0);
}
END_TEST

START_TEST(ack_malformed)
{
	static const uint8_t pid0[] = {0x40, 0x02, 0x00, 0x00};
	static const uint8_t long3[] = {0x40, 0x03, 0x00, 0x07, 0x00};
	static const uint8_t short1[] = {0x40, 0x01, 0x00};
	static const uint8_t puback_0x92[] = {0x40, 0x03, 0x00, 0x07, 0x92};
	static const uint8_t pubrel_0x10[] = {0x62, 0x03, 0x00, 0x07, 0x10};
	static const uint8_t alias[] = {
		0x40, 0x07, 0x00, 0x07, 0x00, 0x03, 0x23, 0x00, 0x01};
	static const uint8_t two_reasons[] = {0x40, 0x0a, 0x00, 0x07, 0x80,
		0x06, 0x1f, 0x00, 0x00, 0x1f, 0x00, 0x00};
	static const uint8_t trailing5[] = {
		0x40, 0x05, 0x00, 0x07, 0x00, 0x00, 0xaa};
	ck_assert_int_eq(ERR(pid0, V311), CQ_MQTT_ERR_PACKET_ID);
	ck_assert_int_eq(ERR(pid0, V5), CQ_MQTT_ERR_PACKET_ID);
	ck_assert_int_eq(ERR(long3, V311), CQ_MQTT_ERR_TRAILING);
	ck_assert_int_eq(ERR(short1, V5), CQ_MQTT_ERR_SHORT);
	/* [MQTT-3.4.2-1] [MQTT-3.6.2-1] */
	ck_assert_int_eq(ERR(puback_0x92, V5), CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(ERR(pubrel_0x10, V5), CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(ERR(alias, V5), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	ck_assert_int_eq(ERR(two_reasons, V5), CQ_MQTT_ERR_PROP_DUP);
	ck_assert_int_eq(ERR(trailing5, V5), CQ_MQTT_ERR_TRAILING);
	/* [MQTT-3.6.1-1]: PUBREL flags 0010; the others 0000 */
	static const uint8_t pubrel_flags[] = {0x60, 0x02, 0x00, 0x07};
	static const uint8_t puback_flags[] = {0x42, 0x02, 0x00, 0x07};
	ck_assert_int_eq(ERR(pubrel_flags, V311), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(ERR(puback_flags, V5), CQ_MQTT_ERR_FLAGS);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_publish");
	TCase *tc = tcase_create("publish");
	tcase_add_test(tc, publish_vectors_roundtrip_3_3);
	tcase_add_test(tc, publish_fields_decoded);
	tcase_add_test(tc, publish_header_split);
	tcase_add_test(tc, publish_append_and_limits);
	tcase_add_test(tc, publish_flags_MQTT_3_3_1_2_and_4);
	tcase_add_test(tc, publish_packet_id_zero_MQTT_2_2_1_3);
	tcase_add_test(tc, publish_topic_name_MQTT_3_3_2_2);
	tcase_add_test(tc, publish_topic_levels_limit);
	tcase_add_test(tc, publish_v5_properties);
	tcase_add_test(tc, publish_sub_id_from_client_MQTT_3_3_4_6);
	tcase_add_test(tc, publish_payload_format);
	tcase_add_test(tc, ack_vectors_roundtrip);
	tcase_add_test(tc, ack_encode_from_struct);
	tcase_add_test(tc, ack_malformed);
	suite_add_tcase(s, tc);
	return s;
}
