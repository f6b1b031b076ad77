/*
 * check_auth_ledger.c — the auth ledger (plugins/authd/ledger.h): Go
 * comqtt's file format and matching rules, strict loading, and the ACL
 * filter rules every backend shares (plugins/authd/acl.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "plugins/authd/acl.h"
#include "plugins/authd/ledger.h"
#include "plugins/authd/password.h"
#include "t/unit/unit.h"

static const char rules[] = "users:\n"
			    "  alice:\n"
			    "    password: wonderland\n"
			    "    acl:\n"
			    "      \"alice/secret\": 0\n"
			    "      \"alice/#\": readwrite\n"
			    "  mallory:\n"
			    "    password: evil\n"
			    "    disallow: true\n"
			    "auth:\n"
			    "  - remote: \"10.*\"\n"
			    "    allow: false\n"
			    "  - client: \"sensor-*\"\n"
			    "    username: \"\"\n"
			    "    password: \"\"\n"
			    "    allow: true\n"
			    "  - username: dev\n"
			    "    password: devpw\n"
			    "    allow: true\n"
			    "acl:\n"
			    "  - client: \"sensor-*\"\n"
			    "    filters:\n"
			    "      \"sensors/+/data\": 2\n"
			    "      \"cmd/#\": 1\n"
			    "  - username: dev\n"
			    "  - remote: \"127.0.0.1:*\"\n"
			    "    filters:\n"
			    "      \"local/#\": 3\n";

static cq_auth_request_t
req_auth(const char *client, const char *user, const char *pass,
	const char *addr)
{
	cq_auth_request_t r = {.cmd = CQ_AUTHP_CMD_AUTH,
		.client = client,
		.client_len = strlen(client),
		.user = user ? user : "",
		.user_len = user ? strlen(user) : 0,
		.has_user = user != NULL,
		.pass = (const unsigned char *)(pass ? pass : ""),
		.pass_len = pass ? strlen(pass) : 0,
		.has_pass = pass != NULL,
		.addr = addr,
		.listener = "tcp",
		.cert = "",
		.topic = "",
		.ttl = CQ_AUTH_TTL_DEFAULT};
	return r;
}

static cq_auth_request_t
req_acl(const char *client, const char *user, const char *topic, char access,
	const char *addr)
{
	cq_auth_request_t r = req_auth(client, user, NULL, addr);
	r.cmd = CQ_AUTHP_CMD_ACL;
	r.topic = topic;
	r.topic_len = strlen(topic);
	r.access = access;
	return r;
}

static cq_ledger_t *
load(const char *text)
{
	char *err = NULL;
	cq_ledger_t *l = cq_ledger_parse("t.yml", text, strlen(text), &err);
	ck_assert_msg(l != NULL, "parse: %s", err);
	return l;
}

static cq_auth_verdict_t
auth(cq_ledger_t *l, const char *client, const char *user, const char *pass,
	const char *addr, const char **code_r)
{
	cq_auth_request_t r = req_auth(client, user, pass, addr);
	cq_auth_verdict_t v = cq_ledger_auth(l, &r, CQ_PASSWORD_PLAIN, NULL);
	*code_r = r.code;
	return v;
}

static cq_auth_verdict_t
acl(cq_ledger_t *l, const char *client, const char *user, const char *topic,
	char access, const char *addr)
{
	cq_auth_request_t r = req_acl(client, user, topic, access, addr);
	return cq_ledger_acl(l, &r);
}

/* Go comqtt's RString.Matches(). */
START_TEST(pattern_semantics)
{
	ck_assert(cq_ledger_pattern_match("", "anything", 8));
	ck_assert(cq_ledger_pattern_match("*", "anything", 8));
	ck_assert(cq_ledger_pattern_match("abc", "abc", 3));
	ck_assert(!cq_ledger_pattern_match("abc", "abcd", 4));
	ck_assert(cq_ledger_pattern_match("ab*", "abc", 3));
	ck_assert(!cq_ledger_pattern_match("ab*", "ab", 2)); /* len > i */
	ck_assert(cq_ledger_pattern_match("ab*zz", "abc", 3));
	ck_assert(!cq_ledger_pattern_match("*b", "ab", 2));
	ck_assert(cq_ledger_pattern_match("127.0.0.1:*", "127.0.0.1:5", 11));
}
END_TEST

