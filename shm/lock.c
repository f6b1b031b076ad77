/*
 * lock.c — see lock.h.
 *
 * The owner pid is written right after the kernel hands us the mutex and
 * cleared right before we give it back, so it is a hint, not the truth: a
 * process killed between pthread_mutex_lock() returning and the store
 * leaves owner_pid 0 on a mutex it holds.  That is harmless: the kernel's
 * robust list still hands EOWNERDEAD to the next locker.  The reaper uses
 * the hint only to recover eagerly (cq_mutex_owner_dead).
 *
 * getpid() is a system call on current glibc, so the pid is cached per
 * process and reset in the child by a fork handler.
 */
#include "config.h"
#include "shm/lock.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/log.h"
#include "shm/relptr.h"

static uint32_t my_pid;

static void
forget_pid(void)
{
	my_pid = 0;
}

__attribute__((constructor)) static void
lock_register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, forget_pid);
}

static uint32_t
self_pid(void)
{
	if (cq_unlikely(my_pid == 0))
		my_pid = (uint32_t)getpid();
	return my_pid;
}

int
cq_mutex_init(cq_mutex_t *mx)
{
	pthread_mutexattr_t attr;
	int rc = pthread_mutexattr_init(&attr);
	if (rc == 0)
		rc = pthread_mutexattr_setpshared(
			&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(&mx->m, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc != 0) {
		cq_log(CQ_LOG_ERR, rc,
			"pthread_mutex_init() of a shared mutex "
			"failed");
		errno = rc;
		return -1;
	}
	mx->owner_pid = 0;
	mx->recoveries = 0;
	return 0;
}

/* Where the mutex is, for the log line: an shm offset when it lies in the
 * current mapping. */
static unsigned long
mutex_where(const cq_mutex_t *mx)
{
	const char *p = (const char *)mx;
	if (cq_shm_cur != NULL && p >= cq_shm_cur)
		return (unsigned long)(p - cq_shm_cur);
	return (unsigned long)(uintptr_t)p;
}

/* pthread_mutex_lock/trylock returned 'rc': turn it into our result. */
static int
lock_result(cq_mutex_t *mx, int rc)
{
	if (cq_likely(rc == 0)) {
		__atomic_store_n(&mx->owner_pid, self_pid(), __ATOMIC_RELAXED);
		return 0;
	}
	if (rc == EBUSY)
		return CQ_AGAIN;
	if (rc == EOWNERDEAD) {
		uint32_t dead = __atomic_load_n(
			&mx->owner_pid, __ATOMIC_RELAXED);
		pthread_mutex_consistent(&mx->m);
		mx->recoveries++;
		__atomic_store_n(&mx->owner_pid, self_pid(), __ATOMIC_RELAXED);
		cq_log(CQ_LOG_WARN, 0,
			"shm mutex at %#lx: owner pid %u died holding it; "
			"recovered (recovery %u)",
			mutex_where(mx), dead, mx->recoveries);
		return CQ_LOCK_RECOVERED;
	}
	/* ENOTRECOVERABLE cannot happen: every EOWNERDEAD above is made
	 * consistent before anything else.  Anything else is corruption. */
	cq_log(CQ_LOG_CRIT, rc, "shm mutex at %#lx unusable", mutex_where(mx));
	cq_unreachable();
}

int
cq_mutex_lock(cq_mutex_t *mx)
{
	return lock_result(mx, pthread_mutex_lock(&mx->m));
}

int
cq_mutex_trylock(cq_mutex_t *mx)
{
	return lock_result(mx, pthread_mutex_trylock(&mx->m));
}

void
cq_mutex_unlock(cq_mutex_t *mx)
{
	__atomic_store_n(&mx->owner_pid, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mx->m);
}

uint32_t
cq_mutex_owner(const cq_mutex_t *mx)
{
	return __atomic_load_n(&mx->owner_pid, __ATOMIC_RELAXED);
}

int
cq_mutex_owner_dead(const cq_mutex_t *mx)
{
	uint32_t pid = cq_mutex_owner(mx);
	if (pid == 0 || pid == self_pid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}
