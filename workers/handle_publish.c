/*
 * handle_publish.c — PUBLISH from a client (DESIGN.md §3 steps 1-2, 5).
 *
 * Checks what the codec leaves to the broker (QoS and retain against the
 * configuration, topic levels, topic aliases, the ACL), applies the mount
 * point and the message expiry cap, then publishes (publish.h).  The
 * acknowledgement (PUBACK for QoS 1, PUBREC for QoS 2) goes out only once
 * the message is in shm: when a ring to a destination worker is full the
 * PUBLISH is handled again in a later iteration and nothing is answered
 * meanwhile.
 *
 * Inbound QoS 2: the packet id is recorded in the session before the
 * message is routed, so a re-sent PUBLISH with the same id is answered
 * with PUBREC without being delivered again [MQTT-4.3.3-2]; the id is
 * released by PUBREL (handle_ack.c).
 */
#include "config.h"
#include "workers/handle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "mqtt/utf8.h"
#include "shm/counters.h"
#include "shm/crashpoint.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/pack.h"
#include "workers/publish.h"
#include "workers/reply.h"

/* PUBACK or PUBREC for pid (reason and Reason String on v5 only) that
 * makes nothing durable (workers/pack.h keeps it behind those that do). */
static void
ack(cq_conn_t *c, uint8_t qos, uint16_t pid, uint8_t reason, const char *why)
{
	cq_pack_ack(c, qos, pid, reason, why, false);
}

/*
 * A PUBLISH the broker does not pass on.  On v5 a QoS 1/2 one gets its
 * reason in the ack; on v3, which has no way to say no, it is
 * acknowledged and dropped (closing would lose the client's later
 * messages for the sake of one).
 */
static void
drop(cq_conn_t *c, const cq_mqtt_publish_t *pk, uint8_t reason, const char *why)
{
	cq_log(CQ_LOG_DEBUG, 0,
		"client %s (%s): PUBLISH to \"%.*s\" dropped: %s",
		cq_conn_id_log(c), cq_conn_addr(c), (int)pk->topic.len,
		(const char *)pk->topic.ptr, why);
	if (reason == CQ_MQTT_RC_NOT_AUTHORIZED &&
		c->w->cfg->mqtt.obscure_not_authorized) {
		/* Nothing that tells which topics exist: no Reason String
		 * either ("" puts none). */
		reason = CQ_MQTT_RC_UNSPECIFIED;
		why = "";
	}
	ack(c, pk->qos, pk->packet_id, reason, why);
}

/* The topic: the alias resolved or recorded (v5), the mount point
 * prefixed.  0, or -1 after the connection was closed. */
static int
topic_of(cq_conn_t *c, const cq_mqtt_publish_t *pk, const char **t_r,
	size_t *n_r)
{
	*t_r = (const char *)pk->topic.ptr;
	*n_r = pk->topic.len;
	uint32_t alias;
	if (c->version != CQ_MQTT_V5 ||
		cq_mqtt_props_topic_alias(&pk->props, &alias) != 0)
		return 0;
	if (c->aliases == NULL || alias > c->aliases->in.max) {
		cq_conn_violation(c, CQ_MQTT_OK, CQ_MQTT_RC_TOPIC_ALIAS_INVALID,
			"topic alias above the maximum");
		return -1;
	}
	if (pk->topic.len == 0) {
		*t_r = cq_alias_get(&c->aliases->in, (uint16_t)alias, n_r);
		if (*t_r == NULL) {
			cq_conn_violation(c, CQ_MQTT_OK,
				CQ_MQTT_RC_PROTOCOL_ERROR,
				"unknown topic alias");
			return -1;
		}
		return 0;
	}
	if (cq_alias_set(&c->aliases->in, (uint16_t)alias, pk->topic.ptr,
		    pk->topic.len) < 0) {
		cq_conn_violation(c, CQ_MQTT_OK,
			CQ_MQTT_RC_IMPLEMENTATION_ERROR,
			"out of memory for a topic alias");
		return -1;
	}
	return 0;
}

