/*
 * main.c — comqttd: the composition root.
 *
 * Reads the command line and the configuration, opens the log, detaches
 * (-d), takes the pid file, creates the shared-memory region, binds the
 * listeners, drops privileges and hands over to the master loop
 * (master.c), which forks the workers.  It is also where the master's
 * generic pieces meet the worker: worker_main() turns the master's state
 * into the worker's arguments, so src/master/ and workers/ do not include
 * each other.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authc/client.h"
#include "core/channel.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/tls.h"
#include "master/admin_child.h"
#include "master/affinity.h"
#include "master/daemon.h"
#include "master/master.h"
#include "plugins/authd/authd.h"
#include "plugins/storage/storage.h"
#include "shm/counters.h"
#include "shm/persist.h"
#include "shm/ctl.h"
#include "shm/region.h"
#include "shm/ring.h"
#include "workers/ratelimit.h"
#include "workers/worker.h"

#define STOP_TIMEOUT_MS 10000

static cq_config_t cfg;
static cq_config_cmdline_t cmdline;
static cq_master_t master;
static time_t started;
static char listen_addr[CQ_MAX_LISTENERS][CQ_ADDR_STRLEN];
/* TLS contexts of the tls and wss listeners, by listener index: built
 * before the workers fork (which inherit them), rebuilt on SIGHUP. */
static SSL_CTX *tls_ctx[CQ_MAX_LISTENERS];
static cq_authd_args_t authd_args;
static cq_storage_args_t storage_args;

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: comqttd [-c FILE] [-t] [-d] [-v] [--workers N] "
		"[--pid-file FILE] [--print-config]\n"
		"  -c FILE         configuration file (default: embedded "
		"defaults)\n"
		"  -t              check the configuration and exit\n"
		"  -d              detach and run in the background\n"
		"  -v              print the version and exit\n"
		"  --workers N     run N workers, whatever the file says\n"
		"  --pid-file FILE write the master's pid there (pid_file)\n"
		"  --print-config  print the configuration in effect and "
		"exit\n");
}

/*
 * Load the configuration the command line names; -t and --print-config
 * stop there.  Returns -1 to go on running, else the exit status.  The
 * configuration's error messages are printed here, and only here.
 */
static int
load_config(int test_only, int print_config)
{
	char *error = NULL;
	if (cq_config_load_cmdline(&cmdline, &cfg, &error) < 0) {
		fprintf(stderr, "comqttd: %s\n",
			error != NULL ? error : "out of memory");
		free(error);
		return 1;
	}
	for (size_t i = 0; i < cfg.n_listeners; i++) {
		int w = cfg.listeners[i].worker;
		if (w >= 0 && (unsigned)w >= cq_config_workers(&cfg)) {
			fprintf(stderr,
				"comqttd: listeners[%zu].worker: slot %d does "
				"not exist with %u worker(s)\n",
				i, w, cq_config_workers(&cfg));
			cq_config_free(&cfg);
			return 1;
		}
	}
	/* Certificates and keys are part of the configuration: a bad one
	 * stops the start (and fails -t) with the reason.  --print-config
	 * only prints. */
	if (!print_config &&
		(cq_tls_ctx_build_all(&cfg, cmdline.file, tls_ctx,
			 CQ_MAX_LISTENERS, &error) < 0 ||
			cq_admin_child_tls(&cfg, cmdline.file, &error) < 0)) {
		fprintf(stderr, "comqttd: %s\n",
			error != NULL ? error : "out of memory");
		free(error);
		cq_tls_ctx_free_all(tls_ctx, CQ_MAX_LISTENERS);
		cq_config_free(&cfg);
		return 1;
	}
	if (test_only) {
		if (cmdline.file != NULL)
			fprintf(stderr, "configuration file %s is valid\n",
				cmdline.file);
		else
			fprintf(stderr, "the default configuration is valid\n");
	}
	if (print_config && cq_config_print(&cfg, stdout) < 0) {
		fprintf(stderr, "comqttd: writing the configuration failed\n");
		cq_config_free(&cfg);
		return 1;
	}
	if (test_only || print_config) {
		cq_tls_ctx_free_all(tls_ctx, CQ_MAX_LISTENERS);
		cq_admin_child_release();
		cq_config_free(&cfg);
		return 0;
	}
	return -1;
}

static int
open_log(const cq_config_t *c)
{
	cq_log_set_level(c->log.level);
	return cq_log_open(c->log.file);
}

