/*
 * publish.c — see publish.h.
 */
#include "config.h"
#include "mqtt/publish.h"

#include <string.h>

#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "mqtt/wire.h"

static cq_mqtt_err_t
check_topic(const cq_mqtt_publish_t *pub, const cq_mqtt_dec_t *dec)
{
	if (pub->topic.len == 0 && dec->version == CQ_MQTT_V5)
		return cq_mqtt_props_has(&pub->props, CQ_MQTT_PROP_TOPIC_ALIAS)
			? CQ_MQTT_OK
			: CQ_MQTT_ERR_TOPIC_EMPTY;
	if (cq_topic_name_check(pub->topic.ptr, pub->topic.len,
		    dec->max_topic_levels) != CQ_TOPIC_OK)
		return CQ_MQTT_ERR_TOPIC_NAME; /* [MQTT-3.3.2-2] */
	return CQ_MQTT_OK;
}

/* The checks CQ_MQTT_DEC_FROM_CLIENT and _PAYLOAD_UTF8 ask for. */
static cq_mqtt_err_t
check_optional(const cq_mqtt_publish_t *pub, const cq_mqtt_dec_t *dec)
{
	uint32_t format;

	if ((dec->flags & CQ_MQTT_DEC_FROM_CLIENT) &&
		cq_mqtt_props_has(&pub->props, CQ_MQTT_PROP_SUBSCRIPTION_ID))
		return CQ_MQTT_ERR_DIRECTION; /* [MQTT-3.3.4-6] */
	if ((dec->flags & CQ_MQTT_DEC_PAYLOAD_UTF8) &&
		cq_mqtt_props_payload_format(&pub->props, &format) == 0 &&
		format == 1 &&
		!cq_utf8_valid(pub->payload.ptr, pub->payload.len))
		return CQ_MQTT_ERR_PAYLOAD_FORMAT;
	return CQ_MQTT_OK;
}

cq_mqtt_err_t
cq_mqtt_publish_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_publish_t *pub_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);
	cq_mqtt_err_t e;

	memset(pub_r, 0, sizeof(*pub_r));
	if (!cq_mqtt_rd_version_ok(dec))
		return CQ_MQTT_ERR_NOT_CONNECT;
	pub_r->dup = (fr->flags & CQ_MQTT_PUB_DUP) != 0;
	pub_r->qos = (fr->flags & CQ_MQTT_PUB_QOS) >> 1;
	pub_r->retain = (fr->flags & CQ_MQTT_PUB_RETAIN) != 0;
	if ((e = cq_mqtt_rd_str(&r, &pub_r->topic)) != CQ_MQTT_OK)
		return e; /* [MQTT-3.3.2-1] */
	if (pub_r->qos > 0 &&
		(e = cq_mqtt_rd_packet_id(&r, &pub_r->packet_id)) != CQ_MQTT_OK)
		return e;
	if (dec->version == CQ_MQTT_V5 &&
		(e = cq_mqtt_rd_props(&r, CQ_MQTT_PUBLISH, &pub_r->props)) !=
			CQ_MQTT_OK)
		return e;
	if ((e = check_topic(pub_r, dec)) != CQ_MQTT_OK)
		return e;
	pub_r->payload = cq_mqtt_view(r.p, cq_mqtt_rd_left(&r));
	return check_optional(pub_r, dec);
}

/* Bytes between the fixed header and the payload; 0 if not encodable. */
static uint64_t
publish_var_size(const cq_mqtt_publish_t *pub, uint8_t version)
{
	if (pub->qos > 2)
		return 0;
	return cq_mqtt_bin_wire_size(pub->topic) + (pub->qos ? 2 : 0) +
		(version == CQ_MQTT_V5 ? cq_mqtt_props_wire_size(&pub->props)
				       : 0);
}

size_t
cq_mqtt_publish_size(const cq_mqtt_publish_t *pub, uint8_t version)
{
	uint64_t var = publish_var_size(pub, version);
	return var ? cq_mqtt_packet_size(var + pub->payload.len) : 0;
}

size_t
cq_mqtt_publish_header_size(const cq_mqtt_publish_t *pub, uint8_t version)
{
	size_t size = cq_mqtt_publish_size(pub, version);
	return size ? size - pub->payload.len : 0;
}

