/*
 * hooks.h — the worker's hook table: extension points on the MQTT path.
 *
 * The events are those of the Go comqtt's hook list (OnStarted,
 * OnConnectAuthenticate, OnACLCheck, OnConnect, OnSessionEstablished,
 * OnDisconnect, OnSubscribe(d), OnUnsubscribe(d), OnPublish(ed),
 * OnPublishDropped, OnRetainMessage, OnQosPublish/Complete/Dropped,
 * OnWill(Sent), OnClientExpired, OnPacketRead/Encode/Sent, OnStopped).
 * Hooks are registered in order at worker start (cq_hooks_add) and run in
 * that order; a table entry leaves NULL the events it does not handle.
 *
 * Semantics, as in comqtt:
 *   on_connect_authenticate, on_acl_check   the first hook that answers
 *       ALLOW or DENY decides; NEXT passes to the following one; when none
 *       decides the answer is DENY; PENDING (only the built-in authd hook)
 *       means the answer will come and the packet is handled again
 *   on_auth                                 enhanced authentication steps
 *       (enhanced_auth.h); PENDING there too
 *   on_connect, on_subscribe, on_publish    each hook may change what it
 *       is given (options, the message) and may refuse it with a reason
 *       code >= 0x80; the first refusal stops the chain
 *   on_packet_read                          -1 closes the connection
 *   on_retain_message, on_will              -1 suppresses the action
 *   everything else                         a notification
 *
 * Hooks run on the worker's loop: they must not block.
 */
#ifndef CQ_WORKERS_HOOKS_H
#define CQ_WORKERS_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/packet.h"
#include "shm/session-t.h"
#include "workers/records.h"
#include "workers/worker-t.h"

#define CQ_HOOK_ABI_VERSION 1u
#define CQ_HOOKS_MAX        16u

typedef enum cq_hook_verdict {
	CQ_HOOK_NEXT = 0,
	CQ_HOOK_ALLOW,
	CQ_HOOK_DENY,
	CQ_HOOK_CONTINUE, /* on_auth: another AUTH round trip */
	/* The answer comes later (workers/authwait.h): the packet is kept
	 * and handled again once it is in. */
	CQ_HOOK_PENDING,
} cq_hook_verdict_t;

/* ACL access kinds. */
#define CQ_ACL_READ      1
#define CQ_ACL_WRITE     2
#define CQ_ACL_SUBSCRIBE 4

/* What a hook learns about the client (valid during the call). */
typedef struct cq_hook_client {
	const char *id;
	size_t id_len;
	const char *addr; /* "1.2.3.4:5678", "[::1]:5678", "unix" */
	bool loopback;
	bool remote_allowed; /* its listener has allow_remote: true */
	unsigned listener;
	uint8_t version;
	cq_mqtt_view_t username;
	cq_conn_t *conn; /* for the runtime's own hooks */
} cq_hook_client_t;

/*
 * One step of an MQTT 5 enhanced authentication exchange (§4.12), kept by
 * the runtime from the CONNECT (or the client's AUTH 0x19) to its end.
 */
#define CQ_HOOK_AUTH_DATA_MAX 512u
typedef struct cq_hook_auth {
	cq_mqtt_view_t method; /* Authentication Method */
	cq_mqtt_view_t data; /* the client's Authentication Data, or empty */
	bool reauth; /* re-authentication of a connected client */
	void *state; /* the hook's own, between the steps of one exchange */
	/* The answer: Authentication Data for AUTH 0x18 (CONTINUE) or for
	 * CONNACK / AUTH 0x00 (ALLOW); a Reason String for DENY. */
	uint8_t out[CQ_HOOK_AUTH_DATA_MAX];
	size_t out_len;
	const char *reason;
} cq_hook_auth_t;

