/*
 * check_mqtt_utf8.c — the UTF-8 validator (src/mqtt/utf8.c) against the
 * rules of MQTT 5 §1.5.4 and RFC 3629 / Unicode Table 3-7.
 */
#include "config.h"

#include <string.h>

#include "mqtt/utf8.h"
#include "t/unit/unit.h"

#define S(lit) lit, sizeof(lit) - 1

START_TEST(utf8_well_formed_accepted)
{
	ck_assert(cq_utf8_valid_mqtt(S("")));
	ck_assert(cq_utf8_valid_mqtt(S("sensors/temperature")));
	ck_assert(cq_utf8_valid_mqtt(S("\xc2\xa9"))); /* U+00A9 */
	ck_assert(cq_utf8_valid_mqtt(S("\xdf\xbf"))); /* U+07FF */
	ck_assert(cq_utf8_valid_mqtt(S("\xe0\xa0\x80"))); /* U+0800 */
	ck_assert(cq_utf8_valid_mqtt(S("\xed\x9f\xbf"))); /* U+D7FF */
	ck_assert(cq_utf8_valid_mqtt(S("\xee\x80\x80"))); /* U+E000 */
	ck_assert(cq_utf8_valid_mqtt(S("\xf0\x90\x80\x80"))); /* U+10000 */
	ck_assert(cq_utf8_valid_mqtt(S("\xf4\x8f\xbf\xbf"))); /* U+10FFFF */
	/* The example of §1.5.4.1: "A" U+2A6D4 */
	ck_assert(cq_utf8_valid_mqtt(S("A\xf0\xaa\x9b\x94")));
}
END_TEST

/* [MQTT-1.5.4-1]: overlong forms are ill-formed. */
START_TEST(utf8_overlong_rejected_MQTT_1_5_4_1)
{
	ck_assert(!cq_utf8_valid(S("\xc0\x80")));
	ck_assert(!cq_utf8_valid(S("\xc1\xbf")));
	ck_assert(!cq_utf8_valid(S("\xe0\x80\x80")));
	ck_assert(!cq_utf8_valid(S("\xe0\x9f\xbf")));
	ck_assert(!cq_utf8_valid(S("\xf0\x80\x80\x80")));
	ck_assert(!cq_utf8_valid(S("\xf0\x8f\xbf\xbf")));
}
END_TEST

/* [MQTT-1.5.4-1]: U+D800..U+DFFF and values past U+10FFFF. */
START_TEST(utf8_surrogates_and_range_rejected_MQTT_1_5_4_1)
{
	ck_assert(!cq_utf8_valid(S("\xed\xa0\x80"))); /* U+D800 */
	ck_assert(!cq_utf8_valid(S("\xed\xbf\xbf"))); /* U+DFFF */
	ck_assert(!cq_utf8_valid(S("\xed\xa0\xbd\xed\xb8\x80"))); /* CESU-8 */
	ck_assert(!cq_utf8_valid(S("\xf4\x90\x80\x80"))); /* U+110000 */
	ck_assert(!cq_utf8_valid(S("\xf5\x80\x80\x80")));
	ck_assert(!cq_utf8_valid(S("\xff")));
	ck_assert(!cq_utf8_valid(S("\xfe")));
}
END_TEST

START_TEST(utf8_truncated_and_stray_rejected_MQTT_1_5_4_1)
{
	ck_assert(!cq_utf8_valid(S("\xc2")));
	ck_assert(!cq_utf8_valid(S("\xe2\x82")));
	ck_assert(!cq_utf8_valid(S("\xf0\x9f\x98")));
	ck_assert(!cq_utf8_valid(S("abc\xf0\x9f\x98")));
	ck_assert(!cq_utf8_valid(S("\x80")));
	ck_assert(!cq_utf8_valid(S("a\xbfz")));
	ck_assert(!cq_utf8_valid(S("\xe2\x28\xa1"))); /* bad 2nd byte */
	ck_assert(!cq_utf8_valid(S("\xe2\x82\x28"))); /* bad 3rd byte */
	ck_assert(!cq_utf8_valid(S("\xf0\x9f\x98\x28")));
}
END_TEST

