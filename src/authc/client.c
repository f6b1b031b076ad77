/*
 * client.c — the connection to comqtt-authd (client.h): connect and
 * reconnect, handshake, pipelined questions with ids, deadlines, replies.
 *
 * Questions in flight live in a table of max_inflight slots (a power of
 * two).  A question's id is its slot number in the low bits and the
 * slot's use count in the high bits, so a late reply to a slot that was
 * reused (after a timeout) does not match the new question.
 *
 * Deadlines: every AUTH question has the same timeout, every ACL question
 * too, so each kind's questions sit on a list in deadline order (a new
 * one goes at the tail; after a timeout change it is walked into place
 * from the tail).  One timer is armed for the earliest head.
 *
 * States: DOWN (no socket; a question first tries connect() once --
 * at most every 20 ms -- and is refused at once if that fails; a
 * reconnect is scheduled with back-off: 50 ms doubling to 5 s, with
 * jitter so that all workers do not knock at once), HANDSHAKE (connected, authd's VERSION
 * not seen yet; questions are written and wait), READY.  Whenever the
 * connection ends, every question in flight fails (UNAVAILABLE) before
 * anything else happens.
 *
 * Callbacks run from the read callback, the timer, or a failure; a
 * callback may ask new questions and cancel others.
 */
#include "config.h"
#include "authc/client-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/assert.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/log.h"
#include "mqtt/reason.h"
#include "shm/authcache.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 5000
/* While down, a question retries the connection at most this often. */
#define RETRY_ON_ASK_MS 1
#define CLIENT_LOG_MAX  64 /* bytes of a client id kept for log lines */

enum { KIND_AUTH = 0, KIND_ACL = 1 };
typedef enum { ST_DOWN = 0, ST_HANDSHAKE, ST_READY } state_t;

typedef struct pend pend_t;
struct pend {
	bool used;
	bool cancelled;
	bool always_call;
	uint8_t kind;
	uint32_t id;
	uint32_t uses; /* high bits of the id */
	uint64_t deadline_ms;
	cq_authc_fn *cb;
	void *arg;
	pend_t *prev, *next; /* deadline list, or the free list (next) */
	uint8_t client_len;
	char client[CLIENT_LOG_MAX];
};

typedef struct dlist {
	pend_t *head, *tail;
} dlist_t;

struct cq_authc {
	struct event_base *base;
	cq_authc_options_t opts;
	state_t state;
	struct bufferevent *bev;
	struct event *conn_timer; /* reconnect (DOWN), greeting (HANDSHAKE) */
	struct event *deadline_timer;
	uint64_t armed_ms; /* deadline_timer's target, 0 if not armed */
	uint32_t backoff_ms;
	uint64_t last_try_ms; /* the last connect() attempt */
	uint32_t rng;
	unsigned slot_bits;
	pend_t *slots;
	pend_t *free_list;
	dlist_t lists[2];
	unsigned inflight;
	cq_buf_t line;
	char serial[64]; /* authd's last policy serial */
	bool warned_down;
};

static void schedule_reconnect(cq_authc_t *c);
static void connection_lost(cq_authc_t *c, const char *why);

/* Monotonic milliseconds: the cache's clock, so deadlines and TTLs
 * agree. */
#define now_ms() cq_authcache_now()

const char *
cq_authc_status_name(cq_authc_status_t status)
{
	static const char *const names[] = {
		"allow", "deny", "unavailable", "timeout", "busy", "invalid"};
	return (unsigned)status < sizeof(names) / sizeof(names[0])
		? names[status]
		: "?";
}

void
cq_authc_log_refusal(const char *what, const char *client, size_t client_len,
	const cq_authc_result_t *res)
{
	cq_log(CQ_LOG_NOTICE, 0, "%s refused: client \"%.*s\": %s (%s)", what,
		(int)(client_len > 200 ? 200 : client_len), client,
		cq_authc_status_name(res->status),
		res->reason ? res->reason : "");
}

/* ---- options ------------------------------------------------------- */

int
cq_authc_socket_path(const cq_config_t *cfg, char *buf, size_t size)
{
	int n;

	if (cfg->auth.socket[0] != '\0')
		n = snprintf(buf, size, "%s", cfg->auth.socket);
	else
		n = snprintf(buf, size, "%s/authd.sock", cfg->data_dir);
	return n < 0 || (size_t)n >= size ||
			(size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path)
		? -1
		: 0;
}

