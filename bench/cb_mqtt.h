/*
 * cb_mqtt.h — the load generator's own, lean MQTT client encoding.
 *
 * comqtt-bench must not share the broker's codec (a bug there would hide
 * itself), and it must cost little CPU: packets that repeat are built once
 * (a PUBLISH template whose sequence number, time stamp and packet id are
 * patched in place), and only what a client needs is parsed: CONNACK,
 * SUBACK, PUBLISH, PUBACK/PUBREC/PUBREL/PUBCOMP, PINGRESP and DISCONNECT.
 * Supported protocol levels: 3 (MQTT 3.1), 4 (3.1.1) and 5.
 *
 * Every payload starts with a 24-byte header (little-endian):
 *   0  u32 run tag    (drops messages from other runs)
 *   4  u32 stream id  (the publisher)
 *   8  u32 sequence number within the stream
 *  12  u32 reserved   (0)
 *  16  u64 time stamp (CLOCK_MONOTONIC ns: when the message was due)
 */
#ifndef CB_MQTT_H
#define CB_MQTT_H

#include <stddef.h>
#include <stdint.h>

#define CB_MQTT_CONNECT    1
#define CB_MQTT_CONNACK    2
#define CB_MQTT_PUBLISH    3
#define CB_MQTT_PUBACK     4
#define CB_MQTT_PUBREC     5
#define CB_MQTT_PUBREL     6
#define CB_MQTT_PUBCOMP    7
#define CB_MQTT_SUBSCRIBE  8
#define CB_MQTT_SUBACK     9
#define CB_MQTT_PINGREQ    12
#define CB_MQTT_PINGRESP   13
#define CB_MQTT_DISCONNECT 14
#define CB_MQTT_AUTH       15

#define CB_PAYLOAD_HDR     24
#define CB_PAYLOAD_TAG     0
#define CB_PAYLOAD_STREAM  4
#define CB_PAYLOAD_SEQ     8
#define CB_PAYLOAD_STAMP   16

/* The largest packet comqtt-bench accepts from a broker (and announces as
 * Maximum Packet Size on MQTT 5). */
#define CB_MQTT_MAX_PACKET (2u * 1024 * 1024)

typedef struct cb_pkt {
	uint8_t type;
	uint8_t flags;
	const uint8_t *body;
	uint32_t body_len;
	uint32_t total_len; /* fixed header included */
} cb_pkt_t;

typedef struct cb_connect_args {
	int version; /* 3, 4 or 5 */
	const char *client_id;
	uint16_t keepalive;
	int clean;
	const char *username; /* NULL: none */
	const char *password; /* NULL: none */
} cb_connect_args_t;

typedef struct cb_connack {
	uint8_t reason; /* 3.x return code or 5 reason code */
	uint16_t receive_max; /* 65535 when absent */
	uint32_t max_packet; /* 0 when absent */
	uint8_t max_qos; /* 2 when absent */
	uint8_t retain_available;
} cb_connack_t;

typedef struct cb_publish {
	uint8_t qos;
	uint8_t retain;
	uint8_t dup;
	uint16_t pid;
	const uint8_t *topic;
	uint16_t topic_len;
	const uint8_t *payload;
	uint32_t payload_len;
} cb_publish_t;

/* Template of a PUBLISH: patch offsets inside 'len' bytes (pid_off 0 at
 * QoS 0). */
typedef struct cb_publish_tmpl {
	uint8_t *bytes;
	uint32_t len;
	uint32_t pid_off;
	uint32_t payload_off;
} cb_publish_tmpl_t;

/* Encode v as a variable byte integer; the number of bytes (1..4). */
size_t cb_mqtt_varint_put(uint8_t *p, uint32_t v);

/*
 * Frame one packet at p[0..n).  0 with *pkt_r filled, CQ_AGAIN when more
 * bytes are needed, -1 when the fixed header is malformed or the packet is
 * larger than CB_MQTT_MAX_PACKET.
 */
int cb_mqtt_frame(const uint8_t *p, size_t n, cb_pkt_t *pkt_r);

/* Builders write into buf (at least cb_mqtt_*_size bytes) and return the
 * packet's length. */
size_t cb_mqtt_connect_size(const cb_connect_args_t *a);
size_t cb_mqtt_connect(uint8_t *buf, const cb_connect_args_t *a);
size_t cb_mqtt_subscribe_size(const char *filter);
size_t cb_mqtt_subscribe(
	uint8_t *buf, int version, uint16_t pid, const char *filter, int qos);
/* PUBACK, PUBREC, PUBREL or PUBCOMP: 4 bytes. */
size_t cb_mqtt_ack(uint8_t *buf, int type, uint16_t pid);
/* PINGREQ (2 bytes) and DISCONNECT (2 bytes; MQTT 5 reason 0 omitted). */
size_t cb_mqtt_pingreq(uint8_t *buf);
size_t cb_mqtt_disconnect(uint8_t *buf);

/*
 * Build a PUBLISH with the given topic and a payload of payload_len bytes
 * (>= CB_PAYLOAD_HDR when it carries the header; the rest is filled with a
 * fixed pattern).  0, or -1 (ENOMEM, or a topic longer than 65535).
 */
int cb_mqtt_publish_tmpl(cb_publish_tmpl_t *t, int version, const char *topic,
	int qos, int retain, uint32_t payload_len);
void cb_mqtt_publish_tmpl_free(cb_publish_tmpl_t *t);

/* Parsers return 0, or -1 for a malformed packet. */
int cb_mqtt_parse_connack(int version, const cb_pkt_t *p, cb_connack_t *r);
/* The first return code (SUBACK of one filter); >= 0x80 is a failure. */
int cb_mqtt_parse_suback(
	int version, const cb_pkt_t *p, uint16_t *pid_r, uint8_t *code_r);
int cb_mqtt_parse_publish(int version, const cb_pkt_t *p, cb_publish_t *r);
/* PUBACK/PUBREC/PUBREL/PUBCOMP: packet id and reason (0 when absent). */
int cb_mqtt_parse_ack(const cb_pkt_t *p, uint16_t *pid_r, uint8_t *reason_r);
/* DISCONNECT from the server: reason (0 when absent). */
int cb_mqtt_parse_disconnect(const cb_pkt_t *p, uint8_t *reason_r);

/* Little-endian helpers for the payload header. */
static inline void
cb_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t
cb_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

static inline void
cb_put_u64(uint8_t *p, uint64_t v)
{
	cb_put_u32(p, (uint32_t)v);
	cb_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t
cb_get_u64(const uint8_t *p)
{
	return (uint64_t)cb_get_u32(p) | (uint64_t)cb_get_u32(p + 4) << 32;
}

#endif /* CB_MQTT_H */
