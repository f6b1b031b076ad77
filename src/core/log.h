/*
 * log.h — one-line-per-event logging shared by every comqtt process.
 *
 * Each line is written with a single write(2) to an O_APPEND descriptor, so
 * lines from the master and all workers never interleave even when they
 * share one log file.  Library code logs through cq_log() and never prints
 * or exits on its own.
 */
#ifndef CQ_CORE_LOG_H
#define CQ_CORE_LOG_H

#include <stdarg.h>

typedef enum cq_log_level {
	CQ_LOG_DEBUG = 0,
	CQ_LOG_INFO,
	CQ_LOG_NOTICE,
	CQ_LOG_WARN,
	CQ_LOG_ERR,
	CQ_LOG_CRIT,
	CQ_LOG_ALERT,
} cq_log_level_t;

/*
 * Log one line at 'level'.  'err' is an errno value whose strerror text is
 * appended (": <text>"), or 0 for none.  Safe to call before cq_log_open().
 */
void cq_log(int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cq_logv(int level, int err, const char *fmt, va_list ap);

/* Open 'path' (O_APPEND) as the log destination; NULL means stderr. */
int cq_log_open(const char *path);
/* Reopen the current log file (SIGUSR1 after rotation).  No-op for stderr. */
int cq_log_reopen(void);
void cq_log_close(void);

void cq_log_set_level(int level);
int cq_log_get_level(void);
/* The process's name in each line: "master", "worker 0", "authd". */
void cq_log_set_ident(const char *ident);

/* Parse "debug", "info", "notice", "warn", "error", "crit", "alert". */
int cq_log_level_parse(const char *name, int *level_r);
const char *cq_log_level_name(int level);

#define cq_log_enabled(level) ((level) >= cq_log_get_level())

#endif /* CQ_CORE_LOG_H */
