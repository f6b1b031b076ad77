/*
 * check_mqtt_subscribe.c — SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK
 * (src/mqtt/subscribe.c) for MQTT 3.1, 3.1.1 and 5.0: vectors written
 * from §3.8 to §3.11, the entry iterators, and the malformed cases.
 */
#include "config.h"

#include <string.h>

#include "mqtt/props.h"
#include "mqtt/subscribe.h"
#include "mqtt/topic.h"
#include "t/unit/check_mqtt_util.h"
#include "t/unit/unit.h"

/* 3.1.1 §3.8.3 (Figure 3.22): id 10, "a/b" QoS 1, "c/d" QoS 2. */
static const uint8_t sub3[] = {0x82, 0x0e, 0x00, 0x0a, 0x00, 0x03, 'a', '/',
	'b', 0x01, 0x00, 0x03, 'c', '/', 'd', 0x02};
/* 5.0 §3.8: subscription id 5 and a user property; "a/+" with No Local,
 * Retain As Published, Retain Handling 2, QoS 1; "$share/g/x" QoS 0. */
static const uint8_t sub5[] = {0x82, 0x1f, 0x00, 0x0a, 0x09, /* properties */
	0x0b, 0x05, /* subscription id 5 */
	0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', /* user k=v */
	0x00, 0x03, 'a', '/', '+', 0x2d, 0x00, 0x0a, '$', 's', 'h', 'a', 'r',
	'e', '/', 'g', '/', 'x', 0x00};
/* §3.10: id 11, "a/b", "c/d". */
static const uint8_t unsub3[] = {0xa2, 0x0c, 0x00, 0x0b, 0x00, 0x03, 'a', '/',
	'b', 0x00, 0x03, 'c', '/', 'd'};
static const uint8_t unsub5[] = {0xa2, 0x0d, 0x00, 0x0b, 0x00, 0x00, 0x03, 'a',
	'/', 'b', 0x00, 0x03, 'c', '/', 'd'};
/* §3.9: 0x00, 0x02 and the 3.1.1 failure 0x80. */
static const uint8_t suback3[] = {0x90, 0x05, 0x00, 0x0a, 0x00, 0x02, 0x80};
static const uint8_t suback5[] = {
	0x90, 0x0a, 0x00, 0x0a, 0x04, 0x1f, 0x00, 0x01, '!', 0x01, 0x8f, 0xa2};
/* §3.11 */
static const uint8_t unsuback3[] = {0xb0, 0x02, 0x00, 0x0b};
static const uint8_t unsuback5[] = {0xb0, 0x04, 0x00, 0x0b, 0x00, 0x11};

START_TEST(subscribe_vectors_roundtrip_3_8_to_3_11)
{
	ROUNDTRIP(sub3, V311);
	ROUNDTRIP(sub3, V31);
	ROUNDTRIP(sub5, V5);
	ROUNDTRIP(unsub3, V311);
	ROUNDTRIP(unsub3, V31);
	ROUNDTRIP(unsub5, V5);
	ROUNDTRIP(suback3, V311);
	ROUNDTRIP(suback3, V31);
	ROUNDTRIP(suback5, V5);
	ROUNDTRIP(unsuback3, V311);
	ROUNDTRIP(unsuback3, V31);
	ROUNDTRIP(unsuback5, V5);
}
END_TEST

