/*
 * control.h — PINGREQ, PINGRESP, DISCONNECT and AUTH (§3.12 to §3.15).
 *
 * DISCONNECT and AUTH carry a reason code and properties in MQTT 5, both
 * of which may be left out when the code is 0 and there are no properties
 * (§3.14.2.1, §3.15.2.1); the encoders use the shortest form.  AUTH exists
 * only in MQTT 5, and any AUTH but the empty one must name its
 * Authentication Method (§3.15.2.2.2).
 */
#ifndef CQ_MQTT_CONTROL_H
#define CQ_MQTT_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "mqtt/frame.h"
#include "mqtt/props.h"
#include "mqtt/proto.h"

typedef struct cq_mqtt_disconnect {
	uint8_t reason; /* v5 */
	cq_mqtt_props_t props;
} cq_mqtt_disconnect_t;

typedef struct cq_mqtt_auth {
	uint8_t reason;
	cq_mqtt_props_t props;
} cq_mqtt_auth_t;

/* PINGREQ or PINGRESP: nothing after the fixed header. */
cq_mqtt_err_t cq_mqtt_ping_decode(
	const cq_mqtt_frame_t *fr, const cq_mqtt_dec_t *dec);
/* Write PINGREQ or PINGRESP ('type'): 2, or 0 if cap < 2. */
size_t cq_mqtt_ping_encode(unsigned type, void *out, size_t cap);

cq_mqtt_err_t cq_mqtt_disconnect_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec,
	cq_mqtt_disconnect_t *d_r);
size_t cq_mqtt_disconnect_size(const cq_mqtt_disconnect_t *d, uint8_t version);
size_t cq_mqtt_disconnect_encode(
	const cq_mqtt_disconnect_t *d, uint8_t version, void *out, size_t cap);

cq_mqtt_err_t cq_mqtt_auth_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_auth_t *a_r);
size_t cq_mqtt_auth_size(const cq_mqtt_auth_t *a);
size_t cq_mqtt_auth_encode(const cq_mqtt_auth_t *a, void *out, size_t cap);

#endif /* CQ_MQTT_CONTROL_H */
