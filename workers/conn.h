/*
 * conn.h — one client connection: bytes in, packets out.
 *
 * A connection owns a socket, its transport (transport.h), an input buffer
 * that only holds a packet still incomplete after a read (each read of up
 * to 64 KB lands in the worker's buffer, lent for the read), and one
 * contiguous output buffer that handlers and deliveries append to.  After
 * a read, every complete packet in the input is framed and decoded with
 * the codec (src/mqtt) and dispatched to its handler (handle.h).  Output is
 * flushed once per loop iteration (cq_conn_flush_dirty) with one write per
 * connection; only a partial write arms EV_WRITE.
 *
 * Life cycle:
 *   NEW      accepted; only CONNECT is decoded (connect timeout applies)
 *   OPENING  CONNECT accepted, the session is being opened (waiting for a
 *            previous owner's write section to end); input is held
 *   ACTIVE   CONNACK sent; every packet type
 *   DRAINING DISCONNECT sent with mqtt.passive_client_disconnect: the
 *            session is detached, input is read and dropped until the
 *            client closes (or the connect timeout passes)
 *   CLOSED   socket closed; the struct is freed at the end of the
 *            iteration, so handlers up the stack may still look at it
 *
 * Protocol violations: cq_conn_violation() logs ONE line naming the client
 * id and address, answers what the spec asks (CONNACK/DISCONNECT with a
 * reason on MQTT 5, a v3 CONNACK return code for CONNECT errors) and closes
 * this connection only.
 */
#ifndef CQ_WORKERS_CONN_H
#define CQ_WORKERS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "mqtt/packet.h"
#include "workers/alias.h"
#include "workers/transport.h"
#include "workers/worker-t.h"

#define CQ_CONN_READ_SIZE 65536u
/* "[v6 address]:port" fits; client ids longer than 39 characters (a
 * UUID is 36) are cut in log lines. */
#define CQ_CONN_ADDR_MAX   (INET6_ADDRSTRLEN + 10u)
#define CQ_CONN_ID_LOG_MAX 40u
/* Output above this is not added to (QoS 0 dropped, QoS 1/2 queued in the
 * session) until the client reads. */
#define CQ_CONN_OUT_HIGH (4u << 20)
/* A connection that has not completed CONNECT within this is closed. */
#define CQ_CONN_CONNECT_TIMEOUT_MS 10000u

/* A handler's answer: the packet waits for an access decision; it stays in
 * the input buffer, input is paused, and it is handled again when the
 * decision is in (workers/authwait.h). */
#define CQ_CONN_PENDING (-3)

typedef enum cq_conn_state {
	CQ_CONN_NEW = 0,
	CQ_CONN_OPENING,
	CQ_CONN_ACTIVE,
	CQ_CONN_DRAINING,
	CQ_CONN_CLOSED,
} cq_conn_state_t;

/* Why a connection ends: decides the will and what the peer is told. */
typedef enum cq_close_why {
	CQ_CLOSE_NORMAL = 0, /* DISCONNECT 0x00 from the client: no will */
	CQ_CLOSE_WILL, /* DISCONNECT 0x04 (v5): publish the will */
	CQ_CLOSE_ABNORMAL, /* socket error/EOF, keep alive, violation */
	CQ_CLOSE_TAKEN_OVER, /* same client id elsewhere: 0x8E, no will */
	CQ_CLOSE_SHUTDOWN, /* broker stopping: 0x8B, no will */
	CQ_CLOSE_REFUSED, /* never connected (CONNACK refused it) */
} cq_close_why_t;

/* A subscription whose retained messages are still being sent. */
typedef struct cq_rsend {
	struct cq_rsend *next;
	struct cq_retained_cursor *cur;
	uint8_t qos;
	uint32_t sub_id;
	bool rap;
} cq_rsend_t;

/* Topic aliases of an MQTT 5 connection (alias.h), allocated at CONNECT
 * when either side may use them: most connections never do. */
typedef struct cq_conn_aliases {
	cq_alias_map_t in;
	cq_alias_out_t out;
} cq_conn_aliases_t;

/* Ordered by size, so that no padding is lost: an idle connection is
 * this struct, its read event and its session, and a broker holds many. */
