/*
 * handle_subscribe.c — SUBSCRIBE and UNSUBSCRIBE.
 *
 * Every filter is handled on its own: a refused one gets its failure code
 * (0x80 on MQTT 3.1.1, a reason >= 0x80 on 5.0) and the others go on
 * [MQTT-3.9.3-2].  A granted filter enters the private trie, the route
 * trie (on this worker's first local user) and the session in shm
 * (lsess.h), replacing an identical one [MQTT-3.8.4-3].  The SUBACK goes
 * out before the retained messages of the new subscriptions (rsend.h),
 * which carry RETAIN=1.
 */
#include "config.h"
#include "workers/handle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "shm/pevent.h"
#include "shm/persist.h"
#include "workers/conn.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/publish.h"
#include "workers/reply.h"
#include "workers/rsend.h"

#define CODES_INLINE 64u
#define FILTER_MAX   65535u
/* Room for a listener's mount point in front of a filter. */
#define MOUNT_SLACK 1024u

/* A refusal: the v5 reason, or 0x80 on v3. */
static uint8_t
failure(const cq_conn_t *c, uint8_t v5_reason)
{
	return c->version == CQ_MQTT_V5 ? v5_reason : CQ_MQTT_V3_SUBACK_FAILURE;
}

static const char *
mount_point(const cq_conn_t *c)
{
	const cq_config_t *cfg = c->w->cfg;
	return c->listener < cfg->n_listeners
		? cfg->listeners[c->listener].mount_point
		: "";
}

/*
 * The filter as stored: the mount point inserted after a $share prefix,
 * or before the filter.  Writes into buf (FILTER_MAX + 1 bytes); returns
 * the length, or 0 when it does not fit.
 */
static size_t
mounted(const cq_conn_t *c, const char *f, size_t len, char *buf)
{
	const char *mp = mount_point(c);
	size_t ml = strlen(mp);
	size_t head = 0;
	cq_match_share_t sh;
	if (cq_match_share_split(f, len, &sh))
		head = (size_t)(sh.filter - f);
	if (len + ml > FILTER_MAX)
		return 0;
	memcpy(buf, f, head);
	memcpy(buf + head, mp, ml);
	memcpy(buf + head + ml, f + head, len - head);
	return len + ml;
}

/* check_filter(): the ACL answer is awaited (never a refusal code). */
#define ACL_PENDING 0x01

/* Checks on one filter: 0, the refusal reason (v5), or ACL_PENDING. */
static uint8_t
check_filter(cq_conn_t *c, const char *f, size_t len)
{
	const cq_config_t *cfg = c->w->cfg;
	bool shared = cq_topic_is_shared(f, len);
	if (shared && !cfg->mqtt.shared_subscription_available)
		return CQ_MQTT_RC_SHARED_SUBS_NOT_SUPPORTED;
	if (cq_topic_filter_check(f, len, cfg->limits.max_topic_levels,
		    shared ? CQ_TOPIC_SHARED : 0) != CQ_TOPIC_OK)
		return CQ_MQTT_RC_TOPIC_FILTER_INVALID;
	if (!cfg->mqtt.wildcard_subscription_available &&
		(memchr(f, '+', len) != NULL || memchr(f, '#', len) != NULL))
		return CQ_MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED;
	cq_hook_verdict_t v = cq_hooks_acl(c->w, c, f, len, CQ_ACL_SUBSCRIBE);
	if (v == CQ_HOOK_PENDING)
		return ACL_PENDING;
	if (v != CQ_HOOK_ALLOW)
		return c->w->cfg->mqtt.obscure_not_authorized
			? CQ_MQTT_RC_UNSPECIFIED
			: CQ_MQTT_RC_NOT_AUTHORIZED;
	return 0;
}

/*
 * Ask about every filter before acting on any: a SUBSCRIBE that must wait
 * for comqtt-authd is handled again from the start, and must not have
 * subscribed to its first filters already.  True when an answer is
 * awaited.
 */
static bool
acl_pending(cq_conn_t *c, const cq_mqtt_subscribe_t *pk)
{
	cq_mqtt_sub_iter_t it;
	cq_mqtt_sub_t s;
	bool pending = false;
	cq_mqtt_subscribe_iter(pk, &it);
	for (uint32_t n = 0; n < pk->count && cq_mqtt_subscribe_next(&it, &s);
		n++)
		pending |= check_filter(c, (const char *)s.filter.ptr,
				   s.filter.len) == ACL_PENDING;
	return pending;
}

