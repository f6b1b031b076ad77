/*
 * check_shm_lock.c — robust process-shared mutexes, crash points and the
 * per-worker counters.
 */
#include "config.h"

#include <errno.h>

#include "shm/arena.h"
#include "shm/counters.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static cq_mutex_t *
shared_mutex(cq_shm_t *shm)
{
	shm_test_create(shm, 2, 4u << 20);
	cq_mutex_t *mx = CQ_PTR(
		cq_mutex_t, cq_arena_zalloc(sizeof(cq_mutex_t)));
	ck_assert_int_eq(cq_mutex_init(mx), 0);
	return mx;
}

START_TEST(lock_unlock_owner)
{
	cq_shm_t shm;
	cq_mutex_t *mx = shared_mutex(&shm);
	ck_assert_int_eq(cq_mutex_lock(mx), 0);
	ck_assert_uint_eq(cq_mutex_owner(mx), (uint32_t)getpid());
	ck_assert(!cq_mutex_owner_dead(mx));
	pid_t pid = fork();
	if (pid == 0)
		_exit(cq_mutex_trylock(mx) == CQ_AGAIN ? 0 : 1);
	ck_assert_int_eq(shm_test_wait(pid), 0);
	cq_mutex_unlock(mx);
	ck_assert_uint_eq(cq_mutex_owner(mx), 0);
	ck_assert_int_eq(cq_mutex_trylock(mx), 0);
	cq_mutex_unlock(mx);
	cq_shm_detach(&shm);
}
END_TEST

/* The owner dies holding it: the next locker recovers it, once. */
START_TEST(owner_death_is_recovered)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	cq_mutex_t *mx = shared_mutex(&shm);
	pid_t pid = fork();
	if (pid == 0) {
		cq_mutex_lock(mx);
		raise(SIGKILL);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	ck_assert_uint_eq(cq_mutex_owner(mx), (uint32_t)pid);
	ck_assert(cq_mutex_owner_dead(mx));
	ck_assert_int_eq(cq_mutex_lock(mx), CQ_LOCK_RECOVERED);
	ck_assert_uint_eq(mx->recoveries, 1);
	cq_mutex_unlock(mx);
	ck_assert_int_eq(cq_mutex_lock(mx), 0);
	cq_mutex_unlock(mx);
	/* trylock reports the recovery as well. */
	pid = fork();
	if (pid == 0) {
		cq_mutex_lock(mx);
		raise(SIGKILL);
	}
	shm_test_wait(pid);
	ck_assert_int_eq(cq_mutex_trylock(mx), CQ_LOCK_RECOVERED);
	ck_assert_uint_eq(mx->recoveries, 2);
	cq_mutex_unlock(mx);
	cq_shm_detach(&shm);
}
END_TEST

/* Mutual exclusion across processes: unprotected increments under the
 * lock add up. */
