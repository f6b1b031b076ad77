/*
 * rebalance.c — see rebalance.h.
 *
 * The other workers' loads are their CQ_CTR_CONNECTIONS gauges in shm.
 * Invariant: a hand-off is decided on a fresh reading of those gauges,
 * never on one older than this worker's own count.  (Comparing this
 * worker's live count with another's reading from 100 ms ago made two
 * workers that the kernel fed equally each see itself as the heavier one
 * during a connect burst, and hand each other most of their new
 * connections through the master: 5,500 of 10,000 in bench "conns".)
 *
 * The cached reading only filters: it is refreshed at most once per
 * LOADS_MS, and while it says no hand-off is wanted, nothing else is read
 * (the gauges share cache lines with counters their owners write per
 * message).  When it says one is wanted, the gauges are read again and
 * decide.  A connection handed to a worker counts towards its load
 * (pending) until its gauge has risen by as much, or PENDING_MS have
 * passed (a handed client that never sends CONNECT), so that a burst of
 * accepts between two readings spreads instead of all going to the
 * worker that was lightest at the last one.
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

#define LOADS_MS   100u
#define PENDING_MS 1000u

static uint64_t gauge[CQ_MAX_WORKERS]; /* last reading */
static uint64_t pending[CQ_MAX_WORKERS]; /* handed, not yet in gauge[] */
static uint64_t pending_ms[CQ_MAX_WORKERS]; /* last hand-off to the slot */
static uint64_t read_at_ms;
static bool read_valid;

bool
cq_rebalance_wanted(uint64_t mine, uint64_t least)
{
	return mine >= CQ_REBALANCE_MIN &&
		mine > least + least / 4 + CQ_REBALANCE_MIN / 4;
}

static void
gauges_read(cq_worker_t *w)
{
	for (unsigned s = 0; s < w->nworkers && s < CQ_MAX_WORKERS; s++) {
		if (s == w->slot)
			continue;
		uint64_t v = cq_counter_read(
			w->args->shm, s, CQ_CTR_CONNECTIONS);
		if (v != UINT64_MAX && read_valid && v > gauge[s])
			pending[s] -= CQ_MIN(pending[s], v - gauge[s]);
		if (w->now_ms - pending_ms[s] >= PENDING_MS)
			pending[s] = 0;
		gauge[s] = v;
	}
	read_at_ms = w->now_ms;
	read_valid = true;
}

/* The other worker with the fewest clients (counting those handed to it),
 * or CQ_SLOT_NONE; its load into *load_r. */
static unsigned
lightest(const cq_worker_t *w, uint64_t *load_r)
{
	unsigned best = CQ_SLOT_NONE;
	uint64_t least = UINT64_MAX;
	for (unsigned s = 0; s < w->nworkers && s < CQ_MAX_WORKERS; s++) {
		if (s == w->slot || gauge[s] == UINT64_MAX)
			continue;
		uint64_t load = gauge[s] + pending[s];
		if (best == CQ_SLOT_NONE || load < least) {
			best = s;
			least = load;
		}
	}
	*load_r = least;
	return best;
}

/* The worker to hand a new connection to, or CQ_SLOT_NONE to keep it. */
static unsigned
hand_to(cq_worker_t *w)
{
	uint64_t least;
	if (!read_valid || w->now_ms - read_at_ms >= LOADS_MS)
		gauges_read(w);
	unsigned to = lightest(w, &least);
	if (to == CQ_SLOT_NONE || !cq_rebalance_wanted(w->nconnected, least))
		return CQ_SLOT_NONE;
	/* The cached reading says yes: decide on a fresh one. */
	gauges_read(w);
	to = lightest(w, &least);
	if (to == CQ_SLOT_NONE || !cq_rebalance_wanted(w->nconnected, least))
		return CQ_SLOT_NONE;
	return to;
}

bool
cq_rebalance_handed(cq_worker_t *w, unsigned li, int fd,
	const struct sockaddr *peer, socklen_t plen)
{
	if (w->nworkers < 2 || w->nconnected < CQ_REBALANCE_MIN)
		return false;
	unsigned to = hand_to(w);
	if (to == CQ_SLOT_NONE)
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
	cq_log(CQ_LOG_DEBUG, 0,
		"connection handed to worker %u (%" PRIu64
		" clients here, %" PRIu64 " there)",
		to, (uint64_t)w->nconnected, gauge[to] + pending[to]);
	pending[to]++;
	pending_ms[to] = w->now_ms;
	return true;
}
