/*
 * cmds_broker.c — comqttctl's subcommands about the broker's state and
 * itself: retained, blacklist, publish, config, metrics, reload, stop
 * (ctl.h).  Client-side ones are in cmds.c.
 */
#include "config.h"
#include "ctl/ctl.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API "/api/v1/mqtt"

/* ---- retained ------------------------------------------------------- */

static void
print_retained(const cq_jv_t *v, bool payload)
{
	static const char *const heads[] = {
		"TOPIC", "QOS", "SIZE", "STORED", "PAYLOAD"};
	const cq_jv_t *items = cq_json_get(v, "items");
	cq_table_t *t = cq_table_new(payload ? 5 : 4, heads);
	for (size_t i = 0; items != NULL && i < items->len; i++) {
		const cq_jv_t *r = &items->items[i];
		char b[4][32], when[32];
		cq_ctl_human_time((uint64_t)cq_ctl_int(r, "stored_at", 0), when,
			sizeof(when));
		const char *cells[] = {cq_ctl_field(r, "topic", b[0], 32),
			cq_ctl_field(r, "qos", b[1], 32),
			cq_ctl_field(r, "size", b[2], 32), when,
			cq_ctl_field(r, "payload", b[3], 32)};
		cq_table_row(t, cells);
	}
	cq_table_done(t, v);
}

static const cq_ctl_list_t retained_list = {
	.cmd = "retained list",
	.path = API "/retained",
	.qparam = "topic",
	.flags = {{"payload", "&payload=true"}},
	.print = print_retained,
};

static int
retained_one(const cq_ctl_t *c, const char *method, const char *topic)
{
	char path[8192], done[300];
	if (!cq_ctl_path(path, sizeof(path), API "/retained/", topic, ""))
		return cq_ctl_usage("retained", "topic too long");
	snprintf(done, sizeof(done), "retained message of %.256s deleted",
		topic);
	return cq_ctl_one(c, method, path, done);
}

int
cq_ctl_cmd_retained(const cq_ctl_t *c, int argc, char **argv)
{
	if (argc <= 1 || argv[1][0] == '-')
		return cq_ctl_list(c, argc, argv, &retained_list);
	if (strcmp(argv[1], "list") == 0)
		return cq_ctl_list(c, argc - 1, argv + 1, &retained_list);
	if (strcmp(argv[1], "show") == 0 && argc == 3)
		return retained_one(c, "GET", argv[2]);
	if (strcmp(argv[1], "delete") == 0 && argc == 3)
		return retained_one(c, "DELETE", argv[2]);
	return cq_ctl_usage("retained",
		"expected list, show TOPIC or "
		"delete TOPIC");
}

/* ---- blacklist ------------------------------------------------------ */

int
cq_ctl_cmd_blacklist(const cq_ctl_t *c, int argc, char **argv)
{
	char path[8192];
	const char *sub = argc > 1 ? argv[1] : "list";
	const char *method = strcmp(sub, "add") == 0 ? "POST"
		: strcmp(sub, "remove") == 0         ? "DELETE"
						     : NULL;
	if (strcmp(sub, "list") == 0 && argc <= 2) {
		cq_jv_t *v;
		int rc = cq_ctl_call(c, "GET", API "/blacklist", NULL, &v);
		for (size_t i = 0; v != NULL && i < v->len; i++)
			if (v->items[i].type == CQ_JSON_STRING)
				printf("%s\n", v->items[i].s);
		cq_json_value_free(v);
		return rc;
	}
	if (method == NULL || argc != 3)
		return cq_ctl_usage("blacklist",
			"expected list, add ID or "
			"remove ID");
	if (!cq_ctl_path(path, sizeof(path), API "/blacklist/", argv[2], ""))
		return cq_ctl_usage("blacklist", "client id too long");
	cq_jv_t *v;
	int rc = cq_ctl_call(c, method, path, NULL, &v);
	if (rc == CQ_CTL_EXIT_OK && v != NULL) {
		const cq_jv_t *k = cq_json_get(v, "kicked");
		printf("%s %s the blacklist%s\n", argv[2],
			*method == 'P' ? "added to" : "removed from",
			k != NULL && k->b ? "; its connection was closed" : "");
	}
	cq_json_value_free(v);
	return rc;
}

