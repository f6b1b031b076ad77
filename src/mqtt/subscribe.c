/*
 * subscribe.c — see subscribe.h.  All four packets open with a packet
 * identifier and (v5) properties; the rest of the body is a list.
 */
#include "config.h"
#include "mqtt/subscribe.h"

#include <string.h>

#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "mqtt/wire.h"

/* Packet id and properties; leaves r at the list. */
static cq_mqtt_err_t
decode_head(const cq_mqtt_frame_t *fr, const cq_mqtt_dec_t *dec,
	cq_mqtt_rd_t *r, uint16_t *packet_id_r, cq_mqtt_props_t *props_r)
{
	cq_mqtt_err_t e;

	if (!cq_mqtt_rd_version_ok(dec))
		return CQ_MQTT_ERR_NOT_CONNECT;
	if ((e = cq_mqtt_rd_packet_id(r, packet_id_r)) != CQ_MQTT_OK)
		return e;
	if (dec->version == CQ_MQTT_V5)
		return cq_mqtt_rd_props(r, fr->type, props_r);
	return CQ_MQTT_OK;
}

static cq_mqtt_err_t
check_options(uint8_t o, cq_mqtt_view_t filter, uint8_t version)
{
	if (version < CQ_MQTT_V5) {
		if (o & CQ_MQTT_SO_RESERVED_V3)
			return CQ_MQTT_ERR_SUB_OPTIONS; /* [MQTT-3-8.3-4] */
		return (o & CQ_MQTT_SO_QOS) == 3 ? CQ_MQTT_ERR_SUB_QOS
						 : CQ_MQTT_OK;
	}
	if (o & CQ_MQTT_SO_RESERVED_V5)
		return CQ_MQTT_ERR_SUB_OPTIONS; /* [MQTT-3.8.3-5] */
	if ((o & CQ_MQTT_SO_QOS) == 3)
		return CQ_MQTT_ERR_SUB_QOS; /* §3.8.3.1: Protocol Error */
	if ((o & CQ_MQTT_SO_RETAIN_HANDLING) == CQ_MQTT_SO_RETAIN_HANDLING)
		return CQ_MQTT_ERR_RETAIN_HANDLING; /* §3.8.3.1 */
	if ((o & CQ_MQTT_SO_NO_LOCAL) &&
		cq_topic_is_shared(filter.ptr, filter.len))
		return CQ_MQTT_ERR_SHARE_NO_LOCAL; /* [MQTT-3.8.3-4] */
	return CQ_MQTT_OK;
}

/*
 * SUBSCRIBE and UNSUBSCRIBE: the head, then the list.  Each entry is a
 * UTF-8 filter ([MQTT-3.8.3-1] [MQTT-3.10.3-1]), followed in SUBSCRIBE by
 * its options byte.
 */
static cq_mqtt_err_t
decode_list(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_subscribe_t *s_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);
	cq_mqtt_err_t e;

	memset(s_r, 0, sizeof(*s_r));
	e = decode_head(fr, dec, &r, &s_r->packet_id, &s_r->props);
	if (e != CQ_MQTT_OK)
		return e;
	s_r->list = cq_mqtt_view(r.p, cq_mqtt_rd_left(&r));
	while (cq_mqtt_rd_left(&r) > 0) {
		cq_mqtt_view_t filter;
		uint8_t options;
		if ((e = cq_mqtt_rd_str(&r, &filter)) != CQ_MQTT_OK)
			return e;
		if (fr->type == CQ_MQTT_SUBSCRIBE) {
			if (!cq_mqtt_rd_u8(&r, &options))
				return CQ_MQTT_ERR_SHORT;
			e = check_options(options, filter, dec->version);
			if (e != CQ_MQTT_OK)
				return e;
		}
		s_r->count++;
	}
	return s_r->count ? CQ_MQTT_OK : CQ_MQTT_ERR_EMPTY_LIST;
}

cq_mqtt_err_t
cq_mqtt_subscribe_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_subscribe_t *s_r)
{
	return decode_list(fr, pkt, dec, s_r);
}

