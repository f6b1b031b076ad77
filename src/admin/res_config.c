/*
 * res_config.c — GET /api/v1/mqtt/config (the configuration in force, as
 * JSON) and the operations on the broker itself: POST /api/v1/mqtt/reload
 * (SIGHUP to the master), POST /api/v1/mqtt/stop (SIGTERM to the master,
 * once the answer has gone out) and POST /api/v1/mqtt/auth/invalidate
 * (forget every cached authentication and ACL answer).
 *
 * The configuration is written from the key table (core/config_schema.h):
 * keys as in comqtt.yml, values as the file would write them (sizes and
 * durations as "1M", "10s"), secrets (passwords, tokens, HMAC keys)
 * replaced by "********" when set.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "authc/client.h"
#include "core/log.h"

static bool
secret(const char *name)
{
	static const char *const names[] = {"password", "token", "hash_key"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* A value as the file writes it (cq_cfg_print_value), unquoted. */
static void
printed(cq_json_t *j, const cq_cfg_key_t *k, const void *obj, bool as_number)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		j->failed = true;
		return;
	}
	cq_cfg_print_value(k, obj, f);
	fclose(f);
	if (k->type == CQ_CFG_BOOL)
		cq_json_bool(j, strcmp(text, "true") == 0);
	else if (as_number)
		cq_json_int(j, strtoll(text, NULL, 10));
	else
		cq_json_str(j, text, len);
	free(text);
}

static void table_json(cq_json_t *j, const cq_cfg_table_t *t, const void *obj);

static void
key_json(cq_json_t *j, const cq_cfg_key_t *k, const void *obj)
{
	const void *field = (const char *)obj + k->offset;
	char addr[CQ_ADDR_STRLEN];
	cq_json_key(j, k->name);
	switch (k->type) {
	case CQ_CFG_MAP:
		table_json(j, k->sub, field);
		break;
	case CQ_CFG_LIST: {
		size_t n = *(
			const size_t *)((const char *)obj + k->count_offset);
		cq_json_arr_begin(j);
		for (size_t i = 0; i < n; i++)
			table_json(j, k->sub,
				(const char *)field + i * k->sub->size);
		cq_json_arr_end(j);
		break;
	}
	case CQ_CFG_STRING:
	case CQ_CFG_PATH: {
		const char *s = *(char *const *)field;
		s = s != NULL ? s : "";
		cq_json_cstr(j, secret(k->name) && s[0] ? "********" : s);
		break;
	}
	case CQ_CFG_ADDRESS:
		cq_addr_format(field, addr, sizeof(addr));
		cq_json_cstr(j, addr);
		break;
	case CQ_CFG_STRLIST: {
		const cq_cfg_strlist_t *l = field;
		cq_json_arr_begin(j);
		for (size_t i = 0; i < l->n; i++)
			cq_json_cstr(j, l->items[i]);
		cq_json_arr_end(j);
		break;
	}
	default:
		printed(j, k, obj, k->type == CQ_CFG_INT);
	}
}

static void
table_json(cq_json_t *j, const cq_cfg_table_t *t, const void *obj)
{
	cq_json_obj_begin(j);
	for (size_t i = 0; i < t->n_keys; i++)
		key_json(j, &t->keys[i], obj);
	cq_json_obj_end(j);
}

void
cq_res_config(cq_hreq_t *r)
{
	cq_json_t j;
	cq_json_init(&j);
	table_json(&j, cq_config_schema(), r->a->cfg);
	cq_http_json(r, 200, &j);
}

/* ---- operations ----------------------------------------------------- */

static void
accepted(cq_hreq_t *r, const char *what)
{
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kcstr(&j, "result", what);
	cq_json_obj_end(&j);
	cq_http_json(r, 202, &j);
}

void
cq_res_reload(cq_hreq_t *r)
{
	if (kill(r->a->args->master_pid, SIGHUP) < 0) {
		cq_http_error(r, 503, "cannot signal the master");
		return;
	}
	cq_log(CQ_LOG_NOTICE, 0, "reload asked through the API (from %s)",
		r->peer);
	accepted(r, "reloading");
}

static bool stop_sent;

static void
send_stop(pid_t master)
{
	/* A second SIGTERM would make the master skip its grace period. */
	if (!stop_sent && kill(master, SIGTERM) == 0)
		stop_sent = true;
}

static void
on_stop_sent(struct evhttp_request *req, void *arg)
{
	(void)req;
	cq_admin_t *a = arg;
	send_stop(a->args->master_pid);
}

static void
on_stop_fallback(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cq_admin_t *a = arg;
	send_stop(a->args->master_pid);
}

void
cq_res_stop(cq_hreq_t *r)
{
	cq_admin_t *a = r->a;
	cq_log(CQ_LOG_NOTICE, 0, "stop asked through the API (from %s)",
		r->peer);
	/* Signal once the answer is out; a client that does not read it
	 * does not keep the broker running. */
	struct timeval tv = {1, 0};
	event_base_once(a->base, -1, EV_TIMEOUT, on_stop_fallback, a, &tv);
	cq_http_on_sent(r, on_stop_sent, a);
	accepted(r, "stopping");
}

void
cq_res_auth_invalidate(cq_hreq_t *r)
{
	uint64_t epoch = cq_authc_invalidate();
	cq_log(CQ_LOG_NOTICE, 0,
		"authentication cache invalidated through the API (epoch %llu)",
		(unsigned long long)epoch);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kuint(&j, "epoch", epoch);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}
