/*
 * netmask.c — see netmask.h.
 */
#include "config.h"
#include "core/netmask.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 64 /* an IPv6 literal with a prefix fits easily */

int
cq_netmask_parse(const char *text, cq_netmask_t *m_r)
{
	char buf[TEXT_MAX];
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len + 1);
	char *slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(m_r, 0, sizeof(*m_r));
	unsigned max;
	if (inet_pton(AF_INET, buf, m_r->addr) == 1) {
		m_r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, m_r->addr) == 1) {
		m_r->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	m_r->bits = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		char *end;
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return -1;
		unsigned long bits = strtoul(p, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
		m_r->bits = (unsigned)bits;
	}
	return 0;
}

/* The first 'bits' bits of a and b are equal. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
cq_netmask_match(const cq_netmask_t *m, const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return m->family == AF_INET &&
			prefix_equal(m->addr, (const uint8_t *)&in->sin_addr,
				m->bits);
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const struct sockaddr_in6 *in6 = (const void *)sa;
	const uint8_t *a = in6->sin6_addr.s6_addr;
	if (m->family == AF_INET6)
		return prefix_equal(m->addr, a, m->bits);
	/* ::ffff:a.b.c.d is the IPv4 peer a.b.c.d on a dual-stack socket. */
	return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		prefix_equal(m->addr, a + 12, m->bits);
}

bool
cq_netmask_list_match(const cq_cfg_strlist_t *list, const struct sockaddr *sa)
{
	for (size_t i = 0; i < list->n; i++) {
		cq_netmask_t m;
		if (cq_netmask_parse(list->items[i], &m) == 0 &&
			cq_netmask_match(&m, sa))
			return true;
	}
	return false;
}

int
cq_netmask_sockaddr(const char *text, size_t len, uint16_t port,
	struct sockaddr_storage *ss_r, socklen_t *len_r)
{
	char buf[TEXT_MAX];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(ss_r, 0, sizeof(*ss_r));
	struct sockaddr_in *in = (struct sockaddr_in *)ss_r;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss_r;
	if (inet_pton(AF_INET, buf, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len_r = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len_r = sizeof(*in6);
		return 0;
	}
	return -1;
}
