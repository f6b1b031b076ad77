/*
 * netmask.h — IP addresses and networks as configuration writes them.
 *
 * Listeners trust some peers more than others: a proxy in
 * listeners[].trusted_proxies may say where a client really is (PROXY
 * protocol header, X-Forwarded-For).  This module parses "10.0.0.0/8",
 * "192.0.2.7", "2001:db8::/32" and "::1", matches socket addresses against
 * them (an IPv4 peer seen as an IPv4-mapped IPv6 address matches an IPv4
 * network), and turns an address written in a header back into a socket
 * address.  Pure functions, no allocation.
 */
#ifndef CQ_CORE_NETMASK_H
#define CQ_CORE_NETMASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config_schema.h"

typedef struct cq_netmask {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; 4 bytes used for IPv4 */
	unsigned bits; /* prefix length */
} cq_netmask_t;

/*
 * Parse "address" or "address/bits".  0, or -1 when the text is not an
 * IPv4/IPv6 literal with an optional prefix length in range.
 */
int cq_netmask_parse(const char *text, cq_netmask_t *m_r);

/* Is the address of 'sa' (AF_INET or AF_INET6) inside 'm'? */
bool cq_netmask_match(const cq_netmask_t *m, const struct sockaddr *sa);

/* Is 'sa' inside any entry of 'list' (entries that do not parse never
 * match; the configuration check refuses them)? */
bool cq_netmask_list_match(
	const cq_cfg_strlist_t *list, const struct sockaddr *sa);

/*
 * The socket address of the IP literal in the len bytes at 'text' (no
 * brackets, no port) with 'port'.  0, or -1 if it is not an IP literal.
 */
int cq_netmask_sockaddr(const char *text, size_t len, uint16_t port,
	struct sockaddr_storage *ss_r, socklen_t *len_r);

#endif /* CQ_CORE_NETMASK_H */
