/*
 * check_auth_client.c — the workers' client library (src/authc/client.h)
 * against a fake authd in the same process and loop: handshake,
 * pipelining with out-of-order replies, deadlines, a dropped connection
 * failing every question closed, reconnection, version mismatch, the
 * in-flight cap, cancellation, and the shared-memory cache in front
 * (hits, invalidation, serving while authd is down).
 *
 * No timing thresholds: deadlines are short and the loop runs until the
 * expected callbacks came, bounded in iterations.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "authc/client.h"
#include "shm/authcache.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

#define MAXQ 256

/* ---- a fake authd ------------------------------------------------- */

typedef struct fake {
	struct evconnlistener *listener;
	struct bufferevent *bev;
	const char *greeting;
	unsigned accepted;
	bool saw_version;
	unsigned nq; /* questions seen */
	uint32_t ids[MAXQ];
	char cmds[MAXQ][8];
} fake_t;

static struct event_base *base;
static fake_t fk;
static char dir[64], sock[96];

static void
fake_read(struct bufferevent *bev, void *arg)
{
	fake_t *f = arg;
	char *line;
	size_t n;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
			EVBUFFER_EOL_LF)) != NULL) {
		if (strncmp(line, "VERSION\t", 8) == 0) {
			f->saw_version = true;
		} else if (f->nq < MAXQ) {
			char *tab = strchr(line, '\t');
			snprintf(f->cmds[f->nq], sizeof(f->cmds[0]), "%.*s",
				(int)(tab ? tab - line : 0), line);
			f->ids[f->nq++] = (uint32_t)strtoul(tab + 1, NULL, 10);
		}
		free(line);
	}
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	fake_t *f = arg;
	(void)what;
	if (f->bev == bev) {
		bufferevent_free(bev);
		f->bev = NULL;
	}
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	int len, void *arg)
{
	fake_t *f = arg;
	(void)l;
	(void)sa;
	(void)len;
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	f->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_read, NULL, fake_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	f->accepted++;
	f->saw_version = false;
	f->nq = 0;
	if (f->greeting != NULL)
		bufferevent_write(f->bev, f->greeting, strlen(f->greeting));
}

static void
fake_start(const char *greeting)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	unlink(sock);
	fk.greeting = greeting;
	fk.listener = evconnlistener_new_bind(base, fake_accept, &fk,
		LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun,
		sizeof(sun));
	ck_assert_ptr_nonnull(fk.listener);
}

static void
fake_stop(void)
{
	if (fk.bev != NULL)
		bufferevent_free(fk.bev);
	fk.bev = NULL;
	if (fk.listener != NULL)
		evconnlistener_free(fk.listener);
	fk.listener = NULL;
	unlink(sock);
}

