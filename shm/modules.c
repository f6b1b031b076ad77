/*
 * modules.c — the list of shm modules (region.h).
 *
 * The region is sized and initialised from this list, and the checker and
 * the reaper walk it.  Order matters only for layout and for the order of
 * checks; the arena is special-cased wherever it is in the list (laid out
 * last, initialised first, checked last).  Each group below belongs to one
 * part of shm/: add a module to your own group.
 */
#include "config.h"
#include "shm/region.h"

#include "shm/arena.h"
#include "shm/authcache.h"
#include "shm/blacklist.h"
#include "shm/counters.h"
#include "shm/ctl.h"
#include "shm/msg.h"
#include "shm/persist.h"
#include "shm/qsbr.h"
#include "shm/ring.h"
#include "shm/retained.h"
#include "shm/route.h"
#include "shm/session.h"

const cq_shm_module_t *const cq_shm_modules[] = {
	/* base: reclamation, delivery, caches, metrics */
	&cq_qsbr_module,
	&cq_ring_module,
	&cq_msg_module,
	&cq_authcache_module,
	&cq_counters_module,

	/* tables: route trie, retained store, sessions */
	&cq_route_module,
	&cq_retained_module,
	&cq_session_module,

	/* persistence: the rings to comqtt-storage (no area when off) */
	&cq_persist_module,
	/* admin: control rings into the workers, the blacklist */
	&cq_ctl_module,
	&cq_blacklist_module,

	/* the arena takes what the fixed-size modules leave */
	&cq_arena_module,
	NULL,
};