int
cq_authc_options_from_config(cq_authc_options_t *o, const cq_config_t *cfg)
{
	memset(o, 0, sizeof(*o));
	o->auth_timeout_ms = cfg->auth.timeout_ms;
	o->acl_timeout_ms = cfg->auth.acl_timeout_ms;
	o->max_inflight = cfg->auth.max_inflight;
	o->max_stale_ms = cfg->auth.max_stale * 1000u;
	o->use_cache = true;
	return cq_authc_socket_path(
		cfg, o->socket_path, sizeof(o->socket_path));
}

/* ---- deadlines ------------------------------------------------------ */

static void
list_remove(dlist_t *l, pend_t *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		l->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		l->tail = p->prev;
	p->prev = p->next = NULL;
}

/* Insert in deadline order, walking from the tail (O(1) normally). */
static void
list_insert(dlist_t *l, pend_t *p)
{
	pend_t *after = l->tail;

	while (after != NULL && after->deadline_ms > p->deadline_ms)
		after = after->prev;
	p->prev = after;
	p->next = after != NULL ? after->next : l->head;
	if (p->next != NULL)
		p->next->prev = p;
	else
		l->tail = p;
	if (after != NULL)
		after->next = p;
	else
		l->head = p;
}

static void
arm_timer(cq_authc_t *c)
{
	uint64_t when = 0;

	for (int k = 0; k < 2; k++) {
		pend_t *h = c->lists[k].head;
		if (h != NULL && (when == 0 || h->deadline_ms < when))
			when = h->deadline_ms;
	}
	if (when == c->armed_ms)
		return;
	c->armed_ms = when;
	if (when == 0) {
		evtimer_del(c->deadline_timer);
		return;
	}
	uint64_t now = now_ms(), wait = when > now ? when - now : 0;
	struct timeval tv = {
		(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
	evtimer_add(c->deadline_timer, &tv);
}

/* ---- slots ------------------------------------------------------------ */

static pend_t *
slot_take(cq_authc_t *c)
{
	pend_t *p = c->free_list;

	if (p == NULL)
		return NULL;
	c->free_list = p->next;
	size_t index = (size_t)(p - c->slots);
	p->uses++;
	p->id = (uint32_t)((p->uses << c->slot_bits) | index);
	p->used = true;
	p->cancelled = false;
	p->prev = p->next = NULL;
	c->inflight++;
	return p;
}

static void
slot_release(cq_authc_t *c, pend_t *p)
{
	list_remove(&c->lists[p->kind], p);
	p->used = false;
	p->cb = NULL;
	p->next = c->free_list;
	c->free_list = p;
	c->inflight--;
}

/* Finish a question: release its slot, then call back. */
static void
complete(cq_authc_t *c, pend_t *p, cq_authc_result_t *res, bool log_it)
{
	cq_authc_fn *cb = p->cb;
	void *arg = p->arg;
	bool call = !p->cancelled || p->always_call;
	char client[CLIENT_LOG_MAX];
	size_t client_len = p->client_len;
	const char *what = p->kind == KIND_AUTH ? "AUTH" : "ACL";

	res->cancelled = p->cancelled;
	memcpy(client, p->client, client_len);
	slot_release(c, p);
	if (log_it && !res->cancelled)
		cq_authc_log_refusal(what, client, client_len, res);
	if (call)
		cb(res, arg);
}

/* Fail every question in flight (the connection is gone). */
static void
fail_all(cq_authc_t *c, const char *reason)
{
	cq_authc_result_t res = {
		.status = CQ_AUTHC_UNAVAILABLE, .reason = reason};

	for (int k = 0; k < 2; k++)
		while (c->lists[k].head != NULL)
			complete(c, c->lists[k].head, &res, true);
	arm_timer(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	cq_authc_t *c = arg;
	uint64_t now = now_ms();
	cq_authc_result_t res = {.status = CQ_AUTHC_TIMEOUT};

	(void)fd;
	(void)what;
	c->armed_ms = 0;
	for (int k = 0; k < 2; k++) {
		res.reason = k == KIND_AUTH ? "no answer from authd within "
					      "auth.timeout_ms"
					    : "no answer from authd within "
					      "auth.acl_timeout_ms";
		while (c->lists[k].head != NULL &&
			c->lists[k].head->deadline_ms <= now)
			complete(c, c->lists[k].head, &res, true);
	}
	arm_timer(c);
}

/* ---- replies ---------------------------------------------------------- */

static void
answer(cq_authc_t *c, const cq_authp_reply_t *r)
{
	pend_t *p = &c->slots[r->id & ((1u << c->slot_bits) - 1)];
	cq_authc_result_t res = {.ttl = r->has_ttl ? r->ttl : 0};

	if (!p->used || p->id != r->id)
		return; /* timed out or cancelled earlier: too late */
	if (r->cmd == CQ_AUTHP_CMD_OK) {
		res.status = CQ_AUTHC_ALLOW;
	} else if (strcmp(r->code, CQ_AUTHP_CODE_BAD_CREDENTIALS) == 0) {
		res.status = CQ_AUTHC_DENY;
		res.bad_credentials = true;
	} else if (strcmp(r->code, CQ_AUTHP_CODE_NOT_AUTHORIZED) == 0) {
		res.status = CQ_AUTHC_DENY;
	} else if (strcmp(r->code, CQ_AUTHP_CODE_BUSY) == 0) {
		res.status = CQ_AUTHC_BUSY;
	} else if (strcmp(r->code, CQ_AUTHP_CODE_INVALID) == 0) {
		res.status = CQ_AUTHC_INVALID;
	} else {
		res.status = CQ_AUTHC_UNAVAILABLE;
	}
	if (res.status != CQ_AUTHC_ALLOW && res.status != CQ_AUTHC_DENY)
		res.ttl = 0; /* faults are never cached */
	res.reason = r->reason != NULL ? r->reason : r->code;
	complete(c, p, &res, false);
	arm_timer(c);
}

static void
invalidate(cq_authc_t *c, const char *serial)
{
	if (strcmp(serial, c->serial) == 0)
		return;
	if (c->serial[0] != '\0') {
		/* Every worker hears this; the first one clears the shared
		 * cache, the others keep what was cached since. */
		bool bumped;
		uint64_t epoch = cq_authcache_invalidate_serial(
			serial, &bumped);
		cq_log(CQ_LOG_INFO, 0,
			"authd policy changed (%s -> %s): cached answers "
			"dropped (epoch %llu%s)",
			c->serial, serial, (unsigned long long)epoch,
			bumped ? "" : ", by another worker");
	}
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
}

/* One line from authd; -1 when the connection was closed. */
static int
handle_line(cq_authc_t *c, char *line, size_t len)
{
	cq_authp_line_t l;
	cq_authp_reply_t r;
	const char *err;

	if (cq_authp_split(line, len, &l, &err) < 0 ||
		cq_authp_parse_reply(&l, &r, &err) < 0) {
		connection_lost(c, err);
		return -1;
	}
	if (c->state == ST_HANDSHAKE) {
		if (r.cmd != CQ_AUTHP_CMD_VERSION ||
			r.major != CQ_AUTHP_VERSION_MAJOR) {
			connection_lost(c,
				r.cmd == CQ_AUTHP_CMD_VERSION
					? "authd speaks another major version"
					: "authd did not start with VERSION");
			return -1;
		}
		c->state = ST_READY;
		c->backoff_ms = BACKOFF_MIN_MS;
		evtimer_del(c->conn_timer);
		if (c->warned_down)
			cq_log(CQ_LOG_NOTICE, 0, "authd: connected again");
		c->warned_down = false;
		return 0;
	}
	switch (r.cmd) {
	case CQ_AUTHP_CMD_OK:
	case CQ_AUTHP_CMD_FAIL:
		answer(c, &r);
		return 0;
	case CQ_AUTHP_CMD_INVALIDATE:
		invalidate(c, r.serial);
		return 0;
	case CQ_AUTHP_CMD_ERROR:
		cq_log(CQ_LOG_ERR, 0, "authd reports a protocol error: %s",
			r.reason);
		connection_lost(c, "authd closed the connection (ERROR)");
		return -1;
	default:
		connection_lost(c, "an unexpected line from authd");
		return -1;
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	cq_authc_t *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t eol_len;
		struct evbuffer_ptr p = evbuffer_search_eol(
			in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (p.pos < 0) {
			if (evbuffer_get_length(in) >= CQ_AUTHP_LINE_MAX)
				connection_lost(
					c, "a line from authd too long");
			return;
		}
		size_t len = (size_t)p.pos;
		char *line = (char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
		if (line == NULL || len + 1 > CQ_AUTHP_LINE_MAX) {
			connection_lost(c, "a line from authd too long");
			return;
		}
		if (handle_line(c, line, len) < 0 || c->bev != bev)
			return; /* closed, maybe by a callback */
		evbuffer_drain(in, len + 1);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	connection_lost(arg,
		what & BEV_EVENT_EOF ? "authd closed the connection"
				     : "the connection to authd failed");
}

/* ---- connecting ------------------------------------------------------ */

static void
connection_lost(cq_authc_t *c, const char *why)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (!c->warned_down)
		cq_log(CQ_LOG_WARN, 0, "authd %s: %s; reconnecting",
			c->opts.socket_path, why);
	c->warned_down = true;
	c->state = ST_DOWN;
	fail_all(c, why);
	schedule_reconnect(c);
}

static void
try_connect(cq_authc_t *c)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct timeval greet = {c->opts.auth_timeout_ms / 1000,
		(c->opts.auth_timeout_ms % 1000) * 1000};

	c->last_try_ms = now_ms();
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->opts.socket_path);
	/* A Unix socket connects at once or not at all (EAGAIN: authd's
	 * backlog is full -- try again later like any failure). */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		(c->bev = bufferevent_socket_new(
			 c->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		if (!c->warned_down)
			cq_log(CQ_LOG_WARN, err, "authd %s: connect() failed",
				c->opts.socket_path);
		c->warned_down = true;
		schedule_reconnect(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = ST_HANDSHAKE;
	cq_buf_reset(&c->line);
	cq_authp_put_version(&c->line);
	bufferevent_write(c->bev, cq_buf_head(&c->line), cq_buf_used(&c->line));
	evtimer_add(c->conn_timer, &greet);
}

static void
on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	cq_authc_t *c = arg;
	(void)fd;
	(void)what;
	if (c->state == ST_HANDSHAKE)
		connection_lost(c, "authd did not answer VERSION in time");
	else if (c->state == ST_DOWN)
		try_connect(c);
}

static void
schedule_reconnect(cq_authc_t *c)
{
	/* xorshift32: jitter of +-25%, no need for quality. */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 17;
	c->rng ^= c->rng << 5;
	uint32_t ms = c->backoff_ms - c->backoff_ms / 4 +
		c->rng % (c->backoff_ms / 2 + 1);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	c->state = ST_DOWN;
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							   : c->backoff_ms * 2;
	evtimer_add(c->conn_timer, &tv);
}

cq_authc_t *
cq_authc_new(struct event_base *base, const cq_authc_options_t *o)
{
	cq_authc_t *c = calloc(1, sizeof(*c));
	unsigned bits = 0;

	while ((1u << bits) < o->max_inflight && bits < 16)
		bits++;
	if (c == NULL ||
		(c->slots = calloc((size_t)1 << bits, sizeof(*c->slots))) ==
			NULL) {
		free(c);
		cq_log(CQ_LOG_ERR, ENOMEM, "authd client");
		return NULL;
	}
	c->base = base;
	c->opts = *o;
	c->slot_bits = bits;
	c->backoff_ms = BACKOFF_MIN_MS;
	c->rng = (((uint32_t)getpid() * 2654435761u) ^ (uint32_t)now_ms()) | 1;
	for (size_t i = (size_t)1 << bits; i-- > 0;) {
		c->slots[i].next = c->free_list;
		c->free_list = &c->slots[i];
	}
	c->conn_timer = evtimer_new(base, on_conn_timer, c);
	c->deadline_timer = evtimer_new(base, on_deadline, c);
	if (c->conn_timer == NULL || c->deadline_timer == NULL) {
		cq_authc_free(c);
		return NULL;
	}
	try_connect(c);
	return c;
}

void
cq_authc_configure(cq_authc_t *c, const cq_authc_options_t *o)
{
	bool moved = strcmp(c->opts.socket_path, o->socket_path) != 0;
	uint32_t max_inflight = c->opts.max_inflight;

	c->opts = *o;
	c->opts.max_inflight = max_inflight;
	if (moved && c->state != ST_DOWN)
		connection_lost(c, "auth.socket changed");
}

void
cq_authc_free(cq_authc_t *c)
{
	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->conn_timer != NULL)
		event_free(c->conn_timer);
	if (c->deadline_timer != NULL)
		event_free(c->deadline_timer);
	cq_buf_free(&c->line);
	free(c->slots);
	free(c);
}

bool
cq_authc_connected(const cq_authc_t *c)
{
	return c->state == ST_READY;
}

bool
cq_authc_is_down(const cq_authc_t *c)
{
	return c->state == ST_DOWN;
}

unsigned
cq_authc_inflight(const cq_authc_t *c)
{
	return c->inflight;
}

const cq_authc_options_t *
cq_authc_get_options(const cq_authc_t *c)
{
	return &c->opts;
}

/* ---- asking ------------------------------------------------------ */

/* Answer at once with a refusal the library makes. */
static int
refuse_now(cq_authc_result_t *res, cq_authc_status_t status, const char *reason,
	const char *what, const char *client, size_t client_len)
{
	memset(res, 0, sizeof(*res));
	res->status = status;
	res->reason = reason;
	cq_authc_log_refusal(what, client, client_len, res);
	return 0;
}

/* Send the question in c->line (built by the caller, LF included). */
static int
send_line(cq_authc_t *c, pend_t *p, uint8_t kind, cq_authc_fn *cb, void *arg,
	bool always_call, const char *client, size_t client_len,
	uint32_t *handle_r)
{
	uint32_t timeout = kind == KIND_AUTH ? c->opts.auth_timeout_ms
					     : c->opts.acl_timeout_ms;

	p->kind = kind;
	p->cb = cb;
	p->arg = arg;
	p->always_call = always_call;
	p->deadline_ms = now_ms() + timeout;
	p->client_len = (uint8_t)CQ_MIN(client_len, sizeof(p->client));
	memcpy(p->client, client, p->client_len);
	list_insert(&c->lists[kind], p);
	arm_timer(c);
	bufferevent_write(c->bev, cq_buf_head(&c->line), cq_buf_used(&c->line));
	if (handle_r != NULL)
		*handle_r = p->id;
	return CQ_AGAIN;
}

/* The common head of a question: checks, a slot, "CMD<TAB>id".  NULL
 * with *res_r filled when it cannot be asked. */
static pend_t *
begin(cq_authc_t *c, const char *cmd, const char *client, size_t client_len,
	cq_authc_result_t *res_r)
{
	const char *what = cmd;
	char head[32];
	pend_t *p;

	if (c->state == ST_DOWN &&
		now_ms() - c->last_try_ms >= RETRY_ON_ASK_MS) {
		/* authd may be back (or just started) before the back-off
		 * timer says so: one connect() costs little and spares this
		 * client a refusal.  Rate-limited, so an outage does not turn
		 * every question into a syscall. */
		evtimer_del(c->conn_timer);
		try_connect(c);
	}
	if (c->state == ST_DOWN) {
		refuse_now(res_r, CQ_AUTHC_UNAVAILABLE,
			"authd is not connected", what, client, client_len);
		return NULL;
	}
	if ((p = slot_take(c)) == NULL) {
		refuse_now(res_r, CQ_AUTHC_BUSY,
			"too many questions in flight (auth.max_inflight)",
			what, client, client_len);
		return NULL;
	}
	cq_buf_reset(&c->line);
	snprintf(head, sizeof(head), "%s\t%u", cmd, p->id);
	if (cq_authp_put_raw(&c->line, head) < 0 ||
		cq_authp_put_pair(&c->line, "client", client, client_len) < 0) {
		slot_release(c, p);
		refuse_now(res_r, CQ_AUTHC_INVALID, "out of memory", what,
			client, client_len);
		return NULL;
	}
	return p;
}

/* The line is complete: too long, or out of memory, refuses it. */
static int
finish_line(cq_authc_t *c, pend_t *p, int rc, const char *what,
	const char *client, size_t client_len, cq_authc_result_t *res_r)
{
	if (rc == 0)
		rc = cq_authp_put_raw(&c->line, "\n");
	if (rc == 0 && cq_buf_used(&c->line) <= CQ_AUTHP_LINE_MAX)
		return 0;
	slot_release(c, p);
	refuse_now(res_r, CQ_AUTHC_INVALID,
		rc < 0 ? "out of memory"
		       : "the question is longer than the protocol allows",
		what, client, client_len);
	return -1;
}

static int
put_b64(cq_buf_t *b, const void *pass, size_t len)
{
	if (cq_buf_append(b, "\tpass=", 6) < 0 ||
		cq_buf_reserve(b, CQ_AUTHP_B64_LEN(len)) < 0)
		return -1;
	cq_buf_commit(
		b, cq_authp_b64_encode((char *)cq_buf_tail(b), pass, len));
	return 0;
}

int
cq_authc_send_auth(cq_authc_t *c, const cq_authc_auth_req_t *r, cq_authc_fn *cb,
	void *arg, bool always_call, uint32_t *handle_r,
	cq_authc_result_t *res_r)
{
	pend_t *p = begin(c, "AUTH", r->client, r->client_len, res_r);
	cq_buf_t *b = &c->line;
	int rc = 0;

	if (p == NULL)
		return 0;
	if (r->user != NULL)
		rc |= cq_authp_put_pair(b, "user", r->user, r->user_len);
	if (r->pass != NULL)
		rc |= put_b64(b, r->pass, r->pass_len);
	rc |= cq_authp_put_pair(b, "addr", r->addr, strlen(r->addr));
	rc |= cq_authp_put_pair(
		b, "listener", r->listener, strlen(r->listener));
	if (r->cert != NULL)
		rc |= cq_authp_put_pair(b, "cert", r->cert, strlen(r->cert));
	if (finish_line(c, p, rc, "AUTH", r->client, r->client_len, res_r) < 0)
		return 0;
	return send_line(c, p, KIND_AUTH, cb, arg, always_call, r->client,
		r->client_len, handle_r);
}

int
cq_authc_send_acl(cq_authc_t *c, const cq_authc_acl_req_t *r, cq_authc_fn *cb,
	void *arg, bool always_call, uint32_t *handle_r,
	cq_authc_result_t *res_r)
{
	pend_t *p = begin(c, "ACL", r->client, r->client_len, res_r);
	cq_buf_t *b = &c->line;
	char access[2] = {r->access, '\0'};
	int rc = 0;

	if (p == NULL)
		return 0;
	if (r->user != NULL)
		rc |= cq_authp_put_pair(b, "user", r->user, r->user_len);
	rc |= cq_authp_put_pair(b, "topic", r->topic, r->topic_len);
	rc |= cq_authp_put_pair(b, "access", access, 1);
	if (r->addr != NULL)
		rc |= cq_authp_put_pair(b, "addr", r->addr, strlen(r->addr));
	if (r->listener != NULL)
		rc |= cq_authp_put_pair(
			b, "listener", r->listener, strlen(r->listener));
	if (finish_line(c, p, rc, "ACL", r->client, r->client_len, res_r) < 0)
		return 0;
	return send_line(c, p, KIND_ACL, cb, arg, always_call, r->client,
		r->client_len, handle_r);
}

int
cq_authc_auth(cq_authc_t *c, const cq_authc_auth_req_t *r, cq_authc_fn *cb,
	void *arg, uint32_t *handle_r, cq_authc_result_t *res_r)
{
	return cq_authc_send_auth(c, r, cb, arg, false, handle_r, res_r);
}

int
cq_authc_acl(cq_authc_t *c, const cq_authc_acl_req_t *r, cq_authc_fn *cb,
	void *arg, uint32_t *handle_r, cq_authc_result_t *res_r)
{
	return cq_authc_send_acl(c, r, cb, arg, false, handle_r, res_r);
}

void
cq_authc_cancel(cq_authc_t *c, uint32_t handle)
{
	pend_t *p = &c->slots[handle & ((1u << c->slot_bits) - 1)];

	if (p->used && p->id == handle)
		p->cancelled = true; /* the id stays reserved until answered */
}

int
cq_authc_connack_code(const cq_authc_result_t *res, int protocol_version)
{
	bool v5 = protocol_version >= 5;

	switch (res->status) {
	case CQ_AUTHC_ALLOW:
		return 0;
	case CQ_AUTHC_DENY:
		if (res->bad_credentials)
			return v5 ? CQ_MQTT_RC_BAD_USERNAME_PASSWORD
				  : CQ_MQTT_V3_BAD_USERNAME_PASSWORD;
		return v5 ? CQ_MQTT_RC_NOT_AUTHORIZED
			  : CQ_MQTT_V3_NOT_AUTHORIZED;
	case CQ_AUTHC_BUSY:
		return v5 ? CQ_MQTT_RC_SERVER_BUSY
			  : CQ_MQTT_V3_SERVER_UNAVAILABLE;
	default:
		return v5 ? CQ_MQTT_RC_SERVER_UNAVAILABLE
			  : CQ_MQTT_V3_SERVER_UNAVAILABLE;
	}
}
