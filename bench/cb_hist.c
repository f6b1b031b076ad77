/*
 * cb_hist.c — see cb_hist.h.
 *
 * Bucket layout: index v for v < 2048; above that, with e = floor(log2 v)
 * and shift = e - 10, index (shift + 1) * 1024 + (v >> shift) - 1024, which
 * continues the exact range without a gap: [2048, 4096) maps to
 * [2048, 3072), [4096, 8192) to [3072, 4096), and so on.
 */
#include "config.h"
#include "bench/cb_hist.h"

#include <stdlib.h>
#include <string.h>

#define SUB_BITS  10
#define SUB_COUNT (1u << SUB_BITS)
#define MAX_BITS  44
#define MAX_VALUE ((UINT64_C(1) << MAX_BITS) - 1)
#define N_BUCKETS ((MAX_BITS - SUB_BITS + 1) * SUB_COUNT)

static inline unsigned
bucket_of(uint64_t v)
{
	if (v < 2 * SUB_COUNT)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v);
	unsigned shift = e - SUB_BITS;
	return (shift + 1) * SUB_COUNT + (unsigned)(v >> shift) - SUB_COUNT;
}

/* The highest value that maps to bucket i. */
static uint64_t
bucket_high(unsigned i)
{
	if (i < 2 * SUB_COUNT)
		return i;
	unsigned shift = i / SUB_COUNT - 1;
	uint64_t sub = i % SUB_COUNT + SUB_COUNT;
	return (sub << shift) + ((UINT64_C(1) << shift) - 1);
}

int
cb_hist_init(cb_hist_t *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(N_BUCKETS, sizeof(*h->counts));
	if (h->counts == NULL)
		return -1;
	h->min = UINT64_MAX;
	return 0;
}

void
cb_hist_free(cb_hist_t *h)
{
	free(h->counts);
	h->counts = NULL;
}

void
cb_hist_record(cb_hist_t *h, uint64_t value)
{
	if (value > MAX_VALUE)
		value = MAX_VALUE;
	h->counts[bucket_of(value)]++;
	h->total++;
	h->sum += (double)value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void
cb_hist_merge(cb_hist_t *dst, const cb_hist_t *src)
{
	if (src->total == 0)
		return;
	for (unsigned i = 0; i < N_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
cb_hist_quantile(const cb_hist_t *h, double q)
{
	if (h->total == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	/* The rank of the wanted value, 1-based; at least the first one. */
	uint64_t rank = (uint64_t)(q * (double)h->total + 0.5);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < N_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = bucket_high(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
