/*
 * reason.c — see reason.h.  The reason table is Table 2-6 of MQTT 5.0
 * (§2.4) with, for each code, the packets that may carry it.
 */
#include "config.h"
#include "mqtt/reason.h"

#include "core/defs.h"

#define IN(t)      (1u << (t))
#define CONNACK    IN(CQ_MQTT_CONNACK)
#define PUBACK     IN(CQ_MQTT_PUBACK)
#define PUBREC     IN(CQ_MQTT_PUBREC)
#define PUBREL     IN(CQ_MQTT_PUBREL)
#define PUBCOMP    IN(CQ_MQTT_PUBCOMP)
#define SUBACK     IN(CQ_MQTT_SUBACK)
#define UNSUBACK   IN(CQ_MQTT_UNSUBACK)
#define DISCONNECT IN(CQ_MQTT_DISCONNECT)
#define AUTH       IN(CQ_MQTT_AUTH)
/* The failures PUBACK, PUBREC, SUBACK and UNSUBACK share. */
#define ACK_FAIL (PUBACK | PUBREC | SUBACK | UNSUBACK)

static const struct reason_info {
	uint16_t in;
	const char *name;
} reasons[256] = {
	[0x00] = {CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | UNSUBACK |
			AUTH,
		"Success"},
	[0x01] = {SUBACK, "Granted QoS 1"},
	[0x02] = {SUBACK, "Granted QoS 2"},
	[0x04] = {DISCONNECT, "Disconnect with Will Message"},
	[0x10] = {PUBACK | PUBREC, "No matching subscribers"},
	[0x11] = {UNSUBACK, "No subscription existed"},
	[0x18] = {AUTH, "Continue authentication"},
	[0x19] = {AUTH, "Re-authenticate"},
	[0x80] = {CONNACK | ACK_FAIL | DISCONNECT, "Unspecified error"},
	[0x81] = {CONNACK | DISCONNECT, "Malformed Packet"},
	[0x82] = {CONNACK | DISCONNECT, "Protocol Error"},
	[0x83] = {CONNACK | ACK_FAIL | DISCONNECT,
		"Implementation specific error"},
	[0x84] = {CONNACK, "Unsupported Protocol Version"},
	[0x85] = {CONNACK, "Client Identifier not valid"},
	[0x86] = {CONNACK, "Bad User Name or Password"},
	[0x87] = {CONNACK | ACK_FAIL | DISCONNECT, "Not authorized"},
	[0x88] = {CONNACK, "Server unavailable"},
	[0x89] = {CONNACK | DISCONNECT, "Server busy"},
	[0x8a] = {CONNACK, "Banned"},
	[0x8b] = {DISCONNECT, "Server shutting down"},
	[0x8c] = {CONNACK | DISCONNECT, "Bad authentication method"},
	[0x8d] = {DISCONNECT, "Keep Alive timeout"},
	[0x8e] = {DISCONNECT, "Session taken over"},
	[0x8f] = {SUBACK | UNSUBACK | DISCONNECT, "Topic Filter invalid"},
	[0x90] = {CONNACK | PUBACK | PUBREC | DISCONNECT, "Topic Name invalid"},
	[0x91] = {ACK_FAIL, "Packet Identifier in use"},
	[0x92] = {PUBREL | PUBCOMP, "Packet Identifier not found"},
	[0x93] = {DISCONNECT, "Receive Maximum exceeded"},
	[0x94] = {DISCONNECT, "Topic Alias invalid"},
	[0x95] = {CONNACK | DISCONNECT, "Packet too large"},
	[0x96] = {DISCONNECT, "Message rate too high"},
	[0x97] = {CONNACK | PUBACK | PUBREC | SUBACK | DISCONNECT,
		"Quota exceeded"},
	[0x98] = {DISCONNECT, "Administrative action"},
	[0x99] = {CONNACK | PUBACK | PUBREC | DISCONNECT,
		"Payload format invalid"},
	[0x9a] = {CONNACK | DISCONNECT, "Retain not supported"},
	[0x9b] = {CONNACK | DISCONNECT, "QoS not supported"},
	[0x9c] = {CONNACK | DISCONNECT, "Use another server"},
	[0x9d] = {CONNACK | DISCONNECT, "Server moved"},
	[0x9e] = {SUBACK | DISCONNECT, "Shared Subscriptions not supported"},
	[0x9f] = {CONNACK | DISCONNECT, "Connection rate exceeded"},
	[0xa0] = {DISCONNECT, "Maximum connect time"},
	[0xa1] = {SUBACK | DISCONNECT,
		"Subscription Identifiers not supported"},
	[0xa2] = {SUBACK | DISCONNECT, "Wildcard Subscriptions not supported"},
};

