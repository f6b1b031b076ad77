/*
 * check_shm_ctl.c — the admin's modules in shm: control rings (records,
 * wraparound, a full ring, wake-ups across processes, a producer killed
 * mid-record, the checker's census), the payload codec, the blacklist
 * (add, remove, capacity, readers in another process, a writer killed
 * inside its lock) and the QSBR reader slot.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "shm/blacklist.h"
#include "shm/crashpoint.h"
#include "shm/ctl.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static void
setup(cq_shm_t *shm, uint32_t workers, uint32_t blacklist_max)
{
	cq_shm_conf_t conf;
	cq_shm_conf_init(&conf);
	conf.workers = workers;
	conf.size = 32u << 20;
	conf.blacklist_max = blacklist_max;
	shm_test_create_conf(shm, &conf);
}

static int
send_n(unsigned slot, uint64_t id, size_t len)
{
	unsigned char buf[CQ_CTL_PAYLOAD_MAX];
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(id + i);
	struct iovec iov = {buf, len};
	return cq_ctl_send(slot, CQ_CTL_KICK, 0, id, &iov, 1);
}

static int
rec_ok(const cq_ctl_rec_t *r, uint64_t id, size_t len)
{
	const unsigned char *p = r->data;
	if (r->type != CQ_CTL_KICK || r->id != id || r->len != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(id + i))
			return 0;
	return 1;
}

START_TEST(commands_round_trip_and_wrap)
{
	cq_shm_t shm;
	setup(&shm, 2, 16);
	/* Enough records of odd sizes to wrap the ring several times. */
	for (uint64_t id = 1; id < 2000; id++) {
		size_t len = (id * 131) % 3000;
		ck_assert_int_eq(send_n(1, id, len), 0);
		cq_shm_set_slot(1);
		cq_ctl_rec_t r;
		ck_assert_int_eq(cq_ctl_cmd_peek(&r), 0);
		ck_assert(rec_ok(&r, id, len));
		cq_ctl_cmd_consume();
		ck_assert_int_eq(cq_ctl_cmd_peek(&r), CQ_AGAIN);
		cq_shm_set_slot(CQ_SLOT_NONE);
	}
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(full_ring_and_bad_arguments)
{
	cq_shm_t shm;
	setup(&shm, 1, 16);
	unsigned n = 0;
	while (send_n(0, n + 1, 1000) == 0)
		n++;
	ck_assert_uint_gt(n, 30);
	ck_assert_uint_lt(n, CQ_CTL_RING_BYTES / 1000 + 1);
	ck_assert_int_eq(send_n(0, 99, 1000), CQ_AGAIN);
	ck_assert_int_eq(send_n(1, 1, 10), -1); /* no such slot */
	ck_assert_int_eq(errno, EINVAL);
	cq_ctl_stats_t st;
	cq_ctl_stats(&st);
	ck_assert_uint_eq(st.commands, n);
	ck_assert_uint_ge(st.full, 2);
	/* The worker drains in order; then there is room again. */
	cq_shm_set_slot(0);
	for (unsigned i = 0; i < n; i++) {
		cq_ctl_rec_t r;
		ck_assert_int_eq(cq_ctl_cmd_peek(&r), 0);
		ck_assert(rec_ok(&r, i + 1, 1000));
		cq_ctl_cmd_consume();
	}
	cq_shm_set_slot(CQ_SLOT_NONE);
	ck_assert_int_eq(send_n(0, 5, 1000), 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(oversized_payload_refused)
{
	cq_shm_t shm;
	setup(&shm, 1, 16);
	static unsigned char big[CQ_CTL_PAYLOAD_MAX + 1];
	struct iovec iov = {big, sizeof(big)};
	ck_assert_int_eq(cq_ctl_send(0, CQ_CTL_KICK, 0, 1, &iov, 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	cq_shm_set_slot(0);
	ck_assert_int_eq(cq_ctl_reply(1, CQ_CTL_OK, &iov, 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	cq_shm_detach(&shm);
}
END_TEST

/* A worker in another process answers every command; wake-ups both ways
 * through the eventfds, no lost wake-up. */
START_TEST(request_reply_across_processes)
{
	enum { N = 5000 };
	cq_shm_t shm;
	setup(&shm, 2, 16);
	ck_assert_int_eq(cq_ctl_eventfds_create(2), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_shm_set_slot(1);
		unsigned done = 0;
		while (done < N) {
			struct pollfd p = {
				.fd = cq_ctl_worker_fd(), .events = POLLIN};
			if (poll(&p, 1, 10000) != 1)
				_exit(2);
			cq_ctl_eventfd_reset(p.fd);
			cq_ctl_rec_t r;
			while (cq_ctl_cmd_peek(&r) == 0) {
				uint64_t v = r.id * 3;
				struct iovec iov = {&v, sizeof(v)};
				while (cq_ctl_reply(r.id, CQ_CTL_OK, &iov, 1) ==
					CQ_AGAIN)
					usleep(100);
				cq_ctl_cmd_consume();
				done++;
			}
		}
		_exit(0);
	}
	uint64_t sent = 0, got = 0;
	while (got < N) {
		while (sent < N && sent - got < 64 &&
			send_n(1, sent + 1, 8) == 0)
			sent++;
		struct pollfd p = {.fd = cq_ctl_admin_fd(), .events = POLLIN};
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		cq_ctl_eventfd_reset(p.fd);
		cq_ctl_rec_t r;
		while (cq_ctl_reply_peek(1, &r) == 0) {
			uint16_t st;
			uint64_t v;
			ck_assert_uint_eq(r.len, 2 + sizeof(v));
			memcpy(&st, r.data, 2);
			memcpy(&v, (const char *)r.data + 2, sizeof(v));
			ck_assert_uint_eq(st, CQ_CTL_OK);
			ck_assert_uint_eq(r.id, got + 1);
			ck_assert_uint_eq(v, r.id * 3);
			cq_ctl_reply_consume(1);
			got++;
		}
	}
	ck_assert_int_eq(shm_test_wait(pid), 0);
	cq_ctl_eventfds_close();
	cq_shm_detach(&shm);
}
END_TEST

/* A producer killed between writing a record and publishing it leaves
 * nothing visible; the next producer writes over it. */
START_TEST(producer_killed_mid_record)
{
	cq_shm_t shm;
	setup(&shm, 1, 16);
	ck_assert_int_eq(send_n(0, 1, 100), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_crashpoint_arm("ctl.written", 1, 0, 0);
		send_n(0, 2, 100);
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	ck_assert_int_eq(send_n(0, 3, 50), 0);
	cq_shm_set_slot(0);
	cq_ctl_rec_t r;
	ck_assert_int_eq(cq_ctl_cmd_peek(&r), 0);
	ck_assert(rec_ok(&r, 1, 100));
	cq_ctl_cmd_consume();
	ck_assert_int_eq(cq_ctl_cmd_peek(&r), 0);
	ck_assert(rec_ok(&r, 3, 50));
	cq_ctl_cmd_consume();
	ck_assert_int_eq(cq_ctl_cmd_peek(&r), CQ_AGAIN);
	cq_shm_detach(&shm);
}
END_TEST

/* A PUBLISH command owns a message reference; the checker counts it. */
START_TEST(checker_counts_publish_references)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	setup(&shm, 1, 16);
	cq_msg_info_t info = {.topic = "a/b", .topic_len = 3, .qos = 1};
	cq_off_t m = cq_msg_create(&info);
	struct iovec iov = {&m, sizeof(m)};
	ck_assert_int_eq(
		cq_ctl_send(0, CQ_CTL_PUBLISH, CQ_CTL_F_MSG, 1, &iov, 1), 0);
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	/* Consumed without releasing the reference: a leak. */
	cq_shm_set_slot(0);
	cq_ctl_rec_t r;
	ck_assert_int_eq(cq_ctl_cmd_peek(&r), 0);
	cq_ctl_cmd_consume();
	cq_shm_set_slot(CQ_SLOT_NONE);
	rep = shm_test_check(
		&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_ge(rep.leaked_objects, 1);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(payload_codec)
{
	unsigned char mem[64];
	cq_ctlbuf_t b;
	cq_ctlbuf_init(&b, mem, sizeof(mem));
	cq_ctlbuf_u8(&b, 7);
	cq_ctlbuf_u16(&b, 0x1234);
	cq_ctlbuf_u32(&b, 0xdeadbeef);
	cq_ctlbuf_u64(&b, UINT64_C(0x0102030405060708));
	cq_ctlbuf_str(&b, "client-1", 8, 5); /* cut to 5 */
	ck_assert(!b.bad);
	cq_ctlrd_t r;
	size_t len;
	cq_ctlrd_init(&r, mem, b.len);
	ck_assert_uint_eq(cq_ctlrd_u8(&r), 7);
	ck_assert_uint_eq(cq_ctlrd_u16(&r), 0x1234);
	ck_assert_uint_eq(cq_ctlrd_u32(&r), 0xdeadbeef);
	ck_assert_uint_eq(cq_ctlrd_u64(&r), UINT64_C(0x0102030405060708));
	const char *s = cq_ctlrd_str(&r, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(s, "clien", 5) == 0);
	ck_assert(!r.bad);
	/* Reading past the end latches 'bad' and yields zeros. */
	ck_assert_uint_eq(cq_ctlrd_u32(&r), 0);
	ck_assert(r.bad);
	/* A string whose length runs past the data. */
	unsigned char lie[4] = {50, 0, 'a', 'b'};
	cq_ctlrd_init(&r, lie, sizeof(lie));
	cq_ctlrd_str(&r, &len);
	ck_assert(r.bad);
	ck_assert_uint_eq(len, 0);
	/* Writing past the buffer latches 'bad'. */
	cq_ctlbuf_init(&b, mem, 3);
	cq_ctlbuf_u32(&b, 1);
	ck_assert(b.bad);
}
END_TEST

/* ---- blacklist ------------------------------------------------------ */

START_TEST(blacklist_add_remove)
{
	cq_shm_t shm;
	setup(&shm, 1, 3);
	ck_assert(!cq_blacklist_has("a", 1));
	ck_assert_int_eq(cq_blacklist_add("a", 1), 1);
	ck_assert_int_eq(cq_blacklist_add("a", 1), 0);
	ck_assert_int_eq(cq_blacklist_add("bb", 2), 1);
	ck_assert_int_eq(cq_blacklist_add("ccc", 3), 1);
	ck_assert_int_eq(cq_blacklist_add("dddd", 4), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert(cq_blacklist_has("a", 1) && cq_blacklist_has("ccc", 3));
	ck_assert(!cq_blacklist_has("cc", 2) && !cq_blacklist_has("", 0));
	ck_assert_uint_eq(cq_blacklist_count(), 3);
	ck_assert_int_eq(cq_blacklist_remove("bb", 2), 1);
	ck_assert_int_eq(cq_blacklist_remove("bb", 2), 0);
	ck_assert(!cq_blacklist_has("bb", 2));
	ck_assert_int_eq(cq_blacklist_add("dddd", 4), 1); /* reuses the slot */
	ck_assert(cq_blacklist_has("dddd", 4));
	char long_id[CQ_BLACKLIST_ID_MAX + 1];
	memset(long_id, 'x', sizeof(long_id));
	ck_assert_int_eq(cq_blacklist_add(long_id, sizeof(long_id)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cq_blacklist_add(long_id, CQ_BLACKLIST_ID_MAX), -1);
	ck_assert_int_eq(errno, ENOSPC);
	uint64_t v = cq_blacklist_version();
	ck_assert_int_eq(cq_blacklist_remove("a", 1), 1);
	ck_assert_uint_gt(cq_blacklist_version(), v);
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

static void
collect(void *arg, const char *id, size_t len)
{
	char *out = arg;
	strncat(out, id, len);
	strcat(out, ",");
}

START_TEST(blacklist_seen_by_another_process)
{
	cq_shm_t shm;
	setup(&shm, 1, 64);
	ck_assert_int_eq(cq_blacklist_add("x/1", 3), 1);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The worker's side: reads only. */
		for (int i = 0; i < 2000 && !cq_blacklist_has("late", 4); i++)
			usleep(1000);
		_exit(cq_blacklist_has("x/1", 3) && cq_blacklist_has("late", 4)
				? 0
				: 1);
	}
	ck_assert_int_eq(cq_blacklist_add("late", 4), 1);
	ck_assert_int_eq(shm_test_wait(pid), 0);
	char all[64] = "";
	ck_assert_uint_eq(cq_blacklist_foreach(collect, all), 2);
	ck_assert_str_eq(all, "x/1,late,");
	cq_shm_detach(&shm);
}
END_TEST

/* A writer killed holding the lock, in the middle of an entry: readers
 * skip the torn entry, the next writer repairs it and goes on. */
START_TEST(blacklist_writer_killed_in_lock)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	setup(&shm, 1, 8);
	ck_assert_int_eq(cq_blacklist_add("keep", 4), 1);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_crashpoint_arm("blacklist.writing", 1, 0, 0);
		cq_blacklist_add("torn", 4);
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	ck_assert(!cq_blacklist_has("torn", 4));
	ck_assert(cq_blacklist_has("keep", 4));
	ck_assert_int_eq(cq_blacklist_add("next", 4), 1);
	ck_assert_uint_eq(cq_blacklist_count(), 2);
	ck_assert(!cq_blacklist_has("torn", 4));
	ck_assert(cq_blacklist_has("next", 4));
	cq_shm_report_t rep = shm_test_check(&shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- QSBR reader slot ----------------------------------------------- */

START_TEST(reader_slot_holds_grace_periods)
{
	cq_shm_t shm;
	setup(&shm, 1, 4);
	cq_qsbr_reader_take(CQ_QSBR_READER_ADMIN);
	cq_qsbr_register();
	cq_qsbr_stats_t before, during, after;
	cq_qsbr_stats(&before);
	/* Online and not quiescent: an object retired now must wait. */
	cq_off_t obj = cq_arena_alloc(64);
	cq_qsbr_retire(obj);
	cq_qsbr_reclaim();
	cq_qsbr_stats(&during);
	ck_assert_uint_eq(during.pending, before.pending + 1);
	cq_qsbr_quiescent();
	cq_qsbr_reclaim();
	cq_qsbr_stats(&after);
	ck_assert_uint_eq(after.pending, before.pending);
	/* A dead reader is cleared by the master. */
	cq_qsbr_retire(cq_arena_alloc(64));
	cq_qsbr_reader_reap(CQ_QSBR_READER_ADMIN);
	cq_qsbr_reclaim();
	cq_qsbr_stats(&after);
	ck_assert_uint_eq(after.pending, before.pending);
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	cq_qsbr_reader_take(CQ_QSBR_READERS);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_ctl");
	TCase *tc = tcase_create("ctl");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, commands_round_trip_and_wrap);
	tcase_add_test(tc, full_ring_and_bad_arguments);
	tcase_add_test(tc, oversized_payload_refused);
	tcase_add_test(tc, request_reply_across_processes);
	tcase_add_test(tc, producer_killed_mid_record);
	tcase_add_test(tc, checker_counts_publish_references);
	tcase_add_test(tc, payload_codec);
	tcase_add_test(tc, blacklist_add_remove);
	tcase_add_test(tc, blacklist_seen_by_another_process);
	tcase_add_test(tc, blacklist_writer_killed_in_lock);
	tcase_add_test(tc, reader_slot_holds_grace_periods);
	suite_add_tcase(s, tc);
	return s;
}