/* A granted subscription whose retained messages go out after SUBACK. */
typedef struct later {
	char *filter;
	size_t len;
	uint8_t qos;
} later_t;

/*
 * One filter: its SUBACK code; 'later' gets the retained send to start,
 * if any.  -1 when the connection had to be closed.
 */
static int
subscribe_one(cq_conn_t *c, const cq_mqtt_sub_t *s, uint32_t sub_id,
	later_t *later, char *buf)
{
	cq_worker_t *w = c->w;
	cq_lsess_t *ls = c->ls;
	const char *f = (const char *)s->filter.ptr;
	size_t len = s->filter.len;
	uint8_t rc = check_filter(c, f, len);
	if (rc != 0)
		return failure(c, rc);
	if ((len = mounted(c, f, len, buf)) == 0)
		return failure(c, CQ_MQTT_RC_TOPIC_FILTER_INVALID);
	f = buf;
	uint32_t max = w->cfg->limits.max_subscriptions_per_session;
	if (max != 0 && ls->nsubs >= max)
		return failure(c, CQ_MQTT_RC_QUOTA_EXCEEDED);
	cq_subopts_t o = {.qos = s->qos < w->cfg->mqtt.maximum_qos
			? s->qos
			: w->cfg->mqtt.maximum_qos,
		.no_local = s->no_local,
		.retain_as_published = s->retain_as_published,
		.retain_handling = s->retain_handling,
		.sub_id = sub_id};
	rc = cq_hooks_subscribe(w, c, f, len, &o);
	if (rc >= 0x80)
		return failure(c, rc);
	bool existed;
	if (cq_lsess_subscribe(w, ls, f, len, &o, true, &existed) < 0) {
		if (errno == ESTALE) {
			cq_lsess_stale(w, ls);
			if (c->state != CQ_CONN_CLOSED)
				cq_conn_close(c, CQ_CLOSE_TAKEN_OVER);
			return -1;
		}
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, errno,
			"shared memory full: refusing subscriptions");
		return failure(c, CQ_MQTT_RC_QUOTA_EXCEEDED);
	}
	cq_hooks_subscribed(w, c, f, len, o.qos);
	/* Retained messages: not for shared subscriptions; retain handling
	 * 1 only for a new one, 2 never (MQTT 5 §3.8.3.1). */
	if (!cq_topic_is_shared(f, len) && o.retain_handling != 2 &&
		!(o.retain_handling == 1 && existed)) {
		later->filter = malloc(len);
		if (later->filter != NULL) {
			memcpy(later->filter, f, len);
			later->len = len;
			later->qos = o.qos;
		}
	}
	return o.qos;
}

