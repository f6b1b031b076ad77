/*
 * check_mqtt_frame.c — the Variable Byte Integer, the fixed-header rules
 * and the incremental framer (src/mqtt/varint.h, frame.c, packet.c), and
 * the split test: a stream of packets cut at every byte boundary frames
 * and decodes exactly as the whole stream does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/defs.h"
#include "mqtt/frame.h"
#include "mqtt/packet.h"
#include "mqtt/varint.h"
#include "t/unit/check_mqtt_util.h"
#include "t/unit/unit.h"

/* §1.5.5 (Table 1-1 of 3.1.1 §2.2.3): the size boundaries. */
static const struct {
	uint32_t v;
	uint8_t bytes[4];
	unsigned len;
} varints[] = {
	{0, {0x00}, 1},
	{127, {0x7f}, 1},
	{128, {0x80, 0x01}, 2},
	{16383, {0xff, 0x7f}, 2},
	{16384, {0x80, 0x80, 0x01}, 3},
	{2097151, {0xff, 0xff, 0x7f}, 3},
	{2097152, {0x80, 0x80, 0x80, 0x01}, 4},
	{268435455, {0xff, 0xff, 0xff, 0x7f}, 4},
};

START_TEST(varint_spec_table)
{
	for (size_t i = 0; i < CQ_ARRAY_SIZE(varints); i++) {
		uint8_t buf[4];
		uint32_t v;
		unsigned len;
		ck_assert_uint_eq(
			cq_mqtt_varint_size(varints[i].v), varints[i].len);
		ck_assert_uint_eq(
			cq_mqtt_varint_put(buf, varints[i].v), varints[i].len);
		ck_assert_mem_eq(buf, varints[i].bytes, varints[i].len);
		ck_assert_int_eq(cq_mqtt_varint_get(varints[i].bytes,
					 varints[i].len, &v, &len),
			0);
		ck_assert_uint_eq(v, varints[i].v);
		ck_assert_uint_eq(len, varints[i].len);
		ck_assert(cq_mqtt_varint_minimal(varints[i].bytes, len));
		/* Every proper prefix is incomplete. */
		for (unsigned n = 0; n < varints[i].len; n++)
			ck_assert_int_eq(cq_mqtt_varint_get(
						 varints[i].bytes, n, &v, &len),
				CQ_AGAIN);
	}
}
END_TEST

/* §1.5.5: at most four bytes; a fourth with the continuation bit is
 * malformed whatever follows. */