/* The shm sizing the configuration asks for. */
static void
shm_conf(const cq_config_t *c, unsigned workers, cq_shm_conf_t *sc)
{
	cq_shm_conf_init(sc);
	sc->size = c->shm_size;
	sc->workers = workers;
	sc->max_sessions = c->limits.max_sessions;
	sc->ring_bytes = c->shm.ring_size;
	sc->auth_cache_entries = c->shm.auth_cache_entries;
	sc->route_shards = c->shm.route_shards;
	sc->persist_ring_bytes = c->storage.backend != CQ_STORAGE_NONE
		? (uint32_t)c->storage.ring_size
		: 0;
	sc->blacklist_max = c->admin.blacklist_max;
}

static void
listener_specs(cq_master_t *m, const cq_config_t *c)
{
	m->nlisteners = 0;
	for (size_t i = 0; i < c->n_listeners && i < CQ_MAX_LISTENERS; i++) {
		const cq_config_listener_t *cl = &c->listeners[i];
		cq_listener_t *l = &m->listeners[m->nlisteners++];
		memset(l, 0, sizeof(*l));
		cq_addr_format(
			&cl->address, listen_addr[i], sizeof(listen_addr[i]));
		l->spec.name = cl->name;
		l->spec.kind = (int)cl->type;
		l->spec.unix_socket = cl->address.is_path;
		l->spec.address = listen_addr[i];
		l->spec.handoff = cl->accept == CQ_ACCEPT_HANDOFF;
		l->spec.pinned_slot = cl->worker;
		l->spec.mode = cl->mode;
		l->spec.health = cl->type == CQ_LISTENER_HEALTH;
		if (l->spec.health)
			l->spec.handoff = 1; /* the master answers */
		l->spec.path = cq_config_listener_path(cl);
		l->spec.header_max = cl->max_header_size;
		l->spec.timeout_ms = cl->handshake_timeout * 1000;
		l->fd = -1;
	}
}

/* In a freshly forked worker: the master's state, as the worker needs it. */
static int
worker_main(cq_child_t *child, void *arg)
{
	cq_master_t *m = arg;
	if (m->pin)
		cq_affinity_pin(m->slot_cpu[child->slot]);
	cq_worker_args_t a = {
		.slot = child->slot,
		.nworkers = m->workers,
		.chan = child->child_chan,
		.death_fd = m->death_pipe[0],
		.config_path = cmdline.file,
		.cmdline = &cmdline,
		.config = &cfg,
		.shm = &m->shm,
		.start_time = (uint64_t)started,
	};
	for (unsigned i = 0; i < m->nlisteners; i++) {
		const cq_listener_t *l = &m->listeners[i];
		a.listeners[i].index = i;
		a.listeners[i].kind = l->spec.kind;
		a.listeners[i].name = l->spec.name;
		a.listeners[i].fd = l->spec.handoff ? -1
						    : l->slot_fds[child->slot];
		a.listeners[i].tls_ctx = tls_ctx[i];
		/* The other slots' sockets stay with the master. */
		for (unsigned s = 0; s < l->nslots; s++)
			if (s != child->slot)
				close(l->slot_fds[s]);
	}
	a.nlisteners = m->nlisteners;
	cq_admin_child_release();
	return cq_worker_main(&a);
}

/* Connections a worker serves: the master's least-loaded choice. */
static unsigned
worker_load(cq_master_t *m, unsigned slot)
{
	uint64_t v[CQ_CTR_COUNT];
	if (cq_counters_read(&m->shm, slot, v) < 0)
		return ~0u;
	return v[CQ_CTR_CONNECTIONS] > UINT32_MAX
		? UINT32_MAX
		: (unsigned)v[CQ_CTR_CONNECTIONS];
}

static void
log_change(const cq_cfg_change_t *ch, void *ctx)
{
	if (ch->live)
		cq_log(CQ_LOG_NOTICE, 0, "reload: %s: %s -> %s", ch->path,
			ch->old_value, ch->new_value);
	else
		cq_log(CQ_LOG_WARN, 0,
			"reload: %s: %s -> %s needs a restart; keeping %s",
			ch->path, ch->old_value, ch->new_value, ch->old_value);
}

