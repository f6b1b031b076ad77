/*
 * share.c — see share.h.
 */
#include "config.h"
#include "workers/share.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "mqtt/topic.h"
#include "shm/msg.h"
#include "shm/route.h"
#include "shm/session.h"
#include "workers/deliver.h"
#include "workers/lsess.h"
#include "workers/publish.h"

#define KEYS_MAX 8u

/* Outcome of give(). */
#define KEPT  0 /* stays with the member */
#define GIVEN 1 /* another member has it (or it expired) */

/*
 * The shared groups through which ls gets 'topic' (at most KEYS_MAX);
 * 0 also when a plain subscription of ls matches (the message is its own).
 */
static unsigned
group_keys(const cq_lsess_t *ls, const char *topic, size_t len, uint64_t *keys)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < ls->nsubs; i++) {
		const cq_lsub_t *s = &ls->subs[i];
		cq_match_share_t sh;
		bool shared = cq_match_share_split(s->filter, s->len, &sh);
		if (!cq_topic_match(sh.filter, sh.filter_len, topic, len))
			continue;
		if (!shared)
			return 0;
		if (n < KEYS_MAX)
			keys[n++] = cq_topic_share_key(sh.group, sh.group_len,
				sh.filter, sh.filter_len);
	}
	return n;
}

/* Another worker serving group 'key' for this topic, or -1. */
static int
other_worker(cq_worker_t *w, const cq_topic_levels_t *lv, uint64_t key)
{
	/* The route trie picks round-robin over the group's workers: asking
	 * once per worker meets each of them. */
	for (unsigned try = 0; try < w->nworkers; try++) {
		if (cq_route_match(lv, &w->rres) < 0)
			return -1;
		for (uint32_t i = 0; i < w->rres.npicks; i++)
			if (w->rres.picks[i].key == key &&
				w->rres.picks[i].worker != w->slot)
				return (int)w->rres.picks[i].worker;
	}
	return -1;
}

/* Message m (the caller keeps its reference) to another member of one of
 * ls's groups for it: GIVEN or KEPT. */
static int
give(cq_worker_t *w, cq_lsess_t *ls, cq_off_t m)
{
	cq_dmsg_t d;
	cq_dmsg_from_msg(&d, m);
	uint64_t keys[KEYS_MAX];
	unsigned nk = group_keys(ls, d.topic, d.topic_len, keys);
	if (nk == 0)
		return KEPT;
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, d.topic, d.topic_len, cq_route_seed()) <
		0)
		return KEPT;
	int rc = KEPT;
	d.origin_session = 0; /* no-local does not apply to a hand-over */
	for (unsigned k = 0; k < nk && rc == KEPT; k++) {
		d.seq = ++w->seq;
		d.origin_slot = (uint16_t)w->slot;
		if (cq_deliver_groups(w, &d, &lv, ls, &keys[k], 1) > 0) {
			rc = GIVEN;
			break;
		}
		int dst = other_worker(w, &lv, keys[k]);
		if (dst >= 0 &&
			cq_publish_group(w, &d, (unsigned)dst, keys[k]) == 0)
			rc = GIVEN;
	}
	cq_topic_levels_free(&lv);
	return rc;
}

/* The window: unacknowledged PUBLISHes (not past PUBREC). */
static int
give_window(cq_worker_t *w, cq_lsess_t *ls)
{
	cq_inflight_t small[64], *v;
	unsigned n = cq_deliver_window(ls, small, 64, &v);
	int rc = 0;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		if (v[i].state == CQ_INFLIGHT_PUBCOMP ||
			give(w, ls, v[i].msg) != GIVEN)
			continue;
		cq_off_t m;
		rc = cq_session_inflight_ack(
			ls->sess, ls->gen, v[i].pid, v[i].state, 0, &m);
		if (rc == 0) {
			cq_msg_unref(m);
			if (ls->inflight_n > 0)
				ls->inflight_n--;
		} else if (errno == ENOENT) {
			rc = 0;
		}
	}
	if (v != small)
		free(v);
	return rc;
}

/* The queue, in order: what is given leaves, the rest goes back. */
static int
give_queue(cq_worker_t *w, cq_lsess_t *ls)
{
	uint32_t n = cq_session_queue_len(ls->sess);
	for (uint32_t i = 0; i < n; i++) {
		cq_off_t m;
		int rc = cq_session_queue_pop(ls->sess, ls->gen, &m);
		if (rc <= 0)
			return rc;
		if (give(w, ls, m) == GIVEN) {
			cq_msg_unref(m);
			continue;
		}
		if (cq_session_queue_push(ls->sess, ls->gen, m) < 0) {
			int err = errno;
			cq_msg_unref(m);
			if (err == ESTALE)
				return -1;
		}
	}
	return 0;
}

void
cq_share_give_up(cq_worker_t *w, cq_lsess_t *ls)
{
	bool shared = false;
	for (uint32_t i = 0; i < ls->nsubs && !shared; i++)
		shared = cq_topic_is_shared(
			ls->subs[i].filter, ls->subs[i].len);
	if (!shared)
		return;
	if (give_window(w, ls) < 0 || give_queue(w, ls) < 0)
		cq_log(CQ_LOG_DEBUG, errno,
			"session %s: handing its shared messages to other "
			"members stopped",
			ls->id);
}
