/*
 * buf.c — see buf.h.
 */
#include "config.h"
#include "core/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define BUF_MIN_CAP 256

int
cq_buf_reserve(cq_buf_t *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t used = cq_buf_used(b);
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		if (b->cap - b->len >= extra)
			return 0;
	}
	if (extra > SIZE_MAX / 2 - used) {
		errno = ENOMEM;
		return -1;
	}
	size_t need = used + extra;
	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap *= 2;
	unsigned char *p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
cq_buf_append(cq_buf_t *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (cq_buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void
cq_buf_commit(cq_buf_t *b, size_t n)
{
	cq_dassert(b->len + n <= b->cap);
	b->len += n;
}

void
cq_buf_consume(cq_buf_t *b, size_t n)
{
	cq_dassert(n <= cq_buf_used(b));
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void
cq_buf_reset(cq_buf_t *b)
{
	b->off = b->len = 0;
}

void
cq_buf_shrink(cq_buf_t *b, size_t keep)
{
	if (cq_buf_used(b) == 0 && b->cap > keep)
		cq_buf_free(b);
}

void
cq_buf_free(cq_buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
