/*
 * main.c — comqttctl: options, settings files, dispatch (ctl.h).
 *
 * Where the broker is and its token come from, first match wins: the
 * command line (-H, -t), the environment (COMQTTCTL_HOST,
 * COMQTTCTL_TOKEN), a file named with -c, ~/.config/comqttctl.conf
 * ($XDG_CONFIG_HOME), <sysconfdir>/comqtt/comqttctl.conf, and for the token
 * last of all the broker's own token file, <localstatedir>/lib/comqtt/
 * admin.token, when this user may read it.  Settings files hold
 * "key = value" lines: host, token, token_file, tls, insecure, cacert,
 * cert, key, timeout; '#' starts a comment.
 */
#include "config.h"
#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define DEFAULT_HOST       "127.0.0.1:8080"
#define DEFAULT_TOKEN_FILE CQ_LOCALSTATEDIR "/lib/comqtt/admin.token"
#define SYSTEM_CONF        CQ_SYSCONFDIR "/comqtt/comqttctl.conf"

typedef struct settings {
	char host[256];
	char token[260];
	char token_file[4096];
	int tls, insecure; /* -1: not set */
	char cacert[4096];
	char cert[4096], key[4096]; /* client certificate (admin.tls) */
	long timeout_s;
} settings_t;

static const struct {
	const char *name;
	int (*fn)(const cq_ctl_t *c, int argc, char **argv);
} commands[] = {
	{"status", cq_ctl_cmd_status},
	{"clients", cq_ctl_cmd_clients},
	{"subs", cq_ctl_cmd_subs},
	{"retained", cq_ctl_cmd_retained},
	{"blacklist", cq_ctl_cmd_blacklist},
	{"publish", cq_ctl_cmd_publish},
	{"config", cq_ctl_cmd_config},
	{"metrics", cq_ctl_cmd_metrics},
	{"reload", cq_ctl_cmd_reload},
	{"stop", cq_ctl_cmd_stop},
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: comqttctl [-H host:port] [-t token] [-c file] [--json] "
		"[--tls [-k] [--cacert file]\n"
		"                 [--cert file [--key file]]] [--timeout "
		"seconds] command [arguments]\n"
		"commands:\n"
		"  status\n"
		"  clients [list] [-q substring] [--online|--offline] "
		"[--page n] [--page-size n]\n"
		"  clients show ID | clients kick ID\n"
		"  subs ID\n"
		"  retained [list] [-q substring] [--payload] | retained show "
		"TOPIC | retained delete TOPIC\n"
		"  blacklist [list] | blacklist add ID | blacklist remove ID\n"
		"  publish TOPIC PAYLOAD [-q qos] [-r]\n"
		"  config | metrics | reload | stop\n"
		"exit status: 0 done, 1 usage, 2 broker unreachable, 3 not "
		"found, 4 bad token, 5 other error\n");
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
set_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
		strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
		strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
apply(settings_t *s, const char *k, const char *v)
{
	if (strcmp(k, "host") == 0)
		snprintf(s->host, sizeof(s->host), "%s", v);
	else if (strcmp(k, "token") == 0)
		snprintf(s->token, sizeof(s->token), "%s", v);
	else if (strcmp(k, "token_file") == 0)
		snprintf(s->token_file, sizeof(s->token_file), "%s", v);
	else if (strcmp(k, "cacert") == 0)
		snprintf(s->cacert, sizeof(s->cacert), "%s", v);
	else if (strcmp(k, "cert") == 0)
		snprintf(s->cert, sizeof(s->cert), "%s", v);
	else if (strcmp(k, "key") == 0)
		snprintf(s->key, sizeof(s->key), "%s", v);
	else if (strcmp(k, "tls") == 0)
		return set_bool(v, &s->tls);
	else if (strcmp(k, "insecure") == 0)
		return set_bool(v, &s->insecure);
	else if (strcmp(k, "timeout") == 0)
		return (s->timeout_s = strtol(v, NULL, 10)) > 0 ? 0 : -1;
	else
		return -1;
	return 0;
}

