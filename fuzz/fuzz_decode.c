/*
 * fuzz_decode.c — libFuzzer target for the MQTT codec (src/mqtt/).
 *
 * The input is read as a byte stream arriving on a connection, once for
 * each starting protocol level (0: expecting CONNECT, 3, 4, 5) and two
 * decoder configurations.  Every packet that decodes must encode again
 * (cq_mqtt_size() never 0, the encoder refuses one byte less), decode to
 * an equal packet, and encode to the same bytes a second time.  Errors
 * must map to a reply.  The same bytes also go through the property
 * parser, the UTF-8 validators and the topic functions, with a few
 * invariants between them.  Any broken invariant aborts, which libFuzzer
 * reports as a crash.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/packet.h"
#include "mqtt/props.h"
#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "mqtt/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* Bounds the work per input: a stream of tiny packets is cut here. */
#define MAX_PACKETS 64

/* Walk a decoded property section: every byte parses, counts agree. */
static void
walk_props(const cq_mqtt_props_t *props)
{
	cq_mqtt_prop_iter_t it;
	cq_mqtt_prop_t pr;
	uint64_t seen = 0;

	cq_mqtt_props_iter(props, &it);
	while (cq_mqtt_props_next(&it, &pr))
		seen |= CQ_MQTT_PROP_BIT(pr.id);
	CHECK(props->raw == NULL || it.p == props->raw + props->len);
	CHECK(seen == props->present);
	for (unsigned id = 1; id <= CQ_MQTT_PROP_ID_MAX; id++) {
		unsigned type = cq_mqtt_prop_type(id);
		uint32_t n;
		cq_mqtt_view_t v;
		bool has = cq_mqtt_props_has(props, id);
		if (type == CQ_MQTT_PT_NONE || type == CQ_MQTT_PT_PAIR)
			continue;
		if (type < CQ_MQTT_PT_UTF8)
			CHECK((cq_mqtt_props_get_int(props, id, &n) == 0) ==
				has);
		else
			CHECK((cq_mqtt_props_get_bin(props, id, &v) == 0) ==
				has);
		CHECK((cq_mqtt_props_count(props, id) > 0) == has);
	}
}

static void
walk_packet(const cq_mqtt_packet_t *pkt)
{
	cq_mqtt_sub_iter_t it;
	cq_mqtt_sub_t sub;
	cq_mqtt_view_t f;
	uint32_t n = 0;

	switch (pkt->type) {
	case CQ_MQTT_CONNECT:
		walk_props(&pkt->u.connect.props);
		walk_props(&pkt->u.connect.will_props);
		break;
	case CQ_MQTT_PUBLISH:
		walk_props(&pkt->u.publish.props);
		break;
	case CQ_MQTT_SUBSCRIBE:
		walk_props(&pkt->u.subscribe.props);
		cq_mqtt_subscribe_iter(&pkt->u.subscribe, &it);
		while (cq_mqtt_subscribe_next(&it, &sub)) {
			cq_topic_filter_check(sub.filter.ptr, sub.filter.len, 8,
				CQ_TOPIC_SHARED);
			n++;
		}
		CHECK(n == pkt->u.subscribe.count);
		break;
	case CQ_MQTT_UNSUBSCRIBE:
		cq_mqtt_unsubscribe_iter(&pkt->u.subscribe, &it);
		while (cq_mqtt_unsubscribe_next(&it, &f))
			n++;
		CHECK(n == pkt->u.subscribe.count);
		break;
	default:
		break;
	}
}

/* Encode, decode, compare, encode again, compare the bytes. */
static void
roundtrip(const cq_mqtt_packet_t *pkt, const cq_mqtt_dec_t *dec)
{
	uint8_t v = pkt->type == CQ_MQTT_CONNECT ? pkt->u.connect.version
						 : dec->version;
	size_t size = cq_mqtt_size(pkt, v);
	cq_mqtt_dec_t d2 = *dec;
	cq_mqtt_frame_t fr;
	cq_mqtt_packet_t again;

	CHECK(size >= 2);
	uint8_t *a = malloc(size), *b = malloc(size);
	CHECK(a != NULL && b != NULL);
	CHECK(cq_mqtt_encode(pkt, v, a, size - 1) == 0);
	CHECK(cq_mqtt_encode(pkt, v, a, size) == size);
	d2.max_packet = 0;
	CHECK(cq_mqtt_read(a, size, &d2, &fr, &again) == 0);
	CHECK(fr.size == size);
	CHECK(cq_mqtt_packet_equal(pkt, &again));
	CHECK(cq_mqtt_encode(&again, v, b, size) == size);
	CHECK(memcmp(a, b, size) == 0);
	free(a);
	free(b);
}