/* [MQTT-1.5.4-2]: no U+0000 in a string; a payload may hold it. */
START_TEST(utf8_nul_MQTT_1_5_4_2)
{
	ck_assert(!cq_utf8_valid_mqtt(S("\0")));
	ck_assert(!cq_utf8_valid_mqtt(S("a/b\0c")));
	ck_assert(cq_utf8_valid(S("a/b\0c")));
	/* A NUL at every position of a long ASCII string (fast path). */
	char s[40];
	for (size_t i = 0; i < sizeof(s); i++) {
		memset(s, 'x', sizeof(s));
		s[i] = '\0';
		ck_assert_msg(
			!cq_utf8_valid_mqtt(s, sizeof(s)), "NUL at %zu", i);
		ck_assert(cq_utf8_valid(s, sizeof(s)));
	}
}
END_TEST

/*
 * Our choice under §1.5.4: control characters, non-characters and the
 * byte order mark are accepted, and U+FEFF is kept [MQTT-1.5.4-3].
 */
START_TEST(utf8_control_and_noncharacters_accepted_MQTT_1_5_4_3)
{
	ck_assert(cq_utf8_valid_mqtt(S("\x01\x1f\x7f")));
	ck_assert(cq_utf8_valid_mqtt(S("\xc2\x80\xc2\x9f"))); /* C1 controls */
	ck_assert(cq_utf8_valid_mqtt(S("\xef\xbf\xbf"))); /* U+FFFF */
	ck_assert(cq_utf8_valid_mqtt(S("\xef\xb7\x90"))); /* U+FDD0 */
	ck_assert(cq_utf8_valid_mqtt(S("\xef\xbb\xbf"
				       "a"))); /* BOM */
}
END_TEST

/* Multi-byte characters at every offset around the 8-byte fast path. */
START_TEST(utf8_every_alignment)
{
	char s[64];
	for (size_t i = 0; i + 4 <= sizeof(s); i++) {
		memset(s, 'a', sizeof(s));
		memcpy(s + i, "\xf0\x9f\x98\x80", 4);
		ck_assert(cq_utf8_valid_mqtt(s, sizeof(s)));
		s[i + 3] = 'a'; /* truncate it */
		ck_assert(!cq_utf8_valid_mqtt(s, sizeof(s)));
		s[i] = (char)0xc0; /* overlong lead, then ASCII */
		ck_assert(!cq_utf8_valid(s, sizeof(s)));
	}
}
END_TEST

START_TEST(utf8_count_code_points)
{
	ck_assert_uint_eq(cq_utf8_count(S("")), 0);
	ck_assert_uint_eq(cq_utf8_count(S("abc")), 3);
	ck_assert_uint_eq(cq_utf8_count(S("A\xf0\xaa\x9b\x94\xc2\xa9")), 3);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_utf8");
	TCase *tc = tcase_create("utf8");
	tcase_add_test(tc, utf8_well_formed_accepted);
	tcase_add_test(tc, utf8_overlong_rejected_MQTT_1_5_4_1);
	tcase_add_test(tc, utf8_surrogates_and_range_rejected_MQTT_1_5_4_1);
	tcase_add_test(tc, utf8_truncated_and_stray_rejected_MQTT_1_5_4_1);
	tcase_add_test(tc, utf8_nul_MQTT_1_5_4_2);
	tcase_add_test(
		tc, utf8_control_and_noncharacters_accepted_MQTT_1_5_4_3);
	tcase_add_test(tc, utf8_every_alignment);
	tcase_add_test(tc, utf8_count_code_points);
	suite_add_tcase(s, tc);
	return s;
}