/* Read a settings file; a missing optional one is fine.  0 or -1. */
static int
read_settings(const char *path, bool required, settings_t *s)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (!required && (errno == ENOENT || errno == EACCES))
			return 0;
		fprintf(stderr, "comqttctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[8192];
	int n = 0, rc = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *l = trim(line);
		char *eq = strpbrk(l, "=:");
		if (*l == '\0')
			continue;
		if (eq != NULL)
			*eq = '\0';
		if (eq == NULL || apply(s, trim(l), trim(eq + 1)) < 0) {
			fprintf(stderr,
				"comqttctl: %s:%d: expected key = value "
				"(host, token, token_file, tls, insecure, "
				"cacert, cert, key, timeout)\n",
				path, n);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

/* The first line of a token file, if this user may read it. */
static void
token_from_file(const char *path, char *tok, size_t size)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	if (fgets(tok, (int)size, f) != NULL)
		tok[strcspn(tok, "\r\n")] = '\0';
	else
		tok[0] = '\0';
	fclose(f);
}

static int
load_settings(settings_t *s, const char *file)
{
	char user[4096];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int rc = read_settings(SYSTEM_CONF, false, s);
	if (xdg != NULL && xdg[0] != '\0')
		snprintf(user, sizeof(user), "%s/comqttctl.conf", xdg);
	else
		snprintf(user, sizeof(user), "%s/.config/comqttctl.conf",
			home != NULL ? home : "");
	if (rc == 0)
		rc = read_settings(user, false, s);
	if (rc == 0 && file != NULL)
		rc = read_settings(file, true, s);
	return rc;
}

/* Take "--json" out of argv wherever it is (before "--"). */
static bool
take_json_flag(int *argc, char **argv)
{
	bool found = false;
	int out = 1;
	bool rest = false;
	for (int i = 1; i < *argc; i++) {
		if (!rest && strcmp(argv[i], "--json") == 0) {
			found = true;
			continue;
		}
		rest = rest || strcmp(argv[i], "--") == 0;
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return found;
}

/* Global options into s and c; returns the index of the command, or -1
 * (an exit status in *rc_r). */
static int
options(int argc, char **argv, settings_t *cl, const char **file_r, int *rc_r)
{
	static const struct option opts[] = {{"host", 1, NULL, 'H'},
		{"token", 1, NULL, 't'}, {"config", 1, NULL, 'c'},
		{"tls", 0, NULL, 'T'}, {"insecure", 0, NULL, 'k'},
		{"cacert", 1, NULL, 'C'}, {"cert", 1, NULL, 'E'},
		{"key", 1, NULL, 'K'}, {"timeout", 1, NULL, 'W'},
		{"help", 0, NULL, 'h'}, {"version", 0, NULL, 'v'},
		{NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "+H:t:c:khv", opts, NULL)) != -1) {
		if (strchr("HtCEKW", o) != NULL) {
			const char *k = o == 'H' ? "host"
				: o == 't'       ? "token"
				: o == 'C'       ? "cacert"
				: o == 'E'       ? "cert"
				: o == 'K'       ? "key"
						 : "timeout";
			if (apply(cl, k, optarg) == 0)
				continue;
		} else if (o == 'c') {
			*file_r = optarg;
			continue;
		} else if (o == 'T' || o == 'k') {
			cl->tls = o == 'T' ? 1 : cl->tls;
			cl->insecure = o == 'k' ? 1 : cl->insecure;
			continue;
		} else if (o == 'h' || o == 'v') {
			if (o == 'h')
				usage(stdout);
			else
				printf("comqttctl %s\n", PACKAGE_VERSION);
			*rc_r = CQ_CTL_EXIT_OK;
			return -1;
		}
		usage(stderr);
		*rc_r = CQ_CTL_EXIT_USAGE;
		return -1;
	}
	if (optind >= argc) {
		usage(stderr);
		*rc_r = CQ_CTL_EXIT_USAGE;
		return -1;
	}
	return optind;
}

/* Command line over environment over files; the token file last. */
static void
resolve(cq_ctl_t *c, const settings_t *cl, const settings_t *files)
{
	const char *eh = getenv("COMQTTCTL_HOST"),
		   *et = getenv("COMQTTCTL_TOKEN");
	const char *host = cl->host[0] ? cl->host
		: eh && eh[0]          ? eh
		: files->host[0]       ? files->host
				       : DEFAULT_HOST;
	snprintf(c->host, sizeof(c->host), "%s", host);
	if (cl->token[0])
		snprintf(c->token, sizeof(c->token), "%s", cl->token);
	else if (et != NULL && et[0] != '\0')
		snprintf(c->token, sizeof(c->token), "%s", et);
	else if (files->token[0])
		snprintf(c->token, sizeof(c->token), "%s", files->token);
	else
		token_from_file(files->token_file[0] ? files->token_file
						     : DEFAULT_TOKEN_FILE,
			c->token, sizeof(c->token));
	c->tls = cl->tls == 1 || (cl->tls < 0 && files->tls == 1);
	c->insecure = cl->insecure == 1 ||
		(cl->insecure < 0 && files->insecure == 1);
	snprintf(c->cacert, sizeof(c->cacert), "%s",
		cl->cacert[0] ? cl->cacert : files->cacert);
	snprintf(c->cert, sizeof(c->cert), "%s",
		cl->cert[0] ? cl->cert : files->cert);
	snprintf(c->key, sizeof(c->key), "%s",
		cl->key[0] ? cl->key : files->key);
	c->timeout_ms = 1000 *
		(cl->timeout_s > 0                     ? cl->timeout_s
				: files->timeout_s > 0 ? files->timeout_s
						       : 30);
}

int
main(int argc, char **argv)
{
	settings_t cl = {.tls = -1, .insecure = -1};
	settings_t files = {.tls = -1, .insecure = -1};
	const char *file = NULL;
	cq_ctl_t c = {0};
	int rc = CQ_CTL_EXIT_USAGE;
	c.json = take_json_flag(&argc, argv);
	int cmd = options(argc, argv, &cl, &file, &rc);
	if (cmd < 0)
		return rc;
	if (load_settings(&files, file) < 0)
		return CQ_CTL_EXIT_USAGE;
	resolve(&c, &cl, &files);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[cmd], commands[i].name) != 0)
			continue;
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = commands[i].fn(&c, argc - cmd, argv + cmd);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "comqttctl: unknown command \"%s\"\n", argv[cmd]);
	usage(stderr);
	return CQ_CTL_EXIT_USAGE;
}