/* ---- publish -------------------------------------------------------- */

int
cq_ctl_cmd_publish(const cq_ctl_t *c, int argc, char **argv)
{
	static const struct option opts[] = {{"qos", 1, NULL, 'q'},
		{"retain", 0, NULL, 'r'}, {NULL, 0, NULL, 0}};
	long qos = 0;
	bool retain = false;
	int o;
	optind = 0; /* glibc: a full restart for a new argv */
	while ((o = getopt_long(argc, argv, "q:r", opts, NULL)) != -1) {
		char *end;
		if (o == 'q')
			qos = strtol(optarg, &end, 10);
		if (o == 'q' && (*end != '\0' || qos < 0 || qos > 2))
			return cq_ctl_usage("publish", "-q takes 0, 1 or 2");
		else if (o == 'r')
			retain = true;
		else if (o != 'q')
			return cq_ctl_usage("publish", "bad option");
	}
	if (argc - optind != 2)
		return cq_ctl_usage("publish", "expected TOPIC PAYLOAD");
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kcstr(&j, "topic_name", argv[optind]);
	cq_json_kcstr(&j, "payload", argv[optind + 1]);
	cq_json_kbool(&j, "retain", retain);
	cq_json_kint(&j, "qos", qos);
	cq_json_obj_end(&j);
	size_t len;
	const char *text = cq_json_text(&j, &len);
	char *body = j.failed ? NULL : strndup(text, len);
	cq_json_free(&j);
	if (body == NULL) {
		fprintf(stderr, "comqttctl: out of memory\n");
		return CQ_CTL_EXIT_FAILED;
	}
	cq_jv_t *v;
	int rc = cq_ctl_call(c, "POST", API "/message", body, &v);
	if (rc == CQ_CTL_EXIT_OK && v != NULL)
		printf("published to %s (QoS %ld%s)\n", argv[optind], qos,
			retain ? ", retained" : "");
	cq_json_value_free(v);
	free(body);
	return rc;
}

/* ---- the broker itself ---------------------------------------------- */

int
cq_ctl_cmd_config(const cq_ctl_t *c, int argc, char **argv)
{
	if (argc > 1)
		return cq_ctl_usage("config", "takes no argument");
	cq_jv_t *v;
	int rc = cq_ctl_call(c, "GET", API "/config", NULL, &v);
	if (rc == CQ_CTL_EXIT_OK && v != NULL)
		cq_ctl_print_flat("", v);
	cq_json_value_free(v);
	return rc;
}

int
cq_ctl_cmd_metrics(const cq_ctl_t *c, int argc, char **argv)
{
	if (argc > 1)
		return cq_ctl_usage("metrics", "takes no argument");
	cq_ctl_resp_t resp;
	int rc = cq_ctl_request(c, "GET", "/metrics", NULL, &resp);
	rc = cq_ctl_result(c, rc, &resp, true, NULL);
	if (rc == CQ_CTL_EXIT_OK && resp.len > 0)
		fwrite(resp.body, 1, resp.len, stdout);
	cq_ctl_resp_free(&resp);
	return rc;
}

static int
operation(const cq_ctl_t *c, int argc, const char *name, const char *path,
	const char *done)
{
	if (argc > 1)
		return cq_ctl_usage(name, "takes no argument");
	cq_jv_t *v;
	int rc = cq_ctl_call(c, "POST", path, NULL, &v);
	if (rc == CQ_CTL_EXIT_OK && v != NULL)
		printf("%s\n", done);
	cq_json_value_free(v);
	return rc;
}

int
cq_ctl_cmd_reload(const cq_ctl_t *c, int argc, char **argv)
{
	(void)argv;
	return operation(c, argc, "reload", API "/reload",
		"the broker is reloading its configuration");
}

int
cq_ctl_cmd_stop(const cq_ctl_t *c, int argc, char **argv)
{
	(void)argv;
	return operation(
		c, argc, "stop", API "/stop", "the broker is stopping");
}
