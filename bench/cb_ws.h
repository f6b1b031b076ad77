/*
 * cb_ws.h — the client side of WebSocket (RFC 6455) for MQTT over
 * WebSocket: the HTTP upgrade with subprotocol "mqtt", and binary framing.
 *
 * MQTT allows packets to span frames and frames to hold many packets, so a
 * connection frames everything it has to send in one flush as one masked
 * binary frame; the receiving side strips frame headers and passes the
 * payload on as a byte stream.
 */
#ifndef CB_WS_H
#define CB_WS_H

#include <stddef.h>
#include <stdint.h>

#define CB_WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define CB_WS_MAX_HDR   14
#define CB_WS_OP_CONT   0x0
#define CB_WS_OP_TEXT   0x1
#define CB_WS_OP_BINARY 0x2
#define CB_WS_OP_CLOSE  0x8
#define CB_WS_OP_PING   0x9
#define CB_WS_OP_PONG   0xa

/*
 * Write the upgrade request for host:port/path into buf (NUL-terminated)
 * with a fresh random key; the expected Sec-WebSocket-Accept value goes to
 * accept_r (29 bytes with the NUL).  The request's length, or -1 when buf
 * is too small.
 */
int cb_ws_request(char *buf, size_t cap, const char *host, int port,
	const char *path, char accept_r[29]);

/*
 * Check a complete response head (up to and including the blank line):
 * status 101, "Upgrade: websocket" and the expected accept value.  0, or -1
 * with a reason in err.
 */
int cb_ws_check_response(const char *head, size_t len, const char *accept,
	char *err, size_t errlen);

/* Write a FIN frame header with opcode op for a payload of len bytes masked
 * with mask; its length (2..14). */
size_t cb_ws_frame_hdr(uint8_t *h, int op, uint64_t len, uint32_t mask);

/* XOR p[0..n) with the mask, starting at the mask's first byte. */
void cb_ws_mask(uint8_t *p, size_t n, uint32_t mask);

/*
 * Parse a server frame header at h[0..n): 0 with the opcode, FIN flag,
 * payload length and header length filled; CQ_AGAIN when incomplete; -1
 * when malformed (a masked server frame, or a control frame longer than
 * 125 bytes or fragmented).
 */
int cb_ws_parse_hdr(
	const uint8_t *h, size_t n, int *op_r, uint64_t *len_r, size_t *hlen_r);

#endif /* CB_WS_H */
