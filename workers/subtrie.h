/*
 * subtrie.h — a worker's private subscription trie.
 *
 * Second level of the two-level routing (DESIGN.md §2): the shared route
 * trie says which workers want a topic; each worker then matches the topic
 * once in its own trie to find its local subscribers.  Ordinary heap,
 * single-threaded, no atomics, no locks.  It maps a topic filter (plain or
 * "$share/<group>/<filter>") to the local sessions subscribed to it with
 * their options, and counts per filter how many local sessions use it, so
 * the caller touches the shared route trie only when that count goes
 * 0 -> 1 (CQ_SUBTRIE_FIRST) or 1 -> 0 (CQ_SUBTRIE_LAST).
 *
 * Matching returns one hit per session: with overlapping subscriptions the
 * highest granted QoS and every matching subscription identifier
 * [MQTT-3.3.4-2] [MQTT-3.3.4-3]; a no-local subscription does not match
 * its own session's messages [MQTT-3.8.3-3]; each shared group this worker
 * was chosen to serve delivers to one member, round-robin over the
 * members the caller says are online (all of them when none is).
 *
 * Sessions are opaque handles chosen by the caller (never dereferenced).
 */
#ifndef CQ_WORKERS_SUBTRIE_H
#define CQ_WORKERS_SUBTRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/session-t.h"
#include "shm/topic_match.h"

typedef struct cq_subtrie cq_subtrie_t;

/* Flags reported by subscribe/unsubscribe. */
#define CQ_SUBTRIE_NEW     0x1u /* subscribe: the session had no such sub */
#define CQ_SUBTRIE_EXISTED 0x2u /* unsubscribe: the session had it */
#define CQ_SUBTRIE_FIRST   0x4u /* first local user: cq_route_add() */
#define CQ_SUBTRIE_LAST    0x8u /* last local user left: cq_route_remove() */

/* One session the message goes to. */
typedef struct cq_subtrie_hit {
	void *session;
	uint8_t qos; /* highest granted QoS of the matching subscriptions */
	uint8_t retain_as_published; /* any matching sub asked for it */
	uint8_t shared; /* at least one match came through a shared group */
	uint32_t first_id; /* subscription ids: ids[first_id .. + nids) */
	uint32_t nids;
} cq_subtrie_hit_t;

/* Reusable result buffers (private heap; keep one per worker). */
typedef struct cq_subtrie_result {
	cq_subtrie_hit_t *hits;
	uint32_t n, cap;
	uint32_t *ids;
	uint32_t nids, ids_cap;
	struct cq_subtrie_scratch *scratch;
} cq_subtrie_result_t;

/* Pass as 'ngroups' to serve every shared group (single worker, tests). */
#define CQ_SUBTRIE_ALL_GROUPS UINT32_MAX

/* A new empty trie hashing levels with 'seed' (pass cq_route_seed() so
 * one split topic serves both tries).  NULL when out of memory. */
cq_subtrie_t *cq_subtrie_new(uint64_t seed);

/* Is this session connected?  Shared groups pick among the members for
 * which it says yes while there is one (MQTT 5 §4.8.2). */
typedef bool (*cq_subtrie_online_fn)(const void *session);
void cq_subtrie_set_online(cq_subtrie_t *t, cq_subtrie_online_fn fn);
void cq_subtrie_free(cq_subtrie_t *t);

/*
 * Subscribe 'session' to 'filter' (validated; may be a shared filter) with
 * 'opts', replacing the options of an existing identical subscription
 * [MQTT-3.8.4-3].  *flags_r gets CQ_SUBTRIE_NEW and/or CQ_SUBTRIE_FIRST.
 * 0, or -1 with errno ENOMEM (the trie is unchanged).
 */
int cq_subtrie_subscribe(cq_subtrie_t *t, const char *filter, size_t len,
	void *session, const cq_subopts_t *opts, unsigned *flags_r);

/*
 * Remove 'session''s subscription to 'filter'.  *flags_r gets
 * CQ_SUBTRIE_EXISTED (0 if there was none) and CQ_SUBTRIE_LAST.  Always 0.
 */
int cq_subtrie_unsubscribe(cq_subtrie_t *t, const char *filter, size_t len,
	void *session, unsigned *flags_r);

/* How many local sessions use 'filter' (the count behind FIRST/LAST). */
uint32_t cq_subtrie_users(
	const cq_subtrie_t *t, const char *filter, size_t len);

/*
 * Does any local session use the plain filter 'filter' (group_key 0) or the
 * shared group with key group_key (cq_topic_share_key) on it?  The
 * signature of cq_route_keep_fn, for cq_route_purge_slot() after a
 * respawned worker rebuilt its trie: pass the trie as 'arg'.
 */
int cq_subtrie_has(void *t, const char *filter, size_t len, uint64_t group_key);

/*
 * Match the split topic 't' (split with this trie's seed).  'publisher' is
 * the publishing session (for no-local) or NULL.  'groups'/'ngroups' are
 * the keys (cq_topic_share_key) of the shared groups this worker must serve
 * for this message, as chosen by the route trie; ngroups ==
 * CQ_SUBTRIE_ALL_GROUPS serves all.  Fills r (previous contents dropped).
 * 0, or -1 with errno ENOMEM (r is then empty).
 */
int cq_subtrie_match(cq_subtrie_t *t, const cq_topic_levels_t *topic,
	const void *publisher, const uint64_t *groups, uint32_t ngroups,
	cq_subtrie_result_t *r);

/*
 * Shared groups only, for a message one member could not take (it left
 * with the message in flight): like cq_subtrie_match() with 'groups', but
 * plain subscriptions do not match and 'skip' is never picked.  A group
 * with no other member gives no hit.
 */
int cq_subtrie_match_groups(cq_subtrie_t *t, const cq_topic_levels_t *topic,
	const void *skip, const uint64_t *groups, uint32_t ngroups,
	cq_subtrie_result_t *r);

void cq_subtrie_result_init(cq_subtrie_result_t *r);
void cq_subtrie_result_free(cq_subtrie_result_t *r);

typedef struct cq_subtrie_stats {
	uint64_t nodes; /* trie nodes */
	uint64_t entries; /* filter index entries (exact, single '+') */
	uint64_t entries_moving; /* of those, still in a resize's old table */
	uint64_t subscriptions; /* (session, filter) pairs, shared included */
	uint64_t filters; /* filters (or groups) with at least one user */
} cq_subtrie_stats_t;

void cq_subtrie_stats(const cq_subtrie_t *t, cq_subtrie_stats_t *s_r);

/*
 * Move up to 'budget' slots of a filter-index resize in progress (adds
 * and removes move a few each; a worker calls this between loop passes so
 * that a resize also ends when nobody subscribes).  True while one is
 * still in progress.  A resize never moves the whole index at once.
 */
bool cq_subtrie_tidy(cq_subtrie_t *t, uint32_t budget);
/* Start rebuilding the index's Bloom filter in steps, as when it fills
 * up (exposed for tests). */
void cq_subtrie_bloom_rebuild(cq_subtrie_t *t);

#endif /* CQ_WORKERS_SUBTRIE_H */