START_TEST(varint_five_bytes_malformed)
{
	static const uint8_t five[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
	static const uint8_t four[] = {0x80, 0x80, 0x80, 0x80};
	uint32_t v;
	unsigned len;
	ck_assert_int_eq(cq_mqtt_varint_get(five, sizeof(five), &v, &len), -1);
	ck_assert_int_eq(cq_mqtt_varint_get(four, sizeof(four), &v, &len), -1);
}
END_TEST

/* [MQTT-1.5.5-1]: the minimum number of bytes. */
START_TEST(varint_minimal_MQTT_1_5_5_1)
{
	static const uint8_t zero2[] = {0x80, 0x00},
			     one3[] = {0x81, 0x80, 0x00};
	ck_assert(!cq_mqtt_varint_minimal(zero2, 2));
	ck_assert(!cq_mqtt_varint_minimal(one3, 3));
}
END_TEST

/*
 * [MQTT-2.2.2-1] [MQTT-2.2.2-2] (3.1.1), §2.1.3 (5.0): the flags each type
 * carries; PUBLISH [MQTT-3.3.1-2] [MQTT-3.3.1-4]; PUBREL [MQTT-3.6.1-1],
 * SUBSCRIBE [MQTT-3.8.1-1], UNSUBSCRIBE [MQTT-3.10.1-1].
 */
START_TEST(fixed_header_flags_MQTT_2_2_2_1)
{
	for (unsigned type = 1; type < 16; type++) {
		for (unsigned flags = 0; flags < 16; flags++) {
			uint8_t b = (uint8_t)(type << 4 | flags);
			cq_mqtt_err_t want = CQ_MQTT_OK;
			if (type == CQ_MQTT_PUBLISH) {
				if ((flags & 6) == 6)
					want = CQ_MQTT_ERR_QOS;
				else if ((flags & 8) && !(flags & 6))
					want = CQ_MQTT_ERR_FLAGS;
			} else if (type == CQ_MQTT_PUBREL ||
				type == CQ_MQTT_SUBSCRIBE ||
				type == CQ_MQTT_UNSUBSCRIBE) {
				want = flags == 2 ? CQ_MQTT_OK
						  : CQ_MQTT_ERR_FLAGS;
			} else if (flags != 0) {
				want = CQ_MQTT_ERR_FLAGS;
			}
			ck_assert_msg(cq_mqtt_fixed_check(b, V5) == want,
				"byte 0x%02x", b);
			ck_assert_int_eq(cq_mqtt_fixed_check(b, 0), want);
			if (type != CQ_MQTT_AUTH)
				ck_assert_int_eq(
					cq_mqtt_fixed_check(b, V311), want);
		}
	}
	ck_assert_int_eq(cq_mqtt_fixed_check(0x00, V5), CQ_MQTT_ERR_TYPE);
	ck_assert_int_eq(cq_mqtt_fixed_check(0x0f, V311), CQ_MQTT_ERR_TYPE);
}
END_TEST

/* AUTH does not exist before MQTT 5; 3.1 allowed DUP/QoS bits anywhere. */
START_TEST(fixed_header_per_version)
{
	ck_assert_int_eq(cq_mqtt_fixed_check(0xf0, V311), CQ_MQTT_ERR_TYPE);
	ck_assert_int_eq(cq_mqtt_fixed_check(0xf0, V31), CQ_MQTT_ERR_TYPE);
	ck_assert_int_eq(cq_mqtt_fixed_check(0xf0, V5), CQ_MQTT_OK);
	ck_assert_int_eq(cq_mqtt_fixed_check(0x6a, V31), CQ_MQTT_OK);
	ck_assert_int_eq(cq_mqtt_fixed_check(0x6a, V311), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(cq_mqtt_fixed_check(0x38, V31), CQ_MQTT_OK);
	ck_assert_int_eq(cq_mqtt_fixed_check(0x36, V31), CQ_MQTT_ERR_QOS);
	ck_assert_uint_eq(cq_mqtt_fixed_byte(CQ_MQTT_PUBREL), 0x62);
	ck_assert_uint_eq(cq_mqtt_fixed_byte(CQ_MQTT_SUBSCRIBE), 0x82);
	ck_assert_uint_eq(cq_mqtt_fixed_byte(CQ_MQTT_PINGREQ), 0xc0);
}
END_TEST

static int
frame(const void *p, size_t n, uint8_t version, uint32_t max,
	cq_mqtt_frame_t *fr)
{
	cq_mqtt_dec_t dec = {version, 0, 0, max};
	return cq_mqtt_frame(p, n, &dec, fr);
}

START_TEST(framer_needs_more)
{
	static const uint8_t p[] = {0x30, 0x80, 0x01};
	cq_mqtt_frame_t fr;
	ck_assert_int_eq(frame(p, 0, V5, 0, &fr), CQ_AGAIN);
	ck_assert_uint_eq(fr.need, 2);
	ck_assert_int_eq(frame(p, 1, V5, 0, &fr), CQ_AGAIN);
	ck_assert_uint_eq(fr.need, 2);
	ck_assert_int_eq(frame(p, 2, V5, 0, &fr), CQ_AGAIN);
	ck_assert_uint_eq(fr.need, 3);
	/* Length known: 3 + 128 bytes exactly. */
	ck_assert_int_eq(frame(p, 3, V5, 0, &fr), CQ_AGAIN);
	ck_assert_uint_eq(fr.need, 131);
	ck_assert_uint_eq(fr.rem_len, 128);
	ck_assert_uint_eq(fr.hdr_len, 3);
}
END_TEST

START_TEST(framer_complete)
{
	static const uint8_t p[] = {0xc0, 0x00, 0xd0, 0x00};
	cq_mqtt_frame_t fr;
	ck_assert_int_eq(frame(p, sizeof(p), V311, 0, &fr), 0);
	ck_assert_uint_eq(fr.type, CQ_MQTT_PINGREQ);
	ck_assert_uint_eq(fr.flags, 0);
	ck_assert_uint_eq(fr.hdr_len, 2);
	ck_assert_uint_eq(fr.rem_len, 0);
	ck_assert_uint_eq(fr.size, 2);
}
END_TEST

/* The error shows as soon as the first byte or the length is complete. */
START_TEST(framer_errors_early)
{
	static const uint8_t bad_type[] = {0x00};
	static const uint8_t qos3[] = {0x36};
	static const uint8_t five[] = {0x30, 0xff, 0xff, 0xff, 0xff};
	cq_mqtt_frame_t fr;
	ck_assert_int_eq(frame(bad_type, 1, V5, 0, &fr), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_TYPE);
	ck_assert_int_eq(frame(qos3, 1, V5, 0, &fr), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_QOS);
	ck_assert_int_eq(frame(five, 5, V5, 0, &fr), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_VARINT);
	ck_assert_int_eq(frame(five, 4, V5, 0, &fr), CQ_AGAIN);
}
END_TEST

/*
 * A packet over the maximum size is refused from its fixed header alone
 * (v5 §3.2.2.3.6: DISCONNECT 0x95), before any of the body is buffered.
 */
START_TEST(framer_too_large_before_body)
{
	static const uint8_t at_max[] = {0x30, 98};
	static const uint8_t over[] = {0x30, 99};
	static const uint8_t huge[] = {0x30, 0xff, 0xff, 0xff, 0x7f};
	cq_mqtt_frame_t fr;
	ck_assert_int_eq(frame(at_max, 2, V5, 100, &fr), CQ_AGAIN);
	ck_assert_uint_eq(fr.need, 100);
	ck_assert_int_eq(frame(over, 2, V5, 100, &fr), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_TOO_LARGE);
	ck_assert_int_eq(cq_mqtt_err_reason(fr.err), 0x95);
	ck_assert_int_eq(frame(huge, 5, V5, 1 << 20, &fr), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_TOO_LARGE);
	/* 0: the protocol maximum */
	ck_assert_int_eq(frame(huge, 5, V5, 0, &fr), CQ_AGAIN);
	ck_assert_uint_eq(fr.need, CQ_MQTT_MAX_PACKET);
}
END_TEST

/* [MQTT-1.5.5-1] applies to MQTT 5 only; 3.1.1 never required it. */
START_TEST(framer_non_minimal_length_MQTT_1_5_5_1)
{
	static const uint8_t p[] = {0xe0, 0x80, 0x00};
	cq_mqtt_frame_t fr;
	ck_assert_int_eq(frame(p, sizeof(p), V5, 0, &fr), -1);
	ck_assert_int_eq(fr.err, CQ_MQTT_ERR_VARINT);
	ck_assert_int_eq(frame(p, sizeof(p), V311, 0, &fr), 0);
	ck_assert_uint_eq(fr.size, 3);
}
END_TEST

/* [MQTT-3.1.0-1]: before the CONNECT nothing else decodes. */
START_TEST(decode_first_packet_must_be_connect_MQTT_3_1_0_1)
{
	static const uint8_t ping[] = {0xc0, 0x00};
	cq_mqtt_packet_t pkt;
	ck_assert_int_eq(
		mqtt_decode(ping, 2, 0, 0, &pkt), CQ_MQTT_ERR_NOT_CONNECT);
	ck_assert_int_eq(mqtt_decode(ping, 2, V311, 0, &pkt), CQ_MQTT_OK);
	cq_mqtt_reply_t r = cq_mqtt_err_reply(
		CQ_MQTT_ERR_NOT_CONNECT, 0, false);
	ck_assert_int_eq(r.kind, CQ_MQTT_REPLY_CLOSE);
}
END_TEST

/* A server refuses packets only a server sends. */
START_TEST(decode_server_only_packets_from_client)
{
	static const uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
	static const uint8_t pingresp[] = {0xd0, 0x00};
	static const uint8_t suback[] = {0x90, 0x03, 0x00, 0x01, 0x00};
	static const uint8_t unsuback[] = {0xb0, 0x02, 0x00, 0x01};
	cq_mqtt_packet_t pkt;
	unsigned fc = CQ_MQTT_DEC_FROM_CLIENT;
	ck_assert_int_eq(
		mqtt_decode(connack, 4, V311, fc, &pkt), CQ_MQTT_ERR_DIRECTION);
	ck_assert_int_eq(mqtt_decode(pingresp, 2, V311, fc, &pkt),
		CQ_MQTT_ERR_DIRECTION);
	ck_assert_int_eq(
		mqtt_decode(suback, 5, V311, fc, &pkt), CQ_MQTT_ERR_DIRECTION);
	ck_assert_int_eq(mqtt_decode(unsuback, 4, V311, fc, &pkt),
		CQ_MQTT_ERR_DIRECTION);
	ck_assert_int_eq(mqtt_decode(connack, 4, V311, 0, &pkt), CQ_MQTT_OK);
}
END_TEST

/* A stream of MQTT 5 packets: CONNECT, PUBLISH QoS 1 with a property,
 * SUBSCRIBE, PINGREQ, a PUBLISH with a two-byte length, DISCONNECT. */
static uint8_t *
make_stream(size_t *len_r)
{
	static const uint8_t head[] = {
		0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00,
		0x3c, 0x00, 0x00, 0x03, 'c', 'i', 'd', /* CONNECT */
		0x32, 0x0c, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01, 0x02, 0x01,
		0x01, 'h', 'i', /* PUBLISH QoS 1, payload format 1 */
		0x82, 0x09, 0x00, 0x02, 0x00, 0x00, 0x03, 'a', '/', '+',
		0x01, /* SUBSCRIBE */
		0xc0, 0x00, /* PINGREQ */
		0x30, 0xcc, 0x01, 0x00, 0x01, 't', 0x00 /* PUBLISH, 200 B */
	};
	size_t n = sizeof(head) + 200 + 2;
	uint8_t *s = malloc(n);
	memcpy(s, head, sizeof(head));
	for (size_t i = 0; i < 200; i++)
		s[sizeof(head) + i] = (uint8_t)('a' + i % 26);
	s[n - 2] = 0xe0; /* DISCONNECT */
	s[n - 1] = 0x00;
	*len_r = n;
	return s;
}

#define STREAM_PACKETS 6

/*
 * Feed the stream through a connection buffer in pieces ending at the
 * offsets in cuts[] and check every packet against ref[].  After each
 * CQ_AGAIN, 'need' must be a lower bound of the packet still to come.
 */
static void
feed(const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts,
	const cq_mqtt_packet_t *ref, const uint32_t *sizes)
{
	cq_buf_t in = CQ_BUF_INIT;
	cq_mqtt_dec_t dec = {0, 0, 0, 0};
	size_t got = 0, from = 0;

	for (size_t c = 0; c <= ncuts; c++) {
		size_t to = c < ncuts ? cuts[c] : n;
		ck_assert_int_eq(cq_buf_append(&in, s + from, to - from), 0);
		from = to;
		for (;;) {
			cq_mqtt_frame_t fr;
			cq_mqtt_packet_t pkt;
			int rc = cq_mqtt_read(cq_buf_head(&in),
				cq_buf_used(&in), &dec, &fr, &pkt);
			if (rc == CQ_AGAIN && got == STREAM_PACKETS)
				break;
			if (rc == CQ_AGAIN) {
				ck_assert_uint_le(fr.need, sizes[got]);
				ck_assert_uint_gt(fr.need, cq_buf_used(&in));
				break;
			}
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(fr.size, sizes[got]);
			ck_assert(cq_mqtt_packet_equal(&pkt, &ref[got]));
			if (pkt.type == CQ_MQTT_CONNECT)
				dec.version = pkt.u.connect.version;
			cq_buf_consume(&in, fr.size);
			got++;
		}
	}
	ck_assert_uint_eq(got, STREAM_PACKETS);
	ck_assert_uint_eq(cq_buf_used(&in), 0);
	cq_buf_free(&in);
}

START_TEST(split_at_every_byte_boundary)
{
	size_t n, off = 0;
	uint8_t *s = make_stream(&n);
	cq_mqtt_packet_t ref[STREAM_PACKETS];
	uint32_t sizes[STREAM_PACKETS];
	cq_mqtt_dec_t dec = {0, 0, 0, 0};

	/* The reference: the whole stream at once. */
	for (int i = 0; i < STREAM_PACKETS; i++) {
		cq_mqtt_frame_t fr;
		ck_assert_int_eq(
			cq_mqtt_read(s + off, n - off, &dec, &fr, &ref[i]), 0);
		if (ref[i].type == CQ_MQTT_CONNECT)
			dec.version = ref[i].u.connect.version;
		sizes[i] = fr.size;
		off += fr.size;
	}
	ck_assert_uint_eq(off, n);
	ck_assert_uint_eq(ref[4].u.publish.payload.len, 200);
	/* Two pieces, cut at every offset. */
	for (size_t cut = 1; cut < n; cut++)
		feed(s, n, &cut, 1, ref, sizes);
	/* One byte at a time. */
	size_t *cuts = malloc(n * sizeof(*cuts));
	for (size_t i = 0; i < n - 1; i++)
		cuts[i] = i + 1;
	feed(s, n, cuts, n - 1, ref, sizes);
	free(cuts);
	free(s);
}
END_TEST

/* A bad packet in the middle is reported at the same point however the
 * bytes arrive. */
START_TEST(split_error_is_deterministic)
{
	static const uint8_t s[] = {
		0xc0, 0x00, 0x30, 0x05, 0x00, 0x03, 'a', '/', '#', 0xc0, 0x00};
	for (size_t cut = 0; cut <= sizeof(s); cut++) {
		cq_mqtt_dec_t dec = {V311, 0, 0, 0};
		cq_mqtt_frame_t fr;
		cq_mqtt_packet_t pkt;
		size_t off = 0, avail = cut;
		int rc, errors = 0;
		for (int step = 0; step < 8; step++) {
			rc = cq_mqtt_read(
				s + off, avail - off, &dec, &fr, &pkt);
			if (rc == 0) {
				off += fr.size;
				continue;
			}
			if (rc == -1) {
				ck_assert_int_eq(
					fr.err, CQ_MQTT_ERR_TOPIC_NAME);
				ck_assert_uint_eq(off, 2);
				errors++;
				break;
			}
			if (avail == sizeof(s))
				break;
			avail = sizeof(s);
		}
		ck_assert_int_eq(errors, 1);
	}
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_frame");
	TCase *tc = tcase_create("frame");
	tcase_add_test(tc, varint_spec_table);
	tcase_add_test(tc, varint_five_bytes_malformed);
	tcase_add_test(tc, varint_minimal_MQTT_1_5_5_1);
	tcase_add_test(tc, fixed_header_flags_MQTT_2_2_2_1);
	tcase_add_test(tc, fixed_header_per_version);
	tcase_add_test(tc, framer_needs_more);
	tcase_add_test(tc, framer_complete);
	tcase_add_test(tc, framer_errors_early);
	tcase_add_test(tc, framer_too_large_before_body);
	tcase_add_test(tc, framer_non_minimal_length_MQTT_1_5_5_1);
	tcase_add_test(tc, decode_first_packet_must_be_connect_MQTT_3_1_0_1);
	tcase_add_test(tc, decode_server_only_packets_from_client);
	tcase_add_test(tc, split_at_every_byte_boundary);
	tcase_add_test(tc, split_error_is_deterministic);
	suite_add_tcase(s, tc);
	return s;
}
