/*
 * props.h — MQTT 5 properties (§2.2.2): the table of identifiers, the
 * validating parser, zero-copy access and a builder for the properties a
 * broker sends.
 *
 * A decoded property section is a cq_mqtt_props_t: a view of the raw
 * property bytes (order preserved, as forwarding User Properties requires
 * [MQTT-3.3.2-18]) and a bit per identifier present.  Parsing checks
 * everything once: known identifier, allowed in this packet (table of
 * §2.2.2.2; not allowed is a Malformed Packet), at most once unless
 * repeatable (User Property always, Subscription Identifier in PUBLISH
 * only), lengths inside the section, UTF-8, value ranges (0/1 flags,
 * Receive Maximum, Maximum Packet Size and Subscription Identifier not 0,
 * Topic Alias not 0, Response Topic without wildcards).  After that the
 * accessors below only walk bytes known to be good; a property that is
 * absent costs one bit test.
 */
#ifndef CQ_MQTT_PROPS_H
#define CQ_MQTT_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/proto.h"

/* Property identifiers (§2.2.2.2) with their data types. */
#define CQ_MQTT_PROP_PAYLOAD_FORMAT         0x01 /* byte */
#define CQ_MQTT_PROP_MESSAGE_EXPIRY         0x02 /* four-byte */
#define CQ_MQTT_PROP_CONTENT_TYPE           0x03 /* UTF-8 */
#define CQ_MQTT_PROP_RESPONSE_TOPIC         0x08 /* UTF-8 */
#define CQ_MQTT_PROP_CORRELATION_DATA       0x09 /* binary */
#define CQ_MQTT_PROP_SUBSCRIPTION_ID        0x0b /* varint */
#define CQ_MQTT_PROP_SESSION_EXPIRY         0x11 /* four-byte */
#define CQ_MQTT_PROP_ASSIGNED_CLIENT_ID     0x12 /* UTF-8 */
#define CQ_MQTT_PROP_SERVER_KEEP_ALIVE      0x13 /* two-byte */
#define CQ_MQTT_PROP_AUTH_METHOD            0x15 /* UTF-8 */
#define CQ_MQTT_PROP_AUTH_DATA              0x16 /* binary */
#define CQ_MQTT_PROP_REQUEST_PROBLEM_INFO   0x17 /* byte */
#define CQ_MQTT_PROP_WILL_DELAY             0x18 /* four-byte */
#define CQ_MQTT_PROP_REQUEST_RESPONSE_INFO  0x19 /* byte */
#define CQ_MQTT_PROP_RESPONSE_INFO          0x1a /* UTF-8 */
#define CQ_MQTT_PROP_SERVER_REFERENCE       0x1c /* UTF-8 */
#define CQ_MQTT_PROP_REASON_STRING          0x1f /* UTF-8 */
#define CQ_MQTT_PROP_RECEIVE_MAX            0x21 /* two-byte */
#define CQ_MQTT_PROP_TOPIC_ALIAS_MAX        0x22 /* two-byte */
#define CQ_MQTT_PROP_TOPIC_ALIAS            0x23 /* two-byte */
#define CQ_MQTT_PROP_MAX_QOS                0x24 /* byte */
#define CQ_MQTT_PROP_RETAIN_AVAILABLE       0x25 /* byte */
#define CQ_MQTT_PROP_USER                   0x26 /* string pair */
#define CQ_MQTT_PROP_MAX_PACKET_SIZE        0x27 /* four-byte */
#define CQ_MQTT_PROP_WILDCARD_SUB_AVAILABLE 0x28 /* byte */
#define CQ_MQTT_PROP_SUB_ID_AVAILABLE       0x29 /* byte */
#define CQ_MQTT_PROP_SHARED_SUB_AVAILABLE   0x2a /* byte */
#define CQ_MQTT_PROP_ID_MAX                 0x2a

#define CQ_MQTT_PROP_BIT(id)                (UINT64_C(1) << (id))

/* Data types (§1.5). */
enum cq_mqtt_prop_type {
	CQ_MQTT_PT_NONE = 0, /* not a property identifier */
	CQ_MQTT_PT_BYTE,
	CQ_MQTT_PT_U16,
	CQ_MQTT_PT_U32,
	CQ_MQTT_PT_VARINT,
	CQ_MQTT_PT_UTF8,
	CQ_MQTT_PT_BIN,
	CQ_MQTT_PT_PAIR,
};

typedef struct cq_mqtt_props {
	const uint8_t *raw; /* the bytes after Property Length */
	uint32_t len;
	uint64_t present; /* CQ_MQTT_PROP_BIT(id) for each id that occurs */
} cq_mqtt_props_t;

/* One property as the iterator yields it. */
typedef struct cq_mqtt_prop {
	uint8_t id;
	uint8_t type; /* CQ_MQTT_PT_* */
	uint32_t num; /* BYTE, U16, U32, VARINT */
	cq_mqtt_view_t str; /* UTF8, BIN; the value of a PAIR */
	cq_mqtt_view_t key; /* the name of a PAIR */
} cq_mqtt_prop_t;