START_TEST(auth_decisions)
{
	cq_ledger_t *l = load(rules);
	const char *code;

	ck_assert_uint_eq(cq_ledger_users(l), 2);
	ck_assert_uint_eq(cq_ledger_auth_rules(l), 3);
	ck_assert_uint_eq(cq_ledger_acl_rules(l), 3);
	/* users: a matching password decides. */
	ck_assert_int_eq(
		auth(l, "c", "alice", "wonderland", "1.2.3.4:1", &code),
		CQ_AUTH_OK);
	ck_assert_int_eq(auth(l, "c", "mallory", "evil", "1.2.3.4:1", &code),
		CQ_AUTH_FAIL);
	ck_assert_str_eq(code, CQ_AUTHP_CODE_NOT_AUTHORIZED);
	/* A wrong password falls through to the rules: none match. */
	ck_assert_int_eq(auth(l, "c", "alice", "nope", "1.2.3.4:1", &code),
		CQ_AUTH_NEXT);
	/* First matching rule wins: the 10.* refusal comes first. */
	ck_assert_int_eq(auth(l, "sensor-1", NULL, NULL, "10.0.0.1:9", &code),
		CQ_AUTH_FAIL);
	ck_assert_int_eq(auth(l, "sensor-1", NULL, NULL, "11.0.0.1:9", &code),
		CQ_AUTH_OK);
	ck_assert_int_eq(
		auth(l, "dev-box", "dev", "devpw", "11.0.0.1:9", &code),
		CQ_AUTH_OK);
	ck_assert_int_eq(
		auth(l, "dev-box", "dev", "devPW", "11.0.0.1:9", &code),
		CQ_AUTH_NEXT);
	cq_ledger_free(l);
}
END_TEST

START_TEST(acl_decisions)
{
	cq_ledger_t *l = load(rules);

	/* The user's own filters, in file order: the deny comes first. */
	ck_assert_int_eq(acl(l, "c", "alice", "alice/secret", 'r', "1.1.1.1:1"),
		CQ_AUTH_FAIL);
	ck_assert_int_eq(acl(l, "c", "alice", "alice/inbox", 'w', "1.1.1.1:1"),
		CQ_AUTH_OK);
	ck_assert_int_eq(
		acl(l, "c", "alice", "alice/#", 's', "1.1.1.1:1"), CQ_AUTH_OK);
	/* Rules: the first filter that applies decides. */
	ck_assert_int_eq(acl(l, "sensor-7", NULL, "sensors/7/data", 'w', ""),
		CQ_AUTH_OK);
	ck_assert_int_eq(acl(l, "sensor-7", NULL, "sensors/7/data", 'r', ""),
		CQ_AUTH_FAIL);
	ck_assert_int_eq(
		acl(l, "sensor-7", NULL, "cmd/reboot", 's', ""), CQ_AUTH_OK);
	ck_assert_int_eq(
		acl(l, "sensor-7", NULL, "cmd/reboot", 'w', ""), CQ_AUTH_FAIL);
	/* No filter of the first matching rule applies: the next rule. */
	ck_assert_int_eq(
		acl(l, "sensor-7", NULL, "local/x", 'w', "127.0.0.1:4"),
		CQ_AUTH_OK);
	/* A rule without filters allows everything. */
	ck_assert_int_eq(acl(l, "x", "dev", "any/thing", 'w', ""), CQ_AUTH_OK);
	/* Nothing applies: the next backend decides. */
	ck_assert_int_eq(acl(l, "x", "nobody", "any/thing", 'w', "9.9.9.9:9"),
		CQ_AUTH_NEXT);
	cq_ledger_free(l);
}
END_TEST

START_TEST(json_form)
{
	const char *json =
		"{\"users\": {\"bob\": {\"password\": \"pw\", \"acl\": "
		"{\"bob/#\": 3}}}, \"auth\": [], \"acl\": [{\"username\": "
		"\"*\", \"filters\": {\"pub/#\": 1}}]}";
	cq_ledger_t *l = load(json);
	const char *code;

	ck_assert_int_eq(
		auth(l, "c", "bob", "pw", "1.1.1.1:1", &code), CQ_AUTH_OK);
	ck_assert_int_eq(acl(l, "c", "bob", "bob/x", 'w', ""), CQ_AUTH_OK);
	ck_assert_int_eq(acl(l, "c", "eve", "pub/x", 'r', ""), CQ_AUTH_OK);
	ck_assert_int_eq(acl(l, "c", "eve", "pub/x", 'w', ""), CQ_AUTH_FAIL);
	cq_ledger_free(l);
}
END_TEST

START_TEST(hashed_passwords)
{
	/* sha256("password") */
	const char *text = "users:\n  u:\n    password: 5e884898da28047151d0e56"
			   "f8dc6292773603d0d6aabbdd62a11ef721d1542d8\n";
	char *err = NULL;
	cq_ledger_t *l = cq_ledger_parse("t", text, strlen(text), &err);
	cq_auth_request_t r = req_auth("c", "u", "password", "1.1.1.1:1");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(
		cq_ledger_auth(l, &r, CQ_PASSWORD_SHA256, NULL), CQ_AUTH_OK);
	r = req_auth("c", "u", "passwor", "1.1.1.1:1");
	ck_assert_int_eq(
		cq_ledger_auth(l, &r, CQ_PASSWORD_SHA256, NULL), CQ_AUTH_NEXT);
	cq_ledger_free(l);
}
END_TEST

