/*
 * token.c — the admin API's bearer token (admin-int.h).
 *
 * admin.token in the configuration wins.  Otherwise the token is the first
 * line of <data_dir>/admin.token; when that file does not exist, a fresh
 * random token (32 bytes from getrandom, hex) is written there with mode
 * 0600 (O_EXCL: two starts cannot both write one) and logged once, so the
 * operator can read it from the log or the file.  comqttctl reads the same
 * file when it may.  If the file cannot be written, the token lives in
 * memory for this run and is logged.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define TOKEN_BYTES 32
#define TOKEN_MAX   256

static int
fresh_token(char *out, size_t size)
{
	unsigned char raw[TOKEN_BYTES];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cq_log(CQ_LOG_CRIT, errno, "getrandom() failed");
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* The first line of 'path' into tok: 1 read, 0 no file, -1 error. */
static int
read_token(const char *path, char *tok, size_t size)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		cq_log(CQ_LOG_ERR, errno, "cannot read %s", path);
		return -1;
	}
	bool ok = fgets(tok, (int)size, f) != NULL;
	fclose(f);
	tok[ok ? strcspn(tok, "\r\n") : 0] = '\0';
	for (const char *p = tok; *p != '\0'; p++)
		ok = ok && *p > ' ' && *p <= '~';
	if (!ok || tok[0] == '\0') {
		cq_log(CQ_LOG_ERR, 0,
			"%s: expected a token (printable, no spaces) on its "
			"first line",
			path);
		return -1;
	}
	return 1;
}

int
cq_admin_data_dir(const cq_admin_t *a)
{
	char path[4200];
	int n = snprintf(path, sizeof(path), "%s", a->cfg->data_dir);
	if (n <= 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Each parent in turn, then the directory itself. */
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

static int
write_token(const cq_admin_t *a, const char *path, const char *tok)
{
	if (cq_admin_data_dir(a) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(tok);
	bool ok = write(fd, tok, len) == (ssize_t)len &&
		write(fd, "\n", 1) == 1;
	int err = errno;
	close(fd);
	if (!ok) {
		unlink(path);
		errno = err;
		return -1;
	}
	return 0;
}

int
cq_admin_token_load(cq_admin_t *a)
{
	char tok[TOKEN_MAX + 2], path[4200];
	const cq_config_t *cfg = a->cfg;
	if (cfg->admin.token[0] != '\0') {
		snprintf(tok, sizeof(tok), "%s", cfg->admin.token);
	} else {
		snprintf(path, sizeof(path), "%s/%s", cfg->data_dir,
			CQ_ADMIN_TOKEN_FILE);
		int rc = read_token(path, tok, sizeof(tok));
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (fresh_token(tok, sizeof(tok)) < 0)
				return -1;
			if (write_token(a, path, tok) == 0)
				cq_log(CQ_LOG_NOTICE, 0,
					"admin API token generated into %s: "
					"%s",
					path, tok);
			else
				cq_log(CQ_LOG_ERR, errno,
					"cannot write %s; the admin API token "
					"for this run is %s",
					path, tok);
		}
	}
	char *copy = strdup(tok);
	if (copy == NULL)
		return -1;
	free(a->token);
	a->token = copy;
	return 0;
}
