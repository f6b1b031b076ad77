/*
 * handle_connect.c — CONNECT: checks, authentication, the session, CONNACK.
 *
 * Two phases.  The first validates the CONNECT (protocol level, client id
 * rules and limits, connection limit, authentication and the on_connect
 * hooks, MQTT 5 properties), builds the will message and opens the
 * session in shm (cq_session_open: create, resume or take over, by CAS).
 * The second, once no write section of the session's previous owner is
 * open any more (cq_session_fence; almost always at once), sets up the
 * local session, starts a takeover from another worker if there was one,
 * stores the will, answers CONNACK and re-sends what the session had in
 * flight.  Between the two the connection is OPENING and its input held.
 *
 * A refused CONNECT gets CONNACK with the reason (MQTT 5) or the v3
 * return code the reason maps to, and the connection closes
 * [MQTT-3.2.2-5] [MQTT-3.2.2-6 of 3.1.1].
 */
#include "config.h"
#include "workers/handle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "mqtt/utf8.h"
#include "shm/counters.h"
#include "shm/msg.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/deliver.h"
#include "workers/enhanced_auth.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/publish.h"
#include "workers/reply.h"
#include "workers/takeover.h"
#include "workers/worker.h"

#define ASSIGNED_ID_MAX 48

/* What phase two needs from the CONNECT (its bytes are gone by then). */
typedef struct cq_opening {
	struct cq_opening *next;
	cq_conn_t *conn; /* NULL once the connection closed */
	cq_session_ref_t r;
	char *id;
	size_t id_len;
	bool assigned;
	uint8_t protocol;
	bool clean;
	cq_off_t will;
	uint32_t will_delay;
	uint32_t expiry; /* granted */
	bool expiry_capped;
	uint16_t server_keepalive; /* 0: none sent */
	bool response_info; /* Request Response Information */
} cq_opening_t;

int
cq_handle_v3_code(uint8_t code)
{
	return cq_mqtt_reason_to_v3_connack(code);
}

/* Refuse the CONNECT with v5 reason 'code' (mapped on v3) and close. */
void
cq_handle_connect_refuse(cq_conn_t *c, uint8_t code, const char *why)
{
	cq_log(CQ_LOG_NOTICE, 0, "client %s (%s) refused: %s", cq_conn_who(c),
		cq_conn_addr(c), why);
	int v = c->version == CQ_MQTT_V5 ? code : cq_handle_v3_code(code);
	const cq_config_t *cfg = c->w->cfg;
	bool ref = code == cq_reply_redirect_code(cfg) && code != 0;
	size_t cap = 256 + (ref ? cq_reply_redirect_size(cfg) : 0);
	uint8_t *mem = c->version == CQ_MQTT_V5 ? malloc(cap) : NULL;
	if (v >= 0) {
		cq_mqtt_packet_t p = {.type = CQ_MQTT_CONNACK};
		p.u.connack.code = (uint8_t)v;
		cq_mqtt_pbuf_t pb;
		cq_mqtt_pbuf_init(&pb, mem, mem != NULL ? cap : 0);
		/* The Reason String says why, unless that would tell what
		 * mqtt.obscure_not_authorized hides. */
		if (!(code == CQ_MQTT_RC_UNSPECIFIED &&
			    cfg->mqtt.obscure_not_authorized))
			cq_reply_put_reason(&pb, why,
				ref ? cq_reply_redirect_size(cfg) : 0);
		if (ref)
			cq_reply_put_redirect(&pb, cfg);
		if (mem != NULL)
			p.u.connack.props = cq_mqtt_pbuf_props(&pb);
		cq_conn_send_packet(c, &p);
	}
	free(mem);
	cq_conn_close(c, CQ_CLOSE_REFUSED);
}

static uint8_t
not_authorized(const cq_worker_t *w)
{
	return w->cfg->mqtt.obscure_not_authorized ? CQ_MQTT_RC_UNSPECIFIED
						   : CQ_MQTT_RC_NOT_AUTHORIZED;
}

