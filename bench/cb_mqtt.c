/*
 * cb_mqtt.c — see cb_mqtt.h.
 *
 * Builders trust their arguments (the caller sized the buffer with the
 * matching _size function); parsers trust nothing and check every length
 * against the packet body.
 */
#include "config.h"
#include "bench/cb_mqtt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/defs.h"

/* MQTT 5 property identifiers comqtt-bench reads or writes. */
#define PROP_RECEIVE_MAX  0x21
#define PROP_MAX_PACKET   0x27
#define PROP_MAX_QOS      0x24
#define PROP_RETAIN_AVAIL 0x25
#define CONNECT_PROPS_LEN 8 /* receive max (3) + max packet size (5) */

size_t
cb_mqtt_varint_put(uint8_t *p, uint32_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = v ? (uint8_t)(b | 0x80) : b;
	} while (v && n < 4);
	return n;
}

static size_t
varint_len(uint32_t v)
{
	return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

/* Decode a variable byte integer: 0, CQ_AGAIN (truncated) or -1. */
static int
varint_get(const uint8_t *p, size_t n, uint32_t *v_r, size_t *used_r)
{
	uint32_t v = 0;
	for (size_t i = 0; i < 4; i++) {
		if (i >= n)
			return CQ_AGAIN;
		v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v_r = v;
			*used_r = i + 1;
			return 0;
		}
	}
	return -1;
}

int
cb_mqtt_frame(const uint8_t *p, size_t n, cb_pkt_t *pkt_r)
{
	if (n < 2)
		return CQ_AGAIN;
	uint32_t rl;
	size_t used;
	int rc = varint_get(p + 1, n - 1, &rl, &used);
	if (rc != 0)
		return rc;
	if (rl > CB_MQTT_MAX_PACKET)
		return -1;
	size_t total = 1 + used + rl;
	if (n < total)
		return CQ_AGAIN;
	pkt_r->type = p[0] >> 4;
	pkt_r->flags = p[0] & 0x0f;
	pkt_r->body = p + 1 + used;
	pkt_r->body_len = rl;
	pkt_r->total_len = (uint32_t)total;
	return 0;
}

static uint8_t *
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);
	p = put_u16(p, (uint16_t)n);
	memcpy(p, s, n);
	return p + n;
}

static uint32_t
connect_body_len(const cb_connect_args_t *a)
{
	uint32_t n = (a->version == 3 ? 8 : 6) + 1 + 1 + 2;
	if (a->version == 5)
		n += 1 + CONNECT_PROPS_LEN;
	n += 2 + (uint32_t)strlen(a->client_id);
	if (a->username)
		n += 2 + (uint32_t)strlen(a->username);
	if (a->password)
		n += 2 + (uint32_t)strlen(a->password);
	return n;
}

size_t
cb_mqtt_connect_size(const cb_connect_args_t *a)
{
	uint32_t body = connect_body_len(a);
	return 1 + varint_len(body) + body;
}

size_t
cb_mqtt_connect(uint8_t *buf, const cb_connect_args_t *a)
{
	uint32_t body = connect_body_len(a);
	uint8_t *p = buf;
	*p++ = CB_MQTT_CONNECT << 4;
	p += cb_mqtt_varint_put(p, body);
	p = put_str(p, a->version == 3 ? "MQIsdp" : "MQTT");
	*p++ = (uint8_t)a->version;
	uint8_t flags = a->clean ? 0x02 : 0;
	if (a->username)
		flags |= 0x80;
	if (a->password)
		flags |= 0x40;
	*p++ = flags;
	p = put_u16(p, a->keepalive);
	if (a->version == 5) {
		*p++ = CONNECT_PROPS_LEN;
		*p++ = PROP_RECEIVE_MAX;
		p = put_u16(p, 65535);
		*p++ = PROP_MAX_PACKET;
		uint32_t mp = CB_MQTT_MAX_PACKET;
		*p++ = (uint8_t)(mp >> 24);
		*p++ = (uint8_t)(mp >> 16);
		*p++ = (uint8_t)(mp >> 8);
		*p++ = (uint8_t)mp;
	}
	p = put_str(p, a->client_id);
	if (a->username)
		p = put_str(p, a->username);
	if (a->password)
		p = put_str(p, a->password);
	return (size_t)(p - buf);
}

