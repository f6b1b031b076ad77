/*
 * check_auth_chain.c — backend chaining in authd (plugins/authd/chain.h):
 * first definitive answer wins, NEXT passes on, DEFER resumes later, the
 * chain's default answers and TTLs, faults never cached, a retired chain
 * closing only once its last request is done, bcrypt on the pool.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/conf.h"
#include "plugins/authd/chain.h"
#include "plugins/authd/password.h"
#include "t/unit/unit.h"

static int closes;
static cq_auth_verdict_t later_verdict;
static const cq_auth_env_t *bcrypt_env;
static char bcrypt_hash[CQ_PASSWORD_HASH_MAX];

static int
fake_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	(void)error_r;
	*state_r = (void *)env;
	return 0;
}

static int
failing_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	(void)env;
	(void)state_r;
	*error_r = strdup("no such thing");
	return -1;
}

static void
fake_close(void *state)
{
	(void)state;
	closes++;
}

static cq_auth_verdict_t
say_yes(void *state, cq_auth_request_t *req)
{
	(void)state;
	return cq_auth_request_ok(req, 7);
}

static cq_auth_verdict_t
say_no(void *state, cq_auth_request_t *req)
{
	(void)state;
	return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED, "no");
}

static cq_auth_verdict_t
say_next(void *state, cq_auth_request_t *req)
{
	(void)state;
	(void)req;
	return CQ_AUTH_NEXT;
}

static cq_auth_verdict_t
say_nothing(void *state, cq_auth_request_t *req)
{
	(void)state;
	(void)req;
	return CQ_AUTH_FAIL; /* a buggy backend: no code */
}

static void
resume_later(evutil_socket_t fd, short what, void *arg)
{
	cq_auth_request_t *req = arg;
	(void)fd;
	(void)what;
	if (later_verdict == CQ_AUTH_FAIL)
		cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE, "db down");
	cq_auth_request_resume(req, later_verdict);
}

static cq_auth_verdict_t
say_later(void *state, cq_auth_request_t *req)
{
	const cq_auth_env_t *env = state;
	event_base_once(env->base, -1, EV_TIMEOUT, resume_later, req, NULL);
	return CQ_AUTH_DEFER;
}

static int
bcrypt_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	bcrypt_env = env;
	return fake_init(env, state_r, error_r);
}

static cq_auth_verdict_t
check_bcrypt(void *state, cq_auth_request_t *req)
{
	(void)state;
	return cq_auth_check_password(bcrypt_env, req, bcrypt_hash,
		strlen(bcrypt_hash), CQ_PASSWORD_BCRYPT, NULL);
}

#define FAKE(n, a, b, i)                                                       \
	static const cq_auth_backend_t n = {.name = #n,                        \
		.abi_version = CQ_AUTH_BACKEND_ABI,                            \
		.init = i,                                                     \
		.authenticate = a,                                             \
		.acl = b,                                                      \
		.close = fake_close}

FAKE(yes, say_yes, say_yes, fake_init);
FAKE(no, say_no, say_no, fake_init);
FAKE(pass, say_next, say_next, fake_init);
FAKE(later, say_later, say_later, fake_init);
FAKE(broken, say_nothing, say_nothing, fake_init);
FAKE(refuses_to_start, say_yes, say_yes, failing_init);
FAKE(hashes, check_bcrypt, NULL, bcrypt_init);

typedef struct outcome {
	bool done;
	const char *code;
	int32_t ttl;
	const char *by;
	char reason[CQ_AUTHP_REASON_MAX];
} outcome_t;

static void
on_done(cq_auth_request_t *req, void *arg)
{
	outcome_t *o = arg;
	o->done = true;
	o->code = req->code;
	o->ttl = req->ttl;
	o->by = req->decided_by;
	memcpy(o->reason, req->reason, sizeof(o->reason));
}

static struct event_base *base;

static cq_auth_chain_t *
chain_of(const cq_auth_backend_t *const *ops, size_t n, bool allow_no_match)
{
	cq_config_t *cfg = calloc(1, sizeof(*cfg));
	char *err = NULL;

	ck_assert_int_eq(cq_config_load_defaults(cfg), 0);
	cfg->auth.cache_ttl = 60;
	cfg->auth.deny_ttl = 5;
	cfg->auth.acl_no_match = allow_no_match ? CQ_AUTH_NO_MATCH_ALLOW
						: CQ_AUTH_NO_MATCH_DENY;
	cq_auth_chain_t *c = cq_auth_chain_new_ops(
		base, cfg, ".", ops, n, &err);
	ck_assert_msg(c != NULL, "chain: %s", err);
	return c;
}

