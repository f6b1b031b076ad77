/*
 * check_subtrie.c — unit tests for the private subscription trie
 * (workers/subtrie): the §4.7 matching table, overlapping subscriptions,
 * no-local, shared groups, 0<->1 transitions, and a seeded model-based test
 * against the naive reference matcher.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/unit/match_cases.h"
#include "t/unit/unit.h"
#include "workers/subtrie.h"

#define SEED 0x5eedull

static void *
sess(unsigned i)
{
	return (void *)(uintptr_t)(i + 1);
}

static cq_subopts_t
opts(uint8_t qos, uint32_t id)
{
	return (cq_subopts_t){.qos = qos, .sub_id = id};
}

static void
sub(cq_subtrie_t *t, const char *f, unsigned s, cq_subopts_t o, unsigned *flags)
{
	unsigned fl;
	ck_assert_int_eq(cq_subtrie_subscribe(t, f, strlen(f), sess(s), &o,
				 flags ? flags : &fl),
		0);
}

static void
unsub(cq_subtrie_t *t, const char *f, unsigned s, unsigned *flags)
{
	unsigned fl;
	ck_assert_int_eq(cq_subtrie_unsubscribe(
				 t, f, strlen(f), sess(s), flags ? flags : &fl),
		0);
}

static void
match(cq_subtrie_t *t, const char *topic, const void *publisher,
	cq_subtrie_result_t *r)
{
	cq_topic_levels_t lv;
	ck_assert_int_eq(
		cq_topic_levels_split(&lv, topic, strlen(topic), SEED), 0);
	ck_assert_int_eq(cq_subtrie_match(t, &lv, publisher, NULL,
				 CQ_SUBTRIE_ALL_GROUPS, r),
		0);
	cq_topic_levels_free(&lv);
}

static const cq_subtrie_hit_t *
find_hit(const cq_subtrie_result_t *r, unsigned s)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (r->hits[i].session == sess(s))
			return &r->hits[i];
	return NULL;
}

START_TEST(reference_matcher_agrees_with_table)
{
	for (size_t i = 0; i < CQ_ARRAY_SIZE(match_cases); i++) {
		const match_case_t *c = &match_cases[i];
		ck_assert_msg(ref_match(c->filter, c->topic) == c->match,
			"ref: %s vs %s (%s)", c->filter, c->topic, c->why);
	}
}
END_TEST

/* §4.7 table, one filter at a time [MQTT-4.7.1-2] [MQTT-4.7.2-1]. */
START_TEST(spec_table_one_filter)
{
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(match_cases); i++) {
		const match_case_t *c = &match_cases[i];
		cq_subtrie_t *t = cq_subtrie_new(SEED);
		sub(t, c->filter, 0, opts(1, 0), NULL);
		match(t, c->topic, NULL, &r);
		ck_assert_msg(r.n == (c->match ? 1u : 0u), "%s vs %s (%s)",
			c->filter, c->topic, c->why);
		cq_subtrie_free(t);
	}
	cq_subtrie_result_free(&r);
}
END_TEST

