/*
 * check_auth_protocol.c — the comqtt-authd line protocol
 * (src/authc/auth-protocol.h): splitting, escaping, request and reply
 * parsing, hostile and oversize input, base64.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authc/auth-protocol.h"
#include "core/buf.h"
#include "t/unit/unit.h"

/* Split a copy of 's' (the copy stays alive in *keep). */
static int
split(const char *s, cq_authp_line_t *l, char **keep, const char **err)
{
	size_t len = strlen(s);
	*keep = malloc(len + 1);
	memcpy(*keep, s, len + 1);
	return cq_authp_split(*keep, len, l, err);
}

START_TEST(split_fields_and_unescape)
{
	cq_authp_line_t l;
	char *buf;
	const char *err = NULL;

	ck_assert_int_eq(
		split("AUTH\t7\tuser=a\\tb\\nc\\\\d\\r\tpass=", &l, &buf, &err),
		0);
	ck_assert_uint_eq(l.argc, 4);
	ck_assert_str_eq(l.argv[0], "AUTH");
	ck_assert_str_eq(l.argv[1], "7");
	ck_assert_str_eq(l.argv[2], "user=a\tb\nc\\d\r");
	ck_assert_uint_eq(l.argl[2], strlen("user=a\tb\nc\\d\r"));
	ck_assert_str_eq(l.argv[3], "pass=");
	free(buf);
}
END_TEST

START_TEST(split_refuses_hostile_bytes)
{
	static const char *const bad[] = {
		"", /* empty line */
		"AUTH\t1\tuser=a\\", /* cut escape */
		"AUTH\t1\tuser=a\\x", /* unknown escape */
		"AUTH\t1\tuser=a\rb", /* raw CR */
		"AUTH\t1\tuser=a\\0", /* not an escape either */
	};
	cq_authp_line_t l;
	const char *err;
	char *buf;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		ck_assert_msg(
			split(bad[i], &l, &buf, &err) < 0, "accepted %zu", i);
		ck_assert_ptr_nonnull(err);
		free(buf);
	}
	/* A NUL inside the line. */
	char nul[] = "AUTH\t1\tuser=a\0b";
	ck_assert_int_lt(cq_authp_split(nul, sizeof(nul) - 1, &l, &err), 0);
}
END_TEST

START_TEST(split_field_limit)
{
	cq_buf_t b = CQ_BUF_INIT;
	cq_authp_line_t l;
	const char *err;

	cq_authp_put_raw(&b, "ACL\t1");
	for (int i = 0; i < CQ_AUTHP_FIELDS_MAX - 2; i++)
		cq_authp_put_uint(&b, "k", (uint64_t)i);
	cq_buf_append(&b, "", 1);
	char *s = (char *)cq_buf_head(&b);
	ck_assert_int_eq(cq_authp_split(s, strlen(s), &l, &err), 0);
	ck_assert_uint_eq(l.argc, CQ_AUTHP_FIELDS_MAX);
	cq_buf_reset(&b);
	cq_authp_put_raw(&b, "ACL\t1");
	for (int i = 0; i < CQ_AUTHP_FIELDS_MAX - 1; i++)
		cq_authp_put_uint(&b, "k", (uint64_t)i);
	cq_buf_append(&b, "", 1);
	s = (char *)cq_buf_head(&b);
	ck_assert_int_lt(cq_authp_split(s, strlen(s), &l, &err), 0);
	ck_assert_str_eq(err, "too many fields");
	cq_buf_free(&b);
}
END_TEST

/* Every byte value but NUL survives escape + split; the escaped form has
 * no TAB, LF or CR. */
