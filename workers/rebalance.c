/*
 * rebalance.c — see rebalance.h.
 *
 * The other workers' loads are their CQ_CTR_CONNECTIONS gauges in shm,
 * read at most once per LOADS_MS (a cache line per worker; accepts are
 * not the message path) and raised here for each connection handed to a
 * worker, so that a burst of accepts between two reads spreads instead of
 * all going to the worker that was lightest at the last read.
 */
#include "config.h"
#include "workers/rebalance.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "core/channel.h"
#include "core/log.h"
#include "shm/counters.h"
#include "workers/worker.h"

#define LOADS_MS 100u

static uint64_t loads[CQ_MAX_WORKERS];
static uint64_t loads_at_ms;
static bool loads_valid;

bool
cq_rebalance_wanted(uint64_t mine, uint64_t least)
{
	return mine >= CQ_REBALANCE_MIN &&
		mine > least + least / 4 + CQ_REBALANCE_MIN / 4;
}

static void
loads_refresh(cq_worker_t *w)
{
	if (loads_valid && w->now_ms - loads_at_ms < LOADS_MS)
		return;
	for (unsigned s = 0; s < w->nworkers && s < CQ_MAX_WORKERS; s++) {
		uint64_t v[CQ_CTR_COUNT];
		loads[s] = cq_counters_read(w->args->shm, s, v) == 0
			? v[CQ_CTR_CONNECTIONS]
			: UINT64_MAX;
	}
	loads_at_ms = w->now_ms;
	loads_valid = true;
}

/* The lightest other worker, or CQ_SLOT_NONE. */
static unsigned
lightest(cq_worker_t *w)
{
	unsigned best = CQ_SLOT_NONE;
	for (unsigned s = 0; s < w->nworkers && s < CQ_MAX_WORKERS; s++)
		if (s != w->slot &&
			(best == CQ_SLOT_NONE || loads[s] < loads[best]))
			best = s;
	return best;
}

bool
cq_rebalance_handed(cq_worker_t *w, unsigned li, int fd,
	const struct sockaddr *peer, socklen_t plen)
{
	if (w->nworkers < 2 || w->nconnected < CQ_REBALANCE_MIN)
		return false;
	loads_refresh(w);
	unsigned to = lightest(w);
	if (to == CQ_SLOT_NONE ||
		!cq_rebalance_wanted(w->nconnected, loads[to]))
		return false;
	cq_channel_msg_t msg;
	cq_channel_msg_init(&msg, CQ_CHAN_REBALANCE);
	msg.listener = (uint16_t)li;
	msg.slot = (uint16_t)to;
	if (plen > sizeof(msg.peer))
		plen = sizeof(msg.peer);
	memcpy(&msg.peer, peer, plen);
	msg.peer_len = plen;
	if (cq_channel_send(w->args->chan, &msg, fd) != 0)
		return false; /* the channel is full: serve it here */
	close(fd);
	loads[to]++;
	cq_log(CQ_LOG_DEBUG, 0,
		"connection handed to worker %u (%" PRIu64
		" clients here, %" PRIu64 " there)",
		to, (uint64_t)w->nconnected, loads[to] - 1);
	return true;
}