struct cq_conn {
	cq_worker_t *w;
	void *tr_state;
	struct cq_handshake *hs; /* pre-MQTT phase (handshake.h), or NULL */
	struct event *rev;
	struct event *wev; /* made at the first partial write */
	cq_buf_t in;
	cq_buf_t out;
	cq_lsess_t *ls; /* the session, once CONNECT succeeded */
	struct cq_authwait *authwait; /* questions of the current packet */
	/* of the CONNECT, for ACL questions (or NULL); MQTT strings hold no
	 * U+0000 [MQTT-1.5.4-2], so it is a C string */
	char *username;
	struct cq_conn_aliases *aliases; /* MQTT 5 topic aliases, or NULL */
	struct cq_eauth *eauth; /* enhanced authentication (v5) */
	cq_rsend_t *rsend; /* retained messages to send */
	struct cq_pack *pack; /* acks waiting: the newest (pack.c) */
	struct cq_opening *opening; /* CONNECT being finished (OPENING) */
	cq_conn_t *next, *prev; /* w->conns */
	cq_conn_t *dirty_next; /* w->dirty */
	cq_conn_t *dead_next; /* w->dead */
	cq_conn_t *rsend_next; /* w->rsending, while rsend != NULL */
	cq_conn_t *pack_next; /* w->packing, while pack != NULL */

	uint64_t open_ms;
	/* now_ms at the last input, its low 32 bits: compared wrapping
	 * (cq_conn_idle_ms), which is exact for keep alive (at most 65,535
	 * s x 1.5). */
	uint32_t rx_ms;
	int fd;
	/* MQTT 5, as the client asked. */
	uint32_t max_packet; /* client's Maximum Packet Size, 0: none */
	uint16_t listener;
	uint16_t recv_max; /* client's Receive Maximum */
	uint16_t keepalive; /* seconds, 0: none */

	uint8_t state; /* cq_conn_state_t */
	uint8_t version; /* protocol level, 0 before CONNECT */
	uint8_t auth_refusal; /* CONNACK (v5) code of the last refusal */
	uint8_t addr_len; /* of the address in names */
	bool tr_pending : 1; /* the transport holds output of its own */
	bool dirty : 1; /* on w->dirty */
	bool writing : 1; /* EV_WRITE armed (partial write) */
	bool paused : 1; /* input held (opening, takeover, blocked) */
	bool blocked : 1; /* a PUBLISH waits for room in a ring */
	bool close_after_flush : 1;
	bool loopback : 1; /* peer on 127.0.0.0/8 or ::1 */
	bool problem_info : 1; /* Request Problem Information */
	bool expiry_zero : 1; /* CONNECT asked for session expiry 0 */
	bool clean : 1; /* CONNECT's Clean Session / Clean Start */
	bool retrying : 1; /* handling a held-back packet again */
	bool replaying : 1; /* handling a packet again after an authd answer */
	/* flushed since the last cq_conn_check_timeouts, and in the period
	 * before: a busy connection keeps its small output buffer (conn.c
	 * after_write) */
	bool out_busy : 1;
	bool out_was_busy : 1;
	/* the same for reads: a busy connection keeps the small buffer that
	 * holds an incomplete packet between reads (conn.c return_rbuf) */
	bool in_busy : 1;
	bool in_was_busy : 1;

	/* "addr\0id\0": the remote address and the client id as text for
	 * log lines (cq_conn_addr, cq_conn_id_log), or NULL. */
	char *names;
};

/* Milliseconds since c's last input. */
static inline uint32_t
cq_conn_idle_ms(const cq_conn_t *c)
{
	return (uint32_t)c->w->now_ms - c->rx_ms;
}

/* The remote address as text: "127.0.0.1:5000", "[::1]:5000", "unix". */
static inline const char *
cq_conn_addr(const cq_conn_t *c)
{
	return c->names != NULL ? c->names : "?";
}

/* The client id for log lines (control characters shown as '?', cut to
 * CQ_CONN_ID_LOG_MAX - 1 bytes), "" before CONNECT. */