void
cq_mqtt_subscribe_iter(const cq_mqtt_subscribe_t *s, cq_mqtt_sub_iter_t *it)
{
	it->p = s->list.ptr;
	it->end = s->list.len ? s->list.ptr + s->list.len : s->list.ptr;
}

bool
cq_mqtt_subscribe_next(cq_mqtt_sub_iter_t *it, cq_mqtt_sub_t *sub_r)
{
	cq_mqtt_rd_t r = {it->p, it->end};

	if (it->p == NULL || !cq_mqtt_rd_bin(&r, &sub_r->filter) ||
		!cq_mqtt_rd_u8(&r, &sub_r->options))
		return false;
	it->p = r.p;
	uint8_t o = sub_r->options;
	sub_r->qos = o & CQ_MQTT_SO_QOS;
	sub_r->no_local = (o & CQ_MQTT_SO_NO_LOCAL) != 0;
	sub_r->retain_as_published = (o & CQ_MQTT_SO_RETAIN_AS_PUB) != 0;
	sub_r->retain_handling = (o & CQ_MQTT_SO_RETAIN_HANDLING) >> 4;
	return true;
}

size_t
cq_mqtt_sub_entry_encode(
	const cq_mqtt_sub_t *sub, uint8_t version, void *out, size_t cap)
{
	uint8_t o = sub->qos & CQ_MQTT_SO_QOS;
	size_t size = 3 + (size_t)sub->filter.len;

	if (sub->filter.len > CQ_MQTT_MAX_STRING || size > cap)
		return 0;
	if (version == CQ_MQTT_V5)
		o |= (sub->no_local ? CQ_MQTT_SO_NO_LOCAL : 0) |
			(sub->retain_as_published ? CQ_MQTT_SO_RETAIN_AS_PUB
						  : 0) |
			(uint8_t)((sub->retain_handling & 3) << 4);
	cq_mqtt_put_u8(cq_mqtt_put_bin(out, sub->filter), o);
	return size;
}

cq_mqtt_err_t
cq_mqtt_unsubscribe_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_subscribe_t *s_r)
{
	return decode_list(fr, pkt, dec, s_r);
}

void
cq_mqtt_unsubscribe_iter(const cq_mqtt_subscribe_t *s, cq_mqtt_sub_iter_t *it)
{
	cq_mqtt_subscribe_iter(s, it);
}

bool
cq_mqtt_unsubscribe_next(cq_mqtt_sub_iter_t *it, cq_mqtt_view_t *filter_r)
{
	cq_mqtt_rd_t r = {it->p, it->end};

	if (it->p == NULL || !cq_mqtt_rd_bin(&r, filter_r))
		return false;
	it->p = r.p;
	return true;
}

/*
 * Packet id, properties (v5), then 'tail': the list or the codes.  All
 * four packets of this file encode this way.
 */
static uint64_t
body_size(const cq_mqtt_props_t *props, cq_mqtt_view_t tail, uint8_t version)
{
	return 2 +
		(version == CQ_MQTT_V5 ? cq_mqtt_props_wire_size(props) : 0) +
		(uint64_t)tail.len;
}

static size_t
encode_body(unsigned type, uint16_t packet_id, const cq_mqtt_props_t *props,
	cq_mqtt_view_t tail, uint8_t version, void *out, size_t cap)
{
	uint64_t body = body_size(props, tail, version);
	size_t size = cq_mqtt_packet_size(body);
	uint8_t *p = out;

	if (size == 0 || size > cap)
		return 0;
	p = cq_mqtt_put_fixed(p, cq_mqtt_fixed_byte(type), (uint32_t)body);
	p = cq_mqtt_put_u16(p, packet_id);
	if (version == CQ_MQTT_V5)
		p = cq_mqtt_put_props(p, props);
	cq_mqtt_put_bytes(p, tail.ptr, tail.len);
	return size;
}

