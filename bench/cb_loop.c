/*
 * cb_loop.c — see cb_loop.h.
 *
 * Timeouts of the epoll wait, in order of precedence: 0 when a connection
 * still has unread input or a publisher stopped only at its batch limit;
 * the next open-loop due time (but at least --tick-us ahead, so a high
 * rate is sent in batches rather than one wake-up per message); 1 ms while
 * a publisher waits for a subscriber on another thread (a lost wake-up
 * costs at most that); otherwise the next housekeeping pass.
 */
#include "config.h"
#include "bench/cb_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "bench/cb_client.h"
#include "bench/cb_conn.h"

#define MAX_EVENTS      512
#define HOUSEKEEPING_NS 100000000u
#define IDLE_WAIT_NS    100000000u
#define REMOTE_WAIT_NS  1000000u
#define RAW_CAP         (256 * 1024)
/* A pass that read less than this pauses for --coalesce-us. */
#define COALESCE_BYTES (64 * 1024)
#define PAUSE_MIN_NS   50000u
#define FAST_BROKER_NS 300u

static char wake_token;

int
cb_loop_init(cb_thread_t *th, cb_run_t *run, int index)
{
	th->run = run;
	th->index = index;
	th->epfd = epoll_create1(EPOLL_CLOEXEC);
	th->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (th->epfd < 0 || th->evfd < 0)
		return -1;
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET, .data.ptr = &wake_token};
	if (epoll_ctl(th->epfd, EPOLL_CTL_ADD, th->evfd, &ev) < 0)
		return -1;
	/* Room for a maximal partial packet in front of a full read. */
	th->scratch_cap = CB_MQTT_MAX_PACKET + 512 * 1024;
	th->scratch = malloc(th->scratch_cap);
	th->raw_cap = RAW_CAP;
	th->raw = malloc(th->raw_cap);
	if (th->scratch == NULL || th->raw == NULL ||
		cb_hist_init(&th->lat) < 0 || cb_hist_init(&th->conn_lat) < 0)
		return -1;
	th->max_starting = (run->o.concurrency + (uint32_t)run->nthreads - 1) /
		(uint32_t)run->nthreads;
	return 0;
}

void
cb_loop_free(cb_thread_t *th)
{
	if (th->epfd >= 0)
		close(th->epfd);
	if (th->evfd >= 0)
		close(th->evfd);
	free(th->scratch);
	free(th->raw);
	free(th->conns);
	free(th->pubs);
	cb_hist_free(&th->lat);
	cb_hist_free(&th->conn_lat);
}

void
cb_loop_wake(cb_thread_t *th)
{
	uint64_t one = 1;
	ssize_t n = write(th->evfd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is saturated, a wake-up is pending */
}

/*
 * Let input accumulate: without the pause a fast loop wakes for every
 * segment the broker writes (one message each for Mosquitto) and spends a
 * recv(), an epoll_wait() and a context switch per message.
 */
static void
pause_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};
	nanosleep(&ts, NULL);
}

/*
 * How long to pause so that input batches: --coalesce-us at most, and
 * only during the message phases.  While this thread's publishers are
 * active the pause is also limited to half the time a very fast broker
 * (FAST_BROKER_NS per message) would need for their outstanding messages,
 * so a small inflight window (QoS 1 with 20) never leaves the broker idle.
 * The bound is deliberately not the observed rate: pausing lowers the
 * rate, which would justify longer pauses.
 */
static uint64_t
pause_for(cb_thread_t *th, uint64_t max_ns)
{
	if (th->phase != CB_PH_RUN && th->phase != CB_PH_DRAIN)
		return 0;
	int64_t sum = 0;
	int active = 0;
	for (uint32_t i = 0; i < th->npubs; i++) {
		int64_t o = cb_client_outstanding(th->pubs[i]);
		if (o >= 0) {
			sum += o;
			active = 1;
		}
	}
	if (!active)
		return max_ns;
	uint64_t ns = (uint64_t)sum * FAST_BROKER_NS / 2;
	return ns < PAUSE_MIN_NS ? 0 : CQ_MIN(ns, max_ns);
}