static void
decode_stream(const uint8_t *data, size_t size, uint8_t version,
	const cq_mqtt_dec_t *conf)
{
	cq_mqtt_dec_t dec = *conf;
	size_t off = 0;

	dec.version = version;
	for (int i = 0; i < MAX_PACKETS; i++) {
		cq_mqtt_frame_t fr;
		cq_mqtt_packet_t pkt;
		int rc = cq_mqtt_read(data + off, size - off, &dec, &fr, &pkt);
		if (rc == CQ_AGAIN) {
			CHECK(fr.need > size - off);
			return;
		}
		if (rc < 0) {
			cq_mqtt_reply_t r = cq_mqtt_err_reply(
				fr.err, dec.version, i > 0);
			CHECK(r.kind <= CQ_MQTT_REPLY_DISCONNECT);
			CHECK(cq_mqtt_err_name(fr.err) != NULL);
			return;
		}
		CHECK(fr.size <= size - off);
		walk_packet(&pkt);
		roundtrip(&pkt, &dec);
		if (pkt.type == CQ_MQTT_CONNECT)
			dec.version = pkt.u.connect.version;
		off += fr.size;
	}
}

/* Topic functions on the input cut in two at a position it chooses. */
static void
topics(const uint8_t *data, size_t size)
{
	size_t cut = data[0] % size;
	const uint8_t *f = data + 1, *t = data + cut;
	size_t flen = cut > 0 ? cut - 1 : 0, tlen = size - cut;
	cq_mqtt_view_t group, filter;

	cq_topic_err_t te = cq_topic_name_check(t, tlen, 0);
	/* Any filter, even an invalid one, against any name: no crash. */
	(void)cq_topic_match(f, flen, t, tlen);
	/* A valid name is a valid filter that matches itself literally. */
	if (te == CQ_TOPIC_OK) {
		CHECK(cq_topic_filter_check(t, tlen, 0, 0) == CQ_TOPIC_OK);
		CHECK(cq_topic_match(t, tlen, t, tlen));
	}
	/* "#" matches every name not starting with '$'. */
	if (te == CQ_TOPIC_OK && t[0] != '$')
		CHECK(cq_topic_match("#", 1, t, tlen));
	if (cq_topic_is_shared(f, flen))
		cq_topic_share_split(f, flen, &group, &filter);
	cq_topic_filter_check(f, flen, 3, CQ_TOPIC_SHARED);
}

static void
props_and_utf8(const uint8_t *data, size_t size)
{
	bool strict = cq_utf8_valid_mqtt(data, size);
	CHECK(!strict || cq_utf8_valid(data, size));
	CHECK(!strict || memchr(data, 0, size) == NULL);
	if (cq_utf8_valid(data, size))
		CHECK(cq_utf8_count(data, size) <= size);
	for (unsigned ptype = 0; ptype < 16; ptype++) {
		cq_mqtt_props_t props;
		if (cq_mqtt_props_parse(data, (uint32_t)size, ptype, &props) ==
			CQ_MQTT_OK) {
			walk_props(&props);
			uint8_t copy[256];
			cq_mqtt_pbuf_t pb;
			cq_mqtt_pbuf_init(&pb, copy, sizeof(copy));
			if (cq_mqtt_pbuf_copy(&pb, &props, 0) == 0) {
				CHECK(pb.len == props.len);
				CHECK(memcmp(copy, props.raw, pb.len) == 0);
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t versions[] = {
		0, CQ_MQTT_V31, CQ_MQTT_V311, CQ_MQTT_V5};
	static const cq_mqtt_dec_t confs[] = {
		{0, 0, 0, 0},
		{0, CQ_MQTT_DEC_FROM_CLIENT | CQ_MQTT_DEC_PAYLOAD_UTF8, 4,
			1024},
	};

	if (size == 0)
		return 0;
	for (size_t c = 0; c < sizeof(confs) / sizeof(confs[0]); c++)
		for (size_t v = 0; v < sizeof(versions); v++)
			decode_stream(data, size, versions[v], &confs[c]);
	topics(data, size);
	props_and_utf8(data, size);
	return 0;
}