/* Clients connected on every worker (the counters in shm). */
static uint64_t
connected_total(const cq_worker_t *w)
{
	uint64_t sum = 0;
	for (unsigned s = 0; s < w->nworkers; s++) {
		uint64_t v = cq_counter_read(
			w->args->shm, s, CQ_CTR_CONNECTIONS);
		if (v != UINT64_MAX)
			sum += v;
	}
	return sum;
}

/*
 * listeners[].max_connections: counted by this worker for the listener
 * (exact for a listener whose connections all go to one worker).
 */
static bool
listener_full(const cq_worker_t *w, const cq_conn_t *c)
{
	const cq_config_t *cfg = w->cfg;
	if (c->listener >= cfg->n_listeners ||
		c->listener >= CQ_WORKER_MAX_LISTENERS ||
		cfg->listeners[c->listener].max_connections == 0)
		return false;
	return w->nconnected_on[c->listener] >=
		cfg->listeners[c->listener].max_connections;
}

/* check_connect(): the answer of comqtt-authd is awaited. */
#define CONNECT_PENDING 0x01

/* The CONNACK code of a refused authentication: what authd said (bad
 * credentials, not authorized, unavailable), else "not authorized". */
static uint8_t
refusal_code(const cq_worker_t *w, const cq_conn_t *c)
{
	uint8_t code = c->auth_refusal;
	if (code == 0 || code == CQ_MQTT_RC_NOT_AUTHORIZED ||
		(code == CQ_MQTT_RC_BAD_USERNAME_PASSWORD &&
			w->cfg->mqtt.obscure_not_authorized))
		return not_authorized(w);
	return code;
}

/* The will of the CONNECT against the configuration: 0 or a refusal. */
static uint8_t
check_will(
	const cq_config_t *cfg, const cq_mqtt_connect_t *pk, const char **why_r)
{
	if (!pk->will)
		return 0;
	if (pk->will_retain && !cfg->mqtt.retain_available) {
		*why_r = "retained will, retain is not available";
		return CQ_MQTT_RC_RETAIN_NOT_SUPPORTED;
	}
	if (pk->will_qos > cfg->mqtt.maximum_qos) {
		*why_r = "will QoS above mqtt.maximum_qos";
		return CQ_MQTT_RC_QOS_NOT_SUPPORTED;
	}
	if (cq_topic_name_check(pk->will_topic.ptr, pk->will_topic.len,
		    cfg->limits.max_topic_levels) != CQ_TOPIC_OK) {
		*why_r = "will topic not allowed";
		return CQ_MQTT_RC_TOPIC_NAME_INVALID;
	}
	uint32_t pfi;
	if (pk->version == CQ_MQTT_V5 &&
		cq_mqtt_props_payload_format(&pk->will_props, &pfi) == 0 &&
		pfi == 1 &&
		!cq_utf8_valid(pk->will_payload.ptr, pk->will_payload.len)) {
		*why_r = "will payload is not UTF-8 as its format indicator "
			 "says";
		return CQ_MQTT_RC_PAYLOAD_FORMAT_INVALID;
	}
	return 0;
}

