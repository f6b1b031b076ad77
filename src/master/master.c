/*
 * master.c — see master.h.
 *
 * Stop sequence: on SIGTERM/SIGINT the master closes its handoff
 * listeners, sends CQ_CHAN_STOP to every worker and, once no worker runs,
 * SIGTERM to the helpers (authd answers the workers until they are gone;
 * comqtt-storage drains the last changes they made), and waits up to
 * stop_timeout_ms in all for them to exit (workers disconnect their
 * clients with 0x8B on MQTT 5 and flush); stragglers get SIGKILL.  A
 * second SIGTERM skips the wait.
 *
 * Start sequence: the helpers first, then m->helpers_ready (the master
 * waits there for comqtt-storage to load the stored state), then the
 * workers.
 */
#include "config.h"
#include "master/master.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/channel.h"
#include "core/defs.h"
#include "core/log.h"
#include "master/health.h"
#include "shm/qsbr.h"

#define ACCEPT_BATCH 64

cq_master_t *cq_master_current;

static int stopping;
static struct event *stop_timer;
static unsigned handoff_rr;

int
cq_master_listen(cq_master_t *m)
{
	for (unsigned i = 0; i < m->nlisteners; i++) {
		cq_listener_t *l = &m->listeners[i];
		const char *error;
		l->spec.slot_cpu = m->pin ? m->slot_cpu : NULL;
		if (cq_listen_open(l, m->workers, &error) < 0) {
			cq_log(CQ_LOG_CRIT, 0, "%s", error);
			for (unsigned j = 0; j < i; j++)
				cq_listen_close(&m->listeners[j]);
			return -1;
		}
		char text[160];
		cq_log(CQ_LOG_NOTICE, 0, "listener \"%s\" on %s (%s)",
			l->spec.name,
			cq_listen_addr_text((struct sockaddr *)&l->addr,
				l->addrlen, text, sizeof(text)),
			l->spec.health ? "health check, the master answers"
				: l->spec.handoff
				? "master accepts and hands off"
				: "SO_REUSEPORT per worker");
		/* Handoff sockets are the master's alone; reuseport sockets are
		 * inherited by workers, each keeping its own slot's. */
		cq_process_private_fd(l->fd);
	}
	return 0;
}

/* The worker in 'slot', or NULL. */
static cq_child_t *
worker_at(unsigned slot)
{
	for (unsigned i = 0; i < cq_process_count(); i++) {
		cq_child_t *c = cq_process_at(i);
		if (c->kind == CQ_CHILD_WORKER && c->slot == slot)
			return c;
	}
	return NULL;
}

/*
 * Children other than workers (comqtt-authd and the like) run their own
 * signal handling, as they do when started alone: they get the signal the
 * command stands for.
 */
static void
signal_child(cq_child_t *c, cq_channel_cmd_t cmd)
{
	int sig = cmd == CQ_CHAN_STOP   ? SIGTERM
		: cmd == CQ_CHAN_RELOAD ? SIGHUP
		: cmd == CQ_CHAN_REOPEN ? SIGUSR1
					: 0;
	if (sig != 0)
		kill(c->pid, sig);
}

/* Send cmd to the running children: workers (helpers false) or helpers
 * (true), or both (send_all). */
static void
send_to(cq_master_t *m, cq_channel_cmd_t cmd, bool workers, bool helpers)
{
	for (unsigned i = 0; i < cq_process_count(); i++) {
		cq_child_t *c = cq_process_at(i);
		bool worker = c->kind == CQ_CHILD_WORKER;
		if (c->pid == 0 || (worker ? !workers : !helpers))
			continue;
		if (c->kind != CQ_CHILD_WORKER) {
			signal_child(c, cmd);
			continue;
		}
		if (c->chan < 0)
			continue;
		cq_channel_msg_t msg;
		cq_channel_msg_init(&msg, cmd);
		msg.slot = (uint16_t)c->slot;
		if (cq_channel_send(c->chan, &msg, -1) != 0) {
			/* A full or broken channel must not lose a stop. */
			if (cmd == CQ_CHAN_STOP)
				kill(c->pid, SIGTERM);
			else
				cq_log(CQ_LOG_WARN, errno,
					"sendmsg() to %s failed", c->name);
		}
	}
}

