/*
 * dirs.c — see dirs.h.
 */
#include "config.h"
#include "core/dirs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int
fail(const char *path, int err, char *failed, size_t failed_len)
{
	if (failed_len > 0)
		snprintf(failed, failed_len, "%s", path);
	errno = err;
	return -1;
}

int
cq_mkdir_p(const char *dir, mode_t mode, char *failed, size_t failed_len)
{
	struct stat sb;
	if (stat(dir, &sb) == 0)
		return S_ISDIR(sb.st_mode)
			? 0
			: fail(dir, ENOTDIR, failed, failed_len);
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return fail(dir, ENAMETOOLONG, failed, failed_len);
	for (char *p = path + 1;; p++) {
		bool end = *p == '\0';
		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(path, end ? mode : 0755) < 0 && errno != EEXIST)
			return fail(path, errno, failed, failed_len);
		if (end)
			return 1;
		*p = '/';
	}
}