static void
publish_stats(cb_thread_t *th)
{
	cb_shared_t *s = &th->shared;
	const cb_local_t *l = &th->st;
	memory_order r = memory_order_relaxed;
	atomic_store_explicit(&s->connected, l->connected, r);
	atomic_store_explicit(&s->failed, l->failed, r);
	atomic_store_explicit(&s->closed, l->closed, r);
	atomic_store_explicit(&s->subscribed, l->subscribed, r);
	atomic_store_explicit(&s->sent, l->sent, r);
	atomic_store_explicit(&s->completed, l->completed, r);
	atomic_store_explicit(&s->delivered, l->delivered, r);
	atomic_store_explicit(&s->pinged, l->pinged, r);
	atomic_store_explicit(&s->cleaned, l->cleaned, r);
	atomic_store_explicit(&s->last_send, l->last_send, r);
	atomic_store_explicit(&s->last_delivery, l->last_delivery, r);
	atomic_store_explicit(&s->live, l->live, r);
	atomic_store_explicit(&s->starting, th->starting, r);
	/* Release: the controller that sees the phase acknowledged also sees
	 * the counters of that pass. */
	atomic_store_explicit(
		&s->phase_seen, (uint64_t)th->phase, memory_order_release);
}

/* Start connections up to the handshake concurrency limit. */
static void
start_more(cb_thread_t *th)
{
	while (th->next_start < th->nconns && th->starting < th->max_starting) {
		cb_conn_t *c = th->conns[th->next_start++];
		if (c->role & CB_ROLE_CYCLE)
			continue;
		cb_conn_start(c);
	}
}

/* connrate: restart every cycling connection that has finished. */
static void
restart_cycles(cb_thread_t *th)
{
	for (uint32_t i = 0; i < th->nconns; i++) {
		cb_conn_t *c = th->conns[i];
		if ((c->role & CB_ROLE_CYCLE) &&
			(c->state == CB_CS_INIT || c->state == CB_CS_CLOSED ||
				c->state == CB_CS_FAILED))
			cb_conn_start(c);
	}
}

static void
enter_phase(cb_thread_t *th, int phase)
{
	th->phase = phase;
	cb_run_t *run = th->run;
	for (uint32_t i = 0; i < th->nconns; i++) {
		cb_conn_t *c = th->conns[i];
		switch (phase) {
		case CB_PH_SUBSCRIBE:
			cb_client_subscribe(c);
			break;
		case CB_PH_RUN:
			if (c->pub && run->o.rate > 0) {
				uint64_t t0 = atomic_load(&run->run_start);
				c->pub->t0 = (double)t0 +
					c->pub->interval * c->pub->stream->id /
						run->nstreams;
			}
			break;
		case CB_PH_DRAIN:
			if (c->pub && run->o.scenario == CB_RETAINED)
				cb_client_barrier(c);
			break;
		case CB_PH_DISCONNECT:
			cb_conn_disconnect(c);
			break;
		case CB_PH_STOP:
			cb_conn_close(c);
			break;
		}
	}
}

static uint64_t
wait_ns(cb_thread_t *th, int spin)
{
	if (spin || th->ready != NULL)
		return 0;
	uint64_t until = th->next_housekeeping;
	if (th->phase == CB_PH_RUN && th->run->o.rate > 0) {
		uint64_t tick = (uint64_t)(th->run->o.tick_us * 1000);
		for (uint32_t i = 0; i < th->npubs; i++) {
			uint64_t due = cb_client_next_due(th->pubs[i]);
			if (due < until)
				until = due;
		}
		if (until < th->now + tick)
			until = th->now + tick;
	}
	if (th->blocked_remote > 0 && until > th->now + REMOTE_WAIT_NS)
		until = th->now + REMOTE_WAIT_NS;
	return until > th->now ? until - th->now : 0;
}

static void
mark_ready(cb_thread_t *th, cb_conn_t *c)
{
	if (c->on_ready_list)
		return;
	c->on_ready_list = 1;
	c->next_ready = th->ready;
	th->ready = c;
}

static void
dispatch(cb_thread_t *th, struct epoll_event *ev)
{
	if (ev->data.ptr == &wake_token) {
		uint64_t v;
		ssize_t n = read(th->evfd, &v, sizeof(v));
		(void)n;
		return;
	}
	cb_conn_t *c = ev->data.ptr;
	if (c->fd < 0)
		return;
	if (c->state == CB_CS_TCP || c->state == CB_CS_TLS) {
		cb_conn_handshake(c, ev->events);
		return;
	}
	if (ev->events & EPOLLOUT) {
		c->can_write = 1;
		if (cb_conn_pending(c) > 0)
			cb_conn_dirty(c);
	}
	if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		c->rd_ready = 1;
		if (c->ssl && cb_conn_pending(c) > 0) {
			/* TLS may have waited for input to write. */
			c->can_write = 1;
			cb_conn_dirty(c);
		}
		mark_ready(th, c);
	}
}