static void
send_all(cq_master_t *m, cq_channel_cmd_t cmd)
{
	send_to(m, cmd, true, true);
}

static unsigned
workers_running(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cq_process_count(); i++) {
		cq_child_t *c = cq_process_at(i);
		n += c->kind == CQ_CHILD_WORKER && c->pid != 0;
	}
	return n;
}

/* While stopping: the helpers go once the last worker is gone. */
static void
stop_helpers_when_idle(cq_master_t *m)
{
	static int told;
	if (!stopping || told || workers_running() > 0)
		return;
	told = 1;
	send_to(m, CQ_CHAN_STOP, false, true);
}

/* The worker to hand a connection from listener 'l' to, or NULL. */
static cq_child_t *
pick_worker(cq_master_t *m, const cq_listener_t *l)
{
	cq_child_t *best = NULL;
	unsigned best_load = ~0u;
	for (unsigned n = 0; n < m->workers; n++) {
		unsigned slot = (handoff_rr + n) % m->workers;
		cq_child_t *c = worker_at(slot);
		if (c == NULL || c->pid == 0 || c->stopping)
			continue;
		if (l->spec.pinned_slot >= 0 &&
			(int)slot != l->spec.pinned_slot)
			continue;
		unsigned load = m->worker_load ? m->worker_load(m, slot) : n;
		if (load < best_load) {
			best = c;
			best_load = load;
		}
	}
	handoff_rr++;
	return best;
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	cq_master_t *m = cq_master_current;
	cq_listener_t *l = arg;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		cq_channel_msg_t msg;
		cq_channel_msg_init(&msg, CQ_CHAN_CONN);
		socklen_t plen = sizeof(msg.peer);
		int cfd = accept4(fd, (struct sockaddr *)&msg.peer, &plen,
			SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
				errno != EINTR && errno != ECONNABORTED)
				cq_log(CQ_LOG_ERR, errno,
					"accept4() on listener \"%s\" failed",
					l->spec.name);
			return;
		}
		msg.peer_len = plen;
		msg.listener = (uint16_t)(l - m->listeners);
		cq_child_t *w = pick_worker(m, l);
		if (w != NULL)
			msg.slot = (uint16_t)w->slot;
		if (w == NULL || cq_channel_send(w->chan, &msg, cfd) != 0) {
			char text[160];
			cq_log(CQ_LOG_WARN, w ? errno : 0,
				"connection from %s on \"%s\" closed: no "
				"worker "
				"could take it",
				cq_listen_addr_text(
					(struct sockaddr *)&msg.peer, plen,
					text, sizeof(text)),
				l->spec.name);
		}
		close(cfd);
	}
}

/* A worker handed back a connection (rebalancing): pass it on. */
static void
rebalance(cq_master_t *m, cq_child_t *from, cq_channel_msg_t *msg, int fd)
{
	if (msg->listener >= m->nlisteners) {
		close(fd);
		return;
	}
	cq_child_t *to = NULL;
	if (msg->slot < m->workers && msg->slot != from->slot)
		to = worker_at(msg->slot);
	if (to == NULL || to->pid == 0)
		to = pick_worker(m, &m->listeners[msg->listener]);
	msg->command = CQ_CHAN_CONN;
	if (to == NULL || cq_channel_send(to->chan, msg, fd) != 0)
		cq_log(CQ_LOG_WARN, errno,
			"rebalanced connection from %s dropped", from->name);
	close(fd);
}

static void
on_child_chan(evutil_socket_t fd, short what, void *arg)
{
	cq_child_t *c = arg;
	for (int i = 0; i < 16; i++) {
		cq_channel_msg_t msg;
		int pfd;
		int rc = cq_channel_recv(fd, &msg, &pfd);
		if (rc == CQ_AGAIN)
			return;
		if (rc < 0) {
			if (errno != 0)
				cq_log(CQ_LOG_ERR, errno,
					"bad message on the channel of %s",
					c->name);
			/* EOF: the child is exiting; SIGCHLD does the rest. */
			event_del(c->chan_ev);
			return;
		}
		if (msg.command == CQ_CHAN_READY) {
			c->ready = 1;
			cq_log(CQ_LOG_INFO, 0, "%s (pid %d) is serving",
				c->name, (int)c->pid);
		} else if (msg.command == CQ_CHAN_REBALANCE && pfd >= 0)
			rebalance(cq_master_current, c, &msg, pfd);
		else if (pfd >= 0)
			close(pfd);
	}
}

