/*
 * packet.c — see packet.h: dispatch by packet type to the family files
 * (connect.c, publish.c, subscribe.c, control.c).
 */
#include "config.h"
#include "mqtt/packet.h"

#include <errno.h>
#include <string.h>

static bool
server_only(unsigned type)
{
	return type == CQ_MQTT_CONNACK || type == CQ_MQTT_SUBACK ||
		type == CQ_MQTT_UNSUBACK || type == CQ_MQTT_PINGRESP;
}

cq_mqtt_err_t
cq_mqtt_decode(const cq_mqtt_frame_t *fr, const uint8_t *pkt,
	const cq_mqtt_dec_t *dec, cq_mqtt_packet_t *pkt_r)
{
	pkt_r->type = fr->type;
	if (fr->type != CQ_MQTT_CONNECT && dec->version == 0)
		return CQ_MQTT_ERR_NOT_CONNECT; /* [MQTT-3.1.0-1] */
	if ((dec->flags & CQ_MQTT_DEC_FROM_CLIENT) && server_only(fr->type))
		return CQ_MQTT_ERR_DIRECTION;
	switch (fr->type) {
	case CQ_MQTT_CONNECT:
		return cq_mqtt_connect_decode(fr, pkt, dec, &pkt_r->u.connect);
	case CQ_MQTT_CONNACK:
		return cq_mqtt_connack_decode(fr, pkt, dec, &pkt_r->u.connack);
	case CQ_MQTT_PUBLISH:
		return cq_mqtt_publish_decode(fr, pkt, dec, &pkt_r->u.publish);
	case CQ_MQTT_PUBACK:
	case CQ_MQTT_PUBREC:
	case CQ_MQTT_PUBREL:
	case CQ_MQTT_PUBCOMP:
		return cq_mqtt_ack_decode(fr, pkt, dec, &pkt_r->u.ack);
	case CQ_MQTT_SUBSCRIBE:
		return cq_mqtt_subscribe_decode(
			fr, pkt, dec, &pkt_r->u.subscribe);
	case CQ_MQTT_SUBACK:
		return cq_mqtt_suback_decode(fr, pkt, dec, &pkt_r->u.suback);
	case CQ_MQTT_UNSUBSCRIBE:
		return cq_mqtt_unsubscribe_decode(
			fr, pkt, dec, &pkt_r->u.subscribe);
	case CQ_MQTT_UNSUBACK:
		return cq_mqtt_unsuback_decode(fr, pkt, dec, &pkt_r->u.suback);
	case CQ_MQTT_PINGREQ:
	case CQ_MQTT_PINGRESP:
		return cq_mqtt_ping_decode(fr, dec);
	case CQ_MQTT_DISCONNECT:
		return cq_mqtt_disconnect_decode(
			fr, pkt, dec, &pkt_r->u.disconnect);
	case CQ_MQTT_AUTH:
		return cq_mqtt_auth_decode(fr, pkt, dec, &pkt_r->u.auth);
	default:
		return CQ_MQTT_ERR_TYPE;
	}
}

int
cq_mqtt_read(const void *p, size_t n, const cq_mqtt_dec_t *dec,
	cq_mqtt_frame_t *fr_r, cq_mqtt_packet_t *pkt_r)
{
	int rc = cq_mqtt_frame(p, n, dec, fr_r);
	if (rc != 0) {
		pkt_r->type = 0; /* nothing decoded */
		return rc;
	}
	fr_r->err = cq_mqtt_decode(fr_r, p, dec, pkt_r);
	return fr_r->err == CQ_MQTT_OK ? 0 : -1;
}

size_t
cq_mqtt_size(const cq_mqtt_packet_t *pkt, uint8_t version)
{
	const union cq_mqtt_packet_body *u = &pkt->u;

	switch (pkt->type) {
	case CQ_MQTT_CONNECT:
		return cq_mqtt_connect_size(&u->connect);
	case CQ_MQTT_CONNACK:
		return cq_mqtt_connack_size(&u->connack, version);
	case CQ_MQTT_PUBLISH:
		return cq_mqtt_publish_size(&u->publish, version);
	case CQ_MQTT_PUBACK:
	case CQ_MQTT_PUBREC:
	case CQ_MQTT_PUBREL:
	case CQ_MQTT_PUBCOMP:
		return u->ack.type == pkt->type
			? cq_mqtt_ack_size(&u->ack, version)
			: 0;
	case CQ_MQTT_SUBSCRIBE:
	case CQ_MQTT_UNSUBSCRIBE:
		return cq_mqtt_subscribe_size(&u->subscribe, version);
	case CQ_MQTT_SUBACK:
		return cq_mqtt_suback_size(&u->suback, version);
	case CQ_MQTT_UNSUBACK:
		return cq_mqtt_unsuback_size(&u->suback, version);
	case CQ_MQTT_PINGREQ:
	case CQ_MQTT_PINGRESP:
		return 2;
	case CQ_MQTT_DISCONNECT:
		return cq_mqtt_disconnect_size(&u->disconnect, version);
	case CQ_MQTT_AUTH:
		return version == CQ_MQTT_V5 ? cq_mqtt_auth_size(&u->auth) : 0;
	default:
		return 0;
	}
}

