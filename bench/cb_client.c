/*
 * cb_client.c — see cb_client.h.
 *
 * The hot paths are write_publishes() (one memcpy of the template and
 * three patches per message) and on_publish() (a few loads, one tracker
 * update, one histogram increment per message).  Everything else runs once
 * per connection or per acknowledgement.
 */
#include "config.h"
#include "bench/cb_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/cb_conn.h"
#include "bench/cb_loop.h"
#include "bench/cb_opts.h"

/* Unsent output per connection above which a publisher pauses. */
#define BATCH_BYTES (64 * 1024)
/* Sequence numbers stay below this (the tracker's ranges are 32-bit). */
#define SEQ_LIMIT (UINT32_MAX - 1024)

static inline int
pid_test(const uint64_t *map, uint16_t id)
{
	return (map[id / 64] >> (id % 64)) & 1;
}

static inline void
pid_set(uint64_t *map, uint16_t id)
{
	map[id / 64] |= UINT64_C(1) << (id % 64);
}

static inline void
pid_clear(uint64_t *map, uint16_t id)
{
	map[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

/* A free packet id; one exists because unacked < inflight_max <= 65535. */
static uint16_t
pid_alloc(cb_pub_t *p)
{
	for (;;) {
		uint16_t id = p->next_pid++;
		if (p->next_pid == 0)
			p->next_pid = 1;
		if (id != 0 && !pid_test(p->pid_used, id)) {
			pid_set(p->pid_used, id);
			return id;
		}
	}
}

static void
put_u16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * The client's number: its connection index; in connrate with %u in the
 * credentials, one number per connect over the run (connection i's k-th
 * connect is k * connections + i), so that no two connects share a client
 * id or credentials and a broker's cache of them cannot answer.
 */
static uint64_t
client_number(cb_conn_t *c)
{
	const cb_run_t *run = c->th->run;
	if (!(c->role & CB_ROLE_CYCLE) || !run->o.numbered)
		return c->id;
	return (uint64_t)c->cycles++ * run->nconns + c->id;
}

/* A credential with %u replaced (checked to fit by cb_opts_parse). */
static const char *
credential(const cb_opts_t *o, const char *fmt, uint64_t n, char *buf)
{
	if (fmt == NULL || !o->numbered)
		return fmt;
	cb_opts_expand(buf, CB_CRED_MAX, fmt, o->users ? n % o->users : n);
	return buf;
}

void
cb_client_connect(cb_conn_t *c)
{
	cb_run_t *run = c->th->run;
	uint64_t n = client_number(c);
	char id[48], user[CB_CRED_MAX], pass[CB_CRED_MAX];
	snprintf(id, sizeof(id), "cqb%08x-%" PRIu64, run->tag, n);
	cb_connect_args_t a = {
		.version = run->o.version,
		.client_id = id,
		.keepalive = run->o.keepalive,
		.clean = 1,
		.username = credential(&run->o, run->o.username, n, user),
		.password = credential(&run->o, run->o.password, n, pass),
	};
	uint8_t *p = cb_conn_reserve(c, cb_mqtt_connect_size(&a));
	if (p == NULL)
		return;
	cq_buf_commit(&c->out, cb_mqtt_connect(p, &a));
	c->state = CB_CS_MQTT;
}

void
cb_client_subscribe(cb_conn_t *c)
{
	cb_run_t *run = c->th->run;
	if (c->state != CB_CS_READY || c->sub == NULL)
		return;
	uint8_t *p = cb_conn_reserve(c, cb_mqtt_subscribe_size(c->sub->filter));
	if (p == NULL)
		return;
	cq_buf_commit(&c->out,
		cb_mqtt_subscribe(
			p, run->o.version, 1, c->sub->filter, run->o.qos));
}

static void
send_ack(cb_conn_t *c, int type, uint16_t pid)
{
	uint8_t *p = cb_conn_reserve(c, 4);
	if (p != NULL)
		cq_buf_commit(&c->out, cb_mqtt_ack(p, type, pid));
}

static void
send_pingreq(cb_conn_t *c)
{
	uint8_t *p = cb_conn_reserve(c, 2);
	if (p == NULL)
		return;
	cq_buf_commit(&c->out, cb_mqtt_pingreq(p));
	c->pings_sent++;
}

static int
on_connack(cb_conn_t *c, const cb_pkt_t *pkt)
{
	cb_thread_t *th = c->th;
	cb_connack_t ca;
	if (c->state != CB_CS_MQTT ||
		cb_mqtt_parse_connack(th->run->o.version, pkt, &ca) < 0) {
		cb_conn_fail(c, "malformed or unexpected CONNACK");
		return -1;
	}
	if (ca.reason != 0) {
		cb_conn_fail(c, "CONNACK refused the connection: reason 0x%02x",
			ca.reason);
		return -1;
	}
	if (c->pub && ca.max_packet && c->pub->tmpl.len > ca.max_packet) {
		cb_conn_fail(c,
			"PUBLISH of %u bytes exceeds the broker's "
			"Maximum Packet Size %u",
			c->pub->tmpl.len, ca.max_packet);
		return -1;
	}
	if (th->starting > 0)
		th->starting--;
	c->state = CB_CS_READY;
	c->receive_max = ca.receive_max;
	th->st.live++;
	th->st.connected++;
	cb_hist_record(&th->conn_lat, th->now - c->t_start);
	if (c->pub && th->run->o.qos > 0)
		c->pub->inflight_max = CQ_MIN(
			th->run->o.inflight, (uint32_t)ca.receive_max);
	if (c->role & CB_ROLE_CYCLE)
		cb_conn_disconnect(c);
	return 0;
}

static int
on_suback(cb_conn_t *c, const cb_pkt_t *pkt)
{
	uint16_t pid;
	uint8_t code;
	if (cb_mqtt_parse_suback(c->th->run->o.version, pkt, &pid, &code) < 0 ||
		c->sub == NULL || c->sub->subscribed) {
		cb_conn_fail(c, "malformed or unexpected SUBACK");
		return -1;
	}
	if (code >= 0x80) {
		cb_conn_fail(c, "SUBACK refused \"%s\": code 0x%02x",
			c->sub->filter, code);
		return -1;
	}
	c->sub->subscribed = 1;
	c->th->st.subscribed++;
	return 0;
}

/* The closed-loop window of the publisher may have opened: wake it. */
static void
window_progress(cb_run_t *run, cb_thread_t *th, uint32_t sid, cb_track_t *t)
{
	atomic_store_explicit(&t->high, t->hi_local, memory_order_relaxed);
	uint32_t w = atomic_load_explicit(&t->wake_at, memory_order_relaxed);
	if (w == 0 || t->hi_local < w)
		return;
	atomic_store_explicit(&t->wake_at, 0, memory_order_relaxed);
	cb_thread_t *pt = run->streams[sid].pub_thread;
	if (pt != th)
		cb_loop_wake(pt);
}

/* A message that carries this run's payload header. */
static void
on_message(cb_conn_t *c, const cb_publish_t *m)
{
	cb_thread_t *th = c->th;
	cb_run_t *run = th->run;
	cb_sub_t *s = c->sub;
	uint32_t sid = cb_get_u32(m->payload + CB_PAYLOAD_STREAM);
	if (s == NULL || sid - s->base >= s->n || sid >= run->nstreams) {
		th->st.misrouted++;
		return;
	}
	cb_track_t *t = &s->tracks[sid - s->base];
	uint32_t hi = t->hi_local;
	cb_track_result_t r = cb_track_add(
		t, cb_get_u32(m->payload + CB_PAYLOAD_SEQ));
	if (r == CB_TRACK_DUP) {
		th->st.dup++;
		return;
	}
	th->st.delivered++;
	th->st.last_delivery = th->now;
	if (m->retain) {
		/* A retained copy's age is not a delivery latency. */
		th->st.retained_flagged++;
		if (t->hi_local != hi)
			window_progress(run, th, sid, t);
		return;
	}
	uint64_t stamp = cb_get_u64(m->payload + CB_PAYLOAD_STAMP);
	uint64_t start = atomic_load_explicit(
		&run->run_start, memory_order_relaxed);
	if (stamp >= start && stamp != 0 && th->now >= stamp)
		cb_hist_record(&th->lat, th->now - stamp);
	if (t->hi_local != hi)
		window_progress(run, th, sid, t);
}

static int
on_publish(cb_conn_t *c, const cb_pkt_t *pkt)
{
	cb_thread_t *th = c->th;
	cb_publish_t m;
	if (c->state < CB_CS_READY ||
		cb_mqtt_parse_publish(th->run->o.version, pkt, &m) < 0) {
		cb_conn_fail(c, "malformed or unexpected PUBLISH");
		return -1;
	}
	if (m.qos == 1)
		send_ack(c, CB_MQTT_PUBACK, m.pid);
	else if (m.qos == 2)
		send_ack(c, CB_MQTT_PUBREC, m.pid);
	if (m.payload_len == 0)
		return 0; /* a retained message being cleared */
	if (m.payload_len < CB_PAYLOAD_HDR ||
		cb_get_u32(m.payload + CB_PAYLOAD_TAG) != th->run->tag) {
		th->st.foreign++;
		return 0;
	}
	on_message(c, &m);
	return 0;
}

/* The end of one QoS 1/2 flow of the publisher on c. */
static void
flow_done(cb_conn_t *c, uint16_t pid, uint8_t reason)
{
	cb_pub_t *p = c->pub;
	pid_clear(p->pid_used, pid);
	if (p->pid_rel)
		pid_clear(p->pid_rel, pid);
	p->unacked--;
	p->acked++;
	c->th->st.completed++;
	if (reason >= 0x80) {
		p->refused++;
		c->th->st.refused++;
	}
}

static int
on_ack(cb_conn_t *c, const cb_pkt_t *pkt)
{
	uint16_t pid;
	uint8_t reason;
	cb_pub_t *p = c->pub;
	if (cb_mqtt_parse_ack(pkt, &pid, &reason) < 0) {
		cb_conn_fail(c, "malformed acknowledgement");
		return -1;
	}
	if (pkt->type == CB_MQTT_PUBREL) {
		send_ack(c, CB_MQTT_PUBCOMP, pid);
		return 0;
	}
	if (p == NULL || !pid_test(p->pid_used, pid)) {
		c->th->st.proto_err++;
		return 0;
	}
	int rel = p->pid_rel && pid_test(p->pid_rel, pid);
	switch (pkt->type) {
	case CB_MQTT_PUBACK:
		if (c->th->run->o.qos == 1)
			flow_done(c, pid, reason);
		else
			c->th->st.proto_err++;
		break;
	case CB_MQTT_PUBREC:
		if (c->th->run->o.qos != 2 || rel) {
			c->th->st.proto_err++;
		} else if (reason >= 0x80) {
			flow_done(c, pid, reason); /* MQTT 5: no PUBREL */
		} else {
			pid_set(p->pid_rel, pid);
			send_ack(c, CB_MQTT_PUBREL, pid);
		}
		break;
	default: /* PUBCOMP */
		if (rel)
			flow_done(c, pid, reason);
		else
			c->th->st.proto_err++;
	}
	return 0;
}

static int
on_pingresp(cb_conn_t *c)
{
	c->pings_recv++;
	if (c->barrier && (int16_t)(c->pings_recv - c->pings_barrier) >= 0) {
		c->barrier = 0;
		c->th->st.pinged++;
	}
	return 0;
}

int
cb_client_packet(cb_conn_t *c, const cb_pkt_t *p)
{
	uint8_t reason;
	switch (p->type) {
	case CB_MQTT_PUBLISH:
		return on_publish(c, p);
	case CB_MQTT_PUBACK:
	case CB_MQTT_PUBREC:
	case CB_MQTT_PUBREL:
	case CB_MQTT_PUBCOMP:
		return on_ack(c, p);
	case CB_MQTT_CONNACK:
		return on_connack(c, p);
	case CB_MQTT_SUBACK:
		return on_suback(c, p);
	case CB_MQTT_PINGRESP:
		return on_pingresp(c);
	case CB_MQTT_DISCONNECT:
		cb_mqtt_parse_disconnect(p, &reason);
		cb_conn_fail(
			c, "DISCONNECT from the broker: reason 0x%02x", reason);
		return -1;
	default:
		cb_conn_fail(c, "unexpected packet type %u from the broker",
			p->type);
		return -1;
	}
}

/* Recompute the slowest subscriber of the stream. */
static void
refresh_min(cb_pub_t *p)
{
	cb_stream_t *st = p->stream;
	uint32_t min = UINT32_MAX;
	for (uint32_t i = 0; i < st->nsubs; i++) {
		uint32_t h = atomic_load_explicit(
			&st->subs[i]->high, memory_order_relaxed);
		if (h < min) {
			min = h;
			p->laggard = st->subs[i];
		}
	}
	p->min_high = min;
}

static void
unblock(cb_thread_t *th, cb_pub_t *p)
{
	p->blocked = 0;
	if (p->remote_wait) {
		p->remote_wait = 0;
		th->blocked_remote--;
	}
}

/* Block until the laggard reaches half a window back; 0 while blocked. */
static int
block(cb_conn_t *c, cb_pub_t *p, uint32_t window)
{
	cb_thread_t *th = c->th;
	cb_stream_t *st = p->stream;
	p->blocked = 1;
	p->resume_at = p->sent - window / 2;
	uint32_t li = 0;
	while (st->subs[li] != p->laggard)
		li++;
	if (st->sub_threads[li] == th)
		return 0; /* its progress runs this loop: checked each pass */
	p->remote_wait = 1;
	th->blocked_remote++;
	atomic_store_explicit(
		&p->laggard->wake_at, p->resume_at, memory_order_seq_cst);
	if (atomic_load_explicit(&p->laggard->high, memory_order_seq_cst) >=
		p->resume_at) {
		atomic_store_explicit(
			&p->laggard->wake_at, 0, memory_order_relaxed);
		unblock(th, p);
		return 1;
	}
	return 0;
}

/* How many more messages the closed-loop window allows. */
static uint32_t
window_credit(cb_conn_t *c, cb_pub_t *p)
{
	const cb_opts_t *o = &c->th->run->o;
	/* Retained messages are published before anyone subscribes. */
	if (o->rate > 0 || o->window == 0 || p->stream->nsubs == 0 ||
		o->scenario == CB_RETAINED)
		return UINT32_MAX;
	if (p->blocked) {
		if (atomic_load_explicit(&p->laggard->high,
			    memory_order_relaxed) < p->resume_at)
			return 0;
		unblock(c->th, p);
	}
	for (int tries = 0; tries < 2; tries++) {
		if (p->sent - p->min_high < o->window)
			return o->window - (p->sent - p->min_high);
		refresh_min(p);
		if (p->sent - p->min_high < o->window)
			return o->window - (p->sent - p->min_high);
		if (!block(c, p, o->window))
			return 0;
	}
	return 0;
}

int64_t
cb_client_outstanding(const cb_conn_t *c)
{
	const cb_pub_t *p = c->pub;
	if (c->state != CB_CS_READY || p->sent >= p->target ||
		c->th->run->o.scenario == CB_RETAINED)
		return -1;
	uint64_t queued = (uint64_t)(p->sent - p->min_high) * p->stream->nsubs;
	return (int64_t)CQ_MAX((uint64_t)p->unacked, queued);
}

uint64_t
cb_client_next_due(const cb_conn_t *c)
{
	const cb_pub_t *p = c->pub;
	if (p == NULL || p->interval <= 0 || p->sent >= p->target ||
		c->state != CB_CS_READY)
		return UINT64_MAX;
	return (uint64_t)(p->t0 + p->interval * p->sent);
}

static void
retained_topic(cb_conn_t *c, char *buf, size_t len, uint32_t seq)
{
	snprintf(buf, len, "%s/r/%u", c->th->run->prefix, seq);
}

/* Write one PUBLISH with its own topic (retained scenario). */
static int
write_publish_topic(cb_conn_t *c, const char *topic, int qos, uint16_t pid,
	const uint8_t *payload, uint32_t plen)
{
	int v5 = c->th->run->o.version == 5;
	size_t tl = strlen(topic);
	uint32_t body = 2 + (uint32_t)tl + (qos ? 2 : 0) + v5 + plen;
	uint8_t *p = cb_conn_reserve(c, body + 5);
	if (p == NULL)
		return -1;
	uint8_t *q = p;
	*q++ = (uint8_t)(CB_MQTT_PUBLISH << 4 | qos << 1 | 1);
	q += cb_mqtt_varint_put(q, body);
	put_u16be(q, (uint16_t)tl);
	memcpy(q + 2, topic, tl);
	q += 2 + tl;
	if (qos) {
		put_u16be(q, pid);
		q += 2;
	}
	if (v5)
		*q++ = 0;
	if (plen > 0)
		memcpy(q, payload, plen);
	cq_buf_commit(&c->out, (size_t)(q + plen - p));
	return 0;
}

static void
write_retained(cb_conn_t *c, cb_pub_t *p, uint32_t n)
{
	cb_run_t *run = c->th->run;
	uint8_t *pl = p->tmpl.bytes + p->tmpl.payload_off;
	char topic[200];
	for (uint32_t i = 0; i < n; i++) {
		uint16_t pid = run->o.qos ? pid_alloc(p) : 0;
		cb_put_u32(pl + CB_PAYLOAD_SEQ, p->sent);
		cb_put_u64(pl + CB_PAYLOAD_STAMP, c->th->now);
		retained_topic(c, topic, sizeof(topic), p->sent);
		if (write_publish_topic(
			    c, topic, run->o.qos, pid, pl, run->o.size) < 0)
			return;
		p->sent++;
		if (run->o.qos)
			p->unacked++;
	}
}

static void
write_publishes(cb_conn_t *c, cb_pub_t *p, uint32_t n)
{
	const cb_publish_tmpl_t *t = &p->tmpl;
	uint8_t *out = cb_conn_reserve(c, (size_t)n * t->len);
	if (out == NULL)
		return;
	int qos = c->th->run->o.qos;
	uint64_t now = c->th->now;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(out, t->bytes, t->len);
		if (qos) {
			put_u16be(out + t->pid_off, pid_alloc(p));
			p->unacked++;
		}
		uint8_t *pl = out + t->payload_off;
		cb_put_u32(pl + CB_PAYLOAD_SEQ, p->sent);
		uint64_t stamp = p->interval > 0
			? (uint64_t)(p->t0 + p->interval * p->sent)
			: now;
		cb_put_u64(pl + CB_PAYLOAD_STAMP, stamp);
		p->sent++;
		out += t->len;
	}
	cq_buf_commit(&c->out, (size_t)n * t->len);
}

int
cb_client_publish(cb_conn_t *c)
{
	cb_pub_t *p = c->pub;
	cb_thread_t *th = c->th;
	if (c->state != CB_CS_READY || th->phase != CB_PH_RUN)
		return 0;
	size_t pend = cb_conn_pending(c);
	if (pend >= BATCH_BYTES || p->sent >= p->target)
		return 0;
	uint32_t n = p->target - p->sent;
	if (p->interval > 0) {
		if ((double)th->now < p->t0)
			return 0;
		uint64_t due = (uint64_t)(((double)th->now - p->t0) /
				       p->interval) +
			1;
		if (due <= p->sent)
			return 0;
		n = (uint32_t)CQ_MIN((uint64_t)n, due - p->sent);
	}
	if (th->run->o.qos)
		n = CQ_MIN(n, p->inflight_max - p->unacked);
	if (n > 0)
		n = CQ_MIN(n, window_credit(c, p));
	uint32_t room = (uint32_t)((BATCH_BYTES - pend) / p->tmpl.len) + 1;
	int more = n > room;
	n = CQ_MIN(n, room);
	if (n == 0)
		return 0;
	if (th->run->o.scenario == CB_RETAINED)
		write_retained(c, p, n);
	else
		write_publishes(c, p, n);
	th->st.sent += n;
	th->st.last_send = th->now;
	return more;
}

void
cb_client_barrier(cb_conn_t *c)
{
	if (c->state != CB_CS_READY)
		return;
	send_pingreq(c);
	c->pings_barrier = c->pings_sent;
	c->barrier = 1;
}

int
cb_client_clean(cb_conn_t *c)
{
	cb_pub_t *p = c->pub;
	if (c->state != CB_CS_READY || p->cleaned >= p->sent)
		return 0;
	char topic[200];
	uint32_t n = CQ_MIN(p->sent - p->cleaned, 1024u);
	for (uint32_t i = 0; i < n; i++, p->cleaned++) {
		retained_topic(c, topic, sizeof(topic), p->cleaned);
		if (write_publish_topic(c, topic, 0, 0, NULL, 0) < 0)
			return 0;
	}
	c->th->st.cleaned += n;
	if (p->cleaned < p->sent)
		return 1;
	cb_client_barrier(c);
	return 0;
}

void
cb_client_keepalive(cb_conn_t *c)
{
	uint64_t ka = (uint64_t)c->th->run->o.keepalive * 1000000000u;
	if (ka == 0 || c->state != CB_CS_READY ||
		c->th->now - c->last_tx < ka / 2)
		return;
	send_pingreq(c);
	c->last_tx = c->th->now;
}
