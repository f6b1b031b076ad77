/*
 * cb_conn.h — one client connection of comqtt-bench: non-blocking TCP,
 * optional TLS and WebSocket, input framing and batched output.
 *
 * A connection is driven by its thread's epoll loop (edge-triggered, added
 * once, never modified).  Input: each read goes into the thread's scratch
 * buffer behind any partial packet left from the previous read, complete
 * packets are handed to cb_client_packet(), and only the incomplete tail is
 * kept in the connection.  Output: packets are appended to c->out and the
 * connection is put on the thread's dirty list; the loop flushes every
 * dirty connection once per iteration with one write (one WebSocket frame
 * per flush), so many packets share a syscall.
 */
#ifndef CB_CONN_H
#define CB_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "bench/cb_types.h"

/*
 * Open the socket, bind a spread source address when configured, start
 * connect() and register with the thread's epoll.  0, or -1 when c has
 * failed (the reason is recorded).
 */
int cb_conn_start(cb_conn_t *c);

/* Drive a connection that is still in its TCP/TLS/WebSocket handshake;
 * 'events' are the epoll events that woke it. */
void cb_conn_handshake(cb_conn_t *c, uint32_t events);

/* Read once (for fairness) and process complete packets.  Clears
 * c->rd_ready once the socket is drained. */
void cb_conn_read(cb_conn_t *c);

/* Write pending output; stops at EAGAIN and waits for EPOLLOUT. */
void cb_conn_flush(cb_conn_t *c);

/* Room for n more bytes at the end of c->out, or NULL (the connection has
 * failed: out of memory).  Commit with cq_buf_commit(&c->out, n). */
uint8_t *cb_conn_reserve(cb_conn_t *c, size_t n);

/* Put c on its thread's dirty list (idempotent). */
void cb_conn_dirty(cb_conn_t *c);

/* Bytes of output not yet handed to the kernel. */
size_t cb_conn_pending(const cb_conn_t *c);

/* Fail c: record the first error of the thread, close, count it. */
void cb_conn_fail(cb_conn_t *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Close c after a clean DISCONNECT (or at the end of the run). */
void cb_conn_close(cb_conn_t *c);

/* Send DISCONNECT and wait for the broker to close (or the deadline). */
void cb_conn_disconnect(cb_conn_t *c);

/* Monotonic clock in ns. */
uint64_t cb_now(void);

#endif /* CB_CONN_H */
