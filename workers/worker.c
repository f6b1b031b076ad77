/*
 * worker.c — see worker.h: process set-up, the loop, stop and reload.
 */
#include "config.h"
#include "workers/subtrie.h"
#include "workers/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/channel.h"
#include "core/defs.h"
#include "core/log.h"
#include "core/signals.h"
#include "shm/arena.h"
#include "shm/counters.h"
#include "shm/persist.h"
#include "shm/qsbr.h"
#include "shm/ring.h"
#include "shm/route.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/control.h"
#include "workers/deliver.h"
#include "workers/handle.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/pack.h"
#include "workers/rebalance.h"
#include "workers/reply.h"
#include "workers/rsend.h"
#include "workers/sys.h"
#include "workers/takeover.h"
#include "workers/transport.h"

#define ACCEPT_BATCH 64
#define DRAIN_BUDGET 1024u
#define TICK_MS      100u
#define KEEPALIVE_MS 250u
#define SWEEP_MS     1000u
#define SOON_US      1000u
/* Filter-index slots a loop pass moves while a resize runs (~10-40 us). */
#define TIDY_SLOTS    1024u
#define STOP_GRACE_MS 2000u
#define CONN_SLACK    1024u /* sockets beyond max_connections */

/* ---- time ---------------------------------------------------------- */

static void
clock_update(cq_worker_t *w)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w->now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->now_s = (uint64_t)ts.tv_sec;
	w->wall_ms = w->now_s * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- connections in ------------------------------------------------ */

static void
take_connection(cq_worker_t *w, unsigned li, int fd,
	const struct sockaddr *peer, socklen_t plen)
{
	if (w->stopping) {
		close(fd);
		return;
	}
	if (w->nconns >= w->cfg->limits.max_connections + CONN_SLACK) {
		/* Far past the limit: not even worth a CONNACK. */
		close(fd);
		return;
	}
	cq_conn_new(w, fd, li, peer, plen);
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	cq_worker_t *w = arg;
	unsigned li;
	(void)what;
	for (li = 0; li < w->args->nlisteners; li++)
		if (w->args->listeners[li].fd == fd)
			break;
	for (int i = 0; i < ACCEPT_BATCH && !w->stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &len,
			SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				cq_log(CQ_LOG_ERR, errno, "accept4() failed");
			return;
		}
		unsigned index = w->args->listeners[li].index;
		if (!cq_rebalance_handed(
			    w, index, cfd, (struct sockaddr *)&ss, len))
			take_connection(
				w, index, cfd, (struct sockaddr *)&ss, len);
	}
}

/* ---- stop, reload -------------------------------------------------- */

static void
stop_accepting(cq_worker_t *w)
{
	for (unsigned i = 0; i < w->args->nlisteners; i++)
		if (w->accept_ev[i] != NULL)
			event_del(w->accept_ev[i]);
}

static void
begin_stop(cq_worker_t *w, const char *why, bool now)
{
	if (!w->stopping) {
		w->stopping = true;
		w->stop_deadline_ms = w->now_ms + STOP_GRACE_MS;
		cq_log(CQ_LOG_INFO, 0, "stopping: %s", why);
		stop_accepting(w);
		/* Clients are told (0x8B on MQTT 5) and closed; what they
		 * had buffered goes out with the close. */
		cq_lsess_shutdown(w);
		cq_conn_t *next;
		for (cq_conn_t *c = w->conns; c != NULL; c = next) {
			next = c->next;
			cq_conn_close(c, CQ_CLOSE_SHUTDOWN);
		}
	}
	if (now)
		w->exit_now = true;
	event_base_loopbreak(w->base);
}

