/*
 * check_listeners.c — unit tests for the workers' edges: PROXY headers
 * (proxy_proto.c), WebSocket upgrade requests (ws_upgrade.c), the
 * shared rate limiter (ratelimit.c, across processes), and the master's
 * listening sockets (master/listen.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/http.h"
#include "core/netmask.h"
#include "master/listen.h"
#include "t/unit/unit.h"
#include "workers/proxy_proto.h"
#include "workers/ratelimit.h"
#include "workers/ws_upgrade.h"

/* ---- PROXY protocol ----------------------------------------------- */

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static const char *
src_text(const cq_proxy_hdr_t *h, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	if (h->src.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&h->src;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&h->src;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
	return buf;
}

START_TEST(proxy_v1)
{
	static const struct {
		const char *text;
		const char *src; /* NULL: local */
	} good[] = {
		{"PROXY TCP4 203.0.113.7 192.0.2.1 4567 1883\r\n",
			"203.0.113.7:4567"},
		{"PROXY TCP6 2001:db8::7 ::1 65535 1\r\n",
			"[2001:db8::7]:65535"},
		{"PROXY UNKNOWN\r\n", NULL},
		{"PROXY UNKNOWN ff::1 ff::2 1 2\r\n", NULL},
	};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(good); i++) {
		const uint8_t *b = (const uint8_t *)good[i].text;
		size_t n = strlen(good[i].text), used = 0;
		cq_proxy_hdr_t h;
		const char *why = NULL;
		for (size_t k = 0; k < n; k++)
			ck_assert_int_eq(cq_proxy_parse(b, k, &h, &used, &why),
				CQ_AGAIN);
		ck_assert_msg(cq_proxy_parse(b, n, &h, &used, &why) == 0,
			"%s: %s", good[i].text, why);
		ck_assert_uint_eq(used, n);
		char text[80];
		if (good[i].src == NULL)
			ck_assert(h.local);
		else
			ck_assert_str_eq(
				src_text(&h, text, sizeof(text)), good[i].src);
	}
	/* Bytes after the header are not part of it. */
	const char *more = "PROXY UNKNOWN\r\n\x10\x0c";
	size_t used = 0;
	cq_proxy_hdr_t h;
	const char *why;
	ck_assert_int_eq(cq_proxy_parse((const uint8_t *)more, strlen(more), &h,
				 &used, &why),
		0);
	ck_assert_uint_eq(used, 15);
}
END_TEST

START_TEST(proxy_v1_refusals)
{
	static const char *const bad[] = {
		"PROXX ",
		"GET / HTTP/1.1\r\n",
		"\x10\x0c\x00\x04MQTT",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
		"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 \x01\r\n",
	};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(bad); i++) {
		cq_proxy_hdr_t h;
		size_t used;
		const char *why = NULL;
		ck_assert_msg(cq_proxy_parse((const uint8_t *)bad[i],
				      strlen(bad[i]), &h, &used, &why) == -1,
			"case %zu accepted", i);
		ck_assert_ptr_nonnull(why);
	}
	char longer[200];
	memset(longer, '1', sizeof(longer));
	memcpy(longer, "PROXY TCP4 ", 11);
	cq_proxy_hdr_t h;
	size_t used;
	const char *why;
	ck_assert_int_eq(cq_proxy_parse((const uint8_t *)longer, sizeof(longer),
				 &h, &used, &why),
		-1);
	ck_assert_str_eq(why, "PROXY v1: line longer than 107 bytes");
}
END_TEST

static size_t
v2(uint8_t *buf, uint8_t cmd, uint8_t fam, const uint8_t *body, size_t n)
{
	memcpy(buf, sig, 12);
	buf[12] = (uint8_t)(0x20 | cmd);
	buf[13] = fam;
	buf[14] = (uint8_t)(n >> 8);
	buf[15] = (uint8_t)n;
	memcpy(buf + 16, body, n);
	return 16 + n;
}

