/*
 * worker.c — see worker.h.
 */
#include "config.h"
#include "workers/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/channel.h"
#include "core/defs.h"
#include "core/log.h"

#define ACCEPT_BATCH 64

typedef struct worker {
	const cq_worker_args_t *args;
	struct event_base *base;
	int sigfd;
	int stopping;
	struct event *chan_ev;
	struct event *death_ev;
	struct event *sig_ev;
	struct event *accept_ev[CQ_WORKER_MAX_LISTENERS];
} worker_t;

/*
 * A new connection on listener 'li'.  The MQTT runtime has not landed: the
 * connection is logged and closed.
 */
static void
take_connection(worker_t *w, unsigned li, int fd)
{
	cq_log(CQ_LOG_WARN, 0,
		"connection on listener \"%s\" closed: the MQTT runtime is not "
		"built yet",
		li < w->args->nlisteners ? w->args->listeners[li].name : "?");
	close(fd);
}

static void
begin_stop(worker_t *w, const char *why)
{
	if (w->stopping)
		return;
	w->stopping = 1;
	cq_log(CQ_LOG_INFO, 0, "stopping: %s", why);
	for (unsigned i = 0; i < w->args->nlisteners; i++)
		if (w->accept_ev[i] != NULL)
			event_del(w->accept_ev[i]);
	event_base_loopexit(w->base, NULL);
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	worker_t *w = arg;
	unsigned li;
	for (li = 0; li < w->args->nlisteners; li++)
		if (w->args->listeners[li].fd == fd)
			break;
	for (int i = 0; i < ACCEPT_BATCH && !w->stopping; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				cq_log(CQ_LOG_ERR, errno, "accept4() failed");
			return;
		}
		take_connection(w, li, cfd);
	}
}

static void
on_chan(evutil_socket_t fd, short what, void *arg)
{
	worker_t *w = arg;
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
			begin_stop(w, "channel to the master closed");
			return;
		}
		switch (msg.command) {
		case CQ_CHAN_CONN:
			if (cfd >= 0)
				take_connection(w, msg.listener, cfd);
			cfd = -1;
			break;
		case CQ_CHAN_STOP:
			begin_stop(w, "asked by the master");
			break;
		case CQ_CHAN_RELOAD:
			cq_log(CQ_LOG_INFO, 0, "reloading the configuration");
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
	worker_t *w = arg;
	char c;
	if (read(fd, &c, 1) <= 0)
		begin_stop(w, "the master is gone");
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	worker_t *w = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(w, "signal");
			break;
		case SIGUSR1:
			cq_log_reopen();
			break;
		default:
			break;
		}
	}
}

static int
setup(worker_t *w)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	w->base = event_base_new();
	if (w->sigfd < 0 || w->base == NULL) {
		cq_log(CQ_LOG_CRIT, errno, "worker set-up failed");
		return -1;
	}
	const cq_worker_args_t *a = w->args;
	w->sig_ev = event_new(
		w->base, w->sigfd, EV_READ | EV_PERSIST, on_signal, w);
	w->chan_ev = event_new(
		w->base, a->chan, EV_READ | EV_PERSIST, on_chan, w);
	w->death_ev = event_new(
		w->base, a->death_fd, EV_READ | EV_PERSIST, on_death, w);
	event_add(w->sig_ev, NULL);
	event_add(w->chan_ev, NULL);
	event_add(w->death_ev, NULL);
	for (unsigned i = 0; i < a->nlisteners; i++) {
		if (a->listeners[i].fd < 0)
			continue;
		w->accept_ev[i] = event_new(w->base, a->listeners[i].fd,
			EV_READ | EV_PERSIST, on_accept, w);
		event_add(w->accept_ev[i], NULL);
	}
	return 0;
}

static void
teardown(worker_t *w)
{
	for (unsigned i = 0; i < w->args->nlisteners; i++)
		if (w->accept_ev[i] != NULL)
			event_free(w->accept_ev[i]);
	if (w->sig_ev)
		event_free(w->sig_ev);
	if (w->chan_ev)
		event_free(w->chan_ev);
	if (w->death_ev)
		event_free(w->death_ev);
	if (w->base)
		event_base_free(w->base);
	if (w->sigfd >= 0)
		close(w->sigfd);
}

int
cq_worker_main(const cq_worker_args_t *args)
{
	worker_t w = {.args = args, .sigfd = -1};
	if (setup(&w) < 0) {
		teardown(&w);
		return 1;
	}
	cq_channel_msg_t ready;
	cq_channel_msg_init(&ready, CQ_CHAN_READY);
	ready.slot = (uint16_t)args->slot;
	cq_channel_send(args->chan, &ready, -1);

	event_base_dispatch(w.base);
	teardown(&w);
	return 0;
}
