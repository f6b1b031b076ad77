/*
 * buf.h — a growable byte buffer in private (heap) memory.
 *
 * Used for per-connection input and output: bytes are appended at 'len' and
 * consumed from 'off'; the live bytes are data[off, len).  Reserving space
 * first compacts (moves live bytes to the front) and only then grows, so a
 * connection that keeps up never reallocates.
 */
#ifndef CQ_CORE_BUF_H
#define CQ_CORE_BUF_H

#include <stddef.h>

typedef struct cq_buf {
	unsigned char *data;
	size_t off;
	size_t len;
	size_t cap;
} cq_buf_t;

/* clang-format off */
#define CQ_BUF_INIT {NULL, 0, 0, 0}
/* clang-format on */
static inline size_t
cq_buf_used(const cq_buf_t *b)
{
	return b->len - b->off;
}

static inline unsigned char *
cq_buf_head(const cq_buf_t *b)
{
	return b->data + b->off;
}

static inline unsigned char *
cq_buf_tail(const cq_buf_t *b)
{
	return b->data + b->len;
}

/* Make room for 'extra' bytes at the tail.  0, or -1 (ENOMEM). */
int cq_buf_reserve(cq_buf_t *b, size_t extra);
/* Append n bytes.  0, or -1 (ENOMEM); the buffer is unchanged on failure. */
int cq_buf_append(cq_buf_t *b, const void *p, size_t n);
/* Mark n bytes at the tail as written (after cq_buf_reserve + direct write). */
void cq_buf_commit(cq_buf_t *b, size_t n);
/* Drop n bytes from the head. */
void cq_buf_consume(cq_buf_t *b, size_t n);
void cq_buf_reset(cq_buf_t *b);
/* Release memory; a buffer larger than 'keep' bytes that is empty is freed. */
void cq_buf_shrink(cq_buf_t *b, size_t keep);
void cq_buf_free(cq_buf_t *b);

#endif /* CQ_CORE_BUF_H */
