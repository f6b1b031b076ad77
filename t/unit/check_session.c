/*
 * check_session.c — unit tests for the session table (shm/session):
 * create / takeover / clean start, fencing of a slow old owner, disconnect
 * and expiry (a racing reconnect wins), every kind of content and its
 * message references, the reaper, a full table, tombstone churn, a seeded
 * model-based test against a reference map, and writers killed at crash
 * points.
 *
 * One process plays several worker slots by switching cq_shm_slot.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/session-int.h"
#include "shm/session.h"
#include "t/unit/crash_test.h"
#include "t/unit/match_cases.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static void
as_slot(unsigned slot)
{
	cq_shm_slot = slot;
}

static cq_session_open_t
oin(const char *id, uint8_t clean, uint32_t expiry)
{
	return (cq_session_open_t){.client_id = id,
		.id_len = strlen(id),
		.protocol = 5,
		.clean_start = clean,
		.expiry_interval = expiry,
		.inflight_max = 4,
		.qos2_max = 3,
		.queue_max = 5};
}

static cq_session_ref_t
open_as(unsigned slot, const char *id, uint8_t clean, uint32_t expiry)
{
	as_slot(slot);
	cq_session_open_t o = oin(id, clean, expiry);
	cq_session_ref_t r;
	ck_assert_msg(cq_session_open(&o, &r) == 0, "open %s", id);
	return r;
}

static cq_off_t
msg(const char *topic)
{
	cq_msg_info_t in = {.topic = topic,
		.topic_len = strlen(topic),
		.payload = "p",
		.payload_len = 1,
		.qos = 1};
	cq_off_t m = cq_msg_create(&in);
	ck_assert_uint_ne(m, CQ_OFF_NULL);
	return m;
}

static void
check_clean(cq_shm_t *shm)
{
	cq_qsbr_reclaim();
	cq_shm_report_t rep = shm_test_check(shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
}

START_TEST(create_takeover_clean_start)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_session_ref_t a = open_as(1, "dev-1", 0, 100);
	ck_assert_uint_eq(a.present, 0);
	ck_assert_uint_eq(a.gen, 1);
	uint64_t st;
	ck_assert_uint_eq(cq_session_lookup("dev-1", 5, &st), a.sess);
	ck_assert_uint_eq(cq_session_word_owner(st), 1);
	ck_assert_uint_eq(cq_session_lookup("dev-2", 5, NULL), CQ_OFF_NULL);
	cq_subopts_t o = {.qos = 1, .sub_id = 9};
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "x/#", 3, &o), 0);

	/* Takeover by slot 2: same session, next generation. */
	cq_session_ref_t b = open_as(2, "dev-1", 0, 100);
	ck_assert_uint_eq(b.sess, a.sess);
	ck_assert_uint_eq(b.present, 1);
	ck_assert_uint_eq(b.gen, 2);
	ck_assert_uint_eq(b.prev_state, CQ_SESSION_CONNECTED);
	ck_assert_uint_eq(b.prev_owner, 1);
	ck_assert_int_eq(cq_session_fence(b.sess, b.gen), 0);
	/* The old owner is fenced off. */
	as_slot(1);
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "y", 1, &o), -1);
	ck_assert_int_eq(errno, ESTALE);
	ck_assert_int_eq(cq_session_disconnect(a.sess, a.gen, 5), -1);

	/* Clean start: a fresh session, the old will handed over. */
	as_slot(2);
	cq_off_t w = msg("will/topic");
	ck_assert_int_eq(cq_session_will_set(b.sess, b.gen, w, 30), 0);
	cq_session_ref_t c = open_as(3, "dev-1", 1, 0);
	ck_assert_uint_ne(c.sess, a.sess);
	ck_assert_uint_eq(c.present, 0);
	ck_assert_uint_eq(c.gen, b.gen + 2);
	ck_assert_uint_eq(c.prev_owner, 2);
	ck_assert_uint_eq(c.prev_will, w);
	cq_msg_unref(w);
	cq_session_stats_t ss;
	cq_session_stats(&ss);
	ck_assert_uint_eq(ss.sessions, 1);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* A slow old owner inside a write section holds the new owner back until
 * it leaves, and cannot open a new section afterwards (session.c I3/I4). */