/* Validation of phase one: 0 to go on, or a refusal code. */
static uint8_t
check_connect(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_connect_t *pk,
	bool *assign_r, const char **why_r)
{
	const cq_config_t *cfg = w->cfg;
	if (pk->version < cfg->mqtt.minimum_protocol_version) {
		*why_r = "protocol level below mqtt.minimum_protocol_version";
		return CQ_MQTT_RC_UNSUPPORTED_VERSION;
	}
	if (cq_mqtt_connect_client_id(pk, assign_r) != CQ_MQTT_OK ||
		(*assign_r && !cfg->mqtt.allow_zero_length_client_id)) {
		*why_r = "client identifier not allowed";
		return CQ_MQTT_RC_CLIENT_ID_INVALID;
	}
	if (cq_reply_redirect_code(cfg) != 0) {
		/* MQTT 5 clients are told where to go; 3.x ones only that
		 * this server does not serve them. */
		*why_r = "this server sends its clients to another one";
		return pk->version == CQ_MQTT_V5
			? cq_reply_redirect_code(cfg)
			: CQ_MQTT_RC_SERVER_UNAVAILABLE;
	}
	if (pk->client_id.len > cfg->limits.max_client_id_len) {
		*why_r = "client identifier longer than "
			 "limits.max_client_id_len";
		return CQ_MQTT_RC_CLIENT_ID_INVALID;
	}
	if (connected_total(w) >= cfg->limits.max_connections ||
		listener_full(w, c)) {
		*why_r = "connection limit reached";
		return pk->version == CQ_MQTT_V5
			? CQ_MQTT_RC_QUOTA_EXCEEDED
			: CQ_MQTT_RC_SERVER_UNAVAILABLE;
	}
	uint32_t kmax = cfg->limits.keepalive_max;
	if (kmax != 0 && pk->version != CQ_MQTT_V5 &&
		(pk->keep_alive == 0 || pk->keep_alive > kmax)) {
		/* 3.x cannot be told a smaller keep alive: refused as
		 * Mosquitto does (max_keepalive). */
		*why_r = "keep alive above limits.keepalive_max";
		return CQ_MQTT_RC_CLIENT_ID_INVALID;
	}
	if (cq_transport_identity_required(c) &&
		cq_transport_username(c) == NULL) {
		*why_r = "no client certificate to take the username from";
		return not_authorized(w);
	}
	cq_hook_verdict_t v = cq_hooks_authenticate(w, c, pk);
	if (v == CQ_HOOK_PENDING)
		return CONNECT_PENDING;
	if (v != CQ_HOOK_ALLOW) {
		bool down = c->auth_refusal == CQ_MQTT_RC_SERVER_UNAVAILABLE;
		cq_counter_add(
			down ? CQ_CTR_AUTH_UNAVAILABLE : CQ_CTR_AUTH_DENY, 1);
		*why_r = down ? "authentication unavailable" : "not authorized";
		return refusal_code(w, c);
	}
	cq_counter_add(CQ_CTR_AUTH_ALLOW, 1);
	uint8_t rc = cq_hooks_connect(w, c, pk);
	if (rc >= 0x80) {
		*why_r = "refused by a hook";
		return rc;
	}
	return check_will(cfg, pk, why_r);
}

/* The will message of the CONNECT in the store, or CQ_OFF_NULL. */
static int
make_will(cq_worker_t *w, const cq_mqtt_connect_t *pk, cq_opening_t *o)
{
	o->will = CQ_OFF_NULL;
	o->will_delay = 0;
	if (!pk->will)
		return 0;
	uint8_t pmem[1024], *props = NULL;
	cq_mqtt_pbuf_t pb = {0};
	if (pk->version == CQ_MQTT_V5 && pk->will_props.len > 0) {
		o->will_delay = cq_mqtt_props_int_or(
			&pk->will_props, CQ_MQTT_PROP_WILL_DELAY, 0);
		props = pk->will_props.len <= sizeof(pmem)
			? pmem
			: malloc(pk->will_props.len);
		if (props == NULL)
			return -1;
		/* The Will Delay Interval is not a PUBLISH property. */
		cq_mqtt_pbuf_init(&pb, props, pk->will_props.len);
		cq_mqtt_pbuf_copy(&pb, &pk->will_props,
			CQ_MQTT_PROP_BIT(CQ_MQTT_PROP_WILL_DELAY));
	}
	/* Its Message Expiry Interval (kept in the properties) runs from its
	 * publication: cq_publish_will() sets the deadline then. */
	cq_msg_info_t info = {.topic = (const char *)pk->will_topic.ptr,
		.topic_len = pk->will_topic.len,
		.props = props,
		.props_len = pb.len,
		.payload = pk->will_payload.ptr,
		.payload_len = pk->will_payload.len,
		.qos = pk->will_qos,
		.flags = pk->will_retain ? CQ_MSG_F_RETAIN : 0,
		.origin_slot = (uint16_t)w->slot};
	o->will = cq_msg_create(&info);
	if (props != NULL && props != pmem)
		free(props);
	return o->will != CQ_OFF_NULL ? 0 : -1;
}

