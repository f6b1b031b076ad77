/*
 * retained.c — the retained-message store (see retained.h).
 *
 * A topic trie on the shared trie core (trie.h): a node per topic level,
 * its 'msg' word the offset of the retained message of the topic ending
 * there.  First levels are spread over shards by level hash, each with its
 * own children table and robust mutex, like the route trie; there are no
 * wildcards in topic names, so a node has only literal children.
 *
 * Invariants:
 *   S1 a node's msg word changes by one release store under its shard
 *      lock; the store owns one message reference per non-null msg word,
 *      taken before the word is published and released with
 *      cq_msg_unref_deferred() after it is replaced, because lock-free
 *      readers may be looking at the old message until their next
 *      quiescent point;
 *   S2 children are published and nodes retired as in the route trie
 *      (trie.h T1..T5);
 *   S3 a node with no message and no children is unlinked and retired by
 *      the writer that emptied it (a writer killed midway leaves empty
 *      nodes, which the checker counts; they are harmless);
 *   S4 shard counters (messages, nodes) are statistics, recounted by the
 *      checker.
 *
 * Persistence: every change of a topic is reported to comqtt-storage
 * (shm/pevent.h) under the shard lock, with a barrier on every other
 * worker's ring, so the storage process applies the changes of one topic
 * in the store's order.  A set is refused (ENOBUFS) when the ring has no
 * room for it; a delete of an expired message waits for the next sweep.
 * $SYS topics are the broker's own and are not stored.
 *
 * Crash: a writer killed inside its shard lock leaves the trie consistent;
 * a reference taken but not published is a refcount the checker's census
 * finds too high (and lowers with CQ_SHM_CHECK_REPAIR).
 */
#include "config.h"

#include "shm/retained.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"
#include "shm/msg.h"
#include "shm/pevent.h"
#include "shm/qsbr.h"
#include "shm/retained-int.h"
#include "shm/trie.h"

ret_area_t *cq_retained_area;

static inline ret_node_t *
rnode(cq_off_t off)
{
	return CQ_PTR(ret_node_t, off);
}

static inline ret_shard_t *
shard_for(uint32_t hash)
{
	ret_area_t *a = cq_retained_area;
	return &a->shard[hash & (a->nshards - 1)];
}

/* The kids word under which the child of 'n' (NULL: root) lives. */
static inline uint64_t *
kids_of(ret_node_t *n, uint32_t hash)
{
	return n != NULL ? &n->h.kids : &shard_for(hash)->kids;
}

static inline ret_node_t *
child(ret_node_t *n, const cq_topic_level_t *l)
{
	return (ret_node_t *)cq_trie_child(
		cq_trie_kids_load(kids_of(n, l->hash)), l->hash, l->s, l->len,
		RET_TEXT);
}

/* The node of the split topic 'lv', or NULL.  Lock-free.  With 'path'
 * (lv->n entries), path[i] gets the node of level i. */
static ret_node_t *
lookup(const cq_topic_levels_t *lv, ret_node_t **path)
{
	ret_node_t *n = NULL;
	for (uint32_t i = 0; i < lv->n; i++) {
		if ((n = child(n, &lv->lv[i])) == NULL)
			return NULL;
		if (path != NULL)
			path[i] = n;
	}
	return n;
}

/* ---- persistence events ------------------------------------------- */

static bool
stored_topic(const char *topic, size_t len)
{
	return cq_persist_on() &&
		!(len >= 4 && memcmp(topic, "$SYS", 4) == 0 &&
			(len == 4 || topic[4] == '/'));
}

/* Room for an event about 'topic' (under its shard lock). */
static bool
persist_room(const char *topic, size_t len, bool addition)
{
	return !stored_topic(topic, len) ||
		cq_persist_room(cq_pev_size(CQ_MAX_WORKERS, len, 0), addition);
}

/* Report a set (msg) or delete (CQ_OFF_NULL) of 'topic', under its shard
 * lock, with a barrier on every other worker's ring.  0, or -1 ENOBUFS. */