/* Fixed checks against the configuration: 0, or -1 (closed). */
static int
check_caps(cq_conn_t *c, const cq_mqtt_publish_t *pk)
{
	const cq_config_t *cfg = c->w->cfg;
	if (pk->qos > cfg->mqtt.maximum_qos) {
		cq_conn_violation(c, CQ_MQTT_OK, CQ_MQTT_RC_QOS_NOT_SUPPORTED,
			"PUBLISH above mqtt.maximum_qos");
		return -1;
	}
	if (pk->retain && !cfg->mqtt.retain_available) {
		cq_conn_violation(c, CQ_MQTT_OK,
			CQ_MQTT_RC_RETAIN_NOT_SUPPORTED,
			"retained PUBLISH, retain is not available");
		return -1;
	}
	return 0;
}

/* v5 properties to pass on: the publisher's without the Topic Alias. */
static const uint8_t *
props_of(const cq_mqtt_publish_t *pk, uint8_t *mem, size_t cap, size_t *n_r)
{
	*n_r = 0;
	if (pk->props.len == 0)
		return NULL;
	if (!cq_mqtt_props_has(&pk->props, CQ_MQTT_PROP_TOPIC_ALIAS)) {
		*n_r = pk->props.len;
		return pk->props.raw;
	}
	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, mem, cap);
	if (cq_mqtt_pbuf_copy(&pb, &pk->props,
		    CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_TOPIC_ALIAS)) < 0)
		return NULL;
	*n_r = pb.len;
	return mem;
}

static uint64_t
expiry_of(const cq_worker_t *w, const cq_mqtt_publish_t *pk)
{
	uint32_t v;
	if (cq_mqtt_props_message_expiry(&pk->props, &v) != 0)
		return 0;
	uint32_t cap = w->cfg->mqtt.maximum_message_expiry_interval;
	if (cap != 0 && v > cap)
		v = cap;
	return w->now_s + v;
}

/*
 * Inbound QoS 2, before routing: 1 new, 0 a duplicate (PUBREC sent) or
 * refused, -1 closed.  The id is recorded only after routing
 * (qos2_record): a worker killed in between leaves it unrecorded, so the
 * client's re-send after reconnecting is routed again -- a duplicate at
 * worst, where recording first would lose the message.
 */
static int
qos2_seen(cq_conn_t *c, cq_lsess_t *ls, uint16_t pid)
{
	int rc = cq_session_qos2_check(ls->sess, pid);
	if (rc == 0)
		return 1;
	if (rc == 1) {
		/* Routed and recorded already: acknowledge only. */
		c->w->pub_dsts = 0;
		cq_pack_ack(c, 2, pid, 0, NULL, true);
		return 0;
	}
	cq_conn_violation(c, CQ_MQTT_OK, CQ_MQTT_RC_RECEIVE_MAX_EXCEEDED,
		"more QoS 2 messages in flight than mqtt.receive_maximum");
	return -1;
}

/* A routed QoS 2 PUBLISH: its id, until PUBREL.  False when the session
 * moved on meanwhile (the connection is closed). */
static bool
qos2_record(cq_conn_t *c, cq_lsess_t *ls, uint16_t pid)
{
	if (cq_session_qos2_add(ls->sess, ls->gen, pid) >= 0)
		return true;
	if (errno == ESTALE) {
		cq_lsess_stale(c->w, ls);
		if (c->state != CQ_CONN_CLOSED)
			cq_conn_close(c, CQ_CLOSE_TAKEN_OVER);
		return false;
	}
	/* Routed, not recorded (no memory, or comqtt-storage's ring full):
	 * acknowledged all the same; only a re-send after a reconnect
	 * would be routed twice. */
	cq_ratelog(c->w, &c->w->log_full, CQ_LOG_WARN, errno,
		"cannot record a QoS 2 packet identifier");
	return true;
}