int
cq_handle_subscribe(cq_conn_t *c, const cq_mqtt_subscribe_t *pk)
{
	if (c->ls == NULL)
		return 0;
	uint32_t sub_id = 0;
	if (c->version == CQ_MQTT_V5 &&
		cq_mqtt_props_sub_id(&pk->props, &sub_id) == 0 &&
		!c->w->cfg->mqtt.subscription_identifier_available) {
		cq_conn_violation(c, CQ_MQTT_OK,
			CQ_MQTT_RC_SUB_IDS_NOT_SUPPORTED,
			"subscription identifier, not available");
		return 0;
	}
	if (acl_pending(c, pk))
		return CQ_CONN_PENDING;
	uint8_t small[CODES_INLINE], *codes = small;
	later_t small_l[CODES_INLINE], *later = small_l;
	char *buf = malloc(FILTER_MAX + 1);
	if (pk->count > CODES_INLINE) {
		codes = malloc(pk->count);
		later = malloc(pk->count * sizeof(*later));
	}
	if (buf == NULL || codes == NULL || later == NULL) {
		cq_conn_disconnect(
			c, CQ_MQTT_RC_SERVER_BUSY, CQ_CLOSE_ABNORMAL);
		goto out;
	}
	memset(later, 0, pk->count * sizeof(*later));
	cq_mqtt_sub_iter_t it;
	cq_mqtt_sub_t s;
	uint32_t n = 0;
	cq_mqtt_subscribe_iter(pk, &it);
	while (n < pk->count && cq_mqtt_subscribe_next(&it, &s)) {
		int rc = subscribe_one(c, &s, sub_id, &later[n], buf);
		if (rc < 0)
			goto out;
		codes[n++] = (uint8_t)rc;
	}
	cq_mqtt_packet_t p = {.type = CQ_MQTT_SUBACK};
	p.u.suback.packet_id = pk->packet_id;
	p.u.suback.codes = cq_mqtt_view(codes, n);
	uint8_t pmem[128];
	for (uint32_t i = 0; c->version == CQ_MQTT_V5 && i < n; i++)
		if (codes[i] >= 0x80) {
			/* One Reason String: the first refusal's. */
			p.u.suback.props = cq_reply_reason_props(
				cq_reply_text(codes[i]), pmem, sizeof(pmem));
			break;
		}
	cq_conn_send_packet(c, &p);
	for (uint32_t i = 0; i < n && c->state == CQ_CONN_ACTIVE; i++)
		if (later[i].filter != NULL)
			cq_rsend_start(c, later[i].filter, later[i].len,
				later[i].qos, sub_id);
out:
	for (uint32_t i = 0; later != NULL && i < pk->count; i++)
		free(later[i].filter);
	if (codes != small)
		free(codes);
	if (later != small_l)
		free(later);
	free(buf);
	return 0;
}

/* Room in the storage ring to report every filter of pk going. */
static bool
unsubscribe_room(const cq_lsess_t *ls, const cq_mqtt_subscribe_t *pk)
{
	cq_mqtt_sub_iter_t it;
	cq_mqtt_view_t f;
	size_t need = 0;
	cq_mqtt_unsubscribe_iter(pk, &it);
	for (uint32_t n = 0; n < pk->count && cq_mqtt_unsubscribe_next(&it, &f);
		n++)
		need += 2 * cq_pev_size(1, ls->id_len, f.len + MOUNT_SLACK);
	return cq_persist_room(need, false);
}

int
cq_handle_unsubscribe(cq_conn_t *c, const cq_mqtt_subscribe_t *pk)
{
	cq_worker_t *w = c->w;
	cq_lsess_t *ls = c->ls;
	if (ls == NULL)
		return 0;
	if (!unsubscribe_room(ls, pk))
		return CQ_AGAIN; /* the storage ring is full: wait */
	uint8_t small[CODES_INLINE], *codes = small;
	char *buf = malloc(FILTER_MAX + 1);
	if (pk->count > CODES_INLINE)
		codes = malloc(pk->count);
	if (buf == NULL || codes == NULL) {
		cq_conn_disconnect(
			c, CQ_MQTT_RC_SERVER_BUSY, CQ_CLOSE_ABNORMAL);
		goto out;
	}
	cq_mqtt_sub_iter_t it;
	cq_mqtt_view_t f;
	uint32_t n = 0;
	cq_mqtt_unsubscribe_iter(pk, &it);
	while (n < pk->count && cq_mqtt_unsubscribe_next(&it, &f)) {
		size_t len = mounted(c, (const char *)f.ptr, f.len, buf);
		cq_hooks_unsubscribe(w, c, buf, len);
		int rc = len ? cq_lsess_unsubscribe(w, ls, buf, len) : 0;
		if (rc < 0) {
			cq_lsess_stale(w, ls);
			if (c->state != CQ_CONN_CLOSED)
				cq_conn_close(c, CQ_CLOSE_TAKEN_OVER);
			goto out;
		}
		codes[n] = rc ? CQ_MQTT_RC_SUCCESS
			      : CQ_MQTT_RC_NO_SUBSCRIPTION_EXISTED;
		cq_hooks_unsubscribed(w, c, buf, len, codes[n]);
		n++;
	}
	cq_mqtt_packet_t p = {.type = CQ_MQTT_UNSUBACK};
	p.u.suback.packet_id = pk->packet_id;
	if (c->version == CQ_MQTT_V5)
		p.u.suback.codes = cq_mqtt_view(codes, n);
	cq_conn_send_packet(c, &p);
out:
	if (codes != small)
		free(codes);
	free(buf);
	return 0;
}
