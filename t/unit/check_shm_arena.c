/*
 * check_shm_arena.c — the shm arena: size classes, large objects,
 * exhaustion and recovery, magazines, the checker's leak scan, and a
 * process dying inside the arena's locked sections.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "shm/arena.h"
#include "shm/arena-int.h"
#include "shm/crashpoint.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static void
fill(cq_off_t off, size_t n, unsigned seed)
{
	unsigned char *p = CQ_PTR(unsigned char, off);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int
intact(cq_off_t off, size_t n, unsigned seed)
{
	const unsigned char *p = CQ_PTR(unsigned char, off);
	for (size_t i = 0; i < n; i++) {
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	}
	return 1;
}

/* Every size 0..4096 gets an aligned object of the smallest class that
 * fits, and objects never overlap. */
static void
run_every_size(unsigned slot)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 32u << 20);
	cq_shm_set_slot(slot);
	static cq_off_t offs[4097];
	for (size_t sz = 0; sz <= 4096; sz++) {
		offs[sz] = cq_arena_alloc(sz);
		ck_assert_uint_ne(offs[sz], CQ_OFF_NULL);
		size_t u = cq_arena_usable_size(offs[sz]);
		ck_assert_uint_ge(u, sz);
		ck_assert_uint_ge(u, 16);
		ck_assert(u < 2 * sz + 32); /* classes are tight */
		fill(offs[sz], sz, (unsigned)sz);
	}
	for (size_t sz = 0; sz <= 4096; sz++)
		ck_assert_msg(
			intact(offs[sz], sz, (unsigned)sz), "size %zu", sz);
	ck_assert_uint_eq(shm_test_in_use(), 4097);
	for (size_t sz = 0; sz <= 4096; sz++)
		cq_arena_free(offs[sz]);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_detach(&shm);
}

START_TEST(every_size_with_magazines)
{
	run_every_size(0);
}
END_TEST

START_TEST(every_size_without_slot)
{
	run_every_size(CQ_SLOT_NONE);
}
END_TEST

START_TEST(large_objects_coalesce)
{
	cq_shm_t shm;
	shm_test_create(&shm, 1, 16u << 20);
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	uint64_t total = st.total_bytes;
	cq_off_t o[64];
	for (int i = 0; i < 64; i++) {
		size_t sz = 4097 + (size_t)i * 3000;
		o[i] = cq_arena_alloc(sz);
		ck_assert_uint_ne(o[i], CQ_OFF_NULL);
		ck_assert_uint_eq(
			cq_arena_usable_size(o[i]), (sz + 4095) & ~4095u);
		ck_assert_uint_eq(((size_t)o[i] << 4) % 4096, 0);
		fill(o[i], sz, (unsigned)i);
	}
	for (int i = 0; i < 64; i++)
		ck_assert(intact(o[i], 4097 + (size_t)i * 3000, (unsigned)i));
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.large_in_use, 64);
	/* Free in a scattered order: neighbours must merge back. */
	for (int i = 0; i < 64; i += 2)
		cq_arena_free(o[i]);
	for (int i = 63; i > 0; i -= 2)
		cq_arena_free(o[i]);
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.large_in_use, 0);
	ck_assert_uint_eq(st.used_bytes, 0);
	/* One run covering (nearly) everything proves full coalescing. */
	cq_off_t big = cq_arena_alloc(total);
	ck_assert_uint_ne(big, CQ_OFF_NULL);
	ck_assert_uint_eq(cq_arena_alloc(4097), CQ_OFF_NULL);
	cq_arena_free(big);
	ck_assert_uint_eq(cq_arena_alloc(total + 1), CQ_OFF_NULL);
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* Fill the arena with one class, then large objects; both fail cleanly,
 * count the failure, and work again after frees. */
static unsigned
exhaust(cq_off_t *v, unsigned max, size_t size)
{
	unsigned n = 0;
	while (n < max && (v[n] = cq_arena_alloc(size)) != CQ_OFF_NULL)
		n++;
	return n;
}

static void
run_exhaustion(unsigned slot)
{
	enum { MAX = 20000 };
	static cq_off_t v[MAX];
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 1, 4u << 20);
	cq_shm_set_slot(slot);
	unsigned n = exhaust(v, MAX, 1000);
	ck_assert_uint_gt(n, 100);
	ck_assert_uint_lt(n, MAX);
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	ck_assert_uint_gt(st.alloc_failures, 0);
	ck_assert_uint_eq(cq_arena_alloc(100000), CQ_OFF_NULL);
	for (unsigned i = 0; i < n; i++)
		cq_arena_free(v[i]);
	cq_arena_flush_magazines();
	ck_assert_uint_eq(shm_test_in_use(), 0);
	/* All of it comes back, for another class too. */
	unsigned again = exhaust(v, MAX, 1000);
	ck_assert_uint_ge(again, n);
	for (unsigned i = 0; i < again; i++)
		cq_arena_free(v[i]);
	cq_arena_flush_magazines();
	unsigned big = exhaust(v, MAX, 70000);
	ck_assert_uint_gt(big, 10);
	for (unsigned i = 0; i < big; i++)
		cq_arena_free(v[i]);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_detach(&shm);
}