typedef struct cq_mqtt_prop_iter {
	const uint8_t *p;
	const uint8_t *end;
} cq_mqtt_prop_iter_t;

/* The table: data type (CQ_MQTT_PT_NONE if unknown), name, placement. */
unsigned cq_mqtt_prop_type(unsigned id);
const char *cq_mqtt_prop_name(unsigned id);
/* May 'id' appear in packet type 'ptype' (CQ_MQTT_WILL: will props)? */
bool cq_mqtt_prop_allowed(unsigned id, unsigned ptype);
/* May it appear more than once there? */
bool cq_mqtt_prop_repeatable(unsigned id, unsigned ptype);

/*
 * Check raw[0..len) as the properties of packet type ptype and fill
 * *props_r.  CQ_MQTT_OK, or CQ_MQTT_ERR_PROP_ID, _PROP_NOT_ALLOWED,
 * _PROP_DUP, _PROP_LENGTH, _PROP_VALUE, _VARINT, _UTF8 or _TOPIC_ALIAS.
 */
cq_mqtt_err_t cq_mqtt_props_parse(const uint8_t *raw, uint32_t len,
	unsigned ptype, cq_mqtt_props_t *props_r);

static inline bool
cq_mqtt_props_has(const cq_mqtt_props_t *props, unsigned id)
{
	return id <= CQ_MQTT_PROP_ID_MAX &&
		(props->present & CQ_MQTT_PROP_BIT(id)) != 0;
}

/*
 * The first occurrence of property 'id': 0 with the value, or -1 when
 * absent.  _get_int is for the integer types, _get_bin for UTF-8 strings
 * and binary data.  'props' must come from cq_mqtt_props_parse() or a
 * cq_mqtt_pbuf_t.
 */
int cq_mqtt_props_get_int(
	const cq_mqtt_props_t *props, unsigned id, uint32_t *v_r);
int cq_mqtt_props_get_bin(
	const cq_mqtt_props_t *props, unsigned id, cq_mqtt_view_t *v_r);
/* The value, or 'dflt' when absent (e.g. Receive Maximum: 65535). */
uint32_t cq_mqtt_props_int_or(
	const cq_mqtt_props_t *props, unsigned id, uint32_t dflt);
/* How many times 'id' occurs (User Property, Subscription Identifier). */
unsigned cq_mqtt_props_count(const cq_mqtt_props_t *props, unsigned id);

/* Walk every property in wire order. */
void cq_mqtt_props_iter(const cq_mqtt_props_t *props, cq_mqtt_prop_iter_t *it);
/* The next property; false at the end (or at bytes that do not parse). */
bool cq_mqtt_props_next(cq_mqtt_prop_iter_t *it, cq_mqtt_prop_t *prop_r);
/* The next User Property, in order. */
bool cq_mqtt_props_next_user(cq_mqtt_prop_iter_t *it, cq_mqtt_view_t *name_r,
	cq_mqtt_view_t *value_r);
/* The next Subscription Identifier. */
bool cq_mqtt_props_next_sub_id(cq_mqtt_prop_iter_t *it, uint32_t *id_r);

/*
 * Typed accessors for the single-valued properties: 0 with the value, -1
 * when absent.
 */
#define CQ_MQTT_PROPS_INT_ACCESSOR(name, id)                                   \
	static inline int cq_mqtt_props_##name(                                \
		const cq_mqtt_props_t *props, uint32_t *v_r)                   \
	{                                                                      \
		return cq_mqtt_props_get_int(props, id, v_r);                  \
	}
#define CQ_MQTT_PROPS_BIN_ACCESSOR(name, id)                                   \
	static inline int cq_mqtt_props_##name(                                \
		const cq_mqtt_props_t *props, cq_mqtt_view_t *v_r)             \
	{                                                                      \
		return cq_mqtt_props_get_bin(props, id, v_r);                  \
	}
