/*
 * blacklist.c — the shm table of refused client ids (blacklist.h).
 *
 * Invariants:
 *  1. An entry is free (len 0) or holds one id; its seq is odd exactly
 *     while a writer changes it.  Writers hold 'lock'.
 *  2. 'used' is one past the highest entry that has held an id since the
 *     last compaction: readers scan [0, used) only.  It only grows while
 *     entries are added (published with release after the entry), and
 *     shrinks under the lock only over free entries.
 *  3. 'count' is the number of held entries (readers use it only for the
 *     "empty table" fast path; a stale non-zero value costs a scan, a
 *     stale zero can only be seen by a CONNECT that raced the add, which
 *     is refused by the kick that follows every add).
 * A writer killed inside its section leaves an odd seq: readers skip the
 * entry after a few tries, and the next writer (CQ_LOCK_RECOVERED)
 * frees it and recounts.
 */
#include "config.h"
#include "shm/blacklist.h"

#include <errno.h>
#include <string.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"

#define BL_MAGIC UINT64_C(0x4c4b4c4251514d43) /* "CMQQBLKL" */
#define BL_TRIES 4
#define BL_FENCE __atomic_thread_fence(__ATOMIC_SEQ_CST)

typedef struct bl_entry {
	uint32_t seq;
	uint16_t len;
	uint16_t pad;
	uint64_t hash;
	char id[CQ_BLACKLIST_ID_MAX];
} bl_entry_t;

typedef struct bl_hdr {
	uint64_t magic;
	uint32_t cap;
	uint32_t used; /* I2 */
	uint32_t count; /* I3 */
	uint32_t loaded;
	uint64_t version;
	cq_mutex_t lock __attribute__((aligned(CQ_CACHELINE)));
	bl_entry_t e[] __attribute__((aligned(CQ_CACHELINE)));
} bl_hdr_t;

static bl_hdr_t *cur;

static uint64_t
id_hash(const char *id, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ len;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)id[i]) * UINT64_C(0x100000001b3);
	return h | 1; /* never 0: a free entry's hash */
}

/* A reader's consistent copy of entry e: its length (0 free or busy). */
static size_t
read_entry(const bl_entry_t *e, uint64_t *hash_r, char *id)
{
	for (int t = 0; t < BL_TRIES; t++) {
		uint32_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		size_t len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
		*hash_r = __atomic_load_n(&e->hash, __ATOMIC_RELAXED);
		if (len > CQ_BLACKLIST_ID_MAX)
			len = 0;
		if (id != NULL)
			memcpy(id, e->id, len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) == s1)
			return len;
	}
	return 0;
}

bool
cq_blacklist_has(const char *id, size_t len)
{
	if (cur == NULL || len == 0 || len > CQ_BLACKLIST_ID_MAX ||
		__atomic_load_n(&cur->count, __ATOMIC_ACQUIRE) == 0)
		return false;
	uint64_t h = id_hash(id, len);
	uint32_t used = __atomic_load_n(&cur->used, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < used && i < cur->cap; i++) {
		const bl_entry_t *e = &cur->e[i];
		if (__atomic_load_n(&e->hash, __ATOMIC_RELAXED) != h)
			continue;
		char copy[CQ_BLACKLIST_ID_MAX];
		uint64_t eh;
		size_t n = read_entry(e, &eh, copy);
		if (n == len && eh == h && memcmp(copy, id, len) == 0)
			return true;
	}
	return false;
}

/* ---- writers (lock held) ------------------------------------------- */

static void
entry_set(bl_entry_t *e, const char *id, size_t len, uint64_t h)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELAXED);
	BL_FENCE;
	if (len > 0)
		memcpy(e->id, id, len);
	__atomic_store_n(&e->len, (uint16_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&e->hash, h, __ATOMIC_RELAXED);
	CQ_CRASHPOINT("blacklist.writing");
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
}

/* A writer died inside the lock: free torn entries, recount. */
static void
repair_locked(bl_hdr_t *h)
{
	uint32_t n = 0, used = 0;
	for (uint32_t i = 0; i < h->cap; i++) {
		bl_entry_t *e = &h->e[i];
		if (e->seq & 1) {
			e->len = 0;
			e->hash = 0;
			__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
		}
		if (e->len > 0) {
			n++;
			used = i + 1;
		}
	}
	__atomic_store_n(&h->count, n, __ATOMIC_RELEASE);
	__atomic_store_n(&h->used, used, __ATOMIC_RELEASE);
	cq_log(CQ_LOG_NOTICE, 0,
		"blacklist: recovered the lock of a dead writer (%u ids)", n);
}

static void
lock(bl_hdr_t *h)
{
	if (cq_mutex_lock(&h->lock) == CQ_LOCK_RECOVERED)
		repair_locked(h);
}

/* The entry holding 'id', or -1. */
static long
find_locked(const bl_hdr_t *h, const char *id, size_t len, uint64_t hash)
{
	for (uint32_t i = 0; i < h->used; i++) {
		const bl_entry_t *e = &h->e[i];
		if (e->hash == hash && e->len == len &&
			memcmp(e->id, id, len) == 0)
			return (long)i;
	}
	return -1;
}

