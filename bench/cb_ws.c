/*
 * cb_ws.c — see cb_ws.h.
 */
#include "config.h"
#include "bench/cb_ws.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "core/defs.h"

static void
ws_accept_of(const char *key, char accept_r[29])
{
	char in[24 + sizeof(CB_WS_GUID)];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(in, sizeof(in), "%s%s", key, CB_WS_GUID);
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)accept_r, md, (int)mdlen);
}

int
cb_ws_request(char *buf, size_t cap, const char *host, int port,
	const char *path, char accept_r[29])
{
	unsigned char nonce[16];
	char key[25];
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		/* Fall back to a weaker nonce: the key only has to be
		 * unpredictable for proxies, not for a benchmark. */
		for (size_t i = 0; i < sizeof(nonce); i++)
			nonce[i] = (unsigned char)(i * 37 + (size_t)buf);
	}
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	ws_accept_of(key, accept_r);
	int n = snprintf(buf, cap,
		"GET %s HTTP/1.1\r\n"
		"Host: %s:%d\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: %s\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n"
		"\r\n",
		path, host, port, key);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Find header 'name' in the head; copy its trimmed value into val. */
static int
header_value(
	const char *head, size_t len, const char *name, char *val, size_t vlen)
{
	size_t nl = strlen(name);
	const char *p = head, *end = head + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
			p[nl] == ':') {
			const char *v = p + nl + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			size_t n = (size_t)(ve - v) < vlen - 1
				? (size_t)(ve - v)
				: vlen - 1;
			memcpy(val, v, n);
			val[n] = '\0';
			return 0;
		}
		p = eol + 1;
	}
	return -1;
}

int
cb_ws_check_response(const char *head, size_t len, const char *accept,
	char *err, size_t errlen)
{
	char v[128];
	if (len < 12 || strncmp(head, "HTTP/1.1 101", 12) != 0) {
		const char *eol = memchr(head, '\r', len);
		int l = eol ? (int)(eol - head) : (int)(len < 60 ? len : 60);
		snprintf(err, errlen, "WebSocket upgrade refused: %.*s", l,
			head);
		return -1;
	}
	if (header_value(head, len, "Upgrade", v, sizeof(v)) != 0 ||
		strcasecmp(v, "websocket") != 0) {
		snprintf(err, errlen, "WebSocket upgrade: no Upgrade header");
		return -1;
	}
	if (header_value(head, len, "Sec-WebSocket-Accept", v, sizeof(v)) !=
			0 ||
		strcmp(v, accept) != 0) {
		snprintf(err, errlen,
			"WebSocket upgrade: wrong Sec-WebSocket-Accept");
		return -1;
	}
	return 0;
}

size_t
cb_ws_frame_hdr(uint8_t *h, int op, uint64_t len, uint32_t mask)
{
	size_t n = 0;
	h[n++] = (uint8_t)(0x80 | op);
	if (len < 126) {
		h[n++] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		h[n++] = 0x80 | 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (uint8_t)(len >> (8 * i));
	}
	memcpy(h + n, &mask, 4);
	return n + 4;
}

void
cb_ws_mask(uint8_t *p, size_t n, uint32_t mask)
{
	uint64_t m8 = (uint64_t)mask << 32 | mask;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		w ^= m8;
		memcpy(p + i, &w, 8);
	}
	const uint8_t *mb = (const uint8_t *)&mask;
	for (; i < n; i++)
		p[i] ^= mb[i % 4];
}

int
cb_ws_parse_hdr(
	const uint8_t *h, size_t n, int *op_r, uint64_t *len_r, size_t *hlen_r)
{
	if (n < 2)
		return CQ_AGAIN;
	int op = h[0] & 0x0f, fin = h[0] & 0x80;
	if (h[1] & 0x80)
		return -1; /* RFC 6455 5.1: servers never mask */
	uint64_t len = h[1] & 0x7f;
	size_t hl = 2;
	if (len == 126) {
		if (n < 4)
			return CQ_AGAIN;
		len = (uint64_t)h[2] << 8 | h[3];
		hl = 4;
	} else if (len == 127) {
		if (n < 10)
			return CQ_AGAIN;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		hl = 10;
	}
	if ((op & 0x8) && (len > 125 || !fin))
		return -1;
	*op_r = op;
	*len_r = len;
	*hlen_r = hl;
	return 0;
}
