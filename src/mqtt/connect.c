/*
 * connect.c — see connect.h.  Field order (§3.1.2, §3.1.3): protocol name,
 * level, flags, keep alive, [properties], client id, [will properties,
 * will topic, will payload], [user name], [password].
 */
#include "config.h"
#include "mqtt/connect.h"

#include <string.h>

#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "mqtt/wire.h"

static const cq_mqtt_view_t name_mqisdp = {(const uint8_t *)"MQIsdp", 6};
static const cq_mqtt_view_t name_mqtt = {(const uint8_t *)"MQTT", 4};

static bool
view_eq(cq_mqtt_view_t a, cq_mqtt_view_t b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

static cq_mqtt_err_t
read_protocol(cq_mqtt_rd_t *r, cq_mqtt_connect_t *c)
{
	cq_mqtt_view_t name;

	if (!cq_mqtt_rd_bin(r, &name) || !cq_mqtt_rd_u8(r, &c->version))
		return CQ_MQTT_ERR_SHORT;
	if (view_eq(name, name_mqisdp))
		return c->version == CQ_MQTT_V31 ? CQ_MQTT_OK
						 : CQ_MQTT_ERR_PROTOCOL_VERSION;
	if (!view_eq(name, name_mqtt))
		return CQ_MQTT_ERR_PROTOCOL_NAME; /* [MQTT-3.1.2-1] */
	if (c->version == CQ_MQTT_V311 || c->version == CQ_MQTT_V5)
		return CQ_MQTT_OK;
	return CQ_MQTT_ERR_PROTOCOL_VERSION; /* [MQTT-3.1.2-2] */
}

static cq_mqtt_err_t
read_flags(uint8_t f, cq_mqtt_connect_t *c)
{
	if (f & CQ_MQTT_CF_RESERVED)
		return CQ_MQTT_ERR_CONNECT_RESERVED; /* [MQTT-3.1.2-3] */
	c->clean = (f & CQ_MQTT_CF_CLEAN) != 0;
	c->will = (f & CQ_MQTT_CF_WILL) != 0;
	c->will_qos = (f & CQ_MQTT_CF_WILL_QOS) >> 3;
	c->will_retain = (f & CQ_MQTT_CF_WILL_RETAIN) != 0;
	c->has_username = (f & CQ_MQTT_CF_USERNAME) != 0;
	c->has_password = (f & CQ_MQTT_CF_PASSWORD) != 0;
	/* 5.0: [MQTT-3.1.2-11] [MQTT-3.1.2-13]; 3.1.1: -11 and -15. */
	if (!c->will && (c->will_qos || c->will_retain))
		return CQ_MQTT_ERR_WILL_FLAGS;
	if (c->will_qos == 3)
		return CQ_MQTT_ERR_WILL_FLAGS; /* 5.0 §3.1.2.6; 3.1.1 -14 */
	/* [MQTT-3.1.2-22]; MQTT 5 lets a password come alone (§3.1.2.9). */
	if (c->version < CQ_MQTT_V5 && c->has_password && !c->has_username)
		return CQ_MQTT_ERR_PASSWORD;
	return CQ_MQTT_OK;
}

static cq_mqtt_err_t
read_will(cq_mqtt_rd_t *r, const cq_mqtt_dec_t *dec, cq_mqtt_connect_t *c)
{
	cq_mqtt_err_t e;

	if (c->version == CQ_MQTT_V5) {
		e = cq_mqtt_rd_props(r, CQ_MQTT_WILL, &c->will_props);
		if (e != CQ_MQTT_OK)
			return e;
	}
	e = cq_mqtt_rd_str(r, &c->will_topic); /* [MQTT-3.1.3-11] */
	if (e != CQ_MQTT_OK)
		return e;
	if (cq_topic_name_check(c->will_topic.ptr, c->will_topic.len,
		    dec->max_topic_levels) != CQ_TOPIC_OK)
		return CQ_MQTT_ERR_TOPIC_NAME;
	if (!cq_mqtt_rd_bin(r, &c->will_payload))
		return CQ_MQTT_ERR_SHORT;
	uint32_t format;
	if ((dec->flags & CQ_MQTT_DEC_PAYLOAD_UTF8) &&
		cq_mqtt_props_payload_format(&c->will_props, &format) == 0 &&
		format == 1 &&
		!cq_utf8_valid(c->will_payload.ptr, c->will_payload.len))
		return CQ_MQTT_ERR_PAYLOAD_FORMAT;
	return CQ_MQTT_OK;
}

static cq_mqtt_err_t
read_payload(cq_mqtt_rd_t *r, const cq_mqtt_dec_t *dec, cq_mqtt_connect_t *c)
{
	cq_mqtt_err_t e = cq_mqtt_rd_str(r, &c->client_id); /* [MQTT-3.1.3-4] */
	if (e != CQ_MQTT_OK)
		return e;
	if (c->will && (e = read_will(r, dec, c)) != CQ_MQTT_OK)
		return e;
	if (c->has_username &&
		(e = cq_mqtt_rd_str(r, &c->username)) != CQ_MQTT_OK)
		return e;
	if (c->has_password && !cq_mqtt_rd_bin(r, &c->password))
		return CQ_MQTT_ERR_SHORT;
	return cq_mqtt_rd_left(r) ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
}

cq_mqtt_err_t
cq_mqtt_connect_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_connect_t *c_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);
	uint8_t flags;
	cq_mqtt_err_t e;

	memset(c_r, 0, sizeof(*c_r));
	if ((e = read_protocol(&r, c_r)) != CQ_MQTT_OK)
		return e;
	if (!cq_mqtt_rd_u8(&r, &flags) || !cq_mqtt_rd_u16(&r, &c_r->keep_alive))
		return CQ_MQTT_ERR_SHORT;
	if ((e = read_flags(flags, c_r)) != CQ_MQTT_OK)
		return e;
	if (c_r->version == CQ_MQTT_V5) {
		e = cq_mqtt_rd_props(&r, CQ_MQTT_CONNECT, &c_r->props);
		if (e != CQ_MQTT_OK)
			return e;
	}
	return read_payload(&r, dec, c_r);
}

