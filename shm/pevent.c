/*
 * pevent.c — persistence events: packing, emitting, decoding (pevent.h).
 *
 * The decoder is the storage process's only view of what workers wrote,
 * so it trusts nothing: every length is checked against the record, every
 * field against its range, and a record that fails is refused whole.
 */
#include "config.h"
#include "shm/pevent.h"

#include <errno.h>
#include <string.h>

#include "core/defs.h"
#include "shm/msg.h"
#include "shm/session.h"

#define SUBF_NO_LOCAL 0x01u
#define SUBF_RAP      0x02u

/* What each type carries. */
enum {
	NEED_MSG = 0x01, /* a message reference */
	MAY_MSG = 0x02, /* a reference or none */
	SESSION = 0x04, /* sess != 0; else 0 */
	TEXT = 0x08, /* a filter */
	BAR_ALL = 0x10, /* up to CQ_MAX_WORKERS barrier entries */
	BAR_ONE = 0x20, /* at most one */
};

static const struct {
	const char *name;
	unsigned what;
} types[CQ_PEV_TYPE_END] = {
	[CQ_PEV_SESS_PUT] = {"session put", SESSION},
	[CQ_PEV_SESS_ADOPT] = {"session adopt", SESSION | BAR_ONE},
	[CQ_PEV_SESS_META] = {"session meta", SESSION},
	[CQ_PEV_SESS_DEL] = {"session delete", SESSION | BAR_ONE},
	[CQ_PEV_SUB_ADD] = {"subscribe", SESSION | TEXT},
	[CQ_PEV_SUB_DEL] = {"unsubscribe", SESSION | TEXT},
	[CQ_PEV_QUEUE_PUSH] = {"queue push", SESSION | NEED_MSG},
	[CQ_PEV_QUEUE_POP] = {"queue pop", SESSION},
	[CQ_PEV_INFLIGHT_ADD] = {"inflight add", SESSION | NEED_MSG},
	[CQ_PEV_INFLIGHT_SET] = {"inflight set", SESSION},
	[CQ_PEV_QOS2_ADD] = {"qos2 add", SESSION},
	[CQ_PEV_QOS2_DEL] = {"qos2 delete", SESSION},
	[CQ_PEV_WILL] = {"will", SESSION | MAY_MSG},
	[CQ_PEV_RETAIN_SET] = {"retain set", NEED_MSG | BAR_ALL},
	[CQ_PEV_RETAIN_DEL] = {"retain delete", BAR_ALL},
};

const char *
cq_pev_type_name(unsigned type)
{
	return type > 0 && type < CQ_PEV_TYPE_END ? types[type].name : "?";
}

void
cq_pev_sess_pack(const cq_pev_sess_t *s, cq_pev_t *h)
{
	h->inc = s->inc;
	h->a = s->expiry_interval | (uint64_t)s->protocol << 32;
	h->b = s->queue_max | (uint64_t)s->inflight_max << 32 |
		(uint64_t)s->qos2_max << 48;
	h->c = s->deadline;
}

void
cq_pev_sess_unpack(const cq_pev_t *h, cq_pev_sess_t *s)
{
	*s = (cq_pev_sess_t){.inc = h->inc,
		.deadline = h->c,
		.expiry_interval = (uint32_t)h->a,
		.protocol = (uint8_t)(h->a >> 32),
		.queue_max = (uint32_t)h->b,
		.inflight_max = (uint16_t)(h->b >> 32),
		.qos2_max = (uint16_t)(h->b >> 48)};
}

uint64_t
cq_pev_subopts_pack(const cq_subopts_t *o)
{
	unsigned f = (o->no_local ? SUBF_NO_LOCAL : 0) |
		(o->retain_as_published ? SUBF_RAP : 0) |
		(unsigned)(o->retain_handling & 3u) << 2;
	return o->qos | (uint64_t)f << 8 | (uint64_t)o->sub_id << 32;
}

void
cq_pev_subopts_unpack(uint64_t a, cq_subopts_t *o)
{
	unsigned f = (unsigned)(a >> 8) & 0xffu;
	*o = (cq_subopts_t){.qos = (uint8_t)(a & 0xffu),
		.no_local = (f & SUBF_NO_LOCAL) != 0,
		.retain_as_published = (f & SUBF_RAP) != 0,
		.retain_handling = (uint8_t)((f >> 2) & 3u),
		.sub_id = (uint32_t)(a >> 32)};
}

size_t
cq_pev_size(unsigned nbar, size_t key_len, size_t text_len)
{
	return sizeof(cq_pev_t) + (size_t)nbar * sizeof(uint64_t) + key_len +
		text_len;
}

static size_t
body_len(const cq_pev_t *h)
{
	return cq_pev_size(h->nbar, h->key_len, h->text_len);
}

