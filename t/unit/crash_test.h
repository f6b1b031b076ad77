/*
 * crash_test.h — helpers for the tables' crash-point suites: a child
 * process that works on the region until an armed crash point kills it,
 * and memory shared with such children outside the region (test
 * bookkeeping the checker must not count as leaked arena objects).
 */
#ifndef CQ_T_UNIT_CRASH_TEST_H
#define CQ_T_UNIT_CRASH_TEST_H

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm/crashpoint.h"
#include "t/unit/shm_test.h"

/* Zeroed memory shared with forked children, outside the region. */
static inline void *
crash_shared_zalloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/*
 * Fork a child that takes worker slot 'slot', arms crash point 'cp' to
 * fire on its 'countdown'-th hit and runs work(trial, arg), which must hit
 * it; wait until the crash point killed it (SIGKILL), then reap the slot
 * as the master would.
 */
static inline void
crash_trial(cq_shm_t *shm, unsigned slot, const char *cp, uint32_t countdown,
	uint32_t trial, void (*work)(uint32_t trial, void *arg), void *arg)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_shm_set_slot(slot);
		cq_crashpoint_arm(cp, countdown, 0, trial);
		work(trial, arg);
		_exit(3); /* the crash point never fired */
	}
	ck_assert_msg(shm_test_wait(pid) == SIGKILL,
		"the child was not killed at %s", cp);
	cq_shm_reap(shm, slot);
}

#endif /* CQ_T_UNIT_CRASH_TEST_H */