static void fake_send(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void
fake_send(const char *fmt, ...)
{
	va_list ap;
	ck_assert_ptr_nonnull(fk.bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(fk.bev), fmt, ap);
	va_end(ap);
}

/* ---- the client side -------------------------------------------------- */

typedef struct got {
	int calls;
	cq_authc_result_t res;
	char reason[128];
} got_t;

static void
on_result(const cq_authc_result_t *res, void *arg)
{
	got_t *g = arg;
	g->calls++;
	g->res = *res;
	snprintf(g->reason, sizeof(g->reason), "%s",
		res->reason ? res->reason : "");
	g->res.reason = g->reason;
}

/* Run the loop until cond(arg) or the bound. */
static bool
spin(bool (*cond)(void *), void *arg)
{
	for (int i = 0; i < 20000; i++) {
		if (cond(arg))
			return true;
		event_base_loop(base, EVLOOP_ONCE);
	}
	return cond(arg);
}

static bool
is_connected(void *c)
{
	return cq_authc_connected(c);
}

static bool
not_connected(void *c)
{
	return !cq_authc_connected(c);
}

static bool
has_questions(void *n)
{
	return fk.nq >= *(unsigned *)n;
}

static bool
was_called(void *g)
{
	return ((got_t *)g)->calls > 0;
}

static bool
all_called(void *arg)
{
	got_t *g = arg;
	for (int i = 0; i < 50; i++)
		if (g[i].calls == 0)
			return false;
	return true;
}

static cq_authc_options_t
options(uint32_t timeout_ms, uint32_t max_inflight)
{
	cq_authc_options_t o = {.auth_timeout_ms = timeout_ms,
		.acl_timeout_ms = timeout_ms,
		.max_inflight = max_inflight,
		.use_cache = true};
	snprintf(o.socket_path, sizeof(o.socket_path), "%s", sock);
	return o;
}

static cq_authc_t *
connected_client(uint32_t timeout_ms, uint32_t max_inflight)
{
	cq_authc_options_t o = options(timeout_ms, max_inflight);
	cq_authc_t *c = cq_authc_new(base, &o);
	ck_assert_ptr_nonnull(c);
	ck_assert(spin(is_connected, c));
	return c;
}

static cq_authc_acl_req_t
acl_req(const char *topic, char access)
{
	cq_authc_acl_req_t r = {.client = "cl",
		.client_len = 2,
		.user = "u",
		.user_len = 1,
		.topic = topic,
		.topic_len = strlen(topic),
		.access = access,
		.addr = "127.0.0.1:5"};
	return r;
}

static int
ask_acl(cq_authc_t *c, const char *topic, got_t *g, uint32_t *h)
{
	cq_authc_acl_req_t r = acl_req(topic, 'w');
	return cq_authc_check_acl(c, &r, on_result, g, h, &g->res);
}

static void
setup(void)
{
	base = event_base_new();
	memset(&fk, 0, sizeof(fk));
	snprintf(dir, sizeof(dir), "/tmp/cqauthc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/authd.sock", dir);
}

static void
teardown(void)
{
	fake_stop();
	rmdir(dir);
	event_base_free(base);
}

/* ---- tests ---------------------------------------------------------- */

/* 50 questions on one connection, answered in reverse order, each
 * matched to its own callback by id. */
START_TEST(pipelining_out_of_order)
{
	got_t g[50] = {0};
	uint32_t h[50];
	unsigned want = 50;

	fake_start("VERSION\t1\t0\n");
	cq_authc_t *c = connected_client(5000, 64);
	for (int i = 0; i < 50; i++) {
		char topic[16];
		snprintf(topic, sizeof(topic), "t/%d", i);
		cq_authc_acl_req_t r = acl_req(topic, 'w');
		ck_assert_int_eq(
			cq_authc_acl(c, &r, on_result, &g[i], &h[i], &g[i].res),
			CQ_AGAIN);
	}
	ck_assert_uint_eq(cq_authc_inflight(c), 50);
	ck_assert(spin(has_questions, &want));
	ck_assert(fk.saw_version);
	for (int i = 49; i >= 0; i--) {
		ck_assert_str_eq(fk.cmds[i], "ACL");
		ck_assert_uint_eq(fk.ids[i], h[i]);
		if (i % 2)
			fake_send("OK\t%u\tttl=9\n", fk.ids[i]);
		else
			fake_send("FAIL\t%u\tcode=not_authorized\treason=r%d\n",
				fk.ids[i], i);
	}
	ck_assert(spin(all_called, g));
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(g[i].calls, 1);
		ck_assert_int_eq(g[i].res.status,
			i % 2 ? CQ_AUTHC_ALLOW : CQ_AUTHC_DENY);
		if (i % 2)
			ck_assert_uint_eq(g[i].res.ttl, 9);
	}
	ck_assert_uint_eq(cq_authc_inflight(c), 0);
	cq_authc_free(c);
}
END_TEST

/* A question unanswered by its deadline fails with TIMEOUT, once; the
 * late answer is ignored. */