size_t
cq_mqtt_encode(
	const cq_mqtt_packet_t *pkt, uint8_t version, void *out, size_t cap)
{
	const union cq_mqtt_packet_body *u = &pkt->u;

	if (cq_mqtt_size(pkt, version) == 0)
		return 0;
	switch (pkt->type) {
	case CQ_MQTT_CONNECT:
		return cq_mqtt_connect_encode(&u->connect, out, cap);
	case CQ_MQTT_CONNACK:
		return cq_mqtt_connack_encode(&u->connack, version, out, cap);
	case CQ_MQTT_PUBLISH:
		return cq_mqtt_publish_encode(&u->publish, version, out, cap);
	case CQ_MQTT_PUBACK:
	case CQ_MQTT_PUBREC:
	case CQ_MQTT_PUBREL:
	case CQ_MQTT_PUBCOMP:
		return cq_mqtt_ack_encode(&u->ack, version, out, cap);
	case CQ_MQTT_SUBSCRIBE:
		return cq_mqtt_subscribe_encode(
			&u->subscribe, version, out, cap);
	case CQ_MQTT_UNSUBSCRIBE:
		return cq_mqtt_unsubscribe_encode(
			&u->subscribe, version, out, cap);
	case CQ_MQTT_SUBACK:
		return cq_mqtt_suback_encode(&u->suback, version, out, cap);
	case CQ_MQTT_UNSUBACK:
		return cq_mqtt_unsuback_encode(&u->suback, version, out, cap);
	case CQ_MQTT_PINGREQ:
	case CQ_MQTT_PINGRESP:
		return cq_mqtt_ping_encode(pkt->type, out, cap);
	case CQ_MQTT_DISCONNECT:
		return cq_mqtt_disconnect_encode(
			&u->disconnect, version, out, cap);
	default: /* AUTH: cq_mqtt_size() refused every other type */
		return cq_mqtt_auth_encode(&u->auth, out, cap);
	}
}

int
cq_mqtt_append(const cq_mqtt_packet_t *pkt, uint8_t version, cq_buf_t *b)
{
	size_t size = cq_mqtt_size(pkt, version);

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	if (cq_buf_reserve(b, size) < 0)
		return -1;
	cq_buf_commit(b, cq_mqtt_encode(pkt, version, cq_buf_tail(b), size));
	return 0;
}

static bool
view_eq(cq_mqtt_view_t a, cq_mqtt_view_t b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

static bool
props_eq(const cq_mqtt_props_t *a, const cq_mqtt_props_t *b)
{
	return view_eq(
		cq_mqtt_view(a->raw, a->len), cq_mqtt_view(b->raw, b->len));
}

static bool
connect_eq(const cq_mqtt_connect_t *a, const cq_mqtt_connect_t *b)
{
	if (a->version != b->version || a->clean != b->clean ||
		a->will != b->will || a->has_username != b->has_username ||
		a->has_password != b->has_password ||
		a->keep_alive != b->keep_alive ||
		!props_eq(&a->props, &b->props) ||
		!view_eq(a->client_id, b->client_id))
		return false;
	if (a->will &&
		(a->will_qos != b->will_qos ||
			a->will_retain != b->will_retain ||
			!props_eq(&a->will_props, &b->will_props) ||
			!view_eq(a->will_topic, b->will_topic) ||
			!view_eq(a->will_payload, b->will_payload)))
		return false;
	return (!a->has_username || view_eq(a->username, b->username)) &&
		(!a->has_password || view_eq(a->password, b->password));
}

static bool
publish_eq(const cq_mqtt_publish_t *a, const cq_mqtt_publish_t *b)
{
	return a->dup == b->dup && a->qos == b->qos && a->retain == b->retain &&
		(a->qos == 0 || a->packet_id == b->packet_id) &&
		view_eq(a->topic, b->topic) && props_eq(&a->props, &b->props) &&
		view_eq(a->payload, b->payload);
}

bool
cq_mqtt_packet_equal(const cq_mqtt_packet_t *a, const cq_mqtt_packet_t *b)
{
	const union cq_mqtt_packet_body *x = &a->u, *y = &b->u;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case CQ_MQTT_CONNECT:
		return connect_eq(&x->connect, &y->connect);
	case CQ_MQTT_CONNACK:
		return x->connack.session_present ==
			y->connack.session_present &&
			x->connack.code == y->connack.code &&
			props_eq(&x->connack.props, &y->connack.props);
	case CQ_MQTT_PUBLISH:
		return publish_eq(&x->publish, &y->publish);
	case CQ_MQTT_PUBACK:
	case CQ_MQTT_PUBREC:
	case CQ_MQTT_PUBREL:
	case CQ_MQTT_PUBCOMP:
		return x->ack.type == y->ack.type &&
			x->ack.packet_id == y->ack.packet_id &&
			x->ack.reason == y->ack.reason &&
			props_eq(&x->ack.props, &y->ack.props);
	case CQ_MQTT_SUBSCRIBE:
	case CQ_MQTT_UNSUBSCRIBE:
		return x->subscribe.packet_id == y->subscribe.packet_id &&
			x->subscribe.count == y->subscribe.count &&
			props_eq(&x->subscribe.props, &y->subscribe.props) &&
			view_eq(x->subscribe.list, y->subscribe.list);
	case CQ_MQTT_SUBACK:
	case CQ_MQTT_UNSUBACK:
		return x->suback.packet_id == y->suback.packet_id &&
			props_eq(&x->suback.props, &y->suback.props) &&
			view_eq(x->suback.codes, y->suback.codes);
	case CQ_MQTT_DISCONNECT:
		return x->disconnect.reason == y->disconnect.reason &&
			props_eq(&x->disconnect.props, &y->disconnect.props);
	case CQ_MQTT_AUTH:
		return x->auth.reason == y->auth.reason &&
			props_eq(&x->auth.props, &y->auth.props);
	default:
		return true; /* PINGREQ, PINGRESP: nothing but the type */
	}
}
