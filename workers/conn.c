/*
 * conn.c — see conn.h.
 *
 * Invariants:
 *   - c->in holds unprocessed bytes only: a packet is consumed after its
 *     handler returned (views into c->in stay valid during the handler),
 *     or left in place when the handler answers CQ_AGAIN (a full ring:
 *     the connection is 'blocked' and retried next iteration);
 *   - a connection is on w->dirty at most once (c->dirty), and only with
 *     output to write;
 *   - after cq_conn_close() the descriptor is closed, the events are
 *     gone and c->state is CLOSED; the struct itself is freed by
 *     cq_conn_reap_dead() at the end of the iteration, so code that
 *     called a handler may still read c->state.
 */
#include "config.h"
#include "workers/conn.h"
#include "workers/authwait.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "shm/counters.h"
#include "shm/ring.h"
#include "workers/enhanced_auth.h"
#include "workers/handle.h"
#include "workers/handshake.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/pack.h"
#include "workers/reply.h"
#include "workers/rsend.h"
#include "workers/worker.h"

/* ---- addresses ----------------------------------------------------- */

/* c->names = "addr\0id\0" (one small allocation instead of two
 * fixed-size buffers in every connection).  Out of memory keeps the old
 * text. */
static void
set_names(cq_conn_t *c, const char *addr, size_t alen, const char *id,
	size_t ilen)
{
	char *n = malloc(alen + ilen + 2);
	if (n == NULL)
		return;
	memcpy(n, addr, alen);
	n[alen] = '\0';
	memcpy(n + alen + 1, id, ilen);
	n[alen + 1 + ilen] = '\0';
	free(c->names);
	c->names = n;
	c->addr_len = (uint8_t)alen;
}

static void
peer_text(cq_conn_t *c, const struct sockaddr *sa, socklen_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	char addr[CQ_CONN_ADDR_MAX];
	c->loopback = false;
	if (sa == NULL || len == 0) {
		snprintf(addr, sizeof(addr), "unix");
		c->loopback = true;
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(addr, sizeof(addr), "%s:%u", ip, ntohs(in->sin_port));
		c->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(addr, sizeof(addr), "[%s]:%u", ip,
			ntohs(in6->sin6_port));
		c->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
			(IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
				in6->sin6_addr.s6_addr[12] == 127);
	} else {
		/* A Unix socket: local by definition. */
		snprintf(addr, sizeof(addr), "unix");
		c->loopback = true;
	}
	const char *id = cq_conn_id_log(c);
	set_names(c, addr, strlen(addr), id, strlen(id));
}

void
cq_conn_set_peer(cq_conn_t *c, const struct sockaddr *sa, socklen_t len)
{
	peer_text(c, sa, len);
}

