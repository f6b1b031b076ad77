/*
 * props.c — see props.h.  The table below is §2.2.2.2 of MQTT 5.0: one
 * row per identifier with its data type and the packets it may appear in.
 */
#include "config.h"
#include "mqtt/props.h"

#include <string.h>

#include "core/assert.h"
#include "core/defs.h"
#include "mqtt/topic.h"
#include "mqtt/wire.h"

#define IN(t)      (1u << (t))
#define IN_WILL    IN(CQ_MQTT_WILL)
#define IN_MESSAGE (IN(CQ_MQTT_PUBLISH) | IN_WILL)
#define IN_ACKS                                                                \
	(IN(CQ_MQTT_PUBACK) | IN(CQ_MQTT_PUBREC) | IN(CQ_MQTT_PUBREL) |        \
		IN(CQ_MQTT_PUBCOMP) | IN(CQ_MQTT_SUBACK) |                     \
		IN(CQ_MQTT_UNSUBACK))
#define IN_AUTH (IN(CQ_MQTT_CONNECT) | IN(CQ_MQTT_CONNACK) | IN(CQ_MQTT_AUTH))

static const struct prop_info {
	uint8_t type;
	uint16_t allowed; /* IN(packet type) bits; IN_WILL: will properties */
	const char *name;
} prop_table[CQ_MQTT_PROP_ID_MAX + 1] = {
	[CQ_MQTT_PROP_PAYLOAD_FORMAT] = {CQ_MQTT_PT_BYTE, IN_MESSAGE,
		"Payload Format Indicator"},
	[CQ_MQTT_PROP_MESSAGE_EXPIRY] = {CQ_MQTT_PT_U32, IN_MESSAGE,
		"Message Expiry Interval"},
	[CQ_MQTT_PROP_CONTENT_TYPE] = {CQ_MQTT_PT_UTF8, IN_MESSAGE,
		"Content Type"},
	[CQ_MQTT_PROP_RESPONSE_TOPIC] = {CQ_MQTT_PT_UTF8, IN_MESSAGE,
		"Response Topic"},
	[CQ_MQTT_PROP_CORRELATION_DATA] = {CQ_MQTT_PT_BIN, IN_MESSAGE,
		"Correlation Data"},
	[CQ_MQTT_PROP_SUBSCRIPTION_ID] = {CQ_MQTT_PT_VARINT,
		IN(CQ_MQTT_PUBLISH) | IN(CQ_MQTT_SUBSCRIBE),
		"Subscription Identifier"},
	[CQ_MQTT_PROP_SESSION_EXPIRY] = {CQ_MQTT_PT_U32,
		IN(CQ_MQTT_CONNECT) | IN(CQ_MQTT_CONNACK) |
			IN(CQ_MQTT_DISCONNECT),
		"Session Expiry Interval"},
	[CQ_MQTT_PROP_ASSIGNED_CLIENT_ID] = {CQ_MQTT_PT_UTF8,
		IN(CQ_MQTT_CONNACK), "Assigned Client Identifier"},
	[CQ_MQTT_PROP_SERVER_KEEP_ALIVE] = {CQ_MQTT_PT_U16, IN(CQ_MQTT_CONNACK),
		"Server Keep Alive"},
	[CQ_MQTT_PROP_AUTH_METHOD] = {CQ_MQTT_PT_UTF8, IN_AUTH,
		"Authentication Method"},
	[CQ_MQTT_PROP_AUTH_DATA] = {CQ_MQTT_PT_BIN, IN_AUTH,
		"Authentication Data"},
	[CQ_MQTT_PROP_REQUEST_PROBLEM_INFO] = {CQ_MQTT_PT_BYTE,
		IN(CQ_MQTT_CONNECT), "Request Problem Information"},
	[CQ_MQTT_PROP_WILL_DELAY] = {CQ_MQTT_PT_U32, IN_WILL,
		"Will Delay Interval"},
	[CQ_MQTT_PROP_REQUEST_RESPONSE_INFO] = {CQ_MQTT_PT_BYTE,
		IN(CQ_MQTT_CONNECT), "Request Response Information"},
	[CQ_MQTT_PROP_RESPONSE_INFO] = {CQ_MQTT_PT_UTF8, IN(CQ_MQTT_CONNACK),
		"Response Information"},
	[CQ_MQTT_PROP_SERVER_REFERENCE] = {CQ_MQTT_PT_UTF8,
		IN(CQ_MQTT_CONNACK) | IN(CQ_MQTT_DISCONNECT),
		"Server Reference"},
	[CQ_MQTT_PROP_REASON_STRING] = {CQ_MQTT_PT_UTF8,
		IN(CQ_MQTT_CONNACK) | IN_ACKS | IN(CQ_MQTT_DISCONNECT) |
			IN(CQ_MQTT_AUTH),
		"Reason String"},
	[CQ_MQTT_PROP_RECEIVE_MAX] = {CQ_MQTT_PT_U16,
		IN(CQ_MQTT_CONNECT) | IN(CQ_MQTT_CONNACK), "Receive Maximum"},
	[CQ_MQTT_PROP_TOPIC_ALIAS_MAX] = {CQ_MQTT_PT_U16,
		IN(CQ_MQTT_CONNECT) | IN(CQ_MQTT_CONNACK),
		"Topic Alias Maximum"},
	[CQ_MQTT_PROP_TOPIC_ALIAS] = {CQ_MQTT_PT_U16, IN(CQ_MQTT_PUBLISH),
		"Topic Alias"},
	[CQ_MQTT_PROP_MAX_QOS] = {CQ_MQTT_PT_BYTE, IN(CQ_MQTT_CONNACK),
		"Maximum QoS"},
	[CQ_MQTT_PROP_RETAIN_AVAILABLE] = {CQ_MQTT_PT_BYTE, IN(CQ_MQTT_CONNACK),
		"Retain Available"},
	[CQ_MQTT_PROP_USER] = {CQ_MQTT_PT_PAIR,
		IN(CQ_MQTT_CONNECT) | IN(CQ_MQTT_CONNACK) | IN_MESSAGE |
			IN_ACKS | IN(CQ_MQTT_SUBSCRIBE) |
			IN(CQ_MQTT_UNSUBSCRIBE) | IN(CQ_MQTT_DISCONNECT) |
			IN(CQ_MQTT_AUTH),
		"User Property"},
	[CQ_MQTT_PROP_MAX_PACKET_SIZE] = {CQ_MQTT_PT_U32,
		IN(CQ_MQTT_CONNECT) | IN(CQ_MQTT_CONNACK),
		"Maximum Packet Size"},
	[CQ_MQTT_PROP_WILDCARD_SUB_AVAILABLE] = {CQ_MQTT_PT_BYTE,
		IN(CQ_MQTT_CONNACK), "Wildcard Subscription Available"},
	[CQ_MQTT_PROP_SUB_ID_AVAILABLE] = {CQ_MQTT_PT_BYTE, IN(CQ_MQTT_CONNACK),
		"Subscription Identifier Available"},
	[CQ_MQTT_PROP_SHARED_SUB_AVAILABLE] = {CQ_MQTT_PT_BYTE,
		IN(CQ_MQTT_CONNACK), "Shared Subscription Available"},
};

