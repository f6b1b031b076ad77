/*
 * auth_bench.c — AUTH and ACL questions per second through comqtt-authd,
 * from one client connection, pipelined: what one worker can get out of
 * authd when nothing is cached.
 *
 * It uses the workers' own client library (src/authc/client.h) without
 * the cache (cq_authc_auth()/cq_authc_acl()), keeps 'window' questions in
 * flight, and reports questions per second and how many were allowed,
 * refused or failed.  authd must be running on the socket; see
 * bench/AUTH.md for the setups measured.
 *
 *   auth_bench -s SOCKET [-k auth|acl] [-n COUNT] [-w WINDOW]
 *              [-u USER] [-p PASSWORD] [-t TOPIC] [-c CLIENTS]
 *
 * -c spreads the questions over that many client ids (and topics
 * "TOPIC/<i>"), so a backend cannot answer from a single hot row.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "authc/client.h"
#include "core/log.h"

typedef struct bench {
	struct event_base *base;
	cq_authc_t *c;
	bool acl;
	unsigned long total, sent, done, window, clients;
	unsigned long allowed, refused, failed;
	const char *user, *pass, *topic;
	char names[2][64];
} bench_t;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ask(bench_t *b);

static void
count(bench_t *b, const cq_authc_result_t *res)
{
	b->done++;
	if (res->status == CQ_AUTHC_ALLOW)
		b->allowed++;
	else if (res->status == CQ_AUTHC_DENY)
		b->refused++;
	else
		b->failed++;
}

static void
on_answer(const cq_authc_result_t *res, void *arg)
{
	bench_t *b = arg;
	count(b, res);
	ask(b);
	if (b->done == b->total)
		event_base_loopbreak(b->base);
}

/* Keep the window full. */
static void
ask(bench_t *b)
{
	while (b->sent < b->total && b->sent - b->done < b->window) {
		unsigned long i = b->sent++ % b->clients;
		char client[32], topic[256];
		cq_authc_result_t res;
		int rc;
		snprintf(client, sizeof(client), "bench-%lu", i);
		snprintf(topic, sizeof(topic), "%s/%lu", b->topic, i);
		if (b->acl) {
			cq_authc_acl_req_t r = {.client = client,
				.client_len = strlen(client),
				.user = b->user,
				.user_len = strlen(b->user),
				.topic = topic,
				.topic_len = strlen(topic),
				.access = CQ_AUTHP_ACCESS_WRITE};
			rc = cq_authc_acl(b->c, &r, on_answer, b, NULL, &res);
		} else {
			cq_authc_auth_req_t r = {.client = client,
				.client_len = strlen(client),
				.user = b->user,
				.user_len = strlen(b->user),
				.pass = b->pass,
				.pass_len = strlen(b->pass),
				.addr = "127.0.0.1:1",
				.listener = "tcp"};
			rc = cq_authc_auth(b->c, &r, on_answer, b, NULL, &res);
		}
		if (rc == 0)
			count(b, &res);
	}
}

static void
wait_connected(bench_t *b)
{
	for (int i = 0; i < 1000 && !cq_authc_connected(b->c); i++)
		event_base_loop(b->base, EVLOOP_ONCE);
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: auth_bench -s SOCKET [-k auth|acl] [-n COUNT] "
		"[-w WINDOW]\n"
		"                  [-u USER] [-p PASSWORD] [-t TOPIC] "
		"[-c CLIENTS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	bench_t b = {.total = 100000,
		.window = 256,
		.clients = 1000,
		.user = "bench",
		.pass = "bench",
		.topic = "bench"};
	cq_authc_options_t o = {.auth_timeout_ms = 30000,
		.acl_timeout_ms = 30000,
		.max_inflight = 4096};
	int ch;

	while ((ch = getopt(argc, argv, "s:k:n:w:u:p:t:c:")) != -1) {
		switch (ch) {
		case 's':
			snprintf(o.socket_path, sizeof(o.socket_path), "%s",
				optarg);
			break;
		case 'k':
			b.acl = strcmp(optarg, "acl") == 0;
			break;
		case 'n':
			b.total = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			b.window = strtoul(optarg, NULL, 10);
			break;
		case 'u':
			b.user = optarg;
			break;
		case 'p':
			b.pass = optarg;
			break;
		case 't':
			b.topic = optarg;
			break;
		case 'c':
			b.clients = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (o.socket_path[0] == '\0' || b.total == 0 || b.window == 0 ||
		b.window > o.max_inflight || b.clients == 0)
		usage();
	cq_log_set_level(CQ_LOG_WARN);
	b.base = event_base_new();
	b.c = cq_authc_new(b.base, &o);
	wait_connected(&b);
	if (!cq_authc_connected(b.c)) {
		fprintf(stderr, "auth_bench: cannot connect to %s\n",
			o.socket_path);
		return 1;
	}
	double t0 = now_s();
	ask(&b);
	if (b.done < b.total)
		event_base_dispatch(b.base);
	double dt = now_s() - t0;
	printf("%s: %lu questions in %.3f s: %.0f/s (window %lu, %lu "
	       "clients): %lu allowed, %lu refused, %lu failed\n",
		b.acl ? "ACL" : "AUTH", b.total, dt, (double)b.total / dt,
		b.window, b.clients, b.allowed, b.refused, b.failed);
	cq_authc_free(b.c);
	event_base_free(b.base);
	return b.failed > 0 ? 1 : 0;
}
