/*
 * check_route.c — unit tests for the shared route trie (shm/route): the
 * §4.7 matching table, shared-group choice, a seeded model-based test
 * against the naive reference matcher, arena exhaustion (SUBACK 0x97),
 * purge, a concurrent reader in another process during rebuilds, and
 * writers killed at every crash point.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/qsbr.h"
#include "shm/route-int.h"
#include "shm/route.h"
#include "t/unit/crash_test.h"
#include "t/unit/match_cases.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"
#include "workers/subtrie.h"

static void
add(const char *f, unsigned slot)
{
	ck_assert_msg(cq_route_add(f, strlen(f), slot) == 0, "add %s", f);
}

static void
del(const char *f, unsigned slot)
{
	ck_assert_int_eq(cq_route_remove(f, strlen(f), slot), 0);
}

static void
match(const char *topic, cq_route_result_t *r)
{
	cq_topic_levels_t lv;
	ck_assert_int_eq(cq_topic_levels_split(
				 &lv, topic, strlen(topic), cq_route_seed()),
		0);
	ck_assert_int_eq(cq_route_match(&lv, r), 0);
	cq_topic_levels_free(&lv);
}

static uint64_t
key_of(const char *f)
{
	cq_match_share_t sh;
	if (!cq_match_share_split(f, strlen(f), &sh))
		return 0;
	return cq_topic_share_key(
		sh.group, sh.group_len, sh.filter, sh.filter_len);
}

static const cq_route_pick_t *
find_pick(const cq_route_result_t *r, uint64_t key)
{
	for (uint32_t i = 0; i < r->npicks; i++)
		if (r->picks[i].key == key)
			return &r->picks[i];
	return NULL;
}

/* Did filter f (added for 'slot') match, according to r? */
static bool
matched(const cq_route_result_t *r, const char *f, unsigned slot)
{
	uint64_t k = key_of(f);
	if (k == 0)
		return (r->workers >> slot) & 1;
	const cq_route_pick_t *p = find_pick(r, k);
	return p != NULL && p->worker == slot;
}

/* Everything removed: no node, no entry, no filter; after reclamation the
 * region checks clean. */
