/*
 * storage.c — comqtt-storage's process: open the store, load it into shm
 * (first start of a region), then apply the workers' events in batches
 * until stopped (storage.h).
 *
 * The loop sleeps at most storage.batch_ms between batches (group commit:
 * everything that arrived meanwhile goes in one transaction), less when a
 * worker urges a commit (persistence: sync, a waiting acknowledgement).
 * While the backend fails (disk or map full, Redis down) the events wait
 * in the rings, new persistent state is refused (cq_persist_failed), and
 * batches are retried with a back-off of up to a second.
 */
#include "config.h"
#include "plugins/storage/storage.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/channel.h"
#include "core/log.h"
#include "core/signals.h"
#include "master/process.h"
#include "plugins/storage/apply.h"
#include "plugins/storage/backend.h"
#include "plugins/storage/load.h"
#include "shm/counters.h"
#include "shm/persist.h"

#define SYS_EVERY_MS  10000u
#define BACKOFF_MAX   1000u
#define STOP_ATTEMPTS 20

typedef struct storage {
	const cq_storage_args_t *args;
	const cq_store_ops_t *ops;
	cq_store_t *st;
	cq_sindex_t ix;
	cq_apply_t ap;
	int sigfd;
	bool stopping;
	bool orphaned; /* the master is gone */
	unsigned backoff_ms;
	uint64_t next_sys_ms;
} storage_t;

const cq_store_ops_t *
cq_store_ops_for(cq_storage_backend_t b)
{
	switch (b) {
	case CQ_STORAGE_LMDB:
		return &cq_store_lmdb;
	case CQ_STORAGE_REDIS:
		return &cq_store_redis;
	default:
		return NULL;
	}
}

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- start --------------------------------------------------------- */

static int
open_store(storage_t *s)
{
	const cq_config_t *cfg = s->args->config;
	char *error = NULL;
	s->ops = cq_store_ops_for(cfg->storage.backend);
	if (s->ops == NULL || s->ops->abi_version != CQ_STORE_ABI) {
		cq_log(CQ_LOG_CRIT, 0, "no usable backend");
		return -1;
	}
	/* An error of this start (the master does not start the workers),
	 * not of a running broker: error, not crit. */
	if (s->ops->open(cfg, &s->st, &error) < 0) {
		cq_log(CQ_LOG_ERR, 0, "%s",
			error != NULL ? error : "out of memory");
		free(error);
		return -1;
	}
	return 0;
}

/* The stored state into shm (first start of this region), or only the
 * index (a respawn: shm has it all). */
static int
load(storage_t *s)
{
	if (cq_persist_loaded())
		return cq_load_index(s->ops, s->st, &s->ix);
	cq_load_stats_t ls;
	char *error = NULL;
	uint64_t t0 = now_ms();
	if (cq_load_state(s->ops, s->st, &s->ix, s->args->nworkers,
		    (uint64_t)time(NULL), &ls, &error) < 0) {
		cq_log(CQ_LOG_ERR, 0,
			"loading the stored state failed: %s; the "
			"store was left as it is",
			error != NULL ? error : "out of memory");
		free(error);
		return -1;
	}
	cq_log(CQ_LOG_NOTICE, 0,
		"loaded %llu session(s) (%llu subscription(s), %llu "
		"queued, %llu inflight, %llu QoS 2 id(s), %llu will(s)) and "
		"%llu retained message(s) in %llu ms; %llu expired",
		(unsigned long long)ls.sessions, (unsigned long long)ls.subs,
		(unsigned long long)ls.queued, (unsigned long long)ls.inflight,
		(unsigned long long)ls.qos2, (unsigned long long)ls.wills,
		(unsigned long long)ls.retained,
		(unsigned long long)(now_ms() - t0),
		(unsigned long long)ls.expired);
	cq_persist_set_loaded();
	return 0;
}

static int
setup_signals(storage_t *s)
{
	s->sigfd = cq_signals_fd();
	if (s->sigfd < 0)
		cq_log(CQ_LOG_CRIT, errno, "signalfd() failed");
	return s->sigfd < 0 ? -1 : 0;
}

static void
tell_ready(int chan)
{
	if (chan < 0)
		return;
	cq_channel_msg_t ready;
	cq_channel_msg_init(&ready, CQ_CHAN_READY);
	cq_channel_send(chan, &ready, -1);
}

/* ---- the loop ------------------------------------------------------ */

