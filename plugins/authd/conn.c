/*
 * conn.c — one client connection of authd: the protocol's server side.
 *
 * A connection greets with VERSION and INVALIDATE <serial>, expects the
 * client's VERSION first, then reads request lines, runs each in the
 * current chain and writes its reply when the chain decides (replies go
 * out in the order answers come, not the order of the requests).
 *
 * Limits, each answered clearly and affecting this connection only:
 *  - a line longer than CQ_AUTHP_LINE_MAX, an unparsable line, an unknown
 *    command, a bad id, a different major version: "ERROR <text>", one
 *    log line, and the connection closes once ERROR is written;
 *  - a request with a missing or bad field: FAIL <id> invalid_request;
 *  - more than auth.max_inflight requests running: FAIL <id> busy;
 *  - a client that does not read its replies: past OUT_HIGH bytes queued
 *    authd stops reading its requests until the queue drains (TCP-style
 *    back-pressure instead of unbounded memory).
 *
 * A request whose connection closes keeps running to its end (a backend
 * may be in the middle of a query); its answer is then dropped.
 */
#include "config.h"
#include "plugins/authd/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/buf.h"
#include "core/log.h"
#include "mqtt/topic.h"

#define OUT_HIGH (8u << 20) /* stop reading above this much output */
#define OUT_LOW  (1u << 20) /* and start again below this */

typedef struct areq areq_t;

struct cq_authd_conn {
	cq_authd_server_t *srv;
	struct bufferevent *bev;
	uint64_t id;
	pid_t peer_pid;
	bool greeted; /* the client's VERSION came */
	bool closing; /* close once the output is written */
	bool throttled; /* reading stopped: too much output queued */
	unsigned inflight;
	areq_t *reqs;
	cq_buf_t line; /* scratch for one reply */
	cq_authd_conn_t *prev, *next;
};

/* A request and the copies of its strings. */
struct areq {
	cq_auth_request_t req;
	cq_authd_conn_t *conn; /* NULL once the connection is gone */
	uint32_t id;
	areq_t *prev, *next;
	char data[];
};

static void conn_free(cq_authd_conn_t *c);

/* ---- output ------------------------------------------------------------ */

