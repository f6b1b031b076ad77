/*
 * pool.h — a small thread pool whose jobs finish on authd's loop thread.
 *
 * authd's loop never blocks; what must block (a synchronous database
 * client, bcrypt) is a job: work() runs on a pool thread, then done() runs
 * on the loop thread (an eventfd wakes the loop).  Each thread may own a
 * context made by ctx_new() (a database connection: one per thread, so a
 * pool of N threads is a connection pool of N), passed to every work() it
 * runs.
 *
 * A job that waited in the queue longer than max_wait_ms is not worked:
 * done() sees job->expired, so that a stalled database turns into quick
 * "unavailable" answers instead of a queue that grows without end.
 *
 * Jobs are the caller's memory (embed cq_pool_job_t in a struct); the
 * pool only links them.  Threads block every signal: signals are the loop
 * thread's business.
 */
#ifndef CQ_AUTHD_POOL_H
#define CQ_AUTHD_POOL_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;

typedef struct cq_pool cq_pool_t;
typedef struct cq_pool_job cq_pool_job_t;

struct cq_pool_job {
	/* On a pool thread, with that thread's context. */
	void (*work)(cq_pool_job_t *job, void *thread_ctx);
	/* On the loop thread, after work() (or without it if expired). */
	void (*done)(cq_pool_job_t *job);
	bool expired;
	/* Private. */
	uint64_t queued_ms;
	cq_pool_job_t *next;
};

/* Per-thread context: made on the thread before its first job (NULL is
 * a valid context), freed on it when the pool stops.  Either may be
 * NULL. */
typedef void *cq_pool_ctx_new_fn(void *arg);
typedef void cq_pool_ctx_free_fn(void *ctx);

/*
 * Start 'threads' threads named "<name>N".  NULL on failure (logged).
 */
cq_pool_t *cq_pool_new(struct event_base *base, const char *name,
	unsigned threads, uint32_t max_wait_ms, cq_pool_ctx_new_fn *ctx_new,
	cq_pool_ctx_free_fn *ctx_free, void *arg);

/* Queue a job (job->work and job->done set).  Loop thread only. */
void cq_pool_submit(cq_pool_t *p, cq_pool_job_t *job);

/* Jobs queued or running. */
unsigned cq_pool_pending(const cq_pool_t *p);

/*
 * Stop: jobs still queued are completed as expired, running ones are
 * waited for, every done() runs, the threads are joined.  Loop thread.
 */
void cq_pool_free(cq_pool_t *p);

/* CLOCK_MONOTONIC milliseconds. */
uint64_t cq_pool_now_ms(void);

#endif /* CQ_AUTHD_POOL_H */
