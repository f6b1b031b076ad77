/*
 * check_shm_region.c — the region: create, attach, header validation, the
 * TOC, a second mapping, and the checker on a fresh region.
 */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm/arena.h"
#include "shm/qsbr.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

START_TEST(create_fills_header_and_toc)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 16u << 20);
	ck_assert_ptr_eq(cq_shm_cur, shm.base);
	ck_assert(shm.hdr->magic == CQ_SHM_MAGIC);
	ck_assert_uint_eq(shm.hdr->layout_version, CQ_SHM_LAYOUT_VERSION);
	ck_assert_uint_eq(shm.hdr->size, 16u << 20);
	ck_assert_uint_eq(shm.hdr->conf.workers, 4);
	ck_assert_uint_eq(shm.hdr->creator_pid, (uint32_t)getpid());
	size_t asz, qsz;
	char *arena = cq_shm_area(&shm, "arena", &asz);
	char *qsbr = cq_shm_area(&shm, "qsbr", &qsz);
	ck_assert_ptr_nonnull(arena);
	ck_assert_ptr_nonnull(qsbr);
	ck_assert_ptr_null(cq_shm_area(&shm, "nonesuch", NULL));
	/* The arena comes last and runs to the end. */
	ck_assert(arena + asz == shm.base + shm.size);
	ck_assert((size_t)(arena - shm.base) % 4096 == 0);
	cq_shm_detach(&shm);
	ck_assert_ptr_null(cq_shm_cur);
}
END_TEST

START_TEST(generation_increases)
{
	cq_shm_t a, b;
	shm_test_create(&a, 1, 4u << 20);
	uint64_t ga = a.hdr->generation;
	shm_test_create(&b, 1, 4u << 20);
	ck_assert(b.hdr->generation > ga);
	cq_shm_detach(&a);
	cq_shm_detach(&b);
}
END_TEST

