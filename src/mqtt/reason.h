/*
 * reason.h — reason codes (MQTT 5 §2.4), v3 CONNACK return codes, and what
 * a broker must answer to each decode error (§4.13).
 *
 * MQTT 5 answers a Malformed Packet or Protocol Error with a reason code:
 * in CONNACK while the CONNECT is being handled, in DISCONNECT after a
 * successful CONNACK [MQTT-3.14.0-1], then closes.  MQTT 3.x has no such
 * codes: the server closes the connection, except that a CONNECT with an
 * unsupported protocol level gets CONNACK 0x01 [MQTT-3.1.2-2] and a refused
 * client id CONNACK 0x02 [MQTT-3.1.3-9].
 */
#ifndef CQ_MQTT_REASON_H
#define CQ_MQTT_REASON_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt/proto.h"

/* MQTT 5 reason codes (§2.4, Table 2-6). */
#define CQ_MQTT_RC_SUCCESS                                                     \
	0x00 /* also Normal disconnection,
						  Granted QoS 0 */
#define CQ_MQTT_RC_GRANTED_QOS1                0x01
#define CQ_MQTT_RC_GRANTED_QOS2                0x02
#define CQ_MQTT_RC_DISCONNECT_WITH_WILL        0x04
#define CQ_MQTT_RC_NO_MATCHING_SUBSCRIBERS     0x10
#define CQ_MQTT_RC_NO_SUBSCRIPTION_EXISTED     0x11
#define CQ_MQTT_RC_CONTINUE_AUTH               0x18
#define CQ_MQTT_RC_REAUTHENTICATE              0x19
#define CQ_MQTT_RC_UNSPECIFIED                 0x80
#define CQ_MQTT_RC_MALFORMED                   0x81
#define CQ_MQTT_RC_PROTOCOL_ERROR              0x82
#define CQ_MQTT_RC_IMPLEMENTATION_ERROR        0x83
#define CQ_MQTT_RC_UNSUPPORTED_VERSION         0x84
#define CQ_MQTT_RC_CLIENT_ID_INVALID           0x85
#define CQ_MQTT_RC_BAD_USERNAME_PASSWORD       0x86
#define CQ_MQTT_RC_NOT_AUTHORIZED              0x87
#define CQ_MQTT_RC_SERVER_UNAVAILABLE          0x88
#define CQ_MQTT_RC_SERVER_BUSY                 0x89
#define CQ_MQTT_RC_BANNED                      0x8a
#define CQ_MQTT_RC_SERVER_SHUTTING_DOWN        0x8b
#define CQ_MQTT_RC_BAD_AUTH_METHOD             0x8c
#define CQ_MQTT_RC_KEEP_ALIVE_TIMEOUT          0x8d
#define CQ_MQTT_RC_SESSION_TAKEN_OVER          0x8e
#define CQ_MQTT_RC_TOPIC_FILTER_INVALID        0x8f
#define CQ_MQTT_RC_TOPIC_NAME_INVALID          0x90
#define CQ_MQTT_RC_PACKET_ID_IN_USE            0x91
#define CQ_MQTT_RC_PACKET_ID_NOT_FOUND         0x92
#define CQ_MQTT_RC_RECEIVE_MAX_EXCEEDED        0x93
#define CQ_MQTT_RC_TOPIC_ALIAS_INVALID         0x94
#define CQ_MQTT_RC_PACKET_TOO_LARGE            0x95
#define CQ_MQTT_RC_MESSAGE_RATE_TOO_HIGH       0x96
#define CQ_MQTT_RC_QUOTA_EXCEEDED              0x97
#define CQ_MQTT_RC_ADMINISTRATIVE_ACTION       0x98
#define CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID      0x99
#define CQ_MQTT_RC_RETAIN_NOT_SUPPORTED        0x9a
#define CQ_MQTT_RC_QOS_NOT_SUPPORTED           0x9b
#define CQ_MQTT_RC_USE_ANOTHER_SERVER          0x9c
#define CQ_MQTT_RC_SERVER_MOVED                0x9d
#define CQ_MQTT_RC_SHARED_SUBS_NOT_SUPPORTED   0x9e
#define CQ_MQTT_RC_CONNECTION_RATE_EXCEEDED    0x9f
#define CQ_MQTT_RC_MAXIMUM_CONNECT_TIME        0xa0
#define CQ_MQTT_RC_SUB_IDS_NOT_SUPPORTED       0xa1
#define CQ_MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED 0xa2

/* MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 §3.2.2.3). */
#define CQ_MQTT_V3_ACCEPTED              0x00
#define CQ_MQTT_V3_BAD_PROTOCOL_VERSION  0x01
#define CQ_MQTT_V3_ID_REJECTED           0x02
#define CQ_MQTT_V3_SERVER_UNAVAILABLE    0x03
#define CQ_MQTT_V3_BAD_USERNAME_PASSWORD 0x04
#define CQ_MQTT_V3_NOT_AUTHORIZED        0x05
/* MQTT 3.1.1 SUBACK failure (§3.9.3). */
#define CQ_MQTT_V3_SUBACK_FAILURE 0x80

/*
 * The name of reason code 'code' in packet type 'ptype' (0x00 is
 * "Success", "Normal disconnection" or "Granted QoS 0"), or NULL when the
 * code is not defined for that packet.
 */
const char *cq_mqtt_reason_name(uint8_t code, unsigned ptype);

/*
 * May 'code' appear in packet type 'ptype' of protocol 'version'?  For
 * v3: CONNACK 0..5, SUBACK 0, 1, 2 and 0x80.
 */
bool cq_mqtt_reason_valid(uint8_t code, unsigned ptype, uint8_t version);

/*
 * The v3 CONNACK return code for a v5 CONNACK reason code, or -1 when
 * none applies: the server must then close without a CONNACK
 * [MQTT-3.2.2-6 of 3.1.1].
 */
int cq_mqtt_reason_to_v3_connack(uint8_t code);

const char *cq_mqtt_err_name(cq_mqtt_err_t err);

/* The v5 reason code for a decode error (0x81 for "just close" ones). */
uint8_t cq_mqtt_err_reason(cq_mqtt_err_t err);

/* What to do about a decode error. */
typedef enum cq_mqtt_reply_kind {
	CQ_MQTT_REPLY_CLOSE = 0, /* close without a packet */
	CQ_MQTT_REPLY_CONNACK, /* send CONNACK 'code', then close */
	CQ_MQTT_REPLY_DISCONNECT, /* send DISCONNECT 'code', then close */
} cq_mqtt_reply_kind_t;

typedef struct cq_mqtt_reply {
	uint8_t kind; /* cq_mqtt_reply_kind_t */
	uint8_t version; /* encode the reply for this protocol level */
	uint8_t code; /* reason code (v5) or return code (v3) */
} cq_mqtt_reply_t;

/*
 * The answer to decode error 'err' on a connection of protocol level
 * 'version' (for CQ_MQTT_ERR_PROTOCOL_VERSION: the level the CONNECT asked
 * for), before or after the CONNACK was sent.
 */
cq_mqtt_reply_t cq_mqtt_err_reply(
	cq_mqtt_err_t err, uint8_t version, bool connack_sent);

#endif /* CQ_MQTT_REASON_H */
