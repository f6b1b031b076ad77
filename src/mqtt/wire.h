/*
 * wire.h — the codec's internal byte reader and writer (not for callers
 * outside src/mqtt/).
 *
 * The reader is a bounded cursor over one packet body: every read checks
 * the bytes left and fails instead of reading past the end, so a decoder
 * is a straight sequence of reads.  The writer is unchecked: encoders
 * compute the exact size first, check it against the caller's capacity
 * once, and then write.
 */
#ifndef CQ_MQTT_WIRE_H
#define CQ_MQTT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mqtt/frame.h"
#include "mqtt/proto.h"
#include "mqtt/props.h"
#include "mqtt/utf8.h"
#include "mqtt/varint.h"

typedef struct cq_mqtt_rd {
	const uint8_t *p;
	const uint8_t *end;
} cq_mqtt_rd_t;

/* The body (variable header and payload) of the framed packet at pkt. */
static inline cq_mqtt_rd_t
cq_mqtt_rd_body(const cq_mqtt_frame_t *fr, const uint8_t *pkt)
{
	cq_mqtt_rd_t r = {pkt + fr->hdr_len, pkt + fr->hdr_len + fr->rem_len};
	return r;
}

static inline size_t
cq_mqtt_rd_left(const cq_mqtt_rd_t *r)
{
	return (size_t)(r->end - r->p);
}

static inline bool
cq_mqtt_rd_u8(cq_mqtt_rd_t *r, uint8_t *v_r)
{
	if (r->p == r->end)
		return false;
	*v_r = *r->p++;
	return true;
}

static inline bool
cq_mqtt_rd_u16(cq_mqtt_rd_t *r, uint16_t *v_r)
{
	if (cq_mqtt_rd_left(r) < 2)
		return false;
	*v_r = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return true;
}

/* Binary Data: a two-byte length and that many bytes (§1.5.6). */
static inline bool
cq_mqtt_rd_bin(cq_mqtt_rd_t *r, cq_mqtt_view_t *v_r)
{
	uint16_t n;
	if (!cq_mqtt_rd_u16(r, &n) || cq_mqtt_rd_left(r) < n)
		return false;
	*v_r = cq_mqtt_view(r->p, n);
	r->p += n;
	return true;
}

/* UTF-8 Encoded String (§1.5.4): CQ_MQTT_ERR_SHORT or _UTF8 on failure. */
static inline cq_mqtt_err_t
cq_mqtt_rd_str(cq_mqtt_rd_t *r, cq_mqtt_view_t *v_r)
{
	if (!cq_mqtt_rd_bin(r, v_r))
		return CQ_MQTT_ERR_SHORT;
	if (!cq_utf8_valid_mqtt(v_r->ptr, v_r->len))
		return CQ_MQTT_ERR_UTF8; /* [MQTT-1.5.4-1] [MQTT-1.5.4-2] */
	return CQ_MQTT_OK;
}

/* A non-zero Packet Identifier [MQTT-2.2.1-3] ([MQTT-2.3.1-1] in 3.1.1). */
static inline cq_mqtt_err_t
cq_mqtt_rd_packet_id(cq_mqtt_rd_t *r, uint16_t *id_r)
{
	if (!cq_mqtt_rd_u16(r, id_r))
		return CQ_MQTT_ERR_SHORT;
	return *id_r ? CQ_MQTT_OK : CQ_MQTT_ERR_PACKET_ID;
}

/* Packets other than CONNECT need the level the CONNECT set [MQTT-3.1.0-1]. */
static inline bool
cq_mqtt_rd_version_ok(const cq_mqtt_dec_t *dec)
{
	return dec->version >= CQ_MQTT_V31 && dec->version <= CQ_MQTT_V5;
}

/* Property Length and properties, checked for packet type ptype. */
cq_mqtt_err_t cq_mqtt_rd_props(
	cq_mqtt_rd_t *r, unsigned ptype, cq_mqtt_props_t *props_r);

/* The writer: each returns the position after what it wrote. */
static inline uint8_t *
cq_mqtt_put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *
cq_mqtt_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *
cq_mqtt_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *
cq_mqtt_put_bytes(uint8_t *p, const void *src, size_t n)
{
	if (n > 0)
		memcpy(p, src, n);
	return p + n;
}

static inline uint8_t *
cq_mqtt_put_bin(uint8_t *p, cq_mqtt_view_t v)
{
	return cq_mqtt_put_bytes(
		cq_mqtt_put_u16(p, (uint16_t)v.len), v.ptr, v.len);
}

static inline uint8_t *
cq_mqtt_put_varint(uint8_t *p, uint32_t v)
{
	return p + cq_mqtt_varint_put(p, v);
}

static inline uint8_t *
cq_mqtt_put_props(uint8_t *p, const cq_mqtt_props_t *props)
{
	return cq_mqtt_put_bytes(
		cq_mqtt_put_varint(p, props->len), props->raw, props->len);
}

/* Bytes a Property Length and the properties take on the wire. */
static inline uint64_t
cq_mqtt_props_wire_size(const cq_mqtt_props_t *props)
{
	if (props->len > CQ_MQTT_MAX_REMAINING)
		return UINT64_MAX / 4; /* makes any packet too large */
	return cq_mqtt_varint_size(props->len) + (uint64_t)props->len;
}

/* Bytes a string or binary field takes; too large ones poison the sum. */
static inline uint64_t
cq_mqtt_bin_wire_size(cq_mqtt_view_t v)
{
	if (v.len > CQ_MQTT_MAX_STRING)
		return UINT64_MAX / 4;
	return 2 + (uint64_t)v.len;
}

/*
 * Whole-packet size for a body of 'rem' bytes, or 0 if it cannot be
 * encoded (rem above the largest Remaining Length).
 */
static inline size_t
cq_mqtt_packet_size(uint64_t rem)
{
	if (rem > CQ_MQTT_MAX_REMAINING)
		return 0;
	return 1 + cq_mqtt_varint_size((uint32_t)rem) + (size_t)rem;
}

static inline uint8_t *
cq_mqtt_put_fixed(uint8_t *p, uint8_t byte0, uint32_t rem)
{
	return cq_mqtt_put_varint(cq_mqtt_put_u8(p, byte0), rem);
}

#endif /* CQ_MQTT_WIRE_H */
