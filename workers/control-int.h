/*
 * control-int.h — shared by control.c and control_info.c: the notes the
 * control hook keeps about its clients' CONNECTs.
 *
 * Invariants: a note exists for a client id from its CONNECT (pending)
 * until its session's connection closes here (on_disconnect), or until
 * the sweep finds it pending for more than 30 s or established without a
 * connection here; at most one note per client id.  Private memory only.
 */
#ifndef CQ_WORKERS_CONTROL_INT_H
#define CQ_WORKERS_CONTROL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/connect.h"
#include "workers/worker-t.h"

typedef struct cq_cnote {
	struct cq_cnote *next;
	char *id;
	size_t id_len;
	char *user; /* NULL: no username */
	size_t user_len;
	char *will_topic; /* NULL: no will */
	size_t will_topic_len;
	unsigned char *will_payload; /* cut to CQ_CTL_WILL_PAYLOAD_MAX */
	size_t will_payload_len;
	uint32_t will_payload_full; /* its real length */
	uint8_t will_qos;
	bool will_retain;
	bool clean;
	bool established;
	uint64_t noted_ms;
} cq_cnote_t;

/* Note a CONNECT (replacing an earlier note of its id).  Out of memory
 * only loses the note. */
void cq_cnote_connect(uint64_t now_ms, const cq_mqtt_connect_t *pk);
void cq_cnote_established(const char *id, size_t len);
void cq_cnote_forget(const char *id, size_t len);
const cq_cnote_t *cq_cnote_find(const char *id, size_t len);
/* Drop stale notes (see the invariants). */
void cq_cnote_sweep(cq_worker_t *w);
void cq_cnote_free_all(void);

#endif /* CQ_WORKERS_CONTROL_INT_H */
