/*
 * check_shm_qsbr.c — QSBR grace periods: online, offline and reaped slots,
 * the overflow chain, the orphan limbo, and the checker's view of limbos.
 *
 * One process plays several slots by switching cq_shm_slot (the QSBR calls
 * use it on every call), which makes the interleavings deterministic.
 */
#include "config.h"

#include "shm/arena.h"
#include "shm/qsbr.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static void
as_slot(unsigned slot)
{
	cq_shm_slot = slot;
}

/* Slot 'slot' passes a quiescent point; then back to slot 'back'. */
static void
quiesce_as(unsigned slot, unsigned back)
{
	as_slot(slot);
	cq_qsbr_quiescent();
	as_slot(back);
}

static void
register_as(unsigned slot)
{
	as_slot(slot);
	cq_qsbr_register();
}

static uint64_t
pending(void)
{
	cq_qsbr_stats_t st;
	cq_qsbr_stats(&st);
	return st.pending;
}

START_TEST(grace_period_waits_for_online_slots)
{
	cq_shm_t shm;
	shm_test_create(&shm, 3, 8u << 20);
	for (unsigned s = 0; s < 3; s++) {
		as_slot(s);
		cq_qsbr_register();
	}
	as_slot(0);
	cq_off_t obj = cq_arena_alloc(64);
	cq_qsbr_retire(obj);
	ck_assert_uint_eq(pending(), 1);
	/* Slot 0 itself has passed a quiescent point, 1 and 2 have not. */
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	quiesce_as(1, 0);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	quiesce_as(2, 0);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	ck_assert_uint_eq(pending(), 0);
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.classes[3].in_use, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* A quiescent point taken before the retirement does not count. */
START_TEST(old_quiescent_points_do_not_count)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	register_as(1);
	cq_qsbr_quiescent();
	register_as(0);
	cq_qsbr_retire(cq_arena_alloc(16));
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	quiesce_as(1, 0);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(offline_slot_does_not_block)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	register_as(1);
	cq_qsbr_offline(); /* e.g. blocked in epoll_wait */
	register_as(0);
	cq_qsbr_retire(cq_arena_alloc(16));
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	/* Coming back online joins the next grace period. */
	as_slot(1);
	cq_qsbr_online();
	as_slot(0);
	cq_qsbr_retire(cq_arena_alloc(16));
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	quiesce_as(1, 0);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	cq_shm_detach(&shm);
}
END_TEST

/* A stuck slot blocks everything until it is reaped; the reaper also
 * adopts its own limbo into the orphan limbo. */
START_TEST(reaped_slot_releases_grace_periods)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	register_as(1);
	cq_qsbr_retire(cq_arena_alloc(100)); /* in slot 1's limbo */
	register_as(0);
	for (int i = 0; i < 10; i++)
		cq_qsbr_retire(cq_arena_alloc(100));
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	ck_assert_uint_eq(pending(), 11);
	as_slot(CQ_SLOT_NONE);
	cq_shm_reap(&shm, 1); /* slot 1's limbo goes to the orphans */
	as_slot(0);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 10 + 0);
	ck_assert_uint_eq(pending(), 0);
	uint32_t pid;
	cq_qsbr_progress(1, &pid);
	ck_assert_uint_eq(pid, 0);
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.classes[6].in_use, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* More retirements than the inline ring holds while a reader is stuck:
 * the overflow chain keeps them all; they are freed when it moves. */
START_TEST(overflow_chain)
{
	enum { N = 2000 };
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	register_as(1);
	register_as(0);
	for (int i = 0; i < N; i++)
		cq_qsbr_retire(cq_arena_alloc(32));
	ck_assert_uint_eq(pending(), N);
	/* The limbo's blocks and the retired objects are all owned. */
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	quiesce_as(1, 0);
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), N);
	ck_assert_uint_eq(pending(), 0);
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.large_in_use, 0);
	for (unsigned c = 0; c < st.nclasses; c++)
		ck_assert_uint_eq(st.classes[c].in_use, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* Processes without a slot (the master) retire into the orphan limbo. */
START_TEST(orphan_limbo)
{
	cq_shm_t shm;
	shm_test_create(&shm, 1, 8u << 20);
	register_as(0);
	as_slot(CQ_SLOT_NONE);
	cq_qsbr_retire(cq_arena_alloc(500));
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	quiesce_as(0, CQ_SLOT_NONE);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	cq_shm_detach(&shm);
}
END_TEST

/* A reader in another process holds an object across the retirement; its
 * contents stay intact until the reader passes a quiescent point. */
START_TEST(reader_in_another_process)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	int go[2], done[2];
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	cq_off_t *root = CQ_PTR(cq_off_t, cq_arena_zalloc(16));
	cq_off_t obj = cq_arena_alloc(64);
	*CQ_PTR(uint64_t, obj) = 0x1234;
	cq_off_publish(root, obj);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		cq_shm_set_slot(1);
		cq_qsbr_register();
		cq_qsbr_quiescent();
		uint64_t *p = CQ_PTR(uint64_t, cq_off_load(root));
		ck_assert_int_eq(write(done[1], "r", 1), 1); /* holds p */
		ck_assert_int_eq(read(go[0], &c, 1), 1);
		int ok = *p == 0x1234;
		cq_qsbr_quiescent(); /* drops p */
		ck_assert_int_eq(write(done[1], "q", 1), 1);
		_exit(ok ? 0 : 1);
	}
	char c;
	cq_shm_set_slot(0);
	cq_qsbr_register();
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	cq_off_publish(root, CQ_OFF_NULL);
	cq_qsbr_retire(obj);
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	ck_assert_int_eq(shm_test_wait(pid), 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(progress_and_check)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	register_as(1);
	uint32_t pid;
	uint64_t before = cq_qsbr_progress(1, &pid);
	ck_assert_uint_eq(pid, (uint32_t)getpid());
	for (int i = 0; i < 5; i++)
		cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_progress(1, NULL), before + 5);
	cq_qsbr_retire(cq_arena_alloc(16));
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	cq_qsbr_unregister();
	cq_qsbr_progress(1, &pid);
	ck_assert_uint_eq(pid, 0);
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_qsbr");
	TCase *tc = tcase_create("qsbr");
	tcase_add_test(tc, grace_period_waits_for_online_slots);
	tcase_add_test(tc, old_quiescent_points_do_not_count);
	tcase_add_test(tc, offline_slot_does_not_block);
	tcase_add_test(tc, reaped_slot_releases_grace_periods);
	tcase_add_test(tc, overflow_chain);
	tcase_add_test(tc, orphan_limbo);
	tcase_add_test(tc, reader_in_another_process);
	tcase_add_test(tc, progress_and_check);
	suite_add_tcase(s, tc);
	return s;
}