static void
on_signals(storage_t *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			s->stopping = true;
		else if (si.ssi_signo == SIGUSR1)
			cq_log_reopen();
	}
}

/* Sleep until the batch window ends, a worker urges, a signal, or the
 * master goes away. */
static void
wait_a_while(storage_t *s)
{
	unsigned ms = s->ap.failed ? s->backoff_ms
				   : s->args->config->storage.batch_ms;
	struct pollfd pf[3] = {{.fd = cq_persist_eventfd(), .events = POLLIN},
		{.fd = s->sigfd, .events = POLLIN},
		{.fd = s->args->death_fd, .events = POLLIN}};
	if (cq_persist_sleep() == 0 && poll(pf, 3, (int)ms) > 0 &&
		(pf[2].revents & (POLLIN | POLLHUP))) {
		char c;
		if (read(s->args->death_fd, &c, 1) <= 0)
			s->orphaned = true;
	}
	cq_persist_awake();
	if (pf[1].revents & POLLIN)
		on_signals(s);
}

/* The $SYS counters so far (the restored base included, gauges not). */
static void
save_sys(storage_t *s)
{
	uint64_t v[CQ_CTR_COUNT];
	cq_counters_sum(s->args->shm, v);
	cq_persist_sys_base_add(v, CQ_CTR_COUNT);
	for (unsigned i = 0; i < CQ_CTR_COUNT; i++)
		if (cq_counter_is_gauge((cq_counter_t)i))
			v[i] = 0;
	if (cq_apply_sys(&s->ap, v, CQ_CTR_COUNT) < 0)
		cq_log(CQ_LOG_WARN, errno, "saving $SYS counters");
}

static void
one_batch(storage_t *s)
{
	if (cq_apply_batch(&s->ap) >= 0) {
		s->backoff_ms = 10;
		return;
	}
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX ? BACKOFF_MAX
							: s->backoff_ms * 2;
}

/* Everything still in the rings, before exiting; what cannot be
 * committed (the backend still fails) is said to be lost. */
static void
drain_all(storage_t *s)
{
	long n = 1;
	for (int i = 0; i < STOP_ATTEMPTS && n != 0; i++) {
		n = cq_apply_batch(&s->ap);
		if (n < 0)
			usleep(50000);
	}
	size_t left = 0;
	for (unsigned i = 0; i < cq_persist_nslots(); i++)
		left += cq_persist_fill(i);
	if (n < 0 && left > 0)
		cq_log(CQ_LOG_ERR, 0,
			"stopping with %zu bytes of changes that could not be "
			"committed: they are lost",
			left);
	save_sys(s);
}

static int
serve(storage_t *s)
{
	s->backoff_ms = 10;
	while (!s->stopping && !s->orphaned) {
		wait_a_while(s);
		one_batch(s);
		uint64_t t = now_ms();
		if (t >= s->next_sys_ms) {
			s->next_sys_ms = t + SYS_EVERY_MS;
			save_sys(s);
		}
	}
	drain_all(s);
	cq_log(CQ_LOG_INFO, 0, "stopped after %llu event(s) in %llu commit(s)",
		(unsigned long long)s->ap.events,
		(unsigned long long)s->ap.batches);
	return 0;
}

int
cq_storage_run(const cq_storage_args_t *args, int chan)
{
	storage_t s = {.args = args, .sigfd = -1};
	cq_log_set_ident("storage");
	cq_shm_use(args->shm);
	cq_shm_set_slot(CQ_SLOT_NONE);
	cq_sindex_init(&s.ix);
	cq_persist_set_status(CQ_PERSIST_LOADING);
	int rc = CQ_STORAGE_EXIT_FATAL;
	if (setup_signals(&s) == 0 && open_store(&s) == 0 && load(&s) == 0) {
		/* Read from the heads: records a dead predecessor peeked
		 * but did not release are read again. */
		cq_persist_rewind();
		if (cq_apply_init(&s.ap, s.ops, s.st, &s.ix) == 0) {
			cq_persist_set_status(CQ_PERSIST_RUNNING);
			tell_ready(chan);
			rc = serve(&s);
		}
	}
	cq_persist_set_status(CQ_PERSIST_DOWN);
	cq_apply_free(&s.ap);
	cq_sindex_free(&s.ix);
	if (s.st != NULL)
		s.ops->close(s.st);
	if (s.sigfd >= 0)
		close(s.sigfd);
	return rc;
}

int
cq_storage_child_main(struct cq_child *child, void *arg)
{
	return cq_storage_run(arg, child->child_chan);
}