typedef struct cq_hook {
	const char *name;
	unsigned abi_version; /* CQ_HOOK_ABI_VERSION */
	void *ctx;
	int (*on_started)(void *ctx, cq_worker_t *w);
	void (*on_stopped)(void *ctx, cq_worker_t *w);
	cq_hook_verdict_t (*on_connect_authenticate)(void *ctx,
		const cq_hook_client_t *cl, const cq_mqtt_connect_t *pk);
	cq_hook_verdict_t (*on_acl_check)(void *ctx, const cq_hook_client_t *cl,
		const char *topic, size_t len, int access);
	/* 0, or a CONNACK reason code (v5) to refuse. */
	uint8_t (*on_connect)(void *ctx, const cq_hook_client_t *cl,
		const cq_mqtt_connect_t *pk);
	void (*on_session_established)(
		void *ctx, const cq_hook_client_t *cl, bool present);
	void (*on_disconnect)(void *ctx, const cq_hook_client_t *cl, int why);
	/* 0, or a SUBACK reason code >= 0x80; may change *o. */
	uint8_t (*on_subscribe)(void *ctx, const cq_hook_client_t *cl,
		const char *filter, size_t len, cq_subopts_t *o);
	void (*on_subscribed)(void *ctx, const cq_hook_client_t *cl,
		const char *filter, size_t len, uint8_t code);
	void (*on_unsubscribe)(void *ctx, const cq_hook_client_t *cl,
		const char *filter, size_t len);
	void (*on_unsubscribed)(void *ctx, const cq_hook_client_t *cl,
		const char *filter, size_t len, uint8_t code);
	/* 0, or a PUBACK/PUBREC reason code >= 0x80; may change *d. */
	uint8_t (*on_publish)(
		void *ctx, const cq_hook_client_t *cl, cq_dmsg_t *d);
	void (*on_published)(void *ctx, const cq_dmsg_t *d);
	void (*on_publish_dropped)(
		void *ctx, const cq_hook_client_t *cl, const cq_dmsg_t *d);
	int (*on_retain_message)(void *ctx, const cq_dmsg_t *d);
	void (*on_qos_publish)(void *ctx, const char *id, size_t id_len,
		uint16_t pid, uint8_t qos);
	void (*on_qos_complete)(
		void *ctx, const char *id, size_t id_len, uint16_t pid);
	/* pid 0: dropped before it had one (offline queue full). */
	void (*on_qos_dropped)(
		void *ctx, const char *id, size_t id_len, uint16_t pid);
	int (*on_will)(void *ctx, const cq_dmsg_t *d);
	void (*on_will_sent)(void *ctx, const cq_dmsg_t *d);
	void (*on_client_expired)(void *ctx, const char *id, size_t id_len);
	int (*on_packet_read)(void *ctx, const cq_hook_client_t *cl,
		const cq_mqtt_packet_t *pk);
	void (*on_packet_encode)(void *ctx, const cq_hook_client_t *cl,
		const cq_mqtt_packet_t *pk);
	void (*on_packet_sent)(void *ctx, const cq_hook_client_t *cl,
		const cq_mqtt_packet_t *pk);
	/* Enhanced authentication: NEXT (not this hook's method), ALLOW,
	 * DENY or CONTINUE (send a->out in AUTH 0x18, wait for the client's
	 * next AUTH, which comes to the same hook), or PENDING (the answer
	 * comes later through workers/authwait.h; a->state left as it was:
	 * the same step is asked again then).  on_auth_end: the
	 * exchange is over (decided, or the connection closed): free
	 * a->state. */
	cq_hook_verdict_t (*on_auth)(
		void *ctx, const cq_hook_client_t *cl, cq_hook_auth_t *a);
	void (*on_auth_end)(void *ctx, cq_hook_auth_t *a);
} cq_hook_t;

struct cq_hooks {
	const cq_hook_t *v[CQ_HOOKS_MAX];
	unsigned n;
};

/* The worker's table (empty), and its release. */
cq_hooks_t *cq_hooks_new(void);
void cq_hooks_free(cq_hooks_t *h);
/* Add a hook at the end.  0, or -1 (table full, or a hook built for
 * another ABI: logged). */
int cq_hooks_add(cq_hooks_t *h, const cq_hook_t *hook);

/* The built-in access control until comqtt-authd lands: clients on
 * loopback (or a Unix socket) are allowed, others denied unless their
 * listener says allow_remote. */