/* Session expiry, keep alive and topic aliases as granted.  0, or -1
 * (out of memory). */
static int
grant(cq_worker_t *w, cq_conn_t *c, const cq_mqtt_connect_t *pk,
	cq_opening_t *o)
{
	const cq_config_t *cfg = w->cfg;
	uint32_t cap = cfg->mqtt.maximum_session_expiry_interval;
	uint32_t want;
	if (pk->version == CQ_MQTT_V5)
		want = cq_mqtt_props_int_or(
			&pk->props, CQ_MQTT_PROP_SESSION_EXPIRY, 0);
	else
		want = pk->clean ? 0 : CQ_SESSION_NEVER;
	o->expiry = want > cap ? cap : want;
	c->expiry_zero = want == 0;
	o->expiry_capped = o->expiry != want;
	c->keepalive = pk->keep_alive;
	o->server_keepalive = 0;
	uint32_t kmax = cfg->limits.keepalive_max;
	if (kmax != 0 && pk->version == CQ_MQTT_V5 &&
		(pk->keep_alive == 0 || pk->keep_alive > kmax)) {
		c->keepalive = (uint16_t)kmax;
		o->server_keepalive = (uint16_t)kmax;
	}
	if (pk->version == CQ_MQTT_V5) {
		c->recv_max = (uint16_t)cq_mqtt_props_int_or(
			&pk->props, CQ_MQTT_PROP_RECEIVE_MAX, 65535);
		/* Aliases we assign: the client's maximum, and no more than
		 * we accept ourselves (memory kept per connection). */
		uint16_t in = cfg->mqtt.topic_alias_maximum;
		uint32_t tam = cq_mqtt_props_int_or(
			&pk->props, CQ_MQTT_PROP_TOPIC_ALIAS_MAX, 0);
		if (in > 0 && c->aliases == NULL &&
			(c->aliases = calloc(1, sizeof(*c->aliases))) == NULL)
			return -1;
		if (c->aliases != NULL) {
			c->aliases->in.max = in;
			c->aliases->out.max = (uint16_t)(tam < in ? tam : in);
		}
		o->response_info = cq_mqtt_props_int_or(&pk->props,
					   CQ_MQTT_PROP_REQUEST_RESPONSE_INFO,
					   0) != 0;
	}
	return 0;
}

static int
set_id(cq_worker_t *w, const cq_mqtt_connect_t *pk, bool assign,
	cq_opening_t *o)
{
	char buf[ASSIGNED_ID_MAX];
	const char *id = (const char *)pk->client_id.ptr;
	size_t len = pk->client_id.len;
	if (assign) {
		/* Unique: slot, start time, a counter. */
		len = (size_t)snprintf(buf, sizeof(buf), "cq-%u-%llx-%llx",
			w->slot, (unsigned long long)w->start_ms,
			(unsigned long long)++w->assigned_ids);
		id = buf;
	}
	o->id = malloc(len + 1);
	if (o->id == NULL)
		return -1;
	memcpy(o->id, id, len);
	o->id[len] = '\0';
	o->id_len = len;
	o->assigned = assign;
	return 0;
}

static void
opening_free(cq_opening_t *o)
{
	if (o->will != CQ_OFF_NULL)
		cq_msg_unref(o->will);
	free(o->id);
	free(o);
}

/* CONNECTs waiting for a fence (phase two), oldest first. */
static cq_opening_t *waiting;

static bool finish(cq_worker_t *w, cq_opening_t *o);

/*
 * cq_session_open() with what this CONNECT asks for: create, resume or
 * take over the session (a CAS of its state word; the id's stripe lock).
 * 0, or -1 with errno (ENOSPC, ENOMEM: refuse with "quota exceeded").
 */
