/*
 * authcache.c — the shared auth/ACL decision cache (authcache.h).
 *
 * Layout: a header (geometry, SipHash secret, policy epoch on its own cache
 * line), the stripe locks, one CLOCK hand per bucket, one reference byte
 * per entry, and the entries: nbuckets x 8 ways of 128 bytes, each 16
 * 64-bit words so that readers copy them with relaxed atomic loads.
 *
 * Invariants:
 *  1. An entry's words change only under its bucket's stripe lock, inside
 *     a sequence section: seq odd (relaxed), release fence, words, seq even
 *     (release).  A reader's copy is valid when seq was even and unchanged
 *     around it (acquire load, copy, acquire fence, reload).
 *  2. An entry matches only if its epoch equals the current policy epoch;
 *     epoch 0 means empty.
 *  3. A writer that dies inside the section leaves seq odd: readers skip
 *     the entry, and the next holder of the (recovered) stripe lock resets
 *     every odd entry of its stripe.  Nothing else can be left half-done.
 *  4. The header's serial is the policy serial the epoch was last bumped
 *     for, written under serial_lock after the bump: a process killed
 *     between the two leaves the older serial, so the next caller bumps
 *     again.  A serial is never recorded without its bump.
 */
#include "config.h"
#include "shm/authcache.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"

#define AC_MAGIC     UINT64_C(0x4341545551514d43) /* "CMQQUTAC" */
#define AC_WAYS      8u
#define AC_KEY_BYTES 80u
#define AC_HASHED    0xffffu /* key_len: too long, matched by hash only */
#define AC_STRIPES   256u

enum { W_SEQ, W_H1, W_H2, W_EPOCH, W_EXPIRES, W_META, W_KEY, W_COUNT = 16 };

typedef struct ac_entry {
	uint64_t w[W_COUNT];
} ac_entry_t;

typedef struct ac_hdr {
	uint64_t magic;
	uint32_t nbuckets; /* power of 2 */
	uint32_t nstripes;
	uint64_t secret[2];
	uint64_t locks_byte; /* offsets from the area start */
	uint64_t clock_byte;
	uint64_t ref_byte;
	uint64_t entries_byte;
	uint64_t epoch __attribute__((aligned(CQ_CACHELINE)));
	cq_mutex_t serial_lock; /* invariant 4 */
	char serial[CQ_AUTHCACHE_SERIAL_MAX];
} ac_hdr_t;

typedef struct ac_view {
	ac_hdr_t *h;
	cq_mutex_t *locks;
	uint8_t *clock;
	uint8_t *ref;
	ac_entry_t *e;
} ac_view_t;

/* A key, hashed and (when short) serialised. */
typedef struct ac_probe {
	uint64_t h[2];
	uint64_t meta; /* access and kind; key_len */
	uint64_t key[AC_KEY_BYTES / 8];
} ac_probe_t;

static ac_view_t cur;

/* ---- SipHash-2-4 ----------------------------------------------------- */

typedef struct sip {
	uint64_t v[4];
	uint64_t tail;
	unsigned ntail;
	uint64_t len;
} sip_t;

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void
sip_rounds(uint64_t *v, int n)
{
	while (n-- > 0) {
		v[0] += v[1];
		v[1] = rotl(v[1], 13) ^ v[0];
		v[0] = rotl(v[0], 32);
		v[2] += v[3];
		v[3] = rotl(v[3], 16) ^ v[2];
		v[0] += v[3];
		v[3] = rotl(v[3], 21) ^ v[0];
		v[2] += v[1];
		v[1] = rotl(v[1], 17) ^ v[2];
		v[2] = rotl(v[2], 32);
	}
}

static void
sip_init(sip_t *s, const uint64_t k[2], int wide)
{
	s->v[0] = UINT64_C(0x736f6d6570736575) ^ k[0];
	s->v[1] = UINT64_C(0x646f72616e646f6d) ^ k[1] ^ (wide ? 0xee : 0);
	s->v[2] = UINT64_C(0x6c7967656e657261) ^ k[0];
	s->v[3] = UINT64_C(0x7465646279746573) ^ k[1];
	s->tail = 0;
	s->ntail = 0;
	s->len = 0;
}

static void
sip_word(sip_t *s, uint64_t m)
{
	s->v[3] ^= m;
	sip_rounds(s->v, 2);
	s->v[0] ^= m;
}

