/*
 * reply.c — see reply.h.
 */
#include "config.h"
#include "workers/reply.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt/props.h"
#include "mqtt/reason.h"
#include "workers/conn.h"

#define PROBLEM_PROPS                                                          \
	(CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_REASON_STRING) |                        \
		CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_USER))

static const struct {
	uint8_t code;
	const char *text;
} texts[] = {
	{CQ_MQTT_RC_DISCONNECT_WITH_WILL, "disconnected with the will message"},
	{CQ_MQTT_RC_UNSPECIFIED, "refused"},
	{CQ_MQTT_RC_MALFORMED, "malformed packet"},
	{CQ_MQTT_RC_PROTOCOL_ERROR, "protocol error"},
	{CQ_MQTT_RC_IMPLEMENTATION_ERROR, "the broker could not do this"},
	{CQ_MQTT_RC_UNSUPPORTED_VERSION, "protocol version not accepted"},
	{CQ_MQTT_RC_CLIENT_ID_INVALID, "client identifier not accepted"},
	{CQ_MQTT_RC_BAD_USERNAME_PASSWORD, "bad user name or password"},
	{CQ_MQTT_RC_NOT_AUTHORIZED, "not authorized"},
	{CQ_MQTT_RC_SERVER_UNAVAILABLE, "the broker is not available"},
	{CQ_MQTT_RC_SERVER_BUSY, "the broker is busy"},
	{CQ_MQTT_RC_BANNED, "banned"},
	{CQ_MQTT_RC_SERVER_SHUTTING_DOWN, "the broker is shutting down"},
	{CQ_MQTT_RC_BAD_AUTH_METHOD, "authentication method not supported"},
	{CQ_MQTT_RC_KEEP_ALIVE_TIMEOUT, "keep alive timeout"},
	{CQ_MQTT_RC_SESSION_TAKEN_OVER,
		"another connection took the session over"},
	{CQ_MQTT_RC_TOPIC_FILTER_INVALID, "topic filter not accepted"},
	{CQ_MQTT_RC_TOPIC_NAME_INVALID, "topic name not accepted"},
	{CQ_MQTT_RC_PACKET_ID_IN_USE, "packet identifier in use"},
	{CQ_MQTT_RC_PACKET_ID_NOT_FOUND, "packet identifier not found"},
	{CQ_MQTT_RC_RECEIVE_MAX_EXCEEDED,
		"more QoS 2 messages in flight than the receive maximum"},
	{CQ_MQTT_RC_TOPIC_ALIAS_INVALID, "topic alias not valid"},
	{CQ_MQTT_RC_PACKET_TOO_LARGE, "packet larger than the maximum"},
	{CQ_MQTT_RC_MESSAGE_RATE_TOO_HIGH, "message rate too high"},
	{CQ_MQTT_RC_QUOTA_EXCEEDED, "quota exceeded"},
	{CQ_MQTT_RC_ADMINISTRATIVE_ACTION, "disconnected by an administrator"},
	{CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID,
		"payload is not UTF-8 as its format indicator says"},
	{CQ_MQTT_RC_RETAIN_NOT_SUPPORTED, "retain is not available"},
	{CQ_MQTT_RC_QOS_NOT_SUPPORTED, "QoS above the maximum QoS"},
	{CQ_MQTT_RC_USE_ANOTHER_SERVER, "use another server"},
	{CQ_MQTT_RC_SERVER_MOVED, "the server has moved"},
	{CQ_MQTT_RC_SHARED_SUBS_NOT_SUPPORTED,
		"shared subscriptions are not available"},
	{CQ_MQTT_RC_CONNECTION_RATE_EXCEEDED, "connection rate exceeded"},
	{CQ_MQTT_RC_MAXIMUM_CONNECT_TIME, "maximum connect time reached"},
	{CQ_MQTT_RC_SUB_IDS_NOT_SUPPORTED,
		"subscription identifiers are not available"},
	{CQ_MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED,
		"wildcard subscriptions are not available"},
};

const char *
cq_reply_text(uint8_t code)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == code)
			return texts[i].text;
	return code >= 0x80 ? "refused" : "done";
}

void
cq_reply_put_reason(cq_mqtt_pbuf_t *pb, const char *text, size_t reserve)
{
	size_t n = text != NULL ? strlen(text) : 0;
	size_t room = pb->cap - pb->len;
	/* Identifier and length take 3 bytes; cut at a character start. */
	room = room > reserve + 3 ? room - reserve - 3 : 0;
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		cq_mqtt_pbuf_bin(pb, CQ_MQTT_PROP_REASON_STRING, text, n);
}

cq_mqtt_props_t
cq_reply_reason_props(const char *text, void *mem, size_t cap)
{
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, cap);
	cq_reply_put_reason(&pb, text, 0);
	return cq_mqtt_pbuf_props(&pb);
}

