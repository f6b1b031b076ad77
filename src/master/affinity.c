/*
 * affinity.c — see affinity.h.
 */
#include "config.h"
#include "master/affinity.h"

#include <errno.h>
#include <sched.h>

#include "core/log.h"

bool
cq_affinity_plan(unsigned nslots, int *cpu_r)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		cq_log(CQ_LOG_WARN, errno,
			"worker_cpu_affinity: cannot read the allowed CPUs; "
			"workers are not pinned");
		return false;
	}
	int cpus[CPU_SETSIZE];
	unsigned n = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n == 0)
		return false;
	for (unsigned i = 0; i < nslots; i++)
		cpu_r[i] = cpus[i % n];
	return true;
}

int
cq_affinity_pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == 0)
		return 0;
	cq_log(CQ_LOG_WARN, errno, "cannot run on CPU %d only (unpinned)", cpu);
	return -1;
}
