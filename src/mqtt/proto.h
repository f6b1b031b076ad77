/*
 * proto.h — MQTT protocol constants and the types every codec module shares.
 *
 * The codec (src/mqtt/) speaks MQTT 3.1 (protocol name "MQIsdp", level 3),
 * 3.1.1 ("MQTT", level 4) and 5.0 ("MQTT", level 5).  Decoding is zero-copy:
 * decoded packets hold cq_mqtt_view_t views into the caller's input buffer,
 * so they are valid only while those bytes are (for a cq_buf_t, until the
 * next reserve/append that may compact or grow it).  Nothing in the codec
 * allocates; encoders write into caller memory after a size computation.
 *
 * Decode functions return a cq_mqtt_err_t (CQ_MQTT_OK is 0); reason.h maps
 * each error to what a broker must answer (a v5 reason code in CONNACK or
 * DISCONNECT, a v3 CONNACK return code, or just closing the connection).
 */
#ifndef CQ_MQTT_PROTO_H
#define CQ_MQTT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocol levels: the CONNECT "Protocol Level" byte. */
#define CQ_MQTT_V31  3 /* MQTT 3.1, protocol name "MQIsdp" */
#define CQ_MQTT_V311 4 /* MQTT 3.1.1, "MQTT" */
#define CQ_MQTT_V5   5 /* MQTT 5.0, "MQTT" */

/* Control packet types (MQTT 5 §2.1.2). */
enum cq_mqtt_type {
	CQ_MQTT_CONNECT = 1,
	CQ_MQTT_CONNACK = 2,
	CQ_MQTT_PUBLISH = 3,
	CQ_MQTT_PUBACK = 4,
	CQ_MQTT_PUBREC = 5,
	CQ_MQTT_PUBREL = 6,
	CQ_MQTT_PUBCOMP = 7,
	CQ_MQTT_SUBSCRIBE = 8,
	CQ_MQTT_SUBACK = 9,
	CQ_MQTT_UNSUBSCRIBE = 10,
	CQ_MQTT_UNSUBACK = 11,
	CQ_MQTT_PINGREQ = 12,
	CQ_MQTT_PINGRESP = 13,
	CQ_MQTT_DISCONNECT = 14,
	CQ_MQTT_AUTH = 15,
};
/*
 * Pseudo packet type for the Will Properties of a CONNECT: the property
 * table (§2.2.2.2) lists them as a place of their own.  Type 0 is reserved
 * on the wire, so it cannot collide with a real packet.
 */
#define CQ_MQTT_WILL 0

/* Size limits (§1.5.5, §1.5.4, §2.1.4). */
#define CQ_MQTT_MAX_REMAINING 268435455u /* largest 4-byte varint */
#define CQ_MQTT_MAX_PACKET    (CQ_MQTT_MAX_REMAINING + 5u)
#define CQ_MQTT_MAX_STRING    65535u

/* PUBLISH fixed-header flags (§3.3.1). */
#define CQ_MQTT_PUB_DUP    0x08
#define CQ_MQTT_PUB_QOS    0x06
#define CQ_MQTT_PUB_RETAIN 0x01

/* CONNECT flags (§3.1.2.3). */
#define CQ_MQTT_CF_USERNAME    0x80
#define CQ_MQTT_CF_PASSWORD    0x40
#define CQ_MQTT_CF_WILL_RETAIN 0x20
#define CQ_MQTT_CF_WILL_QOS    0x18
#define CQ_MQTT_CF_WILL        0x04
#define CQ_MQTT_CF_CLEAN       0x02
#define CQ_MQTT_CF_RESERVED    0x01

/* Subscription options byte (§3.8.3.1; v3.x use only the QoS bits). */
#define CQ_MQTT_SO_QOS             0x03
#define CQ_MQTT_SO_NO_LOCAL        0x04
#define CQ_MQTT_SO_RETAIN_AS_PUB   0x08
#define CQ_MQTT_SO_RETAIN_HANDLING 0x30
#define CQ_MQTT_SO_RESERVED_V5     0xc0
#define CQ_MQTT_SO_RESERVED_V3     0xfc

/* A view of bytes owned by someone else (input buffer, caller memory). */
typedef struct cq_mqtt_view {
	const uint8_t *ptr;
	uint32_t len;
} cq_mqtt_view_t;

static inline cq_mqtt_view_t
cq_mqtt_view(const void *p, size_t n)
{
	cq_mqtt_view_t v = {(const uint8_t *)p, (uint32_t)n};
	return v;
}

/*
 * Why a packet did not decode.  The comment after each names the v5
 * reason code reason.c maps it to (v3: close, except where noted).
 */