START_TEST(deadline_times_out)
{
	got_t g = {0};
	uint32_t h;
	unsigned want = 1;

	fake_start("VERSION\t1\t0\n");
	cq_authc_t *c = connected_client(30, 64);
	cq_authc_auth_req_t r = {.client = "dev",
		.client_len = 3,
		.pass = "pw",
		.pass_len = 2,
		.addr = "127.0.0.1:9",
		.listener = "tcp"};
	ck_assert_int_eq(
		cq_authc_auth(c, &r, on_result, &g, &h, &g.res), CQ_AGAIN);
	ck_assert(spin(has_questions, &want));
	ck_assert(spin(was_called, &g));
	ck_assert_int_eq(g.res.status, CQ_AUTHC_TIMEOUT);
	ck_assert_int_eq(cq_authc_connack_code(&g.res, 5), 0x88);
	ck_assert_int_eq(cq_authc_connack_code(&g.res, 4), 0x03);
	fake_send("OK\t%u\n", h);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(g.calls, 1);
	ck_assert(cq_authc_connected(c));
	cq_authc_free(c);
}
END_TEST

static bool
down_and_called(void *arg)
{
	got_t *g = arg;
	for (int i = 0; i < 10; i++)
		if (g[i].calls == 0)
			return false;
	return true;
}

/* The connection drops: every question in flight fails closed, new ones
 * are refused at once, and the client reconnects by itself. */
START_TEST(drop_fails_all_then_reconnects)
{
	got_t g[10] = {0}, late = {0}, again = {0};
	unsigned want = 10;

	fake_start("VERSION\t1\t0\n");
	cq_authc_t *c = connected_client(5000, 64);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(ask_acl(c, "a/b", &g[i], NULL), CQ_AGAIN);
	ck_assert(spin(has_questions, &want));
	bufferevent_free(fk.bev); /* authd dies */
	fk.bev = NULL;
	ck_assert(spin(down_and_called, g));
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(g[i].calls, 1);
		ck_assert_int_eq(g[i].res.status, CQ_AUTHC_UNAVAILABLE);
	}
	ck_assert(!cq_authc_connected(c));
	/* Down: refused at once, never allowed -- or, when the question
	 * itself reconnects (a connect() at most once a millisecond while
	 * down), asked on the new connection. */
	int late_rc = 0; /* 0 also when not asked */
	if (!cq_authc_connected(c) &&
		(late_rc = ask_acl(c, "a/b", &late, NULL)) == 0)
		ck_assert_int_eq(late.res.status, CQ_AUTHC_UNAVAILABLE);
	ck_assert(spin(is_connected, c));
	ck_assert_uint_ge(fk.accepted, 2);
	ck_assert_int_eq(ask_acl(c, "a/c", &again, NULL), CQ_AGAIN);
	want = late_rc == CQ_AGAIN ? 2 : 1;
	ck_assert(spin(has_questions, &want));
	for (unsigned i = 0; i < want; i++)
		fake_send("OK\t%u\n", fk.ids[i]);
	ck_assert(spin(was_called, &again));
	ck_assert_int_eq(again.res.status, CQ_AUTHC_ALLOW);
	cq_authc_free(c);
}
END_TEST

START_TEST(no_authd_refuses)
{
	got_t g = {0};
	cq_authc_options_t o = options(1000, 16);
	cq_authc_t *c = cq_authc_new(base, &o); /* nothing listens */

	ck_assert_ptr_nonnull(c);
	ck_assert(!cq_authc_connected(c));
	ck_assert_int_eq(ask_acl(c, "x", &g, NULL), 0);
	ck_assert_int_eq(g.res.status, CQ_AUTHC_UNAVAILABLE);
	ck_assert_int_eq(g.calls, 0);
	cq_authc_free(c);
}
END_TEST

static bool
accepted_twice(void *arg)
{
	(void)arg;
	return fk.accepted >= 2;
}

