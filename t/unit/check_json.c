/*
 * check_json.c — the JSON writer and the strict reader (core/json.h):
 * escapes, UTF-8 repair, commas, nesting, base64; RFC 8259 rules the
 * reader enforces (and the errors it names); numbers; round trips.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "t/unit/unit.h"

static char *
text_of(cq_json_t *j)
{
	size_t len;
	const char *t = cq_json_text(j, &len);
	char *s = malloc(len + 1);
	memcpy(s, t, len);
	s[len] = '\0';
	return s;
}

START_TEST(writer_document)
{
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kcstr(&j, "a", "x\"y\\z\n\t\x01");
	cq_json_kint(&j, "n", -5);
	cq_json_kuint(&j, "u", 18446744073709551615u);
	cq_json_kbool(&j, "t", true);
	cq_json_key(&j, "arr");
	cq_json_arr_begin(&j);
	cq_json_null(&j);
	cq_json_arr_begin(&j);
	cq_json_arr_end(&j);
	cq_json_obj_begin(&j);
	cq_json_obj_end(&j);
	cq_json_double(&j, 0.5);
	cq_json_arr_end(&j);
	cq_json_obj_end(&j);
	ck_assert(!j.failed);
	char *s = text_of(&j);
	ck_assert_str_eq(s,
		"{\"a\":\"x\\\"y\\\\z\\n\\t\\u0001\",\"n\":-5,"
		"\"u\":18446744073709551615,\"t\":true,"
		"\"arr\":[null,[],{},0.5]}");
	free(s);
	cq_json_free(&j);
}
END_TEST

/* Invalid UTF-8 becomes U+FFFD; valid multi-byte text passes. */
START_TEST(writer_utf8_repair)
{
	cq_json_t j;
	cq_json_init(&j);
	static const char in[] =
		"ok \xc3\xa9 \xff \xed\xa0\x80 \xf0\x9f\x98\x80";
	cq_json_str(&j, in, sizeof(in) - 1);
	char *s = text_of(&j);
	ck_assert_str_eq(s,
		"\"ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf"
		"\xbd\xef\xbf\xbd \xf0\x9f\x98\x80\"");
	free(s);
	cq_json_free(&j);
}
END_TEST

