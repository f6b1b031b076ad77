/*
 * ctl.h — the control path from comqtt-admin into the workers.
 *
 * The admin reads what it shows straight from shm; what it changes (kick a
 * client, publish a message, delete a retained message, unsubscribe) only
 * the worker owning the connection or the session may do.  So each worker
 * slot has two SPSC byte rings in this module's area:
 *
 *   cmd[slot]     admin -> worker slot    commands
 *   reply[slot]   worker slot -> admin    one reply per command
 *
 * plus wake-ups: one eventfd per worker slot and one for the admin, made by
 * the master before it forks anything (cq_ctl_eventfds_create), kept open
 * by the master and inherited by every child, including respawned ones.
 * Commands are rare (operators, dashboards), so the producer writes the
 * consumer's eventfd after every record; the consumer reads its eventfd
 * and then drains its ring, so no wake-up is lost.
 *
 * Exactly one process produces each ring (the admin, or the worker in the
 * slot) and one consumes it, so no atomic read-modify-write is needed: the
 * producer publishes a record with a release store of the tail, the
 * consumer frees it with a release store of the head.  A producer that
 * dies before that store leaves nothing visible; a consumer that dies
 * before consuming leaves the record for its replacement (a command may
 * then run twice: kicking, publishing a retained copy, deleting are
 * idempotent or harmless; a publish may be duplicated, never lost).
 *
 * Records: {len, type, flags, id} + len payload bytes, 16-byte aligned,
 * never wrapping (a padding record fills the end).  'id' is chosen by the
 * admin and echoed in the reply.  CQ_CTL_F_MSG: the payload starts with a
 * cq_off_t message reference the record owns (the checker counts it).
 * The payload formats below are a contract between the admin and the
 * workers of one binary (the region's layout version covers them).
 */
#ifndef CQ_SHM_CTL_H
#define CQ_SHM_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "shm/region.h"

#define CQ_CTL_RING_BYTES (64u << 10)
/* Largest record payload (a quarter of a ring: four fit at any time). */
#define CQ_CTL_PAYLOAD_MAX (CQ_CTL_RING_BYTES / 4 - 16)

/* Record types. */
enum cq_ctl_type {
	CQ_CTL_KICK = 1, /* admin -> worker: close a client's connection */
	CQ_CTL_DESCRIBE, /* admin -> worker: connection facts of clients */
	CQ_CTL_PUBLISH, /* admin -> worker: publish a message (F_MSG) */
	CQ_CTL_RETAINED_DELETE, /* admin -> worker: clear a retained topic */
	CQ_CTL_UNSUBSCRIBE, /* admin -> worker: drop one subscription */
	CQ_CTL_REPLY, /* worker -> admin: the answer to record 'id' */
};

#define CQ_CTL_F_MSG 0x1u

/* Reply status (the first u16 of a reply payload), as HTTP reads it. */
#define CQ_CTL_OK        200u
#define CQ_CTL_NOT_FOUND 404u
#define CQ_CTL_BAD       400u
#define CQ_CTL_BUSY      503u

/* DESCRIBE flags: also report the will (single-client detail). */
#define CQ_CTL_DESCRIBE_WILL 0x1u
/* Fields a DESCRIBE reply cuts to these lengths. */
#define CQ_CTL_USER_MAX         256u
#define CQ_CTL_WILL_TOPIC_MAX   1024u
#define CQ_CTL_WILL_PAYLOAD_MAX 1024u
/* Clients one DESCRIBE may name. */
#define CQ_CTL_DESCRIBE_MAX 40u

typedef struct cq_ctl_rec {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint64_t id;
	const void *data; /* valid until the record is consumed */
} cq_ctl_rec_t;

/* ---- both ends ------------------------------------------------------ */

/*
 * Master, before forking: one eventfd per worker slot and one for the
 * admin.  0 or -1 (logged).
 */
int cq_ctl_eventfds_create(unsigned workers);
void cq_ctl_eventfds_close(void);

/* ---- the admin ------------------------------------------------------ */

/*
 * Send a command to worker 'slot' (gathered from iov) and wake it.  0;
 * CQ_AGAIN when its ring is full; -1 with errno EINVAL (no such slot, no
 * region) or EMSGSIZE (over CQ_CTL_PAYLOAD_MAX).
 */
