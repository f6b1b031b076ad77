/*
 * codec.c — the stored format (codec.h).
 *
 * Decoders read bytes that another program version, a damaged disk or a
 * foreign database may have written: every length is checked against what
 * is there and every value against its range; they never trust a byte.
 */
#include "config.h"
#include "plugins/storage/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/defs.h"
#include "plugins/storage/backend.h"
#include "shm/region.h"
#include "shm/session.h"

#define VALUE_V1 1u
#define MSG_HDR  32u

int
cq_store_fail(char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) < 0)
		*error_r = NULL;
	va_end(ap);
	return -1;
}

const char *const cq_store_table_names[CQ_ST_COUNT] = {
	"meta", "sessions", "children", "retained"};

void
cq_scodec_be16(uint8_t out[2], uint16_t v)
{
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
}

void
cq_scodec_be32(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (24 - 8 * i));
}

uint32_t
cq_scodec_get_be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void
cq_scodec_le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

uint64_t
cq_scodec_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
le32(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

/* ---- sessions ------------------------------------------------------ */

void
cq_scodec_sess_encode(const cq_pev_sess_t *s, uint8_t out[CQ_SCODEC_SESS_LEN])
{
	memset(out, 0, CQ_SCODEC_SESS_LEN);
	out[0] = VALUE_V1;
	out[1] = s->protocol;
	le32(out + 4, s->expiry_interval);
	cq_scodec_le64(out + 8, s->inc);
	cq_scodec_le64(out + 16, s->deadline);
	le32(out + 24, s->queue_max);
	out[28] = (uint8_t)s->inflight_max;
	out[29] = (uint8_t)(s->inflight_max >> 8);
	out[30] = (uint8_t)s->qos2_max;
	out[31] = (uint8_t)(s->qos2_max >> 8);
}

int
cq_scodec_sess_decode(const void *v, size_t len, cq_pev_sess_t *s)
{
	const uint8_t *p = v;
	if (len != CQ_SCODEC_SESS_LEN || p[0] != VALUE_V1)
		return -1;
	*s = (cq_pev_sess_t){.protocol = p[1],
		.expiry_interval = get_le32(p + 4),
		.inc = cq_scodec_get_le64(p + 8),
		.deadline = cq_scodec_get_le64(p + 16),
		.queue_max = get_le32(p + 24),
		.inflight_max = (uint16_t)(p[28] | p[29] << 8),
		.qos2_max = (uint16_t)(p[30] | p[31] << 8)};
	if (s->protocol < 3 || s->protocol > 5 || s->inc == 0 ||
		s->inflight_max == 0 || s->qos2_max == 0)
		return -1;
	return 0;
}

/* ---- child keys ---------------------------------------------------- */

int
cq_scodec_child_key(cq_buf_t *b, const char *id, size_t id_len, char kind,
	const void *sub, size_t sub_len)
{
	const char sep[2] = {0, kind};
	cq_buf_reset(b);
	if (cq_buf_append(b, id, id_len) < 0 || cq_buf_append(b, sep, 2) < 0 ||
		(sub_len > 0 && cq_buf_append(b, sub, sub_len) < 0))
		return -1;
	return 0;
}

int
cq_scodec_child_split(const void *key, size_t len, const char **id_r,
	size_t *id_len_r, char *kind_r, const uint8_t **sub_r,
	size_t *sub_len_r)
{
	const uint8_t *k = key;
	const uint8_t *z = memchr(k, 0, len);
	if (z == NULL || z == k || (size_t)(z - k) + 2 > len)
		return -1;
	*id_r = (const char *)k;
	*id_len_r = (size_t)(z - k);
	*kind_r = (char)z[1];
	*sub_r = z + 2;
	*sub_len_r = len - (size_t)(z - k) - 2;
	size_t want = *kind_r == CQ_SK_QUEUE                         ? 4
		: *kind_r == CQ_SK_INFLIGHT || *kind_r == CQ_SK_QOS2 ? 2
		: *kind_r == CQ_SK_WILL                              ? 0
								     : SIZE_MAX;
	if (*kind_r == CQ_SK_SUB)
		return *sub_len_r > 0 && *sub_len_r <= 65535 ? 0 : -1;
	return want == *sub_len_r ? 0 : -1;
}

/* ---- messages ------------------------------------------------------ */

int
cq_scodec_msg_append(cq_buf_t *b, cq_off_t off)
{
	const cq_shm_t *shm = cq_shm_current();
	if (shm == NULL || !cq_off_valid(shm->size, off, sizeof(cq_msg_t))) {
		errno = EINVAL;
		return -1;
	}
	const cq_msg_t *m = cq_msg_get(off);
	size_t data = (size_t)m->topic_len + m->props_len + m->payload_len;
	if (m->magic != CQ_MSG_MAGIC || m->topic_len > CQ_MSG_TOPIC_MAX ||
		m->qos > 2 ||
		!cq_off_valid(shm->size, off, sizeof(cq_msg_t) + data)) {
		errno = EINVAL;
		return -1;
	}
	uint8_t h[MSG_HDR] = {0};
	le32(h, m->topic_len);
	le32(h + 4, m->props_len);
	le32(h + 8, m->payload_len);
	h[12] = m->qos;
	h[13] = m->flags;
	cq_scodec_le64(h + 16, m->expiry);
	cq_scodec_le64(h + 24, m->created_ms);
	if (cq_buf_append(b, h, sizeof(h)) < 0 ||
		cq_buf_append(b, m->data, data) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
cq_scodec_msg_decode(const void *v, size_t len, cq_msg_info_t *info,
	size_t *used_r, const char **why_r)
{
	const uint8_t *p = v;
	if (len < MSG_HDR) {
		*why_r = "truncated message";
		return -1;
	}
	uint64_t tl = get_le32(p), pl = get_le32(p + 4), yl = get_le32(p + 8);
	if (tl == 0 || tl > CQ_MSG_TOPIC_MAX || pl > CQ_MSG_PAYLOAD_MAX ||
		yl > CQ_MSG_PAYLOAD_MAX || p[12] > 2 ||
		MSG_HDR + tl + pl + yl > len) {
		*why_r = "message lengths out of range";
		return -1;
	}
	*info = (cq_msg_info_t){.topic = (const char *)p + MSG_HDR,
		.topic_len = tl,
		.props = p + MSG_HDR + tl,
		.props_len = pl,
		.payload = p + MSG_HDR + tl + pl,
		.payload_len = yl,
		.qos = p[12],
		.flags = p[13],
		.expiry = cq_scodec_get_le64(p + 16),
		.origin_slot = (uint16_t)CQ_SLOT_NONE};
	*used_r = MSG_HDR + tl + pl + yl;
	return 0;
}

/* ---- values -------------------------------------------------------- */

static int
version_and(cq_buf_t *b, const uint8_t *head, size_t n)
{
	uint8_t v = VALUE_V1;
	cq_buf_reset(b);
	if (cq_buf_append(b, &v, 1) < 0 || cq_buf_append(b, head, n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* The message after an n-byte head of a value: 0, or -1 with *why_r. */
static int
msg_after(const void *v, size_t len, size_t head, cq_msg_info_t *info,
	const char **why_r)
{
	size_t used;
	if (len < 1 + head || ((const uint8_t *)v)[0] != VALUE_V1) {
		*why_r = "unknown value version";
		return -1;
	}
	if (cq_scodec_msg_decode((const uint8_t *)v + 1 + head, len - 1 - head,
		    info, &used, why_r) < 0)
		return -1;
	if (used != len - 1 - head) {
		*why_r = "trailing bytes after a message";
		return -1;
	}
	return 0;
}

int
cq_scodec_inflight_encode(cq_buf_t *b, unsigned state, uint32_t seq, cq_off_t m)
{
	uint8_t h[6] = {(uint8_t)state, m != CQ_OFF_NULL};
	le32(h + 2, seq);
	if (version_and(b, h, sizeof(h)) < 0)
		return -1;
	return m != CQ_OFF_NULL ? cq_scodec_msg_append(b, m) : 0;
}

int
cq_scodec_inflight_decode(const void *v, size_t len, unsigned *state_r,
	uint32_t *seq_r, bool *has_msg_r, cq_msg_info_t *info,
	const char **why_r)
{
	const uint8_t *p = v;
	if (len < 7 || p[0] != VALUE_V1 || p[1] < CQ_INFLIGHT_PUBACK ||
		p[1] > CQ_INFLIGHT_PUBCOMP || p[2] > 1) {
		*why_r = "bad inflight entry";
		return -1;
	}
	*state_r = p[1];
	*seq_r = get_le32(p + 3);
	*has_msg_r = p[2] != 0;
	if (!*has_msg_r) {
		if (len != 7 || *state_r != CQ_INFLIGHT_PUBCOMP) {
			*why_r = "bad inflight entry";
			return -1;
		}
		return 0;
	}
	return msg_after(v, len, 6, info, why_r);
}

int
cq_scodec_will_encode(cq_buf_t *b, uint32_t delay, cq_off_t m)
{
	uint8_t h[4];
	le32(h, delay);
	if (version_and(b, h, sizeof(h)) < 0)
		return -1;
	return cq_scodec_msg_append(b, m);
}

int
cq_scodec_will_decode(const void *v, size_t len, uint32_t *delay_r,
	cq_msg_info_t *info, const char **why_r)
{
	if (msg_after(v, len, 4, info, why_r) < 0)
		return -1;
	*delay_r = get_le32((const uint8_t *)v + 1);
	return 0;
}

int
cq_scodec_plain_encode(cq_buf_t *b, cq_off_t m)
{
	if (version_and(b, NULL, 0) < 0)
		return -1;
	return cq_scodec_msg_append(b, m);
}

int
cq_scodec_plain_decode(
	const void *v, size_t len, cq_msg_info_t *info, const char **why_r)
{
	return msg_after(v, len, 0, info, why_r);
}
