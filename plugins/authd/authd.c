/*
 * authd.c — comqtt-authd's process: configuration, socket, signals,
 * reload and shutdown (authd.h).  Connections are conn.c, the backend
 * chain chain.c.
 *
 * Signals come through a signalfd, not libevent's signal handling: in a
 * child forked by the master, libevent's process-wide signal state still
 * belongs to the master's event base.
 *
 * Reload (SIGHUP): the file is read again and a new chain built from it;
 * if that fails the old chain keeps serving and the error is logged.  On
 * success the old chain is retired (it closes when its last request
 * ends), the policy serial changes and every connection is told
 * INVALIDATE, so workers drop answers cached under the old policy.  The
 * socket and max_inflight stay as they were (a restart applies them).
 *
 * Shutdown (SIGTERM, SIGINT, EOF on the death pipe): stop accepting,
 * close connections, retire the chain and keep the loop running until
 * requests still inside backends have finished (each backend gives up
 * after backend_timeout_ms), then remove the socket.
 */
#include "config.h"
#include "plugins/authd/authd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "authc/client.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/signals.h"
#include "master/daemon.h"
#include "plugins/authd/pool.h"
#include "plugins/authd/server.h"

typedef struct authd {
	cq_authd_server_t srv;
	const cq_authd_args_t *args;
	char config_dir[PATH_MAX];
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat socket_st; /* to remove only our own socket */
	struct evconnlistener *listener;
	struct event *sig_ev, *death_ev, *drain_ev;
	int sig_fd;
	uint64_t start_ms;
	unsigned reloads;
	uint64_t drain_deadline_ms;
	int exit_status;
} authd_t;

/* Wall-clock milliseconds: the policy serial of this start. */
static uint64_t
start_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The configuration as the command line names it, on the heap. */
static cq_config_t *
load_config(const char *path, char **error_r)
{
	cq_config_t *cfg = calloc(1, sizeof(*cfg));
	cq_config_cmdline_t cl = {.file = path};

	*error_r = NULL;
	if (cfg == NULL) {
		*error_r = strdup("out of memory");
		return NULL;
	}
	if (cq_config_load_cmdline(&cl, cfg, error_r) < 0) {
		free(cfg);
		if (*error_r == NULL)
			*error_r = strdup("out of memory");
		return NULL;
	}
	return cfg;
}

/* Where relative paths in the file start: the file's directory. */
static void
set_config_dir(authd_t *a)
{
	char copy[PATH_MAX];

	if (a->args->config_path == NULL ||
		strlen(a->args->config_path) >= sizeof(copy)) {
		snprintf(a->config_dir, sizeof(a->config_dir), ".");
		return;
	}
	snprintf(copy, sizeof(copy), "%s", a->args->config_path);
	snprintf(a->config_dir, sizeof(a->config_dir), "%s", dirname(copy));
}

static void
new_serial(authd_t *a)
{
	snprintf(a->srv.serial, sizeof(a->srv.serial), "%llx-%u",
		(unsigned long long)a->start_ms, a->reloads);
}

/* ---- socket ---------------------------------------------------------- */

/* Is something answering on the path (another authd)? */
static bool
socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive = fd >= 0 &&
		connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	if (fd >= 0)
		close(fd);
	return alive;
}

/* Clear the way for bind(): a stale socket of a dead authd goes, a live
 * one or anything that is not a socket stops us. */
static int
clear_path(const struct sockaddr_un *sun)
{
	struct stat st;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		cq_log(CQ_LOG_ERR, 0, "authd: %s exists and is not a socket",
			sun->sun_path);
		return -1;
	}
	if (socket_alive(sun)) {
		cq_log(CQ_LOG_ERR, 0, "authd: another authd is listening on %s",
			sun->sun_path);
		return -1;
	}
	return unlink(sun->sun_path);
}

static void
ensure_dir(const char *path)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		cq_log(CQ_LOG_WARN, errno, "authd: mkdir() of %s failed", dir);
}

