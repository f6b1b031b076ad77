/*
 * connect.h — CONNECT and CONNACK (§3.1, §3.2).
 *
 * The CONNECT decoder accepts "MQIsdp"/3, "MQTT"/4 and "MQTT"/5.  Another
 * known name/level pair is CQ_MQTT_ERR_PROTOCOL_VERSION with c_r->version
 * set to the level asked for, so the broker can answer CONNACK 0x01 (v3) or
 * 0x84 (v5) before closing [MQTT-3.1.2-2]; an unknown name is
 * CQ_MQTT_ERR_PROTOCOL_NAME (close).  Client identifier rules depend on
 * policy and version and are left to cq_mqtt_connect_client_id().
 */
#ifndef CQ_MQTT_CONNECT_H
#define CQ_MQTT_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/frame.h"
#include "mqtt/props.h"
#include "mqtt/proto.h"

typedef struct cq_mqtt_connect {
	uint8_t version; /* protocol level: 3, 4 or 5 */
	bool clean; /* Clean Session (3.x), Clean Start (5) */
	bool will;
	uint8_t will_qos;
	bool will_retain;
	bool has_username;
	bool has_password;
	uint16_t keep_alive;
	cq_mqtt_props_t props; /* v5 */
	cq_mqtt_view_t client_id;
	cq_mqtt_props_t will_props; /* v5, with a will */
	cq_mqtt_view_t will_topic;
	cq_mqtt_view_t will_payload;
	cq_mqtt_view_t username;
	cq_mqtt_view_t password;
} cq_mqtt_connect_t;

typedef struct cq_mqtt_connack {
	bool session_present;
	uint8_t code; /* v5 reason code, v3 return code */
	cq_mqtt_props_t props; /* v5 */
} cq_mqtt_connack_t;

/*
 * Decode the CONNECT framed at pkt.  Its own protocol level is used, not
 * dec->version; dec supplies the flags and the topic level limit for the
 * will topic.  On error *c_r holds what was decoded before it.
 */
cq_mqtt_err_t cq_mqtt_connect_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_connect_t *c_r);
/* Encoded size (for c->version), or 0 if it cannot be encoded. */
size_t cq_mqtt_connect_size(const cq_mqtt_connect_t *c);
/* Write the packet; returns its size, or 0 if cap is too small. */
size_t cq_mqtt_connect_encode(
	const cq_mqtt_connect_t *c, void *out, size_t cap);

/*
 * The client identifier rules of each version.  3.1: 1 to 23 characters.
 * 3.1.1: zero length only with Clean Session [MQTT-3.1.3-7]
 * [MQTT-3.1.3-8].  5: zero length always [MQTT-3.1.3-6].  Returns
 * CQ_MQTT_OK (with *assign_r true when the server must assign an id,
 * [MQTT-3.1.3-6] [MQTT-3.1.3-7]) or CQ_MQTT_ERR_CLIENT_ID.  Longer ids and
 * other characters than [0-9a-zA-Z] are allowed; a broker adds its own
 * limits.
 */
cq_mqtt_err_t cq_mqtt_connect_client_id(
	const cq_mqtt_connect_t *c, bool *assign_r);

cq_mqtt_err_t cq_mqtt_connack_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_connack_t *a_r);
size_t cq_mqtt_connack_size(const cq_mqtt_connack_t *a, uint8_t version);
size_t cq_mqtt_connack_encode(
	const cq_mqtt_connack_t *a, uint8_t version, void *out, size_t cap);

#endif /* CQ_MQTT_CONNECT_H */
