/*
 * main.c — comqttd, the master process.
 *
 * Foundation stage: parses the command line and listens on the default MQTT
 * port, but the worker runtime has not landed yet, so every connection is
 * accepted, logged and closed.  The master proper (shm region, prefork
 * workers, supervision) replaces this.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "core/conf.h"
#include "core/log.h"

#define DEFAULT_PORT 1883

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: comqttd [-c FILE] [-t] [-d] [-v] [--workers N] "
		"[--print-config]\n"
		"  -c FILE         configuration file (default: embedded "
		"defaults)\n"
		"  -t              check the configuration and exit\n"
		"  -v              print the version and exit\n"
		"  --workers N     run N workers, whatever the file says\n"
		"  --print-config  print the configuration in effect and "
		"exit\n");
}

/*
 * Load the configuration the command line names; -t and --print-config
 * stop there.  Returns -1 to go on running, else the exit status.  The
 * configuration's error messages are printed here, and only here.
 */
static int
load_config(const cq_config_cmdline_t *cl, int test_only, int print_config,
	cq_config_t *cfg_r)
{
	char *error = NULL;

	if (cq_config_load_cmdline(cl, cfg_r, &error) < 0) {
		fprintf(stderr, "comqttd: %s\n",
			error != NULL ? error : "out of memory");
		free(error);
		return 1;
	}
	if (test_only) {
		if (cl->file != NULL)
			fprintf(stderr, "configuration file %s is valid\n",
				cl->file);
		else
			fprintf(stderr, "the default configuration is valid\n");
	}
	if (print_config && cq_config_print(cfg_r, stdout) < 0) {
		fprintf(stderr, "comqttd: writing the configuration failed\n");
		cq_config_free(cfg_r);
		return 1;
	}
	if (test_only || print_config) {
		cq_config_free(cfg_r);
		return 0;
	}
	return -1;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	int salen, void *arg)
{
	char addr[64] = "?";
	if (sa->sa_family == AF_INET)
		evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
			addr, sizeof(addr));
	cq_log(CQ_LOG_WARN, 0,
		"connection from %s closed: the MQTT runtime is not built yet",
		addr);
	evutil_closesocket(fd);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	cq_log(CQ_LOG_NOTICE, 0, "signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"workers", required_argument, NULL, 'W'},
		{"print-config", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, test_only = 0, print_config = 0, rc;
	cq_config_cmdline_t cl = {NULL, NULL};
	cq_config_t cfg;
	while ((opt = getopt_long(argc, argv, "c:tdvh", longopts, NULL)) !=
		-1) {
		switch (opt) {
		case 'c':
			cl.file = optarg;
			break;
		case 'W':
			cl.workers = optarg;
			break;
		case 'P':
			print_config = 1;
			break;
		case 'd':
			break;
		case 't':
			test_only = 1;
			break;
		case 'v':
			printf("comqttd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 1;
	}
	cq_log_set_ident("master");
	if ((rc = load_config(&cl, test_only, print_config, &cfg)) >= 0)
		return rc;

	struct event_base *base = event_base_new();
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(DEFAULT_PORT),
	};
	struct evconnlistener *l = evconnlistener_new_bind(base, on_accept,
		NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
		(struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL) {
		cq_log(CQ_LOG_CRIT, errno, "bind() to 0.0.0.0:%d failed",
			DEFAULT_PORT);
		cq_config_free(&cfg);
		return 1;
	}
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	cq_log(CQ_LOG_NOTICE, 0,
		"comqttd %s listening on 0.0.0.0:%d (foundation build: "
		"connections "
		"are accepted and closed until the runtime lands)",
		PACKAGE_VERSION, DEFAULT_PORT);
	event_base_dispatch(base);
	event_free(sigint);
	event_free(sigterm);
	evconnlistener_free(l);
	event_base_free(base);
	cq_config_free(&cfg);
	return 0;
}