/* SIGHUP: re-read the file; apply what can change live. */
static int
reload(cq_master_t *m)
{
	cq_config_t fresh;
	char *error = NULL;
	if (cq_config_load_cmdline(&cmdline, &fresh, &error) < 0) {
		cq_log(CQ_LOG_ERR, 0,
			"reload failed, keeping the running "
			"configuration: %s",
			error ? error : "out of memory");
		free(error);
		return -1;
	}
	/* The report of the changes obeys the new level already. */
	cq_log_set_level(fresh.log.level);
	cq_config_diff(&cfg, &fresh, log_change, NULL);
	cq_config_keep_restart_keys(&cfg, &fresh);
	cq_config_free(&cfg);
	cfg = fresh;
	/* New certificates for new connections (connected clients keep
	 * theirs); a bad file keeps the previous one, said here once. */
	cq_tls_ctx_reload_all(
		&cfg, cmdline.file, tls_ctx, CQ_MAX_LISTENERS, CQ_LOG_ERR);
	if (open_log(&cfg) < 0)
		cq_log(CQ_LOG_ERR, 0, "reload: keeping the previous log");
	return 0;
}

/* comqtt-storage, unless storage.backend is none. */
static int
add_storage(cq_master_t *m)
{
	if (cfg.storage.backend == CQ_STORAGE_NONE)
		return 0;
	storage_args = (cq_storage_args_t){.config = &cfg,
		.shm = &m->shm,
		.nworkers = m->workers,
		.death_fd = m->death_pipe[0]};
	if (cq_process_add(CQ_CHILD_STORAGE, 0, "storage",
		    cq_storage_child_main, &storage_args) == NULL) {
		cq_log(CQ_LOG_CRIT, 0, "process table full");
		return -1;
	}
	return 0;
}

/* CQ_TEST_RESPAWN_DELAY_MS: a testing aid (comqttd(8)) that holds a dead
 * worker's replacement back, so a test can see the broker without it. */
static unsigned
respawn_delay(void)
{
	const char *s = getenv("CQ_TEST_RESPAWN_DELAY_MS");
	if (s == NULL || *s == '\0')
		return 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return *end == '\0' && v <= 600000 ? (unsigned)v : 0;
}

/*
 * comqtt-authd when auth.enabled.  The cache secret is drawn here, before
 * any worker is forked, so every worker keys the shared auth cache alike.
 */
static int
add_authd(cq_master_t *m)
{
	if (!cfg.auth.enabled)
		return 0;
	if (cq_authc_global_init() < 0) {
		cq_log(CQ_LOG_CRIT, 0,
			"auth: cannot initialise the auth cache");
		return -1;
	}
	authd_args = (cq_authd_args_t){.config_path = cmdline.file,
		.death_fd = m->death_pipe[0],
		.open_log = false};
	if (cq_process_add(CQ_CHILD_AUTHD, 0, "authd", cq_authd_child_main,
		    &authd_args) == NULL) {
		cq_log(CQ_LOG_CRIT, 0, "process table full");
		return -1;
	}
	return 0;
}

/*
 * Before the workers: comqtt-storage says READY once the stored state is
 * in shm.  If it exits instead (it logged why: a store it cannot open or
 * read), the broker does not start.
 */
static int
helpers_ready(cq_master_t *m)
{
	(void)m;
	cq_child_t *c = NULL;
	for (unsigned i = 0; i < cq_process_count(); i++)
		if (cq_process_at(i)->kind == CQ_CHILD_STORAGE)
			c = cq_process_at(i);
	if (c == NULL)
		return 0;
	for (unsigned waited = 0;; waited++) {
		struct pollfd pf = {.fd = c->chan, .events = POLLIN};
		int n = poll(&pf, 1, 1000);
		if (n == 0 && waited % 10 == 9)
			cq_log(CQ_LOG_NOTICE, 0,
				"waiting for comqtt-storage to load the "
				"stored state (%u s)",
				waited + 1);
		if (n <= 0)
			continue;
		cq_channel_msg_t msg;
		int fd = -1;
		int rc = cq_channel_recv(c->chan, &msg, &fd);
		if (fd >= 0)
			close(fd);
		if (rc == 0 && msg.command == CQ_CHAN_READY)
			return 0;
		if (rc == CQ_AGAIN)
			continue;
		cq_log(CQ_LOG_ERR, 0,
			"comqtt-storage could not load the stored state (see "
			"above): not starting");
		return -1;
	}
}

/* The children besides the workers, started before them in this order:
 * comqtt-storage (unless storage.backend is none), comqtt-authd,
 * comqtt-admin. */
static int
add_children(cq_master_t *m)
{
	return add_storage(m) < 0 || add_authd(m) < 0 ||
			cq_admin_child_add(m) < 0
		? -1
		: 0;
}