static int
route(cq_conn_t *c, cq_lsess_t *ls, const cq_mqtt_publish_t *pk, cq_dmsg_t *d)
{
	cq_worker_t *w = c->w;
	int rc = cq_publish(w, d, true, ls);
	if (rc == CQ_AGAIN)
		return CQ_AGAIN;
	if (rc < 0) {
		if (c->version == CQ_MQTT_V5 || pk->qos == 0)
			drop(c, pk, CQ_MQTT_RC_QUOTA_EXCEEDED, "store full");
		else
			cq_conn_disconnect(
				c, CQ_MQTT_RC_SERVER_BUSY, CQ_CLOSE_ABNORMAL);
		return 0;
	}
	CQ_CRASHPOINT("publish.routed");
	if (pk->qos == 2 && !qos2_record(c, ls, pk->packet_id))
		return 0;
	/* MQTT 5: say when nobody subscribes (the route trie knows no
	 * worker with a matching subscription). */
	bool none = c->version == CQ_MQTT_V5 && w->rres.workers == 0 &&
		w->rres.npicks == 0;
	cq_pack_ack(c, pk->qos, pk->packet_id,
		none ? CQ_MQTT_RC_NO_MATCHING_SUBSCRIBERS : 0, NULL, true);
	return 0;
}

/*
 * comqtt-storage is behind (a ring a quarter full, or commits failing):
 * new persistent state is refused, never dropped silently.  On v5 a
 * QoS 1/2 or retained PUBLISH gets 0x97; v3, which cannot be told, is
 * disconnected with its PUBLISH unacknowledged (the client sends it again
 * later), as when shared memory is full.  True when refused.
 */
static bool
persist_refused(cq_conn_t *c, const cq_mqtt_publish_t *pk)
{
	if (!c->w->persist_full || (pk->qos == 0 && !pk->retain))
		return false;
	cq_counter_add(CQ_CTR_DROP_NO_MEMORY, 1);
	cq_ratelog(c->w, &c->w->log_full, CQ_LOG_WARN, 0,
		"comqtt-storage is behind: refusing QoS 1/2 and retained "
		"messages");
	if (c->version == CQ_MQTT_V5 || pk->qos == 0)
		drop(c, pk, CQ_MQTT_RC_QUOTA_EXCEEDED, "storage behind");
	else
		cq_conn_disconnect(
			c, CQ_MQTT_RC_SERVER_BUSY, CQ_CLOSE_ABNORMAL);
	return true;
}

/* refused(): the ACL answer is awaited from comqtt-authd. */
#define PUBLISH_PENDING 2

/* Topics this client may not publish to: dropped (reason on v5).  0 to go
 * on, 1 refused, PUBLISH_PENDING. */
static int
refused(cq_conn_t *c, const cq_mqtt_publish_t *pk, const char *topic,
	size_t tlen)
{
	cq_worker_t *w = c->w;
	if (cq_topic_name_check(topic, tlen, w->cfg->limits.max_topic_levels) !=
		CQ_TOPIC_OK) {
		drop(c, pk, CQ_MQTT_RC_TOPIC_NAME_INVALID,
			"more topic levels than limits.max_topic_levels");
		return 1;
	}
	if (tlen >= 4 && memcmp(topic, "$SYS", 4) == 0 &&
		(tlen == 4 || topic[4] == '/')) {
		/* $SYS is the broker's (MQTT 5 §4.7.2). */
		drop(c, pk, CQ_MQTT_RC_NOT_AUTHORIZED, "a $SYS topic");
		return 1;
	}
	cq_hook_verdict_t v = cq_hooks_acl(w, c, topic, tlen, CQ_ACL_WRITE);
	if (v == CQ_HOOK_PENDING)
		return PUBLISH_PENDING;
	if (v != CQ_HOOK_ALLOW) {
		drop(c, pk, CQ_MQTT_RC_NOT_AUTHORIZED, "not authorized");
		return 1;
	}
	return 0;
}

/* The listener's mount point before the topic (*mounted_r: the copy to
 * free, or NULL when there is none).  0, or -1 out of memory. */
