/*
 * comqtt-bench.c — an MQTT load generator: main() and the controller.
 *
 * The controller (this thread) lays out the run (cb_setup), starts the
 * event-loop threads (cb_loop), moves them through the scenario's phases,
 * waits on their published counters with a timeout on every wait, samples
 * the broker's memory and CPU, and prints the report.  It never touches a
 * connection itself.  Every wait ends: on its condition, on a stall (no
 * progress for a while), on its deadline, or on SIGINT/SIGTERM; a run that
 * did not finish a phase is reported as incomplete (exit status 1).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/cb_conn.h"
#include "bench/cb_loop.h"
#include "bench/cb_opts.h"
#include "bench/cb_proc.h"
#include "bench/cb_report.h"
#include "bench/cb_setup.h"

#define POLL_NS      2000000u
#define SAMPLE_NS    500000000u
#define PHASE_ACK_S  5.0
#define CLOSE_WAIT_S 3.0
#define STALL_S      2.0

static volatile sig_atomic_t interrupted;

typedef struct ctl {
	cb_run_t *run;
	cb_times_t t;
	uint64_t next_sample;
} ctl_t;

/* The sum of the threads' published counters. */
typedef struct totals {
	uint64_t connected, failed, closed, subscribed, sent, completed;
	uint64_t delivered, pinged, cleaned, live, starting;
} totals_t;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
totals(const cb_run_t *run, totals_t *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < run->nthreads; i++) {
		const cb_shared_t *sh = &run->threads[i].shared;
		memory_order r = memory_order_relaxed;
		s->connected += atomic_load_explicit(&sh->connected, r);
		s->failed += atomic_load_explicit(&sh->failed, r);
		s->closed += atomic_load_explicit(&sh->closed, r);
		s->subscribed += atomic_load_explicit(&sh->subscribed, r);
		s->sent += atomic_load_explicit(&sh->sent, r);
		s->completed += atomic_load_explicit(&sh->completed, r);
		s->delivered += atomic_load_explicit(&sh->delivered, r);
		s->pinged += atomic_load_explicit(&sh->pinged, r);
		s->cleaned += atomic_load_explicit(&sh->cleaned, r);
		s->live += atomic_load_explicit(&sh->live, r);
		s->starting += atomic_load_explicit(&sh->starting, r);
	}
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

static void
sample_broker(ctl_t *c, cb_proc_sample_t *s_r)
{
	cb_proc_sample_t s;
	cb_proc_sample(c->run->o.broker_pid, &s);
	if (s.pss_kb > c->t.broker_pss_max_kb)
		c->t.broker_pss_max_kb = s.pss_kb;
	if (s_r)
		*s_r = s;
	c->next_sample = cb_now() + SAMPLE_NS;
}

static void set_error(ctl_t *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_error(ctl_t *c, const char *fmt, ...)
{
	c->t.complete = 0;
	if (c->t.error[0] != '\0')
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->t.error, sizeof(c->t.error), fmt, ap);
	va_end(ap);
}

/* Move every thread to 'phase' and wait until each has acted on it. */
static void
set_phase(ctl_t *c, int phase)
{
	cb_run_t *run = c->run;
	atomic_store_explicit(&run->phase, phase, memory_order_release);
	for (int i = 0; i < run->nthreads; i++)
		cb_loop_wake(&run->threads[i]);
	uint64_t deadline = cb_now() + (uint64_t)(PHASE_ACK_S * 1e9);
	for (int i = 0; i < run->nthreads; i++) {
		while (atomic_load_explicit(&run->threads[i].shared.phase_seen,
			       memory_order_acquire) != (uint64_t)phase &&
			cb_now() < deadline)
			sleep_ns(POLL_NS / 4);
	}
}

typedef int (*cond_fn)(const ctl_t *c, const totals_t *s);
typedef uint64_t (*progress_fn)(const totals_t *s);

/*
 * Wait until cond holds.  Gives up when progress() has not changed for
 * 'stall' seconds (0: never) or after 'limit' seconds.  0 when cond held,
 * -1 otherwise.
 */
