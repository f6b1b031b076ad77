/*
 * log.c — see log.h.
 *
 * Line format (UTC, millisecond resolution):
 *   2026-11-25T10:00:00.123Z comqttd[1234] worker 0: notice: message: strerror
 */
#include "config.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static int log_fd = STDERR_FILENO;
static int log_level = CQ_LOG_INFO;
static char log_path[4096];
static char log_ident[64] = "comqttd";

static const char *const level_names[] = {
	"debug", "info", "notice", "warn", "error", "crit", "alert"};

const char *
cq_log_level_name(int level)
{
	if (level < CQ_LOG_DEBUG || level > CQ_LOG_ALERT)
		return "?";
	return level_names[level];
}

int
cq_log_level_parse(const char *name, int *level_r)
{
	for (int i = CQ_LOG_DEBUG; i <= CQ_LOG_ALERT; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level_r = i;
			return 0;
		}
	}
	if (strcmp(name, "warning") == 0) {
		*level_r = CQ_LOG_WARN;
		return 0;
	}
	if (strcmp(name, "err") == 0) {
		*level_r = CQ_LOG_ERR;
		return 0;
	}
	return -1;
}

void
cq_log_set_level(int level)
{
	log_level = level;
}

int
cq_log_get_level(void)
{
	return log_level;
}

void
cq_log_set_ident(const char *ident)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

static int
open_log_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int
cq_log_open(const char *path)
{
	if (path == NULL || path[0] == '\0' || strcmp(path, "stderr") == 0) {
		cq_log_close();
		log_path[0] = '\0';
		return 0;
	}
	int fd = open_log_file(path);
	if (fd < 0) {
		int err = errno;
		cq_log(CQ_LOG_ERR, err, "open() of log file \"%s\" failed",
			path);
		errno = err;
		return -1;
	}
	cq_log_close();
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path);
	return 0;
}

int
cq_log_reopen(void)
{
	if (log_path[0] == '\0')
		return 0;
	int fd = open_log_file(log_path);
	if (fd < 0) {
		cq_log(CQ_LOG_ERR, errno, "reopen of log file \"%s\" failed",
			log_path);
		return -1;
	}
	/* dup2 keeps the descriptor number, so forked children that inherited
	 * it need no notification. */
	if (dup2(fd, log_fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
cq_log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
}

void
cq_logv(int level, int err, const char *fmt, va_list ap)
{
	if (level < log_level)
		return;

	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);

	int n = snprintf(line, sizeof(line),
		"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ comqttd[%d] %s: %s: ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(),
		log_ident, cq_log_level_name(level));
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;

	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n < sizeof(line) - len ? (size_t)n
						      : sizeof(line) - len - 1;
	if (err != 0 && len < sizeof(line) - 1) {
		char ebuf[128];
		const char *etext = strerror_r(err, ebuf, sizeof(ebuf));
		n = snprintf(line + len, sizeof(line) - len, ": %s", etext);
		if (n > 0)
			len += (size_t)n < sizeof(line) - len
				? (size_t)n
				: sizeof(line) - len - 1;
	}
	/* Control characters from peers (client ids, topics) must not forge
	 * log lines. */
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	}
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';

	int saved = errno;
	ssize_t w = write(log_fd, line, len);
	(void)w;
	errno = saved;
}

void
cq_log(int level, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cq_logv(level, err, fmt, ap);
	va_end(ap);
}
