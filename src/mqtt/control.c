/*
 * control.c — see control.h.
 */
#include "config.h"
#include "mqtt/control.h"

#include <string.h>

#include "mqtt/reason.h"
#include "mqtt/wire.h"

cq_mqtt_err_t
cq_mqtt_ping_decode(const cq_mqtt_frame_t *fr, const cq_mqtt_dec_t *dec)
{
	if (!cq_mqtt_rd_version_ok(dec))
		return CQ_MQTT_ERR_NOT_CONNECT;
	return fr->rem_len ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
}

size_t
cq_mqtt_ping_encode(unsigned type, void *out, size_t cap)
{
	if (cap < 2 || (type != CQ_MQTT_PINGREQ && type != CQ_MQTT_PINGRESP))
		return 0;
	cq_mqtt_put_fixed(out, cq_mqtt_fixed_byte(type), 0);
	return 2;
}

/*
 * The MQTT 5 body of DISCONNECT and AUTH: [reason code [properties]].
 * An absent reason code is 0 and absent properties are none
 * (§3.14.2.1, §3.14.2.2.1).
 */
static cq_mqtt_err_t
decode_reason_body(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	uint8_t *reason_r, cq_mqtt_props_t *props_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);

	if (!cq_mqtt_rd_u8(&r, reason_r))
		return CQ_MQTT_OK;
	if (!cq_mqtt_reason_valid(*reason_r, fr->type, CQ_MQTT_V5))
		return CQ_MQTT_ERR_REASON; /* [MQTT-3.14.2-1] [MQTT-3.15.2-1] */
	if (cq_mqtt_rd_left(&r) == 0)
		return CQ_MQTT_OK;
	cq_mqtt_err_t e = cq_mqtt_rd_props(&r, fr->type, props_r);
	if (e != CQ_MQTT_OK)
		return e;
	return cq_mqtt_rd_left(&r) ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
}

static uint64_t
reason_body_size(uint8_t reason, const cq_mqtt_props_t *props)
{
	if (props->len == 0)
		return reason == 0 ? 0 : 1;
	return 1 + cq_mqtt_props_wire_size(props);
}

static size_t
encode_reason_body(unsigned type, uint8_t reason, const cq_mqtt_props_t *props,
	void *out, size_t cap)
{
	uint64_t body = reason_body_size(reason, props);
	size_t size = cq_mqtt_packet_size(body);
	uint8_t *p = out;

	if (size == 0 || size > cap)
		return 0;
	p = cq_mqtt_put_fixed(p, cq_mqtt_fixed_byte(type), (uint32_t)body);
	if (body > 0)
		p = cq_mqtt_put_u8(p, reason);
	if (body > 1)
		cq_mqtt_put_props(p, props);
	return size;
}

cq_mqtt_err_t
cq_mqtt_disconnect_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_disconnect_t *d_r)
{
	memset(d_r, 0, sizeof(*d_r));
	if (!cq_mqtt_rd_version_ok(dec))
		return CQ_MQTT_ERR_NOT_CONNECT;
	if (dec->version < CQ_MQTT_V5)
		return fr->rem_len ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
	return decode_reason_body(fr, pkt, &d_r->reason, &d_r->props);
}

size_t
cq_mqtt_disconnect_size(const cq_mqtt_disconnect_t *d, uint8_t version)
{
	if (version < CQ_MQTT_V5)
		return 2;
	return cq_mqtt_packet_size(reason_body_size(d->reason, &d->props));
}

size_t
cq_mqtt_disconnect_encode(
	const cq_mqtt_disconnect_t *d, uint8_t version, void *out, size_t cap)
{
	static const cq_mqtt_props_t none = {NULL, 0, 0};

	if (version < CQ_MQTT_V5)
		return encode_reason_body(
			CQ_MQTT_DISCONNECT, 0, &none, out, cap);
	return encode_reason_body(
		CQ_MQTT_DISCONNECT, d->reason, &d->props, out, cap);
}

cq_mqtt_err_t
cq_mqtt_auth_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_auth_t *a_r)
{
	memset(a_r, 0, sizeof(*a_r));
	if (!cq_mqtt_rd_version_ok(dec))
		return CQ_MQTT_ERR_NOT_CONNECT;
	if (dec->version < CQ_MQTT_V5)
		return CQ_MQTT_ERR_TYPE;
	cq_mqtt_err_t e = decode_reason_body(
		fr, pkt, &a_r->reason, &a_r->props);
	if (e != CQ_MQTT_OK)
		return e;
	if (fr->rem_len > 0 &&
		!cq_mqtt_props_has(&a_r->props, CQ_MQTT_PROP_AUTH_METHOD))
		return CQ_MQTT_ERR_PROP_VALUE; /* §3.15.2.2.2 */
	return CQ_MQTT_OK;
}

size_t
cq_mqtt_auth_size(const cq_mqtt_auth_t *a)
{
	return cq_mqtt_packet_size(reason_body_size(a->reason, &a->props));
}

size_t
cq_mqtt_auth_encode(const cq_mqtt_auth_t *a, void *out, size_t cap)
{
	return encode_reason_body(CQ_MQTT_AUTH, a->reason, &a->props, out, cap);
}