START_TEST(subscribe_iterate_entries)
{
	cq_mqtt_packet_t pkt;
	cq_mqtt_sub_iter_t it;
	cq_mqtt_sub_t sub;
	uint32_t id;

	ck_assert_int_eq(
		mqtt_decode(sub5, sizeof(sub5), V5, 0, &pkt), CQ_MQTT_OK);
	cq_mqtt_subscribe_t *s = &pkt.u.subscribe;
	ck_assert_uint_eq(s->packet_id, 10);
	ck_assert_uint_eq(s->count, 2);
	ck_assert_int_eq(cq_mqtt_props_sub_id(&s->props, &id), 0);
	ck_assert_uint_eq(id, 5);
	cq_mqtt_subscribe_iter(s, &it);
	ck_assert(cq_mqtt_subscribe_next(&it, &sub));
	ck_assert_uint_eq(sub.filter.len, 3);
	ck_assert_mem_eq(sub.filter.ptr, "a/+", 3);
	ck_assert_uint_eq(sub.qos, 1);
	ck_assert(sub.no_local && sub.retain_as_published);
	ck_assert_uint_eq(sub.retain_handling, 2);
	ck_assert_uint_eq(sub.options, 0x2d);
	ck_assert(cq_mqtt_subscribe_next(&it, &sub));
	ck_assert_mem_eq(sub.filter.ptr, "$share/g/x", 10);
	ck_assert_uint_eq(sub.qos, 0);
	ck_assert(!sub.no_local);
	ck_assert(!cq_mqtt_subscribe_next(&it, &sub));

	cq_mqtt_view_t f;
	ck_assert_int_eq(
		mqtt_decode(unsub3, sizeof(unsub3), V311, 0, &pkt), CQ_MQTT_OK);
	ck_assert_uint_eq(s->count, 2);
	cq_mqtt_unsubscribe_iter(s, &it);
	ck_assert(cq_mqtt_unsubscribe_next(&it, &f));
	ck_assert_mem_eq(f.ptr, "a/b", 3);
	ck_assert(cq_mqtt_unsubscribe_next(&it, &f));
	ck_assert_mem_eq(f.ptr, "c/d", 3);
	ck_assert(!cq_mqtt_unsubscribe_next(&it, &f));
}
END_TEST

/* A client builds the list entry by entry; 3.x sends only the QoS bits. */
START_TEST(subscribe_encode_from_entries)
{
	uint8_t list[32], props[16];
	size_t n = 0;
	cq_mqtt_sub_t a = {.qos = 1,
		.no_local = true,
		.retain_as_published = true,
		.retain_handling = 2};
	cq_mqtt_sub_t b = {.qos = 0};
	a.filter = cq_mqtt_view("a/+", 3);
	b.filter = cq_mqtt_view("$share/g/x", 10);
	n += cq_mqtt_sub_entry_encode(&a, V5, list + n, sizeof(list) - n);
	n += cq_mqtt_sub_entry_encode(&b, V5, list + n, sizeof(list) - n);
	ck_assert_uint_eq(n, 19);
	ck_assert_uint_eq(cq_mqtt_sub_entry_encode(&a, V5, list, 5), 0);

	cq_mqtt_pbuf_t pb;
	cq_mqtt_pbuf_init(&pb, props, sizeof(props));
	cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SUBSCRIPTION_ID, 5);
	cq_mqtt_pbuf_user(&pb, "k", 1, "v", 1);
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_SUBSCRIBE};
	pkt.u.subscribe.packet_id = 10;
	pkt.u.subscribe.props = cq_mqtt_pbuf_props(&pb);
	pkt.u.subscribe.list = cq_mqtt_view(list, n);
	pkt.u.subscribe.count = 2;
	mqtt_encodes_to(&pkt, V5, sub5, sizeof(sub5));

	/* 3.1.1: only the QoS bits */
	a.filter = cq_mqtt_view("a/b", 3);
	b.filter = cq_mqtt_view("c/d", 3);
	b.qos = 2;
	n = cq_mqtt_sub_entry_encode(&a, V311, list, sizeof(list));
	n += cq_mqtt_sub_entry_encode(&b, V311, list + n, sizeof(list) - n);
	pkt.u.subscribe.list = cq_mqtt_view(list, n);
	mqtt_encodes_to(&pkt, V311, sub3, sizeof(sub3));
}
END_TEST

/* The broker answers SUBACK/UNSUBACK with the codes it chose. */
START_TEST(suback_encode_from_struct)
{
	static const uint8_t codes[] = {0x00, 0x02, 0x80};
	cq_mqtt_packet_t pkt = {.type = CQ_MQTT_SUBACK};
	pkt.u.suback.packet_id = 10;
	pkt.u.suback.codes = cq_mqtt_view(codes, sizeof(codes));
	mqtt_encodes_to(&pkt, V311, suback3, sizeof(suback3));
	pkt.type = CQ_MQTT_UNSUBACK;
	pkt.u.suback.packet_id = 11;
	mqtt_encodes_to(&pkt, V311, unsuback3, sizeof(unsuback3));
	static const uint8_t nosub[] = {0x11};
	pkt.u.suback.codes = cq_mqtt_view(nosub, 1);
	mqtt_encodes_to(&pkt, V5, unsuback5, sizeof(unsuback5));
}
END_TEST

