/*
 * control.c — see control.h: the hook that serves the admin's commands,
 * refuses blacklisted clients and measures loop lag.
 *
 * Order of a command: peek, act, reply, consume (then release what the
 * record owned).  A worker killed between acting and consuming has its
 * replacement act again (see shm/ctl.h); a
 * PUBLISH that meets a full ring is not consumed and is retried after
 * RETRY_MS, which also holds back the commands behind it (they wait their
 * turn, as the admin sent them).
 */
#include "config.h"
#include "workers/control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "shm/blacklist.h"
#include "shm/counters.h"
#include "shm/ctl.h"
#include "shm/msg.h"
#include "shm/retained.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/lsess.h"
#include "workers/publish.h"
#include "workers/worker.h"

#define DRAIN_BUDGET 256
#define RETRY_MS     1u
#define LAG_MS       250u

static struct {
	cq_worker_t *w;
	struct event *ev; /* the control eventfd */
	struct event *retry;
	struct event *lag;
	uint64_t lag_due_us;
	cq_ratelog_t log_reply;
} ctl;

static uint64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
reply(const cq_ctl_rec_t *rec, uint16_t status, const void *p, size_t len)
{
	struct iovec iov = {(void *)p, len};
	if (cq_ctl_reply(rec->id, status, &iov, len > 0 ? 1 : 0) != 0)
		cq_ratelog(ctl.w, &ctl.log_reply, CQ_LOG_WARN, errno,
			"control: a reply to the admin was lost (reply ring "
			"full)");
}

/* ---- commands ------------------------------------------------------ */

static uint16_t
do_kick(cq_worker_t *w, cq_ctlrd_t *in)
{
	size_t len;
	const char *id = cq_ctlrd_str(in, &len);
	if (in->bad)
		return CQ_CTL_BAD;
	cq_lsess_t *ls = cq_lsess_find(w, id, len);
	if (ls == NULL || ls->conn == NULL || ls->conn->state != CQ_CONN_ACTIVE)
		return CQ_CTL_NOT_FOUND;
	cq_log(CQ_LOG_NOTICE, 0, "client %s (%s) disconnected by the admin",
		ls->id, cq_conn_addr(ls->conn));
	cq_conn_disconnect(
		ls->conn, CQ_MQTT_RC_ADMINISTRATIVE_ACTION, CQ_CLOSE_ABNORMAL);
	return CQ_CTL_OK;
}

/* The will of ls (from its session in shm) into the reply. */
static void
describe_will(const cq_lsess_t *ls, cq_ctlbuf_t *out)
{
	cq_off_t m = cq_session_will_peek(ls->sess);
	cq_ctlbuf_u8(out, m != CQ_OFF_NULL);
	if (m == CQ_OFF_NULL)
		return;
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, m);
	cq_ctlbuf_u8(out, d.qos);
	cq_ctlbuf_u8(out, d.retain);
	cq_ctlbuf_u32(out, (uint32_t)d.payload_len);
	cq_ctlbuf_str(out, d.topic, d.topic_len, CQ_CTL_WILL_TOPIC_MAX);
	cq_ctlbuf_str(out, d.payload,
		d.payload_len < CQ_CTL_WILL_PAYLOAD_MAX
			? d.payload_len
			: CQ_CTL_WILL_PAYLOAD_MAX,
		CQ_CTL_WILL_PAYLOAD_MAX);
}

/* One client of a DESCRIBE into the reply: what the connection and the
 * session keep anyway (nothing is noted for the admin's sake). */
static void
describe_one(cq_worker_t *w, const char *id, size_t len, unsigned flags,
	cq_ctlbuf_t *out)
{
	const cq_lsess_t *ls = cq_lsess_find(w, id, len);
	cq_ctlbuf_u8(out, ls != NULL);
	if (ls == NULL)
		return;
	const cq_conn_t *c = ls->conn;
	bool on = c != NULL && c->state == CQ_CONN_ACTIVE;
	cq_ctlbuf_u8(out, on);
	cq_ctlbuf_u8(out, on ? c->version : ls->protocol);
	cq_ctlbuf_u8(out, on && c->clean);
	cq_ctlbuf_u16(out, on ? c->keepalive : 0);
	cq_ctlbuf_u16(out, on ? (uint16_t)c->listener : 0);
	cq_ctlbuf_u64(out, on ? w->now_s - (w->now_ms - c->open_ms) / 1000 : 0);
	cq_ctlbuf_u32(out, ls->inflight_n);
	cq_ctlbuf_u32(out, ls->nsubs);
	cq_ctlbuf_str(out, on ? cq_conn_addr(c) : "",
		on ? strlen(cq_conn_addr(c)) : 0, CQ_CONN_ADDR_MAX);
	bool user = on && c->username != NULL;
	cq_ctlbuf_u8(out, user);
	cq_ctlbuf_str(out, user ? c->username : "",
		user ? strlen(c->username) : 0, CQ_CTL_USER_MAX);
	if (flags & CQ_CTL_DESCRIBE_WILL)
		describe_will(ls, out);
	else
		cq_ctlbuf_u8(out, 0);
}