static int
mount(const cq_conn_t *c, const char **topic, size_t *tlen, char **mounted_r)
{
	const cq_config_t *cfg = c->w->cfg;
	const char *mp = c->listener < cfg->n_listeners
		? cfg->listeners[c->listener].mount_point
		: "";
	*mounted_r = NULL;
	if (mp[0] == '\0')
		return 0;
	size_t ml = strlen(mp);
	char *m = malloc(ml + *tlen);
	if (m == NULL)
		return -1;
	memcpy(m, mp, ml);
	memcpy(m + ml, *topic, *tlen);
	*topic = m;
	*tlen += ml;
	*mounted_r = m;
	return 0;
}

/* The message as it goes on: hooks, then routing. */
static int
pass_on(cq_conn_t *c, cq_lsess_t *ls, const cq_mqtt_publish_t *pk,
	const char *topic, size_t tlen)
{
	cq_worker_t *w = c->w;
	uint8_t pmem[512], *heap = NULL;
	cq_dmsg_t d = {.topic = topic,
		.topic_len = tlen,
		.payload = pk->payload.ptr,
		.payload_len = pk->payload.len,
		.qos = pk->qos,
		.retain = pk->retain,
		.origin_session = ls->sess};
	if (c->version == CQ_MQTT_V5) {
		if (pk->props.len > sizeof(pmem))
			heap = malloc(pk->props.len);
		d.props = props_of(pk, heap ? heap : pmem,
			heap ? pk->props.len : sizeof(pmem), &d.props_len);
		d.expiry = expiry_of(w, pk);
	}
	int rc = 0;
	uint8_t hr = cq_hooks_publish(w, c, &d);
	if (hr >= 0x80)
		drop(c, pk, hr, "refused by a hook");
	else
		rc = route(c, ls, pk, &d);
	free(heap);
	return rc;
}

/*
 * A payload that claims to be UTF-8 (Payload Format Indicator 1) and is
 * not (§3.3.2.3.2): false when the PUBLISH is refused, with PUBACK/PUBREC
 * 0x99 for QoS 1/2 (the connection stays), DISCONNECT 0x99 for QoS 0
 * (which has no other way to say it).
 */
static bool
format_ok(cq_conn_t *c, const cq_mqtt_publish_t *pk)
{
	uint32_t pfi;
	if (c->version != CQ_MQTT_V5 ||
		cq_mqtt_props_payload_format(&pk->props, &pfi) != 0 ||
		pfi != 1 || cq_utf8_valid(pk->payload.ptr, pk->payload.len))
		return true;
	if (pk->qos > 0)
		drop(c, pk, CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID,
			cq_reply_text(CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID));
	else
		cq_conn_violation(c, CQ_MQTT_OK,
			CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID,
			"payload is not UTF-8 as its format indicator says");
	return false;
}

int
cq_handle_publish(cq_conn_t *c, const cq_mqtt_publish_t *pk)
{
	cq_lsess_t *ls = c->ls;
	if (check_caps(c, pk) < 0 || ls == NULL || !format_ok(c, pk))
		return 0;
	const char *topic;
	size_t tlen;
	if (topic_of(c, pk, &topic, &tlen) < 0)
		return 0;
	if (!c->retrying && !c->replaying) {
		static const cq_counter_t in[] = {CQ_CTR_MSGS_IN_Q0,
			CQ_CTR_MSGS_IN_Q1, CQ_CTR_MSGS_IN_Q2};
		cq_counter_add(in[pk->qos], 1);
		cq_counter_add(CQ_CTR_PAYLOAD_IN_Q0 + pk->qos, pk->payload.len);
	}
	int r = refused(c, pk, topic, tlen);
	if (r == PUBLISH_PENDING)
		return CQ_CONN_PENDING;
	if (r != 0)
		return 0;
	char *mounted;
	if (mount(c, &topic, &tlen, &mounted) < 0) {
		drop(c, pk, CQ_MQTT_RC_QUOTA_EXCEEDED, "out of memory");
		return 0;
	}
	int rc = 0;
	if (persist_refused(c, pk))
		rc = 0;
	else if (pk->qos != 2 || qos2_seen(c, ls, pk->packet_id) > 0)
		rc = pass_on(c, ls, pk, topic, tlen);
	free(mounted);
	return rc;
}
