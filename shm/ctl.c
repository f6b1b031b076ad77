/*
 * ctl.c — the admin's control rings (ctl.h).
 *
 * Area: a header, then for each worker slot two rings (cmd, reply), each a
 * control block and CQ_CTL_RING_BYTES of records.  Positions are
 * free-running 64-bit byte counts; the index is pos & (size - 1).
 *
 * Invariants (each ring):
 *  1. head <= tail, tail - head <= size, both multiples of 16 (a
 *     record header's size, so padding always fits); tail is
 *     written only by the ring's producer (release), head only by its
 *     consumer (release); each side reads the other's with acquire.
 *  2. Every byte of [head, tail) belongs to a complete record whose header
 *     is valid: a producer writes header and payload before the one store
 *     that publishes them, so a producer killed before it leaves nothing.
 *  3. A record never wraps: when it does not fit before the end of the
 *     buffer, a padding record (type 0, its len covering the rest) goes
 *     first.  The consumer skips padding as it meets it.
 * A consumer that finds a header breaking 2 (nothing writes one, but the
 * region is shared with code that could) logs it and drops everything
 * pending in that ring rather than read out of bounds.
 */
#include "config.h"
#include "shm/ctl.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"

#define CTL_MAGIC  UINT64_C(0x4c54434351514d43) /* "CMQQCCTL" */
#define CTL_T_PAD  0u
#define ALIGN16(n) (((n) + 15u) & ~(size_t)15u)

typedef struct ctl_rhdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint64_t id;
} ctl_rhdr_t;

typedef struct ctl_ring {
	uint64_t tail __attribute__((aligned(CQ_CACHELINE)));
	uint64_t records; /* producer's statistics */
	uint64_t full;
	uint64_t head __attribute__((aligned(CQ_CACHELINE)));
	unsigned char buf[CQ_CTL_RING_BYTES]
		__attribute__((aligned(CQ_CACHELINE)));
} ctl_ring_t;

typedef struct ctl_pair {
	ctl_ring_t cmd;
	ctl_ring_t reply;
} ctl_pair_t;

typedef struct ctl_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t ring_bytes;
	uint64_t clients_max; /* written by the admin only */
	ctl_pair_t pair[] __attribute__((aligned(CQ_CACHELINE)));
} ctl_hdr_t;

CQ_STATIC_ASSERT(sizeof(ctl_rhdr_t) == 16, "ring record header");

static ctl_hdr_t *cur;
static int worker_fds[CQ_MAX_WORKERS];
static int admin_fd = -1;
static unsigned nfds;

/* ---- eventfds ------------------------------------------------------- */

void
cq_ctl_eventfds_close(void)
{
	for (unsigned i = 0; i < nfds; i++)
		if (worker_fds[i] >= 0)
			close(worker_fds[i]);
	if (admin_fd >= 0)
		close(admin_fd);
	admin_fd = -1;
	nfds = 0;
}

