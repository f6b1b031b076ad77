/*
 * res_metrics.c — GET /metrics: Prometheus text exposition format 0.0.4.
 *
 * One family per measured thing, HELP and TYPE once, then one sample per
 * worker (label worker="N") and per variant (qos, reason, result,
 * direction), straight from the per-worker counter blocks in shm; then
 * the broker-wide figures (sessions, retained messages, routes, arena,
 * QSBR, rings, blacklist, control path).  Counters only grow (they
 * survive a worker's respawn); gauges are current values.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core/buf.h"
#include "core/defs.h"
#include "shm/arena.h"
#include "shm/blacklist.h"
#include "shm/counters.h"
#include "shm/ctl.h"
#include "shm/qsbr.h"
#include "shm/retained.h"
#include "shm/ring.h"
#include "shm/route.h"
#include "shm/session.h"

/* One sample of a per-worker family: a counter and its extra label. */
typedef struct sample {
	cq_counter_t ctr;
	const char *label; /* "qos=\"0\"" or NULL */
} sample_t;

typedef struct family {
	const char *name;
	const char *type;
	const char *help;
	double scale; /* value * scale (microseconds -> seconds) */
	sample_t s[6];
} family_t;

static const family_t families[] = {
	{"comqtt_connections", "gauge", "Clients connected.", 1,
		{{CQ_CTR_CONNECTIONS, NULL}}},
	{"comqtt_connections_accepted_total", "counter",
		"Connections accepted.", 1, {{CQ_CTR_CONN_ACCEPTED, NULL}}},
	{"comqtt_connections_closed_total", "counter", "Connections closed.", 1,
		{{CQ_CTR_CONN_CLOSED, NULL}}},
	{"comqtt_connections_banned_total", "counter",
		"CONNECTs refused because the client id is blacklisted.", 1,
		{{CQ_CTR_CONN_BANNED, NULL}}},
	{"comqtt_auth_total", "counter", "CONNECT authentication results.", 1,
		{{CQ_CTR_AUTH_ALLOW, "result=\"allow\""},
			{CQ_CTR_AUTH_DENY, "result=\"deny\""},
			{CQ_CTR_AUTH_UNAVAILABLE, "result=\"unavailable\""}}},
	{"comqtt_subscriptions", "gauge",
		"Subscriptions of the sessions a worker owns.", 1,
		{{CQ_CTR_SUBSCRIPTIONS, NULL}}},
	{"comqtt_messages_received_total", "counter",
		"PUBLISH messages received, by QoS.", 1,
		{{CQ_CTR_MSGS_IN_Q0, "qos=\"0\""},
			{CQ_CTR_MSGS_IN_Q1, "qos=\"1\""},
			{CQ_CTR_MSGS_IN_Q2, "qos=\"2\""}}},
	{"comqtt_messages_sent_total", "counter",
		"PUBLISH messages sent, by QoS.", 1,
		{{CQ_CTR_MSGS_OUT_Q0, "qos=\"0\""},
			{CQ_CTR_MSGS_OUT_Q1, "qos=\"1\""},
			{CQ_CTR_MSGS_OUT_Q2, "qos=\"2\""}}},
	{"comqtt_payload_bytes_received_total", "counter",
		"Payload bytes of the PUBLISH messages received, by QoS.", 1,
		{{CQ_CTR_PAYLOAD_IN_Q0, "qos=\"0\""},
			{CQ_CTR_PAYLOAD_IN_Q1, "qos=\"1\""},
			{CQ_CTR_PAYLOAD_IN_Q2, "qos=\"2\""}}},
	{"comqtt_payload_bytes_sent_total", "counter",
		"Payload bytes of the PUBLISH messages sent, by QoS.", 1,
		{{CQ_CTR_PAYLOAD_OUT_Q0, "qos=\"0\""},
			{CQ_CTR_PAYLOAD_OUT_Q1, "qos=\"1\""},
			{CQ_CTR_PAYLOAD_OUT_Q2, "qos=\"2\""}}},
	{"comqtt_bytes_received_total", "counter", "Bytes read from clients.",
		1, {{CQ_CTR_BYTES_IN, NULL}}},
	{"comqtt_bytes_sent_total", "counter", "Bytes written to clients.", 1,
		{{CQ_CTR_BYTES_OUT, NULL}}},
	{"comqtt_messages_dropped_total", "counter",
		"Messages dropped, by reason.", 1,
		{{CQ_CTR_DROP_RING_FULL, "reason=\"ring_full\""},
			{CQ_CTR_DROP_QUEUE_FULL, "reason=\"queue_full\""},
			{CQ_CTR_DROP_EXPIRED, "reason=\"expired\""},
			{CQ_CTR_DROP_ACL, "reason=\"acl\""},
			{CQ_CTR_DROP_TOO_LARGE, "reason=\"too_large\""},
			{CQ_CTR_DROP_NO_MEMORY, "reason=\"no_memory\""}}},
	{"comqtt_ring_records_total", "counter",
		"Records through the rings between workers.", 1,
		{{CQ_CTR_RING_RECORDS_OUT, "direction=\"out\""},
			{CQ_CTR_RING_RECORDS_IN, "direction=\"in\""}}},
	{"comqtt_loop_iterations_total", "counter",
		"Iterations of a worker's event loop.", 1,
		{{CQ_CTR_LOOP_ITERATIONS, NULL}}},
	{"comqtt_loop_lag_seconds", "gauge",
		"How late a worker's 250 ms timer last fired.", 1e-6,
		{{CQ_CTR_LOOP_LAG_US, NULL}}},
	{"comqtt_admin_commands_total", "counter",
		"Commands of the admin a worker handled.", 1,
		{{CQ_CTR_CTL_COMMANDS, NULL}}},
};

