/*
 * crashpoint.h — named places where a test can make this process die.
 *
 * CQ_CRASHPOINT("arena.refill") is compiled into every build: when nothing
 * is armed it costs one load of a process-local global and a predictable
 * branch.  A test (or an integration run through the CQ_CRASHPOINTS
 * environment variable) arms a name with a countdown and/or a probability;
 * when it fires, the process calls raise(SIGKILL), exactly as if the kernel
 * had killed it at that instruction: no atexit handlers, no unlock, no
 * flush.  The multi-process stress tests use this to prove that every shm
 * structure survives its writer dying inside a locked section, between
 * allocation and publication, and between ring reserve and commit.
 *
 * Crash points are process-local: a child armed after fork() does not arm
 * its parent.  Placing one is cheap; place them where a death would be the
 * most awkward.
 */
#ifndef CQ_SHM_CRASHPOINT_H
#define CQ_SHM_CRASHPOINT_H

#include <stdint.h>

#include "core/defs.h"

#define CQ_CRASHPOINT_MAX      16u
#define CQ_CRASHPOINT_NAME_MAX 48u

/* Non-zero while at least one crash point is armed. */
extern int cq_crashpoint_armed;

void cq_crashpoint_hit(const char *name);

#define CQ_CRASHPOINT(name)                                                    \
	do {                                                                   \
		if (cq_unlikely(cq_crashpoint_armed))                          \
			cq_crashpoint_hit(name);                               \
	} while (0)

/*
 * Arm 'name' (exact, or a prefix ending in '*', or "*" for every point).
 * The point fires on its 'countdown'-th hit (0: not by count) or, on each
 * hit, with probability ppm / 1e6 (0: not by chance), drawn from a
 * process-local generator seeded with 'seed'.  0, or -1 (EINVAL: bad name,
 * ENOSPC: CQ_CRASHPOINT_MAX points armed already).
 */
int cq_crashpoint_arm(
	const char *name, uint32_t countdown, uint32_t ppm, uint64_t seed);
void cq_crashpoint_disarm_all(void);

/*
 * Arm from a specification "name[:countdown[:ppm]],..." such as
 * "ring.reserved:0:2000,arena.*:50".  0, or -1 with errno EINVAL.
 */
int cq_crashpoint_arm_spec(const char *spec, uint64_t seed);

/* How many times an armed point matching 'name' was passed (tests). */
uint64_t cq_crashpoint_hits(const char *name);

#endif /* CQ_SHM_CRASHPOINT_H */
