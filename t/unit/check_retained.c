/*
 * check_retained.c — unit tests for the retained store (shm/retained):
 * set / replace / delete on empty payload, references, expiry, wildcard
 * searches against the naive reference matcher (§4.7, $-topics), resumable
 * cursors with a tiny budget while the store changes between steps, a
 * seeded model-based test, arena exhaustion and writers killed at crash
 * points.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/retained.h"
#include "t/unit/crash_test.h"
#include "t/unit/match_cases.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

#define NOW 1000000u

static cq_off_t
make(const char *topic, const char *payload, uint64_t expiry)
{
	cq_msg_info_t in = {.topic = topic,
		.topic_len = strlen(topic),
		.payload = payload,
		.payload_len = strlen(payload),
		.qos = 1,
		.flags = CQ_MSG_F_RETAIN,
		.expiry = expiry};
	cq_off_t m = cq_msg_create(&in);
	ck_assert_uint_ne(m, CQ_OFF_NULL);
	return m;
}

/* Retain a message for 'topic' (the store keeps the only reference). */
static void
retain(const char *topic, const char *payload, uint64_t expiry)
{
	cq_off_t m = make(topic, payload, expiry);
	ck_assert_int_eq(cq_retained_set(topic, strlen(topic), m), 0);
	cq_msg_unref(m);
}

static void
settle(void)
{
	cq_qsbr_reclaim();
}

