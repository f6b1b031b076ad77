/*
 * cb_hist.h — a log-linear latency histogram in the style of HdrHistogram.
 *
 * comqtt-bench records one value per delivered message (nanoseconds from
 * the time stamp in the payload to its arrival), so recording must cost a
 * few instructions and no allocation.  Values below 2048 are exact; above,
 * every power-of-two range is split into 1024 linear buckets, so any
 * reported quantile is within 0.1 % of the true value.  Values are clamped
 * at 2^44 ns (about 4.9 hours).  Each thread owns one histogram; they are
 * merged when the run ends.
 */
#ifndef CB_HIST_H
#define CB_HIST_H

#include <stdint.h>

typedef struct cb_hist {
	uint64_t *counts;
	uint64_t total;
	uint64_t min;
	uint64_t max;
	double sum;
} cb_hist_t;

/* 0, or -1 (ENOMEM). */
int cb_hist_init(cb_hist_t *h);
void cb_hist_free(cb_hist_t *h);
void cb_hist_record(cb_hist_t *h, uint64_t value);
/* Add src's counts to dst (both initialised). */
void cb_hist_merge(cb_hist_t *dst, const cb_hist_t *src);
/*
 * The value at quantile q (0 < q <= 1): the highest value equivalent to the
 * bucket that holds the q-th recorded value, capped at the maximum seen.
 * 0 when nothing was recorded.
 */
uint64_t cb_hist_quantile(const cb_hist_t *h, double q);

#endif /* CB_HIST_H */
