/*
 * publish.c — see publish.h.
 *
 * Ordering and crash safety:
 *   - the retained store is updated before routing, so a subscriber that
 *     subscribes meanwhile gets the message one way or the other;
 *   - every record reserved for one message is committed together after
 *     all reservations succeeded (a ring full for a QoS 1/2 message aborts
 *     them all), so a message is never half-sent and retried twice;
 *   - the record takes its message reference before it is committed; a
 *     worker killed between reserve and commit leaves an invisible record
 *     and at worst a leaked reference (found by the checker's census).
 */
#include "config.h"
#include "workers/publish.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/props.h"
#include "shm/counters.h"
#include "shm/msg.h"
#include "shm/retained.h"
#include "shm/ring.h"
#include "shm/route.h"
#include "workers/deliver.h"
#include "workers/hooks.h"
#include "workers/records.h"

#define RATELOG_MS 10000u

void
cq_ratelog(
	cq_worker_t *w, cq_ratelog_t *r, int level, int err, const char *what)
{
	if (w->now_ms < r->next_ms) {
		r->suppressed++;
		return;
	}
	if (r->suppressed > 0)
		cq_log(level, err, "%s (and %llu more like it)", what,
			(unsigned long long)r->suppressed);
	else
		cq_log(level, err, "%s", what);
	r->suppressed = 0;
	r->next_ms = w->now_ms + RATELOG_MS;
}

void
cq_dmsg_from_msg(cq_dmsg_t *d, cq_off_t m)
{
	const cq_msg_t *msg = cq_msg_get(m);
	*d = (cq_dmsg_t){.topic = cq_msg_topic(msg),
		.topic_len = msg->topic_len,
		.props = cq_msg_props(msg),
		.props_len = msg->props_len,
		.payload = cq_msg_payload(msg),
		.payload_len = msg->payload_len,
		.msg = m,
		.qos = msg->qos,
		.retain = (msg->flags & CQ_MSG_F_RETAIN) != 0,
		.rsend = (msg->flags & CQ_MSG_F_RSEND) != 0,
		.origin_slot = msg->origin_slot,
		.origin_session = msg->origin_session,
		.expiry = msg->expiry};
}

static size_t
inline_size(const cq_dmsg_t *d)
{
	return d->topic_len + d->props_len + d->payload_len;
}

cq_off_t
cq_dmsg_store(const cq_dmsg_t *d, uint16_t origin)
{
	cq_msg_info_t info = {.topic = d->topic,
		.topic_len = d->topic_len,
		.props = d->props,
		.props_len = d->props_len,
		.payload = d->payload,
		.payload_len = d->payload_len,
		.qos = d->qos,
		.flags = (uint8_t)((d->retain ? CQ_MSG_F_RETAIN : 0) |
			(d->rsend ? CQ_MSG_F_RSEND : 0)),
		.expiry = d->expiry,
		.origin_slot = origin,
		.origin_session = d->origin_session};
	return cq_msg_create(&info);
}

/* Make sure d has a store object; 0 or -1 (ENOMEM). */
static int
ensure_msg(cq_worker_t *w, cq_dmsg_t *d)
{
	if (d->msg == CQ_OFF_NULL)
		d->msg = cq_dmsg_store(d, (uint16_t)w->slot);
	return d->msg != CQ_OFF_NULL ? 0 : -1;
}

/* The group keys of r that chose worker 'dst'. */
static uint32_t
groups_for(
	const cq_route_result_t *r, unsigned dst, uint64_t *keys, uint32_t max)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->npicks && n < max; i++)
		if (r->picks[i].worker == dst)
			keys[n++] = r->picks[i].key;
	return n;
}

/* Fill the record for dst reserved at p. */
static void
fill_record(void *p, const cq_dmsg_t *d, bool by_ref, const uint64_t *groups,
	uint32_t ng, uint16_t slot)
{
	cq_rec_publish_t *h = p;
	*h = (cq_rec_publish_t){.msg = by_ref ? d->msg : CQ_OFF_NULL,
		.topic_len = (uint16_t)d->topic_len,
		.qos = d->qos,
		.flags = d->retain ? CQ_REC_F_RETAIN : 0,
		.props_len = (uint32_t)d->props_len,
		.payload_len = (uint32_t)d->payload_len,
		.origin_slot = slot,
		.ngroups = (uint16_t)ng,
		.seq = d->seq,
		.origin_session = d->origin_session,
		.expiry = d->expiry};
	char *q = (char *)(h + 1);
	memcpy(q, groups, (size_t)ng * sizeof(uint64_t));
	q += (size_t)ng * sizeof(uint64_t);
	if (by_ref)
		return;
	memcpy(q, d->topic, d->topic_len);
	q += d->topic_len;
	if (d->props_len)
		memcpy(q, d->props, d->props_len);
	q += d->props_len;
	if (d->payload_len)
		memcpy(q, d->payload, d->payload_len);
}