START_TEST(proxy_v2)
{
	uint8_t buf[600], body[64] = {0};
	/* IPv4 203.0.113.7:4567 -> 192.0.2.1:1883, with a TLV after. */
	const uint8_t a4[] = {203, 0, 113, 7, 192, 0, 2, 1, 0x11, 0xd7, 0x07,
		0x5b, 0x01, 0x00, 0x02, 'h', '2'};
	size_t n = v2(buf, 1, 0x11, a4, sizeof(a4));
	cq_proxy_hdr_t h;
	size_t used = 0;
	const char *why = NULL;
	for (size_t k = 0; k < n; k++)
		ck_assert_int_eq(
			cq_proxy_parse(buf, k, &h, &used, &why), CQ_AGAIN);
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), 0);
	ck_assert_uint_eq(used, n);
	char text[80];
	ck_assert_str_eq(src_text(&h, text, sizeof(text)), "203.0.113.7:4567");

	inet_pton(AF_INET6, "2001:db8::9", body);
	body[32] = 0x11;
	body[33] = 0xd8;
	n = v2(buf, 1, 0x21, body, 36);
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), 0);
	ck_assert_str_eq(
		src_text(&h, text, sizeof(text)), "[2001:db8::9]:4568");

	n = v2(buf, 0, 0x00, body, 0); /* LOCAL */
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), 0);
	ck_assert(h.local);
	n = v2(buf, 1, 0x31, body, 40); /* AF_UNIX: keep the socket's */
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), 0);
	ck_assert(h.local);

	/* Refusals. */
	n = v2(buf, 1, 0x11, a4, 4);
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), -1);
	ck_assert_str_eq(why, "PROXY v2: addresses cut short");
	n = v2(buf, 2, 0x11, a4, 12);
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), -1);
	n = v2(buf, 1, 0x12, a4, 12); /* datagram */
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), -1);
	n = v2(buf, 1, 0x11, a4, 12);
	buf[12] = 0x11; /* version 1 in a v2 signature */
	ck_assert_int_eq(cq_proxy_parse(buf, n, &h, &used, &why), -1);
	buf[12] = 0x21;
	buf[14] = 0x10; /* 4096 bytes of body announced */
	ck_assert_int_eq(cq_proxy_parse(buf, 16, &h, &used, &why), -1);
	ck_assert_str_eq(why, "PROXY v2: header longer than 528 bytes");
	buf[5] = 'x';
	ck_assert_int_eq(cq_proxy_parse(buf, 8, &h, &used, &why), -1);
}
END_TEST

/* The reader takes exactly the header from a socket, whatever follows. */
START_TEST(proxy_read_stops_at_the_header)
{
	int sv[2];
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	const char *data = "PROXY TCP4 1.2.3.4 5.6.7.8 10 20\r\nMQTT";
	cq_proxy_reader_t r = {.len = 0};
	cq_proxy_hdr_t h;
	const char *why;
	ck_assert_int_eq(cq_proxy_read(sv[1], &r, &h, &why), CQ_AGAIN);
	ck_assert_int_eq(write(sv[0], data, 12), 12);
	ck_assert_int_eq(cq_proxy_read(sv[1], &r, &h, &why), CQ_AGAIN);
	ck_assert_int_eq(write(sv[0], data + 12, strlen(data) - 12),
		(ssize_t)(strlen(data) - 12));
	ck_assert_int_eq(cq_proxy_read(sv[1], &r, &h, &why), 0);
	char rest[8] = {0};
	ck_assert_int_eq(read(sv[1], rest, sizeof(rest)), 4);
	ck_assert_str_eq(rest, "MQTT");

	uint8_t buf[64];
	const uint8_t a4[] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
	size_t n = v2(buf, 1, 0x11, a4, sizeof(a4));
	memcpy(buf + n, "\x10\x02", 2);
	ck_assert_int_eq(write(sv[0], buf, n + 2), (ssize_t)(n + 2));
	r.len = 0;
	ck_assert_int_eq(cq_proxy_read(sv[1], &r, &h, &why), 0);
	ck_assert_int_eq(read(sv[1], rest, sizeof(rest)), 2);

	r.len = 0;
	ck_assert_int_eq(write(sv[0], "PROXY TC", 8), 8);
	close(sv[0]);
	ck_assert_int_eq(cq_proxy_read(sv[1], &r, &h, &why), -1);
	ck_assert_str_eq(why, "connection closed inside the PROXY header");
	close(sv[1]);
}
END_TEST

