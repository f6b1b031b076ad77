/*
 * cb_conn.c — see cb_conn.h.
 *
 * States: INIT -> TCP -> [TLS] -> [WS] -> MQTT -> READY -> CLOSING ->
 * CLOSED, or FAILED from anywhere.  Handshake deadlines are enforced by the
 * loop's housekeeping (cb_loop.c), so no state can wait forever.
 */
#include "config.h"
#include "bench/cb_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "bench/cb_client.h"
#include "bench/cb_tls.h"
#include "bench/cb_ws.h"

/* Bytes asked of the kernel per read: large enough to batch thousands of
 * small PUBLISH packets, small enough to stay in L2. */
#define READ_CHUNK  (256 * 1024)
#define WS_REQ_MAX  1024
#define WS_HEAD_MAX 4096

static inline int
ws_framing(const cb_conn_t *c)
{
	return c->th->run->o.ws && c->state >= CB_CS_MQTT;
}

uint64_t
cb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
cb_conn_dirty(cb_conn_t *c)
{
	if (c->on_dirty_list)
		return;
	c->on_dirty_list = 1;
	c->next_dirty = c->th->dirty;
	c->th->dirty = c;
}

size_t
cb_conn_pending(const cb_conn_t *c)
{
	return cq_buf_used(&c->out) + cq_buf_used(&c->wire);
}

uint8_t *
cb_conn_reserve(cb_conn_t *c, size_t n)
{
	if (cq_buf_reserve(&c->out, n) < 0) {
		cb_conn_fail(c, "out of memory for %zu output bytes", n);
		return NULL;
	}
	cb_conn_dirty(c);
	return cq_buf_tail(&c->out);
}

static void
conn_release(cb_conn_t *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd); /* also leaves the epoll set */
		c->fd = -1;
	}
	if (c->state >= CB_CS_TCP && c->state <= CB_CS_MQTT &&
		c->th->starting > 0)
		c->th->starting--;
	if (c->state == CB_CS_READY || c->state == CB_CS_CLOSING)
		c->th->st.live--;
	cq_buf_free(&c->in);
	cq_buf_free(&c->out);
	cq_buf_free(&c->wire);
	cq_buf_free(&c->wsctl);
	free(c->ws_accept);
	c->ws_accept = NULL;
	c->ws_left = 0;
	c->ws_hlen = 0;
	c->rd_ready = 0;
	c->can_write = 0;
	c->wr_shut = 0;
	c->barrier = 0;
	c->pings_sent = c->pings_recv = 0;
}

void
cb_conn_fail(cb_conn_t *c, const char *fmt, ...)
{
	cb_thread_t *th = c->th;
	if (c->state == CB_CS_FAILED || c->state == CB_CS_CLOSED)
		return;
	if (c->state == CB_CS_CLOSING) {
		/* After DISCONNECT, a reset or a TLS error is just the end. */
		cb_conn_close(c);
		return;
	}
	if (th->st.first_error[0] == '\0') {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(th->st.first_error, sizeof(th->st.first_error),
			"connection %u: %s", c->id, msg);
	}
	if (c->state == CB_CS_READY || c->state == CB_CS_CLOSING)
		th->st.lost_conns++;
	th->st.failed++;
	conn_release(c);
	c->state = CB_CS_FAILED;
}

void
cb_conn_close(cb_conn_t *c)
{
	if (c->state == CB_CS_INIT || c->state == CB_CS_FAILED ||
		c->state == CB_CS_CLOSED)
		return;
	conn_release(c);
	c->state = CB_CS_CLOSED;
	c->th->st.closed++;
}

void
cb_conn_disconnect(cb_conn_t *c)
{
	if (c->state != CB_CS_READY) {
		/* A connrate cycle finishes its handshake and disconnects at
		 * CONNACK; any other handshake is abandoned. */
		if (c->state >= CB_CS_TCP && c->state <= CB_CS_MQTT &&
			!(c->role & CB_ROLE_CYCLE))
			cb_conn_close(c);
		return;
	}
	uint8_t *p = cb_conn_reserve(c, 2);
	if (p == NULL)
		return;
	cq_buf_commit(&c->out, cb_mqtt_disconnect(p));
	c->state = CB_CS_CLOSING;
	c->deadline = c->th->now + 2000000000u;
}

