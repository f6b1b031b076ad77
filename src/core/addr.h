/*
 * addr.h — listening addresses as written in configuration.
 *
 * Four forms: "host:port" (an IPv4 literal or a host name), "[v6]:port",
 * ":port" (every address) and "/absolute/path" (a Unix socket).  The
 * parsed form keeps the host without brackets, so the binder can hand it to
 * getaddrinfo() as it is; cq_addr_format() writes the canonical text back.
 */
#ifndef CQ_CORE_ADDR_H
#define CQ_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A DNS name is at most 253 characters; sun_path holds 107 and a NUL. */
#define CQ_ADDR_HOST_MAX 256
#define CQ_ADDR_PATH_MAX 107
/* "[" host "]:" port NUL */
#define CQ_ADDR_STRLEN (CQ_ADDR_HOST_MAX + 8)

typedef struct cq_addr {
	/* IP literal or host name ("" = every address), or the socket path. */
	char host[CQ_ADDR_HOST_MAX];
	uint16_t port; /* 1..65535; 0 for a path */
	bool is_path; /* a Unix socket path */
} cq_addr_t;

/*
 * Parse 's'.  Returns 0, or -1 with *why_r set to a static text saying what
 * is wrong ("the port must be from 1 to 65535"); *addr_r is then undefined.
 */
int cq_addr_parse(const char *s, cq_addr_t *addr_r, const char **why_r);

/* The canonical text (at least CQ_ADDR_STRLEN bytes of buf). */
void cq_addr_format(const cq_addr_t *addr, char *buf, size_t len);

bool cq_addr_equal(const cq_addr_t *a, const cq_addr_t *b);

#endif /* CQ_CORE_ADDR_H */
