/*
 * sys.c — see sys.h.
 */
#include "config.h"
#include "workers/sys.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "shm/counters.h"
#include "shm/persist.h"
#include "shm/retained.h"
#include "shm/session.h"
#include "workers/publish.h"
#include "workers/worker.h"

#define SYS_SLOT 0u

static void
put(cq_worker_t *w, const char *name, const char *fmt, uint64_t v)
{
	char topic[96], payload[64];
	snprintf(topic, sizeof(topic), "$SYS/broker/%s", name);
	int n = snprintf(payload, sizeof(payload), fmt, v);
	cq_publish_text(w, topic, payload, (size_t)n, 0, true);
}

static void
publish_all(cq_worker_t *w)
{
	uint64_t c[CQ_CTR_COUNT];
	cq_counters_sum(w->args->shm, c);
	/* Counted on from what comqtt-storage kept (gauges start afresh). */
	if (w->cfg->mqtt.restore_sys_info_on_restart)
		cq_persist_sys_base_add(c, CQ_CTR_COUNT);
	cq_session_stats_t ss;
	cq_session_stats(&ss);
	cq_retained_stats_t rs;
	cq_retained_stats(&rs);
	char version[64];
	int n = snprintf(
		version, sizeof(version), "comqtt version %s", PACKAGE_VERSION);
	cq_publish_text(w, "$SYS/broker/version", version, (size_t)n, 0, true);
	uint64_t up = w->now_s > w->args->start_time
		? w->now_s - w->args->start_time
		: 0;
	put(w, "uptime", "%" PRIu64 " seconds", up);
	put(w, "clients/connected", "%" PRIu64, c[CQ_CTR_CONNECTIONS]);
	put(w, "clients/active", "%" PRIu64, c[CQ_CTR_CONNECTIONS]);
	put(w, "clients/total", "%" PRIu64, ss.sessions);
	put(w, "clients/disconnected", "%" PRIu64,
		ss.sessions > c[CQ_CTR_CONNECTIONS]
			? ss.sessions - c[CQ_CTR_CONNECTIONS]
			: 0);
	put(w, "messages/received", "%" PRIu64,
		c[CQ_CTR_MSGS_IN_Q0] + c[CQ_CTR_MSGS_IN_Q1] +
			c[CQ_CTR_MSGS_IN_Q2]);
	put(w, "messages/sent", "%" PRIu64,
		c[CQ_CTR_MSGS_OUT_Q0] + c[CQ_CTR_MSGS_OUT_Q1] +
			c[CQ_CTR_MSGS_OUT_Q2]);
	put(w, "publish/messages/received", "%" PRIu64,
		c[CQ_CTR_MSGS_IN_Q0] + c[CQ_CTR_MSGS_IN_Q1] +
			c[CQ_CTR_MSGS_IN_Q2]);
	put(w, "publish/messages/sent", "%" PRIu64,
		c[CQ_CTR_MSGS_OUT_Q0] + c[CQ_CTR_MSGS_OUT_Q1] +
			c[CQ_CTR_MSGS_OUT_Q2]);
	put(w, "publish/messages/dropped", "%" PRIu64,
		c[CQ_CTR_DROP_RING_FULL] + c[CQ_CTR_DROP_QUEUE_FULL] +
			c[CQ_CTR_DROP_EXPIRED] + c[CQ_CTR_DROP_TOO_LARGE] +
			c[CQ_CTR_DROP_NO_MEMORY]);
	put(w, "bytes/received", "%" PRIu64, c[CQ_CTR_BYTES_IN]);
	put(w, "bytes/sent", "%" PRIu64, c[CQ_CTR_BYTES_OUT]);
	put(w, "subscriptions/count", "%" PRIu64, c[CQ_CTR_SUBSCRIPTIONS]);
	put(w, "retained messages/count", "%" PRIu64, rs.messages);
}

void
cq_sys_tick(cq_worker_t *w)
{
	uint32_t iv = w->cfg->sys_interval;
	if (w->slot != SYS_SLOT || iv == 0 || w->now_ms < w->next_sys_ms)
		return;
	w->next_sys_ms = w->now_ms + (uint64_t)iv * 1000;
	publish_all(w);
}