START_TEST(fencing_slow_owner)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_session_ref_t a = open_as(0, "slow", 0, 100);
	sess_obj_t *s = cq_session_wbegin(a.sess, a.gen);
	ck_assert_ptr_nonnull(s);
	cq_session_ref_t b = open_as(1, "slow", 0, 100);
	ck_assert_int_eq(cq_session_fence(b.sess, b.gen), CQ_AGAIN);
	cq_session_wend(s); /* the old owner's last write completes */
	ck_assert_int_eq(cq_session_fence(b.sess, b.gen), 0);
	as_slot(0);
	ck_assert_ptr_null(cq_session_wbegin(a.sess, a.gen));
	ck_assert_int_eq(errno, ESTALE);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(disconnect_and_expiry)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_session_ref_t a = open_as(0, "e1", 0, 10);
	ck_assert_int_eq(cq_session_disconnect(a.sess, a.gen, 100), 0);
	ck_assert_uint_eq(cq_session_word_state(cq_session_state(a.sess)),
		CQ_SESSION_DISCONNECTED);
	cq_off_t will = 1;
	ck_assert_int_eq(cq_session_expire(a.sess, a.gen, 105, 0, &will), 0);
	/* A reconnect before the deadline wins over the expiry. */
	cq_session_ref_t b = open_as(1, "e1", 0, 10);
	ck_assert_uint_eq(b.prev_state, CQ_SESSION_DISCONNECTED);
	ck_assert_int_eq(cq_session_expire(a.sess, a.gen, 999, 0, &will), 0);
	cq_off_t w = msg("w");
	ck_assert_int_eq(cq_session_will_set(b.sess, b.gen, w, 0), 0);
	ck_assert_int_eq(cq_session_disconnect(b.sess, b.gen, 200), 0);
	ck_assert_int_eq(cq_session_expire(b.sess, b.gen, 210, 0, &will), 1);
	ck_assert_uint_eq(will, w);
	cq_msg_unref(w);
	ck_assert_uint_eq(cq_session_lookup("e1", 2, NULL), CQ_OFF_NULL);
	/* Interval 0 ends the session at disconnect; "never" never. */
	cq_session_ref_t c = open_as(0, "e0", 0, 0);
	ck_assert_int_eq(cq_session_disconnect(c.sess, c.gen, 300), 1);
	ck_assert_int_eq(cq_session_expire(c.sess, c.gen, 300, 1, &will), 1);
	cq_session_ref_t d = open_as(0, "forever", 0, CQ_SESSION_NEVER);
	ck_assert_int_eq(cq_session_disconnect(d.sess, d.gen, 300), 0);
	uint32_t cursor = 0;
	ck_assert_uint_eq(
		cq_session_expire_due(UINT32_MAX, &cursor, 1000000, NULL, NULL),
		0);
	ck_assert_uint_ne(cq_session_lookup("forever", 7, NULL), 0);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

typedef struct got_subs {
	unsigned n;
	char f[4][16];
	cq_subopts_t o[4];
} got_subs_t;

static void
grab_sub(void *arg, const char *f, size_t len, const cq_subopts_t *o)
{
	got_subs_t *g = arg;
	ck_assert_uint_lt(g->n, 4);
	ck_assert_uint_lt(len, 16);
	memcpy(g->f[g->n], f, len);
	g->f[g->n][len] = '\0';
	g->o[g->n++] = *o;
}

