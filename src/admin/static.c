/*
 * static.c — the dashboard's files (admin-int.h).
 *
 * The dashboard is plain HTML, JavaScript and CSS installed with the
 * broker (share/dashboard -> <datadir>/comqtt/dashboard, or
 * admin.dashboard_dir), read from disk at each request (a few small
 * files).  Only flat names of known types are served: no subdirectories,
 * no dot files, so no path can leave the directory.  The page holds no
 * data: it asks the API, with the token the user gives it.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "core/defs.h"
#include "core/log.h"

#define FILE_MAX (4u << 20)

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
};

/* The content type of a servable name, or NULL. */
static const char *
type_of(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.' ||
		strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return NULL;
	for (size_t i = 0; i < CQ_ARRAY_SIZE(types); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

/* The file into b; 0, or -1 (missing or unreadable). */
static int
load(const char *path, struct evbuffer *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		return -1;
	int rc = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		st.st_size <= (off_t)FILE_MAX) {
		char chunk[16384];
		ssize_t n;
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			if (evbuffer_add(b, chunk, (size_t)n) < 0)
				break;
		rc = n == 0 ? 0 : -1;
	}
	close(fd);
	return rc;
}

bool
cq_static_serve(cq_admin_t *a, struct evhttp_request *req, const char *path)
{
	const char *name = strcmp(path, "/") == 0 ? "index.html" : path + 1;
	const char *type = type_of(name);
	if (type == NULL || a->dashboard_dir == NULL)
		return false;
	char file[4200];
	snprintf(file, sizeof(file), "%s/%s", a->dashboard_dir, name);
	struct evbuffer *b = evbuffer_new();
	if (b == NULL || load(file, b) < 0) {
		if (b != NULL)
			evbuffer_free(b);
		if (strcmp(name, "index.html") == 0)
			cq_log(CQ_LOG_WARN, errno,
				"dashboard: cannot read %s "
				"(admin.dashboard_dir)",
				file);
		return false;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Content-Security-Policy",
		"default-src 'self'; img-src 'self' data:; "
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	return true;
}