static void
sip_update(sip_t *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->len += n;
	for (size_t i = 0; i < n; i++) {
		s->tail |= (uint64_t)p[i] << (8 * s->ntail);
		if (++s->ntail == 8) {
			sip_word(s, s->tail);
			s->tail = 0;
			s->ntail = 0;
		}
	}
}

static void
sip_final(sip_t *s, uint64_t out[2], int wide)
{
	sip_word(s, s->tail | (s->len << 56));
	s->v[2] ^= wide ? 0xee : 0xff;
	sip_rounds(s->v, 4);
	out[0] = s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
	if (!wide)
		return;
	s->v[1] ^= 0xdd;
	sip_rounds(s->v, 4);
	out[1] = s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
}

void
cq_siphash128(
	const uint64_t key[2], const void *data, size_t len, uint64_t out[2])
{
	sip_t s;
	sip_init(&s, key, 1);
	sip_update(&s, data, len);
	sip_final(&s, out, 1);
}

uint64_t
cq_siphash64(const uint64_t key[2], const void *data, size_t len)
{
	sip_t s;
	uint64_t out[2];
	sip_init(&s, key, 0);
	sip_update(&s, data, len);
	sip_final(&s, out, 0);
	return out[0];
}

/* ---- keys and entries ------------------------------------------------ */

uint64_t
cq_authcache_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
make_probe(const ac_view_t *v, const cq_authcache_key_t *k, ac_probe_t *p)
{
	if (k->id_len > 65535 || k->topic_len > 65535)
		return -1;
	uint8_t head[4] = {k->kind, k->access, (uint8_t)(k->id_len & 0xff),
		(uint8_t)(k->id_len >> 8)};
	sip_t s;
	sip_init(&s, v->h->secret, 1);
	sip_update(&s, head, sizeof(head));
	sip_update(&s, k->id, k->id_len);
	sip_update(&s, k->topic, k->topic_len);
	sip_final(&s, p->h, 1);
	size_t klen = 2 + k->id_len + k->topic_len;
	memset(p->key, 0, sizeof(p->key));
	if (klen <= AC_KEY_BYTES) {
		char *b = (char *)p->key;
		memcpy(b, head + 2, 2);
		memcpy(b + 2, k->id, k->id_len);
		if (k->topic_len)
			memcpy(b + 2 + k->id_len, k->topic, k->topic_len);
	} else {
		klen = AC_HASHED;
	}
	p->meta = ((uint64_t)k->access << 8) | ((uint64_t)k->kind << 16) |
		((uint64_t)klen << 32);
	return 0;
}

/* Same key: hashes, kind, access, length and (when kept) the bytes. */
static int
probe_matches(const ac_probe_t *p, const ac_entry_t *e)
{
	return e->w[W_H1] == p->h[0] && e->w[W_H2] == p->h[1] &&
		(e->w[W_META] & ~UINT64_C(0xff)) == p->meta &&
		memcmp(&e->w[W_KEY], p->key, sizeof(p->key)) == 0;
}

/* Copy an entry consistently; -1 when a writer is (or was) inside. */
static int
snapshot(const ac_entry_t *e, ac_entry_t *snap)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t s1 = __atomic_load_n(&e->w[W_SEQ], __ATOMIC_ACQUIRE);
		if (s1 & 1)
			return -1;
		for (int i = 1; i < W_COUNT; i++)
			snap->w[i] = __atomic_load_n(
				&e->w[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->w[W_SEQ], __ATOMIC_RELAXED) == s1)
			return 0;
	}
	return -1;
}

static ac_entry_t *
bucket_of(const ac_view_t *v, uint64_t h)
{
	return &v->e[(h & (v->h->nbuckets - 1)) * AC_WAYS];
}