void
cq_conn_set_log_id(cq_conn_t *c, const void *id, size_t len)
{
	char text[CQ_CONN_ID_LOG_MAX];
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = ((const unsigned char *)id)[i];
		/* Keep log lines one line of printable text. */
		text[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	const char *addr = cq_conn_addr(c);
	set_names(c, addr, strlen(addr), text, n);
}

cq_mqtt_dec_t
cq_conn_decoder(const cq_conn_t *c)
{
	return (cq_mqtt_dec_t){.version = c->version,
		.flags = CQ_MQTT_DEC_FROM_CLIENT,
		.max_packet = c->w->cfg->limits.max_packet_size};
}

/* ---- output -------------------------------------------------------- */

static void
mark_dirty(cq_conn_t *c)
{
	if (c->dirty || c->state == CQ_CONN_CLOSED)
		return;
	c->dirty = true;
	c->dirty_next = c->w->dirty;
	c->w->dirty = c;
}

unsigned char *
cq_conn_reserve(cq_conn_t *c, size_t n)
{
	if (cq_buf_reserve(&c->out, n) < 0) {
		cq_log(CQ_LOG_ERR, ENOMEM,
			"client %s (%s): output buffer of %zu bytes",
			cq_conn_id_log(c), cq_conn_addr(c),
			cq_buf_used(&c->out) + n);
		cq_conn_close(c, CQ_CLOSE_ABNORMAL);
		return NULL;
	}
	mark_dirty(c);
	return cq_buf_tail(&c->out);
}

void
cq_conn_commit(cq_conn_t *c, size_t n)
{
	cq_buf_commit(&c->out, n);
}

int
cq_conn_send(cq_conn_t *c, const void *p, size_t n)
{
	if (c->state == CQ_CONN_CLOSED)
		return -1;
	unsigned char *dst = cq_conn_reserve(c, n);
	if (dst == NULL)
		return -1;
	memcpy(dst, p, n);
	cq_conn_commit(c, n);
	return 0;
}

int
cq_conn_send_packet(cq_conn_t *c, const cq_mqtt_packet_t *pkt)
{
	if (c->state == CQ_CONN_CLOSED)
		return -1;
	uint8_t v = c->version ? c->version : CQ_MQTT_V311;
	/* What the client accepts: problem information, packet size. */
	cq_mqtt_packet_t fit = *pkt;
	uint8_t mem[512];
	void *heap = NULL;
	size_t n;
	if (cq_reply_fit(c, &fit, mem, sizeof(mem), &heap, &n) == 1) {
		free(heap);
		cq_counter_add(CQ_CTR_DROP_TOO_LARGE, 1);
		if (pkt->type == CQ_MQTT_DISCONNECT)
			return 0; /* the caller closes anyway */
		/* Only an application message may be dropped as if sent
		 * [MQTT-3.1.2-25]; without its CONNACK or an acknowledgement
		 * the client would wait forever. */
		cq_log(CQ_LOG_INFO, 0,
			"client %s (%s): a packet of type %u does not fit its "
			"maximum packet size (%u); closing",
			cq_conn_who(c), cq_conn_addr(c), pkt->type,
			c->max_packet);
		cq_conn_close(c,
			c->state == CQ_CONN_ACTIVE ? CQ_CLOSE_ABNORMAL
						   : CQ_CLOSE_REFUSED);
		return -1;
	}
	int rc = 0;
	unsigned char *dst = NULL;
	if (n == 0) {
		cq_log(CQ_LOG_ERR, 0,
			"client %s (%s): cannot encode a packet of type %u",
			cq_conn_id_log(c), cq_conn_addr(c), pkt->type);
		rc = -1;
	} else {
		cq_hooks_packet_encode(c->w, c, &fit);
		dst = cq_conn_reserve(c, n);
		rc = dst != NULL ? 0 : -1;
	}
	if (dst != NULL) {
		cq_conn_commit(c, cq_mqtt_encode(&fit, v, dst, n));
		cq_hooks_packet_sent(c->w, c, &fit);
	}
	free(heap);
	return rc;
}

#define OUT_KEEP_MIN 1024u
#define OUT_KEEP_MAX (1u << 20)

/* One write of what is buffered: 0, or -1 when the peer is gone. */
static int
write_out(cq_conn_t *c)
{
	size_t n = cq_buf_used(&c->out);
	if (n == 0 && !c->tr_pending)
		return 0;
	ssize_t got = cq_transport_of(c)->write(c, cq_buf_head(&c->out), n);
	if (got == CQ_AGAIN)
		got = 0;
	if (got < 0)
		return -1;
	cq_buf_consume(&c->out, (size_t)got);
	cq_counter_add(CQ_CTR_BYTES_OUT, (uint64_t)got);
	return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg);

/* The write event is made the first time a write is partial: most
 * connections never need one, and an idle one should not hold it. */
static void
arm_write(cq_conn_t *c, bool on)
{
	if (on == c->writing)
		return;
	if (on && c->wev == NULL &&
		(c->wev = event_new(c->w->base, c->fd, EV_WRITE, on_writable,
			 c)) == NULL) {
		cq_log(CQ_LOG_ERR, ENOMEM, "client %s (%s): write event",
			cq_conn_id_log(c), cq_conn_addr(c));
		cq_conn_close(c, CQ_CLOSE_ABNORMAL);
		return;
	}
	c->writing = on;
	if (on)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
}

/* After a write: the peer gone, all written, or wait for EV_WRITE. */
static void
after_write(cq_conn_t *c, int rc)
{
	if (rc < 0) {
		cq_log(CQ_LOG_DEBUG, errno, "client %s (%s): write failed",
			cq_conn_id_log(c), cq_conn_addr(c));
		cq_conn_close(c, CQ_CLOSE_ABNORMAL);
		return;
	}
	bool left = cq_buf_used(&c->out) > 0 || c->tr_pending;
	arm_write(c, left);
	if (!left) {
		/* An idle connection holds no output buffer: a small one
		 * goes at a connection's first flush after a keep-alive
		 * check period without output, which is the only flush of
		 * one that just got its CONNACK or an occasional message.
		 * One that flushes again is busy: it keeps the buffer, so that
		 * a subscriber in a stream does not allocate and free one per
		 * flush, until a whole period passes without output
		 * (cq_conn_check_timeouts).  A large one is kept for the next
		 * burst; a huge one goes at once, unless the connection was
		 * busy in the last period too: a subscriber taking a stream
		 * of megabytes per loop pass (fanin) keeps it. */
		bool busy = c->out_busy || c->out_was_busy;
		if ((c->out.cap > OUT_KEEP_MAX && !c->out_was_busy) ||
			(c->out.cap <= OUT_KEEP_MIN && !busy))
			cq_buf_free(&c->out);
		c->out_busy = true;
		if (c->close_after_flush) {
			cq_conn_close(c, CQ_CLOSE_NORMAL);
			return;
		}
		/* Room again: let the session send what it queued. */
		if (c->ls != NULL && c->state == CQ_CONN_ACTIVE)
			cq_lsess_output_drained(c->w, c->ls);
	}
}

void
cq_conn_flush_dirty(cq_worker_t *w)
{
	while (w->dirty != NULL) {
		cq_conn_t *c = w->dirty;
		w->dirty = c->dirty_next;
		c->dirty = false;
		c->dirty_next = NULL;
		if (c->state == CQ_CONN_CLOSED || c->writing)
			continue;
		after_write(c, write_out(c));
	}
}

void
cq_conn_want_write(cq_conn_t *c)
{
	if (c->state != CQ_CONN_CLOSED)
		arm_write(c, true);
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
	cq_conn_t *c = arg;
	(void)fd;
	(void)what;
	c->writing = false; /* EV_WRITE is not persistent */
	if (c->hs != NULL) {
		/* A handshake that waited for room; then read what came. */
		if (cq_handshake_step(c) == 0)
			event_active(c->rev, EV_READ, 0);
		return;
	}
	after_write(c, write_out(c));
}

/* Input the transport holds that no socket event will announce. */
static void
read_again_if_pending(cq_conn_t *c)
{
	if (c->state != CQ_CONN_CLOSED && !c->paused &&
		cq_transport_of(c)->pending != NULL &&
		cq_transport_of(c)->pending(c))
		event_active(c->rev, EV_READ, 0);
}

/* ---- input --------------------------------------------------------- */

static void process_input(cq_conn_t *c);
static bool reading_lent(const cq_conn_t *c);

/* The protocol level to answer a failed decode in. */
static uint8_t
reply_version(const cq_conn_t *c, const cq_mqtt_packet_t *pkt)
{
	if (c->version != 0)
		return c->version;
	/* A level we do not know is answered as 3.1.1 would (0x01): a client
	 * of a later version understands that much [MQTT-3.1.2-2]. */
	if (pkt->type == CQ_MQTT_CONNECT &&
		pkt->u.connect.version >= CQ_MQTT_V31 &&
		pkt->u.connect.version <= CQ_MQTT_V5)
		return pkt->u.connect.version;
	return CQ_MQTT_V311;
}

void
cq_conn_violation(
	cq_conn_t *c, cq_mqtt_err_t err, uint8_t reason, const char *what)
{
	if (c->state == CQ_CONN_CLOSED)
		return;
	bool connected = c->state == CQ_CONN_ACTIVE;
	cq_log(CQ_LOG_NOTICE, 0, "client %s (%s): %s%s%s; closing",
		cq_conn_who(c), cq_conn_addr(c), what,
		err != CQ_MQTT_OK ? ": " : "",
		err != CQ_MQTT_OK ? cq_mqtt_err_name(err) : "");
	if (err == CQ_MQTT_OK) {
		cq_conn_disconnect_text(c, reason, CQ_CLOSE_ABNORMAL, what);
		return;
	}
	cq_mqtt_reply_t r = cq_mqtt_err_reply(
		err, c->version ? c->version : CQ_MQTT_V311, connected);
	if (r.kind == CQ_MQTT_REPLY_CONNACK && !connected) {
		uint8_t mem[128];
		cq_mqtt_packet_t p = {.type = CQ_MQTT_CONNACK};
		p.u.connack.code = r.code;
		if (r.version == CQ_MQTT_V5)
			p.u.connack.props = cq_reply_reason_props(
				cq_mqtt_err_name(err), mem, sizeof(mem));
		uint8_t saved = c->version;
		c->version = r.version;
		cq_conn_send_packet(c, &p);
		c->version = saved;
	} else if (r.kind == CQ_MQTT_REPLY_DISCONNECT && connected) {
		char text[128];
		snprintf(text, sizeof(text), "%s: %s", what,
			cq_mqtt_err_name(err));
		cq_conn_disconnect_text(c, r.code, CQ_CLOSE_ABNORMAL, text);
		return;
	}
	cq_conn_close(c, connected ? CQ_CLOSE_ABNORMAL : CQ_CLOSE_REFUSED);
}

/* A decode error: the CONNECT's own level when there is no other. */
static void
decode_failed(
	cq_conn_t *c, const cq_mqtt_frame_t *fr, const cq_mqtt_packet_t *pkt)
{
	uint8_t saved = c->version;
	if (c->state != CQ_CONN_ACTIVE)
		c->version = reply_version(c, pkt);
	char what[64];
	snprintf(what, sizeof(what), "bad packet (type %u)",
		pkt->type ? pkt->type : fr->type);
	cq_conn_violation(c, fr->err, 0, what);
	if (c->state != CQ_CONN_CLOSED)
		c->version = saved;
}

static int
dispatch(cq_conn_t *c, cq_mqtt_packet_t *pkt)
{
	if (pkt->type != CQ_MQTT_CONNECT && c->state != CQ_CONN_ACTIVE &&
		!(pkt->type == CQ_MQTT_AUTH && cq_eauth_waiting(c))) {
		cq_conn_violation(
			c, CQ_MQTT_ERR_NOT_CONNECT, 0, "packet before CONNECT");
		return 0;
	}
	switch (pkt->type) {
	case CQ_MQTT_CONNECT:
		return cq_handle_connect(c, &pkt->u.connect);
	case CQ_MQTT_PUBLISH:
		return cq_handle_publish(c, &pkt->u.publish);
	case CQ_MQTT_PUBACK:
	case CQ_MQTT_PUBREC:
	case CQ_MQTT_PUBREL:
	case CQ_MQTT_PUBCOMP:
		return cq_handle_ack(c, &pkt->u.ack);
	case CQ_MQTT_SUBSCRIBE:
		return cq_handle_subscribe(c, &pkt->u.subscribe);
	case CQ_MQTT_UNSUBSCRIBE:
		return cq_handle_unsubscribe(c, &pkt->u.subscribe);
	case CQ_MQTT_PINGREQ:
		return cq_handle_pingreq(c);
	case CQ_MQTT_DISCONNECT:
		return cq_handle_disconnect(c, &pkt->u.disconnect);
	case CQ_MQTT_AUTH:
		return cq_handle_auth(c, &pkt->u.auth);
	default:
		cq_conn_violation(c, CQ_MQTT_ERR_DIRECTION, 0,
			"packet type not allowed from a client");
		return 0;
	}
}

static void
process_input(cq_conn_t *c)
{
	while (c->state != CQ_CONN_CLOSED && !c->paused &&
		cq_buf_used(&c->in) > 0) {
		unsigned type = cq_buf_head(&c->in)[0] >> 4;
		if (c->state == CQ_CONN_NEW && type != CQ_MQTT_CONNECT &&
			!(type == CQ_MQTT_AUTH && cq_eauth_waiting(c))) {
			/* Say no at the first byte: a client that is not
			 * speaking MQTT should not make us buffer a "packet"
			 * of up to max_packet_size [MQTT-3.1.0-1]. */
			cq_conn_violation(c, CQ_MQTT_ERR_NOT_CONNECT, 0,
				"first packet is not CONNECT");
			return;
		}
		cq_mqtt_frame_t fr;
		cq_mqtt_packet_t pkt;
		cq_mqtt_dec_t dec = cq_conn_decoder(c);
		int rc = cq_mqtt_read(cq_buf_head(&c->in), cq_buf_used(&c->in),
			&dec, &fr, &pkt);
		if (rc == CQ_AGAIN)
			break;
		if (rc < 0) {
			decode_failed(c, &fr, &pkt);
			return;
		}
		c->rx_ms = (uint32_t)c->w->now_ms;
		if (!c->replaying && cq_hooks_packet_read(c->w, c, &pkt) < 0) {
			cq_conn_close(c, CQ_CLOSE_ABNORMAL);
			return;
		}
		int rc2 = dispatch(c, &pkt);
		c->retrying = false;
		if (rc2 == CQ_CONN_PENDING) {
			/* Asked comqtt-authd: the answer resumes us. */
			c->replaying = true;
			if (cq_authwait_pending(c) > 0)
				cq_conn_pause_input(c);
			return;
		}
		if (rc2 == CQ_AGAIN) {
			/* Leave the packet for the next iteration; read no
			 * more meanwhile (TCP throttles the publisher). */
			if (!c->blocked) {
				c->blocked = true;
				c->w->nblocked++;
			}
			c->retrying = true;
			cq_conn_pause_input(c);
			return;
		}
		if (c->state == CQ_CONN_CLOSED)
			return;
		cq_buf_consume(&c->in, fr.size);
		c->replaying = false;
		cq_authwait_packet_done(c);
	}
	/* A buffer of its own is only for a packet still incomplete: once
	 * it is handled, the connection holds no input memory. */
	if (c->state != CQ_CONN_CLOSED && !reading_lent(c))
		cq_buf_shrink(&c->in, 0);
}

/* ---- the worker's read buffer -------------------------------------- */

/*
 * Every read lands in the worker's buffer (w->rbuf), lent to the
 * connection for the read and the packets it completes; what is left of
 * an incomplete packet is then copied into the connection's own buffer,
 * and carried back into the worker's at the next read.  A remainder
 * larger than LEND_MAX keeps growing in the connection's buffer instead,
 * so a big packet arriving in many reads is not copied over and over.
 * Only on_readable lends, and it cannot be re-entered: one loan at a time.
 */
#define LEND_MAX 4096u

static bool
reading_lent(const cq_conn_t *c)
{
	return c->w->rbuf_lent && c->in.data == c->w->rbuf.data;
}

static bool
borrow_rbuf(cq_conn_t *c)
{
	cq_worker_t *w = c->w;
	size_t held = cq_buf_used(&c->in);

	if (w->rbuf_lent || held > LEND_MAX ||
		cq_buf_reserve(&w->rbuf, LEND_MAX + CQ_CONN_READ_SIZE) < 0)
		return false;
	if (held > 0) {
		memcpy(cq_buf_tail(&w->rbuf), cq_buf_head(&c->in), held);
		cq_buf_commit(&w->rbuf, held);
	}
	cq_buf_reset(&c->in);
	w->rbuf_own = c->in;
	c->in = w->rbuf;
	w->rbuf_lent = true;
	return true;
}

/* The loan ends: what is left unhandled moves to c's own buffer, which
 * a busy connection keeps between reads (in_busy, as out_busy in
 * after_write); an idle one holds none.  0, or -1 (out of memory). */
static int
return_rbuf(cq_conn_t *c)
{
	cq_worker_t *w = c->w;
	cq_buf_t lent = c->in;
	int rc = 0;

	c->in = w->rbuf_own;
	w->rbuf_own = (cq_buf_t)CQ_BUF_INIT;
	if (c->state != CQ_CONN_CLOSED && cq_buf_used(&lent) > 0)
		rc = cq_buf_append(
			&c->in, cq_buf_head(&lent), cq_buf_used(&lent));
	else if (!c->in_busy && !c->in_was_busy)
		cq_buf_free(&c->in);
	c->in_busy = true;
	cq_buf_reset(&lent);
	w->rbuf = lent;
	w->rbuf_lent = false;
	return rc;
}

static void
input_oom(cq_conn_t *c)
{
	cq_log(CQ_LOG_ERR, ENOMEM, "client %s (%s): input buffer",
		cq_conn_id_log(c), cq_conn_addr(c));
	cq_conn_close(c, CQ_CLOSE_ABNORMAL);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	cq_conn_t *c = arg;
	(void)fd;
	(void)what;
	if (c->state == CQ_CONN_CLOSED || c->paused)
		return;
	if (c->hs != NULL && cq_handshake_step(c) != 0)
		return;
	bool lent = borrow_rbuf(c);
	if (!lent && cq_buf_reserve(&c->in, CQ_CONN_READ_SIZE) < 0) {
		input_oom(c);
		return;
	}
	ssize_t n = cq_transport_of(c)->read(
		c, cq_buf_tail(&c->in), CQ_CONN_READ_SIZE);
	int err = errno;
	if (n > 0) {
		cq_counter_add(CQ_CTR_BYTES_IN, (uint64_t)n);
		/* Draining: what the client still says is not heard. */
		if (c->state != CQ_CONN_DRAINING) {
			cq_buf_commit(&c->in, (size_t)n);
			process_input(c);
			/* Other workers start on what this read routed
			 * while the loop goes on with other sockets (one
			 * eventfd write per sleep of theirs at most). */
			cq_ring_notify_pending();
		}
	}
	if (lent && return_rbuf(c) < 0) {
		input_oom(c);
		return;
	}
	if (n == CQ_AGAIN)
		return;
	if (n <= 0) {
		if (n < 0)
			cq_log(CQ_LOG_DEBUG, err, "client %s (%s): read failed",
				cq_conn_id_log(c), cq_conn_addr(c));
		cq_conn_close(c, CQ_CLOSE_ABNORMAL);
		return;
	}
	read_again_if_pending(c);
}

void
cq_conn_pause_input(cq_conn_t *c)
{
	if (c->paused || c->state == CQ_CONN_CLOSED)
		return;
	c->paused = true;
	event_del(c->rev);
}

/* Reading again: neither blocked on a ring nor paused. */
static void
unhold(cq_conn_t *c)
{
	if (c->blocked) {
		c->blocked = false;
		c->w->nblocked--;
	}
	if (c->paused) {
		c->paused = false;
		event_add(c->rev, NULL);
	}
}

void
cq_conn_resume_input(cq_conn_t *c)
{
	if (c->state == CQ_CONN_CLOSED)
		return;
	unhold(c);
	/* The keep-alive clock restarts: the client was not heard because
	 * we were not listening. */
	c->rx_ms = (uint32_t)c->w->now_ms;
	process_input(c);
	read_again_if_pending(c);
}

/* ---- life cycle ---------------------------------------------------- */

cq_conn_t *
cq_conn_new(cq_worker_t *w, int fd, unsigned li, const struct sockaddr *peer,
	socklen_t peer_len)
{
	cq_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cq_log(CQ_LOG_ERR, ENOMEM, "new connection dropped");
		close(fd);
		return NULL;
	}
	c->w = w;
	c->fd = fd;
	c->listener = li;
	c->open_ms = w->now_ms;
	c->rx_ms = (uint32_t)w->now_ms;
	/* TCP_NODELAY comes from the listener (master/listen.c). */
	peer_text(c, peer, peer_len);
	c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	if (c->rev == NULL || cq_transport_of(c)->open(c) < 0) {
		cq_log(CQ_LOG_ERR, errno, "connection from %s dropped",
			cq_conn_addr(c));
		if (c->rev)
			event_free(c->rev);
		close(fd);
		free(c->names);
		free(c);
		return NULL;
	}
	event_add(c->rev, NULL);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	cq_counter_add(CQ_CTR_CONN_ACCEPTED, 1);
	cq_log(CQ_LOG_DEBUG, 0, "new connection from %s", cq_conn_addr(c));
	cq_handshake_begin(c, peer, peer_len);
	return c;
}