int
cq_ctl_eventfds_create(unsigned workers)
{
	cq_ctl_eventfds_close();
	if (workers > CQ_MAX_WORKERS)
		workers = CQ_MAX_WORKERS;
	admin_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (nfds = 0; nfds < workers && admin_fd >= 0; nfds++)
		if ((worker_fds[nfds] = eventfd(
			     0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
			break;
	if (admin_fd < 0 || nfds < workers) {
		cq_log(CQ_LOG_CRIT, errno,
			"eventfd() for the control path "
			"failed");
		cq_ctl_eventfds_close();
		return -1;
	}
	return 0;
}

static void
wake(int fd)
{
	uint64_t one = 1;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		cq_log(CQ_LOG_ERR, errno,
			"write() to a control eventfd failed");
}

void
cq_ctl_eventfd_reset(int fd)
{
	uint64_t v;
	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		cq_log(CQ_LOG_ERR, errno, "read() of a control eventfd failed");
}

int
cq_ctl_admin_fd(void)
{
	return admin_fd;
}

int
cq_ctl_worker_fd(void)
{
	return cq_shm_slot < nfds ? worker_fds[cq_shm_slot] : -1;
}

unsigned
cq_ctl_slots(void)
{
	return cur != NULL ? cur->nslots : 0;
}

/* ---- one ring ------------------------------------------------------- */

static size_t
gather_len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Producer: append one record.  0, CQ_AGAIN (full). */
static int
ring_push(ctl_ring_t *r, uint16_t type, uint16_t flags, uint64_t id,
	const struct iovec *iov, int iovcnt, size_t len)
{
	uint64_t tail = r->tail;
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	size_t need = sizeof(ctl_rhdr_t) + ALIGN16(len);
	size_t idx = (size_t)(tail & (CQ_CTL_RING_BYTES - 1));
	size_t pad = idx + need > CQ_CTL_RING_BYTES ? CQ_CTL_RING_BYTES - idx
						    : 0;
	if (tail - head + pad + need > CQ_CTL_RING_BYTES) {
		r->full++;
		return CQ_AGAIN;
	}
	if (pad > 0) {
		ctl_rhdr_t *p = (ctl_rhdr_t *)(r->buf + idx);
		*p = (ctl_rhdr_t){
			.len = (uint32_t)(pad - sizeof(*p)), .type = CTL_T_PAD};
		tail += pad;
		idx = 0;
	}
	ctl_rhdr_t *h = (ctl_rhdr_t *)(r->buf + idx);
	*h = (ctl_rhdr_t){
		.len = (uint32_t)len, .type = type, .flags = flags, .id = id};
	unsigned char *q = (unsigned char *)(h + 1);
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > 0)
			memcpy(q, iov[i].iov_base, iov[i].iov_len);
		q += iov[i].iov_len;
	}
	r->records++;
	CQ_CRASHPOINT("ctl.written");
	__atomic_store_n(&r->tail, tail + need, __ATOMIC_RELEASE);
	return 0;
}

/* Consumer: the record at the head (padding skipped).  0 or CQ_AGAIN. */
static int
ring_peek(ctl_ring_t *r, cq_ctl_rec_t *rec)
{
	for (;;) {
		uint64_t head = r->head;
		uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (head == tail)
			return CQ_AGAIN;
		size_t idx = (size_t)(head & (CQ_CTL_RING_BYTES - 1));
		const ctl_rhdr_t *h = (const ctl_rhdr_t *)(r->buf + idx);
		size_t need = sizeof(*h) + ALIGN16(h->len);
		if (tail - head > CQ_CTL_RING_BYTES || (head & 15) != 0 ||
			idx + need > CQ_CTL_RING_BYTES || need > tail - head) {
			cq_log(CQ_LOG_ERR, 0,
				"control ring: bad record at %llu: dropping "
				"what is pending",
				(unsigned long long)head);
			__atomic_store_n(&r->head, tail, __ATOMIC_RELEASE);
			return CQ_AGAIN;
		}
		if (h->type == CTL_T_PAD) {
			__atomic_store_n(
				&r->head, head + need, __ATOMIC_RELEASE);
			continue;
		}
		*rec = (cq_ctl_rec_t){.type = h->type,
			.flags = h->flags,
			.len = h->len,
			.id = h->id,
			.data = h + 1};
		return 0;
	}
}

static void
ring_consume(ctl_ring_t *r)
{
	uint64_t head = r->head;
	if (head == __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
		return;
	const ctl_rhdr_t *h = (const ctl_rhdr_t *)(r->buf +
		(head & (CQ_CTL_RING_BYTES - 1)));
	__atomic_store_n(&r->head, head + sizeof(*h) + ALIGN16(h->len),
		__ATOMIC_RELEASE);
}

/* ---- the admin's side ------------------------------------------------ */

int
cq_ctl_send(unsigned slot, uint16_t type, uint16_t flags, uint64_t id,
	const struct iovec *iov, int iovcnt)
{
	if (cur == NULL || slot >= cur->nslots || type == CTL_T_PAD) {
		errno = EINVAL;
		return -1;
	}
	size_t len = gather_len(iov, iovcnt);
	if (len > CQ_CTL_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	int rc = ring_push(
		&cur->pair[slot].cmd, type, flags, id, iov, iovcnt, len);
	if (rc == 0)
		wake(slot < nfds ? worker_fds[slot] : -1);
	return rc;
}

int
cq_ctl_reply_peek(unsigned slot, cq_ctl_rec_t *rec_r)
{
	if (cur == NULL || slot >= cur->nslots)
		return CQ_AGAIN;
	return ring_peek(&cur->pair[slot].reply, rec_r);
}

void
cq_ctl_reply_consume(unsigned slot)
{
	if (cur != NULL && slot < cur->nslots)
		ring_consume(&cur->pair[slot].reply);
}

/* ---- a worker's side ------------------------------------------------ */

int
cq_ctl_cmd_peek(cq_ctl_rec_t *rec_r)
{
	if (cur == NULL || cq_shm_slot >= cur->nslots)
		return CQ_AGAIN;
	return ring_peek(&cur->pair[cq_shm_slot].cmd, rec_r);
}

void
cq_ctl_cmd_consume(void)
{
	if (cur != NULL && cq_shm_slot < cur->nslots)
		ring_consume(&cur->pair[cq_shm_slot].cmd);
}

int
cq_ctl_reply(uint64_t id, uint16_t status, const struct iovec *iov, int iovcnt)
{
	if (cur == NULL || cq_shm_slot >= cur->nslots || iovcnt > 15) {
		errno = EINVAL;
		return -1;
	}
	struct iovec all[16] = {{&status, sizeof(status)}};
	for (int i = 0; i < iovcnt; i++)
		all[i + 1] = iov[i];
	size_t len = gather_len(all, iovcnt + 1);
	if (len > CQ_CTL_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	int rc = ring_push(&cur->pair[cq_shm_slot].reply, CQ_CTL_REPLY, 0, id,
		all, iovcnt + 1, len);
	if (rc == 0)
		wake(admin_fd);
	return rc;
}

/* ---- payload encoding ----------------------------------------------- */

void
cq_ctlbuf_init(cq_ctlbuf_t *b, void *mem, size_t cap)
{
	*b = (cq_ctlbuf_t){.p = mem, .cap = cap};
}

static void
put(cq_ctlbuf_t *b, const void *v, size_t n)
{
	if (b->bad || n > b->cap - b->len) {
		b->bad = true;
		return;
	}
	if (n > 0)
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

void
cq_ctlbuf_u8(cq_ctlbuf_t *b, uint8_t v)
{
	put(b, &v, sizeof(v));
}

void
cq_ctlbuf_u16(cq_ctlbuf_t *b, uint16_t v)
{
	put(b, &v, sizeof(v));
}

void
cq_ctlbuf_u32(cq_ctlbuf_t *b, uint32_t v)
{
	put(b, &v, sizeof(v));
}

void
cq_ctlbuf_u64(cq_ctlbuf_t *b, uint64_t v)
{
	put(b, &v, sizeof(v));
}

void
cq_ctlbuf_str(cq_ctlbuf_t *b, const void *s, size_t len, size_t max)
{
	if (len > max)
		len = max;
	if (len > UINT16_MAX)
		len = UINT16_MAX;
	cq_ctlbuf_u16(b, (uint16_t)len);
	put(b, s, len);
}

void
cq_ctlrd_init(cq_ctlrd_t *r, const void *data, size_t len)
{
	*r = (cq_ctlrd_t){.p = data, .left = len};
}

static const unsigned char *
take(cq_ctlrd_t *r, size_t n)
{
	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

#define CTLRD_INT(name, type)                                                  \
	type name(cq_ctlrd_t *r)                                               \
	{                                                                      \
		type v = 0;                                                    \
		const unsigned char *p = take(r, sizeof(v));                   \
		if (p != NULL)                                                 \
			memcpy(&v, p, sizeof(v));                              \
		return v;                                                      \
	}
CTLRD_INT(cq_ctlrd_u8, uint8_t)
CTLRD_INT(cq_ctlrd_u16, uint16_t)
CTLRD_INT(cq_ctlrd_u32, uint32_t)
CTLRD_INT(cq_ctlrd_u64, uint64_t)

const char *
cq_ctlrd_str(cq_ctlrd_t *r, size_t *len_r)
{
	size_t n = cq_ctlrd_u16(r);
	const unsigned char *p = take(r, n);
	*len_r = p != NULL ? n : 0;
	return p != NULL ? (const char *)p : "";
}

/* ---- figures -------------------------------------------------------- */

uint64_t
cq_ctl_clients_max(void)
{
	return cur != NULL
		? __atomic_load_n(&cur->clients_max, __ATOMIC_RELAXED)
		: 0;
}

void
cq_ctl_note_connected(uint64_t connected)
{
	if (cur != NULL && connected > cur->clients_max)
		__atomic_store_n(
			&cur->clients_max, connected, __ATOMIC_RELAXED);
}

void
cq_ctl_stats(cq_ctl_stats_t *s_r)
{
	memset(s_r, 0, sizeof(*s_r));
	for (unsigned i = 0; cur != NULL && i < cur->nslots; i++) {
		const ctl_pair_t *p = &cur->pair[i];
		s_r->commands += __atomic_load_n(
			&p->cmd.records, __ATOMIC_RELAXED);
		s_r->replies += __atomic_load_n(
			&p->reply.records, __ATOMIC_RELAXED);
		s_r->full += __atomic_load_n(&p->cmd.full, __ATOMIC_RELAXED) +
			__atomic_load_n(&p->reply.full, __ATOMIC_RELAXED);
	}
}

/* ---- the module ----------------------------------------------------- */

static size_t
ctl_size(const cq_shm_conf_t *conf)
{
	return sizeof(ctl_hdr_t) + conf->workers * sizeof(ctl_pair_t);
}

static int
ctl_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	ctl_hdr_t *h = area;
	h->magic = CTL_MAGIC;
	h->nslots = shm->hdr->conf.workers;
	h->ring_bytes = CQ_CTL_RING_BYTES;
	return 0;
}

static void
ctl_use(cq_shm_t *shm, void *area, size_t size)
{
	cur = area;
}

#define ctl_error(rep, ...) cq_shm_check_error(rep, "ctl", __VA_ARGS__)

/* Quiescent: the message references commands still hold. */
static void
census(cq_shm_t *shm, ctl_ring_t *r, cq_shm_report_t *rep)
{
	uint64_t pos = r->head;
	while (pos != r->tail) {
		size_t idx = (size_t)(pos & (CQ_CTL_RING_BYTES - 1));
		const ctl_rhdr_t *h = (const ctl_rhdr_t *)(r->buf + idx);
		size_t need = sizeof(*h) + ALIGN16(h->len);
		if (idx + need > CQ_CTL_RING_BYTES || need > r->tail - pos) {
			ctl_error(rep, "record at %llu out of bounds",
				(unsigned long long)pos);
			return;
		}
		if (h->type != CTL_T_PAD && (h->flags & CQ_CTL_F_MSG) &&
			h->len >= sizeof(cq_off_t)) {
			cq_off_t m;
			memcpy(&m, h + 1, sizeof(m));
			cq_msg_census_add(shm, rep, m, 1);
		}
		pos += need;
	}
}

static void
check_ring(cq_shm_t *shm, ctl_ring_t *r, const char *what, unsigned slot,
	cq_shm_report_t *rep)
{
	uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	if (head > tail || tail - head > CQ_CTL_RING_BYTES ||
		((head | tail) & 15) != 0) {
		ctl_error(rep, "%s ring of slot %u: indexes %llu..%llu", what,
			slot, (unsigned long long)head,
			(unsigned long long)tail);
		return;
	}
	if (cq_shm_check_quiescent(rep))
		census(shm, r, rep);
}

static void
ctl_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	ctl_hdr_t *h = area;
	if (h->magic != CTL_MAGIC || h->nslots != shm->hdr->conf.workers ||
		h->ring_bytes != CQ_CTL_RING_BYTES) {
		ctl_error(rep, "bad header");
		return;
	}
	for (unsigned i = 0; i < h->nslots; i++) {
		check_ring(shm, &h->pair[i].cmd, "command", i, rep);
		check_ring(shm, &h->pair[i].reply, "reply", i, rep);
	}
}

const cq_shm_module_t cq_ctl_module = {
	.name = "ctl",
	.size = ctl_size,
	.init = ctl_init,
	.check = ctl_check,
	.use = ctl_use,
	.flags = CQ_SHM_MOD_MARKS,
};