/*
 * Reserve, fill and commit one record per remote destination in 'dsts'.
 * 0, or CQ_AGAIN (QoS 1/2 and a ring full: nothing was committed).
 */
static int
push_records(cq_worker_t *w, cq_dmsg_t *d, uint64_t dsts)
{
	bool by_ref = d->msg != CQ_OFF_NULL;
	uint64_t reserved = 0;
	uint64_t groups[CQ_ROUTE_INLINE_PICKS * 4];
	for (uint64_t m = dsts; m != 0; m &= m - 1) {
		unsigned dst = (unsigned)__builtin_ctzll(m);
		uint32_t ng = groups_for(
			&w->rres, dst, groups, (uint32_t)CQ_ARRAY_SIZE(groups));
		size_t len = sizeof(cq_rec_publish_t) + ng * sizeof(uint64_t) +
			(by_ref ? 0 : inline_size(d));
		void *p;
		int rc = cq_ring_reserve(dst, CQ_REC_PUBLISH,
			by_ref ? CQ_RING_F_MSG : 0, len, &p);
		if (rc == 0) {
			fill_record(
				p, d, by_ref, groups, ng, (uint16_t)w->slot);
			reserved |= UINT64_C(1) << dst;
			continue;
		}
		if (d->qos > 0) {
			for (uint64_t r = reserved; r != 0; r &= r - 1)
				cq_ring_abort((unsigned)__builtin_ctzll(r));
			cq_ratelog(w, &w->log_ring, CQ_LOG_WARN, 0,
				"a ring to another worker is full: holding "
				"QoS 1/2 publishers back");
			return CQ_AGAIN;
		}
		cq_counter_add(CQ_CTR_DROP_RING_FULL, 1);
		cq_ratelog(w, &w->log_ring, CQ_LOG_WARN, 0,
			"a ring to another worker is full: QoS 0 message "
			"dropped");
	}
	unsigned n = (unsigned)__builtin_popcountll(reserved);
	if (by_ref && n > 0)
		cq_msg_ref(d->msg, n);
	for (uint64_t r = reserved; r != 0; r &= r - 1) {
		unsigned dst = (unsigned)__builtin_ctzll(r);
		cq_ring_commit(dst);
		/* Where it ended: a sync ack waits for dst to get past it. */
		w->pub_end[dst] = cq_ring_tail(dst);
	}
	w->pub_dsts = reserved;
	cq_counter_add(CQ_CTR_RING_RECORDS_OUT, n);
	return 0;
}

/* The retained store; failure is logged, not fatal: the message still
 * goes to the current subscribers. */
static void
set_retained(cq_worker_t *w, cq_dmsg_t *d)
{
	if (cq_hooks_retain_message(w, d) < 0)
		return;
	uint32_t max = w->cfg->limits.retained_max;
	if (max != 0 && d->payload_len > 0) {
		cq_retained_stats_t rs;
		cq_retained_stats(&rs);
		if (rs.messages >= max &&
			cq_retained_get(d->topic, d->topic_len, w->now_s) ==
				CQ_OFF_NULL) {
			/* Full: a new topic is not stored; replacing and
			 * clearing still work. */
			cq_counter_add(CQ_CTR_DROP_NO_MEMORY, 1);
			cq_ratelog(w, &w->log_full, CQ_LOG_WARN, 0,
				"limits.retained_max reached: a new retained "
				"topic was not stored");
			return;
		}
	}
	if (cq_retained_set(d->topic, d->topic_len, d->msg) == 0)
		return;
	cq_counter_add(CQ_CTR_DROP_NO_MEMORY, 1);
	cq_ratelog(w, &w->log_full, CQ_LOG_ERR, errno,
		"retained store full: a retained message was not stored");
}

/* Give back the store object cq_publish() made for d. */
static void
release_own(cq_dmsg_t *d, bool own)
{
	if (own && d->msg != CQ_OFF_NULL) {
		cq_msg_unref(d->msg);
		d->msg = CQ_OFF_NULL;
	}
}

/*
 * Match lv in the route trie, push the records, store a retained message
 * and deliver here: 0 or CQ_AGAIN (nothing sent, see cq_publish()).
 */