static const struct prop_info *
prop_info(unsigned id)
{
	if (id > CQ_MQTT_PROP_ID_MAX || prop_table[id].type == CQ_MQTT_PT_NONE)
		return NULL;
	return &prop_table[id];
}

unsigned
cq_mqtt_prop_type(unsigned id)
{
	const struct prop_info *pi = prop_info(id);
	return pi ? pi->type : CQ_MQTT_PT_NONE;
}

const char *
cq_mqtt_prop_name(unsigned id)
{
	const struct prop_info *pi = prop_info(id);
	return pi ? pi->name : "unknown property";
}

bool
cq_mqtt_prop_allowed(unsigned id, unsigned ptype)
{
	const struct prop_info *pi = prop_info(id);
	return pi && ptype < 16 && (pi->allowed & IN(ptype));
}

/*
 * User Property may always repeat (§3.1.2.11.8 and the other packets).  A
 * PUBLISH to a client carries one Subscription Identifier per matching
 * subscription (§3.3.2.3.8); SUBSCRIBE carries at most one (§3.8.2.1.2).
 */
bool
cq_mqtt_prop_repeatable(unsigned id, unsigned ptype)
{
	return id == CQ_MQTT_PROP_USER ||
		(id == CQ_MQTT_PROP_SUBSCRIPTION_ID &&
			ptype == CQ_MQTT_PUBLISH);
}