static int
set_sockopts(cb_conn_t *c)
{
	int one = 1;
	if (c->th->run->dst->ss_family != AF_UNIX &&
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -1;
	cb_run_t *run = c->th->run;
	if (run->nsrc == 0)
		return 0;
	/* Spread source addresses over 127.0.0.1..nsrc so that 50,000
	 * connections do not exhaust one address's ephemeral ports; a
	 * connrate slot takes the next address at each connect, so that a
	 * few connectors use them all (cb_setup.c: TIME_WAIT). */
	struct sockaddr_in src = {.sin_family = AF_INET};
	uint32_t k = 1 + (c->id + c->starts++) % run->nsrc;
	src.sin_addr.s_addr = htonl(0x7f000000u | k);
	setsockopt(
		c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(c->fd, (struct sockaddr *)&src, sizeof(src));
}

static void after_transport(cb_conn_t *c);

int
cb_conn_start(cb_conn_t *c)
{
	cb_thread_t *th = c->th;
	cb_run_t *run = th->run;
	c->state = CB_CS_TCP;
	c->t_start = th->now;
	c->deadline = th->now + (uint64_t)(run->o.connect_timeout * 1e9);
	c->last_tx = th->now;
	th->starting++;
	c->fd = socket(run->dst->ss_family,
		SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		cb_conn_fail(c, "socket() failed: %s", strerror(errno));
		return -1;
	}
	if (set_sockopts(c) < 0) {
		cb_conn_fail(
			c, "bind()/setsockopt() failed: %s", strerror(errno));
		return -1;
	}
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = c,
	};
	if (epoll_ctl(th->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		cb_conn_fail(c, "epoll_ctl() failed: %s", strerror(errno));
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)run->dst, run->dst_len) == 0) {
		after_transport(c);
		return c->state == CB_CS_FAILED ? -1 : 0;
	}
	if (errno != EINPROGRESS) {
		cb_conn_fail(c, "connect() to %s:%u failed: %s", run->o.host,
			run->o.port, strerror(errno));
		return -1;
	}
	return 0;
}

static void
tls_step(cb_conn_t *c)
{
	ERR_clear_error();
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		after_transport(c);
		return;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return;
	char msg[200];
	cb_tls_error(msg, sizeof(msg));
	long vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK)
		cb_conn_fail(c, "TLS handshake failed: certificate: %s",
			X509_verify_cert_error_string(vr));
	else
		cb_conn_fail(c, "TLS handshake failed: %s", msg);
}

static void
ws_send_upgrade(cb_conn_t *c)
{
	cb_run_t *run = c->th->run;
	c->ws_accept = malloc(29);
	uint8_t *p = cb_conn_reserve(c, WS_REQ_MAX);
	if (c->ws_accept == NULL || p == NULL) {
		cb_conn_fail(c, "out of memory");
		return;
	}
	int n = cb_ws_request((char *)p, WS_REQ_MAX, run->o.host, run->o.port,
		run->o.ws_path, c->ws_accept);
	if (n < 0) {
		cb_conn_fail(c, "WebSocket request too long");
		return;
	}
	cq_buf_commit(&c->out, (size_t)n);
	c->state = CB_CS_WS;
}

/* The byte stream is up (TCP, and TLS if asked): upgrade or speak MQTT. */
static void
after_transport(cb_conn_t *c)
{
	cb_run_t *run = c->th->run;
	if (c->state == CB_CS_TCP && run->o.tls) {
		c->ssl = cb_tls_new(
			run->ssl_ctx, c->fd, run->o.host, !run->o.insecure);
		if (c->ssl == NULL) {
			cb_conn_fail(c, "SSL_new() failed");
			return;
		}
		c->state = CB_CS_TLS;
		tls_step(c);
		return;
	}
	c->can_write = 1;
	if (run->o.ws)
		ws_send_upgrade(c);
	else
		cb_client_connect(c);
	if (c->state != CB_CS_FAILED)
		cb_conn_flush(c);
}