/* Every mistake is an error with its position, never a silent rule. */
START_TEST(strict_loading)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"userz: {}\n", "1:1: unknown key \"userz\""},
		{"auth:\n  - allwo: true\n", "2:5: unknown key \"allwo\""},
		{"acl:\n  - filters: {\"a/#\": 4}\n", "access must be"},
		{"acl:\n  - filters: {\"a/#/b\": 1}\n", "not a topic filter"},
		{"auth:\n  - allow: maybe\n", "allow must be true or false"},
		{"users: [a, b]\n", "users must be a map"},
		{"auth: {a: 1}\n", "auth must be a list"},
		{"a: &x 1\nb: *x\n", "not supported"},
		{"users:\n  a: {}\n  a: {}\n", "given twice"},
		{"acl: [[[[[[[[[[1]]]]]]]]]]\n", "nested deeper"},
		{"auth: [\n", "t.yml:"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		cq_ledger_t *l = cq_ledger_parse(
			"t.yml", bad[i].text, strlen(bad[i].text), &err);
		ck_assert_msg(l == NULL, "case %zu loaded", i);
		ck_assert_msg(err != NULL && strstr(err, bad[i].want) != NULL,
			"case %zu: %s", i, err ? err : "(null)");
		free(err);
	}
	/* An empty file is an empty ledger. */
	char *err = NULL;
	cq_ledger_t *l = cq_ledger_parse("t", "", 0, &err);
	ck_assert_ptr_nonnull(l);
	cq_ledger_free(l);
	ck_assert_ptr_null(cq_ledger_load("/nonexistent/ledger.yml", &err));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ledger.yml"));
	free(err);
}
END_TEST

/* A rule's filter covers a subscription only if it matches every topic
 * the subscription could receive. */
START_TEST(filter_covers)
{
	static const struct {
		const char *rule, *sub;
		bool covers;
	} v[] = {
		{"a/#", "a/+/b", true},
		{"a/#", "a", true},
		{"a/#", "a/#", true},
		{"#", "x/y", true},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/b", "a/+", false},
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/b/d", false},
		{"a/+", "a", false},
		{"a", "a/b", false},
		{"#", "$SYS/x", false}, /* [MQTT-4.7.2-1] */
		{"$SYS/#", "$SYS/x", true},
		{"a//b", "a//b", true},
		{"a/", "a/+", false},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(
			cq_acl_filter_covers(v[i].rule, strlen(v[i].rule),
				v[i].sub, strlen(v[i].sub)) == v[i].covers,
			"%s covers %s", v[i].rule, v[i].sub);
}
END_TEST

/* Rows of a database, in any order: deny wins, then a grant. */
START_TEST(fold_rows)
{
	cq_auth_request_t r = req_acl("c", "u", "a/b", 'w', "");
	cq_acl_fold_t f = {0};

	cq_acl_fold_row(&f, "x/#", 3, 3, &r); /* does not apply */
	ck_assert_int_eq(cq_acl_fold_verdict(&f, &r, "t"), CQ_AUTH_NEXT);
	cq_acl_fold_row(&f, "a/#", 3, 1, &r); /* read only */
	ck_assert_int_eq(cq_acl_fold_verdict(&f, &r, "t"), CQ_AUTH_FAIL);
	cq_acl_fold_row(&f, "a/+", 3, 2, &r); /* write */
	ck_assert_int_eq(cq_acl_fold_verdict(&f, &r, "t"), CQ_AUTH_OK);
	cq_acl_fold_row(&f, "a/b", 3, 0, &r); /* deny */
	ck_assert_int_eq(cq_acl_fold_verdict(&f, &r, "t"), CQ_AUTH_FAIL);
	ck_assert_str_eq(r.code, CQ_AUTHP_CODE_NOT_AUTHORIZED);
	int level;
	ck_assert_int_eq(cq_acl_level_parse("readwrite", 9, &level), 0);
	ck_assert_int_eq(level, 3);
	ck_assert_int_lt(cq_acl_level_parse("4", 1, &level), 0);
	ck_assert(cq_acl_grants(3, 's') && cq_acl_grants(1, 'r'));
	ck_assert(!cq_acl_grants(2, 's') && !cq_acl_grants(1, 'w'));
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("auth_ledger");
	TCase *tc = tcase_create("ledger");
	tcase_add_test(tc, pattern_semantics);
	tcase_add_test(tc, auth_decisions);
	tcase_add_test(tc, acl_decisions);
	tcase_add_test(tc, json_form);
	tcase_add_test(tc, hashed_passwords);
	tcase_add_test(tc, strict_loading);
	tcase_add_test(tc, filter_covers);
	tcase_add_test(tc, fold_rows);
	suite_add_tcase(s, tc);
	return s;
}
