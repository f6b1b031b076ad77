/*
 * retained-check.c — the retained store's checker.
 *
 * Walks every shard under its lock with the trie core's walker (offsets,
 * level hashes, children tables, arena marks), validates
 * each stored message offset and declares the store's one reference per
 * message to the message store's census (S1), recounts the shard
 * statistics (S4, repaired when quiescent) and counts empty nodes (S3).
 */
#include "config.h"

#include "core/log.h"
#include "shm/msg.h"
#include "shm/retained-int.h"
#include "shm/retained.h"

struct ck {
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	uint64_t messages;
};

static bool
check_node(void *arg, cq_off_t off, const cq_trie_node_t *h)
{
	struct ck *c = arg;
	cq_off_t m = ((const ret_node_t *)h)->msg;
	if (m == CQ_OFF_NULL)
		return true;
	const cq_msg_t *msg = cq_off_ptr(c->shm->base, m);
	if (!cq_off_valid(c->shm->size, m, sizeof(*msg)) ||
		msg->magic != CQ_MSG_MAGIC) {
		cq_shm_check_error(c->rep, "retained",
			"node %#x: message %#x is not a message", off, m);
		return false;
	}
	c->messages++;
	cq_msg_census_add(c->shm, c->rep, m, 1);
	return false;
}

void
cq_retained_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	ret_area_t *a = area;
	if (a->magic != RET_MAGIC || a->nshards == 0 ||
		(a->nshards & (a->nshards - 1)) != 0) {
		cq_shm_check_error(rep, "retained", "area header corrupt");
		return;
	}
	struct ck c = {.shm = shm, .rep = rep};
	cq_trie_check_t w = {.shm = shm,
		.rep = rep,
		.module = "retained",
		.text_off = RET_TEXT,
		.seed = a->seed,
		.budget = shm->size / sizeof(ret_node_t),
		.node_fn = check_node,
		.arg = &c};
	for (unsigned si = 0; si < a->nshards; si++) {
		ret_shard_t *s = &a->shard[si];
		cq_trie_lock(&s->lock, &s->recoveries, "retained", si);
		w.nodes = w.empty = c.messages = 0;
		cq_trie_check_kids(&w, s->kids, a->nshards - 1, si);
		if (w.empty > 0)
			cq_log(CQ_LOG_NOTICE, 0,
				"retained shard %u: %llu empty nodes left by a "
				"dead writer",
				si, (unsigned long long)w.empty);
		if ((s->nodes != w.nodes || s->messages != c.messages) &&
			cq_shm_check_quiescent(rep)) {
			s->nodes = w.nodes;
			s->messages = c.messages;
			rep->repaired++;
		}
		cq_mutex_unlock(&s->lock);
	}
	cq_trie_check_done(&w);
}
