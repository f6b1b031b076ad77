/*
 * frame.c — see frame.h.
 */
#include "config.h"
#include "mqtt/frame.h"

#include "core/defs.h"
#include "mqtt/varint.h"

/* Flags each type must carry: 0b0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE. */
static const uint8_t fixed_flags[16] = {
	[CQ_MQTT_PUBREL] = 0x02,
	[CQ_MQTT_SUBSCRIBE] = 0x02,
	[CQ_MQTT_UNSUBSCRIBE] = 0x02,
};

uint8_t
cq_mqtt_fixed_byte(unsigned type)
{
	return (uint8_t)(type << 4 | fixed_flags[type & 0x0f]);
}

cq_mqtt_err_t
cq_mqtt_fixed_check(uint8_t byte0, uint8_t version)
{
	unsigned type = byte0 >> 4, flags = byte0 & 0x0f;

	if (type == 0)
		return CQ_MQTT_ERR_TYPE;
	if (type == CQ_MQTT_AUTH && version != 0 && version < CQ_MQTT_V5)
		return CQ_MQTT_ERR_TYPE;
	if (type == CQ_MQTT_PUBLISH) {
		if ((flags & CQ_MQTT_PUB_QOS) == CQ_MQTT_PUB_QOS)
			return CQ_MQTT_ERR_QOS; /* [MQTT-3.3.1-4] */
		if (version != CQ_MQTT_V31 && (flags & CQ_MQTT_PUB_DUP) &&
			(flags & CQ_MQTT_PUB_QOS) == 0)
			return CQ_MQTT_ERR_FLAGS; /* [MQTT-3.3.1-2] */
		return CQ_MQTT_OK;
	}
	if (version != CQ_MQTT_V31 && flags != fixed_flags[type])
		return CQ_MQTT_ERR_FLAGS;
	return CQ_MQTT_OK;
}

int
cq_mqtt_frame(const void *buf, size_t n, const cq_mqtt_dec_t *dec,
	cq_mqtt_frame_t *fr_r)
{
	const uint8_t *p = buf;
	uint32_t rem,
		max = dec->max_packet ? dec->max_packet : CQ_MQTT_MAX_PACKET;
	unsigned vlen;

	if (n == 0) {
		fr_r->need = 2;
		return CQ_AGAIN;
	}
	fr_r->err = cq_mqtt_fixed_check(p[0], dec->version);
	if (fr_r->err != CQ_MQTT_OK)
		return -1;
	int rc = cq_mqtt_varint_get(p + 1, n - 1, &rem, &vlen);
	if (rc == CQ_AGAIN) {
		fr_r->need = n + 1;
		return CQ_AGAIN;
	}
	if (rc < 0 ||
		(dec->version == CQ_MQTT_V5 &&
			!cq_mqtt_varint_minimal(p + 1, vlen))) {
		fr_r->err = CQ_MQTT_ERR_VARINT;
		return -1;
	}
	fr_r->type = p[0] >> 4;
	fr_r->flags = p[0] & 0x0f;
	fr_r->hdr_len = (uint8_t)(1 + vlen);
	fr_r->rem_len = rem;
	fr_r->size = fr_r->hdr_len + rem; /* at most 268,435,460 */
	if (fr_r->size > max) {
		fr_r->err = CQ_MQTT_ERR_TOO_LARGE;
		return -1;
	}
	if (n < fr_r->size) {
		fr_r->need = fr_r->size;
		return CQ_AGAIN;
	}
	return 0;
}
