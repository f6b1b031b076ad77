/*
 * check_shm_ring.c — the SPSC byte rings: records, wraparound, a full ring,
 * batches, the sleeping/wake-up protocol, two processes, and a producer or
 * consumer dying mid-way.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/ring.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

/* A test record: sequence number, then bytes derived from it. */
static size_t
rec_len(uint64_t seq)
{
	return 8 + (seq * 37) % 300;
}

static void
rec_fill(unsigned char *p, uint64_t seq)
{
	memcpy(p, &seq, 8);
	for (size_t i = 8; i < rec_len(seq); i++)
		p[i] = (unsigned char)(seq + i);
}

static int
rec_ok(const cq_ring_rec_t *r, uint64_t seq)
{
	const unsigned char *p = r->data;
	uint64_t got;
	if (r->len != rec_len(seq) || r->type != 7)
		return 0;
	memcpy(&got, p, 8);
	if (got != seq)
		return 0;
	for (size_t i = 8; i < r->len; i++) {
		if (p[i] != (unsigned char)(seq + i))
			return 0;
	}
	return 1;
}

static int
push_seq(unsigned dst, uint64_t seq)
{
	unsigned char buf[400];
	rec_fill(buf, seq);
	struct iovec iov[2] = {{buf, 5}, {buf + 5, rec_len(seq) - 5}};
	return cq_ring_push(dst, 7, 0, iov, 2);
}

static void
setup(cq_shm_t *shm, uint32_t workers, uint32_t ring_bytes)
{
	cq_shm_conf_t conf;
	cq_shm_conf_init(&conf);
	conf.workers = workers;
	conf.size = 16u << 20;
	conf.ring_bytes = ring_bytes;
	shm_test_create_conf(shm, &conf);
}

