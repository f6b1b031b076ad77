/*
 * pool.c — thread pool with loop-thread completions (pool.h).
 *
 * Locking: one mutex guards both lists (queued, finished) and the counts;
 * threads wait on 'cond' for work.  A finished job is put on the finished
 * list and the eventfd is written once per batch (only when the list was
 * empty), so a burst of completions costs one wake-up of the loop.
 */
#include "config.h"
#include "plugins/authd/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"

struct cq_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	cq_pool_job_t *queue_head, *queue_tail;
	cq_pool_job_t *done_head, *done_tail;
	unsigned pending; /* queued + running + finished, not yet done() */
	bool stopping;
	uint32_t max_wait_ms;
	cq_pool_ctx_new_fn *ctx_new;
	cq_pool_ctx_free_fn *ctx_free;
	void *arg;
	int efd;
	struct event *ev;
	unsigned nthreads;
	pthread_t *threads;
	char name[16];
};

uint64_t
cq_pool_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
push(cq_pool_job_t **head, cq_pool_job_t **tail, cq_pool_job_t *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

/* A job is done (worked or expired): hand it to the loop.  Lock held. */
static void
finish_locked(cq_pool_t *p, cq_pool_job_t *job)
{
	bool wake = p->done_head == NULL;
	push(&p->done_head, &p->done_tail, job);
	if (wake) {
		uint64_t one = 1;
		ssize_t w = write(p->efd, &one, sizeof(one));
		(void)w; /* EAGAIN: the counter is already non-zero */
	}
}

static void *
thread_main(void *arg)
{
	cq_pool_t *p = arg;
	sigset_t all;
	void *ctx;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ctx = p->ctx_new != NULL ? p->ctx_new(p->arg) : NULL;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->queue_head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		cq_pool_job_t *job = p->queue_head;
		if (job == NULL)
			break; /* stopping and nothing left */
		p->queue_head = job->next;
		if (p->queue_head == NULL)
			p->queue_tail = NULL;
		job->expired = p->stopping ||
			cq_pool_now_ms() - job->queued_ms > p->max_wait_ms;
		if (!job->expired) {
			pthread_mutex_unlock(&p->lock);
			job->work(job, ctx);
			pthread_mutex_lock(&p->lock);
		}
		finish_locked(p, job);
	}
	pthread_mutex_unlock(&p->lock);
	if (p->ctx_free != NULL)
		p->ctx_free(ctx);
	return NULL;
}

/* Run every finished job's done(), outside the lock. */
static void
run_done(cq_pool_t *p)
{
	pthread_mutex_lock(&p->lock);
	cq_pool_job_t *job = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (job != NULL) {
		cq_pool_job_t *next = job->next;
		pthread_mutex_lock(&p->lock);
		p->pending--;
		pthread_mutex_unlock(&p->lock);
		job->done(job);
		job = next;
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof(n));
	(void)r;
	(void)what;
	run_done(arg);
}

static int
start_threads(cq_pool_t *p)
{
	for (unsigned i = 0; i < p->nthreads; i++) {
		int err = pthread_create(&p->threads[i], NULL, thread_main, p);
		if (err != 0) {
			cq_log(CQ_LOG_ERR, err, "pthread_create() for pool %s",
				p->name);
			pthread_mutex_lock(&p->lock);
			p->stopping = true;
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->lock);
			for (unsigned j = 0; j < i; j++)
				pthread_join(p->threads[j], NULL);
			return -1;
		}
		char tname[32];
		snprintf(tname, sizeof(tname), "%.11s%u", p->name, i);
		tname[15] = '\0'; /* the kernel's limit */
		pthread_setname_np(p->threads[i], tname);
	}
	return 0;
}

cq_pool_t *
cq_pool_new(struct event_base *base, const char *name, unsigned threads,
	uint32_t max_wait_ms, cq_pool_ctx_new_fn *ctx_new,
	cq_pool_ctx_free_fn *ctx_free, void *arg)
{
	cq_pool_t *p = calloc(1, sizeof(*p));

	if (p == NULL ||
		(p->threads = calloc(threads, sizeof(pthread_t))) == NULL) {
		free(p);
		cq_log(CQ_LOG_ERR, ENOMEM, "pool %s", name);
		return NULL;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->nthreads = threads;
	p->max_wait_ms = max_wait_ms;
	p->ctx_new = ctx_new;
	p->ctx_free = ctx_free;
	p->arg = arg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0)
		cq_log(CQ_LOG_ERR, errno, "eventfd() for pool %s", name);
	else if ((p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_wake,
			  p)) == NULL ||
		event_add(p->ev, NULL) < 0)
		cq_log(CQ_LOG_ERR, 0, "event_add() for pool %s failed", name);
	else if (start_threads(p) == 0)
		return p;
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd >= 0)
		close(p->efd);
	free(p->threads);
	free(p);
	return NULL;
}

void
cq_pool_submit(cq_pool_t *p, cq_pool_job_t *job)
{
	job->queued_ms = cq_pool_now_ms();
	job->expired = false;
	pthread_mutex_lock(&p->lock);
	p->pending++;
	push(&p->queue_head, &p->queue_tail, job);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

unsigned
cq_pool_pending(const cq_pool_t *p)
{
	cq_pool_t *q = (cq_pool_t *)p;
	pthread_mutex_lock(&q->lock);
	unsigned n = q->pending;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void
cq_pool_free(cq_pool_t *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	run_done(p);
	event_free(p->ev);
	close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