/* Binary Data at *pp within end: false if it does not fit. */
static bool
read_bin(const uint8_t **pp, const uint8_t *end, cq_mqtt_view_t *v_r)
{
	cq_mqtt_rd_t r = {*pp, end};
	if (!cq_mqtt_rd_bin(&r, v_r))
		return false;
	*pp = r.p;
	return true;
}

static cq_mqtt_err_t
read_int(const uint8_t **pp, const uint8_t *end, unsigned type, uint32_t *v_r)
{
	const uint8_t *p = *pp;
	size_t left = (size_t)(end - p);
	unsigned n;

	switch (type) {
	case CQ_MQTT_PT_BYTE:
		n = 1;
		break;
	case CQ_MQTT_PT_U16:
		n = 2;
		break;
	case CQ_MQTT_PT_U32:
		n = 4;
		break;
	default: {
		int rc = cq_mqtt_varint_get(p, left, v_r, &n);
		if (rc == CQ_AGAIN)
			return CQ_MQTT_ERR_PROP_LENGTH;
		if (rc < 0 || !cq_mqtt_varint_minimal(p, n))
			return CQ_MQTT_ERR_VARINT;
		*pp = p + n;
		return CQ_MQTT_OK;
	}
	}
	if (left < n)
		return CQ_MQTT_ERR_PROP_LENGTH;
	*v_r = 0;
	for (unsigned i = 0; i < n; i++)
		*v_r = *v_r << 8 | p[i];
	*pp = p + n;
	return CQ_MQTT_OK;
}

/*
 * Read the property at *pp (< end) into *pr and advance.  UTF-8 is checked
 * only when 'check' is set: the accessors re-read bytes parsed before.
 */
static cq_mqtt_err_t
read_prop(
	const uint8_t **pp, const uint8_t *end, cq_mqtt_prop_t *pr, bool check)
{
	const uint8_t *p = *pp;
	const struct prop_info *pi = prop_info(*p);

	if (pi == NULL)
		return CQ_MQTT_ERR_PROP_ID;
	pr->id = *p++;
	pr->type = pi->type;
	if (pi->type < CQ_MQTT_PT_UTF8) {
		cq_mqtt_err_t e = read_int(&p, end, pi->type, &pr->num);
		if (e != CQ_MQTT_OK)
			return e;
	} else if (pi->type == CQ_MQTT_PT_PAIR) {
		if (!read_bin(&p, end, &pr->key) ||
			!read_bin(&p, end, &pr->str))
			return CQ_MQTT_ERR_PROP_LENGTH;
		if (check &&
			(!cq_utf8_valid_mqtt(pr->key.ptr, pr->key.len) ||
				!cq_utf8_valid_mqtt(pr->str.ptr, pr->str.len)))
			return CQ_MQTT_ERR_UTF8;
	} else {
		if (!read_bin(&p, end, &pr->str))
			return CQ_MQTT_ERR_PROP_LENGTH;
		if (check && pi->type == CQ_MQTT_PT_UTF8 &&
			!cq_utf8_valid_mqtt(pr->str.ptr, pr->str.len))
			return CQ_MQTT_ERR_UTF8;
	}
	*pp = p;
	return CQ_MQTT_OK;
}