static int
wait_for(ctl_t *c, cond_fn cond, progress_fn progress, double stall,
	double limit)
{
	uint64_t start = cb_now(), last_change = start, last = UINT64_MAX;
	for (;;) {
		totals_t s;
		totals(c->run, &s);
		if (cond(c, &s))
			return 0;
		uint64_t now = cb_now();
		if (progress) {
			uint64_t p = progress(&s);
			if (p != last) {
				last = p;
				last_change = now;
			}
		}
		if (interrupted || now - start > (uint64_t)(limit * 1e9) ||
			(stall > 0 &&
				now - last_change > (uint64_t)(stall * 1e9)))
			return -1;
		if (now >= c->next_sample)
			sample_broker(c, NULL);
		sleep_ns(POLL_NS);
	}
}

/*
 * Every connection has connected or failed.  A failure ends the wait at
 * once where one failure spoils the run anyway, and for conns once 1% of
 * the connections failed: a broker that has stopped answering would
 * otherwise cost a handshake timeout per --concurrency connections.
 */
static int
all_handshaken(const ctl_t *c, const totals_t *s)
{
	const cb_run_t *run = c->run;
	uint64_t tolerated = run->o.scenario == CB_CONNS
		? CQ_MAX(10u, run->nconns / 100)
		: 1;
	return s->connected + s->failed >= run->nconns ||
		s->failed >= tolerated;
}

static int
any_failed(const ctl_t *c, const totals_t *s)
{
	return s->failed > 0 || c == NULL;
}

static uint64_t
handshakes(const totals_t *s)
{
	return s->connected + s->failed;
}

static int
connect_all(ctl_t *c)
{
	c->t.connect_start = cb_now();
	set_phase(c, CB_PH_CONNECT);
	int rc = wait_for(c, all_handshaken, handshakes,
		c->run->o.connect_timeout + 2, 1e9);
	c->t.connect_end = cb_now();
	totals_t s;
	totals(c->run, &s);
	if (rc < 0) {
		set_error(c, "connecting stalled at %llu of %u",
			(unsigned long long)handshakes(&s), c->run->nconns);
		return -1;
	}
	if (s.failed > 0) {
		set_error(c, "%llu of %u connections failed",
			(unsigned long long)s.failed, c->run->nconns);
		return -1;
	}
	return 0;
}

static int
all_subscribed(const ctl_t *c, const totals_t *s)
{
	return s->subscribed >= cb_setup_nsubs(c->run) || s->failed > 0;
}

static int
subscribe_all(ctl_t *c)
{
	set_phase(c, CB_PH_SUBSCRIBE);
	int rc = wait_for(
		c, all_subscribed, NULL, 0, c->run->o.connect_timeout);
	totals_t s;
	totals(c->run, &s);
	if (rc < 0 || s.failed > 0) {
		set_error(c, "%llu of %u subscriptions acknowledged",
			(unsigned long long)s.subscribed,
			cb_setup_nsubs(c->run));
		return -1;
	}
	return 0;
}

static int
all_sent(const ctl_t *c, const totals_t *s)
{
	return s->sent >= (uint64_t)cb_setup_npubs(c->run) * c->run->o.count ||
		s->failed > 0;
}

static uint64_t
sent_progress(const totals_t *s)
{
	return s->sent;
}

static void
begin_run(ctl_t *c)
{
	sample_broker(c, &c->t.broker_start);
	cb_proc_self_cpu(&c->t.cpu_user, &c->t.cpu_sys);
	c->t.run_start = cb_now();
	atomic_store(&c->run->run_start, c->t.run_start);
	set_phase(c, CB_PH_RUN);
}

static void
end_measure(ctl_t *c)
{
	double u, s;
	cb_proc_self_cpu(&u, &s);
	c->t.cpu_user = u - c->t.cpu_user;
	c->t.cpu_sys = s - c->t.cpu_sys;
	sample_broker(c, &c->t.broker_end);
}

