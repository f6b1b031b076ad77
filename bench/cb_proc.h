/*
 * cb_proc.h — what /proc says about the broker under test: memory as the
 * sum of PSS over the process and all its descendants (so a shared-memory
 * region mapped by every worker is counted once, split between them), and
 * CPU time; and comqtt-bench's own CPU time.
 */
#ifndef CB_PROC_H
#define CB_PROC_H

#include <stdint.h>
#include <sys/types.h>

typedef struct cb_proc_sample {
	int64_t pss_kb; /* -1: unavailable */
	double cpu_s; /* user + system of live processes; -1: unavail. */
	int nprocs;
} cb_proc_sample_t;

/* Sample pid and its descendants (found through /proc/<pid>/stat). */
void cb_proc_sample(pid_t pid, cb_proc_sample_t *s);

/* This process's user and system CPU seconds (getrusage). */
void cb_proc_self_cpu(double *user_r, double *sys_r);

#endif /* CB_PROC_H */