int
cq_pev_put(uint16_t type, uint16_t flags, cq_pev_t *h, const uint64_t *bar,
	const void *key, const void *text, bool addition)
{
	void *p;
	if (h->msg != CQ_OFF_NULL)
		flags |= CQ_PERSIST_F_MSG;
	int rc = cq_persist_reserve(type, flags, body_len(h), addition, &p);
	if (rc == CQ_AGAIN)
		errno = ENOBUFS;
	if (rc != 0)
		return -1;
	char *q = p;
	memcpy(q, h, sizeof(*h));
	q += sizeof(*h);
	if (h->nbar > 0)
		memcpy(q, bar, (size_t)h->nbar * sizeof(uint64_t));
	q += (size_t)h->nbar * sizeof(uint64_t);
	if (h->key_len > 0)
		memcpy(q, key, h->key_len);
	if (h->text_len > 0)
		memcpy(q + h->key_len, text, h->text_len);
	if (h->msg != CQ_OFF_NULL)
		cq_msg_ref(h->msg, 1);
	return 0;
}

int
cq_pev_emit(uint16_t type, cq_pev_t *h, const uint64_t *bar, const void *key,
	const void *text, bool addition)
{
	if (cq_pev_put(type, 0, h, bar, key, text, addition) < 0)
		return -1;
	cq_persist_commit();
	return 0;
}

/* Ranges of the fields a..c a type uses. */
static const char *
check_fields(uint16_t type, const cq_pev_t *h)
{
	cq_pev_sess_t s;
	cq_subopts_t o;
	unsigned pid = (unsigned)(h->a & 0xffffu);
	unsigned state = (unsigned)((h->a >> 16) & 0xffffu);
	switch (type) {
	case CQ_PEV_SESS_PUT:
		cq_pev_sess_unpack(h, &s);
		if (s.protocol < 3 || s.protocol > 5)
			return "protocol level out of range";
		if (s.inflight_max == 0 || s.qos2_max == 0)
			return "window sizes out of range";
		return NULL;
	case CQ_PEV_SUB_ADD:
		cq_pev_subopts_unpack(h->a, &o);
		if (o.qos > 2 || o.retain_handling > 2)
			return "subscription options out of range";
		return NULL;
	case CQ_PEV_INFLIGHT_ADD:
		if (pid == 0 || state < CQ_INFLIGHT_PUBACK ||
			state > CQ_INFLIGHT_PUBCOMP)
			return "inflight entry out of range";
		return NULL;
	case CQ_PEV_INFLIGHT_SET:
		if (pid == 0 || state > CQ_INFLIGHT_PUBCOMP)
			return "inflight state out of range";
		return NULL;
	case CQ_PEV_QOS2_ADD:
	case CQ_PEV_QOS2_DEL:
		return h->a == 0 || h->a > 65535 ? "packet id out of range"
						 : NULL;
	case CQ_PEV_QUEUE_PUSH:
	case CQ_PEV_QUEUE_POP:
		return h->a > UINT32_MAX ? "queue position out of range" : NULL;
	default:
		return NULL;
	}
}

/* The shape of the record: lengths, references, barriers. */
static const char *
check_shape(const cq_persist_rec_t *rec, const cq_pev_t *h)
{
	unsigned what = types[rec->type].what;
	bool has_msg = h->msg != CQ_OFF_NULL;
	if (body_len(h) > rec->len)
		return "truncated";
	if (has_msg != ((rec->flags & CQ_PERSIST_F_MSG) != 0))
		return "message flag and reference disagree";
	if ((what & NEED_MSG) && !has_msg)
		return "message reference missing";
	if (!(what & (NEED_MSG | MAY_MSG)) && has_msg)
		return "unexpected message reference";
	if ((what & SESSION) != 0 && h->inc == 0)
		return "no session incarnation";
	if (!(what & SESSION) && h->inc != 0)
		return "unexpected session incarnation";
	if (h->key_len == 0)
		return "empty key";
	if (((what & TEXT) != 0) != (h->text_len != 0))
		return "filter missing or unexpected";
	unsigned maxbar = (what & BAR_ALL) ? CQ_MAX_WORKERS
		: (what & BAR_ONE)         ? 1
					   : 0;
	if (h->nbar > maxbar)
		return "too many barrier entries";
	return NULL;
}

int
cq_pev_decode(const cq_persist_rec_t *rec, cq_pev_view_t *v, const char **why_r)
{
	const char *why = NULL;
	if (rec->type == 0 || rec->type >= CQ_PEV_TYPE_END)
		why = "unknown event type";
	else if (rec->len < sizeof(cq_pev_t))
		why = "shorter than an event header";
	if (why == NULL) {
		memcpy(&v->h, rec->data, sizeof(v->h));
		why = check_shape(rec, &v->h);
	}
	if (why == NULL)
		why = check_fields(rec->type, &v->h);
	if (why != NULL) {
		*why_r = why;
		return -1;
	}
	const char *p = (const char *)rec->data + sizeof(cq_pev_t);
	v->type = rec->type;
	v->flags = rec->flags;
	v->bar = (const uint64_t *)p;
	p += (size_t)v->h.nbar * sizeof(uint64_t);
	v->key = p;
	v->text = p + v->h.key_len;
	for (unsigned i = 0; i < v->h.nbar; i++)
		if (cq_pev_bar_slot(v->bar[i]) >= CQ_MAX_WORKERS) {
			*why_r = "barrier names no slot";
			return -1;
		}
	return 0;
}