CQ_MQTT_PROPS_INT_ACCESSOR(payload_format, CQ_MQTT_PROP_PAYLOAD_FORMAT)
CQ_MQTT_PROPS_INT_ACCESSOR(message_expiry, CQ_MQTT_PROP_MESSAGE_EXPIRY)
CQ_MQTT_PROPS_BIN_ACCESSOR(content_type, CQ_MQTT_PROP_CONTENT_TYPE)
CQ_MQTT_PROPS_BIN_ACCESSOR(response_topic, CQ_MQTT_PROP_RESPONSE_TOPIC)
CQ_MQTT_PROPS_BIN_ACCESSOR(correlation_data, CQ_MQTT_PROP_CORRELATION_DATA)
CQ_MQTT_PROPS_INT_ACCESSOR(sub_id, CQ_MQTT_PROP_SUBSCRIPTION_ID)
CQ_MQTT_PROPS_INT_ACCESSOR(session_expiry, CQ_MQTT_PROP_SESSION_EXPIRY)
CQ_MQTT_PROPS_BIN_ACCESSOR(assigned_client_id, CQ_MQTT_PROP_ASSIGNED_CLIENT_ID)
CQ_MQTT_PROPS_INT_ACCESSOR(server_keep_alive, CQ_MQTT_PROP_SERVER_KEEP_ALIVE)
CQ_MQTT_PROPS_BIN_ACCESSOR(auth_method, CQ_MQTT_PROP_AUTH_METHOD)
CQ_MQTT_PROPS_BIN_ACCESSOR(auth_data, CQ_MQTT_PROP_AUTH_DATA)
CQ_MQTT_PROPS_INT_ACCESSOR(
	request_problem_info, CQ_MQTT_PROP_REQUEST_PROBLEM_INFO)
CQ_MQTT_PROPS_INT_ACCESSOR(will_delay, CQ_MQTT_PROP_WILL_DELAY)
CQ_MQTT_PROPS_INT_ACCESSOR(
	request_response_info, CQ_MQTT_PROP_REQUEST_RESPONSE_INFO)
CQ_MQTT_PROPS_BIN_ACCESSOR(response_info, CQ_MQTT_PROP_RESPONSE_INFO)
CQ_MQTT_PROPS_BIN_ACCESSOR(server_reference, CQ_MQTT_PROP_SERVER_REFERENCE)
CQ_MQTT_PROPS_BIN_ACCESSOR(reason_string, CQ_MQTT_PROP_REASON_STRING)
CQ_MQTT_PROPS_INT_ACCESSOR(receive_max, CQ_MQTT_PROP_RECEIVE_MAX)
CQ_MQTT_PROPS_INT_ACCESSOR(topic_alias_max, CQ_MQTT_PROP_TOPIC_ALIAS_MAX)
CQ_MQTT_PROPS_INT_ACCESSOR(topic_alias, CQ_MQTT_PROP_TOPIC_ALIAS)
CQ_MQTT_PROPS_INT_ACCESSOR(max_qos, CQ_MQTT_PROP_MAX_QOS)
CQ_MQTT_PROPS_INT_ACCESSOR(retain_available, CQ_MQTT_PROP_RETAIN_AVAILABLE)
CQ_MQTT_PROPS_INT_ACCESSOR(max_packet_size, CQ_MQTT_PROP_MAX_PACKET_SIZE)
CQ_MQTT_PROPS_INT_ACCESSOR(
	wildcard_sub_available, CQ_MQTT_PROP_WILDCARD_SUB_AVAILABLE)
CQ_MQTT_PROPS_INT_ACCESSOR(sub_id_available, CQ_MQTT_PROP_SUB_ID_AVAILABLE)
CQ_MQTT_PROPS_INT_ACCESSOR(
	shared_sub_available, CQ_MQTT_PROP_SHARED_SUB_AVAILABLE)

/*
 * Builder: properties for a packet the broker sends, written into caller
 * memory.  Each call returns 0, or -1 when the value does not fit the
 * identifier's type or the memory is full; the builder then stays failed
 * (so a sequence of calls can be checked once) and keeps what fitted
 * before.  Strings must already be valid UTF-8.  The result is a
 * cq_mqtt_props_t that the accessors above also read.
 */
typedef struct cq_mqtt_pbuf {
	uint8_t *buf;
	uint32_t len;
	uint32_t cap;
	uint64_t present;
	bool failed;
} cq_mqtt_pbuf_t;

void cq_mqtt_pbuf_init(cq_mqtt_pbuf_t *pb, void *mem, size_t cap);
/* An integer property (BYTE, U16, U32 or VARINT by the table). */
int cq_mqtt_pbuf_int(cq_mqtt_pbuf_t *pb, unsigned id, uint32_t v);
/* A UTF-8 string or binary data property. */
int cq_mqtt_pbuf_bin(cq_mqtt_pbuf_t *pb, unsigned id, const void *p, size_t n);
int cq_mqtt_pbuf_user(cq_mqtt_pbuf_t *pb, const void *name, size_t name_len,
	const void *value, size_t value_len);
/*
 * Copy src's properties in order, leaving out every id whose
 * CQ_MQTT_PROP_BIT is in 'skip' (forwarding a PUBLISH: skip the Topic
 * Alias and Message Expiry Interval, add the new ones).  Never needs more
 * than src->len bytes.
 */
int cq_mqtt_pbuf_copy(
	cq_mqtt_pbuf_t *pb, const cq_mqtt_props_t *src, uint64_t skip);
cq_mqtt_props_t cq_mqtt_pbuf_props(const cq_mqtt_pbuf_t *pb);

#endif /* CQ_MQTT_PROPS_H */
