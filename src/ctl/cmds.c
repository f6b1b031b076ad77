/*
 * cmds.c — comqttctl's subcommands (ctl.h).  Each makes its requests,
 * then prints the answer: a table or "key: value" lines by default, the
 * API's JSON as it came with --json.
 */
#include "config.h"
#include "ctl/ctl.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API "/api/v1/mqtt"

/* ---- paged lists --------------------------------------------------- */

int
cq_ctl_list(const cq_ctl_t *c, int argc, char **argv, const cq_ctl_list_t *spec)
{
	struct option opts[] = {{"query", 1, NULL, 'q'}, {"page", 1, NULL, 'p'},
		{"page-size", 1, NULL, 's'},
		{spec->flags[0].name, 0, NULL, '0'},
		{spec->flags[1].name, 0, NULL, '1'},
		{spec->flags[2].name, 0, NULL, '2'}, {NULL, 0, NULL, 0}};
	char path[2048], *q = NULL;
	const char *flag[3] = {"", "", ""};
	long page = 1, size = 20;
	int o;
	for (int i = 0; i < 3; i++)
		if (spec->flags[i].name == NULL)
			opts[3 + i] = (struct option){NULL, 0, NULL, 0};
	optind = 0; /* glibc: a full restart for a new argv */
	while ((o = getopt_long(argc, argv, "q:p:s:", opts, NULL)) != -1) {
		if (o == 'q') {
			free(q);
			q = cq_ctl_escape(optarg);
		} else if (o == 'p' || o == 's') {
			*(o == 'p' ? &page : &size) = strtol(optarg, NULL, 10);
		} else if (o >= '0' && o <= '2') {
			flag[o - '0'] = spec->flags[o - '0'].query;
		} else {
			free(q);
			return cq_ctl_usage(spec->cmd, "bad option");
		}
	}
	if (optind < argc) {
		free(q);
		return cq_ctl_usage(spec->cmd, "unexpected argument");
	}
	snprintf(path, sizeof(path), "%s?page=%ld&page_size=%ld%s%s%s%s%s%s",
		spec->path, page, size, flag[0], flag[1], flag[2], q ? "&" : "",
		q ? spec->qparam : "", q ? "=" : "");
	if (q != NULL && strlen(path) + strlen(q) < sizeof(path))
		strcat(path, q);
	free(q);
	cq_jv_t *v;
	int rc = cq_ctl_call(c, "GET", path, NULL, &v);
	if (rc == CQ_CTL_EXIT_OK && v != NULL)
		spec->print(v, flag[0][0] != '\0');
	cq_json_value_free(v);
	return rc;
}

/* ---- status --------------------------------------------------------- */

static void
print_overall(const cq_jv_t *o)
{
	char a[64], b[64], c1[64];
	cq_ctl_human_duration(
		(uint64_t)cq_ctl_int(o, "uptime", 0), a, sizeof(a));
	cq_ctl_human_time((uint64_t)cq_ctl_int(o, "started", 0), b, sizeof(b));
	printf("comqtt %s, up %s (since %s), %" PRId64 " worker(s)\n",
		cq_ctl_field(o, "version", c1, sizeof(c1)), a, b,
		cq_ctl_int(o, "threads", 0));
	printf("clients        %" PRId64 " connected, %" PRId64
	       " disconnected, %" PRId64 " sessions (most connected: %" PRId64
	       ")\n",
		cq_ctl_int(o, "clients_connected", 0),
		cq_ctl_int(o, "clients_disconnected", 0),
		cq_ctl_int(o, "clients_total", 0),
		cq_ctl_int(o, "clients_maximum", 0));
	printf("messages       %" PRId64 " received, %" PRId64 " sent, %" PRId64
	       " dropped, %" PRId64 " inflight\n",
		cq_ctl_int(o, "messages_received", 0),
		cq_ctl_int(o, "messages_sent", 0),
		cq_ctl_int(o, "messages_dropped", 0),
		cq_ctl_int(o, "inflight", 0));
	cq_ctl_human_bytes(
		(uint64_t)cq_ctl_int(o, "bytes_received", 0), a, sizeof(a));
	cq_ctl_human_bytes(
		(uint64_t)cq_ctl_int(o, "bytes_sent", 0), b, sizeof(b));
	printf("bytes          %s received, %s sent\n", a, b);
	printf("subscriptions  %" PRId64 ", retained messages %" PRId64 "\n",
		cq_ctl_int(o, "subscriptions", 0),
		cq_ctl_int(o, "retained", 0));
	cq_ctl_human_bytes(
		(uint64_t)cq_ctl_int(o, "memory_alloc", 0), a, sizeof(a));
	cq_ctl_human_bytes(
		(uint64_t)cq_ctl_int(o, "memory_total", 0), b, sizeof(b));
	printf("shared memory  %s used of %s\n", a, b);
}

