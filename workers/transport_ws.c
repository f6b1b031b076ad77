/*
 * transport_ws.c — MQTT over WebSocket (ws) and over WebSocket over TLS
 * (wss): the HTTP/1.1 upgrade, then binary frames (libwslay).
 *
 * Handshake (driven by handshake.c, bounded by handshake_timeout): for
 * wss the TLS handshake first (transport_tls.c), then the upgrade request
 * is read into a buffer of at most max_header_size bytes, parsed
 * (core/http.h) and judged (ws_upgrade.h); the answer -- 101, or a
 * refusal with its status -- is written, and a refused connection closes
 * after it with one log line.  Bytes that came after the request head are
 * frames: they are handed to wslay before anything read later.
 *
 * Frames: wslay runs without buffering messages (no_buffering), so the
 * payload of each binary frame goes straight into 'in' as a byte stream
 * and MQTT packets may be split across frames or share one; fragments
 * continue their message; pings are answered and the close handshake
 * completed by wslay.  What wslay refuses it closes with the right
 * status: an unmasked client frame or reserved bits 1002, a frame over
 * max_frame_size 1009 (checked from its header, before any payload is
 * read); a text frame is refused here with 1003 [MQTT-6.0.0-1].
 *
 * Writes (the transport contract, transport.h): conn.c offers its output
 * buffer; up to WS_MSG_MAX bytes of it become one binary message that
 * wslay copies and sends.  The bytes are counted as written only once the
 * whole frame has gone out, so conn.c keeps them -- and its back-pressure
 * (CQ_CONN_OUT_HIGH) keeps working -- while the socket is full.  Control
 * frames wslay queues on its own (pong, close) set c->tr_pending, which
 * has conn.c call write(len 0) on the next writable event.
 */
#include "config.h"
#include "workers/transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>

#include "core/buf.h"
#include "core/defs.h"
#include "core/http.h"
#include "core/log.h"
#include "workers/conn.h"
#include "workers/handshake.h"
#include "workers/worker.h"
#include "workers/ws_upgrade.h"

#define WS_READ_BUDGET (256u << 10) /* bytes read per read() call */
#define WS_MSG_MAX     (64u << 10) /* MQTT bytes per outgoing message */
#define WS_RESP_MAX    1024

enum { WS_TLS, WS_REQUEST, WS_RESPONSE, WS_OPEN };

typedef struct ws {
	cq_conn_t *c;
	cq_tls_conn_t *tls; /* wss */
	cq_stream_t io;
	uint8_t phase;
	uint8_t frame_op; /* opcode of the frame being received */
	bool binary_msg; /* the message being received is binary */
	bool refused; /* the upgrade answer refuses: close after it */
	bool eof; /* the peer closed the stream */
	bool io_error;
	bool text; /* a text frame arrived */
	bool nomem;
	bool logged; /* the closing reason is logged */
	uint16_t status_sent; /* of a close frame sent here, not by wslay */
	size_t budget; /* bytes the recv callback may still read */
	size_t inflight; /* output bytes in a queued, unsent message */
	cq_buf_t pre; /* request bytes; then frames read past the head */
	cq_buf_t in; /* MQTT bytes from frames, not yet read */
	wslay_event_context_ptr ev;
	size_t resp_len, resp_off;
	char resp[WS_RESP_MAX];
} ws_t;

/* ---- wslay callbacks ---------------------------------------------- */