START_TEST(subscriptions)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_session_ref_t a = open_as(0, "subs", 0, 100);
	cq_subopts_t o = {.qos = 2,
		.no_local = 1,
		.retain_as_published = 1,
		.retain_handling = 2,
		.sub_id = 77};
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "a/+", 3, &o), 0);
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "b", 1, &o), 0);
	o.qos = 0; /* replaces the options [MQTT-3.8.4-3] */
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "a/+", 3, &o), 0);
	ck_assert_int_eq(cq_session_sub_remove(a.sess, a.gen, "b", 1), 0);
	ck_assert_int_eq(cq_session_sub_remove(a.sess, a.gen, "zz", 2), 0);
	got_subs_t g = {0};
	cq_session_subs_foreach(a.sess, grab_sub, &g);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.f[0], "a/+");
	ck_assert_uint_eq(g.o[0].qos, 0);
	ck_assert_uint_eq(g.o[0].no_local, 1);
	ck_assert_uint_eq(g.o[0].retain_as_published, 1);
	ck_assert_uint_eq(g.o[0].retain_handling, 2);
	ck_assert_uint_eq(g.o[0].sub_id, 77);
	/* The deleted record is dropped by the next copy. */
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "c/#", 3, &o), 0);
	memset(&g, 0, sizeof(g));
	cq_session_subs_foreach(a.sess, grab_sub, &g);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_uint_eq(CQ_PTR(sess_subs_t, sess_obj(a.sess)->subs)->n, 2);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(inflight_window)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_session_ref_t a = open_as(0, "qos", 0, 100);
	cq_off_t m[5];
	for (int i = 0; i < 5; i++)
		m[i] = msg("t");
	for (int i = 0; i < 4; i++) {
		uint16_t pid = cq_session_next_pid(a.sess, a.gen);
		ck_assert_uint_eq(pid, i + 1);
		ck_assert_int_eq(
			cq_session_inflight_add(a.sess, a.gen, pid, m[i],
				i % 2 ? CQ_INFLIGHT_PUBREC
				      : CQ_INFLIGHT_PUBACK),
			0);
	}
	ck_assert_int_eq(cq_session_inflight_add(
				 a.sess, a.gen, 9, m[4], CQ_INFLIGHT_PUBACK),
		CQ_AGAIN); /* window full */
	cq_off_t got;
	/* QoS 1: PUBACK removes and hands the reference back. */
	ck_assert_int_eq(cq_session_inflight_ack(
				 a.sess, a.gen, 1, CQ_INFLIGHT_PUBACK, 0, &got),
		0);
	ck_assert_uint_eq(got, m[0]);
	cq_msg_unref(got);
	/* Wrong state for the pid: not found. */
	ck_assert_int_eq(cq_session_inflight_ack(
				 a.sess, a.gen, 2, CQ_INFLIGHT_PUBACK, 0, &got),
		-1);
	/* QoS 2: PUBREC releases the message, PUBCOMP the entry. */
	ck_assert_int_eq(cq_session_inflight_ack(a.sess, a.gen, 2,
				 CQ_INFLIGHT_PUBREC, CQ_INFLIGHT_PUBCOMP, &got),
		0);
	ck_assert_uint_eq(got, m[1]);
	cq_msg_unref(got);
	ck_assert_int_eq(cq_session_inflight_ack(a.sess, a.gen, 2,
				 CQ_INFLIGHT_PUBCOMP, 0, &got),
		0);
	ck_assert_uint_eq(got, CQ_OFF_NULL);
	/* Re-send order is send order. */
	ck_assert_int_eq(cq_session_inflight_add(
				 a.sess, a.gen, 7, m[4], CQ_INFLIGHT_PUBACK),
		0);
	cq_inflight_t v[8];
	ck_assert_uint_eq(cq_session_inflight_list(a.sess, v, 8), 3);
	ck_assert_uint_eq(v[0].pid, 3);
	ck_assert_uint_eq(v[1].pid, 4);
	ck_assert_uint_eq(v[2].pid, 7);
	/* Next pid skips ids in use. */
	ck_assert_uint_eq(cq_session_next_pid(a.sess, a.gen), 5);
	/* Inbound QoS 2 ids. */
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 10), 1);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 10), 0);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 11), 1);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 12), 1);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 13), CQ_AGAIN);
	ck_assert_int_eq(cq_session_qos2_remove(a.sess, a.gen, 10), 1);
	ck_assert_int_eq(cq_session_qos2_remove(a.sess, a.gen, 10), 0);
	check_clean(&shm); /* the census counts the window's references */
	/* Expiry releases what the window holds. */
	ck_assert_int_eq(cq_session_disconnect(a.sess, a.gen, 1), 0);
	cq_off_t will;
	ck_assert_int_eq(cq_session_expire(a.sess, a.gen, 1, 1, &will), 1);
	cq_qsbr_reclaim();
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	ck_assert_uint_eq(st.used_bytes, 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(offline_queue)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_session_ref_t a = open_as(0, "q", 0, 100);
	cq_off_t m[6];
	for (int i = 0; i < 6; i++)
		m[i] = msg("q/t");
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(cq_session_queue_push(a.sess, a.gen, m[i]), 0);
	ck_assert_int_eq(cq_session_queue_push(a.sess, a.gen, m[5]), -1);
	ck_assert_int_eq(errno, ENOSPC);
	cq_msg_unref(m[5]); /* overflow policy: drop the newest */
	ck_assert_uint_eq(cq_session_queue_len(a.sess), 5);
	check_clean(&shm);
	cq_off_t got;
	for (int round = 0; round < 3; round++) /* wraps around the ring */
		for (int i = 0; i < 5; i++) {
			ck_assert_int_eq(
				cq_session_queue_pop(a.sess, a.gen, &got), 1);
			ck_assert_int_eq(
				cq_session_queue_push(a.sess, a.gen, got), 0);
		}
	ck_assert_int_eq(cq_session_queue_pop(a.sess, a.gen, &got), 1);
	ck_assert_uint_eq(got, m[0]); /* FIFO */
	cq_msg_unref(got);
	ck_assert_uint_eq(cq_session_queue_len(a.sess), 4);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* A queued message moves to the window in one section: the queue's
 * reference becomes the window's; a session that moved on keeps it
 * queued, at the head (order, [MQTT-4.6.0-6]). */
START_TEST(queue_to_window)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_session_ref_t a = open_as(0, "qw", 0, 100);
	cq_off_t m[5], got;
	for (int i = 0; i < 5; i++) {
		m[i] = msg("qw/t");
		ck_assert_int_eq(cq_session_queue_push(a.sess, a.gen, m[i]), 0);
	}
	ck_assert_int_eq(cq_session_queue_peek(a.sess, &got), 1);
	ck_assert_uint_eq(got, m[0]);
	ck_assert(cq_session_queue_holds(a.sess, m[3]));
	/* Only the head moves. */
	ck_assert_int_eq(cq_session_queue_to_window(
				 a.sess, a.gen, m[1], 1, CQ_INFLIGHT_PUBACK),
		-1);
	ck_assert_int_eq(errno, ENOENT);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(cq_session_queue_to_window(a.sess, a.gen, m[i],
					 (uint16_t)(i + 1), CQ_INFLIGHT_PUBREC),
			0);
	ck_assert(!cq_session_queue_holds(a.sess, m[0]));
	/* The window (inflight_max 4) is full: m[4] stays queued. */
	ck_assert_int_eq(cq_session_queue_to_window(
				 a.sess, a.gen, m[4], 5, CQ_INFLIGHT_PUBACK),
		CQ_AGAIN);
	ck_assert_uint_eq(cq_session_queue_len(a.sess), 1);
	cq_inflight_t v[8];
	ck_assert_uint_eq(cq_session_inflight_list(a.sess, v, 8), 4);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(v[i].msg, m[i]);
	check_clean(&shm); /* one reference each, the window's or queue's */
	ck_assert_int_eq(cq_session_inflight_ack(
				 a.sess, a.gen, 1, CQ_INFLIGHT_PUBREC, 0, &got),
		0);
	cq_msg_unref(got);
	/* Taken over by slot 1: slot 0's move fails, m[4] stays first. */
	cq_session_ref_t b = open_as(1, "qw", 0, 100);
	as_slot(0);
	ck_assert_int_eq(cq_session_queue_to_window(
				 a.sess, a.gen, m[4], 9, CQ_INFLIGHT_PUBACK),
		-1);
	ck_assert_int_eq(errno, ESTALE);
	as_slot(1);
	ck_assert_int_eq(cq_session_fence(b.sess, b.gen), 0);
	ck_assert_int_eq(cq_session_queue_peek(b.sess, &got), 1);
	ck_assert_uint_eq(got, m[4]);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* Inbound QoS 2 ids are looked at before routing and recorded after. */
START_TEST(qos2_check_then_add)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_session_ref_t a = open_as(0, "q2", 0, 100);
	ck_assert_int_eq(cq_session_qos2_check(a.sess, 7), 0); /* none yet */
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 7), 1);
	ck_assert_int_eq(
		cq_session_qos2_check(a.sess, 7), 1); /* [MQTT-4.3.3-10] */
	ck_assert_int_eq(cq_session_qos2_check(a.sess, 8), 0);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 8), 1);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 9), 1);
	/* qos2_max 3: a fourth is refused before routing. */
	ck_assert_int_eq(cq_session_qos2_check(a.sess, 10), CQ_AGAIN);
	ck_assert_int_eq(cq_session_qos2_check(a.sess, 9), 1);
	ck_assert_int_eq(cq_session_qos2_remove(a.sess, a.gen, 8), 1);
	ck_assert_int_eq(cq_session_qos2_check(a.sess, 10), 0);
	cq_shm_detach(&shm);
}
END_TEST