static void
check_clean(cq_shm_t *shm)
{
	settle();
	cq_shm_report_t rep = shm_test_check(shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
}

/* What a search found: topics (NUL-separated) with how often. */
typedef struct found {
	char topics[256][64];
	unsigned count[256];
	unsigned n;
} found_t;

static void
collect(void *arg, const char *topic, size_t len, cq_off_t msg)
{
	found_t *f = arg;
	const cq_msg_t *m = cq_msg_get(msg);
	ck_assert_uint_eq(m->topic_len, len);
	ck_assert_mem_eq(cq_msg_topic(m), topic, len);
	for (unsigned i = 0; i < f->n; i++)
		if (strlen(f->topics[i]) == len &&
			memcmp(f->topics[i], topic, len) == 0) {
			f->count[i]++;
			return;
		}
	ck_assert_uint_lt(f->n, 256);
	ck_assert_uint_lt(len, 64);
	memcpy(f->topics[f->n], topic, len);
	f->topics[f->n][len] = '\0';
	f->count[f->n++] = 1;
}

static unsigned
found_count(const found_t *f, const char *topic)
{
	for (unsigned i = 0; i < f->n; i++)
		if (strcmp(f->topics[i], topic) == 0)
			return f->count[i];
	return 0;
}

/* Run a whole search with 'budget' visits per step. */
static unsigned
search(const char *filter, unsigned budget, found_t *f)
{
	memset(f, 0, sizeof(*f));
	cq_retained_cursor_t *c = cq_retained_search_new(
		filter, strlen(filter));
	ck_assert_ptr_nonnull(c);
	unsigned steps = 0;
	int rc;
	while ((rc = cq_retained_step(c, NOW, budget, collect, f)) == 1) {
		settle(); /* a quiescent point between steps */
		ck_assert_uint_lt(++steps, 100000);
	}
	ck_assert_int_eq(rc, 0);
	cq_retained_cursor_free(c);
	return steps;
}

START_TEST(set_replace_delete)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_off_t a = make("a/b", "1", 0), b = make("a/b", "2", 0);
	ck_assert_int_eq(cq_retained_set("a/b", 3, a), 0);
	ck_assert_uint_eq(cq_msg_refcount(a), 2);
	ck_assert_uint_eq(cq_retained_get("a/b", 3, NOW), a);
	ck_assert_int_eq(cq_retained_set("a/b", 3, b), 0);
	ck_assert_uint_eq(cq_retained_get("a/b", 3, NOW), b);
	settle(); /* the old one is released after a grace period */
	ck_assert_uint_eq(cq_msg_refcount(a), 1);
	ck_assert_uint_eq(cq_retained_get("a", 1, NOW), CQ_OFF_NULL);
	/* An empty payload deletes [MQTT-3.3.1-6]. */
	cq_off_t e = make("a/b", "", 0);
	ck_assert_int_eq(cq_retained_set("a/b", 3, e), 0);
	ck_assert_uint_eq(cq_retained_get("a/b", 3, NOW), CQ_OFF_NULL);
	settle();
	ck_assert_uint_eq(cq_msg_refcount(b), 1);
	ck_assert_uint_eq(cq_msg_refcount(e), 1);
	cq_msg_unref(a);
	cq_msg_unref(b);
	cq_msg_unref(e);
	cq_retained_stats_t st;
	cq_retained_stats(&st);
	ck_assert_uint_eq(st.messages, 0);
	ck_assert_uint_eq(st.nodes, 0);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* Expired messages are never returned; lookups and sweeps remove them;
 * messages without an expiry never expire. */
START_TEST(expiry)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	retain("e/old", "x", NOW - 1);
	retain("e/now", "x", NOW);
	retain("e/later", "x", NOW + 10);
	retain("e/never", "x", 0);
	retain("$SYS/old", "x", NOW - 5);
	ck_assert_uint_eq(cq_retained_get("e/old", 5, NOW), CQ_OFF_NULL);
	ck_assert_uint_ne(cq_retained_get("e/later", 7, NOW), CQ_OFF_NULL);
	found_t *f = calloc(1, sizeof(*f));
	search("e/#", 1, f);
	ck_assert_uint_eq(f->n, 2);
	ck_assert_uint_eq(found_count(f, "e/later"), 1);
	ck_assert_uint_eq(found_count(f, "e/never"), 1);
	cq_retained_stats_t st;
	cq_retained_stats(&st);
	ck_assert_uint_eq(st.messages, 3); /* the search deleted two */
	/* The sweep sees '$' topics as well, far in the future. */
	cq_retained_cursor_t *c = cq_retained_sweep_new();
	while (cq_retained_step(c, UINT64_MAX / 2, 2, NULL, NULL) == 1)
		settle();
	cq_retained_cursor_free(c);
	cq_retained_stats(&st);
	ck_assert_uint_eq(st.messages, 1);
	ck_assert_uint_ne(cq_retained_get("e/never", 7, UINT64_MAX / 2), 0);
	free(f);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* Every table topic retained; each filter's search returns exactly the
 * topics the reference matcher accepts, once, whatever the budget
 * [MQTT-4.7.1-2] [MQTT-4.7.2-1]. */
START_TEST(search_matches_reference)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	size_t n = CQ_ARRAY_SIZE(match_cases);
	for (size_t i = 0; i < n; i++)
		if (cq_retained_get(match_cases[i].topic,
			    strlen(match_cases[i].topic), NOW) == CQ_OFF_NULL)
			retain(match_cases[i].topic, "p", 0);
	found_t *f = calloc(1, sizeof(*f));
	static const unsigned budgets[] = {1, 2, 7, 1000};
	for (size_t i = 0; i < n; i++)
		for (size_t b = 0; b < CQ_ARRAY_SIZE(budgets); b++) {
			const char *filter = match_cases[i].filter;
			search(filter, budgets[b], f);
			unsigned want = 0;
			for (size_t t = 0; t < n; t++) {
				const char *topic = match_cases[t].topic;
				bool dup = false;
				for (size_t u = 0; u < t; u++)
					dup |= !strcmp(
						match_cases[u].topic, topic);
				if (dup)
					continue;
				bool m = ref_match(filter, topic);
				want += m;
				ck_assert_msg(found_count(f, topic) == m,
					"%s vs %s (budget %u)", filter, topic,
					budgets[b]);
			}
			ck_assert_uint_eq(f->n, want);
		}
	free(f);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* Count visits per topic id (the last level). */
static void
count_ids(void *arg, const char *topic, size_t len, cq_off_t msg)
{
	uint8_t *seen = arg;
	(void)msg;
	const char *p = memrchr(topic, '/', len);
	ck_assert_ptr_nonnull(p);
	unsigned id = (unsigned)strtoul(p + 1, NULL, 10);
	ck_assert_uint_lt(seen[id], 255);
	seen[id]++;
}

/* A big store walked with a small budget while it changes between steps
 * (deletes, re-adds, new topics, table rebuilds): topics present
 * throughout are found exactly once, the others at most once. */
START_TEST(resumable_under_churn)
{
	enum { N = 4000 };
	cq_shm_t shm;
	shm_test_create(&shm, 2, 64u << 20);
	char t[64];
	for (unsigned i = 0; i < N; i++) {
		snprintf(t, sizeof(t), "r/%u/%u", i % 37, i);
		retain(t, "v", 0);
	}
	retain("r", "v", 0); /* the parent: "r/+/#" does not match it */
	uint8_t *seen = calloc(2 * N, 1);
	cq_retained_cursor_t *c = cq_retained_search_new("r/+/#", 5);
	uint64_t rs = 5;
	unsigned steps = 0;
	int rc;
	while ((rc = cq_retained_step(c, NOW, 50, count_ids, seen)) == 1) {
		ck_assert_uint_lt(++steps, 10 * N);
		for (unsigned k = 0; k < 20; k++) {
			unsigned i = (unsigned)(test_rand(&rs) % N) | 1u;
			snprintf(t, sizeof(t), "r/%u/%u", i % 37, i);
			if (test_rand(&rs) % 2)
				cq_retained_delete(t, strlen(t));
			else
				retain(t, "v", 0);
			i = N + (unsigned)(test_rand(&rs) % N);
			snprintf(t, sizeof(t), "r/%u/%u", i % 37, i);
			retain(t, "v", 0);
		}
		settle();
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_ge(steps, N / 50);
	for (unsigned i = 0; i < 2 * N; i++) {
		ck_assert_uint_le(seen[i], 1);
		if (i < N && i % 2 == 0)
			ck_assert_msg(
				seen[i] == 1, "stable topic %u missed", i);
	}
	ck_assert_int_eq(cq_retained_step(c, NOW, 50, count_ids, seen), 0);
	cq_retained_cursor_free(c);
	free(seen);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- model-based ---------------------------------------------------- */

#define M_TOPICS 64

START_TEST(model_random_ops)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	static char topics[M_TOPICS][64];
	found_t *f = calloc(1, sizeof(*f));
	for (uint64_t seed = 1; seed <= 8; seed++) {
		uint64_t rs = seed * 31;
		bool on[M_TOPICS] = {0};
		for (unsigned i = 0; i < M_TOPICS; i++) {
			bool dup;
			do {
				test_topic(&rs, topics[i], sizeof(topics[i]));
				dup = false;
				for (unsigned j = 0; j < i; j++)
					dup |= !strcmp(topics[i], topics[j]);
			} while (dup);
		}
		for (unsigned op = 0; op < 1500; op++) {
			unsigned k = (unsigned)(test_rand(&rs) % 10);
			unsigned i = (unsigned)(test_rand(&rs) % M_TOPICS);
			if (k < 4) {
				retain(topics[i], "m", 0);
				on[i] = true;
			} else if (k < 6) {
				cq_retained_delete(
					topics[i], strlen(topics[i]));
				on[i] = false;
			} else if (k < 7) {
				ck_assert_int_eq(cq_retained_get(topics[i],
							 strlen(topics[i]),
							 NOW) != CQ_OFF_NULL,
					on[i]);
			} else {
				char filter[64];
				test_filter(&rs, filter, sizeof(filter));
				search(filter,
					1 + (unsigned)(test_rand(&rs) % 4), f);
				unsigned want = 0;
				for (unsigned j = 0; j < M_TOPICS; j++) {
					bool m = on[j] &&
						ref_match(filter, topics[j]);
					want += m;
					ck_assert_msg(
						found_count(f, topics[j]) == m,
						"%s vs %s", filter, topics[j]);
				}
				ck_assert_uint_eq(f->n, want);
			}
		}
		for (unsigned i = 0; i < M_TOPICS; i++)
			cq_retained_delete(topics[i], strlen(topics[i]));
		cq_retained_stats_t st;
		cq_retained_stats(&st);
		ck_assert_uint_eq(st.nodes, 0);
	}
	free(f);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* A full arena is an answer, not a crash; what was there stays. */
START_TEST(arena_exhaustion)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 4u << 20);
	char t[96];
	unsigned ok = 0;
	for (unsigned i = 0; i < 1000000; i++) {
		snprintf(t, sizeof(t), "full/%u/deep/level/%u", i, i * 7);
		cq_msg_info_t in = {.topic = t,
			.topic_len = strlen(t),
			.payload = "x",
			.payload_len = 1};
		cq_off_t m = cq_msg_create(&in);
		if (m == CQ_OFF_NULL)
			break;
		int rc = cq_retained_set(t, strlen(t), m);
		cq_msg_unref(m);
		if (rc < 0) {
			ck_assert_int_eq(errno, ENOMEM);
			break;
		}
		ok++;
	}
	ck_assert_uint_gt(ok, 10);
	for (unsigned i = 0; i < ok; i++) {
		snprintf(t, sizeof(t), "full/%u/deep/level/%u", i, i * 7);
		ck_assert_uint_ne(cq_retained_get(t, strlen(t), NOW), 0);
	}
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* committed[k] != 0: the child's set of topic k returned. */
static void
retained_work(uint32_t trial, void *arg)
{
	uint8_t *committed = arg;
	char t[64];
	for (unsigned i = 0; i < 3000; i++) {
		unsigned k = (i * 37 + trial) % 211;
		snprintf(t, sizeof(t), "c/%u/%u", k % 7, k);
		if (i % 3 == 2) {
			committed[k] = 0;
			cq_retained_delete(t, strlen(t));
			continue;
		}
		cq_off_t m = make(t, "v", 0);
		if (cq_retained_set(t, strlen(t), m) == 0)
			committed[k] = 1;
		cq_msg_unref(m);
	}
}

/* Writers killed at each retained crash point: the store stays
 * consistent, committed messages stay, leaked references are found by the
 * census and repaired, and a walk still sees each topic once. */
static void
crash_writer_at(const char *cp)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	uint8_t *committed = crash_shared_zalloc(4096);
	for (uint32_t trial = 1; trial <= 5; trial++) {
		crash_trial(&shm, 1, cp, trial * 2, trial, retained_work,
			committed);
		retain("after/crash", "v", 0); /* recovers a dead lock */
		settle();
		cq_shm_report_t rep = shm_test_check(
			&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
		ck_assert_uint_eq(rep.errors, 0);
		check_clean(&shm);
		char t[64];
		for (unsigned k = 0; k < 211; k++) {
			snprintf(t, sizeof(t), "c/%u/%u", k % 7, k);
			if (committed[k])
				ck_assert_msg(
					cq_retained_get(t, strlen(t), NOW),
					"%s lost at %s", t, cp);
		}
	}
	found_t *f = calloc(1, sizeof(*f));
	search("#", 3, f);
	for (unsigned i = 0; i < f->n; i++)
		ck_assert_uint_eq(f->count[i], 1);
	free(f);
	munmap(committed, 4096);
	cq_shm_detach(&shm);
}

START_TEST(crash_points)
{
	crash_writer_at("retained.locked");
	crash_writer_at("retained.chain_built");
	crash_writer_at("retained.ref_taken");
	crash_writer_at("retained.cleared");
	crash_writer_at("retained.unlinked");
	crash_writer_at("trie.table_built");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("retained");
	TCase *tc = tcase_create("retained");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, set_replace_delete);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, search_matches_reference);
	tcase_add_test(tc, resumable_under_churn);
	tcase_add_test(tc, model_random_ops);
	tcase_add_test(tc, arena_exhaustion);
	tcase_add_test(tc, crash_points);
	suite_add_tcase(s, tc);
	return s;
}
