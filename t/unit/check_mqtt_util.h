/*
 * check_mqtt_util.h — helpers shared by the check_mqtt_*.c suites: decode
 * a byte vector as exactly one packet, and the round trip every vector
 * goes through (decode, re-encode to the same bytes, decode to the same
 * packet).
 */
#ifndef CQ_T_CHECK_MQTT_UTIL_H
#define CQ_T_CHECK_MQTT_UTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/packet.h"
#include "mqtt/reason.h"

#define V31  CQ_MQTT_V31
#define V311 CQ_MQTT_V311
#define V5   CQ_MQTT_V5

/*
 * Decode p[0..n) as one whole packet for protocol level 'version' (a
 * CONNECT uses its own level) with CQ_MQTT_DEC_* 'flags'.
 */
static inline cq_mqtt_err_t
mqtt_decode(const void *p, size_t n, uint8_t version, unsigned flags,
	cq_mqtt_packet_t *pkt)
{
	cq_mqtt_dec_t dec = {version, (uint8_t)flags, 0, 0};
	cq_mqtt_frame_t fr;
	int rc = cq_mqtt_read(p, n, &dec, &fr, pkt);

	ck_assert_int_ne(rc, CQ_AGAIN);
	if (rc == 0)
		ck_assert_uint_eq(fr.size, n);
	return rc == 0 ? CQ_MQTT_OK : fr.err;
}

/* The error decoding p[0..n) gives (CQ_MQTT_OK if none). */
static inline cq_mqtt_err_t
mqtt_err(const void *p, size_t n, uint8_t version)
{
	cq_mqtt_packet_t pkt;
	return mqtt_decode(p, n, version, 0, &pkt);
}

/* The error decoding a copy of v[0..n) with v[at] replaced by 'byte'. */
static inline cq_mqtt_err_t
err_with(const uint8_t *v, size_t n, size_t at, uint8_t byte, uint8_t version)
{
	uint8_t buf[256];

	ck_assert_uint_le(n, sizeof(buf));
	memcpy(buf, v, n);
	buf[at] = byte;
	return mqtt_err(buf, n, version);
}

/*
 * 'wire' decodes; the packet encodes back to exactly 'wire' (not into one
 * byte less), through cq_mqtt_append too; that decodes to an equal packet.
 */
static inline void
mqtt_roundtrip(const void *wire, size_t n, uint8_t version)
{
	cq_mqtt_packet_t a, b;
	cq_buf_t buf = CQ_BUF_INIT;

	ck_assert_int_eq(mqtt_decode(wire, n, version, 0, &a), CQ_MQTT_OK);
	uint8_t v = a.type == CQ_MQTT_CONNECT ? a.u.connect.version : version;
	ck_assert_uint_eq(cq_mqtt_size(&a, v), n);
	uint8_t *out = malloc(n);
	ck_assert_uint_eq(cq_mqtt_encode(&a, v, out, n - 1), 0);
	ck_assert_uint_eq(cq_mqtt_encode(&a, v, out, n), n);
	ck_assert_mem_eq(out, wire, n);
	ck_assert_int_eq(cq_mqtt_append(&a, v, &buf), 0);
	ck_assert_uint_eq(cq_buf_used(&buf), n);
	ck_assert_mem_eq(cq_buf_head(&buf), wire, n);
	ck_assert_int_eq(mqtt_decode(out, n, version, 0, &b), CQ_MQTT_OK);
	ck_assert(cq_mqtt_packet_equal(&a, &b));
	cq_buf_free(&buf);
	free(out);
}

/* pkt encodes to exactly expect[0..n) for 'version', and round-trips. */
static inline void
mqtt_encodes_to(const cq_mqtt_packet_t *pkt, uint8_t version,
	const void *expect, size_t n)
{
	uint8_t out[512];

	ck_assert_uint_le(n, sizeof(out));
	ck_assert_uint_eq(cq_mqtt_size(pkt, version), n);
	ck_assert_uint_eq(cq_mqtt_encode(pkt, version, out, sizeof(out)), n);
	ck_assert_mem_eq(out, expect, n);
	mqtt_roundtrip(expect, n, version);
}

#define ROUNDTRIP(arr, version) mqtt_roundtrip(arr, sizeof(arr), version)
#define ERR(arr, version)       mqtt_err(arr, sizeof(arr), version)

#endif /* CQ_T_CHECK_MQTT_UTIL_H */