static cq_auth_request_t
request(cq_authp_cmd_t cmd)
{
	cq_auth_request_t r = {.cmd = cmd,
		.client = "c",
		.client_len = 1,
		.user = "u",
		.user_len = 1,
		.has_user = true,
		.pass = (const unsigned char *)"pw",
		.pass_len = 2,
		.has_pass = true,
		.addr = "127.0.0.1:1",
		.listener = "tcp",
		.cert = "",
		.topic = "t",
		.topic_len = 1,
		.access = 'w'};
	return r;
}

/* Run the loop until o->done, bounded. */
static void
wait_done(outcome_t *o)
{
	for (int i = 0; i < 10000 && !o->done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(o->done);
}

static outcome_t
ask(cq_auth_chain_t *c, cq_authp_cmd_t cmd)
{
	outcome_t o = {0};
	cq_auth_request_t r = request(cmd);
	cq_auth_chain_run(c, &r, on_done, &o);
	wait_done(&o);
	return o;
}

static void
setup(void)
{
	base = event_base_new();
	closes = 0;
}

static void
teardown(void)
{
	event_base_free(base);
}

static void
retire(cq_auth_chain_t *c)
{
	cq_auth_chain_retire(c);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

START_TEST(first_definitive_answer_wins)
{
	const cq_auth_backend_t *ops[] = {&pass, &yes, &no};
	cq_auth_chain_t *c = chain_of(ops, 3, false);
	outcome_t o = ask(c, CQ_AUTHP_CMD_AUTH);

	ck_assert_ptr_null(o.code);
	ck_assert_int_eq(o.ttl, 7);
	ck_assert_str_eq(o.by, "yes");
	retire(c);
	ck_assert_int_eq(closes, 3);
}
END_TEST

START_TEST(refusal_gets_deny_ttl_and_a_named_reason)
{
	const cq_auth_backend_t *ops[] = {&no, &yes};
	cq_auth_chain_t *c = chain_of(ops, 2, false);
	outcome_t o = ask(c, CQ_AUTHP_CMD_ACL);

	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_NOT_AUTHORIZED);
	ck_assert_int_eq(o.ttl, 5);
	ck_assert_str_eq(o.reason, "no: no");
	retire(c);
}
END_TEST

START_TEST(nobody_decides)
{
	const cq_auth_backend_t *ops[] = {&pass, &pass};
	cq_auth_chain_t *c = chain_of(ops, 2, false);
	outcome_t o = ask(c, CQ_AUTHP_CMD_AUTH);
	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_BAD_CREDENTIALS);
	o = ask(c, CQ_AUTHP_CMD_ACL);
	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_NOT_AUTHORIZED);
	retire(c);
	/* acl_no_match: allow -- ACL only; an AUTH is still refused. */
	c = chain_of(ops, 2, true);
	o = ask(c, CQ_AUTHP_CMD_ACL);
	ck_assert_ptr_null(o.code);
	ck_assert_int_eq(o.ttl, 60);
	o = ask(c, CQ_AUTHP_CMD_AUTH);
	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_BAD_CREDENTIALS);
	retire(c);
}
END_TEST

START_TEST(deferred_next_then_yes)
{
	const cq_auth_backend_t *ops[] = {&later, &yes};
	cq_auth_chain_t *c = chain_of(ops, 2, false);
	cq_auth_request_t r = request(CQ_AUTHP_CMD_AUTH);
	outcome_t o = {0};

	later_verdict = CQ_AUTH_NEXT;
	cq_auth_chain_run(c, &r, on_done, &o);
	ck_assert(!o.done); /* waits for the deferred backend */
	ck_assert_uint_eq(cq_auth_chain_running(c), 1);
	wait_done(&o);
	ck_assert_ptr_null(o.code);
	ck_assert_str_eq(o.by, "yes");
	ck_assert_uint_eq(cq_auth_chain_running(c), 0);
	retire(c);
}
END_TEST

/* A fault ("unavailable") is never cached, and a backend that fails
 * without saying why fails closed. */