static int
start_child(cq_master_t *m, cq_child_t *c)
{
	if (cq_process_spawn(c) < 0)
		return -1;
	cq_process_private_fd(c->chan);
	if (c->chan_ev != NULL)
		event_free(c->chan_ev);
	c->chan_ev = event_new(
		m->base, c->chan, EV_READ | EV_PERSIST, on_child_chan, c);
	event_add(c->chan_ev, NULL);
	cq_log(CQ_LOG_NOTICE, 0, "started %s (pid %d)", c->name, (int)c->pid);
	return 0;
}

static void
on_respawn(evutil_socket_t fd, short what, void *arg)
{
	cq_child_t *c = arg;
	if (stopping || c->pid != 0)
		return;
	if (start_child(cq_master_current, c) < 0) {
		struct timeval tv = {1, 0};
		evtimer_add(c->respawn_ev, &tv);
	}
}

/* After a child is gone: forget its channel, repair shm, respawn. */
static void
child_died(cq_master_t *m, cq_child_t *c, int status)
{
	char st[96];
	int abnormal = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cq_log(abnormal && !stopping ? CQ_LOG_ERR : CQ_LOG_NOTICE, 0,
		"%s (pid %d) %s", c->name, (int)c->pid,
		cq_process_status_text(status, st, sizeof(st)));
	c->pid = 0;
	c->ready = 0;
	if (c->chan_ev != NULL)
		event_del(c->chan_ev);
	if (c->chan >= 0) {
		cq_process_private_fd_forget(c->chan);
		close(c->chan);
		c->chan = -1;
	}
	if (c->kind == CQ_CHILD_WORKER && m->shm.base != NULL) {
		cq_shm_reap(&m->shm, c->slot);
		cq_shm_report_t rep = {0};
		unsigned errors = cq_shm_check(&m->shm, &rep);
		cq_log(errors ? CQ_LOG_CRIT : CQ_LOG_INFO, 0,
			"shared memory after %s: %u error(s), %u repaired, "
			"%u leaked object(s)",
			c->name, errors, rep.repaired, rep.leaked_objects);
	}
	if (c->kind == CQ_CHILD_ADMIN && m->shm.base != NULL)
		cq_qsbr_reader_reap(CQ_QSBR_READER_ADMIN);
	if (stopping || !c->respawn)
		return;
	unsigned backoff = cq_process_backoff_ms(c);
	unsigned ms = backoff + m->respawn_delay_ms;
	if (c->respawn_ev == NULL)
		c->respawn_ev = evtimer_new(m->base, on_respawn, c);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	if (backoff > 0)
		cq_log(CQ_LOG_WARN, 0, "%s keeps dying: respawning in %u ms",
			c->name, ms);
	evtimer_add(c->respawn_ev, &tv);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	cq_master_t *m = arg;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		cq_child_t *c = cq_process_by_pid(pid);
		if (c != NULL)
			child_died(m, c, status);
	}
	stop_helpers_when_idle(m);
	if (stopping && cq_process_running() == 0)
		event_base_loopbreak(m->base);
}

static void
on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	cq_master_t *m = arg;
	for (unsigned i = 0; i < cq_process_count(); i++) {
		cq_child_t *c = cq_process_at(i);
		if (c->pid != 0) {
			cq_log(CQ_LOG_WARN, 0,
				"%s (pid %d) did not stop in time: SIGKILL",
				c->name, (int)c->pid);
			kill(c->pid, SIGKILL);
		}
	}
	(void)m;
}

