/*
 * res_blacklist.c — the blacklist (shm/blacklist.h):
 *
 *   GET    /api/v1/mqtt/blacklist        the ids, as a JSON array
 *   POST   /api/v1/mqtt/blacklist/{id}   refuse the id from now on and
 *                                        disconnect it if it is connected
 *   DELETE /api/v1/mqtt/blacklist/{id}   accept it again
 *
 * The table lives in shm (every worker checks it at CONNECT); this file
 * also keeps it in <data_dir>/blacklist.json, a JSON array of ids written
 * whole (temporary file, then rename) whenever the table changed, and
 * loaded into a fresh region by the first admin that runs on it.
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

#include "core/log.h"
#include "shm/blacklist.h"
#include "shm/ctl.h"

#define BL_FILE     "blacklist.json"
#define BL_FILE_MAX (64u << 20)

static void
id_json(void *arg, const char *id, size_t len)
{
	cq_json_str(arg, id, len);
}

static void
list_json(cq_json_t *j)
{
	cq_json_arr_begin(j);
	cq_blacklist_foreach(id_json, j);
	cq_json_arr_end(j);
}

void
cq_res_blacklist(cq_hreq_t *r)
{
	cq_json_t j;
	cq_json_init(&j);
	list_json(&j);
	cq_http_json(r, 200, &j);
}

static void
added(cq_hreq_t *r, uint16_t status, void *arg)
{
	(void)arg;
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "client_id", r->arg[0], r->arg_len[0]);
	cq_json_kbool(&j, "blacklisted", true);
	cq_json_kbool(&j, "kicked", status == CQ_CTL_OK);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

void
cq_res_blacklist_add(cq_hreq_t *r)
{
	int rc = cq_blacklist_add(r->arg[0], r->arg_len[0]);
	if (rc < 0 && errno == EINVAL) {
		cq_http_error(r, 400,
			"a blacklisted client id has 1 to %u bytes",
			CQ_BLACKLIST_ID_MAX);
		return;
	}
	if (rc < 0) {
		cq_http_error(r, 503,
			"the blacklist is full (%zu ids, "
			"admin.blacklist_max)",
			cq_blacklist_capacity());
		return;
	}
	if (rc == 1)
		cq_log(CQ_LOG_NOTICE, 0, "client id %.*s blacklisted (from %s)",
			(int)r->arg_len[0], r->arg[0], r->peer);
	cq_blacklist_file_save(r->a);
	/* Refused from now on; a connection it has now ends. */
	cq_admin_kick(r, r->arg[0], r->arg_len[0], added, NULL);
}

void
cq_res_blacklist_remove(cq_hreq_t *r)
{
	if (cq_blacklist_remove(r->arg[0], r->arg_len[0]) != 1) {
		cq_http_error(r, 404, "client id not in the blacklist");
		return;
	}
	cq_log(CQ_LOG_NOTICE, 0,
		"client id %.*s removed from the blacklist "
		"(from %s)",
		(int)r->arg_len[0], r->arg[0], r->peer);
	cq_blacklist_file_save(r->a);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "client_id", r->arg[0], r->arg_len[0]);
	cq_json_kbool(&j, "blacklisted", false);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

/* ---- the file -------------------------------------------------------- */

static void
file_path(const cq_admin_t *a, char *buf, size_t size, const char *suffix)
{
	snprintf(buf, size, "%s/%s%s", a->cfg->data_dir, BL_FILE, suffix);
}

static char *
slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	char *text = malloc(BL_FILE_MAX + 1);
	size_t n = text ? fread(text, 1, BL_FILE_MAX + 1, f) : 0;
	bool bad = ferror(f) || n > BL_FILE_MAX;
	fclose(f);
	if (text == NULL || bad) {
		free(text);
		errno = EFBIG;
		return NULL;
	}
	*len_r = n;
	return text;
}

static void
load_ids(const cq_jv_t *v, const char *path)
{
	size_t n = 0;
	for (size_t i = 0; i < v->len; i++) {
		const cq_jv_t *it = &v->items[i];
		if (it->type != CQ_JSON_STRING ||
			cq_blacklist_add(it->s, it->len) < 0)
			cq_log(CQ_LOG_WARN, errno,
				"%s: item %zu not loaded (a client id of 1 to "
				"%u bytes, and room in admin.blacklist_max)",
				path, i, CQ_BLACKLIST_ID_MAX);
		else
			n++;
	}
	cq_log(CQ_LOG_INFO, 0, "%zu blacklisted client id(s) loaded from %s", n,
		path);
}

void
cq_blacklist_file_load(cq_admin_t *a)
{
	char path[4200], err[160];
	size_t len;
	if (cq_blacklist_loaded())
		return;
	file_path(a, path, sizeof(path), "");
	char *text = slurp(path, &len);
	cq_jv_t *v = NULL;
	if (text == NULL && errno != ENOENT)
		cq_log(CQ_LOG_ERR, errno, "cannot read %s", path);
	else if (text != NULL &&
		cq_json_parse(text, len, &v, err, sizeof(err)) < 0)
		cq_log(CQ_LOG_ERR, 0, "%s: %s", path, err);
	else if (v != NULL && v->type != CQ_JSON_ARRAY)
		cq_log(CQ_LOG_ERR, 0, "%s: expected a JSON array of client ids",
			path);
	else if (v != NULL)
		load_ids(v, path);
	cq_json_value_free(v);
	free(text);
	cq_blacklist_set_loaded();
	a->bl_saved = cq_blacklist_version();
}

void
cq_blacklist_file_save(cq_admin_t *a)
{
	char path[4200], tmp[4210];
	uint64_t version = cq_blacklist_version();
	if (version == a->bl_saved || !cq_blacklist_loaded())
		return;
	cq_json_t j;
	cq_json_init(&j);
	list_json(&j);
	size_t len;
	const char *text = cq_json_text(&j, &len);
	file_path(a, path, sizeof(path), "");
	file_path(a, tmp, sizeof(tmp), ".tmp");
	int fd = j.failed || cq_admin_data_dir(a) < 0
		? -1
		: open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len &&
		write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0)
		cq_log(CQ_LOG_ERR, errno,
			"cannot write %s: the blacklist holds until the "
			"broker stops",
			path);
	/* Tried once per change: a read-only data_dir is logged, not
	 * retried every second. */
	a->bl_saved = version;
	cq_json_free(&j);
}
