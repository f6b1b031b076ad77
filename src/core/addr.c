/*
 * addr.c — see addr.h.
 *
 * Only the syntax is checked here: a host name is not resolved (that is
 * bind time's business, and a configuration check must not depend on DNS),
 * but an IP literal must be a valid one, so "999.1.1.1:1883" is refused
 * instead of being looked up as a name.
 */
#include "config.h"
#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int
parse_port(const char *s, uint16_t *port_r, const char **why_r)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9' && n < 6; n++)
		v = v * 10 + (unsigned long)(s[n] - '0');
	if (n == 0 || s[n] != '\0' || v < 1 || v > 65535) {
		*why_r = "the port must be a number from 1 to 65535";
		return -1;
	}
	*port_r = (uint16_t)v;
	return 0;
}

static int
valid_hostname(const char *h, size_t len)
{
	size_t label = 0;

	if (len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9');
		if (!alnum && (c != '-' || label == 0))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && h[len - 1] != '-';
}

/* A name made only of digits and dots is meant as an IPv4 literal. */
static int
looks_numeric(const char *h, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (h[i] != '.' && (h[i] < '0' || h[i] > '9'))
			return 0;
	return 1;
}

/*
 * Rewrite an IP literal in place in its canonical form ("0::0" becomes
 * "::"), so that two spellings of one address compare equal.  -1 if 'host'
 * is not a valid literal of 'family'.
 */
static int
canonical_ip(int family, char *host)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(family, host, bin) != 1 ||
		inet_ntop(family, bin, text, sizeof(text)) == NULL)
		return -1;
	memcpy(host, text, strlen(text) + 1);
	return 0;
}

static int
parse_path(const char *s, cq_addr_t *addr_r, const char **why_r)
{
	size_t len = strlen(s);
	if (len > CQ_ADDR_PATH_MAX) {
		*why_r = "a Unix socket path is at most 107 bytes";
		return -1;
	}
	memcpy(addr_r->host, s, len + 1);
	addr_r->port = 0;
	addr_r->is_path = true;
	return 0;
}

static int
parse_v6(const char *s, cq_addr_t *addr_r, const char **why_r)
{
	const char *end = strchr(s, ']');
	size_t len;

	if (end == NULL || end[1] != ':') {
		*why_r = "expected [v6-address]:port";
		return -1;
	}
	len = (size_t)(end - (s + 1));
	if (len == 0 || len >= INET6_ADDRSTRLEN) {
		*why_r = "not a valid IPv6 address";
		return -1;
	}
	memcpy(addr_r->host, s + 1, len);
	addr_r->host[len] = '\0';
	if (canonical_ip(AF_INET6, addr_r->host) < 0) {
		*why_r = "not a valid IPv6 address";
		return -1;
	}
	return parse_port(end + 2, &addr_r->port, why_r);
}

int
cq_addr_parse(const char *s, cq_addr_t *addr_r, const char **why_r)
{
	memset(addr_r, 0, sizeof(*addr_r));
	if (s[0] == '/')
		return parse_path(s, addr_r, why_r);
	if (s[0] == '[')
		return parse_v6(s, addr_r, why_r);

	const char *colon = strrchr(s, ':');
	if (colon == NULL) {
		*why_r = "the port is missing";
		return -1;
	}
	size_t len = (size_t)(colon - s);
	if (memchr(s, ':', len) != NULL) {
		*why_r = "an IPv6 address needs brackets, like [::1]:1883";
		return -1;
	}
	if (len > 0) {
		if (!valid_hostname(s, len)) {
			*why_r = "not a valid host name or IPv4 address";
			return -1;
		}
		memcpy(addr_r->host, s, len);
		addr_r->host[len] = '\0';
		if (looks_numeric(s, len) &&
			canonical_ip(AF_INET, addr_r->host) < 0) {
			*why_r = "not a valid IPv4 address";
			return -1;
		}
	}
	return parse_port(colon + 1, &addr_r->port, why_r);
}

void
cq_addr_format(const cq_addr_t *addr, char *buf, size_t len)
{
	if (addr->is_path)
		snprintf(buf, len, "%s", addr->host);
	else if (strchr(addr->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", addr->host, (unsigned)addr->port);
	else
		snprintf(buf, len, "%s:%u", addr->host, (unsigned)addr->port);
}

bool
cq_addr_equal(const cq_addr_t *a, const cq_addr_t *b)
{
	return a->is_path == b->is_path && a->port == b->port &&
		strcmp(a->host, b->host) == 0;
}
