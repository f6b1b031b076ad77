/*
 * codec.h — the stored format of comqtt-storage: tables, keys and values,
 * the same for every backend (storage format version CQ_STORE_FORMAT).
 *
 * Four tables of binary keys and values:
 *   meta      "format" -> CQ_STORE_FORMAT_TAG (written once, checked at
 *             every open: another value, or data without it, is refused);
 *             "applied" -> ring epoch, and per ring the position applied
 *             (so a restarted storage process never applies twice);
 *             "sys" -> the $SYS counters (restore_sys_info_on_restart)
 *   sessions  client id -> session record
 *   children  client id, 0, kind, sub-key -> value; the kinds:
 *               'S' filter         -> subscription options (8 bytes)
 *               'Q' position (u32) -> message
 *               'I' packet id (u16)-> state, send order, message or none
 *               'P' packet id (u16)-> empty (inbound QoS 2 awaiting PUBREL)
 *               'W'                -> will delay, message
 *             (MQTT client ids never hold U+0000, so id + 0 is a prefix
 *             that no other client id's keys share)
 *   retained  topic -> message
 * Integers are little-endian, except positions and packet ids in keys
 * (big-endian, so that keys sort in their order).  Every value starts
 * with a version byte; a value this code cannot read is reported, never
 * guessed at.
 */
#ifndef CQ_STORAGE_CODEC_H
#define CQ_STORAGE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "shm/msg.h"
#include "shm/pevent.h"

#define CQ_STORE_FORMAT     1u
#define CQ_STORE_FORMAT_TAG "comqtt-storage format 1"

enum cq_store_table {
	CQ_ST_META = 0,
	CQ_ST_SESSIONS,
	CQ_ST_CHILDREN,
	CQ_ST_RETAINED,
	CQ_ST_COUNT
};

#define CQ_SK_SUB          'S'
#define CQ_SK_QUEUE        'Q'
#define CQ_SK_INFLIGHT     'I'
#define CQ_SK_QOS2         'P'
#define CQ_SK_WILL         'W'

#define CQ_SCODEC_SESS_LEN 32u

extern const char *const cq_store_table_names[CQ_ST_COUNT];

/* A session record. */
void cq_scodec_sess_encode(
	const cq_pev_sess_t *s, uint8_t out[CQ_SCODEC_SESS_LEN]);
int cq_scodec_sess_decode(const void *v, size_t len, cq_pev_sess_t *s);

/* A child key into b (reset first): id, 0, kind, sub.  0 or -1 ENOMEM. */
int cq_scodec_child_key(cq_buf_t *b, const char *id, size_t id_len, char kind,
	const void *sub, size_t sub_len);
/* A child key's parts: 0, or -1 when it is not one. */
int cq_scodec_child_split(const void *key, size_t len, const char **id_r,
	size_t *id_len_r, char *kind_r, const uint8_t **sub_r,
	size_t *sub_len_r);
void cq_scodec_be16(uint8_t out[2], uint16_t v);
void cq_scodec_be32(uint8_t out[4], uint32_t v);
uint32_t cq_scodec_get_be(const uint8_t *p, size_t n);
void cq_scodec_le64(uint8_t out[8], uint64_t v);
uint64_t cq_scodec_get_le64(const uint8_t *p);

/*
 * Append shm message 'm' to b as a stored message.  The offset is checked
 * against the current region and the message's own lengths first.
 * 0, or -1 with errno EINVAL (not a message) or ENOMEM.
 */
int cq_scodec_msg_append(cq_buf_t *b, cq_off_t m);
/*
 * A stored message at v (len bytes) as info (pointers into v) and the
 * bytes it took in *used_r.  0, or -1 with *why_r.
 */
int cq_scodec_msg_decode(const void *v, size_t len, cq_msg_info_t *info,
	size_t *used_r, const char **why_r);

/* Inflight value: version, state, seq, message or none. */
int cq_scodec_inflight_encode(
	cq_buf_t *b, unsigned state, uint32_t seq, cq_off_t m);
int cq_scodec_inflight_decode(const void *v, size_t len, unsigned *state_r,
	uint32_t *seq_r, bool *has_msg_r, cq_msg_info_t *info,
	const char **why_r);
/* Will value: version, delay, message. */
int cq_scodec_will_encode(cq_buf_t *b, uint32_t delay, cq_off_t m);
int cq_scodec_will_decode(const void *v, size_t len, uint32_t *delay_r,
	cq_msg_info_t *info, const char **why_r);
/* Plain message value (queue, retained): version, message. */
int cq_scodec_plain_encode(cq_buf_t *b, cq_off_t m);
int cq_scodec_plain_decode(
	const void *v, size_t len, cq_msg_info_t *info, const char **why_r);

#endif /* CQ_STORAGE_CODEC_H */