static int
open_session(cq_worker_t *w, const cq_conn_t *c, const cq_mqtt_connect_t *pk,
	cq_opening_t *o)
{
	const cq_config_t *cfg = w->cfg;
	uint32_t inflight = cfg->limits.max_inflight;
	if (c->recv_max != 0 && c->recv_max < inflight)
		inflight = c->recv_max;
	cq_session_open_t so = {.client_id = o->id,
		.id_len = o->id_len,
		.protocol = pk->version,
		.clean_start = pk->clean,
		.expiry_interval = o->expiry,
		.inflight_max = (uint16_t)(inflight > 65535 ? 65535 : inflight),
		.qos2_max = cfg->mqtt.receive_maximum,
		.queue_max = cfg->limits.max_queued_messages};
	return cq_session_open(&so, &o->r);
}

/* The user name, for the ACL questions of later packets: the client
 * certificate's identity with tls.use_identity_as_username. */
static int
keep_username(cq_conn_t *c, const cq_mqtt_connect_t *pk)
{
	const char *cert = cq_transport_username(c);
	const void *name = cert ? (const void *)cert : pk->username.ptr;
	size_t len = cert ? strlen(cert) : pk->username.len;
	c->username = malloc(len + 1);
	if (c->username == NULL)
		return -1;
	memcpy(c->username, name, len);
	c->username[len] = '\0';
	return 0;
}

int
cq_handle_connect(cq_conn_t *c, const cq_mqtt_connect_t *pk)
{
	cq_worker_t *w = c->w;
	if (c->state != CQ_CONN_NEW || cq_eauth_waiting(c)) {
		cq_conn_violation(c, CQ_MQTT_OK, CQ_MQTT_RC_PROTOCOL_ERROR,
			"second CONNECT");
		return 0;
	}
	c->version = pk->version;
	cq_conn_set_log_id(c, pk->client_id.ptr, pk->client_id.len);
	if (pk->version == CQ_MQTT_V5) {
		/* What the client accepts applies to the CONNACK already. */
		c->max_packet = cq_mqtt_props_int_or(
			&pk->props, CQ_MQTT_PROP_MAX_PACKET_SIZE, 0);
		c->problem_info = cq_mqtt_props_int_or(&pk->props,
					  CQ_MQTT_PROP_REQUEST_PROBLEM_INFO,
					  1) != 0;
	}
	bool assign = false;
	const char *why = NULL;
	uint8_t code = 0;
	int ea = cq_eauth_connect(c, pk, &code, &why);
	if (ea == CQ_EAUTH_WAITING)
		return 0;
	if (ea == CQ_EAUTH_PENDING)
		return CQ_CONN_PENDING;
	if (ea == CQ_EAUTH_DONE)
		code = check_connect(w, c, pk, &assign, &why);
	if (code == CONNECT_PENDING)
		return CQ_CONN_PENDING;
	if (code != 0) {
		cq_handle_connect_refuse(c, code, why);
		return 0;
	}
	cq_opening_t *o = calloc(1, sizeof(*o));
	if (o == NULL || set_id(w, pk, assign, o) < 0 ||
		make_will(w, pk, o) < 0) {
		if (o != NULL)
			opening_free(o);
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, ENOMEM,
			"out of memory accepting a CONNECT");
		cq_handle_connect_refuse(
			c, CQ_MQTT_RC_QUOTA_EXCEEDED, "out of memory");
		return 0;
	}
	if (assign)
		cq_conn_set_log_id(c, o->id, o->id_len);
	if ((pk->has_username || cq_transport_username(c) != NULL) &&
		keep_username(c, pk) < 0) {
		opening_free(o);
		cq_handle_connect_refuse(
			c, CQ_MQTT_RC_QUOTA_EXCEEDED, "out of memory");
		return 0;
	}
	o->protocol = pk->version;
	o->clean = pk->clean;
	c->clean = pk->clean;
	if (grant(w, c, pk, o) < 0) {
		opening_free(o);
		cq_handle_connect_refuse(
			c, CQ_MQTT_RC_QUOTA_EXCEEDED, "out of memory");
		return 0;
	}
	if (open_session(w, c, pk, o) < 0) {
		int err = errno;
		opening_free(o);
		cq_ratelog(w, &w->log_full, CQ_LOG_ERR, err,
			"session table or shared memory full: refusing "
			"connections");
		cq_handle_connect_refuse(c,
			pk->version == CQ_MQTT_V5
				? CQ_MQTT_RC_QUOTA_EXCEEDED
				: CQ_MQTT_RC_SERVER_UNAVAILABLE,
			"no room for the session");
		return 0;
	}
	if (o->r.prev_will != CQ_OFF_NULL) {
		/* A clean start ended the previous session: its will. */
		cq_publish_will(w, o->r.sess, o->r.prev_will);
		o->r.prev_will = CQ_OFF_NULL;
	}
	o->conn = c;
	c->opening = o;
	c->state = CQ_CONN_OPENING;
	if (!finish(w, o)) {
		cq_conn_pause_input(c);
		cq_opening_t **tail = &waiting;
		while (*tail != NULL)
			tail = &(*tail)->next;
		*tail = o;
	}
	return 0;
}

