/*
 * check_mqtt_topic.c — topic names, filters, shared subscriptions and the
 * reference matcher (src/mqtt/topic.c) against MQTT 5 §4.7 and §4.8.2.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/defs.h"
#include "mqtt/topic.h"
#include "t/unit/unit.h"

#define S(s) s, strlen(s)

START_TEST(topic_name_valid)
{
	ck_assert_int_eq(cq_topic_name_check(S("a"), 0), CQ_TOPIC_OK);
	ck_assert_int_eq(cq_topic_name_check(S("/"), 0), CQ_TOPIC_OK);
	ck_assert_int_eq(cq_topic_name_check(S("//"), 0), CQ_TOPIC_OK);
	ck_assert_int_eq(cq_topic_name_check(S("$SYS/x"), 0), CQ_TOPIC_OK);
	/* §4.7.3: spaces are allowed */
	ck_assert_int_eq(
		cq_topic_name_check(S("Accounts payable"), 0), CQ_TOPIC_OK);
}
END_TEST

/* [MQTT-4.7.3-1] [MQTT-4.7.3-2] [MQTT-4.7.3-3] */
START_TEST(topic_name_empty_nul_long_MQTT_4_7_3_1_2_3)
{
	ck_assert_int_eq(cq_topic_name_check("", 0, 0), CQ_TOPIC_EMPTY);
	ck_assert_int_eq(cq_topic_name_check("a\0b", 3, 0), CQ_TOPIC_NUL);
	char *big = malloc(65536);
	memset(big, 'a', 65536);
	ck_assert_int_eq(cq_topic_name_check(big, 65535, 0), CQ_TOPIC_OK);
	ck_assert_int_eq(cq_topic_name_check(big, 65536, 0), CQ_TOPIC_TOO_LONG);
	ck_assert_int_eq(
		cq_topic_filter_check(big, 65536, 0, 0), CQ_TOPIC_TOO_LONG);
	free(big);
}
END_TEST

/* [MQTT-3.3.2-2] [MQTT-4.7.0-1]: no wildcards in a topic name. */
START_TEST(topic_name_wildcard_MQTT_3_3_2_2)
{
	ck_assert_int_eq(cq_topic_name_check(S("a/+"), 0), CQ_TOPIC_WILDCARD);
	ck_assert_int_eq(cq_topic_name_check(S("#"), 0), CQ_TOPIC_WILDCARD);
	ck_assert_int_eq(cq_topic_name_check(S("a/b#c"), 0), CQ_TOPIC_WILDCARD);
}
END_TEST

START_TEST(topic_levels_limit)
{
	ck_assert_int_eq(cq_topic_name_check(S("a/b/c"), 3), CQ_TOPIC_OK);
	ck_assert_int_eq(cq_topic_name_check(S("a/b/c/"), 3), CQ_TOPIC_LEVELS);
	ck_assert_int_eq(cq_topic_filter_check(S("a/+/#"), 3, 0), CQ_TOPIC_OK);
	ck_assert_int_eq(
		cq_topic_filter_check(S("a/+/b/#"), 3, 0), CQ_TOPIC_LEVELS);
	/* the limit counts the filter of a shared subscription */
	ck_assert_int_eq(
		cq_topic_filter_check(S("$share/g/a/b"), 2, CQ_TOPIC_SHARED),
		CQ_TOPIC_OK);
	ck_assert_int_eq(
		cq_topic_filter_check(S("$share/g/a/b/c"), 2, CQ_TOPIC_SHARED),
		CQ_TOPIC_LEVELS);
}
END_TEST

