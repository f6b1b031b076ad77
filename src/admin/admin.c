/*
 * admin.c — comqtt-admin's process: set-up, the loop, stop, reload
 * (admin.h).
 *
 * The master drives its non-worker children with signals, as when they
 * run alone: SIGTERM stops, SIGHUP reloads, SIGUSR1 reopens the log.  The
 * channel only carries our READY up; its end closing stops us.
 *
 * Stop: on SIGTERM the HTTP listener closes, calls still waiting for
 * workers are answered 503, and the loop runs STOP_GRACE_MS more so that
 * answers being written go out (they are small, and the answer to POST
 * /stop was written before the master was signalled).  A closed death
 * pipe (the master is gone) stops at once.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/channel.h"
#include "core/defs.h"
#include "core/log.h"
#include "core/signals.h"
#include "shm/ctl.h"
#include "shm/qsbr.h"

#define STOP_GRACE_MS 250u
#define TICK_MS       1000u

static void
begin_stop(cq_admin_t *a, const char *why, bool now)
{
	if (!a->stopping) {
		a->stopping = true;
		cq_log(CQ_LOG_INFO, 0, "stopping: %s", why);
		cq_acall_abort_all(a);
		cq_http_close_listener(a);
		struct timeval tv = {
			STOP_GRACE_MS / 1000, (STOP_GRACE_MS % 1000) * 1000};
		event_base_loopexit(a->base, &tv);
	}
	if (now)
		event_base_loopbreak(a->base);
}

static void
reload(cq_admin_t *a)
{
	/* A file that does not load: the master logged why; keep ours. */
	if (cq_config_reload_child(a->args->cmdline, &a->cfg, a->args->config) <
		0)
		return;
	if (cq_admin_token_load(a) < 0)
		cq_log(CQ_LOG_ERR, 0, "reload: keeping the previous token");
	cq_http_apply(a);
	cq_http_tls_reload(a);
	cq_log(CQ_LOG_DEBUG, 0, "configuration reloaded");
}

static void
on_chan(evutil_socket_t fd, short what, void *arg)
{
	cq_admin_t *a = arg;
	(void)what;
	for (int i = 0; i < 16; i++) {
		cq_channel_msg_t msg;
		int cfd;
		int rc = cq_channel_recv(fd, &msg, &cfd);
		if (rc == CQ_AGAIN)
			return;
		if (rc < 0) {
			begin_stop(a, "channel to the master closed", true);
			return;
		}
		if (cfd >= 0)
			close(cfd);
	}
}

static void
on_death(evutil_socket_t fd, short what, void *arg)
{
	char c;
	(void)what;
	if (read(fd, &c, 1) <= 0)
		begin_stop(arg, "the master is gone", true);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo si;
	(void)what;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_stop(arg, "signal", false);
		else if (si.ssi_signo == SIGHUP)
			reload(arg);
		else if (si.ssi_signo == SIGUSR1)
			cq_log_reopen();
	}
}

static void
on_replies(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	cq_ctl_eventfd_reset(fd);
	cq_acall_on_replies(arg);
}

/* Once a second: the highest connection count, the blacklist file. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	cq_admin_t *a = arg;
	(void)fd;
	(void)what;
	cq_blacklist_file_save(a);
	cq_res_note_connected();
}

static struct event *
add_event(cq_admin_t *a, int fd, short what, event_callback_fn fn)
{
	struct event *ev = event_new(a->base, fd, what, fn, a);
	if (ev != NULL)
		event_add(ev, NULL);
	return ev;
}

static int
setup(cq_admin_t *a)
{
	a->sigfd = cq_signals_fd();
	a->base = event_base_new();
	if (a->sigfd < 0 || a->base == NULL)
		return -1;
	a->sig_ev = add_event(a, a->sigfd, EV_READ | EV_PERSIST, on_signal);
	a->chan_ev = add_event(a, a->args->chan, EV_READ | EV_PERSIST, on_chan);
	a->death_ev = add_event(
		a, a->args->death_fd, EV_READ | EV_PERSIST, on_death);
	a->reply_ev = add_event(
		a, cq_ctl_admin_fd(), EV_READ | EV_PERSIST, on_replies);
	a->tick_ev = event_new(a->base, -1, EV_PERSIST, on_tick, a);
	struct timeval tick = {TICK_MS / 1000, 0};
	if (a->tick_ev != NULL)
		event_add(a->tick_ev, &tick);
	if (!a->sig_ev || !a->chan_ev || !a->death_ev || !a->reply_ev ||
		!a->tick_ev)
		return -1;
	if (cq_admin_token_load(a) < 0)
		return -1;
	cq_blacklist_file_load(a);
	return cq_http_start(a);
}

static void
teardown(cq_admin_t *a)
{
	cq_acall_abort_all(a);
	cq_http_stop(a);
	cq_blacklist_file_save(a);
	struct event *evs[] = {
		a->sig_ev, a->chan_ev, a->death_ev, a->reply_ev, a->tick_ev};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (a->base != NULL)
		event_base_free(a->base);
	if (a->sigfd >= 0)
		close(a->sigfd);
	cq_qsbr_unregister();
	free(a->token);
	free(a->dashboard_dir);
	if (a->cfg != a->args->config) {
		cq_config_free(a->cfg);
		free(a->cfg);
	}
}

int
cq_admin_main(const cq_admin_args_t *args)
{
	cq_admin_t a = {.args = args, .cfg = args->config, .sigfd = -1};
	prctl(PR_SET_NAME, "comqtt-admin");
	cq_shm_use(args->shm);
	/* A QSBR reader: online only while it reads the tries. */
	cq_qsbr_reader_take(CQ_QSBR_READER_ADMIN);
	cq_qsbr_register();
	cq_qsbr_offline();
	if (setup(&a) < 0) {
		cq_log(CQ_LOG_CRIT, errno, "comqtt-admin: set-up failed");
		teardown(&a);
		return 1;
	}
	cq_channel_msg_t ready;
	cq_channel_msg_init(&ready, CQ_CHAN_READY);
	cq_channel_send(args->chan, &ready, -1);
	event_base_dispatch(a.base);
	teardown(&a);
	return 0;
}