static void
reload(cq_worker_t *w)
{
	/* A server reference set or changed sends the connected MQTT 5
	 * clients there (cq_reply_redirect_all): remember the old one. */
	char *old_ref = strdup(w->cfg->mqtt.server_reference);
	/* A file that does not load: the master logged why; keep ours. */
	if (cq_config_reload_child(w->args->cmdline, &w->cfg, w->args->config) <
		0) {
		free(old_ref);
		return;
	}
	cq_transport_reload(w);
	cq_log(CQ_LOG_DEBUG, 0, "configuration reloaded");
	if (old_ref == NULL ||
		strcmp(old_ref, w->cfg->mqtt.server_reference) != 0)
		cq_reply_redirect_all(w);
	free(old_ref);
}

static void
on_chan(evutil_socket_t fd, short what, void *arg)
{
	cq_worker_t *w = arg;
	(void)what;
	for (int i = 0; i < 64; i++) {
		cq_channel_msg_t msg;
		int cfd;
		int rc = cq_channel_recv(fd, &msg, &cfd);
		if (rc == CQ_AGAIN)
			return;
		if (rc < 0) {
			if (errno != 0)
				cq_log(CQ_LOG_ERR, errno,
					"bad channel message");
			begin_stop(w, "channel to the master closed", true);
			return;
		}
		switch (msg.command) {
		case CQ_CHAN_CONN:
			if (cfd >= 0)
				take_connection(w, msg.listener, cfd,
					(struct sockaddr *)&msg.peer,
					msg.peer_len);
			cfd = -1;
			break;
		case CQ_CHAN_STOP:
			begin_stop(w, "asked by the master", false);
			break;
		case CQ_CHAN_RELOAD:
			reload(w);
			break;
		case CQ_CHAN_REOPEN:
			cq_log_reopen();
			break;
		default:
			break;
		}
		if (cfd >= 0)
			close(cfd);
	}
}

static void
on_death(evutil_socket_t fd, short what, void *arg)
{
	cq_worker_t *w = arg;
	char c;
	(void)what;
	if (read(fd, &c, 1) <= 0)
		begin_stop(w, "the master is gone", true);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	cq_worker_t *w = arg;
	struct signalfd_siginfo si;
	(void)what;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(w, "signal", false);
			break;
		case SIGUSR1:
			cq_log_reopen();
			break;
		default:
			break;
		}
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	/* Records arrived; the loop drains them.  The eventfd is read here
	 * (it is level-triggered: left readable, it would make every poll of
	 * the loop return at once), and only here: a wake-up by a socket
	 * costs no read of it. */
	(void)fd;
	(void)what;
	(void)arg;
	cq_ring_awake();
	cq_ring_wake_reset();
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* ---- set-up -------------------------------------------------------- */

static struct event *
add_event(cq_worker_t *w, int fd, short what, event_callback_fn fn)
{
	struct event *ev = event_new(w->base, fd, what, fn, w);
	if (ev != NULL)
		event_add(ev, NULL);
	return ev;
}

static int
setup_events(cq_worker_t *w)
{
	const cq_worker_args_t *a = w->args;
	w->sigfd = cq_signals_fd();
	w->base = event_base_new();
	if (w->sigfd < 0 || w->base == NULL)
		return -1;
	w->sig_ev = add_event(w, w->sigfd, EV_READ | EV_PERSIST, on_signal);
	w->chan_ev = add_event(w, a->chan, EV_READ | EV_PERSIST, on_chan);
	w->death_ev = add_event(w, a->death_fd, EV_READ | EV_PERSIST, on_death);
	if (cq_ring_wakefd() < 0)
		return -1; /* would sleep through deliveries */
	w->wake_ev = add_event(
		w, cq_ring_wakefd(), EV_READ | EV_PERSIST, on_wake);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	struct timeval tick = {0, TICK_MS * 1000};
	if (w->tick_ev != NULL)
		event_add(w->tick_ev, &tick);
	for (unsigned i = 0; i < a->nlisteners; i++)
		if (a->listeners[i].fd >= 0)
			w->accept_ev[i] = add_event(w, a->listeners[i].fd,
				EV_READ | EV_PERSIST, on_accept);
	return w->sig_ev && w->chan_ev && w->death_ev && w->tick_ev ? 0 : -1;
}