START_TEST(exhaustion_and_recovery)
{
	run_exhaustion(0);
}
END_TEST

START_TEST(exhaustion_and_recovery_without_slot)
{
	run_exhaustion(CQ_SLOT_NONE);
}
END_TEST

START_TEST(zalloc_zeroes)
{
	cq_shm_t shm;
	shm_test_create(&shm, 1, 4u << 20);
	cq_shm_set_slot(0);
	cq_off_t a = cq_arena_alloc(200);
	memset(CQ_PTR(char, a), 0xff, 200);
	cq_arena_free(a);
	cq_off_t b = cq_arena_zalloc(200);
	ck_assert_uint_eq(a, b); /* LIFO magazine: the same object */
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(CQ_PTR(char, b)[i], 0);
	cq_shm_detach(&shm);
}
END_TEST

/* Magazines cache objects per slot; flushing returns them and releases
 * empty superblocks (one spare per class stays). */
START_TEST(magazines_flush)
{
	enum { N = 5000 };
	static cq_off_t v[N];
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	cq_shm_set_slot(1);
	for (int i = 0; i < N; i++)
		v[i] = cq_arena_alloc(48);
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.classes[2].object_size, 48);
	ck_assert_uint_eq(st.classes[2].in_use, N);
	ck_assert_uint_ge(st.classes[2].superblocks, 4);
	for (int i = 0; i < N; i++)
		cq_arena_free(v[i]);
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.classes[2].in_use, 0);
	cq_arena_flush_magazines();
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.classes[2].superblocks, 1);
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(bad_frees_are_ignored)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 1, 4u << 20);
	cq_off_t a = cq_arena_alloc(64);
	cq_arena_free(a + 1); /* inside an object */
	cq_arena_free(1); /* the header */
	cq_arena_free(UINT32_MAX); /* beyond the region */
	cq_arena_free(CQ_OFF_NULL);
	cq_arena_free(a);
	cq_arena_free(a); /* double free, caught without a magazine */
	cq_off_t big = cq_arena_alloc(10000);
	cq_arena_free(big + 256); /* inside a large object */
	cq_arena_free(big);
	cq_arena_free(big);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	ck_assert_uint_eq(cq_arena_usable_size(a + 1), 0);
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* The leak scan: objects nobody declares are leaks; REPAIR frees them; a
 * declared object that is not live is an error. */
typedef struct held {
	cq_off_t *v;
	unsigned n;
} held_t;

static void
declare_held(cq_shm_t *shm, cq_shm_report_t *rep, void *arg)
{
	held_t *h = arg;
	for (unsigned i = 0; i < h->n; i++)
		cq_arena_mark(shm, rep, h->v[i]);
}

START_TEST(leak_scan)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 1, 8u << 20);
	cq_shm_set_slot(0);
	cq_off_t v[10];
	for (int i = 0; i < 10; i++)
		v[i] = cq_arena_alloc(i < 5 ? 100 : 9000);
	held_t h = {v, 6}; /* v[6..9], large objects, leak */
	cq_shm_report_t rep = {0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT;
	rep.declare = declare_held;
	rep.declare_arg = &h;
	cq_shm_check(&shm, &rep);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 4);
	ck_assert_uint_eq(shm_test_in_use(), 10);
	rep = (cq_shm_report_t){0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR;
	rep.declare = declare_held;
	rep.declare_arg = &h;
	cq_shm_check(&shm, &rep);
	ck_assert_uint_eq(rep.leaked_objects, 4);
	ck_assert_uint_eq(rep.repaired, 4);
	ck_assert_uint_eq(shm_test_in_use(), 6);
	/* Declaring a freed object is a use after free. */
	cq_arena_free(v[0]);
	rep = (cq_shm_report_t){0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT;
	rep.declare = declare_held;
	rep.declare_arg = &h;
	cq_shm_check(&shm, &rep);
	ck_assert_uint_eq(rep.errors, 1);
	cq_shm_detach(&shm);
}
END_TEST

/* Derived state that disagrees with the page map and bitmaps (counters,
 * free lists) is rebuilt by the checker, not reported as an error. */
START_TEST(checker_repairs_derived_state)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 1, 8u << 20);
	cq_off_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = cq_arena_alloc(i % 2 ? 32 : 5000);
	arena_ctx_t x;
	ck_assert_int_eq(cq_arena_ctx(&x, shm.base, shm.size,
				 cq_shm_area(&shm, "arena", NULL)),
		0);
	x.a->free_pages += 5;
	x.cls[1].allocated += 3;
	x.cls[1].partial = 0;
	memset(x.a->bins, 0, sizeof(x.a->bins));
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.repaired, 2);
	rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors + rep.repaired, 0);
	/* A nonsense page map tag is corruption, not derived state. */
	uint32_t last = x.a->npages - 1;
	uint32_t saved = x.pm[0];
	x.pm[0] = PM_TAG(PM_FTAIL, 3);
	rep = shm_test_check(&shm, 0);
	ck_assert_uint_ge(rep.errors, 1);
	x.pm[0] = saved;
	(void)last;
	for (int i = 0; i < 100; i++)
		cq_arena_free(v[i]);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	cq_shm_detach(&shm);
}
END_TEST