cq_authcache_result_t
cq_authcache_get(const cq_authcache_key_t *key, uint64_t now_ms,
	uint64_t max_stale_ms, uint8_t *decision_r)
{
	ac_probe_t p;
	if (cur.h == NULL || make_probe(&cur, key, &p) < 0)
		return CQ_AUTHCACHE_MISS;
	uint64_t epoch = __atomic_load_n(&cur.h->epoch, __ATOMIC_ACQUIRE);
	ac_entry_t *b = bucket_of(&cur, p.h[0]);
	for (unsigned way = 0; way < AC_WAYS; way++) {
		ac_entry_t snap;
		if (__atomic_load_n(&b[way].w[W_H1], __ATOMIC_RELAXED) !=
				p.h[0] ||
			snapshot(&b[way], &snap) < 0 ||
			snap.w[W_EPOCH] != epoch || !probe_matches(&p, &snap))
			continue;
		uint8_t *ref = &cur.ref[(size_t)(b - cur.e) + way];
		if (__atomic_load_n(ref, __ATOMIC_RELAXED) == 0)
			__atomic_store_n(ref, 1, __ATOMIC_RELAXED);
		*decision_r = (uint8_t)(snap.w[W_META] & 0xff);
		if (now_ms < snap.w[W_EXPIRES])
			return CQ_AUTHCACHE_HIT;
		return now_ms - snap.w[W_EXPIRES] < max_stale_ms
			? CQ_AUTHCACHE_STALE
			: CQ_AUTHCACHE_MISS;
	}
	return CQ_AUTHCACHE_MISS;
}

static void
entry_write(ac_entry_t *e, const uint64_t *w)
{
	uint64_t s = __atomic_load_n(&e->w[W_SEQ], __ATOMIC_RELAXED);
	s += s & 1; /* a dead writer's odd count: we hold the lock */
	__atomic_store_n(&e->w[W_SEQ], s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int i = 1; i < W_COUNT; i++)
		__atomic_store_n(&e->w[i], w[i], __ATOMIC_RELAXED);
	CQ_CRASHPOINT("authcache.write");
	__atomic_store_n(&e->w[W_SEQ], s + 2, __ATOMIC_RELEASE);
}

/* Reset every half-written entry of a stripe (its lock held). */
static unsigned
stripe_repair(const ac_view_t *v, unsigned stripe)
{
	unsigned fixed = 0;
	uint64_t empty[W_COUNT] = {0};
	for (uint32_t b = stripe; b < v->h->nbuckets; b += v->h->nstripes) {
		for (unsigned way = 0; way < AC_WAYS; way++) {
			ac_entry_t *e = &v->e[(size_t)b * AC_WAYS + way];
			if (__atomic_load_n(&e->w[W_SEQ], __ATOMIC_RELAXED) &
				1) {
				entry_write(e, empty);
				fixed++;
			}
		}
	}
	return fixed;
}

static unsigned
stripe_lock(const ac_view_t *v, unsigned stripe)
{
	if (cq_mutex_lock(&v->locks[stripe]) == CQ_LOCK_RECOVERED)
		return stripe_repair(v, stripe);
	return 0;
}

/* The way to (re)use in bucket b for probe p: its own entry, a free or
 * expired one, or the CLOCK victim.  Stripe lock held. */
static unsigned
choose_way(const ac_view_t *v, uint32_t b, const ac_probe_t *p, uint64_t now)
{
	ac_entry_t *e = &v->e[(size_t)b * AC_WAYS];
	uint64_t epoch = __atomic_load_n(&v->h->epoch, __ATOMIC_ACQUIRE);
	unsigned free_way = AC_WAYS;
	for (unsigned way = 0; way < AC_WAYS; way++) {
		const ac_entry_t *x = &e[way];
		if (x->w[W_EPOCH] == epoch && probe_matches(p, x))
			return way;
		if (free_way == AC_WAYS &&
			(x->w[W_EPOCH] != epoch || x->w[W_EXPIRES] <= now ||
				(x->w[W_SEQ] & 1)))
			free_way = way;
	}
	if (free_way != AC_WAYS)
		return free_way;
	/* CLOCK: clear reference marks until an unmarked way comes up.
	 * Readers may mark again behind the hand; after two turns take
	 * whatever the hand points at. */
	uint8_t *ref = &v->ref[(size_t)b * AC_WAYS];
	for (unsigned step = 0;; step++) {
		unsigned way = v->clock[b]++ % AC_WAYS;
		if (step >= 2 * AC_WAYS ||
			__atomic_load_n(&ref[way], __ATOMIC_RELAXED) == 0)
			return way;
		__atomic_store_n(&ref[way], 0, __ATOMIC_RELAXED);
	}
}

