/*
 * main.c — the comqtt-authd program: authd on its own, for debugging or
 * another supervisor (comqttd normally forks it; see authd.h).
 *
 *   comqtt-authd -c FILE      serve (the auth: section of comqtt.yml)
 *   comqtt-authd -t -c FILE   check the file and the backends' settings
 *   comqtt-authd --hash N     print the stored form of a password read
 *                             from stdin under scheme N (0..8), for
 *                             filling ledgers and user tables
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authc/auth-protocol.h"
#include "core/log.h"
#include "plugins/authd/authd.h"
#include "plugins/authd/password.h"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: comqtt-authd [-c FILE] [-t] [-v] [--hash N [--key K]]\n"
		"  -c FILE     configuration file (its auth: section)\n"
		"  -t          check the configuration and the backends' "
		"settings, then exit\n"
		"  -v          print the version and exit\n"
		"  --hash N    print the stored form of the password on "
		"stdin\n"
		"              under password_hash N (0..8)\n"
		"  --key K     the HMAC key for --hash 6, 7 and 8\n");
}

/* --hash: one line from stdin (without its newline) -> stdout. */
static int
print_hash(const char *scheme_text, const char *key)
{
	char pass[4096], out[CQ_PASSWORD_HASH_MAX];
	char *end;
	long scheme = strtol(scheme_text, &end, 10);

	if (*end != '\0' || scheme < 0 || scheme >= CQ_PASSWORD_SCHEME_COUNT) {
		fprintf(stderr, "comqtt-authd: --hash takes 0 to 8\n");
		return 2;
	}
	if (fgets(pass, sizeof(pass), stdin) == NULL) {
		fprintf(stderr, "comqtt-authd: no password on stdin\n");
		return 1;
	}
	pass[strcspn(pass, "\n")] = '\0';
	if (cq_password_hash((int)scheme, pass, strlen(pass), key,
		    key ? strlen(key) : 0, out, sizeof(out)) < 0) {
		fprintf(stderr, "comqtt-authd: cannot hash with %s\n",
			cq_password_scheme_name((int)scheme));
		return 1;
	}
	printf("%s\n", out);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"hash", required_argument, NULL, 'H'},
		{"key", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	cq_authd_args_t args = {.death_fd = -1, .open_log = true};

	cq_log_set_ident("authd");
	const char *hash = NULL, *key = NULL;
	int test_only = 0, c;

	while ((c = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			args.config_path = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'v':
			printf("comqtt-authd %s (protocol %u.%u)\n",
				PACKAGE_VERSION, CQ_AUTHP_VERSION_MAJOR,
				CQ_AUTHP_VERSION_MINOR);
			return 0;
		case 'H':
			hash = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (hash != NULL)
		return print_hash(hash, key);
	if (test_only) {
		char *error = NULL;
		if (cq_authd_check(args.config_path, &error) < 0) {
			fprintf(stderr, "comqtt-authd: %s\n",
				error ? error : "out of memory");
			free(error);
			return 1;
		}
		printf("configuration file %s is valid\n",
			args.config_path ? args.config_path : "(defaults)");
		return 0;
	}
	return cq_authd_run(&args);
}