size_t
cq_mqtt_publish_header_encode(const cq_mqtt_publish_t *pub, uint8_t version,
	void *out, size_t cap, size_t *pid_off_r)
{
	size_t size = cq_mqtt_publish_header_size(pub, version);
	uint8_t *start = out, *p = out;

	if (size == 0 || size > cap)
		return 0;
	uint8_t byte0 = (uint8_t)(CQ_MQTT_PUBLISH << 4 | pub->qos << 1 |
		(pub->dup ? CQ_MQTT_PUB_DUP : 0) |
		(pub->retain ? CQ_MQTT_PUB_RETAIN : 0));
	p = cq_mqtt_put_fixed(p, byte0,
		(uint32_t)(publish_var_size(pub, version) + pub->payload.len));
	p = cq_mqtt_put_bin(p, pub->topic);
	*pid_off_r = 0;
	if (pub->qos > 0) {
		*pid_off_r = (size_t)(p - start);
		p = cq_mqtt_put_u16(p, pub->packet_id);
	}
	if (version == CQ_MQTT_V5)
		cq_mqtt_put_props(p, &pub->props);
	return size;
}

size_t
cq_mqtt_publish_encode(
	const cq_mqtt_publish_t *pub, uint8_t version, void *out, size_t cap)
{
	size_t size = cq_mqtt_publish_size(pub, version), pid_off;

	if (size == 0 || size > cap)
		return 0;
	size_t hdr = cq_mqtt_publish_header_encode(
		pub, version, out, cap, &pid_off);
	cq_mqtt_put_bytes(
		(uint8_t *)out + hdr, pub->payload.ptr, pub->payload.len);
	return size;
}

cq_mqtt_err_t
cq_mqtt_ack_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_ack_t *ack_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);
	cq_mqtt_err_t e;

	memset(ack_r, 0, sizeof(*ack_r));
	if (!cq_mqtt_rd_version_ok(dec))
		return CQ_MQTT_ERR_NOT_CONNECT;
	ack_r->type = fr->type;
	if ((e = cq_mqtt_rd_packet_id(&r, &ack_r->packet_id)) != CQ_MQTT_OK)
		return e;
	if (dec->version == CQ_MQTT_V5 && cq_mqtt_rd_left(&r) > 0) {
		cq_mqtt_rd_u8(&r, &ack_r->reason);
		if (!cq_mqtt_reason_valid(ack_r->reason, fr->type, CQ_MQTT_V5))
			return CQ_MQTT_ERR_REASON;
		/* "less than 4": no Property Length, 0 is used (§3.4.2.2.1) */
		if (cq_mqtt_rd_left(&r) > 0 &&
			(e = cq_mqtt_rd_props(&r, fr->type, &ack_r->props)) !=
				CQ_MQTT_OK)
			return e;
	}
	return cq_mqtt_rd_left(&r) ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
}

static uint64_t
ack_body_size(const cq_mqtt_ack_t *ack, uint8_t version)
{
	if (version != CQ_MQTT_V5 || (ack->reason == 0 && ack->props.len == 0))
		return 2;
	if (ack->props.len == 0)
		return 3;
	return 3 + cq_mqtt_props_wire_size(&ack->props);
}

size_t
cq_mqtt_ack_size(const cq_mqtt_ack_t *ack, uint8_t version)
{
	if (ack->type < CQ_MQTT_PUBACK || ack->type > CQ_MQTT_PUBCOMP)
		return 0;
	return cq_mqtt_packet_size(ack_body_size(ack, version));
}

size_t
cq_mqtt_ack_encode(
	const cq_mqtt_ack_t *ack, uint8_t version, void *out, size_t cap)
{
	size_t size = cq_mqtt_ack_size(ack, version);
	uint64_t body = ack_body_size(ack, version);
	uint8_t *p = out;

	if (size == 0 || size > cap)
		return 0;
	p = cq_mqtt_put_fixed(p, cq_mqtt_fixed_byte(ack->type), (uint32_t)body);
	p = cq_mqtt_put_u16(p, ack->packet_id);
	if (body > 2)
		p = cq_mqtt_put_u8(p, ack->reason);
	if (body > 3)
		cq_mqtt_put_props(p, &ack->props);
	return size;
}