static void
collect_owned(void *arg, cq_off_t sess, uint64_t state)
{
	unsigned *n = arg;
	(void)sess;
	ck_assert_uint_eq(
		cq_session_word_state(state), CQ_SESSION_DISCONNECTED);
	(*n)++;
}

/* The master reaps a dead worker: its sessions disconnect with a new
 * generation, its open write sections are closed, its replacement finds
 * them. */
START_TEST(reap_dead_worker)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_session_ref_t a = open_as(2, "r1", 0, 60);
	cq_session_ref_t b = open_as(2, "r2", 0, 60);
	ck_assert_int_eq(cq_session_disconnect(b.sess, b.gen, 1), 0);
	open_as(3, "other", 0, 60);
	as_slot(2);
	ck_assert_ptr_nonnull(cq_session_wbegin(a.sess, a.gen)); /* dies */
	as_slot(CQ_SLOT_NONE);
	cq_shm_reap(&shm, 2);
	ck_assert_uint_eq(cq_session_state(a.sess),
		cq_session_word(CQ_SESSION_DISCONNECTED, 2, a.gen + 1));
	ck_assert_uint_eq(cq_session_state(b.sess),
		cq_session_word(CQ_SESSION_DISCONNECTED, 2, b.gen + 1));
	ck_assert_int_eq(cq_session_fence(a.sess, a.gen + 1), 0);
	unsigned n = 0;
	cq_session_foreach(2, collect_owned, &n);
	ck_assert_uint_eq(n, 2);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* MQTT 5 Will Delay Interval: the deadline lives in the session (a
 * respawned owner keeps it), a new will or a take cancels it, the master
 * schedules it from the time it reaps a dead owner [MQTT-3.1.3-9]. */
