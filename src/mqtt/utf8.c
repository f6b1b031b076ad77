/*
 * utf8.c — see utf8.h.  The multi-byte checks follow Table 3-7 of the
 * Unicode standard ("Well-Formed UTF-8 Byte Sequences"), which rules out
 * overlongs, surrogates and values past U+10FFFF by the range allowed for
 * the second byte.
 */
#include "config.h"
#include "mqtt/utf8.h"

#include <stdint.h>
#include <string.h>

#define HIGH_BITS 0x8080808080808080ull
#define LOW_BITS  0x0101010101010101ull

/* Length of the well-formed sequence at p[0..n) (p[0] >= 0x80), or 0. */
static size_t
multibyte(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, C0/C1 overlong, F5..FF */
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static bool
validate(const uint8_t *p, size_t n, bool allow_nul)
{
	const uint8_t *end = p + n;

	while (p < end) {
		/* Eight ASCII bytes at a time; a zero byte shows in haszero. */
		while (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, sizeof(w));
			if (w & HIGH_BITS)
				break;
			if (!allow_nul && ((w - LOW_BITS) & ~w & HIGH_BITS))
				return false;
			p += 8;
		}
		if (p == end)
			break;
		if (*p < 0x80) {
			if (*p == 0 && !allow_nul)
				return false;
			p++;
			continue;
		}
		size_t len = multibyte(p, (size_t)(end - p));
		if (len == 0)
			return false;
		p += len;
	}
	return true;
}

bool
cq_utf8_valid(const void *p, size_t n)
{
	return validate(p, n, true);
}

bool
cq_utf8_valid_mqtt(const void *p, size_t n)
{
	return validate(p, n, false);
}

size_t
cq_utf8_count(const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += (s[i] & 0xc0) != 0x80;
	return count;
}