START_TEST(conf_rejected)
{
	cq_shm_conf_t conf;
	cq_shm_t shm;
	const char *err = NULL;
	cq_shm_conf_init(&conf);
	conf.workers = 0;
	ck_assert_int_eq(cq_shm_create(&conf, &shm, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "workers"));
	cq_shm_conf_init(&conf);
	conf.ring_bytes = 5000;
	ck_assert_int_eq(cq_shm_create(&conf, &shm, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "ring_bytes"));
	cq_shm_conf_init(&conf);
	conf.size = 4096 * 17 + 1;
	ck_assert_int_eq(cq_shm_create(&conf, &shm, &err), -1);
	cq_shm_conf_init(&conf);
	conf.size = 128u << 10; /* smaller than the fixed tables */
	conf.workers = 64;
	ck_assert_int_eq(cq_shm_create(&conf, &shm, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too small"));
}
END_TEST

/* A second mapping at another address reads what the first wrote, and
 * offsets mean the same thing in both. */
START_TEST(second_mapping_sees_same_data)
{
	cq_shm_t a, b;
	const char *err = NULL;
	shm_test_create(&a, 2, 8u << 20);
	ck_assert_int_eq(cq_shm_attach(a.fd, &b, &err), 0);
	ck_assert_ptr_ne(a.base, b.base);
	ck_assert_uint_eq(b.size, a.size);
	cq_off_t off = cq_arena_alloc(100);
	ck_assert_uint_ne(off, CQ_OFF_NULL);
	strcpy(cq_off_ptr(a.base, off), "written through mapping a");
	ck_assert_str_eq(cq_off_ptr(b.base, off), "written through mapping a");
	ck_assert_uint_eq(cq_ptr_off(b.base, cq_off_ptr(b.base, off)), off);
	/* Switch the current mapping: the allocator follows. */
	cq_shm_use(&b);
	ck_assert_ptr_eq(cq_shm_cur, b.base);
	ck_assert_uint_eq(cq_arena_usable_size(off), 112);
	cq_arena_free(off);
	cq_shm_report_t rep = shm_test_check(&b, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	cq_shm_detach(&b);
	cq_shm_use(&a);
	cq_shm_detach(&a);
}
END_TEST

/* Corrupt one header field through a scribbling mapping, expect attach to
 * refuse with a message naming it, then restore it. */
#define EXPECT_REFUSED(shm, field, bad, what)                                  \
	do {                                                                   \
		__typeof__((shm)->hdr->field) saved_ = (shm)->hdr->field;      \
		cq_shm_t other_;                                               \
		const char *err_ = NULL;                                       \
		(shm)->hdr->field = (bad);                                     \
		ck_assert_int_eq(                                              \
			cq_shm_attach((shm)->fd, &other_, &err_), -1);         \
		ck_assert_msg(err_ != NULL && strstr(err_, what) != NULL,      \
			"expected \"%s\", got \"%s\"", what,                   \
			err_ ? err_ : "(null)");                               \
		(shm)->hdr->field = saved_;                                    \
	} while (0)

START_TEST(attach_rejects_corrupt_headers)
{
	cq_shm_t shm, ok;
	const char *err = NULL;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 2, 8u << 20);
	EXPECT_REFUSED(&shm, magic, 42, "magic");
	EXPECT_REFUSED(&shm, layout_version, 99, "version");
	EXPECT_REFUSED(&shm, header_size, 12, "header size");
	EXPECT_REFUSED(&shm, size, 4u << 20, "does not match");
	EXPECT_REFUSED(&shm, ntoc, CQ_SHM_TOC_MAX + 1, "TOC count");
	EXPECT_REFUSED(&shm, ntoc, 0, "TOC count");
	EXPECT_REFUSED(&shm, conf.workers, 0, "workers");
	EXPECT_REFUSED(&shm, toc[0].offset, 8u << 20, "out of bounds");
	EXPECT_REFUSED(&shm, toc[0].offset, 8, "out of bounds");
	EXPECT_REFUSED(&shm, toc[0].offset, 4096 + 3, "out of bounds");
	EXPECT_REFUSED(&shm, toc[0].size, 9u << 20, "out of bounds");
	EXPECT_REFUSED(&shm, toc[1].offset, shm.hdr->toc[0].offset, "overlap");
	EXPECT_REFUSED(&shm, toc[0].name[0], '\0', "bad name");
	EXPECT_REFUSED(&shm, toc[0].name[0], 'X', "modules");
	EXPECT_REFUSED(
		&shm, toc[0].size, shm.hdr->toc[0].size + 4096, "overlap");
	/* Everything restored: attach works again. */
	ck_assert_int_eq(cq_shm_attach(shm.fd, &ok, &err), 0);
	cq_shm_detach(&ok);
	/* The checker reports a corrupt header instead of walking it. */
	shm.hdr->magic ^= 1;
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 1);
	shm.hdr->magic ^= 1;
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(attach_rejects_foreign_files)
{
	cq_shm_t shm;
	const char *err = NULL;
	cq_log_set_level(CQ_LOG_CRIT);
	int fd = memfd_create("not-a-region", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cq_shm_attach(fd, &shm, &err), -1); /* empty */
	ck_assert_int_eq(ftruncate(fd, 1u << 20), 0);
	ck_assert_int_eq(cq_shm_attach(fd, &shm, &err), -1); /* zeroes */
	ck_assert_ptr_nonnull(strstr(err, "magic"));
	close(fd);
	ck_assert_int_eq(cq_shm_attach(fd, &shm, &err), -1); /* closed */
}
END_TEST

/* The size is sealed: nobody can shrink the region under the workers. */
START_TEST(size_is_sealed)
{
	cq_shm_t shm;
	shm_test_create(&shm, 1, 4u << 20);
	ck_assert_int_eq(ftruncate(shm.fd, 4096), -1);
	ck_assert_int_eq(ftruncate(shm.fd, 8u << 20), -1);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(fresh_region_checks_clean)
{
	cq_shm_t shm;
	shm_test_create(&shm, 8, 32u << 20);
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.repaired, 0);
	rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* A child forked after create uses the inherited mapping and descriptor. */
START_TEST(child_inherits_region)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_off_t off = cq_arena_alloc(64);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_shm_set_slot(1);
		cq_shm_t again;
		const char *err;
		int ok = cq_shm_attach(shm.fd, &again, &err) == 0;
		strcpy(cq_off_ptr(shm.base, off), "from the child");
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(shm_test_wait(pid), 0);
	ck_assert_str_eq(cq_off_ptr(shm.base, off), "from the child");
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(reap_rejects_bad_slot)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 2, 8u << 20);
	cq_shm_reap(&shm, 2);
	cq_shm_reap(&shm, 1); /* never used: nothing to do */
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_region");
	TCase *tc = tcase_create("region");
	tcase_add_test(tc, create_fills_header_and_toc);
	tcase_add_test(tc, generation_increases);
	tcase_add_test(tc, conf_rejected);
	tcase_add_test(tc, second_mapping_sees_same_data);
	tcase_add_test(tc, attach_rejects_corrupt_headers);
	tcase_add_test(tc, attach_rejects_foreign_files);
	tcase_add_test(tc, size_is_sealed);
	tcase_add_test(tc, fresh_region_checks_clean);
	tcase_add_test(tc, child_inherits_region);
	tcase_add_test(tc, reap_rejects_bad_slot);
	suite_add_tcase(s, tc);
	return s;
}