START_TEST(will_delay_due)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_session_ref_t a = open_as(1, "wd", 0, 600);
	uint32_t delay = 1;
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 0);
	/* No will: nothing to schedule. */
	ck_assert_int_eq(cq_session_will_schedule(a.sess, a.gen, 5000), 0);
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 0);
	cq_off_t w = msg("wd/will");
	ck_assert_int_eq(cq_session_will_set(a.sess, a.gen, w, 30), 0);
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 0);
	ck_assert_uint_eq(delay, 30);
	ck_assert_int_eq(cq_session_will_schedule(a.sess, a.gen, 5000), 0);
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 5000);
	/* A stale owner cannot move it. */
	ck_assert_int_eq(cq_session_will_schedule(a.sess, a.gen - 1, 1), -1);
	ck_assert_int_eq(errno, ESTALE);
	/* A new connection's will cancels the deadline. */
	cq_off_t w2 = msg("wd/will2");
	ck_assert_int_eq(cq_session_will_set(a.sess, a.gen, w2, 30), 0);
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 0);
	/* The owner dies connected: the master schedules the will from the
	 * time of death (the wall clock, seconds), the replacement finds it. */
	as_slot(CQ_SLOT_NONE);
	uint64_t before = (uint64_t)time(NULL);
	cq_shm_reap(&shm, 1);
	uint64_t after = (uint64_t)time(NULL);
	uint64_t due = cq_session_will_due(a.sess, &delay);
	ck_assert_uint_ge(due, (before + 30) * 1000);
	ck_assert_uint_le(due, (after + 30) * 1000);
	/* The replacement (new generation) may move it. */
	as_slot(1);
	uint64_t gen = a.gen + 1;
	ck_assert_int_eq(cq_session_will_schedule(a.sess, gen, 777), 0);
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 777);
	/* Taking the will clears it. */
	cq_off_t got;
	ck_assert_int_eq(cq_session_will_take(a.sess, gen, &got, &delay), 1);
	ck_assert_uint_eq(got, w2);
	cq_msg_unref(got);
	ck_assert_uint_eq(cq_session_will_due(a.sess, &delay), 0);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* An expiry that finds the old owner mid-write parks the session. */
START_TEST(parked_until_writer_leaves)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_session_ref_t a = open_as(0, "z", 0, 1);
	cq_session_queue_push(a.sess, a.gen, msg("z/1"));
	ck_assert_int_eq(cq_session_disconnect(a.sess, a.gen, 1), 0);
	sess_obj_t *s = cq_session_wbegin(a.sess, a.gen);
	ck_assert_ptr_nonnull(s);
	cq_off_t will;
	ck_assert_int_eq(cq_session_expire(a.sess, a.gen, 10, 0, &will), 1);
	cq_session_stats_t st;
	cq_session_stats(&st);
	ck_assert_uint_eq(st.zombies, 1);
	ck_assert_uint_eq(st.sessions, 0);
	check_clean(&shm); /* parked: still owns its queue */
	ck_assert_uint_eq(cq_session_reclaim(), 0);
	cq_session_wend(s);
	ck_assert_uint_eq(cq_session_reclaim(), 1);
	cq_qsbr_reclaim();
	cq_arena_stats_t as;
	cq_arena_stats(&as);
	ck_assert_uint_eq(as.used_bytes, 0);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* A full table is an answer (CONNACK 0x97); churn far beyond the
 * capacity keeps the table usable (tombstones are cleaned). */