cq_mqtt_err_t
cq_mqtt_connect_client_id(const cq_mqtt_connect_t *c, bool *assign_r)
{
	*assign_r = false;
	if (c->version == CQ_MQTT_V31) {
		size_t n = cq_utf8_count(c->client_id.ptr, c->client_id.len);
		return n >= 1 && n <= 23 ? CQ_MQTT_OK : CQ_MQTT_ERR_CLIENT_ID;
	}
	if (c->client_id.len > 0)
		return CQ_MQTT_OK;
	if (c->version == CQ_MQTT_V311 && !c->clean)
		return CQ_MQTT_ERR_CLIENT_ID; /* [MQTT-3.1.3-8] */
	*assign_r = true;
	return CQ_MQTT_OK;
}

static uint64_t
connect_body_size(const cq_mqtt_connect_t *c)
{
	bool v5 = c->version == CQ_MQTT_V5;
	uint64_t n = cq_mqtt_bin_wire_size(c->version == CQ_MQTT_V31
				     ? name_mqisdp
				     : name_mqtt) +
		4 + cq_mqtt_bin_wire_size(c->client_id);

	if (v5)
		n += cq_mqtt_props_wire_size(&c->props);
	if (c->will) {
		if (v5)
			n += cq_mqtt_props_wire_size(&c->will_props);
		n += cq_mqtt_bin_wire_size(c->will_topic) +
			cq_mqtt_bin_wire_size(c->will_payload);
	}
	if (c->has_username)
		n += cq_mqtt_bin_wire_size(c->username);
	if (c->has_password)
		n += cq_mqtt_bin_wire_size(c->password);
	return n;
}

size_t
cq_mqtt_connect_size(const cq_mqtt_connect_t *c)
{
	if (c->version < CQ_MQTT_V31 || c->version > CQ_MQTT_V5 ||
		c->will_qos > 2)
		return 0;
	return cq_mqtt_packet_size(connect_body_size(c));
}