static void
print_workers(const cq_jv_t *w)
{
	static const char *const heads[] = {"WORKER", "PID", "ALIVE",
		"CONNECTIONS", "SUBSCRIPTIONS", "LAG_MS", "RING_BYTES"};
	cq_table_t *t = cq_table_new(7, heads);
	for (size_t i = 0; w->type == CQ_JSON_ARRAY && i < w->len; i++) {
		const cq_jv_t *r = &w->items[i];
		char b[7][32];
		snprintf(b[5], sizeof(b[5]), "%.1f",
			(double)cq_ctl_int(r, "loop_lag_us", 0) / 1000.0);
		const char *cells[] = {cq_ctl_field(r, "slot", b[0], 32),
			cq_ctl_field(r, "pid", b[1], 32),
			cq_ctl_field(r, "alive", b[2], 32),
			cq_ctl_field(r, "connections", b[3], 32),
			cq_ctl_field(r, "subscriptions", b[4], 32), b[5],
			cq_ctl_field(r, "ring_depth_bytes", b[6], 32)};
		cq_table_row(t, cells);
	}
	cq_table_done(t, NULL);
}

int
cq_ctl_cmd_status(const cq_ctl_t *c, int argc, char **argv)
{
	if (argc > 1)
		return cq_ctl_usage("status", "takes no argument");
	cq_ctl_resp_t r1, r2;
	int rc = cq_ctl_result(c,
		cq_ctl_request(c, "GET", API "/stat/overall", NULL, &r1), &r1,
		true, NULL);
	if (rc == CQ_CTL_EXIT_OK)
		rc = cq_ctl_result(c,
			cq_ctl_request(
				c, "GET", API "/stat/workers", NULL, &r2),
			&r2, true, NULL);
	else
		memset(&r2, 0, sizeof(r2));
	if (rc == CQ_CTL_EXIT_OK && c->json) {
		printf("{\"overall\":%.*s,\"workers\":%.*s}\n", (int)r1.len,
			r1.body, (int)r2.len, r2.body);
	} else if (rc == CQ_CTL_EXIT_OK) {
		cq_jv_t *o = NULL, *w = NULL;
		char e[64];
		if (cq_json_parse(r1.body, r1.len, &o, e, sizeof(e)) == 0 &&
			cq_json_parse(r2.body, r2.len, &w, e, sizeof(e)) == 0) {
			print_overall(o);
			putchar('\n');
			print_workers(w);
		} else {
			fprintf(stderr,
				"comqttctl: the answer is not JSON: %s\n", e);
			rc = CQ_CTL_EXIT_FAILED;
		}
		cq_json_value_free(o);
		cq_json_value_free(w);
	}
	cq_ctl_resp_free(&r1);
	cq_ctl_resp_free(&r2);
	return rc;
}

/* ---- clients -------------------------------------------------------- */

static void
print_clients(const cq_jv_t *v)
{
	static const char *const heads[] = {"CLIENT_ID", "ONLINE", "WORKER",
		"REMOTE", "USERNAME", "PROTO", "SUBS", "INFLIGHT", "QUEUED"};
	static const char *const keys[] = {"client_id", "online", "worker",
		"remote", "username", "protocol_version", "subs", "pending",
		"queued"};
	cq_table_t *t = cq_table_new(9, heads);
	cq_table_rows(t, cq_json_get(v, "items"), keys);
	cq_table_done(t, v);
}

static void
print_clients_any(const cq_jv_t *v, bool flag0)
{
	(void)flag0;
	print_clients(v);
}

static const cq_ctl_list_t clients_list = {
	.cmd = "clients list",
	.path = API "/clients",
	.qparam = "q",
	.flags = {{"online", "&online=true"}, {"offline", "&online=false"}},
	.print = print_clients_any,
};

static int
clients_one(const cq_ctl_t *c, const char *method, const char *id,
	const char *suffix)
{
	char path[8192], done[300];
	if (!cq_ctl_path(path, sizeof(path), API "/clients/", id, suffix))
		return cq_ctl_usage("clients", "client id too long");
	snprintf(done, sizeof(done), "client %.256s disconnected", id);
	return cq_ctl_one(c, method, path, done);
}

int
cq_ctl_cmd_clients(const cq_ctl_t *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "list";
	if (argc <= 1 || argv[1][0] == '-')
		return cq_ctl_list(c, argc, argv, &clients_list);
	if (strcmp(sub, "list") == 0)
		return cq_ctl_list(c, argc - 1, argv + 1, &clients_list);
	if (strcmp(sub, "show") == 0 && argc == 3)
		return clients_one(c, "GET", argv[2], "");
	if (strcmp(sub, "kick") == 0 && argc == 3)
		return clients_one(c, "POST", argv[2], "/kick");
	return cq_ctl_usage("clients", "expected list, show ID or kick ID");
}

int
cq_ctl_cmd_subs(const cq_ctl_t *c, int argc, char **argv)
{
	char path[8192];
	if (argc != 2)
		return cq_ctl_usage("subs", "expected a client id");
	if (!cq_ctl_path(path, sizeof(path), API "/clients/", argv[1],
		    "/subscriptions"))
		return cq_ctl_usage("subs", "client id too long");
	cq_jv_t *v;
	int rc = cq_ctl_call(c, "GET", path, NULL, &v);
	if (rc != CQ_CTL_EXIT_OK || v == NULL)
		return rc;
	static const char *const heads[] = {
		"TOPIC", "QOS", "NO_LOCAL", "RETAIN_AS_PUBLISHED", "ID"};
	static const char *const keys[] = {"topic", "qos", "no_local",
		"retain_as_published", "identifier"};
	cq_table_t *t = cq_table_new(5, heads);
	cq_table_rows(t, v, keys);
	cq_table_done(t, NULL);
	cq_json_value_free(v);
	return rc;
}
