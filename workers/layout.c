/*
 * layout.c — see layout.h.
 */
#include "config.h"
#include "workers/layout.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt/props.h"
#include "mqtt/publish.h"
#include "shm/counters.h"
#include "workers/conn.h"

void
cq_layouts_begin(
	cq_layouts_t *ls, cq_buf_t *buf, const cq_dmsg_t *d, uint64_t now_s)
{
	ls->d = d;
	ls->now_s = now_s;
	ls->buf = buf;
	ls->n = 0;
	cq_buf_reset(buf);
}

static bool
same(const cq_layout_t *l, const cq_layout_t *k, const uint32_t *ids)
{
	return l->v5 == k->v5 && l->strip == k->strip && l->qos == k->qos &&
		l->retain == k->retain &&
		(!k->v5 ||
			(l->alias == k->alias &&
				l->alias_only == k->alias_only &&
				l->nids == k->nids &&
				(k->nids == 0 ||
					memcmp(l->ids, ids,
						k->nids * sizeof(*ids)) == 0)));
}

/*
 * The MQTT 5 properties of the delivery into pb: the publisher's minus
 * Topic Alias and Message Expiry, the expiry left, the ids.
 */
static int
build_props(const cq_layouts_t *ls, cq_mqtt_pbuf_t *pb, const cq_layout_t *l)
{
	const uint32_t *ids = l->ids;
	unsigned nids = l->nids;
	const cq_dmsg_t *d = ls->d;
	if (d->props_len > 0) {
		cq_mqtt_props_t src;
		if (cq_mqtt_props_parse(d->props, (uint32_t)d->props_len,
			    CQ_MQTT_PUBLISH, &src) != CQ_MQTT_OK)
			return -1;
		uint64_t skip = CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_TOPIC_ALIAS) |
			CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_MESSAGE_EXPIRY) |
			CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_SUBSCRIPTION_ID);
		if (cq_mqtt_pbuf_copy(pb, &src, skip) < 0)
			return -1;
	}
	if (d->expiry != 0) {
		uint64_t left = d->expiry > ls->now_s ? d->expiry - ls->now_s
						      : 1;
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_MESSAGE_EXPIRY,
			(uint32_t)(left > UINT32_MAX ? UINT32_MAX : left));
	}
	for (unsigned i = 0; i < nids; i++)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_SUBSCRIPTION_ID, ids[i]);
	if (l->alias != 0)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_TOPIC_ALIAS, l->alias);
	return pb->failed ? -1 : 0;
}

static const cq_layout_t *
build(cq_layouts_t *ls, cq_layout_t *l, uint8_t version)
{
	const cq_dmsg_t *d = ls->d;
	cq_mqtt_publish_t pub = {.qos = l->qos,
		.retain = l->retain,
		.packet_id = l->qos ? 1 : 0,
		.topic = cq_mqtt_view(d->topic + l->strip,
			l->alias_only ? 0 : d->topic_len - l->strip),
		.payload = cq_mqtt_view(d->payload, d->payload_len)};
	uint8_t stackmem[512], *pmem = NULL;
	if (l->v5) {
		/* The common case fits on the stack: no allocation. */
		size_t cap = d->props_len + 11 + 6u * l->nids;
		pmem = cap <= sizeof(stackmem) ? stackmem : malloc(cap);
		if (pmem == NULL)
			return NULL;
		cq_mqtt_pbuf_t pb;
		cq_mqtt_pbuf_init(&pb, pmem, cap);
		if (build_props(ls, &pb, l) < 0) {
			if (pmem != stackmem)
				free(pmem);
			return NULL;
		}
		pub.props = cq_mqtt_pbuf_props(&pb);
	}
	const cq_layout_t *res = NULL;
	size_t n = cq_mqtt_publish_header_size(&pub, version);
	if (n != 0 && cq_buf_reserve(ls->buf, n) == 0) {
		size_t pid_off = 0;
		l->hdr_off = ls->buf->len;
		l->hdr_len = cq_mqtt_publish_header_encode(
			&pub, version, cq_buf_tail(ls->buf), n, &pid_off);
		l->pid_off = pid_off;
		cq_buf_commit(ls->buf, l->hdr_len);
		res = l->hdr_len != 0 ? l : NULL;
	}
	if (pmem != stackmem)
		free(pmem);
	return res;
}

