/*
 * proxy_proto.h — the PROXY protocol header (HAProxy's, versions 1 and 2)
 * that a load balancer puts in front of a connection to say whose it is.
 *
 * On a listener with proxy_protocol: true every connection must open with
 * one; the address it names becomes the client's address (logs, the
 * loopback rule, rate limits), and the bytes after it -- TLS, HTTP, MQTT
 * -- go to the transport untouched: the reader never takes a byte past
 * the header (v2 states its length; v1 is read up to its LF after a
 * peek).  LOCAL (v2) and UNKNOWN (v1) headers, the proxy's own health
 * checks, keep the socket's address.
 */
#ifndef CQ_WORKERS_PROXY_PROTO_H
#define CQ_WORKERS_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CQ_PROXY_V1_MAX 107 /* the spec's longest v1 line, CRLF included */
#define CQ_PROXY_V2_MAX 528 /* 16-byte head and 512 bytes of addresses/TLVs */

typedef struct cq_proxy_hdr {
	bool local; /* no address given: keep the socket's */
	struct sockaddr_storage src;
	socklen_t src_len;
} cq_proxy_hdr_t;

typedef struct cq_proxy_reader {
	uint8_t buf[CQ_PROXY_V2_MAX];
	size_t len;
} cq_proxy_reader_t;

/*
 * Parse the header at buf[0..len): 0 with *h_r and *used_r (its length)
 * when it is complete, CQ_AGAIN when what is there is a valid beginning,
 * -1 with *why_r (static text) when it is not a PROXY header or is
 * malformed.
 */
int cq_proxy_parse(const uint8_t *buf, size_t len, cq_proxy_hdr_t *h_r,
	size_t *used_r, const char **why_r);

/*
 * Read the header from the socket into r, without reading past it.  0
 * with *h_r once complete, CQ_AGAIN when the socket has nothing more yet,
 * -1 with *why_r for a bad header, or with *why_r NULL when the peer
 * closed the connection or the socket failed (errno).
 */
int cq_proxy_read(
	int fd, cq_proxy_reader_t *r, cq_proxy_hdr_t *h_r, const char **why_r);

#endif /* CQ_WORKERS_PROXY_PROTO_H */