static int
bind_socket(authd_t *a, const cq_config_t *cfg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->socket_path);
	ensure_dir(a->socket_path);
	if (clear_path(&sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(sun.sun_path, cfg->auth.socket_mode) < 0 ||
		listen(fd, 512) < 0 || stat(sun.sun_path, &a->socket_st) < 0) {
		cq_log(CQ_LOG_ERR, errno, "authd: cannot listen on %s",
			sun.sun_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Root with a broker user configured: the socket becomes the user's, and
 * so does the process. */
static int
drop_privileges(authd_t *a, const cq_config_t *cfg)
{
	const char *err;

	if (geteuid() != 0 || cfg->user[0] == '\0')
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL || chown(a->socket_path, pw->pw_uid, pw->pw_gid) < 0) {
		cq_log(CQ_LOG_ERR, errno, "authd: chown of %s to %s failed",
			a->socket_path, cfg->user);
		return -1;
	}
	if (cq_drop_privileges(cfg->user, &err) < 0) {
		cq_log(CQ_LOG_ERR, 0, "authd: %s", err);
		return -1;
	}
	return 0;
}

static void
remove_socket(authd_t *a)
{
	struct stat st;

	/* Only our own: a new authd may have taken the path over. */
	if (stat(a->socket_path, &st) == 0 &&
		st.st_ino == a->socket_st.st_ino &&
		st.st_dev == a->socket_st.st_dev)
		unlink(a->socket_path);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	int salen, void *arg)
{
	authd_t *a = arg;
	(void)l;
	(void)sa;
	(void)salen;
	cq_authd_conn_new(&a->srv, fd);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* EMFILE and friends: log and keep going; the listener retries. */
	cq_log(CQ_LOG_ERR, EVUTIL_SOCKET_ERROR(), "authd: accept() failed");
}

/* ---- reload and stop ---------------------------------------------- */

static void
reload(authd_t *a)
{
	char *error = NULL;
	cq_config_t *cfg = load_config(a->args->config_path, &error);
	cq_auth_chain_t *chain;

	if (cfg == NULL) {
		cq_log(CQ_LOG_ERR, 0,
			"authd: reload failed, keeping the "
			"running configuration: %s",
			error);
		free(error);
		return;
	}
	const cq_config_auth_t *old = &cq_auth_chain_config(a->srv.chain)->auth;
	if (strcmp(old->socket, cfg->auth.socket) != 0 ||
		old->socket_mode != cfg->auth.socket_mode ||
		old->max_inflight != cfg->auth.max_inflight)
		cq_log(CQ_LOG_NOTICE, 0,
			"authd: auth.socket, auth.socket_mode and "
			"auth.max_inflight change at the next restart");
	chain = cq_auth_chain_new(a->srv.base, cfg, a->config_dir, &error);
	if (chain == NULL) {
		cq_log(CQ_LOG_ERR, 0,
			"authd: reload failed, keeping the "
			"running backends: %s",
			error);
		free(error);
		return;
	}
	cq_auth_chain_retire(a->srv.chain);
	a->srv.chain = chain;
	a->reloads++;
	new_serial(a);
	cq_authd_conn_broadcast_invalidate(&a->srv);
	cq_log(CQ_LOG_NOTICE, 0, "authd: reloaded (policy %s)", a->srv.serial);
}

static void drain_check(evutil_socket_t fd, short what, void *arg);

static void
stop(authd_t *a, const char *why)
{
	struct timeval tick = {0, 20000};

	if (a->listener == NULL)
		return; /* already stopping */
	cq_log(CQ_LOG_NOTICE, 0, "authd: stopping (%s)", why);
	evconnlistener_free(a->listener);
	a->listener = NULL;
	remove_socket(a);
	cq_authd_conn_close_all(&a->srv);
	a->drain_deadline_ms = cq_pool_now_ms() +
		cq_auth_chain_config(a->srv.chain)->auth.backend_timeout_ms +
		1000;
	event_del(a->sig_ev);
	if (a->death_ev != NULL)
		event_del(a->death_ev);
	a->drain_ev = event_new(a->srv.base, -1, EV_PERSIST, drain_check, a);
	if (a->drain_ev == NULL || event_add(a->drain_ev, &tick) < 0)
		event_base_loopbreak(a->srv.base);
}

/* Shutting down: wait for requests still in backends, within bounds. */
static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	authd_t *a = arg;
	(void)fd;
	(void)what;
	if (cq_auth_chain_running(a->srv.chain) == 0 ||
		cq_pool_now_ms() >= a->drain_deadline_ms)
		event_base_loopbreak(a->srv.base);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	authd_t *a = arg;
	struct signalfd_siginfo si;

	(void)what;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(a);
			break;
		case SIGUSR1:
			cq_log_reopen();
			break;
		default:
			stop(a, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			return;
		}
	}
}

static void
on_death(evutil_socket_t fd, short what, void *arg)
{
	char b[64];
	(void)what;
	if (read(fd, b, sizeof(b)) <= 0)
		stop(arg, "the master is gone");
}

/* ---- start ---------------------------------------------------------- */

static int
setup_signals(authd_t *a)
{
	signal(SIGPIPE, SIG_IGN);
	if ((a->sig_fd = cq_signals_fd()) < 0) {
		cq_log(CQ_LOG_ERR, errno, "authd: signalfd() failed");
		return -1;
	}
	a->sig_ev = event_new(
		a->srv.base, a->sig_fd, EV_READ | EV_PERSIST, on_signal, a);
	if (a->sig_ev == NULL || event_add(a->sig_ev, NULL) < 0)
		return -1;
	if (a->args->death_fd >= 0) {
		a->death_ev = event_new(a->srv.base, a->args->death_fd,
			EV_READ | EV_PERSIST, on_death, a);
		if (a->death_ev == NULL || event_add(a->death_ev, NULL) < 0)
			return -1;
	}
	return 0;
}

/* Configuration, chain, socket, privileges, listener.  0 or -1.  The
 * chain is built first and owns the configuration from then on. */