/* Value rules from the description of each property in §3. */
static cq_mqtt_err_t
check_value(const cq_mqtt_prop_t *pr)
{
	switch (pr->id) {
	case CQ_MQTT_PROP_PAYLOAD_FORMAT:
	case CQ_MQTT_PROP_REQUEST_PROBLEM_INFO:
	case CQ_MQTT_PROP_REQUEST_RESPONSE_INFO:
	case CQ_MQTT_PROP_MAX_QOS:
	case CQ_MQTT_PROP_RETAIN_AVAILABLE:
	case CQ_MQTT_PROP_WILDCARD_SUB_AVAILABLE:
	case CQ_MQTT_PROP_SUB_ID_AVAILABLE:
	case CQ_MQTT_PROP_SHARED_SUB_AVAILABLE:
		return pr->num <= 1 ? CQ_MQTT_OK : CQ_MQTT_ERR_PROP_VALUE;
	case CQ_MQTT_PROP_RECEIVE_MAX:
	case CQ_MQTT_PROP_MAX_PACKET_SIZE:
	case CQ_MQTT_PROP_SUBSCRIPTION_ID:
		return pr->num != 0 ? CQ_MQTT_OK : CQ_MQTT_ERR_PROP_VALUE;
	case CQ_MQTT_PROP_TOPIC_ALIAS:
		/* [MQTT-3.3.2-8]: answered with 0x94 Topic Alias invalid. */
		return pr->num != 0 ? CQ_MQTT_OK : CQ_MQTT_ERR_TOPIC_ALIAS;
	case CQ_MQTT_PROP_RESPONSE_TOPIC:
		/* [MQTT-3.3.2-14]: a topic name, no wildcards. */
		return cq_topic_name_check(pr->str.ptr, pr->str.len, 0) ==
				CQ_TOPIC_OK
			? CQ_MQTT_OK
			: CQ_MQTT_ERR_PROP_VALUE;
	default:
		return CQ_MQTT_OK;
	}
}

cq_mqtt_err_t
cq_mqtt_props_parse(const uint8_t *raw, uint32_t len, unsigned ptype,
	cq_mqtt_props_t *props_r)
{
	/* (no arithmetic on a NULL raw: empty sections may have one) */
	const uint8_t *p = raw, *end = len ? raw + len : raw;
	uint64_t present = 0;

	while (p < end) {
		cq_mqtt_prop_t pr;
		unsigned id = *p;
		if (prop_info(id) == NULL)
			return CQ_MQTT_ERR_PROP_ID;
		if (!cq_mqtt_prop_allowed(id, ptype))
			return CQ_MQTT_ERR_PROP_NOT_ALLOWED; /* §2.2.2.2 */
		if ((present & CQ_MQTT_PROP_BIT(id)) &&
			!cq_mqtt_prop_repeatable(id, ptype))
			return CQ_MQTT_ERR_PROP_DUP;
		present |= CQ_MQTT_PROP_BIT(id);
		cq_mqtt_err_t e = read_prop(&p, end, &pr, true);
		if (e == CQ_MQTT_OK)
			e = check_value(&pr);
		if (e != CQ_MQTT_OK)
			return e;
	}
	/* Authentication Data needs a method (§3.1.2.11.10, §3.15.2.2.2). */
	if ((present & CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_AUTH_DATA)) &&
		!(present & CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_AUTH_METHOD)))
		return CQ_MQTT_ERR_PROP_VALUE;
	props_r->raw = raw;
	props_r->len = len;
	props_r->present = present;
	return CQ_MQTT_OK;
}

cq_mqtt_err_t
cq_mqtt_rd_props(cq_mqtt_rd_t *r, unsigned ptype, cq_mqtt_props_t *props_r)
{
	uint32_t len;
	unsigned n;
	int rc = cq_mqtt_varint_get(r->p, cq_mqtt_rd_left(r), &len, &n);

	if (rc == CQ_AGAIN)
		return CQ_MQTT_ERR_PROP_LENGTH;
	if (rc < 0 || !cq_mqtt_varint_minimal(r->p, n))
		return CQ_MQTT_ERR_VARINT;
	r->p += n;
	if (len > cq_mqtt_rd_left(r))
		return CQ_MQTT_ERR_PROP_LENGTH;
	cq_mqtt_err_t e = cq_mqtt_props_parse(r->p, len, ptype, props_r);
	r->p += len;
	return e;
}

void
cq_mqtt_props_iter(const cq_mqtt_props_t *props, cq_mqtt_prop_iter_t *it)
{
	/* A section with no bytes may have a NULL raw (v3 packets). */
	it->p = props->raw;
	it->end = props->len ? props->raw + props->len : props->raw;
}