size_t
cb_mqtt_subscribe_size(const char *filter)
{
	return 2 + 2 + 1 + 2 + strlen(filter) + 1 + 4;
}

size_t
cb_mqtt_subscribe(
	uint8_t *buf, int version, uint16_t pid, const char *filter, int qos)
{
	uint32_t body = 2 + (version == 5 ? 1 : 0) + 2 +
		(uint32_t)strlen(filter) + 1;
	uint8_t *p = buf;
	*p++ = (CB_MQTT_SUBSCRIBE << 4) | 0x02;
	p += cb_mqtt_varint_put(p, body);
	p = put_u16(p, pid);
	if (version == 5)
		*p++ = 0; /* no properties */
	p = put_str(p, filter);
	*p++ = (uint8_t)qos;
	return (size_t)(p - buf);
}

size_t
cb_mqtt_ack(uint8_t *buf, int type, uint16_t pid)
{
	buf[0] = (uint8_t)(type << 4) | (type == CB_MQTT_PUBREL ? 0x02 : 0);
	buf[1] = 2;
	put_u16(buf + 2, pid);
	return 4;
}

size_t
cb_mqtt_pingreq(uint8_t *buf)
{
	buf[0] = CB_MQTT_PINGREQ << 4;
	buf[1] = 0;
	return 2;
}

size_t
cb_mqtt_disconnect(uint8_t *buf)
{
	buf[0] = CB_MQTT_DISCONNECT << 4;
	buf[1] = 0;
	return 2;
}

int
cb_mqtt_publish_tmpl(cb_publish_tmpl_t *t, int version, const char *topic,
	int qos, int retain, uint32_t payload_len)
{
	size_t tl = strlen(topic);
	if (tl > 65535) {
		errno = EINVAL;
		return -1;
	}
	uint32_t body = 2 + (uint32_t)tl + (qos ? 2 : 0) +
		(version == 5 ? 1 : 0) + payload_len;
	t->len = 1 + (uint32_t)varint_len(body) + body;
	t->bytes = malloc(t->len);
	if (t->bytes == NULL)
		return -1;
	uint8_t *p = t->bytes;
	*p++ = (uint8_t)(CB_MQTT_PUBLISH << 4 | qos << 1 | (retain ? 1 : 0));
	p += cb_mqtt_varint_put(p, body);
	p = put_str(p, topic);
	t->pid_off = 0;
	if (qos) {
		t->pid_off = (uint32_t)(p - t->bytes);
		p = put_u16(p, 0);
	}
	if (version == 5)
		*p++ = 0;
	t->payload_off = (uint32_t)(p - t->bytes);
	for (uint32_t i = 0; i < payload_len; i++)
		p[i] = (uint8_t)('a' + i % 26);
	if (payload_len >= CB_PAYLOAD_HDR)
		memset(p, 0, CB_PAYLOAD_HDR);
	return 0;
}