START_TEST(records_round_trip)
{
	cq_shm_t shm;
	setup(&shm, 2, 4096);
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, 1), 0);
	ck_assert_int_eq(push_seq(1, 2), 0);
	ck_assert_uint_eq(cq_ring_depth(0, 1),
		2 * 8 + ((rec_len(1) + 7) & ~7u) + ((rec_len(2) + 7) & ~7u));
	cq_ring_rec_t r;
	ck_assert_int_eq(cq_ring_peek(1, &r), CQ_AGAIN); /* ring[1][0] */
	cq_shm_set_slot(1);
	ck_assert_int_eq(cq_ring_peek(1, &r), CQ_AGAIN);
	ck_assert_int_eq(cq_ring_peek(0, &r), 0);
	ck_assert(rec_ok(&r, 1));
	ck_assert_int_eq(cq_ring_peek(0, &r), 0);
	ck_assert(rec_ok(&r, 2));
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN);
	cq_ring_consume(0);
	ck_assert_uint_eq(cq_ring_depth(0, 1), 0);
	cq_ring_stats_t st;
	cq_ring_stats(0, 1, &st);
	ck_assert_uint_eq(st.records, 2);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(bad_arguments)
{
	cq_shm_t shm;
	void *p;
	setup(&shm, 2, 4096);
	cq_shm_set_slot(CQ_SLOT_NONE);
	ck_assert_int_eq(cq_ring_reserve(0, 7, 0, 8, &p), -1);
	ck_assert_int_eq(errno, EINVAL);
	cq_shm_set_slot(0);
	ck_assert_int_eq(cq_ring_reserve(2, 7, 0, 8, &p), -1);
	ck_assert_int_eq(cq_ring_reserve(1, 0, 0, 8, &p), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(cq_ring_max_payload(), 1024 - 8);
	ck_assert_int_eq(cq_ring_reserve(1, 7, 0, 1017, &p), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(cq_ring_reserve(1, 7, 0, 1016, &p), 0);
	cq_ring_abort(1);
	ck_assert_uint_eq(cq_ring_depth(0, 1), 0);
	cq_shm_detach(&shm);
}
END_TEST

/* Many times around a small ring, records of every alignment, consumed
 * in batches: nothing lost, duplicated or torn. */
START_TEST(wraparound)
{
	cq_shm_t shm;
	setup(&shm, 1, 4096);
	cq_shm_set_slot(0);
	uint64_t sent = 0, got = 0;
	while (got < 20000) {
		while (sent < got + 1000 && push_seq(0, sent) == 0)
			sent++;
		cq_ring_rec_t r;
		for (int n = 0; n < 5 && cq_ring_peek(0, &r) == 0; n++) {
			ck_assert_msg(rec_ok(&r, got), "record %llu",
				(unsigned long long)got);
			got++;
		}
		cq_ring_consume(0);
	}
	cq_ring_stats_t st;
	cq_ring_stats(0, 0, &st);
	ck_assert_uint_gt(st.full, 0);
	ck_assert_uint_eq(st.records, sent);
	cq_shm_detach(&shm);
}
END_TEST

/* A full ring answers CQ_AGAIN and keeps everything committed. */
START_TEST(full_ring_reports)
{
	cq_shm_t shm;
	setup(&shm, 2, 4096);
	cq_shm_set_slot(0);
	uint64_t n = 0;
	while (push_seq(1, n) == 0)
		n++;
	ck_assert_uint_gt(n, 10);
	ck_assert_int_eq(push_seq(1, n), CQ_AGAIN);
	cq_shm_set_slot(1);
	cq_ring_rec_t r;
	ck_assert_int_eq(cq_ring_peek(0, &r), 0);
	ck_assert(rec_ok(&r, 0));
	/* Peeked but not consumed: the space is still taken. */
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, n), CQ_AGAIN);
	/* Half the ring consumed: room for any record, padding included. */
	cq_shm_set_slot(1);
	for (uint64_t i = 1; i < n / 2; i++) {
		ck_assert_int_eq(cq_ring_peek(0, &r), 0);
		ck_assert(rec_ok(&r, i));
	}
	cq_ring_consume(0);
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, n), 0);
	cq_shm_set_slot(1);
	for (uint64_t i = n / 2; i <= n; i++) {
		ck_assert_int_eq(cq_ring_peek(0, &r), 0);
		ck_assert(rec_ok(&r, i));
	}
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN);
	cq_shm_detach(&shm);
}
END_TEST

/* Reservations stack and one commit publishes them; abort forgets. */
START_TEST(reserve_commit_abort)
{
	cq_shm_t shm;
	setup(&shm, 2, 4096);
	cq_shm_set_slot(0);
	for (uint64_t s = 0; s < 3; s++) {
		void *p;
		ck_assert_int_eq(cq_ring_reserve(1, 7, 0, rec_len(s), &p), 0);
		rec_fill(p, s);
	}
	cq_shm_set_slot(1);
	cq_ring_rec_t r;
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN); /* not committed */
	cq_shm_set_slot(0);
	cq_ring_commit(1);
	void *p;
	ck_assert_int_eq(cq_ring_reserve(1, 7, 0, 100, &p), 0);
	cq_ring_abort(1);
	ck_assert_int_eq(push_seq(1, 3), 0);
	cq_shm_set_slot(1);
	for (uint64_t s = 0; s < 4; s++) {
		ck_assert_int_eq(cq_ring_peek(0, &r), 0);
		ck_assert(rec_ok(&r, s));
	}
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN);
	cq_shm_detach(&shm);
}
END_TEST

typedef struct drained {
	uint64_t next[4];
	unsigned n;
} drained_t;

static void
on_record(unsigned src, const cq_ring_rec_t *r, void *arg)
{
	drained_t *d = arg;
	ck_assert(rec_ok(r, d->next[src]));
	d->next[src]++;
	d->n++;
}