/* [MQTT-3.8.1-1] [MQTT-3.10.1-1]: flags 0010. */
START_TEST(subscribe_fixed_flags_MQTT_3_8_1_1)
{
	ck_assert_int_eq(
		err_with(sub3, sizeof(sub3), 0, 0x80, V311), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(
		err_with(sub5, sizeof(sub5), 0, 0x83, V5), CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(err_with(unsub3, sizeof(unsub3), 0, 0xa0, V311),
		CQ_MQTT_ERR_FLAGS);
	ck_assert_int_eq(err_with(suback3, sizeof(suback3), 0, 0x92, V311),
		CQ_MQTT_ERR_FLAGS);
	/* 3.1 retransmissions carried DUP: accepted there */
	ck_assert_int_eq(
		err_with(sub3, sizeof(sub3), 0, 0x8a, V31), CQ_MQTT_OK);
}
END_TEST

/* 3.1.1 [MQTT-3.8.3-3] [MQTT-3.10.3-2]; 5.0 [MQTT-3.8.3-2]
 * [MQTT-3.10.3-2]: at least one topic filter. */
START_TEST(subscribe_empty_list_MQTT_3_8_3_3)
{
	static const uint8_t sub_empty3[] = {0x82, 0x02, 0x00, 0x0a};
	static const uint8_t sub_empty5[] = {0x82, 0x03, 0x00, 0x0a, 0x00};
	static const uint8_t unsub_empty3[] = {0xa2, 0x02, 0x00, 0x0b};
	static const uint8_t unsub_empty5[] = {0xa2, 0x03, 0x00, 0x0b, 0x00};
	ck_assert_int_eq(ERR(sub_empty3, V311), CQ_MQTT_ERR_EMPTY_LIST);
	ck_assert_int_eq(ERR(sub_empty5, V5), CQ_MQTT_ERR_EMPTY_LIST);
	ck_assert_int_eq(ERR(unsub_empty3, V311), CQ_MQTT_ERR_EMPTY_LIST);
	ck_assert_int_eq(ERR(unsub_empty5, V5), CQ_MQTT_ERR_EMPTY_LIST);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_EMPTY_LIST), 0x82);
}
END_TEST

START_TEST(subscribe_packet_id_and_truncation)
{
	ck_assert_int_eq(err_with(sub3, sizeof(sub3), 3, 0x00, V311),
		CQ_MQTT_ERR_PACKET_ID);
	ck_assert_int_eq(err_with(unsub5, sizeof(unsub5), 3, 0x00, V5),
		CQ_MQTT_ERR_PACKET_ID);
	ck_assert_int_eq(err_with(suback3, sizeof(suback3), 3, 0x00, V311),
		CQ_MQTT_ERR_PACKET_ID);
	/* missing options byte, filter past the end */
	static const uint8_t no_opts[] = {
		0x82, 0x07, 0x00, 0x0a, 0x00, 0x03, 'a', '/', 'b'};
	static const uint8_t cut[] = {
		0x82, 0x06, 0x00, 0x0a, 0x00, 0x09, 'a', '/'};
	ck_assert_int_eq(ERR(no_opts, V311), CQ_MQTT_ERR_SHORT);
	ck_assert_int_eq(ERR(cut, V311), CQ_MQTT_ERR_SHORT);
	/* [MQTT-3.8.3-1] [MQTT-3.10.3-1]: filters are UTF-8 strings */
	ck_assert_int_eq(
		err_with(sub3, sizeof(sub3), 7, 0xc0, V311), CQ_MQTT_ERR_UTF8);
	ck_assert_int_eq(err_with(unsub3, sizeof(unsub3), 7, 0x00, V311),
		CQ_MQTT_ERR_UTF8);
}
END_TEST