START_TEST(full_table_and_churn)
{
	cq_shm_t shm;
	cq_shm_conf_t conf;
	const char *err;
	cq_shm_conf_init(&conf);
	conf.workers = 2;
	conf.max_sessions = 64;
	conf.size = 8u << 20;
	ck_assert_int_eq(cq_shm_create(&conf, &shm, &err), 0);
	char id[32];
	cq_session_ref_t r[64];
	for (unsigned i = 0; i < 64; i++) {
		snprintf(id, sizeof(id), "c%u", i);
		r[i] = open_as(0, id, 0, 0);
	}
	cq_session_open_t o = oin("one-more", 0, 0);
	cq_session_ref_t x;
	ck_assert_int_eq(cq_session_open(&o, &x), -1);
	ck_assert_int_eq(errno, ENOSPC);
	cq_off_t will;
	for (unsigned round = 0; round < 200; round++) {
		unsigned i = round % 64;
		ck_assert_int_eq(
			cq_session_disconnect(r[i].sess, r[i].gen, 1), 1);
		ck_assert_int_eq(
			cq_session_expire(r[i].sess, r[i].gen, 1, 1, &will), 1);
		snprintf(id, sizeof(id), "c%u-%u", i, round);
		r[i] = open_as(0, id, 0, 0);
		snprintf(id, sizeof(id), "absent-%u", round);
		ck_assert_uint_eq(cq_session_lookup(id, strlen(id), NULL), 0);
	}
	cq_session_stats_t st;
	cq_session_stats(&st);
	ck_assert_uint_eq(st.sessions, 64);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- model-based ---------------------------------------------------- */

#define M_IDS   12
#define M_SLOTS 4

typedef struct m_sess {
	bool exists;
	unsigned state, owner;
	uint64_t gen, deadline;
	uint32_t interval;
	cq_off_t off;
} m_sess_t;

static void
m_compare(const m_sess_t *m, const char *id)
{
	uint64_t st = 0;
	cq_off_t off = cq_session_lookup(id, strlen(id), &st);
	ck_assert_msg((off != CQ_OFF_NULL) == m->exists, "%s", id);
	if (!m->exists)
		return;
	ck_assert_uint_eq(off, m->off);
	ck_assert_uint_eq(st, cq_session_word(m->state, m->owner, m->gen));
}

static void
m_open(m_sess_t *m, const char *id, unsigned slot, bool clean)
{
	cq_session_ref_t r = open_as(slot, id, clean, m->interval);
	ck_assert_uint_eq(r.present, m->exists && !clean);
	ck_assert_uint_eq(r.gen,
		!m->exists      ? 1
			: clean ? m->gen + 2
				: m->gen + 1);
	if (m->exists)
		ck_assert_uint_eq(r.prev_owner, m->owner);
	if (m->exists && !clean)
		ck_assert_uint_eq(r.sess, m->off);
	*m = (m_sess_t){true, CQ_SESSION_CONNECTED, slot, r.gen, 0, m->interval,
		r.sess};
}

static void
m_disconnect(m_sess_t *m, uint64_t now)
{
	as_slot(m->owner);
	int rc = cq_session_disconnect(m->off, m->gen, now);
	if (m->state != CQ_SESSION_CONNECTED) {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(errno, ESTALE);
		return;
	}
	ck_assert_int_eq(rc, m->interval == 0);
	m->state = CQ_SESSION_DISCONNECTED;
	m->deadline = m->interval == CQ_SESSION_NEVER ? 0 : now + m->interval;
	cq_off_t will;
	if (rc == 1) {
		ck_assert_int_eq(
			cq_session_expire(m->off, m->gen, now, 1, &will), 1);
		m->exists = false;
	}
}

static void
m_expire(m_sess_t *m, uint64_t now)
{
	if (!m->exists)
		return;
	bool due = m->state == CQ_SESSION_DISCONNECTED && m->deadline != 0 &&
		now >= m->deadline;
	cq_off_t will;
	/* A stale generation never expires anything. */
	ck_assert_int_eq(
		cq_session_expire(m->off, m->gen - 1, now, 0, &will), 0);
	ck_assert_msg(cq_session_expire(m->off, m->gen, now, 0, &will) == due,
		"state %u deadline %llu real %llu now %llu", m->state,
		(unsigned long long)m->deadline,
		(unsigned long long)sess_obj(m->off)->deadline,
		(unsigned long long)now);
	if (due)
		m->exists = false;
}

static void
m_reap(m_sess_t *ms, unsigned slot, uint64_t now)
{
	(void)now;
	as_slot(CQ_SLOT_NONE);
	cq_session_area->nworkers = M_SLOTS; /* (already) */
	for (unsigned i = 0; i < M_IDS; i++) {
		m_sess_t *m = &ms[i];
		if (!m->exists || m->owner != slot)
			continue;
		if (m->state == CQ_SESSION_CONNECTED) {
			/* the reaper uses the wall clock for the deadline */
			m->deadline = 0;
		}
		m->state = CQ_SESSION_DISCONNECTED;
		m->gen++;
	}
}

START_TEST(model_random_ops)
{
	cq_shm_t shm;
	shm_test_create(&shm, M_SLOTS, 16u << 20);
	static const uint32_t intervals[] = {0, 5, 50, CQ_SESSION_NEVER};
	for (uint64_t seed = 1; seed <= 10; seed++) {
		uint64_t rs = seed;
		m_sess_t ms[M_IDS] = {0};
		char ids[M_IDS][16];
		for (unsigned i = 0; i < M_IDS; i++) {
			snprintf(ids[i], sizeof(ids[i]), "m%llu-%u",
				(unsigned long long)seed, i);
			ms[i].interval = intervals[i % 4];
		}
		uint64_t now = 1000;
		for (unsigned op = 0; op < 2000; op++) {
			unsigned k = (unsigned)(test_rand(&rs) % 12);
			unsigned i = (unsigned)(test_rand(&rs) % M_IDS);
			unsigned slot = (unsigned)(test_rand(&rs) % M_SLOTS);
			m_sess_t *m = &ms[i];
			if (k < 4)
				m_open(m, ids[i], slot, k == 0);
			else if (k < 7 && m->exists)
				m_disconnect(m, now);
			else if (k < 9)
				m_expire(m, now);
			else if (k < 11)
				now += test_rand(&rs) % 20;
			else {
				cq_shm_reap(&shm, slot);
				m_reap(ms, slot, now);
				/* Reaped deadlines come from the wall clock:
				 * expire those explicitly. */
				for (unsigned j = 0; j < M_IDS; j++)
					if (ms[j].exists &&
						ms[j].deadline == 0 &&
						ms[j].interval !=
							CQ_SESSION_NEVER &&
						ms[j].owner == slot) {
						cq_off_t w;
						ck_assert_int_eq(
							cq_session_expire(
								ms[j].off,
								ms[j].gen, 0, 1,
								&w),
							1);
						ms[j].exists = false;
					}
			}
			for (unsigned j = 0; j < M_IDS; j++)
				m_compare(&ms[j], ids[j]);
		}
		for (unsigned j = 0; j < M_IDS; j++)
			if (ms[j].exists) {
				as_slot(ms[j].owner);
				if (ms[j].state == CQ_SESSION_CONNECTED)
					cq_session_disconnect(
						ms[j].off, ms[j].gen, now);
				cq_off_t w;
				cq_session_expire(
					ms[j].off, ms[j].gen, now, 1, &w);
			}
		cq_session_stats_t st;
		cq_session_stats(&st);
		ck_assert_uint_eq(st.sessions, 0);
	}
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- crashes -------------------------------------------------------- */

#define C_IDS 200

/* committed[k] != 0: the child's open of session k returned (and it
 * has not begun ending it). */
static void
session_work(uint32_t trial, void *arg)
{
	uint8_t *committed = arg;
	char id[32];
	for (unsigned i = 0; i < 3000; i++) {
		unsigned k = (i * 37 + trial) % C_IDS;
		snprintf(id, sizeof(id), "crash-%u", k);
		cq_session_open_t o = oin(id, i % 5 == 0, 0);
		if (o.clean_start)
			committed[k] = 0; /* a replace ends the old one first */
		cq_session_ref_t r;
		if (cq_session_open(&o, &r) < 0)
			continue;
		committed[k] = 1;
		if (r.prev_will != CQ_OFF_NULL)
			cq_msg_unref(r.prev_will);
		cq_subopts_t so = {.qos = 1};
		cq_session_sub_add(r.sess, r.gen, "f", 1, &so);
		cq_off_t m = msg("c");
		if (cq_session_queue_push(r.sess, r.gen, m) < 0)
			cq_msg_unref(m);
		if (i % 3 == 2) {
			committed[k] = 0;
			cq_off_t w;
			cq_session_disconnect(r.sess, r.gen, 1);
			cq_session_expire(r.sess, r.gen, 1, 1, &w);
		}
	}
}

/* Writers killed at each session crash point: the table stays
 * consistent, every session whose open returned is still there, and the
 * references its queue held are accounted for. */
static void
crash_writer_at(const char *cp)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	uint8_t *committed = crash_shared_zalloc(4096);
	for (uint32_t trial = 1; trial <= 5; trial++) {
		crash_trial(
			&shm, 1, cp, trial * 2, trial, session_work, committed);
		cq_qsbr_reclaim();
		cq_session_reclaim();
		cq_shm_report_t rep = shm_test_check(
			&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
		ck_assert_uint_eq(rep.errors, 0);
		check_clean(&shm);
		char id[32];
		for (unsigned k = 0; k < C_IDS; k++) {
			snprintf(id, sizeof(id), "crash-%u", k);
			if (committed[k])
				ck_assert_msg(cq_session_lookup(id, strlen(id),
						      NULL) != CQ_OFF_NULL,
					"%s lost at %s", id, cp);
		}
	}
	munmap(committed, 4096);
	cq_shm_detach(&shm);
}

/* Children that queue three messages and move them to the window, one
 * per trial past the first. */
static void
window_work(uint32_t trial, void *arg)
{
	cq_off_t *sess = arg;
	cq_session_ref_t r;
	cq_session_open_t o = oin("qwc", 0, 100);
	ck_assert_int_eq(cq_session_open(&o, &r), 0);
	sess[0] = r.sess;
	for (int i = 0; i < 3; i++) {
		cq_off_t m = msg("qwc/t");
		if (cq_session_queue_push(r.sess, r.gen, m) < 0)
			cq_msg_unref(m);
	}
	for (uint16_t pid = 1; pid <= 4; pid++) {
		cq_off_t m;
		if (cq_session_queue_peek(r.sess, &m) == 1)
			cq_session_queue_to_window(r.sess, r.gen, m,
				(uint16_t)(pid + trial * 4),
				CQ_INFLIGHT_PUBACK);
	}
}

/* Killed between the window entry and the queue's head: the reaper moves
 * the head on, so the message is in the window once and nowhere else, and
 * every reference is accounted for. */
START_TEST(crash_queue_to_window)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	cq_off_t *sess = crash_shared_zalloc(4096);
	for (uint32_t trial = 1; trial <= 3; trial++) {
		crash_trial(&shm, 1, "session.queue_to_window", 1, trial,
			window_work, sess);
		cq_inflight_t v[16];
		unsigned n = cq_session_inflight_list(sess[0], v, 16);
		ck_assert_uint_ge(n, 1);
		for (unsigned i = 0; i < n; i++)
			ck_assert_msg(
				!cq_session_queue_holds(sess[0], v[i].msg),
				"a message in both window and queue");
		cq_qsbr_reclaim();
		cq_shm_report_t rep = shm_test_check(
			&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
		ck_assert_uint_eq(rep.errors, 0);
		check_clean(&shm);
	}
	munmap(sess, 4096);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(crash_points)
{
	crash_writer_at("session.locked");
	crash_writer_at("session.built");
	crash_writer_at("session.unlinking");
	crash_writer_at("session.writing");
	crash_writer_at("session.sub_built");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, create_takeover_clean_start);
	tcase_add_test(tc, fencing_slow_owner);
	tcase_add_test(tc, disconnect_and_expiry);
	tcase_add_test(tc, subscriptions);
	tcase_add_test(tc, inflight_window);
	tcase_add_test(tc, offline_queue);
	tcase_add_test(tc, queue_to_window);
	tcase_add_test(tc, qos2_check_then_add);
	tcase_add_test(tc, reap_dead_worker);
	tcase_add_test(tc, will_delay_due);
	tcase_add_test(tc, parked_until_writer_leaves);
	tcase_add_test(tc, full_table_and_churn);
	tcase_add_test(tc, model_random_ops);
	tcase_add_test(tc, crash_points);
	tcase_add_test(tc, crash_queue_to_window);
	suite_add_tcase(s, tc);
	return s;
}
