/*
 * health.c — see health.h.
 *
 * Worker liveness: every HEALTH_SAMPLE_MS a timer reads each worker's
 * loop counter (CQ_CTR_LOOP_ITERATIONS, which a worker bumps at least ten
 * times a second thanks to its housekeeping tick) and notes when it last
 * moved; a worker whose counter stood still for CQ_HEALTH_STALL_MS is
 * reported "stalled" (stopped, spinning in one call, or stuck on a lock).
 */
#include "config.h"
#include "master/health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/defs.h"
#include "core/http.h"
#include "core/log.h"
#include "master/process.h"
#include "shm/counters.h"

#define HEALTH_SAMPLE_MS 500u
#define HEALTH_CONNS_MAX 64u
#define ACCEPT_BATCH     16
#define BODY_MAX         (CQ_MAX_WORKERS * 64 + 64)
#define RESP_MAX         (BODY_MAX + 256)

typedef struct hconn {
	int fd;
	cq_listener_t *l;
	struct event *ev; /* read, then write */
	struct event *timer;
	char *req;
	size_t req_len;
	char resp[RESP_MAX];
	size_t resp_len, resp_off;
	struct hconn *next, *prev;
} hconn_t;

static hconn_t *conns;
static unsigned nconns;
static struct event *sample_ev;
static uint64_t last_count[CQ_MAX_WORKERS];
static uint64_t last_move_ms[CQ_MAX_WORKERS];

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- worker liveness ---------------------------------------------- */

static void
sample(cq_master_t *m)
{
	uint64_t now = now_ms();
	for (unsigned s = 0; s < m->workers && s < CQ_MAX_WORKERS; s++) {
		uint64_t v[CQ_CTR_COUNT];
		if (cq_counters_read(&m->shm, s, v) < 0)
			continue;
		if (v[CQ_CTR_LOOP_ITERATIONS] != last_count[s] ||
			last_move_ms[s] == 0) {
			last_count[s] = v[CQ_CTR_LOOP_ITERATIONS];
			last_move_ms[s] = now;
		}
	}
}

static void
on_sample(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sample(arg);
}

/* A worker's state: "up", "down" (not running, or not ready yet) or
 * "stalled". */
static const char *
worker_state(const cq_child_t *c, uint64_t now)
{
	if (c->pid == 0 || !c->ready)
		return "down";
	if (c->slot < CQ_MAX_WORKERS &&
		now - last_move_ms[c->slot] > CQ_HEALTH_STALL_MS)
		return "stalled";
	return "up";
}

bool
cq_health_report(cq_master_t *m, char *body, size_t size)
{
	sample(m);
	uint64_t now = now_ms();
	bool all = true;
	char list[BODY_MAX];
	size_t n = 0;
	list[0] = '\0';
	for (unsigned i = 0; i < cq_process_count(); i++) {
		const cq_child_t *c = cq_process_at(i);
		if (c->kind != CQ_CHILD_WORKER)
			continue;
		const char *st = worker_state(c, now);
		all &= strcmp(st, "up") == 0;
		int k = snprintf(list + n, sizeof(list) - n,
			"%s{\"slot\":%u,\"pid\":%d,\"state\":\"%s\"}",
			n ? "," : "", c->slot, (int)c->pid, st);
		if (k > 0 && (size_t)k < sizeof(list) - n)
			n += (size_t)k;
	}
	snprintf(body, size, "{\"status\":\"%s\",\"workers\":[%s]}\n",
		all ? "ok" : "unavailable", list);
	return all;
}

/* ---- one request -------------------------------------------------- */

static void
hconn_free(hconn_t *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		conns = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	nconns--;
	if (h->ev != NULL)
		event_free(h->ev);
	if (h->timer != NULL)
		event_free(h->timer);
	close(h->fd);
	free(h->req);
	free(h);
}

static void on_write(evutil_socket_t fd, short what, void *arg);