void
cq_handle_connect_detach(cq_conn_t *c)
{
	if (c->opening != NULL) {
		c->opening->conn = NULL;
		c->opening = NULL;
	}
}

bool
cq_handle_connect_waiting(void)
{
	return waiting != NULL;
}

/* ---- phase two ----------------------------------------------------- */

/* The capabilities a v5 CONNACK announces (only what differs from the
 * protocol's defaults, and the packet size limit always). */
static void
capabilities(const cq_config_t *cfg, cq_mqtt_pbuf_t *pb)
{
	const cq_config_mqtt_t *m = &cfg->mqtt;
	if (m->receive_maximum != 65535)
		cq_mqtt_pbuf_int(
			pb, CQ_MQTT_PROP_RECEIVE_MAX, m->receive_maximum);
	if (m->maximum_qos < 2)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_MAX_QOS, m->maximum_qos);
	if (!m->retain_available)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_RETAIN_AVAILABLE, 0);
	cq_mqtt_pbuf_int(
		pb, CQ_MQTT_PROP_MAX_PACKET_SIZE, cfg->limits.max_packet_size);
	if (m->topic_alias_maximum > 0)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_TOPIC_ALIAS_MAX,
			m->topic_alias_maximum);
	if (!m->wildcard_subscription_available)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_WILDCARD_SUB_AVAILABLE, 0);
	if (!m->subscription_identifier_available)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_SUB_ID_AVAILABLE, 0);
	if (!m->shared_subscription_available)
		cq_mqtt_pbuf_int(pb, CQ_MQTT_PROP_SHARED_SUB_AVAILABLE, 0);
}

/* Response Information: a topic prefix the client may use for responses
 * (MQTT 5 §4.10), its own by client id. */
static void
response_info(const cq_opening_t *o, cq_mqtt_pbuf_t *pb)
{
	static const char pfx[] = "responses/";
	size_t n = sizeof(pfx) - 1 + o->id_len;
	char *ri = n <= CQ_MQTT_MAX_STRING ? malloc(n) : NULL;
	if (ri == NULL)
		return;
	memcpy(ri, pfx, sizeof(pfx) - 1);
	memcpy(ri + sizeof(pfx) - 1, o->id, o->id_len);
	cq_mqtt_pbuf_bin(pb, CQ_MQTT_PROP_RESPONSE_INFO, ri, n);
	free(ri);
}

