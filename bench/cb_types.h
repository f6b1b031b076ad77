/*
 * cb_types.h — the structures every part of comqtt-bench shares (types
 * only; functions live in the header of the module that owns them).
 *
 * One run has streams (a publisher's numbered messages on one topic),
 * connections (each a publisher, a subscriber, both, or neither) and a few
 * threads, each with its own epoll loop and its own connections.  The
 * controller (the main thread) moves every thread through the same phases;
 * threads publish their counters in a cache-line-aligned block of relaxed
 * atomics that only they write.
 *
 * Ownership: after setup, a connection, its publisher and subscriber state
 * and its trackers belong to one thread.  The only cross-thread traffic is
 * the closed-loop window: a publisher reads its subscribers' trackers'
 * 'high' and writes their 'wake_at' (see cb_track.h), and wakes another
 * thread through that thread's eventfd.
 */
#ifndef CB_TYPES_H
#define CB_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/defs.h"
#include "bench/cb_hist.h"
#include "bench/cb_mqtt.h"
#include "bench/cb_track.h"

typedef enum cb_scenario {
	CB_PAIRS = 0,
	CB_FANIN,
	CB_FANOUT,
	CB_MESH,
	CB_STRESSER,
	CB_CONNS,
	CB_CONNRATE,
	CB_RETAINED,
} cb_scenario_t;

typedef enum cb_format {
	CB_OUT_TEXT = 0,
	CB_OUT_JSON,
	CB_OUT_KV,
} cb_format_t;

typedef struct cb_opts {
	cb_scenario_t scenario;
	char host[256];
	uint16_t port;
	int version;
	int qos;
	uint32_t size;
	uint32_t publishers;
	uint32_t subscribers;
	uint32_t clients;
	uint64_t count; /* messages per publisher; 0: use duration */
	double duration; /* seconds */
	double rate; /* total msg/s; 0: closed loop */
	uint32_t window; /* closed loop: unreceived messages/publisher */
	uint32_t inflight; /* QoS 1/2: unacknowledged messages/publisher */
	int threads;
	int tls;
	int insecure;
	const char *cafile;
	const char *certfile;
	const char *keyfile;
	int ws;
	const char *ws_path;
	pid_t broker_pid;
	uint16_t keepalive;
	double connect_timeout;
	double drain_timeout;
	uint32_t concurrency;
	uint32_t source_ips;
	double tick_us;
	double coalesce_us; /* closed loop: pause after a small read */
	cb_format_t format;
	const char *prefix;
	const char *username;
	const char *password;
	uint32_t users; /* %u in username/password wraps at this; 0: never */
	int numbered; /* username or password has a %u */
} cb_opts_t;

typedef enum cb_phase {
	CB_PH_IDLE = 0,
	CB_PH_CONNECT,
	CB_PH_SUBSCRIBE,
	CB_PH_RUN,
	CB_PH_DRAIN,
	CB_PH_CLEAN,
	CB_PH_DISCONNECT,
	CB_PH_STOP,
} cb_phase_t;

typedef enum cb_cstate {
	CB_CS_INIT = 0, /* not started */
	CB_CS_TCP, /* connect() in progress */
	CB_CS_TLS, /* TLS handshake */
	CB_CS_WS, /* HTTP upgrade sent, waiting for 101 */
	CB_CS_MQTT, /* CONNECT sent, waiting for CONNACK */
	CB_CS_READY, /* CONNACK accepted */
	CB_CS_CLOSING, /* DISCONNECT sent, waiting for the broker's close */
	CB_CS_CLOSED, /* closed after DISCONNECT */
	CB_CS_FAILED, /* failed or lost; see the thread's first error */
} cb_cstate_t;

#define CB_ROLE_PUB   0x01
#define CB_ROLE_SUB   0x02
#define CB_ROLE_CYCLE 0x04 /* connrate: connect, CONNACK, DISCONNECT, again */

struct cb_conn;
struct cb_thread;

typedef struct cb_stream {
	uint32_t id;
	char *topic;
	struct cb_thread *pub_thread;
	uint32_t nsubs;
	cb_track_t **subs;
	struct cb_thread **sub_threads; /* owner thread of each tracker */
} cb_stream_t;

typedef struct cb_pub {
	cb_stream_t *stream;
	cb_publish_tmpl_t tmpl;
	uint32_t sent;
	uint32_t target;
	uint32_t unacked;
	uint32_t inflight_max;
	uint64_t acked;
	uint64_t refused; /* PUBACK/PUBREC with a failure reason */
	uint16_t next_pid;
	uint64_t *pid_used; /* 65536 bits; QoS 1/2 only */
	uint64_t *pid_rel; /* QoS 2: PUBREL sent for this id */
	uint32_t min_high; /* cached minimum of the subscribers' 'high' */
	cb_track_t *laggard;
	uint32_t resume_at;
	uint8_t blocked;
	uint8_t remote_wait; /* the laggard is on another thread */
	uint32_t cleaned; /* retained: empty retained messages sent */
	double t0; /* open loop: when message 0 is due (ns) */
	double interval; /* open loop: ns between messages */
} cb_pub_t;