static inline const char *
cq_conn_id_log(const cq_conn_t *c)
{
	return c->names != NULL ? c->names + c->addr_len + 1 : "";
}

/* The same, "-" before CONNECT. */
static inline const char *
cq_conn_who(const cq_conn_t *c)
{
	const char *id = cq_conn_id_log(c);
	return id[0] != '\0' ? id : "-";
}

/*
 * Take an accepted socket (non-blocking) from listener 'li'.  Allocates;
 * on failure the socket is closed and the failure logged.  Returns the
 * connection or NULL.
 */
cq_conn_t *cq_conn_new(cq_worker_t *w, int fd, unsigned li,
	const struct sockaddr *peer, socklen_t peer_len);

/* The transport needs a writable event (a handshake, or output of its
 * own: c->tr_pending). */
void cq_conn_want_write(cq_conn_t *c);

/* The client's address changed (PROXY header, X-Forwarded-For). */
void cq_conn_set_peer(cq_conn_t *c, const struct sockaddr *sa, socklen_t len);

/*
 * Room for n more output bytes: a pointer to write them at, then
 * cq_conn_commit(c, n).  NULL when memory is exhausted (the connection is
 * then closed).  Marks the connection dirty.
 */
unsigned char *cq_conn_reserve(cq_conn_t *c, size_t n);
void cq_conn_commit(cq_conn_t *c, size_t n);
/* Append bytes.  0, or -1 (out of memory: the connection is closed). */
int cq_conn_send(cq_conn_t *c, const void *p, size_t n);
/* How c's input is decoded: its protocol level, limits.max_packet_size
 * as configured now. */
cq_mqtt_dec_t cq_conn_decoder(const cq_conn_t *c);
/* Encode a packet for the connection's protocol level and append it. */
int cq_conn_send_packet(cq_conn_t *c, const cq_mqtt_packet_t *pkt);

/* True while more output may be queued (below CQ_CONN_OUT_HIGH). */
static inline bool
cq_conn_writable(const cq_conn_t *c)
{
	return c->state == CQ_CONN_ACTIVE &&
		cq_buf_used(&c->out) < CQ_CONN_OUT_HIGH;
}

/*
 * Close: flush what is buffered (best effort, one write), close the
 * socket, detach and disconnect the session (wills per 'why').  Safe to
 * call twice; the struct stays valid until the end of the iteration.
 */
void cq_conn_close(cq_conn_t *c, cq_close_why_t why);

/*
 * Send DISCONNECT 'reason' (MQTT 5 only; nothing on v3) with a Reason
 * String, then close.
 */
void cq_conn_disconnect(cq_conn_t *c, uint8_t reason, cq_close_why_t why);
/* The same with Reason String 'text' (NULL: a sentence for the code). */
void cq_conn_disconnect_text(
	cq_conn_t *c, uint8_t reason, cq_close_why_t why, const char *text);
/* The same with the DISCONNECT packet p as the caller built it. */
void cq_conn_disconnect_packet(
	cq_conn_t *c, const cq_mqtt_packet_t *p, cq_close_why_t why);

/*
 * A protocol violation by the peer: one log line (client id, address,
 * what), the reply the codec's rules give for 'err' (or 'reason' on v5
 * when err is CQ_MQTT_OK), then close as CQ_CLOSE_ABNORMAL.
 */
void cq_conn_violation(
	cq_conn_t *c, cq_mqtt_err_t err, uint8_t reason, const char *what);

/* Input: process what is buffered (after a pause ends).  */
void cq_conn_resume_input(cq_conn_t *c);
/* Hold input (no reads, no dispatch) until cq_conn_resume_input. */
void cq_conn_pause_input(cq_conn_t *c);

/* Flush every dirty connection: one write each. */
void cq_conn_flush_dirty(cq_worker_t *w);
/* Free the connections closed during this iteration. */
void cq_conn_reap_dead(cq_worker_t *w);
/* Keep-alive and connect-timeout checks. */
void cq_conn_check_timeouts(cq_worker_t *w);

/* Set the client id shown in log lines. */
void cq_conn_set_log_id(cq_conn_t *c, const void *id, size_t len);

#endif /* CQ_WORKERS_CONN_H */