/* 3.1.1 [MQTT-3-8.3-4]: reserved bits and QoS 3 are malformed. */
START_TEST(subscribe_options_v3_MQTT_3_8_3_4)
{
	ck_assert_int_eq(err_with(sub3, sizeof(sub3), 9, 0x05, V311),
		CQ_MQTT_ERR_SUB_OPTIONS);
	ck_assert_int_eq(err_with(sub3, sizeof(sub3), 9, 0x81, V311),
		CQ_MQTT_ERR_SUB_OPTIONS);
	ck_assert_int_eq(err_with(sub3, sizeof(sub3), 15, 0x03, V311),
		CQ_MQTT_ERR_SUB_QOS);
	ck_assert_int_eq(err_with(sub3, sizeof(sub3), 15, 0x03, V31),
		CQ_MQTT_ERR_SUB_QOS);
}
END_TEST

/* 5.0 [MQTT-3.8.3-5] reserved bits; §3.8.3.1 QoS 3 and Retain Handling 3
 * (Protocol Errors); [MQTT-3.8.3-4] No Local on a shared subscription. */
START_TEST(subscribe_options_v5_MQTT_3_8_3_5)
{
	ck_assert_int_eq(err_with(sub5, sizeof(sub5), 19, 0x6d, V5),
		CQ_MQTT_ERR_SUB_OPTIONS);
	ck_assert_int_eq(err_with(sub5, sizeof(sub5), 19, 0xad, V5),
		CQ_MQTT_ERR_SUB_OPTIONS);
	ck_assert_int_eq(err_with(sub5, sizeof(sub5), 19, 0x2f, V5),
		CQ_MQTT_ERR_SUB_QOS);
	ck_assert_int_eq(err_with(sub5, sizeof(sub5), 19, 0x3d, V5),
		CQ_MQTT_ERR_RETAIN_HANDLING);
	ck_assert_int_eq(err_with(sub5, sizeof(sub5), 32, 0x04, V5),
		CQ_MQTT_ERR_SHARE_NO_LOCAL);
	/* the same bits are reserved in 3.1.1 */
	ck_assert_int_eq(err_with(sub3, sizeof(sub3), 9, 0x2d, V311),
		CQ_MQTT_ERR_SUB_OPTIONS);
	ck_assert_uint_eq(
		cq_mqtt_err_reason(CQ_MQTT_ERR_RETAIN_HANDLING), 0x82);
	ck_assert_uint_eq(cq_mqtt_err_reason(CQ_MQTT_ERR_SUB_OPTIONS), 0x81);
}
END_TEST

