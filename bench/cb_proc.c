/*
 * cb_proc.c — see cb_proc.h.
 *
 * Descendants are found by scanning /proc/<n>/stat for parent ids, which
 * needs no kernel option (unlike /proc/<pid>/task/<tid>/children).  A
 * process that exits between the scan and the read is skipped.
 */
#include "config.h"
#include "bench/cb_proc.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_PROCS 4096

/* Parent id, utime + stime (ticks) of pid from /proc/<pid>/stat. */
static int
read_stat(pid_t pid, pid_t *ppid_r, unsigned long long *ticks_r)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name is in parentheses and may contain anything. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	int ppid;
	unsigned long long ut, st;
	if (sscanf(p + 2,
		    "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		    &ppid, &ut, &st) != 3)
		return -1;
	*ppid_r = ppid;
	*ticks_r = ut + st;
	return 0;
}

static int64_t
read_pss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int64_t kb = -1;
	while (fgets(line, sizeof(line), f)) {
		long long v;
		if (sscanf(line, "Pss: %lld kB", &v) == 1) {
			kb = v;
			break;
		}
	}
	fclose(f);
	return kb;
}

/* pid and its descendants into tree[]; their count. */
static int
find_tree(pid_t root, pid_t *tree, int max)
{
	static pid_t pids[MAX_PROCS], ppids[MAX_PROCS];
	int n = 0;
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < MAX_PROCS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		unsigned long long t;
		pids[n] = (pid_t)atoi(e->d_name);
		if (read_stat(pids[n], &ppids[n], &t) == 0)
			n++;
	}
	closedir(d);
	int k = 0;
	tree[k++] = root;
	/* Breadth-first: each found process adds its children. */
	for (int i = 0; i < k; i++)
		for (int j = 0; j < n && k < max; j++)
			if (ppids[j] == tree[i])
				tree[k++] = pids[j];
	return k;
}

void
cb_proc_sample(pid_t pid, cb_proc_sample_t *s)
{
	static pid_t tree[MAX_PROCS];
	s->pss_kb = -1;
	s->cpu_s = -1;
	s->nprocs = 0;
	if (pid <= 0)
		return;
	int k = find_tree(pid, tree, MAX_PROCS);
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long ticks = 0;
	int64_t pss = 0;
	for (int i = 0; i < k; i++) {
		pid_t pp;
		unsigned long long t;
		int64_t kb = read_pss_kb(tree[i]);
		if (read_stat(tree[i], &pp, &t) < 0 || kb < 0)
			continue;
		ticks += t;
		pss += kb;
		s->nprocs++;
	}
	if (s->nprocs == 0)
		return;
	s->pss_kb = pss;
	s->cpu_s = (double)ticks / (double)(hz > 0 ? hz : 100);
}

void
cb_proc_self_cpu(double *user_r, double *sys_r)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user_r = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys_r = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