/* Publish for --count messages each, or for --duration seconds. */
static void
publish_phase(ctl_t *c)
{
	const cb_opts_t *o = &c->run->o;
	begin_run(c);
	if (o->count) {
		if (wait_for(c, all_sent, sent_progress, o->drain_timeout,
			    1e9) < 0)
			set_error(c, "publishing stalled");
	} else {
		wait_for(c, any_failed, NULL, 0, o->duration);
	}
	c->t.run_end = cb_now();
	totals_t s;
	totals(c->run, &s);
	if (s.failed > 0)
		set_error(c, "%llu connection(s) lost while publishing",
			(unsigned long long)s.failed);
	if (interrupted)
		set_error(c, "interrupted");
}

static int
all_delivered(const ctl_t *c, const totals_t *s)
{
	const cb_run_t *run = c->run;
	if (run->o.qos > 0 && s->completed < s->sent)
		return 0;
	if (run->o.scenario == CB_RETAINED)
		return s->pinged >= 1;
	return s->delivered >= s->sent * run->fan || s->failed > 0;
}

static uint64_t
drain_progress(const totals_t *s)
{
	return s->delivered + s->completed + s->pinged;
}

static void
drain_phase(ctl_t *c)
{
	const cb_opts_t *o = &c->run->o;
	set_phase(c, CB_PH_DRAIN);
	int rc = wait_for(c, all_delivered, drain_progress,
		CQ_MIN(STALL_S, o->drain_timeout), o->drain_timeout);
	c->t.drain_end = cb_now();
	if (rc < 0 && (o->qos > 0 || o->scenario == CB_RETAINED)) {
		totals_t s;
		totals(c->run, &s);
		set_error(c,
			"drain timed out: %llu of %llu acknowledged, %llu of "
			"%llu delivered",
			(unsigned long long)s.completed,
			(unsigned long long)s.sent,
			(unsigned long long)s.delivered,
			(unsigned long long)(s.sent * c->run->fan));
	}
}

static int
all_closed(const ctl_t *c, const totals_t *s)
{
	return (s->live == 0 && s->starting == 0) || c == NULL;
}

static void
disconnect_all(ctl_t *c)
{
	set_phase(c, CB_PH_DISCONNECT);
	wait_for(c, all_closed, NULL, 0, CLOSE_WAIT_S);
	set_phase(c, CB_PH_STOP);
}

static void
flow_pubsub(ctl_t *c)
{
	if (connect_all(c) < 0 || subscribe_all(c) < 0)
		return;
	publish_phase(c);
	drain_phase(c);
	end_measure(c);
}

static int
retained_delivered(const ctl_t *c, const totals_t *s)
{
	return (s->subscribed >= 1 && s->delivered >= s->sent) ||
		s->failed > 0 || c == NULL;
}

static int
retained_cleaned(const ctl_t *c, const totals_t *s)
{
	return (s->cleaned >= s->sent && s->pinged >= 2) || s->failed > 0 ||
		c == NULL;
}

static void
flow_retained(ctl_t *c)
{
	const cb_opts_t *o = &c->run->o;
	if (connect_all(c) < 0)
		return;
	publish_phase(c);
	drain_phase(c);
	if (c->t.error[0])
		return;
	c->t.sub_start = cb_now();
	set_phase(c, CB_PH_SUBSCRIBE);
	if (wait_for(c, retained_delivered, drain_progress,
		    CQ_MIN(STALL_S, o->drain_timeout), o->drain_timeout) < 0)
		set_error(c, "not every retained message was delivered");
	end_measure(c);
	set_phase(c, CB_PH_CLEAN);
	if (wait_for(c, retained_cleaned, NULL, 0, o->drain_timeout) < 0)
		set_error(c, "clearing the retained messages timed out");
}