/* ---- WebSocket upgrade -------------------------------------------- */

/* Parse a complete request head, which must be valid HTTP. */
static void
parse_ok(const char *text, cq_http_req_t *req)
{
	int status;
	const char *why = NULL;
	ck_assert_msg(cq_http_parse(text, strlen(text), 8192, req, &status,
			      &why) == 0,
		"%s: %s", text, why);
}

static int
judge(const char *request, cq_ws_upgrade_t *u)
{
	cq_http_req_t req;
	parse_ok(request, &req);
	cq_ws_upgrade_check(&req, "/mqtt", u);
	return u->status;
}

#define UPGRADE(extra)                                                         \
	"GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"              \
	"Connection: Upgrade\r\nSec-WebSocket-Key: "                           \
	"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" extra      \
	"\r\n"

START_TEST(ws_upgrade_rules)
{
	cq_ws_upgrade_t u;
	/* RFC 6455's example key and answer. */
	ck_assert_int_eq(
		judge(UPGRADE("Sec-WebSocket-Protocol: mqtt\r\n"), &u), 101);
	ck_assert_str_eq(u.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_str_eq(u.protocol, "mqtt");
	ck_assert_int_eq(
		judge(UPGRADE("Sec-WebSocket-Protocol: mqttv3.1\r\n"), &u),
		101);
	ck_assert_str_eq(u.protocol, "mqttv3.1");
	ck_assert_int_eq(judge(UPGRADE(""), &u), 101);
	ck_assert_ptr_null(u.protocol);
	ck_assert_int_eq(judge(UPGRADE("Sec-WebSocket-Protocol: a\r\n"
				       "Sec-WebSocket-Protocol: b, MQTT\r\n"),
				 &u),
		101);
	ck_assert_int_eq(
		judge(UPGRADE("Sec-WebSocket-Protocol: wamp\r\n"), &u), 400);
	char buf[512];
	size_t n = cq_ws_upgrade_response(&u, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);

	ck_assert_int_eq(
		judge("GET /mqtt HTTP/1.1\r\nHost: h\r\n\r\n", &u), 426);
	n = cq_ws_upgrade_response(&u, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "Sec-WebSocket-Version: 13\r\n"));
	ck_assert_int_eq(
		judge("POST /mqtt HTTP/1.1\r\nHost: h\r\n\r\n", &u), 405);
	ck_assert_int_eq(judge("GET /x HTTP/1.1\r\nHost: h\r\n\r\n", &u), 404);
	ck_assert_int_eq(judge("GET /mqtt HTTP/1.1\r\nHost: h\r\n"
			       "Upgrade: h2c\r\nConnection: upgrade\r\n\r\n",
				 &u),
		400);
	ck_assert_int_eq(
		judge("GET /mqtt HTTP/1.1\r\nHost: h\r\n"
		      "Upgrade: websocket\r\nConnection: close\r\n\r\n",
			&u),
		400);
	ck_assert_int_eq(judge("GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\n"
			       "Connection: Upgrade\r\n\r\n",
				 &u),
		400);
}
END_TEST

START_TEST(ws_upgrade_keys)
{
	static const char *const bad[] = {
		"Sec-WebSocket-Key: short==\r\n",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=x\r\n",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j!Q==\r\n",
	};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(bad); i++) {
		char req[512];
		snprintf(req, sizeof(req),
			"GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: "
			"websocket\r\n"
			"Connection: Upgrade\r\n%sSec-WebSocket-Version: 13\r\n"
			"\r\n",
			bad[i]);
		cq_ws_upgrade_t u;
		ck_assert_int_eq(judge(req, &u), 400);
	}
	cq_ws_upgrade_t u;
	ck_assert_int_eq(judge(UPGRADE("Sec-WebSocket-Key: "
				       "dGhlIHNhbXBsZSBub25jZQ==\r\n"),
				 &u),
		400); /* two keys */
	char req[512];
	snprintf(req, sizeof(req), "%s", UPGRADE(""));
	char *v = strstr(req, "Version: 13");
	memcpy(v, "Version: 08", 11);
	ck_assert_int_eq(judge(req, &u), 426);
}
END_TEST