static void
do_describe(cq_worker_t *w, const cq_ctl_rec_t *rec, cq_ctlrd_t *in)
{
	unsigned flags = cq_ctlrd_u16(in);
	unsigned n = cq_ctlrd_u16(in);
	unsigned char *mem = malloc(CQ_CTL_PAYLOAD_MAX);
	if (mem == NULL || in->bad || n > CQ_CTL_DESCRIBE_MAX) {
		free(mem);
		reply(rec, mem == NULL ? CQ_CTL_BUSY : CQ_CTL_BAD, NULL, 0);
		return;
	}
	cq_ctlbuf_t out;
	cq_ctlbuf_init(&out, mem, CQ_CTL_PAYLOAD_MAX - sizeof(uint16_t));
	cq_ctlbuf_u16(&out, (uint16_t)n);
	for (unsigned i = 0; i < n && !in->bad; i++) {
		size_t len;
		const char *id = cq_ctlrd_str(in, &len);
		describe_one(w, id, len, flags, &out);
	}
	if (in->bad || out.bad)
		reply(rec, in->bad ? CQ_CTL_BAD : CQ_CTL_BUSY, NULL, 0);
	else
		reply(rec, CQ_CTL_OK, out.p, out.len);
	free(mem);
}

/*
 * PUBLISH: 0 done (replied; *release_r is the record's message reference,
 * to drop once the record is consumed), CQ_AGAIN to retry later.  The
 * reference goes after the consume, not before: a worker killed in
 * between leaks it (the census finds it), where the other order would
 * leave a record naming a freed message for the replacement.
 */
static int
do_publish(cq_worker_t *w, const cq_ctl_rec_t *rec, cq_off_t *release_r)
{
	cq_off_t m;
	const cq_shm_t *shm = cq_shm_current();
	if (!(rec->flags & CQ_CTL_F_MSG) || rec->len < sizeof(m)) {
		reply(rec, CQ_CTL_BAD, NULL, 0);
		return 0;
	}
	memcpy(&m, rec->data, sizeof(m));
	if (shm == NULL || !cq_off_valid(shm->size, m, sizeof(cq_msg_t)) ||
		cq_msg_get(m)->magic != CQ_MSG_MAGIC) {
		cq_log(CQ_LOG_ERR, 0, "control: PUBLISH of a bad message %#x",
			m);
		reply(rec, CQ_CTL_BAD, NULL, 0);
		return 0;
	}
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, m);
	d.origin_session = 0;
	int rc = cq_publish(w, &d, true, NULL);
	if (rc == CQ_AGAIN)
		return CQ_AGAIN;
	static const cq_counter_t in[] = {
		CQ_CTR_MSGS_IN_Q0, CQ_CTR_MSGS_IN_Q1, CQ_CTR_MSGS_IN_Q2};
	unsigned q = d.qos > 2 ? 2 : d.qos;
	if (rc == 0) {
		cq_counter_add(in[q], 1);
		cq_counter_add(CQ_CTR_PAYLOAD_IN_Q0 + q, d.payload_len);
	}
	*release_r = m;
	reply(rec, rc == 0 ? CQ_CTL_OK : CQ_CTL_BUSY, NULL, 0);
	return 0;
}

static uint16_t
do_retained_delete(cq_worker_t *w, cq_ctlrd_t *in)
{
	size_t len;
	const char *topic = cq_ctlrd_str(in, &len);
	if (in->bad || len == 0)
		return CQ_CTL_BAD;
	if (cq_retained_get(topic, len, w->now_s) == CQ_OFF_NULL)
		return CQ_CTL_NOT_FOUND;
	cq_retained_delete(topic, len);
	cq_log(CQ_LOG_INFO, 0, "retained message of %.*s deleted by the admin",
		(int)len, topic);
	return CQ_CTL_OK;
}

static uint16_t
do_unsubscribe(cq_worker_t *w, cq_ctlrd_t *in)
{
	size_t len, flen;
	const char *id = cq_ctlrd_str(in, &len);
	const char *filter = cq_ctlrd_str(in, &flen);
	if (in->bad || flen == 0)
		return CQ_CTL_BAD;
	cq_lsess_t *ls = cq_lsess_find(w, id, len);
	if (ls == NULL)
		return CQ_CTL_NOT_FOUND;
	int rc = cq_lsess_unsubscribe(w, ls, filter, flen);
	if (rc < 0 && errno == ESTALE)
		cq_lsess_stale(w, ls);
	return rc == 1 ? CQ_CTL_OK : CQ_CTL_NOT_FOUND;
}

