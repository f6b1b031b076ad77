/*
 * publish.h — PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL and
 * PUBCOMP (§3.3 to §3.7).
 *
 * Delivery serialises a PUBLISH once per wire layout and copies the bytes
 * for every subscriber that shares it, so the encoder can produce the
 * header (fixed header, topic, packet id, properties) apart from the
 * payload: the broker writes the header and then copies or writev()s the
 * payload, and patches the packet identifier per subscriber at the offset
 * the encoder reports.
 */
#ifndef CQ_MQTT_PUBLISH_H
#define CQ_MQTT_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/frame.h"
#include "mqtt/props.h"
#include "mqtt/proto.h"

typedef struct cq_mqtt_publish {
	bool dup;
	uint8_t qos;
	bool retain;
	uint16_t packet_id; /* QoS 1 and 2 only */
	cq_mqtt_view_t topic; /* empty in v5 when a Topic Alias stands for it */
	cq_mqtt_props_t props; /* v5 */
	cq_mqtt_view_t payload;
} cq_mqtt_publish_t;

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
typedef struct cq_mqtt_ack {
	uint8_t type;
	uint16_t packet_id;
	uint8_t reason; /* v5; 0 in v3 */
	cq_mqtt_props_t props; /* v5 */
} cq_mqtt_ack_t;

/*
 * Decode a PUBLISH: topic name (UTF-8, no wildcard [MQTT-3.3.2-2], at
 * most dec->max_topic_levels levels), a non-zero packet id for QoS > 0,
 * properties (v5), payload.  In v5 an empty topic needs a Topic Alias
 * (§3.3.2.3.4); whether the alias is known is the broker's business.
 */
cq_mqtt_err_t cq_mqtt_publish_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_publish_t *pub_r);
size_t cq_mqtt_publish_size(const cq_mqtt_publish_t *pub, uint8_t version);
size_t cq_mqtt_publish_encode(
	const cq_mqtt_publish_t *pub, uint8_t version, void *out, size_t cap);
/*
 * The bytes before the payload (the Remaining Length counts the payload),
 * and writing them.  *pid_off_r is where the packet identifier sits in
 * the header (0 for QoS 0).  Return 0 when the packet cannot be encoded
 * or (encode) cap is too small.
 */
size_t cq_mqtt_publish_header_size(
	const cq_mqtt_publish_t *pub, uint8_t version);
size_t cq_mqtt_publish_header_encode(const cq_mqtt_publish_t *pub,
	uint8_t version, void *out, size_t cap, size_t *pid_off_r);

static inline void
cq_mqtt_publish_set_packet_id(void *hdr, size_t pid_off, uint16_t id)
{
	uint8_t *p = (uint8_t *)hdr + pid_off;
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
}

/*
 * An ack: packet id (non-zero), and in v5 a reason code valid for the
 * type ([MQTT-3.4.2-1], -3.5.2-1, -3.6.2-1, -3.7.2-1) and properties; both
 * may be left out (§3.4.2.1).
 */
cq_mqtt_err_t cq_mqtt_ack_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_ack_t *ack_r);
/* Uses the short forms: 2 bytes when reason 0 and no properties. */
size_t cq_mqtt_ack_size(const cq_mqtt_ack_t *ack, uint8_t version);
size_t cq_mqtt_ack_encode(
	const cq_mqtt_ack_t *ack, uint8_t version, void *out, size_t cap);

#endif /* CQ_MQTT_PUBLISH_H */