START_TEST(ws_forwarded_for)
{
	cq_cfg_strlist_t trusted = {0};
	char *items[] = {"127.0.0.1", "10.0.0.0/8"};
	trusted.items = items;
	trusted.n = 2;
	static const struct {
		const char *headers;
		int rc;
		const char *addr;
	} cases[] = {
		{"X-Forwarded-For: 198.51.100.7\r\n", 1, "198.51.100.7"},
		{"X-Forwarded-For: 198.51.100.7, 10.1.1.1\r\n", 1,
			"198.51.100.7"},
		{"X-Forwarded-For: 1.1.1.1, 198.51.100.8\r\n", 1,
			"198.51.100.8"},
		{"X-Forwarded-For: 198.51.100.9\r\n"
		 "X-Forwarded-For: 10.0.0.1\r\n",
			1, "198.51.100.9"},
		{"X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n", 0, NULL},
		{"X-Forwarded-For: unknown\r\n", -1, NULL},
		{"", 0, NULL},
		{"X-Forwarded-For: 2001:db8::1\r\n", 1, "2001:db8::1"},
	};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(cases); i++) {
		char text[512];
		snprintf(text, sizeof(text), "GET / HTTP/1.1\r\n%s\r\n",
			cases[i].headers);
		cq_http_req_t req;
		parse_ok(text, &req);
		struct sockaddr_storage ss;
		socklen_t len;
		ck_assert_int_eq(cq_ws_forwarded_for(&req, &trusted, &ss, &len),
			cases[i].rc);
		if (cases[i].addr == NULL)
			continue;
		cq_netmask_t m;
		ck_assert_int_eq(cq_netmask_parse(cases[i].addr, &m), 0);
		ck_assert_msg(cq_netmask_match(&m, (struct sockaddr *)&ss),
			"case %zu", i);
	}
}
END_TEST

/* ---- rate limit --------------------------------------------------- */

static struct sockaddr_in
ip4(const char *text)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, text, &in.sin_addr);
	return in;
}

START_TEST(ratelimit_bucket)
{
	ck_assert_int_eq(cq_ratelimit_create(1024), 0);
	struct sockaddr_in a = ip4("192.0.2.1"), b = ip4("192.0.2.2");
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	uint64_t t0 = 1000000;
	for (int i = 0; i < 3; i++)
		ck_assert(cq_ratelimit_take(0, sa, 2, 3, t0));
	ck_assert(!cq_ratelimit_take(0, sa, 2, 3, t0));
	/* Another address, another listener: other buckets. */
	ck_assert(cq_ratelimit_take(0, (struct sockaddr *)&b, 2, 3, t0));
	ck_assert(cq_ratelimit_take(1, sa, 2, 3, t0));
	/* 2 per second: one token after 500 ms, not before. */
	ck_assert(!cq_ratelimit_take(0, sa, 2, 3, t0 + 499));
	ck_assert(cq_ratelimit_take(0, sa, 2, 3, t0 + 500));
	ck_assert(!cq_ratelimit_take(0, sa, 2, 3, t0 + 500));
	/* A clock read a little earlier by another worker is not a
	 * wrap-around that refills the bucket. */
	ck_assert(!cq_ratelimit_take(0, sa, 2, 3, t0 + 400));
	/* Never more than the burst. */
	for (int i = 0; i < 3; i++)
		ck_assert(cq_ratelimit_take(0, sa, 2, 3, t0 + 100000));
	ck_assert(!cq_ratelimit_take(0, sa, 2, 3, t0 + 100000));
	/* Unix peers and a disabled limit always pass. */
	struct sockaddr un = {.sa_family = AF_UNIX};
	ck_assert(cq_ratelimit_take(0, &un, 1, 1, t0));
	ck_assert(cq_ratelimit_take(0, sa, 0, 0, t0));
}
END_TEST

