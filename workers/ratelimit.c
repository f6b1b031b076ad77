/*
 * ratelimit.c — see ratelimit.h.
 */
#include "config.h"
#include "workers/ratelimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "core/defs.h"
#include "core/log.h"

#define PROBE     8
#define IDLE_MS   60000u /* a slot idle this long may be reused */
#define TIME_BITS 40
#define TIME_MASK ((UINT64_C(1) << TIME_BITS) - 1)
#define MILLI     1000u /* a token, in thousandths */

typedef struct entry {
	_Atomic uint64_t key;
	_Atomic uint64_t state;
} entry_t;

typedef struct table {
	uint64_t seed;
	uint64_t mask;
	_Atomic uint64_t overflows;
	entry_t e[];
} table_t;

static table_t *table;

int
cq_ratelimit_create(unsigned entries)
{
	uint64_t n = 64;
	while (n < entries)
		n <<= 1;
	size_t size = offsetof(table_t, e) + n * sizeof(entry_t);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		cq_log(CQ_LOG_ERR, errno,
			"mmap() of the rate-limit table failed; no rate "
			"limits");
		return -1;
	}
	table = p;
	table->mask = n - 1;
	if (getrandom(&table->seed, sizeof(table->seed), 0) !=
		(ssize_t)sizeof(table->seed))
		table->seed = (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15u;
	return 0;
}

/* splitmix64 over the seeded bytes: cheap and well mixed. */
static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	return h ^ (h >> 31);
}

static bool
key_of(unsigned listener, const struct sockaddr *sa, uint64_t *key_r)
{
	uint8_t a[16];
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memset(a, 0, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	uint64_t hi, lo;
	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	uint64_t h = mix(mix(mix(table->seed, listener), hi), lo);
	*key_r = h | 1; /* 0 marks a free slot */
	return true;
}

static uint64_t
pack(uint64_t tokens, uint64_t now_ms)
{
	return tokens << TIME_BITS | (now_ms & TIME_MASK);
}

/*
 * Milliseconds from 'then' (a stored 40-bit time) to now.  Workers read
 * the clock once per loop iteration, so a bucket may carry a time a
 * little ahead of another worker's 'now': that is 0, not a wrap-around
 * of 34 years.
 */
static uint64_t
since(uint64_t then, uint64_t now_ms)
{
	uint64_t d = ((now_ms & TIME_MASK) - then) & TIME_MASK;
	return d > TIME_MASK / 2 ? 0 : d;
}

/* Refill and take one token; CAS until it sticks. */
static bool
take_from(entry_t *e, uint32_t rate, uint64_t cap, uint64_t now_ms)
{
	uint64_t old = atomic_load_explicit(&e->state, memory_order_acquire);
	for (;;) {
		uint64_t tokens = old >> TIME_BITS, then = old & TIME_MASK;
		uint64_t elapsed = since(then, now_ms);
		/* rate tokens per s = rate thousandths per ms */
		uint64_t add = elapsed > cap ? cap : elapsed * rate;
		tokens = tokens + add > cap ? cap : tokens + add;
		bool ok = tokens >= MILLI;
		uint64_t fresh = pack(ok ? tokens - MILLI : tokens,
			elapsed > 0 ? now_ms : then);
		if (atomic_compare_exchange_weak_explicit(&e->state, &old,
			    fresh, memory_order_acq_rel, memory_order_acquire))
			return ok;
	}
}

/* A free slot, or the one idle longest (past IDLE_MS), to take over. */
static entry_t *
pick_slot(uint64_t key, uint64_t now_ms, uint64_t *seen_key_r)
{
	entry_t *best = NULL;
	uint64_t best_idle = IDLE_MS;
	for (unsigned i = 0; i < PROBE; i++) {
		entry_t *e = &table->e[(key + i) & table->mask];
		uint64_t k = atomic_load_explicit(
			&e->key, memory_order_acquire);
		if (k == 0) {
			*seen_key_r = 0;
			return e;
		}
		uint64_t st = atomic_load_explicit(
			&e->state, memory_order_relaxed);
		uint64_t idle = ((now_ms & TIME_MASK) - (st & TIME_MASK)) &
			TIME_MASK;
		if (idle >= best_idle) {
			best = e;
			best_idle = idle;
			*seen_key_r = k;
		}
	}
	return best;
}

static entry_t *
find(uint64_t key)
{
	for (unsigned i = 0; i < PROBE; i++) {
		entry_t *e = &table->e[(key + i) & table->mask];
		if (atomic_load_explicit(&e->key, memory_order_acquire) == key)
			return e;
	}
	return NULL;
}

bool
cq_ratelimit_take(unsigned listener, const struct sockaddr *sa, uint32_t rate,
	uint32_t burst, uint64_t now_ms)
{
	uint64_t key;
	if (table == NULL || rate == 0 || !key_of(listener, sa, &key))
		return true;
	uint64_t cap = (uint64_t)CQ_MIN(burst, CQ_RATELIMIT_RATE_MAX) * MILLI;
	rate = CQ_MIN(rate, CQ_RATELIMIT_RATE_MAX);
	for (int attempt = 0; attempt < 2; attempt++) {
		entry_t *e = find(key);
		if (e != NULL)
			return take_from(e, rate, cap, now_ms);
		uint64_t seen = 0;
		e = pick_slot(key, now_ms, &seen);
		if (e == NULL)
			break;
		/* Claim the slot, then give it a full bucket (a state read
		 * in between is a free or idle slot's: a minute of refill). */
		if (atomic_compare_exchange_strong_explicit(&e->key, &seen, key,
			    memory_order_acq_rel, memory_order_acquire)) {
			atomic_store_explicit(&e->state, pack(cap, now_ms),
				memory_order_release);
			return take_from(e, rate, cap, now_ms);
		}
	}
	atomic_fetch_add_explicit(&table->overflows, 1, memory_order_relaxed);
	return true;
}

uint64_t
cq_ratelimit_overflows(void)
{
	return table != NULL
		? atomic_load_explicit(&table->overflows, memory_order_relaxed)
		: 0;
}
