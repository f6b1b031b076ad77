/*
 * shm_test.h — helpers shared by the shm unit suites (header-only: every
 * suite is its own binary).
 */
#ifndef CQ_T_UNIT_SHM_TEST_H
#define CQ_T_UNIT_SHM_TEST_H

#include <check.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "shm/arena.h"
#include "shm/region.h"

/* A fresh region for 'conf', made current, used from no slot. */
static inline void
shm_test_create_conf(cq_shm_t *shm, const cq_shm_conf_t *conf)
{
	const char *err = NULL;
	ck_assert_msg(cq_shm_create(conf, shm, &err) == 0, "create: %s", err);
	cq_shm_set_slot(CQ_SLOT_NONE);
}

/* The same with defaults but 'workers' slots and 'size' bytes. */
static inline void
shm_test_create(cq_shm_t *shm, uint32_t workers, uint64_t size)
{
	cq_shm_conf_t conf;
	cq_shm_conf_init(&conf);
	conf.workers = workers;
	conf.size = size;
	shm_test_create_conf(shm, &conf);
}

/* Objects handed out by the current mapping's arena, every class. */
static inline uint64_t
shm_test_in_use(void)
{
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	uint64_t n = st.large_in_use;
	for (unsigned c = 0; c < st.nclasses; c++)
		n += st.classes[c].in_use;
	return n;
}

/* Run cq_shm_check with 'flags'; returns the report. */
static inline cq_shm_report_t
shm_test_check(cq_shm_t *shm, unsigned flags)
{
	cq_shm_report_t rep = {0};
	rep.flags = flags;
	cq_shm_check(shm, &rep);
	return rep;
}

/* Wait for child 'pid'; returns the signal that killed it, or -exit code. */
static inline int
shm_test_wait(pid_t pid)
{
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : -WEXITSTATUS(st);
}

#endif