static void
purge_routes(cq_worker_t *w)
{
	/* Filters the predecessor routed here that no session holds. */
	long n = cq_route_purge_slot(w->slot, cq_subtrie_has, w->trie);
	if (n > 0)
		cq_log(CQ_LOG_INFO, 0, "dropped %ld stale route(s)", n);
}

static int
setup_runtime(cq_worker_t *w)
{
	cq_qsbr_register();
	cq_counter_set(CQ_CTR_CONNECTIONS, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Message numbers keep increasing across respawns of the slot. */
	w->seq = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	w->trie = cq_subtrie_new(cq_route_seed());
	if (w->trie != NULL)
		cq_subtrie_set_online(w->trie, cq_lsess_online);
	w->hooks = cq_hooks_new();
	cq_subtrie_result_init(&w->sres);
	cq_route_result_init(&w->rres);
	if (w->trie == NULL || w->hooks == NULL ||
		cq_lsess_table_init(&w->sessions) < 0)
		return -1;
	/* Access control: comqtt-authd when configured, else the built-in
	 * loopback rule; then the admin's blacklist and commands. */
	const cq_hook_t *access = w->cfg->auth.enabled ? &cq_hook_authd
						       : &cq_hook_loopback;
	if (cq_hooks_add(w->hooks, access) < 0 ||
		cq_hooks_add(w->hooks, &cq_hook_control) < 0 ||
		cq_hooks_add(w->hooks, &cq_hook_test_auth) < 0 ||
		cq_hooks_started(w) < 0 || cq_transport_setup(w) < 0)
		return -1;
	if (cq_lsess_rebuild(w) < 0)
		cq_log(CQ_LOG_ERR, 0,
			"some sessions of slot %u could not be restored",
			w->slot);
	/* Records left in the rings: KICKs first, then the rest. */
	cq_deliver_drain_start(w, purge_routes);
	return 0;
}

static void
teardown(cq_worker_t *w)
{
	cq_conn_t *next;
	for (cq_conn_t *c = w->conns; c != NULL; c = next) {
		next = c->next;
		cq_conn_close(c, CQ_CLOSE_SHUTDOWN);
	}
	cq_conn_reap_dead(w);
	if (w->hooks != NULL)
		cq_hooks_stopped(w);
	cq_lsess_table_free(w);
	if (w->trie != NULL)
		cq_subtrie_free(w->trie);
	cq_subtrie_result_free(&w->sres);
	cq_buf_free(&w->rbuf);
	cq_route_result_free(&w->rres);
	cq_hooks_free(w->hooks);
	cq_transport_teardown();
	cq_buf_free(&w->scratch);
	cq_buf_free(&w->scratch1);
	cq_counter_set(CQ_CTR_CONNECTIONS, 0);
	cq_counter_set(CQ_CTR_SUBSCRIPTIONS, 0);
	cq_qsbr_unregister();
	cq_arena_flush_magazines();
	struct event *evs[] = {
		w->sig_ev, w->chan_ev, w->death_ev, w->wake_ev, w->tick_ev};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(evs); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	for (unsigned i = 0; i < w->args->nlisteners; i++)
		if (w->accept_ev[i] != NULL)
			event_free(w->accept_ev[i]);
	if (w->base)
		event_base_free(w->base);
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->cfg != w->args->config) {
		cq_config_free(w->cfg);
		free(w->cfg);
	}
}

/* ---- the loop ------------------------------------------------------ */

static void
retry_blocked(cq_worker_t *w)
{
	cq_conn_t *next;
	for (cq_conn_t *c = w->conns; c != NULL && w->nblocked > 0; c = next) {
		next = c->next;
		if (c->blocked)
			cq_conn_resume_input(c);
	}
}