int
cq_blacklist_add(const char *id, size_t len)
{
	if (cur == NULL) {
		errno = ENODEV;
		return -1;
	}
	if (len == 0 || len > CQ_BLACKLIST_ID_MAX) {
		errno = EINVAL;
		return -1;
	}
	uint64_t hash = id_hash(id, len);
	lock(cur);
	int rc = 0;
	if (find_locked(cur, id, len, hash) < 0) {
		uint32_t i = 0;
		while (i < cur->cap && cur->e[i].len != 0)
			i++;
		if (i == cur->cap) {
			errno = ENOSPC;
			rc = -1;
		} else {
			entry_set(&cur->e[i], id, len, hash);
			if (i >= cur->used)
				__atomic_store_n(
					&cur->used, i + 1, __ATOMIC_RELEASE);
			__atomic_store_n(
				&cur->count, cur->count + 1, __ATOMIC_RELEASE);
			cur->version++;
			rc = 1;
		}
	}
	cq_mutex_unlock(&cur->lock);
	return rc;
}

int
cq_blacklist_remove(const char *id, size_t len)
{
	if (cur == NULL) {
		errno = ENODEV;
		return -1;
	}
	if (len == 0 || len > CQ_BLACKLIST_ID_MAX)
		return 0;
	lock(cur);
	long i = find_locked(cur, id, len, id_hash(id, len));
	if (i >= 0) {
		entry_set(&cur->e[i], NULL, 0, 0);
		__atomic_store_n(&cur->count, cur->count - 1, __ATOMIC_RELEASE);
		while (cur->used > 0 && cur->e[cur->used - 1].len == 0)
			__atomic_store_n(
				&cur->used, cur->used - 1, __ATOMIC_RELEASE);
		cur->version++;
	}
	cq_mutex_unlock(&cur->lock);
	return i >= 0;
}

size_t
cq_blacklist_foreach(cq_blacklist_fn fn, void *arg)
{
	size_t n = 0;
	uint32_t used = cur != NULL
		? __atomic_load_n(&cur->used, __ATOMIC_ACQUIRE)
		: 0;
	for (uint32_t i = 0; i < used && i < cur->cap; i++) {
		char copy[CQ_BLACKLIST_ID_MAX];
		uint64_t h;
		size_t len = read_entry(&cur->e[i], &h, copy);
		if (len > 0) {
			fn(arg, copy, len);
			n++;
		}
	}
	return n;
}

size_t
cq_blacklist_count(void)
{
	return cur != NULL ? __atomic_load_n(&cur->count, __ATOMIC_ACQUIRE) : 0;
}

size_t
cq_blacklist_capacity(void)
{
	return cur != NULL ? cur->cap : 0;
}

uint64_t
cq_blacklist_version(void)
{
	return cur != NULL ? __atomic_load_n(&cur->version, __ATOMIC_RELAXED)
			   : 0;
}

bool
cq_blacklist_loaded(void)
{
	return cur != NULL && __atomic_load_n(&cur->loaded, __ATOMIC_ACQUIRE);
}

void
cq_blacklist_set_loaded(void)
{
	if (cur != NULL)
		__atomic_store_n(&cur->loaded, 1, __ATOMIC_RELEASE);
}

/* ---- the module ----------------------------------------------------- */

static size_t
bl_size(const cq_shm_conf_t *conf)
{
	return sizeof(bl_hdr_t) +
		(size_t)conf->blacklist_max * sizeof(bl_entry_t);
}

static int
bl_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	bl_hdr_t *h = area;
	h->magic = BL_MAGIC;
	h->cap = shm->hdr->conf.blacklist_max;
	if (cq_mutex_init(&h->lock) < 0) {
		*error_r = "blacklist lock init failed";
		return -1;
	}
	return 0;
}

static void
bl_use(cq_shm_t *shm, void *area, size_t size)
{
	cur = area;
}

static void
bl_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	bl_hdr_t *h = area;
	if (h->magic != BL_MAGIC || h->cap != shm->hdr->conf.blacklist_max ||
		h->used > h->cap) {
		cq_shm_check_error(rep, "blacklist", "bad header");
		return;
	}
	if (!cq_shm_check_quiescent(rep))
		return;
	uint32_t n = 0;
	for (uint32_t i = 0; i < h->cap; i++) {
		const bl_entry_t *e = &h->e[i];
		if (e->len > CQ_BLACKLIST_ID_MAX ||
			(e->len > 0 && i >= h->used))
			cq_shm_check_error(
				rep, "blacklist", "entry %u out of place", i);
		n += e->len > 0;
	}
	if (n != h->count)
		cq_shm_check_error(rep, "blacklist",
			"count %u, %u entries held", h->count, n);
}

static void
bl_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	bl_hdr_t *h = area;
	if (cq_mutex_owner_dead(&h->lock)) {
		lock(h);
		cq_mutex_unlock(&h->lock);
	}
}

const cq_shm_module_t cq_blacklist_module = {
	.name = "blacklist",
	.size = bl_size,
	.init = bl_init,
	.check = bl_check,
	.reap = bl_reap,
	.use = bl_use,
	.flags = CQ_SHM_MOD_MARKS,
};