static const struct {
	const char *filter;
	cq_topic_err_t err;
} filters[] = {
	/* §4.7.1.2 and §4.7.1.3 examples */
	{"sport/tennis/player1/#", CQ_TOPIC_OK},
	{"sport/#", CQ_TOPIC_OK},
	{"#", CQ_TOPIC_OK},
	{"+", CQ_TOPIC_OK},
	{"+/tennis/#", CQ_TOPIC_OK},
	{"sport/+/player1", CQ_TOPIC_OK},
	{"/+", CQ_TOPIC_OK},
	{"+/+", CQ_TOPIC_OK},
	{"a//b", CQ_TOPIC_OK},
	/* [MQTT-4.7.1-2] */
	{"sport/tennis#", CQ_TOPIC_BAD_HASH},
	{"sport/tennis/#/ranking", CQ_TOPIC_BAD_HASH},
	{"#/", CQ_TOPIC_BAD_HASH},
	{"##", CQ_TOPIC_BAD_HASH},
	/* [MQTT-4.7.1-3] */
	{"sport+", CQ_TOPIC_BAD_PLUS},
	{"sport/+tennis", CQ_TOPIC_BAD_PLUS},
	{"++", CQ_TOPIC_BAD_PLUS},
	/* [MQTT-4.7.3-1] */
	{"", CQ_TOPIC_EMPTY},
};

START_TEST(topic_filter_table_MQTT_4_7_1_2_and_3)
{
	for (size_t i = 0; i < CQ_ARRAY_SIZE(filters); i++)
		ck_assert_msg(cq_topic_filter_check(S(filters[i].filter), 0,
				      CQ_TOPIC_SHARED) == filters[i].err,
			"filter \"%s\"", filters[i].filter);
	ck_assert_int_eq(cq_topic_filter_check("a\0", 2, 0, 0), CQ_TOPIC_NUL);
}
END_TEST

/* [MQTT-4.8.2-1] [MQTT-4.8.2-2] */
START_TEST(topic_share_syntax_MQTT_4_8_2_1_and_2)
{
	unsigned sh = CQ_TOPIC_SHARED;
	ck_assert_int_eq(
		cq_topic_filter_check(S("$share/g/a/#"), 0, sh), CQ_TOPIC_OK);
	ck_assert_int_eq(
		cq_topic_filter_check(S("$share/g/#"), 0, sh), CQ_TOPIC_OK);
	ck_assert_int_eq(cq_topic_filter_check(S("$share//a"), 0, sh),
		CQ_TOPIC_SHARE_GROUP);
	ck_assert_int_eq(cq_topic_filter_check(S("$share/"), 0, sh),
		CQ_TOPIC_SHARE_GROUP);
	ck_assert_int_eq(cq_topic_filter_check(S("$share/g+/a"), 0, sh),
		CQ_TOPIC_SHARE_GROUP);
	ck_assert_int_eq(cq_topic_filter_check(S("$share/#/a"), 0, sh),
		CQ_TOPIC_SHARE_GROUP);
	ck_assert_int_eq(cq_topic_filter_check(S("$share/g"), 0, sh),
		CQ_TOPIC_SHARE_FILTER);
	ck_assert_int_eq(cq_topic_filter_check(S("$share/g/"), 0, sh),
		CQ_TOPIC_SHARE_FILTER);
	ck_assert_int_eq(cq_topic_filter_check(S("$share/g/a+"), 0, sh),
		CQ_TOPIC_BAD_PLUS);
	/* Not shared: "$share" alone, "$shared/...", and without the flag. */
	ck_assert_int_eq(
		cq_topic_filter_check(S("$share"), 0, sh), CQ_TOPIC_OK);
	ck_assert_int_eq(
		cq_topic_filter_check(S("$shared/g"), 0, sh), CQ_TOPIC_OK);
	ck_assert_int_eq(
		cq_topic_filter_check(S("$share/g"), 0, 0), CQ_TOPIC_OK);
}
END_TEST

START_TEST(topic_share_split)
{
	cq_mqtt_view_t g, f;
	ck_assert(cq_topic_is_shared(S("$share/consumer1/sport/tennis/+")));
	ck_assert_int_eq(
		cq_topic_share_split(S("$share/consumer1/sport/+"), &g, &f),
		CQ_TOPIC_OK);
	ck_assert_uint_eq(g.len, 9);
	ck_assert_mem_eq(g.ptr, "consumer1", 9);
	ck_assert_uint_eq(f.len, 7);
	ck_assert_mem_eq(f.ptr, "sport/+", 7);
	ck_assert_int_eq(
		cq_topic_share_split(S("$share/g//"), &g, &f), CQ_TOPIC_OK);
	ck_assert_uint_eq(f.len, 1);
	ck_assert(!cq_topic_is_shared(S("$share")));
	ck_assert(!cq_topic_is_shared(S("$SYS/share/x")));
}
END_TEST

