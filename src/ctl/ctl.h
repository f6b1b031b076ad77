/*
 * ctl.h — comqttctl, the command-line client of comqtt-admin's REST API.
 *
 * main.c reads the options and the settings files and dispatches; http.c
 * makes one request with libcurl; cmds.c runs the subcommands; out.c
 * prints tables and values.  Everything comqttctl shows comes from the
 * API, so it works against a remote broker as well as a local one.
 *
 * Exit codes (also in comqttctl(1)):
 */
#ifndef CQ_CTL_CTL_H
#define CQ_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"

#define CQ_CTL_EXIT_OK        0 /* done */
#define CQ_CTL_EXIT_USAGE     1 /* bad command line or settings */
#define CQ_CTL_EXIT_CONNECT   2 /* the API could not be reached */
#define CQ_CTL_EXIT_NOT_FOUND 3 /* no such client, topic, id (404) */
#define CQ_CTL_EXIT_AUTH      4 /* missing or wrong token (401) */
#define CQ_CTL_EXIT_FAILED    5 /* any other error the broker answered */

typedef struct cq_ctl {
	char host[256]; /* host:port */
	char token[260];
	bool tls;
	bool insecure; /* do not verify the certificate */
	char cacert[4096];
	char cert[4096], key[4096]; /* client certificate and key, PEM */
	bool json; /* print the API's JSON as it is */
	long timeout_ms;
} cq_ctl_t;

typedef struct cq_ctl_resp {
	long status; /* HTTP status, 0 when no answer came */
	char *body;
	size_t len;
	char error[256]; /* transport error, when status is 0 */
} cq_ctl_resp_t;

/*
 * One request: method, path (already escaped), JSON body or NULL.  Returns
 * CQ_CTL_EXIT_OK when an answer came (any status; see resp->status), or
 * CQ_CTL_EXIT_CONNECT with resp->error.
 */
int cq_ctl_request(const cq_ctl_t *c, const char *method, const char *path,
	const char *body, cq_ctl_resp_t *resp);
void cq_ctl_resp_free(cq_ctl_resp_t *resp);
/* A path segment percent-encoded (malloc'd; NULL if out of memory). */
char *cq_ctl_escape(const char *s);

/*
 * The answer of a request as the command's result: prints the error the
 * API gave (or the transport's) on stderr and returns the exit code; on
 * 2xx returns CQ_CTL_EXIT_OK and, unless raw, parses the body into
 * *root_r (NULL when it is not JSON: then CQ_CTL_EXIT_FAILED).
 */
int cq_ctl_result(const cq_ctl_t *c, int rc, cq_ctl_resp_t *resp, bool raw,
	cq_jv_t **root_r);

/*
 * Request 'path' and hand the parsed answer to the caller (*root_r); in
 * --json mode print the answer as it came instead (*root_r NULL).
 * Returns the exit code (errors printed).
 */
int cq_ctl_call(const cq_ctl_t *c, const char *method, const char *path,
	const char *body, cq_jv_t **root_r);
/* One resource: GET prints it as "key = value" lines; another method
 * prints 'done' once the broker agreed.  Returns the exit code. */
int cq_ctl_one(const cq_ctl_t *c, const char *method, const char *path,
	const char *done);
/* "comqttctl <cmd>: <what>" on stderr; returns CQ_CTL_EXIT_USAGE. */
int cq_ctl_usage(const char *cmd, const char *what);

/*
 * A paged list: "-q SUBSTRING", "--page N", "--page-size N" and up to
 * three flags that add to the query string; prints with 'print' (given
 * whether the first flag was set), or the JSON with --json.
 */
typedef struct cq_ctl_list {
	const char *cmd; /* "clients list", for messages */
	const char *path; /* "/api/v1/mqtt/clients" */
	const char *qparam; /* the parameter -q fills: "q", "topic" */
	struct {
		const char *name; /* "--online" without the dashes */
		const char *query; /* "&online=true" */
	} flags[3];
	void (*print)(const cq_jv_t *v, bool flag0);
} cq_ctl_list_t;
int cq_ctl_list(
	const cq_ctl_t *c, int argc, char **argv, const cq_ctl_list_t *spec);
/* "<path><escaped segment><suffix>" into buf; false if it does not fit. */
bool cq_ctl_path(char *buf, size_t size, const char *path, const char *seg,
	const char *suffix);

/* Subcommands (cmds.c, cmds_broker.c): argv[0] is the subcommand's name. */
int cq_ctl_cmd_status(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_clients(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_subs(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_retained(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_blacklist(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_publish(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_config(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_metrics(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_reload(const cq_ctl_t *c, int argc, char **argv);
int cq_ctl_cmd_stop(const cq_ctl_t *c, int argc, char **argv);

/* ---- output (out.c) -------------------------------------------------- */

/* A table: set the headers, add rows of cells (strings), print. */
typedef struct cq_table cq_table_t;
cq_table_t *cq_table_new(unsigned ncols, const char *const *heads);
void cq_table_row(cq_table_t *t, const char *const *cells);
void cq_table_print(cq_table_t *t);
void cq_table_free(cq_table_t *t);
/* One row per object of the JSON array 'items' (NULL: none): the members
 * named by keys[0 .. ncols-1], as cq_ctl_field() shows them. */
void cq_table_rows(
	cq_table_t *t, const cq_jv_t *items, const char *const *keys);
/* Print and free the table; with 'page' (a paged answer: items, total,
 * page) a line "(shown of total, page n)" after it. */
void cq_table_done(cq_table_t *t, const cq_jv_t *page);

/* A member of an object as text for a table cell ("" when absent; numbers
 * without a fraction as integers; true/false; null as "-"). */
const char *cq_ctl_field(
	const cq_jv_t *obj, const char *key, char *buf, size_t size);
/* An integer member, or def. */
int64_t cq_ctl_int(const cq_jv_t *obj, const char *key, int64_t def);
/* Print a value as "path = value" lines, objects flattened. */
void cq_ctl_print_flat(const char *path, const cq_jv_t *v);
/* Print the raw answer and a newline. */
void cq_ctl_print_raw(const cq_ctl_resp_t *resp);
/* 1234567 -> "1.2M"; seconds -> "1h02m". */
void cq_ctl_human_bytes(uint64_t v, char *buf, size_t size);
void cq_ctl_human_duration(uint64_t s, char *buf, size_t size);
/* Unix seconds as "2026-11-25 03:02:05" (local time), "-" for 0. */
void cq_ctl_human_time(uint64_t t, char *buf, size_t size);

#endif /* CQ_CTL_CTL_H */