int
cq_authcache_put(const cq_authcache_key_t *key, uint8_t decision,
	uint32_t ttl_ms, uint64_t now_ms)
{
	ac_probe_t p;
	if (cur.h == NULL || make_probe(&cur, key, &p) < 0) {
		errno = EINVAL;
		return -1;
	}
	uint32_t b = (uint32_t)(p.h[0] & (cur.h->nbuckets - 1));
	unsigned stripe = b % cur.h->nstripes;
	stripe_lock(&cur, stripe);
	unsigned way = choose_way(&cur, b, &p, now_ms);
	uint64_t w[W_COUNT] = {0};
	w[W_H1] = p.h[0];
	w[W_H2] = p.h[1];
	w[W_EPOCH] = __atomic_load_n(&cur.h->epoch, __ATOMIC_ACQUIRE);
	w[W_EXPIRES] = now_ms + ttl_ms;
	w[W_META] = p.meta | decision;
	memcpy(&w[W_KEY], p.key, sizeof(p.key));
	entry_write(&cur.e[(size_t)b * AC_WAYS + way], w);
	__atomic_store_n(
		&cur.ref[(size_t)b * AC_WAYS + way], 0, __ATOMIC_RELAXED);
	cq_mutex_unlock(&cur.locks[stripe]);
	return 0;
}

uint64_t
cq_authcache_invalidate(void)
{
	if (cur.h == NULL)
		return 0;
	return __atomic_add_fetch(&cur.h->epoch, 1, __ATOMIC_ACQ_REL);
}

uint64_t
cq_authcache_invalidate_serial(const char *serial, bool *bumped_r)
{
	*bumped_r = false;
	if (cur.h == NULL)
		return 0;
	size_t len = strlen(serial);
	if (len >= sizeof(cur.h->serial)) {
		*bumped_r = true; /* cannot be recorded: always bump */
		return cq_authcache_invalidate();
	}
	/* A dead holder left at most a bump without its serial (invariant
	 * 4): nothing to repair. */
	(void)cq_mutex_lock(&cur.h->serial_lock);
	uint64_t epoch;
	if (strcmp(cur.h->serial, serial) == 0) {
		epoch = cq_authcache_epoch();
	} else {
		epoch = cq_authcache_invalidate();
		CQ_CRASHPOINT("authcache.serial_bumped");
		memcpy(cur.h->serial, serial, len + 1);
		*bumped_r = true;
	}
	cq_mutex_unlock(&cur.h->serial_lock);
	return epoch;
}

uint64_t
cq_authcache_epoch(void)
{
	return cur.h != NULL ? __atomic_load_n(&cur.h->epoch, __ATOMIC_ACQUIRE)
			     : 0;
}

size_t
cq_authcache_capacity(void)
{
	return cur.h != NULL ? (size_t)cur.h->nbuckets * AC_WAYS : 0;
}

/* ---- the module -------------------------------------------------- */

static uint32_t
nbuckets_for(const cq_shm_conf_t *conf)
{
	uint32_t want = (conf->auth_cache_entries + AC_WAYS - 1) / AC_WAYS;
	uint32_t n = 1;
	while (n < want && n < (1u << 24))
		n <<= 1;
	return n;
}

/* Offsets of each table for nbuckets buckets; returns the total. */
static size_t
layout(uint32_t nbuckets, uint32_t nstripes, ac_hdr_t *h)
{
	size_t at = (sizeof(ac_hdr_t) + 63) & ~(size_t)63;
	size_t locks = at;
	at += nstripes * sizeof(cq_mutex_t);
	size_t clock = at;
	at += nbuckets;
	size_t ref = at;
	at = (at + (size_t)nbuckets * AC_WAYS + 63) & ~(size_t)63;
	if (h != NULL) {
		h->locks_byte = locks;
		h->clock_byte = clock;
		h->ref_byte = ref;
		h->entries_byte = at;
	}
	return at + (size_t)nbuckets * AC_WAYS * sizeof(ac_entry_t);
}

static size_t
authcache_size(const cq_shm_conf_t *conf)
{
	uint32_t nb = nbuckets_for(conf);
	return layout(nb, CQ_MIN(nb, AC_STRIPES), NULL);
}

static ac_view_t
view_of(void *area)
{
	ac_view_t v = {.h = area};
	if (area != NULL) {
		v.locks = (cq_mutex_t *)((char *)area + v.h->locks_byte);
		v.clock = (uint8_t *)area + v.h->clock_byte;
		v.ref = (uint8_t *)area + v.h->ref_byte;
		v.e = (ac_entry_t *)((char *)area + v.h->entries_byte);
	}
	return v;
}