START_TEST(subscribe_v5_properties)
{
	/* subscription id 0 (§3.8.2.1.2) */
	ck_assert_int_eq(err_with(sub5, sizeof(sub5), 6, 0x00, V5),
		CQ_MQTT_ERR_PROP_VALUE);
	/* subscription id twice: the user property turned into one */
	static const uint8_t two_ids[] = {0x82, 0x0b, 0x00, 0x0a, 0x04, 0x0b,
		0x05, 0x0b, 0x06, 0x00, 0x01, 'a', 0x00};
	ck_assert_int_eq(ERR(two_ids, V5), CQ_MQTT_ERR_PROP_DUP);
	/* Reason String is not a SUBSCRIBE or UNSUBSCRIBE property */
	static const uint8_t reason[] = {0x82, 0x0a, 0x00, 0x0a, 0x03, 0x1f,
		0x00, 0x00, 0x00, 0x01, 'a', 0x00};
	ck_assert_int_eq(ERR(reason, V5), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
	static const uint8_t ureason[] = {0xa2, 0x09, 0x00, 0x0a, 0x03, 0x1f,
		0x00, 0x00, 0x00, 0x01, 'a'};
	ck_assert_int_eq(ERR(ureason, V5), CQ_MQTT_ERR_PROP_NOT_ALLOWED);
}
END_TEST

/*
 * A filter with bad wildcards or $share syntax is not a decode error: the
 * broker refuses that entry alone (v5 SUBACK 0x8F, 3.1.1 0x80).
 */
START_TEST(subscribe_bad_filters_left_to_broker_MQTT_4_7_1_2)
{
	static const uint8_t bad[] = {0x82, 0x19, 0x00, 0x0a, 0x00, /* props */
		0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00, /* a/#/b */
		0x00, 0x07, '$', 's', 'h', 'a', 'r', 'e', '/',
		0x01, /* $share/ */
		0x00, 0x01, 'x', 0x00};
	static const cq_topic_err_t want[] = {
		CQ_TOPIC_BAD_HASH, CQ_TOPIC_SHARE_GROUP, CQ_TOPIC_OK};
	cq_mqtt_packet_t pkt;
	cq_mqtt_sub_iter_t it;
	cq_mqtt_sub_t sub;
	size_t i = 0;

	ck_assert_int_eq(
		mqtt_decode(bad, sizeof(bad), V5, 0, &pkt), CQ_MQTT_OK);
	cq_mqtt_subscribe_iter(&pkt.u.subscribe, &it);
	while (cq_mqtt_subscribe_next(&it, &sub))
		ck_assert_int_eq(cq_topic_filter_check(sub.filter.ptr,
					 sub.filter.len, 0, CQ_TOPIC_SHARED),
			want[i++]);
	ck_assert_uint_eq(i, 3);
}
END_TEST

/* [MQTT-3.9.3-2]: SUBACK codes; 3.11.3: UNSUBACK codes (v5 only). */
START_TEST(suback_unsuback_malformed_MQTT_3_9_3_2)
{
	ck_assert_int_eq(err_with(suback3, sizeof(suback3), 6, 0x03, V311),
		CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(err_with(suback3, sizeof(suback3), 6, 0x8f, V311),
		CQ_MQTT_ERR_REASON);
	ck_assert_int_eq(err_with(suback5, sizeof(suback5), 11, 0x11, V5),
		CQ_MQTT_ERR_REASON);
	static const uint8_t suback_empty[] = {0x90, 0x02, 0x00, 0x0a};
	ck_assert_int_eq(ERR(suback_empty, V311), CQ_MQTT_ERR_EMPTY_LIST);
	static const uint8_t unsuback3_codes[] = {0xb0, 0x03, 0x00, 0x0b, 0x00};
	ck_assert_int_eq(ERR(unsuback3_codes, V311), CQ_MQTT_ERR_TRAILING);
	ck_assert_int_eq(err_with(unsuback5, sizeof(unsuback5), 5, 0x01, V5),
		CQ_MQTT_ERR_REASON);
	static const uint8_t unsuback5_empty[] = {0xb0, 0x03, 0x00, 0x0b, 0x00};
	ck_assert_int_eq(ERR(unsuback5_empty, V5), CQ_MQTT_ERR_EMPTY_LIST);
	/* the v5 property section must be there */
	ck_assert_int_eq(ERR(unsuback3, V5), CQ_MQTT_ERR_PROP_LENGTH);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("mqtt_subscribe");
	TCase *tc = tcase_create("subscribe");
	tcase_add_test(tc, subscribe_vectors_roundtrip_3_8_to_3_11);
	tcase_add_test(tc, subscribe_iterate_entries);
	tcase_add_test(tc, subscribe_encode_from_entries);
	tcase_add_test(tc, suback_encode_from_struct);
	tcase_add_test(tc, subscribe_fixed_flags_MQTT_3_8_1_1);
	tcase_add_test(tc, subscribe_empty_list_MQTT_3_8_3_3);
	tcase_add_test(tc, subscribe_packet_id_and_truncation);
	tcase_add_test(tc, subscribe_options_v3_MQTT_3_8_3_4);
	tcase_add_test(tc, subscribe_options_v5_MQTT_3_8_3_5);
	tcase_add_test(tc, subscribe_v5_properties);
	tcase_add_test(tc, subscribe_bad_filters_left_to_broker_MQTT_4_7_1_2);
	tcase_add_test(tc, suback_unsuback_malformed_MQTT_3_9_3_2);
	suite_add_tcase(s, tc);
	return s;
}
