/*
 * cb_track.c — see cb_track.h.
 *
 * base is always a multiple of 64, so the window is a ring of whole words:
 * the word for number n is bits[(n / 64) % CB_TRACK_WORDS].  In the common
 * case (n == hi_local, inside the window) an arrival sets one bit and, once
 * a word is full, slides the window by that word.
 */
#include "config.h"
#include "bench/cb_track.h"

#include <stdlib.h>
#include <string.h>

#define WORD_OF(n) ((size_t)(((n) / 64) % CB_TRACK_WORDS))

void
cb_track_init(cb_track_t *t)
{
	memset(t, 0, sizeof(*t));
	atomic_init(&t->high, 0);
	atomic_init(&t->wake_at, 0);
}

void
cb_track_free(cb_track_t *t)
{
	free(t->lost);
	t->lost = NULL;
	t->nlost = t->caplost = 0;
}

/* Append [lo, hi) to the loss list (ranges arrive in increasing order). */
static int
lost_append(cb_track_t *t, uint64_t lo, uint64_t hi)
{
	if (t->nlost > 0 && t->lost[t->nlost - 1].hi == lo) {
		t->lost[t->nlost - 1].hi = (uint32_t)hi;
		return 0;
	}
	if (t->nlost == t->caplost) {
		uint32_t cap = t->caplost ? t->caplost * 2 : 16;
		cb_range_t *p = realloc(t->lost, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		t->lost = p;
		t->caplost = cap;
	}
	t->lost[t->nlost].lo = (uint32_t)lo;
	t->lost[t->nlost].hi = (uint32_t)hi;
	t->nlost++;
	return 0;
}

/* Slide the window so that it covers 'seq'; clear bits become losses. */
static int
slide(cb_track_t *t, uint64_t seq)
{
	uint64_t newbase = (seq + 1 - CB_TRACK_WINDOW + 63) / 64 * 64;
	int rc = 0;
	while (t->base < newbase) {
		if (newbase - t->base > CB_TRACK_WINDOW &&
			t->bits[WORD_OF(t->base)] == 0) {
			/* Nothing received in the rest of the window either
			 * once the remaining words are empty: jump. */
			int empty = 1;
			for (size_t i = 0; i < CB_TRACK_WORDS; i++)
				empty &= t->bits[i] == 0;
			if (empty) {
				rc |= lost_append(t, t->base, newbase);
				t->base = newbase;
				break;
			}
		}
		uint64_t w = t->bits[WORD_OF(t->base)];
		for (unsigned j = 0; j < 64; j++) {
			if (!(w & (UINT64_C(1) << j)))
				rc |= lost_append(
					t, t->base + j, t->base + j + 1);
		}
		t->bits[WORD_OF(t->base)] = 0;
		t->base += 64;
	}
	return rc;
}

/* Remove seq from the loss list; 1 if it was there. */
static int
lost_take(cb_track_t *t, uint32_t seq)
{
	uint32_t lo = 0, hi = t->nlost;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->lost[mid].hi <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->nlost || t->lost[lo].lo > seq)
		return 0;
	cb_range_t *r = &t->lost[lo];
	if (r->lo == seq) {
		r->lo++;
	} else if (r->hi == seq + 1) {
		r->hi--;
	} else {
		/* Split [lo, hi) into [lo, seq) and [seq + 1, hi). */
		if (t->nlost == t->caplost) {
			cb_range_t *p = realloc(
				t->lost, t->caplost * 2 * sizeof(*p));
			if (p == NULL)
				return 1; /* seq stays "lost" in the list but
					     is counted as received; the
					     final tally uses 'unique' */
			t->lost = p;
			t->caplost *= 2;
			r = &t->lost[lo];
		}
		memmove(r + 1, r, (t->nlost - lo) * sizeof(*r));
		t->nlost++;
		r[0].hi = seq;
		r[1].lo = seq + 1;
		return 1;
	}
	if (r->lo == r->hi) {
		memmove(r, r + 1, (t->nlost - lo - 1) * sizeof(*r));
		t->nlost--;
	}
	return 1;
}

cb_track_result_t
cb_track_add(cb_track_t *t, uint32_t seq)
{
	int nomem = 0;
	if (seq >= t->base + CB_TRACK_WINDOW)
		nomem = slide(t, seq);
	if (seq < t->base) {
		if (lost_take(t, seq)) {
			t->unique++;
			t->reordered++;
			return CB_TRACK_LATE;
		}
		t->dup++;
		return CB_TRACK_DUP;
	}
	uint64_t *w = &t->bits[WORD_OF(seq)];
	uint64_t bit = UINT64_C(1) << (seq % 64);
	if (*w & bit) {
		t->dup++;
		return CB_TRACK_DUP;
	}
	*w |= bit;
	t->unique++;
	cb_track_result_t res = CB_TRACK_NEW;
	if (seq + 1 < t->hi_local) {
		t->reordered++;
		res = CB_TRACK_LATE;
	} else {
		t->hi_local = seq + 1;
	}
	while (t->bits[WORD_OF(t->base)] == UINT64_MAX) {
		t->bits[WORD_OF(t->base)] = 0;
		t->base += 64;
	}
	return nomem ? CB_TRACK_NOMEM : res;
}