/* A server of another major version is left, and retried later. */
START_TEST(version_mismatch)
{
	got_t g = {0};
	cq_authc_options_t o = options(1000, 16);

	fake_start("VERSION\t2\t0\n");
	cq_authc_t *c = cq_authc_new(base, &o);
	ck_assert_int_eq(ask_acl(c, "x", &g, NULL), CQ_AGAIN);
	ck_assert(spin(was_called, &g));
	ck_assert_int_eq(g.res.status, CQ_AUTHC_UNAVAILABLE);
	ck_assert(!cq_authc_connected(c));
	ck_assert(spin(accepted_twice, NULL));
	ck_assert(!cq_authc_connected(c));
	cq_authc_free(c);
}
END_TEST

/* A line from authd that is not the protocol ends the connection. */
START_TEST(garbage_from_authd)
{
	got_t g = {0};
	unsigned want = 1;

	fake_start("VERSION\t1\t0\n");
	cq_authc_t *c = connected_client(5000, 16);
	ck_assert_int_eq(ask_acl(c, "x", &g, NULL), CQ_AGAIN);
	ck_assert(spin(has_questions, &want));
	fake_send("OK\tnot-a-number\n");
	ck_assert(spin(was_called, &g));
	ck_assert_int_eq(g.res.status, CQ_AUTHC_UNAVAILABLE);
	cq_authc_free(c);
}
END_TEST

START_TEST(inflight_cap_and_too_long)
{
	got_t g[5] = {0}, big = {0};

	fake_start("VERSION\t1\t0\n");
	cq_authc_t *c = connected_client(5000, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ask_acl(c, "x", &g[i], NULL), CQ_AGAIN);
	ck_assert_int_eq(ask_acl(c, "x", &g[4], NULL), 0);
	ck_assert_int_eq(g[4].res.status, CQ_AUTHC_BUSY);
	ck_assert_int_eq(cq_authc_connack_code(&g[4].res, 5), 0x89);

	size_t n = CQ_AUTHP_LINE_MAX;
	char *topic = malloc(n + 1);
	memset(topic, 'a', n);
	topic[n] = '\0';
	cq_authc_free(c);
	c = connected_client(5000, 4);
	ck_assert_int_eq(ask_acl(c, topic, &big, NULL), 0);
	ck_assert_int_eq(big.res.status, CQ_AUTHC_INVALID);
	ck_assert_uint_eq(cq_authc_inflight(c), 0);
	free(topic);
	cq_authc_free(c);
}
END_TEST

START_TEST(cancel_drops_the_callback)
{
	got_t g = {0}, other = {0};
	uint32_t h, h2;
	unsigned want = 2;

	fake_start("VERSION\t1\t0\n");
	cq_authc_t *c = connected_client(5000, 16);
	ck_assert_int_eq(ask_acl(c, "x", &g, &h), CQ_AGAIN);
	ck_assert_int_eq(ask_acl(c, "y", &other, &h2), CQ_AGAIN);
	cq_authc_cancel(c, h);
	cq_authc_cancel(c, h + 12345); /* unknown: ignored */
	ck_assert(spin(has_questions, &want));
	fake_send("OK\t%u\nOK\t%u\n", h, h2);
	ck_assert(spin(was_called, &other));
	ck_assert_int_eq(g.calls, 0);
	ck_assert_uint_eq(cq_authc_inflight(c), 0);
	cq_authc_free(c);
}
END_TEST

/* The cache in front: an answer with a ttl is reused without asking; an
 * INVALIDATE with a new serial forgets it; while authd is down a cached
 * answer still serves and an uncached question is refused. */