int cq_ctl_send(unsigned slot, uint16_t type, uint16_t flags, uint64_t id,
	const struct iovec *iov, int iovcnt);
/* The next reply from worker 'slot': 0, or CQ_AGAIN when there is none.
 * The record stays valid until cq_ctl_reply_consume(slot). */
int cq_ctl_reply_peek(unsigned slot, cq_ctl_rec_t *rec_r);
void cq_ctl_reply_consume(unsigned slot);
/* The admin's eventfd (workers write it after a reply), or -1. */
int cq_ctl_admin_fd(void);
/* Worker slots of the region. */
unsigned cq_ctl_slots(void);

/* ---- a worker (slot = cq_shm_slot) ----------------------------------- */

/* The next command for this worker: 0 or CQ_AGAIN.  Valid until
 * cq_ctl_cmd_consume(). */
int cq_ctl_cmd_peek(cq_ctl_rec_t *rec_r);
void cq_ctl_cmd_consume(void);
/*
 * Answer command 'id' with 'status' and a payload gathered from iov, and
 * wake the admin.  0; CQ_AGAIN when the reply ring is full (try again
 * later); -1 with errno EMSGSIZE or EINVAL.
 */
int cq_ctl_reply(
	uint64_t id, uint16_t status, const struct iovec *iov, int iovcnt);
/* This worker's eventfd (the admin writes it after a command), or -1. */
int cq_ctl_worker_fd(void);
/* Read (reset) an eventfd that was signalled. */
void cq_ctl_eventfd_reset(int fd);

/* ---- payload encoding ----------------------------------------------- */

/*
 * Payloads are sequences of fixed-width integers and length-prefixed byte
 * strings in host order (both ends are the same binary on the same host).
 * A writer fills a caller's buffer; a reader checks every length against
 * what is left and latches a failure.
 */
typedef struct cq_ctlbuf {
	unsigned char *p;
	size_t len, cap;
	bool bad; /* overflow (writer) or truncated input (reader) */
} cq_ctlbuf_t;

void cq_ctlbuf_init(cq_ctlbuf_t *b, void *mem, size_t cap);
void cq_ctlbuf_u8(cq_ctlbuf_t *b, uint8_t v);
void cq_ctlbuf_u16(cq_ctlbuf_t *b, uint16_t v);
void cq_ctlbuf_u32(cq_ctlbuf_t *b, uint32_t v);
void cq_ctlbuf_u64(cq_ctlbuf_t *b, uint64_t v);
/* A u16 length and the bytes, cut to 'max' bytes. */
void cq_ctlbuf_str(cq_ctlbuf_t *b, const void *s, size_t len, size_t max);

typedef struct cq_ctlrd {
	const unsigned char *p;
	size_t left;
	bool bad;
} cq_ctlrd_t;

void cq_ctlrd_init(cq_ctlrd_t *r, const void *data, size_t len);
uint8_t cq_ctlrd_u8(cq_ctlrd_t *r);
uint16_t cq_ctlrd_u16(cq_ctlrd_t *r);
uint32_t cq_ctlrd_u32(cq_ctlrd_t *r);
uint64_t cq_ctlrd_u64(cq_ctlrd_t *r);
/* A u16-prefixed string: its bytes (not NUL-terminated) and length. */
const char *cq_ctlrd_str(cq_ctlrd_t *r, size_t *len_r);

/* ---- shared figures the admin keeps --------------------------------- */

/* Highest number of connected clients the admin has seen (survives a
 * respawn of the admin); raised with cq_ctl_note_connected(). */
uint64_t cq_ctl_clients_max(void);
void cq_ctl_note_connected(uint64_t connected);

typedef struct cq_ctl_stats {
	uint64_t commands; /* records sent to workers */
	uint64_t replies;
	uint64_t full; /* CQ_AGAIN answers to either side */
} cq_ctl_stats_t;
void cq_ctl_stats(cq_ctl_stats_t *s_r);

extern const cq_shm_module_t cq_ctl_module;

#endif /* CQ_SHM_CTL_H */