/* The table is shared: buckets drained in a child are empty here. */
START_TEST(ratelimit_shared_across_fork)
{
	ck_assert_int_eq(cq_ratelimit_create(1024), 0);
	struct sockaddr_in a = ip4("198.51.100.1");
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < 5; i++)
			cq_ratelimit_take(0, sa, 1, 5, 5000);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(!cq_ratelimit_take(0, sa, 1, 5, 5000));
}
END_TEST

/* A full table lets connections through (and counts them). */
START_TEST(ratelimit_full_table)
{
	ck_assert_int_eq(cq_ratelimit_create(64), 0);
	uint64_t before = cq_ratelimit_overflows();
	for (unsigned i = 0; i < 2000; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
			.sin_addr.s_addr = htonl(0x0a000000u + i)};
		ck_assert(cq_ratelimit_take(
			0, (struct sockaddr *)&a, 1, 1, 7000));
	}
	ck_assert_uint_gt(cq_ratelimit_overflows(), before);
	/* A minute later the slots may be reused. */
	struct sockaddr_in a = ip4("192.0.2.99");
	uint64_t o = cq_ratelimit_overflows();
	ck_assert(cq_ratelimit_take(0, (struct sockaddr *)&a, 1, 1, 70000));
	ck_assert(!cq_ratelimit_take(0, (struct sockaddr *)&a, 1, 1, 70000));
	ck_assert_uint_eq(cq_ratelimit_overflows(), o);
}
END_TEST

/* ---- listening sockets ----------------------------------------------- */

/* A connection accepted on any of the master's TCP sockets (reuseport
 * slots, handoff) has TCP_NODELAY without a setsockopt of its own: the
 * listener's is inherited (workers write once per loop iteration). */
static void
accepted_nodelay(int lfd)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&bound, &blen), 0);
	int c = socket(bound.ss_family, SOCK_STREAM, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&bound, blen), 0);
	int a = -1;
	for (int i = 0; i < 1000 && a < 0; i++) {
		a = accept(lfd, NULL, NULL);
		if (a < 0)
			usleep(1000);
	}
	ck_assert_int_ge(a, 0);
	int on = 0;
	socklen_t olen = sizeof(on);
	ck_assert_int_eq(
		getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, &olen), 0);
	ck_assert_int_eq(on, 1);
	close(a);
	close(c);
}

START_TEST(listener_nodelay_inherited)
{
	const char *err = NULL;
	for (int handoff = 0; handoff <= 1; handoff++) {
		cq_listener_t l;
		memset(&l, 0, sizeof(l));
		l.fd = -1;
		for (unsigned i = 0; i < CQ_MAX_WORKERS; i++)
			l.slot_fds[i] = -1;
		l.spec.name = "t";
		l.spec.address = "127.0.0.1:0";
		l.spec.handoff = handoff;
		l.spec.pinned_slot = -1;
		ck_assert_msg(cq_listen_open(&l, 2, &err) == 0, "%s", err);
		if (handoff) {
			accepted_nodelay(l.fd);
		} else {
			ck_assert_uint_eq(l.nslots, 2);
			/* Port 0: each slot has a port of its own here. */
			accepted_nodelay(l.slot_fds[0]);
			accepted_nodelay(l.slot_fds[1]);
		}
		cq_listen_close(&l);
	}
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("listeners");
	TCase *tc = tcase_create("listeners");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, proxy_v1);
	tcase_add_test(tc, proxy_v1_refusals);
	tcase_add_test(tc, proxy_v2);
	tcase_add_test(tc, proxy_read_stops_at_the_header);
	tcase_add_test(tc, ws_upgrade_rules);
	tcase_add_test(tc, ws_upgrade_keys);
	tcase_add_test(tc, ws_forwarded_for);
	tcase_add_test(tc, ratelimit_bucket);
	tcase_add_test(tc, ratelimit_shared_across_fork);
	tcase_add_test(tc, ratelimit_full_table);
	tcase_add_test(tc, listener_nodelay_inherited);
	suite_add_tcase(s, tc);
	return s;
}
