/*
 * check_cb_track.c — unit tests for bench/cb_track (comqtt-bench's exact
 * loss, duplicate and reorder accounting).
 */
#include "config.h"

#include <stdlib.h>

#include "bench/cb_track.h"
#include "t/unit/unit.h"

START_TEST(track_in_order)
{
	cb_track_t t;
	cb_track_init(&t);
	for (uint32_t i = 0; i < 100000; i++)
		ck_assert_int_eq(cb_track_add(&t, i), CB_TRACK_NEW);
	ck_assert_uint_eq(t.unique, 100000);
	ck_assert_uint_eq(t.dup + t.reordered, 0);
	ck_assert_uint_eq(t.nlost, 0);
	ck_assert_uint_eq(t.hi_local, 100000);
	/* The window followed the stream: no loss list was needed. */
	ck_assert_uint_ge(t.base, 100000 - 64);
	cb_track_free(&t);
}
END_TEST

START_TEST(track_duplicate_in_window)
{
	cb_track_t t;
	cb_track_init(&t);
	ck_assert_int_eq(cb_track_add(&t, 0), CB_TRACK_NEW);
	ck_assert_int_eq(cb_track_add(&t, 1), CB_TRACK_NEW);
	ck_assert_int_eq(cb_track_add(&t, 1), CB_TRACK_DUP);
	ck_assert_uint_eq(t.unique, 2);
	ck_assert_uint_eq(t.dup, 1);
	cb_track_free(&t);
}
END_TEST

START_TEST(track_reorder_in_window)
{
	cb_track_t t;
	cb_track_init(&t);
	ck_assert_int_eq(cb_track_add(&t, 0), CB_TRACK_NEW);
	ck_assert_int_eq(cb_track_add(&t, 2), CB_TRACK_NEW);
	ck_assert_int_eq(cb_track_add(&t, 1), CB_TRACK_LATE);
	ck_assert_uint_eq(t.unique, 3);
	ck_assert_uint_eq(t.reordered, 1);
	ck_assert_uint_eq(t.dup, 0);
	cb_track_free(&t);
}
END_TEST

/* A gap that slides out of the window is listed as lost; a late arrival
 * takes it off the list, a second copy is a duplicate. */
START_TEST(track_loss_then_late_arrival)
{
	cb_track_t t;
	cb_track_init(&t);
	for (uint32_t i = 0; i < 5000; i++)
		if (i != 100)
			cb_track_add(&t, i);
	ck_assert_uint_eq(t.nlost, 1);
	ck_assert_uint_eq(t.lost[0].lo, 100);
	ck_assert_uint_eq(t.lost[0].hi, 101);
	ck_assert_uint_eq(t.unique, 4999);
	ck_assert_int_eq(cb_track_add(&t, 100), CB_TRACK_LATE);
	ck_assert_uint_eq(t.nlost, 0);
	ck_assert_uint_eq(t.unique, 5000);
	ck_assert_int_eq(cb_track_add(&t, 100), CB_TRACK_DUP);
	ck_assert_int_eq(cb_track_add(&t, 7), CB_TRACK_DUP);
	ck_assert_uint_eq(t.dup, 2);
	cb_track_free(&t);
}
END_TEST

/* A jump far ahead lists one range; late arrivals split it. */
START_TEST(track_jump_splits_range)
{
	cb_track_t t;
	cb_track_init(&t);
	cb_track_add(&t, 0);
	cb_track_add(&t, 1000000);
	ck_assert_uint_eq(t.nlost, 1);
	uint32_t hi = t.lost[0].hi;
	ck_assert_uint_eq(t.lost[0].lo, 1);
	ck_assert_int_eq(cb_track_add(&t, 500), CB_TRACK_LATE);
	ck_assert_uint_eq(t.nlost, 2);
	ck_assert_uint_eq(t.lost[0].hi, 500);
	ck_assert_uint_eq(t.lost[1].lo, 501);
	ck_assert_uint_eq(t.lost[1].hi, hi);
	ck_assert_int_eq(cb_track_add(&t, 1), CB_TRACK_LATE);
	ck_assert_uint_eq(t.lost[0].lo, 2);
	ck_assert_uint_eq(t.unique, 4);
	cb_track_free(&t);
}
END_TEST

/* Bounded shuffling plus some duplicates: the tallies are exact. */
START_TEST(track_shuffled_stream_exact)
{
	enum { N = 200000 };
	uint32_t *seq = malloc(N * sizeof(*seq));
	ck_assert_ptr_nonnull(seq);
	for (uint32_t i = 0; i < N; i++)
		seq[i] = i;
	srand(7);
	/* Swap within 3000 places: far beyond the 1024-wide window. */
	for (uint32_t i = 0; i + 3000 < N; i += 7) {
		uint32_t j = i + (uint32_t)rand() % 3000, x = seq[i];
		seq[i] = seq[j];
		seq[j] = x;
	}
	cb_track_t t;
	cb_track_init(&t);
	uint64_t dups = 0;
	for (uint32_t i = 0; i < N; i++) {
		cb_track_add(&t, seq[i]);
		if (i % 1000 == 0) {
			ck_assert_int_eq(
				cb_track_add(&t, seq[i]), CB_TRACK_DUP);
			dups++;
		}
	}
	ck_assert_uint_eq(t.unique, N);
	ck_assert_uint_eq(t.dup, dups);
	ck_assert_uint_eq(t.nlost, 0);
	ck_assert_uint_gt(t.reordered, 0);
	cb_track_free(&t);
	free(seq);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("cb_track");
	TCase *tc = tcase_create("track");
	tcase_add_test(tc, track_in_order);
	tcase_add_test(tc, track_duplicate_in_window);
	tcase_add_test(tc, track_reorder_in_window);
	tcase_add_test(tc, track_loss_then_late_arrival);
	tcase_add_test(tc, track_jump_splits_range);
	tcase_add_test(tc, track_shuffled_stream_exact);
	suite_add_tcase(s, tc);
	return s;
}