static void
send_connack(cq_worker_t *w, cq_conn_t *c, const cq_opening_t *o)
{
	const cq_config_t *cfg = w->cfg;
	cq_mqtt_packet_t p = {.type = CQ_MQTT_CONNACK};
	p.u.connack.session_present = o->r.present && c->version != CQ_MQTT_V31;
	/* Room for the fixed properties and two copies of the client id
	 * (assigned id, response information). */
	size_t cap = 128 + 2 * (o->id_len + 16) + cq_eauth_connack_size(c);
	uint8_t *pmem = c->version == CQ_MQTT_V5 ? malloc(cap) : NULL;
	if (pmem != NULL) {
		cq_mqtt_pbuf_t pb;
		cq_mqtt_pbuf_init(&pb, pmem, cap);
		if (o->expiry_capped)
			cq_mqtt_pbuf_int(
				&pb, CQ_MQTT_PROP_SESSION_EXPIRY, o->expiry);
		capabilities(cfg, &pb);
		if (o->assigned)
			cq_mqtt_pbuf_bin(&pb, CQ_MQTT_PROP_ASSIGNED_CLIENT_ID,
				o->id, o->id_len);
		if (o->server_keepalive)
			cq_mqtt_pbuf_int(&pb, CQ_MQTT_PROP_SERVER_KEEP_ALIVE,
				o->server_keepalive);
		if (o->response_info || cfg->mqtt.always_return_response_info)
			response_info(o, &pb);
		cq_eauth_connack_props(c, &pb);
		p.u.connack.props = cq_mqtt_pbuf_props(&pb);
	}
	cq_conn_send_packet(c, &p);
	free(pmem);
}

/*
 * The local session for o: the existing one when this worker already
 * owns the session (its old connection, if any, is closed: taken over),
 * else a new one.  NULL when out of memory.
 */
static cq_lsess_t *
local_session(cq_worker_t *w, const cq_conn_t *c, const cq_opening_t *o,
	bool *loaded_r)
{
	cq_lsess_t *ls = cq_lsess_find(w, o->id, o->id_len);
	*loaded_r = false;
	if (ls != NULL && ls->conn != NULL && ls->conn != c) {
		cq_conn_t *old = ls->conn;
		ls->conn = NULL;
		old->ls = NULL;
		cq_log(CQ_LOG_INFO, 0, "client %s (%s) taken over by %s",
			ls->id, cq_conn_addr(old),
			c != NULL ? cq_conn_addr(c) : "-");
		cq_conn_disconnect(old, CQ_MQTT_RC_SESSION_TAKEN_OVER,
			CQ_CLOSE_TAKEN_OVER);
	}
	if (ls != NULL && ls->sess != o->r.sess) {
		/* It ended (replaced by this clean start). */
		cq_lsess_free(w, ls);
		ls = NULL;
	} else if (ls != NULL && o->r.prev_owner == w->slot &&
		ls->gen == o->r.prev_gen) {
		/* Ours all along: the same incarnation goes on. */
		if (ls->x != NULL)
			ls->x->old_gen = ls->gen;
		ls->gen = o->r.gen;
		ls->protocol = o->protocol;
		*loaded_r = true;
		return ls;
	} else if (ls != NULL) {
		/* Another worker had it since: this incarnation lost it (its
		 * KICK is on the way) and finishes as a tombstone. */
		cq_takeover_stale(w, ls);
		cq_lsess_entomb(w, ls);
	}
	return cq_lsess_new(
		w, o->id, o->id_len, o->r.sess, o->r.gen, o->protocol);
}

/* The session in shm; the takeover from another worker. */
static int
adopt(cq_worker_t *w, cq_lsess_t *ls, const cq_opening_t *o, bool loaded)
{
	unsigned prev = o->r.prev_owner;
	bool remote = prev != CQ_SLOT_NONE && prev != w->slot &&
		prev < w->nworkers;
	if (o->r.present && !loaded && cq_lsess_load_subs(w, ls) < 0)
		return -1;
	if (o->r.present && remote) {
		if (cq_takeover_begin_in(w, ls, prev) < 0)
			return -1;
		cq_takeover_kick(w, prev, o->r.sess, o->r.gen, o->r.prev_gen,
			o->id, o->id_len, false);
	} else if (!o->r.present && remote) {
		/* A clean start replaced a session another worker had. */
		cq_takeover_kick(w, prev, o->r.sess, o->r.gen, o->r.prev_gen,
			o->id, o->id_len, true);
	}
	return 0;
}