START_TEST(mutual_exclusion)
{
	cq_shm_t shm;
	cq_mutex_t *mx = shared_mutex(&shm);
	uint64_t *n = CQ_PTR(uint64_t, cq_arena_zalloc(8));
	pid_t pids[3];
	for (int p = 0; p < 3; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			for (int i = 0; i < 20000; i++) {
				cq_mutex_lock(mx);
				uint64_t v = *(volatile uint64_t *)n;
				*(volatile uint64_t *)n = v + 1;
				cq_mutex_unlock(mx);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < 3; p++)
		ck_assert_int_eq(shm_test_wait(pids[p]), 0);
	ck_assert_uint_eq(*n, 60000);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(crashpoint_countdown_and_spec)
{
	cq_log_set_level(CQ_LOG_CRIT);
	ck_assert_int_eq(cq_crashpoint_armed, 0);
	CQ_CRASHPOINT("nothing.armed");
	ck_assert_int_eq(cq_crashpoint_arm("", 1, 0, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cq_crashpoint_arm_spec("a.b:3,c.*", 1), 0);
	ck_assert_int_eq(cq_crashpoint_armed, 1);
	CQ_CRASHPOINT("a.b");
	CQ_CRASHPOINT("a.b");
	CQ_CRASHPOINT("c.d");
	CQ_CRASHPOINT("x.y");
	ck_assert_uint_eq(cq_crashpoint_hits("a.b"), 2);
	ck_assert_uint_eq(cq_crashpoint_hits("c.d"), 1);
	ck_assert_int_eq(cq_crashpoint_arm_spec("bad:x", 1), -1);
	ck_assert_int_eq(cq_crashpoint_arm_spec("bad:1:2000000", 1), -1);
	pid_t pid = fork();
	if (pid == 0) {
		CQ_CRASHPOINT("a.b"); /* the third hit */
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	pid = fork();
	if (pid == 0) {
		cq_crashpoint_disarm_all();
		cq_crashpoint_arm("p", 0, 1000000, 5);
		CQ_CRASHPOINT("p"); /* probability 1 */
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	cq_crashpoint_disarm_all();
	CQ_CRASHPOINT("a.b");
	ck_assert_int_eq(cq_crashpoint_armed, 0);
}
END_TEST

/* Counters: owner-written blocks summed by readers; gauges reset on reap,
 * counters survive a respawn into the same slot. */
START_TEST(counters_sum_and_reap)
{
	cq_shm_t shm;
	shm_test_create(&shm, 3, 4u << 20);
	cq_counter_add(CQ_CTR_MSGS_IN_Q0, 1000); /* no slot: private block */
	for (unsigned s = 0; s < 3; s++) {
		pid_t pid = fork();
		if (pid == 0) {
			cq_shm_set_slot(s);
			cq_counter_add(CQ_CTR_MSGS_IN_Q0, 10 + s);
			cq_counter_add(CQ_CTR_BYTES_IN, 100);
			cq_counter_set(CQ_CTR_CONNECTIONS, 5);
			cq_counter_sub(CQ_CTR_CONNECTIONS, 2);
			_exit(0);
		}
		ck_assert_int_eq(shm_test_wait(pid), 0);
	}
	uint64_t sum[CQ_CTR_COUNT], one[CQ_CTR_COUNT];
	cq_counters_sum(&shm, sum);
	ck_assert_uint_eq(sum[CQ_CTR_MSGS_IN_Q0], 33);
	ck_assert_uint_eq(sum[CQ_CTR_BYTES_IN], 300);
	ck_assert_uint_eq(sum[CQ_CTR_CONNECTIONS], 9);
	ck_assert_int_eq(cq_counters_read(&shm, 2, one), 0);
	ck_assert_uint_eq(cq_counter_read(&shm, 2, CQ_CTR_CONNECTIONS),
		one[CQ_CTR_CONNECTIONS]);
	ck_assert_uint_eq(cq_counter_read(&shm, 2, CQ_CTR_MSGS_IN_Q0),
		one[CQ_CTR_MSGS_IN_Q0]);
	ck_assert_uint_eq(
		cq_counter_read(&shm, 3, CQ_CTR_CONNECTIONS), UINT64_MAX);
	cq_shm_reap(&shm, 1);
	ck_assert_int_eq(cq_counters_read(&shm, 1, one), 0);
	ck_assert_uint_eq(one[CQ_CTR_CONNECTIONS], 0);
	ck_assert_uint_eq(one[CQ_CTR_MSGS_IN_Q0], 11);
	ck_assert_int_eq(cq_counters_read(&shm, 3, one), -1);
	ck_assert_str_eq(cq_counter_name(CQ_CTR_MSGS_IN_Q1), "msgs_in_qos1");
	ck_assert(cq_counter_is_gauge(CQ_CTR_RING_DEPTH));
	ck_assert(!cq_counter_is_gauge(CQ_CTR_BYTES_OUT));
	for (unsigned c = 0; c < CQ_CTR_COUNT; c++)
		ck_assert_str_ne(cq_counter_name((cq_counter_t)c), "?");
	cq_shm_detach(&shm);
	/* Detached: counting goes to the private block, not to freed memory. */
	cq_counter_add(CQ_CTR_MSGS_IN_Q0, 1);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_lock");
	TCase *tc = tcase_create("lock");
	tcase_add_test(tc, lock_unlock_owner);
	tcase_add_test(tc, owner_death_is_recovered);
	tcase_add_test(tc, mutual_exclusion);
	tcase_add_test(tc, crashpoint_countdown_and_spec);
	tcase_add_test(tc, counters_sum_and_reap);
	suite_add_tcase(s, tc);
	return s;
}