static void
begin_stop(cq_master_t *m, int sig)
{
	if (stopping) {
		cq_log(CQ_LOG_NOTICE, 0, "signal %d again: stopping now", sig);
		on_stop_timeout(-1, 0, m);
		return;
	}
	stopping = 1;
	cq_log(CQ_LOG_NOTICE, 0, "signal %d: stopping", sig);
	for (unsigned i = 0; i < m->nlisteners; i++) {
		cq_listener_t *l = &m->listeners[i];
		if (l->ev != NULL)
			event_del(l->ev);
	}
	for (unsigned i = 0; i < cq_process_count(); i++)
		cq_process_at(i)->stopping = 1;
	send_to(m, CQ_CHAN_STOP, true, false);
	stop_helpers_when_idle(m);
	if (cq_process_running() == 0) {
		event_base_loopbreak(m->base);
		return;
	}
	struct timeval tv = {
		m->stop_timeout_ms / 1000, (m->stop_timeout_ms % 1000) * 1000};
	stop_timer = evtimer_new(m->base, on_stop_timeout, m);
	evtimer_add(stop_timer, &tv);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	cq_master_t *m = arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		begin_stop(m, (int)sig);
		break;
	case SIGHUP:
		cq_log(CQ_LOG_NOTICE, 0, "SIGHUP: reloading the configuration");
		if (m->reload == NULL || m->reload(m) == 0)
			send_all(m, CQ_CHAN_RELOAD);
		break;
	case SIGUSR1:
		cq_log_reopen();
		cq_log(CQ_LOG_NOTICE, 0, "SIGUSR1: log files reopened");
		send_all(m, CQ_CHAN_REOPEN);
		break;
	}
}

static void
add_workers(cq_master_t *m)
{
	for (unsigned i = 0; i < m->workers; i++) {
		char name[32];
		snprintf(name, sizeof(name), "worker %u", i);
		cq_process_add(CQ_CHILD_WORKER, i, name, m->worker_main,
			m->worker_arg);
	}
}

/* Listeners, the death pipe, the children: 0, or -1 (logged). */
static int
start_all(cq_master_t *m)
{
	if (pipe2(m->death_pipe, O_CLOEXEC) < 0) {
		cq_log(CQ_LOG_CRIT, errno, "pipe2() failed");
		return -1;
	}
	cq_process_private_fd(m->death_pipe[1]);
	for (unsigned i = 0; i < m->nlisteners; i++) {
		cq_listener_t *l = &m->listeners[i];
		if (l->fd < 0)
			continue;
		if (l->spec.health) {
			if (cq_health_listen(m, l) < 0)
				return -1;
			continue;
		}
		l->ev = event_new(
			m->base, l->fd, EV_READ | EV_PERSIST, on_accept, l);
		event_add(l->ev, NULL);
	}
	add_workers(m);
	if (m->add_children != NULL && m->add_children(m) < 0)
		return -1;
	/* Helpers (authd, storage) first: workers ask them from their first
	 * client on, and start on the state storage loaded. */
	for (int workers = 0; workers <= 1; workers++) {
		for (unsigned i = 0; i < cq_process_count(); i++) {
			cq_child_t *c = cq_process_at(i);
			if ((c->kind == CQ_CHILD_WORKER) == workers &&
				start_child(m, c) < 0)
				return -1;
		}
		if (!workers && m->helpers_ready != NULL &&
			m->helpers_ready(m) < 0)
			return -1;
	}
	return 0;
}

int
cq_master_run(cq_master_t *m)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};
	struct event *sigev[CQ_ARRAY_SIZE(sigs)];

	cq_master_current = m;
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(sigs); i++) {
		sigev[i] = evsignal_new(m->base, sigs[i],
			sigs[i] == SIGCHLD ? on_sigchld : on_signal, m);
		event_add(sigev[i], NULL);
	}
	int rc = start_all(m) < 0 ? 1 : 0;
	if (rc == 0)
		event_base_dispatch(m->base);

	for (size_t i = 0; i < CQ_ARRAY_SIZE(sigs); i++)
		event_free(sigev[i]);
	for (unsigned i = 0; i < cq_process_count(); i++) {
		cq_child_t *c = cq_process_at(i);
		if (c->chan_ev != NULL)
			event_free(c->chan_ev);
		if (c->respawn_ev != NULL)
			event_free(c->respawn_ev);
		c->chan_ev = c->respawn_ev = NULL;
	}
	cq_health_stop();
	for (unsigned i = 0; i < m->nlisteners; i++) {
		if (m->listeners[i].ev != NULL)
			event_free(m->listeners[i].ev);
		cq_listen_close(&m->listeners[i]);
	}
	if (stop_timer != NULL)
		event_free(stop_timer);
	if (rc == 0)
		cq_log(CQ_LOG_NOTICE, 0, "stopped");
	return rc;
}