/* The whole table in one trie: each topic hits exactly its filters. */
START_TEST(spec_table_all_filters)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	size_t n = CQ_ARRAY_SIZE(match_cases);
	for (size_t i = 0; i < n; i++)
		sub(t, match_cases[i].filter, (unsigned)i, opts(0, 0), NULL);
	for (size_t i = 0; i < n; i++) {
		const char *topic = match_cases[i].topic;
		match(t, topic, NULL, &r);
		unsigned want = 0;
		for (size_t j = 0; j < n; j++) {
			bool m = ref_match(match_cases[j].filter, topic);
			want += m;
			ck_assert_msg((find_hit(&r, (unsigned)j) != NULL) == m,
				"%s vs %s", match_cases[j].filter, topic);
		}
		ck_assert_uint_eq(r.n, want);
	}
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* One hit per session: max QoS and every sub id [MQTT-3.3.4-2..5]. */
START_TEST(overlapping_subscriptions_merge)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	sub(t, "a/+", 1, opts(1, 5), NULL);
	sub(t, "a/#", 1, opts(2, 7), NULL);
	cq_subopts_t rap = opts(0, 0);
	rap.retain_as_published = 1;
	sub(t, "a/b", 1, rap, NULL);
	sub(t, "a/b", 2, opts(0, 9), NULL);
	match(t, "a/b", NULL, &r);
	ck_assert_uint_eq(r.n, 2);
	const cq_subtrie_hit_t *h = find_hit(&r, 1);
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->qos, 2);
	ck_assert_uint_eq(h->retain_as_published, 1);
	ck_assert_uint_eq(h->nids, 2);
	uint32_t a = r.ids[h->first_id], b = r.ids[h->first_id + 1];
	ck_assert((a == 5 && b == 7) || (a == 7 && b == 5));
	h = find_hit(&r, 2);
	ck_assert_uint_eq(h->nids, 1);
	ck_assert_uint_eq(r.ids[h->first_id], 9);
	ck_assert_uint_eq(h->qos, 0);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* No-local drops only that subscription [MQTT-3.8.3-3]. */