bool
cq_mqtt_props_next(cq_mqtt_prop_iter_t *it, cq_mqtt_prop_t *prop_r)
{
	if (it->p == NULL || it->p >= it->end)
		return false;
	if (read_prop(&it->p, it->end, prop_r, false) != CQ_MQTT_OK) {
		it->p = it->end;
		return false;
	}
	return true;
}

bool
cq_mqtt_props_next_user(cq_mqtt_prop_iter_t *it, cq_mqtt_view_t *name_r,
	cq_mqtt_view_t *value_r)
{
	cq_mqtt_prop_t pr;
	while (cq_mqtt_props_next(it, &pr)) {
		if (pr.id == CQ_MQTT_PROP_USER) {
			*name_r = pr.key;
			*value_r = pr.str;
			return true;
		}
	}
	return false;
}

bool
cq_mqtt_props_next_sub_id(cq_mqtt_prop_iter_t *it, uint32_t *id_r)
{
	cq_mqtt_prop_t pr;
	while (cq_mqtt_props_next(it, &pr)) {
		if (pr.id == CQ_MQTT_PROP_SUBSCRIPTION_ID) {
			*id_r = pr.num;
			return true;
		}
	}
	return false;
}

static bool
find(const cq_mqtt_props_t *props, unsigned id, cq_mqtt_prop_t *pr)
{
	cq_mqtt_prop_iter_t it;

	if (!cq_mqtt_props_has(props, id))
		return false;
	cq_mqtt_props_iter(props, &it);
	while (cq_mqtt_props_next(&it, pr))
		if (pr->id == id)
			return true;
	return false;
}

int
cq_mqtt_props_get_int(const cq_mqtt_props_t *props, unsigned id, uint32_t *v_r)
{
	cq_mqtt_prop_t pr;

	cq_dassert(cq_mqtt_prop_type(id) != CQ_MQTT_PT_NONE &&
		cq_mqtt_prop_type(id) < CQ_MQTT_PT_UTF8);
	if (!find(props, id, &pr))
		return -1;
	*v_r = pr.num;
	return 0;
}

int
cq_mqtt_props_get_bin(
	const cq_mqtt_props_t *props, unsigned id, cq_mqtt_view_t *v_r)
{
	cq_mqtt_prop_t pr;

	cq_dassert(cq_mqtt_prop_type(id) == CQ_MQTT_PT_UTF8 ||
		cq_mqtt_prop_type(id) == CQ_MQTT_PT_BIN);
	if (!find(props, id, &pr))
		return -1;
	*v_r = pr.str;
	return 0;
}

uint32_t
cq_mqtt_props_int_or(const cq_mqtt_props_t *props, unsigned id, uint32_t dflt)
{
	uint32_t v;
	return cq_mqtt_props_get_int(props, id, &v) == 0 ? v : dflt;
}

unsigned
cq_mqtt_props_count(const cq_mqtt_props_t *props, unsigned id)
{
	cq_mqtt_prop_iter_t it;
	cq_mqtt_prop_t pr;
	unsigned n = 0;

	if (!cq_mqtt_props_has(props, id))
		return 0;
	cq_mqtt_props_iter(props, &it);
	while (cq_mqtt_props_next(&it, &pr))
		n += pr.id == id;
	return n;
}

/* The builder. */

void
cq_mqtt_pbuf_init(cq_mqtt_pbuf_t *pb, void *mem, size_t cap)
{
	pb->buf = mem;
	pb->len = 0;
	pb->cap = (uint32_t)CQ_MIN(cap, (size_t)CQ_MQTT_MAX_REMAINING);
	pb->present = 0;
	pb->failed = false;
}

static int
pbuf_fail(cq_mqtt_pbuf_t *pb)
{
	pb->failed = true;
	return -1;
}

/* Room for n more bytes, or NULL (and the builder fails). */
static uint8_t *
pbuf_reserve(cq_mqtt_pbuf_t *pb, size_t n)
{
	if (pb->failed || n > pb->cap - pb->len) {
		pb->failed = true;
		return NULL;
	}
	uint8_t *p = pb->buf + pb->len;
	pb->len += (uint32_t)n;
	return p;
}