extern const cq_hook_t cq_hook_loopback;
/* Access control by comqtt-authd (auth.enabled), and what conn.c calls
 * when a connection closes with questions outstanding. */
extern const cq_hook_t cq_hook_authd;
void cq_hook_authd_conn_closed(cq_conn_t *c);

/* The built-in enhanced authentication method for testing clients
 * (hook_test_auth.c), active when mqtt.enhanced_auth_test_secret is set. */
extern const cq_hook_t cq_hook_test_auth;

/* ---- call sites (the runtime) ------------------------------------ */

int cq_hooks_started(cq_worker_t *w);
void cq_hooks_stopped(cq_worker_t *w);
/* ALLOW, DENY or PENDING. */
cq_hook_verdict_t cq_hooks_authenticate(
	cq_worker_t *w, cq_conn_t *c, const cq_mqtt_connect_t *pk);
/* ALLOW, DENY or PENDING. */
cq_hook_verdict_t cq_hooks_acl(cq_worker_t *w, cq_conn_t *c, const char *topic,
	size_t len, int access);
uint8_t cq_hooks_connect(
	cq_worker_t *w, cq_conn_t *c, const cq_mqtt_connect_t *pk);
void cq_hooks_session_established(cq_worker_t *w, cq_conn_t *c, bool present);
void cq_hooks_disconnect(cq_worker_t *w, cq_conn_t *c, cq_lsess_t *ls, int why);
uint8_t cq_hooks_subscribe(cq_worker_t *w, cq_conn_t *c, const char *filter,
	size_t len, cq_subopts_t *o);
void cq_hooks_subscribed(cq_worker_t *w, cq_conn_t *c, const char *filter,
	size_t len, uint8_t code);
void cq_hooks_unsubscribe(
	cq_worker_t *w, cq_conn_t *c, const char *filter, size_t len);
void cq_hooks_unsubscribed(cq_worker_t *w, cq_conn_t *c, const char *filter,
	size_t len, uint8_t code);
uint8_t cq_hooks_publish(cq_worker_t *w, cq_conn_t *c, cq_dmsg_t *d);
void cq_hooks_published(cq_worker_t *w, const cq_dmsg_t *d);
void cq_hooks_publish_dropped(cq_worker_t *w, cq_conn_t *c, const cq_dmsg_t *d);
int cq_hooks_retain_message(cq_worker_t *w, const cq_dmsg_t *d);
void cq_hooks_qos_publish(
	cq_worker_t *w, cq_lsess_t *ls, uint16_t pid, uint8_t qos);
void cq_hooks_qos_complete(cq_worker_t *w, cq_lsess_t *ls, uint16_t pid);
void cq_hooks_qos_dropped(cq_worker_t *w, cq_lsess_t *ls, uint16_t pid);
int cq_hooks_will(cq_worker_t *w, const cq_dmsg_t *d);
void cq_hooks_will_sent(cq_worker_t *w, const cq_dmsg_t *d);
void cq_hooks_client_expired(cq_worker_t *w, const char *id, size_t len);
int cq_hooks_packet_read(
	cq_worker_t *w, cq_conn_t *c, const cq_mqtt_packet_t *pk);
void cq_hooks_packet_encode(
	cq_worker_t *w, cq_conn_t *c, const cq_mqtt_packet_t *pk);
void cq_hooks_packet_sent(
	cq_worker_t *w, cq_conn_t *c, const cq_mqtt_packet_t *pk);
/*
 * A step of enhanced authentication.  *hook is the index of the hook
 * running the exchange, or -1 at its start: every hook is asked until one
 * answers something else than NEXT (it then runs the exchange).  NEXT:
 * no hook knows the method.
 */
cq_hook_verdict_t cq_hooks_auth(
	cq_worker_t *w, cq_conn_t *c, int *hook, cq_hook_auth_t *a);
void cq_hooks_auth_end(cq_worker_t *w, int hook, cq_hook_auth_t *a);

#endif /* CQ_WORKERS_HOOKS_H */
