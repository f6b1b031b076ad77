/*
 * frame.h — the incremental framer and the fixed-header rules.
 *
 * A connection accumulates bytes in its input buffer and asks the framer,
 * after every read, whether a whole packet is there.  The framer looks at
 * no more than the five fixed-header bytes, so it costs the same whether
 * the buffer holds one byte or a megabyte, and it refuses an oversized
 * packet as soon as its Remaining Length is complete: the body is never
 * buffered (MQTT 5 §3.2.2.3.6: the server answers 0x95 Packet too large).
 *
 * The first byte is checked as soon as it arrives: reserved type 0, AUTH
 * before MQTT 5, and the flag bits each type must carry ([MQTT-2.2.2-1],
 * [MQTT-2.2.2-2] in 3.1.1; §2.1.3 in 5.0), including PUBLISH QoS 3
 * [MQTT-3.3.1-4] and DUP on QoS 0 [MQTT-3.3.1-2].  MQTT 3.1 let DUP and
 * QoS bits appear on any packet (a retransmitted PUBREL carried DUP), so
 * for level 3 only PUBLISH is checked.
 */
#ifndef CQ_MQTT_FRAME_H
#define CQ_MQTT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/defs.h"
#include "mqtt/proto.h"

typedef struct cq_mqtt_frame {
	uint8_t type; /* packet type, 1..15 */
	uint8_t flags; /* low nibble of the first byte */
	uint8_t hdr_len; /* fixed header: 2..5 bytes */
	uint32_t rem_len; /* Remaining Length */
	uint32_t size; /* whole packet: hdr_len + rem_len (on 0) */
	size_t need; /* on CQ_AGAIN: bytes the buffer must hold, at least */
	cq_mqtt_err_t err; /* on -1 */
} cq_mqtt_frame_t;

/*
 * Look for a packet at the start of p[0..n).  Returns 0 when the whole
 * packet is there (fr_r filled; its bytes are p[0..fr_r->size)), CQ_AGAIN
 * when more bytes are needed (fr_r->need is a lower bound on the total,
 * exact once the Remaining Length is complete), or -1 with fr_r->err set:
 * CQ_MQTT_ERR_TYPE, _FLAGS, _QOS, _VARINT (a fifth length byte, or a
 * non-minimal length under MQTT 5 [MQTT-1.5.5-1]) or _TOO_LARGE.
 */
int cq_mqtt_frame(const void *p, size_t n, const cq_mqtt_dec_t *dec,
	cq_mqtt_frame_t *fr_r);

/*
 * The first byte of a packet for protocol level 'version' (0: not known
 * yet, checked as 3.1.1/5 without AUTH restriction).  CQ_MQTT_OK or the
 * error cq_mqtt_frame() reports.
 */
cq_mqtt_err_t cq_mqtt_fixed_check(uint8_t byte0, uint8_t version);

/* The first byte each type carries when sent (PUBLISH: its flags vary). */
uint8_t cq_mqtt_fixed_byte(unsigned type);

#endif /* CQ_MQTT_FRAME_H */