static int
route(cq_worker_t *w, cq_dmsg_t *d, const cq_topic_levels_t *lv, bool set_ret,
	const cq_lsess_t *publisher)
{
	if (cq_route_match(lv, &w->rres) < 0)
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, errno,
			"too many shared groups matched a topic");
	uint64_t dsts = w->rres.workers;
	for (uint32_t i = 0; i < w->rres.npicks; i++)
		dsts |= UINT64_C(1) << w->rres.picks[i].worker;
	uint64_t me = UINT64_C(1) << w->slot;
	if (push_records(w, d, dsts & ~me) == CQ_AGAIN)
		return CQ_AGAIN;
	/* Retained after the rings accepted it: a retry would store it
	 * twice otherwise (harmless, but a second grace period). */
	if (d->retain && set_ret)
		set_retained(w, d);
	if (dsts & me) {
		uint64_t groups[CQ_ROUTE_INLINE_PICKS * 4];
		uint32_t ng = groups_for(&w->rres, w->slot, groups,
			(uint32_t)CQ_ARRAY_SIZE(groups));
		cq_deliver_local(w, d, lv, publisher, groups, ng);
	}
	return 0;
}

int
cq_publish(
	cq_worker_t *w, cq_dmsg_t *d, bool set_ret, const cq_lsess_t *publisher)
{
	bool own = d->msg == CQ_OFF_NULL;
	bool need_msg = d->qos > 0 || (d->retain && set_ret) ||
		inline_size(d) > CQ_REC_INLINE_MAX;
	if (need_msg && ensure_msg(w, d) < 0) {
		cq_counter_add(CQ_CTR_DROP_NO_MEMORY, 1);
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
			"message store full: refusing messages");
		errno = ENOMEM;
		return -1;
	}
	d->seq = ++w->seq;
	d->origin_slot = (uint16_t)w->slot;
	w->pub_dsts = 0;
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(
		    &lv, d->topic, d->topic_len, cq_route_seed()) < 0) {
		release_own(d, own);
		errno = ENOMEM;
		return -1;
	}
	int rc = route(w, d, &lv, set_ret, publisher);
	cq_topic_levels_free(&lv);
	if (rc == 0)
		cq_hooks_published(w, d);
	release_own(d, own);
	return rc;
}

int
cq_publish_group(cq_worker_t *w, cq_dmsg_t *d, unsigned dst, uint64_t key)
{
	void *p;
	if (cq_ring_reserve(dst, CQ_REC_PUBLISH, CQ_RING_F_MSG,
		    sizeof(cq_rec_publish_t) + sizeof(key), &p) != 0) {
		cq_ratelog(w, &w->log_ring, CQ_LOG_WARN, 0,
			"a ring to another worker is full: a shared "
			"subscription's message stays with its member");
		return CQ_AGAIN;
	}
	d->seq = ++w->seq;
	d->origin_slot = (uint16_t)w->slot;
	fill_record(p, d, true, &key, 1, (uint16_t)w->slot);
	((cq_rec_publish_t *)p)->flags |= CQ_REC_F_GROUPS;
	cq_msg_ref(d->msg, 1);
	cq_ring_commit(dst);
	cq_counter_add(CQ_CTR_RING_RECORDS_OUT, 1);
	return 0;
}

/*
 * A will's Message Expiry Interval is its lifetime from its publication
 * (MQTT 5 §3.1.3.2.3): d gets its deadline now (capped by
 * mqtt.maximum_message_expiry_interval), and a store object of its own is
 * made for it then.
 */
static void
will_expiry(cq_worker_t *w, cq_dmsg_t *d)
{
	cq_mqtt_props_t p;
	uint32_t exp;
	if (d->props_len == 0 ||
		cq_mqtt_props_parse(d->props, (uint32_t)d->props_len,
			CQ_MQTT_PUBLISH, &p) != CQ_MQTT_OK ||
		cq_mqtt_props_message_expiry(&p, &exp) != 0)
		return;
	uint32_t cap = w->cfg->mqtt.maximum_message_expiry_interval;
	if (cap != 0 && exp > cap)
		exp = cap;
	d->expiry = w->now_s + exp;
	d->msg = CQ_OFF_NULL;
}

void
cq_publish_will(cq_worker_t *w, cq_off_t sess, cq_off_t will)
{
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, will);
	d.origin_session = sess;
	will_expiry(w, &d);
	if (cq_hooks_will(w, &d) == 0) {
		int rc = cq_publish(w, &d, true, NULL);
		if (rc != 0)
			cq_ratelog(w, &w->log_ring, CQ_LOG_WARN,
				rc < 0 ? errno : 0,
				"a will message could not be published");
		else
			cq_hooks_will_sent(w, &d);
	}
	cq_msg_unref(will);
}

int
cq_publish_text(cq_worker_t *w, const char *topic, const void *payload,
	size_t len, uint8_t qos, bool retain)
{
	cq_dmsg_t d = {.topic = topic,
		.topic_len = strlen(topic),
		.payload = payload,
		.payload_len = len,
		.qos = qos,
		.retain = retain};
	int rc = cq_publish(w, &d, true, NULL);
	return rc == 0 ? 0 : -1;
}