START_TEST(no_local)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	cq_subopts_t nl = opts(2, 0);
	nl.no_local = 1;
	sub(t, "x/y", 1, nl, NULL);
	sub(t, "x/y", 2, nl, NULL);
	match(t, "x/y", sess(1), &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_ptr_eq(r.hits[0].session, sess(2));
	sub(t, "x/#", 1, opts(1, 0), NULL); /* overlapping, local allowed */
	match(t, "x/y", sess(1), &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(find_hit(&r, 1)->qos, 1);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

START_TEST(transitions_first_last)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	unsigned f;
	sub(t, "a/+/c", 1, opts(0, 0), &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_NEW | CQ_SUBTRIE_FIRST);
	sub(t, "a/+/c", 2, opts(0, 0), &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_NEW);
	sub(t, "a/+/c", 2, opts(2, 3), &f); /* replace [MQTT-3.8.4-3] */
	ck_assert_uint_eq(f, 0);
	ck_assert_uint_eq(cq_subtrie_users(t, "a/+/c", 5), 2);
	unsub(t, "a/+/c", 1, &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_EXISTED);
	unsub(t, "a/+/c", 1, &f);
	ck_assert_uint_eq(f, 0);
	unsub(t, "a/+/c", 2, &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_EXISTED | CQ_SUBTRIE_LAST);
	unsub(t, "nothing/here", 2, &f);
	ck_assert_uint_eq(f, 0);
	/* A shared group counts separately from the plain filter. */
	sub(t, "a/b", 1, opts(0, 0), &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_NEW | CQ_SUBTRIE_FIRST);
	sub(t, "$share/g/a/b", 1, opts(0, 0), &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_NEW | CQ_SUBTRIE_FIRST);
	sub(t, "$share/h/a/b", 2, opts(0, 0), &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_NEW | CQ_SUBTRIE_FIRST);
	ck_assert_uint_eq(cq_subtrie_users(t, "$share/g/a/b", 12), 1);
	unsub(t, "$share/g/a/b", 1, &f);
	ck_assert_uint_eq(f, CQ_SUBTRIE_EXISTED | CQ_SUBTRIE_LAST);
	cq_subtrie_stats_t st;
	cq_subtrie_stats(t, &st);
	ck_assert_uint_eq(st.subscriptions, 2);
	ck_assert_uint_eq(st.filters, 2);
	unsub(t, "a/b", 1, &f);
	unsub(t, "$share/h/a/b", 2, &f);
	cq_subtrie_stats(t, &st);
	ck_assert_uint_eq(st.subscriptions, 0);
	ck_assert_uint_eq(st.nodes, 0); /* every branch pruned */
	cq_subtrie_free(t);
}
END_TEST

/* §4.8.2: one member per group per message, round-robin, and only the
 * groups this worker was chosen for. */
START_TEST(shared_groups_round_robin)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	for (unsigned m = 0; m < 3; m++)
		sub(t, "$share/g/s/+", 10 + m, opts(1, 0), NULL);
	sub(t, "$share/h/s/#", 20, opts(1, 0), NULL);
	unsigned got[3] = {0};
	cq_topic_levels_t lv;
	ck_assert_int_eq(cq_topic_levels_split(&lv, "s/x", 3, SEED), 0);
	uint64_t g = cq_topic_share_key("g", 1, "s/+", 3);
	for (unsigned i = 0; i < 30; i++) {
		ck_assert_int_eq(cq_subtrie_match(t, &lv, NULL, &g, 1, &r), 0);
		ck_assert_uint_eq(r.n, 1); /* group h not served here */
		unsigned s = (unsigned)(uintptr_t)r.hits[0].session - 1;
		ck_assert(s >= 10 && s < 13);
		ck_assert_uint_eq(r.hits[0].shared, 1);
		got[s - 10]++;
	}
	for (unsigned m = 0; m < 3; m++)
		ck_assert_uint_eq(got[m], 10);
	ck_assert_int_eq(
		cq_subtrie_match(t, &lv, NULL, NULL, CQ_SUBTRIE_ALL_GROUPS, &r),
		0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_ptr_nonnull(find_hit(&r, 20));
	ck_assert_int_eq(cq_subtrie_match(t, &lv, NULL, NULL, 0, &r), 0);
	ck_assert_uint_eq(r.n, 0);
	cq_topic_levels_free(&lv);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* Sessions 10 and 12 are online (the online predicate of the test). */
static bool
test_online(const void *session)
{
	uintptr_t s = (uintptr_t)session - 1;
	return s == 10 || s == 12;
}

/* §4.8.2: a group prefers its online members; a message one member left
 * with goes to the group only (not to plain subscribers), never back to
 * that member, and nowhere when the group has nobody else. */
START_TEST(shared_groups_online_and_hand_over)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	cq_subtrie_set_online(t, test_online);
	for (unsigned m = 0; m < 3; m++)
		sub(t, "$share/g/s/+", 10 + m, opts(1, 0), NULL);
	sub(t, "s/#", 30, opts(0, 0), NULL);
	sub(t, "$share/solo/s/x", 40, opts(1, 0), NULL);
	cq_topic_levels_t lv;
	ck_assert_int_eq(cq_topic_levels_split(&lv, "s/x", 3, SEED), 0);
	uint64_t g = cq_topic_share_key("g", 1, "s/+", 3);
	for (unsigned i = 0; i < 12; i++) {
		ck_assert_int_eq(cq_subtrie_match(t, &lv, NULL, &g, 1, &r), 0);
		ck_assert_uint_eq(r.n, 2); /* the plain one and a member */
		ck_assert_ptr_nonnull(find_hit(&r, 30));
		ck_assert_ptr_null(find_hit(&r, 11)); /* offline */
	}
	/* Hand-over: group members only, never 10 (who left). */
	for (unsigned i = 0; i < 6; i++) {
		ck_assert_int_eq(
			cq_subtrie_match_groups(t, &lv, sess(10), &g, 1, &r),
			0);
		ck_assert_uint_eq(r.n, 1);
		ck_assert_ptr_null(find_hit(&r, 30));
		ck_assert_ptr_null(find_hit(&r, 10));
		ck_assert_ptr_nonnull(find_hit(&r, 12));
	}
	/* Nobody online but the one leaving: an offline member still. */
	cq_subtrie_set_online(t, NULL);
	unsub(t, "$share/g/s/+", 12, NULL);
	ck_assert_int_eq(
		cq_subtrie_match_groups(t, &lv, sess(10), &g, 1, &r), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_ptr_nonnull(find_hit(&r, 11));
	uint64_t solo = cq_topic_share_key("solo", 4, "s/x", 3);
	ck_assert_int_eq(
		cq_subtrie_match_groups(t, &lv, sess(40), &solo, 1, &r), 0);
	ck_assert_uint_eq(r.n, 0);
	cq_topic_levels_free(&lv);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* Long subscriber lists (indexed) survive random removal order. */
START_TEST(many_sessions_one_filter)
{
	enum { N = 2000 };
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	unsigned order[N];
	for (unsigned i = 0; i < N; i++) {
		sub(t, "fan/out", i, opts(i % 3, i + 1), NULL);
		order[i] = i;
	}
	uint64_t rs = 7;
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned j = (unsigned)(test_rand(&rs) % (i + 1)), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (unsigned k = 0; k < N; k++) {
		if (k % 250 == 0) {
			match(t, "fan/out", NULL, &r);
			ck_assert_uint_eq(r.n, N - k);
		}
		unsigned f;
		unsub(t, "fan/out", order[k], &f);
		ck_assert(f & CQ_SUBTRIE_EXISTED);
		ck_assert_uint_eq(cq_subtrie_users(t, "fan/out", 7), N - k - 1);
	}
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* Topics deeper than the inline level arrays; the trie frees iteratively. */
START_TEST(deep_filters)
{
	enum { DEPTH = 300 };
	static char f[DEPTH * 2 + 2], topic[DEPTH * 2 + 2];
	f[0] = topic[0] = '\0';
	for (unsigned i = 0; i < DEPTH; i++) {
		strcat(f, i ? (i % 7 == 0 ? "/+" : "/l") : "l");
		strcat(topic, i ? "/l" : "l");
	}
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	sub(t, f, 1, opts(0, 0), NULL);
	sub(t, "l/#", 2, opts(0, 0), NULL);
	match(t, topic, NULL, &r);
	ck_assert_uint_eq(r.n, 2);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* A topic matched by 2^8 filters of '+' and literals: the walk's
 * frontier outgrows its inline arrays. */
START_TEST(wide_frontier)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	char f[32];
	for (unsigned m = 0; m < 256; m++) {
		char *p = f;
		for (unsigned b = 0; b < 8; b++) {
			if (b > 0)
				*p++ = '/';
			*p++ = (m >> b) & 1 ? '+' : 'a';
		}
		*p = '\0';
		sub(t, f, m, opts(0, 0), NULL);
	}
	match(t, "a/a/a/a/a/a/a/a", NULL, &r);
	ck_assert_uint_eq(r.n, 256);
	match(t, "a/a/a/a/a/a/a/b", NULL, &r);
	ck_assert_uint_eq(r.n, 128);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* ---- model-based ---------------------------------------------------- */

#define M_SESS 12
#define M_FILT 40
#define X_FILT 200

/* The first nf filters are in use. */
typedef struct model {
	char filters[X_FILT][64];
	unsigned nf;
	bool on[M_SESS][X_FILT];
	cq_subopts_t o[M_SESS][X_FILT];
} model_t;

static unsigned
model_users(const model_t *m, unsigned f)
{
	unsigned n = 0;
	for (unsigned s = 0; s < M_SESS; s++)
		n += m->on[s][f];
	return n;
}

/* Compare one match result with what the model says. */
static void
model_check_match(const model_t *m, const char *topic, unsigned pub,
	const cq_subtrie_result_t *r)
{
	unsigned want = 0;
	for (unsigned s = 0; s < M_SESS; s++) {
		int qos = -1;
		uint32_t nids = 0;
		for (unsigned f = 0; f < m->nf; f++) {
			if (!m->on[s][f] || !ref_match(m->filters[f], topic))
				continue;
			if (m->o[s][f].no_local && s == pub)
				continue;
			qos = CQ_MAX(qos, (int)m->o[s][f].qos);
			nids += m->o[s][f].sub_id != 0;
		}
		const cq_subtrie_hit_t *h = find_hit(r, s);
		ck_assert_msg((h != NULL) == (qos >= 0), "session %u on %s", s,
			topic);
		if (h == NULL)
			continue;
		want++;
		ck_assert_int_eq(h->qos, qos);
		ck_assert_uint_eq(h->nids, nids);
	}
	ck_assert_uint_eq(r->n, want);
}

/* One random operation.  'hot' of the filters take a third of them:
 * the same filters subscribed and unsubscribed again and again. */
static void
model_step(cq_subtrie_t *t, model_t *m, uint64_t *rs, cq_subtrie_result_t *r)
{
	unsigned op = (unsigned)(test_rand(rs) % 10);
	unsigned s = (unsigned)(test_rand(rs) % M_SESS);
	bool hot = test_rand(rs) % 3 == 0;
	unsigned f = (unsigned)(test_rand(rs) % (hot ? 3 : m->nf)) % m->nf;
	const char *fs = m->filters[f];
	unsigned flags, users = model_users(m, f);
	if (op < 4) {
		cq_subopts_t o = {.qos = (uint8_t)(test_rand(rs) % 3),
			.no_local = test_rand(rs) % 4 == 0,
			.sub_id = (uint32_t)(test_rand(rs) % 3)};
		sub(t, fs, s, o, &flags);
		ck_assert_uint_eq(!!(flags & CQ_SUBTRIE_NEW), !m->on[s][f]);
		ck_assert_uint_eq(!!(flags & CQ_SUBTRIE_FIRST), users == 0);
		m->on[s][f] = true;
		m->o[s][f] = o;
	} else if (op < 7) {
		unsub(t, fs, s, &flags);
		ck_assert_uint_eq(!!(flags & CQ_SUBTRIE_EXISTED), m->on[s][f]);
		ck_assert_uint_eq(
			!!(flags & CQ_SUBTRIE_LAST), m->on[s][f] && users == 1);
		m->on[s][f] = false;
	} else {
		char topic[64];
		unsigned k = (unsigned)(test_rand(rs) % 4);
		if (k == 0)
			test_topic(rs, topic, sizeof(topic));
		else if (k == 1)
			snprintf(topic, sizeof(topic), "%s",
				test_special_topics[test_rand(rs) %
					CQ_ARRAY_SIZE(test_special_topics)]);
		else
			test_index_topic(
				rs, m->filters, m->nf, topic, sizeof(topic));
		unsigned pub = (unsigned)(test_rand(rs) % (M_SESS + 1));
		match(t, topic, pub < M_SESS ? sess(pub) : NULL, r);
		model_check_match(m, topic, pub, r);
	}
	ck_assert_uint_eq(
		cq_subtrie_users(t, fs, strlen(fs)), model_users(m, f));
}

START_TEST(model_random_ops)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		uint64_t rs = seed;
		model_t *m = calloc(1, sizeof(*m));
		m->nf = M_FILT;
		for (unsigned f = 0; f < M_FILT; f++) {
			/* Distinct filters: duplicates would blur the model. */
			bool dup;
			do {
				test_filter(&rs, m->filters[f],
					sizeof(m->filters[f]));
				dup = false;
				for (unsigned g = 0; g < f; g++)
					dup |= !strcmp(
						m->filters[g], m->filters[f]);
			} while (dup);
		}
		cq_subtrie_t *t = cq_subtrie_new(SEED);
		cq_subtrie_result_t r;
		cq_subtrie_result_init(&r);
		for (unsigned i = 0; i < 3000; i++)
			model_step(t, m, &rs, &r);
		cq_subtrie_result_free(&r);
		cq_subtrie_free(t);
		free(m);
	}
}
END_TEST

/* The filter index against the model at many sizes: its table grows and
 * shrinks through every capacity up to a few hundred entries, '+' shapes
 * come and go; mixed with trie filters, '$SYS' topics, empty levels
 * [MQTT-4.7.1-2] [MQTT-4.7.2-1] [MQTT-3.3.4-2]. */
START_TEST(model_index_sizes)
{
	model_t *m = calloc(1, sizeof(*m));
	uint64_t rs = 77;
	test_index_filters(&rs, m->filters, X_FILT, false);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	for (unsigned size = 1; size <= X_FILT; size = size * 3 / 2 + 1) {
		cq_subtrie_t *t = cq_subtrie_new(SEED);
		memset(m->on, 0, sizeof(m->on));
		m->nf = size;
		for (unsigned f = 0; f < size; f++) {
			cq_subopts_t o = opts((uint8_t)(f % 3), f % 4);
			sub(t, m->filters[f], f % M_SESS, o, NULL);
			m->on[f % M_SESS][f] = true;
			m->o[f % M_SESS][f] = o;
		}
		for (unsigned i = 0; i < 1500; i++)
			model_step(t, m, &rs, &r);
		for (unsigned f = 0; f < size; f++)
			for (unsigned s = 0; s < M_SESS; s++)
				unsub(t, m->filters[f], s, NULL);
		cq_subtrie_stats_t st;
		cq_subtrie_stats(t, &st);
		ck_assert_uint_eq(st.nodes, 0);
		ck_assert_uint_eq(st.entries, 0);
		ck_assert_uint_eq(st.subscriptions, 0);
		ck_assert_uint_eq(st.filters, 0);
		cq_subtrie_free(t);
	}
	cq_subtrie_result_free(&r);
	free(m);
}
END_TEST

/* A subscriber list in the index may be long (indexed) and a filter
 * shared by groups and plain subscribers; freeing the trie with such
 * entries in place releases everything (ASan checks). */
START_TEST(index_entries_freed_with_trie)
{
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	for (unsigned i = 0; i < 40; i++) {
		sub(t, "i/x", i, opts(1, i), NULL);
		sub(t, "i/+", i, opts(0, 0), NULL);
		sub(t, "$share/g/i/x", i, opts(1, 0), NULL);
	}
	cq_subtrie_stats_t st;
	cq_subtrie_stats(t, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.nodes, 0);
	cq_subtrie_free(t);
}
END_TEST

/* Every filter i < n with on[i] matches its topic with session i % 7,
 * and the others match nothing; users agree. */
static void
check_resize_filters(
	cq_subtrie_t *t, const bool *on, unsigned n, cq_subtrie_result_t *r)
{
	char f[32];
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(
			f, sizeof(f), "rs/%u/%s", i, i % 3 == 0 ? "+" : "v");
		ck_assert_uint_eq(cq_subtrie_users(t, f, (size_t)len), on[i]);
		snprintf(f, sizeof(f), "rs/%u/v", i);
		match(t, f, NULL, r);
		ck_assert_uint_eq(r->n, on[i]);
		if (on[i])
			ck_assert_ptr_eq(r->hits[0].session, sess(i % 7));
	}
}

/* The filter index grows and shrinks a few slots per operation, never
 * all at once: while a resize runs, entries in either table are found
 * by lookups and matches (exact and '+' entries), removed from either,
 * and the loop's tidy calls finish it. */
START_TEST(index_resize_is_incremental)
{
	enum { N = 3000 };
	static bool on[N];
	char f[32];
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	cq_subtrie_stats_t st;
	bool seen_moving = false;
	uint64_t rs = 11;
	for (unsigned i = 0; i < N; i++) {
		snprintf(f, sizeof(f), "rs/%u/%s", i, i % 3 == 0 ? "+" : "v");
		sub(t, f, i % 7, opts(0, 0), NULL);
		on[i] = true;
		cq_subtrie_stats(t, &st);
		if (st.entries_moving > 0 && !seen_moving) {
			seen_moving = true;
			ck_assert_uint_lt(st.entries_moving, st.entries);
			check_resize_filters(t, on, i + 1, &r);
		}
	}
	ck_assert(seen_moving);
	/* Remove two thirds in random order: shrinks, each started while
	 * entries sit in both tables. */
	seen_moving = false;
	for (unsigned k = 0; k < 2 * N; k++) {
		unsigned i = (unsigned)(test_rand(&rs) % N);
		if (!on[i])
			continue;
		snprintf(f, sizeof(f), "rs/%u/%s", i, i % 3 == 0 ? "+" : "v");
		unsub(t, f, i % 7, NULL);
		on[i] = false;
		cq_subtrie_stats(t, &st);
		seen_moving |= st.entries_moving > 0;
		if (k % 500 == 0)
			check_resize_filters(t, on, N, &r);
	}
	ck_assert(seen_moving);
	check_resize_filters(t, on, N, &r);
	unsigned passes = 0;
	while (cq_subtrie_tidy(t, 64) && passes < N)
		passes++;
	ck_assert(!cq_subtrie_tidy(t, 64));
	cq_subtrie_stats(t, &st);
	ck_assert_uint_eq(st.entries_moving, 0);
	check_resize_filters(t, on, N, &r);
	for (unsigned i = 0; i < N; i++) {
		if (!on[i])
			continue;
		snprintf(f, sizeof(f), "rs/%u/%s", i, i % 3 == 0 ? "+" : "v");
		unsub(t, f, i % 7, NULL);
	}
	cq_subtrie_stats(t, &st);
	ck_assert_uint_eq(st.entries, 0);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* Every wildcard filter "b/<w>/+" (w < nw) matches "b/<w>/x" iff on. */
static void
check_bloom_filters(
	cq_subtrie_t *t, const bool *on, unsigned nw, cq_subtrie_result_t *r)
{
	char f[32];
	for (unsigned w = 0; w < nw; w++) {
		snprintf(f, sizeof(f), "b/%u/x", w);
		match(t, f, NULL, r);
		ck_assert_msg(
			r->n == on[w], "%s: %u hits, on %d", f, r->n, on[w]);
	}
}

/* The Bloom filter is rebuilt in steps while entries move (resizes both
 * ways, backward shifts on removal) and come and go: a wildcard filter in
 * use always matches its topic, during and after each build. */
START_TEST(index_bloom_build_misses_nothing)
{
	enum { N = 6000, W = 1500 };
	static bool on[N];
	char f[32];
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	uint64_t rs = 5;
	unsigned ops = 0;
	/* Filter i: "b/<i>/+" below W, else exact "b/<i>/x".  Rounds fill
	 * every filter, then drain nine in ten: the index grows and shrinks
	 * through several sizes each round. */
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned k = 0; k < 2 * N; k++) {
			unsigned i = (unsigned)(test_rand(&rs) % N);
			bool fill = k < N;
			if (on[i] == fill || (!fill && i % 10 == 0))
				continue;
			snprintf(f, sizeof(f), "b/%u/%s", i, i < W ? "+" : "x");
			if (on[i])
				unsub(t, f, 0, NULL);
			else
				sub(t, f, 0, opts(0, 0), NULL);
			on[i] = !on[i];
			if (++ops % 97 == 0)
				check_bloom_filters(t, on, W, &r);
		}
		if (round == 2) /* the loop's tidy calls finish the work */
			for (unsigned k = 0; k < N && cq_subtrie_tidy(t, 64);
				k++)
				;
	}
	check_bloom_filters(t, on, W, &r);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* A Bloom filter build that starts just before a resize: the wildcard
 * entries that move from the old table to slots of the new one that the
 * build's scan has already passed keep their bits. */
START_TEST(index_bloom_build_across_resize)
{
	enum { W = 1000, CAP = 8192 };
	char f[32];
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	static bool on[W];
	for (unsigned w = 0; w < W; w++) {
		snprintf(f, sizeof(f), "b/%u/+", w);
		sub(t, f, 0, opts(0, 0), NULL);
		on[w] = true;
	}
	/* Exact filters up to the last entry before the table grows. */
	unsigned x = 0;
	for (unsigned n = W; n < CAP * 3 / 4; n++, x++) {
		snprintf(f, sizeof(f), "e/%u", x);
		sub(t, f, 0, opts(0, 0), NULL);
	}
	for (unsigned k = 0; k < 1000 && cq_subtrie_tidy(t, 1024); k++)
		;
	cq_subtrie_bloom_rebuild(t);
	/* The next add grows the table; the adds after it move the entries
	 * and scan for the build side by side. */
	for (unsigned k = 0; k < 1 + CAP / 64; k++, x++) {
		snprintf(f, sizeof(f), "e/%u", x);
		sub(t, f, 0, opts(0, 0), NULL);
	}
	cq_subtrie_stats_t st;
	cq_subtrie_stats(t, &st);
	ck_assert_uint_gt(st.entries_moving, 0); /* still growing */
	for (unsigned k = 0; k < 1000 && cq_subtrie_tidy(t, 1024); k++)
		;
	check_bloom_filters(t, on, W, &r);
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

/* The first "<prefix><i><suffix>" from i = *next on whose index hash
 * falls in home slots [lo, hi] of a 64-slot table. */
static void
filter_with_home(char *f, size_t size, const char *prefix, const char *suffix,
	unsigned lo, unsigned hi, unsigned *next)
{
	for (unsigned k = 0; k < 1000000; k++) {
		snprintf(f, size, "%s%u%s", prefix, (*next)++, suffix);
		cq_topic_levels_t lv;
		ck_assert_int_eq(
			cq_topic_levels_split(&lv, f, strlen(f), SEED), 0);
		unsigned home = lv.hash & 63;
		cq_topic_levels_free(&lv);
		if (home >= lo && home <= hi)
			return;
	}
	ck_abort_msg("no filter found");
}

/* A removal's backward shift moves a wildcard entry from a slot the
 * Bloom build has not scanned yet into one it has: the entry keeps its
 * bit.  Slots: fillers in 0..~30; E (exact) home 31 at 31, W ('+') home
 * 31 at 32; the build scans 0..31 in the step before E is removed. */
START_TEST(index_bloom_build_across_shift)
{
	char f[32], e[32], wf[32];
	unsigned next = 0;
	cq_subtrie_t *t = cq_subtrie_new(SEED);
	cq_subtrie_result_t r;
	cq_subtrie_result_init(&r);
	for (unsigned i = 0; i < 24; i++) { /* grows the table to 64 */
		filter_with_home(f, sizeof(f), "f", "", 0, 15, &next);
		sub(t, f, 0, opts(0, 0), NULL);
	}
	filter_with_home(e, sizeof(e), "e", "", 31, 31, &next);
	sub(t, e, 1, opts(0, 0), NULL);
	filter_with_home(wf, sizeof(wf), "w", "/+", 31, 31, &next);
	sub(t, wf, 2, opts(0, 0), NULL);
	for (unsigned k = 0; k < 100 && cq_subtrie_tidy(t, 1024); k++)
		;
	cq_subtrie_bloom_rebuild(t);
	unsub(t, e, 1, NULL);
	for (unsigned k = 0; k < 100 && cq_subtrie_tidy(t, 1024); k++)
		;
	snprintf(f, sizeof(f), "%.*s/x", (int)(strlen(wf) - 2), wf);
	match(t, f, NULL, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_ptr_eq(r.hits[0].session, sess(2));
	cq_subtrie_result_free(&r);
	cq_subtrie_free(t);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("subtrie");
	TCase *tc = tcase_create("subtrie");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reference_matcher_agrees_with_table);
	tcase_add_test(tc, spec_table_one_filter);
	tcase_add_test(tc, spec_table_all_filters);
	tcase_add_test(tc, overlapping_subscriptions_merge);
	tcase_add_test(tc, no_local);
	tcase_add_test(tc, transitions_first_last);
	tcase_add_test(tc, shared_groups_round_robin);
	tcase_add_test(tc, shared_groups_online_and_hand_over);
	tcase_add_test(tc, many_sessions_one_filter);
	tcase_add_test(tc, deep_filters);
	tcase_add_test(tc, wide_frontier);
	tcase_add_test(tc, model_random_ops);
	tcase_add_test(tc, model_index_sizes);
	tcase_add_test(tc, index_entries_freed_with_trie);
	tcase_add_test(tc, index_resize_is_incremental);
	tcase_add_test(tc, index_bloom_build_misses_nothing);
	tcase_add_test(tc, index_bloom_build_across_resize);
	tcase_add_test(tc, index_bloom_build_across_shift);
	suite_add_tcase(s, tc);
	return s;
}