/* Bytes of c's mount point at the start of the topic (0: none). */
static uint16_t
strip_of(const cq_conn_t *c, const cq_dmsg_t *d)
{
	const cq_config_t *cfg = c->w->cfg;
	if (c->listener >= cfg->n_listeners)
		return 0;
	const char *mp = cfg->listeners[c->listener].mount_point;
	size_t n = strlen(mp);
	if (n == 0 || n >= d->topic_len || memcmp(d->topic, mp, n) != 0)
		return 0;
	return (uint16_t)n;
}

const cq_layout_t *
cq_layouts_get(cq_layouts_t *ls, cq_conn_t *c, uint8_t qos, bool retain,
	const uint32_t *ids, unsigned nids)
{
	uint8_t v5 = c->version == CQ_MQTT_V5;
	if (!v5 || nids > CQ_LAYOUT_MAX_IDS)
		nids = v5 ? CQ_LAYOUT_MAX_IDS : 0;
	cq_layout_t key = {.v5 = v5,
		.strip = strip_of(c, ls->d),
		.qos = qos,
		.retain = retain,
		.nids = (uint8_t)nids};
	if (v5 && c->aliases != NULL)
		key.alias = cq_alias_out_pick(&c->aliases->out,
			ls->d->topic + key.strip, ls->d->topic_len - key.strip,
			&key.alias_only);
	for (unsigned i = 0; i < ls->n; i++)
		if (same(&ls->l[i], &key, ids))
			return &ls->l[i];
	if (ls->n == CQ_LAYOUT_CACHE) {
		/* Unusual: many layouts for one message.  Start over. */
		ls->n = 0;
		cq_buf_reset(ls->buf);
	}
	cq_layout_t *l = &ls->l[ls->n];
	*l = key;
	if (nids)
		memcpy(l->ids, ids, nids * sizeof(*ids));
	if (build(ls, l, v5 ? CQ_MQTT_V5 : CQ_MQTT_V311) == NULL)
		return NULL;
	ls->n++;
	return l;
}

size_t
cq_layout_size(const cq_layouts_t *ls, const cq_layout_t *l)
{
	return l->hdr_len + ls->d->payload_len;
}

int
cq_layout_emit(cq_conn_t *c, const cq_layouts_t *ls, const cq_layout_t *l,
	uint16_t pid, bool dup)
{
	size_t total = cq_layout_size(ls, l);
	if (c->max_packet != 0 && total > c->max_packet) {
		cq_counter_add(CQ_CTR_DROP_TOO_LARGE, 1);
		return 1;
	}
	unsigned char *p = cq_conn_reserve(c, total);
	if (p == NULL)
		return -1;
	memcpy(p, ls->buf->data + l->hdr_off, l->hdr_len);
	if (l->qos > 0)
		cq_mqtt_publish_set_packet_id(p, l->pid_off, pid);
	if (dup)
		p[0] |= CQ_MQTT_PUB_DUP;
	if (ls->d->payload_len)
		memcpy(p + l->hdr_len, ls->d->payload, ls->d->payload_len);
	cq_conn_commit(c, total);
	if (l->alias != 0 && !l->alias_only)
		cq_alias_out_commit(&c->aliases->out, l->alias,
			ls->d->topic + l->strip, ls->d->topic_len - l->strip);
	static const cq_counter_t out[] = {
		CQ_CTR_MSGS_OUT_Q0, CQ_CTR_MSGS_OUT_Q1, CQ_CTR_MSGS_OUT_Q2};
	cq_counter_add(out[l->qos], 1);
	cq_counter_add(CQ_CTR_PAYLOAD_OUT_Q0 + l->qos, ls->d->payload_len);
	return 0;
}