/* Everything before the workers start; the exit status on failure. */
static int
start(int daemonize)
{
	const char *error;
	int pid_fd = -1;

	if (daemonize && cq_daemonize() < 0) {
		fprintf(stderr, "comqttd: detaching failed: %s\n",
			strerror(errno));
		return 1;
	}
	if (open_log(&cfg) < 0)
		return 1;
	if (cfg.pid_file[0] != '\0') {
		pid_fd = cq_pidfile_create(cfg.pid_file, &error);
		if (pid_fd < 0) {
			/* An error of this start, not of the broker that runs
			 * (and may share the log). */
			cq_log(CQ_LOG_ERR, 0, "%s", error);
			return 1;
		}
		cq_process_private_fd(pid_fd);
	}
	master.workers = cq_config_workers(&cfg);
	cq_shm_conf_t sc;
	shm_conf(&cfg, master.workers, &sc);
	if (cq_shm_create(&sc, &master.shm, &error) < 0) {
		cq_log(CQ_LOG_CRIT, 0, "shared memory: %s", error);
		return 1;
	}
	/* Wake-ups of the rings: created once, inherited by every worker
	 * (a respawned one too); so are the TLS ticket secret and the
	 * rate-limit table. */
	if (cq_ring_eventfds_create(master.workers) < 0 ||
		cq_ctl_eventfds_create(master.workers) < 0 || cq_tls_init() < 0)
		return 1;
	if (cfg.storage.backend != CQ_STORAGE_NONE) {
		cq_persist_configure(
			cfg.storage.persistence == CQ_PERSISTENCE_SYNC);
		if (cq_persist_eventfd_create() < 0)
			return 1;
	}
	cq_ratelimit_create(CQ_RATELIMIT_ENTRIES);
	started = time(NULL);
	listener_specs(&master, &cfg);
	master.pin = cfg.worker_cpu_affinity &&
		cq_affinity_plan(master.workers, master.slot_cpu);
	if (cq_master_listen(&master) < 0 || cq_admin_child_listen(&cfg) < 0)
		return 1;
	if (cfg.user[0] != '\0' && cfg.storage.backend == CQ_STORAGE_LMDB &&
		cq_data_dir_prepare(cfg.data_dir, cfg.user, &error) < 0) {
		cq_log(CQ_LOG_CRIT, 0, "%s", error);
		return 1;
	}
	if (cfg.user[0] != '\0' && cq_drop_privileges(cfg.user, &error) < 0) {
		cq_log(CQ_LOG_CRIT, 0, "%s", error);
		return 1;
	}
	cq_log(CQ_LOG_NOTICE, 0,
		"comqttd %s starting: %u worker(s), %llu MiB of shared memory",
		PACKAGE_VERSION, master.workers,
		(unsigned long long)(cfg.shm_size >> 20));
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"workers", required_argument, NULL, 'W'},
		{"pid-file", required_argument, NULL, 'p'},
		{"print-config", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, test_only = 0, print_config = 0, daemonize = 0, rc;

	while ((opt = getopt_long(argc, argv, "c:tdvh", longopts, NULL)) !=
		-1) {
		switch (opt) {
		case 'c':
			cmdline.file = optarg;
			break;
		case 'W':
			cmdline.workers = optarg;
			break;
		case 'p':
			cmdline.pid_file = optarg;
			break;
		case 'P':
			print_config = 1;
			break;
		case 'd':
			daemonize = 1;
			break;
		case 't':
			test_only = 1;
			break;
		case 'v':
			printf("comqttd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 1;
	}
	cq_log_set_ident("master");
	if ((rc = load_config(test_only, print_config)) >= 0)
		return rc;
	if ((rc = start(daemonize)) >= 0) {
		cq_tls_ctx_free_all(tls_ctx, CQ_MAX_LISTENERS);
		cq_admin_child_release();
		cq_config_free(&cfg);
		return rc;
	}

	master.base = event_base_new();
	master.stop_timeout_ms = STOP_TIMEOUT_MS;
	master.worker_main = worker_main;
	master.worker_arg = &master;
	master.reload = reload;
	master.add_children = add_children;
	master.helpers_ready = helpers_ready;
	master.worker_load = worker_load;
	cq_admin_child_prepare(&cmdline, &cfg, (uint64_t)started);
	master.respawn_delay_ms = respawn_delay();
	cq_daemon_ready();
	rc = cq_master_run(&master);

	event_base_free(master.base);
	cq_admin_child_release();
	cq_tls_ctx_free_all(tls_ctx, CQ_MAX_LISTENERS);
	if (cfg.pid_file[0] != '\0')
		unlink(cfg.pid_file);
	cq_shm_detach(&master.shm);
	cq_config_free(&cfg);
	return rc;
}