static void
send_buf(cq_authd_conn_t *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (cq_buf_used(&c->line) > 0 &&
		evbuffer_add(
			out, cq_buf_head(&c->line), cq_buf_used(&c->line)) < 0)
		cq_log(CQ_LOG_ERR, ENOMEM, "authd connection %llu: reply lost",
			(unsigned long long)c->id);
	cq_buf_reset(&c->line);
	if (!c->throttled && evbuffer_get_length(out) > OUT_HIGH) {
		c->throttled = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

/* ERROR <text>, log it, and close once it is written. */
static void
protocol_error(cq_authd_conn_t *c, const char *text)
{
	cq_log(CQ_LOG_WARN, 0,
		"authd connection %llu (pid %d): protocol error: %s; closing",
		(unsigned long long)c->id, (int)c->peer_pid, text);
	cq_buf_reset(&c->line);
	if (cq_authp_put_raw(&c->line, "ERROR\t") == 0 &&
		cq_authp_put_escaped(&c->line, text, strlen(text)) == 0 &&
		cq_authp_put_raw(&c->line, "\n") == 0)
		send_buf(c);
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	/* on_write must fire when the output is empty, not just low. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

static void
put_head(cq_authd_conn_t *c, const char *cmd, uint32_t id)
{
	char head[32];
	snprintf(head, sizeof(head), "%s\t%u", cmd, id);
	cq_authp_put_raw(&c->line, head);
}

static void
send_fail(cq_authd_conn_t *c, uint32_t id, const char *code, const char *reason,
	int32_t ttl)
{
	put_head(c, "FAIL", id);
	cq_authp_put_pair(&c->line, "code", code, strlen(code));
	if (reason != NULL && reason[0] != '\0')
		cq_authp_put_pair(&c->line, "reason", reason, strlen(reason));
	if (ttl >= 0)
		cq_authp_put_uint(&c->line, "ttl", (uint64_t)ttl);
	cq_authp_put_raw(&c->line, "\n");
	send_buf(c);
}

static void
send_ok(cq_authd_conn_t *c, uint32_t id, int32_t ttl)
{
	put_head(c, "OK", id);
	if (ttl >= 0)
		cq_authp_put_uint(&c->line, "ttl", (uint64_t)ttl);
	cq_authp_put_raw(&c->line, "\n");
	send_buf(c);
}

static void
send_invalidate(cq_authd_conn_t *c)
{
	cq_authp_put_raw(&c->line, "INVALIDATE\t");
	cq_authp_put_escaped(&c->line, c->srv->serial, strlen(c->srv->serial));
	cq_authp_put_raw(&c->line, "\n");
	send_buf(c);
}

/* ---- requests -------------------------------------------------------- */

static void
unlink_req(areq_t *r)
{
	cq_authd_conn_t *c = r->conn;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	c->inflight--;
}

/* The chain decided. */
static void
req_done(cq_auth_request_t *req, void *arg)
{
	areq_t *r = arg;
	cq_authd_conn_t *c = r->conn;

	(void)req;
	if (c != NULL) {
		unlink_req(r);
		if (r->req.code == NULL)
			send_ok(c, r->id, r->req.ttl);
		else
			send_fail(c, r->id, r->req.code, r->req.reason,
				r->req.ttl);
	}
	if (r->req.pass != NULL)
		memset((void *)r->req.pass, 0, r->req.pass_len);
	free(r);
}

/* Append a NUL-terminated copy of s (or "") at *w. */
static const char *
copy_str(char **w, const char *s, size_t len)
{
	char *p = *w;
	if (s != NULL)
		memcpy(p, s, len);
	p[s != NULL ? len : 0] = '\0';
	*w += (s != NULL ? len : 0) + 1;
	return p;
}

/* A request's strings into one allocation; NULL if out of memory or the
 * password is not base64. */
static areq_t *
req_new(const cq_authp_request_t *p)
{
	size_t addr = p->addr ? strlen(p->addr) : 0;
	size_t lis = p->listener ? strlen(p->listener) : 0;
	size_t cert = p->cert ? strlen(p->cert) : 0;
	size_t total = p->client_len + p->user_len + addr + lis + cert +
		p->topic_len + p->pass_len / 4 * 3 + 7;
	areq_t *r = calloc(1, sizeof(*r) + total);
	char *w;

	if (r == NULL)
		return NULL;
	w = r->data;
	r->id = p->id;
	r->req.cmd = p->cmd;
	r->req.client = copy_str(&w, p->client, p->client_len);
	r->req.client_len = p->client_len;
	r->req.user = copy_str(&w, p->user, p->user_len);
	r->req.user_len = p->user ? p->user_len : 0;
	r->req.has_user = p->user != NULL;
	r->req.addr = copy_str(&w, p->addr, addr);
	r->req.listener = copy_str(&w, p->listener, lis);
	r->req.cert = copy_str(&w, p->cert, cert);
	r->req.topic = copy_str(&w, p->topic, p->topic_len);
	r->req.topic_len = p->topic ? p->topic_len : 0;
	r->req.access = p->access;
	r->req.has_pass = p->pass != NULL;
	r->req.pass = (const unsigned char *)w;
	if (p->pass != NULL &&
		cq_authp_b64_decode((unsigned char *)w, &r->req.pass_len,
			p->pass, p->pass_len) < 0) {
		free(r);
		return NULL;
	}
	return r;
}

/* ACL topics: a topic name for r/w, a filter for s (a shared one is
 * judged by its filter part).  NULL if fine, else what is wrong. */
static const char *
normalise_topic(areq_t *r)
{
	cq_auth_request_t *q = &r->req;
	cq_mqtt_view_t group, filter;

	if (q->cmd != CQ_AUTHP_CMD_ACL)
		return NULL;
	if (q->access != CQ_AUTHP_ACCESS_SUBSCRIBE)
		return cq_topic_name_check(q->topic, q->topic_len, 0) ==
				CQ_TOPIC_OK
			? NULL
			: "topic= is not a valid topic name";
	if (cq_topic_filter_check(q->topic, q->topic_len, 0, CQ_TOPIC_SHARED) !=
		CQ_TOPIC_OK)
		return "topic= is not a valid topic filter";
	if (cq_topic_is_shared(q->topic, q->topic_len) &&
		cq_topic_share_split(q->topic, q->topic_len, &group, &filter) ==
			CQ_TOPIC_OK) {
		q->topic = (const char *)filter.ptr;
		q->topic_len = filter.len;
	}
	return NULL;
}

static void
start_request(cq_authd_conn_t *c, const cq_authp_request_t *p)
{
	areq_t *r;
	const char *bad;

	if (c->inflight >= c->srv->max_inflight) {
		send_fail(c, p->id, CQ_AUTHP_CODE_BUSY,
			"too many requests in flight on this connection", -1);
		return;
	}
	if ((r = req_new(p)) == NULL) {
		send_fail(c, p->id, CQ_AUTHP_CODE_INVALID,
			"pass= is not base64 (or out of memory)", -1);
		return;
	}
	if ((bad = normalise_topic(r)) != NULL) {
		send_fail(c, p->id, CQ_AUTHP_CODE_INVALID, bad, -1);
		free(r);
		return;
	}
	r->conn = c;
	r->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = r;
	c->reqs = r;
	c->inflight++;
	cq_auth_chain_run(c->srv->chain, &r->req, req_done, r);
}

/* ---- input --------------------------------------------------------- */

/* One line (LF cut off; line[len] writable).  -1 when the connection
 * is closing. */
static int
handle_line(cq_authd_conn_t *c, char *line, size_t len)
{
	cq_authp_line_t l;
	cq_authp_request_t req;
	const char *err;
	unsigned major, minor;

	if (cq_authp_split(line, len, &l, &err) < 0) {
		protocol_error(c, err);
		return -1;
	}
	if (!c->greeted) {
		if (cq_authp_parse_version(&l, &major, &minor, &err) < 0) {
			protocol_error(c, "expected VERSION first");
			return -1;
		}
		if (major != CQ_AUTHP_VERSION_MAJOR) {
			protocol_error(c, "unsupported major version");
			return -1;
		}
		c->greeted = true;
		return 0;
	}
	switch (cq_authp_parse_request(&l, &req, &err)) {
	case CQ_AUTHP_PARSE_OK:
		start_request(c, &req);
		return 0;
	case CQ_AUTHP_PARSE_INVALID:
		send_fail(c, req.id, CQ_AUTHP_CODE_INVALID, err, -1);
		return 0;
	default:
		protocol_error(c, err);
		return -1;
	}
}

static void
process_input(cq_authd_conn_t *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (!c->closing && !c->throttled) {
		size_t eol_len;
		struct evbuffer_ptr p = evbuffer_search_eol(
			in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (p.pos < 0) {
			if (evbuffer_get_length(in) >= CQ_AUTHP_LINE_MAX)
				protocol_error(c, "line too long");
			return;
		}
		size_t len = (size_t)p.pos;
		if (len + 1 > CQ_AUTHP_LINE_MAX) {
			protocol_error(c, "line too long");
			return;
		}
		char *line = (char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
		int rc = line != NULL ? handle_line(c, line, len) : -1;
		if (rc < 0)
			return; /* closing, maybe freed */
		evbuffer_drain(in, len + 1);
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_input(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	cq_authd_conn_t *c = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->closing) {
		if (left == 0)
			conn_free(c);
		return;
	}
	if (c->throttled && left <= OUT_LOW) {
		c->throttled = false;
		bufferevent_enable(bev, EV_READ);
		process_input(c); /* lines that waited in the buffer */
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	cq_authd_conn_t *c = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR)
		cq_log(CQ_LOG_NOTICE, EVUTIL_SOCKET_ERROR(),
			"authd connection %llu (pid %d) failed",
			(unsigned long long)c->id, (int)c->peer_pid);
	else
		cq_log(CQ_LOG_INFO, 0, "authd connection %llu (pid %d) closed",
			(unsigned long long)c->id, (int)c->peer_pid);
	conn_free(c);
}

/* ---- lifetime ------------------------------------------------------ */

static void
conn_free(cq_authd_conn_t *c)
{
	cq_authd_server_t *srv = c->srv;

	for (areq_t *r = c->reqs; r != NULL; r = r->next)
		r->conn = NULL; /* finishes later, unanswered */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	bufferevent_free(c->bev);
	cq_buf_free(&c->line);
	free(c);
}

/* The peer's pid, and whether its uid may talk to us (ours or root). */
static int
check_peer(int fd, pid_t *pid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*pid_r = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0; /* not a Unix socket (tests): nothing to check */
	*pid_r = cred.pid;
	if (cred.uid != 0 && cred.uid != geteuid()) {
		cq_log(CQ_LOG_WARN, 0,
			"authd: refused a connection from pid %d uid %u (not "
			"the broker's user)",
			(int)cred.pid, (unsigned)cred.uid);
		return -1;
	}
	return 0;
}

int
cq_authd_conn_new(cq_authd_server_t *srv, int fd)
{
	cq_authd_conn_t *c = calloc(1, sizeof(*c));
	pid_t pid;

	if (c == NULL || check_peer(fd, &pid) < 0 ||
		evutil_make_socket_nonblocking(fd) < 0 ||
		(c->bev = bufferevent_socket_new(
			 srv->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		close(fd);
		return -1;
	}
	c->srv = srv;
	c->id = ++srv->next_conn_id;
	c->peer_pid = pid;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	cq_authp_put_version(&c->line);
	send_buf(c);
	send_invalidate(c);
	cq_log(CQ_LOG_INFO, 0, "authd connection %llu from pid %d",
		(unsigned long long)c->id, (int)pid);
	return 0;
}

void
cq_authd_conn_broadcast_invalidate(cq_authd_server_t *srv)
{
	for (cq_authd_conn_t *c = srv->conns; c != NULL; c = c->next)
		if (!c->closing)
			send_invalidate(c);
}

void
cq_authd_conn_close_all(cq_authd_server_t *srv)
{
	while (srv->conns != NULL)
		conn_free(srv->conns);
}