static ssize_t
recv_cb(wslay_event_context_ptr ev, uint8_t *buf, size_t len, int flags,
	void *user)
{
	ws_t *ws = user;
	(void)flags;
	size_t left = cq_buf_used(&ws->pre);
	if (left > 0) {
		size_t n = CQ_MIN(len, left);
		memcpy(buf, cq_buf_head(&ws->pre), n);
		cq_buf_consume(&ws->pre, n);
		return (ssize_t)n;
	}
	ssize_t n = ws->budget == 0
		? CQ_AGAIN
		: cq_stream_read(&ws->io, buf, CQ_MIN(len, ws->budget));
	if (n > 0) {
		ws->budget -= (size_t)n;
		return n;
	}
	if (n == CQ_AGAIN) {
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n == 0)
		ws->eof = true;
	else
		ws->io_error = true;
	wslay_event_set_error(ev, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static ssize_t
send_cb(wslay_event_context_ptr ev, const uint8_t *data, size_t len, int flags,
	void *user)
{
	ws_t *ws = user;
	(void)flags;
	ssize_t n = cq_stream_write(&ws->io, data, len);
	if (n > 0)
		return n;
	if (n == CQ_AGAIN || n == 0) {
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	ws->io_error = true;
	wslay_event_set_error(ev, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static void
frame_start_cb(wslay_event_context_ptr ev,
	const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	ws_t *ws = user;
	(void)ev;
	ws->frame_op = arg->opcode;
	if (arg->opcode == WSLAY_TEXT_FRAME)
		ws->text = true;
	if (arg->opcode == WSLAY_BINARY_FRAME)
		ws->binary_msg = true;
	else if (arg->opcode == WSLAY_TEXT_FRAME)
		ws->binary_msg = false;
}

static void
frame_chunk_cb(wslay_event_context_ptr ev,
	const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	ws_t *ws = user;
	(void)ev;
	bool data = ws->frame_op == WSLAY_BINARY_FRAME ||
		(ws->frame_op == WSLAY_CONTINUATION_FRAME && ws->binary_msg);
	if (data && !ws->text &&
		cq_buf_append(&ws->in, arg->data, arg->data_length) < 0)
		ws->nomem = true;
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.on_frame_recv_start_callback = frame_start_cb,
	.on_frame_recv_chunk_callback = frame_chunk_cb,
};

/* ---- output ------------------------------------------------------- */

/* Send what wslay holds; -1 when the stream broke. */
static int
flush(ws_t *ws)
{
	if (wslay_event_send(ws->ev) != 0 || ws->io_error)
		return -1;
	ws->c->tr_pending = wslay_event_want_write(ws->ev) != 0;
	if (ws->c->tr_pending)
		cq_conn_want_write(ws->c);
	return 0;
}

static ssize_t
ws_write(cq_conn_t *c, const void *buf, size_t len)
{
	ws_t *ws = c->tr_state;
	if (ws->phase != WS_OPEN)
		return CQ_AGAIN;
	if (flush(ws) < 0 || !wslay_event_get_write_enabled(ws->ev)) {
		errno = EPIPE;
		return -1;
	}
	if (ws->inflight > 0) {
		if (wslay_event_want_write(ws->ev))
			return CQ_AGAIN;
		size_t n = ws->inflight;
		ws->inflight = 0;
		return (ssize_t)n;
	}
	if (len == 0)
		return 0;
	size_t m = CQ_MIN(len, WS_MSG_MAX);
	struct wslay_event_msg msg = {WSLAY_BINARY_FRAME, buf, m};
	if (wslay_event_queue_msg(ws->ev, &msg) != 0 || flush(ws) < 0) {
		errno = EPIPE;
		return -1;
	}
	if (wslay_event_want_write(ws->ev)) {
		ws->inflight = m;
		return CQ_AGAIN;
	}
	return (ssize_t)m;
}

/* ---- input -------------------------------------------------------- */

static const char *
close_text(uint16_t status)
{
	switch (status) {
	case WSLAY_CODE_PROTOCOL_ERROR:
		return "protocol error (unmasked or malformed frame, reserved "
		       "bits or opcode)";
	case WSLAY_CODE_MESSAGE_TOO_BIG:
		return "frame larger than max_frame_size";
	case WSLAY_CODE_UNSUPPORTED_DATA:
		return "text frame (MQTT needs binary frames)";
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
		return "invalid UTF-8";
	default:
		return "protocol error";
	}
}

/*
 * Reading is over (close frame, protocol error, text frame): 0 for a
 * close the client asked for, else -1 after one log line naming the
 * status the close frame carries.
 */
static ssize_t
closing(ws_t *ws)
{
	cq_conn_t *c = ws->c;
	if (wslay_event_get_close_received(ws->ev) && !ws->text) {
		cq_log(CQ_LOG_DEBUG, 0, "client %s (%s): WebSocket close %u",
			cq_conn_who(c), cq_conn_addr(c),
			wslay_event_get_status_code_received(ws->ev));
		return 0;
	}
	uint16_t status = ws->status_sent ? ws->status_sent
		: wslay_event_get_close_sent(ws->ev)
		? wslay_event_get_status_code_sent(ws->ev)
		: 0;
	if (!ws->logged)
		cq_log(CQ_LOG_NOTICE, 0,
			"client %s (%s): WebSocket %s; closing with %u",
			cq_conn_who(c), cq_conn_addr(c),
			close_text(ws->text ? WSLAY_CODE_UNSUPPORTED_DATA
					    : status),
			ws->text ? WSLAY_CODE_UNSUPPORTED_DATA : status);
	ws->logged = true;
	errno = EPROTO;
	return -1;
}

/*
 * A frame header wslay cannot parse (a length with its top bit set or
 * not in its shortest form, a fragmented or long control frame): wslay
 * has queued a close without a status.  When nothing else is queued,
 * send close 1002 in its place.
 */
static void
malformed_frame(ws_t *ws)
{
	static const uint8_t close_1002[] = {0x88, 0x02, 0x03, 0xea};
	if (wslay_event_get_queued_msg_count(ws->ev) != 1)
		return;
	wslay_event_shutdown_write(ws->ev);
	if (cq_stream_write(&ws->io, close_1002, sizeof(close_1002)) ==
		(ssize_t)sizeof(close_1002))
		ws->status_sent = WSLAY_CODE_PROTOCOL_ERROR;
}

/* One wslay_event_recv() pass of at most WS_READ_BUDGET bytes. */
static void
receive(ws_t *ws)
{
	ws->budget = WS_READ_BUDGET;
	int rc = wslay_event_recv(ws->ev);
	if (rc == WSLAY_ERR_CALLBACK_FAILURE && !ws->eof && !ws->io_error)
		malformed_frame(ws);
	else if (rc != 0 && rc != WSLAY_ERR_CALLBACK_FAILURE)
		ws->nomem = true;
	if (ws->text && wslay_event_get_read_enabled(ws->ev)) {
		/* [MQTT-6.0.0-1]: only binary frames carry MQTT. */
		static const char why[] = "binary frames only";
		wslay_event_queue_close(ws->ev, WSLAY_CODE_UNSUPPORTED_DATA,
			(const uint8_t *)why, sizeof(why) - 1);
		wslay_event_shutdown_read(ws->ev);
	}
	(void)flush(ws);
}

static ssize_t
ws_read(cq_conn_t *c, void *buf, size_t len)
{
	ws_t *ws = c->tr_state;
	if (ws->phase != WS_OPEN)
		return CQ_AGAIN;
	if (cq_buf_used(&ws->in) == 0 && wslay_event_get_read_enabled(ws->ev))
		receive(ws);
	size_t n = CQ_MIN(len, cq_buf_used(&ws->in));
	if (n > 0) {
		memcpy(buf, cq_buf_head(&ws->in), n);
		cq_buf_consume(&ws->in, n);
		if (cq_buf_used(&ws->in) == 0)
			cq_buf_shrink(&ws->in, WS_READ_BUDGET);
		return (ssize_t)n;
	}
	if (ws->nomem) {
		errno = ENOMEM;
		return -1;
	}
	if (ws->eof)
		return 0;
	if (ws->io_error)
		return -1;
	if (!wslay_event_get_read_enabled(ws->ev))
		return closing(ws);
	return CQ_AGAIN;
}

static bool
ws_pending(cq_conn_t *c)
{
	ws_t *ws = c->tr_state;
	return ws != NULL &&
		(cq_buf_used(&ws->in) > 0 || cq_buf_used(&ws->pre) > 0 ||
			cq_stream_pending(&ws->io));
}

/* ---- the upgrade -------------------------------------------------- */

static const cq_config_listener_t *
listener_of(const cq_conn_t *c)
{
	return &c->w->cfg->listeners[c->listener];
}

/* X-Forwarded-For from a trusted proxy names the client. */
static int
forwarded(ws_t *ws, const cq_http_req_t *req)
{
	cq_conn_t *c = ws->c;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (!cq_handshake_peer_trusted(c))
		return cq_handshake_admit(c);
	int rc = cq_ws_forwarded_for(
		req, &listener_of(c)->trusted_proxies, &ss, &len);
	if (rc < 0)
		cq_log(CQ_LOG_INFO, 0,
			"WebSocket from %s: X-Forwarded-For is not a list of "
			"addresses; ignored",
			cq_conn_addr(c));
	if (rc > 0)
		cq_handshake_set_peer(c, (struct sockaddr *)&ss, len);
	return cq_handshake_admit(c);
}

/* The request is complete (or refused): prepare the answer. */
static int
answer(ws_t *ws, const cq_http_req_t *req, int status, const char *why)
{
	cq_conn_t *c = ws->c;
	cq_ws_upgrade_t u = {.status = status, .why = why};
	if (req != NULL)
		cq_ws_upgrade_check(
			req, cq_config_listener_path(listener_of(c)), &u);
	if (u.status == 101) {
		if (forwarded(ws, req) < 0)
			return -1;
		cq_buf_consume(&ws->pre, req->head_len);
	} else {
		ws->refused = true;
		cq_log(CQ_LOG_NOTICE, 0,
			"WebSocket upgrade from %s refused (%d %s): %s; "
			"closing",
			cq_conn_addr(c), u.status, cq_http_reason(u.status),
			u.why);
	}
	ws->resp_len = cq_ws_upgrade_response(&u, ws->resp, sizeof(ws->resp));
	ws->resp_off = 0;
	ws->phase = WS_RESPONSE;
	return 0;
}

/* Read the request head; 0 when it is complete or refused. */
static int
read_request(ws_t *ws)
{
	cq_conn_t *c = ws->c;
	size_t max = listener_of(c)->max_header_size;
	for (int i = 0; i < 16; i++) {
		size_t room = max + 1 - CQ_MIN(cq_buf_used(&ws->pre), max);
		if (cq_buf_reserve(&ws->pre, room) < 0) {
			errno = ENOMEM;
			return -1;
		}
		ssize_t n = cq_stream_read(
			&ws->io, cq_buf_tail(&ws->pre), room);
		if (n == CQ_AGAIN)
			return CQ_AGAIN;
		if (n <= 0) {
			cq_log(CQ_LOG_DEBUG, n < 0 ? errno : 0,
				"connection from %s closed before its "
				"WebSocket upgrade",
				cq_conn_addr(c));
			return -1;
		}
		cq_buf_commit(&ws->pre, (size_t)n);
		cq_http_req_t req;
		int status = 0;
		const char *why = NULL;
		int rc = cq_http_parse((const char *)cq_buf_head(&ws->pre),
			cq_buf_used(&ws->pre), max, &req, &status, &why);
		if (rc == 0)
			return answer(ws, &req, 0, NULL);
		if (rc == -1)
			return answer(ws, NULL, status, why);
	}
	return CQ_AGAIN;
}

static int
open_frames(ws_t *ws)
{
	cq_conn_t *c = ws->c;
	uint64_t max = listener_of(c)->max_frame_size;
	if (max == 0)
		max = c->w->cfg->limits.max_packet_size;
	if (wslay_event_context_server_init(&ws->ev, &callbacks, ws) != 0) {
		errno = ENOMEM;
		return -1;
	}
	wslay_event_config_set_no_buffering(ws->ev, 1);
	wslay_event_config_set_max_recv_msg_length(ws->ev, max);
	ws->phase = WS_OPEN;
	return 0;
}

static int
write_response(ws_t *ws)
{
	while (ws->resp_off < ws->resp_len) {
		ssize_t n = cq_stream_write(&ws->io, ws->resp + ws->resp_off,
			ws->resp_len - ws->resp_off);
		if (n == CQ_AGAIN) {
			cq_conn_want_write(ws->c);
			return CQ_AGAIN;
		}
		if (n < 0)
			return -1;
		ws->resp_off += (size_t)n;
	}
	return ws->refused ? -1 : open_frames(ws);
}

static int
ws_handshake(cq_conn_t *c)
{
	ws_t *ws = c->tr_state;
	int rc = 0;
	if (ws->phase == WS_TLS) {
		rc = cq_tls_conn_handshake(c, ws->tls);
		if (rc != 0)
			return rc;
		ws->io = cq_tls_conn_stream(ws->tls);
		ws->phase = WS_REQUEST;
	}
	if (ws->phase == WS_REQUEST && (rc = read_request(ws)) != 0)
		return rc;
	if (ws->phase == WS_RESPONSE && (rc = write_response(ws)) != 0)
		return rc;
	return 0;
}

/* ---- life cycle --------------------------------------------------- */

static int
ws_open_common(cq_conn_t *c, bool tls)
{
	ws_t *ws = calloc(1, sizeof(*ws));
	if (ws == NULL)
		return -1;
	ws->c = c;
	ws->io = (cq_stream_t){.fd = c->fd, .ssl = NULL};
	ws->phase = tls ? WS_TLS : WS_REQUEST;
	if (tls && (ws->tls = cq_tls_conn_new(c)) == NULL) {
		free(ws);
		return -1;
	}
	c->tr_state = ws;
	return 0;
}

static int
ws_open(cq_conn_t *c)
{
	return ws_open_common(c, false);
}

static int
wss_open(cq_conn_t *c)
{
	return ws_open_common(c, true);
}

static void
ws_close(cq_conn_t *c)
{
	ws_t *ws = c->tr_state;
	if (ws == NULL)
		return;
	if (ws->ev != NULL) {
		if (wslay_event_get_write_enabled(ws->ev) && !ws->io_error) {
			/* One try: the socket closes right after. */
			wslay_event_queue_close(
				ws->ev, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
			wslay_event_send(ws->ev);
		}
		wslay_event_context_free(ws->ev);
	}
	cq_tls_conn_free(ws->tls);
	cq_buf_free(&ws->pre);
	cq_buf_free(&ws->in);
	free(ws);
	c->tr_state = NULL;
	c->tr_pending = false;
}

static const char *
ws_identity(cq_conn_t *c)
{
	ws_t *ws = c->tr_state;
	return ws != NULL && ws->tls != NULL ? cq_tls_conn_identity(ws->tls)
					     : NULL;
}

const cq_transport_ops_t cq_transport_ws = {
	.name = "ws",
	.open = ws_open,
	.handshake = ws_handshake,
	.read = ws_read,
	.write = ws_write,
	.close = ws_close,
	.pending = ws_pending,
};

const cq_transport_ops_t cq_transport_wss = {
	.name = "wss",
	.open = wss_open,
	.handshake = ws_handshake,
	.read = ws_read,
	.write = ws_write,
	.close = ws_close,
	.pending = ws_pending,
	.identity = ws_identity,
};