START_TEST(escape_roundtrip_all_bytes)
{
	char value[255];
	cq_buf_t b = CQ_BUF_INIT;
	cq_authp_line_t l;
	const char *err;

	for (int i = 1; i < 256; i++)
		value[i - 1] = (char)i;
	cq_authp_put_raw(&b, "OK\t1");
	cq_authp_put_pair(&b, "v", value, sizeof(value));
	ck_assert_ptr_null(memchr(cq_buf_head(&b), '\n', cq_buf_used(&b)));
	ck_assert_ptr_null(memchr(cq_buf_head(&b), '\r', cq_buf_used(&b)));
	ck_assert_uint_eq(cq_buf_used(&b),
		4 + 3 + sizeof(value) + 4 /* \t \n \r \\ doubled */);
	cq_buf_append(&b, "", 1);
	char *s = (char *)cq_buf_head(&b);
	ck_assert_int_eq(cq_authp_split(s, strlen(s), &l, &err), 0);
	ck_assert_uint_eq(l.argc, 3);
	ck_assert_uint_eq(l.argl[2], 2 + sizeof(value));
	ck_assert_mem_eq(l.argv[2] + 2, value, sizeof(value));
	cq_buf_free(&b);
}
END_TEST

/* Random values, bounded count: escape then split gives them back. */
START_TEST(escape_roundtrip_random)
{
	cq_buf_t b = CQ_BUF_INIT;
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		char v[64];
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(v));
		for (size_t i = 0; i < n; i++) {
			static const char pick[] = "a\t\n\r\\=b";
			v[i] = pick[rand_r(&seed) % 7];
		}
		cq_buf_reset(&b);
		cq_authp_put_raw(&b, "FAIL\t9");
		cq_authp_put_pair(&b, "reason", v, n);
		cq_buf_append(&b, "", 1);
		cq_authp_line_t l;
		const char *err;
		char *s = (char *)cq_buf_head(&b);
		ck_assert_int_eq(cq_authp_split(s, strlen(s), &l, &err), 0);
		const char *got = cq_authp_get(&l, 2, "reason", NULL);
		ck_assert_ptr_nonnull(got);
		ck_assert_uint_eq(l.argl[2], 7 + n);
		ck_assert_mem_eq(got, v, n);
	}
	cq_buf_free(&b);
}
END_TEST

