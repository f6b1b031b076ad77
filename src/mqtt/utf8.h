/*
 * utf8.h — UTF-8 validation for MQTT strings and payloads.
 *
 * MQTT strings must be well-formed UTF-8 as RFC 3629 defines it: no
 * overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF [MQTT-1.5.4-1], and no U+0000 [MQTT-1.5.4-2].  A payload whose
 * Payload Format Indicator is 1 must be well-formed UTF-8 but may contain
 * U+0000, hence two entry points.
 *
 * Choices (§1.5.4 lets a receiver reject more): control characters
 * U+0001..U+001F and U+007F..U+009F and the Unicode non-characters
 * (U+FFFE, U+FFFF, U+FDD0..U+FDEF, ...) are accepted: rejecting them buys
 * nothing a broker needs and breaks clients that send them.  A byte order
 * mark (U+FEFF) is an ordinary character and is never stripped
 * [MQTT-1.5.4-3].
 *
 * ASCII, by far the common case in topics and client ids, is checked
 * eight bytes at a time.
 */
#ifndef CQ_MQTT_UTF8_H
#define CQ_MQTT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Well-formed UTF-8 (RFC 3629); U+0000 allowed (payloads). */
bool cq_utf8_valid(const void *p, size_t n);
/* Well-formed UTF-8 without U+0000: an MQTT UTF-8 Encoded String. */
bool cq_utf8_valid_mqtt(const void *p, size_t n);
/* Code points in p[0..n), which must be valid UTF-8. */
size_t cq_utf8_count(const void *p, size_t n);

#endif /* CQ_MQTT_UTF8_H */