START_TEST(drain_batches_every_source)
{
	cq_shm_t shm;
	setup(&shm, 4, 4096);
	for (unsigned s = 0; s < 4; s++) {
		cq_shm_set_slot(s);
		for (uint64_t i = 0; i < 5; i++)
			ck_assert_int_eq(push_seq(2, i), 0);
	}
	cq_shm_set_slot(2);
	drained_t d = {{0}, 0};
	ck_assert_uint_eq(cq_ring_drain(on_record, &d, 3), 12);
	ck_assert_uint_eq(cq_ring_drain(on_record, &d, 3), 8);
	ck_assert_uint_eq(cq_ring_drain(on_record, &d, 3), 0);
	for (unsigned s = 0; s < 4; s++)
		ck_assert_uint_eq(cq_ring_depth(s, 2), 0);
	cq_shm_detach(&shm);
}
END_TEST

static int
readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

/* The sleeping flag: a wake-up only for a sleeper, once per sleep. */
START_TEST(sleep_and_wake)
{
	cq_shm_t shm;
	setup(&shm, 2, 4096);
	ck_assert_int_eq(cq_ring_eventfds_create(2), 0);
	cq_shm_set_slot(1);
	int fd = cq_ring_wakefd();
	ck_assert_int_ge(fd, 0);
	/* Not sleeping: producers do not write the eventfd. */
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, 0), 0);
	cq_ring_notify_pending();
	ck_assert(!readable(fd));
	/* Records waiting: the consumer must not sleep. */
	cq_shm_set_slot(1);
	ck_assert_int_eq(cq_ring_sleep(), CQ_AGAIN);
	cq_ring_rec_t r;
	ck_assert_int_eq(cq_ring_peek(0, &r), 0);
	cq_ring_consume(0);
	ck_assert_int_eq(cq_ring_sleep(), 0);
	/* Two producers, several records: one wake-up. */
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, 1), 0);
	ck_assert_int_eq(push_seq(1, 2), 0);
	cq_ring_notify_pending();
	cq_ring_notify(1);
	cq_shm_set_slot(1);
	ck_assert_int_eq(push_seq(1, 0), 0); /* ring[1][1] */
	cq_ring_notify_pending();
	ck_assert(readable(fd));
	cq_ring_stats_t st0, st1;
	cq_ring_stats(0, 1, &st0);
	cq_ring_stats(1, 1, &st1);
	ck_assert_uint_eq(st0.wakeups + st1.wakeups, 1);
	/* Withdrawing the announcement does not read the eventfd: a worker
	 * reads it from its own event only. */
	cq_ring_awake();
	ck_assert(readable(fd));
	cq_ring_wake_reset();
	ck_assert(!readable(fd));
	cq_ring_eventfds_close();
	cq_shm_detach(&shm);
}
END_TEST

/* A producer process and a consumer process, sleeping for real: every
 * record arrives once, in order. */
START_TEST(two_processes_with_wakeups)
{
	enum { N = 200000 };
	cq_shm_t shm;
	setup(&shm, 2, 8192);
	ck_assert_int_eq(cq_ring_eventfds_create(2), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_shm_set_slot(0);
		for (uint64_t s = 0; s < N;) {
			int rc = push_seq(1, s);
			if (rc == 0)
				s++;
			if (rc == CQ_AGAIN || s % 64 == 0)
				cq_ring_notify_pending();
		}
		cq_ring_notify_pending();
		_exit(0);
	}
	cq_shm_set_slot(1);
	uint64_t got = 0;
	unsigned sleeps = 0;
	while (got < N) {
		cq_ring_rec_t r;
		unsigned n = 0;
		while (n < 256 && cq_ring_peek(0, &r) == 0) {
			ck_assert(rec_ok(&r, got));
			got++;
			n++;
		}
		cq_ring_consume(0);
		if (n == 0 && cq_ring_sleep() == 0) {
			struct pollfd p = {
				.fd = cq_ring_wakefd(), .events = POLLIN};
			ck_assert_int_eq(poll(&p, 1, 10000), 1);
			cq_ring_wake_reset();
			sleeps++;
		}
		cq_ring_awake();
	}
	ck_assert_int_eq(shm_test_wait(pid), 0);
	cq_ring_rec_t r;
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN);
	cq_ring_eventfds_close();
	cq_shm_detach(&shm);
}
END_TEST