/* Store this connection's will, or drop the previous connection's. */
static void
store_will(cq_lsess_t *ls, cq_opening_t *o)
{
	if (o->will != CQ_OFF_NULL) {
		if (cq_session_will_set(
			    ls->sess, ls->gen, o->will, o->will_delay) < 0)
			cq_msg_unref(o->will);
		o->will = CQ_OFF_NULL;
		return;
	}
	cq_off_t old;
	uint32_t delay;
	if (cq_session_will_take(ls->sess, ls->gen, &old, &delay) > 0)
		cq_msg_unref(old);
}

/*
 * Phase two.  true when done (accepted, or refused and closed).  A
 * connection that closed meanwhile (o->conn NULL) still gets its session
 * set up, then ends as an abnormal disconnect: the session must not be
 * left CONNECTED with nobody owning it locally.
 */
static bool
finish(cq_worker_t *w, cq_opening_t *o)
{
	if (o->r.present && cq_session_fence(o->r.sess, o->r.gen) != 0)
		return false;
	cq_conn_t *c = o->conn;
	if (c != NULL)
		c->opening = NULL;
	bool loaded;
	cq_lsess_t *ls = local_session(w, c, o, &loaded);
	if (ls == NULL || adopt(w, ls, o, loaded) < 0) {
		/* Give the session back: it stays, disconnected. */
		if (ls == NULL)
			cq_session_disconnect(o->r.sess, o->r.gen, w->now_s);
		else
			cq_lsess_free(w, ls);
		opening_free(o);
		if (c != NULL)
			cq_handle_connect_refuse(
				c, CQ_MQTT_RC_QUOTA_EXCEEDED, "out of memory");
		return true;
	}
	store_will(ls, o);
	/* The interval of this CONNECT applies from now (MQTT 5 §3.1.2.11.2);
	 * a resumed session kept its old one. */
	if (o->r.present)
		cq_session_set_expiry(ls->sess, ls->gen, o->expiry);
	if (c == NULL) {
		opening_free(o);
		cq_lsess_conn_closed(w, ls, NULL, CQ_CLOSE_ABNORMAL);
		return true;
	}
	cq_lsess_attach(w, ls, c);
	c->state = CQ_CONN_ACTIVE;
	w->nconnected++;
	if (c->listener < CQ_WORKER_MAX_LISTENERS)
		w->nconnected_on[c->listener]++;
	cq_counter_set(CQ_CTR_CONNECTIONS, w->nconnected);
	send_connack(w, c, o);
	if (c->state == CQ_CONN_CLOSED) {
		/* It did not fit the client's Maximum Packet Size; the close
		 * may have ended (freed) the session. */
		opening_free(o);
		return true;
	}
	cq_log(CQ_LOG_DEBUG, 0,
		"client %s connected from %s (protocol %u, %s, keep alive "
		"%u, session %s)",
		ls->id, cq_conn_addr(c), c->version,
		o->clean ? "clean" : "persistent", c->keepalive,
		o->r.present ? "resumed" : "new");
	cq_hooks_session_established(w, c, o->r.present);
	bool holding = ls->x != NULL && ls->x->hold_from != CQ_SLOT_NONE;
	opening_free(o);
	cq_deliver_resume(w, ls);
	if (c->state == CQ_CONN_CLOSED)
		return true;
	if (holding)
		cq_conn_pause_input(c); /* until the handover */
	else if (c->paused)
		cq_conn_resume_input(c);
	return true;
}

void
cq_handle_connect_poll(cq_worker_t *w)
{
	cq_opening_t **link = &waiting;
	while (*link != NULL) {
		cq_opening_t *o = *link;
		cq_opening_t *next = o->next;
		if (!finish(w, o)) {
			link = &o->next;
			continue;
		}
		*link = next;
	}
}
