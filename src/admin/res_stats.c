/*
 * res_stats.c — GET /api/v1/mqtt/stat/overall, /stat/online and
 * /stat/workers: the broker's figures from the per-worker counters, the
 * session table, the retained store and the arena.
 *
 * /stat/overall answers the fields of Go comqtt's system.Info that the
 * broker measures (version, started, time, uptime, bytes_*, clients_*,
 * messages_*, retained, inflight, subscriptions, memory_alloc, threads);
 * /stat/online answers a bare number, as Go comqtt does.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <time.h>

#include "shm/arena.h"
#include "shm/counters.h"
#include "shm/ctl.h"
#include "shm/qsbr.h"
#include "shm/retained.h"
#include "shm/ring.h"
#include "shm/session.h"

static uint64_t
dropped(const uint64_t *c)
{
	return c[CQ_CTR_DROP_RING_FULL] + c[CQ_CTR_DROP_QUEUE_FULL] +
		c[CQ_CTR_DROP_EXPIRED] + c[CQ_CTR_DROP_ACL] +
		c[CQ_CTR_DROP_TOO_LARGE] + c[CQ_CTR_DROP_NO_MEMORY];
}

static void
add_inflight(void *arg, cq_off_t sess, uint64_t state)
{
	(void)state;
	*(uint64_t *)arg += cq_snap_inflight(sess);
}

/* Messages in the sessions' inflight windows. */
static uint64_t
inflight_total(void)
{
	uint64_t n = 0;
	cq_snap_begin();
	cq_session_foreach(CQ_SLOT_NONE, add_inflight, &n);
	cq_snap_end();
	return n;
}

void
cq_res_note_connected(void)
{
	const cq_shm_t *shm = cq_shm_current();
	uint64_t c[CQ_CTR_COUNT];
	if (shm == NULL)
		return;
	cq_counters_sum(shm, c);
	cq_ctl_note_connected(c[CQ_CTR_CONNECTIONS]);
}

static void
clients(cq_json_t *j, const uint64_t *c)
{
	cq_session_stats_t ss;
	cq_session_stats(&ss);
	uint64_t on = c[CQ_CTR_CONNECTIONS];
	cq_ctl_note_connected(on);
	cq_json_kuint(j, "clients_connected", on);
	cq_json_kuint(j, "clients_disconnected",
		ss.sessions > on ? ss.sessions - on : 0);
	cq_json_kuint(j, "clients_maximum", cq_ctl_clients_max());
	cq_json_kuint(j, "clients_total", ss.sessions);
	cq_json_kuint(j, "sessions_capacity", ss.capacity);
}

void
cq_res_overall(cq_hreq_t *r)
{
	uint64_t c[CQ_CTR_COUNT];
	cq_counters_sum(cq_shm_current(), c);
	uint64_t now = (uint64_t)time(NULL), start = r->a->args->start_time;
	cq_retained_stats_t rs;
	cq_retained_stats(&rs);
	cq_arena_stats_t as;
	cq_arena_stats(&as);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kcstr(&j, "version", PACKAGE_VERSION);
	cq_json_kuint(&j, "started", start);
	cq_json_kuint(&j, "time", now);
	cq_json_kuint(&j, "uptime", now > start ? now - start : 0);
	cq_json_kuint(&j, "bytes_received", c[CQ_CTR_BYTES_IN]);
	cq_json_kuint(&j, "bytes_sent", c[CQ_CTR_BYTES_OUT]);
	clients(&j, c);
	cq_json_kuint(&j, "messages_received",
		c[CQ_CTR_MSGS_IN_Q0] + c[CQ_CTR_MSGS_IN_Q1] +
			c[CQ_CTR_MSGS_IN_Q2]);
	cq_json_kuint(&j, "messages_sent",
		c[CQ_CTR_MSGS_OUT_Q0] + c[CQ_CTR_MSGS_OUT_Q1] +
			c[CQ_CTR_MSGS_OUT_Q2]);
	cq_json_kuint(&j, "messages_dropped", dropped(c));
	cq_json_kuint(&j, "retained", rs.messages);
	cq_json_kuint(&j, "inflight", inflight_total());
	cq_json_kuint(&j, "subscriptions", c[CQ_CTR_SUBSCRIPTIONS]);
	cq_json_kuint(&j, "memory_alloc", as.used_bytes);
	cq_json_kuint(&j, "memory_total", as.total_bytes);
	cq_json_kuint(&j, "threads", r->a->args->nworkers);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

void
cq_res_online(cq_hreq_t *r)
{
	uint64_t c[CQ_CTR_COUNT];
	cq_counters_sum(cq_shm_current(), c);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_uint(&j, c[CQ_CTR_CONNECTIONS]);
	cq_http_json(r, 200, &j);
}

/* Bytes waiting in the rings into worker 'dst'. */
static uint64_t
ring_depth(unsigned dst, unsigned n)
{
	uint64_t d = 0;
	for (unsigned s = 0; s < n; s++)
		d += cq_ring_depth(s, dst);
	return d;
}

static void
worker_row(cq_json_t *j, unsigned slot, unsigned n)
{
	uint64_t c[CQ_CTR_COUNT];
	uint32_t pid = 0;
	cq_qsbr_progress(slot, &pid);
	if (cq_counters_read(cq_shm_current(), slot, c) < 0)
		return;
	cq_json_obj_begin(j);
	cq_json_kuint(j, "slot", slot);
	cq_json_kuint(j, "pid", pid);
	cq_json_kbool(j, "alive", pid != 0);
	cq_json_kuint(j, "connections", c[CQ_CTR_CONNECTIONS]);
	cq_json_kuint(j, "subscriptions", c[CQ_CTR_SUBSCRIPTIONS]);
	cq_json_kuint(j, "messages_received",
		c[CQ_CTR_MSGS_IN_Q0] + c[CQ_CTR_MSGS_IN_Q1] +
			c[CQ_CTR_MSGS_IN_Q2]);
	cq_json_kuint(j, "messages_sent",
		c[CQ_CTR_MSGS_OUT_Q0] + c[CQ_CTR_MSGS_OUT_Q1] +
			c[CQ_CTR_MSGS_OUT_Q2]);
	cq_json_kuint(j, "messages_dropped", dropped(c));
	cq_json_kuint(j, "loop_iterations", c[CQ_CTR_LOOP_ITERATIONS]);
	cq_json_kuint(j, "loop_lag_us", c[CQ_CTR_LOOP_LAG_US]);
	cq_json_kuint(j, "ring_depth_bytes", ring_depth(slot, n));
	cq_json_obj_end(j);
}

void
cq_res_workers(cq_hreq_t *r)
{
	unsigned n = r->a->args->nworkers;
	cq_json_t j;
	cq_json_init(&j);
	cq_json_arr_begin(&j);
	for (unsigned s = 0; s < n; s++)
		worker_row(&j, s, n);
	cq_json_arr_end(&j);
	cq_http_json(r, 200, &j);
}