typedef struct cb_sub {
	char *filter;
	uint32_t base; /* stream ids [base, base + n) */
	uint32_t n;
	cb_track_t *tracks;
	uint8_t subscribed;
	uint8_t ordered; /* reordering is meaningful (not retained) */
} cb_sub_t;

typedef struct cb_conn {
	int fd;
	uint8_t state;
	uint8_t role;
	uint8_t rd_ready;
	uint8_t can_write;
	uint8_t on_ready_list;
	uint8_t on_dirty_list;
	uint8_t wr_shut; /* our side of the stream is closed */
	uint8_t ws_hlen; /* bytes of a partial WebSocket frame header */
	uint8_t ws_op; /* opcode of the frame being received */
	uint8_t ws_hdr[14];
	uint8_t barrier; /* waiting for the PINGRESP of pings_barrier */
	uint16_t receive_max;
	uint16_t pings_sent;
	uint16_t pings_recv;
	uint16_t pings_barrier;
	uint32_t id;
	uint32_t cycles; /* connrate: connects started so far */
	uint32_t starts; /* connects started on this slot */
	char *ws_accept; /* expected Sec-WebSocket-Accept */
	cq_buf_t wsctl; /* payload of a WebSocket control frame */
	uint64_t ws_left; /* payload bytes left in the current frame */
	struct cb_thread *th;
	SSL *ssl;
	cq_buf_t in; /* MQTT bytes of a partial packet */
	cq_buf_t out; /* MQTT bytes not yet sent (not yet framed) */
	cq_buf_t wire; /* WebSocket: framed bytes not yet sent */
	uint64_t t_start;
	uint64_t deadline;
	uint64_t last_tx;
	cb_pub_t *pub;
	cb_sub_t *sub;
	struct cb_conn *next_ready;
	struct cb_conn *next_dirty;
} cb_conn_t;

/* Counters a thread publishes for the controller (relaxed stores by the
 * owner only; the controller sums them). */
typedef struct cb_shared {
	_Atomic uint64_t phase_seen;
	_Atomic uint64_t connected; /* CONNACKs accepted, cumulative */
	_Atomic uint64_t failed; /* connections failed or lost */
	_Atomic uint64_t closed; /* connections closed after DISCONNECT */
	_Atomic uint64_t subscribed;
	_Atomic uint64_t sent;
	_Atomic uint64_t completed; /* QoS 1/2 flows finished */
	_Atomic uint64_t delivered; /* unique messages received */
	_Atomic uint64_t pinged; /* PINGRESP barriers passed */
	_Atomic uint64_t cleaned; /* retained: clear messages sent */
	_Atomic uint64_t last_send;
	_Atomic uint64_t last_delivery;
	_Atomic uint64_t live; /* connections in CB_CS_READY */
	_Atomic uint64_t starting; /* connections in a handshake */
} __attribute__((aligned(CQ_CACHELINE))) cb_shared_t;

/* What only the thread itself counts; read after it has been joined. */
typedef struct cb_local {
	uint64_t connected;
	uint64_t failed;
	uint64_t closed;
	uint64_t subscribed;
	uint64_t sent;
	uint64_t completed;
	uint64_t delivered;
	uint64_t pinged;
	uint64_t cleaned;
	uint64_t last_send;
	uint64_t last_delivery;
	uint64_t live;
	uint64_t dup;
	uint64_t foreign; /* payload without this run's tag */
	uint64_t misrouted; /* a stream this subscriber did not subscribe */
	uint64_t proto_err;
	uint64_t refused;
	uint64_t lost_conns; /* closed by the broker or an error mid-run */
	uint64_t retained_flagged;
	uint64_t bytes_in;
	uint64_t bytes_out;
	char first_error[256];
} cb_local_t;

struct cb_run;

typedef struct cb_thread {
	cb_shared_t shared;
	int index;
	int epfd;
	int evfd;
	pthread_t tid;
	struct cb_run *run;
	cb_conn_t **conns;
	uint32_t nconns;
	cb_conn_t **pubs;
	uint32_t npubs;
	uint32_t next_start; /* connect queue position in conns */
	uint32_t starting; /* connections in a handshake */
	uint32_t max_starting;
	cb_conn_t *ready; /* connections with unread input */
	cb_conn_t *dirty; /* connections with unsent output */
	uint8_t *scratch;
	size_t scratch_cap;
	uint8_t *raw; /* WebSocket: raw frames before unframing */
	size_t raw_cap;
	int phase;
	uint64_t now;
	uint64_t next_housekeeping;
	uint64_t next_keepalive;
	uint32_t blocked_remote;
	cb_hist_t lat;
	cb_hist_t conn_lat;
	cb_local_t st;
} cb_thread_t;

typedef struct cb_run {
	cb_opts_t o;
	uint32_t tag;
	char prefix[128];
	_Atomic int phase;
	_Atomic uint64_t run_start; /* ns; messages stamped before are
				       excluded from latency */
	cb_stream_t *streams;
	uint32_t nstreams;
	uint32_t fan; /* subscribers per stream */
	cb_conn_t *conns;
	uint32_t nconns;
	cb_thread_t *threads;
	int nthreads;
	SSL_CTX *ssl_ctx;
	struct sockaddr_storage *dst;
	socklen_t dst_len;
	uint32_t nsrc; /* source addresses to spread over (0: none) */
} cb_run_t;

#endif /* CB_TYPES_H */