static void
flow_conns(ctl_t *c)
{
	sample_broker(c, &c->t.broker_start);
	cb_proc_self_cpu(&c->t.cpu_user, &c->t.cpu_sys);
	int rc = connect_all(c);
	c->t.run_start = cb_now();
	if (rc == 0 || c->t.connect_end > c->t.connect_start) {
		/* Hold (even when some failed: memory per connection is
		 * still meaningful for those that made it). */
		wait_for(c, any_failed, NULL, 0, c->run->o.duration);
		totals_t s;
		totals(c->run, &s);
		if (s.failed > 0)
			set_error(c, "%llu connection(s) failed or lost",
				(unsigned long long)s.failed);
	}
	c->t.run_end = cb_now();
	end_measure(c);
}

static void
flow_connrate(ctl_t *c)
{
	c->t.connect_start = cb_now();
	begin_run(c);
	wait_for(c, any_failed, NULL, 0, c->run->o.duration);
	c->t.run_end = cb_now();
	c->t.connect_end = c->t.run_end;
	totals_t s;
	totals(c->run, &s);
	c->t.connected_in_run = s.connected;
	end_measure(c);
	if (s.failed > 0)
		set_error(c, "%llu connection attempt(s) failed",
			(unsigned long long)s.failed);
	if (s.connected == 0)
		set_error(c, "no connection succeeded");
	if (interrupted)
		set_error(c, "interrupted");
}

static int
start_threads(cb_run_t *run, char *err, size_t errlen)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (int i = 0; i < run->nthreads && rc == 0; i++) {
		rc = pthread_create(&run->threads[i].tid, NULL, cb_loop_main,
			&run->threads[i]);
		if (rc != 0) {
			snprintf(err, errlen, "pthread_create() failed: %s",
				strerror(rc));
			atomic_store(&run->phase, CB_PH_STOP);
			for (int j = 0; j < i; j++) {
				cb_loop_wake(&run->threads[j]);
				pthread_join(run->threads[j].tid, NULL);
			}
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

static int
execute(cb_run_t *run)
{
	ctl_t c = {.run = run};
	c.t.complete = 1;
	c.t.broker_pss_max_kb = -1;
	c.t.broker_start.pss_kb = c.t.broker_end.pss_kb = -1;
	c.t.broker_start.cpu_s = c.t.broker_end.cpu_s = -1;
	switch (run->o.scenario) {
	case CB_CONNS:
		flow_conns(&c);
		break;
	case CB_CONNRATE:
		flow_connrate(&c);
		break;
	case CB_RETAINED:
		flow_retained(&c);
		break;
	default:
		flow_pubsub(&c);
	}
	if (interrupted)
		set_error(&c, "interrupted");
	disconnect_all(&c);
	for (int i = 0; i < run->nthreads; i++)
		pthread_join(run->threads[i].tid, NULL);
	cb_result_t r;
	if (cb_report_collect(run, &c.t, &r) < 0) {
		fprintf(stderr, "comqtt-bench: out of memory for the report\n");
		return CB_EXIT_INCOMPLETE;
	}
	cb_report_print(&r, run->o.format, stdout);
	int rc = r.complete ? CB_EXIT_OK : CB_EXIT_INCOMPLETE;
	cb_report_free(&r);
	return rc;
}

int
main(int argc, char **argv)
{
	cb_opts_t o;
	char err[512];
	int rc = cb_opts_parse(&o, argc, argv, err, sizeof(err));
	if (rc == 1)
		return CB_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr,
			"comqtt-bench: %s\n"
			"usage: comqtt-bench [options] SCENARIO "
			"(see --help)\n",
			err);
		return CB_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	static cb_run_t run;
	if (cb_setup(&run, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "comqtt-bench: %s\n", err);
		return CB_EXIT_INCOMPLETE;
	}
	if (start_threads(&run, err, sizeof(err)) < 0) {
		fprintf(stderr, "comqtt-bench: %s\n", err);
		cb_teardown(&run);
		return CB_EXIT_INCOMPLETE;
	}
	rc = execute(&run);
	cb_teardown(&run);
	return rc;
}