static void
wait_events(cb_thread_t *th, uint64_t ns)
{
	struct epoll_event evs[MAX_EVENTS];
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u)};
	int n = epoll_pwait2(th->epfd, evs, MAX_EVENTS, &ts, NULL);
	th->now = cb_now();
	for (int i = 0; i < n; i++)
		dispatch(th, &evs[i]);
}

/* Read every connection with input once; keep those with more. */
static void
read_ready(cb_thread_t *th)
{
	cb_conn_t *list = th->ready;
	th->ready = NULL;
	while (list != NULL) {
		cb_conn_t *c = list;
		list = c->next_ready;
		c->on_ready_list = 0;
		if (!c->rd_ready)
			continue;
		th->now = cb_now();
		cb_conn_read(c);
		if (c->rd_ready)
			mark_ready(th, c);
	}
}

static void
flush_dirty(cb_thread_t *th)
{
	cb_conn_t *list = th->dirty;
	th->dirty = NULL;
	while (list != NULL) {
		cb_conn_t *c = list;
		list = c->next_dirty;
		c->on_dirty_list = 0;
		cb_conn_flush(c);
	}
}

/* Handshake deadlines, DISCONNECT deadlines, keep-alive. */
static void
housekeeping(cb_thread_t *th)
{
	static const char *const what[] = {"", "TCP connect", "TLS handshake",
		"WebSocket upgrade", "CONNACK"};
	th->next_housekeeping = th->now + HOUSEKEEPING_NS;
	int keepalive = th->now >= th->next_keepalive;
	if (keepalive)
		th->next_keepalive = th->now + 1000000000u;
	for (uint32_t i = 0; i < th->nconns; i++) {
		cb_conn_t *c = th->conns[i];
		if (c->state >= CB_CS_TCP && c->state <= CB_CS_MQTT &&
			th->now > c->deadline)
			cb_conn_fail(
				c, "timed out waiting for %s", what[c->state]);
		else if (c->state == CB_CS_CLOSING && th->now > c->deadline)
			cb_conn_close(c);
		else if (keepalive)
			cb_client_keepalive(c);
	}
}

/* What the current phase asks of this pass; 1 to come back at once. */
static int
phase_work(cb_thread_t *th)
{
	int spin = 0;
	switch (th->phase) {
	case CB_PH_CONNECT:
		start_more(th);
		break;
	case CB_PH_RUN:
		if (th->run->o.scenario == CB_CONNRATE)
			restart_cycles(th);
		for (uint32_t i = 0; i < th->npubs; i++)
			spin |= cb_client_publish(th->pubs[i]);
		break;
	case CB_PH_CLEAN:
		for (uint32_t i = 0; i < th->npubs; i++)
			spin |= cb_client_clean(th->pubs[i]);
		break;
	}
	return spin;
}

void *
cb_loop_main(void *arg)
{
	cb_thread_t *th = arg;
	cb_run_t *run = th->run;
	int spin = 0;
	uint64_t coalesce_ns = (uint64_t)(run->o.coalesce_us * 1000);
	/* Pauses and open-loop ticks are tens of microseconds: the default
	 * 50 us timer slack would double them. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	th->now = cb_now();
	th->next_housekeeping = th->now + HOUSEKEEPING_NS;
	th->next_keepalive = th->now + 1000000000u;
	for (;;) {
		int phase = atomic_load_explicit(
			&run->phase, memory_order_acquire);
		if (phase != th->phase) {
			th->now = cb_now();
			enter_phase(th, phase);
			flush_dirty(th);
			publish_stats(th);
			spin = 1; /* act on the phase before sleeping */
			if (phase == CB_PH_STOP)
				break;
		}
		uint64_t before = th->st.bytes_in;
		wait_events(th, wait_ns(th, spin));
		read_ready(th);
		uint64_t got = th->st.bytes_in - before;
		if (th->now >= th->next_housekeeping)
			housekeeping(th);
		th->now = cb_now();
		spin = phase_work(th);
		flush_dirty(th);
		publish_stats(th);
		if (coalesce_ns && !spin && got > 0 && got < COALESCE_BYTES) {
			uint64_t ns = pause_for(th, coalesce_ns);
			if (ns > 0)
				pause_ns(ns);
		}
	}
	return NULL;
}