/* A worker dies (SIGKILL at a crash point) inside a class or page lock:
 * the master reaps its slot, the lock is recovered, derived state is
 * rebuilt, the checker passes and allocation goes on. */
static void
run_crash_in(const char *point, size_t size)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 2, 16u << 20);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_shm_set_slot(1);
		cq_crashpoint_arm(point, 3, 0, 1);
		for (int i = 0; i < 100000; i++) {
			cq_off_t o = cq_arena_alloc(size);
			if (i % 3 == 0)
				cq_arena_free(o);
		}
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	cq_shm_reap(&shm, 1);
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	/* The slot's objects were never declared: all leaked, none lost. */
	rep = shm_test_check(
		&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	cq_shm_set_slot(0);
	for (int i = 0; i < (size > 4096 ? 100 : 1000); i++)
		ck_assert_uint_ne(cq_arena_alloc(size), CQ_OFF_NULL);
	rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	cq_shm_detach(&shm);
}

START_TEST(crash_in_class_lock)
{
	run_crash_in("arena.class_locked", 64);
}
END_TEST

START_TEST(crash_in_page_lock_small)
{
	run_crash_in("arena.pages_locked", 2048);
}
END_TEST

START_TEST(crash_in_page_lock_large)
{
	run_crash_in("arena.pages_locked", 20000);
}
END_TEST

/* Two processes allocate and free concurrently; neither sees an object the
 * other holds (each writes its pid into its objects and checks it). */
START_TEST(two_processes)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 32u << 20);
	pid_t pids[2];
	for (unsigned s = 0; s < 2; s++) {
		pids[s] = fork();
		ck_assert_int_ge(pids[s], 0);
		if (pids[s] != 0)
			continue;
		cq_shm_set_slot(s);
		cq_off_t held[256] = {0};
		unsigned rng = s * 7919 + 1;
		for (int i = 0; i < 200000; i++) {
			rng = rng * 1103515245 + 12345;
			unsigned k = (rng >> 8) % 256;
			if (held[k] != CQ_OFF_NULL) {
				if (*CQ_PTR(uint32_t, held[k]) != s + 1000u * k)
					_exit(2);
				cq_arena_free(held[k]);
				held[k] = CQ_OFF_NULL;
			} else {
				size_t sz = 16 +
					(rng >> 16) % (k < 8 ? 9000 : 600);
				held[k] = cq_arena_alloc(sz);
				if (held[k] == CQ_OFF_NULL)
					_exit(3);
				*CQ_PTR(uint32_t, held[k]) = s + 1000u * k;
			}
		}
		for (int k = 0; k < 256; k++)
			cq_arena_free(held[k]);
		cq_arena_flush_magazines();
		_exit(0);
	}
	for (unsigned s = 0; s < 2; s++)
		ck_assert_int_eq(shm_test_wait(pids[s]), 0);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_arena");
	TCase *tc = tcase_create("arena");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_size_with_magazines);
	tcase_add_test(tc, every_size_without_slot);
	tcase_add_test(tc, large_objects_coalesce);
	tcase_add_test(tc, exhaustion_and_recovery);
	tcase_add_test(tc, exhaustion_and_recovery_without_slot);
	tcase_add_test(tc, zalloc_zeroes);
	tcase_add_test(tc, magazines_flush);
	tcase_add_test(tc, bad_frees_are_ignored);
	tcase_add_test(tc, leak_scan);
	tcase_add_test(tc, checker_repairs_derived_state);
	tcase_add_test(tc, crash_in_class_lock);
	tcase_add_test(tc, crash_in_page_lock_small);
	tcase_add_test(tc, crash_in_page_lock_large);
	tcase_add_test(tc, two_processes);
	suite_add_tcase(s, tc);
	return s;
}