/* One command: 0 handled, CQ_AGAIN to retry it later.  *release_r: a
 * message reference to drop after the record is consumed. */
static int
handle(cq_worker_t *w, const cq_ctl_rec_t *rec, cq_off_t *release_r)
{
	cq_ctlrd_t in;
	cq_ctlrd_init(&in, rec->data, rec->len);
	switch (rec->type) {
	case CQ_CTL_KICK:
		reply(rec, do_kick(w, &in), NULL, 0);
		return 0;
	case CQ_CTL_DESCRIBE:
		do_describe(w, rec, &in);
		return 0;
	case CQ_CTL_PUBLISH:
		return do_publish(w, rec, release_r);
	case CQ_CTL_RETAINED_DELETE:
		reply(rec, do_retained_delete(w, &in), NULL, 0);
		return 0;
	case CQ_CTL_UNSUBSCRIBE:
		reply(rec, do_unsubscribe(w, &in), NULL, 0);
		return 0;
	default:
		cq_log(CQ_LOG_WARN, 0, "control: unknown command type %u",
			rec->type);
		reply(rec, CQ_CTL_BAD, NULL, 0);
		return 0;
	}
}

static void
drain(void)
{
	for (int i = 0; i < DRAIN_BUDGET; i++) {
		cq_ctl_rec_t rec;
		cq_off_t release = CQ_OFF_NULL;
		if (cq_ctl_cmd_peek(&rec) != 0)
			return;
		if (handle(ctl.w, &rec, &release) == CQ_AGAIN) {
			struct timeval tv = {0, RETRY_MS * 1000};
			evtimer_add(ctl.retry, &tv);
			return;
		}
		cq_ctl_cmd_consume();
		if (release != CQ_OFF_NULL)
			cq_msg_unref(release);
		cq_counter_add(CQ_CTR_CTL_COMMANDS, 1);
	}
	event_active(ctl.ev, EV_READ, 0); /* more: after other events */
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	cq_ctl_eventfd_reset(fd);
	drain();
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	drain();
}

/* ---- loop lag ------------------------------------------------------- */

static void
arm_lag(void)
{
	struct timeval tv = {0, LAG_MS * 1000};
	ctl.lag_due_us = mono_us() + LAG_MS * 1000u;
	evtimer_add(ctl.lag, &tv);
}

static void
on_lag(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	uint64_t now = mono_us();
	cq_counter_set(CQ_CTR_LOOP_LAG_US,
		now > ctl.lag_due_us ? now - ctl.lag_due_us : 0);
	arm_lag();
}

/* ---- the hook ------------------------------------------------------- */

static int
control_started(void *ctx, cq_worker_t *w)
{
	(void)ctx;
	ctl.w = w;
	ctl.retry = evtimer_new(w->base, on_retry, NULL);
	ctl.lag = evtimer_new(w->base, on_lag, NULL);
	if (ctl.retry == NULL || ctl.lag == NULL)
		return -1;
	arm_lag();
	int fd = cq_ctl_worker_fd();
	if (fd < 0) {
		/* A worker run without a master (tests): no admin. */
		cq_log(CQ_LOG_DEBUG, 0, "control: no eventfd, no admin");
		return 0;
	}
	ctl.ev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_ctl, NULL);
	if (ctl.ev == NULL || event_add(ctl.ev, NULL) < 0)
		return -1;
	/* Commands that waited while this slot had no worker. */
	event_active(ctl.ev, EV_READ, 0);
	return 0;
}

static void
control_stopped(void *ctx, cq_worker_t *w)
{
	(void)ctx;
	(void)w;
	struct event *evs[] = {ctl.ev, ctl.retry, ctl.lag};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	ctl.ev = ctl.retry = ctl.lag = NULL;
}

static uint8_t
control_connect(
	void *ctx, const cq_hook_client_t *cl, const cq_mqtt_connect_t *pk)
{
	(void)ctx;
	if (cq_blacklist_has(
		    (const char *)pk->client_id.ptr, pk->client_id.len)) {
		cq_counter_add(CQ_CTR_CONN_BANNED, 1);
		return CQ_MQTT_RC_BANNED;
	}
	return 0;
}

const cq_hook_t cq_hook_control = {
	.name = "admin-control",
	.abi_version = CQ_HOOK_ABI_VERSION,
	.on_started = control_started,
	.on_stopped = control_stopped,
	.on_connect = control_connect,
};
