/*
 * cb_report.h — the figures of one run, computed from the threads'
 * counters and the trackers after the threads have been joined, printed as
 * text, one JSON object, or key=value lines (for bench/compare).
 */
#ifndef CB_REPORT_H
#define CB_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "bench/cb_proc.h"
#include "bench/cb_types.h"

/* What the controller measured around the phases. */
typedef struct cb_times {
	uint64_t connect_start;
	uint64_t connect_end;
	uint64_t run_start;
	uint64_t run_end;
	uint64_t drain_end;
	uint64_t sub_start; /* retained: SUBSCRIBE sent */
	uint64_t connected_in_run; /* connrate: CONNACKs while running */
	double cpu_user; /* comqtt-bench, over the measured window */
	double cpu_sys;
	cb_proc_sample_t broker_start;
	cb_proc_sample_t broker_end;
	int64_t broker_pss_max_kb;
	int complete;
	char error[512];
} cb_times_t;

typedef struct cb_result {
	const cb_run_t *run;
	const char *transport;
	uint64_t connected;
	uint64_t failed;
	uint64_t lost_conns;
	double connect_s;
	double connects_per_s;
	double run_s;
	uint64_t sent;
	uint64_t completed;
	uint64_t expected;
	uint64_t delivered;
	uint64_t lost;
	uint64_t dup;
	uint64_t reordered;
	uint64_t misrouted;
	uint64_t foreign;
	uint64_t refused;
	uint64_t proto_err;
	uint64_t retained_flagged;
	double sent_per_s;
	double delivered_per_s;
	double ratio;
	cb_hist_t lat;
	cb_hist_t conn_lat;
	double cpu_user;
	double cpu_sys;
	double broker_cpu;
	int64_t pss_start_kb;
	int64_t pss_end_kb;
	int64_t pss_max_kb;
	double bytes_per_conn;
	uint64_t bytes_in;
	uint64_t bytes_out;
	int complete;
	char error[768];
} cb_result_t;

/* Fill r from the joined run; 0, or -1 (ENOMEM for the histograms). */
int cb_report_collect(const cb_run_t *run, const cb_times_t *t, cb_result_t *r);
void cb_report_free(cb_result_t *r);
void cb_report_print(const cb_result_t *r, cb_format_t fmt, FILE *out);

#endif /* CB_REPORT_H */