static void
draw_secret(uint64_t secret[2])
{
	if (getrandom(secret, 2 * sizeof(uint64_t), 0) == 16)
		return;
	cq_log(CQ_LOG_WARN, errno,
		"getrandom() for the auth cache secret "
		"failed; using the clock");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	secret[0] = (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15) ^
		(uint64_t)getpid();
	secret[1] = (uint64_t)ts.tv_sec ^ rotl(secret[0], 29);
}

static int
authcache_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	ac_hdr_t *h = area;
	h->nbuckets = nbuckets_for(&shm->hdr->conf);
	h->nstripes = CQ_MIN(h->nbuckets, AC_STRIPES);
	layout(h->nbuckets, h->nstripes, h);
	draw_secret(h->secret);
	h->epoch = 1;
	h->serial[0] = '\0';
	if (cq_mutex_init(&h->serial_lock) < 0) {
		*error_r = "auth cache lock init failed";
		return -1;
	}
	h->magic = AC_MAGIC;
	ac_view_t v = view_of(area);
	for (uint32_t i = 0; i < h->nstripes; i++) {
		if (cq_mutex_init(&v.locks[i]) < 0) {
			*error_r = "auth cache lock init failed";
			return -1;
		}
	}
	return 0;
}

static void
authcache_use(cq_shm_t *shm, void *area, size_t size)
{
	cur = view_of(area);
}

static void
authcache_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	ac_view_t v = view_of(area);
	if (cq_mutex_owner_dead(&v.h->serial_lock)) {
		(void)cq_mutex_lock(&v.h->serial_lock);
		cq_mutex_unlock(&v.h->serial_lock);
	}
	for (uint32_t i = 0; i < v.h->nstripes; i++) {
		if (cq_mutex_owner_dead(&v.locks[i])) {
			stripe_lock(&v, i);
			cq_mutex_unlock(&v.locks[i]);
		}
	}
}

/* Under the stripe lock, an odd sequence is a dead writer's: repair. */
static void
check_stripe(const ac_view_t *v, unsigned stripe, cq_shm_report_t *rep)
{
	uint64_t epoch = __atomic_load_n(&v->h->epoch, __ATOMIC_ACQUIRE);
	for (uint32_t b = stripe; b < v->h->nbuckets; b += v->h->nstripes) {
		for (unsigned way = 0; way < AC_WAYS; way++) {
			const ac_entry_t *e = &v->e[(size_t)b * AC_WAYS + way];
			uint64_t klen = e->w[W_META] >> 32;
			if (e->w[W_EPOCH] > epoch ||
				(klen > AC_KEY_BYTES && klen != AC_HASHED))
				cq_shm_check_error(rep, "authcache",
					"bucket %u way %u: bad entry", b, way);
		}
	}
	rep->repaired += stripe_repair(v, stripe);
}

static void
authcache_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	ac_view_t v = view_of(area);
	if (v.h->magic != AC_MAGIC || v.h->nbuckets == 0 ||
		(v.h->nbuckets & (v.h->nbuckets - 1)) != 0 ||
		v.h->nstripes != CQ_MIN(v.h->nbuckets, AC_STRIPES) ||
		layout(v.h->nbuckets, v.h->nstripes, NULL) >
			authcache_size(&shm->hdr->conf)) {
		cq_shm_check_error(rep, "authcache", "bad header");
		return;
	}
	for (uint32_t i = 0; i < v.h->nstripes; i++) {
		/* A busy stripe has a live writer: skip it. */
		int rc = cq_shm_check_quiescent(rep)
			? cq_mutex_lock(&v.locks[i])
			: cq_mutex_trylock(&v.locks[i]);
		if (rc == CQ_AGAIN)
			continue;
		check_stripe(&v, i, rep);
		cq_mutex_unlock(&v.locks[i]);
	}
}

const cq_shm_module_t cq_authcache_module = {
	.name = "authcache",
	.size = authcache_size,
	.init = authcache_init,
	.check = authcache_check,
	.reap = authcache_reap,
	.use = authcache_use,
	.flags = CQ_SHM_MOD_MARKS,
};