START_TEST(faults_fail_closed_and_uncached)
{
	const cq_auth_backend_t *ops[] = {&later, &yes};
	cq_auth_chain_t *c = chain_of(ops, 2, false);
	later_verdict = CQ_AUTH_FAIL;
	outcome_t o = ask(c, CQ_AUTHP_CMD_AUTH);
	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_UNAVAILABLE);
	ck_assert_int_eq(o.ttl, CQ_AUTH_TTL_DEFAULT);
	retire(c);

	const cq_auth_backend_t *ops2[] = {&broken, &yes};
	c = chain_of(ops2, 2, false);
	o = ask(c, CQ_AUTHP_CMD_ACL);
	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_UNAVAILABLE);
	ck_assert_int_eq(o.ttl, CQ_AUTH_TTL_DEFAULT);
	retire(c);
}
END_TEST

START_TEST(retired_chain_waits_for_its_requests)
{
	const cq_auth_backend_t *ops[] = {&later};
	cq_auth_chain_t *c = chain_of(ops, 1, false);
	cq_auth_request_t r = request(CQ_AUTHP_CMD_ACL);
	outcome_t o = {0};

	later_verdict = CQ_AUTH_NEXT;
	cq_auth_chain_run(c, &r, on_done, &o);
	cq_auth_chain_retire(c);
	event_base_loop(base, EVLOOP_NONBLOCK);
	/* Either still running (not closed) or done and closed after. */
	if (!o.done)
		ck_assert_int_eq(closes, 0);
	wait_done(&o);
	for (int i = 0; i < 100 && closes == 0; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(closes, 1);
}
END_TEST

START_TEST(init_failure_closes_the_started_ones)
{
	const cq_auth_backend_t *ops[] = {&yes, &refuses_to_start};
	cq_config_t *cfg = calloc(1, sizeof(*cfg));
	char *err = NULL;

	ck_assert_int_eq(cq_config_load_defaults(cfg), 0);
	ck_assert_ptr_null(cq_auth_chain_new_ops(base, cfg, ".", ops, 2, &err));
	ck_assert_str_eq(err, "refuses_to_start: no such thing");
	ck_assert_int_eq(closes, 1);
	free(err);
}
END_TEST

START_TEST(bcrypt_on_the_pool)
{
	const cq_auth_backend_t *ops[] = {&hashes};
	cq_auth_chain_t *c = chain_of(ops, 1, false);
	cq_auth_request_t r = request(CQ_AUTHP_CMD_AUTH);
	outcome_t o = {0};

	ck_assert_int_eq(cq_password_hash(CQ_PASSWORD_BCRYPT, "pw", 2, NULL, 0,
				 bcrypt_hash, sizeof(bcrypt_hash)),
		0);
	cq_auth_chain_run(c, &r, on_done, &o);
	ck_assert(!o.done); /* the loop thread did not wait for bcrypt */
	wait_done(&o);
	ck_assert_ptr_null(o.code);
	r = request(CQ_AUTHP_CMD_AUTH);
	r.pass = (const unsigned char *)"PW";
	o = (outcome_t){0};
	cq_auth_chain_run(c, &r, on_done, &o);
	wait_done(&o);
	ck_assert_str_eq(o.code, CQ_AUTHP_CODE_BAD_CREDENTIALS);
	retire(c);
}
END_TEST

START_TEST(registry)
{
	static const char *const names[] = {
		"allow", "ledger", "redis", "postgres", "mysql", "http"};
	for (size_t i = 0; i < 6; i++) {
		const cq_auth_backend_t *b = cq_auth_backend_find(names[i]);
		ck_assert_ptr_nonnull(b);
		ck_assert_str_eq(b->name, names[i]);
		ck_assert_uint_eq(b->abi_version, CQ_AUTH_BACKEND_ABI);
		ck_assert_ptr_nonnull(b->init);
		ck_assert_ptr_nonnull(b->close);
	}
	ck_assert_ptr_null(cq_auth_backend_find("ldap"));
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("auth_chain");
	TCase *tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, first_definitive_answer_wins);
	tcase_add_test(tc, refusal_gets_deny_ttl_and_a_named_reason);
	tcase_add_test(tc, nobody_decides);
	tcase_add_test(tc, deferred_next_then_yes);
	tcase_add_test(tc, faults_fail_closed_and_uncached);
	tcase_add_test(tc, retired_chain_waits_for_its_requests);
	tcase_add_test(tc, init_failure_closes_the_started_ones);
	tcase_add_test(tc, bcrypt_on_the_pool);
	tcase_add_test(tc, registry);
	suite_add_tcase(s, tc);
	return s;
}