void
cb_conn_handshake(cb_conn_t *c, uint32_t events)
{
	if (c->state == CB_CS_TCP) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (err != 0) {
			cb_conn_fail(c, "connect() to %s:%u failed: %s",
				c->th->run->o.host, c->th->run->o.port,
				strerror(err));
			return;
		}
		after_transport(c);
	} else if (c->state == CB_CS_TLS) {
		tls_step(c);
	}
}

/* Read at most cap bytes from the transport: > 0, 0 at EOF, CQ_AGAIN, or
 * -1 (c has failed). */
static void
tls_failure(cb_conn_t *c, const char *what, int e)
{
	char msg[200];
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		snprintf(msg, sizeof(msg), "%s",
			errno ? strerror(errno) : "unexpected EOF");
	else
		cb_tls_error(msg, sizeof(msg));
	cb_conn_fail(c, "%s failed: %s", what, msg);
}

/*
 * Read at most cap bytes: > 0, 0 at end of stream, CQ_AGAIN, or -1 (c has
 * failed).  Clears c->rd_ready once the input is drained: a short recv()
 * means the socket is empty (edge-triggered epoll reports the next
 * arrival); TLS is drained only at SSL_ERROR_WANT_READ, so records are
 * collected until then (a broker that writes one record per message would
 * otherwise cost a loop pass per message).
 */
static ssize_t
tr_read(cb_conn_t *c, uint8_t *buf, size_t cap)
{
	if (c->ssl == NULL) {
		ssize_t n = recv(c->fd, buf, cap, 0);
		if (n > 0 && (size_t)n < cap)
			c->rd_ready = 0;
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return CQ_AGAIN;
		cb_conn_fail(c, "recv() failed: %s", strerror(errno));
		return -1;
	}
	size_t got = 0;
	while (got < cap) {
		size_t want = CQ_MIN(cap - got, (size_t)INT32_MAX);
		ERR_clear_error();
		int n = SSL_read(c->ssl, buf + got, (int)want);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			c->rd_ready = 0;
			break;
		}
		if (got > 0)
			break; /* deliver the data; the end comes next call */
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		tls_failure(c, "SSL_read()", e);
		return -1;
	}
	return got > 0 ? (ssize_t)got : CQ_AGAIN;
}