/* The connection no longer serves its session: counters, the session's
 * disconnect (wills per 'why'), hooks.  Once. */
static void
detach(cq_conn_t *c, cq_close_why_t why)
{
	cq_worker_t *w = c->w;
	if (c->state == CQ_CONN_ACTIVE) {
		w->nconnected--;
		if (c->listener < CQ_WORKER_MAX_LISTENERS)
			w->nconnected_on[c->listener]--;
		cq_counter_set(CQ_CTR_CONNECTIONS, w->nconnected);
	}
	cq_handle_connect_detach(c);
	cq_rsend_stop(c);
	cq_pack_stop(c);
	if (c->ls != NULL) {
		cq_lsess_t *ls = c->ls;
		c->ls = NULL;
		cq_lsess_conn_closed(w, ls, c, why);
	}
}

void
cq_conn_disconnect(cq_conn_t *c, uint8_t reason, cq_close_why_t why)
{
	cq_conn_disconnect_text(c, reason, why, NULL);
}

void
cq_conn_disconnect_text(
	cq_conn_t *c, uint8_t reason, cq_close_why_t why, const char *text)
{
	uint8_t mem[256];
	cq_mqtt_packet_t p = {.type = CQ_MQTT_DISCONNECT};
	p.u.disconnect.reason = reason;
	if (reason != CQ_MQTT_RC_SUCCESS)
		p.u.disconnect.props = cq_reply_reason_props(
			text != NULL ? text : cq_reply_text(reason), mem,
			sizeof(mem));
	cq_conn_disconnect_packet(c, &p, why);
}