START_TEST(topic_dollar)
{
	ck_assert(cq_topic_is_dollar(S("$SYS/broker")));
	ck_assert(cq_topic_is_dollar(S("$")));
	ck_assert(!cq_topic_is_dollar(S("SYS/$")));
	ck_assert(!cq_topic_is_dollar("", 0));
}
END_TEST

static const struct {
	const char *filter, *topic;
	bool match;
} matches[] = {
	/* §4.7.1.2 */
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon",
		true},
	{"sport/#", "sport", true},
	{"#", "sport/tennis", true},
	{"#", "/", true},
	/* §4.7.1.3 */
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"+", "/finance", false},
	{"+/tennis/#", "sport/tennis/player1", true},
	{"sport/+/player1", "sport/tennis/player1", true},
	{"sport/+/player1", "sport/tennis/player2", false},
	/* §4.7.2 [MQTT-4.7.2-1] */
	{"#", "$SYS/broker/load", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"$SYS/#", "$SYS", true},
	{"+", "$", false},
	/* §4.7.3: case, spaces, leading and trailing '/' are significant */
	{"ACCOUNTS", "Accounts", false},
	{"Accounts payable", "Accounts payable", true},
	{"/finance", "finance", false},
	{"finance", "finance/", false},
	{"finance/", "finance/", true},
	{"finance/", "finance/x", false},
	{"a/b", "a/bc", false},
	{"a/bc", "a/b", false},
	{"a//b", "a//b", true},
	{"a/+/b", "a//b", true},
	{"+/+/+", "a/b", false},
	{"a/#", "a/", true},
	{"a/b/#", "a", false},
};

START_TEST(topic_match_table_MQTT_4_7)
{
	for (size_t i = 0; i < CQ_ARRAY_SIZE(matches); i++)
		ck_assert_msg(cq_topic_match(S(matches[i].filter),
				      S(matches[i].topic)) == matches[i].match,
			"filter \"%s\" topic \"%s\": expected %d",
			matches[i].filter, matches[i].topic, matches[i].match);
}
END_TEST

/* Invalid filters and empty strings never read out of bounds. */
START_TEST(topic_match_robust)
{
	ck_assert(!cq_topic_match("", 0, S("a")));
	ck_assert(!cq_topic_match(S("a"), "", 0));
	ck_assert(cq_topic_match(S("a/#/b"), S("a/x")));
	ck_assert(!cq_topic_match(S("a+"), S("a")));
}
END_TEST

START_TEST(topic_err_names)
{
	ck_assert_str_eq(cq_topic_err_name(CQ_TOPIC_OK), "ok");
	ck_assert_str_eq(
		cq_topic_err_name(CQ_TOPIC_WILDCARD), "wildcard in topic name");
	ck_assert_str_eq(
		cq_topic_err_name((cq_topic_err_t)99), "unknown topic error");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_topic");
	TCase *tc = tcase_create("topic");
	tcase_add_test(tc, topic_name_valid);
	tcase_add_test(tc, topic_name_empty_nul_long_MQTT_4_7_3_1_2_3);
	tcase_add_test(tc, topic_name_wildcard_MQTT_3_3_2_2);
	tcase_add_test(tc, topic_levels_limit);
	tcase_add_test(tc, topic_filter_table_MQTT_4_7_1_2_and_3);
	tcase_add_test(tc, topic_share_syntax_MQTT_4_8_2_1_and_2);
	tcase_add_test(tc, topic_share_split);
	tcase_add_test(tc, topic_dollar);
	tcase_add_test(tc, topic_match_table_MQTT_4_7);
	tcase_add_test(tc, topic_match_robust);
	tcase_add_test(tc, topic_err_names);
	suite_add_tcase(s, tc);
	return s;
}
