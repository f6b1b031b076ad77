/*
 * check_shm_msg.c — the message store: contents, reference counting,
 * deferred release through QSBR, limits, and the checker's census.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shm/arena.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static cq_off_t
make(const char *topic, const char *payload, uint8_t qos)
{
	static const unsigned char props[] = {0x01, 0x01, 0x23, 0x00, 0x05};
	cq_msg_info_t in = {.topic = topic,
		.topic_len = strlen(topic),
		.props = props,
		.props_len = sizeof(props),
		.payload = payload,
		.payload_len = strlen(payload),
		.qos = qos,
		.flags = CQ_MSG_F_RETAIN,
		.expiry = 2000000000,
		.origin_slot = 3,
		.origin_session = 77};
	return cq_msg_create(&in);
}

/* [MQTT-3.3.2-4] the properties are kept as received, to be re-emitted. */
START_TEST(contents_are_kept)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_shm_set_slot(0);
	cq_off_t off = make("sensors/1/temp", "21.5", 1);
	ck_assert_uint_ne(off, CQ_OFF_NULL);
	const cq_msg_t *m = cq_msg_get(off);
	ck_assert_uint_eq(m->topic_len, 14);
	ck_assert_mem_eq(cq_msg_topic(m), "sensors/1/temp", 14);
	ck_assert_uint_eq(m->props_len, 5);
	ck_assert_mem_eq(cq_msg_props(m), "\x01\x01\x23\x00\x05", 5);
	ck_assert_uint_eq(m->payload_len, 4);
	ck_assert_mem_eq(cq_msg_payload(m), "21.5", 4);
	ck_assert_uint_eq(m->qos, 1);
	ck_assert_uint_eq(m->flags, CQ_MSG_F_RETAIN);
	ck_assert_uint_eq(m->origin_slot, 3);
	ck_assert_uint_eq(m->origin_session, 77);
	ck_assert_uint_gt(m->created_ms, 1600000000000u);
	ck_assert(!cq_msg_expired(m, 1999999999));
	ck_assert(cq_msg_expired(m, 2000000000));
	ck_assert_uint_eq(cq_msg_refcount(off), 1);
	cq_msg_unref(off);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(refcounts)
{
	cq_shm_t shm;
	shm_test_create(&shm, 1, 8u << 20);
	cq_off_t off = make("t", "p", 0);
	cq_msg_ref(off, 3);
	ck_assert_uint_eq(cq_msg_refcount(off), 4);
	ck_assert_int_eq(cq_msg_tryref(off), 0);
	for (int i = 0; i < 4; i++)
		cq_msg_unref(off);
	ck_assert_uint_eq(cq_msg_refcount(off), 1);
	ck_assert_uint_eq(shm_test_in_use(), 1);
	cq_msg_unref(off);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	cq_msg_unref(CQ_OFF_NULL);
	cq_shm_detach(&shm);
}
END_TEST

/* Released through QSBR: readers without a reference are safe until they
 * pass a quiescent point, and cannot take a reference to a dying one. */
START_TEST(deferred_release)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_shm_slot = 1;
	cq_qsbr_register();
	cq_shm_slot = 0;
	cq_qsbr_register();
	cq_off_t off = make("retained/topic", "v", 1);
	cq_msg_unref_deferred(off);
	ck_assert_uint_eq(cq_msg_refcount(off), 0);
	ck_assert_int_eq(cq_msg_tryref(off), -1);
	ck_assert_mem_eq(cq_msg_topic(cq_msg_get(off)), "retained/topic", 14);
	cq_qsbr_quiescent();
	ck_assert_uint_eq(cq_qsbr_reclaim(), 0);
	cq_shm_slot = 1;
	cq_qsbr_quiescent();
	cq_shm_slot = 0;
	ck_assert_uint_eq(cq_qsbr_reclaim(), 1);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(limits_and_exhaustion)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 1, 4u << 20);
	cq_msg_info_t in = {.topic = "t", .topic_len = 65536};
	ck_assert_uint_eq(cq_msg_create(&in), CQ_OFF_NULL);
	ck_assert_int_eq(errno, EINVAL);
	in.topic_len = 1;
	in.qos = 3;
	ck_assert_uint_eq(cq_msg_create(&in), CQ_OFF_NULL);
	/* A payload bigger than a page goes to a large object. */
	size_t big = 100000;
	char *payload = malloc(big);
	memset(payload, 'x', big);
	in = (cq_msg_info_t){.topic = "t",
		.topic_len = 1,
		.payload = payload,
		.payload_len = big};
	cq_off_t off = cq_msg_create(&in);
	ck_assert_uint_ne(off, CQ_OFF_NULL);
	ck_assert_uint_ge(cq_arena_usable_size(off), sizeof(cq_msg_t) + big);
	ck_assert_int_eq(
		memcmp(cq_msg_payload(cq_msg_get(off)), payload, big), 0);
	/* Filling the arena gives ENOMEM, not a crash. */
	cq_off_t v[100];
	unsigned n = 0;
	while (n < 100 && (v[n] = cq_msg_create(&in)) != CQ_OFF_NULL)
		n++;
	ck_assert_uint_lt(n, 100);
	ck_assert_int_eq(errno, ENOMEM);
	for (unsigned i = 0; i < n; i++)
		cq_msg_unref(v[i]);
	cq_msg_unref(off);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	free(payload);
	cq_shm_detach(&shm);
}
END_TEST

typedef struct holders {
	cq_off_t m;
	uint32_t n;
} holders_t;

static void
declare(cq_shm_t *shm, cq_shm_report_t *rep, void *arg)
{
	holders_t *h = arg;
	cq_msg_census_add(shm, rep, h->m, h->n);
}

static cq_shm_report_t
census_check(cq_shm_t *shm, holders_t *h, unsigned flags)
{
	cq_shm_report_t rep = {0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT | flags;
	rep.declare = declare;
	rep.declare_arg = h;
	cq_shm_check(shm, &rep);
	return rep;
}

START_TEST(census_recomputes_refcounts)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 1, 8u << 20);
	holders_t h = {make("a", "b", 2), 3};
	cq_msg_ref(h.m, 2);
	cq_shm_report_t rep = census_check(&shm, &h, 0);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
	/* A holder died between taking a reference and storing it. */
	cq_msg_ref(h.m, 1);
	rep = census_check(&shm, &h, 0);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 1);
	ck_assert_uint_eq(cq_msg_refcount(h.m), 4);
	rep = census_check(&shm, &h, CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.repaired, 1);
	ck_assert_uint_eq(cq_msg_refcount(h.m), 3);
	/* More holders than the count: a use after free in the making. */
	h.n = 5;
	rep = census_check(&shm, &h, 0);
	ck_assert_uint_eq(rep.errors, 1);
	/* Nobody holds it at all: the arena's scan finds the message. */
	rep = shm_test_check(
		&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 1);
	ck_assert_uint_eq(shm_test_in_use(), 0);
	/* A declared offset that is not a message. */
	h.m = cq_arena_alloc(64);
	memset(cq_msg_get(h.m), 0, 64);
	h.n = 1;
	rep = census_check(&shm, &h, 0);
	ck_assert_uint_eq(rep.errors, 1);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_msg");
	TCase *tc = tcase_create("msg");
	tcase_add_test(tc, contents_are_kept);
	tcase_add_test(tc, refcounts);
	tcase_add_test(tc, deferred_release);
	tcase_add_test(tc, limits_and_exhaustion);
	tcase_add_test(tc, census_recomputes_refcounts);
	suite_add_tcase(s, tc);
	return s;
}