START_TEST(ids)
{
	uint32_t id;
	ck_assert_int_eq(cq_authp_parse_id("0", 1, &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(cq_authp_parse_id("4294967295", 10, &id), 0);
	ck_assert_uint_eq(id, 4294967295u);
	ck_assert_int_lt(cq_authp_parse_id("4294967296", 10, &id), 0);
	ck_assert_int_lt(cq_authp_parse_id("01", 2, &id), 0);
	ck_assert_int_lt(cq_authp_parse_id("-1", 2, &id), 0);
	ck_assert_int_lt(cq_authp_parse_id("1a", 2, &id), 0);
	ck_assert_int_lt(cq_authp_parse_id("", 0, &id), 0);
	ck_assert_int_lt(
		cq_authp_parse_id("99999999999999999999999", 23, &id), 0);
}
END_TEST

static cq_authp_parse_t
parse_req(const char *s, cq_authp_request_t *r, char **keep, const char **err)
{
	cq_authp_line_t l;
	if (split(s, &l, keep, err) < 0)
		return CQ_AUTHP_PARSE_MALFORMED;
	return cq_authp_parse_request(&l, r, err);
}

START_TEST(request_auth)
{
	cq_authp_request_t r;
	const char *err;
	char *buf;

	ck_assert_int_eq(parse_req("AUTH\t42\tclient=c1\tuser=bob\tpass=cHc="
				   "\taddr=127.0.0.1:5000\tlistener=tcp"
				   "\tcert=CN\\tX\tfuture=ignored",
				 &r, &buf, &err),
		CQ_AUTHP_PARSE_OK);
	ck_assert_int_eq(r.cmd, CQ_AUTHP_CMD_AUTH);
	ck_assert_uint_eq(r.id, 42);
	ck_assert_str_eq(r.client, "c1");
	ck_assert_str_eq(r.user, "bob");
	ck_assert_str_eq(r.pass, "cHc=");
	ck_assert_str_eq(r.addr, "127.0.0.1:5000");
	ck_assert_str_eq(r.listener, "tcp");
	ck_assert_str_eq(r.cert, "CN\tX");
	free(buf);
	/* No user, no password: both absent, not empty. */
	ck_assert_int_eq(parse_req("AUTH\t1\tclient=\taddr=[::1]:1\tlistener=l",
				 &r, &buf, &err),
		CQ_AUTHP_PARSE_OK);
	ck_assert_ptr_null(r.user);
	ck_assert_ptr_null(r.pass);
	ck_assert_str_eq(r.client, "");
	free(buf);
}
END_TEST

START_TEST(request_acl)
{
	cq_authp_request_t r;
	const char *err;
	char *buf;

	ck_assert_int_eq(parse_req("ACL\t3\tclient=c\tuser=u\ttopic=a/+/b"
				   "\taccess=s",
				 &r, &buf, &err),
		CQ_AUTHP_PARSE_OK);
	ck_assert_int_eq(r.cmd, CQ_AUTHP_CMD_ACL);
	ck_assert_str_eq(r.topic, "a/+/b");
	ck_assert_int_eq(r.access, 's');
	ck_assert_ptr_null(r.addr);
	free(buf);
}
END_TEST

/* A request with a usable id but bad fields is INVALID (answered with
 * FAIL); anything else is MALFORMED (the connection closes). */
START_TEST(request_errors)
{
	static const struct {
		const char *line;
		cq_authp_parse_t want;
	} cases[] = {
		{"HELLO\t1", CQ_AUTHP_PARSE_MALFORMED},
		{"AUTH", CQ_AUTHP_PARSE_MALFORMED},
		{"AUTH\tx\tclient=a", CQ_AUTHP_PARSE_MALFORMED},
		{"auth\t1\tclient=a", CQ_AUTHP_PARSE_MALFORMED},
		{"AUTH\t1\tuser=u\taddr=1.2.3.4:5\tlistener=l",
			CQ_AUTHP_PARSE_INVALID}, /* no client */
		{"AUTH\t1\tclient=a\tclient=b\taddr=1.2.3.4:5\tlistener=l",
			CQ_AUTHP_PARSE_INVALID}, /* twice */
		{"AUTH\t1\tclient=a\tpass=***\taddr=1.2.3.4:5\tlistener=l",
			CQ_AUTHP_PARSE_INVALID}, /* not base64 */
		{"AUTH\t1\tclient=a\taddr=1.2.3.4:5 x\tlistener=l",
			CQ_AUTHP_PARSE_INVALID}, /* bad address */
		{"AUTH\t1\tclient=a\tnoequals\taddr=1:2\tlistener=l",
			CQ_AUTHP_PARSE_INVALID},
		{"AUTH\t1\tclient=a\tUser=x\taddr=1:2\tlistener=l",
			CQ_AUTHP_PARSE_INVALID}, /* key chars */
		{"ACL\t1\tclient=a\ttopic=\taccess=r", CQ_AUTHP_PARSE_INVALID},
		{"ACL\t1\tclient=a\ttopic=t\taccess=x", CQ_AUTHP_PARSE_INVALID},
		{"ACL\t1\tclient=a\ttopic=t\taccess=rw",
			CQ_AUTHP_PARSE_INVALID},
		{"ACL\t1\tclient=a\ttopic=t", CQ_AUTHP_PARSE_INVALID},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cq_authp_request_t r;
		const char *err = NULL;
		char *buf;
		ck_assert_msg(parse_req(cases[i].line, &r, &buf, &err) ==
				cases[i].want,
			"case %zu: %s", i, cases[i].line);
		ck_assert_ptr_nonnull(err);
		if (cases[i].want == CQ_AUTHP_PARSE_INVALID)
			ck_assert_uint_eq(r.id, 1);
		free(buf);
	}
}
END_TEST

static int
parse_rep(const char *s, cq_authp_reply_t *r, char **keep)
{
	cq_authp_line_t l;
	const char *err;
	if (split(s, &l, keep, &err) < 0)
		return -1;
	return cq_authp_parse_reply(&l, r, &err);
}

START_TEST(replies)
{
	cq_authp_reply_t r;
	char *buf;

	ck_assert_int_eq(parse_rep("OK\t5\tttl=30\tx=y", &r, &buf), 0);
	ck_assert_int_eq(r.cmd, CQ_AUTHP_CMD_OK);
	ck_assert_uint_eq(r.id, 5);
	ck_assert(r.has_ttl);
	ck_assert_uint_eq(r.ttl, 30);
	free(buf);
	ck_assert_int_eq(
		parse_rep("FAIL\t6\tcode=not_authorized\treason=no", &r, &buf),
		0);
	ck_assert_str_eq(r.code, "not_authorized");
	ck_assert_str_eq(r.reason, "no");
	ck_assert(!r.has_ttl);
	free(buf);
	/* A huge ttl is clamped, not refused. */
	ck_assert_int_eq(
		parse_rep("OK\t1\tttl=99999999999999999999999", &r, &buf), 0);
	ck_assert_uint_eq(r.ttl, CQ_AUTHP_TTL_MAX);
	free(buf);
	ck_assert_int_eq(parse_rep("INVALIDATE\tabc-1", &r, &buf), 0);
	ck_assert_str_eq(r.serial, "abc-1");
	free(buf);
	ck_assert_int_eq(parse_rep("VERSION\t1\t7", &r, &buf), 0);
	ck_assert_uint_eq(r.major, 1);
	ck_assert_uint_eq(r.minor, 7);
	free(buf);
	ck_assert_int_lt(parse_rep("FAIL\t6\treason=no", &r, &buf), 0);
	free(buf);
	ck_assert_int_lt(parse_rep("OK\t6\tttl=-1", &r, &buf), 0);
	free(buf);
	ck_assert_int_lt(parse_rep("OK", &r, &buf), 0);
	free(buf);
	ck_assert_int_lt(parse_rep("VERSION\t1", &r, &buf), 0);
	free(buf);
	ck_assert_int_lt(parse_rep("MAYBE\t1", &r, &buf), 0);
	free(buf);
}
END_TEST

/* RFC 4648 section 10 vectors, and strictness. */
START_TEST(base64)
{
	static const char *const plain[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char out[16];
	unsigned char dec[16];
	size_t n;

	for (int i = 0; i < 7; i++) {
		ck_assert_uint_eq(
			cq_authp_b64_encode(out, plain[i], strlen(plain[i])),
			strlen(enc[i]));
		ck_assert_str_eq(out, enc[i]);
		ck_assert_int_eq(
			cq_authp_b64_decode(dec, &n, enc[i], strlen(enc[i])),
			0);
		ck_assert_uint_eq(n, strlen(plain[i]));
		ck_assert_mem_eq(dec, plain[i], n);
	}
	ck_assert_int_lt(cq_authp_b64_decode(dec, &n, "Zg=", 3), 0);
	ck_assert_int_lt(cq_authp_b64_decode(dec, &n, "Z===", 4), 0);
	ck_assert_int_lt(cq_authp_b64_decode(dec, &n, "Zg==Zg==", 8), 0);
	ck_assert_int_lt(cq_authp_b64_decode(dec, &n, "Zh==", 4), 0);
	ck_assert_int_lt(cq_authp_b64_decode(dec, &n, "Zm9 ", 4), 0);
	/* Binary round trip. */
	unsigned char bin[256];
	char big[CQ_AUTHP_B64_LEN(256)];
	unsigned char back[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	size_t len = cq_authp_b64_encode(big, bin, sizeof(bin));
	ck_assert_int_eq(cq_authp_b64_decode(back, &n, big, len), 0);
	ck_assert_uint_eq(n, 256);
	ck_assert_mem_eq(back, bin, 256);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("auth_protocol");
	TCase *tc = tcase_create("protocol");
	tcase_add_test(tc, split_fields_and_unescape);
	tcase_add_test(tc, split_refuses_hostile_bytes);
	tcase_add_test(tc, split_field_limit);
	tcase_add_test(tc, escape_roundtrip_all_bytes);
	tcase_add_test(tc, escape_roundtrip_random);
	tcase_add_test(tc, ids);
	tcase_add_test(tc, request_auth);
	tcase_add_test(tc, request_acl);
	tcase_add_test(tc, request_errors);
	tcase_add_test(tc, replies);
	tcase_add_test(tc, base64);
	suite_add_tcase(s, tc);
	return s;
}