const char *
cq_mqtt_reason_name(uint8_t code, unsigned ptype)
{
	if (code == 0 && ptype == CQ_MQTT_DISCONNECT)
		return "Normal disconnection";
	if (code == 0 && ptype == CQ_MQTT_SUBACK)
		return "Granted QoS 0";
	if (ptype >= 16 || !(reasons[code].in & IN(ptype)))
		return NULL;
	return reasons[code].name;
}

bool
cq_mqtt_reason_valid(uint8_t code, unsigned ptype, uint8_t version)
{
	if (version >= CQ_MQTT_V5)
		return cq_mqtt_reason_name(code, ptype) != NULL;
	if (ptype == CQ_MQTT_CONNACK)
		return code <= CQ_MQTT_V3_NOT_AUTHORIZED;
	if (ptype == CQ_MQTT_SUBACK)
		return code <= 2 || code == CQ_MQTT_V3_SUBACK_FAILURE;
	return false;
}

int
cq_mqtt_reason_to_v3_connack(uint8_t code)
{
	switch (code) {
	case CQ_MQTT_RC_SUCCESS:
		return CQ_MQTT_V3_ACCEPTED;
	case CQ_MQTT_RC_UNSUPPORTED_VERSION:
		return CQ_MQTT_V3_BAD_PROTOCOL_VERSION;
	case CQ_MQTT_RC_CLIENT_ID_INVALID:
		return CQ_MQTT_V3_ID_REJECTED;
	case CQ_MQTT_RC_SERVER_UNAVAILABLE:
	case CQ_MQTT_RC_SERVER_BUSY:
	case CQ_MQTT_RC_USE_ANOTHER_SERVER:
	case CQ_MQTT_RC_SERVER_MOVED:
	case CQ_MQTT_RC_CONNECTION_RATE_EXCEEDED:
		return CQ_MQTT_V3_SERVER_UNAVAILABLE;
	case CQ_MQTT_RC_BAD_USERNAME_PASSWORD:
		return CQ_MQTT_V3_BAD_USERNAME_PASSWORD;
	case CQ_MQTT_RC_NOT_AUTHORIZED:
	case CQ_MQTT_RC_BANNED:
	case CQ_MQTT_RC_BAD_AUTH_METHOD:
		return CQ_MQTT_V3_NOT_AUTHORIZED;
	default:
		return -1;
	}
}

static const struct err_info {
	uint8_t reason;
	const char *name;
} errs[CQ_MQTT_ERR_COUNT_] = {
	[CQ_MQTT_OK] = {0x00, "ok"},
	[CQ_MQTT_ERR_TYPE] = {0x81, "reserved packet type"},
	[CQ_MQTT_ERR_FLAGS] = {0x81, "invalid fixed header flags"},
	[CQ_MQTT_ERR_QOS] = {0x81, "PUBLISH with QoS 3"},
	[CQ_MQTT_ERR_VARINT] = {0x81, "malformed variable byte integer"},
	[CQ_MQTT_ERR_TOO_LARGE] = {0x95, "packet too large"},
	[CQ_MQTT_ERR_SHORT] = {0x81, "field runs past the end of the packet"},
	[CQ_MQTT_ERR_TRAILING] = {0x81, "bytes after the last field"},
	[CQ_MQTT_ERR_UTF8] = {0x81, "invalid UTF-8 string"},
	[CQ_MQTT_ERR_PACKET_ID] = {0x82, "packet identifier 0"},
	[CQ_MQTT_ERR_NOT_CONNECT] = {0x82, "first packet is not CONNECT"},
	[CQ_MQTT_ERR_DIRECTION] = {0x82, "not allowed from a client"},
	[CQ_MQTT_ERR_PROTOCOL_NAME] = {0x81, "unknown protocol name"},
	[CQ_MQTT_ERR_PROTOCOL_VERSION] = {0x84, "unsupported protocol level"},
	[CQ_MQTT_ERR_CONNECT_RESERVED] = {0x81, "CONNECT reserved flag set"},
	[CQ_MQTT_ERR_WILL_FLAGS] = {0x81, "inconsistent will flags"},
	[CQ_MQTT_ERR_PASSWORD] = {0x82, "password without user name"},
	[CQ_MQTT_ERR_CLIENT_ID] = {0x85, "client identifier not valid"},
	[CQ_MQTT_ERR_PROP_ID] = {0x81, "unknown property identifier"},
	[CQ_MQTT_ERR_PROP_NOT_ALLOWED] = {0x81, "property not valid here"},
	[CQ_MQTT_ERR_PROP_DUP] = {0x82, "property included more than once"},
	[CQ_MQTT_ERR_PROP_LENGTH] = {0x81, "property length inconsistent"},
	[CQ_MQTT_ERR_PROP_VALUE] = {0x82, "property value not allowed"},
	[CQ_MQTT_ERR_TOPIC_NAME] = {0x90, "invalid topic name"},
	[CQ_MQTT_ERR_TOPIC_EMPTY] = {0x82, "empty topic without alias"},
	[CQ_MQTT_ERR_TOPIC_ALIAS] = {0x94, "topic alias 0"},
	[CQ_MQTT_ERR_SUB_OPTIONS] = {0x81, "subscription option reserved bits"},
	[CQ_MQTT_ERR_SUB_QOS] = {0x82, "subscription QoS 3"},
	[CQ_MQTT_ERR_RETAIN_HANDLING] = {0x82, "retain handling 3"},
	[CQ_MQTT_ERR_SHARE_NO_LOCAL] = {0x82,
		"no local on a shared subscription"},
	[CQ_MQTT_ERR_EMPTY_LIST] = {0x82, "no topic filters"},
	[CQ_MQTT_ERR_REASON] = {0x82, "reason code not valid for the packet"},
	[CQ_MQTT_ERR_ACK_FLAGS] = {0x81, "invalid CONNACK flags"},
	[CQ_MQTT_ERR_PAYLOAD_FORMAT] = {0x99, "payload is not valid UTF-8"},
};

