/*
 * authcache.h — the shared authentication / ACL decision cache.
 *
 * Maps (kind, client id or username, topic, access) to the decision
 * comqtt-authd gave, for its TTL, so that a client reconnecting to another
 * worker, or a topic checked by several workers, does not ask authd again.
 * Bounded: a fixed number of 8-way buckets with CLOCK eviction.  A global
 * policy epoch invalidates everything at once (authd restarted, or pushed
 * INVALIDATE): entries filled under an older epoch never match.
 *
 * Reads never block and never write a shared word except a one-byte CLOCK
 * reference mark: each entry is guarded by a sequence counter, a reader
 * copies it and retries (or misses) when the counter moved or is odd.
 * Writers take one of a set of striped robust mutexes.  Keys are hashed
 * with SipHash under a secret drawn at region creation, so remote clients
 * cannot aim collisions; keys up to 80 bytes are also compared byte for
 * byte, longer ones by their 128-bit keyed hash.
 *
 * Times are CLOCK_MONOTONIC milliseconds (system-wide, so every worker
 * agrees): pass cq_authcache_now() or the loop's cached time.
 */
#ifndef CQ_SHM_AUTHCACHE_H
#define CQ_SHM_AUTHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"

typedef enum cq_authcache_kind {
	CQ_AUTHCACHE_CLIENT = 1, /* id is a client id */
	CQ_AUTHCACHE_USER = 2, /* id is a username */
	CQ_AUTHCACHE_CRED = 3, /* id is a keyed hash of the credentials */
} cq_authcache_kind_t;

typedef struct cq_authcache_key {
	uint8_t kind; /* cq_authcache_kind_t */
	uint8_t access; /* 'r', 'w', 's', or 'c' for CONNECT */
	const char *id;
	size_t id_len;
	const char *topic; /* topic or filter; may be empty */
	size_t topic_len;
} cq_authcache_key_t;

typedef enum cq_authcache_result {
	CQ_AUTHCACHE_MISS = 0,
	CQ_AUTHCACHE_HIT, /* *decision_r is current */
	CQ_AUTHCACHE_STALE, /* expired, but by less than max_stale_ms */
} cq_authcache_result_t;

uint64_t cq_authcache_now(void);

/*
 * Look 'key' up.  Never blocks.  A STALE answer lets the caller serve the
 * old decision while authd is unreachable (stale-while-revalidate).
 */
cq_authcache_result_t cq_authcache_get(const cq_authcache_key_t *key,
	uint64_t now_ms, uint64_t max_stale_ms, uint8_t *decision_r);

/*
 * Store a decision for ttl_ms (replacing the key's entry, or evicting by
 * CLOCK).  Takes a stripe lock.  0, or -1 (errno EINVAL: no region, or a
 * key longer than 64 KiB + 64 KiB).
 */
int cq_authcache_put(const cq_authcache_key_t *key, uint8_t decision,
	uint32_t ttl_ms, uint64_t now_ms);

/* Forget every entry at once (bumps the policy epoch); returns the new
 * epoch. */
uint64_t cq_authcache_invalidate(void);

/*
 * The same, once per policy serial: every worker hears authd's INVALIDATE
 * for a new serial, and only the first to bring it bumps the epoch (the
 * others would drop answers cached since under the new policy).  Returns
 * the current epoch; *bumped_r says whether this call moved it.  A serial
 * of CQ_AUTHCACHE_SERIAL_MAX bytes or more always bumps.
 */
#define CQ_AUTHCACHE_SERIAL_MAX 64
uint64_t cq_authcache_invalidate_serial(const char *serial, bool *bumped_r);
uint64_t cq_authcache_epoch(void);
/* Entries the cache holds (fixed at creation). */
size_t cq_authcache_capacity(void);

/* SipHash-2-4 with 128-bit output (exposed for tests). */
void cq_siphash128(
	const uint64_t key[2], const void *data, size_t len, uint64_t out[2]);
uint64_t cq_siphash64(const uint64_t key[2], const void *data, size_t len);

extern const cq_shm_module_t cq_authcache_module;

#endif /* CQ_SHM_AUTHCACHE_H */
