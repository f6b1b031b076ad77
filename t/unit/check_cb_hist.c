/*
 * check_cb_hist.c — unit tests for bench/cb_hist (comqtt-bench's latency
 * histogram).
 */
#include "config.h"

#include "bench/cb_hist.h"
#include "t/unit/unit.h"

START_TEST(hist_small_values_exact)
{
	cb_hist_t h;
	ck_assert_int_eq(cb_hist_init(&h), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		cb_hist_record(&h, v);
	ck_assert_uint_eq(cb_hist_quantile(&h, 0.5), 500);
	ck_assert_uint_eq(cb_hist_quantile(&h, 0.99), 990);
	ck_assert_uint_eq(cb_hist_quantile(&h, 1.0), 1000);
	ck_assert_uint_eq(h.min, 1);
	cb_hist_free(&h);
}
END_TEST

/* Above 2048 the error is below 0.1 %. */
START_TEST(hist_large_values_within_resolution)
{
	cb_hist_t h;
	ck_assert_int_eq(cb_hist_init(&h), 0);
	for (uint64_t v = 1; v <= 1000000; v++)
		cb_hist_record(&h, v * 1000);
	uint64_t q[] = {cb_hist_quantile(&h, 0.5), cb_hist_quantile(&h, 0.99),
		cb_hist_quantile(&h, 0.999)};
	double want[] = {500000000.0, 990000000.0, 999000000.0};
	for (int i = 0; i < 3; i++) {
		double err = ((double)q[i] - want[i]) / want[i];
		ck_assert_double_lt(err < 0 ? -err : err, 0.001);
	}
	ck_assert_uint_eq(cb_hist_quantile(&h, 1.0), 1000000000);
	cb_hist_free(&h);
}
END_TEST

START_TEST(hist_merge_and_clamp)
{
	cb_hist_t a, b;
	ck_assert_int_eq(cb_hist_init(&a), 0);
	ck_assert_int_eq(cb_hist_init(&b), 0);
	cb_hist_record(&a, 10);
	cb_hist_record(&b, 20);
	cb_hist_record(&b, UINT64_MAX); /* clamped, not out of bounds */
	cb_hist_merge(&a, &b);
	ck_assert_uint_eq(a.total, 3);
	ck_assert_uint_eq(a.min, 10);
	ck_assert_uint_eq(cb_hist_quantile(&a, 0.5), 20);
	ck_assert_uint_gt(a.max, UINT64_C(1) << 43);
	cb_hist_free(&a);
	cb_hist_free(&b);
}
END_TEST

START_TEST(hist_empty_is_zero)
{
	cb_hist_t h;
	ck_assert_int_eq(cb_hist_init(&h), 0);
	ck_assert_uint_eq(cb_hist_quantile(&h, 0.99), 0);
	cb_hist_free(&h);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("cb_hist");
	TCase *tc = tcase_create("hist");
	tcase_add_test(tc, hist_small_values_exact);
	tcase_add_test(tc, hist_large_values_within_resolution);
	tcase_add_test(tc, hist_merge_and_clamp);
	tcase_add_test(tc, hist_empty_is_zero);
	suite_add_tcase(s, tc);
	return s;
}