void
cq_conn_disconnect_packet(
	cq_conn_t *c, const cq_mqtt_packet_t *p, cq_close_why_t why)
{
	if (c->state == CQ_CONN_CLOSED || c->state == CQ_CONN_DRAINING)
		return;
	if (c->version == CQ_MQTT_V5 && c->state == CQ_CONN_ACTIVE) {
		cq_conn_send_packet(c, p);
		if (c->w->cfg->mqtt.passive_client_disconnect &&
			why != CQ_CLOSE_SHUTDOWN) {
			/* Leave the close to the client (some expect it). */
			detach(c, why);
			c->state = CQ_CONN_DRAINING;
			c->open_ms = c->w->now_ms;
			unhold(c);
			return;
		}
	}
	cq_conn_close(c, why);
}

void
cq_conn_close(cq_conn_t *c, cq_close_why_t why)
{
	cq_worker_t *w = c->w;
	if (c->state == CQ_CONN_CLOSED)
		return;
	if (c->state != CQ_CONN_DRAINING)
		detach(c, why);
	/* Best effort: a refusing CONNACK or a DISCONNECT is worth one
	 * write; a peer that does not read loses it. */
	if (cq_buf_used(&c->out) > 0)
		(void)write_out(c);
	c->state = CQ_CONN_CLOSED;
	/* No authd answer may reach a connection after this. */
	cq_hook_authd_conn_closed(c);
	event_del(c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	cq_transport_of(c)->close(c);
	cq_handshake_free(c);
	close(c->fd);
	c->fd = -1;
	if (c->blocked) {
		c->blocked = false;
		w->nblocked--;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	cq_counter_add(CQ_CTR_CONN_CLOSED, 1);
	cq_log(CQ_LOG_DEBUG, 0, "client %s (%s) closed", cq_conn_who(c),
		cq_conn_addr(c));
	c->dead_next = w->dead;
	w->dead = c;
}

static void
free_conn(cq_conn_t *c)
{
	event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	cq_buf_free(&c->in);
	cq_buf_free(&c->out);
	if (c->aliases != NULL) {
		cq_alias_free(&c->aliases->in);
		cq_alias_out_free(&c->aliases->out);
		free(c->aliases);
	}
	cq_eauth_free(c);
	free(c->username);
	free(c->names);
	free(c);
}

void
cq_conn_reap_dead(cq_worker_t *w)
{
	while (w->dead != NULL) {
		cq_conn_t *c = w->dead;
		w->dead = c->dead_next;
		free_conn(c);
	}
}

void
cq_conn_check_timeouts(cq_worker_t *w)
{
	cq_conn_t *next;
	for (cq_conn_t *c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (c->hs != NULL) {
			cq_handshake_expired(c, w->now_ms);
			continue;
		}
		if (c->state != CQ_CONN_ACTIVE) {
			if (w->now_ms - c->open_ms >
				CQ_CONN_CONNECT_TIMEOUT_MS) {
				cq_log(CQ_LOG_INFO, 0,
					"connection from %s: no CONNECT "
					"within %u s; closing",
					cq_conn_addr(c),
					CQ_CONN_CONNECT_TIMEOUT_MS / 1000);
				cq_conn_close(c, CQ_CLOSE_REFUSED);
			}
			continue;
		}
		/* Nothing sent for a whole period, nothing to send: an idle
		 * connection holds no output buffer (after_write). */
		if (cq_buf_used(&c->out) == 0 && !c->writing && !c->out_busy)
			cq_buf_free(&c->out);
		c->out_was_busy = c->out_busy;
		c->out_busy = false;
		/* Likewise the buffer kept for incomplete input. */
		if (cq_buf_used(&c->in) == 0 && !c->in_busy)
			cq_buf_free(&c->in);
		c->in_was_busy = c->in_busy;
		c->in_busy = false;
		if (c->keepalive == 0 || c->paused)
			continue;
		/* [MQTT-3.1.2-24]: one and a half keep-alive periods. */
		if (cq_conn_idle_ms(c) > (uint32_t)c->keepalive * 1500) {
			cq_log(CQ_LOG_INFO, 0,
				"client %s (%s): keep alive of %u s expired; "
				"closing",
				cq_conn_id_log(c), cq_conn_addr(c),
				c->keepalive);
			cq_conn_disconnect(c, CQ_MQTT_RC_KEEP_ALIVE_TIMEOUT,
				CQ_CLOSE_ABNORMAL);
		}
	}
}