static void
check_empty(cq_shm_t *shm)
{
	cq_route_stats_t st;
	cq_route_stats(&st);
	ck_assert_uint_eq(st.nodes, 0);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_uint_eq(st.filters, 0);
	cq_qsbr_reclaim();
	cq_shm_report_t rep = shm_test_check(shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
}

static void
check_clean(cq_shm_t *shm)
{
	cq_shm_report_t rep = shm_test_check(shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
}

/* §4.7 one filter at a time; removal prunes everything [MQTT-4.7.1-2]
 * [MQTT-4.7.2-1]. */
START_TEST(spec_table_one_filter)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(match_cases); i++) {
		const match_case_t *c = &match_cases[i];
		add(c->filter, 2);
		match(c->topic, &r);
		ck_assert_msg(matched(&r, c->filter, 2) == c->match,
			"%s vs %s (%s)", c->filter, c->topic, c->why);
		ck_assert_msg(r.workers == 0 || r.npicks == 0, "one kind");
		del(c->filter, 2);
		match(c->topic, &r);
		ck_assert(r.workers == 0 && r.npicks == 0);
	}
	check_empty(&shm);
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* The whole table at once, each filter on its own worker slot. */
START_TEST(spec_table_all_filters)
{
	size_t n = CQ_ARRAY_SIZE(match_cases);
	ck_assert_uint_le(n, CQ_MAX_WORKERS);
	cq_shm_t shm;
	cq_shm_conf_t conf;
	const char *err = NULL;
	cq_shm_conf_init(&conf);
	conf.workers = CQ_MAX_WORKERS;
	conf.ring_bytes = 4096; /* 64 x 64 rings */
	conf.size = 64u << 20;
	ck_assert_msg(cq_shm_create(&conf, &shm, &err) == 0, "%s", err);
	cq_route_result_t r;
	cq_route_result_init(&r);
	for (size_t i = 0; i < n; i++)
		add(match_cases[i].filter, (unsigned)i);
	for (size_t t = 0; t < n; t++) {
		match(match_cases[t].topic, &r);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(matched(&r, match_cases[i].filter,
					      (unsigned)i) ==
					ref_match(match_cases[i].filter,
						match_cases[t].topic),
				"%s vs %s", match_cases[i].filter,
				match_cases[t].topic);
	}
	check_clean(&shm);
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(add_remove_idempotent)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	add("a/b", 1);
	add("a/b", 1);
	add("a/b", 3);
	ck_assert_int_eq(cq_route_has("a/b", 3, 1), 1);
	match("a/b", &r);
	ck_assert_uint_eq(r.workers, 0xa);
	del("a/b", 1);
	del("a/b", 1);
	del("x/y", 1); /* never added */
	match("a/b", &r);
	ck_assert_uint_eq(r.workers, 0x8);
	ck_assert_int_eq(cq_route_add("a", 1, CQ_MAX_WORKERS), -1);
	ck_assert_int_eq(errno, EINVAL);
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* §4.8.2: one worker per group per message, fair over the group's
 * workers; different groups and filters choose independently. */
START_TEST(shared_group_choice)
{
	cq_shm_t shm;
	shm_test_create(&shm, 8, 8u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	add("$share/g/s/+", 1);
	add("$share/g/s/+", 3);
	add("$share/g/s/+", 5);
	add("$share/h/s/+", 6);
	add("$share/g/s/#", 7);
	add("s/x", 2);
	uint64_t kg = key_of("$share/g/s/+"), kh = key_of("$share/h/s/+");
	unsigned got[8] = {0};
	for (unsigned i = 0; i < 300; i++) {
		match("s/x", &r);
		ck_assert_uint_eq(r.workers, 1u << 2);
		ck_assert_uint_eq(r.npicks, 3);
		got[find_pick(&r, kg)->worker]++;
		ck_assert_uint_eq(find_pick(&r, kh)->worker, 6);
		ck_assert_uint_eq(
			find_pick(&r, key_of("$share/g/s/#"))->worker, 7);
	}
	ck_assert_uint_eq(got[1], 100);
	ck_assert_uint_eq(got[3], 100);
	ck_assert_uint_eq(got[5], 100);
	del("$share/g/s/+", 3);
	del("$share/h/s/+", 6);
	for (unsigned i = 0; i < 10; i++) {
		match("s/x", &r);
		ck_assert_uint_eq(r.npicks, 2);
		ck_assert_ptr_null(find_pick(&r, kh));
		ck_assert_uint_ne(find_pick(&r, kg)->worker, 3);
	}
	check_clean(&shm);
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* More groups than the inline pick array holds. */
START_TEST(many_groups)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 8u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	char f[64];
	for (unsigned i = 0; i < 40; i++) {
		snprintf(f, sizeof(f), "$share/g%u/m/#", i);
		add(f, i % 2);
	}
	match("m/x/y", &r);
	ck_assert_uint_eq(r.npicks, 40);
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* 2^8 shared filters of '+' and literals match one topic: the walk's
 * frontier outgrows its inline arrays. */
START_TEST(wide_frontier)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 16u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	char f[48];
	for (unsigned m = 0; m < 256; m++) {
		char *p = f + sprintf(f, "$share/g/");
		for (unsigned b = 0; b < 8; b++) {
			if (b > 0)
				*p++ = '/';
			*p++ = (m >> b) & 1 ? '+' : 'a';
		}
		*p = '\0';
		add(f, m % 2);
	}
	match("a/a/a/a/a/a/a/a", &r);
	ck_assert_uint_eq(r.npicks, 256);
	match("a/a/a/a/a/a/a/b", &r);
	ck_assert_uint_eq(r.npicks, 128);
	cq_route_result_free(&r);
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- model-based ---------------------------------------------------- */

#define M_FILT  48
#define M_SLOTS 6

/* Compare r, the match of 'topic', with the first nf filters' model. */
static void
model_check_n(unsigned nf, bool on[][M_SLOTS], char filters[][64],
	const char *topic, const cq_route_result_t *r)
{
	uint64_t want = 0;
	uint32_t picks = 0;
	for (unsigned f = 0; f < nf; f++) {
		if (!ref_match(filters[f], topic))
			continue;
		uint64_t slots = 0;
		for (unsigned s = 0; s < M_SLOTS; s++)
			slots |= (uint64_t)on[f][s] << s;
		uint64_t k = key_of(filters[f]);
		if (k == 0) {
			want |= slots;
			continue;
		}
		const cq_route_pick_t *p = find_pick(r, k);
		ck_assert_msg((p != NULL) == (slots != 0), "%s on %s",
			filters[f], topic);
		if (p != NULL) {
			ck_assert((slots >> p->worker) & 1);
			picks++;
		}
	}
	ck_assert_msg(r->workers == want, "%s: workers %#llx, want %#llx",
		topic, (unsigned long long)r->workers,
		(unsigned long long)want);
	ck_assert_uint_eq(r->npicks, picks);
}

static void
model_check(bool on[M_FILT][M_SLOTS], char filters[M_FILT][64],
	const char *topic, const cq_route_result_t *r)
{
	model_check_n(M_FILT, on, filters, topic, r);
}

static void
model_filters(uint64_t *rs, char filters[M_FILT][64])
{
	for (unsigned f = 0; f < M_FILT; f++) {
		bool dup;
		do {
			char plain[40];
			test_filter(rs, plain, sizeof(plain));
			if (test_rand(rs) % 5 == 0)
				snprintf(filters[f], 64, "$share/%c/%s",
					(char)('p' + test_rand(rs) % 2), plain);
			else
				snprintf(filters[f], 64, "%s", plain);
			dup = false;
			for (unsigned g = 0; g < f; g++)
				dup |= !strcmp(filters[g], filters[f]);
		} while (dup);
	}
}

START_TEST(model_random_ops)
{
	cq_shm_t shm;
	shm_test_create(&shm, M_SLOTS, 16u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	for (uint64_t seed = 1; seed <= 12; seed++) {
		uint64_t rs = seed * 7919;
		static char filters[M_FILT][64];
		static bool on[M_FILT][M_SLOTS];
		memset(on, 0, sizeof(on));
		model_filters(&rs, filters);
		for (unsigned i = 0; i < 4000; i++) {
			unsigned op = (unsigned)(test_rand(&rs) % 10);
			unsigned f = (unsigned)(test_rand(&rs) % M_FILT);
			unsigned s = (unsigned)(test_rand(&rs) % M_SLOTS);
			if (op < 4) {
				add(filters[f], s);
				on[f][s] = true;
			} else if (op < 7) {
				del(filters[f], s);
				on[f][s] = false;
			} else {
				char topic[64];
				test_topic(&rs, topic, sizeof(topic));
				match(topic, &r);
				model_check(on, filters, topic, &r);
			}
			ck_assert_int_eq(
				cq_route_has(filters[f], strlen(filters[f]), s),
				on[f][s]);
		}
		for (unsigned f = 0; f < M_FILT; f++)
			for (unsigned s = 0; s < M_SLOTS; s++)
				del(filters[f], s);
		check_empty(&shm);
	}
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- the filter index ------------------------------------------------ */

#define X_FILT 200

/* Churn on the first 'size' filters; a few hot ones are subscribed and
 * unsubscribed again and again.  Matches checked against the model. */
static void
index_churn(unsigned size, uint64_t *rs, char filters[][64], bool on[][M_SLOTS],
	cq_route_result_t *r)
{
	for (unsigned i = 0; i < 800; i++) {
		unsigned op = (unsigned)(test_rand(rs) % 10);
		bool hot = test_rand(rs) % 3 == 0;
		unsigned f = (unsigned)(test_rand(rs) % (hot ? 3 : size)) %
			size;
		unsigned sl = (unsigned)(test_rand(rs) % M_SLOTS);
		char topic[64];
		if (op < 5) {
			add(filters[f], sl);
			on[f][sl] = true;
		} else if (op < 8) {
			del(filters[f], sl);
			on[f][sl] = false;
		} else {
			if (op == 8)
				test_index_topic(rs, filters, size, topic,
					sizeof(topic));
			else
				snprintf(topic, sizeof(topic), "%s",
					test_special_topics[test_rand(rs) %
						CQ_ARRAY_SIZE(
							test_special_topics)]);
			match(topic, r);
			model_check_n(size, on, filters, topic, r);
		}
	}
}

/* The filter index against the model at many sizes (its table grows and
 * shrinks through every capacity up to a few hundred entries; '+' shapes
 * come and go), mixed with trie filters [MQTT-4.7.1-2] [MQTT-4.7.2-1]. */
START_TEST(model_index_sizes)
{
	cq_shm_t shm;
	shm_test_create(&shm, M_SLOTS, 16u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	static char filters[X_FILT][64];
	static bool on[X_FILT][M_SLOTS];
	uint64_t rs = 4242;
	test_index_filters(&rs, filters, X_FILT, true);
	for (unsigned size = 1; size <= X_FILT; size = size * 3 / 2 + 1) {
		memset(on, 0, sizeof(on));
		for (unsigned f = 0; f < size; f++) {
			add(filters[f], f % M_SLOTS);
			on[f][f % M_SLOTS] = true;
		}
		index_churn(size, &rs, filters, on, &r);
		check_clean(&shm);
		for (unsigned f = 0; f < size; f++)
			for (unsigned sl = 0; sl < M_SLOTS; sl++) {
				ck_assert_int_eq(
					cq_route_has(filters[f],
						strlen(filters[f]), sl),
					on[f][sl]);
				del(filters[f], sl);
			}
		check_empty(&shm);
	}
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* A second mapping at another address reads and writes the index and
 * the trie: every link in them is an offset. */
START_TEST(second_mapping_matches)
{
	cq_shm_t a, b;
	const char *err = NULL;
	shm_test_create(&a, 4, 8u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	add("m/1", 1);
	add("m/+", 2);
	add("+/1", 3);
	add("m/#", 0);
	add("$share/g/m/1", 1);
	ck_assert_int_eq(cq_shm_attach(a.fd, &b, &err), 0);
	ck_assert_ptr_ne(a.base, b.base);
	cq_shm_use(&b);
	match("m/1", &r);
	ck_assert_uint_eq(r.workers, 0xf);
	ck_assert_uint_eq(r.npicks, 1);
	add("m/2/x", 1);
	add("m/+/x", 3);
	check_clean(&b);
	cq_shm_use(&a);
	match("m/2/x", &r);
	ck_assert_uint_eq(r.workers, 0xb); /* m/2/x, m/+/x, m/# */
	match("$SYS/1", &r); /* "+/1" is not for '$' topics [MQTT-4.7.2-1] */
	ck_assert_uint_eq(r.workers, 0);
	check_clean(&a);
	cq_route_result_free(&r);
	cq_shm_detach(&b);
	cq_shm_use(&a);
	cq_shm_detach(&a);
}
END_TEST

static route_shard_t *
shard_of_topic(const char *t)
{
	cq_topic_levels_t lv;
	ck_assert_int_eq(
		cq_topic_levels_split(&lv, t, strlen(t), cq_route_seed()), 0);
	route_shard_t *s = &cq_route_area->shard[lv.lv[0].hash &
		(cq_route_area->nshards - 1)];
	cq_topic_levels_free(&lv);
	return s;
}

static route_entry_t *
entry_of(const char *f)
{
	cq_topic_levels_t lv;
	ck_assert_int_eq(
		cq_topic_levels_split(&lv, f, strlen(f), cq_route_seed()), 0);
	route_entry_t *e = cq_route_index_find(&lv, cq_topic_index_kind(&lv));
	cq_topic_levels_free(&lv);
	ck_assert_ptr_nonnull(e);
	return e;
}

static unsigned
check_errors(cq_shm_t *shm, unsigned flags, unsigned *repaired_r)
{
	cq_shm_report_t rep = shm_test_check(shm, flags);
	if (repaired_r != NULL)
		*repaired_r = rep.repaired;
	return rep.errors;
}

/* The checker validates the filter index: entries (hash, shard, table),
 * the tables' links, the shapes and Bloom bits readers rely on (X1, X4,
 * X6). */
START_TEST(checker_sees_index_damage)
{
	cq_shm_t shm;
	unsigned rep;
	cq_log_set_level(CQ_LOG_CRIT);
	shm_test_create(&shm, 4, 8u << 20);
	add("a/b", 1);
	add("a/+/c", 2);
	add("a/d", 3);
	add("a/e/#", 0);
	check_clean(&shm);
	route_shard_t *s = shard_of_topic("a");
	/* A missing shape bit: readers would miss "a/+/c". */
	s->shapes.plus[2] = 0;
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	s->shapes.plus[2] = 2;
	/* A count below its entries: the bit would go too early. */
	s->counts.plus[2][1] = 0;
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	/* A '#' entry's prefix length missing: readers would miss it. */
	s->shapes.multi = 0;
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	s->shapes.multi = 1u << 2;
	/* Too high (a writer died): repaired when quiescent. */
	s->counts.plus[2][1] = 7;
	s->shapes.plus[4] |= 1u << 3;
	s->counts.multi[5] = 1;
	s->shapes.multi |= 1u << 5;
	s->entries += 2;
	ck_assert_uint_eq(check_errors(&shm, CQ_SHM_CHECK_QUIESCENT, &rep), 0);
	ck_assert_uint_ge(rep, 4);
	ck_assert_uint_eq(s->counts.plus[2][1], 1);
	ck_assert_uint_eq(s->shapes.plus[4], 0);
	ck_assert_uint_eq(s->shapes.multi, 1u << 2);
	ck_assert_uint_eq(s->entries, 4);
	/* A '+' entry missing from the Bloom filter: readers skip it. */
	route_bloom_t *b = CQ_PTR(route_bloom_t, s->bloom);
	ck_assert_ptr_nonnull(b);
	route_entry_t *pe = entry_of("a/+/c");
	uint32_t bit = cq_topic_bloom_bit(b->log2, pe->h.hash);
	uint64_t word = b->w[bit / 64];
	b->w[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	b->w[bit / 64] = word;
	/* Exact and wildcard entries in each other's table. */
	uint64_t exact = s->index;
	s->index = s->wild;
	s->wild = exact;
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	s->wild = s->index;
	s->index = exact;
	/* An entry whose hash is not its text's. */
	route_entry_t *e = entry_of("a/b");
	e->h.hash ^= 0x100;
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	e->h.hash ^= 0x100;
	/* A table slot pointing outside the region. */
	ck_assert_uint_ne(cq_trie_kids_shape(s->index), CQ_TRIE_SINGLE);
	cq_trie_tab_t *t = CQ_PTR(cq_trie_tab_t, cq_trie_kids_off(s->index));
	uint32_t i = 0;
	while (!cq_trie_slot_live(t->slot[i]))
		i++;
	uint64_t saved = t->slot[i];
	t->slot[i] = (saved & ~(uint64_t)UINT32_MAX) | 0xfffffff0u;
	ck_assert_uint_gt(check_errors(&shm, 0, NULL), 0);
	t->slot[i] = saved;
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* Many siblings: children tables grow, shift and shrink in place. */
START_TEST(wide_level_tables)
{
	enum { N = 3000 };
	cq_shm_t shm;
	shm_test_create(&shm, 2, 32u << 20);
	cq_route_result_t r;
	cq_route_result_init(&r);
	char f[64];
	for (unsigned i = 0; i < N; i++) {
		snprintf(f, sizeof(f), "w/%u", i * 7919 % 100003);
		add(f, 1);
	}
	for (unsigned i = 0; i < N; i += 2) {
		snprintf(f, sizeof(f), "w/%u", i * 7919 % 100003);
		del(f, 1);
	}
	for (unsigned i = 0; i < N; i++) {
		snprintf(f, sizeof(f), "w/%u", i * 7919 % 100003);
		match(f, &r);
		ck_assert_uint_eq(r.workers, i % 2 ? 2u : 0u);
	}
	cq_qsbr_reclaim();
	check_clean(&shm);
	cq_route_result_free(&r);
	cq_shm_detach(&shm);
}
END_TEST

/* A full arena is an answer (ENOMEM -> SUBACK 0x97), not a crash, and
 * leaves what was there intact. */
START_TEST(arena_exhaustion)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 4u << 20);
	char f[96];
	unsigned ok = 0;
	for (unsigned i = 0; i < 1000000; i++) {
		snprintf(f, sizeof(f), "full/%u/level/%u/$share", i, i * 31);
		if (cq_route_add(f, strlen(f), 1) < 0) {
			ck_assert_int_eq(errno, ENOMEM);
			break;
		}
		ok++;
	}
	ck_assert_uint_gt(ok, 10);
	ck_assert_uint_lt(ok, 1000000);
	for (unsigned i = 0; i < ok; i++) {
		snprintf(f, sizeof(f), "full/%u/level/%u/$share", i, i * 31);
		ck_assert_int_eq(cq_route_has(f, strlen(f), 1), 1);
	}
	check_clean(&shm);
	for (unsigned i = 0; i < ok; i++) {
		snprintf(f, sizeof(f), "full/%u/level/%u/$share", i, i * 31);
		del(f, 1);
	}
	cq_qsbr_reclaim();
	snprintf(f, sizeof(f), "again/%u", ok);
	add(f, 1);
	cq_shm_detach(&shm);
}
END_TEST

static int
keep_even(void *arg, const char *filter, size_t len, uint64_t key)
{
	(void)arg;
	(void)key;
	return (filter[len - 1] - '0') % 2 == 0;
}

START_TEST(purge_slot)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	const char *fs[] = {"p/0", "p/1", "/x/2", "+/3", "#", "$share/g/q/5",
		"p/+/#", "$share/g/#", "q/#"};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(fs); i++) {
		add(fs[i], 1);
		add(fs[i], 2);
	}
	/* keep_even looks at the filter text: "#" and "p/+/#" end in '#'
	 * (odd), "/x/2" keeps the empty first level in its text. */
	ck_assert_int_eq(cq_route_purge_slot(1, keep_even, NULL), 7);
	const bool kept[] = {
		true, false, true, false, false, false, false, false, false};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(fs); i++) {
		ck_assert_int_eq(
			cq_route_has(fs[i], strlen(fs[i]), 1), kept[i]);
		ck_assert_int_eq(cq_route_has(fs[i], strlen(fs[i]), 2), 1);
	}
	ck_assert_int_eq(cq_route_purge_slot(2, NULL, NULL), 9);
	ck_assert_int_eq(cq_route_purge_slot(1, NULL, NULL), 2);
	check_empty(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* A respawned worker rebuilds its private trie, then drops the routes its
 * predecessor left that no session holds any more. */
START_TEST(purge_with_private_trie)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 8u << 20);
	cq_subtrie_t *t = cq_subtrie_new(cq_route_seed());
	const char *kept[] = {"k/1", "k/+/#", "$share/g/k/2", "#"};
	const char *stale[] = {"s/1", "$share/g/s/2", "$share/h/k/2", "k/2"};
	cq_subopts_t o = {.qos = 1};
	unsigned flags;
	for (size_t i = 0; i < CQ_ARRAY_SIZE(kept); i++) {
		ck_assert_int_eq(
			cq_subtrie_subscribe(t, kept[i], strlen(kept[i]),
				(void *)1, &o, &flags),
			0);
		add(kept[i], 3);
	}
	for (size_t i = 0; i < CQ_ARRAY_SIZE(stale); i++)
		add(stale[i], 3);
	ck_assert_int_eq(cq_route_purge_slot(3, cq_subtrie_has, t), 4);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(kept); i++)
		ck_assert_int_eq(cq_route_has(kept[i], strlen(kept[i]), 3), 1);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(stale); i++)
		ck_assert_int_eq(
			cq_route_has(stale[i], strlen(stale[i]), 3), 0);
	cq_subtrie_free(t);
	cq_qsbr_reclaim();
	check_clean(&shm);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- concurrency and crashes --------------------------------------- */

/* A reader process matches stable filters while this process churns
 * their neighbours (table growth, shifts, shrinks, pruning; the filter
 * index's table and a '+' shape shared with the churned filters): the
 * stable ones never disappear from a match. */
START_TEST(reader_never_misses_during_churn)
{
	cq_shm_t shm;
	shm_test_create(&shm, 2, 64u << 20);
	char f[64];
	for (unsigned i = 0; i < 64; i++) {
		snprintf(f, sizeof(f), "c/%u/s", i * 2);
		add(f, 1);
		snprintf(f, sizeof(f), "d/+/%u", i * 2); /* one shape: X4 */
		add(f, 1);
	}
	volatile uint32_t *stop = crash_shared_zalloc(4096);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_shm_set_slot(1);
		cq_qsbr_register();
		cq_route_result_t r;
		cq_route_result_init(&r);
		unsigned bad = 0;
		for (unsigned it = 0;
			!__atomic_load_n(stop, __ATOMIC_ACQUIRE) &&
			it < 2000000;
			it++) {
			cq_qsbr_quiescent();
			snprintf(f, sizeof(f), it % 2 ? "c/%u/s" : "d/q/%u",
				(it / 2 % 64) * 2);
			cq_topic_levels_t lv;
			cq_topic_levels_split(
				&lv, f, strlen(f), cq_route_seed());
			cq_route_match(&lv, &r);
			bad += r.workers != 2;
		}
		_exit(bad == 0 ? 0 : 1);
	}
	cq_shm_set_slot(0);
	cq_qsbr_register();
	uint64_t rs = 99;
	time_t end = time(NULL) + 2;
	for (unsigned round = 0; round < 60 && time(NULL) < end; round++) {
		for (unsigned i = 0; i < 300; i++) {
			unsigned k = 1 + 2 * (unsigned)(test_rand(&rs) % 400);
			snprintf(f, sizeof(f), "c/%u/s", k);
			add(f, 0);
			snprintf(f, sizeof(f), "d/+/%u", k);
			add(f, 0);
		}
		for (unsigned i = 0; i < 400; i++) {
			snprintf(f, sizeof(f), "c/%u/s", 1 + 2 * i);
			del(f, 0);
			snprintf(f, sizeof(f), "d/+/%u", 1 + 2 * i);
			del(f, 0);
		}
		cq_qsbr_quiescent();
		cq_qsbr_reclaim();
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(shm_test_wait(pid), 0);
	cq_shm_detach(&shm);
}
END_TEST

/* Filter k of the crash tests: exact and single-'+' ones (the filter
 * index, the '+' shard's too), '#' and two-'+' ones (the trie). */
static void
crash_filter(unsigned k, char *f, size_t cap)
{
	switch (k % 5) {
	case 0:
	case 1:
		snprintf(f, cap, "k/%u/%u/x", k % 50, k);
		break;
	case 2: /* many shards' filter indexes and Bloom filters */
		snprintf(f, cap, k % 3 ? "k%u/+/%u" : "+/%u/k/%u", k % 50, k);
		break;
	case 3:
		snprintf(f, cap, "k/%u/%u/#", k % 50, k);
		break;
	default:
		snprintf(f, cap, "k/+/%u/+/%u", k % 50, k);
	}
}

/* committed[i] != 0: the child's add of filter i returned. */
static void
route_work(uint32_t trial, void *arg)
{
	uint8_t *committed = arg;
	char f[64];
	for (unsigned i = 0; i < 4000; i++) {
		unsigned k = (i * 37 + trial) % 601;
		crash_filter(k, f, sizeof(f));
		if (i % 3 == 2) {
			committed[k] = 0;
			cq_route_remove(f, strlen(f), 1);
		} else if (cq_route_add(f, strlen(f), 1) == 0)
			committed[k] = 1;
	}
}

/* Kill a writer at crash point 'cp' (armed with a countdown) in a child,
 * then continue writing and check: consistent, committed filters kept. */
static void
crash_writer_at(const char *cp)
{
	cq_shm_t shm;
	shm_test_create(&shm, 4, 16u << 20);
	uint8_t *committed = crash_shared_zalloc(4096);
	for (uint32_t trial = 1; trial <= 6; trial++) {
		crash_trial(
			&shm, 1, cp, trial * 3, trial, route_work, committed);
		/* The next writer recovers the lock and goes on. */
		add("after/crash", 2);
		del("after/crash", 2);
		cq_shm_report_t rep = shm_test_check(
			&shm, CQ_SHM_CHECK_QUIESCENT);
		ck_assert_uint_eq(rep.errors, 0);
		char f[64];
		for (unsigned k = 0; k < 601; k++) {
			crash_filter(k, f, sizeof(f));
			if (committed[k])
				ck_assert_msg(cq_route_has(f, strlen(f), 1),
					"%s lost after a crash at %s", f, cp);
		}
	}
	cq_shm_report_t rep = shm_test_check(
		&shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.errors, 0);
	check_clean(&shm);
	munmap(committed, 4096);
	cq_shm_detach(&shm);
}

START_TEST(crash_inside_locked_section)
{
	crash_writer_at("route.locked");
}
END_TEST

START_TEST(crash_between_allocate_and_publish)
{
	crash_writer_at("route.chain_built");
	crash_writer_at("route.entry_built");
	crash_writer_at("route.bloom_built");
	crash_writer_at("trie.table_built");
}
END_TEST

START_TEST(crash_while_removing)
{
	crash_writer_at("route.cleared");
	crash_writer_at("route.unlinked");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, spec_table_one_filter);
	tcase_add_test(tc, spec_table_all_filters);
	tcase_add_test(tc, add_remove_idempotent);
	tcase_add_test(tc, shared_group_choice);
	tcase_add_test(tc, many_groups);
	tcase_add_test(tc, wide_frontier);
	tcase_add_test(tc, model_random_ops);
	tcase_add_test(tc, model_index_sizes);
	tcase_add_test(tc, second_mapping_matches);
	tcase_add_test(tc, checker_sees_index_damage);
	tcase_add_test(tc, wide_level_tables);
	tcase_add_test(tc, arena_exhaustion);
	tcase_add_test(tc, purge_slot);
	tcase_add_test(tc, purge_with_private_trie);
	tcase_add_test(tc, reader_never_misses_during_churn);
	tcase_add_test(tc, crash_inside_locked_section);
	tcase_add_test(tc, crash_between_allocate_and_publish);
	tcase_add_test(tc, crash_while_removing);
	suite_add_tcase(s, tc);
	return s;
}
