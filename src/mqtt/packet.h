/*
 * packet.h — any MQTT packet: the tagged union and the generic entry
 * points a connection uses (frame + decode in one call, encode by type).
 *
 * A worker's read loop:
 *
 *	cq_mqtt_frame_t fr;
 *	cq_mqtt_packet_t pkt;
 *	while ((rc = cq_mqtt_read(cq_buf_head(in), cq_buf_used(in), &dec,
 *			&fr, &pkt)) == 0) {
 *		handle(&pkt);                 (views point into 'in')
 *		cq_buf_consume(in, fr.size);
 *	}
 *	rc == CQ_AGAIN: read at least fr.need - cq_buf_used(in) more bytes;
 *	rc == -1: cq_mqtt_err_reply(fr.err, ...) says what to send, then close.
 *
 * Before the CONNACK the level to answer in is the one the CONNECT asked
 * for: pkt.u.connect.version when pkt.type is CQ_MQTT_CONNECT (the
 * decoder sets it as soon as it has read it, also on failure).
 */
#ifndef CQ_MQTT_PACKET_H
#define CQ_MQTT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mqtt/connect.h"
#include "mqtt/control.h"
#include "mqtt/frame.h"
#include "mqtt/proto.h"
#include "mqtt/publish.h"
#include "mqtt/subscribe.h"

typedef struct cq_mqtt_packet {
	uint8_t type; /* CQ_MQTT_CONNECT ... CQ_MQTT_AUTH */
	union cq_mqtt_packet_body {
		cq_mqtt_connect_t connect;
		cq_mqtt_connack_t connack;
		cq_mqtt_publish_t publish;
		cq_mqtt_ack_t ack; /* PUBACK .. PUBCOMP */
		cq_mqtt_subscribe_t subscribe; /* SUBSCRIBE, UNSUBSCRIBE */
		cq_mqtt_suback_t suback; /* SUBACK, UNSUBACK */
		cq_mqtt_disconnect_t disconnect;
		cq_mqtt_auth_t auth;
	} u; /* PINGREQ, PINGRESP: nothing */
} cq_mqtt_packet_t;

/*
 * Decode the packet cq_mqtt_frame() found at pkt.  Before the CONNECT
 * (dec->version 0) only CONNECT decodes; with CQ_MQTT_DEC_FROM_CLIENT the
 * packets only a server sends are CQ_MQTT_ERR_DIRECTION.
 */
cq_mqtt_err_t cq_mqtt_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_packet_t *pkt_r);

/*
 * Frame and decode the packet at the start of p[0..n).  0: *pkt_r holds
 * it and fr_r->size bytes were used; CQ_AGAIN: fr_r->need bytes are
 * needed at least; -1: fr_r->err says why (framing or decoding).  When
 * framing fails pkt_r->type is 0; when decoding fails it is the type and
 * *pkt_r holds the fields decoded before the error.
 */
int cq_mqtt_read(const void *p, size_t n, const cq_mqtt_dec_t *dec,
	cq_mqtt_frame_t *fr_r, cq_mqtt_packet_t *pkt_r);

/*
 * Encoded size for protocol level 'version' (a CONNECT uses its own), or
 * 0 when the packet cannot be encoded (fields over their limits, unknown
 * type, AUTH before v5).
 */
size_t cq_mqtt_size(const cq_mqtt_packet_t *pkt, uint8_t version);
/* Write it; returns the size, or 0 (cannot be encoded, cap too small). */
size_t cq_mqtt_encode(
	const cq_mqtt_packet_t *pkt, uint8_t version, void *out, size_t cap);
/* Encode and append to b: 0, or -1 (errno ENOMEM, or EINVAL as above). */
int cq_mqtt_append(const cq_mqtt_packet_t *pkt, uint8_t version, cq_buf_t *b);

/*
 * Do two decoded packets say the same thing (same fields, same bytes
 * behind every view)?  For round-trip tests and the fuzzer.
 */
bool cq_mqtt_packet_equal(const cq_mqtt_packet_t *a, const cq_mqtt_packet_t *b);

#endif /* CQ_MQTT_PACKET_H */
