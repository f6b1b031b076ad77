/*
 * varint.h — the MQTT Variable Byte Integer (§1.5.5 of MQTT 5, §2.2.3 of
 * 3.1.1): 7 bits per byte, least significant group first, the top bit set
 * on every byte but the last, at most four bytes (0..268,435,455).
 *
 * Inline because the framer decodes one per packet and encoders size and
 * write one or two per packet.
 */
#ifndef CQ_MQTT_VARINT_H
#define CQ_MQTT_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/defs.h"
#include "mqtt/proto.h"

#define CQ_MQTT_VARINT_MAX_LEN 4

/* Bytes needed for v; v must be at most CQ_MQTT_MAX_REMAINING. */
static inline unsigned
cq_mqtt_varint_size(uint32_t v)
{
	return v < 128u ? 1 : v < 16384u ? 2 : v < 2097152u ? 3 : 4;
}

/* Write v (at most CQ_MQTT_MAX_REMAINING) at p; returns the bytes written. */
static inline unsigned
cq_mqtt_varint_put(uint8_t *p, uint32_t v)
{
	unsigned n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = v ? (uint8_t)(b | 0x80) : b;
	} while (v);
	return n;
}

/*
 * Decode the integer at p[0..n).  Returns 0 with *v_r and *len_r set;
 * CQ_AGAIN when the n bytes end inside the integer (more may follow); -1
 * when a fourth byte still has the continuation bit (a fifth byte would be
 * needed: malformed).  Does not check for the minimal encoding: see
 * cq_mqtt_varint_minimal().
 */
static inline int
cq_mqtt_varint_get(const uint8_t *p, size_t n, uint32_t *v_r, unsigned *len_r)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < CQ_MQTT_VARINT_MAX_LEN; i++) {
		if (i == n)
			return CQ_AGAIN;
		v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*v_r = v;
			*len_r = i + 1;
			return 0;
		}
	}
	return -1;
}

/*
 * MQTT 5 requires the fewest bytes [MQTT-1.5.5-1]: a longer encoding ends
 * in a zero byte, which a minimal one never does.
 */
static inline int
cq_mqtt_varint_minimal(const uint8_t *p, unsigned len)
{
	return len == 1 || p[len - 1] != 0;
}

#endif /* CQ_MQTT_VARINT_H */