static void
housekeeping(cq_worker_t *w)
{
	if (w->now_ms >= w->next_keepalive_ms) {
		w->next_keepalive_ms = w->now_ms + KEEPALIVE_MS;
		cq_conn_check_timeouts(w);
	}
	if (w->now_ms >= w->next_sweep_ms) {
		w->next_sweep_ms = w->now_ms + SWEEP_MS;
		cq_lsess_sweep(w);
		cq_qsbr_reclaim();
	}
	cq_sys_tick(w);
	/* A filter-index resize ends even when nobody subscribes. */
	w->index_moving = w->trie != NULL &&
		cq_subtrie_tidy(w->trie, TIDY_SLOTS);
}

/* Work left that must not wait for the next event. */
static bool
busy(const cq_worker_t *w, unsigned drained)
{
	return drained >= DRAIN_BUDGET || w->nblocked > 0 || w->dirty != NULL;
}

/* Work that waits on other workers: poll again soon, without spinning. */
static bool
waiting(const cq_worker_t *w)
{
	/* A full ring (nblocked) drains at the pace of another worker:
	 * retrying every millisecond is enough, spinning is not needed. */
	return w->moving != NULL || w->nblocked > 0 || w->index_moving ||
		cq_handle_connect_waiting() || cq_takeover_outbox_len() > 0 ||
		cq_rsend_pending(w) || cq_pack_pending(w);
}

/* One pass over what is ready, without blocking.  (NONBLOCK alone
 * keeps looping while callbacks keep finding work.) */
static void
poll_events(cq_worker_t *w)
{
	event_base_loop(w->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
}

static void
wait_for_events(cq_worker_t *w, unsigned drained)
{
	if (busy(w, drained) || cq_ring_sleep() != 0) {
		poll_events(w);
		return;
	}
	if (waiting(w)) {
		struct timeval soon = {0, SOON_US};
		event_base_loopexit(w->base, &soon);
	}
	event_base_loop(w->base, EVLOOP_ONCE);
	cq_ring_awake();
}

static void
iteration(cq_worker_t *w)
{
	cq_qsbr_quiescent();
	/* Records the event callbacks just put in rings: wake their workers
	 * now, so that they run while this one drains and writes. */
	cq_ring_notify_pending();
	clock_update(w);
	cq_counter_add(CQ_CTR_LOOP_ITERATIONS, 1);
	w->persist_full = cq_persist_congested();
	unsigned drained = cq_deliver_drain(w, DRAIN_BUDGET);
	if (w->nblocked > 0)
		retry_blocked(w);
	if (cq_handle_connect_waiting())
		cq_handle_connect_poll(w);
	cq_takeover_poll(w);
	if (cq_rsend_pending(w))
		cq_rsend_poll(w);
	if (cq_pack_pending(w))
		cq_pack_poll(w);
	housekeeping(w);
	cq_conn_flush_dirty(w);
	cq_ring_notify_pending();
	cq_conn_reap_dead(w);
	w->iter++;
	if (w->stopping &&
		(w->now_ms >= w->stop_deadline_ms ||
			(w->conns == NULL && cq_takeover_outbox_len() == 0)))
		w->exit_now = true;
	if (!w->exit_now)
		wait_for_events(w, drained);
}

int
cq_worker_main(const cq_worker_args_t *args)
{
	cq_worker_t w = {.args = args,
		.slot = args->slot,
		.nworkers = args->nworkers,
		.cfg = args->config,
		.sigfd = -1};
	clock_update(&w);
	w.start_ms = w.now_ms;
	w.iter = 1;
	/* The slot first: the ring wake-up descriptor is the slot's. */
	cq_shm_use(args->shm);
	cq_shm_set_slot(args->slot);
	if (setup_events(&w) < 0 || setup_runtime(&w) < 0) {
		cq_log(CQ_LOG_CRIT, errno, "worker %u: set-up failed",
			args->slot);
		teardown(&w);
		return 1;
	}
	cq_channel_msg_t ready;
	cq_channel_msg_init(&ready, CQ_CHAN_READY);
	ready.slot = (uint16_t)args->slot;
	cq_channel_send(args->chan, &ready, -1);

	while (!w.exit_now)
		iteration(&w);
	teardown(&w);
	return 0;
}