static void
respond(hconn_t *h, int status, bool head_only, const char *body)
{
	h->resp_len = cq_http_response(h->resp, sizeof(h->resp), status,
		status == 405
			? "Allow: GET, HEAD\r\nContent-Type: text/plain\r\n"
			: status == 200 || status == 503
			? "Content-Type: application/json\r\n"
			  "Cache-Control: no-store\r\n"
			: "Content-Type: text/plain\r\n",
		body);
	if (head_only) {
		char *end = strstr(h->resp, "\r\n\r\n");
		if (end != NULL)
			h->resp_len = (size_t)(end + 4 - h->resp);
	}
	h->resp_off = 0;
	event_free(h->ev);
	h->ev = event_new(event_get_base(h->timer), h->fd,
		EV_WRITE | EV_PERSIST, on_write, h);
	if (h->ev == NULL) {
		hconn_free(h);
		return;
	}
	event_add(h->ev, NULL);
}

static void
answer(hconn_t *h, const cq_http_req_t *req)
{
	bool head = cq_http_eq(req->method, "HEAD");
	if (!head && !cq_http_eq(req->method, "GET"))
		return respond(h, 405, false, "GET or HEAD\n");
	if (!cq_http_eq(req->path, h->l->spec.path))
		return respond(h, 404, head, "not found\n");
	char body[BODY_MAX];
	bool ok = cq_health_report(cq_master_current, body, sizeof(body));
	respond(h, ok ? 200 : 503, head, body);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	hconn_t *h = arg;
	size_t max = h->l->spec.header_max;
	(void)what;
	ssize_t n = recv(fd, h->req + h->req_len, max + 1 - h->req_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_free(h);
		return;
	}
	h->req_len += (size_t)n;
	cq_http_req_t req;
	int status = 0;
	const char *why = NULL;
	int rc = cq_http_parse(h->req, h->req_len, max, &req, &status, &why);
	if (rc == CQ_AGAIN)
		return;
	if (rc < 0) {
		char body[64];
		cq_log(CQ_LOG_INFO, 0,
			"health check request on \"%s\" refused (%d): %s",
			h->l->spec.name, status, why);
		snprintf(body, sizeof(body), "%s\n", why);
		return respond(h, status, false, body);
	}
	answer(h, &req);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	hconn_t *h = arg;
	(void)what;
	while (h->resp_off < h->resp_len) {
		ssize_t n = send(fd, h->resp + h->resp_off,
			h->resp_len - h->resp_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		h->resp_off += (size_t)n;
	}
	/* Answered: half-close so the peer reads to the end. */
	shutdown(fd, SHUT_WR);
	hconn_free(h);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hconn_free(arg);
}

static void
start_conn(cq_master_t *m, cq_listener_t *l, int fd)
{
	hconn_t *h = calloc(1, sizeof(*h));
	if (h == NULL || (h->req = malloc(l->spec.header_max + 1)) == NULL) {
		free(h);
		close(fd);
		return;
	}
	h->fd = fd;
	h->l = l;
	h->ev = event_new(m->base, fd, EV_READ | EV_PERSIST, on_read, h);
	h->timer = evtimer_new(m->base, on_timeout, h);
	h->next = conns;
	if (conns != NULL)
		conns->prev = h;
	conns = h;
	nconns++;
	if (h->ev == NULL || h->timer == NULL) {
		hconn_free(h);
		return;
	}
	struct timeval tv = {
		l->spec.timeout_ms / 1000, (l->spec.timeout_ms % 1000) * 1000};
	event_add(h->ev, NULL);
	evtimer_add(h->timer, &tv);
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	cq_listener_t *l = arg;
	(void)what;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		if (nconns >= HEALTH_CONNS_MAX) {
			close(cfd); /* a flood of checkers: shed it */
			continue;
		}
		start_conn(cq_master_current, l, cfd);
	}
}

int
cq_health_listen(cq_master_t *m, cq_listener_t *l)
{
	l->ev = event_new(m->base, l->fd, EV_READ | EV_PERSIST, on_accept, l);
	if (l->ev == NULL || event_add(l->ev, NULL) < 0) {
		cq_log(CQ_LOG_ERR, 0, "health listener \"%s\": no event",
			l->spec.name);
		return -1;
	}
	if (sample_ev == NULL) {
		struct timeval tv = {0, HEALTH_SAMPLE_MS * 1000};
		sample_ev = event_new(m->base, -1, EV_PERSIST, on_sample, m);
		if (sample_ev != NULL)
			event_add(sample_ev, &tv);
	}
	return 0;
}

void
cq_health_stop(void)
{
	while (conns != NULL)
		hconn_free(conns);
	if (sample_ev != NULL) {
		event_free(sample_ev);
		sample_ev = NULL;
	}
}