static uint8_t
connect_flags(const cq_mqtt_connect_t *c)
{
	uint8_t f = c->clean ? CQ_MQTT_CF_CLEAN : 0;
	if (c->will)
		f |= CQ_MQTT_CF_WILL | (uint8_t)(c->will_qos << 3) |
			(c->will_retain ? CQ_MQTT_CF_WILL_RETAIN : 0);
	if (c->has_username)
		f |= CQ_MQTT_CF_USERNAME;
	if (c->has_password)
		f |= CQ_MQTT_CF_PASSWORD;
	return f;
}

size_t
cq_mqtt_connect_encode(const cq_mqtt_connect_t *c, void *out, size_t cap)
{
	size_t size = cq_mqtt_connect_size(c);
	bool v5 = c->version == CQ_MQTT_V5;
	uint8_t *p = out;

	if (size == 0 || size > cap)
		return 0;
	p = cq_mqtt_put_fixed(p, cq_mqtt_fixed_byte(CQ_MQTT_CONNECT),
		(uint32_t)connect_body_size(c));
	p = cq_mqtt_put_bin(
		p, c->version == CQ_MQTT_V31 ? name_mqisdp : name_mqtt);
	p = cq_mqtt_put_u8(p, c->version);
	p = cq_mqtt_put_u8(p, connect_flags(c));
	p = cq_mqtt_put_u16(p, c->keep_alive);
	if (v5)
		p = cq_mqtt_put_props(p, &c->props);
	p = cq_mqtt_put_bin(p, c->client_id);
	if (c->will) {
		if (v5)
			p = cq_mqtt_put_props(p, &c->will_props);
		p = cq_mqtt_put_bin(p, c->will_topic);
		p = cq_mqtt_put_bin(p, c->will_payload);
	}
	if (c->has_username)
		p = cq_mqtt_put_bin(p, c->username);
	if (c->has_password)
		p = cq_mqtt_put_bin(p, c->password);
	return size;
}

/*
 * CONNACK: acknowledge flags, return/reason code, [properties].  Bits 7..1
 * of the flags are reserved ([MQTT-3.2.2-1] in 5.0), and a refusal never
 * says a session is present ([MQTT-3.2.2-6] in 5.0, -4 in 3.1.1).
 */
cq_mqtt_err_t
cq_mqtt_connack_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_connack_t *a_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);
	uint8_t flags;

	memset(a_r, 0, sizeof(*a_r));
	if (!cq_mqtt_rd_u8(&r, &flags) || !cq_mqtt_rd_u8(&r, &a_r->code))
		return CQ_MQTT_ERR_SHORT;
	if (!cq_mqtt_reason_valid(a_r->code, CQ_MQTT_CONNACK, dec->version))
		return CQ_MQTT_ERR_REASON;
	a_r->session_present = flags & 1;
	if ((flags & 0xfe) || (a_r->session_present && a_r->code != 0))
		return CQ_MQTT_ERR_ACK_FLAGS;
	if (dec->version == CQ_MQTT_V5) {
		cq_mqtt_err_t e = cq_mqtt_rd_props(
			&r, CQ_MQTT_CONNACK, &a_r->props);
		if (e != CQ_MQTT_OK)
			return e;
	}
	return cq_mqtt_rd_left(&r) ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
}

static uint64_t
connack_body_size(const cq_mqtt_connack_t *a, uint8_t version)
{
	return 2 +
		(version == CQ_MQTT_V5 ? cq_mqtt_props_wire_size(&a->props)
				       : 0);
}

size_t
cq_mqtt_connack_size(const cq_mqtt_connack_t *a, uint8_t version)
{
	return cq_mqtt_packet_size(connack_body_size(a, version));
}

size_t
cq_mqtt_connack_encode(
	const cq_mqtt_connack_t *a, uint8_t version, void *out, size_t cap)
{
	size_t size = cq_mqtt_connack_size(a, version);
	uint8_t *p = out;

	if (size == 0 || size > cap)
		return 0;
	p = cq_mqtt_put_fixed(p, cq_mqtt_fixed_byte(CQ_MQTT_CONNACK),
		(uint32_t)connack_body_size(a, version));
	p = cq_mqtt_put_u8(p, a->session_present ? 1 : 0);
	p = cq_mqtt_put_u8(p, a->code);
	if (version == CQ_MQTT_V5)
		cq_mqtt_put_props(p, &a->props);
	return size;
}