void
cb_mqtt_publish_tmpl_free(cb_publish_tmpl_t *t)
{
	free(t->bytes);
	t->bytes = NULL;
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The size of one property's value after its identifier, or -1. */
static int
prop_value_len(uint8_t id, const uint8_t *p, size_t n)
{
	switch (id) {
	case 0x01:
	case 0x17:
	case 0x19:
	case 0x24:
	case 0x25:
	case 0x28:
	case 0x29:
	case 0x2a:
		return 1;
	case 0x13:
	case 0x21:
	case 0x22:
	case 0x23:
		return 2;
	case 0x02:
	case 0x11:
	case 0x18:
	case 0x27:
		return 4;
	case 0x0b: {
		uint32_t v;
		size_t used;
		return varint_get(p, n, &v, &used) == 0 ? (int)used : -1;
	}
	case 0x03:
	case 0x08:
	case 0x09:
	case 0x12:
	case 0x15:
	case 0x16:
	case 0x1a:
	case 0x1c:
	case 0x1f:
		return n < 2 ? -1 : 2 + get_u16(p);
	case 0x26:
		if (n < 2 || n < 4u + get_u16(p))
			return -1;
		return 4 + get_u16(p) + get_u16(p + 2 + get_u16(p));
	default:
		return -1;
	}
}

static void
connack_prop(uint8_t id, const uint8_t *v, cb_connack_t *r)
{
	switch (id) {
	case PROP_RECEIVE_MAX:
		r->receive_max = get_u16(v);
		break;
	case PROP_MAX_PACKET:
		r->max_packet = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
			(uint32_t)v[2] << 8 | v[3];
		break;
	case PROP_MAX_QOS:
		r->max_qos = v[0];
		break;
	case PROP_RETAIN_AVAIL:
		r->retain_available = v[0];
		break;
	}
}

int
cb_mqtt_parse_connack(int version, const cb_pkt_t *p, cb_connack_t *r)
{
	r->receive_max = 65535;
	r->max_packet = 0;
	r->max_qos = 2;
	r->retain_available = 1;
	if (p->body_len < 2)
		return -1;
	r->reason = p->body[1];
	if (version != 5 || p->body_len == 2)
		return 0;
	uint32_t plen;
	size_t used;
	if (varint_get(p->body + 2, p->body_len - 2, &plen, &used) != 0 ||
		plen > p->body_len - 2 - used)
		return -1;
	const uint8_t *q = p->body + 2 + used, *end = q + plen;
	while (q < end) {
		uint8_t id = *q++;
		int vl = prop_value_len(id, q, (size_t)(end - q));
		if (vl < 0 || vl > end - q)
			return -1;
		connack_prop(id, q, r);
		q += vl;
	}
	if (r->receive_max == 0)
		return -1; /* [MQTT-3.2.2] Receive Maximum of 0 is an error */
	return 0;
}

int
cb_mqtt_parse_suback(
	int version, const cb_pkt_t *p, uint16_t *pid_r, uint8_t *code_r)
{
	if (p->body_len < 3)
		return -1;
	*pid_r = get_u16(p->body);
	size_t off = 2;
	if (version == 5) {
		uint32_t plen;
		size_t used;
		if (varint_get(p->body + 2, p->body_len - 2, &plen, &used) !=
				0 ||
			plen >= p->body_len - 2 - used)
			return -1;
		off += used + plen;
	}
	if (off >= p->body_len)
		return -1;
	*code_r = p->body[off];
	return 0;
}

int
cb_mqtt_parse_publish(int version, const cb_pkt_t *p, cb_publish_t *r)
{
	r->qos = (p->flags >> 1) & 3;
	r->retain = p->flags & 1;
	r->dup = (p->flags >> 3) & 1;
	if (r->qos == 3 || p->body_len < 2)
		return -1;
	const uint8_t *q = p->body, *end = p->body + p->body_len;
	r->topic_len = get_u16(q);
	q += 2;
	if (r->topic_len > end - q)
		return -1;
	r->topic = q;
	q += r->topic_len;
	r->pid = 0;
	if (r->qos) {
		if (end - q < 2)
			return -1;
		r->pid = get_u16(q);
		q += 2;
		if (r->pid == 0)
			return -1;
	}
	if (version == 5) {
		uint32_t plen;
		size_t used;
		if (varint_get(q, (size_t)(end - q), &plen, &used) != 0 ||
			plen > (size_t)(end - q) - used)
			return -1;
		q += used + plen;
	}
	r->payload = q;
	r->payload_len = (uint32_t)(end - q);
	return 0;
}

int
cb_mqtt_parse_ack(const cb_pkt_t *p, uint16_t *pid_r, uint8_t *reason_r)
{
	if (p->body_len < 2)
		return -1;
	*pid_r = get_u16(p->body);
	*reason_r = p->body_len > 2 ? p->body[2] : 0;
	return *pid_r == 0 ? -1 : 0;
}

int
cb_mqtt_parse_disconnect(const cb_pkt_t *p, uint8_t *reason_r)
{
	*reason_r = p->body_len > 0 ? p->body[0] : 0;
	return 0;
}