int
cq_mqtt_pbuf_int(cq_mqtt_pbuf_t *pb, unsigned id, uint32_t v)
{
	static const uint32_t max[] = {
		[CQ_MQTT_PT_BYTE] = 0xff,
		[CQ_MQTT_PT_U16] = 0xffff,
		[CQ_MQTT_PT_U32] = UINT32_MAX,
		[CQ_MQTT_PT_VARINT] = CQ_MQTT_MAX_REMAINING,
	};
	static const unsigned width[] = {[CQ_MQTT_PT_BYTE] = 1,
		[CQ_MQTT_PT_U16] = 2,
		[CQ_MQTT_PT_U32] = 4};
	unsigned type = cq_mqtt_prop_type(id);

	if (type == CQ_MQTT_PT_NONE || type >= CQ_MQTT_PT_UTF8 || v > max[type])
		return pbuf_fail(pb);
	unsigned n = type == CQ_MQTT_PT_VARINT ? cq_mqtt_varint_size(v)
					       : width[type];
	uint8_t *p = pbuf_reserve(pb, 1 + n);
	if (p == NULL)
		return -1;
	*p++ = (uint8_t)id;
	if (type == CQ_MQTT_PT_VARINT)
		cq_mqtt_varint_put(p, v);
	else
		for (unsigned i = 0; i < n; i++)
			p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	pb->present |= CQ_MQTT_PROP_BIT(id);
	return 0;
}

int
cq_mqtt_pbuf_bin(cq_mqtt_pbuf_t *pb, unsigned id, const void *src, size_t n)
{
	unsigned type = cq_mqtt_prop_type(id);

	if ((type != CQ_MQTT_PT_UTF8 && type != CQ_MQTT_PT_BIN) ||
		n > CQ_MQTT_MAX_STRING)
		return pbuf_fail(pb);
	uint8_t *p = pbuf_reserve(pb, 3 + n);
	if (p == NULL)
		return -1;
	p = cq_mqtt_put_u8(p, (uint8_t)id);
	cq_mqtt_put_bin(p, cq_mqtt_view(src, n));
	pb->present |= CQ_MQTT_PROP_BIT(id);
	return 0;
}

int
cq_mqtt_pbuf_user(cq_mqtt_pbuf_t *pb, const void *name, size_t name_len,
	const void *value, size_t value_len)
{
	if (name_len > CQ_MQTT_MAX_STRING || value_len > CQ_MQTT_MAX_STRING)
		return pbuf_fail(pb);
	uint8_t *p = pbuf_reserve(pb, 5 + name_len + value_len);
	if (p == NULL)
		return -1;
	p = cq_mqtt_put_u8(p, CQ_MQTT_PROP_USER);
	p = cq_mqtt_put_bin(p, cq_mqtt_view(name, name_len));
	cq_mqtt_put_bin(p, cq_mqtt_view(value, value_len));
	pb->present |= CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_USER);
	return 0;
}

int
cq_mqtt_pbuf_copy(cq_mqtt_pbuf_t *pb, const cq_mqtt_props_t *src, uint64_t skip)
{
	cq_mqtt_prop_iter_t it;
	cq_mqtt_prop_t pr;

	cq_mqtt_props_iter(src, &it);
	const uint8_t *start = it.p;
	while (cq_mqtt_props_next(&it, &pr)) {
		if (!(skip & CQ_MQTT_PROP_BIT(pr.id))) {
			size_t n = (size_t)(it.p - start);
			uint8_t *p = pbuf_reserve(pb, n);
			if (p == NULL)
				return -1;
			memcpy(p, start, n);
			pb->present |= CQ_MQTT_PROP_BIT(pr.id);
		}
		start = it.p;
	}
	return pb->failed ? -1 : 0;
}

cq_mqtt_props_t
cq_mqtt_pbuf_props(const cq_mqtt_pbuf_t *pb)
{
	cq_mqtt_props_t props = {pb->buf, pb->len, pb->present};
	return props;
}