static int
persist_event(const char *topic, size_t len, cq_off_t msg)
{
	if (!stored_topic(topic, len))
		return 0;
	uint64_t bar[CQ_MAX_WORKERS];
	unsigned n = 0;
	for (unsigned i = 0; i < cq_persist_nslots(); i++)
		if (i != cq_shm_slot)
			bar[n++] = cq_pev_bar(i, cq_persist_tail(i));
	cq_pev_t h = {.msg = msg, .key_len = (uint16_t)len, .nbar = (uint8_t)n};
	return cq_pev_emit(
		msg != CQ_OFF_NULL ? CQ_PEV_RETAIN_SET : CQ_PEV_RETAIN_DEL, &h,
		bar, topic, NULL, false);
}

static int
split(cq_topic_levels_t *lv, const char *topic, size_t len)
{
	if (cq_retained_area == NULL || len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (cq_topic_levels_split(lv, topic, len, cq_retained_area->seed) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static ret_shard_t *
lock_shard(const cq_topic_levels_t *lv)
{
	ret_shard_t *s = shard_for(lv->lv[0].hash);
	cq_trie_lock(&s->lock, &s->recoveries, "retained",
		(unsigned)(s - cq_retained_area->shard));
	CQ_CRASHPOINT("retained.locked");
	return s;
}

/* Unlink and retire the nodes of path[0..depth) from the deepest up
 * while they are empty (S3). */
static void
prune_path(ret_shard_t *s, ret_node_t **path, uint32_t depth)
{
	for (uint32_t j = depth; j-- > 0;) {
		ret_node_t *n = path[j];
		if (n->msg != CQ_OFF_NULL || !cq_trie_kids_empty(n->h.kids))
			return;
		ret_node_t *up = j > 0 ? path[j - 1] : NULL;
		cq_off_t off = CQ_OFF(n);
		cq_trie_remove(kids_of(up, n->h.hash), off, RET_TEXT);
		CQ_CRASHPOINT("retained.unlinked");
		cq_trie_kids_retire(n->h.kids);
		cq_qsbr_retire(off);
		if (s->nodes > 0)
			s->nodes--;
	}
}

/* Levels i.. of lv are missing below 'at': build them with msg on the
 * last, then publish.  0 or -1 ENOMEM (nothing changed). */
static int
set_new_path(ret_shard_t *s, ret_node_t *at, const cq_topic_levels_t *lv,
	uint32_t i, cq_off_t msg)
{
	cq_off_t first, last;
	if (cq_trie_chain_build(lv, i, lv->n, RET_TEXT, 0, &first, &last) < 0)
		return -1;
	rnode(last)->msg = msg;
	cq_msg_ref(msg, 1);
	CQ_CRASHPOINT("retained.chain_built");
	if (cq_trie_insert(kids_of(at, lv->lv[i].hash), first, RET_TEXT) < 0) {
		cq_msg_unref(msg); /* never visible: release at once */
		cq_trie_chain_free(first, 0, NULL);
		errno = ENOMEM;
		return -1;
	}
	s->nodes += lv->n - i;
	s->messages++;
	return 0;
}

int
cq_retained_set(const char *topic, size_t len, cq_off_t msg)
{
	if (cq_msg_get(msg)->payload_len == 0)
		return cq_retained_delete(topic, len); /* [MQTT-3.3.1-6] */
	cq_topic_levels_t lv;
	if (split(&lv, topic, len) < 0)
		return -1;
	ret_shard_t *s = lock_shard(&lv);
	ret_node_t *n = NULL;
	uint32_t i = 0;
	for (ret_node_t *c; i < lv.n && (c = child(n, &lv.lv[i])) != NULL; i++)
		n = c;
	int rc = 0;
	if (!persist_room(topic, len, true)) {
		errno = ENOBUFS;
		rc = -1;
	} else if (i < lv.n)
		rc = set_new_path(s, n, &lv, i, msg);
	else {
		cq_off_t old = n->msg;
		cq_msg_ref(msg, 1);
		CQ_CRASHPOINT("retained.ref_taken");
		cq_off_publish(&n->msg, msg);
		if (old != CQ_OFF_NULL)
			cq_msg_unref_deferred(old);
		else
			s->messages++;
	}
	if (rc == 0)
		persist_event(topic, len, msg); /* room was checked */
	cq_mutex_unlock(&s->lock);
	cq_topic_levels_free(&lv);
	return rc;
}

/* Delete the message of topic (split in lv) if it is 'expect'
 * (CQ_OFF_NULL: any); an expired message (expect set) stays when its
 * removal cannot be reported yet. */
static void
delete_locked(ret_shard_t *s, const cq_topic_levels_t *lv, const char *topic,
	size_t len, cq_off_t expect)
{
	ret_node_t *inl[CQ_TOPIC_INLINE_LEVELS];
	ret_node_t **path = lv->n <= CQ_TOPIC_INLINE_LEVELS
		? inl
		: malloc(lv->n * sizeof(*path));
	ret_node_t *n = path != NULL ? lookup(lv, path) : lookup(lv, NULL);
	if (n != NULL && n->msg != CQ_OFF_NULL &&
		(expect == CQ_OFF_NULL || n->msg == expect) &&
		(expect == CQ_OFF_NULL || persist_room(topic, len, false))) {
		cq_off_t old = n->msg;
		if (persist_event(topic, len, CQ_OFF_NULL) < 0)
			cq_log(CQ_LOG_ERR, 0,
				"persistence: the ring to the storage process "
				"is full: the removal of retained \"%.*s\" was "
				"not stored",
				(int)len, topic);
		cq_off_publish(&n->msg, CQ_OFF_NULL);
		CQ_CRASHPOINT("retained.cleared");
		cq_msg_unref_deferred(old);
		if (s->messages > 0)
			s->messages--;
		if (path != NULL) /* without memory the empty nodes stay */
			prune_path(s, path, lv->n);
	}
	if (path != inl)
		free(path);
}

int
cq_retained_delete_if(const char *topic, size_t len, cq_off_t expect)
{
	cq_topic_levels_t lv;
	if (split(&lv, topic, len) < 0)
		return -1;
	ret_shard_t *s = lock_shard(&lv);
	delete_locked(s, &lv, topic, len, expect);
	cq_mutex_unlock(&s->lock);
	cq_topic_levels_free(&lv);
	return 0;
}

int
cq_retained_delete(const char *topic, size_t len)
{
	return cq_retained_delete_if(topic, len, CQ_OFF_NULL);
}

cq_off_t
cq_retained_get(const char *topic, size_t len, uint64_t now)
{
	cq_topic_levels_t lv;
	if (split(&lv, topic, len) < 0)
		return CQ_OFF_NULL;
	ret_node_t *n = lookup(&lv, NULL);
	cq_topic_levels_free(&lv);
	cq_off_t m = n != NULL ? cq_off_load(&n->msg) : CQ_OFF_NULL;
	if (m != CQ_OFF_NULL && cq_msg_expired(cq_msg_get(m), now))
		return CQ_OFF_NULL;
	return m;
}

void
cq_retained_stats(cq_retained_stats_t *s_r)
{
	memset(s_r, 0, sizeof(*s_r));
	ret_area_t *a = cq_retained_area;
	for (uint32_t i = 0; a != NULL && i < a->nshards; i++) {
		s_r->messages += a->shard[i].messages;
		s_r->nodes += a->shard[i].nodes;
		s_r->recoveries += a->shard[i].recoveries;
	}
}

/* ---- module -------------------------------------------------------- */

static size_t
ret_size(const cq_shm_conf_t *conf)
{
	return sizeof(ret_area_t) + cq_trie_nshards(conf) * sizeof(ret_shard_t);
}

static int
ret_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	ret_area_t *a = area;
	a->magic = RET_MAGIC;
	a->seed = cq_trie_new_seed();
	a->nshards = cq_trie_nshards(&shm->hdr->conf);
	cq_assert(size >= ret_size(&shm->hdr->conf));
	for (uint32_t i = 0; i < a->nshards; i++)
		if (cq_mutex_init(&a->shard[i].lock) < 0) {
			*error_r = "retained: cannot initialise a shard mutex";
			return -1;
		}
	return 0;
}

static void
ret_use(cq_shm_t *shm, void *area, size_t size)
{
	(void)shm;
	(void)size;
	cq_retained_area = area;
}

static void
ret_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	(void)shm;
	(void)slot;
	ret_area_t *a = area;
	cq_trie_reap_locks(&a->shard[0].lock, sizeof(ret_shard_t), a->nshards,
		&a->shard[0].recoveries);
}

const cq_shm_module_t cq_retained_module = {
	.name = "retained",
	.size = ret_size,
	.init = ret_init,
	.check = cq_retained_check,
	.reap = ret_reap,
	.use = ret_use,
	.flags = CQ_SHM_MOD_MARKS,
};
