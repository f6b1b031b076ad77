/*
 * crashpoint.c — see crashpoint.h.
 *
 * The table is process-local and written only by the thread that arms it
 * (tests arm before they start working), so it needs no locking.
 */
#include "config.h"
#include "shm/crashpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

typedef struct crashpoint {
	char name[CQ_CRASHPOINT_NAME_MAX];
	size_t prefix_len; /* match the first prefix_len bytes ('*' form) */
	uint32_t countdown;
	uint32_t ppm;
	uint64_t hits;
} crashpoint_t;

int cq_crashpoint_armed;

static crashpoint_t points[CQ_CRASHPOINT_MAX];
static unsigned npoints;
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* splitmix64: small, good enough to spread crashes, and reproducible. */
static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static int
point_matches(const crashpoint_t *p, const char *name)
{
	if (p->prefix_len != SIZE_MAX)
		return strncmp(p->name, name, p->prefix_len) == 0;
	return strcmp(p->name, name) == 0;
}

static _Noreturn void
die_here(const char *name)
{
	cq_log(CQ_LOG_DEBUG, 0, "crash point \"%s\" fired", name);
	raise(SIGKILL);
	abort(); /* not reached: SIGKILL cannot be caught */
}

void
cq_crashpoint_hit(const char *name)
{
	for (unsigned i = 0; i < npoints; i++) {
		crashpoint_t *p = &points[i];
		if (!point_matches(p, name))
			continue;
		p->hits++;
		if (p->countdown != 0 && --p->countdown == 0)
			die_here(name);
		if (p->ppm != 0 && rng_next() % 1000000u < p->ppm)
			die_here(name);
	}
}

int
cq_crashpoint_arm(
	const char *name, uint32_t countdown, uint32_t ppm, uint64_t seed)
{
	size_t len = name != NULL ? strlen(name) : 0;
	if (len == 0 || len >= CQ_CRASHPOINT_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (npoints == CQ_CRASHPOINT_MAX) {
		errno = ENOSPC;
		return -1;
	}
	crashpoint_t *p = &points[npoints];
	memset(p, 0, sizeof(*p));
	memcpy(p->name, name, len + 1);
	p->prefix_len = name[len - 1] == '*' ? len - 1 : SIZE_MAX;
	p->countdown = countdown;
	p->ppm = ppm;
	rng_state ^= seed;
	npoints++;
	cq_crashpoint_armed = 1;
	return 0;
}

void
cq_crashpoint_disarm_all(void)
{
	cq_crashpoint_armed = 0;
	npoints = 0;
}

/* One "name[:countdown[:ppm]]" item of a specification. */
static int
arm_item(const char *item, size_t len, uint64_t seed)
{
	char buf[CQ_CRASHPOINT_NAME_MAX + 32];
	if (len >= sizeof(buf))
		goto bad;
	memcpy(buf, item, len);
	buf[len] = '\0';
	char *fields[3] = {buf, NULL, NULL};
	for (int f = 1; f < 3; f++) {
		char *colon = strchr(fields[f - 1], ':');
		if (colon == NULL)
			break;
		*colon = '\0';
		fields[f] = colon + 1;
	}
	unsigned long v[2] = {0, 0};
	for (int f = 1; f < 3; f++) {
		if (fields[f] == NULL)
			continue;
		char *end;
		errno = 0;
		v[f - 1] = strtoul(fields[f], &end, 10);
		if (errno != 0 || end == fields[f] || *end != '\0' ||
			v[f - 1] > UINT32_MAX)
			goto bad;
	}
	if (v[1] > 1000000u)
		goto bad;
	return cq_crashpoint_arm(buf, (uint32_t)v[0], (uint32_t)v[1], seed);
bad:
	errno = EINVAL;
	return -1;
}

int
cq_crashpoint_arm_spec(const char *spec, uint64_t seed)
{
	const char *s = spec;
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		if (len > 0 && arm_item(s, len, seed) < 0) {
			cq_log(CQ_LOG_ERR, errno, "bad crash point \"%.*s\"",
				(int)len, s);
			return -1;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

uint64_t
cq_crashpoint_hits(const char *name)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < npoints; i++) {
		if (point_matches(&points[i], name))
			n += points[i].hits;
	}
	return n;
}