/* A producer killed between reserve and commit: nothing of its record is
 * visible; after the reap a new producer in the slot carries on. */
START_TEST(producer_dies_before_commit)
{
	cq_shm_t shm;
	setup(&shm, 2, 4096);
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, 0), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_crashpoint_arm("ring.reserved", 1, 0, 0);
		push_seq(1, 1);
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	cq_shm_set_slot(CQ_SLOT_NONE);
	cq_shm_reap(&shm, 0);
	ck_assert_uint_eq(
		shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT).errors, 0);
	cq_shm_set_slot(0);
	ck_assert_int_eq(push_seq(1, 1), 0);
	cq_shm_set_slot(1);
	cq_ring_rec_t r;
	for (uint64_t s = 0; s < 2; s++) {
		ck_assert_int_eq(cq_ring_peek(0, &r), 0);
		ck_assert(rec_ok(&r, s));
	}
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN);
	cq_shm_detach(&shm);
}
END_TEST

/* A consumer killed after peeking, before consuming: its replacement
 * reads the same records again from the head. */
START_TEST(consumer_dies_before_consume)
{
	cq_shm_t shm;
	setup(&shm, 2, 4096);
	cq_shm_set_slot(0);
	for (uint64_t s = 0; s < 3; s++)
		ck_assert_int_eq(push_seq(1, s), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_ring_rec_t r;
		cq_shm_set_slot(1);
		cq_ring_peek(0, &r);
		cq_ring_consume(0); /* record 0 is done */
		cq_ring_peek(0, &r);
		cq_ring_peek(0, &r);
		raise(SIGKILL);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	cq_shm_reap(&shm, 1);
	cq_shm_set_slot(1);
	cq_ring_rec_t r;
	for (uint64_t s = 1; s < 3; s++) {
		ck_assert_int_eq(cq_ring_peek(0, &r), 0);
		ck_assert(rec_ok(&r, s));
	}
	ck_assert_int_eq(cq_ring_peek(0, &r), CQ_AGAIN);
	cq_shm_detach(&shm);
}
END_TEST

/* Records carrying message references are counted by the checker. */
START_TEST(checker_counts_message_references)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	setup(&shm, 2, 4096);
	cq_shm_set_slot(0);
	cq_msg_info_t info = {.topic = "a/b", .topic_len = 3, .qos = 1};
	cq_off_t m = cq_msg_create(&info);
	cq_msg_ref(m, 1); /* one for each record */
	for (int i = 0; i < 2; i++) {
		struct iovec iov = {&m, sizeof(m)};
		ck_assert_int_eq(cq_ring_push(1, 9, CQ_RING_F_MSG, &iov, 1), 0);
	}
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	/* One more reference than records: a leaked reference. */
	cq_msg_ref(m, 1);
	rep = shm_test_check(
		&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 1);
	ck_assert_uint_eq(cq_msg_refcount(m), 2);
	/* Fewer references than records: an error. */
	cq_msg_unref(m);
	rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 1);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_ring");
	TCase *tc = tcase_create("ring");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, records_round_trip);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, wraparound);
	tcase_add_test(tc, full_ring_reports);
	tcase_add_test(tc, reserve_commit_abort);
	tcase_add_test(tc, drain_batches_every_source);
	tcase_add_test(tc, sleep_and_wake);
	tcase_add_test(tc, two_processes_with_wakeups);
	tcase_add_test(tc, producer_dies_before_commit);
	tcase_add_test(tc, consumer_dies_before_consume);
	tcase_add_test(tc, checker_counts_message_references);
	suite_add_tcase(s, tc);
	return s;
}