typedef struct out {
	cq_buf_t b;
	bool failed;
} out_t;

static void emit(out_t *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
emit(out_t *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
		cq_buf_append(&o->b, line, (size_t)n) < 0)
		o->failed = true;
}

static void
head(out_t *o, const char *name, const char *type, const char *help)
{
	emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
value(out_t *o, double v)
{
	if (v == (double)(uint64_t)v && v < 1e15)
		emit(o, " %" PRIu64 "\n", (uint64_t)v);
	else
		emit(o, " %.9g\n", v);
}

static void
per_worker(out_t *o, unsigned n)
{
	uint64_t c[CQ_MAX_WORKERS][CQ_CTR_COUNT];
	for (unsigned w = 0; w < n; w++)
		cq_counters_read(cq_shm_current(), w, c[w]);
	for (size_t f = 0; f < CQ_ARRAY_SIZE(families); f++) {
		const family_t *fm = &families[f];
		head(o, fm->name, fm->type, fm->help);
		for (size_t i = 0; i < CQ_ARRAY_SIZE(fm->s); i++) {
			const sample_t *s = &fm->s[i];
			if (i > 0 && s->label == NULL)
				break;
			for (unsigned w = 0; w < n; w++) {
				emit(o, "%s{worker=\"%u\"%s%s}", fm->name, w,
					s->label ? "," : "",
					s->label ? s->label : "");
				value(o, (double)c[w][s->ctr] * fm->scale);
			}
		}
	}
}

static void
one(out_t *o, const char *name, const char *type, const char *help, double v)
{
	head(o, name, type, help);
	emit(o, "%s", name);
	value(o, v);
}

static void
rings(out_t *o, unsigned n)
{
	head(o, "comqtt_ring_depth_bytes", "gauge",
		"Bytes waiting in the rings into a worker.");
	for (unsigned d = 0; d < n; d++) {
		uint64_t depth = 0;
		for (unsigned s = 0; s < n; s++)
			depth += cq_ring_depth(s, d);
		emit(o, "comqtt_ring_depth_bytes{worker=\"%u\"}", d);
		value(o, (double)depth);
	}
	head(o, "comqtt_ring_wakeups_total", "counter",
		"Eventfd wake-ups written to a worker.");
	for (unsigned d = 0; d < n; d++) {
		uint64_t wk = 0;
		for (unsigned s = 0; s < n; s++) {
			cq_ring_stats_t st;
			cq_ring_stats(s, d, &st);
			wk += st.wakeups;
		}
		emit(o, "comqtt_ring_wakeups_total{worker=\"%u\"}", d);
		value(o, (double)wk);
	}
}

static void
tables(out_t *o)
{
	cq_session_stats_t ss;
	cq_retained_stats_t rs;
	cq_route_stats_t ro;
	cq_session_stats(&ss);
	cq_retained_stats(&rs);
	cq_route_stats(&ro);
	one(o, "comqtt_sessions", "gauge", "Sessions, online and offline.",
		(double)ss.sessions);
	one(o, "comqtt_sessions_capacity", "gauge",
		"Sessions the table holds (limits.max_sessions).",
		(double)ss.capacity);
	one(o, "comqtt_retained_messages", "gauge", "Retained messages.",
		(double)rs.messages);
	one(o, "comqtt_route_filters", "gauge",
		"Filters and shared groups in the route table.",
		(double)ro.filters);
	one(o, "comqtt_blacklist_entries", "gauge", "Blacklisted client ids.",
		(double)cq_blacklist_count());
	one(o, "comqtt_clients_maximum", "gauge",
		"Most clients connected at once (as sampled by the admin).",
		(double)cq_ctl_clients_max());
}

static void
memory(out_t *o)
{
	cq_arena_stats_t as;
	cq_qsbr_stats_t qs;
	cq_ctl_stats_t cs;
	cq_arena_stats(&as);
	cq_qsbr_stats(&qs);
	cq_ctl_stats(&cs);
	head(o, "comqtt_shm_arena_bytes", "gauge",
		"Bytes of the shared-memory arena.");
	emit(o, "comqtt_shm_arena_bytes{state=\"total\"}");
	value(o, (double)as.total_bytes);
	emit(o, "comqtt_shm_arena_bytes{state=\"used\"}");
	value(o, (double)as.used_bytes);
	one(o, "comqtt_shm_alloc_failures_total", "counter",
		"Allocations the arena refused (full).",
		(double)as.alloc_failures);
	one(o, "comqtt_qsbr_pending_objects", "gauge",
		"Objects retired, waiting for their grace period.",
		(double)qs.pending);
	one(o, "comqtt_admin_control_full_total", "counter",
		"Control records refused by a full ring.", (double)cs.full);
}

void
cq_res_metrics(cq_hreq_t *r)
{
	unsigned n = r->a->args->nworkers;
	out_t o = {.b = CQ_BUF_INIT};
	cq_res_note_connected();
	head(&o, "comqtt_build_info", "gauge", "The running version.");
	emit(&o, "comqtt_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	one(&o, "comqtt_start_time_seconds", "gauge",
		"When the broker started (Unix seconds).",
		(double)r->a->args->start_time);
	one(&o, "comqtt_workers", "gauge", "Worker processes.", n);
	per_worker(&o, n);
	rings(&o, n);
	tables(&o);
	memory(&o);
	if (o.failed)
		cq_http_error(r, 503, "out of memory");
	else
		cq_http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8",
			cq_buf_head(&o.b), cq_buf_used(&o.b));
	cq_buf_free(&o.b);
}