START_TEST(cache_hits_invalidation_and_outage)
{
	cq_shm_t shm;
	got_t g = {0}, hit = {0}, miss = {0}, down = {0}, down2 = {0};
	unsigned want = 1;

	shm_test_create(&shm, 1, 64u << 20);
	fake_start("VERSION\t1\t0\nINVALIDATE\tserial-1\n");
	cq_authc_t *c = connected_client(5000, 16);
	ck_assert_int_eq(ask_acl(c, "a/b", &g, NULL), CQ_AGAIN);
	ck_assert(spin(has_questions, &want));
	fake_send("OK\t%u\tttl=60\n", fk.ids[0]);
	ck_assert(spin(was_called, &g));
	ck_assert(!g.res.cached);
	/* Hit: answered now, no question sent. */
	ck_assert_int_eq(ask_acl(c, "a/b", &hit, NULL), 0);
	ck_assert_int_eq(hit.res.status, CQ_AUTHC_ALLOW);
	ck_assert(hit.res.cached);
	ck_assert_uint_eq(fk.nq, 1);
	/* The same serial again changes nothing; a new one invalidates. */
	uint64_t epoch = cq_authcache_epoch();
	fake_send("INVALIDATE\tserial-1\n");
	for (int i = 0; i < 10; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_uint_eq(cq_authcache_epoch(), epoch);
	fake_send("INVALIDATE\tserial-2\n");
	for (int i = 0; i < 10 && cq_authcache_epoch() == epoch; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_gt(cq_authcache_epoch(), epoch);
	ck_assert_int_eq(ask_acl(c, "a/b", &miss, NULL), CQ_AGAIN);
	want = 2;
	ck_assert(spin(has_questions, &want));
	fake_send("OK\t%u\tttl=60\n", fk.ids[1]);
	ck_assert(spin(was_called, &miss));
	/* authd goes away: the cached answer keeps serving... */
	fake_stop();
	ck_assert(spin(not_connected, c));
	ck_assert_int_eq(ask_acl(c, "a/b", &down, NULL), 0);
	ck_assert_int_eq(down.res.status, CQ_AUTHC_ALLOW);
	ck_assert(down.res.cached);
	/* ...an uncached question is refused. */
	ck_assert_int_eq(ask_acl(c, "a/other", &down2, NULL), 0);
	ck_assert_int_eq(down2.res.status, CQ_AUTHC_UNAVAILABLE);
	cq_authc_free(c);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(connack_codes)
{
	cq_authc_result_t r = {
		.status = CQ_AUTHC_DENY, .bad_credentials = true};
	ck_assert_int_eq(cq_authc_connack_code(&r, 5), 0x86);
	ck_assert_int_eq(cq_authc_connack_code(&r, 4), 0x04);
	r.bad_credentials = false;
	ck_assert_int_eq(cq_authc_connack_code(&r, 5), 0x87);
	ck_assert_int_eq(cq_authc_connack_code(&r, 3), 0x05);
	r.status = CQ_AUTHC_ALLOW;
	ck_assert_int_eq(cq_authc_connack_code(&r, 5), 0);
	r.status = CQ_AUTHC_UNAVAILABLE;
	ck_assert_int_eq(cq_authc_connack_code(&r, 5), 0x88);
	ck_assert_int_eq(cq_authc_connack_code(&r, 4), 0x03);
	ck_assert_str_eq(cq_authc_status_name(CQ_AUTHC_TIMEOUT), "timeout");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("auth_client");
	TCase *tc = tcase_create("client");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pipelining_out_of_order);
	tcase_add_test(tc, deadline_times_out);
	tcase_add_test(tc, drop_fails_all_then_reconnects);
	tcase_add_test(tc, no_authd_refuses);
	tcase_add_test(tc, version_mismatch);
	tcase_add_test(tc, garbage_from_authd);
	tcase_add_test(tc, inflight_cap_and_too_long);
	tcase_add_test(tc, cancel_drops_the_callback);
	tcase_add_test(tc, cache_hits_invalidation_and_outage);
	tcase_add_test(tc, connack_codes);
	suite_add_tcase(s, tc);
	return s;
}