const char *
cq_mqtt_err_name(cq_mqtt_err_t err)
{
	if ((unsigned)err >= CQ_MQTT_ERR_COUNT_)
		return "unknown error";
	return errs[err].name;
}

uint8_t
cq_mqtt_err_reason(cq_mqtt_err_t err)
{
	if ((unsigned)err >= CQ_MQTT_ERR_COUNT_)
		return CQ_MQTT_RC_UNSPECIFIED;
	return errs[err].reason;
}

/* Errors that end a connection without any answer in every version. */
static bool
close_silently(cq_mqtt_err_t err)
{
	/*
	 * A wrong protocol name means the peer does not speak MQTT, and a
	 * non-CONNECT first packet leaves no protocol level to answer in
	 * ([MQTT-3.1.2-1], [MQTT-3.1.0-1]).
	 */
	return err == CQ_MQTT_ERR_PROTOCOL_NAME ||
		err == CQ_MQTT_ERR_NOT_CONNECT;
}

cq_mqtt_reply_t
cq_mqtt_err_reply(cq_mqtt_err_t err, uint8_t version, bool connack_sent)
{
	cq_mqtt_reply_t r = {CQ_MQTT_REPLY_CLOSE, version, 0};

	if (err == CQ_MQTT_OK || close_silently(err))
		return r;
	if (err == CQ_MQTT_ERR_PROTOCOL_VERSION) {
		/* Answer in a format the client can read [MQTT-3.1.2-2]. */
		r.kind = CQ_MQTT_REPLY_CONNACK;
		r.version = version >= CQ_MQTT_V5 ? CQ_MQTT_V5 : CQ_MQTT_V311;
		r.code = version >= CQ_MQTT_V5
			? CQ_MQTT_RC_UNSUPPORTED_VERSION
			: CQ_MQTT_V3_BAD_PROTOCOL_VERSION;
		return r;
	}
	if (version < CQ_MQTT_V31 || version > CQ_MQTT_V5)
		return r; /* no CONNECT decoded: no level to answer in */
	if (version < CQ_MQTT_V5) {
		if (err == CQ_MQTT_ERR_CLIENT_ID && !connack_sent) {
			r.kind = CQ_MQTT_REPLY_CONNACK;
			r.code = CQ_MQTT_V3_ID_REJECTED; /* [MQTT-3.1.3-9] */
		}
		return r;
	}
	r.kind = connack_sent ? CQ_MQTT_REPLY_DISCONNECT
			      : CQ_MQTT_REPLY_CONNACK;
	r.code = cq_mqtt_err_reason(err);
	if (cq_mqtt_reason_name(r.code,
		    connack_sent ? CQ_MQTT_DISCONNECT : CQ_MQTT_CONNACK) ==
		NULL)
		r.code = CQ_MQTT_RC_PROTOCOL_ERROR;
	return r;
}