typedef enum cq_mqtt_err {
	CQ_MQTT_OK = 0,
	CQ_MQTT_ERR_TYPE, /* reserved packet type: 0x81 */
	CQ_MQTT_ERR_FLAGS, /* fixed-header flags: 0x81 */
	CQ_MQTT_ERR_QOS, /* PUBLISH QoS 3: 0x81 */
	CQ_MQTT_ERR_VARINT, /* bad variable byte integer: 0x81 */
	CQ_MQTT_ERR_TOO_LARGE, /* over the maximum packet size: 0x95 */
	CQ_MQTT_ERR_SHORT, /* a field runs past the end: 0x81 */
	CQ_MQTT_ERR_TRAILING, /* bytes after the last field: 0x81 */
	CQ_MQTT_ERR_UTF8, /* ill-formed UTF-8 or U+0000: 0x81 */
	CQ_MQTT_ERR_PACKET_ID, /* packet identifier 0: 0x82 */
	CQ_MQTT_ERR_NOT_CONNECT, /* first packet is not CONNECT: close */
	CQ_MQTT_ERR_DIRECTION, /* not allowed from a client: 0x82 */
	CQ_MQTT_ERR_PROTOCOL_NAME, /* not "MQTT"/"MQIsdp": close */
	CQ_MQTT_ERR_PROTOCOL_VERSION, /* unsupported level: CONNACK 0x84/0x01 */
	CQ_MQTT_ERR_CONNECT_RESERVED, /* CONNECT reserved flag set: 0x81 */
	CQ_MQTT_ERR_WILL_FLAGS, /* will QoS/retain inconsistent: 0x81 */
	CQ_MQTT_ERR_PASSWORD, /* v3 password without user name: close */
	CQ_MQTT_ERR_CLIENT_ID, /* client id refused: CONNACK 0x85/0x02 */
	CQ_MQTT_ERR_PROP_ID, /* unknown property identifier: 0x81 */
	CQ_MQTT_ERR_PROP_NOT_ALLOWED, /* property not valid in packet: 0x81 */
	CQ_MQTT_ERR_PROP_DUP, /* single property repeated: 0x82 */
	CQ_MQTT_ERR_PROP_LENGTH, /* property bytes inconsistent: 0x81 */
	CQ_MQTT_ERR_PROP_VALUE, /* property value not allowed: 0x82 */
	CQ_MQTT_ERR_TOPIC_NAME, /* invalid topic name: 0x90 */
	CQ_MQTT_ERR_TOPIC_EMPTY, /* empty topic and no alias: 0x82 */
	CQ_MQTT_ERR_TOPIC_ALIAS, /* topic alias 0: 0x94 */
	CQ_MQTT_ERR_SUB_OPTIONS, /* subscription reserved bits: 0x81 */
	CQ_MQTT_ERR_SUB_QOS, /* subscription QoS 3: 0x82 */
	CQ_MQTT_ERR_RETAIN_HANDLING, /* retain handling 3: 0x82 */
	CQ_MQTT_ERR_SHARE_NO_LOCAL, /* no local on $share: 0x82 */
	CQ_MQTT_ERR_EMPTY_LIST, /* no topic filters / codes: 0x82 */
	CQ_MQTT_ERR_REASON, /* reason code not valid here: 0x82 */
	CQ_MQTT_ERR_ACK_FLAGS, /* CONNACK flags byte invalid: 0x81 */
	CQ_MQTT_ERR_PAYLOAD_FORMAT, /* payload is not UTF-8 as declared: 0x99 */
	CQ_MQTT_ERR_COUNT_
} cq_mqtt_err_t;

/*
 * Decoding context, one per connection.  'version' is 0 until the CONNECT
 * has been decoded (then only CONNECT decodes) and the CONNECT's level
 * after that.  'max_packet' limits the whole packet (fixed header
 * included, as MQTT 5 Maximum Packet Size does); 0 means the protocol
 * maximum.  'max_topic_levels' bounds PUBLISH and will topic names; 0
 * means no limit.
 */
typedef struct cq_mqtt_dec {
	uint8_t version;
	uint8_t flags; /* CQ_MQTT_DEC_* */
	uint16_t max_topic_levels;
	uint32_t max_packet;
} cq_mqtt_dec_t;

/*
 * We are the server: apply the client-to-server rules.  Packets only a
 * server sends (CONNACK, SUBACK, UNSUBACK, PINGRESP) are a protocol error,
 * and so is a Subscription Identifier in PUBLISH [MQTT-3.3.4-6].
 */
#define CQ_MQTT_DEC_FROM_CLIENT 0x01
/*
 * Check that a payload whose Payload Format Indicator is 1 is well-formed
 * UTF-8 (PUBLISH and the will message; MQTT 5 §3.3.2.3.2 lets a receiver
 * check it and answer 0x99).  Costs one pass over the payload.
 */
#define CQ_MQTT_DEC_PAYLOAD_UTF8 0x02

#endif /* CQ_MQTT_PROTO_H */