size_t
cq_mqtt_subscribe_size(const cq_mqtt_subscribe_t *s, uint8_t version)
{
	return cq_mqtt_packet_size(body_size(&s->props, s->list, version));
}

size_t
cq_mqtt_subscribe_encode(
	const cq_mqtt_subscribe_t *s, uint8_t version, void *out, size_t cap)
{
	return encode_body(CQ_MQTT_SUBSCRIBE, s->packet_id, &s->props, s->list,
		version, out, cap);
}

size_t
cq_mqtt_unsubscribe_size(const cq_mqtt_subscribe_t *s, uint8_t version)
{
	return cq_mqtt_subscribe_size(s, version);
}

size_t
cq_mqtt_unsubscribe_encode(
	const cq_mqtt_subscribe_t *s, uint8_t version, void *out, size_t cap)
{
	return encode_body(CQ_MQTT_UNSUBSCRIBE, s->packet_id, &s->props,
		s->list, version, out, cap);
}

/* The codes of a SUBACK or v5 UNSUBACK: at least one, each valid. */
static cq_mqtt_err_t
read_codes(cq_mqtt_rd_t *r, unsigned type, uint8_t version,
	cq_mqtt_view_t *codes_r)
{
	*codes_r = cq_mqtt_view(r->p, cq_mqtt_rd_left(r));
	if (codes_r->len == 0)
		return CQ_MQTT_ERR_EMPTY_LIST;
	for (uint32_t i = 0; i < codes_r->len; i++)
		if (!cq_mqtt_reason_valid(codes_r->ptr[i], type, version))
			return CQ_MQTT_ERR_REASON;
	return CQ_MQTT_OK;
}

cq_mqtt_err_t
cq_mqtt_suback_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_suback_t *a_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);

	memset(a_r, 0, sizeof(*a_r));
	cq_mqtt_err_t e = decode_head(
		fr, dec, &r, &a_r->packet_id, &a_r->props);
	if (e != CQ_MQTT_OK)
		return e;
	return read_codes(&r, CQ_MQTT_SUBACK, dec->version, &a_r->codes);
}

size_t
cq_mqtt_suback_size(const cq_mqtt_suback_t *a, uint8_t version)
{
	return cq_mqtt_packet_size(body_size(&a->props, a->codes, version));
}

size_t
cq_mqtt_suback_encode(
	const cq_mqtt_suback_t *a, uint8_t version, void *out, size_t cap)
{
	return encode_body(CQ_MQTT_SUBACK, a->packet_id, &a->props, a->codes,
		version, out, cap);
}

cq_mqtt_err_t
cq_mqtt_unsuback_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_suback_t *a_r)
{
	cq_mqtt_rd_t r = cq_mqtt_rd_body(fr, pkt);

	memset(a_r, 0, sizeof(*a_r));
	cq_mqtt_err_t e = decode_head(
		fr, dec, &r, &a_r->packet_id, &a_r->props);
	if (e != CQ_MQTT_OK)
		return e;
	if (dec->version < CQ_MQTT_V5)
		return cq_mqtt_rd_left(&r) ? CQ_MQTT_ERR_TRAILING : CQ_MQTT_OK;
	return read_codes(&r, CQ_MQTT_UNSUBACK, dec->version, &a_r->codes);
}

/* A v3 UNSUBACK has no codes: whatever a->codes holds is not sent. */
static cq_mqtt_view_t
unsuback_codes(const cq_mqtt_suback_t *a, uint8_t version)
{
	return version == CQ_MQTT_V5 ? a->codes : cq_mqtt_view(NULL, 0);
}

size_t
cq_mqtt_unsuback_size(const cq_mqtt_suback_t *a, uint8_t version)
{
	return cq_mqtt_packet_size(
		body_size(&a->props, unsuback_codes(a, version), version));
}

size_t
cq_mqtt_unsuback_encode(
	const cq_mqtt_suback_t *a, uint8_t version, void *out, size_t cap)
{
	return encode_body(CQ_MQTT_UNSUBACK, a->packet_id, &a->props,
		unsuback_codes(a, version), version, out, cap);
}