int
cq_reply_ack(cq_conn_t *c, uint8_t type, uint16_t pid, uint8_t reason,
	const char *text)
{
	uint8_t mem[256];
	cq_mqtt_packet_t p = {.type = type};
	p.u.ack = (cq_mqtt_ack_t){.type = type, .packet_id = pid};
	if (c->version == CQ_MQTT_V5) {
		p.u.ack.reason = reason;
		if (reason >= 0x80)
			p.u.ack.props = cq_reply_reason_props(
				text != NULL ? text : cq_reply_text(reason),
				mem, sizeof(mem));
	}
	return cq_conn_send_packet(c, &p);
}

/* The properties of a packet the broker sends (NULL: it has none). */
static cq_mqtt_props_t *
props_of(cq_mqtt_packet_t *pkt)
{
	switch (pkt->type) {
	case CQ_MQTT_CONNACK:
		return &pkt->u.connack.props;
	case CQ_MQTT_PUBACK:
	case CQ_MQTT_PUBREC:
	case CQ_MQTT_PUBREL:
	case CQ_MQTT_PUBCOMP:
		return &pkt->u.ack.props;
	case CQ_MQTT_SUBACK:
	case CQ_MQTT_UNSUBACK:
		return &pkt->u.suback.props;
	case CQ_MQTT_DISCONNECT:
		return &pkt->u.disconnect.props;
	case CQ_MQTT_AUTH:
		return &pkt->u.auth.props;
	default:
		return NULL;
	}
}

/* *pp without Reason String and User Properties, rewritten into mem (or
 * a heap block for *heap_r when mem is too small; without memory *pp
 * stays as it was). */
static void
strip(cq_mqtt_props_t *pp, void *mem, size_t cap, void **heap_r)
{
	if (pp->len > cap) {
		if (*heap_r == NULL)
			*heap_r = malloc(pp->len);
		if (*heap_r == NULL)
			return;
		mem = *heap_r;
		cap = pp->len;
	}
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, cap);
	cq_mqtt_pbuf_copy(&pb, pp, PROBLEM_PROPS);
	*pp = cq_mqtt_pbuf_props(&pb);
}

int
cq_reply_fit(const cq_conn_t *c, cq_mqtt_packet_t *pkt, void *mem, size_t cap,
	void **heap_r, size_t *size_r)
{
	uint8_t v = c->version ? c->version : CQ_MQTT_V311;
	cq_mqtt_props_t *pp = v == CQ_MQTT_V5 ? props_of(pkt) : NULL;
	bool told = pkt->type == CQ_MQTT_CONNACK ||
		pkt->type == CQ_MQTT_DISCONNECT;
	if (pp != NULL && !c->problem_info && !told &&
		(pp->present & PROBLEM_PROPS) != 0)
		strip(pp, mem, cap, heap_r);
	size_t n = cq_mqtt_size(pkt, v);
	if (c->max_packet != 0 && n > c->max_packet && pp != NULL &&
		(pp->present & PROBLEM_PROPS) != 0) {
		strip(pp, mem, cap, heap_r);
		n = cq_mqtt_size(pkt, v);
	}
	*size_r = n;
	return c->max_packet != 0 && n > c->max_packet ? 1 : 0;
}

uint8_t
cq_reply_redirect_code(const cq_config_t *cfg)
{
	if (cfg->mqtt.server_reference[0] == '\0')
		return 0;
	return cfg->mqtt.server_moved ? CQ_MQTT_RC_SERVER_MOVED
				      : CQ_MQTT_RC_USE_ANOTHER_SERVER;
}

size_t
cq_reply_redirect_size(const cq_config_t *cfg)
{
	return strlen(cfg->mqtt.server_reference) + 3;
}

void
cq_reply_put_redirect(cq_mqtt_pbuf_t *pb, const cq_config_t *cfg)
{
	const char *ref = cfg->mqtt.server_reference;
	cq_mqtt_pbuf_bin(pb, CQ_MQTT_PROP_SERVER_REFERENCE, ref, strlen(ref));
}

/* DISCONNECT 'code' to c, naming the other server. */
static void
redirect(cq_conn_t *c, uint8_t code)
{
	size_t cap = cq_reply_redirect_size(c->w->cfg) + 128;
	uint8_t *mem = malloc(cap);
	cq_mqtt_packet_t p = {.type = CQ_MQTT_DISCONNECT};
	p.u.disconnect.reason = code;
	if (mem != NULL) {
		cq_mqtt_pbuf_t pb;
		cq_mqtt_pbuf_init(&pb, mem, cap);
		cq_reply_put_reason(&pb, cq_reply_text(code),
			cq_reply_redirect_size(c->w->cfg));
		cq_reply_put_redirect(&pb, c->w->cfg);
		p.u.disconnect.props = cq_mqtt_pbuf_props(&pb);
	}
	cq_conn_disconnect_packet(c, &p, CQ_CLOSE_ABNORMAL);
	free(mem);
}

void
cq_reply_redirect_all(cq_worker_t *w)
{
	uint8_t code = cq_reply_redirect_code(w->cfg);
	if (code == 0)
		return;
	cq_conn_t *next;
	for (cq_conn_t *c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CQ_CONN_ACTIVE && c->version == CQ_MQTT_V5)
			redirect(c, code);
	}
}