START_TEST(writer_base64)
{
	static const char *in[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *out[] = {"\"\"", "\"Zg==\"", "\"Zm8=\"", "\"Zm9v\"",
		"\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
	for (int i = 0; i < 7; i++) {
		cq_json_t j;
		cq_json_init(&j);
		cq_json_base64(&j, in[i], strlen(in[i]));
		char *s = text_of(&j);
		ck_assert_str_eq(s, out[i]);
		free(s);
		cq_json_free(&j);
	}
}
END_TEST

START_TEST(writer_depth_limit)
{
	cq_json_t j;
	cq_json_init(&j);
	for (int i = 0; i < CQ_JSON_DEPTH_MAX + 1; i++)
		cq_json_arr_begin(&j);
	ck_assert(j.failed);
	cq_json_free(&j);
}
END_TEST

static cq_jv_t *
parse_ok(const char *text)
{
	cq_jv_t *v = NULL;
	char err[128] = "";
	ck_assert_msg(
		cq_json_parse(text, strlen(text), &v, err, sizeof(err)) == 0,
		"%s: %s", text, err);
	return v;
}

static void
parse_bad(const char *text, size_t len, const char *want)
{
	cq_jv_t *v = NULL;
	char err[128] = "";
	ck_assert_msg(cq_json_parse(text, len, &v, err, sizeof(err)) == -1,
		"accepted: %s", text);
	ck_assert_msg(strstr(err, want) != NULL, "%s: got \"%s\", want \"%s\"",
		text, err, want);
}

START_TEST(reader_values)
{
	cq_jv_t *v = parse_ok(" {\"topic_name\": \"a/b\", \"qos\": 1, "
			      "\"retain\": true, \"x\": [1.5e2, -0, null, "
			      "\"\\u00e9\\ud83d\\ude00\\/\"]} ");
	ck_assert_int_eq(v->type, CQ_JSON_OBJECT);
	ck_assert_uint_eq(v->len, 4);
	const cq_jv_t *t = cq_json_get(v, "topic_name");
	ck_assert(t != NULL && t->type == CQ_JSON_STRING);
	ck_assert_str_eq(t->s, "a/b");
	const cq_jv_t *q = cq_json_get(v, "qos");
	ck_assert(q->is_int && q->i == 1);
	ck_assert(cq_json_get(v, "retain")->b);
	const cq_jv_t *x = cq_json_get(v, "x");
	ck_assert_uint_eq(x->len, 4);
	ck_assert(!x->items[0].is_int && x->items[0].num == 150.0);
	ck_assert(x->items[1].is_int && x->items[1].i == 0);
	ck_assert_int_eq(x->items[2].type, CQ_JSON_NULL);
	ck_assert_str_eq(x->items[3].s, "\xc3\xa9\xf0\x9f\x98\x80/");
	ck_assert(cq_json_get(v, "nope") == NULL);
	cq_json_value_free(v);
	v = parse_ok("\"a\\u0000b\"");
	ck_assert_uint_eq(v->len, 3);
	ck_assert(memcmp(v->s, "a\0b", 3) == 0);
	cq_json_value_free(v);
	v = parse_ok("9223372036854775807");
	ck_assert(v->is_int && v->i == INT64_MAX);
	cq_json_value_free(v);
	v = parse_ok("9223372036854775808");
	ck_assert(!v->is_int);
	cq_json_value_free(v);
}
END_TEST

START_TEST(reader_strictness)
{
	parse_bad("", 0, "expected a value");
	parse_bad("{\"a\":1,}", 8, "expected a string key");
	parse_bad("[1,]", 4, "expected a value");
	parse_bad("{'a':1}", 7, "expected a string key");
	parse_bad("01", 2, "leading zero");
	parse_bad("1.", 2, "after '.'");
	parse_bad("NaN", 3, "expected a value");
	parse_bad("{\"a\":1} x", 9, "unexpected text");
	parse_bad("{\"a\":1,\"a\":2}", 13, "duplicate key");
	parse_bad("\"a\nb\"", 5, "control character");
	parse_bad("\"\\x\"", 4, "unknown escape");
	parse_bad("\"\\ud800\"", 8, "high surrogate");
	parse_bad("\"\\udc00\"", 8, "lone low surrogate");
	parse_bad("\"\xc3\x28\"", 4, "invalid UTF-8");
	parse_bad("\"abc", 4, "unterminated");
	parse_bad("// c\n1", 6, "expected a value");
	parse_bad("[1] /*x*/", 9, "unexpected text");
	parse_bad("\"a\0\"", 4, "control character");
	parse_bad("{\n  \"a\" 1}", 10, "line 2, column 7: expected ':'");
	char deep[200];
	memset(deep, '[', sizeof(deep));
	parse_bad(deep, sizeof(deep), "nested deeper");
}
END_TEST

/* What the writer writes, the reader reads back. */
START_TEST(round_trip)
{
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "bin", "\x00\x01\xff\"\\", 5);
	cq_json_kint(&j, "i", INT64_MIN);
	cq_json_obj_end(&j);
	size_t len;
	const char *t = cq_json_text(&j, &len);
	cq_jv_t *v = NULL;
	char err[64];
	ck_assert_int_eq(cq_json_parse(t, len, &v, err, sizeof(err)), 0);
	const cq_jv_t *b = cq_json_get(v, "bin");
	ck_assert_uint_eq(b->len, 7); /* 0xff became 3 bytes of U+FFFD */
	ck_assert(memcmp(b->s, "\x00\x01\xef\xbf\xbd\"\\", 7) == 0);
	ck_assert(cq_json_get(v, "i")->i == INT64_MIN);
	cq_json_value_free(v);
	cq_json_free(&j);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");
	tcase_add_test(tc, writer_document);
	tcase_add_test(tc, writer_utf8_repair);
	tcase_add_test(tc, writer_base64);
	tcase_add_test(tc, writer_depth_limit);
	tcase_add_test(tc, reader_values);
	tcase_add_test(tc, reader_strictness);
	tcase_add_test(tc, round_trip);
	suite_add_tcase(s, tc);
	return s;
}