static int
start(authd_t *a)
{
	char *error = NULL;
	cq_config_t *cfg = load_config(a->args->config_path, &error);
	int fd;

	if (cfg == NULL) {
		cq_log(CQ_LOG_ERR, 0, "authd: %s", error);
		free(error);
		return -1;
	}
	if (a->args->open_log) {
		cq_log_set_level(cfg->log.level);
		cq_log_open(cfg->log.file); /* on failure: stderr, logged */
	}
	if (cq_authc_socket_path(cfg, a->socket_path, sizeof(a->socket_path)) <
		0) {
		cq_log(CQ_LOG_ERR, 0, "authd: the socket path is too long");
		cq_config_free(cfg);
		free(cfg);
		return -1;
	}
	a->srv.max_inflight = cfg->auth.max_inflight;
	a->srv.chain = cq_auth_chain_new(
		a->srv.base, cfg, a->config_dir, &error);
	if (a->srv.chain == NULL) {
		cq_log(CQ_LOG_ERR, 0, "authd: %s", error);
		free(error);
		return -1;
	}
	if ((fd = bind_socket(a, cfg)) < 0)
		return -1;
	a->listener = evconnlistener_new(
		a->srv.base, on_accept, a, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (a->listener == NULL) {
		close(fd);
		remove_socket(a);
		return -1;
	}
	evconnlistener_set_error_cb(a->listener, on_accept_error);
	return drop_privileges(a, cfg);
}

static void
log_ready(authd_t *a)
{
	const cq_config_auth_t *c = &cq_auth_chain_config(a->srv.chain)->auth;
	char names[128] = "";

	for (size_t i = 0; i < c->backends.n; i++) {
		strncat(names, i ? ", " : "",
			sizeof(names) - strlen(names) - 1);
		strncat(names, c->backends.items[i],
			sizeof(names) - strlen(names) - 1);
	}
	cq_log(CQ_LOG_NOTICE, 0,
		"authd ready on %s, protocol %u.%u, backends: %s, policy %s",
		a->socket_path, CQ_AUTHP_VERSION_MAJOR, CQ_AUTHP_VERSION_MINOR,
		names, a->srv.serial);
}

static void
teardown(authd_t *a)
{
	if (a->listener != NULL) {
		evconnlistener_free(a->listener);
		remove_socket(a);
	}
	cq_authd_conn_close_all(&a->srv);
	if (a->srv.chain != NULL) {
		cq_auth_chain_retire(a->srv.chain);
		/* Let the retired chain's deferred close run. */
		event_base_loop(a->srv.base, EVLOOP_NONBLOCK);
	}
	if (a->drain_ev != NULL)
		event_free(a->drain_ev);
	if (a->death_ev != NULL)
		event_free(a->death_ev);
	if (a->sig_ev != NULL)
		event_free(a->sig_ev);
	if (a->sig_fd >= 0)
		close(a->sig_fd);
	event_base_free(a->srv.base);
}

int
cq_authd_run(const cq_authd_args_t *args)
{
	authd_t a = {.args = args, .sig_fd = -1};

	cq_log_set_ident("authd");
	a.start_ms = start_ms();
	new_serial(&a);
	set_config_dir(&a);
	if ((a.srv.base = event_base_new()) == NULL) {
		cq_log(CQ_LOG_ERR, 0, "authd: event_base_new() failed");
		return 1;
	}
	if (setup_signals(&a) < 0 || start(&a) < 0) {
		teardown(&a);
		return 1;
	}
	log_ready(&a);
	event_base_dispatch(a.srv.base);
	if (cq_auth_chain_running(a.srv.chain) > 0)
		cq_log(CQ_LOG_WARN, 0,
			"authd: %u requests still in backends at exit",
			cq_auth_chain_running(a.srv.chain));
	teardown(&a);
	cq_log(CQ_LOG_NOTICE, 0, "authd stopped");
	return 0;
}

int
cq_authd_child_main(struct cq_child *child, void *arg)
{
	(void)child;
	return cq_authd_run(arg);
}

int
cq_authd_check(const char *config_path, char **error_r)
{
	cq_authd_args_t args = {.config_path = config_path, .death_fd = -1};
	authd_t a = {.args = &args};
	cq_config_t *cfg = load_config(config_path, error_r);
	cq_auth_chain_t *chain;

	if (cfg == NULL)
		return -1;
	if (cq_authc_socket_path(cfg, a.socket_path, sizeof(a.socket_path)) <
		0) {
		cq_config_free(cfg);
		free(cfg);
		*error_r = strdup("auth.socket: the path is too long");
		return -1;
	}
	set_config_dir(&a);
	if ((a.srv.base = event_base_new()) == NULL) {
		cq_config_free(cfg);
		free(cfg);
		*error_r = strdup("event_base_new() failed");
		return -1;
	}
	chain = cq_auth_chain_new(a.srv.base, cfg, a.config_dir, error_r);
	if (chain != NULL) {
		cq_auth_chain_retire(chain);
		event_base_loop(a.srv.base, EVLOOP_NONBLOCK);
	}
	event_base_free(a.srv.base);
	return chain != NULL ? 0 : -1;
}
