/*
 * subscribe.h — SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (§3.8 to
 * §3.11).
 *
 * The decoder checks every entry once (UTF-8 filter, options byte) and
 * keeps the list as a view; iterators walk it again without checking.
 * Topic filter syntax is not a decode error: the broker checks each filter
 * with cq_topic_filter_check() and refuses just that one in its SUBACK
 * (v5 0x8F, v3 0x80) or UNSUBACK (v5 0x8F), keeping the others.
 */
#ifndef CQ_MQTT_SUBSCRIBE_H
#define CQ_MQTT_SUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/frame.h"
#include "mqtt/props.h"
#include "mqtt/proto.h"

/* SUBSCRIBE and UNSUBSCRIBE. */
typedef struct cq_mqtt_subscribe {
	uint16_t packet_id;
	cq_mqtt_props_t props; /* v5 */
	cq_mqtt_view_t list; /* the payload: the entries as sent */
	uint32_t count; /* entries in the list, at least 1 */
} cq_mqtt_subscribe_t;

/* One SUBSCRIBE entry. */
typedef struct cq_mqtt_sub {
	cq_mqtt_view_t filter;
	uint8_t options; /* the options byte as sent */
	uint8_t qos;
	bool no_local;
	bool retain_as_published;
	uint8_t retain_handling;
} cq_mqtt_sub_t;

typedef struct cq_mqtt_sub_iter {
	const uint8_t *p;
	const uint8_t *end;
} cq_mqtt_sub_iter_t;

/* SUBACK and UNSUBACK. */
typedef struct cq_mqtt_suback {
	uint16_t packet_id;
	cq_mqtt_props_t props; /* v5 */
	cq_mqtt_view_t codes; /* one per filter; none in a v3 UNSUBACK */
} cq_mqtt_suback_t;

/*
 * SUBSCRIBE: packet id, properties (v5), entries.  Errors for the entries:
 * no entry ([MQTT-3.8.3-3] in 3.1.1, [MQTT-3.8.3-2] in 5.0), reserved
 * option bits ([MQTT-3-8.3-4] in 3.1.1, [MQTT-3.8.3-5] in 5.0), QoS 3,
 * Retain Handling 3 and No Local on a shared subscription ([MQTT-3.8.3-4]
 * in 5.0).
 */
cq_mqtt_err_t cq_mqtt_subscribe_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_subscribe_t *s_r);
void cq_mqtt_subscribe_iter(
	const cq_mqtt_subscribe_t *s, cq_mqtt_sub_iter_t *it);
bool cq_mqtt_subscribe_next(cq_mqtt_sub_iter_t *it, cq_mqtt_sub_t *sub_r);
size_t cq_mqtt_subscribe_size(const cq_mqtt_subscribe_t *s, uint8_t version);
size_t cq_mqtt_subscribe_encode(
	const cq_mqtt_subscribe_t *s, uint8_t version, void *out, size_t cap);
/*
 * Write one entry (filter, options from the fields) for building a
 * SUBSCRIBE's list; returns its size, 0 if cap is too small.
 */
size_t cq_mqtt_sub_entry_encode(
	const cq_mqtt_sub_t *sub, uint8_t version, void *out, size_t cap);

/* UNSUBSCRIBE: packet id, properties (v5), at least one filter
 * [MQTT-3.10.3-2]. */
cq_mqtt_err_t cq_mqtt_unsubscribe_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_subscribe_t *s_r);
void cq_mqtt_unsubscribe_iter(
	const cq_mqtt_subscribe_t *s, cq_mqtt_sub_iter_t *it);
bool cq_mqtt_unsubscribe_next(cq_mqtt_sub_iter_t *it, cq_mqtt_view_t *filter_r);
size_t cq_mqtt_unsubscribe_size(const cq_mqtt_subscribe_t *s, uint8_t version);
size_t cq_mqtt_unsubscribe_encode(
	const cq_mqtt_subscribe_t *s, uint8_t version, void *out, size_t cap);

/* SUBACK: codes valid for the version ([MQTT-3.9.3-2]), at least one. */
cq_mqtt_err_t cq_mqtt_suback_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_suback_t *a_r);
size_t cq_mqtt_suback_size(const cq_mqtt_suback_t *a, uint8_t version);
size_t cq_mqtt_suback_encode(
	const cq_mqtt_suback_t *a, uint8_t version, void *out, size_t cap);

/* UNSUBACK: v3 has only the packet id; v5 one reason code per filter. */
cq_mqtt_err_t cq_mqtt_unsuback_decode(const cq_mqtt_frame_t *fr,
	const uint8_t *pkt, const cq_mqtt_dec_t *dec, cq_mqtt_suback_t *a_r);
size_t cq_mqtt_unsuback_size(const cq_mqtt_suback_t *a, uint8_t version);
size_t cq_mqtt_unsuback_encode(
	const cq_mqtt_suback_t *a, uint8_t version, void *out, size_t cap);

#endif /* CQ_MQTT_SUBSCRIBE_H */