static ssize_t
tr_write(cb_conn_t *c, const uint8_t *buf, size_t len)
{
	if (c->ssl) {
		ERR_clear_error();
		int n = SSL_write(
			c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return CQ_AGAIN;
		tls_failure(c, "SSL_write()", e);
		return -1;
	}
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CQ_AGAIN;
	cb_conn_fail(c, "send() failed: %s", strerror(errno));
	return -1;
}

/* Append a masked frame with payload p[0..n) to c->wire. */
static int
ws_append_frame(cb_conn_t *c, int op, const uint8_t *p, size_t n)
{
	if (cq_buf_reserve(&c->wire, n + CB_WS_MAX_HDR) < 0)
		return -1;
	uint32_t mask = (uint32_t)(c->th->now >> 10) * 2654435761u ^ c->id;
	uint8_t *w = cq_buf_tail(&c->wire);
	size_t hl = cb_ws_frame_hdr(w, op, n, mask);
	memcpy(w + hl, p, n);
	cb_ws_mask(w + hl, n, mask);
	cq_buf_commit(&c->wire, hl + n);
	return 0;
}

void
cb_conn_flush(cb_conn_t *c)
{
	if (c->fd < 0 || !c->can_write || c->state < CB_CS_WS)
		return;
	cq_buf_t *src = &c->out;
	if (ws_framing(c)) {
		if (cq_buf_used(&c->out) > 0) {
			if (ws_append_frame(c, CB_WS_OP_BINARY,
				    cq_buf_head(&c->out),
				    cq_buf_used(&c->out)) < 0) {
				cb_conn_fail(c, "out of memory");
				return;
			}
			cq_buf_reset(&c->out);
		}
		src = &c->wire;
	}
	while (cq_buf_used(src) > 0) {
		ssize_t n = tr_write(c, cq_buf_head(src), cq_buf_used(src));
		if (n == CQ_AGAIN) {
			c->can_write = 0;
			return;
		}
		if (n < 0)
			return;
		cq_buf_consume(src, (size_t)n);
		c->th->st.bytes_out += (uint64_t)n;
		c->last_tx = c->th->now;
	}
	if (c->state == CB_CS_CLOSING && c->fd >= 0 && !c->wr_shut) {
		/* DISCONNECT is out: say so (TLS close_notify, FIN) and wait
		 * for the broker's close. */
		c->wr_shut = 1;
		if (c->ssl)
			SSL_shutdown(c->ssl);
		shutdown(c->fd, SHUT_WR);
	}
}

/* A control frame is complete: answer a ping, note a close. */
static int
ws_control(cb_conn_t *c, int *closed_r)
{
	int rc = 0;
	if (c->ws_op == CB_WS_OP_CLOSE) {
		*closed_r = 1;
	} else if (c->ws_op == CB_WS_OP_PING) {
		rc = ws_append_frame(c, CB_WS_OP_PONG, cq_buf_head(&c->wsctl),
			cq_buf_used(&c->wsctl));
		cb_conn_dirty(c);
	}
	cq_buf_reset(&c->wsctl);
	return rc;
}

/* Strip WebSocket frames from raw[0..n) into dst; the number of MQTT
 * bytes produced, or -1 on a framing error. */
static ssize_t
ws_unframe(
	cb_conn_t *c, const uint8_t *raw, size_t n, uint8_t *dst, int *closed_r)
{
	size_t i = 0, out = 0;
	while (i < n) {
		if (c->ws_left == 0) {
			size_t take = CQ_MIN(
				(size_t)(CB_WS_MAX_HDR - c->ws_hlen), n - i);
			memcpy(c->ws_hdr + c->ws_hlen, raw + i, take);
			int op;
			uint64_t len;
			size_t hl;
			int rc = cb_ws_parse_hdr(
				c->ws_hdr, c->ws_hlen + take, &op, &len, &hl);
			if (rc == CQ_AGAIN) {
				c->ws_hlen += (uint8_t)take;
				i += take;
				continue;
			}
			if (rc < 0)
				return -1;
			i += hl - c->ws_hlen;
			c->ws_hlen = 0;
			c->ws_op = (uint8_t)op;
			c->ws_left = len;
			if (len == 0 && (op & 0x8) && ws_control(c, closed_r))
				return -1;
			continue;
		}
		size_t take = (size_t)CQ_MIN(c->ws_left, (uint64_t)(n - i));
		if (c->ws_op & 0x8) {
			if (cq_buf_append(&c->wsctl, raw + i, take) < 0)
				return -1;
		} else {
			memcpy(dst + out, raw + i, take);
			out += take;
		}
		i += take;
		c->ws_left -= take;
		if (c->ws_left == 0 && (c->ws_op & 0x8) &&
			ws_control(c, closed_r))
			return -1;
	}
	return (ssize_t)out;
}

/* Read up to 'want' MQTT bytes into dst: > 0, 0 (nothing usable yet),
 * CQ_AGAIN, or -1 (failed); *eof_r set at end of stream. */
static ssize_t
conn_recv(cb_conn_t *c, uint8_t *dst, size_t want, int *eof_r)
{
	cb_thread_t *th = c->th;
	if (!ws_framing(c)) {
		ssize_t n = tr_read(c, dst, want);
		if (n == 0)
			*eof_r = 1;
		if (n > 0)
			th->st.bytes_in += (uint64_t)n;
		return n;
	}
	ssize_t n = tr_read(c, th->raw, CQ_MIN(want, th->raw_cap));
	if (n <= 0) {
		if (n == 0)
			*eof_r = 1;
		return n;
	}
	th->st.bytes_in += (uint64_t)n;
	ssize_t got = ws_unframe(c, th->raw, (size_t)n, dst, eof_r);
	if (got < 0)
		cb_conn_fail(c, "malformed WebSocket frame");
	return got;
}

/* Hand every complete packet in buf[0..n) to the client; keep the rest. */
static void
parse_packets(cb_conn_t *c, const uint8_t *buf, size_t n)
{
	size_t off = 0;
	cb_pkt_t pkt;
	int rc;
	while ((rc = cb_mqtt_frame(buf + off, n - off, &pkt)) == 0) {
		if (cb_client_packet(c, &pkt) < 0)
			return;
		off += pkt.total_len;
	}
	if (rc != CQ_AGAIN) {
		cb_conn_fail(c,
			"malformed packet from the broker "
			"(first byte 0x%02x)",
			buf[off]);
		return;
	}
	if (off < n && cq_buf_append(&c->in, buf + off, n - off) < 0)
		cb_conn_fail(c, "out of memory");
}

static void
ws_read_head(cb_conn_t *c)
{
	uint8_t buf[1024];
	ssize_t n = tr_read(c, buf, sizeof(buf));
	if (n == CQ_AGAIN) {
		c->rd_ready = 0;
		return;
	}
	if (n <= 0) {
		if (n == 0)
			cb_conn_fail(c, "closed during the WebSocket upgrade");
		return;
	}
	if (cq_buf_append(&c->in, buf, (size_t)n) < 0 ||
		cq_buf_used(&c->in) > WS_HEAD_MAX) {
		cb_conn_fail(c, "WebSocket upgrade response too long");
		return;
	}
	const char *h = (const char *)cq_buf_head(&c->in);
	const char *end = memmem(h, cq_buf_used(&c->in), "\r\n\r\n", 4);
	if (end == NULL)
		return;
	size_t hlen = (size_t)(end - h) + 4;
	char err[160];
	if (cb_ws_check_response(h, hlen, c->ws_accept, err, sizeof(err))) {
		cb_conn_fail(c, "%s", err);
		return;
	}
	size_t rest = cq_buf_used(&c->in) - hlen;
	uint8_t *tmp = c->th->raw;
	if (rest > 0)
		memcpy(tmp, cq_buf_head(&c->in) + hlen, rest);
	cq_buf_reset(&c->in);
	free(c->ws_accept);
	c->ws_accept = NULL;
	cb_client_connect(c);
	if (c->state == CB_CS_FAILED || rest == 0)
		return;
	/* Frames that followed the response head in the same read. */
	int eof = 0;
	ssize_t got = ws_unframe(c, tmp, rest, c->th->scratch, &eof);
	if (got < 0)
		cb_conn_fail(c, "malformed WebSocket frame");
	else
		parse_packets(c, c->th->scratch, (size_t)got);
}

void
cb_conn_read(cb_conn_t *c)
{
	if (c->state == CB_CS_TCP || c->state == CB_CS_TLS) {
		cb_conn_handshake(c, EPOLLIN);
		c->rd_ready = 0;
		return;
	}
	if (c->state == CB_CS_WS) {
		ws_read_head(c);
		return;
	}
	if (c->fd < 0) {
		c->rd_ready = 0;
		return;
	}
	cb_thread_t *th = c->th;
	size_t have = cq_buf_used(&c->in);
	if (have > 0)
		memcpy(th->scratch, cq_buf_head(&c->in), have);
	cq_buf_reset(&c->in);
	int eof = 0;
	ssize_t n = conn_recv(c, th->scratch + have,
		CQ_MIN(READ_CHUNK, th->scratch_cap - have), &eof);
	if (n == CQ_AGAIN) {
		c->rd_ready = 0;
		n = 0;
	}
	if (n < 0)
		return;
	parse_packets(c, th->scratch, have + (size_t)n);
	if (eof && c->fd >= 0) {
		c->rd_ready = 0;
		if (c->state == CB_CS_CLOSING)
			cb_conn_close(c);
		else
			cb_conn_fail(c, "closed by the broker");
	}
}
