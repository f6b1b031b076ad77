/*
 * proxy_proto.c — see proxy_proto.h.
 *
 * Version 1 is one text line, "PROXY TCP4 <src> <dst> <sport> <dport>\r\n"
 * (or TCP6, or "PROXY UNKNOWN ...\r\n"), at most 107 bytes.  Version 2 is
 * a 12-byte signature, a version/command byte, a family/transport byte, a
 * 16-bit length and that many bytes of addresses and TLVs.
 */
#include "config.h"
#include "workers/proxy_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "core/defs.h"
#include "core/netmask.h"

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int
bad(const char *why, const char **why_r)
{
	*why_r = why;
	return -1;
}

/* A decimal port without sign or leading zeros, 0..65535. */
static bool
parse_port(const char *p, size_t n, uint16_t *port_r)
{
	if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > 65535)
		return false;
	*port_r = (uint16_t)v;
	return true;
}

/* The fields of "TCP4 src dst sport dport" (the line after "PROXY "). */
static int
parse_v1_fields(const char *s, size_t n, cq_proxy_hdr_t *h, const char **why_r)
{
	const char *f[5];
	size_t fl[5], nf = 0;
	const char *p = s, *end = s + n;
	while (p <= end && nf < 5) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *e = sp ? sp : end;
		f[nf] = p;
		fl[nf++] = (size_t)(e - p);
		p = e + 1;
		if (sp == NULL)
			break;
	}
	if (nf >= 1 && fl[0] == 7 && memcmp(f[0], "UNKNOWN", 7) == 0) {
		h->local = true;
		return 0;
	}
	if (nf != 5 || p <= end)
		return bad("PROXY v1: expected 5 fields", why_r);
	int family;
	if (fl[0] == 4 && memcmp(f[0], "TCP4", 4) == 0)
		family = AF_INET;
	else if (fl[0] == 4 && memcmp(f[0], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return bad("PROXY v1: unknown protocol", why_r);
	uint16_t sport, dport;
	struct sockaddr_storage dst;
	socklen_t dlen;
	if (!parse_port(f[3], fl[3], &sport) ||
		!parse_port(f[4], fl[4], &dport))
		return bad("PROXY v1: bad port", why_r);
	if (cq_netmask_sockaddr(f[1], fl[1], sport, &h->src, &h->src_len) < 0 ||
		cq_netmask_sockaddr(f[2], fl[2], dport, &dst, &dlen) < 0 ||
		h->src.ss_family != family || dst.ss_family != family)
		return bad("PROXY v1: bad address", why_r);
	return 0;
}

static int
parse_v1(const uint8_t *buf, size_t len, cq_proxy_hdr_t *h, size_t *used_r,
	const char **why_r)
{
	if (memcmp(buf, "PROXY ", CQ_MIN(len, 6)) != 0)
		return bad("not a PROXY header", why_r);
	size_t lim = CQ_MIN(len, CQ_PROXY_V1_MAX);
	const uint8_t *lf = memchr(buf, '\n', lim);
	if (lf == NULL)
		return len >= CQ_PROXY_V1_MAX
			? bad("PROXY v1: line longer than 107 bytes", why_r)
			: CQ_AGAIN;
	size_t eol = (size_t)(lf - buf);
	if (eol < 7 || buf[eol - 1] != '\r')
		return bad("PROXY v1: line does not end in CRLF", why_r);
	for (size_t i = 0; i < eol - 1; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return bad("PROXY v1: control character", why_r);
	memset(h, 0, sizeof(*h));
	if (parse_v1_fields((const char *)buf + 6, eol - 7, h, why_r) < 0)
		return -1;
	*used_r = eol + 1;
	return 0;
}

static int
parse_v2(const uint8_t *buf, size_t len, cq_proxy_hdr_t *h, size_t *used_r,
	const char **why_r)
{
	if (memcmp(buf, v2_sig, CQ_MIN(len, sizeof(v2_sig))) != 0)
		return bad("not a PROXY header", why_r);
	if (len < 16)
		return CQ_AGAIN;
	if ((buf[12] >> 4) != 2)
		return bad("PROXY v2: unknown version", why_r);
	unsigned cmd = buf[12] & 0x0f, fam = buf[13] >> 4, proto = buf[13] & 15;
	size_t body = (size_t)buf[14] << 8 | buf[15];
	if (cmd > 1)
		return bad("PROXY v2: unknown command", why_r);
	if (16 + body > CQ_PROXY_V2_MAX)
		return bad("PROXY v2: header longer than 528 bytes", why_r);
	if (len < 16 + body)
		return CQ_AGAIN;
	memset(h, 0, sizeof(*h));
	*used_r = 16 + body;
	if (cmd == 0 || fam == 0 || fam == 3) {
		h->local = true; /* LOCAL, or no IP address to take */
		return 0;
	}
	if (proto != 1)
		return bad("PROXY v2: not a stream connection", why_r);
	const uint8_t *a = buf + 16;
	size_t alen = fam == 1 ? 4 : fam == 2 ? 16 : 0;
	if (alen == 0)
		return bad("PROXY v2: unknown address family", why_r);
	if (body < 2 * alen + 4)
		return bad("PROXY v2: addresses cut short", why_r);
	uint16_t port = (uint16_t)(a[2 * alen] << 8 | a[2 * alen + 1]);
	struct sockaddr_in *in = (struct sockaddr_in *)&h->src;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&h->src;
	if (fam == 1) {
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		in->sin_port = htons(port);
		h->src_len = sizeof(*in);
	} else {
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		in6->sin6_port = htons(port);
		h->src_len = sizeof(*in6);
	}
	return 0;
}

int
cq_proxy_parse(const uint8_t *buf, size_t len, cq_proxy_hdr_t *h_r,
	size_t *used_r, const char **why_r)
{
	if (len == 0)
		return CQ_AGAIN;
	if (buf[0] == 'P')
		return parse_v1(buf, len, h_r, used_r, why_r);
	if (buf[0] == v2_sig[0])
		return parse_v2(buf, len, h_r, used_r, why_r);
	return bad("not a PROXY header", why_r);
}

/*
 * How many bytes may be taken from the socket without reading past the
 * header: v2 says; v1 is peeked at and taken up to its LF.  recv()'s
 * result.
 */
static ssize_t
take(int fd, cq_proxy_reader_t *r)
{
	uint8_t *dst = r->buf + r->len;
	size_t want;
	if (r->len == 0) {
		want = 1;
	} else if (r->buf[0] == 'P') {
		ssize_t n = recv(fd, dst, CQ_PROXY_V1_MAX - r->len, MSG_PEEK);
		if (n <= 0)
			return n;
		const uint8_t *lf = memchr(dst, '\n', (size_t)n);
		want = lf ? (size_t)(lf - dst) + 1 : (size_t)n;
	} else if (r->len < 16) {
		want = 16 - r->len;
	} else {
		want = 16 + ((size_t)r->buf[14] << 8 | r->buf[15]) - r->len;
	}
	return recv(fd, dst, want, 0);
}

int
cq_proxy_read(
	int fd, cq_proxy_reader_t *r, cq_proxy_hdr_t *h_r, const char **why_r)
{
	*why_r = NULL;
	for (;;) {
		size_t used = 0;
		int rc = cq_proxy_parse(r->buf, r->len, h_r, &used, why_r);
		if (rc != CQ_AGAIN)
			return rc;
		if (r->len >= sizeof(r->buf))
			return bad("PROXY header too long", why_r);
		ssize_t n = take(fd, r);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return CQ_AGAIN;
		if (n == 0 && r->len > 0)
			return bad("connection closed inside the PROXY header",
				why_r);
		return -1;
	}
}
