/*
 * check_core.c — unit tests for src/core (buffers, log levels, logging).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/channel.h"
#include "core/defs.h"
#include "core/log.h"
#include "t/unit/unit.h"

START_TEST(buf_append_consume)
{
	cq_buf_t b = CQ_BUF_INIT;
	ck_assert_int_eq(cq_buf_append(&b, "hello", 5), 0);
	ck_assert_uint_eq(cq_buf_used(&b), 5);
	cq_buf_consume(&b, 2);
	ck_assert_mem_eq(cq_buf_head(&b), "llo", 3);
	cq_buf_consume(&b, 3);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_uint_eq(b.len, 0);
	cq_buf_free(&b);
}
END_TEST

START_TEST(buf_grows_and_compacts)
{
	cq_buf_t b = CQ_BUF_INIT;
	unsigned char chunk[1000];
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (unsigned char)i;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(cq_buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(cq_buf_used(&b), 100000);
	size_t cap = b.cap;
	cq_buf_consume(&b, 99000);
	/* Reserving less than what compaction frees must not grow. */
	ck_assert_int_eq(cq_buf_reserve(&b, cap - 2000), 0);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_mem_eq(cq_buf_head(&b), chunk, sizeof(chunk));
	cq_buf_free(&b);
}
END_TEST

START_TEST(buf_reserve_overflow_fails)
{
	cq_buf_t b = CQ_BUF_INIT;
	ck_assert_int_eq(cq_buf_append(&b, "x", 1), 0);
	ck_assert_int_eq(cq_buf_reserve(&b, SIZE_MAX - 4), -1);
	ck_assert_uint_eq(cq_buf_used(&b), 1);
	cq_buf_free(&b);
}
END_TEST

START_TEST(log_level_names)
{
	int l = -1;
	ck_assert_int_eq(cq_log_level_parse("notice", &l), 0);
	ck_assert_int_eq(l, CQ_LOG_NOTICE);
	ck_assert_int_eq(cq_log_level_parse("warning", &l), 0);
	ck_assert_int_eq(l, CQ_LOG_WARN);
	ck_assert_int_eq(cq_log_level_parse("loud", &l), -1);
	ck_assert_str_eq(cq_log_level_name(CQ_LOG_CRIT), "crit");
}
END_TEST

START_TEST(log_line_is_sanitised)
{
	char path[] = "/tmp/cq-log-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(cq_log_open(path), 0);
	cq_log_set_ident("worker 1");
	cq_log(CQ_LOG_DEBUG, 0, "hidden");
	cq_log(CQ_LOG_WARN, 2, "client \"%s\" said", "a\nfake line");
	cq_log_close();

	FILE *f = fopen(path, "r");
	char line[512];
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_ptr_null(fgets(line + 256, 256, f)); /* exactly one line */
	fclose(f);
	unlink(path);
	ck_assert_ptr_nonnull(
		strstr(line, "worker 1: warn: client \"a?fake line\" said: "));
	ck_assert_ptr_null(strstr(line, "hidden"));
}
END_TEST

START_TEST(channel_passes_fd)
{
	int ch[2], p[2];
	ck_assert_int_eq(cq_channel_pair(ch), 0);
	ck_assert_int_eq(pipe(p), 0);
	cq_channel_msg_t msg, got;
	cq_channel_msg_init(&msg, CQ_CHAN_CONN);
	msg.listener = 3;
	msg.slot = 1;
	ck_assert_int_eq(cq_channel_send(ch[0], &msg, p[1]), 0);
	int fd = -1;
	ck_assert_int_eq(cq_channel_recv(ch[1], &got, &fd), 0);
	ck_assert_int_eq(got.command, CQ_CHAN_CONN);
	ck_assert_int_eq(got.listener, 3);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fd, p[1]);
	/* The passed descriptor is the same pipe. */
	ck_assert_int_eq(write(fd, "x", 1), 1);
	char c = 0;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	ck_assert_int_eq(cq_channel_recv(ch[1], &got, &fd), CQ_AGAIN);
	close(ch[0]);
	ck_assert_int_eq(cq_channel_recv(ch[1], &got, &fd), -1);
	ck_assert_int_eq(errno, 0);
}
END_TEST

START_TEST(channel_rejects_bad_messages)
{
	int ch[2], p[2];
	ck_assert_int_eq(cq_channel_pair(ch), 0);
	ck_assert_int_eq(pipe(p), 0);
	cq_channel_msg_t msg, got;
	int fd = 99;
	/* Wrong version: refused, and the descriptor that came with it is
	 * closed rather than leaked. */
	cq_channel_msg_init(&msg, CQ_CHAN_CONN);
	msg.version = CQ_CHANNEL_VERSION + 1;
	ck_assert_int_eq(cq_channel_send(ch[0], &msg, p[1]), 0);
	ck_assert_int_eq(cq_channel_recv(ch[1], &got, &fd), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(fd, -1);
	/* Short message. */
	ck_assert_int_eq(send(ch[0], "abc", 3, 0), 3);
	ck_assert_int_eq(cq_channel_recv(ch[1], &got, &fd), -1);
	ck_assert_int_eq(errno, EPROTO);
	/* Wrong magic. */
	cq_channel_msg_init(&msg, CQ_CHAN_STOP);
	msg.magic = 0;
	ck_assert_int_eq(cq_channel_send(ch[0], &msg, -1), 0);
	ck_assert_int_eq(cq_channel_recv(ch[1], &got, &fd), -1);
	ck_assert_int_eq(errno, EPROTO);
	/* Only our own write end of the pipe stays open: closing it gives
	 * EOF on the read end, so nothing leaked a copy. */
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 0);
}
END_TEST

START_TEST(channel_full_is_again)
{
	int ch[2];
	ck_assert_int_eq(cq_channel_pair(ch), 0);
	cq_channel_msg_t msg;
	cq_channel_msg_init(&msg, CQ_CHAN_RELOAD);
	int rc = 0;
	for (int i = 0; i < 100000 && rc == 0; i++)
		rc = cq_channel_send(ch[0], &msg, -1);
	ck_assert_int_eq(rc, CQ_AGAIN);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, buf_append_consume);
	tcase_add_test(tc, buf_grows_and_compacts);
	tcase_add_test(tc, buf_reserve_overflow_fails);
	tcase_add_test(tc, log_level_names);
	tcase_add_test(tc, log_line_is_sanitised);
	tcase_add_test(tc, channel_passes_fd);
	tcase_add_test(tc, channel_rejects_bad_messages);
	tcase_add_test(tc, channel_full_is_again);
	suite_add_tcase(s, tc);
	return s;
}
